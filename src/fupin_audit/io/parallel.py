"""Reading a big workbook's sheets on several cores.

Turning a worksheet's XML into cells is most of the time a check of an xlsx takes (a county's member
sheet: 300 MB of XML, several seconds), and it runs in Rust and Python code that holds the GIL, so
threads do not help. Sheets are independent, though: helper processes each open the workbook and
read whole sheets while this process reads others. The sheets are dealt out by the size of their XML,
largest first (each to whoever has the least work so far, so the slowest share is about the largest
sheet or an even split, whichever is more); results come back in workbook order.

A small workbook is read here alone: starting a helper (a fresh interpreter importing pandas) costs
about half a second. ``FUPIN_AUDIT_WORKERS`` sets how many processes may read at once (default: the
processors this process may use; 1 turns helpers off).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import struct
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

import pandas as pd

from fupin_audit.errors import one_line
from fupin_audit.io.limits import Limits
from fupin_audit.workers import available_workers

# Helpers are worth starting only for this much sheet XML beyond what this process reads itself.
HELPER_MIN_BYTES = 48 << 20


def deal(sizes: dict[str, int], workers: int) -> list[list[str]]:
    """Sheets dealt out to ``workers`` shares, largest first, each to the least loaded share; share 0
    is this process's. Shares beyond the first that would not be worth a helper are merged into it."""
    shares: list[list[str]] = [[] for _ in range(max(1, workers))]
    loads = [0] * len(shares)
    for sheet in sorted(sizes, key=lambda s: -sizes[s]):
        i = loads.index(min(loads))
        shares[i].append(sheet)
        loads[i] += sizes[sheet]
    if sum(loads[1:]) < HELPER_MIN_BYTES:
        return [[s for share in shares for s in share]]
    return [share for i, share in enumerate(shares) if share or i == 0]


def read_sheets(
    order: Sequence[str],
    own: Callable[[str], pd.DataFrame | str],
    path: str,
    by_path: bool,
    parts: dict[str, str],
    sizes: dict[str, int],
    limits: Limits,
) -> Iterator[pd.DataFrame | str]:
    """Per sheet of ``order``, in that order: its grid, or why it was not read. ``own(sheet)`` reads a
    sheet in this process; sheets with a zip member in ``parts`` may go to helper processes."""
    order = list(dict.fromkeys(order))
    # A frozen executable (PyInstaller) cannot run `python -c`: no helpers there.
    shares = deal(sizes, available_workers()) if sizes and not getattr(sys, "frozen", False) else [[]]
    helpers: list[_Helper] = []
    try:
        for share in shares[1:]:
            helpers.append(_Helper(path, by_path, [(s, parts[s]) for s in share], limits))
        # A helper that could not start leaves its sheets to this process.
        helped = {s: h for h in helpers if h.started for s in h.sheets}
        mine = deque(s for s in order if s not in helped)
        done: dict[str, pd.DataFrame | str] = {}
        for sheet in order:
            if sheet in helped:
                while not helped[sheet].ready(sheet) and mine:  # read ahead while the helper works
                    ahead = mine.popleft()
                    done[ahead] = own(ahead)
                yield helped[sheet].result(sheet)
            else:
                if sheet not in done:
                    mine.remove(sheet)
                    done[sheet] = own(sheet)
                yield done.pop(sheet)
    finally:
        for helper in helpers:
            helper.stop()


# The helper: a fresh interpreter in isolated mode (-I: no current folder, user site or PYTHON*
# variables on the path) given this process's import path, so nothing in the folder being audited is
# imported. Not multiprocessing: its "spawn" re-runs the caller's main module, which a library must
# not ask of its callers. The request comes on stdin as JSON; results leave on stdout as frames.
# -S: no site-packages of its own either (the path is given); file descriptor 1 becomes a copy of 2
# so a stray print cannot corrupt the frames, which go out on a private copy of the original stdout.
_CHILD = """
import json, os, sys
request = json.loads(sys.stdin.buffer.read())
sys.path[:] = request["sys_path"]
frames = os.fdopen(os.dup(1), "wb")
os.dup2(2, 1)
from fupin_audit.io.parallel import serve
serve(request, frames)
"""


class _Helper:
    """One helper process reading its share of sheets, and a thread collecting what it sends."""

    def __init__(self, path: str, by_path: bool, sheets: list[tuple[str, str]], limits: Limits) -> None:
        import subprocess
        import threading

        import fupin_audit

        self.sheets = [s for s, _ in sheets]
        self.started = False
        self._received: set[str] = set()
        self._results: dict[str, pd.DataFrame | str] = {}
        self._arrived = threading.Condition()
        self._failure: str | None = None
        here = os.getcwd()
        # Where this package is imported from comes first: an editable install finds it through an
        # import hook that -S leaves out.
        home = os.path.dirname(os.path.dirname(os.path.abspath(fupin_audit.__file__)))
        request = {
            "sys_path": [home, *(p for p in sys.path if p not in ("", here, home))],
            "path": path,
            "by_path": by_path,
            "sheets": sheets,
            "limits": dataclasses.asdict(limits),
        }
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _CHILD],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError:
            self._process = None
            return
        self.started = True
        try:
            self._process.stdin.write(json.dumps(request).encode())
        except OSError:  # it died at once; what it says on stderr is collected below
            pass
        finally:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        # Its stderr is drained all along (a full pipe would stall it); the last lines say why it died.
        self._last_words: deque[bytes] = deque(maxlen=5)
        self._drain = threading.Thread(
            target=self._last_words.extend, args=(self._process.stderr,), daemon=True
        )
        self._drain.start()
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self) -> None:
        out = self._process.stdout
        try:
            while header := out.read(_HEADER.size):
                kind, name_len, size = _HEADER.unpack(header)
                sheet = out.read(name_len).decode()
                payload = out.read(size)
                value = payload.decode() if kind == b"E" else _grid_from_ipc(payload)
                with self._arrived:
                    self._results[sheet] = value
                    self._received.add(sheet)
                    self._arrived.notify_all()
        except Exception as exc:  # a truncated frame, or no memory for it: stop the helper, so it
            self._process.kill()  # does not wait for ever on a pipe nobody reads any more
            with self._arrived:
                self._failure = f"读取子进程的结果不完整（{one_line(exc)}）"
                self._arrived.notify_all()
        code = self._process.wait()
        self._drain.join()
        with self._arrived:
            if self._failure is None and not self._received.issuperset(self.sheets):
                text = [line.decode("utf-8", "replace").strip() for line in self._last_words if line.strip()]
                self._failure = f"读取子进程异常退出（代码 {code}{'：' + text[-1] if text else ''}）"
            self._arrived.notify_all()

    def ready(self, sheet: str) -> bool:
        return sheet in self._results or self._failure is not None

    def result(self, sheet: str) -> pd.DataFrame | str:
        with self._arrived:
            self._arrived.wait_for(lambda: self.ready(sheet))
            if sheet in self._results:
                return self._results.pop(sheet)
        return f"无法读取工作表（{self._failure}）"

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.kill()
        self._reader.join()


_HEADER = struct.Struct("<cIQ")  # b"G" grid or b"E" error, length of the sheet name, of the payload


def serve(request: dict, out: BinaryIO) -> None:
    """In the helper: read each sheet of the share and send it back as soon as it is read."""
    from fupin_audit.io.readers import read_sheet_alone

    limits = Limits(**request["limits"])
    for sheet, part in request["sheets"]:
        try:
            grid = read_sheet_alone(request["path"], request["by_path"], sheet, part, limits)
            kind, payload = (b"E", grid.encode()) if isinstance(grid, str) else (b"G", _grid_to_ipc(grid))
        except Exception as exc:  # e.g. no memory for the frame: this sheet only
            kind, payload = b"E", f"无法读取工作表（{one_line(exc)}）".encode()
        name = sheet.encode()
        out.write(_HEADER.pack(kind, len(name), len(payload)))
        out.write(name)
        out.write(payload)
        out.flush()


def _grid_to_ipc(grid: pd.DataFrame) -> bytes:
    import pyarrow as pa

    table = pa.table(
        {str(j): pa.array(grid.iloc[:, j], type=pa.large_string()) for j in range(grid.shape[1])}
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def _grid_from_ipc(payload: bytes) -> pd.DataFrame:
    import pyarrow as pa

    table = pa.ipc.open_stream(payload).read_all()
    columns = {
        j: pd.Series(table.column(j).combine_chunks(), dtype="str", copy=False)
        for j in range(table.num_columns)
    }
    grid = pd.DataFrame(columns, copy=False)
    grid.index = pd.RangeIndex(table.num_rows)
    return grid
