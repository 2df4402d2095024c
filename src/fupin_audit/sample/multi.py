"""Several synthetic counties as one hive-partitioned parquet tree (input of the partitioned engines).

    write_counties(3, 1000, Path("out"))   # out/县=宿松县/households.parquet … out/rosters.parquet, out/_planted.csv

County i is `COUNTIES[i]` (its own GB/T 2260 code, so ID numbers and 户编号 never collide across
counties), generated with seed + i and `households` households (per county). Counties are generated,
written and freed one at a time: memory is that of one county. Phone numbers come from disjoint
blocks per county (`model.unique_phones`), so counties share no number by accident.

With two or more counties, a few cross-county cases are planted between county 0 and county 1 so that
global rules have something to find across partitions:

- SY103 (跨县): a child of a county-0 household is also registered in a county-1 household (its
  证件号码, 姓名 and 出生日期 copied onto a county-1 child of the same sex, relation, birth year and
  attributes);
- SY104: a county-1 household gets the 户联系电话 of a county-0 household.

_planted.csv lists every planted case with the 县 it is in (a cross-county case has one row per county).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fupin_audit.convert import ROSTERS_FILE, string_table

from . import columns as C
from .pools import COUNTIES
from .writers import write_partitioned

# Member columns a copied person must share with the row it replaces (so no other rule fires).
_SAME = (
    "性别", "与户主关系", "健康状况", "劳动技能", "文化程度", "在校生状况", "务工时间", "务工所在地",
    "是否享受低保", "是否特困供养人员", "是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险",
    "失学或辍学原因", "成员联系电话", "年度",
)  # fmt: skip
_KIDS = ("之子", "之女", "之孙子", "之孙女")


@dataclass
class CountiesResult:
    root: Path
    counties: list[str]
    paths: list[Path] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # table → rows written over all counties
    planted: pd.DataFrame | None = None


def _clean_households(data, exclude: set[str]) -> pd.DataFrame:
    """Households untouched by the planter: neither their 户编号 nor a member's ID appears in a manifest
    row (as key or inside a description)."""
    t = data.tables
    hh = t["households"]
    planted = data.planted
    text = " ".join(planted["key"].tolist() + planted["description"].tolist())
    keys = set(planted["key"]) | exclude | set(re.findall(r"\d{16}[\dX]{0,2}", text))
    dup = hh["户编号"].duplicated(keep=False)
    ok = ~dup & ~hh["户编号"].isin(keys) & (hh["贫困户属性"] == C.ATTR_POOR[C.A_GENERAL])
    ok &= ~hh["户主证件号码"].isin(keys)
    ok &= hh["户联系电话"].str.fullmatch(r"1[3-9]\d{9}").fillna(False).astype(bool)
    members = t["members"]
    in_rosters = set(t["rosters"]["证件号码"])
    bad_member = members["证件号码"].isin(keys) | members["证件号码"].isin(in_rosters)
    bad_hh = set(members.loc[bad_member, "户编号"])
    ok &= ~hh["户编号"].isin(bad_hh)
    return hh[ok]


def _kids(data, households: pd.DataFrame) -> pd.DataFrame:
    members = data.tables["members"]
    rows = members[members["户编号"].isin(set(households["户编号"])) & members["与户主关系"].isin(_KIDS)]
    rows = rows[~rows["证件号码"].duplicated(keep=False)]
    return rows.assign(_by=rows["出生日期"].str[:4])


@dataclass
class _Carry:
    """What county 0 hands to county 1 for the cross-county cases."""

    kids: pd.DataFrame
    phone_households: pd.DataFrame
    county: str


def _carry(data) -> _Carry:
    clean = _clean_households(data, set())
    kids = _kids(data, clean)
    kids = kids.iloc[:: max(1, len(kids) // 300)]  # a few hundred candidates (the merge stays small)
    return _Carry(kids, clean[["户编号", "户联系电话"]].head(50), data.county)


def _plant_cross(data, carry: _Carry, rng: np.random.Generator) -> list[dict[str, str]]:
    """Plant the cross-county SY103 and SY104 cases into county 1 (in place); return manifest rows."""
    t = data.tables
    members, households = t["members"], t["households"]
    clean = _clean_households(data, set())
    rows: list[dict[str, str]] = []
    # SY103 跨县: one child of county 0 also registered in county 1
    mine = _kids(data, clean).drop_duplicates([*_SAME, "_by"])  # one candidate per attribute set
    key = [*_SAME, "_by"]
    pairs = carry.kids.merge(mine.reset_index(), on=key, suffixes=("_src", ""))
    if len(pairs):
        pair = pairs.iloc[int(rng.integers(0, len(pairs)))]
        label = pair["index"]
        for col in ("证件号码", "姓名", "出生日期"):
            members.loc[label, col] = pair[f"{col}_src"]
        person, a, b = pair["证件号码_src"], pair["户编号_src"], pair["户编号"]
        text = f"同一人（{person}）同时登记在{carry.county}户 {a} 和{data.county}户 {b}（跨县）"
        rows += [
            dict(县=carry.county, rule="SY103", table="members", key=person, description=text),
            dict(县=data.county, rule="SY103", table="members", key=person, description=text),
        ]
        clean = clean[~clean["户编号"].isin({b})]
    # SY104 across counties: a county-1 household gets the phone of a county-0 household
    if len(carry.phone_households) and len(clean):
        a_id, phone = carry.phone_households.iloc[int(rng.integers(0, len(carry.phone_households)))]
        b_row = clean.index[int(rng.integers(0, len(clean)))]
        b_id = households.loc[b_row, "户编号"]
        households.loc[b_row, "户联系电话"] = phone
        head = members.index[(members["户编号"] == b_id) & (members["与户主关系"] == "户主")]
        members.loc[head, "成员联系电话"] = phone
        text = f"{carry.county}户 {a_id} 与{data.county}户 {b_id} 共用联系电话 {phone}（跨县）"
        rows += [
            dict(县=carry.county, rule="SY104", table="households", key=a_id, description=text),
            dict(县=data.county, rule="SY104", table="households", key=b_id, description=text),
        ]
    return [{**r, "outputs": "all", "also": ""} for r in rows]


def write_counties(
    counties: int,
    households: int,
    root: Path,
    *,
    seed: int = 7,
    year: int = 2017,
    defects: bool = True,
    by: str = "县",
    progress: Callable[[str], None] | None = None,
) -> CountiesResult:
    """Write `counties` counties of `households` households each as a hive tree under `root`.

    ROOT/<by>=<county>/<table>.parquet per county, ROOT/rosters.parquet (the rosters of every county,
    one file), ROOT/_planted.csv (with a 县 column; the leading underscore keeps it out of the data: folders given to `check` skip _ files). Only `by="县"` is supported (the generator's
    partition is the county).
    """
    import pyarrow.parquet as pq

    from fupin_audit.report.atomic import atomic_open

    from . import generate

    if by != "县":
        raise ValueError("synthetic data can only be partitioned by 县")
    if not 1 <= counties <= len(COUNTIES):
        raise ValueError(f"counties must be between 1 and {len(COUNTIES)}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    result = CountiesResult(root, [p.county for p in COUNTIES[:counties]])
    manifests: list[pd.DataFrame] = []
    carry: _Carry | None = None
    rosters_path = root / ROSTERS_FILE
    with atomic_open(rosters_path, "wb") as fh:
        writer = None
        for i, place in enumerate(COUNTIES[:counties]):
            data = generate(
                households,
                seed=seed + i,
                year=year,
                defects=defects,
                county=place,
                phone_block=i if counties > 1 else None,
            )
            manifest = data.planted.copy()
            manifest.insert(0, "县", data.county)
            manifests.append(manifest)
            if counties > 1 and i == 0:
                carry = _carry(data)
            elif i == 1 and carry is not None:
                extra = _plant_cross(data, carry, np.random.default_rng(seed + 10_000))
                manifests.append(pd.DataFrame(extra, columns=list(manifest.columns), dtype="str"))
                carry = None
            result.paths += write_partitioned(data, root, by=by)
            for key, df in data.tables.items():
                result.rows[key] = result.rows.get(key, 0) + len(df)
            table = string_table(data.tables["rosters"])
            if writer is None:
                writer = pq.ParquetWriter(fh, table.schema)
            writer.write_table(table)
            if progress:
                progress(
                    f"{data.county}：{len(data.tables['households'])} 户，{len(data.tables['members'])} 人"
                )
            del data, table
        if writer is not None:
            writer.close()
    result.paths.append(rosters_path)
    planted = pd.concat(manifests, ignore_index=True) if manifests else pd.DataFrame()
    with atomic_open(root / "_planted.csv") as out:
        planted.to_csv(out, index=False)
    result.paths.append(root / "_planted.csv")
    result.planted = planted
    return result
