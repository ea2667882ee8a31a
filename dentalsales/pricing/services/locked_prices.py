"""Writes on locked prices: a customer's price of a product fixed by a tender, volume-based procurement or contract."""

import logging

from django.db import transaction
from django.utils.translation import gettext as _

from dentalsales.catalog.models import Product
from dentalsales.core.errors import InvalidInput, clean_model
from dentalsales.customers.models import Customer

from ..models import (
    LockedPrice,
    LockedPriceSource,
)
from .input import (
    FieldErrors,
    check_actor,
    check_period,
    clean_text,
    find_record,
    parse_boolean,
    parse_date,
    parse_price,
)

logger = logging.getLogger(__name__)

LOCKED_PRICE_FIELDS = (
    "customer", "product", "unit_price", "valid_from", "valid_until", "source", "source_reference", "is_active", "note",
)


def _apply_locked_price_fields(locked, fields, errors):
    """Set the fields given in ``fields`` on ``locked``, checking each."""
    unknown = set(fields) - set(LOCKED_PRICE_FIELDS)
    if unknown:
        raise TypeError(f"Unknown locked price fields: {sorted(unknown)}")

    if "customer" in fields:
        message = _("Unknown customer “%(value)s”.")
        locked.customer = find_record(Customer, fields["customer"], "customer", errors, message=message)
    if "product" in fields:
        message = _("Unknown product “%(value)s”.")
        locked.product = find_record(Product, fields["product"], "product", errors, message=message)

    if "unit_price" in fields:
        locked.unit_price = parse_price(fields["unit_price"], "unit_price", errors)
    if "valid_from" in fields:
        locked.valid_from = parse_date(fields["valid_from"], "valid_from", errors)
    if "valid_until" in fields:
        locked.valid_until = parse_date(fields["valid_until"], "valid_until", errors)
    check_period(locked.valid_from, locked.valid_until, errors)

    if "source" in fields:
        locked.source = fields["source"] or ""
        if locked.source not in LockedPriceSource.values:
            errors.add(
                "source",
                _("“%(value)s” is not a source of locked prices; use one of %(choices)s.")
                % {"value": locked.source, "choices": ", ".join(LockedPriceSource.values)},
            )
    if "source_reference" in fields:
        locked.source_reference = clean_text(fields["source_reference"])
    if not locked.source_reference:
        errors.add("source_reference", _("Enter the tender, procurement or contract number."))

    if "note" in fields:
        locked.note = clean_text(fields["note"])
    if "is_active" in fields:
        value = parse_boolean(fields["is_active"], "is_active", errors)
        if value is not None:
            locked.is_active = value


def _check_locked_overlap(locked):
    """Reject a second active locked price for the same customer and product in an overlapping period."""
    if not locked.is_active:
        return
    other = (
        LockedPrice.objects.filter(
            customer=locked.customer,
            product=locked.product,
            is_active=True,
            valid_from__lte=locked.valid_until,
            valid_until__gte=locked.valid_from,
        )
        .exclude(pk=locked.pk)
        .order_by("valid_from")
        .first()
    )
    if other is not None:
        raise InvalidInput(
            _(
                "The customer already has a locked price of %(price)s for this product from %(start)s to %(until)s "
                "(%(reference)s); end or deactivate it first."
            )
            % {"price": other.unit_price, "start": other.valid_from, "until": other.valid_until, "reference": other.source_reference},
            field="valid_from",
        )


@transaction.atomic
def create_locked_price(*, actor, **fields):
    """Lock a customer's price of a product for a period, from a tender, volume-based procurement or contract.

    Raises ``NotPermitted`` unless the actor is a manager or administrator.
    Raises ``InvalidInput`` naming the field for an unknown customer or
    product, a bad price, an end before the start, a missing source
    reference, or a period overlapping another active locked price of the
    same customer and product. Locks the customer row, so that two
    overlapping locked prices cannot be saved at the same time.
    """
    check_actor(actor)

    locked = LockedPrice(is_active=True)
    errors = FieldErrors()
    _apply_locked_price_fields(locked, {"source": "", **fields}, errors)
    for name in ("customer", "product", "unit_price", "valid_from", "valid_until"):
        if name not in fields and name not in errors:
            errors.add(name, _("This value is required."))
    errors.raise_if_any()
    Customer.objects.select_for_update().filter(pk=locked.customer.pk).first()
    _check_locked_overlap(locked)
    clean_model(locked)

    locked.save()
    logger.info("Locked price %s created by user %s", locked.pk, actor.pk)
    return locked


@transaction.atomic
def update_locked_price(*, actor, locked_price, **fields):
    """Change a locked price; same checks as ``create_locked_price``. Locks the customer row, then the locked price."""
    check_actor(actor)
    Customer.objects.select_for_update().filter(pk=locked_price.customer_id).first()
    locked = LockedPrice.objects.select_for_update().get(pk=locked_price.pk)

    errors = FieldErrors()
    _apply_locked_price_fields(locked, fields, errors)
    errors.raise_if_any()
    _check_locked_overlap(locked)
    clean_model(locked)

    locked.save()
    logger.info("Locked price %s changed by user %s", locked.pk, actor.pk)
    return locked


@transaction.atomic
def deactivate_locked_price(*, actor, locked_price):
    """Stop a locked price from applying; it stays on record."""
    check_actor(actor)
    locked = LockedPrice.objects.select_for_update().get(pk=locked_price.pk)

    locked.is_active = False
    locked.save()
    logger.info("Locked price %s deactivated by user %s", locked.pk, actor.pk)
    return locked
