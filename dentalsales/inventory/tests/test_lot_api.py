"""The lots API (lookup, trace per role) and the UDI parse endpoint."""

import pytest

from dentalsales.quality.tests.factories import ship
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
LOTS_URL = "/api/v1/lots/"
PARSE_URL = "/api/v1/udi/parse/"


@pytest.fixture
def traced(rep, rep2, supervisor, manager, logistics, warehouse, product):
    lot = f.receive(product, warehouse, quantity=40, actor=logistics, lot_number="T2026A", expiry_days=300).lot
    f.receive(product, warehouse, quantity=40, actor=logistics, lot_number="T2026B", expiry_days=500)
    customer1 = f.CustomerFactory(owner=rep, name="杭州口腔医院", contact_name="赵医生", contact_phone="0571-8888 0000", min_shelf_life_days=30)
    customer2 = f.CustomerFactory(owner=rep2, name="西安牙科诊所", min_shelf_life_days=30)
    first = ship(customer1, [(product, 6)], reviewer=supervisor, logistics=logistics)
    second = ship(customer2, [(product, 3)], reviewer=manager, logistics=logistics)
    return {"lot": lot, "shipments": (first, second), "customers": (customer1, customer2)}


def test_lots_filter_by_product_and_number(api, rep, product, traced):
    other = f.ProductFactory()
    client = api(rep)

    response = client.get(LOTS_URL, {"product": product.pk, "lot_number": "2026a"})
    assert response.status_code == 200
    assert [row["lot_number"] for row in response.data["results"]] == ["T2026A"]
    assert response.data["results"][0]["product_sku"] == product.sku
    assert response.data["results"][0]["effective_status"] == "available"

    assert len(client.get(LOTS_URL, {"product": product.pk}).data["results"]) == 2
    assert client.get(LOTS_URL, {"product": other.pk}).data["results"] == []


def test_lots_product_not_an_id(api, rep, traced):
    response = api(rep).get(LOTS_URL, {"product": "abc"})
    assert response.status_code == 400
    assert "abc" in response.data["detail"]


@pytest.mark.parametrize("persona", ["quality", "logistics", "manager"])
def test_trace_roles_see_customers(api, request, persona, traced):
    response = api(request.getfixturevalue(persona)).get(f"{LOTS_URL}{traced['lot'].pk}/trace/")
    assert response.status_code == 200
    rows = response.data
    assert [row["shipment_number"] for row in rows] == [shipment.number for shipment in traced["shipments"]]
    assert rows[0]["customer_name"] == "杭州口腔医院"
    assert rows[0]["contact_phone"] == "0571-8888 0000"
    assert rows[0]["quantity"] == 6
    assert rows[1]["quantity"] == 3
    assert rows[0]["shipped_on"] == traced["shipments"][0].shipped_on.isoformat()


@pytest.mark.parametrize("persona", ["rep", "supervisor", "finance"])
def test_trace_other_roles_forbidden(api, request, persona, traced):
    response = api(request.getfixturevalue(persona)).get(f"{LOTS_URL}{traced['lot'].pk}/trace/")
    assert response.status_code == 403


def test_trace_unknown_lot_not_found(api, quality, traced):
    assert api(quality).get(f"{LOTS_URL}999999/trace/").status_code == 404


def test_trace_query_count_fixed(api, quality, product, traced, rep, supervisor, logistics, django_assert_max_num_queries):
    client = api(quality)
    url = f"{LOTS_URL}{traced['lot'].pk}/trace/"
    with django_assert_max_num_queries(4):
        assert len(client.get(url).data) == 2
    for _ in range(3):
        ship(traced["customers"][0], [(product, 1)], reviewer=supervisor, logistics=logistics)
    with django_assert_max_num_queries(4):
        assert len(client.get(url).data) == 5


def test_lots_list_query_count_fixed(api, rep, product, warehouse, logistics, django_assert_max_num_queries):
    client = api(rep)
    f.receive(product, warehouse, quantity=1, actor=logistics)
    with django_assert_max_num_queries(4):
        client.get(LOTS_URL)
    for _ in range(10):
        f.receive(product, warehouse, quantity=1, actor=logistics)
    with django_assert_max_num_queries(4):
        assert client.get(LOTS_URL).data["count"] == 11


def test_udi_parse_known_product(api, rep, product):
    product.udi_di = "6901234567892"
    product.save()
    response = api(rep).post(PARSE_URL, {"barcode": "]d2" "0106901234567892" "11250315" "17280314" "10A2503151"}, format="json")
    assert response.status_code == 200, response.data
    assert response.data["gtin"] == "06901234567892"
    assert response.data["lot_number"] == "A2503151"
    assert response.data["production_date"] == "2025-03-15"
    assert response.data["expiry_date"] == "2028-03-14"
    assert response.data["serial_number"] is None
    assert response.data["product"]["id"] == product.pk
    assert response.data["message"] == ""


def test_udi_parse_unknown_product_reported(api, rep, product):
    response = api(rep).post(PARSE_URL, {"barcode": "(01)04006381333931(10)X1"}, format="json")
    assert response.status_code == 200
    assert response.data["product"] is None
    assert "04006381333931" in response.data["message"]


def test_udi_parse_unknown_product_required(api, rep, product):
    response = api(rep).post(PARSE_URL, {"barcode": "(01)04006381333931(10)X1", "require_known_product": True}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "unknown_udi_di"
    assert "04006381333931" in response.data["detail"]


def test_udi_parse_inactive_product_not_matched(api, rep, product):
    product.udi_di = "04006381333931"
    product.is_active = False
    product.save()
    assert api(rep).post(PARSE_URL, {"barcode": "(01)04006381333931"}, format="json").data["product"] is None


@pytest.mark.parametrize(
    ("barcode", "words"),
    [
        ("(01)06901234567893", ["06901234567893", "check digit"]),
        ("01069012345678921726", ["(17)", "truncated"]),
        ("(01)06901234567892(11)270101(17)261231", ["2026-12-31", "2027-01-01"]),
        ("", ["empty"]),
    ],
)
def test_udi_parse_malformed_400(api, rep, barcode, words):
    response = api(rep).post(PARSE_URL, {"barcode": barcode}, format="json")
    assert response.status_code == 400
    assert response.data["code"] == "invalid_barcode"
    for word in words:
        assert word in response.data["detail"]
    assert response.data["barcode"] == [response.data["detail"]]


def test_udi_parse_anonymous_unauthorised(api):
    assert api().post(PARSE_URL, {"barcode": "(01)06901234567892"}, format="json").status_code == 401


def test_udi_parse_session_needs_csrf(rep):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(rep)
    response = browser.post(PARSE_URL, {"barcode": "(01)06901234567892"}, content_type="application/json")
    assert response.status_code == 403
