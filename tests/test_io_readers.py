"""read_file: real files made by real writers (tests/fixtures/make_fixtures.py) plus broken ones."""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from fupin_audit.errors import InputError
from fupin_audit.io.csvtext import decode_text, read_delimited, sniff_delimiter
from fupin_audit.io.readers import RawSheet, read_file

FIXTURES = Path(__file__).parent / "fixtures"

HOUSEHOLD_ROW_5 = [
    "1",
    "凉亭镇",
    "金塘村",
    "3408260101001",
    "王大明",
    "340826196501011234",
    "4",
    "12000",
    "3500.5",
    "4523.67",
    "已脱贫",
]
MEMBERS_HEADER = ["户编号", "姓名", "证件号码", "性别", "与户主关系", "务工时间（月）"]
MEMBERS = [
    ["3408260101001", "王大明", '="340826196501011234"', "男", "户主", "10"],
    ["3408260101001", "陈, 桂花", "340826196607071234", "女", "配偶", ""],
    ["3408260101001", '王"小"明', "340826199001011234", "男", "之子", "12"],
    ["0012", "张三", "340826198003033456", "男", "户主", "3"],
]


def read_all(path, **kw) -> list[RawSheet | InputError]:
    return list(read_file(path, **kw))


def sheets_of(path, **kw) -> dict[str, RawSheet]:
    items = read_all(path, **kw)
    errors = [i for i in items if isinstance(i, InputError)]
    assert not errors, errors
    return {s.sheet: s for s in items}


def rows(grid: pd.DataFrame) -> list[list[str]]:
    return grid.to_numpy().tolist()


def assert_text_grid(grid: pd.DataFrame) -> None:
    assert list(grid.columns) == list(range(grid.shape[1]))
    assert list(grid.index) == list(range(len(grid)))
    assert not grid.isna().any().any()
    for col in grid.columns:
        assert all(isinstance(v, str) for v in grid[col]), col


# --------------------------------------------------------------------------- workbooks


@pytest.mark.parametrize("name", ["households.xlsx", "households.xls", "households.ods", "really_xlsx.csv"])
def test_workbook_fixture_reads_every_sheet_as_text(name):
    sheets = sheets_of(FIXTURES / name)
    assert list(sheets) == ["贫困户", "说明", "隐藏"]  # the hidden sheet is read too
    main = sheets["贫困户"]
    assert main.file == str(FIXTURES / name)
    assert main.encoding is None and main.has_header is False
    grid = main.grid
    assert_text_grid(grid)
    assert grid.shape == (10, 11)
    # merged title: the value sits in the first cell only; row r is spreadsheet row r + 1
    assert rows(grid)[0] == ["宿松县2017年建档立卡贫困户信息表"] + [""] * 10
    assert grid.iat[2, 5] == "证件\n号码"
    assert grid.iat[2, 7] == "收入情况（元）" and grid.iat[2, 8] == "" and grid.iat[3, 8] == "生产经营性收入"
    assert rows(grid)[4] == HOUSEHOLD_ROW_5  # numbers render as typed: 4 not 4.0, 3500.5, 4523.67
    assert grid.iat[6, 3] == "0012" and grid.iat[6, 4] == "张 三"  # text keeps zeros and spaces
    assert rows(grid)[7] == [""] * 11  # the blank spreadsheet row 8
    assert grid.iat[9, 0] == "合 计"
    assert rows(sheets["隐藏"].grid) == [["户编号", "姓名"], ["3408260101001", "王大明"]]


def test_xls_and_ods_carry_the_same_cells_as_xlsx_except_formula_results():
    base = sheets_of(FIXTURES / "households.xlsx")["贫困户"].grid
    for name in ("households.xls", "households.ods"):
        other = sheets_of(FIXTURES / name)["贫困户"].grid
        assert rows(other)[:9] == rows(base)[:9], name
        # LibreOffice computed the 合计 formulas; openpyxl stored none
        assert other.iat[9, 6] == "12"


def test_number_typed_id_reads_as_excel_shows_it():
    grid = sheets_of(FIXTURES / "numeric_id.xlsx")["家庭成员"].grid
    assert rows(grid) == [
        ["姓名", "证件号码", "家庭人口数"],
        ["王大明", "3.40826199001011E+17", "4"],
        ["李秀英", "34082619700202002X", "2"],
    ]


def test_sheet_selection_and_missing_sheet():
    items = read_all(FIXTURES / "households.xlsx", sheets=["说明", "不存在"])
    errors = [i for i in items if isinstance(i, InputError)]
    found = [i.sheet for i in items if isinstance(i, RawSheet)]
    assert found == ["说明"]
    assert len(errors) == 1 and errors[0].sheet == "不存在" and "贫困户" in str(errors[0])


def test_truncated_workbook_is_an_error_item_not_an_exception():
    items = read_all(FIXTURES / "truncated.xlsx")
    assert len(items) == 1 and isinstance(items[0], InputError)
    err = items[0]
    assert err.file == str(FIXTURES / "truncated.xlsx")
    assert "损坏" in err.detail and "\n" not in str(err)


def test_one_broken_sheet_does_not_stop_the_others(tmp_path):
    broken = tmp_path / "broken_sheet.xlsx"
    with zipfile.ZipFile(FIXTURES / "households.xlsx") as zin, zipfile.ZipFile(broken, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":
                data = data[: len(data) // 2]
            zout.writestr(info, data)
    items = read_all(broken)
    assert [type(i).__name__ for i in items] == ["RawSheet", "InputError", "RawSheet"]
    assert items[1].sheet == "说明" and items[1].file == str(broken)
    assert items[0].grid.shape == (10, 11)


def test_zip_that_is_not_a_workbook(tmp_path):
    path = tmp_path / "data.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "hello")
    [err] = read_all(path)
    assert isinstance(err, InputError) and "xl/workbook.xml" in err.detail

    doc = tmp_path / "report.xlsx"
    with zipfile.ZipFile(doc, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    [err] = read_all(doc)
    assert isinstance(err, InputError) and "Word" in err.detail


def test_ole_file_that_is_not_an_xls(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    [err] = read_all(path)
    assert isinstance(err, InputError) and ".xls" in err.detail


def test_html_disguised_as_xls(tmp_path):
    path = tmp_path / "export.xls"
    path.write_text("<html><body><table><tr><td>户编号</td></tr></table></body></html>", encoding="utf-8")
    [err] = read_all(path)
    assert isinstance(err, InputError) and "HTML" in err.detail


def test_tab_separated_text_disguised_as_xls_is_read_as_text(tmp_path):
    path = tmp_path / "export.xls"
    path.write_bytes("户编号\t姓名\r\n0012\t张三\r\n".encode("gb18030"))
    [sheet] = read_all(path)
    assert sheet.encoding == "gb18030"
    assert rows(sheet.grid) == [["户编号", "姓名"], ["0012", "张三"]]


def test_missing_and_empty_files(tmp_path):
    [err] = read_all(tmp_path / "nope.csv")
    assert isinstance(err, InputError) and err.file == str(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    [err] = read_all(empty)
    assert isinstance(err, InputError) and "空" in err.detail
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\xef\xbb\xbf\r\n \r\n")
    [err] = read_all(blank)
    assert isinstance(err, InputError)
    [err] = read_all(tmp_path)
    assert isinstance(err, InputError)


# --------------------------------------------------------------------------- text


def test_gbk_csv_with_crlf_and_trailing_comma_on_data_rows_only():
    [sheet] = read_all(FIXTURES / "members_gbk.csv")
    assert sheet.encoding == "gb18030" and sheet.sheet == "" and sheet.has_header is False
    assert_text_grid(sheet.grid)
    # the trailing empty column (data rows only) is dropped; ="…" stays as written
    assert rows(sheet.grid) == [["宿松县建档立卡贫困人口信息"] + [""] * 5, MEMBERS_HEADER, *MEMBERS]


def test_utf8_bom_csv():
    [sheet] = read_all(FIXTURES / "members_utf8bom.csv")
    assert sheet.encoding == "utf-8-sig"
    assert rows(sheet.grid) == [MEMBERS_HEADER, *MEMBERS]


def test_tsv():
    [sheet] = read_all(FIXTURES / "members.tsv")
    assert sheet.encoding == "utf-8"
    assert rows(sheet.grid) == [MEMBERS_HEADER, *MEMBERS]


def test_forced_encoding(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("id,村\n张三,金塘村\n".encode("gbk"))
    [sheet] = read_all(path, encoding="gbk")
    assert sheet.encoding == "gbk" and rows(sheet.grid)[1] == ["张三", "金塘村"]
    [err] = read_all(path, encoding="utf-8")
    assert isinstance(err, InputError) and "utf-8" in err.detail
    assert "第 1 行，字节偏移 3" in err.detail
    [err] = read_all(path, encoding="no-such-codec")
    assert isinstance(err, InputError) and "no-such-codec" in err.detail


def test_undecodable_text_names_line_and_byte_offset(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"a,b\r\nc,d\r\ne,\x80\xff\r\n")
    [err] = read_all(path)
    assert isinstance(err, InputError)
    assert err.file == str(path)
    assert "第 3 行" in err.detail and "字节偏移 12" in err.detail


def test_binary_garbage_is_not_text(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    [err] = read_all(path)
    assert isinstance(err, InputError) and "NUL" in err.detail


def test_utf16_with_bom_excel_unicode_text(tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes("户编号\t姓名\r\n0012\t张三\r\n".encode("utf-16"))
    [sheet] = read_all(path)
    assert sheet.encoding == "utf-16" and rows(sheet.grid) == [["户编号", "姓名"], ["0012", "张三"]]


@pytest.mark.parametrize("newline", ["\r\n", "\n", "\r"])
def test_line_endings_and_ragged_rows(tmp_path, newline):
    path = tmp_path / "r.csv"
    text = newline.join(["标题", "a,b,c", "1,2", "", "3,4,5,6,", "7"]) + newline
    path.write_bytes(text.encode("utf-8"))
    [sheet] = read_all(path)
    assert rows(sheet.grid) == [
        ["标题", "", "", ""],
        ["a", "b", "c", ""],
        ["1", "2", "", ""],
        ["", "", "", ""],  # blank line kept: row numbers must stay right
        ["3", "4", "5", "6"],
        ["7", "", "", ""],
    ]


def test_quoted_cell_spanning_lines_with_many_delimiters():
    text = 'a,b\n"x,y,z,\nw,v,u",2\nc,d\n'
    grid = read_delimited(text, suffix=".csv")
    assert rows(grid) == [["a", "b"], ["x,y,z,\nw,v,u", "2"], ["c", "d"]]
    wide = 'a\n1,"p\nq",3,"r\ns",5,6\n'  # more fields than any physical line shows
    assert rows(read_delimited(wide, suffix=".csv")) == [
        ["a", "", "", "", "", ""],
        ["1", "p\nq", "3", "r\ns", "5", "6"],
    ]


@pytest.mark.parametrize(
    ("sample", "suffix", "expected"),
    [
        ("a,b,c\n1,2,3\n", ".csv", ","),
        ("a\tb\n1\t2\n", ".csv", "\t"),
        ("a;b;c\n1,5;2;3\n", ".txt", ";"),
        ("a|b\n1|2\n", "", "|"),
        ('"x;y",b\n"1;2",3\n', ".csv", ","),
        ("地址\t姓名\n安徽省,安庆市\t张三\n", ".txt", "\t"),
        ("only one column\nvalue\n", ".tsv", "\t"),
    ],
)
def test_sniff_delimiter(sample, suffix, expected):
    assert sniff_delimiter(sample, suffix) == expected


def test_decode_text_order():
    assert decode_text("中".encode()) == ("中", "utf-8")
    assert decode_text(codecs.BOM_UTF8 + "中".encode()) == ("中", "utf-8-sig")
    assert decode_text("中文".encode("gbk")) == ("中文", "gb18030")
    assert decode_text("𠀀".encode("gb18030")) == ("𠀀", "gb18030")  # 4-byte GB18030


# --------------------------------------------------------------------------- parquet


def test_parquet_columns_are_the_header_and_values_are_text():
    [sheet] = read_all(FIXTURES / "households.parquet")
    assert sheet.has_header is True and sheet.sheet == "" and sheet.encoding is None
    grid = sheet.grid
    assert list(grid.columns) == [
        "户编号",
        "证件号码",
        "家庭人口数",
        "人均纯收入",
        "识别时间",
        "是否危房户",
        "大整数",
    ]
    assert list(grid.index) == [0, 1, 2]
    assert not grid.isna().any().any()
    assert rows(grid) == [
        ["3408260101001", "340826196501011234", "4", "4523.67", "2014-05-01", "TRUE", "340826199001011234"],
        ["3408260101002", "", "2", "3100", "", "FALSE", "1"],
        ["0012", "340826198003033456", "", "", "2015-06-30", "", "-5"],
    ]


def test_truncated_parquet(tmp_path):
    data = (FIXTURES / "households.parquet").read_bytes()
    path = tmp_path / "cut.parquet"
    path.write_bytes(data[: len(data) // 2])
    [err] = read_all(path)
    assert isinstance(err, InputError) and "parquet" in err.detail


def test_parquet_timestamps_and_dictionary(tmp_path):
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "t": pa.array(
                [dt.datetime(2020, 1, 2), dt.datetime(2020, 1, 2, 3, 4, 5), None], pa.timestamp("us")
            ),
            "d": pa.array(["男", "女", None]).dictionary_encode(),
            "f": pa.array([1e16, 0.1, -2.0]),
        }
    )
    pq.write_table(table, tmp_path / "x.parquet")
    [sheet] = read_all(tmp_path / "x.parquet")
    assert rows(sheet.grid) == [
        ["2020-01-02", "男", "1E+16"],
        ["2020-01-02 03:04:05", "女", "0.1"],
        ["", "", "-2"],
    ]


def test_csv_read_by_content_even_with_workbook_suffix(tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(io.BytesIO("户编号,姓名\n1,张三\n".encode()).getvalue())
    [sheet] = read_all(path)
    assert rows(sheet.grid) == [["户编号", "姓名"], ["1", "张三"]]


def test_encrypted_workbook(tmp_path):
    path = tmp_path / "secret.xlsx"  # a password-protected xlsx is an OLE file
    path.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600 + "EncryptedPackage".encode("utf-16-le")
    )
    [err] = read_all(path)
    assert isinstance(err, InputError) and "密码" in err.detail


def test_parquet_written_by_pandas_with_an_index(tmp_path):
    frame = pd.DataFrame({"户编号": ["1", "2"], "姓名": ["张三", "李四"]}, index=[10, 20])
    frame.to_parquet(tmp_path / "x.parquet")
    [sheet] = read_all(tmp_path / "x.parquet")
    assert list(sheet.grid.columns) == ["户编号", "姓名"]


def test_unclosed_quote_is_a_clear_error(tmp_path):
    path = tmp_path / "q.csv"
    path.write_bytes(b'a,b\r\n1,2\r\n"3,4\r\n5,6\r\n')
    [err] = read_all(path)
    assert isinstance(err, InputError) and "第 3 行" in err.detail and "引号" in err.detail
