"""The credit notes issued against one receivable never add up to more than its invoiced amount."""

import datetime
from decimal import Decimal as D

import pytest

from dentalsales.core.errors import InvalidInput, InvalidTransition
from dentalsales.finance import services
from dentalsales.finance.models import CreditNote, CreditNoteAllocation, Receivable
from dentalsales.notifications.models import Notification
from dentalsales.testing import factories as f

from .factories import make_receivable

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep)


# (invoiced, credit notes already issued against it, amount asked, credited now, difference notified)
CAP_CASES = [
    ("2420.00", [], "1000.00", "1000.00", None),
    ("2420.00", ["1052.00"], "1368.00", "1368.00", None),
    ("2420.00", ["1052.00", "1368.00"], "1368.00", None, "1,368.00"),
    ("2420.00", ["1052.00"], "2000.00", "1368.00", "632.00"),
    ("100.00", ["99.99"], "0.02", "0.01", "0.01"),
    ("100.00", [], "100.00", "100.00", None),
]


@pytest.mark.parametrize("invoiced,earlier,asked,credited,difference", CAP_CASES)
def test_workflow_credit_is_capped_at_invoiced_amount(finance, customer, invoiced, earlier, asked, credited, difference):
    receivable = make_receivable(customer=customer, amount=invoiced)
    for amount in earlier:
        services.record_credit_note(actor=finance, customer=customer, amount=amount, reason="价格调整", receivable=receivable)

    note = services.issue_credit_note(
        customer=customer, amount=asked, reason="退货", actor=finance, source_reference="RT-9", receivable=receivable
    )

    if credited is None:
        assert note is None
    else:
        assert note.amount == D(credited)
        assert note.receivable == receivable
    issued = sum(n.amount for n in CreditNote.objects.filter(receivable=receivable))
    assert issued <= D(invoiced)
    receivable.refresh_from_db()
    assert receivable.credited_amount <= receivable.amount
    notes = Notification.objects.filter(recipient=finance, title__contains="RT-9")
    if difference is None:
        assert not notes.exists()
    else:
        assert notes.count() == 1
        assert difference in notes.get().title
        assert receivable.number in notes.get().body


def test_hand_credit_note_above_creditable_is_refused_with_formatted_numbers(finance, customer):
    receivable = make_receivable(customer=customer, amount="4930.00")
    services.record_credit_note(actor=finance, customer=customer, amount="1000.00", reason="调整", receivable=receivable)

    with pytest.raises(InvalidInput) as error:
        services.record_credit_note(actor=finance, customer=customer, amount="4000.00", reason="调整", receivable=receivable)

    assert "4,000.00" in str(error.value) and "3,930.00" in str(error.value)
    assert CreditNote.objects.filter(receivable=receivable).count() == 1


def test_apply_credit_note_settles_reopened_receivable(finance, customer):
    note = services.issue_credit_note(customer=customer, amount="570.00", reason="退货", actor=finance, source_reference="RT-1")
    assert note.unapplied_amount == D("570.00")
    receivable = make_receivable(customer=customer, amount="1000.00", invoiced_on=datetime.date(2026, 3, 1))

    note = services.apply_credit_note(actor=finance, credit_note=note)

    assert note.applied == D("570.00") and note.unapplied_amount == D("0.00")
    receivable.refresh_from_db()
    assert receivable.open_amount == D("430.00") and receivable.credited_amount == D("570.00")
    assert CreditNoteAllocation.objects.get(credit_note=note).applied_on is not None


def test_apply_without_open_receivables_says_nothing_was_allocated(finance, customer):
    note = services.issue_credit_note(customer=customer, amount="50.00", reason="退货", actor=finance, source_reference="")
    payment = services.record_payment(
        actor=finance, customer=customer, received_on=datetime.date.today(), method="cash", amount="20.00"
    )

    for call in (
        lambda: services.apply_credit_note(actor=finance, credit_note=note),
        lambda: services.apply_payment(actor=finance, payment=payment),
    ):
        with pytest.raises(InvalidTransition) as error:
            call()
        assert error.value.code == "nothing_to_apply"
        assert "nothing was allocated" in str(error.value)
    assert not Receivable.objects.filter(customer=customer).exists()


def test_apply_credit_note_needs_finance(rep, finance, customer):
    note = services.issue_credit_note(customer=customer, amount="50.00", reason="退货", actor=finance, source_reference="")
    make_receivable(customer=customer, amount="80.00")

    from dentalsales.core.errors import NotPermitted

    with pytest.raises(NotPermitted):
        services.apply_credit_note(actor=rep, credit_note=note)
