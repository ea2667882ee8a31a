"""Contacts as personal data in the API and in search; the grading preview after a rejected rule."""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.timeutils import local_today
from dentalsales.crm.models import ExportLog
from dentalsales.customers import grading, selectors
from dentalsales.sales.models import SalesOrder
from dentalsales.testing import factories as f

from . import factories as cf

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def contact(customer):
    return cf.ContactFactory(customer=customer, mobile="16827558909", birthday=datetime.date(1976, 12, 1))


# Contacts list in the API


@pytest.mark.parametrize("persona", ["rep", "supervisor"])
def test_bulk_contact_list_needs_the_export_permission(api, request, contact, persona):
    response = api(request.getfixturevalue(persona)).get("/api/v1/contacts/?page_size=1000")

    assert response.status_code == 403
    assert "?customer=" in response.data["detail"]
    assert not ExportLog.objects.exists()


@pytest.mark.parametrize("persona", ["finance", "logistics", "quality"])
def test_bulk_contact_list_refused_for_roles_without_contacts(api, request, contact, persona):
    assert api(request.getfixturevalue(persona)).get("/api/v1/contacts/").status_code == 403


def test_contacts_of_one_customer_show_birthday_as_month_and_day(api, rep, supervisor, contact):
    for user in (rep, supervisor):
        rows = api(user).get(f"/api/v1/contacts/?customer={contact.customer_id}").json()["results"]
        assert [row["birthday"] for row in rows] == ["12-01"], user.username
    assert api(rep).get(f"/api/v1/contacts/{contact.pk}/").json()["birthday"] == "12-01"
    assert not ExportLog.objects.exists()


def test_manager_bulk_list_is_logged_with_full_birthday(api, manager, contact):
    response = api(manager).get("/api/v1/contacts/?page_size=1000&search=x")

    assert response.status_code == 200
    assert [row["birthday"] for row in response.json()["results"]] == ["1976-12-01"]
    log = ExportLog.objects.get()
    assert (log.user, log.list_name, log.row_count) == (manager, "contacts api", 1)
    assert log.filters == {"page_size": "1000", "search": "x"}


def test_contacts_of_another_teams_customer_are_404(api, rep2, contact):
    assert api(rep2).get(f"/api/v1/contacts/?customer={contact.customer_id}").status_code == 404


# Search by a contact's mobile


@pytest.mark.parametrize("persona", ["finance", "logistics", "quality"])
def test_mobile_search_reveals_nothing_to_roles_without_contacts(api, request, contact, persona):
    user = request.getfixturevalue(persona)

    assert not selectors.search_customers(selectors.visible_customers(user), "1682755", user).exists()
    assert api(user).get("/api/v1/customers/?search=1682755").json()["count"] == 0
    page = client_for(user).get(reverse("customers:list"), {"q": "1682755"}).content.decode()
    assert contact.customer.code not in page
    # Code, name and pinyin still find the customer.
    assert api(user).get(f"/api/v1/customers/?search={contact.customer.code}").json()["count"] == 1


@pytest.mark.parametrize("persona", ["rep", "supervisor", "manager"])
def test_mobile_search_works_for_roles_with_contacts(api, request, contact, persona):
    user = request.getfixturevalue(persona)

    assert api(user).get("/api/v1/customers/?search=1682755").json()["count"] == 1
    options = client_for(user).get(reverse("customers:autocomplete"), {"q": "16827558909"}).json()["results"]
    assert [row["id"] for row in options] == [contact.customer_id]


def test_autocomplete_hides_mobile_match_from_logistics(logistics, contact):
    options = client_for(logistics).get(reverse("customers:autocomplete"), {"q": "16827558909"}).json()["results"]

    assert options == []


# Grading preview


def sell(rep, customer, product, amount):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 1, Decimal(amount))])
    SalesOrder.objects.filter(pk=order.pk).update(status="completed", order_date=local_today())


def test_rejected_rule_is_not_previewed(manager, rep, product):
    customers = [f.CustomerFactory(owner=rep, grade="C", code=f"G{index}") for index in range(3)]
    for customer, amount in zip(customers, ["7000", "2000", "1000"]):
        sell(rep, customer, product, amount)
    saved = {move.customer.code: move.new_grade for move in grading.grading_preview() if move.moves}

    response = client_for(manager).post(
        reverse("customers:grading"), {"action": "save", "grade_a_share": "95", "grade_b_share": "90", "months": "12"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    shown = {move.customer.code: move.new_grade for move in response.context["moves"]}
    assert shown == saved
    settings = response.context["settings"]
    assert settings.grade_a_share != Decimal("95")
    assert 'data-testid="preview-rule"' in response.content.decode()
