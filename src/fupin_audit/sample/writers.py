"""Write a synthetic county as xlsx (like a county's export), CSV or parquet. Every cell is text.

The one exception is deliberate: an ID number planted as "lost precision in Excel" (DQ013, text like
3.40826199001011E+17) is written as a *number* cell in xlsx, exactly as Excel would have stored it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fupin_audit.convert import partition_dir, write_parquet_file

from . import columns as C

if TYPE_CHECKING:
    from . import SampleData
    from .monitoring import MonitoringSample

XLSX_MAX_ROWS = 1_048_576
ID_COLUMNS = {"证件号码", "户主证件号码", "帮扶责任人证件号码", "领取人证件号码"}
_SCI = re.compile(r"^\d\.\d+E\+\d+$")
INCOME_GROUP = "收入情况"


def _split_rosters(rosters: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deaths alternate between the 比对名单 sheet and a sheet named after the kind (死亡人员)."""
    is_death = (rosters["类别"] == "死亡").to_numpy()
    nth = is_death.cumsum()
    own_sheet = is_death & (nth % 2 == 1)
    death = rosters[own_sheet][["证件号码", "姓名", "日期"]].rename(columns={"日期": "死亡日期"})
    return rosters[~own_sheet], death.reset_index(drop=True)


def _check_rows(n_rows: int, table: str, sheet: str) -> None:
    if n_rows > XLSX_MAX_ROWS:
        raise ValueError(
            f"table {table!r} needs {n_rows} rows on sheet {sheet!r}, more than an xlsx sheet holds "
            f"({XLSX_MAX_ROWS}); write CSV or parquet instead"
        )


def _write_body(ws, df: pd.DataFrame, first_row: int, first_col: int, id_cols: set[int]) -> None:
    """Data cells as strings (empty cells skipped); sci-notation text in ID columns as numbers."""
    cols = [df[c].tolist() for c in df.columns]
    write_string = ws.write_string
    for i in range(len(df)):
        r = first_row + i
        for j, col in enumerate(cols):
            v = col[i]
            if not v or not isinstance(v, str):
                continue
            if j in id_cols and _SCI.match(v):
                ws.write_number(r, first_col + j, float(v))
            else:
                write_string(r, first_col + j, v)


def _plain_sheet(wb, name: str, df: pd.DataFrame, table: str, headers: dict[str, str] | None = None) -> None:
    _check_rows(len(df) + 1, table, name)
    ws = wb.add_worksheet(name)
    bold = wb.add_format({"bold": True})
    heads = [(headers or {}).get(c, c) for c in df.columns]
    for j, head in enumerate(heads):
        ws.write_string(0, j, head, bold)
    ws.freeze_panes(1, 0)
    _write_body(ws, df, 1, 0, {j for j, c in enumerate(df.columns) if c in ID_COLUMNS})


def _flat_sheet(wb, data: SampleData) -> None:
    """The national-export look: title row, two header rows (收入情况 over the income columns), 序号, 合计.

    constant_memory mode flushes a row as soon as a later row is written, so every cell is written in
    row order and the merged ranges are recorded separately (see `_merge`).
    """
    flat = data.flat()
    name = C.FLAT_SHEET
    _check_rows(len(flat) + 4, "households+members (flat)", name)
    ws = wb.add_worksheet(name)
    title_fmt = wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"})
    head = wb.add_format(
        {"bold": True, "align": "center", "valign": "vcenter", "border": 1, "text_wrap": True}
    )
    cols = list(flat.columns)
    ncol = len(cols) + 1  # 序号 first
    title = f"{data.county}{data.year}年建档立卡贫困户信息表"
    income = [c for c in cols if c in C.INCOME_COLS]
    g0 = cols.index(income[0]) + 1
    g1 = cols.index(income[-1]) + 1
    labels = ["序号"] + [C.FLAT_VARIANTS.get(c, c) for c in cols]
    ws.set_row(0, 28)
    ws.write_string(0, 0, title, title_fmt)
    for j in range(1, ncol):
        ws.write_blank(0, j, None, title_fmt)
    for j in range(ncol):  # header row 1: group label over the income columns, other labels
        if g0 <= j <= g1:
            if j == g0:
                ws.write_string(1, j, INCOME_GROUP, head)
            else:
                ws.write_blank(1, j, None, head)
        else:
            ws.write_string(1, j, labels[j], head)
    for j in range(ncol):  # header row 2: income sub-columns; blanks under the vertical merges
        if g0 <= j <= g1:
            ws.write_string(2, j, labels[j], head)
        else:
            ws.write_blank(2, j, None, head)
    ws.freeze_panes(3, 8)
    first = 3
    n = len(flat)
    body = flat.copy()
    body.insert(0, "序号", pd.Series([str(i + 1) for i in range(n)], dtype="str"))
    _write_body(ws, body, first, 0, {j for j, c in enumerate(body.columns) if c in ID_COLUMNS})
    # trailing 合计 row: people counted by a formula (with its cached value, as Excel saves it)
    total = first + n
    name_col = cols.index("姓名") + 1
    ws.write_string(total, 0, "合计")
    if n:
        col_letter = _col_letter(name_col)
        ws.write_formula(
            total, name_col, f"=COUNTA({col_letter}{first + 1}:{col_letter}{first + n})", None, n
        )
    _merge(ws, 0, 0, 0, ncol - 1)
    _merge(ws, 1, g0, 1, g1)
    for j in range(ncol):
        if not g0 <= j <= g1:
            _merge(ws, 1, j, 2, j)


def _merge(ws, first_row: int, first_col: int, last_row: int, last_col: int) -> None:
    """Record a merged range whose cells were already written in row order.

    XlsxWriter's merge_range() writes the cells itself, which constant_memory mode forbids once a later
    row has been written; its list of ranges (`Worksheet.merge`, written out as <mergeCells> at close)
    is the only other way in. Without it the sheet is still correct, just not merged.
    """
    ranges = getattr(ws, "merge", None)
    if isinstance(ranges, list):
        ranges.append([first_row, first_col, last_row, last_col])


def _col_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def write_xlsx(data: SampleData, path: Path, *, flat: bool = True) -> None:
    """One workbook: the registration data (flat member-level sheet, or 户信息 + 家庭成员) and the other tables.

    Raises ValueError naming the table if a sheet would exceed 1 048 576 rows.
    """
    import xlsxwriter

    t = data.tables
    rosters, deaths = _split_rosters(t["rosters"])
    sizes = {
        "households": len(t["households"]) + 1,
        "members": len(t["members"]) + 1,
        "villages": len(t["villages"]) + 1,
        "measures": len(t["measures"]) + 1,
        "helpers": len(t["helpers"]) + 1,
        "rosters": len(rosters) + 1,
    }
    for table, n in sizes.items():  # fail before writing anything
        if flat and table == "households":
            continue
        _check_rows(n + (3 if flat and table == "members" else 0), table, C.SHEETS[table])
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    try:
        if flat:
            _flat_sheet(wb, data)
            _split_only_sheets(wb, t)
        else:
            _plain_sheet(wb, C.SHEETS["households"], t["households"], "households")
            _plain_sheet(wb, C.SHEETS["members"], t["members"], "members")
        _plain_sheet(wb, C.SHEETS["villages"], t["villages"], "villages", C.XLSX_VILLAGE_VARIANTS)
        _plain_sheet(wb, C.SHEETS["measures"], t["measures"], "measures")
        _plain_sheet(wb, C.SHEETS["helpers"], t["helpers"], "helpers")
        _plain_sheet(wb, C.SHEETS["rosters"], rosters, "rosters")
        _plain_sheet(wb, C.DEATH_SHEET, deaths, "rosters")
        if C.EXTRA_MEASURES in t:
            _plain_sheet(wb, C.SHEETS[C.EXTRA_MEASURES], t[C.EXTRA_MEASURES], C.EXTRA_MEASURES)
    finally:
        wb.close()


def _split_only_sheets(wb, t: dict[str, pd.DataFrame]) -> None:
    """Rows a flat export cannot hold — a repeated household row (DQ021), a member of no household
    (DQ037) — go on two small 补录 sheets, so one flat workbook still exercises every rule."""
    households, members = t["households"], t["members"]
    repeated = households[households["户编号"].duplicated(keep="first")]
    orphans = members[~members["户编号"].isin(set(households["户编号"]))]
    if len(repeated):
        _plain_sheet(wb, "户信息补录", repeated, "households")
    if len(orphans):
        _plain_sheet(wb, "家庭成员补录", orphans, "members")


def _outputs(data: SampleData, flat: bool) -> list[tuple[str, pd.DataFrame]]:
    t = data.tables
    out: list[tuple[str, pd.DataFrame]] = []
    if flat:
        out.append((C.FLAT_SHEET, data.flat()))
    else:
        out += [(C.SHEETS["households"], t["households"]), (C.SHEETS["members"], t["members"])]
    for key in ("villages", "measures", "helpers", "rosters", C.EXTRA_MEASURES):
        if key in t:
            out.append((C.SHEETS[key], t[key]))
    return out


def write_csv(data: SampleData, folder: Path, *, encoding: str = "utf-8", flat: bool = False) -> list[Path]:
    """One CSV per table (户信息.csv, 家庭成员.csv, …; flat=True: 建档立卡人员信息.csv instead of the first two).

    GBK-family encodings get CRLF line ends, like the national system's export.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    crlf = encoding.lower().replace("-", "").replace("_", "") in {"gb18030", "gbk", "gb2312", "cp936"}
    paths = []
    for name, df in _outputs(data, flat):
        path = folder / f"{name}.csv"
        df.to_csv(path, index=False, encoding=encoding, lineterminator="\r\n" if crlf else "\n")
        paths.append(path)
    return paths


def write_parquet(data: SampleData, folder: Path, *, flat: bool = False) -> list[Path]:
    """One parquet file per table, every column a string column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in _outputs(data, flat):
        path = folder / f"{name}.parquet"
        schema = pa.schema([(c, pa.string()) for c in df.columns])
        table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
        pq.write_table(table, path)
        paths.append(path)
    return paths


# ------------------------------------------------------------------------------ hive-partitioned parquet
# The tree's layout and file writer are convert's: the sample writes the tree convert would.


def write_partitioned(
    data: SampleData, root: Path, *, by: str = "县", value: str | None = None
) -> list[Path]:
    """The tables of one county as ROOT/<by>=<value>/<table>.parquet (households.parquet, members.parquet,
    villages.parquet, measures.parquet, helpers.parquet, measures_extra.parquet if planted).

    value defaults to the county's name. Rosters are *not* written here: in a hive tree they are shared
    by every partition and belong in ROOT/rosters.parquet (see `sample.multi.write_counties`). The
    `by` column stays inside the files; every column is a string column.
    """
    folder = partition_dir(root, by, data.county if value is None else value)
    paths = []
    for key in (*C.TABLE_KEYS, C.EXTRA_MEASURES):
        if key == "rosters" or key not in data.tables:
            continue
        paths.append(write_parquet_file(data.tables[key], folder / f"{key}.parquet"))
    return paths


# ------------------------------------------------------------------------------ monitoring era (2021–)

MONITORING_TITLE_ROWS = 2  # title, "导出时间：YYYY-MM-DD"; the header is on row 3


def write_monitoring_xlsx(sample: MonitoringSample, path: Path) -> None:
    """The 防返贫监测信息系统 export: 监测对象信息 and 行政村信息, each with a title row, a "导出时间" row
    and the header on row 3, every cell text."""
    import xlsxwriter

    sheets = sample.sheets()
    for name, frame in sheets.items():
        _check_rows(len(frame) + MONITORING_TITLE_ROWS + 1, name, name)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")  # renamed into place once complete
    wb = xlsxwriter.Workbook(str(partial), {"constant_memory": True, "strings_to_numbers": False})
    try:
        bold = wb.add_format({"bold": True})
        titles = {name: f"{sample.county}{sample.year}年{name}" for name in sheets}
        titles[next(iter(sheets))] = sample.title
        for name, frame in sheets.items():
            ws = wb.add_worksheet(name)
            ws.write_string(0, 0, titles[name], bold)
            ws.write_string(1, 0, f"导出时间：{sample.export_date}")
            for j, head in enumerate(frame.columns):
                ws.write_string(2, j, head, bold)
            ws.freeze_panes(3, 0)
            _write_body(ws, frame, 3, 0, {j for j, c in enumerate(frame.columns) if c in ID_COLUMNS})
        wb.close()
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def write_monitoring_csv(sample: MonitoringSample, folder: Path, *, encoding: str = "utf-8") -> list[Path]:
    """One CSV per sheet (监测对象信息.csv, 行政村信息.csv), header on the first line."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    crlf = encoding.lower().replace("-", "").replace("_", "") in {"gb18030", "gbk", "gb2312", "cp936"}
    paths = []
    for name, df in sample.sheets().items():
        path = folder / f"{name}.csv"
        df.to_csv(path, index=False, encoding=encoding, lineterminator="\r\n" if crlf else "\n")
        paths.append(path)
    return paths


def write_monitoring_parquet(sample: MonitoringSample, folder: Path) -> list[Path]:
    """One parquet file per sheet, every column a string column."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in sample.sheets().items():
        path = folder / f"{name}.parquet"
        schema = pa.schema([(c, pa.string()) for c in df.columns])
        pq.write_table(pa.Table.from_pandas(df, schema=schema, preserve_index=False), path)
        paths.append(path)
    return paths
