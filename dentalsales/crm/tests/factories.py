"""Factories of customer-development rows; writes that carry rules go through the services in the tests."""

import datetime
from decimal import Decimal

import factory

from dentalsales.core.timeutils import local_today
from dentalsales.crm.models import Activity, Gift
from dentalsales.customers.models import Contact
from dentalsales.testing.factories import CustomerFactory


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"王医生{n}")
    title = "院长"
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
    decision_role = "decision_maker"


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    customer = factory.SubFactory(CustomerFactory)
    owner = factory.LazyAttribute(lambda o: o.customer.owner)
    kind = "visit"
    occurred_on = factory.LazyFunction(lambda: local_today() - datetime.timedelta(days=1))
    subject = "产品介绍"
    status = "submitted"


class GiftFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Gift

    customer = factory.SubFactory(CustomerFactory)
    recipient = factory.LazyAttribute(lambda o: ContactFactory(customer=o.customer))
    owner = factory.LazyAttribute(lambda o: o.customer.owner)
    description = "口腔医学年会餐叙"
    value = Decimal("150.00")
    given_on = factory.LazyFunction(local_today)
    purpose = "学术交流"
    status = "given"
