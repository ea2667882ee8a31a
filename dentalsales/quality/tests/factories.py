"""Helpers that build shipped lots and recalls through the real services."""

from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

from .. import services


def ship(customer, lines, *, reviewer, logistics, carrier="顺丰速运", waybill_number="SF1234567890"):
    """Take an order for ``customer`` through review, release and picking; return the shipment."""
    order = f.make_order(actor=customer.owner, customer=customer, lines=lines)
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=reviewer, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)
    return sales.ship_order(actor=logistics, order=order, carrier=carrier, waybill_number=waybill_number)


def draft_recall(actor, product, lots, *, level="2", reason="厂家通知：包装密封不良，可能影响无菌"):
    return services.create_recall(actor=actor, product=product, lots=lots, level=level, reason=reason, source="厂家召回通知 2026-001")
