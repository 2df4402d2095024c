"""Exports as counties really send them, beyond the spec's layouts: each test writes a real file (xlsx with
openpyxl, GBK CSV bytes, .xls through LibreOffice) the way a county clerk or a provincial system does, and
checks that the tool reads it as the same data as the plain layout.

- a 16-digit 户编号 stored as a number cell (a system export) keeps its digits;
- 户编号 written with a leading apostrophe (or ="…", full width) is one household with the plain one;
- a header with a bracketed format hint or second name (证件号码（身份证号）, 识别监测时间（年月）) is its field;
- header wordings of other counties and of the 2026 常态化 export (户编码, 是否消除风险, 识别纳入时间,
  致贫返贫风险类型2, the work table's 防止返贫致贫对象类别);
- signature lines under the table (制表人：…  审核人：…) are not data rows;
- amounts with their own unit (3.6494万元), numbers with a unit (3个月), codes with a qualifier
  (一般脱贫户（享受政策）, 已脱贫（不享受政策）);
- DQ036 compares a household's values, not their writing (189-7024-9502 and 18970249502).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest
from conftest import make_id

from fupin_audit.audit import audit
from fupin_audit.io.cells import number_text
from fupin_audit.load import canonical, load

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

MONITORING_HEADER = [
    "县", "乡", "村", "户编号", "姓名", "证件号码", "性别", "与户主关系", "户联系电话", "户类型", "监测对象类别",
    "健康状况", "劳动技能", "人均纯收入（元）", "风险是否已消除", "识别监测时间",
]  # fmt: skip


def _people() -> list[list[object]]:
    """Two households of two people each, 2023 monitoring-era values, in MONITORING_HEADER order."""
    rows = []
    for h, hid in enumerate(("3408260010010001", "3408260010010002")):
        for p, relation in enumerate(("户主", "配偶")):
            sex = "男" if p == 0 else "女"
            pid = make_id(birth=f"19{70 + h}0101", seq=111 + 10 * h + (0 if p == 0 else 1))
            rows.append(
                ["宿松县", "孚玉镇", "城西村", hid, f"张{h}{p}", pid, sex, relation, "13912345678" if h == 0
                 else "13812345678", "脱贫户", "边缘易致贫户", "健康", "普通劳动力", 12000, "否", "202303"]
            )  # fmt: skip
    return rows


def _workbook(
    path: Path, header: list[str], rows: list[list[object]], *, footer=(), sheet="监测对象信息"
) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(["宿松县2023年防返贫监测对象信息"])
    ws.append(["导出时间：2023-12-31"])
    ws.append(header)
    for row in rows:
        ws.append(row)
    for row in footer:
        ws.append(row)
    wb.save(path)
    return path


def _rules(result, *codes: str) -> list:
    return [f for f in result.findings.itertuples() if f.rule in codes]


# ---------------------------------------------------------------------------------------------- keys


def test_sixteen_digit_household_code_in_a_number_cell_keeps_its_digits(tmp_path):
    """A system writes 户编号 as a number cell: 3408260010010001 is exact in the file (below 2**53), and
    read as "3.40826001001E+15" the two households (and every ninth of a village) shared one key:
    a storm of DQ036/DQ031 and, under --previous, no household matched."""
    rows = _people()
    for row in rows:
        row[3] = int(row[3])
    path = _workbook(tmp_path / "numbers.xlsx", MONITORING_HEADER, rows)
    data = load([path])
    assert sorted(data.tables["households"].data["户编号"]) == ["3408260010010001", "3408260010010002"]
    result = audit([str(path)])
    assert not _rules(result, "DQ021", "DQ031", "DQ032", "DQ036")
    # an 18-digit ID stored as a number has lost its digits: still shown as Excel shows it (DQ013)
    assert number_text(float(340826197001011115)) == "3.40826197001011E+17"
    assert number_text(3408260010010001.0) == "3408260010010001"


def _gbk_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = ["宿松县2019年建档立卡贫困人口明细表", ",".join(header)]
    lines += [",".join("" if v is None else str(v) for v in row) for row in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))
    return path


LAYOUT_2019 = [
    "行政县", "乡镇", "行政村", "户编号", "人编号", "姓名", "证件号码", "人数", "与户主关系", "健康状况", "劳动技能",
    "务工时间", "脱贫属性", "脱贫年度", "贫困户属性", "主要致贫原因", "人均纯收入", "联系电话", "首次识别时间",
]  # fmt: skip


def _rows_2019() -> list[list[object]]:
    rows = []
    for p, (relation, work) in enumerate((("户主", "3"), ("配偶", "11"), ("之子", "0"))):
        pid = make_id(birth=f"19{65 + 5 * p}0101", seq=111 + p)
        rows.append(
            ["宿松县", "孚玉镇", "城西村", "3408260010010001", f"340826001001000{p + 1}", f"李{p}", pid, 3, relation,
             "健康", "普通劳动力", work, "已脱贫（享受政策）", 2018, "一般脱贫户", "缺资金", "9000.00", "13912345678",
             "2014年12月"]
        )  # fmt: skip
    return rows


def test_household_code_with_a_leading_apostrophe_is_one_household(tmp_path):
    """A GBK CSV where the clerk forced some codes to text with ' (or =\"…\", or full-width digits): one
    household, not two half-households each without a 户主 or with a wrong 家庭人口数."""
    rows = _rows_2019()
    rows[1][3] = "'" + rows[1][3]
    rows[2][3] = '="' + rows[2][3] + '"'
    path = _gbk_csv(tmp_path / "户信息.csv", LAYOUT_2019, rows)
    data = load([path])
    assert list(data.tables["households"].data["户编号"]) == ["3408260010010001"]
    assert set(data.tables["members"].data["户编号"]) == {"3408260010010001"}
    result = audit([str(path)])
    assert not _rules(result, "DQ030", "DQ035", "DQ036", "DQ037", "SY104")


# ------------------------------------------------------------------------------------------- headers


def test_header_with_a_format_hint_or_second_name_is_its_field(tmp_path):
    header = [
        {
            "证件号码": "证件号码（身份证号）",
            "识别监测时间": "识别监测时间（年月）",
            "户编号": "户编号（16位）",
        }.get(h, h)
        for h in MONITORING_HEADER
    ]
    path = _workbook(tmp_path / "hints.xlsx", header, _people())
    result = audit([str(path)])
    assert not _rules(result, "DQ001")
    assert not [d for d in result.dataset.diagnostics if "未识别" in d.message]
    members = load([path]).tables["members"].data
    assert members["证件号码"].notna().all()
    assert load([path]).tables["households"].data["识别监测时间"].tolist() == [202303, 202303]
    # a qualifier is another field, not a hint: 人均纯收入（上年） is not this year's income
    assert canonical("households", "人均纯收入(上年)") != "人均纯收入"
    assert canonical("members", "姓名(户主)") is None


@pytest.mark.parametrize(
    ("kind", "header", "field"),
    [
        ("households", "户编码", "户编号"),
        ("households", "是否消除风险", "风险是否已消除"),
        ("households", "识别纳入时间", "识别监测时间"),
        ("households", "致贫返贫风险类型2", "致贫返贫风险2"),
        ("work", "防止返贫致贫对象类别", "监测对象类别"),
        ("work_plans", "农户类型", "户类型"),
    ],
)
def test_other_counties_header_words(kind, header, field):
    assert canonical(kind, header) == field


def test_2026_export_with_its_own_words_runs_the_monitoring_rules(tmp_path):
    """The 2026 常态化 export of a county: 防止返贫致贫对象类别, 是否消除风险, 识别纳入时间, 户编码 — every column
    read, DQ070 judges the identification month (here one after the export date)."""
    words = {"户编号": "户编码", "监测对象类别": "防止返贫致贫对象类别", "风险是否已消除": "是否消除风险",
             "识别监测时间": "识别纳入时间"}  # fmt: skip
    header = [words.get(h, h) for h in MONITORING_HEADER]
    rows = _people()
    rows[0][-1] = rows[1][-1] = "202701"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "防止返贫致贫对象信息"
    ws.append(["宿松县2026年防止返贫致贫对象信息"])
    ws.append(["导出时间：2026-12-31"])
    ws.append(header)
    for row in rows:
        ws.append(row)
    work = wb.create_sheet("已外出务工信息")
    work.append(
        [
            "县",
            "乡",
            "行政村",
            "户编码",
            "证件号码",
            "户类型",
            "防止返贫致贫对象类别",
            "是否已务工",
            "开始时间",
        ]
    )
    work.append(
        ["宿松县", "孚玉镇", "城西村", rows[0][3], rows[0][5], "脱贫户", "边缘易致贫户", "是", "2026年03月"]
    )
    path = tmp_path / "2026.xlsx"
    wb.save(path)
    result = audit([str(path)])
    assert not [d for d in result.dataset.diagnostics if "未识别" in d.message], result.dataset.diagnostics
    assert [f.row for f in _rules(result, "DQ070")] == [4]


# ---------------------------------------------------------------------------------------------- rows


def test_signature_lines_under_the_table_are_not_data(tmp_path):
    footer = [
        ["合计", None, None, None, "4人"],
        [],
        ["制表人：王五", None, "审核人：赵六", None, "填报日期：2024年1月5日"],
    ]
    path = _workbook(tmp_path / "footer.xlsx", MONITORING_HEADER, _people(), footer=footer)
    assert len(load([path]).tables["members"].data) == 4
    result = audit([str(path)])
    assert not _rules(result, "DQ002", "DQ037")


# -------------------------------------------------------------------------------------------- values


def test_amounts_and_counts_written_with_their_unit(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "行政村信息"
    ws.append(["县", "乡", "村", "是否出列", "总户数", "总人口数", "村级集体经济收入（万元）"])
    ws.append(["宿松县", "孚玉镇", "城西村", "是", 120, 400, "3.6494万元"])
    ws.append(["宿松县", "孚玉镇", "城东村", "是", "35户", "116人", "36494元"])
    ws.append(["宿松县", "孚玉镇", "城北村", "是", 50, 166, "1.2万"])
    path = tmp_path / "villages.xlsx"
    wb.save(path)
    villages = load([path]).tables["villages"].data
    assert villages["村集体经济收入"].tolist() == [36494.0, 36494.0 * 10_000, 12_000.0]
    assert villages["总户数"].tolist() == [120, 35, 50]
    result = audit([str(path)], year=2023)
    assert not _rules(result, "DQ004")


def test_codes_with_a_qualifier_and_months_with_a_unit(tmp_path):
    rows = _rows_2019()
    rows[0][14] = rows[1][14] = rows[2][14] = "一般脱贫户（享受政策）"
    rows[0][12] = rows[1][12] = rows[2][12] = "已脱贫（不享受政策）"
    rows[0][11], rows[1][11] = "3个月", "11个月"
    path = _gbk_csv(tmp_path / "2019.csv", LAYOUT_2019, rows)
    households = load([path]).tables["households"].data
    assert households["贫困户属性"].tolist() == ["一般脱贫户"]
    assert households["脱贫状态"].tolist() == ["已脱贫(不再享受政策)"]
    assert load([path]).tables["members"].data["务工时间"].tolist() == [3, 11, 0]
    result = audit([str(path)])
    assert not _rules(result, "DQ003", "DQ004")


def test_a_qualifier_that_may_change_the_meaning_is_left_for_a_person(tmp_path):
    """Only brackets that annotate a value are read past: 低保户（已退出） is not 低保户, and 3天 is not
    3 months of 务工时间 — both stay problems (DQ003, DQ004) rather than silently becoming values."""
    from fupin_audit.schema.codes import code_list

    assert code_list("贫困户属性").label("一般脱贫户(享受政策)") == "一般脱贫户"
    assert code_list("贫困户属性").label("一般脱贫户(2016年脱贫)") == "一般脱贫户"
    assert code_list("贫困户属性").label("一般脱贫户(已退出)") is None
    rows = _rows_2019()
    rows[0][14] = rows[1][14] = rows[2][14] = "低保脱贫户（已退出）"
    rows[0][11] = "3天"
    path = _gbk_csv(tmp_path / "2019.csv", LAYOUT_2019, rows)
    result = audit([str(path)])
    assert [f.column for f in _rules(result, "DQ003")] == ["贫困户属性"]
    assert [f.column for f in _rules(result, "DQ004")] == ["务工时间"]


def test_dq036_compares_values_not_their_writing(tmp_path):
    rows = _people()
    rows[1][8] = "139-1234-5678"  # the household's phone, written with separators on the second row
    rows[1][15] = "2023年3月"
    rows[1][14] = "N"
    rows[3][8] = "13700000000"  # a real conflict in the second household
    path = _workbook(tmp_path / "forms.xlsx", MONITORING_HEADER, rows)
    result = audit([str(path)])
    conflicts = _rules(result, "DQ036")
    assert [(f.row, f.column) for f in conflicts] == [(7, "户联系电话")]


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed")
def test_the_same_county_export_as_xls(tmp_path):
    """The county saved its workbook as .xls (LibreOffice): number-cell 户编号, hinted headers and the
    signature lines read as in the xlsx."""
    header = [{"证件号码": "证件号码（身份证号）"}.get(h, h) for h in MONITORING_HEADER]
    rows = _people()
    for row in rows:
        row[3] = int(row[3])
    source = _workbook(tmp_path / "county.xlsx", header, rows, footer=[["制表人：王五"]])
    subprocess.run(
        [SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to", "xls",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    path = tmp_path / "county.xls"
    data = load([path])
    assert sorted(data.tables["households"].data["户编号"]) == ["3408260010010001", "3408260010010002"]
    assert len(data.tables["members"].data) == 4 and data.tables["members"].data["证件号码"].notna().all()
    result = audit([str(path)])
    assert not _rules(result, "DQ001", "DQ002", "DQ021", "DQ031", "DQ036")


def test_after_elimination_block_under_a_merged_group_label(tmp_path):
    """A two-row header whose merged 风险消除后情况 stands over 是否住房损毁, 是否饮水设施损毁 …: the sub-columns
    are the 风险消除后 fields (they were "未识别", and MN123 never saw the damaged water supply)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "监测对象信息"
    ws.append(["宿松县2024年防返贫监测对象信息"])
    ws.append(["导出时间：2024-12-31"])
    top = ["县", "乡", "村", "户编号", "姓名", "证件号码", "与户主关系", "户类型", "监测对象类别", "健康状况",
           "劳动技能", "人均纯收入（元）", "风险是否已消除", "风险消除方式", "识别监测时间", "消除监测时间",
           "风险消除后情况", None, None, "产业帮扶"]  # fmt: skip
    ws.append(top)
    ws.append([None] * 16 + ["是否住房损毁", "是否饮水设施损毁", "风险是否已消除", None])
    ws.merge_cells(start_row=3, start_column=17, end_row=3, end_column=19)
    for column in [*range(1, 17), 20]:
        ws.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
    for h in range(2):
        ws.append(
            ["宿松县", "孚玉镇", "城西村", f"340826001001000{h + 1}", f"王{h}", make_id(birth=f"19{60 + h}0101", seq=111),
             "户主", "脱贫户", "脱贫不稳定户", "健康", "普通劳动力", 9000, "是", "帮扶消除", "202401", "202409", "否",
             "是" if h else "否", "是", "种植业补贴"]
        )  # fmt: skip
    path = tmp_path / "block.xlsx"
    wb.save(path)
    result = audit([str(path)])
    assert not [d for d in result.dataset.diagnostics if "未识别" in d.message], result.dataset.diagnostics
    households = load([path]).tables["households"].data
    assert households["风险消除后是否饮水设施损毁"].tolist() == [False, True]
    assert [f.row for f in _rules(result, "MN123")] == [6]


# ------------------------------------------------------------------------------------- merged cells

# Household columns a county merges over its members' rows (1-based, in MONITORING_HEADER).
MERGED_COLUMNS = (
    "县",
    "乡",
    "村",
    "户编号",
    "户联系电话",
    "户类型",
    "监测对象类别",
    "人均纯收入（元）",
    "风险是否已消除",
)


def _merged_workbook(path: Path) -> Path:
    """The two households of `_people` with every household column merged over the household's rows,
    under a two-row header: 户类型 and 监测对象类别 under a merged group label 监测信息, every other
    header cell merged over both header rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "监测对象信息"
    ws.append(["宿松县2023年防返贫监测对象信息"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(MONITORING_HEADER))
    grouped = ("户类型", "监测对象类别")
    ws.append([None if h == grouped[1] else "监测信息" if h == grouped[0] else h for h in MONITORING_HEADER])
    ws.append([h if h in grouped else None for h in MONITORING_HEADER])
    for j, h in enumerate(MONITORING_HEADER, start=1):
        if h == grouped[0]:
            ws.merge_cells(start_row=2, start_column=j, end_row=2, end_column=j + 1)
        elif h not in grouped:
            ws.merge_cells(start_row=2, start_column=j, end_row=3, end_column=j)
    rows = _people()
    for i, row in enumerate(rows):
        ws.append(
            [
                v if i % 2 == 0 or h not in MERGED_COLUMNS else None
                for h, v in zip(MONITORING_HEADER, row, strict=True)
            ]
        )
    for first in (4, 6):  # each household's two rows
        for j, h in enumerate(MONITORING_HEADER, start=1):
            if h in MERGED_COLUMNS:
                ws.merge_cells(start_row=first, start_column=j, end_row=first + 1, end_column=j)
    wb.save(path)
    return path


def _assert_read_as_plain(data) -> None:
    members = data.tables["members"].data
    assert members["户编号"].tolist() == ["3408260010010001"] * 2 + ["3408260010010002"] * 2
    assert members["_row"].tolist() == [4, 5, 6, 7]
    households = data.tables["households"].data
    assert households["人均纯收入"].tolist() == [12000.0, 12000.0]
    assert households["户类型"].tolist() == ["脱贫户", "脱贫户"]
    assert data.flat_conflicts is None or data.flat_conflicts.empty


def test_household_cells_merged_over_the_members_rows_hold_for_every_row(tmp_path):
    """A merged range shows its value in every row it covers: the second member of each household
    has its 户编号 and household values (no DQ002 empty 户编号, no DQ036 conflict), and the header's
    own merged cells (over two header rows) still read as one header."""
    path = _merged_workbook(tmp_path / "merged.xlsx")
    data = load([path])
    _assert_read_as_plain(data)
    result = audit([path], select=["DQ002", "DQ036", "DQ035", "DQ037"])
    assert result.findings.empty, result.findings[["rule", "message"]].to_string()


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed")
def test_merged_household_cells_in_an_xls_saved_by_libreoffice(tmp_path):
    source = _merged_workbook(tmp_path / "merged.xlsx")
    subprocess.run(
        [SOFFICE, "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to", "xls",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    _assert_read_as_plain(load([tmp_path / "merged.xls"]))


def test_merged_ranges_travel_with_a_grid_a_helper_sends():
    """A big workbook's sheets are read by helper processes and sent as Arrow IPC: the merged ranges
    go with the grid."""
    import pandas as pd

    from fupin_audit.io.parallel import MERGED_DOWN, grid_from_ipc, grid_to_ipc

    grid = pd.DataFrame({0: ["户编号", "1", ""], 1: ["姓名", "甲", "乙"]}, dtype="str")
    grid.attrs[MERGED_DOWN] = ((0, 1, 2),)
    back = grid_from_ipc(grid_to_ipc(grid))
    assert back.attrs[MERGED_DOWN] == ((0, 1, 2),) and back[0].tolist() == ["户编号", "1", ""]
    grid.attrs[MERGED_DOWN] = ()
    assert grid_from_ipc(grid_to_ipc(grid)).attrs[MERGED_DOWN] == ()
