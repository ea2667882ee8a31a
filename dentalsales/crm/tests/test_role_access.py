"""Customer development is for the roles with its menu (sales): others get 403 on screens and API, and no panel."""

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.crm import services

from .factories import ActivityFactory, GiftFactory

pytestmark = pytest.mark.django_db

OTHER_ROLES = ["logistics", "finance", "quality"]


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def records(rep, customer):
    prospect = services.create_prospect(actor=rep, source="web", name="某口腔诊所", customer_type="clinic")
    return {
        "prospect": prospect,
        "activity": ActivityFactory(customer=customer),
        "gift": GiftFactory(customer=customer),
        "customer": customer,
    }


def urls(records):
    customer = records["customer"].pk
    return [
        reverse("crm:prospect_detail", args=[records["prospect"].pk]),
        reverse("crm:activity_list") + f"?customer={customer}",
        reverse("crm:gift_list") + f"?customer={customer}",
        reverse("crm:activity_detail", args=[records["activity"].pk]),
        reverse("crm:gift_detail", args=[records["gift"].pk]),
        reverse("crm:activity_create") + f"?customer={customer}",
    ]


@pytest.mark.parametrize("persona", OTHER_ROLES)
def test_other_roles_get_403_on_screens(request, records, persona):
    client = client_for(request.getfixturevalue(persona))

    for url in urls(records):
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
def test_sales_roles_open_the_screens(request, records, persona):
    client = client_for(request.getfixturevalue(persona))

    for url in urls(records):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("persona", OTHER_ROLES)
def test_other_roles_get_403_in_api(api, request, records, persona):
    client = api(request.getfixturevalue(persona))

    for path in ("prospects", "activities", "gifts", "revisit-plans"):
        assert client.get(f"/api/v1/{path}/").status_code == 403, path
    assert client.get(f"/api/v1/prospects/{records['prospect'].pk}/").status_code == 403


@pytest.mark.parametrize("persona", OTHER_ROLES)
def test_customer_page_has_no_development_panel_for_other_roles(request, records, persona):
    page = client_for(request.getfixturevalue(persona)).get(records["customer"].get_absolute_url()).content.decode()

    assert 'data-testid="customer-crm"' not in page
    assert reverse("crm:activity_create") not in page


def test_customer_page_has_development_panel_for_rep(rep, records):
    page = client_for(rep).get(records["customer"].get_absolute_url()).content.decode()

    assert 'data-testid="customer-crm"' in page
