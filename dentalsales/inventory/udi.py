"""GS1 barcode parsing for UDI scanning (receiving, outbound review, returns).

``parse_gs1`` reads a GS1 element string as a keyboard-wedge scanner types
it into a text field:

* with the human-readable parentheses ``(01)06901234567892(17)271231(10)A1``
  or without them ``01069012345678921727123110A1``, where a
  variable-length value ends at a group separator (FNC1, ASCII 29) or at the
  end of the string;
* the group separator may arrive as the control character ``\\x1d`` or as the
  literal text ``<GS>`` that some wedges type instead;
* a leading symbology identifier (``]C1`` GS1-128, ``]d2`` GS1 DataMatrix,
  ``]Q3`` GS1 QR Code, ``]e0`` GS1 DataBar) and a leading FNC1 are dropped.

The UDI fields are AI 01 (GTIN, the UDI-DI, check digit verified), 10 (lot),
11 (production date), 17 (expiry date) and 21 (serial number). The other
AIs in ``OTHER_FIXED_LENGTH`` and ``OTHER_VARIABLE_LENGTH`` (SSCC, dates such
as best-before, quantities, measures, internal codes) are accepted so that a
full label parses, and returned unchanged under ``other``. Any other AI is
rejected as unsupported, because without its length the rest of an
unparenthesised string cannot be split. GS1 Digital Link URIs and the
non-GS1 UDI issuers used in China (MA code, AHM) are not parsed.

Dates follow the GS1 General Specifications (section 7.12): a two-digit
year is placed within 49 years before and 50 years after the current year,
and day ``00`` means the month only. For the expiry date (AI 17) that is the
last day of the month, as the specification defines. For the production
date (AI 11) it is the first day, so that a production month never lies
after an expiry in the same month.
"""

import calendar
import datetime
import re

from django.utils.translation import gettext as _

from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today

# The longest barcode text accepted anywhere (parse API, receiving form, stored UDI): a full UDI
# label with AIs 01, 11, 17, 10 and 21 is under 70 characters, so 200 leaves room for extra AIs.
UDI_MAX_LENGTH = 200
GROUP_SEPARATOR = "\x1d"
# Text forms of FNC1 that keyboard wedges send in place of ASCII 29.
GROUP_SEPARATOR_ALIASES = ("<GS>", "<gs>", "{GS}", "\\x1d")
SYMBOLOGY_IDENTIFIERS = ("]C1", "]d2", "]Q3", "]e0", "]J1")

UDI_FIXED_LENGTH = {"01": 14, "11": 6, "17": 6}
UDI_VARIABLE_LENGTH = {"10": 20, "21": 20}
# AI -> length of the value, for AIs read but not used by the UDI fields.
OTHER_FIXED_LENGTH = {"00": 18, "02": 14, "12": 6, "13": 6, "15": 6, "16": 6, "20": 2, "7003": 10}
# AI -> maximum length of the value.
OTHER_VARIABLE_LENGTH = {
    "22": 20, "235": 28, "240": 30, "241": 30, "242": 6, "243": 20, "250": 30, "251": 30, "30": 8, "37": 8,
    "400": 30, "401": 30, "403": 30, "710": 20, "711": 20, "712": 20, "713": 20, "714": 20, "715": 20,
    **{f"9{digit}": 90 for digit in "0123456789"},
}
DATE_AIS = {"11", "12", "13", "15", "16", "17"}
# GS1 AI encodable character set 82 (General Specifications, figure 7.11-1).
CHARACTER_SET_82 = re.compile(r"""^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]*$""")
MEASURE_AI = re.compile(r"^3[1-6]\d\d$")
FIELD_BY_AI = {"01": "gtin", "10": "lot_number", "11": "production_date", "17": "expiry_date", "21": "serial_number"}


class MalformedBarcode(InvalidInput, ValueError):
    """A scanned GS1 barcode could not be parsed; also a ``ValueError``, so callers parsing optional input can catch that."""

    code = "invalid_barcode"


def _malformed(message, params):
    return MalformedBarcode(message % params, field="barcode")


def gtin_check_digit(digits):
    """Return the GS1 mod-10 check digit for ``digits`` (a GTIN without its last digit)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return str((10 - total % 10) % 10)


def _fixed_length(ai):
    if ai in UDI_FIXED_LENGTH:
        return UDI_FIXED_LENGTH[ai]
    if ai in OTHER_FIXED_LENGTH:
        return OTHER_FIXED_LENGTH[ai]
    if MEASURE_AI.match(ai):
        return 6
    return None


def _variable_max_length(ai):
    return UDI_VARIABLE_LENGTH.get(ai) or OTHER_VARIABLE_LENGTH.get(ai)


def _known_ai_at(text, position):
    """Return the AI that starts at ``position``: the shortest known prefix of 2 to 4 digits, or None."""
    for length in (2, 3, 4):
        candidate = text[position:position + length]
        if len(candidate) == length and candidate.isdigit():
            if _fixed_length(candidate) is not None or _variable_max_length(candidate) is not None:
                return candidate
    return None


def _normalise(barcode):
    text = str(barcode or "").strip().replace("\r", "").replace("\n", "")
    for alias in GROUP_SEPARATOR_ALIASES:
        text = text.replace(alias, GROUP_SEPARATOR)
    for identifier in SYMBOLOGY_IDENTIFIERS:
        if text.startswith(identifier):
            text = text[len(identifier):]
            break
    return text.lstrip(GROUP_SEPARATOR)


def _split_parenthesised(text):
    """Return [(ai, value)] from ``(01)…(10)…`` text; a separator between elements is tolerated."""
    elements = []
    for match in re.finditer(r"\((\d{2,4})\)([^(]*)", text.replace(GROUP_SEPARATOR, "")):
        elements.append((match.group(1), match.group(2)))
    consumed = "".join(f"({ai}){value}" for ai, value in elements)
    if not elements or consumed != text.replace(GROUP_SEPARATOR, ""):
        raise _malformed(_("The barcode “%(value)s” is not a GS1 element string in the (AI)value form."), {"value": text})
    for ai, value in elements:
        if _fixed_length(ai) is None and _variable_max_length(ai) is None:
            raise _malformed(_("Application identifier (%(ai)s) is not supported."), {"ai": ai})
    return elements


def _split_plain(text):
    """Return [(ai, value)] from an unparenthesised element string, using the AI lengths."""
    elements = []
    position = 0
    while position < len(text):
        if text[position] == GROUP_SEPARATOR:
            position += 1
            continue
        ai = _known_ai_at(text, position)
        if ai is None:
            raise _malformed(
                _("Unknown or unsupported application identifier at “%(rest)s” (character %(position)s)."),
                {"rest": text[position:position + 8], "position": position + 1},
            )
        position += len(ai)
        length = _fixed_length(ai)
        if length is not None:
            value = text[position:position + length]
            if len(value) < length or GROUP_SEPARATOR in value:
                raise _malformed(
                    _("Application identifier (%(ai)s) needs %(length)s characters but the barcode ends after “%(value)s”; the scan may be truncated."),
                    {"ai": ai, "length": length, "value": value.split(GROUP_SEPARATOR)[0]},
                )
            position += length
        else:
            end = text.find(GROUP_SEPARATOR, position)
            end = len(text) if end == -1 else end
            value = text[position:end]
            position = end
        elements.append((ai, value))
    if not elements:
        raise _malformed(_("The barcode is empty."), {})
    return elements


def _parse_date(ai, value, today):
    if not (len(value) == 6 and value.isdigit()):
        raise _malformed(_("Application identifier (%(ai)s) needs a date YYMMDD, not “%(value)s”."), {"ai": ai, "value": value})
    year = _full_year(int(value[:2]), today)
    month, day = int(value[2:4]), int(value[4:6])
    if not 1 <= month <= 12:
        raise _malformed(_("Application identifier (%(ai)s) has an invalid month in “%(value)s”."), {"ai": ai, "value": value})
    if day == 0:
        day = 1 if ai == "11" else calendar.monthrange(year, month)[1]
    try:
        return datetime.date(year, month, day)
    except ValueError:
        raise _malformed(_("Application identifier (%(ai)s) has an invalid day in “%(value)s”."), {"ai": ai, "value": value}) from None


def _full_year(two_digits, today):
    """Return the four-digit year by the GS1 sliding window: 49 years back to 50 years ahead of ``today``."""
    current = today.year
    difference = two_digits - current % 100
    century = current - current % 100
    if difference >= 51:
        century -= 100
    elif difference <= -50:
        century += 100
    return century + two_digits


def _check_value(ai, value):
    if value == "":
        raise _malformed(_("Application identifier (%(ai)s) has no value."), {"ai": ai})
    maximum = _variable_max_length(ai)
    if maximum is not None and len(value) > maximum:
        raise _malformed(
            _("Application identifier (%(ai)s) allows at most %(max)s characters, but “%(value)s” has %(length)s; a group separator may be missing."),
            {"ai": ai, "max": maximum, "value": value, "length": len(value)},
        )
    fixed = _fixed_length(ai)
    if fixed is not None and len(value) != fixed:
        raise _malformed(
            _("Application identifier (%(ai)s) needs %(length)s characters, not “%(value)s”."), {"ai": ai, "length": fixed, "value": value}
        )
    if not CHARACTER_SET_82.match(value):
        raise _malformed(_("Application identifier (%(ai)s) contains a character GS1 does not allow: “%(value)s”."), {"ai": ai, "value": value})
    if ai == "01":
        if not value.isdigit():
            raise _malformed(_("The GTIN “%(value)s” must have 14 digits."), {"value": value})
        if gtin_check_digit(value[:-1]) != value[-1]:
            raise _malformed(
                _("The GTIN “%(value)s” has a wrong check digit (expected %(digit)s)."),
                {"value": value, "digit": gtin_check_digit(value[:-1])},
            )


def parse_gs1(barcode, *, today=None):
    """Parse a scanned GS1 element string into its UDI fields.

    Returns ``{"gtin", "lot_number", "production_date", "expiry_date",
    "serial_number", "other"}``: strings and ``datetime.date`` values, None
    for an AI that is absent, and ``other`` mapping further accepted AIs to
    their raw values. Raises ``MalformedBarcode``, an ``InvalidInput``
    for the field ``barcode``, naming
    the AI and value for an unsupported AI, a truncated or over-long value,
    a wrong GTIN check digit, an invalid date, an AI repeated with another
    value and an expiry date before the production date.
    """
    today = today or local_today()
    text = _normalise(barcode)
    if not text:
        raise _malformed(_("The barcode is empty."), {})
    elements = _split_parenthesised(text) if text.startswith("(") else _split_plain(text)

    result = {"gtin": None, "lot_number": None, "production_date": None, "expiry_date": None, "serial_number": None, "other": {}}
    seen = {}
    for ai, value in elements:
        _check_value(ai, value)
        if ai in seen and seen[ai] != value:
            raise _malformed(
                _("Application identifier (%(ai)s) appears twice with different values “%(first)s” and “%(second)s”."),
                {"ai": ai, "first": seen[ai], "second": value},
            )
        seen[ai] = value
        parsed = _parse_date(ai, value, today) if ai in DATE_AIS else value
        if ai in FIELD_BY_AI:
            result[FIELD_BY_AI[ai]] = parsed
        else:
            result["other"][ai] = parsed.isoformat() if isinstance(parsed, datetime.date) else parsed

    production, expiry = result["production_date"], result["expiry_date"]
    if production and expiry and expiry < production:
        raise _malformed(
            _("The expiry date %(expiry)s (AI 17) is before the production date %(production)s (AI 11)."),
            {"expiry": expiry.isoformat(), "production": production.isoformat()},
        )
    return result


def gtin_lookup_keys(gtin):
    """Return the spellings under which a GTIN-14 may be stored as a UDI-DI: 14 digits and its GTIN-13/12/8 forms."""
    keys = [gtin]
    for zeros, length in ((1, 13), (2, 12), (6, 8)):
        if gtin.startswith("0" * zeros):
            keys.append(gtin[-length:])
    return keys
