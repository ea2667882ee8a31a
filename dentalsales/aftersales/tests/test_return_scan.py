"""UDI scanning on the return form: a GS1 barcode picks the customer's returnable shipment line; unmatched codes are reported."""

import json

import pytest
from django.urls import reverse

from dentalsales.catalog.models import Product
from dentalsales.inventory.udi import gtin_check_digit

pytestmark = pytest.mark.django_db
SCAN_URL = reverse("aftersales:return_scan")


def gtin(body13):
    return body13 + str(gtin_check_digit(body13))


def barcode(shipment_line, *, gtin_value=None, lot=None):
    parts = []
    if gtin_value:
        parts.append(f"(01){gtin_value}")
    parts.append(f"(17){shipment_line.expiry_date:%y%m%d}")
    parts.append(f"(10){lot or shipment_line.lot_number}")
    return "".join(parts)


def scan(client, customer, code):
    return client.post(f"{SCAN_URL}?customer={customer.pk}", json.dumps({"barcode": code}), content_type="application/json")


def test_scan_picks_shipment_line(client, rep, customer, shipment_line):
    client.force_login(rep)

    response = scan(client, customer, barcode(shipment_line))

    assert response.status_code == 200
    body = response.json()
    assert body["shipment_lines"] == [shipment_line.pk]
    assert body["lot_number"] == shipment_line.lot_number


def test_scan_matches_product_by_udi_di(client, rep, customer, shipment_line):
    product_gtin = gtin("0690000000001")
    Product.objects.filter(pk=shipment_line.product_id).update(udi_di=product_gtin)
    client.force_login(rep)

    assert scan(client, customer, barcode(shipment_line, gtin_value=product_gtin)).status_code == 200
    other = scan(client, customer, barcode(shipment_line, gtin_value=gtin("0690000000002")))

    assert other.status_code == 400
    assert shipment_line.lot_number in other.json()["detail"]


def test_scan_unknown_lot_reported(client, rep, customer, shipment_line):
    client.force_login(rep)

    response = scan(client, customer, barcode(shipment_line, lot="NOSUCHLOT"))

    assert response.status_code == 400
    assert "NOSUCHLOT" in response.json()["detail"]
    assert customer.name in response.json()["detail"]


@pytest.mark.parametrize("code, words", [("(01)12345", "01"), ("(21)SN0001", "no lot number"), ("", "empty")])
def test_scan_malformed_reported(client, rep, customer, shipment_line, code, words):
    client.force_login(rep)

    response = scan(client, customer, code)

    assert response.status_code == 400
    assert words in response.json()["detail"]


def test_scan_other_representative_customer_not_found(client, rep2, customer, shipment_line):
    client.force_login(rep2)

    assert scan(client, customer, barcode(shipment_line)).status_code == 404


@pytest.mark.parametrize("persona", ["logistics", "quality", "finance"])
def test_scan_outside_sales_forbidden(request, client, persona, customer, shipment_line):
    client.force_login(request.getfixturevalue(persona))

    assert scan(client, customer, barcode(shipment_line)).status_code == 403


def test_return_form_has_scan_field(client, rep, customer, shipment_line):
    client.force_login(rep)

    page = client.get(reverse("aftersales:return_create"), {"customer": customer.pk}).content.decode()

    assert 'data-testid="udi-scan"' in page
    assert f"{SCAN_URL}?customer={customer.pk}" in page
    assert "js/udi-scan.js" in page


def test_scan_api(api, rep, rep2, logistics, customer, shipment_line):
    url = "/api/v1/returns/scan/"

    found = api(rep).post(url, {"customer": customer.pk, "barcode": barcode(shipment_line)}, format="json")
    unmatched = api(rep).post(url, {"customer": customer.pk, "barcode": barcode(shipment_line, lot="X9")}, format="json")
    hidden = api(rep2).post(url, {"customer": customer.pk, "barcode": barcode(shipment_line)}, format="json")
    forbidden = api(logistics).post(url, {"customer": customer.pk, "barcode": barcode(shipment_line)}, format="json")

    assert found.status_code == 200
    assert found.data["shipment_lines"] == [shipment_line.pk]
    assert unmatched.status_code == 400
    assert "X9" in unmatched.data["detail"]
    assert hidden.status_code == 404
    assert forbidden.status_code == 403
