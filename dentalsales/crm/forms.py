"""Forms of customer development; values are checked again, with messages naming the field, by the services."""

import uuid

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from dentalsales.catalog.forms import RemoteSelect
from dentalsales.catalog.models import Product
from dentalsales.customers.models import Contact, Customer, CustomerType
from dentalsales.customers.selectors import visible_customers

from .models import ActivityKind, ActivityStatus, GiftKind, GiftStatus, ProspectSource, ProspectStage

DATE_WIDGET = {"type": "date"}


def style(fields):
    for field in fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
            css = "form-select"
        else:
            css = "form-control"
        widget.attrs.setdefault("class", css)


class CustomerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, customer):
        return str(customer)


def _customer_field(user, required=True):
    field = CustomerChoiceField(
        label=_("Customer"), queryset=visible_customers(user), required=required,
        widget=RemoteSelect(reverse_lazy("customers:autocomplete")),
    )
    field.widget.choices = field.choices
    return field


class FilterForm(forms.Form):
    """Base of the list filters: every field optional, ``filters()`` returns the selector's keyword arguments."""

    q = forms.CharField(label=_("Search"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self.fields)

    def filters(self):
        if not self.is_valid():
            return {}
        data = dict(self.cleaned_data)
        data["search"] = data.pop("q", "")
        return {key: value for key, value in data.items() if value not in ("", None)}


class ProspectFilterForm(FilterForm):
    source = forms.ChoiceField(label=_("Source"), choices=[("", _("All sources"))] + ProspectSource.choices, required=False)
    stage = forms.ChoiceField(label=_("Stage"), choices=[("", _("All stages"))] + ProspectStage.choices, required=False)


class ProspectForm(forms.Form):
    """A new potential customer: the customer's basic data and where the lead came from."""

    name = forms.CharField(label=_("Name"), max_length=200)
    customer_type = forms.ChoiceField(label=_("Customer type"), choices=CustomerType.choices)
    region = forms.ModelChoiceField(
        label=_("Region"), queryset=Customer._meta.get_field("region").related_model.objects.all(), required=False,
        widget=RemoteSelect(reverse_lazy("customers:regions")),
    )
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    contact_name = forms.CharField(label=_("Contact"), max_length=50, required=False)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30, required=False)
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=40, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=ProspectSource.choices)
    source_detail = forms.CharField(
        label=_("Source detail"), max_length=200, required=False,
        help_text=_("For example the exhibition's name or who referred the customer."),
    )
    allow_duplicate_name = forms.BooleanField(
        label=_("Create even if another customer has the same name"), required=False,
        help_text=_("Tick only after checking that the customer named in the message is a different one."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].widget.choices = self.fields["region"].choices
        style(self.fields)


class StageForm(forms.Form):
    stage = forms.ChoiceField(label=_("New stage"), choices=[])
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, stages=(), **kwargs):
        super().__init__(*args, **kwargs)
        # In pipeline order, so that lost comes last rather than in the middle.
        self.fields["stage"].choices = [(stage.value, stage.label) for stage in ProspectStage if stage in stages]
        self.fields["reason"].help_text = _("Required when the customer is lost or reopened.")
        style(self.fields)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self.fields)


class NamedDateField(forms.DateField):
    """A date field whose error names the field and the value that is not a date."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(
                _("%(field)s “%(value)s” is not a date; use the form 2026-12-31."),
                code="invalid", params={"field": self.label, "value": value},
            ) from None


class ActivityFilterForm(FilterForm):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", _("All kinds"))] + ActivityKind.choices, required=False)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All statuses"))] + ActivityStatus.choices, required=False)
    date_from = NamedDateField(label=_("From"), required=False, widget=forms.DateInput(attrs=DATE_WIDGET))
    date_to = NamedDateField(label=_("To"), required=False, widget=forms.DateInput(attrs=DATE_WIDGET))

    def clean(self):
        data = super().clean()
        date_from, date_to = data.get("date_from"), data.get("date_to")
        if date_from and date_to and date_from > date_to:
            raise forms.ValidationError(
                _("The date range %(start)s to %(end)s ends before it starts."),
                params={"start": date_from.isoformat(), "end": date_to.isoformat()},
            )
        return data


class ActivityForm(forms.Form):
    """An activity's fields; contacts are limited to the chosen customer's by the service."""

    customer = forms.ModelChoiceField(queryset=Customer.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=ActivityKind.choices)
    occurred_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    subject = forms.CharField(label=_("Subject"), max_length=200)
    contacts = forms.ModelMultipleChoiceField(label=_("Contacts met"), queryset=Contact.objects.none(), required=False)
    products = forms.ModelMultipleChoiceField(
        label=_("Products discussed"), queryset=Product.objects.all(), required=False,
        widget=forms.SelectMultiple(attrs={"data-tom-select": "", "data-url": reverse_lazy("catalog:product_autocomplete")}),
    )
    outcome = forms.CharField(label=_("Outcome"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    next_step = forms.CharField(label=_("Next step"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    next_step_on = forms.DateField(
        label=_("Next step date"), required=False, widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d")
    )

    def __init__(self, *args, user, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        if customer is not None:
            del self.fields["customer"]
        else:
            self.fields["customer"] = _customer_field(user)
        self.fields["contacts"].queryset = Contact.objects.filter(customer=customer) if customer else Contact.objects.none()
        self.fields["contacts"].label_from_instance = lambda contact: " · ".join(filter(None, [contact.name, contact.title]))
        style(self.fields)

    def clean_products(self):
        return list(self.cleaned_data["products"])


class AmendmentForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the correction"), widget=forms.Textarea(attrs={"rows": 2}))
    outcome = forms.CharField(label=_("Corrected outcome"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    next_step = forms.CharField(label=_("Corrected next step"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self.fields)


class RevisitFilterForm(FilterForm):
    state = forms.ChoiceField(
        label=_("Show"),
        choices=[("", _("Due and overdue")), ("overdue", _("Overdue")), ("due", _("Due soon"))],
        required=False,
    )

    def filters(self):
        data = super().filters()
        data.pop("search", None)
        return data


class MonthForm(forms.Form):
    month = forms.CharField(label=_("Month"), required=False, widget=forms.DateInput(attrs={"type": "month"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self.fields)

    def clean_month(self):
        text = self.cleaned_data["month"].strip()
        if not text:
            return None
        try:
            year, month = (int(part) for part in text.split("-"))
            if not 1 <= month <= 12 or not 2000 <= year <= 2100:
                raise ValueError
        except ValueError:
            raise forms.ValidationError(_("“%(value)s” is not a month; use the form 2026-12."), params={"value": text}) from None
        return year, month


class YearForm(forms.Form):
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        style(self.fields)


class GiftFilterForm(FilterForm):
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("All statuses"))] + GiftStatus.choices, required=False)
    year = forms.IntegerField(label=_("Year"), required=False, min_value=2000, max_value=2100)


class GiftForm(forms.Form):
    customer = forms.ModelChoiceField(queryset=Customer.objects.none())
    recipient = forms.ModelChoiceField(label=_("Recipient"), queryset=Contact.objects.none())
    kind = forms.ChoiceField(label=_("Kind"), choices=GiftKind.choices)
    description = forms.CharField(label=_("What"), max_length=200)
    # Text, so that the service names a wrong value in its message.
    value = forms.CharField(label=_("Value (yuan)"), max_length=20, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    given_on = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    purpose = forms.CharField(label=_("Purpose"), widget=forms.Textarea(attrs={"rows": 2}))
    # One-time token of a new gift's form, so that a double click records it once.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

    def __init__(self, *args, user, customer=None, new=False, **kwargs):
        super().__init__(*args, **kwargs)
        if customer is not None:
            del self.fields["customer"]
        else:
            self.fields["customer"] = _customer_field(user)
        if new:
            self.initial.setdefault("token", uuid.uuid4().hex)
        else:
            del self.fields["token"]
        self.fields["recipient"].queryset = Contact.objects.filter(customer=customer) if customer else Contact.objects.none()
        self.fields["recipient"].label_from_instance = lambda contact: " · ".join(filter(None, [contact.name, contact.title]))
        style(self.fields)
