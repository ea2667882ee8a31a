"""Reads on complaints, call-backs and returns, scoped to what the user may see.

Representatives see their own customers' records, supervisors their team's,
managers and administrators all. The quality officer sees every complaint,
logistics the delivery complaints and finance the price complaints.
Logistics and the quality officer see returns once they are approved, since
they receive them, and finance sees every return because of credit notes.
"""

from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import TruncMonth

from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import ShipmentStatus

from .models import (
    VOID_RETURN_STATUSES,
    AdverseEventReview,
    CallbackStatus,
    Complaint,
    ComplaintCategory,
    OPEN_COMPLAINT_STATUSES,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
    SatisfactionCallback,
)

# Goods on a shipment in these states have left the warehouse, so the customer may send them back.
RETURNABLE_SHIPMENT_STATUSES = (ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED)
# Returns that logistics and the quality officer act on or have acted on.
WAREHOUSE_VISIBLE_RETURN_STATUSES = (ReturnStatus.APPROVED, ReturnStatus.RECEIVED)


def _sales_visibility(user, field):
    """Return the representative/supervisor rule on ``field``, or None for a user outside those roles.

    Callers check the roles that see everything first, because ``Q() | x``
    is ``x`` in Django and would narrow an unrestricted condition.
    """
    if user.has_role(Role.SUPERVISOR):
        return Q(**{field: user}) | Q(**{f"{field}__team__supervisor": user})
    if user.has_role(Role.REPRESENTATIVE):
        return Q(**{field: user})
    return None


def _any_of(conditions):
    """Return the OR of ``conditions``, or None when there are none."""
    result = None
    for condition in conditions:
        result = condition if result is None else result | condition
    return result


def visible_complaints(user):
    if not user.is_authenticated:
        return Complaint.objects.none()
    if user.has_role(Role.MANAGER, Role.ADMINISTRATOR, Role.QUALITY_OFFICER):
        return Complaint.objects.all()
    conditions = []
    sales = _sales_visibility(user, "customer__owner")
    if sales is not None:
        # The person responsible sees a complaint assigned to them even on another rep's customer.
        conditions += [sales, Q(owner=user)]
    if user.has_role(Role.LOGISTICS):
        conditions.append(Q(category=ComplaintCategory.DELIVERY))
    if user.has_role(Role.FINANCE):
        conditions.append(Q(category=ComplaintCategory.PRICE))
    condition = _any_of(conditions)
    return Complaint.objects.none() if condition is None else Complaint.objects.filter(condition)


def complaint_list(user, *, status="", severity="", category="", search="", overdue=False, escalated=False, adverse=False):
    queryset = visible_complaints(user).select_related("customer", "owner", "product", "lot")
    if status == "open":
        queryset = queryset.filter(status__in=OPEN_COMPLAINT_STATUSES)
    elif status:
        queryset = queryset.filter(status=status)
    if severity:
        queryset = queryset.filter(severity=severity)
    if category:
        queryset = queryset.filter(category=category)
    if overdue:
        queryset = queryset.filter(status__in=OPEN_COMPLAINT_STATUSES, due_date__lt=local_today())
    if escalated:
        queryset = queryset.filter(escalated_at__isnull=False, status__in=OPEN_COMPLAINT_STATUSES)
    if adverse:
        queryset = queryset.filter(suspected_adverse_event=True)
    if search:
        text = search.strip()
        queryset = queryset.filter(
            Q(number__icontains=text) | Q(customer__search_text__contains=text.lower()) | Q(description__icontains=text)
        )
    return queryset.order_by("-received_on", "-number")


def adverse_event_queue(user):
    """Return complaints flagged as suspected adverse events that wait for the quality officer's assessment."""
    if not user.has_role(Role.QUALITY_OFFICER, Role.MANAGER, Role.ADMINISTRATOR):
        return Complaint.objects.none()
    return (
        visible_complaints(user)
        .filter(adverse_event_review=AdverseEventReview.PENDING)
        .select_related("customer", "owner", "product", "lot")
        .order_by("received_on", "number")
    )


# Roles that may see which other customers received a lot; representatives
# only see their own customers.
LOT_TRACE_ROLES = (Role.QUALITY_OFFICER, Role.MANAGER, Role.ADMINISTRATOR)


def lot_other_customers(complaint):
    """Return every other customer that received the complaint's lot: customer, shipment, date and quantity, one query."""
    from dentalsales.inventory.models import ShipmentLine

    if complaint.lot_id is None:
        return []
    return list(
        ShipmentLine.objects.filter(lot_id=complaint.lot_id)
        .exclude(shipment__customer_id=complaint.customer_id)
        .select_related("shipment__customer")
        .order_by("shipment__customer__code", "shipment__shipped_on", "pk")
    )


def visible_callbacks(user):
    if not user.is_authenticated:
        return SatisfactionCallback.objects.none()
    if user.has_role(Role.MANAGER, Role.ADMINISTRATOR):
        return SatisfactionCallback.objects.all()
    condition = _sales_visibility(user, "owner")
    return SatisfactionCallback.objects.none() if condition is None else SatisfactionCallback.objects.filter(condition)


def callback_list(user, *, status="", due_only=False):
    queryset = visible_callbacks(user).select_related("customer", "owner", "shipment")
    if status:
        queryset = queryset.filter(status=status)
    if due_only:
        queryset = queryset.filter(status=CallbackStatus.SCHEDULED, due_date__lte=local_today())
    return queryset.order_by("due_date", "pk")


def visible_returns(user):
    if not user.is_authenticated:
        return ReturnRequest.objects.none()
    if user.has_role(Role.MANAGER, Role.ADMINISTRATOR, Role.FINANCE):
        return ReturnRequest.objects.all()
    conditions = []
    sales = _sales_visibility(user, "owner")
    if sales is not None:
        conditions.append(sales)
    if user.has_role(Role.LOGISTICS, Role.QUALITY_OFFICER):
        conditions.append(Q(status__in=WAREHOUSE_VISIBLE_RETURN_STATUSES))
    condition = _any_of(conditions)
    return ReturnRequest.objects.none() if condition is None else ReturnRequest.objects.filter(condition)


def return_list(user, *, status="", kind="", customer=None, search=""):
    queryset = visible_returns(user).select_related("customer", "owner", "replacement_order")
    if status:
        queryset = queryset.filter(status=status)
    if kind:
        queryset = queryset.filter(kind=kind)
    if customer:
        queryset = queryset.filter(customer=customer)
    if search:
        text = search.strip()
        queryset = queryset.filter(Q(number__icontains=text) | Q(customer__search_text__contains=text.lower()))
    return queryset.order_by("-created_at", "-number")


def returned_quantities(shipment_line_ids, *, exclude_request=None):
    """Return {shipment line id: units already requested back}, counting every request not rejected or cancelled."""
    lines = ReturnLine.objects.filter(shipment_line_id__in=list(shipment_line_ids)).exclude(
        request__status__in=VOID_RETURN_STATUSES
    )
    if exclude_request is not None:
        lines = lines.exclude(request=exclude_request)
    return dict(lines.values_list("shipment_line_id").annotate(total=Sum("quantity")).values_list("shipment_line_id", "total"))


def returnable_lines(user, customer):
    """Return the customer's shipment lines that still have units to return, each with ``returnable`` set.

    Fixed at three queries: the customer check, the shipment lines and the
    returned quantities.
    """
    from dentalsales.customers.selectors import visible_customers
    from dentalsales.inventory.models import ShipmentLine

    if not visible_customers(user).filter(pk=customer.pk).exists():
        return []
    lines = list(
        ShipmentLine.objects.filter(shipment__customer=customer, shipment__status__in=RETURNABLE_SHIPMENT_STATUSES)
        .select_related("shipment", "order_line", "lot")
        .order_by("-shipment__shipped_on", "shipment__number", "pk")
    )
    returned = returned_quantities(line.pk for line in lines)
    result = []
    for line in lines:
        line.returned = returned.get(line.pk, 0)
        line.returnable = line.quantity - line.returned
        if line.returnable > 0:
            result.append(line)
    return result


SATISFACTION_DIMENSIONS = {
    "customer": ("customer_id", "customer__name"),
    "representative": ("owner_id", "owner__username"),
    "product": ("shipment__lines__product_id", "shipment__lines__product_name"),
    "month": ("month", None),
}


def satisfaction_report(user, *, dimension="representative", start=None, end=None):
    """Return rows of (key, label, call-backs scored, average score) for the scored call-backs the user may see.

    The month is the month of the call-back in Asia/Shanghai. Per product,
    a call-back counts for every product its shipment carried.
    """
    key, label = SATISFACTION_DIMENSIONS[dimension]
    queryset = visible_callbacks(user).filter(status=CallbackStatus.DONE, score__isnull=False)
    if start:
        queryset = queryset.filter(completed_at__date__gte=start)
    if end:
        queryset = queryset.filter(completed_at__date__lte=end)
    if dimension == "month":
        rows = (
            queryset.annotate(month=TruncMonth("completed_at"))
            .values("month")
            .annotate(count=Count("pk", distinct=True), average=Avg("score"))
            .order_by("month")
        )
        return [{"key": row["month"], "label": f"{row['month']:%Y-%m}", "count": row["count"], "average": row["average"]} for row in rows]
    rows = (
        queryset.values(key_value=F(key), label_value=F(label))
        .annotate(count=Count("pk", distinct=True), average=Avg("score"))
        .order_by("-average", "label_value")
    )
    result = [
        {"key": row["key_value"], "label": row["label_value"], "count": row["count"], "average": row["average"]} for row in rows
    ]
    if dimension == "representative":
        # The display name is two columns plus a fallback, so it is looked up after grouping.
        from dentalsales.accounts.models import User

        users = User.objects.in_bulk([row["key"] for row in result])
        for row in result:
            row["label"] = str(users[row["key"]]) if row["key"] in users else row["label"]
    return result


def complaint_counts(user):
    """Return the complaint work waiting for ``user`` as counts: open, overdue, escalated to them, adverse events pending."""
    complaints = visible_complaints(user)
    today = local_today()
    return complaints.aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_COMPLAINT_STATUSES)),
        overdue=Count("pk", filter=Q(status__in=OPEN_COMPLAINT_STATUSES, due_date__lt=today)),
        escalated=Count("pk", filter=Q(status__in=OPEN_COMPLAINT_STATUSES, escalated_to=user)),
        adverse=Count("pk", filter=Q(adverse_event_review=AdverseEventReview.PENDING)),
    )



def dashboard_entries(user):
    """Return the after-sales work waiting for ``user`` as (label, count, url) rows, in at most four queries.

    Only rows with work in them are returned, so the dashboard shows an
    after-sales card only when something needs doing.
    """
    from django.urls import reverse
    from django.utils.translation import gettext as _

    entries = []
    if user.has_role(Role.REPRESENTATIVE, Role.SUPERVISOR, Role.MANAGER, Role.QUALITY_OFFICER, Role.LOGISTICS):
        counts = complaint_counts(user)
        complaints = reverse("aftersales:complaint_list")
        entries.append((_("Overdue complaints"), counts["overdue"], f"{complaints}?overdue=on"))
        if user.has_role(Role.QUALITY_OFFICER):
            entries.append((_("Suspected adverse events to assess"), counts["adverse"], reverse("aftersales:adverse_event_queue")))
    returns = reverse("aftersales:return_list")
    if user.has_role(Role.SUPERVISOR, Role.MANAGER):
        count = visible_returns(user).filter(status=ReturnStatus.REQUESTED).count()
        entries.append((_("Returns waiting for approval"), count, f"{returns}?status=requested"))
    if user.has_role(Role.LOGISTICS, Role.QUALITY_OFFICER):
        count = visible_returns(user).filter(status=ReturnStatus.APPROVED).count()
        entries.append((_("Returns to receive and inspect"), count, f"{returns}?status=approved"))
    if user.has_role(Role.REPRESENTATIVE, Role.SUPERVISOR):
        count = visible_callbacks(user).filter(status=CallbackStatus.SCHEDULED, due_date__lte=local_today()).count()
        entries.append((_("Satisfaction call-backs due"), count, reverse("aftersales:callback_list") + "?due=1"))
    return [entry for entry in entries if entry[1]]
