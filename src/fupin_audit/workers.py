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


def thread_map(function: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
    """``map(function, items)`` on up to ``available_workers()`` threads, results in order."""
    items = list(items)
    workers = min(available_workers(), len(items))
    if workers <= 1:
        return map(function, items)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        return iter(list(pool.map(function, items)))
