from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.formats import date_format
from django.utils.dateparse import parse_date
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from dentalsales.core.timeutils import local_today


class FeedbackChannel(models.TextChoices):
    PHONE_CALLBACK = "phone_callback", _("Phone call-back")
    SURVEY = "survey", _("Survey")
    COMPLAINT = "complaint", _("Complaint")
    VISIT = "visit", _("Visit")


class ComplaintCategory(models.TextChoices):
    QUALITY = "quality", _("Quality")
    DELIVERY = "delivery", _("Delivery")
    SERVICE = "service", _("Service")
    PRICE = "price", _("Price")
    USAGE_QUESTION = "usage_question", _("Usage question")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    CRITICAL = "critical", _("Critical")


class ComplaintStatus(models.TextChoices):
    # The context keeps this "Open" apart from the one of accounts, because a complaint waits to be handled.
    OPEN = "open", pgettext_lazy("complaint status", "Open")
    IN_PROGRESS = "in_progress", _("In progress")
    WAITING_FOR_CUSTOMER = "waiting_for_customer", _("Waiting for customer")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


# Complaints in these states still count against their due date.
OPEN_COMPLAINT_STATUSES = (ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS, ComplaintStatus.WAITING_FOR_CUSTOMER)


class AdverseEventReview(models.TextChoices):
    NOT_FLAGGED = "", _("Not flagged")
    PENDING = "pending", _("Waiting for the quality officer")
    REPORTED = "reported", _("Reported to the authority")
    DISMISSED = "dismissed", _("Not an adverse event")


class Complaint(models.Model):
    """A piece of customer feedback or a complaint (客户反馈/投诉), handled until it is closed."""

    number = models.CharField(_("complaint number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="complaints"
    )
    contact_name = models.CharField(_("contact"), max_length=60, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=FeedbackChannel.choices)
    category = models.CharField(_("category"), max_length=20, choices=ComplaintCategory.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    lot = models.ForeignKey(
        "inventory.Lot", verbose_name=_("lot"), null=True, blank=True, on_delete=models.PROTECT, related_name="complaints"
    )
    description = models.TextField(_("description"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person responsible"),
        on_delete=models.PROTECT,
        related_name="complaints",
    )
    status = models.CharField(_("status"), max_length=24, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN)
    received_on = models.DateField(_("received on"))
    due_date = models.DateField(_("due date"))
    resolution = models.TextField(_("resolution"), blank=True)
    root_cause = models.TextField(_("root cause"), blank=True)
    satisfaction_score = models.PositiveSmallIntegerField(
        _("customer satisfaction (1–5)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    suspected_adverse_event = models.BooleanField(_("suspected adverse event"), default=False)
    adverse_event_review = models.CharField(
        _("adverse event review"), max_length=20, choices=AdverseEventReview.choices, blank=True, default=""
    )
    adverse_event_note = models.TextField(_("quality officer's assessment"), blank=True)
    adverse_event_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    adverse_event_reviewed_at = models.DateTimeField(null=True, blank=True)
    escalated_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("escalated to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-received_on", "-number"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        indexes = [models.Index(fields=["status", "due_date"]), models.Index(fields=["adverse_event_review"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction_score__isnull=True) | Q(satisfaction_score__gte=1, satisfaction_score__lte=5),
                name="complaint_satisfaction_score_1_to_5",
            )
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self):
        return self.status in OPEN_COMPLAINT_STATUSES

    @property
    def is_overdue(self):
        """Tell whether the complaint is still open after its due date (Asia/Shanghai)."""
        return self.is_open and self.due_date < local_today()


class ComplaintEvent(models.TextChoices):
    """Log entries the application writes itself; their text is composed in the reader's language when shown."""

    NOTE = "", _("Note or status change")
    ESCALATED = "escalated", _("Escalated")
    SEVERITY_CHANGED = "severity_changed", _("Severity changed")
    FLAGGED = "flagged", _("Flagged as a suspected adverse event")
    REOPENED = "reopened", _("Reopened")


def _label(choices, value):
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def _date(value):
    parsed = parse_date(value) if isinstance(value, str) else value
    return date_format(parsed, "Y-m-d") if parsed else "—"


class ComplaintAction(models.Model):
    """One step taken on a complaint: a call, a visit, a replacement sent, a status change.

    An entry written by the application has a ``kind`` and ``params``
    instead of a stored sentence, so every reader sees it in their own
    language. ``actor`` is empty when no person did it, as for the
    scheduler's escalation.
    """

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="actions")
    from_status = models.CharField(_("from"), max_length=24, choices=ComplaintStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=24, choices=ComplaintStatus.choices, blank=True)
    note = models.TextField(_("action taken"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=ComplaintEvent.choices, blank=True, default="")
    params = models.JSONField(_("details"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["complaint", "created_at", "id"]
        verbose_name = _("complaint action")
        verbose_name_plural = _("complaint actions")

    @property
    def actor_name(self):
        """Return who wrote the entry: the user's name, or "System" for the scheduler."""
        return self.actor.display_name if self.actor_id else gettext("System")

    @property
    def event_text(self):
        """Return the sentence of an application-written entry in the active language; "" for a user's note."""
        params = self.params or {}
        if self.kind == ComplaintEvent.ESCALATED:
            return gettext("Escalated: due on %(date)s and still %(status)s.") % {
                "date": _date(params.get("due_date")),
                "status": _label(ComplaintStatus, params.get("status", "")),
            }
        if self.kind == ComplaintEvent.SEVERITY_CHANGED:
            return gettext(
                "Severity changed from %(old)s to %(new)s; the due date moved from %(old_date)s to %(new_date)s."
            ) % {
                "old": _label(Severity, params.get("old_severity", "")),
                "new": _label(Severity, params.get("new_severity", "")),
                "old_date": _date(params.get("old_due_date")),
                "new_date": _date(params.get("new_due_date")),
            }
        if self.kind == ComplaintEvent.FLAGGED:
            return gettext("Flagged as a suspected adverse event.")
        if self.kind == ComplaintEvent.REOPENED:
            parts = []
            if params.get("resolution"):
                parts.append(gettext("Previous resolution: %(text)s") % {"text": params["resolution"]})
            if params.get("satisfaction_score"):
                parts.append(gettext("Previous customer satisfaction: %(score)s / 5") % {"score": params["satisfaction_score"]})
            return "\n".join(parts)
        return ""


class CallbackStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    UNREACHABLE = "unreachable", _("Closed: customer unreachable")


class SatisfactionCallback(models.Model):
    """A satisfaction call-back (满意度回访) to a customer after a shipment, by the customer's representative."""

    shipment = models.OneToOneField(
        "inventory.Shipment", verbose_name=_("shipment"), on_delete=models.PROTECT, related_name="satisfaction_callback"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="satisfaction_callbacks"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales representative"),
        on_delete=models.PROTECT,
        related_name="satisfaction_callbacks",
    )
    due_date = models.DateField(_("due date"))
    status = models.CharField(_("status"), max_length=20, choices=CallbackStatus.choices, default=CallbackStatus.SCHEDULED)
    # Calls that did not reach the customer. The call-back stays scheduled
    # until a call reaches them, or until the representative closes it after
    # SATISFACTION_CALLBACK_MAX_ATTEMPTS unanswered calls.
    unreachable_attempts = models.PositiveSmallIntegerField(_("unanswered calls"), default=0)
    last_attempt_at = models.DateTimeField(_("last unanswered call"), null=True, blank=True)
    last_attempt_note = models.TextField(_("note on the last unanswered call"), blank=True)
    score = models.PositiveSmallIntegerField(
        _("satisfaction score (1–5)"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(_("comment"), blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("called by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completed_at = models.DateTimeField(_("called at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The complaint opened from this call-back, if any."),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_date", "id"]
        verbose_name = _("satisfaction call-back")
        verbose_name_plural = _("satisfaction call-backs")
        indexes = [models.Index(fields=["owner", "status", "due_date"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5),
                name="callback_score_1_to_5",
            )
        ]

    def __str__(self):
        return str(self.shipment)

    @property
    def is_due(self):
        return self.status == CallbackStatus.SCHEDULED and self.due_date <= local_today()


class ReturnKind(models.TextChoices):
    RETURN = "return", _("Return")
    EXCHANGE = "exchange", _("Exchange")


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RECEIVED = "received", _("Received and inspected")
    CANCELLED = "cancelled", _("Cancelled")


# Requests in these states do not use up the returnable quantity.
VOID_RETURN_STATUSES = (ReturnStatus.REJECTED, ReturnStatus.CANCELLED)


class ReturnReason(models.TextChoices):
    QUALITY_DEFECT = "quality_defect", _("Quality defect")
    DAMAGED_IN_TRANSIT = "damaged_in_transit", _("Damaged in transit")
    WRONG_ITEM = "wrong_item", _("Wrong product or specification")
    NEAR_EXPIRY = "near_expiry", _("Too close to expiry")
    EXPIRED = "expired", _("Expired")
    OVERSTOCK = "overstock", _("Ordered too much")
    OTHER = "other", _("Other")


class Disposition(models.TextChoices):
    STOCK = "stock", _("Back to stock")
    QUARANTINE = "quarantine", _("To quarantine")
    SCRAP = "scrap", _("To scrap")


class ReturnRequest(models.Model):
    """A customer's request to return (退货) or exchange (换货) goods from its shipments."""

    number = models.CharField(_("return number"), max_length=30, unique=True)
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="return_requests"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales representative"),
        on_delete=models.PROTECT,
        related_name="return_requests",
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ReturnKind.choices, default=ReturnKind.RETURN)
    status = models.CharField(_("status"), max_length=20, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED)
    note = models.TextField(_("note"), blank=True)
    total_amount = models.DecimalField(_("returned value"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    rejection_reason = models.TextField(_("rejection reason"), blank=True)
    cancellation_reason = models.TextField(_("cancellation reason"), blank=True)
    inspection_note = models.TextField(_("inspection note"), blank=True)
    replacement_order = models.OneToOneField(
        "sales.SalesOrder",
        verbose_name=_("replacement order"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchanged_return",
    )
    credited_amount = models.DecimalField(
        _("credited value"), max_digits=14, decimal_places=2, null=True, blank=True,
        help_text=_("Value of the units actually received, credited to the customer."),
    )
    # The finance app's credit notes, kept by number so that this app does
    # not depend on the finance models' migrations: one per shipment the
    # return draws on, joined by commas.
    credit_note_number = models.CharField(_("credit notes"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-created_at", "-number"]
        verbose_name = _("return or exchange")
        verbose_name_plural = _("returns and exchanges")
        indexes = [models.Index(fields=["owner", "status"]), models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return self.number


class ReturnLine(models.Model):
    """Units of one shipped lot that the customer sends back."""

    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="lines")
    shipment_line = models.ForeignKey(
        "inventory.ShipmentLine", verbose_name=_("shipment line"), on_delete=models.PROTECT, related_name="return_lines"
    )
    lot = models.ForeignKey("inventory.Lot", verbose_name=_("lot"), on_delete=models.PROTECT, related_name="return_lines")
    product = models.ForeignKey("catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    reason = models.CharField(_("reason"), max_length=30, choices=ReturnReason.choices)
    reason_note = models.CharField(_("reason details"), max_length=300, blank=True)
    # The order line's tax-inclusive unit price, copied so that the credit
    # note keeps the price the customer paid.
    unit_price = models.DecimalField(_("unit price (tax incl.)"), max_digits=14, decimal_places=4)
    amount = models.DecimalField(_("amount (tax incl.)"), max_digits=14, decimal_places=2)
    # The outcome when every received unit went the same way; blank when
    # the units were split or none arrived.
    disposition = models.CharField(_("disposition"), max_length=20, choices=Disposition.choices, blank=True)
    received_quantity = models.PositiveIntegerField(_("quantity received"), null=True, blank=True)
    stock_quantity = models.PositiveIntegerField(_("back to stock"), default=0)
    quarantine_quantity = models.PositiveIntegerField(_("to quarantine"), default=0)
    scrap_quantity = models.PositiveIntegerField(_("to scrap"), default=0)
    receipt_note = models.CharField(_("receipt note"), max_length=300, blank=True)
    credited_amount = models.DecimalField(_("credited amount"), max_digits=14, decimal_places=2, null=True, blank=True)
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        verbose_name=_("received into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["request", "id"]
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=1), name="return_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(received_quantity__isnull=True) | Q(received_quantity__lte=models.F("quantity")),
                name="return_line_received_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(received_quantity__isnull=True)
                | Q(received_quantity=models.F("stock_quantity") + models.F("quarantine_quantity") + models.F("scrap_quantity")),
                name="return_line_outcome_adds_up",
            ),
        ]


class ReturnStatusChange(models.Model):
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(_("from"), max_length=20, choices=ReturnStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=ReturnStatus.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("by"), on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("time"), auto_now_add=True)

    class Meta:
        ordering = ["request", "created_at", "id"]
        verbose_name = _("return status change")
        verbose_name_plural = _("return status changes")
