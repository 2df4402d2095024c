"""Parquet files → text columns, and decoding them early.

A parquet file's columns are typed; each value becomes the text a person would see, as every other
reader gives it (``cells.number_text`` for numbers, ISO dates, TRUE/FALSE). The footer is checked
against the reading limits before any page is decompressed.

Decoding early. The CLI knows its input files before it has imported pandas, the schema and the
rules (about half a second). ``reading_early`` decodes the parquet inputs on a thread meanwhile:
decoding is arrow work that releases the GIL, imports are Python that holds it, so on two cores the
two overlap instead of following one another. The reader then takes the decoded columns
(``take_early``) instead of reading the file again — only if the file is unchanged (same size and
modification time) and the limits are the same; anything else, a failure included, is read again in
the ordinary way and reported as usual. This module imports no pandas, which is what makes it early.
"""

from __future__ import annotations

import hashlib
import math
import os
import stat
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.errors import one_line
from fupin_audit.io import dictionary
from fupin_audit.io.cells import EXACT_INT_LIMIT, cell_text, number_text
from fupin_audit.io.limits import Limits, over

PARQUET_MAGIC = b"PAR1"


@dataclass(frozen=True)
class ParquetTexts:
    """A parquet file's columns as text (pyarrow string arrays, or numpy object arrays)."""

    names: list[str]
    columns: list[object]
    rows: int
    # the columns read through their dictionary pages: their distinct texts (io/dictionary.py)
    encodings: tuple[dictionary.Encoding, ...] = ()

    def longest(self) -> list[int | None]:
        """Per column: its longest text in UTF-8 bytes (None for a numpy column). Measured by the
        reader, not while decoding early: the early thread is what the reader waits for."""
        return [longest_bytes(c) if isinstance(c, pa.Array | pa.ChunkedArray) else None for c in self.columns]


def read_texts(path: Path | str, limits: Limits) -> ParquetTexts | str:
    """The file's columns as text, or the message saying why they cannot be read."""
    import pyarrow.parquet as pq

    try:
        # pre_buffer: the column chunks of a row group are read in a few coalesced reads, not one by
        # one (the 100k bench county: 190 → 175 ms for its seven files)
        with pq.ParquetFile(path, pre_buffer=True) as pf:
            problem = _parquet_problem(pf.metadata, limits)
            if problem:
                return problem
            coded = dictionary.dictionary_columns(pf.metadata, pf.schema_arrow)
            if not coded:
                table = pf.read()
        if coded:  # read_dictionary is given when a file is opened: again, on the footer just read
            with pq.ParquetFile(path, pre_buffer=True, metadata=pf.metadata, read_dictionary=coded) as pf:
                table = pf.read()
    except Exception as exc:  # whatever a damaged file makes pyarrow raise
        return f"无法读取 parquet 文件，文件可能已损坏或不完整（{one_line(exc)}）"
    columns: list[object] = []
    encodings: list[dictionary.Encoding] = []
    try:
        for col in table.columns:
            if _dictionary_of_texts(col.type):
                texts, encoding = dictionary.decode(col)
                columns.append(texts)
                encodings.append(encoding)
            else:
                columns.append(_arrow_texts(col))
    except Exception as exc:
        return f"无法把 parquet 列转换为文本（{one_line(exc)}）"
    return ParquetTexts([str(c) for c in table.column_names], columns, table.num_rows, tuple(encodings))


def _dictionary_of_texts(t: pa.DataType) -> bool:
    value = t.value_type if pa.types.is_dictionary(t) else None
    return value is not None and (pa.types.is_string(value) or pa.types.is_large_string(value))


def longest_bytes(texts: pa.Array | pa.ChunkedArray) -> int:
    """The longest text of an arrow string column, in UTF-8 bytes (0 for none)."""
    return int(pc.max(pc.binary_length(texts)).as_py() or 0) if len(texts) else 0


def _parquet_problem(meta, limits: Limits) -> str | None:
    """Check the footer before any page is decompressed: rows × columns and the uncompressed size."""
    rows, cols = int(meta.num_rows), int(meta.num_columns)
    if cols > limits.max_columns:
        return f"parquet 文件有 {cols:,} 列，超过上限 {limits.max_columns:,} 列（FUPIN_AUDIT_MAX_COLUMNS）"
    if rows * cols > limits.max_cells:
        return (
            f"parquet 文件有 {rows:,} 行 × {cols:,} 列 = {rows * cols:,} 个单元格，超过上限 {limits.max_cells:,}"
            "（确需读取请调高 FUPIN_AUDIT_MAX_CELLS）"
        )
    unpacked = sum(int(meta.row_group(i).total_byte_size) for i in range(meta.num_row_groups))
    if unpacked > limits.max_unpacked_bytes:
        return f"parquet 数据解压后共 {over(unpacked, limits.max_unpacked_bytes)}（FUPIN_AUDIT_MAX_UNPACKED）"
    return None


def _arrow_texts(col) -> object:
    """One pyarrow ChunkedArray → text values (a pyarrow string array or a numpy object array)."""
    t = col.type
    if pa.types.is_dictionary(t):
        col = col.cast(t.value_type)
        t = col.type
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return _no_nulls(col.cast(pa.large_string()))
    if pa.types.is_null(t):
        return np.full(len(col), "", dtype=object)
    if pa.types.is_integer(t) or pa.types.is_decimal(t):
        # Exact in parquet: digits as stored (unlike a spreadsheet's doubles).
        return _no_nulls(pc.cast(col, pa.large_string()))
    if pa.types.is_floating(t):
        return number_texts(col.to_numpy(zero_copy_only=False).astype(np.float64))  # nulls → NaN → ""
    if pa.types.is_boolean(t):
        return pc.fill_null(pc.if_else(col, "TRUE", "FALSE"), "")
    if pa.types.is_date(t):
        return _no_nulls(pc.cast(col.cast(pa.date32()), pa.large_string()))
    return np.array([cell_text(v) for v in col.to_pylist()], dtype=object)


def _no_nulls(texts: pa.ChunkedArray) -> pa.ChunkedArray:
    """Null texts as "". A column without nulls is returned as it is: filling makes the "" scalar
    from a Python value, and that makes pyarrow import pandas — on the early decoding thread, which
    then stopped at its first column until the main thread's imports were done (0.2 s at 100,000
    households)."""
    return texts if texts.null_count == 0 else pc.fill_null(texts, "")


def arrow_writes_repr(values: np.ndarray) -> np.ndarray:
    """Per double: whether arrow's cast to text writes it as Python's repr does, the shortest digits
    that read back as the same double in the same form: from 1e-4 up to 1e10 in magnitude (outside
    it the two place exponents differently; tests/test_io_properties.py). False for 0, NaN and ±inf."""
    with np.errstate(invalid="ignore"):
        magnitude = np.abs(values)
        return (magnitude >= 1e-4) & (magnitude < 1e10)


def number_texts(values: np.ndarray) -> pa.Array:
    """Vectorised ``cells.number_text`` for an array of ints/floats (no bools), as pyarrow text.

    Whole numbers below 2**53 (exact in a double) become digits through pyarrow's integer cast;
    NaN/inf become ""; fractions and larger numbers use ``number_text``.
    """
    if values.dtype == object and any(type(v) is int and abs(v) >= 2**53 for v in values):
        # Python ints beyond a double's exact range: leave them to number_text.
        return pa.array([number_text(v) for v in values], type=pa.large_string())
    f = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(f)
        whole = finite & (np.abs(f) < EXACT_INT_LIMIT) & (f == np.floor(f))
    digits = pc.cast(pa.array(np.where(whole, f, 0).astype(np.int64)), pa.large_string())
    if whole.all():
        return digits
    # Fractions (amounts in 元 and 角): arrow writes them as Python's repr does within a band
    # (`arrow_writes_repr`). A column of 100,000 incomes: one cast instead of a Python call each.
    others = f[~whole]
    texts = pc.cast(pa.array(others), pa.large_string())
    odd = ~arrow_writes_repr(others)  # NaN and ±inf too
    if odd.any():
        written = [number_text(v) if math.isfinite(v) else "" for v in others[odd].tolist()]
        texts = pc.replace_with_mask(texts, pa.array(odd), pa.array(written, type=pa.large_string()))
    return pc.replace_with_mask(digits, pa.array(~whole), texts)


# --------------------------------------------------------------------------- decoding early

# (resolved path, size, modification time, limits) → the decoding begun for that file
_early: dict[tuple, Future[ParquetTexts | str]] = {}
_early_lock = threading.Lock()
# (resolved path, size, modification time) → the hashing begun for a file decoded early
_hashed: dict[tuple, Future[str]] = {}


def file_sha256(path: Path | str) -> str:
    """The file's SHA-256 (hex), read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def take_early_sha256(path: Path | str) -> str | None:
    """The SHA-256 the decoding thread works out for the files it decoded, once it has decoded them
    all (hashlib lets the GIL go: there, not in the reader's way), waiting for it if it is being
    worked out; None when it was not, or not successfully, or its hashing has not begun (the caller
    hashes the file: sooner than waiting), or the file changed."""
    key = _identity(path, None)
    with _early_lock:
        future = _hashed.pop(key[:3], None) if key is not None else None
    if future is None or future.cancel():
        return None
    with suppress(Exception):
        digest = future.result()
        if _identity(path, None) == key:
            return digest
    return None


def _identity(path: Path | str, limits: Limits) -> tuple | None:
    try:
        resolved = Path(path).resolve()
        st = resolved.stat()
    except (OSError, RuntimeError):
        return None
    if not stat.S_ISREG(st.st_mode):  # a FIFO or device is never opened here (the reader refuses it)
        return None
    return (str(resolved), st.st_size, st.st_mtime_ns, limits)


def _is_parquet(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(PARQUET_MAGIC)) == PARQUET_MAGIC
    except OSError:
        return False


@contextmanager
def reading_early(paths: Iterable[str], limits: Limits | None = None) -> Iterator[None]:
    """Decode the parquet files among ``paths`` (files, not folders) on one thread while the block
    runs, then hash them; ``take_early`` and ``take_early_sha256`` hand each result to the reader.
    Leaving the block stops the thread after the file it is working on and forgets what was not taken."""
    try:
        limits = Limits.from_env() if limits is None else limits
    except Exception:  # a bad FUPIN_AUDIT_* value: the reader reports it; nothing is read early
        yield
        return
    # Only `_early` holds the futures: a result the reader took is not kept for the rest of the run
    # (the reader may replace those columns, e.g. normalised 户编号, and let the originals go).
    jobs: list[tuple[tuple, str]] = []
    for path in dict.fromkeys(paths):
        key = _identity(path, limits)
        # one job per file, however its path is written (a.parquet, ./a.parquet)
        if key is not None and key not in _early and key not in dict(jobs) and _is_parquet(path):
            jobs.append((key, path))
    stop = threading.Event()

    def decode() -> None:
        for key, path in jobs:
            with _early_lock:
                future = _early.get(key)
            if stop.is_set() or future is None or not future.set_running_or_notify_cancel():
                continue  # the reader got there first and reads this file itself
            try:
                future.set_result(read_texts(path, limits))
            except BaseException as exc:
                future.set_exception(exc)
            del future
        for key, path in jobs:  # the summary's fingerprints, after every file is decoded
            future = hashing.get(key[:3])
            if stop.is_set() or future is None or not future.set_running_or_notify_cancel():
                continue
            try:
                # still the regular file it decoded (never open a FIFO put in its place), and unchanged
                digest = file_sha256(path) if _identity(path, limits) == key else ""
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(digest if _identity(path, limits) == key else "")  # changed: ""
            del future

    with _early_lock:
        _early.update({key: Future() for key, _path in jobs})
        # this block's own hashing futures: a file another block hashes already is left to it
        hashing = {key[:3]: Future() for key, _path in jobs if key[:3] not in _hashed}
        _hashed.update(hashing)
    thread = threading.Thread(target=decode, name="fupin-audit-parquet", daemon=False)
    if jobs:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        with _early_lock:
            for key, _path in jobs:
                if (future := _early.pop(key, None)) is not None:
                    future.cancel()
            for file, future in hashing.items():
                if _hashed.get(file) is future:
                    del _hashed[file]
                future.cancel()
        if jobs:
            thread.join()


def take_early(path: Path | str, limits: Limits) -> ParquetTexts | str | None:
    """The columns decoded early for this file (waiting for them if they are being decoded), or
    None when it was not, or not successfully, decoded early, or its decoding has not begun: the
    caller reads it."""
    if not _early:
        return None
    key = _identity(path, limits)
    with _early_lock:
        future = _early.pop(key, None) if key is not None else None
    if future is None or future.cancel():  # not begun: reading it here is sooner than waiting
        return None
    with suppress(Exception):
        result = future.result()
        if isinstance(result, ParquetTexts) and _identity(path, limits) == key:
            return result  # a file rewritten meanwhile is read again
    return None


def input_files(paths: Iterable[str | os.PathLike[str]]) -> list[str]:
    """The data files named by ``paths`` (folders expanded), for ``reading_early``."""
    from fupin_audit.io.inputs import expand_inputs

    try:
        return expand_inputs(paths)
    except OSError:
        return []
