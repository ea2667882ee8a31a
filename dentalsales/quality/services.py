"""Writes on recalls: create and edit a draft, open (block the lots, list the customers), follow up per customer, close.

A recall moves draft → open → closed (``TRANSITIONS``). Opening locks the
recall, then the lots in primary-key order, so two recalls of the same lot
queue instead of deadlocking. Lots stay recalled after the recall closes,
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
from dentalsales.inventory.models import Lot, LotStatus
from dentalsales.inventory.trace import trace_customers

from .models import Recall, RecallCustomer, RecallLevel, RecallLot, RecallStatus

logger = logging.getLogger(__name__)

# Roles that create and run recalls.
RECALL_ROLES = frozenset({Role.QUALITY_OFFICER, Role.ADMINISTRATOR})
# Roles that may read recalls: logistics takes the goods back, managers follow up.
RECALL_VIEW_ROLES = RECALL_ROLES | {Role.MANAGER, Role.LOGISTICS}
S = RecallStatus
TRANSITIONS = {
    "edit": ({S.DRAFT}, RECALL_ROLES),
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
    return Recall.objects.select_for_update().select_related("product").get(pk=recall.pk)


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


def _clean_header(level, reason, source):
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
    of another product, no lots, an unknown level and a missing reason.
    Nothing is blocked until the recall is opened.
    """
    if not actor.has_role(*RECALL_ROLES):
        raise NotPermitted(_("Only the quality officer can create recalls."))
    product = _clean_product(product)
    lots = _clean_lots(product, lots)
    level, reason, source = _clean_header(level, reason, source)

    recall = Recall.objects.create(
        number=next_document_number("RC"), product=product, level=level, reason=reason, source=source, created_by=actor
    )
    RecallLot.objects.bulk_create([RecallLot(recall=recall, lot=lot) for lot in lots])
    logger.info("Recall %s created by user %s for product %s, %s lots", recall.number, actor.pk, product.pk, len(lots))
    return recall


@transaction.atomic
def update_recall(*, actor, recall, lots=None, level=None, reason=None, source=None):
    """Change a draft recall's lots, level, reason or source; arguments left as None keep their value."""
    recall = _lock_recall(recall)
    _check_action(recall, actor, "edit")
    level, reason, source = _clean_header(
        recall.level if level is None else level,
        recall.reason if reason is None else reason,
        recall.source if source is None else source,
    )
    recall.level, recall.reason, recall.source = level, reason, source
    recall.save(update_fields=["level", "reason", "source"])
    if lots is not None:
        lots = _clean_lots(recall.product, lots)
        recall.recall_lots.all().delete()
        RecallLot.objects.bulk_create([RecallLot(recall=recall, lot=lot) for lot in lots])
    return recall


@transaction.atomic
def open_recall(*, actor, recall):
    """Open a draft recall: block its lots at once and list every customer that received them.

    Sets each lot's status to recalled, so allocation skips it and
    receiving, picking and dispatch refuse it (see
    ``inventory.services.unavailable_lot_reason``), and copies each affected customer's contact and
    shipped quantity into a ``RecallCustomer`` row. Logistics, managers and
    the representatives of the affected customers are notified after the
    transaction commits. Locks the recall, then its lots by primary key.
    Raises ``InvalidTransition`` unless the recall is a draft.
    """
    recall = _lock_recall(recall)
    _check_action(recall, actor, "open")
    recall_lots = list(recall.recall_lots.order_by("lot_id"))
    lots = {lot.pk: lot for lot in Lot.objects.select_for_update().filter(pk__in=[row.lot_id for row in recall_lots]).order_by("pk")}

    for row in recall_lots:
        row.previous_status = lots[row.lot_id].status
    RecallLot.objects.bulk_update(recall_lots, ["previous_status"])
    for lot in lots.values():
        # save() rather than update(), so that the lot's history records who recalled it and why.
        lot.status = LotStatus.RECALLED
        lot._change_reason = recall.number
        lot._history_user = actor
        lot.save(update_fields=["status"])

    affected = trace_customers(lots.keys())
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
            )
            for row in affected
        ]
    )
    recall.status = RecallStatus.OPEN
    recall.opened_by = actor
    recall.opened_at = timezone.now()
    recall.save(update_fields=["status", "opened_by", "opened_at"])

    logger.info("Recall %s opened by user %s: %s lots blocked, %s customers", recall.number, actor.pk, len(lots), len(affected))
    transaction.on_commit(lambda: _notify_opened(recall.pk))
    return recall


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
    """Set the total quantity recovered from ``customer``: a whole number from 0 to the quantity shipped to it."""
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
    row.quantity_recovered = quantity
    if note:
        row.note = note.strip()
    row.save()
    return row


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
