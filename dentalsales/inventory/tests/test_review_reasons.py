"""Reasons of failed outbound review lines: what the service stores, what the shipment page and the API show."""

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from dentalsales.inventory import shipping
from dentalsales.inventory.models import Lot, LotStatus, OutboundReview, ReviewFinding, ReviewLineResult, ReviewResult
from dentalsales.inventory.udi import gtin_check_digit
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

DI = "0690123456789" + gtin_check_digit("0690123456789")
OTHER_DI = "0690123456790" + gtin_check_digit("0690123456790")


def client_for(user, language="en"):
    client = Client(headers={"accept-language": language})
    client.force_login(user)
    return client


@pytest.fixture
def gs1_product(db):
    return f.ProductFactory(udi_di=DI)


@pytest.fixture
def picked(customer, gs1_product, warehouse, supervisor, logistics):
    """8 units of lot P1 of a product with a UDI-DI, picked by logistics."""
    f.receive(gs1_product, warehouse, quantity=20, actor=logistics, lot_number="P1")
    order = f.make_order(actor=customer.owner, customer=customer, lines=[(gs1_product, 8)])
    sales.submit_order(actor=customer.owner, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test order")
    sales.release_order(actor=logistics, order=order)
    return sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", waybill_number="SF1")


def review_one(shipment, reviewer, **entry):
    line = shipment.lines.get()
    return shipping.review_shipment(actor=reviewer, shipment=shipment, lines={line.pk: {"result": ReviewLineResult.OK, **entry}})


def expiry_of(shipment):
    return shipment.lines.get().expiry_date.strftime("%y%m%d")


class TestScanMismatchNamesWhatDiffers:
    def test_other_product_with_the_lines_lot_blames_the_product_not_the_lot(self, picked, quality):
        review = review_one(picked, quality, scanned_code=f"(01){OTHER_DI}(10)P1")

        line = review.lines.get()
        assert (review.result, line.result, line.finding) == (ReviewResult.FAILED, ReviewLineResult.UNMATCHED, ReviewFinding.WRONG_PRODUCT)
        assert OTHER_DI in line.note and DI in line.note
        assert "lot" not in line.note.lower()

    def test_other_lot_names_both_lots(self, picked, quality):
        line = review_one(picked, quality, scanned_code=f"(01){DI}(10)P2").lines.get()

        assert line.finding == ReviewFinding.WRONG_LOT
        assert "P2" in line.note and "P1" in line.note
        assert "UDI-DI" not in line.note

    def test_other_expiry_date_is_named(self, picked, quality):
        line = review_one(picked, quality, scanned_code=f"(01){DI}(17)991231(10)P1").lines.get()

        assert line.finding == ReviewFinding.WRONG_EXPIRY
        assert "1999-12-31" in line.note or "2099-12-31" in line.note

    def test_matching_product_lot_and_expiry_pass(self, picked, quality):
        review = review_one(picked, quality, scanned_code=f"(01){DI}(17){expiry_of(picked)}(10)P1")

        assert review.result == ReviewResult.PASSED
        assert review.lines.get().finding == ""

    def test_plain_lot_label_passes(self, picked, quality):
        assert review_one(picked, quality, scanned_code="P1").result == ReviewResult.PASSED

    def test_scan_marked_unmatched_by_the_page_still_gets_a_reason(self, picked, quality):
        # The scan page sets the result itself; the stored note used to be empty then.
        line = review_one(picked, quality, result=ReviewLineResult.UNMATCHED, scanned_code=f"(01){DI}(10)P9").lines.get()

        assert line.finding == ReviewFinding.WRONG_LOT
        assert "P9" in line.note


class TestEveryFailedLineKeepsAReason:
    @pytest.mark.parametrize(
        ("entry", "finding", "expected"),
        [
            ({"quantity": 7}, ReviewFinding.SHORT, "Counted 7 of 8 picked."),
            ({"result": ReviewLineResult.DAMAGED}, ReviewFinding.REPORTED, "Marked “Damaged” by the reviewer."),
            ({"result": ReviewLineResult.MISLABELLED, "note": "标签模糊"}, ReviewFinding.REPORTED, "Mislabelled: 标签模糊"),
        ],
    )
    def test_reason_is_stored(self, picked, quality, entry, finding, expected):
        line = review_one(picked, quality, **entry).lines.get()

        assert line.finding == finding
        assert shipping.review_line_reason(line) == expected
        assert line.note

    def test_typed_note_is_kept_beside_the_generated_reason(self, picked, quality):
        line = review_one(picked, quality, quantity=6, note="两支在地上").lines.get()

        assert (line.note, line.note_generated) == ("两支在地上", False)
        assert shipping.review_line_reason(line) == "Counted 6 of 8 picked. 两支在地上"

    def test_recalled_lot_reason(self, picked, quality):
        Lot.objects.filter(lot_number="P1").update(status=LotStatus.RECALLED)

        line = review_one(picked, quality).lines.get()

        assert (line.result, line.finding) == (ReviewLineResult.EXPIRED, ReviewFinding.LOT_RECALLED)
        assert shipping.review_line_reason(line) == "Lot P1 is recalled."

    def test_generated_reason_reads_in_the_readers_language(self, picked, quality):
        with translation.override("en"):
            line = review_one(picked, quality, quantity=5).lines.get()

        assert line.note == "Counted 5 of 8 picked."
        with translation.override("zh-hans"):
            chinese = shipping.review_line_reason(line)
        assert chinese != line.note and "5" in chinese and "8" in chinese

    def test_matching_line_has_no_reason(self, picked, quality):
        line = review_one(picked, quality).lines.get()

        assert (line.finding, line.note, shipping.review_line_reason(line)) == ("", "", "")


class TestReviewFormAfterAFailure:
    def post_review(self, user, shipment, *, scanned="", quantity=8, result="ok", note="", confirmed=True):
        line = shipment.lines.get()
        data = {
            "review-TOTAL_FORMS": "1", "review-INITIAL_FORMS": "1",
            "review-0-shipment_line": str(line.pk), "review-0-scanned_code": scanned, "review-0-quantity": str(quantity),
            "review-0-result": result, "review-0-note": note,
        }
        if confirmed:
            data["review-0-confirmed"] = "on"
        return client_for(user).post(reverse("inventory:shipment_review", args=[shipment.pk]), data)

    def test_failed_review_shows_the_submitted_values_and_marks_the_line(self, picked, quality):
        response = self.post_review(quality, picked, quantity=6, result="damaged", note="外箱压痕")

        html = response.content.decode()
        assert response.status_code == 200
        assert "fix the marked lines" in html
        assert "data-failed" in html and "data-line-reason" in html
        assert "Damaged: 外箱压痕" in html
        assert 'value="6"' in html and 'value="外箱压痕"' in html
        assert '<option value="damaged" selected>' in html
        assert OutboundReview.objects.get().result == ReviewResult.FAILED

    def test_wrong_product_scan_is_marked_with_the_product_reason(self, picked, quality):
        html = self.post_review(quality, picked, scanned=f"(01){OTHER_DI}(10)P1").content.decode()

        assert "data-failed" in html
        assert f"Scanned product identifier (UDI-DI) {OTHER_DI}" in html
        assert f'value="(01){OTHER_DI}(10)P1"' in html

    def test_passed_review_redirects_without_marks(self, picked, quality):
        response = self.post_review(quality, picked)

        assert response.status_code == 302
        assert "data-failed" not in client_for(quality).get(reverse("inventory:shipment_detail", args=[picked.pk])).content.decode()

    def test_shipment_page_lists_line_reasons_in_the_review_history(self, picked, quality, manager):
        review_one(picked, quality, quantity=7)

        for user in (quality, manager):
            html = client_for(user).get(reverse("inventory:shipment_detail", args=[picked.pk])).content.decode()
            assert 'data-testid="review-line-reasons"' in html
            assert "Counted 7 of 8 picked." in html

    def test_rep_sees_the_reasons_but_no_review_form(self, picked, quality, rep):
        review_one(picked, quality, quantity=7)

        html = client_for(rep).get(reverse("inventory:shipment_detail", args=[picked.pk])).content.decode()

        assert "Counted 7 of 8 picked." in html
        assert 'data-testid="review-form"' not in html

    def test_another_reviewer_opening_the_page_sees_the_marked_line(self, picked, quality, manager):
        review_one(picked, quality, quantity=7)

        html = client_for(manager).get(reverse("inventory:shipment_detail", args=[picked.pk])).content.decode()

        assert "data-failed" in html
        assert "Last review: Counted 7 of 8 picked." in html

    def test_review_record_print_shows_the_reason(self, picked, quality):
        review = review_one(picked, quality, scanned_code=f"(01){OTHER_DI}(10)P1")

        html = client_for(quality).get(reverse("inventory:review_record", args=[picked.pk, review.pk])).content.decode()

        assert OTHER_DI in html and "data-line-reason" in html

    def test_page_pins_its_queries(self, picked, quality, django_assert_max_num_queries):
        for quantity in (5, 6, 7):
            review_one(picked, quality, quantity=quantity)
        client = client_for(quality)

        with django_assert_max_num_queries(25):
            client.get(reverse("inventory:shipment_detail", args=[picked.pk]))


class TestApi:
    def test_review_response_carries_finding_and_reason(self, picked, quality, api):
        line = picked.lines.get()

        response = api(quality).post(
            f"/api/v1/shipments/{picked.pk}/review/",
            {"lines": [{"shipment_line": line.pk, "scanned_code": f"(01){OTHER_DI}(10)P1"}]},
            format="json",
        )

        assert response.status_code == 201, response.content
        (body_line,) = response.json()["lines"]
        assert body_line["finding"] == "wrong_product"
        assert OTHER_DI in body_line["reason"]

    @pytest.mark.parametrize("role", ["quality", "manager", "rep"])
    def test_shipment_read_shows_reasons_to_who_may_see_it(self, request, picked, quality, api, role):
        review_one(picked, quality, quantity=7)

        response = api(request.getfixturevalue(role)).get(f"/api/v1/shipments/{picked.pk}/")

        assert response.status_code == 200
        (review,) = response.json()["reviews"]
        assert review["lines"][0]["reason"] == "Counted 7 of 8 picked."

    def test_receipt_options_labels_are_translated(self, logistics, api):
        client = api(logistics)
        client.credentials(HTTP_ACCEPT_LANGUAGE="zh-hans")

        fields = client.options("/api/v1/stock/receipts/").json()["actions"]["POST"]

        labels = {name: fields[name]["label"] for name in ("product", "warehouse", "lot_number", "quantity", "supplier")}
        assert labels["product"] != "Product" and labels["warehouse"] != "Warehouse"
        assert labels["lot_number"] != "Lot number" and labels["quantity"] != "Quantity"
