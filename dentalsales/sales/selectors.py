"""Reads on sales orders, scoped to what the user may see."""

from django.db.models import Count

from dentalsales.accounts.roles import Role
from dentalsales.accounts.selectors import owner_visibility

from .models import OrderStatus, SalesOrder, SalesOrderLine


def visible_orders(user):
    return SalesOrder.objects.filter(owner_visibility(user))


def order_list(user, *, status="", customer=None, search=""):
    queryset = visible_orders(user).select_related("customer", "owner")
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
