"""Writes on stock: receiving, allocation, shipping and release of reservations.

Every function that changes stock locks the ``StockBalance`` rows it reads
with ``select_for_update``, always ordered by primary key, so concurrent
callers queue instead of deadlocking, and it writes one ledger row per
change of stock on hand.
"""

import dataclasses
import logging
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import WAREHOUSE_ROLES, Role
from dentalsales.core.errors import (
    InsufficientStock,
    InvalidInput,
    InvalidTransition,
    NotPermitted,
    join_reasons,
)
from dentalsales.core.services import next_document_number
from dentalsales.core.timeutils import earliest_acceptable_expiry, is_expired, local_today

from .models import (
    Allocation,
    GoodsReceipt,
    InspectionResult,
    LedgerReason,
    Lot,
    LotStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    StockBalance,
    StockLedgerEntry,
)
from .udi import MalformedBarcode, parse_gs1


logger = logging.getLogger(__name__)

# The maximum number of units one goods receipt may record, as for order lines.
# Larger numbers are typing errors, and the ledger's integer columns stay far from their limit.
MAX_RECEIPT_QUANTITY = 100_000


def _locked_balance(warehouse, lot):
    if not StockBalance.objects.filter(warehouse=warehouse, lot=lot).exists():
        try:
            with transaction.atomic():
                StockBalance.objects.create(warehouse=warehouse, lot=lot)
        except IntegrityError:
            pass  # Another transaction created it first; lock theirs.
    return StockBalance.objects.select_for_update().get(warehouse=warehouse, lot=lot)


def receive_stock(
    *,
    actor,
    product,
    warehouse,
    lot_number,
    production_date,
    expiry_date,
    quantity,
    note="",
    received_on=None,
    supplier="",
    serial_number="",
    udi="",
    inspection_result=InspectionResult.ACCEPTED,
    inspection_note="",
    idempotency_key="",
):
    """Record a goods receipt with its receiving inspection; return the ``GoodsReceipt``.

    Creates the lot on its first receipt; a later receipt of the same lot
    number must carry the same dates, and a lot number already used for
    another product is refused. The inspection result decides what
    happens to the goods: accepted goods become stock, quarantined goods
    become stock of a quarantined lot (not allocated until a quality
    officer releases the lot), rejected goods go back to the supplier and
    change no stock. Rejection and quarantine need the reason in
    ``inspection_note``.

    Refuses (``InvalidInput`` naming the field) a quantity that is not a
    whole number of at least 1, an expiry before production and a
    production date after the day of receipt. Unless the goods are
    rejected, also refuses a lot already expired on that day, an expired
    registration, an inactive warehouse and a recalled lot.
    ``received_on`` (default: today) exists for entering past receipts,
    such as stock taken over from an older system.

    Also refuses a quantity above ``MAX_RECEIPT_QUANTITY``, a serial number
    with a quantity other than 1, a serial number already received for the
    product (rejected receipts aside), and a UDI that lacks the product
    identifier (AI 01) or whose product identifier, lot, dates or serial
    number differ from the receipt's.

    A second call by the same user with the same non-empty
    ``idempotency_key`` (the web form's token or the API's
    ``Idempotency-Key``) returns the first receipt with ``replayed`` set to
    True and changes nothing; a key reused with other values raises
    ``InvalidTransition``. Locks the product row (serial numbers), then the
    lot's balance row in the warehouse.
    """
    if not actor.has_role(*WAREHOUSE_ROLES):
        raise NotPermitted(_("Only logistics can receive stock."))
    idempotency_key = (idempotency_key or "").strip()
    request_values = {
        "product": getattr(product, "pk", product), "warehouse": getattr(warehouse, "pk", warehouse),
        "lot_number": (lot_number or "").strip(), "quantity": quantity, "serial_number": (serial_number or "").strip(),
    }
    existing = _receipt_with_key(actor, idempotency_key)
    if existing is not None:
        return _check_receipt_replay(existing, request_values)
    try:
        with transaction.atomic():
            receipt = _receive_stock(
                actor=actor, product=product, warehouse=warehouse, lot_number=lot_number, production_date=production_date,
                expiry_date=expiry_date, quantity=quantity, note=note, received_on=received_on, supplier=supplier,
                serial_number=serial_number, udi=udi, inspection_result=inspection_result, inspection_note=inspection_note,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # A concurrent request with the same key committed first.
        existing = _receipt_with_key(actor, idempotency_key)
        if existing is None:
            raise
        return _check_receipt_replay(existing, request_values)
    receipt.replayed = False
    return receipt


def _receipt_with_key(actor, idempotency_key):
    if not idempotency_key:
        return None
    receipt = GoodsReceipt.objects.select_related("lot", "lot__product", "warehouse").filter(
        received_by=actor, idempotency_key=idempotency_key
    ).first()
    if receipt is not None:
        receipt.replayed = True
    return receipt


def _check_receipt_replay(receipt, request_values):
    """Return the stored ``receipt`` for a repeated key, or raise when the repeat asks for a different receipt."""
    stored = {
        "product": receipt.lot.product_id, "warehouse": receipt.warehouse_id, "lot_number": receipt.lot.lot_number,
        "quantity": receipt.quantity, "serial_number": receipt.serial_number,
    }
    if stored != request_values:
        raise InvalidTransition(
            _("The Idempotency-Key “%(key)s” was already used for receipt %(number)s with different values; use a new key for a new receipt.")
            % {"key": receipt.idempotency_key, "number": receipt.number},
            code="idempotency_key_reused",
        )
    return receipt


def _receive_stock(
    *, actor, product, warehouse, lot_number, production_date, expiry_date, quantity, note, received_on, supplier, serial_number,
    udi, inspection_result, inspection_note, idempotency_key,
):
    lot_number = (lot_number or "").strip()
    serial_number = (serial_number or "").strip()
    if not lot_number:
        raise InvalidInput(_("Enter the lot number."), field="lot_number")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(_("Quantity must be a whole number of at least 1, not “%(value)s”.") % {"value": quantity}, field="quantity")
    if quantity > MAX_RECEIPT_QUANTITY:
        raise InvalidInput(
            _("Quantity %(value)s is more than the %(max)s that one receipt may record; check the quantity or split the delivery.")
            % {"value": quantity, "max": MAX_RECEIPT_QUANTITY},
            field="quantity",
        )
    if serial_number and quantity != 1:
        raise InvalidInput(
            _("Serial number %(serial)s identifies one unit, so the quantity must be 1, not %(value)s.")
            % {"serial": serial_number, "value": quantity},
            field="quantity",
        )
    if expiry_date < production_date:
        raise InvalidInput(
            _("Expiry date %(expiry)s is before production date %(production)s.")
            % {"expiry": expiry_date, "production": production_date},
            field="expiry_date",
        )
    received_on = received_on or local_today()
    if production_date > received_on:
        raise InvalidInput(
            _("Production date %(value)s is after the day of receipt %(day)s.") % {"value": production_date, "day": received_on},
            field="production_date",
        )
    if inspection_result not in InspectionResult.values:
        raise InvalidInput(
            _("“%(value)s” is not an inspection result; use one of %(choices)s.")
            % {"value": inspection_result, "choices": ", ".join(InspectionResult.values)},
            field="inspection_result",
        )
    inspection_note = (inspection_note or "").strip()
    if inspection_result != InspectionResult.ACCEPTED and not inspection_note:
        raise InvalidInput(
            _("Give the reason why the goods are %(result)s.") % {"result": InspectionResult(inspection_result).label.lower()},
            field="inspection_note",
        )
    for_sale = inspection_result != InspectionResult.REJECTED
    if for_sale:
        _check_receivable_for_sale(product=product, warehouse=warehouse, expiry_date=expiry_date, received_on=received_on)
    other_product_lot = Lot.objects.filter(lot_number=lot_number).exclude(product=product).select_related("product").first()
    if other_product_lot is not None:
        raise InvalidInput(
            _("Lot number %(lot)s is already used for “%(product)s”; check the label and the product.")
            % {"lot": lot_number, "product": other_product_lot.product},
            field="lot_number",
        )
    _check_udi_matches(
        udi, product=product, lot_number=lot_number, production_date=production_date, expiry_date=expiry_date,
        serial_number=serial_number,
    )
    if serial_number:
        _check_serial_not_received(product, serial_number)

    lot, created = Lot.objects.get_or_create(
        product=product,
        lot_number=lot_number,
        defaults={"production_date": production_date, "expiry_date": expiry_date},
    )
    if not created:
        if (lot.production_date, lot.expiry_date) != (production_date, expiry_date):
            raise InvalidInput(
                _("Lot %(lot)s is already on file with production date %(production)s and expiry date %(expiry)s.")
                % {"lot": lot_number, "production": lot.production_date, "expiry": lot.expiry_date},
                field="lot_number",
            )
        if lot.status == LotStatus.RECALLED and for_sale:
            raise InvalidInput(_("Lot %(lot)s is recalled and cannot be received.") % {"lot": lot_number}, field="lot_number")

    receipt = GoodsReceipt.objects.create(
        number=next_document_number("GR"),
        warehouse=warehouse,
        lot=lot,
        quantity=quantity,
        received_by=actor,
        note=note,
        supplier=(supplier or "").strip(),
        serial_number=serial_number,
        udi=(udi or "").strip(),
        inspection_result=inspection_result,
        inspection_note=inspection_note,
        idempotency_key=idempotency_key,
    )
    if not for_sale:
        logger.info("Receipt %s of lot %s rejected at inspection", receipt.number, lot.pk)
        return receipt

    balance = _locked_balance(warehouse, lot)
    balance.on_hand += quantity
    balance.save(update_fields=["on_hand"])
    StockLedgerEntry.objects.create(
        warehouse=warehouse, lot=lot, quantity=quantity, reason=LedgerReason.RECEIPT, reference=receipt.number, created_by=actor
    )
    if inspection_result == InspectionResult.QUARANTINED and lot.status == LotStatus.AVAILABLE:
        lot.status = LotStatus.QUARANTINED
        lot.save(update_fields=["status"])
    logger.info("Receipt %s: lot %s quantity %s into warehouse %s", receipt.number, lot.pk, quantity, warehouse.pk)
    return receipt


def _check_receivable_for_sale(*, product, warehouse, expiry_date, received_on):
    if expiry_date < received_on:
        raise InvalidInput(
            _("Lot expired on %(value)s; expired goods cannot be received for sale.") % {"value": expiry_date},
            field="expiry_date",
        )
    if not warehouse.is_active:
        raise InvalidInput(_("Warehouse “%(value)s” is not active.") % {"value": warehouse}, field="warehouse")
    if not product.registration_valid_on(received_on):
        raise InvalidInput(
            _("The registration %(number)s of “%(product)s” expired on %(date)s; it cannot be received for sale.")
            % {"number": product.registration_number, "product": product, "date": product.registration_valid_until},
            field="product",
        )


def _check_serial_not_received(product, serial_number):
    """Raise ``InvalidInput`` when the serial number was already received for the product; locks the product row.

    The lock queues concurrent receipts of the same product, so two of them
    cannot both find the serial number unused. Rejected goods went back to
    the supplier, so their serial number may arrive again.
    """
    type(product).objects.select_for_update().filter(pk=product.pk).first()
    previous = (
        GoodsReceipt.objects.filter(lot__product=product, serial_number=serial_number)
        .exclude(inspection_result=InspectionResult.REJECTED)
        .order_by("pk")
        .first()
    )
    if previous is not None:
        raise InvalidInput(
            _("Serial number %(serial)s of “%(product)s” was already received with receipt %(number)s.")
            % {"serial": serial_number, "product": product, "number": previous.number},
            field="serial_number",
        )


def _check_udi_matches(udi, *, product, lot_number, production_date, expiry_date, serial_number):
    """Raise ``InvalidInput`` when a scanned GS1 barcode lacks AI 01 or names another product, lot, date or serial than the receipt."""
    udi = (udi or "").strip()
    if not udi:
        return
    try:
        values = parse_gs1(udi)
    except MalformedBarcode as error:
        raise InvalidInput(_("UDI “%(value)s” is not a valid GS1 barcode: %(error)s") % {"value": udi, "error": error}, field="udi") from error
    gtin = values.get("gtin") or ""
    if not gtin:
        raise InvalidInput(
            _("UDI “%(value)s” has no product identifier (AI 01); a UDI needs it. Scan the barcode with the GTIN or leave the UDI field empty.")
            % {"value": udi},
            field="udi",
        )
    product_di = (getattr(product, "udi_di", "") or "").strip()
    if gtin and product_di and gtin.lstrip("0") != product_di.lstrip("0"):
        raise InvalidInput(
            _("UDI “%(value)s” is for product identifier %(gtin)s, not for “%(product)s” (%(di)s). Choose the product with that UDI-DI, or clear the UDI field if the product was chosen by hand.")
            % {"value": udi, "gtin": gtin, "product": product, "di": product_di},
            field="udi",
        )
    scanned_lot = values.get("lot_number") or ""
    if scanned_lot and scanned_lot != lot_number:
        raise InvalidInput(
            _("UDI “%(value)s” carries lot %(scanned)s, not %(lot)s.") % {"value": udi, "scanned": scanned_lot, "lot": lot_number},
            field="udi",
        )
    scanned_expiry = values.get("expiry_date")
    if scanned_expiry and str(scanned_expiry) != str(expiry_date):
        raise InvalidInput(
            _("UDI “%(value)s” carries expiry date %(scanned)s, not %(expiry)s.")
            % {"value": udi, "scanned": scanned_expiry, "expiry": expiry_date},
            field="udi",
        )
    scanned_production = values.get("production_date")
    if scanned_production and str(scanned_production) != str(production_date):
        raise InvalidInput(
            _("UDI “%(value)s” carries production date %(scanned)s, not %(production)s.")
            % {"value": udi, "scanned": scanned_production, "production": production_date},
            field="udi",
        )
    scanned_serial = values.get("serial_number") or ""
    if scanned_serial and scanned_serial != serial_number:
        raise InvalidInput(
            _("UDI “%(value)s” carries serial number %(scanned)s, not “%(serial)s”.")
            % {"value": udi, "scanned": scanned_serial, "serial": serial_number},
            field="udi",
        )


@transaction.atomic
def release_lot_from_quarantine(*, actor, lot, note=""):
    """Make a quarantined lot available for allocation again after the quality officer's decision; return the lot.

    ``note`` is the reason for the decision; the lot's history keeps it
    (first 100 characters) with the user. Raises ``NotPermitted`` for
    anyone but a quality officer or manager, ``InvalidTransition`` unless
    the lot is quarantined, and ``InvalidInput`` for a missing reason.
    Locks the lot row.
    """
    if not actor.has_role(Role.QUALITY_OFFICER, Role.MANAGER):
        raise NotPermitted(_("Only the quality officer can release a lot from quarantine."))
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    if lot.status != LotStatus.QUARANTINED:
        raise InvalidTransition(
            _("Lot %(lot)s is %(status)s, not quarantined.") % {"lot": lot.lot_number, "status": lot.get_status_display()}
        )
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Give the reason for releasing lot %(lot)s from quarantine.") % {"lot": lot.lot_number}, field="reason")

    lot.status = LotStatus.AVAILABLE
    lot._change_reason = note[:100]
    lot._history_user = actor
    lot.save(update_fields=["status"])
    logger.info("Lot %s released from quarantine by user %s", lot.pk, actor.pk)
    return lot


def eligible_balances_query(product_ids, min_shelf_life_days, today=None):
    """Return balances that may be allocated: available lots, active warehouses, enough shelf life."""
    return StockBalance.objects.filter(
        lot__product_id__in=product_ids,
        lot__status=LotStatus.AVAILABLE,
        lot__expiry_date__gte=earliest_acceptable_expiry(min_shelf_life_days, today),
        warehouse__is_active=True,
        on_hand__gt=0,
    )


@dataclasses.dataclass
class AllocationResult:
    """Outcome of ``allocate_order``: the new reservations and, per order line id, the units still not reserved."""

    allocations: list
    backordered: dict

    @property
    def reserved_quantity(self):
        return sum(allocation.quantity for allocation in self.allocations)

    @property
    def backordered_quantity(self):
        return sum(self.backordered.values())


def allocate_order(order, *, allow_partial=False):
    """Reserve stock for every order line's unreserved units, first-expiry-first-out; return an ``AllocationResult``.

    Skips expired, quarantined and recalled lots and lots whose remaining
    shelf life is below the customer's minimum; a lot is valid through the
    end of its expiry date in Asia/Shanghai. Ties on expiry go to the lot
    received first. A line needs its unshipped units (ordered minus
    shipped minus closed short) less what its open reservations already
    cover, so calling this again reserves only what is still missing.

    Without ``allow_partial`` it raises ``InsufficientStock`` listing every
    short line and changes nothing when any line cannot be covered in
    full. With it, it reserves what is eligible and returns the rest per
    line in ``backordered``. The caller checks the order's state, holds
    the order's row lock and runs this in its transaction. Locks the
    eligible balance rows by primary key.
    """
    lines = list(order.lines.select_related("product").prefetch_related("allocations").order_by("pk"))
    product_ids = sorted({line.product_id for line in lines})
    balances = list(
        eligible_balances_query(product_ids, order.customer.min_shelf_life_days)
        .select_related("lot", "warehouse")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    by_product = defaultdict(list)
    for balance in balances:
        by_product[balance.lot.product_id].append(balance)
    for candidates in by_product.values():
        candidates.sort(key=lambda b: (b.lot.expiry_date, b.lot.pk, b.warehouse.code))

    plan = []
    shortages = []
    backordered = {}
    remaining_by_balance = {balance.pk: balance.available for balance in balances}
    for line in lines:
        needed = line.unshipped_quantity - sum(a.open_quantity for a in line.allocations.all())
        for balance in by_product[line.product_id]:
            if needed <= 0:
                break
            take = min(needed, remaining_by_balance[balance.pk])
            if take > 0:
                plan.append((line, balance, take))
                remaining_by_balance[balance.pk] -= take
                needed -= take
        if needed > 0:
            backordered[line.pk] = needed
            shortages.append(
                _("%(product)s: %(needed)s more %(unit)s needed than eligible stock")
                % {"product": line.product, "needed": needed, "unit": line.product.unit}
            )
    if shortages and not allow_partial:
        raise InsufficientStock(
            _("Not enough stock with the required shelf life (%(days)s days): %(lines)s.")
            % {"days": order.customer.min_shelf_life_days, "lines": join_reasons(shortages)}
        )

    allocations = []
    for line, balance, quantity in plan:
        balance.reserved += quantity
        balance.save(update_fields=["reserved"])
        allocations.append(Allocation.objects.create(order_line=line, warehouse=balance.warehouse, lot=balance.lot, quantity=quantity))
    return AllocationResult(allocations=allocations, backordered=backordered)


def release_reservations(order):
    """Give back every open reservation of the order in every warehouse; return the quantity released."""
    allocations = list(
        Allocation.objects.filter(order_line__order=order).select_related("lot").order_by("pk")
    )
    open_allocations = [a for a in allocations if a.open_quantity > 0]
    if not open_allocations:
        return 0
    balances = {
        (b.warehouse_id, b.lot_id): b
        for b in StockBalance.objects.select_for_update()
        .filter(lot_id__in={a.lot_id for a in open_allocations})
        .order_by("pk")
    }
    released = 0
    for allocation in open_allocations:
        quantity = allocation.open_quantity
        balance = balances[(allocation.warehouse_id, allocation.lot_id)]
        balance.reserved -= quantity
        balance.save(update_fields=["reserved"])
        allocation.released_quantity += quantity
        allocation.save(update_fields=["released_quantity"])
        released += quantity
    return released


def unavailable_lot_reason(lot, today=None):
    """Return why goods of ``lot`` may not leave the warehouse (recalled, quarantined, expired), or "" if they may."""
    if lot.status == LotStatus.RECALLED:
        return _("Lot %(lot)s is recalled.") % {"lot": lot.lot_number}
    if lot.status == LotStatus.QUARANTINED:
        return _("Lot %(lot)s is quarantined.") % {"lot": lot.lot_number}
    if is_expired(lot.expiry_date, today):
        return _("Lot %(lot)s expired on %(date)s.") % {"lot": lot.lot_number, "date": lot.expiry_date}
    return ""


def _check_lots_shippable(allocations, quantity):
    """Raise ``InvalidInput`` if any lot that would supply ``quantity`` units (first-expiry order) may not leave."""
    remaining = int(quantity)
    for allocation in allocations:
        if remaining <= 0:
            break
        remaining -= allocation.open_quantity
        reason = unavailable_lot_reason(allocation.lot)
        if reason:
            raise InvalidInput(
                _("%(reason)s Its reserved goods cannot be shipped.") % {"reason": reason}, field="lines"
            )


def _delivery_destination(order):
    """Return (address, recipient and phone) for a shipment of ``order``, from the delivery address chosen on the order.

    An order that names one of the customer's saved addresses ships there,
    to that address's recipient, as long as the order's address text is
    still the saved one (a later edit of the saved address must not move
    an order already entered). Free text ships as typed, to the customer's
    contact; an order without an address goes to the customer's address.
    """
    from dentalsales.sales.addresses import format_delivery_address

    customer = order.customer
    saved = order.customer_address
    if saved is not None and order.delivery_address == format_delivery_address(saved):
        address = " ".join(part for part in [saved.label, f"{saved.region.full_name}{saved.detail}", saved.postcode] if part)
        return address[:300], " ".join(filter(None, [saved.recipient, saved.recipient_phone]))[:100]
    contact = " ".join(filter(None, [customer.contact_name, customer.contact_phone]))[:100]
    return (order.delivery_address or customer.address)[:300], contact


def _serials_to_pick(lot, quantity, taken):
    """Return up to ``quantity`` serial numbers of ``lot`` still in stock, first received first, and add them to ``taken``.

    A lot is serialised when its accepted receipts carry serial numbers.
    Serials on shipments that were not cancelled have left; ``taken`` holds
    those given to earlier lines of the shipment being picked.
    """
    received = list(
        GoodsReceipt.objects.filter(lot=lot)
        .exclude(serial_number="")
        .exclude(inspection_result=InspectionResult.REJECTED)
        .order_by("received_at", "pk")
        .values_list("serial_number", flat=True)
    )
    if not received:
        return []
    gone = set(taken[lot.pk])
    for text in ShipmentLine.objects.filter(lot=lot).exclude(shipment__status=ShipmentStatus.CANCELLED).values_list(
        "serial_numbers", flat=True
    ):
        gone.update(text.split())
    chosen = [serial for serial in dict.fromkeys(received) if serial not in gone][:quantity]
    taken[lot.pk].update(chosen)
    return chosen


def ship_allocations(*, order, actor, carrier="", quantities=None, waybill_number="", warehouse=None):
    """Pick reserved stock of the order from one warehouse; return the ``Shipment`` with one line per order line and lot.

    Stock leaves the warehouse balance here (ledger reason ``shipment``);
    the shipment starts as ``picked`` and needs a passed outbound review
    (``shipping.review_shipment``) before ``shipping.dispatch_shipment``.

    One shipment is one dispatch with one waybill, so it never spans
    warehouses: ``warehouse`` may be left out only when every open
    reservation is in one warehouse. ``quantities`` maps order-line ids to
    the units to ship now (default: everything reserved there). Each line
    ships from its reservations in first-expiry order. Raises
    ``InvalidInput`` for a missing carrier or warehouse and for a quantity
    that is not a whole number or exceeds what is reserved for the line,
    and for a recalled, quarantined or expired lot. The caller checks the order's state and runs this in its transaction.
    """
    carrier = (carrier or "").strip()
    if not carrier:
        raise InvalidInput(_("Enter the carrier (or “own delivery” / “customer pick-up”)."), field="carrier")
    lines = {line.pk: line for line in order.lines.select_related("product")}
    allocations = [
        allocation
        for allocation in Allocation.objects.filter(order_line__order=order)
        .select_related("lot", "warehouse")
        .order_by("lot__expiry_date", "pk")
        if allocation.open_quantity > 0
    ]
    warehouses = {allocation.warehouse_id: allocation.warehouse for allocation in allocations}
    if warehouse is None:
        if len(warehouses) > 1:
            raise InvalidInput(
                _("The reserved stock is in several warehouses (%(warehouses)s); choose the warehouse this shipment leaves from.")
                % {"warehouses": join_reasons(sorted(str(w) for w in warehouses.values()))},
                field="warehouse",
            )
    elif warehouse.pk not in warehouses:
        raise InvalidInput(
            _("Nothing of order %(order)s is reserved in warehouse “%(value)s”.") % {"order": order.number, "value": warehouse},
            field="warehouse",
        )
    else:
        allocations = [allocation for allocation in allocations if allocation.warehouse_id == warehouse.pk]
    open_by_line = defaultdict(list)
    for allocation in allocations:
        open_by_line[allocation.order_line_id].append(allocation)
    if quantities is None:
        quantities = {line_id: sum(a.open_quantity for a in items) for line_id, items in open_by_line.items()}
    for line_id, quantity in quantities.items():
        if line_id not in lines:
            raise InvalidInput(_("Order line %(value)s is not part of order %(order)s.") % {"value": line_id, "order": order.number}, field="lines")
        reserved = sum(a.open_quantity for a in open_by_line[line_id])
        if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity < 0:
            # Not "more than reserved": the value itself is wrong, and 0 is how a line is held back.
            raise InvalidInput(
                _("Quantity %(value)s for order line %(line)s (“%(product)s”) is negative; enter the units to ship now, or 0 to hold the line back.")
                % {"value": quantity, "line": line_id, "product": lines[line_id].product},
                field="lines",
            )
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity > reserved:
            raise InvalidInput(
                _("Cannot ship %(value)s of “%(product)s”: %(reserved)s reserved.")
                % {"value": quantity, "product": lines[line_id].product, "reserved": reserved},
                field="lines",
            )
    if not any(int(q) > 0 for q in quantities.values()):
        raise InvalidInput(_("Nothing to ship: no reserved quantity was chosen."), field="lines")
    for line_id, quantity in quantities.items():
        _check_lots_shippable(open_by_line[line_id], quantity)

    lot_ids = {a.lot_id for items in open_by_line.values() for a in items}
    balances = {
        (b.warehouse_id, b.lot_id): b
        for b in StockBalance.objects.select_for_update().filter(lot_id__in=lot_ids).order_by("pk")
    }
    delivery_address, receiving_contact = _delivery_destination(order)
    shipment = Shipment.objects.create(
        number=next_document_number("SH"),
        order=order,
        customer=order.customer,
        delivery_address=delivery_address,
        receiving_contact=receiving_contact,
        carrier=carrier,
        waybill_number=waybill_number,
        shipped_on=local_today(),
        shipped_by=actor,
    )
    taken_serials = defaultdict(set)
    for line_id, quantity in quantities.items():
        line = lines[line_id]
        to_ship = int(quantity)
        for allocation in open_by_line[line_id]:
            if to_ship == 0:
                break
            take = min(to_ship, allocation.open_quantity)
            to_ship -= take
            balance = balances[(allocation.warehouse_id, allocation.lot_id)]
            balance.on_hand -= take
            balance.reserved -= take
            balance.save(update_fields=["on_hand", "reserved"])
            allocation.shipped_quantity += take
            allocation.save(update_fields=["shipped_quantity"])
            StockLedgerEntry.objects.create(
                warehouse=allocation.warehouse,
                lot=allocation.lot,
                quantity=-take,
                reason=LedgerReason.SHIPMENT,
                reference=shipment.number,
                created_by=actor,
            )
            product = line.product
            serials = _serials_to_pick(allocation.lot, take, taken_serials)
            ShipmentLine.objects.create(
                shipment=shipment,
                order_line=line,
                warehouse=allocation.warehouse,
                product=product,
                lot=allocation.lot,
                quantity=take,
                product_name=product.name,
                specification=product.specification,
                unit=product.unit,
                manufacturer=product.manufacturer,
                registration_number=product.registration_number,
                manufacturer_licence_number=product.manufacturer_licence_number,
                storage_conditions=product.storage_conditions,
                lot_number=allocation.lot.lot_number,
                production_date=allocation.lot.production_date,
                expiry_date=allocation.lot.expiry_date,
                serial_numbers=" ".join(serials),
            )
        line.shipped_quantity += int(quantity)
        line.save(update_fields=["shipped_quantity"])
    logger.info("Shipment %s picked for order %s", shipment.number, order.pk)
    # The receivable is created when the goods leave the building, in shipping.dispatch_shipment.
    from .shipping import notify_reviewers  # shipping imports this module

    notify_reviewers(shipment)
    return shipment
