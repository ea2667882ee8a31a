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


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
# Units inside each group of four digits, from the lowest.
_SMALL_UNITS = ("", "拾", "佰", "仟")
# Units of the groups of four digits, from the lowest.
_GROUP_UNITS = ("", "万", "亿", "万亿")


def _group_in_capitals(number):
    """Spell 0 < ``number`` < 10000 with 零 between non-zero digits; leading and trailing zeros are left to the caller."""
    text = ""
    zero_pending = False
    for position in range(3, -1, -1):
        digit = number // 10**position % 10
        if digit == 0:
            zero_pending = bool(text)
            continue
        if zero_pending:
            text += "零"
            zero_pending = False
        text += _DIGITS[digit] + _SMALL_UNITS[position]
    return text


def amount_in_chinese_capitals(amount):
    """Spell an amount of yuan in financial capitals (人民币大写), e.g. 1001.10 → 壹仟零壹元壹角.

    The amount is rounded half up to the fen first. A missing unit between
    non-zero digits is read as one 零, also across groups of four digits;
    an amount with neither jiao nor fen ends in 整; 0 yuan with jiao or
    fen leaves out the yuan (伍分). Negative amounts start with 负.
    """
    amount = round_money(amount)
    sign = "负" if amount < 0 else ""
    amount = abs(amount)
    fen_total = int(amount * 100)
    yuan, cents = divmod(fen_total, 100)
    jiao, fen = divmod(cents, 10)
    if yuan >= 10**16:
        raise ValueError("Amount too large to spell in capitals.")

    text = ""
    if yuan:
        groups = []
        value = yuan
        while value:
            groups.append(value % 10000)
            value //= 10000
        zero_pending = False
        for index in range(len(groups) - 1, -1, -1):
            group = groups[index]
            if group == 0:
                zero_pending = bool(text)
                continue
            # A group below 1000 after a higher group skips its thousands.
            if text and (zero_pending or group < 1000):
                text += "零"
            zero_pending = False
            text += _group_in_capitals(group) + _GROUP_UNITS[index]
        text += "元"
    if jiao == 0 and fen == 0:
        return sign + (text or "零元") + "整"
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif text:
        text += "零"
    if fen:
        text += _DIGITS[fen] + "分"
    return sign + text
