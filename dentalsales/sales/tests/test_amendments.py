"""Amending approved orders and reinstating cancelled ones: credit, price authority, contracts, stock, roles."""

import datetime
from decimal import Decimal

import pytest

from dentalsales.core.errors import InsufficientStock, InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.finance.services import grant_credit_release
from dentalsales.inventory.models import Allocation, StockBalance
from dentalsales.sales import contracts as cs
from dentalsales.sales.amendments import amend_order, reinstate_order
from dentalsales.sales.models import (
    Contract,
    ContractStatus,
    OrderStatus,
    OrderStatusChange,
    SalesOrderLine,
)
from dentalsales.sales.services import (
    allowed_actions,
    approve_order,
    cancel_order,
    release_order,
    submit_order,
)
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
D = Decimal
S = OrderStatus


def approved(rep, supervisor, customer, lines):
    order = f.make_order(actor=rep, customer=customer, lines=lines)
    submit_order(actor=rep, order=order)
    approve_order(actor=supervisor, order=order, reason="test set-up")
    order.refresh_from_db()
    return order


def line_of(order):
    return order.lines.get()


def snapshot(order):
    """Return the values that a rejected amendment or reinstatement must leave unchanged."""
    order.refresh_from_db()
    return (
        order.status,
        order.total_amount,
        sorted(order.lines.values_list("quantity", "unit_price")),
        order.status_changes.count(),
    )


@pytest.fixture
def limited_customer(rep):
    """A customer with a credit limit of 2,000.00 and nothing else owed: 10 × 130 = 1,300 fits."""
    return f.CustomerFactory(owner=rep, credit_limit=D("2000.00"))


@pytest.fixture
def order_1300(rep, supervisor, limited_customer, stocked_product):
    return approved(rep, supervisor, limited_customer, [(stocked_product, 10)])


# -- credit check on amendment -------------------------------------------------

AMEND_CREDIT_CASES = [
    # (case, change, credit release, passes, expected total)
    ("raise quantity over limit", {"quantity": 20}, False, False, D("1300.00")),
    ("raise quantity within limit", {"quantity": 15}, False, True, D("1950.00")),
    ("raise price over limit", {"unit_price": "250"}, False, False, D("1300.00")),
    ("raise quantity with credit release", {"quantity": 20}, True, True, D("2600.00")),
    ("lower quantity", {"quantity": 4}, False, True, D("520.00")),
]


@pytest.mark.parametrize(
    "change,release,passes,total",
    [case[1:] for case in AMEND_CREDIT_CASES],
    ids=[case[0] for case in AMEND_CREDIT_CASES],
)
def test_amend_credit_check(order_1300, supervisor, finance, limited_customer, change, release, passes, total):
    if release:
        grant_credit_release(
            actor=finance, customer=limited_customer, reason="付款承诺", valid_until=local_today() + datetime.timedelta(days=7)
        )
    before = snapshot(order_1300)
    line = line_of(order_1300)

    if passes:
        amend_order(actor=supervisor, order=order_1300, lines=[{"id": line.pk, **change}], reason="客户追加")
        order_1300.refresh_from_db()
        assert order_1300.total_amount == total
        assert order_1300.status == S.APPROVED
        assert order_1300.status_changes.last().action == "amend"
    else:
        with pytest.raises(InvalidTransition) as raised:
            amend_order(actor=supervisor, order=order_1300, lines=[{"id": line.pk, **change}], reason="客户追加")
        assert raised.value.code == "credit_check_failed"
        assert "2,000.00" in str(raised.value)
        assert "exceeds the credit limit" in str(raised.value)
        assert snapshot(order_1300) == before


def test_lowering_skips_credit_check_even_over_limit(order_1300, supervisor, limited_customer):
    limited_customer.credit_limit = D("100.00")
    limited_customer.save()

    amend_order(actor=supervisor, order=order_1300, lines=[{"id": line_of(order_1300).pk, "quantity": 5}], reason="客户减量")

    change = order_1300.status_changes.last()
    assert [check["code"] for check in change.checks] == []
    order_1300.refresh_from_db()
    assert order_1300.total_amount == D("650.00")


def test_refused_raise_names_exposure_figures(order_1300, supervisor):
    with pytest.raises(InvalidTransition) as raised:
        amend_order(actor=supervisor, order=order_1300, lines=[{"id": line_of(order_1300).pk, "quantity": 20}], reason="r")

    message = str(raised.value)
    assert "this order 2,600.00" in message
    assert "= 2,600.00 exceeds the credit limit 2,000.00" in message


def test_credit_release_named_in_recorded_check(order_1300, supervisor, finance, limited_customer):
    grant_credit_release(actor=finance, customer=limited_customer, reason="付款承诺", valid_until=local_today())

    amend_order(actor=supervisor, order=order_1300, lines=[{"id": line_of(order_1300).pk, "quantity": 20}], reason="r")

    credit = order_1300.status_changes.last().checks[0]
    assert credit["code"] == "credit"
    assert credit["passed"] is True
    assert "付款承诺" in credit["message"]


# -- what an amendment records and changes ---------------------------------------------


def test_amendment_records_old_and_new_values(order_1300, supervisor):
    line = line_of(order_1300)

    amend_order(
        actor=supervisor, order=order_1300, lines=[{"id": line.pk, "quantity": 12, "unit_price": "125"}], reason="客户要求"
    )

    change = order_1300.status_changes.last()
    assert change.from_status == S.APPROVED
    assert change.to_status == S.APPROVED
    assert change.reason == "客户要求"
    assert change.actor == supervisor
    by_field = {item["field"]: item for item in change.changes}
    assert (by_field["quantity"]["old"], by_field["quantity"]["new"]) == ("10", "12")
    assert (by_field["unit_price"]["old"], by_field["unit_price"]["new"]) == ("130.00", "125.00")
    assert (by_field["total_amount"]["old"], by_field["total_amount"]["new"]) == ("1300.00", "1500.00")
    line.refresh_from_db()
    assert line.amount == D("1500.00")
    assert line.tax_amount == D("172.57")
    assert line.resolved_unit_price == D("130.0000")
    assert line.price_reasons[0].startswith("Price entered by hand")


def test_added_line_priced_by_policy(order_1300, supervisor, warehouse, logistics):
    other = f.ProductFactory(list_price=D("50.00"))
    f.receive(other, warehouse, quantity=20, actor=logistics)

    amend_order(actor=supervisor, order=order_1300, lines=[{"product": other.pk, "quantity": 4}], reason="追加")

    order_1300.refresh_from_db()
    added = order_1300.lines.get(product=other)
    assert added.unit_price == D("50.00")
    assert order_1300.total_amount == D("1500.00")
    assert order_1300.status_changes.last().changes[0]["field"] == "line"


def test_amendment_needs_a_reason(order_1300, supervisor):
    before = snapshot(order_1300)

    with pytest.raises(InvalidInput) as raised:
        amend_order(actor=supervisor, order=order_1300, lines=[{"id": line_of(order_1300).pk, "quantity": 5}], reason=" ")

    assert raised.value.field_errors == {"reason": ["Give the reason for amending the order."]}
    assert snapshot(order_1300) == before


def test_amendment_without_change_refused(order_1300, supervisor):
    with pytest.raises(InvalidInput) as raised:
        amend_order(actor=supervisor, order=order_1300, lines=[{"id": line_of(order_1300).pk, "quantity": 10}], reason="r")

    assert "Nothing to amend" in str(raised.value)


@pytest.mark.parametrize(
    "line,key,text",
    [
        ({"id": 999999, "quantity": 2}, "lines[0].id", "“999999” is not a line of order"),
        ({"quantity": "x", "product": None}, "lines[0].product", "Unknown product"),
        ("LINE", "lines[0].quantity", "“0”"),
        ("LINE_PRICE", "lines[0].unit_price", "more than 4 decimal places"),
    ],
    ids=["unknown line", "new line without product", "zero quantity", "five decimals"],
)
def test_bad_amendment_names_line_and_field(order_1300, supervisor, line, key, text):
    existing = line_of(order_1300).pk
    if line == "LINE":
        line = {"id": existing, "quantity": 0}
    elif line == "LINE_PRICE":
        line = {"id": existing, "unit_price": "1.23456"}

    with pytest.raises(InvalidInput) as raised:
        amend_order(actor=supervisor, order=order_1300, lines=[line], reason="r")

    assert list(raised.value.field_errors) == [key]
    assert text in raised.value.field_errors[key][0]


def test_released_order_reserves_again(rep, supervisor, logistics, customer, stocked_product):
    order = approved(rep, supervisor, customer, [(stocked_product, 10)])
    release_order(actor=logistics, order=order)

    amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "quantity": 25}], reason="追加")

    order.refresh_from_db()
    assert order.status == S.RELEASED
    open_quantity = sum(a.open_quantity for a in Allocation.objects.filter(order_line__order=order))
    assert open_quantity == 25
    assert sum(StockBalance.objects.filter(lot__product=stocked_product).values_list("reserved", flat=True)) == 25


def test_released_order_short_of_stock_changes_nothing(rep, supervisor, logistics, customer, stocked_product):
    order = approved(rep, supervisor, customer, [(stocked_product, 10)])
    release_order(actor=logistics, order=order)
    before = snapshot(order)

    with pytest.raises(InsufficientStock):
        amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "quantity": 150}], reason="追加")

    assert snapshot(order) == before
    assert sum(StockBalance.objects.filter(lot__product=stocked_product).values_list("reserved", flat=True)) == 10


# -- roles and states ------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["rep", "logistics", "finance"])
def test_only_reviewers_amend(request, order_1300, persona):
    user = request.getfixturevalue(persona)
    before = snapshot(order_1300)

    with pytest.raises(NotPermitted):
        amend_order(actor=user, order=order_1300, lines=[{"id": line_of(order_1300).pk, "quantity": 5}], reason="r")

    assert "amend" not in allowed_actions(order_1300, user)
    assert snapshot(order_1300) == before


def test_manager_may_amend(order_1300, manager):
    amend_order(actor=manager, order=order_1300, lines=[{"id": line_of(order_1300).pk, "quantity": 5}], reason="r")

    assert "amend" in allowed_actions(order_1300, manager)


@pytest.mark.parametrize("status", [S.DRAFT, S.SUBMITTED, S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED])
def test_amend_refused_in_other_states(order_1300, supervisor, status):
    type(order_1300).objects.filter(pk=order_1300.pk).update(status=status)

    with pytest.raises(InvalidTransition):
        amend_order(actor=supervisor, order=order_1300, lines=[{"id": line_of(order_1300).pk, "quantity": 5}], reason="r")


def test_reviewer_who_entered_order_may_not_raise_it(supervisor, manager, limited_customer, stocked_product):
    order = approved(supervisor, manager, limited_customer, [(stocked_product, 5)])

    with pytest.raises(NotPermitted):
        amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "quantity": 6}], reason="r")
    amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "quantity": 4}], reason="r")


def test_price_below_supervisor_authority_needs_manager(order_1300, supervisor, manager):
    line = line_of(order_1300)
    before = snapshot(order_1300)

    with pytest.raises(NotPermitted) as raised:
        amend_order(actor=supervisor, order=order_1300, lines=[{"id": line.pk, "unit_price": "10"}], reason="清仓")

    assert "manager's approval" in str(raised.value)
    assert snapshot(order_1300) == before
    amend_order(actor=manager, order=order_1300, lines=[{"id": line.pk, "unit_price": "10"}], reason="清仓")
    price = order_1300.status_changes.last().checks[0]
    assert price["code"] == "price"
    assert price["passed"] is False


# -- contracts -------------------------------------------------------------------------


@pytest.fixture
def contract_order(rep, supervisor, customer, stocked_product):
    contract = cs.create_contract(
        actor=rep, customer=customer, lines=[{"product": stocked_product, "quantity": 30, "unit_price": "110"}]
    )
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.ACTIVE)
    contract_line = contract.lines.get()
    order = cs.create_order_from_contract(actor=rep, contract=contract, quantities={contract_line.pk: 20})
    submit_order(actor=rep, order=order)
    approve_order(actor=supervisor, order=order, reason="r")
    order.refresh_from_db()
    return order, contract, contract_line


def test_contract_line_quantity_raise_draws_more(contract_order, supervisor):
    order, _contract, contract_line = contract_order

    amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "quantity": 30}], reason="追加")

    contract_line.refresh_from_db()
    assert contract_line.drawn_quantity == 30
    assert line_of(order).contract_drawdown.quantity == 30


def test_contract_line_raise_beyond_remaining_refused(contract_order, supervisor):
    order, _contract, contract_line = contract_order
    before = snapshot(order)

    with pytest.raises(InvalidInput) as raised:
        amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "quantity": 31}], reason="追加")

    assert "Only 10 more" in raised.value.field_errors["lines[0].quantity"][0]
    contract_line.refresh_from_db()
    assert contract_line.drawn_quantity == 20
    assert snapshot(order) == before


def test_contract_line_lowering_gives_back(contract_order, supervisor):
    order, contract, contract_line = contract_order
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.TERMINATED)

    amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "quantity": 5}], reason="减量")

    contract_line.refresh_from_db()
    assert contract_line.drawn_quantity == 5


def test_contract_line_raise_on_inactive_contract_refused(contract_order, supervisor):
    order, contract, _contract_line = contract_order
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.TERMINATED)

    with pytest.raises(InvalidInput) as raised:
        amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "quantity": 21}], reason="追加")

    assert "only be drawn from an active contract" in raised.value.field_errors["lines[0].quantity"][0]


def test_contract_price_cannot_be_amended(contract_order, supervisor):
    order, _contract, _contract_line = contract_order

    with pytest.raises(InvalidInput) as raised:
        amend_order(actor=supervisor, order=order, lines=[{"id": line_of(order).pk, "unit_price": "100"}], reason="r")

    assert "drawn from contract" in raised.value.field_errors["lines[0].unit_price"][0]


# -- reinstatement ---------------------------------------------------------------------


def cancelled(order, actor):
    cancel_order(actor=actor, order=order, reason="客户取消")
    order.refresh_from_db()
    return order


REINSTATE_CREDIT_CASES = [
    # (case, credit limit after cancellation, credit release, passes)
    ("within limit", D("2000.00"), False, True),
    ("over limit", D("1000.00"), False, False),
    ("over limit with credit release", D("1000.00"), True, True),
]


@pytest.mark.parametrize(
    "limit,release,passes",
    [case[1:] for case in REINSTATE_CREDIT_CASES],
    ids=[case[0] for case in REINSTATE_CREDIT_CASES],
)
def test_reinstate_credit_check(order_1300, supervisor, manager, finance, limited_customer, limit, release, passes):
    cancelled(order_1300, supervisor)
    limited_customer.credit_limit = limit
    limited_customer.save()
    if release:
        grant_credit_release(actor=finance, customer=limited_customer, reason="付款承诺", valid_until=local_today())
    before = snapshot(order_1300)

    if passes:
        reinstate_order(actor=manager, order=order_1300, reason="客户恢复订单")
        order_1300.refresh_from_db()
        assert order_1300.status == S.APPROVED
        change = order_1300.status_changes.last()
        assert (change.from_status, change.to_status, change.action) == (S.CANCELLED, S.APPROVED, "reinstate")
    else:
        with pytest.raises(InvalidTransition) as raised:
            reinstate_order(actor=manager, order=order_1300, reason="客户恢复订单")
        assert raised.value.code == "credit_check_failed"
        assert "exceeds the credit limit 1,000.00" in str(raised.value)
        assert snapshot(order_1300) == before


def test_reinstate_counts_other_approved_orders(order_1300, rep, supervisor, manager, limited_customer, stocked_product):
    cancelled(order_1300, supervisor)
    approved(rep, supervisor, limited_customer, [(stocked_product, 6)])

    with pytest.raises(InvalidTransition) as raised:
        reinstate_order(actor=manager, order=order_1300, reason="r")

    assert "approved orders not yet shipped 780.00" in str(raised.value)


def test_reinstate_after_expired_qualification_goes_to_submitted(order_1300, supervisor, manager, limited_customer):
    cancelled(order_1300, supervisor)
    limited_customer.qualifications.update(valid_until=local_today() - datetime.timedelta(days=1))

    reinstate_order(actor=manager, order=order_1300, reason="r")

    order_1300.refresh_from_db()
    assert order_1300.status == S.SUBMITTED


def test_reinstate_by_reviewer_who_entered_goes_to_submitted(supervisor, manager, limited_customer, stocked_product):
    order = approved(supervisor, manager, limited_customer, [(stocked_product, 5)])
    cancelled(order, manager)

    reinstate_order(actor=supervisor, order=order, reason="r")

    order.refresh_from_db()
    assert order.status == S.SUBMITTED


def test_reinstate_draft_goes_back_to_draft(rep, supervisor, customer, stocked_product):
    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 3)])
    cancelled(order, rep)

    reinstate_order(actor=supervisor, order=order, reason="r")

    order.refresh_from_db()
    assert order.status == S.DRAFT


def test_reinstate_released_order_needs_release_again(rep, supervisor, manager, logistics, customer, stocked_product):
    order = approved(rep, supervisor, customer, [(stocked_product, 10)])
    release_order(actor=logistics, order=order)
    cancelled(order, logistics)

    reinstate_order(actor=manager, order=order, reason="r")

    order.refresh_from_db()
    assert order.status == S.APPROVED
    assert "release" in allowed_actions(order, logistics)


@pytest.mark.parametrize("persona", ["rep", "logistics", "finance"])
def test_only_reviewers_reinstate(request, order_1300, supervisor, persona):
    cancelled(order_1300, supervisor)
    user = request.getfixturevalue(persona)

    with pytest.raises(NotPermitted):
        reinstate_order(actor=user, order=order_1300, reason="r")

    order_1300.refresh_from_db()
    assert order_1300.status == S.CANCELLED


def test_reinstate_needs_reason_and_cancelled_state(order_1300, supervisor, manager):
    with pytest.raises(InvalidTransition):
        reinstate_order(actor=manager, order=order_1300, reason="r")
    cancelled(order_1300, supervisor)
    with pytest.raises(InvalidInput):
        reinstate_order(actor=manager, order=order_1300, reason="")


def test_reinstate_draws_contract_again(contract_order, supervisor, manager):
    order, _contract, contract_line = contract_order
    cancelled(order, supervisor)
    contract_line.refresh_from_db()
    assert contract_line.drawn_quantity == 0

    reinstate_order(actor=manager, order=order, reason="r")

    contract_line.refresh_from_db()
    assert contract_line.drawn_quantity == 20
    assert line_of(order).contract_drawdown.released_at is None
    cancel_order(actor=supervisor, order=order, reason="again")
    contract_line.refresh_from_db()
    assert contract_line.drawn_quantity == 0


def test_reinstate_refused_when_contract_used_up(contract_order, rep, supervisor, manager):
    order, contract, contract_line = contract_order
    cancelled(order, supervisor)
    cs.create_order_from_contract(actor=rep, contract=contract, quantities={contract_line.pk: 25})
    before = snapshot(order)

    with pytest.raises(InvalidTransition) as raised:
        reinstate_order(actor=manager, order=order, reason="r")

    assert raised.value.code == "contract_exhausted"
    assert "Only 5 of" in str(raised.value)
    assert snapshot(order) == before
    contract_line.refresh_from_db()
    assert contract_line.drawn_quantity == 25


def test_reinstate_refused_when_contract_not_active(contract_order, supervisor, manager):
    order, contract, _contract_line = contract_order
    cancelled(order, supervisor)
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.TERMINATED)

    with pytest.raises(InvalidTransition) as raised:
        reinstate_order(actor=manager, order=order, reason="r")

    assert "only be drawn from an active contract" in str(raised.value)


def test_refused_amendment_leaves_line_history_alone(order_1300, supervisor):
    line = line_of(order_1300)
    history_rows = line.history.count()

    with pytest.raises(InvalidTransition):
        amend_order(actor=supervisor, order=order_1300, lines=[{"id": line.pk, "quantity": 20}], reason="r")

    assert SalesOrderLine.objects.get(pk=line.pk).history.count() == history_rows
    assert OrderStatusChange.objects.filter(order=order_1300, action="amend").count() == 0
