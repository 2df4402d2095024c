"""Column kernels that replaced slower pandas/numpy calls (issue #17) give what those calls gave.

Each test compares a kernel with the call it replaced, on generated values that include the edges
(missing values, impossible dates, repeated and negative codes)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from fupin_audit.facts.keys import distinct_sorted
from fupin_audit.facts.years import year_end, year_start
from fupin_audit.rules.kit.related import labels_by_code
from fupin_audit.schema.fields import calendar_dates, str_series


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from([0, 1899, 1900, 2000, 2016, 2017, 2100, 2101, 9999])),
            st.one_of(st.none(), st.integers(-1, 14)),
            st.one_of(st.none(), st.integers(-1, 33)),
        ),
        max_size=40,
    )
)
def test_calendar_dates_are_pandas_assembled_dates(rows):
    year, month, day = (
        np.array([np.nan if row[i] is None else row[i] for row in rows], dtype=float) for i in range(3)
    )
    expected = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day}), errors="coerce")
    pd.testing.assert_series_equal(pd.Series(calendar_dates(year, month, day)), expected)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 3000)), max_size=30))
def test_year_start_and_end_are_pandas_assembled_dates(values):
    years = pd.Series(values, dtype="Int64", index=[f"r{i}" for i in range(len(values))])
    for month, day, kernel in ((1, 1, year_start), (12, 31, year_end)):
        frame = pd.DataFrame({"year": years.astype("float64"), "month": month, "day": day})
        pd.testing.assert_series_equal(kernel(years), pd.to_datetime(frame, errors="coerce"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 50), max_size=60))
def test_distinct_sorted_is_np_unique(values):
    array = np.array(values, dtype=np.int64)
    got = distinct_sorted(array)
    expected = np.unique(array, return_index=True, return_inverse=True)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine.tolist() == theirs.tolist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=40))
def test_labels_by_code_is_a_groupby_of_lists(codes):
    labels = pd.Index([f"L{i}" for i in range(len(codes))])
    expected = pd.Series(labels, index=codes).groupby(level=0, sort=False).agg(list).to_dict()
    assert labels_by_code(np.array(codes, dtype=np.int64), labels) == expected


@given(st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=20))
def test_str_series_is_pandas_str_of_the_texts(values):
    array = pa.array(values, type=pa.string())
    expected = array.cast(pa.large_string()).to_pandas().astype("str")
    pd.testing.assert_series_equal(str_series(array), expected)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 18).flatmap(
        lambda width: st.lists(
            st.one_of(
                st.none(),
                st.text(alphabet="0123456789", min_size=width, max_size=width),
                st.text(alphabet="0123456789", min_size=width - 1, max_size=width - 1).map(lambda s: s + "X"),
                st.sampled_from(["-1", "+1", "1 ", "１"]),
            ),
            min_size=1,
            max_size=30,
        )
    )
)
def test_number_codes_are_the_text_codes(values):
    """户编号 and person keys hashed as integers get exactly the codes of hashing their texts."""
    from fupin_audit.facts.keys import _number_codes, _text_codes

    array = pa.array(values, type=pa.large_string())
    numbers = _number_codes(array)
    if numbers is not None:
        codes, n = _text_codes(array)
        assert numbers[0].tolist() == codes.tolist() and numbers[1] == n


@given(
    st.lists(
        st.tuples(*(st.one_of(st.none(), st.text(alphabet=" /宿松县孚玉镇a", max_size=4)),) * 3), max_size=20
    )
)
def test_place_key_is_the_texts_joined_with_slashes(rows):
    from fupin_audit.facts.keys import place_key

    frame = pd.DataFrame(
        {name: pd.Series([row[i] for row in rows], dtype="str") for i, name in enumerate(("县", "乡", "村"))}
    )
    texts = [frame[c].fillna("").str.strip() for c in ("县", "乡", "村")]
    expected = texts[0] + "/" + texts[1] + "/" + texts[2]
    pd.testing.assert_series_equal(place_key(frame, ["县", "乡", "村"]), expected, check_names=False)


# A finding column as a rule may return it: text, Python objects, categories, numbers, or absent.
_COLUMN_KINDS = st.sampled_from(
    ["str", "object", "category", "numbered category", "int64", "float64", "Int64", "bool", None]
)


def _column(kind: str, rows: int, draw) -> pd.Series:
    texts = draw(
        st.lists(
            st.one_of(st.none(), st.sampled_from(["甲", "乙", "", "1", "x y"])), min_size=rows, max_size=rows
        )
    )
    numbers = draw(st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=rows, max_size=rows))
    if kind == "str":
        return pd.Series(texts, dtype="str")
    if kind == "object":
        mixed = [t if i % 2 else n for i, (t, n) in enumerate(zip(texts, numbers, strict=True))]
        return pd.Series(mixed, dtype=object)
    if kind == "category":
        return pd.Series(pd.Categorical(texts))
    if kind == "numbered category":  # a custom rule's categorical of numbers: pd.concat makes numbers
        return pd.Series(pd.Categorical([n or 0 for n in numbers]))  # (with NaN the dtype is one row's)
    if kind == "int64":
        return pd.Series([n or 0 for n in numbers], dtype="int64")
    if kind == "float64":
        return pd.Series([np.nan if n is None else n / 2 for n in numbers], dtype="float64")
    if kind == "Int64":
        return pd.Series(numbers, dtype="Int64")
    return pd.Series([bool(n) for n in numbers], dtype=bool)


@st.composite
def _finding_parts(draw) -> list[pd.DataFrame]:
    columns = ("message", "table", "file", "column", "value", "household_id", "related")
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        rows = draw(st.integers(1, 4))
        part = {"rule": pd.Series(["DQ001"] * rows, dtype="str")}
        for name in columns:
            kind = draw(_COLUMN_KINDS)
            if kind is not None:
                part[name] = _column(kind, rows, draw)
        parts.append(pd.DataFrame(part))
    return parts


@settings(max_examples=300, deadline=None)
@given(_finding_parts())
def test_assembled_findings_are_the_texts_of_the_concatenated_parts(parts):
    """`assemble` renders each column as `str(value)` ("" for missing) of `pd.concat(parts)` without
    concatenating: its shortcut for the dtype pd.concat would give must not change a single text."""
    from fupin_audit.findings import FINDING_COLUMNS, assemble

    joined = pd.concat(parts, ignore_index=True)
    found = assemble([p.copy() for p in parts])
    for name in FINDING_COLUMNS:
        if name == "row":
            continue
        if name in joined:
            values = joined[name].astype(object)
            expected = [
                "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v) for v in values
            ]
        else:
            expected = [""] * len(joined)
        assert found[name].astype(str).tolist() == expected, name


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet="0123456789", min_size=1, max_size=20)), max_size=30))
def test_keys_of_digits_carry_none_of_the_noise_normalised_keys_strips(keys):
    """normalised_keys skips its regular expression when every key is ASCII digits: such a column
    must never match it (else the skip would leave a wrapped key unnormalised)."""
    import pyarrow.compute as pc

    from fupin_audit.load import _KEY_NOISE, normalised_keys

    array = pa.array(keys, type=pa.large_string())
    assert pc.all(pc.ascii_is_decimal(array)).as_py() is not False
    assert not pc.any(pc.match_substring_regex(array, _KEY_NOISE)).as_py()
    frame = pd.DataFrame({"户编号": pd.Series(keys, dtype="str")})
    pd.testing.assert_frame_equal(normalised_keys(frame), frame)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.integers(-(10**17), 10**17), st.sampled_from([0, 946598400 * 10**9])),
        max_size=30,
    )
)
def test_calendar_parts_per_distinct_date_are_those_of_every_row(values):
    """engine.context._ymd (each distinct date worked out once, then taken per row) gives what the
    calendar arithmetic over every row gives, NaT included."""
    from fupin_audit.engine.context import _calendar_parts, _ymd

    dates = np.array(
        [np.datetime64("NaT", "ns") if v is None else np.datetime64(v, "ns") for v in values],
        dtype="datetime64[ns]",
    )
    for per_distinct, per_row in zip(_ymd(dates), _calendar_parts(dates), strict=True):
        assert per_distinct.tolist() == per_row.tolist() and per_distinct.dtype == per_row.dtype


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.just(-1), st.integers(0, 12)), max_size=25), min_size=1, max_size=4))
def test_joint_number_codes_are_the_joint_codes_of_their_texts(columns):
    """person_codes hashes the integer person numbers: the codes (first-seen order, -1 for none) and
    their count are those the same keys hashed as texts got."""
    from fupin_audit.facts.keys import joint_codes, joint_number_codes

    numbers = [np.array(c, dtype=np.int64) for c in columns]
    texts = [pa.array([None if x < 0 else f"{x:018d}" for x in c], type=pa.large_string()) for c in columns]
    got, n = joint_number_codes(numbers)
    want, m = joint_codes(*texts)
    assert [g.tolist() for g in got] == [w.tolist() for w in want] and n == m


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.sampled_from(["3408260010010001", " 3408260010010001", "3408260010010002", "", "A-1", "a-1 "]),
        max_size=12,
    ),
    st.lists(st.sampled_from(["3408260010010002", "3408260010010003", "A-1"]), max_size=4),
)
def test_member_household_codes_from_the_shared_codes_are_its_own_factorizing(member_hids, household_hids):
    """facts.cells.member_household_codes reads the validated members' 户编号 off the shared household
    codes: the same codes (first-seen order, -1 for none) and distinct texts as factorizing them."""
    import tempfile
    from pathlib import Path

    from conftest import household, member, write_xlsx

    from fupin_audit.audit import Settings
    from fupin_audit.engine.context import AuditContext
    from fupin_audit.facts.cells import factorize, member_household_codes
    from fupin_audit.facts.values import HID
    from fupin_audit.load import load

    with tempfile.TemporaryDirectory() as tmp:
        path = write_xlsx(
            Path(tmp) / "in.xlsx",
            {
                "户信息": [household(h) for h in household_hids] or [household()],
                "家庭成员": [member(h) for h in member_hids] or [member()],
            },
        )
        ctx = AuditContext(load([str(path)]), Settings.from_file(None).policy, None)
        codes, uniques = member_household_codes(ctx)
        want_codes, want_uniques = factorize(ctx.frame("members", HID)[HID])
    assert codes.tolist() == want_codes.tolist()
    pd.testing.assert_index_equal(uniques, pd.Index(want_uniques))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.from_regex(r"[0-9]{17}[0-9X][0-9]{2}", fullmatch=True),  # a 残疾人证号
            st.from_regex(r"[0-9]{17}[0-9X]", fullmatch=True),  # an ID
            st.text(st.sampled_from(list("0123456789X ５٣")), min_size=19, max_size=21),
            st.just(""),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_card_numbers_are_the_members_20_character_disability_numbers(numbers):
    """DQ064/DQ065's card_numbers, read from the 20-character numbers alone: per member, the 证件号码
    as validated when it fully matches the 残疾人证号 pattern (Python's re), else ""."""
    import tempfile
    from pathlib import Path

    from conftest import member, write_xlsx

    from fupin_audit.audit import Settings
    from fupin_audit.engine.context import AuditContext
    from fupin_audit.load import load
    from fupin_audit.rules.dq_monitoring import DISABILITY_NUMBER, card_numbers

    with tempfile.TemporaryDirectory() as tmp:
        path = write_xlsx(Path(tmp) / "in.xlsx", {"家庭成员": [member(证件号码=n) for n in numbers]})
        ctx = AuditContext(load([str(path)]), Settings.from_file(None).policy, None)
        written = ctx.frame("members", "证件号码")["证件号码"]
        got = card_numbers(ctx)
    want = [
        "" if pd.isna(t) or not DISABILITY_NUMBER.fullmatch(t.strip()) or len(t) != 20 else t.strip()
        for t in written
    ]
    assert got.tolist() == want
    assert got.index.equals(written.index)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.none(), st.sampled_from(["3408261970010111", "3408261970010112", "340826197001011X"])
            )
            | st.from_regex(r"34[0-9]{13}[0-9X]", fullmatch=True),
            max_size=12,
        ),
        min_size=1,
        max_size=3,
    )
)
def test_person_key_columns_hashed_as_numbers_get_their_texts_codes(columns):
    """facts.keys.joint_codes of 16-character keys whose last character may be X (read as numbers,
    `_digits_x_codes`): the codes arrow's hash encoding gives their texts (first-seen order, -1 for
    none)."""
    from fupin_audit.facts.keys import _text_codes, joint_codes

    arrays = [pa.array(c, type=pa.large_string()) for c in columns]
    got, n = joint_codes(*arrays)
    want, m = _text_codes(pa.concat_arrays(arrays))
    assert np.concatenate(got).tolist() == want.tolist() and n == m


CATEGORY_TEXTS = st.sampled_from(["产业帮扶", " 产业帮扶", "产业帮扶 ", "教育帮扶", "", "  ", "健康帮扶"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(CATEGORY_TEXTS, min_size=1, max_size=6, unique=True),
    st.lists(st.integers(-1, 5), max_size=25),
)
def test_a_code_column_gets_the_joint_codes_of_its_texts(categories, at):
    """joint_codes of a categorical (a code-list column) codes its categories, not every row: the
    same codes (first-seen order, -1 for empty or NA; categories equal once stripped share one) and
    the same count as the column's texts hashed row by row."""
    from fupin_audit.facts.keys import joint_codes
    from fupin_audit.facts.values import arrow_text

    codes = np.array([a if a < len(categories) else -1 for a in at], dtype=np.int8)
    column = pd.Series(pd.Categorical.from_codes(codes, categories=categories))
    got, n = joint_codes(column)
    want, m = joint_codes(arrow_text(column.astype(object).fillna("")))
    assert [g.tolist() for g in got] == [w.tolist() for w in want] and n == m


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-2, 3), st.integers(0, 2), st.sampled_from([-(2**63), 2**63 - 1, 0, 7])),
        max_size=30,
    )
)
def test_repeated_groups_are_the_rows_duplicated_in_every_column(rows):
    """repeated_groups (rows mixed into one number, then grouped exactly) finds what
    DataFrame.duplicated(keep=False) finds, with one code per group of equal rows and its size —
    also when every row's number collides with another's."""
    from fupin_audit.facts import keys

    _check_repeated_groups(rows, keys.repeated_groups)
    real = keys._mixed
    try:
        keys._mixed = lambda columns: np.zeros(len(columns[0]), dtype=np.int64)
        _check_repeated_groups(rows, keys.repeated_groups)
    finally:
        keys._mixed = real


def _check_repeated_groups(rows, repeated_groups) -> None:
    frame = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=np.int64)
    columns = [frame[c].to_numpy() for c in frame] if len(frame) else [np.empty(0, np.int64)] * 3
    positions, groups, sizes = repeated_groups(*columns)
    assert positions.tolist() == np.flatnonzero(frame.duplicated(keep=False)).tolist()
    chosen = frame.iloc[positions]
    tuples = list(chosen.itertuples(index=False))
    for i, j in [(i, j) for i in range(len(tuples)) for j in range(len(tuples))]:
        assert (groups[i] == groups[j]) == (tuples[i] == tuples[j])
    assert sizes.tolist() == [tuples.count(t) for t in tuples]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            *[st.sampled_from(["", "住房为危房", "有成员未参加基本医疗保险：张三", "；", "缺水；"])] * 4
        ),
        min_size=1,
        max_size=12,
    )
)
def test_gap_texts_are_joined_as_the_series_join_did(rows):
    """lianggai._joined_gaps (texts built for the households with a gap only) gives what the
    Series arithmetic gave: each gap followed by “；”, then every trailing “；” stripped."""
    from fupin_audit.rules.lianggai import _joined_gaps

    parts = [np.array([row[i] for row in rows], dtype=object) for i in range(4)]
    frame = pd.DataFrame({i: part for i, part in enumerate(parts)})
    joined = pd.Series("", index=frame.index, dtype=object)
    for i in range(4):
        part = frame[i].astype(object)
        joined = joined + part.where(part == "", part + "；")
    assert _joined_gaps(parts).tolist() == joined.str.rstrip("；").tolist()


PLACES = st.sampled_from([None, "城关镇", "城西村", "东山村", "城西"])


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(PLACES, PLACES), min_size=1, max_size=15),
    st.lists(st.tuples(PLACES, PLACES), max_size=8),
    st.booleans(),
)
def test_households_outside_the_village_table_as_the_multiindex_found_them(households, villages, by_township):
    """DQ038's matching on integer codes (dq_household._unlisted) flags what the (乡, 村) MultiIndex
    look-up flagged: pairs, villages listed without 乡, households without 乡."""
    from fupin_audit.rules.dq_household import _unlisted

    h_town = pd.Series([t for t, _ in households], dtype=object)
    h_village = pd.Series([v for _, v in households], dtype=object)
    v_town = pd.Series([t for t, _ in villages], dtype=object)
    v_village = pd.Series([v for _, v in villages], dtype=object)
    names = set(v_village.dropna())
    if by_township:
        wildcard = set(v_village[v_town.isna() & v_village.notna()])
        listed = v_town.notna() & v_village.notna()
        pairs = pd.MultiIndex.from_arrays([v_town[listed], v_village[listed]])
        pair_ok = pd.MultiIndex.from_arrays([h_town, h_village]).isin(pairs)
        matched = (
            pair_ok | h_village.isin(wildcard).to_numpy() | (h_town.isna() & h_village.isin(names)).to_numpy()
        )
    else:
        matched = h_village.isin(names).to_numpy()
    expected = h_village.notna().to_numpy() & ~np.asarray(matched, dtype=bool)
    got = _unlisted(h_town, h_village, v_town if by_township else None, v_village)
    assert got.tolist() == expected.tolist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["健康", "长期慢性病", "患有大病", "残疾", "智力残疾"]),
        min_size=1,
        max_size=5,
        unique=True,
    ),
    st.lists(st.integers(-1, 4), max_size=20),
)
def test_values_of_a_code_column_are_mapped_as_its_texts(categories, at):
    """facts.cells.map_values judges a categorical on its categories (unused ones too): per row the
    result the distinct values of its texts give, NA → func(None)."""
    from fupin_audit.facts.cells import map_values

    codes = np.array([a if a < len(categories) else -1 for a in at], dtype=np.int8)
    column = pd.Series(pd.Categorical.from_codes(codes, categories=categories))
    seen = []

    def judge(value):
        seen.append(value)
        return value is None or "病" in value

    got = map_values(column, judge, bool)
    want = map_values(column.astype(object), lambda v: v is None or "病" in v, bool)
    assert got.tolist() == want.tolist()
    assert None in seen and set(seen) - {None} == set(categories)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(["男", "女", "", " 男"])), max_size=20))
def test_id_sex_texts_are_factorized_as_pandas_does(values):
    """schema.idnumber._factorize (arrow's hash for arrow text) gives pd.factorize's codes and values."""
    from fupin_audit.schema.idnumber import _factorize

    for series in (pd.Series(values, dtype="str"), pd.Series(values, dtype=object)):
        codes, uniques = _factorize(series)
        want_codes, want_uniques = pd.factorize(series, use_na_sentinel=True)
        assert codes.tolist() == want_codes.tolist() and uniques == list(want_uniques)


def test_id_columns_asked_for_alone_are_those_of_the_whole_classification():
    from fupin_audit.schema.idnumber import KEY_COLUMNS, classify_ids

    raw = pd.Series(
        ["110101199003074514", "110101900307451", None, "000000000000000000", "12345", " 110101199003074514 ",
         "1101011990030745140X", "11010119900307451X"],
        dtype="str",
    )  # fmt: skip
    whole = classify_ids(raw)
    assert list(whole.columns) == list(KEY_COLUMNS)
    for wanted in [("person_key", "person_number"), ("kind",), ("upgraded", "normalized")]:
        part = classify_ids(raw, wanted)
        assert sorted(part.columns) == sorted(wanted)
        pd.testing.assert_frame_equal(part, whole[[c for c in KEY_COLUMNS if c in wanted]])


def test_the_shared_id_analysis_is_the_full_one_without_its_details():
    from fupin_audit.schema.idnumber import analyse_ids

    raw = pd.Series(
        ["110101199003074514", "110101900307451", None, "000000000000000000", "12345", "1101011990030745140X",
         "110101199002304514", "11010119900307451x"],
        dtype="str",
    )  # fmt: skip
    reference = pd.Timestamp("2017-12-31")
    full = analyse_ids(raw, reference, person_keys=True)
    shared = analyse_ids(raw, reference, person_keys=True, details=False)
    kept = [c for c in full.columns if c not in ("normalized", "kind", "region", "upgraded")]
    assert list(shared.columns) == kept
    pd.testing.assert_frame_equal(shared, full[kept])
    assert "person_key" not in analyse_ids(raw, reference)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text("0123456789", min_size=10, max_size=12),
            st.text("1389０１２-+ x", min_size=0, max_size=12),
            st.sampled_from(
                [
                    "13912345678",
                    "12912345678",
                    "1391234567８",
                    "139123456789",
                    "",
                    "１3912345678",
                    "1391234567x",
                    "x3912345678",
                    "-",
                ]
            ),
        ),
        max_size=25,
    ),
    st.integers(0, 3),
)
def test_plain_mobiles_are_the_texts_the_pattern_matches(texts, skip):
    """facts.phones._plain_mobiles (read off the bytes) agrees with arrow's ^1[3-9][0-9]{9}$, nulls
    and sliced arrays included."""
    import pyarrow.compute as pc

    from fupin_audit.facts.phones import _ASCII_MOBILE, _plain_mobiles
    from fupin_audit.schema.fields import arrow_mask

    array = pa.array(texts, type=pa.large_string()).slice(min(skip, len(texts)))
    expected = arrow_mask(pc.match_substring_regex(array, _ASCII_MOBILE))
    assert _plain_mobiles(array).tolist() == expected.tolist()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.sampled_from(["健康", " 健康", "健康\u3000", "残疾", "", " ", "长期慢性病"])),
        max_size=20,
    ),
    st.lists(st.sampled_from(["健康", "", "残疾", "长期慢性病", "患有大病"]), max_size=5),
)
def test_text_in_on_arrow_text_is_the_isin_of_its_texts(cells, values):
    """facts.values.text_in of an arrow text column (compared by arrow kernels, NA as "", stripped)
    is `text(series).isin(values)`, for no, few and many values."""
    from fupin_audit.facts.values import text, text_in

    series = pd.Series(cells, dtype="str")
    expected = text(series).isin(values).tolist()
    assert text_in(series, tuple(values)).tolist() == expected
    assert text_in(series, frozenset(values)).tolist() == expected


def _only_plain_by_pattern(array: pa.Array):
    """`_only_plain` as it was: the plain-decimal pattern and the length limit over every text."""
    import pyarrow.compute as pc

    from fupin_audit.schema.fields import _PLAIN_DECIMAL, _PLAIN_MAX, _cast_floats

    plain = pc.and_(
        pc.match_substring_regex(array, _PLAIN_DECIMAL), pc.less_equal(pc.utf8_length(array), _PLAIN_MAX)
    )
    if pc.any(pc.and_not(pc.not_equal(array, ""), plain)).as_py():
        return None
    return _cast_floats(array, plain)


_ODD_AMOUNTS = ["1e5", "1E5", "2e-3", "inf", "-inf", "nan", "NaN", "Infinity", " 5", "5 ", "+5", "5.", ".5",
                "+.5", "-0", "-0.0", "0x1", "1_0", "١٢", "--5", "+-5", "", "-", "+", ".", "5..", "1,5",
                "1234567890123456", "123456789012345", "12345678901234.5", "-12345678901234"]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.from_regex(r"[+-]?[0-9]{1,15}(\.[0-9]{0,4})?", fullmatch=True),
            st.text(alphabet="0123456789.+-eEinfaINFAxX _,١", max_size=17),
        ),
        max_size=12,
    ),
    st.lists(st.sampled_from(_ODD_AMOUNTS), max_size=2),
    st.integers(0, 2),
)
def test_plain_amount_columns_are_read_as_the_pattern_read_them(texts, odd, skip):
    """The cast-first test of an amount column gives what the plain-decimal pattern gave: the same
    floats for a column of plain decimals, and the general way (None) for any other."""
    from fupin_audit.schema.fields import _only_plain

    array = pa.array(["1", *texts, *odd], type=pa.large_string()).slice(min(skip, len(texts) + 1))
    got, expected = _only_plain(array), _only_plain_by_pattern(array)
    assert (got is None) == (expected is None)
    if got is not None:
        np.testing.assert_array_equal(got, expected)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["", " ", "1", " 1", "1 ", "2", "10", "x"])), max_size=30)
)
def test_flat_household_rows_are_those_drop_duplicates_kept(keys):
    """A flat export's household rows: each 户编号's first row among the rows with a key, in order."""
    from fupin_audit.load import first_households

    hid = pd.Series(keys, dtype="str", index=[f"r{i}" for i in range(len(keys))])
    frame = pd.DataFrame({"户编号": hid, "n": range(len(keys))}, index=hid.index)
    key = hid.fillna("").str.strip()
    expected = frame[key != ""].drop_duplicates("户编号", keep="first")
    pd.testing.assert_frame_equal(frame.iloc[first_households(hid)], expected)


@given(
    st.lists(st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True, width=64)), max_size=40),
    st.lists(st.one_of(st.none(), st.integers(-(2**40), 2**40)), max_size=40),
    st.lists(st.one_of(st.none(), st.sampled_from(["", "甲", "a", "0", "nan"])), max_size=40),
)
def test_texts_per_value_render_every_row_with_missing_for_na(floats, ints, texts):
    """`texts_per_value` renders each distinct value once; per row that is the rendering of the row's
    value, and `missing` for NA (NaN, None, pd.NA) — never the rendering of an NA."""
    from fupin_audit.facts.cells import texts_per_value
    from fupin_audit.rules.kit.format import money

    cases = [
        (pd.Series(floats, dtype="float64"), money),
        (pd.Series(ints, dtype="Int64"), str),
        (pd.Series(texts, dtype="str"), lambda v: f"“{v}”"),
    ]
    for series, render in cases:
        got = texts_per_value(series, render, "?")
        expected = ["?" if pd.isna(v) else render(v) for v in series.tolist()]
        assert got.tolist() == expected and got.index.equals(series.index)
