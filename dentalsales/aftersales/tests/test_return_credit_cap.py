"""A return's credit note never takes the credits on the shipment's receivable above its invoiced amount."""

from decimal import Decimal

import pytest

from dentalsales.aftersales.models import Disposition
from dentalsales.aftersales.services import approve_return, create_return, receive_return
from dentalsales.notifications.models import Notification

from .factories import return_line

pytestmark = pytest.mark.django_db


def _received(rep, supervisor, logistics, customer, shipment_line, quantity):
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, quantity)])
    request = approve_return(actor=supervisor, request=request)
    receive_return(actor=logistics, request=request, dispositions={request.lines.get().pk: Disposition.STOCK})
    request.refresh_from_db()
    return request


@pytest.mark.parametrize(
    "hand_credit,returned,credited,cut",
    [
        ("0.00", 3, "390.00", None),
        ("910.00", 3, "390.00", None),
        ("1000.00", 3, "300.00", "90.00"),
        ("1300.00", 3, None, "390.00"),
    ],
)
def test_return_credit_capped_by_hand_credit(rep, supervisor, logistics, finance, customer, shipment, shipment_line, hand_credit, returned, credited, cut):
    from dentalsales.finance import services
    from dentalsales.finance.models import CreditNote, Receivable

    receivable = Receivable.objects.filter(shipment=shipment).first() or services.create_receivable_for_shipment(shipment, finance)
    assert receivable.amount == Decimal("1300.00")
    if Decimal(hand_credit):
        services.record_credit_note(actor=finance, customer=customer, amount=hand_credit, reason="价格调整", receivable=receivable)

    request = _received(rep, supervisor, logistics, customer, shipment_line, returned)

    if credited is None:
        assert request.credit_note_number == ""
    else:
        note = CreditNote.objects.get(number=request.credit_note_number)
        assert note.amount == Decimal(credited)
        assert note.receivable == receivable
    total = sum(n.amount for n in CreditNote.objects.filter(receivable=receivable))
    assert total <= receivable.amount
    receivable.refresh_from_db()
    assert receivable.credited_amount <= receivable.amount
    capped = Notification.objects.filter(recipient=finance, title__startswith=f"Credit for {request.number} cut")
    assert capped.exists() == (cut is not None)
    if cut:
        assert cut in capped.get().title


def test_return_across_two_shipments_credits_each_receivable_within_its_amount(
    rep, supervisor, logistics, finance, customer, stocked_product
):
    """Two shipments of one order: the return gets one credit note per shipment, each capped by its own receivable."""
    from dentalsales.finance import services
    from dentalsales.finance.models import CreditNote, Receivable
    from dentalsales.finance.tests.factories import approved_order, dispatch
    from dentalsales.testing import factories as f

    order = approved_order(rep=rep, reviewer=supervisor, customer=customer, lines=[(stocked_product, 10, "130.00")])
    line = order.lines.get()
    quality = f.UserFactory(username="checker2", roles=["quality_officer"])
    first = dispatch(order=order, picker=logistics, reviewer=quality, quantities={line.pk: 4})
    second = dispatch(order=order, picker=logistics, reviewer=quality)
    first_receivable = Receivable.objects.get(shipment=first)
    # The first invoice is already credited down to 130.00 by hand.
    services.record_credit_note(actor=finance, customer=customer, amount="390.00", reason="价格调整", receivable=first_receivable)

    request = create_return(
        actor=rep,
        customer=customer,
        kind="return",
        lines=[return_line(first.lines.get(), 3), return_line(second.lines.get(), 2)],
    )
    request = approve_return(actor=supervisor, request=request)
    receive_return(actor=logistics, request=request, dispositions={rl.pk: Disposition.STOCK for rl in request.lines.all()})
    request.refresh_from_db()

    notes = {note.receivable.shipment_id: note for note in CreditNote.objects.filter(source_reference=request.number)}
    assert set(notes) == {first.pk, second.pk}
    assert notes[first.pk].amount == Decimal("130.00")
    assert notes[second.pk].amount == Decimal("260.00")
    assert request.credit_note_number == ", ".join(sorted(note.number for note in notes.values()))
    for receivable in Receivable.objects.filter(order=order):
        assert receivable.credited_amount <= receivable.amount
