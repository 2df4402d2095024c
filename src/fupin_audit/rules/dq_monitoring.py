"""Data quality of 防返贫监测 exports (DQ060–DQ073, MONITORING.md §5): conditionally required
columns, ranges, 监测时间, 风险 slots, disability registration and 医保 registration."""

from __future__ import annotations

import re
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, NoParams, RuleParams, SkipRule, rule
from fupin_audit.facts import monitoring as mn
from fupin_audit.facts.cells import unknown
from fupin_audit.facts.keys import person_keys, person_numbers, place_columns, place_key
from fupin_audit.facts.monitoring import (
    CATEGORY,
    ELIMINATED,
    HOUSEHOLD_TYPE,
    IDENTIFIED,
    RESOLVED,
    RISK_SLOTS,
    household_fact,
    monitored,
    reference_months,
    resolved,
)
from fupin_audit.facts.values import HID, as_bool, is_no, text, text_in, unreadable
from fupin_audit.rules.example_data import EXPORTED, id_number, monitored_household, monitored_person
from fupin_audit.rules.kit.format import fmt, month_text
from fupin_audit.schema.fields import arrow_mask, fullmatches, is_arrow_text, str_series
from fupin_audit.schema.fields import arrow_text as arrow_text_plain

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
    blank = typed.isna().to_numpy(dtype=bool, copy=True)
    # and a whitespace-only text: one arrow kernel for a text column, the categories for a code list;
    # a number, date or yes/no never is one; any other column is judged per distinct value
    dtype = typed.dtype
    if is_arrow_text(typed):
        blank |= arrow_mask(pc.equal(pc.utf8_trim_whitespace(arrow_text_plain(typed)), ""))
    elif isinstance(dtype, pd.CategoricalDtype):
        spaces = _whitespace_only(pd.Series(typed.cat.categories))
        blank |= np.append(spaces, False)[typed.cat.codes.to_numpy()]
    elif not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_datetime64_any_dtype(dtype)
    ):
        codes, uniques = pd.factorize(typed, use_na_sentinel=True)
        blank |= np.append(_whitespace_only(pd.Series(uniques)), False)[codes]
    return blank & ~unreadable(ctx, table, column).to_numpy(dtype=bool)


def _whitespace_only(values: pd.Series) -> np.ndarray:
    return (values.astype("string").str.strip() == "").fillna(False).to_numpy(dtype=bool)


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
    example=Example(
        "监测户 识别监测时间 为空 → DQ060（条件：监测户）。",
        {"households": [monitored_household(识别监测时间=None)]},
        near_miss={"households": {0: {"识别监测时间": 202304}}},
        near_miss_text="识别监测时间 202304",
        year=2023,
    ),
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
    example=Example(
        "林地面积 200.5 亩（上限 200）→ DQ061。",
        {"households": [monitored_household(林地面积=200.5)]},
        near_miss={"households": {0: {"林地面积": 200}}},
        near_miss_text="恰好 200 亩（area_max.林地面积）",
        year=2023,
    ),
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
    example=Example(
        "识别监测时间 202401，导出时间 2023-12-18 → DQ070（晚于基准月 202312）。",
        {"households": [monitored_household(识别监测时间=202401)]},
        near_miss={"households": {0: {"识别监测时间": 202312}}},
        near_miss_text="识别监测时间 202312，即导出当月",
        year=2023,
        title=EXPORTED,
    ),
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
    example=Example(
        "致贫/返贫风险1 为空，致贫/返贫风险2 = 因病 → DQ072。",
        {"households": [monitored_household(致贫返贫风险1=None, 致贫返贫风险2="因病")]},
        near_miss={"households": {0: {"致贫返贫风险1": "因病", "致贫返贫风险2": None}}},
        near_miss_text="因病登记在风险1，风险2 为空",
        year=2023,
    ),
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
            text_in(frame["其他备注"], ("",))
        )
        at = frame.index[other.to_numpy()]
        out.append(
            ctx.flag("households", at, "风险登记为“其他”，但其他备注为空，未说明具体风险", column="其他备注")
        )
    return out


# 18 digits, the last possibly X, and the disability's category and grade (Python's \d: any decimal
# digit), and the same with ASCII digits for arrow's regex engine
DISABILITY_NUMBER = re.compile(r"\d{17}[\dX]\d{2}")
DISABILITY_NUMBER_ASCII = r"[0-9]{17}[0-9X][0-9]{2}"


def card_numbers(ctx: AuditContext) -> pd.Series:
    """Per member row: the 20-character 残疾人证号 (the 证件号码 as the loader normalised it: NFKC, no
    spaces, upper case), "" for any other number. Shared by DQ064 and DQ065."""

    def compute() -> pd.Series:
        number = ctx.frame("members", "证件号码")["证件号码"]
        written = pc.fill_null(arrow_text_plain(number), "")
        # Only the 20-character numbers are read further (an 18-digit ID is never one): a few rows, not
        # the column. Arrow's kernels, not a Python match per member (Python's only for non-ASCII numbers).
        at = np.flatnonzero(arrow_mask(pc.equal(pc.utf8_length(written), 20)))
        card = pc.utf8_trim_whitespace(pc.take(written, pa.array(at)))
        card_like = fullmatches(card, DISABILITY_NUMBER, DISABILITY_NUMBER_ASCII)
        entries = pa.concat_arrays([pa.array([""], type=pa.large_string()), card.cast(pa.large_string())])
        entry = np.zeros(len(written), dtype=np.int64)  # entry 0: ""
        entry[at[card_like]] = 1 + np.flatnonzero(card_like)
        return str_series(pc.take(entries, pa.array(entry)), number.index)

    return ctx.cached("members.card_numbers", compute)


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
    example=Example(
        "健康状况 = 残疾，证件类型 = 居民身份证，证件号码 18 位 → DQ064。",
        {"members": [monitored_person(健康状况="残疾", 证件类型="居民身份证")]},
        near_miss={"members": {0: {"证件类型": "残疾人证", "证件号码": id_number("19830101", 111) + "41"}}},
        near_miss_text="证件类型 = 残疾人证，20 位残疾人证号（末两位 41）",
        year=2023,
    ),
)
def dq064(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    members = ctx.frame("members", "健康状况", "证件类型", "证件号码")
    number = card_numbers(ctx)
    kind = text(members["证件类型"])
    disabled = text(members["健康状况"]).str.contains("残疾", regex=False)
    long_number = number != ""
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
    # an 18-character ID (the normalised one the DQ01x checks use) under 证件类型 残疾人证
    short = card & (members["证件号码"].fillna("").astype(str).str.len() == 18)
    mismatch = short | ((kind == "居民身份证") & long_number)
    at = members.index[mismatch.to_numpy()]
    digits = pd.Series(20, index=members.index).where(long_number, 18)
    message = "证件类型为" + kind[at] + "，但证件号码为 " + fmt(digits[at], "{:.0f}") + " 位"
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
    example=Example(
        "城乡居民医保 = 是，大病保险 = 否 → DQ066。",
        {"members": [monitored_person(是否参加大病保险="否")]},
        near_miss={"members": {0: {"是否参加大病保险": "是"}}},
        near_miss_text="是否参加大病保险 = 是",
        year=2023,
    ),
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


# ------------------------------------------------------------------------------------ members (continued)


class YoungEducationParams(RuleParams):
    young_low_education_age: tuple[int, int] = (16, 22)


@rule(
    "DQ062",
    "青少年文化程度为小学及以下",
    severity="info",
    needs=("members",),
    columns={"members": ("文化程度", "在校生状况")},
    params=YoungEducationParams,
    what="年龄在 young_low_education_age（默认 16–22 岁，两端都含）内、不在校（在校生状况为空或非在校生），文化程度为文盲或半文盲、"
    "小学。",
    why="义务教育普及后，这一年龄段只有小学及以下文化多为录入错误，或是控辍保学遗漏的对象。",
    example=Example(
        "2000-12-19 出生的成员（导出时 22 岁）在校生状况 = 非在校生，文化程度 = 小学 → DQ062。",
        {"members": [monitored_person(证件号码=id_number("20001219", 111), 文化程度="小学")]},
        near_miss={"members": {0: {"证件号码": id_number("20001218", 111)}}},
        near_miss_text="2000-12-18 出生，导出当天满 23 岁，超出 young_low_education_age 16–22",
        year=2023,
        title=EXPORTED,
    ),
)
def dq062(ctx: AuditContext, params: YoungEducationParams) -> pd.DataFrame:
    members = ctx.frame("members", "文化程度", "在校生状况")
    age = mn.ages(ctx)
    low, high = params.young_low_education_age
    education = members["文化程度"]
    flagged = (
        mn.in_range(age, (low, high)) & mn.not_student(ctx) & text_in(education, ("文盲或半文盲", "小学"))
    )
    at = members.index[flagged.to_numpy()]
    message = (
        fmt(age[at], "{:.0f}")
        + f" 岁（{low}–{high} 岁，参数 young_low_education_age），不在校，文化程度为"
        + text(education[at])
    )
    return ctx.flag("members", at, message, column="文化程度")


TERTIARY = (
    "高职高专一年级", "高职高专二年级", "高职高专三年级", "技师学院一年级", "技师学院二年级", "技师学院三年级",
    "技师学院四年级", "本科一年级", "本科二年级", "本科三年级", "本科四年级", "本科五年级", "硕士研究生及以上",
    "大专及以上",
)  # fmt: skip


class StudentLabourParams(RuleParams):
    student_labour_exempt: tuple[str, ...] = TERTIARY  # students who may well work (tertiary)


@rule(
    "DQ063",
    "劳动技能与年龄、健康、在校状况不符（补充）",
    severity="warning",
    needs=("members",),
    columns={"members": ("劳动技能",)},
    params=StudentLabourParams,
    what="（1）未满 16 岁而劳动技能为弱劳动力或半劳动力、丧失劳动力（普通、技能劳动力由 DQ042 报告）；（2）年龄在政策参数 "
    "working_age 内、健康状况为健康、不在校，而劳动技能为弱劳动力或半劳动力；（3）在校（在校生状况不是空、非在校生、学龄前，"
    "也不属于 student_labour_exempt，默认高职高专、技师学院、本科、研究生）而劳动技能为普通劳动力或技能劳动力。",
    why="劳动技能决定开发式帮扶与兜底保障的分类（MN133、MN141），与年龄、健康、在校状况矛盾的登记使分类失真。",
    example=Example(
        "40 岁成员 健康状况 = 健康，非在校生，劳动技能 = 弱劳动力或半劳动力 → DQ063。",
        {"members": [monitored_person(劳动技能="弱劳动力或半劳动力")]},
        near_miss={"members": {0: {"健康状况": "长期慢性病"}}},
        near_miss_text="健康状况 = 长期慢性病",
        year=2023,
    ),
)
def dq063(ctx: AuditContext, params: StudentLabourParams) -> list[pd.DataFrame]:
    members = ctx.frame("members", "劳动技能")
    skill = members["劳动技能"]
    age = mn.ages(ctx)
    out = []
    child = (age < 16).fillna(False).astype(bool) & text_in(skill, ("弱劳动力或半劳动力", "丧失劳动力"))
    at = members.index[child.to_numpy()]
    out.append(
        ctx.flag(
            "members",
            at,
            fmt(age[at], "{:.0f}") + " 岁未满 16 岁，劳动技能却为" + text(skill[at]),
            column="劳动技能",
        )
    )
    if "健康状况" in members and "在校生状况" in members:
        low, high = ctx.policy.working_age
        weak = (
            mn.in_range(age, (low, high)) & text_in(members["健康状况"], ("健康",)) & mn.not_student(ctx)
            & text_in(skill, ("弱劳动力或半劳动力",))
        )  # fmt: skip
        at = members.index[weak.to_numpy()]
        message = fmt(age[at], "{:.0f}") + f" 岁（劳动年龄 {low}–{high} 岁，参数 working_age）、健康、不在校，劳动技能却为弱劳动力或半劳动力"  # fmt: skip
        out.append(ctx.flag("members", at, message, column="劳动技能"))
    if "在校生状况" in members:
        status = members["在校生状况"]
        pupil = ~text_in(status, ("", "非在校生", *mn.PRESCHOOL, *params.student_labour_exempt))
        able = pupil & text_in(skill, mn.LABOUR_SKILLS)
        at = members.index[able.to_numpy()]
        message = (
            "在校生状况为"
            + text(status[at])
            + "（不属于参数 student_labour_exempt），劳动技能却为"
            + text(skill[at])
        )
        out.append(ctx.flag("members", at, message, column="劳动技能"))
    return out


class SevereDisability(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    categories: list[int] = Field(default_factory=lambda: [4])
    grades: list[int] = Field(default_factory=lambda: [1, 2])


class SevereDisabilityParams(RuleParams):
    severe_disability: SevereDisability = Field(default_factory=SevereDisability)


@rule(
    "DQ065",
    "重度残疾人登记为有劳动能力",
    severity="warning",
    needs=("members",),
    columns={"members": ("证件号码", "劳动技能")},
    params=SevereDisabilityParams,
    what="证件号码为 20 位残疾人证号，第 19 位（残疾类别）属于 severe_disability.categories（默认 4 肢体），第 20 位（等级）属于 "
    "severe_disability.grades（默认 1、2 级），而劳动技能为普通劳动力或技能劳动力。",
    why="一、二级重度肢体残疾人一般无劳动能力，登记为普通或技能劳动力会使兜底保障（MN141）漏判。",
    example=Example(
        "证件号码 20 位、末两位 42（肢体二级），劳动技能 = 普通劳动力 → DQ065。",
        {
            "members": [
                monitored_person(
                    证件类型="残疾人证", 健康状况="残疾", 证件号码=id_number("19830101", 111) + "42"
                )
            ]
        },
        near_miss={"members": {0: {"证件号码": id_number("19830101", 111) + "43"}}},
        near_miss_text="末两位 43（肢体三级，不在 severe_disability.grades 1、2 内）",
        year=2023,
    ),
)
def dq065(ctx: AuditContext, params: SevereDisabilityParams) -> pd.DataFrame | None:
    members = ctx.frame("members", "证件号码", "劳动技能")
    number = card_numbers(ctx)
    card = number != ""
    if not card.any():  # no 残疾人证号 (any 2014–2020 export): nothing to judge
        return None
    category, grade = number.str.slice(18, 19), number.str.slice(19, 20)
    wanted = params.severe_disability
    severe = (
        card
        & category.isin([str(c) for c in wanted.categories])
        & grade.isin([str(g) for g in wanted.grades])
    )
    skill = members["劳动技能"]
    flagged = severe & text_in(skill, mn.LABOUR_SKILLS)
    at = members.index[flagged.to_numpy()]
    message = (
        "残疾人证号残疾类别 " + category[at] + "、等级 " + grade[at] + " 级（参数 severe_disability："
        + f"类别 {wanted.categories}、等级 {wanted.grades}），劳动技能却为" + text(skill[at])
    )  # fmt: skip
    return ctx.flag("members", at, message, column="劳动技能")


# ------------------------------------------------------------------------------------ work


class WageRange(RuleParams):
    monthly_wage_range: tuple[float, float] = (100.0, 30000.0)


@rule(
    "DQ067",
    "务工月收入不合理",
    severity="warning",
    needs=("work",),
    columns={"work": ("是否已务工", "务工月收入")},
    params=WageRange,
    what="是否已务工 = 是的务工记录，务工月收入填了却不是数字，或小于、大于 monthly_wage_range（默认 100–30000 元，两端都含）。",
    why="务工月收入用于核算工资性收入（MN161）；超出常理的月收入多为年收入、元/万元的单位错误。",
    example=Example(
        "是否已务工 = 是，务工月收入 30000.01 元（上限 30000）→ DQ067。",
        {"work": [{"证件号码": id_number("19830101", 111), "是否已务工": "是", "务工月收入": 30000.01}]},
        near_miss={"work": {0: {"务工月收入": 30000}}},
        near_miss_text="恰好 30000 元（monthly_wage_range）",
        year=2023,
    ),
)
def dq067(ctx: AuditContext, params: WageRange) -> list[pd.DataFrame]:
    work = ctx.frame("work", "是否已务工", "务工月收入")
    record = as_bool(work, "是否已务工")
    low, high = params.monthly_wage_range
    bad = record & unreadable(ctx, "work", "务工月收入")
    out = [ctx.flag("work", work.index[bad.to_numpy()], "务工月收入不是数字", column="务工月收入")]
    wage = work["务工月收入"].astype("float64")
    wrong = record & ((wage < low) | (wage > high)).fillna(False)
    at = work.index[wrong.to_numpy()]
    message = (
        "务工月收入 " + fmt(wage[at], "{:g}") + f" 元，不在 {low:g}–{high:g} 元内（参数 monthly_wage_range）"
    )
    out.append(ctx.flag("work", at, message, column="务工月收入"))
    return out


@rule(
    "DQ068",
    "务工时间矛盾",
    severity="warning",
    needs=("work",),
    columns={"work": ("开始时间",)},
    what="（1）开始时间、结束时间填了却无法识别为年月；（2）结束时间早于开始时间；（3）同一人（证件号码）的两条记录按开始时间排序后，"
    "后一条的开始时间不晚于前一条的结束时间（前一条结束时间为空视为仍在务工）；（4）是否已务工 = 否而结束时间为空或晚于基准月；"
    "（5）开始时间晚于基准月（导出时间所在月，否则数据年度 12 月）。",
    why="务工起止时间决定务工月数和工资性收入核算（MN161），时间矛盾使核算失真。",
    example=Example(
        "开始时间 202308，结束时间 202307 → DQ068（结束早于开始）。",
        {
            "work": [
                {
                    "证件号码": id_number("19830101", 111),
                    "是否已务工": "是",
                    "开始时间": 202308,
                    "结束时间": 202307,
                }
            ]
        },
        near_miss={"work": {0: {"结束时间": 202308}}},
        near_miss_text="当月开始、当月结束（202308–202308）",
        year=2023,
        title=EXPORTED,
    ),
)
def dq068(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    work = ctx.frame("work", "开始时间")
    reference = ctx.reference_month("work")
    start = work["开始时间"].astype("Int64")
    end = (
        work["结束时间"].astype("Int64")
        if "结束时间" in work
        else pd.Series(pd.NA, index=work.index, dtype="Int64")
    )
    out = []
    for column in ("开始时间", "结束时间"):
        if column in work:
            at = work.index[unreadable(ctx, "work", column).to_numpy()]
            out.append(
                ctx.flag("work", at, f"{column}无法识别为年月（应为 YYYYMM 或 YYYY年MM月）", column=column)
            )
    reversed_ = (end < start).fillna(False).astype(bool)
    at = work.index[reversed_.to_numpy()]
    out.append(
        ctx.flag(
            "work",
            at,
            "结束时间 " + month_text(end[at]) + " 早于开始时间 " + month_text(start[at]),
            column="结束时间",
        )
    )
    if ctx.has("work", "证件号码"):
        out.append(overlapping_spells(ctx, start, end))
    if "是否已务工" in work and "结束时间" in work:
        open_ = is_no(work, "是否已务工") & (end.isna() | (end > reference)).fillna(False).astype(bool)
        open_ &= ~unreadable(ctx, "work", "结束时间")
        at = work.index[open_.to_numpy()]
        shown = month_text(end[at]).where(end[at].notna(), "为空")
        out.append(ctx.flag("work", at, "是否已务工为否，但结束时间" + shown + "（基准月 " + month_text(reference[at]) + "）", column="结束时间"))  # fmt: skip
    late = (start > reference).fillna(False).astype(bool)
    at = work.index[late.to_numpy()]
    out.append(ctx.flag("work", at, "开始时间 " + month_text(start[at]) + " 晚于基准月 " + month_text(reference[at]), column="开始时间"))  # fmt: skip
    return out


def overlapping_spells(ctx: AuditContext, start: pd.Series, end: pd.Series) -> pd.DataFrame:
    """DQ068(3): per person, spells in start order; a start not after the previous spell's end
    (an empty end: still working) overlaps."""
    # the person as the integer of its key (-1: none): sorted as numbers, not as texts
    person = pd.Series(person_numbers(ctx, "work"), index=start.index)
    spells = pd.DataFrame({"key": person, "start": start, "end": end})
    spells = spells[(person >= 0).to_numpy() & start.notna().to_numpy()]
    spells = spells.sort_values(["key", "start"], kind="stable")
    # compared as integers (a shift would make floats of them, and persons' numbers exceed 2**53)
    keys = spells["key"].to_numpy()
    same = np.zeros(len(keys), dtype=bool)
    same[1:] = keys[1:] == keys[:-1]
    same = pd.Series(same, index=spells.index)
    previous_end = spells["end"].shift()
    previous_start = spells["start"].shift()
    overlap = same & (previous_end.isna() | (spells["start"] <= previous_end)).fillna(False)
    at = spells.index[overlap.to_numpy(dtype=bool)]
    shown_end = month_text(previous_end[at]).where(previous_end[at].notna(), "未结束")
    message = (
        "与本人另一段务工（" + month_text(previous_start[at]) + "–" + shown_end + "）重叠：开始时间 "
        + month_text(spells.loc[at, "start"])
    )  # fmt: skip
    return ctx.flag("work", at, message, column="开始时间")


@rule(
    "DQ069",
    "务工记录与成员表不对应",
    severity="warning",
    needs=("members",),
    columns={"members": ("证件号码",)},
    what="已外出务工信息、计划外出务工信息的每行：证件号码（规范化后）不在成员表中；或在成员表中，但户编号不同；或该行的户类型、"
    "监测对象类别与成员所在户不同。证件号码本身无效的行由 DQ010 等报告，这里不判断。",
    why="务工信息按人关联家庭成员，对应不上时务工、收入核查（MN137、MN161）就会漏判或错判。",
    example=Example(
        "务工记录的证件号码 340826198301011224 不在家庭成员表中 → DQ069。",
        {
            "members": [monitored_person()],
            "work": [{"证件号码": id_number("19830101", 122), "是否已务工": "是"}],
        },
        near_miss={"work": {0: {"证件号码": id_number("19830101", 111)}}},
        near_miss_text="务工记录是成员张建国的",
        flagged=("work", 0),
        year=2023,
    ),
)
def dq069(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    kinds = [k for k in (mn.WORK, mn.PLANS) if ctx.has(k, "证件号码")]
    if not kinds:
        raise SkipRule("没有已外出务工信息或计划外出务工信息表")
    out = []
    for kind in kinds:
        frame = ctx.frame(kind)
        position = mn.record_member(ctx, kind)
        valid = person_keys(ctx, kind).notna().to_numpy()
        missing = valid & (position < 0)
        out.append(ctx.flag(kind, frame.index[missing], "证件号码不在家庭成员表中", column="证件号码"))
        found = position >= 0
        for column in (HID, HOUSEHOLD_TYPE, CATEGORY):
            if column not in frame:
                continue
            theirs = _member_household_values(ctx, column)
            if theirs is None:
                continue
            # compared as arrow texts (a Python string per record made this rule a tenth of a second)
            other = _texts_at(theirs, np.where(found, position, -1))
            mine = arrow_text_plain(text(frame[column]))
            # a value not in the code list is DQ003's (on either side): compared as "" it made every work
            # record of the household “differ from ''”
            invalid = unknown(ctx, kind, column)
            theirs_invalid = _invalid_of_member_household(ctx, column)
            if theirs_invalid is not None and len(theirs_invalid):
                invalid = invalid | (found & theirs_invalid[np.maximum(position, 0)])
            written = arrow_mask(pc.not_equal(mine, "")) | (column != HID)
            differs = found & ~arrow_mask(pc.equal(mine, other)) & written & ~invalid
            at = frame.index[differs]
            shown = pd.Series(other.take(np.flatnonzero(differs)).to_pylist(), index=at, dtype=object)
            message = (
                f"{column}为“" + text(frame.loc[at, column]) + "”，与成员表中此人所在户的“" + shown + "”不同"
            )
            out.append(ctx.flag(kind, at, message, column=column))
    return out


def _invalid_of_member_household(ctx: AuditContext, column: str) -> np.ndarray | None:
    """Per member row: its household's `column` was written but is not a valid value (`unknown`)."""
    if column == HID or not ctx.has("households", column):
        return None
    own, key, n = mn.member_codes(ctx)
    flags = np.zeros(n + 1, dtype=bool)
    known = own >= 0
    flags[own[known]] = unknown(ctx, "households", column)[known]
    return flags[np.where(key < 0, n, key)]


def _member_household_values(ctx: AuditContext, column: str) -> pa.Array | None:
    """Per member row: the text of `column` of its household (户编号 itself from the member row), as
    arrow text ("" for none)."""
    members = ctx.frame("members")
    if column == HID:
        return arrow_text_plain(text(members[HID])) if HID in members else None
    if not ctx.has("households", column) or not ctx.has("members", HID) or not ctx.has("households", HID):
        return None
    own, key, n = mn.member_codes(ctx)
    row_of = np.full(n + 1, -1, dtype=np.int64)  # per 户编号 code: its household row (the last, if several)
    known = own >= 0
    row_of[own[known]] = np.flatnonzero(known)
    households = arrow_text_plain(text(ctx.frame("households")[column]))
    return _texts_at(households, row_of[np.where(key < 0, n, key)])


def _texts_at(texts: pa.Array, rows: np.ndarray) -> pa.Array:
    """``texts[row]`` per entry of `rows`, "" where it is negative."""
    padded = pa.concat_arrays([texts, pa.array([""], type=texts.type)])
    return padded.take(pa.array(np.where(rows < 0, len(texts), rows)))


# ------------------------------------------------------------------------------------ villages


@rule(
    "DQ071",
    "村表分项数不合理",
    severity="error",
    needs=("villages",),
    columns={"villages": ("总人口数",)},
    what="（1）低保户数、危房户数或未实现饮水安全户数大于总户数；（2）低保人口数、特困供养人口数、残疾人口数或参加城乡居民基本养老"
    "保险人数大于总人口数；（3）低保人口数小于低保户数，或总人口数小于总户数，或总户数、总人口数为 0；（4）低保人口数、特困供养人口数"
    "小于成员表中该村（按县、乡、村对应）享受低保、特困供养的成员数。缺少的列对应的条件不判断。",
    why="村表分项是村级监测和出列核查的依据；分项超过总数或少于成员表的实际人数，说明统计有误。",
    example=Example(
        "总户数 300，低保户数 301 → DQ071。",
        {"villages": [{"县": "宿松县", "村": "城西村", "总户数": 300, "总人口数": 1000, "低保户数": 301}]},
        near_miss={"villages": {0: {"低保户数": 300}}},
        near_miss_text="低保户数恰好等于总户数 300",
        year=2023,
    ),
)
def dq071(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    villages = ctx.frame("villages", "总人口数")
    out = []

    def compare(part: str, whole: str, wording: str) -> None:
        if part in villages and whole in villages:
            bad = (villages[part] > villages[whole]).fillna(False).astype(bool) if wording == "大于" else (
                villages[part] < villages[whole]).fillna(False).astype(bool)  # fmt: skip
            at = villages.index[bad.to_numpy()]
            message = f"{part} " + fmt(villages.loc[at, part], "{:.0f}") + f" {wording}{whole} " + fmt(villages.loc[at, whole], "{:.0f}")  # fmt: skip
            out.append(ctx.flag("villages", at, message, column=part))

    for part in ("低保户数", "危房户数", "未实现饮水安全户数"):
        compare(part, "总户数", "大于")
    for part in ("低保人口数", "特困供养人口数", "残疾人口数", "参加城乡居民基本养老保险人数"):
        compare(part, "总人口数", "大于")
    compare("低保人口数", "低保户数", "小于")
    compare("总人口数", "总户数", "小于")
    for column in ("总户数", "总人口数"):
        if column in villages:
            at = villages.index[(villages[column] == 0).fillna(False).to_numpy(dtype=bool)]
            out.append(ctx.flag("villages", at, f"{column}为 0", column=column))
    if ctx.has("members"):
        out += _village_counts(ctx, villages)
    return out


def _village_counts(ctx: AuditContext, villages: pd.DataFrame) -> list[pd.DataFrame]:
    """DQ071(4): the village's 低保/特困 people against its members receiving them."""
    members = ctx.frame("members")
    places = place_columns(villages, members)
    if "村" not in places:
        return []
    dibao, tekun = mn.member_welfare(ctx)
    village_key, member_key = place_key(villages, places), place_key(members, places)
    out = []
    for column, flag, label in (("低保人口数", dibao, "享受低保"), ("特困供养人口数", tekun, "享受特困供养")):
        if column not in villages or not flag.any():
            continue
        counted = member_key[flag.to_numpy(dtype=bool)].value_counts()
        found = village_key.map(counted).fillna(0)
        short = (villages[column] < found).fillna(False).astype(bool)
        at = villages.index[short.to_numpy()]
        message = f"{column} " + fmt(villages.loc[at, column], "{:.0f}") + f" 小于成员表中本村{label}的 " + fmt(found[at], "{:.0f}") + " 人"  # fmt: skip
        out.append(ctx.flag("villages", at, message, column=column))
    return out


# ------------------------------------------------------------------------------------ public posts


class PublicJobsParams(RuleParams):
    max_public_jobs: int = Field(2, ge=1)


@rule(
    "DQ073",
    "公益性岗位登记不完整或过多",
    severity="warning",
    needs=("members",),
    columns={"members": ("公益性岗位类型",)},
    params=PublicJobsParams,
    what="成员的（1）公益性岗位有值，而公益性岗位（月数）为空或 0；（2）公益性岗位（月数）大于 0，而公益性岗位为空；（3）公益性岗位"
    "登记了多于 max_public_jobs（默认 2）个不同岗位（按 ,，、; 分隔）。缺少月数列时（1）（2）不判断。",
    why="公益性岗位按月发放补贴，须登记岗位和月数；一人多岗多为重复登记或虚设岗位。",
    example=Example(
        "公益性岗位 = 护林员，公益性岗位（月数）为 0 → DQ073。",
        {"members": [monitored_person(公益性岗位类型="护林员", 公益性岗位月数=0)]},
        near_miss={"members": {0: {"公益性岗位月数": 1}}},
        near_miss_text="公益性岗位（月数）1",
        year=2023,
    ),
)
def dq073(ctx: AuditContext, params: PublicJobsParams) -> list[pd.DataFrame]:
    members = ctx.frame("members", "公益性岗位类型")
    post = text(members["公益性岗位类型"])
    out = []
    if "公益性岗位月数" in members:
        months_ = members["公益性岗位月数"].astype("float64")
        no_months = (
            (post != "") & ~(months_ > 0).fillna(False) & ~unreadable(ctx, "members", "公益性岗位月数")
        )
        at = members.index[no_months.to_numpy()]
        out.append(ctx.flag("members", at, "公益性岗位为" + post[at] + "，但公益性岗位（月数）为空或 0", column="公益性岗位月数"))  # fmt: skip
        no_post = (post == "") & (months_ > 0).fillna(False)
        at = members.index[no_post.to_numpy()]
        out.append(ctx.flag("members", at, "公益性岗位（月数）为 " + fmt(months_[at], "{:.0f}") + "，但公益性岗位为空", column="公益性岗位类型"))  # fmt: skip
    values = mn.split_values(post)
    distinct = values.groupby(level=0).nunique().reindex(members.index, fill_value=0)
    many = distinct > params.max_public_jobs
    at = members.index[many.to_numpy()]
    message = "登记了 " + fmt(distinct[at], "{:.0f}") + " 个公益性岗位（" + post[at] + f"），多于 {params.max_public_jobs} 个（参数 max_public_jobs）"  # fmt: skip
    out.append(ctx.flag("members", at, message, column="公益性岗位类型"))
    return out
