"""The payment flow in Chromium as finance: receivables, a payment allocated by hand, the statement.

Selectors rely on form field names and data-* hooks, not on screen text,
because the Chinese catalogue may lag behind the templates. Each step also
checks the database.
"""

import datetime
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today
from dentalsales.finance.models import Payment, Receivable
from dentalsales.finance.tests.factories import make_receivable
from dentalsales.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PAYMENT_DETAIL_URL = re.compile(r"/finance/payments/\d+/$")


def log_in(page, user):
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(f.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=current-user]")).to_contain_text(user.display_name)


def choose_option(page, select_name, typed, option_text):
    select_id = page.locator(f"select[name='{select_name}']").get_attribute("id")
    search_input = page.locator(f"#{select_id}-ts-control")
    page.locator(".ts-control", has=search_input).click()
    search_input.press_sequentially(typed, delay=30)
    page.locator(f"#{select_id}-ts-dropdown .option", has_text=option_text).click()


@pytest.fixture
def balances(migration_rows):
    finance = f.UserFactory(username="finance", first_name="静", last_name="周", roles=[Role.FINANCE])
    rep = f.UserFactory(username="rep", roles=[Role.REPRESENTATIVE])
    customer = f.CustomerFactory(owner=rep, name="北京海淀口腔诊所", code="C90001")
    today = local_today()
    older = make_receivable(customer=customer, amount="1200.00", invoiced_on=today - datetime.timedelta(days=70))
    newer = make_receivable(customer=customer, amount="800.00", invoiced_on=today - datetime.timedelta(days=10))
    return {"finance": finance, "customer": customer, "older": older, "newer": newer}


def test_record_payment_by_hand_and_print_statement(page, balances, screenshot):
    finance, customer, older, newer = (balances[key] for key in ("finance", "customer", "older", "newer"))
    log_in(page, finance)

    page.locator("[data-nav='finance:receivable_list']").click()
    expect(page.locator(f"[data-receivable='{older.number}']")).to_be_visible()
    page.locator("[data-testid=new-payment]").click()

    choose_option(page, "customer", "bjhd", customer.name)
    expect(page.locator(f"input[name='allocate-{newer.pk}']")).to_be_visible()
    page.locator("select[name=method]").select_option("bank_transfer")
    page.locator("input[name=amount]").fill("1000.00")
    page.locator("input[name=reference]").fill("工行回单 000123")
    page.locator("input[name=allocation][value=manual]").check()
    page.locator(f"input[name='allocate-{newer.pk}']").fill("800.00")
    screenshot("payment-form")
    page.locator("[data-testid=save-payment]").click()

    expect(page).to_have_url(PAYMENT_DETAIL_URL)
    expect(page.locator("[data-figure=unapplied]")).to_contain_text("200.00")
    payment = Payment.objects.get()
    assert payment.unapplied_amount == Decimal("200.00")
    assert Receivable.objects.get(pk=newer.pk).open_amount == Decimal("0.00")
    assert Receivable.objects.get(pk=older.pk).open_amount == Decimal("1200.00")

    page.locator("[data-testid=apply-payment]").click()
    expect(page.locator("[data-figure=unapplied]")).to_contain_text("0.00")
    assert Receivable.objects.get(pk=older.pk).open_amount == Decimal("1000.00")

    page.goto(f"/finance/customers/{customer.pk}/statement/")
    expect(page.locator(f"[data-statement-entry='{payment.number}']")).to_be_visible()
    expect(page.locator("[data-statement-closing]")).to_contain_text("1,000.00")
    expect(page.locator("[data-figure=open_receivables]")).to_contain_text("1,000.00")
    screenshot("statement")

    page.goto(f"/finance/aging/")
    expect(page.locator("[data-aging-total]")).to_contain_text("1,000.00")
    screenshot("aging")


def test_import_opening_balances_with_preview(page, balances, screenshot, tmp_path):
    finance, customer = balances["finance"], balances["customer"]
    header = "客户编码,金额,发票号,开票日期,到期日,备注"
    bad = tmp_path / "期初应收.csv"
    bad.write_bytes("\n".join([header, "C90001,\"12,800.00\",FP-1,2026/1/5,,旧系统", "C99999,0,FP-2,2026-13-01,,"]).encode("gbk"))
    good = tmp_path / "期初应收-更正.csv"
    good.write_bytes("\n".join([header, "C90001,\"12,800.00\",FP-1,2026/1/5,,旧系统", "C90001,500.50,FP-2,2026-01-06,,"]).encode("gbk"))
    log_in(page, finance)

    page.locator("[data-nav='finance:opening_balance_list']").click()
    page.locator("[data-testid=import-opening-balances]").click()
    page.locator("input[name=file]").set_input_files(str(bad))
    page.locator("[data-testid=preview-import]").click()
    expect(page.locator("[data-import-row='3'] [data-problem-for=customer_code]")).to_be_visible()
    expect(page.locator("[data-import-row='3'] [data-problem-for=amount]")).to_be_visible()
    expect(page.locator("[data-import-row='3'] [data-problem-for=invoiced_on]")).to_be_visible()
    expect(page.locator("[data-testid=confirm-import]")).to_have_count(0)
    screenshot("opening-balance-preview")
    assert not Receivable.objects.filter(customer=customer, reference__startswith="FP-").exists()

    page.locator("input[name=file]").set_input_files(str(good))
    page.locator("[data-testid=preview-import]").click()
    page.locator("[data-testid=confirm-import]").click()

    expect(page.locator("[data-testid=opening-balance-table]")).to_contain_text("FP-2")
    assert sorted(Receivable.objects.filter(customer=customer).exclude(reference="").values_list("amount", flat=True)) == [
        Decimal("500.50"),
        Decimal("12800.00"),
    ]
    page.goto("/finance/aging/")
    expect(page.locator("[data-aging-column=not_due]")).to_be_visible()
    expect(page.locator("[data-testid=aging-basis-note]")).to_be_visible()
    screenshot("aging-by-due-date")
