"""Order list, Excel export and review queue."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.sales.services import submit_order
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

# Session, user, the user's groups, the row count, the page, the line counts and the shipment counts.
ORDER_LIST_MAX_QUERIES = 7


def make_orders(rep, count):
    customers = [f.CustomerFactory(owner=rep) for _ in range(3)]
    products = [f.ProductFactory() for _ in range(2)]
    return [
        f.make_order(actor=rep, customer=customers[index % 3], lines=[(products[0], 1), (products[1], index + 1)])
        for index in range(count)
    ]


def row_numbers(response):
    return [order.number for order in response.context["page_obj"]]


def test_list_shows_the_order_columns(client, rep, customer, product):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 2), (f.ProductFactory(), 1)], channel="fax")
    client.force_login(rep)

    response = client.get(reverse("sales:order_list"))

    html = response.content.decode()
    row = response.context["page_obj"][0]
    assert response.status_code == 200
    assert row.line_count == 2
    assert order.number in html
    assert customer.name in html
    assert "Fax" in html
    assert 'data-status="draft"' in html
    assert "390.00" in html


def test_list_filters_by_status_and_search(client, rep, customer, product):
    draft = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    submitted = f.make_order(actor=rep, customer=customer, lines=[(product, 2)])
    submit_order(actor=rep, order=submitted)
    other_customer = f.CustomerFactory(owner=rep, name="上海牙科医院", search_text="shanghai yake")
    third = f.make_order(actor=rep, customer=other_customer, lines=[(product, 3), (f.ProductFactory(), 1)])
    client.force_login(rep)

    by_status = client.get(reverse("sales:order_list"), {"status": "submitted"})
    by_customer = client.get(reverse("sales:order_list"), {"q": "shanghai"})
    by_number = client.get(reverse("sales:order_list"), {"q": draft.number})
    bad_status = client.get(reverse("sales:order_list"), {"status": "nonsense"})

    assert row_numbers(by_status) == [submitted.number]
    assert row_numbers(by_customer) == [third.number]
    assert by_customer.context["page_obj"][0].line_count == 2
    assert row_numbers(by_number) == [draft.number]
    assert len(row_numbers(bad_status)) == 3


def test_representative_sees_only_own_orders(client, rep, rep2, customer, product):
    own = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    foreign = f.make_order(actor=rep2, customer=f.CustomerFactory(owner=rep2), lines=[(product, 1)])
    client.force_login(rep)

    response = client.get(reverse("sales:order_list"))

    assert row_numbers(response) == [own.number]
    assert foreign.number not in response.content.decode()


def test_list_pages_by_fifty(client, rep):
    make_orders(rep, 51)
    client.force_login(rep)

    first = client.get(reverse("sales:order_list"))
    second = client.get(reverse("sales:order_list"), {"page": 2})

    assert len(row_numbers(first)) == 50
    assert len(row_numbers(second)) == 1


@pytest.mark.parametrize("count", [2, 60])
def test_list_runs_a_fixed_number_of_queries(client, rep, count, django_assert_max_num_queries):
    make_orders(rep, count)
    client.force_login(rep)

    with django_assert_max_num_queries(ORDER_LIST_MAX_QUERIES):
        response = client.get(reverse("sales:order_list"))

    assert len(row_numbers(response)) == min(count, 50)


def test_htmx_filter_returns_only_the_results(client, rep, customer, product):
    f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    client.force_login(rep)

    response = client.get(reverse("sales:order_list"), {"status": "draft"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.startswith('<div id="order-results">')
    assert "<nav" not in html


def test_export_contains_the_filtered_rows(client, rep, customer, product):
    draft = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    submitted = f.make_order(actor=rep, customer=customer, lines=[(product, 2)])
    submit_order(actor=rep, order=submitted)
    client.force_login(rep)

    response = client.get(reverse("sales:order_list"), {"status": "draft", "export": "xlsx"})

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert rows[0][0] == "Order number"
    assert [row[0] for row in rows[1:]] == [draft.number]
    assert rows[1][3] == customer.name
    assert rows[1][7] == 1
    assert rows[1][8] == 130


def test_review_queue_lists_submitted_orders_of_the_team(client, rep, rep2, supervisor, customer, product):
    submitted = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    submit_order(actor=rep, order=submitted)
    draft = f.make_order(actor=rep, customer=customer, lines=[(product, 2)])
    other_team = f.make_order(actor=rep2, customer=f.CustomerFactory(owner=rep2), lines=[(product, 1)])
    submit_order(actor=rep2, order=other_team)
    client.force_login(supervisor)

    response = client.get(reverse("sales:review_queue"))

    assert response.status_code == 200
    assert row_numbers(response) == [submitted.number]
    assert draft.number not in response.content.decode()
    assert reverse("sales:order_review", args=[submitted.pk]) in response.content.decode()


def test_review_queue_is_empty_for_a_representative(client, rep, customer, product):
    submitted = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
    submit_order(actor=rep, order=submitted)
    client.force_login(rep)

    response = client.get(reverse("sales:review_queue"))

    assert row_numbers(response) == []


# -- the layout around the list ---------------------------------------------------


def role_badge(html):
    start = html.index('data-testid="user-roles"')
    return html[html.rindex("<span", 0, start) : html.index("</span>", start)]


def test_navbar_shows_the_first_role_and_lists_all_in_the_tooltip(client):
    from dentalsales.accounts.roles import Role

    admin = f.UserFactory(username="admin", roles=list(Role))
    client.force_login(admin)

    html = client.get(reverse("sales:order_list")).content.decode()

    badge = role_badge(html)
    assert html.count('data-testid="user-roles"') == 1
    assert badge.endswith(">Administrator +6")
    for role in Role:
        assert str(role.label) in badge
    assert 'id="main-nav"' in html
    assert 'data-section="sales"' in html


def test_sidebar_groups_menu_by_area(client, logistics):
    client.force_login(logistics)

    html = client.get(reverse("sales:order_list")).content.decode()

    assert html.index('data-section="sales"') < html.index('data-nav="sales:order_list"')
    assert html.index('data-section="stock"') < html.index('data-nav="inventory:stock_list"')
    assert 'data-nav="pricing:price_list_list"' not in html


def test_navbar_of_a_single_role_user_has_no_count(client, rep):
    client.force_login(rep)

    badge = role_badge(client.get(reverse("sales:order_list")).content.decode())

    assert badge.endswith(">Sales representative")


def test_pages_link_the_svg_favicon(client, rep):
    client.force_login(rep)

    html = client.get(reverse("sales:order_list")).content.decode()

    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in html
