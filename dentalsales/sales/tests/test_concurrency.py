"""Sales orders under real concurrency on PostgreSQL: double submits, ship against cancel, credit.

Each test starts real threads at one barrier; every thread works on its
own database connection and closes it at the end.
"""

import threading
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Sum

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidTransition
from dentalsales.core.models import DocumentSequence
from dentalsales.inventory.models import (
    Allocation,
    Shipment,
    StockBalance,
    StockLedgerEntry,
)
from dentalsales.sales.models import (
    OrderStatus,
    OrderStatusChange,
    SalesOrder,
    SalesOrderLine,
)
from dentalsales.sales.services import (
    approve_order,
    cancel_order,
    create_order,
    release_order,
    ship_order,
    submit_order,
)
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


def test_concurrent_double_submit_one_order(rep, customer, product):
    def submit():
        return create_order(
            actor=fresh(rep),
            customer=customer.pk,
            channel="online",
            lines=[{"product": product.pk, "quantity": 2}],
            idempotency_key="checkout-7f3a",
        )

    outcomes = run_together([submit for _ in range(5)])

    assert [o for o in outcomes if o[0] == "error"] == []
    orders = {result[0].pk for _, result in outcomes}
    created_flags = sorted(result[1] for _, result in outcomes)
    assert len(orders) == 1
    assert created_flags == [False, False, False, False, True]
    assert SalesOrder.objects.count() == 1
    assert SalesOrderLine.objects.count() == 1
    assert OrderStatusChange.objects.count() == 1
    assert DocumentSequence.objects.get(prefix="SO").last_value == 1


def test_ship_racing_cancel_one_wins(rep, supervisor, manager, logistics, customer, product, warehouse):
    f.receive(product, warehouse, quantity=50, actor=logistics, lot_number="L50")
    orders = []
    for quantity in (5, 6, 7, 8):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, quantity)])
        submit_order(actor=rep, order=order)
        approve_order(actor=supervisor, order=order)
        release_order(actor=logistics, order=order)
        orders.append(order)
    calls = []
    for order in orders:
        calls.append(lambda order=order: ship_order(carrier="顺丰速运", actor=fresh(logistics), order=order))
        calls.append(lambda order=order: cancel_order(actor=fresh(manager), order=order, reason="Customer withdrew"))

    outcomes = run_together(calls)

    shipped_quantity = 0
    for index, order in enumerate(orders):
        ship, cancel = outcomes[2 * index], outcomes[2 * index + 1]
        order.refresh_from_db()
        assert sorted([ship[0], cancel[0]]) == ["error", "ok"], f"order {order.number}: {ship}, {cancel}"
        loser = ship if ship[0] == "error" else cancel
        assert isinstance(loser[1], InvalidTransition)
        if ship[0] == "ok":
            assert order.status == OrderStatus.SHIPPED
            shipped_quantity += order.lines.get().quantity
        else:
            assert order.status == OrderStatus.CANCELLED
            assert Shipment.objects.filter(order=order).count() == 0
    balance = StockBalance.objects.get()
    open_reserved = sum(a.open_quantity for a in Allocation.objects.all())
    assert balance.on_hand == 50 - shipped_quantity
    assert balance.on_hand == StockLedgerEntry.objects.aggregate(total=Sum("quantity"))["total"]
    assert balance.reserved == 0
    assert open_reserved == 0


def test_two_approvals_cannot_both_use_the_same_credit(rep, supervisor, manager, product, warehouse, logistics):
    f.receive(product, warehouse, quantity=50, actor=logistics)
    customer = f.CustomerFactory(owner=rep, credit_limit=Decimal("1000.00"))
    first = f.make_order(actor=rep, customer=customer, lines=[(product, 5)])  # 650.00
    second = f.make_order(actor=rep, customer=customer, lines=[(product, 6)])  # 780.00
    submit_order(actor=rep, order=first)
    submit_order(actor=rep, order=second)

    outcomes = run_together(
        [
            lambda: approve_order(actor=fresh(supervisor), order=first),
            lambda: approve_order(actor=fresh(manager), order=second),
        ]
    )

    assert sorted(o[0] for o in outcomes) == ["error", "ok"]
    refused = next(o[1] for o in outcomes if o[0] == "error")
    assert isinstance(refused, InvalidTransition)
    assert refused.code == "review_blocked"
    assert SalesOrder.objects.filter(status=OrderStatus.APPROVED).count() == 1
    assert SalesOrder.objects.filter(status=OrderStatus.SUBMITTED).count() == 1
