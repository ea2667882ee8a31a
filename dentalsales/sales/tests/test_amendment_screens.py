"""Amend and reinstate on the order page and the orders API, role by role; delivery addresses on order entry."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from dentalsales.core.models import Region
from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import DeliveryAddress
from dentalsales.finance.services import grant_credit_release
from dentalsales.sales import services
from dentalsales.sales.addresses import format_delivery_address
from dentalsales.sales.models import OrderStatus, SalesOrder
from dentalsales.testing import factories as f

from .test_views_entry import order_post_data

pytestmark = pytest.mark.django_db
D = Decimal
S = OrderStatus
REVIEWERS = ["supervisor", "manager"]
NON_REVIEWERS = ["rep", "logistics", "finance"]


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def limited_customer(rep):
    return f.CustomerFactory(owner=rep, credit_limit=D("2000.00"))


@pytest.fixture
def approved(rep, supervisor, limited_customer, stocked_product):
    """10 × 130.00 = 1,300.00 approved, against a credit limit of 2,000.00."""
    order = f.make_order(actor=rep, customer=limited_customer, lines=[(stocked_product, 10)])
    services.submit_order(actor=rep, order=order)
    services.approve_order(actor=supervisor, order=order, reason="test set-up")
    order.refresh_from_db()
    return order


@pytest.fixture
def cancelled(approved, supervisor):
    services.cancel_order(actor=supervisor, order=approved, reason="客户取消")
    approved.refresh_from_db()
    return approved


def amend_post_data(order, quantity, unit_price="", reason="客户追加", new_lines=()):
    line = order.lines.get()
    data = {
        "amend-TOTAL_FORMS": "1",
        "amend-INITIAL_FORMS": "1",
        "amend-MIN_NUM_FORMS": "0",
        "amend-MAX_NUM_FORMS": "1000",
        "amend-0-id": str(line.pk),
        "amend-0-quantity": str(quantity),
        "amend-0-unit_price": unit_price,
        "new-TOTAL_FORMS": str(len(new_lines)),
        "new-INITIAL_FORMS": "0",
        "new-MIN_NUM_FORMS": "0",
        "new-MAX_NUM_FORMS": "1000",
        "amend-reason-reason": reason,
    }
    for index, (product, new_quantity) in enumerate(new_lines):
        data[f"new-{index}-product"] = str(product.pk)
        data[f"new-{index}-quantity"] = str(new_quantity)
        data[f"new-{index}-unit_price"] = ""
    return data


# -- web: amend ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", REVIEWERS)
def test_reviewer_sees_amend_button_and_form(client, request, approved, persona):
    client.force_login(request.getfixturevalue(persona))

    detail = client.get(reverse("sales:order_detail", args=[approved.pk]))
    form = client.get(reverse("sales:order_amend", args=[approved.pk]))

    assert 'data-action="amend"' in detail.content.decode()
    assert form.status_code == 200
    assert 'data-testid="amend-form"' in form.content.decode()


@pytest.mark.parametrize("persona", NON_REVIEWERS)
def test_others_get_no_amend_button_and_403(client, request, approved, persona):
    client.force_login(request.getfixturevalue(persona))

    detail = client.get(reverse("sales:order_detail", args=[approved.pk]))
    response = client.post(reverse("sales:order_amend", args=[approved.pk]), amend_post_data(approved, 5))

    assert 'data-action="amend"' not in detail.content.decode()
    assert response.status_code == 403
    approved.refresh_from_db()
    assert approved.total_amount == D("1300.00")


def test_rep2_cannot_see_order_to_amend(client, rep2, approved):
    client.force_login(rep2)

    response = client.get(reverse("sales:order_amend", args=[approved.pk]))

    assert response.status_code == 403


def test_web_amend_within_limit_saves_and_shows_history(client, supervisor, approved):
    client.force_login(supervisor)

    response = client.post(reverse("sales:order_amend", args=[approved.pk]), amend_post_data(approved, 15))

    assert response.status_code == 302
    assert messages_of(response) == [f"Order {approved.number} was amended."]
    approved.refresh_from_db()
    assert approved.total_amount == D("1950.00")
    page = client.get(reverse("sales:order_detail", args=[approved.pk])).content.decode()
    assert 'data-testid="amended-values"' in page
    assert "10 → 15" in page
    assert "1300.00 → 1950.00" in page


def test_web_amend_over_limit_shows_credit_message(client, supervisor, approved):
    client.force_login(supervisor)

    response = client.post(reverse("sales:order_amend", args=[approved.pk]), amend_post_data(approved, 20))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="amend-error"' in html
    assert "exceeds the credit limit 2,000.00" in html
    approved.refresh_from_db()
    assert approved.total_amount == D("1300.00")


def test_web_amend_error_beside_line(client, supervisor, approved):
    client.force_login(supervisor)

    response = client.post(reverse("sales:order_amend", args=[approved.pk]), amend_post_data(approved, "1.5"))

    assert response.status_code == 200
    assert 'data-error-for="amend-0-quantity"' in response.content.decode()


def test_web_amend_adds_line(client, supervisor, approved, warehouse, logistics):
    other = f.ProductFactory(list_price=D("50.00"))
    f.receive(other, warehouse, quantity=10, actor=logistics)
    client.force_login(supervisor)

    response = client.post(
        reverse("sales:order_amend", args=[approved.pk]), amend_post_data(approved, 10, new_lines=[(other, 2)])
    )

    assert response.status_code == 302
    assert approved.lines.count() == 2


def test_web_amend_of_draft_redirects(client, rep, supervisor, customer, product):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    client.force_login(supervisor)

    response = client.get(reverse("sales:order_amend", args=[order.pk]))

    assert response.status_code == 302
    assert "only approved orders" in messages_of(response)[0]


# -- web: reinstate --------------------------------------------------------------------


@pytest.mark.parametrize("persona", REVIEWERS)
def test_reviewer_reinstates_on_the_web(client, request, cancelled, persona):
    client.force_login(request.getfixturevalue(persona))

    detail = client.get(reverse("sales:order_detail", args=[cancelled.pk])).content.decode()
    response = client.post(reverse("sales:order_reinstate", args=[cancelled.pk]), {"reinstate-reason": "客户恢复"})

    assert 'data-action="reinstate"' in detail
    assert messages_of(response) == [f"Order {cancelled.number} was reinstated."]
    cancelled.refresh_from_db()
    assert cancelled.status == S.APPROVED


@pytest.mark.parametrize("persona", NON_REVIEWERS)
def test_others_cannot_reinstate_on_the_web(client, request, cancelled, persona):
    client.force_login(request.getfixturevalue(persona))

    detail = client.get(reverse("sales:order_detail", args=[cancelled.pk])).content.decode()
    client.post(reverse("sales:order_reinstate", args=[cancelled.pk]), {"reinstate-reason": "客户恢复"})

    assert 'data-action="reinstate"' not in detail
    cancelled.refresh_from_db()
    assert cancelled.status == S.CANCELLED


def test_web_reinstate_over_limit_refused(client, manager, cancelled, limited_customer):
    limited_customer.credit_limit = D("1000.00")
    limited_customer.save()
    client.force_login(manager)

    response = client.post(reverse("sales:order_reinstate", args=[cancelled.pk]), {"reinstate-reason": "客户恢复"})

    assert "exceeds the credit limit 1,000.00" in messages_of(response)[0]
    cancelled.refresh_from_db()
    assert cancelled.status == S.CANCELLED


# -- API -------------------------------------------------------------------------------


def amend_url(order):
    return f"/api/v1/orders/{order.pk}/amend/"


@pytest.mark.parametrize("persona", REVIEWERS)
def test_api_amend_by_reviewer(api, request, approved, persona):
    user = request.getfixturevalue(persona)
    line = approved.lines.get()

    response = api(user).post(amend_url(approved), {"lines": [{"id": line.pk, "quantity": 15}], "reason": "追加"}, format="json")

    assert response.status_code == 200
    assert response.json()["total_amount"] == "1950.00"
    history = api(user).get(f"/api/v1/orders/{approved.pk}/history/").json()
    assert history[-1]["action"] == "amend"
    assert {"field": "quantity", "old": "10", "new": "15"}.items() <= history[-1]["changes"][0].items()


@pytest.mark.parametrize("persona", NON_REVIEWERS)
def test_api_amend_forbidden_for_others(api, request, approved, persona):
    line = approved.lines.get()

    response = api(request.getfixturevalue(persona)).post(
        amend_url(approved), {"lines": [{"id": line.pk, "quantity": 5}], "reason": "r"}, format="json"
    )

    assert response.status_code == 403
    approved.refresh_from_db()
    assert approved.total_amount == D("1300.00")


def test_api_amend_over_limit_is_409_with_figures(api, supervisor, approved):
    line = approved.lines.get()

    response = api(supervisor).post(amend_url(approved), {"lines": [{"id": line.pk, "quantity": 20}], "reason": "r"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "credit_check_failed"
    assert "2,600.00 exceeds the credit limit 2,000.00" in response.json()["detail"]


def test_api_amend_with_credit_release(api, supervisor, finance, approved, limited_customer):
    grant_credit_release(actor=finance, customer=limited_customer, reason="付款承诺", valid_until=local_today() + datetime.timedelta(days=3))
    line = approved.lines.get()

    response = api(supervisor).post(amend_url(approved), {"lines": [{"id": line.pk, "quantity": 20}], "reason": "r"}, format="json")

    assert response.status_code == 200
    assert response.json()["total_amount"] == "2600.00"


def test_api_amend_ignores_agreed_price_marker(api, supervisor, approved, product):
    response = api(supervisor).post(
        amend_url(approved),
        {"lines": [{"product": product.pk, "quantity": 1, "unit_price": "1", "agreed_price_reason": "x"}], "reason": "r"},
        format="json",
    )

    assert response.status_code == 403
    assert "manager's approval" in response.json()["detail"]


def test_api_amend_bad_value_names_field(api, supervisor, approved):
    line = approved.lines.get()

    response = api(supervisor).post(amend_url(approved), {"lines": [{"id": line.pk, "quantity": "x"}], "reason": "r"}, format="json")

    assert response.status_code == 400
    assert "“x”" in response.json()["detail"]


@pytest.mark.parametrize("persona,status_code", [("supervisor", 200), ("manager", 200), ("rep", 403), ("logistics", 403), ("finance", 403)])
def test_api_reinstate_per_role(api, request, cancelled, persona, status_code):
    response = api(request.getfixturevalue(persona)).post(
        f"/api/v1/orders/{cancelled.pk}/reinstate/", {"reason": "客户恢复"}, format="json"
    )

    assert response.status_code == status_code
    cancelled.refresh_from_db()
    assert cancelled.status == (S.APPROVED if status_code == 200 else S.CANCELLED)


def test_api_reinstate_over_limit_is_409(api, manager, cancelled, limited_customer):
    limited_customer.credit_limit = D("1000.00")
    limited_customer.save()

    response = api(manager).post(f"/api/v1/orders/{cancelled.pk}/reinstate/", {"reason": "r"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "credit_check_failed"


def test_allowed_actions_list_amend_and_reinstate(api, supervisor, rep, approved):
    assert "amend" in api(supervisor).get(f"/api/v1/orders/{approved.pk}/").json()["allowed_actions"]
    assert "amend" not in api(rep).get(f"/api/v1/orders/{approved.pk}/").json()["allowed_actions"]


# -- delivery addresses ----------------------------------------------------------------


@pytest.fixture
def addresses(regions, customer):
    district = Region.objects.get(code="510104")
    clinic = DeliveryAddress.objects.create(
        customer=customer, label="总院", region=district, detail="一环路 1 号", recipient="张三", recipient_phone="028-1234567", is_default=True
    )
    branch = DeliveryAddress.objects.create(
        customer=customer, label="二号门诊", region=district, detail="二环路 2 号", recipient="李四", recipient_phone="028-7654321"
    )
    return clinic, branch


def test_entry_form_preselects_default_address(client, rep, customer, addresses):
    clinic, branch = addresses
    client.force_login(rep)

    response = client.get(reverse("sales:order_create"), {"customer": customer.pk})

    form = response.context["form"]
    assert form["customer_address"].value() == clinic.pk
    html = response.content.decode()
    assert "一环路 1 号" in html
    assert "二环路 2 号" in html


def test_address_options_follow_customer(client, rep, customer, rep2, addresses):
    client.force_login(rep)

    own = client.get(reverse("sales:order_addresses"), {"customer": customer.pk}).content.decode()
    client.force_login(rep2)
    other = client.get(reverse("sales:order_addresses"), {"customer": customer.pk}).content.decode()

    assert "一环路 1 号" in own
    assert "一环路 1 号" not in other


def test_web_entry_with_chosen_address(client, rep, customer, product, addresses):
    _clinic, branch = addresses
    client.force_login(rep)

    client.post(reverse("sales:order_create"), order_post_data(customer, [(product, 1, "")], customer_address=str(branch.pk)))

    order = SalesOrder.objects.get()
    assert order.customer_address == branch
    assert order.delivery_address == format_delivery_address(branch)
    assert order.delivery_address.startswith("二号门诊 ")
    assert order.delivery_address.endswith("二环路 2 号 李四 028-7654321")


def test_web_entry_typed_address_wins(client, rep, customer, product, addresses):
    clinic, _branch = addresses
    client.force_login(rep)

    client.post(
        reverse("sales:order_create"),
        order_post_data(customer, [(product, 1, "")], customer_address=str(clinic.pk), delivery_address="临时地址 9 号"),
    )

    order = SalesOrder.objects.get()
    assert order.delivery_address == "临时地址 9 号"
    assert order.customer_address is None


def test_api_default_address_when_none_given(api, rep, customer, product, addresses):
    clinic, _branch = addresses

    response = api(rep).post(
        "/api/v1/orders/", {"customer": customer.pk, "channel": "phone", "lines": [{"product": product.pk, "quantity": 1}]}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["customer_address"] == clinic.pk
    assert "一环路 1 号" in response.json()["delivery_address"]


def test_api_free_text_address_still_accepted(api, rep, customer, product, addresses):
    response = api(rep).post(
        "/api/v1/orders/",
        {"customer": customer.pk, "channel": "phone", "delivery_address": "自提", "lines": [{"product": product.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["delivery_address"] == "自提"
    assert response.json()["customer_address"] is None


def test_api_other_customers_address_refused(api, rep, customer, product, addresses, regions):
    other = f.CustomerFactory(owner=rep)
    foreign = DeliveryAddress.objects.create(
        customer=other, region=Region.objects.get(code="510104"), detail="三环路 3 号", recipient="王五", recipient_phone="028-1111111"
    )

    response = api(rep).post(
        "/api/v1/orders/",
        {"customer": customer.pk, "channel": "phone", "customer_address": foreign.pk, "lines": [{"product": product.pk, "quantity": 1}]},
        format="json",
    )

    assert response.status_code == 400
    assert f"“{foreign.pk}” is not one of the delivery addresses" in response.json()["detail"]


def test_api_address_and_other_text_refused(api, rep, customer, product, addresses):
    clinic, _branch = addresses

    response = api(rep).post(
        "/api/v1/orders/",
        {
            "customer": customer.pk,
            "channel": "phone",
            "customer_address": clinic.pk,
            "delivery_address": "别处",
            "lines": [{"product": product.pk, "quantity": 1}],
        },
        format="json",
    )

    assert response.status_code == 400
    assert "not both" in response.json()["detail"]


def test_without_saved_addresses_customer_address_is_used(rep, customer, product):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])

    assert order.delivery_address == customer.address
    assert order.customer_address is None


def test_edit_form_shows_chosen_address(client, rep, customer, product, addresses):
    _clinic, branch = addresses
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 1)], customer_address=branch.pk)
    client.force_login(rep)

    form = client.get(reverse("sales:order_edit", args=[order.pk])).context["form"]

    assert form["customer_address"].value() == branch.pk
    assert form["delivery_address"].value() == ""
