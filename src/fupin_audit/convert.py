"""County workbooks, CSVs and parquet files → a hive-partitioned parquet tree (input of partitioned engines).

    result = convert(["宿松县.xlsx", "怀宁县.csv"], Path("tree"))

Layout (`by` = 县 by default):

    tree/县=宿松县/households.parquet      one file per table kind (households, members, villages,
    tree/县=宿松县/members.parquet         measures, helpers) and partition
    tree/县=__空__/…                       rows whose partition value is empty (EMPTY_PARTITION)
    tree/rosters.parquet                   reference lists, shared by every partition (root)

Rows are assigned with `engine.partition.partition_rows` (members, measures and helpers follow their
household's partition). Every file holds the cells *as read* (text, the loader's `raw` frame) under
canonical headers, so reading the tree back gives the same validation results, plus three provenance
columns: 来源文件 (file name), 来源工作表 (sheet; empty for CSV/parquet) and 来源行 (spreadsheet row), kept
by the loader as unknown columns. Every column is a string column.

So that a re-read finds the same problems, a file never mixes rows of inputs that differ in what the
loader remembers per input:

- the required columns the input lacked (a missing required column is DQ001, an empty cell is not)
  and the units written in its headers (人均纯收入（万元）): rows of inputs that differ in these go to
  households_2.parquet, households_3.parquet …; a unit is kept in the header, e.g. 纯收入（万元）;
- flat member-level exports (one row per person with the household columns repeated) are written back
  as a flat file, members_flat.parquet, with the household columns of each row as read — so the
  household table, DQ036 conflicts and DQ037 orphans come out as they did from the original.

Rosters go to one file at the root, rosters.parquet (rosters_2.parquet … only for inputs that lack
different required columns or use different units).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN, Dataset, Diagnostic
from fupin_audit.errors import ConfigError
from fupin_audit.facts.values import HID, text
from fupin_audit.load import TITLE_PROVENANCE, TableRequest, load

PROVENANCE = ("来源文件", "来源工作表", "来源行")
TABLE_ORDER = ("households", "members", "villages", "measures", "helpers")
SHARED = ("rosters",)

__all__ = ["EMPTY_PARTITION", "PROVENANCE", "ConvertResult", "convert"]


# ------------------------------------------------------------------------------ the parquet tree

EMPTY_PARTITION = "__空__"  # directory value for rows whose partition column is empty
ROSTERS_FILE = "rosters.parquet"  # reference lists: one file at the root, shared by every partition
_UNSAFE = set('/\\=%:*?"<>|#')


def partition_value(value: str) -> str:
    """A partition value as a directory name: empty → `EMPTY_PARTITION`; characters a path or hive
    cannot hold (/ \\ = % : * ? " < > | # and control characters) percent-encoded as UTF-8 (%2F …), which
    pyarrow's and Dask's hive partitioning decode."""
    value = str(value).strip()
    if not value:
        return EMPTY_PARTITION
    out = []
    for ch in value:
        if ch in _UNSAFE or ord(ch) < 32 or ch == "\x7f":
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    text = "".join(out)
    return "%2E" + text[1:] if text.startswith(".") else text  # never a hidden or "." / ".." directory


def partition_dir(root: Path, by: str, value: str) -> Path:
    return Path(root) / f"{by}={partition_value(value)}"


def string_table(df: pd.DataFrame):
    """A pyarrow table of `df` with every column a string column (missing cells stay null)."""
    import pyarrow as pa

    schema = pa.schema([(str(c), pa.string()) for c in df.columns])
    arrays = []
    for c in df.columns:
        try:
            arrays.append(pa.array(df[c], type=pa.string(), from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a non-text cell: its text
            arrays.append(pa.array([None if pd.isna(v) else str(v) for v in df[c]], type=pa.string()))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet_file(df: pd.DataFrame, path: Path) -> Path:
    """One parquet file, every column a string column, written atomically (temp file, then rename)."""
    import pyarrow.parquet as pq

    from fupin_audit.report.atomic import atomic_open

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        pq.write_table(string_table(df), fh)
    return path


@dataclass
class ConvertResult:
    root: Path
    dataset: Dataset
    paths: list[Path] = field(default_factory=list)
    partitions: dict[str, int] = field(default_factory=dict)  # partition value → rows written
    rows: dict[str, int] = field(default_factory=dict)  # table kind → rows written

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.dataset.diagnostics

    @property
    def converted(self) -> bool:
        return bool(self.paths)


def existing_parquet(root: Path) -> list[Path]:
    """Parquet files already under `root` (convert refuses to mix with them unless told to overwrite)."""
    root = Path(root)
    return sorted(root.rglob("*.parquet")) if root.is_dir() else []


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def _group_key(dataset: Dataset, src: int) -> tuple:
    """What the loader remembers per input that a merged file would lose: flat or not, the required
    columns it lacked (DQ001; in a merged file they would be present with empty cells) and the units
    written in its headers."""
    from fupin_audit.schema.models import MODELS

    source = dataset.sources[src]
    specs = MODELS[source.kind].specs()
    missing = tuple(sorted(f for f, spec in specs.items() if spec.required and f not in source.headers))
    return (source.flat, missing, tuple(sorted(source.units.items())))


def _header(field_name: str, units: dict[str, str]) -> str:
    unit = units.get(field_name)
    return f"{field_name}（{unit}）" if unit else field_name


def _provenance(dataset: Dataset, frame: pd.DataFrame) -> pd.DataFrame:
    src = frame[SOURCE_COLUMN].to_numpy()
    files = np.array([Path(s.file).name for s in dataset.sources], dtype=object)
    sheets = np.array([s.sheet or "" for s in dataset.sources], dtype=object)
    rows = frame[ROW_COLUMN]
    # the title row's 导出时间 (else its year): the reference date of the original export
    titles = np.array(
        [
            dataset.title_dates[i].strftime("%Y-%m-%d") if i in dataset.title_dates
            else str(dataset.title_years.get(i, ""))
            for i in range(len(dataset.sources))
        ],
        dtype=object,
    )  # fmt: skip
    return pd.DataFrame(
        {
            PROVENANCE[0]: files[src] if len(src) else [],
            PROVENANCE[1]: sheets[src] if len(src) else [],
            PROVENANCE[2]: rows.astype("Int64").astype(str).replace("<NA>", "").to_numpy(dtype=object),
            TITLE_PROVENANCE: titles[src] if len(src) else [],
        },
        index=frame.index,
    )


def _body(dataset: Dataset, raw: pd.DataFrame, src: int) -> pd.DataFrame:
    """Raw cells of the rows of one input: its own columns (canonical, units back in the header)."""
    source = dataset.sources[src]
    # canonical fields the input had + unknown columns some row of this input has a value in
    data_cols = [c for c in raw.columns if c not in (SOURCE_COLUMN, ROW_COLUMN) and c not in PROVENANCE]
    keep = [
        c
        for c in data_cols
        if (c in source.headers and c not in source.derived)
        or (c not in _known(dataset, raw) and raw[c].notna().any())
    ]
    body = raw[keep].rename(columns={c: _header(c, source.units) for c in keep if c in source.headers})
    return pd.concat([body, _provenance(dataset, raw)], axis=1)


def _known(dataset: Dataset, raw: pd.DataFrame) -> set[str]:
    return {f for s in dataset.sources for f in s.headers}


def _flat_rows(dataset: Dataset, src: int, members: pd.DataFrame) -> pd.DataFrame:
    """Rebuild the rows of a flat export: member cells + the household cells of the row as read.

    The households table kept only the first row per 户编号; a later row's household cells are the
    first row's except where the export disagreed (DQ036 conflicts hold the value as written).
    """
    hh_src = src - 1  # the loader adds the household part of a flat sheet just before its member part
    hh_table = dataset.tables.get("households")
    out = members.copy()
    if hh_table is None or not dataset.sources[hh_src].flat:
        return out
    hh = hh_table.raw[hh_table.raw[SOURCE_COLUMN] == hh_src]
    hh_cols = [c for c in dataset.sources[hh_src].headers if c in hh and c not in out]
    if "户编号" in hh and "户编号" in out and hh_cols:
        first = hh.drop_duplicates("户编号").set_index("户编号")[hh_cols]
        key = out["户编号"].fillna("").astype(str).str.strip()
        filled = first.reindex(key.to_numpy())
        filled.index = out.index
        for c in hh_cols:
            out[c] = filled[c].to_numpy(dtype=object)
        # rows with an empty 户编号 had their own household cells: they are lost from the households
        # table (it skips them), so they stay empty here as in a split export
    conflicts = dataset.flat_conflicts
    if conflicts is not None and len(conflicts):
        mine = conflicts[conflicts["source"] == src]
        if len(mine):
            by_row = pd.Series(out.index, index=out[ROW_COLUMN].to_numpy())
            for row, column, value in mine[["row", "field", "value"]].itertuples(index=False):
                if column in out and row in by_row.index:
                    out.loc[by_row[row], column] = value
    return out


def convert(
    paths: Sequence[str | Path],
    root: Path,
    *,
    by: str = "县",
    overwrite: bool = False,
    encoding: str | None = None,
    forced: Sequence[TableRequest] = (),
) -> ConvertResult:
    """Load `paths` like `check` does and write them as a hive tree under `root` (see the module doc).

    Raises ConfigError if `root` already holds parquet files (unless overwrite) or is one of the
    inputs. Diagnostics of the load are in `result.diagnostics`; nothing is written if no table could
    be read (`result.converted` is False).
    """
    root = Path(root)
    inputs = [Path(p) for p in paths]
    for path in inputs:
        if path.exists() and root.exists() and _same_file(path, root):
            raise ConfigError(f"输出文件夹 {root} 是输入之一")
    if root.exists() and not root.is_dir():
        raise ConfigError(f"输出位置 {root} 不是文件夹")
    old = existing_parquet(root)
    if old and not overwrite:
        raise ConfigError(f"输出文件夹 {root} 中已有 {len(old)} 个 parquet 文件；加 --overwrite 覆盖")
    dataset = load(inputs, encoding=encoding, forced=forced)
    result = ConvertResult(root, dataset)
    if not dataset.tables:
        return result
    writes = _plan(dataset, by, root)
    targets = {p.resolve() for p, _ in writes}
    for path in inputs:
        if path.exists() and path.resolve() in targets:
            raise ConfigError(f"不会覆盖输入文件 {path}")
    if overwrite:
        for path in old:
            if path.resolve() not in targets and not any(_same_file(path, i) for i in inputs if i.exists()):
                path.unlink()
    for path, frame in writes:
        result.paths.append(write_parquet_file(frame, path))
    for kind, table in dataset.tables.items():
        result.rows[kind] = len(table.raw)
    rows = _partition_values(dataset, by)
    for values in rows.values():
        for value, count in zip(*np.unique(values.astype(str), return_counts=True), strict=True):
            name = value or EMPTY_PARTITION
            result.partitions[name] = result.partitions.get(name, 0) + int(count)
    return result


def _partition_values(dataset: Dataset, by: str) -> dict[str, np.ndarray]:
    return {k: v for k, v in partition_rows(dataset, by).items() if k not in SHARED}


# How rows are assigned to a partition (the `by` column, 县 by default):
# - households and villages: their own `by` value ("" when empty);
# - members, measures and helpers: the partition of the first household row with their 户编号, else
#   their own `by` value if the table has the column, else that of their (乡, 村) in the household or
#   village table (a village-level project), else "" (orphans are then still orphans);
# - rosters are reference lists, shared by every partition (SHARED).
# A household's rows thus stay together, which is what lets the Dask engine run local rules per partition.
BY_HOUSEHOLD = ("members", "measures", "helpers")


def partition_rows(dataset: Dataset, by: str = "县") -> dict[str, np.ndarray]:
    """Per table (except the shared ones): the partition value of each row."""
    tables = dataset.tables
    out: dict[str, np.ndarray] = {}
    home: pd.Series | None = None  # 户编号 → partition
    places: dict[tuple[str, str], str] = {}  # (乡, 村) → partition
    for kind in ("households", "villages"):
        if kind not in tables:
            continue
        data = tables[kind].data
        own = _texts(data[by]) if by in data else np.full(len(data), "", dtype=object)
        out[kind] = own
        if kind == "households" and HID in data:
            ids = pd.Series(own, index=_texts(data[HID]))
            home = ids[~ids.index.duplicated()]
        if "乡" in data and "村" in data:
            for place, value in zip(
                zip(_texts(data["乡"]), _texts(data["村"]), strict=True), own, strict=True
            ):
                places.setdefault(place, value)
    for kind, table in tables.items():
        if kind in out or kind in SHARED:
            continue
        data = table.data
        own = _texts(data[by]) if by in data else np.full(len(data), "", dtype=object)
        if kind in BY_HOUSEHOLD:
            if home is not None and HID in data:
                theirs = home.reindex(_texts(data[HID])).to_numpy(dtype=object)
                own = np.where(pd.isna(theirs), own, theirs)
            if "乡" in data and "村" in data and places:
                # no household, no own value: the partition of the place (a village-level project)
                unplaced = np.flatnonzero(own == "")
                towns, villages = _texts(data["乡"])[unplaced], _texts(data["村"])[unplaced]
                own = own.copy()
                own[unplaced] = [places.get(p, "") for p in zip(towns, villages, strict=True)]
        out[kind] = own
    return out


def _texts(series: pd.Series) -> np.ndarray:
    return text(series).to_numpy(dtype=object)


def _plan(dataset: Dataset, by: str, root: Path) -> list[tuple[Path, pd.DataFrame]]:
    """(path, frame) of every file to write."""
    root_parts = _partition_values(dataset, by)
    plan: list[tuple[Path, pd.DataFrame]] = []
    flat_hh = {i for i, s in enumerate(dataset.sources) if s.flat and s.kind == "households"}
    files: dict[Path, list[pd.DataFrame]] = {}
    group_names: dict[tuple, str] = {}

    def file_for(folder: Path, kind: str, key: tuple) -> Path:
        name = "members_flat" if key[0] else group_names.setdefault((kind, key), kind)
        return folder / f"{name}.parquet"

    # number the column-set groups of each kind: households, households_2, …
    for kind in (*TABLE_ORDER, *SHARED, *[k for k in dataset.tables if k not in TABLE_ORDER + SHARED]):
        if kind not in dataset.tables:
            continue
        seen: list[tuple] = []
        for src in pd.unique(dataset.tables[kind].raw[SOURCE_COLUMN]):
            key = _group_key(dataset, int(src))
            if key[0] or key in seen:
                continue
            seen.append(key)
            group_names[(kind, key)] = kind if len(seen) == 1 else f"{kind}_{len(seen)}"

    for kind, table in dataset.tables.items():
        raw = table.raw
        if kind in SHARED:
            values = np.full(len(raw), "", dtype=object)
        else:
            values = np.asarray(root_parts[kind], dtype=object)
        for src in pd.unique(raw[SOURCE_COLUMN]):
            src = int(src)
            if src in flat_hh:
                continue  # written with its member part
            if dataset.sources[src].split_from >= 0:
                continue  # measures the loader split from household columns: those columns are written
            mask = (raw[SOURCE_COLUMN] == src).to_numpy()
            rows = raw[mask]
            key = _group_key(dataset, src)
            if key[0] and kind == "members":
                rows = _flat_rows(dataset, src, rows)
                units = {**dataset.sources[src - 1].units, **dataset.sources[src].units}
                body = _body_flat(dataset, rows, src, units)
            else:
                body = _body(dataset, rows, src)
            for value in pd.unique(values[mask]):
                part = body[values[mask] == value]
                folder = root if kind in SHARED else partition_dir(root, by, value)
                files.setdefault(file_for(folder, kind, key), []).append(part)
    for path, parts in files.items():
        plan.append((path, pd.concat(parts, ignore_index=True, sort=False) if len(parts) > 1 else parts[0]))
    return plan


def _body_flat(dataset: Dataset, rows: pd.DataFrame, src: int, units: dict[str, str]) -> pd.DataFrame:
    headers = {**dataset.sources[src - 1].headers, **dataset.sources[src].headers}
    # fields the loader derived (脱贫状态 from 户类型, 家庭人口数 counted …) are not in the file: not written
    derived = {*dataset.sources[src - 1].derived, *dataset.sources[src].derived}
    data_cols = [c for c in rows.columns if c not in (SOURCE_COLUMN, ROW_COLUMN) and c not in derived]
    keep = [c for c in data_cols if c in headers or rows[c].notna().any()]
    body = rows[keep].rename(columns={c: _header(c, units) for c in keep if c in headers})
    return pd.concat([body, _provenance(dataset, rows)], axis=1)
