"""Sales orders: entry and its validation, line arithmetic, idempotency and every state transition."""

import datetime
from decimal import Decimal

import pytest

from dentalsales.catalog.models import Product
from dentalsales.core.errors import InvalidInput, InvalidTransition, NotPermitted
from dentalsales.core.models import DocumentSequence
from dentalsales.core.timeutils import local_today
from dentalsales.inventory.models import (
    Allocation,
    LedgerReason,
    Shipment,
    ShipmentLine,
    StockBalance,
    StockLedgerEntry,
)
from dentalsales.sales.models import (
    OrderStatus,
    OrderStatusChange,
    SalesOrder,
    SalesOrderLine,
)
from dentalsales.sales.selectors import visible_orders
from dentalsales.sales.services import (
    allowed_actions,
    approve_order,
    cancel_order,
    complete_order,
    create_order,
    reject_order,
    release_order,
    ship_order,
    submit_order,
    update_order,
)
from dentalsales.testing import factories as f

pytestmark = pytest.mark.django_db

S = OrderStatus
D = Decimal



class People:
    def __init__(self, **personas):
        self.__dict__.update(personas)


@pytest.fixture
def people(rep, rep2, supervisor, manager, logistics, finance):
    return People(rep=rep, rep2=rep2, supervisor=supervisor, manager=manager, logistics=logistics, finance=finance)


@pytest.fixture
def order(rep, customer, stocked_product):
    return f.make_order(actor=rep, customer=customer, lines=[(stocked_product, 10)])


def perform(action, order, people):
    """Perform ``action`` on ``order`` as the persona whose role allows it."""
    if action == "submit":
        return submit_order(actor=people.rep, order=order)
    if action == "approve":
        return approve_order(actor=people.supervisor, order=order)
    if action == "reject":
        return reject_order(actor=people.supervisor, order=order, reason="Price needs checking")
    if action == "release":
        return release_order(actor=people.logistics, order=order)
    if action == "ship":
        return ship_order(carrier="顺丰速运", actor=people.logistics, order=order)
    if action == "ship_part":
        return ship_order(carrier="顺丰速运", actor=people.logistics, order=order, quantities={order.lines.get().pk: 4})
    if action == "complete":
        order.refresh_from_db()
        if order.status == S.SHIPPED:
            f.deliver_shipments(order, reviewer=people.manager, logistics=people.logistics)
        return complete_order(actor=people.logistics, order=order)
    if action == "cancel":
        return cancel_order(actor=people.manager, order=order, reason="Customer withdrew the order")
    raise AssertionError(action)


PATHS = {
    S.DRAFT: [],
    S.SUBMITTED: ["submit"],
    S.REJECTED: ["submit", "reject"],
    S.APPROVED: ["submit", "approve"],
    S.RELEASED: ["submit", "approve", "release"],
    S.PARTIALLY_SHIPPED: ["submit", "approve", "release", "ship_part"],
    S.SHIPPED: ["submit", "approve", "release", "ship"],
    S.COMPLETED: ["submit", "approve", "release", "ship", "complete"],
    S.CANCELLED: ["cancel"],
}
ALLOWED = {
    "submit": {S.DRAFT: S.SUBMITTED, S.REJECTED: S.SUBMITTED},
    "approve": {S.SUBMITTED: S.APPROVED},
    "reject": {S.SUBMITTED: S.REJECTED},
    "release": {S.APPROVED: S.RELEASED},
    "ship": {S.RELEASED: S.SHIPPED, S.PARTIALLY_SHIPPED: S.SHIPPED},
    "complete": {S.SHIPPED: S.COMPLETED},
    "cancel": {state: S.CANCELLED for state in (S.DRAFT, S.SUBMITTED, S.REJECTED, S.APPROVED, S.RELEASED)},
}
ACTOR_OF = {
    "submit": "rep",
    "approve": "supervisor",
    "reject": "supervisor",
    "release": "logistics",
    "ship": "logistics",
    "complete": "logistics",
    "cancel": "manager",
}


def bring_to(order, status, people):
    for action in PATHS[status]:
        perform(action, order, people)
    order.refresh_from_db()
    assert order.status == status
    return order


def order_snapshot(order):
    order.refresh_from_db()
    return {
        "status": order.status,
        "changes": OrderStatusChange.objects.filter(order=order).count(),
        "lines": sorted(SalesOrderLine.objects.filter(order=order).values_list("pk", "quantity", "shipped_quantity")),
        "allocations": sorted(
            Allocation.objects.filter(order_line__order=order).values_list("pk", "quantity", "shipped_quantity", "released_quantity")
        ),
        "balances": sorted(StockBalance.objects.values_list("pk", "on_hand", "reserved")),
        "shipments": Shipment.objects.filter(order=order).count(),
        "ledger": StockLedgerEntry.objects.count(),
    }


class TestTransitions:
    @pytest.mark.parametrize("action", list(ALLOWED))
    @pytest.mark.parametrize("status", list(S))
    def test_each_action_from_each_state(self, order, people, action, status):
        bring_to(order, status, people)
        before = order_snapshot(order)

        if status in ALLOWED[action]:
            perform(action, order, people)
            order.refresh_from_db()
            change = OrderStatusChange.objects.filter(order=order).latest("id")
            assert order.status == ALLOWED[action][status]
            assert (change.from_status, change.to_status) == (status, ALLOWED[action][status])
            assert change.actor == getattr(people, ACTOR_OF[action])
            assert OrderStatusChange.objects.filter(order=order).count() == before["changes"] + 1
        else:
            with pytest.raises(InvalidTransition):
                perform(action, order, people)
            assert order_snapshot(order) == before

    def test_a_new_order_records_its_creation(self, order, rep):
        change = OrderStatusChange.objects.get(order=order)

        assert (change.from_status, change.to_status, change.actor) == ("", S.DRAFT, rep)

    def test_order_life_recorded_in_sequence(self, order, people):
        bring_to(order, S.REJECTED, people)
        for action in ["submit", "approve", "release", "ship_part", "ship", "complete"]:
            perform(action, order, people)

        steps = list(OrderStatusChange.objects.filter(order=order).order_by("id").values_list("from_status", "to_status"))
        assert steps == [
            ("", S.DRAFT),
            (S.DRAFT, S.SUBMITTED),
            (S.SUBMITTED, S.REJECTED),
            (S.REJECTED, S.SUBMITTED),
            (S.SUBMITTED, S.APPROVED),
            (S.APPROVED, S.RELEASED),
            (S.RELEASED, S.PARTIALLY_SHIPPED),
            (S.PARTIALLY_SHIPPED, S.SHIPPED),
            (S.SHIPPED, S.COMPLETED),
        ]


class TestRoles:
    @pytest.mark.parametrize(
        "persona, action, status",
        [
            ("rep", "approve", S.SUBMITTED),
            ("rep", "reject", S.SUBMITTED),
            ("rep", "release", S.APPROVED),
            ("rep", "ship", S.RELEASED),
            ("rep", "complete", S.SHIPPED),
            ("logistics", "approve", S.SUBMITTED),
            ("logistics", "reject", S.SUBMITTED),
            ("logistics", "submit", S.DRAFT),
            ("finance", "approve", S.SUBMITTED),
            ("finance", "cancel", S.DRAFT),
            ("supervisor", "release", S.APPROVED),
            ("supervisor", "ship", S.RELEASED),
        ],
    )
    def test_roles_that_may_not_act_are_refused(self, order, people, persona, action, status):
        bring_to(order, status, people)
        before = order_snapshot(order)
        actor = getattr(people, persona)
        calls = {
            "submit": lambda: submit_order(actor=actor, order=order),
            "approve": lambda: approve_order(actor=actor, order=order, reason="ok"),
            "reject": lambda: reject_order(actor=actor, order=order, reason="no"),
            "release": lambda: release_order(actor=actor, order=order),
            "ship": lambda: ship_order(carrier="顺丰速运", actor=actor, order=order),
            "complete": lambda: complete_order(actor=actor, order=order),
            "cancel": lambda: cancel_order(actor=actor, order=order, reason="no"),
        }

        with pytest.raises(NotPermitted):
            calls[action]()

        assert order_snapshot(order) == before

    def test_a_supervisor_cannot_approve_an_order_they_entered(self, people, customer, stocked_product):
        order = f.make_order(actor=people.supervisor, customer=customer, lines=[(stocked_product, 5)])
        submit_order(actor=people.supervisor, order=order)
        before = order_snapshot(order)

        with pytest.raises(NotPermitted):
            approve_order(actor=people.supervisor, order=order, reason="looks fine")

        assert order_snapshot(order) == before

    def test_a_manager_may_approve_what_a_supervisor_entered(self, people, customer, stocked_product):
        order = f.make_order(actor=people.supervisor, customer=customer, lines=[(stocked_product, 5)])
        submit_order(actor=people.supervisor, order=order)

        approve_order(actor=people.manager, order=order)

        order.refresh_from_db()
        assert order.status == S.APPROVED

    def test_other_representative_sees_nothing(self, order, people):
        before = order_snapshot(order)

        with pytest.raises(InvalidInput) as caught:
            submit_order(actor=people.rep2, order=order)

        assert caught.value.code == "not_found"
        assert not visible_orders(people.rep2).filter(pk=order.pk).exists()
        assert order_snapshot(order) == before

    def test_a_supervisor_of_another_team_cannot_approve(self, order, people):
        other_supervisor = f.UserFactory(username="supervisor2", roles=["supervisor"])
        submit_order(actor=people.rep, order=order)
        before = order_snapshot(order)

        with pytest.raises(InvalidInput) as caught:
            approve_order(actor=other_supervisor, order=order, reason="ok")

        assert caught.value.code == "not_found"
        assert order_snapshot(order) == before

    def test_a_representative_cannot_cancel_an_approved_order(self, order, people):
        bring_to(order, S.APPROVED, people)
        before = order_snapshot(order)

        with pytest.raises(NotPermitted):
            cancel_order(actor=people.rep, order=order, reason="Customer withdrew")

        assert order_snapshot(order) == before

    @pytest.mark.parametrize("status", [S.DRAFT, S.SUBMITTED, S.REJECTED])
    def test_a_representative_may_cancel_before_approval(self, order, people, status):
        bring_to(order, status, people)

        cancel_order(actor=people.rep, order=order, reason="Customer withdrew")

        order.refresh_from_db()
        assert order.status == S.CANCELLED

    @pytest.mark.parametrize(
        "persona, status, actions",
        [
            ("rep", S.DRAFT, ["submit", "cancel"]),
            ("rep", S.SUBMITTED, ["cancel"]),
            ("rep", S.APPROVED, []),
            ("supervisor", S.SUBMITTED, ["approve", "reject", "cancel"]),
            ("logistics", S.APPROVED, ["release", "cancel"]),
            ("logistics", S.PARTIALLY_SHIPPED, ["ship"]),
            ("logistics", S.SHIPPED, ["complete"]),
            ("manager", S.CANCELLED, ["reinstate"]),
            ("supervisor", S.APPROVED, ["cancel", "amend"]),
            ("logistics", S.CANCELLED, []),
        ],
    )
    def test_allowed_actions(self, order, people, persona, status, actions):
        bring_to(order, status, people)

        assert allowed_actions(order, getattr(people, persona)) == actions


class TestReasons:
    @pytest.mark.parametrize("reason", ["", "   ", None])
    def test_reject_needs_a_reason(self, order, people, reason):
        bring_to(order, S.SUBMITTED, people)
        before = order_snapshot(order)

        with pytest.raises(InvalidInput) as caught:
            reject_order(actor=people.supervisor, order=order, reason=reason)

        assert list(caught.value.field_errors) == ["reason"]
        assert order_snapshot(order) == before

    def test_reject_stores_the_reason_and_the_checks(self, order, people):
        bring_to(order, S.SUBMITTED, people)

        reject_order(actor=people.supervisor, order=order, reason="  Price needs checking ")

        order.refresh_from_db()
        change = OrderStatusChange.objects.filter(order=order).latest("id")
        assert order.rejection_reason == "Price needs checking"
        assert change.reason == "Price needs checking"
        assert [check["code"] for check in change.checks] == ["qualifications", "registrations", "credit", "price", "stock", "duplicate"]

    @pytest.mark.parametrize("reason", ["", "   ", None])
    def test_cancel_needs_a_reason(self, order, people, reason):
        bring_to(order, S.RELEASED, people)
        before = order_snapshot(order)

        with pytest.raises(InvalidInput) as caught:
            cancel_order(actor=people.manager, order=order, reason=reason)

        assert list(caught.value.field_errors) == ["reason"]
        assert order_snapshot(order) == before


class TestCancel:
    def test_cancel_releases_every_reservation(self, people, customer, product, warehouse):
        f.receive(product, warehouse, quantity=6, actor=people.logistics, expiry_days=200)
        f.receive(product, warehouse, quantity=20, actor=people.logistics, expiry_days=400)
        order = f.make_order(actor=people.rep, customer=customer, lines=[(product, 10)])
        bring_to(order, S.RELEASED, people)
        assert sorted(StockBalance.objects.values_list("reserved", flat=True)) == [4, 6]

        cancel_order(actor=people.logistics, order=order, reason="Customer withdrew the order")

        order.refresh_from_db()
        assert order.status == S.CANCELLED
        assert order.cancellation_reason == "Customer withdrew the order"
        assert list(StockBalance.objects.values_list("reserved", flat=True)) == [0, 0]
        assert sorted(StockBalance.objects.values_list("on_hand", flat=True)) == [6, 20]
        assert all(a.released_quantity == a.quantity for a in Allocation.objects.filter(order_line__order=order))
        assert OrderStatusChange.objects.filter(order=order).latest("id").reason == "Customer withdrew the order"

    @pytest.mark.parametrize("status", [S.PARTIALLY_SHIPPED, S.SHIPPED, S.COMPLETED])
    def test_an_order_cannot_be_cancelled_after_a_shipment(self, order, people, status):
        bring_to(order, status, people)
        before = order_snapshot(order)

        with pytest.raises(InvalidTransition):
            cancel_order(actor=people.manager, order=order, reason="Too late")

        assert order_snapshot(order) == before


class TestShip:
    @pytest.fixture
    def two_lots(self, product, warehouse, logistics):
        f.receive(product, warehouse, quantity=5, actor=logistics, expiry_days=200, lot_number="EARLY")
        f.receive(product, warehouse, quantity=20, actor=logistics, expiry_days=400, lot_number="LATE")
        return product

    def test_one_shipment_line_per_lot_with_snapshot_fields(self, people, customer, two_lots, warehouse):
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 10)])
        bring_to(order, S.RELEASED, people)

        shipment = ship_order(actor=people.logistics, order=order, carrier="顺丰速运", waybill_number="SF1234567890")

        lines = list(shipment.lines.order_by("expiry_date"))
        assert [(line.lot_number, line.quantity) for line in lines] == [("EARLY", 5), ("LATE", 5)]
        for line in lines:
            assert line.lot.lot_number == line.lot_number
            assert line.expiry_date == line.lot.expiry_date
            assert line.production_date == line.lot.production_date
            assert line.registration_number == two_lots.registration_number
            assert (line.product_name, line.specification, line.unit) == (two_lots.name, two_lots.specification, two_lots.unit)
            assert (line.manufacturer, line.storage_conditions) == (two_lots.manufacturer, two_lots.storage_conditions)
            assert line.warehouse == warehouse
        assert shipment.number == f"SH-{local_today():%Y%m%d}-0001"
        assert (shipment.customer, shipment.carrier, shipment.waybill_number) == (customer, "顺丰速运", "SF1234567890")
        assert shipment.delivery_address == customer.address
        assert shipment.shipped_on == local_today()
        assert shipment.shipped_by == people.logistics

    def test_shipment_lines_are_snapshots(self, people, customer, two_lots):
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 3)])
        bring_to(order, S.RELEASED, people)
        shipment = ship_order(carrier="顺丰速运", actor=people.logistics, order=order)
        original_number = two_lots.registration_number

        Product.objects.filter(pk=two_lots.pk).update(registration_number="粤械注准20242179999", name="新名称")

        line = ShipmentLine.objects.get(shipment=shipment)
        assert line.registration_number == original_number
        assert line.product_name != "新名称"

    def test_shipping_moves_stock_out_of_on_hand_and_reserved(self, people, customer, two_lots):
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 10)])
        bring_to(order, S.RELEASED, people)

        shipment = ship_order(carrier="顺丰速运", actor=people.logistics, order=order)

        balances = dict(StockBalance.objects.values_list("lot__lot_number", "on_hand"))
        assert balances == {"EARLY": 0, "LATE": 15}
        assert list(StockBalance.objects.values_list("reserved", flat=True)) == [0, 0]
        ledger = sorted(StockLedgerEntry.objects.filter(reason=LedgerReason.SHIPMENT).values_list("quantity", "reference"))
        assert ledger == [(-5, shipment.number), (-5, shipment.number)]
        assert order.lines.get().shipped_quantity == 10

    def test_partial_shipments_then_complete(self, people, customer, two_lots):
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 10)])
        bring_to(order, S.RELEASED, people)
        line = order.lines.get()

        first = ship_order(carrier="顺丰速运", actor=people.logistics, order=order, quantities={line.pk: 4})
        order.refresh_from_db()
        status_after_first = order.status
        second = ship_order(carrier="顺丰速运", actor=people.logistics, order=order)
        order.refresh_from_db()
        status_after_second = order.status
        f.deliver_shipments(order, reviewer=people.manager, logistics=people.logistics)
        complete_order(actor=people.logistics, order=order)
        order.refresh_from_db()

        assert status_after_first == S.PARTIALLY_SHIPPED
        assert [(l.lot_number, l.quantity) for l in first.lines.all()] == [("EARLY", 4)]
        assert status_after_second == S.SHIPPED
        assert sorted((l.lot_number, l.quantity) for l in second.lines.all()) == [("EARLY", 1), ("LATE", 5)]
        assert order.status == S.COMPLETED
        assert first.number != second.number
        assert order.lines.get().shipped_quantity == 10

    def test_held_back_line_ships_partially(self, people, customer, two_lots, warehouse):
        other = f.ProductFactory()
        f.receive(other, warehouse, quantity=10, actor=people.logistics)
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 3), (other, 2)])
        bring_to(order, S.RELEASED, people)
        first_line, second_line = order.lines.order_by("id")

        ship_order(carrier="顺丰速运", actor=people.logistics, order=order, quantities={first_line.pk: 3, second_line.pk: 0})

        order.refresh_from_db()
        assert order.status == S.PARTIALLY_SHIPPED

    @pytest.mark.parametrize("quantity", [11, -1])
    def test_ship_quantity_outside_reservation(self, people, customer, two_lots, quantity):
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 10)])
        bring_to(order, S.RELEASED, people)
        before = order_snapshot(order)

        with pytest.raises(InvalidInput) as caught:
            ship_order(carrier="顺丰速运", actor=people.logistics, order=order, quantities={order.lines.get().pk: quantity})

        assert f"{quantity}" in caught.value.field_errors["lines"][0]
        assert order_snapshot(order) == before

    def test_shipping_nothing_is_refused(self, people, customer, two_lots):
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 10)])
        bring_to(order, S.RELEASED, people)
        before = order_snapshot(order)

        with pytest.raises(InvalidInput):
            ship_order(carrier="顺丰速运", actor=people.logistics, order=order, quantities={order.lines.get().pk: 0})

        assert order_snapshot(order) == before

    def test_a_line_of_another_order_is_refused(self, people, customer, two_lots):
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 2)])
        other = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 3)])
        bring_to(order, S.RELEASED, people)
        before = order_snapshot(order)

        with pytest.raises(InvalidInput):
            ship_order(carrier="顺丰速运", actor=people.logistics, order=order, quantities={other.lines.get().pk: 1})

        assert order_snapshot(order) == before

    @pytest.mark.parametrize("quantity", [1.5, "abc", True])
    def test_ship_quantity_must_be_an_integer(self, people, customer, two_lots, quantity):
        order = f.make_order(actor=people.rep, customer=customer, lines=[(two_lots, 10)])
        bring_to(order, S.RELEASED, people)
        before = order_snapshot(order)

        with pytest.raises(InvalidInput):
            ship_order(carrier="顺丰速运", actor=people.logistics, order=order, quantities={order.lines.get().pk: quantity})

        assert order_snapshot(order) == before


class TestLineArithmetic:
    def test_amount_tax_and_totals(self, rep, customer):
        standard = f.ProductFactory(list_price=D("130.15"))
        reduced = f.ProductFactory(list_price=D("40.00"), vat_rate=D("0.06"))
        cheap = f.ProductFactory(list_price=D("0.0015"))

        order = f.make_order(
            actor=rep, customer=customer, lines=[(standard, 1), (reduced, 3, "33.3333"), (cheap, 7)]
        )

        lines = list(order.lines.order_by("id"))
        assert [(l.amount, l.tax_amount, l.tax_rate) for l in lines] == [
            (D("130.15"), D("14.97"), D("0.13")),  # 130.15 / 1.13 * 0.13 = 14.973
            (D("100.00"), D("5.66"), D("0.06")),  # 3 × 33.3333 = 99.9999; 100 / 1.06 * 0.06 = 5.660
            (D("0.01"), D("0.00"), D("0.13")),  # 7 × 0.0015 = 0.0105
        ]
        assert order.total_amount == D("230.16")
        assert order.tax_amount == D("20.63")

    def test_totals_are_sums_of_rounded_lines_not_rounded_again(self, rep, customer):
        one_yuan = f.ProductFactory(list_price=D("1.00"))

        order = f.make_order(actor=rep, customer=customer, lines=[(one_yuan, 1), (one_yuan, 1), (one_yuan, 1)])

        # Each line: 1.00 / 1.13 * 0.13 = 0.11504 → 0.12; tax of 3.00 would be 0.3451 → 0.35.
        assert order.total_amount == D("3.00")
        assert order.tax_amount == D("0.36")

    def test_lines_keep_the_list_price_and_default_to_it(self, rep, customer, product):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 2), (product, 1, "99.5")])

        first, second = order.lines.order_by("id")
        assert (first.unit_price, first.list_price) == (product.list_price, product.list_price)
        assert (second.unit_price, second.list_price) == (D("99.5"), product.list_price)

    def test_a_float_price_is_read_without_binary_noise(self, rep, customer, product):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 1, 2.675)])

        line = order.lines.get()
        assert line.unit_price == D("2.675")
        assert line.amount == D("2.68")

    def test_update_replaces_lines_and_recomputes_totals(self, rep, customer, product):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 1)])

        update_order(actor=rep, order=order, lines=[{"product": product.pk, "quantity": 3, "unit_price": "10.00"}])

        order.refresh_from_db()
        assert list(order.lines.values_list("quantity", "amount")) == [(3, D("30.00"))]
        assert (order.total_amount, order.tax_amount) == (D("30.00"), D("3.45"))

    def test_a_submitted_order_cannot_be_edited(self, order, people):
        bring_to(order, S.SUBMITTED, people)
        before = order_snapshot(order)

        with pytest.raises(InvalidTransition):
            update_order(actor=people.rep, order=order, note="changed")

        assert order_snapshot(order) == before


def created_nothing():
    return (
        SalesOrder.objects.count(),
        SalesOrderLine.objects.count(),
        OrderStatusChange.objects.count(),
        DocumentSequence.objects.filter(prefix="SO").count(),
    ) == (0, 0, 0, 0)


class TestBadInput:
    @pytest.mark.parametrize(
        "changes, field, shown",
        [
            ({"quantity": 0}, "lines[0].quantity", "“0”"),
            ({"quantity": -1}, "lines[0].quantity", "“-1”"),
            ({"quantity": 1.5}, "lines[0].quantity", "“1.5”"),
            ({"quantity": "abc"}, "lines[0].quantity", "“abc”"),
            ({"quantity": "1.5"}, "lines[0].quantity", "“1.5”"),
            ({"quantity": 100_001}, "lines[0].quantity", "“100001”"),
            ({"quantity": 2**31}, "lines[0].quantity", f"“{2**31}”"),
            ({"quantity": True}, "lines[0].quantity", "“True”"),
            ({"quantity": None}, "lines[0].quantity", "“None”"),
            ({"unit_price": "1.23456"}, "lines[0].unit_price", "“1.23456”"),
            ({"unit_price": "-1"}, "lines[0].unit_price", "“-1”"),
            ({"unit_price": "-0.0001"}, "lines[0].unit_price", "“-0.0001”"),
            ({"unit_price": "abc"}, "lines[0].unit_price", "“abc”"),
            ({"unit_price": "NaN"}, "lines[0].unit_price", "“NaN”"),
            ({"unit_price": "Infinity"}, "lines[0].unit_price", "“Infinity”"),
            ({"unit_price": "1000000.0001"}, "lines[0].unit_price", "“1000000.0001”"),
            ({"product": 999999}, "lines[0].product", "“999999”"),
            ({"product": "abc"}, "lines[0].product", "“abc”"),
            ({"product": None}, "lines[0].product", "“None”"),
        ],
    )
    def test_a_bad_line_is_refused_naming_field_and_value(self, rep, customer, product, changes, field, shown):
        line = {"product": product, "quantity": 1, **changes}

        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=customer, channel="phone", lines=[line])

        assert list(caught.value.field_errors) == [field]
        assert shown in caught.value.field_errors[field][0]
        assert created_nothing()

    def test_the_position_of_the_bad_line_is_named(self, rep, customer, product):
        lines = [{"product": product, "quantity": 1}, {"product": product, "quantity": 2}, {"product": product, "quantity": 0}]

        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=customer, channel="phone", lines=lines)

        assert list(caught.value.field_errors) == ["lines[2].quantity"]
        assert created_nothing()

    def test_every_bad_line_is_reported(self, rep, customer, product):
        lines = [{"product": product, "quantity": 0}, {"product": product, "quantity": 1, "unit_price": "-5"}]

        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=customer, channel="phone", lines=lines)

        assert set(caught.value.field_errors) == {"lines[0].quantity", "lines[1].unit_price"}
        assert created_nothing()

    def test_whole_numbers_given_as_text_are_accepted(self, rep, customer, product):
        order, created = create_order(
            actor=rep, customer=str(customer.pk), channel="phone", lines=[{"product": str(product.pk), "quantity": " 3 "}]
        )

        assert created
        assert order.customer == customer
        assert (order.lines.get().product, order.lines.get().quantity) == (product, 3)

    def test_the_largest_quantity_and_price_are_accepted(self, rep, customer, product):
        order, created = create_order(
            actor=rep,
            customer=customer,
            channel="phone",
            lines=[{"product": product, "quantity": 100_000, "unit_price": "1"}, {"product": product, "quantity": 1, "unit_price": "1000000"}],
        )

        assert created
        assert order.total_amount == D("1100000.00")

    def test_a_price_with_four_decimals_is_accepted(self, rep, customer, product):
        order, created = create_order(
            actor=rep, customer=customer, channel="phone", lines=[{"product": product, "quantity": 1, "unit_price": "1.2345"}]
        )

        assert created
        assert order.lines.get().unit_price == D("1.2345")

    def test_an_inactive_product_is_refused(self, rep, customer):
        retired = f.ProductFactory(is_active=False)

        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=customer, channel="phone", lines=[{"product": retired, "quantity": 1}])

        assert list(caught.value.field_errors) == ["lines[0].product"]
        assert created_nothing()

    def test_an_order_without_lines_is_refused(self, rep, customer):
        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=customer, channel="phone", lines=[])

        assert list(caught.value.field_errors) == ["lines"]
        assert created_nothing()

    def test_an_unknown_customer_is_refused(self, rep, product):
        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=999999, channel="phone", lines=[{"product": product, "quantity": 1}])

        assert list(caught.value.field_errors) == ["customer"]
        assert "“999999”" in caught.value.field_errors["customer"][0]
        assert created_nothing()

    def test_other_reps_customer_is_unknown(self, rep2, customer, product):
        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep2, customer=customer, channel="phone", lines=[{"product": product, "quantity": 1}])

        assert list(caught.value.field_errors) == ["customer"]
        assert f"“{customer.pk}”" in caught.value.field_errors["customer"][0]
        assert created_nothing()

    def test_an_inactive_customer_is_refused(self, rep, product):
        inactive = f.CustomerFactory(owner=rep, is_active=False)

        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=inactive, channel="phone", lines=[{"product": product, "quantity": 1}])

        assert list(caught.value.field_errors) == ["customer"]
        assert created_nothing()

    @pytest.mark.parametrize("channel", ["pigeon", "", None, "PHONE"])
    def test_an_unknown_channel_is_refused(self, rep, customer, product, channel):
        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=customer, channel=channel, lines=[{"product": product, "quantity": 1}])

        assert list(caught.value.field_errors) == ["channel"]
        assert f"“{channel or ''}”" in caught.value.field_errors["channel"][0]
        assert created_nothing()

    def test_a_delivery_date_before_the_order_date_is_refused(self, rep, customer, product):
        yesterday = local_today() - datetime.timedelta(days=1)

        with pytest.raises(InvalidInput) as caught:
            create_order(
                actor=rep,
                customer=customer,
                channel="phone",
                requested_delivery_date=yesterday,
                lines=[{"product": product, "quantity": 1}],
            )

        assert list(caught.value.field_errors) == ["requested_delivery_date"]
        assert created_nothing()

    @pytest.mark.parametrize("persona", ["logistics", "finance", "quality"])
    def test_roles_without_sales_rights_cannot_enter_orders(self, request, customer, product, persona):
        with pytest.raises(NotPermitted):
            create_order(
                actor=request.getfixturevalue(persona), customer=customer, channel="phone", lines=[{"product": product, "quantity": 1}]
            )

        assert created_nothing()

    def test_order_total_over_maximum(self, rep, customer, product):
        lines = [{"product": product, "quantity": 100_000, "unit_price": "1000000"}]

        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=customer, channel="phone", lines=lines)

        assert list(caught.value.field_errors) == ["lines"]
        assert created_nothing()

    @pytest.mark.parametrize("text", ["²", "３", "٣"])
    @pytest.mark.parametrize("field", ["quantity", "product"])
    def test_non_ascii_digits_are_invalid(self, rep, customer, product, field, text):
        # str.isdigit() is true for each of these, and int("²") raises ValueError.
        line = {"product": product, "quantity": 1, field: text}

        with pytest.raises(InvalidInput) as caught:
            create_order(actor=rep, customer=customer, channel="phone", lines=[line])

        assert list(caught.value.field_errors) == [f"lines[0].{field}"]
        assert created_nothing()


class TestEntry:
    def test_new_order_is_numbered_draft(self, supervisor, customer, product):
        order, created = create_order(
            actor=supervisor, customer=customer.pk, channel="visit", lines=[{"product": product.pk, "quantity": 2}]
        )

        assert created
        assert order.number == f"SO-{local_today():%Y%m%d}-0001"
        assert order.status == S.DRAFT
        assert order.owner == customer.owner
        assert order.created_by == supervisor
        assert order.order_date == local_today()
        assert order.delivery_address == customer.address


class TestIdempotency:
    def test_the_same_key_twice_creates_one_order(self, rep, customer, product):
        lines = [{"product": product, "quantity": 2}]

        first, first_created = create_order(actor=rep, customer=customer, channel="phone", lines=lines, idempotency_key="form-123")
        second, second_created = create_order(actor=rep, customer=customer, channel="phone", lines=lines, idempotency_key="form-123")

        assert first_created is True
        assert second_created is False
        assert second.pk == first.pk
        assert SalesOrder.objects.count() == 1
        assert SalesOrderLine.objects.count() == 1

    def test_retry_returns_first_order_unchanged(self, rep, customer, product):
        first, _ = create_order(
            actor=rep, customer=customer, channel="phone", lines=[{"product": product, "quantity": 2}], idempotency_key="k1"
        )

        second, created = create_order(
            actor=rep, customer=customer, channel="phone", lines=[{"product": product.pk, "quantity": "2"}], idempotency_key=" k1 "
        )

        assert created is False
        assert second.pk == first.pk
        assert SalesOrder.objects.count() == 1

    def test_key_reused_with_other_values_is_refused(self, rep, customer, product):
        first, _ = create_order(
            actor=rep, customer=customer, channel="phone", lines=[{"product": product, "quantity": 2}], idempotency_key="k1"
        )

        with pytest.raises(InvalidTransition) as caught:
            create_order(
                actor=rep, customer=customer, channel="email", lines=[{"product": product, "quantity": 9}], idempotency_key="k1"
            )

        assert caught.value.code == "idempotency_key_reused"
        first.refresh_from_db()
        assert (first.channel, first.lines.get().quantity) == ("phone", 2)
        assert SalesOrder.objects.count() == 1

    def test_different_users_with_the_same_key_get_two_orders(self, rep, supervisor, customer, product):
        lines = [{"product": product, "quantity": 2}]

        mine, mine_created = create_order(actor=rep, customer=customer, channel="phone", lines=lines, idempotency_key="same")
        theirs, theirs_created = create_order(actor=supervisor, customer=customer, channel="phone", lines=lines, idempotency_key="same")

        assert mine_created is True
        assert theirs_created is True
        assert mine.pk != theirs.pk
        assert SalesOrder.objects.count() == 2

    def test_without_a_key_every_call_creates_an_order(self, rep, customer, product):
        lines = [{"product": product, "quantity": 2}]

        create_order(actor=rep, customer=customer, channel="phone", lines=lines)
        create_order(actor=rep, customer=customer, channel="phone", lines=lines, idempotency_key="  ")

        assert SalesOrder.objects.count() == 2

    def test_a_refused_request_does_not_use_up_its_key(self, rep, customer, product):
        with pytest.raises(InvalidInput):
            create_order(actor=rep, customer=customer, channel="phone", lines=[{"product": product, "quantity": 0}], idempotency_key="k2")

        order, created = create_order(
            actor=rep, customer=customer, channel="phone", lines=[{"product": product, "quantity": 1}], idempotency_key="k2"
        )

        assert created is True
        assert SalesOrder.objects.get() == order
