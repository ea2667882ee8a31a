"""Login, lock-out after repeated failures, the dashboard and the role-based navigation."""

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.testing import factories as f

LOGIN_URL = reverse("login")
HOME_URL = reverse("home")


def client_for(user=None):
    """Return a client that requests English pages, signed in as ``user`` when one is given."""
    client = Client(headers={"accept-language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def test_login_page_is_in_chinese_by_default(db, chinese_default):
    html = Client().get(LOGIN_URL).content.decode()

    assert '<html lang="zh-hans">' in html


def test_login_with_the_right_password_opens_the_dashboard(rep):
    response = client_for().post(LOGIN_URL, {"username": "rep", "password": f.PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == HOME_URL


def test_login_with_a_wrong_password_stays_on_the_page(rep):
    response = client_for().post(LOGIN_URL, {"username": "rep", "password": "wrong"})

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in response.wsgi_request.session


def test_five_failures_lock_the_account_for_thirty_minutes(rep):
    client = client_for()
    for _ in range(4):
        assert client.post(LOGIN_URL, {"username": "rep", "password": "wrong"}).status_code == 200

    locked = client.post(LOGIN_URL, {"username": "rep", "password": "wrong"})
    after = client.post(LOGIN_URL, {"username": "rep", "password": f.PASSWORD})

    assert locked.status_code == 429
    assert "The account is locked for 30 minutes" in locked.content.decode()
    assert after.status_code == 429
    assert "_auth_user_id" not in after.wsgi_request.session


def test_dashboard_needs_login(db):
    response = client_for().get(HOME_URL)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_dashboard_shows_a_card_per_count(rep, customer, product):
    f.make_order(actor=rep, customer=customer, lines=[(product, 1)])

    response = client_for(rep).get(HOME_URL)

    html = response.content.decode()
    labels = [label for label, _, _ in response.context["counts"]]
    assert labels == ["Draft orders", "Rejected orders to rework"]
    assert html.count("data-count>") == 2
    assert "data-count>1<" in html
    assert f'href="{reverse("sales:order_list")}?status=draft"' in html


@pytest.mark.parametrize(
    "persona, shown, hidden",
    [
        ("rep", ["customers:list", "catalog:product_list", "inventory:shipment_list"], ["inventory:receive", "inventory:stock_list"]),
        ("logistics", ["inventory:receive", "inventory:stock_list", "inventory:shipment_list"], []),
        ("finance", ["customers:list"], ["inventory:receive", "inventory:shipment_list"]),
    ],
)
def test_navigation_follows_the_role(persona, shown, hidden, request, db):
    html = client_for(request.getfixturevalue(persona)).get(HOME_URL).content.decode()

    for name in shown:
        assert f'data-nav="{name}"' in html
    for name in hidden:
        assert f'data-nav="{name}"' not in html
