"""Customer development under real concurrency on PostgreSQL: one open revisit plan per customer, no row imported twice.

Each test starts real threads at one barrier; every thread works on its
own database connection and closes it at the end.
"""

import datetime
import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import Role
from dentalsales.core.timeutils import local_today
from dentalsales.crm import services
from dentalsales.crm.models import ImportJob, RevisitPlan
from dentalsales.customers import importing
from dentalsales.customers.models import Customer
from dentalsales.testing import factories as f

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="Needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises every writer, so row locks are never contended.",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _role_groups(db):
    """Recreate the role groups and revisit intervals: a transactional test flushes the database, data migrations included."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def run_together(calls):
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def work(index, call):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = ("ok", call())
        except Exception as error:  # the test inspects every outcome
            outcomes[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return outcomes


def fresh(user):
    return User.objects.get(pk=user.pk)


def test_concurrent_visit_submissions_leave_one_open_plan(rep, customer):
    yesterday = local_today() - datetime.timedelta(days=1)
    activities = [
        services.create_activity(actor=rep, customer=customer, kind="visit", occurred_on=yesterday, subject=f"拜访{i}")
        for i in range(6)
    ]

    outcomes = run_together([lambda a=a: services.submit_activity(actor=fresh(rep), activity=a) for a in activities])

    assert [outcome[0] for outcome in outcomes] == ["ok"] * 6
    assert RevisitPlan.objects.filter(customer=customer, status="open").count() == 1


def test_concurrent_plan_runs_create_one_plan_each(rep):
    for _ in range(20):
        f.CustomerFactory(owner=rep)

    outcomes = run_together([services.plan_revisits for _ in range(4)])

    assert [outcome[0] for outcome in outcomes] == ["ok"] * 4
    assert sum(outcome[1] for outcome in outcomes) == 20
    assert RevisitPlan.objects.filter(status="open").count() == 20


def test_concurrent_import_steps_never_import_a_row_twice(rep):
    lines = "".join(f"P{i},成都口腔{i},口腔诊所\n" for i in range(30))
    job = importing.create_import_job(actor=rep, kind="customers", name="c.csv", data=("客户编码,客户名称,客户类型\n" + lines).encode())
    importing.start_import(actor=rep, job=job, mode="all")

    def step():
        current = ImportJob.objects.get(pk=job.pk)
        return importing.run_import_step(actor=fresh(rep), job=current, batch_size=10).processed_rows

    outcomes = run_together([step for _ in range(5)])

    assert [outcome[0] for outcome in outcomes] == ["ok"] * 5
    job.refresh_from_db()
    assert job.status == "done"
    assert Customer.objects.filter(code__startswith="P").count() == 30
    assert len(job.imported_rows) == 30


def test_concurrent_gift_posts_with_one_token_record_one_gift(rep, customer):
    from dentalsales.crm.models import Gift

    from .factories import ContactFactory

    contact = ContactFactory(customer=customer)

    def post():
        gift = services.create_gift(
            actor=fresh(rep), customer=customer.pk, idempotency_key="form-token-1", recipient=contact.pk, kind="gift",
            description="双击礼品", value="50", given_on=local_today(), purpose="学术交流",
        )
        return gift.pk

    outcomes = run_together([post for _ in range(4)])

    assert [outcome[0] for outcome in outcomes] == ["ok"] * 4
    assert len({outcome[1] for outcome in outcomes}) == 1
    assert Gift.objects.count() == 1
