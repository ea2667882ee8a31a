"""Payments: representatives and supervisors read their customers' payments on the web and in the API alike."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.timeutils import local_today
from dentalsales.finance import services
from dentalsales.finance.models import Payment
from dentalsales.testing import factories as f

from .factories import make_receivable

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def payments(finance, rep, rep2):
    own_customer = f.CustomerFactory(owner=rep, name="成都锦江口腔诊所", code="CU-OWN-1")
    foreign_customer = f.CustomerFactory(owner=rep2, name="广州天河口腔医院", code="CU-FOR-1")
    make_receivable(customer=own_customer, amount="500.00", invoiced_on=local_today() - datetime.timedelta(days=10))
    own = services.record_payment(
        actor=finance, customer=own_customer, received_on=local_today(), method="bank_transfer", amount="100.00", reference="DBLCLICK-1"
    )
    foreign = services.record_payment(
        actor=finance, customer=foreign_customer, received_on=local_today(), method="cash", amount="50.00", reference="OTHER-9"
    )
    return own, foreign


# persona → (list status, sees own, sees foreign)
ACCESS = [
    ("rep", 200, True, False),
    ("rep2", 200, False, True),
    ("supervisor", 200, True, False),
    ("manager", 200, True, True),
    ("finance", 200, True, True),
    ("logistics", 403, False, False),
    ("quality", 403, False, False),
]


@pytest.mark.parametrize("persona,status,sees_own,sees_foreign", ACCESS)
def test_web_payment_list_and_detail_per_role(request, payments, persona, status, sees_own, sees_foreign):
    user = request.getfixturevalue(persona)
    own, foreign = payments
    client = client_for(user)

    response = client.get(reverse("finance:payment_list"))

    assert response.status_code == status
    if status == 200:
        content = response.content.decode()
        assert (own.number in content) == sees_own
        assert (foreign.number in content) == sees_foreign
    for payment, sees in ((own, sees_own), (foreign, sees_foreign)):
        detail = client.get(reverse("finance:payment_detail", args=[payment.pk]))
        assert detail.status_code == (200 if sees else (403 if status == 403 else 404))


@pytest.mark.parametrize("persona,status,sees_own,sees_foreign", ACCESS)
def test_api_payment_list_and_detail_per_role(request, api, payments, persona, status, sees_own, sees_foreign):
    user = request.getfixturevalue(persona)
    own, foreign = payments
    client = api(user)

    response = client.get("/api/v1/payments/")

    assert response.status_code == status
    if status == 200:
        numbers = {row["number"] for row in response.json()["results"]}
        assert (own.number in numbers) == sees_own
        assert (foreign.number in numbers) == sees_foreign
    for payment, sees in ((own, sees_own), (foreign, sees_foreign)):
        detail = client.get(f"/api/v1/payments/{payment.pk}/")
        assert detail.status_code == (200 if sees else (403 if status == 403 else 404))


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
def test_sales_staff_read_only_on_web_and_api(request, api, payments, persona):
    user = request.getfixturevalue(persona)
    own, _foreign = payments

    page = client_for(user).get(reverse("finance:payment_list")).content.decode()
    detail = client_for(user).get(reverse("finance:payment_detail", args=[own.pk])).content.decode()
    web_post = client_for(user).get(reverse("finance:payment_create"))
    api_post = api(user).post(
        "/api/v1/payments/",
        {"customer": own.customer_id, "received_on": local_today().isoformat(), "method": "cash", "amount": "1.00"},
        format="json",
    )

    assert 'data-testid="new-payment"' not in page
    assert 'data-testid="reverse-form"' not in detail
    assert web_post.status_code == 403
    assert api_post.status_code == 403
    assert Payment.objects.count() == 2


def test_payments_tab_shown_to_representative(rep, payments):
    content = client_for(rep).get(reverse("finance:receivable_list")).content.decode()

    assert reverse("finance:payment_list") in content


@pytest.mark.parametrize(
    "search,expected",
    [("DBLCLICK", {"own"}), ("dblclick", {"own"}), ("CU-FOR", {"foreign"}), ("锦江", {"own"}), ("PM-", {"own", "foreign"}), ("nothing", set())],
)
def test_api_payment_search(api, finance, payments, search, expected):
    own, foreign = payments
    names = {own.number: "own", foreign.number: "foreign"}

    response = api(finance).get("/api/v1/payments/", {"search": search})

    assert response.status_code == 200
    assert {names[row["number"]] for row in response.json()["results"]} == expected


@pytest.mark.parametrize("search,count", [("锦江", 1), ("CU-OWN", 1), ("AR-", 1), ("天河", 0), ("zzz", 0)])
def test_api_receivable_search(api, finance, payments, search, count):
    response = api(finance).get("/api/v1/receivables/", {"search": search})

    assert response.status_code == 200
    assert response.json()["count"] == count


def test_schema_lists_search_and_customer_filters(api, finance):
    schema = api(finance).get("/api/schema/", {"format": "json"})
    paths = schema.json()["paths"]
    for path in ("/api/v1/receivables/", "/api/v1/payments/", "/api/v1/credit-notes/"):
        names = {parameter["name"] for parameter in paths[path]["get"]["parameters"]}
        assert {"search", "customer"} <= names, path
