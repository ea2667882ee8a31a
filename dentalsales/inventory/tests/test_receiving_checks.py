"""Checks of a goods receipt against its scanned barcode, serial numbers, quantity limits and resent forms."""

import datetime

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from dentalsales.core.errors import InvalidInput, InvalidTransition
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import GoodsReceipt, InspectionResult, LotStatus, StockBalance, StockLedgerEntry
from dentalsales.inventory.services import MAX_RECEIPT_QUANTITY, receive_stock
from dentalsales.inventory.udi import gtin_check_digit
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

RECEIVE_URL = reverse("inventory:receive")
RECEIPTS_API = "/api/v1/stock/receipts/"


def days(n):
    return local_today() + datetime.timedelta(days=n)


def gtin(body13):
    return body13 + gtin_check_digit(body13)


DI = gtin("0697555500005")


@pytest.fixture
def scanned_product(db):
    return f.ProductFactory(udi_di=DI)


def receive(product, warehouse, actor, *, lot_number="TR5B01", quantity=1, production=-30, expiry=720, **extra):
    return receive_stock(
        actor=actor, product=product, warehouse=warehouse, lot_number=lot_number, production_date=days(production),
        expiry_date=days(expiry), quantity=quantity, **extra,
    )


def barcode(*, production=-30, expiry=720, lot="TR5B01", serial=None, di=DI):
    text = f"(01){di}(11){days(production):%y%m%d}(17){days(expiry):%y%m%d}(10){lot}"
    return text + (f"(21){serial}" if serial else "")


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def api_for(user):
    client = APIClient(headers={"accept-language": "en"})
    client.force_authenticate(user)
    return client


def form_data(product, warehouse, **overrides):
    data = {
        "product": str(product.pk), "warehouse": str(warehouse.pk), "lot_number": "TR5B01",
        "production_date": days(-30).isoformat(), "expiry_date": days(720).isoformat(), "quantity": "1",
    }
    data.update(overrides)
    return data


def api_payload(product, warehouse, **overrides):
    payload = {
        "product": product.pk, "warehouse": warehouse.pk, "lot_number": "TR5B01", "production_date": days(-30).isoformat(),
        "expiry_date": days(720).isoformat(), "quantity": 1,
    }
    payload.update(overrides)
    return payload


class TestBarcodeAgainstReceipt:
    def test_matching_barcode_with_serial_is_kept(self, scanned_product, warehouse, logistics):
        code = barcode(serial="SER9")

        receipt = receive(scanned_product, warehouse, logistics, serial_number="SER9", udi=code)

        assert (receipt.udi, receipt.serial_number) == (code, "SER9")

    def test_other_production_date_is_refused(self, scanned_product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(scanned_product, warehouse, logistics, production=-31, udi=barcode(production=-30))

        message = caught.value.field_errors["udi"][0]
        assert f"production date {days(-30)}" in message
        assert str(days(-31)) in message
        assert GoodsReceipt.objects.count() == 0

    def test_other_serial_is_refused(self, scanned_product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(scanned_product, warehouse, logistics, serial_number="SER8", udi=barcode(serial="SER9"))

        assert "serial number SER9, not “SER8”" in caught.value.field_errors["udi"][0]

    def test_barcode_serial_without_typed_serial_is_refused(self, scanned_product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(scanned_product, warehouse, logistics, udi=barcode(serial="SER9"))

        assert "SER9" in caught.value.field_errors["udi"][0]

    def test_udi_without_product_identifier_is_refused(self, scanned_product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(scanned_product, warehouse, logistics, lot_number="API10", udi="(10)API10(17)280630")

        message = caught.value.field_errors["udi"][0]
        assert "(10)API10(17)280630" in message
        assert "AI 01" in message
        assert GoodsReceipt.objects.count() == 0

    def test_product_without_di_takes_any_gtin(self, product, warehouse, logistics):
        receipt = receive(product, warehouse, logistics, udi=barcode(di=gtin("0690000000001")))

        assert receipt.udi.startswith("(01)0690000000001")


class TestSerialNumbers:
    def test_serial_with_quantity_above_one_is_refused(self, product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, serial_number="SER9", quantity=5)

        assert caught.value.field_errors["quantity"] == ["Serial number SER9 identifies one unit, so the quantity must be 1, not 5."]

    def test_same_serial_twice_is_refused(self, product, warehouse, logistics):
        first = receive(product, warehouse, logistics, serial_number="SER9")

        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, lot_number="TR5B02", serial_number="SER9")

        message = caught.value.field_errors["serial_number"][0]
        assert "SER9" in message
        assert first.number in message
        assert GoodsReceipt.objects.count() == 1

    def test_serial_of_rejected_goods_may_arrive_again(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, serial_number="SER9", inspection_result=InspectionResult.REJECTED, inspection_note="破损")

        receive(product, warehouse, logistics, serial_number="SER9")

        assert GoodsReceipt.objects.count() == 2

    def test_same_serial_of_another_product_is_accepted(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, serial_number="SER9")

        receive(f.ProductFactory(), warehouse, logistics, lot_number="OTHER1", serial_number="SER9")

        assert GoodsReceipt.objects.count() == 2


class TestQuantityLimit:
    def test_service_refuses_above_maximum(self, product, warehouse, logistics):
        with pytest.raises(InvalidInput) as caught:
            receive(product, warehouse, logistics, quantity=MAX_RECEIPT_QUANTITY + 1)

        assert str(MAX_RECEIPT_QUANTITY + 1) in caught.value.field_errors["quantity"][0]
        assert StockLedgerEntry.objects.count() == 0

    def test_service_accepts_the_maximum(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, quantity=MAX_RECEIPT_QUANTITY)

        assert StockBalance.objects.get().on_hand == MAX_RECEIPT_QUANTITY

    @pytest.mark.parametrize("quantity", ["99999999999", "100001"])
    def test_web_form_names_the_value(self, product, warehouse, logistics, quantity):
        response = client_for(logistics).post(RECEIVE_URL, form_data(product, warehouse, quantity=quantity))

        assert response.context["form"].errors["quantity"] == [f"Quantity must be at most {MAX_RECEIPT_QUANTITY}, not {quantity}."]
        assert GoodsReceipt.objects.count() == 0

    def test_web_form_names_a_decimal(self, product, warehouse, logistics):
        response = client_for(logistics).post(RECEIVE_URL, form_data(product, warehouse, quantity="1.5"))

        assert response.context["form"].errors["quantity"] == ["Quantity must be a whole number, not “1.5”."]

    def test_api_refuses_above_integer_range(self, product, warehouse, logistics):
        response = api_for(logistics).post(RECEIPTS_API, api_payload(product, warehouse, quantity=3_000_000_000), format="json")

        assert response.status_code == 400
        assert "3000000000" in response.json()["quantity"][0]
        assert GoodsReceipt.objects.count() == 0


class TestQuarantinedLot:
    def test_accepted_goods_into_quarantined_lot_say_so(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, quantity=3, inspection_result=InspectionResult.QUARANTINED, inspection_note="包装受潮")
        client = client_for(logistics)

        response = client.post(RECEIVE_URL, form_data(product, warehouse, quantity="2", token="t-quarantine"))

        texts = [str(message) for message in get_messages(response.wsgi_request)]
        assert response.status_code == 302
        assert len(texts) == 1
        assert "The lot is quarantined, so these goods are quarantined too" in texts[0]
        assert GoodsReceipt.objects.get(quantity=2).lot.status == LotStatus.QUARANTINED


class TestResentForm:
    def test_form_carries_a_token(self, logistics):
        page = client_for(logistics).get(RECEIVE_URL).content.decode()

        assert 'name="token"' in page

    def test_same_token_receives_once(self, product, warehouse, logistics):
        client = client_for(logistics)
        data = form_data(product, warehouse, quantity="4", token="form-token-1")

        client.post(RECEIVE_URL, data)
        second = client.post(RECEIVE_URL, data)

        texts = [str(message) for message in get_messages(second.wsgi_request)]
        assert GoodsReceipt.objects.count() == 1
        assert StockBalance.objects.get().on_hand == 4
        assert any("already sent" in text for text in texts)

    def test_api_key_replays_the_receipt(self, product, warehouse, logistics):
        client = api_for(logistics)
        payload = api_payload(product, warehouse, quantity=4)

        first = client.post(RECEIPTS_API, payload, format="json", headers={"Idempotency-Key": "k-1"})
        second = client.post(RECEIPTS_API, payload, format="json", headers={"Idempotency-Key": "k-1"})

        assert (first.status_code, second.status_code) == (201, 200)
        assert first.json()["number"] == second.json()["number"]
        assert StockLedgerEntry.objects.count() == 1

    def test_api_key_with_other_values_is_refused(self, product, warehouse, logistics):
        client = api_for(logistics)
        client.post(RECEIPTS_API, api_payload(product, warehouse, quantity=4), format="json", headers={"Idempotency-Key": "k-2"})

        response = client.post(RECEIPTS_API, api_payload(product, warehouse, quantity=5), format="json", headers={"Idempotency-Key": "k-2"})

        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_key_reused"
        assert GoodsReceipt.objects.count() == 1

    def test_key_is_per_user(self, product, warehouse, logistics, manager):
        payload = api_payload(product, warehouse, quantity=4)

        api_for(logistics).post(RECEIPTS_API, payload, format="json", headers={"Idempotency-Key": "shared"})
        api_for(manager).post(RECEIPTS_API, payload, format="json", headers={"Idempotency-Key": "shared"})

        assert GoodsReceipt.objects.count() == 2

    def test_service_replay_with_other_values_raises(self, product, warehouse, logistics):
        receive(product, warehouse, logistics, quantity=2, idempotency_key="svc")

        with pytest.raises(InvalidTransition):
            receive(product, warehouse, logistics, quantity=3, idempotency_key="svc")


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("logistics", True), ("manager", True), ("rep", False), ("supervisor", False), ("quality", False), ("finance", False)],
)
def test_receiving_per_role(request, product, warehouse, persona, allowed):
    user = request.getfixturevalue(persona)

    web = client_for(user).post(RECEIVE_URL, form_data(product, warehouse, lot_number=f"W-{persona}"))
    api = api_for(user).post(RECEIPTS_API, api_payload(product, warehouse, lot_number=f"A-{persona}"), format="json")

    assert (web.status_code == 302) is allowed
    assert (api.status_code == 201) is allowed
    assert GoodsReceipt.objects.count() == (2 if allowed else 0)


class TestUdiParseApi:
    url = reverse("api-udi-parse")

    def test_barcode_longer_than_the_form_allows_is_refused(self, logistics):
        response = api_for(logistics).post(self.url, {"barcode": "(10)" + "A" * 197}, format="json")

        assert response.status_code == 400
        assert "barcode" in response.json()

    def test_expired_registration_is_an_error_at_scan_time(self, logistics):
        product = f.ProductFactory(udi_di=DI, registration_valid_until=days(-1))

        body = api_for(logistics).post(self.url, {"barcode": barcode()}, format="json").json()

        assert body["product"]["id"] == product.pk
        assert body["message_level"] == "error"
        assert product.registration_number in body["message"]

    def test_valid_product_has_no_message(self, logistics, scanned_product):
        body = api_for(logistics).post(self.url, {"barcode": barcode()}, format="json").json()

        assert (body["message"], body["message_level"]) == ("", "")
