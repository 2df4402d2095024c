"""防返贫监测 (MN): the 2021–2026 monitoring rules of MONITORING.md §5 — identification, risks,
elimination, measures and 兜底 of 监测户 and 脱贫户.

Facts several rules use (risks, labour members, school children, filled measure columns, member
gaps) are computed once per run through ctx.cached, on whole columns. Member facts reach their
household through the shared 户编号 codes (count per code, gather back), never a loop per record.
"""

from __future__ import annotations

import contextlib
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, NoParams, RuleParams, SkipRule, rule
from fupin_audit.facts.keys import (
    count_per_code,
    gather,
)
from fupin_audit.facts.lines import policy_values
from fupin_audit.facts.monitoring import (
    CATEGORY,
    DIBAO,
    ELIMINATED,
    HOUSEHOLD_TYPE,
    IDENTIFIED,
    LABOUR_SKILLS,
    METHOD,
    PLANS,
    PRESCHOOL,
    PUBLIC_POST,
    RESOLVED,
    RISK_SLOTS,
    TEKUN,
    WORK,
    DevelopmentalColumns,
    ages,
    developmental,
    has_public_post,
    has_work_record,
    household_fact,
    households,
    in_range,
    is_text,
    labour_members,
    measure_values,
    member_codes,
    member_has,
    member_welfare,
    members_per_household,
    monitored,
    months,
    not_student,
    record_member,
    reference_months,
    resolved,
    unresolved,
    work_records,
    working,
)
from fupin_audit.facts.people import member_birth
from fupin_audit.facts.values import HID, ID, INCOME, as_bool, is_no, raw_values, text, text_in
from fupin_audit.facts.years import data_years
from fupin_audit.rules.example_data import (
    EXPORTED,
    H1,
    LINE_2023,
    id_number,
    monitored_household,
    monitored_person,
)
from fupin_audit.rules.kit.format import fmt, money_texts, month_text, percent, yuan
from fupin_audit.schema.fields import arrow_text as arrow_text_plain
from fupin_audit.schema.fields import fullmatches, str_series

MEASURE_COLUMNS = (
    "产业帮扶", "就业帮扶", "公益岗位帮扶", "公益性岗位帮扶其他备注", "健康帮扶", "教育帮扶", "义务教育保障",
    "金融帮扶", "社会帮扶", "综合保障", "住房安全保障", "饮水安全保障", "搬迁", "基础设施建设", "生产生活条件改善",
)  # fmt: skip
NO_LABOUR = ("无劳动力", "丧失劳动力")
SCHOOL_GRADES = (
    "小学", "七年级", "八年级", "九年级", "普通高中一年级", "普通高中二年级", "普通高中三年级",
    "高中一年级", "高中二年级", "高中三年级", "中职一年级", "中职二年级", "中职三年级",
)  # fmt: skip
BASIC_INSURANCE = ("是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险")
MONITORING_BASIS = (
    "《关于健全防止返贫动态监测和帮扶机制的指导意见》（2021 年）：对脱贫不稳定户、边缘易致贫户和突发严重困难户"
    "开展监测，及时纳入、精准帮扶，风险稳定消除后再标注消除。"
)


# ------------------------------------------------------------------------------------ parameters


class MonitoringLine(RuleParams):
    """Rules that compare with the 防返贫监测线: policy `monitoring_line`, set per province, county and
    year in the config file ([province."贵州".monitoring_line] 2023 = 7300)."""


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


class DevelopmentalParams(DevelopmentalColumns):
    developmental_grace_months: int = Field(6, ge=0)


# ------------------------------------------------------------------------------------ shared facts


def monitoring_lines(
    ctx: AuditContext, params: MonitoringLine, years: pd.Series
) -> tuple[pd.Series, pd.Series]:
    """Per row: the monitoring line in force for the row's province, county and year (NaN where the
    year is NA or no line is set) and where the value came from, from the policy (`policy_values`).
    Rows without a line are left unjudged with one diagnostic naming the config key; when no row has
    one the rule is skipped, saying so. A line is never guessed."""
    found = policy_values(ctx, "households", "monitoring_line", years, rows=years.notna().to_numpy())
    return found.values, found.sources


def risks(ctx: AuditContext) -> pd.DataFrame:
    """Per household row: the texts of the risk slots present (致贫返贫风险1–5; aliases already
    normalised by the schema's code list)."""

    def compute() -> pd.DataFrame:
        frame = households(ctx, RISK_SLOTS[0])
        return pd.DataFrame({slot: text(frame[slot]) for slot in RISK_SLOTS if slot in frame})

    return ctx.cached("mn.risks", compute)


def has_risk(ctx: AuditContext, risk: str) -> pd.Series:
    return risks(ctx).eq(risk).any(axis=1)


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
            out &= text_in(members["义务教育阶段未上学原因"], ("",))
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
    era="monitoring",
    needs=("households",),
    columns={"households": (HOUSEHOLD_TYPE, CATEGORY, INCOME)},
    params=NotMonitoredParams,
    what="数据年度 2021 年及以后，户类型属于 monitor_population（默认 脱贫户），监测对象类别为空，且人均纯收入低于"
    "（<）当年防返贫监测线（参数 monitoring_line，按年度；恰好等于监测线不报告）。所需年度没有监测线时规则跳过并说明。",
    why=MONITORING_BASIS + "家庭年人均纯收入低于当年监测范围的脱贫户应纳入监测。",
    example=Example(
        "2023 年脱贫户人均纯收入 7299.99 元，监测线 7300 元（配置 [monitoring_line] 2023 = 7300），监测对象类别为空"
        " → MN101。",
        {"households": [monitored_household(监测对象类别=None, 人均纯收入=7299.99, 年度=2023)]},
        near_miss={"households": {0: {"人均纯收入": 7300}}},
        near_miss_text="人均纯收入恰好等于监测线 7300 元",
        year=2023,
        config=LINE_2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (CATEGORY,)},
    params=EducationAgeParams,
    what="监测对象类别为空的户存在下列任一缺口：是否危房户 = 是；是否解决安全饮用水 = 否；是否通生活用电 = 否；"
    "是否义务教育阶段适龄儿童少年失学辍学 = 是，或有成员符合 MN111(1)（义务教育年龄未在校且无未上学原因）；"
    "是否有家庭成员未参加城乡居民（职工）基本医疗保险 = 是，或有成员符合 MN111(2)（两项基本医保均非“是”且至少一项为"
    "“否”）。缺少的列对应的条件不判断。消息列出全部缺口。",
    why=MONITORING_BASIS + "“三保障”和饮水安全出现缺口是纳入监测的风险条件。",
    example=Example(
        "一般农户 是否危房户 = 是，监测对象类别为空 → MN102（缺口：是否危房户=是）。",
        {"households": [{"户编号": H1, "户类型": "一般农户", "监测对象类别": None, "是否危房户": "是"}]},
        near_miss={"households": {0: {"是否危房户": "否"}}},
        near_miss_text="是否危房户 = 否（没有缺口）",
        year=2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (CATEGORY, HOUSEHOLD_TYPE)},
    what="监测对象类别为“脱贫不稳定户”而户类型不是“脱贫户”，或为“边缘易致贫户”而户类型是“脱贫户”。",
    why="脱贫不稳定户只能是脱贫户；边缘易致贫户是一般农户中收入略高于监测线或有风险的户（防返贫监测对象认定口径）。",
    example=Example(
        "监测对象类别 = 脱贫不稳定户，户类型 = 一般农户 → MN104（应为脱贫户）。",
        {"households": [monitored_household(户类型="一般农户")]},
        near_miss={"households": {0: {"监测对象类别": "边缘易致贫户"}}},
        near_miss_text="一般农户的监测对象类别为边缘易致贫户",
        year=2023,
    ),
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
    era="monitoring",
    needs=("households", "members"),
    columns={"households": (CATEGORY, RESOLVED, RISK_SLOTS[0], HID), "members": (HID, "劳动技能")},
    params=LackLabourParams,
    what="监测户、风险未消除、致贫/返贫风险含“缺劳动力”，而劳动力成员（劳动技能属于 labour_skills，默认普通劳动力、"
    "技能劳动力，且年龄在政策参数 working_age 内）占家庭成员的比例大于（>）lack_labour_max_share（默认 25%）；"
    "恰好等于不报告。",
    why="“缺劳动力”风险应与家庭成员的劳动能力相符；劳动力充足的户登记缺劳动力，风险类型可能不实。",
    example=Example(
        "监测户未消除，风险1 = 缺劳动力，4 名成员中 2 名 40 岁普通劳动力（50% > 25%）→ MN106。",
        {
            "households": [monitored_household(致贫返贫风险1="缺劳动力")],
            "members": [
                monitored_person(),
                monitored_person(姓名="李秀英", 证件号码=id_number("19830101", 122), 与户主关系="配偶"),
                monitored_person(
                    姓名="张小明",
                    证件号码=id_number("20130501", 113),
                    与户主关系="之子",
                    在校生状况="小学",
                    劳动技能="无劳动力",
                ),
                monitored_person(
                    姓名="张德发",
                    证件号码=id_number("19500101", 115),
                    与户主关系="之父",
                    劳动技能="丧失劳动力",
                ),
            ],
        },
        near_miss={"members": {1: {"劳动技能": "丧失劳动力"}}},
        near_miss_text="配偶丧失劳动力，4 名成员中 1 名劳动力，恰好 25%（lack_labour_max_share）",
        year=2023,
        title=EXPORTED,
    ),
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
    era="monitoring",
    needs=("members", "households"),
    columns={"members": (HID,), "households": (HID,)},
    params=EducationAgeParams,
    what="脱贫户或监测户的成员：（1）年龄在义务教育年龄内（参数 compulsory_education_age，默认 6–15 岁，按导出时间"
    "或数据年度 12 月 31 日计），在校生状况为空、非在校生，或 7 岁及以上仍为学龄前儿童/学前教育，且义务教育阶段未上学原因"
    "为空（无此列时视为未登记原因）；（2）两项基本医疗保险（城乡居民、城镇职工）都不是“是”，且至少一项为“否”。"
    "缺少在校生状况列时（1）不判断，缺少两个医保列时（2）不判断。",
    why="义务教育和基本医疗有保障是“三保障”的要求，过渡期内脱贫人口和监测对象须持续保障（控辍保学、参保全覆盖）。",
    example=Example(
        "脱贫户成员 2008 年 1 月出生（导出时 15 岁），在校生状况 = 非在校生，义务教育阶段未上学原因为空 → MN111。",
        {
            "households": [
                monitored_household(
                    监测对象类别=None, 致贫返贫风险1=None, 风险是否已消除=None, 识别监测时间=None
                )
            ],
            "members": [
                monitored_person(
                    证件号码=id_number("20080101", 112),
                    姓名="张小明",
                    与户主关系="之子",
                    劳动技能="无劳动力",
                    义务教育阶段未上学原因=None,
                )
            ],
        },
        near_miss={"members": {0: {"证件号码": id_number("20071218", 112)}}},
        near_miss_text="成员 2007-12-18 出生，导出当天满 16 岁，已过义务教育年龄",
        flagged=("members", 0),
        year=2023,
        title=EXPORTED,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (RESOLVED, METHOD, ELIMINATED)},
    params=MonitoringLine,
    what="风险已消除、风险消除方式 = 帮扶消除，而消除时收入（有“风险消除后人均纯收入”时取它，否则取人均纯收入）低于（<）"
    "消除监测时间所在年度的防返贫监测线（参数 monitoring_line）。所需年度没有监测线时规则跳过并说明。",
    why="风险消除须家庭人均纯收入稳定超过当年监测线（各省风险消除认定口径）。",
    example=Example(
        "202306 帮扶消除，风险消除后人均纯收入 7299.99 元，2023 年监测线 7300 元（配置）→ MN121。",
        {
            "households": [
                monitored_household(
                    风险是否已消除="是",
                    风险消除方式="帮扶消除",
                    消除监测时间=202306,
                    风险消除后人均纯收入=7299.99,
                )
            ]
        },
        near_miss={"households": {0: {"风险消除后人均纯收入": 7300}}},
        near_miss_text="风险消除后人均纯收入恰好等于监测线 7300 元",
        year=2023,
        config=LINE_2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (RESOLVED, METHOD, ELIMINATED)},
    params=MonitoringLine,
    what="同 MN121，但收入在 [监测线, 监测线 × near_line_band]（政策参数，默认 1.05）之内，两端都含，按分比较。",
    why="收入刚过监测线即标注消除，返贫风险仍高；风险消除要求收入“稳定”超过监测线。",
    example=Example(
        "202306 帮扶消除，风险消除后人均纯收入 7665 元，2023 年监测线 7300 元（配置），上限 7300 × 1.05 = 7665 → MN122。",
        {
            "households": [
                monitored_household(
                    风险是否已消除="是",
                    风险消除方式="帮扶消除",
                    消除监测时间=202306,
                    风险消除后人均纯收入=7665,
                )
            ]
        },
        near_miss={"households": {0: {"风险消除后人均纯收入": 7665.01}}},
        near_miss_text="7665.01 元，高于监测线的 1.05 倍（near_line_band）",
        year=2023,
        config=LINE_2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (RESOLVED,)},
    params=EducationAgeParams,
    what="风险已消除，而下列任一成立：是否危房户 = 是；是否解决安全饮用水 = 否；风险消除后是否住房损毁 = 是；风险消除后是否"
    "饮水设施损毁 = 是；风险消除后是否义务教育阶段适龄儿童少年失学辍学 = 是；风险消除后是否有家庭成员未参加基本医疗保险 = 是；"
    "有成员符合 MN111。缺少的列对应的条件不判断。",
    why="风险消除须“三保障”和饮水安全有保障（各省风险消除认定口径）。",
    example=Example(
        "风险是否已消除 = 是，风险消除后是否住房损毁 = 是 → MN123。",
        {
            "households": [
                monitored_household(
                    风险是否已消除="是",
                    风险消除方式="帮扶消除",
                    消除监测时间=202310,
                    风险消除后是否住房损毁="是",
                )
            ]
        },
        near_miss={"households": {0: {"风险消除后是否住房损毁": "否"}}},
        near_miss_text="风险消除后是否住房损毁 = 否",
        year=2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (RESOLVED, METHOD, IDENTIFIED, ELIMINATED)},
    params=EliminationSpeedParams,
    what="风险已消除、帮扶消除，且消除监测时间与识别监测时间相差的月数（按 YYYYMM 计）小于（<）elimination_min_months"
    "（默认 2：识别当月或次月即消除）。消除监测时间早于识别监测时间的是时间颠倒，由 DQ070 报告，这里不报。",
    why="帮扶消除须帮扶措施见效、收入稳定，识别当月或次月即消除通常不实（省级数据核查口径；部分县要求半年）。",
    example=Example(
        "识别监测时间 202304，消除监测时间 202305，帮扶消除（相差 1 个月 < 2）→ MN124。",
        {
            "households": [
                monitored_household(风险是否已消除="是", 风险消除方式="帮扶消除", 消除监测时间=202305)
            ]
        },
        near_miss={"households": {0: {"消除监测时间": 202306}}},
        near_miss_text="202306 消除，恰好相隔 2 个月（elimination_min_months）",
        year=2023,
    ),
)
def mn124(ctx: AuditContext, params: EliminationSpeedParams) -> pd.DataFrame:
    frame = households(ctx, RESOLVED, METHOD, IDENTIFIED, ELIMINATED)
    gap = months(frame[ELIMINATED]) - months(frame[IDENTIFIED])
    # A 消除 before the 识别 is a data error (DQ070), not a fast elimination: no negative gaps here.
    flagged = helped_out(ctx) & ((gap >= 0) & (gap < params.elimination_min_months)).fillna(False).astype(
        bool
    )
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
    era="monitoring",
    needs=("households", "members"),
    columns={"households": (RESOLVED, HID), "members": (HID, "劳动技能")},
    what="风险已消除，而该户每名成员的劳动技能都是无劳动力或丧失劳动力（至少一名成员）。",
    why="整户无劳动能力的户落实兜底保障后仍应保持监测，不标注风险消除（多省防返贫监测问答口径）。",
    example=Example(
        "风险是否已消除 = 是，两名成员劳动技能均为丧失劳动力 → MN125。",
        {
            "households": [
                monitored_household(风险是否已消除="是", 风险消除方式="帮扶消除", 消除监测时间=202310)
            ],
            "members": [
                monitored_person(劳动技能="丧失劳动力"),
                monitored_person(
                    姓名="李秀英",
                    证件号码=id_number("19830101", 122),
                    与户主关系="配偶",
                    劳动技能="丧失劳动力",
                ),
            ],
        },
        near_miss={"members": {1: {"劳动技能": "普通劳动力"}}},
        near_miss_text="配偶为普通劳动力",
        year=2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (METHOD,)},
    what="风险消除方式 = 帮扶消除，而全部帮扶措施列（产业帮扶 … 生产生活条件改善，导出中有的列）都为空。",
    why="帮扶消除以落实帮扶措施为前提；没有措施记录的帮扶消除无据可查。",
    example=Example(
        "风险消除方式 = 帮扶消除，产业帮扶、就业帮扶、健康帮扶列都为空 → MN126。",
        {
            "households": [
                monitored_household(
                    风险是否已消除="是",
                    风险消除方式="帮扶消除",
                    消除监测时间=202310,
                    产业帮扶=None,
                    就业帮扶=None,
                    健康帮扶=None,
                )
            ]
        },
        near_miss={"households": {0: {"健康帮扶": "医疗救助"}}},
        near_miss_text="健康帮扶 = 医疗救助",
        year=2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (CATEGORY, RESOLVED, IDENTIFIED)},
    params=MeasureGraceParams,
    what="监测户、风险未消除，基准月（导出时间，否则数据年度 12 月）与识别监测时间相差的月数大于等于"
    "（≥）measure_grace_months（默认 1），而全部帮扶措施列都为空。",
    why="监测对象识别后应及时落实针对性帮扶措施（《关于健全防止返贫动态监测和帮扶机制的指导意见》）。",
    example=Example(
        "识别监测时间 202311，导出时间 2023-12-18（相差 1 个月，达到 measure_grace_months 1），所有措施列为空 → MN131。",
        {
            "households": [
                monitored_household(识别监测时间=202311, 产业帮扶=None, 就业帮扶=None, 健康帮扶=None)
            ]
        },
        near_miss={"households": {0: {"识别监测时间": 202312}}},
        near_miss_text="202312 识别，到导出月还不满 1 个月",
        year=2023,
        title=EXPORTED,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (CATEGORY, RISK_SLOTS[0])},
    params=RiskMeasuresParams,
    what="监测户的每个风险 R（以及户标志 是否义务教育阶段适龄儿童少年失学辍学 = 是 → “失学辍学”、是否有家庭成员未参加基本"
    "医疗保险 = 是 → “未参保”），参数 risk_measures[R] 中的措施列没有一列有值（只看导出中有的列；R 的列都不在导出中时"
    "不判断）。默认：因病→健康帮扶/社会帮扶/综合保障；因学→教育帮扶/义务教育保障/社会帮扶；因残→综合保障/社会帮扶；"
    "因安全住房→住房安全保障/搬迁；因安全饮水→饮水安全保障；失学辍学→义务教育保障/教育帮扶；未参保→健康帮扶/社会帮扶；"
    "缺劳动力→综合保障/公益岗位帮扶；因务工就业不稳→就业帮扶/公益岗位帮扶。",
    why="帮扶措施应针对风险类型精准落实（“缺什么补什么”）。",
    example=Example(
        "监测户风险1 = 因病，健康帮扶、社会帮扶、综合保障均为空（产业帮扶有值）→ MN132。",
        {"households": [monitored_household(产业帮扶="种植业", 健康帮扶=None, 社会帮扶=None, 综合保障=None)]},
        near_miss={"households": {0: {"综合保障": "农村低保"}}},
        near_miss_text="综合保障 = 农村低保（因病的对应措施之一）",
        year=2023,
    ),
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


@rule(
    "MN133",
    "有劳动力的监测户未落实开发式帮扶",
    severity="warning",
    era="monitoring",
    needs=("households", "members"),
    columns={"households": (CATEGORY, RESOLVED, IDENTIFIED, HID), "members": (HID, "劳动技能")},
    params=DevelopmentalParams,
    what="监测户、风险未消除、至少一名劳动力成员（劳动技能属于 labour_skills 且年龄在 working_age 内），识别后已满"
    " developmental_grace_months（默认 6）个月（基准月 − 识别监测时间 ≥ 6），而开发式措施列（developmental_columns，"
    "默认产业帮扶、就业帮扶、金融帮扶、公益岗位帮扶）中没有 non_developmental_values（默认 其他、技能培训）以外的值。",
    why="有劳动能力的监测户应落实产业、就业等开发式帮扶措施（2025 年全国防返贫工作要求）。",
    example=Example(
        "识别监测时间 202306，导出 2023-12-18（6 个月，达到 developmental_grace_months 6），有 40 岁普通劳动力，"
        "就业帮扶 = 技能培训、其余开发式措施为空 → MN133。",
        {
            "households": [
                monitored_household(
                    识别监测时间=202306, 产业帮扶=None, 就业帮扶="技能培训", 金融帮扶=None, 公益岗位帮扶=None
                )
            ],
            "members": [monitored_person()],
        },
        near_miss={"households": {0: {"识别监测时间": 202307}}},
        near_miss_text="202307 识别，到导出月 5 个月",
        year=2023,
        title=EXPORTED,
    ),
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
    era="monitoring",
    needs=("households", "members"),
    columns={"households": (HID,), "members": (HID, "劳动技能")},
    what="脱贫户或监测户每名成员都是无劳动力或丧失劳动力，且（1）没有成员享受低保或特困供养；或（2）监测户风险未消除而"
    "“整户无劳动能力兜底保障户”不是“是”。（3）标注为整户无劳动能力兜底保障户，却有劳动年龄内（working_age）的普通或技能"
    "劳动力成员。缺少的列对应的条件不判断。",
    why="无劳动能力的监测户和脱贫户应纳入低保、特困等兜底保障（“有劳动能力的开发式帮扶，无劳动能力的兜底保障”）。",
    example=Example(
        "脱贫户两名成员均为丧失劳动力，享受低保政策情况均为未享受 → MN141。",
        {
            "households": [{"户编号": H1, "户类型": "脱贫户", "监测对象类别": None}],
            "members": [
                monitored_person(
                    证件号码=id_number("19480101", 111), 劳动技能="丧失劳动力", 享受低保政策情况="未享受"
                ),
                monitored_person(
                    姓名="李秀英",
                    证件号码=id_number("19500101", 122),
                    与户主关系="配偶",
                    劳动技能="丧失劳动力",
                    享受低保政策情况="未享受",
                ),
            ],
        },
        near_miss={"members": {0: {"享受低保政策情况": "农村低保"}}},
        near_miss_text="户主享受农村低保",
        year=2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (CATEGORY, RESOLVED, IDENTIFIED, INCOME)},
    params=IdentificationIncomeParams,
    what="监测户、风险未消除，识别监测时间的年份不早于 identification_check_from（默认 2023），人均纯收入大于（>）"
    "identification_income_max（默认 20000 元），且合规自付支出为空或 0（没有刚性支出可以解释）。导出中没有合规自付支出列时"
    "规则跳过。",
    why="收入远高于监测线又无大额刚性支出的户纳入监测，识别依据可能不足（省级数据核查口径）。",
    example=Example(
        "202305 识别的监测户，人均纯收入 20000.01 元，合规自付支出 0 → MN103。",
        {"households": [monitored_household(识别监测时间=202305, 人均纯收入=20000.01, 合规自付支出=0)]},
        near_miss={"households": {0: {"人均纯收入": 20000}}},
        near_miss_text="人均纯收入恰好 20000 元（identification_income_max）",
        year=2023,
    ),
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
    era="monitoring",
    needs=("households",),
    columns={"households": (CATEGORY, RESOLVED, RISK_SLOTS[0], "合规自付支出")},
    what="监测户、风险未消除、风险含“因病”，而合规自付支出为空或 0。",
    why="因病风险以医疗合规自付支出为主要依据；没有自付支出的因病风险识别依据不足。",
    example=Example(
        "监测户风险1 = 因病，合规自付支出 0 → MN108。",
        {"households": [monitored_household(合规自付支出=0)]},
        near_miss={"households": {0: {"合规自付支出": 0.01}}},
        near_miss_text="合规自付支出 0.01 元",
        year=2023,
    ),
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
    era="monitoring",
    needs=("villages",),
    columns={"villages": ("是否出列", "到乡镇是否通硬化路")},
    params=RequireBus,
    what="是否出列 = 是，而到乡镇是否通沥青（水泥）路 = 否；参数 require_bus 为 true 时还要求是否通客运班车 = 否才报告。",
    why="贫困村出列要求通硬化路等基础设施达标（贫困村退出标准）。",
    example=Example(
        "出列村 到乡镇是否通沥青（水泥）路 = 否 → MN171。",
        {"villages": [{"县": "宿松县", "村": "城西村", "是否出列": "是", "到乡镇是否通硬化路": "否"}]},
        near_miss={"villages": {0: {"到乡镇是否通硬化路": "是"}}},
        near_miss_text="到乡镇已通沥青（水泥）路",
        year=2023,
    ),
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


# ------------------------------------------------------------------------------------ work: shared facts

PUBLIC_CHANNEL = r"公益性?岗位"


WORKING_SOURCES = "务工记录（是否已务工 = 是）、务工所在地、公益性岗位"


def mentions(ctx: AuditContext, column: str, pattern: str) -> pd.Series:
    """Per household row: one of the measure column's values matches `pattern` (absent column: False)."""
    frame = households(ctx)
    if column not in frame:
        return pd.Series(False, index=frame.index)
    values = measure_values(ctx, column)
    hits = values.index[values.str.contains(pattern, regex=True).to_numpy(dtype=bool)]
    return pd.Series(frame.index.isin(hits), index=frame.index)


def any_of(parts: list[tuple[pd.Series, str]], index: pd.Index) -> pd.Series:
    if not parts:
        return pd.Series(False, index=index)
    return pd.Series(np.logical_or.reduce([f.to_numpy(dtype=bool) for f, _ in parts]), index=index)


# ------------------------------------------------------------------------------------ risk (continued)


class ReducedParams(RuleParams):
    # Count members whose 成员状态/人员状态 is 自然减少 (died, married out) as evidence of the risk.
    include_reduced: bool = False


REDUCED_COLUMNS = ("成员状态", "人员状态", "变更类型")
IN_SCHOOL_EXCLUDED = ("", "非在校生", "学龄前儿童")


# A 20-character 残疾人证号 as written (x in either case; Python's \d), and with ASCII digits for arrow
CARD_NUMBER = re.compile(r"\d{17}[\dXx]\d{2}")
CARD_NUMBER_ASCII = r"[0-9]{17}[0-9Xx][0-9]{2}"


def disabled_members(ctx: AuditContext) -> pd.Series:
    """Per member row: 健康状况 contains 残疾, or a 残疾人证 (证件类型, or a 20-character number)."""
    members = ctx.frame("members")
    out = pd.Series(False, index=members.index)
    if "健康状况" in members:
        out |= text(members["健康状况"]).str.contains("残疾", regex=False)
    if "证件类型" in members:
        out |= text_in(members["证件类型"], ("残疾人证",))
    if ID in members:
        # arrow's kernel for ASCII numbers, not a Python match per member
        written = pc.utf8_trim_whitespace(arrow_text_plain(raw_values(ctx, "members", ID)))
        out |= fullmatches(written, CARD_NUMBER, CARD_NUMBER_ASCII)
    return out


@rule(
    "MN105",
    "风险类型与成员情况矛盾",
    severity="warning",
    era="monitoring",
    needs=("households", "members"),
    columns={"households": (CATEGORY, RISK_SLOTS[0], HID), "members": (HID,)},
    params=ReducedParams,
    what="监测户的风险含“因病”，而没有成员的健康状况含患有大病或长期慢性病；含“因残”，而没有残疾成员（健康状况含残疾，"
    "或证件类型为残疾人证、证件号码为 20 位残疾人证号）；含“因学”，而没有在校成员（在校生状况不是空、非在校生、学龄前儿童）。"
    "自然减少的成员（成员状态列）默认不计，参数 include_reduced = true 时计入。缺少的成员列对应的风险不判断。",
    why="风险类型须有家庭成员的实际情况为依据；没有病人、残疾人或学生的户登记因病、因残、因学，风险识别可能不实。",
    example=Example(
        "监测户风险1 = 因病，两名成员健康状况均为健康 → MN105。",
        {
            "households": [monitored_household()],
            "members": [
                monitored_person(),
                monitored_person(姓名="李秀英", 证件号码=id_number("19830101", 122), 与户主关系="配偶"),
            ],
        },
        near_miss={"members": {1: {"健康状况": "长期慢性病"}}},
        near_miss_text="配偶健康状况 = 长期慢性病",
        year=2023,
    ),
)
def mn105(ctx: AuditContext, params: ReducedParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY)
    members = ctx.frame("members", HID)
    counted = pd.Series(True, index=members.index)
    reduced = next((c for c in REDUCED_COLUMNS if c in members), None)
    if reduced and not params.include_reduced:
        counted = ~text(members[reduced]).str.contains("自然减少", regex=False)
    evidence: list[tuple[str, pd.Series, str]] = []
    if "健康状况" in members:
        ill = text(members["健康状况"]).str.contains("患有大病|长期慢性病", regex=True)
        evidence.append(("因病", ill, "没有成员患有大病或长期慢性病"))
    if any(c in members for c in ("健康状况", "证件类型", ID)):
        evidence.append(("因残", disabled_members(ctx), "没有残疾成员（健康状况、残疾人证）"))
    if "在校生状况" in members:
        school = ~text(members["在校生状况"]).isin(IN_SCHOOL_EXCLUDED)
        evidence.append(("因学", school, "没有在校成员"))
    if not evidence:
        raise SkipRule("members 表缺少列 健康状况、证件类型、在校生状况")
    parts = [
        (monitored(ctx) & has_risk(ctx, risk) & (members_per_household(ctx, found & counted) == 0), f"风险为{risk}，但{why}")
        for risk, found, why in evidence
    ]  # fmt: skip
    at = frame.index[any_of(parts, frame.index).to_numpy()]
    message = gap_list(parts, at)
    if reduced and not params.include_reduced:
        message = message + "（自然减少成员不计，参数 include_reduced）"
    return ctx.flag("households", at, message, column=RISK_SLOTS[0])


@rule(
    "MN107",
    "务工就业不稳风险但无劳动力或无务工经历",
    severity="warning",
    era="monitoring",
    needs=("households", "members"),
    columns={"households": (CATEGORY, RISK_SLOTS[0], HID), "members": (HID, "劳动技能")},
    what="监测户的风险含“因务工就业不稳”，而（1）没有普通劳动力、技能劳动力或弱劳动力或半劳动力成员；或（2）风险未消除，且没有"
    "成员有务工记录（已外出务工信息中 是否已务工 = 是，按证件号码对应）、务工所在地或公益性岗位。三项来源都不在数据中时（2）不判断。",
    why="务工就业不稳风险以家中有务工劳动力为前提；无劳动力或无人务工的户应登记缺劳动力等其他风险。",
    example=Example(
        "监测户风险1 = 因务工就业不稳，两名成员劳动技能均为丧失劳动力 → MN107。",
        {
            "households": [monitored_household(致贫返贫风险1="因务工就业不稳")],
            "members": [
                monitored_person(劳动技能="丧失劳动力"),
                monitored_person(
                    姓名="李秀英",
                    证件号码=id_number("19830101", 122),
                    与户主关系="配偶",
                    劳动技能="丧失劳动力",
                ),
            ],
        },
        near_miss={"members": {1: {"劳动技能": "弱劳动力或半劳动力"}}},
        near_miss_text="配偶为弱劳动力或半劳动力（也算劳动力）",
        year=2023,
    ),
)
def mn107(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY)
    members = ctx.frame("members", "劳动技能")
    risky = monitored(ctx) & has_risk(ctx, "因务工就业不稳")
    able = text(members["劳动技能"]).isin((*LABOUR_SKILLS, "弱劳动力或半劳动力"))
    parts = [(risky & (members_per_household(ctx, able) == 0), "没有普通、技能或弱劳动力成员")]
    with contextlib.suppress(SkipRule):
        nobody = members_per_household(ctx, working(ctx)) == 0
        if RESOLVED in frame:
            parts.append((risky & unresolved(ctx) & nobody, f"风险未消除，且没有成员有{WORKING_SOURCES}"))
    at = frame.index[any_of(parts, frame.index).to_numpy()]
    return ctx.flag("households", at, "风险为因务工就业不稳，但" + gap_list(parts, at), column=RISK_SLOTS[0])


class GapRisksParams(RuleParams):
    # gap column → the risks any of which answers it (the gap: 是否解决安全饮用水 = 否, the others = 是)
    gap_risks: dict[str, tuple[str, ...]] = Field(
        default_factory=lambda: {
            "是否解决安全饮用水": ("因安全饮水",),
            "是否危房户": ("因安全住房",),
            "是否义务教育阶段适龄儿童少年失学辍学": ("因学",),
            "是否有成员未参加基本医疗保险": ("因病",),
        }
    )


@rule(
    "MN109",
    "三保障缺口与风险类型不对应",
    severity="warning",
    era="monitoring",
    needs=("households",),
    columns={"households": (CATEGORY, RESOLVED, RISK_SLOTS[0])},
    params=GapRisksParams,
    what="监测户、风险未消除，户上有缺口标志却没有对应风险（参数 gap_risks）：是否解决安全饮用水 = 否 而无“因安全饮水”；"
    "是否危房户 = 是 而无“因安全住房”；是否义务教育阶段适龄儿童少年失学辍学 = 是 而无“因学”；是否有家庭成员未参加城乡居民"
    "（职工）基本医疗保险 = 是 而无“因病”。导出中没有的缺口列不判断。",
    why="风险类型应反映户的实际缺口，帮扶措施据风险类型制定（“缺什么补什么”）。",
    example=Example(
        "监测户未消除，是否危房户 = 是，风险1 = 因病，风险2 为空（无因安全住房）→ MN109。",
        {"households": [monitored_household(致贫返贫风险2=None, 是否危房户="是")]},
        near_miss={"households": {0: {"致贫返贫风险2": "因安全住房"}}},
        near_miss_text="风险2 = 因安全住房",
        year=2023,
    ),
)
def mn109(ctx: AuditContext, params: GapRisksParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY, RESOLVED)
    parts = []
    for column, answers in params.gap_risks.items():
        if column not in frame:
            continue
        gap = is_no(frame, column) if column == "是否解决安全饮用水" else as_bool(frame, column)
        answered = np.logical_or.reduce([has_risk(ctx, r).to_numpy() for r in answers])
        value = "否" if column == "是否解决安全饮用水" else "是"
        parts.append((gap & ~answered, f"{column}={value} 而风险中没有{'/'.join(answers)}"))
    if not parts:
        raise SkipRule("households 表没有 gap_risks 所列的缺口列")
    flagged = monitored(ctx) & unresolved(ctx) & any_of(parts, frame.index)
    at = flagged.index[flagged.to_numpy()]
    return ctx.flag("households", at, gap_list(parts, at) + "（参数 gap_risks）", column=RISK_SLOTS[0])


@rule(
    "MN110",
    "户级三保障标志与成员情况不符",
    severity="warning",
    era="monitoring",
    needs=("households", "members"),
    columns={"households": (HID,), "members": (HID,)},
    params=EducationAgeParams,
    what="（1）是否义务教育阶段适龄儿童少年失学辍学 = 是，而没有成员符合 MN111(1)（义务教育年龄 compulsory_education_age 内"
    "未在校且无未上学原因），或 = 否 而有成员符合；（2）是否有家庭成员未参加城乡居民（职工）基本医疗保险 = 是，而每名成员都有"
    "一项基本医保为“是”，或 = 否 而有成员两项基本医保都不是“是”且至少一项为“否”（MN111(2)）。缺少的列对应的条件不判断。",
    why="户级三保障标志汇总自成员信息，两者不一致时监测对象识别（MN102）和风险消除（MN123）判断失真。",
    example=Example(
        "是否义务教育阶段适龄儿童少年失学辍学 = 否，2008 年 1 月出生（导出时 15 岁）的成员在校生状况 = 非在校生且无未上学原因"
        " → MN110。",
        {
            "households": [monitored_household(是否义务教育阶段适龄儿童少年失学辍学="否")],
            "members": [
                monitored_person(
                    证件号码=id_number("20080101", 112),
                    姓名="张小明",
                    与户主关系="之子",
                    劳动技能="无劳动力",
                    义务教育阶段未上学原因=None,
                )
            ],
        },
        near_miss={"members": {0: {"证件号码": id_number("20071218", 112)}}},
        near_miss_text="成员 2007-12-18 出生，导出当天满 16 岁，已过义务教育年龄",
        year=2023,
        title=EXPORTED,
    ),
)
def mn110(ctx: AuditContext, params: EducationAgeParams) -> pd.DataFrame:
    frame = households(ctx)
    members = ctx.frame("members")
    band = education_band(ctx, params)
    parts = []
    school_flag = "是否义务教育阶段适龄儿童少年失学辍学"
    if school_flag in frame and "在校生状况" in members:
        out_of_school = members_per_household(ctx, education_gap(ctx, band)) > 0
        parts.append(
            (
                as_bool(frame, school_flag) & ~out_of_school,
                f"{school_flag}=是，但没有 {band[0]}–{band[1]} 岁未在校且无未上学原因的成员（参数 compulsory_education_age）",
            )
        )
        parts.append(
            (
                is_no(frame, school_flag) & out_of_school,
                f"{school_flag}=否，但有 {band[0]}–{band[1]} 岁成员未在校且无未上学原因（参数 compulsory_education_age）",
            )
        )
    insured_flag = "是否有成员未参加基本医疗保险"
    present = [c for c in BASIC_INSURANCE if c in members]
    if insured_flag in frame and present:
        insured = np.logical_or.reduce([as_bool(members, c) for c in present])
        all_insured = (members_per_household(ctx, insured) == members_per_household(ctx)) & (
            members_per_household(ctx) > 0
        )
        uninsured = members_per_household(ctx, insurance_gap(ctx)) > 0
        parts.append(
            (
                as_bool(frame, insured_flag) & all_insured,
                "有家庭成员未参加基本医疗保险=是，但每名成员都参加了基本医疗保险",
            )
        )
        parts.append(
            (
                is_no(frame, insured_flag) & uninsured,
                "有家庭成员未参加基本医疗保险=否，但有成员两项基本医疗保险都未参加",
            )
        )
    if not parts:
        raise SkipRule("缺少户级失学辍学/未参保标志列或成员的在校、医保列")
    at = frame.index[any_of(parts, frame.index).to_numpy()]
    return ctx.flag("households", at, gap_list(parts, at), column=school_flag if school_flag in frame else insured_flag)  # fmt: skip


# ------------------------------------------------------------------------------------ elimination (continued)


def part_income(frame: pd.DataFrame, column: str) -> pd.Series:
    """An income part at elimination: its 风险消除后… version where filled, else the column (NaN: not
    judged)."""
    base = frame[column] if column in frame else pd.Series(np.nan, index=frame.index)
    after = f"风险消除后{column}"
    if after in frame:
        base = frame[after].where(frame[after].notna(), base)
    return base.astype("float64")


WELFARE_VALUES = r"低保(?!边缘)|特困|残疾人.*补贴"


@rule(
    "MN127",
    "消除后收入分项与所享措施不符",
    severity="warning",
    era="monitoring",
    needs=("households",),
    columns={"households": (RESOLVED,)},
    what="风险已消除，且（1）产业帮扶有值而生产经营性收入 ≤ 0；或（2）就业帮扶或公益岗位帮扶有值而工资性收入 ≤ 0；或"
    "（3）综合保障含低保、特困供养或残疾人补贴而转移性收入 ≤ 0。收入分项有“风险消除后…”列且有值时取它；分项为空不判断。",
    why="帮扶措施应在收入分项中体现：产业帮扶带来经营收入，就业和公益岗位带来工资收入，兜底保障计入转移性收入。",
    example=Example(
        "风险已消除，就业帮扶 = 外出务工补贴，风险消除后工资性收入 0 元 → MN127。",
        {
            "households": [
                monitored_household(
                    风险是否已消除="是",
                    风险消除方式="帮扶消除",
                    消除监测时间=202310,
                    就业帮扶="外出务工补贴",
                    风险消除后工资性收入=0,
                )
            ]
        },
        near_miss={"households": {0: {"风险消除后工资性收入": 0.01}}},
        near_miss_text="风险消除后工资性收入 0.01 元",
        year=2023,
    ),
)
def mn127(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx, RESOLVED)
    checks = [
        ("生产经营性收入", ("产业帮扶",), None, "产业帮扶"),
        ("工资性收入", ("就业帮扶", "公益岗位帮扶"), None, "就业帮扶/公益岗位帮扶"),
        ("转移性收入", ("综合保障",), WELFARE_VALUES, "综合保障含低保、特困供养或残疾人补贴"),
    ]
    parts = []
    for income, columns, pattern, label in checks:
        present = [c for c in columns if c in frame]
        if not present or (income not in frame and f"风险消除后{income}" not in frame):
            continue
        if pattern is None:
            has = np.logical_or.reduce([(text(frame[c]) != "").to_numpy() for c in present])
        else:
            has = mentions(ctx, present[0], pattern).to_numpy()
        value = part_income(frame, income)
        zero = (value <= 0).fillna(False).to_numpy(dtype=bool)
        parts.append((pd.Series(has & zero, index=frame.index), f"{label}有值，但{income}为 0 或负数"))
    if not parts:
        raise SkipRule("households 表缺少措施列或工资性、生产经营性、转移性收入列")
    flagged = resolved(ctx) & any_of(parts, frame.index)
    at = flagged.index[flagged.to_numpy()]
    return ctx.flag("households", at, "风险已消除，" + gap_list(parts, at), column=RESOLVED)


# ------------------------------------------------------------------------------------ measures (continued)


@rule(
    "MN134",
    "开发式措施与“实施开发式帮扶措施情况”矛盾",
    severity="warning",
    era="monitoring",
    needs=("households",),
    columns={"households": ("实施开发式帮扶措施情况", HID)},
    params=DevelopmentalColumns,
    what="（1）风险未消除、有劳动力成员（劳动技能属于 labour_skills 且年龄在 working_age 内），开发式措施列有开发式措施，"
    "而实施开发式帮扶措施情况为空或“尚未实施”；（2）实施开发式帮扶措施情况 = 是（已实施），而开发式措施列"
    "（developmental_columns）没有措施，或只有 non_developmental_values（默认 其他、技能培训）。",
    why="“实施开发式帮扶措施情况”应与登记的开发式帮扶措施一致，否则开发式帮扶落实情况统计失真。",
    example=Example(
        "实施开发式帮扶措施情况 = 是，就业帮扶只有技能培训（不算开发式），产业帮扶、金融帮扶、公益岗位帮扶为空 → MN134。",
        {
            "households": [
                monitored_household(
                    实施开发式帮扶措施情况="是",
                    产业帮扶=None,
                    就业帮扶="技能培训",
                    金融帮扶=None,
                    公益岗位帮扶=None,
                )
            ]
        },
        near_miss={"households": {0: {"就业帮扶": "技能培训、外出务工补贴"}}},
        near_miss_text="就业帮扶另有外出务工补贴",
        year=2023,
    ),
)
def mn134(ctx: AuditContext, params: DevelopmentalColumns) -> pd.DataFrame:
    frame = households(ctx, "实施开发式帮扶措施情况")
    status = text(frame["实施开发式帮扶措施情况"])
    has = developmental(ctx, params)
    parts = [
        (status.eq("是") & ~has, f"实施开发式帮扶措施情况为是，但{'、'.join(params.developmental_columns)}没有开发式措施"
         f"（{'、'.join(params.non_developmental_values)}不计，参数 non_developmental_values）"),
    ]  # fmt: skip
    if RESOLVED in frame and ctx.has("members", HID, "劳动技能"):
        labour = members_per_household(ctx, labour_members(ctx, params.labour_skills)) > 0
        pending = status.isin(("", "尚未实施"))
        parts.append((unresolved(ctx) & labour & has & pending, "风险未消除、有劳动力且已登记开发式措施，但实施开发式帮扶措施情况为"
                      + "空或尚未实施"))  # fmt: skip
    at = frame.index[any_of(parts, frame.index).to_numpy()]
    return ctx.flag("households", at, gap_list(parts, at), column="实施开发式帮扶措施情况")


@rule(
    "MN135",
    "综合保障措施与成员享受情况不符",
    severity="warning",
    era="monitoring",
    needs=("households", "members"),
    columns={"households": ("综合保障", HID), "members": (HID,)},
    what="（1）综合保障含低保（不含低保边缘），而没有成员享受低保（享受低保政策情况为城市低保/农村低保，或是否享受农村居民最低生活"
    "保障 = 是）；（2）含特困供养，而没有成员享受特困供养；（3）含残疾人补贴，而没有残疾成员；（4）监测户、风险未消除，有成员享受"
    "低保或特困供养（或户的特困人员救助供养金 > 0），而综合保障中没有对应的低保/特困供养。缺少的成员列对应的条件不判断。",
    why="综合保障（兜底）措施应与民政低保、特困供养的实际享受情况一致，这是“无劳动能力的兜底保障”落实的依据。",
    example=Example(
        "综合保障 = 农村低保，两名成员享受低保政策情况均为未享受 → MN135。",
        {
            "households": [monitored_household(综合保障="农村低保")],
            "members": [
                monitored_person(享受低保政策情况="未享受"),
                monitored_person(
                    姓名="李秀英",
                    证件号码=id_number("19830101", 122),
                    与户主关系="配偶",
                    享受低保政策情况="未享受",
                ),
            ],
        },
        near_miss={"members": {0: {"享受低保政策情况": "农村低保"}}},
        near_miss_text="户主享受农村低保",
        year=2023,
    ),
)
def mn135(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx, "综合保障")
    members = ctx.frame("members")
    dibao, tekun = member_welfare(ctx)
    has_dibao, has_tekun = (members_per_household(ctx, f) > 0 for f in (dibao, tekun))
    says_dibao, says_tekun = mentions(ctx, "综合保障", r"低保(?!边缘)"), mentions(ctx, "综合保障", "特困")
    parts = []
    if any(c in members for c in ("享受低保政策情况", "是否享受低保")):
        parts.append((says_dibao & ~has_dibao, "综合保障含低保，但没有成员享受低保"))
    if any(c in members for c in ("享受特困供养政策情况", "是否特困供养人员")):
        parts.append((says_tekun & ~has_tekun, "综合保障含特困供养，但没有成员享受特困供养"))
    disabled = members_per_household(ctx, disabled_members(ctx)) > 0
    parts.append(
        (mentions(ctx, "综合保障", "残疾人.*补贴") & ~disabled, "综合保障含残疾人补贴，但没有残疾成员")
    )
    if CATEGORY in frame and RESOLVED in frame:
        open_ = monitored(ctx) & unresolved(ctx)
        fund = (frame["五保金"] > 0).fillna(False).astype(bool) if "五保金" in frame else False
        parts.append((open_ & has_dibao & ~says_dibao, "有成员享受低保，但综合保障中没有低保"))
        parts.append((open_ & (has_tekun | fund) & ~says_tekun, "有成员享受特困供养（或特困人员救助供养金 > 0），但综合保障中没有特困供养"))  # fmt: skip
    at = frame.index[any_of(parts, frame.index).to_numpy()]
    return ctx.flag("households", at, gap_list(parts, at), column="综合保障")


class YuluParams(RuleParams):
    # 在校生状况 patterns (* = any ending) of the 中职/高职 students 雨露计划 supports
    yulu_statuses: tuple[str, ...] = ("中职*", "高职高专*", "技师学院*")


def status_matches(status: pd.Series, patterns: tuple[str, ...]) -> pd.Series:
    """Per row: the text matches one of the patterns (`*` = any ending)."""
    regex = "|".join(re.escape(p[:-1]) + ".*" if p.endswith("*") else re.escape(p) for p in patterns)
    return status.str.fullmatch(regex).fillna(False).astype(bool) if patterns else status.eq(None)


@rule(
    "MN136",
    "雨露计划与中高职在校生不符",
    severity="warning",
    era="monitoring",
    needs=("households", "members"),
    columns={"households": ("教育帮扶", HID), "members": (HID, "在校生状况")},
    params=YuluParams,
    what="（1）教育帮扶含雨露计划，而没有成员的在校生状况属于 yulu_statuses（默认 中职*、高职高专*、技师学院*）；（2）监测户有这样"
    "的在校生，而教育帮扶中没有雨露计划。",
    why="雨露计划补助脱贫家庭（含监测帮扶对象家庭）中职、高职在校生，每生每年 3000 元；补助与在校情况应当对应。",
    example=Example(
        "监测户 17 岁成员 在校生状况 = 中职二年级，教育帮扶为空 → MN136。",
        {
            "households": [monitored_household(教育帮扶=None)],
            "members": [
                monitored_person(
                    证件号码=id_number("20060101", 112),
                    姓名="张小明",
                    与户主关系="之子",
                    在校生状况="中职二年级",
                    劳动技能="无劳动力",
                )
            ],
        },
        near_miss={"households": {0: {"教育帮扶": "雨露计划"}}},
        near_miss_text="教育帮扶 = 雨露计划",
        year=2023,
    ),
)
def mn136(ctx: AuditContext, params: YuluParams) -> pd.DataFrame:
    frame = households(ctx, "教育帮扶")
    students = members_per_household(
        ctx, status_matches(text(ctx.frame("members")["在校生状况"]), params.yulu_statuses)
    )
    yulu = mentions(ctx, "教育帮扶", "雨露计划")
    wanted = "、".join(params.yulu_statuses)
    parts = [
        (yulu & (students == 0), f"教育帮扶含雨露计划，但没有 {wanted} 在校生（参数 yulu_statuses）"),
        (monitored(ctx) & (students > 0) & ~yulu, f"有 {wanted} 在校生（参数 yulu_statuses），但教育帮扶中没有雨露计划"),
    ] if CATEGORY in frame else [(yulu & (students == 0), f"教育帮扶含雨露计划，但没有 {wanted} 在校生（参数 yulu_statuses）")]  # fmt: skip
    at = frame.index[any_of(parts, frame.index).to_numpy()]
    return ctx.flag("households", at, gap_list(parts, at), column="教育帮扶")


@rule(
    "MN137",
    "就业或公益岗帮扶但家中无人务工",
    severity="warning",
    era="monitoring",
    needs=("households", "members"),
    columns={"households": (CATEGORY, RESOLVED, HID), "members": (HID,)},
    what="监测户、风险未消除，就业帮扶或公益岗位帮扶有值，而没有成员有务工记录（已外出务工信息中 是否已务工 = 是，按证件号码"
    "对应）、务工所在地或公益性岗位。三项来源都不在数据中时规则跳过。",
    why="就业帮扶、公益岗位帮扶应落实到具体务工成员；家中无人务工，措施可能未落实或登记不实。",
    example=Example(
        "监测户未消除，就业帮扶 = 外出务工补贴，成员没有务工所在地和公益性岗位（无务工记录表）→ MN137。",
        {
            "households": [monitored_household(就业帮扶="外出务工补贴")],
            "members": [monitored_person(务工所在地=None, 公益性岗位类型=None)],
        },
        near_miss={"members": {0: {"务工所在地": "浙江省宁波市"}}},
        near_miss_text="户主务工所在地 = 浙江省宁波市",
        year=2023,
    ),
)
def mn137(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY, RESOLVED)
    present = [c for c in ("就业帮扶", "公益岗位帮扶") if c in frame]
    if not present:
        raise SkipRule("households 表缺少列 就业帮扶 和 公益岗位帮扶")
    helped = np.logical_or.reduce([(text(frame[c]) != "").to_numpy() for c in present])
    nobody = members_per_household(ctx, working(ctx)) == 0
    flagged = monitored(ctx) & unresolved(ctx) & nobody & helped
    at = flagged.index[flagged.to_numpy()]
    filled = pd.Series("", index=at, dtype=object)
    for c in present:
        value = text(frame.loc[at, c])
        filled = filled + np.where(value != "", c + " = " + value + "；", "")
    message = filled.str.rstrip("；") + f"，但没有成员有{WORKING_SOURCES}"
    return ctx.flag("households", at, message, column=present[0])


def work_household_codes(ctx: AuditContext) -> np.ndarray:
    """Per work row: the 户编号 code of the household of the member it names (-1: no member)."""
    position = record_member(ctx, WORK)
    _, key, _ = member_codes(ctx)
    return np.where(position >= 0, key[np.maximum(position, 0)] if len(key) else -1, -1)


def records_per_household(ctx: AuditContext, flag: pd.Series | np.ndarray) -> pd.Series:
    """Per household row: how many work records of its members have `flag`."""
    own, _, n = member_codes(ctx)
    counts = count_per_code(work_household_codes(ctx), n, np.asarray(flag, dtype=bool))
    return pd.Series(gather(counts, own, 0), index=households(ctx).index)


def home_county_of_records(ctx: AuditContext) -> pd.Series:
    """Per work row: the 县 of the household of the member it names (the record's own 县 when the
    person is not among the members): the home county is read from the data, never a constant."""

    def compute() -> pd.Series:
        work = ctx.frame(WORK)
        own_county = text(work["县"]) if "县" in work else pd.Series("", index=work.index, dtype="str")
        members = ctx.frame("members")
        if "县" not in members or not len(members):
            return own_county
        position = record_member(ctx, WORK)
        named = position >= 0
        # taken by arrow at the members' positions (not a Python string per member)
        taken = pc.take(arrow_text_plain(text(members["县"])), pa.array(np.where(named, position, 0)))
        found = str_series(pc.if_else(pa.array(named), taken, ""), work.index)
        return found.where(found != "", own_county)

    return ctx.cached("work.home_county", compute)


@rule(
    "MN138",
    "外出务工补贴、劳务输出与务工记录不符",
    severity="warning",
    era="monitoring",
    needs=("households", "members", "work"),
    columns={
        "households": (CATEGORY, "就业帮扶", HID),
        "members": (HID, ID),
        "work": (ID, "是否已务工", "务工所在县"),
    },
    what="监测户的就业帮扶含外出务工补贴或劳务输出，而：（1）成员的务工记录（是否已务工 = 是，按证件号码对应）中没有一条务工所在县"
    "不同于本户的县（本地县取数据中的县，不是常量）；（2）含外出务工补贴，而全部务工记录的年度交通费补助为空或 0；（3）有年度交通费"
    "补助 > 0 的记录，其务工所在县就是本户的县；（4）含劳务输出，而全部务工记录的开始时间早于识别监测时间。（2）（4）只在有务工记录"
    "时判断；缺少的列对应的条件不判断。",
    why="外出务工补贴（交通费补助）和劳务输出针对跨县外出务工的脱贫劳动力和监测对象，应有对应的外出务工记录。",
    example=Example(
        "监测户 就业帮扶 = 外出务工补贴，县 = 宿松县，唯一务工记录务工所在县 = 宿松县 → MN138。",
        {
            "households": [monitored_household(就业帮扶="外出务工补贴")],
            "members": [monitored_person(县="宿松县")],
            "work": [{"证件号码": id_number("19830101", 111), "是否已务工": "是", "务工所在县": "宿松县"}],
        },
        near_miss={"work": {0: {"务工所在县": "东莞市"}}},
        near_miss_text="务工所在县 = 东莞市（本县以外）",
        year=2023,
    ),
)
def mn138(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    frame = households(ctx, CATEGORY, "就业帮扶", IDENTIFIED if IDENTIFIED in households(ctx) else CATEGORY)
    work = ctx.frame(WORK, "务工所在县")
    record = work_records(ctx)
    home = home_county_of_records(ctx)
    place = text(work["务工所在县"])
    away = record & (place != "") & (home != "") & (place != home)
    subsidy = mentions(ctx, "就业帮扶", "外出务工补贴")
    export = mentions(ctx, "就业帮扶", "劳务输出")
    total = records_per_household(ctx, record)
    parts = [((subsidy | export) & (records_per_household(ctx, away) == 0), "没有成员在本县以外务工的记录")]
    if "年度交通费补助" in work:
        paid = record & (work["年度交通费补助"] > 0).fillna(False).astype(bool)
        parts.append(
            (
                subsidy & (total > 0) & (records_per_household(ctx, paid) == 0),
                "务工记录的年度交通费补助均为空或 0",
            )
        )
        local = paid & (place != "") & (place == home)
        parts.append(
            (
                (subsidy | export) & (records_per_household(ctx, local) > 0),
                "有年度交通费补助 > 0 的记录务工所在县就是本县",
            )
        )
    if "开始时间" in work and IDENTIFIED in frame:
        identified = pd.Series(
            gather(households_per_code(ctx, frame[IDENTIFIED]), work_household_codes(ctx), np.nan)
        )
        started_after = record & (work["开始时间"].astype("float64") >= identified.to_numpy()).fillna(False)
        parts.append(
            (
                export & (total > 0) & (records_per_household(ctx, started_after) == 0),
                "务工记录均在识别监测时间之前开始",
            )
        )
    flagged = monitored(ctx) & any_of(parts, frame.index)
    at = flagged.index[flagged.to_numpy()]
    county = text(frame.loc[at, "县"]) if "县" in frame else pd.Series("", index=at)
    message = (
        "就业帮扶为"
        + text(frame.loc[at, "就业帮扶"])
        + "（本户县："
        + county
        + "），但"
        + gap_list(parts, at)
    )
    return ctx.flag("households", at, message, column="就业帮扶")  # fmt: skip


def households_per_code(ctx: AuditContext, values: pd.Series) -> np.ndarray:
    """Per 户编号 code: the value of its household row (NaN for codes without one)."""
    own, _, n = member_codes(ctx)
    out = np.full(n, np.nan)
    known = own >= 0
    out[own[known]] = values.astype("float64").to_numpy()[known]
    return out


class TeKunParams(RuleParams):
    te_kun_check_age: tuple[int, int] = (18, 59)


@rule(
    "MN142",
    "特困供养人员有劳动能力迹象",
    severity="warning",
    era="monitoring",
    needs=("members",),
    columns={"members": ("享受特困供养政策情况",)},
    params=TeKunParams,
    what="享受特困供养政策情况为城市特困或农村特困（或是否特困供养人员 = 是）的成员：（1）年龄在 te_kun_check_age（默认 18–59 岁，"
    "两端都含）内、健康状况为健康、不在校（在校生状况为空或非在校生）；或（2）有务工记录（是否已务工 = 是，按证件号码对应）或"
    "公益性岗位。",
    why="特困供养对象须无劳动能力、无生活来源、无法定赡养抚养扶养义务人（《特困人员认定办法》）；健康的劳动年龄人或务工人员享受"
    "特困供养，可能认定不实。",
    example=Example(
        "农村特困成员 1964 年 1 月出生（导出时 59 岁），健康状况 = 健康，非在校生 → MN142。",
        {"members": [monitored_person(证件号码=id_number("19640101", 111), 享受特困供养政策情况="农村特困")]},
        near_miss={"members": {0: {"证件号码": id_number("19631218", 111)}}},
        near_miss_text="1963-12-18 出生，导出当天满 60 岁，超出 te_kun_check_age 18–59",
        year=2023,
        title=EXPORTED,
    ),
)
def mn142(ctx: AuditContext, params: TeKunParams) -> pd.DataFrame:
    members = ctx.frame("members", "享受特困供养政策情况")
    _, tekun = member_welfare(ctx)
    age = ages(ctx)
    low, high = params.te_kun_check_age
    parts = [(has_work_record(ctx) | has_public_post(ctx), "有务工记录或公益性岗位")]
    if "健康状况" in members and "在校生状况" in members:
        healthy = text_in(members["健康状况"], ("健康",))
        parts.insert(
            0,
            (
                in_range(age, params.te_kun_check_age) & healthy & not_student(ctx),
                f"{low}–{high} 岁（参数 te_kun_check_age）、健康、不在校",
            ),
        )
    flagged = tekun & any_of(parts, members.index)
    at = flagged.index[flagged.to_numpy()]
    message = "享受特困供养，年龄 " + fmt(age[at], "{:.0f}") + " 岁，" + gap_list(parts, at)
    return ctx.flag("members", at, message, column="享受特困供养政策情况")  # fmt: skip


class WorkAgeParams(RuleParams):
    min_work_age: int = 16
    public_job_age: tuple[int, int] = (16, 69)


def age_at_start(ctx: AuditContext) -> pd.Series:
    """Per work row: whole years of the named member's age on the first day of 开始时间's month."""
    work = ctx.frame(WORK, "开始时间")
    position = record_member(ctx, WORK)
    birth = member_birth(ctx)["birth"].to_numpy()
    born = pd.Series(np.where(position >= 0, birth[np.maximum(position, 0)] if len(birth) else np.datetime64("NaT"), np.datetime64("NaT")), index=work.index)  # fmt: skip
    born = pd.to_datetime(born)
    start = work["开始时间"].astype("Int64")
    year, month = start // 100, start % 100
    before = (month < born.dt.month) | ((month == born.dt.month) & (born.dt.day > 1))
    return (year - born.dt.year - before.astype("Int64")).astype("Int64")


@rule(
    "MN151",
    "务工或公益性岗位人员年龄不符",
    severity="warning",
    era="monitoring",
    needs=("members",),
    columns={"members": (ID,)},
    params=WorkAgeParams,
    what="（1）务工记录（是否已务工 = 是，按证件号码对应到成员）开始时间所在月的第一天，成员未满 min_work_age（默认 16）岁；"
    "（2）成员公益性岗位有值，或成员、务工记录的就业渠道含公益性岗位/公益岗位，而成员年龄（按导出时间或数据年度末）不在 "
    "public_job_age（默认 16–69 岁，两端都含）内。",
    why="《劳动法》禁止招用未满 16 周岁的未成年人；公益性岗位安置对象有年龄要求（各地一般为法定劳动年龄至 65 或 70 岁以下）。",
    example=Example(
        "务工记录开始时间 202306，成员 2008 年 1 月出生（2023-06-01 时 15 岁，未满 16）→ MN151。",
        {
            "members": [monitored_person(证件号码=id_number("20080101", 111), 姓名="张小明")],
            "work": [{"证件号码": id_number("20080101", 111), "是否已务工": "是", "开始时间": 202306}],
        },
        near_miss={
            "members": {0: {"证件号码": id_number("20070601", 111)}},
            "work": {0: {"证件号码": id_number("20070601", 111)}},
        },
        near_miss_text="成员 2007-06-01 出生，务工开始当月第一天恰满 16 岁（min_work_age）",
        flagged=("work", 0),
        year=2023,
        title=EXPORTED,
    ),
)
def mn151(ctx: AuditContext, params: WorkAgeParams) -> list[pd.DataFrame]:
    members = ctx.frame("members")
    out = []
    low, high = params.public_job_age
    age = ages(ctx)
    posted = has_public_post(ctx)
    if "就业渠道" in members:
        posted |= text(members["就业渠道"]).str.contains(PUBLIC_CHANNEL, regex=True)
    flagged = posted & ~in_range(age, params.public_job_age) & age.notna().to_numpy()
    at = flagged.index[flagged.to_numpy()]
    message = (
        "公益性岗位人员年龄 " + fmt(age[at], "{:.0f}") + f" 岁，不在 {low}–{high} 岁内（参数 public_job_age）"
    )
    out.append(ctx.flag("members", at, message, column=PUBLIC_POST if PUBLIC_POST in members else "就业渠道"))
    if ctx.has(WORK, ID, "是否已务工", "开始时间"):
        work = ctx.frame(WORK)
        start_age = age_at_start(ctx)
        young = work_records(ctx) & (start_age < params.min_work_age).fillna(False).astype(bool)
        at = work.index[young.to_numpy()]
        message = "务工开始时间 " + month_text(work.loc[at, "开始时间"]) + "，当时年龄 " + fmt(start_age[at], "{:.0f}") + f" 岁，未满 {params.min_work_age} 岁（参数 min_work_age）"  # fmt: skip
        out.append(ctx.flag(WORK, at, message, column="开始时间"))
        if "就业渠道" in work:
            position = record_member(ctx, WORK)
            member_age = age.to_numpy(dtype="float64", na_value=np.nan)
            record_age = pd.Series(np.where(position >= 0, member_age[np.maximum(position, 0)] if len(member_age) else np.nan, np.nan), index=work.index)  # fmt: skip
            public = work_records(ctx) & text(work["就业渠道"]).str.contains(PUBLIC_CHANNEL, regex=True)
            wrong = public & record_age.notna() & ~in_range(record_age, params.public_job_age)
            at = work.index[wrong.to_numpy()]
            message = "就业渠道为" + text(work.loc[at, "就业渠道"]) + "，成员年龄 " + fmt(record_age[at], "{:.0f}") + f" 岁，不在 {low}–{high} 岁内（参数 public_job_age）"  # fmt: skip
            out.append(ctx.flag(WORK, at, message, column="就业渠道"))
    return out


class NoLabourParams(RuleParams):
    no_labour_skills: tuple[str, ...] = NO_LABOUR


@rule(
    "MN152",
    "无劳动能力或在校生登记务工、公益岗位",
    severity="warning",
    era="monitoring",
    needs=("members",),
    columns={"members": (ID,)},
    params=NoLabourParams,
    what="劳动技能属于 no_labour_skills（默认 无劳动力、丧失劳动力）的成员，或在校生（小学至普通高中/中职），有务工记录（是否已务工"
    " = 是）、计划务工记录（是否计划务工 = 是，均按证件号码对应）或公益性岗位。",
    why="无劳动能力者和在校学生不应登记务工或公益性岗位；这类登记多为录入错误或虚报就业。",
    example=Example(
        "劳动技能 = 丧失劳动力的成员有一条是否已务工 = 是的务工记录 → MN152。",
        {
            "members": [monitored_person(劳动技能="丧失劳动力")],
            "work": [{"证件号码": id_number("19830101", 111), "是否已务工": "是", "开始时间": 202303}],
        },
        near_miss={"work": {0: {"是否已务工": "否"}}},
        near_miss_text="务工记录的是否已务工 = 否",
        year=2023,
    ),
)
def mn152(ctx: AuditContext, params: NoLabourParams) -> pd.DataFrame:
    members = ctx.frame("members")
    unable = is_text(members, "劳动技能", params.no_labour_skills)
    pupil = school_children(ctx) if "在校生状况" in members else pd.Series(False, index=members.index)
    activity = [(has_work_record(ctx), "有务工记录"), (has_public_post(ctx), "有公益性岗位")]
    if ctx.has(PLANS, ID, "是否计划务工") and ctx.has("members", ID):
        planned = member_has(ctx, PLANS, as_bool(ctx.frame(PLANS), "是否计划务工"))
        activity.append((planned, "有计划务工记录"))
    flagged = (unable | pupil) & any_of(activity, members.index)
    rows = np.flatnonzero(flagged.to_numpy())
    at = flagged.index[rows]
    flagged_members = members.iloc[rows]  # the texts of the flagged members only
    who = pd.Series(
        "在校生（" + text(flagged_members["在校生状况"]) + "）" if "在校生状况" in members else "",
        index=at,
    )
    if "劳动技能" in members:
        who = who.where(~unable.iloc[rows], "劳动技能为" + text(flagged_members["劳动技能"]))
    message = (
        who
        + "，但"
        + gap_list(activity, at)
        + f"（参数 no_labour_skills：{'、'.join(params.no_labour_skills)}）"
    )
    return ctx.flag("members", at, message, column="劳动技能" if "劳动技能" in members else "在校生状况")  # fmt: skip


@rule(
    "MN153",
    "县外务工登记为公益岗位或帮扶车间",
    severity="warning",
    era="monitoring",
    needs=("work",),
    columns={"work": ("就业渠道", "务工所在县")},
    what="务工记录的就业渠道含公益性岗位、公益岗位或帮扶车间，而务工所在县不同于该成员的县（成员表的县；证件号码不在成员表时取"
    "务工记录本身的县）。两者任一为空不判断。",
    why="公益性岗位和帮扶车间（就业帮扶车间）是就地就近就业渠道，务工地应在本县。",
    example=Example(
        "就业渠道 = 乡村公益性岗位，务工所在县 = 东莞市，成员的县 = 宿松县 → MN153。",
        {
            "members": [monitored_person(县="宿松县")],
            "work": [
                {
                    "证件号码": id_number("19830101", 111),
                    "是否已务工": "是",
                    "就业渠道": "乡村公益性岗位",
                    "务工所在县": "东莞市",
                }
            ],
        },
        near_miss={"work": {0: {"务工所在县": "宿松县"}}},
        near_miss_text="公益性岗位在本县（宿松县）",
        flagged=("work", 0),
        year=2023,
    ),
)
def mn153(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    work = ctx.frame(WORK, "就业渠道", "务工所在县")
    home = (
        home_county_of_records(ctx)
        if ctx.has("members", ID) and ctx.has(WORK, ID)
        else text(work.get("县", pd.Series("", index=work.index)))
    )
    place = text(work["务工所在县"])
    local_channel = text(work["就业渠道"]).str.contains(PUBLIC_CHANNEL + "|帮扶车间", regex=True)
    flagged = local_channel & (place != "") & (home != "") & (place != home)
    at = work.index[flagged.to_numpy()]
    message = "就业渠道为" + text(work.loc[at, "就业渠道"]) + "（就地就近就业），但务工所在县为" + place[at] + "，不是本人所在的" + home[at]  # fmt: skip
    return ctx.flag(WORK, at, message, column="务工所在县")


EDUCATED = ("大专", "本科及以上", "大专及以上", "硕士研究生及以上")


@rule(
    "MN154",
    "有技能或大专以上学历但未就业",
    severity="info",
    era="monitoring",
    needs=("households", "members"),
    columns={"members": (HID,), "households": (HID,)},
    what="脱贫户或监测户的成员，年龄在政策参数 working_age 内，不在校（在校生状况为空或非在校生），劳动技能 = 技能劳动力或文化程度为"
    "大专、本科及以上，而没有务工记录（是否已务工 = 是，按证件号码对应）、务工所在地或公益性岗位。三项来源都不在数据中时规则跳过。",
    why="有技能、有学历的脱贫劳动力应优先通过就业帮扶实现稳定就业；未就业的可作为就业服务的重点对象（提示）。",
    example=Example(
        "脱贫户成员 1962-12-19 出生（导出时 60 岁，仍在劳动年龄 16–60 内），技能劳动力，非在校生，没有务工记录、务工所在地和"
        "公益性岗位 → MN154。",
        {
            "households": [{"户编号": H1, "户类型": "脱贫户", "监测对象类别": None}],
            "members": [
                monitored_person(
                    证件号码=id_number("19621219", 111),
                    劳动技能="技能劳动力",
                    务工所在地=None,
                    公益性岗位类型=None,
                )
            ],
        },
        near_miss={"members": {0: {"证件号码": id_number("19621218", 111)}}},
        near_miss_text="1962-12-18 出生，导出当天满 61 岁，超出 working_age",
        flagged=("members", 0),
        year=2023,
        title=EXPORTED,
    ),
)
def mn154(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    members = ctx.frame("members")
    skilled = is_text(members, "劳动技能", "技能劳动力") | is_text(members, "文化程度", EDUCATED)
    low, high = ctx.policy.working_age
    flagged = (
        household_type_member(ctx)
        & in_range(ages(ctx), (low, high))
        & not_student(ctx)
        & skilled
        & ~working(ctx)
    )
    at = flagged.index[flagged.to_numpy()]
    what = pd.Series("劳动技能为技能劳动力", index=at).where(is_text(members, "劳动技能", "技能劳动力")[at], "文化程度为" + text(members.loc[at, "文化程度"]) if "文化程度" in members else "")  # fmt: skip
    message = (
        fmt(ages(ctx)[at], "{:.0f}")
        + f" 岁（劳动年龄 {low}–{high} 岁，参数 working_age），"
        + what
        + f"，但没有{WORKING_SOURCES}"
    )
    return ctx.flag("members", at, message, column="劳动技能")


class WageIncomeParams(RuleParams):
    min_wage_income: float = 100.0  # 元/年: a positive 工资性收入 below this is a unit or entry error


@rule(
    "MN161",
    "工资性收入与务工情况不符",
    severity="warning",
    era="monitoring",
    needs=("households",),
    columns={"households": ("工资性收入", HID)},
    params=WageIncomeParams,
    what="（1）工资性收入 > 0，而没有成员有务工记录（是否已务工 = 是，按证件号码对应）、务工所在地或公益性岗位；（2）有成员的务工"
    "记录覆盖数据年度至少 1 个月（开始时间不晚于当年 12 月，结束时间为空或不早于当年 1 月）且务工月收入 > 0，而工资性收入为空或 0；"
    "（3）工资性收入大于 0 而小于 min_wage_income（默认 100 元）。",
    why="工资性收入应与家庭成员的务工、公益性岗位情况相符，不符多为收入漏算或虚增（收入核算口径）。",
    example=Example(
        "工资性收入 0 元，成员务工记录 202303 起、务工月收入 4000 元 → MN161。",
        {
            "households": [monitored_household(工资性收入=0)],
            "members": [monitored_person()],
            "work": [
                {
                    "证件号码": id_number("19830101", 111),
                    "是否已务工": "是",
                    "开始时间": 202303,
                    "务工月收入": 4000,
                }
            ],
        },
        near_miss={"households": {0: {"工资性收入": 100}}},
        near_miss_text="工资性收入 100 元（恰好 min_wage_income）",
        year=2023,
    ),
)
def mn161(ctx: AuditContext, params: WageIncomeParams) -> pd.DataFrame:
    frame = households(ctx, "工资性收入")
    wage = frame["工资性收入"].astype("float64")
    parts = [((wage > 0) & (wage < params.min_wage_income), f"工资性收入大于 0 而小于 {yuan(params.min_wage_income)} 元（参数 min_wage_income）")]  # fmt: skip
    if ctx.has("members", HID):
        with contextlib.suppress(SkipRule):
            nobody = members_per_household(ctx, working(ctx)) == 0
            parts.insert(
                0, ((wage > 0).fillna(False) & nobody, f"工资性收入大于 0，但没有成员有{WORKING_SOURCES}")
            )
        if ctx.has(WORK, ID, "是否已务工", "开始时间", "务工月收入") and ctx.has("members", ID):
            work = ctx.frame(WORK)
            year = data_years(ctx, WORK).astype("Int64")
            end = (
                work["结束时间"].astype("Int64")
                if "结束时间" in work
                else pd.Series(pd.NA, index=work.index, dtype="Int64")
            )
            covers = (work["开始时间"].astype("Int64") <= year * 100 + 12) & (
                end.isna() | (end >= year * 100 + 1)
            )
            paid = (
                work_records(ctx) & covers.fillna(False).astype(bool) & (work["务工月收入"] > 0).fillna(False)
            )
            worked = records_per_household(ctx, paid) > 0
            parts.append(
                (worked & ~(wage > 0).fillna(False), "有成员当年务工且务工月收入大于 0，但工资性收入为空或 0")
            )
    flagged = any_of(parts, frame.index)
    at = flagged.index[flagged.to_numpy()]
    message = "工资性收入 " + fmt(wage[at], lambda v: money_texts(pd.Series([v]))[0]).where(wage[at].notna(), "为空") + "：" + gap_list(parts, at)  # fmt: skip
    return ctx.flag("households", at, message, column="工资性收入")
