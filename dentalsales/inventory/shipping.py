"""Writes on a shipment after picking: outbound review, dispatch, delivery confirmation and delivery note prints.

A shipment moves picked → reviewed → dispatched → delivered (``TRANSITIONS``).
Its stock already left the warehouse balance at picking
(``services.ship_allocations``), so these steps change no balance. Each
step locks the shipment row first, so two people acting on one shipment
at once queue and the second sees the new state.
"""

import logging

from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import WAREHOUSE_ROLES, Role
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.notifications.services import notify, users_with_roles

from .models import (
    OutboundReview,
    OutboundReviewLine,
    ReviewLineResult,
    ReviewResult,
    Shipment,
    ShipmentStatus,
)
from .services import unavailable_lot_reason
from .udi import MalformedBarcode, parse_gs1

logger = logging.getLogger(__name__)

# TODO: a picked shipment cannot yet be cancelled back into stock, so one whose lot is recalled, or
# whose failed review cannot be fixed by swapping units of the same lot, stays picked for good.
# Roles that may do the outbound review; the picker of the shipment never may.
REVIEW_ROLES = WAREHOUSE_ROLES | {Role.QUALITY_OFFICER}
# action: (states it may start from, roles allowed)
TRANSITIONS = {
    "review": ({ShipmentStatus.PICKED}, REVIEW_ROLES),
    "dispatch": ({ShipmentStatus.REVIEWED}, WAREHOUSE_ROLES),
    "confirm_delivery": ({ShipmentStatus.DISPATCHED}, WAREHOUSE_ROLES),
}
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


def _scan_matches(code, line):
    """Tell whether a scanned barcode names the line's lot (and product, when the barcode carries a GS1 DI)."""
    code = code.strip()
    if code == line.lot_number:
        return True
    try:
        values = parse_gs1(code)
    except MalformedBarcode:
        return False
    if values.get("lot_number") != line.lot_number:
        return False
    gtin = (values.get("gtin") or "").lstrip("0")
    product_di = (line.product.udi_di or "").lstrip("0")
    return not (gtin and product_di and gtin != product_di)


@transaction.atomic
def review_shipment(*, actor, shipment, lines, note=""):
    """Record the outbound review (出库复核) of a picked shipment; return the ``OutboundReview``.

    ``lines`` maps each shipment-line id to a dict with ``result`` (a
    ``ReviewLineResult``, default ``ok``), ``quantity`` (units counted,
    default the picked quantity) and optionally ``scanned_code`` and
    ``note``. The review passes only when every line is ``ok``: a scanned
    code that names another lot or product makes the line ``unmatched``, a
    recalled, quarantined or expired lot makes it ``expired``, and fewer
    units than picked make it ``unmatched``. A passed review moves the
    shipment to ``reviewed``; a failed one is kept and the shipment stays
    ``picked`` for another review.

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
        scanned_code = (entry.get("scanned_code") or "").strip()
        line_note = (entry.get("note") or "").strip()
        lot_problem = unavailable_lot_reason(line.lot, today)
        if lot_problem:
            result, line_note = ReviewLineResult.EXPIRED, lot_problem
        elif result == ReviewLineResult.OK and scanned_code and not _scan_matches(scanned_code, line):
            result = ReviewLineResult.UNMATCHED
            line_note = _("Scanned “%(value)s” does not match lot %(lot)s.") % {"value": scanned_code, "lot": line.lot_number}
        elif result == ReviewLineResult.OK and quantity < line.quantity:
            result = ReviewLineResult.UNMATCHED
            line_note = _("Counted %(counted)s of %(picked)s picked.") % {"counted": quantity, "picked": line.quantity}
        findings.append((line, result, quantity, scanned_code, line_note[:200]))
    if errors:
        raise InvalidInput(field_errors=errors)

    passed = all(result == ReviewLineResult.OK for _line, result, *_rest in findings)
    review = OutboundReview.objects.create(
        shipment=shipment,
        reviewer=actor,
        result=ReviewResult.PASSED if passed else ReviewResult.FAILED,
        note=(note or "").strip()[:300],
    )
    OutboundReviewLine.objects.bulk_create(
        OutboundReviewLine(
            review=review, shipment_line=line, result=result, confirmed_quantity=quantity, scanned_code=code[:200], note=line_note
        )
        for line, result, quantity, code, line_note in findings
    )
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


def record_delivery_note_print(shipment):
    """Count one print of the shipment's delivery note; return True when it is a reprint, to be marked as a copy (副本)."""
    with transaction.atomic():
        Shipment.objects.filter(pk=shipment.pk).update(delivery_note_prints=F("delivery_note_prints") + 1)
        prints = Shipment.objects.filter(pk=shipment.pk).values_list("delivery_note_prints", flat=True).get()
    return prints > 1
