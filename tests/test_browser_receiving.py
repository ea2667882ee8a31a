"""The UDI scanner field in Chromium: receiving (stale fields, paste and Tab, unknown UDI-DI, expired registration) and review matching.

Selectors rely on form field names and data-* hooks, not on screen text.
Each test also checks the database where the page wrote to it.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import GoodsReceipt
from dentalsales.inventory.udi import gtin_check_digit
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

from test_browser_flow import log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECEIVE_URL = "/stock/receive/"


def gtin(body13):
    return body13 + gtin_check_digit(body13)


def yymmdd(day):
    return f"{day:%y%m%d}"


def day(offset):
    return local_today() + datetime.timedelta(days=offset)


def count_parse_requests(page):
    requests = []
    page.on("request", lambda request: requests.append(request) if "/udi/parse/" in request.url else None)
    return requests


def test_new_scan_clears_fields_it_does_not_carry(page, logistics, warehouse):
    first = f.ProductFactory(udi_di=gtin("0697555500005"))
    second = f.ProductFactory(udi_di=gtin("0697555500006"))
    log_in(page, logistics)
    page.goto(RECEIVE_URL)
    scanner = page.locator("input[name=udi]")

    scanner.fill(f"(01){first.udi_di}(11){yymmdd(day(-30))}(17){yymmdd(day(600))}(10)TR5B01(21)SER9")
    scanner.press("Enter")
    expect(page.locator("input[name=serial_number]")).to_have_value("SER9")
    expect(page.locator("input[name=production_date]")).to_have_value(day(-30).isoformat())
    scanner.fill(f"(01){second.udi_di}(17){yymmdd(day(900))}(10)TR6B01")
    scanner.press("Enter")

    expect(page.locator("select[name=product]")).to_have_value(str(second.pk))
    expect(page.locator("input[name=lot_number]")).to_have_value("TR6B01")
    expect(page.locator("input[name=serial_number]")).to_have_value("")
    expect(page.locator("input[name=production_date]")).to_have_value("")


def test_tab_suffix_and_paste_parse_once(page, logistics, warehouse):
    product = f.ProductFactory(udi_di=gtin("0697555500005"))
    log_in(page, logistics)
    page.goto(RECEIVE_URL)
    requests = count_parse_requests(page)
    scanner = page.locator("input[name=udi]")

    # A scanner that ends with Tab: the keydown parses, the blur that follows does not parse again.
    scanner.fill(f"(01){product.udi_di}(17){yymmdd(day(600))}(10)TAB01")
    scanner.press("Tab")
    expect(page.locator("input[name=lot_number]")).to_have_value("TAB01")
    page.wait_for_timeout(300)
    assert len(requests) == 1

    # A pasted barcode is parsed without Enter; leaving the field afterwards does not parse it again.
    scanner.evaluate(
        """(input, text) => {
             input.focus();
             input.dispatchEvent(new ClipboardEvent("paste", { bubbles: true, cancelable: true }));
             input.value = text;
             input.dispatchEvent(new Event("input", { bubbles: true }));
           }""",
        f"(01){product.udi_di}(17){yymmdd(day(600))}(10)PASTE01",
    )
    expect(page.locator("input[name=lot_number]")).to_have_value("PASTE01")
    page.locator("input[name=quantity]").click()
    page.wait_for_timeout(300)
    assert len(requests) == 2

    # A value typed by hand is parsed when the field loses focus.
    scanner.fill(f"(01){product.udi_di}(17){yymmdd(day(600))}(10)BLUR01")
    page.locator("input[name=quantity]").click()
    expect(page.locator("input[name=lot_number]")).to_have_value("BLUR01")
    page.wait_for_timeout(300)
    assert len(requests) == 3


def test_unknown_di_then_product_by_hand_receives_without_the_barcode(page, screenshot, logistics, warehouse):
    product = f.ProductFactory(udi_di=gtin("0697555500005"))
    unknown = gtin("0697555599999")
    log_in(page, logistics)
    page.goto(RECEIVE_URL)
    scanner = page.locator("input[name=udi]")
    feedback = page.locator("[data-udi-feedback]")

    scanner.fill(f"(01){unknown}(11){yymmdd(day(-10))}(17){yymmdd(day(600))}(10)UNK01")
    scanner.press("Enter")
    expect(feedback).to_have_attribute("data-udi-state", "warning")
    expect(page.locator("input[name=lot_number]")).to_have_value("UNK01")
    # Choosing the product by hand in the searchable select, as the warning advises.
    page.locator("select[name=product]").evaluate(
        """(select, option) => { select.tomselect.addOption(option); select.tomselect.setValue(option.id); }""",
        {"id": str(product.pk), "text": product.name},
    )

    expect(scanner).to_have_value("")
    expect(feedback).to_have_attribute("data-udi-state", "warning")
    screenshot("udi-cleared")
    page.locator("input[name=quantity]").fill("3")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    receipt = GoodsReceipt.objects.get()
    assert (receipt.lot.lot_number, receipt.lot.product, receipt.udi) == ("UNK01", product, "")


def test_expired_registration_is_an_error_at_scan_time(page, logistics, warehouse):
    product = f.ProductFactory(udi_di=gtin("0697555500005"), registration_valid_until=day(-1))
    log_in(page, logistics)
    page.goto(RECEIVE_URL)
    scanner = page.locator("input[name=udi]")

    scanner.fill(f"(01){product.udi_di}(17){yymmdd(day(600))}(10)EXP01")
    scanner.press("Enter")

    expect(page.locator("[data-udi-feedback]")).to_have_attribute("data-udi-state", "error")
    expect(page.locator("[data-udi-feedback]")).to_contain_text(product.registration_number)
    expect(scanner).to_have_class(re.compile("is-invalid"))


def test_review_scan_matches_product_and_lot(page, screenshot, rep, supervisor, logistics, quality, customer, warehouse):
    product = f.ProductFactory(udi_di=gtin("0697555500005"))
    other_di = gtin("0697555500006")
    f.receive(product, warehouse, quantity=10, actor=logistics, lot_number="RV01")
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 2)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")
    log_in(page, quality)
    page.goto(f"/shipments/{shipment.pk}/")
    row = page.locator("[data-testid=review-form] tr[data-review-line]")
    code = row.locator("input[name$=scanned_code]")
    checkbox = row.locator("input[type=checkbox]")
    result = row.locator("select[name$=result]")

    # Another product's GTIN with the line's lot does not pass.
    code.fill(f"(01){other_di}(10)RV01")
    code.press("Enter")
    expect(row).to_have_attribute("data-scan-match", "unmatched")
    expect(result).to_have_value("unmatched")
    expect(checkbox).to_be_checked()
    screenshot("other-gtin")

    # The line's own GTIN and lot pass.
    code.fill(f"(01){product.udi_di}(10)RV01")
    code.press("Enter")
    expect(row).to_have_attribute("data-scan-match", "ok")
    expect(result).to_have_value("ok")

    # A plain lot label ticks the line and shows the tick together.
    checkbox.uncheck()
    code.fill("RV01")
    code.press("Enter")
    expect(row).to_have_attribute("data-scan-match", "ok")
    expect(checkbox).to_be_checked()
    expect(row.locator("[data-udi-feedback]")).to_have_attribute("data-udi-state", "ok")
    log_out(page)
