"""Lot lookup and traceability reads: which customers received which lots, in which shipments.

The trace reads ``ShipmentLine`` rather than allocations, because a shipment
line is the record of goods that left the warehouse, with the lot number
and dates copied on the day of shipping. Every function here runs a fixed
number of queries whatever the number of rows.
"""

from django.db.models import Count, Max, Min, Sum

from dentalsales.accounts.roles import Role

from .models import Lot, ShipmentLine

# Roles that may see who received a lot: the quality officer, who runs
# recalls, logistics, who ships and takes goods back, and management.
TRACE_ROLES = frozenset({Role.QUALITY_OFFICER, Role.LOGISTICS, Role.MANAGER, Role.ADMINISTRATOR})


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


def trace_shipments(lot_ids):
    """Return one row per shipment and lot that shipped any of ``lot_ids``, oldest first.

    Each row is a dict with the customer (id, code, name, receiving contact
    and phone, delivery address as shipped), the shipment (id, number,
    date, status, order number), the lot (id, number) and the quantity.
    Shipments still in the warehouse (picked or reviewed) are included,
    because their goods are already out of stock and promised to the
    customer.
    One query, whatever the number of rows.
    """
    rows = (
        ShipmentLine.objects.filter(lot_id__in=list(lot_ids))
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
    shipments in every status, like ``trace_shipments``.
    """
    rows = (
        ShipmentLine.objects.filter(lot_id__in=list(lot_ids))
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
