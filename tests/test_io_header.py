"""normalise_header, locate_header and data_rows on fixtures and on small hand-made grids."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fupin_audit.io.header import HeaderLayout, data_rows, locate_header, normalise_header
from fupin_audit.io.readers import RawSheet, read_file

FIXTURES = Path(__file__).parent / "fixtures"

KNOWN = {
    "户编号",
    "证件号码",
    "姓名",
    "性别",
    "与户主关系",
    "人均纯收入",
    "工资性收入",
    "生产经营性收入",
    "家庭人口数",
    "脱贫状态",
    "乡(镇)",
    "村",
    "身份证号码",
}


def score(name: str) -> bool:
    return name in KNOWN


def sheet(path: Path, name: str = "") -> RawSheet:
    for item in read_file(path):
        assert isinstance(item, RawSheet), item
        if item.sheet == name:
            return item
    raise AssertionError(f"no sheet {name!r}")


def grid_of(rows: list[list[str]]) -> pd.DataFrame:
    width = max(map(len, rows))
    return pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="str")


# --------------------------------------------------------------------------- normalise_header


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("务工时间（月）", ("务工时间", "月")),
        ("人均纯收入（元）", ("人均纯收入", "元")),
        ("村集体经济收入\n(万元)", ("村集体经济收入", "万元")),
        ("乡（镇）", ("乡(镇)", None)),
        ("县（市、区、旗）", ("县(市、区、旗)", None)),
        (
            "是否参加新型农村合作医疗（城乡居民基本医疗保险）",
            ("是否参加新型农村合作医疗(城乡居民基本医疗保险)", None),
        ),
        ("公益性岗位(月数)", ("公益性岗位(月数)", None)),
        ("耕地面积（亩）", ("耕地面积", "亩")),
        ("耕地面积【亩】", ("耕地面积", "亩")),
        ("住房面积[平方米]", ("住房面积", "平方米")),
        ("贫困发生率（％）", ("贫困发生率", "%")),
        ("与村主干路距离（公里）", ("与村主干路距离", "公里")),
        ("年龄(岁)", ("年龄", "岁")),
        ("家庭人口数（人）", ("家庭人口数", "人")),
        ("人均纯收入（单位：元）", ("人均纯收入", "元")),
        ("*姓名", ("姓名", None)),
        ("证件号码*", ("证件号码", None)),
        ("证件号码：", ("证件号码", None)),
        ("*金额（元）：", ("金额", "元")),
        ("　户　编　号\u200b\ufeff ", ("户编号", None)),
        ("ＺＪＨＭ", ("ZJHM", None)),
        ("证件\r\n号码", ("证件号码", None)),
        ("", ("", None)),
        ("(元)", ("", "元")),
    ],
)
def test_normalise_header(text, expected):
    assert normalise_header(text) == expected


# --------------------------------------------------------------------------- workbook fixtures

HOUSEHOLD_NAMES = [
    "序号",
    "乡(镇)",
    "村",
    "户编号",
    "姓名",
    "证件号码",
    "家庭人口数",
    "工资性收入",
    "生产经营性收入",
    "人均纯收入",
    "脱贫状态",
]


@pytest.mark.parametrize("name", ["households.xlsx", "households.xls", "households.ods"])
def test_two_row_header_under_a_merged_title(name):
    raw = sheet(FIXTURES / name, "贫困户")
    layout = locate_header(raw.grid, score)
    assert layout is not None
    assert layout.header_rows == [2, 3]
    assert layout.data_start == 4
    assert layout.names == HOUSEHOLD_NAMES
    assert layout.written[5] == "证件 号码"
    assert layout.written[7] == "工资性收入" and layout.written[0] == "序号"
    # sub-columns of 收入情况（元） inherit the group's unit
    assert layout.units == {6: "人", 7: "元", 8: "元", 9: "元"}

    data = data_rows(raw.grid, layout)
    assert list(data.columns) == [*HOUSEHOLD_NAMES, "_row"]
    # spreadsheet rows 5, 6, 7, 9: blank row 8 and the 合计 row 10 are gone
    assert data["_row"].tolist() == [5, 6, 7, 9]
    assert data["_row"].dtype.kind == "i"
    assert data["户编号"].tolist() == ["3408260101001", "3408260101002", "0012", "3408260203004"]
    assert data["姓名"].tolist()[2] == "张 三"  # values stay as read
    assert data["人均纯收入"].tolist() == ["4523.67", "3100", "6000.2", "6700"]


def test_sheet_without_a_recognisable_header():
    raw = sheet(FIXTURES / "households.xlsx", "说明")
    assert locate_header(raw.grid, score) is None


def test_hidden_sheet_single_row_header():
    raw = sheet(FIXTURES / "households.xlsx", "隐藏")
    layout = locate_header(raw.grid, score)
    assert layout.header_rows == [0] and layout.data_start == 1
    assert data_rows(raw.grid, layout).to_dict("list") == {
        "户编号": ["3408260101001"],
        "姓名": ["王大明"],
        "_row": [2],
    }


def test_gbk_csv_title_line_then_header():
    raw = sheet(FIXTURES / "members_gbk.csv")
    layout = locate_header(raw.grid, score)
    assert layout.header_rows == [1]
    assert layout.names == ["户编号", "姓名", "证件号码", "性别", "与户主关系", "务工时间"]
    assert layout.units == {5: "月"}
    data = data_rows(raw.grid, layout)
    assert data["_row"].tolist() == [3, 4, 5, 6]
    assert data["证件号码"].tolist()[0] == '="340826196501011234"'


def test_parquet_header_is_the_column_names():
    raw = sheet(FIXTURES / "households.parquet")
    layout = locate_header(raw.grid, score, has_header=raw.has_header)
    assert layout.header_rows == [] and layout.data_start == 0 and layout.row_offset == 2
    data = data_rows(raw.grid, layout)
    assert data["_row"].tolist() == [2, 3, 4]  # line 1 is the header
    assert data["户编号"].tolist() == ["3408260101001", "3408260101002", "0012"]


def test_number_typed_id_sheet():
    raw = sheet(FIXTURES / "numeric_id.xlsx", "家庭成员")
    data = data_rows(raw.grid, locate_header(raw.grid, score))
    assert data["证件号码"].tolist() == ["3.40826199001011E+17", "34082619700202002X"]


# --------------------------------------------------------------------------- hand-made grids


def test_fewer_than_two_recognised_names_is_no_header():
    assert locate_header(grid_of([["户编号", "备注"], ["1", "x"]]), score) is None
    assert locate_header(pd.DataFrame(dtype="str"), score) is None


def test_score_receives_normalised_names():
    seen = []

    def spy(name):
        seen.append(name)
        return name in KNOWN

    layout = locate_header(grid_of([["身份证号码 ", "姓　名", "户编号（必填）*"]]), spy)
    assert layout.names == ["身份证号码", "姓名", "户编号(必填)"]
    assert "姓名" in seen and "户编号(必填)" in seen


def test_header_beyond_max_scan_is_not_found():
    rows = [["标题"]] * 5 + [["户编号", "姓名"], ["1", "张三"]]
    assert locate_header(grid_of(rows), score, max_scan=5) is None
    assert locate_header(grid_of(rows), score, max_scan=6).header_rows == [5]


def test_two_row_header_when_the_lower_row_is_the_stronger():
    rows = [
        ["户编号", "收入情况", "", "", "备注"],
        ["", "工资性收入", "生产经营性收入", "人均纯收入", ""],
        ["1", "100", "200", "300", "x"],
    ]
    layout = locate_header(grid_of(rows), score)
    assert layout.header_rows == [0, 1]
    assert layout.names == ["户编号", "工资性收入", "生产经营性收入", "人均纯收入", "备注"]


def test_single_row_wins_ties_against_a_pair():
    rows = [["户编号", "姓名", "村"], ["1", "张三", ""], ["2", "李四", "金塘村"]]
    layout = locate_header(grid_of(rows), score)
    assert layout.header_rows == [0] and layout.data_start == 1


def test_totals_blank_rows_unnamed_and_duplicate_columns():
    rows = [
        ["序号", "户编号", "姓名", "", "姓名", "", "人均纯收入"],
        ["1", "001", "张小计", "", "张三", "", "100"],  # a name containing 计 is data
        [" ", "", "\u3000", "", "", "", ""],  # whitespace only: blank
        ["", "", "", "", "", "", ""],
        ["2", "002", "李四", "备注", "李四", "", "200"],
        ["", "小 计", "", "", "", "", "300"],
        ["本页合计：", "", "", "", "", "", "300"],
        ["", "", "总计", "", "", "", "300"],
        ["3", "003", "王五", "", "王五", "", "400"],
    ]
    layout = locate_header(grid_of(rows), score)
    data = data_rows(grid_of(rows), layout)
    assert list(data.columns) == ["序号", "户编号", "姓名", "列4", "姓名#2", "人均纯收入", "_row"]
    assert data["_row"].tolist() == [2, 5, 9]
    assert data["姓名"].tolist() == ["张小计", "李四", "王五"]
    assert data["列4"].tolist() == ["", "备注", ""]
    assert list(data.index) == [0, 1, 2]
    assert data.attrs["grid_columns"] == [0, 1, 2, 3, 4, 6]  # column 6 (unnamed, empty) is gone


def test_layout_built_by_hand_and_non_default_index():
    grid = grid_of([["a", "b"], ["1", "2"], ["", ""], ["3", "4"]])
    layout = HeaderLayout(header_rows=[0], data_start=1, names=["户编号", "姓名"], written=["a", "b"])
    assert data_rows(grid, layout)["_row"].tolist() == [2, 4]


def test_no_data_rows():
    grid = grid_of([["户编号", "姓名", ""]])
    data = data_rows(grid, locate_header(grid, score))
    assert list(data.columns) == ["户编号", "姓名", "_row"] and len(data) == 0
