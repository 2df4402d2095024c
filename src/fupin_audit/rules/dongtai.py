"""动态调整 (DT): one snapshot against the previous one of the same county (SNAPSHOTS.md).

Households are matched by 户编号 and people by the person key (normalised 证件号码, 15-digit numbers
upgraded), both hashed to integers shared by the two snapshots (`facts.keys.joint_codes`): every rule is
a handful of integer gathers and `np.isin` over whole columns; Python only touches flagged rows (to
write their messages and `related` records).

A finding points at the current snapshot's row, and `related` names the previous snapshot's record
with its values; a record that vanished (DT101, DT104) points at the previous snapshot's row, with
`table` = previous.households / previous.members.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field

from fupin_audit.dataset import Diagnostic
from fupin_audit.engine.context import AuditContext, related_json
from fupin_audit.engine.rule import Example, NoParams, RuleParams, SkipRule, rule
from fupin_audit.engine.years import WholePair
from fupin_audit.facts.keys import count_per_code, first_rows, gather, joint_codes
from fupin_audit.facts.lines import param
from fupin_audit.facts.people import member_ages, member_birth
from fupin_audit.facts.values import (
    HID,
    ID,
    INCOME,
    STATUS,
    USABLE_ID_KINDS,
    as_bool,
    exited,
    is_no,
    poor,
    text,
)
from fupin_audit.rules.kit.format import fmt, money_texts, name_list, percent, yuan
from fupin_audit.rules.kit.related import records
from fupin_audit.schema.idnumber import analyse_ids, classify_ids, distinct_texts, text_buffers, weighted_sums

_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_DIGIT_X = _DIGIT.copy()
_DIGIT_X[ord("X")] = True
PREVIOUS = "previous."  # `table` of a finding about a previous snapshot's row
EPSILON = 1e-9  # shares: a rise of exactly 100% is not "more than"
CATEGORY = "监测对象类别"
ELIMINATED = "风险是否已消除"
IDENTIFIED_AT = "识别监测时间"
ELIMINATED_AT = "消除监测时间"
HOUSEHOLD_TYPE = "户类型"
MARRIAGE_RELATIONS = ("配偶", "之儿媳", "之女婿")
DAUGHTERS = ("之女", "之孙女")
MARRIAGE_AGE = 20  # a woman's legal marriage age
WHY = (
    "年度动态调整（贫困户识别、退出、返贫和自然增减）只有把两期数据放在一起才看得清："
    "审计发现的“数字脱贫”“挂靠”“拆户”“应纳未纳”等问题，多数表现为两期之间不合理的变化。"
)
_RISK_COLUMN = re.compile(r"^(致贫|返贫|致贫/返贫|致贫返贫).*风险\d?$")


# ------------------------------------------------------------------------------------ examples

HEAD, WIFE = "340826197001011113", "340826197201012225"
ADULT, FATHER, SON = "340826198301015559", "340826194201011130", "340826199501013333"
BABY, NEW_SON = "340826201803014446", "340827199501013356"


def _h(hid: str, year: int, **values: object) -> dict[str, object]:
    return {"户编号": hid, "年度": year, **values}


def _m(hid: str, year: int, number: str, name: str, relation: str, sex: str = "男") -> dict[str, object]:
    return {
        "户编号": hid,
        "年度": year,
        "姓名": name,
        "证件号码": number,
        "与户主关系": relation,
        "性别": sex,
    }


def _couple(hid: str, year: int) -> list[dict[str, object]]:
    return [_m(hid, year, HEAD, "张建国", "户主"), _m(hid, year, WIFE, "李秀英", "配偶", "女")]


EXAMPLES = {
    "DT101": Example(
        text="上一期户 H1 未脱贫、3 人、人均纯收入 2700 元，本期数据中没有 H1 → DT101（错误）",
        previous={
            "households": [
                _h("H1", 2017, 脱贫状态="未脱贫", 家庭人口数=3, 人均纯收入=2700),
                _h("H2", 2017, 脱贫状态="未脱贫"),
            ]
        },
        records={"households": [_h("H2", 2018, 脱贫状态="未脱贫"), _h("H3", 2018, 脱贫状态="未脱贫")]},
        flagged=("previous.households", 0),
        near_miss={"households": {1: {"户编号": "H1"}}},
        near_miss_text="本期仍有 H1 不报告",
        year=2018,
    ),
    "DT102": Example(
        text="上一期为 2017 年数据，本期新增户 H9 的识别年度 = 2015 → DT102",
        previous={"households": [_h("H1", 2017, 识别年度=2014)]},
        records={"households": [_h("H9", 2018, 识别年度=2015), _h("H1", 2018, 识别年度=2014)]},
        near_miss={"households": {0: {"识别年度": 2017}}},
        near_miss_text="识别年度 = 2017 不报告",
        year=2018,
    ),
    "DT103": Example(
        text="上一期户 H1 有 2 人，本期多了一名 35 岁的之子 → DT103",
        previous={"households": [_h("H1", 2017)], "members": _couple("H1", 2017)},
        records={
            "households": [_h("H1", 2018)],
            "members": [*_couple("H1", 2018), _m("H1", 2018, ADULT, "赵六", "之子")],
        },
        flagged=("members", 2),
        near_miss={"members": {2: {"证件号码": BABY, "与户主关系": "之孙子", "姓名": "张小宝"}}},
        near_miss_text="多出的是 2018 年出生的之孙子（新生儿）不报告",
        year=2018,
    ),
    "DT104": Example(
        text="上一期户 H1 的之父（75 岁）本期不在任何户中，也不在死亡名单上 → DT104",
        previous={
            "households": [_h("H1", 2017)],
            "members": [*_couple("H1", 2017), _m("H1", 2017, FATHER, "张父", "之父")],
        },
        records={
            "households": [_h("H1", 2018)],
            "members": _couple("H1", 2018),
            "rosters": [{"类别": "死亡", "证件号码": ADULT, "姓名": "赵六", "日期": "2018-03-01"}],
        },
        flagged=("previous.members", 2),
        near_miss={"rosters": {0: {"证件号码": FATHER, "姓名": "张父"}}},
        near_miss_text="之父在本期的死亡名单上不报告",
        year=2018,
    ),
    "DT105": Example(
        text="上一期在已脱贫户 H1 的之子，本期成了新增未脱贫户 H7 的户主 → DT105（错误：拆户）",
        previous={
            "households": [_h("H1", 2017, 脱贫状态="已脱贫", 脱贫年度=2016)],
            "members": [*_couple("H1", 2017), _m("H1", 2017, SON, "张强", "之子")],
        },
        records={
            "households": [
                _h("H1", 2018, 脱贫状态="已脱贫", 脱贫年度=2016),
                _h("H7", 2018, 脱贫状态="未脱贫"),
            ],
            "members": [*_couple("H1", 2018), _m("H7", 2018, SON, "张强", "户主")],
        },
        flagged=("members", 2),
        near_miss={"members": {2: {"户编号": "H1", "与户主关系": "之子"}}},
        near_miss_text="仍在 H1 不报告",
        year=2018,
    ),
    "DT106": Example(
        text="上一期 3000 元，2018 年脱贫、本期 6000.01 元（增长 100.0003%）→ DT106",
        previous={"households": [_h("H1", 2017, 脱贫状态="未脱贫", 人均纯收入=3000)]},
        records={"households": [_h("H1", 2018, 脱贫状态="已脱贫", 脱贫年度=2018, 人均纯收入=6000.01)]},
        near_miss={"households": {0: {"人均纯收入": 6000}}},
        near_miss_text="正好 6000 元（增长 100%、增加 3000 元）不报告",
        year=2018,
    ),
    "DT107": Example(
        text="上一期已脱贫，本期脱贫状态 = 未脱贫 → DT107",
        previous={"households": [_h("H1", 2017, 脱贫状态="已脱贫", 脱贫年度=2016)]},
        records={"households": [_h("H1", 2018, 脱贫状态="未脱贫")]},
        near_miss={"households": {0: {"脱贫状态": "返贫"}}},
        near_miss_text="本期 = 返贫 不报告",
        year=2018,
    ),
    "DT108": Example(
        text="上一期脱贫年度 2016，本期 2017 → DT108",
        previous={"households": [_h("H1", 2017, 脱贫状态="已脱贫", 脱贫年度=2016)]},
        records={"households": [_h("H1", 2018, 脱贫状态="已脱贫", 脱贫年度=2017)]},
        near_miss={"households": {0: {"脱贫年度": 2016}}},
        near_miss_text="脱贫年度不变不报告（上一期为空、本期第一次填写也不报告）",
        year=2018,
    ),
    "DT109": Example(
        text="上一期户 H1 的张强（1995-01-01）号码 …3333，本期同户同名同生日的张强号码 …3356 → DT109",
        previous={
            "households": [_h("H1", 2017)],
            "members": [_m("H1", 2017, HEAD, "张建国", "户主"), _m("H1", 2017, SON, "张强", "之子")],
        },
        records={
            "households": [_h("H1", 2018)],
            "members": [_m("H1", 2018, HEAD, "张建国", "户主"), _m("H1", 2018, NEW_SON, "张强", "之子")],
        },
        flagged=("members", 1),
        near_miss={"members": {1: {"姓名": "张伟"}}},
        near_miss_text="姓名不同（另一个人）不报告",
        year=2018,
    ),
    "DT110": Example(
        text="上一期 6000 元、本期已脱贫 4194 元（下降 30.1%）→ DT110",
        previous={"households": [_h("H1", 2017, 脱贫状态="已脱贫", 脱贫年度=2016, 人均纯收入=6000)]},
        records={"households": [_h("H1", 2018, 脱贫状态="已脱贫", 脱贫年度=2016, 人均纯收入=4194)]},
        near_miss={"households": {0: {"人均纯收入": 4200}}},
        near_miss_text="4200 元（正好 30%）不报告",
        year=2018,
    ),
    "DT111": Example(
        text="上一期监测对象类别 = 脱贫不稳定户、风险未消除，本期监测对象类别为空 → DT111",
        previous={
            "households": [_h("H1", 2022, 户类型="脱贫户", 监测对象类别="脱贫不稳定户", 风险是否已消除="否")]
        },
        records={"households": [_h("H1", 2023, 户类型="脱贫户", 监测对象类别=None, 风险是否已消除=None)]},
        near_miss={"households": {0: {"监测对象类别": "脱贫不稳定户", "风险是否已消除": "否"}}},
        near_miss_text="本期仍是监测对象不报告（风险已消除也不报告）",
        year=2023,
    ),
    "DT112": Example(
        text="上一期 识别 202103、消除 202206，本期 识别 202304、风险未消除 → DT112",
        previous={
            "households": [
                _h(
                    "H1",
                    2022,
                    户类型="脱贫户",
                    监测对象类别="脱贫不稳定户",
                    致贫返贫风险1="因病",
                    识别监测时间=202103,
                    风险是否已消除="是",
                    消除监测时间=202206,
                )
            ]
        },
        records={
            "households": [
                _h(
                    "H1",
                    2023,
                    户类型="脱贫户",
                    监测对象类别="脱贫不稳定户",
                    致贫返贫风险1="因学",
                    识别监测时间=202304,
                    风险是否已消除="否",
                    消除监测时间=None,
                )
            ]
        },
        near_miss={"households": {0: {"识别监测时间": 202103}}},
        near_miss_text="本期识别监测时间仍为 202103 不报告（DT107 报告）",
        year=2023,
    ),
}


# How a distributed run (dask_engine, --previous) splits the DT rules, each group one task per bucket:
# a household compared with itself (and its own members), by 户编号; a person followed across
# households, by the person key, with the households of both snapshots the bucket's people belong to;
# DT109 pairs people whose key is in one snapshot only, gathered from every person bucket.
BY_HOUSEHOLD = ("DT101", "DT102", "DT106", "DT107", "DT108", "DT110", "DT111", "DT112")
BY_PERSON = ("DT103", "DT104", "DT105")
BY_RENUMBERING = ("DT109",)


# ------------------------------------------------------------------------------------ statuses


def household_states(ctx: AuditContext) -> pd.DataFrame:
    """Per household row of one snapshot: its status label (未脱贫 / 已脱贫 / 返贫 / 监测 / 消除 / 其他)
    and the flags the DT rules compare. A monitoring flag whose column is absent is False (the
    clause that needs it is not evaluated: see `monitoring_known`)."""

    def compute() -> pd.DataFrame:
        h = ctx.frame("households")
        status = text(h[STATUS]) if STATUS in h else pd.Series("", index=h.index)
        out_of_poverty = exited(h) if STATUS in h else pd.Series(False, index=h.index)
        if HOUSEHOLD_TYPE in h:  # monitoring era: 户类型 = 脱贫户 is an exited household (C4)
            out_of_poverty = out_of_poverty | ((text(h[HOUSEHOLD_TYPE]) == "脱贫户") & (status == ""))
        monitored = as_bool(h, "是否监测对象")
        if CATEGORY in h:
            monitored = monitored | (text(h[CATEGORY]) != "")
        eliminated = monitored & as_bool(h, ELIMINATED)
        open_risk = monitored & is_no(h, ELIMINATED)
        label = np.select(
            [eliminated, monitored, status == "返贫", out_of_poverty, status == "未脱贫"],
            ["消除", "监测", "返贫", "已脱贫", "未脱贫"],
            "其他",
        )
        return pd.DataFrame(
            {
                "label": label,
                "poor": (poor(h) if STATUS in h else False) & ~out_of_poverty,
                "exited": out_of_poverty,
                "monitored": monitored,
                "eliminated": eliminated,
                "open_risk": open_risk,
                "identified": yyyymm(h[IDENTIFIED_AT]) if IDENTIFIED_AT in h else np.nan,
                "eliminated_at": yyyymm(h[ELIMINATED_AT]) if ELIMINATED_AT in h else np.nan,
            },
            index=h.index,
        )

    return ctx.cached("dt.states", compute)


def monitoring_known(ctx: AuditContext) -> bool:
    return ctx.has("households", CATEGORY) or ctx.has("households", "是否监测对象")


def yyyymm(values: pd.Series) -> np.ndarray:
    """识别监测时间-like values as YYYYMM numbers (NaN when unknown): 202304, "2023-04", "2023年4月",
    a date, or YYYYMMDD."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return (values.dt.year * 100 + values.dt.month).to_numpy(dtype="float64", na_value=np.nan)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.astype("float64").to_numpy()
        return np.where(numbers > 999_999, numbers // 100, numbers)
    parts = text(values).str.extract(r"^(\d{4})\D*(\d{1,2})?")
    year = pd.to_numeric(parts[0], errors="coerce")
    month = pd.to_numeric(parts[1], errors="coerce")
    whole = text(values).str.fullmatch(r"\d{6}")
    month = month.where(~whole, pd.to_numeric(text(values).str.slice(4, 6), errors="coerce"))
    return (year * 100 + month).to_numpy(dtype="float64", na_value=np.nan)


def _risks(frame: pd.DataFrame, labels: pd.Index) -> pd.Series:
    """“因病、因学” — the 致贫/返贫风险 slots of the given rows ("无" when none)."""
    columns = [c for c in frame.columns if isinstance(c, str) and _RISK_COLUMN.match(c)]
    out = pd.Series("", index=labels, dtype=object)
    for column in columns:
        values = text(frame.loc[labels, column])
        out = out + np.where((values != "") & (out != ""), "、", "") + values
    return out.where(out != "", "无")


# ------------------------------------------------------------------------------------ matching


@dataclass
class Pair:
    """The two snapshots, with 户编号 and person codes shared by both (-1: none)."""

    cur: AuditContext
    prev: AuditContext
    cur_year: int | None
    prev_year: int | None
    n_households: int
    cur_h: np.ndarray  # per current household row
    prev_h: np.ndarray  # per previous household row
    cur_first: np.ndarray  # per household code: first current household row
    prev_first: np.ndarray
    cur_in_members: np.ndarray  # per household code: any current member row has it
    prev_in_members: np.ndarray
    n_people: int = 0
    cur_mh: np.ndarray | None = None  # per current member row: household code
    prev_mh: np.ndarray | None = None
    cur_p: np.ndarray | None = None  # per current member row: person code
    prev_p: np.ndarray | None = None
    cur_person_first: np.ndarray | None = None  # per person code: first current member row
    prev_person_first: np.ndarray | None = None
    dead: np.ndarray | None = None  # per person code: a death record in either snapshot
    married_out: np.ndarray | None = None  # per person code: on the current 婚嫁迁出 roster
    death_source: bool = False

    def cur_primary(self) -> np.ndarray:
        """Current household rows that are the first of their 户编号 (duplicates are DQ021's)."""
        return (self.cur_h >= 0) & (gather(self.cur_first, self.cur_h, -1) == np.arange(len(self.cur_h)))

    def prev_primary(self) -> np.ndarray:
        return (self.prev_h >= 0) & (gather(self.prev_first, self.prev_h, -1) == np.arange(len(self.prev_h)))

    def cur_match(self) -> np.ndarray:
        """Per current household row: the previous household row of its 户编号 (-1: new)."""
        return gather(self.prev_first, self.cur_h, -1)

    def prev_match(self) -> np.ndarray:
        return gather(self.cur_first, self.prev_h, -1)

    def people(self) -> None:
        """Person codes of both snapshots, computed once, when a member rule first asks."""
        if self.cur_mh is None:
            raise SkipRule("本期或上一期没有家庭成员表（证件号码、户编号）")
        self.cur.cached("dt.people", lambda: _people(self))


def pair(ctx: AuditContext) -> Pair:
    """The matched snapshots; SkipRule when there is no usable previous snapshot."""
    if ctx.previous is None:
        raise SkipRule("没有 --previous 上一期数据")
    fatal = [d.message for d in compare_snapshots(ctx) if d.level == "error"]
    if fatal:
        raise SkipRule("两期数据不能比较：" + "；".join(fatal))
    return ctx.cached("dt.pair", lambda: _pair(ctx, ctx.previous))


def _pair(cur: AuditContext, prev: AuditContext) -> Pair:
    (cur_h, cur_mh), (prev_h, prev_mh), n = household_join(cur)
    out = Pair(
        cur, prev, cur.audit_year(), prev.audit_year(), n, cur_h, prev_h, first_rows(cur_h, n),
        first_rows(prev_h, n), np.zeros(n, dtype=bool), np.zeros(n, dtype=bool),
    )  # fmt: skip
    if cur_mh is None or prev_mh is None:
        return out
    out.cur_mh, out.prev_mh = cur_mh, prev_mh
    out.cur_in_members[cur_mh[cur_mh >= 0]] = True
    out.prev_in_members[prev_mh[prev_mh >= 0]] = True
    return out


def _people(out: Pair) -> bool:
    cur, prev = out.cur, out.prev
    numbers = [
        person_numbers(cur), person_numbers(prev), _death_numbers(cur), _death_numbers(prev),
        _roster_numbers(cur, "婚嫁迁出"),
    ]  # fmt: skip
    people, m = _joint_numbers(numbers)
    out.n_people = m
    out.cur_p, out.prev_p = people[0], people[1]
    out.cur_person_first, out.prev_person_first = first_rows(people[0], m), first_rows(people[1], m)
    out.dead = np.zeros(m, dtype=bool)
    for codes_ in people[2:4]:
        out.dead[codes_[codes_ >= 0]] = True
    out.married_out = np.zeros(m, dtype=bool)
    out.married_out[people[4][people[4] >= 0]] = True
    whole = _whole_pair(cur)
    out.death_source = whole.death_source if whole else _has_deaths(cur) or _has_deaths(prev)
    return True


def _whole_pair(ctx: AuditContext) -> WholePair | None:
    """The whole pair's answers, when `ctx` holds one bucket of it (Dask)."""
    return None if ctx.whole is None else ctx.whole.pair


def _has_deaths(ctx: AuditContext) -> bool:
    from fupin_audit.facts.deaths import has_death_source

    return has_death_source(ctx)


def _death_numbers(ctx: AuditContext) -> np.ndarray:
    """Person numbers with a death record in this snapshot: the 死亡 roster, 死亡日期 or 是否死亡."""
    parts = [_roster_numbers(ctx, "死亡")]
    if ctx.has("members", ID):
        members = ctx.frame("members")
        dead = as_bool(members, "是否死亡")
        if "死亡日期" in members:
            dead = dead | members["死亡日期"].notna()
        parts.append(person_numbers(ctx)[dead.to_numpy()])
    return np.concatenate(parts)


def _roster_numbers(ctx: AuditContext, category: str) -> np.ndarray:
    if not ctx.has("rosters", ID, "类别"):
        return np.empty(0, dtype=np.int64)
    on = (text(ctx.frame("rosters")["类别"]) == category).to_numpy()
    return person_numbers(ctx, "rosters")[on]


# ------------------------------------------------------------------------------------ keys
# Each snapshot's keys are computed once and cached on its own context; joining two snapshots is then
# an integer hash join (pd.factorize over int64), never a comparison of texts row by row.


def person_numbers(ctx: AuditContext, kind: str = "members") -> np.ndarray:
    """Per row of `kind`: the person its 证件号码 names as one int64 (-1: nobody) — the person key of
    `facts.keys.person_keys` (normalised, 15-digit numbers upgraded, a 残疾人证号 cut to its 18-digit ID;
    placeholders, Excel-damaged and malformed numbers name nobody) without the whole ID analysis:
    the plain 18-digit numbers, nearly all of them, are read straight from their bytes, and only the
    others are classified."""

    def compute() -> np.ndarray:
        table = ctx.table(kind, ID)
        numbers = _id_numbers(table.raw[ID])
        if not table.raw.index.equals(table.data.index):  # as person_keys: aligned on the typed rows
            numbers = pd.Series(numbers, index=table.raw.index).reindex(table.data.index, fill_value=-1)
            numbers = numbers.to_numpy(dtype=np.int64)
        return numbers

    return ctx.cached(f"dt.person_numbers.{kind}", compute)


def _id_numbers(raw: pd.Series) -> np.ndarray:
    codes, uniques = distinct_texts(raw)
    numbers = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the last slot: an empty cell
    if len(uniques):
        offsets, data = text_buffers(uniques)
        plain = np.flatnonzero(np.diff(offsets) == 18)
        chars = _byte_columns(data, offsets[plain], 18)
        ok = _DIGIT[chars[:, :17]].all(axis=1) & _DIGIT_X[chars[:, 17]]
        plain, chars = plain[ok], chars[ok]
        numbers[plain] = _key_number(chars)
        # what `_Unique` says of such a number: a placeholder (one digit repeated, 999999…), or a
        # number Excel rounded (ends in 000 with a wrong check character), names nobody
        same = (chars == chars[:, :1]).all(axis=1)
        nines = (chars[:, :6] == ord("9")).all(axis=1)
        rounded = np.flatnonzero((chars[:, 15:18] == ord("0")).all(axis=1))
        rounded = rounded[_check_bytes(chars[rounded, :17]) != chars[rounded, 17]]
        numbers[plain[same | nines]] = -1
        numbers[plain[rounded]] = -1
        other = np.ones(len(uniques), dtype=bool)
        other[plain] = False
        if other.any():  # spaces, full-width digits, 15 or 20 digits, junk: the full classification
            rest = np.flatnonzero(other)
            numbers[rest] = _classified_numbers(pc.take(uniques, pa.array(rest)))
    return numbers[np.where(codes < 0, len(uniques), codes)]


def usable_keys(raw: pd.Series) -> pd.Series:
    """`facts.keys.person_keys` of some ID cells (NA: names nobody), for the few rows a message shows."""
    keys = classify_ids(raw)
    kind = keys["kind"].astype(str)
    key = keys["normalized"].astype(str).where(kind != "id15", keys["upgraded"].astype(str))
    return key.where(kind != "disability20", key.str.slice(0, 18)).where(kind.isin(USABLE_ID_KINDS))


def _classified_numbers(values: pa.Array) -> np.ndarray:
    key = usable_keys(pd.Series(values.to_pandas(), dtype=object))
    out = np.full(len(values), -1, dtype=np.int64)
    usable = np.flatnonzero(key.notna().to_numpy())
    if len(usable):
        chars = np.frombuffer("".join(key.iloc[usable]).encode("ascii"), dtype=np.uint8)
        out[usable] = _key_number(chars.reshape(len(usable), 18))
    return out


def _byte_columns(data: np.ndarray, starts: np.ndarray, width: int) -> np.ndarray:
    """Bytes starts[i] … starts[i] + width - 1 of each text as an (n, width) matrix: a view when the
    texts lie end to end (every distinct ID of the column 18 characters long), else one gather per
    column."""
    if (
        len(starts)
        and (starts[-1] - starts[0]) == (len(starts) - 1) * width
        and (np.diff(starts) == width).all()
    ):
        return data[starts[0] : starts[0] + len(starts) * width].reshape(len(starts), width)
    out = np.empty((len(starts), width), dtype=np.uint8)
    for j in range(width):
        out[:, j] = data[starts + j]
    return out


def _key_number(chars: np.ndarray) -> np.ndarray:
    """18 ASCII characters (17 digits, then a digit or X) as one int64: distinct keys, distinct numbers."""
    value = np.zeros(len(chars), dtype=np.int64)
    for j in range(17):
        value = value * 10 + (chars[:, j] - np.uint8(48))
    return value * 11 + np.where(chars[:, 17] == ord("X"), 10, chars[:, 17] - np.uint8(48)).astype(np.int64)


def _check_bytes(body: np.ndarray) -> np.ndarray:
    """GB 11643 check character of 17-digit bodies (as bytes)."""
    return np.frombuffer(b"10X98765432", dtype=np.uint8)[weighted_sums(body - np.uint8(48)) % 11]


def _joint_numbers(columns: list[np.ndarray]) -> tuple[list[np.ndarray], int]:
    """Codes 0…n-1 shared by int64 columns (equal numbers, equal codes; -1 stays -1)."""
    joined = np.concatenate(columns) if columns else np.empty(0, dtype=np.int64)
    codes = np.full(len(joined), -1, dtype=np.int64)
    valid = joined >= 0
    found, uniques = pd.factorize(joined[valid])
    codes[valid] = found
    bounds = np.cumsum([0, *(len(c) for c in columns)])
    return [codes[bounds[i] : bounds[i + 1]] for i in range(len(columns))], len(uniques)


@dataclass
class LocalCodes:
    """One snapshot's 户编号: a code per row of its households and of its members (None: no members
    table) and the distinct 户编号 in code order."""

    households: np.ndarray
    members: np.ndarray | None
    values: pd.Series


def household_codes_of(ctx: AuditContext) -> LocalCodes:
    def compute() -> LocalCodes:
        columns = [ctx.frame("households")[HID]]
        with_members = ctx.has("members", HID, ID)
        if with_members:
            columns.append(ctx.frame("members")[HID])
        codes, n = joint_codes(*columns)
        joined = pd.concat(columns, ignore_index=True)
        first = first_rows(np.concatenate(codes), n)
        values = text(joined.iloc[first]).reset_index(drop=True)
        return LocalCodes(codes[0], codes[1] if with_members else None, values)

    return ctx.cached("dt.household_codes", compute)


def household_join(ctx: AuditContext) -> tuple[tuple, tuple, int]:
    """户编号 codes shared by the current snapshot and the previous one: ((households, members) of the
    current, the same of the previous, n). The distinct 户编号 of each snapshot are joined, and each
    row's code is taken from its own snapshot's (cached) codes by one gather."""

    def compute():
        cur, prev = household_codes_of(ctx), household_codes_of(ctx.previous)
        (to_cur, to_prev), n = joint_codes(cur.values, prev.values)
        return (
            tuple(None if c is None else gather(to_cur, c, -1) for c in (cur.households, cur.members)),
            tuple(None if c is None else gather(to_prev, c, -1) for c in (prev.households, prev.members)),
            n,
        )

    return ctx.cached("dt.household_join", compute)


# ------------------------------------------------------------------------------------ snapshot checks


def compare_snapshots(ctx: AuditContext) -> list[Diagnostic]:
    """What is wrong with the pair as a whole: errors make every DT rule skip (different counties,
    the previous snapshot later than this one, no 户编号 in common); warnings say what is compared
    less (duplicate 户编号, columns only one snapshot has). A context holding one bucket of the pair
    is given the whole pair's answer (`WholePair.checks`)."""
    if ctx.whole is not None and ctx.whole.pair is not None:
        return list(ctx.whole.pair.checks)

    def compute() -> list[Diagnostic]:
        prev = ctx.previous
        if prev is None:
            return []
        facts = [snapshot_facts([snapshot_part(c)], c.audit_year()) for c in (ctx, prev)]
        return pair_checks(facts[0], facts[1], lambda: household_overlap(ctx))

    return ctx.cached("dt.compare", compute)


@dataclass(frozen=True)
class SnapshotPart:
    """What the pair checks need to know of one part of a snapshot (the whole of it, or one Dask
    partition), summed over the parts by `snapshot_facts`."""

    households: bool  # a households table with 户编号
    exported: str | None  # the latest 导出时间 of a title row
    counties: dict[str, frozenset[str]]  # households / members → 县 values
    fields: dict[str, frozenset[str]]  # the COMPARED tables present → their fields
    death_source: bool
    reference: dict[str, pd.Timestamp | None]  # members / households → the latest reference date
    # households per township (县 + 乡, 县 "" without that column); empty without a 乡 column
    townships: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class SnapshotFacts:
    households: bool
    year: int | None
    exported: str | None
    counties: frozenset[str]
    fields: dict[str, frozenset[str]]
    death_source: bool
    reference: pd.Timestamp | None  # the snapshot's reference date (see `_reference`)
    townships: dict[tuple[str, str], int] = dataclasses.field(default_factory=dict)


def snapshot_part(ctx: AuditContext) -> SnapshotPart:
    dates = [pd.Timestamp(d).strftime("%Y-%m-%d") for d in ctx.dataset.title_dates.values()]
    counties = {
        kind: frozenset(set(text(ctx.frame(kind)["县"]).unique()) - {""})
        if ctx.has(kind, "县")
        else frozenset()
        for kind in ("households", "members")
    }
    reference: dict[str, pd.Timestamp | None] = {}
    for kind in ("members", "households"):
        if ctx.has(kind):
            found = ctx.reference_date(kind).dropna()
            reference[kind] = pd.Timestamp(found.max()) if len(found) else None
    return SnapshotPart(
        "households" in ctx.dataset.tables and ctx.has("households", HID),
        max(dates, default=None),
        counties,
        {kind: ctx.dataset.tables[kind].fields for kind in COMPARED if kind in ctx.dataset.tables},
        _has_deaths(ctx),
        reference,
        _townships(ctx),
    )


def _townships(ctx: AuditContext) -> dict[tuple[str, str], int]:
    """Households per (县, 乡) of the households table (one value_counts over the two columns)."""
    if not ctx.has("households", "乡"):
        return {}
    frame = ctx.frame("households")
    town = text(frame["乡"])
    county = text(frame["县"]) if "县" in frame else pd.Series("", index=frame.index)
    counts = pd.DataFrame({"县": county.to_numpy(), "乡": town.to_numpy()}).value_counts()
    return {(str(c), str(t)): int(n) for (c, t), n in counts.items() if t != ""}


def snapshot_facts(parts: list[SnapshotPart], year: int | None) -> SnapshotFacts:
    """One snapshot's facts from those of its parts."""
    fields: dict[str, frozenset[str]] = {}
    counties: dict[str, set[str]] = {"households": set(), "members": set()}
    reference: pd.Timestamp | None = None
    for part in parts:
        for kind, names in part.fields.items():
            fields[kind] = fields.get(kind, frozenset()) | names
        for kind, values in part.counties.items():
            counties[kind] |= values
    for kind in ("members", "households"):  # the first table with any date, as `_reference`
        dates = [d for part in parts if (d := part.reference.get(kind)) is not None]
        if dates:
            reference = max(dates)
            break
    exported = [p.exported for p in parts if p.exported is not None]
    townships: dict[tuple[str, str], int] = {}
    for part in parts:
        for key, n in part.townships.items():
            townships[key] = townships.get(key, 0) + n
    return SnapshotFacts(
        any(p.households for p in parts),
        year,
        max(exported, default=None),
        frozenset(counties["households"] or counties["members"]),
        fields,
        any(p.death_source for p in parts),
        reference,
        townships,
    )


@dataclass
class HouseholdOverlap:
    """户编号 of the two snapshots' household tables: whether each has any, whether any is in both,
    and per snapshot (本期, 上一期) the repeated ones: how many, and (position, 户编号) of the first
    rows of the first three — a position orders rows as the whole table does."""

    current: bool = False
    previous: bool = False
    shared: bool = False
    repeated: dict[str, tuple[int, list[tuple[Any, str]]]] = dataclasses.field(default_factory=dict)

    def add(self, other: HouseholdOverlap) -> None:
        self.current |= other.current
        self.previous |= other.previous
        self.shared |= other.shared
        for label, (count, first) in other.repeated.items():
            total, rows = self.repeated.get(label, (0, []))
            self.repeated[label] = (total + count, sorted([*rows, *first])[:3])


def household_overlap(ctx: AuditContext) -> HouseholdOverlap:
    """`HouseholdOverlap` of the pair `ctx` holds."""
    (cur_codes, _), (prev_codes, _), n = household_join(ctx)
    hids = [c.frame("households")[HID] for c in (ctx, ctx.previous)]
    return overlap_of(cur_codes, prev_codes, n, hids[0], hids[1])


def overlap_of(
    cur_codes: np.ndarray,
    prev_codes: np.ndarray,
    n: int,
    cur_hids: pd.Series,
    prev_hids: pd.Series,
    order: list[list[Any]] | None = None,
) -> HouseholdOverlap:
    """`HouseholdOverlap` from the household rows' shared 户编号 codes; `order`: per snapshot, each row's
    position in the whole table (default: its position here)."""
    shared = (count_per_code(cur_codes, n) > 0) & (count_per_code(prev_codes, n) > 0)
    out = HouseholdOverlap(bool((cur_codes >= 0).any()), bool((prev_codes >= 0).any()), bool(shared.any()))
    for i, (label, hids, codes) in enumerate(
        (("本期", cur_hids, cur_codes), ("上一期", prev_hids, prev_codes))
    ):
        repeated = np.flatnonzero(count_per_code(codes, n) > 1)
        if len(repeated):
            first = np.sort(first_rows(codes, n)[repeated])[:3]  # the first three in the file
            shown = list(text(hids.iloc[first]))
            where = first.tolist() if order is None else [order[i][j] for j in first]
            out.repeated[label] = (len(repeated), sorted(zip(where, shown, strict=True)))
    return out


def pair_checks(
    cur: SnapshotFacts, prev: SnapshotFacts, overlap: Callable[[], HouseholdOverlap] | HouseholdOverlap
) -> list[Diagnostic]:
    """`compare_snapshots` from the two snapshots' facts (each whole), for either engine."""
    if not prev.households:
        return [Diagnostic("error", "上一期数据没有可识别的户表（户编号）")]
    if not cur.households:
        return [Diagnostic("error", "本期数据没有可识别的户表（户编号）")]
    out: list[Diagnostic] = []
    if cur.year is not None and prev.year is not None and prev.year > cur.year:
        out.append(
            Diagnostic(
                "error", f"上一期数据年度 {prev.year} 晚于本期 {cur.year}（--previous 应是较早的一期）"
            )
        )
    if cur.year == prev.year and cur.exported and prev.exported and prev.exported > cur.exported:
        out.append(
            Diagnostic(
                "error",
                f"上一期数据导出时间 {prev.exported} 晚于本期 {cur.exported}（--previous 应是较早的一期）",
            )
        )
    if cur.counties and prev.counties and not cur.counties & prev.counties:
        out.append(
            Diagnostic(
                "error",
                f"两期数据不是同一个县：本期 {name_list(sorted(cur.counties), 3)}，"
                f"上一期 {name_list(sorted(prev.counties), 3)}",
            )
        )
    both = overlap if isinstance(overlap, HouseholdOverlap) else overlap()
    if both.current and both.previous and not both.shared:
        out.append(Diagnostic("error", "两期户表没有一个相同的户编号（不是同一个县，或户编号整体改变）"))
    for label in ("本期", "上一期"):
        if label in both.repeated:
            count, first = both.repeated[label]
            out.append(
                Diagnostic(
                    "warning",
                    f"{label}户表有 {count} 个户编号重复（{name_list([hid for _, hid in first], 3)}），"
                    "两期比对时按每个户编号的第一行",
                )
            )
    if prev.year is None and cur.year is not None:
        out.append(
            Diagnostic(
                "warning",
                "上一期数据的年度不详（没有年度列，标题行也没有年份）：DT102 不检查，上一期成员的年龄不详；"
                "请用 --previous-year 指定",
            )
        )
    out.extend(_layout_changes(cur.fields, prev.fields))
    out.extend(_coverage_changes(cur.townships, prev.townships))
    return out


def _coverage_changes(cur: dict[tuple[str, str], int], prev: dict[tuple[str, str], int]) -> list[Diagnostic]:
    """A township with households in one snapshot and none in the other, while the two share others: a
    file left out of one year (or a township renamed or merged). Its households would otherwise only
    show as DT101 (gone) or DT102 (new) findings, one per household."""
    if not cur or not prev or not set(cur) & set(prev):
        return []
    out = []
    for which, here, there, findings in (
        ("上一期有、本期没有", prev, cur, "DT101（户在本期消失）"),
        ("本期有、上一期没有", cur, prev, "DT102（新增户）"),
    ):
        missing = sorted(k for k in here if k not in there)
        if not missing:
            continue
        shown = name_list([f"{c}{t}（{here[(c, t)]} 户）" for c, t in missing], 5)
        out.append(
            Diagnostic(
                "warning",
                f"两期数据覆盖的乡镇不同：{which}的乡镇 {shown}。可能少给了这一期该乡镇的文件（或乡镇改名、合并）；"
                f"这些户的 {findings}发现请先核对输入",
            )
        )
    return out


# Fields the DT rules compare: a field only one snapshot has is a clause not evaluated.
COMPARED = {
    "households": (STATUS, INCOME, "识别年度", "脱贫年度", "家庭人口数", HOUSEHOLD_TYPE, CATEGORY, ELIMINATED,
                   IDENTIFIED_AT, ELIMINATED_AT, "是否监测对象"),
    "members": (ID, "姓名", "与户主关系", "人口编号", "出生日期"),
}  # fmt: skip


def _layout_changes(cur: dict[str, frozenset[str]], prev: dict[str, frozenset[str]]) -> list[Diagnostic]:
    out = []
    for kind, fields in COMPARED.items():
        if kind not in cur or kind not in prev:
            continue
        now, before = cur[kind], prev[kind]
        gone = [f for f in fields if f in before and f not in now]
        added = [f for f in fields if f in now and f not in before]
        for which, names in (("上一期有、本期没有", gone), ("本期有、上一期没有", added)):
            if names:
                out.append(
                    Diagnostic(
                        "warning",
                        f"两期 {kind} 表的列不同（表样变化）：{which}的列 {'、'.join(names)}，"
                        "用到这些列的两期比对不进行",
                    )
                )
    return out


def snapshot_diagnostics(ctx: AuditContext) -> list[Diagnostic]:
    """For the run's diagnostics (audit.py): the pair checks, and the previous snapshot's own."""
    if ctx.previous is None:
        return []
    own = [
        Diagnostic(d.level, "上一期数据：" + d.message, d.file, d.sheet)
        for d in ctx.previous.dataset.diagnostics
    ]
    return own + [Diagnostic(d.level, "两期比对：" + d.message) for d in compare_snapshots(ctx)]


# ------------------------------------------------------------------------------------ helpers


def _both(pair: Pair, field: str) -> tuple[pd.Series, pd.Series]:
    """A household field of the current rows, and the same field of each row's previous record
    (NA where the household is new). SkipRule when either snapshot lacks the column."""
    cur, prev = pair.cur.frame("households"), pair.prev.frame("households")
    if field not in cur or field not in prev:
        raise SkipRule(f"{'本期' if field not in cur else '上一期'}户表没有 {field} 列")
    return cur[field], _from_previous(pair, prev[field])


def _from_previous(pair: Pair, values: pd.Series | np.ndarray) -> pd.Series:
    """Previous-snapshot household values taken to the current household rows (NA: no match)."""
    index = pair.cur.frame("households").index
    match = pair.cur_match()
    source = pd.Series(values).reset_index(drop=True)
    taken = source.reindex(np.where(match >= 0, match, len(source)))
    return pd.Series(taken.to_numpy(), index=index, dtype=source.dtype)


def _previous_states(pair: Pair) -> pd.DataFrame:
    """`household_states` of the previous snapshot taken to the current household rows."""
    states = household_states(pair.prev).reset_index(drop=True)
    match = pair.cur_match()
    taken = states.reindex(np.where(match >= 0, match, len(states)))
    taken.index = pair.cur.frame("households").index
    for column in ("poor", "exited", "monitored", "eliminated", "open_risk"):
        taken[column] = taken[column].fillna(False).astype(bool)
    taken["label"] = taken["label"].fillna("")
    return taken


def _related_previous(
    pair: Pair, kind: str, positions: np.ndarray, labels: pd.Index, values: dict[str, pd.Series] | None = None
) -> pd.Series:
    """Per flagged current row (`labels`): JSON naming the previous snapshot's record at `positions`
    (file, sheet, row and who it is), with the compared `values` (label-aligned)."""
    frame = pair.prev.frame(kind)
    prev_labels = frame.index[positions]
    recs = records(pair.prev, kind, pd.Index(prev_labels).unique())
    out = {}
    for i, (label, prev_label) in enumerate(zip(labels, prev_labels, strict=True)):
        record = {"snapshot": "previous", **recs[prev_label]}
        for key, series in (values or {}).items():
            value = series.iloc[i]
            if value is not None and not (not isinstance(value, str) and pd.isna(value)):
                record[key] = value if isinstance(value, str | int) else _plain(value)
        out[label] = related_json([record])
    return pd.Series(out, dtype=object).reindex(labels)


def _plain(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return round(float(value), 2)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _on_previous(frame: pd.DataFrame) -> pd.DataFrame:
    """Findings about previous-snapshot rows say so in `table`."""
    if len(frame):
        frame["table"] = PREVIOUS + frame["table"].astype(str)
    return frame


def _year(value: int | None) -> str:
    return "?" if value is None else str(value)


def _period(label: str, year: int | None) -> str:
    """“上一期（2017 年）”, or “上一期（年度不详）” when the snapshot has no data year."""
    return f"{label}（年度不详）" if year is None else f"{label}（{year} 年）"


def _periods(pair: Pair) -> str:
    return _period("上一期", pair.prev_year)


def _person_names(ctx: AuditContext, labels: pd.Index) -> pd.Series:
    members = ctx.frame("members")
    names = text(members.loc[labels, "姓名"]) if "姓名" in members else pd.Series("", index=labels)
    return names.where(names != "", "（无姓名）").astype(object)


def _relations(ctx: AuditContext, labels: pd.Index) -> pd.Series:
    members = ctx.frame("members")
    if "与户主关系" not in members:
        return pd.Series("关系未填", index=labels, dtype=object)
    values = text(members.loc[labels, "与户主关系"])
    # a value off the code list is emptied by validation (DQ003 reports it): show it as written
    raw = ctx.table("members").raw
    if "与户主关系" in raw:
        written = text(raw.loc[labels, "与户主关系"])
        values = values.where((values != "") | (written == ""), "与户主关系“" + written + "”")
    return values.where(values != "", "关系未填").astype(object)


def _births(ctx: AuditContext, labels: pd.Index) -> pd.Series:
    """`member_birth(ctx)["birth"]` of some member rows: the whole table's when a rule has computed it
    (the current snapshot of a full check), else only these rows' — the few people added, removed
    or renumbered — so that comparing two snapshots never analyses every ID of the previous one."""
    if ctx.is_cached("members.birth"):
        return member_birth(ctx)["birth"].loc[labels]
    table = ctx.table("members")
    births = pd.Series(pd.NaT, index=labels, dtype="datetime64[ns]")
    if table.has(ID):
        births = pd.to_datetime(analyse_ids(table.raw[ID].loc[labels])["birth_date"]).astype("datetime64[ns]")
    if table.has("出生日期"):
        written = pd.to_datetime(table.data.loc[labels, "出生日期"]).astype("datetime64[ns]")
        births = births.where(births.notna(), written)
    return births


def _ages(ctx: AuditContext, labels: pd.Index) -> pd.Series:
    """`member_ages` of some member rows (NA: unknown, or no data year to count from)."""
    if ctx.is_cached("members.ages"):
        return member_ages(ctx).loc[labels]
    unknown = pd.Series(pd.NA, index=labels, dtype="Int64")
    if ctx.data_year("members").isna().all() or not ctx.has("members") or not len(labels):
        return unknown
    if not ctx.has("members", ID) and not ctx.has("members", "出生日期"):
        return unknown
    ages = ctx.ages_of("members", _births(ctx, labels))
    return ages.where(ages >= 0)


def _age_texts(ages: pd.Series) -> pd.Series:
    return fmt(ages, lambda a: f"{int(a)} 岁").where(ages.notna(), "年龄不详")


def _household_ids(ctx: AuditContext, kind: str, labels: pd.Index) -> pd.Series:
    return text(ctx.frame(kind).loc[labels, HID]).astype(object)


# ------------------------------------------------------------------------------------ DT101


@rule(
    "DT101",
    "上一期的户在本期消失",
    severity="warning",
    needs=("households",),
    columns={"households": (HID,)},
    previous=("households",),
    what="上一期户表中的户编号在本期户表中不存在。上一期为未脱贫/返贫，或是风险未消除（风险是否已消除 = 否）的"
    "监测对象时为错误（贫困户、监测户不能无故消失），其余为警告。问题指向上一期的行（table = previous.households），"
    "消息给出该户上一期的状态、人数和人均纯收入；该户成员均有死亡记录（任一期的死亡名单、死亡日期或是否死亡 = 是）时，"
    "消息注明自然减少，请核对销户依据。",
    why=WHY + " 贫困户“悄悄消失”是数字脱贫、应纳未纳的典型手法：户的注销必须有自然减少（死亡、迁出）等依据。",
    example=EXAMPLES["DT101"],
)
def dt101(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    gone = p.prev_primary() & (p.prev_match() < 0)
    frame = p.prev.frame("households")
    labels = frame.index[gone]
    states = household_states(p.prev).loc[labels]
    grave = (states["poor"] | states["open_risk"]).to_numpy()
    size = _previous_sizes(p, gone)
    income = money_texts(frame.loc[labels, INCOME]) if INCOME in frame else pd.Series("?", index=labels)
    deceased = _all_members_dead(p, p.prev_h[gone])
    reason = np.where(
        deceased, "；其成员均有死亡记录（自然减少），请核对销户依据",
        np.where(grave, "；贫困户/风险未消除的监测户不能无故消失", ""),
    )  # fmt: skip
    message = (
        _periods(p) + "的户 " + _household_ids(p.prev, "households", labels) + " 在" + _period("本期", p.cur_year)
        + "数据中不存在：上一期状态 " + states["label"].astype(object) + "，" + size + "，人均纯收入 "
        + income + " 元" + reason
    )  # fmt: skip
    found = p.prev.flag("households", labels, message, column=HID)
    found["severity"] = np.where(grave, "error", "warning")
    return _on_previous(found)


def _all_members_dead(p: Pair, households: np.ndarray) -> np.ndarray:
    """Per given previous household code: it had member rows and every one names a person with a death
    record (either snapshot's 死亡 roster, 死亡日期 or 是否死亡): the household ended by 自然减少."""
    if p.prev_mh is None or not len(households):
        return np.zeros(len(households), dtype=bool)
    try:
        p.people()
    except SkipRule:
        return np.zeros(len(households), dtype=bool)
    rows = p.prev_mh >= 0
    dead = gather(p.dead, p.prev_p, False).astype(bool)
    members = np.bincount(p.prev_mh[rows], minlength=p.n_households)
    deaths = np.bincount(p.prev_mh[rows & dead], minlength=p.n_households)
    return gather((members > 0) & (deaths == members), households, False).astype(bool)


def _previous_sizes(p: Pair, rows: np.ndarray) -> pd.Series:
    """“3 人” per flagged previous household: 家庭人口数, else its member rows, else “人数不详”."""
    frame = p.prev.frame("households")
    labels = frame.index[rows]
    size = frame.loc[labels, "家庭人口数"] if "家庭人口数" in frame else pd.Series(np.nan, index=labels)
    size = size.astype("float64")
    if p.prev_mh is not None:
        counted = np.bincount(p.prev_mh[p.prev_mh >= 0], minlength=p.n_households).astype("float64")
        by_members = pd.Series(gather(counted, p.prev_h[rows], np.nan), index=labels)
        size = size.fillna(by_members.where(by_members > 0))
    return fmt(size, lambda v: f"{int(v)} 人").where(size.notna(), "人数不详")


# ------------------------------------------------------------------------------------ DT102


@rule(
    "DT102",
    "本期新增户识别时间早于上一期（倒签识别）",
    severity="error",
    needs=("households",),
    columns={"households": (HID,)},
    previous=("households",),
    what="本期新出现的户编号（上一期户表中没有），其识别年度早于上一期的数据年度，或识别监测时间的年份早于"
    "上一期的数据年度：按登记的时间它应当出现在上一期数据中。识别年度、识别监测时间两列都没有时不检查。",
    why=WHY + " 识别时间倒签，是为了让新纳入的户看起来“早已在册”、补足帮扶时长或脱贫年限。",
    example=EXAMPLES["DT102"],
)
def dt102(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    h = ctx.frame("households")
    if "识别年度" not in h and IDENTIFIED_AT not in h:
        raise SkipRule("本期户表没有识别年度或识别监测时间列")
    if p.prev_year is None:
        raise SkipRule("上一期数据没有年度列，也没有指定 --previous-year")
    new = p.cur_primary() & (p.cur_match() < 0)
    year = h["识别年度"].astype("float64") if "识别年度" in h else pd.Series(np.nan, index=h.index)
    month = household_states(ctx)["identified"].astype("float64")
    by_year = new & (year < p.prev_year).fillna(False).to_numpy()
    by_month = new & ~by_year & (month // 100 < p.prev_year).fillna(False).to_numpy()
    out = []
    for rows, field, shown in ((by_year, "识别年度", year), (by_month, IDENTIFIED_AT, month)):
        labels = h.index[rows]
        message = (
            "本期新增的户 " + _household_ids(ctx, "households", labels) + f" 的{field} "
            + fmt(shown[labels], lambda v: str(int(v))) + f" 早于上一期数据年度 {p.prev_year}，"
            "却不在上一期数据中（倒签识别）"
        )  # fmt: skip
        out.append(ctx.flag("households", labels, message, column=field))
    return out


# ------------------------------------------------------------------------------------ members


@dataclass
class MemberMoves:
    """Per current member row and per previous member row: where the person was / went."""

    same_household_before: np.ndarray  # cur rows: the person was in this 户编号 in the previous snapshot
    known_before: np.ndarray  # cur rows: the person is in some previous household
    origin: np.ndarray  # cur rows: the person's first previous member row (-1)
    same_household_now: np.ndarray  # prev rows: the person is in that 户编号 now
    known_now: np.ndarray  # prev rows: the person is in some current household
    renumbered_cur: np.ndarray  # cur rows matched by DT109 (an ID changed)
    renumbered_prev: np.ndarray  # prev rows matched by DT109


def member_moves(ctx: AuditContext) -> MemberMoves:
    def compute() -> MemberMoves:
        p = pair(ctx)
        p.people()
        cur_person = gather(p.prev_person_first, p.cur_p, -1)
        whole = _whole_pair(ctx)
        renumbered = _NO_PAIRS if whole and whole.renumbered_elsewhere else renumbered_people(ctx)
        return MemberMoves(
            same_household_before=_in_household(p.cur_p, p.cur_mh, p.prev_p, p.prev_mh, p.n_people),
            known_before=cur_person >= 0,
            origin=cur_person,
            same_household_now=_in_household(p.prev_p, p.prev_mh, p.cur_p, p.cur_mh, p.n_people),
            known_now=gather(p.cur_person_first, p.prev_p, -1) >= 0,
            renumbered_cur=_marked(len(p.cur_p), renumbered["cur"].to_numpy()),
            renumbered_prev=_marked(len(p.prev_p), renumbered["prev"].to_numpy()),
        )

    return ctx.cached("dt.moves", compute)


_NO_PAIRS = pd.DataFrame({"cur": np.empty(0, dtype=np.int64), "prev": np.empty(0, dtype=np.int64)})


def _marked(n: int, positions: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=bool)
    out[positions] = True
    return out


def _in_household(
    people: np.ndarray, homes: np.ndarray, other_people: np.ndarray, other_homes: np.ndarray, n: int
) -> np.ndarray:
    """Per row (person, household): the other snapshot has the same person in the same household.
    One gather of each person's (first) household there; the few people listed in several
    households there are looked up pairwise."""
    first = first_rows(other_people, n)
    home = gather(gather(other_homes, first, -1) if len(other_homes) else first, people, -2)
    known = (people >= 0) & (homes >= 0)
    out = known & (home == homes)
    several = count_per_code(other_people, n) > 1
    check = known & ~out & gather(several, people, False).astype(bool)
    if check.any():
        width = np.int64(max(int(homes.max(initial=0)), int(other_homes.max(initial=0))) + 1)
        listed = gather(several, other_people, False).astype(bool) & (other_homes >= 0)
        theirs = other_people[listed] * width + other_homes[listed]
        out[check] = np.isin(people[check] * width + homes[check], theirs)
    return out


def _household_exists_now(p: Pair, codes: np.ndarray) -> np.ndarray:
    safe = np.where(codes >= 0, codes, 0)
    return (codes >= 0) & ((p.cur_first[safe] >= 0) | p.cur_in_members[safe])


def _household_existed(p: Pair, codes: np.ndarray) -> np.ndarray:
    safe = np.where(codes >= 0, codes, 0)
    return (codes >= 0) & ((p.prev_first[safe] >= 0) | p.prev_in_members[safe])


def _newborn(ctx: AuditContext, p: Pair, labels: pd.Index, ages: pd.Series) -> np.ndarray:
    """Per current member row in `labels` (`ages` theirs): age 0 at the current reference date, or
    born after the previous snapshot's reference date (so that it could not be in it)."""
    young = (ages == 0).fillna(False).to_numpy(dtype=bool)
    whole = _whole_pair(ctx)
    before = whole.previous_reference if whole else _reference(p.prev)
    if before is not None:
        young |= (_births(ctx, labels) > before).fillna(False).to_numpy(dtype=bool)
    return young


def _reference(ctx: AuditContext) -> pd.Timestamp | None:
    """A snapshot's reference date: its 导出时间 title row, else 31 December of its data year."""
    for kind in ("members", "households"):
        if ctx.has(kind):
            dates = ctx.reference_date(kind).dropna()
            if len(dates):
                return pd.Timestamp(dates.max())
    return None


# ------------------------------------------------------------------------------------ DT103


@rule(
    "DT103",
    "已有户新增非新生、非婚入成员（挂靠嫌疑）",
    severity="warning",
    needs=("households", "members"),
    columns={"members": (HID, ID)},
    previous=("households", "members"),
    what="上一期已有的户在本期多出一名成员（按证件号码），此人不是新生儿（本期基准日年龄 ≥ 1 岁，且出生不晚于"
    "上一期基准日），也不是因婚迁入（与户主关系为配偶、之儿媳、之女婿，且上一期不在任何户中）。此人上一期在另一个"
    "本期仍存在的户中时为错误（同时见 DT105），其余为警告。DT109 认定为换了证件号码的同一人不报告。",
    why=WHY + " 把不相干的成年人“挂靠”进贫困户，可以让户的人均收入降到线下、多享政策。",
    example=EXAMPLES["DT103"],
)
def dt103(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    if p.cur_year is None and ctx.data_year("members").isna().all():
        # without a year no age is known: every added person would pass as a possible newborn
        raise SkipRule("本期数据没有年度列，也没有指定 --year：无法判断新增成员是否新生儿")
    moves = member_moves(ctx)
    members = ctx.frame("members")
    existing = _household_existed(p, p.cur_mh)
    relation = text(members["与户主关系"]) if "与户主关系" in members else pd.Series("", index=members.index)
    by_marriage = relation.isin(MARRIAGE_RELATIONS).to_numpy() & ~moves.known_before
    added = (
        (p.cur_p >= 0) & existing & ~moves.same_household_before & ~by_marriage & ~moves.renumbered_cur
    )  # fmt: skip
    # ages only of the few people added: a newborn or a child under 1 is not 挂靠
    ages = _ages(ctx, members.index[added])
    added[added] = (ages >= 1).fillna(False).to_numpy(dtype=bool) & ~_newborn(ctx, p, ages.index, ages)
    origin_code = gather(p.prev_mh, moves.origin, -1)
    from_living = added & moves.known_before & _household_exists_now(p, origin_code)
    labels = members.index[added]
    from_other = pd.Series(from_living[added], index=labels)
    origin_ids = pd.Series(
        text(p.prev.frame("members")[HID].iloc[np.maximum(moves.origin[added], 0)]).to_numpy(dtype=object),
        index=labels,
    )
    message = (
        "新增成员 " + _person_names(ctx, labels) + "（" + _relations(ctx, labels) + "，" + _age_texts(ages[labels])
        + "）加入上一期已有的户 " + _household_ids(ctx, "members", labels) + "：不是新生儿，也不是因婚迁入（挂靠嫌疑）"
        + np.where(from_other, "；此人上一期在户 " + origin_ids + "，该户本期仍在", "")
    )  # fmt: skip
    related = None
    if moves.known_before[added].any():
        known = added & moves.known_before
        related = _related_previous(p, "members", moves.origin[known], members.index[known]).reindex(labels)
    found = ctx.flag("members", labels, message, column=ID, related=related)
    found["severity"] = np.where(from_other.to_numpy(), "error", "warning")
    return found


# ------------------------------------------------------------------------------------ DT104


@rule(
    "DT104",
    "仍在册的户减少成员且无死亡、婚出记录",
    severity="info",
    needs=("households", "members"),
    columns={"members": (HID, ID)},
    previous=("households", "members"),
    what="上一期某户的成员（按证件号码）在本期的任何户中都找不到，而该户本期仍在；此人没有死亡记录（任一期的"
    "死亡名单、死亡日期或是否死亡 = 是），也不是婚嫁迁出（本期比对名单类别“婚嫁迁出”，或上一期登记为之女/之孙女"
    "且本期基准日年满 20 岁的女性）。问题指向上一期的行（table = previous.members），消息给出关系和年龄。"
    "DT109 认定为换了证件号码的同一人、以及移到别的户的人（DT105）不报告。",
    why=WHY + " 成员减少会抬高人均收入：没有死亡、婚嫁、迁出依据的减员，可能是为“算账脱贫”而减人。",
    example=EXAMPLES["DT104"],
)
def dt104(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    moves = member_moves(ctx)
    members = p.prev.frame("members")
    still = _household_exists_now(p, p.prev_mh)
    dead = gather(p.dead, p.prev_p, False).astype(bool)
    married = gather(p.married_out, p.prev_p, False).astype(bool)
    removed = (p.prev_p >= 0) & still & ~moves.known_now & ~dead & ~married & ~moves.renumbered_prev
    ages = _ages(p.prev, members.index[removed])  # only of the few people gone
    removed[removed] = ~_married_daughters(p, ages)
    labels = members.index[removed]
    message = (
        _periods(p) + "户 " + _household_ids(p.prev, "members", labels) + " 的成员 " + _person_names(p.prev, labels)
        + "（" + _relations(p.prev, labels) + "，上一期 " + _age_texts(ages[labels]) + "）本期不在任何户中，该户仍在册；"
        + ("没有死亡记录，也不是婚嫁迁出" if p.death_source else "两期数据都没有死亡名单或死亡日期，也不是婚嫁迁出")
    )  # fmt: skip
    # related: the household as it is now (file, sheet, row of the current snapshot)
    now = gather(p.cur_first, p.prev_mh[removed], -1)
    current = p.cur.frame("households").index[np.maximum(now, 0)]
    recs = records(p.cur, "households", current[now >= 0].unique())
    related = pd.Series(
        [
            related_json([{"snapshot": "current", **recs[c]}]) if n >= 0 else ""
            for c, n in zip(current, now, strict=True)
        ],
        index=labels,
        dtype=object,
    )
    return _on_previous(p.prev.flag("members", labels, message, column=ID, related=related))


def _married_daughters(p: Pair, ages: pd.Series) -> np.ndarray:
    """Per previous member row of `ages` (their ages then): a woman recorded as 之女/之孙女 who is 20
    or more at the current reference date (she has probably married out)."""
    members = p.prev.frame("members")
    if "与户主关系" not in members:
        return np.zeros(len(ages), dtype=bool)
    daughters = text(members.loc[ages.index, "与户主关系"]).isin(DAUGHTERS).to_numpy()
    gap = 0 if p.cur_year is None or p.prev_year is None else p.cur_year - p.prev_year
    return daughters & ((ages + gap) >= MARRIAGE_AGE).fillna(False).to_numpy(dtype=bool)


# ------------------------------------------------------------------------------------ DT105


@rule(
    "DT105",
    "成员转到别的户（拆户/并户）",
    severity="warning",
    needs=("households", "members"),
    columns={"members": (HID, ID)},
    previous=("households", "members"),
    what="一个人（按证件号码）上一期在户 A，本期在另一户 B（且不再在 A 中）。B 是本期新出现的户、本期为未脱贫/"
    "返贫或监测对象，而 A 在上一期既不贫困也不是监测对象时为错误（拆户以符合条件），其余为警告。",
    why=WHY + " 拆户、分户是让收入较高家庭中的一部分人“够条件”纳入的手法（审计署公告中的“拆户识别”）。",
    example=EXAMPLES["DT105"],
)
def dt105(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    moves = member_moves(ctx)
    members = ctx.frame("members")
    moved = (p.cur_p >= 0) & (p.cur_mh >= 0) & moves.known_before & ~moves.same_household_before
    origin_code = gather(p.prev_mh, moves.origin, -1)
    # still in the origin household too: the person is listed twice (SY103), not moved
    several = count_per_code(p.cur_p, p.n_people) > 1
    maybe = moved & gather(several, p.cur_p, False).astype(bool)
    if maybe.any():
        width = np.int64(p.n_households + 1)
        listed = gather(several, p.cur_p, False).astype(bool) & (p.cur_mh >= 0)
        moved[maybe] = ~np.isin(
            p.cur_p[maybe] * width + origin_code[maybe], p.cur_p[listed] * width + p.cur_mh[listed]
        )
    labels = members.index[moved]
    if not len(labels):
        return None
    destination = _status_of(p, p.cur, p.cur_first, p.cur_mh[moved])
    origin = _status_of(p, p.prev, p.prev_first, origin_code[moved])
    new_place = p.prev_first[p.cur_mh[moved]] < 0
    needy = destination.isin(("未脱贫", "返贫", "监测")).to_numpy()
    origin_needy = origin.isin(("未脱贫", "返贫", "监测")).to_numpy()
    split = new_place & needy & ~origin_needy & (origin != "").to_numpy()
    origin_ids = text(p.prev.frame("members")[HID].iloc[moves.origin[moved]]).to_numpy(dtype=object)
    message = (
        _person_names(ctx, labels) + "（" + _relations(ctx, labels) + "）" + _periods(p) + "在户 " + origin_ids
        + "（" + origin.where(origin != "", "状态不详").to_numpy() + "），本期在"
        + np.where(new_place, "新增的户 ", "户 ") + _household_ids(ctx, "members", labels) + "（"
        + destination.where(destination != "", "状态不详").to_numpy() + "）"
        + np.where(split, "：非贫困户拆出的新户登记为贫困/监测户（拆户以符合条件）", "")
    )  # fmt: skip
    related = _related_previous(p, "members", moves.origin[moved], labels)
    found = ctx.flag("members", labels, message, column=HID, related=related)
    found["severity"] = np.where(split, "error", "warning")
    return found


def _status_of(p: Pair, ctx: AuditContext, first: np.ndarray, codes: np.ndarray) -> pd.Series:
    """Status labels of the households with these codes in one snapshot ("" when it has no row)."""
    labels = household_states(ctx)["label"].to_numpy(dtype=object)
    rows = gather(first, codes, -1)
    return pd.Series(
        np.where(rows >= 0, labels[np.maximum(rows, 0)] if len(labels) else "", ""), dtype=object
    )


# ------------------------------------------------------------------------------------ DT106


class ExitJump(RuleParams):
    exit_jump_share: float = Field(
        1.0, gt=0, description="收入增长超过上一期的这个比例（1.0 = 翻一番）即报告"
    )
    exit_jump_yuan: float = Field(3000.0, gt=0, description="人均纯收入增加超过这么多元即报告")


@rule(
    "DT106",
    "脱贫当年收入陡增（算账脱贫信号）",
    severity="warning",
    needs=("households",),
    columns={"households": (HID, INCOME)},
    previous=("households",),
    params=ExitJump,
    what="本年脱贫的户（已脱贫且脱贫年度 = 本期数据年度；或监测户本期风险已消除、上一期尚未消除）人均纯收入比"
    "上一期增长超过（>）上一期的 exit_jump_share 倍（默认 1.0，即翻一番以上），或增加超过（>）exit_jump_yuan"
    "（默认 3000 元）。金额按分比较，比例容差 1e-9；上一期收入 ≤ 0 时只按金额判断。",
    why=WHY + " 审计署 2017 年公告指出“算账脱贫”：把预期收入、一次性补贴算进脱贫当年的收入，让户刚好越线。"
    "脱贫当年收入陡增是最直接的信号。",
    example=EXAMPLES["DT106"],
)
def dt106(ctx: AuditContext, params: ExitJump) -> pd.DataFrame:
    p = pair(ctx)
    if p.cur_year is None and not ctx.has("households", ELIMINATED):
        # without a year no exit is “of the current year”, and there is no 风险消除 to judge instead
        raise SkipRule("本期数据没有年度列，也没有指定 --year：无法判断哪些户是本期脱贫")
    now, before = _both(p, INCOME)
    h = ctx.frame("households")
    states, earlier = household_states(ctx), _previous_states(p)
    exit_year = h["脱贫年度"].astype("float64") if "脱贫年度" in h else pd.Series(np.nan, index=h.index)
    this_year = (
        states["exited"] & (exit_year == p.cur_year).fillna(False) if p.cur_year else states["exited"] & False
    )
    eliminated = states["eliminated"] & ~earlier["eliminated"]
    judged = p.cur_primary() & (p.cur_match() >= 0) & (this_year | eliminated).to_numpy()
    now_fen = (now.astype("float64") * 100).round()
    before_fen = (before.astype("float64") * 100).round()
    rise = now_fen - before_fen
    share = rise / before_fen.where(before_fen > 0)
    by_share = (share > params.exit_jump_share + EPSILON).fillna(False)
    by_amount = (rise > round(params.exit_jump_yuan * 100)).fillna(False)
    flagged = judged & (by_share | by_amount).to_numpy()
    labels = h.index[flagged]
    how = np.where(this_year[labels], "脱贫（脱贫年度 " + _year(p.cur_year) + "）", "风险消除")
    reasons = (
        np.where(by_share[labels], f"增长超过 {percent(params.exit_jump_share)}（参数 exit_jump_share）", "")
        + np.where(by_share[labels] & by_amount[labels], "，", "")
        + np.where(by_amount[labels], f"增加超过 {yuan(params.exit_jump_yuan)} 元（参数 exit_jump_yuan）", "")
    )
    message = (
        "本期" + how + "的户人均纯收入从" + _periods(p) + "的 " + money_texts(before[labels]) + " 元增至 "
        + money_texts(now[labels]) + " 元，增加 " + money_texts(rise[labels] / 100) + " 元（"
        + fmt(share[labels] * 100, "{:.1f}").where(share[labels].notna(), "上一期收入 ≤ 0") + "%）："
        + reasons
    )  # fmt: skip
    message = message.str.replace("上一期收入 ≤ 0%", "上一期收入 ≤ 0", regex=False)
    related = _related_previous(p, "households", p.cur_match()[flagged], labels, {INCOME: before[labels]})
    return ctx.flag("households", labels, message, column=INCOME, related=related)


# ------------------------------------------------------------------------------------ DT107


@rule(
    "DT107",
    "状态倒退未按返贫登记",
    severity="error",
    needs=("households",),
    columns={"households": (HID,)},
    previous=("households",),
    what="上一期已脱贫、本期为未脱贫（应登记为返贫）；或上一期风险已消除、本期风险未消除（风险是否已消除 = 否）"
    "而识别监测时间没有更新（新一轮监测应有新的识别监测时间，见 DT112）。缺少所需列的一段不检查。",
    why=WHY + " 已脱贫户再次陷入贫困必须按返贫登记、重新识别；直接改回“未脱贫”会抹掉脱贫、返贫的记录，"
    "脱贫人口和返贫人口都统计失真。",
    example=EXAMPLES["DT107"],
)
def dt107(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    p = pair(ctx)
    h = ctx.frame("households")
    matched = p.cur_primary() & (p.cur_match() >= 0)
    states, earlier = household_states(ctx), _previous_states(p)
    out = []
    if STATUS in h and STATUS in p.prev.frame("households"):
        _now, before = _both(p, STATUS)
        back = matched & earlier["exited"].to_numpy() & (text(h[STATUS]) == "未脱贫").to_numpy()
        labels = h.index[back]
        message = (
            _periods(p) + "脱贫状态为 " + text(before[labels]).astype(object) + "，本期为 未脱贫：已脱贫户再次致贫应登记为"
            " 返贫"
        )  # fmt: skip
        related = _related_previous(
            p, "households", p.cur_match()[back], labels, {STATUS: text(before[labels])}
        )
        out.append(ctx.flag("households", labels, message, column=STATUS, related=related))
    if ctx.has("households", ELIMINATED) and p.prev.has("households", ELIMINATED):
        new_episode = states["identified"] > earlier["identified"]
        reopened = matched & earlier["eliminated"].to_numpy() & states["open_risk"].to_numpy()
        reopened &= ~new_episode.fillna(False).to_numpy()
        labels = h.index[reopened]
        message = (
            _periods(p) + "风险已消除（识别监测时间 " + _months(earlier["identified"][labels]) + "，消除监测时间 "
            + _months(earlier["eliminated_at"][labels]) + "），本期风险未消除，识别监测时间仍为 "
            + _months(states["identified"][labels]) + "：再次纳入监测应重新识别"
        )  # fmt: skip
        related = _related_previous(p, "households", p.cur_match()[reopened], labels)
        out.append(ctx.flag("households", labels, message, column=ELIMINATED, related=related))
    if not out:
        raise SkipRule("两期户表都没有脱贫状态，或都没有风险是否已消除列")
    return out


def _months(values: pd.Series) -> pd.Series:
    return fmt(values, lambda v: str(int(v))).where(values.notna(), "空")


# ------------------------------------------------------------------------------------ DT108


@rule(
    "DT108",
    "不应改变的登记事实被改写",
    severity="error",
    needs=("households",),
    columns={"households": (HID,)},
    previous=("households",),
    what="同一户两期之间改写了不应改变的事实：识别年度（含首次识别时间）、脱贫年度（两期都已填写）、户类型由"
    "脱贫户改为其他、同一轮监测（上一期风险未消除且本期仍是监测对象；或两期都已风险消除且消除监测时间相同）"
    "的识别监测时间。只比较两期都非空的值：第一次填写不算改写。"
    "每个被改写的字段一条问题，消息给出两期的值。",
    why=WHY + " 识别、脱贫的年份是考核和政策享受期限的依据；迎检后改写年份（例如把脱贫年度往后挪）"
    "是数据造假。",
    example=EXAMPLES["DT108"],
)
def dt108(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    p = pair(ctx)
    h = ctx.frame("households")
    prev = p.prev.frame("households")
    matched = p.cur_primary() & (p.cur_match() >= 0)
    out = []
    for field in ("识别年度", "脱贫年度"):
        if field in h and field in prev:
            now, before = _both(p, field)
            changed = matched & (now.notna() & before.notna() & (now != before)).fillna(False).to_numpy()
            out.append(_rewrite(p, field, changed, before, now, lambda v: fmt(v, lambda y: str(int(y)))))
    if HOUSEHOLD_TYPE in h and HOUSEHOLD_TYPE in prev:
        now, before = (text(s) for s in _both(p, HOUSEHOLD_TYPE))
        changed = matched & ((before == "脱贫户") & (now != "") & (now != "脱贫户")).to_numpy()
        out.append(_rewrite(p, HOUSEHOLD_TYPE, changed, before.astype(object), now.astype(object)))
    if IDENTIFIED_AT in h and IDENTIFIED_AT in prev:
        states, earlier = household_states(ctx), _previous_states(p)
        now, before = states["identified"], earlier["identified"]
        # One episode: open in the previous snapshot and still monitored, or closed in both snapshots
        # with the same 消除监测时间 (moving its 识别监测时间 back hides a too-fast elimination, MN124).
        still_open = earlier["monitored"] & ~earlier["eliminated"] & states["monitored"]
        closed_alike = earlier["eliminated"] & states["eliminated"]
        closed_alike &= (earlier["eliminated_at"] == states["eliminated_at"]).fillna(False)
        same_episode = still_open | closed_alike
        changed = matched & (same_episode & now.notna() & before.notna() & (now != before)).to_numpy()
        out.append(_rewrite(p, IDENTIFIED_AT, changed, before, now, _months, "（同一轮监测）"))
    if not out:
        raise SkipRule("两期户表没有共同的识别年度、脱贫年度、户类型或识别监测时间列")
    return out


def _rewrite(
    p: Pair,
    field: str,
    rows: np.ndarray,
    before: pd.Series,
    now: pd.Series,
    shown=lambda v: v.astype(object),
    note: str = "",
) -> pd.DataFrame:
    """Findings for the rewritten rows; `shown` formats the values (only the flagged rows')."""
    labels = p.cur.frame("households").index[rows]
    old = shown(before[labels])
    message = f"{field}被改写{note}：" + _periods(p) + " " + old + "，本期 " + shown(now[labels])
    related = _related_previous(p, "households", p.cur_match()[rows], labels, {field: old})
    return p.cur.flag("households", labels, message, column=field, related=related)


# ------------------------------------------------------------------------------------ DT109


def renumbered_people(ctx: AuditContext) -> pd.DataFrame:
    """Pairs (cur member position, prev member position) of one person whose 证件号码 changed: same
    户编号 + 姓名 + birth date, or the same 人口编号; the current number is not in the previous
    snapshot and the old one is not in the current snapshot. `unusable`: the number of one side is
    no ID at all (empty, or turned into a number by Excel, which keeps the birth date in its digits
    but loses the last ones): the same person, whose number is not a change of identity (DT109)."""

    def compute() -> pd.DataFrame:
        p = pair(ctx)
        cur_new, prev_gone = renumbering_candidates(ctx)
        empty = _NO_PAIRS.assign(unusable=np.empty(0, dtype=bool))
        if not len(cur_new) or not len(prev_gone):
            return empty
        found = [empty]
        cur_m, prev_m = p.cur.frame("members"), p.prev.frame("members")
        if "姓名" in cur_m and "姓名" in prev_m:
            keys = []
            for ctx_, frame, rows, hh in (
                (p.cur, cur_m, cur_new, p.cur_mh),
                (p.prev, prev_m, prev_gone, p.prev_mh),
            ):
                birth = _pairing_births(ctx_, frame.index[rows]).dt.strftime("%Y%m%d").fillna("")
                name = text(frame["姓名"].iloc[rows])
                key = (
                    pd.Series(hh[rows].astype(str), dtype=object)
                    + "|"
                    + name.to_numpy()
                    + "|"
                    + birth.to_numpy()
                )
                usable = (hh[rows] >= 0) & (name != "").to_numpy() & (birth != "").to_numpy()
                keys.append(pd.DataFrame({"key": key.where(usable), "pos": rows}).dropna())
            found.append(_join(keys[0], keys[1]))
        if "人口编号" in cur_m and "人口编号" in prev_m:
            keys = [
                pd.DataFrame({"key": text(frame["人口编号"].iloc[rows]).to_numpy(), "pos": rows}).query(
                    "key != ''"
                )
                for frame, rows in ((cur_m, cur_new), (prev_m, prev_gone))
            ]
            found.append(_join(keys[0], keys[1]))
        pairs = pd.concat(found, ignore_index=True).drop_duplicates("cur").drop_duplicates("prev")
        unusable = (p.cur_p[pairs["cur"].to_numpy()] < 0) | (p.prev_p[pairs["prev"].to_numpy()] < 0)
        return pairs.assign(unusable=unusable)

    return ctx.cached("dt.renumbered", compute)


def _pairing_births(ctx: AuditContext, labels: pd.Index) -> pd.Series:
    """`_births`, and for an ID that Excel turned into a number (520524196410280000: its last digits
    lost, its birth date kept) the date its digits give: such a person is still paired with the
    other snapshot's by 户编号, 姓名 and birth date."""
    births = _births(ctx, labels)
    table = ctx.table("members")
    if not births.isna().any() or not table.has(ID):
        return births
    unknown = labels[births.isna().to_numpy()]
    ids = analyse_ids(table.raw[ID].loc[unknown])
    mangled = (ids["kind"] == "excel_number").to_numpy()
    if mangled.any():
        digits = _excel_digits(ids["normalized"][mangled])
        births.loc[unknown[mangled]] = pd.to_datetime(
            digits.str.slice(6, 14).where(digits.str.len() == 18), format="%Y%m%d", errors="coerce"
        ).to_numpy()
    return births


def _excel_digits(texts: pd.Series) -> pd.Series:
    """The 18 digits of an ID Excel made a number, written out (3.40826197001011E+17 →
    340826197001011000; digits as they are stay; another number: "")."""
    parts = texts.str.extract(r"^(\d)\.(\d*)[eE]\+?(\d+)$")
    mantissa = parts[0] + parts[1]
    eighteen = (pd.to_numeric(parts[2], errors="coerce") == 17) & (mantissa.str.len() <= 18)
    written = mantissa.str.pad(18, side="right", fillchar="0").where(eighteen, "")
    return written.where(parts[0].notna(), texts)


def renumbering_candidates(ctx: AuditContext) -> tuple[np.ndarray, np.ndarray]:
    """Member positions of the people DT109 pairs up: current people whose key is not in the previous
    snapshot (or who have no usable key), previous people whose key is not in the current one (or
    none). Only these are ever paired, so pairing them alone (the Dask engine gathers them from every
    person bucket) pairs them alike."""
    p = pair(ctx)
    p.people()
    cur_new = np.flatnonzero(gather(p.prev_person_first, p.cur_p, -1) < 0)  # no key: -1 too
    prev_gone = np.flatnonzero(gather(p.cur_person_first, p.prev_p, -1) < 0)
    return cur_new, prev_gone


def _join(cur: pd.DataFrame, prev: pd.DataFrame) -> pd.DataFrame:
    # a key shared by two people of one snapshot (twins of one name) identifies nobody
    cur = cur.drop_duplicates("key", keep=False)
    prev = prev.drop_duplicates("key", keep=False)
    joined = cur.merge(prev, on="key", suffixes=("_cur", "_prev"))
    return pd.DataFrame(
        {"cur": joined["pos_cur"].to_numpy(np.int64), "prev": joined["pos_prev"].to_numpy(np.int64)}
    )


@rule(
    "DT109",
    "同一人两期证件号码不同",
    severity="warning",
    needs=("members",),
    columns={"members": (HID, ID)},
    previous=("households", "members"),
    what="本期一名成员与上一期一名成员是同一人（同一户编号、姓名、出生日期，或同一人口编号），但证件号码不同，"
    "且旧号码已不在本期数据中、新号码也不在上一期数据中（身份更正，或冒名顶替）。15 位号码升位为 18 位后相同的"
    "不算不同。一期的号码不可用（空白，或被 Excel 存为数字而丢了末几位；出生日期取其数字）时，同样按户编号、"
    "姓名、出生日期认定同一人，但不报告（不是换号）；这样的人也不算新增（DT103）或减少（DT104）的成员。",
    why=WHY + " 证件号码是与公安、民政、财政供养等名单比对的依据：号码被改，比对就会漏掉此人；"
    "更正应有户籍依据。",
    example=EXAMPLES["DT109"],
)
def dt109(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    found = renumbered_people(ctx)
    found = found[~found["unusable"].to_numpy(dtype=bool)]
    members = ctx.frame("members")
    labels = members.index[found["cur"].to_numpy()]
    prev_labels = p.prev.frame("members").index[found["prev"].to_numpy()]
    old = pd.Series(
        usable_keys(p.prev.table("members").raw[ID].loc[prev_labels]).to_numpy(dtype=object), index=labels
    )
    new = usable_keys(ctx.table("members").raw[ID].loc[labels]).astype(object)
    message = (
        "同一人（户 " + _household_ids(ctx, "members", labels) + "，" + _person_names(ctx, labels) + "）" + _periods(p)
        + "证件号码 " + old + "，本期 " + new + "；旧号码已不在本期数据中（身份更正或顶替，请核对户籍依据）"
    )  # fmt: skip
    related = _related_previous(p, "members", found["prev"].to_numpy(), labels)
    return ctx.flag("members", labels, message, column=ID, related=related)


# ------------------------------------------------------------------------------------ DT110


@rule(
    "DT110",
    "脱贫户收入比上一期大幅下降",
    severity="warning",
    needs=("households",),
    columns={"households": (HID, INCOME)},
    previous=("households",),
    what="本期已脱贫的户人均纯收入比上一期下降超过（>）政策参数 income_drop_share（默认 30%，与 IN004 相同；"
    "正好 30% 不报告）。本期行已填“上年人均纯收入”时不比较（由 IN004 报告）；上一期收入 ≤ 0 的不计算。",
    why=WHY + " 收入骤降是返贫的直接信号，应及时纳入防返贫监测和帮扶。",
    example=EXAMPLES["DT110"],
)
def dt110(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    now, before = _both(p, INCOME)
    h = ctx.frame("households")
    judged = p.cur_primary() & (p.cur_match() >= 0) & household_states(ctx)["exited"].to_numpy()
    if "上年人均纯收入" in h:
        judged &= h["上年人均纯收入"].isna().to_numpy()
    before_fen = (before.astype("float64") * 100).round()
    drop = (before_fen - (now.astype("float64") * 100).round()) / before_fen.where(before_fen > 0)
    limit = ctx.policy.income_drop_share
    flagged = judged & (drop > limit + EPSILON).fillna(False).to_numpy()
    labels = h.index[flagged]
    message = (
        "已脱贫户人均纯收入从" + _periods(p) + "的 " + money_texts(before[labels]) + " 元降至本期 "
        + money_texts(now[labels]) + " 元，下降 " + fmt(drop[labels] * 100, "{:.1f}")
        + f"%，超过 {percent(limit)}（{param(ctx, 'income_drop_share')}）"
    )  # fmt: skip
    related = _related_previous(p, "households", p.cur_match()[flagged], labels, {INCOME: before[labels]})
    return ctx.flag("households", labels, message, column=INCOME, related=related)


# ------------------------------------------------------------------------------------ DT111


@rule(
    "DT111",
    "监测对象未经风险消除即退出监测",
    severity="error",
    needs=("households",),
    columns={"households": (HID,)},
    previous=("households",),
    what="上一期是风险未消除的监测对象（监测对象类别非空或是否监测对象 = 是，且风险是否已消除不为“是”），本期"
    "同一户仍在册，但不再是监测对象、也没有风险消除记录。两期都需要监测对象类别（或是否监测对象）列；本期户已"
    "消失的由 DT101 报告。",
    why=WHY + " 监测对象只能经风险消除程序（帮扶消除或自然消除，村级评议、乡镇审核）退出监测；直接删掉标识"
    "等于未经程序“消除”风险。",
    example=EXAMPLES["DT111"],
)
def dt111(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    if not monitoring_known(ctx) or not monitoring_known(p.prev):
        raise SkipRule("本期或上一期户表没有监测对象类别（或是否监测对象）列")
    h = ctx.frame("households")
    states, earlier = household_states(ctx), _previous_states(p)
    dropped = (
        p.cur_primary() & (p.cur_match() >= 0) & (earlier["monitored"] & ~earlier["eliminated"]).to_numpy()
        & ~states["monitored"].to_numpy() & ~as_bool(h, ELIMINATED).to_numpy()
    )  # fmt: skip
    labels = h.index[dropped]
    prev_h = p.prev.frame("households")
    category = (
        _from_previous(p, text(prev_h[CATEGORY]))
        if CATEGORY in prev_h
        else pd.Series("监测对象", index=h.index)
    )
    # what the previous snapshot says: only the columns it has
    known = "，识别监测时间 " + _months(earlier["identified"][labels]) if IDENTIFIED_AT in prev_h else ""
    risk = "，风险未消除" if ELIMINATED in prev_h else ""
    message = (
        _periods(p) + "为监测对象（" + category[labels].where(category[labels] != "", "监测对象").astype(object)
        + known + risk + "），本期不再是监测对象，也没有风险消除记录"
    )  # fmt: skip
    related = _related_previous(p, "households", p.cur_match()[dropped], labels)
    column = CATEGORY if CATEGORY in h else "是否监测对象"
    return ctx.flag("households", labels, message, column=column, related=related)


# ------------------------------------------------------------------------------------ DT112


@rule(
    "DT112",
    "风险消除后再次纳入监测",
    severity="info",
    needs=("households",),
    columns={"households": (HID,)},
    previous=("households",),
    what="上一期风险已消除的监测户，本期再次为风险未消除的监测对象，且识别监测时间是新的（晚于上一期的识别监测"
    "时间；没有更新的由 DT107 报告）。消息给出两轮监测的识别、消除时间和风险。",
    why=WHY + " 风险消除后很快再次致贫，说明上一次的消除可能不稳（帮扶消除时收入是否稳定、三保障是否巩固），"
    "值得回看。",
    example=EXAMPLES["DT112"],
)
def dt112(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    p = pair(ctx)
    for c in (ctx, p.prev):
        if not c.has("households", ELIMINATED) or not monitoring_known(c):
            raise SkipRule(f"{'本期' if c is ctx else '上一期'}户表没有风险是否已消除或监测对象类别列")
    h = ctx.frame("households")
    states, earlier = household_states(ctx), _previous_states(p)
    again = (
        p.cur_primary() & (p.cur_match() >= 0) & earlier["eliminated"].to_numpy() & states["open_risk"].to_numpy()
        & (states["identified"] > earlier["identified"]).fillna(False).to_numpy()
    )  # fmt: skip
    labels = h.index[again]
    prev_h = p.prev.frame("households")
    prev_rows = p.cur_match()[again]
    prev_risks = pd.Series(_risks(prev_h, prev_h.index[prev_rows]).to_numpy(), index=labels)
    message = (
        _periods(p) + "的监测已风险消除（识别 " + _months(earlier["identified"][labels]) + "、消除 "
        + _months(earlier["eliminated_at"][labels]) + "，风险 " + prev_risks + "），本期再次纳入监测（识别 "
        + _months(states["identified"][labels]) + "，风险 " + _risks(h, labels) + "）"
    )  # fmt: skip
    related = _related_previous(p, "households", prev_rows, labels)
    return ctx.flag(
        "households",
        labels,
        message,
        column=IDENTIFIED_AT if IDENTIFIED_AT in h else ELIMINATED,
        related=related,
    )


# ------------------------------------------------------------------------------------ transitions

TRANSITION_STATES = ("未脱贫", "已脱贫", "返贫", "监测", "消除", "其他")
NEW, REMOVED = "新增", "移出"


def transitions(ctx: AuditContext) -> dict[str, Any] | None:
    """Households by status in the previous snapshot × status now (with 新增 and 移出), for the
    summary, the console and the xlsx report; None without a usable previous snapshot."""
    counts = transition_counts(ctx)
    if counts is None:
        return None
    p = pair(ctx)
    return transition_table(counts, p.prev_year, p.cur_year, [f.path for f in p.prev.dataset.files])


@dataclass
class TransitionCounts:
    """Households of the pair `ctx` holds by (status before, status now), with those new and removed:
    summed over the buckets of a distributed run (each 户编号 in one bucket)."""

    cells: np.ndarray  # (k, k) counts over TRANSITION_STATES + 新增 / 移出
    households: dict[str, int]  # previous, current, new, removed

    def __add__(self, other: TransitionCounts) -> TransitionCounts:
        return TransitionCounts(
            self.cells + other.cells, {k: v + other.households[k] for k, v in self.households.items()}
        )


def transition_counts(ctx: AuditContext) -> TransitionCounts | None:
    try:
        p = pair(ctx)
    except SkipRule:
        return None
    names = [*TRANSITION_STATES, NEW, REMOVED]
    k = len(names)
    now = _state_codes(ctx)
    before = _state_codes(p.prev)
    cur_rows, prev_rows = p.cur_primary(), p.prev_primary()
    match, back = p.cur_match(), p.prev_match()
    matched, new, gone = cur_rows & (match >= 0), cur_rows & (match < 0), prev_rows & (back < 0)
    cells = np.concatenate(
        [before[match[matched]] * k + now[matched], names.index(NEW) * k + now[new],
         before[gone] * k + names.index(REMOVED)]
    )  # fmt: skip
    counts = np.bincount(cells, minlength=k * k).reshape(k, k)
    households = {"previous": int(prev_rows.sum()), "current": int(cur_rows.sum()),
                  "new": int(new.sum()), "removed": int(gone.sum())}  # fmt: skip
    return TransitionCounts(counts, households)


def transition_table(
    counts: TransitionCounts, previous_year: int | None, current_year: int | None, previous_files: list[str]
) -> dict[str, Any]:
    names = [*TRANSITION_STATES, NEW, REMOVED]
    cells = counts.cells
    # the five statuses always, 其他 (no recognisable status) only when some household has it
    other = names.index("其他")
    states = [s for s in TRANSITION_STATES if s != "其他" or cells[other].any() or cells[:, other].any()]
    rows, columns = [*states, NEW], [*states, REMOVED]
    table = {r: {c: int(cells[names.index(r), names.index(c)]) for c in columns} for r in rows}
    return {
        "previous_year": previous_year,
        "current_year": current_year,
        "previous_files": previous_files,
        "rows": rows,
        "columns": columns,
        "table": table,
        "households": dict(counts.households),
    }


def _state_codes(ctx: AuditContext) -> np.ndarray:
    labels = household_states(ctx)["label"]
    return pd.Categorical(labels, categories=TRANSITION_STATES).codes.astype(np.int64)
