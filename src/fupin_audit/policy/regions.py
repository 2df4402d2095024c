"""Provinces and counties of GB/T 2260, as config sections name them and as records carry them.

Names and codes come from python-stdnum's historical table (`schema.gbt2260`), like the ID checks: a
section `[province.贵州]`, `[province.贵州省]` or `[province.52]` and a section `[county."宿松县"]` or
`[county.340826]` are checked against it, and a record's 6-digit region code is read back to names.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# Suffixes dropped to get a province's short name (贵州省 → 贵州, 广西壮族自治区 → 广西).
_PROVINCE_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特別行政區",
    "特别行政区",
    "自治区",
    "省",
    "市",
)


@dataclass(frozen=True)
class Gazetteer:
    provinces: dict[str, str]  # 2-digit code → full name (安徽省)
    province_codes: dict[str, str]  # full name, short name or code → 2-digit code
    county_names: dict[str, tuple[str, ...]]  # 6-digit county code → its names, latest first
    county_codes: dict[str, tuple[str, ...]]  # county name → the 6-digit codes that ever bore it


def short_province(name: str) -> str:
    """安徽省 → 安徽; 内蒙古自治区 → 内蒙古; 北京市 → 北京."""
    for suffix in _PROVINCE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


@functools.cache
def gazetteer() -> Gazetteer:
    from fupin_audit.schema.gbt2260 import divisions

    table = divisions()
    province_codes: dict[str, str] = {}
    for code, name in table.provinces.items():
        province_codes[code] = code
        province_codes[name] = code
        province_codes[short_province(name)] = code
    county_codes: dict[str, list[str]] = {}
    for code, those in table.counties.items():
        for name in those:
            county_codes.setdefault(name, []).append(code)
    return Gazetteer(
        table.provinces,
        province_codes,
        table.counties,
        {name: tuple(codes) for name, codes in county_codes.items()},
    )


def province_code(name: str) -> str | None:
    """The 2-digit code of 贵州 / 贵州省 / 52, None for anything else."""
    return gazetteer().province_codes.get(str(name).strip())


def province_name(code: str) -> str:
    """52 → 贵州省 ("" for an unknown code)."""
    return gazetteer().provinces.get(code, "")


def county_name(code: str) -> str:
    """340826 → 宿松县 (its latest name; "" for an unknown code)."""
    names = gazetteer().county_names.get(code, ())
    return names[0] if names else ""


def county_key(name: str) -> str | None:
    """A county section's identity: "c:340826" for a code, "n:宿松县" for a name; None if GB/T 2260
    never had such a county."""
    name = str(name).strip()
    if re.fullmatch(r"\d{6}", name):
        return f"c:{name}" if name in gazetteer().county_names else None
    return f"n:{name}" if name in gazetteer().county_codes else None


def county_keys(code: str, written: str) -> tuple[str, ...]:
    """The section identities a record matches: its code, every name its code ever had, and the
    county as written in its 县 column."""
    keys = [f"c:{code}"] if code else []
    keys += [f"n:{n}" for n in gazetteer().county_names.get(code, ())]
    if written and f"n:{written}" not in keys:
        keys.append(f"n:{written}")
    return tuple(keys)


def is_county_code(code: str) -> bool:
    return code in gazetteer().county_names


# ------------------------------------------------------------------------------------ records


def record_regions(frame, id_fields: tuple[str, ...]):
    """Per row: the province (2-digit code as a number, -1 unknown), the county (6-digit code as a
    number, -1 unknown) and the 县 as written (a code into `texts`, -1 for none), as a DataFrame
    with `attrs["texts"]`.

    The code is the first 6 digits of 户编号 when they are a GB/T 2260 county code, else of the ID
    columns (an ID keeps the code of its first registration), else none; the province then comes
    from the code, else from the 省 column, else from the 县 name when only one province ever had it.
    Work is per distinct prefix or name, never per row."""
    import numpy as np
    import pandas as pd

    n = len(frame)
    county = np.full(n, -1, dtype=np.int64)
    for field in ("户编号", *id_fields):
        if field not in frame or not (county < 0).any():
            continue
        codes, prefixes = pd.factorize(frame[field].astype("string").str.strip().str.slice(0, 6))
        valid = np.array([int(p) if is_county_code(str(p)) else -1 for p in prefixes], dtype=np.int64)
        found = np.where(codes >= 0, np.append(valid, -1)[codes], -1)
        county = np.where(county < 0, found, county)
    province = np.where(county >= 0, county // 10000, -1)
    texts: list[str] = []
    text_codes = np.full(n, -1, dtype=np.int64)
    if "省" in frame and (province < 0).any():
        codes, names = pd.factorize(frame["省"].astype("string").str.strip())
        own = np.array([int(province_code(str(p)) or -1) for p in names] + [-1], dtype=np.int64)
        province = np.where(province < 0, own[np.where(codes >= 0, codes, len(names))], province)
    if "县" in frame:
        text_codes, uniques = pd.factorize(frame["县"].astype("string").str.strip().replace("", pd.NA))
        texts = [str(u) for u in uniques]
        if (province < 0).any():  # a 县 name that only one province ever had
            own = np.array([_province_of_county_name(t) for t in texts] + [-1], dtype=np.int64)
            province = np.where(
                province < 0, own[np.where(text_codes >= 0, text_codes, len(texts))], province
            )
    out = pd.DataFrame({"province": province, "county": county, "county_text": text_codes}, index=frame.index)
    out.attrs["texts"] = texts
    return out


def _province_of_county_name(name: str) -> int:
    codes = gazetteer().county_codes.get(name, ())
    provinces = {c[:2] for c in codes}
    return int(next(iter(provinces))) if len(provinces) == 1 else -1
