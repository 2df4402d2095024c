"""收入与返贫风险 (IN): exited households under the relapse-risk line, near-line bunching (算账脱贫),
transfer-dependent exits, and falling incomes."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, NoParams, SkipRule, rule
from fupin_audit.facts.keys import household_codes
from fupin_audit.facts.lines import param, policy_values
from fupin_audit.facts.values import HID, INCOME, STATUS, exited
from fupin_audit.facts.years import data_years
from fupin_audit.rules.example_data import household
from fupin_audit.rules.kit.format import fmt, money_texts, percent, year_texts, yuan

RISK = "返贫风险："
SPEECH = "2017 年讲话指出已脱贫户中 42% 人均纯收入低于 5000 元，存在返贫风险。"
# Shares are compared with this slack so that a drop of exactly 30% (binary rounding) is not "more".
EPSILON = 1e-9


@rule(
    "IN001",
    "脱贫户收入不高于返贫风险线",
    severity="warning",
    needs=("households",),
    columns={"households": (STATUS, INCOME)},
    what="已脱贫户人均纯收入不高于（≤）政策参数 relapse_risk_line（默认 5000 元：讲话的“5000元以下”含 5000 元本身；"
    "可按省、县设置）。",
    why=RISK + SPEECH + " 这些户应列为重点跟踪对象，防止返贫。",
    example=Example(
        "已脱贫户人均纯收入 5000.00 元（讲话的“5000元以下”含 5000）→ IN001。",
        {"households": [household(脱贫状态="已脱贫", 脱贫年度=2016, 人均纯收入=5000.00)]},
        near_miss={"households": {0: {"人均纯收入": 5000.01}}},
        near_miss_text="5000.01 元",
    ),
)
def in001(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", STATUS, INCOME)
    judged = exited(households) & households[INCOME].notna()
    line, cited = policy_values(ctx, "households", "relapse_risk_line", rows=judged)
    low = judged & (households[INCOME] <= line).fillna(False).astype(bool)
    message = (
        "已脱贫户人均纯收入 " + money_texts(households.loc[low, INCOME])
        + " 元不高于返贫风险线 " + fmt(line[low], yuan) + " 元（参数 " + cited[low] + "）"
    )  # fmt: skip
    return ctx.flag("households", low, message, column=INCOME)


@rule(
    "IN002",
    "脱贫户收入刚过贫困线（算账脱贫信号）",
    severity="warning",
    era="jdlk",
    era_note="2021 年后没有贫困线；监测线附近的风险消除由 MN122 检查",
    needs=("households",),
    columns={"households": (STATUS, INCOME)},
    what="已脱贫户人均纯收入高于数据年度的贫困线、但不超过 贫困线 × "
    "near_line_band（默认 1.05，上限按分四舍五入，"
    "含上限）。与 LG401 / LG403（收入不高于线）相邻：这里看的是今年的收入是否只是刚刚越过今年的线。运行摘要"
    "还按村检验收入是否在这一区间“扎堆”。",
    why=RISK + "审计署 2017 年公告指出“算账脱贫”：把预期收入算进来、让收入刚好越线。刚过线的户集中出现，"
    "是数字脱贫的信号。",
    example=Example(
        "2016 年线 2952 元，已脱贫户人均纯收入 3099.60 元（= 2952 × 1.05）→ IN002。",
        {"households": [household(脱贫状态="已脱贫", 脱贫年度=2015, 人均纯收入=3099.60, 年度=2016)]},
        near_miss={"households": {0: {"人均纯收入": 3099.61}}},
        near_miss_text="3099.61 元",
        year=2016,
    ),
)
def in002(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", STATUS, INCOME)
    years = data_years(ctx, "households")
    income = households[INCOME]
    judged = exited(households) & income.notna()
    line, cited = policy_values(ctx, "households", "poverty_line", years, rows=judged)
    band, band_cited = policy_values(ctx, "households", "near_line_band", rows=judged)
    upper = (line * band).round(2)
    near = judged & (income > line).fillna(False).astype(bool) & (income <= upper).fillna(False).astype(bool)
    at = near.index[near]
    message = (
        "已脱贫户人均纯收入 " + money_texts(income[at]) + " 元仅略高于 " + year_texts(years[at]) + " 年贫困线 "
        + fmt(line[at], yuan) + " 元（参数 " + cited[at] + "），不超过 " + money_texts(upper[at])
        + " 元（贫困线 × " + fmt(band[at], "{:g}") + "，参数 " + band_cited[at] + "）"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=INCOME)


@rule(
    "IN003",
    "脱贫户收入主要靠转移性收入",
    severity="info",
    needs=("households",),
    columns={"households": (STATUS, "转移性收入", "纯收入")},
    what="已脱贫户转移性收入占纯收入的比例超过（>）政策参数 transfer_share_fragile（默认 50%，等于不报告）；"
    "纯收入 ≤ 0 或为空的不计算（由 DQ053 报告）。",
    why=RISK + "靠低保、补贴等转移性收入“兜”出来的脱贫缺乏内生动力，政策一变就可能返贫；讲话要求开发式帮扶。",
    example=Example(
        "已脱贫户纯收入 8000 元，其中转移性收入 5000 元（62.5%）→ IN003。",
        {"households": [household(脱贫状态="已脱贫", 脱贫年度=2016, 纯收入=8000, 转移性收入=5000)]},
        near_miss={"households": {0: {"转移性收入": 4000}}},
        near_miss_text="转移性收入 4000 元（正好 50%）",
    ),
)
def in003(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", STATUS, "转移性收入", "纯收入")
    net = households["纯收入"].where(households["纯收入"] > 0)
    transfer = households["转移性收入"]
    share = transfer / net
    limit = ctx.policy.transfer_share_fragile
    fragile = exited(households) & (share > limit + EPSILON).fillna(False).astype(bool)
    message = (
        "转移性收入 " + money_texts(transfer[fragile]) + " 元占纯收入 " + money_texts(net[fragile]) + " 元的 "
        + fmt(share[fragile] * 100, "{:.1f}") + f"%，超过 {percent(limit)}"
        f"（{param(ctx, 'transfer_share_fragile')}）"
    )  # fmt: skip
    return ctx.flag("households", fragile, message, column="转移性收入")


def _previous_incomes(ctx: AuditContext, households: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per household row: last year's per-capita income and where it came from.

    From the 上年人均纯收入 column where filled, else from the same 户编号's row whose 年度 is one less
    (the first such row when 户编号 is duplicated)."""
    index = households.index
    previous = pd.Series(np.nan, index=index, dtype="float64")
    source = pd.Series("", index=index, dtype=object)
    if "上年人均纯收入" in households:
        own = households["上年人均纯收入"].astype("float64")
        previous = own
        source = source.mask(own.notna(), "上年人均纯收入列")
    if "年度" in households and HID in households and households["年度"].nunique() > 1:
        rows = pd.DataFrame(
            {HID: household_codes(ctx)["households"], "year": households["年度"].astype("Int64"),
             "income": households[INCOME], "row": households["_row"], "_label": index}
        )  # fmt: skip
        rows = rows[(rows[HID] >= 0) & rows["year"].notna()]
        before = rows.drop_duplicates([HID, "year"]).assign(year=lambda f: f["year"] + 1)
        joined = rows.merge(before, on=[HID, "year"], how="inner", suffixes=("", "_prev")).set_index("_label")
        joined = joined[joined["income_prev"].notna()]
        fill = previous.isna() & index.isin(joined.index)
        labels = index[fill.to_numpy()]
        previous.loc[labels] = joined.loc[labels, "income_prev"]
        source.loc[labels] = (
            "户表第 " + joined.loc[labels, "row_prev"].astype(str) + " 行 "
            + year_texts(joined.loc[labels, "year"] - 1) + " 年度"
        )  # fmt: skip
    return previous, source


@rule(
    "IN004",
    "人均纯收入比上年大幅下降",
    severity="warning",
    needs=("households",),
    columns={"households": (HID, INCOME)},
    what="人均纯收入比上一年下降超过（>）政策参数 income_drop_share（默认 30%，正好 30% 不报告）。上一年的"
    "收入取“上年人均纯收入”列，为空时取户表中同一户编号、年度少一年的行；上年收入 ≤ 0 的不计算。",
    why=RISK + "收入骤降是返贫的直接信号，应及时纳入监测和帮扶（2021 年起的防返贫监测把“收入大幅缩减”列为"
    "监测条件）。",
    example=Example(
        "上年人均纯收入 6000 元、今年 4194 元（下降 30.1%）→ IN004。",
        {"households": [household(人均纯收入=4194, 上年人均纯收入=6000)]},
        near_miss={"households": {0: {"人均纯收入": 4200}}},
        near_miss_text="今年 4200 元（正好下降 30%）",
    ),
)
def in004(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", HID, INCOME)
    has_column = "上年人均纯收入" in households
    two_years = "年度" in households and households["年度"].nunique() > 1
    if not (has_column or two_years):
        raise SkipRule("households 表没有上年人均纯收入列，也没有同一户上一年度的行")
    previous, source = _previous_incomes(ctx, households)
    income = households[INCOME]
    drop = ctx.policy.income_drop_share
    change = (previous - income) / previous.where(previous > 0)
    fell = (change > drop + EPSILON).fillna(False).astype(bool)
    message = (
        "人均纯收入从上年 " + money_texts(previous[fell]) + " 元（" + source[fell] + "）降至 "
        + money_texts(income[fell]) + " 元，下降 " + fmt(change[fell] * 100, "{:.1f}")
        + f"%，超过 {percent(drop)}（{param(ctx, 'income_drop_share')}）"
    )  # fmt: skip
    return ctx.flag("households", fell, message, column=INCOME)
