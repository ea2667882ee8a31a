"""GSP fields of the accompanying delivery note: manufacturer licence, serial numbers, buyer, the order's delivery address."""

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.errors import InvalidInput
from dentalsales.core.models import Region
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import DeliveryAddress
from dentalsales.inventory import shipping
from dentalsales.inventory.models import ReviewLineResult
from dentalsales.inventory.services import receive_stock
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

LICENCE = "粤药监械生产许20180012号"


def client_for(user, language="en"):
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


def released(customer, lines, supervisor, logistics, **fields):
    order = f.make_order(actor=customer.owner, customer=customer, lines=lines, **fields)
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)
    return order


def receive_serial(product, warehouse, logistics, serial, lot_number="S1"):
    today = local_today()
    return receive_stock(
        actor=logistics, product=product, warehouse=warehouse, lot_number=lot_number,
        production_date=today.replace(year=today.year - 1), expiry_date=today.replace(year=today.year + 2),
        quantity=1, serial_number=serial, received_on=today,
    )


class TestManufacturerLicence:
    def test_licence_is_copied_onto_the_line_and_printed(self, customer, warehouse, supervisor, logistics):
        product = f.ProductFactory(manufacturer_licence_number=LICENCE)
        f.receive(product, warehouse, quantity=5, actor=logistics)
        shipment = sales.ship_order(actor=logistics, order=released(customer, [(product, 2)], supervisor, logistics), carrier="顺丰速运")
        product.manufacturer_licence_number = "changed later"
        product.save()

        html = client_for(logistics).get(reverse("inventory:delivery_note", args=[shipment.pk])).content.decode()

        assert shipment.lines.get().manufacturer_licence_number == LICENCE
        assert LICENCE in html
        assert "Manufacturer's production licence or record number" in html

    def test_product_api_reads_and_writes_the_licence(self, manager, api):
        product = f.ProductFactory()

        response = api(manager).patch(f"/api/v1/products/{product.pk}/", {"manufacturer_licence_number": LICENCE}, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["manufacturer_licence_number"] == LICENCE
        product.refresh_from_db()
        assert product.manufacturer_licence_number == LICENCE


class TestSerialNumbers:
    def test_serials_of_a_serialised_lot_go_onto_the_shipment_line_first_received_first(
        self, customer, warehouse, supervisor, logistics, quality
    ):
        product = f.ProductFactory()
        for serial in ("SN-A", "SN-B", "SN-C"):
            receive_serial(product, warehouse, logistics, serial)
        first = sales.ship_order(actor=logistics, order=released(customer, [(product, 2)], supervisor, logistics), carrier="顺丰速运")
        second = sales.ship_order(actor=logistics, order=released(customer, [(product, 1)], supervisor, logistics), carrier="顺丰速运")

        assert first.lines.get().serial_numbers == "SN-A SN-B"
        assert second.lines.get().serial_numbers == "SN-C"
        html = client_for(logistics).get(reverse("inventory:delivery_note", args=[first.pk])).content.decode()
        assert "data-serials" in html and "SN-A SN-B" in html

    def test_serials_of_a_cancelled_picking_are_available_again(self, customer, warehouse, supervisor, logistics):
        product = f.ProductFactory()
        for serial in ("SN-A", "SN-B"):
            receive_serial(product, warehouse, logistics, serial)
        order = released(customer, [(product, 1)], supervisor, logistics)
        cancelled = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")
        shipping.cancel_picking(actor=logistics, shipment=cancelled, reason="装错箱")

        again = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

        assert again.lines.get().serial_numbers == "SN-A"

    def test_lot_without_serials_prints_no_serial_row(self, customer, warehouse, supervisor, logistics):
        product = f.ProductFactory()
        f.receive(product, warehouse, quantity=5, actor=logistics)
        shipment = sales.ship_order(actor=logistics, order=released(customer, [(product, 2)], supervisor, logistics), carrier="顺丰速运")

        html = client_for(logistics).get(reverse("inventory:delivery_note", args=[shipment.pk])).content.decode()

        assert shipment.lines.get().serial_numbers == ""
        assert "data-serials" not in html


class TestBuyerAndAddress:
    def test_note_labels_the_buyer_in_gsp_wording(self, stocked_product, customer, supervisor, logistics, chinese_default):
        shipment = sales.ship_order(actor=logistics, order=released(customer, [(stocked_product, 2)], supervisor, logistics), carrier="顺丰速运")

        html = client_for(logistics, "zh-hans").get(reverse("inventory:delivery_note", args=[shipment.pk])).content.decode()

        assert "购货者" in html and "供货者" in html
        assert ">客户" not in html

    def test_saved_address_of_the_order_gives_address_and_recipient(self, regions, stocked_product, customer, supervisor, logistics):
        branch = DeliveryAddress.objects.create(
            customer=customer, label="二号门诊", region=Region.objects.get(code="510104"), detail="二环路 2 号",
            recipient="李四", recipient_phone="028-7654321",
        )
        order = released(customer, [(stocked_product, 2)], supervisor, logistics, customer_address=branch.pk)

        shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

        assert "二环路 2 号" in shipment.delivery_address and "李四" not in shipment.delivery_address
        assert shipment.receiving_contact == "李四 028-7654321"
        html = client_for(logistics).get(reverse("inventory:delivery_note", args=[shipment.pk])).content.decode()
        assert "李四 028-7654321" in html

    def test_typed_address_ships_as_typed_to_the_customer_contact(self, stocked_product, customer, supervisor, logistics):
        order = released(customer, [(stocked_product, 2)], supervisor, logistics, delivery_address="临时地址 9 号")

        shipment = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运")

        assert shipment.delivery_address == "临时地址 9 号"
        assert shipment.receiving_contact == " ".join(filter(None, [customer.contact_name, customer.contact_phone]))


class TestEnglishNoteLayout:
    def test_title_is_not_letter_spaced_in_english_and_names_are_spaced(self, stocked_product, customer, supervisor, logistics):
        shipment = sales.ship_order(actor=logistics, order=released(customer, [(stocked_product, 2)], supervisor, logistics), carrier="顺丰速运")

        html = client_for(logistics).get(reverse("inventory:delivery_note", args=[shipment.pk])).content.decode()

        assert 'html[lang^="zh"] h2 { letter-spacing' in html
        assert "table-layout: fixed" in html
        assert f'Shipper:<span class="name">{logistics.display_name}</span>' in html


class TestShipQuantity:
    @pytest.mark.parametrize("quantity", [-1, -40])
    def test_negative_quantity_names_the_line_and_value(self, stocked_product, customer, supervisor, logistics, quantity):
        order = released(customer, [(stocked_product, 4)], supervisor, logistics)
        line = order.lines.get()

        with pytest.raises(InvalidInput) as caught:
            sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", quantities={line.pk: quantity})

        message = caught.value.field_errors["lines"][0]
        assert str(quantity) in message and str(line.pk) in message and "negative" in message
        assert "reserved" not in message

    def test_api_refuses_negative_quantity_with_the_line(self, stocked_product, customer, supervisor, logistics, api):
        order = released(customer, [(stocked_product, 4)], supervisor, logistics)
        line = order.lines.get()

        response = api(logistics).post(
            f"/api/v1/orders/{order.pk}/ship/", {"carrier": "顺丰速运", "lines": [{"order_line": line.pk, "quantity": -1}]}, format="json"
        )

        assert response.status_code == 400
        assert "-1" in response.content.decode() and "negative" in response.content.decode()
        assert not order.shipments.exists()

    @pytest.mark.parametrize("role", ["rep", "finance"])
    def test_other_roles_cannot_ship_at_all(self, request, stocked_product, customer, supervisor, logistics, api, role):
        order = released(customer, [(stocked_product, 4)], supervisor, logistics)

        response = api(request.getfixturevalue(role)).post(
            f"/api/v1/orders/{order.pk}/ship/", {"carrier": "顺丰速运", "lines": [{"order_line": order.lines.get().pk, "quantity": -1}]},
            format="json",
        )

        assert response.status_code in (403, 404)
        assert not order.shipments.exists()


def test_review_of_a_serialised_line_still_passes_with_its_lot(customer, warehouse, supervisor, logistics, quality):
    product = f.ProductFactory()
    receive_serial(product, warehouse, logistics, "SN-A")
    shipment = sales.ship_order(actor=logistics, order=released(customer, [(product, 1)], supervisor, logistics), carrier="顺丰速运")
    line = shipment.lines.get()

    review = shipping.review_shipment(actor=quality, shipment=shipment, lines={line.pk: {"result": ReviewLineResult.OK, "scanned_code": "S1"}})

    assert review.result == "passed"
