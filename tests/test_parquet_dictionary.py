"""Parquet text columns read through their dictionary pages (io/dictionary.py): the texts are those
of a plain read, and validation takes each such column's distinct texts from the file instead of
hashing the column — with the same typed values and problems as when it hashes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin_audit.io import dictionary
from fupin_audit.io.limits import Limits
from fupin_audit.io.parquet import read_texts
from fupin_audit.load import load

ROWS = 3000  # enough rows for a code-list column's dictionary page to be under a byte a row


def _texts(column) -> list[str]:
    return column.to_pylist()


def test_a_code_list_column_comes_with_its_encoding_and_an_id_column_without(tmp_path):
    path = tmp_path / "成员.parquet"
    school = ["小学", "初中", None, "", "高中"] * (ROWS // 5)
    ids = [f"34082619800101{i:04d}" for i in range(ROWS)]
    pq.write_table(pa.table({"在校生状况": school, "证件号码": ids}), path)
    read = read_texts(path, Limits())
    assert [_texts(c) for c in read.columns] == [[s or "" for s in school], ids]
    (encoding,) = read.encodings
    assert dictionary.buffer_key(read.columns[0]) == encoding.key
    # every row's text is the entry its code names; the entries are distinct
    texts = encoding.texts.to_pylist()
    assert [texts[c] for c in encoding.codes] == [s or "" for s in school]
    assert len(set(texts)) == len(texts) == 4  # null and "" are one text, as pd.factorize(fillna(""))


def test_row_groups_with_dictionaries_of_their_own(tmp_path):
    """A text column of several row groups is read as texts (joining their dictionaries costs more
    than hashing); a categorical is stored as a dictionary however it is read: its row groups'
    dictionaries are unified."""
    status = (["已脱贫"] * 700 + ["未脱贫"] * 300 + ["返贫"] * 200) * 3
    texts_path, categorical_path = tmp_path / "户.parquet", tmp_path / "类别.parquet"
    pq.write_table(pa.table({"脱贫状态": status}), texts_path, row_group_size=1000)
    read = read_texts(texts_path, Limits())
    assert _texts(read.columns[0]) == status and read.encodings == ()
    late = pd.Categorical(status, categories=["返贫", "未脱贫", "已脱贫"])
    pq.write_table(
        pa.Table.from_pandas(pd.DataFrame({"脱贫状态": late})), categorical_path, row_group_size=1000
    )
    read = read_texts(categorical_path, Limits())
    assert _texts(read.columns[0]) == status
    (encoding,) = read.encodings
    texts = encoding.texts.to_pylist()
    assert [texts[c] for c in encoding.codes] == status


def test_a_written_dictionary_in_any_order_with_unused_entries(tmp_path):
    """pandas writes a categorical's categories as its dictionary: their order and the ones no row has."""
    path = tmp_path / "户.parquet"
    values = ["是", "否", "否", None] * (ROWS // 4)
    column = pd.Categorical(values, categories=["不详", "否", "是"])
    pq.write_table(pa.Table.from_pandas(pd.DataFrame({"是否危房户": column})), path)
    read = read_texts(path, Limits())
    assert _texts(read.columns[0]) == [v or "" for v in values]
    (encoding,) = read.encodings
    texts = encoding.texts.to_pylist()
    assert [texts[c] for c in encoding.codes] == [v or "" for v in values]
    assert sorted(texts) == sorted(["是", "否", ""])  # 不详, which no row has, is not judged


def test_texts_no_row_has_are_dropped():
    """A verdict may depend on the other texts judged with it (a "-0" amount's sign does)."""
    codes, texts = dictionary.distinct_entries(np.array([2, 0, 2, 3, 0]), pa.array(["x", "y", "z", "w"]))
    assert texts.to_pylist() == ["x", "z", "w"]
    assert [texts.to_pylist()[c] for c in codes] == ["z", "x", "z", "w", "x"]


def test_entries_as_many_as_rows_are_made_distinct_in_first_seen_order():
    """Callers read codes into as many texts as rows as the rows themselves (0…n-1)."""
    codes, texts = dictionary.distinct_entries(np.array([2, 0, 2, 1]), pa.array(["x", "y", "z", "x", "w"]))
    assert texts.to_pylist() == ["z", "x", "y"]
    assert codes.tolist() == [0, 1, 0, 2]  # z x z y
    codes, texts = dictionary.distinct_entries(np.array([1, 0]), pa.array(["a", "b"]))
    assert (codes.tolist(), texts.to_pylist()) == ([0, 1], ["b", "a"])


def test_a_column_replaced_after_reading_is_not_given_the_file_encoding(tmp_path):
    path = tmp_path / "户.parquet"
    pq.write_table(pa.table({"村": ["城西村", "城东村"] * (ROWS // 2)}), path)
    (encoding,) = read_texts(path, Limits()).encodings
    known = {encoding.key: encoding}
    same = dictionary.known_encoding(encoding.column, known)
    assert same is encoding
    copy = pc.take(encoding.column, pa.array(np.arange(len(encoding.column))))
    assert dictionary.known_encoding(copy, known) is None
    assert dictionary.known_encoding(encoding.column.slice(1), known) is None


CODES = ["已脱贫", "未脱贫", "返贫", "脱贫", " 已脱贫 ", "", "未知状态", "ＡＢ"]


@settings(max_examples=25, deadline=None)
@given(
    rows=st.lists(st.sampled_from([*CODES, None]), min_size=1, max_size=60),
    order=st.permutations(CODES),
    unused=st.booleans(),
)
def test_validation_from_the_file_encoding_equals_validation_by_hashing(
    tmp_path_factory, rows, order, unused
):
    """The same households written twice: once as a categorical (read through its dictionary, in
    the written order, with categories no row has), once without dictionary pages (hashed by
    validation). Typed tables and problems are the same."""
    folder = tmp_path_factory.mktemp("county")
    repeat = max(1, ROWS // len(rows))
    status = rows * repeat
    n = len(status)
    categories = order if unused else [c for c in order if c in status]
    frame = pd.DataFrame(
        {
            "户编号": [f"3408260010010{i:03d}" for i in range(n)],
            "户主姓名": ["张三"] * n,
            "脱贫状态": pd.Categorical(status, categories=categories),
            "家庭人口数": ["3"] * n,
            "人均纯收入": ["5000"] * n,
            "识别年度": ["2016"] * n,
            "年度": ["2017"] * n,
        }
    )
    coded, plain = folder / "a.parquet", folder / "b.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), coded)
    as_text = frame.assign(脱贫状态=frame["脱贫状态"].astype(object))
    pq.write_table(pa.Table.from_pandas(as_text, preserve_index=False), plain, use_dictionary=False)
    assert read_texts(coded, Limits()).encodings and not read_texts(plain, Limits()).encodings
    a, b = load([coded]).tables["households"], load([plain]).tables["households"]
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.problems.reset_index(drop=True), b.problems.reset_index(drop=True))


def test_validation_takes_the_distinct_texts_from_the_file(tmp_path, monkeypatch):
    """The code-list columns of a parquet file are not hashed again by validation."""
    path = tmp_path / "户.parquet"
    n = ROWS
    pq.write_table(
        pa.table(
            {
                "户编号": [f"34082600100{i:05d}" for i in range(n)],
                "脱贫状态": ["已脱贫", "未脱贫"] * (n // 2),
                "贫困户属性": ["一般贫困户", "低保贫困户", "特困供养贫困户"] * (n // 3),
            }
        ),
        path,
    )
    hashed: list[str] = []
    encode = pc.dictionary_encode

    def counting(values, *args, **kwargs):
        if len(values) == n:
            hashed.append(values[0].as_py())
        return encode(values, *args, **kwargs)

    monkeypatch.setattr(pc, "dictionary_encode", counting)
    table = load([path]).tables["households"]
    assert table.data["脱贫状态"].astype(str).tolist()[:2] == ["已脱贫", "未脱贫"]
    assert hashed == ["3408260010000000"]  # 户编号 only: the code-list columns came encoded


@pytest.mark.parametrize("form", ["texts", "nulls", "no rows"])
def test_decoding_a_dictionary_column_does_not_import_pandas(tmp_path, form):
    """It runs on the early decoding thread (io/parquet.py), which must not wait for pandas."""
    import subprocess
    import sys

    path = tmp_path / "成员.parquet"
    values = ["小学", "初中", None if form == "nulls" else "高中"] * (ROWS // 3)
    if form == "no rows":  # a categorical column is stored as a dictionary however few its rows
        empty = pd.DataFrame({"在校生状况": pd.Categorical([], categories=["小学"])})
        pq.write_table(pa.Table.from_pandas(empty, preserve_index=False), path)
    else:
        pq.write_table(pa.table({"在校生状况": values}), path)
    code = (
        "import sys\n"
        "from fupin_audit.io.parquet import read_texts\nfrom fupin_audit.io.limits import Limits\n"
        f"read = read_texts({str(path)!r}, Limits())\n"
        "print(len(read.encodings), 'pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "False"], out.stderr


def test_only_the_encodings_of_columns_that_reach_the_tables_are_held(tmp_path):
    """An encoding holds its column: one whose column the loader dropped or copied is let go at once.
    A file written by `convert` from one sheet keeps its columns as read; one holding the rows of two
    sheets is split by its provenance columns, which copies every column."""
    from fupin_audit.load import Loader

    n = ROWS
    plain = {
        "户编号": [f"34082600100{i:05d}" for i in range(n)],
        "脱贫状态": ["已脱贫", "未脱贫"] * (n // 2),
        "家庭人口数": ["3"] * n,
        "人均纯收入": ["5000"] * n,
    }
    encoded = {"脱贫状态", "家庭人口数", "人均纯收入"}
    rows = {"来源工作表": ["户"] * n, "来源行": [str(i + 2) for i in range(n)]}
    one = {**plain, "来源文件": ["县.xlsx"] * n, **rows}
    two = {**plain, "来源文件": ["甲.xlsx", "乙.xlsx"] * (n // 2), **rows}
    for name, columns, held in (
        ("直接", plain, encoded),
        ("一个来源", one, encoded),
        ("两个来源", two, set()),
    ):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table(columns), path)
        assert read_texts(path, Limits()).encodings
        loader = Loader()
        loader._read(str(path))
        assert {e.texts[0].as_py() for e in loader.encodings.values()} == {plain[c][0] for c in held}, name
