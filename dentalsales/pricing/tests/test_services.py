"""Pricing services: validation naming the field and value with nothing saved, permissions per role, history."""

import datetime
from decimal import Decimal

import pytest

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.pricing import services
from dentalsales.pricing.models import (
    DiscountAuthority,
    LockedPrice,
    PaymentTermDiscount,
    PriceList,
    PriceListItem,
    VolumeTier,
)
from dentalsales.testing import factories as f

from .factories import (
    DiscountAuthorityFactory,
    LockedPriceFactory,
    PaymentTermDiscountFactory,
    price_list_with_item,
)

pytestmark = pytest.mark.django_db

TODAY = local_today()


@pytest.fixture
def administrator(db):
    return f.UserFactory(username="admin", roles=[Role.ADMINISTRATOR])


def header(**overrides):
    values = {
        "name": "2026 B级价格表",
        "kind": "grade",
        "grade": "B",
        "valid_from": datetime.date(2026, 1, 1),
        "valid_until": datetime.date(2026, 12, 31),
        "priority": 10,
    }
    values.update(overrides)
    return values


def items_for(product, /, **overrides):
    item = {"product": product.pk, "unit_price": "120.00", "tiers": [{"min_quantity": 100, "unit_price": "110.00"}]}
    item.update(overrides)
    return [item]


def assert_nothing_saved():
    assert PriceList.objects.count() == 0
    assert PriceListItem.objects.count() == 0
    assert VolumeTier.objects.count() == 0


# -- price lists -------------------------------------------------------------------------


def test_manager_creates_a_grade_list_with_items_and_tiers(manager, product):
    price_list = services.create_price_list(actor=manager, items=items_for(product), **header())

    assert price_list.kind == "grade"
    assert price_list.grade == "B"
    assert price_list.priority == 10
    item = price_list.items.get()
    assert item.product == product
    assert item.unit_price == Decimal("120.0000")
    assert [(tier.min_quantity, tier.unit_price) for tier in item.tiers.all()] == [(100, Decimal("110.0000"))]
    assert price_list.history.count() == 1
    assert item.history.count() == 1


def test_administrator_creates_a_customer_list(administrator, customer, product):
    price_list = services.create_price_list(
        actor=administrator, items=items_for(product, tiers=[]), **header(kind="customer", grade="", customer=customer.pk)
    )

    assert price_list.customer == customer
    assert price_list.grade == ""


def test_kind_clears_the_field_of_the_other_kind(manager, customer, product):
    price_list = services.create_price_list(actor=manager, items=[], **header(kind="grade", grade="A", customer=customer))

    assert price_list.customer is None


@pytest.mark.parametrize(
    ("make_input", "field", "value_in_message"),
    [
        (lambda p: (header(valid_until=datetime.date(2025, 12, 31)), items_for(p)), "valid_until", "2025-12-31"),
        (lambda p: (header(valid_from="2026-13-01"), items_for(p)), "valid_from", "2026-13-01"),
        (lambda p: (header(name="  "), items_for(p)), "name", None),
        (lambda p: (header(kind="vip"), items_for(p)), "kind", "vip"),
        (lambda p: (header(grade=""), items_for(p)), "grade", None),
        (lambda p: (header(grade="D"), items_for(p)), "grade", "D"),
        (lambda p: (header(kind="customer", grade=""), items_for(p)), "customer", None),
        (lambda p: (header(kind="customer", customer=987654), items_for(p)), "customer", "987654"),
        (lambda p: (header(priority="high"), items_for(p)), "priority", "high"),
        (lambda p: (header(), items_for(p, unit_price="0")), "items[0].unit_price", "0"),
        (lambda p: (header(), items_for(p, unit_price="-5.00")), "items[0].unit_price", "-5.00"),
        (lambda p: (header(), items_for(p, unit_price="12.34567")), "items[0].unit_price", "12.34567"),
        (lambda p: (header(), items_for(p, unit_price="abc")), "items[0].unit_price", "abc"),
        (lambda p: (header(), items_for(p, unit_price=None)), "items[0].unit_price", None),
        (lambda p: (header(), items_for(p, product=987654)), "items[0].product", "987654"),
        (lambda p: (header(), items_for(p, tiers=[{"min_quantity": 1, "unit_price": "100"}])), "items[0].tiers[0].min_quantity", "1"),
        (lambda p: (header(), items_for(p, tiers=[{"min_quantity": "2.5", "unit_price": "100"}])), "items[0].tiers[0].min_quantity", "2.5"),
        (lambda p: (header(), items_for(p, tiers=[{"min_quantity": 10, "unit_price": "0"}])), "items[0].tiers[0].unit_price", "0"),
        (lambda p: (header(), items_for(p, tiers=[{"min_quantity": 10, "unit_price": "1.00001"}])), "items[0].tiers[0].unit_price", "1.00001"),
        (
            lambda p: (header(), items_for(p, tiers=[{"min_quantity": 100, "unit_price": "110"}, {"min_quantity": 100, "unit_price": "105"}])),
            "items[0].tiers[1].min_quantity",
            "100+",
        ),
        (
            lambda p: (header(), items_for(p, tiers=[{"min_quantity": 100, "unit_price": "125"}])),
            "items[0].tiers[0].unit_price",
            "125",
        ),
        (
            lambda p: (header(), items_for(p, tiers=[{"min_quantity": 100, "unit_price": "110"}, {"min_quantity": 500, "unit_price": "115"}])),
            "items[0].tiers[1].unit_price",
            "115",
        ),
        (lambda p: (header(), items_for(p) + items_for(p)), "items[1].product", None),
        (lambda p: (header(), "not a list"), "items", None),
    ],
    ids=[
        "end-before-start", "bad-date", "blank-name", "unknown-kind", "grade-missing", "grade-unknown", "customer-missing",
        "customer-unknown", "priority-not-number", "price-zero", "price-negative", "price-5-decimals", "price-not-number",
        "price-missing", "product-unknown", "tier-bound-1", "tier-bound-fraction", "tier-price-zero",
        "tier-price-5-decimals", "tier-bound-twice", "tier-above-base", "tier-above-lower-tier", "product-twice",
        "items-not-list",
    ],
)
def test_bad_price_list_input_names_field_and_value_and_saves_nothing(manager, product, make_input, field, value_in_message):
    fields, items = make_input(product)

    with pytest.raises(InvalidInput) as raised:
        services.create_price_list(actor=manager, items=items, **fields)

    assert field in raised.value.field_errors, raised.value.field_errors
    if value_in_message is not None:
        assert value_in_message in " ".join(raised.value.field_errors[field])
    assert_nothing_saved()


def test_every_bad_value_is_reported_at_once(manager, product):
    with pytest.raises(InvalidInput) as raised:
        services.create_price_list(
            actor=manager, items=items_for(product, unit_price="0", tiers=[{"min_quantity": 1, "unit_price": "x"}]), **header(grade="")
        )

    assert set(raised.value.field_errors) == {
        "grade", "items[0].unit_price", "items[0].tiers[0].min_quantity", "items[0].tiers[0].unit_price",
    }


def test_update_replaces_items_and_keeps_history(manager, product):
    price_list = services.create_price_list(actor=manager, items=items_for(product), **header())
    other = f.ProductFactory()

    services.update_price_list(
        actor=manager, price_list=price_list, name="2026 B级价格表（修订）",
        items=[{"product": other.pk, "unit_price": "88.8800", "tiers": []}],
    )

    price_list.refresh_from_db()
    assert price_list.name == "2026 B级价格表（修订）"
    assert [(item.product, item.unit_price) for item in price_list.items.all()] == [(other, Decimal("88.8800"))]
    assert VolumeTier.objects.count() == 0
    assert price_list.history.count() == 2
    assert PriceListItem.history.filter(history_type="-").count() == 1


def test_update_without_items_keeps_them(manager, product):
    price_list = services.create_price_list(actor=manager, items=items_for(product), **header())

    services.update_price_list(actor=manager, price_list=price_list, priority=3)

    assert price_list.items.count() == 1
    assert VolumeTier.objects.count() == 1


def test_failed_update_changes_nothing(manager, product):
    price_list = services.create_price_list(actor=manager, items=items_for(product), **header())

    with pytest.raises(InvalidInput):
        services.update_price_list(
            actor=manager, price_list=price_list, name="changed", items=items_for(product, unit_price="-1")
        )

    price_list.refresh_from_db()
    assert price_list.name == "2026 B级价格表"
    assert price_list.items.get().unit_price == Decimal("120.0000")
    assert VolumeTier.objects.count() == 1


def test_tie_with_active_list_refused(manager, product):
    first = services.create_price_list(actor=manager, items=items_for(product), **header())

    with pytest.raises(InvalidInput) as error:
        services.create_price_list(actor=manager, items=items_for(product), **header(name="2026 B级价格表（二）"))

    assert first.name in " ".join(error.value.field_errors["priority"])
    assert PriceList.objects.count() == 1
    services.create_price_list(actor=manager, items=items_for(product), **header(name="高优先级", priority=5))
    services.deactivate_price_list(actor=manager, price_list=first)
    services.create_price_list(actor=manager, items=items_for(product), **header(name="替代价格表"))
    assert PriceList.objects.count() == 3


def test_deactivate_price_list(manager, product):
    price_list = services.create_price_list(actor=manager, items=items_for(product), **header())

    services.deactivate_price_list(actor=manager, price_list=price_list)

    price_list.refresh_from_db()
    assert price_list.is_active is False


@pytest.mark.parametrize("persona", ["rep", "supervisor", "logistics", "finance", "quality"])
def test_only_managers_and_administrators_maintain_price_lists(request, persona, product):
    actor = request.getfixturevalue(persona)

    with pytest.raises(NotPermitted):
        services.create_price_list(actor=actor, items=items_for(product), **header())

    assert_nothing_saved()


@pytest.mark.parametrize("persona", ["rep", "supervisor"])
def test_sales_staff_cannot_change_or_deactivate_a_list(request, persona, product):
    actor = request.getfixturevalue(persona)
    price_list = price_list_with_item(product, "120.00", name="原价格表")

    with pytest.raises(NotPermitted):
        services.update_price_list(actor=actor, price_list=price_list, name="改过")
    with pytest.raises(NotPermitted):
        services.deactivate_price_list(actor=actor, price_list=price_list)

    price_list.refresh_from_db()
    assert price_list.name == "原价格表"
    assert price_list.is_active is True


# -- locked prices -------------------------------------------------------------------------


def locked_fields(customer, product, /, **overrides):
    values = {
        "customer": customer.pk,
        "product": product.pk,
        "unit_price": "99.50",
        "valid_from": TODAY,
        "valid_until": TODAY + datetime.timedelta(days=365),
        "source": "tender",
        "source_reference": "ZB-2026-031",
    }
    values.update(overrides)
    return values


def test_manager_locks_a_price(manager, customer, product):
    locked = services.create_locked_price(actor=manager, **locked_fields(customer, product))

    assert locked.unit_price == Decimal("99.5000")
    assert locked.is_active
    assert locked.history.count() == 1


@pytest.mark.parametrize(
    ("overrides", "field", "value_in_message"),
    [
        ({"unit_price": "0"}, "unit_price", "0"),
        ({"unit_price": "9.99999"}, "unit_price", "9.99999"),
        ({"valid_until": TODAY - datetime.timedelta(days=1)}, "valid_until", str(TODAY - datetime.timedelta(days=1))),
        ({"source": "gift"}, "source", "gift"),
        ({"source_reference": " "}, "source_reference", None),
        ({"customer": 987654}, "customer", "987654"),
        ({"product": "x"}, "product", "x"),
    ],
)
def test_bad_locked_price_input_saves_nothing(manager, customer, product, overrides, field, value_in_message):
    with pytest.raises(InvalidInput) as raised:
        services.create_locked_price(actor=manager, **locked_fields(customer, product, **overrides))

    assert field in raised.value.field_errors
    if value_in_message is not None:
        assert value_in_message in " ".join(raised.value.field_errors[field])
    assert LockedPrice.objects.count() == 0


def test_overlapping_locked_price_is_refused(manager, customer, product):
    LockedPriceFactory(customer=customer, product=product, source_reference="ZB-2025-001")

    with pytest.raises(InvalidInput) as raised:
        services.create_locked_price(actor=manager, **locked_fields(customer, product))

    assert "ZB-2025-001" in str(raised.value)
    assert LockedPrice.objects.count() == 1


def test_adjacent_or_inactive_locked_prices_do_not_block(manager, customer, product):
    LockedPriceFactory(
        customer=customer, product=product, valid_from=TODAY - datetime.timedelta(days=30), valid_until=TODAY - datetime.timedelta(days=1)
    )
    LockedPriceFactory(customer=customer, product=product, is_active=False)

    services.create_locked_price(actor=manager, **locked_fields(customer, product))

    assert LockedPrice.objects.filter(is_active=True).count() == 2


def test_update_and_deactivate_locked_price(manager, customer, product):
    locked = services.create_locked_price(actor=manager, **locked_fields(customer, product))

    services.update_locked_price(actor=manager, locked_price=locked, unit_price="98.00")
    services.deactivate_locked_price(actor=manager, locked_price=locked)

    locked.refresh_from_db()
    assert locked.unit_price == Decimal("98.0000")
    assert locked.is_active is False


@pytest.mark.parametrize("persona", ["rep", "supervisor", "finance"])
def test_only_managers_lock_prices(request, persona, customer, product):
    with pytest.raises(NotPermitted):
        services.create_locked_price(actor=request.getfixturevalue(persona), **locked_fields(customer, product))

    assert LockedPrice.objects.count() == 0


# -- payment-term discounts ------------------------------------------------------------------


def test_manager_creates_payment_term_discount(manager):
    discount = services.create_payment_term_discount(actor=manager, max_payment_terms_days=0, discount_rate="0.02")

    assert discount.discount_rate == Decimal("0.0200")


@pytest.mark.parametrize(
    ("fields", "field", "value_in_message"),
    [
        ({"max_payment_terms_days": 0, "discount_rate": "0"}, "discount_rate", "0"),
        ({"max_payment_terms_days": 0, "discount_rate": "1"}, "discount_rate", "1"),
        ({"max_payment_terms_days": 0, "discount_rate": "1.5"}, "discount_rate", "1.5"),
        ({"max_payment_terms_days": 0, "discount_rate": "0.00001"}, "discount_rate", "0.00001"),
        ({"max_payment_terms_days": 0, "discount_rate": "2%"}, "discount_rate", "2%"),
        ({"max_payment_terms_days": -1, "discount_rate": "0.02"}, "max_payment_terms_days", "-1"),
        ({"max_payment_terms_days": "ten", "discount_rate": "0.02"}, "max_payment_terms_days", "ten"),
        ({"discount_rate": "0.02"}, "max_payment_terms_days", None),
    ],
)
def test_bad_payment_term_discount_saves_nothing(manager, fields, field, value_in_message):
    with pytest.raises(InvalidInput) as raised:
        services.create_payment_term_discount(actor=manager, **fields)

    assert field in raised.value.field_errors
    if value_in_message is not None:
        assert f"“{value_in_message}”" in " ".join(raised.value.field_errors[field])
    assert PaymentTermDiscount.objects.count() == 0


def test_second_active_discount_for_the_same_days_is_refused(manager):
    PaymentTermDiscountFactory(max_payment_terms_days=0, discount_rate=Decimal("0.02"))

    with pytest.raises(InvalidInput):
        services.create_payment_term_discount(actor=manager, max_payment_terms_days=0, discount_rate="0.03")

    assert PaymentTermDiscount.objects.count() == 1


def test_rep_cannot_create_payment_term_discount(rep):
    with pytest.raises(NotPermitted):
        services.create_payment_term_discount(actor=rep, max_payment_terms_days=0, discount_rate="0.02")

    assert PaymentTermDiscount.objects.count() == 0


# -- discount authority ------------------------------------------------------------------------


def test_manager_sets_a_general_and_a_category_authority(manager):
    category = f.CategoryFactory()

    general = services.create_discount_authority(actor=manager, role="representative", min_share_of_list="0.92")
    specific = services.create_discount_authority(actor=manager, role="representative", category=category.pk, min_share_of_list="0.85")

    assert general.category is None
    assert specific.category == category
    assert DiscountAuthority.history.count() == 2


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"role": "representative", "min_share_of_list": "0"}, "min_share_of_list"),
        ({"role": "representative", "min_share_of_list": "1.01"}, "min_share_of_list"),
        ({"role": "representative", "min_share_of_list": "0.123456"}, "min_share_of_list"),
        ({"role": "finance", "min_share_of_list": "0.9"}, "role"),
        ({"role": "representative", "min_share_of_list": "0.9", "category": 987654}, "category"),
    ],
)
def test_bad_authority_input_saves_nothing(manager, fields, field):
    with pytest.raises(InvalidInput) as raised:
        services.create_discount_authority(actor=manager, **fields)

    assert field in raised.value.field_errors
    assert DiscountAuthority.objects.count() == 0


def test_duplicate_authority_is_refused(manager):
    DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.9"))

    with pytest.raises(InvalidInput):
        services.create_discount_authority(actor=manager, role="representative", min_share_of_list="0.95")

    assert DiscountAuthority.objects.get().min_share_of_list == Decimal("0.9000")


def test_lower_role_may_not_give_more_discount_than_a_higher_one(manager):
    category = f.CategoryFactory()

    with pytest.raises(InvalidInput) as raised:
        services.create_discount_authority(actor=manager, role="representative", category=category, min_share_of_list="0.75")

    assert "75%" in str(raised.value)
    assert DiscountAuthority.objects.count() == 0


def test_set_category_authorities_lowers_all_roles_at_once_and_removes_with_blank(manager):
    category = f.CategoryFactory()

    services.set_category_authorities(
        actor=manager, category=category, shares={"representative": "0.75", "supervisor": "0.65", "manager": "0.55"}
    )
    services.set_category_authorities(actor=manager, category=category, shares={"representative": "0.85", "supervisor": "", "manager": "0.55"})

    rows = {row.role: row.min_share_of_list for row in DiscountAuthority.objects.filter(category=category)}
    assert rows == {"representative": Decimal("0.8500"), "manager": Decimal("0.5500")}


def test_set_category_authorities_refusal_keeps_the_table(manager):
    DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.9"))

    with pytest.raises(InvalidInput):
        services.set_category_authorities(actor=manager, category=None, shares={"representative": "0.5"})

    assert DiscountAuthority.objects.get().min_share_of_list == Decimal("0.9000")


def test_update_and_remove_authority(manager):
    row = DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.9"))

    services.update_discount_authority(actor=manager, authority=row, min_share_of_list="0.88")
    assert DiscountAuthority.objects.get().min_share_of_list == Decimal("0.8800")
    services.remove_discount_authority(actor=manager, authority=row)
    assert DiscountAuthority.objects.count() == 0


@pytest.mark.parametrize("persona", ["rep", "supervisor"])
def test_sales_staff_cannot_change_authority(request, persona):
    row = DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.9"))
    actor = request.getfixturevalue(persona)

    with pytest.raises(NotPermitted):
        services.update_discount_authority(actor=actor, authority=row, min_share_of_list="0.5")
    with pytest.raises(NotPermitted):
        services.create_discount_authority(actor=actor, role="supervisor", min_share_of_list="0.5")

    assert DiscountAuthority.objects.get().min_share_of_list == Decimal("0.9000")
    assert DiscountAuthority.objects.count() == 1
