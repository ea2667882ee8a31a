"""Amounts in Chinese financial capitals (人民币大写)."""

from decimal import Decimal

import pytest

from dentalsales.core.money import amount_in_chinese_capitals


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"),
        ("100", "壹佰元整"),
        ("0.05", "伍分"),
        ("1001.10", "壹仟零壹元壹角"),
        ("100000000", "壹亿元整"),
        ("10010.01", "壹万零壹拾元零壹分"),
        # Edge cases.
        ("0", "零元整"),
        ("0.5", "伍角"),
        ("0.55", "伍角伍分"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("15", "壹拾伍元整"),
        ("105", "壹佰零伍元整"),
        ("1000.01", "壹仟元零壹分"),
        ("100000", "壹拾万元整"),
        ("1000000", "壹佰万元整"),
        ("100010000", "壹亿零壹万元整"),
        ("100000001", "壹亿零壹元整"),
        ("10001000", "壹仟万壹仟元整"),
        ("1010101.01", "壹佰零壹万零壹佰零壹元零壹分"),
        ("200000000.20", "贰亿元贰角"),
        ("-12.30", "负壹拾贰元叁角"),
        ("9999999999999999.99", "玖仟玖佰玖拾玖万亿玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        # Rounded half up to the fen first.
        ("0.005", "壹分"),
        ("2.994", "贰元玖角玖分"),
    ],
)
def test_amount_in_chinese_capitals(amount, expected):
    assert amount_in_chinese_capitals(Decimal(amount)) == expected


def test_float_goes_through_str():
    assert amount_in_chinese_capitals(0.1) == "壹角"


def test_too_large_refused():
    with pytest.raises(ValueError):
        amount_in_chinese_capitals(Decimal(10000000000000000))
