"""The resolver: tier boundaries, which list wins, locked prices, payment-term discounts and rounding."""

import datetime
from decimal import Decimal

import pytest

from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today
from dentalsales.pricing.resolver import PriceSource, resolve_price, resolve_prices
from dentalsales.testing import factories as f

from .factories import (
    LockedPriceFactory,
    PaymentTermDiscountFactory,
    PriceListFactory,
    price_list_with_item,
)

pytestmark = pytest.mark.django_db

TODAY = local_today()
YESTERDAY = TODAY - datetime.timedelta(days=1)
TOMORROW = TODAY + datetime.timedelta(days=1)


def price_of(customer, product, quantity=1, on_date=None):
    return resolve_price(customer=customer, product=product, quantity=quantity, on_date=on_date)


# -- volume tiers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "expected_price", "expected_tier"),
    [
        (1, "120.0000", None),
        (99, "120.0000", None),
        (100, "110.0000", 100),
        (101, "110.0000", 100),
        (499, "110.0000", 100),
        (500, "100.0000", 500),
        (501, "100.0000", 500),
    ],
)
def test_tier_boundaries_are_inclusive_lower_bounds(customer, product, quantity, expected_price, expected_tier):
    price_list_with_item(product, "120.00", tiers=[(100, "110.00"), (500, "100.00")], name="2026 B级价格表", grade="B")

    result = price_of(customer, product, quantity)

    assert result.unit_price == Decimal(expected_price)
    assert result.source == PriceSource.GRADE_LIST
    expected_reason = "Grade B list “2026 B级价格表”" + (f", {expected_tier}+ tier" if expected_tier else "")
    assert result.reasons == [expected_reason]


def test_tiers_entered_out_of_order_still_pick_the_largest_bound_reached(customer, product):
    price_list = PriceListFactory(grade="B")
    from .factories import PriceListItemFactory, VolumeTierFactory

    item = PriceListItemFactory(price_list=price_list, product=product, unit_price=Decimal("120"))
    VolumeTierFactory(item=item, min_quantity=500, unit_price=Decimal("100"))
    VolumeTierFactory(item=item, min_quantity=100, unit_price=Decimal("110"))

    assert price_of(customer, product, 600).unit_price == Decimal("100.0000")
    assert price_of(customer, product, 300).unit_price == Decimal("110.0000")


def test_customer_list_reason_names_the_list_and_tier(customer, product):
    price_list_with_item(product, "125.00", tiers=[(10, "118.00")], customer=customer, name="华东口腔专属价")

    assert price_of(customer, product, 9).reasons == ["Customer list “华东口腔专属价”"]
    assert price_of(customer, product, 10).reasons == ["Customer list “华东口腔专属价”, 10+ tier"]
    assert price_of(customer, product, 10).source == PriceSource.CUSTOMER_LIST


# -- which list wins ------------------------------------------------------------------------


def test_higher_priority_customer_list_wins(customer, product):
    price_list_with_item(product, "125.00", customer=customer, priority=1)
    price_list_with_item(product, "115.00", customer=customer, priority=5)

    assert price_of(customer, product).unit_price == Decimal("115.0000")


def test_equal_priority_latest_start_wins(customer, product):
    price_list_with_item(product, "115.00", customer=customer, valid_from=TODAY - datetime.timedelta(days=10))
    price_list_with_item(product, "125.00", customer=customer, valid_from=TODAY - datetime.timedelta(days=100))

    assert price_of(customer, product).unit_price == Decimal("115.0000")


def test_equal_priority_and_start_newest_list_wins(customer, product):
    price_list_with_item(product, "125.00", customer=customer, valid_from=YESTERDAY)
    price_list_with_item(product, "121.00", customer=customer, valid_from=YESTERDAY)

    assert price_of(customer, product).unit_price == Decimal("121.0000")


def test_customer_list_beats_grade_list_of_higher_priority(customer, product):
    price_list_with_item(product, "100.00", grade="B", priority=100)
    price_list_with_item(product, "125.00", customer=customer, priority=0)

    result = price_of(customer, product)

    assert result.unit_price == Decimal("125.0000")
    assert result.source == PriceSource.CUSTOMER_LIST


def test_customer_list_without_the_product_leaves_it_to_the_grade_list(customer, product):
    price_list_with_item(f.ProductFactory(), "99.00", customer=customer)
    price_list_with_item(product, "118.00", grade="B")

    assert price_of(customer, product).unit_price == Decimal("118.0000")


def test_expired_list_is_skipped_and_its_last_day_still_counts(customer, product):
    price_list_with_item(product, "118.00", grade="B")
    expired = price_list_with_item(product, "101.00", customer=customer, valid_until=YESTERDAY)

    assert price_of(customer, product).unit_price == Decimal("118.0000")
    assert price_of(customer, product, on_date=YESTERDAY).unit_price == Decimal("101.0000")
    expired.valid_until = TODAY
    expired.save()
    assert price_of(customer, product).unit_price == Decimal("101.0000")


def test_future_list_applies_from_its_first_day(customer, product):
    price_list_with_item(product, "118.00", grade="B")
    price_list_with_item(product, "101.00", customer=customer, valid_from=TOMORROW)

    assert price_of(customer, product).unit_price == Decimal("118.0000")
    assert price_of(customer, product, on_date=TOMORROW).unit_price == Decimal("101.0000")


def test_inactive_list_is_skipped(customer, product):
    price_list_with_item(product, "118.00", grade="B")
    price_list_with_item(product, "101.00", customer=customer, is_active=False)

    assert price_of(customer, product).unit_price == Decimal("118.0000")


def test_lists_of_other_grades_and_customers_do_not_apply(rep, customer, product):
    price_list_with_item(product, "101.00", grade="A")
    price_list_with_item(product, "102.00", customer=f.CustomerFactory(owner=rep))

    result = price_of(customer, product)

    assert result.unit_price == Decimal("130.0000")
    assert result.source == PriceSource.LIST_PRICE
    assert result.reasons == ["List price"]


def test_customer_without_grade_gets_no_grade_list(rep, product):
    potential = f.CustomerFactory(owner=rep, category="potential", grade=None)
    price_list_with_item(product, "101.00", grade="B")

    assert price_of(potential, product).unit_price == Decimal("130.0000")


def test_list_price_result_carries_the_list_price(customer, product):
    result = price_of(customer, product)

    assert result.unit_price == Decimal("130.0000")
    assert result.list_price == Decimal("130.0000")
    assert str(result.unit_price) == "130.0000"


# -- locked prices --------------------------------------------------------------------------


def test_locked_price_beats_lists_tiers_and_payment_discount(customer, product):
    customer.payment_terms_days = 0
    customer.save()
    PaymentTermDiscountFactory(max_payment_terms_days=0, discount_rate=Decimal("0.02"))
    price_list_with_item(product, "100.00", tiers=[(10, "90.00")], customer=customer, priority=99)
    LockedPriceFactory(
        customer=customer,
        product=product,
        unit_price=Decimal("123.45"),
        source="tender",
        source_reference="ZB-2026-031",
        valid_until=datetime.date(2999, 3, 31),
    )

    result = price_of(customer, product, 50)

    assert result.unit_price == Decimal("123.4500")
    assert result.source == PriceSource.LOCKED
    assert result.reasons == ["Locked price (tender ZB-2026-031) valid until 2999-03-31"]


@pytest.mark.parametrize(
    "changes",
    [
        {"valid_until": YESTERDAY, "valid_from": YESTERDAY - datetime.timedelta(days=30)},
        {"valid_from": TOMORROW},
        {"is_active": False},
    ],
    ids=["expired", "future", "inactive"],
)
def test_locked_price_outside_its_period_or_inactive_does_not_apply(customer, product, changes):
    LockedPriceFactory(customer=customer, product=product, unit_price=Decimal("50"), **changes)

    assert price_of(customer, product).unit_price == Decimal("130.0000")


def test_locked_price_of_another_customer_does_not_apply(rep, customer, product):
    LockedPriceFactory(customer=f.CustomerFactory(owner=rep), product=product, unit_price=Decimal("50"))

    assert price_of(customer, product).unit_price == Decimal("130.0000")


def test_locked_price_source_reads_in_the_reason(customer, product):
    LockedPriceFactory(
        customer=customer, product=product, source="volume_based_procurement", source_reference="DC-苏-2026-7",
        valid_until=datetime.date(2999, 12, 31),
    )

    assert price_of(customer, product).reasons == ["Locked price (volume-based procurement DC-苏-2026-7) valid until 2999-12-31"]


# -- payment-term discounts ------------------------------------------------------------------


def test_payment_term_discount_applies_to_the_list_price(rep, product):
    cash_customer = f.CustomerFactory(owner=rep, payment_terms_days=0)
    PaymentTermDiscountFactory(max_payment_terms_days=0, discount_rate=Decimal("0.02"))

    result = price_of(cash_customer, product)

    assert result.unit_price == Decimal("127.4000")
    assert result.reasons == ["List price", "Payment terms 0 days: 2% discount"]


def test_best_payment_term_discount_applies_once(rep, product):
    cash_customer = f.CustomerFactory(owner=rep, payment_terms_days=0)
    PaymentTermDiscountFactory(max_payment_terms_days=0, discount_rate=Decimal("0.02"))
    PaymentTermDiscountFactory(max_payment_terms_days=30, discount_rate=Decimal("0.01"))
    PaymentTermDiscountFactory(max_payment_terms_days=7, discount_rate=Decimal("0.03"), is_active=False)

    result = price_of(cash_customer, product)

    assert result.unit_price == Decimal("127.4000")
    assert len(result.reasons) == 2


def test_payment_term_discount_applies_after_the_tier(rep, product):
    cash_customer = f.CustomerFactory(owner=rep, payment_terms_days=15, grade="B")
    PaymentTermDiscountFactory(max_payment_terms_days=30, discount_rate=Decimal("0.015"))
    price_list_with_item(product, "120.00", tiers=[(100, "110.00")], grade="B", name="B")

    result = price_of(cash_customer, product, 100)

    assert result.unit_price == Decimal("108.3500")
    assert result.reasons == ["Grade B list “B”, 100+ tier", "Payment terms 15 days: 1.5% discount"]


def test_longer_payment_terms_get_no_discount(customer, product):
    PaymentTermDiscountFactory(max_payment_terms_days=29, discount_rate=Decimal("0.02"))

    assert price_of(customer, product).unit_price == Decimal("130.0000")


def test_discounted_price_is_rounded_half_up_to_four_decimals(rep):
    product = f.ProductFactory(list_price=Decimal("10.0025"))
    cash_customer = f.CustomerFactory(owner=rep, payment_terms_days=0)
    PaymentTermDiscountFactory(max_payment_terms_days=0, discount_rate=Decimal("0.02"))

    # 10.0025 × 0.98 = 9.80245: half up gives 9.8025 where banker's rounding would give 9.8024.
    assert price_of(cash_customer, product).unit_price == Decimal("9.8025")


# -- input and many products -----------------------------------------------------------------


@pytest.mark.parametrize("quantity", [0, -1, "2.5", 2.5, True, "abc", "", None, 100_001])
def test_quantity_must_be_a_whole_number_from_one(customer, product, quantity):
    with pytest.raises(InvalidInput) as raised:
        price_of(customer, product, quantity)

    assert raised.value.field == "quantity"
    assert f"“{quantity if quantity is not None else 'None'}”" in str(raised.value)


def test_quantity_may_come_as_digits(customer, product):
    assert price_of(customer, product, " 7 ").unit_price == Decimal("130.0000")


def test_many_products_resolve_in_a_fixed_number_of_queries(customer, django_assert_max_num_queries):
    products = [f.ProductFactory() for _ in range(10)]
    for product in products:
        price_list_with_item(product, "120.00", tiers=[(10, "100.00")], grade="B")
    LockedPriceFactory(customer=customer, product=products[0])

    with django_assert_max_num_queries(4):
        results = resolve_prices(customer=customer, quantities={product: 10 for product in products})

    assert results[products[0].pk].source == PriceSource.LOCKED
    assert {results[product.pk].unit_price for product in products[1:]} == {Decimal("100.0000")}
