import json
import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dentalsales.catalog.forms import RemoteSelect
from dentalsales.catalog.models import Product

from .models import InspectionResult, LedgerReason, ReviewLineResult, ShipmentStatus, StockBalance, Warehouse
from .services import MAX_RECEIPT_QUANTITY
from .udi import UDI_MAX_LENGTH

DATE_WIDGET = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")


class WholeNumberField(forms.IntegerField):
    """An integer field whose messages name the value entered and, when set, the lot it belongs to.

    Django's own messages ("Enter a whole number.") leave a user with a
    table of lines guessing which entry is wrong.
    """

    def __init__(self, *args, lot_number="", **kwargs):
        self.lot_number = lot_number
        super().__init__(*args, **kwargs)

    def _subject(self):
        if self.lot_number:
            return _("Lot %(lot)s: %(field)s") % {"lot": self.lot_number, "field": self.label}
        return str(self.label)

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                _("%(field)s must be a whole number, not “%(value)s”."), code="invalid",
                params={"field": self._subject(), "value": value},
            ) from None

    def validate(self, value):
        if value in self.empty_values and self.required:
            raise ValidationError(_("%(field)s: enter a number."), code="required", params={"field": self._subject()})
        super().validate(value)

    def run_validators(self, value):
        if value in self.empty_values:
            return
        if self.min_value is not None and value < self.min_value:
            raise ValidationError(
                _("%(field)s must be at least %(min)s, not %(value)s."), code="min_value",
                params={"field": self._subject(), "min": self.min_value, "value": value},
            )
        if self.max_value is not None and value > self.max_value:
            raise ValidationError(
                _("%(field)s must be at most %(max)s, not %(value)s."), code="max_value",
                params={"field": self._subject(), "max": self.max_value, "value": value},
            )


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
        max_length=UDI_MAX_LENGTH,
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
    # The service checks the quantity again, so that the API refuses the same values.
    quantity = WholeNumberField(
        label=_("Quantity"), min_value=1, max_value=MAX_RECEIPT_QUANTITY,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_RECEIPT_QUANTITY, "class": "form-control"}),
    )
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
    # One-time token: a second POST of the same form (double click, resend) returns the first receipt.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

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
                "data-udi-unknown-note": _(
                    "The UDI field was cleared because no product has the scanned UDI-DI; the lot and dates from the barcode stay. "
                    "Check them against the label. The quality officer adds the UDI-DI to the product master, after which the barcode can be kept."
                ),
            }
        )
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4().hex)
        warehouses = list(self.fields["warehouse"].queryset[:2])
        if len(warehouses) == 1:
            self.initial.setdefault("warehouse", warehouses[0].pk)


class NamedDateField(forms.DateField):
    """A date field whose message names the value that is not a date."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(
                _("%(field)s: “%(value)s” is not a date; use the form YYYY-MM-DD."), code="invalid",
                params={"field": self.label, "value": value},
            ) from None


class LedgerFilterForm(forms.Form):
    """Filters of the stock ledger page; a date that cannot be read or a reversed range is refused, never ignored."""

    q = forms.CharField(label=_("Search"), required=False)
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.all(), required=False)
    reason = forms.ChoiceField(
        label=_("Movement type"), choices=[("", _("All movement types")), *LedgerReason.choices], required=False
    )
    date_from = NamedDateField(label=pgettext_lazy("date range", "From"), required=False, widget=DATE_WIDGET)
    date_to = NamedDateField(label=pgettext_lazy("date range", "To"), required=False, widget=DATE_WIDGET)

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error(
                "date_to",
                _("The end date %(to)s is before the start date %(from)s; swap the dates.")
                % {"to": date_to.isoformat(), "from": date_from.isoformat()},
            )
        return data

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
    """A transfer picks the stock to move as one lot in one warehouse, from a searchable list showing what is unreserved."""

    stock = forms.ModelChoiceField(label=_("Lot and source warehouse"), queryset=StockBalance.objects.none())
    to_warehouse = forms.ModelChoiceField(label=_("To warehouse"), queryset=Warehouse.objects.filter(is_active=True))
    quantity = forms.IntegerField(label=_("Quantity"), widget=forms.NumberInput(attrs={"min": 1, "class": "form-control"}))
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["stock"]
        field.queryset = (
            StockBalance.objects.filter(on_hand__gt=0)
            .select_related("lot", "lot__product", "warehouse")
            .order_by("lot__product__sku", "lot__expiry_date", "warehouse__code")
        )
        field.label_from_instance = self._stock_label
        field.help_text = _("Type a product, SKU, lot number or warehouse to search.")
        field.widget.attrs.update({"class": "form-select", "data-tom-select": ""})
        field.empty_label = _("Choose the lot and warehouse")
        self.fields["to_warehouse"].widget.attrs["class"] = "form-select"
        self.fields["note"].widget.attrs["class"] = "form-control"

    @staticmethod
    def _stock_label(balance):
        lot = balance.lot
        return _("%(product)s (%(sku)s) · lot %(lot)s · %(warehouse)s · expires %(expiry)s · %(available)s unreserved") % {
            "product": lot.product.name, "sku": lot.product.sku, "lot": lot.lot_number, "warehouse": balance.warehouse.name,
            "expiry": f"{lot.expiry_date:%Y-%m-%d}", "available": balance.available,
        }

    def transfer_arguments(self):
        """Return the keyword arguments of ``stock_control.transfer_stock``."""
        data = self.cleaned_data
        return {
            "lot": data["stock"].lot, "from_warehouse": data["stock"].warehouse, "to_warehouse": data["to_warehouse"],
            "quantity": data["quantity"], "note": data["note"],
        }


class StockCountStartForm(forms.Form):
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.filter(is_active=True))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].widget.attrs["class"] = "form-select"


class StockCountLineForm(forms.Form):
    """One lot of a stock count. The counted quantity starts empty, so that nobody approves the books without counting."""

    lot = forms.IntegerField(widget=forms.HiddenInput)
    counted_quantity = WholeNumberField(
        label=_("Counted quantity"), min_value=0, widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 0})
    )
    reason = forms.CharField(label=_("Reason for the difference"), max_length=200, required=False, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))


StockCountLineFormSet = forms.formset_factory(StockCountLineForm, extra=0)


class DecisionForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=300, required=False, widget=forms.TextInput(attrs={"class": "form-control"}))


class ReasonForm(forms.Form):
    """A required reason, for cancelling a picking or releasing a lot from quarantine; the service checks it too."""

    reason = forms.CharField(
        label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"class": "form-control", "rows": 2, "maxlength": 300})
    )
