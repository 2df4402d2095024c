"""Validation of whole columns, driven by the model specs (DQ002–DQ005 come from here).

Each field is parsed once, over its unique values, into a typed column; cells that fail their
spec are collected as problems (never raised), one row per bad cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from fupin_audit.dataset import META_COLUMNS, SOURCE_COLUMN
from fupin_audit.schema.fields import (
    DQ_EMPTY,
    PROBLEM_CODES,
    Kind,
    ParsedColumn,
    Spec,
    _parse,
    encode_texts,
)
from fupin_audit.schema.models import MODELS
from fupin_audit.workers import thread_map

UNIT_SCALE = {"万元": 10_000.0, "元": 1.0, "千元": 1_000.0}
PROBLEM_COLUMNS = ("field", "code", "message")


def _id_numbers(raw: pd.Series, encoded: tuple[np.ndarray, pa.Array] | None = None) -> pd.Series:
    from fupin_audit.schema.idnumber import normalised_ids

    normalised = normalised_ids(raw, encoded)
    return normalised.where(normalised != "")


def validate_table(
    kind: str,
    raw: pd.DataFrame,
    units: dict[str, dict[int, str]] | None = None,
    present_in: dict[str, set[int]] | None = None,
    optional_in: dict[str, set[int]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame + problems frame (index = row label of `raw`).

    `units`: field → {source index → unit written in that source's header} (元 vs 万元).
    `present_in`: field → the sources that have the column; other sources' rows are not reported
    as empty (their missing column is DQ001's business).
    `optional_in`: required field → the sources where it is not required (a monitoring-era export's
    贫困户属性): their empty cells are not DQ002.
    """
    specs = MODELS[kind].specs()
    typed = raw.copy(deep=False)  # copy-on-write: the typed columns replace, never touch, the raw ones
    sources = raw[SOURCE_COLUMN].to_numpy() if present_in is not None and SOURCE_COLUMN in raw else None

    def one(name: str) -> tuple[str, pd.Series | np.ndarray, pd.DataFrame | None]:
        values, problems = _validate_column(specs[name], name, raw, units)
        return name, values, _reported(problems, name, sources, present_in, raw.index, optional_in)

    # Columns are independent and mostly arrow work (the GIL is released): on several threads.
    problems: list[pd.DataFrame] = []
    for name, values, found in thread_map(one, [n for n in specs if n in raw], len(raw)):
        typed[name] = values
        if found is not None:
            problems.append(found)
    frame = pd.concat(problems) if problems else pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    return typed, frame


def _validate_column(
    spec: Spec, name: str, raw: pd.DataFrame, units: dict[str, dict[int, str]] | None
) -> tuple[pd.Series | np.ndarray, ParsedColumn]:
    """The typed values of one column, and its parse (per row: problem code and message, "" for none)."""
    column = raw[name]
    is_id = spec.kind is Kind.ID_NUMBER
    encoded = encode_texts(column)  # one hash encoding of the column serves every step
    parsed = _parse(spec, name, column, values=not is_id, encoded=encoded)
    if is_id:
        values = _id_numbers(column, encoded)
    elif (scale := _scales(raw, units, name)) is not None:
        values = parsed.values * scale
    else:
        values = parsed.values
    return values, parsed


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


__all__ = ["META_COLUMNS", "validate_table"]
