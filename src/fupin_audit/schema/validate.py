"""Validation of whole columns, driven by the model specs (DQ002–DQ005 come from here).

Each field is parsed once, over its unique values, into a typed column; cells that fail their
spec are collected as problems (never raised), one row per bad cell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.dataset import META_COLUMNS, SOURCE_COLUMN
from fupin_audit.io.dictionary import Encoding
from fupin_audit.schema.fields import (
    DISTINCT_SHARE,
    DQ_EMPTY,
    MOSTLY_DISTINCT,
    PROBLEM_CODES,
    Kind,
    ParsedColumn,
    Spec,
    _parse,
    encode_texts,
    mark_clean,
)
from fupin_audit.schema.models import MODELS
from fupin_audit.workers import thread_map

# Validation is arrow work on whole columns: a second thread pays from far fewer rows than the rules
# need (validate stage, 2 cores: 30,000 households 0.59 → 0.50 s, 100,000 1.0 → 0.75 s; 10,000 even).
VALIDATION_THREADS_MIN_ROWS = 25_000
UNIT_SCALE = {"万元": 10_000.0, "元": 1.0, "千元": 1_000.0}
PROBLEM_COLUMNS = ("field", "code", "message")


def _id_numbers(raw: pd.Series, encoded: tuple[np.ndarray, pa.Array] | None = None) -> pd.Series:
    from fupin_audit.schema.idnumber import normalised_ids

    normalised = normalised_ids(raw, encoded)
    return normalised.where(normalised != "")


@dataclass
class TableInput:
    """One table to validate: its kind, its raw text frame and where its columns came from.

    `units`: field → {source index → unit written in that source's header} (元 vs 万元).
    `present_in`: field → the sources that have the column; other sources' rows are not reported
    as empty (their missing column is DQ001's business).
    `optional_in`: required field → the sources where it is not required (a monitoring-era export's
    贫困户属性): their empty cells are not DQ002.
    `encodings`: the distinct texts the files gave for some of the raw columns (io/dictionary.py).
    """

    kind: str
    raw: pd.DataFrame
    units: dict[str, dict[int, str]] | None = None
    present_in: dict[str, set[int]] | None = None
    optional_in: dict[str, set[int]] | None = None
    encodings: dict[tuple[int, ...], Encoding] | None = None


def validate_table(
    kind: str,
    raw: pd.DataFrame,
    units: dict[str, dict[int, str]] | None = None,
    present_in: dict[str, set[int]] | None = None,
    optional_in: dict[str, set[int]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame + problems frame (index = row label of `raw`); see `TableInput` for the rest."""
    return validate_tables([TableInput(kind, raw, units, present_in, optional_in)])[0]


def validate_tables(tables: list[TableInput]) -> list[tuple[pd.DataFrame, pd.DataFrame]]:
    """`validate_table` of each table. Columns are independent and mostly arrow work (the GIL is
    released): every column of every table goes to one pool of threads, the longest first, so that a
    100,000-household table is not validated on one core while the members table waits its turn."""
    columns = [[name for name in MODELS[table.kind].specs() if name in table.raw] for table in tables]
    work = [(t, name) for t, names in enumerate(columns) for name in names]
    work.sort(key=lambda item: -len(tables[item[0]].raw))  # stable: each table's columns keep their order
    sources = [
        table.raw[SOURCE_COLUMN].to_numpy()
        if table.present_in is not None and SOURCE_COLUMN in table.raw
        else None
        for table in tables
    ]

    def one(item: tuple[int, str]) -> tuple[pd.Series | np.ndarray, pd.DataFrame | None]:
        t, name = item
        table = tables[t]
        values, problems = _validate_column(
            MODELS[table.kind].specs()[name], name, table.raw, table.units, table.encodings
        )
        found = _reported(problems, name, sources[t], table.present_in, table.raw.index, table.optional_in)
        return values, found

    rows = sum(len(t.raw) for t in tables)
    results = dict(zip(work, thread_map(one, work, rows, VALIDATION_THREADS_MIN_ROWS), strict=True))
    out = []
    for t, table in enumerate(tables):
        # copy-on-write: the typed columns replace, never touch, the raw ones
        typed = table.raw.copy(deep=False)
        problems: list[pd.DataFrame] = []
        for name in columns[t]:
            values, found = results[(t, name)]
            typed[name] = values
            if found is not None:
                problems.append(found)
        frame = pd.concat(problems) if problems else pd.DataFrame(columns=list(PROBLEM_COLUMNS))
        out.append((typed, frame))
    return out


def _validate_column(
    spec: Spec,
    name: str,
    raw: pd.DataFrame,
    units: dict[str, dict[int, str]] | None,
    encodings: dict[tuple[int, ...], Encoding] | None = None,
) -> tuple[pd.Series | np.ndarray, ParsedColumn]:
    """The typed values of one column, and its parse (per row: problem code and message, "" for none)."""
    column = raw[name]
    is_id = spec.kind is Kind.ID_NUMBER
    own = _cell_units(column) if spec.kind is Kind.MONEY else None
    if own is not None:  # "3.65万元": the number is parsed, the cell's own unit applied below
        column, own_scale = own
        parsed = _parse(spec, name, column, values=True)
        scale = _scales(raw, units, name)
        header_scale = pd.Series(1.0, index=column.index) if scale is None else scale
        return parsed.values * own_scale.fillna(header_scale), parsed
    # one encoding of the column serves every step
    encoded = encode_texts(column, encodings, DISTINCT_SHARE.get(spec.kind, MOSTLY_DISTINCT))
    parsed = _parse(spec, name, column, values=not is_id, encoded=encoded)
    if is_id:
        values = _id_numbers(column, encoded)
    elif (scale := _scales(raw, units, name)) is not None:
        values = parsed.values * scale
    else:
        values = parsed.values
    if spec.kind in (Kind.TEXT, Kind.PHONE):  # clean_texts made them (IDs keep what their normalising keeps)
        mark_clean(values)
    return values, parsed


_CELL_UNIT = r"^\s*(?P<number>[+-]?[0-9０-９][0-9０-９,，.．]*)\s*(?P<unit>万元|万|千元)\s*$"


def _cell_units(column: pd.Series) -> tuple[pd.Series, pd.Series] | None:
    """A money column where some cells carry their own unit (“3.6494万元”, “1.2万”): the cells with the
    number alone, and per row the cell's unit as a multiplier (NaN where the cell has none, so the
    header's unit applies). None when no cell has one (the common case: one arrow scan)."""
    array = pa.array(column.array, type=pa.large_string(), from_pandas=True) if len(column) else None
    if array is None or pc.all(pc.string_is_ascii(array)).as_py() is not False:  # 万 and 千 are not ASCII
        return None
    if not pc.any(pc.match_substring_regex(array, "[0-9０-９]\\s*(?:万|千元)")).as_py():
        return None
    parts = column.astype("str").str.extract(_CELL_UNIT)
    has = parts["number"].notna()
    stripped = column.where(~has, parts["number"])
    factor = parts["unit"].map({"万元": 10_000.0, "万": 10_000.0, "千元": 1_000.0}).astype("float64")
    return stripped, factor


def _reported(
    parsed: ParsedColumn,
    name: str,
    sources: np.ndarray | None,
    present_in: dict[str, set[int]] | None,
    index: pd.Index,
    optional_in: dict[str, set[int]] | None = None,
) -> pd.DataFrame | None:
    """The problems of one column as rows of the problems frame (None when there are none). A row of
    a source that lacks the column is not reported as empty: the missing column is DQ001's business."""
    codes = parsed.problem.cat.codes.to_numpy()  # 0 is "" (no problem)
    bad = codes != 0
    if not bad.any():
        return None
    if sources is not None and name in present_in:
        bad &= np.isin(sources, list(present_in[name])) | (codes != PROBLEM_CODES.index(DQ_EMPTY))
    if sources is not None and optional_in and optional_in.get(name):
        bad &= ~np.isin(sources, list(optional_in[name])) | (codes != PROBLEM_CODES.index(DQ_EMPTY))
    if not bad.any():
        return None
    rows = np.flatnonzero(bad)
    return pd.DataFrame(
        {
            "field": name,
            "code": parsed.problem.iloc[rows].astype(object),
            "message": parsed.message.iloc[rows].astype(object),
        },
        index=index[rows],
    )


def _scales(raw: pd.DataFrame, units: dict[str, dict[int, str]] | None, name: str) -> pd.Series | None:
    """Per-row multiplier for a money column whose header gives a unit (万元 → ×10000)."""
    by_source = (units or {}).get(name)
    if not by_source or all(UNIT_SCALE.get(u, 1.0) == 1.0 for u in by_source.values()):
        return None
    factors = {src: UNIT_SCALE.get(unit, 1.0) for src, unit in by_source.items()}
    return raw[SOURCE_COLUMN].map(factors).fillna(1.0).astype("float64")


__all__ = ["META_COLUMNS", "TableInput", "validate_table", "validate_tables"]
