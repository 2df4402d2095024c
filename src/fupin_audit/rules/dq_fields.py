"""DQ001–DQ005: structure and field validity, reported from the schema-driven validation."""

from __future__ import annotations

import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, NoParams, rule
from fupin_audit.rules.example_data import H1, id_number, person
from fupin_audit.schema.models import MODELS

WHY_SCHEMA = (
    "源头严把：建档立卡信息是识别、帮扶、退出和考核的共同依据，字段缺失或取值不合规会让后续比对与核查"
    "失去依据（国务院扶贫办《扶贫开发建档立卡工作方案》及全国扶贫开发信息系统指标解释）。"
)


def _validation(ctx: AuditContext, code: str) -> list[pd.DataFrame]:
    """The cells of every table that failed their field spec with this DQ code."""
    out = []
    for kind, table in ctx.dataset.tables.items():
        problems = table.problems
        if problems.empty:
            continue
        mine = problems[problems["code"] == code]
        for field, group in mine.groupby("field", sort=False):
            out.append(ctx.flag(kind, group.index, group["message"], column=str(field)))
    return out


@rule(
    "DQ001",
    "必需列缺失",
    severity="error",
    needs=(),
    scope="global",  # about sheets, not rows: reported once, not once per county
    what="一张已识别的表缺少必需列（每列一条）。必需列：户表 户编号、家庭人口数、贫困户属性、脱贫状态、"
    "主要致贫原因、人均纯收入；成员表 户编号、姓名、证件号码、性别、与户主关系、健康状况、劳动技能；"
    "村表 村、总人口数；措施表 措施类型；比对名单 证件号码。",
    why=WHY_SCHEMA + " 缺列时依赖该列的规则会被跳过，必须让审计人员知道。",
    example=Example(
        "家庭成员工作表有户编号、姓名、性别、与户主关系、健康状况、劳动技能，但没有“证件号码”列 → DQ001（报告整张表）。",
        {
            "members": [
                {
                    "户编号": H1,
                    "姓名": "张建国",
                    "性别": "男",
                    "与户主关系": "户主",
                    "健康状况": "健康",
                    "劳动技能": "普通劳动力",
                }
            ]
        },
        near_miss={"members": {0: {"证件号码": id_number("19700101", 111)}}},
        near_miss_text="加上证件号码列",
        flagged=("members", None),
    ),
)
def dq001(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    out = []
    for src, field in ctx.dataset.missing_columns:
        kind = ctx.dataset.sources[src].kind
        title = MODELS[kind].title
        out.append(ctx.flag_table(kind, src, f"{title}缺少必需列“{field}”", column=field))
    return out


@rule(
    "DQ002",
    "必填项为空",
    severity="error",
    needs=(),
    what="必填字段为空（空白、“-”、“/”、NULL 等视为空）。必填字段同 DQ001。",
    why=WHY_SCHEMA,
    example=Example(
        "户 3408260010010001 的人均纯收入单元格为空 → DQ002。",
        {
            "households": [
                {
                    "户编号": H1,
                    "家庭人口数": 1,
                    "贫困户属性": "一般贫困户",
                    "脱贫状态": "未脱贫",
                    "主要致贫原因": "缺资金",
                    "人均纯收入": None,
                }
            ]
        },
        near_miss={"households": {0: {"人均纯收入": 2700}}},
        near_miss_text="人均纯收入填 2700",
    ),
)
def dq002(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    return _validation(ctx, "DQ002")


@rule(
    "DQ003",
    "取值不在代码表中",
    severity="error",
    needs=(),
    what="代码字段的值在规范化（全角转半角、去空格、统一括号、数字代码与常见别名转为标准名称）后仍不在"
    "代码表中；消息给出最接近的有效值。代码表见 fupin-audit schema。",
    why=WHY_SCHEMA + " 非标准取值会让按属性统计、按致贫原因匹配措施等比对全部失真。",
    example=Example(
        "贫困户属性 = “一般贫困” → DQ003，最接近的有效值：一般贫困户。",
        {"households": [{"户编号": H1, "贫困户属性": "一般贫困"}]},
        near_miss={"households": {0: {"贫困户属性": "一般贫困户"}}},
        near_miss_text="贫困户属性 = 一般贫困户",
    ),
)
def dq003(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    return _validation(ctx, "DQ003")


@rule(
    "DQ004",
    "数值无法解析或超出范围",
    severity="error",
    needs=(),
    what="数值字段无法解析为数字，或超出范围：家庭人口数 1–30，务工时间 0–12，各项收入 ≥ 0（纯收入、"
    "人均纯收入可为负），整数字段不得有小数。千分位逗号、全角数字、“元”字会先被规范化。",
    why=WHY_SCHEMA + " 收入与人口数是脱贫退出和返贫风险判断的直接依据。",
    example=Example(
        "家庭人口数 = 35 → DQ004（超出范围 1–30）。",
        {"households": [{"户编号": H1, "家庭人口数": 35}]},
        near_miss={"households": {0: {"家庭人口数": 30}}},
        near_miss_text="家庭人口数 = 30（范围上限）",
    ),
)
def dq004(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    return _validation(ctx, "DQ004")


@rule(
    "DQ005",
    "日期或年份无法解析",
    severity="error",
    needs=(),
    what="日期/年份字段无法解析或不可能（如 2017-02-30、13 月、1900 年以前）。接受 2017-03-01、2017/3/1、"
    "2017.3.1、20170301、2017年3月1日 与 Excel 日期序号。",
    why=WHY_SCHEMA + " 识别、公示、脱贫的时间顺序是“过程严控”的核查依据。",
    example=Example(
        "公示开始日期 = 2017-02-30 → DQ005。",
        {"households": [{"户编号": H1, "公示开始日期": "2017-02-30"}]},
        near_miss={"households": {0: {"公示开始日期": "2017-02-28"}}},
        near_miss_text="公示开始日期 = 2017-02-28",
    ),
)
def dq005(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    return _validation(ctx, "DQ005")


@rule(
    "DQ036",
    "平铺导出中户级字段不一致",
    severity="error",
    needs=("members",),
    what="一行一人的平铺导出表中，同一户编号各成员行上的户级字段（户主姓名、人均纯收入、脱贫状态等）取值不一致；"
    "每条不一致的行报告一次，并给出该户第一个有值的行的取值。空白单元格（或“-”“/”等空值）不算取值：有的导出只在"
    "户主行填写户级字段。",
    why=WHY_SCHEMA + " 户级信息只能有一个真值，成员行之间不一致说明录入或导出有误，拆分出的户表取的是第一行"
    "（第一行空白的字段取该户第一个有值的行）。",
    example=Example(
        "平铺导出中户 3408260010010001 的第 1 行人均纯收入 3500，第 2 行 3800 → 第 2 行 DQ036。",
        {
            "flat": [
                person(家庭人口数=2, 贫困户属性="一般贫困户", 脱贫状态="未脱贫", 人均纯收入=3500),
                person(
                    姓名="李秀英",
                    性别="女",
                    证件号码=id_number("19720101", 222),
                    与户主关系="配偶",
                    家庭人口数=2,
                    贫困户属性="一般贫困户",
                    脱贫状态="未脱贫",
                    人均纯收入=3800,
                ),
            ]
        },
        near_miss={"flat": {1: {"人均纯收入": 3500}}},
        near_miss_text="两行人均纯收入都是 3500",
        flagged=("flat", 1),
    ),
)
def dq036(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame] | None:
    conflicts = ctx.dataset.flat_conflicts
    if conflicts is None or conflicts.empty:
        return None
    members = ctx.frame("members")
    located = members.reset_index().merge(
        conflicts.astype({"row": "int64", "source": "int64"}),
        left_on=["_src", "_row"],
        right_on=["source", "row"],
    )
    out = []
    for field, group in located.groupby("field", sort=False):
        labels = pd.Index(group["index"])
        message = pd.Series(
            f"同一户的“{field}”与该户第 "
            + group["first_row"].astype(str).to_numpy()
            + " 行的取值“"
            + group["first_value"].astype(str).to_numpy()
            + "”不一致",
            index=labels,
        )
        value = pd.Series(group["value"].to_numpy(), index=labels)
        out.append(ctx.flag("members", labels, message, column=str(field), value=value))
    return out
