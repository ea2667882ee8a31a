"""Forms of the contract screens; they only parse input, the services check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from dentalsales.catalog.models import Product

from .forms import (
    PRODUCT_AUTOCOMPLETE_PATH,
    BaseOrderLineFormSet,
    OrderFilterForm,
    OrderForm,
    RecordChoiceField,
    _chosen_product_ids,
    _plain_price,
    _product_label,
    _searchable,
    autocomplete_url,
)
from .models import ContractStatus
from .services import MAX_LINES


class ContractFilterForm(OrderFilterForm):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses"))] + ContractStatus.choices
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs["placeholder"] = _("Contract number or customer")


class ContractForm(OrderForm):
    """The contract header; ``customer`` exists only when a new contract is entered."""

    start_date = forms.DateField(
        label=_("Start date"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave blank for today."),
    )
    end_date = forms.DateField(
        label=_("End date"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave blank for one year after today."),
    )
    payment_terms = forms.CharField(label=_("Payment terms"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    quality_terms = forms.CharField(
        label=_("Quality assurance terms"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    field_order = ["customer", "start_date", "end_date", "payment_terms", "quality_terms", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("channel", "requested_delivery_date", "customer_address", "delivery_address", "customer_reference", "token"):
            self.fields.pop(name, None)

    def header_fields(self):
        values = {name: self.cleaned_data[name] for name in ("payment_terms", "quality_terms", "note")}
        # A blank date keeps the service's default on entry and the current date on editing.
        for name in ("start_date", "end_date"):
            if self.cleaned_data[name]:
                values[name] = self.cleaned_data[name]
        return values


class ContractLineForm(forms.Form):
    product = RecordChoiceField(label=_("Product"), widget=forms.Select)
    specification = forms.CharField(label=_("Specification"), required=False, max_length=200)
    # Text, not numbers, so that the service names a wrong value in its message.
    quantity = forms.CharField(label=_("Quantity"), max_length=20)
    unit_price = forms.CharField(label=_("Unit price (tax incl.)"), required=False, max_length=30)
    delivery_date = forms.CharField(
        label=_("Delivery date"), required=False, max_length=20, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, product_choices=(), product_url="", **kwargs):
        super().__init__(*args, **kwargs)
        product = self.fields["product"]
        product.widget.choices = [("", "")] + list(product_choices)
        product.widget.attrs.update(_searchable(product_url))
        product.widget.attrs["data-placeholder"] = _("Type a name, SKU or pinyin initials")
        for name in ("specification", "quantity", "unit_price", "delivery_date"):
            self.fields[name].widget.attrs["class"] = "form-control"


class BaseContractLineFormSet(BaseOrderLineFormSet):
    def lines(self):
        """Return the line dicts for the services, in the order of ``filled_forms()``."""
        return [
            {name: form.cleaned_data.get(name) for name in ("product", "specification", "quantity", "unit_price", "delivery_date")}
            for form in self.filled_forms()
        ]


def contract_line_formset(data=None, *, initial=None, extra=0):
    url = autocomplete_url(PRODUCT_AUTOCOMPLETE_PATH)
    products = Product.objects.filter(is_active=True).order_by("sku")
    if url:
        products = products.filter(pk__in=_chosen_product_ids(data, initial))
    choices = [(product.pk, _product_label(product)) for product in products.only("pk", "sku", "name", "specification")]
    formset_class = forms.formset_factory(
        ContractLineForm, formset=BaseContractLineFormSet, extra=extra, can_delete=True, max_num=MAX_LINES
    )
    return formset_class(
        data, initial=initial, prefix="lines", form_kwargs={"product_choices": choices, "product_url": url}
    )


def initial_contract_lines(contract):
    return [
        {
            "product": line.product_id,
            "specification": line.specification,
            "quantity": line.quantity,
            "unit_price": _plain_price(line.unit_price),
            "delivery_date": line.delivery_date.isoformat() if line.delivery_date else "",
        }
        for line in contract.lines.all()
    ]


class SignedCopyForm(forms.Form):
    signed_copy = forms.FileField(
        label=_("Signed copy"),
        required=False,
        help_text=_("PDF, JPEG or PNG, at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".pdf,.jpg,.jpeg,.png"}),
    )
