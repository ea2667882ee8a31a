"""Stock movements of returned goods.

Returned goods go back to stock in the warehouse they left from, or to the
quarantine warehouse, or to scrap. The inventory app marks quarantine per
lot (``LotStatus.QUARANTINED``), which would block the lot's sound units
too, so quarantined returns are kept apart in a dedicated warehouse with
code ``QUARANTINE``. That warehouse is inactive, and allocation and every
availability figure (``inventory.selectors``) only count stock in active
warehouses, so nothing in it is ever sold or shown as available.
"""

import logging

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from dentalsales.core.errors import InvalidInput
from dentalsales.inventory.models import LedgerReason, LotStatus, StockBalance, StockLedgerEntry, Warehouse
from dentalsales.inventory.selectors import QUARANTINE_WAREHOUSE_CODE

logger = logging.getLogger(__name__)


def quarantine_warehouse():
    """Return the quarantine warehouse, creating it (inactive, so never allocated from) on first use."""
    warehouse, created = Warehouse.objects.get_or_create(
        code=QUARANTINE_WAREHOUSE_CODE,
        defaults={"name": "退货隔离区", "is_active": False},
    )
    if created:
        logger.info("Quarantine warehouse %s created", warehouse.pk)
    return warehouse


def must_be_quarantined(lot):
    """Tell whether a returned lot may not go back to sellable stock: expired, quarantined or recalled."""
    return lot.is_expired or lot.status != LotStatus.AVAILABLE


def _ensure_balance(warehouse, lot):
    if not StockBalance.objects.filter(warehouse=warehouse, lot=lot).exists():
        try:
            with transaction.atomic():
                StockBalance.objects.create(warehouse=warehouse, lot=lot)
        except IntegrityError:
            pass  # Another transaction created it first.


def put_returned_goods(*, actor, lines, reference):
    """Book the received units of each return line by its outcome split; return the ledger entries.

    ``stock_quantity`` units go back to the warehouse the line shipped
    from, ``quarantine_quantity`` to the quarantine warehouse, and
    ``scrap_quantity`` into the quarantine warehouse and straight out again
    with reason ``SCRAP``, so the ledger shows both the return and the
    scrapping. Raises ``InvalidInput`` naming the lot when units of an
    expired, quarantined or recalled lot are sent back to stock. Locks the
    balance rows in primary-key order. The caller runs this inside its
    transaction and has saved each line's quantities.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("put_returned_goods() must run inside the return's transaction.")
    quarantine = None
    # (line, warehouse, units in, units scrapped at once)
    moves = []
    for line in lines:
        if line.stock_quantity:
            if must_be_quarantined(line.lot):
                raise InvalidInput(
                    _("Lot %(lot)s is %(status)s (expiry date %(expiry)s); it can go to quarantine or scrap, not back to stock.")
                    % {"lot": line.lot.lot_number, "status": line.lot.effective_status_label, "expiry": line.lot.expiry_date},
                    field="disposition",
                )
            moves.append((line, line.shipment_line.warehouse, line.stock_quantity, 0))
        if line.quarantine_quantity or line.scrap_quantity:
            quarantine = quarantine or quarantine_warehouse()
            moves.append((line, quarantine, line.quarantine_quantity + line.scrap_quantity, line.scrap_quantity))

    for line, warehouse, _units, _scrapped in moves:
        _ensure_balance(warehouse, line.lot)
    keys = {(warehouse.pk, line.lot_id) for line, warehouse, _units, _scrapped in moves}
    balances = {
        (balance.warehouse_id, balance.lot_id): balance
        for balance in StockBalance.objects.select_for_update()
        .filter(lot_id__in={lot_id for _warehouse_id, lot_id in keys})
        .order_by("pk")
        if (balance.warehouse_id, balance.lot_id) in keys
    }

    entries = []
    for line, warehouse, units, scrapped in moves:
        balance = balances[(warehouse.pk, line.lot_id)]
        balance.on_hand += units
        entries.append(
            StockLedgerEntry.objects.create(
                warehouse=warehouse, lot=line.lot, quantity=units, reason=LedgerReason.CUSTOMER_RETURN, reference=reference, created_by=actor
            )
        )
        if scrapped:
            balance.on_hand -= scrapped
            entries.append(
                StockLedgerEntry.objects.create(
                    warehouse=warehouse, lot=line.lot, quantity=-scrapped, reason=LedgerReason.SCRAP, reference=reference, created_by=actor
                )
            )
        balance.save(update_fields=["on_hand"])
    for line in lines:
        # The warehouse the sellable units went to, else the quarantine warehouse; the ledger has every movement.
        if line.stock_quantity:
            line.warehouse = line.shipment_line.warehouse
        elif line.quarantine_quantity or line.scrap_quantity:
            line.warehouse = quarantine
        else:
            continue
        line.save(update_fields=["warehouse"])
    logger.info("Return %s: %s ledger entries booked by user %s", reference, len(entries), actor.pk)
    return entries
