"""The four value types of the language and their vectorised columns.

A value is a pandas Series over the table's rows: 数值 float64, 文本 object, 是/否 nullable boolean,
日期 datetime64. Empty stays empty (NaN/NA/NaT/None) so comparisons can make it *unknown*.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fupin_audit.schema.fields import Kind

NUM, STR, BOOL, DATE = "数值", "文本", "是/否", "日期"
KIND_TYPES = {
    Kind.TEXT: STR,
    Kind.ID_NUMBER: STR,
    Kind.PHONE: STR,
    Kind.CODE: STR,
    Kind.YESNO: BOOL,
    Kind.INT: NUM,
    Kind.MONEY: NUM,
    Kind.NUMBER: NUM,
    Kind.YEAR: NUM,
    Kind.MONTH: NUM,  # YYYYMM: 识别监测时间 >= 202304
    Kind.DATE: DATE,
}
Evaluator = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class Typed:
    """A compiled sub-expression: its type (NUM, STR, BOOL, DATE) and how to compute it over a frame."""

    type: str
    fn: Evaluator


def literal_type(value: object) -> str:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, float):
        return NUM
    if isinstance(value, pd.Timestamp):
        return DATE
    return STR


def constant(value: object) -> Typed:
    kind = literal_type(value)
    dtype = {NUM: "float64", STR: object, BOOL: "boolean", DATE: "datetime64[ns]"}[kind]
    return Typed(kind, lambda frame: pd.Series(value, index=frame.index, dtype=dtype))


def reader(name: str, kind: str) -> Evaluator:
    def read(frame: pd.DataFrame) -> pd.Series:
        column = frame[name]
        if kind == NUM:
            return pd.to_numeric(column, errors="coerce").astype("float64")
        if kind == DATE:
            return pd.to_datetime(column, errors="coerce")
        if kind == BOOL:
            return column.astype("boolean")
        values = column.astype(object)
        return values.where(values.notna(), None)

    return read


def boolean(values: np.ndarray, missing: np.ndarray, index: pd.Index) -> pd.Series:
    out = pd.array(values.astype(bool), dtype="boolean")
    out[missing] = pd.NA
    return pd.Series(out, index=index)


def plain(series: pd.Series, kind: str) -> pd.Series:
    """Missing values replaced by a harmless stand-in (the result is masked afterwards)."""
    if kind == BOOL:
        return series.fillna(False).astype(bool)
    if kind == STR:
        return series.where(series.notna(), "")
    return series


COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
