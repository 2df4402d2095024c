"""Policy values per row (poverty line, monitoring line, relapse-risk line …) looked up by province,
county and year, with one diagnostic per gap; rows without a value are left unjudged."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from fupin_audit.engine.context import ROW_NOUNS, AuditContext
from fupin_audit.engine.rule import SkipRule
from fupin_audit.facts.cells import text_series
from fupin_audit.facts.keys import distinct_sorted


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
    if not wanted.any():
        return PolicyValues(
            pd.Series(values, index=index), text_series(np.full(len(index), -1), [], "", index)
        )
    region = ctx.region(kind)
    texts = region.attrs["texts"]
    province = region["province"].to_numpy()
    county = region["county"].to_numpy()
    written = region["county_text"].to_numpy()
    # One integer per (year, province, county, 县 as written): the distinct places to resolve.
    combined = ((year * 100 + (province + 1)) * 1_000_001 + (county + 1)) * (len(texts) + 1) + (written + 1)
    distinct, first_wanted, inverse = distinct_sorted(combined[wanted])
    first = np.flatnonzero(wanted)[first_wanted]
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
    if gaps and skip_if_none and np.isnan(found_values).all():
        raise SkipRule("；".join(dict.fromkeys(gaps)))
    # Per row the place's text by one take (not a Python string per row)
    place = np.full(len(index), -1, dtype=np.int64)
    place[wanted] = inverse
    return PolicyValues(pd.Series(values, index=index), text_series(place, found_sources.tolist(), "", index))


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
