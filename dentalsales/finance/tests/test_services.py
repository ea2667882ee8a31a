"""Receivable arithmetic: payments, allocations, credit notes, reversals and the input they refuse."""

import datetime
from decimal import Decimal as D

import pytest

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.finance import services
from dentalsales.finance.models import CreditNote, DocumentStatus, Payment, PaymentAllocation, Receivable
from dentalsales.testing import factories as f

from .factories import approved_order, dispatch, make_receivable

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep)


@pytest.fixture
def two_receivables(customer, finance):
    """R1 100.00 invoiced 1 January, R2 200.00 invoiced 1 February."""
    first = make_receivable(customer=customer, amount="100.00", invoiced_on=datetime.date(2026, 1, 1))
    second = make_receivable(customer=customer, amount="200.00", invoiced_on=datetime.date(2026, 2, 1))
    return first, second


def pay(finance, customer, amount, allocations=None):
    return services.record_payment(
        actor=finance,
        customer=customer,
        received_on=local_today(),
        method="bank_transfer",
        amount=amount,
        reference="BANK-1",
        allocations=allocations,
    )


def credit(finance, customer, amount, receivable=None):
    """Issue a credit note as finance does by hand: an amount above what is creditable is refused."""
    return services.record_credit_note(
        actor=finance, customer=customer, amount=amount, reason="Returned goods", source_reference="RT-1", receivable=receivable
    )


def unapplied(customer):
    payments = sum(p.unapplied_amount for p in Payment.objects.filter(customer=customer, status=DocumentStatus.POSTED))
    credits = sum(c.unapplied_amount for c in CreditNote.objects.filter(customer=customer, status=DocumentStatus.POSTED))
    return D(payments) + D(credits)


# Each step: ("pay", amount, [(receivable index, amount)] or None), ("credit", amount, receivable index or None),
# ("reverse_payment", payment index), ("reverse_credit", credit note index).
SCENARIOS = [
    ("partial payment", [("pay", "50.00", None)], ("50.00", "200.00", "0.00")),
    ("payment over the first", [("pay", "150.00", None)], ("0.00", "150.00", "0.00")),
    ("exact payment of both", [("pay", "300.00", None)], ("0.00", "0.00", "0.00")),
    ("overpayment stays as advance", [("pay", "400.00", None)], ("0.00", "0.00", "100.00")),
    ("allocation by hand", [("pay", "300.00", [(1, "200.00")])], ("100.00", "0.00", "100.00")),
    ("two hand allocations", [("pay", "120.00", [(1, "70.00"), (0, "50.00")])], ("50.00", "130.00", "0.00")),
    ("one cent", [("pay", "0.01", None)], ("99.99", "200.00", "0.00")),
    ("partial return credits its receivable", [("credit", "30.00", 1)], ("100.00", "170.00", "0.00")),
    ("credit of a whole receivable", [("credit", "200.00", 1)], ("100.00", "0.00", "0.00")),
    ("credit above its receivable spills oldest first", [("pay", "150.00", [(1, "150.00")]), ("credit", "80.00", 1)], ("70.00", "0.00", "0.00")),
    ("credit without receivable goes oldest first", [("credit", "120.00", None)], ("0.00", "180.00", "0.00")),
    ("credit above all open stays unapplied", [("credit", "350.00", None)], ("0.00", "0.00", "50.00")),
    ("payment reversal restores", [("pay", "150.00", None), ("reverse_payment", 0)], ("100.00", "200.00", "0.00")),
    ("reversal of an advance", [("pay", "400.00", None), ("reverse_payment", 0)], ("100.00", "200.00", "0.00")),
    ("credit reversal restores", [("credit", "30.00", 1), ("reverse_credit", 0)], ("100.00", "200.00", "0.00")),
    (
        "credit reversal after full payment reopens only the credit",
        [("credit", "30.00", 1), ("pay", "270.00", None), ("reverse_credit", 0)],
        ("0.00", "30.00", "0.00"),
    ),
    (
        "payment reversal keeps the later payment",
        [("pay", "60.00", None), ("pay", "60.00", None), ("reverse_payment", 0)],
        ("60.00", "180.00", "0.00"),
    ),
    (
        "reversing both payment and credit restores all",
        [("credit", "50.00", 0), ("pay", "250.00", None), ("reverse_payment", 0), ("reverse_credit", 0)],
        ("100.00", "200.00", "0.00"),
    ),
]


@pytest.mark.parametrize("steps,expected", [(steps, expected) for _name, steps, expected in SCENARIOS], ids=[s[0] for s in SCENARIOS])
def test_balances_after_steps(finance, customer, two_receivables, steps, expected):
    payments, credit_notes = [], []
    for step in steps:
        kind = step[0]
        if kind == "pay":
            allocations = None
            if step[2]:
                allocations = [{"receivable": two_receivables[index].pk, "amount": amount} for index, amount in step[2]]
            payments.append(pay(finance, customer, step[1], allocations))
        elif kind == "credit":
            target = two_receivables[step[2]] if step[2] is not None else None
            credit_notes.append(credit(finance, customer, step[1], target))
        elif kind == "reverse_payment":
            services.reverse_payment(actor=finance, payment=payments[step[1]], reason="Bank returned the transfer")
        elif kind == "reverse_credit":
            services.reverse_credit_note(credit_note=credit_notes[step[1]], actor=finance, reason="Return cancelled")

    first, second = (Receivable.objects.get(pk=r.pk) for r in two_receivables)
    assert first.open_amount == D(expected[0])
    assert second.open_amount == D(expected[1])
    assert unapplied(customer) == D(expected[2])
    for receivable in (first, second):
        assert receivable.open_amount == receivable.amount - receivable.paid_amount - receivable.credited_amount


def snapshot(customer):
    return (
        list(Receivable.objects.filter(customer=customer).order_by("pk").values_list("open_amount", "paid_amount", "credited_amount")),
        Payment.objects.count(),
        PaymentAllocation.objects.count(),
        CreditNote.objects.count(),
    )


@pytest.mark.parametrize(
    "amount,message",
    [
        ("0", "greater than 0, not 0"),
        ("0.00", "greater than 0, not 0.00"),
        ("-5", "greater than 0, not -5"),
        ("10.005", "10.005 has more than 2 decimal places"),
        ("abc", "“abc” is not an amount"),
        ("", "Enter an amount"),
        ("NaN", "“NaN” is not an amount"),
        ("2000000000", "2,000,000,000.00 exceeds"),
    ],
)
def test_bad_payment_amount_changes_nothing(finance, customer, two_receivables, amount, message):
    before = snapshot(customer)

    with pytest.raises(InvalidInput) as caught:
        pay(finance, customer, amount)

    assert message in str(caught.value)
    assert caught.value.field == "amount"
    assert snapshot(customer) == before


def test_allocation_above_open_balance_is_refused(finance, customer, two_receivables):
    first, _second = two_receivables
    before = snapshot(customer)

    with pytest.raises(InvalidInput) as caught:
        pay(finance, customer, "500.00", [{"receivable": first.pk, "amount": "100.01"}])

    assert "100.01 exceeds the open balance 100.00" in str(caught.value)
    assert "allocations[0].amount" in caught.value.field_errors
    assert snapshot(customer) == before


def test_allocations_above_payment_are_refused(finance, customer, two_receivables):
    first, second = two_receivables
    before = snapshot(customer)

    with pytest.raises(InvalidInput) as caught:
        pay(finance, customer, "150.00", [{"receivable": first.pk, "amount": "100"}, {"receivable": second.pk, "amount": "60"}])

    assert "160.00, more than the payment amount 150.00" in str(caught.value)
    assert snapshot(customer) == before


def test_allocation_to_another_customers_receivable_is_refused(finance, customer, two_receivables, rep):
    stranger = make_receivable(customer=f.CustomerFactory(owner=rep), amount="50.00")

    with pytest.raises(InvalidInput) as caught:
        pay(finance, customer, "50.00", [{"receivable": stranger.pk, "amount": "50.00"}])

    assert f"“{stranger.pk}” is not an open receivable of this customer" in str(caught.value)
    assert Receivable.objects.get(pk=stranger.pk).open_amount == D("50.00")


def test_future_date_and_unknown_method_are_refused(finance, customer, two_receivables):
    tomorrow = local_today() + datetime.timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        services.record_payment(actor=finance, customer=customer, received_on=tomorrow, method="cash", amount="1")
    assert caught.value.field == "received_on"

    with pytest.raises(InvalidInput) as caught:
        services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="barter", amount="1")
    assert "“barter” is not a payment method" in str(caught.value)


@pytest.mark.parametrize("role_user", ["rep", "supervisor", "manager", "logistics", "quality"])
def test_only_finance_records_payments(request, customer, two_receivables, role_user):
    user = request.getfixturevalue(role_user)

    with pytest.raises(NotPermitted):
        pay(user, customer, "10.00")

    assert Payment.objects.count() == 0


class TestCreditNoteLimits:
    def test_above_invoiced_amount_is_refused(self, finance, customer, two_receivables):
        _first, second = two_receivables
        before = snapshot(customer)

        with pytest.raises(InvalidInput) as caught:
            credit(finance, customer, "200.01", second)

        assert "200.01 exceeds what can still be credited on receivable" in str(caught.value)
        assert snapshot(customer) == before

    def test_earlier_credits_count_against_the_limit(self, finance, customer, two_receivables):
        _first, second = two_receivables
        credit(finance, customer, "150.00", second)

        with pytest.raises(InvalidInput) as caught:
            credit(finance, customer, "50.01", second)

        assert "50.00" in str(caught.value)
        credit(finance, customer, "50.00", second)
        assert Receivable.objects.get(pk=second.pk).open_amount == D("0.00")

    def test_reversed_credit_frees_the_limit(self, finance, customer, two_receivables):
        _first, second = two_receivables
        note = credit(finance, customer, "200.00", second)
        services.reverse_credit_note(credit_note=note, actor=finance, reason="Return cancelled")

        credit(finance, customer, "200.00", second)

        assert Receivable.objects.get(pk=second.pk).credited_amount == D("200.00")

    def test_paid_receivable_can_still_be_credited_as_unapplied(self, finance, customer, two_receivables):
        first, _second = two_receivables
        pay(finance, customer, "100.00", [{"receivable": first.pk, "amount": "100.00"}])

        note = credit(finance, customer, "100.00", first)

        # Receivable 1 is paid, so the credit settles the next one.
        assert note.unapplied_amount == D("0.00")
        assert Receivable.objects.get(pk=_second.pk).open_amount == D("100.00")

    @pytest.mark.parametrize("amount", ["0", "-1", "1.234"])
    def test_bad_amounts_are_refused(self, finance, customer, two_receivables, amount):
        with pytest.raises(InvalidInput) as caught:
            credit(finance, customer, amount)
        assert amount in str(caught.value)
        assert CreditNote.objects.count() == 0

    def test_receivable_of_another_customer_is_refused(self, finance, customer, rep):
        other = make_receivable(customer=f.CustomerFactory(owner=rep), amount="50.00")

        with pytest.raises(InvalidInput) as caught:
            credit(finance, customer, "10.00", other)

        assert caught.value.field == "receivable"

    def test_reversing_twice_is_refused(self, finance, customer, two_receivables):
        note = credit(finance, customer, "10.00")
        services.reverse_credit_note(credit_note=note, actor=finance, reason="error")

        with pytest.raises(InvalidTransition):
            services.reverse_credit_note(credit_note=note, actor=finance, reason="error")

        assert Receivable.objects.get(pk=two_receivables[0].pk).open_amount == D("100.00")

    def test_manual_credit_note_needs_finance(self, rep, customer, two_receivables):
        with pytest.raises(NotPermitted):
            services.record_credit_note(actor=rep, customer=customer, amount="10", reason="goodwill")


class TestAdvances:
    def test_new_receivable_uses_the_advance(self, finance, customer):
        payment = pay(finance, customer, "80.00")
        receivable = make_receivable(customer=customer, amount="100.00")

        services.apply_advances(customer, receivable)

        receivable.refresh_from_db()
        payment.refresh_from_db()
        assert receivable.open_amount == D("20.00")
        assert payment.unapplied_amount == D("0.00")

    def test_apply_payment_by_hand(self, finance, customer, two_receivables):
        payment = pay(finance, customer, "50.00", [{"receivable": two_receivables[1].pk, "amount": "10.00"}])

        services.apply_payment(actor=finance, payment=payment, allocations=[{"receivable": two_receivables[0].pk, "amount": "40"}])

        payment.refresh_from_db()
        assert payment.unapplied_amount == D("0.00")
        assert Receivable.objects.get(pk=two_receivables[0].pk).open_amount == D("60.00")

    def test_payment_reversal_needs_a_reason(self, finance, customer, two_receivables):
        payment = pay(finance, customer, "50.00")

        with pytest.raises(InvalidInput):
            services.reverse_payment(actor=finance, payment=payment, reason=" ")

        assert Receivable.objects.get(pk=two_receivables[0].pk).open_amount == D("50.00")


class TestShipments:
    """Receivables made by real shipments: partial shipments, due dates, partial returns."""

    @pytest.fixture
    def order(self, rep, supervisor, stocked_product):
        customer = f.CustomerFactory(owner=rep, payment_terms_days=45)
        return approved_order(rep=rep, reviewer=supervisor, customer=customer, lines=[(stocked_product, 10, "130.00")])

    def test_each_dispatch_creates_a_receivable_for_its_value(self, order, logistics, quality):
        line = order.lines.get()

        first = dispatch(order=order, picker=logistics, reviewer=quality, quantities={line.pk: 4})
        second = dispatch(order=order, picker=logistics, reviewer=quality)

        receivables = list(Receivable.objects.filter(order=order).order_by("pk"))
        assert [r.shipment_id for r in receivables] == [first.pk, second.pk]
        assert [r.amount for r in receivables] == [D("520.00"), D("780.00")]
        assert receivables[0].due_on == first.shipped_on + datetime.timedelta(days=45)
        assert sum(r.amount for r in receivables) == order.total_amount

    def test_picked_shipment_has_no_receivable_yet(self, order, logistics):
        from dentalsales.sales.services import release_order, ship_order

        release_order(actor=logistics, order=order)
        shipment = ship_order(actor=logistics, order=order, carrier="顺丰速运")

        assert not Receivable.objects.filter(shipment=shipment).exists()

    def test_partial_return_credits_the_shipment(self, order, logistics, quality, finance):
        line = order.lines.get()
        shipment = dispatch(order=order, picker=logistics, reviewer=quality, quantities={line.pk: 4})
        receivable = shipment.receivable

        credit(finance, order.customer, "130.00", receivable)
        with pytest.raises(InvalidInput) as caught:
            credit(finance, order.customer, "390.01", receivable)

        receivable.refresh_from_db()
        assert receivable.open_amount == D("390.00")
        assert "390.00" in str(caught.value)

    def test_creation_is_idempotent(self, order, logistics, quality):
        shipment = dispatch(order=order, picker=logistics, reviewer=quality)

        again = services.create_receivable_for_shipment(shipment, logistics)

        assert again.pk == shipment.receivable.pk
        assert Receivable.objects.filter(shipment=shipment).count() == 1

    def test_advance_settles_the_dispatched_goods(self, order, logistics, quality, finance):
        payment = pay(finance, order.customer, "2000.00")

        shipment = dispatch(order=order, picker=logistics, reviewer=quality)

        payment.refresh_from_db()
        assert shipment.receivable.open_amount == D("0.00")
        assert payment.unapplied_amount == D("700.00")

    def test_receivable_keeps_the_order_owner(self, order, logistics, quality, rep2):
        # The customer moves to another representative after the order was
        # approved; the receivable belongs to the owner of the order.
        order.customer.owner = rep2
        order.customer.save(update_fields=["owner"])

        shipment = dispatch(order=order, picker=logistics, reviewer=quality)

        assert shipment.receivable.representative == order.owner
        assert shipment.receivable.representative != rep2


def test_payment_stores_the_customer_owner(finance, rep, customer):
    payment = pay(finance, customer, "10.00")

    assert payment.representative == rep


class TestIdempotencyKey:
    def test_same_key_records_once(self, finance, customer, two_receivables):
        first = services.record_payment(
            actor=finance, customer=customer, received_on=local_today(), method="cash", amount="50.00", idempotency_key="k-1"
        )
        second = services.record_payment(
            actor=finance, customer=customer.pk, received_on=local_today().isoformat(), method="cash", amount="50", idempotency_key="k-1"
        )

        assert second.pk == first.pk
        assert (first.replayed, second.replayed) == (False, True)
        assert Payment.objects.count() == 1
        assert Receivable.objects.get(pk=two_receivables[0].pk).open_amount == D("50.00")

    def test_same_key_other_values_is_refused(self, finance, customer, two_receivables):
        services.record_payment(
            actor=finance, customer=customer, received_on=local_today(), method="cash", amount="50.00", idempotency_key="k-2"
        )

        with pytest.raises(InvalidTransition) as caught:
            services.record_payment(
                actor=finance, customer=customer, received_on=local_today(), method="cash", amount="60.00", idempotency_key="k-2"
            )

        assert caught.value.code == "idempotency_key_reused"
        assert "k-2" in str(caught.value)
        assert Payment.objects.count() == 1

    def test_keys_are_per_user(self, finance, customer, two_receivables):
        other = f.UserFactory(roles=[services.Role.FINANCE])

        services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="5", idempotency_key="k-3")
        services.record_payment(actor=other, customer=customer, received_on=local_today(), method="cash", amount="5", idempotency_key="k-3")

        assert Payment.objects.count() == 2
