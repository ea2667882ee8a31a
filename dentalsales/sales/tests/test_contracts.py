"""Contract services: entry, review, signed copy, activation, drawdown, per role and state."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.sales import contracts as cs
from dentalsales.sales.models import (
    Contract,
    ContractDrawdown,
    ContractStatus,
    OrderStatus,
    SalesOrder,
)
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
C = ContractStatus
PDF = b"%PDF-1.4\n%test\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 20
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 20


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def make_contract(actor, customer, product, quantity=100, unit_price="110.00", **fields):
    return cs.create_contract(
        actor=actor,
        customer=customer,
        lines=[{"product": product, "quantity": quantity, "unit_price": unit_price, "delivery_date": "2027-03-01"}],
        **fields,
    )


def in_state(contract, status, **changes):
    Contract.objects.filter(pk=contract.pk).update(status=status, **changes)
    contract.refresh_from_db()
    return contract


def active_contract(rep, customer, product, quantity=100):
    contract = in_state(make_contract(rep, customer, product, quantity=quantity), C.ACTIVE)
    return contract


def test_create_numbers_and_totals(rep, customer, product):
    contract = make_contract(rep, customer, product, payment_terms="30 days", quality_terms="GSP")

    line = contract.lines.get()
    assert contract.number.startswith(f"SC-{local_today():%Y%m%d}-")
    assert contract.status == C.DRAFT
    assert contract.owner == rep
    assert contract.total_amount == Decimal("11000.00")
    assert contract.start_date == local_today()
    assert contract.end_date > contract.start_date
    assert line.specification == product.specification
    assert line.delivery_date == datetime.date(2027, 3, 1)
    assert line.remaining_quantity == 100


@pytest.mark.parametrize(
    ("line", "field", "value"),
    [
        ({"quantity": 0, "unit_price": "1"}, "lines[0].quantity", "0"),
        ({"quantity": 1, "unit_price": "abc"}, "lines[0].unit_price", "abc"),
        ({"quantity": 1, "unit_price": "1.23456"}, "lines[0].unit_price", "1.23456"),
        ({"quantity": 1, "unit_price": "0"}, "lines[0].unit_price", "0"),
        ({"quantity": 1, "unit_price": "-5"}, "lines[0].unit_price", "-5"),
        ({"quantity": 1, "unit_price": "1", "delivery_date": "soon"}, "lines[0].delivery_date", "soon"),
    ],
)
def test_bad_line_names_field_and_value(rep, customer, product, line, field, value):
    with pytest.raises(InvalidInput) as error:
        cs.create_contract(actor=rep, customer=customer, lines=[{"product": product, **line}])

    assert field in error.value.field_errors
    assert value in " ".join(error.value.field_errors[field])
    assert Contract.objects.count() == 0


def test_end_before_start_refused(rep, customer, product):
    with pytest.raises(InvalidInput) as error:
        make_contract(rep, customer, product, start_date="2027-01-10", end_date="2027-01-01")

    assert error.value.field == "end_date"
    assert Contract.objects.count() == 0


def test_logistics_may_not_create(logistics, customer, product):
    with pytest.raises(NotPermitted):
        make_contract(logistics, customer, product)

    assert Contract.objects.count() == 0


def test_other_reps_customer_unknown(rep2, customer, product):
    with pytest.raises(InvalidInput) as error:
        make_contract(rep2, customer, product)

    assert error.value.field == "customer"


def test_review_flow_to_active(rep, supervisor, customer, product):
    contract = make_contract(rep, customer, product)

    cs.submit_contract(actor=rep, contract=contract)
    cs.approve_contract(actor=supervisor, contract=contract)
    cs.attach_signed_copy(actor=rep, contract=contract, upload=SimpleUploadedFile("signed.pdf", PDF))
    cs.activate_contract(actor=rep, contract=contract)

    contract.refresh_from_db()
    assert contract.status == C.ACTIVE
    assert contract.reviewed_by == supervisor
    assert contract.signed_copy.name.endswith(".pdf")


def test_reject_returns_to_draft_with_reason(rep, supervisor, customer, product):
    contract = in_state(make_contract(rep, customer, product), C.UNDER_REVIEW)

    cs.reject_contract(actor=supervisor, contract=contract, reason="Price too low")

    contract.refresh_from_db()
    assert contract.status == C.DRAFT
    assert contract.rejection_reason == "Price too low"


def test_reject_needs_reason(rep, supervisor, customer, product):
    contract = in_state(make_contract(rep, customer, product), C.UNDER_REVIEW)

    with pytest.raises(InvalidInput):
        cs.reject_contract(actor=supervisor, contract=contract, reason="")

    contract.refresh_from_db()
    assert contract.status == C.UNDER_REVIEW


def test_rep_may_not_approve(rep, customer, product):
    contract = in_state(make_contract(rep, customer, product), C.UNDER_REVIEW)

    with pytest.raises(NotPermitted):
        cs.approve_contract(actor=rep, contract=contract)

    contract.refresh_from_db()
    assert contract.status == C.UNDER_REVIEW


def test_reviewer_may_not_approve_own_contract(supervisor, customer, product):
    contract = in_state(make_contract(supervisor, customer, product), C.UNDER_REVIEW)

    with pytest.raises(NotPermitted):
        cs.approve_contract(actor=supervisor, contract=contract)

    contract.refresh_from_db()
    assert contract.status == C.UNDER_REVIEW


def test_other_team_supervisor_cannot_see(rep, customer, product):
    other = f.UserFactory(username="other-supervisor", roles=["supervisor"], team=f.TeamFactory())
    contract = in_state(make_contract(rep, customer, product), C.UNDER_REVIEW)

    with pytest.raises(InvalidInput) as error:
        cs.approve_contract(actor=other, contract=contract)

    contract.refresh_from_db()
    assert error.value.code == "not_found"
    assert contract.status == C.UNDER_REVIEW


# Every service against every state it must refuse.
TRANSITION_CASES = [
    ("update", {C.DRAFT}),
    ("submit", {C.DRAFT}),
    ("approve", {C.UNDER_REVIEW, C.MANAGER_REVIEW}),
    ("reject", {C.UNDER_REVIEW, C.MANAGER_REVIEW}),
    ("activate", {C.SIGNED}),
    ("complete", {C.ACTIVE}),
    ("terminate", {C.SIGNED, C.ACTIVE}),
    ("attach", {C.SIGNED}),
]


def run(action, contract, rep, supervisor):
    if action == "update":
        return cs.update_contract(actor=rep, contract=contract, note="x")
    if action == "submit":
        return cs.submit_contract(actor=rep, contract=contract)
    if action == "approve":
        return cs.approve_contract(actor=supervisor, contract=contract)
    if action == "reject":
        return cs.reject_contract(actor=supervisor, contract=contract, reason="no")
    if action == "activate":
        return cs.activate_contract(actor=rep, contract=contract)
    if action == "complete":
        return cs.complete_contract(actor=rep, contract=contract)
    if action == "terminate":
        return cs.terminate_contract(actor=supervisor, contract=contract, reason="breach")
    return cs.attach_signed_copy(actor=rep, contract=contract, upload=SimpleUploadedFile("s.png", PNG))


@pytest.mark.parametrize(
    ("action", "status"),
    [(action, status) for action, allowed in TRANSITION_CASES for status in C.values if status not in allowed],
)
def test_transition_refused_from_wrong_state(rep, supervisor, customer, product, action, status):
    contract = in_state(make_contract(rep, customer, product), status)

    with pytest.raises(InvalidTransition):
        run(action, contract, rep, supervisor)

    contract.refresh_from_db()
    assert contract.status == status


def test_activate_needs_signed_copy(rep, customer, product):
    contract = in_state(make_contract(rep, customer, product), C.SIGNED)

    with pytest.raises(InvalidInput) as error:
        cs.activate_contract(actor=rep, contract=contract)

    contract.refresh_from_db()
    assert error.value.field == "signed_copy"
    assert contract.status == C.SIGNED


@pytest.mark.parametrize(("name", "content"), [("scan.jpg", JPEG), ("scan.jpeg", JPEG), ("scan.PNG", PNG)])
def test_signed_copy_formats_accepted(rep, customer, product, name, content):
    contract = in_state(make_contract(rep, customer, product), C.SIGNED)

    cs.attach_signed_copy(actor=rep, contract=contract, upload=SimpleUploadedFile(name, content))

    contract.refresh_from_db()
    assert contract.signed_copy


@pytest.mark.parametrize(
    ("name", "content"),
    [("scan.exe", PDF), ("scan.pdf", b"MZ\x90\x00 not a pdf"), ("scan.png", JPEG), ("scan", PDF)],
)
def test_signed_copy_wrong_type_refused(rep, customer, product, name, content):
    contract = in_state(make_contract(rep, customer, product), C.SIGNED)

    with pytest.raises(InvalidInput) as error:
        cs.attach_signed_copy(actor=rep, contract=contract, upload=SimpleUploadedFile(name, content))

    contract.refresh_from_db()
    assert error.value.field == "signed_copy"
    assert name in str(error.value)
    assert not contract.signed_copy


def test_signed_copy_over_10_mb_refused(rep, customer, product):
    contract = in_state(make_contract(rep, customer, product), C.SIGNED)
    upload = SimpleUploadedFile("big.pdf", PDF + b"\x00" * (10 * 1024 * 1024))

    with pytest.raises(InvalidInput) as error:
        cs.attach_signed_copy(actor=rep, contract=contract, upload=upload)

    contract.refresh_from_db()
    assert "10 MB" in str(error.value)
    assert not contract.signed_copy


def test_terminate_needs_supervisor_and_reason(rep, supervisor, customer, product):
    contract = active_contract(rep, customer, product)

    with pytest.raises(NotPermitted):
        cs.terminate_contract(actor=rep, contract=contract, reason="x")
    with pytest.raises(InvalidInput):
        cs.terminate_contract(actor=supervisor, contract=contract, reason=" ")
    cs.terminate_contract(actor=supervisor, contract=contract, reason="Customer closed")

    contract.refresh_from_db()
    assert contract.status == C.TERMINATED
    assert contract.termination_reason == "Customer closed"


def test_order_draws_down_at_contract_price(rep, customer, product):
    contract = active_contract(rep, customer, product)
    line = contract.lines.get()

    order = cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 40})

    line.refresh_from_db()
    order_line = order.lines.get()
    assert order.status == OrderStatus.DRAFT
    assert order.customer_reference == contract.number
    assert order_line.unit_price == Decimal("110.0000")
    assert order_line.quantity == 40
    assert line.drawn_quantity == 40
    assert line.remaining_quantity == 60
    assert ContractDrawdown.objects.get().order_line == order_line
    # The contract's agreed price needs no new discount approval.
    assert order_line.price_reasons == [f"Contract price, {contract.number}"]
    assert order_line.resolved_unit_price == Decimal("110.0000")


def test_drawing_more_than_remains_refused(rep, customer, product):
    contract = active_contract(rep, customer, product)
    line = contract.lines.get()
    cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 90})

    with pytest.raises(InvalidInput) as error:
        cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 11})

    line.refresh_from_db()
    assert f"lines[{line.pk}]" in error.value.field_errors
    assert "11" in str(error.value)
    assert line.drawn_quantity == 90
    assert SalesOrder.objects.count() == 1


def test_drawing_exactly_the_rest_allowed(rep, customer, product):
    contract = active_contract(rep, customer, product)
    line = contract.lines.get()

    cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 100})

    line.refresh_from_db()
    assert line.remaining_quantity == 0


@pytest.mark.parametrize("value", [0, "1.5", "x"])
def test_drawdown_bad_quantity_names_value(rep, customer, product, value):
    contract = active_contract(rep, customer, product)
    line = contract.lines.get()

    with pytest.raises(InvalidInput) as error:
        cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: value})

    assert str(value) in str(error.value)
    assert SalesOrder.objects.count() == 0


def test_drawdown_unknown_line_refused(rep, customer, product):
    contract = active_contract(rep, customer, product)

    with pytest.raises(InvalidInput):
        cs.create_order_from_contract(actor=rep, contract=contract, quantities={999999: 1})

    assert SalesOrder.objects.count() == 0


@pytest.mark.parametrize("status", [C.DRAFT, C.UNDER_REVIEW, C.SIGNED, C.COMPLETED, C.TERMINATED])
def test_drawdown_refused_unless_active(rep, customer, product, status):
    contract = in_state(make_contract(rep, customer, product), status)
    line = contract.lines.get()

    with pytest.raises(InvalidTransition):
        cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 1})

    assert SalesOrder.objects.count() == 0


def test_drawdown_refused_after_end_date(rep, customer, product):
    contract = active_contract(rep, customer, product)
    Contract.objects.filter(pk=contract.pk).update(
        start_date=local_today() - datetime.timedelta(days=30), end_date=local_today() - datetime.timedelta(days=1)
    )
    line = contract.lines.get()

    with pytest.raises(InvalidTransition):
        cs.create_order_from_contract(actor=rep, contract=contract, quantities={line.pk: 1})

    assert SalesOrder.objects.count() == 0


def test_visibility_per_role(rep, rep2, supervisor, manager, customer, product):
    contract = make_contract(rep, customer, product)
    other = make_contract(rep2, f.CustomerFactory(owner=rep2), product)

    assert set(cs.visible_contracts(rep)) == {contract}
    assert set(cs.visible_contracts(supervisor)) == {contract}
    assert set(cs.visible_contracts(manager)) == {contract, other}


def test_allowed_actions_by_role(rep, supervisor, customer, product):
    contract = in_state(make_contract(rep, customer, product), C.UNDER_REVIEW)

    assert cs.allowed_actions(contract, rep) == []
    assert cs.allowed_actions(contract, supervisor) == ["approve", "reject"]


def test_blank_end_date_refused_on_update(rep, customer, product):
    contract = make_contract(rep, customer, product)

    with pytest.raises(InvalidInput) as error:
        cs.update_contract(actor=rep, contract=contract, end_date="")

    assert error.value.field == "end_date"


@pytest.mark.parametrize(
    ("day", "expected"),
    [(datetime.date(2026, 12, 4), datetime.date(2027, 12, 4)), (datetime.date(2028, 2, 29), datetime.date(2029, 2, 28))],
)
def test_default_term_is_one_year(day, expected):
    assert cs._one_year_after(day) == expected
