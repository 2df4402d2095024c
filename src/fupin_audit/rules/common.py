"""Shared building blocks of the 四严 / 两该两不该 / 返贫风险 packs: status masks, poverty lines,
person keys, measures of the data year, deaths, and `related` lists.

Everything here works on whole columns (group-bys, merges, masks); the only Python loops run over
rows that are already flagged, to write their `related` JSON.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN
from fupin_audit.engine.context import ROW_NOUNS, AuditContext, related_json
from fupin_audit.engine.rule import SkipRule
from fupin_audit.schema.codes import EXITED, POOR
from fupin_audit.schema.fields import arrow_mask
from fupin_audit.schema.idnumber import text_buffers

STATUS = "脱贫状态"
INCOME = "人均纯收入"
ID = "证件号码"
HID = "户编号"
# At most this many records go into one finding's `related` list (then {"omitted": n}).
RELATED_MAX = 50
# Records listed by name inside one message.
SHOWN_MAX = 10
# 证件号码 kinds (schema.idnumber) that name a person; placeholders and damaged numbers do not.
USABLE_ID_KINDS = ("id18", "id15", "disability20")


# ------------------------------------------------------------------------------------ values


def text(series: pd.Series) -> pd.Series:
    """A column as stripped text ("" for empty), whatever its dtype (categorical codes included)."""
    if isinstance(series.dtype, pd.CategoricalDtype) and _is_text(series.cat.categories):
        return _category_text(series)
    values = series if isinstance(series.dtype, pd.StringDtype) else series.astype("str")
    return values.fillna("").str.strip()


def _is_text(values: pd.Index) -> bool:
    return isinstance(values.dtype, pd.StringDtype) or pd.api.types.infer_dtype(values) in ("string", "empty")


def _category_text(series: pd.Series) -> pd.Series:
    """`text` of a code-list column: its few categories are made text once and taken per row (one
    arrow take), instead of every row's value being converted on its own — ten times faster."""
    labels = text(pd.Series(series.cat.categories)).to_numpy(dtype=object)
    array = pa.array(np.append(labels, ""), type=pa.large_string())  # the last entry: NA → ""
    codes = series.cat.codes.to_numpy()
    out = pc.take(array, np.where(codes < 0, len(labels), codes)).to_pandas()
    out.index, out.name = series.index, series.name
    return out


def mask_texts(texts: pd.Series, where: pd.Series | np.ndarray, other: pd.Series) -> pd.Series:
    """`texts.mask(where, other)` for an object column of texts and an `other` on the same rows: only
    the rows `where` holds are turned into Python strings (pandas converts the whole of `other`)."""
    rows = np.asarray(where, dtype=bool)
    values = texts.to_numpy(dtype=object, copy=True)
    values[rows] = other[rows].to_numpy(dtype=object)
    return pd.Series(values, index=texts.index, name=texts.name)


# ------------------------------------------------------------------------------------ phones

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
    encoded = pc.dictionary_encode(_arrow(series))
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


def money(value: float) -> str:
    """3120 → "3120.00" (always two decimals, no thousands separator)."""
    return f"{value:.2f}"


def yuan(value: float) -> str:
    """A parameter amount: 3335 → "3335", 3501.75 → "3501.75"."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def percent(share: float) -> str:
    """0.02 → "2%", 0.025 → "2.5%"."""
    return f"{round(share * 100, 4):g}%"


def fmt(values: pd.Series, func: Any) -> pd.Series:
    """Texts of a column for messages: `func` per value, "?" for missing; always object dtype, so an
    empty or all-missing selection still concatenates with strings."""
    if isinstance(func, str):
        func = func.format
    out = values.astype(object).map(func, na_action="ignore") if len(values) else values.astype(object)
    return out.astype(object).where(values.notna().to_numpy(), "?")


def money_texts(values: pd.Series) -> pd.Series:
    return fmt(values, money)


def count_texts(values: pd.Series) -> pd.Series:
    """Counts (possibly float after a map) as “12”."""
    return fmt(values, lambda v: str(int(v)))


def year_texts(years: pd.Series) -> pd.Series:
    return years.astype("Int64").astype("string").fillna("?").astype(object)


def date_texts(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%Y-%m-%d").astype(object).fillna("?")


# ------------------------------------------------------------------------------------ policy


def param_source(ctx: AuditContext, key: str) -> str:
    """Where a policy value came from: 默认值 or the override file's name. For a table of values
    (monitoring_line, measures.for_cause) an override of any entry names the file."""
    origin = ctx.policy.origin
    label = origin.get(key) or next((v for k, v in origin.items() if k.startswith(key + ".")), None)
    return label or "默认值"


def param(ctx: AuditContext, key: str) -> str:
    """“参数 relapse_risk_line，默认值” / “参数 relapse_risk_line，county.toml”."""
    return f"参数 {key}，{param_source(ctx, key)}"


class PolicyValues(NamedTuple):
    """Per row: a policy value in force (NaN where there is none) and what a message says about it."""

    values: pd.Series
    sources: pd.Series  # Resolved.cite(): “poverty_line，默认值，国家统计局” ("" where no value)


def policy_values(
    ctx: AuditContext,
    kind: str,
    key: str,
    years: pd.Series | None = None,
    *,
    rows: pd.Series | np.ndarray | None = None,
    skip_if_none: bool = True,
) -> PolicyValues:
    """The value of policy `key` for each row of table `kind`, in force for the row's province,
    county (`ctx.region(kind)`) and, for a per-year key (poverty_line, monitoring_line), its year in
    `years` (NA: not judged). Only `rows` (default: all) are looked up; the rest get NaN.

    Resolved once per distinct (year, province, county), never per row. Rows with no value are left
    unjudged: the run gets one diagnostic per (parameter, year, province) naming the config key to
    set (with --strict-policy: a ConfigError), and when no row has a value the rule is skipped with
    that reason (unless `skip_if_none` is False)."""
    from fupin_audit.policy import YEAR_KEYS

    index = ctx.frame(kind).index
    wanted = np.ones(len(index), dtype=bool) if rows is None else np.asarray(rows, dtype=bool).copy()
    per_year = key in YEAR_KEYS
    if per_year:
        if years is None:
            raise ValueError(f"policy_values: {key} needs the years")
        year = years.astype("Int64").to_numpy(dtype="float64", na_value=np.nan)
        wanted &= ~np.isnan(year)
        year = np.where(wanted, year, 0).astype(np.int64)
    else:
        year = np.zeros(len(index), dtype=np.int64)
    values = np.full(len(index), np.nan)
    sources = np.full(len(index), "", dtype=object)
    if not wanted.any():
        return PolicyValues(pd.Series(values, index=index), pd.Series(sources, index=index))
    region = ctx.region(kind)
    texts = region.attrs["texts"]
    province = region["province"].to_numpy()
    county = region["county"].to_numpy()
    written = region["county_text"].to_numpy()
    # One integer per (year, province, county, 县 as written): the distinct places to resolve.
    combined = ((year * 100 + (province + 1)) * 1_000_001 + (county + 1)) * (len(texts) + 1) + (written + 1)
    distinct, inverse = np.unique(combined[wanted], return_inverse=True)
    first = np.flatnonzero(wanted)[np.unique(inverse, return_index=True)[1]]
    counts = np.bincount(inverse, minlength=len(distinct))
    found_values = np.full(len(distinct), np.nan)
    found_sources = np.full(len(distinct), "", dtype=object)
    gaps: list[str] = []
    for i, at in enumerate(first):
        resolved = _resolve_for(ctx, key, int(year[at]) if per_year else None, province[at], county[at],
                                texts[written[at]] if written[at] >= 0 else "")  # fmt: skip
        if resolved is None:
            gaps.append(
                _gap(ctx, kind, key, int(year[at]) if per_year else None, int(province[at]), int(counts[i]))
            )
        else:
            found_values[i], found_sources[i] = float(resolved.value), resolved.cite()
    values[wanted] = found_values[inverse]
    sources[wanted] = found_sources[inverse]
    if gaps and skip_if_none and np.isnan(found_values).all():
        raise SkipRule("；".join(dict.fromkeys(gaps)))
    return PolicyValues(pd.Series(values, index=index), pd.Series(sources, index=index))


def _resolve_for(ctx: AuditContext, key: str, year: int | None, province: int, county: int, written: str):
    from fupin_audit.policy import regions

    policy = ctx.policy
    code = f"{province:02d}" if province >= 0 else ""
    resolved = policy.resolve(
        key, year, code, regions.county_keys(f"{county:06d}" if county >= 0 else "", written)
    )
    unconfigured = code and policy.has_regional_config() and code not in policy.configured_provinces()
    if resolved is not None and unconfigured and policy.resolve(key, year) is resolved:
        # The config file has per-province values, but none for this province: say so once.
        name = regions.province_name(code)
        ctx.note(
            f"数据中有{name}的记录，配置文件 {policy.config_label} 中没有 "
            f'[province."{regions.short_province(name)}"] 节：按全国值检查（{key}'
            f"{f' {year} 年' if year else ''} = {resolved.value:g}，{resolved.cite()}）",
            level="info",
        )
    return resolved


def _gap(ctx: AuditContext, kind: str, key: str, year: int | None, province: int, rows: int) -> str:
    """The diagnostic for rows with no value (recorded on the context), or a ConfigError when strict."""
    from fupin_audit.errors import ConfigError
    from fupin_audit.policy import KEY_NAMES, YEAR_KEYS, regions

    code = f"{province:02d}" if province >= 0 else ""
    name = regions.province_name(code)
    short = regions.short_province(name)
    noun = ROW_NOUNS.get(kind, "行")
    when = f"{year} 年 " if year is not None else ""
    place = name or "（记录的省份无法识别）"
    if key in YEAR_KEYS:
        setting = f'[province."{short}".{key}] {year} = …' if code else f"[{key}] {year} = …"
    else:
        setting = f'[province."{short}"] {key} = …' if code else f"{key} = …"
    message = f"{when}{place} 没有{KEY_NAMES.get(key, key)}（{key}），这些{noun}未检查；请在配置文件中设置 {setting}"
    if ctx.strict_policy:
        from fupin_audit.engine.context import CURRENT_RULE

        raise ConfigError(f"{CURRENT_RULE.get() or '规则'}：{message}（--strict-policy：缺少政策值即为错误）")
    ctx.policy_gap(key, year, code, kind, rows, message)
    return message


def by_year(years: pd.Series, values: dict[int, Any], missing: Any) -> pd.Series:
    """Per row: `values[year]` (`missing` for an unknown year or one not in `values`); one mask per
    distinct year, never a per-row lookup."""
    numbers = years.astype("Int64").to_numpy(dtype="float64", na_value=np.nan)
    dtype = np.float64 if isinstance(missing, float) else object
    out = np.full(len(numbers), missing, dtype=dtype)
    for year in np.unique(numbers[~np.isnan(numbers)]):
        if int(year) in values:
            out[numbers == year] = values[int(year)]
    return pd.Series(out, index=years.index)


def data_years(ctx: AuditContext, kind: str) -> pd.Series:
    """Per row: the data year (年度, else --year, else a title row); SkipRule when none is known."""
    years = ctx.data_year(kind)
    if len(years) and years.isna().all():
        raise SkipRule(f"{kind} 表没有年度列，也没有指定 --year，无法确定数据年度")
    return years


def year_start(years: pd.Series) -> pd.Series:
    """1 January of each row's year (NaT when unknown)."""
    return _date_in(years, 1, 1)


def year_end(years: pd.Series) -> pd.Series:
    """31 December of each row's year (NaT when unknown)."""
    return _date_in(years, 12, 31)


def _date_in(years: pd.Series, month: int, day: int) -> pd.Series:
    parts = pd.DataFrame({"year": years.astype("Int64").astype("float64"), "month": month, "day": day})
    return pd.to_datetime(parts, errors="coerce")


# ------------------------------------------------------------------------------------ codes


def _arrow(series: pd.Series) -> pa.Array:
    """A column's text as an arrow large_string array, empty → null."""
    array = pa.array(text(series), type=pa.large_string())
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.large_string()), array)


def joint_codes(*columns: pd.Series) -> tuple[list[np.ndarray], int]:
    """Integer codes shared by several text columns (equal texts, equal codes; -1 for empty) and the
    number of distinct texts. Arrow hashing: no sort, no Python objects, fast at millions of rows."""
    arrays = [_arrow(c) for c in columns]
    if not arrays or sum(len(a) for a in arrays) == 0:
        return [np.full(len(c), -1, dtype=np.int64) for c in columns], 0
    joined = pa.concat_arrays(arrays)
    codes, n = _number_codes(joined) or _text_codes(joined)
    bounds = np.cumsum([0, *(len(a) for a in arrays)])
    return [codes[bounds[i] : bounds[i + 1]] for i in range(len(arrays))], n


def _text_codes(array: pa.Array) -> tuple[np.ndarray, int]:
    encoded = pc.dictionary_encode(array)
    return pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64), len(
        encoded.dictionary
    )


def _number_codes(array: pa.Array) -> tuple[np.ndarray, int] | None:
    """`_text_codes` of texts that are all digits of one length up to 18 (户编号), the last one
    possibly X (person keys): hashed as integers, several times faster than as text, with the same
    codes (first-seen order). None for any other texts."""
    valid = np.flatnonzero(arrow_mask(pc.is_valid(array)))
    present = pc.take(array, pa.array(valid)).cast(pa.large_string())
    if not len(present):
        return None
    low, high = pc.min_max(pc.binary_length(present)).values()
    width = low.as_py()
    if width != high.as_py() or not 0 < width <= 18:
        return None
    # One length: the bytes are an (n, width) matrix, read straight from the arrow buffer.
    offsets, data = text_buffers(present)
    chars = data[offsets[0] : offsets[0] + len(present) * width].reshape(len(present), width)
    digits = chars - np.uint8(48)  # a byte below "0" wraps round to ≥ 208
    last = chars[:, -1]
    if not ((digits[:, :-1] < 10).all() and ((digits[:, -1] < 10) | (last == ord("X"))).all()):
        return None
    # Distinct texts, distinct numbers: the leading digits as a number, times 11, plus the last
    # character (X = 10); one length, so no leading-zero collisions (≤ 1.1e18, within int64).
    head = np.zeros(len(present), dtype=np.int64)
    for j in range(width - 1):
        head = head * 10 + digits[:, j]
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
    pairs = np.unique(codes[keep] * width + values[keep])
    return np.bincount(pairs // width, minlength=n)


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


def person_keys(ctx: AuditContext, kind: str, field: str = ID) -> pd.Series:
    """Per row: the person an ID column names, as one comparable key (NA when it names nobody).

    Normalised the same way in every table: full-width, spaces, lower-case x removed; 15-digit
    legacy numbers upgraded to 18 digits; a 20-digit 残疾人证号 reduced to its first 18 digits;
    placeholders, Excel-damaged and malformed numbers give NA (DQ010/013/017 report them)."""

    def compute() -> pd.Series:
        table = ctx.table(kind, field)
        if kind == "members" and field == ID:
            from fupin_audit.rules.dq_idnumber import id_analysis

            analysis = id_analysis(ctx)
        else:
            from fupin_audit.schema.idnumber import classify_ids

            analysis = classify_ids(table.raw[field])
        id_kind = analysis["kind"].astype("str")
        key = analysis["normalized"].astype("str")
        key = key.where(id_kind != "id15", analysis["upgraded"].astype("str"))
        key = key.where(id_kind != "disability20", key.str.slice(0, 18))
        return key.where(id_kind.isin(USABLE_ID_KINDS)).reindex(table.data.index)

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
        return phone_numbers(ctx.frame(kind)[field])
    values = text(ctx.frame(kind)[field])
    return values.where(values != "")


def person_codes(ctx: AuditContext) -> dict[str, Any]:
    """Codes of person keys shared by every ID column present (“members.证件号码” → codes), with
    `n` and `registered`: per code, the first member row holding it (-1: not a registered member)."""

    def compute() -> dict[str, Any]:
        present = [(k, f) for k, f in PERSON_COLUMNS if ctx.has(k, f)]
        codes, n = joint_codes(*(person_keys(ctx, k, f) for k, f in present))
        out: dict[str, Any] = {f"{k}.{f}": c for (k, f), c in zip(present, codes, strict=True)}
        member_codes = out.get(f"members.{ID}", np.empty(0, dtype=np.int64))
        out["n"] = n
        out["registered"] = first_rows(member_codes, n)
        return out

    return ctx.cached("codes.people", compute)


def registered(ctx: AuditContext, kind: str, field: str = ID) -> np.ndarray:
    """Per row of `kind`: the first member row (position) of the person its `field` names, or -1."""
    people = person_codes(ctx)
    return gather(people["registered"], people[f"{kind}.{field}"], -1)


# ------------------------------------------------------------------------------------ deaths


def has_death_source(ctx: AuditContext) -> bool:
    roster = ctx.has("rosters", ID, "类别") and (text(ctx.frame("rosters")["类别"]) == "死亡").any()
    return bool(roster or ctx.has("members", "死亡日期") or ctx.has("members", "是否死亡"))


def require_death_source(ctx: AuditContext) -> None:
    if not has_death_source(ctx):
        raise SkipRule(
            "没有死亡名单（比对名单类别“死亡”或“死亡人员”工作表），成员表也没有死亡日期/是否死亡列"
        )


def deaths_by_person(ctx: AuditContext) -> dict[str, np.ndarray]:
    """Per person code: `dead` (known dead), `date` (earliest known date; NaT: date unknown) and
    `source` (where it says so). Sources: 死亡 roster rows (with or without 日期), and the members'
    own 死亡日期 / 是否死亡."""

    def compute() -> dict[str, np.ndarray]:
        people = person_codes(ctx)
        n = people["n"]
        parts = []
        if ctx.has("rosters", ID, "类别"):
            rosters = ctx.frame("rosters")
            codes = people[f"rosters.{ID}"]
            rows = (text(rosters["类别"]) == "死亡").to_numpy() & (codes >= 0)
            if rows.any():
                labels = rosters.index[rows]
                date = rosters.loc[labels, "日期"] if "日期" in rosters else pd.Series(pd.NaT, index=labels)
                source = "死亡名单，" + _places(ctx, "rosters", labels)
                parts.append(
                    pd.DataFrame({"code": codes[rows], "date": pd.to_datetime(date), "source": source})
                )
        if ctx.has("members", ID):
            members = ctx.frame("members")
            codes = people[f"members.{ID}"]
            own = members["死亡日期"] if "死亡日期" in members else pd.Series(pd.NaT, index=members.index)
            rows = (own.notna() | as_bool(members, "是否死亡")).to_numpy() & (codes >= 0)
            if rows.any():
                labels = members.index[rows]
                how = own[labels].notna().map({True: "成员表死亡日期，", False: "成员表是否死亡 = 是，"})
                source = how.astype(object) + _places(ctx, "members", labels)
                parts.append(
                    pd.DataFrame({"code": codes[rows], "date": pd.to_datetime(own[labels]), "source": source})
                )
        dead = np.zeros(n, dtype=bool)
        date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        source = np.full(n, "", dtype=object)
        if parts:
            frame = pd.concat(parts, ignore_index=True)
            # Earliest dated record first; an undated one only when no dated record exists.
            frame = frame.sort_values(["code", "date"], na_position="last", kind="stable").drop_duplicates(
                "code"
            )
            at = frame["code"].to_numpy(dtype=np.int64)
            dead[at] = True
            date[at] = frame["date"].to_numpy(dtype="datetime64[ns]")
            source[at] = frame["source"].to_numpy(dtype=object)
        return {"dead": dead, "date": date, "source": source}

    return ctx.cached("deaths.by_person", compute)


def deaths_of(ctx: AuditContext, kind: str, field: str = ID) -> pd.DataFrame:
    """Per row of `kind`: `dead`, `date`, `source` of the person its `field` names."""
    frame = ctx.frame(kind)
    codes = person_codes(ctx)[f"{kind}.{field}"]
    deaths = deaths_by_person(ctx)
    return pd.DataFrame(
        {
            "dead": gather(deaths["dead"], codes, False),
            "date": gather(deaths["date"], codes, np.datetime64("NaT")),
            "source": gather(deaths["source"], codes, ""),
        },
        index=frame.index,
    )


def member_deaths(ctx: AuditContext) -> pd.DataFrame:
    """Per member row: `dead` (bool), `date` (NaT when unknown) and `source` of the death; a row
    without a usable ID still carries its own 死亡日期 / 是否死亡."""

    def compute() -> pd.DataFrame:
        members = ctx.frame("members")
        index = members.index
        if ID in members:
            out = deaths_of(ctx, "members")
        else:
            out = pd.DataFrame({"dead": False, "date": pd.NaT, "source": ""}, index=index)
            out["date"] = out["date"].astype("datetime64[ns]")
            out["source"] = out["source"].astype(object)
        own = members["死亡日期"] if "死亡日期" in members else pd.Series(pd.NaT, index=index)
        own_rows = ~out["dead"] & (own.notna() | as_bool(members, "是否死亡"))
        if own_rows.any():
            labels = index[own_rows.to_numpy()]
            out.loc[labels, "date"] = pd.to_datetime(own[labels]).to_numpy()
            how = own[labels].notna().map({True: "成员表死亡日期，", False: "成员表是否死亡 = 是，"})
            out.loc[labels, "source"] = (how.astype(object) + _places(ctx, "members", labels)).to_numpy()
            out.loc[labels, "dead"] = True
        return out

    return ctx.cached("deaths.members", compute)


def dead_by_year_end(ctx: AuditContext) -> pd.Series:
    """Per member row: known dead by 31 December of its data year (a death of unknown date counts)."""

    def compute() -> pd.Series:
        deaths = member_deaths(ctx)
        end = year_end(ctx.data_year("members"))
        in_time = deaths["date"].isna() | (deaths["date"] <= end).fillna(False)
        return (deaths["dead"] & in_time).astype(bool)

    return ctx.cached("deaths.by_year_end", compute)


def _places(ctx: AuditContext, kind: str, labels: pd.Index) -> pd.Series:
    """“家庭成员 第 5 行” per row (sheet, or file name for CSV)."""
    data = ctx.frame(kind).loc[labels]
    sheets = np.array([s.sheet or Path(s.file).name for s in ctx.dataset.sources], dtype=object)
    where = pd.Series(sheets[data[SOURCE_COLUMN].to_numpy(dtype=np.int64)], index=labels, dtype=object)
    return where + " 第 " + data[ROW_COLUMN].astype(str).astype(object) + " 行"


# ------------------------------------------------------------------------------------ measures


def measures_of_year(ctx: AuditContext) -> pd.DataFrame:
    """The measures with their year (年度, else the year of 日期, else --year; NA: undated, counted
    for every year), stripped 户编号 / 乡 / 村 / 帮扶单位 / 帮扶责任人 texts, and the household's 县, 乡 and
    村 filled in from the household table when the measure names a household but no place."""

    def compute() -> pd.DataFrame:
        measures = ctx.frame("measures")
        year = (
            measures["年度"] if "年度" in measures else pd.Series(pd.NA, index=measures.index, dtype="Int64")
        )
        if "日期" in measures:
            year = year.fillna(measures["日期"].dt.year.astype("Int64"))
        if ctx.year is not None:
            year = year.fillna(ctx.year)
        out = pd.DataFrame(
            {
                HID: _column_text(measures, HID),
                "措施类型": _column_text(measures, "措施类型"),
                "县": _column_text(measures, "县"),
                "乡": _column_text(measures, "乡"),
                "村": _column_text(measures, "村"),
                "帮扶单位": _column_text(measures, "帮扶单位"),
                "帮扶责任人": _column_text(measures, "帮扶责任人"),
                "year": year.astype("Int64"),
            },
            index=measures.index,
        )
        if ctx.has("households", HID) and ctx.has("measures", HID):
            codes = household_codes(ctx)
            first = first_rows(codes["households"], codes["n"])
            row = gather(first, codes["measures"], -1)
            households = ctx.frame("households")
            for column in ("县", "乡", "村"):
                if column not in households:
                    continue
                empty = (out[column] == "").to_numpy() & (row >= 0)
                if empty.any():
                    filled = _column_text(households, column).to_numpy(dtype=object)[row[empty]]
                    out.loc[out.index[empty], column] = filled
        return out

    return ctx.cached("measures.of_year", compute)


def _column_text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype="str")
    return text(frame[column])


def measure_types(ctx: AuditContext) -> tuple[pd.Series, dict[str, int]]:
    """Per household row: a bit set of the measure types it has in its data year (undated measures
    count for every year; bit 0: any measure at all), and the bit of each type name."""

    def compute() -> tuple[pd.Series, dict[str, int]]:
        households = ctx.frame("households", HID)
        codes = household_codes(ctx)
        if "measures" not in codes:
            return pd.Series(0, index=households.index, dtype=np.int64), {}
        measures = measures_of_year(ctx)
        encoded = pc.dictionary_encode(_arrow(measures["措施类型"]))
        names = encoded.dictionary.to_pylist()
        if len(names) > 62:
            raise SkipRule(f"措施类型有 {len(names)} 种，超过 62 种，无法逐户汇总")
        bit_of = {name: 1 << (position + 1) for position, name in enumerate(names)}
        kinds = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        bits = np.where(kinds >= 0, np.left_shift(1, kinds + 1), 0).astype(np.int64) | 1
        own, theirs = codes["households"], codes["measures"]
        year = measures["year"].fillna(-1).to_numpy(dtype=np.int64)
        dated = (theirs >= 0) & (year >= 0)
        pairs = theirs[dated] * 10_000 + year[dated]
        order = np.argsort(pairs, kind="stable")
        pairs, pair_bits = pairs[order], bits[dated][order]
        out = np.zeros(len(own), dtype=np.int64)
        if len(pairs):
            starts = np.flatnonzero(np.r_[True, pairs[1:] != pairs[:-1]])
            unique_pairs, ored = pairs[starts], np.bitwise_or.reduceat(pair_bits, starts)
            own_year = ctx.data_year("households").fillna(-1).to_numpy(dtype=np.int64)
            wanted = np.where((own >= 0) & (own_year >= 0), own * 10_000 + own_year, -1)
            at = np.minimum(np.searchsorted(unique_pairs, wanted), len(unique_pairs) - 1)
            out = np.where(unique_pairs[at] == wanted, ored[at], 0).astype(np.int64)
        undated = (theirs >= 0) & (year < 0)
        if undated.any():
            per_code = np.zeros(codes["n"], dtype=np.int64)
            np.bitwise_or.at(per_code, theirs[undated], bits[undated])
            out |= gather(per_code, own, 0)
        return pd.Series(np.where(own >= 0, out, 0), index=households.index), bit_of

    return ctx.cached("measures.types_by_household", compute)


def households_with_measure(ctx: AuditContext, types: Iterable[str] | None = None) -> pd.Series:
    """Per household row: at least one measure (of the given types) for its 户编号 in its data year
    (an undated measure counts for every year)."""
    bits, bit_of = measure_types(ctx)
    wanted = 1 if types is None else sum(bit_of.get(t, 0) for t in set(types))
    return (bits & wanted) != 0


def measure_names(ctx: AuditContext, labels: pd.Index) -> pd.Series:
    """For the given household rows: “产业帮扶、慰问救助” — its measure types of the data year, in
    code-list order."""
    from fupin_audit.schema.codes import code_list

    bits, bit_of = measure_types(ctx)
    rank = {name: i for i, name in enumerate(code_list("措施类型").values)}
    names = sorted(bit_of, key=lambda name: (rank.get(name, len(rank)), name))
    texts = {}
    for value in pd.unique(bits[labels]):  # one text per distinct combination
        texts[value] = "、".join(name for name in names if value & bit_of[name])
    return bits[labels].map(texts).astype(object)


# ------------------------------------------------------------------------------------ places


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
    key = _column_text(frame, columns[0])
    for column in columns[1:]:
        key = key + "/" + _column_text(frame, column)
    return key


# ------------------------------------------------------------------------------------ related


# Per table: (record key, canonical field) written into `related` records.
RECORD_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "households": (
        ("household_id", HID), ("name", "户主姓名"), ("id_number", "户主证件号码"), ("county", "县"),
        ("township", "乡"), ("village", "村"), ("status", STATUS),
    ),
    "members": (
        ("household_id", HID), ("person_id", "人口编号"), ("id_number", ID), ("name", "姓名"),
        ("county", "县"), ("township", "乡"), ("village", "村"),
    ),
    "villages": (("county", "县"), ("township", "乡"), ("village", "村"), ("village_code", "村代码")),
    "measures": (
        ("household_id", HID), ("id_number", "领取人证件号码"), ("measure_type", "措施类型"),
        ("amount", "金额"), ("date", "日期"), ("unit", "帮扶单位"), ("village", "村"),
    ),
    "helpers": (
        ("household_id", HID), ("helper", "帮扶责任人姓名"), ("id_number", "帮扶责任人证件号码"),
        ("unit", "帮扶单位"),
    ),
    "rosters": (
        ("category", "类别"), ("id_number", ID), ("name", "姓名"), ("date", "日期"), ("detail", "详情"),
    ),
}  # fmt: skip


def records(ctx: AuditContext, kind: str, labels: Iterable[Hashable]) -> dict[Hashable, dict[str, Any]]:
    """A small JSON-able record per row (file, sheet, 1-based row and who/what it is)."""
    labels = pd.Index(labels)
    if labels.empty:
        return {}
    data = ctx.frame(kind)
    fields = [(k, f) for k, f in RECORD_FIELDS[kind] if f in data]
    part = data.loc[labels, [SOURCE_COLUMN, ROW_COLUMN, *(f for _, f in fields)]]
    sources = ctx.dataset.sources
    out: dict[Hashable, dict[str, Any]] = {}
    for label, values in zip(labels, part.itertuples(index=False, name=None), strict=True):
        src, row, *rest = values
        source = sources[int(src)]
        record: dict[str, Any] = {"table": kind, "file": source.file, "sheet": source.sheet, "row": int(row)}
        for (key, _), value in zip(fields, rest, strict=True):
            if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
                continue
            if isinstance(value, pd.Timestamp):
                record[key] = value.strftime("%Y-%m-%d")
            elif isinstance(value, float):
                record[key] = round(value, 2)
            else:
                record[key] = str(value)
        out[label] = record
    return out


def capped(listed: list[dict[str, Any]], total: int) -> str:
    """JSON of at most RELATED_MAX records, plus {"omitted": n} when more were involved."""
    shown = listed[:RELATED_MAX]
    if total > len(shown):
        shown = [*shown, {"omitted": total - len(shown)}]
    return related_json(shown)


def related_groups(
    ctx: AuditContext, kind: str, flagged: pd.Index, groups: pd.Series, *, include_self: bool = False
) -> pd.Series:
    """For each flagged row, JSON of the rows of `kind` sharing its group (groups: label → key over
    all candidate rows), without the row itself unless `include_self`. Capped at RELATED_MAX."""
    groups = groups.dropna()
    wanted = groups[groups.isin(set(groups.reindex(flagged).dropna()))]
    by_key = pd.Series(wanted.index, index=wanted.to_numpy()).groupby(level=0, sort=False).agg(list)
    heads = {key: labels[: RELATED_MAX + 1] for key, labels in by_key.items()}
    recs = records(ctx, kind, pd.Index([label for head in heads.values() for label in head]))
    out = {}
    for label in flagged:
        key = groups.get(label)
        if key is None:
            out[label] = "[]"
            continue
        everyone = by_key[key]
        listed = [recs[x] for x in heads[key] if include_self or x != label]
        out[label] = capped(listed, len(everyone) - (0 if include_self else 1))
    return pd.Series(out, dtype=object).reindex(flagged)


def related_in(ctx: AuditContext, kind: str, codes: np.ndarray, wanted: pd.Series) -> pd.Series:
    """For each flagged row (`wanted`: label → code), JSON of the rows of `kind` whose `codes` equal
    that code (capped at RELATED_MAX)."""
    rows = np.flatnonzero(np.isin(codes, wanted.to_numpy()))
    labels = ctx.frame(kind).index[rows]
    by_code = pd.Series(labels, index=codes[rows]).groupby(level=0, sort=False).agg(list)
    recs = records(ctx, kind, pd.Index([x for group in by_code for x in group[:RELATED_MAX]]))
    out = {
        label: capped([recs[x] for x in by_code[code][:RELATED_MAX]], len(by_code[code]))
        for label, code in wanted.items()
    }
    return pd.Series(out, dtype=object).reindex(wanted.index)


def name_list(values: Iterable[str], limit: int = SHOWN_MAX) -> str:
    """“H1、H2、H3” (at most `limit`, then “等 n 个”)."""
    values = list(values)
    shown = "、".join(values[:limit])
    return shown + (f" 等 {len(values)} 个" if len(values) > limit else "")


# ------------------------------------------------------------------------------------ raw cells


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
        written = raw.notna() & ~text(raw).str.normalize("NFKC").str.strip().isin(EMPTY_MARKERS)
        out[out] = written.to_numpy(dtype=bool)
    return pd.Series(out, index=table.data.index)


def raw_values(ctx: AuditContext, kind: str, field: str) -> pd.Series:
    """The cells of a field as read (text), "" where absent."""
    raw = ctx.table(kind).raw
    if field not in raw:
        return pd.Series("", index=ctx.frame(kind).index, dtype=object)
    return text(raw[field])


def audit_year(ctx: AuditContext) -> int | None:
    """The run's data year: --year, else the most common data year of the households or members."""
    if ctx.year is not None:
        return ctx.year

    def compute() -> int | None:
        for kind in ("households", "members", "villages"):
            if ctx.has(kind):
                years = ctx.data_year(kind).dropna()
                if len(years):
                    return int(years.mode().iloc[0])
        return None

    # cached: a partitioned run gives every partition the whole dataset's value
    return ctx.cached("audit_year", compute)


LAST_EXIT_YEAR = 2020  # the last year of 脱贫攻坚 exits (全面脱贫)


def exit_split(ctx: AuditContext) -> pd.DataFrame:
    """Per household row, who exited when — the one split LG401/LG403, LG402/LG404 and the indicators
    share: `this_year` (exited, 脱贫年度 = the data year or empty: the exit the data year's facts can
    judge), `earlier` (exited, 脱贫年度 before the data year: income and guarantees now say whether
    the exit held, not whether it was right), the data `year` and the `exit_year` (NA when empty).

    In data of 2021 or later (monitoring exports: 户类型 = 脱贫户, no 脱贫年度) an exit without a year is
    `earlier`: the last exits were in 2020.
    An exit whose 脱贫年度 is after the data year is neither (SY304 reports it). Only 脱贫年度 counts:
    计划脱贫年度 is a plan, its own field, and never read here."""

    def compute() -> pd.DataFrame:
        households = ctx.frame("households", STATUS)
        years = data_years(ctx, "households")
        out_year = (
            households["脱贫年度"].astype("Int64")
            if "脱贫年度" in households
            else pd.Series(pd.NA, index=households.index, dtype="Int64")
        )
        gone = exited(households)
        # Exits ended in 2020: in data of 2021 or later a 脱贫户 without 脱贫年度 exited earlier.
        unknown = out_year.isna()
        monitoring_year = (years >= LAST_EXIT_YEAR + 1).fillna(False).astype(bool)
        this_year = gone & ((unknown & ~monitoring_year) | (out_year == years).fillna(False)).astype(bool)
        earlier = gone & ((out_year < years).fillna(False) | (unknown & monitoring_year)).astype(bool)
        return pd.DataFrame(
            {"this_year": this_year, "earlier": earlier, "year": years, "exit_year": out_year},
            index=households.index,
        )

    return ctx.cached("households.exit_split", compute)
