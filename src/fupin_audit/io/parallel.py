"""Reading a big workbook's sheets on several cores.

Turning a worksheet's XML into cells is most of the time a check of an xlsx takes (a county's member
sheet: 300 MB of XML, several seconds), and it runs in Rust and Python code that holds the GIL, so
threads do not help. Sheets are independent, though: helper processes (``workers.Helper``) each open
the workbook and read whole sheets while this process reads others. The sheets are dealt out by the
size of their XML, largest first (each to whoever has the least work so far, so the slowest share is
about the largest sheet or an even split, whichever is more); results come back in workbook order.

A sheet that runs out of time or memory in its helper, or whose helper dies, is reported; the sheets
that helper had not begun are read here. A small workbook is read here alone: starting a helper (a
fresh interpreter importing pandas) costs about half a second. ``FUPIN_AUDIT_WORKERS`` sets how many
processes may read at once (default: the processors this process may use; 1 turns helpers off).

This module only deals and collects: what a helper runs (``target``) is given by the reader.
"""

from __future__ import annotations

import json
import sys
from collections import deque
from collections.abc import Callable, Iterator, Sequence

import pandas as pd
import pyarrow as pa

from fupin_audit.io.limits import Limits
from fupin_audit.workers import Helper, HelperFailure, available_workers

# Helpers are worth starting only for this much sheet XML beyond what this process reads itself.
HELPER_MIN_BYTES = 48 << 20
# A helper's memory limit is FUPIN_AUDIT_HELPER_MEMORY plus this many times the XML of the largest
# sheet it reads: a sheet's cells passed the size checks already, and what reading them takes grows
# with them. Measured here: the members sheet of 100 000 households (302 MB of XML, 349 209 rows ×
# 19 columns) took a reading process to 2.3 GiB of address space, 0.4 GiB of it before the sheet.
XML_MEMORY_FACTOR = 8


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
    target: str,
    job: Callable[[list[str]], dict],
    sizes: dict[str, int],
    limits: Limits,
) -> Iterator[pd.DataFrame | str]:
    """Per sheet of ``order``, in that order: its grid, or why it was not read. ``own(sheet)`` reads a
    sheet in this process; sheets with a size in ``sizes`` may go to helper processes, each running
    ``target`` on ``job(share)`` and sending grids as ``grid_to_ipc`` bytes."""
    order = list(dict.fromkeys(order))
    # A frozen executable (PyInstaller) cannot run `python -c`: no helpers there.
    shares = deal(sizes, available_workers()) if sizes and not getattr(sys, "frozen", False) else [[]]
    helpers: dict[str, Helper] = {}
    try:
        for share in shares[1:]:
            memory = limits.helper_memory_bytes + XML_MEMORY_FACTOR * max(sizes[s] for s in share)
            helper = Helper(target, job(share), timeout=limits.helper_timeout, memory=memory)
            # A helper that could not start leaves its sheets to this process.
            helpers.update({s: helper for s in share if helper.started})
        mine = deque(s for s in order if s not in helpers)
        done: dict[str, pd.DataFrame | str] = {}
        for sheet in order:
            if sheet in helpers:
                while not helpers[sheet].ready(sheet) and mine:  # read ahead while the helper works
                    ahead = mine.popleft()
                    done[ahead] = own(ahead)
                yield _helped(helpers[sheet].outcome(sheet), sheet, own)
            else:
                if sheet not in done:
                    mine.remove(sheet)
                    done[sheet] = own(sheet)
                yield done.pop(sheet)
    finally:
        for helper in set(helpers.values()):
            helper.stop()


def _helped(outcome: bytes | str | HelperFailure | None, sheet: str, own: Callable) -> pd.DataFrame | str:
    if outcome is None:  # its helper ended before it began this sheet
        return own(sheet)
    if isinstance(outcome, HelperFailure):
        return f"无法读取工作表（{outcome}）"
    return outcome if isinstance(outcome, str) else grid_from_ipc(outcome)


# The key of a grid's `attrs` holding its sheet's merged ranges of one column over several rows
# (`readers.merged_down`): they travel with the grid from the reader, and from a helper in the stream.
MERGED_DOWN = "merged_down"


def grid_to_ipc(grid: pd.DataFrame) -> bytes:
    """A text grid as an Arrow IPC stream, as a helper sends it (its merged ranges in the metadata)."""
    merged = json.dumps([list(m) for m in grid.attrs.get(MERGED_DOWN, ())])
    table = pa.table(
        {str(j): pa.array(grid.iloc[:, j], type=pa.large_string()) for j in range(grid.shape[1])},
        metadata={MERGED_DOWN: merged},
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def grid_from_ipc(payload: bytes) -> pd.DataFrame:
    table = pa.ipc.open_stream(payload).read_all()
    columns = {
        j: pd.Series(table.column(j).combine_chunks(), dtype="str", copy=False)
        for j in range(table.num_columns)
    }
    grid = pd.DataFrame(columns, copy=False)
    grid.index = pd.RangeIndex(table.num_rows)
    merged = (table.schema.metadata or {}).get(MERGED_DOWN.encode())
    grid.attrs[MERGED_DOWN] = tuple(tuple(m) for m in json.loads(merged)) if merged else ()
    return grid
