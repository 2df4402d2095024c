"""防返贫监测 (MN): the 2021–2026 monitoring rules of MONITORING.md §5 — identification, risks,
elimination, measures and 兜底 of 监测户 and 脱贫户.

Facts several rules use (risks, labour members, school children, filled measure columns, member
gaps) are computed once per run through ctx.cached, on whole columns. Member facts reach their
household through the shared 户编号 codes (count per code, gather back), never a loop per record.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
from pydantic import Field

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import NoParams, RuleParams, SkipRule, rule
from fupin_audit.rules.common import (
    HID,
    INCOME,
    as_bool,
    count_per_code,
    data_years,
    fmt,
    gather,
    household_codes,
    is_no,
    money_texts,
    percent,
    text,
    yuan,
)
from fupin_audit.rules.dq_members import member_ages

CATEGORY = "监测对象类别"
HOUSEHOLD_TYPE = "户类型"
RESOLVED = "风险是否已消除"
METHOD = "风险消除方式"
IDENTIFIED = "识别监测时间"
ELIMINATED = "消除监测时间"
RISK_SLOTS = tuple(f"致贫返贫风险{k}" for k in range(1, 6))
MEASURE_COLUMNS = (
    "产业帮扶", "就业帮扶", "公益岗位帮扶", "公益性岗位帮扶其他备注", "健康帮扶", "教育帮扶", "义务教育保障",
    "金融帮扶", "社会帮扶", "综合保障", "住房安全保障", "饮水安全保障", "搬迁", "基础设施建设", "生产生活条件改善",
)  # fmt: skip
DEVELOPMENTAL_COLUMNS = ("产业帮扶", "就业帮扶", "金融帮扶", "公益岗位帮扶")
VALUE_SEPARATORS = r"[,，、;；]"
NO_LABOUR = ("无劳动力", "丧失劳动力")
LABOUR_SKILLS = ("普通劳动力", "技能劳动力")
SCHOOL_GRADES = (
    "小学", "七年级", "八年级", "九年级", "普通高中一年级", "普通高中二年级", "普通高中三年级",
    "高中一年级", "高中二年级", "高中三年级", "中职一年级", "中职二年级", "中职三年级",
)  # fmt: skip
PRESCHOOL = ("学龄前儿童", "学前教育")
BASIC_INSURANCE = ("是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险")
DIBAO = ("城市低保", "农村低保")
TEKUN = ("城市特困", "农村特困")
UNVERIFIED = "默认值，未核实，请以省级文件为准"
MONITORING_BASIS = (
    "《关于健全防止返贫动态监测和帮扶机制的指导意见》（2021 年）：对脱贫不稳定户、边缘易致贫户和突发严重困难户"
    "开展监测，及时纳入、精准帮扶，风险稳定消除后再标注消除。"
)


# ------------------------------------------------------------------------------------ parameters


class MonitoringLine(RuleParams):
    # 防返贫监测线 by year (元/人·年); entries here override [monitoring_line] of the policy.
    monitoring_line: dict[int, float] = Field(default_factory=dict)


class NotMonitoredParams(MonitoringLine):
    monitor_population: tuple[str, ...] = ("脱贫户",)  # 户类型 values that must be monitored below the line


class LackLabourParams(RuleParams):
    lack_labour_max_share: float = Field(0.25, ge=0, le=1)
    labour_skills: tuple[str, ...] = LABOUR_SKILLS


class EducationAgeParams(RuleParams):
    # Empty: the policy's compulsory_education_age (6–15).
    compulsory_education_age: tuple[int, int] | None = None


class EliminationSpeedParams(RuleParams):
    elimination_min_months: int = Field(2, ge=0)  # 当月/次月 消除 counts as too fast; some counties use 6


class MeasureGraceParams(RuleParams):
    measure_grace_months: int = Field(1, ge=0)


class RiskMeasuresParams(RuleParams):
    risk_measures: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "因病": ("健康帮扶", "社会帮扶", "综合保障"),
            "因学": ("教育帮扶", "义务教育保障", "社会帮扶"),
            "因残": ("综合保障", "社会帮扶"),
            "因安全住房": ("住房安全保障", "搬迁"),
            "因安全饮水": ("饮水安全保障",),
            "失学辍学": ("义务教育保障", "教育帮扶"),
            "未参保": ("健康帮扶", "社会帮扶"),
            "缺劳动力": ("综合保障", "公益岗位帮扶"),
            "因务工就业不稳": ("就业帮扶", "公益岗位帮扶"),
        }
    )


class DevelopmentalParams(RuleParams):
    developmental_grace_months: int = Field(6, ge=0)
    labour_skills: tuple[str, ...] = LABOUR_SKILLS
    developmental_columns: tuple[str, ...] = DEVELOPMENTAL_COLUMNS
    non_developmental_values: tuple[str, ...] = ("其他", "技能培训")


# ------------------------------------------------------------------------------------ shared facts


def monitoring_lines(
    ctx: AuditContext, params: MonitoringLine, years: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Per row: the monitoring line of its year (NaN where the year is NA) and where the value came
    from. The one place this pack looks the line up (to be routed to the province-aware policy).
    A needed year without a line skips the rule, naming the year and how to set it: never guessed."""
    table = {**ctx.policy.monitoring_line, **params.monitoring_line}
    needed = sorted({int(y) for y in years.dropna().unique()})
    missing = [y for y in needed if y not in table]
    if missing:
        raise SkipRule(
            f"{'、'.join(map(str, missing))} 年没有防返贫监测线（参数 monitoring_line）：请在 --config 的"
            f" [monitoring_line] 中加入，例如 {missing[0]} = 7300（以本省当年文件为准）"
        )

    def source(year: int) -> str:
        if year in params.monitoring_line:
            return "参数 monitoring_line，规则设置"
        origin = ctx.policy.origin.get(f"monitoring_line.{year}")
        return f"参数 monitoring_line，{origin}" if origin else f"参数 monitoring_line，{UNVERIFIED}"

    numbers = years.astype("Int64")
    lines = pd.Series(np.nan, index=years.index)
    sources = pd.Series("", index=years.index, dtype=object)
    for year in needed:  # one mask per distinct year (a handful)
        at = (numbers == year).fillna(False).to_numpy(dtype=bool)
        lines[at], sources[at] = float(table[year]), source(year)
    return lines, sources


def households(ctx: AuditContext, *fields: str) -> pd.DataFrame:
    return ctx.frame("households", *fields)


def is_text(frame: pd.DataFrame, column: str, values: tuple[str, ...] | str) -> pd.Series:
    """Per row: the column's text is one of `values` (absent column: all False)."""
    if column not in frame:
        return pd.Series(False, index=frame.index)
    wanted = (values,) if isinstance(values, str) else values
    return text(frame[column]).isin(wanted)


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


def risks(ctx: AuditContext) -> pd.DataFrame:
    """Per household row: the texts of the risk slots present (致贫返贫风险1–5; aliases already
    normalised by the schema's code list)."""

    def compute() -> pd.DataFrame:
        frame = households(ctx, RISK_SLOTS[0])
        return pd.DataFrame({slot: text(frame[slot]) for slot in RISK_SLOTS if slot in frame})

    return ctx.cached("mn.risks", compute)


def has_risk(ctx: AuditContext, risk: str) -> pd.Series:
    return risks(ctx).eq(risk).any(axis=1)


def months(yyyymm: pd.Series) -> pd.Series:
    """YYYYMM → a month count (year × 12 + month − 1), for month differences (NA stays NA)."""
    values = yyyymm.astype("Int64")
    return values // 100 * 12 + values % 100 - 1


def month_text(yyyymm: pd.Series) -> pd.Series:
    return fmt(yyyymm.astype("Int64"), lambda v: str(int(v)))


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


def household_type_member(ctx: AuditContext) -> pd.Series:
    """Per member row: the household is a 脱贫户 or a 监测户 (needs 户类型 or 监测对象类别)."""

    def compute() -> pd.Series:
        frame = households(ctx)
        if HOUSEHOLD_TYPE not in frame and CATEGORY not in frame:
            raise SkipRule("households 表缺少列 户类型 和 监测对象类别")
        covered = is_text(frame, HOUSEHOLD_TYPE, "脱贫户")
        if CATEGORY in frame:
            covered |= monitored(ctx)
        return household_fact(ctx, covered)

    return ctx.cached("mn.covered_members", compute)


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


def school_children(ctx: AuditContext) -> pd.Series:
    """Per member row: in school from 小学 to 普通高中/中职."""
    return ctx.cached(
        "mn.school", lambda: text(ctx.frame("members", "在校生状况")["在校生状况"]).isin(SCHOOL_GRADES)
    )


def education_gap(ctx: AuditContext, band: tuple[int, int]) -> pd.Series:
    """Per member row: MN111(1) — compulsory-school age, not in school (empty, 非在校生, or 学龄前 at 7+)
    and no 义务教育阶段未上学原因 (an absent column means no exemption)."""

    def compute() -> pd.Series:
        members = ctx.frame("members", "在校生状况")
        age = ages(ctx)
        status = text(members["在校生状况"])
        of_age = ((age >= band[0]) & (age <= band[1])).fillna(False).astype(bool)
        preschool_late = status.isin(PRESCHOOL) & (age >= 7).fillna(False).astype(bool)
        out = of_age & (status.isin(("", "非在校生")) | preschool_late)
        if "义务教育阶段未上学原因" in members:
            out &= text(members["义务教育阶段未上学原因"]) == ""
        return out

    return ctx.cached(f"mn.education_gap.{band}", compute)


def insurance_gap(ctx: AuditContext) -> pd.Series:
    """Per member row: MN111(2) — neither basic 医保 = 是, and at least one = 否 (an empty pair is
    unknown, not a gap)."""

    def compute() -> pd.Series:
        members = ctx.frame("members")
        present = [c for c in BASIC_INSURANCE if c in members]
        if not present:
            raise SkipRule("members 表缺少列 " + " 和 ".join(BASIC_INSURANCE))
        insured = np.logical_or.reduce([as_bool(members, c) for c in present])
        refused = np.logical_or.reduce([is_no(members, c) for c in present])
        return pd.Series(~insured & refused, index=members.index)

    return ctx.cached("mn.insurance_gap", compute)


def education_band(ctx: AuditContext, params: EducationAgeParams) -> tuple[int, int]:
    return tuple(params.compulsory_education_age or ctx.policy.compulsory_education_age)  # type: ignore[return-value]


def measure_filled(ctx: AuditContext) -> pd.DataFrame:
    """Per household row and present measure column: filled (SkipRule when no measure column)."""

    def compute() -> pd.DataFrame:
        frame = households(ctx)
        present = [c for c in MEASURE_COLUMNS if c in frame]
        if not present:
            raise SkipRule("households 表没有任何帮扶措施列（产业帮扶、就业帮扶 … 生产生活条件改善）")
        return pd.DataFrame({c: text(frame[c]) != "" for c in present}, index=frame.index)

    return ctx.cached("mn.measure_filled", compute)


def measure_values(ctx: AuditContext, column: str) -> pd.Series:
    """The single values of a measure column, one per row, index = household row label ("" dropped)."""

    def compute() -> pd.Series:
        values = text(households(ctx)[column]).str.split(VALUE_SEPARATORS, regex=True).explode().str.strip()
        return values[values.notna() & (values != "")]

    return ctx.cached(f"mn.values.{column}", compute)


def has_value(ctx: AuditContext, column: str, wanted: tuple[str, ...]) -> pd.Series:
    """Per household row: the measure column holds one of `wanted` (absent column: False)."""
    frame = households(ctx)
    if column not in frame:
        return pd.Series(False, index=frame.index)
    values = measure_values(ctx, column)
    hits = values.index[values.isin(wanted).to_numpy()]
    return pd.Series(frame.index.isin(hits), index=frame.index)


def gap_list(parts: list[tuple[pd.Series, str]], labels: pd.Index) -> pd.Series:
    """“是否危房户=是、是否通生活用电=否” for the given rows from (flag, text) pairs."""
    out = pd.Series("", index=labels, dtype=object)
    for flag, label in parts:
        on = flag.reindex(labels).fillna(False).to_numpy(dtype=bool)
        out[on] = (out[on] + "、").where(out[on] != "", "") + label
    return out


def member_gap_flags(ctx: AuditContext, band: tuple[int, int]) -> list[tuple[pd.Series, str]]:
    """Household flags of members meeting MN111(1) / MN111(2) (clauses whose columns are absent are
    left out)."""
    if not ctx.has("members", HID) or not ctx.has("households", HID):
        return []
    members = ctx.frame("members")
    out: list[tuple[pd.Series, str]] = []
    if "在校生状况" in members:
        try:
            school = members_per_household(ctx, education_gap(ctx, band))
            out.append((school > 0, f"有 {band[0]}–{band[1]} 岁成员未在校且无未上学原因"))
        except SkipRule:
            pass
    if any(c in members for c in BASIC_INSURANCE):
        out.append((members_per_household(ctx, insurance_gap(ctx)) > 0, "有成员未参加基本医疗保险"))
    return out


# ------------------------------------------------------------------------------------ identification


@rule(
    "MN101",
    "收入低于监测线未纳入监测",
    severity="warning",
    needs=("households",),
    columns={"households": (HOUSEHOLD_TYPE, CATEGORY, INCOME)},
    params=NotMonitoredParams,
    what="数据年度 2021 年及以后，户类型属于 monitor_population（默认 脱贫户），监测对象类别为空，且人均纯收入低于"
    "（<）当年防返贫监测线（参数 monitoring_line，按年度；恰好等于监测线不报告）。所需年度没有监测线时规则跳过并说明。",
    why=MONITORING_BASIS + "家庭年人均纯收入低于当年监测范围的脱贫户应纳入监测。",
    example="2023 年脱贫户人均纯收入 7000 元，监测线 7300 元（monitoring_line 2023 = 7300），监测对象类别为空 → MN101。",
)
def mn101(ctx: AuditContext, params: NotMonitoredParams) -> pd.DataFrame:
    frame = households(ctx, HOUSEHOLD_TYPE, CATEGORY, INCOME)
    years = data_years(ctx, "households")
    candidates = (
        (years >= 2021).fillna(False).astype(bool)
        & is_text(frame, HOUSEHOLD_TYPE, params.monitor_population)
        & ~monitored(ctx)
        & frame[INCOME].notna()
    )
    lines, sources = monitoring_lines(ctx, params, years.where(candidates))
    below = candidates & (frame[INCOME] < lines).fillna(False).astype(bool)
    at = below.index[below]
    message = (
        text(frame.loc[at, HOUSEHOLD_TYPE]) + "人均纯收入 " + money_texts(frame.loc[at, INCOME]) + " 元低于 "
        + fmt(years[at], lambda y: str(int(y))) + " 年防返贫监测线 " + fmt(lines[at], yuan) + " 元（"
        + sources[at] + "），但监测对象类别为空，未纳入监测"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=CATEGORY)


@rule(
    "MN102",
    "三保障、饮水或用电有缺口未纳入监测",
    severity="warning",
    needs=("households",),
    columns={"households": (CATEGORY,)},
    params=EducationAgeParams,
    what="监测对象类别为空的户存在下列任一缺口：是否危房户 = 是；是否解决安全饮用水 = 否；是否通生活用电 = 否；"
    "是否义务教育阶段适龄儿童少年失学辍学 = 是，或有成员符合 MN111(1)（义务教育年龄未在校且无未上学原因）；"
    "是否有家庭成员未参加城乡居民（职工）基本医疗保险 = 是，或有成员符合 MN111(2)（两项基本医保均非“是”且至少一项为"
    "“否”）。缺少的列对应的条件不判断。消息列出全部缺口。",
    why=MONITORING_BASIS + "“三保障”和饮水安全出现缺口是纳入监测的风险条件。",
    example="一般农户 是否危房户 = 是，监测对象类别为空 → MN102（缺口：是否危房户=是）。",
)
def mn102(ctx: AuditContext, params: EducationAgeParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY)
    parts = household_gaps(ctx, frame) + member_gap_flags(ctx, education_band(ctx, params))
    if not parts:
        raise SkipRule("households 表没有任何三保障、饮水或用电列，成员表也没有在校或医保列")
    any_gap = np.logical_or.reduce([flag.to_numpy(dtype=bool) for flag, _ in parts])
    flagged = pd.Series(any_gap, index=frame.index) & ~monitored(ctx)
    at = flagged.index[flagged]
    message = "存在缺口（" + gap_list(parts, at) + "），但监测对象类别为空，未纳入监测"
    return ctx.flag("households", at, message, column=CATEGORY)


def household_gaps(ctx: AuditContext, frame: pd.DataFrame) -> list[tuple[pd.Series, str]]:
    """Household-level gap flags of MN102 (present columns only)."""
    parts = [
        (as_bool(frame, "是否危房户"), "是否危房户=是", "是否危房户"),
        (is_no(frame, "是否解决安全饮用水"), "是否解决安全饮用水=否", "是否解决安全饮用水"),
        (is_no(frame, "是否通生活用电"), "是否通生活用电=否", "是否通生活用电"),
        (
            as_bool(frame, "是否义务教育阶段适龄儿童少年失学辍学"),
            "是否义务教育阶段适龄儿童少年失学辍学=是",
            "是否义务教育阶段适龄儿童少年失学辍学",
        ),
        (as_bool(frame, "是否有成员未参加基本医疗保险"), "有家庭成员未参加基本医疗保险=是", "是否有成员未参加基本医疗保险"),
    ]  # fmt: skip
    return [(flag, label) for flag, label, column in parts if column in frame]


@rule(
    "MN104",
    "监测对象类别与户类型不符",
    severity="error",
    needs=("households",),
    columns={"households": (CATEGORY, HOUSEHOLD_TYPE)},
    what="监测对象类别为“脱贫不稳定户”而户类型不是“脱贫户”，或为“边缘易致贫户”而户类型是“脱贫户”。",
    why="脱贫不稳定户只能是脱贫户；边缘易致贫户是一般农户中收入略高于监测线或有风险的户（防返贫监测对象认定口径）。",
    example="监测对象类别 = 脱贫不稳定户，户类型 = 一般农户 → MN104。",
)
def mn104(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY, HOUSEHOLD_TYPE)
    category, kind = text(frame[CATEGORY]), text(frame[HOUSEHOLD_TYPE])
    unstable = (category == "脱贫不稳定户") & (kind != "脱贫户")
    marginal = (category == "边缘易致贫户") & (kind == "脱贫户")
    at = frame.index[(unstable | marginal).to_numpy()]
    kind_text = kind[at].where(kind[at] != "", "空")
    expected = pd.Series("应为脱贫户", index=at).where(unstable[at], "边缘易致贫户不应是脱贫户")
    message = "监测对象类别为" + category[at] + "，户类型为" + kind_text + "（" + expected + "）"
    return ctx.flag("households", at, message, column=CATEGORY)


# ------------------------------------------------------------------------------------ risk


@rule(
    "MN106",
    "缺劳动力风险但家中劳动力充足",
    severity="warning",
    needs=("households", "members"),
    columns={"households": (CATEGORY, RESOLVED, RISK_SLOTS[0], HID), "members": (HID, "劳动技能")},
    params=LackLabourParams,
    what="监测户、风险未消除、致贫/返贫风险含“缺劳动力”，而劳动力成员（劳动技能属于 labour_skills，默认普通劳动力、"
    "技能劳动力，且年龄在政策参数 working_age 内）占家庭成员的比例大于（>）lack_labour_max_share（默认 25%）；"
    "恰好等于不报告。",
    why="“缺劳动力”风险应与家庭成员的劳动能力相符；劳动力充足的户登记缺劳动力，风险类型可能不实。",
    example="监测户未消除，风险1 = 缺劳动力，4 名成员中 2 名 40 岁普通劳动力（50% > 25%）→ MN106。",
)
def mn106(ctx: AuditContext, params: LackLabourParams) -> pd.DataFrame:
    households(ctx, CATEGORY, RESOLVED)
    labour = members_per_household(ctx, labour_members(ctx, params.labour_skills))
    total = members_per_household(ctx)
    share = labour / total.where(total > 0)
    candidates = monitored(ctx) & unresolved(ctx) & has_risk(ctx, "缺劳动力")
    flagged = candidates & (share > params.lack_labour_max_share).fillna(False).astype(bool)
    at = flagged.index[flagged]
    message = (
        "风险为缺劳动力，但家庭成员 " + fmt(total[at], "{:.0f}") + " 人中劳动力 " + fmt(labour[at], "{:.0f}")
        + " 人（" + fmt(share[at], percent) + "），超过 " + percent(params.lack_labour_max_share)
        + "（参数 lack_labour_max_share）"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=RISK_SLOTS[0])


@rule(
    "MN111",
    "脱贫人口、监测对象义务教育或医疗保障缺口",
    severity="error",
    needs=("members", "households"),
    columns={"members": (HID,), "households": (HID,)},
    params=EducationAgeParams,
    what="脱贫户或监测户的成员：（1）年龄在义务教育年龄内（参数 compulsory_education_age，默认 6–15 岁，按导出时间"
    "或数据年度 12 月 31 日计），在校生状况为空、非在校生，或 7 岁及以上仍为学龄前儿童/学前教育，且义务教育阶段未上学原因"
    "为空（无此列时视为未登记原因）；（2）两项基本医疗保险（城乡居民、城镇职工）都不是“是”，且至少一项为“否”。"
    "缺少在校生状况列时（1）不判断，缺少两个医保列时（2）不判断。",
    why="义务教育和基本医疗有保障是“三保障”的要求，过渡期内脱贫人口和监测对象须持续保障（控辍保学、参保全覆盖）。",
    example="脱贫户成员 10 岁，在校生状况 = 非在校生，义务教育阶段未上学原因为空 → MN111。",
)
def mn111(ctx: AuditContext, params: EducationAgeParams) -> list[pd.DataFrame]:
    members = ctx.frame("members", HID)
    covered = household_type_member(ctx)
    band = education_band(ctx, params)
    out = []
    clauses = 0
    if "在校生状况" in members:
        clauses += 1
        school = covered & education_gap(ctx, band)
        at = school.index[school.to_numpy()]
        status = text(members.loc[at, "在校生状况"])
        message = (
            "脱贫户/监测户成员 " + fmt(ages(ctx)[at], "{:.0f}") + f" 岁，在义务教育年龄 {band[0]}–{band[1]} 岁内"
            f"（参数 compulsory_education_age），在校生状况为" + status.where(status != "", "空")
            + "，且未登记义务教育阶段未上学原因"
        )  # fmt: skip
        out.append(ctx.flag("members", at, message, column="在校生状况"))
    if any(c in members for c in BASIC_INSURANCE):
        clauses += 1
        gap = covered & insurance_gap(ctx)
        at = gap.index[gap.to_numpy()]
        column = next(c for c in BASIC_INSURANCE if c in members)
        message = "脱贫户/监测户成员未参加基本医疗保险（城乡居民医保、职工医保均不是“是”）"
        out.append(ctx.flag("members", at, message, column=column))
    if not clauses:
        raise SkipRule("members 表缺少列 在校生状况 和基本医疗保险列")
    return out


# ------------------------------------------------------------------------------------ elimination


def elimination_income(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per household row: income at elimination — 风险消除后人均纯收入 where filled, else 人均纯收入 —
    and the name of the column used."""
    income = frame[INCOME] if INCOME in frame else pd.Series(np.nan, index=frame.index)
    label = pd.Series("人均纯收入", index=frame.index, dtype=object)
    if "风险消除后人均纯收入" in frame:
        after = frame["风险消除后人均纯收入"]
        label = label.where(after.isna(), "风险消除后人均纯收入")
        income = after.where(after.notna(), income)
    return income.astype("float64"), label


def helped_out(ctx: AuditContext) -> pd.Series:
    """已消除 with 风险消除方式 = 帮扶消除."""
    frame = households(ctx, RESOLVED, METHOD)
    return resolved(ctx) & is_text(frame, METHOD, "帮扶消除")


def eliminated_below(
    ctx: AuditContext, params: MonitoringLine
) -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series, pd.Series]:
    """For MN121/MN122: the frame, the income used and its label, the line and its source per row
    (helped-out households with an income and a 消除监测时间 only)."""
    frame = households(ctx, RESOLVED, METHOD, ELIMINATED)
    if INCOME not in frame and "风险消除后人均纯收入" not in frame:
        raise SkipRule("households 表缺少列 人均纯收入 和 风险消除后人均纯收入")
    income, label = elimination_income(frame)
    judged = helped_out(ctx) & income.notna() & frame[ELIMINATED].notna()
    years = (frame[ELIMINATED].astype("Int64") // 100).where(judged)
    lines, sources = monitoring_lines(ctx, params, years)
    return frame, income.where(judged), label, lines, sources


@rule(
    "MN121",
    "帮扶消除时收入低于监测线",
    severity="error",
    needs=("households",),
    columns={"households": (RESOLVED, METHOD, ELIMINATED)},
    params=MonitoringLine,
    what="风险已消除、风险消除方式 = 帮扶消除，而消除时收入（有“风险消除后人均纯收入”时取它，否则取人均纯收入）低于（<）"
    "消除监测时间所在年度的防返贫监测线（参数 monitoring_line）。所需年度没有监测线时规则跳过并说明。",
    why="风险消除须家庭人均纯收入稳定超过当年监测线（各省风险消除认定口径）。",
    example="202305 帮扶消除，风险消除后人均纯收入 7000 元，2023 年监测线 7300 元 → MN121。",
)
def mn121(ctx: AuditContext, params: MonitoringLine) -> pd.DataFrame:
    frame, income, label, lines, sources = eliminated_below(ctx, params)
    flagged = (income < lines).fillna(False).astype(bool)
    at = flagged.index[flagged.to_numpy()]
    message = (
        month_text(frame.loc[at, ELIMINATED]) + " 帮扶消除，" + label[at] + " " + money_texts(income[at])
        + " 元低于 " + fmt(frame.loc[at, ELIMINATED].astype("Int64") // 100, "{:.0f}") + " 年防返贫监测线 "
        + fmt(lines[at], yuan) + " 元（" + sources[at] + "）"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=METHOD)


@rule(
    "MN122",
    "风险消除时收入刚过监测线",
    severity="warning",
    needs=("households",),
    columns={"households": (RESOLVED, METHOD, ELIMINATED)},
    params=MonitoringLine,
    what="同 MN121，但收入在 [监测线, 监测线 × near_line_band]（政策参数，默认 1.05）之内，两端都含，按分比较。",
    why="收入刚过监测线即标注消除，返贫风险仍高；风险消除要求收入“稳定”超过监测线。",
    example="202305 帮扶消除，人均纯收入 7500 元，2023 年监测线 7300 元（上限 7665）→ MN122。",
)
def mn122(ctx: AuditContext, params: MonitoringLine) -> pd.DataFrame:
    frame, income, label, lines, sources = eliminated_below(ctx, params)
    band = ctx.policy.near_line_band
    fen = (income * 100).round()
    upper = (lines * band).round(2)
    flagged = ((fen >= (lines * 100).round()) & (fen <= (upper * 100).round())).fillna(False).astype(bool)
    at = flagged.index[flagged.to_numpy()]
    message = (
        month_text(frame.loc[at, ELIMINATED]) + " 帮扶消除，" + label[at] + " " + money_texts(income[at])
        + " 元仅在 " + fmt(frame.loc[at, ELIMINATED].astype("Int64") // 100, "{:.0f}") + " 年监测线 "
        + fmt(lines[at], yuan) + " 元（" + sources[at] + "）至其 " + f"{band:g}" + " 倍 " + money_texts(upper[at])
        + " 元之间（参数 near_line_band）"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=METHOD)


@rule(
    "MN123",
    "风险消除后三保障或饮水仍有缺口",
    severity="error",
    needs=("households",),
    columns={"households": (RESOLVED,)},
    params=EducationAgeParams,
    what="风险已消除，而下列任一成立：是否危房户 = 是；是否解决安全饮用水 = 否；风险消除后是否住房损毁 = 是；风险消除后是否"
    "饮水设施损毁 = 是；风险消除后是否义务教育阶段适龄儿童少年失学辍学 = 是；风险消除后是否有家庭成员未参加基本医疗保险 = 是；"
    "有成员符合 MN111。缺少的列对应的条件不判断。",
    why="风险消除须“三保障”和饮水安全有保障（各省风险消除认定口径）。",
    example="风险是否已消除 = 是，风险消除后是否住房损毁 = 是 → MN123。",
)
def mn123(ctx: AuditContext, params: EducationAgeParams) -> pd.DataFrame:
    frame = households(ctx, RESOLVED)
    checks = [
        ("是否危房户", True), ("是否解决安全饮用水", False), ("风险消除后是否住房损毁", True),
        ("风险消除后是否饮水设施损毁", True), ("风险消除后是否义务教育阶段适龄儿童少年失学辍学", True),
        ("风险消除后是否有成员未参加基本医疗保险", True),
    ]  # fmt: skip
    parts = [
        (as_bool(frame, c) if yes else is_no(frame, c), f"{c}={'是' if yes else '否'}")
        for c, yes in checks
        if c in frame
    ]
    parts += member_gap_flags(ctx, education_band(ctx, params))
    if not parts:
        raise SkipRule("households 表没有三保障、饮水或风险消除后的缺口列，成员表也没有在校或医保列")
    any_gap = np.logical_or.reduce([flag.to_numpy(dtype=bool) for flag, _ in parts])
    flagged = pd.Series(any_gap, index=frame.index) & resolved(ctx)
    at = flagged.index[flagged]
    message = "风险已标注消除，但仍有缺口：" + gap_list(parts, at)
    return ctx.flag("households", at, message, column=RESOLVED)


@rule(
    "MN124",
    "识别后过快消除风险",
    severity="warning",
    needs=("households",),
    columns={"households": (RESOLVED, METHOD, IDENTIFIED, ELIMINATED)},
    params=EliminationSpeedParams,
    what="风险已消除、帮扶消除，且消除监测时间与识别监测时间相差的月数（按 YYYYMM 计）小于（<）elimination_min_months"
    "（默认 2：识别当月或次月即消除）。",
    why="帮扶消除须帮扶措施见效、收入稳定，识别当月或次月即消除通常不实（省级数据核查口径；部分县要求半年）。",
    example="识别监测时间 202303，消除监测时间 202304，帮扶消除（相差 1 个月 < 2）→ MN124。",
)
def mn124(ctx: AuditContext, params: EliminationSpeedParams) -> pd.DataFrame:
    frame = households(ctx, RESOLVED, METHOD, IDENTIFIED, ELIMINATED)
    gap = months(frame[ELIMINATED]) - months(frame[IDENTIFIED])
    flagged = helped_out(ctx) & (gap < params.elimination_min_months).fillna(False).astype(bool)
    at = flagged.index[flagged]
    message = (
        "识别监测时间 " + month_text(frame.loc[at, IDENTIFIED]) + "，帮扶消除于 " + month_text(frame.loc[at, ELIMINATED])
        + "，仅相隔 " + fmt(gap[at], "{:.0f}") + f" 个月，少于 {params.elimination_min_months} 个月"
        "（参数 elimination_min_months）"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=ELIMINATED)


@rule(
    "MN125",
    "整户无劳动能力监测户已标注风险消除",
    severity="warning",
    needs=("households", "members"),
    columns={"households": (RESOLVED, HID), "members": (HID, "劳动技能")},
    what="风险已消除，而该户每名成员的劳动技能都是无劳动力或丧失劳动力（至少一名成员）。",
    why="整户无劳动能力的户落实兜底保障后仍应保持监测，不标注风险消除（多省防返贫监测问答口径）。",
    example="风险是否已消除 = 是，两名成员劳动技能均为丧失劳动力 → MN125。",
)
def mn125(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households(ctx, RESOLVED)
    members = ctx.frame("members", "劳动技能")
    total = members_per_household(ctx)
    none = members_per_household(ctx, text(members["劳动技能"]).isin(NO_LABOUR))
    flagged = resolved(ctx) & (total > 0) & (none == total)
    at = flagged.index[flagged]
    message = (
        "全部 "
        + fmt(total[at], "{:.0f}")
        + " 名成员均为无劳动力或丧失劳动力，兜底后应保持监测，但已标注风险消除"
    )
    return ctx.flag("households", at, message, column=RESOLVED)


@rule(
    "MN126",
    "帮扶消除但未登记任何帮扶措施",
    severity="error",
    needs=("households",),
    columns={"households": (METHOD,)},
    what="风险消除方式 = 帮扶消除，而全部帮扶措施列（产业帮扶 … 生产生活条件改善，导出中有的列）都为空。",
    why="帮扶消除以落实帮扶措施为前提；没有措施记录的帮扶消除无据可查。",
    example="风险消除方式 = 帮扶消除，产业帮扶、就业帮扶、健康帮扶等列都为空 → MN126。",
)
def mn126(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx, METHOD)
    filled = measure_filled(ctx)
    flagged = is_text(frame, METHOD, "帮扶消除") & ~filled.any(axis=1)
    at = flagged.index[flagged]
    message = (
        f"风险消除方式为帮扶消除，但 {len(filled.columns)} 个帮扶措施列（{'、'.join(filled.columns)}）均为空"
    )
    return ctx.flag("households", at, message, column=METHOD)


# ------------------------------------------------------------------------------------ measures


@rule(
    "MN131",
    "识别后未登记帮扶措施",
    severity="error",
    needs=("households",),
    columns={"households": (CATEGORY, RESOLVED, IDENTIFIED)},
    params=MeasureGraceParams,
    what="监测户、风险未消除，基准月（导出时间，否则数据年度 12 月）与识别监测时间相差的月数大于等于"
    "（≥）measure_grace_months（默认 1），而全部帮扶措施列都为空。",
    why="监测对象识别后应及时落实针对性帮扶措施（《关于健全防止返贫动态监测和帮扶机制的指导意见》）。",
    example="识别监测时间 202310，导出时间 2023-12-18（相差 2 个月 ≥ 1），所有措施列为空 → MN131。",
)
def mn131(ctx: AuditContext, params: MeasureGraceParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY, RESOLVED, IDENTIFIED)
    filled = measure_filled(ctx)
    reference = reference_months(ctx)
    since = months(reference) - months(frame[IDENTIFIED])
    flagged = (
        monitored(ctx) & unresolved(ctx) & (since >= params.measure_grace_months).fillna(False).astype(bool)
        & ~filled.any(axis=1)
    )  # fmt: skip
    at = flagged.index[flagged]
    message = (
        "识别监测时间 " + month_text(frame.loc[at, IDENTIFIED]) + "，至基准月 " + month_text(reference[at]) + " 已 "
        + fmt(since[at], "{:.0f}") + f" 个月（≥ {params.measure_grace_months}，参数 measure_grace_months），"
        + "风险未消除，但帮扶措施列均为空"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=IDENTIFIED)


@rule(
    "MN132",
    "帮扶措施与风险类型不对应",
    severity="warning",
    needs=("households",),
    columns={"households": (CATEGORY, RISK_SLOTS[0])},
    params=RiskMeasuresParams,
    what="监测户的每个风险 R（以及户标志 是否义务教育阶段适龄儿童少年失学辍学 = 是 → “失学辍学”、是否有家庭成员未参加基本"
    "医疗保险 = 是 → “未参保”），参数 risk_measures[R] 中的措施列没有一列有值（只看导出中有的列；R 的列都不在导出中时"
    "不判断）。默认：因病→健康帮扶/社会帮扶/综合保障；因学→教育帮扶/义务教育保障/社会帮扶；因残→综合保障/社会帮扶；"
    "因安全住房→住房安全保障/搬迁；因安全饮水→饮水安全保障；失学辍学→义务教育保障/教育帮扶；未参保→健康帮扶/社会帮扶；"
    "缺劳动力→综合保障/公益岗位帮扶；因务工就业不稳→就业帮扶/公益岗位帮扶。",
    why="帮扶措施应针对风险类型精准落实（“缺什么补什么”）。",
    example="监测户风险1 = 因病，健康帮扶、社会帮扶、综合保障均为空（产业帮扶有值）→ MN132。",
)
def mn132(ctx: AuditContext, params: RiskMeasuresParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY)
    filled = measure_filled(ctx)
    flags = {
        "失学辍学": as_bool(frame, "是否义务教育阶段适龄儿童少年失学辍学"),
        "未参保": as_bool(frame, "是否有成员未参加基本医疗保险"),
    }
    parts = []
    for risk, columns in params.risk_measures.items():
        present = [c for c in columns if c in filled]
        if not present:
            continue  # none of its measure columns in the export: not judged
        has = flags[risk] if risk in flags else has_risk(ctx, risk)
        unanswered = monitored(ctx) & has & ~filled[present].any(axis=1)
        parts.append((unanswered, f"{risk}（{'/'.join(present)}均为空）"))
    if not parts:
        raise SkipRule("导出中没有 risk_measures 所列的任何措施列")
    any_gap = np.logical_or.reduce([flag.to_numpy(dtype=bool) for flag, _ in parts])
    at = frame.index[any_gap]
    message = "风险未见对应帮扶措施（参数 risk_measures）：" + gap_list(parts, at)
    return ctx.flag("households", at, message, column=RISK_SLOTS[0])


def developmental(ctx: AuditContext, params: DevelopmentalParams) -> pd.Series:
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


@rule(
    "MN133",
    "有劳动力的监测户未落实开发式帮扶",
    severity="warning",
    needs=("households", "members"),
    columns={"households": (CATEGORY, RESOLVED, IDENTIFIED, HID), "members": (HID, "劳动技能")},
    params=DevelopmentalParams,
    what="监测户、风险未消除、至少一名劳动力成员（劳动技能属于 labour_skills 且年龄在 working_age 内），识别后已满"
    " developmental_grace_months（默认 6）个月（基准月 − 识别监测时间 ≥ 6），而开发式措施列（developmental_columns，"
    "默认产业帮扶、就业帮扶、金融帮扶、公益岗位帮扶）中没有 non_developmental_values（默认 其他、技能培训）以外的值。",
    why="有劳动能力的监测户应落实产业、就业等开发式帮扶措施（2025 年全国防返贫工作要求）。",
    example="识别监测时间 202304，导出 2023-12-18（8 个月），有 40 岁普通劳动力，就业帮扶 = 技能培训、其余为空 → MN133。",
)
def mn133(ctx: AuditContext, params: DevelopmentalParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY, RESOLVED, IDENTIFIED)
    labour = members_per_household(ctx, labour_members(ctx, params.labour_skills))
    reference = reference_months(ctx)
    since = months(reference) - months(frame[IDENTIFIED])
    flagged = (
        monitored(ctx) & unresolved(ctx) & (labour > 0)
        & (since >= params.developmental_grace_months).fillna(False).astype(bool) & ~developmental(ctx, params)
    )  # fmt: skip
    at = flagged.index[flagged]
    message = (
        "有劳动力 " + fmt(labour[at], "{:.0f}") + " 人，识别监测时间 " + month_text(frame.loc[at, IDENTIFIED])
        + " 至基准月 " + month_text(reference[at]) + " 已 " + fmt(since[at], "{:.0f}")
        + f" 个月（≥ {params.developmental_grace_months}，参数 developmental_grace_months），"
        + f"但{'、'.join(params.developmental_columns)}没有开发式措施（{'、'.join(params.non_developmental_values)}不计）"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=params.developmental_columns[0])


# ------------------------------------------------------------------------------------ 兜底


def receives_welfare(ctx: AuditContext) -> pd.Series:
    """Per member row: receives 低保 or 特困 (policy-status columns, else the derived yes/no columns)."""
    members = ctx.frame("members")
    columns = ("享受低保政策情况", "享受特困供养政策情况", "是否享受低保", "是否特困供养人员")
    if not any(c in members for c in columns):
        raise SkipRule("members 表缺少列 享受低保政策情况、享受特困供养政策情况")
    return (
        is_text(members, "享受低保政策情况", DIBAO) | is_text(members, "享受特困供养政策情况", TEKUN)
        | as_bool(members, "是否享受低保") | as_bool(members, "是否特困供养人员")
    )  # fmt: skip


@rule(
    "MN141",
    "整户无劳动能力户兜底不到位",
    severity="warning",
    needs=("households", "members"),
    columns={"households": (HID,), "members": (HID, "劳动技能")},
    what="脱贫户或监测户每名成员都是无劳动力或丧失劳动力，且（1）没有成员享受低保或特困供养；或（2）监测户风险未消除而"
    "“整户无劳动能力兜底保障户”不是“是”。（3）标注为整户无劳动能力兜底保障户，却有劳动年龄内（working_age）的普通或技能"
    "劳动力成员。缺少的列对应的条件不判断。",
    why="无劳动能力的监测户和脱贫户应纳入低保、特困等兜底保障（“有劳动能力的开发式帮扶，无劳动能力的兜底保障”）。",
    example="脱贫户两名成员均为丧失劳动力，享受低保政策情况均为未享受 → MN141。",
)
def mn141(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx)
    members = ctx.frame("members", "劳动技能")
    covered = is_text(frame, HOUSEHOLD_TYPE, "脱贫户") | (monitored(ctx) if CATEGORY in frame else False)
    total = members_per_household(ctx)
    no_labour = (
        covered
        & (total > 0)
        & (members_per_household(ctx, text(members["劳动技能"]).isin(NO_LABOUR)) == total)
    )
    parts = []
    with contextlib.suppress(SkipRule):
        parts.append(
            (
                no_labour & (members_per_household(ctx, receives_welfare(ctx)) == 0),
                "整户无劳动能力但无成员享受低保或特困供养",
            )
        )
    marked = "整户无劳动能力兜底保障户"
    if marked in frame and RESOLVED in frame and CATEGORY in frame:
        unmarked = no_labour & monitored(ctx) & unresolved(ctx) & ~as_bool(frame, marked)
        parts.append((unmarked, "整户无劳动能力的未消除监测户未标注为整户无劳动能力兜底保障户"))
    if marked in frame:
        able = members_per_household(ctx, labour_members(ctx, LABOUR_SKILLS)) > 0
        parts.append(
            (
                as_bool(frame, marked) & able,
                "标注为整户无劳动能力兜底保障户，但有劳动年龄内的普通或技能劳动力成员",
            )
        )
    if not parts:
        raise SkipRule("缺少享受低保/特困供养列和“整户无劳动能力兜底保障户”列")
    any_gap = np.logical_or.reduce([flag.to_numpy(dtype=bool) for flag, _ in parts])
    at = frame.index[any_gap]
    low, high = ctx.policy.working_age
    message = gap_list(parts, at).str.replace(
        "劳动年龄内", f"劳动年龄（{low}–{high} 岁，参数 working_age）内", regex=False
    )
    return ctx.flag("households", at, message, column=marked if marked in frame else None)


# ------------------------------------------------------------------------------------ more checks


class IdentificationIncomeParams(RuleParams):
    identification_income_max: float = 20000.0  # 元/人·年
    identification_check_from: int = 2023  # year of 识别监测时间 from which it is checked


@rule(
    "MN103",
    "识别时收入明显高于监测线",
    severity="warning",
    needs=("households",),
    columns={"households": (CATEGORY, RESOLVED, IDENTIFIED, INCOME)},
    params=IdentificationIncomeParams,
    what="监测户、风险未消除，识别监测时间的年份不早于 identification_check_from（默认 2023），人均纯收入大于（>）"
    "identification_income_max（默认 20000 元），且合规自付支出为空或 0（没有刚性支出可以解释）。导出中没有合规自付支出列时"
    "规则跳过。",
    why="收入远高于监测线又无大额刚性支出的户纳入监测，识别依据可能不足（省级数据核查口径）。",
    example="202305 识别的监测户，人均纯收入 25000 元，合规自付支出 0 → MN103。",
)
def mn103(ctx: AuditContext, params: IdentificationIncomeParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY, RESOLVED, IDENTIFIED, INCOME, "合规自付支出")
    year = frame[IDENTIFIED].astype("Int64") // 100
    spent = frame["合规自付支出"].fillna(0) > 0
    flagged = (
        monitored(ctx)
        & unresolved(ctx)
        & (year >= params.identification_check_from).fillna(False).astype(bool)
        & (frame[INCOME] > params.identification_income_max).fillna(False).astype(bool)
        & ~spent
    )
    at = flagged.index[flagged]
    message = (
        "识别监测时间 " + month_text(frame.loc[at, IDENTIFIED]) + "，人均纯收入 " + money_texts(frame.loc[at, INCOME])
        + f" 元高于 {yuan(params.identification_income_max)} 元（参数 identification_income_max），合规自付支出为空或 0"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=INCOME)


@rule(
    "MN108",
    "因病风险但合规自付支出为零",
    severity="warning",
    needs=("households",),
    columns={"households": (CATEGORY, RESOLVED, RISK_SLOTS[0], "合规自付支出")},
    what="监测户、风险未消除、风险含“因病”，而合规自付支出为空或 0。",
    why="因病风险以医疗合规自付支出为主要依据；没有自付支出的因病风险识别依据不足。",
    example="监测户风险1 = 因病，合规自付支出 0 → MN108。",
)
def mn108(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY, RESOLVED, "合规自付支出")
    none = ~(frame["合规自付支出"].fillna(0) > 0)
    flagged = monitored(ctx) & unresolved(ctx) & has_risk(ctx, "因病") & none
    at = flagged.index[flagged]
    return ctx.flag("households", at, "风险为因病，但合规自付支出为空或 0", column="合规自付支出")


class RequireBus(RuleParams):
    require_bus: bool = False  # also require 是否通客运班车 = 否 to report


@rule(
    "MN171",
    "出列村到乡镇未通硬化路或客运班车",
    severity="warning",
    needs=("villages",),
    columns={"villages": ("是否出列", "到乡镇是否通硬化路")},
    params=RequireBus,
    what="是否出列 = 是，而到乡镇是否通沥青（水泥）路 = 否；参数 require_bus 为 true 时还要求是否通客运班车 = 否才报告。",
    why="贫困村出列要求通硬化路等基础设施达标（贫困村退出标准）。",
    example="出列村 到乡镇是否通沥青（水泥）路 = 否 → MN171。",
)
def mn171(ctx: AuditContext, params: RequireBus) -> pd.DataFrame:
    columns = ("是否出列", "到乡镇是否通硬化路") + (("是否通客运班车",) if params.require_bus else ())
    villages = ctx.frame("villages", *columns)
    flagged = as_bool(villages, "是否出列") & is_no(villages, "到乡镇是否通硬化路")
    text_ = "已出列，但到乡镇未通沥青（水泥）路"
    if params.require_bus:
        flagged &= is_no(villages, "是否通客运班车")
        text_ += "，也未通客运班车（参数 require_bus）"
    return ctx.flag("villages", flagged, text_, column="到乡镇是否通硬化路")
