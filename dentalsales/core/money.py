"""Money and tax arithmetic.

Amounts are Decimal, stored with 2 places (yuan and fen); unit prices with
4. Prices are tax-inclusive, so a line's VAT is taken out of its amount:
``tax = round_half_up(amount / (1 + rate) * rate, 0.01)``. Document totals
are sums of rounded lines, never rounded again.
"""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
PRICE_QUANTUM = Decimal("0.0001")
RATE_QUANTUM = Decimal("0.01")
DEFAULT_VAT_RATE = Decimal("0.13")


def to_decimal(value):
    """Convert ``value`` to Decimal through ``str`` so that a float never leaks binary noise."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


def round_money(value):
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def round_price(value):
    return to_decimal(value).quantize(PRICE_QUANTUM, rounding=ROUND_HALF_UP)


def line_amount(quantity, unit_price):
    """Return the tax-inclusive amount of ``quantity`` units at ``unit_price``, rounded to the fen."""
    return round_money(to_decimal(quantity) * to_decimal(unit_price))


def tax_included(amount, rate):
    """Return the VAT contained in the tax-inclusive ``amount`` at ``rate`` (0.13 for 13%)."""
    amount = to_decimal(amount)
    rate = to_decimal(rate)
    return round_money(amount / (1 + rate) * rate)


def format_money(value):
    """Format an amount for display: thousands separators and two decimals, e.g. ``12,345.60``."""
    if value is None:
        return ""
    return f"{round_money(value):,.2f}"


def format_price(value, grouping=True):
    """Format a unit price for display: two decimals, or up to four when the price has them (``12.3456``).

    ``grouping=False`` leaves out thousands separators, for form values.
    """
    if value is None or value == "":
        return ""
    text = f"{round_price(value):,.4f}" if grouping else f"{round_price(value):.4f}"
    return text[:-2] if text.endswith("00") else text
