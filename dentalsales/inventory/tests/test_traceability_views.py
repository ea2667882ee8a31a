"""Screens of outbound review, dispatch, delivery, the delivery note copy mark, the stock ledger, transfers and stock counts."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import (
    GoodsReceipt,
    InspectionResult,
    Lot,
    LotStatus,
    OutboundReview,
    ReviewResult,
    ShipmentStatus,
    StockBalance,
    StockCount,
    StockCountStatus,
    StockTransfer,
    Warehouse,
)
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
LEDGER_URL = reverse("inventory:ledger")


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def picked_shipment(customer, product, *, supervisor, logistics, quantity=4):
    order = f.make_order(actor=customer.owner, customer=customer, lines=[(product, quantity)])
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    return sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", waybill_number="SF1")


@pytest.fixture
def shipment(stocked_product, customer, supervisor, logistics):
    return picked_shipment(customer, stocked_product, supervisor=supervisor, logistics=logistics)


def review_post(shipment, **per_line):
    lines = list(shipment.lines.order_by("id"))
    data = {"review-TOTAL_FORMS": str(len(lines)), "review-INITIAL_FORMS": str(len(lines)), "review_note": ""}
    for index, line in enumerate(lines):
        values = {"shipment_line": line.pk, "confirmed": "on", "scanned_code": "", "result": "ok", "quantity": line.quantity, "note": ""}
        values.update(per_line)
        for name, value in values.items():
            if value is not None:
                data[f"review-{index}-{name}"] = str(value)
    return data


def test_receive_form_records_inspection(logistics, product, warehouse):
    today = local_today()
    data = {
        "product": product.pk, "warehouse": warehouse.pk, "lot_number": "V1", "production_date": today.isoformat(),
        "expiry_date": "2031-01-31", "quantity": "6", "supplier": "上海齿科", "inspection_result": "quarantined", "inspection_note": "",
    }
    client = client_for(logistics)

    refused = client.post(reverse("inventory:receive"), data)
    assert refused.status_code == 200
    assert "inspection_note" in refused.context["form"].errors
    assert GoodsReceipt.objects.count() == 0

    response = client.post(reverse("inventory:receive"), {**data, "inspection_note": "标签模糊"}, follow=True)
    receipt = GoodsReceipt.objects.get()
    assert (receipt.inspection_result, receipt.supplier) == (InspectionResult.QUARANTINED, "上海齿科")
    assert receipt.lot.status == LotStatus.QUARANTINED
    [message] = list(response.context["messages"])
    assert message.level_tag == "warning"
    assert "quarantined" in str(message)


def test_rejected_receipt_message_says_no_stock(logistics, product, warehouse):
    data = {
        "product": product.pk, "warehouse": warehouse.pk, "lot_number": "V2", "production_date": local_today().isoformat(),
        "expiry_date": "2031-01-31", "quantity": "6", "supplier": "上海齿科", "inspection_result": "rejected",
        "inspection_note": "外包装破损",
    }

    response = client_for(logistics).post(reverse("inventory:receive"), data, follow=True)

    [message] = list(response.context["messages"])
    assert message.level_tag == "warning"
    assert "no stock was added" in str(message)


def test_picker_sees_no_review_form(shipment, logistics):
    response = client_for(logistics).get(reverse("inventory:shipment_detail", args=[shipment.pk]))

    assert response.context["review_formset"] is None
    assert b'data-testid="review-by-other"' in response.content


def test_review_dispatch_and_delivery_on_screen(settings, tmp_path, shipment, quality, logistics):
    settings.MEDIA_ROOT = tmp_path
    detail = reverse("inventory:shipment_detail", args=[shipment.pk])

    page = client_for(quality).get(detail)
    assert page.context["review_formset"] is not None
    response = client_for(quality).post(reverse("inventory:shipment_review", args=[shipment.pk]), review_post(shipment))
    assert response.status_code == 302
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.REVIEWED
    assert OutboundReview.objects.get().reviewer == quality

    client = client_for(logistics)
    client.post(reverse("inventory:shipment_dispatch", args=[shipment.pk]), {"carrier": "京东物流", "waybill_number": "JD9"})
    shipment.refresh_from_db()
    assert (shipment.status, shipment.carrier) == (ShipmentStatus.DISPATCHED, "京东物流")

    bad = client.post(
        reverse("inventory:shipment_confirm_delivery", args=[shipment.pk]), {"signed_receipt": SimpleUploadedFile("x.gif", b"GIF89a")}
    )
    assert "signed_receipt" in bad.context["delivery_form"].errors
    client.post(
        reverse("inventory:shipment_confirm_delivery", args=[shipment.pk]), {"signed_receipt": SimpleUploadedFile("s.pdf", b"%PDF-1.4")}
    )
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.DELIVERED
    download = client.get(reverse("inventory:shipment_signed_receipt", args=[shipment.pk]))
    assert b"".join(download.streaming_content).startswith(b"%PDF")


def test_unticked_line_is_reported_beside_it(shipment, quality):
    response = client_for(quality).post(reverse("inventory:shipment_review", args=[shipment.pk]), review_post(shipment, confirmed=None))

    form = response.context["review_formset"].forms[0]
    assert "confirmed" in form.errors
    assert OutboundReview.objects.count() == 0


def test_damaged_line_fails_the_review(shipment, quality):
    client_for(quality).post(reverse("inventory:shipment_review", args=[shipment.pk]), review_post(shipment, result="damaged", note="包装破损"))

    review = OutboundReview.objects.get()
    assert review.result == ReviewResult.FAILED
    shipment.refresh_from_db()
    assert shipment.status == ShipmentStatus.PICKED


def test_review_record_prints_reviewer_and_result(shipment, quality, logistics):
    client_for(quality).post(reverse("inventory:shipment_review", args=[shipment.pk]), review_post(shipment))
    review = OutboundReview.objects.get()

    response = client_for(logistics).get(reverse("inventory:review_record", args=[shipment.pk, review.pk]))

    assert response.status_code == 200
    assert quality.display_name in response.content.decode()
    assert b'data-result="passed"' in response.content


def test_review_record_of_another_reps_shipment_is_404(shipment, quality, rep2):
    client_for(quality).post(reverse("inventory:shipment_review", args=[shipment.pk]), review_post(shipment))
    review = OutboundReview.objects.get()

    assert client_for(rep2).get(reverse("inventory:review_record", args=[shipment.pk, review.pk])).status_code == 404


def test_reprinted_delivery_note_is_marked_as_copy(shipment, logistics):
    client = client_for(logistics)
    url = reverse("inventory:delivery_note_print", args=[shipment.pk])

    first = client.post(url)
    second = client.post(url)

    assert b'data-testid="copy-mark"' not in first.content
    assert b'data-testid="copy-mark"' in second.content
    assert "顺丰速运" in second.content.decode()


def test_ledger_filters_and_export(stocked_product, shipment, logistics, warehouse):
    client = client_for(logistics)

    shipped = client.get(LEDGER_URL, {"reason": "shipment"})
    assert [entry.quantity for entry in shipped.context["page_obj"]] == [-4]

    export = client.get(LEDGER_URL, {"reason": "receipt", "export": "xlsx"})
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Time"
    assert [row[6] for row in rows[1:]] == [100]


@pytest.mark.parametrize("user_fixture,status", [("rep", 403), ("supervisor", 403), ("logistics", 200), ("quality", 200), ("finance", 200)])
def test_ledger_roles(request, user_fixture, status):
    user = request.getfixturevalue(user_fixture)

    assert client_for(user).get(LEDGER_URL).status_code == status


@pytest.mark.parametrize("rows", [3, 40])
def test_ledger_page_query_count(rows, logistics, warehouse, django_assert_max_num_queries):
    for product in f.ProductFactory.create_batch(rows):
        f.receive(product, warehouse, quantity=2, actor=logistics)
    client = client_for(logistics)

    # session, user, groups, warehouse filter options, count, page, notifications badge
    with django_assert_max_num_queries(8):
        response = client.get(LEDGER_URL)

    assert len(response.context["page_obj"]) == rows


def test_transfer_on_screen(stocked_product, warehouse, logistics):
    target = Warehouse.objects.create(code="WH2", name="北京仓")
    lot = Lot.objects.get()
    client = client_for(logistics)

    stock = StockBalance.objects.get(warehouse=warehouse, lot=lot)

    refused = client.post(reverse("inventory:transfer_list"), {"stock": stock.pk, "to_warehouse": target.pk, "quantity": 101})
    assert "quantity" in refused.context["form"].errors
    client.post(reverse("inventory:transfer_list"), {"stock": stock.pk, "to_warehouse": target.pk, "quantity": 10})

    assert StockTransfer.objects.get().quantity == 10
    assert StockBalance.objects.get(warehouse=target).on_hand == 10


def test_stock_count_on_screen_needs_second_person(stocked_product, warehouse, logistics, manager):
    client = client_for(logistics)
    url = reverse("inventory:stock_count_create") + f"?warehouse={warehouse.pk}"
    form_page = client.get(url)
    lot_id = form_page.context["formset"].forms[0].initial["lot"]
    data = {"count-TOTAL_FORMS": "1", "count-INITIAL_FORMS": "1", "count-0-lot": lot_id, "count-0-counted_quantity": "95", "count-0-reason": ""}

    refused = client.post(url, data)
    assert "reason" in refused.context["formset"].forms[0].errors
    client.post(url, {**data, "count-0-reason": "破损 5 支"})
    count = StockCount.objects.get()

    own = client.get(reverse("inventory:stock_count_detail", args=[count.pk]))
    assert own.context["may_decide"] is False
    client_for(manager).post(reverse("inventory:stock_count_detail", args=[count.pk]), {"decision": "approve", "note": ""})

    count.refresh_from_db()
    assert count.status == StockCountStatus.APPROVED
    assert StockBalance.objects.get().on_hand == 95
