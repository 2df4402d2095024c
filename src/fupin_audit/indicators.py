"""Indicators of the run summary (RULES.md, Indicators): the numbers evaluators and the 2017 speech
look at, each with its numerator and denominator, plus per-village poverty incidence, the near-line
bunching test of IN002 and findings per 乡镇 / 村.

Every number is taken from the facts the rules use (the context's cached household sizes, exit
split, place keys, person keys and roster facts) or from the findings frame; nothing here decides
again what a rule decides."""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from fupin_audit.engine.rule import SkipRule
from fupin_audit.errors import ConfigError

if TYPE_CHECKING:
    from fupin_audit.audit import AuditResult
    from fupin_audit.engine.context import AuditContext

# The shared computations (context keys, by prefix) the indicators read after the rules: the context
# keeps these when it lets the rest go (AuditContext.release). One missing here is recomputed, not
# wrong (tests/test_indicators.py checks that the summary finds every one it reads).
FACTS = (
    "households.",
    "codes.households",
    "measures.of_year",
    "rosters.needy",
    "members.data_year",
    "members.reference_date",
    "villages.data_year",
    "villages.poor_counts",
    "years",
    "era",
    "indicators.",  # what `prepare` worked out early
)
WRONG_EXIT_RULES = ("LG401", "LG402")
WRONG_IN_RULES = ("LG301", "LG302", "LG202")
MISSED_RULES = ("LG101",)
INDUSTRY = "产业帮扶"
VISIT = "走访"  # a visit is follow-up, not a measure: left out of the measure shares


def household_values(ctx: AuditContext, key: str, years: pd.Series | None = None, rows=None) -> pd.Series:
    """Per household row: the policy value in force for its province, county and year, looked up as
    the rules look it up (NaN where there is none). With diagnostics of its own: the rules' run has
    already reported the gaps, the summary does not report them again."""
    from fupin_audit.facts.lines import policy_values

    own = ctx.sharing_facts()
    try:
        return policy_values(own, "households", key, years, rows=rows).values
    except SkipRule:
        return pd.Series(np.nan, index=ctx.frame("households").index)


def ratio(numerator: float, denominator: float) -> dict[str, Any]:
    share = round(numerator / denominator, 4) if denominator else None
    return {"numerator": int(numerator), "denominator": int(denominator), "share": share}


def _unless_not_run(result: AuditResult, item: dict[str, Any]) -> dict[str, Any]:
    """A rate whose rules did not run is unknown, not zero."""
    ran = {o.code for o in result.outcomes if o.status == "ran"}
    if not ran & set(item["rules"]):
        return {**item, "numerator": None, "share": None, "note": "相关规则未运行"}
    return item


def prepare(ctx: AuditContext) -> None:
    """Work out early, and keep in the context, the indicators that read only the data: run_rules
    calls this on a thread of its own while it assembles the findings (the second core is idle
    then), and the summary then finds them done. On a context that shares the facts but keeps its own
    diagnostics, as the summary's look-ups do: the rules' run has reported the gaps already."""
    from fupin_audit import monitoring_indicators

    own = ctx.sharing_facts()
    if own.has("households", "脱贫状态"):
        _household_data(own)
    if own.has("measures", "措施类型"):
        _measure_shares(own)
    if own.has("rosters", "证件号码", "类别"):
        # as strict as the summary's own look-up (on the rules' context): with --strict-policy a
        # missing line leaves the rate out
        own.strict_policy = ctx.strict_policy
        with suppress(SkipRule, ConfigError):  # the summary leaves the rate out then
            _roster_keys(own)
    if own.has("villages", "村", "总人口数"):
        village_incidence(own)
    monitoring_indicators.prepare(ctx)


def compute(result: AuditResult) -> dict[str, Any]:
    from fupin_audit import monitoring_indicators
    from fupin_audit.engine.context import AuditContext

    ctx = result.context or AuditContext(result.dataset, result.policy, result.year)
    out = _compute(ctx, result.findings)
    out.update(monitoring_indicators.compute(result))
    for key in ("wrong_exit_rate", "wrong_inclusion_rate", "missed_rate"):
        if key in out:
            out[key] = _unless_not_run(result, out[key])
    accuracy = out.get("identification_accuracy")
    if accuracy and any(out.get(k, {}).get("share") is None for k in ("wrong_inclusion_rate", "missed_rate")):
        out["identification_accuracy"] = {
            **accuracy,
            "numerator": None,
            "share": None,
            "note": "相关规则未运行",
        }
    return out


def _compute(ctx: AuditContext, findings: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if ctx.has("households", "脱贫状态"):
        out.update(_households(ctx, findings))
    if ctx.has("measures", "措施类型"):
        out.update(_measure_shares(ctx))
    if ctx.has("rosters", "证件号码", "类别") and (missed := missed_rate(ctx, findings)) is not None:
        out["missed_rate"] = missed
        if "wrong_inclusion_rate" in out:
            out["identification_accuracy"] = identification_accuracy(out)
    if ctx.has("villages", "村", "总人口数"):
        out["village_incidence"] = village_incidence(ctx)
    out["findings_by_township"] = breakdown(findings, "乡")
    out["findings_by_village"] = breakdown(findings, "村")
    return out


# ------------------------------------------------------------------------------------ households


def _households(ctx: AuditContext, findings: pd.DataFrame) -> dict[str, Any]:
    data = _household_data(ctx)
    out = dict(data["counts"])
    sizes, ids, this_year = data["sizes"], data["ids"], data["this_year"]
    if this_year is not None:
        out["exited_this_year"] = {"households": int(this_year.sum()), "people": int(sizes[this_year].sum())}
        flagged = _flagged_households(findings, WRONG_EXIT_RULES)
        wrong = this_year & _among(ids, flagged)
        out["wrong_exit_rate"] = {
            **ratio(sizes[wrong].sum(), sizes[this_year].sum()),
            "rules": list(WRONG_EXIT_RULES),
            "of": "当年脱贫户的人口",
        }
    out.update(data["relapse"])
    wrong_in = _among(ids, _flagged_households(findings, WRONG_IN_RULES)) & (ids != "")
    out["wrong_inclusion_rate"] = {
        **ratio(wrong_in.sum(), len(ids)),
        "rules": list(WRONG_IN_RULES),
        "of": "建档立卡户（按户计）",
    }
    return out


def _household_data(ctx: AuditContext) -> dict[str, Any]:
    """What the household indicators read from the data alone (`prepare` works it out early)."""

    def compute() -> dict[str, Any]:
        from fupin_audit.facts.households import household_sizes
        from fupin_audit.facts.values import HID, INCOME, exited, poor, text
        from fupin_audit.facts.years import exit_split

        households = ctx.frame("households")
        sizes = household_sizes(ctx).fillna(0)
        gone = exited(households)
        counts = {
            "registered_households": len(households),
            "registered_people": int(sizes.sum()),
            "exited_households": int(gone.sum()),
            "exited_people": int(sizes[gone].sum()),
            "poor_households": int(poor(households).sum()),
        }
        ids = text(households[HID]) if HID in households else pd.Series("", index=households.index)
        try:
            split = exit_split(ctx)
        except SkipRule:  # no data year: nothing can be said per exit year
            split = None
        relapse: dict[str, Any] = {}
        if INCOME in households:
            lines = household_values(ctx, "relapse_risk_line", rows=gone)
            below = gone & (households[INCOME] <= lines).fillna(False).astype(bool)
            shown = lines[gone].dropna().unique()  # one line, unless provinces or counties set their own
            line = float(shown[0]) if len(shown) == 1 else ctx.policy.relapse_risk_line
            relapse["exited_below_relapse_line"] = {
                **ratio(below.sum(), gone.sum()),
                "line": line,
                "of": "全部已脱贫户",
            }
            if split is not None:
                last_year = gone & (split["exit_year"] == split["year"] - 1).fillna(False).astype(bool)
                relapse["last_year_exits_below_relapse_line"] = {
                    **ratio((below & last_year).sum(), last_year.sum()),
                    "line": line,
                    "of": "数据年度上一年脱贫的户",
                }
            relapse["near_line_bunching"] = bunching(ctx)
        this_year = split["this_year"] if split is not None else None
        return {"counts": counts, "sizes": sizes, "ids": ids, "this_year": this_year, "relapse": relapse}

    return ctx.cached("indicators.households", compute)


def _among(ids: pd.Series, values: pd.Series) -> pd.Series:
    """`ids.isin(values)` for texts as one arrow kernel (pandas' isin on arrow strings makes a Python
    scalar of every value: 0.1 s for a storm's flagged households)."""
    from fupin_audit.facts.values import arrow_text

    found = pc.fill_null(pc.is_in(arrow_text(ids), value_set=arrow_text(values)), False)
    return pd.Series(found.to_numpy(zero_copy_only=False), index=ids.index, dtype=bool)


def _flagged_households(findings: pd.DataFrame, rules: tuple[str, ...]) -> pd.Series:
    """The 户编号 the given rules flagged, distinct (a Series: `isin` of a Series of texts is one arrow
    kernel, of a Python set a scalar per value)."""
    ids = findings.loc[findings["rule"].isin(rules), "household_id"].dropna().astype(str).str.strip()
    return pd.Series(ids.unique(), dtype="str").pipe(lambda s: s[s != ""])


def bunching(ctx: AuditContext) -> dict[str, Any]:
    """IN002's bunching test: per (乡镇, 村), exited households just above the data year's line (the line
    IN002 uses: line … line × band) against the mean of the two neighbouring bands of equal width."""
    return ctx.cached("indicators.bunching", lambda: _bunching(ctx))


def _bunching(ctx: AuditContext) -> dict[str, Any]:
    from fupin_audit.facts.values import INCOME, exited, text
    from fupin_audit.facts.years import data_years

    households = ctx.frame("households")
    if "村" not in households:
        return {}
    band = ctx.policy.near_line_band
    try:
        years = data_years(ctx, "households")
    except SkipRule as exc:
        return {**_untested(band), "note": f"无法检验：{exc}"}
    judged = exited(households) & households[INCOME].notna()
    lines = household_values(ctx, "poverty_line", years, rows=judged)
    unlined = judged & lines.isna()  # a year without a line is not tested (IN002 leaves it unjudged too)
    judged &= lines.notna()
    if not judged.any():
        missing = "、".join(str(y) for y in sorted(years[unlined].dropna().astype(int).unique()))
        return (
            {**_untested(band), "note": f"{missing} 年没有贫困线（poverty_line），未检验"}
            if missing
            else _untested(band)
        )
    income, line = households.loc[judged, INCOME], lines[judged]
    upper = (line * band).round(2)
    width = upper - line
    frame = pd.DataFrame(
        {
            "township": text(households.loc[judged, "乡"]) if "乡" in households else "",
            "village": text(households.loc[judged, "村"]),
            "in_band": (income > line) & (income <= upper),
            "below": (income > line - width) & (income <= line),
            "above": (income > upper) & (income <= upper + width),
        }
    )
    grouped = frame.groupby(["township", "village"])[["in_band", "below", "above"]].sum()
    grouped["exited"] = frame.groupby(["township", "village"]).size()
    grouped["expected"] = (grouped["below"] + grouped["above"]) / 2
    grouped["ratio"] = (grouped["in_band"] / grouped["expected"].where(grouped["expected"] > 0)).round(2)
    # Bunching: at least 3 households in the band and more than twice the neighbours' average.
    grouped["bunched"] = (grouped["in_band"] >= 3) & ((grouped["ratio"] > 2) | grouped["ratio"].isna())
    villages = grouped.reset_index().astype(object).replace({np.nan: None})
    flagged = villages[villages["bunched"]]
    return {
        "band": [1.0, band],
        "line": "数据年度的贫困线（与 IN002 相同）",
        "rule": "IN002",
        "villages_tested": len(villages),
        "villages_bunched": len(flagged),
        "bunched": flagged.drop(columns=["bunched"]).to_dict("records"),
    }


def _untested(band: float) -> dict[str, Any]:
    return {"band": [1.0, band], "rule": "IN002", "villages_tested": 0, "villages_bunched": 0, "bunched": []}


# ------------------------------------------------------------------------------------ measures


def _measure_shares(ctx: AuditContext) -> dict[str, Any]:
    """产业帮扶 and developmental measures among the data year's measures (undated ones count for every
    year, as in the rules); 走访 rows are visits, not measures, and are in neither count."""
    return ctx.cached("indicators.measures", lambda: _shares_of_measures(ctx))


def _shares_of_measures(ctx: AuditContext) -> dict[str, Any]:
    from fupin_audit.facts.measures import measures_of_year

    measures = measures_of_year(ctx)
    year = ctx.run_year()
    kind = measures["措施类型"]
    in_year = measures["year"].isna() | (measures["year"] == year if year is not None else True)
    counted = in_year.fillna(False).astype(bool) & (kind != "") & (kind != VISIT)
    developmental = list(ctx.policy.measures.developmental)
    return {
        "industry_measure_share": {
            **ratio((counted & (kind == INDUSTRY)).sum(), counted.sum()),
            "types": [INDUSTRY],
            "year": year,
        },
        "developmental_measure_share": {
            **ratio((counted & kind.isin(developmental)).sum(), counted.sum()),
            "types": developmental,
            "year": year,
        },
    }


# ------------------------------------------------------------------------------------ 漏评 and 识别精准度


def missed_rate(ctx: AuditContext, findings: pd.DataFrame) -> dict[str, Any] | None:
    """漏评 candidates (LG101's findings) ÷ the people on 低保 / 特困 rosters, or on roster rows below the
    line, who are not registered (LG101's own facts: the same person key, never car, house or
    official rosters). People are counted once however many roster rows name them."""

    try:
        people, key_at = _roster_keys(ctx)
    except (SkipRule, ConfigError):
        return None
    hits = findings[(findings["rule"].isin(MISSED_RULES)) & (findings["table"] == "rosters")]
    wanted = pd.MultiIndex.from_arrays([hits["file"], hits["sheet"], hits["row"].astype(int)])
    missed = key_at.reindex(wanted).dropna()
    return {
        **ratio(missed.nunique(), people.nunique()),
        "rules": list(MISSED_RULES),
        "of": "低保、特困名单及低收入名单上未建档的人（按规范化证件号码计）",
    }


def _roster_keys(ctx: AuditContext) -> tuple[pd.Series, pd.Series]:
    """The person keys of the unregistered needy (LG101's facts), and each roster row's key by its
    (file, sheet, row): a finding names its roster row that way."""
    from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN
    from fupin_audit.facts.households import needy_rosters

    def compute() -> tuple[pd.Series, pd.Series]:
        facts = needy_rosters(ctx)
        rosters = ctx.frame("rosters")
        sources = ctx.dataset.sources
        located = pd.MultiIndex.from_arrays(
            [
                [sources[s].file for s in rosters[SOURCE_COLUMN]],
                [sources[s].sheet for s in rosters[SOURCE_COLUMN]],
                rosters[ROW_COLUMN].astype(int),
            ]
        )
        return facts.loc[facts["unregistered"], "key"], pd.Series(facts["key"].to_numpy(), index=located)

    return ctx.cached("indicators.rosters", compute)


def identification_accuracy(values: dict[str, Any]) -> dict[str, Any]:
    """识别精准度 = 1 − (错评户 + 漏评户) ÷ (建档户 + 漏评户) = (建档户 − 错评户) ÷ (建档户 + 漏评户).
    An unregistered person has no 户编号: each 漏评 person counts as one household."""
    registered = values["registered_households"]
    wrong = values["wrong_inclusion_rate"]["numerator"] or 0
    missed = values["missed_rate"]["numerator"] or 0
    return {
        **ratio(registered - wrong, registered + missed),
        "wrong_inclusion_households": wrong,
        "missed_households": missed,
        "registered_households": registered,
        "rules": [*WRONG_IN_RULES, *MISSED_RULES],
    }


# ------------------------------------------------------------------------------------ villages


def village_incidence(ctx: AuditContext) -> list[dict[str, Any]]:
    """贫困发生率 per village row = 贫困人口 ÷ 总人口数: 贫困人口数 from the village table, else the
    village's 未脱贫 / 返贫 people summed from the household table — SY301's facts, matched on the
    place columns both tables fill (乡 and 村: two 城西村 in two 乡镇 are two villages)."""
    return ctx.cached("indicators.villages", lambda: _incidence(ctx))


def _incidence(ctx: AuditContext) -> list[dict[str, Any]]:
    from fupin_audit.facts.households import village_poor_counts
    from fupin_audit.facts.values import text

    villages = ctx.frame("villages")
    own = (
        villages["贫困人口数"].astype("float64")
        if "贫困人口数" in villages
        else pd.Series(np.nan, index=villages.index)
    )
    poor_people, source = own, pd.Series("村表", index=villages.index, dtype=object)
    if own.isna().any() and ctx.has("households", "村", "脱贫状态"):
        counted = village_poor_counts(ctx, villages)["poor_people"]
        poor_people = own.fillna(counted)
        source = source.mask(own.isna() & counted.notna(), "户表")
    source = source.mask(poor_people.isna(), "")
    total = villages["总人口数"].astype("float64")
    frame = pd.DataFrame(
        {
            "township": text(villages["乡"]) if "乡" in villages else "",
            "village": text(villages["村"]),
            "poor_people": poor_people.round().astype("Int64"),
            "population": total.round().astype("Int64"),
            "incidence": (poor_people / total.where(total > 0)).round(4),
            "exited": villages["是否出列"].fillna(False).astype(bool) if "是否出列" in villages else False,
            "source": source,
        }
    )
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


# ------------------------------------------------------------------------------------ findings


def breakdown(findings: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """Findings per 乡镇 (by="乡") or per (乡镇, 村) (by="村"), one column per family."""
    keys = ["township"] if by == "乡" else ["township", "village"]
    if findings.empty:
        return []
    table = findings.assign(**{k: findings[k].fillna("") for k in keys})
    table = table.groupby([*keys, "family"]).size().unstack("family", fill_value=0)
    table["合计"] = table.sum(axis=1)
    return table.reset_index().to_dict("records")
