"""Forms of the order screens.

They only parse input. The services check every business rule (known
customer and product, quantity of at least 1, at most 4 decimals in a
price, state and role), and the views place their errors beside the field
they name.
"""

import json
import uuid
from decimal import Decimal

from django import forms
from django.urls import Resolver404, resolve, reverse
from django.utils.translation import gettext_lazy as _

from dentalsales.catalog.models import Product
from dentalsales.core.money import format_price
from dentalsales.customers.selectors import visible_customers
from dentalsales.inventory.models import Warehouse

from .addresses import customer_addresses, format_delivery_address
from .models import OrderChannel, OrderStatus
from .services import MAX_LINES

CUSTOMER_AUTOCOMPLETE_PATH = "/customers/autocomplete/"
PRODUCT_AUTOCOMPLETE_PATH = "/products/autocomplete/"


def autocomplete_url(path):
    """Return ``path`` when an autocomplete endpoint is routed there, else an empty string.

    Without the endpoint the select lists every option itself, so the form
    still works, only with a longer list.
    """
    try:
        resolve(path)
    except Resolver404:
        return ""
    return path


class RecordChoiceField(forms.CharField):
    """A record picked by id in a searchable select.

    A value that is not a known id is passed on unchanged, so that the
    service can reject it in a message that names the value.
    """

    widget = forms.Select

    def to_python(self, value):
        value = super().to_python(value)
        return int(value) if value.isdecimal() else value


def as_id(value):
    """Return ``value`` as a primary key when it is a string of digits that fits one, else None."""
    text = str(value if value is not None else "").strip()
    if text.isdecimal() and int(text) < 2**63:
        return int(text)
    return None


def _searchable(url):
    attrs = {"data-tom-select": "", "class": "form-select"}
    if url:
        attrs["data-url"] = url
    return attrs


class OrderFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All statuses"))] + OrderStatus.choices
    )
    q = forms.CharField(
        label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].widget.attrs["class"] = "form-select"
        self.fields["q"].widget.attrs.update(
            {"class": "form-control", "placeholder": _("Order number or customer")}
        )

    def filters(self):
        """Return the filters for the selector. An invalid value is dropped, so the page still loads."""
        self.is_valid()
        return {"status": self.cleaned_data.get("status", ""), "search": self.cleaned_data.get("q", "").strip()}


class SalesOrderFilterForm(OrderFilterForm):
    """The order list's filters: the shared ones plus orders with backorder only."""

    backordered = forms.BooleanField(label=_("Backordered only"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["backordered"].widget.attrs["class"] = "form-check-input"

    def filters(self):
        return {**super().filters(), "backordered": bool(self.cleaned_data.get("backordered"))}


class OrderForm(forms.Form):
    """The order header. ``customer`` and ``token`` exist only when a new order is entered."""

    customer = RecordChoiceField(label=_("Customer"))
    channel = forms.ChoiceField(label=_("Order channel"), choices=OrderChannel.choices)
    requested_delivery_date = forms.DateField(
        label=_("Requested delivery date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    # Options are the chosen customer's saved addresses, loaded again when
    # the customer changes; the service checks that the address is theirs.
    customer_address = RecordChoiceField(label=_("Delivery address"), required=False)
    delivery_address = forms.CharField(
        label=_("Other delivery address"),
        required=False,
        max_length=300,
        help_text=_("Type an address here when none of the customer's addresses fits; leave blank to use the chosen one."),
    )
    customer_reference = forms.CharField(label=_("Customer's purchase order number"), required=False, max_length=60)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # Generated when the form is shown. A second post of the same form
    # returns the order the first post created instead of a new one.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

    def __init__(self, *args, user, order=None, **kwargs):
        super().__init__(*args, **kwargs)
        if order is not None:
            del self.fields["customer"]
            del self.fields["token"]
        else:
            if not self.is_bound:
                self.initial.setdefault("token", uuid.uuid4().hex)
            self._set_customer_choices(user)
        self._set_address_choices(user, order)
        for name, field in self.fields.items():
            if name not in ("customer", "token"):
                css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
                field.widget.attrs.setdefault("class", css)

    def _set_customer_choices(self, user):
        url = autocomplete_url(CUSTOMER_AUTOCOMPLETE_PATH)
        customers = visible_customers(user).filter(is_active=True).order_by("code")
        if url:
            # The endpoint supplies options as the user types, so only the
            # chosen customer must be listed for the form to show it again.
            selected = as_id(self.data.get(self.add_prefix("customer")) if self.is_bound else self.initial.get("customer"))
            customers = customers.filter(pk=selected) if selected else customers.none()
        field = self.fields["customer"]
        field.widget.choices = [("", "")] + [(customer.pk, str(customer)) for customer in customers]
        field.widget.attrs.update(_searchable(url))
        field.widget.attrs["data-placeholder"] = _("Type a name, code or pinyin initials")

    def _set_address_choices(self, user, order):
        if order is not None:
            customer = order.customer
        else:
            customer_id = as_id(self.data.get(self.add_prefix("customer")) if self.is_bound else self.initial.get("customer"))
            customer = visible_customers(user).filter(pk=customer_id).first() if customer_id else None
        addresses = list(customer_addresses(customer))
        field = self.fields["customer_address"]
        field.widget.choices = address_choices(addresses)
        field.widget.attrs["data-testid"] = "customer-address"
        if not self.is_bound and "customer_address" not in self.initial and addresses:
            self.initial["customer_address"] = addresses[0].pk
        if "customer" in self.fields:
            # A change of customer loads that customer's addresses into the select.
            self.fields["customer"].widget.attrs.update(
                {
                    "hx-get": reverse("sales:order_addresses"),
                    "hx-trigger": "change",
                    "hx-target": "#" + self["customer_address"].auto_id,
                    "hx-swap": "innerHTML",
                }
            )

    def header_fields(self):
        """Return the header values the services take as keyword arguments.

        Typed text wins over the chosen saved address, so that a user who
        types an address need not also reset the choice.
        """
        names = ("channel", "requested_delivery_date", "delivery_address", "customer_reference", "note")
        fields = {name: self.cleaned_data[name] for name in names}
        chosen = self.cleaned_data.get("customer_address")
        fields["customer_address"] = None if fields["delivery_address"] else (chosen or None)
        return fields


def address_choices(addresses):
    """Return the select options of a customer's saved addresses, the default first, and one for typing another."""
    choices = [(address.pk, format_delivery_address(address)) for address in addresses]
    return choices + [("", _("Another address (type it below)"))]


class ProductSelect(forms.Select):
    """A select whose options carry the product's unit and list price for the line's hints."""

    option_data = {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        data = self.option_data.get(str(value))
        if data:
            # Tom Select reads extra option fields from data-data.
            option["attrs"]["data-data"] = json.dumps(data)
        return option


class OrderLineForm(forms.Form):
    product = RecordChoiceField(label=_("Product"), widget=ProductSelect)
    # Text, not numbers: the service names a wrong value (“1.5”) in its
    # message, which a number field would replace by a generic one.
    quantity = forms.CharField(
        label=_("Quantity"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
    )
    unit_price = forms.CharField(
        label=_("Unit price (tax incl.)"),
        required=False,
        max_length=30,
        help_text=_("Leave blank for the price policy's price."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )

    def __init__(self, *args, product_choices=(), product_data=None, product_url="", **kwargs):
        super().__init__(*args, **kwargs)
        self.product_data = product_data or {}
        product = self.fields["product"]
        product.widget.choices = [("", "")] + list(product_choices)
        product.widget.option_data = self.product_data
        product.widget.attrs.update(_searchable(product_url))
        product.widget.attrs["data-placeholder"] = _("Type a name, SKU or pinyin initials")
        self.fields["quantity"].widget.attrs["class"] = "form-control text-end"
        self.fields["unit_price"].widget.attrs["class"] = "form-control text-end"
        self.fields["unit_price"].widget.attrs["placeholder"] = _("List price")
        data = self.product_data.get(str(self["product"].value() or ""))
        if data:
            self.fields["unit_price"].widget.attrs["placeholder"] = data["list_price"]

    @property
    def unit(self):
        return self.product_data.get(str(self["product"].value() or ""), {}).get("unit", "")


class BaseOrderLineFormSet(forms.BaseFormSet):
    def add_fields(self, form, index):
        super().add_fields(form, index)
        form.fields["DELETE"].label = _("Remove")
        form.fields["DELETE"].widget.attrs["class"] = "form-check-input"

    def filled_forms(self):
        """Return the line forms that hold a line: not blank and not marked for removal."""
        return [
            form
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("product") not in (None, "")
        ]

    def lines(self):
        """Return the line dicts for the services, in the order of ``filled_forms()``."""
        return [
            {
                "product": form.cleaned_data["product"],
                "quantity": form.cleaned_data["quantity"],
                "unit_price": form.cleaned_data.get("unit_price"),
            }
            for form in self.filled_forms()
        ]


def _product_label(product):
    parts = [product.sku, product.name, product.specification]
    return " ".join(part for part in parts if part)


def line_formset(data=None, *, initial=None, extra=0, prefix="lines"):
    """Build the lines formset with its product options fetched in one query."""
    url = autocomplete_url(PRODUCT_AUTOCOMPLETE_PATH)
    products = Product.objects.filter(is_active=True).order_by("sku")
    if url:
        products = products.filter(pk__in=_chosen_product_ids(data, initial, prefix))
    products = list(products.only("pk", "sku", "name", "specification", "unit", "list_price"))
    choices = [(product.pk, _product_label(product)) for product in products]
    product_data = {str(product.pk): {"unit": product.unit, "list_price": format_price(product.list_price, grouping=False)} for product in products}
    formset_class = forms.formset_factory(
        OrderLineForm, formset=BaseOrderLineFormSet, extra=extra, can_delete=True, max_num=MAX_LINES
    )
    return formset_class(
        data, initial=initial, prefix=prefix, form_kwargs={"product_choices": choices, "product_data": product_data, "product_url": url}
    )


def _chosen_product_ids(data, initial, prefix="lines"):
    if data is not None:
        values = [value for key, value in data.items() if key.startswith(f"{prefix}-") and key.endswith("-product")]
    else:
        values = [row.get("product") for row in initial or []]
    return [as_id(value) for value in values if as_id(value)]


def initial_lines(order):
    """Return the lines of an order or quotation for its edit form.

    A line priced by the price policy gets a blank price, so that saving
    prices it again (for a changed quantity or product) instead of freezing
    the old price as a hand-entered one.
    """
    return [
        {
            "product": line.product_id,
            "quantity": line.quantity,
            "unit_price": "" if line.unit_price == line.resolved_unit_price else _plain_price(line.unit_price),
        }
        for line in order.lines.all()
    ]


def _plain_price(price):
    """Show 130.0000 as 130.00, keep 12.3456 as it is."""
    cents = price.quantize(Decimal("0.01"))
    return cents if cents == price else price.normalize()


class AmendLineForm(forms.Form):
    """The new quantity and unit price of one line of an approved order."""

    id = forms.IntegerField(widget=forms.HiddenInput)
    # Text, as on the entry form, so that the service names a wrong value.
    quantity = forms.CharField(
        label=_("Quantity"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off", "class": "form-control text-end"}),
    )
    unit_price = forms.CharField(
        label=_("Unit price (tax incl.)"),
        required=False,
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off", "class": "form-control text-end"}),
    )


class OrderAmendment:
    """The amendment screen's forms: the existing lines, lines to add and the reason.

    ``lines()`` and ``line_forms()`` list the same lines in the same order,
    so that a service error on ``lines[i]`` lands beside the i-th form.
    """

    def __init__(self, order, data=None):
        self.order_lines = list(order.lines.select_related("product").order_by("pk"))
        initial = [
            {"id": line.pk, "quantity": line.quantity, "unit_price": _plain_price(line.unit_price)} for line in self.order_lines
        ]
        formset_class = forms.formset_factory(AmendLineForm, extra=0, max_num=MAX_LINES)
        self.existing = formset_class(data, initial=initial, prefix="amend")
        for form, line in zip(self.existing.forms, self.order_lines):
            form.order_line = line
        self.added = line_formset(data, extra=2, prefix="new")
        self.reason_form = ReasonForm(data, prefix="amend-reason", required=True, label=_("Reason for the amendment"))

    def is_valid(self):
        return all([self.existing.is_valid(), self.added.is_valid(), self.reason_form.is_valid()])

    def line_forms(self):
        return [*self.existing.forms, *self.added.filled_forms()]

    def lines(self):
        """Return the line dicts for ``amend_order``: every existing line, then the filled new ones."""
        existing = [
            {"id": form.cleaned_data["id"], "quantity": form.cleaned_data["quantity"], "unit_price": form.cleaned_data["unit_price"]}
            for form in self.existing.forms
        ]
        return existing + self.added.lines()


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}))

    def __init__(self, *args, required=False, label=None, **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["reason"].label = label
        if required:
            # A hint for the browser only, because the service rejects a blank reason itself.
            self.fields["reason"].widget.attrs["required"] = True

    def reason_text(self):
        return self.cleaned_data.get("reason", "") if self.is_valid() else ""


class ShipForm(forms.Form):
    """Carrier, waybill and warehouse of one dispatch.

    The carrier is marked required for the browser only, because the
    service rejects a blank one with a message that explains what to enter.
    The service also decides when a warehouse must be chosen.
    """

    carrier = forms.CharField(label=_("Carrier"), required=False, max_length=100)
    waybill_number = forms.CharField(label=_("Waybill number"), required=False, max_length=60)
    warehouse = forms.ModelChoiceField(label=_("Warehouse"), queryset=Warehouse.objects.all(), required=False)

    def __init__(self, *args, warehouses=None, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm"
        self.fields["carrier"].widget.attrs["required"] = True
        self.fields["carrier"].widget.attrs["placeholder"] = _("Carrier, own delivery or customer pick-up")
        warehouse = self.fields["warehouse"]
        warehouse.widget.attrs["class"] = "form-select form-select-sm"
        if warehouses is not None:
            # Only the warehouses that still contain reserved stock of the
            # order are offered. When there is one, it is chosen already.
            warehouses = list(warehouses)
            choices = [(item.pk, str(item)) for item in warehouses]
            if len(warehouses) == 1:
                self.initial.setdefault("warehouse", warehouses[0].pk)
            else:
                choices.insert(0, ("", _("Choose a warehouse")))
                warehouse.widget.attrs["required"] = True
            warehouse.widget.choices = choices
