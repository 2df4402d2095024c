"""The synthetic county generator: determinism, coherence of clean data, planted defects, writers."""

from __future__ import annotations

import os
import re
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

try:
    import fupin_audit  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from stdnum.cn import ric

from fupin_audit.sample import ALL_RULES, generate, write_csv, write_parquet, write_xlsx
from fupin_audit.sample import writers as sample_writers
from fupin_audit.sample.model import poverty_line

YEAR = 2017


@pytest.fixture(scope="module")
def clean():
    return generate(3000, seed=11, year=YEAR, defects=False)


@pytest.fixture(scope="module")
def dirty():
    return generate(2000, seed=7, year=YEAR, defects=True)


def _cents(s: pd.Series) -> np.ndarray:
    return np.array([int(Decimal(v) * 100) if v else 0 for v in s], dtype=np.int64)


# --------------------------------------------------------------------------------------- generation


def test_deterministic_under_seed():
    a = generate(600, seed=3)
    b = generate(600, seed=3)
    c = generate(600, seed=4)
    assert a.tables.keys() == b.tables.keys()
    for key in a.tables:
        pd.testing.assert_frame_equal(a.tables[key], b.tables[key])
    pd.testing.assert_frame_equal(a.planted, b.planted)
    assert not a.tables["members"]["证件号码"].equals(c.tables["members"]["证件号码"])


def test_sizes_and_string_columns(clean):
    t = clean.tables
    assert set(t) == {"households", "members", "villages", "measures", "helpers", "rosters"}
    assert len(t["households"]) == 3000
    assert 3.2 * 3000 <= len(t["members"]) <= 3.8 * 3000
    for df in t.values():
        for col in df.columns:
            assert pd.api.types.is_string_dtype(df[col].dtype), col
            assert not df[col].isna().any(), col
    assert clean.planted.empty


def test_id_numbers_valid(clean):
    mem = clean.tables["members"]
    sample = mem.sample(800, random_state=0)
    for _, row in sample.iterrows():
        number = row["证件号码"]
        assert re.fullmatch(r"\d{17}[\dX]", number), number
        # independent implementation (python-stdnum drops the last character itself); not ric.validate,
        # which also rejects region codes created after the birth year
        assert ric.calc_check_digit(number) == number[17]
        assert number[6:14] == row["出生日期"].replace("-", "")
        assert (int(number[16]) % 2 == 1) == (row["性别"] == "男")
    people = pd.concat(
        [mem["证件号码"], clean.tables["helpers"]["帮扶责任人证件号码"].drop_duplicates()], ignore_index=True
    )
    assert people.is_unique
    registered = set(mem["证件号码"])
    rosters = clean.tables["rosters"]
    on_benefit = rosters["类别"].isin(["低保", "特困"])
    assert rosters["证件号码"][on_benefit].isin(registered).all()
    assert not rosters["证件号码"][~on_benefit].isin(registered).any()


def test_income_identities(clean):
    h = clean.tables["households"]
    c = {col: _cents(h[col]) for col in h.columns if col in (
        "工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "计划生育金", "低保金", "五保金", "养老保险金",
        "生态补偿金", "其他转移性收入", "生产经营性支出", "纯收入", "人均纯收入")}  # fmt: skip
    net = c["工资性收入"] + c["生产经营性收入"] + c["财产性收入"] + c["转移性收入"] - c["生产经营性支出"]
    assert (net == c["纯收入"]).all()
    parts = (
        c["计划生育金"] + c["低保金"] + c["五保金"] + c["养老保险金"] + c["生态补偿金"] + c["其他转移性收入"]
    )
    assert (parts == c["转移性收入"]).all()
    size = h["家庭人口数"].astype(int).to_numpy()
    expected = [
        int((Decimal(int(n)) / Decimal(100) / s).quantize(Decimal("0.01"), ROUND_HALF_UP) * 100)
        for n, s in zip(c["纯收入"], size, strict=True)
    ]
    assert (np.array(expected) == c["人均纯收入"]).all()
    counts = clean.tables["members"].groupby("户编号").size()
    assert (counts.reindex(h["户编号"]).to_numpy() == size).all()
    assert ((c["生产经营性收入"] > 0) <= (c["生产经营性支出"] > 0)).all()
    exited = h["脱贫状态"].str.startswith("已脱贫").to_numpy()
    pc = c["人均纯收入"] / 100
    assert (pc[exited] > 5000 * 1.1).all()
    assert (pc[~exited] < poverty_line(YEAR)).all()
    assert (c["转移性收入"][exited] <= 0.5 * c["纯收入"][exited]).all()


def test_households_coherent(clean):
    mem = clean.tables["members"]
    h = clean.tables["households"]
    rel = mem["与户主关系"]
    per = mem.assign(head=rel == "户主", spouse=rel == "配偶").groupby("户编号")[["head", "spouse"]].sum()
    assert (per["head"] == 1).all() and (per["spouse"] <= 1).all()
    sex = mem.set_index(["户编号", "与户主关系"])["性别"]
    heads = sex.xs("户主", level=1)
    spouses = sex.xs("配偶", level=1)
    assert (heads.reindex(spouses.index) != spouses).all()
    male_only = rel.isin(["之子", "之孙子", "之父"])
    female_only = rel.isin(["之女", "之孙女", "之母", "之儿媳"])
    assert (mem["性别"][male_only] == "男").all() and (mem["性别"][female_only] == "女").all()
    assert ((mem["文化程度"] != "") ^ (mem["在校生状况"] != "")).all()
    assert ((mem["务工时间"] != "") == (mem["务工所在地"] != "")).all()
    phones = pd.concat([h["户联系电话"], mem["成员联系电话"][mem["与户主关系"] != "户主"]])
    phones = phones[phones != ""]
    assert phones.str.fullmatch(r"1[3-9]\d{9}").all() and phones.is_unique
    poor = h["脱贫状态"].isin(["未脱贫", "返贫"])
    assert (h["帮扶责任人"][poor] != "").all()
    assert clean.tables["helpers"].groupby("帮扶责任人证件号码").size().max() <= 10
    exited = h[~poor]
    assert (exited["脱贫年度"].astype(int) > exited["识别年度"].astype(int)).all()
    assert (exited["脱贫年度"].astype(int) <= YEAR).all()
    assert (exited["是否危房户"] == "否").all() and (exited["是否解决安全饮用水"] == "是").all()
    for a, b in zip(["申请日期", "民主评议日期", "公示开始日期", "公示结束日期"],
                    ["民主评议日期", "公示开始日期", "公示结束日期", "公告日期"], strict=True):  # fmt: skip
        assert (pd.to_datetime(h[a]) < pd.to_datetime(h[b])).all()
    days = (pd.to_datetime(h["公示结束日期"]) - pd.to_datetime(h["公示开始日期"])).dt.days
    assert (days >= 7).all()


def test_villages_match_households(clean):
    h = clean.tables["households"]
    v = clean.tables["villages"].set_index(["乡", "村"])
    poor = h[h["脱贫状态"].isin(["未脱贫", "返贫"])]
    sums = (
        poor.assign(n=poor["家庭人口数"].astype(int))
        .groupby(["乡", "村"])
        .agg(hh=("n", "size"), people=("n", "sum"))
    )
    sums = sums.reindex(v.index, fill_value=0)
    assert (v["贫困户数"].astype(int) == sums["hh"]).all()
    assert (v["贫困人口数"].astype(int) == sums["people"]).all()
    out = v["是否出列"] == "是"
    incidence = v["贫困人口数"].astype(int) / v["总人口数"].astype(int)
    assert (incidence[out] < 0.02).all()
    assert (v["村集体经济收入"][out].astype(float) >= 50000).all()
    assert set(zip(h["乡"], h["村"], strict=False)) <= set(v.index)
    measures = clean.tables["measures"]
    projects = measures[(measures["户编号"] == "") & (measures["措施类型"] == "产业帮扶")]
    poor_villages = v.index[v["是否贫困村"] == "是"]
    assert set(poor_villages) <= set(zip(projects["乡"], projects["村"], strict=False))


def test_every_household_helped_this_year(clean):
    m = clean.tables["measures"]
    this_year = m[(m["年度"] == str(YEAR)) & (m["户编号"] != "")]
    assert set(clean.tables["households"]["户编号"]) <= set(this_year["户编号"])
    assert set(clean.tables["helpers"]["帮扶单位"]) <= set(this_year["帮扶单位"])
    assert this_year["领取人证件号码"].isin(set(clean.tables["members"]["证件号码"])).all()
    key = ["领取人证件号码", "措施类型", "金额", "日期"]
    assert not this_year.duplicated(key).any()


# --------------------------------------------------------------------------------------- defects


@pytest.mark.parametrize("year", [2017, 2021])
def test_every_rule_planted(year):
    data = generate(1200, seed=5, year=year)
    planted = data.planted
    assert list(planted.columns) == ["rule", "table", "key", "description", "outputs", "also"]
    real = planted[planted["outputs"] != "none"]
    expected = set(ALL_RULES) if year >= 2021 else set(ALL_RULES) - {"LG102"}
    assert set(real["rule"]) == expected
    if year < 2021:
        note = planted[planted["rule"] == "LG102"]
        assert len(note) == 1 and (note["outputs"] == "none").all()
    assert (real["key"] != "").all() and (real["description"] != "").all()
    assert set(real["outputs"]) <= {"all", "flat", "split"}
    assert "measures_extra" in data.tables and "措施类型" not in data.tables["measures_extra"].columns


def test_rule_catalogue_matches_spec():
    spec = Path(__file__).parent / "fixtures" / "spec" / "RULES.md"  # a copy of the spec's catalogue
    codes = set(re.findall(r"^\| ((?:DQ|SY|LG|IN)\d{3}) \|", spec.read_text(encoding="utf-8"), re.M))
    assert codes == set(ALL_RULES)


def test_planting_scales(dirty):
    counts = dirty.planted[dirty.planted["outputs"] != "none"]["rule"].value_counts()
    assert counts.min() >= 1
    assert counts.get("DQ011", 0) == 2  # max(1, 2000 / 1000)


def test_planted_records_are_where_the_manifest_says(dirty):
    p = dirty.planted.set_index("rule")
    mem = dirty.tables["members"]
    h = dirty.tables["households"]
    assert set(p.loc[["DQ010", "DQ011", "DQ013", "DQ014", "DQ016", "DQ017", "DQ018"], "key"]) <= set(
        mem["证件号码"]
    )
    assert h["户编号"].duplicated().sum() == (p.index == "DQ021").sum()
    assert any("E+" in k for k in p.loc[["DQ013"], "key"])
    assert any(k.endswith("x") or "０" in k or "３" in k for k in p.loc[["DQ018"], "key"])
    assert len(dirty.flat_patches) == (p.index == "DQ036").sum()
    flat = dirty.flat()
    for key in p.loc[["DQ036"], "key"]:
        assert flat.loc[flat["户编号"] == key, "户主姓名"].nunique() == 2
    dq037 = set(p.loc[["DQ037"], "key"])
    assert dq037 <= set(mem["户编号"]) and not dq037 & set(h["户编号"])


# --------------------------------------------------------------------------------------- writers


def test_xlsx_flat_round_trip(dirty, tmp_path):
    from python_calamine import CalamineWorkbook

    path = tmp_path / "样例.xlsx"
    write_xlsx(dirty, path)
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names[0] == "建档立卡人员信息"
    assert {"村信息", "帮扶措施", "帮扶责任人结对", "比对名单", "死亡人员", "帮扶项目补录"} <= set(
        wb.sheet_names
    )
    rows = wb.get_sheet_by_name("建档立卡人员信息").to_python()
    assert rows[0][0] == f"宿松县{YEAR}年建档立卡贫困户信息表"
    head1, head2 = rows[1], rows[2]
    assert head1[0] == "序号" and "收入情况" in head1 and "身份证号码" in head1 and "乡(镇)" in head1
    assert "脱贫标志" in head1 and "家庭年人均纯收入" in head2 and "工资性收入" in head2
    assert rows[-1][0] == "合计"
    flat = dirty.flat()
    body = rows[3:-1]
    assert len(body) == len(flat)
    col = head1.index("身份证号码")
    written = [r[col] for r in body]
    sci = dirty.planted.loc[dirty.planted["rule"] == "DQ013", "key"].tolist()
    for got, want in zip(written, flat["证件号码"], strict=True):
        if want in sci:
            assert isinstance(got, float)  # a number cell, as Excel stores it: precision lost
        else:
            assert got == want and isinstance(got, str)
    hcol = head1.index("户主证件号码")
    assert [r[hcol] for r in body] == flat["户主证件号码"].tolist()


def test_xlsx_split_keeps_ids_as_text(dirty, tmp_path):
    from python_calamine import CalamineWorkbook

    path = tmp_path / "split.xlsx"
    write_xlsx(dirty, path, flat=False)
    wb = CalamineWorkbook.from_path(str(path))
    assert wb.sheet_names[:2] == ["户信息", "家庭成员"]
    rows = wb.get_sheet_by_name("户信息").to_python()
    ids = [r[rows[0].index("户编号")] for r in rows[1:]]
    assert ids == dirty.tables["households"]["户编号"].tolist()
    assert all(isinstance(x, str) and len(x) == 16 for x in ids)


def test_xlsx_row_limit(dirty, tmp_path, monkeypatch):
    monkeypatch.setattr(sample_writers, "XLSX_MAX_ROWS", 5000)  # households fit, members do not
    with pytest.raises(ValueError, match="members"):
        write_xlsx(dirty, tmp_path / "big.xlsx", flat=False)
    with pytest.raises(ValueError, match="members"):
        write_xlsx(dirty, tmp_path / "big.xlsx", flat=True)
    assert not (tmp_path / "big.xlsx").exists()


def test_csv_gb18030(dirty, tmp_path):
    paths = write_csv(dirty, tmp_path, encoding="gb18030")
    names = [p.name for p in paths]
    assert names[:6] == [
        "户信息.csv",
        "家庭成员.csv",
        "村信息.csv",
        "帮扶措施.csv",
        "帮扶责任人结对.csv",
        "比对名单.csv",
    ]
    raw = (tmp_path / "家庭成员.csv").read_bytes()
    text = raw.decode("gb18030")
    assert "与户主关系" in text and "\r\n" in text
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    back = pd.read_csv(tmp_path / "家庭成员.csv", encoding="gb18030", dtype=str, keep_default_na=False)
    assert back["证件号码"].tolist() == dirty.tables["members"]["证件号码"].tolist()
    flat = write_csv(dirty, tmp_path / "flat", flat=True)
    assert flat[0].name == "建档立卡人员信息.csv"
    assert b"\r\n" not in flat[0].read_bytes()[:2000]


def test_parquet_all_strings(dirty, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    paths = write_parquet(dirty, tmp_path)
    for path in paths:
        schema = pq.read_schema(path)
        assert all(pa.types.is_string(f.type) or pa.types.is_large_string(f.type) for f in schema), path
    back = pq.read_table(tmp_path / "家庭成员.parquet").to_pandas()
    assert back["证件号码"].tolist() == dirty.tables["members"]["证件号码"].tolist()


# --------------------------------------------------------------------------------------- speed


@pytest.mark.slow  # register the marker in pyproject ([tool.pytest.ini_options] markers) to silence the warning
@pytest.mark.skipif(
    os.environ.get("FUPIN_SLOW") != "1", reason="set FUPIN_SLOW=1 to time a million households"
)
def test_million_households_timing():
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    data = generate(1_000_000, seed=7)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(f"\ngenerate(1_000_000): {wall:.1f} s wall, {cpu:.1f} s CPU, {len(data.tables['members'])} members")
    assert len(data.tables["households"]) >= 1_000_000


# --------------------------------------------------------------------------------- several counties


def test_counties_are_real_and_distinct():
    from stdnum import numdb

    from fupin_audit.sample import COUNTIES

    db = numdb.get("cn/loc")
    assert COUNTIES[0].county == "宿松县" and COUNTIES[0].region == 340826
    assert len(COUNTIES) >= 30
    assert len({c.region for c in COUNTIES}) == len({c.county for c in COUNTIES}) == len(COUNTIES)
    towns = [t for c in COUNTIES for t in c.townships]
    assert len(towns) == len(set(towns))  # (乡, 村) never repeats across counties
    for c in COUNTIES:
        info = dict(db.info(str(c.region))[1][1])
        assert info.get("county", "").endswith(c.county), (c, info)  # e.g. "[1988-]宿松县"
        assert c.region not in c.overflow


def test_other_county_uses_its_region():
    data = generate(300, seed=8, county="霍邱县")
    hh, members, villages = (data.tables[k] for k in ("households", "members", "villages"))
    assert set(hh["县"]) == {"霍邱县"} and set(hh["市"]) == {"六安市"} and set(hh["省"]) == {"安徽省"}
    assert hh["户编号"].str.startswith("341522").all()
    assert villages["村代码"].str.startswith("341522").all()
    clean_ids = members["证件号码"][members["证件号码"].str.fullmatch(r"\d{17}[\dX]")]
    assert clean_ids.str.startswith("341522").mean() > 0.97  # the rest are planted (DQ016 …)
    assert not set(hh["乡"]) & set(generate(300, seed=8).tables["households"]["乡"])


def test_write_counties_hive_tree(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fupin_audit.sample.multi import write_counties

    result = write_counties(3, 150, tmp_path, seed=7)
    dirs = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert dirs == ["县=太湖县", "县=宿松县", "县=怀宁县"]
    assert (tmp_path / "rosters.parquet").is_file() and (tmp_path / "_planted.csv").is_file()
    for d in dirs:
        names = {p.name for p in (tmp_path / d).iterdir()}
        assert {"households.parquet", "members.parquet", "villages.parquet", "measures.parquet",
                "helpers.parquet"} <= names  # fmt: skip
        assert "rosters.parquet" not in names
    for path in tmp_path.rglob("*.parquet"):
        assert all(pa.types.is_string(f.type) for f in pq.read_schema(path)), path
    hh = pq.read_table(tmp_path / "县=怀宁县" / "households.parquet").to_pandas()
    assert set(hh["县"]) == {"怀宁县"} and hh["户编号"].str.startswith("340822").all()
    members = pd.concat(pq.read_table(tmp_path / d / "members.parquet").to_pandas().assign(d=d) for d in dirs)
    ids = members["证件号码"]
    shared = ids[ids.duplicated(keep=False) & ~ids.str.fullmatch(r"(\d)\1{17}")]  # placeholders: not people
    across = members[ids.isin(set(shared))].groupby("证件号码")["d"].nunique()
    planted = pd.read_csv(tmp_path / "_planted.csv", dtype=str, keep_default_na=False)
    cross = planted[planted["description"].str.contains("跨县")]
    assert set(cross["rule"]) == {"SY103", "SY104"} and set(cross["县"]) == {"宿松县", "怀宁县"}
    assert set(across[across > 1].index) == set(cross.loc[cross["rule"] == "SY103", "key"])
    rosters = pq.read_table(tmp_path / "rosters.parquet").to_pandas()
    assert len(rosters) == result.rows["rosters"]
    assert set(planted["县"]) == {"宿松县", "怀宁县", "太湖县"}


def test_default_county_unchanged_by_multi_county_support():
    # the bundled sample is generate(300, seed=7): same bytes as before counties became a parameter
    a = generate(300, seed=7)
    b = generate(300, seed=7, county="宿松县")
    for key in a.tables:
        pd.testing.assert_frame_equal(a.tables[key], b.tables[key])
    assert a.tables["households"]["户编号"].str.startswith("340826").all()
