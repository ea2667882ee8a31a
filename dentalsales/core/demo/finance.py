"""Demo receivables, payments, credit notes and a credit release, entered by the finance user.

Receivables come from the demo's dispatched shipments and from opening
balances taken over from the previous system, spread over every aging
bucket. Customers with an order waiting for review get no overdue balance,
so that the demo's "every check passes" order still passes.
"""

import datetime
import itertools
import random
from decimal import Decimal

from dentalsales.finance import services as finance
from dentalsales.finance.opening_balances import create_opening_receivable
from dentalsales.finance.models import Receivable
from dentalsales.inventory.models import Shipment, ShipmentStatus
from dentalsales.sales.models import OrderStatus, SalesOrder

# (days past due, negative for not yet due; share of the credit limit; share paid so far)
OPENING_BALANCES = [
    (-12, Decimal("0.10"), Decimal("0")),
    (12, Decimal("0.08"), Decimal("0.5")),
    (40, Decimal("0.12"), Decimal("0")),
    (70, Decimal("0.06"), Decimal("0.3")),
    (110, Decimal("0.05"), Decimal("0")),
]
OPENING_REFERENCE = "FP{:%Y%m}{:04d}"
OPENING_NOTE = "期初应收：由旧系统迁移（{}月对账确认）"
PAYMENT_REFERENCES = ["工行回单 {:06d}", "招行网银 {:06d}", "银行承兑汇票 {:08d}"]


def create_finance_records(*, users, customers, today):
    """Create the demo's receivables, payments, credit notes and a release; return the number of receivables."""
    actor = users["finance"]
    rng = random.Random("dentalsales-demo-finance")
    for shipment in Shipment.objects.filter(status__in=[ShipmentStatus.DISPATCHED, ShipmentStatus.DELIVERED]).order_by("pk"):
        finance.create_receivable_for_shipment(shipment, users["logistics"])

    waiting = set(SalesOrder.objects.filter(status=OrderStatus.SUBMITTED).values_list("customer_id", flat=True))
    eligible = sorted(
        (c for c in customers if c.is_active and c.credit_limit > 0 and c.grade and c.pk not in waiting),
        key=lambda customer: customer.code,
    )
    # Take the owners' customers in turn, so that every representative has balances.
    by_owner = {}
    for customer in eligible:
        by_owner.setdefault(customer.owner_id, []).append(customer)
    candidates = [c for group in itertools.zip_longest(*by_owner.values()) for c in group if c is not None]
    # The last candidate gets no balance, so that its advance stays unapplied.
    for index, customer in enumerate(candidates[:-1][:12]):
        days_past_due, share, paid_share = OPENING_BALANCES[index % len(OPENING_BALANCES)]
        due_on = today - datetime.timedelta(days=days_past_due + rng.randint(0, 5))
        invoiced_on = min(today, due_on - datetime.timedelta(days=customer.payment_terms_days))
        amount = (customer.credit_limit * share).quantize(Decimal("1")) + Decimal(rng.randint(0, 99)) / 100
        receivable = create_opening_receivable(
            actor=actor,
            customer=customer,
            amount=amount,
            reference=OPENING_REFERENCE.format(invoiced_on, index + 1),
            invoiced_on=invoiced_on,
            due_on=due_on,
            note=OPENING_NOTE.format(invoiced_on.month),
        )
        if paid_share:
            finance.record_payment(
                actor=actor,
                customer=customer,
                received_on=min(today, invoiced_on + datetime.timedelta(days=20)),
                method=rng.choice(["bank_transfer", "bank_acceptance"]),
                amount=(receivable.amount * paid_share).quantize(Decimal("0.01")),
                reference=rng.choice(PAYMENT_REFERENCES).format(rng.randint(1, 99_999_999)),
            )

    if candidates:
        # An advance from a distributor that pays before delivery (款到发货).
        advance_customer = candidates[-1]
        finance.record_payment(
            actor=actor,
            customer=advance_customer,
            received_on=today - datetime.timedelta(days=2),
            method="bank_transfer",
            amount=Decimal("20000.00"),
            reference="建行网银 202612001",
            note="预付款，下次发货冲抵",
        )
        # A price correction on the oldest open balance.
        oldest = Receivable.objects.filter(customer__in=candidates, open_amount__gt=0).order_by("invoiced_on", "pk").first()
        if oldest is not None:
            finance.record_credit_note(
                actor=actor,
                customer=oldest.customer,
                amount=min(oldest.open_amount, Decimal("380.00")),
                reason="年度返利，按协议冲减货款",
                source_reference="返利协议 2026-07",
                receivable=oldest,
            )
            finance.grant_credit_release(
                actor=actor,
                customer=oldest.customer,
                reason="客户已承诺月底前结清逾期款，经理同意临时放行",
                valid_until=today + datetime.timedelta(days=14),
            )
    return Receivable.objects.count()
