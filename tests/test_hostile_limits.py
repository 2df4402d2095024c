"""The resource limits of io/limits.py, each checked before the step it protects, and their messages."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
import build_corpus

from fupin_audit.errors import ConfigError, InputError
from fupin_audit.io import zipcheck
from fupin_audit.io.csvtext import _widest_line, decode_text, read_delimited
from fupin_audit.io.limits import DEFAULT_LIMITS, LimitExceeded, Limits, parse_size
from fupin_audit.io.readers import InputWarning, RawSheet, column_letter, read_file
from fupin_audit.load import load

FIXTURES = Path(__file__).parent / "fixtures"


def items(path, **kw) -> list:
    return list(read_file(path, **kw))


def errors(path, **kw) -> list[InputError]:
    return [i for i in items(path, **kw) if isinstance(i, InputError) and not isinstance(i, InputWarning)]


# ------------------------------------------------------------------------------------- the dataclass


def test_defaults():
    assert Limits() == DEFAULT_LIMITS
    assert Limits().max_unpacked_bytes == 16 << 30
    assert Limits().max_ratio == 200 and Limits().ratio_min_bytes == 10 << 20
    assert Limits().max_cells == 400_000_000 and Limits().max_columns == 16_384
    assert Limits().max_cell_chars == 32_767


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1G", 1 << 30),
        ("512m", 512 << 20),
        ("64K", 64 << 10),
        ("2GiB", 2 << 30),
        ("60_000_000", 60_000_000),
        ("1,000", 1000),
    ],
)
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "abc", "-1", "0", "1X", "0.1"])
def test_parse_size_rejects(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_from_env():
    env = {"FUPIN_AUDIT_MAX_UNPACKED": "2G", "FUPIN_AUDIT_MAX_RATIO": "500", "FUPIN_AUDIT_MAX_CELLS": "100M"}
    limits = Limits.from_env(env)
    assert (limits.max_unpacked_bytes, limits.max_ratio, limits.max_cells) == (2 << 30, 500.0, 100 << 20)
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({"FUPIN_AUDIT_MAX_CELLS": "5"}, base=Limits(max_columns=3)) == Limits(
        max_cells=5, max_columns=3
    )
    with pytest.raises(ConfigError, match="FUPIN_AUDIT_MAX_CELL_CHARS"):
        Limits.from_env({"FUPIN_AUDIT_MAX_CELL_CHARS": "many"})
    with pytest.raises(ConfigError):
        Limits(max_cells=0)


def test_read_file_uses_the_environment(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    path.write_text("户编号,姓名\n1,张三\n", encoding="utf-8")
    monkeypatch.setenv("FUPIN_AUDIT_MAX_CELLS", "3")
    [err] = items(path)
    assert "超过上限 3" in err.detail
    assert isinstance(items(path, limits=Limits())[0], RawSheet)  # an explicit value wins


# ------------------------------------------------------------------------------------- each limit, each format


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("files")
    built = build_corpus.build(
        folder, only=["gbk.csv", "formulas_and_errors.xlsx", "long_cell.csv", "dates.xlsx"]
    )
    parquet = folder / "t.parquet"
    pq.write_table(pa.table({"户编号": ["1", "2", "3"], "姓名": ["a", "b", "c"]}), parquet)
    built["t.parquet"] = parquet
    for name in ("households.xls", "households.ods", "households.xlsx"):
        built[name] = FIXTURES / name
    return built


@pytest.mark.parametrize(
    "name", ["gbk.csv", "formulas_and_errors.xlsx", "t.parquet", "households.xls", "households.ods"]
)
def test_max_cells_every_format(files, name):
    found = errors(files[name], limits=Limits(max_cells=5))
    assert found and all("超过上限 5" in e.detail for e in found), found
    assert all(e.file == str(files[name]) for e in found)


@pytest.mark.parametrize(
    "name", ["gbk.csv", "formulas_and_errors.xlsx", "t.parquet", "households.xls", "households.ods"]
)
def test_max_columns_every_format(files, name):
    found = errors(files[name], limits=Limits(max_columns=1))
    assert found and all("列" in e.detail and "上限" in e.detail for e in found), found


def test_max_unpacked_for_workbooks_and_text(files):
    for name in ("formulas_and_errors.xlsx", "gbk.csv", "t.parquet"):
        [err] = errors(files[name], limits=Limits(max_unpacked_bytes=100))
        assert "超过上限 100 字节" in err.detail


def test_ratio_check_only_above_the_size_floor(files):
    path = files["formulas_and_errors.xlsx"]
    [err] = errors(path, limits=Limits(max_ratio=1.5, ratio_min_bytes=1))
    assert "压缩比" in err.detail and "超过上限 1.5:1" in err.detail
    assert not errors(path, limits=Limits(max_ratio=1.5))  # members under 10 MiB are not checked


def test_long_cells_are_kept_and_reported_with_row_and_column(files):
    got = items(files["long_cell.csv"], limits=Limits(max_cell_chars=1000))
    [warning] = [i for i in got if isinstance(i, InputWarning)]
    [sheet] = [i for i in got if isinstance(i, RawSheet)]
    assert (warning.row, warning.column, warning.level) == (3, "E", "warning")
    assert len(sheet.grid.iat[2, 4]) == build_corpus.LONG  # nothing cut


def test_many_long_cells_are_summarised(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("户编号,姓名\n" + "".join(f"{i},{'x' * 20}\n" for i in range(9)), encoding="utf-8")
    got = [i for i in items(path, limits=Limits(max_cell_chars=10)) if isinstance(i, InputWarning)]
    assert [w.row for w in got[:5]] == [2, 3, 4, 5, 6]
    assert "另有 4 个单元格" in got[5].detail


def test_warnings_reach_the_diagnostics_as_warnings_with_their_location(files, monkeypatch):
    monkeypatch.setenv("FUPIN_AUDIT_MAX_CELL_CHARS", "1000")
    dataset = load([files["long_cell.csv"]])
    [diag] = dataset.diagnostics
    assert diag.level == "warning" and diag.message.startswith("第 3 行，E 列：")
    assert "households" in dataset.tables


def test_column_letters():
    assert [column_letter(j) for j in (0, 25, 26, 701, 702, 16383)] == ["A", "Z", "AA", "ZZ", "AAA", "XFD"]


# ------------------------------------------------------------------------------------- zip and XML checks


def xlsx_with(tmp_path: Path, change: dict[str, bytes], name: str = "x.xlsx") -> Path:
    base = tmp_path / "base.xlsx"
    build_corpus.base_xlsx(base)
    parts = build_corpus.members_of(base)
    parts.update(change)
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, data in parts.items():
            zf.writestr(part, data)
    return path


@pytest.mark.parametrize(
    "prologue",
    [
        b'<?xml version="1.0"?><!-- a comment --><!DOCTYPE x SYSTEM "http://example.com/x.dtd">',
        b"<?xml version='1.0'?>\n\n<!doctype x>",
        b"\xef\xbb\xbf<?xml version='1.0'?><!ENTITY x 'y'>",
        b"<?xml version='1.0'?>" + b" " * 70_000 + b"<!DOCTYPE x>",
        b"garbage before <!DOCTYPE x []>",
    ],
)
def test_doctype_anywhere_in_the_prologue_is_refused(tmp_path, prologue):
    path = xlsx_with(tmp_path, {"xl/styles.xml": prologue + b"<styleSheet/>"})
    [err] = errors(path)
    assert "xl/styles.xml" in err.detail and ("DOCTYPE" in err.detail or "64 KB" in err.detail)


def test_utf16_xml_parts_are_refused(tmp_path):
    part = '<?xml version="1.0" encoding="UTF-16"?><styleSheet/>'.encode("utf-16")
    [err] = errors(xlsx_with(tmp_path, {"xl/styles.xml": part}))
    assert "UTF-16" in err.detail


def test_error_cells_in_several_sheets(tmp_path):
    import xlsxwriter

    path = tmp_path / "e.xlsx"
    book = xlsxwriter.Workbook(str(path))
    for name in ("一", "二"):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["户编号", "人均纯收入"])
        sheet.write_formula(1, 1, "=1/0", None, "#DIV/0!")
        sheet.write_formula(2, 0, "=VLOOKUP(1,A:A,2,FALSE)", None, "#N/A")
        sheet.write_formula(3, 1, '=1+"a"', None, "#VALUE!")
        sheet.write_formula(4, 1, "=1+1", None, 2)
    book.close()
    sheets = {s.sheet: s for s in items(path) if isinstance(s, RawSheet)}
    for sheet in sheets.values():
        assert sheet.grid.iat[1, 1] == "#DIV/0!" and sheet.grid.iat[2, 0] == "#N/A"
        assert sheet.grid.iat[3, 1] == "#VALUE!" and sheet.grid.iat[4, 1] == "2"


def test_error_cells_across_read_chunks(monkeypatch):
    cells = "".join(f'<c r="B{r}" t="e"><f>NA()</f><v>#N/A</v></c>' for r in range(1, 40))
    xml = f"<worksheet><sheetData><row r='1'>{cells}</row></sheetData></worksheet>".encode()
    for chunk in (5, 17, 64, 1000):
        monkeypatch.setattr(zipcheck, "CHUNK", chunk)
        assert zipcheck.error_cells(io.BytesIO(xml)) == [(r - 1, 1, "#N/A") for r in range(1, 40)]


def test_sheet_too_wide_is_refused_before_reading(tmp_path):
    xml = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c>'
        b'<c r="AAAA1" t="inlineStr"><is><t>y</t></is></c></row></sheetData></worksheet>'
    )
    [err] = errors(xlsx_with(tmp_path, {"xl/worksheets/sheet1.xml": xml}))
    assert err.sheet == "户信息" and "上限" in err.detail


# ------------------------------------------------------------------------------------- text


def test_csv_grid_is_bounded_before_parsing():
    text = "," * 100 + "\n" * 1000
    with pytest.raises(LimitExceeded, match="第 1 行"):
        read_delimited(text, max_cells=10_000)
    assert read_delimited(text, max_cells=200_000).shape == (0, 0)  # within the limit: read (all blank)


def test_widest_line_numbers_like_an_editor():
    assert _widest_line(b"a,b\r\nc,d,e,f\r\ng", ord(",")) == (3, 2)
    assert _widest_line(b"a\rb,c,d\r\n", ord(",")) == (2, 2)
    assert _widest_line(b",,,", ord(",")) == (3, 1)
    assert _widest_line(b"a\n\n\n,,", ord(",")) == (2, 4)


def test_a_stray_nul_is_read_but_a_binary_file_is_not():
    assert decode_text(b"a,b\r\nc\x00,d\r\n" + b"x" * 500)[1] == "utf-8"
    assert "NUL" in decode_text(b"a\x00b\x00c\x00")


def test_mixed_encodings_name_their_lines():
    raw = "户编号,姓名\n1,张三\n".encode() + "2,李四\n".encode("gbk")
    message = decode_text(raw)
    assert isinstance(message, str) and "第 1 行是 UTF-8" in message and "第 3 行是 GBK/GB18030" in message
    assert decode_text(raw, "gb18030") != message  # a forced encoding is the user's choice


def test_prefixed_sheets_with_references_stay_on_the_fast_path(monkeypatch):
    """``</x:c>`` is a closing tag, not a cell without a reference (found by the extent fuzzer)."""
    cells = "".join(f'<x:c r="{c}{r}"><x:v>1</x:v></x:c>' for r in range(1, 50) for c in "ABC")
    xml = f'<x:worksheet xmlns:x="m"><x:sheetData>{cells}</x:sheetData></x:worksheet>'.encode()

    def refuse(fh):
        raise AssertionError("the slow pass ran")

    monkeypatch.setattr(zipcheck, "_exact_extent", refuse)
    for chunk in (zipcheck.CHUNK, 13, 100):
        monkeypatch.setattr(zipcheck, "CHUNK", chunk)
        assert zipcheck.sheet_extent(io.BytesIO(xml)) == (49, 3)


def test_damaged_workbook_xml_does_not_escape_as_an_exception(tmp_path):
    """An XML declaration naming an unknown encoding made ElementTree raise LookupError (fuzzer)."""
    far = (
        b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b'<sheetData><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>'
    )
    workbook = b'<?xml version="1.0" encoding="UTc-8"?><workbook><sheets><sheet name="a" r:id="rId1"/></sheets></workbook>'
    path = xlsx_with(tmp_path, {"xl/worksheets/sheet1.xml": far, "xl/workbook.xml": workbook})
    [err] = errors(path)
    assert "xl/worksheets/sheet1.xml" in err.detail and "FUPIN_AUDIT_MAX_CELLS" in err.detail


def test_long_cells_of_a_parquet_file_are_reported_whoever_decoded_it(tmp_path, monkeypatch):
    """The parquet reader measures each decoded column's longest text (decoded on the CLI's early
    thread or not) and the long-cell check skips the columns within the limit: a long cell in a text
    or a number column is still reported, with its row and column, and a multi-byte one is judged
    by characters, not bytes."""
    from fupin_audit.io.parquet import reading_early

    path = tmp_path / "户信息.parquet"
    table = pa.table({
        "户编号": ["3408260001", "3408260002", "3408260003"],
        "户主姓名": ["张三", "李" * 20, "王五"],  # 20 characters, 60 bytes: within 30 characters
        "备注": ["", "", "x" * 40],
        "人均纯收入": [12345.5, 1.0, 123456789012345.0],
    })  # fmt: skip
    pq.write_table(table, path)
    limits = Limits(max_cell_chars=30)
    for early in (False, True):
        if early:
            with reading_early([str(path)], limits):
                got = items(path, limits=limits)
        else:
            got = items(path, limits=limits)
        warnings = [i for i in got if isinstance(i, InputWarning)]
        assert [(w.row, w.column) for w in warnings] == [(4, "备注")], early
        [sheet] = [i for i in got if isinstance(i, RawSheet)]
        assert sheet.longest is not None and len(sheet.longest) == 4
