"""The finance part of the demo data, loaded on its own over a few customers."""

from decimal import Decimal as D

import pytest

from dentalsales.core.demo.finance import create_finance_records
from dentalsales.core.timeutils import local_today
from dentalsales.finance.models import CreditNote, CreditRelease, Payment, Receivable
from dentalsales.finance.selectors import aging_summary
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def test_demo_spreads_balances_over_every_bucket(rep, finance, logistics):
    customers = [f.CustomerFactory(owner=rep, credit_limit=D("200000.00")) for _index in range(6)]

    count = create_finance_records(users={"finance": finance, "logistics": logistics}, customers=customers, today=local_today())

    assert count == 5
    _rows, totals = aging_summary(Receivable.objects.all(), group_by="customer")
    for bucket in ("not_due", "0_30", "31_60", "61_90", "over_90"):
        assert totals[bucket] > 0, bucket
    assert Payment.objects.filter(unapplied_amount__gt=0).exists()
    assert CreditNote.objects.count() == 1
    assert CreditRelease.objects.get().is_active()
    for receivable in Receivable.objects.all():
        assert receivable.open_amount == receivable.amount - receivable.paid_amount - receivable.credited_amount
