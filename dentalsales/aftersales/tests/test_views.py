"""After-sales screens per role: lists with pinned query counts, entry forms, actions, 404 for others' records."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from dentalsales.aftersales.models import Complaint, ReturnRequest, ReturnStatus, SatisfactionCallback
from dentalsales.aftersales.services import create_complaint, create_return, schedule_satisfaction_callbacks

from .factories import return_line

pytestmark = pytest.mark.django_db

# Session, user, groups, notification badge and the page's own queries.
LIST_MAX_QUERIES = 12


def make_complaints(rep, customer, count):
    return [
        create_complaint(actor=rep, customer=customer, channel="phone_callback", category="service", description=f"反馈 {index}")
        for index in range(count)
    ]


@pytest.mark.parametrize("size", [2, 7])
def test_complaint_list_query_count(client, rep, customer, django_assert_max_num_queries, size):
    make_complaints(rep, customer, size)
    client.force_login(rep)

    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = client.get(reverse("aftersales:complaint_list"))

    assert response.status_code == 200
    assert len(response.context["page_obj"]) == size


def test_complaint_list_per_role(client, rep, rep2, manager, logistics, customer):
    complaint = make_complaints(rep, customer, 1)[0]
    for user, visible in ((rep, True), (manager, True), (rep2, False), (logistics, False)):
        client.force_login(user)
        html = client.get(reverse("aftersales:complaint_list")).content.decode()
        assert (complaint.number in html) is visible, user.username


def test_complaint_list_exports_excel(client, rep, customer):
    complaint = make_complaints(rep, customer, 1)[0]
    client.force_login(rep)

    response = client.get(reverse("aftersales:complaint_list") + "?export=xlsx")

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.cell(row=2, column=1).value == complaint.number


def test_other_reps_complaint_answers_404(client, rep, rep2, customer):
    complaint = make_complaints(rep, customer, 1)[0]
    client.force_login(rep2)

    assert client.get(reverse("aftersales:complaint_detail", args=[complaint.pk])).status_code == 404
    assert client.post(reverse("aftersales:complaint_action", args=[complaint.pk, "start"])).status_code == 404


def test_enter_complaint_through_form(client, rep, customer):
    client.force_login(rep)
    data = {"customer": customer.pk, "channel": "complaint", "category": "delivery", "severity": "high", "description": "延迟三天到货"}

    response = client.post(reverse("aftersales:complaint_create"), data)

    complaint = Complaint.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("aftersales:complaint_detail", args=[complaint.pk])
    assert complaint.severity == "high"


def test_complaint_form_without_customer_shows_error(client, rep):
    client.force_login(rep)

    response = client.post(reverse("aftersales:complaint_create"), {"channel": "complaint", "category": "quality", "severity": "low", "description": "x"})

    assert response.status_code == 200
    assert "Choose the customer" in response.content.decode()
    assert Complaint.objects.count() == 0


def test_complaint_actions_on_detail_page(client, rep, customer):
    complaint = make_complaints(rep, customer, 1)[0]
    client.force_login(rep)
    url = reverse("aftersales:complaint_detail", args=[complaint.pk])

    client.post(reverse("aftersales:complaint_action", args=[complaint.pk, "add_action"]), {"note-note": "已电话回复"})
    client.post(reverse("aftersales:complaint_action", args=[complaint.pk, "resolve"]), {"resolve-resolution": "客户接受解释"})
    response = client.post(reverse("aftersales:complaint_action", args=[complaint.pk, "close"]), {"close-satisfaction_score": "9"}, follow=True)

    assert "“9”" in response.content.decode()
    complaint.refresh_from_db()
    assert complaint.status == "resolved"
    html = client.get(url).content.decode()
    assert "已电话回复" in html
    assert "客户接受解释" in html


def test_adverse_queue_only_for_quality(client, rep, quality, customer):
    complaint = create_complaint(actor=rep, customer=customer, channel="complaint", category="quality", description="过敏反应", suspected_adverse_event=True)
    client.force_login(rep)
    assert client.get(reverse("aftersales:adverse_event_queue")).status_code == 403
    client.force_login(quality)
    response = client.get(reverse("aftersales:adverse_event_queue"))
    assert complaint.number in response.content.decode()


@pytest.mark.parametrize("size", [1, 5])
def test_return_list_query_count(client, rep, customer, shipment_line, django_assert_max_num_queries, size):
    for _ in range(size):
        create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 1)])
    client.force_login(rep)

    with django_assert_max_num_queries(LIST_MAX_QUERIES):
        response = client.get(reverse("aftersales:return_list"))

    assert len(response.context["page_obj"]) == size


def test_request_return_through_form(client, rep, customer, shipment_line):
    client.force_login(rep)
    url = reverse("aftersales:return_create")

    page = client.get(url + f"?customer={customer.pk}")
    assert shipment_line.lot_number in page.content.decode()
    response = client.post(
        url,
        {"customer": customer.pk, "kind": "return", f"quantity-{shipment_line.pk}": "2", f"reason-{shipment_line.pk}": "damaged_in_transit"},
    )

    request = ReturnRequest.objects.get()
    assert response.status_code == 302
    assert request.lines.get().quantity == 2


def test_return_form_refuses_too_many(client, rep, customer, shipment_line):
    client.force_login(rep)

    response = client.post(
        reverse("aftersales:return_create"),
        {"customer": customer.pk, "kind": "return", f"quantity-{shipment_line.pk}": "11", f"reason-{shipment_line.pk}": "other"},
    )

    assert response.status_code == 200
    assert "Cannot return 11" in response.content.decode()
    assert ReturnRequest.objects.count() == 0


def test_approve_and_receive_on_screen(client, rep, supervisor, logistics, customer, shipment_line):
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 1)])
    line = request.lines.get()
    client.force_login(logistics)
    assert client.get(reverse("aftersales:return_detail", args=[request.pk])).status_code == 404
    client.force_login(rep)
    client.post(reverse("aftersales:return_action", args=[request.pk, "approve"]))
    request.refresh_from_db()
    assert request.status == ReturnStatus.REQUESTED

    client.force_login(supervisor)
    client.post(reverse("aftersales:return_action", args=[request.pk, "approve"]))
    client.force_login(logistics)
    client.post(reverse("aftersales:return_action", args=[request.pk, "receive"]), {f"disposition-{line.pk}": "stock"})

    request.refresh_from_db()
    assert request.status == ReturnStatus.RECEIVED
    assert request.credit_note_number


def test_other_reps_return_answers_404(client, rep, rep2, customer, shipment_line):
    request = create_return(actor=rep, customer=customer, kind="return", lines=[return_line(shipment_line, 1)])
    client.force_login(rep2)
    assert client.get(reverse("aftersales:return_detail", args=[request.pk])).status_code == 404


def test_record_callback_on_screen(client, rep, shipment):
    schedule_satisfaction_callbacks()
    callback = SatisfactionCallback.objects.get()
    client.force_login(rep)

    client.post(reverse("aftersales:callback_record", args=[callback.pk]), {f"cb{callback.pk}-reached": "1", f"cb{callback.pk}-score": "5"})

    callback.refresh_from_db()
    assert callback.score == 5
    response = client.get(reverse("aftersales:satisfaction_report") + "?dimension=customer")
    assert shipment.customer.name in response.content.decode()


def test_callbacks_hidden_from_logistics(client, logistics):
    client.force_login(logistics)
    assert client.get(reverse("aftersales:callback_list")).status_code == 403


def test_pages_render_in_chinese(client, rep, customer, chinese_default):
    make_complaints(rep, customer, 1)
    client.force_login(rep)
    for name in ("complaint_list", "complaint_create", "return_list", "return_create", "callback_list", "satisfaction_report"):
        assert client.get(reverse(f"aftersales:{name}")).status_code == 200, name


def test_dashboard_shows_overdue_complaints(client, rep, supervisor, customer):
    import datetime

    from dentalsales.core.timeutils import local_today

    create_complaint(
        actor=rep, customer=customer, channel="complaint", category="service", severity="critical",
        description="发票开错", received_on=local_today() - datetime.timedelta(days=3),
    )
    client.force_login(supervisor)

    counts = {label: count for label, count, _url in client.get(reverse("home")).context["counts"]}

    assert counts["Overdue complaints"] == 1
