"""Contract drawdown under real concurrency on PostgreSQL: two orders race for the last units."""

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput
from dentalsales.sales import contracts as cs
from dentalsales.sales.models import (
    Contract,
    ContractDrawdown,
    ContractStatus,
    SalesOrder,
)
from dentalsales.sales.tests.test_concurrency import fresh, run_together
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


def test_two_orders_cannot_both_take_the_last_units():
    rep = f.UserFactory(roles=[Role.REPRESENTATIVE])
    customer = f.CustomerFactory(owner=rep)
    product = f.ProductFactory()
    contract = cs.create_contract(
        actor=rep, customer=customer, lines=[{"product": product, "quantity": 10, "unit_price": "100"}]
    )
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.ACTIVE)
    line = contract.lines.get()

    def draw():
        return cs.create_order_from_contract(actor=fresh(rep), contract=contract, quantities={line.pk: 7})

    outcomes = run_together([draw, draw])

    line.refresh_from_db()
    kinds = sorted(kind for kind, _ in outcomes)
    errors = [value for kind, value in outcomes if kind == "error"]
    assert kinds == ["error", "ok"]
    assert isinstance(errors[0], InvalidInput)
    assert line.drawn_quantity == 7
    assert SalesOrder.objects.count() == 1
    assert ContractDrawdown.objects.count() == 1
