"""A return and a complaint in Chromium: the representative requests, the supervisor approves, logistics receives.

Selectors rely on form field names and data-* hooks, not on screen text,
because the Chinese catalogue may lag behind the templates. Each step also
checks the database, so a page that only looks right does not pass.
"""

import re

import pytest
from playwright.sync_api import expect

from dentalsales.aftersales.models import Complaint, ReturnRequest, ReturnStatus
from dentalsales.aftersales.services import QUARANTINE_WAREHOUSE_CODE
from dentalsales.aftersales.tests.factories import ship
from dentalsales.inventory.models import StockBalance
from dentalsales.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RETURN_DETAIL_URL = re.compile(r"/aftersales/returns/\d+/$")
COMPLAINT_DETAIL_URL = re.compile(r"/aftersales/complaints/\d+/$")


def log_in(page, user):
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(f.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=current-user]")).to_contain_text(user.display_name)


def log_out(page):
    page.locator("nav form[action$='/accounts/logout/'] button[type=submit]").click()


def choose_option(page, select_name, typed, option_text):
    """Type into the Tom Select that replaces ``select[name=select_name]`` and pick the option showing ``option_text``."""
    select_id = page.locator(f"select[name='{select_name}']").first.get_attribute("id")
    search_input = page.locator(f"#{select_id}-ts-control")
    page.locator(".ts-control", has=search_input).click()
    search_input.press_sequentially(typed, delay=30)
    page.locator(f"#{select_id}-ts-dropdown .option", has_text=option_text).click()


def test_return_requested_approved_and_received(page, screenshot, rep, supervisor, logistics, customer, stocked_product):
    shipment = ship(rep=rep, supervisor=supervisor, logistics=logistics, customer=customer, lines=[(stocked_product, 10, "130.00")])
    line = shipment.lines.get()

    log_in(page, rep)
    page.locator("[data-nav='aftersales:return_list']").click()
    page.locator("[data-testid=new-return]").click()
    choose_option(page, "customer", "bjkq", customer.name)
    page.locator("[data-testid=show-shipments]").click()
    row = page.locator(f"[data-testid=returnable-lines] tr[data-line='{line.pk}']")
    expect(row.locator("[data-testid=returnable]")).to_have_text("10")
    row.locator(f"input[name='quantity-{line.pk}']").fill("11")
    page.locator("[data-testid=submit-return]").click()
    expect(page.locator("[data-testid=return-errors]")).to_contain_text("11")
    assert ReturnRequest.objects.count() == 0

    # A scanned GS1 barcode of the lot adds one unit to its line.
    row.locator(f"input[name='quantity-{line.pk}']").fill("2")
    page.locator("[data-testid=udi-scan]").fill(f"(17){line.expiry_date:%y%m%d}(10){line.lot_number}")
    page.locator("[data-testid=udi-scan]").press("Enter")
    expect(row.locator(f"input[name='quantity-{line.pk}']")).to_have_value("3")
    page.locator("[data-testid=udi-scan]").fill("(10)NOSUCHLOT")
    page.locator("[data-testid=udi-scan]").press("Enter")
    expect(page.locator("[data-udi-feedback]")).to_contain_text("NOSUCHLOT")
    expect(row.locator(f"input[name='quantity-{line.pk}']")).to_have_value("3")
    row.locator(f"select[name='reason-{line.pk}']").select_option("quality_defect")
    page.locator("input[name=kind][value=return]").check()
    page.locator("[data-testid=submit-return]").click()
    expect(page).to_have_url(RETURN_DETAIL_URL)
    request = ReturnRequest.objects.get()
    assert (request.status, request.lines.get().quantity) == (ReturnStatus.REQUESTED, 3)
    log_out(page)

    log_in(page, supervisor)
    page.goto(f"/aftersales/returns/{request.pk}/")
    page.locator("[data-action=approve]").click()
    expect(page.locator("[data-testid=return-actions] [data-action=approve]")).to_have_count(0)
    request.refresh_from_db()
    assert request.status == ReturnStatus.APPROVED
    log_out(page)

    log_in(page, logistics)
    page.locator("[data-nav='aftersales:return_list']").click()
    page.locator(f"tr[data-return='{request.number}'] a").click()
    # Two of the three units arrived: one goes to quarantine, the rest back to stock.
    line_id = request.lines.get().pk
    page.locator(f"input[name='quarantine-{line_id}']").fill("1")
    expect(page.locator(f"input[name='stock-{line_id}']")).to_have_value("2")
    page.locator(f"input[name='received-{line_id}']").fill("2")
    expect(page.locator(f"input[name='stock-{line_id}']")).to_have_value("1")
    page.locator(f"input[name='receipt-note-{line_id}']").fill("一盒未寄回")
    page.locator("[data-testid=confirm-receive]").click()
    expect(page.locator("[data-testid=credit-note]")).not_to_be_empty()
    expect(page.locator("[data-testid=credited-total]")).to_contain_text("260.00")
    screenshot("return-received")

    request.refresh_from_db()
    assert request.status == ReturnStatus.RECEIVED
    received = request.lines.get()
    assert (received.received_quantity, received.stock_quantity, received.quarantine_quantity) == (2, 1, 1)
    assert StockBalance.objects.get(warehouse__code=QUARANTINE_WAREHOUSE_CODE, lot=line.lot).on_hand == 1


def test_complaint_entered_and_resolved(page, screenshot, rep, customer):
    log_in(page, rep)
    page.locator("[data-nav='aftersales:complaint_list']").click()
    page.locator("[data-testid=new-complaint]").click()
    choose_option(page, "customer", "bjkq", customer.name)
    page.locator("select[name=channel]").select_option("phone_callback")
    page.locator("select[name=category]").select_option("delivery")
    page.locator("select[name=severity]").select_option("high")
    page.locator("textarea[name=description]").fill("快递外箱破损，两支印模材料渗漏。")
    page.locator("[data-testid=save-complaint]").click()
    expect(page).to_have_url(COMPLAINT_DETAIL_URL)
    complaint = Complaint.objects.get()
    assert complaint.severity == "high"

    page.locator("[data-action=resolve]").click()
    # Bootstrap animates the collapse open; a click during the animation can miss the moving button.
    expect(page.locator("#resolve-form")).to_have_class(re.compile(r"\bshow\b"))
    page.locator("textarea[name=resolve-resolution]").fill("已补发两支，并向物流公司索赔。")
    page.locator("[data-testid=confirm-resolve]").click()
    expect(page.locator("[data-testid=resolution]")).to_contain_text("已补发")
    page.locator("[data-action=close]").click()
    expect(page.locator("#close-form")).to_have_class(re.compile(r"\bshow\b"))
    page.locator("input[name=close-satisfaction_score]").fill("5")
    page.locator("[data-testid=confirm-close]").click()
    expect(page.locator("[data-testid=score]")).to_contain_text("5")
    screenshot("complaint-closed")

    complaint.refresh_from_db()
    assert (complaint.status, complaint.satisfaction_score) == ("closed", 5)
