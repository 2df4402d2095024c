"""The data years of a run, from per-(table, year) row counts — one definition for every engine.

A row's year is its 年度, else the year of its sheet's title row ("2023年…监测对象信息"); a year
outside YEAR_RANGE is a mistake in the data and counts as unknown. The one-machine engine counts the
rows of its dataset; the Dask engine adds up the counts of every file before any partition runs, so
each partition sees the whole dataset's years.

- the run year: the most common year of any row (the earliest on a tie);
- the audit year: the most common year of the households (else members, else villages), rows without a
  year counting as the run year — the year the 两该两不该 rules judge exits and rosters in.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pandas as pd

from fupin_audit.dataset import SOURCE_COLUMN, Dataset, Diagnostic
from fupin_audit.policy import YEAR_RANGE

YearCounts = Counter  # (table kind, year or None) → rows
AUDIT_TABLES = ("households", "members", "villages")


@dataclass(frozen=True)
class WholePair:
    """What a context holding one bucket of two snapshots (--previous on a Dask cluster) answers for
    the whole pair, decided once by the engine: a bucket neither re-decides nor re-reports them."""

    checks: tuple[Diagnostic, ...] = ()  # what is wrong with the pair (rules.dongtai.compare_snapshots)
    previous_reference: pd.Timestamp | None = None  # the previous snapshot's reference date
    death_source: bool = False  # either snapshot has a death record (roster, 死亡日期, 是否死亡)
    # The people whose ID number changed (DT109's pairs) are matched by another task, over the
    # people of either snapshot only: the bucket's findings about them are dropped afterwards.
    renumbered_elsewhere: bool = False


@dataclass(frozen=True)
class WholeDataset:
    """What a context that sees part of the data (a Dask partition or shuffle bucket) answers for the
    whole dataset: its years, which fields have a value anywhere, and (comparing two snapshots) the
    whole pair's answers."""

    run_year: int | None = None
    audit_year: int | None = None
    filled: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    pair: WholePair | None = None


def row_years(data: pd.DataFrame, title_years: dict[int, int]) -> pd.Series:
    """Per row: 年度, else its sheet's title-row year; NA when neither (or out of range)."""
    years = data["年度"] if "年度" in data else pd.Series(pd.NA, index=data.index, dtype="Int64")
    if title_years and years.isna().any():
        years = years.fillna(data[SOURCE_COLUMN].map(title_years).astype("Int64"))
    years = years.astype("Int64")
    return years.where(years.between(*YEAR_RANGE))


def year_counts(dataset: Dataset) -> YearCounts:
    counts: YearCounts = Counter()
    for kind, table in dataset.tables.items():
        counts.update(counts_of(kind, row_years(table.data, dataset.title_years)))
    return counts


def counts_of(kind: str, years: pd.Series) -> YearCounts:
    counts: YearCounts = Counter({(kind, int(k)): int(v) for k, v in years.dropna().value_counts().items()})
    if unknown := int(years.isna().sum()):
        counts[(kind, None)] += unknown
    return counts


def common_year(counts: Counter) -> int | None:
    """The most common year, the earliest on a tie (as pandas' Series.mode().iloc[0])."""
    if not counts:
        return None
    top = max(counts.values())
    return min(year for year, n in counts.items() if n == top)


def run_years(counts: YearCounts) -> tuple[int | None, int | None]:
    """(run year, audit year) of a dataset from its row counts."""
    run_year = common_year(Counter({y: n for (_, y), n in counts.items() if y is not None}))
    for kind in AUDIT_TABLES:
        rows = Counter({y: n for (k, y), n in counts.items() if k == kind})
        if not rows:
            continue
        unknown = rows.pop(None, 0)
        if unknown and run_year is not None:
            rows[run_year] += unknown
        if rows:
            return run_year, common_year(rows)
    return run_year, None
