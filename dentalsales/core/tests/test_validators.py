"""Chinese identifiers: 统一社会信用代码 (GB 32100) and NMPA registration and record numbers."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from dentalsales.core.validators import (
    MOBILE_PATTERN,
    USCC_CHARSET,
    normalize_uscc,
    parse_registration_number,
    uscc_check_character,
    uscc_problem,
    validate_registration_number,
    validate_uscc_shape,
)

# A code published on a real business licence.
PUBLISHED_USCC = "91350100M000100Y43"
# Letters GB 32100 leaves out because they look like digits or each other.
EXCLUDED_LETTERS = "IOSVZ"

charset_chars = st.sampled_from(USCC_CHARSET)
digits = st.sampled_from("0123456789")
# Characters 1-2: registering authority and kind; 3-8: region code (digits); 9-17: organisation code.
uscc_bodies = st.tuples(
    st.text(charset_chars, min_size=2, max_size=2),
    st.text(digits, min_size=6, max_size=6),
    st.text(charset_chars, min_size=9, max_size=9),
).map("".join)


def make_uscc(body):
    return body + uscc_check_character(body)


class TestUscc:
    def test_published_code_is_valid(self):
        assert uscc_problem(PUBLISHED_USCC) is None

    @pytest.mark.parametrize("body", ["91310115000000001", "12100000400000123", "Y1110000MA0000000", "913101150000000RX"])
    def test_codes_with_computed_check_character_are_valid(self, body):
        assert uscc_problem(make_uscc(body)) is None

    def test_check_character_of_published_code(self):
        assert uscc_check_character(PUBLISHED_USCC[:17]) == "3"

    @pytest.mark.parametrize("wrong", [c for c in USCC_CHARSET if c != "3"][:5])
    def test_wrong_check_character_is_a_check_problem(self, wrong):
        assert uscc_problem(PUBLISHED_USCC[:17] + wrong) == "check"

    @pytest.mark.parametrize(
        "value",
        [
            "",
            "91350100M000100Y4",  # 17 characters
            "91350100M000100Y433",  # 19 characters
            "91350100M00010OY43",  # letter O
            "91350100M00010IY43",  # letter I
            "9135010AM000100Y43",  # letter in the region code
            "91350100M000100Y4-",
            "91350100M000100Y4?",
        ],
    )
    def test_wrong_length_or_characters_is_a_shape_problem(self, value):
        assert uscc_problem(value) == "shape"

    def test_none_is_a_shape_problem(self):
        assert uscc_problem(None) == "shape"

    def test_lower_case_and_spaces_are_normalised(self):
        assert normalize_uscc(" 9135 0100m000100y43 ") == PUBLISHED_USCC
        assert uscc_problem(" 9135 0100m000100y43 ") is None

    def test_full_width_digits_are_a_shape_problem(self):
        assert uscc_problem("9135０１００M000100Y43") == "shape"

    def test_validate_uscc_shape_names_the_value(self):
        with pytest.raises(ValidationError) as caught:
            validate_uscc_shape("ABC123")

        assert caught.value.code == "uscc_shape"
        assert "ABC123" in caught.value.messages[0]

    def test_shape_validator_ignores_check_character(self):
        validate_uscc_shape(PUBLISHED_USCC[:17] + "4")

    @given(body=uscc_bodies)
    def test_any_body_with_its_check_character_is_valid(self, body):
        assert uscc_problem(make_uscc(body)) is None

    @given(body=uscc_bodies, data=st.data())
    def test_changing_the_check_character_makes_a_code_invalid(self, body, data):
        code = make_uscc(body)
        other = data.draw(st.sampled_from([c for c in USCC_CHARSET if c != code[17]]))

        assert uscc_problem(body + other) == "check"

    @given(body=uscc_bodies, letter=st.sampled_from(EXCLUDED_LETTERS))
    def test_excluded_letter_check_character_is_shape(self, body, letter):
        assert uscc_problem(body + letter) == "shape"


class TestRegistrationNumbers:
    @pytest.mark.parametrize(
        "number, kind, device_class",
        [
            ("国械注准20173170123", "registration", "3"),
            ("粤械注准20172170123", "registration", "2"),
            ("国械注进20163171234", "registration", "3"),
            ("国械注许20183170001", "registration", "3"),
            ("京械备20150012号", "record", None),
            ("京朝械备20150012号", "record", None),
            ("国械备20150012号", "record", None),
            ("国食药监械(准)字2012第3630001号", "legacy", "3"),
            ("国食药监械（准）字2012第3630001号", "legacy", "3"),
            ("粤食药监械(准)字2012第2630001号", "legacy", "2"),
        ],
    )
    def test_valid_numbers_parse_with_their_kind_and_class(self, number, kind, device_class):
        parsed = parse_registration_number(number)

        assert parsed is not None
        assert parsed[0] == kind
        assert parsed[1].get("device_class") == device_class

    def test_parts_of_a_registration_certificate(self):
        kind, parts = parse_registration_number("国械注进20163171234")

        assert kind == "registration"
        assert parts == {"authority": "国", "origin": "进", "year": "2016", "device_class": "3", "category": "17", "serial": "1234"}

    def test_surrounding_spaces_are_ignored(self):
        assert parse_registration_number("  国械注准20173170123 ")[0] == "registration"

    @pytest.mark.parametrize(
        "number",
        [
            "",
            None,
            "国械注准2017317012",  # one digit missing
            "国械注准201731701234",  # one digit too many
            "国械注准20174170123",  # no class IV
            "国械注准2017317012A",  # latin letter
            "GX注准20173170123",
            "美械注准20173170123",  # not a province
            "国械注册20173170123",
            "国药准字H20173170",  # a drug approval number
            "国械注准20173170123号",
            "京械备2015001号",  # serial too short
            "京械备20150012",  # 号 missing
            "京械备2015A012号",
            "国食药监械(准)字2012第363000号",  # serial too short
            "国食药监械(准)字2012第4630001号",  # no class IV
            "国食药监械[准]字2012第3630001号",
        ],
    )
    def test_malformed_numbers_do_not_parse(self, number):
        assert parse_registration_number(number) is None

    @pytest.mark.parametrize(
        "number",
        [
            pytest.param("粤械注进20172170123", id="imports-registered-by-a-province"),
            pytest.param("粤械注许20172170123", id="hk-macao-taiwan-registered-by-a-province"),
            pytest.param("粤械注准20173170123", id="class-iii-registered-by-a-province"),
            pytest.param("国械注准20172170123", id="domestic-class-ii-registered-by-the-nmpa"),
        ],
    )
    def test_authority_must_match_origin_and_class(self, number):
        assert parse_registration_number(number) is None

    @pytest.mark.parametrize("number", ["国械注进20161171234", "国械注许20161170001"])
    def test_class_i_has_no_registration_certificate(self, number):
        assert parse_registration_number(number) is None

    def test_full_width_digits_are_refused(self):
        assert parse_registration_number("国械注准２０１７3１７０１２３") is None

    def test_validate_registration_number_names_the_value(self):
        with pytest.raises(ValidationError) as caught:
            validate_registration_number("国械注准2017317012A")

        assert caught.value.code == "registration_number"
        assert "国械注准2017317012A" in caught.value.messages[0]

    def test_validate_registration_number_accepts_a_valid_number(self):
        validate_registration_number("京朝械备20150012号")


class TestMobilePattern:
    @pytest.mark.parametrize("number", ["13812345678", "19912345678", "15000000000"])
    def test_mainland_mobile_numbers_match(self, number):
        assert MOBILE_PATTERN.match(number)

    @pytest.mark.parametrize("number", ["12812345678", "1381234567", "138123456789", "+8613812345678", "021-50800000"])
    def test_other_numbers_do_not_match(self, number):
        assert not MOBILE_PATTERN.match(number)
