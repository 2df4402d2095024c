"""Hypothesis properties of the raw reading layer."""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fupin_audit.io.cells import cell_text
from fupin_audit.io.header import data_rows, locate_header, normalise_header
from fupin_audit.io.readers import RawSheet, number_texts, read_file

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

DELIMITERS = [",", "\t", ";", "|"]
CHINESE = "户编号姓名证件号码张三李四王五贫困金塘村凉亭镇合作医疗（）【】：，。、𠀀"
COMMON = CHINESE + "0123456789Xx =\"'\n\r -.*()[]%元亩"


def cells(exclude: str) -> st.SearchStrategy[str]:
    alphabet = "".join(c for c in COMMON + ",;|\t" if c not in exclude)
    return st.text(alphabet=alphabet, max_size=12)


def grids(exclude: str) -> st.SearchStrategy[list[list[str]]]:
    return st.integers(1, 5).flatmap(
        lambda width: st.lists(
            st.lists(cells(exclude), min_size=width, max_size=width), min_size=1, max_size=8
        )
    )


def write_csv(rows: list[list[str]], delimiter: str, newline: str) -> str:
    """Python's csv writer; with LF line ends it must quote everything, or a cell's CR would be bare."""
    buf = io.StringIO(newline="")
    quoting = csv.QUOTE_MINIMAL if newline == "\r\n" else csv.QUOTE_ALL
    csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=quoting).writerows(rows)
    return buf.getvalue()


def expected_grid(rows: list[list[str]]) -> list[list[str]]:
    """The rows without trailing all-empty columns and trailing all-empty rows."""
    width = max((j + 1 for row in rows for j, cell in enumerate(row) if cell), default=0)
    out = [row[:width] for row in rows] if width else []
    while out and not any(out[-1]):
        out.pop()
    return out


def read_text_bytes(data: bytes, suffix: str, **kw) -> RawSheet:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "t" + suffix)
        path.write_bytes(data)
        items = list(read_file(path, **kw))
    assert len(items) == 1 and isinstance(items[0], RawSheet), items
    return items[0]


# --------------------------------------------------------------------------- normalise_header


@SETTINGS
@given(st.text())
def test_normalise_header_is_idempotent(text):
    name, _ = normalise_header(text)
    assert normalise_header(name) == (name, None)


@SETTINGS
@given(st.text(alphabet=COMMON + "　\t\u200b\ufeff（）【】", max_size=20))
def test_normalised_names_have_no_spaces_or_full_width_brackets(text):
    name, unit = normalise_header(text)
    assert not any(c.isspace() for c in name)
    assert not set(name) & set("（）【】[]\u200b\ufeff")
    assert unit is None or name + f"({unit})" != text


# --------------------------------------------------------------------------- numbers


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.integers(-(10**16), 10**16).map(float),
            st.integers(-(10**16), 10**16),
            st.decimals(-(10**6), 10**6, places=2).map(float),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_vectorised_number_texts_match_cell_text(values):
    import numpy as np

    array = np.array(values, dtype=object)
    assert number_texts(array).to_pylist() == [cell_text(v) for v in values]
    floats = [float(v) for v in values]
    assert number_texts(np.array(floats)).to_pylist() == [cell_text(v) for v in floats]


@SETTINGS
@given(
    st.lists(
        st.one_of(
            st.floats(min_value=1e-4, max_value=1e10, exclude_max=True),
            st.floats(min_value=-1e10, max_value=-1e-4, exclude_min=True),
            st.floats(min_value=1e-9, max_value=1e-3),  # around the lower edge of arrow's band
            st.floats(min_value=1e9, max_value=1e12),  # around the upper one
        ),
        min_size=1,
        max_size=50,
    )
)
def test_fractions_written_by_arrow_are_python_s_repr(values):
    """number_texts lets arrow write fractions between 1e-4 and 1e10 (and Python the rest): the text
    must be repr()'s, the form a spreadsheet cell gives (cells.number_text)."""
    import numpy as np

    edges = [1e-4, -1e-4, 0.1 + 0.2, 1 / 3, 9_999_999_999.5, 1e10 - 0.5, 1e10 + 0.5, 9.999e-5]
    floats = [*values, *edges]
    assert number_texts(np.array(floats)).to_pylist() == [cell_text(v) for v in floats]


# --------------------------------------------------------------------------- CSV round trip


@SETTINGS
@given(
    rows=grids(exclude="\t;|"),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
    newline=st.sampled_from(["\r\n", "\n"]),
)
def test_csv_round_trip_auto_encoding(rows, encoding, newline):
    text = write_csv(rows, ",", newline)
    assume(text.strip())
    data = text.encode(encoding)
    if encoding == "gb18030":
        # A short GB18030 text can happen to be valid UTF-8 too; real files are not that short.
        with contextlib.suppress(UnicodeDecodeError):
            assume(data.decode("utf-8") == text)
    raw = read_text_bytes(data, ".csv")
    assert raw.grid.to_numpy().tolist() == expected_grid(rows)
    assert raw.encoding in ({"utf-8", encoding} if encoding == "gb18030" else {encoding})


@SETTINGS
@given(rows=st.data(), delimiter=st.sampled_from(DELIMITERS), encoding=st.sampled_from(["utf-8", "gb18030"]))
def test_delimited_round_trip_forced_encoding(rows, delimiter, encoding):
    others = "".join(d for d in DELIMITERS if d != delimiter)
    grid = rows.draw(grids(exclude=others))
    text = write_csv(grid, delimiter, "\r\n")
    assume(text.strip())
    suffix = {"\t": ".tsv"}.get(delimiter, ".txt")
    raw = read_text_bytes(text.encode(encoding), suffix, encoding=encoding)
    assert raw.encoding == encoding
    assert raw.grid.to_numpy().tolist() == expected_grid(grid)


# --------------------------------------------------------------------------- row numbers

KNOWN = {"户编号", "姓名", "证件号码", "村"}
data_cell = st.text(alphabet="0123456789张三李四X村 ", max_size=6)
blank_cell = st.sampled_from(["", " ", "  "])


@st.composite
def sheets(draw):
    width = draw(st.integers(3, 5))
    titles = draw(st.lists(st.just(["宿松县2017年建档立卡贫困户信息表"] + [""] * (width - 1)), max_size=3))
    header = ["户编号", "姓名", "证件号码", "村", "备注"][:width]
    body = draw(
        st.lists(
            st.one_of(
                st.lists(data_cell, min_size=width, max_size=width),
                st.lists(blank_cell, min_size=width, max_size=width),
            ),
            max_size=15,
        )
    )
    return [*titles, header, *body], len(titles)


@SETTINGS
@given(sheet=sheets(), newline=st.sampled_from(["\r\n", "\n", "\r"]))
def test_every_non_blank_data_row_keeps_its_row_number(sheet, newline):
    rows, n_titles = sheet
    raw = read_text_bytes(write_csv(rows, ",", newline).encode("gb18030"), ".csv")
    layout = locate_header(raw.grid, KNOWN.__contains__)
    assert layout is not None and layout.header_rows == [n_titles]
    data = data_rows(raw.grid, layout)

    first_data = n_titles + 2  # spreadsheet row number of the first row under the header
    expected = [
        (i, row)
        for i, row in enumerate(rows[n_titles + 1 :], start=first_data)
        if any(c.strip() for c in row)
    ]
    assert data["_row"].tolist() == [i for i, _ in expected]
    columns = [c for c in data.columns if c != "_row"]
    for (i, row), got in zip(expected, data[columns].to_numpy().tolist(), strict=True):
        width = len(got)
        assert got == row[:width], i
        assert rows[i - 1][:width] == got  # the number points at the original spreadsheet row


# --------------------------------------------------------------------------- unquoted fast path

plain_cell = st.text(alphabet="户编号张三0123456789Xx =.-,;\t 　𠀀", max_size=6)
line_end = st.sampled_from(["\n", "\r\n", "\r"])


ragged = st.lists(st.tuples(st.lists(plain_cell, max_size=6), line_end), min_size=1, max_size=10)
rectangular = st.integers(1, 5).flatmap(
    lambda width: st.lists(
        st.tuples(st.lists(plain_cell, min_size=width, max_size=width), line_end), min_size=1, max_size=10
    )
)


@SETTINGS
@given(
    lines=st.one_of(rectangular, ragged),
    delimiter=st.sampled_from([",", "\t", ";"]),
    final=st.sampled_from(["", "\n", "\r\n", "\n\n"]),
)
def test_unquoted_text_reads_the_same_with_or_without_arrow(lines, delimiter, final):
    """Text without quotes goes to arrow's reader when every record has the same width; ragged,
    blank and mixed line ends go to pandas. Either way the grid is the one pandas' parser gives."""
    from unittest import mock

    from fupin_audit.io import csvtext

    text = "".join(delimiter.join(cells) + end for cells, end in lines)[:-1] + final
    assume(text.strip())
    fast = csvtext.read_delimited(text, delimiter=delimiter)
    with mock.patch.object(csvtext, "_read_plain", lambda *a: None):
        slow = csvtext.read_delimited(text, delimiter=delimiter)
    assert fast.to_numpy().tolist() == slow.to_numpy().tolist()
    assert list(fast.index) == list(slow.index) and list(fast.columns) == list(slow.columns)
    assert [str(c.dtype) for _, c in fast.items()] == [str(c.dtype) for _, c in slow.items()]


def test_rectangular_unquoted_text_takes_the_arrow_path():
    from unittest import mock

    from fupin_audit.io import csvtext

    text = "户编号,姓名\n3408,张三\r\n3409,李四\n"
    with mock.patch.object(csvtext, "_read_csv", side_effect=AssertionError("pandas parser used")):
        grid = csvtext.read_delimited(text)
    assert grid.to_numpy().tolist() == [["户编号", "姓名"], ["3408", "张三"], ["3409", "李四"]]
    with mock.patch.object(csvtext, "_read_plain", side_effect=AssertionError("arrow used")):
        assert csvtext.read_delimited('"户编号",姓名\n1,2\n').to_numpy().tolist() == [
            ["户编号", "姓名"],
            ["1", "2"],
        ]


def test_a_known_word_in_the_first_data_row_does_not_make_a_two_row_header():
    # found by the property above: 村 written in the 备注 column right under the header
    rows = [
        ["户编号", "姓名", "证件号码", "村", "备注"],
        ["", " ", "", "", "村"],
        ["2", "李四", "X", "村", ""],
    ]
    raw = read_text_bytes(write_csv(rows, ",", "\n").encode("gb18030"), ".csv")
    layout = locate_header(raw.grid, KNOWN.__contains__)
    assert layout is not None and layout.header_rows == [0]
    assert data_rows(raw.grid, layout)["_row"].tolist() == [2, 3]


@given(
    st.integers(1, 12),
    st.integers(1, 4),
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 13), st.integers(1, 4)), max_size=8),
    st.integers(0, 4),
    st.data(),
)
def test_merged_ranges_below_the_header_fill_their_empty_cells(rows, width, ranges, first_row, data):
    """`merged_filled` is the plain loop: each range of one column starting at or below the first data
    row puts its first cell's text into the empty cells it covers (a non-empty one keeps its own),
    clipped to the grid; ranges in the header, or in columns past the grid, change nothing."""
    import pandas as pd

    from fupin_audit.io.header import merged_filled

    texts = st.sampled_from(["", " ", "甲", "1", "x"])
    cells = [[data.draw(texts) for _ in range(width)] for _ in range(rows)]
    grid = pd.DataFrame({j: [r[j] for r in cells] for j in range(width)}, dtype="str")
    merged, taken = [], set()
    for column, top, length in ranges:  # ranges of a sheet never overlap
        covered = {(column, r) for r in range(top, top + length + 1)}
        if not covered & taken:
            taken |= covered
            merged.append((column, top, top + length))
    expected = [list(r) for r in cells]
    for column, top, last in merged:
        if top < first_row or column >= width or top >= rows:
            continue
        for r in range(top + 1, min(last, rows - 1) + 1):
            if not expected[r][column].strip():
                expected[r][column] = cells[top][column]
    got = merged_filled(grid, merged, first_row)
    assert [[got.iloc[r, j] for j in range(width)] for r in range(rows)] == expected
    assert [[grid.iloc[r, j] for j in range(width)] for r in range(rows)] == cells  # the grid as read
