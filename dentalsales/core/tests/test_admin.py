"""The admin: users and roles can be managed; business records are read-only there."""

import pytest

from dentalsales.accounts.models import User
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", password="pw-Admin-1")
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/accounts/team/",
        "/admin/customers/customer/",
        "/admin/catalog/product/",
        "/admin/inventory/stockledgerentry/",
        "/admin/sales/salesorder/",
    ],
)
def test_admin_pages_open(admin_client, path):
    assert admin_client.get(path).status_code == 200


def test_customer_history_page_opens(admin_client, rep):
    customer = f.CustomerFactory(owner=rep)

    assert admin_client.get(f"/admin/customers/customer/{customer.pk}/history/").status_code == 200


def test_business_records_cannot_be_added_in_admin(admin_client):
    assert admin_client.get("/admin/customers/customer/add/").status_code == 403
    assert admin_client.get("/admin/sales/salesorder/add/").status_code == 403


def test_user_admin_sets_roles(admin_client):
    response = admin_client.get("/admin/accounts/user/add/")

    assert response.status_code == 200


def test_ledger_pages_open(admin_client, logistics, product, warehouse):
    from dentalsales.inventory.models import StockBalance, StockLedgerEntry

    f.receive(product, warehouse, quantity=3, actor=logistics)
    entry = StockLedgerEntry.objects.get()
    balance = StockBalance.objects.get()

    assert admin_client.get(f"/admin/inventory/stockledgerentry/{entry.pk}/change/").status_code == 200
    assert admin_client.get(f"/admin/inventory/stockbalance/{balance.pk}/change/").status_code == 200


@pytest.mark.parametrize("path", ["/admin/sales/quotation/", "/admin/sales/contract/"])
def test_sales_document_admin_pages_open(admin_client, path):
    assert admin_client.get(path).status_code == 200
