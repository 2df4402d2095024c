"""Read .xls, .xlsb and .ods workbooks in a helper process, so a crash of the parser is an error, not a crash.

The legacy binary formats sit in an OLE/BIFF container whose parser (calamine's ``cfb``/``xls``
modules) can be driven by a damaged or hostile file into a Rust panic or into requesting hundreds of
gigabytes at once, which aborts the whole process (found by truncating and mutating real .xls
files). An .ods expands repeated rows and columns while it is parsed, and an .xlsb cannot be
checked cheaply beforehand, so they are read the same way. The helper (``workers.Helper``: an
address-space limit, and a timeout for opening the workbook and for each sheet) runs the same
python-calamine reader; the parent gets the cell values back (pickled plain values, unpickled with a
whitelist), or a one-line reason. A sheet that crashes its helper, or runs out of time or memory,
costs only itself: the sheets after it are read by a new helper.

In the helper only python-calamine and this module are imported (not pandas), so it starts quickly.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fupin_audit.workers import Helper, HelperFailure, out_of_memory

__all__ = ["ChildSheet", "IsolatedError", "read_isolated"]


@dataclass
class ChildSheet:
    name: str
    rows: list[list[object]] | None = None  # None: see ``error``
    error: str | None = None
    chart: bool = False
    merged: list[tuple[int, int, int]] = field(default_factory=list)  # see ``merged_down``


class IsolatedError(Exception):
    """The helper could not open the workbook: ``reason`` is one line; ``password`` if encrypted."""

    def __init__(self, reason: str, *, password: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.password = password


# The helper's items: opening the workbook, then each sheet (prefixed: a sheet may be named anything).
HELPER_WORKBOOK = f"{__name__}:helper_workbook"
_OPEN, _SHEET = "workbook", "sheet:"


class _Unpickler(pickle.Unpickler):
    """Plain values only: no class of the pickle may be loaded except the datetime types."""

    ALLOWED = frozenset(
        {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta")}
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} 不允许出现在子进程的结果中")


def read_isolated(
    path: str,
    sheets: list[str] | None,
    *,
    max_cells: int,
    max_columns: int,
    timeout: float,
    memory: int,
    by_path: bool = True,
) -> tuple[list[str], list[ChildSheet]]:
    """Sheet names and, per wanted sheet, a :class:`ChildSheet`; raises :class:`IsolatedError`.

    A sheet whose used range exceeds ``max_cells`` or ``max_columns`` is not converted: it comes back with ``rows``
    None and ``error`` = ``"cells:ROWS:COLUMNS"``. ``timeout`` (seconds) holds for opening the
    workbook and for each sheet; ``memory`` is the helper's address space in bytes.
    """
    job = {
        "path": os.path.abspath(path),
        "sheets": None if sheets is None else list(dict.fromkeys(sheets)),
        "max_cells": max_cells,
        "max_columns": max_columns,
        "by_path": by_path,
    }
    names: list[str] | None = None
    charts: list[str] = []
    got: dict[str, ChildSheet] = {}
    while True:
        with Helper(HELPER_WORKBOOK, job, timeout=timeout, memory=memory) as helper:
            for item, outcome in helper.outcomes():
                if item == _OPEN:
                    names, charts = _opened(outcome)
                else:
                    name = item.removeprefix(_SHEET)
                    got[name] = _sheet(name, outcome)
        if names is None:
            raise IsolatedError(str(helper.failure or "解析子进程没有返回结果"))
        wanted = [s for s in (job["sheets"] or names) if s in names and s not in charts]
        left = [s for s in wanted if s not in got]
        if not left:
            break
        if helper.failure is None or left == job["sheets"]:  # no progress: do not try again
            for name in left:
                got[name] = ChildSheet(name, None, str(helper.failure or "解析子进程没有返回结果"))
            break
        job = {**job, "sheets": left}  # the sheet that failed has its outcome: go on after it
    order = [s for s in (sheets if sheets is not None else names) if s in names]
    return names, [ChildSheet(s, chart=True) if s in charts else got[s] for s in dict.fromkeys(order)]


def _opened(outcome: bytes | str | HelperFailure) -> tuple[list[str], list[str]]:
    """Sheet names and chart sheets, from the helper's answer to opening the workbook."""
    if not isinstance(outcome, bytes):
        raise IsolatedError(str(outcome))
    answer = _unpickled(outcome)
    if answer[0] == "open-error":
        raise IsolatedError(answer[1], password=bool(answer[2]))
    return list(answer[1]), list(answer[2])


def _sheet(name: str, outcome: bytes | str | HelperFailure) -> ChildSheet:
    if not isinstance(outcome, bytes):
        return ChildSheet(name, None, str(outcome))
    rows, error, merged = _unpickled(outcome)
    if isinstance(error, tuple):
        return ChildSheet(name, None, f"cells:{error[1]}:{error[2]}")
    return ChildSheet(name, rows, error, merged=[tuple(m) for m in merged])


def _unpickled(payload: bytes):
    try:
        return _Unpickler(io.BytesIO(payload)).load()
    except Exception as exc:
        raise IsolatedError(f"解析子进程的结果无法识别（{type(exc).__name__}）") from None


# --------------------------------------------------------------------------- in the helper


def helper_workbook(job: dict) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """In the helper: open the workbook, then read each wanted sheet; every answer is a pickle of
    plain values. The parser is loaded here, before the helper's memory limit (the file's) is set."""
    import python_calamine  # noqa: F401

    return _workbook_items(job)


def _workbook_items(job: dict) -> Iterator[tuple[str, Callable[[], bytes]]]:
    from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum

    book: dict[str, object] = {}

    def open_workbook() -> bytes:
        try:
            if job["by_path"]:  # the reader is chosen by the suffix, and its errors are more precise
                wb = CalamineWorkbook.from_path(job["path"])
            else:  # suffix and content disagree: let the reader detect the format from the bytes
                with open(job["path"], "rb") as fh:
                    wb = CalamineWorkbook.from_filelike(io.BytesIO(fh.read()))
        except BaseException as exc:  # PanicException is a BaseException
            if out_of_memory(exc):  # reported by ``workers.serve``, with the helper's limit
                raise
            return pickle.dumps(("open-error", _text(exc), isinstance(exc, PasswordError)), protocol=4)
        try:
            meta = {m.name: m for m in wb.sheets_metadata}
        except BaseException:
            meta = {}
        names = list(wb.sheet_names)
        charts = [n for n in names if n in meta and meta[n].typ == SheetTypeEnum.ChartSheet]
        book.update(wb=wb, names=names, charts=charts)
        return pickle.dumps(("ok", names, charts), protocol=4)

    yield _OPEN, open_workbook
    if "wb" not in book:
        return
    names, charts = book["names"], book["charts"]
    for name in job["sheets"] if job["sheets"] is not None else names:
        if name in names and name not in charts:
            yield _SHEET + name, functools.partial(_sheet_rows, book["wb"], name, job)


def merged_down(sheet) -> tuple[tuple[int, int, int], ...]:
    """A calamine sheet's merged ranges of one column over several rows, as (column, first row, last
    row) from A1, as the reader's grid counts them: a household's 户编号 or income merged over its
    members' rows shows one value in every row of the range, which the file holds in the first cell
    only. (Ranges over several columns are a header's or a title's: left to the header's own reading.)
    Here, not in the reader, because the helper imports no more than this module."""
    ranges = getattr(sheet, "merged_cell_ranges", None) or ()  # None for a format without them (ods)
    return tuple((c0, r0, r1) for (r0, c0), (r1, c1) in ranges if c0 == c1 and r1 > r0)


def _sheet_rows(wb, name: str, job: dict) -> bytes:
    try:
        sheet = wb.get_sheet_by_name(name)
        end = sheet.end
        cells = 0 if end is None else (end[0] + 1) * (end[1] + 1)
        if cells > job["max_cells"] or (end is not None and end[1] + 1 > job["max_columns"]):
            answer: tuple = (None, ("cells", end[0] + 1, end[1] + 1), [])
        else:
            answer = (sheet.to_python(skip_empty_area=False), None, merged_down(sheet))
    except BaseException as exc:  # a panic of the parser costs this sheet only
        if out_of_memory(exc):
            raise
        answer = (None, _text(exc), [])
    return pickle.dumps(answer, protocol=4)


def _text(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
