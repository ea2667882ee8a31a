"""Transfers between warehouses, stock counts with a second person's approval, and the stock invariant check."""

import io

import pytest
from django.core.management import call_command

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.inventory import stock_control
from dentalsales.inventory.models import (
    LedgerReason,
    Lot,
    StockBalance,
    StockCount,
    StockCountStatus,
    StockLedgerEntry,
    StockTransfer,
    Warehouse,
)
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_warehouse(db):
    return Warehouse.objects.create(code="WH2", name="北京仓")


@pytest.fixture
def lot(product, warehouse, logistics):
    f.receive(product, warehouse, quantity=20, actor=logistics, lot_number="T1")
    return Lot.objects.get(lot_number="T1")


def on_hand(warehouse, lot):
    return StockBalance.objects.get(warehouse=warehouse, lot=lot).on_hand


def reserve(customer, product, quantity, *, supervisor, logistics):
    order = f.make_order(actor=customer.owner, customer=customer, lines=[(product, quantity)])
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    return order


def check_stock():
    """Run the command; return (exit code, stderr)."""
    err = io.StringIO()
    try:
        call_command("check_stock", stdout=io.StringIO(), stderr=err)
    except SystemExit as exit_:
        return exit_.code, err.getvalue()
    return 0, err.getvalue()


class TestTransfer:
    def test_transfer_moves_stock_with_two_ledger_rows(self, lot, warehouse, second_warehouse, logistics):
        transfer = stock_control.transfer_stock(actor=logistics, lot=lot, from_warehouse=warehouse, to_warehouse=second_warehouse, quantity=7)

        assert (on_hand(warehouse, lot), on_hand(second_warehouse, lot)) == (13, 7)
        rows = sorted(StockLedgerEntry.objects.filter(reason=LedgerReason.TRANSFER).values_list("warehouse__code", "quantity", "reference"))
        assert rows == [("WH1", -7, transfer.number), ("WH2", 7, transfer.number)]
        assert check_stock()[0] == 0

    def test_reserved_units_do_not_move(self, lot, product, customer, warehouse, second_warehouse, supervisor, logistics):
        reserve(customer, product, 15, supervisor=supervisor, logistics=logistics)

        with pytest.raises(InvalidInput) as caught:
            stock_control.transfer_stock(actor=logistics, lot=lot, from_warehouse=warehouse, to_warehouse=second_warehouse, quantity=6)

        assert "5" in caught.value.field_errors["quantity"][0]
        assert on_hand(warehouse, lot) == 20
        assert StockTransfer.objects.count() == 0

    @pytest.mark.parametrize("quantity", [0, -1, "x", 2.5, True])
    def test_bad_quantity_is_refused(self, quantity, lot, warehouse, second_warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            stock_control.transfer_stock(actor=logistics, lot=lot, from_warehouse=warehouse, to_warehouse=second_warehouse, quantity=quantity)

        assert list(caught.value.field_errors) == ["quantity"]
        assert StockLedgerEntry.objects.filter(reason=LedgerReason.TRANSFER).count() == 0

    def test_same_warehouse_is_refused(self, lot, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            stock_control.transfer_stock(actor=logistics, lot=lot, from_warehouse=warehouse, to_warehouse=warehouse, quantity=1)

        assert list(caught.value.field_errors) == ["to_warehouse"]

    def test_representative_may_not_transfer(self, lot, warehouse, second_warehouse, rep):
        with pytest.raises(NotPermitted):
            stock_control.transfer_stock(actor=rep, lot=lot, from_warehouse=warehouse, to_warehouse=second_warehouse, quantity=1)


class TestStockCount:
    def test_count_changes_nothing_until_approved(self, lot, warehouse, logistics, manager):
        count = stock_control.submit_stock_count(
            actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 18, "reason": "破损报废 2 支"}]
        )

        assert count.status == StockCountStatus.SUBMITTED
        assert on_hand(warehouse, lot) == 20
        line = count.lines.get()
        assert (line.system_quantity, line.counted_quantity, line.difference) == (20, 18, -2)

        stock_control.approve_stock_count(actor=manager, count=count, note="已核实")

        count.refresh_from_db()
        assert count.status == StockCountStatus.APPROVED
        assert count.decided_by == manager
        assert on_hand(warehouse, lot) == 18
        entry = StockLedgerEntry.objects.get(reason=LedgerReason.STOCK_COUNT)
        assert (entry.quantity, entry.reference, entry.created_by) == (-2, count.number, manager)
        assert check_stock()[0] == 0

    def test_difference_without_reason_is_refused(self, lot, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot.pk, "counted_quantity": 17, "reason": " "}])

        message = caught.value.field_errors["lines[0].reason"][0]
        assert "T1" in message
        assert "17" in message
        assert StockCount.objects.count() == 0

    def test_count_without_difference_needs_no_reason(self, lot, warehouse, logistics):
        count = stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot.pk, "counted_quantity": 20}])

        assert count.lines.get().difference == 0

    def test_counter_cannot_approve_own_count(self, lot, warehouse, logistics):
        count = stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 25, "reason": "漏记入库"}])

        with pytest.raises(NotPermitted):
            stock_control.approve_stock_count(actor=logistics, count=count)

        assert on_hand(warehouse, lot) == 20

    def test_representative_cannot_approve(self, lot, warehouse, logistics, rep):
        count = stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 25, "reason": "漏记入库"}])

        with pytest.raises(NotPermitted):
            stock_control.approve_stock_count(actor=rep, count=count)

    def test_approval_applies_difference_to_current_stock(self, lot, product, warehouse, logistics, manager):
        count = stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 18, "reason": "破损"}])
        f.receive(product, warehouse, quantity=5, actor=logistics, lot_number="T1")

        stock_control.approve_stock_count(actor=manager, count=count)

        assert on_hand(warehouse, lot) == 23

    def test_approval_below_reserved_is_refused(self, lot, product, customer, warehouse, supervisor, logistics, manager):
        count = stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 5, "reason": "丢失"}])
        reserve(customer, product, 10, supervisor=supervisor, logistics=logistics)

        with pytest.raises(InvalidInput) as caught:
            stock_control.approve_stock_count(actor=manager, count=count)

        assert "T1" in str(caught.value)
        assert on_hand(warehouse, lot) == 20
        count.refresh_from_db()
        assert count.status == StockCountStatus.SUBMITTED

    def test_rejection_needs_a_note_and_changes_nothing(self, lot, warehouse, logistics, quality):
        count = stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 5, "reason": "丢失"}])

        with pytest.raises(InvalidInput):
            stock_control.reject_stock_count(actor=quality, count=count, note="")
        stock_control.reject_stock_count(actor=quality, count=count, note="请复盘")

        count.refresh_from_db()
        assert count.status == StockCountStatus.REJECTED
        assert on_hand(warehouse, lot) == 20
        with pytest.raises(InvalidTransition):
            stock_control.approve_stock_count(actor=quality, count=count)

    @pytest.mark.parametrize("counted", [-1, "abc", None])
    def test_bad_counted_quantity_is_refused(self, counted, lot, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": counted, "reason": "x"}])

        assert list(caught.value.field_errors) == ["lines[0].counted_quantity"]

    def test_repeated_lot_is_refused(self, lot, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            stock_control.submit_stock_count(
                actor=logistics, warehouse=warehouse,
                lines=[{"lot": lot, "counted_quantity": 20}, {"lot": lot, "counted_quantity": 20}],
            )

        assert list(caught.value.field_errors) == ["lines[1].lot"]


class TestCheckStock:
    def test_consistent_stock_exits_zero(self, lot):
        assert check_stock() == (0, "")

    def test_balance_differing_from_ledger_is_reported(self, lot, warehouse):
        StockBalance.objects.filter(lot=lot).update(on_hand=21)

        code, err = check_stock()

        assert code == 1
        assert "on hand 21 but the ledger sums to 20" in err

    def test_lost_reservation_is_reported(self, lot, product, customer, supervisor, logistics):
        reserve(customer, product, 4, supervisor=supervisor, logistics=logistics)
        StockBalance.objects.filter(lot=lot).update(reserved=0)

        code, err = check_stock()

        assert code == 1
        assert "reserved 0 but open reservations of orders sum to 4" in err

    def test_ledger_without_balance_is_reported(self, lot, warehouse):
        StockBalance.objects.filter(lot=lot).delete()

        code, err = check_stock()

        assert code == 1
        assert "no stock balance" in err
