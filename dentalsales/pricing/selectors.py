"""Reads on the price policy, scoped to the user.

Sales staff see prices; a representative or supervisor sees the grade
price lists and the lists and locked prices of the customers they see.
Only managers and administrators change them. Standard cost is never part
of what these reads return.
"""

from django.db.models import Count, Prefetch, Q

from dentalsales.accounts.roles import SALES_ROLES, Role
from dentalsales.accounts.selectors import owner_visibility
from dentalsales.catalog.models import Category

from .models import (
    AuthorityRole,
    DiscountAuthority,
    LockedPrice,
    PaymentTermDiscount,
    PriceList,
    PriceListItem,
    VolumeTier,
)
from .resolver import DEFAULT_AUTHORITY_SHARES, authority_share, authority_table

# Roles that see price lists, locked prices and discount authority.
PRICE_READER_ROLES = SALES_ROLES
# Roles that maintain them.
PRICE_MAINTAINER_ROLES = frozenset({Role.MANAGER, Role.ADMINISTRATOR})


def can_view_prices(user):
    return user.is_authenticated and user.has_role(*PRICE_READER_ROLES)


def can_maintain_prices(user):
    return user.is_authenticated and user.has_role(*PRICE_MAINTAINER_ROLES)


def _customer_rows(user, queryset, *, grade_rows=None):
    """Keep the rows of customers ``user`` sees (plus ``grade_rows``, a Q, which belong to no customer)."""
    if not can_view_prices(user):
        return queryset.none()
    if user.sees_all_data:
        return queryset
    visible = owner_visibility(user, field="customer__owner")
    return queryset.filter(visible | grade_rows if grade_rows is not None else visible)


def visible_price_lists(user):
    return _customer_rows(user, PriceList.objects.all(), grade_rows=Q(kind="grade"))


def price_list_list(user, *, kind="", grade="", active=None, search=""):
    queryset = visible_price_lists(user).select_related("customer").annotate(item_count=Count("items"))
    if kind:
        queryset = queryset.filter(kind=kind)
    if grade:
        queryset = queryset.filter(grade=grade)
    if active is not None:
        queryset = queryset.filter(is_active=active)
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(
            Q(name__icontains=search) | Q(customer__name__icontains=search) | Q(customer__code__icontains=search)
        )
    return queryset.order_by("kind", "grade", "customer__code", "-priority", "-valid_from", "-id")


def price_lists_with_items(queryset):
    """Fetch each list's items with their product and tiers in a fixed number of queries."""
    return queryset.select_related("customer").prefetch_related(
        Prefetch(
            "items",
            queryset=PriceListItem.objects.select_related("product").order_by("product__sku").prefetch_related(
                Prefetch("tiers", queryset=VolumeTier.objects.order_by("min_quantity"))
            ),
        )
    )


def visible_locked_prices(user):
    return _customer_rows(user, LockedPrice.objects.all())


def locked_price_list(user, *, search="", active=None, source=""):
    queryset = visible_locked_prices(user).select_related("customer", "product")
    if active is not None:
        queryset = queryset.filter(is_active=active)
    if source:
        queryset = queryset.filter(source=source)
    search = (search or "").strip()
    if search:
        queryset = queryset.filter(
            Q(customer__name__icontains=search)
            | Q(customer__code__icontains=search)
            | Q(product__sku__icontains=search)
            | Q(product__name__icontains=search)
            | Q(source_reference__icontains=search)
        )
    return queryset.order_by("customer__code", "product__sku", "-valid_from", "-id")


def payment_term_discounts(user):
    if not can_view_prices(user):
        return PaymentTermDiscount.objects.none()
    return PaymentTermDiscount.objects.order_by("-is_active", "max_payment_terms_days", "-discount_rate", "id")


def discount_authorities(user):
    if not can_view_prices(user):
        return DiscountAuthority.objects.none()
    return DiscountAuthority.objects.select_related("category").order_by("category__code", "role")


def authority_overview(user):
    """Return the discount authority table as rows, the general row first.

    Each row is ``{"category": Category or None, "cells": [...]}`` with one
    cell per role (lowest first): the row saved for it (or None) and the
    share in effect, which a category without its own row inherits.
    """
    if not can_view_prices(user):
        return []
    rows = list(discount_authorities(user))
    table = authority_table()
    saved = {(row.role, row.category_id): row for row in rows}
    category_ids = sorted({row.category_id for row in rows if row.category_id is not None})
    categories = Category.objects.filter(pk__in=category_ids).select_related("parent").order_by("code")
    overview = []
    for category in [None, *categories]:
        category_id = category.pk if category is not None else None
        cells = [
            {
                "role": role,
                "row": saved.get((role.value, category_id)),
                "share": authority_share(role, category, table=table),
                "is_default": category is None and (role.value, None) not in saved,
                "default_share": DEFAULT_AUTHORITY_SHARES[role],
            }
            for role in AuthorityRole
        ]
        overview.append({"category": category, "cells": cells})
    return overview


def prices_below_authority(price_list):
    """Return warnings for the list's prices that no role could grant on a document without a price list.

    A price below the manager's lowest share of list price, or below the
    product's standard cost, is allowed on a price list (tender prices can
    be that low) but is more often a typing error, so the screens warn.
    Each warning is ``(product, quantity, unit_price, floor, below_cost)``
    where ``quantity`` is 1 for the base price and the tier's lower bound
    otherwise.
    """
    from decimal import Decimal

    from .resolver import AuthorityRole, lowest_price_within_authority

    table = authority_table()
    warnings = []
    items = price_list.items.select_related("product", "product__category").prefetch_related("tiers")
    for item in items:
        product = item.product
        floor = lowest_price_within_authority(AuthorityRole.MANAGER, product, table=table)
        prices = [(1, item.unit_price)] + [(tier.min_quantity, tier.unit_price) for tier in item.tiers.all()]
        for quantity, unit_price in prices:
            below_cost = product.standard_cost > Decimal(0) and unit_price < product.standard_cost
            if unit_price < floor or below_cost:
                warnings.append((product, quantity, unit_price, floor, below_cost))
    return warnings
