from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from dentalsales.core.timeutils import local_today
from dentalsales.core.validators import validate_mobile


class CustomerType(models.TextChoices):
    DENTAL_HOSPITAL = "dental_hospital", _("Dental hospital")
    CLINIC = "clinic", _("Dental clinic")
    HOSPITAL_DEPARTMENT = "hospital_department", _("General hospital dental department")
    DISTRIBUTOR = "distributor", _("Distributor")
    RETAILER = "retailer", _("Retailer")


class CustomerCategory(models.TextChoices):
    KEY = "key", _("Key customer")
    GENERAL = "general", _("General customer")
    POTENTIAL = "potential", _("Potential customer")


class CustomerGrade(models.TextChoices):
    A = "A", _("Grade A")
    B = "B", _("Grade B")
    C = "C", _("Grade C")


class Customer(models.Model):
    code = models.CharField(_("customer code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    customer_type = models.CharField(_("customer type"), max_length=30, choices=CustomerType.choices)
    category = models.CharField(
        _("category"), max_length=20, choices=CustomerCategory.choices, default=CustomerCategory.GENERAL
    )
    grade = models.CharField(_("grade"), max_length=1, choices=CustomerGrade.choices, null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("sales representative"),
        on_delete=models.PROTECT,
        related_name="customers",
    )
    region = models.ForeignKey(
        "core.Region", verbose_name=_("region"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    address = models.CharField(_("delivery address"), max_length=300, blank=True)
    contact_name = models.CharField(_("receiving contact"), max_length=50, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    payment_terms_days = models.PositiveIntegerField(_("payment terms (days)"), default=30)
    min_shelf_life_days = models.PositiveIntegerField(
        _("minimum remaining shelf life (days)"),
        default=180,
        help_text=_("Lots that expire sooner than this many days after shipping are not allocated to this customer."),
    )
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    uscc_override_reason = models.CharField(
        _("reason for accepting a code that fails the check"), max_length=200, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    search_text = models.TextField(editable=False, blank=True, default="")
    # The one-time token of the form that created the customer, so that a
    # double submit of that form creates one customer, not two.
    creation_token = models.CharField(max_length=64, blank=True, default="", editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["search_text", "creation_token"])

    class Meta:
        ordering = ["code"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["owner", "code"])]
        constraints = [
            models.UniqueConstraint(
                fields=["creation_token"], condition=~models.Q(creation_token=""), name="customer_creation_token_once"
            )
        ]

    def __str__(self):
        return f"{self.name}（{self.code}）"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("customers:detail", args=[self.pk])


class QualificationKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    MEDICAL_INSTITUTION_LICENCE = "medical_institution_licence", _("Medical institution practice licence")
    DEVICE_BUSINESS_LICENCE = "device_business_licence", _("Medical device business licence")
    DEVICE_BUSINESS_RECORD = "device_business_record", _("Medical device business record")
    DRUG_BUSINESS_LICENCE = "drug_business_licence", _("Drug business licence")


class VerificationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for verification")
    VERIFIED = "verified", _("Verified")
    REJECTED = "rejected", _("Rejected")


class Qualification(models.Model):
    """A licence or record that a customer must hold for an order to be approved.

    A new or changed qualification counts in order review only after the
    quality officer has verified it (首营审核): the scan matches and the scope
    covers what the customer buys.
    """

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="qualifications")
    kind = models.CharField(_("kind"), max_length=40, choices=QualificationKind.choices)
    number = models.CharField(_("number"), max_length=100)
    issuing_authority = models.CharField(_("issuing authority"), max_length=100, blank=True)
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Leave empty for a licence without an end date.")
    )
    device_classes = models.JSONField(
        _("device classes covered"),
        default=list,
        blank=True,
        help_text=_("Device classes I, II and III that the licence covers; empty means no limit."),
    )
    categories = models.ManyToManyField(
        "catalog.Category",
        verbose_name=_("categories covered"),
        blank=True,
        related_name="+",
        help_text=_("Product categories the licence covers, subcategories included; empty means no limit."),
    )
    covers_drugs = models.BooleanField(
        _("covers drugs"), default=False, help_text=_("Needed for dental anaesthetic cartridges.")
    )
    scan = models.FileField(_("scan"), upload_to="qualifications/%Y/%m/", blank=True)
    verification_status = models.CharField(
        _("verification"), max_length=20, choices=VerificationStatus.choices, default=VerificationStatus.PENDING
    )
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("verified by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_note = models.CharField(_("verification note"), max_length=300, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["customer", "kind"]
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")

    def __str__(self):
        return f"{self.get_kind_display()} {self.number}"

    def is_valid_on(self, day=None):
        day = day or local_today()
        return self.valid_until is None or self.valid_until >= day

    @property
    def is_verified(self):
        return self.verification_status == VerificationStatus.VERIFIED


class QualificationReminder(models.Model):
    """An expiry reminder already sent, so the reminder command sends each threshold once."""

    qualification = models.ForeignKey(Qualification, on_delete=models.CASCADE, related_name="reminders")
    days_before = models.PositiveSmallIntegerField()
    valid_until = models.DateField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["qualification", "days_before", "valid_until"], name="qualification_reminder_once"
            )
        ]


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    PURCHASER = "purchaser", _("Purchaser")
    USER = "user", _("User")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")
    OTHER = "other", _("Other")


class Contact(models.Model):
    """A person at a customer. Personal data: visible to the owner's team and managers only."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    title = models.CharField(pgettext_lazy("contact", "job title"), max_length=50, blank=True)
    department = models.CharField(_("department"), max_length=50, blank=True)
    mobile = models.CharField(_("mobile"), max_length=11, blank=True, validators=[validate_mobile])
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    wechat = models.CharField(_("WeChat"), max_length=50, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    decision_role = models.CharField(
        _("decision role"), max_length=20, choices=DecisionRole.choices, default=DecisionRole.OTHER
    )
    is_primary = models.BooleanField(_("primary contact"), default=False)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["customer", "-is_primary", "name", "pk"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        permissions = [("export_contacts", _("Can export customer contacts"))]
        indexes = [models.Index(fields=["mobile"])]

    def __str__(self):
        return self.name


class DeliveryAddress(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="addresses"
    )
    label = models.CharField(_("label"), max_length=50, blank=True, help_text=_("For example 总院 or 二号门诊."))
    region = models.ForeignKey(
        "core.Region",
        verbose_name=_("district"),
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The district or county; the province and city follow from it."),
    )
    detail = models.CharField(_("street address"), max_length=200)
    postcode = models.CharField(_("postcode"), max_length=6, blank=True)
    recipient = models.CharField(_("recipient"), max_length=50)
    recipient_phone = models.CharField(_("recipient phone"), max_length=30)
    is_default = models.BooleanField(_("default address"), default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["customer", "-is_default", "pk"]
        verbose_name = _("delivery address")
        verbose_name_plural = _("delivery addresses")

    def __str__(self):
        return f"{self.region.full_name} {self.detail}"


class BusinessProfile(models.Model):
    """Facts a sales team records about a customer's practice and purchasing."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="business_profile"
    )
    chairs = models.PositiveIntegerField(_("dental chairs"), null=True, blank=True)
    doctors = models.PositiveIntegerField(_("doctors"), null=True, blank=True)
    specialities = models.CharField(
        _("specialities"), max_length=200, blank=True, help_text=_("For example 种植, 正畸, 儿童口腔.")
    )
    annual_consumables_spend = models.DecimalField(
        _("estimated annual consumables spend (yuan)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    current_suppliers = models.CharField(_("current suppliers"), max_length=300, blank=True)
    purchasing_habits = models.TextField(_("purchasing habits"), blank=True)
    preferences = models.TextField(_("preferences"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("business information")
        verbose_name_plural = _("business information")


class DocumentKind(models.TextChoices):
    LICENCE_SCAN = "licence_scan", _("Licence scan")
    CONTRACT = "contract", _("Contract or agreement")
    PHOTO = "photo", _("Photo")
    OTHER = "other", _("Other")


class CustomerDocument(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.OTHER)
    title = models.CharField(_("title"), max_length=100)
    file = models.FileField(_("file"), upload_to="customer-documents/%Y/%m/")
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("uploaded by"), on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    class Meta:
        ordering = ["customer", "-uploaded_at", "-pk"]
        verbose_name = _("customer document")
        verbose_name_plural = _("customer documents")

    def __str__(self):
        return self.title


class GradeChangeSource(models.TextChoices):
    MANUAL = "manual", _("By hand")
    RULE = "rule", _("Grading rule")
    MERGE = "merge", _("Merge")


class GradeChange(models.Model):
    """One change of a customer's category or grade, with who made it, when and why."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="grade_changes"
    )
    old_category = models.CharField(_("old category"), max_length=20, choices=CustomerCategory.choices)
    new_category = models.CharField(_("new category"), max_length=20, choices=CustomerCategory.choices)
    old_grade = models.CharField(_("old grade"), max_length=1, choices=CustomerGrade.choices, blank=True)
    new_grade = models.CharField(_("new grade"), max_length=1, choices=CustomerGrade.choices, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=GradeChangeSource.choices)
    reason = models.CharField(_("reason"), max_length=300)
    # A reason the system wrote (such as the grading rule's) is kept as a
    # code and its values, and worded in the reader's language when shown;
    # ``reason`` then keeps the wording in the language of the moment, for
    # exports and the admin.
    reason_code = models.CharField(max_length=30, blank=True, default="")
    reason_params = models.JSONField(default=dict, blank=True)
    net_sales = models.DecimalField(
        _("trailing twelve months' net sales"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("changed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty when the scheduled grading command made the change."),
    )
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = _("grade change")
        verbose_name_plural = _("grade changes")

    @property
    def reason_text(self):
        """The reason in the active language: a system reason worded now, a typed reason as typed."""
        template = SYSTEM_REASONS.get(self.reason_code)
        if template is None:
            return self.reason
        try:
            return str(template) % {name: format_percent(value) if name in PERCENT_PARAMS else value
                                    for name, value in self.reason_params.items()}
        except (KeyError, TypeError, ValueError):
            return self.reason


def format_percent(value):
    """Return a percentage without trailing zeros and never in exponent form: 60, 85.5, 100."""
    number = Decimal(str(value))
    text = format(number.quantize(Decimal("0.01")), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


PERCENT_PARAMS = {"a", "b"}
SYSTEM_REASONS = {
    "grading_rule": _("Grading rule: A within %(a)s%% of sales, B within %(b)s%%, over %(months)s months."),
}


class GradingSettings(models.Model):
    """Thresholds of the Pareto grading rule; a single row.

    Customers sorted by trailing twelve months' net sales, largest first,
    get grade A while the running total stays within ``grade_a_share`` of the
    total, B within ``grade_b_share``, and C after that.
    """

    grade_a_share = models.DecimalField(
        _("grade A share of sales (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("70"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("99"))],
    )
    grade_b_share = models.DecimalField(
        _("grade A and B share of sales (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("90"),
        validators=[MinValueValidator(Decimal("1")), MaxValueValidator(Decimal("100"))],
    )
    months = models.PositiveSmallIntegerField(
        _("months of sales"), default=12, validators=[MinValueValidator(1), MaxValueValidator(36)]
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("grading settings")
        verbose_name_plural = _("grading settings")

    @classmethod
    def current(cls):
        return cls.objects.order_by("pk").first() or cls()


class CustomerMerge(models.Model):
    """A duplicate customer merged into another: what was moved, by whom and when."""

    kept = models.ForeignKey(
        Customer, verbose_name=_("kept customer"), on_delete=models.PROTECT, related_name="merges_received"
    )
    merged = models.ForeignKey(
        Customer, verbose_name=_("merged customer"), on_delete=models.PROTECT, related_name="merges_given"
    )
    merged_code = models.CharField(_("merged customer code"), max_length=30)
    merged_name = models.CharField(_("merged customer name"), max_length=200)
    moved = models.JSONField(_("moved records"), default=dict)
    reason = models.CharField(_("reason"), max_length=300)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("merged by"), on_delete=models.PROTECT, related_name="+"
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True)

    class Meta:
        ordering = ["-merged_at", "-pk"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
