"""Web screens of recalls (list, entry, detail, follow-up, export, print) and the expiry radar."""

import logging

from django.conf import settings
from django.contrib import messages
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.timeutils import local_today, remaining_shelf_life_days
from dentalsales.core.views import add_domain_error, paginate, report_domain_error
from dentalsales.inventory.trace import trace_customers, trace_shipments

from . import selectors, services
from .forms import CloseForm, NotifyForm, RadarFilterForm, RecallFilterForm, RecallForm, RecoveryForm, WithdrawForm
from .retention import retention_until

logger = logging.getLogger(__name__)


def _visible_recall(request, pk):
    return get_object_or_404(selectors.visible_recalls(request.user).select_related("product", "created_by", "opened_by", "closed_by"), pk=pk)


@role_required(*services.RECALL_VIEW_ROLES)
def recall_list(request):
    filter_form = RecallFilterForm(request.GET)
    rows = selectors.recall_list(request.user, **filter_form.filters())
    context = {
        "filter_form": filter_form,
        "page_obj": paginate(request, rows),
        "can_create": request.user.has_role(*services.RECALL_ROLES),
    }
    template = "quality/_recall_results.html" if request.htmx else "quality/recall_list.html"
    return render(request, template, context)


@role_required(*services.RECALL_ROLES)
def recall_create(request):
    form = RecallForm(request.POST or None, initial={"product": request.GET.get("product")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            recall = services.create_recall(
                actor=request.user,
                product=data["product"],
                lots=list(data["lots"]),
                level=data["level"],
                reason=data["reason"],
                source=data["source"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Recall %(number)s was saved as a draft. Check the customer list, then open it.") % {"number": recall.number})
            return redirect("quality:recall_detail", pk=recall.pk)
    return render(request, "quality/recall_form.html", {"form": form, "lot_rows": _lot_rows(form)})


@role_required(*services.RECALL_ROLES)
def recall_edit(request, pk):
    """Edit a draft recall: product, lots, level, reason and source, checked by the same service as the API."""
    recall = _visible_recall(request, pk)
    if "edit" not in services.allowed_actions(recall, request.user):
        messages.error(request, _("Recall %(number)s is %(status)s; only a draft can be edited.") % {"number": recall.number, "status": recall.get_status_display()})
        return redirect("quality:recall_detail", pk=recall.pk)
    initial = {
        "product": recall.product_id,
        "lots": list(recall.recall_lots.values_list("lot_id", flat=True)),
        "level": recall.level,
        "reason": recall.reason,
        "source": recall.source,
    }
    form = RecallForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_recall(
                actor=request.user,
                recall=recall,
                product=data["product"],
                lots=list(data["lots"]),
                level=data["level"],
                reason=data["reason"],
                source=data["source"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Recall %(number)s was saved.") % {"number": recall.number})
            return redirect("quality:recall_detail", pk=recall.pk)
    return render(request, "quality/recall_form.html", {"form": form, "lot_rows": _lot_rows(form), "recall": recall})


def _lot_rows(form):
    """Return the lot choices of the chosen product with stock on hand and shipped quantity, for the checkbox table."""
    lots = list(form.fields["lots"].queryset)
    on_hand = selectors.stock_on_hand_by_lot([lot.pk for lot in lots])
    shipped = {}
    for row in trace_shipments([lot.pk for lot in lots]):
        shipped[row["lot"]] = shipped.get(row["lot"], 0) + row["quantity"]
    chosen = {str(getattr(value, "pk", value)) for value in (form["lots"].value() or [])}
    return [
        {"lot": lot, "on_hand": on_hand.get(lot.pk, 0), "shipped": shipped.get(lot.pk, 0), "checked": str(lot.pk) in chosen}
        for lot in lots
    ]


@role_required(*services.RECALL_ROLES)
def recall_lot_choices(request):
    """Return the lot checkboxes of the product in ``?product=`` (htmx, when the product changes)."""
    form = RecallForm(initial={"product": request.GET.get("product")})
    return render(request, "quality/_recall_lot_choices.html", {"form": form, "lot_rows": _lot_rows(form)})


@role_required(*services.RECALL_VIEW_ROLES)
def recall_detail(request, pk):
    recall = _visible_recall(request, pk)
    return render(request, "quality/recall_detail.html", _detail_context(request, recall))


def _detail_context(request, recall):
    lots = list(recall.lots.order_by("expiry_date", "lot_number"))
    lot_ids = [lot.pk for lot in lots]
    on_hand = selectors.stock_on_hand_by_lot(lot_ids)
    return {
        "recall": recall,
        "actions": services.allowed_actions(recall, request.user),
        "lots": [
            {"lot": lot, "on_hand": on_hand.get(lot.pk, 0), "retention_until": retention_until(recall.product, lot.expiry_date)}
            for lot in lots
        ],
        "customers": selectors.recall_customers(recall),
        "totals": selectors.recall_totals(recall),
        "shipments": trace_shipments(lot_ids),
        "in_warehouse": trace_shipments(lot_ids, in_warehouse=True),
        "returns": selectors.recall_returns(recall, lot_ids),
        "reservations": selectors.open_reservations(lot_ids),
        "released_reservations": selectors.released_reservations(recall),
        "other_recalls": selectors.other_active_recalls(recall, lot_ids),
        "close_form": CloseForm(),
        "withdraw_form": WithdrawForm(),
        "today": local_today(),
    }


def _follow_up(request, pk, action):
    recall = _visible_recall(request, pk)
    try:
        action(recall)
    except DomainError as error:
        report_domain_error(request, error)
    return redirect("quality:recall_detail", pk=recall.pk)


@role_required(*services.RECALL_ROLES)
def recall_open(request, pk):
    """Show what opening the recall will block and whom it lists (GET); open it once the user confirms (POST)."""
    if request.method != "POST" or request.POST.get("confirm") != "1":
        recall = _visible_recall(request, pk)
        if "open" not in services.allowed_actions(recall, request.user):
            messages.error(
                request,
                _("Recall %(number)s is %(status)s; only a draft can be opened.") % {"number": recall.number, "status": recall.get_status_display()},
            )
            return redirect("quality:recall_detail", pk=recall.pk)
        context = _detail_context(request, recall)
        lot_ids = [row["lot"].pk for row in context["lots"]]
        context["affected"] = trace_customers(lot_ids)
        context["stock_to_block"] = sum(row["on_hand"] for row in context["lots"])
        return render(request, "quality/recall_open_confirm.html", context)

    def action(recall):
        recall = services.open_recall(actor=request.user, recall=recall)
        messages.success(
            request,
            _("Recall %(number)s is open: its lots are blocked and %(count)s customers are listed.")
            % {"number": recall.number, "count": recall.customers.count()},
        )
        released = recall.released_reservations.aggregate(orders=Count("order", distinct=True), units=Sum("quantity", default=0))
        if released["orders"]:
            messages.warning(
                request,
                _("%(units)s reserved units in %(orders)s orders were given back to stock; the orders keep them as backorder.")
                % released,
            )

    return _follow_up(request, pk, action)


@require_POST
@role_required(*services.RECALL_ROLES)
def recall_notify(request, pk, customer_id):
    form = NotifyForm(request.POST)
    form.is_valid()

    def action(recall):
        row = services.record_notification(
            actor=request.user, recall=recall, customer=customer_id, method=form.cleaned_data.get("method", ""), note=form.cleaned_data.get("note", "")
        )
        messages.success(request, _("Notification of %(customer)s recorded.") % {"customer": row.customer.name})

    return _follow_up(request, pk, action)


@require_POST
@role_required(*services.RECALL_ROLES)
def recall_acknowledge(request, pk, customer_id):
    def action(recall):
        row = services.record_acknowledgement(actor=request.user, recall=recall, customer=customer_id)
        messages.success(request, _("Acknowledgement of %(customer)s recorded.") % {"customer": row.customer.name})

    return _follow_up(request, pk, action)


@require_POST
@role_required(*services.RECALL_ROLES)
def recall_recover(request, pk, customer_id):
    form = RecoveryForm(request.POST)
    form.is_valid()

    def action(recall):
        row = services.record_recovered_quantity(
            actor=request.user,
            recall=recall,
            customer=customer_id,
            quantity=request.POST.get("quantity_recovered", "").strip(),
            note=form.cleaned_data.get("note", ""),
        )
        messages.success(
            request, _("%(quantity)s units recovered from %(customer)s.") % {"quantity": row.quantity_recovered, "customer": row.customer.name}
        )

    return _follow_up(request, pk, action)


@require_POST
@role_required(*services.RECALL_ROLES)
def recall_close(request, pk):
    def action(recall):
        recall = services.close_recall(actor=request.user, recall=recall, note=request.POST.get("note", ""))
        messages.success(request, _("Recall %(number)s is closed.") % {"number": recall.number})

    return _follow_up(request, pk, action)


@require_POST
@role_required(*services.RECALL_ROLES)
def recall_withdraw(request, pk):
    form = WithdrawForm(request.POST)
    form.is_valid()

    def action(recall):
        recall = services.withdraw_recall(actor=request.user, recall=recall, reason=form.cleaned_data.get("reason", ""))
        messages.success(request, _("Draft recall %(number)s was withdrawn; its lots can be recalled again.") % {"number": recall.number})

    return _follow_up(request, pk, action)


@role_required(*services.RECALL_VIEW_ROLES)
def recall_export(request, pk):
    """Export the affected list: one row per shipment and lot, with the customer's follow-up status."""
    recall = _visible_recall(request, pk)
    product = recall.product
    follow_up = {row.customer_id: row for row in selectors.recall_customers(recall)}
    expiry = dict(recall.lots.values_list("pk", "expiry_date"))
    headers = [
        _("SKU"), _("Product"), _("Specification"), _("Registration or record number"), _("Customer code"), _("Customer"),
        _("Contact"), _("Contact phone"), _("Delivery address"), _("Shipment number"), _("Shipping date"), _("Sales order"),
        _("Lot number"), _("Expiry date"), _("Quantity"), _("Notified at"), _("Acknowledged at"),
        _("Quantity recovered from the customer"), _("Of which recovered through returns"),
    ]
    rows = []
    for row in trace_shipments(expiry.keys()):
        customer = follow_up.get(row["customer"])
        rows.append(
            [
                product.sku, product.name, product.specification, product.registration_number,
                row["customer_code"], row["customer_name"], row["contact_name"], row["contact_phone"],
                row["delivery_address"], row["shipment_number"], row["shipped_on"], row["order_number"], row["lot_number"],
                expiry.get(row["lot"]), row["quantity"], customer.notified_at if customer else None,
                customer.acknowledged_at if customer else None, customer.quantity_recovered if customer else None,
                customer.quantity_returned if customer else None,
            ]
        )
    logger.info("Recall %s affected list exported by user %s: %s rows", recall.pk, request.user.pk, len(rows))
    return xlsx_response(f"recall-{recall.number}", recall.number, headers, rows)


@role_required(*services.RECALL_VIEW_ROLES)
def recall_print(request, pk):
    recall = _visible_recall(request, pk)
    context = _detail_context(request, recall)
    context["company_name"] = settings.COMPANY_NAME
    return render(request, "quality/recall_print.html", context)


@role_required(*selectors.RADAR_ROLES)
def expiry_radar(request):
    filter_form = RadarFilterForm(request.GET)
    window, kind = filter_form.values()
    today = local_today()
    if kind == "registrations":
        rows = selectors.expiring_registrations(within_days=window, today=today)
    elif kind == "invalid":
        rows = selectors.products_without_valid_registration(today=today)
    else:
        rows = selectors.near_expiry_stock(within_days=window, today=today)
    if request.GET.get("export") == "xlsx":
        return _export_radar(request, kind, rows, today)
    context = {
        "filter_form": filter_form,
        "kind": kind,
        "window": window,
        "counts": selectors.radar_counts(today=today),
        "page_obj": paginate(request, rows),
        "today": today,
    }
    template = "quality/_radar_results.html" if request.htmx else "quality/expiry_radar.html"
    return render(request, template, context)


def _export_radar(request, kind, rows, today):
    if kind == "stock":
        headers = [
            _("SKU"), _("Product"), _("Specification"), _("Lot number"), _("Expiry date"), _("Days left"), _("Warehouse"),
            _("On hand"), _("Reserved"), _("Lot status"),
        ]
        data = [
            [
                balance.lot.product.sku, balance.lot.product.name, balance.lot.product.specification, balance.lot.lot_number,
                balance.lot.expiry_date, remaining_shelf_life_days(balance.lot.expiry_date, today), balance.warehouse.name,
                balance.on_hand, balance.reserved, balance.lot.effective_status_label,
            ]
            for balance in rows
        ]
    else:
        headers = [_("SKU"), _("Product"), _("Specification"), _("Registration or record number"), _("Registration valid until"), _("Days left")]
        data = [
            [
                product.sku, product.name, product.specification, product.registration_number, product.registration_valid_until,
                remaining_shelf_life_days(product.registration_valid_until, today) if product.registration_valid_until else None,
            ]
            for product in rows
        ]
    logger.info("Expiry radar %s exported by user %s: %s rows", kind, request.user.pk, len(data))
    return xlsx_response(f"expiry-{kind}", _("Expiry radar"), headers, data)

