"""Reading column values the way every rule reads them: text, yes/no, exited and poor households, raw cells."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.engine.context import AuditContext
from fupin_audit.schema.codes import EXITED, POOR
from fupin_audit.schema.fields import ARROW_TEXT, known_clean, str_series

STATUS = "脱贫状态"


INCOME = "人均纯收入"


ID = "证件号码"


HID = "户编号"


# 证件号码 kinds (schema.idnumber) that name a person; placeholders and damaged numbers do not.
USABLE_ID_KINDS = ("id18", "id15", "disability20")


def text(series: pd.Series) -> pd.Series:
    """A column as stripped text ("" for empty), whatever its dtype (categorical codes included)."""
    if isinstance(series.dtype, pd.CategoricalDtype) and _is_text(series.cat.categories):
        return _category_text(series)
    values = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    if values.dtype != ARROW_TEXT:
        return values.fillna("").str.strip()
    # Arrow kernels on the column's own array (pandas' fillna rebuilds it through a mask first); a
    # typed text column is clean already (schema.fields.mark_clean): nothing to strip.
    array = values.array.__arrow_array__()
    filled = pc.fill_null(array, "")
    texts = filled if known_clean(array) else pc.utf8_trim_whitespace(filled)
    return _named(str_series(texts, values.index), values)


def text_in(series: pd.Series, values: tuple[str, ...] | list[str] | frozenset[str]) -> pd.Series:
    """``text(series).isin(values)``; a code column (categorical) is judged on its few categories
    and the verdicts taken per row, without a text per row."""
    if isinstance(series.dtype, pd.CategoricalDtype) and _is_text(series.cat.categories):
        verdicts = np.append(_labels(series).isin(values).to_numpy(dtype=bool), "" in set(values))
        return _named(pd.Series(verdicts[_label_positions(series)], index=series.index), series)
    wanted = list(dict.fromkeys(values))
    if series.dtype == ARROW_TEXT and all(isinstance(v, str) for v in wanted):
        return _named(pd.Series(_texts_in(series, wanted), index=series.index), series)
    return text(series).isin(values)


def _texts_in(series: pd.Series, wanted: list[str]) -> np.ndarray:
    """`text_in` of an arrow text column, by arrow kernels on its own array: NA is "", texts are
    stripped unless validation cleaned them; a few values are compared one by one (a set test hashes
    every text: three times the cost of one comparison)."""
    if not wanted:  # nothing is in no values
        return np.zeros(len(series), dtype=bool)
    array = series.array.__arrow_array__()
    if not known_clean(array):
        array = pc.utf8_trim_whitespace(array)
    if len(wanted) <= 3:
        found = pc.equal(array, pa.scalar(wanted[0], pa.large_string()))
        for value in wanted[1:]:
            found = pc.or_(found, pc.equal(array, pa.scalar(value, pa.large_string())))
    else:
        found = pc.is_in(array, value_set=pa.array(wanted, type=pa.large_string()))
    if "" in wanted:  # NA reads as ""
        found = pc.or_kleene(found, pc.is_null(array))
    found = pc.fill_null(found, False)
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


def _labels(series: pd.Series) -> pd.Series:
    """A code column's categories as text."""
    return text(pd.Series(series.cat.categories))


def _label_positions(series: pd.Series) -> np.ndarray:
    """Per row of a code column: the position of its category, one past the last for NA."""
    codes = series.cat.codes.to_numpy()
    return np.where(codes < 0, len(series.cat.categories), codes)


def _named(values: pd.Series, like: pd.Series) -> pd.Series:
    values.name = like.name
    return values


def _is_text(values: pd.Index) -> bool:
    return isinstance(values.dtype, pd.StringDtype) or pd.api.types.infer_dtype(values) in ("string", "empty")


def _category_text(series: pd.Series) -> pd.Series:
    """`text` of a code-list column: its few categories are made text once and taken per row (one
    arrow take), instead of every row's value being converted on its own — ten times faster."""
    labels = _labels(series).to_numpy(dtype=object)
    array = pa.array(np.append(labels, ""), type=pa.large_string())  # the last entry: NA → ""
    return _named(str_series(pc.take(array, _label_positions(series)), series.index), series)


def mask_texts(texts: pd.Series, where: pd.Series | np.ndarray, other: pd.Series) -> pd.Series:
    """`texts.mask(where, other)` for an object column of texts and an `other` on the same rows: only
    the rows `where` holds are turned into Python strings (pandas converts the whole of `other`)."""
    rows = np.asarray(where, dtype=bool)
    values = texts.to_numpy(dtype=object, copy=True)
    values[rows] = other[rows].to_numpy(dtype=object)
    return pd.Series(values, index=texts.index, name=texts.name)


def exited(frame: pd.DataFrame) -> pd.Series:
    """已脱贫 in any of its variants."""
    return frame[STATUS].isin(EXITED).fillna(False).astype(bool)


def poor(frame: pd.DataFrame) -> pd.Series:
    """未脱贫 or 返贫: the households still counted as poor."""
    return frame[STATUS].isin(POOR).fillna(False).astype(bool)


def as_bool(frame: pd.DataFrame, column: str) -> pd.Series:
    """A yes/no column as plain bool with unknown = False (absent column: all False)."""
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return frame[column].astype("boolean").fillna(False).astype(bool)


def is_no(frame: pd.DataFrame, column: str) -> pd.Series:
    """A yes/no column explicitly 否 (unknown and absent: False)."""
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return (~frame[column].astype("boolean")).fillna(False).astype(bool)


def unreadable(ctx: AuditContext, kind: str, field: str) -> pd.Series:
    """Per row: the cell was written but could not be typed (DQ003–DQ005 report it): value unknown."""
    table = ctx.table(kind)
    typed = table.data[field] if field in table.data else pd.Series(pd.NA, index=table.data.index)
    if field not in table.raw:
        return pd.Series(False, index=table.data.index)
    from fupin_audit.schema.fields import EMPTY_MARKERS

    out = typed.isna().to_numpy(dtype=bool).copy()
    if out.any():  # only the rows without a typed value: was anything written there?
        raw = table.raw[field].reindex(table.data.index)[out]
        # judged once per distinct text (NFKC is a Python call per value), then taken to the rows
        codes, uniques = pd.factorize(raw, use_na_sentinel=True)
        marker = text(pd.Series(uniques)).str.normalize("NFKC").str.strip().isin(EMPTY_MARKERS)
        out[out] = (codes >= 0) & ~np.append(marker.to_numpy(dtype=bool), True)[codes]
    return pd.Series(out, index=table.data.index)


def raw_values(ctx: AuditContext, kind: str, field: str) -> pd.Series:
    """The cells of a field as read (text), "" where absent."""
    raw = ctx.table(kind).raw
    if field not in raw:
        return pd.Series("", index=ctx.frame(kind).index, dtype=object)
    return text(raw[field])


def arrow_text(series: pd.Series) -> pa.Array:
    """A column's text as an arrow large_string array, empty → null."""
    array = pa.array(text(series), type=pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.offset or array.null_count:
        return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.large_string()), array)
    # The same texts with a validity bitmap saying which are not empty: no copy of the texts
    # (if_else wrote every one again: 4 ms a call for the members' 户编号).
    _validity, offsets, data = array.buffers()
    present = np.diff(np.frombuffer(offsets, dtype=np.int64, count=len(array) + 1)) > 0
    if present.all():
        return array
    validity = pa.py_buffer(np.packbits(present, bitorder="little"))
    return pa.LargeStringArray.from_buffers(len(array), offsets, data, validity)


def column_text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype="str")
    return text(frame[column])
