"""CSV and JSONL lines of the findings frame built as Arrow string arrays, a batch of rows at a time.

A dirty county gives millions of findings; a Python object per cell (pandas `to_csv`, `to_dict` and
`json.dumps` per record) made writing them cost more than finding them. Here each column becomes one
Arrow string array of finished cells (quoted, escaped, formula-neutralised) and a batch of lines is
one `binary_join_element_wise` whose data buffer is written as is. Categorical columns (rule, title,
file, …) are rendered once per category. Python touches only the few cells that need it: formula
candidates (to apply the exact `PLAIN_NUMBER` test), JSON strings with control characters, quotes or
backslashes, and the distinct `related` texts.

The bytes are exactly those of the pandas writers they replace (tests/test_output_digests.py):
CSV as `DataFrame.to_csv` (csv.QUOTE_MINIMAL, CRLF) after `neutralise_formulas`; JSONL as
`json.dumps(record, ensure_ascii=False)` per record. `lines()` returns None for a frame it cannot
render exactly (a column that is not text, say); the caller then uses the pandas writer.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.findings import FINDING_COLUMNS
from fupin_audit.report.protect import PLAIN_NUMBER

TEXT = pa.large_string()
# Bytes of lines per batch: a batch's lines and the cells they are joined from then stay in the
# processor's cache. Batches of 131,072 findings (70 MB of JSONL) wrote a storm at half the speed,
# and the time per finding jumps between 2 and 3 MB a batch (bench: 100k storm, 2 cores, 1 MB L2 each).
BATCH_BYTES = 2 << 20
# The first batch, whose lines measure the bytes a finding takes; and the most rows in any batch.
FIRST_ROWS = 1024
BATCH_ROWS = 1 << 17
# A cell starting with one of these bytes is a spreadsheet formula unless it is a plain number
# (protect.FORMULA_START and protect.PLAIN_NUMBER).
FORMULA_START = frozenset(b"=+-@\t\r")
# csv.QUOTE_MINIMAL with delimiter "," quotechar '"' and lineterminator "\r\n" quotes a cell holding these.
CSV_SPECIAL = frozenset(b',"\r\n')
# What json.dumps(ensure_ascii=False) escapes: control characters, the quote and the backslash.
# (Every byte of a multi-byte UTF-8 character is ≥ 0x80, so a byte test is a character test.)
BACKSLASH = ord("\\")
JSON_SPECIAL = frozenset(range(0x20)) | {ord('"'), BACKSLASH}


@functools.cache
def _byte_table(bytes_: frozenset[int]) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(bytes_)] = True
    return table


def _scalar(text: str) -> pa.Scalar:
    return pa.scalar(text, type=TEXT)


def _join(*pieces: pa.Array | pa.Scalar | str, separator: str = "") -> pa.Array:
    args = [_scalar(p) if isinstance(p, str) else p for p in pieces]
    return pc.binary_join_element_wise(*args, _scalar(separator))


@dataclass
class Column:
    """Finished cells of one column: `values[codes]` (a categorical's categories, finished once), or
    `render(values)` a batch at a time: a finished copy of a whole text column (a storm's messages)
    would double the memory the findings take."""

    values: pa.Array
    codes: np.ndarray | None = None
    quoted: bool = False  # JSON: the line puts the quotes around these cells
    render: Callable[[pa.Array], pa.Array] | None = None

    def batch(self, start: int, stop: int) -> pa.Array:
        if self.codes is not None:
            return pc.take(self.values, pa.array(self.codes[start:stop]))
        part = self.values.slice(start, stop - start)
        return part if self.render is None else self.render(part)


def _plain(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    return array.cast(TEXT) if array.type != TEXT else array


def _text_source(series: pd.Series) -> tuple[pa.Array, np.ndarray | None] | None:
    """The column as Arrow text (nulls kept) and, for a categorical, its codes; None if it is not text."""
    try:
        if isinstance(series.dtype, pd.CategoricalDtype):
            categories = np.asarray(series.cat.categories, dtype=object)
            return _plain(pa.array(categories, type=TEXT, from_pandas=True)), series.cat.codes.to_numpy()
        if isinstance(series.dtype, pd.StringDtype):
            return _plain(pa.array(series.array, type=TEXT)), None
        if series.dtype == object:
            return _plain(pa.array(series.to_numpy(), type=TEXT, from_pandas=True)), None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    return None


def _finish(
    source: tuple[pa.Array, np.ndarray | None],
    cells: Callable[[pa.Array], pa.Array],
    missing: str,
    quote: str = "",
) -> Column:
    """Column of finished cells: `cells` renders the texts, `missing` stands for a null. With `quote`
    (JSON strings) a column without nulls leaves its quotes to the line, one copy less per cell."""
    values, codes = source
    nulls = values.null_count > 0 or (codes is not None and bool((codes < 0).any()))
    if codes is None:

        def render(part: pa.Array) -> pa.Array:
            rendered = cells(pc.fill_null(part, "") if part.null_count else part)
            if quote and nulls:
                rendered = _join(quote, rendered, quote)
            return pc.if_else(pc.is_null(part), _scalar(missing), rendered) if part.null_count else rendered

        return Column(values, quoted=bool(quote) and not nulls, render=render)
    rendered = cells(pc.fill_null(values, "") if values.null_count else values)
    if quote and not nulls:
        return Column(rendered, codes.astype(np.int32), quoted=True)
    if quote:
        rendered = _join(quote, rendered, quote)
    rendered = pa.concat_arrays([rendered, pa.array([missing], type=TEXT)])  # the null's entry: last
    return Column(rendered, np.where(codes < 0, len(values), codes).astype(np.int32))


def _replace(values: pa.Array, mask: np.ndarray, render: Callable[[str], str]) -> pa.Array:
    """`values` with the masked cells (few) replaced by `render(cell)`."""
    if not mask.any():
        return values
    texts = pc.take(values, pa.array(np.flatnonzero(mask))).to_pylist()
    return pc.replace_with_mask(values, pa.array(mask), pa.array([render(t) for t in texts], type=TEXT))


def _buffers(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and UTF-8 bytes of a text array without nulls (numpy views, no copy)."""
    _, offsets, data = values.buffers()
    if offsets is None:  # an empty array may come without buffers
        return np.zeros(1, dtype=np.int64), np.empty(0, np.uint8)
    ends = np.frombuffer(offsets, dtype=np.int64)[values.offset : values.offset + len(values) + 1]
    return ends, (np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8))


# The control characters JSON escapes: tested as one range, the other wanted bytes one by one.
CONTROLS = frozenset(range(0x20))


def _holding(values: pa.Array, wanted: frozenset[int]) -> np.ndarray:
    """Which cells hold any of the `wanted` bytes (all below 0x2d, or the backslash)."""
    ends, data = _buffers(values)
    data = data[ends[0] : ends[-1]]
    if wanted >= CONTROLS:
        # JSON's bytes: the control characters as one range, then the quote and the backslash one by
        # one. Hits are rare; a first test that let every space through (to look each up) took twice as
        # long on messages.
        hit = data < 0x20
        for byte in sorted(wanted - CONTROLS):
            hit |= data == byte
        hits = np.flatnonzero(hit) + ends[0]
    else:
        # A comparison per byte is ten times cheaper than a table lookup: look up only the low bytes it keeps.
        near = np.flatnonzero(data <= max(wanted))
        hits = near[_byte_table(wanted)[data[near]]] + ends[0]
    rows = np.zeros(len(values), dtype=bool)
    rows[np.searchsorted(ends, hits, side="right") - 1] = True
    return rows


def _starting(values: pa.Array, wanted: frozenset[int]) -> np.ndarray:
    """Which cells start with one of the `wanted` (ASCII) bytes."""
    ends, data = _buffers(values)
    starts = ends[:-1]
    rows = np.zeros(len(values), dtype=bool)
    filled = ends[1:] > starts
    rows[filled] = _byte_table(wanted)[data[starts[filled]]]
    return rows


def _neutralised(values: pa.Array) -> pa.Array:
    """protect.neutralise_formulas, cell for cell: "'" before a formula start that is no plain number."""
    candidate = _starting(values, FORMULA_START)
    if candidate.any():  # Python's own regex on the few candidates: `\d` and `$` as the old writer had them
        texts = pc.take(values, pa.array(np.flatnonzero(candidate))).to_pylist()
        candidate[candidate] = [PLAIN_NUMBER.match(t) is None for t in texts]
    return _replace(values, candidate, lambda t: "'" + t)


def csv_cells(values: pa.Array) -> pa.Array:
    values = _neutralised(values)
    return _replace(values, _holding(values, CSV_SPECIAL), lambda t: '"' + t.replace('"', '""') + '"')


def json_string_cells(values: pa.Array) -> pa.Array:
    """JSON strings without their quotes (the line puts them around): escaped only where needed."""
    return _replace(values, _holding(values, JSON_SPECIAL), lambda t: json.dumps(t, ensure_ascii=False)[1:-1])


def json_related_cells(values: pa.Array) -> pa.Array:
    """`related` is JSON text: written as the value it holds ("" is null), re-serialised like json.dumps."""
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary.to_pylist()
    rendered = [json.dumps(json.loads(t), ensure_ascii=False) if t else "null" for t in distinct]
    return pc.take(pa.array(rendered, type=TEXT), encoded.indices)


# `--format json` is one document written with json.dump(indent=1): a finding is an object at depth 2 of
# it and its keys at depth 3, so a `related` value's own lines are indented three more spaces.
DOCUMENT_INDENT = "   "


def json_document_related_cells(values: pa.Array) -> pa.Array:
    """`related` as `json_related_cells`, laid out as json.dump(indent=1) lays it out at a key of depth 3."""
    encoded = pc.dictionary_encode(values)
    rendered = [
        json.dumps(json.loads(t), ensure_ascii=False, indent=1).replace("\n", "\n" + DOCUMENT_INDENT)
        if t
        else "null"
        for t in encoded.dictionary.to_pylist()
    ]
    return pc.take(pa.array(rendered, type=TEXT), encoded.indices)


def _row_source(series: pd.Series) -> pa.Array | None:
    if not pd.api.types.is_integer_dtype(series.dtype):
        return None  # a float row would be written as 12.0 by pandas: leave such a frame to pandas
    array = pa.array(series.array if isinstance(series.dtype, pd.Int64Dtype) else series.to_numpy())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _columns(findings: pd.DataFrame, fmt: str) -> list[Column] | None:
    columns = []
    for name in FINDING_COLUMNS:
        if name not in findings.columns:
            return None
        if name == "row":
            rows = _row_source(findings[name])
            if rows is None:
                return None
            missing = "" if fmt == "csv" else "null"
            columns.append(
                Column(rows, render=lambda part, missing=missing: pc.fill_null(_plain(part), missing))
            )
            continue
        source = _text_source(findings[name])
        if source is None:
            return None
        if fmt == "csv":
            columns.append(_finish(source, csv_cells, ""))
        elif name == "related":
            related = json_related_cells if fmt == "jsonl" else json_document_related_cells
            columns.append(_finish(source, related, "null"))
        else:
            columns.append(_finish(source, json_string_cells, "null", quote='"'))
    return columns


# `_merged` codes a combination as one int64: a run ends before its possible combinations pass this.
MERGED_LIMIT = 2**62


def _merged(columns: list[Column], joints: list[str]) -> tuple[list[Column], list[str]]:
    """Runs of adjacent coded columns (the categoricals: family and title, table file and sheet) as
    one column of the combinations that occur, each combination rendered once with the texts between
    its cells (`joints[k]`: the text before column k's cell): the kernel then joins fewer pieces per
    line. Also the joints before the returned columns."""
    out: list[Column] = []
    kept: list[str] = []
    i = 0
    while i < len(columns):
        j, possible = i, len(columns[i].values)
        while (
            columns[i].codes is not None
            and j + 1 < len(columns)
            and columns[j + 1].codes is not None
            and possible * len(columns[j + 1].values) < MERGED_LIMIT  # the codes stay within int64
        ):
            j += 1
            possible *= len(columns[j].values)
        kept.append(joints[i])
        out.append(columns[i] if j == i else _combined(columns[i : j + 1], joints[i + 1 : j + 1]))
        i = j + 1
    return out, kept


def _combined(run: list[Column], joints: list[str]) -> Column:
    """One column of the combinations of `run`'s codes that occur, the `joints` between their cells."""
    combined = np.zeros(len(run[0].codes), dtype=np.int64)
    for column in run:
        combined *= len(column.values)
        combined += column.codes
    found, distinct = pd.factorize(combined)
    pieces: list[pa.Array | str] = []
    for k in range(len(run) - 1, -1, -1):  # each combination's codes, last column first
        distinct, codes = np.divmod(distinct, len(run[k].values))
        pieces = [pc.take(run[k].values, pa.array(codes)), *pieces]
        if k:
            pieces = [joints[k - 1], *pieces]
    return Column(_join(*pieces), np.asarray(found, dtype=np.int32), quoted=run[-1].quoted)


def _batches(
    columns: list[Column], total: int, join: Callable[[list[pa.Array]], pa.Array]
) -> Iterator[bytes]:
    """The lines batch by batch, each about `BATCH_BYTES` long; with more workers the next batches are
    joined, one per worker, while this one is written (Arrow's kernels and file writes both release
    the GIL). Batches are yielded in order whichever is joined first."""
    from fupin_audit.workers import available_workers

    def lines(bounds: tuple[int, int]) -> memoryview:
        return _data(join([c.batch(*bounds) for c in columns]))

    first = min(FIRST_ROWS, BATCH_ROWS, total)
    if not first:
        return
    head = lines((0, first))
    yield head
    step = max(1, min(BATCH_ROWS, int(BATCH_BYTES * first / max(len(head), 1))))
    rest = [(start, min(start + step, total)) for start in range(first, total, step)]
    workers = min(available_workers(), len(rest))
    if workers < 2:
        yield from map(lines, rest)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers) as pool:
        ahead = deque(pool.submit(lines, bounds) for bounds in rest[:workers])
        for bounds in rest[workers:]:
            done = ahead.popleft().result()
            ahead.append(pool.submit(lines, bounds))
            yield done
        while ahead:
            yield ahead.popleft().result()


def _data(lines: pa.Array) -> memoryview:
    """The bytes of all strings of an array, back to back (its data buffer between the first and last offset)."""
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    return memoryview(lines.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


def csv_lines(findings: pd.DataFrame) -> Iterator[bytes] | None:
    """UTF-8 CSV: the header and every finding (CRLF), in batches; None if the frame needs pandas."""
    columns = _columns(findings, "csv")
    if columns is None:
        return None

    columns, _joints = _merged(columns, [","] * len(columns))

    def join(cells: list[pa.Array]) -> pa.Array:
        # The comma as the kernel's separator, not a piece between cells: half the time per line.
        return _join(*cells[:-1], _join(cells[-1], "\r\n"), separator=",")

    header = (",".join(FINDING_COLUMNS) + "\r\n").encode()
    return _prepend(header, _batches(columns, len(findings), join))


def jsonl_lines(findings: pd.DataFrame) -> Iterator[bytes] | None:
    """UTF-8 JSON Lines, one object per finding with the keys in contract order; None if pandas is needed."""
    columns = _columns(findings, "jsonl")
    if columns is None:
        return None

    between, close = _keyed(columns, "{", ", ")
    columns, between = _merged(columns, between)
    return _batches(columns, len(findings), _interleaved(between, close + "}\n"))


def _keyed(columns: list[Column], start: str, gap: str) -> tuple[list[str], str]:
    """The constant text before each cell of a finding's JSON object — `start` before the first key,
    else the previous cell's closing quote and `gap`; then the key and the cell's opening quote — and
    the last cell's closing quote."""
    between: list[str] = []
    close: str | None = None
    for name, column in zip(FINDING_COLUMNS, columns, strict=True):
        opening = '"' if column.quoted else ""
        between.append((start if close is None else close + gap) + json.dumps(name) + ": " + opening)
        close = opening
    return between, close or ""


def _interleaved(between: list[str], end: str) -> Callable[[list[pa.Array]], pa.Array]:
    """A batch's lines: each constant text, then its cell; `end` after the last."""

    def join(cells: list[pa.Array]) -> pa.Array:
        pieces: list[pa.Array | str] = []
        for text, cell in zip(between, cells, strict=True):
            pieces += [text, cell]
        return _join(*pieces, end)

    return join


def json_document(findings: pd.DataFrame, summary: dict) -> Iterator[bytes] | None:
    """UTF-8 bytes of `json.dump({"summary": summary, "findings": [...]}, indent=1, ensure_ascii=False)`
    and a final newline, the findings a batch at a time; None if the frame needs pandas."""
    columns = _columns(findings, "json")
    if columns is None:
        return None
    head = '{\n "summary": ' + json.dumps(summary, ensure_ascii=False, indent=1).replace("\n", "\n ")
    if not len(findings):
        return iter([(head + ',\n "findings": []\n}\n').encode()])
    # Every finding begins ",\n  {" — the first one's comma is dropped below.
    between, close = _keyed(columns, ",\n  {\n" + DOCUMENT_INDENT, ",\n" + DOCUMENT_INDENT)
    columns, between = _merged(columns, between)
    join = _interleaved(between, close + "\n  }")

    def document() -> Iterator[bytes]:
        yield (head + ',\n "findings": [').encode()
        first = True
        for chunk in _batches(columns, len(findings), join):
            yield chunk[1:] if first else chunk  # no comma before the first finding
            first = False
        yield b"\n ]\n}\n"

    return document()


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest
