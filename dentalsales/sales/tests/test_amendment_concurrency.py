"""Amendments under real concurrency on PostgreSQL: two raises for one customer share its credit."""

from decimal import Decimal

import pytest
from django.db import connection

from dentalsales.core.errors import InvalidTransition
from dentalsales.sales.amendments import amend_order
from dentalsales.sales.services import approve_order, submit_order
from dentalsales.testing import factories as f

from .test_concurrency import _role_groups, fresh, run_together  # noqa: F401 (fixture used by name)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises every writer, so row locks are never contended.",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_two_raises_cannot_both_use_the_same_credit(rep, supervisor, manager, product, warehouse, logistics):
    f.receive(product, warehouse, quantity=100, actor=logistics)
    # Two approved orders of 3 × 130 = 390 each; raising either to 6 (780) fits 1,200 alone, both do not.
    customer = f.CustomerFactory(owner=rep, credit_limit=Decimal("1200.00"))
    orders = []
    for _ in range(2):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 3)])
        submit_order(actor=rep, order=order)
        approve_order(actor=supervisor, order=order, reason="test set-up")
        orders.append(order)

    def raise_to_six(order, actor):
        return lambda: amend_order(
            actor=fresh(actor), order=order, lines=[{"id": order.lines.get().pk, "quantity": 6}], reason="追加"
        )

    outcomes = run_together([raise_to_six(orders[0], supervisor), raise_to_six(orders[1], manager)])

    kinds = sorted(kind for kind, _ in outcomes)
    errors = [value for kind, value in outcomes if kind == "error"]
    assert kinds == ["error", "ok"]
    assert isinstance(errors[0], InvalidTransition)
    assert errors[0].code == "credit_check_failed"
    totals = sorted(order.__class__.objects.filter(customer=customer).values_list("total_amount", flat=True))
    assert totals == [Decimal("390.00"), Decimal("780.00")]
