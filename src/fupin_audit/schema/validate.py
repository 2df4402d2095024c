"""Validation of whole columns, driven by the model specs (DQ002–DQ005 come from here).

Each field is parsed once, over its unique values, into a typed column; cells that fail their
spec are collected as problems (never raised), one row per bad cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from fupin_audit.dataset import META_COLUMNS, SOURCE_COLUMN
from fupin_audit.schema.fields import DQ_EMPTY, PROBLEM_CODES, Kind, _parse, encode_texts
from fupin_audit.schema.models import MODELS

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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed frame + problems frame (index = row label of `raw`).

    `units`: field → {source index → unit written in that source's header} (元 vs 万元).
    `present_in`: field → the sources that have the column; other sources' rows are not reported
    as empty (their missing column is DQ001's business).
    """
    specs = MODELS[kind].specs()
    typed = raw.copy(deep=False)  # copy-on-write: the typed columns replace, never touch, the raw ones
    problems: list[pd.DataFrame] = []
    sources = raw[SOURCE_COLUMN].to_numpy() if present_in is not None and SOURCE_COLUMN in raw else None
    empty_code = PROBLEM_CODES.index(DQ_EMPTY)
    for name, spec in specs.items():
        if name not in raw:
            continue
        column = raw[name]
        is_id = spec.kind is Kind.ID_NUMBER
        encoded = encode_texts(column)  # one hash encoding of the column serves every step
        parsed = _parse(spec, name, column, values=not is_id, encoded=encoded)
        if is_id:
            typed[name] = _id_numbers(column, encoded)
        elif (scale := _scales(raw, units, name)) is not None:
            typed[name] = parsed.values * scale
        else:
            typed[name] = parsed.values
        codes = parsed.problem.cat.codes.to_numpy()  # 0 is "" (no problem)
        bad = codes != 0
        if not bad.any():
            continue
        if sources is not None and name in present_in:
            bad &= np.isin(sources, list(present_in[name])) | (codes != empty_code)
        if bad.any():
            rows = np.flatnonzero(bad)
            problems.append(
                pd.DataFrame(
                    {
                        "field": name,
                        "code": parsed.problem.iloc[rows].astype(object),
                        "message": parsed.message.iloc[rows].astype(object),
                    },
                    index=raw.index[rows],
                )
            )
    frame = pd.concat(problems) if problems else pd.DataFrame(columns=list(PROBLEM_COLUMNS))
    return typed, frame


def _scales(raw: pd.DataFrame, units: dict[str, dict[int, str]] | None, name: str) -> pd.Series | None:
    """Per-row multiplier for a money column whose header gives a unit (万元 → ×10000)."""
    by_source = (units or {}).get(name)
    if not by_source or all(UNIT_SCALE.get(u, 1.0) == 1.0 for u in by_source.values()):
        return None
    factors = {src: UNIT_SCALE.get(unit, 1.0) for src, unit in by_source.items()}
    return raw[SOURCE_COLUMN].map(factors).fillna(1.0).astype("float64")


__all__ = ["META_COLUMNS", "validate_table"]
