"""The satisfaction report counts complaint scores (resolved or closed complaints) alongside call-back scores."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dentalsales.aftersales.models import SatisfactionCallback
from dentalsales.aftersales.selectors import satisfaction_report
from dentalsales.aftersales.services import change_complaint_status, create_complaint, record_callback, schedule_satisfaction_callbacks
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db


def scored_complaint(actor, customer, product, score, *, close=True):
    complaint = create_complaint(
        actor=actor, customer=customer, channel="phone_callback", category="service", description="送货慢", product=product.pk
    )
    change_complaint_status(actor=actor, complaint=complaint, action="resolve", resolution="已补发")
    if close:
        change_complaint_status(actor=actor, complaint=complaint, action="close", satisfaction_score=score)
    return complaint


@pytest.fixture
def scores(rep, rep2, customer, shipment, stocked_product):
    """One call-back scored 4 and two closed complaints scored 2 and 5 for ``customer``; one reopened complaint of rep2's customer."""
    schedule_satisfaction_callbacks()
    record_callback(actor=rep, callback=SatisfactionCallback.objects.get(), score=4)
    scored_complaint(rep, customer, stocked_product, 2)
    scored_complaint(rep, customer, stocked_product, 5)
    other_customer = f.CustomerFactory(owner=rep2)
    reopened = scored_complaint(rep2, other_customer, stocked_product, 1)
    change_complaint_status(actor=rep2, complaint=reopened, action="reopen", note="客户仍不满意")
    return {"other_customer": other_customer}


@pytest.mark.parametrize("dimension", ["customer", "representative", "product", "month"])
def test_report_combines_sources(manager, customer, stocked_product, rep, scores, dimension):
    rows = satisfaction_report(manager, dimension=dimension)

    assert len(rows) == 1
    row = rows[0]
    expected_key = {"customer": customer.pk, "representative": rep.pk, "product": stocked_product.pk}.get(dimension)
    if expected_key is not None:
        assert row["key"] == expected_key
    else:
        assert row["label"] == f"{timezone.localtime():%Y-%m}"
    assert (row["count"], row["callback_count"], row["complaint_count"]) == (3, 1, 2)
    assert row["average"] == Decimal(11) / 3
    assert row["callback_average"] == Decimal(4)
    assert row["complaint_average"] == Decimal("3.5")


def test_open_complaint_score_not_counted(manager, rep2, scores):
    rows = satisfaction_report(manager, dimension="customer")

    assert scores["other_customer"].pk not in {row["key"] for row in rows}


def test_complaint_without_product_left_out_of_product_view(manager, rep, customer, stocked_product):
    complaint = create_complaint(actor=rep, customer=customer, channel="phone_callback", category="service", description="服务态度")
    change_complaint_status(actor=rep, complaint=complaint, action="resolve", resolution="已致歉")
    change_complaint_status(actor=rep, complaint=complaint, action="close", satisfaction_score=3)

    assert satisfaction_report(manager, dimension="product") == []
    assert [row["complaint_count"] for row in satisfaction_report(manager, dimension="customer")] == [1]


def test_report_visible_per_representative(rep, rep2, customer, scores):
    assert {row["key"] for row in satisfaction_report(rep, dimension="customer")} == {customer.pk}
    assert satisfaction_report(rep2, dimension="customer") == []


def test_report_page_shows_source_counts(client, rep, scores):
    client.force_login(rep)

    page = client.get(reverse("aftersales:satisfaction_report"), {"dimension": "customer"}).content.decode()

    assert 'data-testid="callback-count">1<' in page
    assert 'data-testid="complaint-count">2<' in page
    assert 'data-testid="count">3<' in page


@pytest.mark.parametrize("persona", ["logistics", "quality", "finance"])
def test_report_page_outside_sales_forbidden(request, client, persona, scores):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(reverse("aftersales:satisfaction_report")).status_code == 403


def test_report_api_shows_source_counts(api, rep, rep2, customer, scores):
    rows = api(rep).get("/api/v1/satisfaction-callbacks/report/?dimension=customer").data

    assert rows == [
        {
            "key": customer.pk, "label": customer.name, "count": 3, "average": "3.67",
            "callback_count": 1, "callback_average": "4.00", "complaint_count": 2, "complaint_average": "3.50",
        }
    ]
    assert api(rep2).get("/api/v1/satisfaction-callbacks/report/?dimension=customer").data == []
