"""Cancelling a picking under real concurrency on PostgreSQL: one winner, stock restored once, no deadlock."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Sum

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidTransition
from dentalsales.inventory import shipping
from dentalsales.inventory.models import (
    LedgerReason,
    Lot,
    LotStatus,
    ReviewLineResult,
    Shipment,
    ShipmentStatus,
    StockBalance,
    StockLedgerEntry,
)
from dentalsales.quality.services import create_recall, open_recall
from dentalsales.sales.models import OrderStatus, SalesOrder
from dentalsales.sales.services import approve_order, release_order, ship_order, submit_order
from dentalsales.testing import factories as f

from .test_concurrency import fresh, run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises every writer, so row locks are never contended.",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _role_groups(db):
    """Recreate the role groups: a transactional test flushes the database, data migrations included."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def picked_shipment(rep, supervisor, logistics, customer, product, warehouse, quantity=8):
    f.receive(product, warehouse, quantity=20, actor=logistics, lot_number="C1")
    order = f.make_order(actor=rep, customer=customer, lines=[(product, quantity)])
    submit_order(actor=rep, order=order)
    approve_order(actor=supervisor, order=order, reason="test order")
    release_order(actor=logistics, order=order)
    return ship_order(actor=logistics, order=order, carrier="顺丰速运")


def fresh_shipment(shipment):
    return Shipment.objects.get(pk=shipment.pk)


def test_concurrent_cancels_restore_stock_once(rep, supervisor, logistics, manager, customer, product, warehouse):
    shipment = picked_shipment(rep, supervisor, logistics, customer, product, warehouse)

    outcomes = run_together(
        [
            lambda user=user: shipping.cancel_picking(actor=fresh(user), shipment=fresh_shipment(shipment), reason="并发取消")
            for user in (logistics, manager, logistics, manager)
        ]
    )

    assert sum(kind == "ok" for kind, _result in outcomes) == 1
    assert all(isinstance(result, InvalidTransition) for kind, result in outcomes if kind == "error")
    balance = StockBalance.objects.get()
    assert (balance.on_hand, balance.reserved) == (20, 8)
    assert StockLedgerEntry.objects.filter(reason=LedgerReason.PICKING_CANCELLED).aggregate(total=Sum("quantity"))["total"] == 8
    assert SalesOrder.objects.get().status == OrderStatus.RELEASED
    assert SalesOrder.objects.get().lines.get().shipped_quantity == 0


def test_cancel_against_dispatch_has_one_winner(rep, supervisor, logistics, manager, quality, customer, product, warehouse):
    shipment = picked_shipment(rep, supervisor, logistics, customer, product, warehouse)
    lines = {line.pk: {"result": ReviewLineResult.OK} for line in shipment.lines.all()}
    shipping.review_shipment(actor=quality, shipment=shipment, lines=lines)

    outcomes = run_together(
        [
            lambda: shipping.cancel_picking(actor=fresh(manager), shipment=fresh_shipment(shipment), reason="取消"),
            lambda: shipping.dispatch_shipment(actor=fresh(logistics), shipment=fresh_shipment(shipment)),
        ]
    )

    assert sum(kind == "ok" for kind, _result in outcomes) == 1
    assert all(isinstance(result, InvalidTransition) for kind, result in outcomes if kind == "error")
    shipment.refresh_from_db()
    balance = StockBalance.objects.get()
    if shipment.status == ShipmentStatus.CANCELLED:
        assert (balance.on_hand, balance.reserved) == (20, 8)
    else:
        assert shipment.status == ShipmentStatus.DISPATCHED
        assert (balance.on_hand, balance.reserved) == (12, 0)


def test_cancel_against_recall_never_reserves_a_recalled_lot(rep, supervisor, logistics, quality, customer, product, warehouse):
    shipment = picked_shipment(rep, supervisor, logistics, customer, product, warehouse)
    lot = Lot.objects.get(lot_number="C1")
    recall = create_recall(actor=quality, product=product, lots=[lot], level="2", reason="供应商通知")

    outcomes = run_together(
        [
            lambda: shipping.cancel_picking(actor=fresh(logistics), shipment=fresh_shipment(shipment), reason="取消"),
            lambda: open_recall(actor=fresh(quality), recall=recall),
        ]
    )

    assert [kind for kind, _result in outcomes] == ["ok", "ok"]
    lot.refresh_from_db()
    balance = StockBalance.objects.get()
    assert lot.status == LotStatus.RECALLED
    assert (balance.on_hand, balance.reserved) == (20, 0)
