"""Writes on recalls: create and edit a draft, withdraw it, open (block the lots, list the customers), follow up, close.

A recall moves draft → open → closed, or draft → withdrawn (``TRANSITIONS``).
A lot is in at most one draft or open recall. The customer list counts
dispatched shipments only (``inventory.trace``). Goods coming back from a
customer are received as a return: its receipt adds to the customer's
recovered quantity here (``record_returned_goods``), and units recorded here
by hand can no longer be returned (``aftersales.selectors``). Opening locks the
recall, then the lots in primary-key order, so two recalls of the same lot
queue instead of deadlocking. It then gives back the stock reserved on those
lots, locking the sales orders and then the balance rows in primary-key
order, the same order as the sales services (order, then balances), so a
concurrent shipment of the same order waits instead of shipping a released
reservation. Lots stay recalled after the recall closes,
because recovered goods are dealt with by returns and scrapping, not by
putting the lot back on sale.
"""

import logging

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.catalog.models import Product
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted, join_reasons
from dentalsales.core.services import next_document_number
from dentalsales.inventory.models import Allocation, Lot, LotStatus, StockBalance
from dentalsales.inventory.trace import trace_customers

from .models import (
    ACTIVE_RECALL_STATUSES,
    Recall,
    RecallCustomer,
    RecallLevel,
    RecallLot,
    RecallReleasedReservation,
    RecallStatus,
)

logger = logging.getLogger(__name__)

# Roles that create and run recalls.
RECALL_ROLES = frozenset({Role.QUALITY_OFFICER, Role.ADMINISTRATOR})
# Roles that may read recalls: logistics takes the goods back, managers follow up.
RECALL_VIEW_ROLES = RECALL_ROLES | {Role.MANAGER, Role.LOGISTICS}
S = RecallStatus
TRANSITIONS = {
    "edit": ({S.DRAFT}, RECALL_ROLES),
    "withdraw": ({S.DRAFT}, RECALL_ROLES),
    "open": ({S.DRAFT}, RECALL_ROLES),
    "follow_up": ({S.OPEN}, RECALL_ROLES),
    "close": ({S.OPEN}, RECALL_ROLES),
}
MAX_REASON_LENGTH = 2000
MAX_LOTS = 200


def allowed_actions(recall, user):
    """Return the action names ``user`` may attempt on ``recall`` now (for buttons and API hints)."""
    return [name for name, (sources, roles) in TRANSITIONS.items() if recall.status in sources and user.has_role(*roles)]


def _check_action(recall, actor, action):
    sources, roles = TRANSITIONS[action]
    if not actor.has_role(*roles):
        raise NotPermitted(_("Only the quality officer can change recalls."))
    if recall.status not in sources:
        raise InvalidTransition(
            _("Recall %(number)s is %(status)s; this action is not possible now.")
            % {"number": recall.number, "status": recall.get_status_display()}
        )


def _lock_recall(recall):
    # Only the recall row: locking the joined product FOR UPDATE would block every shipment or
    # allocation of that product (their foreign keys take a key-share lock on it) until the recall commits.
    return Recall.objects.select_for_update(of=("self",)).select_related("product").get(pk=recall.pk)


def _clean_product(product):
    if isinstance(product, Product):
        return product
    try:
        return Product.objects.get(pk=int(product))
    except (TypeError, ValueError, Product.DoesNotExist):
        raise InvalidInput(_("Product “%(value)s” does not exist.") % {"value": product}, field="product") from None


def _clean_lots(product, lots):
    """Return the lots (instances or ids) as a list of ``Lot``; each must exist and belong to ``product``."""
    if not lots:
        raise InvalidInput(_("Choose at least one lot of “%(product)s” to recall.") % {"product": product}, field="lots")
    if len(lots) > MAX_LOTS:
        raise InvalidInput(_("A recall can list at most %(max)s lots.") % {"max": MAX_LOTS}, field="lots")
    ids = []
    for lot in lots:
        value = lot.pk if isinstance(lot, Lot) else lot
        if isinstance(value, bool) or not str(value).isdigit():
            raise InvalidInput(_("Lot “%(value)s” is not a lot id.") % {"value": value}, field="lots")
        ids.append(int(value))
    found = {lot.pk: lot for lot in Lot.objects.filter(pk__in=ids)}
    missing = [str(pk) for pk in ids if pk not in found]
    if missing:
        raise InvalidInput(_("Lot %(value)s does not exist.") % {"value": join_reasons(missing)}, field="lots")
    foreign = [found[pk].lot_number for pk in ids if found[pk].product_id != product.pk]
    if foreign:
        raise InvalidInput(
            _("Lot %(value)s is not a lot of “%(product)s”.") % {"value": join_reasons(foreign), "product": product}, field="lots"
        )
    return [found[pk] for pk in dict.fromkeys(ids)]


def _reject_lots_in_other_recall(lots, *, recall=None, statuses=ACTIVE_RECALL_STATUSES):
    """Raise ``InvalidInput`` naming the other recall in ``statuses`` (draft or open) that already covers any of ``lots``."""
    rows = RecallLot.objects.filter(lot__in=lots, recall__status__in=statuses).select_related("recall", "lot")
    if recall is not None:
        rows = rows.exclude(recall=recall)
    rows = list(rows.order_by("recall__number", "lot__lot_number"))
    if rows:
        raise InvalidInput(
            _("Lot %(lots)s is already in recall %(recalls)s; a lot can be in only one draft or open recall. Edit that recall instead.")
            % {
                "lots": join_reasons(dict.fromkeys(row.lot.lot_number for row in rows)),
                "recalls": join_reasons(
                    dict.fromkeys(f"{row.recall.number} ({row.recall.get_status_display()})" for row in rows)
                ),
            },
            field="lots",
            code="lot_in_other_recall",
        )


def _clean_header(level, reason, source):
    if level in (None, ""):
        raise InvalidInput(_("Choose the recall level: I, II or III."), field="level")
    if level not in RecallLevel.values:
        raise InvalidInput(
            _("Recall level “%(value)s” is not one of %(levels)s.") % {"value": level, "levels": join_reasons(RecallLevel.values)},
            field="level",
        )
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Enter the reason for the recall."), field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(_("The reason is longer than %(max)s characters.") % {"max": MAX_REASON_LENGTH}, field="reason")
    source = (source or "").strip()
    if len(source) > 200:
        raise InvalidInput(_("“Initiated by” is longer than %(max)s characters.") % {"max": 200}, field="source")
    return level, reason, source


@transaction.atomic
def create_recall(*, actor, product, lots, level, reason, source=""):
    """Create a draft recall of ``lots`` of ``product``; return it.

    Raises ``NotPermitted`` for anyone but the quality officer and
    ``InvalidInput`` naming the field for an unknown product or lot, a lot
    of another product or already in a draft or open recall, no lots, a
    missing or unknown level and a missing reason. Nothing is blocked until
    the recall is opened.
    """
    if not actor.has_role(*RECALL_ROLES):
        raise NotPermitted(_("Only the quality officer can create recalls."))
    product = _clean_product(product)
    lots = _clean_lots(product, lots)
    level, reason, source = _clean_header(level, reason, source)
    _reject_lots_in_other_recall(lots)

    recall = Recall.objects.create(
        number=next_document_number("RC"), product=product, level=level, reason=reason, source=source, created_by=actor
    )
    RecallLot.objects.bulk_create([RecallLot(recall=recall, lot=lot) for lot in lots])
    logger.info("Recall %s created by user %s for product %s, %s lots", recall.number, actor.pk, product.pk, len(lots))
    return recall


@transaction.atomic
def update_recall(*, actor, recall, product=None, lots=None, level=None, reason=None, source=None):
    """Change a draft recall's product, lots, level, reason or source; arguments left as None keep their value.

    Validates like ``create_recall``: a new product without new lots
    keeps the current lots only if they belong to it. Raises
    ``InvalidTransition`` unless the recall is a draft and changes nothing
    when any value is refused. Locks the recall.
    """
    recall = _lock_recall(recall)
    _check_action(recall, actor, "edit")
    product = recall.product if product in (None, "") else _clean_product(product)
    if lots is None and product.pk != recall.product_id:
        lots = list(recall.recall_lots.values_list("lot_id", flat=True))
    if lots is not None:
        lots = _clean_lots(product, lots)
        _reject_lots_in_other_recall(lots, recall=recall)
    level, reason, source = _clean_header(
        recall.level if level is None else level,
        recall.reason if reason is None else reason,
        recall.source if source is None else source,
    )

    recall.product, recall.level, recall.reason, recall.source = product, level, reason, source
    recall.save(update_fields=["product", "level", "reason", "source"])
    if lots is not None:
        recall.recall_lots.all().delete()
        RecallLot.objects.bulk_create([RecallLot(recall=recall, lot=lot) for lot in lots])
    logger.info("Recall %s draft updated by user %s", recall.number, actor.pk)
    return recall


@transaction.atomic
def withdraw_recall(*, actor, recall, reason):
    """Withdraw a draft entered by mistake, with the reason; its lots were never blocked and become free for another recall.

    The draft is kept, marked withdrawn, for the record. Raises
    ``InvalidTransition`` unless the recall is a draft and ``InvalidInput``
    for a missing reason. Locks the recall.
    """
    recall = _lock_recall(recall)
    _check_action(recall, actor, "withdraw")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("Enter why the draft recall is withdrawn."), field="reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(_("The reason is longer than %(max)s characters.") % {"max": MAX_REASON_LENGTH}, field="reason")

    recall.status = RecallStatus.WITHDRAWN
    recall.withdrawn_by = actor
    recall.withdrawn_at = timezone.now()
    recall.withdrawal_reason = reason
    recall._change_reason = reason
    recall.save(update_fields=["status", "withdrawn_by", "withdrawn_at", "withdrawal_reason"])
    logger.info("Recall %s draft withdrawn by user %s", recall.number, actor.pk)
    return recall


@transaction.atomic
def open_recall(*, actor, recall):
    """Open a draft recall: block its lots at once and list every customer that received them.

    Sets each lot's status to recalled, so allocation skips it and
    receiving, picking and dispatch refuse it (see
    ``inventory.services.unavailable_lot_reason``), and copies each affected customer's contact and
    shipped quantity into a ``RecallCustomer`` row. Open reservations on
    the lots are given back to stock and recorded as
    ``RecallReleasedReservation`` rows; their order lines keep the
    quantity as backorder. Logistics, managers and the representatives of
    the affected customers are notified after the transaction commits, and
    so are the owners of orders that lost a reservation. Locks the recall,
    then its lots, then the orders holding reservations on them, then the
    lots' balance rows, each by primary key. Raises ``InvalidTransition``
    unless the recall is a draft.
    """
    recall = _lock_recall(recall)
    _check_action(recall, actor, "open")
    recall_lots = list(recall.recall_lots.order_by("lot_id"))
    # FOR NO KEY UPDATE, because a plain FOR UPDATE would also block the key-share lock that
    # PostgreSQL takes on a lot when a shipment or allocation row referencing it is inserted,
    # and such a transaction may hold the order lock that this recall waits for.
    lots = {
        lot.pk: lot
        for lot in Lot.objects.select_for_update(no_key=True).filter(pk__in=[row.lot_id for row in recall_lots]).order_by("pk")
    }
    # Checked again under the lot locks, against open recalls only: two drafts entered at the same
    # moment both passed the check at entry, and the first of them to open wins.
    _reject_lots_in_other_recall(list(lots.values()), recall=recall, statuses=(RecallStatus.OPEN,))

    for row in recall_lots:
        row.previous_status = lots[row.lot_id].status
    RecallLot.objects.bulk_update(recall_lots, ["previous_status"])
    for lot in lots.values():
        # save() rather than update(), so that the lot's history records who recalled it and why.
        lot.status = LotStatus.RECALLED
        lot._change_reason = recall.number
        lot._history_user = actor
        lot.save(update_fields=["status"])
    released = _release_reservations(recall, lots.keys())

    affected = trace_customers(lots.keys())
    already_returned = _received_return_quantities(lots.keys())
    RecallCustomer.objects.bulk_create(
        [
            RecallCustomer(
                recall=recall,
                customer_id=row["customer"],
                quantity_shipped=row["quantity"],
                shipment_count=row["shipments"],
                contact_name=row["contact_name"][:50],
                contact_phone=row["contact_phone"][:30],
                address=row["address"][:300],
                # Units the customer already sent back are no longer out there.
                quantity_recovered=min(already_returned.get(row["customer"], 0), row["quantity"]),
                quantity_returned=min(already_returned.get(row["customer"], 0), row["quantity"]),
            )
            for row in affected
        ]
    )
    recall.status = RecallStatus.OPEN
    recall.opened_by = actor
    recall.opened_at = timezone.now()
    recall.save(update_fields=["status", "opened_by", "opened_at"])

    logger.info(
        "Recall %s opened by user %s: %s lots blocked, %s customers, %s reservations released",
        recall.number, actor.pk, len(lots), len(affected), len(released),
    )
    transaction.on_commit(lambda: _notify_opened(recall.pk))
    if released:
        transaction.on_commit(lambda: _notify_released(recall.pk))
    return recall


def _received_return_quantities(lot_ids):
    """Return {customer id: units of ``lot_ids`` received back through returns}."""
    from dentalsales.aftersales.selectors import received_return_quantities

    return received_return_quantities(lot_ids)


def _open_allocations(lot_ids, order_ids=None):
    allocations = Allocation.objects.filter(lot_id__in=list(lot_ids)).select_related("order_line")
    if order_ids is not None:
        allocations = allocations.filter(order_line__order_id__in=order_ids)
    return [allocation for allocation in allocations.order_by("pk") if allocation.open_quantity > 0]


def _release_reservations(recall, lot_ids):
    """Give back every open reservation on ``lot_ids`` and record it; return the ``RecallReleasedReservation`` rows.

    The orders are locked before the balance rows, as in the sales
    services, and the reservations are read again under those locks, so a
    shipment of the same order either finished before or starts after.
    """
    from dentalsales.sales.models import SalesOrder

    order_ids = sorted({allocation.order_line.order_id for allocation in _open_allocations(lot_ids)})
    if not order_ids:
        return []
    list(SalesOrder.objects.select_for_update().filter(pk__in=order_ids).order_by("pk").values_list("pk", flat=True))
    balances = {
        (balance.warehouse_id, balance.lot_id): balance
        for balance in StockBalance.objects.select_for_update().filter(lot_id__in=list(lot_ids)).order_by("pk")
    }
    # TODO: release too the reservations that an order not locked here
    # committed while this recall waited for its locks; today they stay open,
    # the recall page lists them and picking refuses the recalled lot.
    rows = []
    for allocation in _open_allocations(lot_ids, order_ids):
        quantity = allocation.open_quantity
        balance = balances[(allocation.warehouse_id, allocation.lot_id)]
        balance.reserved -= quantity
        balance.save(update_fields=["reserved"])
        allocation.released_quantity += quantity
        allocation.save(update_fields=["released_quantity"])
        rows.append(
            RecallReleasedReservation(
                recall=recall,
                order_id=allocation.order_line.order_id,
                order_line=allocation.order_line,
                lot_id=allocation.lot_id,
                warehouse_id=allocation.warehouse_id,
                quantity=quantity,
            )
        )
    return RecallReleasedReservation.objects.bulk_create(rows)


def _notify_released(recall_id):
    """Tell each affected order's representative, and logistics, which reservations the recall gave back."""
    from dentalsales.notifications.services import notify, users_with_roles

    recall = Recall.objects.get(pk=recall_id)
    by_order = {}
    for row in recall.released_reservations.select_related("order__owner", "lot").order_by("order__number", "lot__lot_number"):
        by_order.setdefault(row.order, []).append(row)
    logistics = list(users_with_roles(Role.LOGISTICS))
    for order, rows in by_order.items():
        notify(
            [order.owner, *logistics],
            title=_("Recall %(number)s released the reservations of order %(order)s")
            % {"number": recall.number, "order": order.number},
            body=_("Released: %(lots)s. The order lines keep these quantities as backorder; supply them from another lot.")
            % {"lots": join_reasons(f"{row.lot.lot_number} × {row.quantity}" for row in rows)},
            link=reverse("sales:order_detail", args=[order.pk]),
            category="recall",
        )


def _notify_opened(recall_id):
    from dentalsales.notifications.services import notify, users_with_roles

    recall = Recall.objects.select_related("product").get(pk=recall_id)
    lot_numbers = join_reasons(recall.lots.order_by("lot_number").values_list("lot_number", flat=True))
    owners = {row.customer.owner for row in recall.customers.select_related("customer__owner")}
    recipients = list(users_with_roles(Role.LOGISTICS, Role.MANAGER, Role.QUALITY_OFFICER)) + list(owners)
    notify(
        recipients,
        title=_("Recall %(number)s opened: %(product)s, lots %(lots)s") % {"number": recall.number, "product": recall.product, "lots": lot_numbers},
        body=_("The lots are blocked: do not allocate or ship them. %(count)s customers received them; the quality officer contacts each one.")
        % {"count": recall.customers.count()},
        link=reverse("quality:recall_detail", args=[recall.pk]),
        category="recall",
    )


def _locked_customer_row(actor, recall, customer):
    recall = _lock_recall(recall)
    _check_action(recall, actor, "follow_up")
    customer_id = customer.pk if hasattr(customer, "pk") else customer
    try:
        return RecallCustomer.objects.select_for_update().select_related("customer").get(recall=recall, customer_id=customer_id)
    except (RecallCustomer.DoesNotExist, ValueError, TypeError):
        raise InvalidInput(
            _("Customer “%(value)s” is not on the customer list of recall %(number)s.") % {"value": customer_id, "number": recall.number},
            field="customer",
        ) from None


@transaction.atomic
def record_notification(*, actor, recall, customer, method="", note=""):
    """Record that ``customer`` was notified of the open recall, by ``method`` (telephone, letter, e-mail)."""
    row = _locked_customer_row(actor, recall, customer)
    if row.notified_at is not None:
        raise InvalidTransition(
            _("%(customer)s was already notified on %(time)s.")
            % {"customer": row.customer.name, "time": timezone.localtime(row.notified_at).strftime("%Y-%m-%d %H:%M")}
        )
    row.notified_at = timezone.now()
    row.notified_by = actor
    row.notification_method = (method or "").strip()[:100]
    if note:
        row.note = note.strip()
    row.save()
    return row


@transaction.atomic
def record_acknowledgement(*, actor, recall, customer, note=""):
    """Record that ``customer`` confirmed receipt of the recall notice; it must have been notified first."""
    row = _locked_customer_row(actor, recall, customer)
    if row.notified_at is None:
        raise InvalidTransition(_("Record the notification of %(customer)s before its acknowledgement.") % {"customer": row.customer.name})
    if row.acknowledged_at is not None:
        raise InvalidTransition(_("%(customer)s has already acknowledged the recall.") % {"customer": row.customer.name})
    row.acknowledged_at = timezone.now()
    if note:
        row.note = note.strip()
    row.save()
    return row


@transaction.atomic
def record_recovered_quantity(*, actor, recall, customer, quantity, note=""):
    """Set the total quantity recovered from ``customer``, returns included.

    Goods that come back should be received as a return, which adds to this
    figure by itself. This records the total when units were recovered
    another way (destroyed at the customer's, collected without a return).
    The total may not be below what came back through returns, nor leave
    fewer units at the customer than its pending returns claim, because
    units recorded here can no longer be returned.
    """
    from dentalsales.aftersales.selectors import pending_return_quantities

    row = _locked_customer_row(actor, recall, customer)
    if isinstance(quantity, str) and quantity.strip().isdigit():
        quantity = int(quantity.strip())
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
        raise InvalidInput(
            _("The recovered quantity must be a whole number of at least 0, not “%(value)s”.") % {"value": quantity},
            field="quantity_recovered",
        )
    if quantity > row.quantity_shipped:
        raise InvalidInput(
            _("Cannot record %(value)s recovered from %(customer)s: only %(shipped)s were shipped to it.")
            % {"value": quantity, "customer": row.customer.name, "shipped": row.quantity_shipped},
            field="quantity_recovered",
        )
    if quantity < row.quantity_returned:
        raise InvalidInput(
            _("Cannot record %(value)s recovered from %(customer)s: %(returned)s already came back through received returns.")
            % {"value": quantity, "customer": row.customer.name, "returned": row.quantity_returned},
            field="quantity_recovered",
        )
    pending = pending_return_quantities(recall.lots.values_list("pk", flat=True), customer=row.customer_id)
    if quantity - row.quantity_returned + pending > row.quantity_shipped - row.quantity_returned:
        raise InvalidInput(
            _(
                "Cannot record %(value)s recovered from %(customer)s: returns still to be received claim %(pending)s units; "
                "receive those returns instead of recording their units here."
            )
            % {"value": quantity, "customer": row.customer.name, "pending": pending},
            field="quantity_recovered",
        )
    row.quantity_recovered = quantity
    if note:
        row.note = note.strip()
    row.save()
    return row


def record_returned_goods(*, customer, lot_quantities):
    """Add units received back through a return to each open recall of their lots that lists ``customer``.

    ``lot_quantities`` maps a lot id to the units received. Called inside
    the return receipt's transaction; locks the recall's customer rows. A
    closed recall keeps its final figures. Returns the updated rows.
    """
    quantities = {lot_id: quantity for lot_id, quantity in lot_quantities.items() if quantity > 0}
    if not quantities:
        return []
    per_recall = {}
    for recall_id, lot_id in RecallLot.objects.filter(lot_id__in=list(quantities), recall__status=RecallStatus.OPEN).values_list(
        "recall_id", "lot_id"
    ):
        per_recall[recall_id] = per_recall.get(recall_id, 0) + quantities[lot_id]
    rows = list(
        RecallCustomer.objects.select_for_update()
        .filter(recall_id__in=list(per_recall), customer=customer)
        .select_related("recall")
        .order_by("pk")
    )
    for row in rows:
        added = min(per_recall[row.recall_id], row.quantity_shipped - row.quantity_recovered)
        row.quantity_recovered += added
        row.quantity_returned += added
        row.save(update_fields=["quantity_recovered", "quantity_returned", "updated_at"])
        logger.info("Recall %s: %s units recovered from customer %s through a return", row.recall.number, added, row.customer_id)
    return rows


@transaction.atomic
def close_recall(*, actor, recall, note):
    """Close an open recall once every affected customer has been notified; ``note`` records the evaluation.

    The lots stay recalled. Raises ``InvalidTransition`` naming the
    customers still to notify and ``InvalidInput`` for a missing note.
    """
    recall = _lock_recall(recall)
    _check_action(recall, actor, "close")
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("Enter a closing note: how many units were recovered and how the recall was evaluated."), field="closing_note")
    pending = list(recall.customers.filter(notified_at__isnull=True).select_related("customer").order_by("customer__code"))
    if pending:
        raise InvalidTransition(
            _("Recall %(number)s cannot be closed: %(customers)s not notified yet.")
            % {"number": recall.number, "customers": join_reasons(row.customer.name for row in pending)}
        )
    recall.status = RecallStatus.CLOSED
    recall.closed_by = actor
    recall.closed_at = timezone.now()
    recall.closing_note = note
    recall.save(update_fields=["status", "closed_by", "closed_at", "closing_note"])
    logger.info("Recall %s closed by user %s", recall.number, actor.pk)
    return recall
