"""Pricing screens: who may see and edit what, the items and tiers editor, export, the price check, query counts."""

import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.pricing.models import (
    DiscountAuthority,
    LockedPrice,
    PaymentTermDiscount,
    PriceList,
    VolumeTier,
)
from dentalsales.testing import factories as f

from .factories import (
    CustomerPriceListFactory,
    DiscountAuthorityFactory,
    LockedPriceFactory,
    price_list_with_item,
)

pytestmark = pytest.mark.django_db

LIST_URL = reverse("pricing:price_list_list")
CREATE_URL = reverse("pricing:price_list_create")


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def form_data(product, **overrides):
    """A filled price list form: one item with two tiers."""
    data = {
        "name": "2026 B级价格表",
        "kind": "grade",
        "grade": "B",
        "customer": "",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "priority": "0",
        "is_active": "on",
        "note": "",
        "items-TOTAL_FORMS": "1",
        "items-INITIAL_FORMS": "0",
        "items-0-product": str(product.pk),
        "items-0-unit_price": "120.00",
        "items-0-tiers-TOTAL_FORMS": "2",
        "items-0-tiers-INITIAL_FORMS": "0",
        "items-0-tiers-0-min_quantity": "100",
        "items-0-tiers-0-unit_price": "110.00",
        "items-0-tiers-1-min_quantity": "500",
        "items-0-tiers-1-unit_price": "100.00",
    }
    data.update(overrides)
    return data


# -- price list list ----------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
def test_sales_roles_see_the_price_lists(request, persona, product):
    price_list_with_item(product, "120.00", name="2026 B级价格表")

    response = client_for(request.getfixturevalue(persona)).get(LIST_URL)

    assert response.status_code == 200
    assert "2026 B级价格表" in response.content.decode()


@pytest.mark.parametrize("persona", ["logistics", "quality"])
def test_roles_without_prices_are_refused(request, persona):
    assert client_for(request.getfixturevalue(persona)).get(LIST_URL).status_code == 403


def test_anonymous_user_goes_to_login(client):
    response = client.get(LIST_URL)

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_only_maintainers_see_the_new_button(rep, manager):
    assert 'data-testid="new-price-list"' not in client_for(rep).get(LIST_URL).content.decode()
    assert 'data-testid="new-price-list"' in client_for(manager).get(LIST_URL).content.decode()


def test_filters_kind_grade_and_status(manager, customer, product):
    grade_a = price_list_with_item(product, "110.00", grade="A", name="A级")
    grade_b = price_list_with_item(product, "120.00", grade="B", name="B级")
    own = CustomerPriceListFactory(customer=customer, name="专属")
    inactive = price_list_with_item(product, "120.00", grade="B", name="停用", is_active=False)
    client = client_for(manager)

    def listed(**params):
        return {row.pk for row in client.get(LIST_URL, params).context["page_obj"]}

    assert listed() == {grade_a.pk, grade_b.pk, own.pk}
    assert listed(kind="customer") == {own.pk}
    assert listed(grade="B") == {grade_b.pk}
    assert listed(active="inactive") == {inactive.pk}
    assert listed(active="") == {grade_a.pk, grade_b.pk, own.pk, inactive.pk}


def test_representative_does_not_see_another_representatives_customer_list(rep, rep2, product):
    others = CustomerPriceListFactory(customer=f.CustomerFactory(owner=rep2), name="别人的专属价")

    assert "别人的专属价" not in client_for(rep).get(LIST_URL).content.decode()
    assert client_for(rep).get(reverse("pricing:price_list_detail", args=[others.pk])).status_code == 404


def test_export_lists_every_item_with_its_tiers(manager, product):
    price_list_with_item(product, "120.00", tiers=[(100, "110.00")], name="2026 B级价格表")

    response = client_for(manager).get(LIST_URL, {"export": "xlsx"})

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Price list"
    assert rows[1][0] == "2026 B级价格表"
    assert rows[1][9] == product.sku
    assert rows[1][13] == 120
    assert rows[1][14] == "100+: 110.0000"
    assert len(rows) == 2


def test_list_runs_a_fixed_number_of_queries(manager, django_assert_max_num_queries):
    client = client_for(manager)
    for _ in range(3):
        price_list_with_item(f.ProductFactory(), "120.00", tiers=[(10, "110.00")])
    with django_assert_max_num_queries(6):
        client.get(LIST_URL)
    for _ in range(20):
        price_list_with_item(f.ProductFactory(), "120.00", tiers=[(10, "110.00")])
    with django_assert_max_num_queries(6):
        response = client.get(LIST_URL)

    assert response.context["page_obj"].paginator.count == 23


# -- detail ------------------------------------------------------------------------------------


def test_detail_shows_items_and_tiers_without_cost(rep, product):
    product.standard_cost = Decimal("81.2300")
    product.save()
    price_list = price_list_with_item(product, "120.00", tiers=[(100, "110.00"), (500, "100.50")])

    html = client_for(rep).get(reverse("pricing:price_list_detail", args=[price_list.pk])).content.decode()

    assert f'data-item="{product.sku}"' in html
    assert 'data-tier="100"' in html
    assert "100.50" in html
    assert "81.23" not in html
    assert 'data-testid="edit-price-list"' not in html


def test_detail_warns_cost_roles_about_very_low_prices(manager, rep, product):
    # List price 130.00 and standard cost 80.00: 75.00 is below cost, 100.00 is not.
    price_list = price_list_with_item(product, "100.00", tiers=[(100, "75.00")])

    manager_html = client_for(manager).get(reverse("pricing:price_list_detail", args=[price_list.pk])).content.decode()
    rep_html = client_for(rep).get(reverse("pricing:price_list_detail", args=[price_list.pk])).content.decode()

    assert 'data-testid="low-prices"' in manager_html
    assert "from 100: 75.00" in manager_html
    assert "from 1:" not in manager_html
    assert "below standard cost 80.00" in manager_html
    assert 'data-testid="low-prices"' not in rep_html


# -- create and edit ------------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["rep", "supervisor"])
def test_sales_staff_cannot_open_or_post_the_editor(request, persona, product):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, form_data(product)).status_code == 403
    assert PriceList.objects.count() == 0


def test_manager_creates_a_list_with_items_and_tiers(manager, product):
    client = client_for(manager)
    assert client.get(CREATE_URL).status_code == 200

    response = client.post(CREATE_URL, form_data(product))

    price_list = PriceList.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("pricing:price_list_detail", args=[price_list.pk])
    item = price_list.items.get()
    assert item.unit_price == Decimal("120.0000")
    assert [tier.min_quantity for tier in item.tiers.all()] == [100, 500]


def test_blank_tier_rows_and_removed_items_are_dropped(manager, product):
    other = f.ProductFactory()
    data = form_data(
        product,
        **{
            "items-TOTAL_FORMS": "2",
            "items-0-tiers-1-min_quantity": "",
            "items-0-tiers-1-unit_price": "",
            "items-1-product": str(other.pk),
            "items-1-unit_price": "50",
            "items-1-DELETE": "on",
            "items-1-tiers-TOTAL_FORMS": "0",
            "items-1-tiers-INITIAL_FORMS": "0",
        },
    )

    client_for(manager).post(CREATE_URL, data)

    item = PriceList.objects.get().items.get()
    assert item.product == product
    assert [tier.min_quantity for tier in item.tiers.all()] == [100]


def test_service_error_shows_beside_the_tier_and_nothing_is_saved(manager, product):
    data = form_data(product, **{"items-0-tiers-1-min_quantity": "100"})

    response = client_for(manager).post(CREATE_URL, data)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-error-for="items-0-tiers-1-min_quantity"' in html
    assert "The 100+ tier is entered twice." in html
    assert PriceList.objects.count() == 0


def test_header_error_shows_beside_its_field(manager, product):
    response = client_for(manager).post(CREATE_URL, form_data(product, valid_until="2025-12-31"))

    assert 'data-error-for="valid_until"' in response.content.decode()
    assert PriceList.objects.count() == 0


def test_edit_shows_the_items_and_saves_changes(manager, product):
    price_list = price_list_with_item(product, "120.00", tiers=[(100, "110.00")], name="旧名")
    url = reverse("pricing:price_list_update", args=[price_list.pk])
    client = client_for(manager)

    page = client.get(url)
    response = client.post(url, form_data(product, name="新名", **{"items-0-unit_price": "119.5"}))

    assert page.context["formset"].forms[0].tiers.forms[0].initial == {"min_quantity": 100, "unit_price": Decimal("110.00")}
    assert response.status_code == 302
    price_list.refresh_from_db()
    assert price_list.name == "新名"
    assert price_list.items.get().unit_price == Decimal("119.5000")
    assert VolumeTier.objects.count() == 2


def test_deactivate_from_the_detail_page(manager, rep, product):
    price_list = price_list_with_item(product, "120.00")
    url = reverse("pricing:price_list_deactivate", args=[price_list.pk])

    assert client_for(rep).post(url).status_code == 403
    price_list.refresh_from_db()
    assert price_list.is_active is True
    client_for(manager).post(url)
    price_list.refresh_from_db()
    assert price_list.is_active is False


# -- locked prices -------------------------------------------------------------------------------


def test_locked_price_list_and_create(manager, rep, customer, product):
    LockedPriceFactory(customer=customer, product=product, source_reference="ZB-2026-031")
    create_url = reverse("pricing:locked_price_create")

    listing = client_for(rep).get(reverse("pricing:locked_price_list")).content.decode()
    refused = client_for(rep).post(create_url, {})
    created = client_for(manager).post(
        create_url,
        {
            "customer": customer.pk, "product": f.ProductFactory().pk, "unit_price": "88.8", "valid_from": "2026-01-01",
            "valid_until": "2026-12-31", "source": "contract", "source_reference": "HT-2026-8", "is_active": "on",
        },
    )

    assert "ZB-2026-031" in listing
    assert refused.status_code == 403
    assert created.status_code == 302
    assert LockedPrice.objects.filter(source_reference="HT-2026-8").count() == 1


def test_locked_price_edit_and_deactivate(manager, rep, customer, product):
    locked = LockedPriceFactory(customer=customer, product=product, unit_price=Decimal("99.50"))
    edit_url = reverse("pricing:locked_price_update", args=[locked.pk])
    deactivate_url = reverse("pricing:locked_price_deactivate", args=[locked.pk])
    client = client_for(manager)
    data = {
        "customer": customer.pk, "product": product.pk, "unit_price": "97", "valid_from": str(locked.valid_from),
        "valid_until": str(locked.valid_until), "source": "tender", "source_reference": locked.source_reference, "is_active": "on",
    }

    assert client_for(rep).post(edit_url, data).status_code == 403
    assert client_for(rep).post(deactivate_url).status_code == 403
    locked.refresh_from_db()
    assert locked.unit_price == Decimal("99.5000")
    assert client.get(edit_url).context["form"].initial["unit_price"] == Decimal("99.5000")
    assert client.post(edit_url, data).status_code == 302
    client.post(deactivate_url)
    locked.refresh_from_db()
    assert locked.unit_price == Decimal("97.0000")
    assert locked.is_active is False


def test_locked_price_list_runs_a_fixed_number_of_queries(rep, customer, django_assert_max_num_queries):
    client = client_for(rep)
    LockedPriceFactory(customer=customer)
    with django_assert_max_num_queries(6):
        client.get(reverse("pricing:locked_price_list"))
    for _ in range(15):
        LockedPriceFactory(customer=customer)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("pricing:locked_price_list"))

    assert response.context["page_obj"].paginator.count == 16


def test_overlapping_locked_price_shows_the_error(manager, customer, product):
    LockedPriceFactory(customer=customer, product=product, source_reference="ZB-2025-001")

    response = client_for(manager).post(
        reverse("pricing:locked_price_create"),
        {
            "customer": customer.pk, "product": product.pk, "unit_price": "88.8", "valid_from": str(LockedPrice.objects.get().valid_from),
            "valid_until": str(LockedPrice.objects.get().valid_until), "source": "tender", "source_reference": "ZB-2026-2",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert "ZB-2025-001" in response.content.decode()
    assert LockedPrice.objects.count() == 1


# -- discount authority and payment-term discounts --------------------------------------------------


def test_authority_table_read_only_for_a_representative(rep):
    DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.92"))
    client = client_for(rep)

    html = client.get(reverse("pricing:authority_list")).content.decode()
    refused = client.post(reverse("pricing:authority_list"), {"category": "", "representative": "0.5"})

    assert "92%" in html
    assert 'data-testid="authority-form"' not in html
    assert refused.status_code == 403
    assert DiscountAuthority.objects.get().min_share_of_list == Decimal("0.9200")


def test_manager_sets_a_category_row(manager):
    category = f.CategoryFactory()

    response = client_for(manager).post(
        reverse("pricing:authority_list"),
        {"category": category.pk, "representative": "0.85", "supervisor": "0.75", "manager": ""},
    )

    assert response.status_code == 302
    assert {row.role: row.min_share_of_list for row in DiscountAuthority.objects.all()} == {
        "representative": Decimal("0.8500"),
        "supervisor": Decimal("0.7500"),
    }


def test_edit_link_fills_the_form_with_the_saved_shares(manager):
    DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.92"))
    DiscountAuthorityFactory(role="manager", min_share_of_list=Decimal("0.60"))

    form = client_for(manager).get(reverse("pricing:authority_list"), {"edit": "general"}).context["form"]

    assert form.initial == {"category": None, "representative": Decimal("0.9200"), "supervisor": None, "manager": Decimal("0.6000")}


def test_inverted_authority_shows_the_error(manager):
    response = client_for(manager).post(reverse("pricing:authority_list"), {"category": "", "representative": "0.5"})

    assert response.status_code == 200
    assert "50%" in response.content.decode()
    assert DiscountAuthority.objects.count() == 0


def test_payment_term_discount_page(manager, rep):
    url = reverse("pricing:payment_term_discount_list")

    refused = client_for(rep).post(url, {"max_payment_terms_days": "0", "discount_rate": "0.02"})
    created = client_for(manager).post(url, {"max_payment_terms_days": "0", "discount_rate": "0.02"})
    invalid = client_for(manager).post(url, {"max_payment_terms_days": "7", "discount_rate": "2"})

    assert refused.status_code == 403
    assert created.status_code == 302
    assert invalid.status_code == 200
    assert "“2”" in invalid.content.decode()
    assert PaymentTermDiscount.objects.count() == 1
    assert "2%" in client_for(rep).get(url).content.decode()


def test_payment_term_discount_deactivate(manager, rep):
    discount = PaymentTermDiscount.objects.create(max_payment_terms_days=0, discount_rate=Decimal("0.02"))
    url = reverse("pricing:payment_term_discount_deactivate", args=[discount.pk])

    assert client_for(rep).post(url).status_code == 403
    discount.refresh_from_db()
    assert discount.is_active is True
    client_for(manager).post(url)
    discount.refresh_from_db()
    assert discount.is_active is False


# -- price check ----------------------------------------------------------------------------------


def test_price_check_shows_the_price_and_its_reasons(rep, customer, product):
    price_list_with_item(product, "120.00", tiers=[(100, "110.00")], name="2026 B级价格表")

    response = client_for(rep).get(
        reverse("pricing:price_check"), {"customer": customer.pk, "product": product.pk, "quantity": "100"}
    )

    html = response.content.decode()
    assert response.context["result"].unit_price == Decimal("110.0000")
    assert 'data-source="grade_list"' in html
    assert "Grade B list “2026 B级价格表”, 100+ tier" in html
    assert "11,000.00" in html
    assert response.context["floors"][0]["is_own"] is True


def test_price_check_floor_never_above_locked_price(rep, customer, product):
    # List price 130.00; the representative's default authority is well above 60.00.
    LockedPriceFactory(customer=customer, product=product, unit_price=Decimal("60.0000"))

    response = client_for(rep).get(
        reverse("pricing:price_check"), {"customer": customer.pk, "product": product.pk, "quantity": "1"}
    )

    floors = response.context["floors"]
    assert [floor["price"] for floor in floors] == [Decimal("60.0000")] * len(floors)
    assert all(floor["by_policy"] for floor in floors)
    assert 'data-by-policy="true"' in response.content.decode()


def test_price_check_refuses_another_representatives_customer(rep2, customer, product):
    response = client_for(rep2).get(
        reverse("pricing:price_check"), {"customer": customer.pk, "product": product.pk, "quantity": "1"}
    )

    assert response.context["result"] is None
    assert response.context["form"].errors["customer"]


def test_price_check_refuses_a_quantity_below_one(rep, customer, product):
    response = client_for(rep).get(
        reverse("pricing:price_check"), {"customer": customer.pk, "product": product.pk, "quantity": "0"}
    )

    assert response.context["result"] is None
    assert response.context["form"].errors["quantity"]


def test_price_check_page_loads_empty(rep):
    response = client_for(rep).get(reverse("pricing:price_check"))

    assert response.status_code == 200
    assert 'data-url="/customers/autocomplete/"' in response.content.decode()
    assert 'data-url="/products/autocomplete/"' in response.content.decode()
