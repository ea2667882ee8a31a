"""Cancelling the picking of a shipment before dispatch: stock, reservations, order state, screens and API."""

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.inventory import shipping
from dentalsales.inventory.models import (
    Allocation,
    LedgerReason,
    Lot,
    LotStatus,
    ReviewLineResult,
    ShipmentStatus,
    StockBalance,
    StockLedgerEntry,
)
from dentalsales.inventory.trace import trace_customers, trace_shipments
from dentalsales.sales import services as sales
from dentalsales.sales.models import OrderStatus, OrderStatusChange
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def released_order(customer, lines, *, supervisor, logistics):
    order = f.make_order(actor=customer.owner, customer=customer, lines=lines)
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)
    return order


def tick_all(shipment):
    return {line.pk: {"result": ReviewLineResult.OK} for line in shipment.lines.all()}


def state(order):
    """Return everything cancelling a picking may change, to compare before and after a refused attempt."""
    order.refresh_from_db()
    return {
        "order": order.status,
        "changes": OrderStatusChange.objects.filter(order=order).count(),
        "lines": sorted(order.lines.values_list("pk", "shipped_quantity")),
        "allocations": sorted(Allocation.objects.filter(order_line__order=order).values_list("pk", "shipped_quantity", "released_quantity")),
        "balances": sorted(StockBalance.objects.values_list("pk", "on_hand", "reserved")),
        "ledger": StockLedgerEntry.objects.count(),
        "shipments": sorted(order.shipments.values_list("pk", "status")),
    }


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def order(customer, product, warehouse, supervisor, logistics):
    """A released order for 8 units of lot P1 (20 received)."""
    f.receive(product, warehouse, quantity=20, actor=logistics, lot_number="P1")
    return released_order(customer, [(product, 8)], supervisor=supervisor, logistics=logistics)


@pytest.fixture
def picked(order, logistics):
    return sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", waybill_number="SF1")


class TestService:
    def test_picked_goods_go_back_with_their_reservation(self, order, picked, logistics):
        outcome = shipping.cancel_picking(actor=logistics, shipment=picked, reason="客户要求改期")

        order.refresh_from_db()
        picked.refresh_from_db()
        balance = StockBalance.objects.get()
        allocation = Allocation.objects.get()
        assert (balance.on_hand, balance.reserved) == (20, 8)
        assert (allocation.quantity, allocation.shipped_quantity, allocation.released_quantity) == (8, 0, 0)
        assert order.lines.get().shipped_quantity == 0
        assert order.status == OrderStatus.RELEASED
        change = order.status_changes.order_by("-pk").first()
        assert (change.from_status, change.to_status, change.actor) == (OrderStatus.SHIPPED, OrderStatus.RELEASED, logistics)
        assert picked.number in change.reason
        assert "客户要求改期" in change.reason
        assert (picked.status, picked.cancelled_by, picked.cancellation_reason) == (ShipmentStatus.CANCELLED, logistics, "客户要求改期")
        assert picked.cancelled_at is not None
        entry = StockLedgerEntry.objects.filter(reason=LedgerReason.PICKING_CANCELLED).get()
        assert (entry.quantity, entry.reference) == (8, picked.number)
        assert (outcome.restocked, outcome.reserved_again, outcome.backordered) == (8, 8, [])

    def test_order_can_be_shipped_again_after_cancel(self, order, picked, logistics):
        shipping.cancel_picking(actor=logistics, shipment=picked, reason="装错箱")

        again = sales.ship_order(actor=logistics, order=order, carrier="京东物流")

        order.refresh_from_db()
        assert again.lines.get().quantity == 8
        assert order.status == OrderStatus.SHIPPED
        assert StockBalance.objects.get().on_hand == 12

    def test_reviewed_shipment_can_be_cancelled(self, order, picked, logistics, quality):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))

        shipping.cancel_picking(actor=logistics, shipment=picked, reason="复核后客户取消")

        picked.refresh_from_db()
        assert picked.status == ShipmentStatus.CANCELLED

    def test_dispatched_shipment_cannot_be_cancelled(self, order, picked, logistics, quality):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))
        shipping.dispatch_shipment(actor=logistics, shipment=picked)
        before = state(order)

        with pytest.raises(InvalidTransition):
            shipping.cancel_picking(actor=logistics, shipment=picked, reason="太迟了")

        assert state(order) == before

    def test_cancelled_shipment_cannot_be_cancelled_again(self, order, picked, logistics):
        shipping.cancel_picking(actor=logistics, shipment=picked, reason="第一次")
        before = state(order)

        with pytest.raises(InvalidTransition):
            shipping.cancel_picking(actor=logistics, shipment=picked, reason="第二次")

        assert state(order) == before

    def test_reason_is_required(self, order, picked, logistics):
        before = state(order)

        with pytest.raises(InvalidInput) as caught:
            shipping.cancel_picking(actor=logistics, shipment=picked, reason="   ")

        assert list(caught.value.field_errors) == ["reason"]
        assert state(order) == before

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "quality", "finance"])
    def test_other_roles_are_refused(self, request, order, picked, persona):
        before = state(order)

        with pytest.raises(NotPermitted):
            shipping.cancel_picking(actor=request.getfixturevalue(persona), shipment=picked, reason="无权")

        assert state(order) == before

    def test_manager_may_cancel(self, order, picked, manager):
        shipping.cancel_picking(actor=manager, shipment=picked, reason="经理取消")

        picked.refresh_from_db()
        assert picked.status == ShipmentStatus.CANCELLED

    @pytest.mark.parametrize("blocked_status", [LotStatus.RECALLED, LotStatus.QUARANTINED])
    def test_blocked_lot_becomes_backorder(self, order, picked, logistics, blocked_status):
        Lot.objects.filter(lot_number="P1").update(status=blocked_status)

        outcome = shipping.cancel_picking(actor=logistics, shipment=picked, reason="批号被封存")

        order.refresh_from_db()
        balance = StockBalance.objects.get()
        allocation = Allocation.objects.get()
        assert (balance.on_hand, balance.reserved) == (20, 0)
        assert (allocation.shipped_quantity, allocation.released_quantity, allocation.open_quantity) == (0, 8, 0)
        assert order.lines.get().unshipped_quantity == 8
        assert order.status == OrderStatus.RELEASED
        assert outcome.reserved_again == 0
        assert [(lot, quantity) for lot, quantity, _reason in outcome.backordered] == [("P1", 8)]
        message = shipping.backorder_message(outcome)
        assert "backorder" in message
        assert "P1" in message

    def test_expired_lot_becomes_backorder(self, customer, product, warehouse, supervisor, logistics, monkeypatch):
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="SOON", expiry_days=3)
        customer.min_shelf_life_days = 0
        customer.save()
        order = released_order(customer, [(product, 5)], supervisor=supervisor, logistics=logistics)
        shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")
        Lot.objects.filter(lot_number="SOON").update(expiry_date=Lot.objects.get(lot_number="SOON").production_date)

        outcome = shipping.cancel_picking(actor=logistics, shipment=shipment, reason="过期")

        assert StockBalance.objects.get(lot__lot_number="SOON").reserved == 0
        assert outcome.backordered[0][:2] == ("SOON", 5)

    def test_cancel_of_one_of_two_shipments_leaves_partially_shipped(self, order, logistics):
        line = order.lines.get()
        first = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", quantities={line.pk: 3})
        second = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")
        order.refresh_from_db()
        assert order.status == OrderStatus.SHIPPED

        shipping.cancel_picking(actor=logistics, shipment=second, reason="第二箱破损")

        order.refresh_from_db()
        line.refresh_from_db()
        assert order.status == OrderStatus.PARTIALLY_SHIPPED
        assert line.shipped_quantity == 3
        assert StockBalance.objects.get().reserved == 5
        assert first.lines.get().quantity == 3

    def test_trace_leaves_out_cancelled_shipments(self, order, picked, logistics):
        lot_ids = [picked.lines.get().lot_id]
        # A picked shipment has not left: it is listed as still in the warehouse, not as shipped.
        assert len(trace_shipments(lot_ids, in_warehouse=True)) == 1
        assert trace_shipments(lot_ids) == []

        shipping.cancel_picking(actor=logistics, shipment=picked, reason="未出库")

        assert trace_shipments(lot_ids, in_warehouse=True) == []
        assert trace_shipments(lot_ids) == []
        assert trace_customers(lot_ids) == []

    def test_owner_is_notified(self, order, picked, logistics, django_capture_on_commit_callbacks):
        from dentalsales.notifications.models import Notification

        with django_capture_on_commit_callbacks(execute=True):
            shipping.cancel_picking(actor=logistics, shipment=picked, reason="客户改地址")

        notification = Notification.objects.get(recipient=order.owner)
        assert picked.number in notification.title


class TestCompleteOrder:
    def test_complete_needs_every_shipment_delivered(self, order, logistics, manager):
        line = order.lines.get()
        first = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", quantities={line.pk: 3})
        second = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

        with pytest.raises(InvalidTransition) as caught:
            sales.complete_order(actor=logistics, order=order)

        assert first.number in str(caught.value)
        assert second.number in str(caught.value)
        order.refresh_from_db()
        assert order.status == OrderStatus.SHIPPED

    def test_complete_names_only_undelivered_shipments(self, order, logistics, manager):
        line = order.lines.get()
        first = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", quantities={line.pk: 3})
        f.deliver_shipments(order, reviewer=manager, logistics=logistics)
        second = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

        with pytest.raises(InvalidTransition) as caught:
            sales.complete_order(actor=logistics, order=order)

        assert second.number in str(caught.value)
        assert first.number not in str(caught.value)

    def test_complete_after_delivery(self, order, picked, logistics, manager):
        f.deliver_shipments(order, reviewer=manager, logistics=logistics)

        sales.complete_order(actor=logistics, order=order)

        order.refresh_from_db()
        assert order.status == OrderStatus.COMPLETED

    def test_cancelled_picking_does_not_block_completion(self, order, picked, logistics, manager):
        shipping.cancel_picking(actor=logistics, shipment=picked, reason="重新拣货")
        sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")
        f.deliver_shipments(order, reviewer=manager, logistics=logistics)

        sales.complete_order(actor=logistics, order=order)

        order.refresh_from_db()
        assert order.status == OrderStatus.COMPLETED

    def test_complete_refuses_unshipped_units(self, order, picked, logistics, manager):
        # An order marked shipped with units still missing only arises from older data; the check guards it anyway.
        f.deliver_shipments(order, reviewer=manager, logistics=logistics)
        order.lines.update(quantity=9)

        with pytest.raises(InvalidTransition) as caught:
            sales.complete_order(actor=logistics, order=order)

        assert "not shipped yet" in str(caught.value)

    def test_complete_button_reports_undelivered_shipment(self, order, picked, logistics):
        response = client_for(logistics).post(reverse("sales:order_complete", args=[order.pk]), follow=True)

        assert picked.number in response.content.decode()
        order.refresh_from_db()
        assert order.status == OrderStatus.SHIPPED


class TestWeb:
    def cancel_url(self, shipment):
        return reverse("inventory:shipment_cancel_picking", args=[shipment.pk])

    def test_logistics_sees_the_button_and_cancels(self, order, picked, logistics):
        client = client_for(logistics)
        page = client.get(reverse("inventory:shipment_detail", args=[picked.pk])).content.decode()
        assert 'data-testid="cancel-picking-form"' in page

        response = client.post(self.cancel_url(picked), {"cancel-reason": "客户要求改期"}, follow=True)

        picked.refresh_from_db()
        assert picked.status == ShipmentStatus.CANCELLED
        html = response.content.decode()
        assert "8 units are back in stock" in html
        assert 'data-testid="picking-cancelled"' in html
        assert 'data-testid="cancel-picking-form"' not in html

    def test_backorder_is_named_in_the_message(self, order, picked, logistics):
        Lot.objects.filter(lot_number="P1").update(status=LotStatus.RECALLED)

        response = client_for(logistics).post(self.cancel_url(picked), {"cancel-reason": "召回"}, follow=True)

        html = response.content.decode()
        assert "backorder" in html
        assert "P1" in html

    def test_missing_reason_shows_the_form_again(self, order, picked, logistics):
        before = state(order)

        response = client_for(logistics).post(self.cancel_url(picked), {"cancel-reason": ""})

        assert response.status_code == 200
        assert 'data-error-for="reason"' in response.content.decode()
        assert state(order) == before

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "quality", "finance"])
    def test_other_roles_get_no_button_and_403(self, request, order, picked, persona):
        user = request.getfixturevalue(persona)
        client = client_for(user)
        before = state(order)

        page = client.get(reverse("inventory:shipment_detail", args=[picked.pk]))
        response = client.post(self.cancel_url(picked), {"cancel-reason": "无权"})

        assert 'data-testid="cancel-picking-form"' not in page.content.decode()
        assert response.status_code == 403
        assert state(order) == before

    def test_no_button_after_dispatch(self, order, picked, logistics, quality):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))
        shipping.dispatch_shipment(actor=logistics, shipment=picked)

        page = client_for(logistics).get(reverse("inventory:shipment_detail", args=[picked.pk])).content.decode()

        assert 'data-testid="cancel-picking-form"' not in page


class TestApi:
    def url(self, shipment):
        return f"/api/v1/shipments/{shipment.pk}/cancel-picking/"

    def test_logistics_cancels(self, api, order, picked, logistics):
        response = api(logistics).post(self.url(picked), {"reason": "客户要求改期"}, format="json")

        assert response.status_code == 200
        body = response.json()
        assert (body["status"], body["cancellation_reason"], body["backordered"]) == ("cancelled", "客户要求改期", [])
        assert StockBalance.objects.get().reserved == 8

    def test_backorder_is_listed(self, api, order, picked, logistics):
        Lot.objects.filter(lot_number="P1").update(status=LotStatus.QUARANTINED)

        body = api(logistics).post(self.url(picked), {"reason": "隔离"}, format="json").json()

        assert [(row["lot_number"], row["quantity"]) for row in body["backordered"]] == [("P1", 8)]

    def test_missing_reason_is_400(self, api, order, picked, logistics):
        response = api(logistics).post(self.url(picked), {}, format="json")

        assert response.status_code == 400
        assert "reason" in response.json()

    def test_dispatched_is_409(self, api, order, picked, logistics, quality):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))
        shipping.dispatch_shipment(actor=logistics, shipment=picked)

        response = api(logistics).post(self.url(picked), {"reason": "太迟"}, format="json")

        assert response.status_code == 409

    @pytest.mark.parametrize("persona", ["rep", "quality", "finance"])
    def test_other_roles_are_403(self, request, api, order, picked, persona):
        before = state(order)

        response = api(request.getfixturevalue(persona)).post(self.url(picked), {"reason": "无权"}, format="json")

        assert response.status_code == 403
        assert state(order) == before

    def test_another_representatives_shipment_is_404(self, api, order, picked, rep2):
        assert api(rep2).post(self.url(picked), {"reason": "无权"}, format="json").status_code == 404
