"""The order review checklist: each check passes and fails on its own, and how approval uses it."""

import datetime
from decimal import Decimal

import pytest

from dentalsales.catalog.models import Product
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import QualificationKind
from dentalsales.inventory.models import Lot, LotStatus
from dentalsales.sales.models import OrderStatus, OrderStatusChange, SalesOrder
from dentalsales.sales.review import open_order_exposure, review_checks
from dentalsales.sales.services import (
    approve_order,
    cancel_order,
    reject_order,
    release_order,
    ship_order,
    submit_order,
)
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

D = Decimal
CHECK_CODES = ["qualifications", "registrations", "credit", "price", "stock", "duplicate"]
BLOCKING = {"qualifications": True, "registrations": True, "credit": True, "price": False, "stock": False, "duplicate": False}



def days(n):
    return local_today() + datetime.timedelta(days=n)


def checks_by_code(order):
    return {check.code: check for check in review_checks(order)}


def failed(order):
    return sorted(check.code for check in review_checks(order) if not check.passed)


def submitted(rep, customer, lines, **fields):
    order = f.make_order(actor=rep, customer=customer, lines=lines, **fields)
    submit_order(actor=rep, order=order)
    return order


def approved(rep, supervisor, customer, lines):
    order = submitted(rep, customer, lines)
    approve_order(actor=supervisor, order=order, reason="test set-up")
    return order


@pytest.fixture
def clean_order(rep, customer, stocked_product):
    """An order every check passes: valid licence and registration, list price, stock, credit, no twin."""
    return submitted(rep, customer, [(stocked_product, 10)])


class TestChecklist:
    def test_a_clean_order_passes_every_check(self, clean_order):
        checks = review_checks(clean_order)

        assert [check.code for check in checks] == CHECK_CODES
        assert all(check.passed for check in checks)
        assert {check.code: check.blocking for check in checks} == BLOCKING

    def test_checks_serialise_for_the_status_change(self, clean_order):
        data = review_checks(clean_order)[0].as_dict()

        assert set(data) == {"code", "passed", "blocking", "message"}
        assert data["code"] == "qualifications"


class TestQualifications:
    def test_an_expired_licence_is_a_blocking_failure(self, rep, stocked_product):
        customer = f.CustomerFactory(owner=rep, qualifications=[(QualificationKind.MEDICAL_INSTITUTION_LICENCE, days(-1))])
        order = submitted(rep, customer, [(stocked_product, 10)])

        check = checks_by_code(order)["qualifications"]

        assert failed(order) == ["qualifications"]
        assert check.blocking is True
        assert customer.qualifications.get().number in check.message
        assert str(days(-1)) in check.message

    def test_a_missing_licence_is_a_blocking_failure(self, rep, stocked_product):
        customer = f.CustomerFactory(owner=rep, qualifications=[])
        order = submitted(rep, customer, [(stocked_product, 10)])

        assert failed(order) == ["qualifications"]

    def test_a_distributor_needs_a_device_licence_for_class_iii(self, rep, warehouse, logistics):
        class_iii = f.ProductFactory(device_class="III", registration_number="国械注准20173170123")
        f.receive(class_iii, warehouse, quantity=50, actor=logistics)
        distributor = f.CustomerFactory(
            owner=rep,
            customer_type="distributor",
            qualifications=[(QualificationKind.BUSINESS_LICENCE, None), (QualificationKind.DEVICE_BUSINESS_RECORD, None)],
        )
        order = submitted(rep, distributor, [(class_iii, 5)])

        assert failed(order) == ["qualifications"]

    def test_a_licence_expiring_today_passes(self, rep, stocked_product):
        customer = f.CustomerFactory(owner=rep, qualifications=[(QualificationKind.MEDICAL_INSTITUTION_LICENCE, days(0))])
        order = submitted(rep, customer, [(stocked_product, 10)])

        assert failed(order) == []


class TestRegistrations:
    def test_an_expired_registration_is_a_blocking_failure(self, clean_order, stocked_product):
        Product.objects.filter(pk=stocked_product.pk).update(registration_valid_until=days(-1))

        check = checks_by_code(clean_order)["registrations"]

        assert failed(clean_order) == ["registrations"]
        assert check.blocking is True
        assert stocked_product.registration_number in check.message
        assert str(days(-1)) in check.message

    def test_a_registration_expiring_today_passes(self, clean_order, stocked_product):
        Product.objects.filter(pk=stocked_product.pk).update(registration_valid_until=days(0))

        assert failed(clean_order) == []

    def test_a_product_no_longer_sold_is_a_blocking_failure(self, clean_order, stocked_product):
        Product.objects.filter(pk=stocked_product.pk).update(is_active=False)

        assert failed(clean_order) == ["registrations"]

    def test_only_the_expired_product_is_named(self, rep, customer, stocked_product, warehouse, logistics):
        expired = f.ProductFactory()
        f.receive(expired, warehouse, quantity=10, actor=logistics)
        order = submitted(rep, customer, [(stocked_product, 1), (expired, 1)])
        Product.objects.filter(pk=expired.pk).update(registration_valid_until=days(-3))

        message = checks_by_code(order)["registrations"].message

        assert expired.registration_number in message
        assert stocked_product.registration_number not in message


class TestCredit:
    @pytest.fixture
    def customer(self, rep):
        return f.CustomerFactory(owner=rep, credit_limit=D("1000.00"))

    def test_exposure_above_limit_fails(self, rep, supervisor, customer, stocked_product):
        approved(rep, supervisor, customer, [(stocked_product, 5)])  # 650.00
        order = submitted(rep, customer, [(stocked_product, 3)])  # 390.00

        check = checks_by_code(order)["credit"]

        assert failed(order) == ["credit"]
        assert check.blocking is True
        assert "650.00" in check.message
        assert "1,040.00" in check.message
        assert "1,000.00" in check.message

    def test_exposure_equal_to_the_limit_passes(self, rep, supervisor, customer, stocked_product):
        customer.credit_limit = D("1040.00")
        customer.save()
        approved(rep, supervisor, customer, [(stocked_product, 5)])
        order = submitted(rep, customer, [(stocked_product, 3)])

        assert failed(order) == []

    def test_this_order_alone_above_the_limit_fails(self, rep, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 8)])  # 1,040.00

        assert failed(order) == ["credit"]

    @pytest.mark.parametrize("status", [OrderStatus.APPROVED, OrderStatus.RELEASED])
    def test_approved_and_released_orders_count_in_full(self, rep, supervisor, logistics, customer, stocked_product, status):
        other = approved(rep, supervisor, customer, [(stocked_product, 5)])
        if status == OrderStatus.RELEASED:
            release_order(actor=logistics, order=other)

        assert open_order_exposure(customer) == D("650.00")

    def test_a_partly_shipped_order_counts_only_its_unshipped_part(self, rep, supervisor, logistics, customer, stocked_product):
        other = approved(rep, supervisor, customer, [(stocked_product, 5)])
        release_order(actor=logistics, order=other)
        ship_order(carrier="顺丰速运", actor=logistics, order=other, quantities={other.lines.get().pk: 2})
        order = submitted(rep, customer, [(stocked_product, 3)])

        assert open_order_exposure(customer, exclude_order=order) == D("390.00")
        assert failed(order) == []  # 390.00 + 390.00 = 780.00 <= 1,000.00

    def test_a_fully_shipped_order_no_longer_counts(self, rep, supervisor, logistics, customer, stocked_product):
        other = approved(rep, supervisor, customer, [(stocked_product, 5)])
        release_order(actor=logistics, order=other)
        ship_order(carrier="顺丰速运", actor=logistics, order=other)

        assert open_order_exposure(customer) == D("0.00")

    def test_unapproved_orders_do_not_count(self, rep, supervisor, manager, customer, stocked_product):
        f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 4)])
        submitted(rep, customer, [(stocked_product, 5)])
        rejected = submitted(rep, customer, [(stocked_product, 6)])
        reject_order(actor=supervisor, order=rejected, reason="Wrong product")
        cancelled = approved(rep, supervisor, customer, [(stocked_product, 7)])
        cancel_order(actor=manager, order=cancelled, reason="Customer withdrew")
        order = submitted(rep, customer, [(stocked_product, 3)])

        assert open_order_exposure(customer, exclude_order=order) == D("0.00")
        assert failed(order) == []

    def test_other_customers_orders_do_not_count(self, rep, supervisor, customer, stocked_product):
        neighbour = f.CustomerFactory(owner=rep, credit_limit=D("100000.00"))
        approved(rep, supervisor, neighbour, [(stocked_product, 7)])
        order = submitted(rep, customer, [(stocked_product, 3)])

        assert failed(order) == []


class TestPrice:
    def test_a_price_below_list_is_a_soft_failure(self, rep, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 10, "115.00")])

        check = checks_by_code(order)["price"]

        assert failed(order) == ["price"]
        assert check.blocking is False
        assert "115.00" in check.message
        assert "88.46%" in check.message
        assert "supervisor" in check.message

    def test_price_within_representative_authority_passes(self, rep, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 10, "117.00")])

        assert failed(order) == []

    def test_price_below_supervisor_authority_needs_manager(self, rep, supervisor, manager, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 10, "100.00")])

        with pytest.raises(NotPermitted):
            approve_order(actor=supervisor, order=order, reason="招标价")
        order.refresh_from_db()
        status_after_supervisor = order.status
        approve_order(actor=manager, order=order, reason="招标价")
        order.refresh_from_db()

        assert "manager" in checks_by_code(order)["price"].message
        assert status_after_supervisor == OrderStatus.SUBMITTED
        assert order.status == OrderStatus.APPROVED

    @pytest.mark.parametrize("price", ["130.00", "130.0001", "150"])
    def test_list_price_or_above_passes(self, rep, customer, stocked_product, price):
        order = submitted(rep, customer, [(stocked_product, 10, price)])

        assert failed(order) == []

    def test_a_free_line_is_refused_at_entry(self, rep, customer, stocked_product):
        with pytest.raises(InvalidInput) as error:
            submitted(rep, customer, [(stocked_product, 1, "0")])

        assert "lines[0].unit_price" in error.value.field_errors
        assert SalesOrder.objects.count() == 0


class TestStock:
    def test_not_enough_stock_is_a_soft_failure(self, rep, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 101)])

        check = checks_by_code(order)["stock"]

        assert failed(order) == ["stock"]
        assert check.blocking is False
        assert "101 needed, 100 available" in check.message

    def test_stock_reserved_for_other_orders_is_not_available(self, rep, supervisor, logistics, customer, stocked_product):
        other = approved(rep, supervisor, customer, [(stocked_product, 95)])
        release_order(actor=logistics, order=other)
        order = submitted(rep, customer, [(stocked_product, 6)])

        assert failed(order) == ["stock"]

    def test_the_customers_shelf_life_requirement_is_respected(self, rep, product, warehouse, logistics):
        f.receive(product, warehouse, quantity=50, actor=logistics, expiry_days=200)
        demanding = f.CustomerFactory(owner=rep, min_shelf_life_days=201)
        relaxed = f.CustomerFactory(owner=rep, min_shelf_life_days=200)

        demanding_order = submitted(rep, demanding, [(product, 10)])
        relaxed_order = submitted(rep, relaxed, [(product, 10)])

        assert failed(demanding_order) == ["stock"]
        assert "201 days" in checks_by_code(demanding_order)["stock"].message
        assert failed(relaxed_order) == []

    def test_quarantined_stock_is_not_available(self, clean_order, stocked_product):
        Lot.objects.filter(product=stocked_product).update(status=LotStatus.QUARANTINED)

        assert failed(clean_order) == ["stock"]

    def test_lines_of_one_product_are_added_up(self, rep, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 60), (stocked_product, 41)])

        assert failed(order) == ["stock"]


class TestDuplicate:
    def test_same_lines_soft_failure(self, rep, customer, stocked_product):
        first = submitted(rep, customer, [(stocked_product, 10)])
        second = submitted(rep, customer, [(stocked_product, 10)])

        check = checks_by_code(second)["duplicate"]

        assert failed(second) == ["duplicate"]
        assert check.blocking is False
        assert first.number in check.message

    def test_lines_in_another_order_are_still_the_same(self, rep, customer, stocked_product, warehouse, logistics):
        other = f.ProductFactory()
        f.receive(other, warehouse, quantity=10, actor=logistics)
        submitted(rep, customer, [(stocked_product, 10), (other, 2)])
        second = submitted(rep, customer, [(other, 2), (stocked_product, 10)])

        assert failed(second) == ["duplicate"]

    def test_a_different_quantity_is_not_a_duplicate(self, rep, customer, stocked_product):
        submitted(rep, customer, [(stocked_product, 10)])
        second = submitted(rep, customer, [(stocked_product, 11)])

        assert failed(second) == []

    def test_an_extra_line_is_not_a_duplicate(self, rep, customer, stocked_product):
        other = f.ProductFactory()
        submitted(rep, customer, [(stocked_product, 10)])
        second = submitted(rep, customer, [(stocked_product, 10), (other, 1)])

        assert "duplicate" not in failed(second)

    def test_another_customers_order_is_not_a_duplicate(self, rep, customer, stocked_product):
        submitted(rep, f.CustomerFactory(owner=rep), [(stocked_product, 10)])
        order = submitted(rep, customer, [(stocked_product, 10)])

        assert failed(order) == []

    def test_a_cancelled_order_is_not_a_duplicate(self, rep, manager, customer, stocked_product):
        first = submitted(rep, customer, [(stocked_product, 10)])
        cancel_order(actor=manager, order=first, reason="Entered twice")
        second = submitted(rep, customer, [(stocked_product, 10)])

        assert failed(second) == []

    def test_the_window_is_inclusive_of_its_first_day(self, rep, customer, stocked_product, settings):
        settings.DUPLICATE_ORDER_WINDOW_DAYS = 3
        first = submitted(rep, customer, [(stocked_product, 10)])
        second = submitted(rep, customer, [(stocked_product, 10)])

        SalesOrder.objects.filter(pk=first.pk).update(order_date=days(-3))
        inside = failed(second)
        SalesOrder.objects.filter(pk=first.pk).update(order_date=days(-4))
        outside = failed(second)

        assert inside == ["duplicate"]
        assert outside == []


class TestApproval:
    def test_a_hard_failure_blocks_approval_and_changes_nothing(self, clean_order, supervisor, stocked_product):
        Product.objects.filter(pk=stocked_product.pk).update(registration_valid_until=days(-1))
        changes = OrderStatusChange.objects.filter(order=clean_order).count()

        with pytest.raises(InvalidTransition) as caught:
            approve_order(actor=supervisor, order=clean_order, reason="Approve anyway")

        assert caught.value.code == "review_blocked"
        assert stocked_product.registration_number in str(caught.value)
        clean_order.refresh_from_db()
        assert clean_order.status == OrderStatus.SUBMITTED
        assert clean_order.review_note == ""
        assert OrderStatusChange.objects.filter(order=clean_order).count() == changes

    def test_a_credit_failure_blocks_approval(self, rep, supervisor, stocked_product):
        customer = f.CustomerFactory(owner=rep, credit_limit=D("100.00"))
        order = submitted(rep, customer, [(stocked_product, 1)])

        with pytest.raises(InvalidTransition):
            approve_order(actor=supervisor, order=order, reason="Customer pays on delivery")

        order.refresh_from_db()
        assert order.status == OrderStatus.SUBMITTED

    @pytest.mark.parametrize("reason", ["", "   "])
    def test_a_soft_failure_without_reason_is_refused(self, rep, supervisor, customer, stocked_product, reason):
        order = submitted(rep, customer, [(stocked_product, 10, "100.00")])
        changes = OrderStatusChange.objects.filter(order=order).count()

        with pytest.raises(InvalidInput) as caught:
            approve_order(actor=supervisor, order=order, reason=reason)

        assert list(caught.value.field_errors) == ["reason"]
        order.refresh_from_db()
        assert order.status == OrderStatus.SUBMITTED
        assert OrderStatusChange.objects.filter(order=order).count() == changes

    def test_soft_failure_with_reason_approved(self, rep, supervisor, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 10, "110.00")])

        approve_order(actor=supervisor, order=order, reason="  Annual contract price ")

        order.refresh_from_db()
        change = OrderStatusChange.objects.filter(order=order).latest("id")
        assert order.status == OrderStatus.APPROVED
        assert order.review_note == "Annual contract price"
        assert (change.from_status, change.to_status, change.actor) == (OrderStatus.SUBMITTED, OrderStatus.APPROVED, supervisor)
        assert change.reason == "Annual contract price"
        assert [check["code"] for check in change.checks] == CHECK_CODES
        assert {check["code"]: check["passed"] for check in change.checks} == {
            "qualifications": True,
            "registrations": True,
            "credit": True,
            "price": False,
            "stock": True,
            "duplicate": True,
        }
        assert all(check["message"] for check in change.checks)

    def test_a_clean_order_is_approved_without_reason(self, clean_order, supervisor):
        approve_order(actor=supervisor, order=clean_order)

        change = OrderStatusChange.objects.filter(order=clean_order).latest("id")
        assert change.to_status == OrderStatus.APPROVED
        assert change.reason == ""
        assert all(check["passed"] for check in change.checks)

    def test_the_snapshot_keeps_what_was_true_at_approval(self, clean_order, supervisor, stocked_product):
        approve_order(actor=supervisor, order=clean_order)
        Product.objects.filter(pk=stocked_product.pk).update(registration_valid_until=days(-1))

        change = OrderStatusChange.objects.filter(order=clean_order).latest("id")
        assert next(c for c in change.checks if c["code"] == "registrations")["passed"] is True
