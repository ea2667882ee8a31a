import pytest

from dentalsales.testing import factories as f

from .factories import ship


@pytest.fixture
def shipment(rep, supervisor, logistics, customer, stocked_product):
    """A shipment of 10 units of one lot at 130.00 to ``customer``, the customer of ``rep``."""
    return ship(rep=rep, supervisor=supervisor, logistics=logistics, customer=customer, lines=[(stocked_product, 10, "130.00")])


@pytest.fixture
def shipment_line(shipment):
    return shipment.lines.get()


@pytest.fixture
def other_customer(rep2):
    return f.CustomerFactory(owner=rep2)
