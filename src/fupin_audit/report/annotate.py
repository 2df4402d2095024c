"""An annotated copy of the input: the sheets as read, flagged cells (or whole rows) coloured by severity,
with a comment listing the rule codes and messages. The input files are only read, never written."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fupin_audit.findings import SEVERITY_RANK
from fupin_audit.io.readers import RawSheet, read_file
from fupin_audit.report.atomic import atomic_open

if TYPE_CHECKING:
    from fupin_audit.dataset import Dataset

FILLS = {"error": "#FFC7CE", "warning": "#FFEB9C", "info": "#DDEBF7"}
MAX_SHEET_NAME = 31


def _sheet_name(file: str, sheet: str, taken: set[str]) -> str:
    base = (sheet or Path(file).stem)[:MAX_SHEET_NAME]
    for ch in "[]:*?/\\":
        base = base.replace(ch, "_")
    name, n = base, 2
    while name.lower() in taken:
        suffix = f"({n})"
        name, n = base[: MAX_SHEET_NAME - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def write_annotated(path: Path, dataset: Dataset, findings: pd.DataFrame, encoding: str | None = None) -> int:
    """Write the annotated workbook; returns the number of comments written."""
    import xlsxwriter

    wanted = list(dict.fromkeys((s.file, s.sheet) for s in dataset.sources))
    positions = {(s.file, s.sheet): s.positions for s in dataset.sources}
    comments = 0
    with atomic_open(path, "wb") as fh:
        book = xlsxwriter.Workbook(fh, {"strings_to_numbers": False, "strings_to_formulas": False})
        fills = {
            sev: book.add_format({"bg_color": colour, "num_format": "@"}) for sev, colour in FILLS.items()
        }
        taken: set[str] = set()
        for file in dict.fromkeys(f for f, _ in wanted):
            sheets = [s for f, s in wanted if f == file]
            for raw in read_file(file, encoding=encoding):
                if not isinstance(raw, RawSheet) or raw.sheet not in sheets:
                    continue
                mine = findings[(findings["file"] == file) & (findings["sheet"] == raw.sheet)]
                sheet = book.add_worksheet(_sheet_name(file, raw.sheet, taken))
                comments += _annotate(sheet, raw, mine, positions[(file, raw.sheet)], fills)
        book.close()
    return comments


def _annotate(sheet, raw: RawSheet, findings: pd.DataFrame, positions: dict[str, int], fills) -> int:
    grid = raw.grid
    offset = 0
    if raw.has_header:  # parquet: put the header back as row 1
        for c, name in enumerate(grid.columns):
            sheet.write_string(0, c, str(name))
        offset = 1
    values = grid.to_numpy(dtype=object)
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            if value != "":
                sheet.write_string(r + offset, c, str(value))
    notes: dict[tuple[int, int], list[str]] = defaultdict(list)  # cell → comment lines
    worst: dict[tuple[int, int], str] = {}  # cell → most severe finding touching it
    width = values.shape[1] if values.size else 1
    for f in findings.itertuples(index=False):
        if pd.isna(f.row):
            continue
        r = int(f.row) - 1
        if f.column in positions:  # a cell finding
            cells, anchor = [positions[f.column]], positions[f.column]
        else:  # a record finding: the whole row, the comment on its first cell
            cells, anchor = list(range(width)), 0
        notes[(r, anchor)].append(f"{f.rule} {f.title}：{f.message}")
        for c in cells:
            if SEVERITY_RANK[f.severity] >= SEVERITY_RANK.get(worst.get((r, c), "info"), 0):
                worst[(r, c)] = f.severity
    for (r, c), severity in worst.items():
        grid_row = r - offset
        value = values[grid_row][c] if 0 <= grid_row < len(values) and c < width else ""
        sheet.write_string(r, c, str(value), fills[severity])
    for (r, c), texts in notes.items():
        sheet.write_comment(r, c, "\n".join(dict.fromkeys(texts)), {"x_scale": 3, "y_scale": 2})
    return len(notes)
