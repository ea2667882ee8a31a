import datetime
import io

import pytest
from django.core.management import call_command

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.crm import selectors, services
from dentalsales.crm.models import RevisitInterval, RevisitPlan
from dentalsales.notifications.models import Notification
from dentalsales.testing import factories as f

from .factories import ActivityFactory, ContactFactory

pytestmark = pytest.mark.django_db

def days(n):
    return local_today() + datetime.timedelta(days=n)


def record(actor, customer, **fields):
    values = {"kind": "visit", "occurred_on": days(-1), "subject": "拜访院长"}
    values.update(fields)
    return services.create_activity(actor=actor, customer=customer, **values)


def test_activity_created_as_draft_with_contacts_and_products(rep, customer, product):
    contact = ContactFactory(customer=customer)

    activity = record(rep, customer, contacts=[contact.pk], products=[product.pk], outcome="同意试用")

    assert activity.status == "draft"
    assert list(activity.contacts.all()) == [contact]
    assert list(activity.products.all()) == [product]
    assert activity.owner == rep


def test_contact_of_other_customer_rejected(rep, customer):
    other = ContactFactory(customer=f.CustomerFactory(owner=rep))

    with pytest.raises(InvalidInput) as error:
        record(rep, customer, contacts=[other.pk])

    assert error.value.field == "contacts"
    assert str(other.pk) in str(error.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "fax"), ("occurred_on", "2026-02-30"), ("subject", " "), ("products", [999999])],
)
def test_bad_values_name_field(rep, customer, field, value):
    with pytest.raises(InvalidInput) as error:
        record(rep, customer, **{field: value})

    assert error.value.field == field


def test_other_reps_customer_not_found(rep2, customer):
    with pytest.raises(InvalidInput) as error:
        record(rep2, customer)

    assert error.value.code == "not_found"


def test_logistics_cannot_record(logistics, customer):
    with pytest.raises(NotPermitted):
        record(logistics, customer)


def test_submitted_activity_is_locked(rep, customer):
    activity = record(rep, customer)
    services.submit_activity(actor=rep, activity=activity)

    with pytest.raises(InvalidTransition):
        services.update_activity(actor=rep, activity=activity, outcome="改写")
    with pytest.raises(InvalidTransition):
        services.submit_activity(actor=rep, activity=activity)


def test_future_activity_cannot_be_submitted(rep, customer):
    activity = record(rep, customer, occurred_on=days(3))

    with pytest.raises(InvalidInput) as error:
        services.submit_activity(actor=rep, activity=activity)

    assert error.value.field == "occurred_on"


def test_only_owner_edits_draft(rep, supervisor, customer):
    activity = record(rep, customer)

    with pytest.raises(NotPermitted):
        services.update_activity(actor=supervisor, activity=activity, outcome="主管改写")


def test_amendment_keeps_original(rep, supervisor, customer):
    activity = record(rep, customer, outcome="客户要求报价", submit=True)

    amendment = services.amend_activity(actor=supervisor, activity=activity, reason="记录有误", outcome="客户要求样品")

    activity.refresh_from_db()
    assert activity.outcome == "客户要求报价"
    assert amendment.outcome == "客户要求样品"
    assert amendment.author == supervisor


def test_amendment_needs_reason_and_change(rep, customer):
    activity = record(rep, customer, submit=True)

    with pytest.raises(InvalidInput) as error:
        services.amend_activity(actor=rep, activity=activity, reason="", outcome="x")
    assert error.value.field == "reason"
    with pytest.raises(InvalidInput) as error:
        services.amend_activity(actor=rep, activity=activity, reason="更正")
    assert error.value.field == "outcome"


def test_draft_cannot_be_amended(rep, customer):
    activity = record(rep, customer)

    with pytest.raises(InvalidTransition):
        services.amend_activity(actor=rep, activity=activity, reason="r", outcome="o")


def test_submitted_visit_closes_plan_and_plans_next(rep, customer):
    plan = RevisitPlan.objects.create(customer=customer, owner=rep, due_on=days(-2))

    activity = record(rep, customer, occurred_on=days(-1), submit=True)

    plan.refresh_from_db()
    assert (plan.status, plan.activity, plan.completed_on) == ("done", activity, days(-1))
    next_plan = RevisitPlan.objects.get(customer=customer, status="open")
    assert next_plan.due_on == days(-1) + datetime.timedelta(days=30)  # grade B


def test_email_does_not_close_plan(rep, customer):
    RevisitPlan.objects.create(customer=customer, owner=rep, due_on=days(-2))

    record(rep, customer, kind="email", submit=True)

    assert RevisitPlan.objects.get(customer=customer).status == "open"


def test_interval_configurable_per_grade(rep):
    RevisitInterval.objects.update_or_create(key="A", defaults={"days": 7})
    customer = f.CustomerFactory(owner=rep, grade="A")

    record(rep, customer, occurred_on=days(-1), submit=True)

    assert RevisitPlan.objects.get(customer=customer, status="open").due_on == days(6)


def test_plan_revisits_from_last_visit(rep):
    visited = f.CustomerFactory(owner=rep, grade="C")
    never = f.CustomerFactory(owner=rep)
    ActivityFactory(customer=visited, occurred_on=days(-70))
    f.CustomerFactory(owner=rep, is_active=False)

    created = services.plan_revisits()

    assert created == 2
    assert RevisitPlan.objects.get(customer=visited).due_on == days(-10)
    assert RevisitPlan.objects.get(customer=never).due_on == local_today()
    assert services.plan_revisits() == 0


def test_revisit_list_visibility_and_states(rep, rep2, supervisor, manager):
    overdue = RevisitPlan.objects.create(customer=f.CustomerFactory(owner=rep), owner=rep, due_on=days(-3))
    due = RevisitPlan.objects.create(customer=f.CustomerFactory(owner=rep), owner=rep, due_on=days(2))
    RevisitPlan.objects.create(customer=f.CustomerFactory(owner=rep), owner=rep, due_on=days(40))
    other = RevisitPlan.objects.create(customer=f.CustomerFactory(owner=rep2), owner=rep2, due_on=days(-1))

    assert list(selectors.revisit_list(rep)) == [overdue, due]
    assert list(selectors.revisit_list(rep, state="overdue")) == [overdue]
    assert list(selectors.revisit_list(rep, state="due")) == [due]
    assert list(selectors.revisit_list(supervisor)) == [overdue, due]
    assert list(selectors.revisit_list(manager)) == [overdue, other, due]


def test_reminders_notify_rep_and_supervisor_once_a_day(rep, supervisor, django_capture_on_commit_callbacks):
    customer = f.CustomerFactory(owner=rep)
    RevisitPlan.objects.create(customer=customer, owner=rep, due_on=days(-5))
    RevisitPlan.objects.create(customer=f.CustomerFactory(owner=rep), owner=rep, due_on=days(1))

    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_revisit_reminders", stdout=io.StringIO())

    rep_notes = Notification.objects.filter(recipient=rep)
    assert [n.title for n in rep_notes] == ["Revisits: 1 overdue, 1 due soon"]
    supervisor_notes = Notification.objects.filter(recipient=supervisor)
    assert [n.title for n in supervisor_notes] == ["Your team has 1 overdue revisit"]
    assert "rep: 1" in supervisor_notes[0].body

    with django_capture_on_commit_callbacks(execute=True):
        services.send_revisit_reminders()
    assert Notification.objects.count() == 2


def test_visits_against_plan(rep, rep2, manager):
    today = local_today()
    first = today.replace(day=1)
    customer = f.CustomerFactory(owner=rep)
    RevisitPlan.objects.create(customer=customer, owner=rep, due_on=first, status="done")
    RevisitPlan.objects.create(customer=f.CustomerFactory(owner=rep), owner=rep, due_on=first)
    ActivityFactory(customer=customer, owner=rep, occurred_on=first)
    ActivityFactory(customer=customer, owner=rep, occurred_on=first, kind="phone")
    ActivityFactory(customer=f.CustomerFactory(owner=rep2), occurred_on=first)

    rows = {row["owner"]: row for row in selectors.visits_against_plan(manager, year=today.year, month=today.month)}

    assert (rows[rep.pk]["planned"], rows[rep.pk]["done"], rows[rep.pk]["visits"], rows[rep.pk]["calls"]) == (2, 1, 1, 1)
    assert rows[rep.pk]["rate"] == 0.5
    assert rows[rep2.pk]["planned"] == 0
    assert rows[rep2.pk]["rate"] is None
    assert [row["owner"] for row in selectors.visits_against_plan(rep, year=today.year, month=today.month)] == [rep.pk]


def test_plan_revisits_cancels_inactive_customers_plans(rep):
    customer = f.CustomerFactory(owner=rep)
    plan = RevisitPlan.objects.create(customer=customer, owner=rep, due_on=days(-1))
    customer.is_active = False
    customer.save()

    services.plan_revisits()

    plan.refresh_from_db()
    assert plan.status == "cancelled"
    assert list(selectors.revisit_list(rep)) == []
