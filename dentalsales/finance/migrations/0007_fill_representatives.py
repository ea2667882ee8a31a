"""Fill the responsible representative of existing receivables and payments.

A receivable of an order takes the order's owner, the best record of who
was responsible at shipment. Opening balances and payments have no order,
so they take the customer's current owner; that is the only record left.
"""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def fill_representatives(apps, schema_editor):
    Receivable = apps.get_model("finance", "Receivable")
    Payment = apps.get_model("finance", "Payment")
    SalesOrder = apps.get_model("sales", "SalesOrder")
    Customer = apps.get_model("customers", "Customer")

    order_owner = SalesOrder.objects.filter(pk=OuterRef("order_id")).values("owner_id")[:1]
    customer_owner = Customer.objects.filter(pk=OuterRef("customer_id")).values("owner_id")[:1]
    Receivable.objects.filter(representative__isnull=True, order__isnull=False).update(representative_id=Subquery(order_owner))
    Receivable.objects.filter(representative__isnull=True).update(representative_id=Subquery(customer_owner))
    Payment.objects.filter(representative__isnull=True).update(representative_id=Subquery(customer_owner))


class Migration(migrations.Migration):
    dependencies = [
        ("finance", "0006_receivable_representative_reference"),
    ]

    operations = [migrations.RunPython(fill_representatives, migrations.RunPython.noop)]
