"""Wording of customer development in Chinese: one word per meaning, translated list names, pipeline order."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from dentalsales.accounts.models import User
from dentalsales.crm import services
from dentalsales.crm.forms import StageForm
from dentalsales.crm.models import ExportList, ExportLog, GiftStatus, ImportJob
from dentalsales.crm.services.prospects import STAGE_TRANSITIONS

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_stage_choices_follow_the_pipeline():
    form = StageForm(stages=STAGE_TRANSITIONS["contacted"])

    assert [value for value, _label in form.fields["stage"].choices] == ["qualified", "negotiating", "lost"]


def test_conversion_table_uses_the_stage_names(rep, chinese_default):
    services.create_prospect(actor=rep, source="web", name="某口腔", customer_type="clinic")

    page = client_for(rep).get(reverse("crm:conversion_report")).content.decode()

    assert "已流失" in page
    assert "已丢单" not in page
    assert "跟进中" in page
    assert "未结" not in page


def test_gift_status_and_button_say_approved(chinese_default):
    with translation.override("zh-hans"):
        assert str(GiftStatus.APPROVED.label) == "已批准"


def test_recent_imports_link_reads_open_as_a_verb(rep, chinese_default):
    ImportJob.objects.create(kind="customers", file_name="客户.xlsx", created_by=rep)

    page = client_for(rep).get(reverse("customers:import_start")).content.decode()

    assert "打开" in page
    assert "未结" not in page


def test_amendment_labels_use_chinese_colons(rep, customer, chinese_default):
    activity = services.create_activity(actor=rep, customer=customer, kind="visit", occurred_on="2026-01-05", subject="拜访", submit=True)
    services.amend_activity(actor=rep, activity=activity, reason="记错了", outcome="同意试用")

    page = client_for(rep).get(reverse("crm:activity_detail", args=[activity.pk])).content.decode()

    assert "原因：记错了" in page
    assert "更正后的结果：" in page
    assert ": 记错了" not in page


def test_export_log_shows_translated_list_names(client, rep, chinese_default):
    services.log_export(rep, ExportList.CUSTOMER_CONTACTS, {}, 3)
    admin = User.objects.create_superuser("root", password="pw-Admin-1")
    client.force_login(admin)

    page = client.get("/admin/crm/exportlog/").content.decode()

    assert ExportLog.objects.get().list_name == "customer contacts"
    assert "客户联系人" in page
    assert "customer contacts" not in page


def test_address_form_labels(rep, customer, chinese_default):
    page = client_for(rep).get(reverse("customers:address_create", args=[customer.pk])).content.decode()

    for label in ("省份", "城市", "区县", "收货人", "收货人电话"):
        assert label in page
    assert "接收人" not in page
