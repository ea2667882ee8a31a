"""Price policy: price lists with volume tiers, locked prices, payment-term discounts and discount authority.

Prices are tax-inclusive unit prices with 4 decimals, like the product's
list price. The rules that combine these rows into one price live in
``resolver.py``; the rules that check a change before it is saved live in
``services.py``. Each model keeps only the invariants of its own row.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dentalsales.accounts.roles import Role
from dentalsales.customers.models import CustomerGrade

PRICE_MAX_DIGITS = 14
PRICE_DECIMAL_PLACES = 4
RATE_MAX_DIGITS = 5
RATE_DECIMAL_PLACES = 4
SMALLEST_PRICE = Decimal("0.0001")
# The lowest bound of a volume tier: one unit is the item's own price.
MIN_TIER_QUANTITY = 2


def price_field(verbose_name):
    return models.DecimalField(
        verbose_name,
        max_digits=PRICE_MAX_DIGITS,
        decimal_places=PRICE_DECIMAL_PLACES,
        validators=[MinValueValidator(SMALLEST_PRICE)],
    )


class PriceListKind(models.TextChoices):
    GRADE = "grade", _("By customer grade")
    CUSTOMER = "customer", _("For one customer")


class PriceList(models.Model):
    """Unit prices for a customer grade or for one customer, valid for a period.

    Among the lists that apply, a customer's own lists come before the
    lists of their grade; within each, a higher ``priority`` wins.
    """

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=PriceListKind.choices)
    grade = models.CharField(_("customer grade"), max_length=1, choices=CustomerGrade.choices, blank=True, default="")
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="price_lists",
    )
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(
        _("valid until"), null=True, blank=True, help_text=_("Leave empty for a price list without an end date.")
    )
    priority = models.IntegerField(
        _("priority"), default=0, help_text=_("When several lists of the same kind apply, the highest priority wins.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["kind", "grade", "-priority", "-valid_from", "-id"]
        verbose_name = _("price list")
        verbose_name_plural = _("price lists")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind="grade", grade__in=CustomerGrade.values, customer__isnull=True)
                    | Q(kind="customer", grade="", customer__isnull=False)
                ),
                name="price_list_grade_or_customer",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="price_list_valid_until_after_valid_from",
            ),
        ]
        indexes = [models.Index(fields=["kind", "grade", "is_active"])]

    def __str__(self):
        return self.name

    def clean(self):
        errors = {}
        if self.kind == PriceListKind.GRADE:
            if not self.grade:
                errors["grade"] = _("A price list by customer grade needs the grade.")
            if self.customer_id is not None:
                errors["customer"] = _("A price list by customer grade is not for one customer.")
        elif self.kind == PriceListKind.CUSTOMER:
            if self.customer_id is None:
                errors["customer"] = _("A price list for one customer needs the customer.")
            if self.grade:
                errors["grade"] = _("A price list for one customer has no grade.")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors["valid_until"] = _("The end date %(until)s is before the start date %(start)s.") % {
                "until": self.valid_until,
                "start": self.valid_from,
            }
        if errors:
            raise ValidationError(errors)


class PriceListItem(models.Model):
    """A product's unit price in a price list; its volume tiers lower the price from a quantity on."""

    price_list = models.ForeignKey(PriceList, verbose_name=_("price list"), on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="price_list_items"
    )
    unit_price = price_field(_("unit price (tax incl.)"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["price_list", "product__sku"]
        verbose_name = _("price list item")
        verbose_name_plural = _("price list items")
        constraints = [
            models.UniqueConstraint(fields=["price_list", "product"], name="unique_product_per_price_list"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="price_list_item_price_positive"),
        ]

    def __str__(self):
        return f"{self.price_list}: {self.product}"


class VolumeTier(models.Model):
    """The unit price from ``min_quantity`` units on (an inclusive lower bound: 100 means 100 and more)."""

    item = models.ForeignKey(PriceListItem, verbose_name=_("price list item"), on_delete=models.CASCADE, related_name="tiers")
    min_quantity = models.PositiveIntegerField(_("from quantity"), validators=[MinValueValidator(MIN_TIER_QUANTITY)])
    unit_price = price_field(_("unit price (tax incl.)"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["item", "min_quantity"]
        verbose_name = _("volume tier")
        verbose_name_plural = _("volume tiers")
        constraints = [
            models.UniqueConstraint(fields=["item", "min_quantity"], name="unique_volume_tier_bound"),
            models.CheckConstraint(condition=Q(min_quantity__gte=MIN_TIER_QUANTITY), name="volume_tier_bound_at_least_2"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="volume_tier_price_positive"),
        ]

    def __str__(self):
        return f"{self.min_quantity}+"


class LockedPriceSource(models.TextChoices):
    TENDER = "tender", _("Tender")
    VOLUME_BASED_PROCUREMENT = "volume_based_procurement", _("Volume-based procurement")
    CONTRACT = "contract", _("Contract")


class LockedPrice(models.Model):
    """A price fixed for one customer and product by a tender, volume-based procurement or contract.

    While valid it overrides price lists, volume tiers and payment-term
    discounts: the customer pays exactly this price.
    """

    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("customer"), on_delete=models.PROTECT, related_name="locked_prices"
    )
    product = models.ForeignKey(
        "catalog.Product", verbose_name=_("product"), on_delete=models.PROTECT, related_name="locked_prices"
    )
    unit_price = price_field(_("unit price (tax incl.)"))
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"))
    source = models.CharField(_("source"), max_length=30, choices=LockedPriceSource.choices)
    source_reference = models.CharField(
        _("source reference"), max_length=100, help_text=_("Tender, procurement or contract number.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["customer", "product", "-valid_from", "-id"]
        verbose_name = _("locked price")
        verbose_name_plural = _("locked prices")
        constraints = [
            models.CheckConstraint(condition=Q(valid_until__gte=F("valid_from")), name="locked_price_valid_until_after_valid_from"),
            models.CheckConstraint(condition=Q(unit_price__gt=0), name="locked_price_positive"),
        ]
        indexes = [models.Index(fields=["customer", "product", "is_active"])]

    def __str__(self):
        return f"{self.customer} {self.product} {self.unit_price}"

    def clean(self):
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValidationError(
                {
                    "valid_until": _("The end date %(until)s is before the start date %(start)s.")
                    % {"until": self.valid_until, "start": self.valid_from}
                }
            )


class PaymentTermDiscount(models.Model):
    """A discount for customers who pay within ``max_payment_terms_days`` days (0 for payment before delivery)."""

    max_payment_terms_days = models.PositiveIntegerField(
        _("payment terms up to (days)"), help_text=_("Customers whose payment terms are this many days or fewer get the discount.")
    )
    discount_rate = models.DecimalField(
        _("discount rate"),
        max_digits=RATE_MAX_DIGITS,
        decimal_places=RATE_DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("0.9999"))],
        help_text=_("0.02 means a discount of 2 percent."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["max_payment_terms_days", "-discount_rate", "id"]
        verbose_name = _("payment-term discount")
        verbose_name_plural = _("payment-term discounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(discount_rate__gt=0, discount_rate__lt=1), name="payment_term_discount_rate_between_0_and_1"
            )
        ]

    def __str__(self):
        return f"≤{self.max_payment_terms_days}: {self.discount_rate}"


class AuthorityRole(models.TextChoices):
    """The roles that hold a discount authority, from the lowest to the highest."""

    REPRESENTATIVE = Role.REPRESENTATIVE.value, Role.REPRESENTATIVE.label
    SUPERVISOR = Role.SUPERVISOR.value, Role.SUPERVISOR.label
    MANAGER = Role.MANAGER.value, Role.MANAGER.label


class DiscountAuthority(models.Model):
    """The lowest unit price a role may give without a higher approval, as a share of list price.

    A row for a category overrides the general row (``category`` empty)
    for the products of that category and its subcategories.
    """

    role = models.CharField(_("role"), max_length=20, choices=AuthorityRole.choices)
    category = models.ForeignKey(
        "catalog.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Leave empty for every category without a row of its own."),
    )
    min_share_of_list = models.DecimalField(
        _("lowest share of list price"),
        max_digits=RATE_MAX_DIGITS,
        decimal_places=RATE_DECIMAL_PLACES,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("1"))],
        help_text=_("0.90 lets the role go down to 90 percent of list price."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["category__code", "role"]
        verbose_name = _("discount authority")
        verbose_name_plural = _("discount authorities")
        constraints = [
            models.UniqueConstraint(fields=["role", "category"], name="unique_discount_authority_per_category"),
            models.UniqueConstraint(
                fields=["role"], condition=Q(category__isnull=True), name="unique_general_discount_authority"
            ),
            models.CheckConstraint(
                condition=Q(min_share_of_list__gt=0, min_share_of_list__lte=1), name="discount_authority_share_between_0_and_1"
            ),
        ]

    def __str__(self):
        return f"{self.get_role_display()} {self.category or ''} {self.min_share_of_list}".strip()
