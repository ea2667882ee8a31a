import uuid
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from dentalsales.accounts.selectors import assignable_owners
from dentalsales.catalog.forms import RemoteSelect
from dentalsales.core.money import format_money

from .models import (
    Customer,
    CustomerCategory,
    CustomerGrade,
    CustomerType,
    QualificationKind,
)
from .services import CREDIT_FIELDS, CUSTOMER_FIELDS


def _style(fields):
    for field in fields.values():
        if isinstance(field.widget, forms.RadioSelect):
            # Includes CheckboxSelectMultiple; the form template styles each option.
            continue
        if isinstance(field.widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(field.widget, forms.Select):
            css = "form-select"
        else:
            css = "form-control"
        field.widget.attrs.setdefault("class", css)


class CustomerFilterForm(forms.Form):
    """Search box and filters of the customer list, all optional."""

    q = forms.CharField(label=_("Search"), required=False)
    type = forms.ChoiceField(label=_("Customer type"), choices=[("", _("All types"))] + CustomerType.choices, required=False)
    category = forms.ChoiceField(label=_("Category"), choices=[("", _("All categories"))] + CustomerCategory.choices, required=False)
    grade = forms.ChoiceField(label=_("Grade"), choices=[("", _("All grades"))] + CustomerGrade.choices, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)
        self.fields["q"].widget.attrs["placeholder"] = _("Code, name, pinyin, credit code or phone")


# Set on creation only; afterwards through ``grading.set_grade`` with a reason.
GRADE_FIELDS = ("category", "grade")

# One fen more than the largest credit limit the DecimalField(14, 2) column holds.
CREDIT_LIMIT_CEILING = Decimal(10**12)


class CustomerForm(forms.ModelForm):
    """Input of a customer, validated here and saved by ``customers.services``.

    The code may be left empty on creation, and the service then numbers
    the customer. The code cannot change afterwards. Without
    ``credit_terms_editable`` the form has no credit limit and payment
    terms, so the service receives no change to them. Category and grade
    are set here only on creation; afterwards they change on the grade
    screen, which asks for the reason and keeps it in the change log.
    """

    # Room for spaces typed between groups of characters: the service
    # normalises the code and names a malformed one in its message.
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=40, required=False)
    # Text, so that a wrong value can be named in the message.
    credit_limit = forms.CharField(label=_("Credit limit"), max_length=30, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    payment_terms_days = forms.CharField(
        label=_("Payment terms (days)"), max_length=10, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    allow_duplicate_name = forms.BooleanField(
        label=_("Create even if another customer has the same name"),
        required=False,
        help_text=_("Tick only after checking that the customer named in the message is a different one."),
    )
    # One-time token: a second submit of the same form creates no second customer.
    token = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)

    class Meta:
        model = Customer
        fields = ("code", "owner", *CUSTOMER_FIELDS)
        widgets = {"address": forms.TextInput()}

    def __init__(self, *args, user, credit_terms_editable=True, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            for name in ("code", *GRADE_FIELDS, "allow_duplicate_name", "token"):
                del self.fields[name]
        else:
            self.initial.setdefault("token", uuid.uuid4().hex)
            self.fields["grade"].help_text = _("Required for key and general customers.")
            self.fields["code"].required = False
            self.fields["code"].help_text = _("Leave empty to number the customer automatically.")
        if not credit_terms_editable:
            for name in CREDIT_FIELDS:
                del self.fields[name]
        owners = Q(pk__in=assignable_owners(user).values("pk"))
        if editing:
            # The current owner stays selectable even when outside the user's team.
            owners |= Q(pk=self.instance.owner_id)
        self.fields["owner"].queryset = get_user_model().objects.filter(owners).order_by("username")
        self.fields["owner"].label_from_instance = lambda owner: owner.display_name
        if not editing:
            self.initial.setdefault("owner", user.pk)
        self.fields["region"].widget = RemoteSelect(reverse_lazy("customers:regions"))
        self.fields["region"].widget.choices = self.fields["region"].choices
        self.fields["uscc_override_reason"].help_text = _(
            "Only needed when the code's check character is wrong, as with some early codes."
        )
        _style(self.fields)

    def clean_credit_limit(self):
        text = self.cleaned_data["credit_limit"]
        try:
            value = Decimal(text.replace(",", ""))
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite() or value < 0:
            raise forms.ValidationError(_("Credit limit must be 0 or more, not “%(value)s”."), params={"value": text})
        if value.as_tuple().exponent < -2:
            raise forms.ValidationError(
                _("Credit limit has at most 2 decimal places, not “%(value)s”."), params={"value": text}
            )
        if value >= CREDIT_LIMIT_CEILING:
            raise forms.ValidationError(
                _("Credit limit must be less than %(max)s, not “%(value)s”."),
                params={"value": text, "max": format_money(CREDIT_LIMIT_CEILING)},
            )
        return value

    def clean_payment_terms_days(self):
        text = self.cleaned_data["payment_terms_days"]
        if not (text.isascii() and text.isdecimal()):
            raise forms.ValidationError(
                _("Payment terms must be a whole number of days, 0 or more, not “%(value)s”."), params={"value": text}
            )
        return int(text)

    def _get_validation_exclusions(self):
        # The service normalises and checks the credit code with a message
        # that names the value; the model's length check would pre-empt it.
        return {*super()._get_validation_exclusions(), "uscc"}


class QualificationForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=[("", "---------")] + QualificationKind.choices)
    number = forms.CharField(label=_("Number"), max_length=100)
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)


QualificationFormSet = forms.formset_factory(QualificationForm, extra=1, can_delete=True)


class CreditTermsForm(forms.Form):
    """The credit limit and payment terms alone, for finance."""

    credit_limit = forms.CharField(label=_("Credit limit"), max_length=30, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    payment_terms_days = forms.CharField(label=_("Payment terms (days)"), max_length=10)

    clean_credit_limit = CustomerForm.clean_credit_limit
    clean_payment_terms_days = CustomerForm.clean_payment_terms_days

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)
