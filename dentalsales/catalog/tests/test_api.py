"""The product API: contract, cost visibility, stock, bad registration numbers."""

import pytest

from dentalsales.catalog.models import Product
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

CONTRACT_FIELDS = {
    "id", "sku", "name", "brand", "manufacturer", "specification", "unit", "device_class",
    "registration_number", "registration_valid_until", "vat_rate", "list_price",
}


def new_product(**overrides):
    payload = {
        "sku": "RES-A2-4G",
        "name": "光固化复合树脂 A2",
        "brand": "Demo",
        "manufacturer": "Demo Dental Co.",
        "specification": "4g/支",
        "unit": "支",
        "device_class": "II",
        "registration_number": "粤械注准20172170123",
        "registration_valid_until": "2030-06-30",
        "vat_rate": "0.13",
        "list_price": "130.15",
    }
    payload.update(overrides)
    return payload


def test_product_contract_and_cost_hidden_from_representative(api, rep, supervisor, product):
    rep_row = api(rep).get(f"/api/v1/products/{product.pk}/").json()
    supervisor_row = api(supervisor).get(f"/api/v1/products/{product.pk}/").json()

    assert CONTRACT_FIELDS <= set(rep_row)
    assert rep_row["vat_rate"] == "0.13"
    assert "standard_cost" not in rep_row
    assert supervisor_row["standard_cost"] == "80.0000"


def test_quality_officer_creates_product(api, quality):
    response = api(quality).post("/api/v1/products/", new_product(), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["list_price"] == "130.1500"


@pytest.mark.parametrize(
    ("number", "device_class"),
    [("粤械注准2017217012", "II"), ("ABC123", "II"), ("京械备20150012号", "II"), ("国械注准20173170123", "II")],
)
def test_bad_registration_number_names_value(api, quality, number, device_class):
    response = api(quality).post(
        "/api/v1/products/", new_product(registration_number=number, device_class=device_class), format="json"
    )

    assert response.status_code == 400
    assert number in response.json()["registration_number"][0]
    assert Product.objects.count() == 0


def test_representative_cannot_create_product(api, rep):
    assert api(rep).post("/api/v1/products/", new_product(), format="json").status_code == 403
    assert Product.objects.count() == 0


def test_product_stock_per_lot(api, rep, logistics, warehouse, product):
    f.receive(product, warehouse, quantity=30, actor=logistics, expiry_days=400, lot_number="LATE")
    f.receive(product, warehouse, quantity=20, actor=logistics, expiry_days=100, lot_number="EARLY")

    body = api(rep).get(f"/api/v1/products/{product.pk}/stock/").json()

    assert (body["on_hand"], body["reserved"], body["available"]) == (50, 0, 50)
    assert [lot["lot_number"] for lot in body["lots"]] == ["EARLY", "LATE"]
    assert set(body["lots"][0]) >= {"lot_number", "expiry_date", "on_hand", "available", "status"}
    assert body["lots"][0]["status"] == "available"


def test_expired_lot_is_not_available(api, rep, logistics, warehouse, product):
    f.receive(product, warehouse, quantity=7, actor=logistics, expiry_days=-2, production_days_ago=400, lot_number="OLD")
    f.receive(product, warehouse, quantity=5, actor=logistics, expiry_days=300, lot_number="GOOD")

    body = api(rep).get(f"/api/v1/products/{product.pk}/stock/").json()

    assert (body["on_hand"], body["available"]) == (12, 5)
    old = next(lot for lot in body["lots"] if lot["lot_number"] == "OLD")
    assert old["is_expired"] is True
    assert old["available"] == 0
