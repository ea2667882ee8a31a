"""Recalls under real concurrency on PostgreSQL: one recall opens once, two recalls of one lot queue.

Each test starts real threads at one barrier; every thread works on its
own database connection and closes it at the end.
"""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidTransition
from dentalsales.inventory.models import Lot, LotStatus
from dentalsales.quality import services
from dentalsales.quality.models import Recall, RecallCustomer, RecallLot, RecallStatus
from dentalsales.testing import factories as f

from .factories import draft_recall, ship

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises every writer, so row locks are never contended.",
    ),
    pytest.mark.django_db(transaction=True),
]
WORKERS = 16


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


@pytest.fixture
def shipped_lot(rep, supervisor, logistics, quality, product, warehouse):
    lot = f.receive(product, warehouse, quantity=40, actor=logistics, lot_number="P001").lot
    for name in ("北京口腔医院", "天津口腔诊所", "南京牙科诊所"):
        customer = f.CustomerFactory(owner=rep, name=name, min_shelf_life_days=30)
        ship(customer, [(product, 3)], reviewer=supervisor, logistics=logistics)
    return lot


def test_open_same_recall_once(quality, product, shipped_lot):
    recall = draft_recall(quality, product, [shipped_lot])

    def open_it():
        return services.open_recall(actor=User.objects.get(pk=quality.pk), recall=Recall.objects.get(pk=recall.pk))

    outcomes = run_together([open_it] * WORKERS)

    opened = [value for kind, value in outcomes if kind == "ok"]
    refused = [value for kind, value in outcomes if kind == "error"]
    assert len(opened) == 1
    assert len(refused) == WORKERS - 1
    assert all(isinstance(error, InvalidTransition) for error in refused), refused
    assert Recall.objects.get(pk=recall.pk).status == RecallStatus.OPEN
    assert RecallCustomer.objects.filter(recall=recall).count() == 3


def test_two_recalls_same_lot_only_one_opens(quality, product, shipped_lot):
    """Drafts of one lot entered at the same moment: opening them together opens one, and the others name it."""
    from dentalsales.core.errors import InvalidInput

    # Written directly, because the service refuses a second draft of the lot once the first is committed.
    recalls = []
    for index in range(WORKERS):
        recall = Recall.objects.create(number=f"RC-TEST-{index}", product=product, level="2", reason="并发录入", created_by=quality)
        RecallLot.objects.create(recall=recall, lot=shipped_lot)
        recalls.append(recall)

    def opener(recall):
        return lambda: services.open_recall(actor=User.objects.get(pk=quality.pk), recall=Recall.objects.get(pk=recall.pk))

    outcomes = run_together([opener(recall) for recall in recalls])

    opened = [value for kind, value in outcomes if kind == "ok"]
    refused = [value for kind, value in outcomes if kind == "error"]
    assert len(opened) == 1, outcomes
    assert len(refused) == WORKERS - 1
    assert all(isinstance(error, InvalidInput) for error in refused), refused
    assert all(opened[0].number in str(error) for error in refused)
    assert Lot.objects.get(pk=shipped_lot.pk).status == LotStatus.RECALLED
    assert RecallCustomer.objects.count() == 3
    assert list(RecallLot.objects.filter(recall=opened[0]).values_list("previous_status", flat=True)) == [LotStatus.AVAILABLE]


def test_open_recall_while_shipping_reserved_orders(quality, rep, supervisor, logistics, product, shipped_lot):
    """Each reservation on the lot is either shipped before the recall or released by it, never both and never left open."""
    from dentalsales.core.errors import InvalidInput
    from dentalsales.inventory.models import Allocation, StockBalance
    from dentalsales.quality.models import RecallReleasedReservation
    from dentalsales.sales import services as sales
    from dentalsales.sales.models import SalesOrder

    orders = []
    for index in range(WORKERS - 1):
        customer = f.CustomerFactory(owner=rep, min_shelf_life_days=30)
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 2)])
        sales.submit_order(actor=rep, order=order)
        sales.approve_order(actor=supervisor, order=order, reason="test")
        sales.release_order(actor=logistics, order=order)
        orders.append(order)
    on_hand_before = StockBalance.objects.get(lot=shipped_lot).on_hand
    recall = draft_recall(quality, product, [shipped_lot])

    def open_it():
        return services.open_recall(actor=User.objects.get(pk=quality.pk), recall=Recall.objects.get(pk=recall.pk))

    def shipper(order):
        return lambda: sales.ship_order(actor=User.objects.get(pk=logistics.pk), order=SalesOrder.objects.get(pk=order.pk), carrier="顺丰速运")

    outcomes = run_together([open_it] + [shipper(order) for order in orders])

    assert outcomes[0][0] == "ok", outcomes[0]
    shipped = [order for order, (kind, _value) in zip(orders, outcomes[1:]) if kind == "ok"]
    refused = [value for kind, value in outcomes[1:] if kind == "error"]
    assert all(isinstance(error, InvalidInput) for error in refused), refused
    allocations = list(Allocation.objects.filter(order_line__order__in=orders))
    assert all(allocation.open_quantity == 0 for allocation in allocations)
    assert all(allocation.shipped_quantity + allocation.released_quantity == 2 for allocation in allocations)
    released = RecallReleasedReservation.objects.filter(recall=recall)
    assert released.count() == len(orders) - len(shipped)
    assert sum(row.quantity for row in released) == sum(allocation.released_quantity for allocation in allocations)
    balance = StockBalance.objects.get(lot=shipped_lot)
    assert balance.reserved == 0
    assert balance.on_hand == on_hand_before - 2 * len(shipped)
