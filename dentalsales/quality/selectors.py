"""Reads for recalls and the expiry radar, each in a fixed number of queries."""

import datetime

from django.conf import settings
from django.db.models import Count, F, Prefetch, Q, Sum

from dentalsales.accounts.roles import Role
from dentalsales.catalog.models import Product
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import Allocation, Lot, StockBalance

from .models import ACTIVE_RECALL_STATUSES, Recall, RecallCustomer, RecallReleasedReservation, RecallStatus
from .services import RECALL_VIEW_ROLES

# Roles that watch expiring stock and registrations.
RADAR_ROLES = frozenset({Role.QUALITY_OFFICER, Role.LOGISTICS, Role.MANAGER, Role.ADMINISTRATOR})
DEFAULT_EXPIRY_WINDOWS_DAYS = (30, 90, 180)


def can_view_recalls(user):
    return user.is_authenticated and user.has_role(*RECALL_VIEW_ROLES)


def visible_recalls(user):
    """Return the recalls ``user`` may read: all of them for the recall roles, none for anyone else."""
    if not can_view_recalls(user):
        return Recall.objects.none()
    return Recall.objects.all()


def recall_list(user, *, status="", search=""):
    queryset = (
        visible_recalls(user)
        .select_related("product", "created_by")
        .annotate(
            customer_count=Count("customers", distinct=True),
            notified_count=Count("customers", filter=Q(customers__notified_at__isnull=False), distinct=True),
        )
        .prefetch_related(Prefetch("lots", queryset=Lot.objects.order_by("lot_number")))
    )
    if status:
        queryset = queryset.filter(status=status)
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(
            Q(number__icontains=search)
            | Q(product__name__icontains=search)
            | Q(product__sku__icontains=search)
            | Q(lots__lot_number__icontains=search)
        ).distinct()
    return queryset.order_by("-created_at", "-pk")


def recall_customers(recall):
    return (
        RecallCustomer.objects.filter(recall=recall)
        .select_related("customer", "customer__owner", "notified_by")
        .order_by("customer__code")
    )


def recall_totals(recall):
    """Return shipped, recovered, notified and acknowledged totals of a recall's customers in one query."""
    return RecallCustomer.objects.filter(recall=recall).aggregate(
        customers=Count("pk"),
        shipped=Sum("quantity_shipped", default=0),
        recovered=Sum("quantity_recovered", default=0),
        returned=Sum("quantity_returned", default=0),
        notified=Count("pk", filter=Q(notified_at__isnull=False)),
        acknowledged=Count("pk", filter=Q(acknowledged_at__isnull=False)),
    )


def open_reservations(lot_ids):
    """Return reservations still open on ``lot_ids`` (order number, lot, quantity), which the recall stops from shipping."""
    rows = (
        Allocation.objects.filter(lot_id__in=list(lot_ids))
        .annotate(open=F("quantity") - F("shipped_quantity") - F("released_quantity"))
        .filter(open__gt=0)
        .values("order_line__order_id", "order_line__order__number", "lot__lot_number", "open")
        .order_by("order_line__order__number", "lot__lot_number")
    )
    return list(rows)


def released_reservations(recall):
    """Return the reservations the recall gave back when it opened, by order number and lot."""
    return (
        RecallReleasedReservation.objects.filter(recall=recall)
        .select_related("order", "order__owner", "order__customer", "order_line__product", "lot", "warehouse")
        .order_by("order__number", "lot__lot_number", "pk")
    )


def recall_returns(recall, lot_ids):
    """Return the return lines of the recall's lots from customers on its list (requests not rejected or cancelled)."""
    from dentalsales.aftersales.selectors import returns_of_lots

    if recall.status == RecallStatus.DRAFT:
        return []
    customers = recall.customers.values("customer_id")
    return list(returns_of_lots(lot_ids).filter(request__customer_id__in=customers))


def other_active_recalls(recall, lot_ids):
    """Return the other draft or open recalls that cover any of ``lot_ids``."""
    return list(
        Recall.objects.filter(recall_lots__lot_id__in=list(lot_ids), status__in=ACTIVE_RECALL_STATUSES)
        .exclude(pk=recall.pk)
        .distinct()
        .order_by("number")
    )


def stock_on_hand_by_lot(lot_ids):
    """Return {lot id: units on hand in every warehouse} for ``lot_ids``."""
    rows = StockBalance.objects.filter(lot_id__in=list(lot_ids)).values("lot_id").annotate(on_hand=Sum("on_hand"))
    return {row["lot_id"]: row["on_hand"] or 0 for row in rows}


# -- expiry radar -----------------------------------------------------------


def expiry_windows():
    """Return the configured windows in days, ascending and without duplicates."""
    windows = getattr(settings, "EXPIRY_WINDOWS_DAYS", None) or DEFAULT_EXPIRY_WINDOWS_DAYS
    return sorted({int(days) for days in windows if int(days) > 0})


def can_view_radar(user):
    return user.is_authenticated and user.has_role(*RADAR_ROLES)


def near_expiry_stock(*, within_days=None, today=None, include_expired=True, warehouse=None):
    """Return balances with stock on hand whose lot expires within ``within_days`` (default: the largest window).

    A lot is valid through its expiry date (Asia/Shanghai), so a lot
    expiring today is near expiry, not expired. Expired lots with stock
    are included unless ``include_expired`` is false. First expiry first.
    """
    today = today or local_today()
    within_days = within_days if within_days is not None else expiry_windows()[-1]
    queryset = StockBalance.objects.filter(on_hand__gt=0, lot__expiry_date__lte=today + datetime.timedelta(days=within_days))
    if not include_expired:
        queryset = queryset.filter(lot__expiry_date__gte=today)
    if warehouse:
        queryset = queryset.filter(warehouse=warehouse)
    return queryset.select_related("warehouse", "lot", "lot__product").order_by("lot__expiry_date", "lot__product__sku", "warehouse__code")


def expiring_registrations(*, within_days=None, today=None):
    """Return active products whose registration is still valid but ends within ``within_days`` (default: the largest window)."""
    today = today or local_today()
    within_days = within_days if within_days is not None else expiry_windows()[-1]
    return Product.objects.filter(
        is_active=True,
        registration_valid_until__gte=today,
        registration_valid_until__lte=today + datetime.timedelta(days=within_days),
    ).order_by("registration_valid_until", "sku")


def products_without_valid_registration(*, today=None):
    """Return active products whose registration has expired or that have no registration number."""
    today = today or local_today()
    return Product.objects.filter(is_active=True).filter(
        Q(registration_valid_until__lt=today) | Q(registration_number="")
    ).order_by("registration_valid_until", "sku")


def radar_counts(*, today=None):
    """Return the radar's counts in two queries: lots with stock per window and expired, and the registration counts.

    Keys: ``windows`` [(days, lots with stock expiring within days)],
    ``expired_lots``, ``expiring_registrations``, ``invalid_registrations``.
    """
    today = today or local_today()
    windows = expiry_windows()
    aggregates = {
        f"within_{days}": Count("lot_id", distinct=True, filter=Q(lot__expiry_date__gte=today, lot__expiry_date__lte=today + datetime.timedelta(days=days)))
        for days in windows
    }
    aggregates["expired"] = Count("lot_id", distinct=True, filter=Q(lot__expiry_date__lt=today))
    stock = StockBalance.objects.filter(on_hand__gt=0).aggregate(**aggregates)
    registrations = Product.objects.filter(is_active=True).aggregate(
        expiring=Count("pk", filter=Q(registration_valid_until__gte=today, registration_valid_until__lte=today + datetime.timedelta(days=windows[-1]))),
        invalid=Count("pk", filter=Q(registration_valid_until__lt=today) | Q(registration_number="")),
    )
    return {
        "windows": [(days, stock[f"within_{days}"]) for days in windows],
        "expired_lots": stock["expired"],
        "expiring_registrations": registrations["expiring"],
        "invalid_registrations": registrations["invalid"],
        "registration_window": windows[-1],
    }
