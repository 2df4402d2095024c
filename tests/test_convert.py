"""`fupin-audit convert` and `sample --counties`: hive-partitioned parquet trees through real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import household, make_id, member, write_xlsx

from fupin_audit.convert import EMPTY_PARTITION, PROVENANCE
from fupin_audit.load import TITLE_PROVENANCE

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data" / "宿松县样例.xlsx"
# Every column of the findings but `column`: the tree's headers are the canonical names (人均纯收入),
# not the header as written in the workbook (家庭年人均纯收入).
COMPARED = [
    "rule", "severity", "family", "title", "message", "table", "file", "sheet", "row", "value",
    "household_id", "person_id", "id_number", "township", "village", "related",
]  # fmt: skip


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def findings(*paths: Path | str, out: Path) -> pd.DataFrame:
    done = cli("check", *paths, "--format", "csv", "-o", out)
    assert done.returncode in (0, 1), done.stderr
    return pd.read_csv(out, dtype=str, keep_default_na=False)


def parquet_files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.parquet"))


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Findings as sorted rows; files by name (convert records the file name, not the path given)."""
    frame = frame.assign(
        file=frame["file"].map(lambda p: Path(p).name if p else p),
        related=frame["related"].str.replace(f"{SAMPLE.parent}/", "", regex=False),
    )
    return frame[COMPARED].sort_values(COMPARED).reset_index(drop=True)


def test_sample_workbook_converts_to_equivalent_tree(tmp_path):
    root = tmp_path / "tree"
    done = cli("convert", SAMPLE, "-o", root)
    assert done.returncode == 0, done.stderr
    assert {p.name for p in root.iterdir()} == {"县=宿松县", f"县={EMPTY_PARTITION}", "rosters.parquet"}
    before = findings(SAMPLE, out=tmp_path / "a.csv")
    after = findings(*parquet_files(root), out=tmp_path / "b.csv")
    # the same findings at the same places: the workbook's sheets and rows, read back from 来源文件,
    # 来源工作表 and 来源行 (messages citing another row, "另见第 88 行", included)
    pd.testing.assert_frame_equal(comparable(before), comparable(after))
    assert (after["file"] == SAMPLE.name).all()
    assert set(after["sheet"]) >= {"建档立卡人员信息", "比对名单", "帮扶项目补录"}


def test_tree_layout_strings_and_provenance(tmp_path):
    root = tmp_path / "tree"
    assert cli("convert", SAMPLE, "-o", root).returncode == 0
    files = parquet_files(root)
    assert root / "rosters.parquet" in files
    for path in files:
        schema = pq.read_schema(path)
        assert all(pa.types.is_string(f.type) for f in schema), path
        assert list(schema.names[-4:]) == [*PROVENANCE, TITLE_PROVENANCE], path
        assert path.parent == root or path.parent.name.startswith("县=")
    hh = pq.read_table(root / "县=宿松县" / "households.parquet").to_pandas()
    assert set(hh["县"]) == {"宿松县"}
    assert set(hh["来源文件"]) <= {SAMPLE.name}
    flat = pq.read_table(root / "县=宿松县" / "members_flat.parquet").to_pandas()
    assert set(flat["来源工作表"]) == {"建档立卡人员信息"}
    assert flat["来源行"].astype(int).min() == 4  # title row + two header rows in the workbook
    # an orphan member (DQ037, no household) has no county: it goes to the empty partition
    orphan = pq.read_table(root / f"县={EMPTY_PARTITION}" / "members.parquet").to_pandas()
    assert len(orphan) == 1 and orphan["来源工作表"].iloc[0] == "家庭成员补录"


def test_csv_counties_split_by_county(tmp_path):
    hid_a, hid_b = "3408260010010001", "3408220010010001"
    a = tmp_path / "户信息.csv"
    pd.DataFrame([household(hid_a), household(hid_b, 县="怀宁县", 户联系电话="13912345679")]).to_csv(
        a, index=False, encoding="gb18030"
    )
    b = tmp_path / "家庭成员.csv"
    m_a = member(hid_a)
    m_b = member(hid_b, 证件号码=make_id("340822", "19710101", 111))
    m_a.pop("县")
    m_b.pop("县")
    pd.DataFrame([m_a, m_b]).to_csv(b, index=False, encoding="gb18030")
    root = tmp_path / "tree"
    done = cli("convert", a, b, "-o", root)
    assert done.returncode == 0, done.stderr
    got = pq.read_table(root / "县=怀宁县" / "members.parquet").to_pandas()
    assert got["户编号"].tolist() == [hid_b]  # members follow their household's county
    assert got["来源文件"].tolist() == ["家庭成员.csv"] and got["来源行"].tolist() == ["3"]
    assert got["来源工作表"].tolist() == [""]
    assert not (root / "县=宿松县" / "villages.parquet").exists()


@pytest.fixture
def small_book(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "小县.xlsx", {"户信息": [household()], "家庭成员": [member()]})


def test_refuses_to_overwrite_and_exit_codes(tmp_path, small_book):
    root = tmp_path / "tree"
    assert cli("convert", small_book, "-o", root).returncode == 0
    again = cli("convert", small_book, "-o", root)
    assert again.returncode == 2 and "--overwrite" in again.stderr
    assert cli("convert", small_book, "-o", root, "--overwrite").returncode == 0
    junk = tmp_path / "junk.csv"
    junk.write_text("a,b\n1,2\n", encoding="utf-8")
    nothing = cli("convert", junk, "-o", tmp_path / "empty")
    assert nothing.returncode == 2
    assert "找不到可识别的表头" in nothing.stderr or "无法判断" in nothing.stderr
    assert parquet_files(tmp_path / "empty") == []
    missing = cli("convert", tmp_path / "nope.xlsx", "-o", tmp_path / "empty2")
    assert missing.returncode == 2


def test_never_writes_over_an_input(tmp_path, small_book):
    root = tmp_path / "tree"
    assert cli("convert", small_book, "-o", root).returncode == 0
    inside = root / "县=宿松县" / "households.parquet"
    before = inside.read_bytes()
    done = cli("convert", *parquet_files(root), "-o", root, "--overwrite")
    assert done.returncode == 2 and "不会覆盖输入文件" in done.stderr
    assert inside.read_bytes() == before


def test_three_county_sample_cross_county_findings(tmp_path):
    root = tmp_path / "tree"
    done = cli(
        "sample",
        "--counties",
        "3",
        "--households",
        "150",
        "-f",
        "parquet",
        "--partition-by",
        "县",
        "-o",
        root,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["县=太湖县", "县=宿松县", "县=怀宁县"]
    found = findings(*parquet_files(root), out=tmp_path / "f.csv")
    planted = pd.read_csv(root / "_planted.csv", dtype=str, keep_default_na=False)
    person = planted.loc[(planted["rule"] == "SY103") & planted["description"].str.contains("跨县"), "key"]
    assert len(person) == 2
    sy103 = found[(found["rule"] == "SY103") & found["message"].str.contains("跨县")]
    assert set(sy103["id_number"]) == set(person) and len(sy103) == 2
    assert {Path(f).parent.name for f in sy103["file"]} == {"县=宿松县", "县=怀宁县"}
    phones = planted[(planted["rule"] == "SY104") & planted["description"].str.contains("跨县")]
    sy104 = found[found["rule"] == "SY104"]
    assert set(phones["key"]) <= set(sy104["household_id"])


def test_sample_partition_needs_parquet(tmp_path):
    done = cli("sample", "--counties", "2", "-o", tmp_path / "x")
    assert done.returncode == 2 and "--partition-by" in done.stderr


@pytest.mark.parametrize("value", ["", "a/b", "..", "县=1"])
def test_partition_value_is_a_safe_directory(tmp_path, value):
    from fupin_audit.convert import partition_dir

    path = partition_dir(tmp_path, "县", value)
    assert path.parent == tmp_path and path.name.startswith("县=") and "/" not in path.name[2:]
    assert path.name.count("=") == 1


MONITORING_SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "防返贫监测样例2023.xlsx"


def test_monitoring_workbook_converts_to_equivalent_tree(tmp_path):
    # A 2023 监测对象信息 export: the tree keeps what the loader read from the workbook (its 导出时间 title
    # row, by which ages and months are judged) and leaves out what it derived (脱贫状态 from 户类型, the
    # measures split from the measure columns, 家庭人口数 counted): the same findings at the same places.
    root = tmp_path / "tree"
    assert cli("convert", MONITORING_SAMPLE, "-o", root).returncode == 0
    config = tmp_path / "line.toml"
    config.write_text("[monitoring_line]\n2022 = 7000\n2023 = 7300\n", encoding="utf-8")
    before = findings(MONITORING_SAMPLE, "--config", config, out=tmp_path / "a.csv")
    after = findings(*parquet_files(root), "--config", config, out=tmp_path / "b.csv")
    assert len(before) > 80 and before["rule"].str.startswith("MN").any()
    columns = ["rule", "message", "sheet", "row", "household_id", "id_number"]
    pd.testing.assert_frame_equal(
        before[columns].sort_values(columns).reset_index(drop=True),
        after[columns].sort_values(columns).reset_index(drop=True),
    )
    frame = pd.read_parquet(next(root.rglob("members_flat.parquet")))
    assert not {"脱贫状态", "是否监测对象", "措施类型", "内容", "家庭人口数"} & set(frame.columns)
    assert set(frame["来源导出时间"]) == {"2023-12-31"}  # the sample's title: 导出时间：2023-12-31
