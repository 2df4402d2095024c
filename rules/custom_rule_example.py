"""An example custom rule pack: copy it, change the code and the logic, load it with --rules.

A rule is a function decorated with `@rule(...)`: the metadata (code, title, family, severity, the
tables and columns it needs, documentation, parameters) sits next to the logic, and
`fupin-audit rules` / `fupin-audit explain XQ001 --rules custom_rule_example.py` read it from there.
The function receives the audit context and its parameters and returns findings made by `ctx.flag`.
"""

from __future__ import annotations

import pandas as pd
from pydantic import Field

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, RuleParams, rule
from fupin_audit.rules.dq_idnumber import id_analysis


class ElderlyAloneParams(RuleParams):
    min_age: int = Field(80, description="户主年龄达到该值（含）即提示")


@rule(
    "XQ001",
    "高龄独居户",
    family="自定义",
    severity="info",
    needs=("members",),
    columns={"members": ("户编号", "证件号码", "与户主关系")},
    params=ElderlyAloneParams,
    what="只有一名成员、且户主年龄不小于 min_age 的户（年龄按数据年度 12 月 31 日计算）。",
    why="示例规则：县扶贫办要求对高龄独居户逐户走访，核实兜底保障是否到位。",
    # The example is data: `example_problems` (fupin_audit.engine.examples) writes the records to a
    # workbook, checks that XQ001 flags the first one and that the near miss is not flagged.
    example=Example(
        "户编号 3408260010010001 只有户主一人，1930 年出生，2017 年 87 岁 → XQ001。",
        {
            "members": [
                {
                    "户编号": "3408260010010001",
                    "姓名": "张老汉",
                    "证件号码": "340826193001011115",
                    "与户主关系": "户主",
                    "性别": "男",
                },
            ]
        },
        near_miss={"members": {0: {"证件号码": "34082619400101111X"}}},
        near_miss_text="1940 年出生（77 岁）",
    ),
)
def elderly_alone(ctx: AuditContext, params: ElderlyAloneParams) -> pd.DataFrame:
    members = ctx.frame("members", "户编号", "证件号码", "与户主关系")
    age = ctx.ages("members", id_analysis(ctx)["birth_date"])
    size = members.groupby("户编号", observed=True)["户编号"].transform("size")
    alone = (members["与户主关系"] == "户主") & (size == 1) & (age >= params.min_age).fillna(False)
    message = "独居户主 " + age[alone].astype(str) + f" 岁（≥ {params.min_age}）"
    return ctx.flag("members", alone, message, column="证件号码")
