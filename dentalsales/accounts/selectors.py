"""Data-visibility rules shared by every app's selectors."""

from django.db.models import Q

from .models import User
from .roles import Role


def owner_visibility(user, field="owner"):
    """Return a Q that keeps rows whose ``field`` (a user) ``user`` may see.

    Managers, logistics, finance, quality and administrators see all rows;
    a supervisor sees the rows of their own and their teams' members; a
    representative only their own; anyone else nothing.
    """
    if not user.is_authenticated:
        return Q(pk__in=[])
    if user.sees_all_data:
        return Q()
    if user.has_role(Role.SUPERVISOR):
        return Q(**{field: user}) | Q(**{f"{field}__team__supervisor": user})
    if user.has_role(Role.REPRESENTATIVE):
        return Q(**{field: user})
    return Q(pk__in=[])


def assignable_owners(user):
    """Return the users to whom ``user`` may assign a customer."""
    users = User.objects.filter(is_active=True, groups__name__in=[Role.REPRESENTATIVE, Role.SUPERVISOR]).distinct()
    if user.sees_all_data:
        return users.order_by("username")
    if user.has_role(Role.SUPERVISOR):
        return users.filter(Q(pk=user.pk) | Q(team__supervisor=user)).order_by("username")
    return users.filter(pk=user.pk)


def dashboard_counts(user):
    """Return the work waiting for ``user``: a list of (label, count, url) by role, in a fixed number of queries."""
    from django.urls import reverse
    from django.utils.translation import gettext as _

    from dentalsales.sales.models import OrderStatus
    from dentalsales.sales.selectors import visible_orders

    from .roles import REVIEW_ROLES, SALES_ROLES, WAREHOUSE_ROLES

    entries = []
    orders = visible_orders(user)
    order_list = reverse("sales:order_list")
    if user.has_role(*SALES_ROLES):
        entries.append((_("Draft orders"), orders.filter(status=OrderStatus.DRAFT).count(), f"{order_list}?status=draft"))
        entries.append((_("Rejected orders to rework"), orders.filter(status=OrderStatus.REJECTED).count(), f"{order_list}?status=rejected"))
    if user.has_role(*REVIEW_ROLES):
        entries.append((_("Orders waiting for review"), orders.filter(status=OrderStatus.SUBMITTED).count(), reverse("sales:review_queue")))
    if user.has_role(*WAREHOUSE_ROLES):
        entries.append((_("Approved orders to release"), orders.filter(status=OrderStatus.APPROVED).count(), f"{order_list}?status=approved"))
        entries.append(
            (
                _("Released orders to ship"),
                orders.filter(status=OrderStatus.RELEASED).count(),
                f"{order_list}?status=released",
            )
        )
        entries.append(
            (
                _("Partially shipped orders"),
                orders.filter(status=OrderStatus.PARTIALLY_SHIPPED).count(),
                f"{order_list}?status=partially_shipped",
            )
        )
    from dentalsales.inventory.selectors import dashboard_entries as inventory_dashboard_entries

    entries.extend(inventory_dashboard_entries(user))
    from dentalsales.aftersales.selectors import dashboard_entries

    entries.extend(dashboard_entries(user))
    from dentalsales.crm.selectors import dashboard_entries as crm_dashboard_entries

    entries.extend(crm_dashboard_entries(user))
    from dentalsales.finance.selectors import dashboard_entries as finance_dashboard_entries

    entries.extend(finance_dashboard_entries(user))
    return entries
