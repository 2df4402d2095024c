"""Phone numbers: one normaliser for every rule and report (full-width digits, separators, +86)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.engine.context import AuditContext
from fupin_audit.facts.values import arrow_text
from fupin_audit.schema.fields import DISTINCT_SHARE, Kind, arrow_mask, mostly_distinct, text_buffers

MOBILE = r"^1[3-9]\d{9}$"


_ASCII_MOBILE = r"^1[3-9][0-9]{9}$"  # MOBILE for RE2 on NFKC text


# Separators typed inside a number (after NFKC: full-width spaces, hyphens and brackets are ASCII).
_PHONE_SEPARATORS = r"[\t\n\x0b\x0c\r\x1c-\x1f \-‐‑–—()]+"


def phone_numbers(series: pd.Series) -> pd.Series:
    """Per row: the phone number in the one form every rule judges (NA for an empty cell).

    NFKC (full-width digits), separators (spaces, “-”, dashes, brackets) and a country code (+86,
    0086, or 86 before an 11-digit mobile) removed: “+86 139-1234-5678” → 13912345678. DQ044 checks
    this form against its pattern and SY104 compares this form where DQ044's default pattern accepts
    it, so a number DQ044 rejects is never compared. Computed with arrow, on the distinct texts when
    numbers repeat (a 户联系电话 on every member row); the result stays arrow text (no Python string
    per row)."""
    array = arrow_text(series)
    # hashed only when numbers repeat a lot: the test below costs less than hashing (as in validation)
    encoded = None if mostly_distinct(array, DISTINCT_SHARE[Kind.PHONE]) else pc.dictionary_encode(array)
    values = array if encoded is None else encoded.dictionary
    # Most numbers are written as 11 plain digits already: only the others are normalised (an empty
    # cell, null, stays null).
    rest = np.flatnonzero(~_plain_mobiles(values) & arrow_mask(pc.is_valid(values)))
    if len(rest):
        order = np.arange(len(values))
        order[rest] = len(values) + np.arange(len(rest))
        values = pc.take(pa.concat_arrays([values, _normal_form(pc.take(values, rest))]), order)
    if encoded is not None:
        values = pc.take(values, encoded.indices)
    return pd.Series(values.to_pandas().array, index=series.index, name=series.name, copy=False)


def _plain_mobiles(values: pa.Array) -> np.ndarray:
    """Per text: it matches _ASCII_MOBILE (null: no) — read off its bytes, not by the regular
    expression: 11 bytes, “1”, one of 3–9, nine digits."""
    offsets, data = text_buffers(values)
    out = np.diff(offsets) == 11
    if values.null_count:
        out &= arrow_mask(pc.is_valid(values))
    rows = np.flatnonzero(out)
    if len(rows):
        start = offsets[rows]
        # the bytes that are not digits (few: a phone column is digits): none among a text's 11
        other = np.flatnonzero((data - np.uint8(48)) >= 10)  # below "0" wraps round to ≥ 208
        after = np.searchsorted(other, start)  # the first one at or after each text's start
        ok = np.ones(len(rows), dtype=bool)
        if len(other):
            ok = (after == len(other)) | (other[np.minimum(after, len(other) - 1)] >= start + 11)
        ok &= (data[start] == ord("1")) & (data[start + 1] >= ord("3"))
        out[rows] = ok
    return out


def phone_numbers_of(ctx: AuditContext, kind: str, field: str) -> pd.Series:
    """`phone_numbers` of a table's column, made once per run (DQ044, SY104 and the shuffle keys)."""
    return ctx.cached(f"{kind}.phone_numbers.{field}", lambda: phone_numbers(ctx.frame(kind)[field]))


def _normal_form(values: pa.Array) -> pa.Array:
    values = pc.utf8_normalize(values, "NFKC")
    values = pc.replace_substring_regex(values, _PHONE_SEPARATORS, "")
    values = pc.replace_substring_regex(values, r"^(\+|00)86", "")
    values = pc.replace_substring_regex(values, r"^86(1[3-9][0-9]{9})$", r"\1")
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.large_string()), values)


def phone_matches(numbers: pd.Series, pattern: str = MOBILE) -> np.ndarray:
    """Per row of `phone_numbers`: the number matches `pattern` (NA: False). The default pattern runs
    in arrow; a configured one through Python's re, once per distinct number."""
    if pattern == MOBILE:  # _ASCII_MOBILE, read off the bytes
        array = pa.array(numbers.array, type=pa.large_string(), from_pandas=True)
        return _plain_mobiles(array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array)
    compiled = re.compile(pattern)
    codes, uniques = pd.factorize(numbers, use_na_sentinel=True)
    verdicts = np.array([compiled.match(v) is not None for v in uniques] + [False], dtype=bool)
    return verdicts[np.where(codes < 0, len(uniques), codes)]
