"""Inspect a zip-based workbook (xlsx, xlsm, xlsb, ods) before any spreadsheet reader opens it.

What is checked, from the zip directory and the start of each part only, except for worksheets:

- the sum of the members' declared uncompressed sizes, and the compression ratio of large members
  (zip bombs). The declared sizes are binding: the reader refuses a member that inflates beyond its
  declared size, and so does Python's ``zipfile``;
- encrypted members and compression methods Python cannot read;
- the XML prologue of every XML part: a DOCTYPE (the vehicle of entity-expansion "billion laughs"
  and external-entity attacks) is refused. Office files never carry one. (python-calamine neither
  expands internal entities nor fetches external ones, tested; this check gives a clear message and
  does not depend on that);
- the extent of each worksheet's cells. The reader allocates the whole rectangle from A1 to the last
  cell, blanks included, so two cells in A1 and XFD1048576 make a 60 kB file that asks for 512 GiB
  and aborts the process. The extent is found by scanning the decompressed sheet XML for cell
  references (vectorised; about a tenth of the time the reader itself needs).
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO
from xml.etree import ElementTree

import numpy as np

from fupin_audit.errors import one_line
from fupin_audit.io.limits import Limits, human_size, over

__all__ = ["ZipVerdict", "inspect_sheet", "inspect_zip", "sheet_extent"]

CHUNK = 16 << 20
OVERLAP = 64  # looked at after a position: longer than any cell reference ` r="XFD1048576"`
LOOKBEHIND = 16  # looked at before a position: "</x:c" with a prefix of up to 12 characters
LEAD = b" " * LOOKBEHIND
PROLOGUE_MAX = 64 << 10
HUGE = 1 << 40
SHEET_ROOTS = frozenset({b"worksheet", b"dialogsheet", b"macrosheet"})
SHEET_FOLDERS = ("xl/worksheets/", "xl/dialogsheets/", "xl/macrosheets/")


@dataclass
class ZipVerdict:
    kind: str | None = None  # "xlsx", "xlsb", "ods"; None with ``error``
    error: str | None = None  # the whole file is refused
    sheet_errors: dict[str, str] = field(default_factory=dict)  # sheet name → why it is refused
    # sheet name → (0-based row, 0-based column, text) of error cells (#N/A, #REF! …): the reader
    # turns them into empty cells, so they are put back from here
    error_cells: dict[str, list[tuple[int, int, str]]] = field(default_factory=dict)
    # with ``defer_sheets``: sheet name → (zip member, uncompressed size) of the worksheets left for
    # ``inspect_sheet`` (called by whoever reads the sheet, possibly in another process)
    deferred: dict[str, tuple[str, int]] = field(default_factory=dict)
    # xlsx: the sheet names whose cells were scanned here (or deferred). A sheet the reader lists
    # under another name was never checked and must not be read.
    checked: set[str] = field(default_factory=set)


def inspect_zip(path: str, limits: Limits, *, defer_sheets: bool = False) -> ZipVerdict:
    """The verdict on a zip workbook. With ``defer_sheets`` the scan of each named worksheet's cells
    (most of the time this takes) is left out and listed in ``deferred``, so sheets can be checked
    in parallel, each right before it is read."""
    try:
        with zipfile.ZipFile(path) as zf:
            return _inspect(zf, limits, defer_sheets)
    except zipfile.BadZipFile as exc:
        return ZipVerdict(error=f"文件已损坏或不完整，无法作为 Excel 工作簿打开（zip 结构无效：{exc}）")
    except (OSError, EOFError, RuntimeError, NotImplementedError, ValueError) as exc:
        return ZipVerdict(error=f"文件已损坏，无法作为 Excel 工作簿打开（{one_line(exc)}）")


def _inspect(zf: zipfile.ZipFile, limits: Limits, defer_sheets: bool = False) -> ZipVerdict:
    infos = zf.infolist()
    names = {i.filename for i in infos}
    declared = sum(i.file_size for i in infos)
    if declared > limits.max_unpacked_bytes:
        return ZipVerdict(
            error=f"解压后共 {over(declared, limits.max_unpacked_bytes)}"
            "（可能是 zip 炸弹；确需读取请调高 FUPIN_AUDIT_MAX_UNPACKED）"
        )
    for info in infos:
        if info.flag_bits & 0x1:
            return ZipVerdict(error=f"zip 成员 {info.filename} 已加密，不是正常的工作簿")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            return ZipVerdict(
                error=f"zip 成员 {info.filename} 的压缩方式（{info.compress_type}）不是工作簿使用的方式"
            )
        if info.file_size > limits.ratio_min_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                return ZipVerdict(
                    error=f"zip 成员 {info.filename} 压缩比 {ratio:.0f}:1 超过上限 {limits.max_ratio:g}:1"
                    f"（解压后 {human_size(info.file_size)}；可能是 zip 炸弹，FUPIN_AUDIT_MAX_RATIO）"
                )

    mimetype = zf.read("mimetype")[:100] if "mimetype" in names else b""
    if "xl/workbook.xml" in names:
        kind = "xlsx"
    elif "xl/workbook.bin" in names:
        kind = "xlsb"
    elif b"opendocument.spreadsheet" in mimetype or ("content.xml" in names and not mimetype):
        kind = "ods"
    elif "word/document.xml" in names:
        return ZipVerdict(error="这是 Word 文档，不是 Excel 工作簿（zip 内没有 xl/workbook.xml）")
    elif b"opendocument" in mimetype:
        return ZipVerdict(
            error=f"这是 OpenDocument 文档（{mimetype.decode('ascii', 'replace')}），不是电子表格"
        )
    else:
        return ZipVerdict(error="不是有效的 Excel 工作簿（zip 内没有 xl/workbook.xml）")

    sheet_parts: list[zipfile.ZipInfo] = []
    for info in infos:
        if info.is_dir() or info.file_size == 0:
            continue
        with zf.open(info) as fh:
            root, problem = xml_root(fh)
        if problem:
            return ZipVerdict(error=f"zip 成员 {info.filename}：{problem}")
        if root in SHEET_ROOTS or info.filename.startswith(SHEET_FOLDERS):
            sheet_parts.append(info)
    verdict = ZipVerdict(kind=kind)
    if kind != "xlsx":
        return verdict
    by_part = _sheet_names_by_part(zf)
    sheet_parts += [i for i in infos if i.filename in by_part and i not in sheet_parts]

    too_big: dict[str, str] = {}
    for info in sheet_parts:
        sheets = by_part.get(info.filename, [])
        if defer_sheets and sheets:
            for sheet in sheets:
                verdict.deferred[sheet] = (info.filename, info.file_size)
            continue
        message, errors = _inspect_part(zf, info, limits)
        verdict.checked.update(sheets)
        if message:
            too_big[info.filename] = message
        elif errors:
            for sheet in sheets:
                verdict.error_cells[sheet] = errors
    for part, message in too_big.items():
        if part not in by_part:
            return ZipVerdict(error=f"zip 成员 {part}：{message}")
        for sheet in by_part[part]:
            verdict.sheet_errors[sheet] = message
    return verdict


def inspect_sheet(path: str, part: str, limits: Limits) -> tuple[str | None, list[tuple[int, int, str]]]:
    """The deferred check of one worksheet (see ``inspect_zip``): (why it is refused, or None; its
    error cells)."""
    with zipfile.ZipFile(path) as zf:
        return _inspect_part(zf, zf.getinfo(part), limits)


def _inspect_part(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits
) -> tuple[str | None, list[tuple[int, int, str]]]:
    with zf.open(info) as fh:
        rows, cols, has_errors = scan_sheet(fh)
        if cols > limits.max_columns:
            return f"工作表有 {cols:,} 列，超过上限 {limits.max_columns:,} 列（FUPIN_AUDIT_MAX_COLUMNS）", []
        if rows * cols > limits.max_cells:
            return too_many_cells(rows, cols, limits), []
        if has_errors:
            fh.seek(0)
            return None, error_cells(fh)
    return None, []


def too_many_cells(rows: int, cols: int, limits: Limits) -> str:
    shown = "超过百万亿" if rows >= HUGE or cols >= HUGE else f"{rows:,} 行 × {cols:,} 列 = {rows * cols:,}"
    return (
        f"单元格区域（从 A1 到最后一个单元格）为 {shown} 个单元格，超过上限 {limits.max_cells:,}"
        "（可能是损坏或恶意构造的文件；确需读取请调高 FUPIN_AUDIT_MAX_CELLS）"
    )


# ----------------------------------------------------------------------------------------- prologue


_DOCTYPE = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
DOCTYPE_MESSAGE = "含有 XML 文档类型声明（DOCTYPE/ENTITY，可能是实体膨胀或外部实体攻击），拒绝读取"


def xml_root(fh: IO[bytes]) -> tuple[bytes | None, str | None]:
    """(local name of the root element, None) of an XML part; (None, problem) if it is refused.

    A part that does not start like XML (media, binary parts) gives (None, None).
    """
    head = fh.read(PROLOGUE_MAX)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:2] in (b"<\x00", b"\x00<"):
        return None, "XML 部件使用 UTF-16 编码（Office 文件只用 UTF-8），拒绝读取"
    if _DOCTYPE.search(head):
        return None, DOCTYPE_MESSAGE
    text = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    pos = 0
    while True:
        while pos < len(text) and text[pos] in b" \t\r\n":
            pos += 1
        if pos >= len(text):
            if len(head) < PROLOGUE_MAX:
                return None, None  # whitespace only
            return None, "XML 开头超过 64 KB 仍没有根元素，拒绝读取"
        if text[pos] != ord("<"):
            return None, None  # not XML
        if text.startswith(b"<?", pos):
            end = text.find(b"?>", pos)
        elif text.startswith(b"<!--", pos):
            end = text.find(b"-->", pos)
        elif text.startswith(b"<!", pos):
            return None, DOCTYPE_MESSAGE
        else:
            match = re.match(rb"<([A-Za-z_][\w.\-]*:)?([A-Za-z_][\w.\-]*)", text[pos : pos + 256])
            return (match.group(2) if match else None), None
        if end < 0:
            return None, "XML 开头超过 64 KB 仍没有根元素，拒绝读取"
        pos = end + 2


# ----------------------------------------------------------------------------------------- extent

_SPACE = np.zeros(256, dtype=bool)
_SPACE[[9, 10, 13, 32]] = True
_TAG_END = _SPACE.copy()  # what may follow an element name: space, ">" or "/"
_TAG_END[[ord(">"), ord("/")]] = True
_UPPER = np.zeros(256, dtype=bool)
_UPPER[ord("A") : ord("Z") + 1] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True
_NAME = _UPPER.copy()  # characters of a namespace prefix
_NAME[[*range(ord("a"), ord("z") + 1), *range(ord("0"), ord("9") + 1), ord("_"), ord("-"), ord(".")]] = True


def sheet_extent(fh: IO[bytes]) -> tuple[int, int]:
    """Upper bound of (rows, columns) from A1 to the last cell of a worksheet XML part."""
    rows, cols, _ = scan_sheet(fh)
    return rows, cols


def scan_sheet(fh: IO[bytes]) -> tuple[int, int, bool]:
    """Upper bound of (rows, columns) from A1 to the last cell of a worksheet XML part, and whether
    it seems to hold error cells (``t="e"``).

    Fast path: every ``r="A1"`` attribute, decoded with numpy. When some ``<c>`` elements seem to
    have no reference (the reader then counts their position), the part is read again with an
    exact, slower simulation of the reader's counting.
    """
    max_row = max_col = max_any_row = 0
    refs = tags = 0
    has_errors = False
    context = carry = b""
    while True:
        chunk = fh.read(CHUNK)
        final = not chunk
        # ``context``: bytes already scanned, kept to look behind; ``carry``: not yet scanned
        buf = context + carry + chunk
        start = len(context)
        if len(buf) == start:
            break
        limit = len(buf) if final else max(len(buf) - OVERLAP, start)
        has_errors = (
            has_errors
            or buf.find(b't="e"', start, limit + 5) >= 0
            or buf.find(b"t='e'", start, limit + 5) >= 0
        )
        r, c, n, any_row, t = _scan_chunk(buf, start, limit)
        max_row, max_col, max_any_row = max(max_row, r), max(max_col, c), max(max_any_row, any_row)
        refs, tags = refs + n, tags + t
        context, carry = buf[max(limit - LOOKBEHIND, 0) : limit], buf[limit:]
        if final:
            break
    if tags > refs:
        # Cells without a reference: count them. Every reference seen still bounds the extent
        # (a row reference included), whatever the exact pass makes of oddly written tags.
        fh.seek(0)
        rows, cols = _exact_extent(fh)
        return max(rows, max_any_row, max_row), max(cols, max_col), has_errors
    return max_row, max_col, has_errors


def _scan_chunk(buf: bytes, start: int, limit: int) -> tuple[int, int, int, int, int]:
    """Scan the anchors (``=``, ``<``, ``:``) at positions ``start <= i < limit``, looking up to
    ``LOOKBEHIND`` bytes back and 16 ahead: (max row and max column of the cell references
    ``r="B7"``, their number, max row of all references including ``<row r="7">``, number of
    ``<c>`` opening tags)."""
    # Indices run at most 16 bytes past ``limit``: only the last piece needs padding.
    pad = b"\0" * OVERLAP if limit + OVERLAP > len(buf) else b""
    a = np.frombuffer(LEAD + buf + pad if start < LOOKBEHIND else buf + pad, dtype=np.uint8)
    if start < LOOKBEHIND:  # the first piece: a neutral lead stands in for the bytes before it
        start, limit = start + len(LEAD), limit + len(LEAD)
    head = a[start:limit]
    # <c …> tags, and <x:c …> tags with a namespace prefix (not their closing </x:c>); a ":c " in
    # text only makes the count larger, which is safe
    lt = np.flatnonzero(head == 60) + start
    lt = lt[a[lt + 1] == 99]
    tags = int(np.count_nonzero(_TAG_END[a[lt + 2]]))
    colon = np.flatnonzero(head == 58) + start
    if len(colon):
        colon = colon[(a[colon + 1] == 99) & _TAG_END[a[colon + 2]]]
        tags += int(np.count_nonzero(~_closing_prefix(a, colon)))
    # reference attributes: ␣r="
    eq = np.flatnonzero(head == 61) + start
    p = eq[(a[eq - 1] == 114) & (a[eq + 1] == 34) & _SPACE[a[eq - 2]]] + 2
    if not len(p):
        return 0, 0, 0, 0, tags
    up1 = _UPPER[a[p]]
    up2 = up1 & _UPPER[a[p + 1]]
    up3 = up2 & _UPPER[a[p + 2]]
    up4 = up3 & _UPPER[a[p + 3]]
    letters = up1.astype(np.int8) + up2 + up3 + up4
    first_digit = p + letters
    digits = np.zeros(len(p), dtype=np.int8)
    run = np.ones(len(p), dtype=bool)
    for k in range(11):
        run &= _DIGIT[a[first_digit + k]]
        if not run.any():
            break
        digits += run
    # decode only the longest numbers and the longest letter runs: they hold the maxima
    any_row = _max_number(a, first_digit, digits)
    cells = letters > 0
    n_cells = int(np.count_nonzero(cells))
    if not n_cells:
        return 0, 0, 0, any_row, tags
    max_row = _max_number(a, first_digit[cells], digits[cells])
    max_col = _max_letters(a, p[cells], letters[cells])
    return max_row, max_col, n_cells, any_row, tags


def _closing_prefix(a: np.ndarray, colon: np.ndarray) -> np.ndarray:
    """For each ``:`` of ``…:c``: whether it is the prefix of a closing tag ``</x:c>`` (prefix ≤ 12)."""
    closing = np.zeros(len(colon), dtype=bool)
    name = np.ones(len(colon), dtype=bool)
    for k in range(1, LOOKBEHIND - 3):
        name &= _NAME[a[colon - k]]
        closing |= name & (a[colon - k - 1] == 47) & (a[colon - k - 2] == 60)
    return closing


def _max_number(a: np.ndarray, start: np.ndarray, digits: np.ndarray) -> int:
    width = int(digits.max()) if len(digits) else 0
    if width == 0:
        return 0
    if width > 10:
        return HUGE
    at = start[digits == width]
    value = np.zeros(len(at), dtype=np.int64)
    for k in range(width):
        value = value * 10 + (a[at + k].astype(np.int64) - 48)
    return int(value.max())


def _max_letters(a: np.ndarray, start: np.ndarray, letters: np.ndarray) -> int:
    width = int(letters.max())
    if width > 3:
        return HUGE
    at = start[letters == width]
    value = np.zeros(len(at), dtype=np.int64)
    for k in range(width):
        value = value * 26 + (a[at + k].astype(np.int64) - 64)
    return int(value.max())


_TAG = re.compile(rb"<(/?)(?:[A-Za-z_][\w.\-]*:)?(row|c)(?=[\s/>])([^>]*)>")
_REF = re.compile(rb"(?:^|\s)r\s*=\s*[\"']([A-Za-z]*)(\d+)")


def _exact_extent(fh: IO[bytes]) -> tuple[int, int]:
    """Follow the reader's rules: a cell without a reference takes the next column of the current row."""
    max_row = max_col = 0
    row_index = col_index = 0
    carry = b""
    while True:
        chunk = fh.read(CHUNK)
        buf = carry + chunk
        if not chunk:
            cut = len(buf)
        else:
            cut = buf.rfind(b"<")
            if cut < 0 or buf.find(b">", cut) >= 0:
                cut = len(buf)
        for m in _TAG.finditer(buf, 0, cut):
            closing, name, attrs = m.groups()
            ref = _REF.search(attrs)
            if name == b"row":
                if closing:
                    row_index, col_index = row_index + 1, 0
                elif ref and not ref.group(1):
                    row_index, col_index = int(ref.group(2)) - 1, 0
                continue
            if closing:
                continue
            if ref and ref.group(1):
                row, col = int(ref.group(2)) - 1, _column_number(ref.group(1)) - 1
                col_index = col
            else:
                row, col = row_index, col_index
            max_row, max_col = max(max_row, row + 1), max(max_col, col + 1)
            col_index += 1
        carry = buf[cut:]
        if not chunk:
            break
    return max_row, max_col


_ERROR_CELL = re.compile(
    rb"<(?:[A-Za-z_][\w.\-]*:)?c\s([^>]*?\bt\s*=\s*[\"']e[\"'][^>]*)>"  # the cell tag
    rb"(?:(?!</(?:[A-Za-z_][\w.\-]*:)?c>).)*?"  # a formula, if any, within the cell
    rb"<(?:[A-Za-z_][\w.\-]*:)?v>([^<]{1,64})<",
    re.DOTALL,
)
_ERROR_TEXT = re.compile(r"#[A-Z0-9/!?]{1,20}[!?A]?$")


def error_cells(fh: IO[bytes]) -> list[tuple[int, int, str]]:
    """(0-based row, 0-based column, text) of the error cells (``<c r="B7" t="e">…<v>#N/A</v>``)."""
    found: list[tuple[int, int, str]] = []
    carry = b""
    while True:
        chunk = fh.read(CHUNK)
        buf = carry + chunk
        # cut before the last cell start, so no cell is split between two reads
        cut = len(buf) if not chunk else max(buf.rfind(b"<c"), buf.rfind(b":c"), 0)
        for m in _ERROR_CELL.finditer(buf):
            if chunk and m.start() >= cut:
                break
            ref = _REF.search(b" " + m.group(1))
            text = m.group(2).decode("utf-8", "replace").strip()
            if ref and ref.group(1) and _ERROR_TEXT.match(text):
                found.append((int(ref.group(2)) - 1, _column_number(ref.group(1)) - 1, text))
        carry = buf[cut:] if chunk else b""
        if not chunk:
            break
    return found


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper()[:4]:
        n = n * 26 + ch - 64
    return n if len(letters) <= 3 else HUGE


# ----------------------------------------------------------------------------------------- sheet names


def _sheet_names_by_part(zf: zipfile.ZipFile) -> dict[str, list[str]]:
    """Zip member → the sheet names pointing at it, from xl/workbook.xml and its relationships (no
    DTD: checked before)."""
    try:
        targets = {}
        for elem in _elements(zf, "xl/_rels/workbook.xml.rels", "Relationship"):
            target = elem.get("Target", "")
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            targets[elem.get("Id")] = part
        out = {}
        for elem in _elements(zf, "xl/workbook.xml", "sheet"):
            rid = next((v for k, v in elem.attrib.items() if k.endswith("}id") or k == "id"), None)
            if rid in targets and elem.get("name") is not None:
                out.setdefault(targets[rid], []).append(elem.get("name"))
        return out
    except Exception:  # a damaged workbook.xml (bad XML, unknown encoding …): no names, whole-file error
        return {}


def _elements(zf: zipfile.ZipFile, member: str, local: str) -> Iterable[ElementTree.Element]:
    with zf.open(member) as fh:
        for _, elem in ElementTree.iterparse(fh, events=("end",)):
            if elem.tag.rpartition("}")[2] == local:
                yield elem
