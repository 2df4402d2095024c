"""The next annual export of a monitoring-era sample county (`fupin-audit sample --previous-of DIR`
on a folder written by `sample --year 2021…`).

Same layout (监测对象信息, one row per person with the household fields repeated), one year later:
export date 31 December of the next year, the 务工 records moved on a year, incomes up 5%. The
natural changes of a year — a birth, a death (on a 死亡人员 sheet, as 公安 death data would be
delivered), a bride marrying in, a daughter marrying out, a 风险消除 after 帮扶 and a 自然消除, a
脱贫户 newly monitored — are listed in `natural` and no DT rule may flag them. One case per DT rule
is planted (`planted`): all twelve apply to this era (DT107 by its monitoring clause, DT108 both by
户类型 and by the 识别监测时间 of an open episode).

Only households that no one-year defect touches are edited, so that the comparison shows exactly the
planted cases. A case without a suitable household (a very small county) is listed with outputs =
none, as `monitoring_defects` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from . import columns as C
from .defects import MANIFEST_COLS
from .idnum import FreshIds
from .monitoring import AFTER_ELIMINATION_COLS, DEATH_COLS, RISK_COLS, MonitoringSample
from .snapshot import GROWTH, NATURAL_COLS

INCOME_COLS = (
    "人均纯收入（元）", "工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出",
    "特困人员救助供养金",
)  # fmt: skip
# Columns of the person, not of the household (the rest repeat the household's values on each row).
PERSON_LEVEL = (
    "姓名", "证件类型", "证件号码", "性别", "民族", "出生日期", "与户主关系", "家庭成员联系电话", "文化程度",
    "在校生状况", "失学或辍学原因", "义务教育阶段未上学原因", "健康状况", "劳动技能", "务工所在地", "公益性岗位",
    "公益性岗位(月数)", "是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险", "是否参加大病保险",
    "是否参加城乡居民基本养老保险", "是否参加城镇职工基本养老保险", "是否接受医疗救助", "享受低保政策情况",
    "享受特困供养政策情况",
)  # fmt: skip
EPISODE_COLS = ("风险是否已消除", "风险消除方式", "识别监测时间", "消除监测时间", *AFTER_ELIMINATION_COLS)

Where = Callable[[pd.Series, pd.DataFrame], bool]  # (household's first row, its member rows)


class _Editor:
    """The next year's person rows, edited one household at a time, with what was done."""

    def __init__(self, sample: MonitoringSample, seed: int) -> None:
        self.persons = sample.persons.copy()
        self.works, self.plans = sample.works.copy(), sample.plans.copy()
        self.year = sample.year + 1
        self.rng = np.random.default_rng([seed, sample.year, 2024])
        self.deaths: list[dict[str, str]] = []
        self.planted: list[dict[str, str]] = []
        self.natural: list[dict[str, str]] = []
        self.used: set[str] = set()
        self.fresh_ids = FreshIds(self.persons["证件号码"])
        self.next_hid = 9000

    # -- reading --------------------------------------------------------------------------------

    def members(self, hid: str) -> pd.DataFrame:
        return self.persons[self.persons["户编号"] == hid]

    def age(self, birth: str) -> int:
        """Whole years at 31 December of the new year (出生日期 is YYYYMMDD)."""
        return self.year - int(birth[:4])

    def clean_households(self, planted: pd.DataFrame) -> list[str]:
        """户编号 of households no one-year defect touches, whose people have unique, well-formed
        numbers and names, in random order."""
        p = self.persons
        keys = set(planted["key"]) | set(planted["also"].str.split(",").explode().dropna())
        ids = p["证件号码"]
        bad = ~ids.str.fullmatch(r"\d{17}[\dX](\d{2})?") | ids.duplicated(keep=False) | ids.isin(keys)
        bad |= p["户编号"].isin(keys) | (p["姓名"] == "")
        touched = set(p.loc[bad, "户编号"])
        households = [h for h in pd.unique(p["户编号"]) if h not in touched]
        return [households[i] for i in self.rng.permutation(len(households))]

    def pick(self, candidates: list[str], where: Where) -> str | None:
        for hid in candidates:
            if hid in self.used:
                continue
            rows = self.members(hid)
            if len(rows) and where(rows.iloc[0], rows):
                self.used.add(hid)
                return hid
        return None

    # -- editing --------------------------------------------------------------------------------

    def set(self, hid: str, **values: str) -> None:
        """Household fields on every row of the household (and on its 务工 records that carry them)."""
        at = (self.persons["户编号"] == hid).to_numpy()
        for column, value in values.items():
            self.persons.loc[at, column] = value
            for records in (self.works, self.plans):
                if column in ("户类型", "监测对象类别") and column in records:
                    records.loc[records["户编号"] == hid, column] = value

    def scale_income(self, hid: str, factor: float) -> None:
        at = (self.persons["户编号"] == hid).to_numpy()
        for column in INCOME_COLS:
            values = pd.to_numeric(self.persons.loc[at, column], errors="coerce") * factor
            self.persons.loc[at, column] = values.round(2).map(lambda v: "" if pd.isna(v) else f"{v:.2f}")

    def new_id(self, birth: str, male: bool, region: str = "340826") -> str:
        return self.fresh_ids.new(birth, male, region)

    def add_member(self, hid: str, name: str, relation: str, birth: str, male: bool, **values: str) -> str:
        """A person row of household `hid` (its household fields copied), born `birth` (YYYYMMDD)."""
        row = self.members(hid).iloc[0].copy()
        number = values.pop("证件号码", None) or self.new_id(birth, male)
        adult = self.age(birth) >= 16
        row.update(
            {"姓名": name, "证件类型": "居民身份证", "证件号码": number, "性别": "1" if male else "2", "民族": "汉族",
             "出生日期": birth, "与户主关系": relation, "家庭成员联系电话": "", "文化程度": "初中", "在校生状况": "",
             "失学或辍学原因": "", "义务教育阶段未上学原因": "", "健康状况": "健康", "劳动技能": "普通劳动力",
             "务工所在地": "", "公益性岗位": "", "公益性岗位(月数)": "", "是否参加城乡居民基本医疗保险": C.YES,
             "是否参加城镇职工基本医疗保险": C.NO, "是否参加大病保险": C.YES,
             "是否参加城乡居民基本养老保险": C.YES if adult else C.NO, "是否参加城镇职工基本养老保险": C.NO,
             "是否接受医疗救助": C.NO, "享受低保政策情况": "未享受", "享受特困供养政策情况": "不享受", **values}
        )  # fmt: skip
        self.persons = pd.concat([self.persons, row.to_frame().T], ignore_index=True)
        return number

    def remove_member(self, number: str) -> pd.Series:
        """The person's row, taken out with their 务工 records."""
        p = self.persons
        row = p[p["证件号码"] == number].iloc[0]
        self.persons = p[p["证件号码"] != number].reset_index(drop=True)
        self.works = self.works[self.works["证件号码"] != number].reset_index(drop=True)
        self.plans = self.plans[self.plans["证件号码"] != number].reset_index(drop=True)
        return row

    def remove_household(self, hid: str) -> None:
        for name in ("persons", "works", "plans"):
            table = getattr(self, name)
            setattr(self, name, table[table["户编号"] != hid].reset_index(drop=True))

    def new_household(self, like: str, head: pd.Series, **values: str) -> str:
        """A household split off or newly registered: `head` (a person row) as its 户主, the household
        fields of `like` with `values` over them."""
        self.next_hid += 1
        hid = like[:-4] + f"{self.next_hid:04d}"
        row = self.members(like).iloc[0].copy()
        row.update({c: head[c] for c in PERSON_LEVEL})
        row.update({"户编号": hid, "与户主关系": "户主", **values})
        self.persons = pd.concat([self.persons, row.to_frame().T], ignore_index=True)
        self.used.add(hid)
        return hid

    def note(self, rule: str, table: str, key: str, description: str) -> None:
        self.planted.append({"rule": rule, "table": table, "key": key, "description": description,
                             "outputs": "all", "also": ""})  # fmt: skip

    def missing(self, rule: str) -> None:
        self.planted.append({"rule": rule, "table": "", "key": "", "outputs": "none", "also": "",
                             "description": "样例太小，没有可植入的户"})  # fmt: skip

    def change(self, kind: str, table: str, key: str, description: str) -> None:
        self.natural.append({"change": kind, "table": table, "key": key, "description": description})


def next_monitoring_year(
    sample: MonitoringSample, *, seed: int = 1, defects: bool = True
) -> MonitoringSample:
    """The MonitoringSample of the year after `sample` (see the module doc); `natural` and `deaths`
    are set on it."""
    ed = _Editor(sample, seed)
    _advance(ed)
    candidates = ed.clean_households(sample.planted)
    _natural(ed, candidates)
    if defects:
        _defects(ed, candidates)
    out = replace(
        sample,
        persons=ed.persons.reset_index(drop=True),
        planted=pd.DataFrame(ed.planted, columns=MANIFEST_COLS, dtype="str"),
        year=ed.year,
        export_date=f"{ed.year}-12-31",
        works=ed.works,
        plans=ed.plans,
        deaths=pd.DataFrame(ed.deaths, columns=list(DEATH_COLS), dtype="str"),
    )
    out.natural = pd.DataFrame(ed.natural, columns=NATURAL_COLS, dtype="str")  # type: ignore[attr-defined]
    return out


def _advance(ed: _Editor) -> None:
    """A year on for everybody: incomes up 5%, the 务工 spells and plans dated a year later."""
    p = ed.persons
    for column in INCOME_COLS:
        values = pd.to_numeric(p[column], errors="coerce") * GROWTH
        p[column] = values.round(2).map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    for column in ("开始时间", "结束时间"):
        dated = ed.works[column].str.match(r"^\d{4}年")
        ed.works.loc[dated, column] = str(ed.year) + ed.works.loc[dated, column].str.slice(4)


def _open(h: pd.Series) -> bool:
    return h["监测对象类别"] != "" and h["风险是否已消除"] == C.NO


def _eliminated(h: pd.Series) -> bool:
    return h["监测对象类别"] != "" and h["风险是否已消除"] == C.YES


def _unmonitored_exited(h: pd.Series) -> bool:
    return h["户类型"] == "脱贫户" and h["监测对象类别"] == ""


def _with_income(h: pd.Series) -> bool:
    return pd.to_numeric(h["人均纯收入（元）"], errors="coerce") > 0


def _relation(ed: _Editor, relation: str, test: Callable[[pd.Series], bool] = lambda r: True) -> Where:
    return lambda h, m: any(r["与户主关系"] == relation and test(r) for _, r in m.iterrows())


def _eliminate(ed: _Editor, hid: str, way: str) -> None:
    ed.set(hid, 风险是否已消除=C.YES, 风险消除方式=way, 消除监测时间=f"{ed.year}06",
           **{c: C.NO for c in AFTER_ELIMINATION_COLS})  # fmt: skip


def _natural(ed: _Editor, candidates: list[str]) -> None:
    y = ed.year
    if hid := ed.pick(candidates, lambda h, m: len(m) >= 2):
        number = ed.add_member(hid, "新生儿", "之孙子", f"{y}0315", True, 劳动技能="无劳动力", 文化程度="",
                               在校生状况="学龄前儿童", 是否参加城乡居民基本养老保险=C.NO)  # fmt: skip
        ed.change("出生", "members", number, f"户 {hid} 新生儿（{y}-03-15 出生）")
    if hid := ed.pick(candidates, _relation(ed, "之子")):
        number = ed.add_member(hid, "刘芳", "之儿媳", f"{y - 24}0601", False)
        ed.change("婚入", "members", number, f"户 {hid} 娶进的儿媳（上一期不在任何户中）")
    old = lambda r: r["与户主关系"] != "户主" and ed.age(r["出生日期"]) >= 70  # noqa: E731
    if hid := ed.pick(candidates, lambda h, m: any(old(r) for _, r in m.iterrows())):
        row = next(r for _, r in ed.members(hid).iterrows() if old(r))
        ed.remove_member(row["证件号码"])
        ed.deaths.append({"证件号码": row["证件号码"], "姓名": row["姓名"], "死亡日期": f"{y}-05-01"})
        ed.change("死亡", "members", row["证件号码"], f"户 {hid} 的{row['与户主关系']}去世（死亡人员名单）")
    grown = lambda r: r["性别"] == "2" and ed.age(r["出生日期"]) >= 20  # noqa: E731
    if hid := ed.pick(candidates, _relation(ed, "之女", grown)):
        row = next(r for _, r in ed.members(hid).iterrows() if r["与户主关系"] == "之女" and grown(r))
        ed.remove_member(row["证件号码"])
        ed.change("婚出", "members", row["证件号码"], f"户 {hid} 的之女（{ed.age(row['出生日期'])} 岁）出嫁")
    for way, kind in (("帮扶消除", "风险消除（帮扶）"), ("自然消除", "风险消除（自然）")):
        if hid := ed.pick(candidates, lambda h, m: _open(h) and _with_income(h)):
            _eliminate(ed, hid, way)
            ed.change(kind, "households", hid, f"户 {hid} {y} 年{way}，收入增长 5%")
    if hid := ed.pick(candidates, lambda h, m: _unmonitored_exited(h)):
        ed.set(
            hid,
            监测对象类别="脱贫不稳定户",
            风险是否已消除=C.NO,
            识别监测时间=f"{y}04",
            **{RISK_COLS[0]: "因病"},
        )
        ed.change("新纳入监测", "households", hid, f"脱贫户 {hid} {y} 年 4 月纳入监测（脱贫不稳定户）")


def _defects(ed: _Editor, candidates: list[str]) -> None:
    y, before = ed.year, ed.year - 1
    adult_son = lambda r: r["与户主关系"] == "之子" and ed.age(r["出生日期"]) >= 18  # noqa: E731
    has_adult_son = lambda h, m: any(adult_son(r) for _, r in m.iterrows())  # noqa: E731

    def plant(rule: str, where: Where, edit: Callable[[str], tuple[str, str, str]]) -> None:
        hid = ed.pick(candidates, where)
        if hid is None:
            ed.missing(rule)
            return
        table, key, description = edit(hid)
        ed.note(rule, table, key, description)

    def dt101(hid: str):
        ed.remove_household(hid)
        return "previous.households", hid, "风险未消除的监测户在下一年的数据中消失"

    def dt102(hid: str):
        head = ed.members(hid).iloc[0].copy()
        head.update({"姓名": "吴新户", "出生日期": f"{y - 45}0202", "性别": "1", "证件类型": "居民身份证"})
        head["证件号码"] = ed.new_id(f"{y - 45}0202", True)
        new = ed.new_household(hid, head, 户类型="一般农户", 监测对象类别="边缘易致贫户", 风险是否已消除=C.NO,
                               识别监测时间=f"{before - 1}06", 消除监测时间="", 风险消除方式="",
                               **{c: "" for c in AFTER_ELIMINATION_COLS})  # fmt: skip
        return "households", new, f"新增户的识别监测时间 {before - 1}06 早于上一期年度 {before}"

    def dt103(hid: str):
        number = ed.add_member(hid, "赵挂靠", "之子", f"{y - 35}0707", True)
        return "members", number, f"户 {hid} 新增一名 35 岁、不是婚入的之子（挂靠）"

    def dt104(hid: str):
        row = next(r for _, r in ed.members(hid).iterrows() if adult_son(r))
        ed.remove_member(row["证件号码"])
        return "previous.members", row["证件号码"], f"户 {hid} 的之子无死亡、婚出记录而减员"

    def dt105(hid: str):
        row = next(r for _, r in ed.members(hid).iterrows() if adult_son(r))
        ed.remove_member(row["证件号码"])
        new = ed.new_household(hid, row, 户类型="一般农户", 监测对象类别="边缘易致贫户", 风险是否已消除=C.NO,
                               识别监测时间=f"{y}03", 消除监测时间="", 风险消除方式="",
                               **{c: "" for c in AFTER_ELIMINATION_COLS})  # fmt: skip
        return "members", row["证件号码"], f"未监测的脱贫户 {hid} 的之子拆出为新的监测户 {new}"

    def dt106(hid: str):
        _eliminate(ed, hid, "帮扶消除")
        ed.scale_income(hid, 2.1 / GROWTH)
        return "households", hid, f"{y} 年风险消除，人均纯收入比上一期增长 110%"

    def dt107(hid: str):
        ed.set(
            hid,
            风险是否已消除=C.NO,
            风险消除方式="",
            消除监测时间="",
            **{c: "" for c in AFTER_ELIMINATION_COLS},
        )
        return "households", hid, "风险已消除的户改回风险未消除，识别监测时间未更新"

    def dt108_month(hid: str):
        old = ed.members(hid).iloc[0]["识别监测时间"]
        earlier = f"{int(old[:4]) - 1}{old[4:]}"
        ed.set(hid, 识别监测时间=earlier)
        return "households", hid, f"同一轮监测的识别监测时间由 {old} 改为 {earlier}"

    def dt108_type(hid: str):
        ed.set(hid, 户类型="一般农户")
        return "households", hid, "户类型由脱贫户改为一般农户"

    def dt109(hid: str):
        row = next(r for _, r in ed.members(hid).iterrows() if r["与户主关系"] != "户主")
        number = ed.new_id(row["出生日期"], row["性别"] == "1", region="340827")
        for table in (ed.persons, ed.works, ed.plans):
            table.loc[table["证件号码"] == row["证件号码"], "证件号码"] = number
        return "members", number, f"户 {hid} 的{row['姓名']}换了证件号码（原 {row['证件号码']}）"

    def dt110(hid: str):
        ed.scale_income(hid, 0.6 / GROWTH)
        return "households", hid, "脱贫户人均纯收入比上一期下降 40%"

    def dt111(hid: str):
        ed.set(hid, 监测对象类别="", 其他备注="", **{c: "" for c in (*EPISODE_COLS, *RISK_COLS)})
        return "households", hid, "风险未消除的监测户未经风险消除退出监测"

    def dt112(hid: str):
        ed.set(hid, 风险是否已消除=C.NO, 风险消除方式="", 消除监测时间="", 识别监测时间=f"{y}03",
               **{c: "" for c in AFTER_ELIMINATION_COLS})  # fmt: skip
        return "households", hid, f"风险消除后 {y} 年 3 月再次纳入监测"

    # the scarce kinds first: eliminated households, then open ones
    plant("DT107", lambda h, m: _eliminated(h), dt107)
    plant("DT112", lambda h, m: _eliminated(h), dt112)
    plant("DT101", lambda h, m: _open(h), dt101)
    plant("DT106", lambda h, m: _open(h) and _with_income(h), dt106)
    plant("DT108", lambda h, m: _open(h) and len(h["识别监测时间"]) == 6, dt108_month)
    plant("DT111", lambda h, m: _open(h), dt111)
    plant("DT102", lambda h, m: True, dt102)
    plant("DT103", lambda h, m: True, dt103)
    plant("DT104", has_adult_son, dt104)
    plant("DT105", lambda h, m: _unmonitored_exited(h) and has_adult_son(h, m), dt105)
    plant("DT108", lambda h, m: _unmonitored_exited(h), dt108_type)
    plant(
        "DT109",
        lambda h, m: any(
            r["与户主关系"] != "户主" and r["证件类型"] == "居民身份证" for _, r in m.iterrows()
        ),
        dt109,
    )
    plant("DT110", lambda h, m: _unmonitored_exited(h) and _with_income(h), dt110)
    ed.planted.sort(key=lambda row: row["rule"])
