"""Render a `County` model as string DataFrames with canonical headers.

Columns are built as Arrow large_string arrays straight from numpy buffers (numbers, dates and IDs are
formatted digit by digit, labels are gathered from small dictionaries), so a million households
render in seconds and pandas wraps the arrays without copying.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import columns as C
from .idnum import civil, id_strings
from .model import County
from .pools import WORKPLACES, pools

STR = "str"
LS = pa.large_string()  # what pandas' str dtype stores: no conversion when the frame is built


def series(arr: pa.Array | np.ndarray | list) -> pd.Series:
    if not isinstance(arr, pa.Array | pa.ChunkedArray):
        arr = pa.array(np.asarray(arr, dtype=object).tolist() if isinstance(arr, np.ndarray) else arr, LS)
    return pd.Series(arr, dtype=STR)


def _from_matrix(mat: np.ndarray, lengths: np.ndarray) -> pa.Array:
    """Strings from a right-aligned byte matrix: row i is the last lengths[i] bytes of mat[i]."""
    n, w = mat.shape
    lengths = lengths.astype(np.int64)
    keep = np.arange(w)[None, :] >= (w - lengths)[:, None]
    data = mat[keep]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(LS, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def const(value: str, n: int) -> pa.Array:
    b = value.encode()
    offsets = np.arange(n + 1, dtype=np.int64) * len(b)
    return pa.Array.from_buffers(LS, n, [None, pa.py_buffer(offsets), pa.py_buffer(b * n)])


def _blank(arr: pa.Array, empty: np.ndarray | None) -> pa.Array:
    if empty is None or not np.any(empty):
        return arr
    return pc.if_else(pa.array(np.asarray(empty, dtype=bool)), pa.scalar("", LS), arr)


def labels(codes: np.ndarray, names: tuple[str, ...] | list[str]) -> pa.Array:
    """Label of each code; -1 → empty."""
    table = pa.array([*names, ""], LS)
    c = np.asarray(codes, dtype=np.int64)
    return table.take(pa.array(np.where(c < 0, len(names), c)))


def yes_no(flag: np.ndarray) -> pa.Array:
    return labels(np.where(flag, 0, 1), (C.YES, C.NO))


def ints(values: np.ndarray, empty: np.ndarray | None = None) -> pa.Array:
    """Integers as text (empty where `empty`)."""
    return _blank(pa.array(np.asarray(values, dtype=np.int64)).cast(LS), empty)


def money(cents: np.ndarray, empty: np.ndarray | None = None) -> pa.Array:
    """Cents as yuan with two decimals ("1234.50"), via a scale-2 decimal column."""
    c = np.asarray(cents, dtype=np.int64)
    n = len(c)
    words = np.empty((n, 2), dtype=np.int64)
    words[:, 0] = c
    words[:, 1] = np.where(c < 0, -1, 0)  # two's complement sign extension to 128 bits
    dec = pa.Array.from_buffers(pa.decimal128(20, 2), n, [None, pa.py_buffer(words)])
    return _blank(dec.cast(LS), empty)


def dates(days: np.ndarray, empty: np.ndarray | None = None) -> pa.Array:
    y, mo, dd = civil(days)
    n = len(y)
    mat = np.empty((n, 10), dtype=np.uint8)
    for j, (val, div) in enumerate(((y, 1000), (y, 100), (y, 10), (y, 1))):
        mat[:, j] = (val // div) % 10 + 48
    mat[:, 4] = mat[:, 7] = ord("-")
    mat[:, 5], mat[:, 6] = mo // 10 + 48, mo % 10 + 48
    mat[:, 8], mat[:, 9] = dd // 10 + 48, dd % 10 + 48
    length = np.full(n, 10, dtype=np.int64)
    if empty is not None:
        length = np.where(np.asarray(empty, dtype=bool), 0, length)
    return _from_matrix(mat, length)


def objects(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=object).tolist(), LS)


def person_names(county: County, pids: np.ndarray) -> pa.Array:
    p = pools()
    people = county.people
    sur = pa.array(p.surnames.tolist(), LS).take(pa.array(people.surname[pids]))
    giv = pa.array(p.given_all.tolist(), LS).take(pa.array(people.given[pids]))
    return pc.binary_join_element_wise(sur, giv, pa.scalar("", LS))


def _apply_edits(df: pd.DataFrame, county: County, table: str) -> pd.DataFrame:
    for (t, col), rows in county.edits.items():
        if t != table or not rows:
            continue
        idx = np.array(sorted(rows), dtype=np.int64)
        mask = np.zeros(len(df), dtype=bool)
        mask[idx] = True
        arr = pa.array(df[col])
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        arr = arr.cast(LS)
        new = pc.replace_with_mask(arr, pa.array(mask), pa.array([rows[i] for i in idx], LS))
        df[col] = series(new)
    return df


def _frame(cols: dict[str, pa.Array]) -> pd.DataFrame:
    return pd.DataFrame({k: series(v) for k, v in cols.items()})


def household_ids(county: County) -> np.ndarray:
    h = county.households
    return county.villages.code[h.village] * 10_000 + h.serial


def to_tables(county: County) -> dict[str, pd.DataFrame]:
    p = county.params
    Y = p.year
    people = county.people
    people.finalize_ids(county.rng)
    county.measures.flush()
    county.rosters.flush()
    h = county.households
    m = county.members
    v = county.villages
    N = len(h)
    ids_all = id_strings(people.first17)  # pyarrow string array, one per person
    hid = household_ids(county)
    hid_str = ints(hid)
    town_of_village = labels(v.town, county.town_names)
    vname = objects(v.name)

    # ---------------------------------------------------------------- households
    vname_h = vname.take(pa.array(h.village))
    if county.village_name_override:
        rows = np.array(sorted(county.village_name_override))
        mask = np.zeros(N, dtype=bool)
        mask[rows] = True
        vname_h = pc.replace_with_mask(
            vname_h, pa.array(mask), pa.array([county.village_name_override[r] for r in rows], LS)
        )
    head_pid = m.pid[h.mstart]
    has_helper = h.helper >= 0
    helper = np.where(has_helper, h.helper, 0)
    hpid = county.helper_pid[helper]
    attr_label = np.where(h.exited, h.attr + 3, h.attr)
    no_helper = ~has_helper
    cols: dict[str, pa.Array] = {
        "省": const(p.place.province, N),
        "市": const(p.place.city, N),
        "县": const(p.county, N),
        "乡": town_of_village.take(pa.array(h.village)),
        "村": vname_h,
        "户编号": hid_str,
        "户主姓名": person_names(county, head_pid),
        "户主证件号码": ids_all.take(pa.array(head_pid)),
        "家庭人口数": ints(h.count_col),
        "贫困户属性": labels(attr_label, C.ATTR_POOR + C.ATTR_EXITED),
        "脱贫状态": labels(h.status, C.STATUS),
        "识别标准": const("国家标准", N),
        "识别年度": ints(h.ident),
        "脱贫年度": ints(h.exit_year, h.exit_year == 0),
        "主要致贫原因": labels(h.cause, C.CAUSES),
        "次要致贫原因": labels(h.cause2, C.CAUSES),
        "是否危房户": yes_no(h.weifang),
        "是否解决安全饮用水": yes_no(h.water),
        "户联系电话": ints(h.phone, h.phone == 0),
    }
    for c in C.INCOME_COLS:
        cols[c] = money(h.income[c])
    cols["上年人均纯收入"] = money(h.prev_pc, h.prev_pc < 0)
    for c in C.PROCEDURE_COLS:
        cols[c] = dates(h.dates[c])
    cols["帮扶责任人"] = pc.if_else(pa.array(no_helper), "", person_names(county, hpid))
    cols["帮扶责任人证件号码"] = pc.if_else(pa.array(no_helper), "", ids_all.take(pa.array(hpid)))
    unit_arr = pa.array(county.units, LS)
    cols["帮扶单位"] = pc.if_else(
        pa.array(no_helper), "", unit_arr.take(pa.array(county.helper_unit[helper]))
    )
    cols["年度"] = const(str(Y), N)
    if Y >= 2021:
        cols[C.MONITOR_COL] = yes_no(h.monitor)
    households = _apply_edits(_frame(cols), county, "households")
    if county.dup_households:
        households = pd.concat([households, households.iloc[county.dup_households]], ignore_index=True)

    # ---------------------------------------------------------------- members
    kept = np.flatnonzero(m.keep)  # rows dropped by the planter (DQ035) never reach the frame
    M = len(kept)

    def mk(a: np.ndarray) -> np.ndarray:
        return a[kept] if len(m) != M else a

    pid = mk(m.pid)
    mcols: dict[str, pa.Array] = {
        "户编号": hid_str.take(pa.array(mk(m.hh))),
        "姓名": person_names(county, pid),
        "性别": labels(np.where(people.male[pid], 0, 1), ("男", "女")),
        "出生日期": dates(mk(m.birth_col)),
        "证件号码": ids_all.take(pa.array(pid)),
        "与户主关系": labels(mk(m.rel), C.REL),
        "健康状况": labels(mk(m.health), C.HEALTH),
        "劳动技能": labels(mk(m.skill), C.SKILL),
        "文化程度": labels(mk(m.edu), C.EDU),
        "在校生状况": labels(mk(m.school), C.SCHOOL),
        "务工时间": ints(mk(m.work_months), mk(m.work_months) == 0),
        "务工所在地": labels(mk(m.work_place), WORKPLACES),
        "是否享受低保": yes_no(mk(m.dibao)),
        "是否特困供养人员": yes_no(mk(m.tekun)),
        "是否参加城乡居民基本医疗保险": yes_no(mk(m.ins_rural)),
        "是否参加城镇职工基本医疗保险": yes_no(mk(m.ins_urban)),
        "失学或辍学原因": labels(mk(m.dropout), C.DROPOUT),
        "成员联系电话": ints(mk(m.phone), mk(m.phone) == 0),
        "年度": const(str(Y), M),
    }
    if len(m) != M:  # member edits are keyed by model row: move them to frame rows
        new_pos = np.full(len(m), -1, dtype=np.int64)
        new_pos[kept] = np.arange(M)
        for (t, col), rows in list(county.edits.items()):
            if t == "members":
                county.edits[(t, col)] = {int(new_pos[r]): v for r, v in rows.items() if new_pos[r] >= 0}
        m.keep[:] = True
        for name in m.__dataclass_fields__:
            setattr(m, name, getattr(m, name)[kept])
    members = _apply_edits(_frame(mcols), county, "members")
    extra = county.extra_rows.get("members", [])
    if extra:
        members = pd.concat([members, _rows_frame(extra, list(members.columns), ids_all)], ignore_index=True)

    # ---------------------------------------------------------------- villages
    nv = len(v)
    st = village_stats(county)
    vcols = {
        "县": const(p.county, nv),
        "乡": town_of_village,
        "村": vname,
        "村代码": ints(v.code),
        "是否贫困村": yes_no(v.poor_village),
        "是否出列": yes_no(v.out),
        "出列年度": ints(v.out_year, v.out_year == 0),
        "总户数": ints(st["total_hh"]),
        "总人口数": ints(st["total"]),
        "贫困户数": ints(st["poor_hh"] + v.count_offset),
        "贫困人口数": ints(st["poor_p"] + v.people_offset),
        "村集体经济收入": money(v.collective),
        "是否西部": const(C.NO, nv),
    }
    villages = _apply_edits(_frame(vcols), county, "villages")

    # ---------------------------------------------------------------- measures
    ms = county.measures
    nm = len(ms)
    is_hh = ms.hh >= 0
    mh = np.where(is_hh, ms.hh, 0)
    mvname = vname.take(pa.array(ms.village))
    if county.village_name_override:
        over = np.isin(ms.hh, list(county.village_name_override)) & is_hh
        if over.any():
            mvname = pc.replace_with_mask(
                mvname, pa.array(over),
                pa.array([county.village_name_override[int(x)] for x in ms.hh[over]], LS),
            )  # fmt: skip
    mhelper = np.where(ms.helper >= 0, ms.helper, 0)
    mrec = np.where(ms.recipient >= 0, ms.recipient, 0)
    meas_cols = {
        "户编号": pc.if_else(pa.array(~is_hh), "", hid_str.take(pa.array(mh))),
        "乡": town_of_village.take(pa.array(ms.village)),
        "村": mvname,
        "措施类型": labels(ms.mtype, C.MEASURES),
        "帮扶单位": unit_arr.take(pa.array(ms.unit)),
        "帮扶责任人": pc.if_else(
            pa.array(ms.helper < 0), "", person_names(county, county.helper_pid[mhelper])
        ),
        "日期": dates(ms.date),
        "金额": money(ms.amount),
        "领取人证件号码": pc.if_else(pa.array(ms.recipient < 0), "", ids_all.take(pa.array(mrec))),
        "年度": ints(ms.year),
        "内容": labels(ms.content, C.CONTENTS),
    }
    measures = _apply_edits(_frame(meas_cols), county, "measures")
    del nm

    # ---------------------------------------------------------------- helpers (pairings)
    hs = np.flatnonzero(has_helper)
    hh_helper = h.helper[hs]
    helpers = _frame(
        {
            "帮扶责任人姓名": person_names(county, county.helper_pid[hh_helper]),
            "帮扶责任人证件号码": ids_all.take(pa.array(county.helper_pid[hh_helper])),
            "帮扶单位": unit_arr.take(pa.array(county.helper_unit[hh_helper])),
            "户编号": hid_str.take(pa.array(hs)),
            "开始日期": dates(h.helper_start[hs]),
            "结束日期": const("", len(hs)),
        }
    )
    helpers = _apply_edits(helpers, county, "helpers")

    # ---------------------------------------------------------------- rosters
    r = county.rosters
    rosters = _frame(
        {
            "类别": objects(r.kind),
            "证件号码": ids_all.take(pa.array(r.pid)),
            "姓名": person_names(county, r.pid),
            "日期": dates(r.date),
            "详情": objects(r.detail),
            "人均纯收入": money(r.pc, r.pc < 0),
        }
    )
    rosters = _apply_edits(rosters, county, "rosters")

    tables = {
        "households": households,
        "members": members,
        "villages": villages,
        "measures": measures,
        "helpers": helpers,
        "rosters": rosters,
    }
    if county.extra_measures:
        cols_x = [c for c in C.MEASURE_COLS if c != "措施类型"]
        tables[C.EXTRA_MEASURES] = _rows_frame(county.extra_measures, cols_x, ids_all)
    return tables


def village_stats(county: County) -> dict[str, np.ndarray]:
    """Registered and poor households/people per village as the household table will sum them, and
    the village's 总户数/总人口数 (chosen so that 出列 villages have an incidence below 1.2%, and planted
    SY301 villages one of at least 5%)."""
    h = county.households
    m = county.members
    v = county.villages
    N = len(h)
    nv = len(v)
    kept_hh = np.bincount(m.hh[m.keep], minlength=N)
    in_table = np.ones(N, dtype=bool)
    if county.village_name_override:
        in_table[list(county.village_name_override)] = False
    poor_h = h.poor & in_table
    reg_h = np.bincount(h.village[in_table], minlength=nv)
    reg_p = np.bincount(h.village[in_table], weights=kept_hh[in_table], minlength=nv).astype(np.int64)
    poor_hh = np.bincount(h.village[poor_h], minlength=nv)
    poor_p = np.bincount(h.village[poor_h], weights=kept_hh[poor_h], minlength=nv).astype(np.int64)
    total = np.ceil(reg_p / v.reg_share).astype(np.int64)
    clean_out = v.out & ~v.high_incidence
    total = np.where(clean_out, np.maximum(total, np.ceil(poor_p / 0.012).astype(np.int64)), total)
    total = np.where(v.high_incidence, np.maximum(poor_p * 20, reg_p), total)
    total = np.where((reg_p == 0) & ~v.high_incidence, 800 + (v.code % 2200), total)
    total_hh = np.maximum(reg_h, np.round(total / 3.3).astype(np.int64))
    return {"reg_h": reg_h, "reg_p": reg_p, "poor_hh": poor_hh, "poor_p": poor_p, "total": total,
            "total_hh": total_hh}  # fmt: skip


def _rows_frame(rows: list[dict[str, object]], cols: list[str], ids_all: pa.Array) -> pd.DataFrame:
    """A small frame from row dicts; a value ("pid", i) means the ID number of person i."""
    out: dict[str, list[str]] = {c: [] for c in cols}
    for row in rows:
        for c in cols:
            val = row.get(c, "")
            if isinstance(val, tuple) and val and val[0] == "pid":
                val = ids_all[int(val[1])].as_py()
            out[c].append("" if val is None or (isinstance(val, float) and math.isnan(val)) else str(val))
    return pd.DataFrame({c: pd.Series(vals, dtype=STR) for c, vals in out.items()})


def flat_frame(tables: dict[str, pd.DataFrame], patches: pd.DataFrame | None = None) -> pd.DataFrame:
    """Member-level export: household columns repeated on every member row (canonical names)."""
    hh = tables["households"].drop_duplicates("户编号", keep="first")
    mem = tables["members"]
    order = C.flat_columns(list(hh.columns), list(mem.columns))
    flat = mem.drop(columns=["年度"]).merge(hh, on="户编号", how="inner", sort=False)
    flat = flat[order].reset_index(drop=True)
    if patches is not None and len(patches):
        ids = flat["证件号码"].to_numpy(dtype=object)
        hit = np.flatnonzero(flat["证件号码"].isin(set(patches["证件号码"])).to_numpy())
        where = {ids[i]: i for i in hit}
        for column, group in patches.groupby("column", sort=False):
            rows = {where[i]: v for i, v in zip(group["证件号码"], group["value"], strict=True) if i in where}
            if rows:
                col = flat[column].to_numpy(dtype=object)
                for i, v in rows.items():
                    col[i] = v
                flat[column] = pd.Series(col, dtype=STR)
    return flat
