"""Writes on returns and exchanges: request, approval, rejection, cancellation, receipt and inspection.

A request reserves the returnable quantity of each shipment line it names:
shipped minus what every other request not rejected or cancelled already
claims. ``create_return`` locks the shipment lines it draws on (in
primary-key order) before it counts, so two concurrent requests against
one line queue and the second sees the first.
"""

import logging
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES, Role
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.money import line_amount, round_money
from dentalsales.core.services import next_document_number
from dentalsales.customers.selectors import visible_customers
from dentalsales.inventory.models import ShipmentLine
from dentalsales.sales.models import OrderStatus

from ..models import (
    Disposition,
    ReturnKind,
    ReturnLine,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
    ReturnStatusChange,
)
from ..selectors import RETURNABLE_SHIPMENT_STATUSES, recall_limits, returned_quantities, visible_returns
from ._common import as_id, as_whole_number, clean_choice, clean_text, notify, supervisors_for, users_with_roles
from .stock import put_returned_goods

logger = logging.getLogger(__name__)

R = ReturnStatus
# Logistics or the quality officer receive and inspect returned goods.
RECEIVING_ROLES = frozenset({Role.LOGISTICS, Role.QUALITY_OFFICER})
# action: (states it may start from, roles allowed)
RETURN_TRANSITIONS = {
    "approve": ({R.REQUESTED}, REVIEW_ROLES),
    "reject": ({R.REQUESTED}, REVIEW_ROLES),
    # An approved return is withdrawn only before receipt; see cancel_return for who may.
    "cancel": ({R.REQUESTED, R.APPROVED}, SALES_ROLES),
    "receive": ({R.APPROVED}, RECEIVING_ROLES),
}
# Replacement-order states in which nothing has been picked, so the order can still be cancelled.
UNSHIPPED_ORDER_STATUSES = (
    OrderStatus.DRAFT, OrderStatus.SUBMITTED, OrderStatus.REJECTED, OrderStatus.APPROVED, OrderStatus.RELEASED,
)
ACTION_LABELS = {
    "approve": pgettext_lazy("return action", "approve"),
    "reject": pgettext_lazy("return action", "reject"),
    "cancel": pgettext_lazy("return action", "cancel"),
    "receive": pgettext_lazy("return action", "receive"),
}
ACTION_PAST = {
    "approve": pgettext_lazy("return state after action", "approved"),
    "reject": pgettext_lazy("return state after action", "rejected"),
    "cancel": pgettext_lazy("return state after action", "cancelled"),
    "receive": pgettext_lazy("return state after action", "received"),
}
MAX_LINES = 100
MAX_QUANTITY = 100_000


def allowed_return_actions(request, user):
    return [
        action
        for action, (sources, roles) in RETURN_TRANSITIONS.items()
        if request.status in sources and user.has_role(*roles) and (action != "cancel" or _may_cancel(request, user))
    ]


def _may_cancel(request, user):
    """A requested return may be withdrawn by sales; an approved one by a reviewer or by the representative who entered it."""
    if request.status != R.APPROVED:
        return True
    return user.has_role(*REVIEW_ROLES) or request.created_by_id == user.pk


def _lock_request(request, actor):
    try:
        return visible_returns(actor).select_for_update(of=("self",)).select_related("customer", "owner").get(pk=request.pk)
    except ReturnRequest.DoesNotExist:
        raise InvalidInput(_("Return not found."), code="not_found") from None


def _check_transition(request, actor, action):
    sources, roles = RETURN_TRANSITIONS[action]
    if not actor.has_role(*roles):
        raise NotPermitted(_("Your role may not %(action)s returns.") % {"action": ACTION_LABELS[action]})
    if request.status not in sources:
        raise InvalidTransition(
            _("Return %(number)s is %(status)s and cannot be %(action)s now.")
            % {"number": request.number, "status": request.get_status_display(), "action": ACTION_PAST[action]}
        )


def _record(request, actor, to_status, reason=""):
    ReturnStatusChange.objects.create(request=request, from_status=request.status, to_status=to_status, actor=actor, reason=reason)
    logger.info("Return %s moved %s -> %s by user %s", request.pk, request.status or "-", to_status, actor.pk)
    request.status = to_status
    request.save()


def _link(request):
    return reverse("aftersales:return_detail", args=[request.pk])


def _parse_lines(customer, lines):
    """Validate the line dicts and return unsaved ``ReturnLine`` objects; lock their shipment lines first.

    Each dict has ``shipment_line`` (id), ``lot_number``, ``quantity``,
    ``reason`` and optionally ``reason_note``. Raises ``InvalidInput`` with
    one message per bad field, keyed ``lines[i].field``.
    """
    if not isinstance(lines, (list, tuple)) or not lines:
        raise InvalidInput(_("Add at least one line to return."), field="lines")
    if len(lines) > MAX_LINES:
        raise InvalidInput(_("A return may have at most %(max)s lines.") % {"max": MAX_LINES}, field="lines")
    ids = []
    for data in lines:
        if not isinstance(data, dict):
            raise InvalidInput(_("Each line needs a shipment line, a lot number, a quantity and a reason."), field="lines")
        ids.append(as_id(data.get("shipment_line")))
    # The lock serialises every request against these shipment lines until this transaction ends.
    shipment_lines = {
        line.pk: line
        for line in ShipmentLine.objects.select_for_update(of=("self",))
        .select_related("shipment", "order_line", "lot", "product")
        .filter(pk__in=[pk for pk in ids if pk])
        .order_by("pk")
    }

    errors = {}
    parsed = []
    for index, (data, line_id) in enumerate(zip(lines, ids)):
        prefix = f"lines[{index}]"
        shipment_line = shipment_lines.get(line_id)
        if shipment_line is None or shipment_line.shipment.customer_id != customer.pk:
            errors[f"{prefix}.shipment_line"] = [
                _("Shipment line “%(value)s” was not shipped to %(customer)s.")
                % {"value": data.get("shipment_line"), "customer": customer.name}
            ]
            continue
        if shipment_line.shipment.status not in RETURNABLE_SHIPMENT_STATUSES:
            errors[f"{prefix}.shipment_line"] = [
                _("Shipment %(shipment)s has not left the warehouse yet (%(status)s); nothing on it can be returned.")
                % {"shipment": shipment_line.shipment.number, "status": shipment_line.shipment.get_status_display()}
            ]
            continue
        lot_number = str(data.get("lot_number") or "").strip()
        if not lot_number:
            errors[f"{prefix}.lot_number"] = [_("Enter the lot number of the returned goods.")]
            continue
        if lot_number != shipment_line.lot_number:
            errors[f"{prefix}.lot_number"] = [
                _("Lot “%(value)s” was not shipped on this line of shipment %(shipment)s; it shipped lot %(lot)s.")
                % {"value": lot_number, "shipment": shipment_line.shipment.number, "lot": shipment_line.lot_number}
            ]
            continue
        quantity = as_whole_number(data.get("quantity"))
        if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
            errors[f"{prefix}.quantity"] = [
                _("Quantity must be a whole number of at least 1, not “%(value)s”.") % {"value": data.get("quantity")}
            ]
            continue
        reason = str(data.get("reason") or "").strip()
        if reason not in ReturnReason.values:
            errors[f"{prefix}.reason"] = [
                _("“%(value)s” is not a return reason; use one of %(choices)s.")
                % {"value": data.get("reason"), "choices": ", ".join(ReturnReason.values)}
            ]
            continue
        reason_note = str(data.get("reason_note") or "").strip()
        if len(reason_note) > 300:
            errors[f"{prefix}.reason_note"] = [_("The reason details are longer than 300 characters.")]
            continue
        unit_price = shipment_line.order_line.unit_price
        parsed.append(
            (
                prefix,
                ReturnLine(
                    shipment_line=shipment_line,
                    lot=shipment_line.lot,
                    product=shipment_line.product,
                    quantity=quantity,
                    reason=reason,
                    reason_note=reason_note,
                    unit_price=unit_price,
                    amount=line_amount(quantity, unit_price),
                ),
            )
        )
    if errors:
        raise InvalidInput(field_errors=errors)

    # Lines of this request count against each other as well as against other requests.
    returned = returned_quantities(shipment_lines)
    requested = defaultdict(int)
    for prefix, line in parsed:
        shipment_line = line.shipment_line
        requested[shipment_line.pk] += line.quantity
        already = returned.get(shipment_line.pk, 0)
        on_other_lines = requested[shipment_line.pk] - line.quantity
        if requested[shipment_line.pk] + already > shipment_line.quantity:
            values = {
                "value": line.quantity,
                "product": shipment_line.product_name,
                "lot": shipment_line.lot_number,
                "shipment": shipment_line.shipment.number,
                "shipped": shipment_line.quantity,
                "returned": already,
                "other_lines": on_other_lines,
                "returnable": max(shipment_line.quantity - already - on_other_lines, 0),
            }
            if on_other_lines:
                message = _(
                    "Cannot return %(value)s of “%(product)s” lot %(lot)s from shipment %(shipment)s: "
                    "%(shipped)s shipped, %(returned)s already returned or requested, %(other_lines)s on this request's "
                    "other lines, %(returnable)s returnable."
                )
            else:
                message = _(
                    "Cannot return %(value)s of “%(product)s” lot %(lot)s from shipment %(shipment)s: "
                    "%(shipped)s shipped, %(returned)s already returned or requested, %(returnable)s returnable."
                )
            errors[f"{prefix}.quantity"] = [message % values]
    if errors:
        raise InvalidInput(field_errors=errors)
    _check_recall_limits(customer, parsed)
    return [line for _prefix, line in parsed]


def _check_recall_limits(customer, parsed):
    """Refuse units of recalled lots that the recall already records as recovered from ``customer`` outside a return.

    Locks the recall's customer rows, so that the quality officer cannot
    change the recovered quantity while this request is being counted.
    """
    limits = recall_limits(customer.pk, {line.lot_id for _prefix, line in parsed}, lock=True)
    errors = {}
    for limit in limits:
        in_recall = [(prefix, line) for prefix, line in parsed if line.lot_id in limit["lot_ids"]]
        requested = sum(line.quantity for _prefix, line in in_recall)
        if requested > limit["returnable"]:
            prefix, line = in_recall[-1]
            errors[f"{prefix}.quantity"] = [
                _(
                    "Cannot return %(value)s units of the lots of recall %(recall)s: the recall records %(by_hand)s units "
                    "recovered from %(customer)s without a return, so %(returnable)s can still be returned."
                )
                % {
                    "value": requested,
                    "recall": limit["recall"].number,
                    "by_hand": limit["by_hand"],
                    "customer": customer.name,
                    "returnable": limit["returnable"],
                }
            ]
    if errors:
        raise InvalidInput(field_errors=errors)


@transaction.atomic
def create_return(*, actor, customer, kind, lines, note=""):
    """Request a return or an exchange of goods shipped to a customer the actor can see; return the request.

    No line may take a shipment line above its returnable quantity (shipped
    minus every request not rejected or cancelled, this one's other lines
    included). A lot that has expired since shipping may be returned; it
    goes to quarantine on receipt. The representative's supervisor is
    notified to approve.

    Raises ``NotPermitted`` outside sales. Raises ``InvalidInput`` naming
    the field and the value for a missing or unknown customer, an unknown
    kind or reason, a shipment line of another customer or not yet
    dispatched, and a lot number that line did not ship. It also raises it
    for a quantity that is not a whole number or exceeds what is
    returnable. Locks the shipment lines in primary-key order.
    """
    if not actor.has_role(*SALES_ROLES):
        raise NotPermitted(_("Only sales staff can request returns."))
    if customer in (None, ""):
        raise InvalidInput(_("Choose the customer who returns the goods."), field="customer")
    customer_id = as_id(customer)
    customer_obj = visible_customers(actor).filter(pk=customer_id).first() if customer_id else None
    if customer_obj is None:
        raise InvalidInput(_("Unknown customer “%(value)s”.") % {"value": customer}, field="customer")
    kind = clean_choice(kind or ReturnKind.RETURN, ReturnKind, field="kind", label=_("kind"))
    note = clean_text(note, field="note", label=_("note"))
    parsed = _parse_lines(customer_obj, lines)

    request = ReturnRequest.objects.create(
        number=next_document_number("RT"),
        customer=customer_obj,
        owner=customer_obj.owner,
        kind=kind,
        note=note,
        total_amount=round_money(sum((line.amount for line in parsed), Decimal("0"))),
        created_by=actor,
    )
    for line in parsed:
        line.request = request
        line.save()
    ReturnStatusChange.objects.create(request=request, from_status="", to_status=R.REQUESTED, actor=actor)

    notify(
        supervisors_for(customer_obj.owner),
        title=_("%(kind)s %(number)s from %(customer)s waits for your approval")
        % {"kind": request.get_kind_display(), "number": request.number, "customer": customer_obj.name},
        body=_("Returned value %(amount)s.") % {"amount": request.total_amount},
        link=_link(request),
        category="return",
    )
    logger.info("Return %s created by user %s with %s lines", request.pk, actor.pk, len(parsed))
    return request


def _create_replacement_order(request):
    """Enter and submit a sales order for the exchanged products at the prices of the original orders."""
    from dentalsales.sales import services as sales

    quantities = defaultdict(int)
    prices = {}
    for line in request.lines.select_related("shipment_line__order_line").order_by("pk"):
        key = (line.product_id, line.unit_price)
        quantities[key] += line.quantity
        prices[key] = line.unit_price
    order_lines = [
        {
            "product": product_id,
            "quantity": quantity,
            "unit_price": prices[(product_id, unit_price)],
            sales.AGREED_PRICE_REASON: _("Exchange for return %(number)s at the original price.") % {"number": request.number},
        }
        for (product_id, unit_price), quantity in quantities.items()
    ]
    # The request's author enters the order, so that the supervisor who
    # approved the exchange can review the order like any other.
    author = request.created_by
    order, _created = sales.create_order(
        actor=author,
        customer=request.customer,
        lines=order_lines,
        channel="phone",
        note=_("Replacement for exchange %(number)s.") % {"number": request.number},
    )
    return sales.submit_order(actor=author, order=order)


@transaction.atomic
def approve_return(*, actor, request, note=""):
    """Approve a requested return; an exchange also gets its replacement order, entered and submitted for review.

    The reviewer may not approve a request they entered. Logistics, the
    quality officer and the representative are notified.
    """
    request = _lock_request(request, actor)
    _check_transition(request, actor, "approve")
    if request.created_by_id == actor.pk:
        raise NotPermitted(_("You entered this return yourself; another reviewer must approve it."))
    note = clean_text(note, field="note", label=_("note"))

    if request.kind == ReturnKind.EXCHANGE:
        request.replacement_order = _create_replacement_order(request)
    _record(request, actor, R.APPROVED, reason=note)

    notify(
        users_with_roles(*RECEIVING_ROLES),
        title=_("Return %(number)s from %(customer)s is approved: receive and inspect the goods")
        % {"number": request.number, "customer": request.customer.name},
        link=_link(request),
        category="return",
    )
    notify(
        [request.owner],
        title=_("Return %(number)s was approved") % {"number": request.number},
        body=(
            _("Replacement order %(order)s was submitted for review.") % {"order": request.replacement_order.number}
            if request.replacement_order_id
            else ""
        ),
        link=_link(request),
        category="return",
    )
    return request


@transaction.atomic
def reject_return(*, actor, request, reason):
    """Reject a requested return with the reason; its quantities become returnable again."""
    request = _lock_request(request, actor)
    _check_transition(request, actor, "reject")
    reason = clean_text(reason, field="reason", label=_("reason"), required=True)

    request.rejection_reason = reason
    _record(request, actor, R.REJECTED, reason=reason)
    notify(
        [request.owner],
        title=_("Return %(number)s was rejected") % {"number": request.number},
        body=reason,
        link=_link(request),
        category="return",
    )
    return request


@transaction.atomic
def cancel_return(*, actor, request, reason):
    """Withdraw a return before its goods are received, with the reason; its quantities become returnable again.

    Sales staff withdraw a requested return. An approved one (the customer
    kept the goods) may be withdrawn by a supervisor or manager, or by the
    representative who entered it; logistics, the quality officer and the
    approver are told not to expect the goods. An exchange's replacement
    order is cancelled too, under the order's own rules, so a
    representative cannot cancel an order that a supervisor already
    approved. Raises ``InvalidTransition`` when the replacement order has
    shipped goods, and ``NotPermitted`` when the actor may not withdraw an
    approved return. Locks the request, then the replacement order.
    """
    request = _lock_request(request, actor)
    _check_transition(request, actor, "cancel")
    if not _may_cancel(request, actor):
        raise NotPermitted(
            _("Return %(number)s is approved; only a supervisor, a manager or the representative who entered it can withdraw it.")
            % {"number": request.number}
        )
    reason = clean_text(reason, field="reason", label=_("reason"), required=True)
    was_approved = request.status == R.APPROVED

    order = request.replacement_order
    if order is not None and order.status != OrderStatus.CANCELLED:
        if order.status not in UNSHIPPED_ORDER_STATUSES:
            raise InvalidTransition(
                _(
                    "Exchange %(number)s cannot be withdrawn: its replacement order %(order)s is %(status)s, so goods have "
                    "shipped. Receive the returned goods instead, or ask the customer to return the replacement."
                )
                % {"number": request.number, "order": order.number, "status": order.get_status_display()}
            )
        from dentalsales.sales import services as sales

        sales.cancel_order(
            actor=actor, order=order, reason=_("Exchange %(number)s was withdrawn: %(reason)s") % {"number": request.number, "reason": reason}
        )

    request.cancellation_reason = reason
    _record(request, actor, R.CANCELLED, reason=reason)
    if was_approved:
        notify(
            [*users_with_roles(*RECEIVING_ROLES), *supervisors_for(request.owner), request.owner],
            title=_("Approved return %(number)s from %(customer)s was withdrawn; do not expect the goods")
            % {"number": request.number, "customer": request.customer.name},
            body=reason,
            link=_link(request),
            category="return",
        )
    return request


def _issue_credit_notes(request, actor, return_lines):
    """Credit the value of the units received, one credit note per shipment; return the credit notes issued.

    Each shipment has its own receivable, and finance caps the credit notes
    on a receivable at its invoiced amount, so a return drawing on several
    shipments is credited shipment by shipment.
    """
    from dentalsales.finance import services as finance
    from dentalsales.finance.models import Receivable

    by_shipment = {}
    for line in return_lines:
        shipment_id = line.shipment_line.shipment_id
        by_shipment[shipment_id] = by_shipment.get(shipment_id, Decimal("0")) + line.credited_amount
    receivables = {r.shipment_id: r for r in Receivable.objects.filter(shipment_id__in=by_shipment)}
    reason = _("Goods returned with %(kind)s %(number)s") % {"kind": request.get_kind_display(), "number": request.number}
    issued = []
    for shipment_id in sorted(by_shipment):
        amount = round_money(by_shipment[shipment_id])
        if amount <= 0:
            continue
        credit_note = finance.issue_credit_note(
            customer=request.customer,
            amount=amount,
            reason=reason,
            actor=actor,
            source_reference=request.number,
            receivable=receivables.get(shipment_id),
        )
        # None when the shipment's receivable was already credited in full; finance is notified.
        if credit_note is not None:
            issued.append(credit_note)
    return issued


OUTCOME_FIELDS = {
    Disposition.STOCK: "stock_quantity",
    Disposition.QUARANTINE: "quarantine_quantity",
    Disposition.SCRAP: "scrap_quantity",
}


def _receipt_entries(lines, entries, dispositions):
    """Return {line id: entry dict}, from ``entries`` (a list of dicts with ``id``) or the older ``dispositions`` mapping."""
    if entries is None:
        entries = [{"id": key, "disposition": value} for key, value in (dispositions or {}).items()]
    if not isinstance(entries, (list, tuple)) or any(not isinstance(entry, dict) for entry in entries):
        raise InvalidInput(_("Give one entry per return line with its received quantity and outcome."), field="lines")
    by_id = {}
    unknown = []
    line_ids = {line.pk for line in lines}
    for entry in entries:
        line_id = as_id(entry.get("id"))
        if line_id not in line_ids:
            unknown.append(entry.get("id"))
        else:
            by_id[line_id] = entry
    return by_id, unknown


def _clean_receipt_line(line, entry, prefix):
    """Set the line's received quantity, outcome split and note from ``entry``; return {field: [messages]} for what is wrong."""
    lot = line.lot.lot_number
    if entry is None:
        return {
            f"{prefix}.disposition": [
                _("Choose where lot %(lot)s goes: back to stock, to quarantine or to scrap.") % {"lot": lot}
            ]
        }
    raw_received = entry.get("received_quantity")
    received = line.quantity if raw_received in (None, "") else as_whole_number(raw_received)
    if received is None or not 0 <= received <= line.quantity:
        return {
            f"{prefix}.received_quantity": [
                _("The quantity received of lot %(lot)s must be a whole number from 0 to %(max)s (approved), not “%(value)s”.")
                % {"lot": lot, "max": line.quantity, "value": raw_received}
            ]
        }
    note = str(entry.get("note") or "").strip()
    if len(note) > 300:
        return {f"{prefix}.note": [_("The receipt note of lot %(lot)s is longer than 300 characters.") % {"lot": lot}]}
    if received < line.quantity and not note:
        return {
            f"{prefix}.note": [
                _("Only %(received)s of %(approved)s of lot %(lot)s arrived; give the reason.")
                % {"received": received, "approved": line.quantity, "lot": lot}
            ]
        }

    split = {}
    given = [disposition for disposition, field in OUTCOME_FIELDS.items() if entry.get(field) not in (None, "")]
    disposition = str(entry.get("disposition") or "").strip()
    if given:
        for outcome, field in OUTCOME_FIELDS.items():
            raw = entry.get(field)
            value = 0 if raw in (None, "") else as_whole_number(raw)
            if value is None or value < 0:
                return {
                    f"{prefix}.{field}": [
                        _("The quantity %(outcome)s of lot %(lot)s must be a whole number of at least 0, not “%(value)s”.")
                        % {"outcome": Disposition(outcome).label.lower(), "lot": lot, "value": raw}
                    ]
                }
            split[outcome] = value
        if sum(split.values()) != received:
            return {
                f"{prefix}.stock_quantity": [
                    _("The outcome of lot %(lot)s adds up to %(value)s, but %(received)s were received.")
                    % {"lot": lot, "value": sum(split.values()), "received": received}
                ]
            }
    elif disposition in Disposition.values:
        split = {outcome: (received if outcome == disposition else 0) for outcome in OUTCOME_FIELDS}
    elif disposition:
        return {
            f"{prefix}.disposition": [
                _("“%(value)s” is not a disposition; use one of %(choices)s.") % {"value": disposition, "choices": ", ".join(Disposition.values)}
            ]
        }
    elif received == 0:
        split = {outcome: 0 for outcome in OUTCOME_FIELDS}
    else:
        return {
            f"{prefix}.disposition": [
                _("Choose where lot %(lot)s goes: back to stock, to quarantine or to scrap.") % {"lot": lot}
            ]
        }

    line.received_quantity = received
    line.receipt_note = note
    for outcome, field in OUTCOME_FIELDS.items():
        setattr(line, field, split[outcome])
    used = [outcome for outcome, quantity in split.items() if quantity]
    line.disposition = used[0] if len(used) == 1 else ""
    line.credited_amount = line_amount(received, line.unit_price)
    return {}


@transaction.atomic
def receive_return(*, actor, request, lines=None, dispositions=None, note=""):
    """Receive and inspect an approved return: record what arrived per line and where each unit goes.

    ``lines`` has one dict per return line: ``id``, ``received_quantity``
    (0 up to the approved quantity; default the approved quantity),
    ``stock_quantity``, ``quarantine_quantity`` and ``scrap_quantity``
    adding up to the quantity received (or ``disposition`` to send every
    received unit one way), and ``note``, required when fewer units
    arrived than approved. ``dispositions`` (line id → ``stock``,
    ``quarantine`` or ``scrap``) is the shorter form for a full receipt.
    An expired, quarantined or recalled lot cannot go back to stock.

    Books the stock movements and credits the value of the units received
    (received quantity × the order line's unit price, whatever their
    outcome, since the customer gave them back); nothing received means no
    credit note. Notifies the representative and finance. Raises
    ``InvalidInput`` naming the line, the field and the value, and changes
    nothing, when any line is refused. Locks the request, then the balance
    rows, then (in finance) the customer.
    """
    request = _lock_request(request, actor)
    _check_transition(request, actor, "receive")
    note = clean_text(note, field="note", label=_("inspection note"))
    return_lines = list(request.lines.select_related("lot", "shipment_line__warehouse").order_by("pk"))
    entries, unknown = _receipt_entries(return_lines, lines, dispositions)
    errors = {}
    for index, line in enumerate(return_lines):
        errors.update(_clean_receipt_line(line, entries.get(line.pk), f"lines[{index}]"))
    if unknown:
        errors["lines"] = [
            _("Line %(value)s is not part of return %(number)s.") % {"value": sorted(unknown, key=str)[0], "number": request.number}
        ]
    if errors:
        raise InvalidInput(field_errors=errors)

    for line in return_lines:
        line.save(
            update_fields=[
                "received_quantity", "receipt_note", "stock_quantity", "quarantine_quantity", "scrap_quantity", "disposition",
                "credited_amount",
            ]
        )
    put_returned_goods(actor=actor, lines=return_lines, reference=request.number)
    _record_recall_recovery(request, return_lines)
    credited = round_money(sum((line.credited_amount for line in return_lines), Decimal("0")))
    request.credited_amount = credited
    if credited > 0:
        request.credit_note_number = ", ".join(note.number for note in _issue_credit_notes(request, actor, return_lines))
    request.inspection_note = note
    _record(request, actor, R.RECEIVED, reason=note)

    received = sum(line.received_quantity for line in return_lines)
    approved = sum(line.quantity for line in return_lines)
    if request.credit_note_number:
        title = _("Return %(number)s was received; credit note %(credit)s issued") % {"number": request.number, "credit": request.credit_note_number}
    elif credited > 0:
        title = _("Return %(number)s was received; its invoice was already credited in full, so no credit note was issued") % {
            "number": request.number
        }
    else:
        title = _("Return %(number)s was received; nothing arrived, so no credit note was issued") % {"number": request.number}
    notify(
        [request.owner, *users_with_roles(Role.FINANCE)],
        title=title,
        body=_("%(received)s of %(approved)s units arrived. Credited %(amount)s to %(customer)s.")
        % {"received": received, "approved": approved, "amount": credited, "customer": request.customer.name},
        link=_link(request),
        category="return",
    )
    if request.replacement_order_id and received < approved:
        _flag_replacement_order(request, received, approved)
    return request


def _record_recall_recovery(request, return_lines):
    """Add the units received of recalled lots to the recovered quantity of their open recalls."""
    from dentalsales.quality.services import record_returned_goods

    quantities = defaultdict(int)
    for line in return_lines:
        quantities[line.lot_id] += line.received_quantity or 0
    record_returned_goods(customer=request.customer, lot_quantities=quantities)


def _flag_replacement_order(request, received, approved):
    """Tell the supervisor that the exchange's replacement order asks for more units than came back.

    The order is not changed here, because changing an order's quantities
    is the reviewer's decision (amend, or cancel and enter again) and runs
    the order's own checks. The return page shows the same warning.
    """
    order = request.replacement_order
    if order.status == OrderStatus.CANCELLED:
        return
    notify(
        [*supervisors_for(request.owner), request.owner],
        title=_("Exchange %(number)s: only %(received)s of %(approved)s units came back; check replacement order %(order)s")
        % {"number": request.number, "received": received, "approved": approved, "order": order.number},
        body=_(
            "The replacement order asks for %(approved)s units. Before it ships, amend it to the %(received)s units received "
            "or cancel it; if it has shipped, settle the difference with the customer."
        )
        % {"approved": approved, "received": received},
        link=reverse("sales:order_detail", args=[order.pk]),
        category="return",
    )
