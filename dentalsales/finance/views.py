"""Web screens of finance: receivables and aging, statements, payments, credit notes, credit releases, collection rate."""

import logging
import uuid

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST
from openpyxl.styles import Font

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import Role
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.money import amount_in_chinese_capitals, format_money
from dentalsales.core.spreadsheets import append_sheet, build_workbook, workbook_response, xlsx_response
from dentalsales.core.timeutils import local_today
from dentalsales.core.views import add_domain_error, paginate, report_domain_error

from . import selectors, services
from .forms import (
    CreditNoteFilterForm,
    CreditNoteForm,
    CreditReleaseForm,
    PaymentForm,
    ReasonForm,
    ReceivableFilterForm,
    StatementForm,
)
from .models import DocumentStatus, Receivable
from .selectors import AGING_BUCKETS, FINANCE_VIEW_ROLES

logger = logging.getLogger(__name__)

# Everyone who sees receivables sees the payments of the same customers, read
# only: representatives follow up collection with their customers and must
# know what arrived. The web and the API apply the same rule.
PAYMENT_SCREEN_ROLES = FINANCE_VIEW_ROLES
AGING_GROUPS = {
    "customer": gettext_lazy("Customer"),
    "owner": gettext_lazy("Sales representative"),
    "region": gettext_lazy("Region"),
}


def _can_write(user):
    return user.has_role(*services.FINANCE_WRITE_ROLES)


def _filter_choices(user):
    """Return the representatives and provinces to filter by, taken from the receivables visible to ``user``."""
    receivables = selectors.visible_receivables(user)
    owners = User.objects.filter(pk__in=receivables.values("customer__owner")).order_by("username")
    provinces = {}
    for code, full_name in receivables.filter(customer__region__isnull=False).values_list(
        "customer__region__code", "customer__region__full_name"
    ).distinct():
        provinces[code[:2]] = full_name.split()[0]
    return owners, sorted(provinces.items())


AGING_BASES = {
    selectors.AGING_BASIS_DUE: gettext_lazy("Days past due"),
    selectors.AGING_BASIS_INVOICE: gettext_lazy("Days since invoice"),
}


def _aging_columns(basis):
    """Return ``[(key, header)]`` of the aging columns on ``basis``: "Not due" first when aging by due date."""
    columns = [(selectors.NOT_DUE, _("Not due"))] if basis == selectors.AGING_BASIS_DUE else []
    for key, low, high in AGING_BUCKETS:
        if high is None:
            header = _("Over %(low)s days") % {"low": low - 1}
        else:
            # Past due starts at day 1: a receivable due today is not due yet.
            first = 1 if basis == selectors.AGING_BASIS_DUE and low == 0 else low
            header = _("%(low)s–%(high)s days") % {"low": first, "high": high}
        columns.append((key, header))
    return columns


@role_required(*FINANCE_VIEW_ROLES)
def receivable_list(request):
    owners, provinces = _filter_choices(request.user)
    filter_form = ReceivableFilterForm(request.GET, owners=owners, provinces=provinces)
    rows = selectors.receivable_list(request.user, **filter_form.filters())
    today = local_today()
    if request.GET.get("export") == "xlsx":
        return _export_receivables(request, rows, today)
    context = {
        "filter_form": filter_form,
        "page_obj": paginate(request, rows),
        "totals": selectors.receivable_totals(rows),
        "today": today,
        "tab": "receivables",
        "can_write": _can_write(request.user),
    }
    template = "finance/_receivable_results.html" if request.htmx else "finance/receivable_list.html"
    return render(request, template, context)


@role_required(*FINANCE_VIEW_ROLES)
def receivable_detail(request, pk):
    """Show one receivable with the payments and credit notes that settled it."""
    receivable = get_object_or_404(
        selectors.visible_receivables(request.user).select_related("customer", "representative", "shipment", "order", "created_by"),
        pk=pk,
    )
    context = {
        "receivable": receivable,
        "payment_allocations": receivable.payment_allocations.select_related("payment").order_by("applied_on", "pk"),
        "credit_allocations": receivable.credit_allocations.select_related("credit_note").order_by("applied_on", "pk"),
        "credit_notes": receivable.credit_notes.order_by("issued_on", "pk"),
        "creditable": services.creditable_amount(receivable),
        "overdue_days": receivable.overdue_days(),
        "can_see_payments": request.user.has_role(*PAYMENT_SCREEN_ROLES),
        "can_write": _can_write(request.user),
        "tab": "receivables",
    }
    return render(request, "finance/receivable_detail.html", context)


def _export_receivables(request, rows, today):
    headers = [
        _("Receivable number"), _("Customer code"), _("Customer"), _("Sales representative"), _("Sales order"),
        _("Shipment"), _("Invoice date"), _("Due date"), _("Amount"), _("Credited"), _("Paid"), _("Open amount"),
        _("Days overdue"),
    ]
    data = [
        [
            r.number, r.customer.code, r.customer.name, str(r.customer.owner), getattr(r.order, "number", ""),
            getattr(r.shipment, "number", ""), r.invoiced_on, r.due_on, r.amount, r.credited_amount, r.paid_amount,
            r.open_amount, r.overdue_days(today),
        ]
        for r in rows
    ]
    logger.info("Receivable list exported by user %s: %s rows", request.user.pk, len(data))
    return xlsx_response("receivables", _("Receivables"), headers, data)


@role_required(*FINANCE_VIEW_ROLES)
def aging(request):
    group = request.GET.get("group") if request.GET.get("group") in AGING_GROUPS else "customer"
    basis = request.GET.get("basis") if request.GET.get("basis") in AGING_BASES else selectors.AGING_BASIS_DUE
    owners, provinces = _filter_choices(request.user)
    filter_form = ReceivableFilterForm(request.GET, owners=owners, provinces=provinces)
    filters = filter_form.filters()
    filters["status"] = "open"
    receivables = selectors.receivable_list(request.user, **filters)
    rows, totals = selectors.aging_summary(receivables, group_by=group, basis=basis)
    columns = _aging_columns(basis)
    if request.GET.get("export") == "xlsx":
        data = [[row["label"], row["total"], *[row[key] for key, _header in columns], row["overdue"]] for row in rows]
        data.append([_("Total"), totals["total"], *[totals[key] for key, _header in columns], totals["overdue"]])
        logger.info("Aging report exported by user %s: %s rows", request.user.pk, len(data))
        title = _("Aging by due date") if basis == selectors.AGING_BASIS_DUE else _("Aging by invoice date")
        headers = [AGING_GROUPS[group], _("Open amount"), *[header for _key, header in columns], _("Overdue")]
        return xlsx_response(f"aging-{basis}", title, headers, data)
    for row in [*rows, totals]:
        row["cells"] = [(key, row[key]) for key, _header in columns]
    context = {
        "filter_form": filter_form,
        "group": group,
        "groups": AGING_GROUPS,
        "group_label": AGING_GROUPS[group],
        "basis": basis,
        "bases": AGING_BASES,
        "rows": rows,
        "totals": totals,
        "columns": columns,
        "tab": "aging",
    }
    return render(request, "finance/aging.html", context)


@role_required(*FINANCE_VIEW_ROLES)
def statement(request, pk):
    customer = get_object_or_404(selectors.finance_customers(request.user).select_related("owner"), pk=pk)
    date_from, date_to = StatementForm(request.GET).period()
    form = StatementForm(initial={"date_from": date_from, "date_to": date_to})
    data = selectors.customer_statement(customer, date_from=date_from, date_to=date_to)
    kinds = {
        "receivable": _("Receivable"),
        "opening_balance": _("Opening balance"),
        "payment": _("Payment"),
        "credit_note": _("Credit note"),
    }
    for entry in data["entries"]:
        entry["kind_label"] = kinds[entry["kind"]]
    logger.info("Statement of customer %s viewed by user %s (%s)", customer.pk, request.user.pk, request.GET.get("export") or request.GET.get("print") or "screen")
    open_receivables = Receivable.objects.filter(customer=customer, open_amount__gt=0).order_by("invoiced_on", "pk")
    if request.GET.get("export") == "xlsx":
        return _export_statement(data, open_receivables)
    context = {
        "customer": customer,
        "form": form,
        "statement": data,
        "position": selectors.credit_position(customer),
        "open_receivables": open_receivables,
        "closing_in_capitals": amount_in_chinese_capitals(data["closing"]),
        "company_name": settings.COMPANY_NAME,
        "company_address": settings.COMPANY_ADDRESS,
        "company_phone": settings.COMPANY_PHONE,
        "company_bank_name": getattr(settings, "COMPANY_BANK_NAME", ""),
        "company_bank_account": getattr(settings, "COMPANY_BANK_ACCOUNT", ""),
        "today": local_today(),
    }
    template = "finance/statement_print.html" if request.GET.get("print") else "finance/statement.html"
    return render(request, template, context)


@role_required(*FINANCE_VIEW_ROLES)
def customer_credit(request, pk):
    """Render the credit figures on the customer page (htmx fragment)."""
    customer = get_object_or_404(selectors.finance_customers(request.user), pk=pk)
    context = {"customer": customer, "position": selectors.credit_position(customer), "can_write": _can_write(request.user)}
    return render(request, "finance/_customer_credit.html", context)


def _export_statement(data, open_receivables):
    """Return the statement as a workbook: the account on the first sheet, the aging of the open receivables on the second."""
    customer = data["customer"]
    headers = [
        _("Date"), _("Document"), _("Document number"), _("Reference"), _("Due date"),
        pgettext("statement column", "Debit"), pgettext("statement column", "Credit"), _("Balance"),
    ]
    rows = [[data["date_from"], _("Opening balance"), "", "", "", None, None, data["opening"]]]
    rows += [
        [e["date"], e["kind_label"], e["number"], e["reference"], e["due_on"], e["debit"], e["credit"], e["balance"]]
        for e in data["entries"]
    ]
    rows.append([data["date_to"], _("Closing balance"), "", "", "", data["total_debit"], data["total_credit"], data["closing"]])
    title = _("Statement %(customer)s") % {"customer": customer.code}
    workbook = build_workbook(title, headers, rows)
    # A statement is sent to the customer: the sheet itself says whose it is and for when.
    sheet = workbook.active
    sheet.insert_rows(1, 4)
    sheet["A1"] = _("Customer statement")
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = _("Customer: %(name)s (%(code)s)") % {"name": customer.name, "code": customer.code}
    sheet["A3"] = _("Period: %(from)s to %(to)s") % {
        "from": data["date_from"].isoformat(),
        "to": data["date_to"].isoformat(),
    }
    sheet.freeze_panes = "A6"

    today = local_today()
    labels = dict(_aging_columns(selectors.AGING_BASIS_DUE))
    aging_rows = [
        [
            receivable.number, receivable.reference, receivable.invoiced_on, receivable.due_on, receivable.open_amount,
            receivable.overdue_days(today),
            labels[selectors.aging_column(receivable, basis=selectors.AGING_BASIS_DUE, today=today)],
        ]
        for receivable in open_receivables
    ]
    aging_headers = [
        _("Receivable number"), _("Invoice or reference"), _("Invoice date"), _("Due date"), _("Open amount"),
        _("Days past due"), _("Aging by due date"),
    ]
    append_sheet(workbook, _("Open receivables"), aging_headers, aging_rows)
    return workbook_response(f"statement-{customer.code}", workbook)


# Payments ----------------------------------------------------------------


@role_required(*PAYMENT_SCREEN_ROLES)
def payment_list(request):
    status = request.GET.get("status") if request.GET.get("status") in DocumentStatus.values else ""
    search = (request.GET.get("q") or "").strip()[:100]
    unapplied = request.GET.get("unapplied") == "1"
    rows = selectors.payment_list(request.user, status=status, search=search, unapplied=unapplied)
    if request.GET.get("export") == "xlsx":
        headers = [_("Payment number"), _("Received on"), _("Customer"), _("Method"), _("Reference"), _("Amount"), _("Unapplied amount"), _("Status")]
        data = [
            [p.number, p.received_on, p.customer.name, p.get_method_display(), p.reference, p.amount, p.unapplied_amount, p.get_status_display()]
            for p in rows
        ]
        logger.info("Payment list exported by user %s: %s rows", request.user.pk, len(data))
        return xlsx_response("payments", _("Payments"), headers, data)
    context = {
        "page_obj": paginate(request, rows),
        "status": status,
        "search": search,
        "statuses": DocumentStatus.choices,
        "unapplied": unapplied,
        "tab": "payments",
        "can_write": _can_write(request.user),
    }
    return render(request, "finance/payment_list.html", context)


def _manual_allocations(request):
    """Read the by-hand allocation inputs ``allocate-<receivable id>`` that have an amount."""
    allocations = []
    for name, value in request.POST.items():
        if name.startswith("allocate-") and value.strip():
            allocations.append({"receivable": name.removeprefix("allocate-"), "amount": value.strip()})
    return allocations


@role_required(*services.FINANCE_WRITE_ROLES)
def payment_create(request):
    initial = {"customer": request.GET.get("customer")} if request.GET.get("customer") else {}
    form = PaymentForm(request.POST or None, user=request.user, initial=initial)
    allocation_errors = {}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        allocations = _manual_allocations(request) if data["allocation"] == "manual" else None
        if data["allocation"] == "manual" and not allocations:
            form.add_error("allocation", _("Enter the amount for at least one receivable, or allocate oldest first."))
        else:
            try:
                payment = services.record_payment(
                    actor=request.user,
                    customer=data["customer"],
                    received_on=data["received_on"],
                    method=data["method"],
                    amount=data["amount"],
                    reference=data["reference"],
                    note=data["note"],
                    allocations=allocations,
                    idempotency_key=data["token"],
                )
            except DomainError as error:
                if error.code == "idempotency_key_reused":
                    # The form was sent before with other values; a fresh
                    # token lets the user send these values as a new payment.
                    form.data = form.data.copy()
                    form.data["token"] = uuid.uuid4().hex
                    form.add_error(None, _("This form was already sent with other values. Check the values and record the payment again."))
                else:
                    allocation_errors = _allocation_errors(error, allocations or [])
                    if allocation_errors:
                        # Shown once, beside the receivable's input, not again on top.
                        remaining = {k: v for k, v in error.field_errors.items() if not k.startswith("allocations[")}
                        for name, texts in remaining.items():
                            for text in texts:
                                form.add_error(name if name in form.fields else None, text)
                    else:
                        add_domain_error(form, error)
            else:
                if payment.replayed:
                    messages.info(request, _("This form was already sent; payment %(number)s was recorded then.") % {"number": payment.number})
                else:
                    messages.success(request, _("Payment %(number)s recorded.") % {"number": payment.number})
                return redirect("finance:payment_detail", payment.pk)
    customer_id = form["customer"].value()
    context = {
        "form": form,
        "customer_chosen": bool(customer_id),
        "open_receivables": _allocation_rows(
            _open_receivables_for(request.user, customer_id),
            {key.removeprefix("allocate-"): value for key, value in request.POST.items() if key.startswith("allocate-")},
            allocation_errors,
        ),
        "manual": form["allocation"].value() == "manual",
        "tab": "payments",
    }
    return render(request, "finance/payment_form.html", context)


def _allocation_errors(error, allocations):
    """Return {receivable id (str): [messages]} for the service's ``allocations[<i>].<field>`` errors."""
    result = {}
    for name, texts in getattr(error, "field_errors", {}).items():
        if not name.startswith("allocations["):
            continue
        index = name.removeprefix("allocations[").split("]", 1)[0]
        if index.isdecimal() and int(index) < len(allocations):
            result.setdefault(str(allocations[int(index)]["receivable"]), []).extend(str(text) for text in texts)
    return result


def _allocation_rows(receivables, entered, errors):
    """Attach the typed amount and its errors to each open receivable of the allocation table."""
    for receivable in receivables:
        receivable.entered = entered.get(str(receivable.pk), "")
        receivable.errors = errors.get(str(receivable.pk), [])
    return receivables


def _open_receivables_for(user, customer_id):
    from dentalsales.sales.forms import as_id

    customer_id = as_id(customer_id)
    if not customer_id:
        return []
    return list(
        selectors.visible_receivables(user).filter(customer_id=customer_id, open_amount__gt=0).order_by("invoiced_on", "pk")
    )


@role_required(*services.FINANCE_WRITE_ROLES)
def open_receivables(request):
    """Render the by-hand allocation table for the chosen customer (htmx fragment of the payment form)."""
    customer = request.GET.get("customer")
    context = {
        "open_receivables": _allocation_rows(_open_receivables_for(request.user, customer), {}, {}),
        "customer_chosen": bool(customer),
        "manual": request.GET.get("allocation") == "manual",
    }
    return render(request, "finance/_allocation_table.html", context)


@role_required(*PAYMENT_SCREEN_ROLES)
def payment_detail(request, pk):
    payment = get_object_or_404(selectors.visible_payments(request.user).select_related("customer", "created_by", "reversed_by"), pk=pk)
    context = {
        "payment": payment,
        "allocations": payment.allocations.select_related("receivable").order_by("pk"),
        "reason_form": ReasonForm(),
        "can_write": _can_write(request.user),
        "tab": "payments",
    }
    return render(request, "finance/payment_detail.html", context)


@require_POST
@role_required(*services.FINANCE_WRITE_ROLES)
def payment_reverse(request, pk):
    payment = get_object_or_404(selectors.visible_payments(request.user), pk=pk)
    try:
        services.reverse_payment(actor=request.user, payment=payment, reason=request.POST.get("reason", ""))
    except DomainError as error:
        report_domain_error(request, error)
    else:
        messages.success(request, _("Payment %(number)s reversed; the receivables it settled are open again.") % {"number": payment.number})
    return redirect("finance:payment_detail", payment.pk)


@require_POST
@role_required(*services.FINANCE_WRITE_ROLES)
def payment_apply(request, pk):
    payment = get_object_or_404(selectors.visible_payments(request.user), pk=pk)
    try:
        payment = services.apply_payment(actor=request.user, payment=payment)
    except DomainError as error:
        report_domain_error(request, error)
    else:
        _report_applied(request, payment)
    return redirect("finance:payment_detail", payment.pk)


def _report_applied(request, document):
    params = {"amount": format_money(document.applied), "left": format_money(document.unapplied_amount)}
    if document.unapplied_amount:
        messages.success(request, _("%(amount)s allocated to the oldest open receivables; %(left)s stays unapplied.") % params)
    else:
        messages.success(request, _("%(amount)s allocated to the oldest open receivables.") % params)


# Credit notes ------------------------------------------------------------


@role_required(*FINANCE_VIEW_ROLES)
def credit_note_list(request):
    filter_form = CreditNoteFilterForm(request.GET)
    filter_form.is_valid()
    data = getattr(filter_form, "cleaned_data", {})
    rows = selectors.credit_note_list(
        request.user,
        status=data.get("status", ""),
        search=(data.get("q") or "").strip(),
        unapplied=request.GET.get("unapplied") == "1",
    )
    context = {"filter_form": filter_form, "page_obj": paginate(request, rows), "tab": "credit_notes", "can_write": _can_write(request.user)}
    return render(request, "finance/credit_note_list.html", context)


@role_required(*services.FINANCE_WRITE_ROLES)
def credit_note_create(request):
    initial = {"customer": request.GET.get("customer"), "receivable": request.GET.get("receivable")}
    form = CreditNoteForm(request.POST or None, user=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            credit_note = services.record_credit_note(
                actor=request.user,
                customer=data["customer"],
                amount=data["amount"],
                reason=data["reason"],
                source_reference=data["source_reference"],
                receivable=data["receivable"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, _("Credit note %(number)s issued.") % {"number": credit_note.number})
            return redirect("finance:credit_note_detail", credit_note.pk)
    return render(request, "finance/credit_note_form.html", {"form": form, "tab": "credit_notes"})


@role_required(*services.FINANCE_WRITE_ROLES)
def creditable_receivables(request):
    """Render the receivable choice of the credit note form for the chosen customer (htmx fragment)."""
    form = CreditNoteForm(initial={"customer": request.GET.get("customer")}, user=request.user)
    return render(request, "finance/_receivable_choice.html", {"form": form})


@role_required(*FINANCE_VIEW_ROLES)
def credit_note_detail(request, pk):
    credit_note = get_object_or_404(
        selectors.visible_credit_notes(request.user).select_related("customer", "receivable", "created_by", "reversed_by"), pk=pk
    )
    context = {
        "credit_note": credit_note,
        "allocations": credit_note.allocations.select_related("receivable").order_by("pk"),
        "reason_form": ReasonForm(),
        "can_write": _can_write(request.user),
        "tab": "credit_notes",
    }
    return render(request, "finance/credit_note_detail.html", context)


@require_POST
@role_required(*services.FINANCE_WRITE_ROLES)
def credit_note_apply(request, pk):
    credit_note = get_object_or_404(selectors.visible_credit_notes(request.user), pk=pk)
    try:
        credit_note = services.apply_credit_note(actor=request.user, credit_note=credit_note)
    except DomainError as error:
        report_domain_error(request, error)
    else:
        _report_applied(request, credit_note)
    return redirect("finance:credit_note_detail", credit_note.pk)


@require_POST
@role_required(*services.FINANCE_WRITE_ROLES)
def credit_note_reverse(request, pk):
    credit_note = get_object_or_404(selectors.visible_credit_notes(request.user), pk=pk)
    try:
        services.cancel_credit_note(actor=request.user, credit_note=credit_note, reason=request.POST.get("reason", ""))
    except DomainError as error:
        report_domain_error(request, error)
    else:
        messages.success(request, _("Credit note %(number)s reversed.") % {"number": credit_note.number})
    return redirect("finance:credit_note_detail", credit_note.pk)


# Credit releases ---------------------------------------------------------


@role_required(*FINANCE_VIEW_ROLES)
def release_list(request):
    can_write = _can_write(request.user)
    form = CreditReleaseForm(request.POST or None, user=request.user, initial={"customer": request.GET.get("customer")})
    if request.method == "POST":
        if not can_write:
            return render(request, "403.html", status=403)
        if form.is_valid():
            data = form.cleaned_data
            try:
                release = services.grant_credit_release(
                    actor=request.user, customer=data["customer"], reason=data["reason"], valid_until=data["valid_until"]
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(
                    request,
                    _("Credit release for %(customer)s granted until %(date)s.") % {"customer": release.customer.name, "date": release.valid_until},
                )
                return redirect("finance:release_list")
    rows = selectors.credit_release_list(request.user)
    context = {
        "form": form,
        "page_obj": paginate(request, rows),
        "can_write": can_write,
        "today": local_today(),
        "tab": "releases",
        "revoke_form": ReasonForm(),
    }
    return render(request, "finance/release_list.html", context)


@require_POST
@role_required(*services.FINANCE_WRITE_ROLES)
def release_revoke(request, pk):
    release = get_object_or_404(selectors.visible_credit_releases(request.user).select_related("customer"), pk=pk)
    try:
        services.revoke_credit_release(actor=request.user, release=release, reason=request.POST.get("reason", ""))
    except DomainError as error:
        report_domain_error(request, error)
    else:
        messages.success(request, _("Credit release of %(customer)s revoked.") % {"customer": release.customer.name})
    return redirect("finance:release_list")


# Collection rate ---------------------------------------------------------


@role_required(*FINANCE_VIEW_ROLES)
def collection_rate(request):
    today = local_today()
    year_text = request.GET.get("year") or ""
    year = int(year_text) if year_text.isdecimal() and 2000 <= int(year_text) <= 2100 else today.year
    rows = selectors.collection_rates(request.user, year=year)
    if request.GET.get("export") == "xlsx":
        headers = [_("Sales representative"), _("Month"), _("To collect"), _("Collected"), _("Collection rate (%)")]
        data = [
            [str(row["owner"]), f"{year}-{cell['month']:02d}", cell["due"], cell["received"], cell["rate"]]
            for row in rows
            for cell in row["months"]
        ]
        logger.info("Collection rates exported by user %s", request.user.pk)
        return xlsx_response("collection-rate", _("Collection rate"), headers, data)
    context = {"rows": rows, "year": year, "years": selectors.collection_years(request.user, today), "months": range(1, 13), "tab": "collection"}
    return render(request, "finance/collection_rate.html", context)

