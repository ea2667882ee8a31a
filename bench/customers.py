"""Benchmark the customer screens on 50,000 customers and 200,000 activities against a bare Django view.

Usage (from the repository root):
    .venv/bin/python bench/customers.py [--customers 50000] [--activities 200000] [--runs 30]

It creates a scratch SQLite database under var/bench/ (or uses DATABASE_URL
when set, which must point at a database you can wipe), fills it with
generated rows through bulk_create, and then requests each page ``--runs``
times through Django's test client, as a manager (who sees every customer)
and as one of 20 representatives (who sees 1/20 of them). The server time
is the wall time of ``Client.get``: URL routing, middleware, view, queries
and template rendering, without the network.

Each page is paired with a bare view defined in this script. It is a plain
Django view with no middleware work of its own beyond the project's, and
it renders as many rows of one table (customers, by primary key) as the
measured page rendered, in a minimal template. The difference between the
two is the cost of the page's own queries and markup. The script prints a
Markdown table for docs/benchmarks.md.
"""

import argparse
import datetime
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REPRESENTATIVES = 20
CITIES = ["北京", "上海", "广州", "深圳", "成都", "杭州", "南京", "武汉", "西安", "重庆", "天津", "苏州", "长沙", "青岛", "厦门"]
WORDS = ["博雅", "微笑", "德雅", "贝佳", "美奥", "瑞尔", "华美", "佳美", "康贝", "雅洁", "爱齿", "牙博士", "皓齿", "欣悦", "仁爱"]
KINDS = ["口腔诊所", "口腔门诊部", "口腔医院", "齿科", "口腔医疗器械有限公司"]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50000, help="number of customers to generate")
    parser.add_argument("--activities", type=int, default=200000, help="number of activities to generate")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    return parser.parse_args()


def setup_django():
    if "DATABASE_URL" not in os.environ:
        bench_dir = ROOT / "var" / "bench"
        bench_dir.mkdir(parents=True, exist_ok=True)
        database = bench_dir / "customers.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DEBUG"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def bare_rows(request):
    """Render ``?rows=`` customers from one table, with no joins, in a minimal template: the baseline."""
    from django.http import HttpResponse
    from django.template import engines

    from dentalsales.customers.models import Customer

    count = int(request.GET.get("rows", "50"))
    rows = list(Customer.objects.order_by("pk").values_list("code", "name", "customer_type")[:count])
    template = engines["django"].from_string(
        "<table>{% for code, name, kind in rows %}<tr><td>{{ code }}</td><td>{{ name }}</td><td>{{ kind }}</td></tr>{% endfor %}</table>"
    )
    return HttpResponse(template.render({"rows": rows}))


def install_bare_view():
    from django.urls import clear_url_caches, path

    from config import urls

    urls.urlpatterns.insert(0, path("bench/bare/", bare_rows))
    clear_url_caches()


def generate(customer_count, activity_count):
    from django.contrib.auth.models import Group

    from dentalsales.accounts.models import Team, User
    from dentalsales.core.pinyin import build_search_text
    from dentalsales.core.timeutils import local_today
    from dentalsales.crm.models import Activity, RevisitPlan
    from dentalsales.customers.models import Customer, Qualification
    from django.db import connection

    rng = random.Random("bench-customers")
    manager = User.objects.create_user("bench-manager", password="x")
    manager.groups.add(Group.objects.get(name="manager"))
    supervisor = User.objects.create_user("bench-supervisor", password="x")
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    team = Team.objects.create(name="bench team", supervisor=supervisor)
    representative_group = Group.objects.get(name="representative")
    representatives = []
    for index in range(REPRESENTATIVES):
        user = User.objects.create_user(f"bench-rep{index}", password="x", team=team)
        user.groups.add(representative_group)
        representatives.append(user)

    started = time.perf_counter()
    batch = []
    for index in range(customer_count):
        name = f"{rng.choice(CITIES)}{rng.choice(WORDS)}{rng.choice(KINDS)}{index}"
        code = f"BC{index:06d}"
        batch.append(
            Customer(
                code=code, name=name, customer_type="clinic", category="general", grade=rng.choice("ABC"),
                owner=representatives[index % REPRESENTATIVES], contact_phone=f"138{index:08d}",
                search_text=build_search_text(code, name),
            )
        )
        if len(batch) == 5000:
            Customer.objects.bulk_create(batch)
            batch = []
    Customer.objects.bulk_create(batch)
    customer_ids = list(Customer.objects.order_by("pk").values_list("pk", "owner_id"))
    Qualification.objects.bulk_create(
        (Qualification(customer_id=pk, kind="medical_institution_licence", number=f"Q{pk}", verification_status="verified")
         for pk, _owner in customer_ids),
        batch_size=5000,
    )
    print(f"customers: {time.perf_counter() - started:.1f} s", file=sys.stderr)

    started = time.perf_counter()
    today = local_today()
    batch = []
    for index in range(activity_count):
        customer_pk, owner_pk = customer_ids[index % len(customer_ids)]
        batch.append(
            Activity(
                customer_id=customer_pk, owner_id=owner_pk, kind=("visit", "phone", "email", "event")[index % 4],
                occurred_on=today - datetime.timedelta(days=rng.randint(1, 400)), subject="产品介绍与回访",
                outcome="客户同意试用", status="submitted",
            )
        )
        if len(batch) == 10000:
            Activity.objects.bulk_create(batch)
            batch = []
    Activity.objects.bulk_create(batch)
    RevisitPlan.objects.bulk_create(
        (RevisitPlan(customer_id=pk, owner_id=owner, due_on=today + datetime.timedelta(days=rng.randint(-60, 30)))
         for pk, owner in customer_ids),
        batch_size=5000,
    )
    print(f"activities and revisit plans: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if connection.vendor == "postgresql":
        # Planner statistics as autovacuum would have them after a bulk load.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return manager, representatives[0], customer_ids[len(customer_ids) // 2][0]


def rows_in(response):
    """Count the rows a response renders: table rows of a page, results of a JSON response."""
    if response["Content-Type"].startswith("application/json"):
        return len(json.loads(response.content)["results"])
    return response.content.decode().count("<tr")


def timed(client, url, runs):
    from django.db import connection

    client.get(url)
    queries = []
    with connection.execute_wrapper(lambda execute, sql, params, many, context: queries.append(sql) or execute(sql, params, many, context)):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p95 = timings[max(0, int(len(timings) * 0.95 + 0.5) - 1)]
    return response, statistics.median(timings), p95, len(queries)


def main():
    args = parse_args()
    setup_django()
    install_bare_view()
    from django.db import connection
    from django.test import Client

    started = time.perf_counter()
    manager, representative, customer_pk = generate(args.customers, args.activities)
    print(f"generated in {time.perf_counter() - started:.1f} s on {connection.vendor}", file=sys.stderr)

    own_customer = representative.customers.order_by("pk").values_list("pk", flat=True)[50]
    pages = [
        ("manager", manager, "customer list", "/customers/"),
        ("manager", manager, "customer list, pinyin search", "/customers/?q=bjkq"),
        ("manager", manager, "search widget, pinyin initials", "/customers/autocomplete/?q=bjkq"),
        ("manager", manager, "customer page", f"/customers/{customer_pk}/"),
        ("manager", manager, "overdue revisits", "/crm/revisits/?state=overdue"),
        ("representative", representative, "customer list", "/customers/"),
        ("representative", representative, "search widget, pinyin initials", "/customers/autocomplete/?q=bjkq"),
        ("representative", representative, "customer page", f"/customers/{own_customer}/"),
        ("representative", representative, "overdue revisits", "/crm/revisits/?state=overdue"),
    ]
    print(f"\n{args.customers:,} customers, {args.activities:,} activities, {connection.vendor}, {args.runs} runs per page\n")
    print("| user | page | rows | median ms | p95 ms | queries | bare view median ms | bare view p95 ms |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for role, user, label, url in pages:
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        response, median, p95, queries = timed(client, url, args.runs)
        rows = rows_in(response)
        _bare, bare_median, bare_p95, _bare_queries = timed(client, f"/bench/bare/?rows={rows}", args.runs)
        print(f"| {role} | {label} `{url}` | {rows} | {median:.1f} | {p95:.1f} | {queries} | {bare_median:.1f} | {bare_p95:.1f} |")


if __name__ == "__main__":
    main()
