"""The next year's snapshot of a sample county (`fupin-audit sample --previous-of DIR`).

Starting from the county `generate` made, the next year's export gets the natural changes of a year
(births, deaths with a 死亡 roster row, a bride marrying in, a daughter marrying out, exits with a
modest income rise, incomes up 5%), which no DT rule may flag, and one planted case per DT rule
that a two-snapshot comparison can show (listed in `planted`, like the one-year defects).

Only a few dozen records are touched: the tables are copied and edited by row label.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from fupin_audit.errors import ConfigError

from .defects import MANIFEST_COLS
from .idnum import FreshIds

INFO_FILE = "sample.json"  # written by `sample`: how to regenerate the county
MONEY = (
    "工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "计划生育金", "低保金", "五保金", "养老保险金",
    "生态补偿金", "其他转移性收入", "生产经营性支出", "纯收入", "人均纯收入",
)  # fmt: skip
GROWTH = 1.05
NATURAL_COLS = ["change", "table", "key", "description"]


def write_info(folder: Path, **options: object) -> None:
    from fupin_audit.report.atomic import atomic_open

    with atomic_open(folder / INFO_FILE) as fh:
        json.dump(options, fh, ensure_ascii=False)


def read_info(folder: Path) -> dict[str, object]:
    try:
        return json.loads((folder / INFO_FILE).read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{folder}: 没有 {INFO_FILE}，不是 fupin-audit sample 写出的文件夹") from None
    except ValueError as exc:
        raise ConfigError(f"{folder / INFO_FILE}: 无法读取（{exc}）") from None


class _Editor:
    """The next year's tables, edited one case at a time, with the manifest of what was done."""

    def __init__(self, tables: dict[str, pd.DataFrame], year: int, seed: int) -> None:
        self.t = {k: v.copy() for k, v in tables.items()}
        self.year = year + 1
        self.rng = np.random.default_rng(seed)
        self.planted: list[dict[str, str]] = []
        self.natural: list[dict[str, str]] = []
        self.used: set[str] = set()  # 户编号 already edited: one case per household
        self.fresh_ids = FreshIds(self.t["members"]["证件号码"])
        self.next_hid = 9000

    # -- picking ----------------------------------------------------------------------------------

    def clean_households(self, planted: pd.DataFrame) -> pd.Index:
        """Households no one-year defect touches: a unique 户编号, members with plain 18-digit IDs that
        appear once, none of them in the manifest."""
        h, m = self.t["households"], self.t["members"]
        keys = set(planted["key"]) | set(planted["also"].str.split(",").explode().dropna())
        ids = m["证件号码"]
        bad_member = ~ids.str.fullmatch(r"\d{17}[\dX]") | ids.duplicated(keep=False) | ids.isin(keys)
        bad_member |= m["户编号"].isin(keys) | (m["姓名"] == "")
        bad_households = set(m.loc[bad_member, "户编号"])
        ok = ~h["户编号"].duplicated(keep=False) & ~h["户编号"].isin(keys | bad_households)
        ok &= h["户编号"].isin(set(m["户编号"])) & (h["人均纯收入"] != "")
        labels = h.index[ok.to_numpy()]
        return labels[self.rng.permutation(len(labels))]

    def pick(self, candidates: pd.Index, where) -> str | None:
        h = self.t["households"]
        for label in candidates:
            hid = h.at[label, "户编号"]
            if hid not in self.used and where(h.loc[label], self.members_of(hid)):
                self.used.add(hid)
                return hid
        return None

    def members_of(self, hid: str) -> pd.DataFrame:
        m = self.t["members"]
        return m[m["户编号"] == hid]

    def household_label(self, hid: str):
        h = self.t["households"]
        return h.index[(h["户编号"] == hid).to_numpy()][0]

    # -- records ----------------------------------------------------------------------------------

    def new_id(self, birth: str, male: bool, region: str = "340826") -> str:
        return self.fresh_ids.new(birth, male, region)

    def add_member(self, hid: str, name: str, relation: str, birth: str, male: bool, **values: str) -> str:
        m = self.t["members"]
        template = pd.Series("", index=m.columns, dtype=object)
        h = self.t["households"].loc[self.household_label(hid)]
        for column in ("省", "市", "县", "乡", "村"):  # a member row carries its household's place
            if column in m and column in h:
                template[column] = h[column]
        number = values.pop("证件号码", None) or self.new_id(birth, male)
        template.update(
            {"户编号": hid, "姓名": name, "性别": "男" if male else "女", "出生日期": birth, "证件号码": number,
             "与户主关系": relation, "健康状况": "健康", "劳动技能": "普通劳动力", "文化程度": "初中",
             "是否参加城乡居民基本医疗保险": "是", "年度": str(self.year), **values}
        )  # fmt: skip
        self.t["members"] = pd.concat([m, template.to_frame().T], ignore_index=True)
        self.resize(hid, +1)
        return number

    def remove_member(self, number: str) -> pd.Series:
        m = self.t["members"]
        row = m[m["证件号码"] == number].iloc[0]
        self.t["members"] = m[m["证件号码"] != number].reset_index(drop=True)
        self.resize(row["户编号"], -1)
        return row

    def resize(self, hid: str, change: int) -> None:
        h = self.t["households"]
        at = h["户编号"] == hid
        if at.any() and h.loc[at, "家庭人口数"].str.fullmatch(r"\d+").all():
            h.loc[at, "家庭人口数"] = (h.loc[at, "家庭人口数"].astype(int) + change).astype(str)

    def scale_income(self, hid: str, factor: float) -> None:
        h = self.t["households"]
        at = (h["户编号"] == hid).to_numpy()
        for column in (c for c in MONEY if c in h):
            values = pd.to_numeric(h.loc[at, column], errors="coerce")
            h.loc[at, column] = (values * factor).round(2).map(lambda v: "" if pd.isna(v) else f"{v:.2f}")

    def set(self, hid: str, **values: str) -> None:
        h = self.t["households"]
        at = (h["户编号"] == hid).to_numpy()
        for column, value in values.items():
            h.loc[at, column] = value

    def new_household(self, like: str, head_name: str, head_id: str, **values: str) -> str:
        h = self.t["households"]
        self.next_hid += 1
        hid = like[:-4] + f"{self.next_hid:04d}"
        row = h.loc[self.household_label(like)].copy()
        row.update({"户编号": hid, "户主姓名": head_name, "户主证件号码": head_id, "家庭人口数": "0",
                    "年度": str(self.year), **values})  # fmt: skip
        self.t["households"] = pd.concat([h, row.to_frame().T], ignore_index=True)
        self.used.add(hid)
        return hid

    def age(self, birth: str) -> int:
        born = pd.Timestamp(birth)
        return self.year - born.year - ((born.month, born.day) > (12, 31))

    def note(self, rule: str, table: str, key: str, description: str) -> None:
        self.planted.append({"rule": rule, "table": table, "key": key, "description": description,
                             "outputs": "all", "also": ""})  # fmt: skip

    def change(self, kind: str, table: str, key: str, description: str) -> None:
        self.natural.append({"change": kind, "table": table, "key": key, "description": description})


def next_year(data, *, seed: int = 1, defects: bool = True):
    """The SampleData of the year after `data` (see the module doc)."""
    from . import SampleData

    ed = _Editor(data.tables, data.year, seed)
    year = ed.year
    _advance(ed)
    candidates = ed.clean_households(data.planted)
    _natural(ed, candidates)
    if defects:
        _defects(ed, candidates)
    planted = pd.DataFrame(ed.planted, columns=MANIFEST_COLS, dtype="str")
    out = SampleData(ed.t, planted, year, data.county, data.flat_patches)
    out.natural = pd.DataFrame(ed.natural, columns=NATURAL_COLS, dtype="str")  # type: ignore[attr-defined]
    return out


def _advance(ed: _Editor) -> None:
    """Every record one year on: 年度 + 1, measures dated a year later, incomes up 5%; last year's
    per-capita income column cleared (this comparison replaces it)."""
    for name, table in ed.t.items():
        if "年度" in table:
            years = pd.to_numeric(table["年度"], errors="coerce")
            table["年度"] = (years + 1).map(lambda v: "" if pd.isna(v) else str(int(v)))
        if name in ("measures", "measures_extra") and "日期" in table:
            dated = table["日期"].str.match(r"^\d{4}-")
            table.loc[dated, "日期"] = (table.loc[dated, "日期"].str.slice(0, 4).astype(int) + 1).astype(
                str
            ) + table.loc[dated, "日期"].str.slice(4)
    h = ed.t["households"]
    if "上年人均纯收入" in h:
        h["上年人均纯收入"] = ""
    for column in (c for c in MONEY if c in h):
        values = pd.to_numeric(h[column], errors="coerce")
        h[column] = (values * GROWTH).round(2).map(lambda v: "" if pd.isna(v) else f"{v:.2f}")


def _natural(ed: _Editor, candidates: pd.Index) -> None:
    y = ed.year

    def has(relation: str, test=lambda r: True):
        return lambda h, m: ((m["与户主关系"] == relation) & m.apply(test, axis=1)).any() if len(m) else False

    if hid := ed.pick(candidates, lambda h, m: len(m) >= 2):
        number = ed.add_member(hid, "新生儿", "之孙子", f"{y}-03-15", True, 劳动技能="无劳动力",
                               文化程度="", 在校生状况="学龄前儿童")  # fmt: skip
        ed.change("出生", "members", number, f"户 {hid} 新生儿（{y}-03-15 出生）")
    if hid := ed.pick(candidates, has("之子")):
        number = ed.add_member(hid, "刘芳", "之儿媳", f"{y - 24}-06-01", False, 证件号码=None)
        ed.change("婚入", "members", number, f"户 {hid} 娶进的儿媳（上一期不在任何户中）")
    old = lambda r: ed.age(r["出生日期"]) >= 70  # noqa: E731
    if hid := ed.pick(candidates, lambda h, m: ((m["与户主关系"] != "户主") & m.apply(old, axis=1)).any()):
        m = ed.members_of(hid)
        row = m[(m["与户主关系"] != "户主") & m.apply(old, axis=1)].iloc[0]
        ed.remove_member(row["证件号码"])
        roster = ed.t["rosters"]
        entry = {c: "" for c in roster.columns} | {"类别": "死亡", "证件号码": row["证件号码"], "姓名": row["姓名"],
                                                   "日期": f"{y}-05-01", "详情": "公安户籍注销"}  # fmt: skip
        ed.t["rosters"] = pd.concat([roster, pd.DataFrame([entry])], ignore_index=True)
        ed.change("死亡", "members", row["证件号码"], f"户 {hid} 的{row['与户主关系']}去世（死亡名单）")
    grown = lambda r: ed.age(r["出生日期"]) >= 20 and r["性别"] == "女"  # noqa: E731
    if hid := ed.pick(candidates, has("之女", grown)):
        m = ed.members_of(hid)
        row = m[(m["与户主关系"] == "之女") & m.apply(grown, axis=1)].iloc[0]
        ed.remove_member(row["证件号码"])
        ed.change("婚出", "members", row["证件号码"], f"户 {hid} 的之女（{ed.age(row['出生日期'])} 岁）出嫁")
    if hid := ed.pick(candidates, lambda h, m: h["脱贫状态"] == "未脱贫"):
        ed.set(hid, 脱贫状态="已脱贫(享受政策)", 脱贫年度=str(y))
        ed.change("脱贫", "households", hid, f"户 {hid} {y} 年脱贫，收入增长 5%")


def _defects(ed: _Editor, candidates: pd.Index) -> None:
    y = ed.year
    poor = lambda h, m: h["脱贫状态"] == "未脱贫"  # noqa: E731
    out = lambda h, m: h["脱贫状态"].startswith("已脱贫") and h["脱贫年度"] != ""  # noqa: E731
    adult_son = lambda r: r["与户主关系"] == "之子" and ed.age(r["出生日期"]) >= 18  # noqa: E731
    if hid := ed.pick(candidates, poor):
        ed.t["households"] = ed.t["households"][ed.t["households"]["户编号"] != hid].reset_index(drop=True)
        ed.t["members"] = ed.t["members"][ed.t["members"]["户编号"] != hid].reset_index(drop=True)
        ed.note("DT101", "previous.households", hid, "未脱贫户在下一年的数据中消失")
    if hid := ed.pick(candidates, lambda h, m: True):
        head = ed.new_id(f"{y - 45}-02-02", True)
        new = ed.new_household(hid, "吴新户", head, 识别年度=str(y - 3), 脱贫状态="未脱贫", 脱贫年度="")
        ed.add_member(new, "吴新户", "户主", f"{y - 45}-02-02", True, 证件号码=head)
        ed.note("DT102", "households", new, f"新增户的识别年度 {y - 3} 早于上一期年度 {y - 1}")
    if hid := ed.pick(candidates, lambda h, m: len(m) >= 1):
        number = ed.add_member(hid, "赵挂靠", "之子", f"{y - 35}-07-07", True)
        ed.note("DT103", "members", number, f"户 {hid} 新增一名 35 岁、不是婚入的之子（挂靠）")
    if hid := ed.pick(candidates, lambda h, m: m.apply(adult_son, axis=1).any()):
        m = ed.members_of(hid)
        row = m[m.apply(adult_son, axis=1)].iloc[0]
        ed.remove_member(row["证件号码"])
        ed.note("DT104", "previous.members", row["证件号码"], f"户 {hid} 的之子无死亡、婚出记录而减员")
    if hid := ed.pick(candidates, lambda h, m: out(h, m) and m.apply(adult_son, axis=1).any()):
        m = ed.members_of(hid)
        row = m[m.apply(adult_son, axis=1)].iloc[0]
        ed.remove_member(row["证件号码"])
        new = ed.new_household(hid, row["姓名"], row["证件号码"], 识别年度=str(y), 脱贫状态="未脱贫", 脱贫年度="",
                               贫困户属性="一般贫困户")  # fmt: skip
        ed.add_member(
            new, row["姓名"], "户主", row["出生日期"], row["性别"] == "男", 证件号码=row["证件号码"]
        )
        ed.note("DT105", "members", row["证件号码"], f"已脱贫户 {hid} 的之子拆出为新的未脱贫户 {new}")
    if hid := ed.pick(candidates, poor):
        ed.set(hid, 脱贫状态="已脱贫(享受政策)", 脱贫年度=str(y))
        ed.scale_income(hid, 2.1 / GROWTH)
        ed.note("DT106", "households", hid, f"{y} 年脱贫，人均纯收入比上一期增长 110%")
    if hid := ed.pick(candidates, out):
        ed.set(hid, 脱贫状态="未脱贫", 脱贫年度="")
        ed.note("DT107", "households", hid, "已脱贫户改回未脱贫（未登记返贫）")
    if hid := ed.pick(candidates, lambda h, m: out(h, m) and int(h["脱贫年度"]) < y - 1):
        label = ed.household_label(hid)
        before = ed.t["households"].at[label, "脱贫年度"]
        ed.set(hid, 脱贫年度=str(int(before) + 1))
        ed.note("DT108", "households", hid, f"脱贫年度由 {before} 改为 {int(before) + 1}")
    if hid := ed.pick(candidates, lambda h, m: (m["与户主关系"] != "户主").any()):
        m = ed.members_of(hid)
        row = m[m["与户主关系"] != "户主"].iloc[0]
        number = ed.new_id(row["出生日期"], row["性别"] == "男", region="340827")
        members = ed.t["members"]
        members.loc[members["证件号码"] == row["证件号码"], "证件号码"] = number
        ed.note("DT109", "members", number, f"户 {hid} 的{row['姓名']}换了证件号码（原 {row['证件号码']}）")
    if hid := ed.pick(candidates, out):
        ed.scale_income(hid, 0.6 / GROWTH)
        ed.note("DT110", "households", hid, "已脱贫户人均纯收入比上一期下降 40%")
    if "是否监测对象" in ed.t["households"] and (
        hid := ed.pick(candidates, lambda h, m: h["是否监测对象"] == "是")
    ):
        ed.set(hid, 是否监测对象="否")
        ed.note("DT111", "households", hid, "监测对象未经风险消除退出监测")
