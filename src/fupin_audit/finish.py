"""After the rules: waivers, baseline, masking and the exit code — what unattended runs need.

Kept out of the CLI so a nightly job written in Python gets exactly what the command line does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_audit.audit import AuditResult
from fupin_audit.baseline import apply_baseline, apply_waivers, read_baseline, read_waivers, write_baseline
from fupin_audit.dataset import Diagnostic
from fupin_audit.engine.runner import RuleOutcome
from fupin_audit.findings import at_or_above

EXIT_CLEAN, EXIT_FINDINGS, EXIT_FAILURE = 0, 1, 2


@dataclass
class Finish:
    """Options of the finishing steps (all optional)."""

    fail_on: str = "error"
    keep_going: bool = False
    waivers: Path | None = None
    baseline: Path | None = None
    write_baseline: Path | None = None
    mask: bool = False
    by: str | None = None
    today: dt.date = field(default_factory=dt.date.today)


@dataclass
class Finished:
    findings: pd.DataFrame  # what is reported: after waivers and baseline, masked if asked
    summary: dict[str, Any]
    exit_code: int
    warnings: list[str]


def finish(result: AuditResult, options: Finish) -> Finished:
    summary = result.summary()
    findings = result.findings
    warnings: list[str] = []
    # Waivers and baselines written before a rule was renamed name it by a former code.
    aliases = {alias: rule.code for rule in result.rules for alias in rule.aliases}
    if options.waivers is not None:
        outcome = apply_waivers(findings, read_waivers(options.waivers), options.today, aliases)
        findings = outcome.kept
        summary["waivers"] = outcome.summary()
        for waiver in outcome.expired:
            warnings.append(
                f"{options.waivers} 第 {waiver.line} 条豁免已于 {waiver.expires} 过期（{waiver.rule} {waiver.key}），未生效"
            )
        for waiver in outcome.unmatched:
            warnings.append(
                f"{options.waivers} 第 {waiver.line} 条豁免没有匹配任何问题（{waiver.rule} {waiver.key}）"
            )
    if options.write_baseline is not None:
        write_baseline(findings, options.write_baseline)
        summary["baseline_written"] = str(options.write_baseline)
    if options.baseline is not None:
        findings, stats = apply_baseline(findings, read_baseline(options.baseline), aliases)
        summary["baseline"] = {"file": str(options.baseline), **stats}
    failing = at_or_above(findings["severity"], options.fail_on)
    code = exit_code(
        failing=bool(failing.any()),
        read_anything=bool(result.dataset.tables),
        broken=broken(result.dataset.diagnostics, result.outcomes),
        keep_going=options.keep_going,
    )
    summary["exit_code"] = code
    summary["reported"] = {
        "findings": len(findings),
        "by_severity": {k: int(v) for k, v in findings["severity"].value_counts().sort_index().items()},
    }
    if options.by:
        from fupin_audit.indicators import breakdown

        summary["breakdown_by"] = options.by
        summary["breakdown"] = breakdown(findings, options.by)
    if options.mask:
        from fupin_audit.report.protect import mask_findings, names_in

        names = names_in(result.dataset, findings)
        if result.previous is not None:  # DT findings name people of the previous snapshot too
            names |= names_in(result.previous, findings)
        findings = mask_findings(findings, names)
        summary = _mask_summary(summary)
    return Finished(findings, summary, code, warnings)


def broken(diagnostics: Iterable[Diagnostic], outcomes: Iterable[RuleOutcome]) -> bool:
    """An input that could not be read, or a rule that failed: the run did not do its whole job."""
    return any(d.level == "error" for d in diagnostics) or any(o.status == "failed" for o in outcomes)


def exit_code(*, failing: bool, read_anything: bool, broken: bool, keep_going: bool) -> int:
    """Every engine's exit code: 2 when nothing was read, or the run was broken (unless keep_going);
    else 1 for findings at or above --fail-on, 0 for none."""
    if not read_anything or (broken and not keep_going):
        return EXIT_FAILURE
    return EXIT_FINDINGS if failing else EXIT_CLEAN


def _mask_summary(summary: dict[str, Any]) -> dict[str, Any]:
    from fupin_audit.report.protect import mask_id

    waivers = summary.get("waivers")
    if waivers:
        for item in waivers["waived_findings"]:
            item["id_number"] = mask_id(item["id_number"])
    return summary
