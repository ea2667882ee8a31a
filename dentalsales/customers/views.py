import logging
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Q, Subquery
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dentalsales.accounts.roles import SALES_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.models import Region
from dentalsales.core.views import add_domain_error, paginate
from dentalsales.sales.selectors import attach_line_counts, order_list

from . import exporting, importing, selectors, services
from .forms import (
    CreditTermsForm,
    CustomerFilterForm,
    CustomerForm,
    QualificationFormSet,
)
from .grading import GRADE_ROLES
from .models import BusinessProfile, Customer, Qualification

logger = logging.getLogger(__name__)

AUTOCOMPLETE_LIMIT = 30
RECENT_ORDER_COUNT = 10
HISTORY_ENTRY_COUNT = 20
GRADE_CHANGE_COUNT = 10
HISTORY_KINDS = {
    "+": gettext_lazy("Created"),
    "~": gettext_lazy("Changed"),
    "-": gettext_lazy("Deleted"),
    "merge": gettext_lazy("Merged"),
}
# The service names a qualification's error "qualifications[<index>].<field>".
QUALIFICATION_ERROR_KEY = re.compile(r"^qualifications\[(\d+)\]\.(\w+)$")


def _filtered_customers(request, form):
    data = form.cleaned_data if form.is_valid() else {}
    return selectors.customer_list(
        request.user,
        search=data.get("q", ""),
        customer_type=data.get("type", ""),
        category=data.get("category", ""),
        grade=data.get("grade", ""),
    )


def _export_customers(request, customers):
    # The export module leaves out personal data without the export permission and logs the export.
    return exporting.export_customers(request.user, customers, request.GET)


@login_required
def customer_list(request):
    form = CustomerFilterForm(request.GET)
    customers = _filtered_customers(request, form)
    if request.GET.get("export") == "xlsx":
        return _export_customers(request, customers)
    return render(
        request,
        "customers/customer_list.html",
        {
            "filter_form": form,
            "page_obj": paginate(request, customers),
            "can_create": request.user.has_role(*SALES_ROLES),
            "import_kinds": importing.importable_kinds(request.user),
        },
    )


@login_required
def customer_detail(request, pk):
    customer = selectors.customer_detail(request.user, pk)
    if customer is None:
        raise Http404
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "qualifications": customer.qualifications.prefetch_related("categories").order_by("kind", "valid_until"),
            **_profile_context(request.user, customer),
            "recent_orders": attach_line_counts(order_list(request.user, customer=customer)[:RECENT_ORDER_COUNT]),
            "history": _history_entries(customer),
            "history_limit": HISTORY_ENTRY_COUNT,
            "can_edit": request.user.has_role(*SALES_ROLES),
            "can_edit_qualifications": request.user.has_role(*services.QUALIFICATION_ROLES),
            "can_edit_credit_terms": request.user.has_role(*services.CREDIT_ROLES),
        },
    )


def _profile_context(user, customer):
    can_see_contacts = selectors.can_see_contacts(user, customer)
    return {
        "can_see_contacts": can_see_contacts,
        "contacts": customer.contacts.all() if can_see_contacts else [],
        "addresses": customer.addresses.select_related("region"),
        "documents": customer.documents.select_related("uploaded_by"),
        "business_profile": _business_profile(customer),
        "grade_changes": customer.grade_changes.select_related("changed_by")[:GRADE_CHANGE_COUNT],
        "can_change_grade": user.has_role(*GRADE_ROLES),
        "can_upload": user.has_role(*services.DOCUMENT_ROLES),
    }


def _business_profile(customer):
    try:
        return customer.business_profile
    except BusinessProfile.DoesNotExist:
        return None


def _latest_history(records, count):
    """Return the latest ``count`` historical records, each with ``previous`` set for a change ("~").

    Two queries whatever the length of the history: the records with the
    id of the record before each, then those earlier records.
    """
    model = records.model
    earlier = (
        model.objects.filter(id=OuterRef("id"))
        .filter(
            Q(history_date__lt=OuterRef("history_date"))
            | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
        )
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )
    latest = list(
        records.select_related("history_user")
        .annotate(previous_history_id=Subquery(earlier))
        .order_by("-history_date", "-history_id")[:count]
    )
    previous_ids = [record.previous_history_id for record in latest if record.history_type == "~" and record.previous_history_id]
    previous = model.objects.in_bulk(previous_ids) if previous_ids else {}
    for record in latest:
        record.previous = previous.get(record.previous_history_id)
    return latest


def _history_entry(record, model, subject):
    fields = []
    if record.previous is not None:
        delta = record.diff_against(record.previous)
        fields = [capfirst(model._meta.get_field(name).verbose_name) for name in delta.changed_fields]
    return {
        "time": record.history_date,
        "user": record.history_user,
        "kind": record.history_type,
        "kind_label": HISTORY_KINDS.get(record.history_type, record.history_type),
        "subject": subject,
        "fields": fields,
    }


def _history_entries(customer):
    """Return the latest changes of the customer and of its qualifications, newest first."""
    entries = [
        _history_entry(record, Customer, capfirst(Customer._meta.verbose_name))
        for record in _latest_history(customer.history.all(), HISTORY_ENTRY_COUNT)
    ]
    entries += [
        _history_entry(
            record,
            Qualification,
            _("Qualification: %(kind)s %(number)s") % {"kind": record.get_kind_display(), "number": record.number},
        )
        for record in _latest_history(Qualification.history.filter(customer_id=customer.pk), HISTORY_ENTRY_COUNT)
    ]
    entries += [
        {
            "time": merge.merged_at,
            "user": merge.merged_by,
            "kind": "merge",
            "kind_label": HISTORY_KINDS["merge"],
            "subject": _("Customer %(code)s %(name)s merged into this customer") % {"code": merge.merged_code, "name": merge.merged_name},
            "fields": [_("Reason: %(reason)s") % {"reason": merge.reason}],
        }
        for merge in customer.merges_received.select_related("merged_by")[:HISTORY_ENTRY_COUNT]
    ]
    entries.sort(key=lambda entry: entry["time"], reverse=True)
    return entries[:HISTORY_ENTRY_COUNT]


def _qualification_rows(formset):
    """Return the filled-in, not deleted qualification forms and their values, in the same order."""
    forms, rows = [], []
    for form in formset.forms:
        if not form.has_changed() and not form.initial:
            continue
        if form.cleaned_data.get("DELETE"):
            continue
        forms.append(form)
        rows.append({name: form.cleaned_data.get(name) for name in ("kind", "number", "valid_until")})
    return forms, rows


def _add_error(form, qualification_forms, error):
    """Place a service error beside its field, in the customer form or in the qualification row it names."""
    field_errors = getattr(error, "field_errors", None) or {}
    if not field_errors:
        add_domain_error(form, error)
        return
    for key, texts in field_errors.items():
        match = QUALIFICATION_ERROR_KEY.match(key)
        if match and int(match.group(1)) < len(qualification_forms):
            target_form = qualification_forms[int(match.group(1))]
            name = match.group(2)
        else:
            target_form, name = form, key
        for text in texts:
            target_form.add_error(name if name in target_form.fields else None, text)


def _initial_qualifications(customer):
    if customer is None:
        return []
    return [{"kind": q.kind, "number": q.number, "valid_until": q.valid_until} for q in customer.qualifications.all()]


def _customer_form(request, *, customer=None):
    # Fields the user may not change are shown as text and left out of the
    # form, so the service receives no change to them.
    credit_terms_editable = request.user.has_role(*services.CREDIT_ROLES)
    qualifications_editable = customer is None or request.user.has_role(*services.QUALIFICATION_ROLES)
    data = request.POST if request.method == "POST" else None
    form = CustomerForm(data, instance=customer, user=request.user, credit_terms_editable=credit_terms_editable)
    formset = (
        QualificationFormSet(data, initial=_initial_qualifications(customer), prefix="qualifications")
        if qualifications_editable
        else None
    )
    if data is not None and form.is_valid() and (formset is None or formset.is_valid()):
        qualification_forms, qualifications = _qualification_rows(formset) if formset is not None else ([], None)
        fields = dict(form.cleaned_data)
        try:
            if customer is None:
                saved = services.create_customer(
                    actor=request.user, qualifications=qualifications, creation_token=fields.pop("token", ""), **fields
                )
                if getattr(saved, "replayed", False):
                    messages.info(request, _("This form was already sent; customer %(code)s was created then.") % {"code": saved.code})
                else:
                    messages.success(request, _("Customer %(code)s created.") % {"code": saved.code})
            else:
                saved = services.update_customer(actor=request.user, customer=customer, qualifications=qualifications, **fields)
                messages.success(request, _("Customer %(code)s saved.") % {"code": saved.code})
        except DomainError as error:
            _add_error(form, qualification_forms, error)
        else:
            return redirect("customers:detail", pk=saved.pk)
    current = customer or Customer()
    context = {
        "form": form,
        "formset": formset,
        "customer": customer,
        "credit_terms": None if credit_terms_editable else {
            "credit_limit": current.credit_limit,
            "payment_terms_days": current.payment_terms_days,
        },
        "qualifications": None if qualifications_editable else customer.qualifications.prefetch_related("categories").order_by("kind", "valid_until"),
        "can_change_grade": customer is not None and request.user.has_role(*GRADE_ROLES),
    }
    return render(request, "customers/customer_form.html", context)


@role_required(*SALES_ROLES)
def customer_create(request):
    return _customer_form(request)


@role_required(*SALES_ROLES, *services.QUALIFICATION_ROLES)
def customer_update(request, pk):
    customer = get_object_or_404(selectors.visible_customers(request.user), pk=pk)
    if not request.user.has_role(*SALES_ROLES):
        # The quality officer maintains only the qualifications.
        return redirect("customers:qualifications", pk=customer.pk)
    return _customer_form(request, customer=customer)


@role_required(*services.CREDIT_ROLES)
def customer_credit_terms(request, pk):
    """Change a customer's credit limit and payment terms: finance's screen, also open to supervisors and managers."""
    customer = get_object_or_404(selectors.visible_customers(request.user), pk=pk)
    initial = {"credit_limit": customer.credit_limit, "payment_terms_days": customer.payment_terms_days}
    form = CreditTermsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_customer(actor=request.user, customer=customer, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Credit terms of customer %(code)s saved.") % {"code": customer.code})
            return redirect("customers:detail", pk=customer.pk)
    return render(request, "customers/customer_credit_terms.html", {"customer": customer, "form": form})


@role_required(*services.QUALIFICATION_ROLES)
def customer_qualifications(request, pk):
    """Replace a customer's qualifications. This is the quality officer's screen, also open to managers and administrators."""
    customer = get_object_or_404(selectors.visible_customers(request.user), pk=pk)
    data = request.POST if request.method == "POST" else None
    formset = QualificationFormSet(data, initial=_initial_qualifications(customer), prefix="qualifications")
    errors = []
    if data is not None and formset.is_valid():
        qualification_forms, qualifications = _qualification_rows(formset)
        try:
            services.replace_qualifications(actor=request.user, customer=customer, qualifications=qualifications)
        except DomainError as error:
            errors = _add_qualification_errors(qualification_forms, error)
        else:
            messages.success(request, _("Qualifications of customer %(code)s saved.") % {"code": customer.code})
            return redirect("customers:detail", pk=customer.pk)
    return render(
        request, "customers/customer_qualifications.html", {"customer": customer, "formset": formset, "errors": errors}
    )


def _add_qualification_errors(qualification_forms, error):
    """Place a service error in the qualification row it names, and return the messages that name no row."""
    field_errors = getattr(error, "field_errors", None) or {}
    if not field_errors:
        return [str(error)]
    unplaced = []
    for key, texts in field_errors.items():
        match = QUALIFICATION_ERROR_KEY.match(key)
        if match and int(match.group(1)) < len(qualification_forms):
            target_form, name = qualification_forms[int(match.group(1))], match.group(2)
            for text in texts:
                target_form.add_error(name if name in target_form.fields else None, text)
        else:
            unplaced.extend(texts)
    return unplaced


@login_required
def region_search(request):
    """Return the regions whose name or full name contains ``q``, for the region chooser."""
    text = request.GET.get("q", "").strip()
    regions = Region.objects.all()
    if text:
        regions = regions.filter(Q(name__icontains=text) | Q(full_name__icontains=text))
    results = [{"id": region.pk, "text": region.full_name} for region in regions.order_by("code")[:AUTOCOMPLETE_LIMIT]]
    return JsonResponse({"results": results})


@login_required
def customer_autocomplete(request):
    """Return the active customers the user may see that match ``q`` by code, name, pinyin, credit code or phone."""
    query = request.GET.get("q", "").strip()
    customers = selectors.search_customers(
        selectors.visible_customers(request.user).filter(is_active=True), query, request.user
    ).order_by("code")[:AUTOCOMPLETE_LIMIT]
    # Tom Select filters the loaded options again in the browser, so it needs every text the server matched.
    results = [
        {"id": customer.pk, "text": str(customer), "search": f"{customer.search_text} {customer.contact_phone} {query}"}
        for customer in customers
    ]
    return JsonResponse({"results": results})
