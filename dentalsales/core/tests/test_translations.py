"""The Simplified Chinese catalogue: complete, compiled, on glossary terms, and chosen per request."""

import gettext
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from dentalsales.accounts.roles import Role
from dentalsales.customers.models import (
    CustomerCategory,
    CustomerGrade,
    CustomerType,
    QualificationKind,
)
from dentalsales.inventory.models import LotStatus
from dentalsales.sales.models import OrderChannel, OrderStatus, SalesOrder
from dentalsales.sales.services import ACTION_LABELS, ACTION_PAST
from dentalsales.testing import factories as f

CATALOGUE_DIR = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"
PO_PATH = CATALOGUE_DIR / "django.po"
MO_PATH = CATALOGUE_DIR / "django.mo"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd%]")
ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
KEYWORDS = {"msgctxt": "ctxt", "msgid": "id", "msgid_plural": "plural", "msgstr": 0}


def _unquote(text):
    """Turn one quoted PO string into its value."""
    return re.sub(r"\\(.)", lambda m: ESCAPES.get(m.group(1), m.group(0)), text.strip()[1:-1])


def read_po(path):
    """Return the entries of a PO file as dicts: ctxt, id, plural, strs (index to text), flags.

    Entries are separated by blank lines, as gettext's tools write them.
    Obsolete entries (``#~``) are skipped because gettext ignores them.
    """
    entries = []
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        entry = {"ctxt": None, "id": None, "plural": None, "strs": {}, "flags": set()}
        field = None
        for line in block.strip().splitlines():
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                if isinstance(field, int):
                    entry["strs"][field] += _unquote(line)
                else:
                    entry[field] += _unquote(line)
            else:
                keyword, _, rest = line.partition(" ")
                field = KEYWORDS.get(keyword)
                if field is None:
                    field = int(re.fullmatch(r"msgstr\[(\d+)\]", keyword).group(1))
                if isinstance(field, int):
                    entry["strs"][field] = _unquote(rest)
                else:
                    entry[field] = _unquote(rest)
        if entry["id"] is not None:
            entries.append(entry)
    return entries


def describe(entry):
    return f"{entry['ctxt']}|{entry['id']}" if entry["ctxt"] is not None else entry["id"]


@pytest.fixture(scope="module")
def entries():
    return read_po(PO_PATH)


@pytest.fixture(scope="module")
def messages(entries):
    """The translated entries, without the header."""
    return [entry for entry in entries if entry["id"] != ""]


# One msgid from each kind of source that makemessages must have collected.
EXPECTED_MSGIDS = [
    (None, "Dashboard"),  # navigation
    (None, "Draft"),  # model choice
    (None, "sales order"),  # model verbose name
    (None, "Give the reason for rejecting the order."),  # service error
    (None, "Accompanying delivery note"),  # app template
    (None, "Log out"),  # project template
    ("order action", "approve"),
    ("order state after action", "approved"),
]


class TestCatalogueFile:
    @pytest.mark.parametrize(("context", "msgid"), EXPECTED_MSGIDS)
    def test_catalogue_has_msgid(self, messages, context, msgid):
        assert (context, msgid) in {(entry["ctxt"], entry["id"]) for entry in messages}

    def test_header_names_language(self, entries):
        header = entries[0]["strs"][0]

        assert entries[0]["id"] == ""
        assert "Language: zh_Hans\n" in header

    def test_header_has_one_plural_form(self, entries):
        assert "Plural-Forms: nplurals=1; plural=0;\n" in entries[0]["strs"][0]

    def test_every_entry_translated(self, messages):
        untranslated = [describe(entry) for entry in messages if not all(entry["strs"].values())]

        assert untranslated == []

    def test_plurals_have_one_form(self, messages):
        wrong = [describe(entry) for entry in messages if entry["plural"] is not None and set(entry["strs"]) != {0}]

        assert wrong == []

    def test_no_fuzzy_entries(self, entries):
        fuzzy = [describe(entry) for entry in entries if "fuzzy" in entry["flags"]]

        assert fuzzy == []

    def test_placeholders_kept(self, messages):
        changed = []
        for entry in messages:
            expected = Counter(PLACEHOLDER.findall(entry["plural"] or entry["id"]))
            for text in entry["strs"].values():
                if Counter(PLACEHOLDER.findall(text)) != expected:
                    changed.append(describe(entry))

        assert changed == []

    def test_chinese_quotes_used(self, messages):
        straight = [describe(entry) for entry in messages if '"' in entry["strs"][0] or "「" in entry["strs"][0]]

        assert straight == []

    def test_mo_matches_po(self, messages):
        """A .mo compiled from an older .po lacks or differs in at least one entry."""
        with MO_PATH.open("rb") as mo_file:
            compiled = gettext.GNUTranslations(mo_file)
        stale = []
        for entry in messages:
            if entry["plural"] is not None and entry["ctxt"] is not None:
                found = compiled.npgettext(entry["ctxt"], entry["id"], entry["plural"], 1)
            elif entry["plural"] is not None:
                found = compiled.ngettext(entry["id"], entry["plural"], 1)
            elif entry["ctxt"] is not None:
                found = compiled.pgettext(entry["ctxt"], entry["id"])
            else:
                found = compiled.gettext(entry["id"])
            if found != entry["strs"][0]:
                stale.append(describe(entry))

        assert stale == []


GLOSSARY = [
    (OrderStatus.DRAFT, "草稿"),
    (OrderStatus.SUBMITTED, "待审核"),
    (OrderStatus.APPROVED, "已审核"),
    (OrderStatus.REJECTED, "已驳回"),
    (OrderStatus.RELEASED, "已下达物流"),
    (OrderStatus.PARTIALLY_SHIPPED, "部分发货"),
    (OrderStatus.SHIPPED, "已发货"),
    (OrderStatus.COMPLETED, "已完成"),
    (OrderStatus.CANCELLED, "已取消"),
    (OrderChannel.PHONE, "电话"),
    (OrderChannel.EMAIL, "邮件"),
    (OrderChannel.FAX, "传真"),
    (OrderChannel.VISIT, "拜访"),
    (OrderChannel.ONLINE, "线上"),
    (CustomerType.DENTAL_HOSPITAL, "口腔医院"),
    (CustomerType.CLINIC, "口腔诊所"),
    (CustomerType.DISTRIBUTOR, "经销商"),
    (CustomerType.RETAILER, "零售商"),
    (CustomerCategory.KEY, "重点客户"),
    (CustomerCategory.GENERAL, "一般客户"),
    (CustomerCategory.POTENTIAL, "潜在客户"),
    (CustomerGrade.A, "A级"),
    (CustomerGrade.B, "B级"),
    (CustomerGrade.C, "C级"),
    (QualificationKind.MEDICAL_INSTITUTION_LICENCE, "医疗机构执业许可证"),
    (QualificationKind.DEVICE_BUSINESS_LICENCE, "医疗器械经营许可证"),
    (QualificationKind.DEVICE_BUSINESS_RECORD, "医疗器械经营备案凭证"),
    (LotStatus.AVAILABLE, "可用"),
    (LotStatus.QUARANTINED, "待处理（隔离）"),
    (LotStatus.RECALLED, "已召回"),
    (Role.REPRESENTATIVE, "销售代表"),
    (Role.SUPERVISOR, "销售主管"),
    (Role.MANAGER, "销售经理"),
    (Role.LOGISTICS, "物流"),
    (Role.FINANCE, "财务"),
    (Role.QUALITY_OFFICER, "质量负责人"),
]


@pytest.mark.parametrize(("choice", "chinese"), GLOSSARY, ids=[f"{type(c).__name__}.{c.value}" for c, _ in GLOSSARY])
def test_choice_label_glossary_term(choice, chinese):
    with translation.override("zh-hans"):
        assert str(choice.label) == chinese


ORDER_VERBS = {
    "submit": "提交",
    "approve": "审核通过",
    "reject": "驳回",
    "release": "下达物流",
    "ship": "发货",
    "complete": "完成",
    "cancel": "取消",
}


@pytest.mark.parametrize(("action", "verb"), ORDER_VERBS.items())
def test_order_action_chinese_verb(action, verb):
    with translation.override("zh-hans"):
        assert str(ACTION_LABELS[action]) == verb
        assert str(ACTION_PAST[action]) == verb


@pytest.fixture
def draft_order(rep, customer, stocked_product):
    return f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 2)])


class TestLanguageOfPages:
    def test_login_page_default_chinese(self, db, chinese_default):
        html = Client().get(reverse("login")).content.decode()

        assert '<html lang="zh-hans">' in html
        assert "登录" in html
        assert "Log in" not in html

    def test_login_page_accept_language_en(self, db, chinese_default):
        html = Client(headers={"accept-language": "en"}).get(reverse("login")).content.decode()

        assert '<html lang="en">' in html
        assert "Log in" in html
        assert "登录" not in html

    def test_order_status_default_chinese(self, rep, draft_order, chinese_default):
        client = Client()
        client.force_login(rep)

        html = client.get(reverse("sales:order_detail", args=[draft_order.pk])).content.decode()

        assert "草稿" in html
        assert "Draft" not in html

    def test_order_status_accept_language_en(self, rep, draft_order, chinese_default):
        client = Client(headers={"accept-language": "en"})
        client.force_login(rep)

        html = client.get(reverse("sales:order_detail", args=[draft_order.pk])).content.decode()

        assert "Draft" in html
        assert "草稿" not in html

    def test_language_cookie_selects_english(self, rep, draft_order, chinese_default):
        client = Client()
        client.force_login(rep)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

        html = client.get(reverse("sales:order_detail", args=[draft_order.pk])).content.decode()

        assert "Draft" in html
        assert "草稿" not in html

    def test_language_selector_selects_english(self, rep, draft_order, chinese_default):
        client = Client()
        client.force_login(rep)
        order_url = reverse("sales:order_detail", args=[draft_order.pk])

        response = client.post(reverse("set_language"), {"language": "en", "next": order_url})
        html = client.get(order_url).content.decode()

        assert response.status_code == 302
        assert "Draft" in html
        assert "草稿" not in html


class TestApiErrorLanguage:
    def test_wrong_state_detail_chinese(self, api, supervisor, draft_order):
        response = api(supervisor).post(
            f"/api/v1/orders/{draft_order.pk}/approve/", {}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
        )

        assert response.status_code == 409
        assert response.json()["detail"] == f"订单 {draft_order.number} 当前状态为“草稿”，现在不能审核通过。"
        assert SalesOrder.objects.get(pk=draft_order.pk).status == OrderStatus.DRAFT

    def test_role_detail_chinese(self, api, logistics, draft_order):
        response = api(logistics).post(f"/api/v1/orders/{draft_order.pk}/submit/", HTTP_ACCEPT_LANGUAGE="zh-hans")

        assert response.status_code == 403
        assert response.json()["detail"] == "您的角色无权对订单进行“提交”操作。"
        assert SalesOrder.objects.get(pk=draft_order.pk).status == OrderStatus.DRAFT

    def test_detail_accept_language_en(self, api, supervisor, draft_order):
        response = api(supervisor).post(
            f"/api/v1/orders/{draft_order.pk}/approve/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en"
        )

        assert response.status_code == 409
        assert response.json()["detail"] == f"Order {draft_order.number} is Draft and cannot be approved now."
        assert SalesOrder.objects.get(pk=draft_order.pk).status == OrderStatus.DRAFT
