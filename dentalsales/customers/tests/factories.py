import factory

from dentalsales.customers.models import Contact
from dentalsales.testing.factories import CustomerFactory


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"联系人{n}")
    title = "主任"
    mobile = factory.Sequence(lambda n: f"139{n:08d}")
