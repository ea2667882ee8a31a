"""The contract API: shapes, the flow with upload and drawdown, refusals, roles and visibility."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dentalsales.sales import contracts as cs
from dentalsales.sales.models import Contract, ContractStatus, SalesOrder
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
URL = "/api/v1/contracts/"
PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def post_contract(client, customer, product, quantity=50, unit_price="105.5", **fields):
    payload = {
        "customer": customer.pk,
        "payment_terms": "60 days",
        "quality_terms": "Shelf life at least 12 months on delivery",
        "lines": [{"product": product.pk, "quantity": quantity, "unit_price": unit_price, "delivery_date": "2027-02-01"}],
    }
    payload.update(fields)
    return client.post(URL, payload, format="json")


def make(actor, customer, product, status=None):
    contract = cs.create_contract(
        actor=actor, customer=customer, lines=[{"product": product, "quantity": 50, "unit_price": "105.50"}]
    )
    if status:
        Contract.objects.filter(pk=contract.pk).update(status=status)
        contract.refresh_from_db()
    return contract


def test_create_returns_fixed_decimal_strings(api, rep, customer, product):
    response = post_contract(api(rep), customer, product)

    body = response.json()
    assert response.status_code == 201
    assert body["number"].startswith("SC-")
    assert body["status"] == "draft"
    assert body["total_amount"] == "5275.00"
    assert body["lines"][0]["unit_price"] == "105.5000"
    assert body["lines"][0]["remaining_quantity"] == 50
    assert body["lines"][0]["delivery_date"] == "2027-02-01"
    assert body["allowed_actions"] == ["edit", "submit"]


def test_bad_price_names_field_and_value(api, rep, customer, product):
    response = post_contract(api(rep), customer, product, unit_price="1,5")

    assert response.status_code == 400
    assert "1,5" in str(response.json())
    assert "lines[0].unit_price" in str(response.json())
    assert Contract.objects.count() == 0


def test_full_flow_with_upload_and_drawdown(api, rep, supervisor, customer, product):
    contract_id = post_contract(api(rep), customer, product).json()["id"]
    rep_client = api(rep)

    submitted = rep_client.post(f"{URL}{contract_id}/submit/")
    approved = api(supervisor).post(f"{URL}{contract_id}/approve/")
    uploaded = rep_client.post(
        f"{URL}{contract_id}/signed-copy/", {"file": SimpleUploadedFile("signed.pdf", PDF)}, format="multipart"
    )
    activated = rep_client.post(f"{URL}{contract_id}/activate/")
    line_id = activated.json()["lines"][0]["id"]
    ordered = rep_client.post(f"{URL}{contract_id}/orders/", {"lines": [{"contract_line": line_id, "quantity": 20}]}, format="json")
    over = rep_client.post(f"{URL}{contract_id}/orders/", {"lines": [{"contract_line": line_id, "quantity": 31}]}, format="json")

    assert submitted.json()["status"] == "under_review"
    assert approved.json()["status"] == "signed"
    assert uploaded.json()["has_signed_copy"] is True
    assert activated.json()["status"] == "active"
    assert ordered.status_code == 201
    assert ordered.json()["lines"][0]["unit_price"] == "105.5000"
    assert over.status_code == 400
    assert "31" in over.json()["detail"]
    assert SalesOrder.objects.count() == 1
    assert rep_client.get(f"{URL}{contract_id}/").json()["lines"][0]["remaining_quantity"] == 30


def test_upload_wrong_content_is_400(api, rep, customer, product):
    contract = make(rep, customer, product, status=ContractStatus.SIGNED)

    response = api(rep).post(
        f"{URL}{contract.pk}/signed-copy/", {"file": SimpleUploadedFile("fake.pdf", b"GIF89a")}, format="multipart"
    )

    contract.refresh_from_db()
    assert response.status_code == 400
    assert "fake.pdf" in response.json()["detail"]
    assert not contract.signed_copy


def test_rep_approve_is_403(api, rep, customer, product):
    contract = make(rep, customer, product, status=ContractStatus.UNDER_REVIEW)

    response = api(rep).post(f"{URL}{contract.pk}/approve/")

    contract.refresh_from_db()
    assert response.status_code == 403
    assert contract.status == ContractStatus.UNDER_REVIEW


def test_activate_draft_is_409(api, rep, customer, product):
    contract = make(rep, customer, product)

    response = api(rep).post(f"{URL}{contract.pk}/activate/")

    contract.refresh_from_db()
    assert response.status_code == 409
    assert contract.number in response.json()["detail"]
    assert contract.status == ContractStatus.DRAFT


def test_other_reps_contract_is_404(api, rep, rep2, customer, product):
    contract = make(rep, customer, product)

    assert api(rep2).get(f"{URL}{contract.pk}/").status_code == 404
    assert api(rep2).post(f"{URL}{contract.pk}/submit/").status_code == 404
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFT


def test_list_visibility_and_query_count(api, rep, rep2, manager, customer, product, django_assert_num_queries):
    mine = make(rep, customer, product)
    other = make(rep2, f.CustomerFactory(owner=rep2), product)
    client = api(manager)
    client.get(URL)

    with django_assert_num_queries(4):
        rows = client.get(URL).json()["results"]

    assert {row["number"] for row in rows} == {mine.number, other.number}
    assert [row["number"] for row in api(rep).get(URL).json()["results"]] == [mine.number]
