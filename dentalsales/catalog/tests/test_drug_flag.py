"""The product's drug licence flag on the API, the form, the detail page and the admin, and its use in order review."""

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from dentalsales.catalog.forms import ProductForm
from dentalsales.catalog.models import Product
from dentalsales.customers.compliance import scope_problems
from dentalsales.testing import factories as f

from .test_api import new_product

pytestmark = pytest.mark.django_db


def test_api_creates_and_changes_flag(api, quality):
    created = api(quality).post("/api/v1/products/", new_product(requires_drug_licence=True), format="json")

    assert created.status_code == 201, created.json()
    assert created.json()["requires_drug_licence"] is True
    changed = api(quality).patch(f"/api/v1/products/{created.json()['id']}/", {"requires_drug_licence": False}, format="json")
    assert changed.status_code == 200
    assert Product.objects.get(pk=created.json()["id"]).requires_drug_licence is False


@pytest.mark.parametrize("persona", ["rep", "finance"])
def test_api_flag_readable_but_not_writable_by_other_roles(api, request, persona, product):
    client = api(request.getfixturevalue(persona))

    assert client.get(f"/api/v1/products/{product.pk}/").json()["requires_drug_licence"] is False
    assert client.patch(f"/api/v1/products/{product.pk}/", {"requires_drug_licence": True}, format="json").status_code == 403
    product.refresh_from_db()
    assert product.requires_drug_licence is False


def test_product_form_has_flag():
    assert "requires_drug_licence" in ProductForm().fields


def test_detail_page_shows_flag(rep):
    product = f.ProductFactory(requires_drug_licence=True)
    client = Client(headers={"accept-language": "en"})
    client.force_login(rep)

    html = client.get(reverse("catalog:product_detail", args=[product.pk])).content.decode()

    assert 'data-testid="requires-drug-licence">yes<' in html


def test_admin_lists_and_filters_flag():
    product_admin = admin.site._registry[Product]

    assert "requires_drug_licence" in product_admin.list_display
    assert "requires_drug_licence" in product_admin.list_filter


def test_flagged_product_needs_drug_scope_whatever_its_name(rep):
    customer = f.CustomerFactory(owner=rep)
    for qualification in customer.qualifications.all():
        qualification.verification_status = "verified"
        qualification.save()
    flagged = f.ProductFactory(name="复合树脂", device_class="I", requires_drug_licence=True)

    problems = scope_problems(customer, [flagged])

    assert len(problems) == 1
    assert "covering drugs" in problems[0]
