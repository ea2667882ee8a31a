"""Forms of the customer profile: contacts, addresses, business information, documents, grade, verification."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dentalsales.catalog.models import Category, DeviceClass
from dentalsales.core.models import Region

from .forms import _style
from .models import (
    BusinessProfile,
    Contact,
    CustomerCategory,
    CustomerGrade,
    DecisionRole,
    DocumentKind,
    GradingSettings,
    QualificationKind,
)


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = ["name", "title", "department", "mobile", "phone", "email", "wechat", "birthday", "decision_role", "is_primary", "note"]
        widgets = {"birthday": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The service validates and normalises the mobile number (it accepts +86 and spaces).
        self.fields["mobile"].validators = []
        self.fields["mobile"].max_length = 20
        self.fields["mobile"].widget.attrs["maxlength"] = 20
        self.fields["decision_role"].choices = DecisionRole.choices
        # The service checks the name and the e-mail and names the value; the
        # form's own checks would only add a second, generic message.
        self.fields["name"].required = False
        self.fields["email"] = forms.CharField(label=self.fields["email"].label, max_length=254, required=False)
        _style(self.fields)

    def _post_clean(self):
        # The service validates the whole contact (clean_contact_data), so
        # the model's own validation would only repeat its messages.
        pass


class AddressForm(forms.Form):
    """A delivery address; the district is chosen through province and city selects that load their children."""

    label = forms.CharField(label=_("Label"), max_length=50, required=False)
    province = forms.ModelChoiceField(
        label=pgettext_lazy("address", "Province"), queryset=Region.objects.filter(level=Region.Level.PROVINCE), required=False
    )
    city = forms.ModelChoiceField(label=pgettext_lazy("address", "City"), queryset=Region.objects.filter(level=Region.Level.CITY), required=False)
    region = forms.ModelChoiceField(
        label=pgettext_lazy("address", "District or county"), queryset=Region.objects.all(),
        error_messages={"required": _("The district is missing."), "invalid_choice": _("Choose a district or county from the list.")},
    )
    detail = forms.CharField(label=_("Street address"), max_length=200, error_messages={"required": _("The street address is missing.")})
    postcode = forms.CharField(label=_("Postcode"), max_length=6, required=False)
    recipient = forms.CharField(label=pgettext_lazy("address", "Recipient"), max_length=50, error_messages={"required": _("The recipient is missing.")})
    recipient_phone = forms.CharField(
        label=pgettext_lazy("address", "Recipient phone"), max_length=30, error_messages={"required": _("The recipient's phone is missing.")}
    )
    is_default = forms.BooleanField(label=_("Default address"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the chosen parents' children are rendered; the script loads the rest.
        province = self._chosen("province")
        city = self._chosen("city")
        region = self._chosen("region")
        if region is not None and city is None:
            city = region.parent if region.level == Region.Level.DISTRICT else region
        if city is not None and province is None:
            province = city.parent
        self.initial.setdefault("province", province.pk if province else None)
        self.initial.setdefault("city", city.pk if city else None)
        self.fields["city"].queryset = Region.objects.filter(parent=province) if province else Region.objects.none()
        districts = Region.objects.filter(parent=city) if city else Region.objects.none()
        if city is not None and not city.children.exists():
            districts = Region.objects.filter(pk=city.pk)
        self.fields["region"].queryset = districts
        self.fields["region"].choices = [("", "---------")] + [(item.pk, item.name) for item in districts]
        self.fields["city"].choices = [("", "---------")] + [(item.pk, item.name) for item in self.fields["city"].queryset]
        self.fields["province"].choices = [("", "---------")] + [(item.pk, item.name) for item in self.fields["province"].queryset]
        self.fields["region"].queryset = Region.objects.all()
        _style(self.fields)

    def _chosen(self, name):
        value = self.data.get(self.add_prefix(name)) if self.is_bound else self.initial.get(name)
        if isinstance(value, Region):
            return value
        if value in (None, ""):
            return None
        return Region.objects.filter(pk=value).first() if str(value).isdigit() else None


class BusinessProfileForm(forms.ModelForm):
    class Meta:
        model = BusinessProfile
        fields = ["chairs", "doctors", "specialities", "annual_consumables_spend", "current_suppliers", "purchasing_habits", "preferences"]
        widgets = {"purchasing_habits": forms.Textarea(attrs={"rows": 3}), "preferences": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["annual_consumables_spend"].error_messages["max_decimal_places"] = _(
            "“%(value)s” has more than %(max)s decimal places."
        )
        _style(self.fields)


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=DocumentKind.choices)
    title = forms.CharField(label=_("Title"), max_length=100, required=False)
    # Empty files pass the form so that the service refuses them naming the file.
    file = forms.FileField(
        label=_("File"), help_text=_("PDF, JPEG or PNG, at most 10 MB."), allow_empty_file=True,
        error_messages={"required": _("Choose the file to upload.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)


class QualificationAddForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=QualificationKind.choices)
    number = forms.CharField(label=_("Number"), max_length=100)
    issuing_authority = forms.CharField(label=_("Issuing authority"), max_length=100, required=False)
    valid_until = forms.DateField(
        label=_("Valid until"), required=False, widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Leave empty for a licence without an end date."),
    )
    device_classes = forms.MultipleChoiceField(
        label=_("Device classes covered"), choices=DeviceClass.choices, required=False,
        widget=forms.CheckboxSelectMultiple, help_text=_("None ticked means no limit."),
    )
    categories = forms.ModelMultipleChoiceField(
        label=_("Categories covered"), queryset=Category.objects.all(), required=False,
        help_text=_("None chosen means no limit."),
    )
    covers_drugs = forms.BooleanField(label=_("Covers drugs"), required=False, help_text=_("Needed for dental anaesthetic cartridges."))
    scan = forms.FileField(label=_("Scan"), required=False, help_text=_("PDF, JPEG or PNG, at most 10 MB."), allow_empty_file=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)
        self.fields["categories"].widget.attrs["data-tom-select"] = "1"


class VerificationForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Decision"), choices=[("approve", _("Verify")), ("reject", _("Reject"))], widget=forms.RadioSelect
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False, help_text=_("Required when rejecting."))


class GradeForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=CustomerCategory.choices)
    grade = forms.ChoiceField(label=_("Grade"), choices=[("", "—")] + CustomerGrade.choices, required=False)
    reason = forms.CharField(
        label=_("Reason"), max_length=300, error_messages={"required": _("Say why the category or grade changes.")}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)


class GradingSettingsForm(forms.ModelForm):
    class Meta:
        model = GradingSettings
        fields = ["grade_a_share", "grade_b_share", "months"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)


class MergeForm(forms.Form):
    kept = forms.IntegerField(widget=forms.HiddenInput)
    duplicate = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason"), max_length=300, error_messages={"required": _("Say why these customers are duplicates.")}
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _style(self.fields)
