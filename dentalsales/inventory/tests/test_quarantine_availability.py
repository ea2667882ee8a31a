"""Stock in the quarantine warehouse (quarantined customer returns) is on hand and quarantined, never available."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.inventory.models import StockBalance, Warehouse
from dentalsales.inventory.selectors import (
    QUARANTINE_WAREHOUSE_CODE,
    eligible_available_by_product,
    product_stock,
    stock_balances,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def quarantined(stocked_product):
    """5 units of the stocked lot held in the inactive quarantine warehouse, next to 100 sellable units."""
    lot = stocked_product.lots.get()
    warehouse = Warehouse.objects.create(code=QUARANTINE_WAREHOUSE_CODE, name="退货隔离区", is_active=False)
    StockBalance.objects.create(warehouse=warehouse, lot=lot, on_hand=5)
    return {"product": stocked_product, "lot": lot, "warehouse": warehouse}


def test_stock_balances_quarantine_not_available(quarantined):
    rows = {balance.warehouse.code: balance for balance in stock_balances()}

    quarantine = rows[QUARANTINE_WAREHOUSE_CODE]
    assert quarantine.on_hand == 5
    assert quarantine.available_quantity == 0
    assert quarantine.in_quarantine is True
    sellable = next(balance for code, balance in rows.items() if code != QUARANTINE_WAREHOUSE_CODE)
    assert sellable.available_quantity == 100
    assert sellable.in_quarantine is False


def test_product_stock_counts_quarantine_apart(quarantined):
    stock = product_stock(quarantined["product"])

    assert (stock["on_hand"], stock["available"], stock["quarantined"]) == (105, 100, 5)
    assert (stock["lots"][0]["available"], stock["lots"][0]["quarantined"]) == (100, 5)


def test_allocation_figure_excludes_quarantine(quarantined):
    assert eligible_available_by_product([quarantined["product"].pk], 30)[quarantined["product"].pk] == 100


@pytest.mark.parametrize("persona", ["logistics", "supervisor", "quality", "manager"])
def test_stock_list_shows_quarantine_row(request, client, persona, quarantined, django_assert_max_num_queries):
    client.force_login(request.getfixturevalue(persona))

    with django_assert_max_num_queries(12):
        page = client.get(reverse("inventory:stock_list")).content.decode()

    assert page.count('data-testid="quarantine-warehouse"') == 1
    assert 'data-testid="available">0<' in page
    assert 'data-testid="available">100<' in page


def test_stock_export_marks_quarantine(client, logistics, quarantined):
    client.force_login(logistics)

    response = client.get(reverse("inventory:stock_list"), {"export": "xlsx"})

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = {row[6]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["退货隔离区"][9] == 0
    assert rows["退货隔离区"][11] == "Quarantined"


def test_product_api_stock_quarantined(api, rep, quarantined):
    response = api(rep).get(f"/api/v1/products/{quarantined['product'].pk}/stock/")

    assert response.status_code == 200
    assert (response.data["available"], response.data["quarantined"]) == (100, 5)
    assert response.data["lots"][0]["quarantined"] == 5


def test_product_page_shows_quarantined(client, rep, quarantined):
    client.force_login(rep)

    page = client.get(reverse("catalog:product_detail", args=[quarantined["product"].pk])).content.decode()

    assert 'data-testid="quarantined">5<' in page
