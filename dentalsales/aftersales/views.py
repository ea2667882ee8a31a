"""Web screens of after-sales: complaints, the adverse-event queue, returns, call-backs and the satisfaction report."""

import json
import logging
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES, Role
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError, InvalidTransition, NotPermitted
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.views import add_domain_error, paginate, report_domain_error
from dentalsales.customers.selectors import visible_customers
from dentalsales.quality.selectors import can_view_recalls

from . import selectors, services
from .forms import (
    AssessForm,
    CallbackForm,
    CloseForm,
    ComplaintFilterForm,
    ComplaintForm,
    NoteForm,
    ReasonForm,
    ReopenForm,
    ResolveForm,
    ReturnCustomerForm,
    ReturnFilterForm,
    ReturnHeaderForm,
    SatisfactionReportForm,
)
from .models import CallbackStatus, ComplaintAction, ComplaintCategory, Disposition, ReturnReason, ReturnStatus
from .services.complaints import COMPLAINT_ROLES
from .services.returns import RECEIVING_ROLES
from .services.stock import must_be_quarantined

logger = logging.getLogger(__name__)


def _visible_complaint(request, pk):
    return get_object_or_404(
        selectors.visible_complaints(request.user).select_related("customer", "owner", "product", "lot", "escalated_to"), pk=pk
    )


@login_required
def complaint_list(request):
    filter_form = ComplaintFilterForm(request.GET)
    rows = selectors.complaint_list(request.user, **filter_form.filters())
    if request.GET.get("export") == "xlsx":
        return _export_complaints(request, rows)
    context = {
        "filter_form": filter_form,
        "page_obj": paginate(request, rows),
        "can_create": request.user.has_role(*COMPLAINT_ROLES),
        "counts": selectors.complaint_counts(request.user),
    }
    template = "aftersales/_complaint_results.html" if request.htmx else "aftersales/complaint_list.html"
    return render(request, template, context)


def _export_complaints(request, rows):
    headers = [
        _("Complaint number"), _("Received on"), _("Due date"), _("Customer code"), _("Customer"), _("Channel"),
        _("Category"), _("Severity"), _("Product"), _("Lot number"), _("Person responsible"), _("Status"),
        _("Suspected adverse event"), _("Satisfaction"), _("Description"), _("Resolution"), _("Root cause"),
    ]
    data = [
        [
            complaint.number, complaint.received_on, complaint.due_date, complaint.customer.code, complaint.customer.name,
            complaint.get_channel_display(), complaint.get_category_display(), complaint.get_severity_display(),
            complaint.product.name if complaint.product_id else "", complaint.lot.lot_number if complaint.lot_id else "",
            complaint.owner.display_name, complaint.get_status_display(),
            _("Yes") if complaint.suspected_adverse_event else _("No"), complaint.satisfaction_score,
            complaint.description, complaint.resolution, complaint.root_cause,
        ]
        for complaint in rows
    ]
    logger.info("Complaint list exported by user %s: %s rows", request.user.pk, len(data))
    return xlsx_response("complaints", _("Complaints"), headers, data)


@role_required(*COMPLAINT_ROLES)
def complaint_create(request):
    if request.method == "POST":
        form = ComplaintForm(request.POST, user=request.user)
        if form.is_valid():
            try:
                complaint = services.create_complaint(actor=request.user, **form.service_fields())
            except DomainError as error:
                logger.warning("Complaint entry failed for user %s: %s", request.user.pk, error.code)
                add_domain_error(form, error)
            else:
                messages.success(request, _("Complaint %(number)s was recorded; it is due by %(date)s.") % {"number": complaint.number, "date": complaint.due_date})
                return redirect("aftersales:complaint_detail", pk=complaint.pk)
    else:
        form = ComplaintForm(initial={"customer": request.GET.get("customer")}, user=request.user)
    return render(request, "aftersales/complaint_form.html", {"form": form, "complaint": None})


@role_required(*COMPLAINT_ROLES)
def complaint_edit(request, pk):
    complaint = _visible_complaint(request, pk)
    if "edit" not in services.allowed_complaint_actions(complaint, request.user):
        messages.error(request, _("Complaint %(number)s is %(status)s; reopen it before changing it.") % {"number": complaint.number, "status": complaint.get_status_display()})
        return redirect("aftersales:complaint_detail", pk=complaint.pk)
    if request.method == "POST":
        form = ComplaintForm(request.POST, user=request.user, complaint=complaint)
        if form.is_valid():
            try:
                services.update_complaint(actor=request.user, complaint=complaint, **form.service_fields())
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(request, _("Complaint %(number)s was saved.") % {"number": complaint.number})
                return redirect("aftersales:complaint_detail", pk=complaint.pk)
    else:
        initial = {
            name: getattr(complaint, name)
            for name in ("channel", "category", "severity", "contact_name", "contact_phone", "description", "root_cause")
        }
        initial.update({"product": complaint.product_id, "lot_number": complaint.lot.lot_number if complaint.lot_id else ""})
        form = ComplaintForm(initial=initial, user=request.user, complaint=complaint)
    return render(request, "aftersales/complaint_form.html", {"form": form, "complaint": complaint})


@login_required
def complaint_detail(request, pk):
    return _render_complaint_detail(request, _visible_complaint(request, pk))


def _render_complaint_detail(request, complaint, *, bound_form=None, open_panel=""):
    """Render the complaint page; ``bound_form`` replaces the empty form of ``open_panel``, whose panel is shown open."""
    sees_lot_customers = request.user.has_role(*selectors.LOT_TRACE_ROLES)
    forms_by_panel = {
        "add_action": ("note_form", NoteForm(prefix="note")),
        "resolve": (
            "resolve_form",
            ResolveForm(
                prefix="resolve",
                initial={"resolution": complaint.resolution, "root_cause": complaint.root_cause},
                root_cause_required=complaint.category == ComplaintCategory.QUALITY,
            ),
        ),
        "close": ("close_form", CloseForm(prefix="close")),
        "reopen": ("reopen_form", ReopenForm(prefix="reopen")),
        "assess": ("assess_form", AssessForm(prefix="assess")),
    }
    context = {
        "complaint": complaint,
        "actions": services.allowed_complaint_actions(complaint, request.user),
        "log": ComplaintAction.objects.filter(complaint=complaint).select_related("actor").order_by("pk"),
        "lot_customers": selectors.lot_other_customers(complaint) if sees_lot_customers else None,
        "main_contact": None if complaint.contact_name else selectors.main_contact(request.user, complaint.customer),
        "open_panel": open_panel,
    }
    for panel, (name, form) in forms_by_panel.items():
        context[name] = bound_form if panel == open_panel and bound_form is not None else form
    return render(request, "aftersales/complaint_detail.html", context)


# The forms of the actions whose typed text is shown again when the service refuses them.
ACTION_FORMS = {
    "add_action": (NoteForm, "note"),
    "resolve": (ResolveForm, "resolve"),
    "close": (CloseForm, "close"),
    "reopen": (ReopenForm, "reopen"),
    "assess": (AssessForm, "assess"),
}


@require_POST
@role_required(*COMPLAINT_ROLES)
def complaint_action(request, pk, action):
    complaint = _visible_complaint(request, pk)
    form = None
    if action in ACTION_FORMS:
        form_class, prefix = ACTION_FORMS[action]
        extra = {"root_cause_required": complaint.category == ComplaintCategory.QUALITY} if action == "resolve" else {}
        form = form_class(request.POST, prefix=prefix, **extra)
        form.is_valid()
    try:
        if action == "add_action":
            services.record_complaint_action(actor=request.user, complaint=complaint, note=form.cleaned_data.get("note", ""))
            done = _("The action was added to complaint %(number)s.")
        elif action == "flag_adverse_event":
            note_form = NoteForm(request.POST, prefix="note")
            note_form.is_valid()
            services.flag_adverse_event(actor=request.user, complaint=complaint, note=note_form.cleaned_data.get("note", ""))
            done = _("Complaint %(number)s was sent to the quality officer as a suspected adverse event.")
        elif action == "assess":
            services.assess_adverse_event(
                actor=request.user, complaint=complaint,
                outcome=form.cleaned_data.get("outcome", request.POST.get("assess-outcome")), note=form.cleaned_data.get("note", ""),
            )
            done = _("The assessment of complaint %(number)s was recorded.")
        elif action in services.COMPLAINT_TRANSITIONS:
            if form is None:
                note_form = NoteForm(request.POST, prefix="note")
                note_form.is_valid()
                values = {"note": note_form.cleaned_data.get("note", "")}
            else:
                values = {name: form.cleaned_data.get(name, "") for name in form.fields}
            if action == "close":
                values["satisfaction_score"] = values["satisfaction_score"] or None
            services.change_complaint_status(actor=request.user, complaint=complaint, action=action, **values)
            done = _("Complaint %(number)s is now %(status)s.")
        else:
            raise Http404
    except DomainError as error:
        logger.warning("Complaint %s: %s failed for user %s: %s", complaint.pk, action, request.user.pk, error.code)
        if form is None or isinstance(error, (NotPermitted, InvalidTransition)):
            report_domain_error(request, error)
        else:
            # Keep what the user typed and open the panel again, with the message beside its field.
            add_domain_error(form, error)
            return _render_complaint_detail(request, complaint, bound_form=form, open_panel=action)
    else:
        complaint.refresh_from_db()
        messages.success(request, done % {"number": complaint.number, "status": complaint.get_status_display()})
    return redirect("aftersales:complaint_detail", pk=complaint.pk)


@role_required(Role.QUALITY_OFFICER, Role.MANAGER, Role.ADMINISTRATOR)
def adverse_event_queue(request):
    complaints = list(selectors.adverse_event_queue(request.user))
    return render(request, "aftersales/adverse_event_queue.html", {"complaints": complaints})


def _visible_return(request, pk):
    return get_object_or_404(selectors.visible_returns(request.user).select_related("customer", "owner", "replacement_order"), pk=pk)


@login_required
def return_list(request):
    filter_form = ReturnFilterForm(request.GET)
    rows = selectors.return_list(request.user, **filter_form.filters())
    if request.GET.get("export") == "xlsx":
        headers = [_("Return number"), _("Kind"), _("Customer code"), _("Customer"), _("Sales representative"), _("Status"), _("Returned value"), _("Replacement order"), _("Credit note")]
        data = [
            [
                item.number, item.get_kind_display(), item.customer.code, item.customer.name, item.owner.display_name,
                item.get_status_display(), item.total_amount,
                item.replacement_order.number if item.replacement_order_id else "", item.credit_note_number,
            ]
            for item in rows
        ]
        logger.info("Return list exported by user %s: %s rows", request.user.pk, len(data))
        return xlsx_response("returns", _("Returns and exchanges"), headers, data)
    context = {"filter_form": filter_form, "page_obj": paginate(request, rows), "can_create": request.user.has_role(*SALES_ROLES)}
    template = "aftersales/_return_results.html" if request.htmx else "aftersales/return_list.html"
    return render(request, template, context)


@role_required(*SALES_ROLES)
def return_create(request):
    """Step one picks the customer (GET); step two lists its returnable shipment lines with a quantity and reason each."""
    source = request.POST if request.method == "POST" else request.GET
    customer_form = ReturnCustomerForm(source or None, user=request.user)
    raw_customer = str(source.get("customer", "")).strip()
    customer = None
    customer_error = ""
    if raw_customer:
        # Another representative's customer, or no customer at all, is a 404 like every other record the user may not see.
        customer = visible_customers(request.user).filter(pk=as_int(raw_customer)).first() if as_int(raw_customer) else None
        if customer is None:
            raise Http404
    elif "customer" in source:
        customer_error = _("Choose the customer whose shipped goods you want to return.")
    lines = selectors.returnable_lines(request.user, customer) if customer else []
    header_form = ReturnHeaderForm(request.POST if request.method == "POST" else None, initial={"kind": "return"})
    errors = []
    entered = {}

    if request.method == "POST":
        entered, requested = _entered_lines(request.POST, lines)
        header_form.is_valid()
        try:
            created = services.create_return(
                actor=request.user,
                customer=customer.pk if customer else source.get("customer"),
                kind=header_form.cleaned_data.get("kind", request.POST.get("kind")),
                lines=requested,
                note=header_form.cleaned_data.get("note", ""),
            )
        except DomainError as error:
            logger.warning("Return entry failed for user %s: %s", request.user.pk, error.code)
            errors = _line_messages(error, requested, lines)
        else:
            messages.success(request, _("%(kind)s %(number)s was requested and sent for approval.") % {"kind": created.get_kind_display(), "number": created.number})
            return redirect("aftersales:return_detail", pk=created.pk)

    for line in lines:
        line.entered = entered.get(line.pk, {})
        line.expired = must_be_quarantined(line.lot)
    context = {
        "customer_form": customer_form,
        "customer_error": customer_error,
        "customer": customer,
        "lines": lines,
        "header_form": header_form,
        "reasons": ReturnReason.choices,
        "errors": errors,
    }
    return render(request, "aftersales/return_form.html", context)


@require_POST
@role_required(*SALES_ROLES)
def return_scan(request):
    """Find the returnable shipment line of ``?customer=`` that a scanned GS1 barcode names (JSON, for the return form).

    Responds in the UDI parse API's format, so the shared scan field can call
    it: 200 with the parsed values and ``shipment_lines``, or 400 with ``detail``.
    """
    customer = visible_customers(request.user).filter(pk=as_int(request.GET.get("customer"))).first()
    if customer is None:
        raise Http404
    try:
        payload = json.loads(request.body or b"{}")
    except ValueError:
        payload = {}
    barcode = payload.get("barcode", "") if isinstance(payload, dict) else ""
    try:
        found = selectors.match_scanned_line(request.user, customer, str(barcode))
    except DomainError as error:
        logger.warning("Return scan for customer %s by user %s rejected: %s", customer.pk, request.user.pk, error.code)
        return JsonResponse({"detail": str(error), "code": error.code}, status=400)
    values = found["values"]
    return JsonResponse(
        {
            "gtin": values["gtin"],
            "lot_number": values["lot_number"],
            "production_date": values["production_date"].isoformat() if values["production_date"] else None,
            "expiry_date": values["expiry_date"].isoformat() if values["expiry_date"] else None,
            "serial_number": values["serial_number"],
            "shipment_lines": [line.pk for line in found["lines"]],
            "message": _("Lot %(lot)s was shipped on several lines; the newest is chosen.") % {"lot": values["lot_number"]}
            if len(found["lines"]) > 1
            else "",
        }
    )


def _entered_lines(data, lines):
    """Return what the user typed per shipment line, and the service's line dicts for the lines with a quantity."""
    entered = {}
    requested = []
    for line in lines:
        values = {
            "quantity": data.get(f"quantity-{line.pk}", "").strip(),
            "reason": data.get(f"reason-{line.pk}", ""),
            "reason_note": data.get(f"note-{line.pk}", ""),
        }
        entered[line.pk] = values
        if values["quantity"] and values["quantity"] != "0":
            requested.append({"shipment_line": line.pk, "lot_number": line.lot_number, **values})
    return entered, requested


def _line_messages(error, requested, lines):
    """Return the error's messages, each prefixed with the product and lot of the line it names."""
    by_pk = {line.pk: line for line in lines}
    texts = []
    field_errors = getattr(error, "field_errors", {}) or {}
    if not field_errors:
        return [str(error)]
    for key, values in field_errors.items():
        prefix = ""
        if key.startswith("lines[") and "]" in key:
            index = as_int(key[6:key.index("]")])
            if index is not None and index < len(requested):
                line = by_pk.get(requested[index]["shipment_line"])
                if line is not None:
                    prefix = f"{line.product_name} {line.lot_number}: "
        texts.extend(prefix + str(value) for value in values)
    return texts


def as_int(value):
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdecimal() and int(text) < 2**63 else None


@login_required
def return_detail(request, pk):
    item = _visible_return(request, pk)
    lines = list(item.lines.select_related("lot", "shipment_line__shipment", "warehouse").order_by("pk"))
    for line in lines:
        line.must_quarantine = must_be_quarantined(line.lot)
    recalls = selectors.recalls_by_lot({line.lot_id for line in lines}, customer_id=item.customer_id)
    recalled_lines = [
        {"lot": line.lot.lot_number, "recall": recall} for line in lines for recall in recalls.get(line.lot_id, [])
    ]
    received = sum(line.received_quantity or 0 for line in lines)
    approved = sum(line.quantity for line in lines)
    replacement_short = None
    if item.replacement_order_id and item.status == ReturnStatus.RECEIVED and received < approved:
        replacement_short = {"received": received, "approved": approved}
    context = {
        "item": item,
        "lines": lines,
        "recalled_lines": list({(row["lot"], row["recall"].pk): row for row in recalled_lines}.values()),
        "can_view_recalls": can_view_recalls(request.user),
        "replacement_short": replacement_short,
        "actions": services.allowed_return_actions(item, request.user),
        "changes": item.status_changes.select_related("actor").order_by("pk"),
        "reason_form": ReasonForm(),
        "dispositions": Disposition.choices,
    }
    return render(request, "aftersales/return_detail.html", context)


@require_POST
@role_required(*(SALES_ROLES | REVIEW_ROLES | RECEIVING_ROLES))
def return_action(request, pk, action):
    item = _visible_return(request, pk)
    try:
        if action == "approve":
            item = services.approve_return(actor=request.user, request=item, note=request.POST.get("note", ""))
            done = _("Return %(number)s was approved.")
            if item.replacement_order_id:
                done = _("Exchange %(number)s was approved; replacement order %(order)s was submitted for review.")
        elif action == "reject":
            services.reject_return(actor=request.user, request=item, reason=request.POST.get("reason", ""))
            done = _("Return %(number)s was rejected.")
        elif action == "cancel":
            services.cancel_return(actor=request.user, request=item, reason=request.POST.get("reason", ""))
            done = _("Return %(number)s was cancelled.")
        elif action == "receive":
            item = services.receive_return(
                actor=request.user, request=item, lines=_receipt_entries(request.POST, item), note=request.POST.get("note", "")
            )
            done = _("Return %(number)s was received; credit note %(credit)s was issued.")
            if not item.credit_note_number:
                done = _("Return %(number)s was received; nothing arrived, so no credit note was issued.")
        else:
            raise Http404
    except DomainError as error:
        logger.warning("Return %s: %s failed for user %s: %s", item.pk, action, request.user.pk, error.code)
        for values in (getattr(error, "field_errors", None) or {"": [str(error)]}).values():
            for value in values:
                messages.error(request, value)
    else:
        messages.success(
            request,
            done % {"number": item.number, "order": item.replacement_order.number if item.replacement_order_id else "", "credit": item.credit_note_number},
        )
    return redirect("aftersales:return_detail", pk=item.pk)


# Form field prefixes of the receipt form, per return line, and the service's keys.
RECEIPT_FIELDS = {
    "received": "received_quantity",
    "stock": "stock_quantity",
    "quarantine": "quarantine_quantity",
    "scrap": "scrap_quantity",
    "receipt-note": "note",
    "disposition": "disposition",
}


def _receipt_entries(data, item):
    """Return the service's receipt entries, one per return line, from the ``<field>-<line id>`` inputs of the receipt form."""
    entries = []
    for line_id in item.lines.order_by("pk").values_list("pk", flat=True):
        entry = {"id": line_id}
        for prefix, key in RECEIPT_FIELDS.items():
            value = data.get(f"{prefix}-{line_id}")
            if value is not None:
                entry[key] = value.strip()
        entries.append(entry)
    return entries


@role_required(*SALES_ROLES)
def callback_list(request):
    due_only = request.GET.get("due") == "1"
    status = request.GET.get("status", "")
    rows = selectors.callback_list(request.user, status=status if status in ("scheduled", "done", "unreachable") else "", due_only=due_only)
    return render(
        request,
        "aftersales/callback_list.html",
        {
            "page_obj": paginate(request, rows),
            "due_only": due_only,
            "status": status,
            "form": CallbackForm(),
            "max_attempts": settings.SATISFACTION_CALLBACK_MAX_ATTEMPTS,
        },
    )


@require_POST
@role_required(*SALES_ROLES)
def callback_record(request, pk):
    callback = get_object_or_404(selectors.visible_callbacks(request.user).select_related("shipment"), pk=pk)
    form = CallbackForm(request.POST, prefix=f"cb{pk}")
    form.is_valid()
    try:
        outcome = form.cleaned_data.get("reached", "1")
        callback = services.record_callback(
            actor=request.user,
            callback=callback,
            reached=outcome == "1",
            score=form.cleaned_data.get("score") or None,
            comment=form.cleaned_data.get("comment", ""),
            retry_on=form.cleaned_data.get("retry_on") or None,
            close_unreachable=outcome == "close",
        )
    except DomainError as error:
        report_domain_error(request, error)
    else:
        if callback.status == CallbackStatus.SCHEDULED:
            messages.success(
                request,
                _("Unanswered call %(attempt)s to the customer of shipment %(shipment)s was recorded; call again on %(date)s.")
                % {"attempt": callback.unreachable_attempts, "shipment": callback.shipment.number, "date": callback.due_date},
            )
        else:
            messages.success(request, _("The call-back for shipment %(shipment)s was recorded.") % {"shipment": callback.shipment.number})
    return redirect("aftersales:callback_list")


def _rounded(value):
    """Return an average as a Decimal with two places, so that the Excel cell is a number shown as 0.00."""
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@role_required(*SALES_ROLES)
def satisfaction_report(request):
    form = SatisfactionReportForm(request.GET)
    if not form.is_valid():
        # An invalid or reversed period would otherwise read as "no scores in this period".
        for message in form.all_error_messages():
            messages.error(request, message)
        return render(request, "aftersales/satisfaction_report.html", {"form": form, "rows": [], "dimension": "representative", "invalid": True})
    filters = form.filters()
    rows = selectors.satisfaction_report(request.user, **filters)
    if request.GET.get("export") == "xlsx":
        headers = [
            dict(SatisfactionReportForm.DIMENSIONS)[filters["dimension"]], _("Scores"), _("Average score"),
            _("Call-backs scored"), _("Call-back average"), _("Complaints scored"), _("Complaint average"),
        ]
        data = [
            [
                row["label"], row["count"], _rounded(row["average"]), row["callback_count"], _rounded(row["callback_average"]),
                row["complaint_count"], _rounded(row["complaint_average"]),
            ]
            for row in rows
        ]
        return xlsx_response("satisfaction", _("Customer satisfaction"), headers, data)
    return render(request, "aftersales/satisfaction_report.html", {"form": form, "rows": rows, "dimension": filters["dimension"]})
