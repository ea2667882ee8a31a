"""GS1 barcode parsing: the forms scanners send, the date rules and every malformed input."""

import datetime

import pytest

from dentalsales.core.errors import InvalidInput
from dentalsales.inventory.udi import gtin_check_digit, gtin_lookup_keys, parse_gs1

TODAY = datetime.date(2026, 12, 4)
GS = "\x1d"
D = datetime.date

# (barcode as the scanner types it, expected fields)
VALID_CASES = [
    pytest.param(
        "(01)06901234567892(11)250315(17)280314(10)A2503151",
        {"gtin": "06901234567892", "production_date": D(2025, 3, 15), "expiry_date": D(2028, 3, 14), "lot_number": "A2503151"},
        id="parentheses",
    ),
    pytest.param(
        "0106901234567892" "11250315" "17280314" "10A2503151",
        {"gtin": "06901234567892", "production_date": D(2025, 3, 15), "expiry_date": D(2028, 3, 14), "lot_number": "A2503151"},
        id="plain-variable-last",
    ),
    pytest.param(
        f"]d20104006381333931{GS}10LOT-7/B{GS}17270600",
        {"gtin": "04006381333931", "lot_number": "LOT-7/B", "expiry_date": D(2027, 6, 30)},
        id="datamatrix-gs-day-00",
    ),
    pytest.param(
        f"]C1{GS}0106901234567892172602001120010110X1{GS}21SN000123",
        {"gtin": "06901234567892", "expiry_date": D(2026, 2, 28), "production_date": D(2020, 1, 1), "lot_number": "X1", "serial_number": "SN000123"},
        id="gs1-128-leading-fnc1-serial",
    ),
    pytest.param(
        "]Q30106901234567892<GS>10B7<GS>21S9<GS>17280229",
        {"gtin": "06901234567892", "lot_number": "B7", "serial_number": "S9", "expiry_date": D(2028, 2, 29)},
        id="qr-literal-gs-leap-day",
    ),
    pytest.param(
        "(01)06901234567892(17)240200(10)OLD",
        {"expiry_date": D(2024, 2, 29), "lot_number": "OLD"},
        id="day-00-leap-february",
    ),
    pytest.param(
        "(01)06901234567892(11)261100(17)261100",
        {"production_date": D(2026, 11, 1), "expiry_date": D(2026, 11, 30)},
        id="day-00-production-first-expiry-last",
    ),
    pytest.param(
        "(01)06901234567892(17)761231",
        {"expiry_date": D(2076, 12, 31)},
        id="year-50-ahead-is-this-century",
    ),
    pytest.param(
        "(01)06901234567892(11)770101",
        {"production_date": D(1977, 1, 1)},
        id="year-51-ahead-is-last-century",
    ),
    pytest.param(
        "(01)06901234567892(21)A-1(17)300101",
        {"serial_number": "A-1", "expiry_date": D(2030, 1, 1), "lot_number": None, "production_date": None},
        id="absent-ais-are-none",
    ),
    pytest.param(
        f"0106901234567892{GS}",
        {"gtin": "06901234567892"},
        id="trailing-separator",
    ),
    pytest.param(
        "  (01)06901234567892(10)ABC\r\n",
        {"gtin": "06901234567892", "lot_number": "ABC"},
        id="whitespace-and-enter",
    ),
]


@pytest.mark.parametrize(("barcode", "expected"), VALID_CASES)
def test_parse_valid(barcode, expected):
    result = parse_gs1(barcode, today=TODAY)
    for field, value in expected.items():
        assert result[field] == value, field


def test_parse_other_ais_kept():
    result = parse_gs1(f"0106901234567892{GS}3103000250{GS}15270101{GS}240REF-9{GS}10L1{GS}3012", today=TODAY)
    assert result["other"] == {"3103": "000250", "15": "2027-01-01", "240": "REF-9", "30": "12"}
    assert result["lot_number"] == "L1"


def test_parse_gs1_without_gtin():
    result = parse_gs1("(10)L77(17)290101", today=TODAY)
    assert result["gtin"] is None
    assert result["lot_number"] == "L77"


# (barcode, words the message must contain)
INVALID_CASES = [
    pytest.param("", ["empty"], id="empty"),
    pytest.param("]d2", ["empty"], id="identifier-only"),
    pytest.param("(01)06901234567893(10)A", ["06901234567893", "check digit", "2"], id="gtin-check-digit"),
    pytest.param("(01)0690123456789(10)A", ["(01)", "0690123456789"], id="gtin-short-parenthesised"),
    pytest.param("01069012345678", ["(01)", "14", "truncated"], id="gtin-truncated"),
    pytest.param("01069012345678921728", ["(17)", "6", "“28”"], id="expiry-truncated"),
    pytest.param(f"0106901234567892172{GS}10A", ["(17)", "truncated"], id="separator-inside-fixed"),
    pytest.param("(01)06901234567892(17)271301", ["(17)", "month", "271301"], id="month-13"),
    pytest.param("(01)06901234567892(17)270230", ["(17)", "day", "270230"], id="february-30"),
    pytest.param("(01)06901234567892(11)2701AB", ["(11)", "YYMMDD", "2701AB"], id="date-letters"),
    pytest.param("(01)06901234567892(11)270101(17)261231", ["2026-12-31", "2027-01-01", "before"], id="expiry-before-production"),
    pytest.param("0106901234567892" + "10" + "A" * 21, ["(10)", "20", "21", "separator"], id="lot-too-long-missing-gs"),
    pytest.param("(01)06901234567892(21)" + "S" * 21, ["(21)", "20"], id="serial-too-long"),
    pytest.param("(01)06901234567892(10)", ["(10)", "no value"], id="lot-empty"),
    pytest.param("(01)06901234567892(10)批号1", ["(10)", "批号1"], id="lot-chinese-characters"),
    pytest.param("(01)06901234567892(99)", ["(99)", "no value"], id="internal-empty"),
    pytest.param("(01)06901234567892(8200)http", ["(8200)", "not supported"], id="unsupported-ai-parenthesised"),
    pytest.param("010690123456789282001", ["82001", "unsupported"], id="unsupported-ai-plain"),
    pytest.param("06901234567892", ["06901234", "unsupported"], id="bare-gtin-without-ai"),
    pytest.param("(01)06901234567892 (10)A", ["(01)", "14", "“06901234567892 ”"], id="space-after-gtin"),
    pytest.param("(GTIN)06901234567892", ["(GTIN)06901234567892", "not a GS1 element string"], id="ai-not-digits"),
    pytest.param(f"0106901234567892{GS}10A{GS}10B", ["(10)", "twice", "A", "B"], id="ai-repeated"),
]


@pytest.mark.parametrize(("barcode", "words"), INVALID_CASES)
def test_parse_invalid(barcode, words):
    with pytest.raises(InvalidInput) as raised:
        parse_gs1(barcode, today=TODAY)
    message = str(raised.value)
    for word in words:
        assert word in message, (word, message)
    assert raised.value.field == "barcode"


def test_repeated_ai_same_value_accepted():
    assert parse_gs1(f"0106901234567892{GS}10A{GS}10A", today=TODAY)["lot_number"] == "A"


def test_gtin_check_digit_known_values():
    assert gtin_check_digit("0400638133393") == "1"
    assert gtin_check_digit("0690123456789") == "2"
    assert gtin_check_digit("0000000000000") == "0"


def test_gtin_lookup_keys_short_forms():
    assert gtin_lookup_keys("06901234567892") == ["06901234567892", "6901234567892"]
    assert gtin_lookup_keys("00000096385074") == ["00000096385074", "0000096385074", "000096385074", "96385074"]
    assert gtin_lookup_keys("16901234567899") == ["16901234567899"]


def test_century_window_moves_with_today():
    assert parse_gs1("(17)491231", today=D(2000, 1, 1))["expiry_date"] == D(2049, 12, 31)
    assert parse_gs1("(17)501231", today=D(2000, 1, 1))["expiry_date"] == D(2050, 12, 31)
    assert parse_gs1("(17)511231", today=D(2000, 1, 1))["expiry_date"] == D(1951, 12, 31)
    assert parse_gs1("(17)010101", today=D(2090, 6, 1))["expiry_date"] == D(2101, 1, 1)
