"""Money and tax arithmetic: Decimal only, half-up rounding at named points."""

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dentalsales.core.money import (
    format_money,
    line_amount,
    round_money,
    round_price,
    tax_included,
    to_decimal,
)

D = Decimal


def exact_half_up_cents(value):
    """Round an exact non-negative Fraction to cents, half up, without Decimal (an independent oracle)."""
    return D(math.floor(Fraction(value) * 100 + Fraction(1, 2))) / 100


quantities = st.integers(min_value=1, max_value=1_000_000)
unit_prices = st.decimals(min_value=0, max_value=D("99999999.9999"), places=4, allow_nan=False, allow_infinity=False)
vat_rates = st.sampled_from([D("0"), D("0.01"), D("0.03"), D("0.06"), D("0.09"), D("0.13")]) | st.decimals(
    min_value=0, max_value=D("0.99"), places=2, allow_nan=False, allow_infinity=False
)
amounts = st.decimals(min_value=0, max_value=D("999999999999.99"), places=2, allow_nan=False, allow_infinity=False)


class TestTaxIncluded:
    @pytest.mark.parametrize(
        "amount, rate, tax",
        [
            ("130.15", "0.13", "14.97"),  # 130.15 / 1.13 * 0.13 = 14.9730…
            ("113.00", "0.13", "13.00"),
            ("100.00", "0.13", "11.50"),  # 11.5044…
            ("1.00", "0.13", "0.12"),  # 0.11504…
            ("0.05", "0.13", "0.01"),  # 0.00575…
            ("0.04", "0.13", "0.00"),  # 0.00460…
            ("106.00", "0.06", "6.00"),
            ("109.00", "0.09", "9.00"),
            ("250.00", "0", "0.00"),
            ("0.00", "0.13", "0.00"),
        ],
    )
    def test_tax_is_taken_out_of_the_tax_inclusive_amount(self, amount, rate, tax):
        assert tax_included(D(amount), D(rate)) == D(tax)

    def test_one_unit_at_130_15_with_13_percent_vat(self):
        amount = line_amount(1, D("130.15"))

        assert amount == D("130.15")
        assert tax_included(amount, D("0.13")) == D("14.97")

    def test_tax_has_two_decimal_places(self):
        assert tax_included(D("130.15"), D("0.13")).as_tuple().exponent == -2

    def test_floats_and_strings_give_the_same_tax_as_decimals(self):
        assert tax_included(130.15, 0.13) == D("14.97")
        assert tax_included("130.15", "0.13") == D("14.97")

    @given(amount=amounts, rate=vat_rates)
    def test_tax_matches_exact_fraction_arithmetic(self, amount, rate):
        exact = Fraction(amount) / (1 + Fraction(rate)) * Fraction(rate)

        assert tax_included(amount, rate) == exact_half_up_cents(exact)

    @given(amount=amounts, rate=vat_rates)
    def test_tax_is_never_negative(self, amount, rate):
        assert tax_included(amount, rate) >= 0

    @given(amount=amounts, rate=vat_rates)
    def test_tax_never_exceeds_the_amount(self, amount, rate):
        assert tax_included(amount, rate) <= amount


class TestLineAmount:
    @pytest.mark.parametrize(
        "quantity, unit_price, amount",
        [
            (1, "130.15", "130.15"),
            (3, "33.3333", "100.00"),  # 99.9999
            (3, "0.0050", "0.02"),  # 0.0150: half up, not to even
            (2, "0.0025", "0.01"),  # 0.0050: half up, not to even
            (7, "0.0015", "0.01"),  # 0.0105
            (1, "0.0049", "0.00"),
            (1000, "0.1234", "123.40"),
        ],
    )
    def test_amount_rounds_half_up_to_fen(self, quantity, unit_price, amount):
        assert line_amount(quantity, D(unit_price)) == D(amount)

    def test_float_price_does_not_carry_binary_noise(self):
        # Decimal(2.675) is 2.67499999999999982236431605997495353221893310546875.
        assert line_amount(1, 2.675) == D("2.68")

    @given(quantity=quantities, unit_price=unit_prices)
    def test_amount_equals_rounded_exact_product(self, quantity, unit_price):
        assert line_amount(quantity, unit_price) == exact_half_up_cents(Fraction(quantity) * Fraction(unit_price))

    @given(quantity=quantities, unit_price=unit_prices, rate=vat_rates)
    def test_line_tax_lies_between_zero_and_the_amount(self, quantity, unit_price, rate):
        amount = line_amount(quantity, unit_price)
        tax = tax_included(amount, rate)

        assert tax >= 0
        assert tax <= amount

    @given(unit_prices_=st.lists(unit_prices, min_size=1, max_size=20), rate=vat_rates)
    def test_line_tax_rounding_error_bounded(self, unit_prices_, rate):
        amounts_ = [line_amount(1, price) for price in unit_prices_]
        total = sum(amounts_, D("0"))
        exact_tax_of_total = Fraction(total) / (1 + Fraction(rate)) * Fraction(rate)
        sum_of_line_taxes = sum((tax_included(amount, rate) for amount in amounts_), D("0"))

        assert abs(Fraction(sum_of_line_taxes) - exact_tax_of_total) <= Fraction(len(amounts_), 200)


class TestRounding:
    @pytest.mark.parametrize(
        "value, rounded",
        [
            ("0.125", "0.13"),  # banker's rounding would give 0.12
            ("0.135", "0.14"),
            ("0.124999", "0.12"),
            ("-0.125", "-0.13"),  # half away from zero
            ("12345678.005", "12345678.01"),
            ("7", "7.00"),
        ],
    )
    def test_round_money_rounds_half_up_to_two_places(self, value, rounded):
        result = round_money(D(value))

        assert result == D(rounded)
        assert result.as_tuple().exponent == -2

    @pytest.mark.parametrize("value, rounded", [(2.675, "2.68"), (1.005, "1.01"), (0.125, "0.13")])
    def test_round_money_of_a_float_uses_its_shortest_decimal_form(self, value, rounded):
        # Each float is slightly below the written value in binary.
        assert round_money(value) == D(rounded)

    @pytest.mark.parametrize(
        "value, rounded",
        [("1.00005", "1.0001"), ("1.00004", "1.0000"), ("130.15", "130.1500"), ("0.00005", "0.0001")],
    )
    def test_round_price_rounds_half_up_to_four_places(self, value, rounded):
        result = round_price(D(value))

        assert result == D(rounded)
        assert result.as_tuple().exponent == -4


class TestToDecimal:
    def test_float_0_1_becomes_exactly_one_tenth(self):
        value = to_decimal(0.1)

        assert value == D("0.1")
        assert str(value) == "0.1"

    def test_three_times_float_1_1_is_exactly_3_3(self):
        assert to_decimal(1.1) * 3 == D("3.3")

    def test_decimal_is_returned_unchanged(self):
        value = D("130.1500")

        assert to_decimal(value) is value

    @pytest.mark.parametrize("value, expected", [(5, D("5")), ("12.30", D("12.30")), (" 7 ", D("7"))])
    def test_integers_and_strings_convert_exactly(self, value, expected):
        assert to_decimal(value) == expected

    @given(st.floats(allow_nan=False, allow_infinity=False))
    def test_any_float_converts_to_its_shortest_repr(self, value):
        converted = to_decimal(value)

        assert converted == D(repr(value))
        assert float(converted) == value


class TestFormatMoney:
    @pytest.mark.parametrize(
        "value, text",
        [
            (D("12345.6"), "12,345.60"),
            (D("1234567.891"), "1,234,567.89"),
            (D("0.005"), "0.01"),
            (D("-1234.5"), "-1,234.50"),
            (0, "0.00"),
            (None, ""),
        ],
    )
    def test_format_money(self, value, text):
        assert format_money(value) == text
