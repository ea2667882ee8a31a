"""The quotation API: shapes, the flow, refusals, roles and visibility."""

import datetime

import pytest
from django.core import mail

from dentalsales.core.timeutils import local_today
from dentalsales.sales import quotations as qs
from dentalsales.sales.models import OrderStatus, Quotation, QuotationStatus, SalesOrder
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
URL = "/api/v1/quotations/"


def post_quotation(client, customer, product, quantity=3, unit_price="120.5", **fields):
    payload = {"customer": customer.pk, "lines": [{"product": product.pk, "quantity": quantity, "unit_price": unit_price}]}
    payload.update(fields)
    return client.post(URL, payload, format="json")


def make(actor, customer, product, status=None):
    quotation = qs.create_quotation(
        actor=actor, customer=customer, lines=[{"product": product, "quantity": 3, "unit_price": "120.50"}]
    )
    if status:
        Quotation.objects.filter(pk=quotation.pk).update(status=status)
        quotation.refresh_from_db()
    return quotation


def test_create_returns_money_as_fixed_strings(api, rep, customer, product):
    response = post_quotation(api(rep), customer, product, contact_name="Dr. Wang")

    assert response.status_code == 201
    body = response.json()
    assert body["number"].startswith("QT-")
    assert body["status"] == "draft"
    assert body["total_amount"] == "361.50"
    assert body["tax_amount"] == "41.59"
    assert body["lines"][0]["unit_price"] == "120.5000"
    assert body["lines"][0]["amount"] == "361.50"
    assert body["valid_until"] == (local_today() + datetime.timedelta(days=30)).isoformat()
    assert body["allowed_actions"] == ["edit", "send", "lose"]
    assert "unit_cost" not in body["lines"][0]


def test_bad_quantity_names_field_and_value(api, rep, customer, product):
    response = post_quotation(api(rep), customer, product, quantity="many")

    assert response.status_code == 400
    assert "many" in str(response.json())
    assert "lines[0].quantity" in str(response.json())
    assert Quotation.objects.count() == 0


def test_bad_date_names_field_and_value(api, rep, customer, product):
    response = post_quotation(api(rep), customer, product, valid_until="tomorrow")

    assert response.status_code == 400
    assert "tomorrow" in response.json()["detail"]
    assert Quotation.objects.count() == 0


def test_logistics_may_not_create(api, logistics, customer, product):
    response = post_quotation(api(logistics), customer, product)

    assert response.status_code == 403
    assert Quotation.objects.count() == 0


def test_list_visibility_per_role(api, rep, rep2, supervisor, manager, customer, product):
    mine = make(rep, customer, product)
    other = make(rep2, f.CustomerFactory(owner=rep2), product)

    def numbers(user):
        return {row["number"] for row in api(user).get(URL).json()["results"]}

    assert numbers(rep) == {mine.number}
    assert numbers(supervisor) == {mine.number}
    assert numbers(manager) == {mine.number, other.number}


def test_other_reps_quotation_is_404(api, rep, rep2, customer, product):
    quotation = make(rep, customer, product)

    assert api(rep2).get(f"{URL}{quotation.pk}/").status_code == 404
    assert api(rep2).post(f"{URL}{quotation.pk}/lose/", {"reason": "x"}, format="json").status_code == 404
    quotation.refresh_from_db()
    assert quotation.status == QuotationStatus.DRAFT


def test_update_draft(api, rep, customer, product):
    quotation = make(rep, customer, product)

    response = api(rep).patch(f"{URL}{quotation.pk}/", {"note": "Bulk offer"}, format="json")

    assert response.status_code == 200
    assert response.json()["note"] == "Bulk offer"


def test_update_sent_is_409(api, rep, customer, product):
    quotation = make(rep, customer, product, status=QuotationStatus.SENT)

    response = api(rep).patch(f"{URL}{quotation.pk}/", {"note": "late"}, format="json")

    assert response.status_code == 409
    assert quotation.number in response.json()["detail"]
    quotation.refresh_from_db()
    assert quotation.note == ""


def test_send_accept_flow(api, rep, customer, product, django_capture_on_commit_callbacks):
    quotation = make(rep, customer, product)
    client = api(rep)

    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"{URL}{quotation.pk}/send/", {"email": "buyer@example.com"}, format="json")
    accepted = client.post(f"{URL}{quotation.pk}/accept/", {}, format="json")

    assert sent.status_code == 200
    assert sent.json()["status"] == "sent"
    assert len(mail.outbox) == 1
    assert accepted.status_code == 201
    order = SalesOrder.objects.get()
    assert accepted.json()["number"] == order.number
    assert order.status == OrderStatus.DRAFT
    assert accepted.json()["lines"][0]["unit_price"] == "120.5000"
    assert client.get(f"{URL}{quotation.pk}/").json()["order"] == order.pk


def test_send_bad_email_is_400(api, rep, customer, product):
    quotation = make(rep, customer, product)

    response = api(rep).post(f"{URL}{quotation.pk}/send/", {"email": "nobody"}, format="json")

    assert response.status_code == 400
    assert "nobody" in response.json()["detail"]
    quotation.refresh_from_db()
    assert quotation.status == QuotationStatus.DRAFT


def test_accept_draft_is_409(api, rep, customer, product):
    quotation = make(rep, customer, product)

    response = api(rep).post(f"{URL}{quotation.pk}/accept/", {}, format="json")

    assert response.status_code == 409
    assert SalesOrder.objects.count() == 0


def test_finance_accept_is_403(api, finance, rep, customer, product):
    quotation = make(rep, customer, product, status=QuotationStatus.SENT)

    response = api(finance).post(f"{URL}{quotation.pk}/accept/", {}, format="json")

    assert response.status_code == 403
    assert SalesOrder.objects.count() == 0


def test_lose_needs_reason(api, rep, customer, product):
    quotation = make(rep, customer, product, status=QuotationStatus.SENT)

    missing = api(rep).post(f"{URL}{quotation.pk}/lose/", {}, format="json")
    quotation.refresh_from_db()
    status_after_missing = quotation.status
    given = api(rep).post(f"{URL}{quotation.pk}/lose/", {"reason": "Budget cut"}, format="json")

    assert missing.status_code == 400
    assert status_after_missing == QuotationStatus.SENT
    assert given.status_code == 200
    assert given.json()["status"] == "lost"
    assert given.json()["lost_reason"] == "Budget cut"


def test_lose_blank_reason_names_field(api, rep, customer, product):
    quotation = make(rep, customer, product)

    response = api(rep).post(
        f"{URL}{quotation.pk}/lose/", {"reason": ""}, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "reason" in str(response.json())


def test_list_query_count_is_flat(api, rep, customer, product, django_assert_num_queries):
    for _ in range(3):
        make(rep, customer, product)
    client = api(rep)
    client.get(URL)
    with django_assert_num_queries(3):
        first = client.get(URL)
    for _ in range(3):
        make(rep, customer, product)
    with django_assert_num_queries(3):
        second = client.get(URL)

    assert len(first.json()["results"]) == 3
    assert len(second.json()["results"]) == 6
