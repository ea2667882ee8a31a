"""Retention of traceability records: products, lots and customers that appear in them are never deleted.

Purchase inspection and sales records of medical devices must be kept
until two years after the device's expiry date (five years for a device
without one), and those of implantable devices permanently (医疗器械经营
监督管理办法, the NMPA rules on device distribution). The application never deletes such records, so the
guard below refuses deleting a product, lot or customer that any receipt,
shipment, stock ledger row or recall refers to.

The guard is a ``pre_delete`` receiver rather than a service check because
it must hold on every deletion path: the admin, a shell, a data migration
and cascades from other models. Most of these references are also
``on_delete=PROTECT`` foreign keys, so the database refuses as well; the
receiver adds a message that names the records. The receiver raises inside
Django's deletion transaction, which marks the surrounding transaction for
rollback. A service that must carry on after a rejected deletion calls
``ensure_deletable`` first.
"""

import datetime

from django.db.models.signals import pre_delete
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dentalsales.core.errors import DomainError, join_reasons

RETENTION_YEARS_AFTER_EXPIRY = 2
RETENTION_YEARS_WITHOUT_EXPIRY = 5


class RecordRetained(DomainError):
    """A product, lot or customer has traceability records and must be kept."""

    code = "retained"
    http_status = 409
    default_message = gettext_lazy("This record is part of the traceability records and cannot be deleted.")


def retention_until(product, expiry_date):
    """Return the last day the sales records of a lot must be kept, or None when they are kept permanently."""
    if product.is_implantable:
        return None
    if expiry_date is None:
        return datetime.date.today().replace(year=datetime.date.today().year + RETENTION_YEARS_WITHOUT_EXPIRY)
    try:
        return expiry_date.replace(year=expiry_date.year + RETENTION_YEARS_AFTER_EXPIRY)
    except ValueError:  # 29 February
        return expiry_date.replace(year=expiry_date.year + RETENTION_YEARS_AFTER_EXPIRY, day=28)


def traceability_records(instance):
    """Return {description: count} of the traceability records that refer to a product, lot or customer."""
    from dentalsales.catalog.models import Product
    from dentalsales.customers.models import Customer
    from dentalsales.inventory.models import GoodsReceipt, Lot, ShipmentLine, StockLedgerEntry

    from .models import Recall, RecallCustomer, RecallLot

    if isinstance(instance, Product):
        counts = {
            _("shipment lines"): ShipmentLine.objects.filter(product=instance).count(),
            _("goods receipts"): GoodsReceipt.objects.filter(lot__product=instance).count(),
            _("recalls"): Recall.objects.filter(product=instance).count(),
        }
    elif isinstance(instance, Lot):
        counts = {
            _("shipment lines"): ShipmentLine.objects.filter(lot=instance).count(),
            _("goods receipts"): GoodsReceipt.objects.filter(lot=instance).count(),
            _("stock ledger entries"): StockLedgerEntry.objects.filter(lot=instance).count(),
            _("recalls"): RecallLot.objects.filter(lot=instance).count(),
        }
    elif isinstance(instance, Customer):
        counts = {
            _("shipment lines"): ShipmentLine.objects.filter(shipment__customer=instance).count(),
            _("recalls"): RecallCustomer.objects.filter(customer=instance).count(),
        }
    else:
        return {}
    return {name: count for name, count in counts.items() if count}


def ensure_deletable(instance):
    """Raise ``RecordRetained`` naming the records when a product, lot or customer has traceability records."""
    records = traceability_records(instance)
    if records:
        listed = join_reasons(f"{count} {name}" for name, count in records.items())
        raise RecordRetained(
            _("“%(object)s” cannot be deleted: it appears in %(records)s, which must be kept for traceability. Mark it inactive instead.")
            % {"object": instance, "records": listed}
        )


def _refuse_retained(sender, instance, **kwargs):
    ensure_deletable(instance)


def _refuse_recall_records(sender, instance, **kwargs):
    from .models import RecallLot, RecallStatus

    # A draft recall has blocked nothing yet, so its lot list may still change.
    if isinstance(instance, RecallLot) and instance.recall.status == RecallStatus.DRAFT:
        return
    raise RecordRetained(_("Recall records are kept permanently and cannot be deleted."))


def connect_deletion_guards():
    from dentalsales.catalog.models import Product
    from dentalsales.customers.models import Customer
    from dentalsales.inventory.models import Lot

    from .models import Recall, RecallCustomer, RecallLot

    for model in (Product, Lot, Customer):
        pre_delete.connect(_refuse_retained, sender=model, dispatch_uid=f"retention-{model._meta.label}")
    for model in (Recall, RecallCustomer, RecallLot):
        pre_delete.connect(_refuse_recall_records, sender=model, dispatch_uid=f"retention-{model._meta.label}")
