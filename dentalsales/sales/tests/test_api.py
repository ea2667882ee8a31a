"""The order API: the contract shapes, the whole flow, refusals and visibility."""

import datetime
import re

import pytest

from dentalsales.core.timeutils import local_today
from dentalsales.customers.models import QualificationKind
from dentalsales.inventory.models import StockBalance, StockLedgerEntry
from dentalsales.sales.models import OrderStatus, SalesOrder
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def post_order(client, customer, product, quantity=3, unit_price="130.15", headers=None, **fields):
    payload = {
        "customer": customer.pk,
        "channel": "phone",
        "lines": [{"product": product.pk, "quantity": quantity, "unit_price": unit_price}],
    }
    payload.update(fields)
    return client.post("/api/v1/orders/", payload, format="json", headers=headers or {})


def test_token_login_then_list(rep, customer):
    from rest_framework.test import APIClient

    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": "rep", "password": f.PASSWORD}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]

    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listing = client.get("/api/v1/customers/")
    assert listing.status_code == 200
    assert [row["code"] for row in listing.json()["results"]] == [customer.code]


def test_token_login_wrong_password(rep):
    from rest_framework.test import APIClient

    response = APIClient().post("/api/v1/auth/token/", {"username": "rep", "password": "wrong"}, format="json")
    assert response.status_code == 400
    assert "detail" in response.json()


def test_unauthenticated_request_refused(db):
    from rest_framework.test import APIClient

    response = APIClient().get("/api/v1/orders/")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_not_found_is_translated(api, rep):
    response = api(rep).get("/api/v1/orders/99999/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 404
    assert "SalesOrder" not in response.json()["detail"]
    assert "未找到" in response.json()["detail"]


def test_malformed_json_is_refused_plainly(api, rep):
    response = api(rep).post("/api/v1/orders/", data="{customer: 1", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["detail"] == "The request body is not valid JSON."


def test_validation_error_carries_detail_and_code(api, rep):
    response = api(rep).post("/api/v1/orders/", {"channel": "phone"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "customer" in body
    assert body["detail"].startswith("customer") or body["detail"].startswith("lines")


def test_order_create_contract(api, rep, customer, stocked_product):
    response = post_order(api(rep), customer, stocked_product, quantity=1, unit_price="130.15")

    assert response.status_code == 201
    body = response.json()
    assert body["number"] == f"SO-{local_today():%Y%m%d}-0001"
    assert body["status"] == "draft"
    assert body["customer"] == customer.pk
    assert body["channel"] == "phone"
    line = body["lines"][0]
    assert line["product"] == stocked_product.pk
    assert line["quantity"] == 1
    assert line["unit_price"] == "130.1500"
    assert line["amount"] == "130.15"
    assert line["tax_rate"] == "0.13"
    assert line["tax_amount"] == "14.97"
    assert body["total_amount"] == "130.15"
    assert body["tax_amount"] == "14.97"


def test_order_line_without_price_uses_list_price(api, rep, customer, stocked_product):
    response = api(rep).post(
        "/api/v1/orders/",
        {"customer": customer.pk, "channel": "email", "lines": [{"product": stocked_product.pk, "quantity": 2}]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["lines"][0]["unit_price"] == "130.0000"
    assert response.json()["total_amount"] == "260.00"


def test_whole_flow_through_api(api, rep, supervisor, logistics, customer, stocked_product):
    created = post_order(api(rep), customer, stocked_product, quantity=5, unit_price="130.00").json()
    order_url = f"/api/v1/orders/{created['id']}"

    assert api(rep).post(f"{order_url}/submit/").json()["status"] == "submitted"

    review = api(supervisor).get(f"{order_url}/review/").json()
    codes = [check["code"] for check in review["checks"]]
    assert codes == ["qualifications", "registrations", "credit", "price", "stock", "duplicate"]
    assert all(check["passed"] for check in review["checks"]), review
    assert set(review["checks"][0]) == {"code", "passed", "blocking", "message"}

    assert api(supervisor).post(f"{order_url}/approve/", {}, format="json").json()["status"] == "approved"
    assert api(logistics).post(f"{order_url}/release/").json()["status"] == "released"

    allocations = api(logistics).get(f"{order_url}/allocations/").json()
    assert [(row["product"], row["quantity"]) for row in allocations] == [(stocked_product.pk, 5)]
    assert set(allocations[0]) >= {"product", "lot_number", "expiry_date", "quantity"}

    shipped = api(logistics).post(f"{order_url}/ship/", {"carrier": "顺丰速运", "waybill_number": "SF1234567890"}, format="json")
    assert shipped.status_code == 201
    shipment = shipped.json()
    assert shipment["number"] == f"SH-{local_today():%Y%m%d}-0001"
    assert len(shipment["lines"]) == 1
    assert shipment["lines"][0]["product"] == stocked_product.pk
    assert shipment["lines"][0]["quantity"] == 5
    assert shipment["lines"][0]["registration_number"] == stocked_product.registration_number
    assert shipment["lines"][0]["lot_number"] == allocations[0]["lot_number"]
    assert shipment["lines"][0]["expiry_date"] == allocations[0]["expiry_date"]

    assert api(rep).get(order_url + "/").json()["status"] == "shipped"
    balance = StockBalance.objects.get(lot__product=stocked_product)
    assert balance.on_hand == 95
    assert balance.reserved == 0


def test_reject_with_reason_then_resubmit(api, rep, supervisor, customer, stocked_product):
    order_id = post_order(api(rep), customer, stocked_product).json()["id"]
    api(rep).post(f"/api/v1/orders/{order_id}/submit/")

    no_reason = api(supervisor).post(f"/api/v1/orders/{order_id}/reject/", {}, format="json")
    assert no_reason.status_code == 400
    assert "reason" in no_reason.json()
    assert SalesOrder.objects.get(pk=order_id).status == OrderStatus.SUBMITTED

    rejected = api(supervisor).post(f"/api/v1/orders/{order_id}/reject/", {"reason": "价格太低"}, format="json")
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["rejection_reason"] == "价格太低"
    assert api(rep).post(f"/api/v1/orders/{order_id}/submit/").json()["status"] == "submitted"


def test_transition_from_wrong_state_is_409(api, rep, logistics, customer, stocked_product):
    order_id = post_order(api(rep), customer, stocked_product).json()["id"]

    response = api(logistics).post(f"/api/v1/orders/{order_id}/release/")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "draft" in response.json()["detail"].lower() or "Draft" in response.json()["detail"]
    assert SalesOrder.objects.get(pk=order_id).status == OrderStatus.DRAFT


def test_refusal_message_in_chinese(api, rep, logistics, customer, stocked_product):
    order_id = post_order(api(rep), customer, stocked_product).json()["id"]

    response = api(logistics).post(f"/api/v1/orders/{order_id}/release/", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 409
    assert "草稿" in response.json()["detail"]


def test_forbidden_transition_is_403(api, rep, customer, stocked_product):
    order_id = post_order(api(rep), customer, stocked_product).json()["id"]
    api(rep).post(f"/api/v1/orders/{order_id}/submit/")

    response = api(rep).post(f"/api/v1/orders/{order_id}/approve/", {}, format="json")

    assert response.status_code == 403
    assert SalesOrder.objects.get(pk=order_id).status == OrderStatus.SUBMITTED


def test_other_representatives_order_is_404(api, rep, rep2, customer, stocked_product):
    order_id = post_order(api(rep), customer, stocked_product).json()["id"]

    assert api(rep2).get(f"/api/v1/orders/{order_id}/").status_code == 404
    assert api(rep2).post(f"/api/v1/orders/{order_id}/submit/").status_code == 404
    assert api(rep2).get("/api/v1/orders/").json()["count"] == 0


def test_visibility_per_role(api, rep, rep2, supervisor, manager, logistics, stocked_product):
    own = f.CustomerFactory(owner=rep)
    other = f.CustomerFactory(owner=rep2)
    f.make_order(actor=rep, customer=own, lines=[(stocked_product, 1)])
    f.make_order(actor=rep2, customer=other, lines=[(stocked_product, 1)])

    def visible(user):
        return sorted(row["customer"] for row in api(user).get("/api/v1/orders/").json()["results"])

    assert visible(rep) == [own.pk]
    assert visible(rep2) == [other.pk]
    assert visible(supervisor) == [own.pk]
    assert visible(manager) == sorted([own.pk, other.pk])
    assert visible(logistics) == sorted([own.pk, other.pk])


@pytest.mark.parametrize(
    ("line", "field", "value_in_message"),
    [
        ({"quantity": 0}, "lines[0].quantity", "0"),
        ({"quantity": -2}, "lines[0].quantity", "-2"),
        ({"quantity": 1.5}, "lines[0].quantity", "1.5"),
        ({"quantity": "abc"}, "lines[0].quantity", "abc"),
        ({"unit_price": "12.34567"}, "lines[0].unit_price", "12.34567"),
        ({"unit_price": "-1"}, "lines[0].unit_price", "-1"),
        ({"unit_price": "abc"}, "lines[0].unit_price", "abc"),
        ({"product": 999999}, "lines[0].product", "999999"),
    ],
)
def test_bad_order_line_names_field_and_value(api, rep, customer, stocked_product, line, field, value_in_message):
    payload_line = {"product": stocked_product.pk, "quantity": 1, "unit_price": "100", **line}

    response = api(rep).post(
        "/api/v1/orders/", {"customer": customer.pk, "channel": "phone", "lines": [payload_line]}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert field in body
    assert value_in_message in body[field][0]
    assert SalesOrder.objects.count() == 0


def test_unknown_or_invisible_customer_refused(api, rep, rep2, stocked_product):
    foreign = f.CustomerFactory(owner=rep2)
    for customer_id in (foreign.pk, 987654):
        response = api(rep).post(
            "/api/v1/orders/",
            {"customer": customer_id, "channel": "phone", "lines": [{"product": stocked_product.pk, "quantity": 1}]},
            format="json",
        )
        assert response.status_code == 400
        assert str(customer_id) in response.json()["customer"][0]
    assert SalesOrder.objects.count() == 0


def test_unknown_channel_refused(api, rep, customer, stocked_product):
    response = post_order(api(rep), customer, stocked_product, channel="pigeon")

    assert response.status_code == 400
    assert "pigeon" in response.json()["channel"][0]
    assert SalesOrder.objects.count() == 0


def test_idempotency_key_creates_one_order(api, rep, customer, stocked_product):
    client = api(rep)
    first = post_order(client, customer, stocked_product, headers={"Idempotency-Key": "order-abc-1"})
    second = post_order(client, customer, stocked_product, headers={"Idempotency-Key": "order-abc-1"})

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert SalesOrder.objects.count() == 1


def test_different_idempotency_keys_create_two_orders(api, rep, customer, stocked_product):
    client = api(rep)
    post_order(client, customer, stocked_product, headers={"Idempotency-Key": "k1"})
    post_order(client, customer, stocked_product, headers={"Idempotency-Key": "k2"})

    assert SalesOrder.objects.count() == 2


def test_cancel_releases_reservation(api, rep, supervisor, logistics, customer, stocked_product):
    order_id = post_order(api(rep), customer, stocked_product, quantity=10, unit_price="130").json()["id"]
    api(rep).post(f"/api/v1/orders/{order_id}/submit/")
    api(supervisor).post(f"/api/v1/orders/{order_id}/approve/", {}, format="json")
    api(logistics).post(f"/api/v1/orders/{order_id}/release/")
    assert StockBalance.objects.get(lot__product=stocked_product).reserved == 10

    no_reason = api(supervisor).post(f"/api/v1/orders/{order_id}/cancel/", {}, format="json")
    assert no_reason.status_code == 400
    cancelled = api(supervisor).post(f"/api/v1/orders/{order_id}/cancel/", {"reason": "客户取消"}, format="json")

    assert cancelled.json()["status"] == "cancelled"
    assert StockBalance.objects.get(lot__product=stocked_product).reserved == 0
    assert api(logistics).get(f"/api/v1/orders/{order_id}/allocations/").json() == []


def test_release_without_stock_changes_nothing(api, rep, supervisor, logistics, customer, product):
    order_id = post_order(api(rep), customer, product, quantity=3, unit_price="130").json()["id"]
    api(rep).post(f"/api/v1/orders/{order_id}/submit/")
    api(supervisor).post(f"/api/v1/orders/{order_id}/approve/", {"reason": "到货后发"}, format="json")

    response = api(logistics).post(f"/api/v1/orders/{order_id}/release/")

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert SalesOrder.objects.get(pk=order_id).status == OrderStatus.APPROVED


def test_approval_blocked_by_expired_qualification(api, rep, supervisor, stocked_product):
    expired = local_today() - datetime.timedelta(days=1)
    customer = f.CustomerFactory(owner=rep, qualifications=[(QualificationKind.MEDICAL_INSTITUTION_LICENCE, expired)])
    order_id = post_order(api(rep), customer, stocked_product).json()["id"]
    api(rep).post(f"/api/v1/orders/{order_id}/submit/")

    checks = api(supervisor).get(f"/api/v1/orders/{order_id}/review/").json()["checks"]
    qualification = next(check for check in checks if check["code"] == "qualifications")
    assert qualification["passed"] is False
    assert qualification["blocking"] is True

    response = api(supervisor).post(f"/api/v1/orders/{order_id}/approve/", {"reason": "急用"}, format="json")
    assert response.status_code == 409
    assert SalesOrder.objects.get(pk=order_id).status == OrderStatus.SUBMITTED


def test_partial_ship_by_lines(api, rep, supervisor, logistics, manager, customer, stocked_product):
    order = api(rep).post(
        "/api/v1/orders/",
        {"customer": customer.pk, "channel": "visit", "lines": [{"product": stocked_product.pk, "quantity": 10, "unit_price": "130"}]},
        format="json",
    ).json()
    order_url = f"/api/v1/orders/{order['id']}"
    api(rep).post(f"{order_url}/submit/")
    api(supervisor).post(f"{order_url}/approve/", {}, format="json")
    api(logistics).post(f"{order_url}/release/")
    line_id = order["lines"][0]["id"]

    too_many = api(logistics).post(f"{order_url}/ship/", {"carrier": "顺丰速运", "lines": [{"order_line": line_id, "quantity": 11}]}, format="json")
    assert too_many.status_code == 400
    first = api(logistics).post(f"{order_url}/ship/", {"carrier": "顺丰速运", "lines": [{"order_line": line_id, "quantity": 4}]}, format="json")
    assert first.status_code == 201
    assert api(rep).get(order_url + "/").json()["status"] == "partially_shipped"
    no_carrier = api(logistics).post(f"{order_url}/ship/", {}, format="json")
    assert no_carrier.status_code == 400
    assert "carrier" in no_carrier.json()
    second = api(logistics).post(f"{order_url}/ship/", {"carrier": "京东物流"}, format="json")
    assert second.json()["lines"][0]["quantity"] == 6
    assert api(rep).get(order_url + "/").json()["status"] == "shipped"
    undelivered = api(logistics).post(f"{order_url}/complete/")
    assert undelivered.status_code == 409
    assert first.json()["number"] in undelivered.json()["detail"]
    assert second.json()["number"] in undelivered.json()["detail"]
    f.deliver_shipments(SalesOrder.objects.get(pk=order["id"]), reviewer=manager, logistics=logistics)
    assert api(logistics).post(f"{order_url}/complete/").json()["status"] == "completed"
    assert StockLedgerEntry.objects.filter(reason="shipment").count() == 2


def test_update_draft_replaces_lines(api, rep, customer, stocked_product):
    order = post_order(api(rep), customer, stocked_product, quantity=1).json()

    response = api(rep).patch(
        f"/api/v1/orders/{order['id']}/",
        {"lines": [{"product": stocked_product.pk, "quantity": 4, "unit_price": "10.50"}], "note": "改数量"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["total_amount"] == "42.00"
    assert response.json()["note"] == "改数量"


def test_order_list_query_count_is_fixed(api, rep, customer, stocked_product, django_assert_max_num_queries):
    client = api(rep)
    f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 1)])
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/orders/").status_code == 200

    for index in range(25):
        f.make_order(actor=rep, customer=customer, lines=[(stocked_product, index + 1), (stocked_product, 2)])
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/orders/")
    assert response.json()["count"] == 26


def test_schema_and_docs_served(api, rep):
    client = api(rep)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/orders/{id}/approve/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    # Every script and stylesheet comes from this server, never from a CDN.
    sources = re.findall(rb'(?:src|href)="([^"]+)"', docs.content)
    assert sources
    assert [source for source in sources if source.startswith((b"http:", b"https:", b"//"))] == []


def test_line_changes_are_kept_in_history(api, rep, customer, stocked_product):
    from dentalsales.sales.models import SalesOrderLine

    order = post_order(api(rep), customer, stocked_product, quantity=1).json()

    api(rep).patch(
        f"/api/v1/orders/{order['id']}/", {"lines": [{"product": stocked_product.pk, "quantity": 7}]}, format="json"
    )

    assert SalesOrderLine.history.filter(order_id=order["id"], history_type="-", quantity=1).count() == 1
    assert SalesOrderLine.history.filter(order_id=order["id"], history_type="+", quantity=7).count() == 1


def test_shipment_from_two_warehouses_needs_a_choice(api, rep, supervisor, logistics, customer, product):
    near = f.WarehouseFactory(code="WH1")
    far = f.WarehouseFactory(code="WH2", name="成都西南仓")
    f.receive(product, near, quantity=3, actor=logistics, expiry_days=300, lot_number="NEAR")
    f.receive(product, far, quantity=10, actor=logistics, expiry_days=600, lot_number="FAR")
    order_id = post_order(api(rep), customer, product, quantity=5, unit_price="130").json()["id"]
    order_url = f"/api/v1/orders/{order_id}"
    api(rep).post(f"{order_url}/submit/")
    api(supervisor).post(f"{order_url}/approve/", {}, format="json")
    api(logistics).post(f"{order_url}/release/")

    unchosen = api(logistics).post(f"{order_url}/ship/", {"carrier": "顺丰速运"}, format="json")
    first = api(logistics).post(f"{order_url}/ship/", {"carrier": "顺丰速运", "warehouse": near.pk}, format="json")
    status_after_first = api(rep).get(order_url + "/").json()["status"]
    second = api(logistics).post(f"{order_url}/ship/", {"carrier": "德邦", "warehouse": far.pk}, format="json")

    assert unchosen.status_code == 400
    assert "warehouse" in unchosen.json()
    assert [line["lot_number"] for line in first.json()["lines"]] == ["NEAR"]
    assert status_after_first == "partially_shipped"
    assert [(line["lot_number"], line["quantity"]) for line in second.json()["lines"]] == [("FAR", 2)]
    assert api(rep).get(order_url + "/").json()["status"] == "shipped"


def test_idempotency_key_reused_for_other_values_is_409(api, rep, customer, stocked_product):
    client = api(rep)
    first = post_order(client, customer, stocked_product, quantity=5, headers={"Idempotency-Key": "reuse-1"})
    same_values = post_order(client, customer, stocked_product, quantity=5, headers={"Idempotency-Key": "reuse-1"})
    other_values = post_order(client, customer, stocked_product, quantity=6, headers={"Idempotency-Key": "reuse-1"})

    assert first.status_code == 201
    assert same_values.status_code == 200
    assert other_values.status_code == 409
    assert other_values.json()["code"] == "idempotency_key_reused"
    assert first.json()["number"] in other_values.json()["detail"]
    assert SalesOrder.objects.count() == 1


def test_unpriced_line_takes_grade_price_list(api, rep, manager, customer, stocked_product):
    from dentalsales.pricing.services import create_price_list

    create_price_list(
        actor=manager,
        name="2026 B级价格表",
        kind="grade",
        grade="B",
        valid_from=local_today() - datetime.timedelta(days=1),
        priority=10,
        items=[{"product": stocked_product, "unit_price": "120.00", "tiers": [{"min_quantity": 100, "unit_price": "110.00"}]}],
    )

    def price_for(quantity):
        response = api(rep).post(
            "/api/v1/orders/",
            {"customer": customer.pk, "channel": "phone", "lines": [{"product": stocked_product.pk, "quantity": quantity}]},
            format="json",
        )
        return response.json()["lines"][0]

    below_tier = price_for(99)
    at_tier = price_for(100)

    assert below_tier["unit_price"] == "120.0000"
    assert at_tier["unit_price"] == "110.0000"
    assert "2026 B级价格表" in at_tier["price_reasons"][0]
    assert "100" in at_tier["price_reasons"][0]


def test_manual_price_records_policy_price(api, rep, customer, stocked_product):
    line = post_order(api(rep), customer, stocked_product, quantity=1, unit_price="125.00").json()["lines"][0]

    assert line["unit_price"] == "125.0000"
    assert "130.00" in line["price_reasons"][0]


def test_cost_and_gross_profit_only_for_cost_roles(api, rep, supervisor, finance, logistics, customer, stocked_product):
    order_id = post_order(api(rep), customer, stocked_product, quantity=2, unit_price="113.00").json()["id"]

    def body(user):
        return api(user).get(f"/api/v1/orders/{order_id}/").json()

    for user in (rep, logistics):
        assert "gross_profit" not in body(user)
        assert "unit_cost" not in body(user)["lines"][0]
    for user in (supervisor, finance):
        data = body(user)
        # 226.00 including 13% VAT is 200.00 net; cost 2 x 80.00.
        assert data["lines"][0]["unit_cost"] == "80.0000"
        assert data["lines"][0]["gross_profit"] == "40.00"
        assert data["gross_profit"] == "40.00"
        assert data["gross_margin"] == "0.2000"


def test_cost_column_only_on_cost_roles_order_page(client, rep, supervisor, customer, stocked_product):
    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 2, "113.00")])

    client.force_login(rep)
    rep_page = client.get(f"/orders/{order.pk}/").content.decode()
    client.force_login(supervisor)
    supervisor_page = client.get(f"/orders/{order.pk}/").content.decode()

    assert 'data-testid="gross-profit"' not in rep_page
    assert 'data-testid="unit-cost"' not in rep_page
    assert 'data-testid="gross-profit">40.00<' in supervisor_page
