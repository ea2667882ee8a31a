import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords


class RecallLevel(models.TextChoices):
    """Recall levels of the NMPA rules on medical device recalls (医疗器械召回管理办法, 2017)."""

    LEVEL_1 = "1", _("Level I: use may cause or has caused serious harm to health")
    LEVEL_2 = "2", _("Level II: use may cause or has caused temporary or reversible harm")
    LEVEL_3 = "3", _("Level III: use is unlikely to cause harm, but the device must be recalled")


# Days from opening a recall within which every affected customer must be
# notified: 1, 3 and 7 days for levels I, II and III. The same rules set these
# limits for a manufacturer's notice to distributors and users. This
# application applies them to the distributor's notices to its customers.
NOTIFICATION_DAYS = {RecallLevel.LEVEL_1: 1, RecallLevel.LEVEL_2: 3, RecallLevel.LEVEL_3: 7}


class RecallStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", pgettext_lazy("recall status", "Open")
    CLOSED = "closed", pgettext_lazy("recall status", "Closed")
    WITHDRAWN = "withdrawn", pgettext_lazy("recall status", "Withdrawn")


# A lot may be in only one recall in these states at a time.
ACTIVE_RECALL_STATUSES = (RecallStatus.DRAFT, RecallStatus.OPEN)


class Recall(models.Model):
    """A recall of one product's lots; opening it blocks the lots and lists every customer that received them."""

    number = models.CharField(_("recall number"), max_length=30, unique=True)
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="recalls")
    lots = models.ManyToManyField("inventory.Lot", verbose_name=_("lots"), through="RecallLot", related_name="recalls")
    level = models.CharField(_("recall level"), max_length=1, choices=RecallLevel.choices)
    reason = models.TextField(_("reason"))
    source = models.CharField(
        _("initiated by"), max_length=200, blank=True, help_text=_("For example the manufacturer's recall notice number.")
    )
    status = models.CharField(_("status"), max_length=20, choices=RecallStatus.choices, default=RecallStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("opened by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("closed by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closing_note = models.TextField(_("closing note"), blank=True)
    withdrawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("withdrawn by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("reason for withdrawal"), blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["draft", "withdrawn"]) | Q(opened_at__isnull=False), name="recall_opened_has_time"
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def notification_due(self):
        """Return the last day (Asia/Shanghai) for notifying customers, or None before the recall is opened."""
        if self.opened_at is None:
            return None
        from django.utils import timezone

        opened_on = timezone.localtime(self.opened_at).date()
        return opened_on + datetime.timedelta(days=NOTIFICATION_DAYS[self.level])


class RecallLot(models.Model):
    recall = models.ForeignKey(Recall, on_delete=models.PROTECT, related_name="recall_lots")
    lot = models.ForeignKey("inventory.Lot", verbose_name=_("lot"), on_delete=models.PROTECT, related_name="+")
    # The lot's status before the recall opened, kept for the record.
    previous_status = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["recall", "lot"]
        constraints = [models.UniqueConstraint(fields=["recall", "lot"], name="unique_lot_per_recall")]


class RecallCustomer(models.Model):
    """One customer that received recalled lots: what was shipped, notification, acknowledgement and recovery.

    The contact fields are copied when the recall opens, so the record shows
    whom the company was to contact on that day.
    """

    recall = models.ForeignKey(Recall, on_delete=models.PROTECT, related_name="customers")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="recalls")
    quantity_shipped = models.PositiveIntegerField(_("quantity shipped"))
    shipment_count = models.PositiveIntegerField(_("shipments"), default=0)
    contact_name = models.CharField(_("contact"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=300, blank=True)
    notified_at = models.DateTimeField(_("notified at"), null=True, blank=True)
    notified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("notified by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    notification_method = models.CharField(_("notification method"), max_length=100, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    quantity_recovered = models.PositiveIntegerField(_("quantity recovered"), default=0)
    # The part of quantity_recovered that came back through received returns
    # of the recalled lots; the rest was recorded by hand on the recall.
    quantity_returned = models.PositiveIntegerField(_("recovered through returns"), default=0)
    note = models.TextField(_("note"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["recall", "customer__code"]
        verbose_name = _("recalled customer")
        verbose_name_plural = _("recalled customers")
        constraints = [
            models.UniqueConstraint(fields=["recall", "customer"], name="unique_customer_per_recall"),
            models.CheckConstraint(
                condition=Q(quantity_recovered__lte=models.F("quantity_shipped")), name="recall_recovered_within_shipped"
            ),
            models.CheckConstraint(
                condition=Q(quantity_returned__lte=models.F("quantity_recovered")), name="recall_returned_within_recovered"
            ),
        ]

    @property
    def quantity_recovered_by_hand(self):
        """Units recorded as recovered on the recall without a return; they can no longer be returned."""
        return self.quantity_recovered - self.quantity_returned

    def __str__(self):
        return f"{self.recall} · {self.customer}"


class RecallReleasedReservation(models.Model):
    """Stock reserved for an order line on a recalled lot, given back to stock when the recall opened.

    The order line keeps the quantity unshipped, as a backorder, so that it
    can be supplied from another lot.
    """

    recall = models.ForeignKey(Recall, on_delete=models.PROTECT, related_name="released_reservations")
    order = models.ForeignKey("sales.SalesOrder", verbose_name=_("sales order"), on_delete=models.PROTECT, related_name="+")
    order_line = models.ForeignKey("sales.SalesOrderLine", verbose_name=_("order line"), on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey("inventory.Lot", verbose_name=_("lot"), on_delete=models.PROTECT, related_name="+")
    warehouse = models.ForeignKey("inventory.Warehouse", verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity released"))

    class Meta:
        ordering = ["recall", "order", "lot", "id"]
        verbose_name = _("released reservation")
        verbose_name_plural = _("released reservations")
