"""Demo sales orders in every state, moved there by the real transitions and the right people."""

import datetime
import random
from dataclasses import dataclass, field
from decimal import Decimal

from dentalsales.core.money import round_money
from dentalsales.customers.compliance import (
    MEDICAL_INSTITUTION_TYPES,
    qualification_problems,
)
from dentalsales.customers.models import CustomerType
from dentalsales.inventory.selectors import (
    eligible_available_by_product,
    warehouses_with_open_reservations,
)
from dentalsales.sales import services as sales
from dentalsales.sales.models import OrderChannel

from .shipping import deliver_order_shipments

DISCOUNT = Decimal("0.90")
CARRIERS = ["顺丰速运", "京东物流", "中通快递"]


@dataclass(frozen=True)
class Scenario:
    owner: str
    state: str
    lines: int = 2
    discount: bool = False
    expired_customer: bool = False
    note: str = ""


# Reasons and notes are what the staff would type, so they are Chinese data.
REJECTION_REASON = "客户要求调整规格和数量，请与客户确认后修改并重新提交。"
APPROVAL_REASON = "年度采购协议价，已经销售经理确认。"
DRAFT_CANCELLATION_REASON = "客户取消本次采购计划。"
RELEASED_CANCELLATION_REASON = "诊所装修暂停营业，客户要求取消订单，库存已释放。"

SCENARIOS = [
    Scenario("rep", "draft", lines=3),
    Scenario("rep2", "draft", lines=1),
    Scenario("rep", "submitted", lines=2, note="所有审核项均通过，可直接审核。"),
    Scenario("rep2", "submitted", lines=2, expired_customer=True),
    Scenario("rep2", "submitted", lines=2, discount=True),
    Scenario("rep", "approved", lines=2),
    Scenario("rep2", "approved", lines=3, discount=True),
    Scenario("rep", "rejected", lines=2),
    Scenario("rep", "released", lines=2),
    Scenario("supervisor", "released", lines=3),
    Scenario("rep2", "partially_shipped", lines=3),
    Scenario("rep", "shipped", lines=2),
    Scenario("rep2", "shipped", lines=2),
    Scenario("rep", "completed", lines=3),
    Scenario("rep2", "completed", lines=1),
    Scenario("rep", "cancelled", lines=1),
    Scenario("rep2", "cancelled_after_release", lines=2),
]


@dataclass
class OrderContext:
    users: dict
    customers_by_owner: dict
    expired_by_owner: dict
    products: list
    today: datetime.date
    rng: random.Random
    used_customers: set = field(default_factory=set)


def _can_buy_everything(customer):
    return customer.customer_type != CustomerType.RETAILER and not qualification_problems(customer, {"III"})


def _split_customers(customers):
    """Group customers by owner: those who may order anything, and medical institutions with a lapsed licence."""
    orderable, expired = {}, {}
    for customer in customers:
        owner = customer.owner.username
        if customer.category != "potential" and customer.credit_limit >= 30000 and _can_buy_everything(customer):
            orderable.setdefault(owner, []).append(customer)
        elif customer.customer_type in MEDICAL_INSTITUTION_TYPES and qualification_problems(customer, {"II"}):
            expired.setdefault(owner, []).append(customer)
    return orderable, expired


def _quantity(rng, product):
    if product.list_price >= 1000:
        return rng.randint(1, 3)
    if product.list_price >= 200:
        return rng.randint(2, 6)
    return rng.randint(5, 20)


def _lines(context, customer, count, discount):
    """Pick ``count`` products with enough eligible stock for the customer, within a third of its credit limit."""
    rng = context.rng
    available = eligible_available_by_product([p.pk for p in context.products], customer.min_shelf_life_days)
    candidates = [product for product in context.products if available.get(product.pk, 0) >= 20]
    rng.shuffle(candidates)
    budget = customer.credit_limit / 3
    lines, total = [], Decimal("0")
    for product in candidates:
        quantity = min(_quantity(rng, product), available[product.pk])
        price = round_money(product.list_price * DISCOUNT) if discount and not lines else product.list_price
        if total + price * quantity > budget:
            continue
        lines.append({"product": product, "quantity": quantity, "unit_price": price})
        total += price * quantity
        if len(lines) == count:
            return lines
    raise RuntimeError(f"No {count} stocked products fit the credit of customer {customer.pk}.")


def _next_customer(context, scenario):
    pool = context.expired_by_owner if scenario.expired_customer else context.customers_by_owner
    for customer in pool.get(scenario.owner, []):
        if customer.pk not in context.used_customers:
            context.used_customers.add(customer.pk)
            return customer
    raise RuntimeError(f"No demo customer left for scenario {scenario}.")


def _run(context, number, scenario):
    users, rng, today = context.users, context.rng, context.today
    owner = users[scenario.owner]
    # A reviewer may not approve an order they entered; the manager reviews the supervisor's.
    reviewer = users["manager"] if scenario.owner == "supervisor" else users["supervisor"]
    logistics = users["logistics"]
    customer = _next_customer(context, scenario)

    order, _ = sales.create_order(
        actor=owner,
        customer=customer,
        lines=_lines(context, customer, scenario.lines, scenario.discount),
        channel=rng.choice(OrderChannel.values),
        requested_delivery_date=today + datetime.timedelta(days=rng.randint(3, 14)),
        customer_reference=f"CG{today:%Y%m}{number:03d}" if number % 3 else "",
        note=scenario.note,
    )
    if scenario.state == "draft":
        return order
    if scenario.state == "cancelled":
        return sales.cancel_order(actor=owner, order=order, reason=DRAFT_CANCELLATION_REASON)

    order = sales.submit_order(actor=owner, order=order)
    if scenario.state == "submitted":
        return order
    if scenario.state == "rejected":
        return sales.reject_order(actor=reviewer, order=order, reason=REJECTION_REASON)

    order = sales.approve_order(actor=reviewer, order=order, reason=APPROVAL_REASON if scenario.discount else "")
    if scenario.state == "approved":
        return order
    order = sales.release_order(actor=logistics, order=order)
    if scenario.state == "cancelled_after_release":
        return sales.cancel_order(actor=reviewer, order=order, reason=RELEASED_CANCELLATION_REASON)
    if scenario.state == "released":
        return order

    shipping = {"actor": logistics, "order": order, "carrier": rng.choice(CARRIERS), "waybill_number": f"SF{rng.randint(10**11, 10**12 - 1)}"}
    warehouses = warehouses_with_open_reservations(order)
    if scenario.state == "partially_shipped":
        # Half of the first line from the first warehouse, so the rest stays reserved.
        first_line = order.lines.order_by("pk").first()
        reserved_there = sum(
            allocation.open_quantity for allocation in first_line.allocations.filter(warehouse=warehouses[0])
        )
        quantity = max(1, min(reserved_there, first_line.quantity // 2))
        sales.ship_order(**shipping, warehouse=warehouses[0], quantities={first_line.pk: quantity})
        order.refresh_from_db()
        return order
    # One shipment per warehouse, as logistics dispatches them.
    for warehouse in warehouses:
        sales.ship_order(**shipping, warehouse=warehouse)
    order.refresh_from_db()
    if scenario.state == "completed":
        # Only delivered goods close an order, so these shipments arrive first.
        deliver_order_shipments(order, users=users)
        return sales.complete_order(actor=logistics, order=order)
    return order


def create_orders(*, users, customers, products, today):
    """Create one order per scenario; return the orders."""
    orderable, expired = _split_customers(customers)
    stocked = sorted((product for product, _ in products if product.lots.exists()), key=lambda p: p.sku)
    context = OrderContext(
        users=users,
        customers_by_owner=orderable,
        expired_by_owner=expired,
        products=stocked,
        today=today,
        rng=random.Random("dentalsales-demo-orders"),
    )
    return [_run(context, number, scenario) for number, scenario in enumerate(SCENARIOS, start=1)]
