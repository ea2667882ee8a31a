"""Forms of the after-sales screens; they only parse input, the services check the rules."""

import datetime

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from dentalsales.core.timeutils import local_today

from dentalsales.catalog.models import Product
from dentalsales.customers.selectors import visible_customers
from dentalsales.sales.forms import (
    CUSTOMER_AUTOCOMPLETE_PATH,
    PRODUCT_AUTOCOMPLETE_PATH,
    RecordChoiceField,
    as_id,
    autocomplete_url,
)

from .models import (
    AdverseEventReview,
    ComplaintCategory,
    ComplaintStatus,
    FeedbackChannel,
    ReturnKind,
    ReturnStatus,
    Severity,
)


def _style(form):
    for field in form.fields.values():
        if isinstance(field.widget, (forms.CheckboxInput,)):
            field.widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(field.widget, forms.Select):
            field.widget.attrs.setdefault("class", "form-select")
        else:
            field.widget.attrs.setdefault("class", "form-control")


def _searchable_customer(form, user, field_name="customer"):
    """Fill the customer select: searchable, listing only the chosen customer when an autocomplete endpoint exists."""
    url = autocomplete_url(CUSTOMER_AUTOCOMPLETE_PATH)
    customers = visible_customers(user).filter(is_active=True).order_by("code")
    if url:
        selected = as_id(form.data.get(form.add_prefix(field_name)) if form.is_bound else form.initial.get(field_name))
        customers = customers.filter(pk=selected) if selected else customers.none()
    field = form.fields[field_name]
    field.widget.choices = [("", "")] + [(customer.pk, str(customer)) for customer in customers]
    field.widget.attrs.update({"data-tom-select": "", "class": "form-select", "data-placeholder": _("Type a name, code or pinyin initials")})
    if url:
        field.widget.attrs["data-url"] = url


class _CheckedByService:
    """A field shown as required whose empty value still reaches the service.

    The service reports a missing value together with every other problem
    of the form, so the user sees all of them after one submit.
    """

    def validate(self, value):
        if value not in self.empty_values:
            super().validate(value)


class ServiceCheckedCharField(_CheckedByService, forms.CharField):
    pass


class ServiceCheckedRecordField(_CheckedByService, RecordChoiceField):
    pass


class ComplaintFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("All statuses")), ("open", _("Not yet resolved"))] + ComplaintStatus.choices,
    )
    severity = forms.ChoiceField(label=_("Severity"), required=False, choices=[("", _("All"))] + Severity.choices)
    category = forms.ChoiceField(label=_("Category"), required=False, choices=[("", _("All"))] + ComplaintCategory.choices)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    escalated = forms.BooleanField(label=_("Escalated only"), required=False)
    adverse = forms.BooleanField(label=_("Suspected adverse events only"), required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
        self.fields["q"].widget.attrs["placeholder"] = _("Complaint number, customer or text")

    def filters(self):
        """Return the filters for the selector; an invalid value is dropped, so the page still loads."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "status": data.get("status", ""),
            "severity": data.get("severity", ""),
            "category": data.get("category", ""),
            "overdue": bool(data.get("overdue")),
            "escalated": bool(data.get("escalated")),
            "adverse": bool(data.get("adverse")),
            "search": (data.get("q") or "").strip(),
        }


class ComplaintForm(forms.Form):
    """Complaint details; ``customer``, ``received_on`` and ``suspected_adverse_event`` exist only when a complaint is entered."""

    customer = ServiceCheckedRecordField(label=_("Customer"))
    received_on = forms.DateField(
        label=_("Received on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The day the customer reported it; the due date counts from this day."),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=FeedbackChannel.choices)
    category = forms.ChoiceField(label=_("Category"), choices=ComplaintCategory.choices)
    severity = forms.ChoiceField(
        label=_("Severity"), choices=Severity.choices, initial=Severity.MEDIUM,
        help_text=_("Sets the due date by the service level for this severity."),
    )
    contact_name = forms.CharField(
        label=_("Contact"), required=False, max_length=60,
        help_text=_("Leave empty when the customer's main contact reported it."),
    )
    contact_phone = forms.CharField(label=_("Contact phone"), required=False, max_length=30)
    product = RecordChoiceField(label=_("Product"), required=False)
    lot_number = forms.CharField(label=_("Lot number"), required=False, max_length=50)
    description = ServiceCheckedCharField(label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}))
    root_cause = forms.CharField(label=_("Root cause"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    suspected_adverse_event = forms.BooleanField(
        label=_("Suspected adverse event (sent to the quality officer)"), required=False
    )

    def __init__(self, *args, user, complaint=None, **kwargs):
        super().__init__(*args, **kwargs)
        if complaint is not None:
            del self.fields["customer"]
            del self.fields["received_on"]
            del self.fields["suspected_adverse_event"]
        else:
            del self.fields["root_cause"]
            today = local_today()
            self.fields["received_on"].initial = today
            self.fields["received_on"].widget.attrs.update(
                {"max": today.isoformat(), "min": (today - datetime.timedelta(days=settings.COMPLAINT_MAX_BACKDATE_DAYS)).isoformat()}
            )
        _style(self)
        if "customer" in self.fields:
            _searchable_customer(self, user)
        self._set_product_choices()

    def _set_product_choices(self):
        url = autocomplete_url(PRODUCT_AUTOCOMPLETE_PATH)
        products = Product.objects.filter(is_active=True).order_by("sku")
        if url:
            selected = as_id(self.data.get(self.add_prefix("product")) if self.is_bound else self.initial.get("product"))
            products = products.filter(pk=selected) if selected else products.none()
        field = self.fields["product"]
        field.widget.choices = [("", "")] + [(product.pk, f"{product.sku} {product.name}") for product in products]
        field.widget.attrs.update({"data-tom-select": "", "class": "form-select", "data-placeholder": _("Type a product name or SKU")})
        if url:
            field.widget.attrs["data-url"] = url

    def service_fields(self):
        return {name: value for name, value in self.cleaned_data.items()}


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class ResolveForm(forms.Form):
    resolution = ServiceCheckedCharField(label=_("Resolution"), widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}))
    root_cause = ServiceCheckedCharField(label=_("Root cause"), widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))
    note = forms.CharField(label=_("Note"), required=False, widget=forms.TextInput(attrs={"class": "form-control"}))

    def __init__(self, *args, root_cause_required=False, **kwargs):
        super().__init__(*args, **kwargs)
        # Only a quality complaint needs its root cause.
        self.fields["root_cause"].required = root_cause_required


class ReopenForm(forms.Form):
    note = ServiceCheckedCharField(
        label=_("Why is the complaint reopened?"), widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"})
    )


class CloseForm(forms.Form):
    # Text, not a number field: the service names a wrong value in its message.
    satisfaction_score = forms.CharField(
        label=_("Customer satisfaction (1–5)"),
        required=False,
        max_length=10,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    note = forms.CharField(label=_("Note"), required=False, widget=forms.TextInput(attrs={"class": "form-control"}))


class AssessForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Assessment"),
        choices=[(AdverseEventReview.REPORTED, AdverseEventReview.REPORTED.label), (AdverseEventReview.DISMISSED, AdverseEventReview.DISMISSED.label)],
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    note = forms.CharField(label=_("Reasoning"), required=False, widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}))


class ReturnFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All statuses"))] + ReturnStatus.choices)
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("All"))] + ReturnKind.choices)
    q = forms.CharField(label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
        self.fields["q"].widget.attrs["placeholder"] = _("Return number or customer")

    def filters(self):
        self.is_valid()
        data = self.cleaned_data
        return {"status": data.get("status", ""), "kind": data.get("kind", ""), "search": (data.get("q") or "").strip()}


class ReturnCustomerForm(forms.Form):
    """The first step of a return: the customer whose shipments are listed."""

    customer = RecordChoiceField(label=_("Customer"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _searchable_customer(self, user)


class ReturnHeaderForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=ReturnKind.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class CallbackForm(forms.Form):
    # Values of ``reached``: "1" reached; "0" unanswered, call again; "close" unanswered, close as unreachable.
    reached = forms.ChoiceField(
        label=_("Outcome"),
        choices=[("1", _("Customer reached")), ("0", _("No answer, call again")), ("close", _("No answer, close as unreachable"))],
        initial="1",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    retry_on = forms.CharField(
        label=_("Call again on"), required=False, max_length=20,
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )
    score = forms.CharField(
        label=_("Satisfaction score (1–5)"), required=False, max_length=10,
        widget=forms.TextInput(attrs={"class": "form-control", "inputmode": "numeric"}),
    )
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2, "class": "form-control"}))


class NamedDateField(forms.DateField):
    """A date field whose error names the value and the field, so a user sees which of two dates is wrong."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(
                _("“%(value)s” is not a valid date for “%(field)s”; use YYYY-MM-DD."),
                code="invalid",
                params={"value": value, "field": self.label},
            ) from None


class SatisfactionReportForm(forms.Form):
    DIMENSIONS = [
        ("representative", _("Sales representative")),
        ("customer", _("Customer")),
        ("product", _("Product")),
        ("month", _("Month")),
    ]
    dimension = forms.ChoiceField(label=_("Per"), choices=DIMENSIONS, required=False)
    start = NamedDateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = NamedDateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("The period ends on %(end)s, before it starts on %(start)s.") % {"start": start, "end": end})
        return data

    def all_error_messages(self):
        """Return every error of the form as one list of sentences, for a page message or an API 400."""
        return [str(message) for messages in self.errors.values() for message in messages]

    def filters(self):
        """Return the report's filters; call only when ``is_valid()`` is true."""
        data = self.cleaned_data
        return {"dimension": data.get("dimension") or "representative", "start": data.get("start"), "end": data.get("end")}
