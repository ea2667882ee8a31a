"""Satisfaction call-backs: scheduling from shipments, reminders, recording the score, and the satisfaction report."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone

from dentalsales.aftersales.models import CallbackStatus, SatisfactionCallback
from dentalsales.aftersales.selectors import satisfaction_report, visible_callbacks
from dentalsales.aftersales.services import record_callback, remind_due_callbacks, schedule_satisfaction_callbacks
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import Shipment
from dentalsales.notifications.models import Notification
from dentalsales.testing import factories as f

from .factories import ship

pytestmark = pytest.mark.django_db


def test_schedule_creates_one_callback_per_shipment(rep, shipment, settings):
    settings.SATISFACTION_CALLBACK_DELAY_DAYS = 3

    assert schedule_satisfaction_callbacks() == 1
    assert schedule_satisfaction_callbacks() == 0

    callback = SatisfactionCallback.objects.get()
    assert callback.shipment == shipment
    assert callback.owner == rep
    assert callback.customer == shipment.customer
    assert callback.due_date == shipment.shipped_on + datetime.timedelta(days=3)
    assert callback.status == CallbackStatus.SCHEDULED


def test_schedule_skips_shipments_before_lookback(shipment, settings):
    settings.SATISFACTION_CALLBACK_LOOKBACK_DAYS = 30
    Shipment.objects.filter(pk=shipment.pk).update(shipped_on=local_today() - datetime.timedelta(days=31))

    assert schedule_satisfaction_callbacks() == 0


def test_due_callbacks_remind_representative_once(rep, shipment, settings):
    settings.SATISFACTION_CALLBACK_DELAY_DAYS = 0
    call_command("schedule_callbacks")

    assert remind_due_callbacks() == 0
    assert Notification.objects.filter(recipient=rep, category="callback").count() == 1
    assert SatisfactionCallback.objects.get().reminded_at is not None


def test_callback_not_due_yet_is_not_reminded(rep, shipment, settings):
    settings.SATISFACTION_CALLBACK_DELAY_DAYS = 7
    schedule_satisfaction_callbacks()

    assert remind_due_callbacks() == 0
    assert not Notification.objects.filter(recipient=rep, category="callback").exists()


@pytest.fixture
def callback(shipment):
    schedule_satisfaction_callbacks()
    return SatisfactionCallback.objects.get()


def test_record_score(rep, callback):
    record_callback(actor=rep, callback=callback, score="5", comment="送货及时")

    callback.refresh_from_db()
    assert (callback.status, callback.score, callback.comment, callback.completed_by) == (CallbackStatus.DONE, 5, "送货及时", rep)
    with pytest.raises(InvalidTransition):
        record_callback(actor=rep, callback=callback, score=4)


@pytest.mark.parametrize("score", [0, 6, "4.5", "good", -3])
def test_score_outside_one_to_five_refused(rep, callback, score):
    with pytest.raises(InvalidInput) as error:
        record_callback(actor=rep, callback=callback, score=score)

    assert f"“{score}”" in str(error.value)
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.SCHEDULED
    assert callback.score is None


def test_missing_score_refused(rep, callback):
    with pytest.raises(InvalidInput) as error:
        record_callback(actor=rep, callback=callback, score=None)
    assert error.value.field == "score"


def test_unreachable_customer_records_no_score(rep, callback):
    with pytest.raises(InvalidInput):
        record_callback(actor=rep, callback=callback, reached=False, score=3)
    record_callback(actor=rep, callback=callback, reached=False, comment="电话无人接听")
    callback.refresh_from_db()
    assert callback.status == CallbackStatus.SCHEDULED
    assert callback.score is None
    assert callback.unreachable_attempts == 1


def test_other_rep_and_logistics_cannot_record(rep2, logistics, callback):
    with pytest.raises(InvalidInput) as error:
        record_callback(actor=rep2, callback=callback, score=5)
    assert error.value.code == "not_found"
    with pytest.raises(NotPermitted):
        record_callback(actor=logistics, callback=callback, score=5)


def test_callback_visibility(rep, rep2, supervisor, manager, logistics, callback):
    assert list(visible_callbacks(rep)) == [callback]
    assert list(visible_callbacks(supervisor)) == [callback]
    assert list(visible_callbacks(manager)) == [callback]
    assert list(visible_callbacks(rep2)) == []
    assert list(visible_callbacks(logistics)) == []


def test_satisfaction_report_per_dimension(rep, rep2, supervisor, manager, logistics, customer, stocked_product):
    second_product = f.ProductFactory()
    f.receive(second_product, f.WarehouseFactory(), quantity=50, actor=logistics)
    other_customer = f.CustomerFactory(owner=rep2)
    ship(rep=rep, supervisor=supervisor, logistics=logistics, customer=customer, lines=[(stocked_product, 2), (second_product, 1)])
    ship(rep=rep, supervisor=supervisor, logistics=logistics, customer=customer, lines=[(stocked_product, 1)])
    ship(rep=rep2, supervisor=manager, logistics=logistics, customer=other_customer, lines=[(stocked_product, 1)])
    schedule_satisfaction_callbacks()
    first, second, third = SatisfactionCallback.objects.order_by("pk")
    record_callback(actor=rep, callback=first, score=5)
    record_callback(actor=rep, callback=second, score=2)
    record_callback(actor=rep2, callback=third, score=4)

    by_customer = {row["key"]: (row["count"], float(row["average"])) for row in satisfaction_report(manager, dimension="customer")}
    assert by_customer == {customer.pk: (2, 3.5), other_customer.pk: (1, 4.0)}
    by_rep = {row["label"]: (row["count"], float(row["average"])) for row in satisfaction_report(manager, dimension="representative")}
    assert by_rep == {str(rep): (2, 3.5), str(rep2): (1, 4.0)}
    by_product = {row["key"]: (row["count"], float(row["average"])) for row in satisfaction_report(manager, dimension="product")}
    assert by_product == {stocked_product.pk: (3, 11 / 3), second_product.pk: (1, 5.0)}
    by_month = satisfaction_report(manager, dimension="month")
    assert [(row["label"], row["count"]) for row in by_month] == [(f"{timezone.localtime():%Y-%m}", 3)]
    assert {row["key"] for row in satisfaction_report(rep, dimension="customer")} == {customer.pk}
