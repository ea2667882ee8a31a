"""The recall flow in Chromium as the quality officer: scan a UDI barcode, open the recall, record a notification.

Selectors rely on form field names and data-* hooks, not on screen text,
because the Chinese catalogue may lag behind the templates. Each step also
checks the database.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import LotStatus
from dentalsales.quality.models import Recall, RecallStatus
from dentalsales.quality.tests.factories import ship
from dentalsales.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
RECALL_DETAIL_URL = re.compile(r"/quality/recalls/\d+/$")


def log_in(page, user):
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(f.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=current-user]")).to_contain_text(user.display_name)


@pytest.fixture
def shipped_lot(migration_rows):
    team = f.TeamFactory()
    supervisor = f.UserFactory(username="supervisor", roles=[Role.SUPERVISOR], team=team)
    team.supervisor = supervisor
    team.save()
    rep = f.UserFactory(username="rep", roles=[Role.REPRESENTATIVE], team=team)
    logistics = f.UserFactory(username="logistics", roles=[Role.LOGISTICS])
    quality = f.UserFactory(username="quality", first_name="敏", last_name="吴", roles=[Role.QUALITY_OFFICER])
    product = f.ProductFactory(udi_di="06901234567892", name="一次性使用根管锉")
    other = f.ProductFactory(name="藻酸盐印模材料")
    warehouse = f.WarehouseFactory()
    lot = f.receive(product, warehouse, quantity=40, actor=logistics, lot_number="A2503151", expiry_days=700).lot
    f.receive(other, warehouse, quantity=10, actor=logistics)
    customer = f.CustomerFactory(owner=rep, name="北京口腔医院", contact_name="王主任", contact_phone="010-1234 5678", min_shelf_life_days=30)
    ship(customer, [(product, 12)], reviewer=supervisor, logistics=logistics)
    return {"quality": quality, "product": product, "lot": lot, "customer": customer}


def test_recall_by_scanning_udi(page, shipped_lot, screenshot):
    quality, product, lot, customer = (shipped_lot[key] for key in ("quality", "product", "lot", "customer"))
    log_in(page, quality)
    page.locator("[data-nav='quality:recall_list']").click()
    page.locator("[data-testid=new-recall]").click()

    scan = page.locator("[data-testid=udi-scan]")
    scan.fill("(01)06901234567893(10)A2503151")
    scan.press("Enter")
    feedback = page.locator("[data-udi-feedback]")
    expect(feedback).to_have_attribute("data-udi-state", "error")
    expect(feedback).to_contain_text("06901234567893")
    expect(scan).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("select[name=product]")).to_have_value("")

    expiry = local_today() + datetime.timedelta(days=700)
    scan.fill(f"]C1010690123456789217{expiry:%y%m%d}10A2503151")
    scan.press("Enter")
    expect(feedback).to_have_attribute("data-udi-state", "ok")
    expect(page.locator("select[name=product]")).to_have_value(str(product.pk))
    expect(page.locator(f"#lot-{lot.pk}")).to_be_checked()

    page.locator("select[name=level]").select_option("1")
    page.locator("textarea[name=reason]").fill("生产企业通知：包装封口不严")
    screenshot("form")
    page.locator("[data-testid=save-recall]").click()
    expect(page).to_have_url(RECALL_DETAIL_URL)
    recall = Recall.objects.get()
    assert recall.status == RecallStatus.DRAFT
    assert list(recall.lots.all()) == [lot]

    page.locator("[data-action=open]").click()
    # Opening cannot be undone, so a confirmation page lists what it blocks first.
    expect(page.locator(f"[data-testid=confirm-customers] >> text={customer.name}")).to_be_visible()
    assert Recall.objects.get().status == RecallStatus.DRAFT
    page.locator("[data-testid=confirm-open]").click()
    row = page.locator(f"[data-testid=recall-customers] tr[data-customer='{customer.code}']")
    expect(row).to_contain_text("王主任")
    expect(row).to_contain_text("12")
    lot.refresh_from_db()
    assert lot.status == LotStatus.RECALLED

    row.locator("input[name=method]").fill("电话")
    row.locator("[data-action=notify]").click()
    expect(page.locator(f"tr[data-customer='{customer.code}'] [data-testid=notified-at]")).to_be_visible()
    screenshot("open")
    assert recall.customers.get().notification_method == "电话"
