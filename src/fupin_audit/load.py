"""Files → a typed Dataset: read, find headers, recognise tables, map headers, split flat exports, validate.

`io/` gives raw text grids; the schema models say which headers mean which field and which table a
sheet is. Everything wrong with the input is collected (diagnostics, DQ001 missing columns, DQ036
flat-export conflicts, validation problems), never raised at the first one.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.dataset import (
    ROW_COLUMN,
    SOURCE_COLUMN,
    Dataset,
    Diagnostic,
    InputFile,
    Source,
    Table,
)
from fupin_audit.errors import ConfigError, InputError
from fupin_audit.io.dictionary import Encoding, buffer_key
from fupin_audit.io.header import locate_header, merged_filled, normalise_header
from fupin_audit.io.parquet import file_sha256, take_early_sha256
from fupin_audit.io.readers import XLS_MAGIC, RawSheet, column_letter, read_file
from fupin_audit.schema.codes import code_list
from fupin_audit.schema.derive import derive_fields, derive_totals, split_risks
from fupin_audit.schema.fields import (
    EMPTY_MARKERS,
    EMPTY_SET,
    Kind,
    Spec,
    _vector_dates,
    _vector_months,
    _vector_numbers,
    _vector_years,
    arrow_mask,
    arrow_text,
    clean_texts,
    encode_texts,
    is_arrow_text,
    str_series,
)
from fupin_audit.schema.models import AMBIGUOUS_HEADERS, MODELS, TABLE_KINDS, Household, Member
from fupin_audit.schema.validate import TableInput, validate_tables
from fupin_audit.workers import started

# Fields shared by a flat export's household part and member part.
SHARED_FIELDS = ("省", "市", "县", "乡", "村", "自然村", "年度", "户编号")
_TITLE_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
# "导出时间：2023-12-18" (also 数据时间, 截止日期…) in a title row: the export's reference date.
_TITLE_DATE = re.compile(
    r"(?:导出|数据|统计|截止|截至|生成)(?:时间|日期)?\s*[:：]?\s*((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"
)
# Columns of a 防返贫监测 export (2021–2026) that tell its era; MONITORING.md §1.
MONITORING_MARKERS = ("户类型", "监测对象类别")
# Required columns of a monitoring-era sheet: its exports no longer carry 贫困户属性, 脱贫状态, 主要致贫原因
# (MONITORING.md C3), and real exports drop 姓名 or 人均纯收入 from subsets; what identifies the record stays.
MONITORING_REQUIRED = {
    "households": ("户编号",),
    "members": ("户编号", "证件号码"),
}
# A required column that need not be in the file when another gives it: 性别 is in every 18-digit ID.
DERIVABLE = {"性别": "证件号码"}
# Columns that carry nothing to check and need no mention (an export's own row counter).
IGNORED_HEADERS = frozenset({"序号", "编号", "行号", "No", "NO", "no", "No.", "列1"})
# The measure columns of a monitoring-era household row (MONITORING.md C1): each holds zero or more
# measures, which also become rows of the measures table. 公益岗位帮扶 and 公益性岗位帮扶 are one column.
MEASURE_COLUMNS = (
    "产业帮扶", "就业帮扶", "公益岗位帮扶", "健康帮扶", "教育帮扶", "义务教育保障", "金融帮扶", "社会帮扶",
    "综合保障", "住房安全保障", "饮水安全保障", "搬迁", "基础设施建设", "生产生活条件改善",
)  # fmt: skip
# A second column for a field that has an "after elimination" twin is that twin: the 监测对象信息 export
# repeats 风险是否已消除 in its 风险消除后 block.
AFTER_ELIMINATION = "风险消除后"


EMPTY_TEXTS = sorted(EMPTY_MARKERS)
MEASURE_SEPARATORS = r"[,，、;；]+"


@dataclass(frozen=True)
class TableRequest:
    """--table KIND=PATH[:SHEET]: force a sheet (or every sheet of a file) to be read as KIND."""

    kind: str
    path: str
    sheet: str | None = None

    @classmethod
    def parse(cls, text: str) -> TableRequest:
        kind, sep, rest = text.partition("=")
        kind = kind.strip()
        if not sep or kind not in TABLE_KINDS:
            raise ConfigError(
                f"--table {text}: 格式为 KIND=PATH[:SHEET]，KIND 为 {'、'.join(TABLE_KINDS)} 之一"
            )
        path, sheet = rest, None
        if ":" in rest and not Path(rest).exists():
            path, _, sheet = rest.rpartition(":")
        return cls(kind, path, sheet or None)


# ----------------------------------------------------------------------------------- header lookup


@cache
def alias_index() -> dict[str, dict[str, str]]:
    """kind → {normalised header variant → canonical field}."""
    index: dict[str, dict[str, str]] = {}
    for kind, model in MODELS.items():
        names: dict[str, str] = {}
        for field, spec in model.specs().items():
            for variant in (field, *spec.aliases):
                names.setdefault(normalise_header(variant)[0], field)
                names.setdefault(normalise_header(variant)[0].lower(), field)
        # Counties write a yes/no column with or without its 是否 (是否危房户 / 危房户), and the first
        # of a numbered repeat with a 1 (联系电话1): after every written alias, so those win.
        for field, spec in model.specs().items():
            for variant in (field, *spec.aliases):
                name = normalise_header(variant)[0]
                if spec.kind is Kind.YESNO:
                    names.setdefault(
                        name.removeprefix("是否") if name.startswith("是否") else f"是否{name}", field
                    )
                if not name[-1:].isdigit():
                    names.setdefault(f"{name}1", field)
        index[kind] = names
    # A flat member-level export: member fields, then the household-only ones.
    index["flat"] = {**index["households"], **index["members"]}
    return index


@cache
def ambiguous_headers() -> dict[str, dict[str, tuple[str, ...]]]:
    """kind → {normalised header → every field it could be} for headers that could be two fields of
    one table (致贫原因: 主要致贫原因 or 次要致贫原因); the first is the one taken."""
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for kind, model in MODELS.items():
        seen: dict[str, list[str]] = {}
        for field, spec in model.specs().items():
            for variant in dict.fromkeys((field, *spec.aliases)):
                fields = seen.setdefault(normalise_header(variant)[0], [])
                if field not in fields:
                    fields.append(field)
        out[kind] = {name: tuple(fields) for name, fields in seen.items() if len(fields) > 1}
    out["flat"] = {**out["households"], **out["members"]}
    for header, fields in AMBIGUOUS_HEADERS.items():
        for kind in out:
            if canonical(kind, normalise_header(header)[0]):
                out[kind][normalise_header(header)[0]] = fields
    return out


@cache
def _known_headers() -> frozenset[str]:
    return frozenset(name for names in alias_index().values() for name in names)


# A bracket after a header that only says how the cell is written (识别监测时间（年月）, 户编号（16位）) or
# repeats the field under another of its names (证件号码（身份证号）): the header is the field before it.
_HINTED = re.compile(r"^(?P<stem>.+?)\((?P<hint>[^()]+)\)$")
FORMAT_HINTS = re.compile(
    r"^(?:年月|年月日|年-月|年-月-日|年\.月|YYYYMM|YYYY-MM|YYYYMMDD|YYYY-MM-DD|年份|日期|文本|数字|数值|"
    r"是/否|是或否|是否|必填|选填|\d+位|\d+位数字|如.+|格式.+|例.+|填.+)$",
    re.IGNORECASE,
)


def is_known_header(name: str) -> bool:
    return name in _known_headers() or name.lower() in _known_headers() or _hinted_stem(name) is not None


def canonical(kind: str, name: str) -> str | None:
    names = alias_index()[kind]
    found = names.get(name) or names.get(name.lower())
    if found is None and (stem := _hinted_stem(name)) is not None:
        found = names.get(stem) or names.get(stem.lower())
        hint = _HINTED.match(name)["hint"]  # type: ignore[index]
        if found and not FORMAT_HINTS.match(hint) and (names.get(hint) or names.get(hint.lower())) != found:
            found = None  # a qualifier (人均纯收入（上年）) is another field, not this one
    return found


@cache
def _hinted_stem(name: str) -> str | None:
    """The header before a trailing bracket that is a format hint or another name of the same field."""
    m = _HINTED.match(name)
    if not m or name in _known_headers():
        return None
    stem, hint = m["stem"], m["hint"]
    known = _known_headers()
    if stem not in known and stem.lower() not in known:
        return None
    if FORMAT_HINTS.match(hint):
        return stem
    for names in alias_index().values():
        field = names.get(stem) or names.get(stem.lower())
        if field and (names.get(hint) or names.get(hint.lower())) == field:
            return stem
    return None


# ----------------------------------------------------------------------------------- classification


def classify(sheet: str, file: str, names: Sequence[str]) -> str | None:
    """The table kind of a sheet from its name keywords and header signature (None: unrecognised).

    Score = recognised fields + 3 × distinctive (signature) fields + 6 for a name keyword
    − 2 × required fields missing; at least two recognised fields and a signature field or keyword.
    """
    label = sheet or Path(file).stem
    best, best_score = None, 0.0
    for kind, model in MODELS.items():
        fields = _fields_of(kind, names)
        signature = len(fields & set(model.signature))
        keyword = any(k in label for k in model.sheet_keywords) or (
            not sheet and any(k in Path(file).stem for k in model.sheet_keywords)
        )
        if len(fields) < 2 or (signature == 0 and not keyword):
            continue
        missing = sum(1 for f, spec in model.specs().items() if spec.required and f not in fields)
        score = len(fields) + 3 * signature + (6 if keyword else 0) - 2 * missing
        if score > best_score:
            best, best_score = kind, score
    return best


def _named_as_table(name: str) -> bool:
    """A sheet name holding a table's keyword (户信息, 家庭成员 …): the sheet is meant to be data."""
    return any(k in name for model in MODELS.values() for k in model.sheet_keywords)


# Words in the name of a workbook's sheet of instructions or remarks beside its data sheets.
NOTES_SHEET_WORDS = ("说明", "填表", "填报要求", "备注", "注意事项", "目录", "封面", "指标解释", "字段解释")


def is_notes_sheet(name: str, grid: pd.DataFrame) -> bool:
    """A sheet without a header that holds no table: text written for people (填表说明, 备注) beside a
    workbook's data sheets — named so, or its text in one column only — and not named as any table
    (a 户信息 sheet without a header is data the run could not read)."""
    if not name or _named_as_table(name):
        return False
    if any(word in name for word in NOTES_SHEET_WORDS):
        return True
    filled = grid.notna() & (grid.astype(str).apply(lambda column: column.str.strip()) != "")
    return int(filled.any(axis=0).sum()) <= 1


# Words in the name of a sheet of totals (汇总表), and the fields a sheet of records has one of.
SUMMARY_SHEET_WORDS = ("汇总", "统计", "合计")
RECORD_FIELDS = ("户编号", "证件号码", "姓名", "户主姓名", "户主证件号码")


def is_summary_sheet(name: str, names: Sequence[str]) -> bool:
    """A sheet of totals beside the records (汇总: 户数 and 人数 per village), named so and not named as
    any table, whose header has no field of a record (户编号, 证件号码, 姓名 …): not a village table
    to check for its missing 总人口数."""
    if not name or not any(word in name for word in SUMMARY_SHEET_WORDS) or _named_as_table(name):
        return False
    fields = {canonical(kind, n) for kind in MODELS for n in names if n}
    return not fields & set(RECORD_FIELDS)


def _fields_of(kind: str, names: Sequence[str]) -> set[str]:
    return {f for n in names if n and (f := canonical(kind, n))}


def is_monitoring_export(names: Sequence[str]) -> bool:
    """A 防返贫监测 export (2021–2026): it has 户类型 or 监测对象类别 (MONITORING.md §1)."""
    return any(canonical("households", n) in MONITORING_MARKERS for n in names if n)


def monitoring_overrides(names: Sequence[str]) -> dict[str, str]:
    """Headers that mean something else in a monitoring-era export (MONITORING.md §4): a lone 致贫原因1
    (致贫原因2) is 致贫/返贫风险1 (2), not the 2014–2020 主要致贫原因; a bare 识别时间 is 识别监测时间."""
    fields = {canonical("households", n) for n in names if n}
    overrides: dict[str, str] = {}
    if "致贫返贫风险1" not in fields:
        moved = {"主要致贫原因": "致贫返贫风险1", "次要致贫原因": "致贫返贫风险2"}
        overrides = {n: moved[f] for n in names if n and (f := canonical("households", n)) in moved}
    if "识别时间" in names and "识别监测时间" not in fields:
        overrides["识别时间"] = "识别监测时间"
    return overrides


def is_flat_export(kind: str, fields: set[str]) -> bool:
    """A member-level sheet that also carries household-only columns (人均纯收入, 脱贫状态 …)."""
    household_only = set(Household.signature) - set(Member.specs())
    per_person = {"与户主关系", "人口编号"}  # a household sheet may carry the head's 姓名/证件号码 too
    return (
        kind in ("members", "households") and len(fields & household_only) >= 2 and bool(fields & per_person)
    )


def roster_category(label: str) -> str | None:
    """类别 of a roster delivered as a sheet/file named after it (死亡人员, 财政供养人员 …)."""
    codes = code_list("比对类别")
    for variant, value in sorted(codes.lookup.items(), key=lambda kv: -len(kv[0])):
        if variant in label:
            return value
    return None


# ----------------------------------------------------------------------------------- loading


@dataclass
class _Part:
    kind: str
    frame: pd.DataFrame  # canonical/unknown columns as text + _src + _row
    source: int


class Loader:
    def __init__(
        self,
        *,
        encoding: str | None = None,
        forced: Sequence[TableRequest] = (),
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.encoding = encoding
        self.forced = list(forced)
        self.progress = progress
        self.sources: list[Source] = []
        self.parts: list[_Part] = []
        self.diagnostics: list[Diagnostic] = []
        self.files: list[InputFile] = []
        self.missing: list[tuple[int, str]] = []
        self.conflicts: list[pd.DataFrame] = []
        self.title_years: dict[int, int] = {}
        self.title_dates: dict[int, pd.Timestamp] = {}
        self.seconds: dict[str, float] = {}
        self._reading = ""  # the input file being read
        # the distinct texts of columns the files gave (parquet dictionaries), by the columns' memory;
        # validation uses them instead of hashing those columns, then they are let go
        self.encodings: dict[tuple[int, ...], Encoding] = {}

    def load(self, paths: Iterable[str | Path]) -> Dataset:
        paths = [str(p) for p in paths]
        for request in self.forced:
            if request.path not in paths:
                paths.append(request.path)
        clock = time.perf_counter()
        with read_ahead(paths, self.encoding) as ahead:
            for path in paths:
                self._read(path, ahead.get(path))
        self.seconds["read"] = time.perf_counter() - clock
        clock = time.perf_counter()
        tables = self._assemble()
        self.seconds["validate"] = time.perf_counter() - clock
        flat = pd.concat(self.conflicts) if self.conflicts else None
        return Dataset(
            tables,
            self.sources,
            self.files,
            self.diagnostics,
            self.missing,
            flat,
            self.title_years,
            self.seconds,
            self.title_dates,
        )

    # -- one file ---------------------------------------------------------------------------------

    def _read(self, path: str, items: Future | None = None) -> None:
        """One input file; ``items``: its sheets and errors, when they are being read ahead."""
        self._reading = path
        if self.progress:
            self.progress(path)
        try:
            self.files.append(_fingerprint(path))
        except OSError as exc:
            self.diagnostics.append(Diagnostic("error", f"无法读取文件：{exc.strerror or exc}", path))
            return
        for item in items.result() if items is not None else read_file(path, encoding=self.encoding):
            if isinstance(item, InputError):
                # an InputWarning (a sheet read in full, e.g. an over-long cell) is not an error
                level = getattr(item, "level", "error")
                row = f"第 {item.row} 行" if item.row else ""
                where = "，".join(p for p in (row, f"{item.column} 列" if item.column else "") if p)
                message = f"{where}：{item.detail}" if where else item.detail
                self.diagnostics.append(Diagnostic(level, message, item.file or path, item.sheet or ""))
            else:
                self._sheet(item)

    def _forced_kind(self, sheet: RawSheet) -> str | None:
        for request in self.forced:
            same_file = Path(request.path).resolve() == Path(sheet.file).resolve()
            if same_file and request.sheet in (None, sheet.sheet):
                return request.kind
        return None

    def _sheet(self, sheet: RawSheet) -> None:
        before = len(self.parts)
        self._sheet_parts(sheet)
        if sheet.encodings:
            self._keep_encodings(sheet.encodings, self.parts[before:])

    def _keep_encodings(self, encodings: tuple[Encoding, ...], parts: list[_Part]) -> None:
        """The encodings of the columns that went into the tables as read (an encoding holds its
        column: one of a column dropped, replaced or copied would keep it alive until validation)."""
        given = {e.key: e for e in encodings}
        for part in parts:
            for name in part.frame.columns:
                column = part.frame[name]
                if is_arrow_text(column) and (key := buffer_key(arrow_text(column))) in given:
                    self.encodings[key] = given[key]

    def _sheet_parts(self, sheet: RawSheet) -> None:
        if sheet.grid.empty:
            self._note("warning", "工作表为空，已跳过", sheet)
            return
        layout = None
        if sheet.has_header:
            normalised = [normalise_header(str(c)) for c in sheet.grid.columns]
            names = [n for n, _ in normalised]
            written = [str(c) for c in sheet.grid.columns]
            units = {i: u for i, (_, u) in enumerate(normalised) if u}
            body = sheet.grid.set_axis(range(len(names)), axis=1)
            body = body.assign(**{ROW_COLUMN: sheet.grid.index.to_numpy() + 2})
        else:
            layout = locate_header(sheet.grid, is_known_header)
            if layout is None:
                if is_notes_sheet(sheet.sheet, sheet.grid):
                    self._note("warning", "不是数据表（填表说明、备注之类的文字），已跳过", sheet)
                else:
                    self._note("error", "找不到可识别的表头（前 12 行中没有至少两个已知列名），已跳过", sheet)
                return
            names, written, units = layout.names, layout.written, layout.units
            body = _data_rows(merged_filled(sheet.grid, sheet.merged, layout.data_start), layout)
        forced = self._forced_kind(sheet)
        if forced is None and is_summary_sheet(sheet.sheet, names):
            self._note("info", "汇总或统计表（按乡村合计的数字，不是逐户逐人的明细），未检查", sheet)
            return
        kind = forced or classify(sheet.sheet, sheet.file, names)
        if kind is not None and body.empty:
            self._note("warning", "只有表头，没有数据行", sheet)
        if kind is None:
            self._note(
                "warning",
                f"无法判断是哪一种表（表头：{'、'.join(n for n in names[:8] if n)}…），已跳过",
                sheet,
            )
            return
        first_source = len(self.sources)
        positions = {text: i for i, text in enumerate(written) if text and text not in ("",)}
        era = "monitoring" if is_monitoring_export(names) else ""
        overrides = monitoring_overrides(names) if era else {}
        flat = kind in ("members", "households") and is_flat_export(kind, _fields_of("flat", names))
        mapping = "flat" if flat else kind
        self._report_columns(sheet, mapping, names, written, body, overrides)
        for origin, rows, title in _origins(sheet, body, names):
            start = len(self.sources)
            if flat:
                frame, headers, unit_of, ignored = _map_columns(
                    "flat", rows, names, written, units, overrides
                )
                for message in ignored:
                    self._note("warning", message, origin)
                self._split_flat(origin, normalised_keys(frame), headers, unit_of, era)
            else:
                self._single(origin, kind, rows, names, written, units, era, overrides)
            if title:
                self._converted_title(title, range(start, len(self.sources)))
        for src in range(first_source, len(self.sources)):
            self.sources[src].positions = positions
            if layout is not None:
                self._title_year(sheet.grid, layout.header_rows[0], src)

    def _report_columns(
        self, sheet: RawSheet, kind: str, names: list, written: list, body: pd.DataFrame, overrides: dict
    ) -> None:
        """Once per sheet: the columns that map to no field (never dropped silently: they are listed
        with their letters) and the headers that could be two fields (which one was taken)."""
        unknown, unsure = [], []
        ambiguous = ambiguous_headers()[kind]
        first_of: dict[str, str] = {}
        for position in (c for c in body.columns if c != ROW_COLUMN):
            name = names[position] if position < len(names) else ""
            if not name or name in IGNORED_HEADERS or name in PROVENANCE or name == TITLE_PROVENANCE:
                continue
            shown = f"{column_letter(position)}“{_written(written, position, name)}”"
            field = overrides.get(name) or canonical(kind, name)
            if field in MEASURE_COLUMNS and field in first_of:
                unsure.append(f"{shown} 与 {first_of[field]} 是同一字段 {field}：两列的措施都计入")
            elif field:
                first_of.setdefault(field, shown)
            if field is None:
                unknown.append(shown)
            elif name in ambiguous:
                taken = overrides.get(name) or canonical(kind, name)
                fields = ambiguous[name]
                unsure.append(f"{shown} 可能是 {'或'.join(fields)}，按 {taken} 检查")
        if unknown:
            self._note("info", f"未识别的列（未参与检查）：{'、'.join(unknown)}", sheet)
        for text in unsure:
            self._note("info", f"列 {text}", sheet)

    def _single(
        self, sheet: RawSheet, kind: str, body: pd.DataFrame, names, written, units, era="", overrides=None
    ) -> None:
        frame, headers, unit_of, ignored = _map_columns(kind, body, names, written, units, overrides or {})
        frame = normalised_keys(frame)
        for message in ignored:
            self._note("warning", message, sheet)
        if kind == "rosters" and "类别" not in frame:
            category = roster_category(sheet.sheet or Path(sheet.file).stem)
            if category:
                frame["类别"] = category
                headers["类别"] = f"（工作表名：{sheet.sheet or Path(sheet.file).name}）"
        src = self._add_source(Source(sheet.file, sheet.sheet, kind, headers, unit_of, len(frame), era=era))
        self._add_part(kind, frame, src)

    def _note(self, level: str, message: str, sheet: RawSheet) -> None:
        self.diagnostics.append(Diagnostic(level, message, sheet.file, sheet.sheet))

    def _add_source(self, source: Source) -> int:
        source.input = self._reading
        self.sources.append(source)
        return len(self.sources) - 1

    def _add_part(self, kind: str, frame: pd.DataFrame, src: int) -> None:
        frame[SOURCE_COLUMN] = np.int32(src)
        source = self.sources[src]
        required = required_fields(kind, source)
        self.missing.extend(
            (src, f)
            for f in required
            if f not in source.headers and DERIVABLE.get(f, "\0") not in source.headers
        )
        self.parts.append(_Part(kind, frame, src))

    def _converted_title(self, title: str, sources: range) -> None:
        """The original's 导出时间 (YYYY-MM-DD) or title year (YYYY), as `convert` wrote it."""
        with suppress(ValueError):
            date = pd.Timestamp(title) if len(title) > 4 else None
            for src in sources:
                if date is not None:
                    self.title_dates[src] = date
                self.title_years[src] = date.year if date is not None else int(title)

    def _title_year(self, grid: pd.DataFrame, header_row: int, src: int) -> None:
        for row in range(header_row):
            text = " ".join(grid.iloc[row].astype(str))
            if src not in self.title_dates and (found := _TITLE_DATE.search(text)):
                with suppress(ValueError):  # an impossible date in a title is no reference date
                    self.title_dates[src] = pd.Timestamp(*(int(g) for g in found.groups()))
            if src not in self.title_years and (match := _TITLE_YEAR.search(text)):
                self.title_years[src] = int(match.group(1))
        if src not in self.title_years and src in self.title_dates:
            self.title_years[src] = self.title_dates[src].year

    # -- flat member-level export --------------------------------------------------------------

    def _split_flat(
        self, sheet: RawSheet, frame: pd.DataFrame, headers: dict, units: dict, era: str = ""
    ) -> None:
        member_specs, household_specs = Member.specs(), Household.specs()
        household_cols = [
            c
            for c in frame.columns
            if c in household_specs
            and (c in SHARED_FIELDS or c not in member_specs or member_specs[c].household_level)
        ]
        member_cols = [
            c for c in frame.columns if c != ROW_COLUMN and (c not in household_specs or c in member_specs)
        ]
        hh_headers = {c: headers[c] for c in household_cols if c in headers}
        mem_headers = dict(headers)  # every header, so findings about household columns name them as written
        hh_src = self._add_source(
            Source(
                sheet.file,
                sheet.sheet,
                "households",
                hh_headers,
                _subset(units, hh_headers),
                flat=True,
                era=era,
            )
        )
        mem_src = self._add_source(
            Source(sheet.file, sheet.sheet, "members", mem_headers, dict(units), len(frame), True, era=era)
        )
        households = frame[[*household_cols, ROW_COLUMN]]
        if "户编号" in frame:
            firsts = first_households(frame["户编号"])
            households = households.iloc[firsts]
            compared = [c for c in household_cols if not _row_note(c, headers.get(c))]
            said = _flat_households(frame, compared, mem_src)
            self.conflicts.append(said.conflicts)
            for column, (blank_rows, value_rows) in said.fills.items():
                taken = firsts.copy()  # first rows, in order: each one's place is found by bisection
                taken[np.searchsorted(firsts, blank_rows)] = value_rows
                households[column] = frame[column].iloc[taken].set_axis(households.index)
        self.sources[hh_src].rows = len(households)
        self._add_part("households", households.copy(), hh_src)
        self._add_part("members", frame[[*member_cols, ROW_COLUMN]].copy(), mem_src)

    # -- assembling tables ---------------------------------------------------------------------

    def _assemble(self) -> dict[str, Table]:
        self._measure_parts()
        inputs: list[TableInput] = []
        fields_of: dict[str, frozenset[str]] = {}
        for kind in TABLE_KINDS:
            parts = [p for p in self.parts if p.kind == kind]
            if not parts:
                continue
            raw = pd.concat([p.frame for p in parts], ignore_index=True, sort=False)
            present_in: dict[str, set[int]] = {}
            units: dict[str, dict[int, str]] = {}
            for part in parts:
                source = self.sources[part.source]
                for field in source.headers:
                    present_in.setdefault(field, set()).add(part.source)
                for field, unit in source.units.items():
                    units.setdefault(field, {})[part.source] = unit
            optional_in = {
                field: {p.source for p in parts if field not in required_fields(kind, self.sources[p.source])}
                for field, spec in MODELS[kind].specs().items()
                if spec.required
            }
            inputs.append(TableInput(kind, raw, units, present_in, optional_in, self.encodings))
            fields_of[kind] = frozenset(f for f in present_in if f in MODELS[kind].specs())
        tables = {
            given.kind: Table(given.kind, typed, given.raw, fields_of[given.kind], problems)
            for given, (typed, problems) in zip(inputs, validate_tables(inputs), strict=True)
        }
        self.encodings.clear()
        derive_fields(tables, self.sources)
        derive_totals(tables, self.sources)
        split_risks(tables, self.sources)
        return tables

    def _measure_parts(self) -> None:
        """Rows of the measures table from the measure columns of monitoring-era household rows: one
        row per value, located at the household's row and the measure's column (MONITORING.md C1)."""
        for part in [p for p in self.parts if p.kind == "households"]:
            source = self.sources[part.source]
            for column in (c for c in MEASURE_COLUMNS if c in part.frame):
                frame = measure_rows(part.frame, column)
                if frame.empty:
                    continue
                header = source.headers.get(column, column)
                src = self._add_source(
                    Source(
                        source.file,
                        source.sheet,
                        "measures",
                        {
                            "措施类型": header,
                            "内容": header,
                            **_subset(source.headers, dict.fromkeys(SHARED_FIELDS)),
                        },
                        rows=len(frame),
                        era=source.era,
                        note=f"由户表“{header}”列拆分",
                        split_from=part.source,
                    )
                )
                self.sources[src].input = source.input
                self.sources[src].positions = source.positions
                if part.source in self.title_years:
                    self.title_years[src] = self.title_years[part.source]
                frame[SOURCE_COLUMN] = np.int32(src)
                self.parts.append(_Part("measures", frame, src))


# Columns `fupin-audit convert` adds: the file, sheet and row each row was read from.
PROVENANCE = ("来源文件", "来源工作表", "来源行")
# …and the original's title-row date or year (导出时间), which a parquet copy has no title row to hold.
TITLE_PROVENANCE = "来源导出时间"


def _origins(sheet: RawSheet, body: pd.DataFrame, names: list[str]):
    """The sheet's rows per original (file, sheet), with the original row numbers, when the sheet
    carries convert's provenance columns: findings then point at the workbook an auditor holds, not
    at the parquet copy. Otherwise the sheet as it is."""
    columns = [names.index(name) if name in names else -1 for name in PROVENANCE]
    if -1 in columns:
        yield sheet, body, ""
        return
    file, sheet_name, row = (body[c].fillna("").astype(str).str.strip() for c in columns)
    numbers = pd.to_numeric(row, errors="coerce")
    if numbers.isna().any() or (file == "").any() or (numbers % 1 != 0).any():
        yield sheet, body, ""  # not what convert writes: keep the parquet locations
        return
    titled = names.index(TITLE_PROVENANCE) if TITLE_PROVENANCE in names else -1
    title = (
        body[titled].fillna("").astype(str).str.strip() if titled >= 0 else pd.Series("", index=body.index)
    )
    dropped = [*columns, *([titled] if titled >= 0 else [])]
    rows = body.drop(columns=dropped).assign(**{ROW_COLUMN: numbers.astype(np.int64).to_numpy()})
    keys = pd.DataFrame({"file": file, "sheet": sheet_name, "title": title})
    groups = keys.groupby(list(keys), sort=False).groups
    for (origin_file, origin_sheet, origin_title), labels in groups.items():
        # one origin (a converted sheet, the usual case): its rows as they are, not a copy of each
        # column — which also keeps the columns the file encoded (io/dictionary.py) recognisable
        part = rows if len(groups) == 1 else rows.loc[labels]
        yield replace(sheet, file=origin_file, sheet=origin_sheet), part, origin_title


def required_fields(kind: str, source: Source) -> list[str]:
    """The columns a sheet must have: the model's required fields, fewer for a monitoring-era export."""
    required = [f for f, spec in MODELS[kind].specs().items() if spec.required]
    if source.era == "monitoring" and kind in MONITORING_REQUIRED:
        return [f for f in required if f in MONITORING_REQUIRED[kind]]
    if source.flat and kind == "households":
        return [f for f in required if f != "家庭人口数"]  # the member rows give the size
    return required


def measure_rows(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """One measures-table row per value of a multi-valued measure cell (split on ,，、;；)."""
    # arrow's kernels over the whole column (a split and an explode per cell took 26 ms a column
    # at 100,000 households); the separators are one character class, split alike by RE2 and re
    text = pc.utf8_trim_whitespace(cell_texts(frame[column]))
    blank = pa.array(["", *EMPTY_TEXTS], type=pa.large_string())
    filled = np.flatnonzero(~arrow_mask(pc.is_in(text, value_set=blank)))
    if not len(filled):
        return pd.DataFrame()
    parts = pc.split_pattern_regex(text.take(filled), MEASURE_SEPARATORS)
    values = pc.utf8_trim_whitespace(pc.list_flatten(parts))
    wanted = np.flatnonzero(~arrow_mask(pc.is_in(values, value_set=blank)))
    owners = filled[np.asarray(pc.list_parent_indices(parts))[wanted]]
    keep = [c for c in (*SHARED_FIELDS, ROW_COLUMN) if c in frame]
    rows = frame[keep].iloc[owners].reset_index(drop=True)  # by position: no look-up of the labels
    rows["措施类型"] = column
    rows["内容"] = str_series(values.take(wanted), rows.index)
    return rows


KEY_FIELDS = ("户编号", "人口编号")
# What a county's export wraps a code in so that Excel keeps it as text: a leading apostrophe or
# backtick, ="…", a tab; or what Excel made of a number: a trailing .0. Full width is NFKC's.
_KEY_NOISE = r"^[\s'‘’`]+|\s+$|^=\"|\"$|\.0+$|[^\x00-\x7f]"


def normalised_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """户编号 and 人口编号 as one text per household and person however the cell wrapped it: the key
    that joins a flat export's rows, the tables of a county and two snapshots ('3408…, ＝"3408…",
    ３４０８… and 3408… are one household). Only codes that need it are touched (one arrow scan)."""
    for field in KEY_FIELDS:
        if field not in frame:
            continue
        column = frame[field]
        try:  # the raw cells are text: zero-copy for arrow-backed strings
            array = pa.array(column.array, type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            array = pa.array(
                column.astype(object).where(column.notna(), None).astype(str), type=pa.large_string()
            )
        # Digits only (nearly every export): nothing to strip. One ASCII test, five times cheaper
        # than the regular expression over 350,000 keys.
        if pc.all(pc.ascii_is_decimal(array)).as_py() is not False:
            continue
        if not pc.any(pc.match_substring_regex(array, _KEY_NOISE)).as_py():
            continue
        codes, uniques = pd.factorize(column)
        text = pd.Series(uniques, dtype="str").str.normalize("NFKC").str.strip()
        text = text.str.replace(r"^['‘’`]+", "", regex=True).str.replace(r'^="(.*)"$', r"\1", regex=True)
        text = text.str.strip().str.replace(r"^([0-9]+)\.0+$", r"\1", regex=True)
        values = np.where(codes >= 0, text.to_numpy(dtype=object)[codes], None)
        frame = frame.assign(**{field: pd.Series(values, index=frame.index, dtype=column.dtype)})
    return frame


def _subset(units: dict[str, str], headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in units.items() if k in headers}


def _data_rows(grid: pd.DataFrame, layout) -> pd.DataFrame:
    """Data rows with columns renamed to their position in the sheet (blank unnamed columns dropped)."""
    from fupin_audit.io.header import data_rows

    body = data_rows(grid, layout)
    positions = body.attrs.get("grid_columns") or list(range(body.shape[1] - 1))
    row = body[ROW_COLUMN]
    body = body.drop(columns=[ROW_COLUMN]).set_axis(list(positions), axis=1)
    return body.assign(**{ROW_COLUMN: row.to_numpy()})


def _map_columns(
    kind: str,
    body: pd.DataFrame,
    names: list[str],
    written: list[str],
    units: dict[int, str],
    overrides: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, dict[str, str], dict[str, str], list[str]]:
    """Rename positional columns to canonical fields; unknown headers keep their own (normalised) name.
    The last item: a warning per column left out because an earlier column already gives its field
    (身份证号码 beside 证件号码)."""
    columns: dict[int, str] = {}
    headers: dict[str, str] = {}
    unit_of: dict[str, str] = {}
    taken: set[str] = set()
    used_at: dict[str, int] = {}
    ignored: list[str] = []
    merged: dict[int, str] = {}  # position → measure field it adds its values to
    overrides = overrides or {}
    specs = MODELS["households"].specs()
    data_columns = [c for c in body.columns if c != ROW_COLUMN]
    for position in data_columns:
        name = names[position] if position < len(names) else ""
        field = (overrides.get(name) or canonical(kind, name)) if name else None
        twin = f"{AFTER_ELIMINATION}{field}"
        if field and field in used_at and twin in specs and twin not in used_at:
            field = twin  # the 风险消除后 block's own 风险是否已消除
        if field and field in used_at and field in MEASURE_COLUMNS:
            merged[position] = field  # 公益性岗位帮扶 beside 公益岗位帮扶: one column, both values count
        label = field if field and field not in taken else (name or f"列{position + 1}")
        while label in taken:
            label += "#2"
        taken.add(label)
        columns[position] = label
        if field and label == field:
            headers[field] = written[position] if position < len(written) else name
            used_at[field] = position
            if position in units:
                unit_of[field] = units[position]
        elif field and field in used_at and position not in merged:
            first = used_at[field]
            ignored.append(
                f"第 {column_letter(position)} 列“{_written(written, position, name)}”与第 {column_letter(first)} 列"
                f"“{_written(written, first, field)}”都是字段 {field}：只检查了第 {column_letter(first)} 列，"
                "这一列的内容未参与检查"
            )
    frame = body.rename(columns=columns)
    for position, field in merged.items():
        label = columns[position]
        both = frame[[field, label]].fillna("").astype(str)
        joined = both[field].str.strip() + "," + both[label].str.strip()
        frame[field] = joined.str.strip(",").replace("", None)
        frame = frame.drop(columns=[label])
    return frame, headers, unit_of, ignored


def _written(written: list[str], position: int, fallback: str) -> str:
    return written[position] if position < len(written) and written[position] else fallback


def _alike(cells: pa.Array, above: np.ndarray, begins: np.ndarray, firsts: np.ndarray) -> bool:
    """Whether each row's text is its household's first row's: rows `above` + 1 equal the row above
    them, and the rows that begin a later run of their household (`begins`) equal their `firsts`."""
    if len(above) and not arrow_mask(pc.equal(cells.slice(1), cells.slice(0, len(cells) - 1)))[above].all():
        return False
    return not len(begins) or bool(pc.all(pc.equal(cells.take(begins), cells.take(firsts))).as_py())


def cell_texts(values: pd.Series) -> pa.Array:
    """A column's cells as arrow text, "" for empty (as ``str`` for a column of other values)."""
    if is_arrow_text(values):
        return pc.fill_null(arrow_text(values), "")
    return pa.array(values.fillna("").astype(str).to_numpy(dtype=object), type=pa.large_string())


def comparable_texts(cells: pa.Array) -> tuple[np.ndarray, pd.Series]:
    """Cells (`cell_texts`) as DQ036 compares them (NFKC, stripped, 12.0 → 12): per cell the position
    of its text among the distinct texts, and those texts. Worked out once per distinct text, with
    arrow's kernels: NFKC in Python only for the texts it can change (schema.fields.clean_texts).
    (`\\p{Nd}` is Python's `\\d` for arrow's regex engine, which has no look-behind.)"""
    codes, distinct = encode_texts(str_series(cells))  # type: ignore[misc]  # arrow text: never None
    text = str_series(clean_texts(distinct))
    return codes, text.str.replace(r"(\p{Nd})\.0+$", r"\1", regex=True)


def value_forms(text: pd.Series, spec: Spec | None = None) -> np.ndarray:
    """Per distinct text of `comparable_texts`: a code of its form (equal forms, equal codes). With the
    field's `spec`, two writings of one value have one form: a phone number with or without
    separators (189-7024-9502, 18970249502), a month or a date however written (2023-11, 2023年11月,
    202311), a number (1,200 and 1200), a code and its variants (是 and Y, 一般脱贫户 and
    一般脱贫户（享受政策）)."""
    kind = spec.kind if spec is not None else None
    if kind in (Kind.CODE, Kind.YESNO) and spec is not None and spec.multi == 1 and spec.codelist:
        codes_ = code_list(spec.codelist)
        labels = text.map(lambda t: codes_.label(t) if t else None)  # distinct texts: a few dozen
        return _forms(labels, text)
    if kind is Kind.PHONE:
        form = text.str.replace(r"[\s\-‐‑–—()]+", "", regex=True)
        form = form.str.replace(r"^(?:\+|00)?86(1[3-9][0-9]{9})$", r"\1", regex=True)
        return _forms(form, text)
    if kind in (Kind.MONTH, Kind.DATE, Kind.YEAR, Kind.INT, Kind.MONEY, Kind.NUMBER) and len(text):
        parse = {Kind.MONTH: _vector_months, Kind.YEAR: _vector_years, Kind.DATE: _vector_dates}
        return _forms(parse.get(kind, _vector_numbers)(text), text)
    return _forms(text, text)  # two texts may have one form ("12.0", "12")


def _forms(values: pd.Series, text: pd.Series) -> np.ndarray:
    """Per distinct text: a code of its value (equal values, equal codes), or, where it has none
    (NA: not a date, not a number, not a code), of the text as written."""
    known = values.notna().to_numpy()
    same = np.empty(len(text), dtype=np.int64)
    same[known] = pd.factorize(values[known])[0]
    same[~known] = pd.factorize(text[~known])[0] + known.sum()
    return same


# A free-text column headed only 备注/说明: in a flat export it is a note on each person's row (住院治疗,
# 外出务工…), not a household value, though a household table reads it as 其他备注. 其他备注 headed as such
# (the monitoring export's remark on the 其他 risk) stays a household value.
_ROW_NOTES = ("备注", "说明")


def _row_note(field: str, written: str | None) -> bool:
    return field == "其他备注" and written is not None and normalise_header(written)[0] in _ROW_NOTES


def first_households(hid: pd.Series) -> np.ndarray:
    """The positions of the rows a flat export's household table keeps: each 户编号's first row, of the
    rows whose 户编号 is not empty once stripped — `frame[key != ""].drop_duplicates("户编号")`, as one
    hash of the kept values instead of a filtered copy of every member's row hashed again."""
    kept = np.flatnonzero((hid.fillna("").str.strip() != "").to_numpy(dtype=bool))
    codes, _ = pd.factorize(hid.iloc[kept])
    first = np.empty(int(codes.max(initial=-1)) + 1, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]  # assigned last to first: the first row wins
    return kept[first]  # codes are in first-seen order: the rows stay in order


@dataclass
class FlatHouseholds:
    """What the member rows of a flat export say about their households, column by column (DQ036)."""

    conflicts: pd.DataFrame  # rows whose household value differs from the household's (see below)
    # per column: (rows, value rows) — a household's first row left blank takes the text of the
    # household's first row that has one (the 户主's row, when only it carries the household columns)
    fills: dict[str, tuple[np.ndarray, np.ndarray]]


def _flat_households(frame: pd.DataFrame, columns: list[str], src: int) -> FlatHouseholds:
    """Per household-level column of a flat export: its member rows whose value differs from the
    household's value (DQ036), the household's value being that of its first row with one. A blank
    cell (empty, or an empty marker such as “-”) is not a value: an export may carry the household
    columns on the 户主's row only, or leave them out on some members' rows.

    The households are found once for every column (a groupby per column re-hashed the 户编号 each
    time: 2 s for a 100,000-household export), and a cell is compared with its household's value
    row by the integer code of its comparable text."""
    key = frame["户编号"].fillna("").str.strip()
    kept = np.flatnonzero((key != "").to_numpy(dtype=bool))
    households, _ = pd.factorize(key.iloc[kept])
    count = int(households.max(initial=-1)) + 1
    # each household's first kept row (assigned last to first, so the first wins; not np.unique's sort)
    first_of = np.zeros(count, dtype=np.int64)
    first_of[households[::-1]] = np.arange(len(households))[::-1]
    first = kept[first_of[households]]  # per kept row: the position of its household's first row
    rows = frame[ROW_COLUMN].to_numpy()
    specs = MODELS["households"].specs()
    found: list[pd.DataFrame] = []
    fills: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    everyone = len(kept) == len(frame)
    # An export lists a household's members one after another, as a rule: a row whose row above is
    # of its household is compared with that row (a slice of the column, no copy), and a row that
    # begins a run of its household without being its first row with the first row.
    follows = np.zeros(len(kept), dtype=bool)
    follows[1:] = (np.diff(kept) == 1) & (households[1:] == households[:-1])
    after = kept[follows] - 1  # the row above each following row, in the comparison of row i with i - 1
    begins = np.flatnonzero(~follows)
    begins = begins[kept[begins] != first[begins]]
    for column in columns:
        if column in SHARED_FIELDS:
            continue
        cells = cell_texts(frame[column])
        if _alike(cells, after, kept[begins], first[begins]):
            continue  # every row's text is its first row's: nothing to judge, nothing to fill
        mine = cells if everyone else cells.take(kept)
        # Only the rows whose text is not their first row's can differ from the household's value,
        # or hold it when the first row is blank (a text equal to a blank one is blank).
        other = np.flatnonzero(~arrow_mask(pc.equal(mine, cells.take(first))))
        blank_first = _blank(cells.take(kept[first_of]))  # per household
        filled = other[~_blank(mine.take(other))]
        # per household: its first row with a value (-1: none); per row judged: that row
        value_row = np.where(blank_first, -1, kept[first_of])
        late = filled[blank_first[households[filled]]]  # the filled rows of households with a blank first row
        value_row[households[late][::-1]] = kept[late][::-1]
        filled_late = np.flatnonzero(blank_first & (value_row >= 0))
        if len(filled_late):
            fills[column] = (kept[first_of[filled_late]], value_row[filled_late])
        reference = value_row[households[filled]]
        elsewhere = reference != kept[filled]  # the household's value row itself is not judged
        judged, reference = filled[elsewhere], reference[elsewhere]
        # Equal texts are one value: only the rows whose text is not their household's are judged,
        # on those texts alone (a household value is written alike on every member's row, as a rule).
        same = arrow_mask(pc.equal(mine.take(judged), cells.take(reference)))
        unequal, reference = judged[~same], reference[~same]
        if not len(unequal):
            continue
        codes, text = comparable_texts(pa.concat_arrays([mine.take(unequal), cells.take(reference)]))
        forms = value_forms(text)[codes]
        differs = forms[: len(unequal)] != forms[len(unequal) :]
        if differs.any() and column in specs:
            # Texts that differ may still be one value (189-7024-9502, 18970249502): parsing is only paid
            # for a column whose texts differ, and can only merge their forms, never split them.
            forms = value_forms(text, specs[column])[codes]
            differs = forms[: len(unequal)] != forms[len(unequal) :]
        if differs.any():
            at, origin = kept[unequal[differs]], reference[differs]
            first_codes = codes[len(unequal) :][differs]
            found.append(
                pd.DataFrame(
                    {
                        "source": src,
                        "row": rows[at],
                        "field": column,
                        "first_value": text.iloc[first_codes].to_numpy(),
                        "first_row": rows[origin],
                        "value": frame[column].iloc[at].to_numpy(),
                    }
                )
            )
    columns_out = ["source", "row", "field", "first_value", "first_row", "value"]
    conflicts = pd.concat(found, ignore_index=True) if found else pd.DataFrame(columns=columns_out)
    return FlatHouseholds(conflicts, fills)


def _blank(cells: pa.Array) -> np.ndarray:
    """Per cell: empty once stripped, or an empty marker (“-”, “/”, NULL …)."""
    return arrow_mask(pc.is_in(pc.utf8_trim_whitespace(cells), value_set=EMPTY_SET))


@contextmanager
def read_ahead(paths: Sequence[str], encoding: str | None) -> Iterator[dict[str, Future]]:
    """Legacy workbooks (.xls, WPS .et: OLE files) are parsed in helper processes (``io.isolate``),
    so while this thread waits for one, others can be parsed too: each is read on a thread of its
    own, up to ``available_workers()`` at once, and the caller takes them in its own order. Other
    files are read when their turn comes (their readers hold the GIL, or use every core already)."""
    legacy = [p for p in paths if _is_ole(p)]
    with started(lambda p: list(read_file(p, encoding=encoding)), legacy) as ahead:
        yield ahead


def _is_ole(path: str) -> bool:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a pipe or device would block the open
            return False
        with open(path, "rb") as fh:
            return fh.read(8) == XLS_MAGIC
    except OSError:
        return False  # reported when its turn comes


def _fingerprint(path: str) -> InputFile:
    if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
        # a FIFO would block for ever and /dev/zero never ends: never read them
        raise OSError(errno.EINVAL, "不是普通文件（设备、管道或套接字），不读取")
    digest = take_early_sha256(path) or file_sha256(path)
    return InputFile(path, Path(path).stat().st_size, digest)


def load(
    paths: Iterable[str | Path],
    *,
    encoding: str | None = None,
    forced: Sequence[TableRequest] = (),
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    return Loader(encoding=encoding, forced=forced, progress=progress).load(paths)
