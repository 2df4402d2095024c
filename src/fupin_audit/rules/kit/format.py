"""How rule messages write numbers, money, years, dates and lists (one style for every family)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from fupin_audit.engine.context import related_json
from fupin_audit.facts.cells import day_texts, texts_per_value

# At most this many records go into one finding's `related` list (then {"omitted": n}).
RELATED_MAX = 50


# Records listed by name inside one message.
SHOWN_MAX = 10


def money(value: float) -> str:
    """3120 → "3120.00" (always two decimals, no thousands separator)."""
    return f"{value:.2f}"


def yuan(value: float) -> str:
    """A parameter amount: 3335 → "3335", 3501.75 → "3501.75"."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def percent(share: float) -> str:
    """0.02 → "2%", 0.025 → "2.5%"."""
    return f"{round(share * 100, 4):g}%"


def fmt(values: pd.Series, func: Any) -> pd.Series:
    """Texts of a column for messages: `func` per distinct value, "?" for missing (Arrow text)."""
    return texts_per_value(values, func.format if isinstance(func, str) else func, "?")


def money_texts(values: pd.Series) -> pd.Series:
    return fmt(values, money)


def count_texts(values: pd.Series) -> pd.Series:
    """Counts (possibly float after a map) as “12”."""
    return fmt(values, lambda v: str(int(v)))


def year_texts(years: pd.Series) -> pd.Series:
    return fmt(years.astype("Int64"), str)


def date_texts(dates: pd.Series) -> pd.Series:
    return day_texts(dates, "?")


def capped(listed: list[dict[str, Any]], total: int) -> str:
    """JSON of at most RELATED_MAX records, plus {"omitted": n} when more were involved."""
    shown = listed[:RELATED_MAX]
    if total > len(shown):
        shown = [*shown, {"omitted": total - len(shown)}]
    return related_json(shown)


def name_list(values: Iterable[str], limit: int = SHOWN_MAX) -> str:
    """“H1、H2、H3” (at most `limit`, then “等 n 个”)."""
    values = list(values)
    shown = "、".join(values[:limit])
    return shown + (f" 等 {len(values)} 个" if len(values) > limit else "")


def month_text(yyyymm: pd.Series) -> pd.Series:
    """A YYYYMM month as written in messages (202303)."""
    return fmt(yyyymm.astype("Int64"), lambda v: str(int(v)))
