"""factory_boy factories of the price policy. They write rows directly; tests of the rules go through the services."""

import datetime
from decimal import Decimal

import factory

from dentalsales.core.timeutils import local_today
from dentalsales.testing import factories as f

from ..models import (
    DiscountAuthority,
    LockedPrice,
    PaymentTermDiscount,
    PriceList,
    PriceListItem,
    VolumeTier,
)


class PriceListFactory(factory.django.DjangoModelFactory):
    """A grade B list valid from a year ago without an end; pass ``customer=`` and ``kind="customer"`` for a customer's list."""

    class Meta:
        model = PriceList

    name = factory.Sequence(lambda n: f"2026 B级价格表 {n}")
    kind = "grade"
    grade = "B"
    customer = None
    valid_from = factory.LazyFunction(lambda: local_today() - datetime.timedelta(days=365))
    valid_until = None
    priority = 0
    is_active = True


class CustomerPriceListFactory(PriceListFactory):
    name = factory.Sequence(lambda n: f"客户专属价格表 {n}")
    kind = "customer"
    grade = ""
    customer = factory.SubFactory(f.CustomerFactory)


class PriceListItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(f.ProductFactory)
    unit_price = Decimal("120.0000")


class VolumeTierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VolumeTier

    item = factory.SubFactory(PriceListItemFactory)
    min_quantity = 100
    unit_price = Decimal("110.0000")


class LockedPriceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LockedPrice

    customer = factory.SubFactory(f.CustomerFactory)
    product = factory.SubFactory(f.ProductFactory)
    unit_price = Decimal("99.5000")
    valid_from = factory.LazyFunction(lambda: local_today() - datetime.timedelta(days=30))
    valid_until = factory.LazyFunction(lambda: local_today() + datetime.timedelta(days=335))
    source = "tender"
    source_reference = factory.Sequence(lambda n: f"ZB-2026-{n:03d}")
    is_active = True


class PaymentTermDiscountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentTermDiscount

    max_payment_terms_days = 0
    discount_rate = Decimal("0.0200")
    is_active = True


class DiscountAuthorityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiscountAuthority
        django_get_or_create = ("role", "category")

    role = "representative"
    category = None
    min_share_of_list = Decimal("0.9000")


def price_list_with_item(product, unit_price, *, tiers=(), **list_fields):
    """Create a list holding ``product`` at ``unit_price`` with ``tiers`` as (min_quantity, price) pairs; return the list."""
    factory_class = CustomerPriceListFactory if list_fields.get("customer") is not None else PriceListFactory
    price_list = factory_class(**list_fields)
    item = PriceListItemFactory(price_list=price_list, product=product, unit_price=Decimal(unit_price))
    for min_quantity, price in tiers:
        VolumeTierFactory(item=item, min_quantity=min_quantity, unit_price=Decimal(price))
    return price_list
