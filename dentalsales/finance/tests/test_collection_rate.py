"""Collection rate: collected in the month ÷ what was to collect on receivables due by the month's end."""

import datetime
from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.services import next_document_number
from dentalsales.finance import selectors
from dentalsales.finance.models import (
    CreditNote,
    CreditNoteAllocation,
    DocumentStatus,
    Payment,
    PaymentAllocation,
)
from dentalsales.testing import factories as f

from .factories import make_receivable

pytestmark = pytest.mark.django_db

YEAR = 2025


def day(month, dd):
    return datetime.date(YEAR, month, dd)


def _payment(customer, finance, amount, applied, *, received_on=None, reversed_=False, receivable=None):
    payment = Payment.objects.create(
        number=next_document_number("PM"),
        customer=customer,
        received_on=received_on or applied or day(1, 1),
        method="cash",
        amount=D(amount),
        unapplied_amount=D("0.00") if receivable else D(amount),
        created_by=finance,
        status=DocumentStatus.REVERSED if reversed_ else DocumentStatus.POSTED,
    )
    if receivable is not None:
        PaymentAllocation.objects.create(payment=payment, receivable=receivable, amount=D(amount), applied_on=applied)


def _credit(customer, finance, amount, applied, receivable):
    note = CreditNote.objects.create(
        number=next_document_number("CN"),
        customer=customer,
        receivable=receivable,
        issued_on=applied,
        amount=D(amount),
        unapplied_amount=D("0.00"),
        reason="退货",
        created_by=finance,
    )
    CreditNoteAllocation.objects.create(credit_note=note, receivable=receivable, amount=D(amount), applied_on=applied)


# Receivable (amount, invoiced, due); events ("pay"|"reversed"|"credit", amount, applied on[, received on]);
# expected {month: (to collect, collected, rate or None)}.
CASES = [
    (
        "part paid in the month it falls due, rest overdue next month",
        ("1000.00", day(2, 15), day(3, 15)),
        [("pay", "400.00", day(3, 20))],
        {2: None, 3: ("1000.00", "400.00", "40.0"), 4: ("600.00", "0.00", "0.0")},
    ),
    (
        "advance received earlier counts in the month it is applied",
        ("1000.00", day(3, 1), day(3, 31)),
        [("pay", "1000.00", day(3, 1), day(2, 10))],
        {2: None, 3: ("1000.00", "1000.00", "100.0"), 4: None},
    ),
    (
        "settled before it falls due: nothing to collect",
        ("1000.00", day(3, 1), day(4, 30)),
        [("pay", "1000.00", day(3, 1))],
        {3: None, 4: None},
    ),
    (
        "overdue receivable collected over two months",
        ("500.00", day(1, 1), day(1, 31)),
        [("pay", "200.00", day(2, 5)), ("pay", "300.00", day(3, 5))],
        {1: ("500.00", "0.00", "0.0"), 2: ("500.00", "200.00", "40.0"), 3: ("300.00", "300.00", "100.0"), 4: None},
    ),
    (
        "a credit note in the month lowers what is to collect",
        ("1000.00", day(5, 1), day(5, 31)),
        [("credit", "400.00", day(5, 10)), ("pay", "600.00", day(5, 20))],
        {5: ("600.00", "600.00", "100.0")},
    ),
    (
        "a reversed payment counts as never received",
        ("1000.00", day(6, 1), day(6, 30)),
        [("reversed", "1000.00", day(6, 5))],
        {6: ("1000.00", "0.00", "0.0")},
    ),
    (
        "overdue from the year before is to collect in January",
        ("800.00", datetime.date(YEAR - 1, 11, 1), datetime.date(YEAR - 1, 12, 1)),
        [("pay", "300.00", datetime.date(YEAR - 1, 12, 20)), ("pay", "500.00", day(1, 10))],
        {1: ("500.00", "500.00", "100.0"), 2: None},
    ),
]


@pytest.mark.parametrize("label,receivable_spec,events,expected", CASES, ids=[case[0] for case in CASES])
def test_collection_rate_table(finance, rep, label, receivable_spec, events, expected):
    customer = f.CustomerFactory(owner=rep)
    amount, invoiced, due = receivable_spec
    receivable = make_receivable(customer=customer, amount=amount, invoiced_on=invoiced, due_on=due)
    for kind, value, applied, *received in events:
        if kind == "credit":
            _credit(customer, finance, value, applied, receivable)
        else:
            _payment(
                customer, finance, value, applied, received_on=received[0] if received else None, reversed_=kind == "reversed", receivable=receivable
            )

    rows = selectors.collection_rates(finance, year=YEAR)

    months = rows[0]["months"] if rows else [{"due": D(0), "received": D(0), "rate": None}] * 12
    for month, figures in expected.items():
        cell = months[month - 1]
        if figures is None:
            assert cell["rate"] is None, (month, cell)
        else:
            assert (cell["due"], cell["received"], cell["rate"]) == tuple(D(x) for x in figures), (month, cell)


def test_unapplied_advance_is_not_collection(finance, rep):
    customer = f.CustomerFactory(owner=rep)
    make_receivable(customer=customer, amount="100.00", invoiced_on=day(11, 1), due_on=day(11, 30))
    _payment(customer, finance, "20000.00", None, received_on=day(11, 5))

    rows = selectors.collection_rates(finance, year=YEAR)

    cell = rows[0]["months"][10]
    assert (cell["due"], cell["received"], cell["rate"]) == (D("100.00"), D("0.00"), D("0.0"))


def test_rate_never_exceeds_100_percent(finance, rep):
    customer = f.CustomerFactory(owner=rep)
    receivables = [
        make_receivable(customer=customer, amount="1000.00", invoiced_on=day(10, 1), due_on=day(11, 1 + index)) for index in range(3)
    ]
    for receivable in receivables:
        _payment(customer, finance, "1000.00", day(10, 20), receivable=receivable)
    _payment(customer, finance, "14800.34", None, received_on=day(11, 3))

    rows = selectors.collection_rates(finance, year=YEAR)

    assert all(cell["rate"] is None or cell["rate"] <= 100 for row in rows for cell in row["months"])


def test_year_list_includes_years_with_receivables_due(finance, rep):
    customer = f.CustomerFactory(owner=rep)
    today = datetime.date(2026, 12, 5)
    make_receivable(customer=customer, amount="100.00", invoiced_on=today, due_on=datetime.date(2027, 1, 4))

    assert selectors.collection_years(finance, today) == [2023, 2024, 2025, 2026, 2027]


def test_page_explains_formula_and_keeps_names_on_one_line(finance, rep):
    client = Client()
    client.force_login(finance)
    customer = f.CustomerFactory(owner=rep)
    make_receivable(customer=customer, amount="100.00", invoiced_on=day(3, 1), due_on=day(3, 31))

    content = client.get(reverse("finance:collection_rate") + f"?year={YEAR}").content.decode()

    assert 'data-testid="collection-formula"' in content
    assert "at most 100%" in content
    assert '<td class="text-nowrap">' in content
