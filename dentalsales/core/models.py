from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """A mainland China administrative division (National Bureau of Statistics codes, 2023)."""

    class Level(models.TextChoices):
        PROVINCE = "province", _("Province")
        CITY = "city", _("City")
        DISTRICT = "district", _("District or county")

    code = models.CharField(_("code"), max_length=6, unique=True)
    name = models.CharField(_("name"), max_length=50)
    level = models.CharField(_("level"), max_length=10, choices=Level.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    # Province name, city name and own name, e.g. "广东省 广州市 天河区",
    # kept so that lists can show a whole place without extra queries.
    full_name = models.CharField(_("full name"), max_length=100)
    is_statistical_zone = models.BooleanField(
        _("statistical zone"),
        default=False,
        help_text=_("A development zone that exists only in statistics codes, not in GB/T 2260."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self):
        return self.full_name

    @property
    def province_code(self):
        return self.code[:2]


class DocumentSequence(models.Model):
    """The last number issued per document type and business day; locked while a number is issued."""

    prefix = models.CharField(max_length=10)
    day = models.DateField()
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("document number sequence")
        verbose_name_plural = _("document number sequences")
        constraints = [models.UniqueConstraint(fields=["prefix", "day"], name="unique_sequence_per_prefix_day")]

    def __str__(self):
        return f"{self.prefix}-{self.day:%Y%m%d}: {self.last_value}"
