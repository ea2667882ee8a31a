"""Customer development: potential customers, activities and revisits, gifts, imports and export logs."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords


class ProspectSource(models.TextChoices):
    EXHIBITION = "exhibition", _("Exhibition")
    REFERRAL = "referral", _("Referral")
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("E-mail")
    WEB = "web", _("Web")
    WALK_IN = "walk_in", _("Walk-in")
    IMPORT = "import", _("Spreadsheet import")
    OTHER = "other", pgettext_lazy("prospect source", "Other")


class ProspectStage(models.TextChoices):
    NEW = "new", pgettext_lazy("prospect stage", "New")
    CONTACTED = "contacted", pgettext_lazy("prospect stage", "Contacted")
    QUALIFIED = "qualified", pgettext_lazy("prospect stage", "Qualified")
    NEGOTIATING = "negotiating", pgettext_lazy("prospect stage", "Negotiating")
    WON = "won", pgettext_lazy("prospect stage", "Won")
    LOST = "lost", pgettext_lazy("prospect stage", "Lost")


class Prospect(models.Model):
    """The development pipeline record of a customer that started as a potential customer."""

    customer = models.OneToOneField(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="prospect"
    )
    source = models.CharField(_("source"), max_length=20, choices=ProspectSource.choices)
    source_detail = models.CharField(
        _("source detail"), max_length=200, blank=True, help_text=_("For example the exhibition's name or who referred the customer.")
    )
    stage = models.CharField(_("stage"), max_length=20, choices=ProspectStage.choices, default=ProspectStage.NEW)
    lost_reason = models.TextField(_("reason lost"), blank=True)
    won_order = models.ForeignKey(
        "sales.SalesOrder", verbose_name=_("first approved order"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )
    won_at = models.DateTimeField(_("won at"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("potential customer")
        verbose_name_plural = _("potential customers")
        indexes = [models.Index(fields=["stage", "source"])]

    def __str__(self):
        return str(self.customer)


class ProspectStageChange(models.Model):
    """One move of a potential customer between stages: who, when, from, to and why."""

    prospect = models.ForeignKey(Prospect, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.CharField(_("from stage"), max_length=20, choices=ProspectStage.choices, blank=True)
    to_stage = models.CharField(_("to stage"), max_length=20, choices=ProspectStage.choices)
    reason = models.TextField(_("reason"), blank=True)
    order = models.ForeignKey("sales.SalesOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        ordering = ["changed_at", "pk"]
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")


class ActivityKind(models.TextChoices):
    PHONE = "phone", _("Phone call")
    EMAIL = "email", _("E-mail")
    VISIT = "visit", _("Visit")
    EVENT = "event", _("Event")


class ActivityStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", pgettext_lazy("activity status", "Submitted")


class Activity(models.Model):
    """A phone call, e-mail, visit or event with a customer; locked once submitted."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="activities"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sales representative"), on_delete=models.PROTECT, related_name="activities"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=ActivityKind.choices)
    occurred_on = models.DateField(_("date"))
    subject = models.CharField(_("subject"), max_length=200)
    contacts = models.ManyToManyField("customers.Contact", verbose_name=_("contacts met"), blank=True, related_name="activities")
    products = models.ManyToManyField("catalog.Product", verbose_name=_("products discussed"), blank=True, related_name="+")
    outcome = models.TextField(_("outcome"), blank=True)
    next_step = models.TextField(_("next step"), blank=True)
    next_step_on = models.DateField(_("next step date"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=ActivityStatus.choices, default=ActivityStatus.DRAFT)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(m2m_fields=[contacts, products])

    class Meta:
        ordering = ["-occurred_on", "-pk"]
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        indexes = [
            models.Index(fields=["customer", "-occurred_on"]),
            models.Index(fields=["owner", "-occurred_on"]),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.occurred_on:%Y-%m-%d} {self.subject}"

    @property
    def is_locked(self):
        return self.status == ActivityStatus.SUBMITTED


class ActivityAmendment(models.Model):
    """A correction of a submitted activity; the original report stays as it was submitted."""

    activity = models.ForeignKey(Activity, on_delete=models.CASCADE, related_name="amendments")
    reason = models.TextField(_("reason for the correction"))
    outcome = models.TextField(_("corrected outcome"), blank=True)
    next_step = models.TextField(_("corrected next step"), blank=True)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("amendment")
        verbose_name_plural = _("amendments")


class RevisitInterval(models.Model):
    """Days between revisits for one grade, or for potential customers (key ``potential``)."""

    key = models.CharField(_("grade"), max_length=10, unique=True)
    days = models.PositiveIntegerField(_("revisit interval (days)"), validators=[MinValueValidator(1)])

    class Meta:
        ordering = ["key"]
        verbose_name = _("revisit interval")
        verbose_name_plural = _("revisit intervals")

    def __str__(self):
        return f"{self.key}: {self.days}"


class RevisitStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("revisit status", "Open")
    DONE = "done", pgettext_lazy("revisit status", "Done")
    CANCELLED = "cancelled", _("Cancelled")


class RevisitPlan(models.Model):
    """A planned revisit of a customer, due on a day; a submitted visit or phone call closes it."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.CASCADE, related_name="revisit_plans"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sales representative"), on_delete=models.PROTECT, related_name="revisit_plans"
    )
    due_on = models.DateField(_("due on"))
    status = models.CharField(_("status"), max_length=10, choices=RevisitStatus.choices, default=RevisitStatus.OPEN)
    activity = models.ForeignKey(
        Activity, verbose_name=_("activity"), null=True, blank=True, on_delete=models.SET_NULL, related_name="revisit_plans"
    )
    completed_on = models.DateField(_("completed on"), null=True, blank=True)
    # The activity whose agreed next step date set ``due_on``; None when the
    # grade's interval did.
    agreed_in = models.ForeignKey(
        Activity, verbose_name=_("next step agreed in"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminded_on = models.DateField(_("last reminded on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["due_on", "pk"]
        verbose_name = _("revisit plan")
        verbose_name_plural = _("revisit plans")
        # (status, due_on, id) serves the revisit list's filter and its order, so
        # a page of overdue plans is read without sorting all of them.
        indexes = [models.Index(fields=["status", "due_on", "id"]), models.Index(fields=["owner", "status", "due_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(status="open"), name="crm_one_open_revisit_per_customer"
            )
        ]

    def __str__(self):
        return f"{self.customer} {self.due_on:%Y-%m-%d}"


class GiftKind(models.TextChoices):
    GIFT = "gift", _("Gift")
    HOSPITALITY = "hospitality", _("Hospitality")


class GiftStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    REQUESTED = "requested", _("Waiting for approval")
    APPROVED = "approved", pgettext_lazy("gift status", "Approved")
    REJECTED = "rejected", _("Rejected")
    GIVEN = "given", _("Given")


class Gift(models.Model):
    """A gift or hospitality given to a customer's contact, recorded for the anti-bribery register."""

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="gifts"
    )
    recipient = models.ForeignKey(
        "customers.Contact", verbose_name=_("recipient"), on_delete=models.PROTECT, related_name="gifts"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("sales representative"), on_delete=models.PROTECT, related_name="gifts"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=GiftKind.choices, default=GiftKind.GIFT)
    description = models.CharField(_("what"), max_length=200)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))])
    given_on = models.DateField(_("date"))
    purpose = models.TextField(_("purpose"))
    status = models.CharField(_("status"), max_length=20, choices=GiftStatus.choices, default=GiftStatus.DRAFT)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_reason = models.TextField(_("decision reason"), blank=True)
    # The web form's one-time token or the API's Idempotency-Key, so that a
    # double click or a resent request records the gift once.
    idempotency_key = models.CharField(max_length=100, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-given_on", "-pk"]
        verbose_name = _("gift or hospitality")
        verbose_name_plural = _("gifts and hospitality")
        indexes = [models.Index(fields=["customer", "given_on"]), models.Index(fields=["owner", "given_on"])]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                name="crm_unique_gift_idempotency_key_per_user",
            )
        ]

    def __str__(self):
        return f"{self.description} ({self.value})"


class CrmPolicy(models.Model):
    """Settings of customer development that a manager changes in the admin; one row."""

    gift_approval_threshold = models.DecimalField(
        _("gift approval threshold"), max_digits=12, decimal_places=2, default=Decimal("200.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("A gift or hospitality worth more than this many yuan needs a supervisor's approval before it is given."),
    )
    revisit_due_soon_days = models.PositiveIntegerField(
        _("revisits due soon (days)"), default=7,
        help_text=_("Revisits due within this many days are listed as due."),
    )

    class Meta:
        verbose_name = _("customer development policy")
        verbose_name_plural = _("customer development policy")

    def __str__(self):
        return str(self._meta.verbose_name)

    @classmethod
    def current(cls):
        return cls.objects.order_by("pk").first() or cls()


class ExportList(models.TextChoices):
    """The lists that can be exported; the key is stored in the export log, the label is shown."""

    CUSTOMERS = "customers", _("Customers")
    CUSTOMER_CONTACTS = "customer contacts", _("Customer contacts")
    CONTACTS_API = "contacts api", _("Customer contacts (API)")
    CUSTOMER_QUALIFICATIONS = "customer qualifications", _("Customer qualifications")
    PROSPECTS = "prospects", _("Potential customers")
    PROSPECT_CONVERSION = "prospect conversion", _("Conversion of potential customers")
    ACTIVITIES = "activities", _("Activities")
    REVISITS = "revisits", _("Revisits")
    VISITS_AGAINST_PLAN = "visits against plan", _("Visits against plan")
    GIFTS = "gifts", _("Gifts and hospitality")
    GIFT_REPORT = "gift report", _("Gift report")


class ExportLog(models.Model):
    """One export of a list to a spreadsheet: who, when, which list, with which filters, how many rows."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+")
    list_name = models.CharField(_("list"), max_length=100, choices=ExportList.choices)
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    row_count = models.PositiveIntegerField(_("rows"))
    created_at = models.DateTimeField(_("exported at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("export log entry")
        verbose_name_plural = _("export log")

    def __str__(self):
        return f"{self.get_list_name_display()} {self.row_count}"


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", _("Customers")
    CONTACTS = "contacts", _("Contacts")
    QUALIFICATIONS = "qualifications", _("Qualifications")


class ImportMode(models.TextChoices):
    ALL = "all", _("All rows or none")
    VALID_ONLY = "valid_only", _("Only the valid rows")


class ImportStatus(models.TextChoices):
    PREVIEW = "preview", _("Preview")
    RUNNING = "running", _("Importing")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class ImportJob(models.Model):
    """A spreadsheet upload: its parsed rows and their problems, then the progress and outcome of the import.

    ``rows`` contains every data row as a dict of column key to text, with its
    spreadsheet row number; ``problems`` maps the row number (as text) to
    its messages. ``created_ids`` lists the primary keys of the rows this
    job created.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=ImportKind.choices)
    file_name = models.CharField(_("file"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.PREVIEW)
    mode = models.CharField(_("mode"), max_length=20, choices=ImportMode.choices, blank=True)
    rows = models.JSONField(default=list)
    problems = models.JSONField(default=dict)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    imported_rows = models.JSONField(default=list)
    skipped_rows = models.JSONField(default=list)
    created_ids = models.JSONField(default=list)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self):
        return f"{self.get_kind_display()} {self.file_name}"

    @property
    def valid_row_count(self):
        return self.total_rows - len(self.problems)

    @property
    def progress_percent(self):
        if not self.total_rows:
            return 100
        return int(self.processed_rows * 100 / self.total_rows)
