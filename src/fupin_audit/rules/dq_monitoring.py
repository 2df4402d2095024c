"""Data quality of 防返贫监测 exports (DQ060–DQ073, MONITORING.md §5): conditionally required
columns, ranges, 监测时间, 风险 slots, disability registration and 医保 registration."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import NoParams, RuleParams, SkipRule, rule
from fupin_audit.rules.common import as_bool, fmt, is_no, raw_values, text, unreadable
from fupin_audit.rules.monitoring import (
    CATEGORY,
    ELIMINATED,
    HOUSEHOLD_TYPE,
    IDENTIFIED,
    RESOLVED,
    RISK_SLOTS,
    household_fact,
    monitored,
    month_text,
    reference_months,
    resolved,
)

Condition = Literal["脱贫户或监测户", "监测户", "已消除", "出列村", "已务工", "计划务工"]
# A required entry: a column, or an "any of" group (a list: at least one of them filled).
Required = str | list[str]


class Requirement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    table: Literal["households", "members", "villages", "work", "work_plans"]
    when: Condition
    columns: list[Required]


AFTER_ELIMINATION = "风险消除后*"  # every 风险消除后… column the export has

DEFAULT_REQUIRED = [
    Requirement(
        table="members", when="脱贫户或监测户",
        columns=[
            "民族", "健康状况", "劳动技能", "是否参加大病保险",
            ["是否参加城乡居民基本养老保险", "是否参加城镇职工基本养老保险"],
            ["是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险"],
            ["文化程度", "在校生状况", "义务教育阶段未上学原因"],
        ],
    ),
    Requirement(
        table="households", when="脱贫户或监测户",
        columns=[
            "是否解决安全饮用水", "是否危房户", "是否通生活用电", "是否有卫生厕所", "入户道路是否硬化", "住房面积",
            "与村主干路距离", "耕地面积", "林地面积", "退耕还林面积", "林果面积", "牧草地面积", "水面面积",
        ],
    ),
    Requirement(table="households", when="监测户", columns=[RISK_SLOTS[0], IDENTIFIED, RESOLVED]),
    Requirement(
        table="households", when="已消除",
        columns=[ELIMINATED, "风险消除方式", "信息采集人", "信息采集人联系电话", AFTER_ELIMINATION],
    ),
    Requirement(
        table="villages", when="出列村",
        columns=[
            "总户数", "村集体经济收入", "村小学个数", "参加城乡居民基本养老保险人数", "是否通客运班车", "到乡镇是否通硬化路",
            "行政村卫生室个数", "行政村公共卫生厕所个数", "行政村执业助理医师", "行政村生产生活垃圾集中堆放点个数",
            "行政村文化图书室个数", "低保户数", "低保人口数", "特困供养人口数", "残疾人口数",
        ],
    ),
    Requirement(
        table="work", when="已务工",
        columns=["开始时间", "务工所在县", "务工月收入", "务工企业名称", "所属行业", "就业渠道", "是否点对点输送"],
    ),
    Requirement(table="work_plans", when="计划务工", columns=["计划务工所在县", "就业服务需求"]),
]  # fmt: skip


class RequiredWhen(RuleParams):
    required_when: list[Requirement] = Field(default_factory=lambda: list(DEFAULT_REQUIRED))


def _condition(ctx: AuditContext, table: str, when: Condition) -> pd.Series | None:
    """Per row of `table`: the requirement's condition holds (None: cannot be judged here)."""
    if when in ("脱贫户或监测户", "监测户", "已消除"):
        if not ctx.has("households"):
            return None
        frame = ctx.frame("households")
        if when == "已消除":
            holds = resolved(ctx) if RESOLVED in frame else None
        elif when == "监测户":
            holds = monitored(ctx) if CATEGORY in frame else None
        else:
            if HOUSEHOLD_TYPE not in frame and CATEGORY not in frame:
                return None
            holds = text(frame[HOUSEHOLD_TYPE]).eq("脱贫户") if HOUSEHOLD_TYPE in frame else False
            holds = holds | (monitored(ctx) if CATEGORY in frame else False)
        if holds is None:
            return None
        if table == "households":
            return holds
        return household_fact(ctx, holds) if table == "members" and ctx.has("members", "户编号") else None
    column = {"出列村": "是否出列", "已务工": "是否已务工", "计划务工": "是否计划务工"}[when]
    if not ctx.has(table, column):
        return None
    return as_bool(ctx.frame(table), column)


def _empty(ctx: AuditContext, table: str, column: str) -> pd.Series:
    """The cell holds nothing (a written but unreadable value is not empty: DQ003–DQ005's finding)."""
    typed = ctx.frame(table)[column]
    blank = typed.isna().to_numpy(dtype=bool) | (typed.astype("string").str.strip() == "").fillna(
        False
    ).to_numpy(dtype=bool)
    return blank & ~unreadable(ctx, table, column).to_numpy(dtype=bool)


def _columns(ctx: AuditContext, table: str, entry: Required) -> list[list[str]]:
    """The present columns an entry stands for (an absent column is not judged)."""
    fields = ctx.table(table).fields
    if entry == AFTER_ELIMINATION:
        return [[c] for c in sorted(fields) if c.startswith("风险消除后")]
    group = [entry] if isinstance(entry, str) else entry
    present = [c for c in group if c in fields]
    return [present] if present else []


@rule(
    "DQ060",
    "条件必填项为空",
    severity="error",
    needs=(),
    params=RequiredWhen,
    what="参数 required_when 的每一项：条件成立的行，所列列为空（“任一”组则组内每列都为空）。默认（取自在用的省级核查程序）："
    "（a）脱贫户/监测户的成员：民族、健康状况、劳动技能、是否参加大病保险、养老保险任一、基本医疗保险任一、文化程度/在校生状况/"
    "义务教育阶段未上学原因任一；（b）脱贫户/监测户：是否解决安全饮用水、是否危房户、是否通生活用电、是否有卫生厕所、入户道路是否硬化、"
    "住房面积、与村主干路距离、耕地/林地/退耕还林/林果/牧草地/水面面积；（c）监测户：致贫/返贫风险1、识别监测时间、风险是否已消除；"
    "已消除：消除监测时间、风险消除方式、信息采集人、信息采集人联系电话、导出中每个“风险消除后…”列；（d）出列村的村表分项；"
    "（e）已务工的务工记录、计划务工的计划记录。导出中没有的列不判断（不当作空）。每行每列（组）报告一次。",
    why="防返贫监测信息系统要求上述字段按条件填写；空项使后续核查（收入、三保障、务工）无法进行。",
    example="监测户 识别监测时间 为空 → DQ060（条件：监测户）。",
)
def dq060(ctx: AuditContext, params: RequiredWhen) -> list[pd.DataFrame]:
    out = []
    judged = False
    for requirement in params.required_when:
        if not ctx.has(requirement.table):
            continue
        holds = _condition(ctx, requirement.table, requirement.when)
        if holds is None:
            continue
        for entry in requirement.columns:
            for group in _columns(ctx, requirement.table, entry):
                judged = True
                empty = np.logical_and.reduce([_empty(ctx, requirement.table, c) for c in group])
                at = holds.index[holds.to_numpy(dtype=bool) & np.asarray(empty, dtype=bool)]
                what = group[0] if len(group) == 1 else "、".join(group) + " 均"
                message = f"{requirement.when}的{what}为空（参数 required_when）"
                out.append(ctx.flag(requirement.table, at, message, column=group[0]))
    if not judged:
        raise SkipRule("导出中没有 required_when 所列条件和列（户类型/监测对象类别、是否出列、是否已务工 …）")
    return out


class RangeParams(RuleParams):
    area_max: dict[str, float] = Field(
        default_factory=lambda: {
            "耕地面积": 100, "林地面积": 200, "退耕还林面积": 200, "林果面积": 200, "牧草地面积": 100, "水面面积": 100,
        }
    )  # fmt: skip
    road_distance_max: float = 5.0  # km


@rule(
    "DQ061",
    "面积、距离超出合理范围",
    severity="warning",
    needs=("households",),
    params=RangeParams,
    what="户的耕地、林地、退耕还林、林果、牧草地、水面面积（亩）小于 0 或大于 area_max（默认 耕地 100、林地 200、退耕还林 200、"
    "林果 200、牧草地 100、水面 100 亩），或与村主干路距离小于 0 或大于 road_distance_max（默认 5 公里）；恰好等于上限不报告。",
    why="超出常理的面积、距离多为单位错误（平方米/亩、米/公里）或录入错误，影响产业帮扶和基础设施判断。",
    example="林地面积 350 亩（上限 200）→ DQ061。",
)
def dq061(ctx: AuditContext, params: RangeParams) -> list[pd.DataFrame]:
    frame = ctx.frame("households")
    limits = {**params.area_max, "与村主干路距离": params.road_distance_max}
    present = [c for c in limits if c in frame]
    if not present:
        raise SkipRule("households 表没有面积或与村主干路距离列")
    out = []
    for column in present:
        value = frame[column].astype("float64")
        bad = (value < 0) | (value > limits[column])
        at = frame.index[bad.fillna(False).to_numpy(dtype=bool)]
        unit, key = (
            ("公里", "road_distance_max") if column == "与村主干路距离" else ("亩", f"area_max.{column}")
        )
        message = (
            f"{column} "
            + fmt(value[at], "{:g}")
            + f" {unit}，超出合理范围 0–{limits[column]:g} {unit}（参数 {key}）"
        )
        out.append(ctx.flag("households", at, message, column=column))
    return out


class MonitoringStart(RuleParams):
    monitoring_start: int = 202101  # YYYYMM: 防返贫监测 began in 2021


@rule(
    "DQ070",
    "监测时间缺失、格式错误或先后颠倒",
    severity="error",
    needs=("households",),
    columns={"households": (IDENTIFIED,)},
    params=MonitoringStart,
    what="识别监测时间、消除监测时间：（1）填了却不是 YYYYMM 或日期；（2）晚于基准月（导出时间所在月，否则数据年度 12 月），"
    "或早于 monitoring_start（默认 202101）；（3）消除监测时间早于识别监测时间；（4）风险已消除而消除监测时间为空，或未消除"
    "而消除监测时间有值。缺少的列对应的条件不判断。",
    why="监测时间决定帮扶时限、消除时限等核查（MN124、MN131、MN133），时间错误使这些核查失真。",
    example="识别监测时间 202405，导出时间 2023-12-18 → DQ070（晚于基准月 202312）。",
)
def dq070(ctx: AuditContext, params: MonitoringStart) -> list[pd.DataFrame]:
    frame = ctx.frame("households", IDENTIFIED)
    reference = reference_months(ctx)
    out = []
    for column in (IDENTIFIED, ELIMINATED):
        if column not in frame:
            continue
        bad = unreadable(ctx, "households", column)
        at = frame.index[bad.to_numpy()]
        out.append(
            ctx.flag("households", at, f"{column}无法识别为年月（应为 YYYYMM，如 202304）", column=column)
        )
        value = frame[column].astype("Int64")
        late = (value > reference).fillna(False).astype(bool)
        at = frame.index[late.to_numpy()]
        message = (
            f"{column} "
            + month_text(value[at])
            + " 晚于基准月 "
            + month_text(reference[at])
            + "（导出时间或数据年度末）"
        )
        out.append(ctx.flag("households", at, message, column=column))
        early = (value < params.monitoring_start).fillna(False).astype(bool)
        at = frame.index[early.to_numpy()]
        message = (
            f"{column} "
            + month_text(value[at])
            + f" 早于防返贫监测起始 {params.monitoring_start}（参数 monitoring_start）"
        )
        out.append(ctx.flag("households", at, message, column=column))
    if ELIMINATED in frame:
        start, end = frame[IDENTIFIED].astype("Int64"), frame[ELIMINATED].astype("Int64")
        reversed_ = (end < start).fillna(False).astype(bool)
        at = frame.index[reversed_.to_numpy()]
        message = "消除监测时间 " + month_text(end[at]) + " 早于识别监测时间 " + month_text(start[at])
        out.append(ctx.flag("households", at, message, column=ELIMINATED))
        if RESOLVED in frame:
            blank = end.isna().to_numpy(dtype=bool) & ~unreadable(ctx, "households", ELIMINATED).to_numpy()
            missing = as_bool(frame, RESOLVED).to_numpy() & blank
            out.append(
                ctx.flag(
                    "households", frame.index[missing], "风险已消除，但消除监测时间为空", column=ELIMINATED
                )
            )
            early_end = is_no(frame, RESOLVED).to_numpy() & end.notna().to_numpy(dtype=bool)
            at = frame.index[early_end]
            message = "风险未消除，但消除监测时间已填 " + month_text(end[at])
            out.append(ctx.flag("households", at, message, column=ELIMINATED))
    return out


@rule(
    "DQ072",
    "风险类型登记不规范",
    severity="warning",
    needs=("households",),
    columns={"households": (RISK_SLOTS[0],)},
    what="致贫/返贫风险1–5：（1）同一风险登记在两个位置；（2）后面的位置有值而前面的位置为空；（3）登记“其他”而其他备注为空"
    "（导出中没有其他备注列时不判断）。",
    why="风险类型按顺序登记、不重复，“其他”须说明具体风险，方可据以制定针对性帮扶措施。",
    example="致贫/返贫风险1 为空，致贫/返贫风险2 = 因病 → DQ072。",
)
def dq072(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    frame = ctx.frame("households", RISK_SLOTS[0])
    slots = [s for s in RISK_SLOTS if s in frame]
    values = {s: text(frame[s]) for s in slots}
    out = []
    for j, later in enumerate(slots):
        for earlier in slots[:j]:
            same = (values[later] != "") & (values[later] == values[earlier])
            at = frame.index[same.to_numpy()]
            message = f"{earlier[-1]} 号与 {later[-1]} 号风险重复登记为“" + values[later][at] + "”"
            out.append(ctx.flag("households", at, message, column=later))
        if j:
            gap = pd.concat([values[s] == "" for s in slots[:j]], axis=1).any(axis=1) & (values[later] != "")
            at = frame.index[gap.to_numpy()]
            message = f"致贫/返贫风险{later[-1]}有值（" + values[later][at] + "），但前面的风险位置为空"
            out.append(ctx.flag("households", at, message, column=later))
    if "其他备注" in frame:
        other = pd.concat([values[s] == "其他" for s in slots], axis=1).any(axis=1) & (
            text(frame["其他备注"]) == ""
        )
        at = frame.index[other.to_numpy()]
        out.append(
            ctx.flag("households", at, "风险登记为“其他”，但其他备注为空，未说明具体风险", column="其他备注")
        )
    return out


DISABILITY_NUMBER = r"^\d{17}[\dX]\d{2}$"


@rule(
    "DQ064",
    "残疾登记与证件不一致",
    severity="warning",
    needs=("members",),
    columns={"members": ("健康状况", "证件类型", "证件号码")},
    what="（1）健康状况含“残疾”，但证件类型不是残疾人证且证件号码不是 20 位残疾人证号；（2）证件类型为残疾人证或号码为 20 位，"
    "但健康状况不含“残疾”；（3）证件类型为残疾人证却是 18 位号码，或为居民身份证却是 20 位号码；或 20 位号码第 19 位（残疾类别）"
    "不在 1–7、第 20 位（残疾等级）不在 1–4。",
    why="残疾人证号为 18 位身份证号加残疾类别、等级各一位；残疾登记与证件不一致会影响残疾人两项补贴、兜底保障的核查。",
    example="健康状况 = 残疾，证件类型 = 居民身份证，证件号码 18 位 → DQ064。",
)
def dq064(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    members = ctx.frame("members", "健康状况", "证件类型", "证件号码")
    number = (
        raw_values(ctx, "members", "证件号码")
        .str.normalize("NFKC")
        .str.replace(r"\s", "", regex=True)
        .str.upper()
    )
    kind = text(members["证件类型"])
    disabled = text(members["健康状况"]).str.contains("残疾", regex=False)
    long_number = number.str.match(DISABILITY_NUMBER)
    card = kind == "残疾人证"
    out = [
        ctx.flag(
            "members", members.index[(disabled & ~card & ~long_number).to_numpy()],
            "健康状况含残疾，但证件类型不是残疾人证，证件号码也不是 20 位残疾人证号", column="证件类型",
        ),
        ctx.flag(
            "members", members.index[((card | long_number) & ~disabled).to_numpy()],
            "登记了残疾人证（证件类型或 20 位号码），但健康状况不含残疾", column="健康状况",
        ),
    ]  # fmt: skip
    mismatch = (card & (number.str.len() == 18)) | ((kind == "居民身份证") & (number.str.len() == 20))
    at = members.index[mismatch.to_numpy()]
    message = "证件类型为" + kind[at] + "，但证件号码为 " + fmt(number[at].str.len(), "{:.0f}") + " 位"
    out.append(ctx.flag("members", at, message, column="证件号码"))
    category, grade = number.str.slice(18, 19), number.str.slice(19, 20)
    wrong = long_number & (~category.isin(list("1234567")) | ~grade.isin(list("1234")))
    at = members.index[wrong.to_numpy()]
    message = (
        "残疾人证号第 19 位（类别）为 "
        + category[at]
        + "、第 20 位（等级）为 "
        + grade[at]
        + "，应为类别 1–7、等级 1–4"
    )
    out.append(ctx.flag("members", at, message, column="证件号码"))
    return out


@rule(
    "DQ066",
    "医疗保险参保登记矛盾",
    severity="warning",
    needs=("members",),
    columns={"members": ("是否参加城乡居民基本医疗保险",)},
    what="（1）城乡居民基本医疗保险和城镇职工基本医疗保险都为“是”（重复参保）；（2）城乡居民基本医疗保险为“是”但是否参加"
    "大病保险为“否”（大病保险随城乡居民医保参保）。缺少的列对应的条件不判断。",
    why="基本医疗保险不得重复参保；城乡居民大病保险覆盖全部城乡居民医保参保人。",
    example="城乡居民医保 = 是，大病保险 = 否 → DQ066。",
)
def dq066(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    members = ctx.frame("members", "是否参加城乡居民基本医疗保险")
    resident = as_bool(members, "是否参加城乡居民基本医疗保险")
    out = []
    if "是否参加城镇职工基本医疗保险" in members:
        both = resident & as_bool(members, "是否参加城镇职工基本医疗保险")
        message = "同时参加城乡居民基本医疗保险和城镇职工基本医疗保险（重复参保）"
        out.append(
            ctx.flag(
                "members", members.index[both.to_numpy()], message, column="是否参加城镇职工基本医疗保险"
            )
        )
    if "是否参加大病保险" in members:
        no_major = resident & is_no(members, "是否参加大病保险")
        message = "参加城乡居民基本医疗保险，但是否参加大病保险为否（大病保险随城乡居民医保参保）"
        out.append(
            ctx.flag("members", members.index[no_major.to_numpy()], message, column="是否参加大病保险")
        )
    if not out:
        raise SkipRule("members 表缺少列 是否参加城镇职工基本医疗保险 和 是否参加大病保险")
    return out
