"""Plant one or more unambiguous cases of every rule of RULES.md into a clean county.

Each case lives on records no other case touches (households are taken out of a shared pool), and
is chosen so that, as far as possible, only its own rule fires. Where another rule necessarily fires
too, the manifest description says so ("附带：…").

Manifest columns: rule, table, key, description, outputs, also.
- key: the record a finding should name — 户编号, 证件号码 (as written, e.g. the corrupted ID), 村 name,
  帮扶单位, or the missing column (DQ001).
- outputs: in which exports the case is visible: "all"; "flat" (only the member-level flat export,
  DQ036); "split" (only exports with separate 户信息 / 家庭成员 tables: DQ021, DQ037); "none" (a note,
  nothing planted: LG102 before 2021, or a county too small to hold every case).
- also: other rule codes that fire (or, under some readings of RULES.md, may fire) on the same key.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..io.cells import number_text
from . import columns as C
from .idnum import CHECK_CHARS, check_char, full_id
from .model import (
    POVERTY_LINE,
    County,
    allocate_income,
    day,
    measure_amounts,
    measure_contents,
    names_for,
    per_capita,
    poverty_line,
    poverty_line_high,
    village_plants,
    year_of,
    year_start,
)
from .pools import WORKPLACES, pools

MANIFEST_COLS = ["rule", "table", "key", "description", "outputs", "also"]
UNKNOWN_REGION = 349901  # in no GB/T 2260 version
PLACEHOLDER_DIGITS = "9012345678"
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _yuan(cents: int | np.integer) -> str:
    return f"{int(cents) / 100:.2f}"


class Planter:
    def __init__(self, county: County) -> None:
        self.c = county
        p = county.params
        self.p = p
        self.Y = p.year
        self.rng = np.random.default_rng([p.seed, 1000])
        self.k = p.plants_per_rule
        h = county.households
        m = county.members
        self.N = len(h)
        self.used = np.zeros(self.N, dtype=bool)
        self.helper_used = np.zeros(len(county.helper_pid), dtype=bool)
        self.used_villages: set[int] = set(np.flatnonzero(county.villages.high_incidence).tolist())
        self.rows: list[dict[str, str]] = []
        # member facts (clean state)
        self.age = county.ages()
        self.is_head = np.zeros(len(m), dtype=bool)
        self.is_head[h.mstart] = True
        self.worker = m.work_months > 0
        self.student = m.school >= C.SC_PRIMARY
        self.able = (self.age >= 16) & (self.age <= 60) & np.isin(m.skill, (C.S_NORMAL, C.S_SKILLED))
        self.n_workers = np.bincount(m.hh, weights=self.worker, minlength=self.N).astype(int)
        self.all_healthy = np.bincount(m.hh, weights=m.health != C.H_OK, minlength=self.N) == 0
        self.pending_keys: list[tuple[int, int]] = []  # (manifest row, person) keyed by a pending ID
        ms = county.measures
        self.nhm = int((ms.hh >= 0).sum())  # household measures come first, sorted by household
        self.free_cause = np.isin(h.cause, C.FREE_CAUSES)
        self.old_ident = h.ident <= self.Y - 2

    # ----------------------------------------------------------------------------- bookkeeping

    def add(
        self, rule: str, table: str, key: object, description: str, outputs: str = "all", also: str = ""
    ) -> None:
        self.rows.append(
            dict(rule=rule, table=table, key=str(key), description=description, outputs=outputs, also=also)
        )

    def hid(self, h: int) -> str:
        c = self.c
        return str(int(c.villages.code[c.households.village[h]]) * 10_000 + int(c.households.serial[h]))

    def pid_id(self, pid: int) -> str:
        return full_id(int(self.c.people.first17[pid]))

    def row_id(self, row: int) -> str:
        return self.pid_id(int(self.c.members.pid[row]))

    def pick_hh(
        self, mask: np.ndarray, n: int | None = None, fallback: np.ndarray | None = None
    ) -> np.ndarray:
        n = self.k if n is None else n
        cand = np.flatnonzero(mask & ~self.used)
        if len(cand) == 0 and fallback is not None:
            cand = np.flatnonzero(fallback & ~self.used)
        if len(cand) == 0:
            return np.array([], dtype=np.int64)
        pick = np.sort(self.rng.choice(cand, size=min(n, len(cand)), replace=False))
        self.used[pick] = True
        return pick

    def pick_member(
        self, mmask: np.ndarray, hmask: np.ndarray | None = None, n: int | None = None
    ) -> np.ndarray:
        """Rows of members satisfying mmask, at most one per household, in unused households."""
        n = self.k if n is None else n
        m = self.c.members
        ok = mmask & ~self.used[m.hh]
        if hmask is not None:
            ok &= hmask[m.hh]
        rows = np.flatnonzero(ok)
        if len(rows) == 0:
            return rows
        if len(rows) > 8 * n + 200:  # a random sample is plenty; avoids shuffling millions of rows
            rows = self.rng.choice(rows, size=8 * n + 200, replace=False)
        shuffled = self.rng.permutation(rows)
        _, first = np.unique(m.hh[shuffled], return_index=True)
        cand = np.sort(shuffled[first])
        pick = np.sort(self.rng.choice(cand, size=min(n, len(cand)), replace=False))
        self.used[m.hh[pick]] = True
        return pick

    def hh_measures(self, h: int) -> np.ndarray:
        ms = self.c.measures
        lo = np.searchsorted(ms.hh[: self.nhm], h, side="left")
        hi = np.searchsorted(ms.hh[: self.nhm], h, side="right")
        return np.arange(lo, hi)

    def members_of(self, h: int) -> np.ndarray:
        hh = self.c.households
        return np.arange(hh.mstart[h], hh.mstart[h] + hh.size[h])

    def cap_prev(self, hs: np.ndarray) -> None:
        """Households identified last year: 上年人均纯收入 stays under last year's line (LG302)."""
        h = self.c.households
        last = hs[h.ident[hs] == self.Y - 1]
        h.prev_pc[last] = np.minimum(h.prev_pc[last], int(0.88 * poverty_line(self.Y - 1) * 100))

    def set_income(self, hs: np.ndarray, pc_yuan: np.ndarray | float, share_cap: float = 0.4, **kw) -> None:
        h = self.c.households
        pc = np.round(np.broadcast_to(np.asarray(pc_yuan, dtype=float), hs.shape) * 100).astype(np.int64)
        allocate_income(h, self.rng, hs, pc, share_cap, **kw)

    def reincome(
        self,
        hs: np.ndarray,
        pc_yuan: np.ndarray | float,
        prev_factor: float,
        *,
        share_cap: float = 0.4,
        share_min: float = 0.0,
        monitor: bool = False,
    ) -> None:
        """New incomes for households hs (vectorised), 上年人均纯收入 = new × prev_factor (capped for LG302)."""
        if not len(hs):
            return
        h = self.c.households
        self.set_income(hs, pc_yuan, share_cap, share_min=share_min)
        h.prev_pc[hs] = (h.income["人均纯收入"][hs] * prev_factor).astype(np.int64)
        self.cap_prev(hs)
        if monitor:
            h.monitor[hs] = True  # 2021+: a 监测对象, so LG102 stays quiet

    # ----------------------------------------------------------------------------- plants

    def plant_all(self) -> None:
        for fn in (
            self.villages_level,
            self.dq_fields,
            self.dq_ids,
            self.dq_household_structure,
            self.dq_members,
            self.dq_income,
            self.sy1,
            self.sy2,
            self.sy3,
            self.sy4,
            self.lg,
            self.income_risk,
            self.sy301,
        ):
            fn()

    def manifest(self) -> pd.DataFrame:
        df = pd.DataFrame(self.rows, columns=MANIFEST_COLS)
        order = {r: i for i, r in enumerate(C.ALL_RULES)}
        df["_o"] = df["rule"].map(order)
        df = df.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
        return df.astype("str")

    # --- villages (SY207, SY302, SY305; SY301 was designed into the county)

    def pick_villages(self, mask: np.ndarray, n: int) -> np.ndarray:
        cand = np.setdiff1d(np.flatnonzero(mask), list(self.used_villages))
        if len(cand) == 0:
            return cand
        pick = np.sort(self.rng.choice(cand, size=min(n, len(cand)), replace=False))
        self.used_villages.update(pick.tolist())
        return pick

    def villages_level(self) -> None:
        c = self.c
        v = c.villages
        ms = c.measures
        kv = village_plants(self.p, len(v))
        has_hh = np.bincount(c.households.village, minlength=len(v)) > 0
        # SY207: a 贫困村 whose 产业帮扶 project is last year's; its households' 产业帮扶 become other types
        for vi in self.pick_villages(v.poor_village & has_hh, kv):
            proj = np.flatnonzero((ms.hh < 0) & (ms.village == vi) & (ms.mtype == C.M_INDUSTRY))
            self.shift_to_last_year(proj)
            rows = np.flatnonzero((ms.hh >= 0) & (ms.village == vi) & (ms.mtype == C.M_INDUSTRY))
            for r in rows:
                have = set(ms.mtype[self.hh_measures(int(ms.hh[r]))].tolist())
                new = next(t for t in (C.M_PUBLICJOB, C.M_JOB, C.M_TRAINING, C.M_FINANCE) if t not in have)
                ms.mtype[r] = new
                ms.content[r] = C.CONTENT_INDEX[new][0]
            self.add("SY207", "villages", v.name[vi],
                     f"贫困村{v.name[vi]}（{v.code[vi]}）{self.Y} 年无产业帮扶项目：村级产业项目记在 {self.Y - 1} 年，"
                     f"本村 {len(rows)} 条户级产业帮扶已改为其他开发式措施")  # fmt: skip
        # SY302: an 出列 village with too little collective income (convert a 贫困村 if none is 出列)
        clean_out = v.out & ~v.high_incidence
        if not (clean_out & ~np.isin(np.arange(len(v)), list(self.used_villages))).any():
            conv = self.pick_villages(v.poor_village & ~v.out, 1)
            v.out[conv] = True
            v.out_year[conv] = self.Y
            self.used_villages.difference_update(conv.tolist())
            clean_out = v.out & ~v.high_incidence
        for vi in self.pick_villages(clean_out, kv):
            v.collective[vi] = 3_000_000
            self.add("SY302", "villages", v.name[vi],
                     f"出列村{v.name[vi]}（{int(v.out_year[vi])} 年出列）村集体经济收入 30000.00 元，低于 50000 元")  # fmt: skip
        # SY305: an ordinary village whose poor counts do not match the household table
        for vi in self.pick_villages(~v.out, kv):
            v.count_offset[vi] = 3
            v.people_offset[vi] = 10
            self.add("SY305", "villages", v.name[vi],
                     f"村{v.name[vi]}的贫困户数比户表合计多 3 户、贫困人口数多 10 人")  # fmt: skip

    def shift_to_last_year(self, rows: np.ndarray) -> None:
        ms = self.c.measures
        delta = day(self.Y, 1, 1) - day(self.Y - 1, 1, 1)
        ms.date[rows] -= delta
        ms.year[rows] = self.Y - 1

    def sy301(self) -> None:
        from .frames import village_stats

        c = self.c
        v = c.villages
        st = village_stats(c)
        for vi in np.flatnonzero(v.high_incidence):
            rate = st["poor_p"][vi] / max(1, st["total"][vi])
            self.add("SY301", "villages", v.name[vi],
                     f"出列村{v.name[vi]}（{int(v.out_year[vi])} 年出列）贫困人口 {st['poor_p'][vi]} 人 ÷ 总人口 "
                     f"{st['total'][vi]} 人 = {rate:.2%}，不低于 2%")  # fmt: skip

    # --- DQ001–DQ005

    def dq_fields(self) -> None:
        c = self.c
        h = c.households
        m = c.members
        Y = self.Y
        # DQ001: a measures table without 措施类型
        for hh_ in self.pick_hh(np.ones(self.N, dtype=bool), min(self.k, 5)):
            helper = int(h.helper[hh_])
            c.extra_measures.append({
                "户编号": self.hid(hh_),
                "乡": c.town_names[c.villages.town[h.village[hh_]]],
                "村": c.villages.name[h.village[hh_]],
                "帮扶单位": c.units[c.helper_unit[helper]],
                "帮扶责任人": c.people.name(c.helper_pid[helper]),
                "日期": str(np.datetime64(day(Y, 4, 10) + int(hh_ % 60), "D")),
                "金额": f"{800 + hh_ % 97}.00",
                "领取人证件号码": self.row_id(int(h.mstart[hh_])),
                "年度": str(Y),
                "内容": "产业奖补（补录）",
            })  # fmt: skip
        self.add("DQ001", C.EXTRA_MEASURES, "措施类型",
                 f"帮扶措施补录表（工作表/文件“{C.SHEETS[C.EXTRA_MEASURES]}”，{len(c.extra_measures)} 行）缺少必填列“措施类型”")  # fmt: skip
        # DQ002: required field empty (members 姓名 / households 主要致贫原因)
        k2 = self.k
        for row in self.pick_member(~self.is_head, n=(k2 + 1) // 2):
            c.edit("members", "姓名", row, "")
            self.add("DQ002", "members", self.row_id(row), "家庭成员必填字段“姓名”为空")
        for hh_ in self.pick_hh(np.isin(h.cause, C.UNMAPPED_CAUSES), max(1, k2 // 2)):
            old = C.CAUSES[h.cause[hh_]]
            h.cause[hh_] = -1
            h.cause2[hh_] = -1
            self.add(
                "DQ002",
                "households",
                self.hid(hh_),
                f"户必填字段“主要致贫原因”为空（原为“{old}”，次要致贫原因也已清空）",
            )
        # DQ003: value not in the code list
        for i, row in enumerate(self.pick_member((m.edu >= 0) & (self.age >= 16))):
            bad, near = (("初小", "小学"), ("扫盲班", "文盲或半文盲"))[i % 2]
            c.edit("members", "文化程度", row, bad)
            self.add("DQ003", "members", self.row_id(row), f"文化程度“{bad}”不在代码表中（最接近“{near}”）")
        # DQ004: 务工时间 out of range
        for i, row in enumerate(self.pick_member(self.worker)):
            months = 14 + i % 3
            m.work_months[row] = months
            self.add("DQ004", "members", self.row_id(row), f"务工时间 {months} 个月，超出 0–12")
        # DQ005: impossible date (roster of unregistered people: nothing else reads it)
        r = c.rosters
        cand = np.flatnonzero(
            np.isin(r.kind, [C.ROSTER_KINDS[x] for x in (C.K_CAR, C.K_HOUSE, C.K_BUSINESS)])
        )
        for i, row in enumerate(self.rng.choice(cand, size=min(self.k, len(cand)), replace=False)):
            bad = (f"{Y - 1}-02-30", f"{Y - 1}-13-01")[i % 2]
            c.edit("rosters", "日期", row, bad)
            self.add(
                "DQ005",
                "rosters",
                self.pid_id(int(r.pid[row])),
                f"比对名单（{r.kind[row]}）日期“{bad}”不是有效日期",
            )

    # --- DQ010–DQ018 (ID numbers of non-head members; nothing else refers to them)

    def dq_ids(self) -> None:
        c = self.c
        m = c.members
        non_head = ~self.is_head

        def id_rows(rule_mask: np.ndarray, n: int | None = None) -> np.ndarray:
            return self.pick_member(non_head & rule_mask, n=n)

        # DQ010: wrong length (check character dropped)
        for row in id_rows(np.ones(len(m), dtype=bool)):
            good = self.row_id(row)
            c.edit("members", "证件号码", row, good[:17])
            self.add("DQ010", "members", good[:17], f"证件号码只有 17 位（原号码 {good}）")
        # DQ011: wrong check character
        for row in id_rows(np.ones(len(m), dtype=bool)):
            good = self.row_id(row)
            bad = good[:17] + CHECK_CHARS[(CHECK_CHARS.index(good[17]) + 1) % 11]
            c.edit("members", "证件号码", row, bad)
            self.add("DQ011", "members", bad, f"证件号码校验位应为 {good[17]}，写成 {bad[17]}")
        # DQ012: impossible birth date inside the ID (valid check character)
        elderly = self.age >= 61
        for i, row in enumerate(id_rows(elderly)):
            good = self.row_id(row)
            if i % 2 == 0:  # born before 1900: 出生日期 column says the same, so only DQ012 applies
                mmdd = "0228" if good[10:14] == "0229" else good[10:14]
                first17 = good[:6] + "1899" + mmdd + good[14:17]
                bad = first17 + check_char(first17)
                m.birth_col[row] = day(1899, int(mmdd[:2]), int(mmdd[2:]))
                c.edit("members", "证件号码", row, bad)
                self.add(
                    "DQ012",
                    "members",
                    bad,
                    f"证件号码中的出生日期 1899-{mmdd[:2]}-{mmdd[2:]} 早于 1900 年（出生日期列同）；"
                    "附带：出生日期列早于 1900 年，DQ005 也可能报出",
                    also="DQ005",
                )
            else:  # 30 February
                first17 = good[:10] + "0230" + good[14:17]
                bad = first17 + check_char(first17)
                c.edit("members", "证件号码", row, bad)
                self.add("DQ012", "members", bad,
                         f"证件号码中的出生日期 {good[6:10]}-02-30 不存在（校验位正确）；"
                         "附带：出生日期列仍为原日期，DQ015 也可能报出", also="DQ015")  # fmt: skip
        # DQ013: ID stored as a number (precision lost)
        for row in self.pick_member_with(lambda r: not self.row_id(r).endswith("X")):
            good = self.row_id(row)
            shown = number_text(float(int(good)))
            c.edit("members", "证件号码", row, shown)
            self.add("DQ013", "members", shown,
                     f"证件号码被 Excel 存成数字（xlsx 中为数值单元格），显示为 {shown}，原号码 {good} 无法恢复；"
                     "附带：若不识别科学计数法，DQ010 也可能报出", also="DQ010")  # fmt: skip
        # DQ014: legacy 15-digit number
        born_1900s = (year_of(c.people.birth[m.pid]) <= 1999) & (year_of(c.people.birth[m.pid]) >= 1900)
        for row in id_rows(born_1900s):
            good = self.row_id(row)
            legacy = good[:6] + good[8:17]
            c.edit("members", "证件号码", row, legacy)
            self.add("DQ014", "members", legacy, f"15 位旧证件号码，升位后为 {good}")
        # DQ015: 出生日期 column disagrees with the ID (same year, so the age is unchanged)
        adult = (self.age >= 25) & (self.age <= 55)
        for row in id_rows(adult):
            b = int(m.birth_col[row])
            doy = b - int(year_start(year_of(np.array([b])))[0])
            m.birth_col[row] = b + 40 if doy < 300 else b - 40
            self.add("DQ015", "members", self.row_id(row),
                     f"出生日期列 {np.datetime64(int(m.birth_col[row]), 'D')} 与证件号码中的 "
                     f"{np.datetime64(b, 'D')} 不一致")  # fmt: skip
        # DQ016: region code unknown in every GB/T 2260 version
        for row in id_rows(np.ones(len(m), dtype=bool)):
            good = self.row_id(row)
            first17 = str(UNKNOWN_REGION) + good[6:17]
            bad = first17 + check_char(first17)
            c.edit("members", "证件号码", row, bad)
            self.add(
                "DQ016", "members", bad, f"地区码 {UNKNOWN_REGION} 不在任何版本的 GB/T 2260 中（校验位正确）"
            )
        # DQ017: placeholder (one repeated digit; at most ten distinct, so no two rows share one)
        for i, row in enumerate(id_rows(np.ones(len(m), dtype=bool), n=min(self.k, len(PLACEHOLDER_DIGITS)))):
            bad = PLACEHOLDER_DIGITS[i] * 18
            c.edit("members", "证件号码", row, bad)
            self.add("DQ017", "members", bad,
                     f"占位证件号码 {bad}（原号码 {self.row_id(row)}）；附带：其校验位/出生日期也无效，DQ011/DQ012 可能同时报出",
                     also="DQ011,DQ012")  # fmt: skip
        # DQ018: lower-case x / full-width digits (normalised: the number itself is valid)
        n_x = (self.k + 1) // 2
        for row in self.pick_member_with(lambda r: self.row_id(r).endswith("X"), n=n_x):
            good = self.row_id(row)
            c.edit("members", "证件号码", row, good[:17] + "x")
            self.add(
                "DQ018", "members", good[:17] + "x", f"证件号码末位为小写 x（规范化后 {good}，号码有效）"
            )
        rest = self.k - sum(1 for r in self.rows if r["rule"] == "DQ018")
        for row in id_rows(np.ones(len(m), dtype=bool), n=max(rest, 1)):
            good = self.row_id(row)
            wide = good.translate(FULLWIDTH)
            c.edit("members", "证件号码", row, wide)
            self.add("DQ018", "members", wide, f"证件号码为全角数字（规范化后 {good}，号码有效）")

    def pick_member_with(self, pred, n: int | None = None, mask: np.ndarray | None = None) -> np.ndarray:
        """Like pick_member on non-head members, with a per-row predicate (tried on a random sample)."""
        n = self.k if n is None else n
        m = self.c.members
        ok = ~self.is_head & ~self.used[m.hh]
        if mask is not None:
            ok &= mask
        rows = self.rng.permutation(np.flatnonzero(ok))
        out: list[int] = []
        seen: set[int] = set()
        for r in rows:
            h = int(m.hh[r])
            if h in seen or not pred(int(r)):
                continue
            out.append(int(r))
            seen.add(h)
            if len(out) >= n:
                break
        self.used[list(seen)] = True
        return np.array(sorted(out), dtype=np.int64)

    # --- DQ020–DQ038 (household structure)

    def copy_member(self, src: int, dst: int) -> None:
        m = self.c.members
        for name in ("pid", "rel", "health", "skill", "edu", "school", "work_months", "work_place", "dibao",
                     "tekun", "ins_rural", "ins_urban", "dropout", "phone", "birth_col"):  # fmt: skip
            arr = getattr(m, name)
            arr[dst] = arr[src]

    def dq_household_structure(self) -> None:
        c = self.c
        h = c.households
        m = c.members
        Y = self.Y
        general = h.attr == C.A_GENERAL
        # DQ020: the same person twice in one household (a second row overwrites another member)
        plain = ~np.isin(m.rel, (C.R_HEAD, C.R_SPOUSE))
        n_plain = np.bincount(m.hh, weights=plain, minlength=self.N)
        hs = self.pick_hh(self.free_cause & (n_plain >= 2) & general)
        for hh_ in hs:
            rows = [r for r in self.members_of(hh_) if plain[r]]
            dst_ok = [r for r in rows if not self.worker[r]]
            if not dst_ok:
                dst_ok = list(rows)
            dst = dst_ok[-1]
            src = next(r for r in rows if r != dst)
            if self.worker[dst] and self.n_workers[hh_] == 1 and not self.worker[src]:
                src, dst = dst, src
            self.copy_member(src, dst)
            self.add("DQ020", "members", self.row_id(src),
                     f"户 {self.hid(hh_)} 中同一人（{self.row_id(src)}）登记两行；行数仍等于家庭人口数 {h.count_col[hh_]}"
                     "（若按人数计，DQ035 也会报出）", also="DQ035")  # fmt: skip
        # DQ021: a household row repeated (exited household: village poor counts are unaffected)
        for hh_ in self.pick_hh(h.exited):
            c.dup_households.append(int(hh_))
            self.add("DQ021", "households", self.hid(hh_),
                     "户表中同一户编号出现两行（仅分表导出可见；平铺导出按户编号合并，不能表示重复户行）", "split")  # fmt: skip
        # DQ030: no 户主
        for hh_ in self.pick_hh(h.size >= 2):
            m.rel[h.mstart[hh_]] = C.R_OTHER
            self.add("DQ030", "members", self.hid(hh_), "户内没有“户主”（原户主的与户主关系写成“其他”）")
        # DQ031: two 户主 (the second of the head's sex, or no spouse: so no 户主–配偶 pair is same-sex)
        head_male = c.people.male[m.pid[h.mstart]]
        has_spouse = np.zeros(self.N, dtype=bool)
        has_spouse[m.hh[m.rel == C.R_SPOUSE]] = True
        same_sex = c.people.male[m.pid] == head_male[m.hh]
        adult_child = np.isin(m.rel, (C.R_SON, C.R_DAU)) & (self.age >= 18) & (same_sex | ~has_spouse[m.hh])
        for row in self.pick_member(adult_child):
            m.rel[row] = C.R_HEAD
            self.add(
                "DQ031",
                "members",
                self.hid(int(m.hh[row])),
                f"户内有两个户主（成员 {self.row_id(row)} 也写作“户主”）",
            )
        # DQ032: two 配偶 (the second one of the other sex than the head, so DQ033/DQ034 stay quiet)
        opp = (
            (c.people.male[m.pid] != head_male[m.hh])
            & ~self.is_head
            & (m.rel != C.R_SPOUSE)
            & (self.age >= 18)
        )
        for row in self.pick_member(opp, has_spouse):
            m.rel[row] = C.R_SPOUSE
            self.add(
                "DQ032",
                "members",
                self.hid(int(m.hh[row])),
                f"户内有两个配偶（成员 {self.row_id(row)} 也写作“配偶”）",
            )
        # DQ033: 户主 and 配偶 of the same sex (the spouse is replaced by a same-sex person)
        for row in self.pick_member(m.rel == C.R_SPOUSE):
            hh_ = int(m.hh[row])
            male = bool(head_male[hh_])
            birth = int(c.people.birth[m.pid[row]])
            new = c.people.add(np.array([male]), np.array([birth]), names_for(self.rng, np.array([male])))
            m.pid[row] = new[0]
            self.add(
                "DQ033",
                "members",
                self.hid(hh_),
                f"户主与配偶同为{'男' if male else '女'}性（证件号码与性别列一致）",
            )
        # DQ034: relation contradicts sex
        for row in self.pick_member(np.isin(m.rel, (C.R_SON, C.R_DAU))):
            was = m.rel[row]
            m.rel[row] = C.R_DAU if was == C.R_SON else C.R_SON
            sex = "男" if was == C.R_SON else "女"
            self.add(
                "DQ034", "members", self.row_id(row), f"与户主关系“{C.REL[m.rel[row]]}”与性别“{sex}”矛盾"
            )
        # DQ035: 家庭人口数 ≠ member rows (an exited household loses one member row)
        for hh_ in self.pick_hh(h.exited & (h.size >= 3) & self.free_cause):
            rows = self.members_of(hh_)[1:]
            cands = [r for r in rows if not self.worker[r]] or [r for r in rows if self.n_workers[hh_] > 1]
            if not cands:
                cands = list(rows)
            m.keep[cands[-1]] = False
            self.add(
                "DQ035",
                "households",
                self.hid(hh_),
                f"家庭人口数 {h.count_col[hh_]}，成员表只有 {h.size[hh_] - 1} 行",
            )
        # DQ036: flat export only — 户主姓名 differs on one member row
        for hh_ in self.pick_hh(h.size >= 2):
            row = int(h.mstart[hh_]) + 1
            other = c.people.name(m.pid[h.mstart[hh_]])
            wrong = other[0] + ("晓" if other[-1] != "晓" else "明")
            c.flat_patches.append((self.row_id(row), "户主姓名", wrong))
            self.add("DQ036", "households", self.hid(hh_),
                     f"平铺导出中同一户的“户主姓名”不一致：成员 {self.row_id(row)} 所在行写“{wrong}”，其他行写“{other}”"
                     "（分表导出中不存在）", "flat")  # fmt: skip
        # DQ037: a member whose 户编号 has no household row (only in split exports)
        vcode = c.villages.code
        for i in range(self.k):
            vi = i % len(vcode)
            hid = f"{int(vcode[vi])}{9990 + i % 10:04d}" if i < 10 else f"{int(vcode[vi])}{9000 + i:04d}"
            age = 35 + i % 20
            male = bool(i % 2 == 0)
            birth = day(Y - age, 3, 1) + i % 200
            sur, giv = names_for(self.rng, np.array([male]))
            name = str(pools().surnames[sur[0]]) + str(pools().given_all[giv[0]])
            pid = int(c.people.add(np.array([male]), np.array([birth]), (sur, giv))[0])
            c.extra_rows.setdefault("members", []).append({
                "户编号": hid, "姓名": name, "性别": "男" if male else "女",
                "出生日期": str(np.datetime64(birth, "D")), "证件号码": ("pid", pid), "与户主关系": "户主",
                "健康状况": "健康", "劳动技能": "普通劳动力", "文化程度": "初中", "在校生状况": "", "务工时间": "",
                "务工所在地": "", "是否享受低保": C.NO, "是否特困供养人员": C.NO, "是否参加城乡居民基本医疗保险": C.YES,
                "是否参加城镇职工基本医疗保险": C.NO, "失学或辍学原因": "", "成员联系电话": "", "年度": str(Y),
            })  # fmt: skip
            self.add("DQ037", "members", hid,
                     f"成员表中的户编号 {hid} 在户表中不存在（仅分表导出可见；平铺导出无法表示无户行的成员）", "split")  # fmt: skip
        # DQ038: household in a village missing from the village table (exited: no poor counts move)
        taken = set(c.villages.name.tolist())
        spare_names = [n for n in pools().village_names if n not in taken]
        for i, hh_ in enumerate(self.pick_hh(h.exited)):
            name = spare_names[i % len(spare_names)]
            c.village_name_override[int(hh_)] = name
            self.add("DQ038", "households", self.hid(hh_), f"户所在村“{name}”不在村信息表中")

    # --- DQ040–DQ044 (member fields)

    def dq_members(self) -> None:
        c = self.c
        m = c.members
        # DQ040: both / neither of 文化程度 and 在校生状况
        rows = self.pick_member(self.student, n=(self.k + 1) // 2)
        for row in rows:
            m.edu[row] = 1
            self.add(
                "DQ040",
                "members",
                self.row_id(row),
                f"文化程度“小学”与在校生状况“{C.SCHOOL[m.school[row]]}”同时填写",
            )
        for row in self.pick_member((m.edu >= 0) & (self.age >= 16) & ~self.is_head, n=max(1, self.k // 2)):
            m.edu[row] = -1
            self.add("DQ040", "members", self.row_id(row), "文化程度与在校生状况都为空")
        # DQ041: age inconsistent with 在校生状况
        for row in self.pick_member((m.school == C.SC_PRIMARY) & (self.age <= 9)):
            m.school[row] = C.SC_G9
            self.add("DQ041", "members", self.row_id(row), f"{self.age[row]} 岁在读“九年级”（应 11–17 岁）")
        # DQ042: under 16 with a labour skill
        for row in self.pick_member((self.age >= 6) & (self.age <= 14)):
            m.skill[row] = C.S_NORMAL
            self.add("DQ042", "members", self.row_id(row), f"{self.age[row]} 岁却为“普通劳动力”")
        # DQ043: 务工所在地 without 务工时间 (in a household with another worker, so DQ056 stays quiet)
        for row in self.pick_member(self.worker, self.n_workers >= 2):
            m.work_months[row] = 0
            self.add(
                "DQ043",
                "members",
                self.row_id(row),
                f"有务工所在地“{WORKPLACES[m.work_place[row]]}”但务工时间为空",
            )
        # DQ044: malformed phone number
        for i, row in enumerate(self.pick_member(~self.is_head & (self.age >= 18))):
            bad = (
                f"12{(i * 7919 + 12345678) % 10**9:09d}"
                if i % 2 == 0
                else f"{(i * 7919 + 2345678) % 10**7:07d}"
            )
            c.edit("members", "成员联系电话", row, bad)
            self.add("DQ044", "members", self.row_id(row), f"成员联系电话“{bad}”不是 1[3-9] 开头的 11 位号码")

    # --- DQ050–DQ056 (income and causes)

    def exited_pool(self) -> np.ndarray:
        h = self.c.households
        return h.exited & self.old_ident

    def dq_income(self) -> None:
        c = self.c
        h = c.households
        m = c.members
        inc = h.income
        ex = self.exited_pool()
        for hh_ in self.pick_hh(ex, fallback=c.households.exited):
            inc["纯收入"][hh_] += 120_000
            inc["人均纯收入"][hh_] = per_capita(inc["纯收入"][hh_ : hh_ + 1], h.count_col[hh_ : hh_ + 1])[0]
            self.add("DQ050", "households", self.hid(hh_),
                     f"纯收入 {_yuan(inc['纯收入'][hh_])} 元，各项收入合计减生产经营性支出为 "
                     f"{_yuan(inc['纯收入'][hh_] - 120_000)} 元（差 1200.00 元）")  # fmt: skip
        for hh_ in self.pick_hh(ex, fallback=c.households.exited):
            inc["人均纯收入"][hh_] += 50_000
            self.add("DQ051", "households", self.hid(hh_),
                     f"人均纯收入 {_yuan(inc['人均纯收入'][hh_])} 元，纯收入 {_yuan(inc['纯收入'][hh_])} 元 ÷ "
                     f"{h.count_col[hh_]} 人 = {_yuan(inc['人均纯收入'][hh_] - 50_000)} 元")  # fmt: skip
        for hh_ in self.pick_hh(ex, fallback=c.households.exited):
            inc["其他转移性收入"][hh_] += 30_000
            parts = sum(
                inc[x][hh_]
                for x in ("计划生育金", "低保金", "五保金", "养老保险金", "生态补偿金", "其他转移性收入")
            )
            self.add("DQ052", "households", self.hid(hh_),
                     f"转移性收入 {_yuan(inc['转移性收入'][hh_])} 元，分项合计 {_yuan(parts)} 元")  # fmt: skip
        for hh_ in self.pick_hh(ex, fallback=c.households.exited):
            inc["生产经营性收入"][hh_] -= inc["生产经营性支出"][hh_]
            inc["生产经营性支出"][hh_] = 0
            self.add("DQ053", "households", self.hid(hh_),
                     f"生产经营性收入 {_yuan(inc['生产经营性收入'][hh_])} 元而生产经营性支出为 0（纯收入不变）")  # fmt: skip
        # DQ054: 次要 = 主要 / 因病 with every member healthy (a 健康帮扶 measure is added so SY205 stays quiet)
        for hh_ in self.pick_hh(self.free_cause, n=(self.k + 1) // 2):
            h.cause2[hh_] = h.cause[hh_]
            self.add(
                "DQ054",
                "households",
                self.hid(hh_),
                f"次要致贫原因与主要致贫原因相同（“{C.CAUSES[h.cause[hh_]]}”）",
            )
        for hh_ in self.pick_hh(self.free_cause & self.all_healthy, n=max(1, self.k // 2)):
            h.cause[hh_] = C.C_ILL
            if h.cause2[hh_] == C.C_ILL:
                h.cause2[hh_] = -1
            self.add_measure(int(hh_), C.M_HEALTH)
            self.add(
                "DQ054",
                "households",
                self.hid(hh_),
                f"主要致贫原因“因病”，但全部 {h.size[hh_]} 名成员健康状况为“健康”",
            )
        # DQ055: 低保 household whose members are not 低保 / whose 低保金 is 0
        dibao = h.attr == C.A_DIBAO
        for hh_ in self.pick_hh(dibao, n=(self.k + 1) // 2):
            m.dibao[self.members_of(hh_)] = False
            label = (C.ATTR_EXITED if h.exited[hh_] else C.ATTR_POOR)[C.A_DIBAO]
            self.add(
                "DQ055", "households", self.hid(hh_), f"贫困户属性“{label}”，但没有成员“是否享受低保”为是"
            )
        for hh_ in self.pick_hh(dibao & h.poor, n=max(1, self.k // 2), fallback=dibao):
            db = int(inc["低保金"][hh_])
            inc["低保金"][hh_] = 0
            inc["转移性收入"][hh_] -= db
            inc["纯收入"][hh_] -= db
            inc["人均纯收入"][hh_] = per_capita(inc["纯收入"][hh_ : hh_ + 1], h.count_col[hh_ : hh_ + 1])[0]
            h.prev_pc[hh_] = min(h.prev_pc[hh_], inc["人均纯收入"][hh_])
            self.add(
                "DQ055",
                "households",
                self.hid(hh_),
                f"低保户低保金为 0（原 {_yuan(db)} 元已从转移性收入和纯收入中扣除）",
            )
        # DQ056: 工资性收入 > 0 but nobody works
        for hh_ in self.pick_hh(self.n_workers == 1):
            rows = self.members_of(hh_)
            w = rows[self.worker[rows]][0]
            m.work_months[w] = 0
            m.work_place[w] = -1
            self.add("DQ056", "households", self.hid(hh_),
                     f"工资性收入 {_yuan(inc['工资性收入'][hh_])} 元，但没有成员务工（唯一务工成员的务工时间和务工所在地已清空）")  # fmt: skip

    def add_measure(self, hh_: int, mtype: int, year: int | None = None) -> None:
        c = self.c
        h = c.households
        ms = c.measures
        Y = self.Y if year is None else year
        helper = int(h.helper[hh_])
        t = np.array([mtype])
        ms.append(dict(
            hh=[hh_], village=[h.village[hh_]], mtype=t, unit=[c.helper_unit[max(helper, 0)]], helper=[helper],
            date=[day(Y, 6, 1) + hh_ % 150], amount=measure_amounts(self.rng, t), recipient=[c.members.pid[h.mstart[hh_]]],
            year=[Y], content=measure_contents(self.rng, t),
        ))  # fmt: skip

    # --- SY1: identification

    def sy1(self) -> None:
        c = self.c
        h = c.households
        m = c.members
        d = h.dates
        for hh_ in self.pick_hh(np.ones(self.N, dtype=bool)):
            d["民主评议日期"][hh_] = d["申请日期"][hh_] - 10
            self.add("SY101", "households", self.hid(hh_),
                     f"民主评议日期 {np.datetime64(int(d['民主评议日期'][hh_]), 'D')} 早于申请日期 "
                     f"{np.datetime64(int(d['申请日期'][hh_]), 'D')}")  # fmt: skip
        for hh_ in self.pick_hh(np.ones(self.N, dtype=bool)):
            d["公示结束日期"][hh_] = d["公示开始日期"][hh_] + 3
            self.add("SY102", "households", self.hid(hh_),
                     f"公示 {np.datetime64(int(d['公示开始日期'][hh_]), 'D')} 至 "
                     f"{np.datetime64(int(d['公示结束日期'][hh_]), 'D')}，只有 3 天（少于 7 天）")  # fmt: skip
        # SY103: a child registered in two households (scopes rotate: 同村, 同乡镇, 同县)
        general = h.attr == C.A_GENERAL
        kid = (self.age < 16) & ~self.worker & np.isin(m.rel, (C.R_SON, C.R_DAU, C.R_GSON, C.R_GDAU))
        hkid = np.bincount(m.hh, weights=kid, minlength=self.N) > 0
        ok = general & hkid & self.free_cause & ~self.used
        town = c.villages.town[h.village]
        cand = np.flatnonzero(ok)  # sorted by household, hence by village and township
        cv = h.village[cand]
        ct = town[cand]

        def try_pick(lo: int, hi: int, accept) -> int | None:
            for _ in range(60):
                if hi <= lo:
                    return None
                x = int(cand[int(self.rng.integers(lo, hi))])
                if not self.used[x] and accept(x):
                    return x
            return None

        for i in range(self.k if len(cand) >= 2 else 0):
            a = try_pick(0, len(cand), lambda x: True)
            if a is None:
                break
            self.used[a] = True
            scope = i % 3
            va, ta = h.village[a], town[a]
            if scope == 0:
                lo, hi = np.searchsorted(cv, va, "left"), np.searchsorted(cv, va, "right")
                b = try_pick(lo, hi, lambda x: True)
            elif scope == 1:
                lo, hi = np.searchsorted(ct, ta, "left"), np.searchsorted(ct, ta, "right")
                b = try_pick(lo, hi, lambda x, va=va: h.village[x] != va)
            else:
                b = try_pick(0, len(cand), lambda x, ta=ta: town[x] != ta)
            if b is None:
                b = try_pick(0, len(cand), lambda x: True)
            if b is None:
                break
            self.used[b] = True
            src = next(r for r in self.members_of(a) if kid[r])
            dst = next(r for r in self.members_of(b) if kid[r])
            self.copy_member(src, dst)
            if h.village[a] == h.village[b]:
                where = "同村"
            elif town[a] == town[b]:
                where = "同乡镇"
            else:
                where = "同县"
            self.add("SY103", "members", self.row_id(src),
                     f"同一人（{self.row_id(src)}）同时登记在户 {self.hid(a)} 和户 {self.hid(b)}（{where}）")  # fmt: skip
        # SY104: two households share one phone number
        both = self.rng.permutation(self.pick_hh(np.ones(self.N, dtype=bool), 2 * self.k))
        for j in range(len(both) // 2):
            a, b = int(both[2 * j]), int(both[2 * j + 1])
            h.phone[b] = h.phone[a]
            m.phone[h.mstart[b]] = h.phone[a]
            for x, y in ((a, b), (b, a)):
                self.add(
                    "SY104",
                    "households",
                    self.hid(x),
                    f"户 {self.hid(x)} 与户 {self.hid(y)} 共用联系电话 {h.phone[a]}",
                )

    # --- SY2: process

    def helper_households(self, helper: int) -> np.ndarray:
        return np.flatnonzero(self.c.households.helper == helper)

    def sy2(self) -> None:
        c = self.c
        h = c.households
        ms = c.measures
        Y = self.Y
        # SY201: poor household without 帮扶责任人
        for hh_ in self.pick_hh(h.poor):
            h.helper[hh_] = -1
            ms.helper[self.hh_measures(hh_)] = -1
            self.add(
                "SY201",
                "households",
                self.hid(hh_),
                f"{C.STATUS[h.status[hh_]]}户没有帮扶责任人（户表与结对表均无）",
            )
        # SY202: a 帮扶责任人 who is a registered member
        nh = len(c.helper_pid)
        counts = np.bincount(h.helper[h.helper >= 0], minlength=nh)
        rows = self.pick_member(~self.is_head & (self.age >= 25) & (self.age <= 58))
        for row, hp in zip(rows, self.pick_helpers(counts, len(rows)), strict=False):
            c.helper_pid[hp] = c.members.pid[row]
            self.add("SY202", "helpers", self.row_id(row),
                     f"帮扶责任人 {c.people.name(c.members.pid[row])}（{self.row_id(row)}）本人是户 "
                     f"{self.hid(int(c.members.hh[row]))} 的登记成员")  # fmt: skip
        # SY203: a 帮扶责任人 with more than 10 households (12 neighbouring households moved to one helper)
        for _ in range(self.k):
            run = self.free_run(12)
            if run is None:
                break
            x = int(h.helper[run[0]])
            self.helper_used[x] = True
            n = int(counts[x] + (h.helper[run] != x).sum())
            h.helper[run] = x
            for hh_ in run:
                rows = self.hh_measures(int(hh_))
                ms.helper[rows] = x
                ms.unit[rows] = c.helper_unit[x]
            self.add("SY203", "helpers", self.pid_id(int(c.helper_pid[x])),
                     f"帮扶责任人 {c.people.name(c.helper_pid[x])} 结对 {n} 户（超过 10 户）")  # fmt: skip
        # SY204: poor household with no measure this year (cause without a mapped measure, nobody able
        # to work: so SY205/SY206 have nothing to say)
        quiet = np.isin(h.cause, C.UNMAPPED_CAUSES) & ~h.able
        for hh_ in self.pick_hh(h.poor & quiet & (h.ident < Y), fallback=h.poor & (h.ident < Y)):
            self.shift_to_last_year(self.hh_measures(hh_))
            extra = "" if quiet[hh_] else "；附带：SY205/SY206 也可能报出"
            self.add("SY204", "households", self.hid(hh_),
                     f"{C.STATUS[h.status[hh_]]}户 {Y} 年无任何帮扶措施（措施均记在 {Y - 1} 年）{extra}",
                     also="" if quiet[hh_] else "SY205,SY206")  # fmt: skip
        # SY205: no measure matching the main cause (the cause measure becomes 社会帮扶)
        cmap = np.array([C.CAUSE_MEASURE[x] if x >= 0 else -1 for x in range(len(C.CAUSES))])
        nondev_cause = np.isin(h.cause, (C.C_ILL, C.C_DISAB, C.C_STUDY, C.C_DISASTER, C.C_WATER, C.C_LABOUR))
        # not 缺劳力: SY205 also accepts 公益岗位帮扶 for it, which may be the household's developmental measure
        only_match = np.isin(h.cause, (C.C_ILL, C.C_DISAB, C.C_STUDY, C.C_DISASTER, C.C_WATER))
        for hh_ in self.pick_hh(h.poor & only_match, fallback=only_match):
            rows = self.hh_measures(hh_)
            r = rows[ms.mtype[rows] == cmap[h.cause[hh_]]][0]
            ms.mtype[r] = C.M_SOCIAL
            ms.content[r] = C.CONTENT_INDEX[C.M_SOCIAL][0]
            self.add("SY205", "households", self.hid(hh_),
                     f"主要致贫原因“{C.CAUSES[h.cause[hh_]]}”，{Y} 年措施中没有对应的{C.MEASURES[cmap[h.cause[hh_]]]}")  # fmt: skip
        # SY206: able-bodied member but no developmental measure
        for hh_ in self.pick_hh(h.able & nondev_cause):
            rows = self.hh_measures(hh_)
            dev = rows[np.isin(ms.mtype[rows], C.DEVELOPMENTAL)]
            ms.mtype[dev] = C.M_SOCIAL
            ms.content[dev] = C.CONTENT_INDEX[C.M_SOCIAL][1]
            left = "、".join(C.MEASURES[t] for t in ms.mtype[rows])
            self.add(
                "SY206",
                "households",
                self.hid(hh_),
                f"户内有 16–60 岁有劳动能力成员，{Y} 年措施只有：{left}（无开发式措施）",
            )
        # SY208: exited household with no measure this year
        for hh_ in self.pick_hh(h.exited & quiet, fallback=h.exited):
            self.shift_to_last_year(self.hh_measures(hh_))
            extra = "" if quiet[hh_] else "；附带：SY205/SY206 也可能报出"
            self.add("SY208", "households", self.hid(hh_),
                     f"已脱贫户 {Y} 年无任何帮扶措施或走访（措施均记在 {Y - 1} 年）{extra}",
                     also="" if quiet[hh_] else "SY205,SY206")  # fmt: skip
        # SY404: a 帮扶单位 with nothing in the data year (its helper's unit is renamed; measures keep the old unit)
        counts = np.bincount(h.helper[h.helper >= 0], minlength=nh)
        n404 = village_plants(self.p, len(c.villages)) if self.k > 1 else 1
        for i, hp in enumerate(self.pick_helpers(counts, n404)):
            name = f"{self.p.county}驻村扶贫工作队第{i + 1}分队"
            c.units.append(name)
            c.helper_unit[hp] = len(c.units) - 1
            self.add(
                "SY404",
                "helpers",
                name,
                f"帮扶单位“{name}”结对 {counts[hp]} 户，但 {Y} 年没有任何措施、项目、资金或走访记录",
            )

    def pick_helpers(self, counts: np.ndarray, n: int) -> list[int]:
        """n distinct unused helpers that have households."""
        free = np.flatnonzero((counts > 0) & ~self.helper_used)
        pick = (
            self.rng.choice(free, size=min(n, len(free)), replace=False) if len(free) else np.array([], int)
        )
        self.helper_used[pick] = True
        return [int(x) for x in pick]

    def free_run(self, length: int) -> np.ndarray | None:
        """`length` neighbouring unused households whose helpers nobody else has touched."""
        h = self.c.households
        for _ in range(200):
            s = int(self.rng.integers(0, max(1, self.N - length)))
            run = np.arange(s, min(s + length, self.N))
            if (
                len(run) == length
                and not self.used[run].any()
                and (h.helper[run] >= 0).all()
                and not self.helper_used[h.helper[run]].any()
            ):
                self.used[run] = True
                return run
        return None

    # --- SY3: exit

    def sy3(self) -> None:
        h = self.c.households
        Y = self.Y
        for hh_ in self.pick_hh(h.exited & self.old_ident, fallback=h.exited):
            h.exit_year[hh_] = h.ident[hh_]
            self.add("SY303", "households", self.hid(hh_), f"识别年度与脱贫年度同为 {h.ident[hh_]} 年")
        # years stay inside the default poverty-line table (2014–2020) where possible: a rule that looks up
        # the line of 脱贫年度 should not meet a year it has no line for
        for i, hh_ in enumerate(self.pick_hh(h.exited & (h.ident >= 2015), fallback=h.exited)):
            options = ["blank"]
            if h.ident[hh_] - 1 >= 2014:
                options.append("before")
            if max(POVERTY_LINE) >= Y + 1:
                options.append("after")
            variant = options[i % len(options)]
            if variant == "blank":
                h.exit_year[hh_] = 0
                text = "已脱贫但脱贫年度为空"
            elif variant == "before":
                h.exit_year[hh_] = h.ident[hh_] - 1
                text = f"脱贫年度 {h.exit_year[hh_]} 早于识别年度 {h.ident[hh_]}"
            else:
                h.exit_year[hh_] = Y + 1
                text = f"脱贫年度 {Y + 1} 晚于数据年度 {Y}"
            self.add("SY304", "households", self.hid(hh_), text)

    # --- SY4: discipline (deaths, payments)

    def roster_row(self, kind: str, pid: int, date: int, detail: str, pc: int = -1) -> None:
        self.c.rosters.append(dict(kind=[kind], pid=[pid], date=[date], detail=[detail], pc=[pc]))

    def new_person(self, age: int, male: bool | None = None) -> int:
        c = self.c
        male = bool(self.rng.random() < 0.5) if male is None else male
        birth = day(self.Y - age, 1, 1) + int(self.rng.integers(0, 360))
        return int(
            c.people.add(np.array([male]), np.array([birth]), names_for(self.rng, np.array([male])))[0]
        )

    def sy4(self) -> None:
        c = self.c
        m = c.members
        ms = c.measures
        Y = self.Y
        death = C.ROSTER_KINDS[C.K_DEATH]
        for row in self.pick_member(~self.is_head):
            d = day(Y - 1, 5, 1) + int(row % 200)
            self.roster_row(death, int(m.pid[row]), d, "户籍注销（死亡）")
            self.add("SY401", "members", self.row_id(row),
                     f"死亡名单记载 {np.datetime64(d, 'D')} 死亡（早于数据年度 {Y}），仍登记在户 {self.hid(int(m.hh[row]))}")  # fmt: skip
        for hh_ in self.pick_hh(np.ones(self.N, dtype=bool)):
            r = int(self.hh_measures(hh_)[0])
            pid = self.new_person(45)
            ms.recipient[r] = pid
            self.pending_keys.append((len(self.rows), pid))
            self.add("SY402", "measures", "",
                     f"户 {self.hid(hh_)} 的{C.MEASURES[ms.mtype[r]]} {_yuan(ms.amount[r])} 元发给了未登记人员")  # fmt: skip
        for hh_ in self.pick_hh(np.ones(self.N, dtype=bool)):
            r = int(self.hh_measures(hh_)[0])
            ms.append(
                {name: getattr(ms, name)[[r]] for name in ms.__dataclass_fields__ if not name.startswith("_")}
            )
            self.add("SY403", "measures", self.hid(hh_),
                     f"同一笔{C.MEASURES[ms.mtype[r]]} {_yuan(ms.amount[r])} 元（{np.datetime64(int(ms.date[r]), 'D')}，"
                     f"领取人 {self.pid_id(int(ms.recipient[r]))}）记录两次")  # fmt: skip

    # --- LG

    def lg(self) -> None:
        c = self.c
        h = c.households
        m = c.members
        Y = self.Y
        line_hi = poverty_line_high(Y)
        # LG101: on a 低保/特困 roster (or a low-income roster row) but not registered
        for i in range(self.k):
            pid = self.new_person(40 + i % 30)
            variant = i % 3
            if variant == 2:
                pc = int(0.6 * poverty_line(Y) * 100)
                self.roster_row("低收入人口", pid, day(Y, 3, 1), "农村低收入人口排查", pc)
                text = f"比对名单（低收入人口）人均纯收入 {_yuan(pc)} 元低于贫困线 {poverty_line(Y)} 元，但未建档立卡"
            else:
                kind = C.ROSTER_KINDS[(C.K_DIBAO, C.K_TEKUN)[variant]]
                self.roster_row(kind, pid, day(Y, 2, 1) + i % 100, f"农村{kind}对象")
                text = f"在{kind}名单上，但不在任何建档立卡户中"
            self.pending_keys.append((len(self.rows), pid))
            self.add("LG101", "rosters", "", text)
        # LG102: 2021+ only
        if Y >= 2021:
            hs = self.pick_hh(h.exited & self.old_ident & (h.exit_year <= 2020), fallback=h.exited)
            self.reincome(hs, 0.95 * 6000, 1.05)
            for hh_ in hs:
                self.add("LG102", "households", self.hid(hh_),
                         f"已脱贫户人均纯收入 {_yuan(h.income['人均纯收入'][hh_])} 元低于 {Y} 年监测线 6000 元，且不是监测对象")  # fmt: skip
        else:
            self.add(
                "LG102",
                "households",
                "",
                f"数据年度 {Y} 早于 2021 年，LG102（监测对象）不适用，未植入",
                "none",
            )
        # LG201: 应退未退
        ok = (h.status == C.ST_POOR) & ~h.weifang & h.water
        hs = self.pick_hh(ok & self.old_ident, fallback=ok & (h.ident < Y))
        self.reincome(hs, 1.5 * line_hi, 0.9, share_cap=0.5)
        for hh_ in hs:
            self.add("LG201", "households", self.hid(hh_),
                     f"未脱贫户（{h.ident[hh_]} 年识别）人均纯收入 {_yuan(h.income['人均纯收入'][hh_])} 元高于 {Y} 年贫困线 "
                     f"{poverty_line(Y)} 元，住房、饮水、教育、医保均有保障")  # fmt: skip
        # LG202: everybody in the household is dead (single-person household; died after the last payment)
        death = C.ROSTER_KINDS[C.K_DEATH]
        for hh_ in self.pick_hh(h.size == 1):
            d = day(Y, 12, 20)
            self.roster_row(death, int(m.pid[h.mstart[hh_]]), d, "户籍注销（死亡）")
            self.add("LG202", "households", self.hid(hh_),
                     f"全部 1 名成员已于 {np.datetime64(d, 'D')} 死亡，户仍在册；附带：若把“数据年度之前”理解为参考日之前，SY401 也会报出",
                     also="SY401")  # fmt: skip
        # LG301: a member on a disqualifying roster
        kinds = (C.K_PAYROLL, C.K_CAR, C.K_HOUSE, C.K_BUSINESS)
        pl = self.p.place
        details = (f"{pl.county}农业农村局在编人员", pl.plate + "·8A{:03d} 小型普通客车",
                   f"{pl.county}{pl.townships[0]}城东花园" + " 8 栋 {:03d} 室", pl.county + "{:03d}商贸有限公司 法定代表人")  # fmt: skip
        for i, row in enumerate(self.pick_member((self.age >= 22) & (self.age <= 60))):
            kind = C.ROSTER_KINDS[kinds[i % 4]]
            detail = details[i % 4].format(100 + i % 900)
            self.roster_row(kind, int(m.pid[row]), day(Y - 1, 8, 1), detail)
            self.add("LG301", "members", self.row_id(row), f"成员在{kind}名单上（{detail}）")
        # LG302: identified this year with an income above this year's line
        new = (h.ident == Y) & (h.status == C.ST_POOR)
        hs = self.pick_hh(new, fallback=(h.status == C.ST_POOR))
        for hh_ in hs:
            if h.ident[hh_] != Y:  # move the identification into the data year
                shift = day(Y, 1, 1) - int(year_start(np.array([h.ident[hh_]]))[0])
                for col in C.PROCEDURE_COLS:
                    h.dates[col][hh_] += shift
                h.helper_start[hh_] = min(int(h.dates["公告日期"][hh_]) + 10, day(Y, 12, 31))
                h.ident[hh_] = Y
        self.reincome(hs, 1.3 * line_hi, 0.9, share_cap=0.5)
        for hh_ in hs:
            self.add("LG302", "households", self.hid(hh_),
                     f"{Y} 年识别，当年人均纯收入 {_yuan(h.income['人均纯收入'][hh_])} 元高于 {Y} 年贫困线 {poverty_line(Y)} 元")  # fmt: skip
        # LG401: exited this year with income at or below this year's line (also below 5000: IN001)
        line_now = min(poverty_line(Y), POVERTY_LINE[2020])
        for hh_ in self.pick_exits(this_year=True):
            self.reincome(np.array([hh_]), 0.85 * line_now, 1.05, monitor=True)
            self.add("LG401", "households", self.hid(hh_),
                     f"{Y} 年脱贫，人均纯收入 {_yuan(h.income['人均纯收入'][hh_])} 元不高于 {Y} 年贫困线 "
                     f"{line_now} 元；附带：低于 5000 元，IN001 也会报出", also="IN001")  # fmt: skip
        # LG403: exited earlier, now between the exit year's line and this year's (not 错退: 返贫 unmarked)
        for hh_ in self.pick_exits(this_year=False):
            ey = int(h.exit_year[hh_])
            old = min(poverty_line(ey), POVERTY_LINE[2020])
            self.reincome(np.array([hh_]), (old + line_now) / 2 if old < line_now else 0.95 * line_now, 1.05,
                          monitor=True)  # fmt: skip
            self.add("LG403", "households", self.hid(hh_),
                     f"{ey} 年脱贫（当年线 {old} 元），{Y} 年人均纯收入 {_yuan(h.income['人均纯收入'][hh_])} 元不高于 "
                     f"{Y} 年贫困线 {line_now} 元：疑似返贫未标注；附带：低于 5000 元，IN001 也会报出", also="IN001")  # fmt: skip
        # LG402 (exited this year) and LG404 (exited earlier): a 三保障 / water gap (four variants)
        has_kid = np.bincount(m.hh, weights=(self.age >= 6) & (self.age <= 15), minlength=self.N) > 0
        for rule, this_year in (("LG402", True), ("LG404", False)):
            n_kid = self.k // 4
            kid_hh = self.pick_exits(this_year, n_kid, has_kid & (h.cause != C.C_STUDY))
            other_hh = self.pick_exits(this_year, self.k - len(kid_hh))
            jobs = [(int(x), i % 3) for i, x in enumerate(other_hh)] + [(int(x), 3) for x in kid_hh]
            for hh_, variant in jobs:
                text = self.guarantee_gap(hh_, variant)
                if this_year:
                    self.add(rule, "households", self.hid(hh_), f"{Y} 年脱贫户三保障未达标：{text}")
                else:
                    self.add(rule, "households", self.hid(hh_),
                             f"{h.exit_year[hh_]} 年脱贫户 {Y} 年三保障未达标（成果未巩固）：{text}")  # fmt: skip

    def pick_exits(
        self, this_year: bool, n: int | None = None, extra: np.ndarray | None = None
    ) -> np.ndarray:
        """Exited households (identified two or more years ago) that exited in the data year, or
        before it; without any, exited households whose 脱贫年度 is moved there."""
        h = self.c.households
        Y = self.Y
        mask = h.exited & self.old_ident & (True if extra is None else extra)
        when = (h.exit_year == Y) if this_year else (h.exit_year > 0) & (h.exit_year < Y)
        hs = self.pick_hh(mask & when, n, fallback=mask)
        moved = hs[~when[hs]]
        h.exit_year[moved] = Y if this_year else np.maximum(h.ident[moved] + 1, Y - 1)
        return hs

    def guarantee_gap(self, hh_: int, variant: int) -> str:
        """Break one of the 三保障 / water guarantees of a household; the manifest text."""
        c = self.c
        h, m = c.households, c.members
        rows = self.members_of(hh_)
        if variant == 0:
            h.weifang[hh_] = True
            return "是否危房户为“是”"
        if variant == 1:
            h.water[hh_] = False
            return "是否解决安全饮用水为“否”"
        if variant == 2:
            r = rows[-1]
            m.ins_rural[r] = False
            return f"成员 {self.row_id(r)} 既未参加城乡居民基本医疗保险也未参加城镇职工基本医疗保险"
        r = next(x for x in rows if 6 <= self.age[x] <= 15)
        m.school[r] = -1
        m.edu[r] = 1
        m.dropout[r] = 0
        return f"{self.age[r]} 岁成员 {self.row_id(r)} 辍学（在校生状况为空，失学或辍学原因已填）"

    # --- IN

    def income_risk(self) -> None:
        h = self.c.households
        Y = self.Y
        line = poverty_line(Y)
        pool = h.exited & self.old_ident
        hs = self.pick_hh(pool, fallback=h.exited)
        self.reincome(hs, 4600, 1.05, monitor=True)
        for hh_ in hs:
            self.add("IN001", "households", self.hid(hh_),
                     f"已脱贫户人均纯收入 {_yuan(h.income['人均纯收入'][hh_])} 元，低于返贫风险线 5000 元")  # fmt: skip
        hs = self.pick_hh(pool & (h.exit_year <= min(Y, 2020)), fallback=h.exited)
        self.reincome(hs, 1.02 * line, 1.02, monitor=True)
        for hh_ in hs:
            self.add("IN002", "households", self.hid(hh_),
                     f"已脱贫户人均纯收入 {_yuan(h.income['人均纯收入'][hh_])} 元，在 {Y} 年贫困线 {line} 元至其 1.05 倍 "
                     f"{line * 1.05:.2f} 元之间；附带：低于 5000 元，IN001 也会报出", also="IN001")  # fmt: skip
        hs = self.pick_hh(pool, fallback=h.exited)
        self.reincome(hs, 1.3 * self.p.exit_floor, 1.0, share_cap=0.7, share_min=0.62)
        inc = h.income
        for hh_ in hs:
            share = inc["转移性收入"][hh_] / inc["纯收入"][hh_]
            self.add("IN003", "households", self.hid(hh_),
                     f"已脱贫户转移性收入 {_yuan(inc['转移性收入'][hh_])} 元占纯收入 {_yuan(inc['纯收入'][hh_])} 元的 {share:.0%}（超过 50%）")  # fmt: skip
        for hh_ in self.pick_hh(pool, fallback=h.exited):
            cur = int(h.income["人均纯收入"][hh_])
            h.prev_pc[hh_] = int(cur * 1.6)
            last_year = bool(h.ident[hh_] == Y - 1)
            self.add("IN004", "households", self.hid(hh_),
                     f"人均纯收入由上年 {_yuan(h.prev_pc[hh_])} 元降至 {_yuan(cur)} 元，下降 {1 - cur / h.prev_pc[hh_]:.1%}（超过 30%）"
                     + ("；附带：该户上年识别，上年收入高于上年贫困线，LG302 也会报出" if last_year else ""),
                     also="LG302" if last_year else "")  # fmt: skip


def plant(county: County) -> pd.DataFrame:
    """Plant every rule into `county` (in place); return the manifest."""
    planter = Planter(county)
    planter.plant_all()
    done = {r["rule"] for r in planter.rows}
    for rule in C.ALL_RULES:  # tiny counties lack suitable records for some rules: say so
        if rule not in done:
            planter.add(
                rule,
                "",
                "",
                f"{planter.N} 户的样本中没有合适的记录，未植入（约 200 户以上可植入全部规则）",
                "none",
            )
    county.people.finalize_ids(county.rng)
    for idx, pid in planter.pending_keys:
        planter.rows[idx]["key"] = planter.pid_id(pid)
    return planter.manifest()
