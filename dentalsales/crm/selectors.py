"""Reads of customer development, scoped to the customers the user may see."""

import datetime
from collections import defaultdict

from django.db.models import Count, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import ExtractYear

from dentalsales.accounts.selectors import owner_visibility
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer
from dentalsales.customers.selectors import contact_visibility, search_customers

from .models import (
    Activity,
    ActivityStatus,
    CrmPolicy,
    Gift,
    GiftStatus,
    Prospect,
    ProspectStage,
    RevisitPlan,
    RevisitStatus,
)
from .services.activities import REVISIT_KINDS


def _customer_visibility(user):
    return owner_visibility(user, field="customer__owner")


def visible_prospects(user):
    return Prospect.objects.filter(_customer_visibility(user))


def prospect_list(user, *, search="", source="", stage="", owner=None):
    queryset = visible_prospects(user).select_related("customer__owner")
    if search:
        queryset = queryset.filter(customer__in=search_customers(Customer.objects.all(), search, user))
    if source:
        queryset = queryset.filter(source=source)
    if stage:
        queryset = queryset.filter(stage=stage)
    if owner:
        queryset = queryset.filter(customer__owner=owner)
    return queryset.order_by("-created_at", "-pk")


def _rate(won, total):
    return None if not total else won / total


def conversion_rates(user, *, year=None):
    """Return conversion per source and per representative: total, won, lost, open and won / total.

    A potential customer counts in the year it was created; ``year=None``
    counts all. Two queries.
    """
    queryset = visible_prospects(user)
    if year:
        queryset = queryset.filter(created_at__year=year)
    counts = dict(
        total=Count("pk"),
        won=Count("pk", filter=Q(stage=ProspectStage.WON)),
        lost=Count("pk", filter=Q(stage=ProspectStage.LOST)),
    )
    by_source = list(queryset.values("source").annotate(**counts).order_by("source"))
    by_owner = list(
        queryset.values("customer__owner", "customer__owner__username", "customer__owner__last_name", "customer__owner__first_name")
        .annotate(**counts)
        .order_by("customer__owner__username")
    )
    for row in by_source + by_owner:
        row["open"] = row["total"] - row["won"] - row["lost"]
        row["rate"] = _rate(row["won"], row["total"])
    for row in by_owner:
        row["owner_name"] = f"{row['customer__owner__last_name']}{row['customer__owner__first_name']}".strip() or row["customer__owner__username"]
    return by_source, by_owner


def visible_activities(user):
    # Activities and gifts name the customer's contacts, which are personal
    # data, so they follow the contacts' visibility: finance, logistics and
    # quality do not see them although they see every customer.
    return Activity.objects.filter(contact_visibility(user))


def activity_list(user, *, search="", kind="", status="", customer=None, owner=None, date_from=None, date_to=None):
    queryset = visible_activities(user).select_related("customer", "owner")
    if search:
        queryset = queryset.filter(Q(subject__icontains=search) | Q(customer__search_text__contains=search.lower()))
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    if customer:
        queryset = queryset.filter(customer=customer)
    if owner:
        queryset = queryset.filter(owner=owner)
    if date_from:
        queryset = queryset.filter(occurred_on__gte=date_from)
    if date_to:
        queryset = queryset.filter(occurred_on__lte=date_to)
    return queryset.order_by("-occurred_on", "-pk")


def visible_revisit_plans(user):
    return RevisitPlan.objects.filter(_customer_visibility(user))


def revisit_list(user, *, state="", owner=None, today=None):
    """Return open revisit plans the user may see; one query. ``attach_last_revisits`` adds the last revisit dates.

    ``state`` ``overdue`` keeps plans due before today, ``due`` those due
    from today within the policy's days, empty both.
    """
    today = today or local_today()
    horizon = today + datetime.timedelta(days=CrmPolicy.current().revisit_due_soon_days)
    queryset = (
        visible_revisit_plans(user)
        # No filter on the customer being active: joining the customers for
        # it made the count several times slower, and ``plan_revisits``
        # cancels the open plans of inactive customers every day instead.
        .filter(status=RevisitStatus.OPEN)
        .select_related("customer__owner", "owner")
        .defer("customer__search_text")
    )
    if state == "overdue":
        queryset = queryset.filter(due_on__lt=today)
    elif state == "due":
        queryset = queryset.filter(due_on__gte=today, due_on__lte=horizon)
    else:
        queryset = queryset.filter(due_on__lte=horizon)
    if owner:
        queryset = queryset.filter(customer__owner=owner)
    return queryset.order_by("due_on", "pk")


def attach_last_revisits(plans):
    """Set ``last_revisit`` on each plan: the customer's latest submitted visit or phone call, or None; one query.

    Done for one page of plans at a time, because computing it for every
    row before paging would read the activities of every listed customer.
    """
    # A whole queryset (an export) is matched by a subquery, since its customer ids may pass SQLite's parameter limit.
    customers = plans.values("customer") if isinstance(plans, QuerySet) else [plan.customer_id for plan in plans]
    plans = list(plans)
    latest = dict(
        Activity.objects.filter(customer__in=customers, status=ActivityStatus.SUBMITTED, kind__in=REVISIT_KINDS)
        .values("customer")
        .annotate(last=Max("occurred_on"))
        .values_list("customer", "last")
    )
    for plan in plans:
        plan.last_revisit = latest.get(plan.customer_id)
    return plans


def visits_against_plan(user, *, year, month):
    """Return per representative, for one month: revisits planned, planned ones done, visits and calls submitted.

    Plans count in the month they fall due, activities in the month they
    took place. Two queries.
    """
    first = datetime.date(year, month, 1)
    last = (first + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    rows = defaultdict(lambda: {"planned": 0, "done": 0, "visits": 0, "calls": 0})
    names = {}
    plans = (
        visible_revisit_plans(user)
        .filter(due_on__range=(first, last))
        .exclude(status=RevisitStatus.CANCELLED)
        .values("owner", "owner__username", "owner__last_name", "owner__first_name")
        .annotate(planned=Count("pk"), done=Count("pk", filter=Q(status=RevisitStatus.DONE)))
    )
    for row in plans:
        names[row["owner"]] = f"{row['owner__last_name']}{row['owner__first_name']}".strip() or row["owner__username"]
        rows[row["owner"]]["planned"] = row["planned"]
        rows[row["owner"]]["done"] = row["done"]
    activities = (
        visible_activities(user)
        .filter(status=ActivityStatus.SUBMITTED, occurred_on__range=(first, last))
        .values("owner", "owner__username", "owner__last_name", "owner__first_name")
        .annotate(visits=Count("pk", filter=Q(kind="visit")), calls=Count("pk", filter=Q(kind="phone")))
    )
    for row in activities:
        names[row["owner"]] = f"{row['owner__last_name']}{row['owner__first_name']}".strip() or row["owner__username"]
        rows[row["owner"]]["visits"] = row["visits"]
        rows[row["owner"]]["calls"] = row["calls"]
    result = []
    for owner_pk, counts in rows.items():
        counts = dict(counts, owner=owner_pk, owner_name=names[owner_pk])
        counts["rate"] = _rate(counts["done"], counts["planned"])
        result.append(counts)
    return sorted(result, key=lambda row: row["owner_name"])


def visible_gifts(user):
    return Gift.objects.filter(contact_visibility(user))


def gift_list(user, *, search="", status="", customer=None, owner=None, year=None):
    queryset = visible_gifts(user).select_related("customer", "owner", "recipient")
    if search:
        queryset = queryset.filter(Q(description__icontains=search) | Q(customer__search_text__contains=search.lower()))
    if status:
        queryset = queryset.filter(status=status)
    if customer:
        queryset = queryset.filter(customer=customer)
    if owner:
        queryset = queryset.filter(owner=owner)
    if year:
        queryset = queryset.filter(given_on__year=year)
    return queryset.order_by("-given_on", "-pk")


def gift_report(user, *, year):
    """Return the given gifts' count and value per customer and per representative in ``year``; two queries."""
    given = visible_gifts(user).filter(status=GiftStatus.GIVEN, given_on__year=year)
    by_customer = list(
        given.values("customer", "customer__code", "customer__name")
        .annotate(count=Count("pk"), total=Sum("value"))
        .order_by("-total", "customer__code")
    )
    by_owner = list(
        given.values("owner", "owner__username", "owner__last_name", "owner__first_name")
        .annotate(count=Count("pk"), total=Sum("value"))
        .order_by("-total", "owner__username")
    )
    for row in by_owner:
        row["owner_name"] = f"{row['owner__last_name']}{row['owner__first_name']}".strip() or row["owner__username"]
    return by_customer, by_owner


def customer_gift_totals(customer):
    """Return the value of the gifts given to ``customer`` per year, newest year first; one query."""
    return list(
        Gift.objects.filter(customer=customer, status=GiftStatus.GIVEN)
        .annotate(year=ExtractYear("given_on"))
        .values("year")
        .annotate(count=Count("pk"), total=Sum("value"))
        .order_by("-year")
    )


def with_crm_summary(customers):
    """Annotate customers with ``crm_last_activity`` and ``crm_open_revisit_due``, for ``customer_crm_summary``.

    Both are subqueries of the customer query, so the customer page reads
    them without queries of its own.
    """
    last_activity = (
        Activity.objects.filter(customer=OuterRef("pk"), status=ActivityStatus.SUBMITTED, kind__in=REVISIT_KINDS)
        .order_by("-occurred_on")
        .values("occurred_on")[:1]
    )
    # At most one plan per customer is open (constraint crm_one_open_revisit_per_customer).
    open_revisit = RevisitPlan.objects.filter(customer=OuterRef("pk"), status=RevisitStatus.OPEN).values("due_on")[:1]
    return customers.annotate(crm_last_activity=Subquery(last_activity), crm_open_revisit_due=Subquery(open_revisit))


def customer_crm_summary(customer):
    """Return what the customer page shows of customer development: gifts per year, open revisit, last activity.

    One query for a customer from ``with_crm_summary`` selected with its
    ``prospect``; four otherwise.
    """
    if hasattr(customer, "crm_last_activity"):
        last_activity = customer.crm_last_activity
        open_revisit_due = customer.crm_open_revisit_due
    else:
        last_activity = (
            Activity.objects.filter(customer=customer, status=ActivityStatus.SUBMITTED, kind__in=REVISIT_KINDS)
            .aggregate(last=Max("occurred_on"))["last"]
        )
        open_revisit_due = (
            RevisitPlan.objects.filter(customer=customer, status=RevisitStatus.OPEN).values_list("due_on", flat=True).first()
        )
    try:
        prospect = customer.prospect
    except Prospect.DoesNotExist:
        prospect = None
    return {
        "gift_totals": customer_gift_totals(customer),
        "open_revisit_due": open_revisit_due,
        "last_activity": last_activity,
        "prospect": prospect,
    }


def dashboard_entries(user):
    """Return the customer-development work waiting for ``user`` as (label, count, url) rows, in at most three queries.

    Only rows with work in them are returned, so the dashboard shows a card only when something needs doing.
    """
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from dentalsales.accounts.roles import REVIEW_ROLES, SALES_ROLES

    entries = []
    if user.has_role(*SALES_ROLES):
        overdue = revisit_list(user, state="overdue").count()
        if overdue:
            entries.append((_("Overdue revisits"), overdue, reverse("crm:revisit_list") + "?state=overdue"))
    if user.has_role(*REVIEW_ROLES):
        waiting = visible_gifts(user).filter(status=GiftStatus.REQUESTED).exclude(owner=user).count()
        if waiting:
            entries.append((_("Gifts waiting for approval"), waiting, reverse("crm:gift_list") + "?status=requested"))
    return entries
