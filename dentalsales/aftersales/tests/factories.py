"""Helpers that build after-sales test data through the real services."""

from dentalsales.accounts.roles import Role
from dentalsales.inventory.shipping import dispatch_shipment, review_shipment
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f


def ship(*, rep, supervisor, logistics, customer, lines, carrier="顺丰速运", quantities=None):
    """Enter, approve, release, pick, review and dispatch an order of ``lines`` ((product, quantity[, price])); return the shipment.

    A second logistics user reviews the picked goods, since the picker may not.
    """
    order = f.make_order(actor=rep, customer=customer, lines=lines)
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order)
    sales.release_order(actor=logistics, order=order)
    shipment = sales.ship_order(actor=logistics, order=order, carrier=carrier, quantities=quantities)
    checker = f.UserFactory(username="checker", roles=[Role.LOGISTICS])
    review_shipment(actor=checker, shipment=shipment, lines={line.pk: {} for line in shipment.lines.all()})
    return dispatch_shipment(actor=logistics, shipment=shipment)


def return_line(shipment_line, quantity, reason="quality_defect", **extra):
    return {
        "shipment_line": shipment_line.pk,
        "lot_number": shipment_line.lot_number,
        "quantity": quantity,
        "reason": reason,
        **extra,
    }
