"""`fupin-audit policy`: every value with its source and confidence, as a TOML file one can start a
province's or county's config from (the sources are comments), or the values in force for one place
and year."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import tomli_w

from fupin_audit.policy import (
    BUILTIN,
    KEY_NAMES,
    NATIONAL,
    REGIONAL_KEYS,
    YEAR_KEYS,
    YEAR_RANGE,
    Resolved,
    Scope,
    default_values,
    regions,
)

if TYPE_CHECKING:
    from fupin_audit.policy import Policy


def _value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _comment(resolved: Resolved) -> str:
    return "  # " + resolved.describe()


def _scope_header(scope: Scope, key: str) -> str:
    level, ident = scope
    if level == "national":
        return f"[{key}]"
    if level == "province":
        return f'[province."{regions.short_province(regions.province_name(ident))}".{key}]'
    name = ident[2:]
    label = f"  # {regions.county_name(name)}" if ident.startswith("c:") else ""
    return f'[county."{name}".{key}]{label}'


def scope_name(scope: Scope) -> str:
    """("province", "52") → 贵州省; ("county", "c:350526") → 德化县（350526）; national → 全国."""
    level, ident = scope
    if level == "province":
        return regions.province_name(ident)
    if level == "county":
        return f"{regions.county_name(ident[2:])}（{ident[2:]}）" if ident.startswith("c:") else ident[2:]
    return "全国"


def policy_toml(policy: Policy) -> str:
    """All values in force: national single values, then the year tables per scope, config values
    over built-in ones; each with `# confidence · source · where` after it."""
    entries = policy.entries()
    winners: dict[tuple[Scope, str, int | None], Resolved] = {}
    for _layer, scope, resolved in entries:  # config first: it wins
        winners.setdefault((scope, resolved.key, resolved.year), resolved)
    lines = [
        "# 每个值后的注释：可信度（已核实 / 未核实 / 推算 / 配置文件）· 出处 · 来自哪里（内置或配置文件及其节）。",
        '# 覆盖文件只需写要改的键；省、县的值写在 [province."贵州".monitoring_line]、[county."宿松县"] 等节中。',
    ]
    if policy.exit_line_series:
        lines.append(f'exit_line_series = "{policy.exit_line_series}"')
    singles = [r for (scope, key, year), r in winners.items() if scope == NATIONAL and year is None]
    for resolved in singles:
        if resolved.key == "measures":
            continue
        lines.append(f"{resolved.key} = {_value(resolved.value)}{_comment(resolved)}")
    blocks: dict[tuple[Scope, str], list[Resolved]] = {}
    for (scope, key, year), resolved in winners.items():
        if year is not None:
            blocks.setdefault((scope, key), []).append(resolved)
    for (scope, key), values in blocks.items():
        lines += ["", _scope_header(scope, key)]
        for resolved in sorted(values, key=lambda r: r.year or 0):
            lines.append(f"{resolved.year} = {_value(resolved.value)}{_comment(resolved)}")
        if scope == NATIONAL and key == "poverty_line":
            lines += _missing_lines(policy, values)
    regional_singles = [r for (scope, key, year), r in winners.items() if scope != NATIONAL and year is None]
    for resolved in regional_singles:
        scope = next(s for (s, k, y), r in winners.items() if r is resolved)
        header = _scope_header(scope, "").rstrip(".]").rstrip(".") + "]"
        lines += ["", header, f"{resolved.key} = {_value(resolved.value)}{_comment(resolved)}"]
    lines += ["", tomli_w.dumps({"measures": policy.measures.model_dump()}).rstrip()]
    return "\n".join(lines) + "\n"


def _missing_lines(policy: Policy, values: list[Resolved]) -> list[str]:
    """The years 2011–2020 with no national poverty line, and the example series, as comments."""
    have = {r.year for r in values}
    out = []
    for year in range(YEAR_RANGE[0], 2021):
        if year not in have:
            out.append(
                f"# {year} = …  没有内置值：未找到出处，请按本省脱贫标准设置（此前 {year} 年的户不检查）"
            )
    if policy.exit_line_series != "working":
        example = default_values()["example_series"]["working"]
        series = "、".join(f"{y} = {v}" for y, v in example.items())
        out.append(
            f'# 示例系列 working（没有出处，未核实；需明确选择 exit_line_series = "working"）：{series}'
        )
    return out


def resolved_text(policy: Policy, province: str | None, county: str | None, year: int | None) -> str:
    """The values a record of this province, county and year is judged with, and where each came from."""
    from fupin_audit.errors import ConfigError

    code = ""
    if province:
        code = regions.province_code(province) or ""
        if not code:
            raise ConfigError(f"--province {province}：GB/T 2260 中没有这个省份（写法如 贵州、贵州省 或 52）")
    county_keys: tuple[str, ...] = ()
    if county:
        key = regions.county_key(county)
        if key is None:
            raise ConfigError(f"--county {county}：GB/T 2260 中没有这个县（写法如 宿松县 或 340826）")
        ident = key[2:]
        codes = [ident] if key.startswith("c:") else list(regions.gazetteer().county_codes[ident])
        if code:
            codes = [c for c in codes if c.startswith(code)] or codes
        county_keys = tuple(dict.fromkeys(k for c in codes for k in regions.county_keys(c, county)))
        if not code and len({c[:2] for c in codes}) == 1:
            code = codes[0][:2]
    if year is not None and not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise ConfigError(f"--year {year} 不在 {YEAR_RANGE[0]}–{YEAR_RANGE[1]} 之间")
    place = " ".join(p for p in (regions.province_name(code), county or "") if p) or "全国"
    lines = [
        f"# {place}{f' {year} 年' if year else ''}生效的值（县 > 省 > 全国；同一级配置文件优先于内置值）"
    ]
    for key in REGIONAL_KEYS:
        if (key in YEAR_KEYS and year is None) or (
            key == "monitoring_line" and year is not None and year < 2021
        ):
            continue
        found = policy.resolve(key, year, code, county_keys)
        if found is None:
            where = (
                f'[province."{regions.short_province(regions.province_name(code))}".{key}]'
                if code
                else f"[{key}]"
            )
            lines.append(
                f"# {key}（{KEY_NAMES[key]}）：没有值，相关规则不检查这些记录；请设置 {where} {year} = …"
            )
        else:
            lines.append(f"{key} = {_value(found.value)}{_comment(found)}")
    return "\n".join(lines) + "\n"


__all__ = ["BUILTIN", "policy_toml", "resolved_text"]
