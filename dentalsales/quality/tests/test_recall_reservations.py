"""Opening a recall gives back the stock reserved on its lots; the order lines keep the quantity as backorder.

Also the web edit of a draft recall, checked like the API.
"""

import pytest
from django.test import Client
from django.urls import reverse

from dentalsales.core.errors import InvalidInput
from dentalsales.inventory.models import Allocation, StockBalance
from dentalsales.notifications.models import Notification
from dentalsales.quality import services
from dentalsales.quality.models import Recall, RecallReleasedReservation, RecallStatus
from dentalsales.sales import services as sales
from dentalsales.testing import factories as f

from .factories import draft_recall

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client(headers={"accept-language": "en"})
    client.force_login(user)
    return client


def released_order(rep, supervisor, logistics, product, quantity):
    customer = f.CustomerFactory(owner=rep, min_shelf_life_days=30)
    order = f.make_order(actor=rep, customer=customer, lines=[(product, quantity)])
    sales.submit_order(actor=rep, order=order)
    sales.approve_order(actor=supervisor, order=order, reason="test")
    sales.release_order(actor=logistics, order=order)
    return order


@pytest.fixture
def reserved(rep, supervisor, logistics, product, shipped):
    """An order reserving 3 units of the earliest-expiring lot, B002."""
    order = released_order(rep, supervisor, logistics, product, 3)
    allocation = order.lines.get().allocations.get()
    assert allocation.lot == shipped["lots"][1]
    return {"order": order, "allocation": allocation}


def test_open_releases_reservations(quality, product, shipped, reserved, django_capture_on_commit_callbacks):
    allocation = reserved["allocation"]
    balance = StockBalance.objects.get(warehouse=allocation.warehouse, lot=allocation.lot)
    reserved_before = balance.reserved

    with django_capture_on_commit_callbacks(execute=True):
        recall = services.open_recall(actor=quality, recall=draft_recall(quality, product, [allocation.lot]))

    allocation.refresh_from_db()
    balance.refresh_from_db()
    line = reserved["order"].lines.get()
    assert allocation.open_quantity == 0
    assert allocation.released_quantity == 3
    assert balance.reserved == reserved_before - 3
    assert line.shipped_quantity == 0
    assert line.unshipped_quantity == 3
    reserved["order"].refresh_from_db()
    assert sales.order_backordered_quantity(reserved["order"]) == 3
    row = RecallReleasedReservation.objects.get(recall=recall)
    assert (row.order, row.order_line, row.lot, row.warehouse, row.quantity) == (reserved["order"], line, allocation.lot, allocation.warehouse, 3)


def test_open_notifies_order_owner_and_logistics(quality, rep, logistics, manager, product, shipped, reserved, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.open_recall(actor=quality, recall=draft_recall(quality, product, [reserved["allocation"].lot]))

    released = Notification.objects.filter(title__contains=reserved["order"].number)
    assert {notification.recipient.username for notification in released} == {rep.username, logistics.username}
    assert "B002 × 3" in released.first().body


def test_open_keeps_reservations_on_other_lots(quality, product, shipped, reserved):
    lot_a, lot_b, lot_c = shipped["lots"]

    recall = services.open_recall(actor=quality, recall=draft_recall(quality, product, [lot_a, lot_c]))

    assert reserved["allocation"].lot == lot_b
    reserved["allocation"].refresh_from_db()
    assert reserved["allocation"].open_quantity == 3
    assert not RecallReleasedReservation.objects.filter(recall=recall).exists()


def test_released_order_cannot_ship_recalled_lot(quality, logistics, product, shipped, reserved):
    services.open_recall(actor=quality, recall=draft_recall(quality, product, [reserved["allocation"].lot]))

    with pytest.raises(InvalidInput) as raised:
        sales.ship_order(actor=logistics, order=reserved["order"], carrier="顺丰速运")

    assert "Nothing to ship" in str(raised.value)
    assert Allocation.objects.get(pk=reserved["allocation"].pk).shipped_quantity == 0


@pytest.mark.parametrize("persona", ["quality", "manager", "logistics"])
def test_detail_page_reports_released(request, persona, quality, product, shipped, reserved):
    recall = services.open_recall(actor=quality, recall=draft_recall(quality, product, [reserved["allocation"].lot]))

    page = client_for(request.getfixturevalue(persona)).get(reverse("quality:recall_detail", args=[recall.pk])).content.decode()

    assert 'data-testid="released-reservations"' in page
    assert f'data-order="{reserved["order"].number}"' in page
    assert 'data-testid="open-reservations"' not in page


def test_open_through_web_reports_release(quality, product, shipped, reserved):
    recall = draft_recall(quality, product, [reserved["allocation"].lot])

    response = client_for(quality).post(reverse("quality:recall_open", args=[recall.pk]), {"confirm": "1"}, follow=True)

    assert "3 reserved units in 1 orders were given back to stock" in response.content.decode()


@pytest.mark.parametrize("persona", ["rep", "supervisor", "finance"])
def test_detail_page_other_roles_forbidden(request, persona, quality, product, shipped, reserved):
    recall = services.open_recall(actor=quality, recall=draft_recall(quality, product, [reserved["allocation"].lot]))

    assert client_for(request.getfixturevalue(persona)).get(reverse("quality:recall_detail", args=[recall.pk])).status_code == 403


def test_api_lists_released(api, quality, logistics, rep, product, shipped, reserved):
    recall = draft_recall(quality, product, [reserved["allocation"].lot])

    opened = api(quality).post(f"/api/v1/recalls/{recall.pk}/open/")
    read = api(logistics).get(f"/api/v1/recalls/{recall.pk}/")

    assert opened.status_code == 200
    expected = [
        {
            "order": reserved["order"].pk, "order_number": reserved["order"].number, "order_line": reserved["order"].lines.get().pk,
            "lot": reserved["allocation"].lot_id, "lot_number": "B002", "warehouse": reserved["allocation"].warehouse_id, "quantity": 3,
        }
    ]
    assert opened.data["released_reservations"] == expected
    assert read.data["released_reservations"] == expected
    assert api(rep).get(f"/api/v1/recalls/{recall.pk}/").status_code == 403


# -- web edit of a draft --------------------------------------------------


def edit_data(product, lots, **changes):
    return {"product": product.pk, "lots": [lot.pk for lot in lots], "level": "1", "reason": "无菌屏障失效", "source": "", **changes}


def test_edit_draft_through_web(quality, product, shipped):
    lot_a, lot_b, lot_c = shipped["lots"]
    recall = draft_recall(quality, product, [lot_a])
    client = client_for(quality)

    page = client.get(reverse("quality:recall_edit", args=[recall.pk])).content.decode()
    assert f'value="{lot_a.pk}" id="lot-{lot_a.pk}" checked' in page

    response = client.post(reverse("quality:recall_edit", args=[recall.pk]), edit_data(product, [lot_b, lot_c]))

    assert response.status_code == 302
    recall.refresh_from_db()
    assert (recall.level, recall.reason) == ("1", "无菌屏障失效")
    assert set(recall.lots.all()) == {lot_b, lot_c}


def test_edit_draft_changes_product(quality, logistics, warehouse, product, shipped):
    other = f.ProductFactory()
    other_lot = f.receive(other, warehouse, quantity=5, actor=logistics, lot_number="Z900").lot
    recall = draft_recall(quality, product, [shipped["lots"][0]])

    response = client_for(quality).post(reverse("quality:recall_edit", args=[recall.pk]), edit_data(other, [other_lot]))

    assert response.status_code == 302
    recall.refresh_from_db()
    assert recall.product == other
    assert list(recall.lots.all()) == [other_lot]


def test_edit_draft_refuses_what_api_refuses(api, quality, logistics, warehouse, product, shipped):
    other = f.ProductFactory()
    recall = draft_recall(quality, product, [shipped["lots"][0]])
    client = client_for(quality)

    web = client.post(reverse("quality:recall_edit", args=[recall.pk]), edit_data(other, [shipped["lots"][1]]))
    through_api = api(quality).patch(f"/api/v1/recalls/{recall.pk}/", {"product": other.pk}, format="json")
    no_reason = client.post(reverse("quality:recall_edit", args=[recall.pk]), edit_data(product, [shipped["lots"][1]], reason=""))

    assert web.status_code == 200
    assert str(shipped["lots"][1].pk) in web.context["form"].errors["lots"][0]
    assert through_api.status_code == 400
    assert "A001" in through_api.data["detail"]
    assert no_reason.status_code == 200
    recall.refresh_from_db()
    assert recall.product == product
    assert list(recall.lots.all()) == [shipped["lots"][0]]
    assert recall.level == "2"


def test_edit_open_recall_refused(quality, product, shipped):
    recall = services.open_recall(actor=quality, recall=draft_recall(quality, product, [shipped["lots"][0]]))

    response = client_for(quality).post(reverse("quality:recall_edit", args=[recall.pk]), edit_data(product, [shipped["lots"][1]]), follow=True)

    assert "only a draft can be edited" in response.content.decode()
    recall.refresh_from_db()
    assert recall.status == RecallStatus.OPEN
    assert list(recall.lots.all()) == [shipped["lots"][0]]


@pytest.mark.parametrize("persona", ["manager", "logistics", "rep"])
def test_edit_other_roles_forbidden(request, persona, quality, product, shipped):
    recall = draft_recall(quality, product, [shipped["lots"][0]])

    response = client_for(request.getfixturevalue(persona)).post(
        reverse("quality:recall_edit", args=[recall.pk]), edit_data(product, [shipped["lots"][1]])
    )

    assert response.status_code == 403
    assert list(Recall.objects.get(pk=recall.pk).lots.all()) == [shipped["lots"][0]]
