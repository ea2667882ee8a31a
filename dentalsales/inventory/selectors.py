"""Reads on stock."""

import datetime
from collections import defaultdict

from django.db.models import BooleanField, Case, F, IntegerField, Q, Sum, Value, When
from django.utils import timezone

from dentalsales.core.timeutils import local_today

from dentalsales.accounts.roles import WAREHOUSE_ROLES, Role

from .models import Lot, LotStatus, Shipment, ShipmentStatus, StockBalance, StockLedgerEntry
from .services import eligible_balances_query

# Roles that see the stock ledger, stock counts and transfers.
STOCK_CONTROL_ROLES = WAREHOUSE_ROLES | {Role.QUALITY_OFFICER, Role.FINANCE}
# Roles that see stock per lot and warehouse (the stock page and the receipts API). Representatives see
# availability per product in order entry and on the product page instead.
STOCK_PAGE_ROLES = WAREHOUSE_ROLES | {Role.QUALITY_OFFICER, Role.SUPERVISOR}
# The inactive warehouse that contains quarantined customer returns. The
# after-sales app creates it, and its stock is on hand but never available.
QUARANTINE_WAREHOUSE_CODE = "QUARANTINE"


def _quarantine_condition(prefix=""):
    """Return the condition for stock held in quarantine: in the quarantine warehouse, or of a quarantined lot."""
    return Q(**{f"{prefix}warehouse__code": QUARANTINE_WAREHOUSE_CODE}) | Q(**{f"{prefix}lot__status": LotStatus.QUARANTINED})


def product_stock(product):
    """Return on hand, reserved, available and quarantined of a product in total and per lot (all warehouses).

    Available counts only sellable stock: a lot that is available and not
    expired, in an active warehouse, so quarantined returns in the inactive
    quarantine warehouse are on hand and quarantined, never available.
    """
    in_active_warehouse = Q(balances__warehouse__is_active=True)
    lots = (
        Lot.objects.filter(product=product)
        .annotate(
            lot_on_hand=Sum("balances__on_hand"),
            lot_reserved=Sum("balances__reserved"),
            active_on_hand=Sum("balances__on_hand", filter=in_active_warehouse),
            active_reserved=Sum("balances__reserved", filter=in_active_warehouse),
            quarantine_on_hand=Sum("balances__on_hand", filter=Q(balances__warehouse__code=QUARANTINE_WAREHOUSE_CODE)),
        )
        .order_by("expiry_date", "lot_number")
    )
    rows = []
    totals = {"on_hand": 0, "reserved": 0, "available": 0, "quarantined": 0}
    today = local_today()
    for lot in lots:
        on_hand = lot.lot_on_hand or 0
        reserved = lot.lot_reserved or 0
        # Expired, quarantined and recalled stock is on hand but cannot be sold.
        sellable = lot.status == LotStatus.AVAILABLE and lot.expiry_date >= today
        available = (lot.active_on_hand or 0) - (lot.active_reserved or 0) if sellable else 0
        quarantined = on_hand if lot.status == LotStatus.QUARANTINED else lot.quarantine_on_hand or 0
        rows.append(
            {
                "lot": lot,
                "lot_number": lot.lot_number,
                "production_date": lot.production_date,
                "expiry_date": lot.expiry_date,
                "status": lot.status,
                "is_expired": lot.expiry_date < today,
                "on_hand": on_hand,
                "reserved": reserved,
                "available": available,
                "quarantined": quarantined,
                "sellable": sellable,
            }
        )
        totals["on_hand"] += on_hand
        totals["reserved"] += reserved
        totals["available"] += available
        totals["quarantined"] += quarantined
    return {**totals, "lots": rows}


def eligible_available_by_product(product_ids, min_shelf_life_days):
    """Return {product id: units available for allocation} for a customer's shelf-life requirement."""
    rows = (
        eligible_balances_query(product_ids, min_shelf_life_days)
        .values("lot__product_id")
        .annotate(available=Sum(F("on_hand") - F("reserved")))
    )
    result = defaultdict(int)
    for row in rows:
        result[row["lot__product_id"]] = row["available"] or 0
    return result


def stock_balances(*, search="", warehouse=None, include_empty=False, today=None):
    """Return stock balances with ``available_quantity`` and ``in_quarantine`` annotated, by SKU, expiry and warehouse.

    ``available_quantity`` is on hand minus reserved for a lot that is
    available and not expired in an active warehouse, else 0, the same rule
    allocation follows. ``in_quarantine`` marks stock in the quarantine
    warehouse or of a quarantined lot.
    """
    today = today or local_today()
    queryset = StockBalance.objects.select_related("warehouse", "lot", "lot__product").annotate(
        available_quantity=Case(
            When(
                lot__status=LotStatus.AVAILABLE,
                lot__expiry_date__gte=today,
                warehouse__is_active=True,
                then=F("on_hand") - F("reserved"),
            ),
            default=Value(0),
            output_field=IntegerField(),
        ),
        in_quarantine=Case(When(_quarantine_condition(), then=Value(True)), default=Value(False), output_field=BooleanField()),
    )
    if not include_empty:
        queryset = queryset.filter(on_hand__gt=0)
    if warehouse:
        queryset = queryset.filter(warehouse=warehouse)
    if search:
        from dentalsales.catalog.models import Product
        from dentalsales.catalog.selectors import search_products

        product_ids = search_products(Product.objects.all(), search).values("pk")
        queryset = queryset.filter(Q(lot__product_id__in=product_ids) | Q(lot__lot_number__icontains=search))
    return queryset.order_by("lot__product__sku", "lot__expiry_date", "warehouse__code")


def visible_shipments(user):
    from dentalsales.accounts.selectors import owner_visibility

    return Shipment.objects.filter(owner_visibility(user, "order__owner"))


def warehouses_with_open_reservations(order):
    """Return the warehouses that hold stock reserved and not yet shipped for ``order``, by code."""
    from .models import Allocation, Warehouse

    warehouse_ids = {
        allocation.warehouse_id
        for allocation in Allocation.objects.filter(order_line__order=order).only(
            "warehouse_id", "quantity", "shipped_quantity", "released_quantity"
        )
        if allocation.open_quantity > 0
    }
    return list(Warehouse.objects.filter(pk__in=warehouse_ids).order_by("code"))


def _day_start(day):
    """Return the aware datetime at which ``day`` begins in the business time zone (Asia/Shanghai)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def ledger_entries(*, warehouse=None, lot=None, product=None, reason="", search="", date_from=None, date_to=None):
    """Return stock ledger rows, newest first, filtered by warehouse, lot, product, reason and business day range."""
    queryset = StockLedgerEntry.objects.select_related("warehouse", "lot", "lot__product", "created_by")
    if warehouse:
        queryset = queryset.filter(warehouse=warehouse)
    if lot:
        queryset = queryset.filter(lot=lot)
    if product:
        queryset = queryset.filter(lot__product=product)
    if reason:
        queryset = queryset.filter(reason=reason)
    if search:
        queryset = queryset.filter(Q(lot__lot_number__icontains=search) | Q(reference__icontains=search) | Q(lot__product__sku__icontains=search))
    if date_from:
        queryset = queryset.filter(created_at__gte=_day_start(date_from))
    if date_to:
        queryset = queryset.filter(created_at__lt=_day_start(date_to + datetime.timedelta(days=1)))
    return queryset.order_by("-created_at", "-id")


def with_running_balance(entries):
    """Annotate ``running_balance``: the lot's stock in the row's warehouse after the row, whatever the filters.

    A correlated subquery over the whole ledger, so a filtered or paged
    list still shows true balances and costs no query per row.
    """
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    earlier = (
        StockLedgerEntry.objects.filter(warehouse=OuterRef("warehouse"), lot=OuterRef("lot"))
        .filter(Q(created_at__lt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), id__lte=OuterRef("id")))
        .order_by()
        .values("lot")
        .annotate(total=Sum("quantity"))
        .values("total")
    )
    return entries.annotate(running_balance=Coalesce(Subquery(earlier, output_field=IntegerField()), Value(0)))


def dashboard_entries(user):
    """Return the stock and shipment work waiting for ``user``: (label, count, url) per queue, one query each."""
    from django.db.models import Count
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from .models import StockCount, StockCountStatus

    entries = []
    shipment_list = reverse("inventory:shipment_list")
    may_ship = user.has_role(*WAREHOUSE_ROLES)
    may_review = user.has_role(Role.QUALITY_OFFICER)
    if may_ship or may_review:
        by_status = dict(
            Shipment.objects.filter(status__in=[ShipmentStatus.PICKED, ShipmentStatus.REVIEWED, ShipmentStatus.DISPATCHED])
            .values_list("status")
            .annotate(count=Count("pk"))
            .order_by()
        )
        entries.append(
            (_("Shipments waiting for outbound review"), by_status.get(ShipmentStatus.PICKED, 0), f"{shipment_list}?status=picked")
        )
        if may_ship:
            entries.append((_("Reviewed shipments to dispatch"), by_status.get(ShipmentStatus.REVIEWED, 0), f"{shipment_list}?status=reviewed"))
            entries.append(
                (_("Shipments waiting for delivery confirmation"), by_status.get(ShipmentStatus.DISPATCHED, 0), f"{shipment_list}?status=dispatched")
            )
    if may_ship:
        from .stock_control import COUNT_APPROVAL_ROLES

        if user.has_role(*COUNT_APPROVAL_ROLES):
            waiting = StockCount.objects.filter(status=StockCountStatus.SUBMITTED).exclude(counted_by=user).count()
            entries.append(
                (_("Stock counts waiting for approval"), waiting, f"{reverse('inventory:stock_count_list')}?status=submitted")
            )
    if may_review:
        entries.append((_("Quarantined lots"), Lot.objects.filter(status=LotStatus.QUARANTINED).count(), reverse("inventory:quarantine_list")))
    return entries


def quarantined_lots():
    """Return quarantined lots, first expiry first, with their product, ``lot_on_hand``, ``stock`` and ``inspection_note``.

    ``stock`` lists the lot's balances on hand by warehouse. ``inspection_note``
    is the note of the lot's latest receipt quarantined at inspection. It is
    empty when the lot was quarantined another way.
    """
    from django.db.models import OuterRef, Prefetch, Subquery

    from .models import GoodsReceipt, InspectionResult

    quarantine_note = (
        GoodsReceipt.objects.filter(lot=OuterRef("pk"), inspection_result=InspectionResult.QUARANTINED)
        .order_by("-received_at", "-pk")
        .values("inspection_note")[:1]
    )
    return (
        Lot.objects.filter(status=LotStatus.QUARANTINED)
        .select_related("product")
        .annotate(lot_on_hand=Sum("balances__on_hand"), inspection_note=Subquery(quarantine_note))
        .prefetch_related(
            Prefetch(
                "balances",
                queryset=StockBalance.objects.filter(on_hand__gt=0).select_related("warehouse").order_by("warehouse__code"),
                to_attr="stock",
            )
        )
        .order_by("expiry_date", "lot_number", "pk")
    )


# Shipment states in the order goods move through them; a cancelled picking is left out of progress counts.
SHIPMENT_PROGRESS_STATUSES = (ShipmentStatus.PICKED, ShipmentStatus.REVIEWED, ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED)


def shipment_progress(order_ids):
    """Return {order id: [(status, label, count), ...]} counting each order's shipments by status, in flow order; one query.

    An order's status reads "shipped" from picking on. These counts show how
    many of its shipments are still in the warehouse, on the way or delivered.
    """
    from django.db.models import Count

    counts = defaultdict(dict)
    rows = (
        Shipment.objects.filter(order_id__in=list(order_ids), status__in=SHIPMENT_PROGRESS_STATUSES)
        .values("order_id", "status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    for row in rows:
        counts[row["order_id"]][row["status"]] = row["count"]
    return {
        order_id: [(status.value, status.label, by_status[status]) for status in SHIPMENT_PROGRESS_STATUSES if by_status.get(status)]
        for order_id, by_status in counts.items()
    }
