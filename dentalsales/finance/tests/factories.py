"""Helpers that make receivables through the real services: order, release, pick, review, dispatch."""

import datetime
from decimal import Decimal

from dentalsales.finance.models import Receivable
from dentalsales.testing import factories as f


def approved_order(*, rep, reviewer, customer, lines):
    from dentalsales.sales.services import approve_order, submit_order

    order = f.make_order(actor=rep, customer=customer, lines=lines)
    submit_order(actor=rep, order=order)
    approve_order(actor=reviewer, order=order, reason="test")
    return order


def dispatch(*, order, picker, reviewer, quantities=None):
    """Release the order if needed, pick ``quantities`` (default everything), review and dispatch; return the shipment."""
    from dentalsales.inventory.shipping import dispatch_shipment, review_shipment
    from dentalsales.sales.models import OrderStatus
    from dentalsales.sales.services import release_order, ship_order

    order.refresh_from_db()
    if order.status == OrderStatus.APPROVED:
        release_order(actor=picker, order=order)
    shipment = ship_order(actor=picker, order=order, carrier="顺丰速运", quantities=quantities)
    review_shipment(actor=reviewer, shipment=shipment, lines={line.pk: {} for line in shipment.lines.all()})
    return dispatch_shipment(actor=picker, shipment=shipment)


def make_receivable(*, customer, amount, invoiced_on=None, due_on=None, actor=None):
    """Insert a receivable directly, without a shipment, for arithmetic and aging tests."""
    from dentalsales.core.services import next_document_number
    from django.db import transaction

    invoiced_on = invoiced_on or datetime.date(2026, 1, 1)
    amount = Decimal(amount)
    with transaction.atomic():
        return Receivable.objects.create(
            number=next_document_number("AR"),
            customer=customer,
            representative=customer.owner,
            invoiced_on=invoiced_on,
            due_on=due_on or invoiced_on + datetime.timedelta(days=customer.payment_terms_days),
            amount=amount,
            open_amount=amount,
            created_by=actor or customer.owner,
        )
