"""The library entry point: `audit(paths)` loads, validates and checks, returning findings + summary."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_audit import indicators
from fupin_audit.dataset import Dataset, Diagnostic
from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.registry import Registry, default_registry
from fupin_audit.engine.rule import Rule, Severity
from fupin_audit.engine.runner import RuleOutcome, rule_parameters, run_rules
from fupin_audit.errors import ConfigError
from fupin_audit.findings import SEVERITIES, at_or_above
from fupin_audit.io.inputs import expand_inputs
from fupin_audit.load import TableRequest, load
from fupin_audit.policy import Policy, load_policy, read_toml


@dataclass
class Settings:
    """Everything a config file (--config) can set: policy values, rule parameters, severities."""

    policy: Policy
    rule_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    severity: dict[str, Severity] = field(default_factory=dict)
    origin: str = "默认"

    @classmethod
    def from_file(cls, path: Path | None) -> Settings:
        if path is None:
            return cls(load_policy())
        values = read_toml(path)
        rules = values.pop("rules", {})
        severity = values.pop("severity", {})
        if not isinstance(rules, dict) or not all(isinstance(v, dict) for v in rules.values()):
            raise ConfigError(f"{path}: [rules.CODE] 须为表")
        for code, level in severity.items():
            if level not in SEVERITIES:
                raise ConfigError(f"{path}: [severity] {code} = {level!r}：应为 error、warning 或 info")
        return cls(load_policy(values, label=path.name), rules, severity, path.name)


@dataclass
class AuditResult:
    dataset: Dataset
    findings: pd.DataFrame
    outcomes: list[RuleOutcome]
    policy: Policy
    rules: list[Rule]
    started: dt.datetime
    seconds: dict[str, float]
    year: int | None = None
    # The rules' context: the indicators read the facts the rules computed (sizes, exit years, keys).
    context: AuditContext | None = None
    previous: Dataset | None = None  # the previous snapshot (--previous), loaded and validated alike
    transitions: dict[str, Any] | None = None  # households by status before × now (DT family)

    def failing(self, fail_on: Severity = "error") -> pd.DataFrame:
        return self.findings[at_or_above(self.findings["severity"], fail_on)]

    def summary(self) -> dict[str, Any]:
        from fupin_audit.summary import build_summary

        return build_summary(self)


def parse_severity_overrides(items: Iterable[str], registry: Registry) -> dict[str, Severity]:
    """--severity CODE=warning (repeatable)."""
    out: dict[str, Severity] = {}
    for item in items:
        code, sep, level = item.partition("=")
        level = level.strip().lower()
        if not sep or level not in SEVERITIES:
            raise ConfigError(f"--severity {item}: 格式为 CODE=error|warning|info")
        out[registry.get(code.strip()).code] = level  # type: ignore[assignment]
    return out


def choose_rules(
    config: Path | None,
    select: Iterable[str],
    ignore: Iterable[str],
    severity: Iterable[str],
    registry: Registry,
) -> tuple[Settings, list[Rule], dict[str, Severity]]:
    """The settings, the selected rules and their severities, for any engine. A typo in a
    [rules.CODE] table or an unknown code is a ConfigError before anything is read. The config's
    codes are a rule's current ones afterwards (a former code, an alias, names the renamed rule)."""
    settings = Settings.from_file(config)
    settings.rule_params = _by_current_code(settings.rule_params, registry, settings.origin, "[rules.{}]")
    settings.severity = _by_current_code(settings.severity, registry, settings.origin, "[severity] {}")
    chosen = registry.select(select, ignore)
    overrides = {**settings.severity, **parse_severity_overrides(severity, registry)}
    rule_parameters(registry, settings.rule_params)
    return settings, chosen, overrides


def _by_current_code(values: dict[str, Any], registry: Registry, origin: str, entry: str) -> dict[str, Any]:
    """Config entries keyed by rule code, re-keyed by the rules' current codes; an unknown code, or a
    rule given under both its code and a former one, is a ConfigError naming the config file."""
    out: dict[str, Any] = {}
    written: dict[str, str] = {}
    for code, value in values.items():
        current = registry.current_code(code)
        if current not in registry:
            raise ConfigError(
                f"{origin}: {entry.format(code)}：没有这条规则（fupin-audit rules 列出全部规则）"
            )
        if current in out:
            raise ConfigError(
                f"{origin}: {entry.format(written[current])} 与 {entry.format(code)} 是同一条规则 {current}"
                "（其一是旧编号），只能写一处"
            )
        out[current], written[current] = value, code
    return out


def audit(
    paths: Sequence[str | Path],
    *,
    year: int | None = None,
    config: Path | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    severity: Iterable[str] = (),
    rule_paths: Iterable[Path] = (),
    encoding: str | None = None,
    tables: Iterable[str] = (),
    registry: Registry | None = None,
    on_stage: Callable[[str, str], None] | None = None,
    strict_policy: bool = False,
    previous: Sequence[str | Path] = (),
    previous_year: int | None = None,
) -> AuditResult:
    """Audit the given files. Bad options raise ConfigError; bad input becomes diagnostics/findings.

    A policy value missing for some records (a line for that province and year) leaves those
    records unjudged with a diagnostic; with `strict_policy` it is a ConfigError instead."""
    started = dt.datetime.now().astimezone()
    seconds: dict[str, float] = {}
    settings, chosen, overrides = choose_rules(
        config, select, ignore, severity, registry or default_registry(rule_paths)
    )
    forced = [TableRequest.parse(t) for t in tables]
    # --table names a file of one snapshot or the other: each load gets its own requests
    earlier = [Path(p).resolve() for p in previous]
    is_previous = [any(Path(f.path).resolve().is_relative_to(e) for e in earlier) for f in forced]
    forced_previous = [f for f, old in zip(forced, is_previous, strict=True) if old]
    forced = [f for f, old in zip(forced, is_previous, strict=True) if not old]

    def stage(name: str, detail: str = "") -> None:
        if on_stage:
            on_stage(name, detail)

    dataset = load(
        expand_inputs(paths), encoding=encoding, forced=forced, progress=lambda p: stage("read", p)
    )
    seconds.update(dataset.seconds)
    ctx = AuditContext(dataset, settings.policy, year, strict_policy=strict_policy)
    dataset.diagnostics.extend(ctx.year_conflicts())
    before = None
    if previous:
        clock = time.perf_counter()
        before = load(
            expand_inputs(previous),
            encoding=encoding,
            forced=forced_previous,
            progress=lambda p: stage("read", p),
        )
        seconds["read_previous"] = time.perf_counter() - clock
        dataset.diagnostics.extend(attach_previous(ctx, before, previous_year, strict_policy=strict_policy))
    clock = time.perf_counter()
    result = run_rules(
        ctx,
        chosen,
        severity=overrides,
        settings=settings.rule_params,
        progress=lambda code: stage("rule", code),
        # What only the rules read goes before the findings are assembled (the peak of a storm);
        # the DT transitions, made after, read much of the rest.
        keep_facts=None if before is not None else indicators.FACTS,
        # the summary's indicators that read only the data, while the findings are assembled
        meanwhile=lambda: indicators.prepare(ctx),
    )
    seconds["rules"] = time.perf_counter() - clock
    moves = snapshot_transitions(ctx) if before is not None else None
    dataset.diagnostics.extend(result.diagnostics)
    return AuditResult(
        dataset,
        result.findings,
        result.outcomes,
        settings.policy,
        chosen,
        started,
        seconds,
        ctx.run_year(),
        ctx,
        before,
        moves,
    )


def attach_previous(
    ctx: AuditContext, before: Dataset, previous_year: int | None, *, strict_policy: bool = False
) -> list[Diagnostic]:
    """Make `before` the previous snapshot of the run (--previous, the DT family), judged with the
    same policy; what is wrong with the pair as a whole (different counties, the previous one later …)."""
    from fupin_audit.rules.dongtai import snapshot_diagnostics

    ctx.previous = AuditContext(before, ctx.policy, previous_year, strict_policy=strict_policy)
    before.diagnostics.extend(ctx.previous.year_conflicts())
    return snapshot_diagnostics(ctx)


def snapshot_transitions(ctx: AuditContext) -> dict[str, Any] | None:
    """Households by status before × now (新增, 移出), for the summary and the reports."""
    from fupin_audit.rules.dongtai import transitions

    return transitions(ctx)
