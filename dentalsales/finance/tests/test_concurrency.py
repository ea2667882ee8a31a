"""Payments under real concurrency on PostgreSQL: no over-allocation, and one payment per idempotency key."""

import threading
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today
from dentalsales.finance import services
from dentalsales.finance.models import Payment, PaymentAllocation, Receivable
from dentalsales.testing import factories as f

from .factories import make_receivable

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises every writer, so row locks are never contended.",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _role_groups(db):
    """Recreate the role groups: a transactional test flushes the database, data migrations included."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def run_together(calls):
    """Run each callable in its own thread, all started at once; return ("ok", result) or ("error", exception) per call."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def work(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", call())
        except Exception as error:  # the test inspects every outcome
            outcomes[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return outcomes


@pytest.fixture
def setup_receivable():
    finance = f.UserFactory(roles=[Role.FINANCE])
    customer = f.CustomerFactory()
    receivable = make_receivable(customer=customer, amount="100.00")
    return finance, customer, receivable


def test_hand_allocations_to_one_receivable_never_over_allocate(setup_receivable):
    finance, customer, receivable = setup_receivable

    def pay():
        return services.record_payment(
            actor=User.objects.get(pk=finance.pk),
            customer=customer.pk,
            received_on=local_today(),
            method="bank_transfer",
            amount="100.00",
            allocations=[{"receivable": receivable.pk, "amount": "100.00"}],
        )

    outcomes = run_together([pay, pay])

    kinds = sorted(kind for kind, _value in outcomes)
    assert kinds == ["error", "ok"]
    error = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(error, InvalidInput)
    receivable.refresh_from_db()
    assert receivable.open_amount == D("0.00")
    assert receivable.paid_amount == D("100.00")
    assert Payment.objects.count() == 1


def test_oldest_first_payments_leave_the_rest_unapplied(setup_receivable):
    finance, customer, receivable = setup_receivable

    def pay():
        return services.record_payment(
            actor=User.objects.get(pk=finance.pk), customer=customer.pk, received_on=local_today(), method="cash", amount="80.00"
        )

    outcomes = run_together([pay, pay])

    assert [kind for kind, _value in outcomes] == ["ok", "ok"]
    receivable.refresh_from_db()
    assert receivable.paid_amount == D("100.00")
    assert receivable.open_amount == D("0.00")
    assert sum(p.unapplied_amount for p in Payment.objects.all()) == D("60.00")
    assert sum(a.amount for a in PaymentAllocation.objects.all()) == D("100.00")


def test_payment_and_credit_note_together_never_go_negative(setup_receivable):
    finance, customer, receivable = setup_receivable

    def pay():
        return services.record_payment(
            actor=User.objects.get(pk=finance.pk), customer=customer.pk, received_on=local_today(), method="cash", amount="70.00"
        )

    def credit():
        return services.issue_credit_note(
            customer=customer.pk, amount="70.00", reason="退货", actor=User.objects.get(pk=finance.pk), source_reference="RT", receivable=receivable.pk
        )

    outcomes = run_together([pay, credit])

    assert [kind for kind, _value in outcomes] == ["ok", "ok"]
    receivable = Receivable.objects.get(pk=receivable.pk)
    assert receivable.open_amount == D("0.00")
    assert receivable.paid_amount + receivable.credited_amount == D("100.00")


def test_same_key_in_parallel_records_one_payment(setup_receivable):
    finance, customer, receivable = setup_receivable

    def pay():
        return services.record_payment(
            actor=User.objects.get(pk=finance.pk),
            customer=customer.pk,
            received_on=local_today(),
            method="bank_transfer",
            amount="60.00",
            idempotency_key="form-token-parallel",
        )

    outcomes = run_together([pay, pay, pay])

    assert [kind for kind, _value in outcomes] == ["ok", "ok", "ok"]
    assert len({payment.pk for _kind, payment in outcomes}) == 1
    assert sorted(payment.replayed for _kind, payment in outcomes) == [False, True, True]
    assert Payment.objects.count() == 1
    receivable.refresh_from_db()
    assert receivable.open_amount == D("40.00")


def test_double_submitted_web_form_records_one_payment(setup_receivable):
    from django.test import Client
    from django.urls import reverse

    finance, customer, receivable = setup_receivable
    body = {
        "customer": customer.pk, "received_on": local_today().isoformat(), "method": "cash", "amount": "25.00",
        "allocation": "oldest", "token": "double-click-token",
    }

    def submit():
        client = Client()
        client.force_login(User.objects.get(pk=finance.pk))
        return client.post(reverse("finance:payment_create"), body).status_code

    outcomes = run_together([submit, submit])

    assert outcomes == [("ok", 302), ("ok", 302)]
    assert Payment.objects.count() == 1
    receivable.refresh_from_db()
    assert receivable.open_amount == D("75.00")
