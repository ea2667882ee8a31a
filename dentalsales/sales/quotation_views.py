"""Web screens of quotations: list, entry, detail, print view and one POST view per action."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dentalsales.accounts.roles import SALES_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.money import amount_in_chinese_capitals
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.views import paginate, report_domain_error

from . import contracts, quotations
from .review import price_approvals
from .forms import ReasonForm, as_id, initial_lines, line_formset
from .quotation_forms import QuotationFilterForm, QuotationForm, SendForm
from .views import _show_order_errors, price_text

logger = logging.getLogger(__name__)


def _visible_quotation(request, pk):
    """Return the quotation if the user may see it, else raise Http404."""
    return get_object_or_404(
        quotations.visible_quotations(request.user).select_related("customer", "owner", "order", "contract"), pk=pk
    )


@login_required
def quotation_list(request):
    filter_form = QuotationFilterForm(request.GET)
    rows = quotations.quotation_list(request.user, **filter_form.filters())
    if request.GET.get("export") == "xlsx":
        return _export(request, rows)
    context = {
        "filter_form": filter_form,
        "page_obj": paginate(request, rows),
        "can_create": request.user.has_role(*SALES_ROLES),
    }
    template = "sales/_quotation_results.html" if request.htmx else "sales/quotation_list.html"
    return render(request, template, context)


def _export(request, rows):
    headers = [
        _("Quotation number"),
        _("Quotation date"),
        _("Valid until"),
        _("Customer code"),
        _("Customer"),
        _("Sales representative"),
        _("Status"),
        _("Total amount"),
        _("Tax amount"),
    ]
    data = [
        [
            quotation.number,
            quotation.quotation_date,
            quotation.valid_until,
            quotation.customer.code,
            quotation.customer.name,
            quotation.owner.display_name,
            quotation.get_status_display(),
            quotation.total_amount,
            quotation.tax_amount,
        ]
        for quotation in rows
    ]
    logger.info("Quotation list exported by user %s: %s rows", request.user.pk, len(data))
    return xlsx_response("quotations", _("Quotations"), headers, data)


@role_required(*SALES_ROLES)
def quotation_create(request):
    if request.method == "POST":
        form = QuotationForm(request.POST, user=request.user)
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            try:
                quotation = quotations.create_quotation(
                    actor=request.user,
                    customer=form.cleaned_data["customer"],
                    lines=formset.lines(),
                    **form.header_fields(),
                )
            except DomainError as error:
                logger.warning("Quotation entry failed for user %s: %s", request.user.pk, error.code)
                _show_order_errors(form, formset.filled_forms(), error)
            else:
                messages.success(request, _("Quotation %(number)s was saved as a draft.") % {"number": quotation.number})
                return redirect("sales:quotation_detail", pk=quotation.pk)
    else:
        form = QuotationForm(initial={"customer": as_id(request.GET.get("customer"))}, user=request.user)
        formset = line_formset(extra=3)
    return render(request, "sales/quotation_form.html", {"form": form, "formset": formset, "quotation": None})


@role_required(*SALES_ROLES)
def quotation_edit(request, pk):
    quotation = _visible_quotation(request, pk)
    if "edit" not in quotations.allowed_actions(quotation, request.user):
        messages.error(
            request,
            _("Quotation %(number)s is %(status)s; only a draft quotation can be changed.")
            % {"number": quotation.number, "status": quotation.get_status_display()},
        )
        return redirect("sales:quotation_detail", pk=quotation.pk)
    if request.method == "POST":
        form = QuotationForm(request.POST, user=request.user, order=quotation)
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            try:
                quotations.update_quotation(
                    actor=request.user, quotation=quotation, lines=formset.lines(), **form.header_fields()
                )
            except DomainError as error:
                logger.warning("Quotation %s: edit failed for user %s: %s", quotation.pk, request.user.pk, error.code)
                _show_order_errors(form, formset.filled_forms(), error)
            else:
                messages.success(request, _("Quotation %(number)s was saved.") % {"number": quotation.number})
                return redirect("sales:quotation_detail", pk=quotation.pk)
    else:
        form = QuotationForm(
            initial={
                name: getattr(quotation, name)
                for name in ("contact_name", "valid_until", "payment_terms", "delivery_terms", "note")
            },
            user=request.user,
            order=quotation,
        )
        formset = line_formset(initial=initial_lines(quotation))
    return render(request, "sales/quotation_form.html", {"form": form, "formset": formset, "quotation": quotation})


def _document_context(quotation):
    lines = list(quotation.lines.select_related("product"))
    for line in lines:
        line.unit_price_text = price_text(line.unit_price)
    return {
        "quotation": quotation,
        "lines": lines,
        "total_in_capitals": amount_in_chinese_capitals(quotation.total_amount),
        "company_name": settings.COMPANY_NAME,
        "company_address": settings.COMPANY_ADDRESS,
        "company_phone": settings.COMPANY_PHONE,
    }


@login_required
def quotation_detail(request, pk):
    quotation = _visible_quotation(request, pk)
    context = _document_context(quotation)
    # The same discount-authority rule as order review, shown before the price is promised to the customer.
    approvals = {line.pk: level for line, level in price_approvals(quotation, context["lines"])}
    for line in context["lines"]:
        line.approval = approvals.get(line.pk)
    context.update(
        {
            "actions": quotations.allowed_actions(quotation, request.user),
            "needs_approval": bool(approvals),
            "send_form": SendForm(prefix="send"),
            "lose_form": ReasonForm(prefix="lose", required=True),
        }
    )
    return render(request, "sales/quotation_detail.html", context)


@login_required
def quotation_print(request, pk):
    quotation = _visible_quotation(request, pk)
    # The printed quotation goes to Chinese customers whatever the user's language.
    with translation.override(settings.LANGUAGE_CODE):
        return render(request, "sales/quotation_print.html", _document_context(quotation))


@require_POST
@role_required(*SALES_ROLES)
def quotation_send(request, pk):
    quotation = _visible_quotation(request, pk)
    form = SendForm(request.POST, prefix="send")
    form.is_valid()
    try:
        quotations.send_quotation(actor=request.user, quotation=quotation, email=form.cleaned_data.get("email", ""))
    except DomainError as error:
        logger.warning("Quotation %s: send failed for user %s: %s", quotation.pk, request.user.pk, error.code)
        report_domain_error(request, error)
    else:
        messages.success(request, _("Quotation %(number)s was sent.") % {"number": quotation.number})
    return redirect("sales:quotation_detail", pk=quotation.pk)


@require_POST
@role_required(*SALES_ROLES)
def quotation_lose(request, pk):
    quotation = _visible_quotation(request, pk)
    form = ReasonForm(request.POST, prefix="lose")
    try:
        quotations.mark_lost(actor=request.user, quotation=quotation, reason=form.reason_text())
    except DomainError as error:
        logger.warning("Quotation %s: marking lost failed for user %s: %s", quotation.pk, request.user.pk, error.code)
        report_domain_error(request, error)
    else:
        messages.success(request, _("Quotation %(number)s was marked lost.") % {"number": quotation.number})
    return redirect("sales:quotation_detail", pk=quotation.pk)


@require_POST
@role_required(*SALES_ROLES)
def quotation_accept(request, pk):
    quotation = _visible_quotation(request, pk)
    try:
        order = quotations.accept_quotation(actor=request.user, quotation=quotation)
    except DomainError as error:
        logger.warning("Quotation %s: accept failed for user %s: %s", quotation.pk, request.user.pk, error.code)
        report_domain_error(request, error)
        return redirect("sales:quotation_detail", pk=quotation.pk)
    messages.success(
        request,
        _("Quotation %(number)s was accepted; draft order %(order)s was created.")
        % {"number": quotation.number, "order": order.number},
    )
    return redirect("sales:order_detail", pk=order.pk)


@require_POST
@role_required(*SALES_ROLES)
def quotation_accept_contract(request, pk):
    quotation = _visible_quotation(request, pk)
    try:
        contract = contracts.create_contract_from_quotation(actor=request.user, quotation=quotation)
    except DomainError as error:
        logger.warning("Quotation %s: accept as contract failed for user %s: %s", quotation.pk, request.user.pk, error.code)
        report_domain_error(request, error)
        return redirect("sales:quotation_detail", pk=quotation.pk)
    messages.success(
        request,
        _("Quotation %(number)s was accepted; draft contract %(contract)s was created.")
        % {"number": quotation.number, "contract": contract.number},
    )
    return redirect("sales:contract_detail", pk=contract.pk)
