"""Writes on price lists, with their items and volume tiers."""

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from dentalsales.catalog.models import Product
from dentalsales.core.errors import clean_model
from dentalsales.customers.models import Customer, CustomerGrade

from ..models import (
    MIN_TIER_QUANTITY,
    PriceList,
    PriceListItem,
    PriceListKind,
    VolumeTier,
)
from ..resolver import MAX_QUANTITY
from .input import (
    FieldErrors,
    as_whole_number,
    check_actor,
    check_period,
    clean_text,
    find_record,
    is_whole,
    parse_boolean,
    parse_date,
    parse_price,
)

logger = logging.getLogger(__name__)

MAX_PRIORITY = 1_000_000
MAX_ITEMS = 5_000
MAX_TIERS = 20
PRICE_LIST_FIELDS = ("name", "kind", "grade", "customer", "valid_from", "valid_until", "priority", "is_active", "note")


def _apply_price_list_fields(price_list, fields, errors):
    """Set the header fields given in ``fields`` on ``price_list``, checking each."""
    unknown = set(fields) - set(PRICE_LIST_FIELDS)
    if unknown:
        raise TypeError(f"Unknown price list fields: {sorted(unknown)}")
    if "name" in fields:
        price_list.name = clean_text(fields["name"])
    if not price_list.name:
        errors.add("name", _("Give the price list a name."))
    if "note" in fields:
        price_list.note = clean_text(fields["note"])

    _apply_kind(price_list, fields, errors)

    if "valid_from" in fields:
        price_list.valid_from = parse_date(fields["valid_from"], "valid_from", errors)
    elif price_list.valid_from is None:
        errors.add("valid_from", _("Enter a date."))
    if "valid_until" in fields:
        price_list.valid_until = parse_date(fields["valid_until"], "valid_until", errors, required=False)
    check_period(price_list.valid_from, price_list.valid_until, errors)

    if "priority" in fields:
        priority = as_whole_number(fields["priority"] if fields["priority"] not in (None, "") else 0)
        if not is_whole(priority) or abs(priority) > MAX_PRIORITY:
            errors.add(
                "priority",
                _("Priority must be a whole number from -%(max)s to %(max)s, not “%(value)s”.")
                % {"value": fields["priority"], "max": MAX_PRIORITY},
            )
        else:
            price_list.priority = priority
    if "is_active" in fields:
        value = parse_boolean(fields["is_active"], "is_active", errors)
        if value is not None:
            price_list.is_active = value


def _check_no_tie(price_list, errors):
    """Reject a second active list for the same grade or customer with the same priority and start date.

    The resolver prefers the higher priority, then the later start date, so
    two such lists would leave the price to chance.
    """
    if errors or not price_list.is_active or not price_list.valid_from:
        return
    rivals = PriceList.objects.filter(
        is_active=True, kind=price_list.kind, priority=price_list.priority, valid_from=price_list.valid_from
    ).exclude(pk=price_list.pk)
    if price_list.kind == PriceListKind.GRADE:
        rivals = rivals.filter(grade=price_list.grade)
    else:
        rivals = rivals.filter(customer_id=price_list.customer_id)
    rival = rivals.order_by("pk").first()
    if rival is not None:
        errors.add(
            "priority",
            _("Active price list “%(name)s” applies to the same customers from the same date with priority %(value)s; "
              "give this list a different priority or start date.")
            % {"name": rival.name, "value": price_list.priority},
        )


def _apply_kind(price_list, fields, errors):
    """Set the kind with its grade or customer.

    The field of the other kind is cleared rather than rejected, so that
    changing a list's kind on the form needs no second step.
    """
    if "kind" in fields:
        price_list.kind = fields["kind"] or ""
    if price_list.kind not in PriceListKind.values:
        errors.add(
            "kind",
            _("“%(value)s” is not a kind of price list; use one of %(choices)s.")
            % {"value": price_list.kind, "choices": ", ".join(PriceListKind.values)},
        )
    if "grade" in fields:
        price_list.grade = clean_text(fields["grade"]).upper()
    if "customer" in fields:
        customer = fields["customer"]
        if customer in (None, ""):
            price_list.customer = None
        else:
            price_list.customer = find_record(Customer, customer, "customer", errors, message=_("Unknown customer “%(value)s”."))

    if price_list.kind == PriceListKind.GRADE:
        price_list.customer = None
        if not price_list.grade:
            errors.add("grade", _("A price list by customer grade needs the grade."))
        elif price_list.grade not in CustomerGrade.values:
            errors.add(
                "grade",
                _("“%(value)s” is not a customer grade; use one of %(choices)s.")
                % {"value": price_list.grade, "choices": ", ".join(CustomerGrade.values)},
            )
    elif price_list.kind == PriceListKind.CUSTOMER:
        price_list.grade = ""
        if price_list.customer is None and "customer" not in errors:
            errors.add("customer", _("A price list for one customer needs the customer."))


def _parse_items(items, errors):
    """Check item dicts (product, unit_price, tiers) and return unsaved ``(item, [tiers])`` pairs."""
    if not isinstance(items, (list, tuple)):
        errors.add("items", _("Items must be a list of products with their prices."))
        return []
    if len(items) > MAX_ITEMS:
        errors.add("items", _("A price list may have at most %(max)s items.") % {"max": MAX_ITEMS})
        return []
    product_keys = [
        as_whole_number(data.get("product").pk if isinstance(data.get("product"), Product) else data.get("product"))
        if isinstance(data, dict)
        else None
        for data in items
    ]
    products = Product.objects.in_bulk([key for key in product_keys if is_whole(key) and 0 < key < 2**63])

    parsed = []
    seen_products = {}
    for index, (data, key) in enumerate(zip(items, product_keys, strict=True)):
        prefix = f"items[{index}]"
        if not isinstance(data, dict):
            errors.add(prefix, _("Each item needs a product and a price."))
            continue
        product = products.get(key) if is_whole(key) else None
        if product is None:
            errors.add(f"{prefix}.product", _("Unknown product “%(value)s”.") % {"value": "" if key is None else key})
        elif product.pk in seen_products:
            errors.add(
                f"{prefix}.product",
                _("Product “%(value)s” is listed twice; keep one item per product.") % {"value": product.sku},
            )
        else:
            seen_products[product.pk] = index
        unit_price = parse_price(data.get("unit_price"), f"{prefix}.unit_price", errors)
        tiers = _parse_tiers(data.get("tiers") or [], prefix, unit_price, errors)
        if product is not None and unit_price is not None:
            parsed.append((PriceListItem(product=product, unit_price=unit_price), tiers))
    return parsed


def _parse_tiers(tiers, prefix, base_price, errors):
    if not isinstance(tiers, (list, tuple)):
        errors.add(f"{prefix}.tiers", _("Volume tiers must be a list of quantities with their prices."))
        return []
    if len(tiers) > MAX_TIERS:
        errors.add(f"{prefix}.tiers", _("An item may have at most %(max)s volume tiers.") % {"max": MAX_TIERS})
        return []
    parsed = []
    bounds = set()
    for index, data in enumerate(tiers):
        field = f"{prefix}.tiers[{index}]"
        if not isinstance(data, dict):
            errors.add(field, _("Each volume tier needs a quantity and a price."))
            continue
        raw_bound = data.get("min_quantity")
        bound = as_whole_number(raw_bound)
        if not is_whole(bound) or not MIN_TIER_QUANTITY <= bound <= MAX_QUANTITY:
            errors.add(
                f"{field}.min_quantity",
                _("A volume tier starts at a whole number from %(min)s to %(max)s, not “%(value)s”.")
                % {"value": "" if raw_bound is None else raw_bound, "min": MIN_TIER_QUANTITY, "max": MAX_QUANTITY},
            )
            bound = None
        elif bound in bounds:
            errors.add(f"{field}.min_quantity", _("The %(value)s+ tier is entered twice.") % {"value": bound})
            bound = None
        else:
            bounds.add(bound)
        unit_price = parse_price(data.get("unit_price"), f"{field}.unit_price", errors)
        if bound is not None and unit_price is not None:
            parsed.append((index, VolumeTier(min_quantity=bound, unit_price=unit_price)))
    _check_tier_prices(parsed, prefix, base_price, errors)
    return [tier for _index, tier in parsed]


def _check_tier_prices(parsed, prefix, base_price, errors):
    """Reject a tier that costs more than fewer units do: a volume tier lowers the price, so a higher one is a typing mistake."""
    lower_price = base_price
    for index, tier in sorted(parsed, key=lambda pair: pair[1].min_quantity):
        if lower_price is not None and tier.unit_price > lower_price:
            errors.add(
                f"{prefix}.tiers[{index}].unit_price",
                _("The %(bound)s+ tier price %(price)s is higher than %(lower)s, the price for fewer units.")
                % {"bound": tier.min_quantity, "price": tier.unit_price, "lower": lower_price},
            )
        lower_price = tier.unit_price


def _save_items(price_list, parsed_items):
    for old_item in price_list.items.all():
        old_item.delete()
    for item, tiers in parsed_items:
        item.price_list = price_list
        item.save()
        for tier in tiers:
            tier.item = item
            tier.save()


@transaction.atomic
def create_price_list(*, actor, items=(), **fields):
    """Create a price list by customer grade or for one customer, with its items and their volume tiers.

    ``fields`` are the header values of ``PRICE_LIST_FIELDS``; ``items`` are
    dicts ``{"product", "unit_price", "tiers": [{"min_quantity", "unit_price"}]}``.
    Raises ``NotPermitted`` unless the actor is a manager or administrator.
    Raises ``InvalidInput`` naming every bad field and value. Bad values
    are a missing grade or customer, an end before the start, a price of 0
    or below or with more than 4 decimals, a product listed twice, and a
    tier bound below 2 or entered twice. Nothing is saved on failure.
    """
    check_actor(actor)

    price_list = PriceList(is_active=True, priority=0)
    errors = FieldErrors()
    _apply_price_list_fields(price_list, {"kind": "", **fields}, errors)
    _check_no_tie(price_list, errors)
    parsed_items = _parse_items(items, errors)
    errors.raise_if_any()
    clean_model(price_list)

    price_list.save()
    _save_items(price_list, parsed_items)
    logger.info("Price list %s created by user %s with %s items", price_list.pk, actor.pk, len(parsed_items))
    return price_list


@transaction.atomic
def update_price_list(*, actor, price_list, items=None, **fields):
    """Change a price list's header and, when ``items`` is given, replace all its items and tiers.

    Takes the same values and raises the same errors as ``create_price_list``;
    nothing is saved on failure. Locks the price list row.
    """
    check_actor(actor)
    price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)

    errors = FieldErrors()
    _apply_price_list_fields(price_list, fields, errors)
    _check_no_tie(price_list, errors)
    parsed_items = _parse_items(items, errors) if items is not None else None
    errors.raise_if_any()
    clean_model(price_list)

    price_list.save()
    if parsed_items is not None:
        _save_items(price_list, parsed_items)
    logger.info("Price list %s changed by user %s", price_list.pk, actor.pk)
    return price_list


@transaction.atomic
def deactivate_price_list(*, actor, price_list):
    """Stop a price list from applying; it stays on record with its items."""
    check_actor(actor)
    price_list = PriceList.objects.select_for_update().get(pk=price_list.pk)

    price_list.is_active = False
    price_list.save()
    logger.info("Price list %s deactivated by user %s", price_list.pk, actor.pk)
    return price_list
