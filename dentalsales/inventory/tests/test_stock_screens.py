"""Stock page visibility, the ledger's filters and balances, stock count entry and review, the transfer form and dashboard queues."""

import datetime

import pytest
from django.contrib.admin.sites import site as admin_site
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today
from dentalsales.inventory import stock_control
from dentalsales.inventory.models import (
    InspectionResult,
    Lot,
    Shipment,
    ShipmentStatus,
    StockBalance,
    StockCount,
    StockCountStatus,
)
from dentalsales.inventory.services import receive_stock
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

STOCK_URL = reverse("inventory:stock_list")
LEDGER_URL = reverse("inventory:ledger")
TRANSFER_URL = reverse("inventory:transfer_list")
COUNTS_URL = reverse("inventory:stock_count_list")


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def api_for(user):
    client = APIClient(headers={"accept-language": "en"})
    client.force_authenticate(user)
    return client


def days(n):
    return local_today() + datetime.timedelta(days=n)


@pytest.fixture
def admin_user(db):
    return f.UserFactory(username="administrator", roles=[Role.ADMINISTRATOR], is_staff=True, is_superuser=True)


class TestStockPageVisibility:
    @pytest.mark.parametrize(
        ("persona", "status"),
        [("rep", 403), ("finance", 403), ("supervisor", 200), ("logistics", 200), ("quality", 200), ("manager", 200)],
    )
    def test_stock_page_per_role(self, request, stocked_product, persona, status):
        response = client_for(request.getfixturevalue(persona)).get(STOCK_URL)

        assert response.status_code == status

    @pytest.mark.parametrize(("persona", "status"), [("rep", 403), ("supervisor", 200), ("logistics", 200), ("finance", 200)])
    def test_receipts_api_per_role(self, request, stocked_product, persona, status):
        response = api_for(request.getfixturevalue(persona)).get("/api/v1/stock/receipts/")

        assert response.status_code == status

    def test_rep_still_sees_availability_on_the_product(self, stocked_product, rep):
        response = api_for(rep).get(f"/api/v1/products/{stocked_product.pk}/stock/")

        assert response.status_code == 200
        assert response.json()["available"] == 100


class TestLedger:
    def test_reversed_range_is_refused_naming_both_dates(self, stocked_product, logistics):
        response = client_for(logistics).get(LEDGER_URL, {"date_from": "2026-06-30", "date_to": "2026-06-01"})

        page = response.content.decode()
        assert "The end date 2026-06-01 is before the start date 2026-06-30" in page
        assert response.context["page_obj"] is None

    def test_unparsable_date_is_refused_naming_the_value(self, stocked_product, logistics):
        response = client_for(logistics).get(LEDGER_URL, {"date_from": "2026-13-45"})

        assert "“2026-13-45” is not a date" in response.content.decode()
        assert response.context["page_obj"] is None

    def test_api_refuses_reversed_range_and_bad_date(self, stocked_product, logistics):
        client = api_for(logistics)

        reversed_range = client.get("/api/v1/stock/ledger/", {"date_from": "2026-06-30", "date_to": "2026-06-01"})
        bad_date = client.get("/api/v1/stock/ledger/", {"date_to": "yesterday"})

        assert reversed_range.status_code == 400
        assert "2026-06-01" in reversed_range.json()["detail"]
        assert "2026-06-30" in reversed_range.json()["detail"]
        assert bad_date.status_code == 400
        assert "yesterday" in bad_date.json()["detail"]

    def test_column_is_labelled_movement_type(self, stocked_product, logistics):
        page = client_for(logistics).get(LEDGER_URL).content.decode()

        assert "Movement type" in page
        assert ">Reason<" not in page

    def test_running_balance_per_lot_and_warehouse(self, product, warehouse, logistics, django_assert_max_num_queries):
        other = f.WarehouseFactory(code="WH2", name="北京仓")
        for quantity in (10, 5):
            f.receive(product, warehouse, quantity=quantity, actor=logistics, lot_number="RB1")
        f.receive(product, other, quantity=7, actor=logistics, lot_number="RB1")
        lot = Lot.objects.get(lot_number="RB1")
        stock_control.transfer_stock(actor=logistics, lot=lot, from_warehouse=warehouse, to_warehouse=other, quantity=3)
        client = client_for(logistics)

        response = client.get(LEDGER_URL)

        balances = [(entry.warehouse_id, entry.quantity, entry.running_balance) for entry in response.context["page_obj"]]
        # Newest first: the transfer in and out, then the receipts.
        assert balances == [(other.pk, 3, 10), (warehouse.pk, -3, 12), (other.pk, 7, 7), (warehouse.pk, 5, 15), (warehouse.pk, 10, 10)]

    def test_running_balance_ignores_filters(self, product, warehouse, logistics):
        for quantity in (10, 5):
            f.receive(product, warehouse, quantity=quantity, actor=logistics, lot_number="RB2")

        response = client_for(logistics).get(LEDGER_URL, {"q": "RB2", "reason": "receipt"})

        assert [entry.running_balance for entry in response.context["page_obj"]] == [15, 10]

    def test_query_count_does_not_grow_with_rows(self, product, warehouse, logistics, django_assert_max_num_queries):
        client = client_for(logistics)
        f.receive(product, warehouse, quantity=1, actor=logistics, lot_number="QC-first")
        with django_assert_max_num_queries(30) as few:
            client.get(LEDGER_URL)
        for index in range(20):
            f.receive(product, warehouse, quantity=1, actor=logistics, lot_number=f"QC{index}")

        with django_assert_max_num_queries(len(few)):
            client.get(LEDGER_URL)


class TestStockCountEntry:
    def count_url(self, warehouse):
        return reverse("inventory:stock_count_create") + f"?warehouse={warehouse.pk}"

    def test_counted_quantity_starts_empty(self, stocked_product, warehouse, logistics):
        response = client_for(logistics).get(self.count_url(warehouse))

        form = response.context["formset"].forms[0]
        assert "counted_quantity" not in form.initial
        assert 'name="count-0-counted_quantity"' in response.content.decode()
        assert 'value="100"' not in response.content.decode()

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            ("", "Lot {lot}: Counted quantity: enter a number."),
            ("1.5", "Lot {lot}: Counted quantity must be a whole number, not “1.5”."),
            ("-2", "Lot {lot}: Counted quantity must be at least 0, not -2."),
        ],
    )
    def test_messages_name_the_lot(self, stocked_product, warehouse, logistics, value, message):
        lot = Lot.objects.get()
        data = {"count-TOTAL_FORMS": "1", "count-INITIAL_FORMS": "1", "count-0-lot": lot.pk, "count-0-counted_quantity": value}

        response = client_for(logistics).post(self.count_url(warehouse), data)

        assert response.context["formset"].forms[0].errors["counted_quantity"] == [message.format(lot=lot.lot_number)]
        assert StockCount.objects.count() == 0


class TestStockCountReview:
    @pytest.fixture
    def count(self, product, warehouse, logistics):
        for index in range(3):
            f.receive(product, warehouse, quantity=10, actor=logistics, lot_number=f"SC{index}")
        lots = list(Lot.objects.order_by("lot_number"))
        lines = [
            {"lot": lots[0], "counted_quantity": 10, "reason": ""},
            {"lot": lots[1], "counted_quantity": 8, "reason": "破损"},
            {"lot": lots[2], "counted_quantity": 10, "reason": ""},
        ]
        return stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=lines)

    def test_differences_only_by_default(self, count, manager):
        response = client_for(manager).get(reverse("inventory:stock_count_detail", args=[count.pk]))

        assert [line.lot.lot_number for line in response.context["lines"]] == ["SC1"]
        assert "1 of 3 lots differ from the record." in response.content.decode()

    def test_all_lines_on_request(self, count, manager):
        response = client_for(manager).get(reverse("inventory:stock_count_detail", args=[count.pk]), {"lines": "all"})

        assert len(response.context["lines"]) == 3

    def test_list_filters_by_status(self, count, manager):
        other = StockCount.objects.create(number="ST-OLD", warehouse=count.warehouse, counted_by=count.counted_by, status=StockCountStatus.REJECTED)

        response = client_for(manager).get(COUNTS_URL, {"status": "submitted"})

        numbers = [row.number for row in response.context["page_obj"]]
        assert numbers == [count.number]
        assert other.number not in numbers


class TestTransferForm:
    def test_lot_choice_is_searchable_and_shows_stock(self, product, warehouse, logistics):
        f.receive(product, warehouse, quantity=12, actor=logistics, lot_number="TF1")

        page = client_for(logistics).get(TRANSFER_URL).content.decode()

        assert 'name="stock"' in page
        assert "data-tom-select" in page
        assert f"lot TF1 · {warehouse.name} · expires" in page
        assert "12 unreserved" in page

    def test_query_count_does_not_grow_with_lots(self, product, warehouse, logistics, django_assert_max_num_queries):
        client = client_for(logistics)
        f.receive(product, warehouse, quantity=2, actor=logistics, lot_number="TQ-first")
        with django_assert_max_num_queries(30) as few:
            client.get(TRANSFER_URL)
        for index in range(25):
            f.receive(product, warehouse, quantity=2, actor=logistics, lot_number=f"TQ{index}")

        with django_assert_max_num_queries(len(few)):
            client.get(TRANSFER_URL)

    def test_transfer_moves_the_chosen_stock(self, product, warehouse, logistics):
        f.receive(product, warehouse, quantity=12, actor=logistics, lot_number="TF2")
        target = f.WarehouseFactory(code="WH2", name="北京仓")
        stock = StockBalance.objects.get(warehouse=warehouse)

        client_for(logistics).post(TRANSFER_URL, {"stock": stock.pk, "to_warehouse": target.pk, "quantity": "5"})

        assert StockBalance.objects.get(warehouse=target).on_hand == 5


class TestDashboard:
    @pytest.fixture
    def queues(self, stocked_product, customer, supervisor, logistics, quality):
        from dentalsales.inventory.tests.test_views import ship

        ship(customer, [(stocked_product, 2)], reviewer=supervisor, logistics=logistics)
        receive_stock(
            actor=logistics, product=stocked_product, warehouse=Lot.objects.first().balances.first().warehouse, lot_number="QZ1",
            production_date=days(-5), expiry_date=days(400), quantity=3, inspection_result=InspectionResult.QUARANTINED,
            inspection_note="外包装破损",
        )
        lot = Lot.objects.get(lot_number="QZ1")
        warehouse = lot.balances.first().warehouse
        stock_control.submit_stock_count(actor=logistics, warehouse=warehouse, lines=[{"lot": lot, "counted_quantity": 2, "reason": "少 1"}])

    def counts(self, user):
        response = client_for(user).get(reverse("home"))
        return {str(label): (count, url) for label, count, url in response.context["counts"]}

    def test_logistics_sees_shipment_and_count_queues(self, queues, logistics, manager):
        assert Shipment.objects.get().status == ShipmentStatus.PICKED

        counts = self.counts(logistics)
        manager_counts = self.counts(manager)

        assert counts["Shipments waiting for outbound review"] == (1, reverse("inventory:shipment_list") + "?status=picked")
        assert counts["Reviewed shipments to dispatch"][0] == 0
        assert counts["Shipments waiting for delivery confirmation"][0] == 0
        # The person who counted cannot approve their own count.
        assert counts["Stock counts waiting for approval"][0] == 0
        assert manager_counts["Stock counts waiting for approval"] == (1, COUNTS_URL + "?status=submitted")

    def test_quality_sees_review_and_quarantine(self, queues, quality):
        counts = self.counts(quality)

        assert counts["Shipments waiting for outbound review"][0] == 1
        assert counts["Quarantined lots"] == (1, reverse("inventory:quarantine_list"))
        assert "Reviewed shipments to dispatch" not in counts

    def test_rep_sees_no_stock_queues(self, queues, rep):
        counts = self.counts(rep)

        assert "Shipments waiting for outbound review" not in counts
        assert "Quarantined lots" not in counts

    def test_query_count_is_fixed(self, queues, logistics, django_assert_max_num_queries):
        client = client_for(logistics)
        client.get(reverse("home"))

        with django_assert_max_num_queries(25) as captured:
            client.get(reverse("home"))
        before = len(captured)
        stock_control.submit_stock_count(
            actor=f.UserFactory(roles=[Role.LOGISTICS]), warehouse=Lot.objects.get(lot_number="QZ1").balances.first().warehouse,
            lines=[{"lot": Lot.objects.get(lot_number="QZ1"), "counted_quantity": 1, "reason": "少 2"}],
        )
        with django_assert_max_num_queries(before):
            client.get(reverse("home"))


class TestAdminDelete:
    @pytest.mark.parametrize("model_name", ["lot", "shipment"])
    def test_delete_names_the_kept_records(self, queues_for_admin, admin_user, model_name):
        obj = queues_for_admin[model_name]
        url = reverse(f"admin:inventory_{model_name}_delete", args=[obj.pk])

        response = client_for(admin_user).post(url, {"post": "yes"})

        assert response.status_code == 403
        text = response.content.decode()
        assert f"“{obj}” cannot be deleted" in text
        assert "kept" in text
        assert "Your role does not allow" not in text
        assert type(obj).objects.filter(pk=obj.pk).exists()

    def test_product_delete_lists_the_records(self, queues_for_admin, admin_user):
        product = queues_for_admin["lot"].product

        response = client_for(admin_user).get(reverse("admin:catalog_product_delete", args=[product.pk]))

        text = response.content.decode()
        assert response.status_code == 403
        assert "goods receipts" in text
        assert "traceability" in text

    @pytest.fixture
    def queues_for_admin(self, stocked_product, customer, supervisor, logistics):
        from dentalsales.inventory.tests.test_views import ship

        ship(customer, [(stocked_product, 2)], reviewer=supervisor, logistics=logistics)
        return {"lot": Lot.objects.get(), "shipment": Shipment.objects.get()}


def test_admin_site_registers_inventory_models():
    assert Lot in admin_site._registry
