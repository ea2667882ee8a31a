"""Daily collection reminders and escalations."""

import datetime

import pytest
from django.core.management import call_command

from dentalsales.core.timeutils import local_today
from dentalsales.finance.reminders import send_collection_reminders
from dentalsales.notifications.models import Notification
from dentalsales.testing import factories as f

from .factories import make_receivable

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep, name="杭州西湖口腔门诊部")


def days_ago(days):
    return local_today() - datetime.timedelta(days=days)


def test_representative_gets_one_digest(settings, rep, customer):
    settings.CREDIT_OVERDUE_TOLERANCE_DAYS = 30
    make_receivable(customer=customer, amount="100.00", invoiced_on=days_ago(40), due_on=days_ago(10))
    make_receivable(customer=customer, amount="50.00", invoiced_on=days_ago(28), due_on=local_today() + datetime.timedelta(days=2))
    make_receivable(customer=customer, amount="70.00", invoiced_on=days_ago(1), due_on=local_today() + datetime.timedelta(days=29))

    assert send_collection_reminders() == (1, 0)

    note = Notification.objects.get(recipient=rep)
    assert note.title == "Receivables: 1 overdue, 1 due within 3 days, 150.00 open"
    assert note.link.endswith("?status=overdue")


def test_long_overdue_escalates_to_supervisor_and_finance(settings, rep, supervisor, finance, customer):
    settings.CREDIT_OVERDUE_TOLERANCE_DAYS = 30
    receivable = make_receivable(customer=customer, amount="100.00", invoiced_on=days_ago(90), due_on=days_ago(31))

    assert send_collection_reminders() == (1, 1)

    for user in (supervisor, finance):
        note = Notification.objects.get(recipient=user)
        assert "more than 30 days overdue" in note.title
        assert receivable.number in note.body


def test_within_tolerance_is_not_escalated(settings, rep, supervisor, finance, customer):
    settings.CREDIT_OVERDUE_TOLERANCE_DAYS = 30
    make_receivable(customer=customer, amount="100.00", invoiced_on=days_ago(60), due_on=days_ago(30))

    send_collection_reminders()

    assert not Notification.objects.filter(recipient__in=[supervisor, finance]).exists()


def test_second_run_same_day_sends_nothing(rep, customer):
    make_receivable(customer=customer, amount="100.00", invoiced_on=days_ago(40), due_on=days_ago(10))
    call_command("send_collection_reminders", stdout=open("/dev/null", "w"))

    assert send_collection_reminders() == (0, 0)
    assert Notification.objects.filter(recipient=rep).count() == 1


def test_settled_receivables_are_not_reminded(finance, rep, customer):
    from dentalsales.finance.services import record_payment

    make_receivable(customer=customer, amount="100.00", invoiced_on=days_ago(40), due_on=days_ago(10))
    record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="100.00")

    assert send_collection_reminders() == (0, 0)
