"""What a rule sees: the typed tables, the policy, the data year, and a way to report findings."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN, Dataset, Table
from fupin_audit.engine.rule import SkipRule
from fupin_audit.policy import Policy

Rows = pd.Series | pd.Index | Sequence[Any] | np.ndarray


class AuditContext:
    def __init__(self, dataset: Dataset, policy: Policy, year: int | None = None) -> None:
        self.dataset = dataset
        self.policy = policy
        self.year = year
        self._cache: dict[str, Any] = {}
        self._files = np.array([s.file for s in dataset.sources], dtype=object)
        self._sheets = np.array([s.sheet for s in dataset.sources], dtype=object)

    # -- tables ---------------------------------------------------------------------------------

    def has(self, kind: str, *fields: str) -> bool:
        table = self.dataset.tables.get(kind)
        return table is not None and table.has(*fields)

    def table(self, kind: str, *fields: str) -> Table:
        """The table, or SkipRule naming what is missing."""
        table = self.dataset.tables.get(kind)
        if table is None:
            raise SkipRule(f"缺少 {kind} 表")
        missing = [f for f in fields if f not in table.fields]
        if missing:
            raise SkipRule(f"{kind} 表缺少列 {'、'.join(missing)}")
        return table

    def frame(self, kind: str, *fields: str) -> pd.DataFrame:
        return self.table(kind, *fields).data

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Share an expensive computation (ID analysis, group counts) between rules of one run."""
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # -- time -----------------------------------------------------------------------------------

    def data_year(self, kind: str) -> pd.Series:
        """Per row: the 年度 column, else --year, else a year read from the sheet's title row."""
        data = self.frame(kind)
        year = data["年度"] if "年度" in data else pd.Series(pd.NA, index=data.index, dtype="Int64")
        if self.year is not None:
            year = year.fillna(self.year)
        if self.dataset.title_years and year.isna().any():
            from_title = data[SOURCE_COLUMN].map(self.dataset.title_years).astype("Int64")
            year = year.fillna(from_title)
        if year.isna().any() and (common := self.run_year()) is not None:
            year = year.fillna(common)  # e.g. a village sheet without 年度 beside a household export with one
        return year.astype("Int64")

    def run_year(self) -> int | None:
        """The data year of the whole run: --year, else the most common 年度 of any table or title row."""
        if self.year is not None:
            return self.year

        def compute() -> int | None:
            years = [t.data["年度"].dropna() for t in self.dataset.tables.values() if "年度" in t.data]
            years.append(pd.Series(list(self.dataset.title_years.values()), dtype="Int64"))
            values = pd.concat(years) if years else pd.Series(dtype="Int64")
            return int(values.mode().iloc[0]) if len(values) else None

        return self.cached("run_year", compute)

    def reference_date(self, kind: str) -> pd.Series:
        """31 December of the data year: ages and 'future' dates are judged there, never at today."""
        year = self.data_year(kind)
        text = year.astype("string") + "-12-31"
        return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")

    def ages(self, kind: str, birth: pd.Series) -> pd.Series:
        """Whole years of age at the reference date (NA when the birth date or year is unknown)."""
        ref = self.reference_date(kind)
        years = ref.dt.year - birth.dt.year
        before_birthday = (ref.dt.month < birth.dt.month) | (
            (ref.dt.month == birth.dt.month) & (ref.dt.day < birth.dt.day)
        )
        return (years - before_birthday.astype("Int64")).astype("Int64")

    # -- findings -------------------------------------------------------------------------------

    def flag(
        self,
        kind: str,
        rows: Rows,
        message: str | pd.Series,
        *,
        column: str | None = None,
        value: pd.Series | str | None = None,
        related: pd.Series | None = None,
    ) -> pd.DataFrame:
        """Findings for the given rows of a table (a boolean mask or row labels).

        `message` may be one text or a Series aligned on the rows; `column` is the canonical field
        the finding is about (its header as written and its raw value are looked up per source).
        """
        table = self.table(kind)
        labels = _labels(rows, table.data.index)
        data = table.data.loc[labels]
        src = data[SOURCE_COLUMN].to_numpy()
        out = pd.DataFrame(index=labels)
        out["message"] = message if isinstance(message, str) else message.reindex(labels)
        out["table"] = kind
        out["file"] = self._files[src] if len(src) else []
        out["sheet"] = self._sheets[src] if len(src) else []
        out["row"] = data[ROW_COLUMN].to_numpy()
        if column is not None:
            headers = np.array([s.headers.get(column, column) for s in self.dataset.sources], dtype=object)
            out["column"] = headers[src] if len(src) else []
            if value is None and column in table.raw:
                value = table.raw[column]
        if value is not None:
            out["value"] = value if isinstance(value, str) else value.reindex(labels)
        for target, field in _IDENTITY_FIELDS[kind]:
            if field in data:
                out[target] = data[field]
        if related is not None:
            out["related"] = related.reindex(labels)
        return out

    def flag_table(self, kind: str, source: int, message: str, column: str | None = None) -> pd.DataFrame:
        """A finding about a whole sheet (e.g. a missing column): no row."""
        src = self.dataset.sources[source]
        return pd.DataFrame(
            [
                {
                    "message": message,
                    "table": kind,
                    "file": src.file,
                    "sheet": src.sheet,
                    "column": column or "",
                }
            ]
        )


def _labels(rows: Rows, index: pd.Index) -> pd.Index:
    if isinstance(rows, np.ndarray) and rows.dtype == bool:
        return index[rows]
    if isinstance(rows, pd.Series) and rows.dtype == bool:
        return rows.index[rows.to_numpy()]
    if isinstance(rows, pd.Series) and str(rows.dtype) == "boolean":
        return rows.index[rows.fillna(False).to_numpy(dtype=bool)]
    return pd.Index(rows)


# Which fields of each table identify the record in the findings' identity columns.
_IDENTITY_FIELDS: dict[str, list[tuple[str, str]]] = {
    "households": [
        ("household_id", "户编号"),
        ("id_number", "户主证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "members": [
        ("household_id", "户编号"),
        ("person_id", "人口编号"),
        ("id_number", "证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "villages": [("township", "乡"), ("village", "村")],
    "measures": [
        ("household_id", "户编号"),
        ("id_number", "领取人证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "helpers": [
        ("household_id", "户编号"),
        ("id_number", "帮扶责任人证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "rosters": [("id_number", "证件号码")],
}


def related_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, ensure_ascii=False, separators=(",", ":"))
