"""Receiving by scanning a GS1 barcode, outbound review by a second person, dispatch and delivery, in Chromium.

Selectors rely on form field names and data-* hooks, not on screen text,
because the Chinese catalogue may lag behind the templates. Each step also
checks the database.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import GoodsReceipt, OutboundReview, Shipment, ShipmentStatus, StockBalance
from dentalsales.inventory.udi import gtin_check_digit
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

from test_browser_flow import log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHIPMENT_URL = re.compile(r"/shipments/\d+/$")


def test_scan_receive_review_dispatch_deliver(page, screenshot, tmp_path, settings, rep, supervisor, logistics, quality, customer, warehouse):
    settings.MEDIA_ROOT = tmp_path
    di = "0690123456789" + gtin_check_digit("0690123456789")
    product = f.ProductFactory(udi_di=di, name="光固化复合树脂", registration_number="国械注准20203170456")
    production = local_today() - datetime.timedelta(days=20)
    expiry = local_today() + datetime.timedelta(days=500)

    # (a) Logistics pastes a GS1 string into the scanner field; the product, lot and dates are filled from it.
    log_in(page, logistics)
    page.locator("[data-nav='inventory:receive']").click()
    scanner = page.locator("input[name=udi]")
    scanner.fill(f"(01){di}(11){production:%y%m%d}(17){expiry:%y%m%d}(10)SCAN-01")
    scanner.press("Enter")
    expect(page.locator("input[name=lot_number]")).to_have_value("SCAN-01")
    expect(page.locator("input[name=expiry_date]")).to_have_value(expiry.isoformat())
    expect(page.locator("select[name=product]")).to_have_value(str(product.pk))
    page.locator("input[name=quantity]").fill("30")
    page.locator("input[name=supplier]").fill("上海齿科材料有限公司")
    screenshot("inventory-1-scanned-receipt")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    receipt = GoodsReceipt.objects.get()
    assert (receipt.lot.lot_number, receipt.lot.expiry_date, receipt.quantity) == ("SCAN-01", expiry, 30)
    assert receipt.udi.startswith("(01)")

    # (b) The order is picked by logistics, who may not review it.
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 6)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", waybill_number="SF100")
    page.goto(f"/shipments/{shipment.pk}/")
    expect(page.locator("[data-testid=review-by-other]")).to_be_visible()
    expect(page.locator("[data-testid=review-form]")).to_have_count(0)
    log_out(page)

    # (c) The quality officer scans the lot label, which ticks the line, and records the review.
    log_in(page, quality)
    page.goto(f"/shipments/{shipment.pk}/")
    row = page.locator("[data-testid=review-form] tr[data-review-line]")
    expect(row).to_have_count(1)
    code = row.locator("input[name$=scanned_code]")
    code.fill("SCAN-01")
    code.press("Enter")
    expect(row.locator("input[type=checkbox]")).to_be_checked()
    screenshot("inventory-2-outbound-review")
    page.locator("[data-testid=confirm-review]").click()
    expect(page.locator("[data-testid=shipment-status] .status-badge")).to_have_attribute("data-status", "reviewed")
    review = OutboundReview.objects.get()
    assert (review.reviewer, review.result, review.lines.get().scanned_code) == (quality, "passed", "SCAN-01")
    log_out(page)

    # (d) Logistics dispatches it and confirms delivery with the signed receipt.
    log_in(page, logistics)
    page.goto(f"/shipments/{shipment.pk}/")
    page.locator("[data-testid=dispatch-form] input[name=waybill_number]").fill("SF200")
    page.locator("[data-testid=confirm-dispatch]").click()
    expect(page.locator("[data-testid=shipment-status] .status-badge")).to_have_attribute("data-status", "dispatched")
    receipt_file = tmp_path / "签收单.pdf"
    receipt_file.write_bytes(b"%PDF-1.4\n%%EOF\n")
    page.locator("[data-testid=delivery-form] input[name=signed_receipt]").set_input_files(str(receipt_file))
    page.locator("[data-testid=confirm-delivery]").click()
    expect(page.locator("[data-testid=shipment-status] .status-badge")).to_have_attribute("data-status", "delivered")
    expect(page.locator("[data-testid=signed-receipt]")).to_be_visible()
    screenshot("inventory-3-delivered")
    shipment = Shipment.objects.get()
    assert (shipment.status, shipment.waybill_number, shipment.dispatched_by) == (ShipmentStatus.DELIVERED, "SF200", logistics)

    # (e) Opening the delivery note is a preview; the first recorded print is the original, a reprint is marked as a copy.
    page.goto(f"/shipments/{shipment.pk}/delivery-note/")
    expect(page.locator("[data-testid=preview-mark]")).to_be_visible()
    expect(page.locator("[data-testid=copy-mark]")).to_have_count(0)
    page.locator("[data-testid=record-print]").click()
    expect(page.locator("[data-testid=preview-mark]")).to_have_count(0)
    expect(page.locator("[data-testid=copy-mark]")).to_have_count(0)
    expect(page.locator("[data-testid=note-reviewer]")).to_contain_text(quality.display_name)
    page.locator("[data-testid=record-print]").click()
    expect(page.locator("[data-testid=copy-mark]")).to_be_visible()
    screenshot("inventory-4-delivery-note-copy")
    assert Shipment.objects.get().delivery_note_prints == 2


def test_cancel_picking_puts_goods_back(page, rep, supervisor, logistics, customer, warehouse):
    product = f.ProductFactory()
    f.receive(product, warehouse, quantity=10, actor=logistics, lot_number="BACK-1")
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 4)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

    log_in(page, logistics)
    page.goto(f"/orders/{order.pk}/")
    expect(page.locator("[data-testid=shipment-progress] [data-shipment-status=picked]")).to_be_visible()
    page.goto(f"/shipments/{shipment.pk}/")
    page.locator("[data-action=cancel-picking]").click()
    form = page.locator("[data-testid=cancel-picking-form]")
    expect(form).to_be_visible()
    form.locator("textarea[name=cancel-reason]").fill("客户要求改期")
    page.locator("[data-testid=confirm-cancel-picking]").click()
    expect(page.locator("[data-testid=shipment-status] .status-badge")).to_have_attribute("data-status", "cancelled")
    expect(page.locator("[data-testid=picking-cancelled]")).to_contain_text("客户要求改期")

    order.refresh_from_db()
    assert order.status == "released"
    assert StockBalance.objects.get().on_hand == 10


def test_failed_review_comes_back_with_the_line_marked(page, rep, supervisor, logistics, quality, customer, warehouse):
    di = "0690123456789" + gtin_check_digit("0690123456789")
    other_di = "0690123456790" + gtin_check_digit("0690123456790")
    product = f.ProductFactory(udi_di=di)
    f.receive(product, warehouse, quantity=10, actor=logistics, lot_number="MARK-1")
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 3)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

    log_in(page, quality)
    page.goto(f"/shipments/{shipment.pk}/")
    row = page.locator("[data-testid=review-form] tr[data-review-line]")
    # Another product's barcode with this line's lot: the server blames the product, not the lot.
    wrong = f"(01){other_di}(10)MARK-1"
    row.locator("input[name$=scanned_code]").fill(wrong)
    row.locator("input[type=checkbox]").check()
    row.locator("input[name$=quantity]").fill("2")
    page.locator("[data-testid=confirm-review]").click()

    marked = page.locator("[data-testid=review-form] tr[data-failed]")
    expect(marked).to_have_count(1)
    expect(marked.locator("[data-line-reason]")).to_contain_text(other_di)
    expect(marked.locator("input[name$=scanned_code]")).to_have_value(wrong)
    expect(marked.locator("input[name$=quantity]")).to_have_value("2")
    expect(page.locator("[data-testid=review-line-reasons]")).to_contain_text(other_di)
    assert OutboundReview.objects.get().result == "failed"
    assert Shipment.objects.get().status == ShipmentStatus.PICKED
