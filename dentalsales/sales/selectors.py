"""Reads on sales orders, scoped to what the user may see."""

from django.db.models import Case, Count, F, IntegerField, OuterRef, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from dentalsales.accounts.roles import Role
from dentalsales.accounts.selectors import owner_visibility

from .models import OrderStatus, SalesOrder, SalesOrderLine

# States in which an order's unreserved, unshipped units are backorder.
BACKORDER_STATUSES = (OrderStatus.RELEASED, OrderStatus.PARTIALLY_SHIPPED)


def visible_orders(user):
    return SalesOrder.objects.filter(owner_visibility(user))


def with_backorders(queryset):
    """Annotate each order with ``backordered_quantity``: units neither shipped, reserved nor closed short.

    Only released and partially shipped orders have backorder; other
    states get 0. Two correlated subqueries, so no extra query per order.
    """
    from dentalsales.inventory.models import Allocation

    unshipped = (
        SalesOrderLine.objects.filter(order=OuterRef("pk"))
        .values("order")
        .annotate(total=Sum(F("quantity") - F("shipped_quantity") - F("closed_short_quantity")))
        .values("total")
    )
    reserved = (
        Allocation.objects.filter(order_line__order=OuterRef("pk"))
        .values("order_line__order")
        .annotate(total=Sum(F("quantity") - F("shipped_quantity") - F("released_quantity")))
        .values("total")
    )
    backordered = Coalesce(Subquery(unshipped, output_field=IntegerField()), Value(0)) - Coalesce(
        Subquery(reserved, output_field=IntegerField()), Value(0)
    )
    return queryset.annotate(
        backordered_quantity=Case(
            When(status__in=BACKORDER_STATUSES, then=backordered), default=Value(0), output_field=IntegerField()
        )
    )


def order_list(user, *, status="", customer=None, search="", backordered=False):
    queryset = with_backorders(visible_orders(user).select_related("customer", "owner"))
    if backordered:
        queryset = queryset.filter(backordered_quantity__gt=0)
    if status:
        queryset = queryset.filter(status=status)
    if customer:
        queryset = queryset.filter(customer=customer)
    if search:
        queryset = queryset.filter(number__icontains=search) | queryset.filter(customer__search_text__contains=search.lower())
    return queryset.order_by("-order_date", "-number")


def attach_line_counts(orders):
    """Return ``orders`` as a list, each with ``line_count`` set, in one query.

    Counting in the list query itself would make the paginator's COUNT
    group every order with its lines, which is slow on large tables.
    """
    orders = list(orders)
    counts = dict(
        SalesOrderLine.objects.filter(order__in=[order.pk for order in orders])
        .values_list("order")
        .annotate(count=Count("pk"))
        .values_list("order", "count")
    )
    for order in orders:
        order.line_count = counts.get(order.pk, 0)
    return orders


def review_queue(user):
    if not user.has_role(Role.SUPERVISOR, Role.MANAGER):
        return SalesOrder.objects.none()
    return order_list(user, status=OrderStatus.SUBMITTED)


def backorder_list(user):
    """Return the visible released and partially shipped orders with backordered units, oldest first."""
    return (
        order_list(user, backordered=True)
        .order_by("order_date", "number")
    )


def attach_line_stock(order, lines):
    """Set ``reserved_quantity`` and ``backordered_quantity`` on ``order``'s lines, whose ``allocations`` are prefetched.

    Backorder exists only while the order is released or partially shipped.
    """
    for line in lines:
        line.reserved_quantity = sum(allocation.open_quantity for allocation in line.allocations.all())
        if order.status in BACKORDER_STATUSES:
            line.backordered_quantity = max(line.unshipped_quantity - line.reserved_quantity, 0)
        else:
            line.backordered_quantity = 0
    return lines
