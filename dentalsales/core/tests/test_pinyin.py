"""Pinyin search keys and the customer search that uses them."""

import pytest

from dentalsales.core.pinyin import build_search_text, pinyin_full, pinyin_initials
from dentalsales.customers.selectors import (
    customer_list,
    search_customers,
    visible_customers,
)
from dentalsales.customers.services import create_customer, update_customer
from dentalsales.testing.factories import valid_uscc


class TestSearchText:
    def test_contains_the_name_its_full_pinyin_and_its_initials(self):
        words = build_search_text("北京口腔医院").split()

        assert "北京口腔医院" in words
        assert "beijingkouqiangyiyuan" in words
        assert "bjkqyy" in words

    @pytest.mark.parametrize(
        "name, full, initials",
        [
            ("重庆口腔医院", "chongqingkouqiangyiyuan", "cqkqyy"),  # 重 read chóng, not zhòng
            ("长沙市口腔医院", "changshashikouqiangyiyuan", "csskqyy"),  # 长 read cháng, not zhǎng
            ("厦门大学附属口腔医院", "xiamendaxuefushukouqiangyiyuan", "xmdxfskqyy"),  # 厦 read xià, not shà
        ],
    )
    def test_place_names_take_their_usual_reading(self, name, full, initials):
        assert pinyin_full(name) == full
        assert pinyin_initials(name) == initials

    def test_latin_text_and_digits_are_kept_in_lower_case(self):
        assert build_search_text("3M ESPE 义获嘉").split() == ["3m", "espe", "义获嘉", "3mespeyihuojia", "3mespeyhj"]

    def test_every_part_is_included(self):
        words = build_search_text("C00001", "上海牙科诊所", "91350100M000100Y43").split()

        assert "c00001" in words
        assert "shanghaiyakezhensuo" in words
        assert "shykzs" in words
        assert "91350100m000100y43" in words

    def test_empty_parts_are_skipped_and_repeats_removed(self):
        assert build_search_text(None, "", "abc", "ABC") == "abc"

    def test_search_text_is_capped_at_1000_characters(self):
        assert len(build_search_text("口腔" * 600)) == 1000



@pytest.fixture
def beijing(rep):
    return create_customer(
        actor=rep,
        code="BJ001",
        name="北京口腔医院",
        customer_type="dental_hospital",
        uscc=valid_uscc(101),
        contact_phone="13812345678",
        grade="B",
    )


@pytest.fixture
def shanghai(rep):
    return create_customer(actor=rep, code="SH001", name="上海牙科诊所", customer_type="clinic", uscc=valid_uscc(202), grade="C")


@pytest.mark.django_db
class TestSearchCustomers:
    @pytest.mark.parametrize(
        "text",
        [
            "bjkq",
            "BJKQ",
            "bjkqyy",
            "beijingkouqiang",
            "beijing kouqiang",
            "BeiJing",
            "北京口腔",
            "bj001",
            "BJ001",
            "13812345678",
        ],
    )
    def test_search_by_pinyin_name_code_phone(self, beijing, shanghai, text):
        found = list(search_customers(visible_customers(beijing.owner), text))

        assert found == [beijing]

    def test_finds_the_customer_by_its_whole_uscc(self, beijing, shanghai):
        found = list(search_customers(visible_customers(beijing.owner), beijing.uscc))

        assert found == [beijing]

    def test_search_by_partial_lower_case_uscc(self, beijing, shanghai):
        found = list(search_customers(visible_customers(beijing.owner), beijing.uscc[-8:].lower()))

        assert found == [beijing]

    def test_initials_shared_by_both_customers_find_both(self, beijing, shanghai):
        found = set(search_customers(visible_customers(beijing.owner), "yy") | search_customers(visible_customers(beijing.owner), "zs"))

        assert found == {beijing, shanghai}

    def test_blank_search_returns_everything(self, beijing, shanghai):
        assert set(search_customers(visible_customers(beijing.owner), "  ")) == {beijing, shanghai}

    def test_text_that_matches_nothing_finds_nothing(self, beijing, shanghai):
        assert list(search_customers(visible_customers(beijing.owner), "guangzhou")) == []

    def test_search_text_follows_a_renamed_customer(self, beijing, shanghai):
        update_customer(actor=beijing.owner, customer=beijing, name="天津口腔医院")

        assert list(search_customers(visible_customers(beijing.owner), "tjkq")) == [beijing]
        assert list(search_customers(visible_customers(beijing.owner), "bjkq")) == []

    def test_customer_list_searches_only_the_users_customers(self, beijing, rep2):
        assert list(customer_list(beijing.owner, search="bjkq")) == [beijing]
        assert list(customer_list(rep2, search="bjkq")) == []
