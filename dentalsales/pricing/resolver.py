"""The price a customer pays for a product, and who must approve a lower one.

Every document (quotation, contract, order) and the price check page take
their prices from ``resolve_price`` (or ``resolve_prices`` for many
products at once), so that a price is the same wherever it is shown.

The order of precedence:

1. a locked price (tender, volume-based procurement, contract) valid on
   the day: that price and nothing else;
2. otherwise the customer's own active price lists valid on the day that
   have the product, then the lists of the customer's grade; within each
   group the highest priority wins, then the latest start date, then the
   newest list. In the chosen list the volume tier with the largest lower
   bound not above the quantity applies, else the item's price;
3. otherwise the product's list price.

Unless the price is locked, the best payment-term discount the customer
qualifies for is then taken off once. Prices are rounded half up to 4
decimals.
"""

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from django.db import models
from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput
from dentalsales.core.money import PRICE_QUANTUM, round_price, to_decimal
from dentalsales.core.timeutils import local_today

from .models import (
    AuthorityRole,
    DiscountAuthority,
    LockedPrice,
    LockedPriceSource,
    PaymentTermDiscount,
    PriceListItem,
    PriceListKind,
    VolumeTier,
)

# The largest quantity a price is asked for; the same bound as an order line.
MAX_QUANTITY = 100_000


class PriceSource(models.TextChoices):
    LOCKED = "locked", gettext_lazy("Locked price")
    CUSTOMER_LIST = "customer_list", gettext_lazy("Customer price list")
    GRADE_LIST = "grade_list", gettext_lazy("Grade price list")
    LIST_PRICE = "list_price", gettext_lazy("List price")


# The source of a locked price as it reads inside a sentence.
LOCKED_SOURCE_IN_SENTENCE = {
    LockedPriceSource.TENDER: pgettext_lazy("locked price source in a sentence", "tender"),
    LockedPriceSource.VOLUME_BASED_PROCUREMENT: pgettext_lazy(
        "locked price source in a sentence", "volume-based procurement"
    ),
    LockedPriceSource.CONTRACT: pgettext_lazy("locked price source in a sentence", "contract"),
}

# Used for a role until a manager sets its general row in the discount authority table.
DEFAULT_AUTHORITY_SHARES = {
    AuthorityRole.REPRESENTATIVE: Decimal("0.90"),
    AuthorityRole.SUPERVISOR: Decimal("0.80"),
    AuthorityRole.MANAGER: Decimal("0.70"),
}
# From the lowest authority to the highest; an approval goes to the first
# role above the line's owner whose authority covers the price.
AUTHORITY_LEVELS = (AuthorityRole.REPRESENTATIVE, AuthorityRole.SUPERVISOR, AuthorityRole.MANAGER)


@dataclass(frozen=True)
class PriceResolution:
    unit_price: Decimal
    list_price: Decimal
    source: str
    reasons: list[str] = field(default_factory=list)

    def as_dict(self):
        return {
            "unit_price": self.unit_price,
            "list_price": self.list_price,
            "source": str(self.source),
            "reasons": [str(reason) for reason in self.reasons],
        }


def parse_quantity(value):
    """Return ``value`` as a whole number from 1 to ``MAX_QUANTITY``, or raise ``InvalidInput`` naming it."""
    quantity = value
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        quantity = int(value.strip())
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidInput(
            _("Quantity must be a whole number from 1 to %(max)s, not “%(value)s”.") % {"value": value, "max": MAX_QUANTITY},
            field="quantity",
        )
    return quantity


def resolve_price(*, customer, product, quantity, on_date=None):
    """Return the ``PriceResolution`` of ``quantity`` units of ``product`` for ``customer`` on ``on_date`` (default today).

    ``quantity`` is the document's total of the product over all its
    lines. Raises ``InvalidInput`` for a quantity that is not a whole
    number from 1 up.
    """
    return resolve_prices(customer=customer, quantities={product: quantity}, on_date=on_date)[product.pk]


def resolve_prices(*, customer, quantities, on_date=None):
    """Resolve several products at once in a fixed number of queries.

    ``quantities`` maps each Product to its total quantity in the document.
    Returns a dict from product id to ``PriceResolution``.
    """
    checked = {product: parse_quantity(quantity) for product, quantity in quantities.items()}
    day = on_date or local_today()
    product_ids = [product.pk for product in checked]

    locked = _locked_prices(customer, product_ids, day)
    items = _best_items(customer, product_ids, day)
    discount = _payment_term_discount(customer) if len(locked) < len(product_ids) else None

    results = {}
    for product, quantity in checked.items():
        list_price = round_price(product.list_price)
        if product.pk in locked:
            results[product.pk] = _locked_resolution(locked[product.pk], list_price)
            continue
        item = items.get(product.pk)
        if item is not None:
            unit_price, source, reason = _item_price(item, quantity)
        else:
            unit_price, source, reason = list_price, PriceSource.LIST_PRICE, _("List price")
        reasons = [reason]
        if discount is not None:
            unit_price = unit_price * (1 - discount.discount_rate)
            reasons.append(
                _("Payment terms %(days)s days: %(rate)s discount")
                % {"days": customer.payment_terms_days, "rate": format_rate(discount.discount_rate)}
            )
        results[product.pk] = PriceResolution(round_price(unit_price), list_price, source, reasons)
    return results


def format_rate(rate):
    """Show a rate such as 0.025 as ``2.5%``."""
    return f"{(to_decimal(rate) * 100).normalize():f}%"


def _locked_prices(customer, product_ids, day):
    rows = (
        LockedPrice.objects.filter(
            customer=customer, product_id__in=product_ids, is_active=True, valid_from__lte=day, valid_until__gte=day
        )
        # The services keep valid periods from overlapping; should two
        # overlap anyway, the one that started last applies.
        .order_by("product_id", "valid_from", "id")
    )
    return {row.product_id: row for row in rows}


def _locked_resolution(locked, list_price):
    reason = _("Locked price (%(source)s %(reference)s) valid until %(date)s") % {
        "source": LOCKED_SOURCE_IN_SENTENCE.get(locked.source, locked.source),
        "reference": locked.source_reference,
        "date": locked.valid_until.isoformat(),
    }
    return PriceResolution(round_price(locked.unit_price), list_price, PriceSource.LOCKED, [reason])


def _best_items(customer, product_ids, day):
    """Return, per product id, the item of the price list that applies to ``customer`` on ``day``."""
    lists = Q(price_list__kind=PriceListKind.CUSTOMER, price_list__customer=customer)
    if customer.grade:
        lists |= Q(price_list__kind=PriceListKind.GRADE, price_list__grade=customer.grade)
    candidates = (
        PriceListItem.objects.filter(lists, product_id__in=product_ids)
        .filter(price_list__is_active=True, price_list__valid_from__lte=day)
        .filter(Q(price_list__valid_until__isnull=True) | Q(price_list__valid_until__gte=day))
        .select_related("price_list")
        .prefetch_related(Prefetch("tiers", queryset=VolumeTier.objects.order_by("min_quantity")))
    )
    best = {}
    for item in candidates:
        current = best.get(item.product_id)
        if current is None or _precedence(item.price_list) > _precedence(current.price_list):
            best[item.product_id] = item
    return best


def _precedence(price_list):
    return (
        price_list.kind == PriceListKind.CUSTOMER,
        price_list.priority,
        price_list.valid_from,
        price_list.pk,
    )


def _item_price(item, quantity):
    price_list = item.price_list
    tier = None
    for candidate in item.tiers.all():  # ordered by min_quantity
        if candidate.min_quantity <= quantity:
            tier = candidate
    params = {"name": price_list.name, "grade": price_list.grade, "min_quantity": tier.min_quantity if tier else ""}
    if price_list.kind == PriceListKind.CUSTOMER:
        source = PriceSource.CUSTOMER_LIST
        reason = (
            _("Customer list “%(name)s”, %(min_quantity)s+ tier") if tier else _("Customer list “%(name)s”")
        ) % params
    else:
        source = PriceSource.GRADE_LIST
        reason = (
            _("Grade %(grade)s list “%(name)s”, %(min_quantity)s+ tier") if tier else _("Grade %(grade)s list “%(name)s”")
        ) % params
    return (tier.unit_price if tier else item.unit_price), source, reason


def _payment_term_discount(customer):
    return (
        PaymentTermDiscount.objects.filter(is_active=True, max_payment_terms_days__gte=customer.payment_terms_days)
        .order_by("-discount_rate", "id")
        .first()
    )


# -- discount authority --------------------------------------------------------


def authority_table():
    """Return every discount authority row as ``{(role, category id or None): share}``, in one query."""
    return {
        (row.role, row.category_id): row.min_share_of_list
        for row in DiscountAuthority.objects.only("role", "category_id", "min_share_of_list")
    }


def authority_share(role, category, *, table=None):
    """Return the lowest share of list price ``role`` may give on a product of ``category`` without approval.

    The row of the category itself wins, then that of the nearest parent
    category, then the role's general row, then the built-in default.
    """
    role = AuthorityRole(role)
    table = authority_table() if table is None else table
    if any(category_id is not None for _role, category_id in table):
        seen = set()
        node = category
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            share = table.get((role, node.pk))
            if share is not None:
                return share
            node = node.parent
    return table.get((role, None), DEFAULT_AUTHORITY_SHARES[role])


def lowest_price_within_authority(role, product, *, table=None):
    """Return the lowest unit price of ``product`` that ``role`` may give, rounded up to the price's 4 decimals."""
    share = authority_share(role, product.category, table=table)
    return (to_decimal(product.list_price) * share).quantize(PRICE_QUANTUM, rounding=ROUND_CEILING)


def authority_level(roles):
    """Return the highest discount authority among ``roles``; an administrator counts as a manager, no sales role as a representative."""
    if Role.MANAGER in roles or Role.ADMINISTRATOR in roles:
        return AuthorityRole.MANAGER
    if Role.SUPERVISOR in roles:
        return AuthorityRole.SUPERVISOR
    return AuthorityRole.REPRESENTATIVE


def approval_level(*, unit_price, list_price, product, owner_roles, resolved_price=None, table=None):
    """Return who must approve a line priced at ``unit_price``: None, ``"supervisor"`` or ``"manager"``.

    ``owner_roles`` are the roles of the document's owner (the sales
    representative). A price at or above list price, or at or above
    ``resolved_price`` when given (the price policy already grants it),
    needs no approval. Otherwise a price within the owner's authority
    needs none; a lower one goes to the first role above the owner whose
    authority covers it, and one below every authority to the manager.
    A share exactly at the authority is within it.
    """
    unit_price = to_decimal(unit_price)
    list_price = to_decimal(list_price)
    if list_price <= 0 or unit_price >= list_price:
        return None
    if resolved_price is not None and unit_price >= to_decimal(resolved_price):
        return None
    table = authority_table() if table is None else table
    owner_level = authority_level(owner_roles)
    levels = AUTHORITY_LEVELS[AUTHORITY_LEVELS.index(owner_level):]
    for level in levels:
        # Compared as a product, not a quotient, so that no rounding moves the boundary.
        if unit_price >= list_price * authority_share(level, product.category, table=table):
            return None if level == owner_level else level.value
    return AuthorityRole.MANAGER.value
