"""The one result type: a findings DataFrame with the fixed columns of OUTPUT.md."""

from __future__ import annotations

import pandas as pd

# Public contract (OUTPUT.md): names and order are stable; new columns go at the end.
FINDING_COLUMNS = (
    "rule",
    "severity",
    "family",
    "title",
    "message",
    "table",
    "file",
    "sheet",
    "row",
    "column",
    "value",
    "household_id",
    "person_id",
    "id_number",
    "township",
    "village",
    "related",
)
SEVERITIES = ("error", "warning", "info")
SEVERITY_RANK = {"info": 0, "warning": 1, "error": 2}
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}


def empty_findings() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=object) for name in FINDING_COLUMNS})
    frame["row"] = frame["row"].astype("Int64")
    return frame


def conform(frame: pd.DataFrame) -> pd.DataFrame:
    """Give any partial findings frame the contract's columns, order and types."""
    out = frame.reindex(columns=list(FINDING_COLUMNS))
    for name in FINDING_COLUMNS:
        if name != "row":
            out[name] = out[name].astype(object).where(out[name].notna(), "").astype(str)
    out["row"] = pd.to_numeric(out["row"], errors="coerce").astype("Int64")
    return out.reset_index(drop=True)


def sort_findings(frame: pd.DataFrame) -> pd.DataFrame:
    """Deterministic order: by file, sheet, row, rule (table-level findings, without a row, first)."""
    keyed = frame.assign(_has_row=frame["row"].notna(), _row0=frame["row"].fillna(0))
    keyed = keyed.sort_values(
        ["file", "sheet", "_has_row", "_row0", "rule", "column", "message"], kind="stable"
    )
    return keyed.drop(columns=["_has_row", "_row0"]).reset_index(drop=True)
