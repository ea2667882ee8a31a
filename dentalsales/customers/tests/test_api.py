"""The customer API: contract, visibility per role, bad input."""

import datetime

import pytest

from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import Customer
from dentalsales.testing import factories as f

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("regions")]

CONTRACT_FIELDS = {
    "id", "code", "name", "customer_type", "category", "grade", "owner", "region", "credit_limit",
    "payment_terms_days", "min_shelf_life_days", "uscc", "qualifications",
}


def new_customer(**overrides):
    payload = {
        "name": "成都锦江区贝齿口腔诊所",
        "customer_type": "clinic",
        "category": "general",
        "grade": "B",
        "region": "510104",
        "min_shelf_life_days": 180,
        "uscc": f.valid_uscc(42),
        "qualifications": [{"kind": "medical_institution_licence", "number": "PDY0001", "valid_until": "2030-12-31"}],
    }
    payload.update(overrides)
    return payload


def test_representative_creates_own_customer(api, rep):
    response = api(rep).post("/api/v1/customers/", new_customer(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert CONTRACT_FIELDS <= set(body)
    assert body["owner"] == rep.pk
    assert body["region"] == "510104"
    assert body["credit_limit"] == "0.00"
    assert body["code"].startswith("CU-")
    qualification = body["qualifications"][0]
    assert len(body["qualifications"]) == 1
    assert qualification["kind"] == "medical_institution_licence"
    assert qualification["number"] == "PDY0001"
    assert qualification["valid_until"] == "2030-12-31"
    assert qualification["verification_status"] == "pending"


def test_customer_created_without_region_and_owner(api, rep):
    response = api(rep).post("/api/v1/customers/", new_customer(region=None, qualifications=[]), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["region"] is None


def test_invalid_uscc_shape_is_refused(api, rep):
    response = api(rep).post("/api/v1/customers/", new_customer(uscc="12345"), format="json")

    assert response.status_code == 400
    assert "12345" in response.json()["uscc"][0]
    assert Customer.objects.count() == 0


def test_uscc_failing_check_needs_reason(api, rep):
    good = f.valid_uscc(7)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")

    refused = api(rep).post("/api/v1/customers/", new_customer(uscc=bad), format="json")
    assert refused.status_code == 400
    assert bad in refused.json()["uscc"][0]
    assert Customer.objects.count() == 0

    accepted = api(rep).post(
        "/api/v1/customers/", new_customer(uscc=bad, uscc_override_reason="早期试点代码，营业执照原件核对无误"), format="json"
    )
    assert accepted.status_code == 201
    assert accepted.json()["uscc_override_reason"] == "早期试点代码，营业执照原件核对无误"


def test_invalid_choice_names_value(api, rep):
    response = api(rep).post("/api/v1/customers/", new_customer(customer_type="spaceport"), format="json")

    assert response.status_code == 400
    assert "spaceport" in response.json()["customer_type"][0]


def test_representative_cannot_assign_to_colleague(api, rep, rep2):
    response = api(rep).post("/api/v1/customers/", new_customer(owner=rep2.pk), format="json")

    assert response.status_code == 400
    assert "owner" in response.json()
    assert Customer.objects.count() == 0


def test_logistics_cannot_create_customers(api, logistics):
    response = api(logistics).post("/api/v1/customers/", new_customer(), format="json")

    assert response.status_code == 403
    assert Customer.objects.count() == 0


def test_visibility_per_role(api, rep, rep2, supervisor, manager, finance):
    own = f.CustomerFactory(owner=rep)
    other = f.CustomerFactory(owner=rep2)

    def codes(user):
        return sorted(row["code"] for row in api(user).get("/api/v1/customers/").json()["results"])

    assert codes(rep) == [own.code]
    assert codes(rep2) == [other.code]
    assert codes(supervisor) == [own.code]
    assert codes(manager) == sorted([own.code, other.code])
    assert codes(finance) == sorted([own.code, other.code])
    assert api(rep).get(f"/api/v1/customers/{other.pk}/").status_code == 404
    assert api(rep).patch(f"/api/v1/customers/{other.pk}/", {"name": "x"}, format="json").status_code == 404


def test_search_by_pinyin_initials(api, rep):
    api(rep).post("/api/v1/customers/", new_customer(name="北京口腔医院", uscc=f.valid_uscc(44)), format="json")
    api(rep).post("/api/v1/customers/", new_customer(name="上海牙科诊所", uscc=f.valid_uscc(43)), format="json")

    names = [row["name"] for row in api(rep).get("/api/v1/customers/", {"search": "bjkq"}).json()["results"]]

    assert names == ["北京口腔医院"]


def test_supervisor_sets_credit_terms(api, supervisor, rep):
    response = api(supervisor).post(
        "/api/v1/customers/", new_customer(owner=rep.pk, credit_limit="50000.00", payment_terms_days=45), format="json"
    )

    assert response.status_code == 201, response.json()
    assert response.json()["credit_limit"] == "50000.00"
    assert response.json()["payment_terms_days"] == 45


def test_representative_cannot_raise_credit_limit(api, rep, customer):
    response = api(rep).patch(f"/api/v1/customers/{customer.pk}/", {"credit_limit": "9999999.00"}, format="json")

    assert response.status_code == 400
    assert "credit_limit" in response.json()
    customer.refresh_from_db()
    assert str(customer.credit_limit) == "100000.00"


def test_representative_cannot_change_qualifications(api, rep, customer):
    response = api(rep).patch(
        f"/api/v1/customers/{customer.pk}/",
        {"qualifications": [{"kind": "medical_institution_licence", "number": "FAKE", "valid_until": "2099-12-31"}]},
        format="json",
    )

    assert response.status_code == 400
    assert "qualifications" in response.json()
    assert [q.number for q in customer.qualifications.all()] != ["FAKE"]


def test_quality_officer_replaces_qualifications(api, quality, rep, customer):
    expired = (local_today() - datetime.timedelta(days=3)).isoformat()
    payload = [{"kind": "medical_institution_licence", "number": "NEW-1", "valid_until": expired}]

    denied = api(rep).put(f"/api/v1/customers/{customer.pk}/qualifications/", payload, format="json")
    response = api(quality).put(f"/api/v1/customers/{customer.pk}/qualifications/", payload, format="json")

    assert denied.status_code == 403
    assert response.status_code == 200
    assert [q["number"] for q in response.json()["qualifications"]] == ["NEW-1"]


def test_duplicate_uscc_refused(api, rep):
    first = api(rep).post("/api/v1/customers/", new_customer(), format="json").json()

    response = api(rep).post("/api/v1/customers/", new_customer(name="另一家诊所"), format="json")

    assert response.status_code == 400
    assert first["code"] in response.json()["uscc"][0]
    assert Customer.objects.count() == 1


def test_customer_list_query_count_is_fixed(api, manager, rep, django_assert_max_num_queries):
    client = api(manager)
    f.CustomerFactory(owner=rep)
    with django_assert_max_num_queries(6):
        client.get("/api/v1/customers/")
    f.CustomerFactory.create_batch(30, owner=rep)
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/customers/")
    assert response.json()["count"] == 31


def test_qualification_changes_are_kept_in_history(api, quality, customer):
    from dentalsales.customers.models import Qualification

    before = Qualification.history.count()

    api(quality).put(
        f"/api/v1/customers/{customer.pk}/qualifications/",
        [{"kind": "medical_institution_licence", "number": "NEW-2", "valid_until": "2031-01-31"}],
        format="json",
    )

    # One record for the removed licence, one for the added one.
    assert Qualification.history.count() == before + 2
    assert Qualification.history.filter(history_type="-").count() == 1
    assert Qualification.history.filter(number="NEW-2", history_type="+").count() == 1
