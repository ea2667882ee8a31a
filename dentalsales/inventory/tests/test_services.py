"""Receiving stock, the stock ledger and first-expiry-first-out allocation."""

import datetime

import pytest
from django.db.models import Sum
from django.utils import timezone

from dentalsales.core.errors import InsufficientStock, InvalidInput, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import (
    Allocation,
    GoodsReceipt,
    LedgerReason,
    Lot,
    LotStatus,
    StockBalance,
    StockLedgerEntry,
    Warehouse,
)
from dentalsales.inventory.selectors import eligible_available_by_product, product_stock
from dentalsales.inventory.services import receive_stock
from dentalsales.sales.models import OrderStatus, OrderStatusChange
from dentalsales.sales.services import (
    approve_order,
    cancel_order,
    release_order,
    ship_order,
    submit_order,
)
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

SHANGHAI = datetime.timezone(datetime.timedelta(hours=8))



def days(n):
    return local_today() + datetime.timedelta(days=n)


def travel_to(monkeypatch, instant):
    """Make every "now" (and so every "today" in Asia/Shanghai) return ``instant``."""
    monkeypatch.setattr(timezone, "now", lambda: instant)


def receive(product, warehouse, actor, *, lot_number="L001", quantity=10, production=-30, expiry=720, **extra):
    return receive_stock(
        actor=actor,
        product=product,
        warehouse=warehouse,
        lot_number=lot_number,
        production_date=days(production),
        expiry_date=days(expiry),
        quantity=quantity,
        **extra,
    )


def stock_state():
    """Everything a refused stock request must leave untouched."""
    return {
        "lots": sorted(Lot.objects.values_list("pk", "lot_number", "production_date", "expiry_date", "status")),
        "receipts": GoodsReceipt.objects.count(),
        "ledger": StockLedgerEntry.objects.count(),
        "balances": sorted(StockBalance.objects.values_list("pk", "on_hand", "reserved")),
        "allocations": sorted(
            Allocation.objects.values_list("pk", "quantity", "shipped_quantity", "released_quantity")
        ),
    }


def assert_balances_match_ledger_and_allocations():
    for balance in StockBalance.objects.all():
        ledger_sum = (
            StockLedgerEntry.objects.filter(warehouse=balance.warehouse, lot=balance.lot).aggregate(total=Sum("quantity"))[
                "total"
            ]
            or 0
        )
        open_allocations = sum(
            a.open_quantity for a in Allocation.objects.filter(warehouse=balance.warehouse, lot=balance.lot)
        )
        assert balance.on_hand == ledger_sum, f"lot {balance.lot} on hand {balance.on_hand} != ledger {ledger_sum}"
        assert balance.reserved == open_allocations, f"lot {balance.lot} reserved {balance.reserved} != {open_allocations}"
        assert 0 <= balance.reserved <= balance.on_hand


class TestReceive:
    def test_first_receipt_creates_lot_ledger_row_and_balance(self, product, warehouse, logistics):
        receipt = receive(product, warehouse, logistics, lot_number="A2-2401", quantity=25)

        lot = Lot.objects.get()
        entry = StockLedgerEntry.objects.get()
        balance = StockBalance.objects.get()
        assert (lot.product, lot.lot_number, lot.production_date, lot.expiry_date) == (product, "A2-2401", days(-30), days(720))
        assert lot.status == LotStatus.AVAILABLE
        assert (receipt.lot, receipt.warehouse, receipt.quantity, receipt.received_by) == (lot, warehouse, 25, logistics)
        assert receipt.number == f"GR-{local_today():%Y%m%d}-0001"
        assert (entry.lot, entry.warehouse, entry.quantity, entry.reason) == (lot, warehouse, 25, LedgerReason.RECEIPT)
        assert entry.reference == receipt.number
        assert entry.created_by == logistics
        assert (balance.lot, balance.warehouse, balance.on_hand, balance.reserved) == (lot, warehouse, 25, 0)

    def test_second_receipt_of_the_same_lot_adds_to_the_balance(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, quantity=25)
        receive(product, warehouse, logistics, quantity=15)

        assert Lot.objects.count() == 1
        assert StockLedgerEntry.objects.count() == 2
        assert StockBalance.objects.get().on_hand == 40

    def test_the_same_lot_in_two_warehouses_has_two_balances(self, product, warehouse, logistics):
        second = Warehouse.objects.create(code="WH2", name="北京仓")

        receive(product, warehouse, logistics, quantity=25)
        receive(product, second, logistics, quantity=5)

        assert Lot.objects.count() == 1
        assert dict(StockBalance.objects.values_list("warehouse__code", "on_hand")) == {"WH1": 25, "WH2": 5}

    def test_the_lot_number_is_trimmed(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, lot_number="  A2-2401 ")

        assert Lot.objects.get().lot_number == "A2-2401"

    def test_a_lot_may_expire_on_its_production_date(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, production=0, expiry=0)

        assert Lot.objects.get().expiry_date == local_today()

    def test_second_receipt_with_different_dates_is_refused(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, quantity=25, expiry=720)
        before = stock_state()

        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, quantity=15, expiry=700)

        assert list(caught.value.field_errors) == ["lot_number"]
        assert "L001" in caught.value.field_errors["lot_number"][0]
        assert stock_state() == before

    def test_second_receipt_with_a_different_production_date_is_refused(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, quantity=25, production=-30)
        before = stock_state()

        with pytest.raises(InvalidInput):
            receive(product, warehouse, logistics, quantity=15, production=-31)

        assert stock_state() == before

    @pytest.mark.parametrize("quantity", [0, -1, -100])
    def test_a_quantity_below_one_is_refused(self, product, warehouse, logistics, quantity):
        receive(product, warehouse, logistics, quantity=10)
        before = stock_state()

        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, quantity=quantity)

        assert f"“{quantity}”" in caught.value.field_errors["quantity"][0]
        assert stock_state() == before

    def test_a_missing_quantity_is_refused(self, product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, quantity=None)

        assert "quantity" in caught.value.field_errors
        assert stock_state()["ledger"] == 0

    @pytest.mark.parametrize("quantity", [1.5, "abc", "2.5"])
    def test_a_quantity_that_is_not_a_whole_number_is_refused(self, product, warehouse, logistics, quantity):
        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, quantity=quantity)

        assert "quantity" in caught.value.field_errors
        assert stock_state()["ledger"] == 0

    def test_expiry_before_production_is_refused(self, product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, production=0, expiry=-1)

        message = caught.value.field_errors["expiry_date"][0]
        assert str(days(-1)) in message
        assert str(days(0)) in message
        assert stock_state() == {"lots": [], "receipts": 0, "ledger": 0, "balances": [], "allocations": []}

    def test_a_product_with_expired_registration_is_refused(self, warehouse, logistics):
        product = f.ProductFactory(registration_valid_until=days(-1))

        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics)

        message = caught.value.field_errors["product"][0]
        assert product.registration_number in message
        assert str(days(-1)) in message
        assert stock_state() == {"lots": [], "receipts": 0, "ledger": 0, "balances": [], "allocations": []}

    def test_a_registration_expiring_today_is_still_valid(self, warehouse, logistics):
        product = f.ProductFactory(registration_valid_until=days(0))

        receive(product, warehouse, logistics)

        assert StockBalance.objects.get().on_hand == 10

    def test_a_class_i_product_without_expiry_is_received(self, warehouse, logistics):
        product = f.ProductFactory(device_class="I", registration_number="京械备20150012号", registration_valid_until=None)

        receive(product, warehouse, logistics)

        assert StockBalance.objects.get().on_hand == 10

    def test_an_inactive_warehouse_is_refused(self, product, logistics):
        closed = Warehouse.objects.create(code="OLD", name="旧仓库", is_active=False)

        with pytest.raises(InvalidInput) as caught:
            receive(product, closed, logistics)

        assert "warehouse" in caught.value.field_errors
        assert stock_state()["ledger"] == 0

    def test_a_recalled_lot_cannot_be_received_again(self, product, warehouse, logistics):
        receive(product, warehouse, logistics)
        Lot.objects.update(status=LotStatus.RECALLED)
        before = stock_state()

        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics)

        assert "L001" in caught.value.field_errors["lot_number"][0]
        assert stock_state() == before

    def test_a_blank_lot_number_is_refused(self, product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, lot_number="  ")

        assert "lot_number" in caught.value.field_errors
        assert stock_state()["lots"] == []

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "finance", "quality"])
    def test_only_logistics_may_receive(self, request, product, warehouse, persona):
        actor = request.getfixturevalue(persona)

        with pytest.raises(NotPermitted):
            receive(product, warehouse, actor)

        assert stock_state() == {"lots": [], "receipts": 0, "ledger": 0, "balances": [], "allocations": []}

    def test_a_manager_may_receive(self, product, warehouse, manager):
        receive(product, warehouse, manager)

        assert StockBalance.objects.get().on_hand == 10


@pytest.fixture
def people(rep, supervisor, logistics, manager):
    class People:
        pass

    people = People()
    people.rep, people.supervisor, people.logistics, people.manager = rep, supervisor, logistics, manager
    return people


def approved_order(people, customer, lines):
    order = f.make_order(actor=people.rep, customer=customer, lines=lines)
    submit_order(actor=people.rep, order=order)
    approve_order(actor=people.supervisor, order=order, reason="test set-up")
    return order


def allocated(order):
    """Return [(lot number, quantity)] of the order's allocations in allocation order."""
    return list(
        Allocation.objects.filter(order_line__order=order).order_by("pk").values_list("lot__lot_number", "quantity")
    )


class TestLedger:
    def test_on_hand_equals_the_ledger_sum_after_a_full_flow(self, people, customer, product, warehouse):
        receive(product, warehouse, people.logistics, lot_number="EARLY", quantity=30, expiry=200)
        receive(product, warehouse, people.logistics, lot_number="LATE", quantity=30, expiry=400)
        receive(product, warehouse, people.logistics, lot_number="LATE", quantity=5, expiry=400)
        shipped = approved_order(people, customer, [(product, 40)])
        cancelled = approved_order(people, customer, [(product, 10)])
        release_order(actor=people.logistics, order=shipped)
        release_order(actor=people.logistics, order=cancelled)
        ship_order(carrier="顺丰速运", actor=people.logistics, order=shipped, quantities={shipped.lines.get().pk: 25})
        cancel_order(actor=people.manager, order=cancelled, reason="Customer changed their mind")
        ship_order(carrier="顺丰速运", actor=people.logistics, order=shipped)

        assert_balances_match_ledger_and_allocations()
        assert dict(StockBalance.objects.values_list("lot__lot_number", "on_hand")) == {"EARLY": 0, "LATE": 25}
        assert dict(StockBalance.objects.values_list("lot__lot_number", "reserved")) == {"EARLY": 0, "LATE": 0}
        stock = product_stock(product)
        assert (stock["on_hand"], stock["reserved"], stock["available"]) == (25, 0, 25)

    def test_shipment_writes_negative_ledger_rows(self, people, customer, product, warehouse):
        receive(product, warehouse, people.logistics, quantity=30)
        order = approved_order(people, customer, [(product, 12)])
        release_order(actor=people.logistics, order=order)

        shipment = ship_order(carrier="顺丰速运", actor=people.logistics, order=order)

        entry = StockLedgerEntry.objects.get(reason=LedgerReason.SHIPMENT)
        assert (entry.quantity, entry.reference, entry.created_by) == (-12, shipment.number, people.logistics)
        assert_balances_match_ledger_and_allocations()


class TestFefoAllocation:
    def test_the_lot_expiring_first_is_taken_first(self, people, customer, product, warehouse):
        receive(product, warehouse, people.logistics, lot_number="D400", quantity=10, expiry=400)
        receive(product, warehouse, people.logistics, lot_number="D200", quantity=10, expiry=200)
        receive(product, warehouse, people.logistics, lot_number="D800", quantity=10, expiry=800)
        order = approved_order(people, customer, [(product, 15)])

        release_order(actor=people.logistics, order=order)

        assert allocated(order) == [("D200", 10), ("D400", 5)]
        reserved = dict(StockBalance.objects.values_list("lot__lot_number", "reserved"))
        assert reserved == {"D200": 10, "D400": 5, "D800": 0}
        assert_balances_match_ledger_and_allocations()

    def test_an_order_covered_by_one_lot_takes_only_that_lot(self, people, customer, product, warehouse):
        receive(product, warehouse, people.logistics, lot_number="D400", quantity=10, expiry=400)
        receive(product, warehouse, people.logistics, lot_number="D200", quantity=10, expiry=200)

        order = approved_order(people, customer, [(product, 4)])
        release_order(actor=people.logistics, order=order)

        assert allocated(order) == [("D200", 4)]

    def test_stock_reserved_by_an_earlier_order_is_not_allocated_again(self, people, customer, product, warehouse):
        receive(product, warehouse, people.logistics, lot_number="D200", quantity=10, expiry=200)
        receive(product, warehouse, people.logistics, lot_number="D400", quantity=10, expiry=400)
        first = approved_order(people, customer, [(product, 6)])
        second = approved_order(people, customer, [(product, 7)])

        release_order(actor=people.logistics, order=first)
        release_order(actor=people.logistics, order=second)

        assert allocated(first) == [("D200", 6)]
        assert allocated(second) == [("D200", 4), ("D400", 3)]
        assert_balances_match_ledger_and_allocations()

    def test_each_line_is_allocated_from_its_own_product(self, people, customer, warehouse):
        composite, alginate = f.ProductFactory(), f.ProductFactory()
        receive(composite, warehouse, people.logistics, lot_number="C1", quantity=10)
        receive(alginate, warehouse, people.logistics, lot_number="A1", quantity=10)

        order = approved_order(people, customer, [(composite, 3), (alginate, 5)])
        release_order(actor=people.logistics, order=order)

        assert sorted(allocated(order)) == [("A1", 5), ("C1", 3)]

    @pytest.mark.parametrize("status", [LotStatus.QUARANTINED, LotStatus.RECALLED])
    def test_quarantined_and_recalled_lots_are_skipped(self, people, customer, product, warehouse, status):
        receive(product, warehouse, people.logistics, lot_number="BLOCKED", quantity=10, expiry=200)
        receive(product, warehouse, people.logistics, lot_number="GOOD", quantity=10, expiry=400)
        Lot.objects.filter(lot_number="BLOCKED").update(status=status)

        order = approved_order(people, customer, [(product, 8)])
        release_order(actor=people.logistics, order=order)

        assert allocated(order) == [("GOOD", 8)]

    def test_lots_in_an_inactive_warehouse_are_skipped(self, people, customer, product, warehouse):
        closed = Warehouse.objects.create(code="WH9", name="关闭的仓库")
        receive(product, closed, people.logistics, lot_number="CLOSED", quantity=10, expiry=200)
        receive(product, warehouse, people.logistics, lot_number="OPEN", quantity=10, expiry=400)
        Warehouse.objects.filter(pk=closed.pk).update(is_active=False)

        order = approved_order(people, customer, [(product, 8)])
        release_order(actor=people.logistics, order=order)

        assert allocated(order) == [("OPEN", 8)]

    def test_short_shelf_life_lots_skipped(self, people, product, warehouse, rep):
        customer = f.CustomerFactory(owner=rep, min_shelf_life_days=180)
        receive(product, warehouse, people.logistics, lot_number="D179", quantity=10, expiry=179)
        receive(product, warehouse, people.logistics, lot_number="D180", quantity=10, expiry=180)

        order = approved_order(people, customer, [(product, 12)])
        with pytest.raises(InsufficientStock):
            release_order(actor=people.logistics, order=order)
        order_fits = approved_order(people, customer, [(product, 10)])
        release_order(actor=people.logistics, order=order_fits)

        assert allocated(order) == []
        assert allocated(order_fits) == [("D180", 10)]

    def test_expired_lots_are_skipped(self, people, customer, product, warehouse, monkeypatch):
        receive(product, warehouse, people.logistics, lot_number="SHORT", quantity=10, expiry=10)
        receive(product, warehouse, people.logistics, lot_number="LONG", quantity=10, expiry=400)
        customer.min_shelf_life_days = 0
        customer.save()
        order = approved_order(people, customer, [(product, 15)])

        travel_to(monkeypatch, timezone.now() + datetime.timedelta(days=11))
        with pytest.raises(InsufficientStock):
            release_order(actor=people.logistics, order=order)
        smaller = approved_order(people, customer, [(product, 10)])
        release_order(actor=people.logistics, order=smaller)

        assert allocated(order) == []
        assert allocated(smaller) == [("LONG", 10)]

    def test_lot_expiring_today_is_allocated(self, people, product, warehouse, rep):
        customer = f.CustomerFactory(owner=rep, min_shelf_life_days=0)
        receive(product, warehouse, people.logistics, lot_number="TODAY", quantity=10, expiry=0)

        order = approved_order(people, customer, [(product, 10)])
        release_order(actor=people.logistics, order=order)

        assert allocated(order) == [("TODAY", 10)]

    def test_lot_valid_until_shanghai_midnight(self, people, product, warehouse, rep, monkeypatch):
        customer = f.CustomerFactory(owner=rep, min_shelf_life_days=0)
        receive(product, warehouse, people.logistics, lot_number="TODAY", quantity=10, expiry=10)
        expiry_date = Lot.objects.get().expiry_date
        last_minute = datetime.datetime.combine(expiry_date, datetime.time(23, 59), tzinfo=SHANGHAI)
        first_order = approved_order(people, customer, [(product, 4)])
        second_order = approved_order(people, customer, [(product, 3)])

        travel_to(monkeypatch, last_minute.astimezone(datetime.timezone.utc))
        release_order(actor=people.logistics, order=first_order)
        travel_to(monkeypatch, (last_minute + datetime.timedelta(minutes=2)).astimezone(datetime.timezone.utc))
        with pytest.raises(InsufficientStock):
            release_order(actor=people.logistics, order=second_order)

        # 23:59 in Shanghai is 15:59 UTC the same day; 00:01 is still the expiry date in UTC.
        assert (last_minute + datetime.timedelta(minutes=2)).astimezone(datetime.timezone.utc).date() == expiry_date
        assert allocated(first_order) == [("TODAY", 4)]
        assert allocated(second_order) == []

    def test_insufficient_stock_changes_nothing(self, people, customer, product, warehouse):
        receive(product, warehouse, people.logistics, lot_number="D200", quantity=10, expiry=200)
        receive(product, warehouse, people.logistics, lot_number="D400", quantity=10, expiry=400)
        order = approved_order(people, customer, [(product, 21)])
        before = stock_state()
        changes_before = OrderStatusChange.objects.filter(order=order).count()

        with pytest.raises(InsufficientStock) as caught:
            release_order(actor=people.logistics, order=order)

        assert "1 more" in str(caught.value)
        assert stock_state() == before
        order.refresh_from_db()
        assert order.status == OrderStatus.APPROVED
        assert OrderStatusChange.objects.filter(order=order).count() == changes_before

    def test_one_short_line_refuses_the_whole_order(self, people, customer, warehouse):
        plenty, scarce = f.ProductFactory(), f.ProductFactory()
        receive(plenty, warehouse, people.logistics, lot_number="P1", quantity=100)
        receive(scarce, warehouse, people.logistics, lot_number="S1", quantity=2)
        order = approved_order(people, customer, [(plenty, 10), (scarce, 3)])
        before = stock_state()

        with pytest.raises(InsufficientStock) as caught:
            release_order(actor=people.logistics, order=order)

        assert str(scarce) in str(caught.value)
        assert stock_state() == before

    def test_eligible_availability_follows_reservations_and_shelf_life(self, people, customer, product, warehouse):
        receive(product, warehouse, people.logistics, lot_number="D100", quantity=10, expiry=100)
        receive(product, warehouse, people.logistics, lot_number="D400", quantity=10, expiry=400)
        order = approved_order(people, customer, [(product, 4)])
        release_order(actor=people.logistics, order=order)

        assert eligible_available_by_product([product.pk], 0)[product.pk] == 16
        assert eligible_available_by_product([product.pk], 101)[product.pk] == 10
        assert eligible_available_by_product([product.pk], 401)[product.pk] == 0
