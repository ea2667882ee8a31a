import json

from django import forms
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _

from dentalsales.catalog.forms import RemoteSelect
from dentalsales.catalog.models import Product

from .models import InspectionResult, LedgerReason, Lot, ReviewLineResult, ShipmentStatus, Warehouse

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
    status = forms.ChoiceField(label=_("Status"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All statuses")), *ShipmentStatus.choices]
        self.fields["status"].widget.attrs["class"] = "form-select"
        self.fields["q"].widget.attrs.update(
            {"class": "form-control", "placeholder": _("Shipment or order number, customer, waybill number")}
        )


class ReceiveForm(forms.Form):
    """Input of a goods receipt, checked and recorded by ``inventory.services.receive_stock``."""

    udi = forms.CharField(
        label=_("UDI barcode"),
        max_length=200,
        required=False,
        help_text=_("Scan the GS1 barcode to fill the product, lot and dates; the service checks that they match."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "data-udi-scan": "", "autofocus": True}),
    )

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
    supplier = forms.CharField(label=_("Supplier"), max_length=200, required=False)
    serial_number = forms.CharField(label=_("Serial number"), max_length=60, required=False)
    # Optional so that a form without the field (an older client) records accepted goods.
    inspection_result = forms.TypedChoiceField(
        label=_("Inspection result"), choices=InspectionResult.choices, initial=InspectionResult.ACCEPTED, required=False,
        empty_value=InspectionResult.ACCEPTED,
    )
    inspection_note = forms.CharField(
        label=_("Inspection note"), max_length=300, required=False, help_text=_("Required when the goods are rejected or quarantined.")
    )

    field_order = [
        "udi", "product", "warehouse", "supplier", "lot_number", "serial_number", "production_date", "expiry_date", "quantity",
        "inspection_result", "inspection_note", "note",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].widget.attrs["class"] = "form-select"
        self.fields["inspection_result"].widget.attrs["class"] = "form-select"
        for name in ("lot_number", "note", "supplier", "serial_number", "inspection_note", "udi"):
            self.fields[name].widget.attrs["class"] = "form-control"
        fill = {name: f"#id_{name}" for name in ("product", "lot_number", "production_date", "expiry_date", "serial_number")}
        self.fields["udi"].widget.attrs.update(
            {
                "data-udi-url": reverse("api-udi-parse"),
                "data-udi-fill": json.dumps(fill),
                "data-udi-error-network": _("The barcode could not be checked: the server did not answer."),
            }
        )
        warehouses = list(self.fields["warehouse"].queryset[:2])
        if len(warehouses) == 1:
            self.initial.setdefault("warehouse", warehouses[0].pk)


class LedgerFilterForm(forms.Form):
    """Filters of the stock ledger page."""

    q = forms.CharField(label=_("Search"), required=False)
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.all(), required=False)
    reason = forms.ChoiceField(label=_("Reason"), choices=[("", _("All reasons")), *LedgerReason.choices], required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label=_("To"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update({"class": "form-control", "placeholder": _("Lot number, SKU or document number")})
        self.fields["warehouse"].empty_label = _("All warehouses")
        self.fields["warehouse"].widget.attrs["class"] = "form-select"
        self.fields["reason"].widget.attrs["class"] = "form-select"


class ReviewLineForm(forms.Form):
    """One picked line in the outbound review: ticked or scanned, with the finding and the counted units."""

    shipment_line = forms.IntegerField(widget=forms.HiddenInput)
    confirmed = forms.BooleanField(label=_("Checked"), required=False)
    scanned_code = forms.CharField(
        label=_("Scanned code"), max_length=200, required=False,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "autocomplete": "off", "data-udi-scan": ""}),
    )
    result = forms.ChoiceField(label=_("Result"), choices=ReviewLineResult.choices, initial=ReviewLineResult.OK)
    quantity = forms.IntegerField(label=_("Counted quantity"), min_value=0, widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 0}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["result"].widget.attrs["class"] = "form-select form-select-sm"


ReviewLineFormSet = forms.formset_factory(ReviewLineForm, extra=0)


class DispatchForm(forms.Form):
    carrier = forms.CharField(label=_("Carrier"), max_length=100)
    waybill_number = forms.CharField(label=_("Waybill number"), max_length=60, required=False)
    dispatched_on = forms.DateField(label=_("Dispatch date"), required=False, widget=DATE_WIDGET)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["carrier"].widget.attrs["class"] = "form-control"
        self.fields["waybill_number"].widget.attrs["class"] = "form-control"


class DeliveryForm(forms.Form):
    signed_receipt = forms.FileField(
        label=_("Signed receipt"), required=False, help_text=_("PDF, JPEG or PNG, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".pdf,.jpg,.jpeg,.png"}),
    )
    delivered_on = forms.DateField(label=_("Delivery date"), required=False, widget=DATE_WIDGET)


class TransferForm(forms.Form):
    lot = forms.ModelChoiceField(label=_("Lot"), queryset=Lot.objects.select_related("product"))
    from_warehouse = forms.ModelChoiceField(label=_("From warehouse"), queryset=Warehouse.objects.all())
    to_warehouse = forms.ModelChoiceField(label=_("To warehouse"), queryset=Warehouse.objects.filter(is_active=True))
    quantity = forms.IntegerField(label=_("Quantity"), widget=forms.NumberInput(attrs={"min": 1, "class": "form-control"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lot"].queryset = Lot.objects.filter(balances__on_hand__gt=0).distinct().select_related("product")
        self.fields["lot"].label_from_instance = lambda lot: f"{lot.product.name} · {lot.lot_number} · {lot.expiry_date:%Y-%m-%d}"
        for name in ("lot", "from_warehouse", "to_warehouse"):
            self.fields[name].widget.attrs["class"] = "form-select"
        self.fields["note"].widget.attrs["class"] = "form-control"


class StockCountStartForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.filter(is_active=True))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].widget.attrs["class"] = "form-select"


class StockCountLineForm(forms.Form):
    lot = forms.IntegerField(widget=forms.HiddenInput)
    counted_quantity = forms.IntegerField(label=_("Counted quantity"), min_value=0, widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 0}))
    reason = forms.CharField(label=_("Reason for the difference"), max_length=200, required=False, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))


StockCountLineFormSet = forms.formset_factory(StockCountLineForm, extra=0)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False, widget=forms.TextInput(attrs={"class": "form-control"}))
