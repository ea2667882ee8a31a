"""Customer development in Chromium: a representative records an overdue revisit, and imports a messy GBK CSV.

Selectors rely on form field names and data-* hooks, not on screen text,
and each step also checks the database.
"""

import datetime

import pytest
from playwright.sync_api import expect

from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today
from dentalsales.crm.models import Activity, ImportJob, RevisitPlan
from dentalsales.customers.models import Contact, Customer
from dentalsales.testing import factories as f

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, user):
    page.goto("/accounts/login/")
    page.locator("input[name=username]").fill(user.username)
    page.locator("input[name=password]").fill(f.PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("[data-testid=current-user]")).to_contain_text(user.display_name)


@pytest.fixture
def representative(migration_rows):
    team = f.TeamFactory()
    supervisor = f.UserFactory(username="supervisor", roles=[Role.SUPERVISOR], team=team)
    team.supervisor = supervisor
    team.save()
    return f.UserFactory(username="rep", last_name="张", first_name="伟", roles=[Role.REPRESENTATIVE], team=team)


def test_record_overdue_revisit(page, representative, screenshot):
    customer = f.CustomerFactory(owner=representative, name="北京朝阳欣悦口腔诊所")
    contact = Contact.objects.create(customer=customer, name="王院长", title="院长", mobile="13912345678")
    RevisitPlan.objects.create(customer=customer, owner=representative, due_on=local_today() - datetime.timedelta(days=5))
    log_in(page, representative)

    # The menu may group its entries, so the test checks the entry and opens its address directly.
    expect(page.locator("[data-nav='crm:revisit_list']")).to_have_count(1)
    page.goto("/crm/revisits/")
    row = page.locator(f"[data-revisit='{customer.code}']")
    expect(row).to_be_visible()
    screenshot("revisits")
    row.locator("a.btn").click()

    page.locator("select[name=kind]").select_option("visit")
    page.locator("input[name=occurred_on]").fill((local_today() - datetime.timedelta(days=1)).isoformat())
    page.locator("input[name=subject]").fill("季度回访，介绍新品树脂")
    page.locator("select[name=contacts]").select_option(str(contact.pk))
    page.locator("textarea[name=outcome]").fill("院长同意试用两周")
    page.locator("[data-testid=save-submit]").click()

    expect(page.locator("[data-testid=activity-status] [data-status=submitted]")).to_be_visible()
    expect(page.locator("[data-testid=amend-form]")).to_be_visible()
    screenshot("submitted")
    activity = Activity.objects.get()
    assert (activity.status, list(activity.contacts.all())) == ("submitted", [contact])
    assert RevisitPlan.objects.get(customer=customer, status="done").activity == activity

    page.goto("/crm/revisits/")
    expect(page.locator("[data-testid=revisit-table]")).to_be_visible()
    expect(page.locator(f"[data-revisit='{customer.code}']")).to_have_count(0)


def test_import_messy_gbk_csv(page, representative, screenshot, tmp_path):
    f.CustomerFactory(owner=representative, name="成都锦江贝瑞口腔门诊部", code="CD-001")
    rows = ["客户编码,客户名称,客户类型,区域,联系电话,统一社会信用代码"]
    rows += [f"N{i:03d},成都高新口腔诊所{i},口腔诊所,510107,028-8555{i:04d}," for i in range(1, 31)]
    rows += [
        "N900,成都锦江 贝瑞口腔门诊部,口腔诊所,,,",      # duplicate by normalised name
        "N901,成都高新口腔诊所1,口腔诊所,,,",             # duplicate of an earlier row
        "N902,成都某诊所,牙科超市,火星区,1380013,91510104ABC",  # bad type, region, phone and code
    ]
    path = tmp_path / "客户导入.csv"
    path.write_bytes("\n".join(rows).encode("gbk"))
    log_in(page, representative)

    page.goto("/customers/")
    page.locator("[data-testid=import]").click()
    page.locator("[data-testid=import-customers]").click()
    page.locator("input[name=file]").set_input_files(str(path))
    page.locator("[data-testid=import-upload]").click()

    expect(page.locator("[data-testid=import-summary]")).to_contain_text("33")
    expect(page.locator("[data-testid=import-preview] tr[data-row]")).to_have_count(3)
    screenshot("preview")
    assert Customer.objects.count() == 1

    page.locator("input[name=mode][value=valid_only]").check()
    page.locator("[data-testid=import-commit]").click()
    expect(page.locator("[data-testid=import-done]")).to_be_visible()
    screenshot("done")
    job = ImportJob.objects.get()
    assert (len(job.imported_rows), len(job.skipped_rows)) == (30, 3)
    assert Customer.objects.filter(code__startswith="N").count() == 30
    assert Customer.objects.get(code="N001").contact_phone == "028-85550001"
    assert page.locator("[data-testid=import-report]").get_attribute("href") == f"/customers/import/{job.pk}/report/"
