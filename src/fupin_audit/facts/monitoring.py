"""防返贫监测 facts shared by the MN and DQ06x rules and the monitoring indicators: who is monitored,
whose risk is eliminated, months, labour members, work records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import RuleParams, SkipRule
from fupin_audit.facts.keys import (
    count_per_code,
    first_rows,
    gather,
    household_codes,
    joint_number_codes,
    person_numbers,
)
from fupin_audit.facts.people import NO_PLACE, member_ages
from fupin_audit.facts.values import HID, ID, as_bool, is_no, text, text_in

CATEGORY = "监测对象类别"


HOUSEHOLD_TYPE = "户类型"


RESOLVED = "风险是否已消除"


METHOD = "风险消除方式"


IDENTIFIED = "识别监测时间"


ELIMINATED = "消除监测时间"


RISK_SLOTS = tuple(f"致贫返贫风险{k}" for k in range(1, 6))


DEVELOPMENTAL_COLUMNS = ("产业帮扶", "就业帮扶", "金融帮扶", "公益岗位帮扶")


VALUE_SEPARATORS = r"[,，、;；]"


LABOUR_SKILLS = ("普通劳动力", "技能劳动力")


PRESCHOOL = ("学龄前儿童", "学前教育")


DIBAO = ("城市低保", "农村低保")


TEKUN = ("城市特困", "农村特困")


class DevelopmentalColumns(RuleParams):
    labour_skills: tuple[str, ...] = LABOUR_SKILLS
    developmental_columns: tuple[str, ...] = DEVELOPMENTAL_COLUMNS
    non_developmental_values: tuple[str, ...] = ("其他", "技能培训")


def households(ctx: AuditContext, *fields: str) -> pd.DataFrame:
    return ctx.frame("households", *fields)


def is_text(frame: pd.DataFrame, column: str, values: tuple[str, ...] | str) -> pd.Series:
    """Per row: the column's text is one of `values` (absent column: all False)."""
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return text_in(frame[column], (values,) if isinstance(values, str) else values)


def monitored(ctx: AuditContext) -> pd.Series:
    """Per household row: a 监测户 (监测对象类别 filled)."""
    return ctx.cached("mn.monitored", lambda: text(households(ctx, CATEGORY)[CATEGORY]) != "")


def exited_household(ctx: AuditContext) -> pd.Series:
    """Per household row: 户类型 = 脱贫户 (SkipRule without 户类型)."""
    return is_text(households(ctx, HOUSEHOLD_TYPE), HOUSEHOLD_TYPE, "脱贫户")


def resolved(ctx: AuditContext) -> pd.Series:
    return as_bool(households(ctx, RESOLVED), RESOLVED)


def unresolved(ctx: AuditContext) -> pd.Series:
    return is_no(households(ctx, RESOLVED), RESOLVED)


def months(yyyymm: pd.Series) -> pd.Series:
    """YYYYMM → a month count (year × 12 + month − 1), for month differences (NA stays NA)."""
    values = yyyymm.astype("Int64")
    return values // 100 * 12 + values % 100 - 1


def reference_months(ctx: AuditContext) -> pd.Series:
    return ctx.reference_month("households")


def member_codes(ctx: AuditContext) -> tuple[np.ndarray, np.ndarray, int]:
    """户编号 codes of the household rows and the member rows (shared), and their number."""
    ctx.table("members", HID)
    ctx.table("households", HID)
    codes = household_codes(ctx)
    return codes["households"], codes["members"], codes["n"]


def members_per_household(ctx: AuditContext, flag: pd.Series | np.ndarray | None = None) -> pd.Series:
    """Per household row: how many of its member rows have `flag` (all of them when None)."""
    own, key, n = member_codes(ctx)
    counts = count_per_code(key, n, None if flag is None else np.asarray(flag, dtype=bool))
    return pd.Series(gather(counts, own, 0), index=households(ctx).index)


def household_fact(ctx: AuditContext, flag: pd.Series) -> pd.Series:
    """Per member row: the fact of its household row (False when it has none)."""
    own, key, n = member_codes(ctx)
    hits = count_per_code(own, n, flag.to_numpy(dtype=bool)) > 0
    return pd.Series(gather(hits, key, False), index=ctx.frame("members").index)


def ages(ctx: AuditContext) -> pd.Series:
    return member_ages(ctx)


def labour_members(ctx: AuditContext, skills: tuple[str, ...]) -> pd.Series:
    """Per member row: 劳动技能 ∈ skills and age within the policy's working_age."""

    def compute() -> pd.Series:
        members = ctx.frame("members", "劳动技能")
        low, high = ctx.policy.working_age
        age = ages(ctx)
        working = ((age >= low) & (age <= high)).fillna(False).astype(bool)
        return text(members["劳动技能"]).isin(skills) & working

    return ctx.cached(f"mn.labour.{'/'.join(skills)}", compute)


def measure_values(ctx: AuditContext, column: str) -> pd.Series:
    """The single values of a measure column, one per row, index = household row label ("" dropped)."""

    return ctx.cached(f"mn.values.{column}", lambda: split_values(text(households(ctx)[column])))


def split_values(texts: pd.Series) -> pd.Series:
    """The single values of a text column holding several (“产业帮扶，就业帮扶”), one per row and value in
    the order written, stripped, empty ones dropped; index = the row's label. Each distinct text is
    split once (re.split is a Python call per text) and its values taken to the rows that hold it."""
    codes, uniques = pd.factorize(texts, use_na_sentinel=True)
    parts = pd.Series(uniques, dtype=object).str.split(VALUE_SEPARATORS, regex=True).explode().str.strip()
    parts = parts[parts.notna() & (parts != "")]
    owner = parts.index.to_numpy(dtype=np.int64)  # the distinct text each value came from, in order
    count = np.bincount(owner, minlength=len(uniques))
    start = np.concatenate(([0], np.cumsum(count)[:-1]))
    rows = np.flatnonzero(codes >= 0)
    per_row = count[codes[rows]]
    first = np.repeat(np.cumsum(per_row) - per_row, per_row)  # each output value's row start
    taken = np.repeat(start[codes[rows]], per_row) + np.arange(per_row.sum()) - first
    values = parts.to_numpy(dtype=object)[taken]
    return pd.Series(values, index=texts.index[np.repeat(rows, per_row)], name=texts.name, dtype="str")


def developmental(ctx: AuditContext, params: DevelopmentalColumns) -> pd.Series:
    """Per household row: a developmental measure — a value in a developmental column other than
    `non_developmental_values`."""
    frame = households(ctx)
    present = [c for c in params.developmental_columns if c in frame]
    if not present:
        raise SkipRule(f"households 表没有开发式帮扶措施列（{'、'.join(params.developmental_columns)}）")
    out = pd.Series(False, index=frame.index)
    for column in present:
        values = measure_values(ctx, column)
        good = values.index[~values.isin(params.non_developmental_values).to_numpy()]
        out |= frame.index.isin(good)
    return out


WORK, PLANS = "work", "work_plans"


PUBLIC_POST = "公益性岗位类型"  # header 公益性岗位 on the member rows


WORK_PLACE = "务工所在地"


def person_links(ctx: AuditContext, kind: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Person codes shared by the member rows and the rows of `kind` (work, work_plans), joined by the
    normalised 证件号码 of facts.keys.person_numbers, and their number."""

    def compute() -> tuple[np.ndarray, np.ndarray, int]:
        codes, n = joint_number_codes([person_numbers(ctx, "members"), person_numbers(ctx, kind)])
        return codes[0], codes[1], n

    ctx.table("members", ID)
    ctx.table(kind, ID)
    return ctx.cached(f"mn.links.{kind}", compute)


def record_member(ctx: AuditContext, kind: str) -> np.ndarray:
    """Per row of `kind`: the position of the first member row of the same person (-1: none)."""
    member, other, n = person_links(ctx, kind)
    return gather(first_rows(member, n), other, -1)


def member_has(ctx: AuditContext, kind: str, flag: pd.Series) -> pd.Series:
    """Per member row: the person has a row of `kind` where `flag`."""
    member, other, n = person_links(ctx, kind)
    counts = count_per_code(other, n, flag.to_numpy(dtype=bool))
    return pd.Series(gather(counts, member, 0) > 0, index=ctx.frame("members").index)


def work_records(ctx: AuditContext) -> pd.Series:
    """Per work row: a work record (是否已务工 = 是)."""
    return as_bool(ctx.frame(WORK, "是否已务工"), "是否已务工")


def has_work_record(ctx: AuditContext) -> pd.Series:
    """Per member row: the person has a work record (False when there is no work table)."""
    if not ctx.has(WORK, ID, "是否已务工") or not ctx.has("members", ID):
        return pd.Series(False, index=ctx.frame("members").index)
    return ctx.cached("mn.member_work", lambda: member_has(ctx, WORK, work_records(ctx)))


def has_public_post(ctx: AuditContext) -> pd.Series:
    members = ctx.frame("members")
    if PUBLIC_POST not in members:
        return pd.Series(False, index=members.index)
    return text(members[PUBLIC_POST]) != ""


def working(ctx: AuditContext) -> pd.Series:
    """Per member row: has a work record, a 务工所在地 naming a place, or a 公益性岗位. SkipRule when the
    data has none of the three (an absent source is not "nobody works")."""

    def compute() -> pd.Series:
        members = ctx.frame("members")
        if not ctx.has(WORK, ID, "是否已务工") and WORK_PLACE not in members and PUBLIC_POST not in members:
            raise SkipRule("没有务工信息表，成员表也没有务工所在地、公益性岗位列，无法判断是否有人务工")
        out = has_work_record(ctx) | has_public_post(ctx)
        if WORK_PLACE in members:
            place = text(members[WORK_PLACE])
            out |= (place != "") & ~place.isin(NO_PLACE)
        return out

    return ctx.cached("mn.working", compute)


def not_student(ctx: AuditContext) -> pd.Series:
    """Per member row: 在校生状况 empty or 非在校生."""
    return text_in(ctx.frame("members", "在校生状况")["在校生状况"], ("", "非在校生"))


def in_range(values: pd.Series, band: tuple[int, int] | tuple[float, float]) -> pd.Series:
    return ((values >= band[0]) & (values <= band[1])).fillna(False).astype(bool)


def member_welfare(ctx: AuditContext) -> tuple[pd.Series, pd.Series]:
    """Per member row: receives 低保, receives 特困供养 (policy-status or yes/no columns)."""
    members = ctx.frame("members")
    dibao = is_text(members, "享受低保政策情况", DIBAO) | as_bool(members, "是否享受低保")
    tekun = is_text(members, "享受特困供养政策情况", TEKUN) | as_bool(members, "是否特困供养人员")
    return dibao, tekun
