"""Forms of the finance screens. They parse input; the services check every rule and name the value they reject."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from dentalsales.core.timeutils import local_today
from dentalsales.sales.forms import CUSTOMER_AUTOCOMPLETE_PATH, RecordChoiceField, as_id, autocomplete_url

from .models import DocumentStatus, PaymentMethod
from .selectors import finance_customers


def _style(form):
    for field in form.fields.values():
        if "class" not in field.widget.attrs:
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css


def _customer_choices(form, user):
    """Make ``customer`` a searchable select of the customers ``user`` may see."""
    url = autocomplete_url(CUSTOMER_AUTOCOMPLETE_PATH)
    customers = finance_customers(user).order_by("code")
    if url:
        selected = as_id(form.data.get(form.add_prefix("customer")) if form.is_bound else form.initial.get("customer"))
        customers = customers.filter(pk=selected) if selected else customers.none()
    field = form.fields["customer"]
    field.widget.choices = [("", "")] + [(customer.pk, str(customer)) for customer in customers]
    field.widget.attrs.update({"data-tom-select": "", "class": "form-select", "data-placeholder": _("Type a name, code or pinyin initials")})
    if url:
        field.widget.attrs["data-url"] = url


class ReceivableFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("open", _("Open")),
        ("overdue", _("Overdue")),
        ("settled", _("Settled")),
        ("all", _("All")),
    ]
    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUS_CHOICES)
    owner = forms.ChoiceField(label=_("Sales representative"), required=False)
    province = forms.ChoiceField(label=_("Region"), required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, owners=(), provinces=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", _("All representatives"))] + [(str(user.pk), str(user)) for user in owners]
        self.fields["province"].choices = [("", _("All regions"))] + list(provinces)
        self.fields["q"].widget.attrs["placeholder"] = _("Receivable number or customer")
        _style(self)

    def filters(self):
        """Return the selector's filters; an invalid value is dropped so that the page still loads."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        status = data.get("status") or "open"
        return {
            "status": "" if status == "all" else status,
            "owner": as_id(data.get("owner")),
            "province": data.get("province", ""),
            "search": data.get("q", "").strip(),
        }


class StatementForm(forms.Form):
    date_from = forms.DateField(label=_("Period from"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    date_to = forms.DateField(label=_("Period to"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)

    def period(self):
        """Return ``(from, to)``: by default the last three calendar months up to today."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        today = local_today()
        date_to = data.get("date_to") or today
        date_from = data.get("date_from") or (date_to.replace(day=1) - datetime.timedelta(days=62)).replace(day=1)
        if date_from > date_to:
            date_from, date_to = date_to, date_from
        return date_from, date_to


class PaymentForm(forms.Form):
    ALLOCATION_CHOICES = [("oldest", _("Oldest receivables first")), ("manual", _("By hand"))]

    customer = RecordChoiceField(label=_("Customer"))
    received_on = forms.DateField(label=_("Received on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    method = forms.ChoiceField(label=_("Method"), choices=PaymentMethod.choices)
    amount = forms.CharField(label=_("Amount (yuan)"), widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    reference = forms.CharField(label=_("Reference"), required=False, max_length=100, help_text=_("Bank slip or bill number."))
    note = forms.CharField(label=_("Note"), required=False, max_length=300)
    allocation = forms.ChoiceField(
        label=_("Allocation"), choices=ALLOCATION_CHOICES, initial="oldest", widget=forms.RadioSelect
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("received_on", local_today())
        _style(self)
        self.fields["allocation"].widget.attrs["class"] = "form-check-input"
        _customer_choices(self, user)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.TextInput(attrs={"class": "form-control"}))


class CreditNoteForm(forms.Form):
    customer = RecordChoiceField(label=_("Customer"))
    receivable = forms.CharField(
        label=_("Receivable number"),
        required=False,
        help_text=_("Leave blank to reduce the oldest open receivables first."),
    )
    amount = forms.CharField(label=_("Amount (yuan)"), widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    reason = forms.CharField(label=_("Reason"), max_length=300)
    source_reference = forms.CharField(label=_("Source document"), required=False, max_length=60)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
        _customer_choices(self, user)


class CreditNoteFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All statuses"))] + DocumentStatus.choices)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)


class CreditReleaseForm(forms.Form):
    customer = RecordChoiceField(label=_("Customer"))
    valid_until = forms.DateField(
        label=_("Valid until"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), help_text=_("At most 90 days from today.")
    )
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
        _customer_choices(self, user)
