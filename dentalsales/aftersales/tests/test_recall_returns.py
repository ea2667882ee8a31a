"""Returns and recalls reconcile: units recovered under a recall cannot be returned again, and a return adds to the recall."""

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.aftersales.selectors import returnable_lines
from dentalsales.aftersales.services import approve_return, create_return, receive_return
from dentalsales.core.errors import InvalidInput
from dentalsales.quality import services as recalls
from dentalsales.quality.models import RecallCustomer

from .factories import return_line

pytestmark = pytest.mark.django_db


def web(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def recall(quality, shipment_line):
    """An open recall of the lot of ``shipment_line`` (10 units shipped to ``customer``)."""
    draft = recalls.create_recall(actor=quality, product=shipment_line.product, lots=[shipment_line.lot], level="2", reason="包装密封不良")
    return recalls.open_recall(actor=quality, recall=draft)


def recall_row(recall, customer):
    return RecallCustomer.objects.get(recall=recall, customer=customer)


def test_recovered_by_hand_caps_returnable(rep, quality, customer, shipment_line, recall):
    recalls.record_recovered_quantity(actor=quality, recall=recall, customer=customer, quantity=7)

    [line] = returnable_lines(rep, customer)

    assert line.returnable == 3
    assert line.recall_limit["by_hand"] == 7
    assert [item.number for item in line.recalls] == [recall.number]


def test_return_beyond_recall_recovery_refused(rep, quality, customer, shipment_line, recall):
    recalls.record_recovered_quantity(actor=quality, recall=recall, customer=customer, quantity=7)

    with pytest.raises(InvalidInput) as error:
        create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 4)])

    message = error.value.field_errors["lines[0].quantity"][0]
    assert recall.number in message
    assert "7 units recovered" in message
    assert "3 can still be returned" in message
    create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 3)])


def test_fully_recovered_line_listed_with_zero(rep, quality, customer, shipment_line, recall):
    recalls.record_recovered_quantity(actor=quality, recall=recall, customer=customer, quantity=10)

    page = web(rep).get(reverse("aftersales:return_create"), {"customer": customer.pk}).content.decode()

    assert 'data-testid="recall-limit"' in page
    assert f"Recall {recall.number} records 10 units recovered without a return." in page
    assert 'data-testid="returnable">0' in page


def test_receipt_adds_to_recall_recovery(rep, supervisor, logistics, quality, customer, shipment_line, recall):
    recalls.record_recovered_quantity(actor=quality, recall=recall, customer=customer, quantity=2)
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 6)])
    approve_return(actor=supervisor, request=request)

    receive_return(
        actor=logistics,
        request=request,
        lines=[{"id": request.lines.get().pk, "received_quantity": 5, "disposition": "quarantine", "note": "少寄一支"}],
    )

    row = recall_row(recall, customer)
    assert (row.quantity_recovered, row.quantity_returned) == (7, 5)
    assert row.quantity_recovered_by_hand == 2
    # The unit that did not arrive is still with the customer and may come back later.
    [line] = returnable_lines(rep, customer)
    assert line.returnable == 3


def test_recall_open_counts_earlier_returns(rep, supervisor, logistics, quality, customer, shipment_line):
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 4)])
    approve_return(actor=supervisor, request=request)
    receive_return(actor=logistics, request=request, dispositions={request.lines.get().pk: "scrap"})

    draft = recalls.create_recall(actor=quality, product=shipment_line.product, lots=[shipment_line.lot], level="3", reason="标签错误")
    recall = recalls.open_recall(actor=quality, recall=draft)

    row = recall_row(recall, customer)
    assert (row.quantity_shipped, row.quantity_recovered, row.quantity_returned) == (10, 4, 4)


def test_manual_recovery_below_returned_refused(rep, supervisor, logistics, quality, customer, shipment_line, recall):
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 4)])
    approve_return(actor=supervisor, request=request)
    receive_return(actor=logistics, request=request, dispositions={request.lines.get().pk: "scrap"})

    with pytest.raises(InvalidInput) as error:
        recalls.record_recovered_quantity(actor=quality, recall=recall, customer=customer, quantity=3)

    assert "4 already came back through received returns" in str(error.value)
    assert recall_row(recall, customer).quantity_recovered == 4


def test_manual_recovery_leaves_room_for_pending_returns(rep, quality, customer, shipment_line, recall):
    create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 6)])

    with pytest.raises(InvalidInput) as error:
        recalls.record_recovered_quantity(actor=quality, recall=recall, customer=customer, quantity=5)

    assert "claim 6 units" in str(error.value)
    recalls.record_recovered_quantity(actor=quality, recall=recall, customer=customer, quantity=4)
    assert recall_row(recall, customer).quantity_recovered == 4


def test_recall_page_lists_returns(rep, quality, customer, shipment_line, recall):
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 2)])

    page = web(quality).get(reverse("quality:recall_detail", args=[recall.pk])).content.decode()

    assert f'data-return="{request.number}"' in page
    assert 'data-testid="recovery-rule"' in page


def test_return_page_mentions_recall(rep, supervisor, quality, customer, shipment_line, recall):
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 2)])
    approve_return(actor=supervisor, request=request)

    rep_page = web(rep).get(reverse("aftersales:return_detail", args=[request.pk])).content.decode()
    quality_page = web(quality).get(reverse("aftersales:return_detail", args=[request.pk])).content.decode()

    assert f"is under recall {recall.number}" in rep_page
    assert reverse("quality:recall_detail", args=[recall.pk]) not in rep_page
    assert reverse("quality:recall_detail", args=[recall.pk]) in quality_page


def test_api_returnable_shows_recall_cap(api, rep, quality, customer, shipment_line, recall):
    recalls.record_recovered_quantity(actor=quality, recall=recall, customer=customer, quantity=7)

    rows = api(rep).get("/api/v1/returns/returnable/", {"customer": customer.pk}).data

    assert rows[0]["returnable"] == 3
    assert rows[0]["recovered_by_hand"] == 7
    assert rows[0]["recalls"] == [recall.number]
