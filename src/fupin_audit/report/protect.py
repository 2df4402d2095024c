"""Protect what leaves the tool: mask personal data for sharing, neutralise spreadsheet formulas."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

ID_PATTERN = re.compile(r"(?<![0-9])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9])")
NAME_FIELDS = ("姓名", "户主姓名", "帮扶责任人姓名", "帮扶责任人", "领取人姓名")
ID_FIELDS = ("证件号码", "户主证件号码", "帮扶责任人证件号码", "领取人证件号码")
# The keys `related` records use for the same (rules.kit.related.RECORD_FIELDS).
RECORD_NAME_KEYS = ("name", "helper")
RECORD_ID_KEYS = ("id_number",)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")


def mask_id(text: str) -> str:
    """Keep the region code (6) and the last 4 characters: 340826********1234."""
    text = str(text)
    if len(text) <= 10:
        return text
    return text[:6] + "*" * (len(text) - 10) + text[-4:]


def mask_name(text: str) -> str:
    text = str(text)
    return text[:1] + "*" * (len(text) - 1) if text else text


def _mask_ids_in_text(series: pd.Series) -> pd.Series:
    return series.str.replace(ID_PATTERN, lambda m: m.group(1) + "*" * 8 + m.group(3)[-4:], regex=True)


def _mask_related(text: str, names: set[str]) -> str:
    if not text:
        return text
    records = json.loads(text)
    for record in records:
        for key in (*ID_FIELDS, *RECORD_ID_KEYS):
            if key in record:
                record[key] = mask_id(record[key])
        for key in (*NAME_FIELDS, *RECORD_NAME_KEYS):
            if key in record:
                names.add(record[key])
                record[key] = mask_name(record[key])
    return json.dumps(records, ensure_ascii=False, separators=(",", ":"))


def mask_findings(findings: pd.DataFrame, names: set[str] | None = None) -> pd.DataFrame:
    """A copy with 证件号码 (6 + 4 kept) and names (张*) masked in every column, messages included."""
    names = set(names or ())
    out = findings.copy()
    out["id_number"] = out["id_number"].map(mask_id)
    id_like = out["column"].str.contains("证件|身份证|号码", regex=True, na=False)
    out.loc[id_like, "value"] = out.loc[id_like, "value"].map(mask_id)
    name_like = out["column"].str.contains("姓名|责任人$", regex=True, na=False)
    names |= set(out.loc[name_like, "value"])
    out.loc[name_like, "value"] = out.loc[name_like, "value"].map(mask_name)
    out["related"] = out["related"].map(lambda t: _mask_related(t, names))
    for column in ("message", "value", "related"):
        out[column] = _mask_ids_in_text(out[column].astype(str))
    names = {n for n in names if isinstance(n, str) and len(n) >= 2}
    if names:
        pattern = re.compile("|".join(sorted(map(re.escape, names), key=len, reverse=True)))
        out["message"] = out["message"].str.replace(pattern, lambda m: mask_name(m.group(0)), regex=True)
    return out


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text that a spreadsheet would run as a formula (= + - @) with an apostrophe."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            out[column] = _neutralise_categories(values)
            continue
        if values.dtype != object and not pd.api.types.is_string_dtype(values):
            continue
        text = values.astype(str)
        risky = np.array(text.str.startswith(FORMULA_START), dtype=bool)
        if risky.any():  # the regex only on the few candidates: a findings column can be millions long
            risky[risky] = ~text[risky].str.match(PLAIN_NUMBER).to_numpy(dtype=bool)
        if risky.any():
            out[column] = values.astype(object)
            out.loc[risky, column] = "'" + text[risky]
    return out


def _formula_safe(text: str) -> str:
    risky = text.startswith(FORMULA_START) and not PLAIN_NUMBER.match(text)
    return "'" + text if risky else text


def _neutralise_categories(values: pd.Series) -> pd.Series:
    """A categorical column: each distinct text is judged once (categories stay sorted and unique)."""
    categories = [str(c) for c in values.cat.categories]
    safe = [_formula_safe(c) for c in categories]
    if safe == categories:
        return values
    distinct, inverse = np.unique(np.array(safe, dtype=object), return_inverse=True)
    codes = values.cat.codes.to_numpy()
    new = np.where(codes < 0, -1, inverse[np.maximum(codes, 0)])
    return pd.Series(
        pd.Categorical.from_codes(new, categories=pd.Index(list(distinct), dtype="str")), index=values.index
    )


def names_in(dataset, findings: pd.DataFrame) -> set[str]:
    """Names of the people and helpers behind the flagged records, to mask them inside messages."""
    ids = set(findings["id_number"]) - {""}
    households = set(findings["household_id"]) - {""}
    found: set[str] = set()
    for table in dataset.tables.values():
        data = table.data
        rows = pd.Series(False, index=data.index)
        for key, wanted in (("证件号码", ids), ("户编号", households), ("帮扶责任人证件号码", ids)):
            if key in data:
                rows |= data[key].astype(str).isin(wanted)
        for field in NAME_FIELDS:
            if field in data:
                found |= set(data.loc[rows, field].dropna().astype(str))
    return found
