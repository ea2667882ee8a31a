from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy
from simple_history.models import HistoricalRecords

from dentalsales.core.timeutils import is_expired


class Warehouse(models.Model):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=300, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")

    def __str__(self):
        return self.name


class LotStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    QUARANTINED = "quarantined", _("Quarantined")
    RECALLED = "recalled", _("Recalled")


class Lot(models.Model):
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(_("lot number"), max_length=50)
    production_date = models.DateField(_("production date"))
    expiry_date = models.DateField(_("expiry date"))
    status = models.CharField(_("status"), max_length=20, choices=LotStatus.choices, default=LotStatus.AVAILABLE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["product", "expiry_date", "lot_number"]
        verbose_name = _("lot")
        verbose_name_plural = _("lots")
        constraints = [
            models.UniqueConstraint(fields=["product", "lot_number"], name="unique_lot_number_per_product"),
            models.CheckConstraint(condition=Q(expiry_date__gte=F("production_date")), name="lot_expiry_after_production"),
        ]

    def __str__(self):
        return self.lot_number

    @property
    def is_expired(self):
        return is_expired(self.expiry_date)

    @property
    def effective_status(self):
        """Return the status to show: ``expired`` for an available lot past its expiry date, else the stored status."""
        if self.status == LotStatus.AVAILABLE and self.is_expired:
            return "expired"
        return self.status

    @property
    def effective_status_label(self):
        if self.effective_status == "expired":
            return pgettext("lot status", "Expired")
        return self.get_status_display()


class StockBalance(models.Model):
    """Quantity of one lot in one warehouse.

    ``on_hand`` always equals the sum of the lot's ledger entries in the
    warehouse; ``reserved`` is the sum of open allocations. Services lock
    this row (``select_for_update``) before changing either, and the check
    constraints keep both from going negative or ``reserved`` above
    ``on_hand`` even if a service had a bug.
    """

    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="balances")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="balances")
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)

    class Meta:
        ordering = ["warehouse", "lot"]
        constraints = [
            models.UniqueConstraint(fields=["warehouse", "lot"], name="unique_balance_per_warehouse_lot"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="balance_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="balance_reserved_not_negative"),
            models.CheckConstraint(condition=Q(reserved__lte=F("on_hand")), name="balance_reserved_within_on_hand"),
        ]

    @property
    def available(self):
        return self.on_hand - self.reserved

    @property
    def sellable_quantity(self):
        """Return what may still be allocated: available units of a lot that is available and not expired."""
        if self.lot.status != LotStatus.AVAILABLE or self.lot.is_expired:
            return 0
        return self.available


class LedgerReason(models.TextChoices):
    RECEIPT = "receipt", _("Receipt")
    SHIPMENT = "shipment", _("Shipment")
    ADJUSTMENT = "adjustment", _("Adjustment")
    CUSTOMER_RETURN = "return", _("Customer return")
    SCRAP = "scrap", _("Scrap")
    TRANSFER = "transfer", _("Transfer")
    STOCK_COUNT = "count", _("Stock count")
    PICKING_CANCELLED = "picking_cancelled", _("Picking cancelled")


class StockLedgerEntry(models.Model):
    """One change of stock on hand; rows are only ever added."""

    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="ledger_entries")
    quantity = models.IntegerField(_("quantity"), help_text=_("Positive for stock in, negative for stock out."))
    reason = models.CharField(_("reason"), max_length=20, choices=LedgerReason.choices)
    reference = models.CharField(_("document number"), max_length=40)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("stock ledger entry")
        verbose_name_plural = _("stock ledger")


class InspectionResult(models.TextChoices):
    """Outcome of the receiving inspection (验收) of one goods receipt."""

    ACCEPTED = "accepted", pgettext_lazy("inspection result", "Accepted")
    REJECTED = "rejected", pgettext_lazy("inspection result", "Rejected")
    QUARANTINED = "quarantined", pgettext_lazy("inspection result", "Quarantined")


class ShipmentStatus(models.TextChoices):
    PICKED = "picked", _("Picked")
    REVIEWED = "reviewed", _("Reviewed")
    DISPATCHED = "dispatched", _("Dispatched")
    DELIVERED = "delivered", _("Delivered")
    CANCELLED = "cancelled", _("Picking cancelled")


class GoodsReceipt(models.Model):
    number = models.CharField(_("receipt number"), max_length=30, unique=True)
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT)
    lot = models.ForeignKey(Lot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="receipts")
    quantity = models.PositiveIntegerField(_("quantity"))
    received_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("received by"), on_delete=models.PROTECT, related_name="+")
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    supplier = models.CharField(_("supplier"), max_length=200, blank=True)
    serial_number = models.CharField(_("serial number"), max_length=60, blank=True)
    udi = models.CharField(_("UDI"), max_length=200, blank=True, help_text=_("The barcode as scanned, kept for traceability."))
    inspection_result = models.CharField(
        _("inspection result"), max_length=20, choices=InspectionResult.choices, default=InspectionResult.ACCEPTED
    )
    inspection_note = models.CharField(_("inspection note"), max_length=300, blank=True)
    # The API's Idempotency-Key or the web form's token: a resent request
    # with the same key returns this receipt instead of receiving twice.
    idempotency_key = models.CharField(max_length=100, blank=True, default="", editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = _("goods receipt")
        verbose_name_plural = _("goods receipts")
        constraints = [
            models.UniqueConstraint(
                fields=["received_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="unique_receipt_idempotency_key_per_user",
            ),
        ]

    def __str__(self):
        return self.number


class Allocation(models.Model):
    """Stock of one lot in one warehouse reserved for an order line at release."""

    order_line = models.ForeignKey("sales.SalesOrderLine", on_delete=models.PROTECT, related_name="allocations")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="allocations")
    quantity = models.PositiveIntegerField(_("allocated quantity"))
    shipped_quantity = models.PositiveIntegerField(_("shipped quantity"), default=0)
    released_quantity = models.PositiveIntegerField(
        _("released quantity"), default=0, help_text=_("Quantity given back to stock by a cancellation.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["order_line", "lot__expiry_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(shipped_quantity__lte=F("quantity") - F("released_quantity")),
                name="allocation_shipped_within_quantity",
            )
        ]

    @property
    def open_quantity(self):
        return self.quantity - self.shipped_quantity - self.released_quantity


class Shipment(models.Model):
    """Goods of one order leaving one warehouse: picked, reviewed by a second person, dispatched, delivered.

    Stock leaves the warehouse balance when the goods are picked (the
    ledger row is written then), because picked goods wait in the dispatch
    area and can no longer be sold. The shipment may leave the building
    only after a passed outbound review.
    """

    number = models.CharField(_("shipment number"), max_length=30, unique=True)
    order = models.ForeignKey("sales.SalesOrder", verbose_name=_("sales order"), on_delete=models.PROTECT, related_name="shipments")
    customer = models.ForeignKey("customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="shipments")
    delivery_address = models.CharField(_("delivery address"), max_length=300, blank=True)
    receiving_contact = models.CharField(_("receiving contact"), max_length=100, blank=True)
    carrier = models.CharField(_("carrier"), max_length=100, blank=True)
    waybill_number = models.CharField(_("waybill number"), max_length=60, blank=True)
    shipped_on = models.DateField(_("shipping date"), help_text=_("Day of picking until the shipment is dispatched, then the dispatch date."))
    shipped_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("picked by"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(_("status"), max_length=20, choices=ShipmentStatus.choices, default=ShipmentStatus.PICKED)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("dispatched by"), on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    delivered_on = models.DateField(_("delivery date"), null=True, blank=True)
    delivery_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("delivery confirmed by"), on_delete=models.PROTECT, related_name="+",
        null=True, blank=True,
    )
    signed_receipt = models.FileField(_("signed receipt"), upload_to="shipments/%Y/%m/", blank=True)
    delivery_note_prints = models.PositiveIntegerField(
        _("delivery note prints"), default=0, help_text=_("Every print after the first is marked as a copy.")
    )
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("picking cancelled by"), on_delete=models.PROTECT, related_name="+",
        null=True, blank=True,
    )
    cancelled_at = models.DateTimeField(_("picking cancelled at"), null=True, blank=True)
    cancellation_reason = models.CharField(_("reason for cancelling the picking"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-shipped_on", "-id"]
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")

    def __str__(self):
        return self.number


class ShipmentLine(models.Model):
    """One lot shipped for one order line.

    Product facts (name, specification, registration number, manufacturer,
    storage) are copied at shipping time so that the delivery note and the
    traceability record keep what was true on that day.
    """

    shipment = models.ForeignKey(Shipment, on_delete=models.PROTECT, related_name="lines")
    order_line = models.ForeignKey("sales.SalesOrderLine", on_delete=models.PROTECT, related_name="shipment_lines")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(Lot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="shipment_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    product_name = models.CharField(_("product name"), max_length=200)
    specification = models.CharField(_("model / specification"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=20)
    manufacturer = models.CharField(_("manufacturer"), max_length=200)
    registration_number = models.CharField(_("registration or record number"), max_length=60)
    manufacturer_licence_number = models.CharField(_("manufacturer's production licence or record number"), max_length=60, blank=True)
    storage_conditions = models.CharField(_("storage conditions"), max_length=100, blank=True)
    lot_number = models.CharField(_("lot number"), max_length=50)
    production_date = models.DateField(_("production date"))
    expiry_date = models.DateField(_("expiry date"))
    serial_numbers = models.TextField(
        _("serial numbers"), blank=True, help_text=_("Serial numbers of the units picked from a serialised lot, separated by spaces.")
    )

    class Meta:
        ordering = ["shipment", "id"]
        verbose_name = _("shipment line")
        verbose_name_plural = _("shipment lines")


class ReviewResult(models.TextChoices):
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


class ReviewLineResult(models.TextChoices):
    """Finding of the outbound review for one picked line; anything but ``ok`` fails the review."""

    OK = "ok", _("Matches")
    DAMAGED = "damaged", _("Damaged")
    MISLABELLED = "mislabelled", _("Mislabelled")
    EXPIRED = "expired", _("Expired or not available")
    UNMATCHED = "unmatched", _("Does not match the line")


class ReviewFinding(models.TextChoices):
    """Why a review line failed, kept as a code so that the reason reads in each reader's language."""

    WRONG_PRODUCT = "wrong_product", _("Scanned code names another product")
    WRONG_LOT = "wrong_lot", _("Scanned code names another lot")
    WRONG_EXPIRY = "wrong_expiry", _("Scanned code names another expiry date")
    SHORT = "short", _("Fewer units counted than picked")
    LOT_RECALLED = "lot_recalled", _("Lot recalled")
    LOT_QUARANTINED = "lot_quarantined", _("Lot quarantined")
    LOT_EXPIRED = "lot_expired", _("Lot expired")
    REPORTED = "reported", _("Reported by the reviewer")


class OutboundReview(models.Model):
    """Outbound review (出库复核) of a picked shipment by someone other than the picker; kept for good."""

    shipment = models.ForeignKey(Shipment, verbose_name=_("shipment"), on_delete=models.PROTECT, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewer"), on_delete=models.PROTECT, related_name="+")
    reviewed_at = models.DateTimeField(_("reviewed at"), auto_now_add=True)
    result = models.CharField(_("result"), max_length=20, choices=ReviewResult.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        ordering = ["-reviewed_at", "-id"]
        verbose_name = _("outbound review")
        verbose_name_plural = _("outbound reviews")


class OutboundReviewLine(models.Model):
    review = models.ForeignKey(OutboundReview, on_delete=models.PROTECT, related_name="lines")
    shipment_line = models.ForeignKey(ShipmentLine, verbose_name=_("shipment line"), on_delete=models.PROTECT, related_name="review_lines")
    result = models.CharField(_("result"), max_length=20, choices=ReviewLineResult.choices)
    confirmed_quantity = models.PositiveIntegerField(_("confirmed quantity"))
    scanned_code = models.CharField(
        _("scanned code"), max_length=200, blank=True, help_text=_("Barcode read from the goods; empty when the line was ticked.")
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    finding = models.CharField(_("finding"), max_length=20, choices=ReviewFinding.choices, blank=True)
    # True when the reviewer typed no note and ``note`` holds the generated reason, in the reviewer's language;
    # screens then rebuild the reason from ``finding`` in the reader's language instead.
    note_generated = models.BooleanField(default=False, editable=False)

    class Meta:
        ordering = ["review", "shipment_line_id"]


class StockCountStatus(models.TextChoices):
    SUBMITTED = "submitted", _("Waiting for approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class StockCount(models.Model):
    """A count of lots in one warehouse; its differences change stock only once a second person approves them."""

    number = models.CharField(_("count number"), max_length=30, unique=True)
    warehouse = models.ForeignKey(Warehouse, verbose_name=_("warehouse"), on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=20, choices=StockCountStatus.choices, default=StockCountStatus.SUBMITTED)
    counted_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("counted by"), on_delete=models.PROTECT, related_name="+")
    counted_at = models.DateTimeField(_("counted at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("approved or rejected by"), on_delete=models.PROTECT, related_name="+",
        null=True, blank=True,
    )
    decided_at = models.DateTimeField(_("approved or rejected at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-counted_at", "-id"]
        verbose_name = _("stock count")
        verbose_name_plural = _("stock counts")

    def __str__(self):
        return self.number


class StockCountLine(models.Model):
    count = models.ForeignKey(StockCount, on_delete=models.PROTECT, related_name="lines")
    lot = models.ForeignKey(Lot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="+")
    system_quantity = models.IntegerField(_("quantity on record"))
    counted_quantity = models.PositiveIntegerField(_("counted quantity"))
    reason = models.CharField(_("reason for the difference"), max_length=200, blank=True)

    class Meta:
        ordering = ["count", "id"]
        constraints = [models.UniqueConstraint(fields=["count", "lot"], name="unique_lot_per_stock_count")]

    @property
    def difference(self):
        return self.counted_quantity - self.system_quantity


class StockTransfer(models.Model):
    """Units of one lot moved from one warehouse to another; writes one ledger row out and one in."""

    number = models.CharField(_("transfer number"), max_length=30, unique=True)
    lot = models.ForeignKey(Lot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="transfers")
    from_warehouse = models.ForeignKey(Warehouse, verbose_name=_("from warehouse"), on_delete=models.PROTECT, related_name="+")
    to_warehouse = models.ForeignKey(Warehouse, verbose_name=_("to warehouse"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("transferred by"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("transferred at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("stock transfer")
        verbose_name_plural = _("stock transfers")

    def __str__(self):
        return self.number
