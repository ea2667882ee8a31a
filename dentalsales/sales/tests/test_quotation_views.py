"""Quotation screens: list, export, entry, editing, actions, print view, per role."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.core.timeutils import local_today
from dentalsales.sales import quotations as qs
from dentalsales.sales.models import Quotation, QuotationStatus, SalesOrder
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db
S = QuotationStatus


def make(actor, customer, product, status=None, quantity=3, unit_price="120.50"):
    quotation = qs.create_quotation(
        actor=actor, customer=customer, lines=[{"product": product, "quantity": quantity, "unit_price": unit_price}]
    )
    if status:
        Quotation.objects.filter(pk=quotation.pk).update(status=status)
        quotation.refresh_from_db()
    return quotation


def form_data(customer, product, quantity="3", unit_price="99.5", **header):
    data = {
        "customer": str(customer.pk),
        "contact_name": "Dr. Li",
        "valid_until": "",
        "payment_terms": "",
        "delivery_terms": "Delivered within 3 days",
        "note": "",
        "lines-TOTAL_FORMS": "1",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "1000",
        "lines-0-product": str(product.pk),
        "lines-0-quantity": quantity,
        "lines-0-unit_price": unit_price,
    }
    data.update(header)
    return data


def test_list_filters_by_status_and_search(client, rep, customer, product):
    draft = make(rep, customer, product)
    sent = make(rep, customer, product, status=S.SENT)
    client.force_login(rep)

    by_status = client.get(reverse("sales:quotation_list"), {"status": "sent"})
    by_number = client.get(reverse("sales:quotation_list"), {"q": draft.number})

    assert [row.number for row in by_status.context["page_obj"]] == [sent.number]
    assert [row.number for row in by_number.context["page_obj"]] == [draft.number]


def test_list_shows_only_visible_quotations(client, rep2, rep, customer, product):
    make(rep, customer, product)
    client.force_login(rep2)

    response = client.get(reverse("sales:quotation_list"))

    assert response.status_code == 200
    assert list(response.context["page_obj"]) == []


@pytest.mark.parametrize("count", [2, 60])
def test_list_runs_a_fixed_number_of_queries(client, rep, customer, product, count, django_assert_max_num_queries):
    for _ in range(count):
        make(rep, customer, product)
    client.force_login(rep)

    # Session, user, groups, the row count and the page.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("sales:quotation_list"))

    assert len(response.context["page_obj"]) == min(count, 50)


def test_export_to_excel(client, rep, customer, product):
    quotation = make(rep, customer, product)
    client.force_login(rep)

    response = client.get(reverse("sales:quotation_list"), {"export": "xlsx"})

    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert response.status_code == 200
    assert len(rows) == 2
    assert rows[1][0] == quotation.number


def test_create_via_form(client, rep, customer, product):
    client.force_login(rep)

    response = client.post(reverse("sales:quotation_create"), form_data(customer, product))

    quotation = Quotation.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("sales:quotation_detail", args=[quotation.pk])
    assert quotation.contact_name == "Dr. Li"
    assert quotation.valid_until == local_today() + datetime.timedelta(days=30)
    assert quotation.payment_terms == f"Payment within {customer.payment_terms_days} days of delivery."
    assert str(quotation.total_amount) == "298.50"


def test_create_bad_quantity_shown_beside_line(client, rep, customer, product):
    client.force_login(rep)

    response = client.post(reverse("sales:quotation_create"), form_data(customer, product, quantity="1.5"))

    line_form = response.context["formset"].forms[0]
    assert response.status_code == 200
    assert "1.5" in " ".join(line_form.errors["quantity"])
    assert Quotation.objects.count() == 0


@pytest.mark.parametrize("persona", ["logistics", "finance"])
def test_non_sales_roles_get_403_on_entry(client, request, persona, customer, product):
    client.force_login(request.getfixturevalue(persona))

    response = client.post(reverse("sales:quotation_create"), form_data(customer, product))

    assert response.status_code == 403
    assert Quotation.objects.count() == 0


def test_edit_draft(client, rep, customer, product):
    quotation = make(rep, customer, product)
    client.force_login(rep)
    data = form_data(customer, product, quantity="10", unit_price="100")
    del data["customer"]

    form_page = client.get(reverse("sales:quotation_edit", args=[quotation.pk]))
    response = client.post(reverse("sales:quotation_edit", args=[quotation.pk]), data)

    quotation.refresh_from_db()
    assert form_page.status_code == 200
    assert response.status_code == 302
    assert str(quotation.total_amount) == "1000.00"


def test_edit_sent_redirects_without_change(client, rep, customer, product):
    quotation = make(rep, customer, product, status=S.SENT)
    client.force_login(rep)
    data = form_data(customer, product, quantity="10", unit_price="100")

    response = client.post(reverse("sales:quotation_edit", args=[quotation.pk]), data)

    quotation.refresh_from_db()
    assert response.status_code == 302
    assert str(quotation.total_amount) == "361.50"


def test_other_reps_quotation_is_404(client, rep2, rep, customer, product):
    quotation = make(rep, customer, product)
    client.force_login(rep2)

    detail = client.get(reverse("sales:quotation_detail", args=[quotation.pk]))
    lose = client.post(reverse("sales:quotation_lose", args=[quotation.pk]), {"lose-reason": "x"})

    quotation.refresh_from_db()
    assert detail.status_code == 404
    assert lose.status_code == 404
    assert quotation.status == S.DRAFT


def test_detail_shows_actions_and_capitals(client, rep, customer, product):
    quotation = make(rep, customer, product)
    client.force_login(rep)

    response = client.get(reverse("sales:quotation_detail", args=[quotation.pk]))

    html = response.content.decode()
    assert response.context["actions"] == ["edit", "send", "lose"]
    assert 'data-action="send"' in html
    assert 'data-action="accept"' not in html
    assert "叁佰陆拾壹元伍角" in html


def test_finance_sees_detail_without_actions(client, finance, rep, customer, product):
    quotation = make(rep, customer, product)
    client.force_login(finance)

    response = client.get(reverse("sales:quotation_detail", args=[quotation.pk]))

    assert response.status_code == 200
    assert response.context["actions"] == []
    assert 'data-action="edit"' not in response.content.decode()


def test_send_accept_via_screens(client, rep, customer, product, django_capture_on_commit_callbacks):
    quotation = make(rep, customer, product)
    client.force_login(rep)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("sales:quotation_send", args=[quotation.pk]), {"send-email": "buyer@example.com"})
    response = client.post(reverse("sales:quotation_accept", args=[quotation.pk]))

    quotation.refresh_from_db()
    order = SalesOrder.objects.get()
    assert len(mail.outbox) == 1
    assert quotation.status == S.ACCEPTED
    assert quotation.order == order
    assert response.url == reverse("sales:order_detail", args=[order.pk])


def test_send_bad_address_shows_message(client, rep, customer, product):
    quotation = make(rep, customer, product)
    client.force_login(rep)

    response = client.post(reverse("sales:quotation_send", args=[quotation.pk]), {"send-email": "bad"}, follow=True)

    quotation.refresh_from_db()
    assert quotation.status == S.DRAFT
    assert "“bad” is not an e-mail address." in response.content.decode()


def test_lose_needs_reason(client, rep, customer, product):
    quotation = make(rep, customer, product, status=S.SENT)
    client.force_login(rep)

    client.post(reverse("sales:quotation_lose", args=[quotation.pk]), {"lose-reason": ""})
    quotation.refresh_from_db()
    status_after_blank = quotation.status
    client.post(reverse("sales:quotation_lose", args=[quotation.pk]), {"lose-reason": "Price"})
    quotation.refresh_from_db()

    assert status_after_blank == S.SENT
    assert quotation.status == S.LOST
    assert quotation.lost_reason == "Price"


def test_accept_expired_refused(client, rep, customer, product):
    quotation = make(rep, customer, product, status=S.SENT)
    Quotation.objects.filter(pk=quotation.pk).update(valid_until=local_today() - datetime.timedelta(days=1))
    client.force_login(rep)

    response = client.post(reverse("sales:quotation_accept", args=[quotation.pk]))

    quotation.refresh_from_db()
    assert response.status_code == 302
    assert quotation.status == S.SENT
    assert SalesOrder.objects.count() == 0


def test_print_view_has_company_totals_and_seal(client, settings, rep, customer, product):
    settings.COMPANY_NAME = "测试口腔器械有限公司"
    quotation = make(rep, customer, product, quantity=100, unit_price="123.4567")
    client.force_login(rep)

    response = client.get(reverse("sales:quotation_print", args=[quotation.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "测试口腔器械有限公司" in html
    assert customer.name in html
    assert quotation.number in html
    assert "12,345.67" in html
    assert "壹万贰仟叁佰肆拾伍元陆角柒分" in html
    assert 'data-testid="seal-area"' in html
    assert quotation.valid_until.strftime("%Y-%m-%d") in html


def test_navigation_lists_quotations_for_sales(client, rep):
    client.force_login(rep)

    response = client.get(reverse("sales:quotation_list"))

    assert reverse("sales:quotation_list") in [item["url"] for item in response.context["navigation"]]


def test_entry_form_renders(client, rep, customer):
    client.force_login(rep)

    response = client.get(reverse("sales:quotation_create"), {"customer": customer.pk})

    assert response.status_code == 200
    assert len(response.context["formset"].forms) == 3


def test_supervisor_sends_team_quotation(client, supervisor, rep, customer, product):
    quotation = make(rep, customer, product)
    client.force_login(supervisor)

    client.post(reverse("sales:quotation_send", args=[quotation.pk]), {"send-email": "buyer@example.com"})

    quotation.refresh_from_db()
    assert quotation.status == S.SENT


def test_manager_list_shows_every_team(client, manager, rep, rep2, customer, product):
    mine = make(rep, customer, product)
    other = make(rep2, f.CustomerFactory(owner=rep2), product)
    client.force_login(manager)

    response = client.get(reverse("sales:quotation_list"))

    assert {row.number for row in response.context["page_obj"]} == {mine.number, other.number}


def test_logistics_post_action_is_403(client, logistics, rep, customer, product):
    quotation = make(rep, customer, product, status=S.SENT)
    client.force_login(logistics)

    response = client.post(reverse("sales:quotation_accept", args=[quotation.pk]))

    quotation.refresh_from_db()
    assert response.status_code == 403
    assert quotation.status == S.SENT


def test_detail_flags_prices_below_authority(rep, customer, product):
    low = (product.list_price * Decimal("0.5")).quantize(Decimal("0.01"))
    quotation = qs.create_quotation(
        actor=rep, customer=customer, lines=[{"product": product, "quantity": 1, "unit_price": low}]
    )
    client = Client()
    client.force_login(rep)

    html = client.get(reverse("sales:quotation_detail", args=[quotation.pk])).content.decode()

    assert 'data-testid="quotation-approval-warning"' in html
    assert 'data-testid="price-approval"' in html
