"""Delimited text (CSV/TSV/TXT) → a raw text grid.

Encoding: forced, else UTF-8 (BOM stripped, reported as ``utf-8-sig``), else GB18030 (a superset of
GBK and GB2312, what Chinese Excel/WPS save as "CSV"). UTF-16 with a BOM (Excel's "Unicode text")
is read too. The delimiter is sniffed among ``,`` TAB ``;`` ``|`` from the first lines, respecting
quotes. Ragged rows are padded, never cut: the grid is as wide as the widest record, then trailing
columns that are entirely empty are dropped. A record is one grid row even when a quoted cell spans
several lines, so grid row ``r`` is the row ``r + 1`` that Excel shows when it opens the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import warnings
from collections import Counter

import numpy as np
import pandas as pd

from fupin_audit.io.limits import LimitExceeded

__all__ = ["DELIMITERS", "decode_text", "empty_grid", "read_delimited", "sniff_delimiter", "trim_grid"]

DELIMITERS = (",", "\t", ";", "|")
SNIFF_CHARS = 64 * 1024
SNIFF_RECORDS = 200
_CHUNK = 8 * 1024 * 1024
_UTF8_NAMES = {"utf-8", "utf8", "utf_8", "u8", "utf", "cp65001"}


def decode_text(raw: bytes, encoding: str | None = None) -> tuple[str, str] | str:
    """Decode a text file: ``(text, encoding used)``, or a one-line error message."""
    if encoding:
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            return f"未知的文本编码“{encoding}”"
        use = "utf-8-sig" if codec == "utf-8" and raw.startswith(codecs.BOM_UTF8) else encoding
        try:
            return raw.decode(use), encoding
        except UnicodeDecodeError as exc:
            return f"按指定编码 {encoding} 无法解码：{_where(raw, exc)}"
    if raw.startswith(codecs.BOM_UTF8):
        try:
            return raw.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            return f"文件以 UTF-8 BOM 开头，但不是有效的 UTF-8：{_where(raw, exc)}"
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            return f"文件以 UTF-16 BOM 开头，但不是有效的 UTF-16：{_where(raw, exc)}"
    nul = raw.find(b"\x00", 0, 8192)
    if nul >= 0 and raw.count(b"\x00", 0, 8192) * 100 > min(len(raw), 8192):
        # More than 1 % NUL bytes: binary, or UTF-16 without BOM. A stray NUL in a text export
        # is kept (the reader reports it) rather than refusing the whole file.
        return (
            f"不是文本文件，也不是可识别的表格格式（字节偏移 {nul} 处有 NUL 字节；"
            "可能是无 BOM 的 UTF-16 或其他二进制文件，请另存为 .xlsx 或 UTF-8 CSV）"
        )
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("gb18030"), "gb18030"
        except UnicodeDecodeError as gb_error:
            mixed = _mixed(raw, utf8_error, gb_error)
            if mixed:
                return mixed
            return (
                f"无法识别文本编码：不是 UTF-8（{_where(raw, utf8_error)}），"
                f"也不是 GB18030/GBK（{_where(raw, gb_error)}）；请另存为 UTF-8 或指定编码"
            )


def _mixed(raw: bytes, utf8_error: UnicodeDecodeError, gb_error: UnicodeDecodeError) -> str | None:
    """The message for a file whose lines are partly UTF-8 and partly GBK (two exports pasted together).

    Not decoded line by line: a short GBK line can be valid UTF-8 by accident ("女" is C5 AE, "Ů" in
    UTF-8), so guessing per line could silently change names. The user re-saves the file instead.
    """
    utf8_line = _line_of(raw, utf8_error.start)
    gb_line = _line_of(raw, gb_error.start)
    # the GB18030 failure must lie in a line that is valid UTF-8 with non-ASCII text, and vice versa
    start = raw.rfind(b"\n", 0, gb_error.start) + 1
    end = raw.find(b"\n", gb_error.start)
    piece = raw[start : end if end >= 0 else len(raw)]
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return None
    start = raw.rfind(b"\n", 0, utf8_error.start) + 1
    end = raw.find(b"\n", utf8_error.start)
    try:
        raw[start : end if end >= 0 else len(raw)].decode("gb18030")
    except UnicodeDecodeError:
        return None
    return (
        f"文件混用了两种编码：第 {gb_line} 行是 UTF-8，第 {utf8_line} 行是 GBK/GB18030"
        "（常见于把两份导出拼接在一起）；请用同一种编码另存（建议 UTF-8），或用 --encoding 指定"
    )


def _line_of(raw: bytes, pos: int) -> int:
    newline = b"\n" if b"\n" in raw[: pos + 1] or b"\r" not in raw[: pos + 1] else b"\r"
    return raw.count(newline, 0, pos) + 1


def _where(raw: bytes, exc: UnicodeDecodeError) -> str:
    pos = exc.start
    newline = b"\n" if b"\n" in raw[: pos + 1] or b"\r" not in raw[: pos + 1] else b"\r"
    line = raw.count(newline, 0, pos) + 1
    bad = raw[pos : min(exc.end, pos + 4)].hex(" ").upper()
    return f"第 {line} 行，字节偏移 {pos} 处的字节 {bad} 无效"


def sniff_delimiter(sample: str, suffix: str = "") -> str:
    """The most plausible delimiter of ``sample`` among ``DELIMITERS``.

    Ranking: how many non-blank records it splits into more than one field, then how consistent
    the field counts are, then a preference (the suffix's own delimiter, then TAB, which almost
    never occurs inside a cell, then ``,`` ``;`` ``|``).
    """
    if len(sample) >= SNIFF_CHARS:
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        if cut > 0:
            sample = sample[:cut]
    preferred = {".csv": ",", ".tsv": "\t", ".tab": "\t", ".psv": "|"}.get(suffix)
    order = ([preferred] if preferred else []) + [d for d in ("\t", ",", ";", "|") if d != preferred]
    best: tuple = ()
    choice = preferred or ","
    for rank, delim in enumerate(order):
        counts = _field_counts(sample, delim)
        multi = [c for c in counts if c > 1]
        if multi:
            _, freq = Counter(multi).most_common(1)[0]
            consistency = round(freq / len(multi), 2)
        else:
            consistency = 0.0
        score = (len(multi), consistency, -rank)
        if score > best:
            best, choice = score, delim
    return choice


def _field_counts(sample: str, delim: str) -> list[int]:
    """Field counts of the sample's non-empty records (a sample cut inside a quoted cell is fine)."""
    counts: list[int] = []
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delim, quotechar='"', strict=False)
    try:
        for record in reader:
            if record:
                counts.append(len(record))
            if len(counts) >= SNIFF_RECORDS:
                break
    except csv.Error:
        pass  # the sample may end inside a quoted cell
    return counts


def read_delimited(
    text: str,
    *,
    suffix: str = "",
    delimiter: str | None = None,
    utf8: bytes | None = None,
    max_cells: int | None = None,
    max_columns: int | None = None,
) -> pd.DataFrame:
    """Parse decoded text into a grid of str cells (columns ``0..n-1``, index = record position).

    ``utf8`` may carry the same content already encoded as UTF-8 (no BOM) to save re-encoding.
    ``max_cells`` / ``max_columns`` bound the grid before it is allocated (lines × width, where a
    single long line of delimiters over many short lines would otherwise ask for billions of
    padding cells): :class:`LimitExceeded` is raised instead.
    """
    if not text:
        return empty_grid()
    sample = text[:SNIFF_CHARS]
    delim = delimiter or sniff_delimiter(sample, suffix)
    data = utf8 if utf8 is not None else text.encode("utf-8", errors="surrogatepass")
    # First try: as wide as the widest record of the sample. pandas fails loudly (never drops
    # cells: see _parse) when a later record is wider, and then the width is counted exactly.
    width = max(_field_counts(sample, delim), default=1)

    def parse(width: int) -> pd.DataFrame:
        _check_size(data, width, delim, max_cells, max_columns)
        return _parse(data, delim, width)

    try:
        grid = parse(width)
    except _TooNarrow:
        bound = _max_delimiters_per_line(data, ord(delim)) + 1
        try:
            grid = parse(max(bound, width + 1))
        except _TooNarrow:
            # A quoted cell spanning lines carried more delimiters than any single line.
            csv.field_size_limit(sys.maxsize)
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"')
            exact = max((len(r) for r in reader), default=1)
            try:
                grid = parse(max(exact, bound + 1))
            except _TooNarrow as exc:
                raise ValueError(f"记录的字段数无法确定（{exc}）") from None
    if grid.isna().any().any():  # pragma: no cover - na_filter=False gives "" already
        grid = grid.fillna("")
    grid.index = pd.RangeIndex(len(grid))
    return trim_grid(grid)


def _check_size(data: bytes, width: int, delim: str, max_cells: int | None, max_columns: int | None) -> None:
    """Refuse a grid of ``width`` columns over every line before it is allocated."""
    too_wide = max_columns is not None and width > max_columns
    lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1
    too_big = max_cells is not None and lines * width > max_cells
    if not (too_wide or too_big):
        return
    widest, line = _widest_line(data, ord(delim))
    if too_wide:
        raise LimitExceeded(
            f"第 {line} 行有 {widest + 1:,} 个字段，超过 {max_columns:,} 列的上限"
            "（分隔符异常或文件已损坏；确需读取请调高 FUPIN_AUDIT_MAX_COLUMNS）"
        )
    raise LimitExceeded(
        f"表格最多 {lines:,} 行 × {width:,} 列 = {lines * width:,} 个单元格（最宽的是第 {line} 行），"
        f"超过上限 {max_cells:,}（确需读取请调高 FUPIN_AUDIT_MAX_CELLS）"
    )


class _TooNarrow(Exception):
    """Some record has more fields than the width given to the parser."""


def _parse(data: bytes, delim: str, width: int) -> pd.DataFrame:
    """pandas' C parser with every cell as text; fails rather than silently dropping fields."""
    if b'"' not in data and (grid := _read_plain(data, delim, width)) is not None:
        return grid
    with warnings.catch_warnings():
        # A first record wider than ``names`` only warns (and loses cells): make it an error.
        warnings.simplefilter("error", pd.errors.ParserWarning)
        try:
            return _read_csv(data, delim, width)
        except (pd.errors.ParserError, pd.errors.ParserWarning) as exc:
            message = " ".join(str(exc).split())
            if "Expected" in message or "Length of header" in message:
                raise _TooNarrow(message) from None
            match = re.search(r"EOF inside string starting at row (\d+)", message)
            if match:
                raise ValueError(
                    f"第 {int(match.group(1)) + 1} 行起有一个引号没有配对，直到文件末尾都没有闭合"
                ) from None
            raise ValueError(message) from None


def _read_plain(data: bytes, delim: str, width: int) -> pd.DataFrame | None:
    """Text without a single quote character, every record exactly ``width`` fields: then splitting
    at delimiters and line ends is all there is to it, and arrow's reader does it on every core
    straight into arrow strings, about four times faster than pandas' parser making Python strings.
    None for anything else (a short, long or blank line, bytes that are not UTF-8): pandas' parser
    then decides, as before."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    names = [str(j) for j in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            read_options=pacsv.ReadOptions(column_names=names),
            parse_options=pacsv.ParseOptions(delimiter=delim, quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None
    columns = {j: pd.Series(table.column(j).combine_chunks(), dtype="str", copy=False) for j in range(width)}
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows), copy=False)


def _read_csv(data: bytes, delim: str, width: int) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(data),
        sep=delim,
        header=None,
        names=range(width),
        index_col=False,
        dtype=str,
        keep_default_na=False,
        na_filter=False,
        skip_blank_lines=False,
        quotechar='"',
        doublequote=True,
        escapechar=None,
        quoting=csv.QUOTE_MINIMAL,
        skipinitialspace=False,
        encoding="utf-8",
        engine="c",
    )


def _max_delimiters_per_line(data: bytes, delim: int) -> int:
    """Most delimiter bytes on one physical line (CR, LF and CRLF all end a line).

    An upper bound of a record's field count unless a quoted cell spans lines. Works in chunks
    so a large file never needs per-byte index arrays.
    """
    return _widest_line(data, delim)[0]


def _widest_line(data: bytes, delim: int) -> tuple[int, int]:
    """(most delimiter bytes on one physical line, that line's number as an editor counts lines)."""
    arr = np.frombuffer(data, dtype=np.uint8)
    best, best_line = 0, 1
    carry = 0
    line = 1  # line number of the line in progress at the start of the chunk
    for start in range(0, len(arr), _CHUNK):
        a = arr[start : start + _CHUNK]
        ends = np.flatnonzero((a == 10) | (a == 13))
        delims = np.flatnonzero(a == delim)
        if len(ends) == 0:
            carry += len(delims)
            continue
        counts = np.bincount(np.searchsorted(ends, delims), minlength=len(ends) + 1)
        counts[0] += carry
        top = int(np.argmax(counts[:-1]))
        if int(counts[top]) > best:
            # a CRLF pair counts as one line end: count the ends before ``top`` that are not the
            # LF of a CRLF
            crlf = int(np.count_nonzero((a[ends[:top]] == 10) & (ends[:top] > 0) & (a[ends[:top] - 1] == 13)))
            best, best_line = int(counts[top]), line + top - crlf
        lf_of_crlf = np.count_nonzero((a[ends] == 10) & (ends > 0) & (a[np.maximum(ends - 1, 0)] == 13))
        line += len(ends) - int(lf_of_crlf)
        carry = int(counts[-1])
    if carry > best:
        best, best_line = carry, line
    return best, best_line


def trim_grid(grid: pd.DataFrame) -> pd.DataFrame:
    """Drop trailing columns and trailing rows that are entirely empty (row numbers stay right).

    Looks from the right and from the bottom only as far as needed, so a big grid with a
    filled last column and last row costs two column scans.
    """
    last_col = grid.shape[1]
    while last_col and not grid.iloc[:, last_col - 1].ne("").any():
        last_col -= 1
    if last_col == 0:
        return grid.iloc[:0, :0]
    n = len(grid)
    last_row, window = 0, 16
    while True:
        start = max(0, n - window)
        tail = grid.iloc[start:n, :last_col].ne("").to_numpy().any(axis=1)
        if tail.any():
            last_row = start + int(np.flatnonzero(tail)[-1]) + 1
            break
        if start == 0:
            break
        n, window = start, window * 8
    if last_col == grid.shape[1] and last_row == len(grid):
        return grid
    return grid.iloc[:last_row, :last_col]


def empty_grid() -> pd.DataFrame:
    return pd.DataFrame(index=pd.RangeIndex(0), columns=pd.RangeIndex(0), dtype="str")
