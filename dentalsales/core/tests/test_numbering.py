"""Document numbers: readable, per prefix and business day (Asia/Shanghai), gap-free, safe under concurrency."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from dentalsales.core.models import DocumentSequence
from dentalsales.core.services import next_document_number

UTC = datetime.timezone.utc
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="Needs PostgreSQL (DATABASE_URL=postgres://…): SQLite serialises every writer, so row locks are never contended.",
)


class Rollback(Exception):
    """Raised inside a transaction to roll it back on purpose."""


def freeze_now(monkeypatch, instant):
    monkeypatch.setattr(timezone, "now", lambda: instant)


@pytest.fixture
def morning_in_shanghai(monkeypatch):
    """10:00 on 4 December 2026 in Shanghai (02:00 UTC)."""
    freeze_now(monkeypatch, datetime.datetime(2026, 12, 4, 2, 0, tzinfo=UTC))


@pytest.mark.django_db
class TestNumbers:
    def test_numbers_of_a_day_count_up_from_0001(self, morning_in_shanghai):
        first = next_document_number("SO")
        second = next_document_number("SO")
        third = next_document_number("SO")

        assert first == "SO-20261204-0001"
        assert second == "SO-20261204-0002"
        assert third == "SO-20261204-0003"

    def test_each_prefix_has_its_own_sequence(self, morning_in_shanghai):
        order = next_document_number("SO")
        shipment = next_document_number("SH")
        next_order = next_document_number("SO")

        assert order == "SO-20261204-0001"
        assert shipment == "SH-20261204-0001"
        assert next_order == "SO-20261204-0002"

    def test_the_day_changes_at_midnight_in_shanghai_not_utc(self, monkeypatch):
        late_evening = datetime.datetime(2026, 12, 3, 15, 59, 59, tzinfo=UTC)  # 23:59:59 in Shanghai
        after_midnight = datetime.datetime(2026, 12, 3, 16, 0, 0, tzinfo=UTC)  # 00:00:00 on the 4th in Shanghai

        freeze_now(monkeypatch, late_evening)
        evening_numbers = [next_document_number("SO"), next_document_number("SO")]
        freeze_now(monkeypatch, after_midnight)
        night_numbers = [next_document_number("SO"), next_document_number("SO")]

        assert after_midnight.date() == datetime.date(2026, 12, 3)
        assert evening_numbers == ["SO-20261203-0001", "SO-20261203-0002"]
        assert night_numbers == ["SO-20261204-0001", "SO-20261204-0002"]

    def test_one_sequence_row_per_prefix_and_day(self, morning_in_shanghai):
        for _ in range(3):
            next_document_number("SO")
        next_document_number("SH")

        rows = {(row.prefix, row.day, row.last_value) for row in DocumentSequence.objects.all()}
        assert rows == {("SO", datetime.date(2026, 12, 4), 3), ("SH", datetime.date(2026, 12, 4), 1)}

    def test_an_explicit_day_is_used_as_given(self, morning_in_shanghai):
        assert next_document_number("SO", day=datetime.date(2027, 1, 2)) == "SO-20270102-0001"
        assert next_document_number("SO") == "SO-20261204-0001"

    def test_the_number_grows_past_9999_instead_of_wrapping(self, morning_in_shanghai):
        DocumentSequence.objects.create(prefix="SO", day=datetime.date(2026, 12, 4), last_value=9999)

        assert next_document_number("SO") == "SO-20261204-10000"

    def test_savepoint_rollback_reissues_number(self, morning_in_shanghai):
        assert next_document_number("SO") == "SO-20261204-0001"
        with pytest.raises(Rollback):
            with transaction.atomic():
                assert next_document_number("SO") == "SO-20261204-0002"
                raise Rollback

        assert next_document_number("SO") == "SO-20261204-0002"


@pytest.mark.django_db(transaction=True)
class TestTransactions:
    def test_refuses_to_run_outside_a_transaction(self, morning_in_shanghai):
        with pytest.raises(RuntimeError, match="inside the document's transaction"):
            next_document_number("SO")

        assert DocumentSequence.objects.count() == 0

    def test_a_rolled_back_transaction_leaves_no_gap(self, morning_in_shanghai):
        with transaction.atomic():
            committed = next_document_number("SO")
        with pytest.raises(Rollback):
            with transaction.atomic():
                next_document_number("SO")
                raise Rollback
        with transaction.atomic():
            after_rollback = next_document_number("SO")

        assert committed == "SO-20261204-0001"
        assert after_rollback == "SO-20261204-0002"
        assert DocumentSequence.objects.get(prefix="SO").last_value == 2

    def test_rolled_back_first_number_removes_row(self, morning_in_shanghai):
        with pytest.raises(Rollback):
            with transaction.atomic():
                next_document_number("SO")
                raise Rollback

        assert DocumentSequence.objects.count() == 0
        with transaction.atomic():
            assert next_document_number("SO") == "SO-20261204-0001"


def issue_from_threads(*, threads, per_thread, roll_back_call=None):
    """Issue numbers from real threads that start together; return (committed numbers, errors).

    Each call runs in its own transaction; call number ``roll_back_call``
    (0-based) of every thread is rolled back after taking its number.
    """
    barrier = threading.Barrier(threads)
    lock = threading.Lock()
    committed, errors = [], []

    def work():
        try:
            barrier.wait(timeout=30)
            for call in range(per_thread):
                try:
                    with transaction.atomic():
                        number = next_document_number("TST")
                        if call == roll_back_call:
                            raise Rollback
                except Rollback:
                    continue
                with lock:
                    committed.append(number)
        except Exception as error:  # reported by the test's assertion
            with lock:
                errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a worker thread hung"
    return committed, errors


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db(transaction=True)
class TestConcurrency:
    def test_eight_threads_get_1_to_40(self):
        committed, errors = issue_from_threads(threads=8, per_thread=5)

        assert errors == []
        assert len(committed) == 40
        assert len(set(committed)) == 40
        assert sorted(int(number.rsplit("-", 1)[1]) for number in committed) == list(range(1, 41))
        assert DocumentSequence.objects.get(prefix="TST").last_value == 40

    def test_numbers_rolled_back_under_contention_are_reissued(self):
        committed, errors = issue_from_threads(threads=8, per_thread=5, roll_back_call=2)

        assert errors == []
        assert len(committed) == 32
        assert sorted(int(number.rsplit("-", 1)[1]) for number in committed) == list(range(1, 33))
        assert DocumentSequence.objects.get(prefix="TST").last_value == 32
