"""Lot lookup and traceability reads: which customers received which lots, in which shipments.

The trace reads ``ShipmentLine`` rather than allocations, because a shipment
line is the record of goods that left the warehouse, with the lot number
and dates copied on the day of shipping. A customer has received a lot only
once the shipment is dispatched (or delivered): ``SHIPPED_STATUSES`` is the
one rule for the recall's customer list, its export and the trace API.
Picked or reviewed shipments are still in the warehouse and are listed apart
(``trace_shipments(..., in_warehouse=True)``), because cancelling the picking
puts their goods back. Every function here runs a fixed number of queries
whatever the number of rows.
"""

from django.db.models import Count, Max, Min, Sum

from dentalsales.accounts.roles import Role

from .models import Lot, ShipmentLine, ShipmentStatus

# Roles that may see who received a lot: the quality officer, who runs
# recalls, logistics, who ships and takes goods back, and management.
TRACE_ROLES = frozenset({Role.QUALITY_OFFICER, Role.LOGISTICS, Role.MANAGER, Role.ADMINISTRATOR})
# Shipments whose goods have left the warehouse and reached, or are on the way to, the customer.
SHIPPED_STATUSES = (ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED)
# Shipments picked from stock but not dispatched: the goods are still in the warehouse.
IN_WAREHOUSE_STATUSES = (ShipmentStatus.PICKED, ShipmentStatus.REVIEWED)


def can_trace(user):
    return user.is_authenticated and user.has_role(*TRACE_ROLES)


def find_lots(*, product=None, lot_number=""):
    """Return lots of ``product`` (an id or instance) whose lot number contains ``lot_number``, first expiry first."""
    queryset = Lot.objects.select_related("product")
    if product:
        queryset = queryset.filter(product=product)
    lot_number = (lot_number or "").strip()
    if lot_number:
        queryset = queryset.filter(lot_number__icontains=lot_number)
    return queryset.order_by("product__sku", "expiry_date", "lot_number")


def trace_shipments(lot_ids, *, in_warehouse=False):
    """Return one row per shipment and lot that shipped any of ``lot_ids``, oldest first.

    Each row is a dict with the customer (id, code, name, receiving contact
    and phone, delivery address as shipped), the shipment (id, number,
    date, status, order number), the lot (id, number) and the quantity.
    Only dispatched and delivered shipments count as shipped. With
    ``in_warehouse`` the rows are instead the picked or reviewed shipments,
    whose goods have not left yet. Shipments whose picking was cancelled
    are never listed. One query, whatever the number of rows.
    """
    statuses = IN_WAREHOUSE_STATUSES if in_warehouse else SHIPPED_STATUSES
    rows = (
        ShipmentLine.objects.filter(lot_id__in=list(lot_ids), shipment__status__in=statuses)
        .values(
            "shipment_id",
            "shipment__number",
            "shipment__shipped_on",
            "shipment__status",
            "shipment__order__number",
            "shipment__delivery_address",
            "shipment__receiving_contact",
            "shipment__customer_id",
            "shipment__customer__code",
            "shipment__customer__name",
            "shipment__customer__contact_name",
            "shipment__customer__contact_phone",
            "lot_id",
            "lot_number",
        )
        .annotate(quantity=Sum("quantity"))
        .order_by("shipment__shipped_on", "shipment_id", "lot_number")
    )
    return [
        {
            "customer": row["shipment__customer_id"],
            "customer_code": row["shipment__customer__code"],
            "customer_name": row["shipment__customer__name"],
            "contact_name": row["shipment__customer__contact_name"],
            "contact_phone": row["shipment__customer__contact_phone"],
            "receiving_contact": row["shipment__receiving_contact"],
            "delivery_address": row["shipment__delivery_address"],
            "shipment": row["shipment_id"],
            "shipment_number": row["shipment__number"],
            "shipped_on": row["shipment__shipped_on"],
            "shipment_status": row["shipment__status"],
            "order_number": row["shipment__order__number"],
            "lot": row["lot_id"],
            "lot_number": row["lot_number"],
            "quantity": row["quantity"],
        }
        for row in rows
    ]


def trace_customers(lot_ids):
    """Return one row per customer that received any of ``lot_ids``: quantity, shipment count and first and last date.

    One query; used to build a recall's affected-customer list. Counts
    dispatched and delivered shipments only, like ``trace_shipments``.
    """
    rows = (
        ShipmentLine.objects.filter(lot_id__in=list(lot_ids), shipment__status__in=SHIPPED_STATUSES)
        .values(
            "shipment__customer_id",
            "shipment__customer__name",
            "shipment__customer__contact_name",
            "shipment__customer__contact_phone",
            "shipment__customer__address",
        )
        .annotate(
            quantity=Sum("quantity"),
            shipments=Count("shipment_id", distinct=True),
            first_shipped_on=Min("shipment__shipped_on"),
            last_shipped_on=Max("shipment__shipped_on"),
        )
        .order_by("shipment__customer_id")
    )
    return [
        {
            "customer": row["shipment__customer_id"],
            "customer_name": row["shipment__customer__name"],
            "contact_name": row["shipment__customer__contact_name"],
            "contact_phone": row["shipment__customer__contact_phone"],
            "address": row["shipment__customer__address"],
            "quantity": row["quantity"],
            "shipments": row["shipments"],
            "first_shipped_on": row["first_shipped_on"],
            "last_shipped_on": row["last_shipped_on"],
        }
        for row in rows
    ]
