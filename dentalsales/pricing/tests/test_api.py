"""The pricing API: contract shapes with fixed-decimal money, visibility, refusals naming the value, write permissions."""

import datetime
from decimal import Decimal

import pytest

from dentalsales.accounts.roles import Role
from dentalsales.pricing.models import (
    DiscountAuthority,
    LockedPrice,
    PaymentTermDiscount,
    PriceList,
)
from dentalsales.testing import factories as f

from .factories import (
    CustomerPriceListFactory,
    DiscountAuthorityFactory,
    LockedPriceFactory,
    PaymentTermDiscountFactory,
    price_list_with_item,
)

pytestmark = pytest.mark.django_db

PRICE_LISTS = "/api/v1/price-lists/"


def price_url(product, **params):
    query = "&".join(f"{key}={value}" for key, value in params.items())
    return f"/api/v1/products/{product.pk}/price/?{query}"


# -- the price of a product --------------------------------------------------------------


def test_price_contract(api, rep, customer, product):
    price_list_with_item(product, "123.45", tiers=[(100, "110.5")], name="2026 B级价格表", grade="B")

    response = api(rep).get(price_url(product, customer=customer.pk, quantity=10))

    assert response.status_code == 200
    body = response.json()
    assert body["unit_price"] == "123.4500"
    assert body["list_price"] == "130.0000"
    assert body["source"] == "grade_list"
    assert body["reasons"] == ["Grade B list “2026 B级价格表”"]
    assert body["quantity"] == 10
    assert body["product"] == product.pk
    assert body["customer"] == customer.pk
    assert "standard_cost" not in body


def test_price_at_a_tier_and_on_a_date(api, rep, customer, product):
    price_list_with_item(product, "123.45", tiers=[(100, "110.5")], grade="B", valid_from=datetime.date(2030, 1, 1))

    today = api(rep).get(price_url(product, customer=customer.pk, quantity=100)).json()
    later = api(rep).get(price_url(product, customer=customer.pk, quantity=100, date="2030-01-01")).json()

    assert today["unit_price"] == "130.0000"
    assert later["unit_price"] == "110.5000"
    assert later["on_date"] == "2030-01-01"


def test_quantity_defaults_to_one(api, rep, customer, product):
    assert api(rep).get(price_url(product, customer=customer.pk)).json()["quantity"] == 1


def test_another_representatives_customer_is_not_found(api, rep2, customer, product):
    response = api(rep2).get(price_url(product, customer=customer.pk, quantity=1))

    assert response.status_code == 404
    assert "unit_price" not in response.json()


def test_supervisor_and_manager_price_the_teams_customer(api, supervisor, manager, customer, product):
    assert api(supervisor).get(price_url(product, customer=customer.pk)).status_code == 200
    assert api(manager).get(price_url(product, customer=customer.pk)).status_code == 200


def test_unknown_product_is_not_found(api, rep, customer):
    assert api(rep).get(f"/api/v1/products/987654/price/?customer={customer.pk}").status_code == 404


@pytest.mark.parametrize("quantity", ["0", "-3", "2.5", "abc", "100001"])
def test_bad_quantity_is_refused_naming_the_value(api, rep, customer, product, quantity):
    response = api(rep).get(price_url(product, customer=customer.pk, quantity=quantity))

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert f"“{quantity}”" in response.json()["detail"]
    assert "quantity" in response.json()


@pytest.mark.parametrize(("params", "value"), [({}, None), ({"customer": "abc"}, "abc"), ({"customer": 1, "date": "2026-02-30"}, "2026-02-30")])
def test_missing_or_malformed_parameters_are_refused(api, rep, product, params, value):
    response = api(rep).get(price_url(product, **params))

    assert response.status_code == 400
    if value:
        assert value in response.json()["detail"]


@pytest.mark.parametrize("persona", ["logistics", "quality"])
def test_roles_without_prices_are_refused(request, api, customer, product, persona):
    response = api(request.getfixturevalue(persona)).get(price_url(product, customer=customer.pk))

    assert response.status_code == 403
    assert "unit_price" not in response.json()


def test_anonymous_request_is_refused(api, customer, product):
    assert api().get(price_url(product, customer=customer.pk)).status_code in (401, 403)


# -- price lists -------------------------------------------------------------------------------


def list_payload(product, **overrides):
    payload = {
        "name": "2026 A级价格表",
        "kind": "grade",
        "grade": "A",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "priority": 5,
        "items": [
            {"product": product.pk, "unit_price": "123.45", "tiers": [{"min_quantity": 100, "unit_price": "110.5"}, {"min_quantity": 500, "unit_price": "100"}]}
        ],
    }
    payload.update(overrides)
    return payload


def test_price_list_create_contract(api, manager, product):
    response = api(manager).post(PRICE_LISTS, list_payload(product), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "grade"
    assert body["grade"] == "A"
    assert body["customer"] is None
    assert body["valid_from"] == "2026-01-01"
    assert body["valid_until"] == "2026-12-31"
    assert body["priority"] == 5
    assert body["is_active"] is True
    assert body["items"] == [
        {
            "product": product.pk,
            "product_sku": product.sku,
            "product_name": product.name,
            "unit_price": "123.4500",
            "tiers": [{"min_quantity": 100, "unit_price": "110.5000"}, {"min_quantity": 500, "unit_price": "100.0000"}],
        }
    ]


def test_customer_price_list_through_the_api(api, manager, customer, product):
    response = api(manager).post(
        PRICE_LISTS, list_payload(product, kind="customer", grade="", customer=customer.pk), format="json"
    )

    assert response.status_code == 201
    assert response.json()["customer"] == customer.pk
    assert response.json()["customer_name"] == customer.name


def test_invalid_tier_is_refused_naming_the_field(api, manager, product):
    payload = list_payload(product)
    payload["items"][0]["tiers"][1]["min_quantity"] = 100

    response = api(manager).post(PRICE_LISTS, payload, format="json")

    assert response.status_code == 400
    assert "100+" in response.json()["items[0].tiers[1].min_quantity"][0]
    assert PriceList.objects.count() == 0


def test_price_with_five_decimals_is_refused(api, manager, product):
    payload = list_payload(product)
    payload["items"][0]["unit_price"] = "123.45678"

    response = api(manager).post(PRICE_LISTS, payload, format="json")

    assert response.status_code == 400
    assert "123.45678" in response.json()["items[0].unit_price"][0]
    assert PriceList.objects.count() == 0


@pytest.mark.parametrize("persona", ["rep", "supervisor"])
def test_sales_staff_read_but_do_not_write_price_lists(request, api, product, persona):
    client = api(request.getfixturevalue(persona))
    price_list = price_list_with_item(product, "120.00", name="原价格表")

    created = client.post(PRICE_LISTS, list_payload(product), format="json")
    changed = client.patch(f"{PRICE_LISTS}{price_list.pk}/", {"name": "改过"}, format="json")
    deactivated = client.post(f"{PRICE_LISTS}{price_list.pk}/deactivate/")

    assert client.get(PRICE_LISTS).status_code == 200
    assert created.status_code == 403
    assert changed.status_code == 403
    assert deactivated.status_code == 403
    price_list.refresh_from_db()
    assert PriceList.objects.count() == 1
    assert price_list.name == "原价格表"
    assert price_list.is_active is True


def test_logistics_does_not_see_price_lists(api, logistics, product):
    price_list_with_item(product, "120.00")

    assert api(logistics).get(PRICE_LISTS).status_code == 403


def test_representative_sees_grade_lists_and_own_customers_lists_only(api, rep, rep2, customer, product):
    grade_list = price_list_with_item(product, "120.00")
    own = CustomerPriceListFactory(customer=customer)
    others = CustomerPriceListFactory(customer=f.CustomerFactory(owner=rep2))

    ids = {row["id"] for row in api(rep).get(PRICE_LISTS).json()["results"]}

    assert ids == {grade_list.pk, own.pk}
    assert api(rep).get(f"{PRICE_LISTS}{others.pk}/").status_code == 404


def test_manager_updates_items_and_deactivates(api, manager, product):
    created = api(manager).post(PRICE_LISTS, list_payload(product), format="json").json()
    url = f"{PRICE_LISTS}{created['id']}/"

    patched = api(manager).patch(url, {"items": [{"product": product.pk, "unit_price": "99.9", "tiers": []}]}, format="json")
    deactivated = api(manager).post(f"{url}deactivate/")

    assert patched.status_code == 200
    assert patched.json()["items"][0]["unit_price"] == "99.9000"
    assert patched.json()["items"][0]["tiers"] == []
    assert patched.json()["name"] == "2026 A级价格表"
    assert deactivated.json()["is_active"] is False


def test_price_list_list_query_count_is_fixed(api, manager, django_assert_max_num_queries):
    for _ in range(3):
        price_list_with_item(f.ProductFactory(), "120.00", tiers=[(10, "110.00"), (20, "100.00")])
    client = api(manager)
    with django_assert_max_num_queries(5):
        small = client.get(PRICE_LISTS)
    for _ in range(12):
        price_list_with_item(f.ProductFactory(), "120.00", tiers=[(10, "110.00"), (20, "100.00")])
    with django_assert_max_num_queries(5):
        large = client.get(PRICE_LISTS)

    assert small.json()["count"] == 3
    assert large.json()["count"] == 15


# -- locked prices, payment-term discounts, discount authority -------------------------------------


def test_locked_price_contract(api, manager, customer, product):
    response = api(manager).post(
        "/api/v1/locked-prices/",
        {
            "customer": customer.pk, "product": product.pk, "unit_price": "99.5", "valid_from": "2026-01-01",
            "valid_until": "2027-03-31", "source": "tender", "source_reference": "ZB-2026-031",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["unit_price"] == "99.5000"
    assert body["customer"] == customer.pk
    assert body["product"] == product.pk
    assert body["source"] == "tender"
    assert body["source_reference"] == "ZB-2026-031"


def test_locked_price_refusal_names_the_value(api, manager, customer, product):
    response = api(manager).post(
        "/api/v1/locked-prices/",
        {
            "customer": customer.pk, "product": product.pk, "unit_price": "-1", "valid_from": "2026-01-01",
            "valid_until": "2027-03-31", "source": "tender", "source_reference": "ZB-2026-031",
        },
        format="json",
    )

    assert response.status_code == 400
    assert "“-1”" in response.json()["unit_price"][0]
    assert LockedPrice.objects.count() == 0


def test_representative_sees_only_own_customers_locked_prices(api, rep, rep2, customer, product):
    own = LockedPriceFactory(customer=customer, product=product)
    LockedPriceFactory(customer=f.CustomerFactory(owner=rep2), product=product)

    ids = [row["id"] for row in api(rep).get("/api/v1/locked-prices/").json()["results"]]
    refused = api(rep).post(f"/api/v1/locked-prices/{own.pk}/deactivate/")

    assert ids == [own.pk]
    assert refused.status_code == 403
    own.refresh_from_db()
    assert own.is_active is True


def test_payment_term_discount_contract(api, manager, rep):
    created = api(manager).post("/api/v1/payment-term-discounts/", {"max_payment_terms_days": 0, "discount_rate": "0.02"}, format="json")
    refused = api(rep).post("/api/v1/payment-term-discounts/", {"max_payment_terms_days": 7, "discount_rate": "0.01"}, format="json")

    assert created.status_code == 201
    assert created.json()["discount_rate"] == "0.0200"
    assert refused.status_code == 403
    assert PaymentTermDiscount.objects.count() == 1
    assert api(rep).get("/api/v1/payment-term-discounts/").json()["results"][0]["discount_rate"] == "0.0200"


def test_discount_authority_contract(api, manager, rep):
    category = f.CategoryFactory()
    general = api(manager).post("/api/v1/discount-authorities/", {"role": "representative", "min_share_of_list": "0.9"}, format="json")
    specific = api(manager).post(
        "/api/v1/discount-authorities/", {"role": "representative", "category": category.code, "min_share_of_list": "0.95"}, format="json"
    )

    assert general.status_code == 201
    assert general.json() == {"id": general.json()["id"], "role": "representative", "category": None, "category_name": "", "min_share_of_list": "0.9000"}
    assert specific.json()["category"] == category.code
    assert api(rep).get("/api/v1/discount-authorities/").status_code == 200


def test_discount_authority_update_delete_and_refusals(api, manager, rep):
    row = DiscountAuthorityFactory(role="representative", min_share_of_list=Decimal("0.9"))
    url = f"/api/v1/discount-authorities/{row.pk}/"

    refused = api(rep).patch(url, {"min_share_of_list": "0.5"}, format="json")
    invalid = api(manager).patch(url, {"min_share_of_list": "1.5"}, format="json")
    changed = api(manager).patch(url, {"min_share_of_list": "0.92"}, format="json")

    assert refused.status_code == 403
    assert invalid.status_code == 400
    assert "“1.5”" in invalid.json()["min_share_of_list"][0]
    assert changed.json()["min_share_of_list"] == "0.9200"
    assert api(manager).delete(url).status_code == 204
    assert DiscountAuthority.objects.count() == 0


def test_payment_discount_shows_in_the_price(api, rep, product):
    cash_customer = f.CustomerFactory(owner=rep, payment_terms_days=0)
    PaymentTermDiscountFactory(max_payment_terms_days=0, discount_rate=Decimal("0.02"))

    body = api(rep).get(price_url(product, customer=cash_customer.pk)).json()

    assert body["unit_price"] == "127.4000"
    assert body["reasons"] == ["List price", "Payment terms 0 days: 2% discount"]


def test_administrator_maintains_prices(api, product):
    administrator = f.UserFactory(username="admin", roles=[Role.ADMINISTRATOR])

    assert api(administrator).post(PRICE_LISTS, list_payload(product), format="json").status_code == 201
