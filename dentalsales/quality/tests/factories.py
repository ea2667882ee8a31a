"""Helpers that build shipped lots and recalls through the real services."""

from dentalsales.accounts.roles import Role
from dentalsales.inventory import shipping
from dentalsales.inventory.models import ReviewLineResult
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

from .. import services


def ship(customer, lines, *, reviewer, logistics, carrier="顺丰速运", waybill_number="SF1234567890", dispatch=True):
    """Take an order for ``customer`` through review, release and picking, then dispatch it unless ``dispatch`` is false; return the shipment.

    Only a dispatched shipment counts as received by the customer in a
    recall; ``dispatch=False`` leaves the goods picked in the warehouse.
    """
    order = f.make_order(actor=customer.owner, customer=customer, lines=lines)
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=reviewer, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)
    shipment = sales.ship_order(actor=logistics, order=order, carrier=carrier, waybill_number=waybill_number)
    if dispatch:
        # An administrator, so the notification tests see no extra logistics or quality user.
        checker = f.UserFactory(roles=[Role.ADMINISTRATOR])
        lines = {line.pk: {"result": ReviewLineResult.OK} for line in shipment.lines.all()}
        shipping.review_shipment(actor=checker, shipment=shipment, lines=lines)
        shipping.dispatch_shipment(actor=logistics, shipment=shipment)
        shipment.refresh_from_db()
    return shipment


def draft_recall(actor, product, lots, *, level="2", reason="厂家通知：包装密封不良，可能影响无菌"):
    return services.create_recall(actor=actor, product=product, lots=lots, level=level, reason=reason, source="厂家召回通知 2026-001")
