from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST

from dentalsales.accounts.roles import WAREHOUSE_ROLES, Role
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.timeutils import local_today, remaining_shelf_life_days
from dentalsales.core.views import add_domain_error, paginate, report_domain_error

from . import selectors, services, shipping, stock_control
from .forms import (
    DecisionForm,
    DeliveryForm,
    DispatchForm,
    LedgerFilterForm,
    ReasonForm,
    ReceiveForm,
    ReviewLineFormSet,
    ShipmentFilterForm,
    StockCountLineFormSet,
    StockCountStartForm,
    StockFilterForm,
    TransferForm,
)
from .models import (
    InspectionResult,
    Lot,
    LotStatus,
    OutboundReviewLine,
    ReviewLineResult,
    ReviewResult,
    StockBalance,
    StockCount,
    StockCountStatus,
    StockTransfer,
)

# Lots expiring within this many days are shown in amber so that they are sold first or returned in time.
NEAR_EXPIRY_DAYS = 90


def _expiry_state(expiry_date, today):
    days = remaining_shelf_life_days(expiry_date, today)
    if days < 0:
        return "expired"
    if days <= NEAR_EXPIRY_DAYS:
        return "near"
    return ""


def _stock_status_label(balance):
    """Return the status to show for a balance: quarantined for stock in the quarantine warehouse, else the lot's."""
    if balance.in_quarantine and balance.lot.status == LotStatus.AVAILABLE:
        return pgettext("stock status", "Quarantined")
    return balance.lot.effective_status_label


def _export_stock(balances):
    headers = [
        _("Product"), _("SKU"), _("Model / specification"), _("Lot number"), _("Production date"), _("Expiry date"),
        _("Warehouse"), _("On hand"), _("Reserved"), _("Available"), _("Unit"), _("Status"),
    ]
    rows = [
        [
            balance.lot.product.name, balance.lot.product.sku, balance.lot.product.specification, balance.lot.lot_number,
            balance.lot.production_date, balance.lot.expiry_date, balance.warehouse.name, balance.on_hand,
            balance.reserved, balance.available_quantity, balance.lot.product.unit, _stock_status_label(balance),
        ]
        for balance in balances
    ]
    return xlsx_response("stock", _("Stock"), headers, rows)


@role_required(*selectors.STOCK_PAGE_ROLES)
def stock_list(request):
    form = StockFilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    balances = selectors.stock_balances(search=data.get("q", "").strip(), warehouse=data.get("warehouse"))
    if request.GET.get("export") == "xlsx":
        return _export_stock(balances)
    page_obj = paginate(request, balances)
    today = local_today()
    for balance in page_obj:
        balance.expiry_state = _expiry_state(balance.lot.expiry_date, today)
    return render(
        request,
        "inventory/stock_list.html",
        {"filter_form": form, "page_obj": page_obj, "near_expiry_days": NEAR_EXPIRY_DAYS},
    )


@role_required(*WAREHOUSE_ROLES)
def receive(request):
    form = ReceiveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        token = data.pop("token", "")
        try:
            receipt = services.receive_stock(actor=request.user, idempotency_key=token, **data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if receipt.replayed:
                messages.info(request, _("This form was already sent; receipt %(number)s was recorded then.") % {"number": receipt.number})
                return redirect("inventory:receive")
            params = {
                "number": receipt.number,
                "quantity": receipt.quantity,
                "unit": receipt.lot.product.unit,
                "product": receipt.lot.product,
                "lot": receipt.lot.lot_number,
                "warehouse": receipt.warehouse,
            }
            # Rejected goods add no stock and quarantined goods cannot be sold, so the message names the outcome.
            if receipt.inspection_result == InspectionResult.REJECTED:
                text = _("Receipt %(number)s: %(quantity)s %(unit)s of “%(product)s”, lot %(lot)s, rejected; no stock was added.")
            elif receipt.inspection_result == InspectionResult.QUARANTINED:
                text = _("Receipt %(number)s: %(quantity)s %(unit)s of “%(product)s”, lot %(lot)s, received into %(warehouse)s and quarantined; it cannot be sold until released.")
            elif receipt.lot.status == LotStatus.QUARANTINED:
                # Accepted goods join the lot's stock, and a quarantined lot stays blocked until the quality officer releases it.
                text = _("Receipt %(number)s: %(quantity)s %(unit)s of “%(product)s”, lot %(lot)s, received into %(warehouse)s. The lot is quarantined, so these goods are quarantined too and cannot be sold until the quality officer releases the lot.")
            else:
                text = _("Receipt %(number)s: %(quantity)s %(unit)s of “%(product)s”, lot %(lot)s, received into %(warehouse)s.")
            accepted_for_sale = receipt.inspection_result == InspectionResult.ACCEPTED and receipt.lot.status == LotStatus.AVAILABLE
            level = messages.SUCCESS if accepted_for_sale else messages.WARNING
            messages.add_message(request, level, text % params)
            return redirect("inventory:receive")
    return render(request, "inventory/receive.html", {"form": form})


def _shipment_rows(request, form):
    shipments = selectors.visible_shipments(request.user).select_related("order", "customer")
    text = form.cleaned_data.get("q", "").strip() if form.is_valid() else ""
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    if status:
        shipments = shipments.filter(status=status)
    if text:
        shipments = shipments.filter(
            Q(number__icontains=text)
            | Q(order__number__icontains=text)
            | Q(customer__search_text__contains=text.lower())
            | Q(waybill_number__icontains=text)
        )
    return shipments.order_by("-shipped_on", "-id")


@login_required
def shipment_list(request):
    form = ShipmentFilterForm(request.GET)
    shipments = _shipment_rows(request, form)
    if request.GET.get("export") == "xlsx":
        headers = [
            _("Shipment number"), _("Order number"), _("Customer"), _("Status"), _("Shipping date"), _("Carrier"),
            _("Waybill number"), _("Delivery address"), _("Delivery date"),
        ]
        rows = [
            [
                shipment.number, shipment.order.number, shipment.customer.name, shipment.get_status_display(), shipment.shipped_on,
                shipment.carrier, shipment.waybill_number, shipment.delivery_address, shipment.delivered_on,
            ]
            for shipment in shipments
        ]
        return xlsx_response("shipments", _("Shipments"), headers, rows)
    return render(request, "inventory/shipment_list.html", {"filter_form": form, "page_obj": paginate(request, shipments)})


def _visible_shipment(request, pk):
    shipments = selectors.visible_shipments(request.user).select_related("order", "customer", "shipped_by", "dispatched_by")
    shipment = get_object_or_404(shipments, pk=pk)
    lines = list(shipment.lines.select_related("warehouse", "lot", "product").order_by("id"))
    return shipment, lines


def _review_formset(lines, data=None):
    initial = [{"shipment_line": line.pk, "quantity": line.quantity, "result": ReviewLineResult.OK} for line in lines]
    formset = ReviewLineFormSet(data, initial=initial, prefix="review")
    for form, line in zip(formset.forms, lines):
        form.line = line
    return formset


def _reviews_with_reasons(shipment):
    """Return the shipment's reviews, newest first, each with ``line_reasons``: (line, reason) for every line that did not match."""
    reviews = list(
        shipment.reviews.select_related("reviewer")
        .prefetch_related(Prefetch("lines", queryset=OutboundReviewLine.objects.select_related("shipment_line__product").order_by("shipment_line_id")))
        .order_by("-reviewed_at", "-pk")
    )
    for review in reviews:
        review.line_reasons = [
            (review_line.shipment_line, shipping.review_line_reason(review_line) or review_line.get_result_display())
            for review_line in review.lines.all()
            if review_line.result != ReviewLineResult.OK
        ]
    return reviews


def _mark_failed_lines(formset, review):
    """Put each failed line's reason on its row of the review form, so the reviewer sees what to fix."""
    reasons = dict(review.line_reasons)
    for form in formset.forms:
        form.review_reason = reasons.get(form.line, "")


def _shipment_page(request, shipment, lines, **forms_by_name):
    actions = shipping.allowed_shipment_actions(shipment, request.user)
    reviews = _reviews_with_reasons(shipment)
    review_formset = forms_by_name.get("review_formset") or (_review_formset(lines) if "review" in actions else None)
    if review_formset is not None and reviews and reviews[0].result == ReviewResult.FAILED:
        _mark_failed_lines(review_formset, reviews[0])
    context = {
        "shipment": shipment,
        "lines": lines,
        "total_quantity": sum(line.quantity for line in lines),
        "actions": actions,
        "reviews": reviews,
        "picked_by_viewer": shipment.shipped_by_id == request.user.pk,
        "review_formset": review_formset,
        "dispatch_form": forms_by_name.get("dispatch_form")
        or (DispatchForm(initial={"carrier": shipment.carrier, "waybill_number": shipment.waybill_number}) if "dispatch" in actions else None),
        "delivery_form": forms_by_name.get("delivery_form") or (DeliveryForm() if "confirm_delivery" in actions else None),
        "cancel_form": forms_by_name.get("cancel_form") or (ReasonForm(prefix="cancel") if "cancel_picking" in actions else None),
    }
    return render(request, "inventory/shipment_detail.html", context)


@login_required
def shipment_detail(request, pk):
    shipment, lines = _visible_shipment(request, pk)
    return _shipment_page(request, shipment, lines)


@login_required
@require_POST
def shipment_review(request, pk):
    shipment, lines = _visible_shipment(request, pk)
    formset = _review_formset(lines, request.POST)
    if not formset.is_valid():
        messages.error(request, _("Check the marked lines of the review."))
        return _shipment_page(request, shipment, lines, review_formset=formset)
    entries = {}
    for form in formset.forms:
        data = form.cleaned_data
        if not data.get("confirmed") and not data.get("scanned_code"):
            continue  # A line neither ticked nor scanned is reported as missing by the service.
        entries[data["shipment_line"]] = {
            "result": data["result"], "quantity": data["quantity"], "scanned_code": data["scanned_code"], "note": data["note"],
        }
    try:
        review = shipping.review_shipment(actor=request.user, shipment=shipment, lines=entries, note=request.POST.get("review_note", ""))
    except DomainError as error:
        _show_review_errors(formset, error)
        messages.error(request, str(error) if not getattr(error, "field_errors", None) else _("Check the marked lines of the review."))
        return _shipment_page(request, shipment, lines, review_formset=formset)
    if review.result == ReviewResult.PASSED:
        messages.success(request, _("Outbound review of shipment %(number)s passed; it may be dispatched.") % {"number": shipment.number})
        return redirect("inventory:shipment_detail", pk=shipment.pk)
    messages.warning(
        request, _("Outbound review of shipment %(number)s failed; fix the marked lines and review again.") % {"number": shipment.number}
    )
    # Shown again with what was entered, each failed line marked with its reason (see _shipment_page).
    return _shipment_page(request, shipment, lines, review_formset=formset)


def _show_review_errors(formset, error):
    forms_by_line = {form.line.pk: form for form in formset.forms}
    for key, errors in (getattr(error, "field_errors", None) or {}).items():
        parts = key.split(".")
        line_id = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        form = forms_by_line.get(line_id)
        if form is None:
            continue
        field = parts[2] if len(parts) > 2 and parts[2] in form.fields else "confirmed"
        for message in errors:
            form.add_error(field, message)


@role_required(*WAREHOUSE_ROLES)
@require_POST
def shipment_dispatch(request, pk):
    shipment, lines = _visible_shipment(request, pk)
    form = DispatchForm(request.POST)
    if form.is_valid():
        try:
            shipping.dispatch_shipment(actor=request.user, shipment=shipment, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Shipment %(number)s was dispatched.") % {"number": shipment.number})
            return redirect("inventory:shipment_detail", pk=shipment.pk)
    return _shipment_page(request, shipment, lines, dispatch_form=form)


@role_required(*WAREHOUSE_ROLES)
@require_POST
def shipment_confirm_delivery(request, pk):
    shipment, lines = _visible_shipment(request, pk)
    form = DeliveryForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            shipping.confirm_delivery(
                actor=request.user, shipment=shipment, signed_receipt=form.cleaned_data.get("signed_receipt"),
                delivered_on=form.cleaned_data.get("delivered_on"),
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Delivery of shipment %(number)s was confirmed.") % {"number": shipment.number})
            return redirect("inventory:shipment_detail", pk=shipment.pk)
    return _shipment_page(request, shipment, lines, delivery_form=form)


@login_required
def shipment_signed_receipt(request, pk):
    """Serve the signed receipt only to users who may see the shipment; media files are not public."""
    shipment, _lines = _visible_shipment(request, pk)
    if not shipment.signed_receipt:
        raise Http404
    return FileResponse(shipment.signed_receipt.open("rb"), filename=shipment.signed_receipt.name.rsplit("/", 1)[-1])


def _company():
    return {
        "name": settings.COMPANY_NAME,
        "address": settings.COMPANY_ADDRESS,
        "phone": settings.COMPANY_PHONE,
        "licence_number": settings.COMPANY_LICENCE_NUMBER,
    }


@login_required
def review_record(request, pk, review_pk):
    """Render an outbound review record for printing."""
    shipment, _lines = _visible_shipment(request, pk)
    review = get_object_or_404(shipment.reviews.select_related("reviewer"), pk=review_pk)
    review_lines = list(review.lines.select_related("shipment_line__product").order_by("shipment_line_id"))
    for review_line in review_lines:
        review_line.reason = shipping.review_line_reason(review_line)
    return render(
        request, "inventory/review_record.html", {"shipment": shipment, "review": review, "review_lines": review_lines, "company": _company()}
    )


@role_required(*WAREHOUSE_ROLES)
@require_POST
def shipment_cancel_picking(request, pk):
    shipment, lines = _visible_shipment(request, pk)
    form = ReasonForm(request.POST, prefix="cancel")
    if form.is_valid():
        try:
            outcome = shipping.cancel_picking(actor=request.user, shipment=shipment, reason=form.cleaned_data["reason"])
        except DomainError as error:
            add_domain_error(form, error)
        else:
            text = _("The picking of shipment %(number)s was cancelled; %(quantity)s units are back in stock.") % {
                "number": shipment.number, "quantity": outcome.restocked,
            }
            if outcome.backordered:
                messages.warning(request, f"{text} {shipping.backorder_message(outcome)}")
            else:
                messages.success(request, text)
            return redirect("inventory:shipment_detail", pk=shipment.pk)
    messages.error(request, _("The picking was not cancelled; see the form below."))
    return _shipment_page(request, shipment, lines, cancel_form=form)


def _delivery_note(request, shipment, lines, *, print_number=None):
    passed_review = shipment.reviews.filter(result=ReviewResult.PASSED).select_related("reviewer").order_by("-reviewed_at", "-pk").first()
    return render(
        request,
        "inventory/delivery_note.html",
        {
            "shipment": shipment,
            "lines": lines,
            "total_quantity": sum(line.quantity for line in lines),
            "company": _company(),
            # Without a print number the page is a preview, marked so that a sheet printed from it is not taken for the original.
            "is_preview": print_number is None,
            "is_copy": print_number is not None and print_number > 1,
            "print_number": print_number,
            "review": passed_review,
            "may_print": request.user.has_role(*shipping.PRINT_ROLES) and shipment.status != "cancelled",
        },
    )


@login_required
def delivery_note(request, pk):
    """Preview a shipment's accompanying delivery note (随货同行单); a preview is not counted as a print."""
    shipment, lines = _visible_shipment(request, pk)
    return _delivery_note(request, shipment, lines)


@role_required(*shipping.PRINT_ROLES)
@require_POST
def delivery_note_print(request, pk):
    """Record a print of the delivery note and render it for A4 paper: the first print is the original, later ones copies."""
    shipment, lines = _visible_shipment(request, pk)
    try:
        print_number = shipping.print_delivery_note(actor=request.user, shipment=shipment)
    except DomainError as error:
        report_domain_error(request, error)
        return redirect("inventory:shipment_detail", pk=shipment.pk)
    shipment.refresh_from_db(fields=["delivery_note_prints"])
    return _delivery_note(request, shipment, lines, print_number=print_number)


@role_required(Role.QUALITY_OFFICER, Role.MANAGER)
def quarantine_list(request):
    """List quarantined lots with their stock per warehouse; the quality officer releases a lot here, with the reason."""
    form = ReasonForm(request.POST or None, prefix="release")
    if request.method == "POST":
        lot_id = request.POST.get("lot", "")
        if not lot_id.isdigit():
            raise Http404
        lot = get_object_or_404(Lot.objects.select_related("product"), pk=int(lot_id))
        if form.is_valid():
            try:
                services.release_lot_from_quarantine(actor=request.user, lot=lot, note=form.cleaned_data["reason"])
            except DomainError as error:
                report_domain_error(request, error)
            else:
                messages.success(request, _("Lot %(lot)s of “%(product)s” was released from quarantine and may be sold again.") % {
                    "lot": lot.lot_number, "product": lot.product,
                })
            return redirect("inventory:quarantine_list")
        messages.error(request, _("Give the reason for releasing lot %(lot)s.") % {"lot": lot.lot_number})
    page_obj = paginate(request, selectors.quarantined_lots())
    today = local_today()
    for lot in page_obj:
        lot.expiry_state = _expiry_state(lot.expiry_date, today)
    return render(request, "inventory/quarantine_list.html", {"page_obj": page_obj, "form": form})


def _export_ledger(entries):
    headers = [
        _("Time"), _("Warehouse"), _("Product"), _("SKU"), _("Lot number"), _("Expiry date"), _("Quantity"),
        _("Balance of the lot in the warehouse"), _("Movement type"), _("Document number"), _("User"),
    ]
    rows = [
        [
            timezone.localtime(entry.created_at).replace(tzinfo=None), entry.warehouse.name, entry.lot.product.name, entry.lot.product.sku,
            entry.lot.lot_number, entry.lot.expiry_date, entry.quantity, entry.running_balance, entry.get_reason_display(),
            entry.reference, entry.created_by.display_name,
        ]
        for entry in entries
    ]
    return xlsx_response("stock-ledger", _("Stock ledger"), headers, rows)


@role_required(*selectors.STOCK_CONTROL_ROLES)
def ledger(request):
    form = LedgerFilterForm(request.GET)
    if not form.is_valid():
        # A filter that cannot be applied shows its error and no rows, rather than every row unfiltered.
        return render(request, "inventory/ledger.html", {"filter_form": form, "page_obj": None})
    data = form.cleaned_data
    entries = selectors.with_running_balance(
        selectors.ledger_entries(
            warehouse=data.get("warehouse"),
            reason=data.get("reason", ""),
            search=data.get("q", "").strip(),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )
    )
    if request.GET.get("export") == "xlsx":
        return _export_ledger(entries)
    return render(request, "inventory/ledger.html", {"filter_form": form, "page_obj": paginate(request, entries)})


@role_required(*selectors.STOCK_CONTROL_ROLES)
def transfer_list(request):
    form = TransferForm(request.POST or None) if request.user.has_role(*WAREHOUSE_ROLES) else None
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            transfer = stock_control.transfer_stock(actor=request.user, **form.transfer_arguments())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(
                request,
                _("Transfer %(number)s: %(quantity)s of lot %(lot)s moved from %(source)s to %(target)s.")
                % {
                    "number": transfer.number, "quantity": transfer.quantity, "lot": transfer.lot.lot_number,
                    "source": transfer.from_warehouse, "target": transfer.to_warehouse,
                },
            )
            return redirect("inventory:transfer_list")
    transfers = StockTransfer.objects.select_related("lot", "lot__product", "from_warehouse", "to_warehouse", "created_by").order_by(
        "-created_at", "-pk"
    )
    return render(request, "inventory/transfer_list.html", {"form": form, "page_obj": paginate(request, transfers)})


@role_required(*selectors.STOCK_CONTROL_ROLES)
def stock_count_list(request):
    counts = StockCount.objects.select_related("warehouse", "counted_by", "decided_by").order_by("-counted_at", "-pk")
    status = request.GET.get("status", "")
    if status in StockCountStatus.values:
        counts = counts.filter(status=status)
    start_form = StockCountStartForm() if request.user.has_role(*WAREHOUSE_ROLES) else None
    return render(
        request,
        "inventory/stock_count_list.html",
        {"page_obj": paginate(request, counts), "start_form": start_form, "status": status, "statuses": StockCountStatus.choices},
    )


@role_required(*WAREHOUSE_ROLES)
def stock_count_create(request):
    start = StockCountStartForm(request.GET or None)
    if not start.is_valid():
        return redirect("inventory:stock_count_list")
    warehouse = start.cleaned_data["warehouse"]
    balances = list(
        StockBalance.objects.filter(warehouse=warehouse, on_hand__gt=0).select_related("lot", "lot__product").order_by("lot__product__sku", "lot__expiry_date")
    )
    # The counted quantity starts empty: a prefilled book quantity could be submitted without counting.
    initial = [{"lot": balance.lot_id} for balance in balances]
    formset = StockCountLineFormSet(request.POST or None, initial=initial, prefix="count")
    for form, balance in zip(formset.forms, balances):
        form.balance = balance
        form.fields["counted_quantity"].lot_number = balance.lot.lot_number
    if request.method == "POST" and formset.is_valid():
        lines = [dict(form.cleaned_data) for form in formset.forms if form.cleaned_data]
        try:
            count = stock_control.submit_stock_count(actor=request.user, warehouse=warehouse, lines=lines)
        except DomainError as error:
            _show_count_errors(formset, error)
        else:
            messages.success(request, _("Stock count %(number)s was recorded and waits for approval.") % {"number": count.number})
            return redirect("inventory:stock_count_detail", pk=count.pk)
    return render(request, "inventory/stock_count_form.html", {"warehouse": warehouse, "formset": formset})


def _show_count_errors(formset, error):
    field_errors = getattr(error, "field_errors", None) or {}
    if not field_errors:
        formset._non_form_errors = formset.error_class([str(error)])
        return
    for key, errors in field_errors.items():
        index_text, _sep, field = key.partition("].")
        index = index_text.removeprefix("lines[")
        if index.isdigit() and int(index) < len(formset.forms):
            form = formset.forms[int(index)]
            for message in errors:
                form.add_error(field if field in form.fields else None, message)
        else:
            formset._non_form_errors = formset.error_class(list(errors))


@role_required(*selectors.STOCK_CONTROL_ROLES)
def stock_count_detail(request, pk):
    count = get_object_or_404(StockCount.objects.select_related("warehouse", "counted_by", "decided_by"), pk=pk)
    form = DecisionForm(request.POST or None)
    if request.method == "POST":
        service = stock_control.approve_stock_count if request.POST.get("decision") == "approve" else stock_control.reject_stock_count
        form.is_valid()
        try:
            service(actor=request.user, count=count, note=form.cleaned_data.get("note", ""))
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Stock count %(number)s was decided.") % {"number": count.number})
            return redirect("inventory:stock_count_detail", pk=count.pk)
    lines = list(count.lines.select_related("lot", "lot__product").order_by("pk"))
    # Differences are what the approver decides on, so they are shown alone unless all lines are asked for.
    show_all = request.GET.get("lines") == "all"
    shown_lines = lines if show_all else [line for line in lines if line.difference]
    may_decide = (
        count.status == StockCountStatus.SUBMITTED
        and request.user.has_role(*stock_control.COUNT_APPROVAL_ROLES)
        and count.counted_by_id != request.user.pk
    )
    return render(
        request,
        "inventory/stock_count_detail.html",
        {
            "count": count, "lines": shown_lines, "line_total": len(lines), "difference_total": sum(1 for line in lines if line.difference),
            "show_all": show_all, "form": form, "may_decide": may_decide,
        },
    )
