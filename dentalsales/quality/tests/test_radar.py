"""Expiry radar: near-expiry stock by window, registrations, dashboard counts and the reminder command."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.core.timeutils import local_today
from dentalsales.notifications.models import Notification
from dentalsales.quality import selectors
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
RADAR_URL = reverse("quality:expiry_radar")


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def stock(product, warehouse, logistics):
    """Lots expiring in 0 (today), 20, 60, 150 and 400 days, and one expired yesterday, all with stock."""
    lots = {}
    for days in (0, 20, 60, 150, 400, -1):
        lots[days] = f.receive(product, warehouse, quantity=5, actor=logistics, lot_number=f"E{days:+03d}", expiry_days=days, production_days_ago=400).lot
    return lots


@pytest.fixture
def registrations(db):
    today = local_today()
    return {
        "soon": f.ProductFactory(registration_valid_until=today + datetime.timedelta(days=45)),
        "today": f.ProductFactory(registration_valid_until=today),
        "expired": f.ProductFactory(registration_valid_until=today - datetime.timedelta(days=1)),
        "class_i": f.ProductFactory(registration_valid_until=None, device_class="I"),
    }


def test_near_expiry_windows(stock, settings):
    settings.EXPIRY_WINDOWS_DAYS = [30, 90, 180]
    within_30 = {balance.lot.lot_number for balance in selectors.near_expiry_stock(within_days=30, include_expired=False)}
    assert within_30 == {"E+00", "E+20"}
    within_180 = [balance.lot.lot_number for balance in selectors.near_expiry_stock()]
    assert within_180 == ["E-01", "E+00", "E+20", "E+60", "E+150"]


def test_lot_expiring_today_is_not_expired(stock):
    counts = selectors.radar_counts()
    assert counts["expired_lots"] == 1
    assert counts["windows"] == [(30, 2), (90, 3), (180, 4)]


def test_windows_from_settings(stock, settings):
    settings.EXPIRY_WINDOWS_DAYS = [10, 500]
    assert selectors.radar_counts()["windows"] == [(10, 1), (500, 5)]


def test_empty_balance_not_listed(stock, product, warehouse):
    from dentalsales.inventory.models import StockBalance

    StockBalance.objects.filter(lot=stock[20]).update(on_hand=0)
    assert "E+20" not in {balance.lot.lot_number for balance in selectors.near_expiry_stock()}


def test_registration_lists(registrations, product):
    expiring = set(selectors.expiring_registrations(within_days=60))
    assert expiring == {registrations["soon"], registrations["today"]}
    invalid = set(selectors.products_without_valid_registration())
    assert invalid == {registrations["expired"]}
    counts = selectors.radar_counts()
    assert counts["expiring_registrations"] == 2
    assert counts["invalid_registrations"] == 1


def test_radar_screen_and_export(logistics, stock, registrations):
    client = client_for(logistics)
    page = client.get(RADAR_URL, {"window": 30}).content.decode()
    assert 'data-lot="E+20"' in page
    assert 'data-lot="E+60"' not in page
    assert 'data-count="expired">1<' in page

    page = client.get(RADAR_URL, {"kind": "invalid"}).content.decode()
    assert f'data-product="{registrations["expired"].sku}"' in page

    response = client.get(RADAR_URL, {"window": 90, "export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert [row[3] for row in rows[1:]] == ["E-01", "E+00", "E+20", "E+60"]
    assert [row[5] for row in rows[1:]] == [-1, 0, 20, 60]


@pytest.mark.parametrize("persona", ["rep", "supervisor", "finance"])
def test_radar_other_roles_forbidden(request, persona):
    assert client_for(request.getfixturevalue(persona)).get(RADAR_URL).status_code == 403


def test_radar_query_count(quality, product, warehouse, logistics, django_assert_max_num_queries):
    client = client_for(quality)
    f.receive(product, warehouse, quantity=5, actor=logistics, expiry_days=20)
    with django_assert_max_num_queries(10):
        client.get(RADAR_URL)
    for index in range(8):
        f.receive(product, warehouse, quantity=5, actor=logistics, expiry_days=21 + index)
    with django_assert_max_num_queries(10):
        assert client.get(RADAR_URL).content.decode().count("data-lot=") == 9


def test_dashboard_shows_radar_for_quality_only(quality, rep, stock):
    page = client_for(quality).get(reverse("home")).content.decode()
    assert 'data-testid="radar-counts"' in page
    assert 'data-count="within-30">2<' in page
    assert 'data-testid="radar-counts"' not in client_for(rep).get(reverse("home")).content.decode()


def test_reminder_command_notifies(quality, logistics, manager, stock, registrations):
    out = io.StringIO()
    call_command("send_expiry_reminders", stdout=out)
    recipients = set(Notification.objects.filter(category="expiry").values_list("recipient__username", flat=True))
    assert recipients == {"quality", "logistics"}
    notification = Notification.objects.filter(category="expiry").first()
    assert "1" in notification.title
    assert "2" in notification.body
    assert "2" in out.getvalue()


def test_reminder_command_quiet_when_nothing(quality, logistics):
    call_command("send_expiry_reminders", stdout=io.StringIO())
    assert not Notification.objects.filter(category="expiry").exists()


def test_reminder_command_dry_run(quality, stock):
    out = io.StringIO()
    call_command("send_expiry_reminders", "--dry-run", stdout=out)
    assert not Notification.objects.exists()
    assert "quality" in out.getvalue()
