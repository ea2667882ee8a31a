"""Order entry and editing through the web screens."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from dentalsales.sales.models import OrderStatus, SalesOrder
from dentalsales.sales.services import submit_order
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def order_post_data(customer, lines, *, token="token-1", channel="phone", **header):
    """Build the POST body of the order form. ``lines`` are (product id or text, quantity, unit price) tuples."""
    data = {
        "customer": str(customer.pk) if hasattr(customer, "pk") else customer,
        "channel": channel,
        "requested_delivery_date": "",
        "delivery_address": "",
        "customer_reference": "",
        "note": "",
        "token": token,
        "lines-TOTAL_FORMS": str(len(lines)),
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        **header,
    }
    for index, (product, quantity, price) in enumerate(lines):
        data[f"lines-{index}-product"] = str(getattr(product, "pk", product))
        data[f"lines-{index}-quantity"] = str(quantity)
        data[f"lines-{index}-unit_price"] = price
    return data


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def test_new_order_form_carries_a_fresh_token(client, rep, customer):
    client.force_login(rep)

    first = client.get(reverse("sales:order_create"))
    second = client.get(reverse("sales:order_create"))

    assert first.status_code == 200
    token = first.context["form"]["token"].value()
    assert len(token) == 32
    assert token != second.context["form"]["token"].value()
    assert f'value="{token}"' in first.content.decode()


def test_rep_creates_a_draft_order(client, rep, customer, product):
    client.force_login(rep)

    response = client.post(
        reverse("sales:order_create"),
        order_post_data(customer, [(product, 10, ""), ("", "", "")], customer_reference="PO-778"),
    )

    order = SalesOrder.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("sales:order_detail", args=[order.pk])
    assert order.status == OrderStatus.DRAFT
    assert order.customer == customer
    assert order.customer_reference == "PO-778"
    assert order.delivery_address == customer.address
    assert order.lines.count() == 1
    assert order.lines.get().unit_price == product.list_price
    assert order.total_amount == Decimal("1300.00")


def test_posting_the_same_form_twice_creates_one_order(client, rep, customer, product):
    client.force_login(rep)
    token = client.get(reverse("sales:order_create")).context["form"]["token"].value()
    data = order_post_data(customer, [(product, 2, "")], token=token)

    first = client.post(reverse("sales:order_create"), data)
    second = client.post(reverse("sales:order_create"), data)

    order = SalesOrder.objects.get()
    assert SalesOrder.objects.count() == 1
    assert first.status_code == 302
    assert second.status_code == 302
    assert first["Location"] == reverse("sales:order_detail", args=[order.pk])
    assert second["Location"] == first["Location"]


def test_different_tokens_create_different_orders(client, rep, customer, product):
    client.force_login(rep)

    client.post(reverse("sales:order_create"), order_post_data(customer, [(product, 2, "")], token="a"))
    client.post(reverse("sales:order_create"), order_post_data(customer, [(product, 2, "")], token="b"))

    assert SalesOrder.objects.count() == 2


def line_errors(response, index, field):
    return response.context["formset"].forms[index].errors.get(field, [])


def test_zero_quantity_error_beside_its_line(client, rep, customer, product):
    client.force_login(rep)

    # The blank second row is skipped, so the service's lines[1] is the third row.
    response = client.post(
        reverse("sales:order_create"),
        order_post_data(customer, [(product, 5, ""), ("", "", ""), (product, 0, "")]),
    )

    assert response.status_code == 200
    assert SalesOrder.objects.count() == 0
    errors = line_errors(response, 2, "quantity")
    assert len(errors) == 1
    assert "“0”" in errors[0]
    assert line_errors(response, 0, "quantity") == []
    assert 'data-error-for="lines-2-quantity"' in response.content.decode()


def test_five_decimal_price_error_beside_price(client, rep, customer, product):
    client.force_login(rep)

    response = client.post(reverse("sales:order_create"), order_post_data(customer, [(product, 1, "12.34567")]))

    assert response.status_code == 200
    assert SalesOrder.objects.count() == 0
    errors = line_errors(response, 0, "unit_price")
    assert len(errors) == 1
    assert "12.34567" in errors[0]
    assert "4 decimal places" in errors[0]


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("1.5", "Quantity must be a whole number from 1 to 100000, not “1.5”."),
        ("abc", "Quantity must be a whole number from 1 to 100000, not “abc”."),
    ],
)
def test_quantity_that_is_not_a_whole_number_is_named(client, rep, customer, product, quantity, message):
    client.force_login(rep)

    response = client.post(reverse("sales:order_create"), order_post_data(customer, [(product, quantity, "")]))

    assert response.status_code == 200
    assert SalesOrder.objects.count() == 0
    assert line_errors(response, 0, "quantity") == [message]


def test_price_that_is_not_a_number_is_named(client, rep, customer, product):
    client.force_login(rep)

    response = client.post(reverse("sales:order_create"), order_post_data(customer, [(product, 2, "12,5元")]))

    assert response.status_code == 200
    assert SalesOrder.objects.count() == 0
    assert line_errors(response, 0, "unit_price") == ["“12,5元” is not a price."]


def test_unknown_product_is_named_beside_the_product(client, rep, customer, product):
    client.force_login(rep)

    response = client.post(reverse("sales:order_create"), order_post_data(customer, [(987654, 1, "")]))

    assert response.status_code == 200
    assert SalesOrder.objects.count() == 0
    errors = line_errors(response, 0, "product")
    assert errors == ["Unknown product “987654”."]
    assert 'data-error-for="lines-0-product"' in response.content.decode()


def test_another_representatives_customer_is_refused(client, rep, rep2, product):
    other_customer = f.CustomerFactory(owner=rep2)
    client.force_login(rep)

    response = client.post(reverse("sales:order_create"), order_post_data(other_customer, [(product, 1, "")]))

    assert response.status_code == 200
    assert SalesOrder.objects.count() == 0
    assert response.context["form"].errors["customer"] == [f"Unknown customer “{other_customer.pk}”."]


def test_order_without_lines_is_refused(client, rep, customer):
    client.force_login(rep)

    response = client.post(reverse("sales:order_create"), order_post_data(customer, [("", "", "")]))

    assert response.status_code == 200
    assert SalesOrder.objects.count() == 0
    assert response.context["form"].non_field_errors() == ["Add at least one line."]


def test_logistics_cannot_open_order_entry(client, logistics):
    client.force_login(logistics)

    response = client.get(reverse("sales:order_create"))

    assert response.status_code == 403


def test_rep_edits_a_draft_order(client, rep, customer, product):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 3)])
    other = f.ProductFactory(list_price=Decimal("20.00"))
    client.force_login(rep)

    page = client.get(reverse("sales:order_edit", args=[order.pk]))
    data = {
        "channel": "email",
        "requested_delivery_date": "",
        "delivery_address": "上海市徐汇区 2 号",
        "customer_reference": "",
        "note": "",
        "lines-TOTAL_FORMS": "2",
        "lines-INITIAL_FORMS": "1",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": str(product.pk),
        "lines-0-quantity": "3",
        "lines-0-unit_price": "130.00",
        "lines-0-DELETE": "on",
        "lines-1-product": str(other.pk),
        "lines-1-quantity": "4",
        "lines-1-unit_price": "19.5",
    }
    response = client.post(reverse("sales:order_edit", args=[order.pk]), data)

    order.refresh_from_db()
    assert page.status_code == 200
    assert page.context["formset"].forms[0]["product"].value() == product.pk
    assert response.status_code == 302
    assert order.channel == "email"
    assert order.delivery_address == "上海市徐汇区 2 号"
    assert [(line.product, line.quantity, line.unit_price) for line in order.lines.all()] == [(other, 4, Decimal("19.5"))]
    assert order.total_amount == Decimal("78.00")


def test_edit_errors_are_shown_and_change_nothing(client, rep, customer, product):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 3)])
    client.force_login(rep)

    response = client.post(
        reverse("sales:order_edit", args=[order.pk]),
        {
            "channel": "phone",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-product": str(product.pk),
            "lines-0-quantity": "0",
            "lines-0-unit_price": "",
        },
    )

    assert response.status_code == 200
    assert "“0”" in line_errors(response, 0, "quantity")[0]
    assert order.lines.get().quantity == 3


def test_submitted_order_cannot_be_edited(client, rep, customer, product):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 3)])
    submit_order(actor=rep, order=order)
    client.force_login(rep)

    response = client.get(reverse("sales:order_edit", args=[order.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("sales:order_detail", args=[order.pk])
    assert any("only draft or rejected orders" in text for text in messages_of(response))


def test_another_representative_cannot_open_the_edit_form(client, rep, rep2, customer, product):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 3)])
    client.force_login(rep2)

    response = client.get(reverse("sales:order_edit", args=[order.pk]))

    assert response.status_code == 404


def test_selects_use_the_autocomplete_endpoints_when_they_exist(client, rep, customer, product):
    client.force_login(rep)

    response = client.get(reverse("sales:order_create"))

    html = response.content.decode()
    assert 'data-url="/customers/autocomplete/"' in html
    assert 'data-url="/products/autocomplete/"' in html


def test_selects_list_the_options_without_autocomplete(client, rep, customer, product, monkeypatch):
    from dentalsales.sales import forms

    monkeypatch.setattr(forms, "autocomplete_url", lambda path: "")
    client.force_login(rep)

    response = client.get(reverse("sales:order_create"))

    html = response.content.decode()
    assert "data-url=" not in html
    assert f'<option value="{customer.pk}">{customer}</option>' in html
    assert f'<option value="{product.pk}" data-data=' in html


def test_oversized_ids_are_unknown_not_a_crash(client, rep, customer):
    client.force_login(rep)
    huge = "9" * 25

    response = client.post(reverse("sales:order_create"), order_post_data(huge, [(huge, 1, "")]))

    assert response.status_code == 200
    assert SalesOrder.objects.count() == 0
    assert response.context["form"].errors["customer"] == [f"Unknown customer “{huge}”."]


def test_edit_form_leaves_policy_prices_blank(client, rep, customer, stocked_product):
    from dentalsales.sales.forms import initial_lines

    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 2), (stocked_product, 1, "125.50")])

    lines = initial_lines(order)

    assert [line["unit_price"] for line in lines] == ["", Decimal("125.50")]
