"""Withdrawing an approved return, the exchange's replacement order, the return form's messages and the satisfaction period."""

import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.aftersales.models import ReturnKind, ReturnStatus, SatisfactionCallback
from dentalsales.aftersales.selectors import returnable_lines
from dentalsales.aftersales.services import (
    approve_return,
    cancel_return,
    create_return,
    receive_return,
    record_callback,
    schedule_satisfaction_callbacks,
)
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.notifications.models import Notification
from dentalsales.sales import services as sales
from dentalsales.sales.models import OrderStatus

from .factories import return_line

pytestmark = pytest.mark.django_db


def web(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def approved(rep, supervisor, customer, shipment_line, quantity=4, kind=ReturnKind.RETURN):
    request = create_return(actor=rep, customer=customer, kind=kind, lines=[return_line(shipment_line, quantity)])
    return approve_return(actor=supervisor, request=request)


def test_supervisor_withdraws_approved_return(rep, supervisor, logistics, customer, shipment_line):
    request = approved(rep, supervisor, customer, shipment_line)

    cancel_return(actor=supervisor, request=request, reason="客户决定留用")

    request.refresh_from_db()
    assert request.status == ReturnStatus.CANCELLED
    assert request.cancellation_reason == "客户决定留用"
    assert returnable_lines(rep, customer)[0].returnable == 10
    assert Notification.objects.filter(recipient=logistics, title__contains="withdrawn").exists()


def test_rep_who_entered_withdraws_approved_return(rep, supervisor, customer, shipment_line):
    request = approved(rep, supervisor, customer, shipment_line)

    response = web(rep).post(reverse("aftersales:return_action", args=[request.pk, "cancel"]), {"reason": "客户不退了"}, follow=True)

    assert "was cancelled" in response.content.decode()
    request.refresh_from_db()
    assert request.status == ReturnStatus.CANCELLED


def test_other_rep_of_team_cannot_withdraw_approved(rep, supervisor, customer, shipment_line, team):
    from dentalsales.accounts.roles import Role
    from dentalsales.testing import factories as f

    request = approved(rep, supervisor, customer, shipment_line)
    # A representative who did not enter the request; give the customer to them so they can see it.
    colleague = f.UserFactory(roles=[Role.REPRESENTATIVE], team=team)
    request.owner = colleague
    request.save(update_fields=["owner"])

    with pytest.raises(NotPermitted):
        cancel_return(actor=colleague, request=request, reason="x")
    request.refresh_from_db()
    assert request.status == ReturnStatus.APPROVED


@pytest.mark.parametrize("persona", ["logistics", "quality"])
def test_warehouse_roles_cannot_withdraw(request, persona, rep, supervisor, customer, shipment_line, api):
    item = approved(rep, supervisor, customer, shipment_line)
    user = request.getfixturevalue(persona)

    response = api(user).post(f"/api/v1/returns/{item.pk}/cancel/", {"reason": "x"}, format="json")

    assert response.status_code == 403
    item.refresh_from_db()
    assert item.status == ReturnStatus.APPROVED


def test_other_teams_rep_gets_404(api, rep, rep2, supervisor, customer, shipment_line):
    item = approved(rep, supervisor, customer, shipment_line)

    assert api(rep2).post(f"/api/v1/returns/{item.pk}/cancel/", {"reason": "x"}, format="json").status_code == 404


def test_received_return_cannot_be_withdrawn(rep, supervisor, logistics, customer, shipment_line):
    request = approved(rep, supervisor, customer, shipment_line)
    receive_return(actor=logistics, request=request, dispositions={request.lines.get().pk: "stock"})

    with pytest.raises(InvalidTransition):
        cancel_return(actor=supervisor, request=request, reason="x")


def test_withdrawing_exchange_cancels_replacement(rep, supervisor, customer, shipment_line, api):
    request = approved(rep, supervisor, customer, shipment_line, kind=ReturnKind.EXCHANGE)
    order = request.replacement_order

    response = api(supervisor).post(f"/api/v1/returns/{request.pk}/cancel/", {"reason": "客户改为退货"}, format="json")

    assert response.status_code == 200, response.data
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert request.number in order.cancellation_reason


def test_withdrawing_exchange_refused_once_replacement_shipped(rep, supervisor, logistics, customer, shipment_line):
    request = approved(rep, supervisor, customer, shipment_line, kind=ReturnKind.EXCHANGE)
    order = request.replacement_order
    sales.approve_order(actor=supervisor, order=order, reason="换货")
    sales.release_order(actor=logistics, order=order)
    sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

    with pytest.raises(InvalidTransition) as error:
        cancel_return(actor=supervisor, request=request, reason="x")

    assert order.number in str(error.value)
    request.refresh_from_db()
    assert request.status == ReturnStatus.APPROVED


def test_partial_exchange_receipt_flags_replacement(rep, supervisor, logistics, customer, shipment_line):
    request = approved(rep, supervisor, customer, shipment_line, quantity=4, kind=ReturnKind.EXCHANGE)

    receive_return(
        actor=logistics,
        request=request,
        lines=[{"id": request.lines.get().pk, "received_quantity": 3, "disposition": "quarantine", "note": "只寄回三支"}],
    )

    order = request.replacement_order
    assert Notification.objects.filter(recipient=supervisor, title__contains=order.number).exists()
    page = web(rep).get(reverse("aftersales:return_detail", args=[request.pk])).content.decode()
    assert 'data-testid="replacement-short"' in page
    assert "Only 3 of 4 units came back" in page


def test_show_shipments_without_customer_says_so(rep):
    page = web(rep).get(reverse("aftersales:return_create"), {"customer": ""}).content.decode()

    assert 'data-testid="customer-error"' in page
    assert "Choose the customer whose shipped goods you want to return." in page


def test_other_reps_customer_is_404(rep, other_customer):
    assert web(rep).get(reverse("aftersales:return_create"), {"customer": other_customer.pk}).status_code == 404
    assert web(rep).get(reverse("aftersales:return_create"), {"customer": "abc"}).status_code == 404


def test_two_lines_message_names_other_line(rep, customer, shipment_line):
    lines = [return_line(shipment_line, 6), return_line(shipment_line, 6)]

    with pytest.raises(InvalidInput) as error:
        create_return(actor=rep, customer=customer, kind="return", lines=lines)

    message = error.value.field_errors["lines[1].quantity"][0]
    assert "0 already returned or requested, 6 on this request's other lines, 4 returnable" in message


def test_return_form_fields_have_room(rep, customer, shipment_line):
    page = web(rep).get(reverse("aftersales:return_create"), {"customer": customer.pk}).content.decode()

    assert 'style="min-width:10rem">Reason' in page
    assert 'style="min-width:10rem">Reason details' in page


@pytest.fixture
def callback_score(rep, shipment):
    schedule_satisfaction_callbacks()
    record_callback(actor=rep, callback=SatisfactionCallback.objects.get(), score=4)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"start": "2026-12-31", "end": "2026-01-01"}, "The period ends on 2026-01-01, before it starts on 2026-12-31."),
        ({"start": "2026-13-01"}, "“2026-13-01” is not a valid date for “From”"),
        ({"end": "abc"}, "“abc” is not a valid date for “To”"),
    ],
)
def test_satisfaction_period_refused(api, rep, callback_score, params, expected):
    page = web(rep).get(reverse("aftersales:satisfaction_report"), params).content.decode()
    response = api(rep).get("/api/v1/satisfaction-callbacks/report/", params)

    assert expected in page.replace("&quot;", '"').replace("&#x27;", "'")
    assert response.status_code == 400
    assert expected in str(response.data)


def test_satisfaction_export_averages_are_numbers(rep, callback_score):
    response = web(rep).get(reverse("aftersales:satisfaction_report"), {"export": "xlsx"})

    sheet = load_workbook(io.BytesIO(response.content)).active
    row = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert row[2].value == Decimal("4.00") or row[2].value == 4
    assert isinstance(row[2].value, (int, float))
    assert row[2].number_format == "#,##0.00"
