"""Work off the main thread: how many cores a run may use, threads for work that releases the GIL,
and helper processes for reading files, each with a timeout and a memory limit.

Threads. Most of a check's time is spent in arrow's compute kernels and numpy, which release the
GIL: two columns validated, or two rules run, on two threads really do run at once (``thread_map``);
legacy workbooks wait on their helper process, so several are read at once (``started``).

Helper processes. Parsing a workbook holds the GIL, and a damaged one can make the parser abort the
process or ask for hundreds of GiB: sheets of a big xlsx (``io.parallel``) and every .xls, .xlsb and
.ods (``io.isolate``) are read by a :class:`Helper`. Each runs under an address-space limit and a
timeout per item (one sheet, or opening the workbook); an item that runs out of time or memory, or
whose helper dies, comes back as a :class:`HelperFailure` naming the cause, never as a hang or a
crash of the run.

``FUPIN_AUDIT_WORKERS`` sets how many threads and helper processes a run uses; 1 runs everything in
order on one thread (helpers for .xls and the like still isolate the parser), as a debugging aid and
for a machine shared with other jobs.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import fupin_audit
from fupin_audit.errors import ConfigError, one_line
from fupin_audit.io.limits import ENV, human_size

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
        prefer_jemalloc()  # the worker process runs our checks: its allocator is ours to choose
        token = _ONE.set(True)
        try:
            return function(*args, **kwargs)
        finally:
            _ONE.reset(token)

    return alone  # type: ignore[return-value]


# --------------------------------------------------------------------------- memory

ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def prefer_jemalloc() -> str:
    """Give Arrow's allocations to jemalloc where the pyarrow build has it, unless the user chose a
    pool (ARROW_DEFAULT_MEMORY_POOL); returns the pool's name. A check allocates and frees column-sized
    buffers all the time, and the default (mimalloc) gives freed pages back and faults them in again:
    on a 300,000-household storm county jemalloc cut the peak RSS by 12 % (3.33 → 2.92 GB) and the
    kernel's CPU time by 40 % (12.6 → 7.7 s). For a process that runs checks (the CLI, a Dask
    worker's task), not for a library caller, whose process the allocator belongs to."""
    import pyarrow as pa

    if os.environ.get(ARROW_POOL_ENV) or pa.default_memory_pool().backend_name == "jemalloc":
        return pa.default_memory_pool().backend_name
    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:  # a build without jemalloc (Windows wheels): keep the default
        return pa.default_memory_pool().backend_name
    pa.set_memory_pool(pool)
    return pool.backend_name


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


# --------------------------------------------------------------------------- threads

# Below this many rows pandas' per-call overhead, which holds the GIL, outweighs the kernels that
# release it, and a second thread only adds contention. Measured here (2 cores): all rules over 35k
# members took 1.05 s on one thread and 1.5 s on two; over 349k, 3.45 s and 3.2 s; over 3.5M, 36 s
# and 28 s.
THREADS_MIN_ROWS = 250_000


def thread_count(items: int, rows: int, min_rows: int | None = None) -> int:
    """How many threads ``thread_map`` gives ``items`` pieces of work over tables of ``rows`` rows."""
    threshold = THREADS_MIN_ROWS if min_rows is None else min_rows
    return min(available_workers(), items) if rows >= threshold else 1


def thread_map(
    function: Callable[[T], R], items: Iterable[T], rows: int, min_rows: int | None = None
) -> Iterator[R]:
    """``map(function, items)``, results in order: on up to ``available_workers()`` threads when
    the work is over tables of at least ``min_rows`` (``THREADS_MIN_ROWS``) rows, else on this thread."""
    items = list(items)
    workers = thread_count(len(items), rows, min_rows)
    if workers <= 1:
        return map(function, items)
    with ThreadPoolExecutor(workers) as pool:
        return iter(list(pool.map(function, items)))


@contextmanager
def started(function: Callable[[T], R], items: Iterable[T]) -> Iterator[dict[T, Future[R]]]:
    """``function(item)`` for each item, begun now on up to ``available_workers()`` threads, for
    work that mostly waits (on a helper process): the caller takes each result when it wants it.
    With fewer than two workers or items nothing is begun (``{}``): the caller does the work in turn.
    Calls not yet begun when the block is left are cancelled."""
    items = list(dict.fromkeys(items))
    workers = min(available_workers(), len(items))
    if workers < 2:
        yield {}
        return
    with ThreadPoolExecutor(workers) as pool:
        futures = {item: pool.submit(function, item) for item in items}
        try:
            yield futures
        finally:
            for future in futures.values():
                future.cancel()


# --------------------------------------------------------------------------- helper processes

# A helper is a fresh interpreter in isolated mode (-I: no current folder, user site or PYTHON*
# variables on the path; -S: no site-packages of its own, it is given this process's path), so
# nothing in the folder being audited is imported. Not multiprocessing or ProcessPoolExecutor: their
# "spawn" and "forkserver" re-run the caller's main script in every child (a script without an
# ``if __name__ == "__main__"`` guard breaks the pool), and hand the child the caller's sys.path,
# current folder included; "fork" copies a threaded process and its whole address space, which the
# memory limit would then count. The request comes on stdin as JSON, results leave on stdout as frames.
_CHILD = """
import json, sys
request = json.loads(sys.stdin.buffer.read())
sys.path[:] = request["sys_path"]
from fupin_audit.workers import serve
serve(request)
"""

# Frames: kind, length of the item's name, length of the payload; then the name and the payload.
_HEADER = struct.Struct("<cIQ")
_START, _RESULT, _REFUSED, _NO_MEMORY, _BROKE = b"S", b"G", b"E", b"M", b"X"

# Starting a helper (an interpreter importing pandas) takes about half a second, much more on a
# loaded machine; it is not the file's doing, so it is not held to the per-item timeout, but it is
# bounded so that a helper that cannot start never hangs the run.
START_SECONDS = 60.0

Outcome = bytes | str


@dataclass(frozen=True)
class HelperFailure:
    """Why a helper gave no result for an item: it ran out of time or memory, or it died."""

    reason: str

    def __str__(self) -> str:
        return self.reason


def helper_path() -> list[str]:
    """This process's import path for a helper: this package's home first (an editable install
    finds it through an import hook that -S leaves out), without the current folder."""
    here = os.getcwd()
    home = os.path.dirname(os.path.dirname(os.path.abspath(fupin_audit.__file__)))
    return [home, *(p for p in sys.path if p not in ("", ".", here, home))]


class Helper:
    """One helper process working through the items of ``target(job)``, and the threads that
    collect its results, drain its stderr and stop it when an item takes longer than ``timeout``.

    ``target`` is ``"module:function"``: the function is called in the helper with ``job`` (plain
    JSON values) and returns ``(item, produce)`` pairs; ``produce()`` returns the item's result as
    bytes, or a str saying why there is none. While it works on an item the helper may use
    ``memory`` bytes of address space (RLIMIT_AS): the limit is for what the file makes it allocate,
    not for the code it imports first or the frames it sends.
    """

    def __init__(self, target: str, job: dict, *, timeout: float, memory: int) -> None:
        self.timeout, self.memory = timeout, memory
        #: Set when the helper ended before its work was done (or never started).
        self.failure: HelperFailure | None = None
        self._outcomes: dict[str, Outcome | HelperFailure] = {}
        self._current: str | None = None  # the item being worked on
        self._heard = False  # any frame yet
        self._progress = time.monotonic()
        self._ended = False
        self._timed_out = False
        self._changed = threading.Condition()
        self._last_words: deque[bytes] = deque(maxlen=20)
        request = {
            "sys_path": helper_path(),
            "target": target,
            "job": job,
            "memory": memory,
            "timeout": timeout,
        }
        try:
            self._process: subprocess.Popen | None = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, "RUST_BACKTRACE": "0"},
            )
        except OSError as exc:
            self._process = None
            self.failure = HelperFailure(f"无法启动读取子进程（{one_line(exc)}）")
            self._ended = True
            return
        try:
            self._process.stdin.write(json.dumps(request).encode())
        except OSError:  # it died at once; what it said on stderr is collected below
            pass
        finally:
            with suppress(OSError):
                self._process.stdin.close()
        # stderr is drained all along (a full pipe would stall the helper); its last lines say why it died.
        self._threads = [
            threading.Thread(target=self._last_words.extend, args=(self._process.stderr,), daemon=True),
            threading.Thread(target=self._collect, daemon=True),
            threading.Thread(target=self._watch, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def started(self) -> bool:
        return self._process is not None

    def ready(self, item: str) -> bool:
        """Whether ``outcome(item)`` would return at once."""
        return item in self._outcomes or self._ended

    def outcome(self, item: str) -> Outcome | HelperFailure | None:
        """The item's result (bytes), why it has none (str from the work, or a HelperFailure), or
        None when the helper ended without working on it. Waits for the helper if need be."""
        with self._changed:
            self._changed.wait_for(lambda: self.ready(item))
            return self._outcomes.pop(item, None)

    def outcomes(self) -> Iterator[tuple[str, Outcome | HelperFailure]]:
        """Every item's outcome, in the order the helper gives them, until it ends."""
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._outcomes or self._ended)
                if not self._outcomes:
                    return
                item = next(iter(self._outcomes))
                value = self._outcomes.pop(item)
            yield item, value

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
        for thread in self._threads:
            thread.join()

    def __enter__(self) -> Helper:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the threads ------------------------------------------------------------------------------

    def _collect(self) -> None:
        assert self._process is not None
        broken = None
        try:
            for kind, item, payload in _frames(self._process.stdout):
                self._arrived(kind, item, payload)
        except Exception as exc:  # a truncated frame, or no memory for one: stop the helper, so it
            self._process.kill()  # does not wait for ever on a pipe nobody reads any more
            broken = HelperFailure(f"读取子进程的结果不完整（{one_line(exc)}）")
        code = self._process.wait()
        self._threads[0].join()  # its last words
        with self._changed:
            failure = broken or self._failure(code)
            if failure is not None:
                self.failure = failure
                if self._current is not None:
                    self._outcomes[self._current] = failure
            self._ended = True
            self._changed.notify_all()

    def _arrived(self, kind: bytes, item: str, payload: bytes) -> None:
        with self._changed:
            self._heard, self._progress = True, time.monotonic()
            self._changed.notify_all()  # the watchdog's clock starts again
            if kind == _START:
                self._current = item
                return
            self._current = None
            if kind == _RESULT:
                self._outcomes[item] = payload
            elif kind == _REFUSED:
                self._outcomes[item] = payload.decode()
            elif kind == _NO_MEMORY:
                self._outcomes[item] = HelperFailure(self._no_memory(""))
            else:
                self._outcomes[item] = HelperFailure(f"读取子进程出错（{payload.decode()}）")

    def _watch(self) -> None:
        """Stops a helper that does not start, or whose own clock (``_alarm``) failed it."""
        assert self._process is not None
        with self._changed:
            while not self._ended:
                allowed = self.timeout if self._heard else self.timeout + START_SECONDS
                left = self._progress + allowed - time.monotonic()
                if left <= 0:
                    self._timed_out = True
                    break
                self._changed.wait(left)
        if self._timed_out:
            self._process.kill()

    def _failure(self, code: int) -> HelperFailure | None:
        """Why the helper ended, when it did not end after finishing its work."""
        if self._timed_out or code == -_ALARM:
            if not self._heard:
                return HelperFailure(f"读取子进程 {self.timeout + START_SECONDS:g} 秒内未能启动，已放弃")
            return HelperFailure(f"读取超过 {self.timeout:g} 秒仍未完成，已放弃（{ENV['helper_timeout']}）")
        if code == 0 and self._current is None:
            return None
        text = b"".join(self._last_words).decode("utf-8", "replace")
        if "MemoryError" in text or _NO_MEMORY_TEXT.search(text):
            return HelperFailure(self._no_memory(text))
        if "panicked" in text:
            return HelperFailure("解析器遇到无法处理的数据结构而中止：文件已损坏")
        if code < 0:
            with suppress(ValueError):
                return HelperFailure(
                    f"读取子进程被信号 {signal.Signals(-code).name} 终止（系统内存不足时也会如此）"
                )
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return HelperFailure(f"读取子进程异常退出（代码 {code}{'：' + lines[-1] if lines else ''}）")

    def _no_memory(self, text: str) -> str:
        match = re.search(r"memory allocation of (\d+) bytes failed", text)
        asked = f"，试图一次分配 {human_size(int(match.group(1)))}" if match else ""
        return (
            f"内存不足：超过读取子进程的内存上限 {human_size(self.memory)}{asked}"
            f"（文件可能已损坏，或单元格范围异常大；确需读取请调高 {ENV['helper_memory_bytes']}）"
        )


def _frames(out: IO[bytes]) -> Iterator[tuple[bytes, str, bytes]]:
    while header := out.read(_HEADER.size):
        if len(header) < _HEADER.size:
            raise EOFError("帧头被截断")
        kind, name_len, size = _HEADER.unpack(header)
        name, payload = out.read(name_len), out.read(size)
        if len(name) < name_len or len(payload) < size:
            raise EOFError(f"帧被截断（应有 {size:,} 字节，只收到 {len(payload):,} 字节）")
        yield kind, name.decode(), payload


def serve(request: dict) -> None:
    """In a helper: load the work, then send each item's outcome as soon as it is known (a start
    frame first, so the parent knows which item a crash or a timeout hit). Each item is worked on
    under the memory limit; the frames are sent outside it, so they always reach the parent."""
    frames = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print goes to stderr and cannot corrupt the frames
    _no_core_file()
    module, _, name = request["target"].partition(":")
    work = getattr(importlib.import_module(module), name)(request["job"])
    for item, produce in work:
        _send(frames, _START, item, b"")
        try:
            with _memory_limit(int(request["memory"])), _alarm(float(request["timeout"])):
                value = produce()
            kind, payload = (_REFUSED, value.encode()) if isinstance(value, str) else (_RESULT, value)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # a Rust panic of the parser included
            if out_of_memory(exc):
                kind, payload = _NO_MEMORY, b""
            else:
                kind, payload = _BROKE, f"{type(exc).__name__}: {one_line(exc)}".encode()
        _send(frames, kind, item, payload)


# How running into the helper's memory limit shows besides MemoryError (Python, numpy, arrow), as
# seen here under a small limit: zlib's Z_MEM_ERROR (Python's "Error -4 while decompressing data", a
# MemError panic in Rust's zip reader), a Rust allocation failure, C++'s bad_alloc, a library that
# cannot be mapped.
_NO_MEMORY_TEXT = re.compile(
    r"MemError|Error -4 while|memory allocation of \d+ bytes failed|bad_alloc|Cannot allocate memory"
    r"|[Oo]ut of memory|failed to map segment"
)


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` says an allocation failed: in a helper, its work leaves such a failure to
    ``serve``, which reports it with the helper's limit."""
    return isinstance(exc, MemoryError) or bool(_NO_MEMORY_TEXT.search(str(exc)))


def _send(out: IO[bytes], kind: bytes, item: str, payload: bytes) -> None:
    name = item.encode()
    out.write(_HEADER.pack(kind, len(name), len(payload)))
    out.write(name)
    out.write(payload)
    out.flush()


# A helper's own clock: it ends the helper when an item takes too long, however busy this process is
# (the watchdog thread here needs the GIL, which a reader of a big sheet can hold for seconds).
_ALARM = getattr(signal, "SIGALRM", 0)


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """SIGALRM after ``seconds``, unless the block is done by then: its default action ends the helper."""
    if not _ALARM:  # not on a POSIX system: the watchdog of the parent alone
        yield
        return
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _no_core_file() -> None:
    """An aborting parser would write a core file into the current folder, among the audited files,
    holding their personal data."""
    with suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


@contextmanager
def _memory_limit(limit: int) -> Iterator[None]:
    """The address space (RLIMIT_AS soft limit) lowered to ``limit`` while the block runs. It may be
    below what the helper uses already: then whatever the block allocates fails."""
    try:
        import resource
    except ImportError:  # not on a POSIX system: no limit to set
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    lowered = limit if hard == resource.RLIM_INFINITY else min(limit, hard)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (lowered, hard))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
