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


def test_two_recalls_same_lot_queue(quality, product, shipped_lot):
    recalls = [draft_recall(quality, product, [shipped_lot]) for _ in range(WORKERS)]

    def opener(recall):
        return lambda: services.open_recall(actor=User.objects.get(pk=quality.pk), recall=Recall.objects.get(pk=recall.pk))

    outcomes = run_together([opener(recall) for recall in recalls])

    assert [kind for kind, _ in outcomes] == ["ok"] * WORKERS, outcomes
    assert Lot.objects.get(pk=shipped_lot.pk).status == LotStatus.RECALLED
    assert RecallCustomer.objects.count() == 3 * WORKERS
    previous = sorted(RecallLot.objects.values_list("previous_status", flat=True))
    assert previous.count(LotStatus.AVAILABLE) == 1
    assert previous.count(LotStatus.RECALLED) == WORKERS - 1
