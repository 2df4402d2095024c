"""Household facts shared by the SY/LG rules and the indicators: household sizes (SY305's
precedence), poor people per village (SY301) and the 低保/特困 roster facts of LG101."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import SkipRule
from fupin_audit.facts.deaths import (
    deaths_of,
    has_death_source,
)
from fupin_audit.facts.keys import (
    count_per_code,
    gather,
    household_codes,
    joint_codes,
    person_keys,
    place_columns,
    place_key,
    registered,
)
from fupin_audit.facts.lines import policy_values
from fupin_audit.facts.values import (
    HID,
    ID,
    poor,
    text,
)

NEEDY_ROSTERS = ("低保", "特困")


def roster_people(ctx: AuditContext) -> pd.DataFrame:
    rosters = ctx.frame("rosters", ID, "类别")
    return rosters.assign(_key=person_keys(ctx, "rosters"), _kind=text(rosters["类别"]))


def _dead_by(ctx: AuditContext, kind: str, when: pd.Timestamp | None) -> pd.Series:
    """Per row of `kind`: the person its 证件号码 names is known dead on or before `when` (undated
    deaths count as dead; no `when`: any death)."""
    if not has_death_source(ctx):
        return pd.Series(False, index=ctx.frame(kind).index)
    deaths = deaths_of(ctx, kind)
    if when is None:
        return deaths["dead"]
    return deaths["dead"] & (deaths["date"].isna() | (deaths["date"] <= when).fillna(False)).astype(bool)


def needy_rosters(ctx: AuditContext) -> pd.DataFrame:
    """Per roster row, the facts of 漏评 that LG101 and the 漏评 indicator share: the person `key`
    (normalised as everywhere, NA when the ID names nobody), its `kind`, `listed` (a 低保 or 特困
    roster), `low` (名单人均纯收入 below the data year's `line`), `income`, and `unregistered`: a needy
    person (listed or low) with a key, in no registered household, and not dead by the end of the
    data year — LG101's candidates, and the people the 漏评 rate is taken over."""

    def compute() -> pd.DataFrame:
        rosters = roster_people(ctx)
        listed = rosters["_kind"].isin(NEEDY_ROSTERS)
        low = pd.Series(False, index=rosters.index)
        year = ctx.audit_year()
        income = rosters["人均纯收入"] if "人均纯收入" in rosters else pd.Series(np.nan, index=rosters.index)
        line = pd.Series(np.nan, index=rosters.index)
        cited = pd.Series("", index=rosters.index, dtype=object)
        if income.notna().any():
            if year is None and not listed.any():
                raise SkipRule("名单有人均纯收入，但没有年度（--year 或户表、成员表的年度），无法确定贫困线")
            if year is not None:
                years = pd.Series(year, index=rosters.index, dtype="Int64")
                line, cited = policy_values(
                    ctx, "rosters", "poverty_line", years, rows=income.notna(), skip_if_none=not listed.any()
                )
                low = (income < line).fillna(False).astype(bool)
        dead = _dead_by(ctx, "rosters", pd.Timestamp(f"{year}-12-31") if year else None)
        outside = registered(ctx, "rosters") < 0
        unregistered = (listed | low) & rosters["_key"].notna() & outside & ~dead
        return pd.DataFrame(
            {"key": rosters["_key"], "kind": rosters["_kind"], "listed": listed, "low": low,
             "income": income, "line": line, "cited": cited, "unregistered": unregistered},
            index=rosters.index,
        )  # fmt: skip

    return ctx.cached("rosters.needy", compute)


def household_sizes(ctx: AuditContext) -> pd.Series:
    """Per household row: 家庭人口数, else the number of its member rows."""
    households = ctx.frame("households")
    if "家庭人口数" in households:
        size = households["家庭人口数"].astype("float64")
    else:
        size = pd.Series(np.nan, index=households.index)
    if ctx.has("members", HID) and HID in households:
        codes = household_codes(ctx)
        counted = gather(count_per_code(codes["members"], codes["n"]), codes["households"]).astype("float64")
        size = size.fillna(pd.Series(np.where(counted > 0, counted, np.nan), index=households.index))
    return size


def village_poor_counts(ctx: AuditContext, villages: pd.DataFrame) -> pd.DataFrame:
    """Per village row: poor households and poor people (家庭人口数 of 未脱贫/返贫 households, else their
    member rows) summed from the household table — over the households of the village's data year
    when the household table has that year, else over all its rows. NA where no household matches.
    Computed once for the village table itself (SY301, SY305 and the summary's 贫困发生率 ask)."""
    if villages is ctx.frame("villages"):
        return ctx.cached("villages.poor_counts", lambda: _village_poor_counts(ctx, villages))
    return _village_poor_counts(ctx, villages)


def _village_poor_counts(ctx: AuditContext, villages: pd.DataFrame) -> pd.DataFrame:
    households = ctx.frame("households", "村", "脱贫状态")
    columns = place_columns(villages, households)
    (own, place), _ = joint_codes(place_key(villages, columns), place_key(households, columns))
    is_poor = poor(households).to_numpy()
    people = household_sizes(ctx).fillna(0).to_numpy() * is_poor
    year = ctx.data_year("households").astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
    frame = pd.DataFrame({"pair": place * 10_000 + year, "place": place, "poor_households": is_poor.astype(int),
                          "poor_people": people})[place >= 0]  # fmt: skip
    by_year = frame.groupby("pair")[["poor_households", "poor_people"]].sum()
    village_year = ctx.data_year("villages").astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
    found = by_year.reindex(np.where(own >= 0, own * 10_000 + village_year, -1))
    found.index = villages.index
    if len(pd.unique(year)) <= 1:  # one year (or none) in the household table: match by place only
        by_place = frame.groupby("place")[["poor_households", "poor_people"]].sum()
        found = found.fillna(by_place.reindex(own).set_axis(villages.index))
    found["columns"] = "、".join(columns)
    return found
