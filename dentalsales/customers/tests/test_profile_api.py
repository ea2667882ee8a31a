"""API of contacts, addresses, documents, qualification verification, grades and customer search."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dentalsales.customers.models import Contact, VerificationStatus
from dentalsales.testing import factories as f

from . import factories as cf

PDF = b"%PDF-1.4\n% demo\n"


@pytest.fixture
def contact(customer):
    return cf.ContactFactory(customer=customer, mobile="13912345678")


def test_contacts_visible_per_role(api, contact, rep, supervisor, manager, rep2, finance, quality, logistics):
    url = f"/api/v1/contacts/?customer={contact.customer_id}"
    for user in (rep, supervisor, manager):
        ids = [row["id"] for row in api(user).get(url).json()["results"]]
        assert ids == [contact.pk], user.username
    assert api(rep2).get(url).status_code == 404
    for user in (finance, quality, logistics):
        assert api(user).get(url).json()["results"] == [], user.username
    for user in (rep2, finance, quality, logistics):
        assert api(user).get(f"/api/v1/contacts/{contact.pk}/").status_code == 404, user.username


def test_contacts_filtered_by_customer(api, rep, contact):
    other = cf.ContactFactory(customer=f.CustomerFactory(owner=rep))

    rows = api(rep).get("/api/v1/contacts/", {"customer": other.customer_id}).json()["results"]

    assert [row["id"] for row in rows] == [other.pk]
    assert api(rep).get("/api/v1/contacts/", {"customer": "abc"}).status_code == 400


def test_contact_created_and_normalised(api, rep, customer):
    response = api(rep).post(
        "/api/v1/contacts/",
        {"customer": customer.pk, "name": "王主任", "mobile": "+86 139 0000 1111", "decision_role": "decision_maker"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["mobile"] == "13900001111"
    assert Contact.objects.get().customer == customer


def test_contact_bad_mobile_names_value(api, rep, customer):
    response = api(rep).post("/api/v1/contacts/", {"customer": customer.pk, "name": "王", "mobile": "12345"}, format="json")

    assert response.status_code == 400
    assert "“12345”" in str(response.json())


def test_contact_for_other_team_customer_refused(api, rep2, customer):
    response = api(rep2).post("/api/v1/contacts/", {"customer": customer.pk, "name": "王"}, format="json")

    assert response.status_code in (400, 404)
    assert not Contact.objects.exists()


def test_contact_update_and_delete(api, rep, contact):
    response = api(rep).patch(f"/api/v1/contacts/{contact.pk}/", {"title": "院长"}, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == "院长"
    assert response.json()["mobile"] == "13912345678"

    assert api(rep).delete(f"/api/v1/contacts/{contact.pk}/").status_code == 204
    assert not Contact.objects.exists()


def test_contact_list_query_count_is_fixed(api, rep, manager, django_assert_max_num_queries):
    customer = f.CustomerFactory(owner=rep)
    for size in (2, 20):
        for _index in range(size):
            cf.ContactFactory(customer=customer)
            cf.ContactFactory(customer=f.CustomerFactory(owner=rep))
        # The customer check, the export permission (for the birthday), the count and the page.
        with django_assert_max_num_queries(5):
            response = api(rep).get(f"/api/v1/contacts/?customer={customer.pk}")
        assert response.status_code == 200
        # The bulk list, for a user with the export permission, also writes the export log.
        with django_assert_max_num_queries(6):
            response = api(manager).get("/api/v1/contacts/")
        assert response.status_code == 200


def test_address_created_with_region_code(api, rep, customer, regions):
    response = api(rep).post(
        "/api/v1/addresses/",
        {"customer": customer.pk, "region": "510104", "detail": "春熙路 8 号", "recipient": "张", "recipient_phone": "028-86661234"},
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["region"] == "510104"
    assert "锦江区" in body["region_name"]
    assert body["is_default"] is True


def test_address_bad_region_names_value(api, rep, customer, regions):
    response = api(rep).post(
        "/api/v1/addresses/",
        {"customer": customer.pk, "region": "51", "detail": "x", "recipient": "张", "recipient_phone": "13800001111"},
        format="json",
    )

    assert response.status_code == 400
    assert "region" in str(response.json())


def test_address_of_other_rep_is_404(api, rep2, customer, regions):
    from dentalsales.customers import services
    from dentalsales.core.models import Region

    address = services.create_address(
        actor=customer.owner, customer=customer, region=Region.objects.get(code="510104"), detail="x", recipient="张", recipient_phone="13800001111"
    )

    assert api(rep2).get(f"/api/v1/addresses/{address.pk}/").status_code == 404


def test_document_uploaded_through_api(api, rep, customer, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    response = api(rep).post(
        "/api/v1/customer-documents/",
        {"customer": customer.pk, "kind": "licence_scan", "title": "营业执照", "file": SimpleUploadedFile("licence.pdf", PDF)},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["size"] == len(PDF)

    bad = api(rep).post(
        "/api/v1/customer-documents/",
        {"customer": customer.pk, "file": SimpleUploadedFile("licence.pdf", b"not a pdf")},
        format="multipart",
    )
    assert bad.status_code == 400


def test_verify_endpoint_for_quality_officer(api, quality, rep, customer):
    qualification = customer.qualifications.get()
    qualification.verification_status = VerificationStatus.PENDING
    qualification.save()
    url = f"/api/v1/customers/{customer.pk}/qualifications/{qualification.pk}/verify/"

    assert api(rep).post(url, {"approve": True}, format="json").status_code == 403
    response = api(quality).post(url, {"approve": True}, format="json")

    assert response.status_code == 200
    assert response.json()["verification_status"] == "verified"
    assert api(quality).post(url, {"approve": True}, format="json").status_code == 409


def test_verify_endpoint_rejects_with_note(api, quality, customer):
    qualification = customer.qualifications.get()
    qualification.verification_status = VerificationStatus.PENDING
    qualification.save()
    url = f"/api/v1/customers/{customer.pk}/qualifications/{qualification.pk}/verify/"

    assert api(quality).post(url, {"approve": False}, format="json").status_code == 400
    response = api(quality).post(url, {"approve": False, "note": "扫描件模糊"}, format="json")
    assert response.json()["verification_status"] == "rejected"


def test_verify_endpoint_other_customer_qualification_is_404(api, quality, customer, rep):
    other = f.CustomerFactory(owner=rep)
    qualification = other.qualifications.get()

    response = api(quality).post(f"/api/v1/customers/{customer.pk}/qualifications/{qualification.pk}/verify/", {}, format="json")

    assert response.status_code == 404


def test_grade_endpoint(api, supervisor, rep, customer):
    url = f"/api/v1/customers/{customer.pk}/grade/"

    assert api(rep).post(url, {"category": "key", "grade": "A", "reason": "x"}, format="json").status_code == 403
    response = api(supervisor).post(url, {"category": "key", "grade": "A", "reason": "年采购额大"}, format="json")

    assert response.status_code == 200
    assert response.json()["grade"] == "A"


def test_customer_search_by_contact_mobile(api, rep, rep2, contact):
    found = api(rep).get("/api/v1/customers/", {"search": "13912345678"}).json()["results"]
    hidden = api(rep2).get("/api/v1/customers/", {"search": "13912345678"}).json()["results"]

    assert [row["id"] for row in found] == [contact.customer_id]
    assert hidden == []


def test_other_reps_customer_is_404(api, rep2, customer):
    assert api(rep2).get(f"/api/v1/customers/{customer.pk}/").status_code == 404
