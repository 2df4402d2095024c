"""Scaling guards (no timings): rule work grows linearly with the rows, duplicate detection hashes
instead of comparing pairs, and the vectorised shortcuts taken for speed give exactly the Python result.

The work probe counts the lines of this project's Python run while each rule runs (``sys.settrace``,
traced only in our own files). A vectorised rule runs about as many lines for 2 000 households as for
1 000 (the work happens inside numpy/arrow); a per-row Python loop doubles them, a pairwise comparison
quadruples them. The second test shows the probe catching such a rule.
"""

from __future__ import annotations

import dataclasses
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fupin_audit
from fupin_audit.audit import Settings
from fupin_audit.dataset import Dataset
from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.registry import default_registry
from fupin_audit.engine.rule import Rule, rule
from fupin_audit.engine.runner import run_rules
from fupin_audit.load import load
from fupin_audit.sample import generate, write_parquet

# Lines a rule may run beyond proportional growth (lazy caches, a few more flagged rows …).
SLACK = 5_000


@pytest.fixture(autouse=True)
def one_thread(monkeypatch):
    """Lines are counted with sys.settrace, which sees only the calling thread: rules run on it."""
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "1")


def _dataset(households: int, folder: Path, edit=None) -> Dataset:
    data = generate(households, seed=7, year=2017)
    if edit is not None:
        edit(data.tables)
    return load(write_parquet(data, folder))


def _lines_per_rule(dataset: Dataset, rules: list[Rule]) -> dict[str, int]:
    """Lines of Python executed in this project's code (and this test file) while each rule runs.

    A line event fires for every line run and every loop iteration, so a Python loop over rows, or
    over pairs of rows, shows up however few functions it calls; numpy/arrow work does not."""
    counts: dict[str, int] = {}
    current: list[str] = []
    ours = (str(Path(fupin_audit.__file__).parent), __file__)

    def local(frame, event, arg):
        if event == "line" and current:
            counts[current[-1]] = counts.get(current[-1], 0) + 1
        return local

    def trace(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(ours) else None

    def wrapped(r: Rule) -> Rule:
        def check(ctx, params):
            current.append(r.code)
            try:
                return r.check(ctx, params)
            finally:
                current.pop()

        return dataclasses.replace(r, check=check)

    ctx = AuditContext(dataset, Settings.from_file(None).policy, None)
    sys.settrace(trace)
    try:
        run_rules(ctx, [wrapped(r) for r in rules])
    finally:
        sys.settrace(None)
    return counts


def _growth(tmp_path: Path, rules: list[Rule], sizes=(1_000, 2_000), edit=None) -> dict[str, tuple[int, int]]:
    _lines_per_rule(_dataset(200, tmp_path / "warm"), rules)  # lazy module-level caches
    small, big = (_lines_per_rule(_dataset(n, tmp_path / f"h{n}", edit and edit(n)), rules) for n in sizes)
    return {code: (small.get(code, 0), big.get(code, 0)) for code in set(small) | set(big)}


def _superlinear(growth: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    return {code: (a, b) for code, (a, b) in growth.items() if b > 2.2 * a + SLACK}


def test_rule_work_grows_at_most_linearly(tmp_path):
    growth = _growth(tmp_path, list(default_registry()))
    assert len(growth) >= 60
    assert not _superlinear(growth), _superlinear(growth)


def _pairwise(ctx, params):
    """A deliberately quadratic duplicate check: every member against every other one."""
    ids = ctx.frame("members")["证件号码"].tolist()[:1500]
    same = [i for i, a in enumerate(ids) for b in ids[i + 1 :] if a == b]
    return ctx.flag("members", ctx.frame("members").index[same], "重复") if same else None


def test_the_probe_catches_pairwise_work(tmp_path):
    quadratic = rule(
        "DQ999", "pairwise", severity="info", needs=("members",), what="-", why="-", example="-"
    )(_pairwise)
    growth = _growth(tmp_path, [quadratic], sizes=(200, 400))
    assert _superlinear(growth), growth  # the guard above would fail on such a rule


# ------------------------------------------------------------------------------------ duplicates


def _giant_groups(households: int):
    """Every rule about duplicates gets one group holding a third of the rows."""

    def edit(tables: dict[str, pd.DataFrame]) -> None:
        members, hh = tables["members"], tables["households"]
        m = len(members) // 3
        members.loc[members.index[:m], "户编号"] = members["户编号"].iloc[0]  # DQ020, DQ031, DQ032
        members.loc[members.index[:m], "证件号码"] = members["证件号码"].iloc[0]
        members.loc[members.index[m : 2 * m], "证件号码"] = members["证件号码"].iloc[
            m
        ]  # SY103: across households
        h = len(hh) // 3
        hh.loc[hh.index[:h], "户编号"] = hh["户编号"].iloc[0]  # DQ021
        hh.loc[hh.index[h : 2 * h], "户联系电话"] = hh["户联系电话"].iloc[h]  # SY104

    return edit


DUPLICATE_RULES = ("DQ020", "DQ021", "DQ031", "DQ032", "SY103", "SY104", "SY403")


def test_duplicate_detection_is_not_pairwise(tmp_path):
    rules = [r for r in default_registry() if r.code in DUPLICATE_RULES]
    growth = _growth(tmp_path, rules, sizes=(600, 1_200), edit=_giant_groups)
    assert set(growth) == set(DUPLICATE_RULES)
    assert not _superlinear(growth), growth


# ------------------------------------------------------------------------------------ exact shortcuts


def _every_code_point() -> list[str]:
    return [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]


def test_arrow_trim_strips_what_python_strips():
    import pyarrow.compute as pc

    texts = [c + "a" + c for c in _every_code_point()]
    trimmed = pc.utf8_trim_whitespace(pa.array(texts)).to_pylist()
    assert [t for t, got in zip(texts, trimmed, strict=True) if t.strip() != got] == []


def test_nfkc_stable_characters_really_are():
    """fields._NFKC_STABLE: no character in it changes under NFKC or composes with a neighbour."""
    import re

    from fupin_audit.schema.fields import _NFKC_STABLE

    ranges = re.findall(r"\\x\{?([0-9A-F]+)\}?-\\x\{?([0-9A-F]+)\}?", _NFKC_STABLE)
    stable = [chr(c) for low, high in ranges for c in range(int(low, 16), int(high, 16) + 1)]
    assert len(stable) > 27_000
    assert [c for c in stable if unicodedata.normalize("NFKC", c) != c or unicodedata.combining(c)] == []
    composing = set()
    for c in range(0x110000):
        decomposition = unicodedata.decomposition(chr(c))
        if decomposition and not decomposition.startswith("<") and len(decomposition.split()) == 2:
            composing.add(chr(int(decomposition.split()[1], 16)))
    assert composing.isdisjoint(stable)


@pytest.mark.parametrize("null", [True, False])
def test_the_ascii_shortcut_of_nfkc_stable_agrees_with_the_pattern(null):
    """fields.nfkc_stable answers an all-ASCII column without the pattern: the same answer, nulls too."""
    import pyarrow.compute as pc

    from fupin_audit.schema.fields import _NFKC_STABLE, arrow_mask, nfkc_stable

    columns = [
        ["340826199001011234", None, "", "12.5", "NULL"],  # ASCII: the shortcut
        [None, None],  # no text at all: the shortcut
        ["张三", "ａ", None, "\u3000", "x"],  # not ASCII: the pattern
    ]
    for values in columns:
        array = pa.array(values, type=pa.large_string())
        expected = arrow_mask(pc.fill_null(pc.match_substring_regex(array, _NFKC_STABLE), null))
        assert nfkc_stable(array, null=null).tolist() == expected.tolist()


SAMPLES = [
    "", " ", "-", "—", "NULL", " null ", "ＮＵＬＬ", "\u3000-\u3000", "N/A", "nan", "\x1c", "2017-03-01",
    "２０１７年３月１日", "٢٠١٧-٠٣-٠١", "1,234.5", "¥12", "12元", "１２元", "1\x1c2", "\u0663\u0664", "139 1234 5678",
    "139-1234-5678\n", "１３９１２３４５６７８", "13912345678", "+8613912345678", "张三", "e\u0301", "ﬁ", "①",
]  # fmt: skip


def _random_texts(n: int = 3_000) -> list[str]:
    rng = np.random.default_rng(5)
    alphabet = [
        *"0123456789 -－—/\\.,年月日NULnlaX\t\n\x0b\x1c\x85\u00a0\u3000",
        *("\u0663", "１", "\u2028", "\ufeff", "\u200b", "e\u0301", "张", "①", "ﬁ", "¥", "元"),
    ]
    return ["".join(rng.choice(alphabet, size=rng.integers(0, 12))) for _ in range(n)]


def test_vectorised_emptiness_and_phone_checks_match_python():
    import re
    import unicodedata

    from fupin_audit.facts.cells import _empty_value, empty_cells, map_values
    from fupin_audit.facts.phones import phone_numbers
    from fupin_audit.rules.dq_members import bad_phones

    texts = pd.Series([*SAMPLES, *_random_texts(), None], dtype="str")
    assert empty_cells(texts).tolist() == [_empty_value(v) for v in texts.astype(object)]

    def bad(v):
        """The phone normaliser (facts.phones.phone_numbers) and DQ044's default check, in Python."""
        if not isinstance(v, str):
            return False
        number = unicodedata.normalize("NFKC", v.strip())
        number = re.sub(r"[\t\n\x0b\x0c\r\x1c-\x1f \-‐‑–—()]+", "", number)
        number = re.sub(r"^86(1[3-9][0-9]{9})$", r"\1", re.sub(r"^(\+|00)86", "", number))
        return number != "" and re.fullmatch(r"1[3-9][0-9]{9}", number) is None

    assert bad_phones(phone_numbers(texts)).tolist() == map_values(texts, bad, bool).tolist()
    assert bad_phones(phone_numbers(texts)).sum() < len(texts) - 3  # valid numbers are in the sample
    # the same on a long column of distinct texts
    long = pd.Series([*texts.tolist(), *(f"1391234{i:04d}" for i in range(90_000))], dtype="str")
    assert empty_cells(long).tolist() == [_empty_value(v) for v in long.astype(object)]
    assert bad_phones(phone_numbers(long)).tolist() == map_values(long, bad, bool).tolist()


def test_columns_of_distinct_values_parse_alike_without_hashing(monkeypatch, tmp_path):
    """Long columns of mostly distinct texts skip the hash encoding (every row its own entry):
    validation and the ID analysis give the same result either way."""
    from fupin_audit.schema import fields
    from fupin_audit.schema.idnumber import analyse_ids

    paths = write_parquet(generate(300, seed=7, year=2017), tmp_path / "d")
    hashed = load(paths)
    ids = hashed.tables["members"].raw["证件号码"]
    analysis = analyse_ids(ids, pd.Timestamp("2017-12-31"))
    monkeypatch.setattr(fields, "_SAMPLE", 5)  # every column of 20 rows or more counts as long
    assert fields.mostly_distinct(pa.array([str(i) for i in range(100)]))
    unhashed = load(paths)
    for kind, table in hashed.tables.items():
        pd.testing.assert_frame_equal(unhashed.tables[kind].data, table.data)
        pd.testing.assert_frame_equal(unhashed.tables[kind].problems, table.problems)
    pd.testing.assert_frame_equal(analyse_ids(ids, pd.Timestamp("2017-12-31")), analysis)


def test_mostly_distinct_counts_the_sample_s_texts_not_its_nulls(monkeypatch):
    """The share is of the sample's texts: a null among them is not one more distinct value."""
    from fupin_audit.schema import fields

    monkeypatch.setattr(fields, "_SAMPLE", 5)  # samples rows 0, 20, 40, 60, 80 of 100
    texts = [str(i) for i in range(100)]
    assert fields.mostly_distinct(pa.array(texts))  # 5 of 5 distinct
    assert not fields.mostly_distinct(pa.array([None, *texts[1:]]))  # 4 texts: 4 ≤ 0.85 × 5
    assert fields.mostly_distinct(pa.array([None, *texts[1:]]), share=0.7)
    assert not fields.mostly_distinct(pa.array(["1"] * 100))


def test_validation_judges_phones_and_amounts_unhashed_sooner(monkeypatch, tmp_path):
    """Whether a long column is hashed to its distinct texts first is judged with its kind's share
    (fields.DISTINCT_SHARE): a phone column from a quarter of its sample distinct, an amount from
    60 %, other kinds from 85 %."""
    from fupin_audit.schema import fields

    paths = write_parquet(generate(300, seed=7, year=2017), tmp_path / "d")
    asked: dict[float, int] = {}
    real = fields.mostly_distinct
    monkeypatch.setattr(
        fields, "mostly_distinct", lambda a, share=0.85: asked.setdefault(share, 0) or real(a, share)
    )
    load(paths)
    assert set(asked) == {0.25, 0.6, 0.85}


def _decimal_texts(n: int, max_digits: int, exponents: list[str]) -> list[str]:
    rng = np.random.default_rng(11)
    out = []
    for _ in range(n):
        digits = rng.choice(list("123456789")) + "".join(
            rng.choice(list("0123456789"), size=rng.integers(0, max_digits))
        )
        point = int(rng.integers(0, len(digits) + 1))
        body = digits[:point] + rng.choice(["", "."]) + digits[point:]
        out.append(rng.choice(["", "-", "+"]) + body + rng.choice(exponents))
    return out


@pytest.mark.parametrize(
    ("texts", "fast_path"),
    [
        (_decimal_texts(20_000, 13, [""]), True),  # every text plain: the one-test path
        ([*_decimal_texts(20_000, 13, [""]), "1,234.5", " 12 "], True),  # plain once the noise is out
        ([*_decimal_texts(20_000, 13, [""]), "-0"], False),
        ([*SAMPLES, *_decimal_texts(20_000, 20, ["", "e5", "E-3", "e+300"])], False),
    ],
)
def test_arrow_number_parsing_matches_pandas(monkeypatch, texts, fast_path):
    """fields._cast_floats (arrow's cast, on the plain texts as written or once the noise is out) gives
    exactly what pd.to_numeric gives, or steps aside."""
    from fupin_audit.schema import fields

    texts = pd.Series(list(dict.fromkeys(texts)), dtype="str")
    clean = fields.str_series(fields.clean_texts(fields.arrow_text(texts)))
    taken = []
    monkeypatch.setattr(
        fields, "_cast_floats", lambda *a, f=fields._cast_floats: taken.append(f(*a)) or taken[-1]
    )
    fast = fields._vector_numbers(texts, clean)
    assert any(t is not None for t in taken) == fast_path
    monkeypatch.setattr(fields, "_cast_floats", lambda texts, chosen: None)
    slow = fields._vector_numbers(texts, clean)
    pd.testing.assert_series_equal(fast, slow)
    assert np.array_equal(np.signbit(fast.to_numpy()), np.signbit(slow.to_numpy()))
    ints = pd.Series(["-0", "12", "7"], dtype="str")  # all whole numbers: pandas drops the sign of -0
    assert not np.signbit(fields._vector_numbers(ints, ints).to_numpy()).any()


def test_number_codes_match_text_codes():
    """common._number_codes (IDs and 户编号 hashed as integers) gives the dictionary encoding's codes."""
    from fupin_audit.facts.keys import _number_codes, _text_codes

    rng = np.random.default_rng(3)
    for width in (1, 5, 16, 17, 18):
        pool = ["".join(rng.choice(list("0123456789"), size=width - 1)) + rng.choice(list("0123456789X"))
                for _ in range(50)]  # fmt: skip
        pool += ["0" * width, "9" * (width - 1) + "X"]
        values = pa.array([*rng.choice(pool, size=500).tolist(), None, pool[0]], type=pa.large_string())
        codes, n = _number_codes(values)
        expected, expected_n = _text_codes(values)
        assert n == expected_n and np.array_equal(codes, expected)
        sliced = pa.array(["7" * width, *values.to_pylist()], type=pa.string()).slice(1)  # offset, int32
        codes, n = _number_codes(sliced)
        assert n == expected_n and np.array_equal(codes, expected)
    # bytes just outside the digits ("/" and ":"), a lower-case x, full-width digits (3 bytes each)
    for other in (["12", "123"], ["12a"], ["x1"], [None], ["1" * 19], ["1/"], ["1:"], ["1x"], ["１", "123"]):
        assert _number_codes(pa.array(other, type=pa.large_string())) is None


def test_category_text_matches_conversion():
    from fupin_audit.facts.values import text

    values = pd.Categorical(
        ["在校", " 非在校生", None, "学前教育 ", "在校"], categories=["在校", " 非在校生", "学前教育 ", "x"]
    )
    series = pd.Series(values, index=[5, 3, 9, 1, 0], name="在校生状况")
    pd.testing.assert_series_equal(text(series), series.astype("str").fillna("").str.strip())


def test_findings_keep_the_text_pandas_concat_would_give():
    from fupin_audit.findings import assemble

    ints = pd.DataFrame({"message": ["a", "b"], "row": [2, 3], "value": np.array([1, 2], dtype="int64")})
    floats = pd.DataFrame({"message": ["c"], "row": [4], "value": [2.5]})
    out = assemble([ints, floats], [{"rule": "R1"}, {"rule": "R2"}])
    assert out["value"].tolist() == ["1.0", "2.0", "2.5"]  # int64 + float64 concatenate as float64
    out = assemble([ints], [{"rule": "R1"}])
    assert out["value"].tolist() == ["1", "2"]
    assert out["rule"].tolist() == ["R1", "R1"] and out["row"].tolist() == [2, 3]
    assert out["table"].tolist() == ["", ""]


# Texts round the `settled_texts` edge: ASCII of 4 and 5 characters (the longest empty marker is 4),
# the markers, every space str.strip() strips at either end, full-width and CJK text, nulls.
_EDGE_CHARS = st.sampled_from(list("0123456789Xa-./ \t\x0b\x1c\x1f\x85\xa0\u3000１Ａ脱贫"))
_EDGE_TEXTS = st.one_of(
    st.none(),
    st.sampled_from(["", "-", "--", "—", "/", "NULL", "nan", "N/A", " - ", "NULL "]),
    st.text(_EDGE_CHARS, max_size=7),
    st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_EDGE_TEXTS, max_size=12), st.sampled_from([pa.string(), pa.large_string()]))
def test_cleaning_only_the_unsettled_texts_is_cleaning_them_all(texts, arrow_type):
    """schema.fields.clean_and_empty: `clean_texts` of the column and its empty markers, worked out for
    the texts `settled_texts` does not vouch for — the same as over every text; and a settled text is
    its own clean text and no marker."""
    from fupin_audit.schema import fields

    array = pa.array(texts, type=arrow_type)
    want_clean = fields.clean_texts(array.cast(pa.large_string()))
    want_empty = fields.arrow_mask(pc.is_in(want_clean, value_set=fields.EMPTY_SET))
    clean, empty = fields.clean_and_empty(array.cast(pa.large_string()))
    assert clean.to_pylist() == want_clean.to_pylist()
    assert empty.tolist() == want_empty.tolist()
    settled, blank = fields.settled_texts(array)
    for text, own, nothing in zip(texts, settled.tolist(), blank.tolist(), strict=True):
        if own:
            assert text is not None and fields.clean_text(text) == text and text not in fields.EMPTY_MARKERS
        assert nothing == (text == "")
    # what settles a short text: no empty marker starts with a digit
    assert not any(m[:1].isdigit() for m in fields.EMPTY_MARKERS)


def test_verdicts_of_a_column_without_problems_are_empty_categoricals():
    """A column with no problem skips the per-row look-ups: its problem and message columns are still
    categoricals of "" with the categories the general path gives (PROBLEM_CODES, and [""])."""
    from fupin_audit.schema import fields

    index = pd.Index([10, 11, 12, 13])
    problem, message = fields._Verdicts(3).rows(np.array([0, 2, 1, 2]), index)
    assert problem.tolist() == message.tolist() == [""] * 4
    assert list(problem.cat.categories) == list(fields.PROBLEM_CODES)
    assert list(message.cat.categories) == [""]
    assert problem.index.equals(index) and message.index.equals(index)
    flagged = fields._Verdicts(3)
    flagged.set(np.array([False, True, False]), fields.DQ_EMPTY, "必填项为空")
    problem, message = flagged.rows(np.array([0, 2, 1, 2]), index)
    assert message.tolist() == ["", "", "必填项为空", ""] and problem.tolist()[2] == fields.DQ_EMPTY
