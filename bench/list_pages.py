"""Benchmark the list pages and list API endpoints on a large generated data set.

Usage (from the repository root):
    .venv/bin/python bench/list_pages.py [--customers 2000] [--orders 20000] [--runs 20]

It creates a scratch SQLite database under var/bench/ (or uses DATABASE_URL
when set, which must point at a database you can wipe), fills it with
generated rows, then requests each page ``--runs`` times through Django's
test client as a manager, who sees every row. It prints, per page, the
median and 95th-percentile time, the number of SQL queries, and the peak
Python memory allocated while rendering one request (tracemalloc, traced
apart from the timed requests), as a Markdown table
for docs/benchmarks.md.

The data are written with bulk_create, not through the services, because
the services' per-row checks would make generating tens of thousands of
orders take minutes; the pages read the same tables either way.
"""

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=2000, help="number of customers to generate")
    parser.add_argument("--orders", type=int, default=20000, help="number of sales orders to generate (3 lines each)")
    parser.add_argument("--runs", type=int, default=20, help="requests per page")
    return parser.parse_args()


def setup_django():
    if "DATABASE_URL" not in os.environ:
        bench_dir = ROOT / "var" / "bench"
        bench_dir.mkdir(parents=True, exist_ok=True)
        database = bench_dir / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def generate(customer_count, order_count):
    import datetime

    from django.contrib.auth.models import Group

    from dentalsales.accounts.models import User
    from dentalsales.catalog.models import Product
    from dentalsales.core.pinyin import build_search_text
    from dentalsales.core.timeutils import local_today
    from dentalsales.customers.models import Customer, Qualification
    from dentalsales.sales.models import SalesOrder, SalesOrderLine

    manager = User.objects.create_user("bench-manager", password="x")
    manager.groups.add(Group.objects.get(name="manager"))
    rep = User.objects.create_user("bench-rep", password="x")
    rep.groups.add(Group.objects.get(name="representative"))

    products = Product.objects.bulk_create(
        Product(
            sku=f"B{index:05d}",
            name=f"复合树脂{index}",
            manufacturer="Bench Dental",
            unit="支",
            device_class="II",
            registration_number=f"粤械注准2020217{index:04d}",
            registration_valid_until=local_today() + datetime.timedelta(days=700),
            list_price=Decimal("100.0000"),
            search_text=build_search_text(f"B{index:05d}", f"复合树脂{index}"),
        )
        for index in range(300)
    )
    customers = Customer.objects.bulk_create(
        Customer(
            code=f"BC{index:06d}",
            name=f"测试口腔诊所{index}",
            customer_type="clinic",
            owner=rep,
            credit_limit=Decimal("100000"),
            search_text=f"bc{index:06d} 测试口腔诊所{index}",
        )
        for index in range(customer_count)
    )
    Qualification.objects.bulk_create(
        Qualification(customer=customer, kind="medical_institution_licence", number=f"Q{customer.pk}") for customer in customers
    )
    today = local_today()
    orders = SalesOrder.objects.bulk_create(
        SalesOrder(
            number=f"SO-BENCH-{index:07d}",
            customer=customers[index % customer_count],
            owner=rep,
            channel="phone",
            status="draft",
            order_date=today - datetime.timedelta(days=index % 365),
            total_amount=Decimal("300.00"),
            tax_amount=Decimal("34.51"),
            created_by=rep,
        )
        for index in range(order_count)
    )
    SalesOrderLine.objects.bulk_create(
        SalesOrderLine(
            order=order,
            product=products[(order.pk + line) % len(products)],
            quantity=1,
            unit_price=Decimal("100"),
            amount=Decimal("100.00"),
            tax_rate=Decimal("0.13"),
            tax_amount=Decimal("11.50"),
            list_price=Decimal("100"),
        )
        for order in orders
        for line in range(3)
    )
    return manager


def measure(client, url, runs):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm caches and template loading
    timings = []
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    queries = len(context.captured_queries)
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    # Memory is traced in a separate request because tracemalloc slows
    # Python down several times and would distort the timings.
    tracemalloc.start()
    client.get(url)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    reset_queries()
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95) - 1)]
    return statistics.median(timings), p95, queries, peak / 1024 / 1024


def main():
    args = parse_args()
    setup_django()
    started = time.perf_counter()
    manager = generate(args.customers, args.orders)
    print(f"generated {args.customers} customers and {args.orders} orders in {time.perf_counter() - started:.1f} s", file=sys.stderr)

    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(manager)
    pages = [
        ("/orders/", "order list page"),
        ("/orders/?status=draft&q=测试", "order list page, filtered"),
        ("/customers/", "customer list page"),
        ("/customers/?q=cskqzs1", "customer list page, pinyin search"),
        ("/api/v1/orders/", "order list API"),
        ("/api/v1/customers/", "customer list API"),
        ("/api/v1/products/?search=fhsz", "product list API, pinyin search"),
    ]
    print(f"| page | URL | median ms | p95 ms | queries | peak MiB |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for url, label in pages:
        median, p95, queries, peak = measure(client, url, args.runs)
        print(f"| {label} | `{url}` | {median:.1f} | {p95:.1f} | {queries} | {peak:.1f} |")


if __name__ == "__main__":
    main()
