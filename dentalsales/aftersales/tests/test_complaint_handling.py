"""Complaint handling: refused actions keep the typed text, the log of system and severity events, reopening, entry checks, API filters and the export."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from dentalsales.aftersales.models import Complaint, ComplaintAction, ComplaintEvent, ComplaintStatus
from dentalsales.aftersales.services import (
    change_complaint_status,
    create_complaint,
    escalate_overdue_complaints,
    update_complaint,
)
from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Contact

pytestmark = pytest.mark.django_db

COMPLAINTS = "/api/v1/complaints/"


def quality_complaint(actor, customer, **extra):
    values = {"channel": "complaint", "category": "quality", "severity": "low", "description": "树脂固化后表面发黏", **extra}
    return create_complaint(actor=actor, customer=customer, **values)


def closed_complaint(actor, customer, score=2):
    complaint = create_complaint(actor=actor, customer=customer, channel="visit", category="service", description="发票抬头错误")
    change_complaint_status(actor=actor, complaint=complaint, action="resolve", resolution="已重开发票")
    return change_complaint_status(actor=actor, complaint=complaint, action="close", satisfaction_score=score)


# Refused resolve, close and reopen on the web keep what was typed.


@pytest.mark.parametrize("role", ["rep", "quality"])
def test_refused_resolve_keeps_typed_text(client, request, rep, customer, role):
    user = request.getfixturevalue(role)
    complaint = quality_complaint(rep, customer)
    client.force_login(user)

    response = client.post(
        reverse("aftersales:complaint_action", args=[complaint.pk, "resolve"]),
        {"resolve-resolution": "已补发新批次两支", "resolve-root_cause": "", "resolve-note": "电话确认"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="collapse mb-3 show" id="resolve-form"' in html
    assert "已补发新批次两支" in html
    assert "电话确认" in html
    form = response.context["resolve_form"]
    assert form.errors["root_cause"] == ["A quality complaint needs its root cause before it is resolved."]
    assert 'data-error-for="root_cause"' in html
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.OPEN
    assert complaint.resolution == ""


def test_refused_close_keeps_score_and_note(client, rep, customer):
    complaint = create_complaint(actor=rep, customer=customer, channel="visit", category="service", description="发票抬头错误")
    change_complaint_status(actor=rep, complaint=complaint, action="resolve", resolution="已重开发票")
    client.force_login(rep)

    response = client.post(
        reverse("aftersales:complaint_action", args=[complaint.pk, "close"]),
        {"close-satisfaction_score": "9", "close-note": "客户回电确认"},
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="collapse mb-3 show" id="close-form"' in html
    assert 'value="9"' in html
    assert "客户回电确认" in html
    assert "“9”" in response.context["close_form"].errors["satisfaction_score"][0]
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED


def test_refused_reopen_shows_error_at_field(client, rep, customer):
    complaint = closed_complaint(rep, customer)
    client.force_login(rep)

    response = client.post(reverse("aftersales:complaint_action", args=[complaint.pk, "reopen"]), {"reopen-note": "  "})

    assert response.status_code == 200
    assert 'class="collapse mb-3 show" id="reopen-form"' in response.content.decode()
    assert response.context["reopen_form"].errors["note"] == ["Say why the complaint is reopened."]
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.CLOSED


def test_wrong_state_action_still_redirects_with_message(client, rep, customer):
    complaint = closed_complaint(rep, customer)
    client.force_login(rep)

    response = client.post(
        reverse("aftersales:complaint_action", args=[complaint.pk, "resolve"]), {"resolve-resolution": "再次处理"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("aftersales:complaint_detail", args=[complaint.pk])
    assert "cannot be resolved now" in response.content.decode()


# Escalation by the scheduler.


def overdue_complaint(rep, customer):
    complaint = create_complaint(
        actor=rep, customer=customer, channel="complaint", category="service", severity="critical",
        description="三次开错发票", received_on=local_today() - datetime.timedelta(days=3),
    )
    assert complaint.is_overdue
    return complaint


def test_escalation_logged_as_system(rep, customer):
    complaint = overdue_complaint(rep, customer)

    escalate_overdue_complaints()

    entry = ComplaintAction.objects.get(complaint=complaint, kind=ComplaintEvent.ESCALATED)
    assert entry.actor is None
    assert entry.note == ""
    assert entry.params == {"due_date": complaint.due_date.isoformat(), "status": "open"}
    assert entry.actor_name == "System"


def test_escalation_text_in_readers_language(client, rep, customer, chinese_default):
    complaint = overdue_complaint(rep, customer)
    with translation.override("zh-hans"):
        escalate_overdue_complaints()
    client.force_login(rep)
    url = reverse("aftersales:complaint_detail", args=[complaint.pk])
    due = complaint.due_date.isoformat()

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert f"Escalated: due on {due} and still Open." in english
    assert "System" in english
    assert f"已升级：处理期限为 {due}，目前仍为“待处理”。" in chinese
    assert "系统" in chinese


def test_escalation_actor_in_api_is_system(api, rep, customer):
    complaint = overdue_complaint(rep, customer)
    escalate_overdue_complaints()

    data = api(rep).get(f"{COMPLAINTS}{complaint.pk}/", HTTP_ACCEPT_LANGUAGE="en").data

    entry = data["actions"][-1]
    assert (entry["kind"], entry["actor"], entry["actor_name"]) == ("escalated", None, "System")
    assert entry["event_text"] == f"Escalated: due on {complaint.due_date.isoformat()} and still Open."


@pytest.mark.parametrize("count, expected", [(1, "1 complaint escalated."), (2, "2 complaints escalated.")])
def test_escalate_command_output_plural(rep, customer, count, expected):
    for _index in range(count):
        overdue_complaint(rep, customer)
    output = io.StringIO()

    call_command("escalate_complaints", stdout=output)

    assert output.getvalue().strip() == expected


# Reopening and severity changes.


def test_reopen_moves_resolution_and_score_to_log(rep, customer):
    complaint = closed_complaint(rep, customer, score=2)

    change_complaint_status(actor=rep, complaint=complaint, action="reopen", note="客户再次投诉")

    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.IN_PROGRESS
    assert complaint.resolution == ""
    assert complaint.satisfaction_score is None
    entry = complaint.actions.order_by("pk").last()
    assert entry.kind == ComplaintEvent.REOPENED
    assert entry.note == "客户再次投诉"
    assert entry.params == {"resolution": "已重开发票", "satisfaction_score": 2}
    assert entry.event_text == "Previous resolution: 已重开发票\nPrevious customer satisfaction: 2 / 5"


def test_reopened_complaint_api_and_page_show_no_old_score(api, client, rep, customer):
    complaint = closed_complaint(rep, customer, score=2)
    response = api(rep).post(f"{COMPLAINTS}{complaint.pk}/reopen/", {"note": "客户再次投诉"}, format="json")

    assert response.status_code == 200
    assert (response.data["resolution"], response.data["satisfaction_score"]) == ("", None)
    client.force_login(rep)
    page = client.get(reverse("aftersales:complaint_detail", args=[complaint.pk]))
    assert 'data-testid="score"' not in page.content.decode()
    assert "Previous customer satisfaction: 2 / 5" in page.content.decode()


def test_severity_change_logged_with_dates(rep, customer):
    complaint = quality_complaint(rep, customer)
    old_due = complaint.due_date

    update_complaint(actor=rep, complaint=complaint, severity="critical")

    complaint.refresh_from_db()
    entry = ComplaintAction.objects.get(complaint=complaint, kind=ComplaintEvent.SEVERITY_CHANGED)
    assert entry.actor == rep
    assert entry.params == {
        "old_severity": "low", "new_severity": "critical",
        "old_due_date": old_due.isoformat(), "new_due_date": complaint.due_date.isoformat(),
    }
    assert entry.event_text == (
        f"Severity changed from Low to Critical; the due date moved from {old_due.isoformat()} to {complaint.due_date.isoformat()}."
    )


def test_unchanged_severity_not_logged(rep, customer):
    complaint = quality_complaint(rep, customer)

    update_complaint(actor=rep, complaint=complaint, severity="low", description="表面发黏，已留样")

    assert not ComplaintAction.objects.filter(complaint=complaint, kind=ComplaintEvent.SEVERITY_CHANGED).exists()


def test_severity_change_through_api_logged(api, rep, customer):
    complaint = quality_complaint(rep, customer)

    response = api(rep).patch(f"{COMPLAINTS}{complaint.pk}/", {"severity": "high"}, format="json")

    assert response.status_code == 200
    assert [entry["kind"] for entry in response.data["actions"]] == ["", "severity_changed"]
    assert response.data["actions"][-1]["actor"] == rep.pk


# Complaint entry.


def test_flag_logged_as_event_without_stored_text(rep, customer):
    from dentalsales.aftersales.services import flag_adverse_event

    complaint = quality_complaint(rep, customer)
    flag_adverse_event(actor=rep, complaint=complaint)

    entry = complaint.actions.order_by("pk").last()
    assert (entry.kind, entry.note) == (ComplaintEvent.FLAGGED, "")
    with translation.override("zh-hans"):
        assert entry.event_text == "已标记为疑似不良事件。"


def test_all_entry_errors_reported_at_once(rep, customer):
    with pytest.raises(InvalidInput) as error:
        create_complaint(actor=rep, customer=None, channel="complaint", category="quality", description=" ", contact_phone="not a phone!!")

    assert set(error.value.field_errors) == {"customer", "description", "contact_phone"}
    assert "not a phone!!" in error.value.field_errors["contact_phone"][0]
    assert Complaint.objects.count() == 0


@pytest.mark.parametrize("days_ago, accepted", [(0, True), (90, True), (91, False), (-1, False)])
def test_receipt_date_bounds(rep, customer, days_ago, accepted):
    received_on = local_today() - datetime.timedelta(days=days_ago)

    if accepted:
        complaint = quality_complaint(rep, customer, received_on=received_on)
        assert complaint.received_on == received_on
        assert complaint.due_date == received_on + datetime.timedelta(days=10)
    else:
        with pytest.raises(InvalidInput) as error:
            quality_complaint(rep, customer, received_on=received_on)
        assert error.value.field == "received_on"
        assert received_on.isoformat() in str(error.value)


def test_phone_checked_on_edit(rep, customer):
    complaint = quality_complaint(rep, customer)

    with pytest.raises(InvalidInput) as error:
        update_complaint(actor=rep, complaint=complaint, contact_phone="call me")

    assert error.value.field == "contact_phone"
    update_complaint(actor=rep, complaint=complaint, contact_phone="(025) 8888-1234")
    complaint.refresh_from_db()
    assert complaint.contact_phone == "(025) 8888-1234"


def test_entry_form_reports_every_error_in_one_submit(client, rep):
    client.force_login(rep)

    response = client.post(
        reverse("aftersales:complaint_create"),
        {"channel": "complaint", "category": "quality", "severity": "medium", "contact_phone": "not a phone!!", "description": ""},
    )

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"customer", "description", "contact_phone"}
    assert Complaint.objects.count() == 0


def test_entry_form_marks_required_and_offers_receipt_date(client, rep):
    client.force_login(rep)

    response = client.get(reverse("aftersales:complaint_create"))

    html = response.content.decode()
    form = response.context["form"]
    assert form.fields["customer"].required and form.fields["description"].required
    assert html.count('<span class="text-danger">*</span>') >= 4  # customer, channel, category, severity, description
    assert f'value="{local_today().isoformat()}"' in html
    assert 'name="received_on"' in html


def test_entry_form_saves_receipt_date(client, rep, customer):
    client.force_login(rep)
    yesterday = local_today() - datetime.timedelta(days=1)

    response = client.post(
        reverse("aftersales:complaint_create"),
        {"customer": customer.pk, "channel": "complaint", "category": "service", "severity": "medium",
         "description": "昨天来电", "received_on": yesterday.isoformat()},
    )

    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert complaint.received_on == yesterday
    assert complaint.due_date == yesterday + datetime.timedelta(days=5)


def test_detail_shows_main_contact_when_none_entered(client, rep, quality, customer):
    Contact.objects.create(customer=customer, name="王主任", mobile="13912345678", is_primary=True)
    complaint = quality_complaint(rep, customer)

    client.force_login(rep)
    html = client.get(reverse("aftersales:complaint_detail", args=[complaint.pk])).content.decode()
    assert "王主任 13912345678" in html
    assert "customer&#x27;s main contact" in html or "customer's main contact" in html

    # The quality officer may not see the customer's contacts, only the contact on the customer record.
    client.force_login(quality)
    html = client.get(reverse("aftersales:complaint_detail", args=[complaint.pk])).content.decode()
    assert "王主任" not in html


def test_detail_prefers_entered_contact(client, rep, customer):
    Contact.objects.create(customer=customer, name="王主任", mobile="13912345678", is_primary=True)
    complaint = quality_complaint(rep, customer, contact_name="李护士", contact_phone="025-1234567")
    client.force_login(rep)

    html = client.get(reverse("aftersales:complaint_detail", args=[complaint.pk])).content.decode()

    assert "李护士 025-1234567" in html
    assert "王主任" not in html


def test_open_status_label_in_chinese():
    with translation.override("zh-hans"):
        assert str(ComplaintStatus.OPEN.label) == "待处理"


def test_adverse_event_badge_uses_fullwidth_colon(client, rep, customer):
    complaint = quality_complaint(rep, customer, suspected_adverse_event=True)
    client.force_login(rep)

    html = client.get(reverse("aftersales:complaint_detail", args=[complaint.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "疑似不良事件：待质量负责人评估" in html


# API filters.


def test_api_overdue_and_escalated_filters(api, rep, customer):
    overdue = overdue_complaint(rep, customer)
    current = quality_complaint(rep, customer)
    client = api(rep)

    assert {row["number"] for row in client.get(COMPLAINTS).data["results"]} == {overdue.number, current.number}
    assert [row["number"] for row in client.get(COMPLAINTS, {"overdue": "true"}).data["results"]] == [overdue.number]
    assert client.get(COMPLAINTS, {"escalated": "true"}).data["results"] == []
    escalate_overdue_complaints()
    assert [row["number"] for row in client.get(COMPLAINTS, {"escalated": "1"}).data["results"]] == [overdue.number]
    assert [row["number"] for row in client.get(COMPLAINTS, {"overdue": "false"}).data["results"]] != []


@pytest.mark.parametrize("params, named", [({"overdue": "maybe"}, "maybe"), ({"escalated": "2"}, "2"), ({"status": "pending"}, "pending")])
def test_api_invalid_filter_value_answers_400(api, rep, customer, params, named):
    quality_complaint(rep, customer)

    response = api(rep).get(COMPLAINTS, params)

    assert response.status_code == 400
    assert named in str(response.data)


def test_api_filter_respects_visibility(api, rep, rep2, customer):
    overdue_complaint(rep, customer)

    assert api(rep2).get(COMPLAINTS, {"overdue": "true"}).data["results"] == []


# Excel export.


def test_export_has_text_columns_and_yes_no(client, supervisor, rep, customer):
    flagged = quality_complaint(rep, customer, suspected_adverse_event=True)
    plain = closed_complaint(rep, customer)
    client.force_login(supervisor)

    response = client.get(reverse("aftersales:complaint_list") + "?export=xlsx")

    rows = list(load_workbook(io.BytesIO(response.content)).active.values)
    headers = list(rows[0])
    by_number = {row[0]: dict(zip(headers, row)) for row in rows[1:]}
    assert {"Description", "Resolution", "Root cause"} <= set(headers)
    assert by_number[flagged.number]["Suspected adverse event"] == "Yes"
    assert by_number[plain.number]["Suspected adverse event"] == "No"
    assert by_number[plain.number]["Resolution"] == "已重开发票"
    assert by_number[flagged.number]["Description"] == "树脂固化后表面发黏"
