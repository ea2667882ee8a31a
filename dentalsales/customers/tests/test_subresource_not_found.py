"""Sub-resources of a customer the user may not see answer 404 on every route: read, list, create, change, delete."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from dentalsales.core.timeutils import local_today
from dentalsales.crm.models import RevisitPlan
from dentalsales.crm.tests.factories import ActivityFactory, GiftFactory
from dentalsales.customers.models import Contact, CustomerDocument, DeliveryAddress
from dentalsales.customers.tests import factories as cf
from dentalsales.testing import factories as f

PDF = b"%PDF-1.4\n%test\n"


@pytest.fixture
def hidden(rep, regions):
    """A customer of ``rep`` (team of ``supervisor``) with one row of every kind hanging off it."""
    from dentalsales.core.models import Region

    customer = f.CustomerFactory(owner=rep)
    region = Region.objects.get(code="510104")
    return {
        "customer": customer,
        "contact": cf.ContactFactory(customer=customer),
        "address": DeliveryAddress.objects.create(
            customer=customer, region=region, detail="红星路 1 号", recipient="李护士", recipient_phone="13800138000", is_default=True
        ),
        "document": CustomerDocument.objects.create(
            customer=customer, title="营业执照", file=SimpleUploadedFile("a.pdf", PDF), size=len(PDF), uploaded_by=rep
        ),
        "qualification": customer.qualifications.get(),
        "activity": ActivityFactory(customer=customer, status="draft"),
        "gift": GiftFactory(customer=customer, status="draft"),
        "plan": RevisitPlan.objects.create(customer=customer, owner=rep, due_on=local_today()),
    }


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def requests_for(rows):
    """Return (name, method, url, body) of every API request that touches ``rows``' customer."""
    customer = rows["customer"].pk
    today = local_today().isoformat()
    return [
        ("contact list", "get", f"/api/v1/contacts/?customer={customer}", None),
        ("contact read", "get", f"/api/v1/contacts/{rows['contact'].pk}/", None),
        ("contact create", "post", "/api/v1/contacts/", {"customer": customer, "name": "张伟", "mobile": "13912345678"}),
        ("contact change", "patch", f"/api/v1/contacts/{rows['contact'].pk}/", {"name": "张伟"}),
        ("contact delete", "delete", f"/api/v1/contacts/{rows['contact'].pk}/", None),
        ("address list", "get", f"/api/v1/addresses/?customer={customer}", None),
        ("address read", "get", f"/api/v1/addresses/{rows['address'].pk}/", None),
        ("address create", "post", "/api/v1/addresses/", {
            "customer": customer, "region": "510104", "detail": "红星路 2 号", "recipient": "王", "recipient_phone": "13800138001",
        }),
        ("address change", "patch", f"/api/v1/addresses/{rows['address'].pk}/", {"detail": "红星路 3 号"}),
        ("address delete", "delete", f"/api/v1/addresses/{rows['address'].pk}/", None),
        ("document list", "get", f"/api/v1/customer-documents/?customer={customer}", None),
        ("document read", "get", f"/api/v1/customer-documents/{rows['document'].pk}/", None),
        ("document delete", "delete", f"/api/v1/customer-documents/{rows['document'].pk}/", None),
        ("qualifications replace", "put", f"/api/v1/customers/{customer}/qualifications/", []),
        ("qualification verify", "post", f"/api/v1/customers/{customer}/qualifications/{rows['qualification'].pk}/verify/", {"approve": True}),
        ("grade", "post", f"/api/v1/customers/{customer}/grade/", {"category": "key", "grade": "A", "reason": "x"}),
        ("activity list", "get", f"/api/v1/activities/?customer={customer}", None),
        ("activity read", "get", f"/api/v1/activities/{rows['activity'].pk}/", None),
        ("activity create", "post", "/api/v1/activities/", {"customer": customer, "kind": "visit", "occurred_on": today, "subject": "x"}),
        ("activity change", "patch", f"/api/v1/activities/{rows['activity'].pk}/", {"subject": "y"}),
        ("revisit plan list", "get", f"/api/v1/revisit-plans/?customer={customer}", None),
        ("revisit plan read", "get", f"/api/v1/revisit-plans/{rows['plan'].pk}/", None),
        ("gift list", "get", f"/api/v1/gifts/?customer={customer}", None),
        ("gift read", "get", f"/api/v1/gifts/{rows['gift'].pk}/", None),
        ("gift create", "post", "/api/v1/gifts/", {
            "customer": customer, "recipient": rows["contact"].pk, "description": "x", "value": "10.00", "given_on": today, "purpose": "x",
        }),
        ("gift change", "patch", f"/api/v1/gifts/{rows['gift'].pk}/", {"description": "y"}),
    ]


def other_supervisor():
    team = f.TeamFactory()
    user = f.UserFactory(username="supervisor2", roles=["supervisor"], team=team)
    team.supervisor = user
    team.save()
    return user


@pytest.mark.parametrize("persona", ["rep2", "other_supervisor"])
@pytest.mark.parametrize("index", range(26))
def test_api_hides_other_teams_customer_rows(api, request, hidden, persona, index):
    user = other_supervisor() if persona == "other_supervisor" else request.getfixturevalue(persona)
    name, method, url, body = requests_for(hidden)[index]

    response = getattr(api(user), method)(url, body, format="json") if body is not None else getattr(api(user), method)(url)

    assert response.status_code == 404, (name, response.status_code, getattr(response, "data", None))


def test_request_table_covers_every_route(hidden):
    assert len(requests_for(hidden)) == 26


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
def test_api_lists_own_teams_customer_rows(api, request, hidden, persona):
    client = api(request.getfixturevalue(persona))
    customer = hidden["customer"].pk

    # The gift factory adds its recipient as a second contact.
    expected = {"contacts": 2, "addresses": 1, "customer-documents": 1, "activities": 1, "gifts": 1, "revisit-plans": 1}
    for path, count in expected.items():
        response = client.get(f"/api/v1/{path}/?customer={customer}")
        assert response.status_code == 200, path
        assert response.data["count"] == count, path


@pytest.mark.parametrize("persona", ["finance", "logistics", "quality"])
def test_api_all_data_roles_see_customer_but_not_contacts(api, request, hidden, persona):
    client = api(request.getfixturevalue(persona))
    customer = hidden["customer"].pk

    assert client.get(f"/api/v1/addresses/?customer={customer}").data["count"] == 1
    assert client.get(f"/api/v1/contacts/?customer={customer}").data["count"] == 0
    # Gifts belong to customer development, which these roles do not have.
    assert client.get(f"/api/v1/gifts/?customer={customer}").status_code == 403
    assert client.get(f"/api/v1/contacts/{hidden['contact'].pk}/").status_code == 404


def test_unknown_customer_id_is_404_like_hidden_one(api, rep):
    create = api(rep).post("/api/v1/contacts/", {"customer": 987654, "name": "张伟"}, format="json")
    listing = api(rep).get("/api/v1/contacts/?customer=987654")

    assert create.status_code == 404
    assert listing.status_code == 404


def test_malformed_customer_filter_is_400(api, rep):
    assert api(rep).get("/api/v1/contacts/?customer=abc").status_code == 400


def test_hidden_customer_rows_unchanged_after_refusals(api, rep2, hidden):
    client = api(rep2)
    for _name, method, url, body in requests_for(hidden):
        if body is not None:
            getattr(client, method)(url, body, format="json")
        else:
            getattr(client, method)(url)

    assert Contact.objects.filter(customer=hidden["customer"]).count() == 2
    assert DeliveryAddress.objects.filter(customer=hidden["customer"]).count() == 1
    assert CustomerDocument.objects.filter(customer=hidden["customer"]).count() == 1
    hidden["contact"].refresh_from_db()
    assert hidden["contact"].name != "张伟"


def web_urls(rows):
    customer = rows["customer"].pk
    return [
        reverse("customers:detail", args=[customer]),
        reverse("customers:update", args=[customer]),
        reverse("customers:contact_create", args=[customer]),
        reverse("customers:contact_update", args=[customer, rows["contact"].pk]),
        reverse("customers:address_create", args=[customer]),
        reverse("customers:address_update", args=[customer, rows["address"].pk]),
        reverse("customers:business_profile", args=[customer]),
        reverse("customers:document_upload", args=[customer]),
        reverse("customers:qualification_add", args=[customer]),
    ]


@pytest.mark.parametrize("persona", ["rep2", "other_supervisor"])
def test_web_hides_other_teams_customer_pages(request, hidden, persona):
    user = other_supervisor() if persona == "other_supervisor" else request.getfixturevalue(persona)
    client = Client()
    client.force_login(user)

    for url in web_urls(hidden):
        assert client.get(url).status_code == 404, url
