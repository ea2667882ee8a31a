"""Benchmark the recall and trace queries over a large number of shipment lines.

Usage (from the repository root):
    .venv/bin/python bench/recall_query.py [--lines 1000000] [--runs 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<scratch database> .venv/bin/python bench/recall_query.py

It creates a scratch SQLite database under var/bench/, or uses DATABASE_URL,
which must point at a database you can wipe. It generates 2,000 customers,
200 products with 20 lots each, one shipment per 10 lines and ``--lines``
shipment lines, each of a lot drawn at random. Then it times each of these
``--runs`` times:

* ``trace_shipments`` for one lot (the lots API's trace and the recall's
  shipment table),
* ``trace_customers`` for one lot and for five lots (the affected-customer
  list that opening a recall builds),
* ``GET /api/v1/lots/<id>/trace/`` through Django's test client, as the
  quality officer,

first with the foreign-key index on ``lot_id`` that Django creates, then
again after adding an index on (lot_id, shipment_id, quantity).

Shipment lines are written with executemany on SQLite and COPY on
PostgreSQL, since model instances for a million rows would take minutes.
Each shipment's lines point at the shipment's one order line whatever
their product, which the trace queries do not read. It prints the load
time and a Markdown table (median and 95th percentile in ms, rows
returned) for docs/benchmarks.md.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CUSTOMERS = 2000
PRODUCTS = 200
LOTS_PER_PRODUCT = 20
LINES_PER_SHIPMENT = 10
BATCH = 20_000


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="number of shipment lines to generate")
    parser.add_argument("--runs", type=int, default=30, help="timed runs per query")
    return parser.parse_args()


def setup_django():
    if "DATABASE_URL" not in os.environ:
        bench_dir = ROOT / "var" / "bench"
        bench_dir.mkdir(parents=True, exist_ok=True)
        database = bench_dir / "recall.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def generate_master_data(line_count):
    from django.contrib.auth.models import Group

    from dentalsales.accounts.models import User
    from dentalsales.catalog.models import Product
    from dentalsales.core.timeutils import local_today
    from dentalsales.customers.models import Customer
    from dentalsales.inventory.models import Lot, Shipment, Warehouse
    from dentalsales.sales.models import SalesOrder, SalesOrderLine

    today = local_today()
    quality = User.objects.create_user("bench-quality", password="x")
    quality.groups.add(Group.objects.get(name="quality_officer"))
    rep = User.objects.create_user("bench-rep", password="x")
    warehouse = Warehouse.objects.create(code="BW1", name="基准仓")
    products = Product.objects.bulk_create(
        Product(
            sku=f"R{index:05d}", name=f"根管锉{index}", manufacturer="Bench Dental", unit="盒", device_class="II",
            registration_number=f"粤械注准2020217{index:04d}", registration_valid_until=today + datetime.timedelta(days=700),
            list_price=Decimal("100.0000"),
        )
        for index in range(PRODUCTS)
    )
    lots = Lot.objects.bulk_create(
        Lot(
            product=product, lot_number=f"L{product.pk:04d}{index:03d}",
            production_date=today - datetime.timedelta(days=300), expiry_date=today + datetime.timedelta(days=400 + index),
        )
        for product in products
        for index in range(LOTS_PER_PRODUCT)
    )
    customers = Customer.objects.bulk_create(
        Customer(
            code=f"RC{index:06d}", name=f"基准口腔诊所{index}", customer_type="clinic", owner=rep,
            contact_name=f"联系人{index}", contact_phone=f"010-{index:08d}",
        )
        for index in range(CUSTOMERS)
    )
    shipment_count = -(-line_count // LINES_PER_SHIPMENT)
    order_ids, order_line_ids, shipment_ids = [], [], []
    for start in range(0, shipment_count, BATCH):
        indexes = range(start, min(start + BATCH, shipment_count))
        orders = SalesOrder.objects.bulk_create(
            SalesOrder(
                number=f"SO-RB-{index:08d}", customer=customers[index % CUSTOMERS], owner=rep, channel="phone", status="shipped",
                order_date=today - datetime.timedelta(days=index % 365), total_amount=Decimal("1000.00"),
                tax_amount=Decimal("115.04"), created_by=rep,
            )
            for index in indexes
        )
        order_lines = SalesOrderLine.objects.bulk_create(
            SalesOrderLine(
                order=order, product=products[order.pk % PRODUCTS], quantity=10, shipped_quantity=10, unit_price=Decimal("100"),
                amount=Decimal("1000.00"), tax_rate=Decimal("0.13"), tax_amount=Decimal("115.04"), list_price=Decimal("100"),
            )
            for order in orders
        )
        shipments = Shipment.objects.bulk_create(
            Shipment(
                number=f"SH-RB-{index:08d}", order=order, customer_id=order.customer_id, delivery_address="北京市朝阳区建国路 1 号",
                receiving_contact="联系人", carrier="顺丰速运", shipped_on=order.order_date, shipped_by=rep, status="delivered",
            )
            for index, order in zip(indexes, orders)
        )
        order_ids += [order.pk for order in orders]
        order_line_ids += [line.pk for line in order_lines]
        shipment_ids += [shipment.pk for shipment in shipments]
    return quality, warehouse, lots, shipment_ids, order_line_ids


def shipment_line_rows(line_count, warehouse, lots, shipment_ids, order_line_ids):
    """Yield shipment-line tuples, each with a lot drawn at random (fixed seed), so a lot reaches many customers."""
    rng = random.Random("recall-bench")
    for index in range(line_count):
        lot = lots[rng.randrange(len(lots))]
        shipment_index = index // LINES_PER_SHIPMENT
        yield (
            shipment_ids[shipment_index], order_line_ids[shipment_index], warehouse.pk, lot.product_id, lot.pk, 1 + index % 5,
            "根管锉", "25mm", "盒", "Bench Dental", "粤械注准20202170001", "", lot.lot_number,
            lot.production_date.isoformat(), lot.expiry_date.isoformat(),
        )


LINE_COLUMNS = (
    "shipment_id", "order_line_id", "warehouse_id", "product_id", "lot_id", "quantity", "product_name", "specification",
    "unit", "manufacturer", "registration_number", "storage_conditions", "lot_number", "production_date", "expiry_date",
)


def insert_shipment_lines(rows):
    from django.db import connection, transaction

    from dentalsales.inventory.models import ShipmentLine

    table = ShipmentLine._meta.db_table
    columns = ", ".join(LINE_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        placeholders = ", ".join(["%s"] * len(LINE_COLUMNS))
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == BATCH:
                cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", batch)
                batch = []
        if batch:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", batch)


def analyse():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def timed(function, runs):
    function()  # warm caches
    timings = []
    result = None
    for _ in range(runs):
        started = time.perf_counter()
        result = function()
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return statistics.median(timings), p95, result


def main():
    args = parse_args()
    setup_django()
    from django.db import connection
    from django.test import Client

    from dentalsales.inventory.trace import trace_customers, trace_shipments

    started = time.perf_counter()
    quality, warehouse, lots, shipment_ids, order_line_ids = generate_master_data(args.lines)
    master_seconds = time.perf_counter() - started
    started = time.perf_counter()
    insert_shipment_lines(shipment_line_rows(args.lines, warehouse, lots, shipment_ids, order_line_ids))
    lines_seconds = time.perf_counter() - started
    analyse()
    print(
        f"{connection.vendor}: {len(shipment_ids)} orders and shipments in {master_seconds:.1f} s, "
        f"{args.lines} shipment lines in {lines_seconds:.1f} s",
        file=sys.stderr,
    )

    lot = lots[len(lots) // 2]
    five_lots = [item.pk for item in lots[100:105]]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(quality)

    def api_trace():
        response = client.get(f"/api/v1/lots/{lot.pk}/trace/")
        assert response.status_code == 200, response.status_code
        return response.json()

    cases = [
        ("trace_shipments, 1 lot", lambda: trace_shipments([lot.pk])),
        ("trace_customers, 1 lot", lambda: trace_customers([lot.pk])),
        ("trace_customers, 5 lots", lambda: trace_customers(five_lots)),
        ("GET /api/v1/lots/{id}/trace/", api_trace),
    ]
    print(f"{args.lines:,} shipment lines, {len(lots):,} lots, {CUSTOMERS:,} customers, {connection.vendor}")
    print("| query | index | median ms | p95 ms | rows |")
    print("| --- | --- | ---: | ---: | ---: |")
    for index_label in ("lot_id (foreign key)", "lot_id, shipment_id, quantity"):
        if index_label != "lot_id (foreign key)":
            create_covering_index()
        for label, function in cases:
            median, p95, result = timed(function, args.runs)
            print(f"| {label} | {index_label} | {median:.1f} | {p95:.1f} | {len(result)} |")


def create_covering_index():
    """Add an index that contains every shipment-line column the trace queries read besides lot_number."""
    from django.db import connection

    from dentalsales.inventory.models import ShipmentLine

    table = ShipmentLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE INDEX bench_shipmentline_trace ON {table} (lot_id, shipment_id, quantity)")
    analyse()


if __name__ == "__main__":
    main()
