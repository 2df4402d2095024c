"""How many cores a run may use, and a map over them for work that releases the GIL.

Most of a check's time is spent in arrow's compute kernels and numpy, which release the GIL: two
columns validated, or two rules run, on two threads really do run at once. ``FUPIN_AUDIT_WORKERS``
sets how many threads (and, for big workbooks, reading processes) a run uses; 1 runs everything in
order on one thread, as a debugging aid and for a machine shared with other jobs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, TypeVar

from fupin_audit.errors import ConfigError

WORKERS_ENV = "FUPIN_AUDIT_WORKERS"

T = TypeVar("T")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

# Set inside a task of a distributed run: the cluster already runs one task per core.
_ONE = ContextVar("fupin_audit_one_worker", default=False)


def one_worker(function: F) -> F:
    """Run ``function`` on its calling thread only: no threads of ours, no reading processes."""

    @functools.wraps(function)
    def alone(*args: Any, **kwargs: Any) -> Any:
        token = _ONE.set(True)
        try:
            return function(*args, **kwargs)
        finally:
            _ONE.reset(token)

    return alone  # type: ignore[return-value]


def available_workers() -> int:
    """1 inside a ``one_worker`` function; else FUPIN_AUDIT_WORKERS, else the processors this
    process may use."""
    if _ONE.get():
        return 1
    text = os.environ.get(WORKERS_ENV, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise ConfigError(f"环境变量 {WORKERS_ENV}={text!r} 须为正整数")
        return int(text)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Below this many rows pandas' per-call overhead, which holds the GIL, outweighs the kernels that
# release it, and a second thread only adds contention. Measured here (2 cores): all rules over 35k
# members took 1.05 s on one thread and 1.5 s on two; over 349k, 3.45 s and 3.2 s; over 3.5M, 36 s
# and 28 s.
THREADS_MIN_ROWS = 250_000


def thread_map(function: Callable[[T], R], items: Iterable[T], rows: int) -> Iterator[R]:
    """``map(function, items)``, results in order: on up to ``available_workers()`` threads when
    the work is over tables of at least ``THREADS_MIN_ROWS`` rows, else on this thread."""
    items = list(items)
    workers = min(available_workers(), len(items)) if rows >= THREADS_MIN_ROWS else 1
    if workers <= 1:
        return map(function, items)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return iter(list(pool.map(function, items)))
