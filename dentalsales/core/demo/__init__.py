"""Demo data: staff, customers, products, stock and orders in every state.

Everything is written through the same service functions the screens use,
so the demo obeys every business rule. Random choices come from fixed
seeds: two loads into empty databases on the same day give the same data.
Dates are relative to the day of loading, so expiry warnings stay current.
"""

from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.test.utils import override_settings

from dentalsales.accounts.models import User
from dentalsales.catalog.models import Category
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import Lot
from dentalsales.sales.models import SalesOrder

from .aftersales import create_aftersales_records
from .catalog import create_categories, create_products
from .crm import create_crm_records
from .customer_profiles import create_customer_profiles, verify_demo_qualifications
from .customers import create_customers
from .finance import create_finance_records
from .negotiation import create_negotiations
from .orders import create_orders
from .pricing import create_price_policy
from .recalls import assign_demo_udi_dis, create_recall_drill
from .shipping import create_stock_control_records, move_demo_shipments
from .stock import create_warehouses, receive_demo_stock
from .users import DEMO_PASSWORD, DEMO_USERS, create_users

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "DemoSummary", "demo_data_loaded", "load_demo_data"]

# Its presence means the demo data is in the database.
MARKER_USERNAME = "admin"


@dataclass
class DemoSummary:
    users: int
    customers: int
    categories: int
    products: int
    warehouses: int
    lots: int
    receipts: int
    orders_by_status: dict


def demo_data_loaded():
    return User.objects.filter(username=MARKER_USERNAME).exists()


def load_demo_data():
    """Load the whole demo data set in one transaction and return a summary; nothing is kept on failure.

    E-mails that the services send on the way (quotations, notifications)
    go to a dummy backend: demo addresses must never receive real mail,
    even on a server with ``EMAIL_HOST`` set.
    """
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        return _load_demo_data()


@transaction.atomic
def _load_demo_data():
    today = local_today()
    users = create_users()
    categories = create_categories()
    products = create_products(actor=users["quality"], categories=categories, today=today)
    warehouses = create_warehouses()
    receipts = receive_demo_stock(actor=users["logistics"], products=products, warehouses=warehouses, today=today)
    customers = create_customers(users=users, today=today)
    verify_demo_qualifications(users=users)
    create_customer_profiles(users=users, customers=customers, today=today)
    create_price_policy(actor=users["manager"], products=products, customers=customers, today=today)
    orders = create_orders(users=users, customers=customers, products=products, today=today)
    move_demo_shipments(users=users, today=today)
    create_stock_control_records(users=users, products=products, warehouses=warehouses, today=today)
    assign_demo_udi_dis(products)
    create_recall_drill(users=users)
    create_negotiations(users=users, customers=customers, products=products)
    create_finance_records(users=users, customers=customers, today=today)
    create_crm_records(users=users, customers=customers, products=products, today=today)
    create_aftersales_records(users=users, customers=customers, today=today)
    return DemoSummary(
        users=len(users),
        customers=len(customers),
        categories=Category.objects.count(),
        products=len(products),
        warehouses=len(warehouses),
        lots=Lot.objects.filter(product__in=[product for product, _ in products]).count(),
        receipts=receipts,
        orders_by_status=dict(Counter(SalesOrder.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True))),
    )
