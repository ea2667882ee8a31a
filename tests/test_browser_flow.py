"""The order-to-shipment flow in Chromium, as the representative, the supervisor and logistics.

Selectors rely on form field names and data-* hooks, not on screen text,
because the Chinese catalogue may lag behind the templates. Each step also
checks the database, so a page that only looks right does not pass.
"""

import datetime
import re
from pathlib import Path

import pytest
from django.db.models import Sum
from playwright.sync_api import expect

from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import GoodsReceipt, Lot, Shipment, StockBalance, StockLedgerEntry
from dentalsales.sales.models import OrderStatus, SalesOrder
from dentalsales.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACT_DIR = Path(__file__).resolve().parent.parent / "test-artifacts"
LOGIN_URL = re.compile(r"/accounts/login/")
ORDER_DETAIL_URL = re.compile(r"/orders/\d+/$")


# -- helpers ------------------------------------------------------------------


def log_in(page, user):
    """Sign in through the login form and wait for the signed-in layout."""
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(f.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=current-user]")).to_contain_text(user.display_name)


def log_out(page):
    page.locator("nav form[action$='/accounts/logout/'] button[type=submit]").click()
    expect(page).to_have_url(LOGIN_URL)


def choose_option(page, select_name, typed, option_text):
    """Type ``typed`` into the Tom Select that replaces ``select[name=select_name]`` and pick the option showing ``option_text``."""
    select_id = page.locator(f"select[name='{select_name}']").get_attribute("id")
    search_input = page.locator(f"#{select_id}-ts-control")
    # With the blank option chosen, Tom Select moves its input off-screen, so click the box around it as a user does.
    page.locator(".ts-control", has=search_input).click()
    search_input.press_sequentially(typed, delay=30)
    page.locator(f"#{select_id}-ts-dropdown .option", has_text=option_text).click()


def enter_order(page, customer, product, quantity):
    """Fill the order entry screen with one line and save it as a draft. The caller checks the outcome."""
    page.locator("[data-nav='sales:order_list']").click()
    page.locator("[data-testid=new-order]").click()
    choose_option(page, "customer", "bjkq", customer.name)
    expect(page.locator("select[name=customer]")).to_have_value(str(customer.pk))
    page.locator("select[name=channel]").select_option("phone")
    choose_option(page, "lines-0-product", product.sku.lower(), product.name)
    expect(page.locator("select[name='lines-0-product']")).to_have_value(str(product.pk))
    page.locator("input[name='lines-0-quantity']").fill(str(quantity))
    page.locator("[data-testid=save-order]").click()


def order_status_badge(page):
    return page.locator("main .status-badge").first


def open_order_from_list(page, order):
    page.locator("[data-nav='sales:order_list']").click()
    page.locator(f"tr[data-order='{order.number}'] a").click()
    expect(page).to_have_url(ORDER_DETAIL_URL)


# -- fixtures -----------------------------------------------------------------


@pytest.fixture
def shelf_life_customer(rep):
    """A customer of ``rep`` with a valid practice licence, needing 180 days of shelf life."""
    return f.CustomerFactory(owner=rep, min_shelf_life_days=180)


@pytest.fixture
def two_lot_product(warehouse, logistics):
    """A product with lot A (5 units, 200 days left) and lot B (50 units, 600 days left)."""
    product = f.ProductFactory(manufacturer="上海齿科材料有限公司", registration_number="沪械注准20202170123")
    f.receive(product, warehouse, quantity=5, actor=logistics, expiry_days=200, lot_number="A2405")
    f.receive(product, warehouse, quantity=50, actor=logistics, expiry_days=600, lot_number="B2411")
    return product


# -- tests --------------------------------------------------------------------


def test_order_to_shipment_flow(page, screenshot, rep, supervisor, logistics, shelf_life_customer, two_lot_product):
    customer, product = shelf_life_customer, two_lot_product
    today = local_today()
    expiry_a = (today + datetime.timedelta(days=200)).isoformat()
    expiry_b = (today + datetime.timedelta(days=600)).isoformat()

    # (a) The representative enters the order on the Chinese screens and submits it.
    page.goto("/accounts/login/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    log_in(page, rep)
    enter_order(page, customer, product, 8)
    expect(page).to_have_url(ORDER_DETAIL_URL)
    order = SalesOrder.objects.get(customer=customer)
    assert order.channel == "phone"
    assert [(line.product_id, line.quantity) for line in order.lines.all()] == [(product.pk, 8)]
    expect(order_status_badge(page)).to_have_attribute("data-status", OrderStatus.DRAFT)
    page.locator("[data-action=submit]").click()
    expect(order_status_badge(page)).to_have_attribute("data-status", OrderStatus.SUBMITTED)
    screenshot("1-rep-submitted")
    log_out(page)

    # (b) The supervisor finds it in the review queue, checks that every check passed and approves.
    log_in(page, supervisor)
    page.locator("[data-nav='sales:review_queue']").click()
    page.locator(f"tr[data-order='{order.number}'] a").click()
    checks = page.locator("[data-testid=review-checks] [data-check]")
    expect(checks).to_have_count(6)
    for index in range(6):
        expect(checks.nth(index)).to_have_attribute("data-passed", "true")
    screenshot("2-supervisor-review")
    page.locator("[data-testid=approve-form] button[type=submit]").click()
    expect(order_status_badge(page)).to_have_attribute("data-status", OrderStatus.APPROVED)
    log_out(page)

    # (c) Logistics releases it: lot A, expiring first, is allocated before lot B. Then logistics ships.
    log_in(page, logistics)
    open_order_from_list(page, order)
    page.locator("[data-action=release]").click()
    expect(order_status_badge(page)).to_have_attribute("data-status", OrderStatus.RELEASED)
    allocations = page.locator("[data-testid=allocations] tbody tr")
    expect(allocations).to_have_count(2)
    expect(allocations.nth(0).locator("td").nth(1)).to_have_text("A2405")
    expect(allocations.nth(0).locator("td").nth(2)).to_have_text(expiry_a)
    expect(allocations.nth(0).locator("td").nth(4)).to_have_text("5")
    expect(allocations.nth(1).locator("td").nth(1)).to_have_text("B2411")
    expect(allocations.nth(1).locator("td").nth(2)).to_have_text(expiry_b)
    expect(allocations.nth(1).locator("td").nth(4)).to_have_text("3")
    page.locator("[data-action=ship]").click()
    # Bootstrap animates the collapse open; a click during the animation can miss the moving button.
    expect(page.locator("#ship-form")).to_have_class(re.compile(r"\bshow\b"))
    page.locator("input[name=carrier]").fill("顺丰速运")
    page.locator("input[name=waybill_number]").fill("SF1234567890")
    page.locator("[data-testid=confirm-ship]").click()
    expect(order_status_badge(page)).to_have_attribute("data-status", OrderStatus.SHIPPED)
    shipment_row = page.locator("[data-testid=shipments] tbody tr")
    expect(shipment_row).to_have_count(1)
    expect(shipment_row).to_contain_text("顺丰速运")
    expect(shipment_row).to_contain_text("SF1234567890")
    screenshot("3-logistics-shipped")

    # (d) The delivery note carries what GSP requires for each lot.
    page.locator("[data-testid=delivery-note]").click()
    note_lines = page.locator("[data-testid=note-lines] tr[data-line]")
    expect(note_lines).to_have_count(2)
    expect(page.locator("dl.meta")).to_contain_text(customer.name)
    expect(page.locator("dl.meta")).to_contain_text("SF1234567890")
    for lot_number, expiry, quantity in [("A2405", expiry_a, "5"), ("B2411", expiry_b, "3")]:
        cells = note_lines.filter(has_text=lot_number).locator("td")
        expect(cells.nth(1)).to_have_text(product.name)
        expect(cells.nth(3)).to_have_text("沪械注准20202170123")
        expect(cells.nth(4)).to_have_text("上海齿科材料有限公司")
        # Column 5 holds the manufacturer's licence or record number.
        expect(cells.nth(6)).to_have_text(lot_number)
        expect(cells.nth(8)).to_have_text(expiry)
        expect(cells.nth(9)).to_have_text(quantity)
    expect(page.locator("[data-testid=total-quantity]")).to_have_text("8")
    screenshot("4-delivery-note")
    ARTIFACT_DIR.mkdir(parents=True, exist_ok=True)
    page.pdf(path=ARTIFACT_DIR / "delivery-note.pdf", format="A4", print_background=True)

    order.refresh_from_db()
    assert order.status == OrderStatus.SHIPPED
    shipment = Shipment.objects.get(order=order)
    assert shipment.lines.count() == 2
    assert shipment.carrier == "顺丰速运"
    assert shipment.waybill_number == "SF1234567890"
    balances = StockBalance.objects.filter(lot__product=product)
    assert balances.aggregate(total=Sum("on_hand"))["total"] == 47
    assert balances.get(lot__lot_number="A2405").on_hand == 0
    assert balances.get(lot__lot_number="B2411").on_hand == 47
    assert StockLedgerEntry.objects.filter(lot__product=product).aggregate(total=Sum("quantity"))["total"] == 47
    # Last, because it needs the Chinese catalogue: the note's title is the GSP term.
    expect(page.locator("[data-testid=note-title]")).to_have_text("随货同行单")


def test_reject_with_reason(page, screenshot, rep, supervisor, customer, stocked_product):
    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 2)])
    reason = "请先确认客户的收货地址。"

    log_in(page, rep)
    page.goto(f"/orders/{order.pk}/")
    page.locator("[data-action=submit]").click()
    expect(order_status_badge(page)).to_have_attribute("data-status", OrderStatus.SUBMITTED)
    log_out(page)

    log_in(page, supervisor)
    page.locator("[data-nav='sales:review_queue']").click()
    page.locator(f"tr[data-order='{order.number}'] a").click()
    page.locator("[data-testid=reject-form] textarea[name='reject-reason']").fill(reason)
    page.locator("[data-testid=reject-form] button[type=submit]").click()
    expect(order_status_badge(page)).to_have_attribute("data-status", OrderStatus.REJECTED)
    log_out(page)

    log_in(page, rep)
    open_order_from_list(page, order)
    expect(order_status_badge(page)).to_have_attribute("data-status", OrderStatus.REJECTED)
    expect(page.locator("[data-testid=rejection-reason]")).to_contain_text(reason)
    expect(page.locator("[data-action=edit]")).to_be_visible()
    screenshot("rep-sees-rejection")
    order.refresh_from_db()
    assert order.status == OrderStatus.REJECTED
    assert order.rejection_reason == reason


def test_bad_input_shown_beside_field(page, screenshot, rep, logistics, customer, product, warehouse):
    # A quantity of 0 is rejected beside the quantity and no order is created.
    log_in(page, rep)
    enter_order(page, customer, product, 0)
    quantity_cell = page.locator("td", has=page.locator("input[name='lines-0-quantity']"))
    expect(quantity_cell.locator("[data-error-for='lines-0-quantity']")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/orders/new/$"))
    screenshot("order-quantity-0")
    assert SalesOrder.objects.count() == 0
    log_out(page)

    # An expiry date before the production date is rejected beside the expiry date and nothing is received.
    log_in(page, logistics)
    page.locator("[data-nav='inventory:receive']").click()
    choose_option(page, "product", product.sku.lower(), product.name)
    expect(page.locator("select[name=warehouse]")).to_have_value(str(warehouse.pk))
    page.locator("input[name=lot_number]").fill("X9999")
    page.locator("input[name=production_date]").fill("2025-06-01")
    page.locator("input[name=expiry_date]").fill("2025-05-01")
    page.locator("input[name=quantity]").fill("10")
    page.locator("main form button[type=submit]").click()
    expiry_field = page.locator("main form .mb-3", has=page.locator("input[name=expiry_date]"))
    expect(expiry_field.locator("[data-error-for=expiry_date]")).to_be_visible()
    screenshot("receive-expiry-before-production")
    assert Lot.objects.filter(product=product).count() == 0
    assert GoodsReceipt.objects.count() == 0
    assert StockLedgerEntry.objects.count() == 0


def test_english_can_be_selected(page, screenshot, rep):
    log_in(page, rep)
    assert page.locator("html").get_attribute("lang") == "zh-hans"

    page.locator("nav select[name=language]").select_option("en")

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("[data-nav='home']")).to_have_text("Dashboard")
    expect(page.locator("[data-nav='customers:list']")).to_have_text("Customers")
    expect(page.locator("[data-nav='sales:order_list']")).to_have_text("Sales orders")
    expect(page.locator("[data-nav='inventory:shipment_list']")).to_have_text("Shipments")
    # The choice sticks on the next page.
    page.locator("[data-nav='sales:order_list']").click()
    expect(page).to_have_url(re.compile(r"/orders/$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav select[name=language]")).to_have_value("en")
    screenshot("english")
