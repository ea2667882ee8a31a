"""The stock receipt and warehouse API."""

import pytest

from dentalsales.inventory.models import GoodsReceipt, Lot, StockLedgerEntry
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def receipt(product_row, warehouse, **overrides):
    payload = {
        "product": product_row.pk,
        "warehouse": warehouse.pk,
        "lot_number": "B20261101",
        "production_date": "2026-11-01",
        "expiry_date": "2028-10-31",
        "quantity": 24,
    }
    payload.update(overrides)
    return payload


def test_logistics_receives_stock(api, logistics, product, warehouse):
    response = api(logistics).post("/api/v1/stock/receipts/", receipt(product, warehouse), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["number"].startswith("GR-")
    assert response.json()["lot_number"] == "B20261101"
    entry = StockLedgerEntry.objects.get()
    assert entry.quantity == 24
    assert entry.reference == response.json()["number"]


@pytest.mark.parametrize(
    ("overrides", "field", "value"),
    [
        ({"quantity": 0}, "quantity", "0"),
        ({"quantity": -5}, "quantity", "-5"),
        ({"quantity": 2.5}, "quantity", "2.5"),
        ({"expiry_date": "2026-10-01"}, "expiry_date", "2026-10-01"),
        ({"production_date": "2099-01-01", "expiry_date": "2101-01-01"}, "production_date", "2099-01-01"),
        ({"production_date": "2020-01-01", "expiry_date": "2021-01-01"}, "expiry_date", "2021-01-01"),
    ],
)
def test_bad_receipt_changes_nothing(api, logistics, product, warehouse, overrides, field, value):
    response = api(logistics).post("/api/v1/stock/receipts/", receipt(product, warehouse, **overrides), format="json")

    assert response.status_code == 400
    assert value in response.json()[field][0]
    assert GoodsReceipt.objects.count() == 0
    assert Lot.objects.count() == 0
    assert StockLedgerEntry.objects.count() == 0


def test_unknown_product_refused(api, logistics, warehouse, product):
    response = api(logistics).post("/api/v1/stock/receipts/", receipt(product, warehouse, product=99999), format="json")

    assert response.status_code == 400
    assert "99999" in response.json()["product"][0]


def test_representative_cannot_receive(api, rep, product, warehouse):
    response = api(rep).post("/api/v1/stock/receipts/", receipt(product, warehouse), format="json")

    assert response.status_code == 403
    assert StockLedgerEntry.objects.count() == 0


def test_warehouses_listed(api, rep, warehouse):
    rows = api(rep).get("/api/v1/warehouses/").json()["results"]

    assert [(row["code"], row["name"]) for row in rows] == [("WH1", "上海中心仓")]


def test_expired_lot_shows_as_expired_and_not_sellable(logistics, product, warehouse, client):
    from dentalsales.inventory.models import StockBalance

    f.receive(product, warehouse, quantity=9, actor=logistics, expiry_days=-1, production_days_ago=300, lot_number="GONE")
    balance = StockBalance.objects.get()
    client.force_login(logistics)

    page = client.get("/stock/").content.decode()

    assert balance.available == 9
    assert balance.sellable_quantity == 0
    assert balance.lot.effective_status == "expired"
    assert 'data-status="expired"' in page
