"""DQ010–DQ018: resident ID numbers (GB 11643-1999) of household members.

The analysis runs once per run over the unique raw values (schema/idnumber.py) and each rule
reports its own part of it.
"""

from __future__ import annotations

import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, NoParams, rule
from fupin_audit.facts.keys import id_analysis
from fupin_audit.facts.values import ID
from fupin_audit.rules.example_data import id_number, person
from fupin_audit.schema.idnumber import compare_with_columns

NEEDS = {"members": (ID,)}
WHY_ID = (
    "源头严把：证件号码是与公安、民政、财政供养、车辆、房产、工商等名单比对（四有七不进）、查找重复"
    "建档和死亡人员的唯一钥匙；号码错误会让比对漏掉本应发现的问题。依据 GB 11643-1999《公民身份号码》。"
)


def _report(ctx: AuditContext, code: str) -> pd.DataFrame:
    analysis = id_analysis(ctx)
    flagged = analysis[code].to_numpy(dtype=bool)
    messages = analysis[f"msg_{code}"][flagged].astype("str")  # the flagged rows' texts, not codes
    return ctx.flag("members", analysis.index[flagged], messages, column=ID)


@rule(
    "DQ010",
    "证件号码长度或字符错误",
    severity="error",
    needs=("members",),
    columns=NEEDS,
    what="规范化后（去空格、全角转半角、小写 x 转大写）证件号码既不是 18 位（17 位数字 + 数字或 X），也不是"
    "15 位旧号码或 20 位残疾人证号。",
    why=WHY_ID,
    example=Example(
        "证件号码 = 34082619900101123（17 位）→ DQ010。",
        {"members": [person(证件号码="34082619900101123")]},
        near_miss={"members": {0: {"证件号码": id_number("19900101", 123)}}},
        near_miss_text="18 位的 340826199001011235",
    ),
)
def dq010(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    return _report(ctx, "DQ010")


@rule(
    "DQ011",
    "证件号码校验位错误",
    severity="error",
    needs=("members",),
    columns=NEEDS,
    what="18 位号码（或 20 位残疾人证号的前 18 位）的校验位与按 GB 11643 计算的不符：S = Σ dᵢ·wᵢ，"
    "w = 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2，校验位 = “10X98765432”[S mod 11]。",
    why=WHY_ID + " 校验位错误几乎总是抄录错误：与其他名单比对时此人将无法被匹配。",
    example=Example(
        "340826199001011234：前 17 位 34082619900101123 的校验位应为 5，实为 4 → DQ011。",
        {"members": [person(证件号码="340826199001011234")]},
        near_miss={"members": {0: {"证件号码": id_number("19900101", 123)}}},
        near_miss_text="校验位为 5 的 340826199001011235",
    ),
)
def dq011(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    return _report(ctx, "DQ011")


@rule(
    "DQ012",
    "证件号码中的出生日期不可能",
    severity="error",
    needs=("members",),
    columns=NEEDS,
    what="号码中的出生日期不存在（13 月、2 月 30 日）、早于 1900 年，或晚于数据基准日（数据年度 12 月 31 日）。",
    why=WHY_ID + " 年龄决定义务教育、劳动力、养老等判断，出生日期错误会连带影响多条规则。",
    example=Example(
        "340826199013011232：校验位正确，但出生日期 1990-13-01 不存在 → DQ012。",
        {"members": [person(证件号码="340826199013011232")]},
        near_miss={"members": {0: {"证件号码": id_number("19900101", 123)}}},
        near_miss_text="出生日期 1990-01-01 的 340826199001011235",
    ),
)
def dq012(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    return _report(ctx, "DQ012")


@rule(
    "DQ013",
    "证件号码在 Excel 中丢失精度",
    severity="error",
    needs=("members",),
    columns=NEEDS,
    what="号码被 Excel 存成了数字：显示为科学计数法（3.40826E+17）、带“.0”，或 18 位且以 000 结尾而校验位不符。"
    "真实号码已无法恢复，须从原始系统重新导出（把该列设为文本）。",
    why=WHY_ID + " 精度丢失的号码看起来像号码，却会与另一个人或不存在的人匹配。",
    example=Example(
        "证件号码被 Excel 存成数字 3.40826199001011E+17 → DQ013（真实号码已无法恢复）。",
        {"members": [person(证件号码=3.40826199001011e17)]},
        near_miss={"members": {0: {"证件号码": id_number("19900101", 123)}}},
        near_miss_text="证件号码以文本 340826199001011235 保存",
    ),
)
def dq013(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    return _report(ctx, "DQ013")


@rule(
    "DQ014",
    "15 位旧证件号码",
    severity="warning",
    needs=("members",),
    columns=NEEDS,
    what="15 位旧号码（地区码 + YYMMDD + 顺序码，无校验位）；消息给出升级后的 18 位号码。",
    why=WHY_ID + " 外部名单一般使用 18 位号码，旧号码不升级就比对不上。",
    example=Example(
        "15 位旧号码 340826900101123 → DQ014，升级后为 340826199001011235。",
        {"members": [person(证件号码="340826900101123")]},
        near_miss={"members": {0: {"证件号码": id_number("19900101", 123)}}},
        near_miss_text="18 位的 340826199001011235",
    ),
)
def dq014(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    return _report(ctx, "DQ014")


@rule(
    "DQ015",
    "证件号码与性别或出生日期列不一致",
    severity="error",
    needs=("members",),
    columns=NEEDS,
    what="号码第 17 位（奇数为男、偶数为女）与“性别”列不一致，或号码中的出生日期与“出生日期”列不一致。",
    why=WHY_ID + " 两处信息矛盾时至少一处错误，性别还影响与户主关系等校验。",
    example=Example(
        "340826199001011235 第 17 位为 3（男），性别列为 女 → DQ015。",
        {"members": [person(证件号码=id_number("19900101", 123), 性别="女")]},
        near_miss={"members": {0: {"性别": "男"}}},
        near_miss_text="性别列为 男",
    ),
)
def dq015(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    members = ctx.frame("members")
    sex = members.get("性别")
    birth = members.get("出生日期")
    if sex is None and birth is None:
        from fupin_audit.engine.rule import SkipRule

        raise SkipRule("members 表既没有性别列也没有出生日期列")
    compared = compare_with_columns(id_analysis(ctx), sex, birth)
    out = []
    for mask, column in (("sex_mismatch", "性别"), ("birth_mismatch", "出生日期")):
        flagged = compared[mask].to_numpy(dtype=bool)
        if flagged.any():
            labels = compared.index[flagged]
            out.append(ctx.flag("members", labels, compared["msg_DQ015"], column=column))
    return out


@rule(
    "DQ016",
    "证件号码地区码未知",
    severity="warning",
    needs=("members",),
    columns=NEEDS,
    what="号码前 6 位不在任何一版 GB/T 2260 行政区划代码中（使用 python-stdnum 的历史代码表；"
    "号码保留首次登记时的旧代码，故任何年代存在过的代码都算有效；81/82/83 开头的港澳台居住证也算有效）。",
    why=WHY_ID,
    example=Example(
        "990826199001011236：校验位正确，但 990826 不是任何一版行政区划代码 → DQ016。",
        {"members": [person(证件号码="990826199001011236")]},
        near_miss={"members": {0: {"证件号码": id_number("19900101", 123)}}},
        near_miss_text="地区码 340826（宿松县）的 340826199001011235",
    ),
)
def dq016(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    return _report(ctx, "DQ016")


@rule(
    "DQ017",
    "占位证件号码",
    severity="error",
    needs=("members",),
    columns=NEEDS,
    what="占位号码：以 999999 开头，或全部是同一个数字（111111111111111111、000000…）。",
    why=WHY_ID + " 占位号码意味着此人从未真正核验身份。",
    example=Example(
        "占位号码 999999999999999999 → DQ017。",
        {"members": [person(证件号码="999999999999999999")]},
        near_miss={"members": {0: {"证件号码": id_number("19900101", 123)}}},
        near_miss_text="真实号码 340826199001011235",
    ),
)
def dq017(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    return _report(ctx, "DQ017")


@rule(
    "DQ018",
    "证件号码已规范化",
    severity="warning",
    needs=("members",),
    columns=NEEDS,
    what='号码经规范化后才可用：小写 x、全角数字、空格或零宽字符、前导单引号、="…" 包装。仅作提示，'
    "规范化后的号码照常参与其他检查。",
    why=WHY_ID + " 这些写法在比对系统中常常匹配失败，应在源头改正。",
    example=Example(
        '证件号码写成 ="340826199001011235"（防 Excel 改写的包装）→ DQ018，规范化为 340826199001011235。',
        {"members": [person(证件号码='="340826199001011235"')]},
        near_miss={"members": {0: {"证件号码": id_number("19900101", 123)}}},
        near_miss_text="直接写 340826199001011235",
    ),
)
def dq018(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    return _report(ctx, "DQ018")
