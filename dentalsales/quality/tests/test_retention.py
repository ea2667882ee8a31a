"""Retention: products, lots and customers with traceability records cannot be deleted, on any path."""

import datetime

import pytest
from django.db import transaction
from django.db.models import ProtectedError
from django.test import Client

from dentalsales.catalog.models import Product
from dentalsales.customers.models import Customer
from dentalsales.inventory.models import Lot
from dentalsales.quality.models import Recall, RecallCustomer
from dentalsales.quality import services
from dentalsales.quality.retention import RecordRetained, ensure_deletable, retention_until
from dentalsales.testing import factories as f

from .factories import draft_recall

pytestmark = pytest.mark.django_db


def test_shipped_lot_not_deletable(shipped):
    lot = shipped["lots"][0]
    with pytest.raises(RecordRetained) as raised:
        ensure_deletable(lot)
    assert "shipment lines" in str(raised.value)
    assert "A001" in str(raised.value)
    with pytest.raises((RecordRetained, ProtectedError)):
        lot.delete()
    assert Lot.objects.filter(pk=lot.pk).exists()


def test_received_lot_not_deletable_by_queryset(product, warehouse, logistics):
    lot = f.receive(product, warehouse, quantity=3, actor=logistics, lot_number="R1").lot
    with pytest.raises((RecordRetained, ProtectedError)):
        Lot.objects.filter(pk=lot.pk).delete()
    assert Lot.objects.filter(pk=lot.pk).exists()


def test_customer_with_shipments_not_deletable(shipped):
    customer = shipped["customers"][0]
    with pytest.raises(RecordRetained) as raised:
        ensure_deletable(customer)
    assert customer.name in str(raised.value)
    with pytest.raises((RecordRetained, ProtectedError)):
        customer.delete()
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_product_with_records_not_deletable(product, shipped):
    with pytest.raises(RecordRetained):
        ensure_deletable(product)
    with pytest.raises((RecordRetained, ProtectedError)):
        product.delete()
    assert Product.objects.filter(pk=product.pk).exists()


def test_unused_records_deletable(rep):
    product = f.ProductFactory()
    customer = f.CustomerFactory(owner=rep)
    product.delete()
    customer.delete()
    assert not Product.objects.filter(pk=product.pk).exists()
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_recall_records_not_deletable(quality, product, shipped):
    recall = services.open_recall(actor=quality, recall=draft_recall(quality, product, [shipped["lots"][0]]))
    # The refusal rolls back the transaction the deletion runs in, so each attempt gets its own savepoint.
    with pytest.raises(RecordRetained), transaction.atomic():
        RecallCustomer.objects.filter(recall=recall).delete()
    with pytest.raises((RecordRetained, ProtectedError)), transaction.atomic():
        recall.delete()
    assert Recall.objects.filter(pk=recall.pk).exists()
    assert RecallCustomer.objects.filter(recall=recall).count() == 2


def test_admin_cannot_delete(product, shipped):
    admin_user = f.UserFactory(username="root", is_staff=True, is_superuser=True)
    client = Client(headers={"accept-language": "en"})
    client.force_login(admin_user)
    for url in (
        f"/admin/catalog/product/{product.pk}/delete/",
        f"/admin/inventory/lot/{shipped['lots'][0].pk}/delete/",
        f"/admin/customers/customer/{shipped['customers'][0].pk}/delete/",
    ):
        assert client.post(url, {"post": "yes"}).status_code == 403, url
    assert Product.objects.filter(pk=product.pk).exists()


def test_retention_period():
    product = f.ProductFactory.build(is_implantable=False)
    assert retention_until(product, datetime.date(2027, 5, 31)) == datetime.date(2029, 5, 31)
    assert retention_until(product, datetime.date(2028, 2, 29)) == datetime.date(2030, 2, 28)
    implant = f.ProductFactory.build(is_implantable=True)
    assert retention_until(implant, datetime.date(2027, 5, 31)) is None
