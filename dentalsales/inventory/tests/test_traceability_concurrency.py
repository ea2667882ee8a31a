"""Picking, outbound reviews, releases, transfers and stock count approvals on the same lot at once, on PostgreSQL.

Each test starts at least 16 real threads at one barrier, each on its own
database connection, and then checks the stock invariants.
"""

import pytest
from django.db import connection
from django.db.models import Sum

from dentalsales.core.errors import InsufficientStock, InvalidInput, InvalidTransition
from dentalsales.inventory import shipping, stock_control
from dentalsales.inventory.models import (
    Allocation,
    Lot,
    OutboundReview,
    ReviewResult,
    ShipmentStatus,
    StockBalance,
    StockCountStatus,
    StockLedgerEntry,
    Warehouse,
)
from dentalsales.sales.services import approve_order, release_order, ship_order, submit_order
from dentalsales.testing import factories as f

from .test_concurrency import _role_groups, fresh, run_together  # noqa: F401 (fixture re-used)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises every writer, so row locks are never contended.",
    ),
    pytest.mark.django_db(transaction=True),
]


def approved_order(rep, supervisor, customer, product, quantity):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, quantity)])
    submit_order(actor=rep, order=order)
    approve_order(actor=supervisor, order=order, reason="Standing order")
    return order


def unexpected(outcomes, *allowed):
    return [outcome for outcome in outcomes if outcome[0] == "error" and not isinstance(outcome[1], allowed)]


def test_mixed_stock_work_on_one_lot_keeps_the_invariants(rep, supervisor, manager, quality, logistics, customer, product, warehouse):
    second = Warehouse.objects.create(code="WH2", name="北京仓")
    f.receive(product, warehouse, quantity=60, actor=logistics, lot_number="MIX")
    lot = Lot.objects.get(lot_number="MIX")
    to_ship = []
    for _ in range(4):
        order = approved_order(rep, supervisor, customer, product, 5)
        release_order(actor=logistics, order=order)
        to_ship.append(order)
    review_order = approved_order(rep, supervisor, customer, product, 2)
    release_order(actor=logistics, order=review_order)
    picked = ship_order(actor=logistics, order=review_order, carrier="顺丰速运")
    to_release = [approved_order(rep, supervisor, customer, product, 5) for _ in range(8)]
    counts = [
        stock_control.submit_stock_count(
            actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 57, "reason": "破损 1 支"}]
        )
        for _ in range(4)
    ]
    review_lines = {line.pk: {"result": "ok"} for line in picked.lines.all()}

    calls = (
        [lambda order=order: ship_order(actor=fresh(logistics), order=order, carrier="顺丰速运") for order in to_ship]
        + [lambda reviewer=reviewer: shipping.review_shipment(actor=fresh(reviewer), shipment=picked, lines=review_lines) for reviewer in (quality, manager, quality, manager)]
        + [lambda order=order: release_order(actor=fresh(logistics), order=order) for order in to_release]
        + [
            lambda: stock_control.transfer_stock(actor=fresh(logistics), lot=lot, from_warehouse=warehouse, to_warehouse=second, quantity=3)
            for _ in range(4)
        ]
        + [lambda count=count: stock_control.approve_stock_count(actor=fresh(manager), count=count) for count in counts]
    )
    assert len(calls) >= 16

    outcomes = run_together(calls)

    assert unexpected(outcomes, InsufficientStock, InvalidInput, InvalidTransition) == []
    assert stock_control.stock_invariant_breaches() == []
    ship_outcomes, review_outcomes = outcomes[:4], outcomes[4:8]
    release_outcomes, transfer_outcomes, count_outcomes = outcomes[8:16], outcomes[16:20], outcomes[20:24]
    assert all(outcome[0] == "ok" for outcome in ship_outcomes)
    assert sum(outcome[0] == "ok" for outcome in review_outcomes) == 1
    assert OutboundReview.objects.filter(result=ReviewResult.PASSED).count() == 1
    picked.refresh_from_db()
    assert picked.status == ShipmentStatus.REVIEWED

    released = sum(outcome[0] == "ok" for outcome in release_outcomes)
    transferred = sum(outcome[0] == "ok" for outcome in transfer_outcomes)
    adjusted = sum(outcome[0] == "ok" for outcome in count_outcomes)
    # An approval is refused only when releases left fewer free units than the count takes away.
    for outcome in count_outcomes:
        assert outcome[0] == "ok" or "reserved" in str(outcome[1])
    on_hand = dict(StockBalance.objects.values_list("warehouse__code", "on_hand"))
    # 60 received, 2 picked before, 20 picked now, 4 counted away, transfers move within the lot.
    assert on_hand["WH1"] + on_hand.get("WH2", 0) == 60 - 2 - 20 - adjusted
    assert on_hand.get("WH2", 0) == 3 * transferred
    # A release may reserve units already transferred to WH2.
    assert StockBalance.objects.aggregate(total=Sum("reserved"))["total"] == 5 * released
    # Nothing is oversold: releases reserved at most the 38 units that were free, less those counted away.
    # Transfers only move free units between warehouses of the same lot, where releases may still reserve them.
    assert 5 * released <= 38 - adjusted
    assert 3 * transferred <= 38
    assert StockLedgerEntry.objects.aggregate(total=Sum("quantity"))["total"] == 60 - 22 - adjusted


def test_parallel_partial_shipments_of_one_order_never_exceed_the_reservation(rep, supervisor, logistics, customer, product, warehouse):
    f.receive(product, warehouse, quantity=30, actor=logistics, lot_number="PART")
    order = approved_order(rep, supervisor, customer, product, 20)
    release_order(actor=logistics, order=order)
    line = order.lines.get()

    outcomes = run_together(
        [lambda: ship_order(actor=fresh(logistics), order=order, carrier="顺丰速运", quantities={line.pk: 3}) for _ in range(16)]
    )

    shipped = sum(outcome[0] == "ok" for outcome in outcomes)
    assert unexpected(outcomes, InvalidInput, InvalidTransition) == []
    assert shipped == 6  # 6 × 3 = 18 of the 20 reserved; a seventh would need 21
    line.refresh_from_db()
    assert line.shipped_quantity == 18
    balance = StockBalance.objects.get()
    assert (balance.on_hand, balance.reserved) == (12, 2)
    assert Allocation.objects.aggregate(total=Sum("shipped_quantity"))["total"] == 18
    assert stock_control.stock_invariant_breaches() == []


def test_parallel_count_approvals_apply_once(logistics, manager, quality, product, warehouse):
    f.receive(product, warehouse, quantity=10, actor=logistics, lot_number="CNT")
    lot = Lot.objects.get()
    count = stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 7, "reason": "丢失"}])
    approvers = [manager, quality] * 8

    outcomes = run_together([lambda user=user: stock_control.approve_stock_count(actor=fresh(user), count=count) for user in approvers])

    assert unexpected(outcomes, InvalidTransition) == []
    assert sum(outcome[0] == "ok" for outcome in outcomes) == 1
    count.refresh_from_db()
    assert count.status == StockCountStatus.APPROVED
    assert StockBalance.objects.get().on_hand == 7
    assert stock_control.stock_invariant_breaches() == []
