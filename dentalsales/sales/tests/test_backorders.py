"""Partial release with backorder, allocating backorders later, and closing an order short."""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dentalsales.core.errors import InsufficientStock, InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.timeutils import local_today
from dentalsales.finance.selectors import open_order_value
from dentalsales.inventory import services as inventory
from dentalsales.inventory import shipping
from dentalsales.inventory.models import Allocation, LotStatus, ShipmentStatus, StockBalance
from dentalsales.quality import services as quality_services
from dentalsales.quality.tests.factories import draft_recall
from dentalsales.sales import contracts as contract_services
from dentalsales.sales import services
from dentalsales.sales.models import ContractLine, ContractStatus, OrderStatus, OrderStatusChange
from dentalsales.sales.selectors import backorder_list, with_backorders
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

S = OrderStatus


def approved_order(rep, supervisor, customer, lines):
    order = f.make_order(actor=rep, customer=customer, lines=lines)
    services.submit_order(actor=rep, order=order)
    return services.approve_order(actor=supervisor, order=order, reason="stock short, customer accepts part delivery")


def backorders(order):
    """Return {order line id: backordered units} as the order page computes them."""
    order.refresh_from_db()
    lines = list(order.lines.prefetch_related("allocations").order_by("pk"))
    from dentalsales.sales.selectors import attach_line_stock

    return {line.pk: line.backordered_quantity for line in attach_line_stock(order, lines)}


def reserved_by_lot(order):
    reserved = {}
    for allocation in Allocation.objects.filter(order_line__order=order).select_related("lot").order_by("pk"):
        if allocation.open_quantity:
            reserved[allocation.lot.lot_number] = reserved.get(allocation.lot.lot_number, 0) + allocation.open_quantity
    return reserved


@pytest.fixture
def short_stock(product, warehouse, logistics, quality):
    """48 eligible units in two lots, plus lots that allocation must skip: expired, quarantined, recalled, short shelf life."""
    f.receive(product, warehouse, quantity=30, actor=logistics, expiry_days=400, lot_number="LATE")
    f.receive(product, warehouse, quantity=18, actor=logistics, expiry_days=200, lot_number="EARLY")
    f.receive(product, warehouse, quantity=50, actor=logistics, expiry_days=-1, lot_number="EXPIRED", production_days_ago=400)
    f.receive(product, warehouse, quantity=50, actor=logistics, expiry_days=30, lot_number="SHORTLIFE")
    quarantined = f.receive(product, warehouse, quantity=50, actor=logistics, expiry_days=300, lot_number="QUAR").lot
    quarantined.status = LotStatus.QUARANTINED
    quarantined.save()
    recalled = f.receive(product, warehouse, quantity=50, actor=logistics, expiry_days=300, lot_number="RECALLED").lot
    recalled.status = LotStatus.RECALLED
    recalled.save()
    return product


class TestPartialRelease:
    def test_strict_release_still_refuses_and_changes_nothing(self, rep, supervisor, logistics, customer, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])

        with pytest.raises(InsufficientStock):
            services.release_order(actor=logistics, order=order)

        order.refresh_from_db()
        assert order.status == S.APPROVED
        assert Allocation.objects.count() == 0
        assert StockBalance.objects.filter(reserved__gt=0).count() == 0

    def test_partial_release_reserves_fefo_and_backorders_the_rest(self, rep, supervisor, logistics, customer, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])

        order = services.release_order(actor=logistics, order=order, allow_partial=True)

        line = order.lines.get()
        assert order.status == S.RELEASED
        assert reserved_by_lot(order) == {"EARLY": 18, "LATE": 30}
        assert order.allocation.backordered == {line.pk: 12}
        assert backorders(order) == {line.pk: 12}
        change = order.status_changes.get(to_status=S.RELEASED)
        assert change.changes == [
            {"line": line.pk, "product": str(short_stock), "field": "backordered_quantity", "old": "", "new": "12"}
        ]

    def test_partial_release_with_full_stock_has_no_backorder(self, rep, supervisor, logistics, customer, stocked_product):
        order = approved_order(rep, supervisor, customer, [(stocked_product, 60)])

        order = services.release_order(actor=logistics, order=order, allow_partial=True)

        assert order.allocation.backordered == {}
        assert order.status_changes.get(to_status=S.RELEASED).changes == []

    def test_partial_release_without_any_stock_backorders_everything(self, rep, supervisor, logistics, customer, product):
        order = approved_order(rep, supervisor, customer, [(product, 5)])

        order = services.release_order(actor=logistics, order=order, allow_partial=True)

        assert order.status == S.RELEASED
        assert list(backorders(order).values()) == [5]

    def test_backorder_per_line_with_two_lines(self, rep, supervisor, logistics, customer, warehouse, short_stock):
        other = f.ProductFactory()
        f.receive(other, warehouse, quantity=20, actor=logistics)
        order = approved_order(rep, supervisor, customer, [(short_stock, 60), (other, 20)])

        services.release_order(actor=logistics, order=order, allow_partial=True)

        first, second = order.lines.order_by("pk")
        assert backorders(order) == {first.pk: 12, second.pk: 0}

    def test_lot_valid_through_its_expiry_day(self, rep, supervisor, logistics, warehouse, product):
        customer = f.CustomerFactory(owner=rep, min_shelf_life_days=0)
        f.receive(product, warehouse, quantity=5, actor=logistics, expiry_days=0, lot_number="TODAY")
        order = approved_order(rep, supervisor, customer, [(product, 8)])

        services.release_order(actor=logistics, order=order, allow_partial=True)

        assert reserved_by_lot(order) == {"TODAY": 5}
        assert list(backorders(order).values()) == [3]

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "finance", "quality"])
    def test_other_roles_cannot_release(self, request, rep, supervisor, customer, short_stock, persona):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])

        with pytest.raises(NotPermitted):
            services.release_order(actor=request.getfixturevalue(persona), order=order, allow_partial=True)

        order.refresh_from_db()
        assert order.status == S.APPROVED


class TestAllocateBackorder:
    def test_reserves_new_stock_fefo_and_clears_backorder(self, rep, supervisor, logistics, customer, warehouse, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=order, allow_partial=True)
        f.receive(short_stock, warehouse, quantity=10, actor=logistics, expiry_days=500, lot_number="NEWLATE")
        f.receive(short_stock, warehouse, quantity=10, actor=logistics, expiry_days=250, lot_number="NEWEARLY")

        order = services.allocate_backorder(actor=logistics, order=order)

        assert reserved_by_lot(order) == {"EARLY": 18, "LATE": 30, "NEWEARLY": 10, "NEWLATE": 2}
        assert list(backorders(order).values()) == [0]
        change = order.status_changes.get(action="allocate_backorder")
        assert (change.from_status, change.to_status, change.actor) == (S.RELEASED, S.RELEASED, logistics)
        assert [row["field"] for row in change.changes] == ["reserved_quantity"]

    def test_partly_covered_keeps_remaining_backorder(self, rep, supervisor, logistics, customer, warehouse, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=order, allow_partial=True)
        f.receive(short_stock, warehouse, quantity=5, actor=logistics, expiry_days=500)

        order = services.allocate_backorder(actor=logistics, order=order)

        assert order.allocation.reserved_quantity == 5
        assert list(backorders(order).values()) == [7]

    def test_without_new_stock_refuses(self, rep, supervisor, logistics, customer, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=order, allow_partial=True)

        with pytest.raises(InsufficientStock):
            services.allocate_backorder(actor=logistics, order=order)

        assert not order.status_changes.filter(action="allocate_backorder").exists()

    def test_without_backorder_refuses(self, rep, supervisor, logistics, customer, stocked_product):
        order = approved_order(rep, supervisor, customer, [(stocked_product, 10)])
        services.release_order(actor=logistics, order=order)

        with pytest.raises(InvalidTransition) as error:
            services.allocate_backorder(actor=logistics, order=order)

        assert error.value.code == "no_backorder"

    @pytest.mark.parametrize("persona", ["rep", "supervisor", "finance", "quality"])
    def test_other_roles_refused(self, request, rep, supervisor, logistics, customer, warehouse, short_stock, persona):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=order, allow_partial=True)
        f.receive(short_stock, warehouse, quantity=20, actor=logistics)

        with pytest.raises((NotPermitted, InvalidInput)):
            services.allocate_backorder(actor=request.getfixturevalue(persona), order=order)

        assert list(backorders(order).values()) == [12]

    def test_after_recall_released_the_reservation(self, rep, supervisor, logistics, quality, customer, warehouse, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 40)])
        services.release_order(actor=logistics, order=order)
        early = Allocation.objects.get(order_line__order=order, lot__lot_number="EARLY").lot
        quality_services.open_recall(actor=quality, recall=draft_recall(quality, short_stock, [early]))
        assert list(backorders(order).values()) == [18]
        assert "allocate_backorder" in services.allowed_actions(order, logistics)

        f.receive(short_stock, warehouse, quantity=20, actor=logistics, expiry_days=600, lot_number="FRESH")
        services.allocate_backorder(actor=logistics, order=order)

        # FEFO: the 8 units left in LATE expire before FRESH.
        assert reserved_by_lot(order) == {"LATE": 30, "FRESH": 10}
        assert list(backorders(order).values()) == [0]

    def test_after_cancel_picking_of_a_quarantined_lot(self, rep, supervisor, logistics, manager, quality, customer, warehouse, product):
        f.receive(product, warehouse, quantity=10, actor=logistics, expiry_days=300, lot_number="A")
        order = approved_order(rep, supervisor, customer, [(product, 10)])
        services.release_order(actor=logistics, order=order)
        shipment = services.ship_order(actor=logistics, order=order, carrier="顺丰")
        lot = shipment.lines.get().lot
        lot.status = LotStatus.QUARANTINED
        lot.save()
        shipping.cancel_picking(actor=logistics, shipment=shipment, reason="包装破损，隔离待检")
        order.refresh_from_db()
        assert order.status == S.RELEASED
        assert list(backorders(order).values()) == [10]

        f.receive(product, warehouse, quantity=10, actor=logistics, expiry_days=400, lot_number="B")
        services.allocate_backorder(actor=logistics, order=order)
        services.ship_order(actor=logistics, order=order, carrier="顺丰")
        f.deliver_shipments(order, reviewer=manager, logistics=logistics)
        services.complete_order(actor=logistics, order=order)

        order.refresh_from_db()
        assert order.status == S.COMPLETED
        assert order.shipments.get(status=ShipmentStatus.DELIVERED).lines.get().lot_number == "B"

    def test_backorder_list_oldest_first_and_scoped(self, rep, rep2, supervisor, logistics, customer, short_stock):
        older = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=older, allow_partial=True)
        newer = approved_order(rep, supervisor, customer, [(short_stock, 5)])
        services.release_order(actor=logistics, order=newer, allow_partial=True)
        covered = approved_order(rep, supervisor, customer, [(short_stock, 1)])

        assert [order.number for order in backorder_list(logistics)] == [older.number, newer.number]
        assert list(backorder_list(rep2)) == []
        assert with_backorders(type(covered).objects.filter(pk=covered.pk)).get().backordered_quantity == 0

    def test_command_allocates_oldest_first(self, rep, supervisor, logistics, customer, warehouse, short_stock):
        older = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=older, allow_partial=True)
        newer = approved_order(rep, supervisor, customer, [(short_stock, 5)])
        services.release_order(actor=logistics, order=newer, allow_partial=True)
        f.receive(short_stock, warehouse, quantity=14, actor=logistics)
        out = StringIO()

        call_command("allocate_backorders", "--user", logistics.username, stdout=out)

        assert list(backorders(older).values()) == [0]
        assert list(backorders(newer).values()) == [3]
        assert out.getvalue().splitlines()[-1] == "2 orders with backorder: 2 got stock, 1 still wait for stock."

    def test_command_needs_a_logistics_user(self, rep):
        with pytest.raises(CommandError):
            call_command("allocate_backorders", "--user", rep.username, stdout=StringIO())
        with pytest.raises(CommandError):
            call_command("allocate_backorders", "--user", "nobody", stdout=StringIO())


@pytest.fixture
def partly_shipped(rep, supervisor, logistics, manager, customer, short_stock):
    """60 ordered, 48 reserved, 20 shipped and delivered: 28 reserved and 12 backordered remain."""
    order = approved_order(rep, supervisor, customer, [(short_stock, 60)])
    services.release_order(actor=logistics, order=order, allow_partial=True)
    line = order.lines.get()
    services.ship_order(actor=logistics, order=order, carrier="顺丰", quantities={line.pk: 20})
    f.deliver_shipments(order, reviewer=manager, logistics=logistics)
    order.refresh_from_db()
    return order


class TestCloseShort:
    def test_releases_reservations_and_completes(self, supervisor, partly_shipped):
        order = services.close_short_order(actor=supervisor, order=partly_shipped, reason="客户不再需要余量")

        line = order.lines.get()
        assert order.status == S.COMPLETED
        assert line.closed_short_quantity == 40
        assert line.unshipped_quantity == 0
        assert StockBalance.objects.filter(reserved__gt=0).count() == 0
        assert all(a.open_quantity == 0 for a in Allocation.objects.filter(order_line=line))
        change = order.status_changes.get(action="close_short")
        assert (change.from_status, change.to_status, change.reason) == (S.PARTIALLY_SHIPPED, S.COMPLETED, "客户不再需要余量")
        assert change.changes == [
            {"line": line.pk, "product": str(line.product), "field": "closed_short_quantity", "old": "0", "new": "40"}
        ]

    def test_releases_reservations_in_every_warehouse(self, rep, supervisor, logistics, manager, customer, product):
        first = f.WarehouseFactory(code="WHA", name="北京仓")
        second = f.WarehouseFactory(code="WHB", name="广州仓")
        f.receive(product, first, quantity=10, actor=logistics, expiry_days=300)
        f.receive(product, second, quantity=10, actor=logistics, expiry_days=400)
        order = approved_order(rep, supervisor, customer, [(product, 20)])
        services.release_order(actor=logistics, order=order)
        services.ship_order(actor=logistics, order=order, carrier="顺丰", warehouse=first, quantities={order.lines.get().pk: 4})
        f.deliver_shipments(order, reviewer=manager, logistics=logistics)

        services.close_short_order(actor=manager, order=order, reason="余量取消")

        assert list(StockBalance.objects.order_by("warehouse__code").values_list("on_hand", "reserved")) == [(6, 0), (10, 0)]

    def test_with_a_dispatched_shipment_moves_to_shipped(self, rep, supervisor, logistics, manager, customer, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=order, allow_partial=True)
        shipment = services.ship_order(actor=logistics, order=order, carrier="顺丰", quantities={order.lines.get().pk: 20})
        shipping.review_shipment(actor=manager, shipment=shipment, lines={line.pk: {} for line in shipment.lines.all()})
        shipping.dispatch_shipment(actor=logistics, shipment=shipment)

        order = services.close_short_order(actor=supervisor, order=order, reason="余量取消")
        assert order.status == S.SHIPPED
        with pytest.raises(InvalidTransition):
            services.complete_order(actor=logistics, order=order)

        f.deliver_shipments(order, reviewer=manager, logistics=logistics)
        services.complete_order(actor=logistics, order=order)
        order.refresh_from_db()
        assert order.status == S.COMPLETED

    def test_refused_while_goods_are_picked(self, rep, supervisor, logistics, customer, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=order, allow_partial=True)
        shipment = services.ship_order(actor=logistics, order=order, carrier="顺丰", quantities={order.lines.get().pk: 20})

        with pytest.raises(InvalidTransition) as error:
            services.close_short_order(actor=supervisor, order=order, reason="余量取消")

        assert error.value.code == "picked_shipments"
        assert shipment.number in str(error.value)
        order.refresh_from_db()
        assert order.status == S.PARTIALLY_SHIPPED
        assert order.lines.get().closed_short_quantity == 0

    def test_released_order_is_cancelled_instead(self, rep, supervisor, logistics, customer, short_stock):
        order = approved_order(rep, supervisor, customer, [(short_stock, 60)])
        services.release_order(actor=logistics, order=order, allow_partial=True)

        with pytest.raises(InvalidTransition) as error:
            services.close_short_order(actor=supervisor, order=order, reason="余量取消")

        assert "cancel the order instead" in str(error.value)

    def test_reason_required(self, supervisor, partly_shipped):
        with pytest.raises(InvalidInput) as error:
            services.close_short_order(actor=supervisor, order=partly_shipped, reason="  ")

        assert error.value.field == "reason"
        partly_shipped.refresh_from_db()
        assert partly_shipped.status == S.PARTIALLY_SHIPPED

    @pytest.mark.parametrize("persona", ["rep", "logistics", "finance", "quality"])
    def test_other_roles_refused(self, request, partly_shipped, persona):
        with pytest.raises((NotPermitted, InvalidInput)):
            services.close_short_order(actor=request.getfixturevalue(persona), order=partly_shipped, reason="x")

        assert StockBalance.objects.get(lot__lot_number="LATE").reserved == 28

    def test_gives_back_the_undelivered_contract_quantity(self, rep, supervisor, logistics, manager, customer, short_stock):
        contract = contract_services.create_contract(
            actor=rep,
            customer=customer,
            lines=[{"product": short_stock, "quantity": 100, "unit_price": "110.00", "delivery_date": "2027-03-01"}],
        )
        type(contract).objects.filter(pk=contract.pk).update(status=ContractStatus.ACTIVE)
        contract_line = contract.lines.get()
        order = contract_services.create_order_from_contract(actor=rep, contract=contract, quantities={contract_line.pk: 60})
        services.submit_order(actor=rep, order=order)
        services.approve_order(actor=supervisor, order=order, reason="stock short")
        services.release_order(actor=logistics, order=order, allow_partial=True)
        services.ship_order(actor=logistics, order=order, carrier="顺丰", quantities={order.lines.get().pk: 20})
        f.deliver_shipments(order, reviewer=manager, logistics=logistics)
        assert ContractLine.objects.get(pk=contract_line.pk).drawn_quantity == 60

        services.close_short_order(actor=supervisor, order=order, reason="合同余量改下月")

        contract_line.refresh_from_db()
        assert contract_line.drawn_quantity == 20
        assert contract_line.remaining_quantity == 80
        drawdown = order.lines.get().contract_drawdown
        assert (drawdown.quantity, drawdown.released_at) == (20, None)

    def test_allowed_actions(self, supervisor, logistics, rep, partly_shipped):
        assert services.allowed_actions(partly_shipped, supervisor) == ["close_short"]
        assert services.allowed_actions(partly_shipped, logistics) == ["ship", "allocate_backorder"]
        assert services.allowed_actions(partly_shipped, rep) == []


@pytest.mark.parametrize(
    "case, expected",
    [
        # Open order value at 130.00 a unit: 60 ordered, 20 shipped in the shipping cases.
        ("approved", Decimal("7800.00")),
        ("released_with_backorder", Decimal("7800.00")),
        ("partly_shipped", Decimal("5200.00")),
        ("closed_short_delivered", Decimal("0.00")),
        ("closed_short_dispatched", Decimal("0.00")),
        ("cancelled", Decimal("0.00")),
    ],
)
def test_credit_exposure_after_close_short(rep, supervisor, logistics, manager, customer, short_stock, case, expected):
    order = approved_order(rep, supervisor, customer, [(short_stock, 60, "130.00")])
    if case == "cancelled":
        services.cancel_order(actor=supervisor, order=order, reason="客户取消")
    if case != "approved" and case != "cancelled":
        services.release_order(actor=logistics, order=order, allow_partial=True)
    if case.startswith(("partly", "closed")):
        shipment = services.ship_order(actor=logistics, order=order, carrier="顺丰", quantities={order.lines.get().pk: 20})
        shipping.review_shipment(actor=manager, shipment=shipment, lines={line.pk: {} for line in shipment.lines.all()})
        shipping.dispatch_shipment(actor=logistics, shipment=shipment)
    if case == "closed_short_delivered":
        f.deliver_shipments(order, reviewer=manager, logistics=logistics)
    if case.startswith("closed"):
        services.close_short_order(actor=supervisor, order=order, reason="余量取消")

    assert open_order_value(customer) == expected


def test_exposure_ignores_closed_short_units_of_an_open_order(rep, supervisor, logistics, manager, customer, short_stock):
    """The formula itself leaves out closed-short units, whatever state the order is in."""
    order = approved_order(rep, supervisor, customer, [(short_stock, 60, "130.00")])
    order.lines.update(closed_short_quantity=15)

    assert open_order_value(customer) == Decimal("5850.00")


def test_shelf_life_requirement_skips_lots(rep, supervisor, logistics, warehouse, product):
    customer = f.CustomerFactory(owner=rep, min_shelf_life_days=365)
    f.receive(product, warehouse, quantity=10, actor=logistics, expiry_days=364, lot_number="TOOSHORT")
    f.receive(product, warehouse, quantity=4, actor=logistics, expiry_days=365, lot_number="JUSTENOUGH")
    order = approved_order(rep, supervisor, customer, [(product, 6)])

    services.release_order(actor=logistics, order=order, allow_partial=True)

    assert reserved_by_lot(order) == {"JUSTENOUGH": 4}
    assert list(backorders(order).values()) == [2]
    assert local_today() + datetime.timedelta(days=365) == order.lines.get().allocations.get().lot.expiry_date
