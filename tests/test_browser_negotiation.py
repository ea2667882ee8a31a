"""A deal negotiated in Chromium: quotation → contract → review → activation → order, and the hand-over to logistics."""

import re

import pytest
from playwright.sync_api import expect

from dentalsales.notifications.models import Notification
from dentalsales.sales.models import Contract, ContractStatus, OrderStatus, Quotation, QuotationStatus, SalesOrder

from test_browser_flow import choose_option, log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CONTRACT_URL = re.compile(r"/orders/contracts/\d+/$")
PDF = b"%PDF-1.4\n% signed contract scan\n"


def status_badge(page):
    return page.locator("main .status-badge").first


def test_negotiation_to_contract_order(page, screenshot, rep, supervisor, logistics, customer, product, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"

    # (a) The representative quotes 30 units at the policy price and sends the quotation.
    log_in(page, rep)
    page.locator("[data-nav='sales:quotation_list']").click()
    page.locator("[data-testid=new-quotation]").click()
    choose_option(page, "customer", "bjkq", customer.name)
    choose_option(page, "lines-0-product", product.sku.lower(), product.name)
    page.locator("input[name='lines-0-quantity']").fill("30")
    page.locator("[data-testid=save-quotation]").click()
    quotation = Quotation.objects.get(customer=customer)
    expect(status_badge(page)).to_have_attribute("data-status", QuotationStatus.DRAFT)
    page.locator("[data-action=send]").click()
    # Bootstrap animates the collapse open; a click during the animation can miss the moving button.
    expect(page.locator("#send-form")).to_have_class(re.compile(r"\bshow\b"))
    page.locator("[data-testid=send-form] input[name='send-email']").fill("buyer@example.com")
    page.locator("[data-testid=confirm-send]").click()
    expect(status_badge(page)).to_have_attribute("data-status", QuotationStatus.SENT)

    # (b) The customer agrees: the quotation becomes a draft contract, which goes to review.
    page.locator("[data-action=accept-contract]").click()
    expect(page).to_have_url(CONTRACT_URL)
    contract = Contract.objects.get(quotation=quotation)
    assert contract.lines.get().quantity == 30
    page.locator("[data-action=submit]").click()
    expect(status_badge(page)).to_have_attribute("data-status", ContractStatus.UNDER_REVIEW)
    log_out(page)

    # (c) The supervisor approves it from the contract list.
    log_in(page, supervisor)
    page.locator("[data-nav='sales:contract_list']").click()
    page.locator(f"tr[data-contract='{contract.number}'] a").click()
    screenshot("1-supervisor-review")
    page.locator("[data-action=approve]").click()
    expect(status_badge(page)).to_have_attribute("data-status", ContractStatus.SIGNED)
    log_out(page)

    # (d) The representative attaches the counter-signed scan, activates the contract and orders 10 units.
    log_in(page, rep)
    page.goto(f"/orders/contracts/{contract.pk}/")
    page.locator("[data-testid=attach-form] input[type=file]").set_input_files(
        {"name": "signed.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.locator("[data-testid=attach-form] button[type=submit]").click()
    expect(page.locator("[data-testid=signed-copy-link]")).to_be_visible()
    page.locator("[data-action=activate]").click()
    expect(status_badge(page)).to_have_attribute("data-status", ContractStatus.ACTIVE)
    line = contract.lines.get()
    page.locator(f"input[name='quantity-{line.pk}']").fill("10")
    page.locator("[data-testid=create-order]").click()
    expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
    order = SalesOrder.objects.get(customer=customer)
    assert order.status == OrderStatus.DRAFT
    assert order.lines.get().unit_price == line.unit_price
    page.goto(f"/orders/contracts/{contract.pk}/")
    expect(page.locator("[data-testid=remaining]")).to_have_text("20")
    screenshot("2-contract-active")
    log_out(page)

    # (e) Logistics sees the hand-over in the bell and opens the read-only contract from it.
    assert Notification.objects.filter(recipient=logistics, link=f"/orders/contracts/{contract.pk}/").exists()
    log_in(page, logistics)
    expect(page.locator("[data-testid=notification-count]")).to_have_text(re.compile(r"^1"))
    page.locator("[data-testid=notification-bell]").click()
    page.locator("[data-testid=notification-list] button").first.click()
    expect(page).to_have_url(CONTRACT_URL)
    expect(page.locator("[data-testid=create-order]")).to_have_count(0)
    expect(page.locator("[data-action=approve]")).to_have_count(0)
    screenshot("3-logistics-read-only")

    # (f) The A4 print carries the total in Chinese capitals and the seal areas.
    page.goto(f"/orders/contracts/{contract.pk}/print/")
    expect(page.locator("[data-testid=total-in-capitals]")).to_contain_text("元")
    expect(page.locator("[data-testid=seal-area]")).to_contain_text(customer.name)
    screenshot("4-contract-print")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
