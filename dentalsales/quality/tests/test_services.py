"""Recall services: creation, opening (lots blocked, customers listed), follow-up per customer and closing."""

import datetime

import pytest
from django.utils import timezone

from dentalsales.core.errors import InsufficientStock, InvalidInput, InvalidTransition, NotPermitted
from dentalsales.inventory.models import Lot, LotStatus
from dentalsales.inventory.services import receive_stock
from dentalsales.notifications.models import Notification
from dentalsales.quality import services
from dentalsales.quality.models import Recall, RecallCustomer, RecallLot, RecallStatus
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

from .factories import draft_recall

pytestmark = pytest.mark.django_db


def test_create_recall_draft_blocks_nothing(quality, product, shipped):
    lot_a, lot_b, _ = shipped["lots"]
    recall = draft_recall(quality, product, [lot_a.pk, lot_b])

    assert recall.status == RecallStatus.DRAFT
    assert recall.number.startswith("RC-")
    assert set(recall.lots.values_list("lot_number", flat=True)) == {"A001", "B002"}
    assert set(Lot.objects.values_list("status", flat=True)) == {LotStatus.AVAILABLE}
    assert not RecallCustomer.objects.exists()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"lots": []}, "lots", "at least one lot"),
        ({"lots": [999999]}, "lots", "999999"),
        ({"lots": ["abc"]}, "lots", "abc"),
        ({"level": "4"}, "level", "“4”"),
        ({"reason": "   "}, "reason", "reason"),
        ({"product": 999999}, "product", "999999"),
    ],
)
def test_create_recall_invalid_input(quality, product, shipped, changes, field, words):
    arguments = {"actor": quality, "product": product, "lots": [shipped["lots"][0]], "level": "1", "reason": "密封不良", **changes}
    with pytest.raises(InvalidInput) as raised:
        services.create_recall(**arguments)
    assert raised.value.field == field
    assert words in str(raised.value)
    assert not Recall.objects.exists()


def test_create_recall_lot_of_other_product(quality, product, shipped, logistics, warehouse):
    other = f.ProductFactory()
    foreign_lot = f.receive(other, warehouse, quantity=5, actor=logistics, lot_number="X999").lot
    with pytest.raises(InvalidInput) as raised:
        services.create_recall(actor=quality, product=product, lots=[foreign_lot], level="1", reason="密封不良")
    assert "X999" in str(raised.value)
    assert not Recall.objects.exists()


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager", "logistics", "finance"])
def test_create_recall_other_roles_refused(request, persona, product, shipped):
    with pytest.raises(NotPermitted):
        draft_recall(request.getfixturevalue(persona), product, [shipped["lots"][0]])
    assert not Recall.objects.exists()


def test_open_recall_blocks_lots_and_lists_customers(quality, product, shipped, django_capture_on_commit_callbacks):
    lot_a, lot_b, lot_c = shipped["lots"]
    customer1, customer2, customer3 = shipped["customers"]
    recall = draft_recall(quality, product, [lot_a])

    with django_capture_on_commit_callbacks(execute=True):
        services.open_recall(actor=quality, recall=recall)

    recall.refresh_from_db()
    assert recall.status == RecallStatus.OPEN
    assert recall.opened_by == quality
    assert Lot.objects.get(pk=lot_a.pk).status == LotStatus.RECALLED
    assert Lot.objects.get(pk=lot_b.pk).status == LotStatus.AVAILABLE
    assert Lot.objects.get(pk=lot_c.pk).status == LotStatus.AVAILABLE
    assert RecallLot.objects.get(recall=recall).previous_status == LotStatus.AVAILABLE
    rows = {row.customer_id: row for row in recall.customers.all()}
    assert set(rows) == {customer1.pk, customer2.pk}
    assert rows[customer1.pk].quantity_shipped == 15
    assert rows[customer1.pk].shipment_count == 2
    assert rows[customer1.pk].contact_name == "王主任"
    assert rows[customer1.pk].contact_phone == "010-1234 5678"
    assert rows[customer2.pk].quantity_shipped == 7
    assert Lot.history.filter(id=lot_a.pk, status=LotStatus.RECALLED, history_user=quality).count() == 1


def test_open_recall_notifies_logistics_managers_and_owners(quality, product, shipped, rep, rep2, manager, logistics, django_capture_on_commit_callbacks):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    with django_capture_on_commit_callbacks(execute=True):
        services.open_recall(actor=quality, recall=recall)

    recipients = set(Notification.objects.filter(category="recall").values_list("recipient__username", flat=True))
    assert recipients == {"rep", "rep2", "manager", "logistics", "quality"}
    assert recall.number in Notification.objects.filter(category="recall").first().title


def test_recalled_lot_not_allocated(quality, product, shipped, rep, supervisor, logistics, warehouse):
    lot_a, lot_b, lot_c = shipped["lots"]
    services.open_recall(actor=quality, recall=draft_recall(quality, product, [lot_a, lot_b, lot_c]))
    customer = f.CustomerFactory(owner=rep, min_shelf_life_days=30)
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")

    with pytest.raises(InsufficientStock):
        sales.release_order(actor=logistics, order=order)


def test_recalled_lot_reservation_released(quality, product, shipped, rep, supervisor, logistics):
    """A reservation made before the recall opened is given back, so nothing of the recalled lot can be picked."""
    lot_a, lot_b, lot_c = shipped["lots"]
    customer = f.CustomerFactory(owner=rep, min_shelf_life_days=30)
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 2)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    allocation = order.lines.get().allocations.get()
    services.open_recall(actor=quality, recall=draft_recall(quality, product, [allocation.lot]))

    allocation.refresh_from_db()
    assert allocation.open_quantity == 0
    with pytest.raises(InvalidInput):
        sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")


def test_recalled_lot_not_received_again(quality, product, shipped, logistics, warehouse):
    lot_a = shipped["lots"][0]
    services.open_recall(actor=quality, recall=draft_recall(quality, product, [lot_a]))
    with pytest.raises(InvalidInput):
        receive_stock(
            actor=logistics, product=product, warehouse=warehouse, lot_number="A001",
            production_date=lot_a.production_date, expiry_date=lot_a.expiry_date, quantity=5,
        )


def test_open_recall_twice_refused(quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    services.open_recall(actor=quality, recall=recall)
    with pytest.raises(InvalidTransition):
        services.open_recall(actor=quality, recall=recall)
    assert RecallCustomer.objects.filter(recall=recall).count() == 2


def test_open_recall_manager_refused(quality, manager, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    with pytest.raises(NotPermitted):
        services.open_recall(actor=manager, recall=recall)
    assert Lot.objects.get(pk=shipped["lots"][0].pk).status == LotStatus.AVAILABLE


def test_open_recall_unshipped_lot_lists_nobody(quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][2]])
    services.open_recall(actor=quality, recall=recall)
    assert recall.customers.count() == 0
    assert Lot.objects.get(pk=shipped["lots"][2].pk).status == LotStatus.RECALLED


def test_quarantined_lot_previous_status_kept(quality, product, shipped):
    lot_c = shipped["lots"][2]
    Lot.objects.filter(pk=lot_c.pk).update(status=LotStatus.QUARANTINED)
    recall = draft_recall(quality, product, [lot_c])
    services.open_recall(actor=quality, recall=recall)
    assert RecallLot.objects.get(recall=recall).previous_status == LotStatus.QUARANTINED


def test_update_draft_changes_lots(quality, product, shipped):
    lot_a, lot_b, _ = shipped["lots"]
    recall = draft_recall(quality, product, [lot_a])
    services.update_recall(actor=quality, recall=recall, lots=[lot_b], level="1")
    recall.refresh_from_db()
    assert list(recall.lots.values_list("lot_number", flat=True)) == ["B002"]
    assert recall.level == "1"


def test_update_open_recall_refused(quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    services.open_recall(actor=quality, recall=recall)
    with pytest.raises(InvalidTransition):
        services.update_recall(actor=quality, recall=recall, level="1")


@pytest.fixture
def open_recall(quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    return services.open_recall(actor=quality, recall=recall)


def test_follow_up_notify_acknowledge_recover(quality, open_recall, shipped):
    customer1 = shipped["customers"][0]
    services.record_notification(actor=quality, recall=open_recall, customer=customer1, method="电话")
    services.record_acknowledgement(actor=quality, recall=open_recall, customer=customer1.pk, note="已回传确认函")
    services.record_recovered_quantity(actor=quality, recall=open_recall, customer=customer1, quantity="12")

    row = RecallCustomer.objects.get(recall=open_recall, customer=customer1)
    assert row.notified_at is not None
    assert row.notified_by == quality
    assert row.notification_method == "电话"
    assert row.acknowledged_at is not None
    assert row.quantity_recovered == 12
    assert row.note == "已回传确认函"


def test_acknowledge_before_notify_refused(quality, open_recall, shipped):
    with pytest.raises(InvalidTransition):
        services.record_acknowledgement(actor=quality, recall=open_recall, customer=shipped["customers"][0])
    assert RecallCustomer.objects.filter(acknowledged_at__isnull=False).count() == 0


def test_notify_twice_refused(quality, open_recall, shipped):
    services.record_notification(actor=quality, recall=open_recall, customer=shipped["customers"][0])
    with pytest.raises(InvalidTransition):
        services.record_notification(actor=quality, recall=open_recall, customer=shipped["customers"][0])


@pytest.mark.parametrize("quantity", [16, -1, "2.5", "abc", True, None])
def test_recovered_quantity_invalid(quality, open_recall, shipped, quantity):
    with pytest.raises(InvalidInput) as raised:
        services.record_recovered_quantity(actor=quality, recall=open_recall, customer=shipped["customers"][0], quantity=quantity)
    assert str(quantity) in str(raised.value)
    assert raised.value.field == "quantity_recovered"
    assert RecallCustomer.objects.get(customer=shipped["customers"][0]).quantity_recovered == 0


def test_follow_up_customer_not_on_list(quality, open_recall, shipped):
    with pytest.raises(InvalidInput) as raised:
        services.record_notification(actor=quality, recall=open_recall, customer=shipped["customers"][2])
    assert raised.value.field == "customer"


def test_follow_up_draft_refused(quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    with pytest.raises(InvalidTransition):
        services.record_notification(actor=quality, recall=recall, customer=shipped["customers"][0])


def test_close_needs_every_customer_notified(quality, open_recall, shipped):
    customer1, customer2, _ = shipped["customers"]
    services.record_notification(actor=quality, recall=open_recall, customer=customer1)
    with pytest.raises(InvalidTransition) as raised:
        services.close_recall(actor=quality, recall=open_recall, note="已追回")
    assert customer2.name in str(raised.value)
    assert customer1.name not in str(raised.value)
    assert Recall.objects.get(pk=open_recall.pk).status == RecallStatus.OPEN


def test_close_needs_note(quality, open_recall, shipped):
    for customer in shipped["customers"][:2]:
        services.record_notification(actor=quality, recall=open_recall, customer=customer)
    with pytest.raises(InvalidInput) as raised:
        services.close_recall(actor=quality, recall=open_recall, note=" ")
    assert raised.value.field == "closing_note"


def test_close_keeps_lots_recalled(quality, open_recall, shipped):
    for customer in shipped["customers"][:2]:
        services.record_notification(actor=quality, recall=open_recall, customer=customer)
    services.close_recall(actor=quality, recall=open_recall, note="共追回 22 支，已退厂家")

    recall = Recall.objects.get(pk=open_recall.pk)
    assert recall.status == RecallStatus.CLOSED
    assert recall.closing_note == "共追回 22 支，已退厂家"
    assert Lot.objects.get(pk=shipped["lots"][0].pk).status == LotStatus.RECALLED
    with pytest.raises(InvalidTransition):
        services.record_recovered_quantity(actor=quality, recall=recall, customer=shipped["customers"][0], quantity=1)


def test_notification_due_by_level(open_recall):
    opened_on = timezone.localtime(open_recall.opened_at).date()
    for level, days in (("1", 1), ("2", 3), ("3", 7)):
        open_recall.level = level
        assert open_recall.notification_due == opened_on + datetime.timedelta(days=days), level
