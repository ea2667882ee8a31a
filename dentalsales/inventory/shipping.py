"""Writes on a shipment after picking: outbound review, dispatch, delivery confirmation, cancelling the picking and delivery note prints.

A shipment moves picked → reviewed → dispatched → delivered, and from
picked or reviewed it may be cancelled (``TRANSITIONS``). Its stock already
left the warehouse balance at picking (``services.ship_allocations``), so
review, dispatch and delivery change no balance; cancelling the picking
puts the goods back. Each step locks the shipment row first, so two
people acting on one shipment at once queue and the second sees the new
state.
"""

import logging
import dataclasses
from collections import defaultdict

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import WAREHOUSE_ROLES, Role
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted, join_reasons
from dentalsales.core.timeutils import local_today
from dentalsales.notifications.services import notify, users_with_roles

from .models import (
    Allocation,
    LedgerReason,
    Lot,
    LotStatus,
    OutboundReview,
    OutboundReviewLine,
    ReviewFinding,
    ReviewLineResult,
    ReviewResult,
    Shipment,
    ShipmentStatus,
    StockBalance,
    StockLedgerEntry,
)
from .services import unavailable_lot_reason
from .udi import MalformedBarcode, parse_gs1

logger = logging.getLogger(__name__)

# Roles that may do the outbound review; the picker of the shipment never may.
REVIEW_ROLES = WAREHOUSE_ROLES | {Role.QUALITY_OFFICER}
# action: (states it may start from, roles allowed)
TRANSITIONS = {
    "review": ({ShipmentStatus.PICKED}, REVIEW_ROLES),
    "dispatch": ({ShipmentStatus.REVIEWED}, WAREHOUSE_ROLES),
    "confirm_delivery": ({ShipmentStatus.DISPATCHED}, WAREHOUSE_ROLES),
    # Only before dispatch: once goods have left, they come back as a customer return.
    "cancel_picking": ({ShipmentStatus.PICKED, ShipmentStatus.REVIEWED}, WAREHOUSE_ROLES),
}
# Roles that may print the delivery note as a document. Every user with access to the shipment may preview it.
PRINT_ROLES = WAREHOUSE_ROLES
SIGNED_RECEIPT_SIGNATURES = {
    ".pdf": (b"%PDF",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
}
MAX_SIGNED_RECEIPT_BYTES = 10 * 1024 * 1024


def allowed_shipment_actions(shipment, user):
    """Return the shipment actions ``user`` may attempt now (for buttons and API hints)."""
    actions = []
    for action, (sources, roles) in TRANSITIONS.items():
        if shipment.status in sources and user.has_role(*roles):
            if action == "review" and shipment.shipped_by_id == user.pk:
                continue
            actions.append(action)
    return actions


def _lock_shipment(shipment, actor, action):
    shipment = Shipment.objects.select_for_update(of=("self",)).select_related("order", "customer").get(pk=shipment.pk)
    sources, roles = TRANSITIONS[action]
    if not actor.has_role(*roles):
        raise NotPermitted(_("Your role may not do this step of a shipment."))
    if shipment.status not in sources:
        raise InvalidTransition(
            _("Shipment %(number)s is %(status)s; this step is not possible now.")
            % {"number": shipment.number, "status": shipment.get_status_display()}
        )
    return shipment


def _as_whole_number(value):
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value.strip())
    return value


def _scan_mismatches(code, line, today=None):
    """Return ``(finding, message)`` pairs for each way a scanned code differs from the line: product identifier, lot, expiry date.

    A plain lot label equal to the line's lot matches. A GS1 string is
    compared element by element, so the message names what differed rather
    than blaming the lot for another product's barcode. Empty when the code
    names the line.
    """
    code = code.strip()
    if code == line.lot_number:
        return []
    try:
        values = parse_gs1(code, today=today)
    except MalformedBarcode:
        return [(
            ReviewFinding.WRONG_LOT,
            _("Scanned “%(value)s” is neither lot %(lot)s nor a GS1 barcode naming it.") % {"value": code, "lot": line.lot_number},
        )]
    mismatches = []
    gtin = (values.get("gtin") or "").lstrip("0")
    product_di = (line.product.udi_di or "").lstrip("0")
    if gtin and product_di and gtin != product_di:
        mismatches.append((
            ReviewFinding.WRONG_PRODUCT,
            _("Scanned product identifier (UDI-DI) %(scanned)s is not %(expected)s of “%(product)s”.")
            % {"scanned": values["gtin"], "expected": line.product.udi_di, "product": line.product_name},
        ))
    scanned_lot = values.get("lot_number")
    if not scanned_lot:
        mismatches.append((
            ReviewFinding.WRONG_LOT,
            _("Scanned “%(value)s” carries no lot number (AI 10); the line is lot %(lot)s.") % {"value": code, "lot": line.lot_number},
        ))
    elif scanned_lot != line.lot_number:
        mismatches.append((
            ReviewFinding.WRONG_LOT,
            _("Scanned lot %(scanned)s is not lot %(lot)s of the line.") % {"scanned": scanned_lot, "lot": line.lot_number},
        ))
    scanned_expiry = values.get("expiry_date")
    if scanned_expiry and scanned_expiry != line.expiry_date:
        mismatches.append((
            ReviewFinding.WRONG_EXPIRY,
            _("Scanned expiry date %(scanned)s is not %(expiry)s of lot %(lot)s.")
            % {"scanned": scanned_expiry.isoformat(), "expiry": line.expiry_date.isoformat(), "lot": line.lot_number},
        ))
    return mismatches


def _lot_finding(lot, today):
    if lot.status == LotStatus.RECALLED:
        return ReviewFinding.LOT_RECALLED
    if lot.status == LotStatus.QUARANTINED:
        return ReviewFinding.LOT_QUARANTINED
    if unavailable_lot_reason(lot, today):
        return ReviewFinding.LOT_EXPIRED
    return ""


def _finding_sentence(finding, review_line):
    """Return the generated reason for ``finding`` in the active language, from what the review line stored."""
    line = review_line.shipment_line
    if finding in (ReviewFinding.WRONG_PRODUCT, ReviewFinding.WRONG_LOT, ReviewFinding.WRONG_EXPIRY):
        sentences = [message for _finding, message in _scan_mismatches(review_line.scanned_code, line)]
        return " ".join(sentences) or review_line.get_finding_display()
    if finding == ReviewFinding.SHORT:
        return _("Counted %(counted)s of %(picked)s picked.") % {"counted": review_line.confirmed_quantity, "picked": line.quantity}
    if finding == ReviewFinding.LOT_RECALLED:
        return _("Lot %(lot)s is recalled.") % {"lot": line.lot_number}
    if finding == ReviewFinding.LOT_QUARANTINED:
        return _("Lot %(lot)s is quarantined.") % {"lot": line.lot_number}
    if finding == ReviewFinding.LOT_EXPIRED:
        return _("Lot %(lot)s expired on %(date)s.") % {"lot": line.lot_number, "date": line.expiry_date}
    if finding == ReviewFinding.REPORTED:
        return _("Marked “%(result)s” by the reviewer.") % {"result": review_line.get_result_display()}
    return ""


def review_line_reason(review_line):
    """Return why a review line failed, in the reader's language, followed by the reviewer's own note; "" for a matching line without a note.

    The reason is built from the stored finding code, the scanned code and
    the counted quantity, so it is never empty for a failed line and reads
    in whichever language the page is shown in.
    """
    typed = "" if review_line.note_generated else review_line.note
    if review_line.finding == ReviewFinding.REPORTED and typed:
        # The reviewer's own words say more than the generated "marked damaged".
        return _("%(result)s: %(note)s") % {"result": review_line.get_result_display(), "note": typed}
    sentence = _finding_sentence(review_line.finding, review_line) if review_line.finding else ""
    return " ".join(part for part in (sentence, typed) if part)


@transaction.atomic
def review_shipment(*, actor, shipment, lines, note=""):
    """Record the outbound review (出库复核) of a picked shipment; return the ``OutboundReview``.

    ``lines`` maps each shipment-line id to a dict with ``result`` (a
    ``ReviewLineResult``, default ``ok``), ``quantity`` (units counted,
    default the picked quantity) and optionally ``scanned_code`` and
    ``note``. The review passes only when every line is ``ok``: a scanned
    code that names another product, lot or expiry date makes the line
    ``unmatched``, a recalled, quarantined or expired lot makes it
    ``expired``, and fewer units than picked make it ``unmatched``. Every
    failing line keeps a ``finding`` code, from which
    ``review_line_reason`` builds its reason; the reviewer's typed note is
    kept beside it. A passed review moves the shipment to ``reviewed``; a
    failed one is kept and the shipment stays ``picked`` for another review.

    Raises ``NotPermitted`` for the picker of the shipment and for roles
    other than logistics, managers and the quality officer,
    ``InvalidTransition`` unless the shipment is picked, and
    ``InvalidInput`` for a missing or unknown line, an unknown result or a
    quantity above what was picked. Locks the shipment row.
    """
    shipment = _lock_shipment(shipment, actor, "review")
    if shipment.shipped_by_id == actor.pk:
        raise NotPermitted(_("You picked shipment %(number)s; a second person must review it.") % {"number": shipment.number})
    shipment_lines = list(shipment.lines.select_related("lot", "product").order_by("pk"))
    by_id = {line.pk: line for line in shipment_lines}
    entries = {_as_whole_number(key): value for key, value in (lines or {}).items()}
    errors = {}
    for key in entries:
        if key not in by_id:
            errors[f"lines.{key}"] = [_("Line %(value)s is not part of shipment %(number)s.") % {"value": key, "number": shipment.number}]
    for line in shipment_lines:
        if line.pk not in entries:
            errors[f"lines.{line.pk}"] = [
                _("Confirm lot %(lot)s of “%(product)s” by scanning or ticking it.") % {"lot": line.lot_number, "product": line.product_name}
            ]
    if errors:
        raise InvalidInput(field_errors=errors)

    findings = []
    today = local_today()
    for line in shipment_lines:
        entry = entries[line.pk] or {}
        result = entry.get("result") or ReviewLineResult.OK
        if result not in ReviewLineResult.values:
            errors[f"lines.{line.pk}.result"] = [
                _("“%(value)s” is not a review result; use one of %(choices)s.")
                % {"value": result, "choices": ", ".join(ReviewLineResult.values)}
            ]
            continue
        quantity = _as_whole_number(entry.get("quantity", line.quantity))
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0 or quantity > line.quantity:
            errors[f"lines.{line.pk}.quantity"] = [
                _("Counted quantity must be a whole number from 0 to the %(picked)s picked, not “%(value)s”.")
                % {"picked": line.quantity, "value": entry.get("quantity")}
            ]
            continue
        scanned_code = (entry.get("scanned_code") or "").strip()[:200]
        line_note = (entry.get("note") or "").strip()[:200]
        finding = _lot_finding(line.lot, today)
        mismatches = _scan_mismatches(scanned_code, line, today) if scanned_code and not finding else []
        if finding:
            result = ReviewLineResult.EXPIRED
        elif mismatches:
            # A wrong barcode fails the line whatever was chosen; a reviewer's finding such as damaged stays.
            finding = mismatches[0][0]
            if result == ReviewLineResult.OK:
                result = ReviewLineResult.UNMATCHED
        elif quantity < line.quantity and result in (ReviewLineResult.OK, ReviewLineResult.UNMATCHED):
            result, finding = ReviewLineResult.UNMATCHED, ReviewFinding.SHORT
        elif result != ReviewLineResult.OK:
            finding = ReviewFinding.REPORTED
        findings.append((line, result, quantity, scanned_code, line_note, finding))
    if errors:
        raise InvalidInput(field_errors=errors)

    passed = all(result == ReviewLineResult.OK for _line, result, *_rest in findings)
    review = OutboundReview.objects.create(
        shipment=shipment,
        reviewer=actor,
        result=ReviewResult.PASSED if passed else ReviewResult.FAILED,
        note=(note or "").strip()[:300],
    )
    review_lines = [
        OutboundReviewLine(
            review=review, shipment_line=line, result=result, confirmed_quantity=quantity, scanned_code=code,
            note=line_note, finding=finding,
        )
        for line, result, quantity, code, line_note, finding in findings
    ]
    for review_line in review_lines:
        if review_line.finding and not review_line.note:
            # Every failed line keeps a readable reason, also for readers of the API or the admin.
            review_line.note = review_line_reason(review_line)[:200]
            review_line.note_generated = True
    OutboundReviewLine.objects.bulk_create(review_lines)
    if passed:
        shipment.status = ShipmentStatus.REVIEWED
        shipment.save(update_fields=["status"])
    logger.info("Shipment %s outbound review %s by user %s: %s", shipment.pk, review.pk, actor.pk, review.result)
    return review


def latest_review(shipment):
    return shipment.reviews.order_by("-reviewed_at", "-pk").first()


@transaction.atomic
def dispatch_shipment(*, actor, shipment, carrier=None, waybill_number=None, dispatched_on=None):
    """Hand a reviewed shipment to the carrier; return it.

    ``carrier`` and ``waybill_number`` replace the values given at picking
    when not None. ``dispatched_on`` (default: today) becomes the shipping
    date; it may not be before the day of picking or in the future.
    Refuses a shipment whose lot was recalled, quarantined or has expired
    since the review. Raises ``InvalidTransition`` unless the shipment is
    reviewed. Locks the shipment row.
    """
    shipment = _lock_shipment(shipment, actor, "dispatch")
    if carrier is not None:
        shipment.carrier = carrier.strip()
    if waybill_number is not None:
        shipment.waybill_number = waybill_number.strip()
    if not shipment.carrier:
        raise InvalidInput(_("Enter the carrier (or “own delivery” / “customer pick-up”)."), field="carrier")
    today = local_today()
    dispatched_on = dispatched_on or today
    picked_on = timezone.localtime(shipment.created_at).date()
    if dispatched_on > today or dispatched_on < picked_on:
        raise InvalidInput(
            _("Dispatch date %(value)s must be between the day of picking %(picked)s and today.")
            % {"value": dispatched_on, "picked": picked_on},
            field="dispatched_on",
        )
    for line in shipment.lines.select_related("lot").order_by("pk"):
        reason = unavailable_lot_reason(line.lot, today)
        if reason:
            raise InvalidInput(_("%(reason)s Shipment %(number)s cannot be dispatched.") % {"reason": reason, "number": shipment.number}, field="lines")

    shipment.status = ShipmentStatus.DISPATCHED
    shipment.shipped_on = dispatched_on
    shipment.dispatched_by = actor
    shipment.dispatched_at = timezone.now()
    shipment.save(update_fields=["status", "shipped_on", "dispatched_by", "dispatched_at", "carrier", "waybill_number"])
    _create_receivable(shipment, actor)
    _notify_order_owner(shipment)
    logger.info("Shipment %s dispatched by user %s", shipment.pk, actor.pk)
    return shipment


def _create_receivable(shipment, actor):
    # Goods leave the building here, so this is where the customer owes for them.
    # Imported here so that loading inventory does not load finance, which reads inventory and sales.
    from dentalsales.finance.services import create_receivable_for_shipment

    create_receivable_for_shipment(shipment, actor)


def _notify_order_owner(shipment):
    owner = shipment.order.owner
    title = _("Shipment %(number)s of order %(order)s was dispatched") % {"number": shipment.number, "order": shipment.order.number}
    body = _("Carrier %(carrier)s, waybill %(waybill)s.") % {"carrier": shipment.carrier, "waybill": shipment.waybill_number or "—"}
    link = reverse("inventory:shipment_detail", args=[shipment.pk])
    transaction.on_commit(lambda: notify([owner], title=title, body=body, link=link, category="shipment"))


def notify_reviewers(shipment):
    """Tell the people who may review a shipment, except its picker, that it waits for outbound review."""
    recipients = users_with_roles(*REVIEW_ROLES).exclude(pk=shipment.shipped_by_id)
    title = _("Shipment %(number)s waits for outbound review") % {"number": shipment.number}
    link = reverse("inventory:shipment_detail", args=[shipment.pk])
    transaction.on_commit(lambda: notify(list(recipients), title=title, link=link, category="outbound_review"))


def check_signed_receipt(upload):
    """Raise ``InvalidInput`` unless ``upload`` is a PDF, JPEG or PNG file of at most 10 MB, judged by its content."""
    name = getattr(upload, "name", "") or ""
    extension = ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""
    if extension not in SIGNED_RECEIPT_SIGNATURES:
        raise InvalidInput(_("“%(value)s” is not a PDF, JPEG or PNG file.") % {"value": name}, field="signed_receipt")
    if upload.size > MAX_SIGNED_RECEIPT_BYTES:
        raise InvalidInput(
            _("“%(value)s” is larger than 10 MB; scan it at a lower resolution.") % {"value": name}, field="signed_receipt"
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(signature) for signature in SIGNED_RECEIPT_SIGNATURES[extension]):
        raise InvalidInput(
            _("The content of “%(value)s” is not a %(kind)s file.") % {"value": name, "kind": extension[1:].upper()},
            field="signed_receipt",
        )


@transaction.atomic
def confirm_delivery(*, actor, shipment, signed_receipt, delivered_on=None):
    """Record that the customer received a dispatched shipment, with the signed receipt scan; return the shipment.

    ``delivered_on`` (default: today) may not be before the shipping date
    or in the future. Raises ``InvalidInput`` for a missing receipt or one
    that is not a PDF, JPEG or PNG of at most 10 MB, and
    ``InvalidTransition`` unless the shipment is dispatched. Locks the
    shipment row.
    """
    shipment = _lock_shipment(shipment, actor, "confirm_delivery")
    if not signed_receipt:
        raise InvalidInput(_("Choose the signed receipt to upload."), field="signed_receipt")
    check_signed_receipt(signed_receipt)
    today = local_today()
    delivered_on = delivered_on or today
    if delivered_on > today or delivered_on < shipment.shipped_on:
        raise InvalidInput(
            _("Delivery date %(value)s must be between the shipping date %(shipped)s and today.")
            % {"value": delivered_on, "shipped": shipment.shipped_on},
            field="delivered_on",
        )

    shipment.signed_receipt.save(signed_receipt.name, signed_receipt, save=False)
    shipment.status = ShipmentStatus.DELIVERED
    shipment.delivered_on = delivered_on
    shipment.delivery_confirmed_by = actor
    shipment.save(update_fields=["signed_receipt", "status", "delivered_on", "delivery_confirmed_by"])
    logger.info("Shipment %s delivered on %s, confirmed by user %s", shipment.pk, delivered_on, actor.pk)
    return shipment


@transaction.atomic
def print_delivery_note(*, actor, shipment):
    """Record one print of the shipment's accompanying delivery note; return its print number.

    Print 1 is the original and every later print is a copy (副本).
    Opening the note to look at it is a preview and is not counted. Raises
    ``NotPermitted`` for roles other than logistics, managers and
    administrators and ``InvalidTransition`` for a shipment whose picking
    was cancelled. Locks the shipment row, so two prints at once get
    numbers 1 and 2.
    """
    if not actor.has_role(*PRINT_ROLES):
        raise NotPermitted(_("Only logistics can print the accompanying delivery note."))
    shipment = Shipment.objects.select_for_update(of=("self",)).get(pk=shipment.pk)
    if shipment.status == ShipmentStatus.CANCELLED:
        raise InvalidTransition(
            _("The picking of shipment %(number)s was cancelled; its delivery note cannot be printed.") % {"number": shipment.number}
        )
    shipment.delivery_note_prints += 1
    # save() rather than update(), so that the shipment's history records who printed.
    shipment._history_user = actor
    shipment.save(update_fields=["delivery_note_prints"])
    logger.info("Shipment %s delivery note print %s by user %s", shipment.pk, shipment.delivery_note_prints, actor.pk)
    return shipment.delivery_note_prints


@dataclasses.dataclass
class PickingCancellation:
    """Outcome of ``cancel_picking``: the cancelled shipment and where its units went."""

    shipment: Shipment
    restocked: int = 0
    reserved_again: int = 0
    # (lot number, quantity, why the lot may not be reserved) for units the order lines now lack.
    backordered: list = dataclasses.field(default_factory=list)


@transaction.atomic
def cancel_picking(*, actor, shipment, reason):
    """Cancel a picked or reviewed shipment before dispatch and put its goods back into stock; return a ``PickingCancellation``.

    Every picked quantity goes back on hand in its lot and warehouse, with
    a ledger row (reason ``picking_cancelled``). Its reservation goes back
    to the order line while the lot may still be allocated. Units of a lot
    that is now recalled, quarantined or expired stay unreserved, and
    their order line keeps them as backorder. The order lines' shipped
    quantities go down by what was picked, and the order goes back to
    released, or stays partially shipped while another shipment holds
    goods of it, with a status change naming the shipment. The shipment
    is kept, with status ``cancelled``, the reason and who cancelled it.

    Raises ``NotPermitted`` for roles other than logistics, managers and
    administrators, ``InvalidTransition`` for a shipment that was
    dispatched, delivered or already cancelled and for an order that is
    not shipped or partially shipped, and ``InvalidInput`` for a missing
    reason. Locks the shipment, then its lots, then the order, then the
    lots' balance rows, each set by primary key: recalls lock lots before
    orders too, and sales transitions lock the order before balances.
    """
    from dentalsales.sales.models import OrderStatus, OrderStatusChange, SalesOrder

    shipment = _lock_shipment(shipment, actor, "cancel_picking")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Give the reason for cancelling the picking."), field="reason")
    lines = list(shipment.lines.order_by("pk"))
    lots = {lot.pk: lot for lot in Lot.objects.select_for_update().filter(pk__in={line.lot_id for line in lines}).order_by("pk")}
    order = SalesOrder.objects.select_for_update(of=("self",)).get(pk=shipment.order_id)
    if order.status not in (OrderStatus.SHIPPED, OrderStatus.PARTIALLY_SHIPPED):
        raise InvalidTransition(
            _("Order %(order)s is %(status)s; the picking of shipment %(number)s cannot be cancelled.")
            % {"order": order.number, "status": order.get_status_display(), "number": shipment.number}
        )
    balances = {
        (balance.warehouse_id, balance.lot_id): balance
        for balance in StockBalance.objects.select_for_update().filter(lot_id__in=lots.keys()).order_by("pk")
    }

    outcome = PickingCancellation(shipment=shipment)
    _put_back_picked_lines(shipment, lines, lots, balances, order, actor, outcome)

    order_lines = list(order.lines.all())
    to_status = OrderStatus.PARTIALLY_SHIPPED if any(line.shipped_quantity > 0 for line in order_lines) else OrderStatus.RELEASED
    OrderStatusChange.objects.create(
        order=order,
        from_status=order.status,
        to_status=to_status,
        actor=actor,
        reason=_("Picking of shipment %(number)s cancelled: %(reason)s") % {"number": shipment.number, "reason": reason},
    )
    order.status = to_status
    order.save()

    shipment.status = ShipmentStatus.CANCELLED
    shipment.cancelled_by = actor
    shipment.cancelled_at = timezone.now()
    shipment.cancellation_reason = reason[:300]
    shipment._history_user = actor
    shipment.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancellation_reason"])
    _notify_picking_cancelled(shipment, order, outcome)
    logger.info(
        "Shipment %s picking cancelled by user %s: %s units back in stock, %s reserved again, %s backordered",
        shipment.pk, actor.pk, outcome.restocked, outcome.reserved_again, sum(quantity for _lot, quantity, _why in outcome.backordered),
    )
    return outcome


def _put_back_picked_lines(shipment, lines, lots, balances, order, actor, outcome):
    """Book each picked line back into stock and onto its allocations; the caller holds every lock."""
    today = local_today()
    allocations = defaultdict(list)
    for allocation in Allocation.objects.filter(order_line__order=order, shipped_quantity__gt=0).order_by("-pk"):
        allocations[(allocation.order_line_id, allocation.warehouse_id, allocation.lot_id)].append(allocation)
    order_lines = {line.pk: line for line in order.lines.all()}
    for line in lines:
        lot = lots[line.lot_id]
        blocked_reason = unavailable_lot_reason(lot, today)
        balance = balances[(line.warehouse_id, line.lot_id)]
        balance.on_hand += line.quantity
        if not blocked_reason:
            balance.reserved += line.quantity
        balance.save(update_fields=["on_hand", "reserved"])
        StockLedgerEntry.objects.create(
            warehouse_id=line.warehouse_id,
            lot=lot,
            quantity=line.quantity,
            reason=LedgerReason.PICKING_CANCELLED,
            reference=shipment.number,
            created_by=actor,
        )

        remaining = line.quantity
        for allocation in allocations[(line.order_line_id, line.warehouse_id, line.lot_id)]:
            take = min(remaining, allocation.shipped_quantity)
            if take <= 0:
                continue
            allocation.shipped_quantity -= take
            if blocked_reason:
                # Closed rather than reopened, so that nothing ships from this lot for the order.
                allocation.released_quantity += take
            allocation.save(update_fields=["shipped_quantity", "released_quantity"])
            remaining -= take
        order_line = order_lines[line.order_line_id]
        order_line.shipped_quantity -= line.quantity
        order_line.save(update_fields=["shipped_quantity"])

        outcome.restocked += line.quantity
        if blocked_reason:
            outcome.backordered.append((line.lot_number, line.quantity, blocked_reason))
        else:
            outcome.reserved_again += line.quantity


def _notify_picking_cancelled(shipment, order, outcome):
    owner = order.owner
    title = _("The picking of shipment %(number)s of order %(order)s was cancelled") % {"number": shipment.number, "order": order.number}
    body = shipment.cancellation_reason
    if outcome.backordered:
        body += " " + backorder_message(outcome)
    link = reverse("sales:order_detail", args=[order.pk])
    transaction.on_commit(lambda: notify([owner], title=title, body=body, link=link, category="shipment"))


def backorder_message(outcome):
    """Return a sentence naming the units that went back to stock without their reservation, or "" when there are none."""
    if not outcome.backordered:
        return ""
    parts = [
        _("%(quantity)s of lot %(lot)s (%(reason)s)") % {"quantity": quantity, "lot": lot_number, "reason": why.rstrip(".。")}
        for lot_number, quantity, why in outcome.backordered
    ]
    return _("Not reserved again, now backorder on the order: %(lots)s.") % {"lots": join_reasons(parts)}
