"""Raw cells behind parsed values: what was written, whether it was empty, how to show it in a message."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.engine.context import AuditContext
from fupin_audit.facts.values import HID
from fupin_audit.schema.fields import (
    ARROW_TEXT,
    EMPTY_MARKERS,
    EMPTY_SET,
    arrow_mask,
    arrow_text,
    clean_texts,
    is_arrow_text,
    known_clean,
    mostly_distinct,
    settled_texts,
    str_series,
)


def factorize(series: pd.Series) -> tuple[np.ndarray, Any]:
    """`pd.factorize(series, use_na_sentinel=True)` as int64 codes; pyarrow-backed text is hash-encoded
    by arrow directly (the same codes and first-seen order, in half the time)."""
    if is_arrow_text(series):
        encoded = pc.dictionary_encode(arrow_text(series))
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, pd.array(encoded.dictionary.to_pandas(), dtype=series.dtype)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), uniques


def entries(series: pd.Series, array: pa.Array | None = None) -> tuple[np.ndarray, pa.Array]:
    """For an element-wise test of a text column: the texts to judge, and per row the entry holding
    its verdict (-1: NA). The distinct texts (hash-encoded), or, for a long column of mostly distinct
    texts, the rows themselves (NA rows then stay null in the array). `array`: the column's
    `arrow_text`, when the caller has it."""
    array = arrow_text(series) if array is None else array
    if mostly_distinct(array):
        return np.arange(len(array), dtype=np.int64), array
    encoded = pc.dictionary_encode(array)
    return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(
        np.int64
    ), encoded.dictionary


def sources(first: np.ndarray, second: np.ndarray, names: tuple[str, str]) -> pd.Categorical:
    """Per row: names[0] where `first`, else names[1] where `second`, else "" (a categorical)."""
    codes = np.where(first, 0, np.where(second, 1, 2)).astype(np.int8)
    return pd.Categorical.from_codes(codes, categories=[*names, ""])


def map_values(series: pd.Series, func: Callable[[Any], Any], dtype: Any = object) -> np.ndarray:
    """``func`` applied to each distinct value only (NA → func(None)); the result per row as an array.
    A code-list column (categorical) is judged on its categories: no hash of the rows."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes, uniques = series.cat.codes.to_numpy(), series.cat.categories
    else:
        codes, uniques = pd.factorize(series, use_na_sentinel=True)
    mapped = np.array([func(v) for v in uniques] + [func(None)], dtype=dtype)
    return mapped[np.where(codes < 0, len(uniques), codes)]


def formatted(values: Any, pattern: str = "{:.2f}", index: pd.Index | None = None) -> pd.Series:
    """``pattern.format(v)`` per row, formatting each distinct value once (NA → "")."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, index=index)
    return texts_per_value(series, lambda v: pattern.format(v), "", index)


# pandas' own text dtype (Arrow strings, NaN for missing): messages built from these concatenate with
# Arrow kernels, and the findings take them over without a Python string per row.
TEXT = ARROW_TEXT  # pandas' "str" dtype


def texts_per_value(
    series: pd.Series, render: Callable[[Any], str], missing: str, index: pd.Index | None = None
) -> pd.Series:
    """``render(v)`` per row as Arrow text, rendering each distinct value once (NA → `missing`):
    one take from the few rendered texts, never a Python string per row."""
    index = series.index if index is None else index
    if series.dtype == object:  # 1, 1.0 and True are one value to a hash table but not to str()
        rendered = [missing if v is None or pd.isna(v) else render(v) for v in series.tolist()]
        return text_series(np.arange(len(rendered)), rendered, missing, index)
    codes, uniques = pd.factorize(series, use_na_sentinel=True)  # NA is code -1, never among uniques
    return text_series(codes, [render(v) for v in uniques], missing, index)


def day_texts(dates: pd.Series, missing: str) -> pd.Series:
    """Dates as “2012-03-04” (Arrow text; `missing` for NaT): numpy writes the distinct days, which
    costs a fraction of a strftime per value."""
    codes, uniques = pd.factorize(dates, use_na_sentinel=True)
    days = np.datetime_as_string(np.asarray(uniques, dtype="datetime64[ns]"), unit="D")
    return text_series(codes, days.tolist(), missing, dates.index)


def text_series(codes: np.ndarray, texts: list[str], missing: str, index: pd.Index) -> pd.Series:
    """``texts[code]`` per row (`missing` where the code is negative) as Arrow text."""
    table = pa.array([*texts, missing], type=pa.large_string())
    picked = pc.take(table, pa.array(np.where(codes < 0, len(texts), codes).astype(np.int64)))
    return pd.Series(pd.arrays.ArrowStringArray(picked, dtype=TEXT), index=index, copy=False)


def raw_empty(ctx: AuditContext, kind: str, field: str) -> np.ndarray:
    """Per row: the cell as read is empty (blank, “-”, “/”, NULL …, or the column absent from its sheet)."""
    raw = ctx.table(kind).raw
    if field not in raw:
        return np.ones(len(raw), dtype=bool)
    return ctx.cached(f"{kind}.raw_empty.{field}", lambda: empty_cells(raw[field]))


def empty_cells(series: pd.Series) -> np.ndarray:
    """Per row: NA, or a text that is an empty marker once stripped (or once NFKC-normalised and
    stripped). Judged on the distinct texts with arrow kernels (pyarrow's trim strips exactly what
    str.strip() strips); only texts NFKC could change go through Python."""
    if not isinstance(series.dtype, pd.StringDtype):
        return map_values(series, _empty_value, bool)
    array = arrow_text(series)
    # IDs, amounts, phone numbers: nearly every text settled (never empty) or "", only the others judged
    settled, empty = settled_texts(array)
    rest = np.flatnonzero(~(settled | empty))
    if 2 * len(rest) <= len(array):
        if len(rest):
            empty[rest] = empty_cells(series.iloc[rest])
        return empty
    # NFKC leaves ASCII as it is: stripping alone decides, row by row (amounts: mostly distinct
    # texts, which hashing would not reduce)
    ascii_only = pc.all(pc.string_is_ascii(array)).as_py() is not False
    codes, array = (None, array) if ascii_only else entries(series, array)
    empty = arrow_mask(pc.is_in(pc.utf8_trim_whitespace(array), value_set=EMPTY_SET))
    if not ascii_only:
        empty |= arrow_mask(pc.is_in(clean_texts(array), value_set=EMPTY_SET))
    empty |= ~arrow_mask(pc.is_valid(array))
    return empty if codes is None else np.append(empty, True)[np.where(codes < 0, len(array), codes)]


def _empty_value(value: Any) -> bool:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return True
    return str(value).strip() in EMPTY_MARKERS or _nfkc(str(value)) in EMPTY_MARKERS


def unknown(ctx: AuditContext, kind: str, field: str) -> np.ndarray:
    """Per row: a cell was written but could not be typed (reported by DQ003/DQ004): value unknown."""
    typed = ctx.frame(kind)[field]
    missing = typed.isna().to_numpy()
    key = f"{kind}.raw_empty.{field}"
    if ctx.is_cached(key) or not missing.any():
        return missing & ~raw_empty(ctx, kind, field)
    raw = ctx.table(kind).raw
    if field not in raw:
        return np.zeros(len(missing), dtype=bool)
    # Only the rows without a typed value can be unknown: judge just those cells (picked by arrow's
    # filter from a text column: a boolean `[]` of a Series costs more than judging them).
    column = raw[field]
    if is_arrow_text(column):
        cells = str_series(pc.filter(arrow_text(column), pa.array(missing)))
    else:
        cells = column[missing]
    out = missing.copy()
    out[missing] = ~empty_cells(cells)
    return out


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def member_household_codes(ctx: AuditContext) -> tuple[np.ndarray, pd.Index]:
    """Per member row: position of its 户编号 among the distinct member 户编号 (-1 when empty)."""

    def compute() -> tuple[np.ndarray, pd.Index]:
        hid = ctx.frame("members", HID)[HID]
        if not (is_arrow_text(hid) and known_clean(hid.array.__arrow_array__())):
            codes, uniques = factorize(hid)
            return codes, pd.Index(uniques)
        # Validated text (stripped, null where empty) is coded alike by the shared 户编号 codes: the
        # members' codes made dense again (integers hashed, not texts), the texts read at first rows.
        from fupin_audit.facts.keys import first_rows, household_codes, joint_number_codes

        (codes,), n = joint_number_codes([household_codes(ctx)["members"]])
        return codes, pd.Index(hid.array.take(first_rows(codes, n)))

    return ctx.cached("members.member_household_codes", compute)


def household_positions(ctx: AuditContext) -> np.ndarray:
    """Per household row: position of its 户编号 among the distinct member 户编号 (-1: no members)."""

    def compute() -> np.ndarray:
        _codes, uniques = member_household_codes(ctx)
        hid = ctx.frame("households", HID)[HID]
        if is_arrow_text(hid) and is_arrow_text(uniques):  # arrow's hash lookup, off the GIL
            found = pc.index_in(arrow_text(hid), value_set=arrow_text(uniques.array))
            return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return np.asarray(uniques.get_indexer(hid), dtype=np.int64)

    return ctx.cached("households.member_positions", compute)


def per_household(ctx: AuditContext, mask: np.ndarray | pd.Series | None = None) -> np.ndarray:
    """Number of member rows (or rows where ``mask``) per distinct member 户编号."""
    codes, uniques = member_household_codes(ctx)
    keep = codes >= 0
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    return np.bincount(codes[keep], minlength=len(uniques))
