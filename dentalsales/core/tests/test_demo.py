"""The ``load_demo`` command: what it loads, and when it refuses to load."""

import datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F
from django.test import override_settings
from django.utils import translation

from dentalsales.accounts.models import Team, User
from dentalsales.accounts.roles import Role
from dentalsales.catalog.models import Category, Product
from dentalsales.core.timeutils import local_today
from dentalsales.core.validators import parse_registration_number, uscc_problem
from dentalsales.customers.compliance import qualification_problems
from dentalsales.customers.models import Customer, Qualification
from dentalsales.inventory.models import (
    Allocation,
    GoodsReceipt,
    Lot,
    LotStatus,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    StockBalance,
    StockLedgerEntry,
)
from dentalsales.quality import services as recall_services
from dentalsales.quality.models import Recall, RecallStatus
from dentalsales.sales.models import (
    OrderStatus,
    OrderStatusChange,
    SalesOrder,
    SalesOrderLine,
)
from dentalsales.sales.review import review_checks

DEMO_USERNAMES = {"admin", "manager", "supervisor", "rep", "rep2", "logistics", "finance", "quality"}
COUNTED_MODELS = [
    User, Team, Category, Product, Customer, Qualification, Lot, StockBalance, StockLedgerEntry, GoodsReceipt,
    SalesOrder, SalesOrderLine, OrderStatusChange, Allocation, Shipment,
]


def table_counts():
    return {model.__name__: model.objects.count() for model in COUNTED_MODELS}


def test_command_refuses_without_force_when_debug_off(settings, db):
    settings.DEBUG = False
    before = table_counts()

    with pytest.raises(CommandError, match="--force"):
        call_command("load_demo", stdout=StringIO())

    assert table_counts() == before


@pytest.fixture(scope="module")
def demo_output(django_db_setup, django_db_blocker):
    """Load the demo data once for the tests below (it takes seconds) and roll it back after them."""
    with django_db_blocker.unblock(), translation.override("en"), transaction.atomic():
        out = StringIO()
        with override_settings(DEBUG=True):
            call_command("load_demo", stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


def test_summary_lists_counts_and_logins(demo_output, db):
    assert "Demo data loaded." in demo_output
    assert "Products: " in demo_output
    assert "Partially shipped: 1" in demo_output
    assert "password for all: dentalsales" in demo_output
    for username in DEMO_USERNAMES:
        assert f"\n  {username} " in demo_output


def test_users_have_roles_and_password(demo_output, db):
    users = {user.username: user for user in User.objects.filter(username__in=DEMO_USERNAMES)}

    assert set(users) == DEMO_USERNAMES
    assert users["admin"].is_superuser
    assert users["admin"].groups.filter(name=Role.ADMINISTRATOR).exists()
    assert users["rep"].roles == {Role.REPRESENTATIVE}
    assert users["supervisor"].roles == {Role.SUPERVISOR}
    assert users["logistics"].roles == {Role.LOGISTICS}
    assert users["quality"].roles == {Role.QUALITY_OFFICER}
    assert all(user.last_name and user.first_name for user in users.values())
    assert all(user.check_password("dentalsales") for user in users.values())


def test_team_has_both_representatives(demo_output, db):
    team = Team.objects.get(name="华东销售一组")

    assert team.supervisor.username == "supervisor"
    assert set(team.members.values_list("username", flat=True)) == {"supervisor", "rep", "rep2"}


def test_counts_are_in_range(demo_output, db):
    assert 55 <= Customer.objects.count() <= 65
    assert 250 <= Product.objects.count() <= 350
    assert 30 <= Category.objects.filter(parent__isnull=False).count() <= 45
    assert 400 <= Lot.objects.count() <= 800
    assert 15 <= SalesOrder.objects.count() <= 25


def test_every_order_state_is_present(demo_output, db):
    states = set(SalesOrder.objects.values_list("status", flat=True))

    assert states == set(OrderStatus.values)


def test_customer_codes_pass_the_check(demo_output, db):
    problems = {customer.name: uscc_problem(customer.uscc) for customer in Customer.objects.all()}

    assert not {name: problem for name, problem in problems.items() if problem is not None}
    assert all(customer.uscc[2:8] == customer.region.code for customer in Customer.objects.select_related("region"))


def test_representatives_own_different_customers(demo_output, db):
    rep_customers = set(Customer.objects.filter(owner__username="rep").values_list("pk", flat=True))
    rep2_customers = set(Customer.objects.filter(owner__username="rep2").values_list("pk", flat=True))

    assert len(rep_customers) >= 20
    assert len(rep2_customers) >= 20
    assert Customer.objects.filter(owner__username="supervisor").count() >= 1


def test_some_qualifications_have_lapsed(demo_output, db):
    blocked = [customer for customer in Customer.objects.all() if qualification_problems(customer, {"II"})]

    assert 3 <= len(blocked) <= 10


def test_registration_numbers_match_device_class(demo_output, db):
    for product in Product.objects.all():
        parsed = parse_registration_number(product.registration_number)
        assert parsed is not None, product.registration_number
        kind, parts = parsed
        if product.device_class == "I":
            assert kind == "record", product.registration_number
            assert product.registration_valid_until is None
        else:
            assert kind == "registration", product.registration_number
            assert parts["device_class"] == {"II": "2", "III": "3"}[product.device_class]
            assert parts["category"] == "17"


def test_products_have_plausible_demo_values(demo_output, db):
    products = list(Product.objects.all())

    assert all(product.is_demo for product in products)
    assert len({product.name for product in products}) == len(products)
    assert all(product.list_price * 55 / 100 <= product.standard_cost <= product.list_price * 75 / 100 for product in products)
    assert all(product.is_implantable for product in products if product.category.code == "DZE")
    assert Product.objects.filter(category__code="DZE", device_class="III").count() >= 10


def test_some_registrations_lapse(demo_output, db):
    today = local_today()
    expired = Product.objects.filter(registration_valid_until__lt=today)
    expiring = Product.objects.filter(
        registration_valid_until__gte=today, registration_valid_until__lte=today + datetime.timedelta(days=60)
    )

    assert 2 <= expired.count() <= 10
    assert 2 <= expiring.count() <= 12
    assert not Lot.objects.filter(product__in=expired).exists()


def test_stock_has_mixed_expiry_dates(demo_output, db):
    today = local_today()
    lots = Lot.objects.filter(balances__on_hand__gt=0).distinct()

    assert lots.filter(expiry_date__lt=today).count() >= 5
    assert lots.filter(expiry_date__gte=today, expiry_date__lt=today + datetime.timedelta(days=180)).count() >= 20
    assert lots.filter(expiry_date__gte=today + datetime.timedelta(days=365)).count() >= 200
    assert StockBalance.objects.values("warehouse").distinct().count() == 2
    assert Product.objects.filter(lots__isnull=False).distinct().count() >= 250


def test_submitted_orders_pass_and_block(demo_output, db):
    checks_by_order = [review_checks(order) for order in SalesOrder.objects.filter(status=OrderStatus.SUBMITTED)]

    assert any(all(check.passed for check in checks) for checks in checks_by_order)
    assert any(
        not next(check for check in checks if check.code == "qualifications").passed for checks in checks_by_order
    )


def test_order_transitions_used_right_people(demo_output, db):
    rejected = SalesOrder.objects.get(status=OrderStatus.REJECTED)
    shipped = SalesOrder.objects.filter(status__in=[OrderStatus.SHIPPED, OrderStatus.COMPLETED])
    partial = SalesOrder.objects.get(status=OrderStatus.PARTIALLY_SHIPPED)

    assert rejected.rejection_reason
    assert rejected.status_changes.get(to_status=OrderStatus.REJECTED).actor.username == "supervisor"
    assert all(order.shipments.count() >= 1 for order in shipped)
    # One shipment is one dispatch, so it never mixes warehouses.
    assert all(
        len({line.warehouse_id for line in shipment.lines.all()}) == 1
        for order in shipped
        for shipment in order.shipments.all()
    )
    assert all(order.created_by.username in {"rep", "rep2", "supervisor"} for order in SalesOrder.objects.all())
    assert any(line.shipped_quantity < line.quantity for line in partial.lines.all())
    assert all(
        order.status_changes.get(to_status=OrderStatus.APPROVED).actor != order.created_by
        for order in SalesOrder.objects.filter(status_changes__to_status=OrderStatus.APPROVED).distinct()
    )


def test_command_second_run_changes_nothing(demo_output, db):
    before = table_counts()
    out = StringIO()

    with override_settings(DEBUG=True):
        call_command("load_demo", stdout=out)

    assert table_counts() == before
    assert "already loaded" in out.getvalue()


def test_command_force_passes_debug_guard(demo_output, db, settings):
    settings.DEBUG = False
    before = table_counts()
    out = StringIO()

    call_command("load_demo", force=True, stdout=out)

    assert "already loaded" in out.getvalue()
    assert table_counts() == before


def test_price_policy_loaded(demo_output, db):
    from dentalsales.pricing.models import (
        DiscountAuthority,
        LockedPrice,
        PaymentTermDiscount,
        PriceList,
    )

    assert sorted(PriceList.objects.values_list("grade", flat=True)) == ["A", "B"]
    assert all(price_list.items.count() > 0 for price_list in PriceList.objects.all())
    assert LockedPrice.objects.count() == 1
    assert PaymentTermDiscount.objects.count() == 1
    assert sorted(DiscountAuthority.objects.values_list("role", flat=True)) == ["manager", "representative", "supervisor"]


def _received_quantities(lot_ids):
    """Sum the quantities that left the warehouse per customer, straight from the shipment lines.

    Picked goods not yet dispatched are still in the warehouse, so their
    customers need no recall notice.
    """
    totals = {}
    gone = [ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED]
    for line in ShipmentLine.objects.filter(lot_id__in=lot_ids, shipment__status__in=gone).select_related("shipment"):
        totals[line.shipment.customer_id] = totals.get(line.shipment.customer_id, 0) + line.quantity
    return totals


def test_open_recall_drill_lists_every_customer_that_received_the_lot(demo_output, db):
    recall = Recall.objects.get(status=RecallStatus.OPEN)
    lot_ids = list(recall.lots.values_list("pk", flat=True))
    expected = _received_quantities(lot_ids)

    listed = {row.customer_id: row.quantity_shipped for row in recall.customers.all()}

    assert len(expected) >= 2
    assert listed == expected
    assert all(row.contact_name and row.contact_phone for row in recall.customers.all())
    assert set(Lot.objects.filter(pk__in=lot_ids).values_list("status", flat=True)) == {LotStatus.RECALLED}
    open_reservations = Allocation.objects.filter(
        lot_id__in=lot_ids, quantity__gt=F("shipped_quantity") + F("released_quantity")
    )
    assert not open_reservations.exists()


def test_opening_the_draft_recall_lists_the_right_customers(demo_output, db):
    quality = User.objects.get(username="quality")
    draft = Recall.objects.get(status=RecallStatus.DRAFT)
    lot_ids = list(draft.lots.values_list("pk", flat=True))
    expected = _received_quantities(lot_ids)

    with transaction.atomic():
        opened = recall_services.open_recall(actor=quality, recall=draft)
        listed = {row.customer_id: row.quantity_shipped for row in opened.customers.all()}
        transaction.set_rollback(True)

    assert expected
    assert listed == expected
