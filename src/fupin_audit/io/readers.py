"""Files → raw text grids that remember where every cell came from.

This layer knows nothing about tables or columns: every cell becomes the text a person sees
(``cells.cell_text``), empty cells are ``""``, and grid row ``r`` is spreadsheet row ``r + 1``
(for parquet, whose header is implicit, data row ``r`` is line ``r + 2``). Problems with a file or
one sheet are yielded as :class:`InputError` items, never raised, so one broken sheet does not stop
the others.

The format is decided by the file's content (magic bytes), not only by its suffix: a ".csv" that is
really an xlsx, or a ".xls" that is really tab-separated text, are read as what they are.

Hostile input (see ``limits.py``): a zip workbook is inspected before the spreadsheet reader opens
it (``zipcheck.py``: sizes, compression ratios, DTDs, the extent of each sheet's cells); .xls, .xlsb
and .ods are parsed in a helper process (``isolate.py``) because their parser can abort the
process; a CSV's grid and a parquet file's rows × columns are bounded before they are allocated;
a Rust panic of the reader is caught like any other error; devices and pipes are never read.
Files are only ever opened for reading.
"""

from __future__ import annotations

import functools
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.errors import InputError, one_line
from fupin_audit.io.cells import cell_text
from fupin_audit.io.csvtext import decode_text, empty_grid, read_delimited, trim_grid
from fupin_audit.io.dictionary import Encoding
from fupin_audit.io.isolate import IsolatedError, merged_down, read_isolated
from fupin_audit.io.limits import LimitExceeded, Limits, over
from fupin_audit.io.parallel import MERGED_DOWN, grid_to_ipc, read_sheets
from fupin_audit.io.parquet import PARQUET_MAGIC, longest_bytes, number_texts, read_texts, take_early
from fupin_audit.io.zipcheck import ZipVerdict, inspect_sheet, inspect_zip, too_many_cells
from fupin_audit.workers import available_workers, out_of_memory

__all__ = ["InputWarning", "RawSheet", "read_file", "sniff_format"]

XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".et"}


class InputWarning(InputError):
    """Something odd about a file or sheet that was still read in full (``level`` "warning")."""

    level = "warning"


@dataclass
class RawSheet:
    """One sheet (or one CSV/parquet file) as a grid of text cells."""

    file: str
    sheet: str
    grid: pd.DataFrame
    encoding: str | None = None
    has_header: bool = False
    # Per grid column: its longest cell in UTF-8 bytes, when the reader measured it already (None:
    # not measured, for the sheet or a column); `long_cells` then skips the columns within the limit.
    longest: list[int | None] | None = None
    # Columns whose distinct texts the file gave (parquet dictionary pages; io/dictionary.py).
    encodings: tuple[Encoding, ...] = ()
    # A workbook's merged ranges of one column over several rows, as (grid column, first grid row,
    # last grid row): the value of such a range is its first cell's (`isolate.merged_down`).
    merged: tuple[tuple[int, int, int], ...] = ()

    @property
    def row_offset(self) -> int:
        """Add to a grid index to get the row number a person sees in the file."""
        return 2 if self.has_header else 1


def read_file(
    path: Path | str,
    *,
    encoding: str | None = None,
    sheets: Sequence[str] | None = None,
    limits: Limits | None = None,
) -> Iterator[RawSheet | InputError]:
    """Yield every sheet of ``path`` as a :class:`RawSheet`, or an :class:`InputError` per problem.

    ``encoding`` forces the text encoding of CSV/TSV/TXT files; ``sheets`` restricts a workbook to
    the named sheets (a name that is not there is reported as an error item). ``limits`` bounds the
    resources one file may take (default: :class:`Limits` with the ``FUPIN_AUDIT_*`` environment
    variables applied). Items that are an :class:`InputWarning` do not stop the sheet from being read.
    The file is only ever opened for reading.
    """
    limits = Limits.from_env() if limits is None else limits
    for item in _read_any(path, encoding, sheets, limits):
        if isinstance(item, RawSheet):
            yield from long_cells(item, limits)
        yield item


def _read_any(
    path: Path | str, encoding: str | None, sheets: Sequence[str] | None, limits: Limits
) -> Iterator[RawSheet | InputError]:
    name = str(path)
    path = Path(path)
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            yield InputError("是一个目录，不是文件", file=name)
            return
        if not stat.S_ISREG(mode):
            # a FIFO would block for ever, /dev/zero never ends
            yield InputError("不是普通文件（设备、管道或套接字），不读取", file=name)
            return
        with path.open("rb") as fh:
            head = fh.read(8192)
    except IsADirectoryError:
        yield InputError("是一个目录，不是文件", file=name)
        return
    except OSError as exc:
        yield InputError(f"无法打开文件：{exc.strerror or exc}", file=name)
        return
    if not head:
        yield InputError("文件为空（0 字节）", file=name)
        return

    kind = sniff_format(head)
    if kind == "zip":
        yield from _read_zip_workbook(path, name, sheets, limits)
    elif kind == "xls":
        yield from _read_workbook(path, name, "xls", sheets, limits)
    elif kind == "parquet":
        yield from _read_parquet(path, name, limits)
    else:
        yield from _read_text(path, name, head, encoding, limits)


def sniff_format(head: bytes) -> str:
    """``"zip"``, ``"xls"``, ``"parquet"`` or ``"text"`` from the first bytes of a file."""
    if head.startswith((ZIP_MAGIC, ZIP_EMPTY_MAGIC)):
        return "zip"
    if head.startswith(XLS_MAGIC):
        return "xls"
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    return "text"


# --------------------------------------------------------------------------- workbooks


def _read_zip_workbook(
    path: Path, name: str, sheets: Sequence[str] | None, limits: Limits
) -> Iterator[RawSheet | InputError]:
    # With several cores, each sheet's cells are scanned by whoever reads the sheet, in parallel.
    verdict = inspect_zip(str(path), limits, defer_sheets=available_workers() > 1)
    if verdict.error or verdict.kind is None:
        yield InputError(verdict.error or "不是有效的 Excel 工作簿", file=name)
        return
    yield from _read_workbook(path, name, verdict.kind, sheets, limits, verdict)


def _suffix_fits(path: Path, kind: str) -> bool:
    suffix = path.suffix.lower()
    if kind == "xlsx":
        return suffix in (".xlsx", ".xlsm")
    if kind == "xls":
        return suffix == ".xls"
    return suffix == f".{kind}"


_LABELS = {"xls": "Excel 97-2003 (.xls)", "ods": "OpenDocument (.ods)", "xlsb": "Excel 二进制 (.xlsb)"}
# Parsed in a helper process: the OLE/BIFF parser can be crashed by a damaged file (panics, and
# requests of hundreds of GiB that abort the process), and .xlsb/.ods cannot be checked cheaply
# before parsing (binary records; repeated rows and columns expand in the parser).
ISOLATED_KINDS = frozenset({"xls", "xlsb", "ods"})


def _read_workbook(
    path: Path,
    name: str,
    kind: str,
    sheets: Sequence[str] | None,
    limits: Limits,
    verdict: ZipVerdict | None = None,
) -> Iterator[RawSheet | InputError]:
    """The sheets of a workbook; an xlsx comes with ``zipcheck``'s verdict on it. Its ``deferred``
    worksheets have not been scanned yet: ``zipcheck.inspect_sheet`` runs right before each is read."""
    if kind in ISOLATED_KINDS:
        yield from _read_isolated(path, name, kind, sheets, limits)
        return
    from python_calamine import CalamineError, PasswordError, SheetTypeEnum

    verdict = verdict or ZipVerdict(kind=kind)
    error_cells, deferred = verdict.error_cells, verdict.deferred
    refused = dict(verdict.sheet_errors)
    label = _LABELS.get(kind, "Excel (.xlsx)")
    by_path = _suffix_fits(path, kind)
    try:
        wb = _open_workbook(path, by_path)
    except BaseException as exc:  # any failure of a damaged file, a Rust panic included
        if not isinstance(exc, Exception) and not _is_panic(exc):
            raise
        if isinstance(exc, PasswordError):
            yield InputError("工作簿有密码保护（已加密），请先在 Excel/WPS 中取消密码后另存", file=name)
        else:
            yield InputError(
                f"无法打开 {label} 工作簿，文件可能已损坏、加密或不完整（{one_line(exc)}）", file=name
            )
        return

    try:
        try:
            metadata = {m.name: m for m in wb.sheets_metadata}
        except (CalamineError, AttributeError):  # pragma: no cover - very old calamine
            metadata = {}
        names = list(wb.sheet_names)
        for missing in _missing_sheets(names, sheets):
            yield InputError(
                f"没有名为“{missing}”的工作表（有：{'、'.join(names) or '无'}）", file=name, sheet=missing
            )
        wanted = [
            s
            for s in dict.fromkeys(_wanted(names, sheets))  # a sheet named twice is read once
            if (meta := metadata.get(s)) is None or meta.typ != SheetTypeEnum.ChartSheet  # no cells
        ]
        if kind == "xlsx":  # fail closed: a sheet the safety scan could not match is not read
            for sheet_name in wanted:
                if sheet_name not in verdict.checked and sheet_name not in deferred:
                    refused.setdefault(sheet_name, UNMATCHED_SHEET)

        def own(sheet_name: str) -> pd.DataFrame | str:
            part, _ = deferred.get(sheet_name, (None, 0))
            return _checked_grid(wb, str(path), sheet_name, part, limits, error_cells.get(sheet_name, ()))

        def job(share: list[str]) -> dict:  # what a helper is sent: see ``helper_sheets``
            return {
                "path": str(path),
                "by_path": by_path,
                "sheets": [(s, deferred[s][0]) for s in share],
                "limits": asdict(limits),
            }

        readable = [s for s in wanted if s not in refused]
        sizes = {s: deferred[s][1] for s in readable if s in deferred}
        grids = read_sheets(readable, own, HELPER_SHEETS, job, sizes, limits)
        for sheet_name in wanted:
            grid = refused[sheet_name] if sheet_name in refused else next(grids)
            if isinstance(grid, str):
                yield InputError(grid, file=name, sheet=sheet_name)
            else:
                merged = grid.attrs.pop(MERGED_DOWN, ())
                yield RawSheet(file=name, sheet=sheet_name, grid=grid, has_header=False, merged=merged)
    finally:
        wb.close()


UNMATCHED_SHEET = (
    "工作表名称与工作簿结构（xl/workbook.xml）中的名称对不上（如名称含制表符或换行），"
    "无法先做安全检查，未读取；请在 Excel/WPS 中重命名工作表后另存"
)


def _open_workbook(path: Path, by_path: bool):
    from python_calamine import CalamineWorkbook

    if by_path:
        return CalamineWorkbook.from_path(str(path))
    # Suffix and content disagree: calamine picks its reader by suffix, so hand it the bytes.
    with path.open("rb") as fh:
        return CalamineWorkbook.from_filelike(fh)


def _checked_grid(
    wb, path: str, sheet_name: str, part: str | None, limits: Limits, errors: Iterable[tuple[int, int, str]]
) -> pd.DataFrame | str:
    """The text grid of one sheet, or why it is not read."""
    try:
        return _sheet_grid(wb, path, sheet_name, part, limits, errors)
    except BaseException as exc:  # one broken sheet must not stop the others
        return _unreadable(exc)


def _sheet_grid(
    wb, path: str, sheet_name: str, part: str | None, limits: Limits, errors: Iterable[tuple[int, int, str]]
) -> pd.DataFrame | str:
    """The text grid of one sheet, or why it is refused; raises what the reader raises. ``part``: the
    sheet's zip member when its cells are still to be scanned (``zipcheck.inspect_sheet``) before
    the reader may allocate them."""
    if part is not None:
        refusal, errors = inspect_sheet(path, part, limits)
        if refusal:
            return refusal
    sheet = wb.get_sheet_by_name(sheet_name)
    problem = _range_problem(sheet.end, limits)
    if problem:
        return problem
    rows = sheet.to_python(skip_empty_area=False)
    _restore_errors(rows, errors)
    grid = rows_to_grid(rows)
    grid.attrs[MERGED_DOWN] = merged_down(sheet)
    return grid


def _unreadable(exc: BaseException) -> str:
    """Why a sheet was not read, for any failure of the reader, a Rust panic included."""
    if not isinstance(exc, Exception) and not _is_panic(exc):
        raise exc
    return f"无法读取工作表（{one_line(exc)}）"


# What a helper process of ``io.parallel`` runs (``workers.Helper``): ``helper_sheets`` below.
HELPER_SHEETS = f"{__name__}:helper_sheets"


def helper_sheets(job: dict) -> Iterator[tuple[str, Callable[[], bytes | str]]]:
    """In a helper: each sheet of its share, read as this process would and sent as Arrow IPC."""
    import python_calamine  # noqa: F401  # loaded before the helper's memory limit, which is the file's

    limits = Limits(**job["limits"])
    return (
        (sheet, functools.partial(_sheet_ipc, job["path"], job["by_path"], sheet, part, limits))
        for sheet, part in job["sheets"]
    )


def _sheet_ipc(path: str, by_path: bool, sheet_name: str, part: str | None, limits: Limits) -> bytes | str:
    """One sheet in a helper. Running out of memory is left to ``workers.serve``, which reports it
    with the helper's limit; any other failure costs this sheet only."""
    try:
        wb = _open_workbook(Path(path), by_path)
        try:
            grid = _sheet_grid(wb, path, sheet_name, part, limits, ())
        finally:
            wb.close()
        return grid if isinstance(grid, str) else grid_to_ipc(grid)
    except BaseException as exc:
        if out_of_memory(exc):
            raise
        return _unreadable(exc)


def _restore_errors(rows: list[list[object]], errors: Iterable[tuple[int, int, str]]) -> None:
    """Put error values (#N/A, #REF! …) back where the reader left an empty cell."""
    for r, c, text in errors:
        if r < len(rows) and c < len(rows[r]) and rows[r][c] == "":
            rows[r][c] = text


def _missing_sheets(names: list[str], sheets: Sequence[str] | None) -> list[str]:
    return [] if sheets is None else [s for s in sheets if s not in names]


def _wanted(names: list[str], sheets: Sequence[str] | None) -> list[str]:
    return names if sheets is None else [s for s in sheets if s in names]


def _range_problem(end: tuple[int, int] | None, limits: Limits) -> str | None:
    """Why a loaded sheet is not converted: its used range, from A1, exceeds the limits."""
    if end is None:
        return None
    rows, cols = end[0] + 1, end[1] + 1
    if cols > limits.max_columns:
        return f"工作表有 {cols:,} 列，超过上限 {limits.max_columns:,} 列（FUPIN_AUDIT_MAX_COLUMNS）"
    if rows * cols > limits.max_cells:
        return too_many_cells(rows, cols, limits)
    return None


def _is_panic(exc: BaseException) -> bool:
    """A Rust panic inside python-calamine arrives as pyo3's PanicException, a BaseException."""
    return type(exc).__name__ == "PanicException"


def _read_isolated(
    path: Path, name: str, kind: str, sheets: Sequence[str] | None, limits: Limits
) -> Iterator[RawSheet | InputError]:
    label = _LABELS[kind]
    try:
        names, items = read_isolated(
            str(path),
            None if sheets is None else list(sheets),
            max_cells=limits.max_cells,
            max_columns=limits.max_columns,
            timeout=limits.helper_timeout,
            memory=limits.helper_memory_bytes,
            by_path=_suffix_fits(path, kind),
        )
    except IsolatedError as exc:
        if exc.password or (kind == "xls" and _is_encrypted_ooxml(path)):
            yield InputError("工作簿有密码保护（已加密），请先在 Excel/WPS 中取消密码后另存", file=name)
        else:
            yield InputError(
                f"无法打开 {label} 工作簿，文件可能已损坏、加密或不完整（{exc.reason}）", file=name
            )
        return
    for missing in _missing_sheets(names, sheets):
        yield InputError(
            f"没有名为“{missing}”的工作表（有：{'、'.join(names) or '无'}）", file=name, sheet=missing
        )
    for item in items:
        if item.chart:
            continue
        if item.rows is None:
            if item.error and item.error.startswith("cells:"):
                _, rows, cols = item.error.split(":")
                message = _range_problem((int(rows) - 1, int(cols) - 1), limits) or "单元格区域过大"
            else:
                message = f"无法读取工作表（{item.error}）"
            yield InputError(message, file=name, sheet=item.name)
            continue
        try:
            grid = rows_to_grid(item.rows)
        except Exception as exc:
            yield InputError(f"无法读取工作表（{one_line(exc)}）", file=name, sheet=item.name)
            continue
        yield RawSheet(file=name, sheet=item.name, grid=grid, has_header=False, merged=tuple(item.merged))


def _is_encrypted_ooxml(path: Path) -> bool:
    """A password-protected xlsx is an OLE container holding an "EncryptedPackage" stream."""
    try:
        return "EncryptedPackage".encode("utf-16-le") in path.read_bytes()
    except OSError:
        return False


def rows_to_grid(rows: list[list[object]]) -> pd.DataFrame:
    """calamine rows (lists of str/float/int/bool/date…) → a text grid, trailing blank edges trimmed."""
    if not rows:
        return empty_grid()
    width = max(map(len, rows))
    if any(len(r) != width for r in rows):  # calamine pads, but do not rely on it
        rows = [list(r) + [""] * (width - len(r)) for r in rows]
    cells = np.empty((len(rows), width), dtype=object)
    cells[:] = rows  # one C-level copy; columns are then strided views
    columns = {j: pd.Series(column_texts(cells[:, j]), dtype="str", copy=False) for j in range(width)}
    grid = pd.DataFrame(columns, copy=False)
    grid.index = pd.RangeIndex(len(rows))
    return trim_grid(grid)


def column_texts(values: np.ndarray) -> pa.Array:
    """Object array of cell values → pyarrow text array, vectorised where the types allow.

    Cells that are already ``str`` pass through; numbers go through a vectorised ``number_text``;
    anything else (dates, booleans, times) through ``cell_text`` one by one.
    """
    kind = pd.api.types.infer_dtype(values, skipna=False)
    if kind == "string":
        return pa.array(values, type=pa.large_string())
    if kind in _NUMERIC_KINDS:
        return number_texts(values)
    if kind == "empty":
        return pa.array(np.full(len(values), "", dtype=object), type=pa.large_string())
    is_str = np.fromiter((type(v) is str for v in values), dtype=bool, count=len(values))
    others = values[~is_str]
    if pd.api.types.infer_dtype(others, skipna=False) in _NUMERIC_KINDS:
        replacement = number_texts(others)
    else:
        replacement = pa.array([cell_text(v) for v in others], type=pa.large_string())
    base = values.copy()
    base[~is_str] = ""
    return pc.replace_with_mask(pa.array(base, type=pa.large_string()), pa.array(~is_str), replacement)


_NUMERIC_KINDS = frozenset({"floating", "integer", "mixed-integer-float"})


# --------------------------------------------------------------------------- parquet


def _read_parquet(path: Path, name: str, limits: Limits) -> Iterator[RawSheet | InputError]:
    texts = take_early(path, limits) or read_texts(path, limits)
    if isinstance(texts, str):
        yield InputError(texts, file=name)
        return
    series = [pd.Series(col, dtype="str", copy=False) for col in texts.columns]
    grid = pd.concat(series, axis=1, ignore_index=True) if series else empty_grid()
    grid.columns = texts.names
    longest = texts.longest()
    # pandas' index columns are storage artefacts, not data
    index_cols = [c for c in grid.columns if re.fullmatch(r"__index_level_\d+__", c)]
    if index_cols:
        grid = grid.drop(columns=index_cols)
        longest = [n for c, n in zip(texts.names, longest, strict=True) if c not in index_cols]
    grid.index = pd.RangeIndex(texts.rows)
    yield RawSheet(
        file=name,
        sheet="",
        grid=grid,
        encoding=None,
        has_header=True,
        longest=longest,
        encodings=texts.encodings,
    )


# --------------------------------------------------------------------------- text


def _read_text(
    path: Path, name: str, head: bytes, encoding: str | None, limits: Limits
) -> Iterator[RawSheet | InputError]:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<html", b"<!doctype html", b"<table", b"<?xml", b"<meta")):
        what = "XML 表格（Excel 2003 XML）" if stripped.startswith(b"<?xml") else "HTML 网页"
        yield InputError(
            f"这是 {what} 格式的文件（常见于系统导出的“伪 xls”），不是 Excel 工作簿或 CSV；"
            "请用 Excel/WPS 打开后另存为 .xlsx",
            file=name,
        )
        return
    try:
        size = path.stat().st_size
        if size > limits.max_unpacked_bytes:
            yield InputError(
                f"文本文件有 {over(size, limits.max_unpacked_bytes)}（FUPIN_AUDIT_MAX_UNPACKED）",
                file=name,
            )
            return
        raw = path.read_bytes()
    except OSError as exc:
        yield InputError(f"无法读取文件：{exc.strerror or exc}", file=name)
        return
    decoded = decode_text(raw, encoding)
    if isinstance(decoded, str):
        yield InputError(decoded, file=name)
        return
    text, used = decoded
    if not text.strip():
        yield InputError("文件没有内容（只有空白）", file=name)
        return
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        yield InputWarning(
            f"含有 {text.count(chr(0))} 个 NUL 字节（第一个在第 {line} 行），已按原样保留在单元格中",
            file=name,
        )
    try:
        utf8 = None
        if used in ("utf-8", "utf-8-sig") and not text.startswith("\ufeff"):
            utf8 = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw  # already valid UTF-8
        grid = read_delimited(
            text,
            suffix=path.suffix.lower(),
            utf8=utf8,
            max_cells=limits.max_cells,
            max_columns=limits.max_columns,
        )
    except LimitExceeded as exc:
        yield InputError(str(exc), file=name)
        return
    except Exception as exc:
        yield InputError(f"无法解析为 CSV/TSV 文本（{one_line(exc)}）", file=name)
        return
    yield RawSheet(file=name, sheet="", grid=grid, encoding=used, has_header=False)


# --------------------------------------------------------------------------- cell length

MAX_REPORTED_CELLS = 5


def long_cells(sheet: RawSheet, limits: Limits) -> Iterator[InputWarning]:
    """One warning per cell longer than ``limits.max_cell_chars`` (the first few; the cell is kept whole).

    Cheap when nothing is long: a cell's UTF-8 byte count bounds its characters, and byte counts
    come from the string offsets without touching the text.
    """
    limit = limits.max_cell_chars
    found: list[tuple[int, int, int]] = []  # (grid row, grid column, characters)
    total = 0
    for j in range(sheet.grid.shape[1]):
        if sheet.longest is not None and (known := sheet.longest[j]) is not None and known <= limit:
            continue  # no cell longer than the limit in bytes, so none in characters
        column = sheet.grid.iloc[:, j]
        arrow = pa.array(column.array, type=pa.large_string(), from_pandas=True)
        if longest_bytes(arrow) <= limit:
            continue
        lengths = pc.utf8_length(arrow).to_numpy(zero_copy_only=False)
        long_rows = np.flatnonzero(np.nan_to_num(lengths.astype(np.float64), nan=0) > limit)
        total += len(long_rows)
        found.extend((int(r), j, int(lengths[r])) for r in long_rows[: MAX_REPORTED_CELLS - len(found)])
    for r, j, chars in sorted(found)[:MAX_REPORTED_CELLS]:
        row = int(sheet.grid.index[r]) + sheet.row_offset
        column_name = str(sheet.grid.columns[j]) if sheet.has_header else column_letter(j)
        yield InputWarning(
            f"单元格有 {chars:,} 个字符，超过 {limit:,} 个字符的上限（Excel 单元格最多 32,767 个字符；"
            "可能是引号不配对把多行吞进了一个单元格）；已完整读入，请核对",
            file=sheet.file,
            sheet=sheet.sheet or None,
            row=row,
            column=column_name,
        )
    if total > MAX_REPORTED_CELLS:
        yield InputWarning(
            f"另有 {total - MAX_REPORTED_CELLS} 个单元格超过 {limit:,} 个字符的上限",
            file=sheet.file,
            sheet=sheet.sheet or None,
        )


def column_letter(j: int) -> str:
    """0 → "A", 25 → "Z", 26 → "AA"."""
    letters = ""
    j += 1
    while j:
        j, rest = divmod(j - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
