"""Web screens of the order flow: list, entry, detail, review and one POST view per transition."""

import logging
import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES, WAREHOUSE_ROLES, Role
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError, InsufficientStock, join_reasons
from dentalsales.core.money import format_money, round_money
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.views import add_domain_error, paginate, report_domain_error
from dentalsales.customers.selectors import visible_customers
from dentalsales.inventory.models import Allocation
from dentalsales.inventory.selectors import shipment_progress, warehouses_with_open_reservations

from . import amendments, selectors, services
from . import contracts as contract_services
from .addresses import customer_addresses
from .forms import (
    OrderAmendment,
    OrderForm,
    ReasonForm,
    SalesOrderFilterForm,
    ShipForm,
    address_choices,
    as_id,
    initial_lines,
    line_formset,
)
from .models import SalesOrderLine
from .review import price_approvals, review_checks

logger = logging.getLogger(__name__)

LINE_ERROR_KEY = re.compile(r"^lines\[(\d+)\]\.(\w+)$")


def _visible_order(request, pk):
    """Return the order if the user may see it, else raise Http404 (also for another representative's order)."""
    return get_object_or_404(selectors.visible_orders(request.user).select_related("customer", "owner"), pk=pk)


def price_text(price):
    """Show a unit price with two decimals, or with the four it was entered with when it has them."""
    if price == round_money(price):
        return format_money(price)
    return f"{price.normalize():,f}"


# -- lists ------------------------------------------------------------------


@login_required
def order_list(request):
    filter_form = SalesOrderFilterForm(request.GET)
    orders = selectors.order_list(request.user, **filter_form.filters())
    if request.GET.get("export") == "xlsx":
        return _export_orders(request, orders)
    page_obj = paginate(request, orders)
    page_obj.object_list = selectors.attach_line_counts(page_obj.object_list)
    progress = shipment_progress(order.pk for order in page_obj.object_list)
    for order in page_obj.object_list:
        order.shipment_progress = progress.get(order.pk, [])
    context = {
        "filter_form": filter_form,
        "page_obj": page_obj,
        "can_create": request.user.has_role(*SALES_ROLES),
    }
    # A filter change from the page swaps only the results.
    template = "sales/_order_results.html" if request.htmx else "sales/order_list.html"
    return render(request, template, context)


def _export_orders(request, orders):
    headers = [
        _("Order number"),
        _("Order date"),
        _("Customer code"),
        _("Customer"),
        _("Sales representative"),
        _("Order channel"),
        _("Status"),
        _("Lines"),
        _("Total amount"),
        _("Tax amount"),
        _("Backordered"),
    ]
    rows = [
        [
            order.number,
            order.order_date,
            order.customer.code,
            order.customer.name,
            order.owner.display_name,
            order.get_channel_display(),
            order.get_status_display(),
            order.line_count,
            order.total_amount,
            order.tax_amount,
            max(order.backordered_quantity, 0),
        ]
        for order in selectors.attach_line_counts(orders)
    ]
    # Customer data leaving the system is logged (who and how much, not what).
    logger.info("Order list exported by user %s: %s rows", request.user.pk, len(rows))
    return xlsx_response("sales-orders", _("Sales orders"), headers, rows)


@login_required
def review_queue(request):
    page_obj = paginate(request, selectors.review_queue(request.user))
    page_obj.object_list = selectors.attach_line_counts(page_obj.object_list)
    waiting_contracts = list(contract_services.contracts_awaiting_review(request.user)[:50])
    return render(request, "sales/review_queue.html", {"page_obj": page_obj, "contracts": waiting_contracts})


# -- entry and editing --------------------------------------------------------


def _show_order_errors(form, line_forms, error):
    """Put a service error beside the field it names: ``lines[2].quantity`` goes to the third filled line."""
    field_errors = getattr(error, "field_errors", None) or {}
    if not field_errors:
        add_domain_error(form, error)
        return
    for key, texts in field_errors.items():
        match = LINE_ERROR_KEY.match(key)
        if match and int(match[1]) < len(line_forms):
            target_form = line_forms[int(match[1])]
            name = match[2] if match[2] in target_form.fields else None
        else:
            target_form = form
            name = key if key in form.fields else None
        for text in texts:
            target_form.add_error(name, text)


@role_required(*SALES_ROLES)
def order_create(request):
    if request.method == "POST":
        form = OrderForm(request.POST, user=request.user)
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            try:
                order, created = services.create_order(
                    actor=request.user,
                    customer=form.cleaned_data["customer"],
                    lines=formset.lines(),
                    idempotency_key=form.cleaned_data["token"],
                    **form.header_fields(),
                )
            except DomainError as error:
                logger.warning("Order entry failed for user %s: %s", request.user.pk, error.code)
                _show_order_errors(form, formset.filled_forms(), error)
            else:
                if created:
                    messages.success(request, _("Order %(number)s was saved as a draft.") % {"number": order.number})
                else:
                    messages.info(request, _("This form was already sent; order %(number)s was created then.") % {"number": order.number})
                return redirect("sales:order_detail", pk=order.pk)
    else:
        # A link from a customer's page may preselect the customer.
        form = OrderForm(initial={"customer": as_id(request.GET.get("customer"))}, user=request.user)
        formset = line_formset(extra=3)
    return render(request, "sales/order_form.html", {"form": form, "formset": formset, "order": None})


@role_required(*SALES_ROLES)
def order_edit(request, pk):
    order = _visible_order(request, pk)
    # Editing and submitting share their precondition (a draft or rejected
    # order and a sales role), so the submit button decides both.
    if "submit" not in services.allowed_actions(order, request.user):
        messages.error(
            request,
            _("Order %(number)s is %(status)s; only draft or rejected orders can be changed.")
            % {"number": order.number, "status": order.get_status_display()},
        )
        return redirect("sales:order_detail", pk=order.pk)
    if request.method == "POST":
        form = OrderForm(request.POST, user=request.user, order=order)
        formset = line_formset(request.POST)
        if form.is_valid() and formset.is_valid():
            try:
                services.update_order(actor=request.user, order=order, lines=formset.lines(), **form.header_fields())
            except DomainError as error:
                logger.warning("Order %s: edit failed for user %s: %s", order.pk, request.user.pk, error.code)
                _show_order_errors(form, formset.filled_forms(), error)
            else:
                messages.success(request, _("Order %(number)s was saved.") % {"number": order.number})
                return redirect("sales:order_detail", pk=order.pk)
    else:
        form = OrderForm(
            initial={
                "channel": order.channel,
                "requested_delivery_date": order.requested_delivery_date,
                # Text typed by hand shows as such; text filled from a saved
                # address shows as that address chosen.
                "customer_address": order.customer_address_id or "",
                "delivery_address": "" if order.customer_address_id else order.delivery_address,
                "customer_reference": order.customer_reference,
                "note": order.note,
            },
            user=request.user,
            order=order,
        )
        formset = line_formset(initial=initial_lines(order))
    return render(request, "sales/order_form.html", {"form": form, "formset": formset, "order": order})


# -- detail and review --------------------------------------------------------


@login_required
def order_detail(request, pk):
    order = _visible_order(request, pk)
    lines = list(
        SalesOrderLine.objects.filter(order=order)
        .select_related("product")
        .prefetch_related(
            Prefetch("allocations", queryset=Allocation.objects.select_related("lot", "warehouse").order_by("lot__expiry_date", "pk"))
        )
    )
    for line in lines:
        line.unit_price_text = price_text(line.unit_price)
    selectors.attach_line_stock(order, lines)
    order.backordered_quantity = sum(line.backordered_quantity for line in lines)
    actions = services.allowed_actions(order, request.user)
    status_changes = _with_change_labels(order.status_changes.select_related("actor"))
    gross_profit, gross_margin = order.gross_profit(lines) if request.user.sees_cost else (None, None)
    context = {
        "order": order,
        "lines": lines,
        "gross_profit": gross_profit,
        "gross_margin": gross_margin,
        "has_allocations": any(line.allocations.all() for line in lines),
        "has_closed_short": any(line.closed_short_quantity for line in lines),
        "shows_stock_columns": order.status in selectors.BACKORDER_STATUSES,
        "close_short_change": next((change for change in reversed(status_changes) if change.action == "close_short"), None),
        # Offered after a strict release failed for lack of stock; the service checks the state again.
        "offer_partial_release": "release" in actions and request.GET.get("release") == "short",
        "status_changes": status_changes,
        "shipments": order.shipments.order_by("shipped_on", "pk"),
        "shipment_progress": shipment_progress([order.pk]).get(order.pk, []),
        "actions": actions,
        "can_edit": "submit" in actions,
        "can_review": "approve" in actions or "reject" in actions,
        "ship_form": ShipForm(warehouses=warehouses_with_open_reservations(order)) if "ship" in actions else None,
        "cancel_form": ReasonForm(prefix="cancel", required=True),
        "reinstate_form": ReasonForm(prefix="reinstate", required=True),
        "close_short_form": ReasonForm(prefix="close_short", required=True),
    }
    return render(request, "sales/order_detail.html", context)


@login_required
def order_addresses(request):
    """Return the ``<option>`` list of a visible customer's saved addresses, for the entry form's address select."""
    customer_id = as_id(request.GET.get("customer"))
    customer = visible_customers(request.user).filter(pk=customer_id).first() if customer_id else None
    addresses = list(customer_addresses(customer))
    return render(request, "sales/_address_options.html", {"choices": address_choices(addresses)})


AMENDED_FIELD_LABELS = {
    "quantity": gettext_lazy("Quantity"),
    "unit_price": gettext_lazy("Unit price (tax incl.)"),
    "line": gettext_lazy("Line added"),
    "total_amount": gettext_lazy("Total amount"),
    "backordered_quantity": gettext_lazy("Backordered"),
    "reserved_quantity": gettext_lazy("Reserved"),
    "closed_short_quantity": gettext_lazy("Closed short"),
}
ACTION_NAMES = {
    "amend": gettext_lazy("Amended"),
    "reinstate": gettext_lazy("Reinstated"),
    "allocate_backorder": gettext_lazy("Backorder allocated"),
    "close_short": gettext_lazy("Closed short"),
}


def _with_change_labels(status_changes):
    """Attach the action's name and the labelled old and new values of an amendment to each status change."""
    status_changes = list(status_changes)
    for change in status_changes:
        change.action_name = ACTION_NAMES.get(change.action, "")
        change.change_rows = [
            {**item, "label": AMENDED_FIELD_LABELS.get(item.get("field"), item.get("field"))} for item in change.changes
        ]
    return status_changes


CHECK_LABELS = {
    "qualifications": gettext_lazy("Customer qualifications"),
    "registrations": gettext_lazy("Product registrations"),
    "credit": gettext_lazy("Credit"),
    "price": gettext_lazy("Prices and discount authority"),
    "stock": gettext_lazy("Stock and shelf life"),
    "duplicate": gettext_lazy("Possible duplicate"),
}


def _approve_form(data=None):
    return ReasonForm(data, prefix="approve", label=gettext_lazy("Reason for approving"))


def _reject_form(data=None):
    return ReasonForm(data, prefix="reject", required=True, label=gettext_lazy("Reason for rejecting"))


REVIEW_FORMS = {"approve": _approve_form, "reject": _reject_form}


@role_required(*REVIEW_ROLES)
def order_review(request, pk):
    order = _visible_order(request, pk)
    checks = [(CHECK_LABELS.get(check.code, check.code), check) for check in review_checks(order)]
    manager_lines = []
    if not request.user.has_role(Role.MANAGER, Role.ADMINISTRATOR):
        lines = list(order.lines.select_related("product__category"))
        manager_lines = [line for line, level in price_approvals(order, lines) if level == "manager"]
    context = {
        "order": order,
        "lines": order.lines.select_related("product"),
        "checks": checks,
        # Prices below the supervisor's authority: only a manager may approve.
        "manager_lines": manager_lines,
        # The service rejects approval for the same failed checks, so showing
        # them here spares the reviewer a click that would be rejected.
        "blocking_failures": [(label, check) for label, check in checks if check.blocking and not check.passed],
        "actions": services.allowed_actions(order, request.user),
        "approve_form": _approve_form(),
        "reject_form": _reject_form(),
    }
    return render(request, "sales/order_review.html", context)


# -- transitions --------------------------------------------------------------


def _transition(request, pk, action, **kwargs):
    """Run the service of ``action`` on the order; report the outcome as a message and go back to the order.

    A failure also redirects, so that reloading the page does not send the
    request again.
    """
    order = _visible_order(request, pk)
    try:
        result = TRANSITION_SERVICES[action](actor=request.user, order=order, **kwargs)
    except DomainError as error:
        report_domain_error(request, error)
        logger.warning("Order %s: %s failed for user %s: %s", order.pk, action, request.user.pk, error.code)
    else:
        messages.success(request, TRANSITION_MESSAGES[action] % {"number": order.number, "shipment": getattr(result, "number", "")})
    return redirect("sales:order_detail", pk=order.pk)


TRANSITION_SERVICES = {
    "submit": services.submit_order,
    "release": services.release_order,
    "ship": services.ship_order,
    "complete": services.complete_order,
    "cancel": services.cancel_order,
    "reinstate": amendments.reinstate_order,
    "close_short": services.close_short_order,
}

TRANSITION_MESSAGES = {
    "submit": gettext_lazy("Order %(number)s was submitted for review."),
    "release": gettext_lazy("Order %(number)s was released to logistics; its stock is reserved."),
    "ship": gettext_lazy("Shipment %(shipment)s was created for order %(number)s."),
    "complete": gettext_lazy("Order %(number)s was completed."),
    "cancel": gettext_lazy("Order %(number)s was cancelled."),
    "reinstate": gettext_lazy("Order %(number)s was reinstated."),
    "close_short": gettext_lazy("Order %(number)s was closed short; its remaining reservations went back to stock."),
}


@login_required
@require_POST
def order_submit(request, pk):
    return _transition(request, pk, "submit")


@login_required
@require_POST
def order_release(request, pk):
    """Release the order. A strict release that fails for lack of stock comes back offering to release what is available."""
    order = _visible_order(request, pk)
    allow_partial = request.POST.get("allow_partial") == "1"
    try:
        order = services.release_order(actor=request.user, order=order, allow_partial=allow_partial)
    except DomainError as error:
        report_domain_error(request, error)
        logger.warning("Order %s: release failed for user %s: %s", order.pk, request.user.pk, error.code)
        if isinstance(error, InsufficientStock) and not allow_partial:
            return redirect(f"{reverse('sales:order_detail', args=[order.pk])}?release=short")
        return redirect("sales:order_detail", pk=order.pk)
    if order.allocation.backordered:
        messages.warning(request, _backorder_message(order, order.allocation))
    else:
        messages.success(request, TRANSITION_MESSAGES["release"] % {"number": order.number})
    return redirect("sales:order_detail", pk=order.pk)


def _backorder_message(order, result):
    lines = {line.pk: line for line in order.lines.select_related("product").filter(pk__in=result.backordered)}
    parts = [
        _("%(quantity)s %(unit)s of “%(product)s”")
        % {"quantity": quantity, "unit": lines[line_id].product.unit, "product": lines[line_id].product}
        for line_id, quantity in sorted(result.backordered.items())
    ]
    return _("Order %(number)s: %(reserved)s units reserved; backordered: %(lines)s.") % {
        "number": order.number,
        "reserved": result.reserved_quantity,
        "lines": join_reasons(parts),
    }


@login_required
@require_POST
def order_allocate_backorder(request, pk):
    """Reserve newly available stock for the order's backorder; go back to the page the button was on."""
    order = _visible_order(request, pk)
    back = request.POST.get("next") == "backorders"
    try:
        order = services.allocate_backorder(actor=request.user, order=order)
    except DomainError as error:
        report_domain_error(request, error)
        logger.warning("Order %s: allocate_backorder failed for user %s: %s", order.pk, request.user.pk, error.code)
    else:
        if order.allocation.backordered:
            messages.warning(request, _backorder_message(order, order.allocation))
        else:
            messages.success(
                request,
                _("Order %(number)s: %(reserved)s units reserved; nothing is backordered any more.")
                % {"number": order.number, "reserved": order.allocation.reserved_quantity},
            )
    if back:
        return redirect("sales:backorder_list")
    return redirect("sales:order_detail", pk=order.pk)


@login_required
@require_POST
def order_close_short(request, pk):
    form = ReasonForm(request.POST, prefix="close_short")
    return _transition(request, pk, "close_short", reason=form.reason_text())


@role_required(*WAREHOUSE_ROLES)
def backorder_list(request):
    """Released and partially shipped orders with backordered units, oldest first, with each line's backorder."""
    page_obj = paginate(request, selectors.backorder_list(request.user))
    orders = list(page_obj.object_list)
    lines = (
        SalesOrderLine.objects.filter(order__in=[order.pk for order in orders])
        .select_related("product")
        .prefetch_related(Prefetch("allocations", queryset=Allocation.objects.order_by("pk")))
        .order_by("pk")
    )
    by_order = {}
    for line in lines:
        by_order.setdefault(line.order_id, []).append(line)
    for order in orders:
        order.backordered_lines = [
            line for line in selectors.attach_line_stock(order, by_order.get(order.pk, [])) if line.backordered_quantity
        ]
    page_obj.object_list = orders
    return render(request, "sales/backorder_list.html", {"page_obj": page_obj})


@login_required
@require_POST
def order_ship(request, pk):
    form = ShipForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(error for errors in form.errors.values() for error in errors))
        return redirect("sales:order_detail", pk=pk)
    return _transition(
        request,
        pk,
        "ship",
        carrier=form.cleaned_data["carrier"],
        waybill_number=form.cleaned_data["waybill_number"],
        warehouse=form.cleaned_data["warehouse"],
    )


@login_required
@require_POST
def order_complete(request, pk):
    return _transition(request, pk, "complete")


@login_required
@require_POST
def order_cancel(request, pk):
    form = ReasonForm(request.POST, prefix="cancel")
    return _transition(request, pk, "cancel", reason=form.reason_text())


@login_required
@require_POST
def order_reinstate(request, pk):
    form = ReasonForm(request.POST, prefix="reinstate")
    return _transition(request, pk, "reinstate", reason=form.reason_text())


@role_required(*REVIEW_ROLES)
def order_amend(request, pk):
    """Change the quantities and prices of an approved or released order, or add lines, with the reason."""
    order = _visible_order(request, pk)
    if "amend" not in services.allowed_actions(order, request.user):
        messages.error(
            request,
            _("Order %(number)s is %(status)s; only approved orders and orders released to logistics can be amended.")
            % {"number": order.number, "status": order.get_status_display()},
        )
        return redirect("sales:order_detail", pk=order.pk)
    if request.method == "POST":
        amendment = OrderAmendment(order, request.POST)
        if amendment.is_valid():
            try:
                amendments.amend_order(
                    actor=request.user, order=order, lines=amendment.lines(), reason=amendment.reason_form.reason_text()
                )
            except DomainError as error:
                logger.warning("Order %s: amend failed for user %s: %s", order.pk, request.user.pk, error.code)
                _show_order_errors(amendment.reason_form, amendment.line_forms(), error)
            else:
                messages.success(request, _("Order %(number)s was amended.") % {"number": order.number})
                return redirect("sales:order_detail", pk=order.pk)
    else:
        amendment = OrderAmendment(order)
    return render(request, "sales/order_amend.html", {"order": order, "amendment": amendment})


def _review_decision(request, pk, service, form_prefix, success_message):
    """Approve or reject. A failure goes back to the review page as a message, or to the order for users who cannot review."""
    order = _visible_order(request, pk)
    form = REVIEW_FORMS[form_prefix](request.POST)
    try:
        service(actor=request.user, order=order, reason=form.reason_text())
    except DomainError as error:
        logger.warning("Order %s: %s failed for user %s: %s", order.pk, form_prefix, request.user.pk, error.code)
        report_domain_error(request, error)
        back = "sales:order_review" if request.user.has_role(*REVIEW_ROLES) else "sales:order_detail"
        return redirect(back, pk=order.pk)
    messages.success(request, success_message % {"number": order.number})
    return redirect("sales:order_detail", pk=order.pk)


@login_required
@require_POST
def order_approve(request, pk):
    return _review_decision(request, pk, services.approve_order, "approve", _("Order %(number)s was approved."))


@login_required
@require_POST
def order_reject(request, pk):
    return _review_decision(
        request, pk, services.reject_order, "reject", _("Order %(number)s was rejected and sent back to its representative.")
    )
