"""Data years, exit years and the audit year: which year a row speaks of, and when a household left poverty."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import SkipRule
from fupin_audit.facts.values import STATUS, exited
from fupin_audit.schema.fields import calendar_dates


def by_year(years: pd.Series, values: dict[int, Any], missing: Any) -> pd.Series:
    """Per row: `values[year]` (`missing` for an unknown year or one not in `values`); one mask per
    distinct year, never a per-row lookup."""
    numbers = years.astype("Int64").to_numpy(dtype="float64", na_value=np.nan)
    dtype = np.float64 if isinstance(missing, float) else object
    out = np.full(len(numbers), missing, dtype=dtype)
    for year in np.sort(pd.unique(numbers[~np.isnan(numbers)])):
        if int(year) in values:
            out[numbers == year] = values[int(year)]
    return pd.Series(out, index=years.index)


def data_years(ctx: AuditContext, kind: str) -> pd.Series:
    """Per row: the data year (年度, else --year, else a title row); SkipRule when none is known."""
    years = ctx.data_year(kind)
    if len(years) and years.isna().all():
        raise SkipRule(f"{kind} 表没有年度列，也没有指定 --year，无法确定数据年度")
    return years


def year_start(years: pd.Series) -> pd.Series:
    """1 January of each row's year (NaT when unknown)."""
    return _date_in(years, 1, 1)


def year_end(years: pd.Series) -> pd.Series:
    """31 December of each row's year (NaT when unknown)."""
    return _date_in(years, 12, 31)


def _date_in(years: pd.Series, month: int, day: int) -> pd.Series:
    """The given day of each row's year, worked out once per distinct year (a table has one or two)."""
    year = years.astype("Int64").to_numpy(dtype="float64", na_value=np.nan)
    codes, distinct = pd.factorize(year)  # NaN → -1
    each = np.append(distinct, np.nan)
    dates = calendar_dates(each, np.full(len(each), float(month)), np.full(len(each), float(day)))
    return pd.Series(dates[np.where(codes < 0, len(distinct), codes)], index=years.index)


LAST_EXIT_YEAR = 2020  # the last year of 脱贫攻坚 exits (全面脱贫)


def exit_split(ctx: AuditContext) -> pd.DataFrame:
    """Per household row, who exited when — the one split LG401/LG403, LG402/LG404 and the indicators
    share: `this_year` (exited, 脱贫年度 = the data year or empty: the exit the data year's facts can
    judge), `earlier` (exited, 脱贫年度 before the data year: income and guarantees now say whether
    the exit held, not whether it was right), the data `year` and the `exit_year` (NA when empty).

    In data of 2021 or later (monitoring exports: 户类型 = 脱贫户, no 脱贫年度) an exit without a year is
    `earlier`: the last exits were in 2020.
    An exit whose 脱贫年度 is after the data year is neither (SY304 reports it). Only 脱贫年度 counts:
    计划脱贫年度 is a plan, its own field, and never read here."""

    def compute() -> pd.DataFrame:
        households = ctx.frame("households", STATUS)
        years = data_years(ctx, "households")
        out_year = (
            households["脱贫年度"].astype("Int64")
            if "脱贫年度" in households
            else pd.Series(pd.NA, index=households.index, dtype="Int64")
        )
        gone = exited(households)
        # Exits ended in 2020: in data of 2021 or later a 脱贫户 without 脱贫年度 exited earlier.
        unknown = out_year.isna()
        monitoring_year = (years >= LAST_EXIT_YEAR + 1).fillna(False).astype(bool)
        this_year = gone & ((unknown & ~monitoring_year) | (out_year == years).fillna(False)).astype(bool)
        earlier = gone & ((out_year < years).fillna(False) | (unknown & monitoring_year)).astype(bool)
        return pd.DataFrame(
            {"this_year": this_year, "earlier": earlier, "year": years, "exit_year": out_year},
            index=households.index,
        )

    return ctx.cached("households.exit_split", compute)
