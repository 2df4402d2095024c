"""Indicators of monitoring-era data (防返贫监测, 2021+) for the run summary: monitored households by
type, elimination shares and speed, 应纳未纳 candidates and developmental help of households with
labour. Each share carries its numerator and denominator.

Computed from the facts the MN rules use (facts/monitoring.py) and from the run's findings — never
by re-implementing a rule — and only when the data is monitoring-era."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import SkipRule
from fupin_audit.facts import monitoring as mn
from fupin_audit.facts.values import HID, text

if TYPE_CHECKING:
    from fupin_audit.audit import AuditResult
    from fupin_audit.dataset import Dataset
    from fupin_audit.policy import Policy

MISSED_MONITORING_RULES = ("MN101", "MN102")
CATEGORIES = ("脱贫不稳定户", "边缘易致贫户", "突发严重困难户")
METHODS = ("帮扶消除", "自然消除")


def ratio(numerator: float, denominator: float) -> dict[str, Any]:
    share = round(numerator / denominator, 4) if denominator else None
    return {"numerator": int(numerator), "denominator": int(denominator), "share": share}


# What the monitoring indicators' context keeps once `prepare` or `compute` is done with it: the
# small per-household facts `compute` reads, not the ID analysis and ages behind them (about 130
# bytes per member: half a GiB at a million households, which the rules' context let go already).
KEPT = ("mn.", "indicators.", "era")


def _own_context(
    rules: AuditContext | None, dataset: Dataset, policy: Policy, year: int | None
) -> AuditContext:
    """The context the monitoring indicators read: over the run's data and policy, with the data
    year as its year. Made once per run and kept in the rules' context, so that `prepare` and the
    summary share its facts (only those in KEPT once either is done)."""
    if rules is None:
        return AuditContext(dataset, policy, year)
    return rules.cached("indicators.monitoring", lambda: AuditContext(dataset, policy, year))


def prepare(rules: AuditContext) -> None:
    """The facts the monitoring indicators read from the data alone, worked out early (see
    indicators.prepare): the monitored households and the labour members with developmental help
    (members' ages: the ID analysis, let go once the share is known)."""
    ctx = _own_context(rules, rules.dataset, rules.policy, rules.run_year())
    if ctx.era() != "monitoring" or not ctx.has("households", mn.CATEGORY):
        return
    mn.monitored(ctx)
    _developmental(ctx)
    ctx.release(KEPT)


def compute(result: AuditResult) -> dict[str, Any]:
    """The monitoring indicators (keys start with "monitoring_"); {} for 2014–2020 data or without
    a households table with 监测对象类别."""
    ctx = _own_context(result.context, result.dataset, result.policy, result.year)
    if ctx.era() != "monitoring" or not ctx.has("households", mn.CATEGORY):
        return {}
    try:
        return _compute(ctx, result)
    finally:
        ctx.release(KEPT)


def _compute(ctx: AuditContext, result: AuditResult) -> dict[str, Any]:
    frame = ctx.frame("households")
    watched = mn.monitored(ctx).to_numpy(dtype=bool)
    total = int(watched.sum())
    out: dict[str, Any] = {"monitoring_households": total}
    category = text(frame[mn.CATEGORY])
    for name in CATEGORIES:
        out[f"monitoring_type_{name}"] = ratio(((category == name).to_numpy() & watched).sum(), total)
    if mn.RESOLVED in frame:
        eliminated = watched & mn.resolved(ctx).to_numpy(dtype=bool)
        out["monitoring_eliminated"] = ratio(eliminated.sum(), total)
        if mn.METHOD in frame:
            method = text(frame[mn.METHOD]).to_numpy()
            for name in METHODS:
                out[f"monitoring_eliminated_{name}"] = ratio(
                    (eliminated & (method == name)).sum(), eliminated.sum()
                )
        if mn.IDENTIFIED in frame and mn.ELIMINATED in frame:
            out.update(_elimination_months(frame, eliminated))
    out.update(_missed(ctx, result, watched))
    out.update(_developmental(ctx))
    return out


def _elimination_months(frame: pd.DataFrame, eliminated: np.ndarray) -> dict[str, Any]:
    """Median months from 识别监测时间 to 消除监测时间 of eliminated households with both months."""
    gap = (mn.months(frame[mn.ELIMINATED]) - mn.months(frame[mn.IDENTIFIED]))[eliminated].dropna()
    median = float(np.median(gap.to_numpy(dtype="float64"))) if len(gap) else None
    return {"monitoring_months_to_elimination": {"median": median, "households": len(gap)}}


def _missed(ctx: AuditContext, result: AuditResult, watched: np.ndarray) -> dict[str, Any]:
    """应纳未纳: 脱贫户 not monitored that MN101 or MN102 flagged ÷ 脱贫户 not monitored."""
    frame = ctx.frame("households")
    if mn.HOUSEHOLD_TYPE not in frame or HID not in frame:
        return {}
    candidates = mn.exited_household(ctx).to_numpy(dtype=bool) & ~watched
    item: dict[str, Any] = {"rules": list(MISSED_MONITORING_RULES)}
    ran = {o.code for o in result.outcomes if o.status == "ran"}
    if not ran & set(MISSED_MONITORING_RULES):
        return {"monitoring_missed": {**item, **ratio(0, candidates.sum()), "numerator": None, "share": None,
                                      "note": "相关规则未运行"}}  # fmt: skip
    findings = result.findings
    flagged = findings.loc[
        findings["rule"].isin(MISSED_MONITORING_RULES) & (findings["table"] == "households"), "household_id"
    ]
    hit = text(frame[HID]).isin(set(flagged) - {""}).to_numpy()
    return {"monitoring_missed": {**item, **ratio((candidates & hit).sum(), candidates.sum())}}


def _developmental(ctx: AuditContext) -> dict[str, Any]:
    """Monitored households with a labour member that have a developmental measure (MN133's
    definitions, default parameters) ÷ monitored households with a labour member."""
    return ctx.cached("indicators.developmental", lambda: _of_labour(ctx))


def _of_labour(ctx: AuditContext) -> dict[str, Any]:
    if not ctx.has("members", HID) or not ctx.has("members", "劳动技能"):
        return {}
    watched = mn.monitored(ctx).to_numpy(dtype=bool)
    params = mn.DevelopmentalColumns()
    try:
        labour = mn.members_per_household(ctx, mn.labour_members(ctx, params.labour_skills)).to_numpy() > 0
        helped = mn.developmental(ctx, params).to_numpy(dtype=bool)
    except SkipRule:
        return {}
    with_labour = watched & labour
    return {
        "monitoring_developmental_of_labour": {
            **ratio((with_labour & helped).sum(), with_labour.sum()),
            "columns": list(params.developmental_columns),
        }
    }
