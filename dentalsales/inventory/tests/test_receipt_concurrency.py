"""Receipts under real concurrency on PostgreSQL: a resent form or API request and a repeated serial number receive once.

Each test starts real threads at one barrier; every thread works on its
own database connection and closes it at the end.
"""

import datetime

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidInput
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import GoodsReceipt, StockBalance, StockLedgerEntry
from dentalsales.inventory.services import receive_stock
from dentalsales.inventory.tests.test_concurrency import fresh, run_together

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises every writer, so row locks are never contended.",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _role_groups(db):
    """Recreate the role groups: a transactional test flushes the database, data migrations included."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def form_data(product, warehouse, token):
    today = local_today()
    return {
        "product": str(product.pk), "warehouse": str(warehouse.pk), "lot_number": "CC1",
        "production_date": (today - datetime.timedelta(days=10)).isoformat(),
        "expiry_date": (today + datetime.timedelta(days=700)).isoformat(), "quantity": "6", "token": token,
    }


def test_same_form_posted_twice_at_once_receives_once(product, warehouse, logistics):
    def post():
        client = Client()
        client.force_login(fresh(logistics))
        return client.post(reverse("inventory:receive"), form_data(product, warehouse, "same-token")).status_code

    outcomes = run_together([post, post])

    assert outcomes == [("ok", 302), ("ok", 302)]
    assert GoodsReceipt.objects.count() == 1
    assert StockBalance.objects.get().on_hand == 6
    assert StockLedgerEntry.objects.count() == 1


def test_same_idempotency_key_at_once_receives_once(product, warehouse, logistics):
    payload = {**form_data(product, warehouse, ""), "quantity": 6}
    del payload["token"]

    def post():
        client = APIClient()
        client.force_authenticate(fresh(logistics))
        response = client.post("/api/v1/stock/receipts/", payload, format="json", headers={"Idempotency-Key": "api-key-1"})
        return response.status_code, response.json()["number"]

    outcomes = run_together([post, post, post])

    statuses = sorted(result[1][0] for result in outcomes)
    numbers = {result[1][1] for result in outcomes}
    assert statuses == [200, 200, 201]
    assert len(numbers) == 1
    assert GoodsReceipt.objects.count() == 1
    assert StockBalance.objects.get().on_hand == 6


def test_same_serial_at_once_is_received_once(product, warehouse, logistics):
    today = local_today()

    def receive(lot_number):
        return lambda: receive_stock(
            actor=fresh(logistics), product=product, warehouse=warehouse, lot_number=lot_number,
            production_date=today - datetime.timedelta(days=10), expiry_date=today + datetime.timedelta(days=700),
            quantity=1, serial_number="SER-CONCURRENT",
        )

    outcomes = run_together([receive("SA"), receive("SB"), receive("SC")])

    kinds = sorted(kind for kind, _result in outcomes)
    errors = [result for kind, result in outcomes if kind == "error"]
    assert kinds == ["error", "error", "ok"]
    assert all(isinstance(error, InvalidInput) and "SER-CONCURRENT" in str(error) for error in errors)
    assert GoodsReceipt.objects.filter(serial_number="SER-CONCURRENT").count() == 1
