"""Reads on stock."""

import datetime
from collections import defaultdict

from django.db.models import F, Q, Sum
from django.utils import timezone

from dentalsales.core.timeutils import local_today

from dentalsales.accounts.roles import WAREHOUSE_ROLES, Role

from .models import Lot, LotStatus, Shipment, StockBalance, StockLedgerEntry
from .services import eligible_balances_query

# Roles that see the stock ledger, stock counts and transfers.
STOCK_CONTROL_ROLES = WAREHOUSE_ROLES | {Role.QUALITY_OFFICER, Role.FINANCE}


def product_stock(product):
    """Return on hand, reserved and available of a product in total and per lot (all warehouses).

    Available counts only sellable lots: status available and not expired.
    """
    lots = (
        Lot.objects.filter(product=product)
        .annotate(lot_on_hand=Sum("balances__on_hand"), lot_reserved=Sum("balances__reserved"))
        .order_by("expiry_date", "lot_number")
    )
    rows = []
    totals = {"on_hand": 0, "reserved": 0, "available": 0}
    today = local_today()
    for lot in lots:
        on_hand = lot.lot_on_hand or 0
        reserved = lot.lot_reserved or 0
        # Expired, quarantined and recalled stock is on hand but cannot be sold.
        sellable = lot.status == LotStatus.AVAILABLE and lot.expiry_date >= today
        available = on_hand - reserved if sellable else 0
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
                "sellable": sellable,
            }
        )
        totals["on_hand"] += on_hand
        totals["reserved"] += reserved
        totals["available"] += available
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


def stock_balances(*, search="", warehouse=None, include_empty=False):
    queryset = StockBalance.objects.select_related("warehouse", "lot", "lot__product")
    if not include_empty:
        queryset = queryset.filter(on_hand__gt=0)
    if warehouse:
        queryset = queryset.filter(warehouse=warehouse)
    if search:
        from dentalsales.catalog.models import Product
        from dentalsales.catalog.selectors import search_products

        product_ids = search_products(Product.objects.all(), search).values("pk")
        queryset = queryset.filter(lot__product_id__in=product_ids) | queryset.filter(lot__lot_number__icontains=search)
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
