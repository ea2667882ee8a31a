from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .models import Category, DeviceClass, Product
from .services import PRODUCT_FIELDS


class RemoteSelect(forms.Select):
    """Select widget that renders only the chosen option, while Tom Select loads the others from ``url`` as the user types.

    It serves choices too many to send with the page, such as regions and products.
    """

    def __init__(self, url, attrs=None):
        super().__init__(attrs={"data-tom-select": "", "data-url": url, **(attrs or {})})

    def optgroups(self, name, value, attrs=None):
        iterator = self.choices
        queryset = getattr(iterator, "queryset", None)
        if queryset is None:
            return super().optgroups(name, value, attrs)
        chosen = [item for item in value if item not in (None, "")]
        try:
            objects = list(queryset.filter(pk__in=chosen)) if chosen else []
        except (ValueError, TypeError, ValidationError):
            objects = []  # A tampered value. The field reports it and the widget shows no option.
        self.choices = [("", "")] + [iterator.choice(obj) for obj in objects]
        try:
            return super().optgroups(name, value, attrs)
        finally:
            self.choices = iterator


class ProductFilterForm(forms.Form):
    """Search box and filters of the product list, all optional."""

    q = forms.CharField(label=_("Search"), required=False)
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all(), required=False)
    device_class = forms.ChoiceField(label=_("Device class"), choices=[("", _("All device classes"))] + DeviceClass.choices, required=False)
    inactive = forms.BooleanField(label=_("Include inactive products"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].empty_label = _("All categories")
        self.fields["q"].widget.attrs.update({"class": "form-control", "placeholder": _("SKU, name, pinyin, brand, registration number")})
        self.fields["category"].widget.attrs.update({"class": "form-select", "data-tom-select": ""})
        self.fields["device_class"].widget.attrs["class"] = "form-select"
        self.fields["inactive"].widget.attrs["class"] = "form-check-input"


class ProductForm(forms.ModelForm):
    """Input of the product master, validated here and saved by ``catalog.services``."""

    class Meta:
        model = Product
        fields = PRODUCT_FIELDS
        widgets = {
            "registration_valid_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].widget.attrs["data-tom-select"] = ""
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else (
                "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )
            field.widget.attrs.setdefault("class", css)
