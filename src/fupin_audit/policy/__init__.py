"""Policy parameters (DOMAIN.md §6): packaged defaults, overridable per province or county.

`defaults.toml` next to this module is the only copy of the default values. An override file
is merged over it key by key and validated; an unknown key is an error naming the key.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fupin_audit.errors import ConfigError

Series = Literal["working", "statistical"]
SERIES_NAMES = {"working": "工作口径", "statistical": "统计口径"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PovertyLines(_Strict):
    working: dict[int, float]
    statistical: dict[int, float] = Field(default_factory=dict)


class Measures(_Strict):
    developmental: list[str]
    for_cause: dict[str, list[str]]


class Policy(_Strict):
    exit_line_series: Series
    relapse_risk_line: float
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
    poverty_line: PovertyLines
    monitoring_line: dict[int, float]
    measures: Measures
    # Where each value came from ("默认" or the override file), for messages; not a policy key.
    origin: dict[str, str] = Field(default_factory=dict, exclude=True)

    def line(self, year: int, series: Series | None = None) -> float:
        """The poverty line of a year; a year with no configured line is an error, never a guess."""
        series = series or self.exit_line_series
        lines = getattr(self.poverty_line, series)
        if year not in lines:
            raise ConfigError(
                f"{year} 年没有配置贫困线（{SERIES_NAMES[series]}）：请在配置文件 [poverty_line.{series}] 中加入 {year} = …"
            )
        return lines[year]

    def source_of(self, key: str) -> str:
        """Where a value came from; a table (poverty_line.working) counts as overridden if any entry is."""
        if key in self.origin:
            return self.origin[key]
        nested = [label for path, label in self.origin.items() if path.startswith(f"{key}.")]
        return nested[0] if nested else "默认"

    def to_toml(self) -> str:
        return tomli_w.dumps(_stringify_keys(self.model_dump(mode="json")))


def _stringify_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _stringify_keys(v) for k, v in value.items()}
    return value


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


def load_policy(overrides: dict[str, Any] | None = None, label: str = "配置文件") -> Policy:
    values = default_values()
    origin: dict[str, str] = {}
    _merge(values, overrides or {}, origin, label)
    try:
        return Policy(**values, origin=origin)
    except ValidationError as exc:
        raise ConfigError(f"{label}: {_first_error(exc)}") from None


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
