"""Forms of the quotation screens; they only parse input, the services check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import OrderFilterForm, OrderForm
from .models import QuotationStatus


class QuotationFilterForm(OrderFilterForm):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses"))] + QuotationStatus.choices
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Quotation number or customer")


class QuotationForm(OrderForm):
    """The quotation header; ``customer`` exists only when a new quotation is entered."""

    contact_name = forms.CharField(label=_("Contact"), required=False, max_length=60)
    valid_until = forms.DateField(
        label=_("Valid until"),
        required=False,
        help_text=_("Leave blank for 30 days from today."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    payment_terms = forms.CharField(
        label=_("Payment terms"), required=False, max_length=300, help_text=_("Leave blank for the customer's terms.")
    )
    delivery_terms = forms.CharField(label=_("Delivery terms"), required=False, max_length=300)

    field_order = ["customer", "contact_name", "valid_until", "payment_terms", "delivery_terms", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("channel", "requested_delivery_date", "customer_address", "delivery_address", "customer_reference", "token"):
            self.fields.pop(name, None)

    def header_fields(self):
        values = {name: self.cleaned_data[name] for name in ("contact_name", "valid_until", "delivery_terms", "note")}
        # A blank field keeps the default the service sets (the customer's terms).
        if self.cleaned_data["payment_terms"]:
            values["payment_terms"] = self.cleaned_data["payment_terms"]
        return values


class SendForm(forms.Form):
    email = forms.CharField(
        label=_("Customer's e-mail address"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"class": "form-control", "required": True}),
    )
