import pytest

from dentalsales.testing import factories as f

from .factories import ship


@pytest.fixture
def shipped(rep, rep2, supervisor, manager, logistics, warehouse, product):
    """Lots of ``product``: A001 shipped to two customers of two representatives, B002 to a third, C003 unshipped."""
    lot_a = f.receive(product, warehouse, quantity=50, actor=logistics, lot_number="A001", expiry_days=200).lot
    customer1 = f.CustomerFactory(owner=rep, name="北京口腔医院", contact_name="王主任", contact_phone="010-1234 5678", min_shelf_life_days=30)
    customer2 = f.CustomerFactory(owner=rep2, name="成都牙科诊所", contact_name="李护士", contact_phone="028-8765 4321", min_shelf_life_days=30)
    ship(customer1, [(product, 10)], reviewer=supervisor, logistics=logistics)
    ship(customer1, [(product, 5)], reviewer=supervisor, logistics=logistics)
    ship(customer2, [(product, 7)], reviewer=manager, logistics=logistics)
    lot_b = f.receive(product, warehouse, quantity=30, actor=logistics, lot_number="B002", expiry_days=100).lot
    customer3 = f.CustomerFactory(owner=rep, name="上海齿科门诊", min_shelf_life_days=30)
    ship(customer3, [(product, 4)], reviewer=supervisor, logistics=logistics)
    lot_c = f.receive(product, warehouse, quantity=30, actor=logistics, lot_number="C003", expiry_days=600).lot
    return {"lots": (lot_a, lot_b, lot_c), "customers": (customer1, customer2, customer3)}
