"""Web screens of sales contracts: list, entry, detail, signed copy and one POST view per action."""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError, InvalidInput
from dentalsales.core.money import amount_in_chinese_capitals
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.timeutils import local_today
from dentalsales.core.views import paginate, report_domain_error

from . import contracts
from .contract_forms import (
    ContractFilterForm,
    ContractForm,
    SignedCopyForm,
    contract_line_formset,
    initial_contract_lines,
)
from .forms import ReasonForm, as_id
from .models import ContractStatus
from .views import _show_order_errors

logger = logging.getLogger(__name__)


def _visible_contract(request, pk):
    """Return the contract if the user may see it, else raise Http404."""
    return get_object_or_404(
        contracts.visible_contracts(request.user).select_related(
            "customer", "owner", "reviewed_by", "supervisor_approved_by", "quotation"
        ),
        pk=pk,
    )


@login_required
def contract_list(request):
    filter_form = ContractFilterForm(request.GET)
    rows = contracts.contract_list(request.user, **filter_form.filters())
    if request.GET.get("export") == "xlsx":
        headers = [
            _("Contract number"), _("Customer code"), _("Customer"), _("Sales representative"), _("Start date"),
            _("End date"), _("Status"), _("Total amount"),
        ]
        data = [
            [
                contract.number, contract.customer.code, contract.customer.name, contract.owner.display_name,
                contract.start_date, contract.end_date, contract.get_status_display(), contract.total_amount,
            ]
            for contract in rows
        ]
        logger.info("Contract list exported by user %s: %s rows", request.user.pk, len(data))
        return xlsx_response("contracts", _("Sales contracts"), headers, data)
    context = {
        "filter_form": filter_form,
        "page_obj": paginate(request, rows),
        "can_create": request.user.has_role(*SALES_ROLES),
    }
    template = "sales/_contract_results.html" if request.htmx else "sales/contract_list.html"
    return render(request, template, context)


@role_required(*SALES_ROLES)
def contract_create(request):
    if request.method == "POST":
        form = ContractForm(request.POST, user=request.user)
        formset = contract_line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            try:
                contract = contracts.create_contract(
                    actor=request.user, customer=form.cleaned_data["customer"], lines=formset.lines(), **form.header_fields()
                )
            except DomainError as error:
                logger.warning("Contract entry failed for user %s: %s", request.user.pk, error.code)
                _show_order_errors(form, formset.filled_forms(), error)
            else:
                messages.success(request, _("Contract %(number)s was saved as a draft.") % {"number": contract.number})
                return redirect("sales:contract_detail", pk=contract.pk)
    else:
        form = ContractForm(initial={"customer": as_id(request.GET.get("customer"))}, user=request.user)
        formset = contract_line_formset(extra=3)
    return render(request, "sales/contract_form.html", {"form": form, "formset": formset, "contract": None})


@role_required(*SALES_ROLES)
def contract_edit(request, pk):
    contract = _visible_contract(request, pk)
    if "edit" not in contracts.allowed_actions(contract, request.user):
        messages.error(
            request,
            _("Contract %(number)s is %(status)s; only a draft contract can be changed.")
            % {"number": contract.number, "status": contract.get_status_display()},
        )
        return redirect("sales:contract_detail", pk=contract.pk)
    if request.method == "POST":
        form = ContractForm(request.POST, user=request.user, order=contract)
        formset = contract_line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            try:
                contracts.update_contract(actor=request.user, contract=contract, lines=formset.lines(), **form.header_fields())
            except DomainError as error:
                logger.warning("Contract %s: edit failed for user %s: %s", contract.pk, request.user.pk, error.code)
                _show_order_errors(form, formset.filled_forms(), error)
            else:
                messages.success(request, _("Contract %(number)s was saved.") % {"number": contract.number})
                return redirect("sales:contract_detail", pk=contract.pk)
    else:
        form = ContractForm(
            initial={name: getattr(contract, name) for name in contracts.HEADER_FIELDS}, user=request.user, order=contract
        )
        formset = contract_line_formset(initial=initial_contract_lines(contract))
    return render(request, "sales/contract_form.html", {"form": form, "formset": formset, "contract": contract})


@login_required
def contract_detail(request, pk):
    return _render_detail(request, _visible_contract(request, pk))


def _render_detail(request, contract, typed_quantities=None, status=200):
    """Render the contract page; ``typed_quantities`` refills the order form after a refused order."""
    lines = list(contracts.lines_with_progress(contract))
    typed_quantities = typed_quantities or {}
    for line in lines:
        line.typed_quantity = typed_quantities.get(str(line.pk), "")
    needs_review = contract.status in (ContractStatus.UNDER_REVIEW, ContractStatus.MANAGER_REVIEW)
    # Reviewers see how each price compares with the list and policy price before they approve.
    price_review = contracts.price_review(contract, lines) if request.user.has_role(*REVIEW_ROLES) else {}
    for line in lines:
        line.review = price_review.get(line.pk)
    context = {
        "contract": contract,
        "lines": lines,
        "show_price_review": bool(price_review),
        "orders": list(contracts.contract_orders(contract)[:50]),
        "manager_reasons": contracts.manager_review_reasons(contract, lines, price_review or None) if needs_review else [],
        "actions": contracts.allowed_actions(contract, request.user),
        "today": local_today(),
        "signed_copy_form": SignedCopyForm(),
        "reject_form": ReasonForm(prefix="reject", required=True),
        "terminate_form": ReasonForm(prefix="terminate", required=True),
        "complete_form": ReasonForm(prefix="complete"),
        "remaining_total": sum(line.remaining_quantity for line in lines),
    }
    return render(request, "sales/contract_detail.html", context, status=status)


@login_required
def contract_print(request, pk):
    """Render the contract on A4 for signing; always in Chinese, since it goes to the customer."""
    contract = _visible_contract(request, pk)
    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "contract": contract,
            "lines": list(contracts.lines_with_progress(contract)),
            "total_in_capitals": amount_in_chinese_capitals(contract.total_amount),
            "company_name": settings.COMPANY_NAME,
            "company_address": settings.COMPANY_ADDRESS,
            "company_phone": settings.COMPANY_PHONE,
            "company_licence_number": settings.COMPANY_LICENCE_NUMBER,
        }
        return render(request, "sales/contract_print.html", context)


@login_required
def contract_signed_copy(request, pk):
    """Serve the signed scan only to users who may see the contract; media files are not public."""
    contract = _visible_contract(request, pk)
    if not contract.signed_copy:
        raise Http404
    return FileResponse(contract.signed_copy.open("rb"), filename=contract.signed_copy.name.rsplit("/", 1)[-1])


def _run(request, contract, action):
    user = request.user
    if action == "submit":
        return contracts.submit_contract(actor=user, contract=contract)
    if action == "approve":
        return contracts.approve_contract(actor=user, contract=contract)
    if action == "reject":
        form = ReasonForm(request.POST, prefix="reject")
        return contracts.reject_contract(actor=user, contract=contract, reason=form.reason_text())
    if action == "attach":
        form = SignedCopyForm(request.POST, request.FILES)
        form.is_valid()
        upload = form.cleaned_data.get("signed_copy")
        if not upload:
            raise InvalidInput(_("Choose the signed copy to upload."), field="signed_copy")
        return contracts.attach_signed_copy(actor=user, contract=contract, upload=upload)
    if action == "activate":
        return contracts.activate_contract(actor=user, contract=contract)
    if action == "complete":
        form = ReasonForm(request.POST, prefix="complete")
        return contracts.complete_contract(actor=user, contract=contract, reason=form.reason_text())
    if action == "terminate":
        form = ReasonForm(request.POST, prefix="terminate")
        return contracts.terminate_contract(actor=user, contract=contract, reason=form.reason_text())
    raise Http404


DONE_MESSAGES = {
    "submit": gettext_lazy("Contract %(number)s was sent to review."),
    "approve": gettext_lazy("Contract %(number)s was approved."),
    "reject": gettext_lazy("Contract %(number)s was sent back to draft."),
    "attach": gettext_lazy("The signed copy of contract %(number)s was attached."),
    "activate": gettext_lazy("Contract %(number)s is active."),
    "complete": gettext_lazy("Contract %(number)s was completed."),
    "terminate": gettext_lazy("Contract %(number)s was terminated."),
}


@require_POST
@login_required
def contract_action(request, pk, action):
    contract = _visible_contract(request, pk)
    if action not in DONE_MESSAGES:
        raise Http404
    try:
        _run(request, contract, action)
    except DomainError as error:
        logger.warning("Contract %s: %s failed for user %s: %s", contract.pk, action, request.user.pk, error.code)
        report_domain_error(request, error)
    else:
        messages.success(request, str(DONE_MESSAGES[action]) % {"number": contract.number})
    return redirect("sales:contract_detail", pk=contract.pk)


@require_POST
@role_required(*SALES_ROLES)
def contract_order(request, pk):
    """Enter a draft order from the quantities typed beside the contract's lines."""
    contract = _visible_contract(request, pk)
    quantities = {
        key.removeprefix("quantity-"): value.strip()
        for key, value in request.POST.items()
        if key.startswith("quantity-") and value.strip()
    }
    try:
        order = contracts.create_order_from_contract(actor=request.user, contract=contract, quantities=quantities)
    except DomainError as error:
        logger.warning("Contract %s: order failed for user %s: %s", contract.pk, request.user.pk, error.code)
        field_errors = getattr(error, "field_errors", None) or {}
        if not field_errors:
            report_domain_error(request, error)
        # Each line's own message, since the quantities have no form fields to show them beside.
        for texts in field_errors.values():
            for text in texts:
                messages.error(request, text)
        # Shown again with what was typed, so the user corrects one quantity instead of retyping all.
        return _render_detail(request, contract, typed_quantities=quantities, status=400)
    messages.success(
        request, _("Draft order %(order)s was created against contract %(number)s.") % {"order": order.number, "number": contract.number}
    )
    return redirect("sales:order_detail", pk=order.pk)
