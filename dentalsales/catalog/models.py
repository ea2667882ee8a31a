from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dentalsales.core.timeutils import local_today
from dentalsales.core.validators import validate_registration_number


class DeviceClass(models.TextChoices):
    I = "I", _("Class I medical device")
    II = "II", _("Class II medical device")
    III = "III", _("Class III medical device")


class Category(models.Model):
    """A product category; ``code`` keeps the FDA product code the demo categories come from."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        ordering = ["code"]
        verbose_name = _("category")
        verbose_name_plural = _("categories")

    def __str__(self):
        return self.name


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=250, blank=True)
    brand = models.CharField(_("brand"), max_length=100, blank=True)
    manufacturer = models.CharField(_("manufacturer"), max_length=200)
    specification = models.CharField(_("model / specification"), max_length=200, blank=True)
    unit = models.CharField(_("unit"), max_length=20)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    device_class = models.CharField(_("device class"), max_length=3, choices=DeviceClass.choices)
    registration_number = models.CharField(
        _("registration or record number"), max_length=60, validators=[validate_registration_number]
    )
    registration_valid_until = models.DateField(
        _("registration valid until"), null=True, blank=True, help_text=_("Empty for a class I record, which does not expire.")
    )
    manufacturer_licence_number = models.CharField(
        _("manufacturer's production licence or record number"),
        max_length=60,
        blank=True,
        help_text=_(
            "The manufacturer's medical device production licence (生产许可证) or, for class I, its production record "
            "(生产备案凭证); printed on the delivery note. Empty for imported devices."
        ),
    )
    udi_di = models.CharField(_("UDI-DI"), max_length=20, blank=True, db_index=True, help_text=_("GS1 GTIN of the device identifier, as printed after (01)."))
    storage_conditions = models.CharField(_("storage conditions"), max_length=100, blank=True)
    vat_rate = models.DecimalField(
        _("VAT rate"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.13"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.99"))],
    )
    list_price = models.DecimalField(
        _("list price"), max_digits=14, decimal_places=4, validators=[MinValueValidator(Decimal("0"))]
    )
    standard_cost = models.DecimalField(
        _("standard cost"), max_digits=14, decimal_places=4, default=0, validators=[MinValueValidator(Decimal("0"))]
    )
    is_implantable = models.BooleanField(_("implantable"), default=False)
    requires_drug_licence = models.BooleanField(
        _("requires a drug licence"),
        default=False,
        help_text=_(
            "A drug, such as a dental anaesthetic cartridge: only customers with a verified qualification "
            "covering drugs may order it."
        ),
    )
    is_demo = models.BooleanField(
        _("demo values"), default=False, help_text=_("Chinese name, price and registration number are generated demo values.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    search_text = models.TextField(editable=False, blank=True, default="")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["search_text"])

    class Meta:
        ordering = ["sku"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self):
        return f"{self.name} {self.specification}".strip()

    def registration_valid_on(self, day=None):
        day = day or local_today()
        return self.registration_valid_until is None or self.registration_valid_until >= day
