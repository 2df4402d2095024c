"""Fuzzing the readers: CSV bytes, workbook cell values, damaged zip parts and sheet XML.

Whatever the bytes, ``read_file`` yields sheets or ``InputError`` items and never raises; a sheet's
cells are text; the cell-extent scan that guards the spreadsheet reader never underestimates.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from fupin_audit.errors import InputError
from fupin_audit.io import zipcheck
from fupin_audit.io.header import data_rows, locate_header
from fupin_audit.io.limits import Limits
from fupin_audit.io.readers import RawSheet, read_file
from fupin_audit.load import is_known_header, load

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

HEADERS = [
    "户编号",
    "户主姓名",
    "家庭人口数",
    "人均纯收入",
    "脱贫状态",
    "证件号码",
    "申请日期",
    "村",
    "乡",
    "年度",
    "",
    "备注",
]
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=30)
CJK = st.text("户编号张三李四王五贫困村镇乡县0123456789０１２３,;|\t\"'\r\n =#-./年月日元", max_size=20)


def check_items(items: list) -> list[RawSheet]:
    sheets = []
    for item in items:
        assert isinstance(item, RawSheet | InputError), item
        if isinstance(item, RawSheet):
            grid = item.grid
            assert not grid.isna().any().any()
            for j in range(grid.shape[1]):
                assert all(isinstance(v, str) for v in grid.iloc[:, j])
            sheets.append(item)
        else:
            assert item.detail and "\n" not in item.detail
    return sheets


def read_bytes(tmp: Path, data: bytes, suffix: str, **kw) -> list:
    path = tmp / f"fuzz{suffix}"
    path.write_bytes(data)
    return list(read_file(path, **kw))


# ------------------------------------------------------------------------------------- CSV bytes

ENCODINGS = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"]


@st.composite
def csv_bytes(draw) -> bytes:
    cells = st.one_of(CJK, TEXT, st.sampled_from(HEADERS))
    width = draw(st.integers(1, 8))
    table = draw(st.lists(st.lists(cells, min_size=0, max_size=width + 2), min_size=0, max_size=10))
    delim = draw(st.sampled_from([",", "\t", ";", "|"]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    quote = draw(st.booleans())

    def render(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if quote or any(c in v for c in delim + '"\r\n') else v

    text = newline.join(delim.join(render(v) for v in row) for row in table)
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, errors="replace")
    # damage: cut, splice raw bytes, NULs, stray quotes
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(max_size=12)) + data[at + draw(st.integers(0, 4)) :]
    return data


@SETTINGS
@given(data=csv_bytes(), suffix=st.sampled_from([".csv", ".tsv", ".txt", ".xlsx", ".xls"]))
@example(data=b'"unclosed,quote\r\n1,2', suffix=".csv")
@example(data=b"\x00" * 3 + b"a,b", suffix=".csv")
@example(data=b"\xef\xbb\xbf", suffix=".csv")
@example(data=b"\xff\xfe", suffix=".csv")
@example(data=b"\xff\xfe\x00", suffix=".csv")
@example(data=b"\xff\xfe\x00\xd8", suffix=".csv")  # a lone surrogate in UTF-16
@example(data=b"PK\x03\x04" + b"\x00" * 40, suffix=".csv")
@example(data=b"PAR1\x00\x00PAR1", suffix=".csv")
@example(data=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, suffix=".csv")
@example(data=b",\n" * 3 + b"\r\r\r", suffix=".csv")
def test_any_bytes_read_or_reported(tmp_path_factory, data, suffix):
    tmp = tmp_path_factory.mktemp("b")
    check_items(read_bytes(tmp, data, suffix))
    check_items(read_bytes(tmp, data, suffix, encoding="gbk"))


@SETTINGS
@given(data=csv_bytes())
def test_csv_under_tight_limits_is_refused_with_a_message(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("l")
    items = read_bytes(tmp, data, ".csv", limits=Limits(max_cells=4, max_columns=2, max_cell_chars=3))
    for sheet in check_items(items):
        assert sheet.grid.shape[1] <= 2 and sheet.grid.size <= 4 * max(
            1, data.count(b"\n") + data.count(b"\r")
        )


# ------------------------------------------------------------------------------------- workbook cells

CELL_VALUES = st.one_of(
    TEXT,
    CJK,
    st.text(st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=5),  # control characters
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.booleans(),
    st.datetimes(dt.datetime(1900, 3, 1), dt.datetime(9999, 12, 31)),
    st.sampled_from(["=1+1", "=NA()", "#N/A", "'0012", "_x0000_", "1E+15", "3408261990010112345"]),
)


@SETTINGS
@given(table=st.lists(st.lists(CELL_VALUES, min_size=1, max_size=6), min_size=1, max_size=8))
def test_workbook_cells_become_text(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("w") / "cells.xlsx"
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    sheet = book.add_worksheet("户信息")
    date_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(r, c, value, date_format)
            elif isinstance(value, str):
                sheet.write_string(r, c, value)
            else:
                sheet.write(r, c, value)
    book.close()
    [raw] = check_items(list(read_file(path)))
    # strings come back as written (XlsxWriter escapes control characters as _xHHHH_)
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            if (
                (
                    isinstance(value, str)
                    and value
                    and not any(ord(ch) < 32 for ch in value)
                    and "_x" not in value
                )
                and r < raw.grid.shape[0]
                and c < raw.grid.shape[1]
            ):
                assert raw.grid.iat[r, c] == value


# ------------------------------------------------------------------------------------- damaged parts


def base_workbook(path: Path) -> dict[str, bytes]:
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("户信息")
    sheet.write_row(0, 0, HEADERS[:6])
    for r in range(1, 6):
        sheet.write_row(r, 0, [f"34082600{r:04d}", "张三", r, 3000.5 * r, "未脱贫", "340826197001011234"])
    sheet.write_formula(6, 3, "=NA()", None, "#N/A")
    book.close()
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(seed=st.integers(0, 2**32 - 1), member=st.integers(0, 20), edits=st.integers(1, 12))
def test_damaged_xml_parts_never_crash(tmp_path_factory, seed, member, edits):
    """Mutate the *decompressed* XML of one part (zip CRCs stay valid), so the XML parsers see it."""
    tmp = tmp_path_factory.mktemp("z")
    parts = base_workbook(tmp / "base.xlsx")
    names = sorted(parts)
    name = names[member % len(names)]
    rng = random.Random(seed)
    data = bytearray(parts[name])
    for _ in range(edits):
        op = rng.random()
        at = rng.randrange(len(data) + 1)
        if op < 0.4 and data:
            data[min(at, len(data) - 1)] = rng.choice(b'<>/"=&;#x0123456789ABCDEFrc \x00\xff')
        elif op < 0.7:
            data[at:at] = rng.choice(
                [b'<c r="XFD1048576"><v>1</v></c>', b"<!DOCTYPE x>", b"&lol;", b"<row>", b"]]>"]
            )
        else:
            del data[at : at + rng.randrange(1, 40)]
    parts[name] = bytes(data)
    path = tmp / "damaged.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, content in parts.items():
            zf.writestr(part, content)
    check_items(list(read_file(path)))


def test_truncated_workbooks_at_every_length_are_reported(tmp_path):
    """Every prefix of a real xlsx, ods and xls (the xls ones in the helper process, sampled)."""
    fixtures = Path(__file__).parent / "fixtures"
    for name, step in (("households.xlsx", 97), ("households.ods", 131), ("households.xls", 509)):
        data = (fixtures / name).read_bytes()
        for cut in range(0, len(data), step):
            path = tmp_path / f"cut_{cut}{Path(name).suffix}"
            path.write_bytes(data[:cut])
            items = check_items(list(read_file(path)))
            if cut == 0:
                assert not items


# ------------------------------------------------------------------------------------- extent scan

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@st.composite
def sheet_xml(draw) -> tuple[str, bool]:
    """A worksheet with cells written in the ways real writers and hostile ones do."""
    prefix = draw(st.sampled_from(["", "x:"]))
    n_rows = draw(st.integers(0, 12))
    plain = True
    rows_xml = []
    row_numbers = sorted(draw(st.sets(st.integers(1, 3000), min_size=n_rows, max_size=n_rows)))
    for r in row_numbers:
        row_ref = draw(st.booleans())
        plain &= row_ref
        cols = sorted(draw(st.sets(st.integers(1, 120), min_size=0, max_size=6)))
        cells = []
        for c in cols:
            letters = ""
            n = c
            while n:
                n, rest = divmod(n - 1, 26)
                letters = chr(65 + rest) + letters
            style = draw(st.sampled_from(["plain", "none", "single", "spaced", "late"]))
            plain &= style == "plain"
            ref = {
                "plain": f' r="{letters}{r}"',
                "none": "",
                "single": f" r='{letters}{r}'",
                "spaced": f' r = "{letters}{r}"',
                "late": f' s="0" r="{letters}{r}"',
            }[style]
            value = draw(st.sampled_from(["<v>1</v>", "<is><t>x</t></is>"]))
            kind = ' t="inlineStr"' if "<is>" in value else ""
            inner = value.replace("</", "\0").replace("<", "<" + prefix).replace("\0", "</" + prefix)
            cells.append(f"<{prefix}c{ref}{kind}>{inner}</{prefix}c>")
        row_attr = f' r="{r}"' if row_ref else ""
        rows_xml.append(f"<{prefix}row{row_attr}>" + "".join(cells) + f"</{prefix}row>")
    ns = f'xmlns:x="{MAIN}"' if prefix else f'xmlns="{MAIN}"'
    body = (
        f"<{prefix}worksheet {ns}><{prefix}sheetData>"
        + "".join(rows_xml)
        + f"</{prefix}sheetData></{prefix}worksheet>"
    )
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body, plain


@pytest.fixture(scope="module")
def base_parts(tmp_path_factory) -> dict[str, bytes]:
    return base_workbook(tmp_path_factory.mktemp("base") / "b.xlsx")


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=sheet_xml(), chunk=st.sampled_from([zipcheck.CHUNK, 7, 64, 100, 1000]))
def test_extent_scan_never_underestimates_the_reader(base_parts, tmp_path_factory, monkeypatch, case, chunk):
    from python_calamine import CalamineWorkbook

    xml, plain = case
    monkeypatch.setattr(zipcheck, "CHUNK", chunk)
    rows, cols = zipcheck.sheet_extent(io.BytesIO(xml.encode()))
    path = tmp_path_factory.mktemp("e") / "e.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for part, content in base_parts.items():
            zf.writestr(part, xml.encode() if part == "xl/worksheets/sheet1.xml" else content)
    try:
        end = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("户信息").end
    except Exception:
        assume(False)  # the reader refuses it: nothing to compare
    truth = (0, 0) if end is None else (end[0] + 1, end[1] + 1)
    assert rows >= truth[0] and cols >= truth[1], (rows, cols, truth)
    if plain and end is not None:
        assert (rows, cols) == truth


def test_extent_scan_of_a_big_sheet_at_chunk_boundaries(monkeypatch):
    """A reference split by every possible chunk boundary is still seen."""
    xml = (
        b'<worksheet><sheetData><row r="1"><c r="A1"><v>1</v></c></row>'
        b'<row r="70000"><c r="ZZ70000"><v>1</v></c></row></sheetData></worksheet>'
    )
    for chunk in range(1, 90):
        monkeypatch.setattr(zipcheck, "CHUNK", chunk)
        assert zipcheck.sheet_extent(io.BytesIO(xml)) == (70000, 702)


# ------------------------------------------------------------------------------------- headers and load

GRID_CELLS = st.one_of(st.sampled_from(HEADERS), CJK, TEXT, st.just(""))


@SETTINGS
@given(rows=st.lists(st.lists(GRID_CELLS, min_size=1, max_size=8), min_size=1, max_size=10))
def test_header_detection_on_any_grid(rows):
    width = max(map(len, rows))
    grid = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype="str")
    layout = locate_header(grid, is_known_header)
    if layout is not None:
        body = data_rows(grid, layout)
        assert list(body["_row"]) == sorted(body["_row"])
        assert all(1 <= r <= len(grid) for r in body["_row"])


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(rows=st.lists(st.lists(GRID_CELLS, min_size=1, max_size=8), min_size=1, max_size=8), data=st.data())
def test_load_never_crashes_on_a_headed_csv(tmp_path_factory, rows, data):
    """Header + arbitrary rows through header mapping, flat-export split and validation."""
    header = data.draw(st.lists(st.sampled_from(HEADERS), min_size=2, max_size=8))
    table = [header, *rows]
    text = "\r\n".join(",".join('"' + v.replace('"', '""') + '"' for v in row) for row in table)
    path = tmp_path_factory.mktemp("ld") / "t.csv"
    path.write_text(text, encoding="utf-8")
    dataset = load([path])
    for diag in dataset.diagnostics:
        assert diag.level in ("error", "warning", "info")
