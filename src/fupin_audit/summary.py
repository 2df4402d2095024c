"""The run summary: a plain dict with stable keys (documented in the README)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fupin_audit import __version__

if TYPE_CHECKING:
    from fupin_audit.audit import AuditResult


def build_summary(result: AuditResult) -> dict[str, Any]:
    findings = result.findings
    dataset = result.dataset
    by_rule = findings.groupby(["rule", "severity"]).size() if len(findings) else None
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
        "diagnostics": [
            {"level": d.level, "file": d.file, "sheet": d.sheet, "message": d.message}
            for d in dataset.diagnostics
        ],
        "policy": result.policy.model_dump(mode="json"),
        "rules": {
            "ran": [o.code for o in result.outcomes if o.status == "ran"],
            "skipped": {o.code: o.reason for o in result.outcomes if o.status == "skipped"},
            "failed": {o.code: o.reason for o in result.outcomes if o.status == "failed"},
        },
        "indicators": indicators.compute(result),
        "counts": {
            "findings": len(findings),
            "by_severity": {k: int(v) for k, v in findings["severity"].value_counts().sort_index().items()},
            "by_rule": (
                {
                    rule: {sev: int(n) for (r, sev), n in by_rule.items() if r == rule}
                    for rule in sorted(set(findings["rule"]))
                }
                if by_rule is not None
                else {}
            ),
        },
    }
    if result.previous is not None:  # --previous: the snapshot compared with, and how households moved
        document["previous_inputs"] = [
            {"file": f.path, "bytes": f.size, "sha256": f.sha256} for f in result.previous.files
        ]
        document["transitions"] = result.transitions
    return document
