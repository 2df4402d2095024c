"""DQ050–DQ056: household income — its arithmetic, its plausibility, and what the members say.

家庭纯收入 = 工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出; 人均纯收入 = 纯收入 ÷ 家庭人口数;
转移性收入 = 计划生育金 + 低保金 + 五保金 + 养老保险金 + 生态补偿金 + 其他转移性收入 (DOMAIN.md §5).
Arithmetic is checked on whole float columns; member facts are counted per household with
``np.bincount`` over the members' household positions (see dq_household) and read back per household.

A money cell that is empty counts as 0 where the column exists; a cell that was written but is not a
valid amount (DQ004) makes the check of that row impossible, so the row is left out rather than
reported with an invented 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from pydantic import model_validator

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, NoParams, RuleParams, SkipRule, rule
from fupin_audit.facts.cells import (
    factorize,
    formatted,
    household_positions,
    map_values,
    member_household_codes,
    per_household,
    raw_empty,
    unknown,
)
from fupin_audit.facts.keys import gather
from fupin_audit.facts.monitoring import WORK, has_public_post, has_work_record
from fupin_audit.facts.people import place_empty
from fupin_audit.facts.values import ID
from fupin_audit.rules.example_data import household, person

HID = "户编号"
NET, PER_CAPITA, SIZE = "纯收入", "人均纯收入", "家庭人口数"
WAGE, BUSINESS, PROPERTY, TRANSFER = "工资性收入", "生产经营性收入", "财产性收入", "转移性收入"
COST = "生产经营性支出"
INCOME_PARTS = (WAGE, BUSINESS, PROPERTY, TRANSFER)
SHORT = {
    WAGE: "工资性",
    BUSINESS: "生产经营性",
    PROPERTY: "财产性",
    TRANSFER: "转移性",
    COST: "生产经营性支出",
}
TRANSFER_PARTS = ("计划生育金", "低保金", "五保金", "养老保险金", "生态补偿金", "其他转移性收入")
CAUSE, CAUSE2, ATTRIBUTE = "主要致贫原因", "次要致贫原因", "贫困户属性"
HEALTH, SCHOOL, DISABILITY = "健康状况", "在校生状况", "残疾类别"
WORK_MONTHS, WORK_PLACE, PUBLIC_JOB = "务工时间", "务工所在地", "公益性岗位月数"
# Float noise allowance when comparing an amount difference with a tolerance given in yuan.
EPSILON = 1e-6
NONE_WORDS = frozenset({"无", "没有", "否", "0", "非残疾", "不是"})

WHY_INCOME = (
    "验收严格、两该两不该：年人均纯收入是贫困户识别（不该进的进了）和脱贫退出（不该出的出了、该出的没出）的首要"
    "标准（《关于建立贫困退出机制的意见》厅字〔2016〕16号：人均纯收入稳定超过国家扶贫标准）。收入各项之间"
    "算不拢，说明收入是“算”出来而非“核”出来的，正是审计发现的“算账脱贫”。"
)


def _money(values: np.ndarray, labels: pd.Index) -> pd.Series:
    """Amounts as “1234.50” for the flagged rows, each distinct amount formatted once."""
    return formatted(values, "{:.2f}", labels)


def _amounts(ctx: AuditContext, fields: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Amounts (empty → 0), whether any field of a row is unknown (DQ004), and whether all are empty."""
    data = ctx.frame("households")
    n = len(data)
    values = np.zeros((n, len(fields)), dtype=np.float64)
    any_unknown = np.zeros(n, dtype=bool)
    all_empty = np.ones(n, dtype=bool)
    for i, field in enumerate(fields):
        values[:, i] = data[field].fillna(0.0).to_numpy(dtype=np.float64)
        any_unknown |= unknown(ctx, "households", field)
        all_empty &= raw_empty(ctx, "households", field)
    return values, any_unknown, all_empty


# ------------------------------------------------------------------------------------ DQ050


class NetIncomeTolerance(RuleParams):
    tolerance: float = 1.0  # yuan: |纯收入 − Σ 分项| above this is reported


@rule(
    "DQ050",
    "纯收入与各项收入不符",
    severity="error",
    needs=("households",),
    columns={"households": (NET, *INCOME_PARTS, COST)},
    params=NetIncomeTolerance,
    what="纯收入 ≠ 工资性收入 + 生产经营性收入 + 财产性收入 + 转移性收入 − 生产经营性支出，相差超过 1 元"
    "（参数 tolerance）。纯收入为空、五个分项全为空或某分项不是合法金额（DQ004）的行不检查；"
    "其余空分项按 0 计。",
    why=WHY_INCOME,
    example=Example(
        "工资性 4000 + 生产经营性 2000 + 财产性 0 + 转移性 400 − 生产经营性支出 1000 = 5400，纯收入填 5402 → DQ050。",
        {
            "households": [
                household(
                    工资性收入=4000,
                    生产经营性收入=2000,
                    财产性收入=0,
                    转移性收入=400,
                    生产经营性支出=1000,
                    纯收入=5402,
                )
            ]
        },
        near_miss={"households": {0: {"纯收入": 5401}}},
        near_miss_text="纯收入 5401（差 1 元，在容差内）",
    ),
)
def dq050(ctx: AuditContext, params: NetIncomeTolerance) -> pd.DataFrame | None:
    data = ctx.frame("households", NET, *INCOME_PARTS, COST)
    fields = (*INCOME_PARTS, COST)
    values, any_unknown, all_empty = _amounts(ctx, fields)
    computed = values[:, :4].sum(axis=1) - values[:, 4]
    net = data[NET].to_numpy(dtype=np.float64, na_value=np.nan)
    diff = net - computed
    flagged = ~np.isnan(net) & ~any_unknown & ~all_empty & (np.abs(diff) > params.tolerance + EPSILON)
    if not flagged.any():
        return None
    labels = data.index[flagged]
    message = "纯收入 " + _money(net[flagged], labels) + " 元，"
    for i, field in enumerate(INCOME_PARTS):
        message += ("" if i == 0 else " + ") + SHORT[field] + " " + _money(values[flagged, i], labels)
    message += (
        f" − {SHORT[COST]} " + _money(values[flagged, 4], labels) + " = " + _money(computed[flagged], labels)
        + " 元，相差 " + _money(np.abs(diff[flagged]), labels) + f" 元（容差 ±{params.tolerance:g} 元）"
    )  # fmt: skip
    return ctx.flag("households", labels, message, column=NET)


# ------------------------------------------------------------------------------------ DQ051


class PerCapitaTolerance(RuleParams):
    per_person: float = 0.01  # yuan per household member (the per-capita figure was rounded per person)
    rounding: float = 0.005  # plus half a fen for the rounding of the per-capita figure itself


@rule(
    "DQ051",
    "人均纯收入与纯收入÷家庭人口数不符",
    severity="error",
    needs=("households",),
    columns={"households": (PER_CAPITA, NET, SIZE)},
    params=PerCapitaTolerance,
    what="|人均纯收入 − 纯收入 ÷ 家庭人口数| > 0.01 × 家庭人口数 + 0.005 元（参数 per_person、rounding）。"
    "三项中有一项为空的行不检查。",
    why=WHY_INCOME + " 人均纯收入与纯收入、人口数对不上，往往是调整了人均数而没有调整收入明细，或人口变动后"
    "没有重算。",
    example=Example(
        "纯收入 5400，家庭人口数 2，人均纯收入 2800 → 应为 2700，DQ051。",
        {"households": [household(纯收入=5400, 家庭人口数=2, 人均纯收入=2800)]},
        near_miss={"households": {0: {"人均纯收入": 2700}}},
        near_miss_text="人均纯收入 2700",
    ),
)
def dq051(ctx: AuditContext, params: PerCapitaTolerance) -> pd.DataFrame | None:
    data = ctx.frame("households", PER_CAPITA, NET, SIZE)
    per_capita = data[PER_CAPITA].to_numpy(dtype=np.float64, na_value=np.nan)
    net = data[NET].to_numpy(dtype=np.float64, na_value=np.nan)
    size = data[SIZE].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    usable = ~np.isnan(per_capita) & ~np.isnan(net) & ~np.isnan(size) & (np.nan_to_num(size) > 0)
    safe_size = np.where(usable, size, 1.0)
    expected = net / safe_size
    diff = per_capita - expected
    tolerance = params.per_person * safe_size + params.rounding
    flagged = usable & (np.abs(diff) > tolerance + EPSILON)
    if not flagged.any():
        return None
    labels = data.index[flagged]
    people = formatted(size[flagged], "{:.0f}", labels)
    allowed = pd.Series(
        map_values(
            pd.Series(size[flagged]),
            lambda n: "" if n is None else f"{params.per_person * n + params.rounding:g}",
        ),
        index=labels,
        dtype=object,
    )
    # 纯收入 worked out by the loader (a monitoring export has only its parts): say so, with the parts
    derived = pd.Series(
        np.where(ctx.derived_rows("households", NET)[flagged], "（由各项收入推算）", ""), index=labels
    )
    message = (
        "人均纯收入 " + _money(per_capita[flagged], labels) + " 元，纯收入" + derived + " " + _money(net[flagged], labels)
        + " 元 ÷ 家庭人口数 " + people + " = " + _money(expected[flagged], labels) + " 元，相差 "
        + _money(np.abs(diff[flagged]), labels) + " 元（容差 ±" + allowed + f" 元 = {params.per_person:g} × "
        + people + f" + {params.rounding:g}）"
    )  # fmt: skip
    return ctx.flag("households", labels, message, column=PER_CAPITA)


# ------------------------------------------------------------------------------------ DQ052


class TransferTolerance(RuleParams):
    tolerance: float = 1.0  # yuan


@rule(
    "DQ052",
    "转移性收入与其分项合计不符",
    severity="warning",
    needs=("households",),
    columns={"households": (TRANSFER,)},
    params=TransferTolerance,
    what="转移性收入 ≠ 计划生育金 + 低保金 + 五保金 + 养老保险金 + 生态补偿金 + 其他转移性收入，相差超过 1 元"
    "（参数 tolerance）。至少要有一个分项列，否则跳过；六个分项列不全时只能检查已有分项之和不超过转移性收入。"
    "空分项按 0 计；转移性收入为空、已有分项全为空或某分项不是合法金额的行不检查。",
    why=WHY_INCOME + " 转移性收入（低保金、五保金、养老金等政策性收入）占比高的户脱贫不稳（IN003），其分项"
    "对不上会掩盖“政策兜底式”脱贫。",
    example=Example(
        "计划生育金 0 + 低保金 2000 + 五保金 0 + 养老保险金 1200 + 生态补偿金 0 + 其他转移性收入 0 = 3200，转移性收入填 400 → DQ052。",
        {
            "households": [
                household(
                    转移性收入=400,
                    计划生育金=0,
                    低保金=2000,
                    五保金=0,
                    养老保险金=1200,
                    生态补偿金=0,
                    其他转移性收入=0,
                )
            ]
        },
        near_miss={"households": {0: {"转移性收入": 3200}}},
        near_miss_text="转移性收入 3200",
    ),
)
def dq052(ctx: AuditContext, params: TransferTolerance) -> pd.DataFrame | None:
    data = ctx.frame("households", TRANSFER)
    present = [f for f in TRANSFER_PARTS if ctx.has("households", f)]
    if not present:
        raise SkipRule(f"households 表没有转移性收入的分项列（{'、'.join(TRANSFER_PARTS)}）")
    missing = [f for f in TRANSFER_PARTS if f not in present]
    values, any_unknown, all_empty = _amounts(ctx, present)
    parts_sum = values.sum(axis=1)
    total = data[TRANSFER].to_numpy(dtype=np.float64, na_value=np.nan)
    diff = total - parts_sum
    usable = ~np.isnan(total) & ~any_unknown & ~all_empty
    if missing:  # an incomplete breakdown can only be too large, never proven too small
        flagged = usable & (-diff > params.tolerance + EPSILON)
    else:
        flagged = usable & (np.abs(diff) > params.tolerance + EPSILON)
    if not flagged.any():
        return None
    labels = data.index[flagged]
    terms = pd.Series("", index=labels, dtype=object)
    for i, field in enumerate(present):
        terms += ("" if i == 0 else " + ") + field + " " + _money(values[flagged, i], labels)
    total_text, sum_text = _money(total[flagged], labels), _money(parts_sum[flagged], labels)
    gap = _money(np.abs(diff[flagged]), labels)
    if missing:
        message = (
            "已有分项合计 " + terms + " = " + sum_text + " 元，超过转移性收入 " + total_text + " 元 " + gap
            + f" 元（容差 ±{params.tolerance:g} 元；户表缺少 {'、'.join(missing)} 列，"
            + "只能检查分项之和不超过转移性收入）"
        )  # fmt: skip
    else:
        message = (
            "转移性收入 " + total_text + " 元，分项合计 " + terms + " = " + sum_text + " 元，相差 " + gap
            + f" 元（容差 ±{params.tolerance:g} 元）"
        )  # fmt: skip
    return ctx.flag("households", labels, message, column=TRANSFER)


# ------------------------------------------------------------------------------------ DQ053


class PlausibleIncome(RuleParams):
    per_capita_min: float = 0.0  # 人均纯收入 at or below this is implausible (yuan)
    per_capita_max: float = 100_000.0  # 人均纯收入 above this is implausible (yuan)

    @model_validator(mode="after")
    def _ordered(self) -> PlausibleIncome:
        if self.per_capita_min >= self.per_capita_max:
            raise ValueError(
                f"per_capita_min {self.per_capita_min:g} 须小于 per_capita_max {self.per_capita_max:g}"
            )
        return self


@rule(
    "DQ053",
    "收入不合常理",
    severity="warning",
    needs=("households",),
    params=PlausibleIncome,
    what="（1）人均纯收入 ≤ 0 元或 > 100 000 元（参数 per_capita_min、per_capita_max）；"
    "（2）生产经营性收入 > 0，生产经营性支出却为 0 或空。只做现有列允许的检查；"
    "人均纯收入、生产经营性收入/支出都没有时跳过。",
    why=WHY_INCOME
    + " 人均纯收入为负或为零、或高得离谱，多为单位（元/万元）或口径（家庭/人均）填错；有经营收入"
    "却没有经营支出，说明填的是毛收入，纯收入被高估（算账脱贫）。",
    example=Example(
        "人均纯收入 = 0 元 → DQ053。",
        {"households": [household(人均纯收入=0)]},
        near_miss={"households": {0: {"人均纯收入": 0.01}}},
        near_miss_text="人均纯收入 0.01 元",
    ),
)
def dq053(ctx: AuditContext, params: PlausibleIncome) -> list[pd.DataFrame]:
    data = ctx.frame("households")
    can_bounds = ctx.has("households", PER_CAPITA)
    can_business = ctx.has("households", BUSINESS) and ctx.has("households", COST)
    if not can_bounds and not can_business:
        raise SkipRule(f"households 表缺少列 {PER_CAPITA}，也缺少 {BUSINESS}/{COST}")
    out = []
    if can_bounds:
        per_capita = data[PER_CAPITA].to_numpy(dtype=np.float64, na_value=np.nan)
        known = ~np.isnan(per_capita)
        low = known & (per_capita <= params.per_capita_min)
        high = known & (per_capita > params.per_capita_max)
        flagged = low | high
        if flagged.any():
            labels = data.index[flagged]
            verdict = np.where(
                low[flagged],
                f" 元不大于 {params.per_capita_min:g} 元，不合常理",
                f" 元超过 {params.per_capita_max:g} 元，疑为单位或口径填错（如万元、家庭纯收入）",
            )
            message = "人均纯收入 " + _money(per_capita[flagged], labels) + verdict
            out.append(ctx.flag("households", labels, message, column=PER_CAPITA))
    if can_business:
        business = data[BUSINESS].to_numpy(dtype=np.float64, na_value=np.nan)
        cost = data[COST]
        cost_empty = raw_empty(ctx, "households", COST)
        no_cost = (cost == 0).fillna(False).to_numpy(dtype=bool) | cost_empty
        flagged = (np.nan_to_num(business) > 0) & no_cost
        if flagged.any():
            labels = data.index[flagged]
            said = np.where(cost_empty[flagged], "为空", "为 0")
            message = (
                "生产经营性收入 " + _money(business[flagged], labels) + " 元，但生产经营性支出" + said
                + "：纯收入应扣除经营成本"
            )  # fmt: skip
            out.append(ctx.flag("households", labels, message, column=COST))
    return out


# ------------------------------------------------------------------------------------ member facts


def _member_count(ctx: AuditContext, mask: np.ndarray) -> np.ndarray:
    """Per household row: how many of its members satisfy ``mask`` (0 for a household without members)."""
    return gather(per_household(ctx, mask), household_positions(ctx))


def _household_label_text(series: pd.Series, labels: pd.Index) -> pd.Series:
    part = series[labels]
    return part.astype(object).where(part.notna(), "").astype(str)


def _named(series: pd.Series) -> np.ndarray:
    """A text cell that names something (not empty and not a word for “none”)."""
    return map_values(series, lambda v: isinstance(v, str) and v.strip() not in NONE_WORDS, bool)


@rule(
    "DQ054",
    "致贫原因与成员情况矛盾",
    severity="warning",
    needs=("households", "members"),
    columns={"households": (HID, CAUSE), "members": (HID,)},
    what="主要致贫原因与成员情况矛盾：因病，但没有成员健康状况含长期慢性病或患有大病；因残，但没有成员健康状况含"
    "残疾（也没有填残疾类别）；因学，但没有在校生（在校生状况已填且不是学龄前儿童、非在校生）；以及次要致贫原因"
    "包含了主要致贫原因。成员表中没有成员、或有成员的相关字段不是合法取值（DQ003）的户不作成员方面的判断；"
    "缺少健康状况或在校生状况列时跳过相应检查。",
    why="精准施策、因户施策（“六个精准”之措施到户精准）：致贫原因决定帮扶措施（因病→健康帮扶，因学→教育帮扶，"
    "因残→兜底保障），原因与家庭实际不符，措施就对不上症（SY205）；次要原因重复主要原因说明致贫原因没有认真分析。",
    example=Example(
        "主要致贫原因 = 因病，该户唯一成员健康状况为“健康” → DQ054。",
        {"households": [household(主要致贫原因="因病")], "members": [person(健康状况="健康")]},
        near_miss={"members": {0: {"健康状况": "长期慢性病"}}},
        near_miss_text="成员健康状况为长期慢性病",
    ),
)
def dq054(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    households = ctx.frame("households", HID, CAUSE)
    members = ctx.frame("members", HID)
    positions = household_positions(ctx)
    size = _member_count(ctx, np.ones(len(members), dtype=bool))
    cause = households[CAUSE]
    out = []

    def contradiction(cause_label: str, holds: np.ndarray, undecided: np.ndarray, lacking: str) -> None:
        has = _member_count(ctx, holds)
        open_ = _member_count(ctx, undecided)
        flagged = (cause == cause_label).to_numpy(dtype=bool) & (positions >= 0) & (has == 0) & (open_ == 0)
        if flagged.any():
            labels = households.index[flagged]
            n = pd.Series(size[flagged], index=labels).astype(str)
            message = f"主要致贫原因为“{cause_label}”，但该户 " + n + f" 名成员中{lacking}"
            out.append(ctx.flag("households", labels, message, column=CAUSE))

    if ctx.has("members", HEALTH):
        health = members[HEALTH]
        health_unknown = unknown(ctx, "members", HEALTH)
        sick = map_values(
            health, lambda v: isinstance(v, str) and ("长期慢性病" in v or "患有大病" in v), bool
        )
        contradiction("因病", sick, health_unknown, "没有人健康状况为长期慢性病或患有大病")
        disabled = map_values(health, lambda v: isinstance(v, str) and "残疾" in v, bool)
        lacking = "没有人健康状况为残疾"
        if ctx.has("members", DISABILITY):
            disabled = disabled | _named(members[DISABILITY])
            lacking += "，也没有人填写残疾类别"
        contradiction("因残", disabled, health_unknown, lacking)
    if ctx.has("members", SCHOOL):
        school = members[SCHOOL]
        student = school.notna().to_numpy() & ~school.isin(("学龄前儿童", "非在校生")).to_numpy(dtype=bool)
        contradiction(
            "因学", student, unknown(ctx, "members", SCHOOL), "没有在校生（学龄前儿童、非在校生不算）"
        )
    if ctx.has("households", CAUSE2):
        # The first two comma-separated parts of each distinct 次要致贫原因 (empty: one part ""),
        # compared with the 主要致贫原因 as codes of the distinct texts (not text by text per row).
        codes, uniques = factorize(households[CAUSE2])
        parts = [str(value).split(",", 1) for value in uniques] + [[""]]
        rows = np.where(codes < 0, len(uniques), codes)
        main, causes = factorize(cause)
        where = {text_: i for i, text_ in enumerate(causes)}
        repeated = np.zeros(len(households), dtype=bool)
        for i in range(max(len(p) for p in parts)):
            part = np.array([where.get(p[i], -2) if len(p) > i else -2 for p in parts], dtype=np.int64)
            repeated |= part[rows] == main
        repeated &= main >= 0
        if repeated.any():
            labels = households.index[repeated]
            second = households.loc[labels, CAUSE2].astype(object)
            message = (
                "次要致贫原因“" + _household_label_text(second, labels) + "”重复了主要致贫原因“"
                + _household_label_text(cause, labels) + "”"
            )  # fmt: skip
            out.append(ctx.flag("households", labels, message, column=CAUSE2))
    return out


# ------------------------------------------------------------------------------------ DQ055

DIBAO_FLAG, TEKUN_FLAG = "是否享受低保", "是否特困供养人员"
DIBAO_MONEY, TEKUN_MONEY = "低保金", "五保金"


@rule(
    "DQ055",
    "低保/特困属性与成员或保障金矛盾",
    severity="warning",
    needs=("households", "members"),
    columns={"households": (HID, ATTRIBUTE), "members": (HID,)},
    what="贫困户属性含“低保”，但（成员表有是否享受低保列时）没有成员为“是”，或（户表有低保金列时）"
    "低保金为 0 或空；含“特困”或“五保”，但没有成员是否特困供养人员为“是”，或五保金为 0 或空；"
    "反过来，成员享受低保（或为特困供养人员），所在户的贫困户属性却不含低保（或特困/五保）。成员的该列全为空的户不作成员方面的判断。四个相关列"
    "一个都没有时跳过。",
    why="两该两不该、纪律严厉：低保、特困供养是兜底保障，户属性、个人享受情况和实际发放的保障金三者应当一致；"
    "属性为低保户却没有人享受低保、没有低保金，或享受低保的人不在低保户中，提示属性错标、应保未保或"
    "错保、冒领（SY4 纪律严厉、LG 两该两不该）。",
    example=Example(
        "贫困户属性 = 低保贫困户，成员享受低保，低保金却为 0 → DQ055。",
        {
            "households": [household(贫困户属性="低保贫困户", 低保金=0)],
            "members": [person(是否享受低保="是")],
        },
        near_miss={"households": {0: {"低保金": 1800}}},
        near_miss_text="低保金 1800",
    ),
)
def dq055(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    households = ctx.frame("households", HID, ATTRIBUTE)
    members = ctx.frame("members", HID)
    optional = (DIBAO_FLAG, TEKUN_FLAG, DIBAO_MONEY, TEKUN_MONEY)
    if not any(ctx.has("members" if f.startswith("是否") else "households", f) for f in optional):
        raise SkipRule(f"既没有成员列 {DIBAO_FLAG}、{TEKUN_FLAG}，也没有户列 {DIBAO_MONEY}、{TEKUN_MONEY}")
    attribute = households[ATTRIBUTE]
    positions = household_positions(ctx)
    codes, uniques = member_household_codes(ctx)
    out = []
    kinds = (
        (("低保",), DIBAO_FLAG, DIBAO_MONEY, "享受低保"),
        (("特困", "五保"), TEKUN_FLAG, TEKUN_MONEY, "为特困供养人员"),
    )
    for markers, flag, money, doing in kinds:
        marked = map_values(
            attribute, lambda v, m=markers: isinstance(v, str) and any(x in v for x in m), bool
        )
        attr_known = attribute.notna().to_numpy()
        if ctx.has("members", flag):
            yes = members[flag].fillna(False).to_numpy(dtype=bool)
            filled = members[flag].notna().to_numpy()
            n_yes = _member_count(ctx, yes)
            n_filled = _member_count(ctx, filled)
            flagged = marked & (positions >= 0) & (n_filled > 0) & (n_yes == 0)
            if flagged.any():
                labels = households.index[flagged]
                size = pd.Series(_member_count(ctx, np.ones(len(members), dtype=bool))[flagged], index=labels)
                message = (
                    "贫困户属性为“" + _household_label_text(attribute, labels) + "”，但该户 "
                    + size.astype(str) + f" 名成员中没有人{flag}为“是”"
                )  # fmt: skip
                out.append(ctx.flag("households", labels, message, column=ATTRIBUTE))
            # The reverse, on the member row: the household's attribute per member (-1 unknown).
            per_hh = np.full(len(uniques) + 1, -1, dtype=np.int8)
            known_hh = (positions >= 0) & attr_known
            per_hh[positions[known_hh]] = marked[known_hh].astype(np.int8)
            member_marked = per_hh[np.where(codes < 0, len(uniques), codes)]
            reverse = yes & (member_marked == 0)
            if reverse.any():
                labels = members.index[reverse]
                # The attribute of the first household row with the member's 户编号.
                first_row = np.full(len(uniques) + 1, -1, dtype=np.int64)
                listed = np.flatnonzero(positions >= 0)[::-1]  # last to first: the first row wins
                first_row[positions[listed]] = listed
                rows = first_row[codes[reverse]]
                attr_text = attribute.astype(object).to_numpy()[rows]
                message = (
                    f"{doing}（{flag} = 是），但所在户 " + members.loc[labels, HID].astype(str)
                    + " 的贫困户属性为“" + pd.Series(attr_text, index=labels).astype(str)
                    + f"”，不含{'或'.join(markers)}"
                )  # fmt: skip
                out.append(ctx.flag("members", labels, message, column=flag))
        if ctx.has("households", money):
            amount = households[money]
            empty = raw_empty(ctx, "households", money)
            none = (amount == 0).fillna(False).to_numpy(dtype=bool) | empty
            flagged = marked & none
            if flagged.any():
                labels = households.index[flagged]
                said = pd.Series(np.where(empty[flagged], "为空", "为 0"), index=labels, dtype=object)
                message = "贫困户属性为“" + _household_label_text(attribute, labels) + f"”，但{money}" + said
                out.append(ctx.flag("households", labels, message, column=money))
    return out


# ------------------------------------------------------------------------------------ DQ056


@rule(
    "DQ056",
    "工资性收入与成员务工情况矛盾",
    severity="warning",
    needs=("households", "members"),
    columns={"households": (HID, WAGE), "members": (HID,)},
    what="（1）工资性收入 > 0，但该户没有人务工：所有成员务工时间为 0 或空、没有务工所在地"
    "（成员表有公益性岗位月数或公益性岗位列时，也没有人在公益性岗位；有已外出务工信息表时，也没有"
    "是否已务工 = 是的务工记录）；（2）该户有成员务工时间 > 0，"
    "工资性收入却为 0 或空。成员表需要务工时间或务工所在地列；"
    "成员表中没有成员、或有成员的务工时间不是合法数字的户不检查。",
    why=WHY_INCOME + " 工资性收入是多数脱贫户的主要收入，必须有务工（或公益性岗位）事实支撑；有收入无务工是"
    "“算账脱贫”的典型迹象，有务工无收入则说明收入漏算（该出的没出）。",
    example=Example(
        "工资性收入 4000，该户唯一成员务工时间 0、务工所在地为空 → DQ056。",
        {"households": [household(工资性收入=4000)], "members": [person(务工时间=0, 务工所在地=None)]},
        near_miss={"members": {0: {"务工时间": 6, "务工所在地": "合肥"}}},
        near_miss_text="该成员在合肥务工 6 个月",
    ),
)
def dq056(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    households = ctx.frame("households", HID, WAGE)
    members = ctx.frame("members", HID)
    has_months = ctx.has("members", WORK_MONTHS)
    has_place = ctx.has("members", WORK_PLACE)
    if not has_months and not has_place:
        raise SkipRule(f"members 表缺少列 {WORK_MONTHS}、{WORK_PLACE}")
    positions = household_positions(ctx)
    n = len(members)
    months = members[WORK_MONTHS] if has_months else pd.Series(pd.NA, index=members.index, dtype="Int64")
    working_months = (months > 0).fillna(False).to_numpy(dtype=bool)
    working = working_months.copy()
    undecided = np.zeros(n, dtype=bool)
    if has_months:
        undecided |= unknown(ctx, "members", WORK_MONTHS)
    if has_place:
        working |= ~place_empty(ctx)
    conditions = (["务工时间为 0 或空"] if has_months else []) + (["没有务工所在地"] if has_place else [])
    if ctx.has("members", PUBLIC_JOB):
        working |= (members[PUBLIC_JOB] > 0).fillna(False).to_numpy(dtype=bool)
        undecided |= unknown(ctx, "members", PUBLIC_JOB)
    # A monitoring export names the post (公益性岗位) and gives work records (已外出务工信息) on their own
    # sheet: either is work, as for MN161 — the sheet's 是否已务工 = 是 is as good as a 务工所在地.
    post = has_public_post(ctx).to_numpy(dtype=bool)
    working |= post
    if ctx.has("members", PUBLIC_JOB) or post.any():
        conditions.append("没有公益性岗位")
    if ctx.has(WORK, ID, "是否已务工"):
        working |= has_work_record(ctx).to_numpy(dtype=bool)
        conditions.append("没有务工记录")
    condition = "、".join(conditions)
    size = _member_count(ctx, np.ones(n, dtype=bool))
    workers = _member_count(ctx, working)
    open_ = _member_count(ctx, undecided)
    wage = households[WAGE]
    wage_values = wage.to_numpy(dtype=np.float64, na_value=np.nan)
    out = []
    idle = (np.nan_to_num(wage_values) > 0) & (positions >= 0) & (workers == 0) & (open_ == 0)
    if idle.any():
        labels = households.index[idle]
        message = (
            "工资性收入 " + _money(wage_values[idle], labels) + " 元，但该户 "
            + formatted(size[idle], "{}", labels) + f" 名成员都没有务工（{condition}）"
        )  # fmt: skip
        out.append(ctx.flag("households", labels, message, column=WAGE))
    if has_months:
        wage_empty = raw_empty(ctx, "households", WAGE)
        no_wage = (wage == 0).fillna(False).to_numpy(dtype=bool) | wage_empty
        n_workers = _member_count(ctx, working_months)
        codes, uniques = member_household_codes(ctx)
        counted = working_months & (codes >= 0)
        month_values = months.fillna(0).to_numpy(dtype=np.float64)
        month_total = gather(
            np.bincount(codes[counted], weights=month_values[counted], minlength=len(uniques)), positions
        )
        unpaid = no_wage & (n_workers > 0)
        if unpaid.any():
            labels = households.index[unpaid]
            message = (
                "该户 " + formatted(n_workers[unpaid], "{}", labels) + " 名成员务工时间大于 0（合计 "
                + formatted(month_total[unpaid], "{:.0f}", labels) + " 个月），但工资性收入"
                + np.where(wage_empty[unpaid], "为空", "为 0")
            )  # fmt: skip
            out.append(ctx.flag("households", labels, message, column=WAGE))
    return out
