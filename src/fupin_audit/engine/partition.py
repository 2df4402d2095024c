"""Partitioned runs: local rules once per county, global rules once over the whole dataset.

A rule's `scope` says whether a county's findings depend only on that county's rows ("local") or on
rows anywhere ("global": the same person in two counties, a phone shared across households, a
helper paired with too many households …). A province can therefore be checked county by county —
in one process here, or spread over processes or machines by a caller using `partition_rows` —
with the global rules run once over the whole dataset, and the findings are the same as a normal run.

How rows are assigned to a partition (the `by` column, 县 by default):

- households and villages: their own `by` value ("" when empty);
- members, measures and helpers: the partition of the first household row with their 户编号, else
  their own `by` value if the table has the column, else that of their (乡, 村) in the household or
  village table (a village-level project), else "" (orphans are then still orphans);
- rosters are reference lists: every partition gets them whole (local rules look people up in them;
  no local rule reports a roster row, and their cell problems, DQ002–DQ005, are reported once).

The equality holds as long as a 户编号 does not span partitions (a household table listing the same
户编号 in two counties is itself a finding: DQ021, a global rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from fupin_audit.dataset import Dataset, Table
from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Rule, Severity
from fupin_audit.engine.runner import RuleOutcome, run_rules
from fupin_audit.findings import assemble, empty_findings, sort_findings
from fupin_audit.policy import Policy

HID = "户编号"
SHARED_TABLES = ("rosters",)  # given whole to every partition
BY_HOUSEHOLD = ("members", "measures", "helpers")


@dataclass
class PartitionedResult:
    findings: pd.DataFrame
    outcomes: list[RuleOutcome] = field(default_factory=list)
    partitions: int = 0


def _text(series: pd.Series) -> np.ndarray:
    return series.astype(object).where(series.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def partition_rows(dataset: Dataset, by: str = "县") -> dict[str, np.ndarray]:
    """Per table (except the shared ones): the partition value of each row."""
    tables = dataset.tables
    out: dict[str, np.ndarray] = {}
    home: pd.Series | None = None  # 户编号 → partition
    places: dict[tuple[str, str], str] = {}  # (乡, 村) → partition
    for kind in ("households", "villages"):
        if kind not in tables:
            continue
        data = tables[kind].data
        own = _text(data[by]) if by in data else np.full(len(data), "", dtype=object)
        out[kind] = own
        if kind == "households" and HID in data:
            ids = pd.Series(own, index=_text(data[HID]))
            home = ids[~ids.index.duplicated()]
        if "乡" in data and "村" in data:
            for place, value in zip(zip(_text(data["乡"]), _text(data["村"]), strict=True), own, strict=True):
                places.setdefault(place, value)
    for kind, table in tables.items():
        if kind in out or kind in SHARED_TABLES:
            continue
        data = table.data
        own = _text(data[by]) if by in data else np.full(len(data), "", dtype=object)
        if kind in BY_HOUSEHOLD:
            if home is not None and HID in data:
                theirs = home.reindex(_text(data[HID])).to_numpy(dtype=object)
                own = np.where(pd.isna(theirs), own, theirs)
            if "乡" in data and "村" in data and places:
                # no household, no own value: the partition of the place (a village-level project)
                unplaced = np.flatnonzero(own == "")
                towns, villages = _text(data["乡"])[unplaced], _text(data["村"])[unplaced]
                own = own.copy()
                own[unplaced] = [places.get(p, "") for p in zip(towns, villages, strict=True)]
        out[kind] = own
    return out


def split(dataset: Dataset, by: str = "县") -> dict[str, Dataset]:
    """One Dataset per partition value (sources, diagnostics and metadata shared)."""
    rows = partition_rows(dataset, by)
    values = sorted(set().union(*(set(v) for v in rows.values()))) if rows else [""]
    parts: dict[str, Dataset] = {}
    for i, value in enumerate(values):
        tables: dict[str, Table] = {}
        for kind, table in dataset.tables.items():
            if kind in SHARED_TABLES:
                # whole, but its own cell problems only once
                tables[kind] = table if i == 0 else replace(table, problems=table.problems.iloc[:0])
                continue
            mask = rows[kind] == value
            labels = table.data.index[mask]
            tables[kind] = Table(
                kind,
                table.data.loc[labels],
                table.raw.loc[labels],
                table.fields,
                table.problems[table.problems.index.isin(labels)],
            )
        parts[value] = replace(dataset, tables=tables)
    return parts


def run_partitioned(
    dataset: Dataset,
    policy: Policy,
    rules: Iterable[Rule],
    *,
    year: int | None = None,
    by: str = "县",
    severity: dict[str, Severity] | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
) -> PartitionedResult:
    """The same findings as `run_rules` over the whole dataset, with local rules run per partition."""
    rules = list(rules)
    local = [r for r in rules if r.scope == "local"]
    whole = AuditContext(dataset, policy, year)
    run_year = whole.run_year()  # the run's year is the whole dataset's, in every partition
    results = [
        run_rules(whole, [r for r in rules if r.scope != "local"], severity=severity, settings=settings)
    ]
    parts = split(dataset, by) if local else {}
    for sub in parts.values():
        ctx = AuditContext(sub, policy, year)
        ctx.cached("run_year", lambda: run_year)
        results.append(run_rules(ctx, local, severity=severity, settings=settings))
    frames = [r.findings for r in results if len(r.findings)]
    findings = sort_findings(assemble(frames)) if frames else empty_findings()
    return PartitionedResult(findings, _merge_outcomes(rules, results), len(parts))


def _merge_outcomes(rules: list[Rule], results) -> list[RuleOutcome]:
    """One outcome per rule in rule order: ran if it ran anywhere, failed if it failed anywhere."""
    by_code: dict[str, list[RuleOutcome]] = {}
    for result in results:
        for outcome in result.outcomes:
            by_code.setdefault(outcome.code, []).append(outcome)
    merged = []
    for r in rules:
        seen = by_code.get(r.code, [])
        if not seen:
            continue
        failed = [o for o in seen if o.status == "failed"]
        ran = [o for o in seen if o.status == "ran"]
        if failed:
            merged.append(replace(failed[0], seconds=sum(o.seconds for o in seen)))
        elif ran:
            count = sum(o.findings for o in ran)
            merged.append(RuleOutcome(r.code, "ran", count, sum(o.seconds for o in seen)))
        else:
            merged.append(seen[0])
    return merged
