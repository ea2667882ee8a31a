from django import forms
from django.utils.translation import gettext_lazy as _

from django.urls import reverse_lazy

from dentalsales.catalog.forms import RemoteSelect
from dentalsales.catalog.models import Product
from dentalsales.inventory.models import Lot

from .models import RecallLevel, RecallStatus
from .selectors import expiry_windows


class RecallFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All statuses"))] + RecallStatus.choices)
    q = forms.CharField(label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].widget.attrs["class"] = "form-select"
        self.fields["q"].widget.attrs.update({"class": "form-control", "placeholder": _("Recall number, product or lot")})

    def filters(self):
        """Return the filters for the selector; an invalid value is dropped so that the page still loads."""
        self.is_valid()
        return {"status": self.cleaned_data.get("status", ""), "search": self.cleaned_data.get("q", "").strip()}


class RecallForm(forms.Form):
    """A new recall: the product first, then the lots of that product (loaded when the product changes)."""

    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.none(),
        widget=RemoteSelect(reverse_lazy("catalog:product_autocomplete"), attrs={"class": "form-select"}),
    )
    lots = forms.ModelMultipleChoiceField(
        label=_("Lots"), queryset=Lot.objects.none(), widget=forms.CheckboxSelectMultiple, required=False
    )
    # No level is preselected: the quality officer decides it from the manufacturer's notice.
    level = forms.ChoiceField(label=_("Recall level"), choices=[("", _("Choose the level"))] + RecallLevel.choices)
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
    source = forms.CharField(
        label=_("Initiated by"), required=False, max_length=200, help_text=_("For example the manufacturer's recall notice number.")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only products with lots on file can be recalled by lot.
        self.fields["product"].queryset = Product.objects.filter(lots__isnull=False).distinct().order_by("sku")
        product_id = self.data.get("product") if self.is_bound else self.initial.get("product")
        if product_id and str(product_id).isdigit():
            self.fields["lots"].queryset = Lot.objects.filter(product_id=product_id).order_by("expiry_date", "lot_number")
        self.fields["level"].widget.attrs["class"] = "form-select"
        self.fields["reason"].widget.attrs["class"] = "form-control"
        self.fields["source"].widget.attrs["class"] = "form-control"


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the draft withdrawn?"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )


class NotifyForm(forms.Form):
    method = forms.CharField(label=_("Notification method"), required=False, max_length=100)
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


class RecoveryForm(forms.Form):
    quantity_recovered = forms.CharField(label=_("Quantity recovered"), max_length=12)
    note = forms.CharField(label=_("Note"), required=False, max_length=1000)


class CloseForm(forms.Form):
    note = forms.CharField(label=_("Closing note"), widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}), required=False)


class RadarFilterForm(forms.Form):
    """The window (days) and the list the expiry radar shows."""

    window = forms.TypedChoiceField(label=_("Expiring within"), coerce=int, required=False)
    kind = forms.ChoiceField(
        label=_("List"),
        required=False,
        choices=[
            ("stock", _("Near-expiry stock")),
            ("registrations", _("Registrations expiring soon")),
            ("invalid", _("Products without a valid registration")),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["window"].choices = [(days, _("%(days)s days") % {"days": days}) for days in expiry_windows()]
        self.fields["window"].widget.attrs["class"] = "form-select"
        self.fields["kind"].widget.attrs["class"] = "form-select"

    def values(self):
        """Return (window in days, list kind); an invalid value falls back to the largest window and the stock list."""
        self.is_valid()
        window = self.cleaned_data.get("window") or expiry_windows()[-1]
        return window, self.cleaned_data.get("kind") or "stock"
