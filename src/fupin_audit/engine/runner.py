"""Run the selected rules over a dataset and collect every finding into one frame."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from pydantic import BaseModel, ValidationError

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Rule, Severity, SkipRule
from fupin_audit.errors import ConfigError, FupinAuditError
from fupin_audit.findings import assemble, empty_findings, sort_findings


@dataclass
class RuleOutcome:
    code: str
    status: str  # "ran", "skipped", "failed"
    findings: int = 0
    seconds: float = 0.0
    reason: str = ""


@dataclass
class RunResult:
    findings: pd.DataFrame
    outcomes: list[RuleOutcome] = field(default_factory=list)

    def skipped(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    def failed(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def rule_parameters(rules: Iterable[Rule], settings: dict[str, dict[str, Any]]) -> dict[str, BaseModel]:
    """Validate each rule's parameters from the config's [rules.CODE] tables (unknown keys rejected)."""
    by_code = {r.code: r for r in rules}
    params: dict[str, BaseModel] = {}
    for code, rule in by_code.items():
        try:
            params[code] = rule.params(**settings.get(code, {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"[rules.{code}] {key}: {err['msg']}") from None
    return params


def run_rules(
    ctx: AuditContext,
    rules: Iterable[Rule],
    *,
    severity: dict[str, Severity] | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
) -> RunResult:
    rules = list(rules)
    params = rule_parameters(rules, settings or {})
    severity = severity or {}
    parts: list[pd.DataFrame] = []
    constants: list[dict[str, str]] = []
    outcomes: list[RuleOutcome] = []
    for rule in rules:
        if progress:
            progress(rule.code)
        started = time.perf_counter()
        try:
            _check_needs(ctx, rule)
            result = rule(ctx, params[rule.code])
        except SkipRule as skip:
            outcomes.append(RuleOutcome(rule.code, "skipped", reason=str(skip)))
            continue
        except FupinAuditError:
            raise
        except Exception as exc:  # a broken rule must not take the other rules down
            outcomes.append(RuleOutcome(rule.code, "failed", reason=f"{type(exc).__name__}: {exc}"))
            continue
        frames = [f for f in (result if isinstance(result, list) else [result]) if f is not None and len(f)]
        count = sum(len(f) for f in frames)
        fixed = {
            "rule": rule.code,
            "severity": severity.get(rule.code, rule.severity),
            "family": rule.family,
            "title": rule.title,
        }
        for frame in frames:
            parts.append(frame)  # as returned: no copy per rule; the columns are typed once, at the end
            constants.append(fixed)
        outcomes.append(RuleOutcome(rule.code, "ran", count, time.perf_counter() - started))
    findings = assemble(parts, constants) if parts else empty_findings()
    del parts
    return RunResult(sort_findings(findings), outcomes)


def _check_needs(ctx: AuditContext, rule: Rule) -> None:
    for kind in rule.needs:
        ctx.table(kind, *rule.columns.get(kind, ()))
