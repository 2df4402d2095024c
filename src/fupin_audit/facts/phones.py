"""Phone numbers: one normaliser for every rule and report (full-width digits, separators, +86)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.facts.values import arrow_text
from fupin_audit.schema.fields import arrow_mask

MOBILE = r"^1[3-9]\d{9}$"


_ASCII_MOBILE = r"^1[3-9][0-9]{9}$"  # MOBILE for RE2 on NFKC text


# Separators typed inside a number (after NFKC: full-width spaces, hyphens and brackets are ASCII).
_PHONE_SEPARATORS = r"[\t\n\x0b\x0c\r\x1c-\x1f \-‐‑–—()]+"


def phone_numbers(series: pd.Series) -> pd.Series:
    """Per row: the phone number in the one form every rule judges (NA for an empty cell).

    NFKC (full-width digits), separators (spaces, “-”, dashes, brackets) and a country code (+86,
    0086, or 86 before an 11-digit mobile) removed: “+86 139-1234-5678” → 13912345678. DQ044 checks
    this form against its pattern and SY104 compares this form where DQ044's default pattern accepts
    it, so a number DQ044 rejects is never compared. Computed on the distinct texts with arrow."""
    encoded = pc.dictionary_encode(arrow_text(series))
    values = pc.utf8_normalize(encoded.dictionary, "NFKC")
    values = pc.replace_substring_regex(values, _PHONE_SEPARATORS, "")
    values = pc.replace_substring_regex(values, r"^(\+|00)86", "")
    values = pc.replace_substring_regex(values, r"^86(1[3-9][0-9]{9})$", r"\1")
    values = pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.large_string()), values)
    out = pc.take(values, encoded.indices).to_pandas()
    return pd.Series(out.to_numpy(dtype=object), index=series.index, name=series.name)


def phone_matches(numbers: pd.Series, pattern: str = MOBILE) -> np.ndarray:
    """Per row of `phone_numbers`: the number matches `pattern` (NA: False). The default pattern runs
    in arrow; a configured one through Python's re, once per distinct number."""
    if pattern == MOBILE:
        array = pa.array(numbers.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
        return arrow_mask(pc.fill_null(pc.match_substring_regex(array, _ASCII_MOBILE), False))
    compiled = re.compile(pattern)
    codes, uniques = pd.factorize(numbers, use_na_sentinel=True)
    verdicts = np.array([compiled.match(v) is not None for v in uniques] + [False], dtype=bool)
    return verdicts[np.where(codes < 0, len(uniques), codes)]
