"""Delivery note preview and print, the quarantine release screen and per-shipment progress on order screens."""

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.accounts.context_processors import navigation_items
from dentalsales.inventory import shipping
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import InspectionResult, Lot, LotStatus, ReviewLineResult
from dentalsales.inventory.services import receive_stock
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

PASSED_TEXT = "The goods above passed outbound review"
QUARANTINE_URL = reverse("inventory:quarantine_list")


def client_for(user, language="en"):
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


@pytest.fixture
def picked(customer, product, warehouse, supervisor, logistics):
    f.receive(product, warehouse, quantity=20, actor=logistics, lot_number="P1")
    order = f.make_order(actor=customer.owner, customer=customer, lines=[(product, 8)])
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)
    return sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", waybill_number="SF1")


def review(shipment, reviewer):
    lines = {line.pk: {"result": ReviewLineResult.OK} for line in shipment.lines.all()}
    return shipping.review_shipment(actor=reviewer, shipment=shipment, lines=lines)


class TestDeliveryNote:
    def preview(self, user, shipment, language="en"):
        return client_for(user, language).get(reverse("inventory:delivery_note", args=[shipment.pk]))

    def print(self, user, shipment, language="en"):
        return client_for(user, language).post(reverse("inventory:delivery_note_print", args=[shipment.pk]))

    def test_preview_is_not_counted(self, picked, logistics):
        first = self.preview(logistics, picked)
        self.preview(logistics, picked)

        picked.refresh_from_db()
        assert picked.delivery_note_prints == 0
        assert 'data-testid="preview-mark"' in first.content.decode()
        assert 'data-testid="copy-mark"' not in first.content.decode()
        assert reverse("inventory:delivery_note_print", args=[picked.pk]) in first.content.decode()

    def test_first_print_is_original_then_copies(self, picked, logistics):
        self.preview(logistics, picked)

        first = self.print(logistics, picked).content.decode()
        second = self.print(logistics, picked).content.decode()

        picked.refresh_from_db()
        assert picked.delivery_note_prints == 2
        assert 'data-testid="copy-mark"' not in first
        assert 'data-testid="preview-mark"' not in first
        assert "window.print()" in first
        assert 'data-testid="copy-mark"' in second

    def test_unreviewed_note_does_not_claim_a_review(self, picked, logistics):
        html = self.print(logistics, picked).content.decode()

        assert PASSED_TEXT not in html
        assert "have not passed outbound review yet" in html
        assert "not reviewed yet" in html

    def test_reviewed_note_names_the_reviewer_and_result(self, picked, logistics, quality):
        review(picked, quality)

        html = self.print(logistics, picked).content.decode()

        assert PASSED_TEXT in html
        assert quality.display_name in html
        assert "Passed" in html

    def test_failed_review_is_not_shown_as_passed(self, picked, logistics, quality):
        lines = {line.pk: {"result": ReviewLineResult.DAMAGED} for line in picked.lines.all()}
        shipping.review_shipment(actor=quality, shipment=picked, lines=lines)

        response = self.preview(logistics, picked)

        html = response.content.decode()
        assert response.context["review"] is None
        assert PASSED_TEXT not in html
        assert "not reviewed yet" in html

    def test_chinese_texts(self, picked, logistics, quality):
        before = self.preview(logistics, picked, "zh-hans").content.decode()
        review(picked, quality)
        self.print(logistics, picked, "zh-hans")
        copy = self.print(logistics, picked, "zh-hans").content.decode()

        assert "随货同行单" in before
        assert "预览" in before
        assert "已经出库复核" not in before
        assert "尚未通过出库复核" in before
        assert "副本" in copy
        assert "已经出库复核" in copy

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "quality", "finance"])
    def test_only_logistics_records_prints(self, request, picked, persona):
        user = request.getfixturevalue(persona)

        preview = self.preview(user, picked)
        response = self.print(user, picked)

        picked.refresh_from_db()
        assert preview.status_code == 200
        assert reverse("inventory:delivery_note_print", args=[picked.pk]) not in preview.content.decode()
        assert response.status_code == 403
        assert picked.delivery_note_prints == 0

    def test_cancelled_shipment_is_void_and_not_printed(self, picked, logistics):
        shipping.cancel_picking(actor=logistics, shipment=picked, reason="取消")

        preview = self.preview(logistics, picked).content.decode()
        response = self.print(logistics, picked)

        picked.refresh_from_db()
        assert "VOID" in preview
        assert response.status_code == 302
        assert picked.delivery_note_prints == 0


@pytest.fixture
def quarantined_lot(product, warehouse, logistics):
    f.receive(product, warehouse, quantity=6, actor=logistics, lot_number="Q1")
    lot = Lot.objects.get(lot_number="Q1")
    lot.status = LotStatus.QUARANTINED
    lot.save()
    return lot


class TestQuarantineScreen:
    def test_quality_officer_sees_and_releases(self, quarantined_lot, quality, django_assert_max_num_queries):
        client = client_for(quality)
        with django_assert_max_num_queries(8):
            page = client.get(QUARANTINE_URL)
        assert [lot.lot_number for lot in page.context["page_obj"]] == ["Q1"]
        assert page.context["page_obj"][0].lot_on_hand == 6

        response = client.post(QUARANTINE_URL, {"lot": quarantined_lot.pk, "release-reason": "复检合格"}, follow=True)

        quarantined_lot.refresh_from_db()
        assert quarantined_lot.status == LotStatus.AVAILABLE
        assert quarantined_lot.history.first().history_change_reason == "复检合格"
        assert "released from quarantine" in response.content.decode()
        assert list(response.context["page_obj"]) == []

    def test_list_shows_the_inspection_note(self, product, warehouse, logistics, quality):
        receive_stock(
            actor=logistics, product=product, warehouse=warehouse, lot_number="Q2",
            production_date=local_today() - datetime.timedelta(days=5), expiry_date=local_today() + datetime.timedelta(days=500),
            quantity=4, inspection_result=InspectionResult.QUARANTINED, inspection_note="温度记录缺失",
        )

        html = client_for(quality).get(QUARANTINE_URL).content.decode()

        assert "温度记录缺失" in html

    def test_release_needs_a_reason(self, quarantined_lot, quality):
        response = client_for(quality).post(QUARANTINE_URL, {"lot": quarantined_lot.pk, "release-reason": ""})

        quarantined_lot.refresh_from_db()
        assert quarantined_lot.status == LotStatus.QUARANTINED
        assert response.status_code == 200

    def test_manager_may_release(self, quarantined_lot, manager):
        client_for(manager).post(QUARANTINE_URL, {"lot": quarantined_lot.pk, "release-reason": "经理放行"})

        quarantined_lot.refresh_from_db()
        assert quarantined_lot.status == LotStatus.AVAILABLE

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "logistics", "finance"])
    def test_other_roles_are_refused(self, request, quarantined_lot, persona):
        client = client_for(request.getfixturevalue(persona))

        assert client.get(QUARANTINE_URL).status_code == 403
        assert client.post(QUARANTINE_URL, {"lot": quarantined_lot.pk, "release-reason": "无权"}).status_code == 403
        quarantined_lot.refresh_from_db()
        assert quarantined_lot.status == LotStatus.QUARANTINED

    @pytest.mark.parametrize("persona, shown", [("quality", True), ("manager", True), ("logistics", False), ("rep", False)])
    def test_navigation_link(self, request, persona, shown):
        names = [item["name"] for item in navigation_items(request.getfixturevalue(persona))]

        assert ("inventory:quarantine_list" in names) == shown

    def test_api_release(self, api, quarantined_lot, quality):
        missing = api(quality).post(f"/api/v1/lots/{quarantined_lot.pk}/release/", {}, format="json")
        response = api(quality).post(f"/api/v1/lots/{quarantined_lot.pk}/release/", {"reason": "复检合格"}, format="json")
        again = api(quality).post(f"/api/v1/lots/{quarantined_lot.pk}/release/", {"reason": "再次"}, format="json")

        assert missing.status_code == 400
        assert response.status_code == 200
        assert response.json()["status"] == "available"
        assert again.status_code == 409

    @pytest.mark.parametrize("persona", ["rep", "logistics", "finance"])
    def test_api_release_refused_for_other_roles(self, request, api, quarantined_lot, persona):
        response = api(request.getfixturevalue(persona)).post(f"/api/v1/lots/{quarantined_lot.pk}/release/", {"reason": "无权"}, format="json")

        quarantined_lot.refresh_from_db()
        assert response.status_code == 403
        assert quarantined_lot.status == LotStatus.QUARANTINED


class TestOrderProgress:
    def test_order_detail_shows_each_shipment_state(self, picked, rep):
        order = picked.order

        html = client_for(rep).get(reverse("sales:order_detail", args=[order.pk])).content.decode()

        assert 'data-testid="shipment-progress"' in html
        assert 'data-shipment-status="picked"' in html
        assert 'data-shipment-status="dispatched"' not in html
        assert 'data-status="picked"' in html

    def test_order_list_shows_counts_per_state(self, picked, rep, logistics, quality):
        review(picked, quality)
        shipping.dispatch_shipment(actor=logistics, shipment=picked)

        page = client_for(rep).get(reverse("sales:order_list"))

        html = page.content.decode()
        row = html[html.index(f'data-order="{picked.order.number}"'):]
        row = row[: row.index("</tr>")]
        assert 'data-shipment-status="dispatched"' in row
        assert "Dispatched 1" in row
        assert 'data-shipment-status="picked"' not in row

    def test_progress_leaves_out_cancelled_picking(self, picked, rep, logistics):
        shipping.cancel_picking(actor=logistics, shipment=picked, reason="取消")

        html = client_for(rep).get(reverse("sales:order_detail", args=[picked.order_id])).content.decode()

        assert 'data-testid="shipment-progress"' not in html
        assert 'data-status="cancelled"' in html
