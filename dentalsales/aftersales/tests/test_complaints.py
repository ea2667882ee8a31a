"""Complaints: entry and validation, service-level due dates, status changes, adverse events and escalation."""

import datetime

import pytest
from django.core.management import call_command

from dentalsales.accounts.roles import Role
from dentalsales.aftersales.models import AdverseEventReview, Complaint, ComplaintAction, ComplaintStatus
from dentalsales.aftersales.selectors import adverse_event_queue, complaint_list, lot_other_customers, visible_complaints
from dentalsales.aftersales.services import (
    assess_adverse_event,
    change_complaint_status,
    create_complaint,
    escalate_overdue_complaints,
    flag_adverse_event,
    record_complaint_action,
    update_complaint,
)
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.notifications.models import Notification
from dentalsales.testing import factories as f

from .factories import ship

pytestmark = pytest.mark.django_db


def new_complaint(actor, customer, **fields):
    values = {"channel": "complaint", "category": "quality", "description": "树脂固化后发黄", **fields}
    return create_complaint(actor=actor, customer=customer, **values)


@pytest.mark.parametrize("severity, days", [("critical", 1), ("high", 2), ("medium", 5), ("low", 10)])
def test_due_date_follows_service_level(rep, customer, severity, days):
    complaint = new_complaint(rep, customer, severity=severity)

    assert complaint.due_date == local_today() + datetime.timedelta(days=days)


def test_service_level_comes_from_settings(rep, customer, settings):
    settings.COMPLAINT_SERVICE_LEVEL_DAYS = {"critical": 0, "high": 3, "medium": 7, "low": 14}

    complaint = new_complaint(rep, customer, severity="high")

    assert complaint.due_date == local_today() + datetime.timedelta(days=3)


def test_complaint_defaults_and_log(rep, customer, product):
    complaint = new_complaint(rep, customer, product=product.pk, contact_name="王医生")

    assert complaint.number.startswith("CP-")
    assert complaint.owner == rep
    assert complaint.status == ComplaintStatus.OPEN
    assert complaint.product == product
    assert complaint.adverse_event_review == AdverseEventReview.NOT_FLAGGED
    assert list(complaint.actions.values_list("to_status", flat=True)) == [ComplaintStatus.OPEN]


@pytest.mark.parametrize(
    "fields, field, fragment",
    [
        ({"customer": None}, "customer", "customer"),
        ({"customer": 999999}, "customer", "999999"),
        ({"channel": "fax"}, "channel", "fax"),
        ({"category": "mood"}, "category", "mood"),
        ({"severity": "extreme"}, "severity", "extreme"),
        ({"description": "  "}, "description", "description"),
        ({"product": 999999}, "product", "999999"),
        ({"lot_number": "L-NONE"}, "product", "L-NONE"),
    ],
)
def test_bad_complaint_refused_naming_value(rep, customer, fields, field, fragment):
    values = {"customer": customer, "channel": "complaint", "category": "quality", "description": "漏液", **fields}

    with pytest.raises(InvalidInput) as error:
        create_complaint(actor=rep, **values)

    assert error.value.field == field
    assert fragment in str(error.value)
    assert Complaint.objects.count() == 0


def test_lot_of_another_product_refused(rep, customer, product, warehouse, logistics):
    other = f.ProductFactory()
    receipt = f.receive(other, warehouse, quantity=5, actor=logistics)

    with pytest.raises(InvalidInput) as error:
        new_complaint(rep, customer, product=product.pk, lot=receipt.lot.pk)

    assert error.value.field == "lot"
    assert receipt.lot.lot_number in str(error.value)


def test_lot_number_fills_lot(rep, customer, product, warehouse, logistics):
    receipt = f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="LOT-A1")

    complaint = new_complaint(rep, customer, product=product.pk, lot_number="LOT-A1")

    assert complaint.lot == receipt.lot


def test_other_reps_customer_refused(rep2, customer):
    with pytest.raises(InvalidInput) as error:
        new_complaint(rep2, customer)
    assert error.value.field == "customer"


def test_logistics_cannot_record_complaint(logistics, customer):
    with pytest.raises(NotPermitted):
        new_complaint(logistics, customer)


def test_complaint_lifecycle(rep, customer):
    complaint = new_complaint(rep, customer, category="delivery")

    change_complaint_status(actor=rep, complaint=complaint, action="start")
    change_complaint_status(actor=rep, complaint=complaint, action="wait", note="等客户确认到货")
    change_complaint_status(actor=rep, complaint=complaint, action="start")
    with pytest.raises(InvalidInput) as error:
        change_complaint_status(actor=rep, complaint=complaint, action="resolve")
    assert error.value.field == "resolution"
    change_complaint_status(actor=rep, complaint=complaint, action="resolve", resolution="补发两盒")
    change_complaint_status(actor=rep, complaint=complaint, action="close", satisfaction_score="4")

    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.CLOSED
    assert complaint.satisfaction_score == 4
    assert complaint.resolved_at is not None
    assert complaint.closed_at is not None
    assert list(complaint.actions.exclude(to_status="").values_list("to_status", flat=True)) == [
        "open", "in_progress", "waiting_for_customer", "in_progress", "resolved", "closed",
    ]


def test_quality_complaint_needs_root_cause(rep, customer):
    complaint = new_complaint(rep, customer, category="quality")

    with pytest.raises(InvalidInput) as error:
        change_complaint_status(actor=rep, complaint=complaint, action="resolve", resolution="换货")

    assert error.value.field == "root_cause"
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.OPEN


@pytest.mark.parametrize("score", [0, 6, "5.5", "abc", -1])
def test_score_outside_one_to_five_refused(rep, customer, score):
    complaint = new_complaint(rep, customer, category="service")
    change_complaint_status(actor=rep, complaint=complaint, action="resolve", resolution="已道歉")

    with pytest.raises(InvalidInput) as error:
        change_complaint_status(actor=rep, complaint=complaint, action="close", satisfaction_score=score)

    assert f"“{score}”" in str(error.value)
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.RESOLVED
    assert complaint.satisfaction_score is None


def test_transition_from_wrong_state_refused(rep, customer):
    complaint = new_complaint(rep, customer)
    with pytest.raises(InvalidTransition):
        change_complaint_status(actor=rep, complaint=complaint, action="close")
    with pytest.raises(InvalidTransition):
        change_complaint_status(actor=rep, complaint=complaint, action="reopen", note="x")


def test_reopen_needs_note(rep, customer):
    complaint = new_complaint(rep, customer, category="price")
    change_complaint_status(actor=rep, complaint=complaint, action="resolve", resolution="已调价")
    with pytest.raises(InvalidInput):
        change_complaint_status(actor=rep, complaint=complaint, action="reopen")
    change_complaint_status(actor=rep, complaint=complaint, action="reopen", note="客户仍不满意")
    complaint.refresh_from_db()
    assert complaint.status == ComplaintStatus.IN_PROGRESS
    assert complaint.resolved_at is None


def test_update_moves_due_date_and_notifies_new_owner(rep, supervisor, customer):
    complaint = new_complaint(rep, customer, severity="low")

    update_complaint(actor=rep, complaint=complaint, severity="critical", owner=supervisor.pk)

    complaint.refresh_from_db()
    assert complaint.due_date == complaint.received_on + datetime.timedelta(days=1)
    assert complaint.owner == supervisor
    assert Notification.objects.filter(recipient=supervisor, category="complaint").count() == 1


def test_action_log_only_while_open(rep, customer):
    complaint = new_complaint(rep, customer, category="usage_question")
    record_complaint_action(actor=rep, complaint=complaint, note="电话指导使用方法")
    change_complaint_status(actor=rep, complaint=complaint, action="resolve", resolution="已解答")

    with pytest.raises(InvalidTransition):
        record_complaint_action(actor=rep, complaint=complaint, note="再次回访")
    assert ComplaintAction.objects.filter(complaint=complaint, note="电话指导使用方法").count() == 1


def test_adverse_event_queue_lists_lot_customers(rep, rep2, supervisor, manager, logistics, quality, customer, stocked_product):
    shipment = ship(rep=rep, supervisor=supervisor, logistics=logistics, customer=customer, lines=[(stocked_product, 5)])
    lot = shipment.lines.get().lot
    other = f.CustomerFactory(owner=rep2)
    other_shipment = ship(rep=rep2, supervisor=manager, logistics=logistics, customer=other, lines=[(stocked_product, 3)])

    complaint = new_complaint(rep, customer, product=stocked_product.pk, lot=lot.pk, suspected_adverse_event=True, severity="critical")

    assert list(adverse_event_queue(quality)) == [complaint]
    assert list(adverse_event_queue(rep)) == []
    assert Notification.objects.filter(recipient=quality, category="adverse_event").count() == 1
    others = lot_other_customers(complaint)
    assert [(line.shipment.customer_id, line.shipment_id, line.quantity) for line in others] == [(other.pk, other_shipment.pk, 3)]


def test_flag_and_assess_adverse_event(rep, quality, customer):
    complaint = new_complaint(rep, customer)
    flag_adverse_event(actor=rep, complaint=complaint)
    with pytest.raises(InvalidTransition):
        flag_adverse_event(actor=rep, complaint=complaint)
    with pytest.raises(NotPermitted):
        assess_adverse_event(actor=rep, complaint=complaint, outcome="reported", note="x")
    with pytest.raises(InvalidInput):
        assess_adverse_event(actor=quality, complaint=complaint, outcome="maybe", note="x")
    with pytest.raises(InvalidInput):
        assess_adverse_event(actor=quality, complaint=complaint, outcome="reported", note="")

    assess_adverse_event(actor=quality, complaint=complaint, outcome="reported", note="已上报国家不良事件监测系统")

    complaint.refresh_from_db()
    assert complaint.adverse_event_review == AdverseEventReview.REPORTED
    assert complaint.adverse_event_reviewed_by == quality
    assert list(adverse_event_queue(quality)) == []


def test_overdue_complaint_escalates_once_to_supervisor(rep, supervisor, customer):
    complaint = new_complaint(rep, customer, severity="high", received_on=local_today() - datetime.timedelta(days=5))
    on_time = new_complaint(rep, customer, severity="low")

    call_command("escalate_complaints")
    escalate_overdue_complaints()

    complaint.refresh_from_db()
    on_time.refresh_from_db()
    assert complaint.is_overdue
    assert complaint.escalated_to == supervisor
    assert complaint.escalated_at is not None
    assert on_time.escalated_at is None
    assert Notification.objects.filter(recipient=supervisor, category="escalation").count() == 1
    assert list(complaint_list(supervisor, escalated=True)) == [complaint]
    assert list(complaint_list(supervisor, overdue=True)) == [complaint]


def test_escalation_without_supervisor_goes_to_managers(manager, customer):
    lone = f.UserFactory(username="lone", roles=[Role.REPRESENTATIVE])
    customer.owner = lone
    customer.save()
    complaint = new_complaint(lone, customer, severity="critical", received_on=local_today() - datetime.timedelta(days=3))

    escalate_overdue_complaints()

    complaint.refresh_from_db()
    assert complaint.escalated_to == manager
    assert Notification.objects.filter(recipient=manager, category="escalation").count() == 1


def test_resolved_complaint_not_escalated(rep, customer):
    complaint = new_complaint(rep, customer, category="price", received_on=local_today() - datetime.timedelta(days=30))
    change_complaint_status(actor=rep, complaint=complaint, action="resolve", resolution="已处理")

    assert escalate_overdue_complaints() == []


def test_visibility_per_role(rep, rep2, supervisor, manager, logistics, quality, finance, customer):
    quality_complaint = new_complaint(rep, customer, category="quality")
    delivery = new_complaint(rep, customer, category="delivery")
    other_customer = f.CustomerFactory(owner=rep2)
    others = new_complaint(rep2, other_customer, category="service")

    def seen(user):
        return set(visible_complaints(user).values_list("pk", flat=True))

    assert seen(rep) == {quality_complaint.pk, delivery.pk}
    assert seen(rep2) == {others.pk}
    assert seen(supervisor) == {quality_complaint.pk, delivery.pk}
    assert seen(manager) == {quality_complaint.pk, delivery.pk, others.pk}
    assert seen(quality) == {quality_complaint.pk, delivery.pk, others.pk}
    assert seen(logistics) == {delivery.pk}
    assert seen(finance) == set()
