"""Stock, goods receipt, shipment screens and the accompanying delivery note."""

import datetime
import io

import pytest
from django.contrib.messages import get_messages
from django.test import Client, override_settings
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import (
    GoodsReceipt,
    Lot,
    StockBalance,
    StockLedgerEntry,
)
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

STOCK_URL = reverse("inventory:stock_list")
RECEIVE_URL = reverse("inventory:receive")
SHIPMENTS_URL = reverse("inventory:shipment_list")


def client_for(user):
    """Return a client signed in as ``user`` that requests English pages, so that tests can compare messages."""
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def ship(customer, lines, *, reviewer, logistics, carrier="顺丰速运", waybill_number="SF1234567890"):
    """Take an order for ``customer`` through review and release to a shipment, through the real services."""
    order = f.make_order(actor=customer.owner, customer=customer, lines=lines)
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=reviewer, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)
    return sales.ship_order(actor=logistics, order=order, carrier=carrier, waybill_number=waybill_number)


def receive_data(product, warehouse, **overrides):
    today = local_today()
    data = {
        "product": str(product.pk),
        "warehouse": str(warehouse.pk),
        "lot_number": "B2026001",
        "production_date": (today - datetime.timedelta(days=10)).isoformat(),
        "expiry_date": (today + datetime.timedelta(days=700)).isoformat(),
        "quantity": "24",
        "note": "",
    }
    data.update(overrides)
    return data


def nothing_received():
    return not (Lot.objects.exists() or GoodsReceipt.objects.exists() or StockLedgerEntry.objects.exists())


# Stock list


def test_stock_list_marks_expired_and_near_expiry_lots(logistics, product, warehouse):
    f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="EXPIRED", expiry_days=-1)
    f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="NEAR", expiry_days=90)
    f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="FRESH", expiry_days=91)

    response = client_for(logistics).get(STOCK_URL)

    states = {balance.lot.lot_number: balance.expiry_state for balance in response.context["page_obj"]}
    assert states == {"EXPIRED": "expired", "NEAR": "near", "FRESH": ""}
    html = response.content.decode()
    assert 'data-expiry-state="expired"' in html
    assert 'data-expiry-state="near"' in html


def test_stock_list_shows_on_hand_reserved_and_available(logistics, warehouse, stocked_product, customer, supervisor):
    order = f.make_order(actor=customer.owner, customer=customer, lines=[(stocked_product, 30)])
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)

    balance = client_for(logistics).get(STOCK_URL).context["page_obj"][0]

    assert (balance.on_hand, balance.reserved, balance.available) == (100, 30, 70)


def test_stock_list_searches_lot_numbers_and_filters_warehouses(logistics, product):
    first = f.WarehouseFactory(code="WH1", name="上海中心仓")
    second = f.WarehouseFactory(code="WH2", name="广州仓")
    f.receive(product, first, quantity=5, actor=logistics, lot_number="ABC-1")
    f.receive(product, second, quantity=5, actor=logistics, lot_number="XYZ-9")
    client = client_for(logistics)

    by_lot = client.get(STOCK_URL, {"q": "xyz"}).context["page_obj"]
    by_warehouse = client.get(STOCK_URL, {"warehouse": first.pk}).context["page_obj"]

    assert [balance.lot.lot_number for balance in by_lot] == ["XYZ-9"]
    assert [balance.lot.lot_number for balance in by_warehouse] == ["ABC-1"]


@pytest.mark.parametrize("rows", [5, 60])
def test_stock_list_runs_a_fixed_number_of_queries(rows, logistics, warehouse, django_assert_max_num_queries):
    for product in f.ProductFactory.create_batch(rows):
        f.receive(product, warehouse, quantity=3, actor=logistics)
    client = client_for(logistics)

    # session, user, groups, warehouse filter options, count, page
    with django_assert_max_num_queries(6):
        response = client.get(STOCK_URL)

    assert len(response.context["page_obj"]) == min(rows, 50)


def test_stock_export(logistics, product, warehouse):
    f.receive(product, warehouse, quantity=7, actor=logistics, lot_number="LOT-7")

    response = client_for(logistics).get(STOCK_URL, {"export": "xlsx"})

    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert rows[0][:4] == ("Product", "SKU", "Model / specification", "Lot number")
    assert rows[1][3] == "LOT-7"
    assert rows[1][rows[0].index("On hand")] == 7


# Receiving


@pytest.mark.parametrize("persona", ["logistics", "manager"])
def test_warehouse_roles_receive_stock(persona, request, product, warehouse):
    user = request.getfixturevalue(persona)

    response = client_for(user).post(RECEIVE_URL, receive_data(product, warehouse))

    receipt = GoodsReceipt.objects.get()
    assert response.status_code == 302
    assert response["Location"] == RECEIVE_URL
    assert StockBalance.objects.get(lot__lot_number="B2026001", warehouse=warehouse).on_hand == 24
    assert receipt.received_by == user
    message = [str(m) for m in get_messages(response.wsgi_request)][0]
    assert message.startswith(f"Receipt {receipt.number}: 24 支")


@pytest.mark.parametrize("persona", ["rep", "supervisor", "finance", "quality"])
def test_other_roles_cannot_receive_stock(persona, request, product, warehouse):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(RECEIVE_URL).status_code == 403
    assert client.post(RECEIVE_URL, receive_data(product, warehouse)).status_code == 403
    assert nothing_received()


def test_expiry_before_production_is_refused_beside_the_field(logistics, product, warehouse):
    data = receive_data(product, warehouse, production_date="2026-03-01", expiry_date="2026-02-28")

    response = client_for(logistics).post(RECEIVE_URL, data)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["expiry_date"] == ["Expiry date 2026-02-28 is before production date 2026-03-01."]
    assert 'data-error-for="expiry_date"' in response.content.decode()
    assert nothing_received()


def test_quantity_below_one_is_refused(logistics, product, warehouse):
    response = client_for(logistics).post(RECEIVE_URL, receive_data(product, warehouse, quantity="0"))

    assert response.context["form"].errors["quantity"] == ["Quantity must be at least 1, not 0."]
    assert nothing_received()


def test_receive_form_renders_only_the_chosen_product(logistics, warehouse):
    chosen, other = f.ProductFactory.create_batch(2)

    html = client_for(logistics).post(RECEIVE_URL, receive_data(chosen, warehouse, quantity="0")).content.decode()

    assert f'<option value="{chosen.pk}" selected>' in html
    assert f'<option value="{other.pk}"' not in html
    assert f'data-url="{reverse("catalog:product_autocomplete")}"' in html


# Shipments


@pytest.fixture
def shipments(rep, rep2, supervisor, manager, logistics, warehouse):
    product = f.ProductFactory()
    f.receive(product, warehouse, quantity=100, actor=logistics)
    own = ship(f.CustomerFactory(owner=rep), [(product, 2)], reviewer=supervisor, logistics=logistics)
    other = ship(f.CustomerFactory(owner=rep2), [(product, 3)], reviewer=manager, logistics=logistics)
    return own, other


def test_representative_lists_only_shipments_of_own_orders(rep, shipments):
    own, other = shipments

    listed = list(client_for(rep).get(SHIPMENTS_URL).context["page_obj"])

    assert listed == [own]


def test_logistics_lists_every_shipment(logistics, shipments):
    listed = set(client_for(logistics).get(SHIPMENTS_URL).context["page_obj"])

    assert listed == set(shipments)


def test_shipment_list_searches_order_numbers(logistics, shipments):
    own, _ = shipments

    listed = list(client_for(logistics).get(SHIPMENTS_URL, {"q": own.order.number}).context["page_obj"])

    assert listed == [own]


@pytest.mark.parametrize("orders", [1, 6])
def test_shipment_list_runs_a_fixed_number_of_queries(orders, logistics, supervisor, customer, warehouse, django_assert_max_num_queries):
    product = f.ProductFactory()
    f.receive(product, warehouse, quantity=100, actor=logistics)
    for _ in range(orders):
        ship(customer, [(product, 1)], reviewer=supervisor, logistics=logistics)
    client = client_for(logistics)

    # session, user, groups, count, page
    with django_assert_max_num_queries(5):
        response = client.get(SHIPMENTS_URL)

    assert len(response.context["page_obj"]) == orders


@pytest.mark.parametrize("url_name", ["inventory:shipment_detail", "inventory:delivery_note"])
def test_shipment_of_another_representative_is_not_found(url_name, rep, shipments):
    _, other = shipments

    assert client_for(rep).get(reverse(url_name, args=[other.pk])).status_code == 404


def test_shipment_detail_lists_lines(rep, shipments):
    own, _ = shipments

    response = client_for(rep).get(reverse("inventory:shipment_detail", args=[own.pk]))

    assert response.status_code == 200
    assert response.context["total_quantity"] == 2
    assert reverse("inventory:delivery_note", args=[own.pk]) in response.content.decode()


def test_shipment_detail_keeps_dates_on_one_line(rep, shipments):
    own, _ = shipments
    line = own.lines.get()

    html = client_for(rep).get(reverse("inventory:shipment_detail", args=[own.pk])).content.decode()

    assert f'<td class="text-nowrap">{line.production_date:%Y-%m-%d}</td>' in html
    assert f'<td class="text-nowrap">{line.expiry_date:%Y-%m-%d}</td>' in html


@override_settings(
    COMPANY_NAME="测试医疗器械有限公司",
    COMPANY_ADDRESS="上海市测试路 1 号",
    COMPANY_PHONE="021-0000 0000",
    COMPANY_LICENCE_NUMBER="沪药监械经营许2026TEST号",
)
def test_delivery_note_has_the_fields_gsp_requires(rep, supervisor, logistics, warehouse):
    product = f.ProductFactory(name="光固化复合树脂", specification="4g/支", storage_conditions="2-25℃ 避光")
    f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="LOT-SOON", expiry_days=300, production_days_ago=60)
    f.receive(product, warehouse, quantity=50, actor=logistics, lot_number="LOT-LATER", expiry_days=700)
    customer = f.CustomerFactory(owner=rep, name="北京朝阳口腔诊所", address="北京市朝阳区建国路 1 号", contact_name="李护士", contact_phone="13900000000")
    shipment = ship(customer, [(product, 8)], reviewer=supervisor, logistics=logistics)
    # The note prints what was true on the shipping day, not today's product master.
    product.name = "改名后的产品"
    product.save()

    response = client_for(rep).get(reverse("inventory:delivery_note", args=[shipment.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "@page { size: A4" in html
    assert "navbar" not in html
    assert "Accompanying delivery note" in html
    for text in ["测试医疗器械有限公司", "上海市测试路 1 号", "021-0000 0000", "沪药监械经营许2026TEST号"]:
        assert text in html
    for text in ["北京朝阳口腔诊所", "北京市朝阳区建国路 1 号", "李护士 13900000000", shipment.number, shipment.order.number]:
        assert text in html
    assert "顺丰速运" in html
    assert "SF1234567890" in html
    assert shipment.shipped_on.isoformat() in html
    assert html.count("<tr data-line>") == 2
    for text in ["光固化复合树脂", "4g/支", product.registration_number, "Demo Dental Co.", "LOT-SOON", "LOT-LATER", "2-25℃ 避光"]:
        assert text in html
    assert "改名后的产品" not in html
    assert response.context["total_quantity"] == 8
    assert 'data-testid="total-quantity">8<' in html
    for text in ["Shipper", "Reviewer", "Receiver", "Quality statement"]:
        assert text in html


def test_delivery_note_is_titled_in_chinese_by_default(rep, shipments, chinese_default):
    own, _ = shipments
    client = Client()
    client.force_login(rep)

    html = client.get(reverse("inventory:delivery_note", args=[own.pk])).content.decode()

    assert '<html lang="zh-hans">' in html
