"""The one result type: a findings DataFrame with the fixed columns of OUTPUT.md.

A dirty province can produce millions of findings, so the frame is built once, at the end of a run,
column by column: the columns with few distinct values (rule, family, title, table, file, sheet,
column) are categoricals whose categories are sorted (sorting by their codes is sorting by the
text), the other text columns are pyarrow-backed strings, and the order is one `np.lexsort` over
integer keys. Values are the texts `str(value)` gives ("" for missing), as they always were.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import ArrowStringArray

# Public contract (OUTPUT.md): names and order are stable; new columns go at the end.
FINDING_COLUMNS = (
    "rule",
    "severity",
    "family",
    "title",
    "message",
    "table",
    "file",
    "sheet",
    "row",
    "column",
    "value",
    "household_id",
    "person_id",
    "id_number",
    "township",
    "village",
    "related",
)
SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
# Columns with few distinct values, stored as categoricals (sorted categories).
CATEGORICAL_COLUMNS = ("rule", "family", "title", "table", "file", "sheet", "column")
# Columns a rule's run sets once for all its findings.
RULE_COLUMNS = ("rule", "severity", "family", "title")
_SORT_KEYS = ("file", "sheet", "_has_row", "_row0", "rule", "column", "message")


def at_or_above(severity: pd.Series, level: str) -> np.ndarray:
    """Per finding: its severity is `level` or graver (a set test, not a rank per row: a storm has millions)."""
    graver = [name for name, rank in SEVERITY_RANK.items() if rank >= SEVERITY_RANK[level]]
    return severity.isin(graver).to_numpy(dtype=bool)


def empty_findings() -> pd.DataFrame:
    return conform(pd.DataFrame({name: pd.Series(dtype=object) for name in FINDING_COLUMNS}))


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Give any partial findings frame the contract's columns, order and types."""
    return assemble([frame])


def assemble(
    parts: Sequence[pd.DataFrame],
    constants: Sequence[dict[str, str]] | None = None,
    *,
    consume: bool = False,
) -> pd.DataFrame:
    """One findings frame from the frames the rules returned, in order.

    `constants[i]` holds the columns that are one value for all of part i (rule, severity, family,
    title). Each value becomes `str(value)` ("" for NA) exactly as if the parts had been concatenated
    first: a column's dtype across the parts is the one `pd.concat` would give it.

    consume: the caller gives the parts away (its list is emptied): each of their columns is let go
    once it is assembled, so a storm's findings are not held twice (parts and result) but once plus a
    column.
    """
    constants = list(constants) if constants is not None else [{} for _ in parts]
    sizes = np.array([len(p) for p in parts], dtype=np.int64)
    total = int(sizes.sum())
    # Columns by name, so that each can be let go once assembled (deleting a DataFrame's column
    # costs more than assembling it).
    frames = [{name: column for name, column in part.items() if name in FINDING_COLUMNS} for part in parts]
    common = _common_dtypes(frames)
    if consume and isinstance(parts, list):
        parts.clear()
    del parts
    columns: dict[str, object] = {"row": _rows(frames, sizes)}
    for name in FINDING_COLUMNS:
        if name == "row":
            continue
        categorical = name in CATEGORICAL_COLUMNS
        pieces: list[tuple[pa.Array, np.ndarray | None]] = []
        seen: dict[int, tuple[pd.Index, pa.Array]] = {}  # texts of categories many parts share (file, sheet)
        for part, fixed, size in zip(frames, constants, sizes, strict=True):
            if name in fixed or name not in part:
                # one text for the whole part: a one-entry dictionary, never `size` Python objects
                text = _text(fixed[name]) if name in fixed else ""
                pieces.append((pa.array([text], type=pa.large_string()), np.zeros(int(size), dtype=np.int8)))
            elif categorical:
                pieces.append(_dictionary(part[name], common[name], seen))
            else:
                pieces.append((_texts(part[name], common[name]), None))
            if consume:
                part.pop(name, None)
        columns[name] = _categorical(pieces, total) if categorical else _strings(pieces)
        del pieces
    out = pd.DataFrame(columns, index=pd.RangeIndex(total), copy=False)[list(FINDING_COLUMNS)]
    out["row"] = out["row"].astype("Int64")
    return out


def _common_dtypes(parts: Sequence[dict[str, pd.Series]]) -> dict[str, object]:
    """The dtype each column would have after pd.concat of the parts (a part without a column counts
    too: it makes an int64 column float64), for the columns `_texts` renders (not `row`)."""
    # The result depends on which (column, dtype) sets occur, not on how often: one part per layout.
    # (Categoricals count as one kind whatever their categories: concatenated with another categorical
    # or not, their texts are taken by the same path below.)
    layouts: dict[tuple, dict[str, pd.Series]] = {}
    for part in parts:
        layouts.setdefault(tuple((c, _kind(s.dtype)) for c, s in part.items()), part)
    # Text columns need no concatenation: pd.concat makes them object when any part's is object, else
    # str when any part's is str, else category. A column of another kind keeps it if every layout
    # has it. Only the rest need the concatenation of one row per layout (some 30 ms for 15 layouts).
    dtypes: dict[str, list] = {}
    for part in layouts.values():
        for column, series in part.items():
            dtypes.setdefault(column, []).append(series.dtype)
    common: dict[str, object] = {}
    for column, seen in dtypes.items():
        if all(_texty(d) for d in seen):
            # what pd.concat gives: object if any part's is, else str if any is, else category
            common[column] = next(
                (d for d in seen if _is_object(d)),
                next((d for d in seen if isinstance(d, pd.StringDtype)), seen[0]),
            )
        elif (
            len({_kind(d) for d in seen}) == 1
            and len(seen) == len(layouts)
            and not isinstance(seen[0], pd.CategoricalDtype)  # numbers as categories: as pd.concat has them
        ):
            common[column] = seen[0]
    mixed = [c for c in dtypes if c not in common and c != "row"]  # `_rows` makes the row column
    if mixed:
        heads = [
            pd.DataFrame(
                {c: part[c].iloc[:1].reset_index(drop=True) for c in mixed if c in part},
                index=pd.RangeIndex(min(1, len(next(iter(part.values()), ())))),  # an empty part: no row
            )
            for part in layouts.values()
        ]
        common.update(pd.concat(heads, ignore_index=True).dtypes.items())
    return common


def _texty(dtype: object) -> bool:
    """Text: object, str, or a category of texts (`_texts` and `_dictionary` render these by their own
    dtype). Categories of numbers are not: pd.concat of two such makes numbers of them (1 → "1.0")."""
    if isinstance(dtype, pd.CategoricalDtype):
        return _is_object(dtype.categories.dtype) or isinstance(dtype.categories.dtype, pd.StringDtype)
    return _is_object(dtype) or isinstance(dtype, pd.StringDtype)


def _kind(dtype: object) -> object:
    return ("category", dtype.categories.dtype) if isinstance(dtype, pd.CategoricalDtype) else dtype


def _dictionary(
    series: pd.Series, dtype: object, seen: dict[int, tuple[pd.Index, pa.Array]]
) -> tuple[pa.Array, np.ndarray]:
    """The column's texts as (distinct texts, index per row): a categorical's own categories and codes
    when concatenating would keep them text, else its texts hash-encoded. `seen`: the texts of
    categories already rendered, by the identity of their index."""
    if isinstance(series.dtype, pd.CategoricalDtype) and (
        _is_object(dtype) or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype)
    ):
        categories = series.dtype.categories
        if id(categories) not in seen:  # the index is kept in `seen`, so its id is not reused
            texts = [_text(c) for c in pd.Index(categories).astype(object)] + [""]
            seen[id(categories)] = (categories, pa.array(texts, type=pa.large_string()))
        codes = series.array.codes  # the Categorical's own: `.cat.codes` builds an accessor and a Series
        return seen[id(categories)][1], np.where(codes < 0, len(categories), codes)
    encoded = pc.dictionary_encode(_texts(series, dtype))
    return encoded.dictionary, np.asarray(encoded.indices.to_numpy(zero_copy_only=False))


def _categorical(pieces: list[tuple[pa.Array, np.ndarray | None]], total: int) -> pd.Categorical:
    """One categorical from (dictionary, indices) pieces, with sorted categories."""
    values = pa.concat_arrays([d for d, _ in pieces]) if pieces else pa.array([], type=pa.large_string())
    distinct = pc.unique(values)
    categories = pc.take(distinct, pc.sort_indices(distinct))  # UTF-8 byte order = code point order
    codes = np.empty(total, dtype=np.int32)
    # Every piece's dictionary looked up at once (one hash table of the categories, not one a piece:
    # a run's hundred rule parts times each categorical column)
    mapping = np.asarray(pc.index_in(values, value_set=categories).to_numpy(zero_copy_only=False))
    position = start = 0
    for dictionary, indices in pieces:
        codes[position : position + len(indices)] = mapping[start : start + len(dictionary)][indices]
        position += len(indices)
        start += len(dictionary)
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories.to_pylist(), dtype="str"))


def _strings(pieces: list[tuple[pa.Array, np.ndarray | None]]) -> pd.api.extensions.ExtensionArray:
    arrays = [d if indices is None else pc.take(d, pa.array(indices)) for d, indices in pieces]
    # One array, not chunks: a take from chunks (the sort) concatenates them into a temporary copy first.
    array = pa.concat_arrays(arrays) if arrays else pa.array([], type=pa.large_string())
    return ArrowStringArray(array, dtype=pd.StringDtype("pyarrow", na_value=np.nan))


def _text(value: object) -> str:
    return "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _is_object(dtype: object) -> bool:
    return isinstance(dtype, np.dtype) and dtype.kind == "O"


def _texts(series: pd.Series, dtype: object) -> pa.Array:
    """`str(value)` per row ("" for NA), after the cast pd.concat would make to `dtype`."""
    if isinstance(series.dtype, pd.StringDtype) and (_is_object(dtype) or isinstance(dtype, pd.StringDtype)):
        array = pa.array(series.array, type=pa.large_string())  # already text: no Python objects
        return pc.fill_null(_one_chunk(array), "")
    if isinstance(series.dtype, pd.CategoricalDtype) and (
        _is_object(dtype) or isinstance(dtype, pd.StringDtype | pd.CategoricalDtype)
    ):
        categories = pd.Index(series.cat.categories).astype(object)
        texts = [_text(c) for c in categories] + [""]
        codes = series.cat.codes.to_numpy()
        return pc.take(
            pa.array(texts, type=pa.large_string()), pa.array(np.where(codes < 0, len(categories), codes))
        )
    values = series.astype(dtype) if series.dtype != dtype else series
    values = values.astype(object)
    values = values.where(values.notna(), "").astype(str)
    array = pa.array(values.array, type=pa.large_string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def _one_chunk(array: pa.Array | pa.ChunkedArray) -> pa.Array:
    if not isinstance(array, pa.ChunkedArray):
        return array
    return array.chunk(0) if array.num_chunks == 1 else array.combine_chunks()  # one chunk: no copy


def _rows(parts: Sequence[dict[str, pd.Series]], sizes: np.ndarray) -> np.ndarray:
    """The row column as float (NaN: a finding about a whole sheet); `assemble` makes it Int64."""
    pieces = []
    for part, size in zip(parts, sizes, strict=True):
        if "row" in part and pd.api.types.is_numeric_dtype(part["row"].dtype):  # the rules' spreadsheet rows
            pieces.append(part["row"].to_numpy(dtype=np.float64, na_value=np.nan))
        elif "row" in part:
            numbers = pd.to_numeric(part["row"], errors="coerce")
            pieces.append(np.asarray(numbers.astype("float64"), dtype=np.float64))
        else:
            pieces.append(np.full(int(size), np.nan))
    return np.concatenate(pieces) if pieces else np.empty(0, dtype=np.float64)


def sort_findings(frame: pd.DataFrame, *, reuse: bool = False) -> pd.DataFrame:
    """Deterministic order: by file, sheet, row, rule (table-level findings, without a row, first).

    reuse: the caller hands the frame over (and keeps no other reference): it is sorted column by
    column in place, so a storm's findings are held twice one column at a time, not all at once."""
    if len(frame) <= 1:
        return frame.reset_index(drop=True)
    has_row = frame["row"].notna().to_numpy()
    row0 = frame["row"].fillna(0).to_numpy(dtype=np.float64)
    keys = {"_has_row": has_row.astype(np.int8), "_row0": row0}
    for name in ("file", "sheet", "rule", "column"):
        keys[name] = _rank(frame[name])
    # np.lexsort sorts by the last key first, and is stable: ties keep the order the rules ran in.
    order = np.lexsort([keys[name] for name in reversed(_SORT_KEYS[:-1])])
    order = _by_message_within_ties(frame["message"], order, [keys[name][order] for name in _SORT_KEYS[:-1]])
    if (order == np.arange(len(order))).all():
        return frame.reset_index(drop=True)
    if not reuse:
        return frame.take(order).reset_index(drop=True)
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0 or frame.index.step != 1:
        frame.index = pd.RangeIndex(len(frame))
    for name in frame.columns:  # in this frame: a copy would keep every old column alive
        frame[name] = frame[name].array.take(order)
    return frame


def _by_message_within_ties(messages: pd.Series, order: np.ndarray, keys: list[np.ndarray]) -> np.ndarray:
    """`order` with each run of equal keys sorted by message (stably), as if message were the last key.

    Runs are rare (one rule flags one cell once), so only their messages are ranked: ranking every
    message of a storm costs more than the rest of the sort."""
    tie = np.ones(len(order) - 1, dtype=bool)
    for key in keys:
        tie &= key[1:] == key[:-1]
    if not tie.any():
        return order
    in_run = np.zeros(len(order), dtype=bool)
    in_run[:-1] |= tie
    in_run[1:] |= tie
    positions = np.flatnonzero(in_run)
    run = np.cumsum(~np.concatenate(([False], tie)))[positions]  # which run each position is in
    ranks = _rank(messages.take(order[positions]))
    order = order.copy()
    order[positions] = order[positions][np.lexsort([ranks, run])]
    return order


def _rank(series: pd.Series) -> np.ndarray:
    """Integer keys that sort like the texts (categoricals: codes of sorted categories)."""
    if isinstance(series.dtype, pd.CategoricalDtype) and series.cat.categories.is_monotonic_increasing:
        return series.cat.codes.to_numpy()
    if isinstance(series.dtype, pd.StringDtype) and series.dtype.storage == "pyarrow":
        array = pa.array(series.array, type=pa.large_string())
        array = pc.fill_null(array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array, "")
        # dense rank in UTF-8 byte order, which is code point order: the order of Python's str
        return np.asarray(pc.rank(array, sort_keys="ascending", tiebreaker="dense"), dtype=np.int64)
    codes, _ = pd.factorize(series.astype(object).where(series.notna(), ""), sort=True)
    return np.asarray(codes)


def plain_text(findings: pd.DataFrame, columns: Sequence[str] = CATEGORICAL_COLUMNS) -> pd.DataFrame:
    """The frame with the given categorical columns as plain text columns (for `+`, `.map` …)."""
    wanted = {
        c: "str" for c in columns if c in findings and isinstance(findings[c].dtype, pd.CategoricalDtype)
    }
    return findings.astype(wanted) if wanted else findings
