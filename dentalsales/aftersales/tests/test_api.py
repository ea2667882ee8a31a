"""The after-sales API: /api/v1/complaints/, /api/v1/returns/ and /api/v1/satisfaction-callbacks/ per role."""

import pytest

from dentalsales.aftersales.models import Complaint, ReturnRequest, ReturnStatus, SatisfactionCallback
from dentalsales.aftersales.services import create_complaint, create_return, schedule_satisfaction_callbacks
from dentalsales.inventory.models import StockLedgerEntry

from .factories import return_line, ship

pytestmark = pytest.mark.django_db

COMPLAINTS = "/api/v1/complaints/"
RETURNS = "/api/v1/returns/"


def complaint_body(customer, **extra):
    return {"customer": customer.pk, "channel": "complaint", "category": "delivery", "severity": "high", "description": "外包装破损", **extra}


def test_create_complaint_and_walk_statuses(api, rep, customer):
    client = api(rep)

    response = client.post(COMPLAINTS, complaint_body(customer, contact_name="李护士"), format="json")
    assert response.status_code == 201, response.data
    body = response.data
    assert body["status"] == "open"
    assert body["customer"] == customer.pk
    assert body["owner"] == rep.pk
    assert "resolve" in body["allowed_actions"]
    url = f"{COMPLAINTS}{body['id']}/"

    assert client.post(url + "start/", {}, format="json").data["status"] == "in_progress"
    assert client.post(url + "actions/", {"note": "已安排补发"}, format="json").status_code == 200
    response = client.post(url + "resolve/", {"resolution": "补发 2 盒"}, format="json")
    assert response.data["status"] == "resolved"
    response = client.post(url + "close/", {"satisfaction_score": 5}, format="json")
    assert (response.data["status"], response.data["satisfaction_score"]) == ("closed", 5)
    assert [entry["note"] for entry in response.data["actions"]][2] == "已安排补发"


def test_complaint_without_customer_refused(api, rep):
    response = api(rep).post(COMPLAINTS, {"channel": "complaint", "category": "quality", "description": "x"}, format="json")

    assert response.status_code == 400
    assert response.data["code"] == "invalid"
    assert "customer" in response.data
    assert Complaint.objects.count() == 0


def test_close_with_bad_score_refused(api, rep, customer):
    client = api(rep)
    complaint = client.post(COMPLAINTS, complaint_body(customer), format="json").data
    url = f"{COMPLAINTS}{complaint['id']}/"
    client.post(url + "resolve/", {"resolution": "已解决"}, format="json")

    response = client.post(url + "close/", {"satisfaction_score": 7}, format="json")

    assert response.status_code == 400
    assert "“7”" in response.data["detail"]
    assert Complaint.objects.get().status == "resolved"


def test_wrong_state_answers_409(api, rep, customer):
    client = api(rep)
    complaint = client.post(COMPLAINTS, complaint_body(customer), format="json").data

    response = client.post(f"{COMPLAINTS}{complaint['id']}/close/", {}, format="json")

    assert response.status_code == 409
    assert response.data["code"] == "invalid_transition"


def test_other_reps_complaint_answers_404(api, rep, rep2, customer):
    complaint = create_complaint(actor=rep, customer=customer, channel="visit", category="service", description="服务态度")

    assert api(rep2).get(f"{COMPLAINTS}{complaint.pk}/").status_code == 404
    assert api(rep2).post(f"{COMPLAINTS}{complaint.pk}/start/", {}, format="json").status_code == 404
    assert api(rep2).get(COMPLAINTS).data["count"] == 0


def test_logistics_cannot_create_complaint(api, logistics, customer):
    response = api(logistics).post(COMPLAINTS, complaint_body(customer), format="json")
    assert response.status_code in (400, 403)
    assert Complaint.objects.count() == 0


def test_quality_assesses_adverse_event_and_lists_lot_customers(api, rep, quality, customer, shipment_line):
    complaint = api(rep).post(
        COMPLAINTS,
        complaint_body(customer, category="quality", lot=shipment_line.lot_id, suspected_adverse_event=True),
        format="json",
    ).data
    url = f"{COMPLAINTS}{complaint['id']}/"

    assert api(quality).get(url + "lot-customers/").data == []
    assert api(rep).get(url + "lot-customers/").status_code == 403
    assert api(rep).post(url + "assess/", {"outcome": "dismissed", "note": "x"}, format="json").status_code == 403
    response = api(quality).post(url + "assess/", {"outcome": "dismissed", "note": "经评估为操作不当"}, format="json")
    assert response.status_code == 200
    assert response.data["adverse_event_review"] == "dismissed"


@pytest.mark.parametrize("size", [2, 6])
def test_complaint_list_query_count(api, rep, customer, django_assert_max_num_queries, size):
    for index in range(size):
        create_complaint(actor=rep, customer=customer, channel="survey", category="service", description=f"反馈{index}")
    client = api(rep)

    with django_assert_max_num_queries(8):
        response = client.get(COMPLAINTS)
    assert response.data["count"] == size


def test_create_return_through_api(api, rep, customer, shipment_line):
    body = {"customer": customer.pk, "kind": "return", "note": "客户要求退货", "lines": [return_line(shipment_line, 2)]}

    response = api(rep).post(RETURNS, body, format="json")

    assert response.status_code == 201, response.data
    assert response.data["status"] == "requested"
    assert response.data["total_amount"] == "260.00"
    line = response.data["lines"][0]
    assert (line["shipment_line"], line["lot_number"], line["quantity"], line["unit_price"]) == (
        shipment_line.pk, shipment_line.lot_number, 2, "130.0000",
    )


def test_return_above_returnable_refused_naming_value(api, rep, customer, shipment_line):
    body = {"customer": customer.pk, "kind": "return", "lines": [return_line(shipment_line, 8), return_line(shipment_line, 3)]}

    response = api(rep).post(RETURNS, body, format="json")

    assert response.status_code == 400
    assert "Cannot return 3" in response.data["lines[1].quantity"][0]
    assert ReturnRequest.objects.count() == 0


def test_return_flow_through_api(api, rep, supervisor, logistics, customer, shipment_line):
    created = api(rep).post(RETURNS, {"customer": customer.pk, "kind": "return", "lines": [return_line(shipment_line, 2)]}, format="json").data
    url = f"{RETURNS}{created['id']}/"

    assert api(logistics).get(url).status_code == 404
    assert api(rep).post(url + "approve/", {}, format="json").status_code == 403
    assert api(supervisor).post(url + "approve/", {}, format="json").data["status"] == "approved"
    line_id = created["lines"][0]["id"]
    response = api(logistics).post(url + "receive/", {"lines": [{"id": line_id, "disposition": "quarantine"}]}, format="json")

    assert response.status_code == 200, response.data
    assert response.data["status"] == "received"
    assert response.data["credit_note_number"]
    assert StockLedgerEntry.objects.filter(reference=created["number"]).count() == 1


def test_exchange_through_api_links_replacement_order(api, rep, supervisor, customer, shipment_line):
    created = api(rep).post(RETURNS, {"customer": customer.pk, "kind": "exchange", "lines": [return_line(shipment_line, 1)]}, format="json").data

    response = api(supervisor).post(f"{RETURNS}{created['id']}/approve/", {}, format="json")

    assert response.data["replacement_order"] is not None
    assert response.data["replacement_order_number"].startswith("SO-")


def test_other_reps_return_answers_404(api, rep, rep2, customer, shipment_line):
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 1)])

    assert api(rep2).get(f"{RETURNS}{request.pk}/").status_code == 404
    assert api(rep2).post(f"{RETURNS}{request.pk}/cancel/", {"reason": "x"}, format="json").status_code == 404
    assert api(rep2).get(RETURNS).data["count"] == 0


def test_returnable_endpoint(api, rep, rep2, customer, shipment_line):
    create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 4)])

    rows = api(rep).get(f"{RETURNS}returnable/?customer={customer.pk}").data

    assert [(row["shipment_line"], row["returned"], row["returnable"]) for row in rows] == [(shipment_line.pk, 4, 6)]
    assert api(rep2).get(f"{RETURNS}returnable/?customer={customer.pk}").status_code == 404


@pytest.mark.parametrize("size", [1, 4])
def test_return_list_query_count(api, rep, customer, shipment_line, django_assert_max_num_queries, size):
    for _ in range(size):
        create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 1), return_line(shipment_line, 1)])
    client = api(rep)

    with django_assert_max_num_queries(8):
        response = client.get(RETURNS)
    assert response.data["count"] == size


def test_record_callback_through_api(api, rep, rep2, shipment):
    schedule_satisfaction_callbacks()
    callback = SatisfactionCallback.objects.get()
    url = f"/api/v1/satisfaction-callbacks/{callback.pk}/record/"

    assert api(rep2).post(url, {"score": 5}, format="json").status_code == 404
    bad = api(rep).post(url, {"score": 9}, format="json")
    assert bad.status_code == 400
    assert "“9”" in bad.data["detail"]
    response = api(rep).post(url, {"score": 4, "comment": "满意"}, format="json")
    assert (response.data["status"], response.data["score"]) == ("done", 4)


def test_quality_sees_approved_returns_only(api, rep, supervisor, quality, customer, stocked_product, logistics):
    shipment = ship(rep=rep, supervisor=supervisor, logistics=logistics, customer=customer, lines=[(stocked_product, 4)])
    line = shipment.lines.get()
    requested = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(line, 1)])
    approved = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(line, 1)])
    api(supervisor).post(f"{RETURNS}{approved.pk}/approve/", {}, format="json")

    ids = [row["id"] for row in api(quality).get(RETURNS).data["results"]]

    assert ids == [approved.pk]
    assert requested.status == ReturnStatus.REQUESTED


def test_satisfaction_report_through_api(api, rep, rep2, shipment):
    schedule_satisfaction_callbacks()
    callback = SatisfactionCallback.objects.get()
    api(rep).post(f"/api/v1/satisfaction-callbacks/{callback.pk}/record/", {"score": 4}, format="json")

    rows = api(rep).get("/api/v1/satisfaction-callbacks/report/?dimension=customer").data

    assert rows == [
        {
            "key": shipment.customer_id, "label": shipment.customer.name, "count": 1, "average": "4.00",
            "callback_count": 1, "callback_average": "4.00", "complaint_count": 0, "complaint_average": None,
        }
    ]
    assert api(rep2).get("/api/v1/satisfaction-callbacks/report/?dimension=customer").data == []
