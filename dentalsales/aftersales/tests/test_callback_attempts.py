"""Unanswered satisfaction call-backs: counted, rescheduled, and closed as unreachable only after enough calls."""

import datetime

import pytest
from django.urls import reverse

from dentalsales.aftersales.models import CallbackStatus, SatisfactionCallback
from dentalsales.aftersales.services import record_callback, schedule_satisfaction_callbacks
from dentalsales.core.errors import InvalidInput, InvalidTransition
from dentalsales.core.timeutils import local_today

pytestmark = pytest.mark.django_db


@pytest.fixture
def callback(shipment):
    schedule_satisfaction_callbacks()
    return SatisfactionCallback.objects.get()


def test_unanswered_call_reschedules(rep, callback, settings):
    settings.SATISFACTION_CALLBACK_RETRY_DAYS = 7
    callback.reminded_at = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    callback.save()

    record_callback(actor=rep, callback=callback, reached=False, comment="电话无人接听")

    callback.refresh_from_db()
    assert callback.status == CallbackStatus.SCHEDULED
    assert callback.unreachable_attempts == 1
    assert callback.last_attempt_note == "电话无人接听"
    assert callback.due_date == local_today() + datetime.timedelta(days=7)
    assert callback.reminded_at is None
    assert callback.completed_at is None


def test_reached_call_after_unanswered_completes(rep, callback):
    record_callback(actor=rep, callback=callback, reached=False)
    record_callback(actor=rep, callback=callback, reached=False)

    record_callback(actor=rep, callback=callback, score=4, comment="满意")

    callback.refresh_from_db()
    assert (callback.status, callback.score, callback.unreachable_attempts) == (CallbackStatus.DONE, 4, 2)
    with pytest.raises(InvalidTransition):
        record_callback(actor=rep, callback=callback, reached=False)


def test_retry_date_chosen_and_checked(rep, callback):
    next_week = local_today() + datetime.timedelta(days=3)
    record_callback(actor=rep, callback=callback, reached=False, retry_on=next_week.isoformat())
    callback.refresh_from_db()
    assert callback.due_date == next_week

    for bad in (local_today().isoformat(), "2026-13-01", "tomorrow"):
        with pytest.raises(InvalidInput) as error:
            record_callback(actor=rep, callback=callback, reached=False, retry_on=bad)
        assert error.value.field == "retry_on"
        assert bad in str(error.value)
    callback.refresh_from_db()
    assert callback.unreachable_attempts == 1


def test_close_unreachable_needs_max_attempts(rep, callback, settings):
    settings.SATISFACTION_CALLBACK_MAX_ATTEMPTS = 3
    record_callback(actor=rep, callback=callback, reached=False)

    with pytest.raises(InvalidTransition) as error:
        record_callback(actor=rep, callback=callback, reached=False, close_unreachable=True)
    assert "after 3 unanswered calls; this is call 2" in str(error.value)
    callback.refresh_from_db()
    assert (callback.status, callback.unreachable_attempts) == (CallbackStatus.SCHEDULED, 1)

    record_callback(actor=rep, callback=callback, reached=False)
    record_callback(actor=rep, callback=callback, reached=False, close_unreachable=True, comment="三次未接通")

    callback.refresh_from_db()
    assert (callback.status, callback.unreachable_attempts) == (CallbackStatus.UNREACHABLE, 3)
    assert callback.completed_by == rep
    assert callback.comment == "三次未接通"


def test_web_records_unanswered_then_score(client, rep, callback):
    client.force_login(rep)
    url = reverse("aftersales:callback_record", args=[callback.pk])
    prefix = f"cb{callback.pk}"

    first = client.post(url, {f"{prefix}-reached": "0", f"{prefix}-comment": "无人接听"}, follow=True)
    assert "Unanswered call 1" in first.content.decode()
    listing = client.get(reverse("aftersales:callback_list")).content.decode()
    assert 'data-testid="attempts"' in listing
    assert 'value="close"' not in listing

    client.post(url, {f"{prefix}-reached": "1", f"{prefix}-score": "5", f"{prefix}-comment": "很满意"})

    callback.refresh_from_db()
    assert (callback.status, callback.score) == (CallbackStatus.DONE, 5)


def test_web_offers_close_from_last_attempt(client, rep, callback, settings):
    settings.SATISFACTION_CALLBACK_MAX_ATTEMPTS = 2
    record_callback(actor=rep, callback=callback, reached=False)
    client.force_login(rep)

    listing = client.get(reverse("aftersales:callback_list")).content.decode()
    assert 'value="close"' in listing
    client.post(reverse("aftersales:callback_record", args=[callback.pk]), {f"cb{callback.pk}-reached": "close"})

    callback.refresh_from_db()
    assert callback.status == CallbackStatus.UNREACHABLE


def test_web_other_rep_gets_404(client, rep2, callback):
    client.force_login(rep2)

    response = client.post(reverse("aftersales:callback_record", args=[callback.pk]), {f"cb{callback.pk}-reached": "0"})

    assert response.status_code == 404
    callback.refresh_from_db()
    assert callback.unreachable_attempts == 0


def test_api_unanswered_then_closed(api, rep, rep2, logistics, callback, settings):
    settings.SATISFACTION_CALLBACK_MAX_ATTEMPTS = 2
    url = f"/api/v1/satisfaction-callbacks/{callback.pk}/record/"
    retry = (local_today() + datetime.timedelta(days=2)).isoformat()

    assert api(rep2).post(url, {"reached": False}, format="json").status_code == 404
    assert api(logistics).post(url, {"reached": False}, format="json").status_code in (403, 404)
    first = api(rep).post(url, {"reached": False, "retry_on": retry}, format="json")
    assert first.status_code == 200
    assert (first.data["status"], first.data["unreachable_attempts"], first.data["due_date"]) == ("scheduled", 1, retry)

    closed = api(rep).post(url, {"reached": False, "close_unreachable": True}, format="json")
    assert closed.status_code == 200
    assert (closed.data["status"], closed.data["unreachable_attempts"]) == ("unreachable", 2)
    again = api(rep).post(url, {"score": 5}, format="json")
    assert again.status_code == 409


def test_api_close_too_early_answers_409(api, rep, callback):
    url = f"/api/v1/satisfaction-callbacks/{callback.pk}/record/"

    response = api(rep).post(url, {"reached": False, "close_unreachable": True}, format="json")

    assert response.status_code == 409
    callback.refresh_from_db()
    assert callback.unreachable_attempts == 0
