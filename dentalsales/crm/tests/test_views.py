"""Screens of customer development: per-role visibility, 404 for another representative's records, exports, query counts."""

import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.core.timeutils import local_today
from dentalsales.crm import services
from dentalsales.crm.models import Activity, ExportLog, Gift, Prospect, RevisitPlan
from dentalsales.testing import factories as f

from .factories import ActivityFactory, ContactFactory, GiftFactory

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def days(n):
    return local_today() + datetime.timedelta(days=n)


def make_plans(owner, count, offset=-1):
    for _ in range(count):
        RevisitPlan.objects.create(customer=f.CustomerFactory(owner=owner), owner=owner, due_on=days(offset))


@pytest.mark.parametrize(
    "url_name",
    ["crm:prospect_list", "crm:activity_list", "crm:revisit_list", "crm:gift_list", "crm:conversion_report", "crm:visit_report", "crm:gift_report"],
)
def test_pages_render_for_each_role(url_name, rep, supervisor, manager, finance, logistics, quality):
    for user in (rep, supervisor, manager):
        response = client_for(user).get(reverse(url_name))
        assert response.status_code == 200, (user.username, response.status_code)
    # Roles without the customer-development menu get 403, not an empty page.
    for user in (finance, logistics, quality):
        response = client_for(user).get(reverse(url_name))
        assert response.status_code == 403, (user.username, response.status_code)


def test_chinese_page(rep, chinese_default):
    response = client_for(rep).get(reverse("crm:revisit_list"))

    assert response.status_code == 200
    assert 'lang="zh-hans"' in response.content.decode()


def test_other_reps_records_answer_404(rep, rep2):
    customer = f.CustomerFactory(owner=rep)
    prospect = services.create_prospect(actor=rep, source="web", name="某口腔", customer_type="clinic")
    activity = ActivityFactory(customer=customer)
    gift = GiftFactory(customer=customer)
    client = client_for(rep2)

    for url in (
        reverse("crm:prospect_detail", args=[prospect.pk]),
        reverse("crm:activity_detail", args=[activity.pk]),
        reverse("crm:activity_edit", args=[activity.pk]),
        reverse("crm:gift_detail", args=[gift.pk]),
        reverse("crm:activity_create") + f"?customer={customer.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("crm:gift_action", args=[gift.pk, "give"])).status_code == 404


def test_supervisor_sees_team_record(rep, supervisor):
    activity = ActivityFactory(customer=f.CustomerFactory(owner=rep))

    response = client_for(supervisor).get(reverse("crm:activity_detail", args=[activity.pk]))

    assert response.status_code == 200
    assert b'data-testid="amend-form"' in response.content


def test_list_shows_only_visible_rows(rep, rep2, manager):
    mine = ActivityFactory(customer=f.CustomerFactory(owner=rep), subject="我的拜访")
    ActivityFactory(customer=f.CustomerFactory(owner=rep2), subject="别人的拜访")

    content = client_for(rep).get(reverse("crm:activity_list")).content.decode()
    assert "我的拜访" in content
    assert "别人的拜访" not in content
    assert f'data-activity="{mine.pk}"' in content
    assert "别人的拜访" in client_for(manager).get(reverse("crm:activity_list")).content.decode()


def test_prospect_created_through_form(rep):
    response = client_for(rep).post(reverse("crm:prospect_create"), {
        "name": "成都高新口腔门诊部", "customer_type": "clinic", "source": "exhibition", "source_detail": "2026 西部口腔展",
    })

    prospect = Prospect.objects.get()
    assert response.status_code == 302
    assert prospect.customer.category == "potential"
    assert prospect.source_detail == "2026 西部口腔展"


def test_prospect_form_shows_service_error(rep):
    response = client_for(rep).post(reverse("crm:prospect_create"), {
        "name": "成都高新口腔门诊部", "customer_type": "clinic", "source": "web", "uscc": "ABC",
    })

    assert response.status_code == 200
    assert "ABC" in response.content.decode()
    assert not Prospect.objects.exists()


def test_stage_change_and_conversion_through_screen(rep):
    prospect = services.create_prospect(actor=rep, source="web", name="某口腔", customer_type="clinic")
    client = client_for(rep)
    url = reverse("crm:prospect_stage", args=[prospect.pk])

    client.post(url, {"stage": "contacted"})
    client.post(url, {"action": "convert", "reason": "签约"})

    prospect.refresh_from_db()
    assert prospect.stage == "won"
    page = client.get(reverse("crm:prospect_detail", args=[prospect.pk])).content.decode()
    assert page.count("<tr><td class=\"text-nowrap\">") == 3


def test_activity_save_and_submit_then_locked(rep, customer):
    contact = ContactFactory(customer=customer)
    client = client_for(rep)

    response = client.post(reverse("crm:activity_create") + f"?customer={customer.pk}", {
        "customer": customer.pk, "kind": "visit", "occurred_on": days(-1).isoformat(), "subject": "新品演示",
        "contacts": [contact.pk], "outcome": "试用", "submit": "1",
    })

    activity = Activity.objects.get()
    assert response.status_code == 302
    assert activity.status == "submitted"
    edit = client.get(reverse("crm:activity_edit", args=[activity.pk]))
    assert edit.status_code == 302
    response = client.post(reverse("crm:activity_amend", args=[activity.pk]), {"reason": "补充", "outcome": "试用两周"})
    assert response.status_code == 302
    assert activity.amendments.count() == 1


def test_gift_flow_through_screens(rep, supervisor, customer):
    contact = ContactFactory(customer=customer)
    rep_client = client_for(rep)
    rep_client.post(reverse("crm:gift_create") + f"?customer={customer.pk}", {
        "customer": customer.pk, "recipient": contact.pk, "kind": "hospitality", "description": "学术晚宴",
        "value": "1200", "given_on": local_today().isoformat(), "purpose": "新品推介",
    })
    gift = Gift.objects.get()

    rep_client.post(reverse("crm:gift_action", args=[gift.pk, "give"]))
    gift.refresh_from_db()
    assert gift.status == "draft"
    rep_client.post(reverse("crm:gift_action", args=[gift.pk, "request"]))
    client_for(supervisor).post(reverse("crm:gift_action", args=[gift.pk, "approve"]), {"reason": ""})
    rep_client.post(reverse("crm:gift_action", args=[gift.pk, "give"]))
    gift.refresh_from_db()
    assert gift.status == "given"


def test_customer_page_shows_gift_total(rep, customer):
    GiftFactory(customer=customer, value="88.00")

    content = client_for(rep).get(reverse("customers:detail", args=[customer.pk])).content.decode()

    assert 'data-testid="gift-totals"' in content
    assert "88.00" in content


def test_revisit_export_logged(rep, rep2):
    make_plans(rep, 2)
    make_plans(rep2, 1)

    response = client_for(rep).get(reverse("crm:revisit_list"), {"state": "overdue", "export": "xlsx"})

    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 3
    log = ExportLog.objects.get()
    assert (log.user, log.list_name, log.row_count, log.filters) == (rep, "revisits", 2, {"state": "overdue"})


@pytest.mark.parametrize("count", [3, 30])
def test_revisit_list_query_count_fixed(rep, count, django_assert_max_num_queries):
    make_plans(rep, count)
    client = client_for(rep)
    client.get(reverse("crm:revisit_list"))  # warms the session and user caches

    with django_assert_max_num_queries(9):
        response = client.get(reverse("crm:revisit_list"))
    assert response.content.decode().count("data-revisit=") == count


@pytest.mark.parametrize("count", [3, 30])
def test_activity_and_gift_lists_query_count_fixed(rep, count, django_assert_max_num_queries):
    customer = f.CustomerFactory(owner=rep)
    for _ in range(count):
        ActivityFactory(customer=customer)
        GiftFactory(customer=customer)
    client = client_for(rep)
    client.get(reverse("crm:activity_list"))

    with django_assert_max_num_queries(8):
        client.get(reverse("crm:activity_list"))
    with django_assert_max_num_queries(8):
        client.get(reverse("crm:gift_list"))
    with django_assert_max_num_queries(8):
        client.get(reverse("crm:prospect_list"))


def test_finance_sees_no_activities_or_gifts(finance, rep):
    customer = f.CustomerFactory(owner=rep)
    activity = ActivityFactory(customer=customer, subject="拜访记录")
    gift = GiftFactory(customer=customer)
    client = client_for(finance)

    assert client.get(reverse("crm:activity_list")).status_code == 403
    assert client.get(reverse("crm:activity_detail", args=[activity.pk])).status_code == 403
    assert client.get(reverse("crm:gift_detail", args=[gift.pk])).status_code == 403


def test_dashboard_counts_overdue_revisits_and_gifts(rep, supervisor):
    make_plans(rep, 2, offset=-3)
    make_plans(rep, 1, offset=2)
    gift = GiftFactory(customer=f.CustomerFactory(owner=rep), status="requested", value="900.00")

    rep_page = client_for(rep).get(reverse("home")).content.decode()
    supervisor_page = client_for(supervisor).get(reverse("home")).content.decode()

    assert reverse("crm:revisit_list") + "?state=overdue" in rep_page
    assert "Gifts waiting for approval" not in rep_page
    assert "Gifts waiting for approval" in supervisor_page
    assert gift.status == "requested"
