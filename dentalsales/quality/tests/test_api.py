"""The recall API: entry, the open and close actions, per-customer follow-up and who may use it."""

import pytest

from dentalsales.inventory.models import Lot, LotStatus
from dentalsales.quality import services
from dentalsales.quality.models import Recall, RecallStatus

from .factories import draft_recall

pytestmark = pytest.mark.django_db
LIST_URL = "/api/v1/recalls/"


def action_url(recall, action):
    return f"{LIST_URL}{recall.pk}/{action}/"


def test_recall_api_full_flow(api, quality, product, shipped):
    client = api(quality)
    lot_a = shipped["lots"][0]
    customer1, customer2, _ = shipped["customers"]

    response = client.post(LIST_URL, {"product": product.pk, "lots": [lot_a.pk], "level": "1", "reason": "无菌屏障破损"}, format="json")
    assert response.status_code == 201, response.data
    assert response.data["status"] == "draft"
    assert response.data["allowed_actions"] == ["edit", "withdraw", "open"]
    assert [lot["lot_number"] for lot in response.data["lots"]] == ["A001"]
    recall = Recall.objects.get(pk=response.data["id"])

    response = client.post(action_url(recall, "open"))
    assert response.status_code == 200, response.data
    assert response.data["status"] == "open"
    assert response.data["lots"][0]["status"] == "recalled"
    customers = {row["customer"]: row for row in response.data["customers"]}
    assert customers[customer1.pk]["quantity_shipped"] == 15
    assert customers[customer1.pk]["contact_phone"] == "010-1234 5678"
    assert customers[customer2.pk]["quantity_shipped"] == 7

    for customer in (customer1, customer2):
        assert client.post(action_url(recall, "notify"), {"customer": customer.pk, "method": "电话"}, format="json").status_code == 200
    response = client.post(action_url(recall, "acknowledge"), {"customer": customer1.pk}, format="json")
    assert response.status_code == 200
    response = client.post(action_url(recall, "recover"), {"customer": customer1.pk, "quantity_recovered": 15}, format="json")
    customers = {row["customer"]: row for row in response.data["customers"]}
    assert customers[customer1.pk]["quantity_recovered"] == 15
    assert customers[customer1.pk]["acknowledged_at"] is not None
    assert customers[customer2.pk]["acknowledged_at"] is None

    response = client.post(action_url(recall, "close"), {"note": "已追回 15 支"}, format="json")
    assert response.status_code == 200
    assert response.data["status"] == "closed"


def test_recall_api_bad_input_names_value(api, quality, product, shipped):
    response = api(quality).post(LIST_URL, {"product": product.pk, "lots": [123456], "level": "1", "reason": "x"}, format="json")
    assert response.status_code == 400
    assert "123456" in response.data["detail"]
    assert "lots" in response.data
    assert not Recall.objects.exists()


def test_recall_api_recovered_above_shipped(api, quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    client = api(quality)
    client.post(action_url(recall, "open"))
    response = client.post(action_url(recall, "recover"), {"customer": shipped["customers"][1].pk, "quantity_recovered": 8}, format="json")
    assert response.status_code == 400
    assert "8" in response.data["detail"]
    assert "7" in response.data["detail"]


def test_recall_api_close_with_pending_conflict(api, quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    client = api(quality)
    client.post(action_url(recall, "open"))
    response = client.post(action_url(recall, "close"), {"note": "x"}, format="json")
    assert response.status_code == 409
    assert shipped["customers"][0].name in response.data["detail"]


def test_recall_api_patch_draft(api, quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    response = api(quality).patch(f"{LIST_URL}{recall.pk}/", {"lots": [shipped["lots"][1].pk], "level": "3"}, format="json")
    assert response.status_code == 200, response.data
    assert [lot["lot_number"] for lot in response.data["lots"]] == ["B002"]
    assert response.data["level"] == "3"


@pytest.mark.parametrize("persona", ["manager", "logistics"])
def test_recall_api_readers_cannot_write(api, request, persona, quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    client = api(request.getfixturevalue(persona))
    assert client.get(LIST_URL).status_code == 200
    assert client.get(f"{LIST_URL}{recall.pk}/").status_code == 200
    assert client.post(action_url(recall, "open")).status_code == 403
    response = client.post(LIST_URL, {"product": product.pk, "lots": [shipped["lots"][1].pk], "level": "1", "reason": "x"}, format="json")
    assert response.status_code == 403
    assert Recall.objects.count() == 1
    assert Lot.objects.get(pk=shipped["lots"][0].pk).status == LotStatus.AVAILABLE


@pytest.mark.parametrize("persona", ["rep", "supervisor", "finance"])
def test_recall_api_other_roles_forbidden(api, request, persona, quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    client = api(request.getfixturevalue(persona))
    assert client.get(LIST_URL).status_code == 403
    assert client.get(f"{LIST_URL}{recall.pk}/").status_code == 403
    assert client.post(action_url(recall, "open")).status_code == 403
    assert Recall.objects.get(pk=recall.pk).status == RecallStatus.DRAFT


def test_recall_api_anonymous_unauthorised(api):
    assert api().get(LIST_URL).status_code == 401


def test_recall_api_list_query_count(api, quality, product, shipped, django_assert_max_num_queries):
    client = api(quality)
    draft_recall(quality, product, [shipped["lots"][0]])
    with django_assert_max_num_queries(8):
        assert client.get(LIST_URL).status_code == 200
    for _ in range(5):
        services.withdraw_recall(actor=quality, recall=draft_recall(quality, product, [shipped["lots"][1]]), reason="录入错误")
    with django_assert_max_num_queries(8):
        response = client.get(LIST_URL)
    assert response.data["count"] == 6
