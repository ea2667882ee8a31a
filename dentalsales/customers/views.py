import logging
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import SALES_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.models import Region
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.views import add_domain_error, paginate
from dentalsales.sales.selectors import order_list

from . import selectors, services
from .forms import CustomerFilterForm, CustomerForm, QualificationFormSet

logger = logging.getLogger(__name__)

AUTOCOMPLETE_LIMIT = 30
RECENT_ORDER_COUNT = 10
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
    headers = [
        _("Customer code"), _("Name"), _("Customer type"), _("Category"), _("Grade"), _("Region"),
        _("Delivery address"), _("Receiving contact"), _("Contact phone"), _("Unified social credit code"),
        _("Credit limit"), _("Payment terms (days)"), _("Sales representative"), _("Active"),
    ]
    rows = [
        [
            customer.code, customer.name, customer.get_customer_type_display(), customer.get_category_display(),
            customer.get_grade_display() or "", customer.region.full_name if customer.region else "",
            customer.address, customer.contact_name, customer.contact_phone, customer.uscc, customer.credit_limit,
            customer.payment_terms_days, customer.owner.display_name, _("Yes") if customer.is_active else _("No"),
        ]
        for customer in customers
    ]
    # Customer data leaving the system is logged (who and how many rows) for data-protection audits.
    logger.info("Customer list exported by user %s: %s rows", request.user.pk, len(rows))
    return xlsx_response("customers", _("Customers"), headers, rows)


@login_required
def customer_list(request):
    form = CustomerFilterForm(request.GET)
    customers = _filtered_customers(request, form)
    if request.GET.get("export") == "xlsx":
        return _export_customers(request, customers)
    return render(
        request,
        "customers/customer_list.html",
        {"filter_form": form, "page_obj": paginate(request, customers), "can_create": request.user.has_role(*SALES_ROLES)},
    )


@login_required
def customer_detail(request, pk):
    customer = get_object_or_404(selectors.visible_customers(request.user).select_related("owner", "region"), pk=pk)
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "qualifications": customer.qualifications.order_by("kind", "valid_until"),
            "recent_orders": order_list(request.user, customer=customer)[:RECENT_ORDER_COUNT],
            "can_edit": request.user.has_role(*SALES_ROLES),
        },
    )


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


def _customer_form(request, *, customer=None):
    initial_qualifications = (
        [{"kind": q.kind, "number": q.number, "valid_until": q.valid_until} for q in customer.qualifications.all()]
        if customer
        else []
    )
    data = request.POST if request.method == "POST" else None
    form = CustomerForm(data, instance=customer, user=request.user)
    formset = QualificationFormSet(data, initial=initial_qualifications, prefix="qualifications")
    if data is not None and form.is_valid() and formset.is_valid():
        qualification_forms, qualifications = _qualification_rows(formset)
        fields = dict(form.cleaned_data)
        try:
            if customer is None:
                saved = services.create_customer(actor=request.user, qualifications=qualifications, **fields)
                messages.success(request, _("Customer %(code)s created.") % {"code": saved.code})
            else:
                saved = services.update_customer(actor=request.user, customer=customer, qualifications=qualifications, **fields)
                messages.success(request, _("Customer %(code)s saved.") % {"code": saved.code})
        except DomainError as error:
            _add_error(form, qualification_forms, error)
        else:
            return redirect("customers:detail", pk=saved.pk)
    return render(request, "customers/customer_form.html", {"form": form, "formset": formset, "customer": customer})


@role_required(*SALES_ROLES)
def customer_create(request):
    return _customer_form(request)


@role_required(*SALES_ROLES)
def customer_update(request, pk):
    customer = get_object_or_404(selectors.visible_customers(request.user), pk=pk)
    return _customer_form(request, customer=customer)


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
    customers = selectors.search_customers(
        selectors.visible_customers(request.user).filter(is_active=True), request.GET.get("q", "")
    ).order_by("code")[:AUTOCOMPLETE_LIMIT]
    # Tom Select filters the loaded options again in the browser, so it needs every text the server matched.
    results = [
        {"id": customer.pk, "text": str(customer), "search": f"{customer.search_text} {customer.contact_phone}"}
        for customer in customers
    ]
    return JsonResponse({"results": results})
