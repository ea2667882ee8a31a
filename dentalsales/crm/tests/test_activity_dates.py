"""Activities: next step date against the activity date, the submitted message, list date filters, agreed revisit dates."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today
from dentalsales.crm import services
from dentalsales.crm.models import Activity, RevisitInterval, RevisitPlan

from .factories import ActivityFactory

pytestmark = pytest.mark.django_db


def days(n):
    return local_today() + datetime.timedelta(days=n)


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def record(actor, customer, submit=False, **fields):
    values = {"kind": "visit", "occurred_on": days(-1), "subject": "拜访院长"}
    values.update(fields)
    return services.create_activity(actor=actor, customer=customer, submit=submit, **values)


def test_next_step_before_activity_date_is_refused_naming_both(rep, customer):
    with pytest.raises(InvalidInput) as error:
        record(rep, customer, occurred_on=days(-4), next_step_on=days(-30), submit=True)

    assert error.value.field == "next_step_on"
    assert days(-4).isoformat() in str(error.value)
    assert days(-30).isoformat() in str(error.value)
    assert not Activity.objects.exists()


def test_changing_the_date_of_a_draft_after_its_next_step_is_refused(rep, customer):
    activity = record(rep, customer, occurred_on=days(-5), next_step_on=days(-2))

    with pytest.raises(InvalidInput):
        services.update_activity(actor=rep, activity=activity, occurred_on=days(-1))


def test_api_refuses_next_step_before_date(api, rep, customer):
    response = api(rep).post("/api/v1/activities/", {
        "customer": customer.pk, "kind": "visit", "occurred_on": days(-1).isoformat(), "subject": "拜访",
        "next_step_on": days(-10).isoformat(),
    }, format="json")

    assert response.status_code == 400
    assert days(-10).isoformat() in str(response.data)


def test_save_and_submit_says_the_report_is_locked(rep, customer):
    url = reverse("crm:activity_create") + f"?customer={customer.pk}"
    data = {"kind": "visit", "occurred_on": days(-1).isoformat(), "subject": "拜访", "submit": "1"}

    response = client_for(rep).post(url, data, follow=True)

    assert Activity.objects.get().status == "submitted"
    assert "Activity submitted; the report is now locked." in [str(m) for m in get_messages(response.wsgi_request)]


def test_save_as_draft_says_saved(rep, customer):
    url = reverse("crm:activity_create") + f"?customer={customer.pk}"

    response = client_for(rep).post(url, {"kind": "visit", "occurred_on": days(-1).isoformat(), "subject": "拜访"}, follow=True)

    assert "Activity saved." in [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("date_from=2026-12-31&date_to=2026-01-01", ["2026-12-31", "2026-01-01"]),
        ("date_from=abc", ["abc"]),
        ("date_to=2026-02-30", ["2026-02-30"]),
    ],
)
def test_impossible_date_filters_are_refused_naming_values(rep, customer, query, named):
    ActivityFactory(customer=customer, subject="可见的拜访")

    response = client_for(rep).get(reverse("crm:activity_list") + "?" + query)

    page = response.content.decode()
    assert response.status_code == 200
    assert "可见的拜访" not in page
    for value in named:
        assert value in page


def test_valid_date_filter_still_lists(rep, customer):
    ActivityFactory(customer=customer, subject="可见的拜访", occurred_on=days(-1))

    page = client_for(rep).get(reverse("crm:activity_list"), {"date_from": days(-3).isoformat(), "date_to": days(0).isoformat()})

    assert "可见的拜访" in page.content.decode()


@pytest.fixture
def intervals(db):
    RevisitInterval.objects.update_or_create(key="C", defaults={"days": 60})


def test_agreed_next_step_sets_revisit_due_date(rep, customer, intervals):
    customer.grade = "C"
    customer.save()

    visit = record(rep, customer, occurred_on=days(-2), next_step_on=days(12), next_step="两周后回访", submit=True)
    # A later phone call that does not reach the agreed day keeps it.
    record(rep, customer, kind="phone", occurred_on=days(-1), submit=True)

    plan = RevisitPlan.objects.get(customer=customer, status="open")
    assert plan.due_on == days(12)
    assert plan.agreed_in == visit


def test_agreed_date_later_than_grade_interval_does_not_postpone(rep, customer, intervals):
    customer.grade = "C"
    customer.save()

    record(rep, customer, occurred_on=days(-1), next_step_on=days(200), submit=True)

    plan = RevisitPlan.objects.get(customer=customer, status="open")
    assert plan.due_on == days(59)
    assert plan.agreed_in is None


def test_email_with_earlier_next_step_brings_plan_forward(rep, customer, intervals):
    customer.grade = "C"
    customer.save()
    record(rep, customer, occurred_on=days(-3), submit=True)

    email = record(rep, customer, kind="email", occurred_on=days(-1), next_step_on=days(3), submit=True)

    plan = RevisitPlan.objects.get(customer=customer, status="open")
    assert (plan.due_on, plan.agreed_in) == (days(3), email)


def test_agreed_due_date_shows_in_revisit_list(rep, customer, intervals):
    customer.grade = "C"
    customer.save()
    record(rep, customer, occurred_on=days(-2), next_step_on=days(1), submit=True)

    page = client_for(rep).get(reverse("crm:revisit_list")).content.decode()
    body = client_for(rep).get("/api/v1/revisit-plans/").json()

    assert days(1).strftime("%Y-%m-%d") in page
    assert 'data-testid="agreed-next-step"' in page
    assert [row["due_on"] for row in body["results"]] == [days(1).isoformat()]
