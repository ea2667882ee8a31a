"""API of receiving inspection, outbound review, dispatch, delivery, the stock ledger, transfers and stock counts."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import (
    GoodsReceipt,
    Lot,
    OutboundReview,
    ShipmentStatus,
    StockBalance,
    StockCount,
    Warehouse,
)
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n%%EOF\n"


def picked_shipment(customer, product, *, supervisor, logistics, quantity=4):
    order = f.make_order(actor=customer.owner, customer=customer, lines=[(product, quantity)])
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    return sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", waybill_number="SF1")


@pytest.fixture
def shipment(stocked_product, customer, supervisor, logistics):
    return picked_shipment(customer, stocked_product, supervisor=supervisor, logistics=logistics)


def review_payload(shipment, **overrides):
    return {"lines": [{"shipment_line": line.pk, **overrides} for line in shipment.lines.all()], "note": ""}


def test_receipt_with_quarantine_and_supplier(api, logistics, product, warehouse):
    payload = {
        "product": product.pk, "warehouse": warehouse.pk, "lot_number": "Q1", "production_date": str(local_today()),
        "expiry_date": "2030-01-31", "quantity": 1, "supplier": "上海齿科", "serial_number": "SN1",
        "inspection_result": "quarantined", "inspection_note": "待检",
    }

    response = api(logistics).post("/api/v1/stock/receipts/", payload, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["inspection_result"], body["supplier"], body["lot"]["status"]) == ("quarantined", "上海齿科", "quarantined")


def test_receipt_quarantine_without_reason_names_the_field(api, logistics, product, warehouse):
    payload = {
        "product": product.pk, "warehouse": warehouse.pk, "lot_number": "Q1", "production_date": str(local_today()),
        "expiry_date": "2030-01-31", "quantity": 5, "inspection_result": "rejected",
    }

    response = api(logistics).post("/api/v1/stock/receipts/", payload, format="json")

    assert response.status_code == 400
    assert "inspection_note" in response.json()
    assert GoodsReceipt.objects.count() == 0


def test_review_dispatch_and_delivery(api, settings, tmp_path, shipment, quality, logistics):
    settings.MEDIA_ROOT = tmp_path
    url = f"/api/v1/shipments/{shipment.pk}/"

    picker_review = api(logistics).post(url + "review/", review_payload(shipment), format="json")
    assert picker_review.status_code == 403

    early = api(logistics).post(url + "dispatch/", {}, format="json")
    assert early.status_code == 409

    review = api(quality).post(url + "review/", review_payload(shipment, scanned_code="", quantity="4"), format="json")
    assert review.status_code == 201, review.json()
    assert review.json()["result"] == "passed"
    assert review.json()["reviewer"] == quality.display_name

    dispatch = api(logistics).post(url + "dispatch/", {"waybill_number": "SF2"}, format="json")
    assert dispatch.status_code == 200, dispatch.json()
    assert (dispatch.json()["status"], dispatch.json()["waybill_number"]) == ("dispatched", "SF2")

    bad = api(logistics).post(url + "confirm-delivery/", {"signed_receipt": SimpleUploadedFile("a.txt", b"hi")}, format="multipart")
    assert bad.status_code == 400
    assert "a.txt" in bad.json()["signed_receipt"][0]

    delivered = api(logistics).post(url + "confirm-delivery/", {"signed_receipt": SimpleUploadedFile("签收.pdf", PDF)}, format="multipart")
    assert delivered.status_code == 200, delivered.json()
    body = delivered.json()
    assert body["status"] == "delivered"
    assert body["signed_receipt_url"] == f"/shipments/{shipment.pk}/signed-receipt/"
    assert [r["result"] for r in body["reviews"]] == ["passed"]


def test_review_quantity_above_picked_is_400(api, shipment, quality):
    response = api(quality).post(f"/api/v1/shipments/{shipment.pk}/review/", review_payload(shipment, quantity=99), format="json")

    assert response.status_code == 400
    assert "99" in str(response.json())
    assert OutboundReview.objects.count() == 0


def test_representative_cannot_review(api, shipment, rep):
    response = api(rep).post(f"/api/v1/shipments/{shipment.pk}/review/", review_payload(shipment), format="json")

    assert response.status_code == 403


def test_shipment_of_another_rep_is_404(api, shipment, rep2):
    assert api(rep2).get(f"/api/v1/shipments/{shipment.pk}/").status_code == 404
    assert api(rep2).post(f"/api/v1/shipments/{shipment.pk}/review/", review_payload(shipment), format="json").status_code == 404


def test_shipment_list_filters_by_status(api, shipment, logistics):
    picked = api(logistics).get("/api/v1/shipments/?status=picked").json()
    dispatched = api(logistics).get("/api/v1/shipments/?status=dispatched").json()

    assert [row["number"] for row in picked["results"]] == [shipment.number]
    assert dispatched["results"] == []


@pytest.mark.parametrize("rows", [2, 20])
def test_shipment_list_query_count(rows, api, stocked_product, customer, supervisor, logistics, django_assert_max_num_queries):
    for _ in range(rows):
        picked_shipment(customer, stocked_product, supervisor=supervisor, logistics=logistics, quantity=1)
    client = api(logistics)

    # user, groups, count, page, lines, reviews (with reviewer), review lines
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/shipments/")

    assert response.json()["count"] == rows


def test_ledger_filters_and_roles(api, stocked_product, warehouse, logistics, rep, finance):
    response = api(finance).get(f"/api/v1/stock/ledger/?warehouse={warehouse.pk}&reason=receipt")

    assert response.status_code == 200
    assert [(row["quantity"], row["reason"]) for row in response.json()["results"]] == [(100, "receipt")]
    assert api(finance).get("/api/v1/stock/ledger/?reason=shipment").json()["results"] == []
    assert api(rep).get("/api/v1/stock/ledger/").status_code == 403
    assert api(finance).get("/api/v1/stock/ledger/?date_from=yesterday").status_code == 400


@pytest.mark.parametrize("rows", [3, 30])
def test_ledger_query_count(rows, api, warehouse, logistics, django_assert_max_num_queries):
    for product in f.ProductFactory.create_batch(rows):
        f.receive(product, warehouse, quantity=2, actor=logistics)
    client = api(logistics)

    # user, groups, count, page
    with django_assert_max_num_queries(4):
        response = client.get("/api/v1/stock/ledger/")

    assert response.json()["count"] == rows


def test_transfer_through_api(api, stocked_product, warehouse, logistics, rep):
    target = Warehouse.objects.create(code="WH2", name="北京仓")
    lot = Lot.objects.get(product=stocked_product)
    payload = {"lot": lot.pk, "from_warehouse": warehouse.pk, "to_warehouse": target.pk, "quantity": "30"}

    assert api(rep).post("/api/v1/stock/transfers/", payload, format="json").status_code == 403
    response = api(logistics).post("/api/v1/stock/transfers/", payload, format="json")

    assert response.status_code == 201, response.json()
    assert StockBalance.objects.get(warehouse=target).on_hand == 30
    too_many = api(logistics).post("/api/v1/stock/transfers/", {**payload, "quantity": 71}, format="json")
    assert too_many.status_code == 400
    assert "71" in too_many.json()["quantity"][0]


def test_stock_count_through_api(api, stocked_product, warehouse, logistics, manager):
    lot = Lot.objects.get(product=stocked_product)
    missing_reason = api(logistics).post(
        "/api/v1/stock/counts/", {"warehouse": warehouse.pk, "lines": [{"lot": lot.pk, "counted_quantity": 97}]}, format="json"
    )
    assert missing_reason.status_code == 400
    assert "lines[0].reason" in missing_reason.json()

    created = api(logistics).post(
        "/api/v1/stock/counts/", {"warehouse": warehouse.pk, "lines": [{"lot": lot.pk, "counted_quantity": 97, "reason": "破损"}]}, format="json"
    )
    assert created.status_code == 201, created.json()
    count_url = f"/api/v1/stock/counts/{created.json()['id']}/"

    assert api(logistics).post(count_url + "approve/", {}, format="json").status_code == 403
    approved = api(manager).post(count_url + "approve/", {"note": "ok"}, format="json")

    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["lines"][0]["difference"] == -3
    assert StockBalance.objects.get().on_hand == 97
    assert StockCount.objects.get().decided_by == manager


def test_legacy_ship_call_still_returns_the_shipment(api, stocked_product, customer, supervisor, logistics):
    order = f.make_order(actor=customer.owner, customer=customer, lines=[(stocked_product, 2)])
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)

    response = api(logistics).post(f"/api/v1/orders/{order.pk}/ship/", {"carrier": "顺丰速运"}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["status"] == ShipmentStatus.PICKED
    assert response.json()["lines"][0]["quantity"] == 2
