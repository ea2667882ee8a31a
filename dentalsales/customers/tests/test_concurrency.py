"""Customer writes under real concurrency on PostgreSQL: one verification wins, one primary contact remains.

Each test starts real threads at one barrier; every thread works on its
own database connection and closes it at the end.
"""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection

from dentalsales.accounts.models import User
from dentalsales.accounts.roles import Role
from dentalsales.core.errors import InvalidTransition
from dentalsales.customers import services
from dentalsales.customers.models import VerificationStatus
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
    """Recreate the role groups: a transactional test flushes the database, data migrations included."""
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def run_together(calls):
    """Run each callable in its own thread, all started at once; return ("ok", result) or ("error", exception) per call."""
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


def test_concurrent_verifications_one_wins():
    quality = f.UserFactory(username="quality", roles=[Role.QUALITY_OFFICER])
    quality2 = f.UserFactory(username="quality2", roles=[Role.QUALITY_OFFICER])
    customer = f.CustomerFactory(owner=f.UserFactory(username="rep", roles=[Role.REPRESENTATIVE]))
    qualification = customer.qualifications.get()
    qualification.verification_status = VerificationStatus.PENDING
    qualification.save()

    outcomes = run_together(
        [
            lambda: services.verify_qualification(actor=quality, qualification=qualification, approve=True),
            lambda: services.verify_qualification(actor=quality2, qualification=qualification, approve=False, note="模糊"),
        ]
    )

    kinds = sorted(kind for kind, _value in outcomes)
    assert kinds == ["error", "ok"]
    errors = [value for kind, value in outcomes if kind == "error"]
    assert isinstance(errors[0], InvalidTransition)


def test_concurrent_primary_contacts_leave_one():
    rep = f.UserFactory(username="rep", roles=[Role.REPRESENTATIVE])
    customer = f.CustomerFactory(owner=rep)

    outcomes = run_together(
        [
            lambda index=index: services.create_contact(
                actor=User.objects.get(pk=rep.pk), customer=customer, name=f"联系人{index}", is_primary=True
            )
            for index in range(4)
        ]
    )

    assert [kind for kind, _value in outcomes] == ["ok"] * 4
    assert customer.contacts.count() == 4
    assert customer.contacts.filter(is_primary=True).count() == 1
