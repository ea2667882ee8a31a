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
from django.db.models import Case, Count, DecimalField, IntegerField, When, Exists, ExpressionWrapper, F, Max, Min, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, ExtractYear, TruncMonth
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dentalsales.accounts.roles import Role
from dentalsales.accounts.selectors import owner_visibility
from dentalsales.core.money import format_money, round_money
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer

from .models import CreditNote, CreditNoteAllocation, CreditRelease, DocumentStatus, Payment, PaymentAllocation, Receivable

FINANCE_VIEW_ROLES = frozenset(
    {Role.REPRESENTATIVE, Role.SUPERVISOR, Role.MANAGER, Role.FINANCE, Role.ADMINISTRATOR}
)
ZERO = Decimal("0.00")
ZERO_VALUE = Value(Decimal("0.00"), output_field=DecimalField(max_digits=14, decimal_places=2))
# (key, lower and upper bound in days, inclusive; None means no upper bound)
AGING_BUCKETS = (("0_30", 0, 30), ("31_60", 31, 60), ("61_90", 61, 90), ("over_90", 91, None))
# The date the aging counts days from. By due date, the usual basis of a
# receivables aging, a receivable not yet past due is in its own "not due"
# column and the first bucket contains 1 to 30 days past due. By invoice
# date, the first bucket contains 0 to 30 days since the invoice.
AGING_BASIS_DUE = "due"
AGING_BASIS_INVOICE = "invoice"
AGING_BASES = (AGING_BASIS_DUE, AGING_BASIS_INVOICE)
NOT_DUE = "not_due"


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


def credit_release_list(user, today=None):
    """Return the visible credit releases: active first, then scheduled, then ended or revoked; latest end first."""
    today = today or local_today()
    rank = Case(
        When(revoked_at__isnull=True, valid_from__lte=today, valid_until__gte=today, then=Value(0)),
        When(revoked_at__isnull=True, valid_from__gt=today, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return (
        visible_credit_releases(user)
        .select_related("customer", "granted_by", "revoked_by")
        .annotate(rank=rank)
        .order_by("rank", "-valid_until", "-id")
    )


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
        queryset = queryset.filter(
            Q(number__icontains=search)
            | Q(reference__icontains=search)
            | Q(customer__code__icontains=search)
            | Q(customer__search_text__contains=search.lower())
        )
    return queryset.order_by("-invoiced_on", "-id")


def receivable_totals(receivables):
    """Return the sums of amount, credited, paid and open amount over ``receivables``, in one query."""
    totals = receivables.order_by().aggregate(
        amount=Sum("amount"), credited=Sum("credited_amount"), paid=Sum("paid_amount"), open=Sum("open_amount"), count=Count("pk")
    )
    return {key: (value if key == "count" else round_money(value or 0)) for key, value in totals.items()}


def payment_list(user, *, customer=None, status="", search="", unapplied=False):
    queryset = visible_payments(user).select_related("customer", "created_by")
    if customer:
        queryset = queryset.filter(customer=customer)
    if status:
        queryset = queryset.filter(status=status)
    if unapplied:
        queryset = queryset.filter(status=DocumentStatus.POSTED, unapplied_amount__gt=0)
    if search:
        queryset = queryset.filter(
            Q(number__icontains=search)
            | Q(reference__icontains=search)
            | Q(customer__code__icontains=search)
            | Q(customer__search_text__contains=search.lower())
        )
    return queryset.order_by("-received_on", "-id")


def credit_note_list(user, *, customer=None, status="", search="", unapplied=False):
    queryset = visible_credit_notes(user).select_related("customer", "receivable", "created_by")
    if customer:
        queryset = queryset.filter(customer=customer)
    if status:
        queryset = queryset.filter(status=status)
    if unapplied:
        queryset = queryset.filter(status=DocumentStatus.POSTED, unapplied_amount__gt=0)
    if search:
        queryset = queryset.filter(
            Q(number__icontains=search)
            | Q(source_reference__icontains=search)
            | Q(receivable__number__icontains=search)
            | Q(customer__code__icontains=search)
            | Q(customer__search_text__contains=search.lower())
        )
    return queryset.order_by("-issued_on", "-id")


def creditable_receivables(user, customer_id):
    """Return the customer's receivables that can still take a credit note, newest first, with ``creditable`` set.

    Creditable is the invoiced amount minus the posted credit notes issued
    against the receivable; runs one query.
    """
    rows = (
        visible_receivables(user)
        .filter(customer_id=customer_id)
        .annotate(issued=Coalesce(Sum("credit_notes__amount", filter=Q(credit_notes__status=DocumentStatus.POSTED)), ZERO_VALUE))
        .order_by("-invoiced_on", "-id")
    )
    result = []
    for receivable in rows:
        receivable.creditable = receivable.amount - round_money(receivable.issued)
        if receivable.creditable > 0:
            result.append(receivable)
    return result


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
    """Return the value of the customer's approved orders not yet shipped, counting only unshipped quantities.

    Units closed short will not be delivered, so they do not count.
    """
    from dentalsales.sales.models import OPEN_APPROVED_STATUSES, SalesOrderLine

    lines = SalesOrderLine.objects.filter(order__customer=customer, order__status__in=OPEN_APPROVED_STATUSES)
    if exclude_order is not None:
        lines = lines.exclude(order=exclude_order)
    unshipped_value = ExpressionWrapper(
        F("unit_price") * (F("quantity") - F("shipped_quantity") - F("closed_short_quantity")),
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
    return {"total": ZERO, "overdue": ZERO, NOT_DUE: ZERO, **{key: ZERO for key, _low, _high in AGING_BUCKETS}}


def aging_column(receivable, *, basis, today):
    """Return the aging column of an open receivable: ``not_due`` or a key of ``AGING_BUCKETS``."""
    if basis == AGING_BASIS_INVOICE:
        return aging_bucket((today - receivable.invoiced_on).days)
    days_past_due = (today - receivable.due_on).days
    return NOT_DUE if days_past_due <= 0 else aging_bucket(days_past_due)


def aging_summary(receivables, *, group_by, basis=AGING_BASIS_DUE, today=None):
    """Sum the open amounts of ``receivables`` into aging columns, in one query.

    ``basis`` is ``due`` (days past the due date, with a ``not_due`` column)
    or ``invoice`` (days since the invoice date). ``group_by`` is
    ``customer``, ``owner`` (the customer's representative) or ``region``
    (the customer's province). Returns rows ``{"key", "label", "total",
    "overdue", "not_due", "0_30", "31_60", "61_90", "over_90"}`` sorted by
    total, largest first, and a totals row.
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
        column = aging_column(receivable, basis=basis, today=today)
        for row in (rows[key], totals):
            row["total"] += receivable.open_amount
            row[column] += receivable.open_amount
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
                # A receivable without a shipment was carried over from the earlier system.
                "kind": "receivable" if receivable.shipment_id else "opening_balance",
                "number": receivable.number,
                "reference": " ".join(
                    filter(
                        None,
                        [
                            getattr(receivable.order, "number", ""),
                            getattr(receivable.shipment, "number", ""),
                            receivable.reference,
                            receivable.note,
                        ],
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
                "reference": _credit_note_reference(credit_note),
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


def _month_end(year, month):
    return datetime.date(year + month // 12, month % 12 + 1, 1) - datetime.timedelta(days=1)


def _credit_note_reference(credit_note):
    """Return the source document and reason, without the document number twice when the reason names it."""
    source = credit_note.source_reference
    if source and source in credit_note.reason:
        return credit_note.reason
    return " ".join(filter(None, [source, credit_note.reason]))


def collection_rates(user, *, year, today=None):
    """Return the collection rate per representative and month of ``year``, in four queries.

    For a month M, the receivables to collect are those due by the end of M
    (falling due in M, or overdue before it), each with what was still owed
    on it at the start of M: its amount, less the credit notes applied to it
    by the end of M, less the payments applied to it before M. Collected is
    what payments settled of those receivables during M. The rate is
    collected ÷ to collect, so it stays between 0 and 100%. A payment counts
    on the day it settles a receivable (``applied_on``): an advance counts in
    the month it is applied, not the month it arrived, and money left
    unapplied does not count. Reversed payments and credit notes count as
    never posted. Each receivable counts for the representative stored on it
    when it arose; a representative sees their own rows, a supervisor their
    team's. A month with nothing to collect has no rate (``None``).
    Rows: ``{"owner", "months": [{"month", "due", "received", "rate"}], "due", "received", "rate"}``;
    the year's figures sum the months, so a receivable overdue for several
    months counts in each of them.
    """
    start = datetime.date(year, 1, 1)
    end = datetime.date(year, 12, 31)
    if not can_view_finance(user):
        return []
    posted = DocumentStatus.POSTED
    payments = PaymentAllocation.objects.filter(payment__status=posted, applied_on__lte=end)
    credits = CreditNoteAllocation.objects.filter(credit_note__status=posted, applied_on__lte=end)
    # Receivables due by the end of the year that were not settled before it began.
    receivables = list(
        Receivable.objects.filter(owner_visibility(user, "representative"), due_on__lte=end, invoiced_on__lte=end)
        .filter(
            Q(due_on__gte=start)
            | Q(open_amount__gt=0)
            | Exists(payments.filter(receivable=OuterRef("pk"), applied_on__gte=start))
            | Exists(credits.filter(receivable=OuterRef("pk"), applied_on__gte=start))
        )
        .values_list("pk", "representative", "amount", "due_on")
    )
    ids = [row[0] for row in receivables]
    paid = defaultdict(lambda: defaultdict(lambda: ZERO))
    credited = defaultdict(lambda: defaultdict(lambda: ZERO))
    for target, queryset in ((paid, payments), (credited, credits)):
        rows = (
            queryset.filter(receivable__in=ids)
            .annotate(month=TruncMonth("applied_on"))
            .values("receivable", "month")
            .annotate(total=Sum("amount"))
        )
        for row in rows:
            month = row["month"]
            # Month 0 holds everything applied before the year.
            key = month.month if month.year == year else 0
            target[row["receivable"]][key] += round_money(row["total"] or 0)

    table = defaultdict(lambda: {month: {"received": ZERO, "due": ZERO} for month in range(1, 13)})
    for pk, representative, amount, due_on in receivables:
        paid_before = paid[pk][0]
        credited_by = credited[pk][0]
        for month in range(1, 13):
            credited_by += credited[pk][month]
            if due_on <= _month_end(year, month):
                owed = amount - credited_by - paid_before
                collected = paid[pk][month]
                if owed > 0 or collected > 0:
                    cell = table[representative][month]
                    cell["due"] += max(owed, ZERO)
                    cell["received"] += collected
            paid_before += paid[pk][month]
    from dentalsales.accounts.models import User

    owners = User.objects.in_bulk([key for key in table if key is not None])
    result = []
    for owner_id, months in table.items():
        cells = []
        for month in range(1, 13):
            values = months[month]
            cells.append({"month": month, **values, "rate": _rate(values["received"], values["due"])})
        total_due = sum((cell["due"] for cell in cells), ZERO)
        total_received = sum((cell["received"] for cell in cells), ZERO)
        result.append(
            {
                "owner": owners.get(owner_id),
                "months": cells,
                "due": total_due,
                "received": total_received,
                "rate": _rate(total_received, total_due),
            }
        )
    result.sort(key=lambda row: str(row["owner"] or ""))
    return result


def _rate(received, due):
    return (received / due * 100).quantize(Decimal("0.1")) if due > 0 else None


def collection_years(user, today=None):
    """Return the years offered on the collection rate page: the last four and any year with receivables due."""
    today = today or local_today()
    bounds = Receivable.objects.filter(owner_visibility(user, "representative")).aggregate(
        first=Min(ExtractYear("due_on")), last=Max(ExtractYear("due_on"))
    )
    first = min(bounds["first"] or today.year, today.year - 3)
    last = max(bounds["last"] or today.year, today.year)
    return list(range(max(first, 2000), min(last, 2100) + 1))


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
        return True, _join_sentences(problems)
    return False, _join_sentences(problems)


def _join_sentences(sentences):
    # Chinese sentences end in a full-width stop and take no space after it.
    separator = "" if (get_language() or "").startswith("zh") else " "
    return separator.join(str(sentence) for sentence in sentences)


# Dashboard ---------------------------------------------------------------

RELEASE_ENDING_DAYS = 7


def dashboard_entries(user, today=None):
    """Return finance's work as (label, figure, url) rows for the dashboard, in four queries.

    Overdue receivables (count and amount), those beyond the overdue
    tolerance that block orders, unapplied payments and credit notes, and
    credit releases ending within ``RELEASE_ENDING_DAYS``. Only rows with
    something in them are returned. Finance and administrators get them;
    other roles see receivables through their own lists.
    """
    from django.urls import reverse

    if not user.is_authenticated or not user.has_role(Role.FINANCE, Role.ADMINISTRATOR):
        return []
    today = today or local_today()
    tolerance_day = today - datetime.timedelta(days=overdue_tolerance_days())
    overdue = Receivable.objects.filter(open_amount__gt=0, due_on__lt=today).aggregate(
        count=Count("pk"),
        amount=Sum("open_amount"),
        beyond=Count("pk", filter=Q(due_on__lt=tolerance_day)),
    )
    unapplied_payments = Payment.objects.filter(status=DocumentStatus.POSTED, unapplied_amount__gt=0).aggregate(
        amount=Sum("unapplied_amount")
    )["amount"]
    unapplied_credits = CreditNote.objects.filter(status=DocumentStatus.POSTED, unapplied_amount__gt=0).aggregate(
        amount=Sum("unapplied_amount")
    )["amount"]
    ending = CreditRelease.objects.filter(
        revoked_at__isnull=True, valid_from__lte=today, valid_until__range=(today, today + datetime.timedelta(days=RELEASE_ENDING_DAYS))
    ).count()
    receivables = reverse("finance:receivable_list")
    entries = [
        (_("Overdue receivables"), overdue["count"], f"{receivables}?status=overdue"),
        (_("Overdue amount"), format_money(overdue["amount"]) if overdue["amount"] else 0, f"{receivables}?status=overdue"),
        (
            _("Receivables overdue more than %(days)s days (orders blocked)") % {"days": overdue_tolerance_days()},
            overdue["beyond"],
            reverse("finance:aging"),
        ),
        (_("Unapplied payments"), format_money(unapplied_payments) if unapplied_payments else 0, reverse("finance:payment_list") + "?unapplied=1"),
        (_("Unapplied credit notes"), format_money(unapplied_credits) if unapplied_credits else 0, reverse("finance:credit_note_list") + "?unapplied=1"),
        (_("Credit releases ending within %(days)s days") % {"days": RELEASE_ENDING_DAYS}, ending, reverse("finance:release_list")),
    ]
    return [entry for entry in entries if entry[1]]
