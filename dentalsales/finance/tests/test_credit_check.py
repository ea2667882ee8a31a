"""The credit check of order review with receivables, advances, overdue days and credit releases."""

import datetime
from decimal import Decimal as D

import pytest

from dentalsales.core.errors import InvalidTransition
from dentalsales.core.timeutils import local_today
from dentalsales.finance import services
from dentalsales.finance.selectors import credit_position
from dentalsales.sales.models import OrderStatus
from dentalsales.sales.review import review_checks
from dentalsales.sales.services import approve_order, reject_order, submit_order, update_order
from dentalsales.testing import factories as f

from .factories import approved_order, dispatch, make_receivable

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep, credit_limit=D("1000.00"))


def credit_check(order):
    return next(check for check in review_checks(order) if check.code == "credit")


def submitted(rep, customer, lines):
    order = f.make_order(actor=rep, customer=customer, lines=lines)
    submit_order(actor=rep, order=order)
    return order


# (open receivables, unapplied payment, this order's quantity at 100.00, passes)
EXPOSURE_CASES = [
    ("0.00", None, 10, True),
    ("0.00", None, 11, False),
    ("300.00", None, 7, True),
    ("300.00", None, 8, False),
    ("300.00", "200.00", 9, True),
    ("300.00", "500.00", 10, True),
    ("300.00", "500.00", 13, False),
]


@pytest.mark.parametrize("open_amount,advance,quantity,passes", EXPOSURE_CASES)
def test_exposure_against_limit(finance, rep, customer, stocked_product, open_amount, advance, quantity, passes):
    if D(open_amount):
        make_receivable(customer=customer, amount=open_amount, invoiced_on=local_today())
    if advance:
        services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount=advance)
    order = submitted(rep, customer, [(stocked_product, quantity, "100.00")])

    check = credit_check(order)

    assert check.passed is passes
    assert check.blocking is True


def test_message_names_every_figure(finance, rep, customer, stocked_product):
    make_receivable(customer=customer, amount="600.00", invoiced_on=local_today())
    services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="700.00")
    order = submitted(rep, customer, [(stocked_product, 12, "100.00")])

    message = credit_check(order).message

    assert "Open receivables 0.00" in message
    assert "unapplied advances 100.00" in message
    assert "this order 1,200.00 = 1,100.00 exceeds the credit limit 1,000.00" in message


def test_partly_shipped_order_counts_receivable_and_unshipped_part(rep, supervisor, logistics, quality, customer, stocked_product):
    other = approved_order(rep=rep, reviewer=supervisor, customer=customer, lines=[(stocked_product, 5)])  # 130.00 each
    dispatch(order=other, picker=logistics, reviewer=quality, quantities={other.lines.get().pk: 2})

    position = credit_position(customer)

    assert position.open_receivables == D("260.00")
    assert position.open_orders == D("390.00")
    assert position.exposure == D("650.00")


def test_overdue_beyond_tolerance_fails(settings, rep, customer, stocked_product):
    settings.CREDIT_OVERDUE_TOLERANCE_DAYS = 30
    today = local_today()
    receivable = make_receivable(customer=customer, amount="10.00", invoiced_on=today - datetime.timedelta(days=90), due_on=today - datetime.timedelta(days=31))
    order = submitted(rep, customer, [(stocked_product, 1, "100.00")])

    check = credit_check(order)

    assert check.passed is False
    assert f"Receivable {receivable.number}" in check.message
    assert "31 days overdue, more than the 30 days allowed" in check.message


def test_overdue_within_tolerance_passes(settings, rep, customer, stocked_product):
    settings.CREDIT_OVERDUE_TOLERANCE_DAYS = 30
    today = local_today()
    make_receivable(customer=customer, amount="10.00", invoiced_on=today - datetime.timedelta(days=60), due_on=today - datetime.timedelta(days=30))
    order = submitted(rep, customer, [(stocked_product, 1, "100.00")])

    assert credit_check(order).passed is True


def test_paid_overdue_receivable_no_longer_counts(settings, finance, rep, customer, stocked_product):
    settings.CREDIT_OVERDUE_TOLERANCE_DAYS = 0
    today = local_today()
    make_receivable(customer=customer, amount="10.00", invoiced_on=today - datetime.timedelta(days=90), due_on=today - datetime.timedelta(days=60))
    services.record_payment(actor=finance, customer=customer, received_on=today, method="cash", amount="10.00")
    order = submitted(rep, customer, [(stocked_product, 1, "100.00")])

    assert credit_check(order).passed is True


class TestCreditRelease:
    def test_active_release_passes_and_says_so(self, finance, rep, supervisor, customer, stocked_product):
        services.grant_credit_release(actor=finance, customer=customer, reason="春节前回款承诺", valid_until=local_today())
        order = submitted(rep, customer, [(stocked_product, 10)])  # 1,300.00 at list price

        check = credit_check(order)
        approve_order(actor=supervisor, order=order)

        assert check.passed is True
        assert "exceeds the credit limit" in check.message
        assert "春节前回款承诺" in check.message

    def test_revoked_release_no_longer_passes(self, finance, rep, customer, stocked_product):
        release = services.grant_credit_release(actor=finance, customer=customer, reason="x", valid_until=local_today())
        services.revoke_credit_release(actor=finance, release=release, reason="客户未按期回款")
        order = submitted(rep, customer, [(stocked_product, 20, "100.00")])

        assert credit_check(order).passed is False

    def test_ended_release_no_longer_passes(self, finance, rep, customer, stocked_product):
        release = services.grant_credit_release(actor=finance, customer=customer, reason="x", valid_until=local_today())
        release.valid_from = release.valid_until = local_today() - datetime.timedelta(days=1)
        release.save()
        order = submitted(rep, customer, [(stocked_product, 20, "100.00")])

        assert credit_check(order).passed is False

    def test_approval_blocked_without_release(self, rep, supervisor, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 20, "100.00")])

        with pytest.raises(InvalidTransition):
            approve_order(actor=supervisor, order=order)

        order.refresh_from_db()
        assert order.status == OrderStatus.SUBMITTED


class TestResubmission:
    def test_raised_order_not_resubmitted(self, rep, supervisor, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 5, "100.00")])
        reject_order(actor=supervisor, order=order, reason="数量有误")
        update_order(actor=rep, order=order, lines=[{"product": stocked_product, "quantity": 15, "unit_price": "100.00"}])

        with pytest.raises(InvalidTransition) as caught:
            submit_order(actor=rep, order=order)

        assert "exceeds the credit limit" in str(caught.value)
        order.refresh_from_db()
        assert order.status == OrderStatus.REJECTED

    def test_order_within_limit_resubmitted(self, rep, supervisor, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 5, "100.00")])
        reject_order(actor=supervisor, order=order, reason="数量有误")

        submit_order(actor=rep, order=order)

        order.refresh_from_db()
        assert order.status == OrderStatus.SUBMITTED

    def test_release_lets_a_rejected_order_back(self, finance, rep, supervisor, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 15, "100.00")])
        reject_order(actor=supervisor, order=order, reason="超信用额度")
        services.grant_credit_release(actor=finance, customer=customer, reason="已承诺月底回款", valid_until=local_today())

        submit_order(actor=rep, order=order)

        order.refresh_from_db()
        assert order.status == OrderStatus.SUBMITTED

    def test_first_submission_is_not_blocked(self, rep, customer, stocked_product):
        order = submitted(rep, customer, [(stocked_product, 15, "100.00")])

        order.refresh_from_db()
        assert order.status == OrderStatus.SUBMITTED
