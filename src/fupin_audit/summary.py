"""The run summary: a plain dict with stable keys (documented in the README)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pandas as pd

from fupin_audit import __version__

if TYPE_CHECKING:
    from fupin_audit.audit import AuditResult
    from fupin_audit.dataset import Diagnostic
    from fupin_audit.engine.runner import RuleOutcome


def build_summary(result: AuditResult) -> dict[str, Any]:
    findings = result.findings
    dataset = result.dataset
    rows_per_source: dict[str, dict[str, int]] = {}
    for source in dataset.sources:
        per_file = rows_per_source.setdefault(source.file, {})
        per_file[source.kind] = per_file.get(source.kind, 0) + source.rows
    from fupin_audit import indicators

    document = {
        "tool": "fupin-audit",
        "version": __version__,
        "started": result.started.isoformat(timespec="seconds"),
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        "data_year": result.year,
        "inputs": [
            {"file": f.path, "bytes": f.size, "sha256": f.sha256, "rows": rows_per_source.get(f.path, {})}
            for f in dataset.files
        ],
        "sheets": [
            {"file": s.file, "sheet": s.sheet, "table": s.kind, "rows": s.rows, "flat_export": s.flat}
            for s in dataset.sources
        ],
        "tables": dataset.rows_read(),
        "diagnostics": diagnostics_summary(dataset.diagnostics),
        "policy": result.policy.model_dump(mode="json"),
        "rules": outcomes_summary(result.outcomes),
        "indicators": indicators.compute(result),
        "counts": counts_summary(_counts(findings)),
    }
    if result.previous is not None:  # --previous: the snapshot compared with, and how households moved
        document["previous_inputs"] = [
            {"file": f.path, "bytes": f.size, "sha256": f.sha256} for f in result.previous.files
        ]
        document["transitions"] = result.transitions
    return document


# The parts every engine's summary shares (the Dask engine counts findings in its workers).


def _counts(findings: pd.DataFrame) -> Counter:
    if findings.empty:
        return Counter()
    pairs = findings.groupby(["rule", "severity"], observed=True).size()
    return Counter({(str(r), str(s)): int(n) for (r, s), n in pairs.items()})


def counts_summary(counts: Counter) -> dict[str, Any]:
    """`counts` of the summary from (rule, severity) → findings."""
    by_severity: Counter = Counter()
    by_rule: dict[str, dict[str, int]] = {}
    for (rule, level), n in sorted(counts.items()):
        by_severity[level] += n
        by_rule.setdefault(rule, {})[level] = n
    return {
        "findings": sum(counts.values()),
        "by_severity": dict(sorted(by_severity.items())),
        "by_rule": by_rule,
    }


def outcomes_summary(outcomes: Iterable[RuleOutcome]) -> dict[str, Any]:
    outcomes = list(outcomes)
    return {
        "ran": [o.code for o in outcomes if o.status == "ran"],
        "skipped": {o.code: o.reason for o in outcomes if o.status == "skipped"},
        "failed": {o.code: o.reason for o in outcomes if o.status == "failed"},
    }


def diagnostics_summary(diagnostics: Iterable[Diagnostic]) -> list[dict[str, str]]:
    return [{"level": d.level, "file": d.file, "sheet": d.sheet, "message": d.message} for d in diagnostics]
