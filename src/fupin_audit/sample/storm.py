"""A finding storm: a county whose export is dirty everywhere, for benchmarking the tool on millions of findings.

    data = storm(generate(100_000, seed=7, year=2017))   # ≥ 5 findings per household

A real county that exports its own labels makes a whole column off the code list; a data-entry
habit makes relations contradict the ID sex. The storm plants, on top of a generated county:

- DQ003: every 文化程度 written as the county's own label (小学 → 小学文化, …): one finding per member
  with a 文化程度;
- DQ034: every 之子 recorded as 之女 and every 之女 as 之子 (the ID sex contradicts the relation);
- DQ041: every household head recorded as 在校生状况 = 小学 (heads are adults);
- IN001 and LG401: exited households' incomes scaled down (every money column of the household by one
  factor, so the income sums still agree) to a 人均纯收入 at or below the 返贫风险 line (5000), half of
  them below the data year's poverty line and exited in the data year (LG401 as well).

Other rules may fire too (a head in school also contradicts his labour skill, say): a storm is a mix.
Deterministic under `seed`; the tables are changed in place of copies, the input is left alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .model import poverty_line

# The county's own labels for the national 文化程度 codes (none is a known alias, see codelists.toml).
COUNTY_EDUCATION = {
    "文盲或半文盲": "文盲半文盲",
    "小学": "小学文化",
    "初中": "初中文化",
    "高中": "高中文化",
    "大专": "大专文化",
    "本科及以上": "本科以上",
    "大专及以上": "大专以上",
    "硕士研究生及以上": "研究生",
}
SWAPPED_RELATION = {"之子": "之女", "之女": "之子"}
RISK_LINE = 5000.0  # IN001's default 返贫风险 line (yuan per person)
MONEY_COLUMNS = (
    "工资性收入",
    "生产经营性收入",
    "财产性收入",
    "转移性收入",
    "计划生育金",
    "低保金",
    "五保金",
    "养老保险金",
    "生态补偿金",
    "其他转移性收入",
    "生产经营性支出",
    "纯收入",
)


def storm(data, *, seed: int = 11):
    """A copy of `data` (a `SampleData`) with the storm planted; `data` itself is not changed."""
    from dataclasses import replace

    rng = np.random.default_rng(seed)
    tables = {name: frame.copy() for name, frame in data.tables.items()}
    tables["members"] = _storm_members(tables["members"])
    tables["households"] = _storm_incomes(tables["households"], data.year, rng)
    return replace(data, tables=tables)


def _storm_members(members: pd.DataFrame) -> pd.DataFrame:
    education = members["文化程度"]
    members["文化程度"] = education.map(COUNTY_EDUCATION).fillna(education)
    relation = members["与户主关系"]
    members["与户主关系"] = relation.map(SWAPPED_RELATION).fillna(relation)
    members.loc[(relation == "户主").to_numpy(), "在校生状况"] = "小学"
    return members


def _storm_incomes(households: pd.DataFrame, year: int, rng: np.random.Generator) -> pd.DataFrame:
    """Exited households down to a 人均纯收入 ≤ 5000; half of them below the line, exited this year."""
    exited = households["脱贫状态"].str.startswith("已脱贫").to_numpy()
    per_person = pd.to_numeric(households["人均纯收入"], errors="coerce").to_numpy()
    chosen = exited & (per_person > 0)
    line = float(poverty_line(year))  # yuan
    below_line = chosen & (rng.random(len(households)) < 0.5)
    target = np.where(
        below_line,
        rng.uniform(0.5 * line, line, len(households)),
        rng.uniform(line + 1, RISK_LINE, len(households)),
    )
    factor = np.where(chosen & (per_person > target), target / np.where(chosen, per_person, 1), 1.0)
    scaled = factor < 1
    for name in (*MONEY_COLUMNS, "人均纯收入"):
        values = pd.to_numeric(households[name], errors="coerce").to_numpy()
        text = pd.Series(np.round(values * factor, 2)).map("{:.2f}".format).to_numpy()
        households[name] = np.where(scaled, text, households[name].to_numpy())
    households.loc[below_line & scaled, "脱贫年度"] = str(year)
    return households
