"""Rules and validation on several threads give the findings of one thread."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from fupin_audit import workers
from fupin_audit.audit import audit
from fupin_audit.engine.context import AuditContext
from fupin_audit.sample import generate, write_parquet
from fupin_audit.schema import validate
from fupin_audit.workers import available_workers, one_worker, thread_map

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "宿松县样例.xlsx"


@pytest.mark.parametrize("data", ["bundled", "generated"])
def test_threads_give_the_findings_of_one_thread(tmp_path, monkeypatch, data):
    if data == "bundled":
        paths = [SAMPLE]
    else:  # every kind of planted defect, 3000 households
        paths = write_parquet(generate(3000, seed=11, year=2017, defects=True), tmp_path)
    monkeypatch.setattr(workers, "THREADS_MIN_ROWS", 0)  # threads even for these small tables
    monkeypatch.setattr(validate, "VALIDATION_THREADS_MIN_ROWS", 0)
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "1")
    alone = audit(paths)
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "4")
    together = audit(paths)
    assert len(alone.findings) > 80 and alone.findings["rule"].nunique() > 30
    pd.testing.assert_frame_equal(alone.findings, together.findings)
    assert [(o.code, o.status, o.findings) for o in alone.outcomes] == [
        (o.code, o.status, o.findings) for o in together.outcomes
    ]
    for kind, table in alone.dataset.tables.items():
        pd.testing.assert_frame_equal(table.data, together.dataset.tables[kind].data)
        pd.testing.assert_frame_equal(table.problems, together.dataset.tables[kind].problems)


def test_a_shared_computation_runs_once_however_many_rules_ask():
    ctx = AuditContext.__new__(AuditContext)
    ctx._cache, ctx._computing, ctx._guard = {}, {}, threading.Lock()
    calls = []

    def compute():
        calls.append(threading.get_ident())
        time.sleep(0.2)  # long enough for every thread to ask while it runs
        return object()

    barrier = threading.Barrier(6)

    def ask(_):
        barrier.wait()
        return ctx.cached("id_analysis", compute)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(6)]
    results = []
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = {id(ctx.cached("id_analysis", compute))}
    assert len(calls) == 1 and len(results) == 1


def test_thread_map_keeps_order_and_one_worker_stays_on_its_thread(monkeypatch):
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "3")
    assert available_workers() == 3
    seen = set()

    def slow_square(x):
        seen.add(threading.get_ident())
        time.sleep(0.01 * (5 - x))
        return x * x

    assert list(thread_map(slow_square, range(6), 0)) == [0, 1, 4, 9, 16, 25]
    assert len(seen) == 1  # small work stays on this thread
    seen.clear()
    assert list(thread_map(slow_square, range(6), workers.THREADS_MIN_ROWS)) == [0, 1, 4, 9, 16, 25]
    assert len(seen) > 1

    @one_worker
    def task():
        seen.clear()
        out = list(thread_map(slow_square, range(6), workers.THREADS_MIN_ROWS))
        return available_workers(), out, seen == {threading.get_ident()}

    assert task() == (1, [0, 1, 4, 9, 16, 25], True)
    assert available_workers() == 3


def test_validation_puts_every_table_s_columns_in_one_pool(tmp_path, monkeypatch):
    """A 100,000-household table is not validated on one thread while the members table waits: the
    columns of all tables are one list of work, the longest table's first."""
    paths = write_parquet(generate(300, seed=3, year=2017), tmp_path)
    pools: list[list[tuple[int, str]]] = []
    real = validate.thread_map

    def spy(function, items, rows, min_rows=None):
        items = list(items)
        pools.append(items)
        return real(function, items, rows, min_rows)

    monkeypatch.setattr(validate, "thread_map", spy)
    result = audit(paths)
    assert len(pools) == 1
    tables = {t for t, _ in pools[0]}
    assert len(tables) == len(result.dataset.tables) >= 5
    kinds = list(result.dataset.tables)
    lengths = [len(result.dataset.tables[kinds[t]].raw) for t, _ in pools[0]]
    assert lengths == sorted(lengths, reverse=True) and kinds[pools[0][0][0]] == "members"
