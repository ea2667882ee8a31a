"""First-expiry-first-out allocation, picking, outbound review, dispatch and delivery of shipments."""

import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.utils import timezone

from dentalsales.core.errors import InsufficientStock, InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.inventory import shipping
from dentalsales.inventory.models import (
    Allocation,
    Lot,
    LotStatus,
    OutboundReview,
    ReviewFinding,
    ReviewLineResult,
    ReviewResult,
    ShipmentStatus,
    StockBalance,
    Warehouse,
)
from dentalsales.inventory.udi import gtin_check_digit
from dentalsales.sales import services as sales
from dentalsales.sales.models import OrderStatus
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"


def released_order(customer, lines, *, supervisor, logistics):
    order = f.make_order(actor=customer.owner, customer=customer, lines=lines)
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)
    return order


def tick_all(shipment, **overrides):
    return {line.pk: {"result": ReviewLineResult.OK, **overrides} for line in shipment.lines.all()}


def open_reservations(order):
    return {
        (a.lot.lot_number, a.warehouse.code): a.open_quantity
        for a in Allocation.objects.filter(order_line__order=order).select_related("lot", "warehouse")
        if a.open_quantity
    }


@pytest.fixture
def picked(customer, product, warehouse, supervisor, logistics):
    """A shipment of 8 units picked by logistics from lot P1."""
    f.receive(product, warehouse, quantity=20, actor=logistics, lot_number="P1")
    order = released_order(customer, [(product, 8)], supervisor=supervisor, logistics=logistics)
    return sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", waybill_number="SF1")


class TestAllocation:
    def test_fefo_skips_expired_quarantined_recalled_and_short_lots(self, rep, supervisor, logistics, warehouse):
        customer = f.CustomerFactory(owner=rep, min_shelf_life_days=100)
        product = f.ProductFactory()
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="EXPIRED", expiry_days=-1, production_days_ago=400)
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="SHORT", expiry_days=99)
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="QUAR", expiry_days=150)
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="RECALL", expiry_days=160)
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="EDGE", expiry_days=100)
        f.receive(product, warehouse, quantity=50, actor=logistics, lot_number="LATE", expiry_days=500)
        Lot.objects.filter(lot_number="QUAR").update(status=LotStatus.QUARANTINED)
        Lot.objects.filter(lot_number="RECALL").update(status=LotStatus.RECALLED)

        order = released_order(customer, [(product, 8)], supervisor=supervisor, logistics=logistics)

        assert open_reservations(order) == {("EDGE", warehouse.code): 5, ("LATE", warehouse.code): 3}

    def test_lot_is_valid_through_its_expiry_day_in_shanghai(self, monkeypatch, rep, supervisor, logistics, warehouse):
        customer = f.CustomerFactory(owner=rep, min_shelf_life_days=0)
        product = f.ProductFactory()
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="TODAY", expiry_days=0)
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="LATER", expiry_days=30)
        today = local_today()
        # 23:59 in Shanghai on the expiry day is 15:59 UTC: still valid.
        monkeypatch.setattr(timezone, "now", lambda: datetime.datetime.combine(today, datetime.time(23, 59), SHANGHAI))
        order = released_order(customer, [(product, 2)], supervisor=supervisor, logistics=logistics)
        assert open_reservations(order) == {("TODAY", warehouse.code): 2}

        # One minute later the lot has expired, although it is still the same day in UTC.
        monkeypatch.setattr(timezone, "now", lambda: datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(0, 0), SHANGHAI))
        second = released_order(customer, [(product, 2)], supervisor=supervisor, logistics=logistics)
        assert open_reservations(second) == {("LATER", warehouse.code): 2}

    def test_shortage_refuses_release_and_reserves_nothing(self, customer, product, warehouse, supervisor, logistics):
        f.receive(product, warehouse, quantity=5, actor=logistics)
        order = f.make_order(actor=customer.owner, customer=customer, lines=[(product, 8)])
        sales.submit_order(actor=customer.owner, order=order)
        sales.approve_order(actor=supervisor, order=order, reason="test")

        with pytest.raises(InsufficientStock) as caught:
            sales.release_order(actor=logistics, order=order)

        assert "3" in str(caught.value)
        assert Allocation.objects.count() == 0
        assert StockBalance.objects.get().reserved == 0

    def test_partial_shipment_leaves_exactly_the_remainder(self, customer, product, warehouse, supervisor, logistics):
        f.receive(product, warehouse, quantity=20, actor=logistics)
        order = released_order(customer, [(product, 8)], supervisor=supervisor, logistics=logistics)
        line = order.lines.get()

        sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", quantities={line.pk: 3})

        order.refresh_from_db()
        line.refresh_from_db()
        assert order.status == OrderStatus.PARTIALLY_SHIPPED
        assert line.unshipped_quantity == 5
        assert sum(open_reservations(order).values()) == 5
        assert StockBalance.objects.get().reserved == 5

    def test_cancel_releases_every_warehouse(self, customer, product, warehouse, supervisor, logistics, manager):
        second = Warehouse.objects.create(code="WH2", name="北京仓")
        f.receive(product, warehouse, quantity=4, actor=logistics, expiry_days=300)
        f.receive(product, second, quantity=10, actor=logistics, expiry_days=400)
        order = released_order(customer, [(product, 9)], supervisor=supervisor, logistics=logistics)
        assert set(code for _lot, code in open_reservations(order)) == {"WH1", "WH2"}

        sales.cancel_order(actor=manager, order=order, reason="客户取消")

        assert open_reservations(order) == {}
        assert list(StockBalance.objects.values_list("reserved", flat=True)) == [0, 0]

    def test_order_with_picked_goods_cannot_be_cancelled(self, customer, product, warehouse, supervisor, logistics, manager):
        f.receive(product, warehouse, quantity=20, actor=logistics)
        order = released_order(customer, [(product, 8)], supervisor=supervisor, logistics=logistics)
        sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", quantities={order.lines.get().pk: 3})

        with pytest.raises(InvalidTransition):
            sales.cancel_order(actor=manager, order=order, reason="客户取消")

        assert sum(open_reservations(order).values()) == 5


class TestPicking:
    def test_picking_takes_stock_out_and_starts_as_picked(self, picked, logistics):
        balance = StockBalance.objects.get()

        assert picked.status == ShipmentStatus.PICKED
        assert picked.shipped_by == logistics
        assert (balance.on_hand, balance.reserved) == (12, 0)

    def test_recalled_lot_cannot_be_picked(self, customer, product, warehouse, supervisor, logistics):
        f.receive(product, warehouse, quantity=20, actor=logistics, lot_number="RC1")
        order = released_order(customer, [(product, 8)], supervisor=supervisor, logistics=logistics)
        Lot.objects.filter(lot_number="RC1").update(status=LotStatus.RECALLED)

        with pytest.raises(InvalidInput) as caught:
            sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

        assert "RC1" in str(caught.value)
        assert StockBalance.objects.get().on_hand == 20
        assert order.shipments.count() == 0

    def test_picking_notifies_reviewers_but_not_the_picker(self, django_capture_on_commit_callbacks, customer, product, warehouse, supervisor, logistics, manager, quality):
        from dentalsales.notifications.models import Notification

        f.receive(product, warehouse, quantity=20, actor=logistics)
        order = released_order(customer, [(product, 2)], supervisor=supervisor, logistics=logistics)
        with django_capture_on_commit_callbacks(execute=True):
            shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

        recipients = set(Notification.objects.filter(title__contains=shipment.number).values_list("recipient__username", flat=True))
        assert recipients == {"manager", "quality"}


class TestReview:
    def test_picker_cannot_review(self, picked, logistics):
        with pytest.raises(NotPermitted):
            shipping.review_shipment(actor=logistics, shipment=picked, lines=tick_all(picked))

        assert OutboundReview.objects.count() == 0

    def test_sales_roles_cannot_review(self, picked, rep):
        with pytest.raises(NotPermitted):
            shipping.review_shipment(actor=rep, shipment=picked, lines=tick_all(picked))

    def test_passed_review_records_reviewer_and_moves_on(self, picked, quality):
        review = shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked), note="外观完好")

        picked.refresh_from_db()
        assert picked.status == ShipmentStatus.REVIEWED
        assert (review.reviewer, review.result, review.note) == (quality, ReviewResult.PASSED, "外观完好")
        assert review.reviewed_at is not None
        assert [(line.result, line.confirmed_quantity) for line in review.lines.all()] == [(ReviewLineResult.OK, 8)]

    @pytest.mark.parametrize("finding", [ReviewLineResult.DAMAGED, ReviewLineResult.MISLABELLED, ReviewLineResult.EXPIRED, ReviewLineResult.UNMATCHED])
    def test_any_finding_fails_the_review(self, finding, picked, quality):
        review = shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked, result=finding, note="见照片"))

        picked.refresh_from_db()
        assert review.result == ReviewResult.FAILED
        assert review.lines.get().result == finding
        assert picked.status == ShipmentStatus.PICKED

    def test_failed_review_is_kept_and_a_new_review_may_pass(self, picked, quality, manager):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked, result=ReviewLineResult.DAMAGED))
        shipping.review_shipment(actor=manager, shipment=picked, lines=tick_all(picked))

        picked.refresh_from_db()
        assert list(picked.reviews.order_by("pk").values_list("result", flat=True)) == [ReviewResult.FAILED, ReviewResult.PASSED]
        assert picked.status == ShipmentStatus.REVIEWED

    def test_scanned_other_lot_is_unmatched(self, picked, quality):
        review = shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked, scanned_code="(10)P2"))

        line = review.lines.get()
        assert line.result == ReviewLineResult.UNMATCHED
        assert "P2" in line.note and "P1" in line.note
        assert line.finding == ReviewFinding.WRONG_LOT
        assert review.result == ReviewResult.FAILED

    def test_scanned_matching_gs1_passes(self, customer, warehouse, supervisor, logistics, quality):
        di = "0690123456789" + gtin_check_digit("0690123456789")
        product = f.ProductFactory(udi_di=di)
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="G1")
        order = released_order(customer, [(product, 2)], supervisor=supervisor, logistics=logistics)
        shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

        review = shipping.review_shipment(actor=quality, shipment=shipment, lines=tick_all(shipment, scanned_code=f"01{di}10G1"))

        assert review.result == ReviewResult.PASSED

    def test_short_count_is_unmatched(self, picked, quality):
        review = shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked, quantity=7))

        assert review.lines.get().result == ReviewLineResult.UNMATCHED
        assert review.result == ReviewResult.FAILED

    def test_quantity_above_picked_is_refused(self, picked, quality):
        with pytest.raises(InvalidInput) as caught:
            shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked, quantity=9))

        (messages,) = caught.value.field_errors.values()
        assert "“9”" in messages[0]
        assert OutboundReview.objects.count() == 0

    def test_every_line_must_be_confirmed(self, picked, quality):
        with pytest.raises(InvalidInput) as caught:
            shipping.review_shipment(actor=quality, shipment=picked, lines={})

        assert "P1" in next(iter(caught.value.field_errors.values()))[0]
        assert OutboundReview.objects.count() == 0

    def test_recalled_lot_fails_review_even_when_ticked(self, picked, quality):
        Lot.objects.filter(lot_number="P1").update(status=LotStatus.RECALLED)

        review = shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))

        assert review.result == ReviewResult.FAILED
        assert review.lines.get().result == ReviewLineResult.EXPIRED
        assert "recalled" in review.lines.get().note

    def test_reviewed_shipment_cannot_be_reviewed_again(self, picked, quality, manager):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))

        with pytest.raises(InvalidTransition):
            shipping.review_shipment(actor=manager, shipment=picked, lines=tick_all(picked))


class TestDispatchAndDelivery:
    def test_unreviewed_shipment_cannot_be_dispatched(self, picked, logistics):
        with pytest.raises(InvalidTransition):
            shipping.dispatch_shipment(actor=logistics, shipment=picked)

        picked.refresh_from_db()
        assert picked.status == ShipmentStatus.PICKED

    def test_dispatch_sets_date_carrier_and_receivable(self, picked, quality, logistics):
        from dentalsales.finance.models import Receivable

        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))
        shipping.dispatch_shipment(actor=logistics, shipment=picked, carrier="京东物流", waybill_number="JD0001")

        picked.refresh_from_db()
        assert picked.status == ShipmentStatus.DISPATCHED
        assert (picked.carrier, picked.waybill_number, picked.shipped_on) == ("京东物流", "JD0001", local_today())
        assert picked.dispatched_by == logistics
        assert Receivable.objects.filter(shipment=picked).count() == 1

    def test_picking_alone_creates_no_receivable(self, picked):
        from dentalsales.finance.models import Receivable

        assert Receivable.objects.filter(shipment=picked).count() == 0

    def test_lot_recalled_after_review_blocks_dispatch(self, picked, quality, logistics):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))
        Lot.objects.filter(lot_number="P1").update(status=LotStatus.RECALLED)

        with pytest.raises(InvalidInput) as caught:
            shipping.dispatch_shipment(actor=logistics, shipment=picked)

        assert "P1" in str(caught.value)
        picked.refresh_from_db()
        assert picked.status == ShipmentStatus.REVIEWED

    def test_dispatch_date_in_future_is_refused(self, picked, quality, logistics):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))
        tomorrow = local_today() + datetime.timedelta(days=1)

        with pytest.raises(InvalidInput) as caught:
            shipping.dispatch_shipment(actor=logistics, shipment=picked, dispatched_on=tomorrow)

        assert str(tomorrow) in caught.value.field_errors["dispatched_on"][0]

    def dispatched(self, picked, quality, logistics):
        shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))
        return shipping.dispatch_shipment(actor=logistics, shipment=picked)

    def test_delivery_with_signed_pdf(self, settings, tmp_path, picked, quality, logistics):
        settings.MEDIA_ROOT = tmp_path
        shipment = self.dispatched(picked, quality, logistics)

        shipping.confirm_delivery(actor=logistics, shipment=shipment, signed_receipt=SimpleUploadedFile("签收单.pdf", PDF))

        shipment.refresh_from_db()
        assert shipment.status == ShipmentStatus.DELIVERED
        assert shipment.delivered_on == local_today()
        assert shipment.delivery_confirmed_by == logistics
        assert shipment.signed_receipt.read().startswith(b"%PDF")

    @pytest.mark.parametrize(
        "name,content,fragment",
        [
            ("receipt.exe", b"MZ...", "not a PDF, JPEG or PNG"),
            ("receipt.pdf", b"GIF89a", "not a PDF file"),
            ("receipt.png", b"\x89PNG\r\n\x1a\n" + b"0" * (10 * 1024 * 1024), "larger than 10 MB"),
        ],
    )
    def test_bad_signed_receipt_is_refused(self, settings, tmp_path, name, content, fragment, picked, quality, logistics):
        settings.MEDIA_ROOT = tmp_path
        shipment = self.dispatched(picked, quality, logistics)

        with pytest.raises(InvalidInput) as caught:
            shipping.confirm_delivery(actor=logistics, shipment=shipment, signed_receipt=SimpleUploadedFile(name, content))

        assert fragment in caught.value.field_errors["signed_receipt"][0]
        shipment.refresh_from_db()
        assert shipment.status == ShipmentStatus.DISPATCHED
        assert not shipment.signed_receipt

    def test_missing_signed_receipt_is_refused(self, picked, quality, logistics):
        shipment = self.dispatched(picked, quality, logistics)

        with pytest.raises(InvalidInput) as caught:
            shipping.confirm_delivery(actor=logistics, shipment=shipment, signed_receipt=None)

        assert list(caught.value.field_errors) == ["signed_receipt"]

    def test_delivery_before_dispatch_is_refused(self, settings, tmp_path, picked, logistics):
        settings.MEDIA_ROOT = tmp_path
        with pytest.raises(InvalidTransition):
            shipping.confirm_delivery(actor=logistics, shipment=picked, signed_receipt=SimpleUploadedFile("a.pdf", PDF))


def test_delivery_note_prints_are_numbered(picked, logistics):
    numbers = [shipping.print_delivery_note(actor=logistics, shipment=picked) for _ in range(3)]

    picked.refresh_from_db()
    assert numbers == [1, 2, 3]
    assert picked.delivery_note_prints == 3
    assert picked.history.first().history_user == logistics


@pytest.mark.parametrize("persona", ["rep", "supervisor", "quality", "finance"])
def test_delivery_note_print_needs_logistics(request, picked, persona):
    with pytest.raises(NotPermitted):
        shipping.print_delivery_note(actor=request.getfixturevalue(persona), shipment=picked)

    picked.refresh_from_db()
    assert picked.delivery_note_prints == 0


def test_check_stock_passes_after_the_whole_flow(picked, quality, logistics):
    shipping.review_shipment(actor=quality, shipment=picked, lines=tick_all(picked))
    shipping.dispatch_shipment(actor=logistics, shipment=picked)
    out = io.StringIO()

    call_command("check_stock", stdout=out)

    assert "no breach" in out.getvalue()
