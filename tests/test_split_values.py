"""Multi-valued cells (“产业帮扶，就业帮扶”) split once per distinct text (facts.monitoring.split_values)
give what splitting every row gave: the values in the order written, stripped, empty ones dropped,
each under its row's label."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin_audit.facts.monitoring import VALUE_SEPARATORS, split_values


def per_row(texts: pd.Series) -> pd.Series:
    values = texts.str.split(VALUE_SEPARATORS, regex=True).explode().str.strip()
    return values[values.notna() & (values != "")]


PIECES = st.sampled_from(["产业帮扶", "就业帮扶", "护林员", " ", ",", "，", "、", ";", "；", ""])
CELLS = st.lists(PIECES, max_size=5).map("".join)


@settings(max_examples=200, deadline=None)
@given(st.lists(CELLS, max_size=40), st.integers(0, 5))
def test_same_as_splitting_every_row(cells: list[str], offset: int) -> None:
    texts = pd.Series(
        cells, dtype="str", index=pd.RangeIndex(offset, offset + 2 * len(cells), 2), name="措施"
    )
    # (no rows at all: pandas' split gives an object column, this a text one; both empty)
    pd.testing.assert_series_equal(split_values(texts), per_row(texts), check_dtype=bool(cells))


def test_example() -> None:
    texts = pd.Series(["产业帮扶，就业帮扶", "", "护林员、 护林员"], dtype="str", index=[10, 11, 12])
    assert list(split_values(texts).items()) == [
        (10, "产业帮扶"),
        (10, "就业帮扶"),
        (12, "护林员"),
        (12, "护林员"),
    ]
