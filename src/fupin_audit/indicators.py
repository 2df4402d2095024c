"""Indicators of the run summary (RULES.md, last section): the numbers evaluators and the 2017
speech look at, each with its numerator and denominator, plus per-village poverty incidence and the
near-line bunching test of IN002."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.schema.codes import EXITED, POOR

if TYPE_CHECKING:
    from fupin_audit.audit import AuditResult

WRONG_EXIT_RULES = ("LG401", "LG402")
WRONG_IN_RULES = ("LG301", "LG202", "LG302")
MISSED_RULES = ("LG101",)


def household_values(result: AuditResult, key: str, years: pd.Series | None = None) -> pd.Series:
    """Per household row: the policy value in force for its province, county and year, as the rules
    look it up (NaN where there is none; the rules' own run reports the gaps)."""
    from fupin_audit.engine.context import AuditContext
    from fupin_audit.engine.rule import SkipRule
    from fupin_audit.rules.common import policy_values

    ctx = AuditContext(result.dataset, result.policy, result.year)
    try:
        return policy_values(ctx, "households", key, years).values
    except SkipRule:
        return pd.Series(np.nan, index=result.dataset.tables["households"].data.index)


def ratio(numerator: float, denominator: float) -> dict[str, Any]:
    share = round(numerator / denominator, 4) if denominator else None
    return {"numerator": int(numerator), "denominator": int(denominator), "share": share}


def _text(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.StringDtype):  # already text: no Python objects
        return series.fillna("").astype("str").str.strip()
    return series.astype(object).where(series.notna(), "").astype(str).str.strip()


def _distinct(series: pd.Series) -> pa.Array:
    """The distinct texts of a text column (arrow: no Python set of millions of strings)."""
    return pc.unique(_arrow(series))


def _arrow(series: pd.Series) -> pa.Array:
    values = series.array if isinstance(series.dtype, pd.StringDtype) else series.astype(object).to_numpy()
    array = pa.array(values, type=pa.large_string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


class _People:
    """People behind household rows, by 户编号 (hash-encoded once: sums are bincounts, not lookups).

    `sizes` are per household row; an id found on two rows counts both rows' people."""

    def __init__(self, ids: pd.Series, sizes: np.ndarray) -> None:
        encoded = pc.dictionary_encode(_arrow(ids))
        self.codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        self.ids = encoded.dictionary
        self.total = np.bincount(self.codes, weights=sizes, minlength=len(self.ids))

    def of_rows(self, rows: np.ndarray) -> float:
        """Σ over the given rows of all the people of the row's id (`sizes[ids[rows]].sum()`)."""
        return float(self.total[self.codes[rows]].sum())

    def of_ids(self, ids: set[str]) -> float:
        """Σ of the people of each id in `ids` that has a household row."""
        if not ids:
            return 0.0
        found = pc.index_in(pa.array(list(ids), type=pa.large_string()), value_set=self.ids)
        positions = np.asarray(pc.drop_null(found).to_numpy(zero_copy_only=False), dtype=np.int64)
        return float(self.total[positions].sum())


def _member_counts(ids: pd.Series, member_ids: pd.Series) -> np.ndarray:
    """Per household row: member rows with its 户编号 (NaN when none), as `ids.map(value_counts)`."""
    both = pa.concat_arrays([_arrow(ids), _arrow(member_ids)])
    codes = np.asarray(pc.dictionary_encode(both).indices.to_numpy(zero_copy_only=False), dtype=np.int64)
    own, theirs = codes[: len(ids)], codes[len(ids) :]
    counts = np.bincount(theirs, minlength=int(codes.max()) + 1 if len(codes) else 0)[own].astype("float64")
    counts[counts == 0] = np.nan
    return counts


def _household_sizes(result: AuditResult) -> pd.Series:
    """People per 户编号: member rows when there is a member table, else 家庭人口数."""
    tables = result.dataset.tables
    households = tables["households"].data
    ids = _text(households["户编号"]) if "户编号" in households else pd.Series(dtype=object)
    size = pd.Series(np.nan, index=households.index)
    if "members" in tables and "户编号" in tables["members"].data:
        member_ids = _text(tables["members"].data["户编号"])
        if "户编号" in households:
            size = pd.Series(_member_counts(ids, member_ids), index=households.index)
        else:
            size = ids.map(member_ids.value_counts())
    if "家庭人口数" in households:
        size = size.fillna(households["家庭人口数"].astype("float64"))
    return pd.Series(size.fillna(0).to_numpy(), index=ids.to_numpy())


def _unless_not_run(result: AuditResult, item: dict[str, Any]) -> dict[str, Any]:
    """A rate whose rules did not run is unknown, not zero."""
    ran = {o.code for o in result.outcomes if o.status == "ran"}
    if not ran & set(item["rules"]):
        return {**item, "numerator": None, "share": None, "note": "相关规则未运行"}
    return item


def compute(result: AuditResult) -> dict[str, Any]:
    from fupin_audit import monitoring_indicators

    out = _compute(result)
    out.update(monitoring_indicators.compute(result))
    for key in ("wrong_exit_rate", "wrong_inclusion_rate", "missed_rate"):
        if key in out:
            out[key] = _unless_not_run(result, out[key])
    return out


def _compute(result: AuditResult) -> dict[str, Any]:
    tables = result.dataset.tables
    findings = result.findings
    out: dict[str, Any] = {}
    households = tables["households"].data if "households" in tables else None
    if households is not None and "脱贫状态" in households:
        sizes = _household_sizes(result)
        status = households["脱贫状态"].astype(object)
        exited = status.isin(EXITED).to_numpy()
        is_poor = status.isin(POOR).to_numpy()
        ids = _text(households["户编号"]) if "户编号" in households else pd.Series("", index=households.index)
        people = _People(ids, sizes.to_numpy())
        exited_ids = set(_distinct(ids[exited]).to_pylist())
        out["registered_households"] = len(households)
        out["registered_people"] = int(sizes.sum())
        out["exited_households"] = int(exited.sum())
        out["exited_people"] = int(people.of_rows(np.flatnonzero(exited)))
        out["poor_households"] = int(is_poor.sum())
        if "人均纯收入" in households:
            lines = household_values(result, "relapse_risk_line")
            below = exited & (households["人均纯收入"] < lines).fillna(False).to_numpy()
            shown = lines[exited].dropna().unique()
            line = float(shown[0]) if len(shown) == 1 else result.policy.relapse_risk_line
            out["exited_below_relapse_line"] = {**ratio(below.sum(), exited.sum()), "line": line}
        wrong_exit = set(findings.loc[findings["rule"].isin(WRONG_EXIT_RULES), "household_id"]) & exited_ids
        out["wrong_exit_rate"] = {
            **ratio(people.of_ids(wrong_exit), out["exited_people"]),
            "rules": list(WRONG_EXIT_RULES),
        }
        flagged = findings[findings["rule"].isin(WRONG_IN_RULES)]
        wrong_in_people = set(flagged.loc[flagged["table"] == "members", "id_number"])
        wrong_in_households = set(flagged.loc[flagged["table"] == "households", "household_id"]) - {""}
        people = len(wrong_in_people - {""}) + people.of_ids(wrong_in_households)
        out["wrong_inclusion_rate"] = {
            **ratio(people, out["registered_people"]),
            "rules": list(WRONG_IN_RULES),
        }
        out["near_line_bunching"] = bunching(result)
    if "measures" in tables and "措施类型" in tables["measures"].data:
        types = tables["measures"].data["措施类型"].astype(object)
        developmental = types.isin(result.policy.measures.developmental).sum()
        out["developmental_measure_share"] = {
            **ratio(developmental, types.notna().sum()),
            "types": list(result.policy.measures.developmental),
        }
    if "rosters" in tables and "证件号码" in tables["rosters"].data:
        out["missed_rate"] = missed_rate(result)
    if "villages" in tables:
        out["village_incidence"] = village_incidence(result)
    return out


def missed_rate(result: AuditResult) -> dict[str, Any]:
    """漏评 candidates ÷ people on the rosters who are not registered."""
    rosters = result.dataset.tables["rosters"].data
    roster_ids = _distinct(_text(rosters["证件号码"]).str.upper())
    roster_ids = pc.filter(roster_ids, pc.not_equal(roster_ids, ""))
    unregistered = len(roster_ids)
    if "members" in result.dataset.tables and "证件号码" in result.dataset.tables["members"].data:
        # the roster IDs found among the members (a lookup in the small roster set, not a hash of
        # every member's ID)
        members = _arrow(_text(result.dataset.tables["members"].data["证件号码"]).str.upper())
        found = pc.unique(pc.filter(members, pc.is_in(members, value_set=roster_ids)))
        unregistered = len(roster_ids) - len(found)
    missed = set(result.findings.loc[result.findings["rule"].isin(MISSED_RULES), "id_number"]) - {""}
    return {**ratio(len(missed), unregistered), "rules": list(MISSED_RULES)}


def village_incidence(result: AuditResult) -> list[dict[str, Any]]:
    """贫困发生率 per village: 贫困人口数 (or the household table's poor people) ÷ 总人口数."""
    villages = result.dataset.tables["villages"].data
    if "总人口数" not in villages or "村" not in villages:
        return []
    poor_people = villages["贫困人口数"].astype("float64") if "贫困人口数" in villages else None
    source = "村表"
    if (poor_people is None or poor_people.isna().all()) and "households" in result.dataset.tables:
        households = result.dataset.tables["households"].data
        if {"村", "脱贫状态"} <= set(households.columns):
            sizes = _household_sizes(result).to_numpy()
            is_poor = households["脱贫状态"].isin(POOR).to_numpy()
            per_village = (
                pd.Series(np.where(is_poor, sizes, 0), index=_text(households["村"])).groupby(level=0).sum()
            )
            poor_people = _text(villages["村"]).map(per_village).fillna(0)
            source = "户表"
    if poor_people is None:
        return []
    total = villages["总人口数"].astype("float64")
    share = (poor_people / total.where(total > 0)).round(4)
    frame = pd.DataFrame(
        {
            "township": _text(villages["乡"]) if "乡" in villages else "",
            "village": _text(villages["村"]),
            "poor_people": poor_people.fillna(0).astype(int),
            "population": total.fillna(0).astype(int),
            "incidence": share,
            "exited": villages["是否出列"].fillna(False).astype(bool) if "是否出列" in villages else False,
            "source": source,
        }
    )
    return frame.replace({np.nan: None}).to_dict("records")


def bunching(result: AuditResult) -> dict[str, Any]:
    """IN002's bunching test: per village, the share of exited households just above the line
    (line … line × band) against the share expected from the two neighbouring bands of equal width."""
    households = result.dataset.tables["households"].data
    if not {"人均纯收入", "脱贫状态", "村"} <= set(households.columns):
        return {}
    policy = result.policy
    band = policy.near_line_band
    years = households["年度"] if "年度" in households else pd.Series(result.year, index=households.index)
    if "脱贫年度" in households:
        years = households["脱贫年度"].fillna(years)
    lines = household_values(result, "poverty_line", years.astype("Int64"))
    exited = households["脱贫状态"].isin(EXITED) & lines.notna()
    income = households["人均纯收入"][exited]
    line = lines[exited]
    width = line * (band - 1)
    frame = pd.DataFrame(
        {
            "township": _text(households.loc[exited, "乡"]) if "乡" in households else "",
            "village": _text(households.loc[exited, "村"]),
            "in_band": (income > line) & (income <= line + width),
            "below": (income > line - width) & (income <= line),
            "above": (income > line + width) & (income <= line + 2 * width),
        }
    )
    grouped = frame.groupby(["township", "village"])[["in_band", "below", "above"]].sum()
    grouped["exited"] = frame.groupby(["township", "village"]).size()
    grouped["expected"] = (grouped["below"] + grouped["above"]) / 2
    grouped["ratio"] = (grouped["in_band"] / grouped["expected"].where(grouped["expected"] > 0)).round(2)
    # Bunching: at least 3 households in the band and more than twice the neighbours' average.
    grouped["bunched"] = (grouped["in_band"] >= 3) & ((grouped["ratio"] > 2) | grouped["ratio"].isna())
    villages = grouped.reset_index().replace({np.nan: None})
    flagged = villages[villages["bunched"]]
    return {
        "band": [1.0, band],
        "rule": "IN002",
        "villages_tested": len(villages),
        "villages_bunched": len(flagged),
        "bunched": flagged.drop(columns=["bunched"]).astype(object).to_dict("records"),
    }


def breakdown(findings: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """Findings per 乡镇 (by="乡") or per 乡镇/村 (by="村"), one column per family."""
    keys = ["township"] if by == "乡" else ["township", "village"]
    if findings.empty:
        return []
    table = findings.groupby([*keys, "family"]).size().unstack("family", fill_value=0)
    table["合计"] = table.sum(axis=1)
    return table.reset_index().to_dict("records")
