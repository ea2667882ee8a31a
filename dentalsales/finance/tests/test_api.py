"""The finance API: contract shapes, roles, visibility, refusals that change nothing."""

import datetime
from decimal import Decimal as D

import pytest

from dentalsales.core.timeutils import local_today
from dentalsales.finance import services
from dentalsales.finance.models import CreditNote, CreditRelease, Payment, Receivable
from dentalsales.testing import factories as f

from .factories import approved_order, make_receivable

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(rep):
    return f.CustomerFactory(owner=rep, credit_limit=D("5000.00"))


@pytest.fixture
def foreign_customer(rep2):
    return f.CustomerFactory(owner=rep2)


@pytest.fixture
def receivables(customer):
    first = make_receivable(customer=customer, amount="100.00", invoiced_on=datetime.date(2026, 1, 5))
    second = make_receivable(customer=customer, amount="250.00", invoiced_on=datetime.date(2026, 2, 5))
    return first, second


def payment_body(customer, **changes):
    return {
        "customer": customer.pk,
        "received_on": local_today().isoformat(),
        "method": "bank_transfer",
        "reference": "BOC-20261204-1",
        "amount": "150.00",
        **changes,
    }


class TestPayments:
    def test_create_allocates_oldest_first(self, api, finance, customer, receivables):
        response = api(finance).post("/api/v1/payments/", payment_body(customer, amount="400.00"), format="json")

        assert response.status_code == 201
        body = response.json()
        assert body["allocations"] == [
            {"receivable": receivables[0].pk, "receivable_number": receivables[0].number, "amount": "100.00"},
            {"receivable": receivables[1].pk, "receivable_number": receivables[1].number, "amount": "250.00"},
        ]
        assert body["unapplied_amount"] == "50.00"
        assert body["amount"] == "400.00"
        assert body["method"] == "bank_transfer"

    def test_create_with_allocations_by_hand(self, api, finance, customer, receivables):
        body = payment_body(customer, allocations=[{"receivable": receivables[1].pk, "amount": "100.00"}])

        response = api(finance).post("/api/v1/payments/", body, format="json")

        assert response.status_code == 201
        assert response.json()["allocations"][0]["receivable"] == receivables[1].pk
        assert response.json()["unapplied_amount"] == "50.00"
        assert Receivable.objects.get(pk=receivables[0].pk).open_amount == D("100.00")

    @pytest.mark.parametrize(
        "amount,text",
        [("0", "greater than 0, not 0"), ("0.001", "0.001 has more than 2 decimal places"), ("-3", "not -3"), ("x", "“x” is not an amount")],
    )
    def test_bad_amount_is_refused(self, api, finance, customer, receivables, amount, text):
        response = api(finance).post("/api/v1/payments/", payment_body(customer, amount=amount), format="json")

        assert response.status_code == 400
        assert text in response.json()["detail"]
        assert "amount" in response.json()
        assert Payment.objects.count() == 0

    def test_allocation_above_open_is_refused(self, api, finance, customer, receivables):
        body = payment_body(customer, amount="500", allocations=[{"receivable": receivables[0].pk, "amount": "100.50"}])

        response = api(finance).post("/api/v1/payments/", body, format="json")

        assert response.status_code == 400
        assert "100.50 exceeds the open balance 100.00" in response.json()["detail"]
        assert Payment.objects.count() == 0
        assert Receivable.objects.get(pk=receivables[0].pk).open_amount == D("100.00")

    def test_unknown_customer_is_named(self, api, finance):
        response = api(finance).post("/api/v1/payments/", {**payment_body(f.CustomerFactory()), "customer": "abc"}, format="json")

        assert response.status_code == 400
        assert "“abc”" in response.json()["detail"]

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
    def test_sales_roles_cannot_record(self, request, api, customer, receivables, persona):
        response = api(request.getfixturevalue(persona)).post("/api/v1/payments/", payment_body(customer), format="json")

        assert response.status_code == 403
        assert Payment.objects.count() == 0

    @pytest.mark.parametrize("persona", ["logistics", "quality"])
    def test_other_roles_cannot_read(self, request, api, persona):
        assert api(request.getfixturevalue(persona)).get("/api/v1/payments/").status_code == 403

    def test_reverse_restores(self, api, finance, customer, receivables):
        payment = services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="120")

        response = api(finance).post(f"/api/v1/payments/{payment.pk}/reverse/", {"reason": "重复录入"}, format="json")

        assert response.status_code == 200
        assert response.json()["status"] == "reversed"
        assert [r.open_amount for r in Receivable.objects.order_by("pk")] == [D("100.00"), D("250.00")]

    def test_reverse_twice_is_409(self, api, finance, customer, receivables):
        payment = services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="120")
        api(finance).post(f"/api/v1/payments/{payment.pk}/reverse/", {"reason": "重复录入"}, format="json")

        response = api(finance).post(f"/api/v1/payments/{payment.pk}/reverse/", {"reason": "重复录入"}, format="json")

        assert response.status_code == 409

    def test_apply_unapplied(self, api, finance, customer):
        payment = services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="120")
        receivable = make_receivable(customer=customer, amount="80.00")

        response = api(finance).post(f"/api/v1/payments/{payment.pk}/apply/", {}, format="json")

        assert response.json()["unapplied_amount"] == "40.00"
        assert Receivable.objects.get(pk=receivable.pk).open_amount == D("0.00")

    def test_rep_reads_own_payments_only(self, api, finance, rep, customer, foreign_customer):
        own = services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="1")
        foreign = services.record_payment(actor=finance, customer=foreign_customer, received_on=local_today(), method="cash", amount="1")
        client = api(rep)

        numbers = [row["number"] for row in client.get("/api/v1/payments/").json()["results"]]

        assert numbers == [own.number]
        assert client.get(f"/api/v1/payments/{foreign.pk}/").status_code == 404


class TestReceivables:
    def test_contract_fields(self, api, finance, customer, receivables):
        response = api(finance).get(f"/api/v1/receivables/?customer={customer.pk}")

        row = response.json()["results"][0]
        for field in ("number", "shipment", "amount", "open_amount", "due_on"):
            assert field in row
        assert row["amount"] == "250.00"
        assert row["open_amount"] == "250.00"

    def test_customer_filter(self, api, finance, customer, foreign_customer, receivables):
        make_receivable(customer=foreign_customer, amount="9.00")

        response = api(finance).get(f"/api/v1/receivables/?customer={foreign_customer.pk}")

        assert [row["amount"] for row in response.json()["results"]] == ["9.00"]

    def test_bad_customer_filter(self, api, finance):
        assert api(finance).get("/api/v1/receivables/?customer=x").status_code == 400

    @pytest.mark.parametrize("persona,count", [("rep", 2), ("supervisor", 2), ("rep2", 1), ("manager", 3), ("finance", 3)])
    def test_visibility(self, request, api, customer, foreign_customer, receivables, persona, count):
        make_receivable(customer=foreign_customer, amount="9.00")

        response = api(request.getfixturevalue(persona)).get("/api/v1/receivables/")

        assert response.json()["count"] == count

    def test_other_representatives_receivable_is_404(self, api, rep, foreign_customer):
        foreign = make_receivable(customer=foreign_customer, amount="9.00")

        assert api(rep).get(f"/api/v1/receivables/{foreign.pk}/").status_code == 404

    def test_read_only_for_representatives(self, api, rep, receivables):
        response = api(rep).post("/api/v1/receivables/", {"amount": "1"}, format="json")

        assert response.status_code == 405

    @pytest.mark.parametrize("rows", [2, 15])
    def test_query_count_is_fixed(self, api, finance, customer, rows, django_assert_max_num_queries):
        for _index in range(rows):
            make_receivable(customer=f.CustomerFactory(owner=customer.owner), amount="10.00")
        client = api(finance)

        with django_assert_max_num_queries(4):
            response = client.get("/api/v1/receivables/")

        assert response.json()["count"] == rows


@pytest.mark.parametrize("rows", [2, 15])
def test_payment_list_query_count_is_fixed(api, finance, customer, rows, django_assert_max_num_queries):
    for _index in range(rows):
        other = f.CustomerFactory(owner=customer.owner)
        make_receivable(customer=other, amount="10.00")
        services.record_payment(actor=finance, customer=other, received_on=local_today(), method="cash", amount="15")
    client = api(finance)

    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/payments/")

    assert response.json()["count"] == rows


class TestCreditPosition:
    def test_shape_and_arithmetic(self, api, finance, rep, supervisor, customer, stocked_product):
        approved_order(rep=rep, reviewer=supervisor, customer=customer, lines=[(stocked_product, 2, "500.00")])
        services.record_payment(actor=finance, customer=customer, received_on=local_today(), method="cash", amount="400.00")

        response = api(rep).get(f"/api/v1/customers/{customer.pk}/credit/")

        assert response.status_code == 200
        body = response.json()
        assert {key: body[key] for key in ("credit_limit", "open_receivables", "open_orders", "unapplied_advances", "exposure", "available")} == {
            "credit_limit": "5000.00",
            "open_receivables": "0.00",
            "open_orders": "1000.00",
            "unapplied_advances": "400.00",
            "exposure": "600.00",
            "available": "4400.00",
        }
        assert isinstance(body["overdue_days_max"], int)

    def test_overdue_days(self, api, finance, customer):
        make_receivable(customer=customer, amount="10.00", invoiced_on=local_today() - datetime.timedelta(days=50), due_on=local_today() - datetime.timedelta(days=20))

        assert api(finance).get(f"/api/v1/customers/{customer.pk}/credit/").json()["overdue_days_max"] == 20

    def test_other_representatives_customer_is_404(self, api, rep, foreign_customer):
        assert api(rep).get(f"/api/v1/customers/{foreign_customer.pk}/credit/").status_code == 404

    @pytest.mark.parametrize("persona", ["logistics", "quality"])
    def test_other_roles_are_403(self, request, api, customer, persona):
        assert api(request.getfixturevalue(persona)).get(f"/api/v1/customers/{customer.pk}/credit/").status_code == 403


class TestCreditNotesAndReleases:
    def test_finance_issues_and_reverses(self, api, finance, customer, receivables):
        client = api(finance)
        response = client.post(
            "/api/v1/credit-notes/",
            {"customer": customer.pk, "receivable": receivables[1].pk, "amount": "50.00", "reason": "部分退货", "source_reference": "RT-1"},
            format="json",
        )
        assert response.status_code == 201
        assert response.json()["allocations"][0]["amount"] == "50.00"

        reversed_response = client.post(f"/api/v1/credit-notes/{response.json()['id']}/reverse/", {"reason": "退货取消"}, format="json")

        assert reversed_response.json()["status"] == "reversed"
        assert Receivable.objects.get(pk=receivables[1].pk).open_amount == D("250.00")

    def test_above_invoiced_is_refused(self, api, finance, customer, receivables):
        response = api(finance).post(
            "/api/v1/credit-notes/",
            {"customer": customer.pk, "receivable": receivables[0].pk, "amount": "100.01", "reason": "部分退货"},
            format="json",
        )

        assert response.status_code == 400
        assert "100.01" in response.json()["detail"]
        assert CreditNote.objects.count() == 0

    def test_rep_cannot_issue(self, api, rep, customer, receivables):
        response = api(rep).post("/api/v1/credit-notes/", {"customer": customer.pk, "amount": "1", "reason": "x"}, format="json")

        assert response.status_code == 403

    def test_release_grant_and_revoke(self, api, finance, customer):
        client = api(finance)
        until = (local_today() + datetime.timedelta(days=7)).isoformat()

        response = client.post("/api/v1/credit-releases/", {"customer": customer.pk, "valid_until": until, "reason": "大客户临时放行"}, format="json")
        revoked = client.post(f"/api/v1/credit-releases/{response.json()['id']}/revoke/", {"reason": "客户已回款"}, format="json")

        assert response.status_code == 201
        assert response.json()["is_active"] is True
        assert revoked.json()["is_active"] is False

    def test_release_with_bad_date_is_named(self, api, finance, customer):
        response = api(finance).post("/api/v1/credit-releases/", {"customer": customer.pk, "valid_until": "2026-13-01", "reason": "x"}, format="json")

        assert response.status_code == 400
        assert "2026-13-01" in response.json()["detail"]
        assert CreditRelease.objects.count() == 0


def test_collection_rates_endpoint(api, finance, customer):
    today = local_today()
    make_receivable(customer=customer, amount="200.00", invoiced_on=today - datetime.timedelta(days=30), due_on=today)
    services.record_payment(actor=finance, customer=customer, received_on=today, method="cash", amount="50.00")

    response = api(finance).get(f"/api/v1/collection-rates/?year={today.year}")

    month = response.json()["results"][0]["months"][today.month - 1]
    assert month == {"month": today.month, "due": "200.00", "received": "50.00", "rate": "25.0"}


def test_retried_payment_with_same_key_is_recorded_once(api, finance, customer, receivables):
    client = api(finance)
    body = payment_body(customer, amount="120.00")

    first = client.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-001")
    second = client.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY="pay-001")

    assert first.status_code == 201
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert Payment.objects.count() == 1
    assert Receivable.objects.get(pk=receivables[0].pk).open_amount == D("0.00")
    assert Receivable.objects.get(pk=receivables[1].pk).open_amount == D("230.00")


def test_different_keys_record_two_payments(api, finance, customer, receivables):
    client = api(finance)

    client.post("/api/v1/payments/", payment_body(customer, amount="10.00"), format="json", HTTP_IDEMPOTENCY_KEY="a")
    client.post("/api/v1/payments/", payment_body(customer, amount="10.00"), format="json", HTTP_IDEMPOTENCY_KEY="b")

    assert Payment.objects.count() == 2


def test_reused_key_with_other_values_is_409(api, finance, customer, receivables):
    client = api(finance)

    first = client.post("/api/v1/payments/", payment_body(customer, amount="120.00"), format="json", HTTP_IDEMPOTENCY_KEY="pay-002")
    other = client.post("/api/v1/payments/", payment_body(customer, amount="121.00"), format="json", HTTP_IDEMPOTENCY_KEY="pay-002")

    assert first.status_code == 201
    assert other.status_code == 409
    assert other.json()["code"] == "idempotency_key_reused"
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
def test_key_does_not_let_other_roles_record(request, api, customer, receivables, persona):
    response = api(request.getfixturevalue(persona)).post(
        "/api/v1/payments/", payment_body(customer), format="json", HTTP_IDEMPOTENCY_KEY="pay-003"
    )

    assert response.status_code == 403
    assert Payment.objects.count() == 0
