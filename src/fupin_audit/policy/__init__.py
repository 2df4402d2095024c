"""Policy parameters (DOMAIN.md §6, MONITORING.md §2): sourced defaults, overridable per province,
county and year.

`defaults.toml` next to this module is the only copy of the defaults; every built-in value carries
its source and confidence. A config file (--config) is merged over it:

- national keys at the top level, exactly as older config files wrote them (`relapse_risk_line =
  6000`, `[poverty_line.working] 2017 = 3400`, `[monitoring_line] 2022 = 6500`);
- `[province."贵州".monitoring_line] 2023 = 7300` (also 贵州省 or 52) and `[county."宿松县"]` /
  `[county.340826]` sections for the keys in `REGIONAL_KEYS`;
- a year value may be a number, `{ value = 7300, source = "黔…号" }`, or a multiple of the rural 低保
  standard: `{ dibao_monthly = 815, multiple = 2 }` (= 2 × 815 × 12 = 19560).

`Policy.resolve(key, year, province, county)` gives the value in force with where it came from:
county > province > national, and at each level a config value before a built-in one.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveFloat, PrivateAttr, ValidationError

from fupin_audit.errors import ConfigError
from fupin_audit.policy import regions

Series = Literal["working", "statistical"]
Confidence = Literal["verified", "unverified", "derived", "configured"]
CONFIDENCE_NAMES = {"verified": "已核实", "unverified": "未核实", "derived": "推算", "configured": "配置文件"}
UNVERIFIED_NOTE = "未核实，请以省级文件为准"
# Parameters that take one value per year.
YEAR_KEYS = ("poverty_line", "monitoring_line")
# Parameters a [province.X] or [county.Y] section may set: the rules look these up per record.
REGIONAL_KEYS = (*YEAR_KEYS, "relapse_risk_line", "near_line_band")
KEY_NAMES = {
    "poverty_line": "贫困线",
    "monitoring_line": "防返贫监测线",
    "relapse_risk_line": "返贫风险线",
    "near_line_band": "刚过线区间倍数",
}
# Data years the tool has policy for: outside it a year is a mistake, never a lookup.
YEAR_RANGE = (2011, 2030)
BUILTIN = "默认值"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Measures(_Strict):
    developmental: list[str]
    for_cause: dict[str, list[str]]


@dataclass(frozen=True)
class Resolved:
    """One policy value in force, and where it came from."""

    key: str
    year: int | None
    value: Any
    confidence: Confidence
    source: str  # the document (built-in) or what the config file said about it
    origin: str  # BUILTIN or the config file's name
    section: str = ""  # where in the file: "[province.贵州.monitoring_line] 2023"
    short: str = ""  # the source as a message cites it
    derivation: str = ""  # "2 × 农村低保标准 815 元/月 × 12 = 19560"

    @property
    def builtin(self) -> bool:
        return self.origin == BUILTIN

    @property
    def unverified(self) -> bool:
        return self.builtin and self.confidence in ("unverified", "derived")

    def cite(self) -> str:
        """What a finding's message says about the value: “poverty_line，默认值，国家统计局”,
        “monitoring_line，默认值，未核实，请以省级文件为准，…”, “poverty_line，安徽.toml [province.安徽.poverty_line] 2018”."""
        if self.builtin:
            text = BUILTIN + (f"，{UNVERIFIED_NOTE}" if self.unverified else "")
        else:
            text = self.origin + (f" {self.section}" if self.section else "")
        if self.short:
            text += f"，{self.short}"
        if self.derivation:
            text += f"：{self.derivation}"
        return f"{self.key}，{text}"

    def describe(self) -> str:
        """For `policy` and `explain`: confidence · source · where."""
        where = "内置" if self.builtin else f"{self.origin} {self.section}".strip()
        source = self.source or ("" if self.confidence == "configured" else "无出处")
        parts = [CONFIDENCE_NAMES[self.confidence], source, where]
        if self.derivation:
            parts.insert(1, self.derivation)
        return " · ".join(p for p in parts if p)


# A scope of values: ("national", ""), ("province", "52"), ("county", "c:350526" or "n:德化县").
Scope = tuple[str, str]
NATIONAL: Scope = ("national", "")


class Policy(_Strict):
    """The national values in force (config over default) plus the per-province and per-county
    values; `resolve` answers for one place and year."""

    exit_line_series: Series | None = None
    relapse_risk_line: PositiveFloat
    village_exit_incidence: float = Field(gt=0, lt=1)
    village_exit_incidence_west: float = Field(gt=0, lt=1)
    collective_income_min: float
    notice_min_days: int = Field(ge=0)
    helper_max_households: int = Field(ge=1)
    near_line_band: float = Field(ge=1)
    transfer_share_fragile: float = Field(gt=0, le=1)
    income_drop_share: float = Field(gt=0, lt=1)
    compulsory_education_age: tuple[int, int]
    working_age: tuple[int, int]
    west_counties: list[str]
    # National lines in force per year (the series applied, config over built-in).
    poverty_line: dict[int, PositiveFloat]
    monitoring_line: dict[int, PositiveFloat]
    measures: Measures
    # Where each national value came from ("默认" or the override file), for messages; not a policy key.
    origin: dict[str, str] = Field(default_factory=dict, exclude=True)
    _layers: dict[tuple[str, Scope], dict[tuple[str, int | None], Resolved]] = PrivateAttr(
        default_factory=dict
    )
    _label: str = PrivateAttr(default="")

    def resolve(
        self, key: str, year: int | None = None, province: str = "", county: tuple[str, ...] = ()
    ) -> Resolved | None:
        """The value of `key` (for `year` when it takes one per year) in force for a record of this
        province (2-digit code) and county (`regions.county_keys`); None when there is none."""
        slot = (key, year if key in YEAR_KEYS else None)
        for scopes in self.levels(province, county):
            for layer in ("config", "builtin"):
                for scope in scopes:
                    found = self._layers.get((layer, scope), {}).get(slot)
                    if found is not None:
                        return found
        return None

    @staticmethod
    def levels(province: str = "", county: tuple[str, ...] = ()) -> list[list[Scope]]:
        """The scopes a record matches, most specific level first (a county by code or by name)."""
        out = [[("county", c) for c in county]] if county else []
        if province:
            out.append([("province", province)])
        return [*out, [NATIONAL]]

    def configured_provinces(self) -> set[str]:
        """Provinces (2-digit codes) with a section in the config file."""
        return {scope[1] for layer, scope in self._layers if layer == "config" and scope[0] == "province"}

    def has_regional_config(self) -> bool:
        return any(layer == "config" and scope != NATIONAL for layer, scope in self._layers)

    @property
    def config_label(self) -> str:
        return self._label

    def entries(self) -> list[tuple[str, Scope, Resolved]]:
        """Every value of every layer (config first), for `policy`."""
        out = []
        for (layer, scope), values in self._layers.items():
            for resolved in values.values():
                out.append((layer, scope, resolved))
        order = {"national": 0, "province": 1, "county": 2}
        return sorted(
            out, key=lambda e: (order[e[1][0]], e[1][1], e[2].key, e[2].year or 0, e[0] != "config")
        )

    def source_of(self, key: str) -> str:
        """Where a value came from; a table (poverty_line) counts as overridden if any entry is."""
        if key in self.origin:
            return self.origin[key]
        nested = [label for path, label in self.origin.items() if path.startswith(f"{key}.")]
        return nested[0] if nested else "默认"


def default_values() -> dict[str, Any]:
    text = resources.files("fupin_audit.policy").joinpath("defaults.toml").read_text("utf-8")
    return tomllib.loads(text)


def _merge(
    base: dict[str, Any], override: dict[str, Any], origin: dict[str, str], label: str, prefix: str = ""
) -> None:
    for key, value in override.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value, origin, label, f"{path}.")
        else:
            base[key] = value
            origin[path] = label


class _Loader:
    """Builds a Policy: the defaults' layers, then the config file's, each value checked."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.layers: dict[tuple[str, Scope], dict[tuple[str, int | None], Resolved]] = {}

    def put(self, layer: str, scope: Scope, resolved: Resolved) -> None:
        self.layers.setdefault((layer, scope), {})[(resolved.key, resolved.year)] = resolved

    def year_table(self, layer: str, scope: Scope, key: str, table: Any, section: str, where: str) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: {section} 须为按年份的表，例如 {section}\\n2023 = 7300")
        for year_text, value in table.items():
            year = _year(year_text, where, section)
            self.put(layer, scope, self.year_value(layer, key, year, value, f"{section} {year}", where))

    def year_value(self, layer: str, key: str, year: int, value: Any, section: str, where: str) -> Resolved:
        builtin = layer == "builtin"
        origin = BUILTIN if builtin else self.label
        if isinstance(value, bool) or not isinstance(value, (int, float, dict)):
            raise ConfigError(
                f"{where}: {section} = {value!r}：应为数字，或 {{ dibao_monthly = …, multiple = … }}"
            )
        if not isinstance(value, dict):
            return Resolved(key, year, _positive(value, where, section), "configured", "", origin, section)
        allowed = {"value", "dibao_monthly", "dibao_yearly", "multiple", "source", "short", "confidence"}
        unknown = sorted(set(value) - allowed)
        if unknown:
            raise ConfigError(
                f"{where}: {section}：未知的键 {unknown[0]}（可用 {'、'.join(sorted(allowed))}）"
            )
        source, short = str(value.get("source", "")), str(value.get("short", ""))
        confidence = value.get("confidence", "verified" if builtin else "configured")
        if not builtin:
            short, confidence = short or source, "configured"
        derivation = ""
        if "value" in value:
            amount = _positive(value["value"], where, section)
        else:
            amount, derivation = _dibao_multiple(value, where, section)
        return Resolved(key, year, amount, confidence, source, origin, section, short, derivation)

    def scalar(self, layer: str, scope: Scope, key: str, value: Any, section: str, source: dict) -> None:
        builtin = layer == "builtin"
        if isinstance(value, dict) and not builtin:
            extra = sorted(set(value) - {"value", "source"})
            if extra or "value" not in value:
                raise ConfigError(f'{self.label}: {section}：应为数值，或 {{ value = …, source = "…" }}')
            source = {"source": str(value.get("source", ""))}
            value = value["value"]
        confidence = source.get("confidence", "verified") if builtin else "configured"
        origin = BUILTIN if builtin else self.label
        shown = "" if scope == NATIONAL and not builtin else section
        short = "" if builtin else source.get("source", "")
        self.put(
            layer,
            scope,
            Resolved(key, None, value, confidence, source.get("source", ""), origin, shown, short),
        )


def _year(text: Any, where: str, section: str) -> int:
    try:
        year = int(str(text))
    except ValueError:
        raise ConfigError(f"{where}: {section} 中的 {text!r} 不是年份") from None
    low, high = YEAR_RANGE
    if not low <= year <= high:
        raise ConfigError(f"{where}: {section} 中的年份 {year} 不在 {low}–{high} 之间")
    return year


def _positive(value: Any, where: str, section: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{where}: {section} = {value!r}：应为大于 0 的数")
    return float(value)


def _dibao_multiple(value: dict, where: str, section: str) -> tuple[float, str]:
    """{ dibao_monthly = 815, multiple = 2 } → 19560 and how it was computed."""
    if "multiple" not in value or ("dibao_monthly" in value) == ("dibao_yearly" in value):
        raise ConfigError(
            f"{where}: {section}：低保倍数写作 {{ dibao_monthly = 815, multiple = 2 }}"
            "（或 dibao_yearly = 9780），或直接写 value = …"
        )
    multiple = _positive(value["multiple"], where, section)
    if "dibao_monthly" in value:
        monthly = _positive(value["dibao_monthly"], where, section)
        amount = round(multiple * monthly * 12, 2)
        return amount, f"{multiple:g} × 农村低保标准 {monthly:g} 元/月 × 12 = {amount:g}"
    yearly = _positive(value["dibao_yearly"], where, section)
    amount = round(multiple * yearly, 2)
    return amount, f"{multiple:g} × 农村低保标准 {yearly:g} 元/年 = {amount:g}"


def _sections(loader: _Loader, layer: str, values: dict[str, Any], where: str, national: dict) -> None:
    """[province.X.key] and [county.Y.key] sections."""
    for level in ("province", "county"):
        sections = values.pop(level, {})
        if not isinstance(sections, dict):
            raise ConfigError(f'{where}: [{level}] 须为表，例如 [{level}."名称".monitoring_line]')
        for name, body in sections.items():
            code = regions.province_code(name) if level == "province" else regions.county_key(name)
            if code is None:
                hint = "贵州、贵州省或 52" if level == "province" else "宿松县 或 6 位代码 340826"
                raise ConfigError(
                    f'{where}: [{level}."{name}"]：GB/T 2260 中没有这个{"省份" if level == "province" else "县"}（写法如 {hint}）'
                )
            if not isinstance(body, dict):
                raise ConfigError(f'{where}: [{level}."{name}"] 须为表')
            for key, value in body.items():
                section = f"[{level}.{name}.{key}]" if key in YEAR_KEYS else f"[{level}.{name}] {key}"
                scope = (level, code)
                if key in YEAR_KEYS:
                    loader.year_table(layer, scope, key, value, f"[{level}.{name}.{key}]", where)
                elif key in REGIONAL_KEYS:
                    _check_scalar(national, key, value, where, section)
                    loader.scalar(layer, scope, key, value, section, {})
                elif key in Policy.model_fields:
                    raise ConfigError(
                        f"{where}: {section}：参数 {key} 不能按省、县设置（可按省、县设置：{'、'.join(REGIONAL_KEYS)}）"
                    )
                else:
                    raise ConfigError(f"{where}: {section}：未知的参数 {key}")


def _check_scalar(national: dict, key: str, value: Any, where: str, section: str) -> None:
    """A province's or county's value passes the same checks as the national one."""
    plain = value.get("value") if isinstance(value, dict) else value
    try:
        Policy(**{**national, key: plain})
    except ValidationError as exc:
        raise ConfigError(f"{where}: {section}: {exc.errors()[0]['msg']}") from None


def _poverty_lines(loader: _Loader, override: Any, series: str | None, where: str) -> None:
    """National poverty lines of the config file: `[poverty_line] 2017 = …`, or the older
    `[poverty_line.working]` / `[poverty_line.statistical]` tables. Without exit_line_series, both
    older tables count (working last: it was the series older files applied)."""
    if not isinstance(override, dict):
        raise ConfigError(f"{where}: poverty_line 须为按年份的表，例如 [poverty_line]\\n2018 = 3535")
    years = {k: v for k, v in override.items() if k not in ("working", "statistical")}
    for name in ("statistical", "working"):
        if name in override and series != {"statistical": "working", "working": "statistical"}[name]:
            loader.year_table(
                "config", NATIONAL, "poverty_line", override[name], f"[poverty_line.{name}]", where
            )
    if years:
        loader.year_table("config", NATIONAL, "poverty_line", years, "[poverty_line]", where)


def load_policy(overrides: dict[str, Any] | None = None, label: str = "配置文件") -> Policy:
    values = default_values()
    overrides = dict(overrides or {})
    sources = values.pop("sources", {})
    example = values.pop("example_series", {})
    builtin_lines = {key: values.pop(key) for key in YEAR_KEYS}
    loader = _Loader(label)
    from_file = bool(overrides)
    # Built-in layer: sourced values, or the example series when a config file selects it.
    series = overrides.get("exit_line_series")
    for key, table in builtin_lines.items():
        if key == "poverty_line" and series == "working":
            table = {
                year: {"value": v, "confidence": "unverified", "short": "示例系列 working，无出处",
                       "source": "示例系列（2800 × 1.06ⁿ），没有出处；仅在 exit_line_series = \"working\" 时使用"}
                for year, v in example.get("working", {}).items()
            }  # fmt: skip
        loader.year_table("builtin", NATIONAL, key, table, f"[{key}]", "defaults.toml")
    regional_defaults = {level: values.pop(level, {}) for level in ("province", "county")}
    # National scalars: config over default, as before.
    lines_override = {key: overrides.pop(key) for key in YEAR_KEYS if key in overrides}
    regional = {level: overrides.pop(level) for level in ("province", "county") if level in overrides}
    origin: dict[str, str] = {}
    _merge(values, overrides, origin, label)
    scalars = {k: v for k, v in values.items() if k not in ("measures", "exit_line_series")}
    try:
        national = Policy(**values, poverty_line={}, monitoring_line={}, origin=origin).model_dump()
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_first_error(exc)}") from None
    for key in scalars:
        loader.scalar("builtin", NATIONAL, key, national[key], "", sources.get(key, {}))
        if key in origin or any(path.startswith(f"{key}.") for path in origin):
            loader.scalar("config", NATIONAL, key, national[key], "", {})
    _sections(loader, "builtin", regional_defaults, "defaults.toml", national)
    # The config file's lines and sections.
    if "poverty_line" in lines_override:
        _poverty_lines(loader, lines_override["poverty_line"], series, label)
        origin["poverty_line"] = label
    if "monitoring_line" in lines_override:
        loader.year_table(
            "config",
            NATIONAL,
            "monitoring_line",
            lines_override["monitoring_line"],
            "[monitoring_line]",
            label,
        )
        origin["monitoring_line"] = label
    _sections(loader, "config", regional, label, national)
    for name, year in loader.layers.get(("config", NATIONAL), {}):
        if year is not None:  # "monitoring_line.2023": which file set a national year value
            origin[f"{name}.{year}"] = label
    national_lines = {}
    for key in YEAR_KEYS:
        table: dict[int, float] = {}
        for layer in ("builtin", "config"):
            for (name, year), resolved in loader.layers.get((layer, NATIONAL), {}).items():
                if name == key and year is not None:
                    table[year] = resolved.value
        national_lines[key] = dict(sorted(table.items()))
    policy = Policy(**{**national, **national_lines}, origin=origin)
    policy._layers = loader.layers
    policy._label = label if from_file else ""
    return policy


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    key = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"未知的参数 {key}"
    return f"参数 {key}: {err['msg']}"


def read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: 文件不存在") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: 不是有效的 TOML：{exc}") from None
