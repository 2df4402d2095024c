"""Files → raw text grids that remember where every cell came from.

This layer knows nothing about tables or columns: every cell becomes the text a person sees
(``cells.cell_text``), empty cells are ``""``, and grid row ``r`` is spreadsheet row ``r + 1``
(for parquet, whose header is implicit, data row ``r`` is line ``r + 2``). Problems with a file or
one sheet are yielded as :class:`InputError` items, never raised, so one broken sheet does not stop
the others.

The format is decided by the file's content (magic bytes), not only by its suffix: a ".csv" that is
really an xlsx, or a ".xls" that is really tab-separated text, are read as what they are.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.errors import InputError
from fupin_audit.io.cells import EXACT_FLOAT_LIMIT, cell_text, number_text
from fupin_audit.io.csvtext import decode_text, empty_grid, read_delimited, trim_grid

__all__ = ["RawSheet", "read_file", "sniff_format"]

XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY_MAGIC = b"PK\x05\x06"
PARQUET_MAGIC = b"PAR1"
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".et"}


@dataclass
class RawSheet:
    """One sheet (or one CSV/parquet file) as a grid of text cells."""

    file: str
    sheet: str
    grid: pd.DataFrame
    encoding: str | None = None
    has_header: bool = False

    @property
    def row_offset(self) -> int:
        """Add to a grid index to get the row number a person sees in the file."""
        return 2 if self.has_header else 1


def read_file(
    path: Path | str, *, encoding: str | None = None, sheets: Sequence[str] | None = None
) -> Iterator[RawSheet | InputError]:
    """Yield every sheet of ``path`` as a :class:`RawSheet`, or an :class:`InputError` per problem.

    ``encoding`` forces the text encoding of CSV/TSV/TXT files; ``sheets`` restricts a workbook to
    the named sheets (a name that is not there is reported as an error item).
    """
    name = str(path)
    path = Path(path)
    try:
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
        yield from _read_zip_workbook(path, name, sheets)
    elif kind == "xls":
        yield from _read_workbook(path, name, "xls", sheets)
    elif kind == "parquet":
        yield from _read_parquet(path, name)
    else:
        yield from _read_text(path, name, head, encoding)


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
    path: Path, name: str, sheets: Sequence[str] | None
) -> Iterator[RawSheet | InputError]:
    try:
        with zipfile.ZipFile(path) as zf:
            members = set(zf.namelist())
            mimetype = zf.read("mimetype")[:100] if "mimetype" in members else b""
    except zipfile.BadZipFile as exc:
        yield InputError(f"文件已损坏或不完整，无法作为 Excel 工作簿打开（zip 结构无效：{exc}）", file=name)
        return
    except (OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        yield InputError(f"文件已损坏，无法作为 Excel 工作簿打开（{exc}）", file=name)
        return
    if "xl/workbook.xml" in members:
        kind = "xlsx"
    elif "xl/workbook.bin" in members:
        kind = "xlsb"
    elif b"opendocument.spreadsheet" in mimetype or ("content.xml" in members and not mimetype):
        kind = "ods"
    elif "word/document.xml" in members:
        yield InputError("这是 Word 文档，不是 Excel 工作簿（zip 内没有 xl/workbook.xml）", file=name)
        return
    elif b"opendocument" in mimetype:
        yield InputError(
            f"这是 OpenDocument 文档（{mimetype.decode('ascii', 'replace')}），不是电子表格", file=name
        )
        return
    else:
        yield InputError("不是有效的 Excel 工作簿（zip 内没有 xl/workbook.xml）", file=name)
        return
    yield from _read_workbook(path, name, kind, sheets)


def _suffix_fits(path: Path, kind: str) -> bool:
    suffix = path.suffix.lower()
    if kind == "xlsx":
        return suffix in (".xlsx", ".xlsm")
    if kind == "xls":
        return suffix == ".xls"
    return suffix == f".{kind}"


def _read_workbook(
    path: Path, name: str, kind: str, sheets: Sequence[str] | None
) -> Iterator[RawSheet | InputError]:
    from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetTypeEnum

    label = {"xls": "Excel 97-2003 (.xls)", "ods": "OpenDocument (.ods)", "xlsb": "Excel 二进制 (.xlsb)"}.get(
        kind, "Excel (.xlsx)"
    )
    try:
        if _suffix_fits(path, kind):
            wb = CalamineWorkbook.from_path(str(path))
        else:
            # Suffix and content disagree: calamine picks its reader by suffix, so hand it the bytes.
            with path.open("rb") as fh:
                wb = CalamineWorkbook.from_filelike(fh)
    except (CalamineError, OSError, ValueError, TypeError) as exc:
        if isinstance(exc, PasswordError) or (kind == "xls" and _is_encrypted_ooxml(path)):
            yield InputError("工作簿有密码保护（已加密），请先在 Excel/WPS 中取消密码后另存", file=name)
        else:
            yield InputError(
                f"无法打开 {label} 工作簿，文件可能已损坏、加密或不完整（{_one_line(exc)}）", file=name
            )
        return

    try:
        try:
            metadata = {m.name: m for m in wb.sheets_metadata}
        except (CalamineError, AttributeError):  # pragma: no cover - very old calamine
            metadata = {}
        names = list(wb.sheet_names)
        wanted = names
        if sheets is not None:
            missing = [s for s in sheets if s not in names]
            for s in missing:
                yield InputError(
                    f"没有名为“{s}”的工作表（有：{'、'.join(names) or '无'}）", file=name, sheet=s
                )
            wanted = [s for s in sheets if s in names]
        for sheet_name in wanted:
            meta = metadata.get(sheet_name)
            if meta is not None and meta.typ == SheetTypeEnum.ChartSheet:
                continue  # a chart has no cells
            try:
                rows = wb.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
                grid = rows_to_grid(rows)
            except Exception as exc:  # one broken sheet must not stop the others
                yield InputError(f"无法读取工作表（{_one_line(exc)}）", file=name, sheet=sheet_name)
                continue
            yield RawSheet(file=name, sheet=sheet_name, grid=grid, encoding=None, has_header=False)
    finally:
        wb.close()


def _is_encrypted_ooxml(path: Path) -> bool:
    """A password-protected xlsx is an OLE container holding an "EncryptedPackage" stream."""
    try:
        return "EncryptedPackage".encode("utf-16-le") in path.read_bytes()
    except OSError:
        return False


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


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


def number_texts(values: np.ndarray) -> pa.Array:
    """Vectorised ``cells.number_text`` for an array of ints/floats (no bools), as pyarrow text.

    Whole numbers below 1e15 become digits through pyarrow's integer cast; NaN/inf become "";
    fractions and numbers ≥ 1e15 (shown in E notation, their digits are gone) use ``number_text``.
    """
    if values.dtype == object and any(type(v) is int and abs(v) >= 2**53 for v in values):
        # Python ints beyond a double's exact range: leave them to number_text.
        return pa.array([number_text(v) for v in values], type=pa.large_string())
    f = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(f)
        whole = finite & (np.abs(f) < EXACT_FLOAT_LIMIT) & (f == np.floor(f))
    digits = pc.cast(pa.array(np.where(whole, f, 0).astype(np.int64)), pa.large_string())
    if whole.all():
        return digits
    rest = [number_text(v) if ok else "" for v, ok in zip(f[~whole].tolist(), finite[~whole], strict=True)]
    return pc.replace_with_mask(digits, pa.array(~whole), pa.array(rest, type=pa.large_string()))


# --------------------------------------------------------------------------- parquet


def _read_parquet(path: Path, name: str) -> Iterator[RawSheet | InputError]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        yield InputError(f"无法读取 parquet 文件，文件可能已损坏或不完整（{_one_line(exc)}）", file=name)
        return
    try:
        series = [pd.Series(_arrow_texts(col), dtype="str", copy=False) for col in table.columns]
    except Exception as exc:
        yield InputError(f"无法把 parquet 列转换为文本（{_one_line(exc)}）", file=name)
        return
    grid = pd.concat(series, axis=1, ignore_index=True) if series else empty_grid()
    grid.columns = [str(c) for c in table.column_names]
    # pandas' index columns are storage artefacts, not data
    index_cols = [c for c in grid.columns if re.fullmatch(r"__index_level_\d+__", c)]
    if index_cols:
        grid = grid.drop(columns=index_cols)
    grid.index = pd.RangeIndex(table.num_rows)
    yield RawSheet(file=name, sheet="", grid=grid, encoding=None, has_header=True)


def _arrow_texts(col) -> object:
    """One pyarrow ChunkedArray → text values (a pyarrow string array or a numpy object array)."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pc.fill_null(col.cast(pa.large_string()), "")
    if pa.types.is_null(t):
        return np.full(len(col), "", dtype=object)
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        # Exact in parquet: digits as stored (unlike a spreadsheet's doubles).
        return pc.fill_null(pc.cast(col, pa.large_string()), "")
    if pa.types.is_floating(t):
        return number_texts(col.to_numpy(zero_copy_only=False).astype(np.float64))  # nulls → NaN → ""
    if pa.types.is_boolean(t):
        return pc.fill_null(pc.if_else(col, "TRUE", "FALSE"), "")
    if pa.types.is_date(t):
        return pc.fill_null(pc.cast(col.cast(pa.date32()), pa.large_string()), "")
    return np.array([cell_text(v) for v in col.to_pylist()], dtype=object)


# --------------------------------------------------------------------------- text


def _read_text(path: Path, name: str, head: bytes, encoding: str | None) -> Iterator[RawSheet | InputError]:
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
    try:
        utf8 = None
        if used in ("utf-8", "utf-8-sig") and not text.startswith("\ufeff"):
            utf8 = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw  # already valid UTF-8
        grid = read_delimited(text, suffix=path.suffix.lower(), utf8=utf8)
    except Exception as exc:
        yield InputError(f"无法解析为 CSV/TSV 文本（{_one_line(exc)}）", file=name)
        return
    yield RawSheet(file=name, sheet="", grid=grid, encoding=used, has_header=False)
