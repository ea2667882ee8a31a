"""Screens of opening balances: the list with a form for one balance, the spreadsheet import with its preview, the template."""

import logging

from django.contrib import messages
from django.core import signing
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.accounts.views import role_required
from dentalsales.core.errors import DomainError
from dentalsales.core.spreadsheets import xlsx_response
from dentalsales.core.views import add_domain_error, paginate

from . import opening_balances, selectors, services
from .forms import OpeningBalanceForm, OpeningBalanceUploadForm

logger = logging.getLogger(__name__)

# Finance enters opening balances, and managers may view them. Representatives see
# their customers' opening balances in the receivable list.
OPENING_SCREEN_ROLES = frozenset({Role.FINANCE, Role.MANAGER, Role.ADMINISTRATOR})
# The preview's rows travel to the confirmation step signed, so that the
# browser cannot change them, and expire after an hour.
PAYLOAD_SALT = "finance.opening_balances.import"
PAYLOAD_MAX_AGE_SECONDS = 3600


@role_required(*OPENING_SCREEN_ROLES)
def opening_balance_list(request):
    can_write = request.user.has_role(*services.FINANCE_WRITE_ROLES)
    form = OpeningBalanceForm(request.POST or None, user=request.user, initial={"customer": request.GET.get("customer")})
    if request.method == "POST":
        if not can_write:
            return render(request, "403.html", status=403)
        if form.is_valid():
            data = form.cleaned_data
            try:
                receivable = opening_balances.create_opening_receivable(
                    actor=request.user,
                    customer=data["customer"],
                    amount=data["amount"],
                    reference=data["reference"],
                    invoiced_on=data["invoiced_on"],
                    due_on=data["due_on"],
                    note=data["note"],
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                messages.success(
                    request,
                    _("Opening balance %(number)s of %(customer)s entered.") % {"number": receivable.number, "customer": receivable.customer},
                )
                return redirect("finance:opening_balance_list")
    rows = (
        selectors.visible_receivables(request.user)
        .filter(shipment__isnull=True)
        .select_related("customer", "representative", "created_by")
        .order_by("-created_at", "-id")
    )
    context = {"form": form, "page_obj": paginate(request, rows), "can_write": can_write, "tab": "opening"}
    return render(request, "finance/opening_balance_list.html", context)


@role_required(*services.FINANCE_WRITE_ROLES)
def opening_balance_import(request):
    """Show the upload form; on upload, the preview of every row; on confirmation, import all rows or none."""
    if request.method == "POST" and "payload" in request.POST:
        return _confirm_import(request)
    form = OpeningBalanceUploadForm(request.POST or None, request.FILES or None)
    context = {"form": form, "tab": "opening", "columns": opening_balances.COLUMNS}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            rows = opening_balances.read_rows(upload.name, upload.read())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            checked = opening_balances.check_rows(rows)
            failed = sum(1 for row in checked if row.problems)
            context.update(
                checked=checked,
                failed=failed,
                file_name=upload.name,
                payload=signing.dumps(rows, salt=PAYLOAD_SALT, compress=True) if not failed else "",
            )
            logger.info("Opening balance import previewed by user %s: %s rows, %s with problems", request.user.pk, len(rows), failed)
    return render(request, "finance/opening_balance_import.html", context)


def _confirm_import(request):
    try:
        rows = signing.loads(request.POST["payload"], salt=PAYLOAD_SALT, max_age=PAYLOAD_MAX_AGE_SECONDS)
    except signing.BadSignature:
        messages.error(request, _("The preview has expired or was changed; upload the file again."))
        return redirect("finance:opening_balance_import")
    try:
        receivables = opening_balances.import_opening_balances(actor=request.user, rows=rows)
    except DomainError as error:
        messages.error(request, str(error))
        return redirect("finance:opening_balance_import")
    messages.success(request, _("%(count)d opening balances imported.") % {"count": len(receivables)})
    return redirect("finance:opening_balance_list")


@role_required(*services.FINANCE_WRITE_ROLES)
def opening_balance_template(request):
    """Return an .xlsx with the import's header row and one example row."""
    columns = opening_balances.COLUMNS
    headers = [f"{column.label}{' *' if column.required else ''}" for column in columns]
    return xlsx_response("opening-balances-template", _("Opening balances"), headers, [[column.example for column in columns]])

