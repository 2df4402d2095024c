"""Find the header of a raw grid and cut the data rows out of it.

Schema-free: which names count as "recognised" is decided by a ``score`` callback supplied by the
caller (the schema layer). This module only normalises header text, finds the row (or pair of
rows, for a merged group label such as 收入情况 over its sub-columns) where the most cells are
recognised, and returns the data below it with each row's spreadsheet row number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["HeaderLayout", "data_rows", "locate_header", "normalise_header"]

# Whitespace of every kind, zero-width characters, direction marks, BOM, soft hyphen.
_SPACE = re.compile(r"[\s\u200b-\u200f\u2028-\u202f\u205f-\u2064\ufeff\u00ad\u180e]+")
_BRACKETS = str.maketrans(
    {
        "（": "(",
        "）": ")",
        "【": "(",
        "】": ")",
        "[": "(",
        "]": ")",
        "〔": "(",
        "〕": ")",
        "〖": "(",
        "〗": ")",
    }
)
UNITS = (
    "元",
    "万元",
    "亩",
    "月",
    "个月",
    "人",
    "户",
    "个",
    "平方米",
    "平米",
    "m2",
    "%",
    "公里",
    "千米",
    "km",
    "岁",
    "天",
    "元/人",
    "元/户",
    "元/年",
    "元/月",
    "元/亩",
)
_UNIT = re.compile(
    r"\((?:单位:?)?(" + "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True)) + r")\)$"
)


def normalise_header(text: str) -> tuple[str, str | None]:
    """Header text → (normalised name, unit or None).

    NFKC (full width → half width), no whitespace or zero-width characters anywhere, （）【】[] → (),
    leading ``*`` and trailing ``*``/``:`` markers dropped, and a trailing unit in brackets such as
    (元) (万元) (亩) (月) removed and returned. Brackets that are part of a name stay:
    "乡（镇）" → ("乡(镇)", None), "公益性岗位(月数)" → ("公益性岗位(月数)", None).
    """
    name = str(text)
    unit: str | None = None
    for _ in range(10):  # until nothing changes, so the result is a fixed point (idempotent)
        before = name
        name, found = _normalise_once(name)
        unit = unit or found
        if name == before:
            break
    return name, unit


def _normalise_once(text: str) -> tuple[str, str | None]:
    s = _SPACE.sub("", text)
    s = _SPACE.sub("", unicodedata.normalize("NFKC", s))
    s = s.translate(_BRACKETS)
    unit = None
    while True:
        s = s.lstrip("*").rstrip("*:")
        m = _UNIT.search(s)
        if not m:
            return s, unit
        unit = unit or m.group(1)
        s = s[: m.start()]


@dataclass
class HeaderLayout:
    """Where the header is and what it says, per grid column."""

    header_rows: list[int]  # 0-based grid rows used as header (1 or 2; none for parquet)
    data_start: int  # first data row (grid index)
    names: list[str]  # normalised header name per grid column ("" for unnamed)
    written: list[str]  # header as written per column (sub-column text, else the top text)
    units: dict[int, str] = field(default_factory=dict)  # column index → unit from the header
    row_offset: int = 1  # grid index + row_offset = row number a person sees (parquet: 2)


def locate_header(
    grid: pd.DataFrame,
    score: Callable[[str], bool],
    *,
    max_scan: int = 12,
    has_header: bool = False,
) -> HeaderLayout | None:
    """Find the header among the first ``max_scan`` rows; ``None`` if fewer than 2 names are recognised.

    ``score(normalised_name)`` says whether a name is known to the caller. Title rows score nothing
    and are skipped. A two-row header (a merged group label over sub-columns, other columns merged
    vertically) is used when combining two adjacent rows recognises strictly more columns than the
    best single row; per column the lower cell wins when it is not empty. With ``has_header`` (a
    parquet grid) the grid's column labels are the header and every grid row is data.
    """
    cache: dict[str, tuple[str, str | None]] = {}
    known: dict[str, bool] = {}

    def norm(text: str) -> tuple[str, str | None]:
        got = cache.get(text)
        if got is None:
            got = cache[text] = normalise_header(text)
        return got

    def ok(name: str) -> bool:
        if not name:
            return False
        got = known.get(name)
        if got is None:
            got = known[name] = bool(score(name))
        return got

    if has_header:
        texts = ["" if c is None else str(c) for c in grid.columns]
        normed = [norm(t) for t in texts]
        if sum(ok(n) for n, _ in normed) < 2:
            return None
        return HeaderLayout(
            header_rows=[],
            data_start=0,
            names=[n for n, _ in normed],
            written=[_written(t) for t in texts],
            units={j: u for j, (_, u) in enumerate(normed) if u},
            row_offset=2,
        )

    depth = min(max_scan, len(grid))
    if depth == 0 or grid.shape[1] == 0:
        return None
    top = [[_cell(v) for v in row] for row in grid.iloc[:depth].itertuples(index=False, name=None)]

    def count(texts: Sequence[str]) -> int:
        return sum(ok(norm(t)[0]) for t in texts)

    singles = [count(row) for row in top[:depth]]
    best_single = max(range(depth), key=lambda r: (singles[r], -r))
    best_pair, pair_count = None, -1
    for r in range(depth - 1):  # both rows of a pair lie within the scan
        # A real second header row names at least two sub-columns the row above does not: one known
        # word in a data cell under an unknown header (村 under 备注) makes no header.
        names = _grouped_names(top[r], top[r + 1], _combine(top[r], top[r + 1]), norm, ok)
        added = sum(
            1
            for up, lo, name in zip(top[r], top[r + 1], names, strict=True)
            if lo.strip() and ok(name) and not ok(norm(up)[0])
        )
        c = sum(ok(n) for n in names) if added >= 2 else -1
        if c > pair_count:
            best_pair, pair_count = r, c

    if best_pair is not None and pair_count > singles[best_single] and pair_count >= 2:
        upper, lower = top[best_pair], top[best_pair + 1]
        texts = _combine(upper, lower)
        units = _two_row_units(upper, lower, norm)
        rows = [best_pair, best_pair + 1]
        names = _grouped_names(upper, lower, texts, norm, ok)
    elif singles[best_single] >= 2:
        texts = top[best_single]
        units = {j: u for j, t in enumerate(texts) if (u := norm(t)[1])}
        rows = [best_single]
        names = [norm(t)[0] for t in texts]
    else:
        return None
    return HeaderLayout(
        header_rows=[int(grid.index[r]) for r in rows],
        data_start=int(grid.index[rows[-1]]) + 1,
        names=names,
        written=[_written(t) for t in texts],
        units=units,
    )


# A group label's own last word, which its sub-columns do not repeat: 风险消除后情况 → 风险消除后.
_GROUP_SUFFIX = re.compile(r"(?:情况|信息|指标|状况|内容)$")


def _grouped_names(
    upper: Sequence[str],
    lower: Sequence[str],
    texts: Sequence[str],
    norm: Callable[[str], tuple[str, str | None]],
    ok: Callable[[str], bool],
) -> list[str]:
    """Names of a two-row header. A sub-column that is unknown on its own but known with its group
    label in front is that field: 是否住房损毁 under a merged 风险消除后情况 is 风险消除后是否住房损毁 (the
    label is written once, in the first cell of the merge, and holds for the sub-columns after it)."""
    names = [norm(t)[0] for t in texts]
    group = ""
    for j, (up, lo) in enumerate(zip(upper, lower, strict=True)):
        has_up, has_lo = bool(up.strip()), bool(lo.strip())
        if has_up:
            group = _GROUP_SUFFIX.sub("", norm(up)[0]) if has_lo else ""
        elif not has_lo:
            group = ""
        if has_lo and group and not ok(names[j]) and ok(candidate := group + names[j]):
            names[j] = candidate
    return names


def _cell(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _written(text: str) -> str:
    return " ".join(text.split())


def _combine(upper: Sequence[str], lower: Sequence[str]) -> list[str]:
    return [lo if lo.strip() else up for up, lo in zip(upper, lower, strict=True)]


def _two_row_units(
    upper: Sequence[str], lower: Sequence[str], norm: Callable[[str], tuple[str, str | None]]
) -> dict[int, str]:
    """Units of a two-row header; a sub-column without its own unit takes its group label's."""
    units: dict[int, str] = {}
    group_unit: str | None = None
    for j, (up, lo) in enumerate(zip(upper, lower, strict=True)):
        has_up, has_lo = bool(up.strip()), bool(lo.strip())
        if has_up:
            group_unit = norm(up)[1] if has_lo else None  # a label over sub-columns starts a group
        elif not has_lo:
            group_unit = None
        unit = (norm(lo)[1] or group_unit) if has_lo else norm(up)[1]
        if unit:
            units[j] = unit
    return units


_TOTAL = re.compile(r"(?:全[省市县区乡镇村]|本[页表]|总)?(?:合计|总计|小计|共计)[:：]?")


def merged_filled(grid: pd.DataFrame, merged: Sequence[tuple[int, int, int]], first_row: int) -> pd.DataFrame:
    """``grid`` with every empty cell a merged range below the header covers holding the range's
    value: a workbook's (column, first row, last row) ranges of one column (``RawSheet.merged``), as
    a county merges a household's 户编号, 户主姓名 or income over its members' rows. Ranges that begin
    in the header (a header cell over two header rows) are the header's own; a grid not indexed by its
    rows from 0 is returned as it is."""
    ranges = np.asarray(merged, dtype=np.int64).reshape(-1, 3)
    n, width = grid.shape
    index = grid.index
    if not len(ranges) or not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        return grid
    ranges = ranges[(ranges[:, 1] >= first_row) & (ranges[:, 1] < n - 1) & (ranges[:, 0] < width)]
    if not len(ranges):
        return grid
    ranges[:, 2] = np.minimum(ranges[:, 2], n - 1)
    out = grid.copy(deep=False)  # copy-on-write: the reader's grid is left as read
    for column in np.unique(ranges[:, 0]).tolist():
        mine = ranges[ranges[:, 0] == column]
        lengths = mine[:, 2] - mine[:, 1]  # the cells each range covers below its first one
        tops = np.repeat(mine[:, 1], lengths)
        covered = tops + 1 + np.arange(len(tops)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        values = grid.iloc[:, column]
        empty = ~_contentful(values.iloc[covered])  # a value typed into a covered cell stays
        source = np.arange(n)
        source[covered[empty]] = tops[empty]
        out.isetitem(column, values.take(source).set_axis(index))
    return out


def data_rows(grid: pd.DataFrame, layout: HeaderLayout) -> pd.DataFrame:
    """The data part of ``grid`` with columns named by the header and an int column ``_row``.

    ``_row`` is the row number a person sees (grid index + ``layout.row_offset``). Fully blank rows
    (whitespace counts as blank) and total rows (合计/总计/小计 as the first non-empty cell among the
    first three columns) are dropped, and so are unnamed columns with no data. Unnamed columns with
    data become "列K" (K = 1-based column position); duplicate names become "name", "name#2", ….
    Cell values are returned exactly as read. ``result.attrs["grid_columns"]`` lists the grid
    position of each returned column (without ``_row``), since dropped columns shift positions.
    """
    body = grid.iloc[layout.data_start :] if layout.data_start else grid
    width = body.shape[1]
    names = list(layout.names[:width]) + [""] * max(0, width - len(layout.names))

    filled = np.zeros((len(body), width), dtype=bool)
    for j in range(width):
        filled[:, j] = _contentful(body.iloc[:, j])
    keep = filled.any(axis=1)
    keep &= ~_total_rows(body, filled)
    keep &= ~_repeated_header_rows(grid, layout, body, filled)
    keep &= ~_footer_rows(body, filled, keep)

    kept_cols, out_names, seen = [], [], {}
    col_has_data = filled[keep].any(axis=0) if keep.any() else np.zeros(width, dtype=bool)
    for j, name in enumerate(names):
        if not name:
            if not col_has_data[j]:
                continue
            name = f"列{j + 1}"
        n = seen.get(name, 0) + 1
        seen[name] = n
        out_names.append(name if n == 1 else f"{name}#{n}")
        kept_cols.append(j)

    positions = np.flatnonzero(keep)
    out = body.iloc[positions, kept_cols]
    out.columns = out_names
    row_numbers = np.asarray(body.index, dtype=np.int64)[positions] + layout.row_offset
    out = out.reset_index(drop=True)
    out["_row"] = row_numbers
    out.attrs["grid_columns"] = kept_cols  # grid position of each data column, in order
    return out


def _contentful(col: pd.Series) -> np.ndarray:
    """True where a cell has something other than whitespace."""
    has = col.ne("").to_numpy(dtype=bool, na_value=False)
    if not has.any():
        return has
    space = col.str.isspace().to_numpy(dtype=bool, na_value=False)
    return has & ~space


# What a county writes under its table: 制表人：张三  审核人：李四, 填报日期：…, 备注：…
_FOOTER = re.compile(
    r"(?:制表|填表|填报|审核|审批|复核|核对|统计|单位负责|分管领导|负责|经办|联系)(?:人|日期|时间|单位)?[:：].*"
    r"|(?:制表|填表|填报|审核|统计)(?:人|日期|时间)|(?:备注|说明|注|填表说明)[:：].*",
    re.DOTALL,
)


def _footer_rows(body: pd.DataFrame, filled: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Signature lines under the table (制表人：…, 审核人：…, 填报日期：…, 备注：…): kept rows at the very end
    whose first non-empty cell among the first three columns is such a line. Only trailing rows, so a
    data row in the middle of the table is never taken for one."""
    result = np.zeros(len(body), dtype=bool)
    first3 = min(3, body.shape[1])
    for pos in np.flatnonzero(keep)[::-1]:
        cells = [j for j in range(first3) if filled[pos, j]]
        if not cells:  # the first three columns are empty: not a signature line
            break
        text = _SPACE.sub("", unicodedata.normalize("NFKC", str(body.iat[pos, cells[0]])))
        if _FOOTER.fullmatch(text) is None:
            break
        result[pos] = True
    return result


def _repeated_header_rows(
    grid: pd.DataFrame, layout: HeaderLayout, body: pd.DataFrame, filled: np.ndarray
) -> np.ndarray:
    """Rows that repeat a header row (two exports concatenated into one CSV, a header printed again
    on each page): at least two of the row's cells, and at least 60% of that header row's non-empty
    cells, are the header's own text. Candidates are found on two columns (one comparison of a
    column with a constant each), so a table without such rows costs two vectorised compares."""
    result = np.zeros(len(body), dtype=bool)
    width = body.shape[1]
    if not len(body) or not layout.header_rows:
        return result
    for h in layout.header_rows:
        if h >= len(grid):
            continue
        raw = [v if isinstance(v, str) else "" for v in grid.iloc[h, :width]]
        cells = [_SPACE.sub("", v) for v in raw]
        named = [j for j, c in enumerate(cells) if c]
        if len(named) < 2:
            continue
        candidates = np.zeros(len(body), dtype=bool)
        for j in named[:2]:
            column = body.iloc[:, j]  # compared as it is stored (an arrow kernel for arrow text)
            candidates |= ((column == raw[j]) | (column == cells[j])).to_numpy(dtype=bool, na_value=False)
        for pos in np.flatnonzero(candidates & ~result):  # few rows: the candidates only
            same = sum(
                1 for j in named if filled[pos, j] and _SPACE.sub("", str(body.iat[pos, j])) == cells[j]
            )
            result[pos] = same >= 2 and same >= 0.6 * len(named)
    return result


def _total_rows(body: pd.DataFrame, filled: np.ndarray) -> np.ndarray:
    """Rows whose first non-empty cell among the first three columns says 合计/总计/小计."""
    first3 = min(3, body.shape[1])
    result = np.zeros(len(body), dtype=bool)
    if not first3:
        return result
    mentions = np.zeros(len(body), dtype=bool)
    for j in range(first3):
        mentions |= body.iloc[:, j].str.contains("计", regex=False).to_numpy(dtype=bool, na_value=False)
    for pos in np.flatnonzero(mentions):  # few rows: the candidates only
        for j in range(first3):
            if filled[pos, j]:
                text = _SPACE.sub("", unicodedata.normalize("NFKC", str(body.iat[pos, j])))
                result[pos] = _TOTAL.fullmatch(text) is not None
                break
    return result
