"""Writes on payment-term discounts and on the discount authority table."""

import logging
from itertools import pairwise

from django.db import transaction
from django.utils.translation import gettext as _

from dentalsales.catalog.models import Category
from dentalsales.core.errors import InvalidInput, clean_model

from ..models import (
    AuthorityRole,
    DiscountAuthority,
    PaymentTermDiscount,
)
from ..resolver import authority_share, format_rate
from .input import (
    FieldErrors,
    as_whole_number,
    check_actor,
    clean_text,
    decimal_places,
    find_record,
    is_whole,
    parse_boolean,
    parse_decimal,
    parse_rate,
)

logger = logging.getLogger(__name__)

MAX_PAYMENT_TERMS_DAYS = 3650
PAYMENT_TERM_DISCOUNT_FIELDS = ("max_payment_terms_days", "discount_rate", "is_active", "note")


def _apply_discount_fields(discount, fields, errors):
    unknown = set(fields) - set(PAYMENT_TERM_DISCOUNT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown payment-term discount fields: {sorted(unknown)}")
    if "max_payment_terms_days" in fields:
        raw = fields["max_payment_terms_days"]
        days = as_whole_number(raw)
        if not is_whole(days) or not 0 <= days <= MAX_PAYMENT_TERMS_DAYS:
            errors.add(
                "max_payment_terms_days",
                _("Payment terms must be a whole number of days from 0 to %(max)s, not “%(value)s”.")
                % {"value": "" if raw is None else raw, "max": MAX_PAYMENT_TERMS_DAYS},
            )
        else:
            discount.max_payment_terms_days = days
    if "discount_rate" in fields:
        discount.discount_rate = parse_rate(
            fields["discount_rate"],
            "discount_rate",
            errors,
            message=_("A discount rate is a number between 0 and 1 with at most 4 decimals (0.02 for 2 percent), not “%(value)s”."),
        )
    if "is_active" in fields:
        value = parse_boolean(fields["is_active"], "is_active", errors)
        if value is not None:
            discount.is_active = value
    if "note" in fields:
        discount.note = clean_text(fields["note"])


def _check_discount_unique(discount):
    if not discount.is_active:
        return
    other = (
        PaymentTermDiscount.objects.filter(is_active=True, max_payment_terms_days=discount.max_payment_terms_days)
        .exclude(pk=discount.pk)
        .first()
    )
    if other is not None:
        raise InvalidInput(
            _("An active discount of %(rate)s for payment terms up to %(days)s days exists already; change it instead.")
            % {"rate": format_rate(other.discount_rate), "days": other.max_payment_terms_days},
            field="max_payment_terms_days",
        )


@transaction.atomic
def create_payment_term_discount(*, actor, **fields):
    """Give customers with payment terms up to a number of days a discount; the best one that applies is used.

    Raises ``NotPermitted`` unless the actor is a manager or administrator
    and ``InvalidInput`` for bad days or rate, or a second active discount
    for the same days.
    """
    check_actor(actor)

    discount = PaymentTermDiscount(is_active=True)
    errors = FieldErrors()
    _apply_discount_fields(discount, fields, errors)
    for name in ("max_payment_terms_days", "discount_rate"):
        if name not in fields:
            errors.add(name, _("This value is required."))
    errors.raise_if_any()
    _check_discount_unique(discount)
    clean_model(discount)

    discount.save()
    logger.info("Payment-term discount %s created by user %s", discount.pk, actor.pk)
    return discount


@transaction.atomic
def update_payment_term_discount(*, actor, discount, **fields):
    check_actor(actor)
    discount = PaymentTermDiscount.objects.select_for_update().get(pk=discount.pk)

    errors = FieldErrors()
    _apply_discount_fields(discount, fields, errors)
    errors.raise_if_any()
    _check_discount_unique(discount)
    clean_model(discount)

    discount.save()
    logger.info("Payment-term discount %s changed by user %s", discount.pk, actor.pk)
    return discount


@transaction.atomic
def deactivate_payment_term_discount(*, actor, discount):
    check_actor(actor)
    discount = PaymentTermDiscount.objects.select_for_update().get(pk=discount.pk)

    discount.is_active = False
    discount.save()
    logger.info("Payment-term discount %s deactivated by user %s", discount.pk, actor.pk)
    return discount


# -- discount authority --------------------------------------------------------------


def _share(value, field, errors):
    number = parse_decimal(value) if value not in (None, "") else None
    if number is None or not 0 < number <= 1 or decimal_places(number) > 4:
        errors.add(
            field,
            _("The lowest share of list price is a number above 0 and up to 1 with at most 4 decimals (0.90 for 90 percent), not “%(value)s”.")
            % {"value": "" if value is None else value},
        )
        return None
    return number


def _role(value, errors):
    if value not in AuthorityRole.values:
        errors.add(
            "role",
            _("“%(value)s” has no discount authority; use one of %(choices)s.")
            % {"value": "" if value is None else value, "choices": ", ".join(AuthorityRole.values)},
        )
        return None
    return AuthorityRole(value)


def _category(value, errors):
    if value in (None, ""):
        return None
    return find_record(Category, value, "category", errors, message=_("Unknown category “%(value)s”."))


def _check_authority_order():
    """Reject a table in which a lower role may give more discount than a higher one, for any category.

    Runs after the change inside the transaction, so a refusal rolls it back.
    """
    rows = list(DiscountAuthority.objects.select_related("category"))
    table = {(row.role, row.category_id): row.min_share_of_list for row in rows}
    categories = {row.category_id: row.category for row in rows if row.category_id is not None}
    for category in [None, *sorted(categories.values(), key=lambda c: c.code)]:
        shares = [(role, authority_share(role, category, table=table)) for role in AuthorityRole]
        for (role, share), (higher_role, higher_share) in pairwise(shares):
            if share < higher_share:
                params = {
                    "role": role.label,
                    "share": format_rate(share),
                    "higher_role": higher_role.label,
                    "higher_share": format_rate(higher_share),
                    "category": category,
                }
                message = (
                    _("For %(category)s, the lowest share of list price of %(role)s (%(share)s) would be below that of %(higher_role)s (%(higher_share)s).")
                    if category is not None
                    else _("The lowest share of list price of %(role)s (%(share)s) would be below that of %(higher_role)s (%(higher_share)s).")
                ) % params
                raise InvalidInput(message, field="min_share_of_list")


@transaction.atomic
def create_discount_authority(*, actor, role, min_share_of_list, category=None):
    """Set a role's lowest share of list price, in general (no category) or for one category.

    Raises ``NotPermitted`` unless the actor is a manager or administrator.
    Raises ``InvalidInput`` for a role without authority, an unknown
    category, a share outside (0, 1] or a row that exists already. It also
    raises it when the share would let a lower role give more discount than
    a higher one.
    """
    check_actor(actor)

    errors = FieldErrors()
    role = _role(role, errors)
    category = _category(category, errors)
    share = _share(min_share_of_list, "min_share_of_list", errors)
    errors.raise_if_any()
    if DiscountAuthority.objects.filter(role=role, category=category).exists():
        raise InvalidInput(
            _("The discount authority of %(role)s for %(scope)s is set already; change it instead.")
            % {"role": role.label, "scope": category or _("all categories")},
            field="role",
        )

    authority = DiscountAuthority(role=role, category=category, min_share_of_list=share)
    clean_model(authority)
    authority.save()
    _check_authority_order()
    logger.info("Discount authority %s created by user %s", authority.pk, actor.pk)
    return authority


@transaction.atomic
def update_discount_authority(*, actor, authority, min_share_of_list):
    """Change the share of one discount authority row; same checks as ``create_discount_authority``."""
    check_actor(actor)
    authority = DiscountAuthority.objects.select_for_update().get(pk=authority.pk)

    errors = FieldErrors()
    share = _share(min_share_of_list, "min_share_of_list", errors)
    errors.raise_if_any()

    authority.min_share_of_list = share
    authority.save()
    _check_authority_order()
    logger.info("Discount authority %s changed by user %s", authority.pk, actor.pk)
    return authority


@transaction.atomic
def remove_discount_authority(*, actor, authority):
    """Delete a discount authority row: its category inherits again, a general row falls back to the default."""
    check_actor(actor)
    authority = DiscountAuthority.objects.select_for_update().get(pk=authority.pk)

    authority.delete()
    _check_authority_order()
    logger.info("Discount authority %s removed by user %s", authority.pk, actor.pk)


@transaction.atomic
def set_category_authorities(*, actor, category, shares):
    """Set the discount authority of every role for ``category`` (None for the general row) at once.

    ``shares`` maps each role to a share, or to None or "" to remove that
    role's row so that it inherits. Setting all roles together lets a
    manager lower them in one step without passing through a table in
    which a lower role may give more discount than a higher one.
    """
    check_actor(actor)

    errors = FieldErrors()
    category = _category(category, errors)
    parsed = {}
    for role, value in shares.items():
        role = _role(role, errors)
        if role is None:
            continue
        parsed[role] = None if value in (None, "") else _share(value, f"{role.value}.min_share_of_list", errors)
    errors.raise_if_any()

    existing = {
        row.role: row for row in DiscountAuthority.objects.select_for_update().filter(category=category).order_by("pk")
    }
    for role, share in parsed.items():
        row = existing.get(role.value)
        if share is None:
            if row is not None:
                row.delete()
        elif row is None:
            DiscountAuthority.objects.create(role=role, category=category, min_share_of_list=share)
        elif row.min_share_of_list != share:
            row.min_share_of_list = share
            row.save()
    _check_authority_order()
    logger.info("Discount authorities of category %s set by user %s", category.pk if category else None, actor.pk)
