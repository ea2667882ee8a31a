from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from dentalsales.accounts.selectors import assignable_owners
from dentalsales.catalog.forms import RemoteSelect

from .models import Customer, CustomerCategory, CustomerGrade, CustomerType, QualificationKind
from .services import CUSTOMER_FIELDS


def _style(fields):
    for field in fields.values():
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


class CustomerForm(forms.ModelForm):
    """Input of a customer, validated here and saved by ``customers.services``.

    The code may be left empty on creation, and the service then numbers
    the customer. The code cannot change afterwards.
    """

    # Room for spaces typed between groups of characters: the service
    # normalises the code and names a malformed one in its message.
    uscc = forms.CharField(label=_("Unified social credit code"), max_length=40, required=False)

    class Meta:
        model = Customer
        fields = ("code", "owner", *CUSTOMER_FIELDS)
        widgets = {"address": forms.TextInput()}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        editing = self.instance.pk is not None
        if editing:
            del self.fields["code"]
        else:
            self.fields["code"].required = False
            self.fields["code"].help_text = _("Leave empty to number the customer automatically.")
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
