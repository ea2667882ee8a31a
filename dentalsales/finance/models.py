"""Receivables, payments, credit notes and credit releases.

Balances are stored on the rows and changed only by ``services`` under row
locks: a receivable's ``open_amount`` is always ``amount - credited_amount -
paid_amount`` and never negative, and a payment's or credit note's
``unapplied_amount`` is what is not yet allocated to receivables. The check
constraints below keep both invariants in the database too.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dentalsales.core.timeutils import local_today


class Receivable(models.Model):
    """The amount a customer owes for one shipment, due by the customer's payment terms."""

    number = models.CharField(_("receivable number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="receivables"
    )
    shipment = models.OneToOneField(
        "inventory.Shipment",
        verbose_name=_("shipment"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receivable",
    )
    order = models.ForeignKey(
        "sales.SalesOrder",
        verbose_name=_("sales order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receivables",
    )
    # The representative responsible when the receivable arose: the order's
    # owner at shipment, or the customer's owner for an opening balance. Kept
    # when the customer is reassigned, so collection rates keep their history.
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales representative"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reference = models.CharField(
        _("invoice or reference"),
        max_length=60,
        blank=True,
        help_text=_("For an opening balance: the invoice or voucher number in the earlier system."),
    )
    invoiced_on = models.DateField(_("invoice date"))
    due_on = models.DateField(_("due date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    credited_amount = models.DecimalField(_("credited"), max_digits=14, decimal_places=2, default=0)
    paid_amount = models.DecimalField(_("paid"), max_digits=14, decimal_places=2, default=0)
    open_amount = models.DecimalField(_("open amount"), max_digits=14, decimal_places=2)
    note = models.CharField(
        _("note"), max_length=200, blank=True, help_text=_("For an opening balance: where the amount comes from.")
    )
    reminded_on = models.DateField(_("last reminded on"), null=True, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["invoiced_on", "id"]
        verbose_name = _("receivable")
        verbose_name_plural = _("receivables")
        indexes = [models.Index(fields=["customer", "invoiced_on"]), models.Index(fields=["due_on"])]
        constraints = [
            # An opening balance imported twice fails here even when two imports race.
            models.UniqueConstraint(
                fields=["customer", "reference"],
                condition=~Q(reference=""),
                name="unique_receivable_reference_per_customer",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="receivable_amount_positive"),
            models.CheckConstraint(condition=Q(open_amount__gte=0), name="receivable_open_not_negative"),
            # Within half a fen, not equal: SQLite computes the right side in
            # binary floating point (20000.37 - 10000.18 is 10000.189999…).
            models.CheckConstraint(
                condition=Q(open_amount__gte=F("amount") - F("credited_amount") - F("paid_amount") - Decimal("0.005"))
                & Q(open_amount__lte=F("amount") - F("credited_amount") - F("paid_amount") + Decimal("0.005")),
                name="receivable_open_is_balance",
            ),
        ]

    def __str__(self):
        return self.number

    def overdue_days(self, today=None):
        """Return the days past the due date while money is open; 0 when not due or settled."""
        if self.open_amount <= 0:
            return 0
        return max(((today or local_today()) - self.due_on).days, 0)


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    BANK_ACCEPTANCE = "bank_acceptance", _("Bank acceptance bill")
    CHEQUE = "cheque", _("Cheque")
    CASH = "cash", _("Cash")
    ONLINE = "online", _("Online payment (WeChat Pay, Alipay)")


class DocumentStatus(models.TextChoices):
    POSTED = "posted", _("Posted")
    REVERSED = "reversed", _("Reversed")


class Payment(models.Model):
    """Money received from a customer; what is not allocated to receivables is an unapplied advance."""

    number = models.CharField(_("payment number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="payments"
    )
    received_on = models.DateField(_("received on"))
    method = models.CharField(_("method"), max_length=30, choices=PaymentMethod.choices)
    reference = models.CharField(_("reference"), max_length=100, blank=True, help_text=_("Bank slip or bill number."))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    unapplied_amount = models.DecimalField(_("unapplied amount"), max_digits=14, decimal_places=2)
    note = models.CharField(_("note"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.POSTED)
    reversal_reason = models.CharField(_("reversal reason"), max_length=300, blank=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    # The customer's representative when the payment was recorded; the
    # collection rate credits the unapplied part of the payment to them.
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales representative"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    # The web form's token or the API's Idempotency-Key, so that a resubmitted
    # form or a retried request records one payment.
    idempotency_key = models.CharField(max_length=100, blank=True, default="", editable=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-received_on", "-id"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        indexes = [models.Index(fields=["customer", "received_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["created_by", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="unique_payment_idempotency_key_per_user",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(unapplied_amount__gte=0) & Q(unapplied_amount__lte=F("amount")),
                name="payment_unapplied_within_amount",
            ),
        ]

    def __str__(self):
        return self.number


class PaymentAllocation(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    receivable = models.ForeignKey(
        Receivable, verbose_name=_("receivable"), on_delete=models.PROTECT, related_name="payment_allocations"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    # The day the money settled the receivable: the receipt date when the
    # payment was allocated as it was recorded, else the day of the later
    # allocation. The collection rate counts an advance in the month it is applied.
    applied_on = models.DateField(_("applied on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["payment", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_allocation_positive")]


class CreditNote(models.Model):
    """A reduction of what the customer owes, for returned goods or a price correction.

    ``receivable`` is the receivable the credit was issued against, if any;
    the allocations record where the credit actually went.
    """

    number = models.CharField(_("credit note number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="credit_notes"
    )
    receivable = models.ForeignKey(
        Receivable,
        verbose_name=_("receivable"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="credit_notes",
    )
    issued_on = models.DateField(_("issued on"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    unapplied_amount = models.DecimalField(_("unapplied amount"), max_digits=14, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300)
    source_reference = models.CharField(
        _("source document"), max_length=60, blank=True, help_text=_("The return or other document that caused the credit.")
    )
    status = models.CharField(_("status"), max_length=20, choices=DocumentStatus.choices, default=DocumentStatus.POSTED)
    reversal_reason = models.CharField(_("reversal reason"), max_length=300, blank=True)
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-issued_on", "-id"]
        verbose_name = _("credit note")
        verbose_name_plural = _("credit notes")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credit_note_amount_positive"),
            models.CheckConstraint(
                condition=Q(unapplied_amount__gte=0) & Q(unapplied_amount__lte=F("amount")),
                name="credit_note_unapplied_within_amount",
            ),
        ]

    def __str__(self):
        return self.number


class CreditNoteAllocation(models.Model):
    credit_note = models.ForeignKey(CreditNote, on_delete=models.PROTECT, related_name="allocations")
    receivable = models.ForeignKey(
        Receivable, verbose_name=_("receivable"), on_delete=models.PROTECT, related_name="credit_allocations"
    )
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    applied_on = models.DateField(_("applied on"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["credit_note", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="credit_allocation_positive")]


class CreditRelease(models.Model):
    """Finance's temporary permission for a customer's orders to pass the credit check."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="credit_releases"
    )
    reason = models.CharField(_("reason"), max_length=300)
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("granted by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("granted at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revocation_reason = models.CharField(_("reason for revoking"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-valid_until", "-id"]
        verbose_name = _("credit release")
        verbose_name_plural = _("credit releases")
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="credit_release_dates_ordered")
        ]

    def __str__(self):
        return f"{self.customer} {self.valid_from}–{self.valid_until}"

    def is_active(self, day=None):
        day = day or local_today()
        return self.revoked_at is None and self.valid_from <= day <= self.valid_until
