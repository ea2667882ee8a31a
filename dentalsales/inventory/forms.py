from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from dentalsales.catalog.forms import RemoteSelect
from dentalsales.catalog.models import Product

from .models import Warehouse

DATE_WIDGET = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


class StockFilterForm(forms.Form):
    """Search box and warehouse filter of the stock list."""

    q = forms.CharField(label=_("Search"), required=False)
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.all(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"class": "form-control", "placeholder": _("Product, SKU, pinyin or lot number")})
        self.fields["warehouse"].empty_label = _("All warehouses")
        self.fields["warehouse"].widget.attrs["class"] = "form-select"


class ShipmentFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {"class": "form-control", "placeholder": _("Shipment or order number, customer, waybill number")}
        )


class ReceiveForm(forms.Form):
    """Input of a goods receipt, checked and recorded by ``inventory.services.receive_stock``."""

    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=Product.objects.filter(is_active=True),
        widget=RemoteSelect(reverse_lazy("catalog:product_autocomplete"), attrs={"class": "form-select"}),
    )
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.filter(is_active=True))
    lot_number = forms.CharField(label=_("Lot number"), max_length=50)
    production_date = forms.DateField(label=_("Production date"), widget=DATE_WIDGET)
    expiry_date = forms.DateField(label=_("Expiry date"), widget=DATE_WIDGET)
    # The service decides which quantities are acceptable. The min attribute is only a hint to the browser.
    quantity = forms.IntegerField(label=_("Quantity"), widget=forms.NumberInput(attrs={"min": 1, "class": "form-control"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].widget.attrs["class"] = "form-select"
        self.fields["lot_number"].widget.attrs["class"] = "form-control"
        self.fields["note"].widget.attrs["class"] = "form-control"
        warehouses = list(self.fields["warehouse"].queryset[:2])
        if len(warehouses) == 1:
            self.initial.setdefault("warehouse", warehouses[0].pk)
