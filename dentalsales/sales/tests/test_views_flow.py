"""The order flow through the web screens, role by role."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from dentalsales.inventory.models import Allocation, Shipment
from dentalsales.sales import services
from dentalsales.sales.models import OrderStatus, OrderStatusChange
from dentalsales.testing import factories as f

from .test_views_entry import order_post_data

pytestmark = pytest.mark.django_db


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


def action_url(name, order):
    return reverse(f"sales:order_{name}", args=[order.pk])


@pytest.fixture
def draft(rep, customer, stocked_product):
    return f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 10)])


@pytest.fixture
def submitted(rep, draft):
    return services.submit_order(actor=rep, order=draft)


@pytest.fixture
def approved(supervisor, submitted):
    return services.approve_order(actor=supervisor, order=submitted)


@pytest.fixture
def released(logistics, approved):
    return services.release_order(actor=logistics, order=approved)


def test_rep_submits_a_draft(client, rep, draft):
    client.force_login(rep)

    response = client.post(action_url("submit", draft))

    draft.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == action_url("detail", draft)
    assert draft.status == OrderStatus.SUBMITTED
    assert messages_of(response) == [f"Order {draft.number} was submitted for review."]


def test_detail_shows_the_representatives_buttons(client, rep, draft):
    client.force_login(rep)

    html = client.get(action_url("detail", draft)).content.decode()

    assert 'data-action="submit"' in html
    assert 'data-action="edit"' in html
    assert 'data-action="cancel"' in html
    assert 'data-action="review"' not in html
    assert 'data-action="release"' not in html


def test_actions_answer_only_post(client, rep, draft):
    client.force_login(rep)

    response = client.get(action_url("submit", draft))

    draft.refresh_from_db()
    assert response.status_code == 405
    assert draft.status == OrderStatus.DRAFT


def test_rep_cannot_approve(client, rep, submitted):
    client.force_login(rep)

    response = client.post(action_url("approve", submitted), {"approve-reason": "looks fine"})

    submitted.refresh_from_db()
    assert response.status_code == 302
    assert submitted.status == OrderStatus.SUBMITTED
    assert OrderStatusChange.objects.filter(order=submitted, to_status=OrderStatus.APPROVED).count() == 0
    assert messages_of(response) == ["Your role may not approve orders."]


def test_rep_cannot_open_the_review_page(client, rep, submitted):
    client.force_login(rep)

    response = client.get(action_url("review", submitted))

    assert response.status_code == 403


def test_review_page_shows_the_checklist(client, supervisor, submitted):
    client.force_login(supervisor)

    response = client.get(action_url("review", submitted))

    html = response.content.decode()
    checks = {check.code: check for _, check in response.context["checks"]}
    assert response.status_code == 200
    assert list(checks) == ["qualifications", "registrations", "credit", "price", "stock", "duplicate"]
    assert all(check.passed for check in checks.values())
    assert 'data-check="credit" data-passed="true" data-blocking="true"' in html
    assert 'data-check="price" data-passed="true" data-blocking="false"' in html
    assert 'data-testid="approve-form"' in html
    assert 'data-testid="reject-form"' in html


def test_supervisor_approves(client, supervisor, submitted):
    client.force_login(supervisor)

    response = client.post(action_url("approve", submitted), {"approve-reason": ""})

    submitted.refresh_from_db()
    assert response.status_code == 302
    assert submitted.status == OrderStatus.APPROVED
    assert OrderStatusChange.objects.get(order=submitted, to_status=OrderStatus.APPROVED).actor == supervisor


def test_failed_soft_check_needs_a_reason(client, rep, supervisor, customer, stocked_product):
    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 10, "110.00")])
    services.submit_order(actor=rep, order=order)
    client.force_login(supervisor)

    page = client.get(action_url("review", order))
    refused = client.post(action_url("approve", order), {"approve-reason": "  "})
    order.refresh_from_db()
    status_after_refusal = order.status
    accepted = client.post(action_url("approve", order), {"approve-reason": "Tender price agreed with the clinic."})
    order.refresh_from_db()

    html = page.content.decode()
    assert 'data-check="price" data-passed="false" data-blocking="false"' in html
    assert 'data-testid="approval-blocked"' not in html
    assert refused.status_code == 302
    assert refused["Location"] == action_url("review", order)
    assert messages_of(refused) == ["Some checks failed; give the reason for approving anyway."]
    assert status_after_refusal == OrderStatus.SUBMITTED
    assert accepted.status_code == 302
    assert order.status == OrderStatus.APPROVED
    assert order.review_note == "Tender price agreed with the clinic."


@pytest.fixture
def blocked(rep, stocked_product):
    """A submitted order whose credit check, a blocking one, fails."""
    poor_customer = f.CustomerFactory(owner=rep, credit_limit=Decimal("100.00"))
    order = f.make_order(actor=rep, customer=poor_customer, lines=[(stocked_product, 10)])
    return services.submit_order(actor=rep, order=order)


def approve_button(html):
    """Return the approve form's submit button tag."""
    form = html[html.index('data-testid="approve-form"') :]
    form = form[: form.index("</form>")]
    start = form.index('<button class="btn btn-success"')
    return form[start : form.index(">", start) + 1]


def test_review_page_of_a_blocked_order_disables_approval(client, supervisor, blocked):
    client.force_login(supervisor)

    response = client.get(action_url("review", blocked))

    html = response.content.decode()
    note = html[html.index('data-testid="approval-blocked"') :]
    reject_form = html[html.index('data-testid="reject-form"') :]
    reject_form = reject_form[: reject_form.index("</form>")]
    assert response.status_code == 200
    assert 'data-check="credit" data-passed="false" data-blocking="true"' in html
    assert " disabled" in approve_button(html)
    assert "Approval is blocked until these checks pass:" in note
    assert "exceeds the credit limit 100.00" in note
    assert "disabled" not in reject_form


def test_review_page_of_a_clean_order_enables_approval(client, supervisor, submitted):
    client.force_login(supervisor)

    html = client.get(action_url("review", submitted)).content.decode()

    assert "disabled" not in approve_button(html)
    assert 'data-testid="approval-blocked"' not in html


def test_failed_hard_check_blocks_approval(client, supervisor, blocked):
    client.force_login(supervisor)

    response = client.post(action_url("approve", blocked), {"approve-reason": "Customer pays soon."})

    blocked.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == action_url("review", blocked)
    assert blocked.status == OrderStatus.SUBMITTED
    assert OrderStatusChange.objects.filter(order=blocked, to_status=OrderStatus.APPROVED).count() == 0
    assert len(messages_of(response)) == 1
    assert messages_of(response)[0].startswith("Approval is blocked:")


def test_refused_approval_is_shown_once_after_the_redirect(client, supervisor, blocked):
    client.force_login(supervisor)

    response = client.post(action_url("approve", blocked), {"approve-reason": ""}, follow=True)
    reloaded = client.get(action_url("review", blocked))

    assert response.redirect_chain == [(action_url("review", blocked), 302)]
    assert "Approval is blocked:" in response.content.decode()
    assert "Approval is blocked:" not in reloaded.content.decode()


def test_supervisor_rejects_with_a_reason(client, rep, supervisor, submitted):
    client.force_login(supervisor)

    response = client.post(action_url("reject", submitted), {"reject-reason": "Wrong shade ordered; confirm A2."})

    submitted.refresh_from_db()
    assert response.status_code == 302
    assert submitted.status == OrderStatus.REJECTED
    assert submitted.rejection_reason == "Wrong shade ordered; confirm A2."
    client.force_login(rep)
    html = client.get(action_url("detail", submitted)).content.decode()
    assert "Wrong shade ordered; confirm A2." in html
    assert 'data-action="edit"' in html


def test_reject_without_reason_is_refused(client, supervisor, submitted):
    client.force_login(supervisor)

    response = client.post(action_url("reject", submitted), {"reject-reason": ""})

    submitted.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == action_url("review", submitted)
    assert submitted.status == OrderStatus.SUBMITTED
    assert messages_of(response) == ["Give the reason for rejecting the order."]


def test_reviewer_cannot_approve_own_order(client, supervisor, stocked_product):
    own_customer = f.CustomerFactory(owner=supervisor)
    order = f.make_order(actor=supervisor, customer=own_customer, lines=[(stocked_product, 1)])
    services.submit_order(actor=supervisor, order=order)
    client.force_login(supervisor)

    response = client.post(action_url("approve", order), {"approve-reason": ""})

    order.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == action_url("review", order)
    assert order.status == OrderStatus.SUBMITTED
    assert messages_of(response) == ["You entered this order yourself; another reviewer must approve it."]


def test_logistics_releases_and_sees_the_allocated_lots(client, logistics, approved):
    client.force_login(logistics)

    response = client.post(action_url("release", approved))
    detail = client.get(action_url("detail", approved))

    approved.refresh_from_db()
    allocation = Allocation.objects.get(order_line__order=approved)
    html = detail.content.decode()
    assert response.status_code == 302
    assert approved.status == OrderStatus.RELEASED
    assert allocation.quantity == 10
    assert 'data-testid="allocations"' in html
    assert allocation.lot.lot_number in html
    assert 'data-action="ship"' in html


def test_release_without_stock_reports_the_shortage(client, rep, supervisor, logistics, customer, product):
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 5)])
    services.submit_order(actor=rep, order=order)
    services.approve_order(actor=supervisor, order=order, reason="Stock arrives tomorrow.")
    client.force_login(logistics)

    response = client.post(action_url("release", order))

    order.refresh_from_db()
    assert order.status == OrderStatus.APPROVED
    assert Allocation.objects.filter(order_line__order=order).count() == 0
    assert messages_of(response)[0].startswith("Not enough stock with the required shelf life")


def test_rep_cannot_release(client, rep, approved):
    client.force_login(rep)

    response = client.post(action_url("release", approved))

    approved.refresh_from_db()
    assert approved.status == OrderStatus.APPROVED
    assert messages_of(response) == ["Your role may not release orders."]


def test_logistics_ships_with_carrier_and_waybill(client, logistics, released):
    client.force_login(logistics)

    response = client.post(action_url("ship", released), {"carrier": "顺丰速运", "waybill_number": "SF1234567890"})

    released.refresh_from_db()
    shipment = Shipment.objects.get(order=released)
    assert response.status_code == 302
    assert released.status == OrderStatus.SHIPPED
    assert shipment.carrier == "顺丰速运"
    assert shipment.waybill_number == "SF1234567890"
    assert messages_of(response) == [f"Shipment {shipment.number} was created for order {released.number}."]


def test_cancel_needs_a_reason(client, rep, draft):
    client.force_login(rep)

    refused = client.post(action_url("cancel", draft), {"cancel-reason": ""})
    draft.refresh_from_db()
    status_after_refusal = draft.status
    accepted = client.post(action_url("cancel", draft), {"cancel-reason": "Customer ordered by mistake."})
    draft.refresh_from_db()

    assert messages_of(refused) == ["Give the reason for cancelling the order."]
    assert status_after_refusal == OrderStatus.DRAFT
    assert accepted.status_code == 302
    assert draft.status == OrderStatus.CANCELLED
    assert draft.cancellation_reason == "Customer ordered by mistake."


def test_rep2_gets_404_on_reps_order(client, rep2, draft):
    client.force_login(rep2)

    detail = client.get(action_url("detail", draft))
    submit = client.post(action_url("submit", draft))
    cancel = client.post(action_url("cancel", draft), {"cancel-reason": "not mine"})

    draft.refresh_from_db()
    assert detail.status_code == 404
    assert submit.status_code == 404
    assert cancel.status_code == 404
    assert draft.status == OrderStatus.DRAFT


def test_detail_shows_prices_but_never_standard_cost(client, rep, customer):
    product = f.ProductFactory(list_price=Decimal("130.00"), standard_cost=Decimal("87.65"))
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 3, "128.1234")])
    client.force_login(rep)

    html = client.get(action_url("detail", order)).content.decode()

    assert "128.1234" in html
    assert "384.37" in html
    assert "87.65" not in html
    assert "44.22" in html
    assert "13%" in html


def test_whole_flow_ends_with_a_linked_delivery_note(client, rep, supervisor, logistics, manager, customer, stocked_product):
    client.force_login(rep)
    token = client.get(reverse("sales:order_create")).context["form"]["token"].value()
    created = client.post(reverse("sales:order_create"), order_post_data(customer, [(stocked_product, 12, "")], token=token))
    detail_url = created["Location"]
    order_pk = int(detail_url.rstrip("/").rsplit("/", 1)[1])
    client.post(reverse("sales:order_submit", args=[order_pk]))

    client.force_login(supervisor)
    client.post(reverse("sales:order_approve", args=[order_pk]), {"approve-reason": ""})

    client.force_login(logistics)
    client.post(reverse("sales:order_release", args=[order_pk]))
    client.post(reverse("sales:order_ship", args=[order_pk]), {"carrier": "京东物流", "waybill_number": "JD0001"})
    detail = client.get(detail_url)
    f.deliver_shipments(Shipment.objects.get(order_id=order_pk).order, reviewer=manager, logistics=logistics)
    client.post(reverse("sales:order_complete", args=[order_pk]))

    shipment = Shipment.objects.get(order_id=order_pk)
    changes = list(OrderStatusChange.objects.filter(order_id=order_pk).values_list("to_status", flat=True))
    html = detail.content.decode()
    assert shipment.lines.get().quantity == 12
    assert reverse("inventory:delivery_note", args=[shipment.pk]) in html
    assert shipment.number in html
    assert changes == ["draft", "submitted", "approved", "released", "shipped", "completed"]


# -- the ship form --------------------------------------------------------------


@pytest.fixture
def split_order(rep, supervisor, logistics, customer):
    """A released order of 15 units reserved in two warehouses: 10 in 上海中心仓 (expiring first) and 5 in 北京仓.

    A third warehouse holds stock of the product but no reservation.
    """
    product = f.ProductFactory()
    shanghai = f.WarehouseFactory(code="WH1", name="上海中心仓")
    beijing = f.WarehouseFactory(code="WH2", name="北京仓")
    guangzhou = f.WarehouseFactory(code="WH3", name="广州仓")
    f.receive(product, shanghai, quantity=10, actor=logistics, expiry_days=300)
    f.receive(product, beijing, quantity=10, actor=logistics, expiry_days=400)
    f.receive(product, guangzhou, quantity=10, actor=logistics, expiry_days=500)
    order = f.make_order(actor=rep, customer=customer, lines=[(product, 15)])
    services.submit_order(actor=rep, order=order)
    services.approve_order(actor=supervisor, order=order)
    services.release_order(actor=logistics, order=order)
    return order, shanghai, beijing, guangzhou


def test_ship_form_asks_for_carrier_and_offers_only_reserving_warehouses(client, logistics, split_order):
    order, shanghai, beijing, guangzhou = split_order
    client.force_login(logistics)

    response = client.get(action_url("detail", order))

    form = response.context["ship_form"]
    html = response.content.decode()
    assert [value for value, _ in form.fields["warehouse"].widget.choices] == ["", shanghai.pk, beijing.pk]
    assert form["warehouse"].value() is None
    assert 'name="carrier"' in html
    assert form.fields["carrier"].widget.attrs["required"] is True
    assert guangzhou.name not in html


def test_ship_form_preselects_the_only_reserving_warehouse(client, logistics, released, warehouse):
    client.force_login(logistics)

    form = client.get(action_url("detail", released)).context["ship_form"]

    assert [value for value, _ in form.fields["warehouse"].widget.choices] == [warehouse.pk]
    assert form["warehouse"].value() == warehouse.pk


def test_ship_form_is_not_offered_to_representatives(client, rep, released):
    client.force_login(rep)

    response = client.get(action_url("detail", released))

    assert response.context["ship_form"] is None
    assert 'data-testid="ship-form"' not in response.content.decode()


def test_shipping_from_two_warehouses_needs_a_choice(client, logistics, split_order):
    order, *_ = split_order
    client.force_login(logistics)

    response = client.post(action_url("ship", order), {"carrier": "顺丰速运", "waybill_number": "SF1", "warehouse": ""})

    order.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == action_url("detail", order)
    assert order.status == OrderStatus.RELEASED
    assert Shipment.objects.filter(order=order).count() == 0
    assert len(messages_of(response)) == 1
    assert "choose the warehouse this shipment leaves from" in messages_of(response)[0]


def test_each_warehouse_ships_with_its_own_waybill(client, logistics, split_order):
    order, shanghai, beijing, _ = split_order
    client.force_login(logistics)

    first = client.post(action_url("ship", order), {"carrier": "顺丰速运", "waybill_number": "SF1", "warehouse": str(beijing.pk)})
    order.refresh_from_db()
    status_after_first = order.status
    remaining = client.get(action_url("detail", order)).context["ship_form"]
    second = client.post(action_url("ship", order), {"carrier": "京东物流", "waybill_number": "JD2", "warehouse": str(shanghai.pk)})
    order.refresh_from_db()

    shipments = list(Shipment.objects.filter(order=order).order_by("pk"))
    assert first.status_code == 302
    assert second.status_code == 302
    assert status_after_first == OrderStatus.PARTIALLY_SHIPPED
    assert [value for value, _ in remaining.fields["warehouse"].widget.choices] == [shanghai.pk]
    assert order.status == OrderStatus.SHIPPED
    assert [(s.carrier, s.waybill_number) for s in shipments] == [("顺丰速运", "SF1"), ("京东物流", "JD2")]
    assert {line.warehouse_id for line in shipments[0].lines.all()} == {beijing.pk}
    assert sum(line.quantity for line in shipments[0].lines.all()) == 5
    assert {line.warehouse_id for line in shipments[1].lines.all()} == {shanghai.pk}
    assert sum(line.quantity for line in shipments[1].lines.all()) == 10


def test_shipping_without_a_carrier_is_refused(client, logistics, released, warehouse):
    client.force_login(logistics)

    response = client.post(action_url("ship", released), {"carrier": "  ", "waybill_number": "", "warehouse": str(warehouse.pk)})

    released.refresh_from_db()
    assert response.status_code == 302
    assert released.status == OrderStatus.RELEASED
    assert Shipment.objects.filter(order=released).count() == 0
    assert messages_of(response) == ["Enter the carrier (or “own delivery” / “customer pick-up”)."]


def test_shipment_number_links_to_the_shipment(client, logistics, released, warehouse):
    client.force_login(logistics)
    client.post(action_url("ship", released), {"carrier": "顺丰速运", "waybill_number": "SF9", "warehouse": str(warehouse.pk)})
    shipment = Shipment.objects.get(order=released)

    html = client.get(action_url("detail", released)).content.decode()

    assert f'<a href="{reverse("inventory:shipment_detail", args=[shipment.pk])}" data-testid="shipment-link">{shipment.number}</a>' in html


def test_supervisor_sees_manager_approval_needed(client, rep, supervisor, manager, customer, stocked_product):
    order = f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 10, "100.00")])
    services.submit_order(actor=rep, order=order)

    client.force_login(supervisor)
    supervisor_page = client.get(action_url("review", order)).content.decode()
    client.force_login(manager)
    manager_page = client.get(action_url("review", order)).content.decode()

    assert 'data-testid="manager-approval-needed"' in supervisor_page
    assert 'data-testid="manager-approval-needed"' not in manager_page
