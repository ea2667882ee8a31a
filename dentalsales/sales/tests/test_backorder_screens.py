"""Backorders and closing short on the web screens and the API, role by role."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from dentalsales.inventory.models import Allocation, StockBalance
from dentalsales.sales import services
from dentalsales.sales.models import OrderStatus
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

S = OrderStatus


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def short_product(product, warehouse, logistics):
    f.receive(product, warehouse, quantity=48, actor=logistics, expiry_days=400, lot_number="L48")
    return product


@pytest.fixture
def approved(rep, supervisor, customer, short_product):
    order = f.make_order(actor=rep, customer=customer, lines=[(short_product, 60)])
    services.submit_order(actor=rep, order=order)
    return services.approve_order(actor=supervisor, order=order, reason="stock short")


@pytest.fixture
def backordered(logistics, approved):
    return services.release_order(actor=logistics, order=approved, allow_partial=True)


@pytest.fixture
def partly_shipped(logistics, manager, backordered):
    services.ship_order(actor=logistics, order=backordered, carrier="顺丰", quantities={backordered.lines.get().pk: 20})
    f.deliver_shipments(backordered, reviewer=manager, logistics=logistics)
    backordered.refresh_from_db()
    return backordered


class TestWebRelease:
    def test_shortage_offers_release_of_what_is_available(self, client, logistics, approved):
        client.force_login(logistics)

        response = client.post(reverse("sales:order_release", args=[approved.pk]))

        detail = reverse("sales:order_detail", args=[approved.pk])
        assert response["Location"] == f"{detail}?release=short"
        assert "Not enough stock" in messages_of(response)[0]
        approved.refresh_from_db()
        assert approved.status == S.APPROVED
        page = client.get(response["Location"]).content.decode()
        assert 'data-testid="release-available"' in page
        assert 'data-testid="release-available"' not in client.get(detail).content.decode()

    def test_release_what_is_available(self, client, logistics, approved):
        client.force_login(logistics)

        response = client.post(reverse("sales:order_release", args=[approved.pk]), {"allow_partial": "1"})

        approved.refresh_from_db()
        assert approved.status == S.RELEASED
        assert messages_of(response) == [
            f"Order {approved.number}: 48 units reserved; backordered: 12 {approved.lines.get().product.unit} of “{approved.lines.get().product}”."
        ]

    def test_rep_cannot_release_what_is_available(self, client, rep, approved):
        client.force_login(rep)

        response = client.post(reverse("sales:order_release", args=[approved.pk]), {"allow_partial": "1"})

        approved.refresh_from_db()
        assert approved.status == S.APPROVED
        assert messages_of(response) == ["Your role may not release orders."]


class TestWebOrderPages:
    def test_detail_shows_backorder_per_line(self, client, logistics, backordered):
        client.force_login(logistics)

        page = client.get(reverse("sales:order_detail", args=[backordered.pk])).content.decode()

        assert 'data-testid="backorder-summary"' in page
        assert '<td class="num table-warning fw-semibold" data-testid="backordered">12</td>' in page
        assert '<td class="num" data-testid="reserved">48</td>' in page
        assert 'data-action="allocate_backorder"' in page

    @pytest.mark.parametrize("persona", ["rep", "supervisor"])
    def test_sales_roles_see_backorder_without_the_button(self, request, client, backordered, persona):
        client.force_login(request.getfixturevalue(persona))

        page = client.get(reverse("sales:order_detail", args=[backordered.pk])).content.decode()

        assert 'data-testid="backordered">12</td>' in page
        assert 'data-action="allocate_backorder"' not in page

    def test_list_badge_and_filter(self, client, rep, customer, product, backordered):
        other = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])
        client.force_login(rep)

        everything = client.get(reverse("sales:order_list")).content.decode()
        only = client.get(reverse("sales:order_list"), {"backordered": "on"}).content.decode()

        assert 'data-testid="backorder-badge"' in everything
        assert "Backordered 12" in everything
        assert backordered.number in only
        assert other.number not in only

    def test_allocate_backorder_button(self, client, logistics, warehouse, product, backordered):
        f.receive(product, warehouse, quantity=12, actor=logistics, expiry_days=500)
        client.force_login(logistics)

        response = client.post(reverse("sales:order_allocate_backorder", args=[backordered.pk]), {"next": "backorders"})

        assert response["Location"] == reverse("sales:backorder_list")
        assert messages_of(response) == [f"Order {backordered.number}: 12 units reserved; nothing is backordered any more."]
        assert services.order_backordered_quantity(backordered) == 0

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "finance"])
    def test_allocate_backorder_refused_for_other_roles(self, request, client, logistics, warehouse, product, backordered, persona):
        f.receive(product, warehouse, quantity=12, actor=logistics, expiry_days=500)
        client.force_login(request.getfixturevalue(persona))

        client.post(reverse("sales:order_allocate_backorder", args=[backordered.pk]))

        assert services.order_backordered_quantity(backordered) == 12

    def test_backorder_list_for_logistics(self, client, logistics, backordered):
        client.force_login(logistics)

        page = client.get(reverse("sales:backorder_list")).content.decode()

        assert f'data-order="{backordered.number}"' in page
        assert f"{backordered.lines.get().product.name}: 12" in page

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "finance", "quality"])
    def test_backorder_list_forbidden_for_others(self, request, client, persona):
        client.force_login(request.getfixturevalue(persona))

        assert client.get(reverse("sales:backorder_list")).status_code == 403

    @pytest.mark.parametrize("count", [1, 12])
    def test_backorder_list_query_count_is_fixed(self, client, rep, supervisor, logistics, customer, product, count, django_assert_max_num_queries):
        for _ in range(count):
            order = f.make_order(actor=rep, customer=customer, lines=[(product, 3), (product, 2)])
            services.submit_order(actor=rep, order=order)
            services.approve_order(actor=supervisor, order=order, reason="no stock yet")
            services.release_order(actor=logistics, order=order, allow_partial=True)
        client.force_login(logistics)

        # Session, user, groups, count, page, lines, allocations.
        with django_assert_max_num_queries(7):
            response = client.get(reverse("sales:backorder_list"))

        assert response.content.decode().count('data-action="allocate_backorder"') == count

    def test_close_short_from_the_page(self, client, supervisor, partly_shipped):
        client.force_login(supervisor)
        detail = reverse("sales:order_detail", args=[partly_shipped.pk])
        assert 'data-action="close_short"' in client.get(detail).content.decode()

        response = client.post(reverse("sales:order_close_short", args=[partly_shipped.pk]), {"close_short-reason": "客户不要余量"})

        partly_shipped.refresh_from_db()
        assert partly_shipped.status == S.COMPLETED
        assert messages_of(response) == [
            f"Order {partly_shipped.number} was closed short; its remaining reservations went back to stock."
        ]
        page = client.get(detail).content.decode()
        assert 'data-testid="closed-short"' in page
        assert 'data-testid="closed-short-quantity">40</td>' in page

    @pytest.mark.parametrize("persona", ["rep", "logistics"])
    def test_close_short_refused_for_other_roles(self, request, client, partly_shipped, persona):
        client.force_login(request.getfixturevalue(persona))

        page = client.get(reverse("sales:order_detail", args=[partly_shipped.pk])).content.decode()
        response = client.post(reverse("sales:order_close_short", args=[partly_shipped.pk]), {"close_short-reason": "x"})

        assert 'data-action="close_short"' not in page
        assert messages_of(response) == ["Your role may not close short orders."]
        partly_shipped.refresh_from_db()
        assert partly_shipped.status == S.PARTIALLY_SHIPPED


class TestApi:
    def test_release_stays_strict_by_default(self, api, logistics, approved):
        response = api(logistics).post(f"/api/v1/orders/{approved.pk}/release/")

        assert response.status_code == 409
        assert response.json()["code"] == "insufficient_stock"

    def test_release_with_allow_partial(self, api, logistics, approved):
        response = api(logistics).post(f"/api/v1/orders/{approved.pk}/release/", {"allow_partial": True}, format="json")

        body = response.json()
        assert response.status_code == 200
        assert body["status"] == "released"
        assert body["backordered_quantity"] == 12
        assert [(line["reserved_quantity"], line["backordered_quantity"], line["closed_short_quantity"]) for line in body["lines"]] == [(48, 12, 0)]
        assert "allocate_backorder" in body["allowed_actions"]

    def test_allocate_backorder(self, api, logistics, warehouse, product, backordered):
        client = api(logistics)
        nothing_yet = client.post(f"/api/v1/orders/{backordered.pk}/allocate-backorder/")
        f.receive(product, warehouse, quantity=5, actor=logistics, expiry_days=500)

        response = client.post(f"/api/v1/orders/{backordered.pk}/allocate-backorder/")

        assert (nothing_yet.status_code, nothing_yet.json()["code"]) == (409, "insufficient_stock")
        assert response.status_code == 200
        assert response.json()["lines"][0]["backordered_quantity"] == 7

    @pytest.mark.parametrize("persona, status_code", [("rep", 403), ("supervisor", 403), ("finance", 403), ("rep2", 404)])
    def test_allocate_backorder_per_role(self, request, api, backordered, persona, status_code):
        response = api(request.getfixturevalue(persona)).post(f"/api/v1/orders/{backordered.pk}/allocate-backorder/")

        assert response.status_code == status_code

    def test_close_short(self, api, supervisor, partly_shipped):
        response = api(supervisor).post(f"/api/v1/orders/{partly_shipped.pk}/close-short/", {"reason": "余量取消"}, format="json")

        body = response.json()
        assert response.status_code == 200
        assert body["status"] == "completed"
        assert body["lines"][0]["closed_short_quantity"] == 40
        assert body["backordered_quantity"] == 0
        assert StockBalance.objects.get().reserved == 0

    @pytest.mark.parametrize("persona, status_code", [("rep", 403), ("logistics", 403), ("finance", 403), ("rep2", 404)])
    def test_close_short_per_role(self, request, api, partly_shipped, persona, status_code):
        response = api(request.getfixturevalue(persona)).post(
            f"/api/v1/orders/{partly_shipped.pk}/close-short/", {"reason": "x"}, format="json"
        )

        assert response.status_code == status_code
        assert Allocation.objects.filter(order_line__order=partly_shipped).first().open_quantity == 28

    def test_backordered_filter(self, api, rep, customer, product, backordered):
        f.make_order(actor=rep, customer=customer, lines=[(product, 1)])

        everything = api(rep).get("/api/v1/orders/").json()
        only = api(rep).get("/api/v1/orders/", {"backordered": "true"}).json()

        assert everything["count"] == 2
        assert [order["number"] for order in only["results"]] == [backordered.number]
