"""DQ036 compares a flat export's household cells in one form (load.comparable_texts): NFKC, stripped, and
12.0 written as 12. It is worked out per distinct text with arrow's regex; the reference is the plain
per-row pandas/Python form it replaced."""

from __future__ import annotations

import unicodedata

import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fupin_audit.load import cell_texts, comparable_texts, value_forms


def reference(values: pd.Series) -> pd.Series:
    text = values.astype(object).where(values.notna(), "").astype(str)
    text = text.map(lambda t: unicodedata.normalize("NFKC", t))
    text = pd.Series(text, dtype="str").str.strip()
    return text.str.replace(r"(?<=\d)\.0+$", "", regex=True)


def comparable(values: pd.Series) -> tuple[pd.Series, object]:
    """Per row: the comparable text, and the code of its form."""
    codes, text = comparable_texts(cell_texts(values))
    return pd.Series(text.to_numpy()[codes]), value_forms(text)[codes]


CELLS = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list("0123456789.٣０１２. ab元,-\n\t\u3000\x1c")), max_size=8),
    st.from_regex(r"[0-9]{1,4}\.0{1,3}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(CELLS, max_size=30))
def test_same_as_the_per_row_form(cells: list[str | None]) -> None:
    for values in (pd.Series(cells, dtype=object), pd.Series(cells, dtype="str")):  # both readers' columns
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


# A flat export's household columns: each row a member, its household's values repeated (mostly alike,
# sometimes written another way, sometimes really different, sometimes left blank or “-”), households
# in any order, some rows without 户编号.
PHONES = st.sampled_from(["18970249502", "189-7024-9502", "+86 189 7024 9502", "13912345678", "", None, "-"])
INCOMES = st.sampled_from(["2700", "2700.0", "２７００", "3800", " 2700 ", "", None, " / "])
STATUS = st.sampled_from(["已脱贫", "未脱贫", "已 脱贫", "返贫", "", None])
# 户 A: one phone number written two ways (no conflict), two incomes (a conflict on row 4).
ONE_VALUE_TWO_WAYS = [
    ("A", "18970249502", "2700", "已脱贫"),
    ("B", None, None, None),
    ("A", "189-7024-9502", "3800", "已脱贫"),
]
HOUSEHOLD_ROWS = st.lists(
    st.tuples(st.sampled_from(["A", "B", "C", "", None]), PHONES, INCOMES, STATUS), min_size=1, max_size=25
)


def _blank(value: object) -> bool:
    from fupin_audit.schema.fields import EMPTY_MARKERS

    return (
        value is None
        or (not isinstance(value, str) and pd.isna(value))
        or str(value).strip() in EMPTY_MARKERS
    )


def _value_rows(frame: pd.DataFrame, column: str) -> dict[str, int]:
    """Per household: the position of its first row whose cell is not blank."""
    key = frame["户编号"].fillna("").str.strip()
    out: dict[str, int] = {}
    for position, (k, cell) in enumerate(zip(key, frame[column], strict=True)):
        if k and not _blank(cell):
            out.setdefault(k, position)
    return out


def _reference_conflicts(frame: pd.DataFrame, columns: list[str]) -> list[tuple[int, str, str]]:
    """DQ036 row by row: each row's non-blank cell against its household's first non-blank cell, in
    forms of the whole column, first without the field's spec, then (if any differ) with it."""
    from fupin_audit.dataset import ROW_COLUMN
    from fupin_audit.schema.models import MODELS

    specs = MODELS["households"].specs()
    key = frame["户编号"].fillna("").str.strip()
    out = []
    for column in columns:
        value_row = _value_rows(frame, column)
        pairs = [
            (p, value_row[k])
            for p, (k, cell) in enumerate(zip(key, frame[column], strict=True))
            if k and not _blank(cell) and value_row[k] != p
        ]
        codes, text = comparable_texts(cell_texts(frame[column]))
        forms = value_forms(text)[codes]
        differs = [forms[p] != forms[f] for p, f in pairs]
        if any(differs):
            forms = value_forms(text, specs[column])[codes]
            differs = [forms[p] != forms[f] for p, f in pairs]
        for (p, f), d in zip(pairs, differs, strict=True):
            if d:
                out.append((int(frame[ROW_COLUMN].iloc[p]), column, text.iloc[codes[f]]))
    return out


@settings(max_examples=200, deadline=None)
@given(HOUSEHOLD_ROWS)
@example(ONE_VALUE_TWO_WAYS)
def test_conflicts_judged_on_unequal_texts_alone_are_the_whole_columns(rows) -> None:
    """DQ036 is the row-by-row comparison with each household's first non-blank value (a blank cell,
    empty or “-”, is not a value), and a household whose first row is blank in a column takes that
    value (`fills`)."""
    from fupin_audit.dataset import ROW_COLUMN
    from fupin_audit.load import _flat_households

    columns = ["户联系电话", "人均纯收入", "脱贫状态"]
    for dtype, index in (("str", None), (object, [i * 7 + 3 for i in range(len(rows))])):
        frame = pd.DataFrame(rows, columns=["户编号", *columns], dtype=dtype, index=index)
        frame[ROW_COLUMN] = range(2, len(frame) + 2)
        said = _flat_households(frame, columns, 0)
        found = said.conflicts
        key = frame["户编号"].fillna("").str.strip()
        for column in columns:
            value_row = _value_rows(frame, column)
            first_row = {k: p for p, k in reversed(list(enumerate(key))) if k}
            expected = sorted(
                (first_row[k], v) for k, v in value_row.items() if _blank(frame[column].iloc[first_row[k]])
            )
            blank_rows, value_rows = said.fills.get(column, ([], []))
            assert sorted(zip(list(blank_rows), list(value_rows), strict=True)) == expected
        # in the order the reference finds them (column by column, rows in order), with the cell as read
        got = list(zip(found["row"], found["field"], found["first_value"], strict=True))
        assert got == _reference_conflicts(frame, columns)
        written = {(r, f): v for r, f, v in zip(found["row"], found["field"], found["value"], strict=True)}
        for (row, field), value in written.items():
            cell = frame.loc[frame[ROW_COLUMN] == row, field].iloc[0]
            assert value == cell or (pd.isna(value) and pd.isna(cell))
    got = sorted(got)
    if rows == ONE_VALUE_TWO_WAYS:
        assert got == [(4, "人均纯收入", "2700")]
