"""Product screens: list with cost hidden from roles without cost, export, detail, autocomplete, maintenance by role."""

import datetime
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.catalog import services
from dentalsales.catalog.models import Product
from dentalsales.core.timeutils import local_today
from dentalsales.testing import factories as f

LIST_URL = reverse("catalog:product_list")
CREATE_URL = reverse("catalog:product_create")


def client_for(user):
    """Return a client signed in as ``user`` that requests English pages, so that tests can compare messages."""
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def listed_skus(response):
    return [product.sku for product in response.context["page_obj"]]


def product_data(**overrides):
    data = {
        "sku": "NEW-001",
        "name": "玻璃离子水门汀",
        "name_en": "Glass ionomer cement",
        "brand": "Demo",
        "manufacturer": "Demo Dental Co.",
        "specification": "15g+10ml",
        "unit": "盒",
        "category": "",
        "device_class": "III",
        "registration_number": "国械注进20173170123",
        "registration_valid_until": "2030-06-30",
        "udi_di": "",
        "storage_conditions": "常温",
        "vat_rate": "0.13",
        "list_price": "268.00",
        "standard_cost": "150.00",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def create_product(actor, **overrides):
    """Create a product through the service, as the product master screen would, so that its search text is built."""
    values = {
        **product_data(),
        "category": None,
        "registration_valid_until": datetime.date(2030, 6, 30),
        "vat_rate": Decimal("0.13"),
        "list_price": Decimal("268.00"),
        "standard_cost": Decimal("150.00"),
        "is_active": True,
    }
    return services.create_product(actor=actor, **{**values, **overrides})


# List


def test_list_hides_standard_cost_from_a_representative(rep):
    f.ProductFactory(standard_cost=Decimal("81.2300"))

    html = client_for(rep).get(LIST_URL).content.decode()

    assert 'data-testid="cost-header"' not in html
    assert "81.23" not in html


def test_list_shows_standard_cost_to_a_manager(manager):
    f.ProductFactory(standard_cost=Decimal("81.2300"))

    html = client_for(manager).get(LIST_URL).content.decode()

    assert 'data-testid="cost-header"' in html
    assert "81.23" in html


def test_list_marks_an_expired_registration(rep):
    f.ProductFactory(registration_valid_until=local_today() - datetime.timedelta(days=1))
    f.ProductFactory(registration_valid_until=local_today())

    html = client_for(rep).get(LIST_URL).content.decode()

    assert html.count("data-expired") == 1


def test_search_by_pinyin_initials(manager):
    found = create_product(manager)
    create_product(manager, sku="OTHER", name="根管锉", registration_number="国械注进20173170124")

    assert listed_skus(client_for(manager).get(LIST_URL, {"q": "bllz"})) == [found.sku]


def test_filters_by_category_and_device_class(rep):
    resin = f.CategoryFactory(code="EBF", name="复合树脂")
    files = f.CategoryFactory(code="EKS", name="根管锉")
    wanted = f.ProductFactory(category=resin, device_class="II")
    f.ProductFactory(category=files, device_class="II")
    f.ProductFactory(category=resin, device_class="III", registration_number="国械注准20203170001")

    skus = listed_skus(client_for(rep).get(LIST_URL, {"category": resin.pk, "device_class": "II"}))

    assert skus == [wanted.sku]


def test_inactive_products_only_for_catalog_roles(rep, quality):
    f.ProductFactory(is_active=False, sku="OLD-1")

    assert listed_skus(client_for(rep).get(LIST_URL, {"inactive": "on"})) == []
    assert listed_skus(client_for(quality).get(LIST_URL, {"inactive": "on"})) == ["OLD-1"]


@pytest.mark.parametrize("rows", [5, 60])
def test_list_runs_a_fixed_number_of_queries(rows, manager, django_assert_max_num_queries):
    f.ProductFactory.create_batch(rows)
    client = client_for(manager)

    # session, user, groups, category filter options, count, page
    with django_assert_max_num_queries(6):
        response = client.get(LIST_URL)

    assert len(response.context["page_obj"]) == min(rows, 50)


def export_rows(response):
    return list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))


def test_export_has_no_cost_for_a_representative(rep):
    product = f.ProductFactory()

    rows = export_rows(client_for(rep).get(LIST_URL, {"export": "xlsx"}))

    assert "Standard cost" not in rows[0]
    assert [row[0] for row in rows[1:]] == [product.sku]


def test_export_has_cost_for_finance(finance):
    f.ProductFactory(standard_cost=Decimal("80.00"))

    rows = export_rows(client_for(finance).get(LIST_URL, {"export": "xlsx"}))

    assert rows[1][rows[0].index("Standard cost")] == 80


# Detail


def test_detail_shows_stock_per_lot(rep, logistics, product, warehouse):
    f.receive(product, warehouse, quantity=30, actor=logistics, lot_number="LOT-A")
    f.receive(product, warehouse, quantity=12, actor=logistics, lot_number="LOT-B", expiry_days=400)

    response = client_for(rep).get(reverse("catalog:product_detail", args=[product.pk]))

    stock = response.context["stock"]
    assert [(row["lot_number"], row["on_hand"]) for row in stock["lots"]] == [("LOT-B", 12), ("LOT-A", 30)]
    assert stock["on_hand"] == 42
    assert "LOT-A" in response.content.decode()


def test_detail_hides_standard_cost_from_a_representative(rep, product):
    html = client_for(rep).get(reverse("catalog:product_detail", args=[product.pk])).content.decode()

    assert 'data-testid="standard-cost"' not in html


# Autocomplete


def test_autocomplete_returns_what_an_order_line_needs(rep):
    product = f.ProductFactory(sku="A-1", name="光固化复合树脂", specification="4g/支", list_price=Decimal("130.0000"))
    f.ProductFactory(sku="A-2", is_active=False)

    results = client_for(rep).get(reverse("catalog:product_autocomplete")).json()["results"]

    assert results == [
        {
            "id": product.pk,
            "text": "A-1 光固化复合树脂 4g/支",
            "search": f"{product.search_text} {product.registration_number}",
            "unit": "支",
            "list_price": "130.00",
            "vat_rate": "0.13",
        }
    ]


def test_autocomplete_searches_and_returns_at_most_thirty(rep, manager):
    f.ProductFactory.create_batch(31)
    create_product(manager)

    client = client_for(rep)
    everything = client.get(reverse("catalog:product_autocomplete")).json()["results"]
    found = client.get(reverse("catalog:product_autocomplete"), {"q": "bllz"}).json()["results"]

    assert len(everything) == 30
    assert [row["text"] for row in found] == ["NEW-001 玻璃离子水门汀 15g+10ml"]


# Maintenance


@pytest.mark.parametrize("persona", ["rep", "supervisor", "logistics", "finance"])
def test_roles_outside_catalog_cannot_create_products(persona, request, db):
    client = client_for(request.getfixturevalue(persona))

    assert client.get(CREATE_URL).status_code == 403
    assert client.post(CREATE_URL, product_data()).status_code == 403
    assert not Product.objects.exists()


def test_quality_officer_creates_a_product(quality):
    response = client_for(quality).post(CREATE_URL, product_data())

    product = Product.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:product_detail", args=[product.pk])
    assert product.registration_number == "国械注进20173170123"
    assert product.search_text != ""


def test_registration_number_of_the_wrong_class_is_refused_beside_the_field(quality):
    response = client_for(quality).post(CREATE_URL, product_data(device_class="I", registration_valid_until=""))

    assert response.status_code == 200
    assert "not the registration certificate “国械注进20173170123”" in response.context["form"].errors["registration_number"][0]
    assert not Product.objects.exists()


def test_malformed_registration_number_is_refused(quality):
    response = client_for(quality).post(CREATE_URL, product_data(registration_number="ABC123"))

    assert "“ABC123” is not an NMPA registration or record number" in response.context["form"].errors["registration_number"][0]
    assert not Product.objects.exists()


def test_manager_edits_a_product(manager, product):
    data = product_data(sku=product.sku, name="新名称", device_class="II", registration_number=product.registration_number)

    response = client_for(manager).post(reverse("catalog:product_update", args=[product.pk]), data)

    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "新名称"


def test_representative_cannot_edit_a_product(rep, product):
    name = product.name

    response = client_for(rep).post(reverse("catalog:product_update", args=[product.pk]), product_data(sku=product.sku))

    assert response.status_code == 403
    product.refresh_from_db()
    assert product.name == name
