"""From real files to typed tables: classification, header mapping, flat exports, units, locations."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import household, make_id, member, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.load import TableRequest, classify, load

FIXTURES = Path(__file__).parent / "fixtures"


def test_xls_made_by_libreoffice_with_title_and_two_row_header():
    dataset = load([FIXTURES / "households.xls"])
    households = dataset.tables["households"]
    assert {"户编号", "家庭人口数", "工资性收入", "人均纯收入", "脱贫状态", "乡"} <= households.fields
    first = households.data.iloc[0]
    assert first["户编号"] == "3408260101001"
    assert first["人均纯收入"] == 4523.67 and first["脱贫状态"] == "已脱贫"
    assert first["_row"] == 5  # title, unit line and two header rows above it
    source = dataset.sources[int(first["_src"])]
    assert source.sheet == "贫困户" and source.headers["乡"] == "乡（镇）"
    assert dataset.title_years[int(first["_src"])] == 2017
    # the 说明 sheet holds no table: a warning, not an error (which would make the run end with exit 2)
    notes = [d for d in dataset.diagnostics if d.sheet == "说明"]
    assert [(d.level, d.message.startswith("不是数据表")) for d in notes] == [("warning", True)]


def test_same_workbook_in_every_format_gives_the_same_households():
    frames = []
    for name in ("households.xlsx", "households.xls", "households.ods"):
        data = load([FIXTURES / name]).tables["households"].data
        frames.append(data[["户编号", "人均纯收入", "_row"]].reset_index(drop=True))
    for other in frames[1:]:
        pd.testing.assert_frame_equal(frames[0], other)


def test_gbk_csv_member_export():
    dataset = load([FIXTURES / "members_gbk.csv"])
    members = dataset.tables["members"]
    assert dataset.sources[0].file.endswith("members_gbk.csv") and dataset.sources[0].sheet == ""
    assert members.data["证件号码"].iloc[0] == "340826196501011234"  # ="…" unwrapped
    assert members.raw["证件号码"].iloc[0] == '="340826196501011234"'  # value as read
    assert members.data["务工时间"].iloc[0] == 10
    assert members.data["_row"].tolist()[:3] == [3, 4, 5]
    assert members.data["户编号"].iloc[3] == "0012"  # leading zeros kept


def test_flat_export_is_split_and_conflicts_found(tmp_path):
    rows = []
    for i, (hid, income) in enumerate([("H1", 3120), ("H1", 3120), ("H2", 5000), ("H2", 5100)]):
        record = member(hid, 证件号码=make_id(seq=101 + 2 * i), 姓名=f"人{i}")
        record.update({"家庭人口数": 2, "贫困户属性": "一般贫困户", "脱贫状态": "未脱贫", "主要致贫原因": "缺资金",
                       "人均纯收入": income})  # fmt: skip
        rows.append(record)
    path = write_xlsx(
        tmp_path / "flat.xlsx", {"建档立卡人员信息": rows}, title="宿松县2017年建档立卡人员信息表"
    )
    result = audit([str(path)], select=["DQ036"])
    assert result.dataset.rows_read() == {"households": 2, "members": 4}
    assert [s.flat for s in result.dataset.sources] == [True, True]
    finding = result.findings.iloc[0]
    assert len(result.findings) == 1
    assert (finding["rule"], finding["row"], finding["column"], finding["value"]) == (
        "DQ036",
        6,
        "人均纯收入",
        "5100",
    )
    assert "第 5 行" in finding["message"]


def test_household_columns_on_the_heads_row_only_are_the_households_values(tmp_path):
    """An export that writes the household columns on the 户主's row only (the other members' cells
    blank or “-”) raises no DQ036, and the household takes the 户主 row's values even when its first
    row is another member's; a real disagreement between filled cells is still DQ036."""
    household_columns = {
        "家庭人口数": 2,
        "贫困户属性": "一般贫困户",
        "脱贫状态": "未脱贫",
        "主要致贫原因": "缺资金",
    }
    rows = []
    people = [
        ("H1", "配偶", None),
        ("H1", "户主", 3120),
        ("H2", "户主", 5000),
        ("H2", "之子", "-"),
        ("H2", "之女", 5100),
    ]
    for i, (hid, relation, income) in enumerate(people):
        record = member(hid, 证件号码=make_id(seq=101 + 2 * i), 姓名=f"人{i}", 与户主关系=relation)
        filled = relation == "户主"
        record.update({k: (v if filled else None) for k, v in household_columns.items()})
        record["人均纯收入"] = income
        rows.append(record)
    path = write_xlsx(
        tmp_path / "flat.xlsx", {"建档立卡人员信息": rows}, title="宿松县2017年建档立卡人员信息表"
    )
    result = audit([str(path)], select=["DQ036", "DQ002"])
    households = result.dataset.tables["households"].data.set_index("户编号")
    assert households.loc["H1", "人均纯收入"] == 3120 and households.loc["H1", "脱贫状态"] == "未脱贫"
    assert households.loc["H2", "人均纯收入"] == 5000
    found = result.findings[["rule", "row", "column", "value"]].values.tolist()
    assert found == [["DQ036", 7, "人均纯收入", "5100"]]


def test_sheet_and_header_variants_are_recognised(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    ws.append(
        ["贫困户编号", "身份证号", "姓名", "性别", "与户主关系", "健康状况", "劳动技能", "务工时间（月）"]
    )
    ws.append(["H1", make_id(), "张三", "1", "户主", "健康", "普通劳动力", "６"])
    path = tmp_path / "人员.xlsx"
    wb.save(path)
    members = load([path]).tables["members"]
    assert members.data["性别"].iloc[0] == "男" and members.data["务工时间"].iloc[0] == 6
    assert classify("村信息", "x.xlsx", ["村", "总人口数", "贫困人口数"]) == "villages"
    assert classify("死亡人员", "x.xlsx", ["证件号码", "姓名", "死亡日期"]) == "rosters"


def test_roster_named_after_its_category_and_wan_yuan_units(tmp_path):
    path = write_xlsx(
        tmp_path / "b.xlsx",
        {
            "死亡人员": [{"证件号码": make_id(), "姓名": "王某", "死亡日期": "2016-05-03"}],
            "村信息": [{"乡": "孚玉镇", "村": "城西村", "总人口数": 900, "村集体经济收入（万元）": 3.2}],
        },
    )
    dataset = load([path])
    assert dataset.tables["rosters"].data["类别"].iloc[0] == "死亡"
    assert dataset.tables["rosters"].data["日期"].iloc[0] == pd.Timestamp("2016-05-03")
    assert dataset.tables["villages"].data["村集体经济收入"].iloc[0] == 32000


def test_forced_table_kind(tmp_path):
    path = write_xlsx(
        tmp_path / "c.xlsx", {"Sheet": [{"户编号": "H1", "姓名": "张三", "措施类型": "产业帮扶"}]}
    )
    assert "measures" in load([path]).tables
    forced = load([path], forced=[TableRequest.parse(f"helpers={path}:Sheet")])
    assert set(forced.tables) == {"helpers"}


def test_missing_column_in_one_source_is_dq001_not_dq002(tmp_path):
    full = write_xlsx(tmp_path / "a.xlsx", {"户信息": [household("H1")]})
    partial_row = {k: v for k, v in household("H2").items() if k != "主要致贫原因"}
    partial = write_xlsx(tmp_path / "b.xlsx", {"户信息": [partial_row]})
    result = audit([str(full), str(partial)], select=["DQ001", "DQ002"])
    assert result.findings["rule"].tolist() == ["DQ001"]
    assert result.findings["file"].iloc[0].endswith("b.xlsx")
    assert result.findings["column"].iloc[0] == "主要致贫原因"


def test_inputs_are_never_modified(tmp_path):
    import hashlib

    path = write_xlsx(tmp_path / "d.xlsx", {"户信息": [household()], "家庭成员": [member()]})
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    result = audit([str(path)])
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before == result.dataset.files[0].sha256


def test_a_second_column_for_the_same_field_is_reported_not_silently_dropped(tmp_path):
    """身份证号码 beside 证件号码: only the first is checked, and the auditor is told which."""
    rows = [{**member("H1", 证件号码=make_id(seq=1)), "身份证号码": "340826199001011230"}]
    path = write_xlsx(tmp_path / "成员.xlsx", {"家庭成员": rows})
    dataset = load([path])
    [warning] = [d for d in dataset.diagnostics if "都是字段" in d.message]
    header = list(rows[0])
    first, second = (
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[header.index("证件号码")],
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(header) - 1],
    )
    assert warning.level == "warning" and warning.sheet == "家庭成员" and warning.file.endswith("成员.xlsx")
    assert f"第 {second} 列“身份证号码”与第 {first} 列“证件号码”都是字段 证件号码" in warning.message
    assert dataset.tables["members"].data["证件号码"].tolist() == [make_id(seq=1)]


def test_distinct_fields_raise_no_duplicate_warning(tmp_path):
    path = write_xlsx(tmp_path / "成员.xlsx", {"家庭成员": [member("H1")], "户信息": [household("H1")]})
    assert not [d for d in load([path]).diagnostics if "都是字段" in d.message]


def test_legacy_workbooks_are_read_ahead_with_the_same_result(tmp_path, monkeypatch):
    """.xls files are parsed in helper processes, several at once; the dataset is the same."""
    import shutil
    import threading

    import fupin_audit.load as loader

    paths = []
    for i in range(3):
        paths.append(shutil.copy(FIXTURES / "households.xls", tmp_path / f"乡{i}.xls"))
    paths.insert(1, FIXTURES / "members_gbk.csv")
    threads: dict[str, int] = {}
    real = loader.read_file

    def recorded(path, **kw):
        threads[Path(path).name] = threading.get_ident()
        return real(path, **kw)

    monkeypatch.setattr(loader, "read_file", recorded)
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "1")
    alone = load(paths)
    assert set(threads.values()) == {threading.get_ident()}
    threads.clear()
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "2")
    ahead = load(paths)
    assert threads["members_gbk.csv"] == threading.get_ident()  # read in its turn
    assert all(threads[f"乡{i}.xls"] != threading.get_ident() for i in range(3))
    for kind, table in alone.tables.items():
        pd.testing.assert_frame_equal(table.data, ahead.tables[kind].data)
    assert [(s.file, s.sheet) for s in alone.sources] == [(s.file, s.sheet) for s in ahead.sources]
    assert alone.diagnostics == ahead.diagnostics and len(alone.diagnostics) == 6  # 说明, 隐藏 sheets


def _workbook_with_extra_sheet(tmp_path: Path, name: str, lines: list[list[object]]) -> Path:
    path = write_xlsx(tmp_path / "县.xlsx", {"户信息": [household()], "家庭成员": [member()]})
    wb = openpyxl.load_workbook(path)
    extra = wb.create_sheet(name, 0)
    for line in lines:
        extra.append(line)
    wb.save(path)
    return path


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("填表说明", [["1. 本表由县乡村振兴局导出"], ["2. 证件号码请以文本格式填写"], [None, "（续）"]]),
        ("Sheet3", [["注：人均纯收入以元为单位"], ["制表人：张三"]]),  # text in one column only
    ],
)
def test_a_notes_sheet_beside_the_data_is_a_warning_not_a_failure(tmp_path, name, lines):
    """A workbook's sheet of instructions or remarks holds no table: skipped with a warning, and the
    run, which read every data sheet, does not end with exit code 2."""
    path = _workbook_with_extra_sheet(tmp_path, name, lines)
    done = subprocess.run(
        [sys.executable, "-m", "fupin_audit", "check", str(path), "--format", "csv"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    assert f"warning: {path}:{name}: 不是数据表" in done.stderr


@pytest.mark.parametrize(
    ("name", "lines"),
    [
        ("Sheet3", [["甲", "乙", "丙"], [1, 2, 3]]),  # a table whose header the tool cannot read
        ("帮扶措施", [["宿松县帮扶措施表"]]),  # named as a table, holding none: data that was expected
    ],
)
def test_a_sheet_that_may_hold_data_without_a_header_is_still_an_error(tmp_path, name, lines):
    path = _workbook_with_extra_sheet(tmp_path, name, lines)
    dataset = load([path])
    errors = [d for d in dataset.diagnostics if d.level == "error"]
    assert [(d.sheet, "找不到可识别的表头" in d.message) for d in errors] == [(name, True)]


def test_a_sheet_of_totals_is_not_a_village_table(tmp_path):
    """A 汇总 sheet of 户数/人数 per village beside the records is said and left out (it was read as a
    village table missing 总人口数: a false DQ001); a sheet named 汇总 that lists people is read."""
    path = _workbook_with_extra_sheet(
        tmp_path,
        "汇总",
        [["乡（镇）", "村", "户数", "人数"], ["孚玉镇", "城西村", 1, 1], ["合计", None, 1, 1]],
    )
    result = audit([path], select=["DQ001"])
    assert "villages" not in result.dataset.tables and result.findings.empty
    said = [d for d in result.dataset.diagnostics if d.sheet == "汇总"]
    assert [(d.level, d.message.startswith("汇总或统计表")) for d in said] == [("info", True)]
    listed = write_xlsx(
        tmp_path / "全县.xlsx", {"全县汇总": [member(), member(姓名="李秀英", 证件号码=make_id(seq=222))]}
    )
    assert len(load([listed]).tables["members"].data) == 2


@pytest.mark.parametrize(
    ("title", "year", "warned"),
    [
        ("导出时间：2024-01-15", None, True),  # early in the year: likely last year's data
        ("导出时间：2023-12-31", None, False),
        ("导出时间：2024-01-15", 2023, False),  # --year says which
    ],
)
def test_an_export_dated_early_in_the_year_says_which_year_it_is_checked_as(tmp_path, title, year, warned):
    rows = [{k: v for k, v in household().items() if k != "年度"}]
    path = write_xlsx(tmp_path / "户.xlsx", {"户信息": rows}, title=title)
    result = audit([path], select=["DQ011"], year=year)
    said = [d for d in result.dataset.diagnostics if d.message.startswith("导出时间 ")]
    expected = [
        "导出时间 2024-01-15，本表没有年度列：按 2024 年检查；若这是 2023 年的数据（年初导出上一年的数据很常见），请用 --year 2023 指定"
    ]
    assert [d.message for d in said] == (expected if warned else [])
