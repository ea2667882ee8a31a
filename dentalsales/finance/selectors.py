"""Reads on receivables, payments and credit, scoped to what the user may see.

Representatives see their own customers' balances, supervisors their
team's, managers, finance and administrators all; logistics and quality
see nothing here.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.accounts.selectors import owner_visibility
from dentalsales.core.money import format_money, round_money
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer

from .models import CreditNote, CreditRelease, DocumentStatus, Payment, Receivable

FINANCE_VIEW_ROLES = frozenset(
    {Role.REPRESENTATIVE, Role.SUPERVISOR, Role.MANAGER, Role.FINANCE, Role.ADMINISTRATOR}
)
ZERO = Decimal("0.00")
# (key, label bounds in days since the invoice date; None means no upper bound)
AGING_BUCKETS = (("0_30", 0, 30), ("31_60", 31, 60), ("61_90", 61, 90), ("over_90", 91, None))


def can_view_finance(user):
    return user.is_authenticated and user.has_role(*FINANCE_VIEW_ROLES)


def _scope(user, queryset):
    if not can_view_finance(user):
        return queryset.none()
    return queryset.filter(owner_visibility(user, "customer__owner"))


def visible_receivables(user):
    return _scope(user, Receivable.objects.all())


def visible_payments(user):
    return _scope(user, Payment.objects.all())


def visible_credit_notes(user):
    return _scope(user, CreditNote.objects.all())


def visible_credit_releases(user):
    return _scope(user, CreditRelease.objects.all())


def finance_customers(user):
    """Return the customers whose balances ``user`` may see."""
    if not can_view_finance(user):
        return Customer.objects.none()
    return Customer.objects.filter(owner_visibility(user))


def receivable_list(user, *, customer=None, owner=None, province="", status="", search=""):
    """Return the visible receivables, newest first; ``province`` is the two-digit prefix of a region code."""
    queryset = visible_receivables(user).select_related("customer", "customer__owner", "shipment", "order")
    if customer:
        queryset = queryset.filter(customer=customer)
    if owner:
        queryset = queryset.filter(customer__owner=owner)
    if province:
        queryset = queryset.filter(customer__region__code__startswith=province)
    if status == "open":
        queryset = queryset.filter(open_amount__gt=0)
    elif status == "overdue":
        queryset = queryset.filter(open_amount__gt=0, due_on__lt=local_today())
    elif status == "settled":
        queryset = queryset.filter(open_amount=0)
    if search:
        queryset = queryset.filter(Q(number__icontains=search) | Q(customer__search_text__contains=search.lower()))
    return queryset.order_by("-invoiced_on", "-id")


def payment_list(user, *, customer=None, status="", search=""):
    queryset = visible_payments(user).select_related("customer", "created_by")
    if customer:
        queryset = queryset.filter(customer=customer)
    if status:
        queryset = queryset.filter(status=status)
    if search:
        queryset = queryset.filter(
            Q(number__icontains=search) | Q(reference__icontains=search) | Q(customer__search_text__contains=search.lower())
        )
    return queryset.order_by("-received_on", "-id")


def credit_note_list(user, *, customer=None, status=""):
    queryset = visible_credit_notes(user).select_related("customer", "receivable", "created_by")
    if customer:
        queryset = queryset.filter(customer=customer)
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("-issued_on", "-id")


# Credit exposure ---------------------------------------------------------


@dataclass(frozen=True)
class CreditPosition:
    credit_limit: Decimal
    open_receivables: Decimal
    open_orders: Decimal
    unapplied_advances: Decimal
    exposure: Decimal
    available: Decimal
    overdue_days_max: int
    most_overdue: Receivable | None
    active_release: CreditRelease | None

    def as_dict(self):
        return {
            "credit_limit": self.credit_limit,
            "open_receivables": self.open_receivables,
            "open_orders": self.open_orders,
            "unapplied_advances": self.unapplied_advances,
            "exposure": self.exposure,
            "available": self.available,
            "overdue_days_max": self.overdue_days_max,
        }


def open_order_value(customer, exclude_order=None):
    """Return the value of the customer's approved orders not yet shipped, counting only unshipped quantities."""
    from dentalsales.sales.models import OPEN_APPROVED_STATUSES, SalesOrderLine

    lines = SalesOrderLine.objects.filter(order__customer=customer, order__status__in=OPEN_APPROVED_STATUSES)
    if exclude_order is not None:
        lines = lines.exclude(order=exclude_order)
    unshipped_value = ExpressionWrapper(
        F("unit_price") * (F("quantity") - F("shipped_quantity")),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )
    total = lines.aggregate(total=Sum(unshipped_value))["total"]
    return round_money(total or 0)


def credit_position(customer, *, exclude_order=None, today=None):
    """Compute the customer's credit exposure in six queries.

    Exposure is open receivables + approved orders not yet shipped (the
    unshipped part only) − unapplied advances and credits. ``exclude_order``
    leaves out an order under review, which the caller adds itself.
    """
    today = today or local_today()
    open_receivables = Receivable.objects.filter(customer=customer, open_amount__gt=0)
    total_open = open_receivables.aggregate(total=Sum("open_amount"))["total"]
    most_overdue = open_receivables.filter(due_on__lt=today).order_by("due_on", "pk").only("number", "due_on").first()
    payments = Payment.objects.filter(customer=customer, status=DocumentStatus.POSTED).aggregate(
        total=Sum("unapplied_amount")
    )
    credits = CreditNote.objects.filter(customer=customer, status=DocumentStatus.POSTED).aggregate(
        total=Sum("unapplied_amount")
    )
    release = (
        CreditRelease.objects.filter(
            customer=customer, revoked_at__isnull=True, valid_from__lte=today, valid_until__gte=today
        )
        .select_related("granted_by")
        .order_by("-valid_until")
        .first()
    )
    open_receivables = round_money(total_open or 0)
    open_orders = open_order_value(customer, exclude_order=exclude_order)
    unapplied = round_money((payments["total"] or 0) + (credits["total"] or 0))
    exposure = open_receivables + open_orders - unapplied
    return CreditPosition(
        credit_limit=customer.credit_limit,
        open_receivables=open_receivables,
        open_orders=open_orders,
        unapplied_advances=unapplied,
        exposure=exposure,
        available=customer.credit_limit - exposure,
        overdue_days_max=(today - most_overdue.due_on).days if most_overdue else 0,
        most_overdue=most_overdue,
        active_release=release,
    )


def overdue_tolerance_days():
    return settings.CREDIT_OVERDUE_TOLERANCE_DAYS


# Aging, statement, collection rate --------------------------------------


def aging_bucket(age_days):
    for key, low, high in AGING_BUCKETS:
        if age_days >= low and (high is None or age_days <= high):
            return key
    return AGING_BUCKETS[0][0]


def _empty_row():
    return {"total": ZERO, "overdue": ZERO, **{key: ZERO for key, _low, _high in AGING_BUCKETS}}


def aging_summary(receivables, *, group_by, today=None):
    """Sum the open amounts of ``receivables`` into aging buckets by days since the invoice date.

    ``group_by`` is ``customer``, ``owner`` (the customer's representative)
    or ``region`` (the customer's province). Returns rows
    ``{"key", "label", "total", "overdue", "0_30", "31_60", "61_90", "over_90"}``
    sorted by total, largest first, and a totals row, in one query.
    """
    today = today or local_today()
    rows = defaultdict(_empty_row)
    labels = {}
    queryset = receivables.filter(open_amount__gt=0).select_related(None).select_related(
        "customer", "customer__owner", "customer__region"
    ).only(
        "open_amount",
        "invoiced_on",
        "due_on",
        "customer__name",
        "customer__code",
        "customer__owner__username",
        "customer__owner__first_name",
        "customer__owner__last_name",
        "customer__region__full_name",
        "customer__region__code",
    )
    totals = _empty_row()
    for receivable in queryset:
        key, label = _group_key(receivable, group_by)
        labels[key] = label
        bucket = aging_bucket((today - receivable.invoiced_on).days)
        for row in (rows[key], totals):
            row["total"] += receivable.open_amount
            row[bucket] += receivable.open_amount
            if receivable.due_on < today:
                row["overdue"] += receivable.open_amount
    result = [{"key": key, "label": labels[key], **values} for key, values in rows.items()]
    result.sort(key=lambda row: (-row["total"], str(row["label"])))
    return result, totals


def _group_key(receivable, group_by):
    customer = receivable.customer
    if group_by == "owner":
        return customer.owner_id, str(customer.owner)
    if group_by == "region":
        region = customer.region
        if region is None:
            return None, "—"
        # Province level: the first two digits of the code, the first word of the full name.
        return region.code[:2], region.full_name.split()[0]
    return customer.pk, str(customer)


def customer_statement(customer, *, date_from, date_to):
    """Return the statement (对账单) of ``customer`` between two dates.

    The opening balance is what the customer owed before ``date_from``:
    receivables minus posted payments and credit notes dated earlier. The
    entries are the receivables (debit), payments and credit notes (credit)
    of the period in date order with a running balance. Reversed payments
    and credit notes are left out, as if never posted. Runs four queries.
    """
    posted = DocumentStatus.POSTED
    before = {
        "receivables": Receivable.objects.filter(customer=customer, invoiced_on__lt=date_from).aggregate(t=Sum("amount"))["t"],
        "payments": Payment.objects.filter(customer=customer, status=posted, received_on__lt=date_from).aggregate(t=Sum("amount"))["t"],
        "credits": CreditNote.objects.filter(customer=customer, status=posted, issued_on__lt=date_from).aggregate(t=Sum("amount"))["t"],
    }
    opening = round_money((before["receivables"] or 0) - (before["payments"] or 0) - (before["credits"] or 0))
    entries = []
    for receivable in Receivable.objects.filter(customer=customer, invoiced_on__range=(date_from, date_to)).select_related(
        "shipment", "order"
    ):
        entries.append(
            {
                "date": receivable.invoiced_on,
                "kind": "receivable",
                "number": receivable.number,
                "reference": " ".join(
                    filter(
                        None,
                        [getattr(receivable.order, "number", ""), getattr(receivable.shipment, "number", ""), receivable.note],
                    )
                ),
                "due_on": receivable.due_on,
                "debit": receivable.amount,
                "credit": ZERO,
                "sort": (receivable.invoiced_on, 0, receivable.pk),
            }
        )
    for payment in Payment.objects.filter(customer=customer, status=posted, received_on__range=(date_from, date_to)):
        entries.append(
            {
                "date": payment.received_on,
                "kind": "payment",
                "number": payment.number,
                "reference": " ".join(filter(None, [payment.get_method_display(), payment.reference])),
                "due_on": None,
                "debit": ZERO,
                "credit": payment.amount,
                "sort": (payment.received_on, 1, payment.pk),
            }
        )
    for credit_note in CreditNote.objects.filter(customer=customer, status=posted, issued_on__range=(date_from, date_to)):
        entries.append(
            {
                "date": credit_note.issued_on,
                "kind": "credit_note",
                "number": credit_note.number,
                "reference": " ".join(filter(None, [credit_note.source_reference, credit_note.reason])),
                "due_on": None,
                "debit": ZERO,
                "credit": credit_note.amount,
                "sort": (credit_note.issued_on, 2, credit_note.pk),
            }
        )
    entries.sort(key=lambda entry: entry["sort"])
    balance = opening
    for entry in entries:
        balance += entry["debit"] - entry["credit"]
        entry["balance"] = balance
    return {
        "customer": customer,
        "date_from": date_from,
        "date_to": date_to,
        "opening": opening,
        "entries": entries,
        "total_debit": sum((entry["debit"] for entry in entries), ZERO),
        "total_credit": sum((entry["credit"] for entry in entries), ZERO),
        "closing": balance,
    }


def collection_rates(user, *, year, today=None):
    """Return the collection rate per representative and month of ``year``, in two queries.

    The rate of a month is the posted payments received in that month
    divided by the receivables falling due in that month (their invoiced
    amount minus credit notes against them), both for the customers the
    representative owns now. A month with nothing due has no rate (``None``).
    Rows: ``{"owner", "months": [{"month", "received", "due", "rate"}]}``.
    """
    start = datetime.date(year, 1, 1)
    end = datetime.date(year, 12, 31)
    due = (
        visible_receivables(user)
        .filter(due_on__range=(start, end))
        .annotate(month=TruncMonth("due_on"))
        .values("customer__owner", "month")
        .annotate(total=Sum(F("amount") - F("credited_amount")))
    )
    received = (
        visible_payments(user)
        .filter(status=DocumentStatus.POSTED, received_on__range=(start, end))
        .annotate(month=TruncMonth("received_on"))
        .values("customer__owner", "month")
        .annotate(total=Sum("amount"))
    )
    table = defaultdict(lambda: defaultdict(lambda: {"received": ZERO, "due": ZERO}))
    for row in due:
        table[row["customer__owner"]][_month_number(row["month"])]["due"] += round_money(row["total"] or 0)
    for row in received:
        table[row["customer__owner"]][_month_number(row["month"])]["received"] += round_money(row["total"] or 0)
    from dentalsales.accounts.models import User

    owners = User.objects.in_bulk(list(table))
    result = []
    for owner_id, months in table.items():
        cells = []
        for month in range(1, 13):
            values = months.get(month, {"received": ZERO, "due": ZERO})
            rate = (values["received"] / values["due"] * 100).quantize(Decimal("0.1")) if values["due"] > 0 else None
            cells.append({"month": month, "received": values["received"], "due": values["due"], "rate": rate})
        total_due = sum((cell["due"] for cell in cells), ZERO)
        total_received = sum((cell["received"] for cell in cells), ZERO)
        result.append(
            {
                "owner": owners.get(owner_id),
                "months": cells,
                "due": total_due,
                "received": total_received,
                "rate": (total_received / total_due * 100).quantize(Decimal("0.1")) if total_due > 0 else None,
            }
        )
    result.sort(key=lambda row: str(row["owner"]))
    return result


def _month_number(value):
    return value.month


# Order review ------------------------------------------------------------


def evaluate_credit(customer, *, order_amount, exclude_order=None, today=None):
    """Run the credit check for an order of ``order_amount``; return ``(passed, message)``.

    It fails when exposure plus the order exceeds the credit limit, or when
    a receivable is more than ``CREDIT_OVERDUE_TOLERANCE_DAYS`` past due.
    An active credit release lets it pass, and the message names the release.
    """
    today = today or local_today()
    position = credit_position(customer, exclude_order=exclude_order, today=today)
    total = position.exposure + order_amount
    params = {
        "receivables": format_money(position.open_receivables),
        "open": format_money(position.open_orders),
        "advances": format_money(position.unapplied_advances),
        "order": format_money(order_amount),
        "exposure": format_money(total),
        "limit": format_money(position.credit_limit),
    }
    problems = []
    if total > position.credit_limit:
        problems.append(
            _("Open receivables %(receivables)s + approved orders not yet shipped %(open)s − unapplied advances %(advances)s + this order %(order)s = %(exposure)s exceeds the credit limit %(limit)s.")
            % params
        )
    tolerance = overdue_tolerance_days()
    if position.most_overdue is not None and position.overdue_days_max > tolerance:
        problems.append(
            _("Receivable %(number)s (due %(date)s) is %(days)s days overdue, more than the %(tolerance)s days allowed.")
            % {
                "number": position.most_overdue.number,
                "date": position.most_overdue.due_on,
                "days": position.overdue_days_max,
                "tolerance": tolerance,
            }
        )
    if not problems:
        return True, _("Open receivables %(receivables)s + approved orders not yet shipped %(open)s − unapplied advances %(advances)s + this order %(order)s = %(exposure)s, within the credit limit %(limit)s.") % params
    release = position.active_release
    if release is not None:
        problems.append(
            _("Passed by the credit release of %(user)s until %(date)s: %(reason)s")
            % {"user": release.granted_by, "date": release.valid_until, "reason": release.reason}
        )
        return True, " ".join(str(problem) for problem in problems)
    return False, " ".join(str(problem) for problem in problems)
