"""Forms of the pricing screens.

They only parse input. The services check every rule: a grade or customer
for the kind of list, dates in order, prices above 0 with at most 4
decimals, tier bounds from 2 and not repeated. The views place the
services' errors beside the field they name.
"""

from decimal import Decimal

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dentalsales.catalog.forms import RemoteSelect
from dentalsales.catalog.models import Category, Product
from dentalsales.customers.models import Customer, CustomerGrade
from dentalsales.customers.selectors import visible_customers

from .models import AuthorityRole, LockedPriceSource, PriceListKind

CUSTOMER_AUTOCOMPLETE = reverse_lazy("customers:autocomplete")
PRODUCT_AUTOCOMPLETE = reverse_lazy("catalog:product_autocomplete")
DATE_INPUT = {"type": "date"}


def _style(fields):
    for field in fields.values():
        if isinstance(field.widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(field.widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        field.widget.attrs.setdefault("class", css)


def _remote_select(field, url, placeholder):
    field.widget = RemoteSelect(url)
    field.widget.choices = field.choices
    field.widget.attrs["data-placeholder"] = placeholder


def _product_label(product):
    return " ".join(part for part in (product.sku, product.name, product.specification) if part)


# -- filters -----------------------------------------------------------------------

ACTIVE_CHOICES = [("", _("Active and inactive")), ("active", _("Active only")), ("inactive", _("Inactive only"))]


def active_filter(value):
    return {"active": True, "inactive": False}.get(value)


def _active_by_default(data):
    """Show active rows until the user picks another status."""
    if data is not None and "active" not in data:
        data = data.copy()
        data["active"] = "active"
    return data


class PriceListFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    kind = forms.ChoiceField(label=pgettext_lazy("price list", "Kind"), required=False, choices=[("", _("All kinds"))] + PriceListKind.choices)
    grade = forms.ChoiceField(label=_("Customer grade"), required=False, choices=[("", _("All grades"))] + CustomerGrade.choices)
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES, initial="active")

    def __init__(self, data=None, **kwargs):
        super().__init__(_active_by_default(data), **kwargs)
        _style(self.fields)
        self.fields["q"].widget.attrs["placeholder"] = _("Name, customer name or code")

    def filters(self):
        """Return the selector's filters; an invalid value is dropped so that the page still loads."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q", ""),
            "kind": data.get("kind", ""),
            "grade": data.get("grade", ""),
            "active": active_filter(data.get("active", "active")),
        }


class LockedPriceFilterForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"}))
    source = forms.ChoiceField(label=_("Source"), required=False, choices=[("", _("All sources"))] + LockedPriceSource.choices)
    active = forms.ChoiceField(label=_("Status"), required=False, choices=ACTIVE_CHOICES, initial="active")

    def __init__(self, data=None, **kwargs):
        super().__init__(_active_by_default(data), **kwargs)
        _style(self.fields)
        self.fields["q"].widget.attrs["placeholder"] = _("Customer, product or reference")

    def filters(self):
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "search": data.get("q", ""),
            "source": data.get("source", ""),
            "active": active_filter(data.get("active", "active")),
        }


# -- price list editor ----------------------------------------------------------------


class PriceListForm(forms.Form):
    """The header of a price list."""

    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=pgettext_lazy("price list", "Kind"), choices=PriceListKind.choices)
    grade = forms.ChoiceField(
        label=_("Customer grade"), required=False, choices=[("", "---------")] + CustomerGrade.choices,
        help_text=_("For a price list by customer grade."),
    )
    customer = forms.ModelChoiceField(
        label=_("Customer"), required=False, queryset=Customer.objects.none(), help_text=_("For a price list for one customer.")
    )
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(DATE_INPUT, format="%Y-%m-%d"))
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(DATE_INPUT, format="%Y-%m-%d"),
        help_text=_("Leave empty for a price list without an end date."),
    )
    priority = forms.IntegerField(
        label=_("Priority"), initial=0, help_text=_("When several lists of the same kind apply, the highest priority wins.")
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = visible_customers(user)
        _remote_select(self.fields["customer"], CUSTOMER_AUTOCOMPLETE, _("Type a name, code or pinyin initials"))
        _style(self.fields)


class ItemChoiceField(forms.CharField):
    """A product picked by id; any other value goes on to the service, which names it in its message."""

    widget = forms.Select

    def to_python(self, value):
        value = super().to_python(value)
        return int(value) if value.isdecimal() and value.isascii() else value


class PriceListItemForm(forms.Form):
    product = ItemChoiceField(label=_("Product"), required=False)
    unit_price = forms.DecimalField(label=_("Unit price (tax incl.)"), required=False, widget=forms.NumberInput(attrs={"step": "any", "min": 0}))

    def __init__(self, *args, product_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        widget = self.fields["product"].widget
        widget.choices = [("", "")] + list(product_choices)
        widget.attrs.update(
            {"data-tom-select": "", "data-url": str(PRODUCT_AUTOCOMPLETE), "class": "form-select",
             "data-placeholder": _("Type a name, SKU or pinyin initials")}
        )
        self.fields["unit_price"].widget.attrs["class"] = "form-control text-end"

    def is_blank(self):
        data = self.cleaned_data
        return data.get("product") in (None, "") and data.get("unit_price") is None


class VolumeTierForm(forms.Form):
    min_quantity = forms.IntegerField(label=_("From quantity"), required=False, widget=forms.NumberInput(attrs={"min": 2, "step": 1}))
    unit_price = forms.DecimalField(label=_("Unit price (tax incl.)"), required=False, widget=forms.NumberInput(attrs={"step": "any", "min": 0}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm text-end"

    def is_blank(self):
        return self.cleaned_data.get("min_quantity") is None and self.cleaned_data.get("unit_price") is None


class BaseItemFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].label = _("Remove")
        form.fields["DELETE"].widget.attrs["class"] = "form-check-input"


TierFormSet = forms.formset_factory(VolumeTierForm, extra=0)
ItemFormSet = forms.formset_factory(PriceListItemForm, formset=BaseItemFormSet, extra=0, can_delete=True)
EMPTY_TIER_ITEM_PREFIX = "__item__"


def _chosen_product_ids(data, initial):
    if data is not None:
        values = [value for key, value in data.items() if key.startswith("items-") and key.endswith("-product")]
    else:
        values = [row.get("product") for row in initial or []]
    return [int(value) for value in map(str, values) if value.isdecimal() and value.isascii() and int(value) < 2**63]


def item_formset(data=None, *, initial=None):
    """Build the items editor: one form per item, each with ``tiers``, its own formset of volume tiers.

    The chosen products are fetched in one query; the others load as the user types.
    """
    products = Product.objects.filter(pk__in=_chosen_product_ids(data, initial)).only("pk", "sku", "name", "specification")
    choices = [(product.pk, _product_label(product)) for product in products]
    formset = ItemFormSet(data, initial=initial, prefix="items", form_kwargs={"product_choices": choices})
    for form in formset.forms:
        tiers_initial = (form.initial or {}).get("tiers") if data is None else None
        form.tiers = TierFormSet(data, initial=tiers_initial, prefix=f"{form.prefix}-tiers")
    formset.empty_item = formset.empty_form
    formset.empty_item.tiers = TierFormSet(prefix=f"{formset.empty_item.prefix}-tiers")
    # The tier template of a row added in the browser, where the page's
    # script puts the item index for __item__ and the tier index for __prefix__.
    formset.empty_tier = TierFormSet(prefix=f"items-{EMPTY_TIER_ITEM_PREFIX}-tiers").empty_form
    return formset


def item_formset_is_valid(formset):
    return formset.is_valid() and all(form.tiers.is_valid() for form in formset.forms)


def filled_items(formset):
    """Return ``(item_form, tier_forms, item_dict)`` for each item kept, in order, for the service and its errors."""
    rows = []
    for form in formset.forms:
        if not form.cleaned_data or form.cleaned_data.get("DELETE") or form.is_blank():
            continue
        tier_forms = [tier for tier in form.tiers.forms if tier.cleaned_data and not tier.is_blank()]
        item = {
            "product": form.cleaned_data.get("product"),
            "unit_price": form.cleaned_data.get("unit_price"),
            "tiers": [
                {"min_quantity": tier.cleaned_data.get("min_quantity"), "unit_price": tier.cleaned_data.get("unit_price")}
                for tier in tier_forms
            ],
        }
        rows.append((form, tier_forms, item))
    return rows


def plain_price(price):
    """Show 130.0000 as 130.00 in an input, keep 12.3456 as it is."""
    cents = price.quantize(Decimal("0.01"))
    return cents if cents == price else price.normalize()


def initial_items(price_list):
    return [
        {
            "product": item.product_id,
            "unit_price": plain_price(item.unit_price),
            "tiers": [
                {"min_quantity": tier.min_quantity, "unit_price": plain_price(tier.unit_price)} for tier in item.tiers.all()
            ],
        }
        for item in price_list.items.all()
    ]


def initial_header(price_list):
    return {
        "name": price_list.name,
        "kind": price_list.kind,
        "grade": price_list.grade,
        "customer": price_list.customer_id,
        "valid_from": price_list.valid_from,
        "valid_until": price_list.valid_until,
        "priority": price_list.priority,
        "is_active": price_list.is_active,
        "note": price_list.note,
    }


# -- locked prices, payment-term discounts, discount authority -------------------------


class LockedPriceForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.all())
    unit_price = forms.DecimalField(label=_("Unit price (tax incl.)"), widget=forms.NumberInput(attrs={"step": "any", "min": 0}))
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(DATE_INPUT, format="%Y-%m-%d"))
    valid_until = forms.DateField(label=_("Valid until"), widget=forms.DateInput(DATE_INPUT, format="%Y-%m-%d"))
    source = forms.ChoiceField(label=_("Source"), choices=LockedPriceSource.choices)
    source_reference = forms.CharField(
        label=_("Source reference"), max_length=100, help_text=_("Tender, procurement or contract number.")
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = visible_customers(user)
        _remote_select(self.fields["customer"], CUSTOMER_AUTOCOMPLETE, _("Type a name, code or pinyin initials"))
        self.fields["product"].label_from_instance = _product_label
        _remote_select(self.fields["product"], PRODUCT_AUTOCOMPLETE, _("Type a name, SKU or pinyin initials"))
        _style(self.fields)


class PaymentTermDiscountForm(forms.Form):
    max_payment_terms_days = forms.IntegerField(
        label=_("Payment terms up to (days)"),
        help_text=_("Customers whose payment terms are this many days or fewer get the discount."),
    )
    discount_rate = forms.DecimalField(
        label=_("Discount rate"), help_text=_("0.02 means a discount of 2 percent."), widget=forms.NumberInput(attrs={"step": "any"})
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)


class CategoryAuthorityForm(forms.Form):
    """One row of the discount authority table: the share of each role for a category, or in general."""

    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.order_by("code"), required=False,
        help_text=_("Leave empty for the general row, which applies to every category without a row of its own."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].empty_label = _("All categories (general row)")
        for role in AuthorityRole:
            self.fields[role.value] = forms.DecimalField(
                label=role.label, required=False, widget=forms.NumberInput(attrs={"step": "0.01", "min": 0, "max": 1}),
                help_text=_("Empty: inherit."),
            )
        _style(self.fields)
        self.fields["category"].widget.attrs["data-tom-select"] = ""

    def shares(self):
        return {role.value: self.cleaned_data.get(role.value) for role in AuthorityRole}


class PriceCheckForm(forms.Form):
    customer = forms.ModelChoiceField(label=_("Customer"), queryset=Customer.objects.none())
    product = forms.ModelChoiceField(label=_("Product"), queryset=Product.objects.filter(is_active=True))
    quantity = forms.IntegerField(label=_("Quantity"), min_value=1, initial=1, widget=forms.NumberInput(attrs={"min": 1, "step": 1}))
    on_date = forms.DateField(
        label=_("On date"), required=False, widget=forms.DateInput(DATE_INPUT, format="%Y-%m-%d"), help_text=_("Leave empty for today.")
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customer"].queryset = visible_customers(user).filter(is_active=True)
        _remote_select(self.fields["customer"], CUSTOMER_AUTOCOMPLETE, _("Type a name, code or pinyin initials"))
        self.fields["product"].label_from_instance = _product_label
        _remote_select(self.fields["product"], PRODUCT_AUTOCOMPLETE, _("Type a name, SKU or pinyin initials"))
        _style(self.fields)
