"""Writes and checks of stock control: transfers between warehouses, stock counts and the stock invariants.

Like ``services``, every write locks the ``StockBalance`` rows it changes
with ``select_for_update`` in primary-key order and writes one ledger row
per change of stock on hand.
"""

import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import WAREHOUSE_ROLES, Role
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.services import next_document_number
from dentalsales.notifications.services import notify, users_with_roles

from .models import (
    Allocation,
    LedgerReason,
    Lot,
    StockBalance,
    StockCount,
    StockCountLine,
    StockCountStatus,
    StockLedgerEntry,
    StockTransfer,
)

logger = logging.getLogger(__name__)

# Roles that may approve or reject a stock count; the person who counted never may.
COUNT_APPROVAL_ROLES = frozenset({Role.MANAGER, Role.LOGISTICS, Role.QUALITY_OFFICER, Role.ADMINISTRATOR})


def _whole_number(value):
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _lock_balances(pairs):
    """Create missing balance rows, then lock every (warehouse, lot) pair's row in primary-key order; return them by pair."""
    for warehouse, lot in pairs:
        if not StockBalance.objects.filter(warehouse=warehouse, lot=lot).exists():
            # Created without a lock, so that every lock below is taken in primary-key order.
            try:
                with transaction.atomic():
                    StockBalance.objects.create(warehouse=warehouse, lot=lot)
            except IntegrityError:
                pass  # Another transaction created it first.
    condition = None
    for warehouse, lot in pairs:
        term = StockBalance.objects.filter(warehouse=warehouse, lot=lot)
        condition = term if condition is None else condition | term
    balances = StockBalance.objects.select_for_update().filter(pk__in=condition.values("pk")).order_by("pk")
    return {(balance.warehouse_id, balance.lot_id): balance for balance in balances}


@transaction.atomic
def transfer_stock(*, actor, lot, from_warehouse, to_warehouse, quantity, note=""):
    """Move ``quantity`` units of a lot between warehouses; return the ``StockTransfer``.

    Only unreserved units move, so no order loses its reservation. A
    quarantined or recalled lot may move (to a quarantine store, for
    example) and keeps its status. Raises ``InvalidInput`` for a quantity
    that is not a whole number of at least 1 or exceeds the unreserved
    units, for the same warehouse twice and for an inactive destination.
    Locks both balance rows in primary-key order.
    """
    if not actor.has_role(*WAREHOUSE_ROLES):
        raise NotPermitted(_("Only logistics can transfer stock."))
    number = _whole_number(quantity)
    if number is None or number < 1:
        raise InvalidInput(_("Quantity must be a whole number of at least 1, not “%(value)s”.") % {"value": quantity}, field="quantity")
    if from_warehouse.pk == to_warehouse.pk:
        raise InvalidInput(_("Choose a destination other than “%(value)s”.") % {"value": from_warehouse}, field="to_warehouse")
    if not to_warehouse.is_active:
        raise InvalidInput(_("Warehouse “%(value)s” is not active.") % {"value": to_warehouse}, field="to_warehouse")

    balances = _lock_balances([(from_warehouse, lot), (to_warehouse, lot)])
    source = balances[(from_warehouse.pk, lot.pk)]
    target = balances[(to_warehouse.pk, lot.pk)]
    if number > source.available:
        raise InvalidInput(
            _("Cannot transfer %(value)s of lot %(lot)s: %(available)s unreserved in %(warehouse)s.")
            % {"value": number, "lot": lot.lot_number, "available": source.available, "warehouse": from_warehouse},
            field="quantity",
        )

    transfer = StockTransfer.objects.create(
        number=next_document_number("TR"),
        lot=lot,
        from_warehouse=from_warehouse,
        to_warehouse=to_warehouse,
        quantity=number,
        note=(note or "").strip()[:200],
        created_by=actor,
    )
    source.on_hand -= number
    source.save(update_fields=["on_hand"])
    target.on_hand += number
    target.save(update_fields=["on_hand"])
    StockLedgerEntry.objects.bulk_create(
        [
            StockLedgerEntry(warehouse=from_warehouse, lot=lot, quantity=-number, reason=LedgerReason.TRANSFER, reference=transfer.number, created_by=actor),
            StockLedgerEntry(warehouse=to_warehouse, lot=lot, quantity=number, reason=LedgerReason.TRANSFER, reference=transfer.number, created_by=actor),
        ]
    )
    logger.info("Transfer %s: lot %s quantity %s from warehouse %s to %s", transfer.number, lot.pk, number, from_warehouse.pk, to_warehouse.pk)
    return transfer


@transaction.atomic
def submit_stock_count(*, actor, warehouse, lines):
    """Record a stock count in one warehouse for approval; return the ``StockCount``.

    ``lines`` are dicts with ``lot`` (a Lot or its id), ``counted_quantity``
    and ``reason``. The quantity on record is read now, so the difference
    approved later is counted minus that. Changes no stock. Raises
    ``InvalidInput`` for no lines, an unknown or repeated lot, a counted
    quantity that is not a whole number of at least 0, and a difference
    without a reason.
    """
    if not actor.has_role(*WAREHOUSE_ROLES):
        raise NotPermitted(_("Only logistics can record stock counts."))
    if not lines:
        raise InvalidInput(_("Add at least one counted lot."), field="lines")
    lot_ids = [getattr(line.get("lot"), "pk", line.get("lot")) if isinstance(line, dict) else None for line in lines]
    lots = Lot.objects.in_bulk([lot_id for lot_id in lot_ids if isinstance(lot_id, int)])
    on_record = dict(
        StockBalance.objects.filter(warehouse=warehouse, lot_id__in=lots).values_list("lot_id", "on_hand")
    )
    errors = {}
    seen = set()
    count_lines = []
    for index, (data, lot_id) in enumerate(zip(lines, lot_ids)):
        prefix = f"lines[{index}]"
        lot = lots.get(lot_id)
        if lot is None:
            errors[f"{prefix}.lot"] = [_("Unknown lot “%(value)s”.") % {"value": lot_id}]
            continue
        if lot.pk in seen:
            errors[f"{prefix}.lot"] = [_("Lot %(lot)s is counted twice.") % {"lot": lot.lot_number}]
            continue
        seen.add(lot.pk)
        counted = _whole_number(data.get("counted_quantity"))
        if counted is None or counted < 0:
            errors[f"{prefix}.counted_quantity"] = [
                _("Counted quantity must be a whole number of at least 0, not “%(value)s”.") % {"value": data.get("counted_quantity")}
            ]
            continue
        system_quantity = on_record.get(lot.pk, 0)
        reason = (data.get("reason") or "").strip()
        if counted != system_quantity and not reason:
            errors[f"{prefix}.reason"] = [
                _("Lot %(lot)s: counted %(counted)s against %(system)s on record; give the reason for the difference.")
                % {"lot": lot.lot_number, "counted": counted, "system": system_quantity}
            ]
            continue
        count_lines.append(StockCountLine(lot=lot, system_quantity=system_quantity, counted_quantity=counted, reason=reason[:200]))
    if errors:
        raise InvalidInput(field_errors=errors)

    count = StockCount.objects.create(number=next_document_number("ST"), warehouse=warehouse, counted_by=actor)
    for line in count_lines:
        line.count = count
    StockCountLine.objects.bulk_create(count_lines)
    if any(line.difference for line in count_lines):
        recipients = users_with_roles(*COUNT_APPROVAL_ROLES).exclude(pk=actor.pk)
        title = _("Stock count %(number)s waits for approval") % {"number": count.number}
        link = reverse("inventory:stock_count_detail", args=[count.pk])
        transaction.on_commit(lambda: notify(list(recipients), title=title, link=link, category="stock_count"))
    logger.info("Stock count %s submitted by user %s with %s lines", count.number, actor.pk, len(count_lines))
    return count


def _lock_count(count, actor):
    count = StockCount.objects.select_for_update(of=("self",)).select_related("warehouse").get(pk=count.pk)
    if not actor.has_role(*COUNT_APPROVAL_ROLES):
        raise NotPermitted(_("Your role may not approve stock counts."))
    if count.counted_by_id == actor.pk:
        raise NotPermitted(_("You recorded stock count %(number)s; a second person must approve it.") % {"number": count.number})
    if count.status != StockCountStatus.SUBMITTED:
        raise InvalidTransition(
            _("Stock count %(number)s is %(status)s already.") % {"number": count.number, "status": count.get_status_display()}
        )
    return count


@transaction.atomic
def approve_stock_count(*, actor, count, note=""):
    """Apply a stock count's differences as ledger rows (reason ``count``); return the count.

    Each difference is counted minus the quantity on record when the count
    was submitted, so receipts and shipments since then are kept. Raises
    ``NotPermitted`` for the person who counted, ``InvalidTransition``
    unless the count waits for approval, and ``InvalidInput`` when a
    difference would take stock below zero or below what is reserved.
    Locks the count row, then the balance rows in primary-key order.
    """
    count = _lock_count(count, actor)
    lines = [line for line in count.lines.select_related("lot").order_by("pk") if line.difference]
    balances = _lock_balances([(count.warehouse, line.lot) for line in lines]) if lines else {}
    errors = []
    for line in lines:
        balance = balances[(count.warehouse_id, line.lot_id)]
        if balance.on_hand + line.difference < balance.reserved:
            errors.append(
                _("Lot %(lot)s: %(on_hand)s on hand %(difference)+d would leave less than the %(reserved)s reserved.")
                % {"lot": line.lot.lot_number, "on_hand": balance.on_hand, "difference": line.difference, "reserved": balance.reserved}
            )
    if errors:
        raise InvalidInput(" ".join(errors), field="lines")

    for line in lines:
        balance = balances[(count.warehouse_id, line.lot_id)]
        balance.on_hand += line.difference
        balance.save(update_fields=["on_hand"])
        StockLedgerEntry.objects.create(
            warehouse=count.warehouse, lot=line.lot, quantity=line.difference, reason=LedgerReason.STOCK_COUNT,
            reference=count.number, created_by=actor,
        )
    count.status = StockCountStatus.APPROVED
    count.decided_by = actor
    count.decided_at = timezone.now()
    count.decision_note = (note or "").strip()[:300]
    count.save()
    logger.info("Stock count %s approved by user %s: %s adjustments", count.number, actor.pk, len(lines))
    return count


@transaction.atomic
def reject_stock_count(*, actor, count, note):
    """Close a stock count without changing stock; ``note`` (the reason) is required. Locks the count row."""
    count = _lock_count(count, actor)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Give the reason for rejecting the stock count."), field="note")
    count.status = StockCountStatus.REJECTED
    count.decided_by = actor
    count.decided_at = timezone.now()
    count.decision_note = note[:300]
    count.save()
    logger.info("Stock count %s rejected by user %s", count.number, actor.pk)
    return count


def stock_invariant_breaches():
    """Return a description of every breach of the stock invariants; an empty list when stock is consistent.

    Checked per warehouse and lot: on hand equals the sum of the ledger,
    nothing is negative, reserved is at most on hand, and reserved equals
    the open reservations of orders. Reads without locks, so run it when no
    stock is moving or repeat it before acting on a breach.
    """
    breaches = []
    ledger = defaultdict(int)
    for row in StockLedgerEntry.objects.values("warehouse_id", "lot_id").annotate(total=Sum("quantity")):
        ledger[(row["warehouse_id"], row["lot_id"])] = row["total"] or 0
    open_reserved = defaultdict(int)
    allocations = Allocation.objects.filter(quantity__gt=F("shipped_quantity") + F("released_quantity"))
    for row in allocations.values("warehouse_id", "lot_id").annotate(
        total=Sum(F("quantity") - F("shipped_quantity") - F("released_quantity"))
    ):
        open_reserved[(row["warehouse_id"], row["lot_id"])] = row["total"] or 0

    seen = set()
    for balance in StockBalance.objects.select_related("warehouse", "lot").order_by("pk"):
        key = (balance.warehouse_id, balance.lot_id)
        seen.add(key)
        where = _("warehouse %(warehouse)s, lot %(lot)s") % {"warehouse": balance.warehouse.code, "lot": balance.lot.lot_number}
        if balance.on_hand != ledger[key]:
            breaches.append(
                _("%(where)s: on hand %(on_hand)s but the ledger sums to %(ledger)s.") % {"where": where, "on_hand": balance.on_hand, "ledger": ledger[key]}
            )
        if balance.on_hand < 0 or balance.reserved < 0:
            breaches.append(
                _("%(where)s: negative stock (on hand %(on_hand)s, reserved %(reserved)s).")
                % {"where": where, "on_hand": balance.on_hand, "reserved": balance.reserved}
            )
        if balance.reserved > balance.on_hand:
            breaches.append(
                _("%(where)s: reserved %(reserved)s is more than the %(on_hand)s on hand.")
                % {"where": where, "reserved": balance.reserved, "on_hand": balance.on_hand}
            )
        if balance.reserved != open_reserved[key]:
            breaches.append(
                _("%(where)s: reserved %(reserved)s but open reservations of orders sum to %(open)s.")
                % {"where": where, "reserved": balance.reserved, "open": open_reserved[key]}
            )
    for key, total in ledger.items():
        if key not in seen and total != 0:
            breaches.append(
                _("Warehouse id %(warehouse)s, lot id %(lot)s: the ledger sums to %(ledger)s but there is no stock balance.")
                % {"warehouse": key[0], "lot": key[1], "ledger": total}
            )
    return breaches
