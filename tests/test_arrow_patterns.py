"""Work the rules and the loader hand to arrow's kernels instead of a Python call per value: the same
result as the pandas or Python code it replaced."""

from __future__ import annotations

import re

import pyarrow as pa
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fupin_audit.rules.dq_monitoring import DISABILITY_NUMBER, DISABILITY_NUMBER_ASCII
from fupin_audit.rules.monitoring import CARD_NUMBER, CARD_NUMBER_ASCII
from fupin_audit.schema.fields import fullmatches

# ASCII, full-width, Arabic-Indic and Devanagari digits; Kawi and Nag Mundari digits (Unicode 15: RE2's
# \p{Nd} has them, Python 3.11's \d does not); X/x and a few others
CHARS = st.sampled_from(list("0123456789０１２３٣४Xx a-\n\U00011f50\U0001e4f1"))
NUMBERS = st.one_of(
    st.text(CHARS, min_size=18, max_size=21),
    st.from_regex(r"[0-9]{17}[0-9X][0-9]{2}", fullmatch=True),
    st.from_regex(r"[0-9٣\U00011f50]{17}[0-9Xx][0-9४]{2}", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(NUMBERS, max_size=6))
@example(["3408261983010111114" + "1", "٣" * 20, "34082619830101111X41\n", "\U00011f50" * 19 + "1"])
def test_card_numbers_match_as_python_matches_them(numbers: list[str]) -> None:
    """DQ064/DQ065's card_numbers and MN105's 残疾人证号 test: Python's re.fullmatch, value by value."""
    array = pa.array(numbers, pa.large_string())
    for pattern, ascii_pattern in (
        (DISABILITY_NUMBER, DISABILITY_NUMBER_ASCII),
        (CARD_NUMBER, CARD_NUMBER_ASCII),
    ):
        expected = [pattern.fullmatch(t) is not None for t in numbers]
        assert fullmatches(array, pattern, ascii_pattern).tolist() == expected, (pattern, numbers)


def test_dq060_empty_cells_of_every_typed_column_kind() -> None:
    """DQ060's empty cell: missing, or a whitespace-only text — judged by arrow for text columns, by
    the categories for code lists, per distinct value for anything else; a number never is one."""
    from types import SimpleNamespace

    import numpy as np
    import pandas as pd

    from fupin_audit.rules.dq_monitoring import _empty

    data = pd.DataFrame(
        {
            "arrow": pd.Series(["a", " ", None, "\u3000", "b"], dtype="str"),
            "python": pd.Series(["a", " ", None, "\u3000", "b"], dtype="string[python]"),
            "objects": pd.Series(["a", " ", None, 3, "b"], dtype=object),
            "codes": pd.Categorical(["a", " ", None, "a", "b"]),
            "numbers": [1.0, 0.0, None, 2.0, 3.0],
            "arrow_dtype": pd.Series(["a", " ", None, "\u3000", "b"], dtype=pd.ArrowDtype(pa.large_string())),
        }
    )
    table = SimpleNamespace(data=data, raw=data.astype(object).where(data.notna(), None))
    ctx = SimpleNamespace(frame=lambda kind: data, table=lambda kind, *columns: table)
    expected = {
        "arrow": [False, True, True, True, False],
        "python": [False, True, True, True, False],
        "objects": [False, True, True, False, False],
        "codes": [False, True, True, False, False],
        "numbers": [False, False, True, False, False],
        "arrow_dtype": [False, True, True, True, False],
    }
    for column, empty in expected.items():
        assert np.asarray(_empty(ctx, "households", column)).tolist() == empty, column


MEASURE_CELLS = st.one_of(
    st.none(),
    st.lists(st.sampled_from([*"ab产业,，、;； -/\u3000", "NULL", "无"]), max_size=8).map("".join),
    st.sampled_from(["", "-", "/", "NULL", "产业帮扶,就业帮扶", "、小额信贷；", " 种植 , 养殖 "]),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(MEASURE_CELLS, min_size=1, max_size=12))
def test_measure_cells_split_as_pandas_and_re_split_them(cells) -> None:
    """A monitoring export's measure column becomes one measures row per value (load.measure_rows):
    split by arrow on the separators as pandas' str.split with Python's re split them."""
    import pandas as pd

    from fupin_audit.dataset import ROW_COLUMN
    from fupin_audit.load import EMPTY_TEXTS, MEASURE_SEPARATORS, measure_rows

    frame = pd.DataFrame({"户编号": [f"H{i}" for i in range(len(cells))], "产业帮扶": cells}, dtype="str")
    frame[ROW_COLUMN] = range(2, len(cells) + 2)
    text = frame["产业帮扶"].fillna("").astype(str).str.strip()
    filled = ~text.isin(["", *EMPTY_TEXTS])
    values = text[filled].map(lambda t: re.split(MEASURE_SEPARATORS, t)).explode().str.strip()
    values = values[~values.isin(["", *EMPTY_TEXTS])]
    rows = measure_rows(frame, "产业帮扶")
    expected = [(f"H{i}", v) for i, v in zip(values.index, values, strict=True)]
    got = list(zip(rows["户编号"], rows["内容"], strict=True)) if len(rows) else []
    assert got == expected
    assert len(rows) == 0 or set(rows["措施类型"]) == {"产业帮扶"}


KEYS = st.sampled_from(["3408260010010001", "3408260010010002", "A", "", " ", None])


@settings(max_examples=200, deadline=None)
@given(st.lists(KEYS, max_size=12), st.lists(KEYS, max_size=20))
def test_household_sizes_from_member_rows_as_pandas_counts_them(households, members) -> None:
    """家庭人口数 derived for a person-level export (schema.derive): ``map(value_counts())`` by arrow."""
    import pandas as pd

    from fupin_audit.schema.derive import _member_rows, _text_of

    for dtypes in (("str", "str"), (object, "str"), ("str", "category"), (object, object)):
        own, rows = pd.Series(households, dtype=dtypes[0]), pd.Series(members, dtype=dtypes[1])
        got = _member_rows(own, rows)
        expected = own.map(rows.value_counts()).astype("Int64")
        assert got.equals(expected), (dtypes, got.tolist(), expected.tolist())
        assert _text_of(got).equals(expected.astype("string"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=-1e11, max_value=1e11),
            st.integers(-(10**12), 10**12).map(float),
            st.integers(-(10**8), 10**8).map(lambda n: n / 100),
            st.sampled_from([0.0, -0.0, 1e-4, 9.999e-5, 1e10, 9999999999.999998, 0.1 + 0.2]),
        ),
        max_size=20,
    )
)
def test_derived_incomes_are_written_as_pandas_writes_them(numbers) -> None:
    """纯收入 derived for a person-level export is written into the raw table as text: arrow's cast
    where it writes Python's repr, Python elsewhere — ``astype("string")``, value by value."""
    import pandas as pd

    from fupin_audit.schema.derive import _text_of

    values = pd.Series(numbers, dtype="float64")
    got, expected = _text_of(values), values.astype("string")
    assert got.equals(expected), list(zip(numbers, got.tolist(), expected.tolist(), strict=True))


# Texts as counties write them: ASCII amounts and markers, CJK, and the whitespace Python's str.strip()
# strips (ASCII \x0b and \x1c, NBSP, the ideographic space) next to characters NFKC changes (full-width).
CELL_CHARS = st.sampled_from(
    [*"0123456789.-/ \t\x0b\x1c", "\xa0", "\u3000", "ＮＵＬＬ", "－", "无", "户", "NULL"]
)
CELLS = st.lists(st.one_of(st.none(), st.lists(CELL_CHARS, max_size=5).map("".join)), max_size=12)
ASCII_CELLS = st.lists(
    st.one_of(
        st.none(), st.lists(st.sampled_from([*"019.-/ \t\x0b\x1c", "NULL", "n/a"]), max_size=5).map("".join)
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(CELLS, ASCII_CELLS))
@example(["  ", None, "-", " 12.5", "\x1c/\x1c"])  # all ASCII: stripping alone decides
@example(["－", "ＮＵＬＬ", "\u3000/", None])  # NFKC makes these markers
@example(
    ["340826197001011113", "12345678", "1234.50", " NULL", "n/a", None, "-", "12345\x1c"]
)  # mostly settled
def test_empty_cells_judge_each_cell_as_python_does(cells: list[str | None]) -> None:
    """facts.cells.empty_cells (an all-ASCII column is judged by stripping alone; others by their
    distinct texts, NFKC where it changes something) against the per-value Python test it replaced."""
    import pandas as pd

    from fupin_audit.facts.cells import _empty_value, empty_cells

    column = pd.Series(cells, dtype="str")
    assert empty_cells(column).tolist() == [_empty_value(c) for c in cells]


@settings(max_examples=200, deadline=None)
@given(CELLS, CELLS, CELLS)
def test_text_of_typed_and_raw_columns_is_what_pandas_strips(names, phones, ids) -> None:
    """facts.values.text against the pandas code it replaced (`fillna("").str.strip()`), on the raw
    columns and on the typed ones, whose names and phone numbers validation made clean: those are
    marked (nothing left to strip); an ID's normalising keeps whitespace \\s misses (\\x0b), so IDs are
    not marked and are stripped as before."""
    import pandas as pd

    from fupin_audit.facts.values import text
    from fupin_audit.schema.fields import known_clean
    from fupin_audit.schema.validate import validate_table

    size = min(len(names), len(phones), len(ids))
    raw = pd.DataFrame(
        {"姓名": names[:size], "成员联系电话": phones[:size], "证件号码": ids[:size]}, dtype="str"
    )
    typed, _problems = validate_table("members", raw)
    for column in raw.columns:
        for values in (raw[column], typed[column]):
            assert text(values).tolist() == values.fillna("").str.strip().tolist(), column
    assert known_clean(typed["姓名"].array.__arrow_array__())
    assert known_clean(typed["成员联系电话"].array.__arrow_array__())
    assert not known_clean(typed["证件号码"].array.__arrow_array__())
    if known_clean(
        raw["姓名"].array.__arrow_array__()
    ):  # only a column already clean as read is taken as it is
        assert not raw["姓名"].hasnans and (raw["姓名"] == raw["姓名"].str.strip()).all()


LABELS = st.sampled_from(["", " 小学", "小学", "初中 ", "非在校生", "学龄前儿童", "\u3000"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.none(), LABELS), max_size=10),
    st.lists(LABELS, max_size=3),
    st.lists(LABELS, min_size=1, max_size=6, unique=True),
)
def test_text_in_judges_code_columns_on_their_categories(cells, wanted, categories) -> None:
    """facts.values.text_in (a code column judged on its categories, its NA as "") against the
    `text(column).isin(values)` it replaced, for code columns and text columns alike."""
    import pandas as pd

    from fupin_audit.facts.values import text, text_in

    coded = pd.Series(
        pd.Categorical(cells, categories=sorted({*categories, *(c for c in cells if c is not None)}))
    )
    for column in (coded, pd.Series(cells, dtype="str"), pd.Series(cells, dtype=object)):
        assert text_in(column, tuple(wanted)).tolist() == text(column).isin(wanted).tolist()
