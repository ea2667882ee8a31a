"""Stock under real concurrency on PostgreSQL: releases never overbook a lot, receipts of a new lot merge.

Each test starts real threads at one barrier; every thread works on its
own database connection and closes it at the end.
"""

import datetime
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Sum

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InsufficientStock
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import (
    Allocation,
    GoodsReceipt,
    Lot,
    StockBalance,
    StockLedgerEntry,
)
from dentalsales.inventory.services import receive_stock
from dentalsales.sales.models import OrderStatus, SalesOrder
from dentalsales.sales.services import approve_order, release_order, submit_order
from dentalsales.testing import factories as f

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


def run_together(calls):
    """Run each callable in its own thread, all started at once; return ("ok", result) or ("error", exception) per call."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def work(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", call())
        except Exception as error:  # the test inspects every outcome
            outcomes[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return outcomes


def fresh(user):
    """The same user loaded on the calling thread's connection, with its own role cache."""
    return User.objects.get(pk=user.pk)


def test_concurrent_releases_never_overbook(rep, supervisor, logistics, customer, product, warehouse):
    f.receive(product, warehouse, quantity=50, actor=logistics, lot_number="L50")
    orders = []
    for _ in range(10):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 8)])
        submit_order(actor=rep, order=order)
        approve_order(actor=supervisor, order=order, reason="Repeat order for ten chairs")
        orders.append(order)

    outcomes = run_together([lambda order=order: release_order(actor=fresh(logistics), order=order) for order in orders])

    succeeded = [o for o in outcomes if o[0] == "ok"]
    refused = [o for o in outcomes if o[0] == "error" and isinstance(o[1], InsufficientStock)]
    balance = StockBalance.objects.get()
    allocations = Allocation.objects.all()
    assert [o for o in outcomes if o[0] == "error" and not isinstance(o[1], InsufficientStock)] == []
    assert len(succeeded) == 6
    assert len(refused) == 4
    assert balance.on_hand == 50
    assert balance.reserved == 48
    assert allocations.aggregate(total=Sum("quantity"))["total"] == 48
    assert sorted(allocations.values_list("quantity", flat=True)) == [8] * 6
    assert SalesOrder.objects.filter(status=OrderStatus.RELEASED).count() == 6
    assert SalesOrder.objects.filter(status=OrderStatus.APPROVED).count() == 4


def test_competing_releases_keep_fefo(rep, supervisor, logistics, customer, product, warehouse):
    f.receive(product, warehouse, quantity=20, actor=logistics, lot_number="EARLY", expiry_days=200)
    f.receive(product, warehouse, quantity=20, actor=logistics, lot_number="LATE", expiry_days=400)
    orders = []
    for _ in range(8):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 7)])
        submit_order(actor=rep, order=order)
        approve_order(actor=supervisor, order=order, reason="Standing order")
        orders.append(order)

    outcomes = run_together([lambda order=order: release_order(actor=fresh(logistics), order=order) for order in orders])

    reserved = dict(StockBalance.objects.values_list("lot__lot_number", "reserved"))
    assert [o for o in outcomes if o[0] == "error" and not isinstance(o[1], InsufficientStock)] == []
    assert sum(o[0] == "ok" for o in outcomes) == 5  # 5 × 7 = 35 of 40; a sixth would need 42
    assert reserved == {"EARLY": 20, "LATE": 15}
    assert Allocation.objects.aggregate(total=Sum("quantity"))["total"] == 35
    for balance in StockBalance.objects.all():
        assert 0 <= balance.reserved <= balance.on_hand


def test_concurrent_first_receipts_merge(product, warehouse, logistics):
    production, expiry = local_today() - datetime.timedelta(days=30), local_today() + datetime.timedelta(days=700)

    outcomes = run_together(
        [
            lambda: receive_stock(
                actor=fresh(logistics),
                product=product,
                warehouse=warehouse,
                lot_number="NEW-LOT",
                production_date=production,
                expiry_date=expiry,
                quantity=10,
            )
            for _ in range(8)
        ]
    )

    assert [o for o in outcomes if o[0] == "error"] == []
    assert Lot.objects.count() == 1
    assert StockBalance.objects.get().on_hand == 80
    assert StockLedgerEntry.objects.count() == 8
    assert StockLedgerEntry.objects.aggregate(total=Sum("quantity"))["total"] == 80
    numbers = sorted(GoodsReceipt.objects.values_list("number", flat=True))
    assert [int(number.rsplit("-", 1)[1]) for number in numbers] == list(range(1, 9))
