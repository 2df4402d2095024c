"""Build the corpus of hostile and broken inputs, with real writers and small scripted edits.

    python tests/hostile/build_corpus.py OUT_DIR            # the default corpus (a few seconds)
    python tests/hostile/build_corpus.py OUT_DIR --slow     # plus the full 1 048 576-row sheet

Nothing here is a hand-edited binary: workbooks come from XlsxWriter/openpyxl/pyarrow, damaged
variants are derived from them by truncating, re-zipping or patching one record found by its
signature, and the zip bombs are deflate streams written by zlib. The legacy .xls base is the
LibreOffice-made fixture ``tests/fixtures/households.xls``. The test suite builds the corpus into a
temporary folder (``tests/test_hostile_corpus.py``); nothing large is committed.

Each case is a function ``(path) -> None`` registered in ``CASES`` (or ``SLOW_CASES``) under the
file name it writes; the expected exit code and message live with the tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
FIXED = dt.datetime(2020, 1, 1, 8, 0, 0)

CASES: dict[str, Callable[[Path], None]] = {}
SLOW_CASES: dict[str, Callable[[Path], None]] = {}

# ----------------------------------------------------------------------------------- valid content

HEADER = [
    "县",
    "乡",
    "村",
    "户编号",
    "户主姓名",
    "家庭人口数",
    "贫困户属性",
    "脱贫状态",
    "主要致贫原因",
    "人均纯收入",
    "年度",
]
MEMBER_HEADER = [
    "县",
    "乡",
    "村",
    "户编号",
    "姓名",
    "性别",
    "证件号码",
    "与户主关系",
    "劳动技能",
    "健康状况",
    "年度",
]
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(birth: str = "19700101", seq: int = 111, region: str = "340826") -> str:
    body = f"{region}{birth}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def household(i: int, **over: object) -> list[object]:
    row: dict[str, object] = {
        "县": "宿松县",
        "乡": "孚玉镇",
        "村": "城西村",
        "户编号": f"34082600100{i:05d}",
        "户主姓名": "张建国",
        "家庭人口数": 2,
        "贫困户属性": "一般贫困户",
        "脱贫状态": "未脱贫",
        "主要致贫原因": "缺资金",
        "人均纯收入": 2700,
        "年度": 2017,
    }
    row.update(over)
    return [row[h] for h in HEADER]


def member(i: int, **over: object) -> list[object]:
    row: dict[str, object] = {
        "县": "宿松县",
        "乡": "孚玉镇",
        "村": "城西村",
        "户编号": f"34082600100{i:05d}",
        "姓名": "张建国",
        "性别": "男",
        "证件号码": make_id(seq=100 + (i % 400) * 2 + 1),
        "与户主关系": "户主",
        "劳动技能": "普通劳动力",
        "健康状况": "健康",
        "年度": 2017,
    }
    row.update(over)
    return [row[h] for h in MEMBER_HEADER]


def rows(n: int = 5) -> list[list[object]]:
    return [HEADER] + [household(i) for i in range(1, n + 1)]


def csv_text(table: list[list[object]], delimiter: str = ",") -> str:
    return "".join(delimiter.join(str(v) for v in row) + "\r\n" for row in table)


def xlsxwriter_book(path: Path, sheets: dict[str, list[list[object]]], **options: object) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, **options})
    book.set_properties({"created": FIXED})
    for name, table in sheets.items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                if isinstance(value, str):
                    sheet.write_string(r, c, value)
                else:
                    sheet.write(r, c, value)
    book.close()


def case(name: str, *, slow: bool = False):
    def register(fn: Callable[[Path], None]) -> Callable[[Path], None]:
        (SLOW_CASES if slow else CASES)[name] = fn
        return fn

    return register


def rezip(src: Path, dst: Path, change: dict[str, Callable[[bytes], bytes]]) -> None:
    """Copy a zip member by member, passing the named members through a function."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename in change:
                data = change[info.filename](data)
            out = zipfile.ZipInfo(info.filename, date_time=FIXED.timetuple()[:6])
            out.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(out, data)


def raw_zip(path: Path, members: list[tuple[str, bytes, int, int]]) -> None:
    """Write a zip from already-deflated members: (name, deflate stream, uncompressed size, CRC-32)."""
    out = bytearray()
    central = bytearray()
    stamp = (0, 0x21)  # DOS time and date: 1980-01-01
    for name, stream, size, crc in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, *stamp, crc, len(stream), size, len(encoded), 0
        )
        out += encoded + stream
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            *stamp,
            crc,
            len(stream),
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += encoded
    start = len(out)
    out += central + struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0
    )
    path.write_bytes(bytes(out))


def deflated(data: bytes) -> tuple[bytes, int, int]:
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush(), len(data), zlib.crc32(data)


def padded_sheet_stream(prefix: bytes, padding: int, suffix: bytes) -> tuple[bytes, int, int]:
    """Deflate ``prefix + b" " * padding + suffix`` cheaply: identical 1 MiB blocks compressed once.

    After a full flush the compressor starts afresh, so every block of spaces deflates to the same
    bytes; the stream is those bytes repeated. 1 GiB costs well under a second.
    """
    block = b" " * (1 << 20)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = comp.compress(prefix) + comp.flush(zlib.Z_FULL_FLUSH)
    one = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    blocks, rest = divmod(padding, len(block))
    tail = comp.compress(b" " * rest + suffix) + comp.flush()
    crc = zlib.crc32(prefix)
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(b" " * rest + suffix, crc)
    return head + one * blocks + tail, len(prefix) + padding + len(suffix), crc


def base_xlsx(path: Path, table: list[list[object]] | None = None, name: str = "户信息") -> None:
    xlsxwriter_book(path, {name: table or rows()})


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: zf.read(i.filename) for i in zf.infolist()}


# ----------------------------------------------------------------------------------- empty, truncated


@case("empty.csv")
def _empty_csv(path: Path) -> None:
    path.write_bytes(b"")


@case("zero_bytes.xlsx")
def _zero_xlsx(path: Path) -> None:
    path.write_bytes(b"")


@case("blank_lines.csv")
def _blank_csv(path: Path) -> None:
    path.write_bytes(b"\r\n  \r\n\t\r\n")


@case("truncated.xlsx")
def _truncated_xlsx(path: Path) -> None:
    full = path.with_suffix(".full")
    base_xlsx(full, rows(200))
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) // 2])


@case("truncated.xls")
def _truncated_xls(path: Path) -> None:
    # This length makes calamine's OLE reader panic (a Rust panic is a BaseException in Python).
    path.write_bytes((FIXTURES / "households.xls").read_bytes()[:8357])


@case("truncated.parquet")
def _truncated_parquet(path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    full = path.with_suffix(".full")
    table = pa.table(
        {h: [str(v) for v in col] for h, col in zip(HEADER, zip(*rows(50)[1:], strict=True), strict=True)}
    )
    pq.write_table(table, full)
    data = full.read_bytes()
    full.unlink()
    path.write_bytes(data[: len(data) * 2 // 3])


# ----------------------------------------------------------------------------------- wrong content


@case("not_a_workbook.xlsx")
def _zip_not_workbook(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("readme.txt", "这不是工作簿")
        zf.writestr("data/户信息.csv", csv_text(rows()))


@case("really_xlsx.csv")
def _xlsx_named_csv(path: Path) -> None:
    base_xlsx(path)


@case("really_csv.xlsx")
def _csv_named_xlsx(path: Path) -> None:
    path.write_bytes(csv_text(rows()).encode("utf-8"))


@case("really_html.xls")
def _html_named_xls(path: Path) -> None:
    path.write_text("<html><body><table><tr><td>户编号</td></tr></table></body></html>", encoding="utf-8")


@case("title_only.xlsx")
def _title_only(path: Path) -> None:
    xlsxwriter_book(path, {"户信息": [["宿松县2017年建档立卡贫困户信息表"]]})


@case("header_only.xlsx")
def _header_only(path: Path) -> None:
    xlsxwriter_book(path, {"户信息": [HEADER]})


@case("duplicate_header.csv")
def _duplicate_header(path: Path) -> None:
    header = [*HEADER, "户编号", "", "", "备注", "备注"]
    body = [[*household(i), f"x{i}", "", "孤立值" if i == 2 else "", "a", "b"] for i in range(1, 5)]
    path.write_bytes(csv_text([header, *body]).encode("utf-8"))


@case("duplicate_header.xlsx")
def _duplicate_header_xlsx(path: Path) -> None:
    header = [*HEADER, "户编号", "", "人均纯收入"]
    body = [[*household(i), f"x{i}", "", 999] for i in range(1, 5)]
    xlsxwriter_book(path, {"户信息": [header, *body]})


@case("ragged.csv")
def _ragged(path: Path) -> None:
    table = rows(6)
    table[2] = table[2][:4]  # short record
    table[3] = [*table[3], "多余1", "多余2", "多余3"]  # long record
    text = csv_text(table) + "3408260010099999\r\n"  # a record with one field
    path.write_bytes(text.encode("utf-8"))


@case("mixed_encoding.csv")
def _mixed_encoding(path: Path) -> None:
    table = rows(6)
    utf8 = csv_text(table[:4]).encode("utf-8")
    gbk = csv_text(table[4:]).encode("gbk")
    path.write_bytes(utf8 + gbk)


@case("gbk.csv")
def _gbk(path: Path) -> None:
    path.write_bytes(csv_text(rows()).encode("gbk"))


@case("stray_nul.csv")
def _stray_nul(path: Path) -> None:
    table = rows(4)
    table[2][4] = "张\x00建国"
    path.write_bytes(csv_text(table).encode("utf-8"))


@case("utf16_no_bom.csv")
def _utf16_nobom(path: Path) -> None:
    path.write_bytes(csv_text(rows()).encode("utf-16-le"))


@case("binary.csv")
def _binary(path: Path) -> None:
    path.write_bytes(bytes(range(256)) * 64)


# ----------------------------------------------------------------------------------- bombs


@case("zip_bomb.xlsx")
def _zip_bomb(path: Path) -> None:
    """A real xlsx whose sheet inflates to 1 GiB + a little (spaces between the elements)."""
    base = path.with_suffix(".base")
    base_xlsx(base)
    parts = members_of(base)
    base.unlink()
    sheet = parts["xl/worksheets/sheet1.xml"]
    cut = sheet.index(b"<sheetData>")
    members = []
    for name, data in parts.items():
        if name == "xl/worksheets/sheet1.xml":
            members.append((name, *padded_sheet_stream(sheet[:cut], 1 << 30, sheet[cut:])))
        else:
            members.append((name, *deflated(data)))
    raw_zip(path, members)


@case("ratio_bomb.xlsx")
def _ratio_bomb(path: Path) -> None:
    """Under the size limit (64 MiB) but compressed about 1000:1."""
    base = path.with_suffix(".base")
    base_xlsx(base)
    parts = members_of(base)
    base.unlink()
    sheet = parts["xl/worksheets/sheet1.xml"]
    cut = sheet.index(b"<sheetData>")
    members = []
    for name, data in parts.items():
        if name == "xl/worksheets/sheet1.xml":
            members.append((name, *padded_sheet_stream(sheet[:cut], 64 << 20, sheet[cut:])))
        else:
            members.append((name, *deflated(data)))
    raw_zip(path, members)


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + "]>"
)


def _with_doctype(data: bytes, doctype: str, replace: tuple[bytes, bytes]) -> bytes:
    end = data.index(b"?>") + 2
    out = data[:end] + doctype.encode() + data[end:]
    return out.replace(*replace, 1)


@case("billion_laughs_sheet.xlsx")
def _laughs_sheet(path: Path) -> None:
    base = path.with_suffix(".base")
    base_xlsx(base)
    rezip(
        base,
        path,
        {
            "xl/worksheets/sheet1.xml": lambda d: _with_doctype(
                d, LAUGHS, (b"</row>", b'<c r="L1" t="inlineStr"><is><t>&lol9;</t></is></c></row>')
            )
        },
    )
    base.unlink()


@case("billion_laughs_strings.xlsx")
def _laughs_strings(path: Path) -> None:
    base = path.with_suffix(".base")
    base_xlsx(base)
    rezip(
        base,
        path,
        {"xl/sharedStrings.xml": lambda d: _with_doctype(d, LAUGHS, ("张建国".encode(), b"&lol9;"))},
    )
    base.unlink()


@case("external_entity.xlsx")
def _xxe(path: Path) -> None:
    base = path.with_suffix(".base")
    base_xlsx(base)
    doctype = '<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY web SYSTEM "http://127.0.0.1:9/x">]>'
    rezip(
        base,
        path,
        {"xl/sharedStrings.xml": lambda d: _with_doctype(d, doctype, ("张建国".encode(), b"&xxe;&web;"))},
    )
    base.unlink()


@case("far_corner.xlsx")
def _far_corner(path: Path) -> None:
    """Two cells, A1 and XFD1048576: a 6 kB file whose cell range is 17 billion cells."""
    xlsxwriter_book(path, {"户信息": [["户编号"]]})
    parts = members_of(path)
    sheet = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>",
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>',
    )
    raw_zip(path, [(n, *deflated(sheet if n == "xl/worksheets/sheet1.xml" else d)) for n, d in parts.items()])


@case("far_corner_noref.xlsx")
def _far_corner_noref(path: Path) -> None:
    """The same, written without cell references: the reader counts the position of each cell."""
    xlsxwriter_book(path, {"户信息": [["户编号"]]})
    parts = members_of(path)
    cells = b"<c><v>1</v></c>" * 16384
    sheet = parts["xl/worksheets/sheet1.xml"].replace(
        b"</sheetData>", b'<row r="1048576">' + cells + b"</row></sheetData>"
    )
    raw_zip(path, [(n, *deflated(sheet if n == "xl/worksheets/sheet1.xml" else d)) for n, d in parts.items()])


@case("damaged_second_sheet.xlsx")
def _damaged_second_sheet(path: Path) -> None:
    """户信息 is fine (with one planted problem); 家庭成员 is a far-corner bomb: only it is refused."""
    table = rows(5)
    table[3][HEADER.index("家庭人口数")] = "abc"  # DQ004
    members = [MEMBER_HEADER, *[member(i) for i in range(1, 6)]]
    xlsxwriter_book(path, {"户信息": table, "家庭成员": members})
    parts = members_of(path)
    far = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    parts["xl/worksheets/sheet2.xml"] = parts["xl/worksheets/sheet2.xml"].replace(b"</sheetData>", far)
    raw_zip(path, [(n, *deflated(d)) for n, d in parts.items()])


@case("far_cell.xls")
def _far_cell_xls(path: Path) -> None:
    """The LibreOffice .xls with one LABELSST record moved to row 65536, column 65536 (BIFF8 allows
    256 columns): the reader asks for 128 GiB and aborts the process that runs it."""
    data = bytearray((FIXTURES / "households.xls").read_bytes())
    pos = data.rfind(b"\xfd\x00\x0a\x00")  # LABELSST, length 10: row, column, XF, SST index
    if pos < 0:
        raise RuntimeError("no LABELSST record in households.xls")
    struct.pack_into("<HH", data, pos + 4, 0xFFFF, 0xFFFF)
    path.write_bytes(bytes(data))


@case("wide_line.csv")
def _wide_line(path: Path) -> None:
    """One line of 20 000 fields among normal ones: more columns than Excel has."""
    lines = csv_text(rows(3)) + ",".join(["x"] * 20_000) + "\r\n"
    path.write_bytes(lines.encode("utf-8"))


@case("ragged_bomb.csv")
def _ragged_bomb(path: Path) -> None:
    """16 000 commas then 100 000 empty lines: 200 kB asking for 1.6 billion padding cells."""
    path.write_bytes(b"," * 16_000 + b"\n" * 100_000)


@case("parquet_bomb.parquet")
def _parquet_bomb(path: Path) -> None:
    """401 million rows of one null column: under a MB on disk, over the cell limit once read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"户编号": pa.nulls(401_000_000, pa.string())}), path)


@case("ods_bomb.ods")
def _ods_bomb(path: Path) -> None:
    """One ODS cell repeated 1048570 × 16384 times."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="户信息">'
        "<table:table-row>"
        + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{h}</text:p></table:table-cell>'
            for h in HEADER
        )
        + "</table:table-row>"
        '<table:table-row table:number-rows-repeated="1048570">'
        '<table:table-cell office:value-type="string" table:number-columns-repeated="16384"><text:p>x</text:p>'
        "</table:table-cell></table:table-row>"
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" '
        'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(
            "mimetype", "application/vnd.oasis.opendocument.spreadsheet", compress_type=zipfile.ZIP_STORED
        )
        zf.writestr("META-INF/manifest.xml", manifest, compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("content.xml", content, compress_type=zipfile.ZIP_DEFLATED)


@case("encrypted_member.xlsx")
def _encrypted_member(path: Path) -> None:
    base = path.with_suffix(".base")
    base_xlsx(base)
    data = bytearray(base.read_bytes())
    base.unlink()
    # set the "encrypted" flag bit in every local and central header (the content stays plain)
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (pos := data.find(sig, start)) >= 0:
            data[pos + offset] |= 0x01
            start = pos + 4
    path.write_bytes(bytes(data))


# ----------------------------------------------------------------------------------- awkward values


@case("formulas_and_errors.xlsx")
def _formulas(path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": FIXED})
    sheet = book.add_worksheet("户信息")
    table = rows(6)
    for r, row in enumerate(table):
        for c, value in enumerate(row):
            sheet.write_string(r, c, str(value)) if isinstance(value, str) else sheet.write(r, c, value)
    income = HEADER.index("人均纯收入")
    size = HEADER.index("家庭人口数")
    sheet.write_formula(1, income, "=5400/2", None, 2700)  # a formula with its cached value
    sheet.write_formula(2, income, "=NA()", None, "#N/A")
    sheet.write_formula(3, income, "=#REF!+1", None, "#REF!")
    sheet.write_formula(4, size, "=1/0", None, "#DIV/0!")
    # text that a spreadsheet would run as a formula (DDE): must stay text in every output
    sheet.write_string(5, HEADER.index("户主姓名"), "=cmd|' /C calc'!A0")
    book.close()


DATE_HEADER = [*HEADER, "申请日期", "识别年度"]
DATE_CASES = [
    # (申请日期 as written, how it is written, valid?)
    (dt.date(2016, 3, 1), "datetime", True),
    (42430, "serial", True),  # 2016-03-01 as a plain number
    ("42430", "text", True),
    ("2016-03-01", "text", True),
    ("2016/3/1", "text", True),
    ("2016.3.1", "text", True),
    ("20160301", "text", True),
    ("2016年3月1日", "text", True),
    ("２０１６－０３－０１", "text", True),  # full-width
    ("2016-02-30", "text", False),
    ("2016-13-01", "text", False),
    ("0000-00-00", "text", False),
    ("1899-12-31", "text", False),
    ("99999", "text", False),  # serial beyond 2100
    ("三月一日", "text", False),
]


@case("dates.xlsx")
def _dates(path: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": FIXED})
    sheet = book.add_worksheet("户信息")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, DATE_HEADER)
    for i, (value, how, _) in enumerate(DATE_CASES, start=1):
        for c, v in enumerate(household(i)):
            sheet.write_string(i, c, v) if isinstance(v, str) else sheet.write(i, c, v)
        col = len(HEADER)
        if how == "datetime":
            sheet.write_datetime(i, col, dt.datetime.combine(value, dt.time()), date_format)
        elif how == "serial":
            sheet.write_number(i, col, value)
        else:
            sheet.write_string(i, col, value)
        sheet.write_number(i, col + 1, 2015)
    book.close()


NUMBER_CASES = [
    # (人均纯收入 as written, valid?)
    ("2,700", True),
    ("12,345.50", True),
    ("２７００", True),  # full-width digits
    ("２,７００.５", True),
    ("¥2700", True),
    ("2700元", True),
    (" 2700 ", True),
    ("2.7e3", True),
    ("二千七", False),
    ("27OO", False),  # letter O
    ("2,70,0.0.1", False),
]


@case("numbers.csv")
def _numbers(path: Path) -> None:
    table = [HEADER] + [household(i, 人均纯收入=f'"{v}"') for i, (v, _) in enumerate(NUMBER_CASES, start=1)]
    path.write_bytes(csv_text(table).encode("utf-8"))


LONG = 200_000


@case("long_cell.csv")
def _long_cell_csv(path: Path) -> None:
    table = rows(3)
    table[2][HEADER.index("户主姓名")] = "长" * LONG
    path.write_bytes(csv_text(table).encode("utf-8"))


@case("long_cell.xlsx")
def _long_cell_xlsx(path: Path) -> None:
    """Excel refuses cells over 32 767 characters; the XML can still carry one."""
    base_xlsx(path, rows(3))
    parts = members_of(path)
    sheet = parts["xl/worksheets/sheet1.xml"]
    long_cell = ('<c r="L3" t="inlineStr"><is><t>' + "长" * LONG + "</t></is></c></row>").encode()
    rows_at = sheet.index(b'<row r="3"')
    end = sheet.index(b"</row>", rows_at)
    sheet = sheet[:end] + long_cell + sheet[end + len(b"</row>") :]
    parts["xl/worksheets/sheet1.xml"] = sheet
    raw_zip(path, [(n, *deflated(d)) for n, d in parts.items()])


def _max_rows_sheet(path: Path, data_rows: int) -> None:
    """A header, ``data_rows`` households, and the last household on row 1 048 576 (家庭人口数 99: DQ004).

    The sheet XML is written directly (XlsxWriter needs minutes for a million rows); the other
    parts come from a small XlsxWriter workbook.
    """
    base = path.with_suffix(".base")
    base_xlsx(base, rows(1))
    parts = members_of(base)
    base.unlink()
    strings = list(dict.fromkeys(str(v) for v in [*HEADER, *household(1)] if isinstance(v, str)))
    index = {text: i for i, text in enumerate(strings)}
    sst = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{len(strings)}" '
        f'uniqueCount="{len(strings)}">' + "".join(f"<si><t>{t}</t></si>" for t in strings) + "</sst>"
    )
    letters = [chr(65 + c) for c in range(len(HEADER))]

    def row_xml(r: int, values: list[object]) -> str:
        cells = []
        for letter, value in zip(letters, values, strict=True):
            if isinstance(value, str) and value in index:
                cells.append(f'<c r="{letter}{r}" t="s"><v>{index[value]}</v></c>')
            elif isinstance(value, str):
                cells.append(f'<c r="{letter}{r}" t="inlineStr"><is><t>{value}</t></is></c>')
            else:
                cells.append(f'<c r="{letter}{r}"><v>{value}</v></c>')
        return f'<row r="{r}">' + "".join(cells) + "</row>"

    head = parts["xl/worksheets/sheet1.xml"].decode()
    start, end = head.index("<sheetData>") + len("<sheetData>"), head.index("</sheetData>")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, data in parts.items():
            if name == "xl/sharedStrings.xml":
                zf.writestr(name, sst)
            elif name == "xl/worksheets/sheet1.xml":
                with zf.open(name, "w", force_zip64=True) as out:
                    out.write(head[:start].replace('<dimension ref="A1:K2"/>', "").encode())
                    out.write(row_xml(1, HEADER).encode())
                    batch: list[str] = []
                    for r in range(2, data_rows + 2):
                        batch.append(row_xml(r, household(r - 1)))
                        if len(batch) == 10_000:
                            out.write("".join(batch).encode())
                            batch = []
                    out.write("".join(batch).encode())
                    out.write(row_xml(1_048_576, household(99_999, 家庭人口数=99)).encode())
                    out.write(head[end:].encode())
            else:
                zf.writestr(name, data)


@case("last_row.xlsx")
def _last_row(path: Path) -> None:
    _max_rows_sheet(path, 20)


@case("max_rows.xlsx", slow=True)
def _max_rows(path: Path) -> None:
    _max_rows_sheet(path, 1_048_574)


# ----------------------------------------------------------------------------------- build


def build(out: Path, *, slow: bool = False, only: list[str] | None = None) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    cases = {**CASES, **(SLOW_CASES if slow else {})}
    built: dict[str, Path] = {}
    for name, make in cases.items():
        if only and name not in only:
            continue
        path = out / name
        make(path)
        built[name] = path
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--slow", action="store_true", help="also the full 1 048 576-row sheet")
    parser.add_argument("--only", nargs="*", help="build only these file names")
    args = parser.parse_args(argv)
    for name, path in build(args.out, slow=args.slow, only=args.only).items():
        print(f"{path.stat().st_size:>12,}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
