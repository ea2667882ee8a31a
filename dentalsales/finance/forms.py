"""Forms of the finance screens. They parse input; the services check every rule and name the value they reject."""

import datetime
import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from dentalsales.core.timeutils import local_today
from dentalsales.sales.forms import CUSTOMER_AUTOCOMPLETE_PATH, RecordChoiceField, as_id, autocomplete_url

from dentalsales.core.money import format_money

from . import selectors
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
    # Generated when the form is shown. A second post of the same form (a
    # double click, a browser resubmit) returns the payment the first post
    # recorded instead of recording another.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=100)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("token", uuid.uuid4().hex)
        self.initial.setdefault("received_on", local_today())
        _style(self)
        self.fields["allocation"].widget.attrs.update({"class": "form-check-input", "data-allocation-mode": ""})
        _customer_choices(self, user)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300, widget=forms.TextInput(attrs={"class": "form-control"}))


class CreditNoteForm(forms.Form):
    customer = RecordChoiceField(label=_("Customer"))
    receivable = forms.CharField(
        label=_("Receivable"),
        required=False,
        help_text=_("The customer's receivables that can still be credited. Leave blank to reduce the oldest open receivables first."),
        widget=forms.Select,
    )
    amount = forms.CharField(label=_("Amount (yuan)"), widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    reason = forms.CharField(label=_("Reason"), max_length=300)
    source_reference = forms.CharField(label=_("Source document"), required=False, max_length=60)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        _style(self)
        _customer_choices(self, user)
        customer_id = as_id(self.data.get(self.add_prefix("customer")) if self.is_bound else self.initial.get("customer"))
        self.receivables = selectors.creditable_receivables(user, customer_id) if customer_id else []
        field = self.fields["receivable"]
        field.widget.choices = [("", _("Oldest open receivables first") if customer_id else _("Choose the customer first"))] + [
            (
                str(receivable.pk),
                _("%(number)s · %(date)s · invoiced %(amount)s · open %(open)s · creditable %(creditable)s")
                % {
                    "number": receivable.number,
                    "date": receivable.invoiced_on.isoformat(),
                    "amount": format_money(receivable.amount),
                    "open": format_money(receivable.open_amount),
                    "creditable": format_money(receivable.creditable),
                },
            )
            for receivable in self.receivables
        ]
        field.widget.attrs.update({"data-tom-select": "", "class": "form-select", "data-placeholder": _("Type a receivable number")})

    def clean_receivable(self):
        """Return the chosen receivable of the customer, by id or by number in any letter case, or None."""
        value = (self.cleaned_data.get("receivable") or "").strip()
        if not value:
            return None
        customer_id = as_id(self.data.get(self.add_prefix("customer")))
        queryset = selectors.visible_receivables(self.user).filter(customer_id=customer_id)
        receivable = queryset.filter(pk=as_id(value)).first() if as_id(value) else None
        receivable = receivable or queryset.filter(number__iexact=value).first()
        if receivable is None:
            raise forms.ValidationError(
                _("“%(value)s” is not a receivable of the chosen customer.") % {"value": value}
            )
        return receivable


class CreditNoteFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[("", _("All statuses"))] + DocumentStatus.choices)
    q = forms.CharField(label=_("Search"), required=False, max_length=100, widget=forms.TextInput(attrs={"type": "search"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
        self.fields["q"].widget.attrs["placeholder"] = _("Credit note, receivable or source document number, or customer")


class CreditReleaseForm(forms.Form):
    customer = RecordChoiceField(label=_("Customer"))
    valid_until = forms.DateField(
        label=_("Valid until"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("At most 90 days from today."),
        error_messages={"required": _("Enter the last day of the release in “Valid until”."), "invalid": _("Enter “Valid until” as a date, such as 2026-12-31.")},
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=300,
        error_messages={"required": _("Give the reason for the credit release, such as the customer's payment promise.")},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
        _customer_choices(self, user)


class OpeningBalanceForm(forms.Form):
    customer = RecordChoiceField(label=_("Customer"))
    amount = forms.CharField(label=_("Open amount (yuan)"), widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    reference = forms.CharField(
        label=_("Invoice or reference"),
        max_length=60,
        help_text=_("The invoice or voucher number in the earlier system; each may be entered once per customer."),
    )
    invoiced_on = forms.DateField(label=_("Invoice date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    due_on = forms.DateField(
        label=_("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave blank for the invoice date plus the customer's payment terms."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self)
        _customer_choices(self, user)


class OpeningBalanceUploadForm(forms.Form):
    file = forms.FileField(label=_("File (.xlsx or .csv)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs.update({"class": "form-control", "accept": ".xlsx,.csv"})
