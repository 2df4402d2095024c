"""Who had died, and when: the 死亡 roster and the members' own 死亡日期 / 成员状态, by person key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN
from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import SkipRule
from fupin_audit.facts.cells import text_series
from fupin_audit.facts.keys import gather, person_codes
from fupin_audit.facts.values import ID, as_bool, text, text_in
from fupin_audit.facts.years import year_end


def has_death_source(ctx: AuditContext) -> bool:
    roster = ctx.has("rosters", ID, "类别") and (text(ctx.frame("rosters")["类别"]) == "死亡").any()
    return bool(roster or ctx.has("members", "死亡日期") or ctx.has("members", "是否死亡"))


def require_death_source(ctx: AuditContext) -> None:
    if not has_death_source(ctx):
        raise SkipRule(
            "没有死亡名单（比对名单类别“死亡”或“死亡人员”工作表），成员表也没有死亡日期/是否死亡列"
        )


def deaths_by_person(ctx: AuditContext) -> dict[str, Any]:
    """Per person code: `dead` (known dead), `date` (earliest known date; NaT: date unknown) and
    `source` (where it says so: a position in `sources`, -1 for none). Sources: 死亡 roster rows (with or without 日期), and the members'
    own 死亡日期 / 是否死亡."""

    def compute() -> dict[str, Any]:
        people = person_codes(ctx)
        n = people["n"]
        parts = []
        if ctx.has("rosters", ID, "类别"):
            rosters = ctx.frame("rosters")
            codes = people[f"rosters.{ID}"]
            rows = text_in(rosters["类别"], ("死亡",)).to_numpy() & (codes >= 0)
            if rows.any():
                labels = rosters.index[rows]
                date = rosters.loc[labels, "日期"] if "日期" in rosters else pd.Series(pd.NaT, index=labels)
                source = "死亡名单，" + _places(ctx, "rosters", labels)
                parts.append(
                    pd.DataFrame({"code": codes[rows], "date": pd.to_datetime(date), "source": source})
                )
        if ctx.has("members", ID):
            members = ctx.frame("members")
            codes = people[f"members.{ID}"]
            own = members["死亡日期"] if "死亡日期" in members else pd.Series(pd.NaT, index=members.index)
            rows = (own.notna() | as_bool(members, "是否死亡")).to_numpy() & (codes >= 0)
            if rows.any():
                labels = members.index[rows]
                how = own[labels].notna().map({True: "成员表死亡日期，", False: "成员表是否死亡 = 是，"})
                source = how.astype(object) + _places(ctx, "members", labels)
                parts.append(
                    pd.DataFrame({"code": codes[rows], "date": pd.to_datetime(own[labels]), "source": source})
                )
        dead = np.zeros(n, dtype=bool)
        date = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        source = np.full(n, -1, dtype=np.int64)  # position in `sources`
        sources: list[str] = []
        if parts:
            frame = pd.concat(parts, ignore_index=True)
            # Earliest dated record first; an undated one only when no dated record exists.
            frame = frame.sort_values(["code", "date"], na_position="last", kind="stable").drop_duplicates(
                "code"
            )
            at = frame["code"].to_numpy(dtype=np.int64)
            dead[at] = True
            date[at] = frame["date"].to_numpy(dtype="datetime64[ns]")
            source[at] = np.arange(len(frame))
            sources = frame["source"].tolist()
        return {"dead": dead, "date": date, "source": source, "sources": sources}

    return ctx.cached("deaths.by_person", compute)


def deaths_of(ctx: AuditContext, kind: str, field: str = ID) -> pd.DataFrame:
    """Per row of `kind`: `dead`, `date`, `source` of the person its `field` names."""
    frame = ctx.frame(kind)
    codes = person_codes(ctx)[f"{kind}.{field}"]
    deaths = deaths_by_person(ctx)
    return pd.DataFrame(
        {
            "dead": gather(deaths["dead"], codes, False),
            "date": gather(deaths["date"], codes, np.datetime64("NaT")),
            "source": text_series(gather(deaths["source"], codes, -1), deaths["sources"], "", frame.index),
        },
        index=frame.index,
    )


def member_deaths(ctx: AuditContext) -> pd.DataFrame:
    """Per member row: `dead` (bool), `date` (NaT when unknown) and `source` of the death; a row
    without a usable ID still carries its own 死亡日期 / 是否死亡."""

    def compute() -> pd.DataFrame:
        members = ctx.frame("members")
        index = members.index
        if ID in members:
            out = deaths_of(ctx, "members")
        else:
            out = pd.DataFrame({"dead": False, "date": pd.NaT, "source": ""}, index=index)
            out["date"] = out["date"].astype("datetime64[ns]")
            out["source"] = out["source"].astype(object)
        own = members["死亡日期"] if "死亡日期" in members else pd.Series(pd.NaT, index=index)
        own_rows = ~out["dead"] & (own.notna() | as_bool(members, "是否死亡"))
        if own_rows.any():
            labels = index[own_rows.to_numpy()]
            out.loc[labels, "date"] = pd.to_datetime(own[labels]).to_numpy()
            how = own[labels].notna().map({True: "成员表死亡日期，", False: "成员表是否死亡 = 是，"})
            out.loc[labels, "source"] = (how.astype(object) + _places(ctx, "members", labels)).to_numpy()
            out.loc[labels, "dead"] = True
        return out

    return ctx.cached("deaths.members", compute)


def dead_by_year_end(ctx: AuditContext) -> pd.Series:
    """Per member row: known dead by 31 December of its data year (a death of unknown date counts)."""

    def compute() -> pd.Series:
        deaths = member_deaths(ctx)
        end = year_end(ctx.data_year("members"))
        in_time = deaths["date"].isna() | (deaths["date"] <= end).fillna(False)
        return (deaths["dead"] & in_time).astype(bool)

    return ctx.cached("deaths.by_year_end", compute)


def _places(ctx: AuditContext, kind: str, labels: pd.Index) -> pd.Series:
    """“家庭成员 第 5 行” per row (sheet, or file name for CSV)."""
    data = ctx.frame(kind).loc[labels]
    sheets = np.array([s.sheet or Path(s.file).name for s in ctx.dataset.sources], dtype=object)
    where = pd.Series(sheets[data[SOURCE_COLUMN].to_numpy(dtype=np.int64)], index=labels, dtype=object)
    return where + " 第 " + data[ROW_COLUMN].astype(str).astype(object) + " 行"
