"""Credit exposure after real operations: partial shipments, partial returns, payments and reversals.

Each scenario runs the real services (order review, picking, outbound
review, dispatch, return approval and receipt, payments) and then compares
the customer's credit position with figures worked out by hand. The order
is 10 units at 100.00, so every amount below is easy to check.
"""

from decimal import Decimal as D

import pytest

from dentalsales.aftersales.services import returns
from dentalsales.core.timeutils import local_today
from dentalsales.finance import services
from dentalsales.finance.models import CreditNote
from dentalsales.finance.selectors import credit_position
from dentalsales.testing import factories as f

from .factories import approved_order, dispatch

pytestmark = pytest.mark.django_db

# (name, steps, (open receivables, open orders, unapplied advances, exposure))
SCENARIOS = [
    ("approved, nothing shipped", [], ("0.00", "1000.00", "0.00", "1000.00")),
    ("partial shipment", [("ship", 4)], ("400.00", "600.00", "0.00", "1000.00")),
    ("two shipments complete the order", [("ship", 4), ("ship", 6)], ("1000.00", "0.00", "0.00", "1000.00")),
    ("partial return of a partial shipment", [("ship", 4), ("return", 2, 2)], ("200.00", "600.00", "0.00", "800.00")),
    ("return received short", [("ship", 4), ("return", 3, 1)], ("300.00", "600.00", "0.00", "900.00")),
    ("payment above the open balance", [("ship", 4), ("pay", "500.00")], ("0.00", "600.00", "100.00", "500.00")),
    ("payment reversed", [("ship", 4), ("pay", "500.00"), ("reverse_payment",)], ("400.00", "600.00", "0.00", "1000.00")),
    ("return credit reversed", [("ship", 4), ("return", 2, 2), ("reverse_credit",)], ("400.00", "600.00", "0.00", "1000.00")),
    ("return after full payment leaves a credit", [("ship", 4), ("pay", "400.00"), ("return", 1, 1)], ("0.00", "600.00", "100.00", "500.00")),
    (
        "everything shipped, part returned, rest paid",
        [("ship", 4), ("ship", 6), ("return", 2, 2), ("pay", "800.00")],
        ("0.00", "0.00", "0.00", "0.00"),
    ),
]


@pytest.fixture
def order(rep, supervisor, stocked_product):
    # At list price, so that no discount authority comes into play.
    stocked_product.list_price = D("100.00")
    stocked_product.save(update_fields=["list_price"])
    customer = f.CustomerFactory(owner=rep, credit_limit=D("10000.00"), payment_terms_days=30)
    return approved_order(rep=rep, reviewer=supervisor, customer=customer, lines=[(stocked_product, 10, "100.00")])


def _ship(order, quantity, *, logistics, quality):
    line = order.lines.get()
    return dispatch(order=order, picker=logistics, reviewer=quality, quantities={line.pk: quantity})


def _return(shipment, requested, received, *, rep, supervisor, logistics):
    shipment_line = shipment.lines.get()
    request = returns.create_return(
        actor=rep,
        customer=shipment.customer,
        kind="return",
        lines=[{"shipment_line": shipment_line.pk, "lot_number": shipment_line.lot_number, "quantity": requested, "reason": "quality_defect"}],
    )
    returns.approve_return(actor=supervisor, request=request)
    return_line = request.lines.get()
    note = "" if received == requested else "客户只寄回部分货品"
    returns.receive_return(
        actor=logistics,
        request=request,
        lines=[{"id": return_line.pk, "received_quantity": received, "stock_quantity": received, "note": note}],
    )


@pytest.mark.parametrize("steps,expected", [(s, e) for _n, s, e in SCENARIOS], ids=[n for n, _s, _e in SCENARIOS])
def test_credit_position_after_steps(order, rep, supervisor, logistics, quality, finance, steps, expected):
    shipments, payments = [], []
    for step in steps:
        kind = step[0]
        if kind == "ship":
            shipments.append(_ship(order, step[1], logistics=logistics, quality=quality))
        elif kind == "return":
            _return(shipments[0], step[1], step[2], rep=rep, supervisor=supervisor, logistics=logistics)
        elif kind == "pay":
            payments.append(
                services.record_payment(
                    actor=finance, customer=order.customer, received_on=local_today(), method="bank_transfer", amount=step[1]
                )
            )
        elif kind == "reverse_payment":
            services.reverse_payment(actor=finance, payment=payments[-1], reason="录入错误")
        elif kind == "reverse_credit":
            credit_note = CreditNote.objects.filter(customer=order.customer).latest("pk")
            services.cancel_credit_note(actor=finance, credit_note=credit_note, reason="退货单录入错误")

    position = credit_position(order.customer)

    actual = (position.open_receivables, position.open_orders, position.unapplied_advances, position.exposure)
    assert actual == tuple(D(value) for value in expected)
    assert position.available == order.customer.credit_limit - position.exposure
