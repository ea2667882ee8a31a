"""Checks shared by the pricing services: the actor's role and each kind of input value.

Each ``parse_*`` function returns the clean value, or adds a message naming
the field and value to a ``FieldErrors`` and returns None, so that a service
can report every bad value at once before it writes anything.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from dentalsales.core.errors import InvalidInput, NotPermitted

from ..selectors import can_maintain_prices

# The highest unit price accepted. It keeps line amounts inside their
# columns, and no dental consumable costs anywhere near it.
MAX_UNIT_PRICE = Decimal("1000000")


def check_actor(actor):
    if not can_maintain_prices(actor):
        raise NotPermitted(_("Only a sales manager or an administrator can maintain prices."))


class FieldErrors(dict):
    """Messages per field name, collected while a service checks its input."""

    def add(self, field, message):
        self.setdefault(field, []).append(message)

    def raise_if_any(self):
        if self:
            raise InvalidInput(field_errors=self)


def as_whole_number(value):
    if isinstance(value, str) and value.strip().isdecimal() and value.strip().isascii():
        return int(value.strip())
    if isinstance(value, str) and value.strip().startswith("-") and value.strip()[1:].isdecimal() and value.strip().isascii():
        return int(value.strip())
    return value


def is_whole(value):
    return isinstance(value, int) and not isinstance(value, bool)


def parse_decimal(value):
    """Return ``value`` as a finite Decimal, or None when it is not a number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def decimal_places(number):
    return max(-number.as_tuple().exponent, 0)


def parse_price(value, field, errors):
    """Parse a unit price: a number above 0 and up to ``MAX_UNIT_PRICE`` with at most 4 decimals."""
    if value in (None, ""):
        errors.add(field, _("Enter a price."))
        return None
    number = parse_decimal(value)
    if number is None:
        errors.add(field, _("“%(value)s” is not a price.") % {"value": value})
    elif number <= 0:
        errors.add(field, _("A price must be greater than 0, not “%(value)s”.") % {"value": value})
    elif number > MAX_UNIT_PRICE:
        errors.add(field, _("A price must be at most %(max)s, not “%(value)s”.") % {"value": value, "max": MAX_UNIT_PRICE})
    elif decimal_places(number) > 4:
        errors.add(field, _("Price “%(value)s” has more than 4 decimal places.") % {"value": value})
    else:
        return number
    return None


def parse_rate(value, field, errors, *, message):
    """Parse a rate strictly between 0 and 1 with at most 4 decimals; ``message`` names the value on failure."""
    number = parse_decimal(value) if value not in (None, "") else None
    if number is None or not 0 < number < 1 or decimal_places(number) > 4:
        errors.add(field, message % {"value": "" if value is None else value})
        return None
    return number


def parse_date(value, field, errors, *, required=True):
    if value in (None, ""):
        if required:
            errors.add(field, _("Enter a date."))
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(field, _("“%(value)s” is not a date; use the form YYYY-MM-DD.") % {"value": value})
        return None


def parse_boolean(value, field, errors):
    if isinstance(value, bool):
        return value
    errors.add(field, _("“%(value)s” is not true or false.") % {"value": value})
    return None


def clean_text(value):
    return "" if value is None else str(value).strip()


def find_record(model, value, field, errors, *, message):
    """Return the row of ``model`` that ``value`` (a row or its id) names, or record ``message`` naming the value."""
    if isinstance(value, model):
        return value
    key = as_whole_number(value)
    row = model.objects.filter(pk=key).first() if is_whole(key) and 0 < key < 2**63 else None
    if row is None:
        errors.add(field, message % {"value": "" if value is None else value})
    return row


def check_period(valid_from, valid_until, errors):
    if valid_from and valid_until and valid_until < valid_from:
        errors.add(
            "valid_until",
            _("The end date %(until)s is before the start date %(start)s.") % {"until": valid_until, "start": valid_from},
        )

