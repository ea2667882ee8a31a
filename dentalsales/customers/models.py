from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dentalsales.core.timeutils import local_today


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
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        ordering = ["code"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["owner", "code"])]

    def __str__(self):
        return f"{self.name}（{self.code}）"


class QualificationKind(models.TextChoices):
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    MEDICAL_INSTITUTION_LICENCE = "medical_institution_licence", _("Medical institution practice licence")
    DEVICE_BUSINESS_LICENCE = "device_business_licence", _("Medical device business licence")
    DEVICE_BUSINESS_RECORD = "device_business_record", _("Medical device business record")
    DRUG_BUSINESS_LICENCE = "drug_business_licence", _("Drug business licence")


class Qualification(models.Model):
    """A licence or record that a customer must hold for an order to be approved."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="qualifications")
    kind = models.CharField(_("kind"), max_length=40, choices=QualificationKind.choices)
    number = models.CharField(_("number"), max_length=100)
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Leave empty for a licence without an end date.")
    )
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
