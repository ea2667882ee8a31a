"""Quotation services: entry, pricing, sending, losing, expiry and acceptance, per role and state."""

import datetime
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command

from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.sales import quotations as qs
from dentalsales.sales.models import OrderStatus, Quotation, QuotationStatus, SalesOrder
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
S = QuotationStatus


def make_quotation(actor, customer, product, quantity=3, unit_price="120.50", **fields):
    line = {"product": product, "quantity": quantity}
    if unit_price is not None:
        line["unit_price"] = unit_price
    return qs.create_quotation(actor=actor, customer=customer, lines=[line], **fields)


def in_state(quotation, status, **changes):
    Quotation.objects.filter(pk=quotation.pk).update(status=status, **changes)
    quotation.refresh_from_db()
    return quotation


def test_create_numbers_prices_and_defaults(rep, customer, product):
    quotation = make_quotation(rep, customer, product)

    assert quotation.number.startswith(f"QT-{local_today():%Y%m%d}-")
    assert quotation.number.endswith("-0001")
    assert quotation.status == S.DRAFT
    assert quotation.owner == rep
    assert quotation.valid_until == local_today() + datetime.timedelta(days=30)
    assert quotation.total_amount == Decimal("361.50")
    assert quotation.tax_amount == Decimal("41.59")
    line = quotation.lines.get()
    assert line.unit_price == Decimal("120.5000")
    assert line.list_price == Decimal("130.0000")
    assert line.unit_cost == Decimal("80.0000")
    assert line.resolved_unit_price == Decimal("130.0000")


def test_line_without_price_gets_policy_price(rep, customer, product):
    quotation = make_quotation(rep, customer, product, quantity=2, unit_price=None)

    line = quotation.lines.get()
    assert line.unit_price == Decimal("130.0000")
    assert quotation.total_amount == Decimal("260.00")
    assert line.price_reasons != []


def test_owner_is_customers_owner_when_supervisor_enters(supervisor, customer, product, rep):
    quotation = make_quotation(supervisor, customer, product)

    assert quotation.owner == rep
    assert quotation.created_by == supervisor


def test_bad_line_names_field_and_value(rep, customer, product):
    with pytest.raises(InvalidInput) as error:
        qs.create_quotation(actor=rep, customer=customer, lines=[{"product": product.pk, "quantity": 0}])

    assert "lines[0].quantity" in error.value.field_errors
    assert Quotation.objects.count() == 0


def test_bad_valid_until_names_field_and_value(rep, customer, product):
    with pytest.raises(InvalidInput) as error:
        make_quotation(rep, customer, product, valid_until="2026-13-01")

    assert error.value.field == "valid_until"
    assert "2026-13-01" in str(error.value)
    assert Quotation.objects.count() == 0


def test_valid_until_before_date_refused(rep, customer, product):
    with pytest.raises(InvalidInput) as error:
        make_quotation(rep, customer, product, valid_until=local_today() - datetime.timedelta(days=1))

    assert error.value.field == "valid_until"


def test_other_reps_customer_is_unknown(rep2, customer, product):
    with pytest.raises(InvalidInput) as error:
        make_quotation(rep2, customer, product)

    assert error.value.field == "customer"
    assert Quotation.objects.count() == 0


@pytest.mark.parametrize("persona", ["logistics", "finance", "quality"])
def test_non_sales_roles_may_not_create(request, persona, customer, product):
    with pytest.raises(NotPermitted):
        make_quotation(request.getfixturevalue(persona), customer, product)

    assert Quotation.objects.count() == 0


def test_update_draft_replaces_lines(rep, customer, product):
    quotation = make_quotation(rep, customer, product)

    qs.update_quotation(
        actor=rep, quotation=quotation, lines=[{"product": product, "quantity": 10, "unit_price": "100"}], note="New"
    )

    quotation.refresh_from_db()
    assert quotation.note == "New"
    assert quotation.total_amount == Decimal("1000.00")
    assert quotation.lines.count() == 1


@pytest.mark.parametrize("status", [S.SENT, S.ACCEPTED, S.LOST, S.EXPIRED])
def test_update_refused_unless_draft(rep, customer, product, status):
    quotation = in_state(make_quotation(rep, customer, product), status)

    with pytest.raises(InvalidTransition):
        qs.update_quotation(actor=rep, quotation=quotation, note="changed")

    quotation.refresh_from_db()
    assert quotation.note == ""


def test_supervisor_updates_team_quotation_but_other_rep_cannot(rep, rep2, supervisor, customer, product):
    quotation = make_quotation(rep, customer, product)

    qs.update_quotation(actor=supervisor, quotation=quotation, note="by supervisor")
    with pytest.raises(InvalidInput) as error:
        qs.update_quotation(actor=rep2, quotation=quotation, note="by rep2")

    quotation.refresh_from_db()
    assert quotation.note == "by supervisor"
    assert error.value.code == "not_found"


def test_send_emails_quotation_on_commit(rep, customer, product, django_capture_on_commit_callbacks):
    quotation = make_quotation(rep, customer, product)

    with django_capture_on_commit_callbacks(execute=True):
        qs.send_quotation(actor=rep, quotation=quotation, email="buyer@example.com")

    quotation.refresh_from_db()
    assert quotation.status == S.SENT
    assert quotation.sent_at is not None
    assert quotation.sent_to == "buyer@example.com"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["buyer@example.com"]
    assert quotation.number in message.subject
    html = message.alternatives[0][0]
    assert "叁佰陆拾壹元伍角" in html
    assert quotation.number in html


def test_email_text_part_keeps_one_line_per_item(rep, customer, product, django_capture_on_commit_callbacks):
    quotation = make_quotation(rep, customer, product)

    with django_capture_on_commit_callbacks(execute=True):
        qs.send_quotation(actor=rep, quotation=quotation, email="buyer@example.com")

    text = mail.outbox[0].body
    line = quotation.lines.get()
    assert "<" not in text
    assert f"1. {product.name}" in text
    assert f"{line.quantity} {product.unit} × ¥" in text
    assert "叁佰陆拾壹元伍角" in text


def test_send_needs_valid_email(rep, customer, product, django_capture_on_commit_callbacks):
    quotation = make_quotation(rep, customer, product)

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidInput) as error:
        qs.send_quotation(actor=rep, quotation=quotation, email="not-an-address")

    quotation.refresh_from_db()
    assert error.value.field == "email"
    assert "not-an-address" in str(error.value)
    assert quotation.status == S.DRAFT
    assert mail.outbox == []


@pytest.mark.parametrize("status", [S.SENT, S.ACCEPTED, S.LOST, S.EXPIRED])
def test_send_refused_unless_draft(rep, customer, product, status):
    quotation = in_state(make_quotation(rep, customer, product), status)

    with pytest.raises(InvalidTransition):
        qs.send_quotation(actor=rep, quotation=quotation, email="buyer@example.com")

    quotation.refresh_from_db()
    assert quotation.status == status


def test_send_refused_when_validity_over(rep, customer, product):
    quotation = in_state(make_quotation(rep, customer, product), S.DRAFT, valid_until=local_today() - datetime.timedelta(days=1))

    with pytest.raises(InvalidInput) as error:
        qs.send_quotation(actor=rep, quotation=quotation, email="buyer@example.com")

    assert error.value.field == "valid_until"


@pytest.mark.parametrize("status", [S.DRAFT, S.SENT])
def test_mark_lost_records_reason(rep, customer, product, status):
    quotation = in_state(make_quotation(rep, customer, product), status)

    qs.mark_lost(actor=rep, quotation=quotation, reason="Competitor cheaper")

    quotation.refresh_from_db()
    assert quotation.status == S.LOST
    assert quotation.lost_reason == "Competitor cheaper"


def test_mark_lost_needs_reason(rep, customer, product):
    quotation = make_quotation(rep, customer, product)

    with pytest.raises(InvalidInput) as error:
        qs.mark_lost(actor=rep, quotation=quotation, reason="  ")

    quotation.refresh_from_db()
    assert error.value.field == "reason"
    assert quotation.status == S.DRAFT


@pytest.mark.parametrize("status", [S.ACCEPTED, S.LOST, S.EXPIRED])
def test_mark_lost_refused_from_closed_states(rep, customer, product, status):
    quotation = in_state(make_quotation(rep, customer, product), status)

    with pytest.raises(InvalidTransition):
        qs.mark_lost(actor=rep, quotation=quotation, reason="late")

    quotation.refresh_from_db()
    assert quotation.status == status


def test_expire_only_sent_past_validity(rep, customer, product):
    today = local_today()
    past = in_state(make_quotation(rep, customer, product), S.SENT, valid_until=today - datetime.timedelta(days=1))
    last_day = in_state(make_quotation(rep, customer, product), S.SENT, valid_until=today)
    draft_past = in_state(make_quotation(rep, customer, product), S.DRAFT, valid_until=today - datetime.timedelta(days=1))

    count = qs.expire_quotations(today)

    assert count == 1
    past.refresh_from_db()
    last_day.refresh_from_db()
    draft_past.refresh_from_db()
    assert past.status == S.EXPIRED
    assert last_day.status == S.SENT
    assert draft_past.status == S.DRAFT


def test_expire_command(rep, customer, product, capsys):
    quotation = in_state(make_quotation(rep, customer, product), S.SENT, valid_until=local_today() - datetime.timedelta(days=3))

    call_command("expire_quotations")

    quotation.refresh_from_db()
    assert quotation.status == S.EXPIRED
    assert "1" in capsys.readouterr().out


def test_accept_creates_draft_order_with_same_lines_and_prices(rep, customer, product):
    quotation = in_state(make_quotation(rep, customer, product), S.SENT)

    order = qs.accept_quotation(actor=rep, quotation=quotation)

    quotation.refresh_from_db()
    assert quotation.status == S.ACCEPTED
    assert quotation.order == order
    assert order.status == OrderStatus.DRAFT
    assert order.customer == customer
    assert order.total_amount == Decimal("361.50")
    line = order.lines.get()
    assert line.product == product
    assert line.quantity == 3
    assert line.unit_price == Decimal("120.5000")


@pytest.mark.parametrize("status", [S.DRAFT, S.ACCEPTED, S.LOST, S.EXPIRED])
def test_accept_refused_unless_sent(rep, customer, product, status):
    quotation = in_state(make_quotation(rep, customer, product), status)

    with pytest.raises(InvalidTransition):
        qs.accept_quotation(actor=rep, quotation=quotation)

    assert SalesOrder.objects.count() == 0


def test_accept_refused_past_validity(rep, customer, product):
    quotation = in_state(make_quotation(rep, customer, product), S.SENT, valid_until=local_today() - datetime.timedelta(days=1))

    with pytest.raises(InvalidTransition):
        qs.accept_quotation(actor=rep, quotation=quotation)

    quotation.refresh_from_db()
    assert quotation.status == S.SENT
    assert SalesOrder.objects.count() == 0


def test_accept_rolls_back_when_product_withdrawn(rep, customer, product):
    quotation = in_state(make_quotation(rep, customer, product), S.SENT)
    product.is_active = False
    product.save()

    with pytest.raises(InvalidInput):
        qs.accept_quotation(actor=rep, quotation=quotation)

    quotation.refresh_from_db()
    assert quotation.status == S.SENT
    assert quotation.order is None
    assert SalesOrder.objects.count() == 0


def test_logistics_sees_but_may_not_accept(logistics, rep, customer, product):
    quotation = in_state(make_quotation(rep, customer, product), S.SENT)

    with pytest.raises(NotPermitted):
        qs.accept_quotation(actor=logistics, quotation=quotation)

    assert list(qs.visible_quotations(logistics)) == [quotation]
    assert SalesOrder.objects.count() == 0


def test_visibility_per_role(rep, rep2, supervisor, manager, customer, product):
    quotation = make_quotation(rep, customer, product)
    other = make_quotation(rep2, f.CustomerFactory(owner=rep2), product)

    assert set(qs.visible_quotations(rep)) == {quotation}
    assert set(qs.visible_quotations(supervisor)) == {quotation}
    assert set(qs.visible_quotations(rep2)) == {other}
    assert set(qs.visible_quotations(manager)) == {quotation, other}


@pytest.mark.parametrize("status", [S.DRAFT, S.ACCEPTED, S.LOST, S.EXPIRED])
def test_expire_leaves_other_states(rep, customer, product, status):
    quotation = in_state(make_quotation(rep, customer, product), status, valid_until=local_today() - datetime.timedelta(days=5))

    count = qs.expire_quotations(local_today())

    quotation.refresh_from_db()
    assert count == 0
    assert quotation.status == status


def test_email_is_not_sent_when_transaction_rolls_back(rep, customer, product, django_capture_on_commit_callbacks):
    from django.db import transaction

    quotation = make_quotation(rep, customer, product)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        qs.send_quotation(actor=rep, quotation=quotation, email="buyer@example.com")
        raise RuntimeError("rollback")

    quotation.refresh_from_db()
    assert callbacks == []
    assert mail.outbox == []
    assert quotation.status == S.DRAFT


def test_accepted_quote_keeps_policy_and_manual_prices_apart(rep, customer, product):
    policy = qs.accept_quotation(actor=rep, quotation=in_state(make_quotation(rep, customer, product, unit_price=None), S.SENT))
    manual = qs.accept_quotation(actor=rep, quotation=in_state(make_quotation(rep, customer, product), S.SENT))

    policy_line = policy.lines.get()
    manual_line = manual.lines.get()

    assert policy_line.price_reasons[0].startswith("Quoted price, QT-")
    assert policy_line.resolved_unit_price == policy_line.unit_price
    assert manual_line.price_reasons[0].startswith("Price entered by hand")
    assert manual_line.resolved_unit_price == Decimal("130.0000")


def test_header_and_line_errors_reported_together(rep, customer, product):
    with pytest.raises(InvalidInput) as error:
        qs.create_quotation(
            actor=rep,
            customer=customer,
            valid_until="2020-01-01",
            lines=[{"product": product, "quantity": 0}],
        )

    assert "valid_until" in error.value.field_errors
    assert "lines[0].quantity" in error.value.field_errors
    assert Quotation.objects.count() == 0
