from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from dentalsales.core.money import round_money


class OrderChannel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    FAX = "fax", _("Fax")
    VISIT = "visit", _("Visit")
    ONLINE = "online", _("Online")


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RELEASED = "released", _("Released to logistics")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


# Orders in these states still commit the customer's credit for their
# unshipped part.
OPEN_APPROVED_STATUSES = (OrderStatus.APPROVED, OrderStatus.RELEASED, OrderStatus.PARTIALLY_SHIPPED)
EDITABLE_STATUSES = (OrderStatus.DRAFT, OrderStatus.REJECTED)


class SalesOrder(models.Model):
    number = models.CharField(_("order number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="orders"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales representative"),
        on_delete=models.PROTECT,
        related_name="sales_orders",
    )
    channel = models.CharField(_("order channel"), max_length=10, choices=OrderChannel.choices)
    status = models.CharField(_("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.DRAFT)
    order_date = models.DateField(_("order date"))
    requested_delivery_date = models.DateField(_("requested delivery date"), null=True, blank=True)
    delivery_address = models.CharField(_("delivery address"), max_length=300, blank=True)
    # The customer's saved address the delivery address was filled from; the
    # text above is what ships, so a later edit of the saved address does not
    # move an order already entered.
    customer_address = models.ForeignKey(
        "customers.DeliveryAddress",
        verbose_name=_("customer's delivery address"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    customer_reference = models.CharField(_("customer's purchase order number"), max_length=60, blank=True)
    note = models.TextField(_("note"), blank=True)
    total_amount = models.DecimalField(_("total amount"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    tax_amount = models.DecimalField(_("tax amount"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    # Why the reviewer approved despite failed soft checks, or why the order
    # was rejected or cancelled: the latest reason; every one stays in the
    # status changes.
    review_note = models.TextField(_("review note"), blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    cancellation_reason = models.TextField(_("cancellation reason"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # The client's Idempotency-Key or the form's token: a second request
    # with the same key from the same user returns the first order.
    idempotency_key = models.CharField(max_length=100, blank=True, default="", editable=False)
    # SHA-256 of the request that created the order, so that a key reused
    # for a different request is refused instead of answered with this order.
    idempotency_fingerprint = models.CharField(max_length=64, blank=True, default="", editable=False)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-order_date", "-number"]
        verbose_name = _("sales order")
        verbose_name_plural = _("sales orders")
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="unique_order_idempotency_key_per_user",
            )
        ]
        indexes = [models.Index(fields=["status", "order_date"]), models.Index(fields=["owner", "status"])]

    def __str__(self):
        return self.number

    def gross_profit(self, lines):
        """Return the gross profit and margin (share of the amount excluding VAT) over ``lines`` of this order."""
        profit = round_money(sum((line.gross_profit for line in lines), Decimal("0")))
        net = sum((line.amount - line.tax_amount for line in lines), Decimal("0"))
        margin = (profit / net).quantize(Decimal("0.0001")) if net else None
        return profit, margin


class SalesOrderLine(models.Model):
    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price (tax incl.)"), max_digits=14, decimal_places=4)
    amount = models.DecimalField(_("amount (tax incl.)"), max_digits=14, decimal_places=2)
    tax_rate = models.DecimalField(_("VAT rate"), max_digits=4, decimal_places=2)
    tax_amount = models.DecimalField(_("tax amount"), max_digits=14, decimal_places=2)
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=4)
    # What the price policy gave when the line was priced, and why; a
    # manually entered unit_price below it goes through discount approval.
    resolved_unit_price = models.DecimalField(_("policy price"), max_digits=14, decimal_places=4, null=True, blank=True)
    price_reasons = models.JSONField(_("price reasons"), default=list, blank=True)
    # The product's standard cost (excluding VAT) when the line was priced,
    # so that later cost changes do not rewrite this order's gross profit.
    unit_cost = models.DecimalField(_("standard cost"), max_digits=14, decimal_places=4, default=0)
    shipped_quantity = models.PositiveIntegerField(_("shipped quantity"), default=0)
    # Units that will not be delivered because the order was closed short;
    # they no longer count as unshipped for allocation, completion or credit.
    closed_short_quantity = models.PositiveIntegerField(_("closed short quantity"), default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(shipped_quantity__lte=F("quantity") - F("closed_short_quantity")),
                name="order_line_shipped_and_closed_within_quantity",
            )
        ]

    @property
    def unshipped_quantity(self):
        """Units still to ship: ordered minus shipped minus closed short."""
        return self.quantity - self.shipped_quantity - self.closed_short_quantity

    @property
    def gross_profit(self):
        """Amount excluding VAT minus standard cost, in yuan."""
        return round_money(self.amount - self.tax_amount - self.unit_cost * self.quantity)


class OrderStatusChange(models.Model):
    """Who moved an order from one state to another, when and why."""

    order = models.ForeignKey(SalesOrder, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from"), max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=OrderStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    # The transition that made the change when its states alone do not tell
    # ("amend" keeps the state, "reinstate" leaves cancelled); blank otherwise.
    action = models.CharField(_("action"), max_length=20, blank=True, default="")
    # The review checklist as it stood when the order was approved or rejected.
    checks = models.JSONField(default=list, blank=True)
    # An amendment's old and new values: dicts with line, product, field, old and new.
    changes = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["order", "created_at", "id"]
        verbose_name = _("order status change")
        verbose_name_plural = _("order status changes")


class QuotationStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    LOST = "lost", _("Lost")
    EXPIRED = "expired", _("Expired")


class Quotation(models.Model):
    number = models.CharField(_("quotation number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="quotations"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales representative"),
        on_delete=models.PROTECT,
        related_name="quotations",
    )
    contact_name = models.CharField(_("contact"), max_length=60, blank=True)
    quotation_date = models.DateField(_("quotation date"))
    valid_until = models.DateField(_("valid until"))
    payment_terms = models.CharField(_("payment terms"), max_length=300, blank=True)
    delivery_terms = models.CharField(_("delivery terms"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=QuotationStatus.choices, default=QuotationStatus.DRAFT
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    sent_to = models.EmailField(_("sent to"), blank=True)
    lost_reason = models.TextField(_("reason lost"), blank=True)
    order = models.OneToOneField(
        SalesOrder,
        verbose_name=_("sales order"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="quotation",
    )
    total_amount = models.DecimalField(_("total amount"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    tax_amount = models.DecimalField(_("tax amount"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-quotation_date", "-number"]
        verbose_name = _("quotation")
        verbose_name_plural = _("quotations")
        indexes = [models.Index(fields=["status", "valid_until"]), models.Index(fields=["owner", "status"])]

    def __str__(self):
        return self.number


class QuotationLine(models.Model):
    quotation = models.ForeignKey(Quotation, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price (tax incl.)"), max_digits=14, decimal_places=4)
    amount = models.DecimalField(_("amount (tax incl.)"), max_digits=14, decimal_places=2)
    tax_rate = models.DecimalField(_("VAT rate"), max_digits=4, decimal_places=2)
    tax_amount = models.DecimalField(_("tax amount"), max_digits=14, decimal_places=2)
    list_price = models.DecimalField(_("list price"), max_digits=14, decimal_places=4)
    resolved_unit_price = models.DecimalField(_("policy price"), max_digits=14, decimal_places=4, null=True, blank=True)
    price_reasons = models.JSONField(_("price reasons"), default=list, blank=True)
    unit_cost = models.DecimalField(_("standard cost"), max_digits=14, decimal_places=4, default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["quotation", "id"]
        verbose_name = _("quotation line")
        verbose_name_plural = _("quotation lines")


class ContractStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    UNDER_REVIEW = "under_review", _("Under review")
    MANAGER_REVIEW = "manager_review", _("Awaiting manager approval")
    SIGNED = "signed", _("Signed")
    ACTIVE = "active", pgettext_lazy("contract status", "Active")
    COMPLETED = "completed", _("Completed")
    TERMINATED = "terminated", _("Terminated")
    EXPIRED = "expired", pgettext_lazy("contract status", "Expired")


class Contract(models.Model):
    number = models.CharField(_("contract number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="contracts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales representative"),
        on_delete=models.PROTECT,
        related_name="contracts",
    )
    status = models.CharField(_("status"), max_length=20, choices=ContractStatus.choices, default=ContractStatus.DRAFT)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"))
    payment_terms = models.TextField(_("payment terms"), blank=True)
    quality_terms = models.TextField(_("quality assurance terms"), blank=True)
    note = models.TextField(_("note"), blank=True)
    total_amount = models.DecimalField(_("total amount"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    signed_copy = models.FileField(_("signed copy"), upload_to="contracts/%Y/%m/", blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    # The supervisor's approval of a contract that also needs a manager's.
    supervisor_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by supervisor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    supervisor_approved_at = models.DateTimeField(_("supervisor approval time"), null=True, blank=True)
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    termination_reason = models.TextField(_("termination reason"), blank=True)
    completion_note = models.TextField(
        _("completion note"), blank=True, help_text=_("Why the contract was completed with quantities never ordered.")
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    quotation = models.OneToOneField(
        Quotation,
        verbose_name=_("quotation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contract",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-start_date", "-number"]
        verbose_name = _("sales contract")
        verbose_name_plural = _("sales contracts")
        indexes = [models.Index(fields=["owner", "status"])]

    def __str__(self):
        return self.number


class ContractLine(models.Model):
    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    specification = models.CharField(_("specification"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price (tax incl.)"), max_digits=14, decimal_places=4)
    amount = models.DecimalField(_("amount (tax incl.)"), max_digits=14, decimal_places=2)
    delivery_date = models.DateField(_("delivery date"), null=True, blank=True)
    # Quantity already ordered against this line; orders never draw more than the line's quantity.
    drawn_quantity = models.PositiveIntegerField(_("quantity ordered"), default=0)
    history = HistoricalRecords()

    class Meta:
        ordering = ["contract", "id"]
        verbose_name = _("contract line")
        verbose_name_plural = _("contract lines")

    @property
    def remaining_quantity(self):
        return self.quantity - self.drawn_quantity

    @property
    def shipped_quantity(self):
        """Units shipped on the orders drawn from this line; prefetch ``drawdowns__order_line`` when listing."""
        return sum(
            drawdown.order_line.shipped_quantity for drawdown in self.drawdowns.all() if drawdown.released_at is None
        )


class ContractDrawdown(models.Model):
    """One order line's quantity taken from a contract line."""

    contract_line = models.ForeignKey(ContractLine, on_delete=models.PROTECT, related_name="drawdowns")
    order_line = models.OneToOneField(SalesOrderLine, on_delete=models.PROTECT, related_name="contract_drawdown")
    quantity = models.PositiveIntegerField(_("quantity"))
    # Set when the order is cancelled and its quantity went back to the contract line.
    released_at = models.DateTimeField(_("given back at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["contract_line", "id"]
        verbose_name = _("contract drawdown")
        verbose_name_plural = _("contract drawdowns")
