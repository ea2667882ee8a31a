"""Returns under real concurrency on PostgreSQL: concurrent requests never take more than was shipped.

Each test starts real threads at one barrier; every thread works on its
own database connection and closes it at the end.
"""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Sum

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import Role
from dentalsales.aftersales.models import ReturnLine
from dentalsales.aftersales.services import create_return
from dentalsales.core.errors import InvalidInput

from .factories import return_line, ship

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
    return User.objects.get(pk=user.pk)


def test_concurrent_returns_never_exceed_shipped(rep, supervisor, logistics, customer, stocked_product):
    shipment = ship(rep=rep, supervisor=supervisor, logistics=logistics, customer=customer, lines=[(stocked_product, 10)])
    line = shipment.lines.get()

    outcomes = run_together(
        [lambda: create_return(actor=fresh(rep), customer=customer.pk, kind="return", lines=[return_line(line, 3)]) for _ in range(6)]
    )

    succeeded = [outcome for outcome in outcomes if outcome[0] == "ok"]
    refused = [outcome for outcome in outcomes if outcome[0] == "error"]
    assert len(succeeded) == 3
    assert all(isinstance(error, InvalidInput) for _kind, error in refused), refused
    assert ReturnLine.objects.filter(shipment_line=line).aggregate(total=Sum("quantity"))["total"] == 9


def test_concurrent_multi_line_returns_never_exceed_shipped(rep, supervisor, logistics, customer, stocked_product, product):
    shipment = ship(rep=rep, supervisor=supervisor, logistics=logistics, customer=customer, lines=[(stocked_product, 4)])
    line = shipment.lines.get()

    # Each request splits its units over two lines on the same shipment line.
    outcomes = run_together(
        [
            lambda: create_return(
                actor=fresh(rep), customer=customer.pk, kind="exchange", lines=[return_line(line, 1), return_line(line, 1)]
            )
            for _ in range(4)
        ]
    )

    assert sum(1 for outcome in outcomes if outcome[0] == "ok") == 2
    assert ReturnLine.objects.filter(shipment_line=line).aggregate(total=Sum("quantity"))["total"] == 4
