"""DQ036 compares a flat export's household cells in one form (load.comparable): NFKC, stripped, and
12.0 written as 12. It is worked out per distinct text with arrow's regex; the reference is the plain
per-row pandas/Python form it replaced."""

from __future__ import annotations

import unicodedata

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin_audit.load import comparable


def reference(values: pd.Series) -> pd.Series:
    text = values.astype(object).where(values.notna(), "").astype(str)
    text = text.map(lambda t: unicodedata.normalize("NFKC", t))
    text = pd.Series(text, dtype="str").str.strip()
    return text.str.replace(r"(?<=\d)\.0+$", "", regex=True)


CELLS = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list("0123456789.٣０１２. ab元,-\n\t\u3000\x1c")), max_size=8),
    st.from_regex(r"[0-9]{1,4}\.0{1,3}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(CELLS, max_size=30))
def test_same_as_the_per_row_form(cells: list[str | None]) -> None:
    values = pd.Series(cells, dtype=object)
    forms, codes = comparable(values)
    expected = reference(values)
    assert forms.tolist() == expected.tolist()
    assert (codes[:, None] == codes[None, :]).tolist() == (
        expected.to_numpy()[:, None] == expected.to_numpy()[None, :]
    ).tolist()


def test_examples() -> None:
    values = pd.Series(["12.0", "１２.００", " 3.50 ", "a.0", "٣.0", None, "1.0.0"], dtype=object)
    forms, codes = comparable(values)
    assert forms.tolist() == ["12", "12", "3.50", "a.0", "٣", "", "1.0"]
    assert codes[0] == codes[1] != codes[2]  # 12.0 and １２.００ are one form
