"""A loaded audit input: typed tables that remember where every row came from."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# Bookkeeping columns carried by every table frame.
SOURCE_COLUMN = "_src"  # index into Dataset.sources
ROW_COLUMN = "_row"  # 1-based spreadsheet row as a person sees it
META_COLUMNS = (SOURCE_COLUMN, ROW_COLUMN)


@dataclass
class Source:
    """One sheet (or CSV/parquet file) that fed a table."""

    file: str
    sheet: str
    kind: str
    headers: dict[str, str]  # canonical field → header as written in the file
    units: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    flat: bool = False  # a member-level export that also fed the households table
    note: str = ""  # e.g. the roster 类别 taken from the sheet name
    positions: dict[str, int] = field(default_factory=dict)  # header as written → 0-based column in the sheet
    input: str = ""  # the input file read, when `file` names the original it was converted from
    era: str = ""  # "monitoring" for a 防返贫监测 export (户类型/监测对象类别 columns), else ""
    derived: dict[str, str] = field(default_factory=dict)  # field → how it was derived (e.g. from 户类型)
    split_from: int = -1  # measures split from a household source's measure columns: that source's index


@dataclass
class Table:
    kind: str
    data: pd.DataFrame  # typed canonical fields (+ unknown columns as text) + _src, _row
    raw: pd.DataFrame  # the same cells as read, text
    fields: frozenset[str]  # canonical fields present in at least one source
    problems: pd.DataFrame  # validation problems: index (row label), field, code, message

    def has(self, *names: str) -> bool:
        return all(name in self.fields for name in names)

    def __len__(self) -> int:
        return len(self.data)


@dataclass
class Diagnostic:
    """Something about the input the user must know that is not a finding (goes to stderr)."""

    level: str  # "error" (a sheet/file could not be used) or "warning" / "info"
    message: str
    file: str = ""
    sheet: str = ""


@dataclass
class InputFile:
    path: str
    size: int
    sha256: str


@dataclass
class Dataset:
    tables: dict[str, Table]
    sources: list[Source]
    files: list[InputFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    missing_columns: list[tuple[int, str]] = field(default_factory=list)  # (source index, field): DQ001
    flat_conflicts: pd.DataFrame | None = None  # DQ036: rows of a flat export that disagree
    title_years: dict[int, int] = field(default_factory=dict)  # source → year read from a title row
    seconds: dict[str, float] = field(default_factory=dict)  # time spent reading and validating
    # source → the export date of a "导出时间：YYYY-MM-DD" title row (the reference date, MONITORING.md C6)
    title_dates: dict[int, object] = field(default_factory=dict)

    def rows_read(self) -> dict[str, int]:
        return {kind: len(table) for kind, table in self.tables.items()}
