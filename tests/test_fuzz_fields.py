"""Fuzzing the validators (schema/fields.py): any text a reader can produce must parse or be reported.

``parse_scalar`` may only raise ``FieldProblem``; ``parse_column`` must never raise, must return one
value, code and message per row, and must agree with ``parse_scalar`` on which cells are bad.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from fupin_audit.schema.fields import (
    DQ_CODE,
    DQ_DATE,
    DQ_EMPTY,
    DQ_NUMBER,
    FieldProblem,
    Kind,
    parse_column,
    parse_scalar,
)
from fupin_audit.schema.models import MODELS

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SPECS = sorted(
    {(kind, name): spec for kind, model in MODELS.items() for name, spec in model.specs().items()}.items()
)
# one spec of each kind is enough to reach every parser branch; all of them are cheap too
KINDS = {}
for (kind, name), spec in SPECS:
    KINDS.setdefault(
        (spec.kind, spec.required, spec.closed, spec.multi > 1, spec.le is not None), (kind, name, spec)
    )
REPRESENTATIVES = sorted(KINDS.values(), key=lambda t: (t[0], t[1]))

# Text a reader can produce: any Unicode scalar (no lone surrogates: every decoder refuses them).
ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
NUMERIC = st.one_of(
    st.integers().map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers(-(10**30), 10**30).map(lambda n: f"{n:,}"),
    st.text("0123456789０１２３４５６７８９,.，。eE+-¥￥元 \u3000\u00a0", max_size=25),
)
DATES = st.one_of(
    st.text("0123456789-/.年月日 T:", max_size=25),
    st.integers(-(10**12), 10**12).map(str),
    st.sampled_from(["0000-00-00", "9999-12-31", "2017-02-29", "1900-02-29", "99999", "2958466", "60", "-1"]),
)
CELLS = st.one_of(
    ANY_TEXT, NUMERIC, DATES, st.sampled_from(["", " ", "#N/A", "#REF!", "nan", "None", "—", "\x00"])
)
CODES = {DQ_EMPTY, DQ_CODE, DQ_NUMBER, DQ_DATE, ""}

_YMD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})|^(\d{4})(\d{2})(\d{2})$")


def ids(value) -> str:
    return f"{value[0]}.{value[1]}"


@pytest.mark.parametrize("target", REPRESENTATIVES, ids=ids)
@SETTINGS
@given(values=st.lists(CELLS, min_size=1, max_size=12))
@example(values=["1e999", "-1e999", "1" * 400, "9" * 20 + ".5", "NaN", "inf"])
@example(
    values=["99999", "2958466", "10000-01-01", "2017年02月29日", "2017/02/29", "1678-01-01", "2261-12-31"]
)
@example(
    values=[
        "202304",
        "2013年12月",
        "2023-13",
        "202300",
        "2023.4",
        "2023 年 4 月",
        "１９９９年１２月",
        "210001",
    ]
)
def test_parsers_never_crash_and_agree(target, values):
    _, name, spec = target
    parsed = parse_column(spec, name, pd.Series(values, dtype="str"))
    assert len(parsed.values) == len(parsed.problem) == len(parsed.message) == len(values)
    assert set(parsed.problem) <= CODES
    for i, text in enumerate(values):
        try:
            parse_scalar(spec, name, text)
            scalar_problem = ""
        except FieldProblem as exc:
            scalar_problem = exc.code
        if spec.kind is Kind.ID_NUMBER:
            continue  # checked by the DQ01x rules, not by the parsers
        assert parsed.problem.iloc[i] == scalar_problem, (text, parsed.problem.iloc[i], scalar_problem)
        if scalar_problem:
            assert parsed.message.iloc[i]
    _values_agree(spec, name, values, parsed.values)


def _values_agree(spec, name, values, column) -> None:
    """A date, year or month column's values are what `parse_scalar` makes of each cell alone: a
    column written in several forms at once is read form by form, each text by the first that fits."""
    if spec.kind not in (Kind.DATE, Kind.YEAR, Kind.MONTH):
        return
    for text, got in zip(values, column, strict=True):
        try:
            expected = parse_scalar(spec, name, text)
        except FieldProblem:
            expected = None
        if expected is None:
            assert pd.isna(got), (text, got)
        elif spec.kind is Kind.DATE:
            assert pd.Timestamp(got) == pd.Timestamp(expected), (text, got, expected)
        else:
            assert int(got) == int(expected), (text, got, expected)


# Columns of dates, years and months written in several forms at once (and empty markers).
MIXED_FORMS = st.lists(
    st.one_of(
        st.sampled_from(["", "-", " ", "2017", "2017年", "2017.0", "1800", "202304", "2023年4月", "2023-13"]),
        st.dates().map(str),
        st.dates().map(lambda d: d.strftime("%Y%m%d")),
        st.dates().map(lambda d: f"{d.year}年{d.month}月{d.day}日"),
        st.integers(0, 80_000).map(str),
        st.sampled_from(["2017-02-30", "20170230", "42736", "42736.5", "9999-01-01", "00000"]),
        # ten bytes, read off the bytes when shaped YYYY-MM-DD with - / or . (and only then)
        st.dates().map(lambda d: d.strftime("%Y/%m/%d")),
        st.dates().map(lambda d: d.strftime("%Y.%m-%d")),
        st.sampled_from(
            [
                "2017,03,05",
                "2017:03:05",
                "2017-0a-05",
                "2017-3-5",
                "2017-03-05 08:30",
                "0000-00-00",
                "2017/13/01",
                "2017.02.29",
                "2016.02.29",
                "１０１７-03-05",
                "2017-03-5 ",
                " 017-03-05",
            ]
        ),
    ),
    min_size=1,
    max_size=15,
)
TIME_SPECS = [t for t in REPRESENTATIVES if t[2].kind in (Kind.DATE, Kind.YEAR, Kind.MONTH)]


@pytest.mark.parametrize("target", TIME_SPECS, ids=ids)
@SETTINGS
@given(values=MIXED_FORMS)
def test_dates_years_and_months_in_several_forms_at_once(target, values):
    _, name, spec = target
    _values_agree(spec, name, values, parse_column(spec, name, pd.Series(values, dtype="str")).values)


@pytest.mark.parametrize("target", REPRESENTATIVES, ids=ids)
@settings(max_examples=30, deadline=None)
@given(values=st.lists(CELLS, min_size=0, max_size=5), nulls=st.lists(st.booleans(), min_size=0, max_size=5))
def test_parse_column_with_missing_values(target, values, nulls):
    """Columns from pandas may hold NA (a short row of a flat export): NA is an empty cell."""
    _, name, spec = target
    column = pd.Series(
        [None if (i < len(nulls) and nulls[i]) else v for i, v in enumerate(values)], dtype="str"
    )
    parsed = parse_column(spec, name, column)
    assert len(parsed.problem) == len(column)


@pytest.mark.parametrize("text", ["00000101", "0000-01-01", "9999-12-31", "2263年1月1日", "1600/1/1"])
@pytest.mark.parametrize(
    "field", [("households", "申请日期"), ("households", "年度"), ("members", "出生日期")]
)
def test_regression_dates_outside_the_nanosecond_range(text, field):
    kind, name = field
    spec = MODELS[kind].specs()[name]
    parsed = parse_column(spec, name, pd.Series([text, "2017-03-01"], dtype="str"))
    assert parsed.problem.iloc[0] == DQ_DATE and parsed.problem.iloc[1] == ""


@pytest.mark.parametrize("text", ["99999999999999999999", "1e20", "9223372036854775808"])
def test_regression_int_beyond_int64(text):
    spec = MODELS["villages"].specs()["总人口数"]
    parsed = parse_column(spec, "总人口数", pd.Series([text, "300"], dtype="str"))
    assert parsed.problem.iloc[0] == DQ_NUMBER and parsed.values.iloc[1] == 300


@SETTINGS
@given(values=MIXED_FORMS)
def test_date_year_and_month_columns_with_repeated_labels_parse_by_position(values):
    """The later forms are filled in by label; a column whose index repeats labels (rows of one
    household) parses as the same texts on positions do, and keeps its labels."""
    from fupin_audit.schema.fields import _vector_dates, _vector_months, _vector_years

    plain = pd.Series(values, dtype="str")
    repeated = plain.set_axis([i // 2 for i in range(len(values))])
    for parse in (_vector_dates, _vector_years, _vector_months):
        expected, got = parse(plain), parse(repeated)
        assert got.index.equals(repeated.index)
        assert got.reset_index(drop=True).equals(expected), parse.__name__


# The digit groups a date pattern captures: ASCII digits, or any other Unicode digits Python's \d takes.
DIGIT_GROUPS = st.lists(
    st.one_of(
        st.none(),
        st.text("0123456789", min_size=1, max_size=5),
        st.text("0123٠١٢٣४५६७", min_size=1, max_size=5),
    ),
    min_size=1,
    max_size=8,
)


@SETTINGS
@given(first=DIGIT_GROUPS, second=DIGIT_GROUPS)
@example(first=["1980", None, "0005"], second=["١٩٨٠"])
def test_date_groups_become_the_numbers_pandas_makes_of_them(first, second):
    from fupin_audit.schema.fields import _numbers

    size = max(len(first), len(second))
    frame = pd.DataFrame(
        {g: pd.Series(v + [None] * (size - len(v)), dtype="str") for g, v in enumerate((first, second))}
    )
    expected = frame.astype("float64")
    pd.testing.assert_frame_equal(_numbers(frame), expected)
