"""Opening balances (期初应收): receivables carried over from the system used before DentalSales.

Finance enters them one at a time or imports a spreadsheet. An import is
checked row by row first (``check_rows``), so that the preview lists every
problem of every row. ``import_opening_balances`` checks all rows again and
then writes all of them in one transaction, or none.

The invoice or voucher number (``reference``) is unique per customer, so
an import sent twice, or a form sent twice, enters each balance once.
"""

import datetime
import logging
import re
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dentalsales.core.errors import InvalidInput
from dentalsales.core.services import next_document_number
from dentalsales.core.timeutils import local_today
from dentalsales.customers.importing import read_table
from dentalsales.customers.models import Customer

from .models import Receivable
from .services import apply_advances, lock_customer, parse_amount, parse_date, require_finance

logger = logging.getLogger(__name__)

# The preview carries the rows to the confirmation step in a signed form
# field, so an import is kept to a size that fits comfortably in one post.
MAX_IMPORT_ROWS = 2000
MAX_REFERENCE_LENGTH = 60
MAX_NOTE_LENGTH = 200
# Dates as Chinese offices type them: 2026-01-05, 2026/1/5, 2026.1.5, 20260105.
DATE_PATTERN = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$|^(\d{4})(\d{2})(\d{2})$")


@dataclass(frozen=True)
class Column:
    key: str
    label: object
    required: bool
    aliases: tuple
    example: str


COLUMNS = [
    Column("customer_code", gettext_lazy("Customer code"), True, ("客户编码", "客户代码"), "CU-CD-0001"),
    Column("amount", gettext_lazy("Open amount"), True, ("金额", "未收金额", "应收金额", "期初余额"), "12800.00"),
    Column("reference", gettext_lazy("Invoice or reference"), True, ("发票号", "发票号码", "单据号", "凭证号"), "FP-2025-00123"),
    Column("invoiced_on", gettext_lazy("Invoice date"), True, ("开票日期", "发票日期", "单据日期"), "2025-11-20"),
    Column("due_on", gettext_lazy("Due date"), False, ("到期日", "到期日期"), "2026-01-19"),
    Column("note", gettext_lazy("Note"), False, ("备注",), "旧系统迁移"),
]


@dataclass
class CheckedRow:
    """One row of an import with its values as text and the problems found in it."""

    row_number: int
    values: dict
    problems: list = field(default_factory=list)
    customer: Customer | None = None
    amount: object = None
    invoiced_on: datetime.date | None = None
    due_on: datetime.date | None = None


# Entering one balance --------------------------------------------------------


def create_opening_receivable(*, actor, customer, amount, reference, invoiced_on, due_on=None, note=""):
    """Enter one receivable taken over from an earlier system, without a shipment; return it.

    The due date defaults to the invoice date plus the customer's payment
    terms. The receivable's representative is the customer's owner now.
    Unapplied advances of the customer settle it as far as they reach.

    Raises ``NotPermitted`` for roles other than finance and administrator.
    Raises ``InvalidInput`` naming the value for a bad amount, a missing or
    already entered reference, a missing, malformed or future invoice date,
    and a due date before the invoice date.
    """
    require_finance(actor, _("Only finance can enter opening balances."))
    with transaction.atomic():
        customer = lock_customer(customer)
        checked = _check_values(
            CheckedRow(row_number=0, values={}, customer=customer),
            amount=amount,
            reference=reference,
            invoiced_on=invoiced_on,
            due_on=due_on,
            note=note,
        )
        problems = dict(checked.problems)
        if not problems and _reference_taken(customer, checked.values["reference"]):
            problems["reference"] = _duplicate_message(customer, checked.values["reference"])
        if problems:
            raise InvalidInput(field_errors={name: [message] for name, message in problems.items()})
        receivable = _create(actor, checked)
    logger.info("Opening balance %s of %s entered for customer %s by user %s", receivable.number, receivable.amount, customer.pk, actor.pk)
    return receivable


def _create(actor, checked):
    """Insert the receivable of a checked row; the caller holds the customer's lock and a transaction."""
    customer = checked.customer
    try:
        with transaction.atomic():
            receivable = Receivable.objects.create(
                number=next_document_number("AR", day=checked.invoiced_on),
                customer=customer,
                representative_id=customer.owner_id,
                reference=checked.values["reference"],
                invoiced_on=checked.invoiced_on,
                due_on=checked.due_on,
                amount=checked.amount,
                open_amount=checked.amount,
                note=checked.values["note"],
                created_by=actor,
            )
    except IntegrityError:
        # Another request entered the same reference after our check.
        if _reference_taken(customer, checked.values["reference"]):
            raise InvalidInput(_duplicate_message(customer, checked.values["reference"]), field="reference") from None
        raise
    apply_advances(customer, receivable)
    return receivable


def _reference_taken(customer, reference):
    return Receivable.objects.filter(customer=customer, reference=reference).exists()


def _duplicate_message(customer, reference):
    return _("An opening balance with the reference “%(value)s” is already entered for %(customer)s.") % {
        "value": reference,
        "customer": customer.code,
    }


def _check_values(row, *, amount, reference, invoiced_on, due_on, note):
    """Fill ``row``'s parsed values and add ``(field, message)`` to ``row.problems`` for each bad one."""
    try:
        row.amount = parse_amount(_amount_text(amount))
    except InvalidInput as error:
        row.problems.append(("amount", str(error)))

    reference = str(reference or "").strip()
    if not reference:
        row.problems.append(("reference", _("Enter the invoice or reference number of the opening balance.")))
    elif len(reference) > MAX_REFERENCE_LENGTH:
        row.problems.append(
            ("reference", _("The reference “%(value)s” is longer than %(max)d characters.") % {"value": reference, "max": MAX_REFERENCE_LENGTH})
        )

    note = str(note or "").strip()
    if len(note) > MAX_NOTE_LENGTH:
        row.problems.append(("note", _("The note is longer than %(max)d characters.") % {"max": MAX_NOTE_LENGTH}))
    row.values.update(reference=reference, note=note)

    row.invoiced_on = _date_or_problem(row, invoiced_on, "invoiced_on", _("Enter the invoice date."))
    if row.invoiced_on and row.invoiced_on > local_today():
        row.problems.append(
            ("invoiced_on", _("The invoice date %(value)s is in the future.") % {"value": row.invoiced_on.isoformat()})
        )
        row.invoiced_on = None
    if due_on not in (None, ""):
        row.due_on = _date_or_problem(row, due_on, "due_on", "")
    elif row.invoiced_on and row.customer is not None:
        row.due_on = row.invoiced_on + datetime.timedelta(days=row.customer.payment_terms_days)
    if row.due_on and row.invoiced_on and row.due_on < row.invoiced_on:
        row.problems.append(
            (
                "due_on",
                _("The due date %(value)s is before the invoice date %(invoiced)s.")
                % {"value": row.due_on.isoformat(), "invoiced": row.invoiced_on.isoformat()},
            )
        )
    return row


def _amount_text(value):
    """Drop the currency sign and thousands separators that spreadsheets add: ¥12,800.00 is 12800.00."""
    if isinstance(value, str):
        return value.strip().lstrip("¥￥").replace(",", "").replace("，", "").strip()
    return value


def _date_or_problem(row, value, field_name, missing_message):
    if isinstance(value, datetime.date):
        return value
    text = str(value or "").strip()
    if not text:
        row.problems.append((field_name, missing_message))
        return None
    match = DATE_PATTERN.match(text)
    if match:
        year, month, day = (int(part) for part in (match.group(1, 2, 3) if match.group(1) else match.group(4, 5, 6)))
        try:
            return datetime.date(year, month, day)
        except ValueError:
            pass
    try:
        return parse_date(text, field_name)
    except InvalidInput:
        row.problems.append((field_name, _("“%(value)s” is not a date (YYYY-MM-DD).") % {"value": text}))
        return None


# Importing a spreadsheet -----------------------------------------------------


def _header_key(text):
    return str(text).replace("*", "").replace("＊", "").strip().lower()


def _column_names(column):
    names = {column.key, *(_header_key(alias) for alias in column.aliases)}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            names.add(_header_key(column.label))
    return names


def read_rows(name, data):
    """Read an uploaded .xlsx or .csv (UTF-8 with or without BOM, or GBK) into ``[{"row_number", column key: text}]``.

    Raises ``InvalidInput`` on field ``file`` for an unreadable file, a
    header row that lacks a required column, no data rows, and more than
    ``MAX_IMPORT_ROWS`` rows.
    """
    table = read_table(name, data)
    if not table:
        raise InvalidInput(_("The file is empty."), field="file")
    _header_number, header = table[0]
    positions = {}
    for index, text in enumerate(header):
        key = _header_key(text)
        for column in COLUMNS:
            if column.key not in positions and key in _column_names(column):
                positions[column.key] = index
                break
    missing = [str(column.label) for column in COLUMNS if column.required and column.key not in positions]
    if missing:
        raise InvalidInput(
            _("The first row must name the columns; these required columns are missing: %(columns)s.")
            % {"columns": "、".join(missing)},
            field="file",
        )
    rows = []
    for row_number, cells in table[1:]:
        values = {key: (cells[index].strip() if index < len(cells) else "") for key, index in positions.items()}
        rows.append({"row_number": row_number, **{column.key: values.get(column.key, "") for column in COLUMNS}})
    if not rows:
        raise InvalidInput(_("The file has a header row but no opening balances."), field="file")
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(
            _("The file has %(count)d rows; import at most %(max)d at a time.") % {"count": len(rows), "max": MAX_IMPORT_ROWS},
            field="file",
        )
    return rows


def check_rows(rows, *, lock=False):
    """Check every row and return ``CheckedRow``s, each with all of its problems; write nothing.

    The problems found are:

    - a missing or unknown customer code;
    - an amount not above 0, with more than 2 decimals or not a number;
    - a missing reference, or one repeated in the file or already entered
      for the customer;
    - a missing, malformed or future invoice date;
    - a malformed due date, or one before the invoice date.

    With ``lock`` the customers are locked in primary-key order, as every
    finance write does, for a caller that goes on to write.
    """
    codes = {str(row.get("customer_code") or "").strip() for row in rows}
    customers = Customer.objects.filter(code__in=codes - {""}).order_by("pk")
    if lock:
        customers = customers.select_for_update()
    by_code = {customer.code: customer for customer in customers}
    taken = set(
        Receivable.objects.filter(customer__in=list(by_code.values()))
        .exclude(reference="")
        .values_list("customer_id", "reference")
    )

    checked_rows = []
    seen = {}
    for row in rows:
        code = str(row.get("customer_code") or "").strip()
        checked = CheckedRow(row_number=row.get("row_number"), values={"customer_code": code}, customer=by_code.get(code))
        if not code:
            checked.problems.append(("customer_code", _("Enter the customer code.")))
        elif checked.customer is None:
            checked.problems.append(("customer_code", _("No customer has the code “%(value)s”.") % {"value": code}))
        _check_values(
            checked,
            amount=row.get("amount"),
            reference=row.get("reference"),
            invoiced_on=row.get("invoiced_on"),
            due_on=row.get("due_on"),
            note=row.get("note"),
        )
        checked.values["amount"] = str(row.get("amount") or "").strip()
        checked.values["invoiced_on"] = str(row.get("invoiced_on") or "").strip()
        checked.values["due_on"] = str(row.get("due_on") or "").strip()
        reference = checked.values["reference"]
        if checked.customer is not None and reference:
            if (checked.customer.pk, reference) in taken:
                checked.problems.append(("reference", _duplicate_message(checked.customer, reference)))
            elif (checked.customer.pk, reference) in seen:
                checked.problems.append(
                    (
                        "reference",
                        _("The reference “%(value)s” of %(customer)s is also in row %(row)s.")
                        % {"value": reference, "customer": code, "row": seen[(checked.customer.pk, reference)]},
                    )
                )
            else:
                seen[(checked.customer.pk, reference)] = checked.row_number
        checked_rows.append(checked)
    return checked_rows


def import_opening_balances(*, actor, rows):
    """Enter the opening balances of an import, all in one transaction; return the receivables.

    ``rows`` are the dicts that ``read_rows`` returned. Every row is checked
    again under the customers' locks. If any row has a problem, nothing is
    written and ``InvalidInput`` lists the first problems with their row
    numbers. Raises ``NotPermitted`` for roles other than finance and
    administrator.
    """
    require_finance(actor, _("Only finance can enter opening balances."))
    if not rows:
        raise InvalidInput(_("The import has no opening balances."), field="file")
    if len(rows) > MAX_IMPORT_ROWS:
        raise InvalidInput(
            _("The file has %(count)d rows; import at most %(max)d at a time.") % {"count": len(rows), "max": MAX_IMPORT_ROWS},
            field="file",
        )

    with transaction.atomic():
        checked_rows = check_rows(rows, lock=True)
        failed = [row for row in checked_rows if row.problems]
        if failed:
            raise InvalidInput(
                _("%(count)d of %(total)d rows have problems, so nothing was imported. First: row %(row)s: %(problem)s")
                % {"count": len(failed), "total": len(checked_rows), "row": failed[0].row_number, "problem": failed[0].problems[0][1]},
                field="file",
            )
        receivables = [_create(actor, row) for row in checked_rows]

    logger.info("Opening balances imported by user %s: %s receivables", actor.pk, len(receivables))
    return receivables
