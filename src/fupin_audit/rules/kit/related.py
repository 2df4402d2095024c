"""The `related` column of a finding: the other records that make it a finding, with their locations."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN
from fupin_audit.engine.context import AuditContext
from fupin_audit.facts.cells import factorize
from fupin_audit.facts.values import HID, ID, STATUS
from fupin_audit.rules.kit.format import RELATED_MAX, capped

# Per table: (record key, canonical field) written into `related` records.
RECORD_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "households": (
        ("household_id", HID), ("name", "户主姓名"), ("id_number", "户主证件号码"), ("county", "县"),
        ("township", "乡"), ("village", "村"), ("status", STATUS),
    ),
    "members": (
        ("household_id", HID), ("person_id", "人口编号"), ("id_number", ID), ("name", "姓名"),
        ("county", "县"), ("township", "乡"), ("village", "村"),
    ),
    "villages": (("county", "县"), ("township", "乡"), ("village", "村"), ("village_code", "村代码")),
    "measures": (
        ("household_id", HID), ("id_number", "领取人证件号码"), ("measure_type", "措施类型"),
        ("amount", "金额"), ("date", "日期"), ("unit", "帮扶单位"), ("village", "村"),
    ),
    "helpers": (
        ("household_id", HID), ("helper", "帮扶责任人姓名"), ("id_number", "帮扶责任人证件号码"),
        ("unit", "帮扶单位"),
    ),
    "rosters": (
        ("category", "类别"), ("id_number", ID), ("name", "姓名"), ("date", "日期"), ("detail", "详情"),
    ),
}  # fmt: skip


def records(ctx: AuditContext, kind: str, labels: Iterable[Hashable]) -> dict[Hashable, dict[str, Any]]:
    """A small JSON-able record per row (file, sheet, 1-based row and who/what it is)."""
    labels = pd.Index(labels)
    if labels.empty:
        return {}
    data = ctx.frame(kind)
    fields = [(k, f) for k, f in RECORD_FIELDS[kind] if f in data]
    columns = [SOURCE_COLUMN, ROW_COLUMN, *(f for _, f in fields)]
    at = data.index.get_indexer(labels) if data.index.is_unique else None
    if at is None or (at < 0).any():  # `.loc` decides (a repeated or missing label)
        part = data.loc[labels, columns]
        rows = part.itertuples(index=False, name=None)
    else:  # the rows by position, a column at a time: no frame of them
        rows = zip(*(_python_values(data[c].array.take(at)) for c in columns), strict=True)
    sources = ctx.dataset.sources
    out: dict[Hashable, dict[str, Any]] = {}
    for label, values in zip(labels, rows, strict=True):
        src, row, *rest = values
        source = sources[int(src)]
        record: dict[str, Any] = {"table": kind, "file": source.file, "sheet": source.sheet, "row": int(row)}
        for (key, _), value in zip(fields, rest, strict=True):
            if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
                continue
            if isinstance(value, pd.Timestamp):
                record[key] = value.strftime("%Y-%m-%d")
            elif isinstance(value, float):
                record[key] = round(value, 2)
            else:
                record[key] = str(value)
        out[label] = record
    return out


def _python_values(values: pd.api.extensions.ExtensionArray) -> Iterable[Any]:
    """The values of a column as iterating it gives them; a text column's as one list made by arrow
    (a missing text None instead of NaN: a record leaves both out), not a scalar conversion per cell."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        return pa.array(values).to_pylist()
    return values


def related_groups(
    ctx: AuditContext, kind: str, flagged: pd.Index, groups: pd.Series, *, include_self: bool = False
) -> pd.Series:
    """For each flagged row, JSON of the rows of `kind` sharing its group (groups: label → key over
    all candidate rows), without the row itself unless `include_self`. Capped at RELATED_MAX."""
    groups = groups.dropna()
    codes, _ = factorize(groups)  # the groups as integers: no text compared or hashed per row twice
    at = groups.index.get_indexer(flagged)
    mine = np.where(at >= 0, codes[np.maximum(at, 0)], -1)
    wanted = np.isin(codes, mine[mine >= 0])
    by_code = labels_by_code(codes[wanted], groups.index[wanted])
    heads = {code: labels[: RELATED_MAX + 1] for code, labels in by_code.items()}
    recs = records(ctx, kind, pd.Index([label for head in heads.values() for label in head]))
    out = {}
    for label, code in zip(flagged, mine.tolist(), strict=True):
        if code < 0:
            out[label] = "[]"
            continue
        listed = [recs[x] for x in heads[code] if include_self or x != label]
        out[label] = capped(listed, len(by_code[code]) - (0 if include_self else 1))
    return pd.Series(out, dtype=object).reindex(flagged)


def labels_by_code(codes: np.ndarray, labels: pd.Index) -> dict[int, list[Hashable]]:
    """Per distinct code: its labels in row order (a stable sort, not a groupby aggregating lists)."""
    order = np.argsort(codes, kind="stable")
    ordered = np.asarray(codes)[order]
    cuts = [0, *(np.flatnonzero(np.diff(ordered)) + 1).tolist(), len(ordered)]
    listed = labels[order].tolist()
    return {int(ordered[s]): listed[s:e] for s, e in pairwise(cuts) if e > s}


def related_in(ctx: AuditContext, kind: str, codes: np.ndarray, wanted: pd.Series) -> pd.Series:
    """For each flagged row (`wanted`: label → code), JSON of the rows of `kind` whose `codes` equal
    that code (capped at RELATED_MAX)."""
    rows = np.flatnonzero(np.isin(codes, wanted.to_numpy()))
    labels = ctx.frame(kind).index[rows]
    by_code = labels_by_code(codes[rows], labels)
    recs = records(ctx, kind, pd.Index([x for group in by_code.values() for x in group[:RELATED_MAX]]))
    out = {
        label: capped([recs[x] for x in by_code[code][:RELATED_MAX]], len(by_code[code]))
        for label, code in wanted.items()
    }
    return pd.Series(out, dtype=object).reindex(wanted.index)
