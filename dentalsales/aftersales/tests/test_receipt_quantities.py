"""Return receipt per line: quantity received, split between stock, quarantine and scrap, credit for what came back."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from dentalsales.aftersales.models import ReturnStatus
from dentalsales.aftersales.services import QUARANTINE_WAREHOUSE_CODE, approve_return, create_return, receive_return
from dentalsales.core.errors import InvalidInput, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.finance.models import CreditNote
from dentalsales.inventory.models import LedgerReason, Lot, StockBalance, StockLedgerEntry

from .factories import return_line

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(rep, supervisor, customer, shipment_line):
    """An approved return of 5 units at 130.00 of ``shipment_line``."""
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 5)])
    return approve_return(actor=supervisor, request=request)


def entry(request, **values):
    return {"id": request.lines.get().pk, **values}


def balance_of(warehouse_code, lot):
    balance = StockBalance.objects.filter(warehouse__code=warehouse_code, lot=lot).first()
    return balance.on_hand if balance else 0


def test_partial_receipt_split_and_credit(logistics, approved, shipment_line):
    before = balance_of(shipment_line.warehouse.code, shipment_line.lot)

    receive_return(
        actor=logistics,
        request=approved,
        lines=[entry(approved, received_quantity=4, stock_quantity=2, quarantine_quantity=1, scrap_quantity=1, note="一盒未寄回")],
    )

    approved.refresh_from_db()
    line = approved.lines.get()
    assert approved.status == ReturnStatus.RECEIVED
    assert (line.received_quantity, line.stock_quantity, line.quarantine_quantity, line.scrap_quantity) == (4, 2, 1, 1)
    assert line.receipt_note == "一盒未寄回"
    assert line.disposition == ""
    assert line.credited_amount == Decimal("520.00")
    assert approved.credited_amount == Decimal("520.00")
    assert approved.total_amount == Decimal("650.00")
    credit_note = CreditNote.objects.get(number=approved.credit_note_number)
    assert credit_note.amount == Decimal("520.00")
    assert balance_of(shipment_line.warehouse.code, shipment_line.lot) == before + 2
    assert balance_of(QUARANTINE_WAREHOUSE_CODE, shipment_line.lot) == 1
    ledger = StockLedgerEntry.objects.filter(reference=approved.number).order_by("pk")
    assert [(row.warehouse.code, row.quantity, row.reason) for row in ledger] == [
        (shipment_line.warehouse.code, 2, LedgerReason.CUSTOMER_RETURN),
        (QUARANTINE_WAREHOUSE_CODE, 2, LedgerReason.CUSTOMER_RETURN),
        (QUARANTINE_WAREHOUSE_CODE, -1, LedgerReason.SCRAP),
    ]


def test_full_receipt_one_disposition(logistics, approved):
    receive_return(actor=logistics, request=approved, lines=[entry(approved, disposition="quarantine")])

    line = approved.lines.get()
    assert (line.received_quantity, line.quarantine_quantity, line.disposition) == (5, 5, "quarantine")
    approved.refresh_from_db()
    assert approved.credited_amount == Decimal("650.00")


def test_nothing_received_with_reason_no_credit(logistics, approved, shipment_line):
    receive_return(actor=logistics, request=approved, lines=[entry(approved, received_quantity=0, note="客户未寄出")])

    approved.refresh_from_db()
    assert approved.status == ReturnStatus.RECEIVED
    assert approved.credit_note_number == ""
    assert approved.credited_amount == Decimal("0.00")
    assert not CreditNote.objects.exists()
    assert not StockLedgerEntry.objects.filter(reference=approved.number).exists()
    assert approved.lines.get().received_quantity == 0


@pytest.mark.parametrize(
    "values, field, words",
    [
        ({"received_quantity": 6, "disposition": "stock"}, "received_quantity", "“6”"),
        ({"received_quantity": -1, "disposition": "stock"}, "received_quantity", "“-1”"),
        ({"received_quantity": "2.5", "disposition": "stock"}, "received_quantity", "“2.5”"),
        ({"received_quantity": 0}, "note", "0 of 5"),
        ({"received_quantity": 3, "disposition": "stock"}, "note", "3 of 5"),
        ({"received_quantity": 5, "stock_quantity": 4, "scrap_quantity": 0}, "stock_quantity", "adds up to 4"),
        ({"received_quantity": 5, "stock_quantity": 6, "scrap_quantity": -1}, "scrap_quantity", "“-1”"),
        ({"received_quantity": 5, "disposition": "bin"}, "disposition", "“bin”"),
    ],
)
def test_bad_receipt_refused_nothing_changed(logistics, approved, shipment_line, values, field, words):
    before = balance_of(shipment_line.warehouse.code, shipment_line.lot)

    with pytest.raises(InvalidInput) as error:
        receive_return(actor=logistics, request=approved, lines=[entry(approved, **values)])

    messages = error.value.field_errors[f"lines[0].{field}"]
    assert words in messages[0]
    approved.refresh_from_db()
    assert approved.status == ReturnStatus.APPROVED
    assert approved.lines.get().received_quantity is None
    assert balance_of(shipment_line.warehouse.code, shipment_line.lot) == before
    assert not CreditNote.objects.exists()


def test_expired_lot_stock_part_refused(logistics, approved, shipment_line):
    Lot.objects.filter(pk=shipment_line.lot_id).update(expiry_date=local_today() - datetime.timedelta(days=1))

    with pytest.raises(InvalidInput) as error:
        receive_return(
            actor=logistics, request=approved, lines=[entry(approved, stock_quantity=1, quarantine_quantity=4, scrap_quantity=0)]
        )

    assert shipment_line.lot_number in str(error.value)
    approved.refresh_from_db()
    assert approved.status == ReturnStatus.APPROVED


def test_receive_by_representative_refused(rep, approved):
    with pytest.raises(NotPermitted):
        receive_return(actor=rep, request=approved, lines=[entry(approved, disposition="stock")])


def test_receipt_web_form(client, logistics, approved):
    client.force_login(logistics)
    line = approved.lines.get()
    page = client.get(reverse("aftersales:return_detail", args=[approved.pk])).content.decode()
    assert f'name="received-{line.pk}"' in page
    assert f'name="scrap-{line.pk}"' in page

    response = client.post(
        reverse("aftersales:return_action", args=[approved.pk, "receive"]),
        {f"received-{line.pk}": "3", f"stock-{line.pk}": "3", f"quarantine-{line.pk}": "0", f"scrap-{line.pk}": "0", f"receipt-note-{line.pk}": "少寄两盒"},
    )

    assert response.status_code == 302
    approved.refresh_from_db()
    assert approved.credited_amount == Decimal("390.00")
    detail = client.get(reverse("aftersales:return_detail", args=[approved.pk])).content.decode()
    assert "少寄两盒" in detail
    assert 'data-testid="credited-total"' in detail


def test_receipt_web_form_refusal_shows_value(client, logistics, approved):
    client.force_login(logistics)
    line = approved.lines.get()

    response = client.post(
        reverse("aftersales:return_action", args=[approved.pk, "receive"]),
        {f"received-{line.pk}": "9", f"stock-{line.pk}": "9", f"quarantine-{line.pk}": "0", f"scrap-{line.pk}": "0"},
        follow=True,
    )

    assert "“9”" in response.content.decode()
    approved.refresh_from_db()
    assert approved.status == ReturnStatus.APPROVED


def test_receipt_web_form_representative_forbidden(client, rep, approved):
    client.force_login(rep)
    line = approved.lines.get()

    client.post(reverse("aftersales:return_action", args=[approved.pk, "receive"]), {f"received-{line.pk}": "5", f"stock-{line.pk}": "5"})

    approved.refresh_from_db()
    assert approved.status == ReturnStatus.APPROVED


def test_receipt_api(api, logistics, approved):
    line = approved.lines.get()
    url = f"/api/v1/returns/{approved.pk}/receive/"

    refused = api(logistics).post(url, {"lines": [{"id": line.pk, "received_quantity": 7, "disposition": "stock"}]}, format="json")
    assert refused.status_code == 400
    assert "“7”" in str(refused.data)

    response = api(logistics).post(
        url,
        {"lines": [{"id": line.pk, "received_quantity": 2, "stock_quantity": 1, "scrap_quantity": 1, "note": "部分丢失"}]},
        format="json",
    )
    assert response.status_code == 200
    assert response.data["credited_amount"] == "260.00"
    assert response.data["lines"][0]["received_quantity"] == 2
    assert response.data["lines"][0]["scrap_quantity"] == 1


def test_receipt_api_representative_forbidden(api, rep, approved):
    line = approved.lines.get()

    response = api(rep).post(f"/api/v1/returns/{approved.pk}/receive/", {"lines": [{"id": line.pk, "disposition": "stock"}]}, format="json")

    assert response.status_code == 403
    approved.refresh_from_db()
    assert approved.status == ReturnStatus.APPROVED
