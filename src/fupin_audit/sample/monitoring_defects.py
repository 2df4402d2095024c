"""Plant one case of every rule that can fire on a monitoring-era export (监测对象信息 layout).

The table `DEFECTS` drives everything: each entry names its rule, the manifest table, which records
qualify (a vectorised mask over person rows, households or villages) and a small function that edits
the chosen record and says what it did. Each case gets a household (or village) no other case touches.
Adding a rule's case is one function and one line in `DEFECTS`, for example:

    def _mn104(p: Planter, h: str) -> Case:
        p.set_household(h, "户类型", "一般农户")
        return Case(h, "脱贫不稳定户的户类型写成一般农户")

    Defect("MN104", "households", lambda p: p.hh["category"].eq("脱贫不稳定户"), _mn104),

Manifest columns are those of `defects.MANIFEST_COLS`; `key` is the 证件号码 as written (members), the
户编号 (households) or the 村 (villages). Rules that run on this layout but cannot be planted in it are
listed in `NOT_PLANTED` with the reason, as manifest rows with outputs = "none".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import columns as C
from .defects import FULLWIDTH, MANIFEST_COLS, UNKNOWN_REGION
from .idnum import check_char

if TYPE_CHECKING:
    from .monitoring import MonitoringSample

INCOME = "人均纯收入（元）"
MEASURE_COLS = (
    "产业帮扶", "就业帮扶", "公益岗位帮扶", "公益性岗位帮扶", "健康帮扶", "教育帮扶", "金融帮扶", "社会帮扶",
    "综合保障", "住房安全保障", "饮水安全保障", "搬迁", "基础设施建设", "生产生活条件改善",
)  # fmt: skip
ABLE_SKILLS = ("普通劳动力", "技能劳动力")
SCHOOL = (
    "小学", "七年级", "八年级", "九年级", "普通高中一年级", "普通高中二年级", "普通高中三年级", "中职一年级",
    "中职二年级", "中职三年级",
)  # fmt: skip
DEVELOPMENTAL = ("产业帮扶", "就业帮扶", "金融帮扶", "公益岗位帮扶", "公益性岗位帮扶")
# Rules that run on this layout but that the sample does not plant, and why.
NOT_PLANTED = {
    "DQ001": "监测对象信息导出只要求户编号、证件号码两列，样例不删列",
    "DQ021": "平铺导出按户编号合并户行，不能表示重复的户行",
    "DQ037": "平铺导出中每个成员行本身就带户信息，不能表示无户的成员",
    "SY301": "监测期村表没有贫困人口数，户表也没有未脱贫户，贫困发生率无从计算",
}


@dataclass(frozen=True)
class Case:
    key: str
    description: str
    also: str = ""


@dataclass(frozen=True)
class Defect:
    rule: str
    table: str  # "members" (a person row), "households" (a 户编号) or "villages" (a 村)
    eligible: Callable[[Planter], pd.Series]  # mask over p.persons / p.hh / p.villages
    plant: Callable[[Planter, object], Case]  # edits the chosen record (row label, 户编号 or 村)


class Planter:
    """The sample being edited, facts about its clean records, and which households are taken."""

    def __init__(self, sample: MonitoringSample, seed: int) -> None:
        self.sample = sample
        self.persons = sample.persons
        self.villages = sample.villages
        self.year = sample.year
        self.rng = np.random.default_rng([seed, sample.year, 2022])
        per = self.persons
        self.age = self.year - pd.to_numeric(per["出生日期"].str[:4])
        heads = per[per["与户主关系"] == "户主"].set_index("户编号")["性别"]
        self.head_sex = per["户编号"].map(heads)  # clean state: one head per household
        self.has_spouse = per["户编号"].isin(set(per.loc[per["与户主关系"] == "配偶", "户编号"]))
        first = per.drop_duplicates("户编号").set_index("户编号")
        size = per.groupby("户编号").size()
        able = (per["劳动技能"].isin(ABLE_SKILLS) & self.age.between(16, 60)).groupby(per["户编号"]).any()
        workers = (per["务工所在地"] != "").groupby(per["户编号"]).sum()
        self.hh = pd.DataFrame(
            {
                "type": first["户类型"],
                "category": first["监测对象类别"],
                "eliminated": first["风险是否已消除"].eq(C.YES),
                "income": pd.to_numeric(first[INCOME]),
                "wages": pd.to_numeric(first["工资性收入"]),
                "transfer": pd.to_numeric(first["转移性收入"]),
                "size": size.reindex(first.index),
                "able": able.reindex(first.index),
                "workers": workers.reindex(first.index),
                "village": first["村"],
                "phone": first["户联系电话"],
            }
        )
        self.hh["exited"] = self.hh["type"].eq("脱贫户")
        self.hh["monitored"] = self.hh["category"].ne("")
        self.hh["open"] = self.hh["monitored"] & first["风险是否已消除"].eq(C.NO)
        self.hh["ident"] = first["识别监测时间"]
        self.hh["r2"], self.hh["r3"] = first["致贫/返贫风险2"], first["致贫/返贫风险3"]
        self.hh["kind"] = first["风险消除方式"]
        self.works, self.plans = sample.works, sample.plans
        self.recorded = per["证件号码"].isin(set(self.works["证件号码"]) | set(self.plans["证件号码"]))
        self.has_post = per["公益性岗位"].ne("")
        welfare = per["享受低保政策情况"].ne("未享受") | per["享受特困供养政策情况"].ne("不享受")
        self.hh["welfare"] = welfare.groupby(per["户编号"]).any().reindex(first.index)
        self.hh["busy"] = (self.recorded | self.has_post).groupby(per["户编号"]).any().reindex(first.index)
        self.hh["labour"] = (
            (per["劳动技能"].isin((*ABLE_SKILLS, "弱劳动力或半劳动力")))
            .groupby(per["户编号"])
            .any()
            .reindex(first.index)
        )
        self.hh["school"] = per["在校生状况"].isin(SCHOOL).groupby(per["户编号"]).any().reindex(first.index)
        self.hh["vocational"] = (
            per["在校生状况"]
            .str.contains("^(?:中职|高职高专|技师学院)")
            .groupby(per["户编号"])
            .any()
            .reindex(first.index)
        )
        self.hh["ill"] = (
            per["健康状况"].str.contains("大病|慢性病").groupby(per["户编号"]).any().reindex(first.index)
        )
        self.used: set[str] = set()
        self.used_villages: set[str] = set()
        self.ids = set(per["证件号码"])

    # ---------------------------------------------------------------------------------- editing

    def rows(self, h: str) -> pd.Index:
        return self.persons.index[self.persons["户编号"] == h]

    def set_household(self, h: str, column: str, value: str) -> None:
        """A household field, on every member row (a flat export repeats it), and on its work and plan
        records where they carry it (户类型, 监测对象类别)."""
        self.persons.loc[self.rows(h), column] = value
        for records in (self.works, self.plans):
            if column in ("户类型", "监测对象类别") and column in records:
                records.loc[records["户编号"] == h, column] = value

    def household_value(self, h: str, column: str) -> str:
        return str(self.persons.loc[self.rows(h)[0], column])

    def work_of(self, row: object) -> object:
        """The label of the (first) work record of a member row."""
        return self.works.index[self.works["证件号码"] == self.id_of(row)][0]

    def set_work(self, row: object, column: str, value: str) -> None:
        self.works.loc[self.works["证件号码"] == self.id_of(row), column] = value

    def set_person(self, row: object, column: str, value: str) -> None:
        self.persons.loc[row, column] = value

    def household_of(self, row: object) -> str:
        return str(self.persons.at[row, "户编号"])

    def id_of(self, row: object) -> str:
        return str(self.persons.at[row, "证件号码"])

    def new_id(self, first17: str) -> str:
        number = first17 + check_char(first17)
        self.ids.add(number)
        return number

    # ---------------------------------------------------------------------------------- choosing

    def choose(self, defect: Defect, n: int) -> list[object]:
        """Up to n records for the defect, each in a household (village) no other case has."""
        mask = defect.eligible(self).fillna(False).astype(bool)
        if defect.table == "villages":
            cand = [v for v in self.villages.loc[mask, "村"] if v not in self.used_villages]
            picked = self._draw(cand, n)
            self.used_villages.update(picked)
            return picked
        if defect.table == "households":
            cand = [h for h in self.hh.index[mask.to_numpy()] if h not in self.used]
            picked = self._draw(cand, n)
            self.used.update(picked)
            return picked
        free = mask & ~self.persons["户编号"].isin(self.used)
        rows = self.persons.index[free.to_numpy()]
        by_household = pd.Series(rows, index=self.persons.loc[rows, "户编号"].to_numpy())
        one_each = by_household.groupby(level=0).first() if len(rows) else by_household
        picked = self._draw(list(one_each.to_numpy()), n)
        self.used.update(self.household_of(r) for r in picked)
        return picked

    def _draw(self, cand: list, n: int) -> list:
        if not cand:
            return []
        chosen = self.rng.choice(len(cand), size=min(n, len(cand)), replace=False)
        return [cand[i] for i in sorted(chosen)]


# ----------------------------------------------------------------------------------- the cases
# Masks: person rows (p.persons), households (p.hh, index 户编号) or villages (p.villages).


def _plain_id(p: Planter) -> pd.Series:
    """Rows with an 18-digit 居民身份证 number and no work/plan record (the ID cases rewrite that number)."""
    return p.persons["证件类型"].eq("居民身份证") & _free(p)


def _adult(p: Planter) -> pd.Series:
    return p.age.between(20, 59)


def _dq002(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    p.set_person(r, "证件号码", "")
    return Case(
        p.household_of(r), f"户 {p.household_of(r)} 一名成员的必填字段“证件号码”为空（原号码 {good}）"
    )


def _dq003(p: Planter, r: object) -> Case:
    p.set_person(r, "文化程度", "初小")
    return Case(p.id_of(r), "文化程度“初小”不在代码表中（最接近“小学”）")


def _dq004(p: Planter, h: str) -> Case:
    p.set_household(h, "住房面积", "一百二十")
    return Case(h, "住房面积“一百二十”不是数值（该户每一行都如此）")


def _dq005(p: Planter, h: str) -> Case:
    p.set_household(h, "识别监测时间", f"{p.year}13")
    return Case(
        h, f"识别监测时间“{p.year}13”不是有效的年月（13 月）；附带：DQ070（监测时间格式错误）也报出", "DQ070"
    )


def _dq010(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    p.set_person(r, "证件号码", good[:17])
    return Case(good[:17], f"证件号码只有 17 位（原号码 {good}）")


def _dq011(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    wrong = next(c for c in "0123456789" if c != good[17])
    bad = good[:17] + wrong
    p.set_person(r, "证件号码", bad)
    return Case(bad, f"证件号码校验位应为 {good[17]}，写成 {wrong}")


def _dq012(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    bad = p.new_id(good[:10] + "0230" + good[14:17])
    p.set_person(r, "证件号码", bad)
    return Case(bad, f"证件号码中的出生日期 {good[6:10]}-02-30 不存在（校验位正确）（出生日期列仍为原日期）")


def _dq013(p: Planter, r: object) -> Case:
    from ..io.cells import number_text

    shown = number_text(float(int(p.id_of(r))))
    good = p.id_of(r)
    p.set_person(r, "证件号码", shown)
    return Case(
        shown,
        f"证件号码被 Excel 存成数字（xlsx 中为数值单元格），显示为 {shown}，原号码 {good} 无法恢复；附带：科学计数法文本有 20 个字符，DQ064 也可能报出",
        "DQ010 DQ064",
    )


def _dq014(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    legacy = good[:6] + good[8:17]
    p.set_person(r, "证件号码", legacy)
    return Case(legacy, f"15 位旧证件号码，升位后为 {good}")


def _dq015(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    year = int(good[6:10]) + 1
    written = f"{year}{good[10:14]}" if good[10:14] != "0229" else f"{year}0301"
    p.set_person(r, "出生日期", written)
    return Case(good, f"出生日期列 {written} 与证件号码中的 {good[6:14]} 不一致")


def _dq016(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    bad = p.new_id(str(UNKNOWN_REGION) + good[6:17])
    p.set_person(r, "证件号码", bad)
    return Case(bad, f"地区码 {UNKNOWN_REGION} 不在任何版本的 GB/T 2260 中（校验位正确）")


def _dq017(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    p.set_person(r, "证件号码", "9" * 18)
    return Case("9" * 18, f"占位证件号码 999999999999999999（原号码 {good}）")


def _dq018(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    shown = good.translate(FULLWIDTH)
    p.set_person(r, "证件号码", shown)
    return Case(shown, f"证件号码为全角数字（规范化后 {good}，号码有效）")


def _dq020(p: Planter, r: object) -> Case:
    copy = p.persons.loc[[r]]
    p.persons = p.sample.persons = pd.concat([p.persons, copy], ignore_index=True)
    return Case(
        p.id_of(r),
        f"户 {p.household_of(r)} 中同一人（{p.id_of(r)}）登记两行；附带：由成员行数得出的人口数多 1，DQ051 也报出",
        "DQ051",
    )


def _dq030(p: Planter, r: object) -> Case:
    p.set_person(r, "与户主关系", "其他")
    return Case(p.household_of(r), "户内没有“户主”（原户主的与户主关系写成“其他”）")


def _dq031(p: Planter, r: object) -> Case:
    p.set_person(r, "与户主关系", "户主")
    return Case(p.household_of(r), f"户内有两个户主（成员 {p.id_of(r)} 也写作“户主”）")


def _dq032(p: Planter, r: object) -> Case:
    p.set_person(r, "与户主关系", "配偶")
    return Case(p.household_of(r), f"户内有两个配偶（成员 {p.id_of(r)} 也写作“配偶”）")


def _dq033(p: Planter, r: object) -> Case:
    """The spouse becomes the head's sex in the ID (sequence digit parity) and the 性别 column alike."""
    good = p.id_of(r)
    digit = int(good[16])
    bad = p.new_id(good[:16] + str(digit ^ 1))
    sex = "1" if (digit ^ 1) % 2 else "2"
    p.set_person(r, "证件号码", bad)
    p.set_person(r, "性别", sex)
    return Case(
        p.household_of(r),
        f"户主与配偶同为{'男' if sex == '1' else '女'}性（配偶 {bad}，证件号码与性别列一致）",
    )


def _dq034(p: Planter, r: object) -> Case:
    p.set_person(r, "与户主关系", "之子")
    return Case(p.id_of(r), "与户主关系“之子”与性别“2”（女）矛盾")


def _dq036(p: Planter, r: object) -> Case:
    h = p.household_of(r)
    old = str(p.persons.at[r, "住房面积"])
    p.set_person(r, "住房面积", str(int(old) + 30))
    return Case(
        h, f"平铺导出中同一户的“住房面积”不一致：成员 {p.id_of(r)} 所在行写 {int(old) + 30}，其他行写 {old}"
    )


def _dq038(p: Planter, h: str) -> Case:
    p.set_household(h, "村", "东山村")
    return Case(h, "户所在村“东山村”不在行政村信息表中")


def _dq040(p: Planter, r: object) -> Case:
    p.set_person(r, "文化程度", "")
    return Case(
        p.id_of(r),
        "文化程度与在校生状况都为空；附带：脱贫户/监测户成员的条件必填项为空，DQ060 也报出",
        "DQ060",
    )


def _dq041(p: Planter, r: object) -> Case:
    p.set_person(r, "在校生状况", "普通高中三年级")
    return Case(p.id_of(r), f"{int(p.age[r])} 岁在读“普通高中三年级”（应 14–20 岁）")


def _dq042(p: Planter, r: object) -> Case:
    p.set_person(r, "劳动技能", "普通劳动力")
    return Case(p.id_of(r), f"{int(p.age[r])} 岁却为“普通劳动力”")


def _dq044(p: Planter, r: object) -> Case:
    p.set_person(r, "家庭成员联系电话", "12012345678")
    return Case(p.id_of(r), "家庭成员联系电话“12012345678”不是 1[3-9] 开头的 11 位号码")


def _dq052(p: Planter, h: str) -> Case:
    transfer = float(p.hh.at[h, "transfer"])
    support = transfer + 500
    p.set_household(h, "特困人员救助供养金", f"{support:.2f}")
    return Case(h, f"特困人员救助供养金 {support:.2f} 元超过转移性收入 {transfer:.2f} 元")


def _dq053(p: Planter, h: str) -> Case:
    old = _set_per_capita(p, h, 168_000)
    return Case(h, f"人均纯收入 168000.00 元，超过 100000 元（原 {old:.2f} 元；各项收入随之改写，仍能合计）")


def _set_per_capita(p: Planter, h: str, value: float) -> float:
    """人均纯收入 := value with the parts rewritten to add up (all of it 工资性收入), so that DQ051, which
    compares 人均纯收入 × 人数 with the sum of the parts, stays quiet; the old value."""
    total = round(value * int(p.hh.at[h, "size"]), 2)
    p.set_household(h, INCOME, f"{value:.2f}")
    p.set_household(h, "工资性收入", f"{total:.2f}")
    for col in ("生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出", "特困人员救助供养金"):
        p.set_household(h, col, "0.00")
    return float(p.hh.at[h, "income"])


def _dq056(p: Planter, h: str) -> Case:
    p.set_household(h, "务工所在地", "")
    # its work records say nobody is working either (a record with 是否已务工 = 是 is work, as for MN161)
    records = p.works["户编号"] == h
    p.works.loc[records, "是否已务工"] = C.NO
    # the work ended in the month it began (a finished record names its end month: DQ068)
    p.works.loc[records, "结束时间"] = p.works.loc[records, "开始时间"]
    return Case(
        h,
        f"工资性收入 {p.hh.at[h, 'wages']:.2f} 元，但没有成员务工（务工所在地已全部清空，务工记录为未务工）",
    )


def _income(value: float, note: str, also: str = "") -> Callable[[Planter, str], Case]:
    def plant(p: Planter, h: str) -> Case:
        old = _set_per_capita(p, h, value)
        return Case(h, f"脱贫户人均纯收入 {value:.2f} 元（原 {old:.2f} 元，全部为工资性收入）：{note}", also)

    return plant


def _sy103(p: Planter, r: object) -> Case:
    """The person is registered again, as 其他, in another household of the same village."""
    h = p.household_of(r)
    village = p.hh.at[h, "village"]
    others = [x for x in p.hh.index[p.hh["village"].eq(village)] if x not in p.used and x != h]
    target = others[0] if others else next(x for x in p.hh.index if x not in p.used)
    p.used.add(target)
    copy = p.persons.loc[[r]].copy()
    household_part = p.persons.columns[p.persons.columns.get_loc("户类型") :]
    shared = [*household_part, "县", "乡", "村", "户编号", "户联系电话"]
    template = p.persons.loc[p.rows(target)[0], shared]
    for col in shared:
        copy[col] = template[col]
    copy["与户主关系"] = "其他"
    copy["家庭成员联系电话"] = ""
    p.persons = p.sample.persons = pd.concat([p.persons, copy], ignore_index=True)
    return Case(
        p.id_of(r),
        f"同一人（{p.id_of(r)}）同时登记在户 {h} 和户 {target}；附带：户 {target} 由成员行数得出的人口数多 1，"
        "DQ051 也报出",
        "DQ051",
    )


def _sy104(p: Planter, h: str) -> Case:
    others = [x for x in p.hh.index if x not in p.used and x != h]
    other = others[int(p.rng.integers(len(others)))]
    p.used.add(other)
    phone = str(p.hh.at[other, "phone"])
    p.set_household(h, "户联系电话", phone)
    return Case(h, f"户 {h} 与户 {other} 共用户联系电话 {phone}")


def _clear_measures(columns: tuple[str, ...]) -> Callable[[Planter, str], None]:
    def clear(p: Planter, h: str) -> None:
        for col in columns:
            p.set_household(h, col, "")
        p.set_household(h, "实施开发式帮扶措施情况", "尚未实施")

    return clear


def _sy208(p: Planter, h: str) -> Case:
    _clear_measures(MEASURE_COLS)(p, h)
    return Case(h, "脱贫户当年没有任何帮扶措施（全部措施列已清空）")


def _sy302(p: Planter, v: str) -> Case:
    p.villages.loc[p.villages["村"] == v, "村级集体经济收入（万元）"] = "2.1000"
    return Case(v, "出列村村级集体经济收入 2.1 万元，低于 5 万元")


# ------------------------------------------------------------------------------ 防返贫监测 (MN, DQ060–DQ073)


def _month_after(yyyymm: str, k: int) -> str:
    months = int(yyyymm[:4]) * 12 + int(yyyymm[4:]) - 1 + k
    return f"{months // 12}{months % 12 + 1:02d}"


def _add_value(p: Planter, h: str, column: str, value: str) -> None:
    old = p.household_value(h, column)
    p.set_household(h, column, f"{old},{value}" if old else value)


def _mn101(p: Planter, h: str) -> Case:
    old = _set_per_capita(p, h, 6800)
    return Case(
        h,
        f"未纳入监测的脱贫户人均纯收入 6800.00 元（原 {old:.2f} 元），低于 {p.year} 年监测线；附带：LG102 同一条件也报出",
        "LG102",
    )


def _mn102(p: Planter, h: str) -> Case:
    p.set_household(h, "是否通生活用电", C.NO)
    return Case(h, "未纳入监测的脱贫户 是否通生活用电 = 否")


def _lg404(p: Planter, h: str) -> Case:
    p.set_household(h, "是否危房户", C.YES)
    return Case(h, "未纳入监测的脱贫户住房为危房（是否危房户 = 是）：脱贫成果未巩固", also="MN102")


def _mn103(p: Planter, h: str) -> Case:
    old = _set_per_capita(p, h, 25_000)
    p.set_household(h, "识别监测时间", f"{p.year}03")
    p.set_household(h, "合规自付支出", "0.00")
    return Case(
        h,
        f"{p.year} 年 3 月识别的监测户人均纯收入 25000.00 元（原 {old:.2f} 元），合规自付支出为 0，高于 20000 元",
    )


def _mn104(p: Planter, h: str) -> Case:
    p.set_household(h, "户类型", "一般农户")
    return Case(h, "脱贫不稳定户的户类型写成一般农户（务工记录随之改写）")


def _mn105(p: Planter, h: str) -> Case:
    p.set_household(h, "致贫/返贫风险2", "因学")
    return Case(h, "风险2 = 因学，但户内没有在校生（社会帮扶已登记）")


def _mn106(p: Planter, h: str) -> Case:
    p.set_household(h, "致贫/返贫风险2", "缺劳动力")
    if not p.household_value(h, "综合保障"):
        p.set_household(h, "综合保障", "临时救助")
    return Case(h, f"风险2 = 缺劳动力，但 {int(p.hh.at[h, 'size'])} 人中劳动力超过四分之一")


def _mn107(p: Planter, h: str) -> Case:
    p.set_household(h, "致贫/返贫风险2", "因务工就业不稳")
    return Case(
        h,
        "风险2 = 因务工就业不稳，但户内没有普通、技能或弱劳动力；附带：该风险没有就业帮扶/公益岗位帮扶，MN132 也报出",
        "MN132",
    )


def _mn108(p: Planter, h: str) -> Case:
    p.set_household(h, "合规自付支出", "0.00")
    return Case(h, "风险未消除、风险为因病的监测户合规自付支出为 0")


def _mn109(p: Planter, h: str) -> Case:
    p.set_household(h, "是否危房户", C.YES)
    return Case(h, "风险未消除的监测户 是否危房户 = 是，风险中没有因安全住房")


def _mn110(p: Planter, h: str) -> Case:
    p.set_household(h, "是否有家庭成员未参加城乡居民（职工）基本医疗保险", C.YES)
    return Case(h, "是否有家庭成员未参加城乡居民（职工）基本医疗保险 = 是，但每名成员都参加了基本医疗保险")


def _mn111(p: Planter, r: object) -> Case:
    p.set_person(r, "是否参加城乡居民基本医疗保险", C.NO)
    p.set_person(r, "是否参加大病保险", C.NO)
    return Case(
        p.id_of(r), "监测户成员两项基本医疗保险都为否；附带：户级“有成员未参保”仍为否，MN110 也报出", "MN110"
    )


def _mn121(p: Planter, h: str) -> Case:
    p.set_household(h, "风险消除方式", "帮扶消除")
    also, note = _business_gone(p, h)
    old = _set_per_capita(p, h, 6900)
    return Case(h, f"帮扶消除的户人均纯收入 6900.00 元（原 {old:.2f} 元），低于监测线{note}", also)


def _mn122(p: Planter, h: str) -> Case:
    p.set_household(h, "风险消除方式", "帮扶消除")
    also, note = _business_gone(p, h)
    old = _set_per_capita(p, h, 7500)
    return Case(
        h, f"帮扶消除的户人均纯收入 7500.00 元（原 {old:.2f} 元），不超过监测线的 1.05 倍{note}", also
    )


def _business_gone(p: Planter, h: str) -> tuple[str, str]:
    """An income case books everything as 工资性收入: with 产业帮扶 registered, MN127 then fires too."""
    if p.household_value(h, "产业帮扶"):
        return "MN127", "；附带：生产经营性收入改为 0 而有产业帮扶，MN127 也报出"
    return "", ""


def _mn123(p: Planter, h: str) -> Case:
    p.set_household(h, "风险消除后是否住房损毁", C.YES)
    return Case(h, "已消除风险的户 风险消除后是否住房损毁 = 是")


def _mn124(p: Planter, h: str) -> Case:
    ident = str(p.hh.at[h, "ident"])
    p.set_household(h, "消除监测时间", _month_after(ident, 1))
    p.set_household(h, "风险消除方式", "帮扶消除")
    return Case(h, f"{ident} 识别，次月 {_month_after(ident, 1)} 即帮扶消除")


def _mn125(p: Planter, h: str) -> Case:
    p.persons.loc[p.rows(h), "劳动技能"] = "无劳动力"
    also = "" if p.hh.at[h, "welfare"] else "MN141"
    note = "" if not also else "；附带：没有成员享受低保或特困，MN141 也报出"
    return Case(h, f"已消除风险的户全部成员改为无劳动力{note}", also)


def _mn126(p: Planter, h: str) -> Case:
    p.set_household(h, "风险消除方式", "帮扶消除")
    _clear_measures(MEASURE_COLS)(p, h)
    return Case(
        h,
        "帮扶消除的脱贫户全部措施列已清空；附带：风险没有对应措施（MN132）、脱贫户无措施（SY208）也报出",
        "MN132 SY208",
    )


def _mn127(p: Planter, h: str) -> Case:
    """生产经营性收入 (net of 生产经营性支出) is booked as 工资性收入, so the total stays; 产业帮扶 stays."""
    business = float(p.household_value(h, "生产经营性收入")) - float(p.household_value(h, "生产经营性支出"))
    wages = float(p.hh.at[h, "wages"]) + business
    p.set_household(h, "工资性收入", f"{wages:.2f}")
    p.set_household(h, "生产经营性收入", "0.00")
    p.set_household(h, "生产经营性支出", "0.00")
    if not p.household_value(h, "产业帮扶"):
        p.set_household(h, "产业帮扶", "特色种养殖奖补")
    return Case(h, "已消除风险的户有产业帮扶，生产经营性收入却为 0（净经营收入并入工资性收入，合计不变）")


def _mn131(p: Planter, h: str) -> Case:
    _clear_measures(MEASURE_COLS)(p, h)
    return Case(
        h,
        f"{p.hh.at[h, 'ident']} 识别、风险未消除的监测户全部措施列已清空；附带：MN132 也报出",
        "MN132 MN133",
    )


def _mn132(p: Planter, h: str) -> Case:
    for col in ("健康帮扶", "社会帮扶", "综合保障"):
        p.set_household(h, col, "")
    return Case(h, "风险为因病，健康帮扶、社会帮扶、综合保障都已清空（其他措施仍在）")


def _mn133(p: Planter, h: str) -> Case:
    for col in DEVELOPMENTAL:
        p.set_household(h, col, "")
    p.set_household(h, "实施开发式帮扶措施情况", "尚未实施")
    return Case(h, f"{p.hh.at[h, 'ident']} 识别、有劳动力的监测户，开发式措施已全部清空")


def _mn134(p: Planter, h: str) -> Case:
    p.set_household(h, "实施开发式帮扶措施情况", C.YES)
    return Case(h, "实施开发式帮扶措施情况 = 是，但没有任何开发式措施")


def _mn135(p: Planter, h: str) -> Case:
    _add_value(p, h, "综合保障", "农村低保兜底")
    return Case(h, "综合保障含农村低保兜底，但没有成员享受低保")


def _mn136(p: Planter, h: str) -> Case:
    _add_value(p, h, "教育帮扶", "雨露计划补助")
    return Case(h, "教育帮扶含雨露计划补助，但没有中职、高职在校生")


def _mn137(p: Planter, h: str) -> Case:
    _add_value(p, h, "就业帮扶", "就业创业补贴")
    p.set_household(h, "实施开发式帮扶措施情况", C.YES)
    return Case(h, "风险未消除的监测户就业帮扶 = 就业创业补贴，但没有成员务工或有公益性岗位")


def _mn138(p: Planter, h: str) -> Case:
    records = p.works["户编号"] == h
    p.works.loc[records, "务工所在县"] = p.household_value(h, "县")
    p.works.loc[records, "年度交通费补助"] = "0"
    p.works.loc[records, "就业渠道"] = "就近就业"
    _add_value(p, h, "就业帮扶", "外出务工补贴")
    p.set_household(h, "实施开发式帮扶措施情况", C.YES)
    return Case(h, "就业帮扶含外出务工补贴，但成员的务工记录都在本县、没有交通费补助")


def _mn141(p: Planter, h: str) -> Case:
    p.set_household(h, "整户无劳动能力兜底保障户", C.YES)
    return Case(h, "整户无劳动能力兜底保障户 = 是，但户内有劳动年龄的普通/技能劳动力")


def _mn142(p: Planter, r: object) -> Case:
    p.set_person(r, "享受特困供养政策情况", "农村特困")
    village = p.villages["村"] == p.persons.at[r, "村"]
    p.villages.loc[village, "特困供养人口数"] = (
        pd.to_numeric(p.villages.loc[village, "特困供养人口数"]) + 1
    ).astype(str)
    return Case(
        p.id_of(r), f"{int(p.age[r])} 岁、健康、不在校的成员享受农村特困供养（村表特困供养人口数随之加 1）"
    )


def _mn151(p: Planter, r: object) -> Case:
    p.set_person(r, "公益性岗位", "护林员公益岗位")
    p.set_person(r, "公益性岗位(月数)", "12")
    return Case(p.id_of(r), f"{int(p.age[r])} 岁成员有公益性岗位 护林员公益岗位（应 16–69 岁）")


def _mn152(p: Planter, r: object) -> Case:
    plan = {c: "" for c in p.plans.columns}
    plan.update({c: str(p.persons.at[r, c]) for c in ("县", "乡", "户编号", "证件号码", "户类型")})
    plan.update(
        {
            "行政村": str(p.persons.at[r, "村"]),
            "是否计划务工": C.YES,
            "计划务工所在县": "东莞市",
            "就业服务需求": "岗位信息",
        }
    )
    p.plans = p.sample.plans = pd.concat([p.plans, pd.DataFrame([plan])], ignore_index=True)
    return Case(p.id_of(r), f"{p.persons.at[r, '劳动技能']}的成员登记了计划外出务工（是否计划务工 = 是）")


def _mn153(p: Planter, r: object) -> Case:
    p.set_work(r, "就业渠道", "帮扶车间")
    return Case(
        p.id_of(r), f"务工所在县 {p.works.at[p.work_of(r), '务工所在县']} 不是本县，就业渠道却是帮扶车间"
    )


def _mn154(p: Planter, r: object) -> Case:
    p.set_person(r, "劳动技能", "技能劳动力")
    return Case(p.id_of(r), f"{int(p.age[r])} 岁技能劳动力，没有务工记录、务工所在地或公益性岗位")


def _mn161(p: Planter, h: str) -> Case:
    wages = float(p.hh.at[h, "wages"])
    business = float(p.household_value(h, "生产经营性收入"))
    p.set_household(h, "生产经营性收入", f"{business + wages:.2f}")
    p.set_household(h, "工资性收入", "0.00")
    return Case(h, f"工资性收入 {wages:.2f} 元改记为生产经营性收入（合计不变），但成员有今年的务工记录")


def _mn171(p: Planter, v: str) -> Case:
    p.villages.loc[p.villages["村"] == v, "到乡镇是否通沥青（水泥）路"] = C.NO
    return Case(v, "出列村到乡镇未通沥青（水泥）路")


def _dq060(p: Planter, r: object) -> Case:
    p.set_person(r, "民族", "")
    return Case(p.id_of(r), "脱贫户成员的条件必填项“民族”为空")


def _dq061(p: Planter, h: str) -> Case:
    p.set_household(h, "耕地面积（亩）", "150.0")
    return Case(h, "耕地面积 150.0 亩，超过 100 亩")


def _dq062(p: Planter, r: object) -> Case:
    p.set_person(r, "文化程度", "小学")
    return Case(p.id_of(r), f"{int(p.age[r])} 岁、不在校，文化程度为小学")


def _dq063(p: Planter, r: object) -> Case:
    p.set_person(r, "劳动技能", "弱劳动力或半劳动力")
    return Case(p.id_of(r), f"{int(p.age[r])} 岁、健康、不在校，劳动技能却是弱劳动力或半劳动力")


def _dq064(p: Planter, r: object) -> Case:
    p.set_person(r, "健康状况", "残疾")
    return Case(p.id_of(r), "健康状况为残疾，但证件类型为居民身份证、号码 18 位；附带：MN105/MN135 不受影响")


def _dq065(p: Planter, r: object) -> Case:
    good = p.id_of(r)
    severe = good[:18] + "41"
    p.set_person(r, "证件号码", severe)
    p.set_person(r, "劳动技能", "普通劳动力")
    return Case(severe, "残疾人证号类别 4（精神）、等级 1，劳动技能却是普通劳动力")


def _dq066(p: Planter, r: object) -> Case:
    p.set_person(r, "是否参加大病保险", C.NO)
    return Case(p.id_of(r), "参加城乡居民基本医疗保险，却未参加大病保险")


def _dq067(p: Planter, r: object) -> Case:
    p.set_work(r, "务工月收入", "50000")
    return Case(p.id_of(r), "务工月收入 50000 元，超过 30000 元")


def _dq068(p: Planter, r: object) -> Case:
    start = str(p.works.at[p.work_of(r), "开始时间"])
    p.set_work(r, "结束时间", f"{p.year}年10月")
    p.set_work(r, "开始时间", f"{p.year}年11月")
    return Case(p.id_of(r), f"务工开始时间 {p.year}年11月（原 {start}）晚于结束时间 {p.year}年10月")


def _dq069(p: Planter, r: object) -> Case:
    p.set_work(r, "户类型", "一般农户")
    return Case(p.id_of(r), "务工记录的户类型写成一般农户，成员所在户是脱贫户")


def _dq070(p: Planter, h: str) -> Case:
    p.set_household(h, "消除监测时间", f"{p.year}06")
    return Case(h, f"风险未消除，消除监测时间却填了 {p.year}06")


def _dq071(p: Planter, v: str) -> Case:
    at = p.villages["村"] == v
    total = int(p.villages.loc[at, "总户数"].iloc[0])
    p.villages.loc[at, "危房户数"] = str(total + 5)
    return Case(v, f"危房户数 {total + 5} 大于总户数 {total}")


def _dq072(p: Planter, h: str) -> Case:
    first = p.household_value(h, "致贫/返贫风险1")
    p.set_household(h, "致贫/返贫风险3", first)
    return Case(h, f"致贫/返贫风险1 和风险3 都是 {first}")


def _dq073(p: Planter, r: object) -> Case:
    p.set_person(r, "公益性岗位(月数)", "")
    return Case(p.id_of(r), f"公益性岗位 {p.persons.at[r, '公益性岗位']} 没有月数")


def _unmonitored_exited(p: Planter) -> pd.Series:
    return p.hh["exited"] & ~p.hh["monitored"]


def _working(p: Planter) -> pd.Series:
    """Households with a member at work: all their income may be 工资性收入 without DQ056."""
    return p.hh["workers"].gt(0)


def _monitored_exited(p: Planter) -> pd.Series:
    return p.hh["exited"] & p.hh["monitored"] & ~p.hh["eliminated"]


def _first(p: Planter, column: str) -> pd.Series:
    """A household field per 户编号 (as p.hh is indexed)."""
    return p.persons.drop_duplicates("户编号").set_index("户编号")[column]


def _ill_risk(p: Planter) -> pd.Series:
    return _first(p, "致贫/返贫风险1").eq("因病") | _first(p, "致贫/返贫风险2").eq("因病")


def _other_measures(p: Planter, cleared: tuple[str, ...]) -> pd.Series:
    """Households with a measure outside `cleared` (so clearing those leaves one: no MN131/MN126)."""
    rest = [c for c in MEASURE_COLS if c not in cleared]
    return p.persons.drop_duplicates("户编号").set_index("户编号")[rest].ne("").any(axis=1)


def _free(p: Planter) -> pd.Series:
    """Members without work/plan records or a post (an ID or household change would orphan them)."""
    return ~p.recorded & ~p.has_post


def _exited_member(p: Planter) -> pd.Series:
    return p.persons["户类型"].eq("脱贫户")


def _open_member(p: Planter) -> pd.Series:
    return p.persons["户编号"].map(p.hh["open"]).fillna(False).astype(bool)


def _idle_adult(p: Planter) -> pd.Series:
    """Healthy 普通劳动力 of 20–55, out of school, without a job, plan or post, not 特困/低保."""
    per = p.persons
    return (
        _free(p) & p.age.between(20, 55) & per["劳动技能"].eq("普通劳动力") & per["健康状况"].eq("健康")
        & per["在校生状况"].isin(("", "非在校生")) & per["享受特困供养政策情况"].eq("不享受")
    )  # fmt: skip


def _with_work(p: Planter, away: bool | None = None) -> pd.Series:
    works = p.works
    if away is not None:
        works = works[works["务工所在县"].ne(works["县"]) == away]
    return p.persons["证件号码"].isin(set(works["证件号码"]))


def _school(p: Planter, prefix: str) -> pd.Series:
    return p.persons["在校生状况"].str.startswith(prefix)


DEFECTS: tuple[Defect, ...] = (
    Defect("DQ002", "members", lambda p: p.persons["与户主关系"].ne("户主") & _free(p), _dq002),
    Defect("DQ003", "members", lambda p: p.persons["文化程度"].eq("小学"), _dq003),
    Defect("DQ004", "households", lambda p: p.hh["size"].ge(1), _dq004),
    Defect("DQ005", "households", lambda p: p.hh["monitored"], _dq005),
    Defect("DQ010", "members", lambda p: _plain_id(p) & p.persons["与户主关系"].ne("户主"), _dq010),
    Defect("DQ011", "members", lambda p: _plain_id(p) & p.persons["与户主关系"].ne("户主"), _dq011),
    Defect("DQ012", "members", lambda p: _plain_id(p) & _adult(p) & p.persons["与户主关系"].ne("户主"), _dq012),
    Defect("DQ013", "members", lambda p: _plain_id(p) & ~p.persons["证件号码"].str.endswith("X") & p.persons["与户主关系"].ne("户主"), _dq013),
    Defect("DQ014", "members", lambda p: _plain_id(p) & p.persons["出生日期"].str[:2].eq("19") & p.persons["与户主关系"].ne("户主"), _dq014),
    Defect("DQ015", "members", lambda p: _plain_id(p) & _adult(p) & p.persons["与户主关系"].ne("户主"), _dq015),
    Defect("DQ016", "members", lambda p: _plain_id(p) & p.persons["与户主关系"].ne("户主"), _dq016),
    Defect("DQ017", "members", lambda p: _plain_id(p) & p.persons["与户主关系"].ne("户主"), _dq017),
    Defect("DQ018", "members", lambda p: _plain_id(p) & p.persons["与户主关系"].ne("户主"), _dq018),
    Defect("DQ020", "members", lambda p: p.persons["与户主关系"].isin(["之子", "之女"]) & _free(p), _dq020),
    Defect("DQ030", "members", lambda p: p.persons["与户主关系"].eq("户主"), _dq030),
    Defect("DQ031", "members", lambda p: p.persons["与户主关系"].isin(["之子", "之女"]) & p.age.ge(18), _dq031),
    Defect("DQ032", "members", lambda p: p.persons["与户主关系"].isin(["之子", "之女"]) & p.persons["性别"].ne(p.head_sex) & p.has_spouse & p.age.ge(18), _dq032),
    Defect("DQ033", "members", lambda p: _plain_id(p) & p.persons["与户主关系"].eq("配偶"), _dq033),
    Defect("DQ034", "members", lambda p: p.persons["与户主关系"].eq("之女"), _dq034),
    Defect("DQ036", "members", lambda p: p.persons["与户主关系"].ne("户主"), _dq036),
    Defect("DQ038", "households", lambda p: p.hh["size"].ge(1), _dq038),
    Defect("DQ040", "members", lambda p: _adult(p) & p.persons["在校生状况"].eq("") & p.persons["文化程度"].ne(""), _dq040),
    Defect("DQ041", "members", lambda p: _school(p, "小学") & p.age.le(10), _dq041),
    Defect("DQ042", "members", lambda p: p.age.between(8, 14) & p.persons["劳动技能"].eq("无劳动力"), _dq042),
    Defect("DQ044", "members", lambda p: p.persons["家庭成员联系电话"].ne("") & p.persons["与户主关系"].ne("户主"), _dq044),
    Defect("DQ052", "households", lambda p: p.hh["transfer"].ge(0), _dq052),
    Defect("DQ053", "households", lambda p: _unmonitored_exited(p) & _working(p), _dq053),
    Defect("DQ056", "households", lambda p: p.hh["wages"].gt(0) & p.hh["workers"].gt(0), _dq056),
    Defect("IN001", "households", lambda p: _monitored_exited(p) & _working(p), _income(4600, "低于返贫风险线 5000 元、高于贫困线")),
    Defect("LG102", "households", lambda p: _unmonitored_exited(p) & _working(p), _income(6500, "低于监测线而未纳入监测；附带：MN101 同一条件也报出", "MN101")),
    Defect("SY103", "members", lambda p: p.persons["与户主关系"].ne("户主") & _free(p), _sy103),
    Defect("SY104", "households", lambda p: p.hh["size"].ge(1), _sy104),
    Defect("SY208", "households", lambda p: p.hh["exited"], _sy208),
    Defect("SY302", "villages", lambda p: p.villages["是否出列"].eq(C.YES), _sy302),
    Defect("MN101", "households", lambda p: _unmonitored_exited(p) & _working(p), _mn101),
    Defect("MN102", "households", _unmonitored_exited, _mn102),
    Defect("LG404", "households", _unmonitored_exited, _lg404),
    Defect("MN103", "households", lambda p: p.hh["open"] & _working(p), _mn103),
    Defect("MN104", "households", lambda p: p.hh["category"].eq("脱贫不稳定户"), _mn104),
    Defect("MN105", "households", lambda p: p.hh["monitored"] & ~p.hh["school"] & p.hh["r2"].eq("") & _first(p, "社会帮扶").ne(""), _mn105),
    Defect("MN106", "households", lambda p: p.hh["open"] & p.hh["able"] & p.hh["r2"].eq(""), _mn106),
    Defect("MN107", "households", lambda p: p.hh["monitored"] & ~p.hh["labour"] & p.hh["r2"].eq(""), _mn107),
    Defect("MN108", "households", lambda p: p.hh["open"] & _ill_risk(p), _mn108),
    Defect("MN109", "households", lambda p: p.hh["open"] & p.hh["type"].eq("一般农户") & _first(p, "是否危房户").eq(C.NO), _mn109),
    Defect("MN110", "households", lambda p: p.hh["open"] & _first(p, "健康帮扶").ne("") & _ill_risk(p), _mn110),
    Defect("MN111", "members", lambda p: _open_member(p) & p.persons["是否参加城乡居民基本医疗保险"].eq(C.YES), _mn111),
    Defect("MN121", "households", lambda p: p.hh["eliminated"] & _working(p), _mn121),
    Defect("MN122", "households", lambda p: p.hh["eliminated"] & _working(p), _mn122),
    Defect("MN123", "households", lambda p: p.hh["eliminated"], _mn123),
    Defect("MN124", "households", lambda p: p.hh["eliminated"], _mn124),
    Defect("MN125", "households", lambda p: p.hh["eliminated"] & ~p.hh["busy"], _mn125),
    Defect("MN126", "households", lambda p: p.hh["eliminated"], _mn126),
    Defect("MN127", "households", lambda p: p.hh["eliminated"] & _working(p), _mn127),
    Defect("MN131", "households", lambda p: p.hh["open"] & p.hh["type"].eq("一般农户"), _mn131),
    Defect("MN132", "households", lambda p: p.hh["monitored"] & ~p.hh["welfare"] & _ill_risk(p) & _other_measures(p, ("健康帮扶", "社会帮扶", "综合保障")), _mn132),
    Defect("MN133", "households", lambda p: p.hh["open"] & p.hh["able"] & ~_first(p, "致贫/返贫风险2").eq("缺劳动力") & ~_first(p, "致贫/返贫风险1").eq("缺劳动力") & _other_measures(p, DEVELOPMENTAL) & p.hh["ident"].le(f"{p.year}06"), _mn133),
    Defect("MN134", "households", lambda p: p.hh["exited"] & ~p.hh["monitored"] & _first(p, "实施开发式帮扶措施情况").eq("尚未实施"), _mn134),
    Defect("MN135", "households", lambda p: _unmonitored_exited(p) & ~p.hh["welfare"], _mn135),
    Defect("MN136", "households", lambda p: ~p.hh["vocational"] & ~p.hh["eliminated"], _mn136),
    Defect("MN137", "households", lambda p: p.hh["open"] & ~p.hh["busy"] & p.hh["workers"].eq(0) & _first(p, "就业帮扶").eq("") & _first(p, "公益性岗位帮扶").eq(""), _mn137),
    Defect("MN138", "households", lambda p: p.hh["monitored"] & p.hh.index.isin(set(p.works["户编号"])), _mn138),
    Defect("MN141", "households", lambda p: p.hh["able"] & ~p.hh["monitored"], _mn141),
    Defect("MN142", "members", lambda p: _idle_adult(p) & ~_open_member(p) & p.age.between(25, 55), _mn142),
    Defect("MN151", "members", lambda p: _free(p) & p.age.ge(72) & p.persons["劳动技能"].isin(["普通劳动力", "弱劳动力或半劳动力"]) & p.persons["享受特困供养政策情况"].eq("不享受"), _mn151),
    Defect("MN152", "members", lambda p: _free(p) & p.age.between(20, 60) & p.persons["劳动技能"].eq("丧失劳动力"), _mn152),
    Defect("MN153", "work", lambda p: _with_work(p, away=True), _mn153),
    Defect("MN154", "members", lambda p: _idle_adult(p) & (_exited_member(p) | _open_member(p)), _mn154),
    Defect("MN161", "households", lambda p: ~p.hh["monitored"] & p.hh.index.isin(set(p.works["户编号"])), _mn161),
    Defect("MN171", "villages", lambda p: p.villages["是否出列"].eq(C.YES), _mn171),
    Defect("DQ060", "members", lambda p: _exited_member(p) & _free(p), _dq060),
    Defect("DQ061", "households", lambda p: p.hh["size"].ge(1), _dq061),
    Defect("DQ062", "members", lambda p: p.age.between(16, 22) & p.persons["在校生状况"].isin(("", "非在校生")) & p.persons["文化程度"].isin(("初中", "高中")), _dq062),
    Defect("DQ063", "members", lambda p: _idle_adult(p) & ~p.persons["户编号"].map(p.hh["monitored"]).astype(bool), _dq063),
    Defect("DQ064", "members", lambda p: _plain_id(p) & p.persons["健康状况"].eq("健康") & _free(p) & p.age.ge(20), _dq064),
    Defect("DQ065", "members", lambda p: p.persons["证件类型"].eq("残疾人证") & _free(p) & p.age.between(20, 59) & p.persons["享受特困供养政策情况"].eq("不享受"), _dq065),
    Defect("DQ066", "members", lambda p: p.persons["是否参加城乡居民基本医疗保险"].eq(C.YES) & p.age.ge(18), _dq066),
    Defect("DQ067", "work", lambda p: _with_work(p), _dq067),
    Defect("DQ068", "work", lambda p: _with_work(p), _dq068),
    Defect("DQ069", "work", lambda p: _with_work(p) & _exited_member(p), _dq069),
    Defect("DQ070", "households", lambda p: p.hh["open"], _dq070),
    Defect("DQ071", "villages", lambda p: p.villages["村"].ne(""), _dq071),
    Defect("DQ072", "households", lambda p: p.hh["monitored"] & p.hh["r2"].ne("") & p.hh["r3"].eq(""), _dq072),
    Defect("DQ073", "members", lambda p: p.has_post, _dq073),
)  # fmt: skip


# Rules whose records are scarce in a small county (监测户 not yet eliminated among 脱贫户, eliminated
# households) choose first, so that no other case takes their few candidates.
SCARCE_FIRST = (
    "IN001",
    "MN125",
    "MN127",
    "MN121",
    "MN122",
    "MN123",
    "MN124",
    "MN126",
    "MN104",
    "MN103",
)


def planting_order() -> list[Defect]:
    rank = {rule: k for k, rule in enumerate(SCARCE_FIRST)}
    return sorted(DEFECTS, key=lambda d: rank.get(d.rule, len(rank)))


def plant_monitoring(sample: MonitoringSample, *, seed: int, per_rule: int, active: bool) -> pd.DataFrame:
    """Edit the sample in place with `per_rule` cases of every defect (none unless active); the manifest."""
    rows: list[dict[str, str]] = []
    if active:
        planter = Planter(sample, seed)
        for defect in planting_order():
            chosen = planter.choose(defect, per_rule)
            for record in chosen:
                case = defect.plant(planter, record)
                rows.append(dict(rule=defect.rule, table=defect.table, key=case.key, description=case.description,
                                 outputs="all", also=case.also))  # fmt: skip
            if not chosen:
                rows.append(_note(defect.rule, "样例太小，没有可植入的记录"))
        order = {d.rule: k for k, d in enumerate(DEFECTS)}  # the manifest lists rules in DEFECTS order
        rows.sort(key=lambda row: order[row["rule"]])
        rows += [_note(rule, why) for rule, why in NOT_PLANTED.items()]
    return pd.DataFrame(rows, columns=MANIFEST_COLS, dtype="str")


def _note(rule: str, why: str) -> dict[str, str]:
    return dict(rule=rule, table="", key="", description=why, outputs="none", also="")
