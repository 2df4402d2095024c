"""Members' birth dates and ages (from the ID analysis, facts.keys.id_analysis, else the 出生日期 column)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import SkipRule
from fupin_audit.facts.cells import map_values, sources
from fupin_audit.facts.keys import id_analysis

WORK_MONTHS, WORK_PLACE = "务工时间", "务工所在地"


# 务工所在地 values that say "nowhere" rather than name a place.
NO_PLACE = frozenset({"无", "没有", "否", "0", "本人无务工", "未务工", "不务工"})


def member_birth(ctx: AuditContext) -> pd.DataFrame:
    """Per member: ``birth`` (datetime64) and ``source`` — the ID's birth date, else 出生日期."""

    def compute() -> pd.DataFrame:
        members = ctx.table("members")
        index = members.data.index
        if not members.has("证件号码") and not members.has("出生日期"):
            raise SkipRule("members 表既没有证件号码列也没有出生日期列，无法计算年龄")
        from_id = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
        from_column = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
        if members.has("证件号码"):
            from_id = pd.to_datetime(id_analysis(ctx)["birth_date"]).astype("datetime64[ns]")
        if members.has("出生日期"):
            from_column = pd.to_datetime(members.data["出生日期"]).astype("datetime64[ns]")
        id_known = from_id.notna().to_numpy()
        birth = from_id.where(id_known, from_column)
        source = sources(id_known, from_column.notna().to_numpy(), ("证件号码", "出生日期列"))
        return pd.DataFrame({"birth": birth, "source": source}, index=index)

    return ctx.cached("members.birth", compute)


def member_ages(ctx: AuditContext) -> pd.Series:
    """Whole years at 31 December of the data year (Int64, NA when unknown; negative ages → NA)."""

    def compute() -> pd.Series:
        birth = member_birth(ctx)["birth"]
        if ctx.data_year("members").isna().all() and len(birth):
            raise SkipRule("成员表没有年度列，也没有指定 --year，无法确定计算年龄的基准日")
        ages = ctx.ages("members", birth)
        return ages.where(ages >= 0)  # a birth after the reference date is DQ012's finding

    return ctx.cached("members.ages", compute)


def place_empty(ctx: AuditContext) -> np.ndarray:
    """Per member: no 务工所在地 (empty, or a word meaning “none” such as 无)."""
    places = ctx.frame("members", WORK_PLACE)[WORK_PLACE]
    named = map_values(places, lambda v: isinstance(v, str) and v.strip() not in NO_PLACE, bool)
    return ~named
