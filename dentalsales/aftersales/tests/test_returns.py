"""Returns and exchanges: the returnable-quantity rule, approval, receipt into stock, quarantine or scrap, credit notes."""

import datetime
from decimal import Decimal

import pytest

from dentalsales.aftersales.models import (
    Disposition,
    ReturnKind,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    ReturnStatusChange,
)
from dentalsales.aftersales.selectors import returnable_lines
from dentalsales.aftersales.services import (
    QUARANTINE_WAREHOUSE_CODE,
    approve_return,
    cancel_return,
    create_return,
    receive_return,
    reject_return,
)
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import LedgerReason, Lot, StockBalance, StockLedgerEntry
from dentalsales.sales.models import OrderStatus
from dentalsales.testing import factories as f

from .factories import return_line

pytestmark = pytest.mark.django_db


def request_return(actor, customer, lines, kind="return"):
    return create_return(actor=actor, customer=customer, kind=kind, lines=lines)


def test_return_records_lines_value_and_owner(rep, customer, shipment_line):
    request = request_return(rep, customer, [return_line(shipment_line, 3, reason_note="气泡")])

    assert request.status == ReturnStatus.REQUESTED
    assert request.number.startswith("RT-")
    assert request.owner == rep
    line = request.lines.get()
    assert line.quantity == 3
    assert line.lot == shipment_line.lot
    assert line.unit_price == Decimal("130.0000")
    assert line.amount == Decimal("390.00")
    assert request.total_amount == Decimal("390.00")
    assert ReturnStatusChange.objects.filter(request=request, to_status=ReturnStatus.REQUESTED).count() == 1


@pytest.mark.parametrize(
    "earlier, requested, allowed",
    [
        ([], [10], True),
        ([], [11], False),
        ([6], [4], True),
        ([6], [5], False),
        ([], [6, 4], True),  # two lines of one document on the same shipment line
        ([], [6, 5], False),
        ([3, 3], [4], True),
        ([3, 3], [4, 1], False),
    ],
)
def test_returnable_quantity_table(rep, customer, shipment_line, earlier, requested, allowed):
    for quantity in earlier:
        request_return(rep, customer, [return_line(shipment_line, quantity)])
    before = ReturnLine.objects.count()
    lines = [return_line(shipment_line, quantity) for quantity in requested]

    if allowed:
        request_return(rep, customer, lines)
        assert ReturnLine.objects.count() == before + len(requested)
    else:
        with pytest.raises(InvalidInput) as error:
            request_return(rep, customer, lines)
        assert "returnable" in str(error.value)
        assert ReturnLine.objects.count() == before


def test_over_return_message_names_value_and_returnable(rep, customer, shipment_line):
    request_return(rep, customer, [return_line(shipment_line, 7)])

    with pytest.raises(InvalidInput) as error:
        request_return(rep, customer, [return_line(shipment_line, 4)])

    message = error.value.field_errors["lines[0].quantity"][0]
    assert "Cannot return 4" in message
    assert "10 shipped" in message
    assert "7 already returned" in message
    assert "3 returnable" in message


@pytest.mark.parametrize("void", ["reject", "cancel"])
def test_rejected_or_cancelled_return_frees_quantity(rep, supervisor, customer, shipment_line, void):
    first = request_return(rep, customer, [return_line(shipment_line, 10)])
    if void == "reject":
        reject_return(actor=supervisor, request=first, reason="货品已开封使用")
    else:
        cancel_return(actor=rep, request=first, reason="客户撤回")

    second = request_return(rep, customer, [return_line(shipment_line, 10)])

    assert second.lines.get().quantity == 10


def test_partial_shipment_limits_return_to_shipped_part(rep, supervisor, logistics, customer, stocked_product):
    from dentalsales.accounts.roles import Role
    from dentalsales.inventory.shipping import dispatch_shipment, review_shipment
    from dentalsales.sales import services as sales

    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 10)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order)
    sales.release_order(actor=logistics, order=order)
    shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", quantities={order.lines.get().pk: 4})
    checker = f.UserFactory(username="checker", roles=[Role.LOGISTICS])
    review_shipment(actor=checker, shipment=shipment, lines={line.pk: {} for line in shipment.lines.all()})
    dispatch_shipment(actor=logistics, shipment=shipment)
    line = shipment.lines.get()

    with pytest.raises(InvalidInput):
        request_return(rep, customer, [return_line(line, 5)])
    request_return(rep, customer, [return_line(line, 4)])


def test_picked_shipment_not_yet_returnable(rep, supervisor, logistics, customer, stocked_product):
    from dentalsales.sales import services as sales

    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 5)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order)
    sales.release_order(actor=logistics, order=order)
    picked = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

    with pytest.raises(InvalidInput) as error:
        request_return(rep, customer, [return_line(picked.lines.get(), 1)])

    assert picked.number in error.value.field_errors["lines[0].shipment_line"][0]
    assert returnable_lines(rep, customer) == []


@pytest.mark.parametrize(
    "change, field, fragment",
    [
        ({"quantity": 0}, "quantity", "“0”"),
        ({"quantity": "1.5"}, "quantity", "“1.5”"),
        ({"quantity": -2}, "quantity", "“-2”"),
        ({"lot_number": "WRONG-LOT"}, "lot_number", "WRONG-LOT"),
        ({"lot_number": ""}, "lot_number", "lot number"),
        ({"reason": "bored"}, "reason", "bored"),
        ({"shipment_line": 999999}, "shipment_line", "999999"),
    ],
)
def test_bad_return_line_refused_naming_value(rep, customer, shipment_line, change, field, fragment):
    line = {**return_line(shipment_line, 1), **change}

    with pytest.raises(InvalidInput) as error:
        request_return(rep, customer, [line])

    assert fragment in error.value.field_errors[f"lines[0].{field}"][0]
    assert ReturnRequest.objects.count() == 0


def test_return_without_customer_or_lines_refused(rep, customer, shipment_line):
    with pytest.raises(InvalidInput) as error:
        create_return(actor=rep, customer=None, kind="return", lines=[return_line(shipment_line, 1)])
    assert error.value.field == "customer"
    with pytest.raises(InvalidInput) as error:
        create_return(actor=rep, customer=customer, kind="return", lines=[])
    assert error.value.field == "lines"
    with pytest.raises(InvalidInput) as error:
        create_return(actor=rep, customer=customer, kind="swap", lines=[return_line(shipment_line, 1)])
    assert "swap" in str(error.value)
    assert ReturnRequest.objects.count() == 0


def test_shipment_line_of_another_customer_refused(rep, customer, shipment_line):
    other = f.CustomerFactory(owner=rep)

    with pytest.raises(InvalidInput) as error:
        request_return(rep, other, [return_line(shipment_line, 1)])

    assert other.name in error.value.field_errors["lines[0].shipment_line"][0]


def test_other_reps_customer_is_unknown(rep2, customer, shipment_line):
    with pytest.raises(InvalidInput) as error:
        request_return(rep2, customer, [return_line(shipment_line, 1)])
    assert error.value.field == "customer"


def test_logistics_cannot_request_return(logistics, customer, shipment_line):
    with pytest.raises(NotPermitted):
        request_return(logistics, customer, [return_line(shipment_line, 1)])


def test_approval_needs_reviewer_and_not_author(rep, supervisor, manager, customer, shipment_line):
    request = request_return(rep, customer, [return_line(shipment_line, 1)])
    with pytest.raises(NotPermitted):
        approve_return(actor=rep, request=request)

    own = request_return(supervisor, customer, [return_line(shipment_line, 1)])
    with pytest.raises(NotPermitted):
        approve_return(actor=supervisor, request=own)

    approve_return(actor=manager, request=own)
    approve_return(actor=supervisor, request=request)
    request.refresh_from_db()
    assert request.status == ReturnStatus.APPROVED


def test_other_teams_supervisor_cannot_see_return(rep, customer, shipment_line):
    from dentalsales.accounts.roles import Role

    stranger = f.UserFactory(username="supervisor2", roles=[Role.SUPERVISOR], team=f.TeamFactory())
    request = request_return(rep, customer, [return_line(shipment_line, 1)])

    with pytest.raises(InvalidInput) as error:
        approve_return(actor=stranger, request=request)
    assert error.value.code == "not_found"


def test_reject_needs_reason(rep, supervisor, customer, shipment_line):
    request = request_return(rep, customer, [return_line(shipment_line, 1)])
    with pytest.raises(InvalidInput) as error:
        reject_return(actor=supervisor, request=request, reason=" ")
    assert error.value.field == "reason"
    request.refresh_from_db()
    assert request.status == ReturnStatus.REQUESTED


def test_receive_needs_approval_and_receiving_role(rep, supervisor, logistics, customer, shipment_line):
    request = request_return(rep, customer, [return_line(shipment_line, 1)])
    line = request.lines.get()
    # Logistics sees a return only once it is approved, so a requested one does not exist for it.
    with pytest.raises(InvalidInput) as error:
        receive_return(actor=logistics, request=request, dispositions={line.pk: "stock"})
    assert error.value.code == "not_found"

    approve_return(actor=supervisor, request=request)
    with pytest.raises(NotPermitted):
        receive_return(actor=supervisor, request=request, dispositions={line.pk: "stock"})
    receive_return(actor=logistics, request=request, dispositions={line.pk: "stock"})
    with pytest.raises(InvalidTransition):
        receive_return(actor=logistics, request=request, dispositions={line.pk: "stock"})


def _approved(rep, supervisor, customer, lines, kind="return"):
    request = request_return(rep, customer, lines, kind=kind)
    return approve_return(actor=supervisor, request=request)


def test_receive_back_to_stock_books_ledger_and_balance(rep, supervisor, logistics, customer, shipment_line):
    request = _approved(rep, supervisor, customer, [return_line(shipment_line, 3)])
    balance = StockBalance.objects.get(warehouse=shipment_line.warehouse, lot=shipment_line.lot)
    on_hand = balance.on_hand

    receive_return(actor=logistics, request=request, dispositions={request.lines.get().pk: Disposition.STOCK}, note="包装完好")

    balance.refresh_from_db()
    assert balance.on_hand == on_hand + 3
    entry = StockLedgerEntry.objects.get(reference=request.number)
    assert (entry.quantity, entry.reason, entry.warehouse_id) == (3, LedgerReason.CUSTOMER_RETURN, shipment_line.warehouse_id)
    request.refresh_from_db()
    assert request.status == ReturnStatus.RECEIVED
    assert request.inspection_note == "包装完好"


def test_receive_to_quarantine_uses_inactive_quarantine_warehouse(rep, supervisor, quality, customer, shipment_line):
    request = _approved(rep, supervisor, customer, [return_line(shipment_line, 2)])

    receive_return(actor=quality, request=request, dispositions={request.lines.get().pk: Disposition.QUARANTINE})

    balance = StockBalance.objects.get(warehouse__code=QUARANTINE_WAREHOUSE_CODE, lot=shipment_line.lot)
    assert balance.on_hand == 2
    assert balance.warehouse.is_active is False
    assert request.lines.get().warehouse == balance.warehouse


def test_receive_to_scrap_books_in_and_out(rep, supervisor, logistics, customer, shipment_line):
    request = _approved(rep, supervisor, customer, [return_line(shipment_line, 2)])

    receive_return(actor=logistics, request=request, dispositions={request.lines.get().pk: Disposition.SCRAP})

    entries = StockLedgerEntry.objects.filter(reference=request.number).order_by("pk")
    assert [(entry.quantity, entry.reason) for entry in entries] == [(2, LedgerReason.CUSTOMER_RETURN), (-2, LedgerReason.SCRAP)]
    balance = StockBalance.objects.get(warehouse__code=QUARANTINE_WAREHOUSE_CODE, lot=shipment_line.lot)
    assert balance.on_hand == 0


def test_lot_expired_since_shipping_returns_to_quarantine_only(rep, supervisor, logistics, customer, shipment_line):
    request = _approved(rep, supervisor, customer, [return_line(shipment_line, 2)])
    Lot.objects.filter(pk=shipment_line.lot_id).update(expiry_date=local_today() - datetime.timedelta(days=1))
    line = request.lines.get()
    balance = StockBalance.objects.get(warehouse=shipment_line.warehouse, lot=shipment_line.lot)
    on_hand = balance.on_hand

    with pytest.raises(InvalidInput) as error:
        receive_return(actor=logistics, request=request, dispositions={line.pk: Disposition.STOCK})
    assert shipment_line.lot_number in str(error.value)
    balance.refresh_from_db()
    assert balance.on_hand == on_hand
    assert not StockLedgerEntry.objects.filter(reference=request.number).exists()

    receive_return(actor=logistics, request=request, dispositions={line.pk: Disposition.QUARANTINE})
    assert StockBalance.objects.get(warehouse__code=QUARANTINE_WAREHOUSE_CODE, lot=shipment_line.lot).on_hand == 2


def test_expired_lot_can_still_be_requested(rep, customer, shipment_line):
    Lot.objects.filter(pk=shipment_line.lot_id).update(expiry_date=local_today() - datetime.timedelta(days=30))

    request = request_return(rep, customer, [return_line(shipment_line, 1, reason="expired")])

    assert request.lines.get().quantity == 1


def test_receive_needs_every_disposition(rep, supervisor, logistics, customer, shipment_line):
    request = _approved(rep, supervisor, customer, [return_line(shipment_line, 1), return_line(shipment_line, 1)])
    first = request.lines.order_by("pk").first()

    with pytest.raises(InvalidInput) as error:
        receive_return(actor=logistics, request=request, dispositions={first.pk: "stock"})
    assert "lines[1].disposition" in error.value.field_errors
    with pytest.raises(InvalidInput) as error:
        receive_return(actor=logistics, request=request, dispositions={first.pk: "bin", first.pk + 1: "stock"})
    assert "bin" in error.value.field_errors["lines[0].disposition"][0]
    request.refresh_from_db()
    assert request.status == ReturnStatus.APPROVED


def test_returnable_lines_lists_remaining(rep, rep2, customer, shipment_line):
    request_return(rep, customer, [return_line(shipment_line, 4)])

    lines = returnable_lines(rep, customer)

    assert [(line.pk, line.returned, line.returnable) for line in lines] == [(shipment_line.pk, 4, 6)]
    assert returnable_lines(rep2, customer) == []


def test_exchange_creates_submitted_replacement_order(rep, supervisor, customer, shipment_line):
    request = _approved(rep, supervisor, customer, [return_line(shipment_line, 2), return_line(shipment_line, 1)], kind=ReturnKind.EXCHANGE)

    order = request.replacement_order
    assert order is not None
    assert order.status == OrderStatus.SUBMITTED
    assert order.customer == customer
    assert order.created_by == rep
    line = order.lines.get()
    assert (line.product_id, line.quantity, line.unit_price) == (shipment_line.product_id, 3, Decimal("130.0000"))
    assert request.number in order.note



def test_receipt_issues_credit_note_against_shipment_receivable(rep, supervisor, logistics, finance, customer, shipment, shipment_line):
    from dentalsales.finance.models import CreditNote, Receivable
    from dentalsales.finance.services import create_receivable_for_shipment

    receivable = Receivable.objects.filter(shipment=shipment).first() or create_receivable_for_shipment(shipment, finance)
    assert receivable.open_amount == Decimal("1300.00")
    request = _approved(rep, supervisor, customer, [return_line(shipment_line, 3)])

    receive_return(actor=logistics, request=request, dispositions={request.lines.get().pk: Disposition.STOCK})

    request.refresh_from_db()
    credit_note = CreditNote.objects.get(number=request.credit_note_number)
    assert credit_note.amount == Decimal("390.00")
    assert credit_note.source_reference == request.number
    assert credit_note.receivable == receivable
    receivable.refresh_from_db()
    assert receivable.open_amount == Decimal("910.00")


def test_failed_receipt_changes_nothing(rep, supervisor, logistics, customer, shipment_line):
    from dentalsales.finance.models import CreditNote

    request = _approved(rep, supervisor, customer, [return_line(shipment_line, 1), return_line(shipment_line, 1)])
    first, second = request.lines.order_by("pk")
    Lot.objects.filter(pk=shipment_line.lot_id).update(expiry_date=local_today() - datetime.timedelta(days=1))

    with pytest.raises(InvalidInput):
        receive_return(actor=logistics, request=request, dispositions={first.pk: "quarantine", second.pk: "stock"})

    assert not StockLedgerEntry.objects.filter(reference=request.number).exists()
    assert not CreditNote.objects.filter(source_reference=request.number).exists()
    first.refresh_from_db()
    assert first.disposition == ""
