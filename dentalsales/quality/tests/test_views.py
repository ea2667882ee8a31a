"""Recall screens: list, entry with the lot choices, detail with follow-up, export, print; access per role."""

import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.inventory.models import Lot, LotStatus
from dentalsales.quality import services
from dentalsales.quality.models import Recall, RecallCustomer, RecallStatus

from .factories import draft_recall

pytestmark = pytest.mark.django_db
LIST_URL = reverse("quality:recall_list")
CREATE_URL = reverse("quality:recall_create")


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def test_create_recall_screen(quality, product, shipped):
    client = client_for(quality)
    response = client.get(CREATE_URL, {"product": product.pk})
    assert response.status_code == 200
    # The product select renders only the chosen product; Tom Select loads the others from the catalog autocomplete.
    assert f'<option value="{product.pk}" selected>' in response.content.decode()

    choices = client.get(reverse("quality:recall_lot_choices"), {"product": product.pk}).content.decode()
    for lot in shipped["lots"]:
        assert f'value="{lot.pk}"' in choices

    data = {"product": product.pk, "lots": [shipped["lots"][0].pk], "level": "2", "reason": "包装破损", "source": ""}
    response = client.post(CREATE_URL, data)
    recall = Recall.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("quality:recall_detail", args=[recall.pk])
    assert list(recall.lots.all()) == [shipped["lots"][0]]


def test_create_recall_without_lots_shows_error(quality, product, shipped):
    response = client_for(quality).post(CREATE_URL, {"product": product.pk, "level": "2", "reason": "包装破损"})
    assert response.status_code == 200
    assert "Choose at least one lot" in response.content.decode()
    assert 'data-error-for="lots"' in response.content.decode()
    assert not Recall.objects.exists()


def test_recall_detail_open_and_follow_up(quality, product, shipped):
    client = client_for(quality)
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    detail_url = reverse("quality:recall_detail", args=[recall.pk])
    assert 'data-testid="draft-hint"' in client.get(detail_url).content.decode()

    response = client.post(reverse("quality:recall_open", args=[recall.pk]), {"confirm": "1"}, follow=True)
    page = response.content.decode()
    assert "is open" in page
    assert Lot.objects.get(pk=shipped["lots"][0].pk).status == LotStatus.RECALLED
    customer1, customer2, customer3 = shipped["customers"]
    assert f'data-customer="{customer1.code}"' in page
    assert f'data-customer="{customer2.code}"' in page
    assert f'data-customer="{customer3.code}"' not in page

    client.post(reverse("quality:recall_notify", args=[recall.pk, customer1.pk]), {"method": "电话"})
    client.post(reverse("quality:recall_acknowledge", args=[recall.pk, customer1.pk]))
    response = client.post(reverse("quality:recall_recover", args=[recall.pk, customer1.pk]), {"quantity_recovered": "99"}, follow=True)
    assert "only 15 were shipped" in response.content.decode()
    client.post(reverse("quality:recall_recover", args=[recall.pk, customer1.pk]), {"quantity_recovered": "9"})
    row = RecallCustomer.objects.get(recall=recall, customer=customer1)
    assert row.notification_method == "电话"
    assert row.acknowledged_at is not None
    assert row.quantity_recovered == 9

    response = client.post(reverse("quality:recall_close", args=[recall.pk]), {"note": "done"}, follow=True)
    assert customer2.name in response.content.decode()
    assert Recall.objects.get(pk=recall.pk).status == RecallStatus.OPEN


def test_recall_export_lists_shipments(quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0], shipped["lots"][1]])
    services.open_recall(actor=quality, recall=recall)
    response = client_for(quality).get(reverse("quality:recall_export", args=[recall.pk]))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    assert header[:4] == ["SKU", "Product", "Specification", "Registration or record number"]
    assert "Expiry date" in header
    assert len(rows) == 1 + 4
    quantity = header.index("Quantity")
    assert sorted(row[quantity] for row in rows[1:]) == [4, 5, 7, 10]
    assert {row[header.index("Customer")] for row in rows[1:]} == {"北京口腔医院", "成都牙科诊所", "上海齿科门诊"}
    assert {row[0] for row in rows[1:]} == {product.sku}
    assert {row[3] for row in rows[1:]} == {product.registration_number}
    expiry = {row[header.index("Lot number")]: row[header.index("Expiry date")].date() for row in rows[1:]}
    assert expiry == {"A001": shipped["lots"][0].expiry_date, "B002": shipped["lots"][1].expiry_date}


def test_recall_print_page(quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    services.open_recall(actor=quality, recall=recall)
    page = client_for(quality).get(reverse("quality:recall_print", args=[recall.pk])).content.decode()
    assert recall.number in page
    assert "北京口腔医院" in page
    assert "window.print()" in page


@pytest.mark.parametrize("persona", ["manager", "logistics"])
def test_readers_see_without_actions(request, persona, quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    client = client_for(request.getfixturevalue(persona))
    assert client.get(LIST_URL).status_code == 200
    page = client.get(reverse("quality:recall_detail", args=[recall.pk])).content.decode()
    assert 'data-action="open"' not in page
    assert client.get(CREATE_URL).status_code == 403
    assert client.post(reverse("quality:recall_open", args=[recall.pk])).status_code == 403
    assert Recall.objects.get(pk=recall.pk).status == RecallStatus.DRAFT


@pytest.mark.parametrize("persona", ["rep", "supervisor", "finance"])
def test_other_roles_forbidden(request, persona, quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    client = client_for(request.getfixturevalue(persona))
    assert client.get(LIST_URL).status_code == 403
    assert client.get(reverse("quality:recall_detail", args=[recall.pk])).status_code == 403
    assert client.get(reverse("quality:recall_export", args=[recall.pk])).status_code == 403


def test_recall_list_query_count(quality, product, shipped, django_assert_max_num_queries):
    client = client_for(quality)
    draft_recall(quality, product, [shipped["lots"][0]])
    with django_assert_max_num_queries(14):
        assert client.get(LIST_URL).status_code == 200
    for _ in range(6):
        # A lot is in one draft or open recall at a time, so the earlier ones are withdrawn.
        services.withdraw_recall(actor=quality, recall=draft_recall(quality, product, [shipped["lots"][1]]), reason="录入错误")
    with django_assert_max_num_queries(14):
        response = client.get(LIST_URL, {"q": "B002"})
    assert response.content.decode().count("data-recall=") == 6


def test_recall_detail_query_count(quality, product, shipped, django_assert_max_num_queries):
    client = client_for(quality)
    small = services.open_recall(actor=quality, recall=draft_recall(quality, product, [shipped["lots"][0]]))
    with django_assert_max_num_queries(30):
        assert client.get(reverse("quality:recall_detail", args=[small.pk])).status_code == 200
    for customer in shipped["customers"][:2]:
        services.record_notification(actor=quality, recall=small, customer=customer, method="电话")
    services.close_recall(actor=quality, recall=small, note="已通知")
    large = services.open_recall(actor=quality, recall=draft_recall(quality, product, list(shipped["lots"])))
    with django_assert_max_num_queries(30):
        page = client.get(reverse("quality:recall_detail", args=[large.pk])).content.decode()
    assert page.count("data-customer=") == 3
