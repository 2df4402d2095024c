"""Integer keys for joins and group-bys: codes of one or several columns, household codes shared by
every table that carries 户编号, normalised person keys (15-digit IDs upgraded), place keys (乡镇, 村) and
the shuffle keys the Dask engine partitions global rules by. Computed once per context (ctx.cached)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.engine.context import AuditContext
from fupin_audit.facts.phones import phone_numbers_of
from fupin_audit.facts.values import HID, ID, arrow_text, column_text, text
from fupin_audit.schema.fields import arrow_mask, str_series
from fupin_audit.schema.fields import arrow_text as arrow_text_plain
from fupin_audit.schema.idnumber import analyse_ids, text_buffers


def joint_codes(*columns: pd.Series | pa.Array) -> tuple[list[np.ndarray], int]:
    """Integer codes shared by several text columns (equal texts, equal codes; -1 for empty) and the
    number of distinct texts. Arrow hashing: no sort, no Python objects, fast at millions of rows.
    An arrow array is taken as it is (stripped, null for empty)."""
    if len(columns) == 1 and _code_column(columns[0]):
        return _category_codes(columns[0])
    arrays = [c if isinstance(c, pa.Array) else arrow_text(c) for c in columns]
    if not arrays or sum(len(a) for a in arrays) == 0:
        return [np.full(len(c), -1, dtype=np.int64) for c in columns], 0
    joined = pa.concat_arrays(arrays)
    codes, n = _number_codes(joined) or _text_codes(joined)
    bounds = np.cumsum([0, *(len(a) for a in arrays)])
    return [codes[bounds[i] : bounds[i + 1]] for i in range(len(arrays))], n


def _code_column(column: pd.Series | pa.Array) -> bool:
    return isinstance(column, pd.Series) and isinstance(column.dtype, pd.CategoricalDtype) and len(column) > 0


def _category_codes(column: pd.Series) -> tuple[list[np.ndarray], int]:
    """`joint_codes` of one code-list column (a categorical): its few categories are coded as texts,
    and the rows take their category's code, renumbered in the rows' first-seen order — no text
    per row, no hash of every row."""
    categories = pd.Series(column.cat.categories)
    (per_category,), _ = joint_codes(
        arrow_text(categories) if len(categories) else pa.array([], pa.large_string())
    )
    at = column.cat.codes.to_numpy()
    rows = np.append(per_category, -1)[np.where(at < 0, len(per_category), at)]  # NA → -1
    first = first_rows(rows, len(per_category))
    present = np.flatnonzero(first >= 0)
    order = present[np.argsort(first[present], kind="stable")]
    renumbered = np.full(len(per_category) + 1, -1, dtype=np.int64)
    renumbered[order] = np.arange(len(order))
    return [renumbered[rows]], len(order)


def _text_codes(array: pa.Array) -> tuple[np.ndarray, int]:
    encoded = pc.dictionary_encode(array)
    return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64), len(
        encoded.dictionary
    )


def _number_codes(array: pa.Array) -> tuple[np.ndarray, int] | None:
    """`_text_codes` of texts that are all digits of one length up to 18 (户编号), the last one
    possibly X (person keys): hashed as integers, several times faster than as text, with the same
    codes (first-seen order). None for any other texts."""
    array = array.cast(pa.large_string())
    offsets, data = text_buffers(array)
    lengths = np.diff(offsets)
    valid = arrow_mask(pc.is_valid(array))
    present = lengths[valid]
    if not len(present):
        return None
    width = int(present[0])
    if not 0 < width <= 18 or (present != width).any():
        return None
    if not pc.all(pc.ascii_is_decimal(array)).as_py():
        return _digits_x_codes(array, (offsets, data), lengths, valid, width)
    # Digits only (户编号): arrow parses them (one width: distinct texts, distinct numbers).
    numbers = pc.fill_null(pc.cast(array, pa.int64()), -1).to_numpy(zero_copy_only=False)
    (codes,), n = joint_number_codes([numbers])  # pandas' integer hash table: faster than arrow's here
    return codes, n


def _digits_x_codes(
    array: pa.Array,
    buffers: tuple[np.ndarray, np.ndarray],
    lengths: np.ndarray,
    valid: np.ndarray,
    width: int,
) -> tuple[np.ndarray, int] | None:
    """`_number_codes` of texts of one `width` whose last character may be X, from their bytes (the
    array's `buffers`, `lengths` in bytes) as an (n, width) matrix; None if any other character is
    not a digit."""
    offsets, data = buffers
    present = lengths[valid]
    if lengths[~valid].any():  # a null slot that keeps bytes (allowed, rare): compact the present texts
        offsets, data = text_buffers(pc.drop_null(array))
    # One length: the present texts' bytes are an (n, width) matrix, read straight from the arrow
    # buffer (null slots hold no bytes).
    chars = data[offsets[0] : offsets[0] + len(present) * width].reshape(len(present), width)
    digits = chars - np.uint8(48)  # a byte below "0" wraps round to ≥ 208
    last = chars[:, -1]
    if not ((digits[:, :-1] < 10).all() and ((digits[:, -1] < 10) | (last == ord("X"))).all()):
        return None
    # Distinct texts, distinct numbers: the leading digits as a number, times 11, plus the last
    # character (X = 10); one length, so no leading-zero collisions (≤ 1.1e18, within int64).
    head = np.zeros(len(present), dtype=np.int64)
    for j in range(width - 1):  # in place: no new array per digit
        head *= 10
        head += digits[:, j]
    numbers = head * 11 + np.where(last == ord("X"), 10, digits[:, -1]).astype(np.int64)
    found, uniques = pd.factorize(numbers)
    codes = np.full(len(array), -1, dtype=np.int64)
    codes[valid] = found
    return codes, len(uniques)


def first_rows(codes: np.ndarray, n: int) -> np.ndarray:
    """Per code: the position of its first row (-1 when no row has it)."""
    first = np.full(n + 1, -1, dtype=np.int64)
    rows = np.flatnonzero(codes >= 0)[::-1]  # assigned last-to-first, so the first row wins
    first[codes[rows]] = rows
    return first[:n]


def count_per_code(codes: np.ndarray, n: int, mask: np.ndarray | pd.Series | None = None) -> np.ndarray:
    """Per code: how many rows (where `mask`) have it."""
    keep = codes >= 0
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool)
    return np.bincount(codes[keep], minlength=n)


def gather(per_code: np.ndarray, codes: np.ndarray, missing: Any = 0) -> np.ndarray:
    """Per row: the value of its code (-1 → `missing`)."""
    out = np.append(per_code, np.array([missing], dtype=per_code.dtype))
    return out[np.where(codes < 0, len(per_code), codes)]


def distinct_per_code(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per code: how many distinct values (≥ 0) its rows carry."""
    keep = (codes >= 0) & (values >= 0)
    width = int(values.max()) + 1 if keep.any() else 1
    pairs = pd.unique(codes[keep] * width + values[keep])  # hashed: np.unique sorts (10× slower)
    return np.bincount(pairs // width, minlength=n)


def distinct_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(values, return_index=True, return_inverse=True)`` for integers — the distinct
    values in order, the first position of each, each value's place among them — by hashing, then
    sorting only the distinct values (np.unique sorts every value: ten times slower at 100,000)."""
    found, distinct = pd.factorize(values)
    order = np.argsort(distinct, kind="stable")
    place = np.empty(len(order), dtype=np.int64)
    place[order] = np.arange(len(order))
    return distinct[order], first_rows(found, len(distinct))[order], place[found]


# 户编号 columns that share one code space.
HID_TABLES = ("households", "members", "measures", "helpers")


def household_codes(ctx: AuditContext) -> dict[str, Any]:
    """Codes of 户编号 shared by households, members, measures and helpers (`n`: how many distinct)."""

    def compute() -> dict[str, Any]:
        kinds = [k for k in HID_TABLES if ctx.has(k, HID)]
        codes, n = joint_codes(*(ctx.frame(k)[HID] for k in kinds))
        return {**dict(zip(kinds, codes, strict=True)), "n": n}

    return ctx.cached("codes.households", compute)


# Columns that name a person: (table, field).
PERSON_COLUMNS = (
    ("members", ID),
    ("rosters", ID),
    ("helpers", "帮扶责任人证件号码"),
    ("households", "帮扶责任人证件号码"),
    ("measures", "领取人证件号码"),
)


def id_analysis(ctx: AuditContext) -> pd.DataFrame:
    """The members' 证件号码 analysed once (schema.idnumber.analyse_ids: kinds, DQ010–DQ018, birth dates,
    sexes), with their person keys and numbers: every join on persons starts from the members' IDs."""

    def compute() -> pd.DataFrame:
        members = ctx.table("members", ID)
        return analyse_ids(members.raw[ID], ctx.reference_date("members"), person_keys=True, details=False)

    return ctx.cached("members.id_analysis", compute)


def person_keys(ctx: AuditContext, kind: str, field: str = ID) -> pd.Series:
    """Per row: the person an ID column names, as one comparable key (NA when it names nobody).

    Normalised the same way in every table: full-width, spaces, lower-case x removed; 15-digit
    legacy numbers upgraded to 18 digits; a 20-digit 残疾人证号 reduced to its first 18 digits;
    placeholders, Excel-damaged and malformed numbers give NA (DQ010/013/017 report them)."""
    return _person_ids(ctx, kind, field)[0]


def person_numbers(ctx: AuditContext, kind: str, field: str = ID) -> np.ndarray:
    """`person_keys` as integers (-1 when the row names nobody): equal exactly where the keys are."""
    return _person_ids(ctx, kind, field)[1]


def _person_ids(ctx: AuditContext, kind: str, field: str) -> tuple[pd.Series, np.ndarray]:
    def compute() -> tuple[pd.Series, np.ndarray]:
        table = ctx.table(kind, field)
        if kind == "members" and field == ID:
            analysis = id_analysis(ctx)
        else:
            from fupin_audit.schema.idnumber import classify_ids

            analysis = classify_ids(table.raw[field], ("person_key", "person_number"))
        index = table.data.index
        numbers = analysis["person_number"]
        if not numbers.index.equals(index):
            numbers = numbers.reindex(index, fill_value=-1)
        return analysis["person_key"].reindex(index), numbers.to_numpy(dtype=np.int64)

    return ctx.cached(f"{kind}.person_keys.{field}", compute)


def shuffle_keys(
    ctx: AuditContext, kind: str, field: str | Callable[[AuditContext, str], pd.Series]
) -> pd.Series:
    """Per row: the key a rule's `shuffle` names — the rule's own key function, the person an ID
    column names, or the stripped text; NA for none (such a row meets no other row through this key)."""
    from fupin_audit.schema.fields import Kind
    from fupin_audit.schema.models import MODELS

    if callable(field):
        keys = field(ctx, kind)
        return keys.where(keys != "")

    if not ctx.has(kind, field):
        return pd.Series(np.nan, index=ctx.frame(kind).index, dtype=object)
    spec = MODELS[kind].specs()[field]
    if spec.kind is Kind.ID_NUMBER:
        return person_keys(ctx, kind, field)
    if spec.kind is Kind.PHONE:
        # the form SY104 compares (139-1234-5678, +86 139 1234 5678 and 13912345678 share a key)
        return phone_numbers_of(ctx, kind, field)
    values = text(ctx.frame(kind)[field])
    return values.where(values != "")


def person_codes(ctx: AuditContext) -> dict[str, Any]:
    """Codes of person keys shared by every ID column present (“members.证件号码” → codes), with
    `n` and `registered`: per code, the first member row holding it (-1: not a registered member)."""

    def compute() -> dict[str, Any]:
        present = [(k, f) for k, f in PERSON_COLUMNS if ctx.has(k, f)]
        # Hashed as the integers the ID analysis gives (`person_numbers`), not as texts: the same
        # codes in the same first-seen order, without reading 18 bytes a row again.
        numbers = [person_numbers(ctx, k, f) for k, f in present]
        codes, n = joint_number_codes(numbers)
        out: dict[str, Any] = {f"{k}.{f}": c for (k, f), c in zip(present, codes, strict=True)}
        member_codes = out.get(f"members.{ID}", np.empty(0, dtype=np.int64))
        out["n"] = n
        out["registered"] = first_rows(member_codes, n)
        return out

    return ctx.cached("codes.people", compute)


def joint_number_codes(columns: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """`joint_codes` of integer columns whose -1 means empty: codes shared by equal numbers, in
    first-seen order, -1 for empty; and the number of distinct numbers."""
    joined = np.concatenate(columns) if columns else np.empty(0, dtype=np.int64)
    found, uniques = pd.factorize(joined)
    codes = np.asarray(found, dtype=np.int64)
    empty = joined < 0
    n = len(uniques)
    if empty.any():  # -1 took a code of its own, in its first-seen place: close the gap after it
        stand_in = codes[np.flatnonzero(empty)[0]]
        codes = np.where(empty, -1, codes - (codes > stand_in))
        n -= 1
    bounds = np.cumsum([0, *(len(c) for c in columns)])
    return [codes[bounds[i] : bounds[i + 1]] for i in range(len(columns))], n


def row_groups(*columns: np.ndarray) -> tuple[np.ndarray, int]:
    """Per row: a code shared by the rows equal in every one of the integer `columns` (first-seen
    order), and how many codes. One integer hash a column, on numbers below rows²: no tuples, no
    DataFrame to group."""
    codes = np.zeros(len(columns[0]) if columns else 0, dtype=np.int64)
    n = 1 if len(codes) else 0
    for column in columns:
        values, distinct = pd.factorize(column)
        found, uniques = pd.factorize(codes * len(distinct) + values)
        codes, n = np.asarray(found, dtype=np.int64), len(uniques)
    return codes, n


def repeated_groups(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows equal in every one of the integer `columns` to another row: their positions (in
    order), a code per group (`row_groups` of those rows) and each one's group size.

    The rows are first mixed into one 64-bit number each and only the rows whose number repeats are
    grouped exactly: a hash of one column instead of one a column. (A collision only lets a row
    through to the exact grouping, which drops it.)"""
    found, uniques = pd.factorize(_mixed(columns))
    candidates = np.flatnonzero(np.bincount(found, minlength=len(uniques))[found] > 1)
    groups, n = row_groups(*(np.asarray(column)[candidates] for column in columns))
    sizes = np.bincount(groups, minlength=n)[groups]
    kept = sizes > 1
    return candidates[kept], groups[kept], sizes[kept]


def _mixed(columns: tuple[np.ndarray, ...]) -> np.ndarray:
    """One 64-bit number a row from integer columns (equal rows, equal numbers)."""
    mixed = np.zeros(len(columns[0]) if columns else 0, dtype=np.uint64)
    for column in columns:  # wrapping multiplication by the 64-bit golden ratio, folded
        mixed ^= np.asarray(column, dtype=np.int64).view(np.uint64)
        mixed *= np.uint64(0x9E3779B97F4A7C15)
        mixed ^= mixed >> np.uint64(29)
    return mixed.view(np.int64)


def registered(ctx: AuditContext, kind: str, field: str = ID) -> np.ndarray:
    """Per row of `kind`: the first member row (position) of the person its `field` names, or -1."""
    people = person_codes(ctx)
    return gather(people["registered"], people[f"{kind}.{field}"], -1)


def place_columns(*frames: pd.DataFrame) -> list[str]:
    """The place columns (县, 乡, 村) every given frame has and fills: the finest common key."""
    columns = []
    for column in ("县", "乡", "村"):
        if all(column in f and f[column].notna().any() for f in frames):
            columns.append(column)
    return columns


def place_key(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """“宿松县/孚玉镇/城西村” from the given place columns (texts joined with /)."""
    if not columns:
        return pd.Series("", index=frame.index, dtype=object)
    if len(columns) == 1:
        return column_text(frame, columns[0])
    # one arrow kernel joins every column (not two string concatenations a column)
    parts = [arrow_text_plain(column_text(frame, column)) for column in columns]
    separator = pa.scalar("/", pa.large_string())
    return str_series(pc.binary_join_element_wise(*parts, separator), frame.index)
