"""The customer-development API: same rules and visibility as the screens."""

import datetime

import pytest

from dentalsales.core.timeutils import local_today
from dentalsales.crm import services
from dentalsales.crm.models import RevisitPlan
from dentalsales.testing import factories as f

from .factories import ActivityFactory, ContactFactory, GiftFactory

pytestmark = pytest.mark.django_db


def days(n):
    return (local_today() + datetime.timedelta(days=n)).isoformat()


def test_prospect_create_stage_convert(api, rep):
    client = api(rep)

    created = client.post("/api/v1/prospects/", {"name": "重庆渝中口腔诊所", "customer_type": "clinic", "source": "referral"}, format="json")
    assert created.status_code == 201, created.data
    pk = created.data["id"]
    assert created.data["stage"] == "new"

    bad = client.post(f"/api/v1/prospects/{pk}/stage/", {"stage": "won"}, format="json")
    assert (bad.status_code, bad.data["code"]) == (409, "invalid_transition")
    lost = client.post(f"/api/v1/prospects/{pk}/stage/", {"stage": "lost"}, format="json")
    assert (lost.status_code, lost.data["code"]) == (400, "invalid")
    assert "reason" in lost.data

    won = client.post(f"/api/v1/prospects/{pk}/convert/", {"reason": "签约"}, format="json")
    assert won.data["stage"] == "won"
    assert [change["to_stage"] for change in won.data["stage_changes"]] == ["new", "won"]


def test_prospect_unknown_source_names_field(api, rep):
    response = api(rep).post("/api/v1/prospects/", {"name": "某诊所", "customer_type": "clinic", "source": "fax"}, format="json")

    assert response.status_code == 400
    assert "fax" in response.data["source"][0]


def test_conversion_endpoint(api, rep, manager):
    services.create_prospect(actor=rep, source="web", name="某口腔", customer_type="clinic")

    response = api(manager).get("/api/v1/prospects/conversion/")

    assert response.data["by_source"][0]["source"] == "web"
    assert response.data["by_source"][0]["total"] == 1


def test_activity_create_submit_amend(api, rep, customer, product):
    contact = ContactFactory(customer=customer)
    client = api(rep)

    created = client.post("/api/v1/activities/", {
        "customer": customer.pk, "kind": "visit", "occurred_on": days(-1), "subject": "拜访",
        "contacts": [contact.pk], "products": [product.pk],
    }, format="json")
    assert created.status_code == 201, created.data
    pk = created.data["id"]
    assert created.data["status"] == "draft"

    patched = client.patch(f"/api/v1/activities/{pk}/", {"outcome": "同意试用"}, format="json")
    assert patched.data["outcome"] == "同意试用"
    submitted = client.post(f"/api/v1/activities/{pk}/submit/")
    assert submitted.data["status"] == "submitted"
    locked = client.patch(f"/api/v1/activities/{pk}/", {"outcome": "改"}, format="json")
    assert locked.status_code == 409
    amended = client.post(f"/api/v1/activities/{pk}/amend/", {"reason": "更正", "outcome": "同意采购"}, format="json")
    assert amended.status_code == 201
    assert amended.data["outcome"] == "同意试用"
    assert amended.data["amendments"][0]["outcome"] == "同意采购"


def test_activity_bad_date_names_value(api, rep, customer):
    response = api(rep).post("/api/v1/activities/", {
        "customer": customer.pk, "kind": "visit", "occurred_on": "2026-13-01", "subject": "拜访",
    }, format="json")

    assert response.status_code == 400
    assert "2026-13-01" in response.data["occurred_on"][0]


def test_other_reps_records_404(api, rep, rep2):
    customer = f.CustomerFactory(owner=rep)
    activity = ActivityFactory(customer=customer)
    gift = GiftFactory(customer=customer)
    plan = RevisitPlan.objects.create(customer=customer, owner=rep, due_on=local_today())
    client = api(rep2)

    assert client.get(f"/api/v1/activities/{activity.pk}/").status_code == 404
    assert client.get(f"/api/v1/gifts/{gift.pk}/").status_code == 404
    assert client.get(f"/api/v1/revisit-plans/{plan.pk}/").status_code == 404
    assert client.post(f"/api/v1/gifts/{gift.pk}/give/").status_code == 404
    assert client.get("/api/v1/activities/").data["count"] == 0
    created = client.post("/api/v1/activities/", {"customer": customer.pk, "kind": "visit", "occurred_on": days(-1), "subject": "x"}, format="json")
    assert created.status_code == 404


def test_gift_actions_and_allowed_actions(api, rep, supervisor, customer):
    contact = ContactFactory(customer=customer)
    rep_client = api(rep)

    created = rep_client.post("/api/v1/gifts/", {
        "customer": customer.pk, "recipient": contact.pk, "description": "年会礼品", "value": "500",
        "given_on": days(0), "purpose": "答谢",
    }, format="json")
    assert created.status_code == 201, created.data
    pk = created.data["id"]
    assert created.data["value"] == "500.00"
    assert created.data["allowed_actions"] == ["edit", "request", "delete"]

    assert rep_client.post(f"/api/v1/gifts/{pk}/give/").status_code == 409
    assert rep_client.post(f"/api/v1/gifts/{pk}/request/").data["status"] == "requested"
    assert rep_client.post(f"/api/v1/gifts/{pk}/approve/", {}, format="json").status_code == 403
    approved = api(supervisor).post(f"/api/v1/gifts/{pk}/approve/", {"reason": "同意"}, format="json")
    assert approved.data["status"] == "approved"
    assert rep_client.post(f"/api/v1/gifts/{pk}/give/").data["status"] == "given"


def test_gift_bad_value_names_field(api, rep, customer):
    contact = ContactFactory(customer=customer)

    response = api(rep).post("/api/v1/gifts/", {
        "customer": customer.pk, "recipient": contact.pk, "description": "礼品", "value": "十元",
        "given_on": days(0), "purpose": "答谢",
    }, format="json")

    assert response.status_code == 400
    assert "十元" in response.data["value"][0]


@pytest.mark.parametrize("count", [2, 20])
def test_revisit_plan_list_queries_fixed(api, rep, supervisor, count, django_assert_max_num_queries):
    for _ in range(count):
        RevisitPlan.objects.create(customer=f.CustomerFactory(owner=rep), owner=rep, due_on=local_today())
    client = api(supervisor)

    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/revisit-plans/", {"state": "due"})
    assert response.data["count"] == count


@pytest.mark.parametrize("count", [2, 20])
def test_activity_and_gift_lists_queries_fixed(api, rep, count, django_assert_max_num_queries):
    customer = f.CustomerFactory(owner=rep)
    for _ in range(count):
        ActivityFactory(customer=customer)
        GiftFactory(customer=customer)
    client = api(rep)

    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/activities/").data["count"] == count
    with django_assert_max_num_queries(5):
        assert client.get("/api/v1/gifts/").data["count"] == count
