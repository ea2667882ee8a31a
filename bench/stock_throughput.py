"""Measure allocation (release) and shipment throughput for orders of 20 lines, through the real services.

Usage (from the repository root):
    .venv/bin/python bench/stock_throughput.py [--orders 200] [--lines 20] [--max-seconds 120]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch> .venv/bin/python bench/stock_throughput.py

Without DATABASE_URL it creates a scratch SQLite file under var/bench/; a
DATABASE_URL must name a database you can wipe, because the script writes
into it. It creates one warehouse, ``--lines`` products with three lots
each (so that first-expiry-first-out picks across lots), and ``--orders``
approved orders of ``--lines`` lines. Then, in one thread, it times three
phases, one order at a time, each in its own transaction as the web and
API calls run them:

* release: ``sales.services.release_order`` (locks and allocation, FEFO);
* pick: ``sales.services.ship_order`` (stock leaves, shipment lines);
* review and dispatch: ``shipping.review_shipment`` by a second person,
  then ``shipping.dispatch_shipment`` (which also creates the receivable).

A phase stops early when ``--max-seconds`` has passed, and the report shows
how many orders it covered. It prints orders per second, order lines per
second and the median and 95th-percentile milliseconds per order, as a
Markdown table for docs/benchmarks.md. It finishes by running the stock
invariant check and fails if any invariant is breached.
"""

import argparse
import datetime
import os
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200, help="orders to release, pick and dispatch")
    parser.add_argument("--lines", type=int, default=20, help="lines per order, each of another product")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="time limit per phase, in seconds")
    return parser.parse_args()


def setup_django():
    if "DATABASE_URL" not in os.environ:
        bench_dir = ROOT / "var" / "bench"
        bench_dir.mkdir(parents=True, exist_ok=True)
        database = bench_dir / "stock.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    logging.disable(logging.INFO)
    from django.core.management import call_command

    if _has_tables():
        call_command("flush", interactive=False, verbosity=0)  # DATABASE_URL must name a scratch database
    call_command("migrate", verbosity=0)


def _has_tables():
    from django.db import connection

    return "inventory_stockbalance" in connection.introspection.table_names()


def prepare(order_count, line_count):
    from django.contrib.auth.models import Group

    from dentalsales.accounts.models import User
    from dentalsales.accounts.roles import Role
    from dentalsales.sales import services as sales
    from dentalsales.testing import factories as f

    for role in Role:
        Group.objects.get_or_create(name=role.value)
    rep = f.UserFactory(username="bench-rep", roles=[Role.REPRESENTATIVE])
    supervisor = f.UserFactory(username="bench-manager", roles=[Role.MANAGER])
    logistics = f.UserFactory(username="bench-logistics", roles=[Role.LOGISTICS])
    reviewer = f.UserFactory(username="bench-quality", roles=[Role.QUALITY_OFFICER])
    warehouse = f.WarehouseFactory()
    customer = f.CustomerFactory(owner=rep, min_shelf_life_days=30, credit_limit=Decimal("1000000000"))
    products = f.ProductFactory.create_batch(line_count)
    for product in products:
        for lot_index, expiry_days in enumerate((200, 400, 600)):
            f.receive(product, warehouse, quantity=order_count * 2, actor=logistics, expiry_days=expiry_days, lot_number=f"B{product.pk}-{lot_index}")
    orders = []
    for _ in range(order_count):
        order = f.make_order(actor=rep, customer=customer, lines=[(product, 3) for product in products])
        sales.submit_order(actor=rep, order=order)
        sales.approve_order(actor=supervisor, order=order, reason="benchmark")
        orders.append(order)
    return User.objects.get(pk=logistics.pk), User.objects.get(pk=reviewer.pk), orders


def timed(items, action, max_seconds):
    durations = []
    started = time.perf_counter()
    for item in items:
        if time.perf_counter() - started > max_seconds:
            break
        begin = time.perf_counter()
        action(item)
        durations.append(time.perf_counter() - begin)
    return durations, time.perf_counter() - started


def main():
    args = parse_args()
    setup_django()
    from django.db import connection

    from dentalsales.inventory import shipping
    from dentalsales.inventory.stock_control import stock_invariant_breaches
    from dentalsales.sales import services as sales

    logistics, reviewer, orders = prepare(args.orders, args.lines)
    shipments = {}

    def release(order):
        sales.release_order(actor=logistics, order=order)

    def pick(order):
        shipments[order.pk] = sales.ship_order(actor=logistics, order=order, carrier="顺丰速运", waybill_number=f"SF{order.pk}")

    def review_and_dispatch(order):
        shipment = shipments[order.pk]
        lines = {line.pk: {"result": "ok"} for line in shipment.lines.all()}
        shipping.review_shipment(actor=reviewer, shipment=shipment, lines=lines)
        shipping.dispatch_shipment(actor=logistics, shipment=shipment)

    results = []
    released_durations, released_total = timed(orders, release, args.max_seconds)
    released = orders[: len(released_durations)]
    results.append(("release (allocate FEFO)", released_durations, released_total))
    picked_durations, picked_total = timed(released, pick, args.max_seconds)
    picked = released[: len(picked_durations)]
    results.append(("pick (ship_order)", picked_durations, picked_total))
    dispatched_durations, dispatched_total = timed(picked, review_and_dispatch, args.max_seconds)
    results.append(("outbound review + dispatch", dispatched_durations, dispatched_total))

    print(f"Database: {connection.vendor}; {args.lines} lines per order; {datetime.date.today()}")
    print()
    print("| phase | orders | orders/s | lines/s | median ms/order | p95 ms/order |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, durations, total in results:
        if not durations:
            print(f"| {name} | 0 | — | — | — | — |")
            continue
        ordered = sorted(durations)
        p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
        rate = len(durations) / total
        print(
            f"| {name} | {len(durations)} | {rate:.1f} | {rate * args.lines:.0f} | "
            f"{statistics.median(durations) * 1000:.1f} | {p95 * 1000:.1f} |"
        )
    breaches = stock_invariant_breaches()
    if breaches:
        print("Stock invariant breaches:", *breaches, sep="\n")
        sys.exit(1)
    print()
    print("Stock invariants hold after the run.")


if __name__ == "__main__":
    main()
