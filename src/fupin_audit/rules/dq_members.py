"""DQ040–DQ044: member fields that contradict each other or the member's age; phone numbers.

Ages are whole years at 31 December of the data year (never "today"), from the birth date in the
ID number, else the 出生日期 column. Code columns are compared on their few distinct labels and the
result is taken back to the rows, so a province's 3.5 million members cost a few array operations.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pydantic import field_validator

from fupin_audit.dataset import SOURCE_COLUMN
from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, NoParams, RuleParams, SkipRule, rule
from fupin_audit.facts.cells import day_texts, formatted, map_values, raw_empty
from fupin_audit.facts.people import (
    WORK_MONTHS,
    WORK_PLACE,
    member_ages,
    member_birth,
    place_empty,
)
from fupin_audit.facts.phones import MOBILE, phone_matches, phone_numbers_of
from fupin_audit.rules.example_data import household, id_number, person
from fupin_audit.schema.fields import Kind
from fupin_audit.schema.models import MODELS

EDU, SCHOOL, SKILL, HEALTH = "文化程度", "在校生状况", "劳动技能", "健康状况"
NOT_STUDENT = "非在校生"
LABOUR = ("普通劳动力", "技能劳动力")
NO_LABOUR = ("无劳动力", "丧失劳动力")

WHY_MEMBER = (
    "源头严把：成员的受教育、劳动能力、健康和务工信息决定“两不愁三保障”是否达标、应当采取哪类帮扶措施"
    "（教育帮扶、就业帮扶、公益岗位……）以及收入是否可信；字段相互矛盾说明录入失真，依此制定的措施就不精准"
    "（国务院扶贫办《扶贫开发建档立卡指标体系》指标解释）。"
)


# ------------------------------------------------------------------------------------ age


def age_phrase(ctx: AuditContext, labels: pd.Index) -> pd.Series:
    """“年龄 5 岁（据证件号码，出生 2012-03-04，计至 2017-12-31）” for flagged rows (whole columns)."""
    birth = member_birth(ctx).loc[labels]
    ages = member_ages(ctx)[labels]
    ref = ctx.reference_date("members")[labels]
    return (
        "年龄 " + formatted(ages, "{}") + " 岁（据" + birth["source"].astype(object) + "，出生 "
        + day_texts(birth["birth"], "") + "，计至 " + day_texts(ref, "") + "）"
    )  # fmt: skip


def _label(series: pd.Series, labels: pd.Index) -> pd.Series:
    part = series[labels]
    return part.astype(object).where(part.notna(), "").astype(str)


# ------------------------------------------------------------------------------------ DQ040


@rule(
    "DQ040",
    "文化程度与在校生状况同时填写或同时为空",
    severity="warning",
    needs=("members",),
    columns={"members": (EDU, SCHOOL)},
    what="文化程度与在校生状况应当恰好填写一项：在校生填在校生状况、文化程度留空；非在校生填文化程度。"
    "在校生状况为“非在校生”视同未填。两项都填（且不是“非在校生”）或都空时报告。取值不在代码表中的单元格"
    "由 DQ003 报告，此处视为“已填但未知”，不作判断。",
    why=WHY_MEMBER + " 在校生状况是义务教育有保障（控辍保学、教育帮扶）的核查依据。",
    example=Example(
        "文化程度 = 初中，在校生状况 = 七年级（两项都填）→ DQ040。",
        {
            "members": [
                person(
                    姓名="张小明",
                    证件号码=id_number("20040601", 113),
                    与户主关系="之子",
                    文化程度="初中",
                    在校生状况="七年级",
                )
            ]
        },
        near_miss={"members": {0: {"文化程度": None}}},
        near_miss_text="文化程度留空，只填在校生状况",
    ),
)
def dq040(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    members = ctx.frame("members", EDU, SCHOOL)
    edu, school = members[EDU], members[SCHOOL]
    edu_empty = raw_empty(ctx, "members", EDU)
    school_empty = raw_empty(ctx, "members", SCHOOL)
    not_student = (school == NOT_STUDENT).to_numpy(dtype=bool)
    student = school.notna().to_numpy() & ~not_student
    both = edu.notna().to_numpy() & student
    neither = edu_empty & (school_empty | not_student)
    out = []
    if both.any():
        labels = members.index[both]
        message = (
            "文化程度“" + _label(edu, labels) + "”与在校生状况“" + _label(school, labels)
            + "”同时填写：在校生只填在校生状况，非在校生只填文化程度"
        )  # fmt: skip
        out.append(ctx.flag("members", labels, message, column=EDU))
    if neither.any():
        labels = members.index[neither]
        said = np.where(
            not_student[neither], "在校生状况为“非在校生”，但文化程度为空", "文化程度与在校生状况均为空"
        )
        message = pd.Series(said, index=labels, dtype=object) + "：应填写其中一项"
        out.append(ctx.flag("members", labels, message, column=EDU))
    return out


# ------------------------------------------------------------------------------------ DQ041


class SchoolAges(RuleParams):
    """Inclusive age bands (whole years at 31 December of the data year) per 在校生状况 group."""

    preschool: tuple[int, int] = (0, 7)  # 学龄前儿童、学前教育
    primary: tuple[int, int] = (6, 14)  # 小学
    junior: tuple[int, int] = (11, 17)  # 七年级、八年级、九年级
    senior: tuple[int, int] = (14, 20)  # 普通高中*、高中*、中职*
    tertiary: tuple[int, int] = (16, 30)  # 高职高专*、本科*、技师*

    @field_validator("*")
    @classmethod
    def _ordered(cls, band: tuple[int, int]) -> tuple[int, int]:
        if band[0] > band[1]:
            raise ValueError(f"年龄下限 {band[0]} 大于上限 {band[1]}")
        return band


# 在校生状况 label prefixes of each band; statuses not listed (大专及以上, 硕士研究生及以上) are not checked.
SCHOOL_BANDS: dict[str, tuple[str, ...]] = {
    "preschool": ("学龄前儿童", "学前教育"),
    "primary": ("小学",),
    "junior": ("七年级", "八年级", "九年级"),
    "senior": ("普通高中", "高中", "中职"),
    "tertiary": ("高职高专", "本科", "技师"),
}


def _band_of(status: object) -> str | None:
    if not isinstance(status, str):
        return None
    for band, prefixes in SCHOOL_BANDS.items():
        if status.startswith(prefixes):
            return band
    return None


@rule(
    "DQ041",
    "年龄与在校生状况不符",
    severity="warning",
    needs=("members",),
    columns={"members": (SCHOOL,)},
    params=SchoolAges,
    what="按数据年度 12 月 31 日的周岁，在校生状况与年龄不符：学龄前儿童/学前教育 0–7 岁，小学 6–14 岁，"
    "七至九年级 11–17 岁，普通高中/高中/中职 14–20 岁，高职高专/本科/技师学院 16–30 岁（均含两端，可在配置"
    "[rules.DQ041] 中修改：preschool、primary、junior、senior、tertiary）。出生日期取自证件号码，号码无效时取"
    "出生日期列。",
    why=WHY_MEMBER + " 年龄与年级明显不符，往往是把已毕业、辍学或外出务工的人仍记为在校生，掩盖失学辍学，"
    "使“义务教育有保障”的核查和教育帮扶对象失真。",
    example=Example(
        "2017 年数据，证件号码出生日期 2012-03-04（5 岁），在校生状况 = 小学 → DQ041。",
        {
            "members": [
                person(
                    姓名="张小明", 证件号码=id_number("20120304", 113), 与户主关系="之子", 在校生状况="小学"
                )
            ]
        },
        near_miss={"members": {0: {"证件号码": id_number("20110304", 113)}}},
        near_miss_text="出生于 2011-03-04（6 岁）",
    ),
)
def dq041(ctx: AuditContext, params: SchoolAges) -> pd.DataFrame | None:
    members = ctx.frame("members", SCHOOL)
    ages = member_ages(ctx)
    school = members[SCHOOL]
    bounds = {name: getattr(params, name) for name in SCHOOL_BANDS}
    unbounded = (-1, 10**6)  # statuses with no band (大专及以上, 硕士研究生及以上, 非在校生)
    low = map_values(school, lambda s: bounds.get(_band_of(s), unbounded)[0], np.int64)  # type: ignore[arg-type]
    high = map_values(school, lambda s: bounds.get(_band_of(s), unbounded)[1], np.int64)  # type: ignore[arg-type]
    age = ages.fillna(-1).to_numpy(dtype=np.int64)
    known = ages.notna().to_numpy()
    flagged = known & ((age < low) | (age > high))
    if not flagged.any():
        return None
    labels = members.index[flagged]
    bands = pd.Series(low[flagged].astype(str), index=labels) + "–" + high[flagged].astype(str)
    message = (
        age_phrase(ctx, labels) + "，在校生状况为“" + _label(school, labels) + "”，应在 " + bands + " 岁之间"
    )
    return ctx.flag("members", labels, message, column=SCHOOL)


# ------------------------------------------------------------------------------------ DQ042


@rule(
    "DQ042",
    "年龄与劳动技能不符",
    severity="warning",
    needs=("members",),
    columns={"members": (SKILL,)},
    what="（1）未满劳动年龄下限（政策参数 working_age，默认 16 岁）却登记为普通劳动力或技能劳动力；"
    "（2）处于劳动年龄（默认 16–60 岁）、健康状况恰为“健康”、不是在校生（在校生状况为空或“非在校生”），"
    "却登记为无劳动力或丧失劳动力。第（2）项需要健康状况与在校生状况两列，缺列时只做第（1）项。",
    why=WHY_MEMBER
    + " 劳动能力决定开发式帮扶（产业、就业、技能培训）还是兜底保障：把健康的青壮年登记为无劳动力"
    "会虚报“缺劳力”、逃避开发式帮扶，把儿童登记为劳动力则虚增劳动力与务工收入。",
    example=Example(
        "2017 年 15 岁（2002-06-01 出生），劳动技能 = 普通劳动力 → DQ042。",
        {
            "members": [
                person(
                    姓名="张小明",
                    证件号码=id_number("20020601", 113),
                    与户主关系="之子",
                    劳动技能="普通劳动力",
                )
            ]
        },
        near_miss={"members": {0: {"证件号码": id_number("20011231", 113)}}},
        near_miss_text="2001-12-31 出生（2017 年底满 16 岁）",
    ),
)
def dq042(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    members = ctx.frame("members", SKILL)
    ages = member_ages(ctx)
    low, high = ctx.policy.working_age
    origin = ctx.policy.source_of("working_age")
    skill = members[SKILL]
    age = ages.fillna(-1).to_numpy(dtype=np.int64)
    known = ages.notna().to_numpy()
    out = []
    child = known & (age < low) & skill.isin(LABOUR).to_numpy(dtype=bool)
    if child.any():
        labels = members.index[child]
        message = (
            age_phrase(ctx, labels) + "，未满 " + str(low) + " 岁（劳动年龄 " + f"{low}–{high} 岁，{origin}"
            + "），劳动技能却为“" + _label(skill, labels) + "”"
        )  # fmt: skip
        out.append(ctx.flag("members", labels, message, column=SKILL))
    if ctx.has("members", HEALTH) and ctx.has("members", SCHOOL):
        school = members[SCHOOL]
        not_student = raw_empty(ctx, "members", SCHOOL) | (school == NOT_STUDENT).to_numpy(dtype=bool)
        healthy = (members[HEALTH] == "健康").to_numpy(dtype=bool)
        idle = (
            known
            & (age >= low)
            & (age <= high)
            & healthy
            & not_student
            & skill.isin(NO_LABOUR).to_numpy(dtype=bool)
        )
        if idle.any():
            labels = members.index[idle]
            message = (
                age_phrase(ctx, labels) + f"，在劳动年龄 {low}–{high} 岁（{origin}）内，健康且不在校，"
                + "劳动技能却为“" + _label(skill, labels) + "”"
            )  # fmt: skip
            out.append(ctx.flag("members", labels, message, column=SKILL))
    return out


# ------------------------------------------------------------------------------------ DQ043


@rule(
    "DQ043",
    "务工所在地与务工时间不匹配",
    severity="warning",
    needs=("members",),
    columns={"members": (WORK_MONTHS, WORK_PLACE)},
    what="填了务工所在地，但务工时间为空或 0；或务工时间大于 0，但务工所在地为空（“无”“没有”等视为空）。"
    "务工时间不是合法数字的单元格由 DQ004 报告，此处不作判断。",
    why=WHY_MEMBER + " 务工时间与务工地点是工资性收入和就业帮扶（稳岗、转移就业）成效的核查依据，二者不一致"
    "说明务工情况未如实登记，收入测算（算账脱贫）可能失真。",
    example=Example(
        "务工所在地 = 合肥，务工时间 = 0 → DQ043。",
        {"members": [person(务工所在地="合肥", 务工时间=0)]},
        near_miss={"members": {0: {"务工时间": 6}}},
        near_miss_text="务工时间 = 6",
    ),
)
def dq043(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    members = ctx.frame("members", WORK_MONTHS, WORK_PLACE)
    months = members[WORK_MONTHS]
    no_place = place_empty(ctx)
    months_empty = raw_empty(ctx, "members", WORK_MONTHS)
    zero = (months == 0).fillna(False).to_numpy(dtype=bool)
    working = (months > 0).fillna(False).to_numpy(dtype=bool)
    out = []
    place_only = ~no_place & (months_empty | zero)
    if place_only.any():
        labels = members.index[place_only]
        said = np.where(zero[place_only], "为 0", "为空")
        message = (
            "务工所在地为“" + _label(members[WORK_PLACE], labels) + "”，但务工时间"
            + pd.Series(said, index=labels, dtype=object)
        )  # fmt: skip
        out.append(ctx.flag("members", labels, message, column=WORK_MONTHS))
    months_only = working & no_place
    if months_only.any():
        labels = members.index[months_only]
        message = "务工时间 " + months[labels].astype(int).astype(str) + " 个月，但务工所在地为空"
        out.append(ctx.flag("members", labels, message, column=WORK_PLACE))
    return out


# ------------------------------------------------------------------------------------ DQ044


class PhonePattern(RuleParams):
    pattern: str = MOBILE  # regular expression a phone number must match once normalised (phone_numbers)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"不是有效的正则表达式：{exc}") from None
        return pattern


def phone_fields() -> list[tuple[str, str]]:
    """(table, field) of every phone column in the schema."""
    return [(kind, name) for kind, model in MODELS.items() for name, spec in model.specs().items()
            if spec.kind is Kind.PHONE]  # fmt: skip


def bad_phones(numbers: pd.Series, pattern: str = MOBILE) -> np.ndarray:
    """Per row of `phone_numbers` (shared with SY104): a number written whose normal form does not
    match `pattern`."""
    return numbers.notna().to_numpy(dtype=bool) & ~phone_matches(numbers, pattern)


@rule(
    "DQ044",
    "联系电话格式错误",
    severity="warning",
    needs=(),
    params=PhonePattern,
    what="任何表中的电话列（户联系电话、成员联系电话）填了值，但规范化（去掉空格、“-”、括号和 +86 / 0086 国家码，"
    "与 SY104 相同）后不是 1[3-9] 开头的 11 位手机号码（正则可在配置 [rules.DQ044] pattern 中修改）。空值不报告。"
    "成员表上的户联系电话同一户同一号码只报告一次；"
    "一行一人的平铺导出已拆出户表时，户联系电话只在户表上报告。没有任何电话列时本规则跳过。",
    why="过程严控：联系电话是入户核实、帮扶责任人联系和群众回访（认可度调查）的渠道，也是发现分户拆户（多户共用"
    "一个号码，SY104）的依据；号码无效则回访与比对都无从进行。",
    example=Example(
        "户联系电话 = 0556-1234567（座机）→ DQ044。",
        {"households": [household(户联系电话="0556-1234567")]},
        near_miss={"households": {0: {"户联系电话": "+86 139-1234-5678"}}},
        near_miss_text="+86 139-1234-5678（规范化为 13912345678）",
    ),
)
def dq044(ctx: AuditContext, params: PhonePattern) -> list[pd.DataFrame]:
    present = [(kind, name) for kind, name in phone_fields() if ctx.has(kind, name)]
    if not present:
        names = "、".join(dict.fromkeys(name for _, name in phone_fields()))
        raise SkipRule(f"没有任何表含电话列（{names}）")
    household_phone_in_households = ctx.has("households", "户联系电话")
    out = []
    for kind, name in present:
        data = ctx.frame(kind, name)
        flagged = bad_phones(phone_numbers_of(ctx, kind, name), params.pattern)
        if kind == "members" and name == "户联系电话":
            sources = ctx.dataset.sources
            if household_phone_in_households:
                flat = np.array([s.flat for s in sources], dtype=bool)
                flagged &= ~flat[data[SOURCE_COLUMN].to_numpy()]
            if "户编号" in data and flagged.any():
                repeat = data[["户编号", name]].duplicated().to_numpy()
                flagged &= ~(repeat & data["户编号"].notna().to_numpy())
        if not flagged.any():
            continue
        labels = data.index[flagged]
        message = (
            name + "“" + _label(data[name], labels) + "”不是有效的手机号码（应为 1[3-9] 开头的 11 位数字）"
        )
        if params.pattern != MOBILE:
            message = name + "“" + _label(data[name], labels) + f"”不符合配置的号码格式 {params.pattern}"
        out.append(ctx.flag(kind, labels, message, column=name))
    return out
