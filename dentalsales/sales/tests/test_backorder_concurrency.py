"""Backorder allocation under real concurrency on PostgreSQL: contended lots are never reserved twice."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from dentalsales.accounts.roles import Role
from dentalsales.inventory.models import Allocation, StockBalance
from dentalsales.sales import services
from dentalsales.sales.models import SalesOrder
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
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def released_with_backorder(rep, supervisor, logistics, customer, product, quantity):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, quantity)])
    services.submit_order(actor=rep, order=order)
    services.approve_order(actor=supervisor, order=order, reason="no stock yet")
    return services.release_order(actor=logistics, order=order, allow_partial=True)


def test_partial_releases_share_short_stock(rep, supervisor, manager, logistics, customer, product, warehouse):
    f.receive(product, warehouse, quantity=10, actor=logistics)
    orders = []
    for _ in range(4):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 4)])
        services.submit_order(actor=rep, order=order)
        orders.append(services.approve_order(actor=supervisor, order=order, reason="stock short"))

    outcomes = run_together(
        [lambda order=order: services.release_order(actor=fresh(logistics), order=order, allow_partial=True) for order in orders]
    )

    assert [kind for kind, _result in outcomes] == ["ok"] * 4
    balance = StockBalance.objects.get()
    assert (balance.on_hand, balance.reserved) == (10, 10)
    backordered = sorted(services.order_backordered_quantity(SalesOrder.objects.get(pk=order.pk)) for order in orders)
    assert sum(backordered) == 6
    assert all(0 <= quantity <= 4 for quantity in backordered)


def test_allocate_backorder_racing_itself_reserves_once(rep, supervisor, logistics, manager, customer, product, warehouse):
    order = released_with_backorder(rep, supervisor, logistics, customer, product, 10)
    f.receive(product, warehouse, quantity=30, actor=logistics)

    outcomes = run_together([lambda: services.allocate_backorder(actor=fresh(logistics), order=order) for _ in range(3)])

    assert sorted(kind for kind, _result in outcomes) == ["error", "error", "ok"]
    assert {getattr(result, "code", None) for kind, result in outcomes if kind == "error"} == {"no_backorder"}
    assert Allocation.objects.filter(order_line__order=order).aggregate(total=Sum("quantity"))["total"] == 10
    assert StockBalance.objects.get().reserved == 10


def test_two_command_runs_split_contended_stock(rep, supervisor, logistics, customer, product, warehouse):
    orders = [released_with_backorder(rep, supervisor, logistics, customer, product, 6) for _ in range(3)]
    f.receive(product, warehouse, quantity=10, actor=logistics)

    outcomes = run_together(
        [lambda: call_command("allocate_backorders", "--user", logistics.username, stdout=StringIO()) for _ in range(2)]
    )

    assert [kind for kind, _result in outcomes] == ["ok", "ok"]
    balance = StockBalance.objects.get()
    assert (balance.on_hand, balance.reserved) == (10, 10)
    # Oldest order first: the first is covered in full, the second gets the rest.
    assert [services.order_backordered_quantity(SalesOrder.objects.get(pk=order.pk)) for order in orders] == [0, 2, 6]
