"""Tests for the vectorised 证件号码 analyser (DQ010–DQ018).

python-stdnum is the independent oracle for check characters and calendar dates, so a wrong weight
or an off-by-one in the date arithmetic cannot hide behind tests written from the same assumptions
as the code.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from fupin_audit.io.cells import cell_text
from fupin_audit.schema.idnumber import (
    FLAGS,
    KINDS,
    analyse_ids,
    compare_with_columns,
    known_region_codes,
    normalise_id,
)

REFERENCE = pd.Timestamp("2020-12-31")
# Real codes: the pilot county (宿松县), its neighbour (怀宁县) and a spread over other provinces.
REAL_REGIONS = ["340826", "340822", "110101", "110105", "320102", "440305", "510104", "650102"]
HARD_FLAGS = ["DQ010", "DQ011", "DQ012", "DQ013", "DQ017"]
COLUMNS = [
    "normalized",
    "kind",
    "birth_date",
    "sex",
    "region",
    "upgraded",
    *FLAGS,
    *(f"msg_{f}" for f in FLAGS),
]

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def with_check(body17: str) -> str:
    """Complete 17 digits with the check character computed by stdnum (the oracle)."""
    assert len(body17) == 17
    return body17 + ric.calc_check_digit(body17 + "0")


def make_id(region: str, born: dt.date | str, seq: int) -> str:
    date_text = born if isinstance(born, str) else born.strftime("%Y%m%d")
    return with_check(f"{region}{date_text}{seq:03d}")


def analyse_one(value: object, reference: pd.Timestamp | None = REFERENCE) -> pd.Series:
    return analyse_ids(pd.Series([value], dtype=object), reference).iloc[0]


def raised(row: pd.Series) -> set[str]:
    return {flag for flag in FLAGS if row[flag]}


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


regions = st.sampled_from(REAL_REGIONS)
seqs = st.integers(0, 999)


@st.composite
def valid_ids(draw: st.DrawFn, min_year: int = 1900, max_year: int = 2017) -> str:
    born = draw(st.dates(dt.date(min_year, 1, 1), dt.date(max_year, 12, 31)))
    return make_id(draw(regions), born, draw(seqs))


def test_real_regions_are_known() -> None:
    codes = known_region_codes()
    assert all(int(code) in codes for code in REAL_REGIONS)
    # Abolished codes stay valid: 北京 崇文区 (110103) and 宣武区 (110104) were merged in 2010.
    assert 110103 in codes and 110104 in codes
    assert 990826 not in codes


DISABILITY = make_id("110101", dt.date(2000, 1, 1), 123) + "21"  # a 残疾人证号: the ID and two digits


@SETTINGS
@given(
    st.lists(valid_ids(), min_size=1, max_size=30, unique=True),
    st.sampled_from(
        [
            ["12345"],
            [DISABILITY],
            ["999999199001011234"],
            ["11010119900101123Y"],
            ["999999199001011234", DISABILITY],  # as many long rows as plain ones
        ]
    ),
)
def test_the_common_case_shortcuts_give_what_the_general_path_gives(ids: list[str], odd: list[str]) -> None:
    """A column of distinct, plain 18-digit IDs takes shortcuts (slices instead of takes, the digit
    matrix used as it is); one odd value (short, 20-digit, placeholder, malformed), an empty cell and a
    repeat send it down the general path. The IDs' own rows must come out the same either way."""
    alone = analyse_ids(pd.Series(ids, dtype="str"), pd.Timestamp("2017-12-31"), person_keys=True)
    # an empty cell and a repeat: rows are no longer one distinct value each (takes, not slices)
    column = pd.Series([*ids, *odd, None, ids[0]], dtype="str")
    mixed = analyse_ids(column, pd.Timestamp("2017-12-31"), person_keys=True)
    # message columns are categoricals of the column's messages: compared by value
    pd.testing.assert_frame_equal(alone, mixed.iloc[: len(ids)], check_categorical=False, check_dtype=False)
    for i, value in enumerate(odd):  # and the odd values' rows are what they are on their own
        single = analyse_ids(pd.Series([value], dtype="str"), pd.Timestamp("2017-12-31"), person_keys=True)
        row = mixed.iloc[[len(ids) + i]].set_axis(single.index)
        pd.testing.assert_frame_equal(single, row, check_categorical=False, check_dtype=False)
    assert alone.dtypes.astype(str).str.replace("category", "").tolist() == [
        d.replace("category", "") for d in mixed.dtypes.astype(str)
    ]


def test_the_division_table_follows_stdnum_s_numdb() -> None:
    """schema.gbt2260 reads stdnum's cn/loc once for the ID checks and the region names: the same
    codes and names as walking numdb.get("cn/loc") the documented way."""
    from stdnum import numdb

    from fupin_audit.schema.gbt2260 import divisions

    table = divisions()
    walked: set[int] = set()
    for _length, low, high, _props, children in numdb.get("cn/loc").prefixes:
        for province in range(int(low), int(high) + 1):
            for _c_length, c_low, c_high, _c_props, _ in children:
                walked.update(province * 10_000 + c for c in range(int(c_low), int(c_high) + 1))
    assert table.codes.tolist() == sorted(walked)
    assert table.provinces["34"] == "安徽省" and len(table.provinces) == 34
    assert table.counties["340826"] == ("宿松县",)
    assert table.counties["120110"] == ("东丽区", "东郊区")  # renamed 1992: the latest name first
    assert "340800" in {f"{c:06d}" for c in table.codes} and "340800" not in table.counties  # 安庆市


def test_the_plain_table_reader_agrees_with_numdb_and_leaves_other_forms_to_it() -> None:
    """The table is read with one pattern when every line has stdnum's plain form; any other line
    (a range of codes, another property, a deeper level) leaves the whole table to numdb."""
    import importlib.resources

    from fupin_audit.schema.gbt2260 import _names, _read_numdb, _read_plain

    text = importlib.resources.files("stdnum").joinpath("cn/loc.dat").read_text("utf-8")
    plain, walked = _read_plain(text), _read_numdb(text)
    assert plain is not None
    assert plain.provinces == walked.provinces and plain.counties == walked.counties
    assert plain.codes.tolist() == walked.codes.tolist()
    ranged = text.replace('  0826 county="[1988-]宿松县"', '  0826-0827 county="[1988-]宿松县"')
    assert ranged != text and _read_plain(ranged) is None
    assert _read_numdb(ranged).counties["340826"] == ("宿松县",)  # numdb reads the range
    for other in ('34 province="安徽省" note="x"', '    082601 town="孚玉镇"', '  0826 county="a"b"'):
        assert _read_plain(text + other + "\n") is None, other
    small = '# comment\n\n11 province="北京市"\n  0100 county="市辖区"\n  0103 county="[-2010]崇文区,[2010-]东城区"\n'
    # the names: the years in brackets dropped, as the pattern ^\[[^\]]*\] dropped them
    era = re.compile(r"^\[[^\]]*\]")
    for written in [
        *re.findall(r'county="([^"]*)"', text),
        "[",
        "[]x",
        "[2010-]",
        "a,,b",
        " [1-]c ",
        "[x]y]z",
        "]a",
    ]:
        names = [era.sub("", n).strip() for n in written.split(",")]
        assert _names(written) == tuple(reversed([n for n in names if n])), written
    # forms today's table does not have: a padded name, an empty one, an empty province name
    odd = '12 province=""\n  0101 county=" 和平区 "\n  0102 county=""\n  0103 county="河东区"\n'
    assert _read_plain(odd) is not None
    assert _read_plain(odd).provinces == _read_numdb(odd).provinces == {"12": ""}
    assert _read_plain(odd).counties == _read_numdb(odd).counties
    read, expected = _read_plain(small), _read_numdb(small)
    assert read is not None and read.counties == expected.counties == {"110103": ("东城区", "崇文区")}
    assert read.codes.tolist() == expected.codes.tolist() == [110100, 110103]


# --------------------------------------------------------------------------------------------------
# property tests against stdnum


@SETTINGS
@given(st.lists(valid_ids(), min_size=1, max_size=30))
def test_valid_ids_raise_no_error(ids: list[str]) -> None:
    result = analyse_ids(pd.Series(ids), REFERENCE)
    assert list(result.columns) == COLUMNS
    for value, (_, row) in zip(ids, result.iterrows(), strict=True):
        assert row["kind"] == "id18"
        assert not any(row[flag] for flag in HARD_FLAGS), row.to_dict()
        assert not row["DQ016"] and not row["DQ018"] and not row["DQ014"]
        assert row["normalized"] == value
        assert row["birth_date"] == pd.Timestamp(ric.get_birth_date(value))
        assert row["sex"] == ("男" if int(value[16]) % 2 else "女")
        assert row["region"] == value[:6]
        assert pd.isna(row["upgraded"])
        assert all(row[f"msg_{flag}"] == "" for flag in FLAGS)


@SETTINGS
@given(valid_ids(), st.integers(0, 17), st.integers(0, 9))
def test_one_changed_digit_flags_dq011_exactly_when_stdnum_disagrees(
    value: str, position: int, digit: int
) -> None:
    mutated = value[:position] + str(digit) + value[position + 1 :]
    row = analyse_one(mutated)
    oracle = ric.calc_check_digit(mutated)
    wrong = oracle != mutated[17]
    if wrong and mutated.endswith("000"):
        # What Excel leaves of an 18-digit number: reported as lost precision instead.
        assert raised(row) == {"DQ013"}
        return
    assert row["DQ011"] == wrong
    assert not row["DQ010"] and not row["DQ013"] and not row["DQ017"]
    if wrong:
        assert row["msg_DQ011"] == f"证件号码校验位应为 {oracle}，实为 {mutated[17]}"
    else:
        assert row["msg_DQ011"] == ""


BROKEN_DATES = {
    "month 13": lambda y: f"{y}1301",
    "month 00": lambda y: f"{y}0015",
    "day 32": lambda y: f"{y}0132",
    "day 00": lambda y: f"{y}0700",
    "Feb 30": lambda y: f"{y}0230",
    "Apr 31": lambda y: f"{y}0431",
}


@SETTINGS
@given(regions, st.integers(1900, 2017), st.sampled_from(sorted(BROKEN_DATES)), seqs)
def test_impossible_birth_date_with_valid_checksum_is_dq012(
    region: str, year: int, broken: str, seq: int
) -> None:
    date_text = BROKEN_DATES[broken](year)
    value = make_id(region, date_text, seq)
    with pytest.raises(InvalidComponent):
        ric.get_birth_date(value)
    row = analyse_one(value)
    assert raised(row) == {"DQ012"}
    assert pd.isna(row["birth_date"])
    assert date_text in row["msg_DQ012"]
    assert "不是有效日期" in row["msg_DQ012"]


@SETTINGS
@given(regions, st.integers(1900, 2017).filter(lambda y: not calendar.isleap(y)), seqs)
def test_feb_29_only_in_leap_years(region: str, year: int, seq: int) -> None:
    common = make_id(region, f"{year}0229", seq)
    leap = make_id(region, "20000229", seq)
    result = analyse_ids(pd.Series([common, leap]), REFERENCE)
    assert result["DQ012"].tolist() == [True, False]
    assert f"{year} 年 2 月没有 29 日" in result["msg_DQ012"].iat[0]
    assert result["birth_date"].iat[1] == pd.Timestamp("2000-02-29")


@SETTINGS
@given(st.text("0123456789", min_size=17, max_size=17))
def test_lower_case_x_is_dq018_and_otherwise_the_upper_case_verdict(body: str) -> None:
    upper, lower = body + "X", body + "x"
    result = analyse_ids(pd.Series([upper, lower]), REFERENCE)
    up, low = result.iloc[0], result.iloc[1]
    assert low["normalized"] == upper
    others = [c for c in COLUMNS if c not in ("DQ018", "msg_DQ018")]
    pd.testing.assert_series_equal(up[others], low[others], check_names=False)
    if up["kind"] == "id18":
        assert up["DQ011"] == (ric.calc_check_digit(upper) != "X")
        assert low["DQ018"] and low["msg_DQ018"] == "小写 x 改为 X"
    assert not up["DQ018"]


@SETTINGS
@given(
    st.one_of(valid_ids(), st.text("0123456789", min_size=17, max_size=17).map(lambda b: b + "X")),
    st.sets(st.sampled_from(["lower", "wide", "space", "quote", "wrap"]), min_size=1),
    st.lists(st.tuples(st.integers(0, 18), st.sampled_from([" ", "\u3000", "\u200b", "\ufeff", "\t"]))),
)
def test_dressed_values_are_noted_and_otherwise_checked_normally(
    value: str, dressing: set[str], spaces: list[tuple[int, str]]
) -> None:
    """Clean-up must not change the verdict, and the note must list exactly what was cleaned."""
    if "wrap" in dressing:  # a leading ' inside ="…" is not something Excel produces
        dressing.discard("quote")
    if "lower" in dressing and not value.endswith("X"):
        dressing.discard("lower")
    if not spaces:
        dressing.discard("space")
    dressed = value
    if "lower" in dressing:
        dressed = dressed.lower()
    if "wide" in dressing:
        dressed = fullwidth(dressed)
    if "space" in dressing:
        for at, char in sorted(spaces, reverse=True):
            dressed = dressed[:at] + char + dressed[at:]
    if "quote" in dressing:
        dressed = "'" + dressed
    if "wrap" in dressing:
        dressed = f'="{dressed}"'
    notes = [
        note
        for key, note in [
            ("wide", "全角字符转半角"),
            ("space", "去除空格/零宽字符"),
            ("wrap", '去除 ="…" 包装'),
            ("quote", "去除前导单引号"),
            ("lower", "小写 x 改为 X"),
        ]
        if key in dressing
    ]
    result = analyse_ids(pd.Series([value, dressed]), REFERENCE)
    plain, cleaned = result.iloc[0], result.iloc[1]
    others = [c for c in COLUMNS if c not in ("DQ018", "msg_DQ018")]
    pd.testing.assert_series_equal(plain[others], cleaned[others], check_names=False)
    assert cleaned["normalized"] == value
    assert not plain["DQ018"]
    assert cleaned["DQ018"] == bool(notes)
    assert cleaned["msg_DQ018"] == "；".join(notes)
    normalised = normalise_id(pd.Series([dressed]))
    assert normalised.iloc[0].tolist() == [value, "；".join(notes)]


@SETTINGS
@given(valid_ids(max_year=1999))
def test_15_digit_upgrade_agrees_with_stdnum(value18: str) -> None:
    value15 = value18[:6] + value18[8:17]
    row = analyse_one(value15)
    assert row["kind"] == "id15"
    assert raised(row) == {"DQ014"}
    assert row["upgraded"] == value18
    assert row["upgraded"][17] == ric.calc_check_digit(row["upgraded"])
    assert value18 in row["msg_DQ014"]
    assert row["birth_date"] == pd.Timestamp(ric.get_birth_date(value18))
    assert row["sex"] == ("男" if int(value15[14]) % 2 else "女")


# --------------------------------------------------------------------------------------------------
# Excel: a real workbook written by openpyxl and read back the way the project reads files


def test_ids_excel_stored_as_numbers_are_dq013(tmp_path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    from python_calamine import CalamineWorkbook

    good = make_id("340826", dt.date(1990, 1, 1), 123)
    other = make_id("340822", dt.date(1975, 6, 30), 42)
    cells = [
        (int(good), "number"),  # typed into a General cell: Excel keeps 15 significant digits
        (float(other), "number"),
        (good, "text"),
        (other, "text"),
        (good + ".0", "text .0"),  # a number exported through a float then re-typed as text
        (340826900101123, "number, 15 digits"),  # legacy IDs fit a double exactly: nothing lost
    ]
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "家庭成员"
    sheet.append(["证件号码", "类型"])
    for value, label in cells:
        sheet.append([value, label])
    path = tmp_path / "members.xlsx"
    book.save(path)

    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("家庭成员").to_python()
    read = [row[0] for row in rows[1:]]
    assert isinstance(read[0], float) and isinstance(read[2], str)  # the file really holds numbers
    texts = pd.Series([cell_text(v) for v in read])
    assert texts[0] == "3.40826199001011E+17"
    result = analyse_ids(texts, REFERENCE)

    assert result["DQ013"].tolist() == [True, True, False, False, True, False]
    for i in (0, 1, 4):
        assert raised(result.iloc[i]) == {"DQ013"}
        assert result["kind"].iat[i] == "excel_number"
        assert "无法恢复" in result["msg_DQ013"].iat[i]
        assert texts[i] in result["msg_DQ013"].iat[i]
    assert result["msg_DQ013"].iat[0] == (
        "证件号码被 Excel 存成数字（3.40826199001011E+17），精度已丢失，无法恢复真实号码"
    )
    for i in (2, 3):
        assert raised(result.iloc[i]) == set()
    assert result["kind"].iat[5] == "id15"


@pytest.mark.parametrize(
    "text",
    [
        "3.40826199001011E+17",
        "3.40826E+17",
        "3.40826e+17",
        "3.4082619900101E17",
        "340826199001011234.0",
        "1.5",
    ],
)
def test_scientific_and_decimal_text_is_dq013_only(text: str) -> None:
    row = analyse_one(text)
    assert row["kind"] == "excel_number"
    assert raised(row) == {"DQ013"}
    assert pd.isna(row["birth_date"]) and pd.isna(row["sex"]) and pd.isna(row["region"])


def test_18_digits_ending_000_only_suspicious_when_checksum_wrong() -> None:
    rounded = "340826199001011000"  # what Excel shows for 340826199001011234 formatted as "0"
    assert ric.calc_check_digit(rounded) != "0"
    row = analyse_one(rounded)
    assert raised(row) == {"DQ013"}
    assert "000" in row["msg_DQ013"] and "无法恢复真实号码" in row["msg_DQ013"]
    # A genuine ID can end in 000 (sequence 100, check 0): no accusation.
    genuine = next(
        v for s in range(0, 1000, 10) if (v := make_id("340826", dt.date(1990, 1, 1), s)).endswith("000")
    )
    assert raised(analyse_one(genuine)) == set()


# --------------------------------------------------------------------------------------------------
# near misses and the other kinds


def test_valid_x_check_character_is_accepted() -> None:
    value = next(v for s in range(1000) if (v := make_id("340826", dt.date(1985, 3, 7), s)).endswith("X"))
    row = analyse_one(value)
    assert row["kind"] == "id18" and raised(row) == set()
    wrong = value[:17] + "3"
    assert analyse_one(wrong)["msg_DQ011"] == "证件号码校验位应为 X，实为 3"


def test_birth_on_reference_date_is_fine_one_day_later_is_not() -> None:
    on = make_id("340826", dt.date(2020, 12, 31), 11)
    after = make_id("340826", dt.date(2021, 1, 1), 11)
    result = analyse_ids(pd.Series([on, after]), REFERENCE)
    assert result["DQ012"].tolist() == [False, True]
    assert result["msg_DQ012"].iat[1] == "证件号码中的出生日期 20210101 晚于数据基准日 2020-12-31"
    # Without a reference date the future test is skipped, never judged against "today".
    assert not analyse_ids(pd.Series([after]))["DQ012"].iat[0]


def test_per_row_reference_dates() -> None:
    value = make_id("340826", dt.date(2019, 6, 1), 12)
    raw = pd.Series([value, value, value, None], index=["a", "b", "c", "d"])
    reference = pd.Series(
        pd.to_datetime(["2018-12-31", "2019-12-31", None, "2018-12-31"]), index=["a", "b", "c", "d"]
    )
    result = analyse_ids(raw, reference)
    assert result["DQ012"].tolist() == [True, False, False, False]
    assert "2018-12-31" in result["msg_DQ012"].iat[0]
    assert list(result.index) == ["a", "b", "c", "d"]


def test_1900_boundary() -> None:
    first = make_id("340826", dt.date(1900, 1, 1), 5)
    before = make_id("340826", dt.date(1899, 12, 31), 5)
    result = analyse_ids(pd.Series([first, before]), REFERENCE)
    assert result["DQ012"].tolist() == [False, True]
    assert result["msg_DQ012"].iat[1] == "证件号码中的出生日期 18991231 早于 1900-01-01"
    assert result["birth_date"].iat[0] == pd.Timestamp("1900-01-01")


def test_disability_certificate_number() -> None:
    base = make_id("340826", dt.date(1968, 8, 8), 331)
    row = analyse_one(base + "12")
    assert row["kind"] == "disability20" and raised(row) == set()
    assert row["birth_date"] == pd.Timestamp("1968-08-08") and row["sex"] == "男"
    broken = base[:17] + ("0" if base[17] != "0" else "1") + "12"
    row = analyse_one(broken)
    assert raised(row) == {"DQ011"}
    assert "残疾人证号前 18 位" in row["msg_DQ011"]


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_residence_permits_are_not_unknown_regions(prefix: str) -> None:
    row = analyse_one(make_id(prefix, dt.date(1988, 2, 2), 7))
    assert row["kind"] == "id18" and raised(row) == set()


def test_unknown_region_is_a_warning_only() -> None:
    row = analyse_one(make_id("990826", dt.date(1988, 2, 2), 7))
    assert raised(row) == {"DQ016"}
    assert row["msg_DQ016"] == "地区码 990826 不在任何一版 GB/T 2260 行政区划代码中"


def test_code_created_after_birth_is_still_known() -> None:
    # 110115 大兴区 dates from 2001; stdnum.ric.validate would reject someone born there in 1980.
    value = make_id("110115", dt.date(1980, 5, 5), 21)
    assert not ric.is_valid(value)
    assert raised(analyse_one(value)) == set()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("111111111111111111", "同一数字重复"),
        ("000000000000000000", "同一数字重复"),  # ends in 000 with a wrong check, yet no DQ013
        ("999999199001011234", "以 999999 开头"),
        ("999999999999999999", "同一数字重复"),
        ("0", "同一数字重复"),
    ],
)
def test_placeholders_are_dq017_only(value: str, reason: str) -> None:
    row = analyse_one(value)
    assert row["kind"] == "placeholder"
    assert raised(row) == {"DQ017"}
    assert reason in row["msg_DQ017"] and value in row["msg_DQ017"]


@pytest.mark.parametrize(
    ("value", "fragments"),
    [
        ("34082619900101123", ["长度 17 位"]),
        ("3408261990010112345", ["长度 19 位"]),
        ("3408261990-0101-1234", ["长度 20 位", "“-”"]),
        ("张三", ["长度 2 位", "“张”", "“三”"]),
        ("34082619900X011234", ["长度 18 位", "X 只能作为第 18 位校验码"]),
        ("34082619900101123Y", ["长度 18 位", "“Y”"]),  # 17 digits, then neither a digit nor X
        ("3408261990010112-4", ["长度 18 位", "“-”"]),
        ("34082619900101123", ["应为 18 位"]),
    ],
)
def test_malformed_values_are_dq010_only(value: str, fragments: list[str]) -> None:
    row = analyse_one(value)
    assert row["kind"] == "malformed"
    assert raised(row) == {"DQ010"}
    for fragment in fragments:
        assert fragment in row["msg_DQ010"]
    assert pd.isna(row["region"]) and pd.isna(row["sex"])


def test_malformed_after_clean_up_gets_no_dq018() -> None:
    row = analyse_one("３４０８２６")
    assert raised(row) == {"DQ010"}
    assert normalise_id(pd.Series(["３４０８２６"]))["normalisations"].iat[0] == "全角字符转半角"


@pytest.mark.parametrize("value", [None, np.nan, "", "   ", "\u200b"])
def test_empty_values_raise_nothing(value: object) -> None:
    row = analyse_one(value)
    assert row["kind"] == "empty" and row["normalized"] == ""
    assert raised(row) == set()


def test_empty_series_and_index_preserved() -> None:
    empty = analyse_ids(pd.Series([], dtype="str"), REFERENCE)
    assert list(empty.columns) == COLUMNS and len(empty) == 0
    value = make_id("340826", dt.date(1990, 1, 1), 2)
    raw = pd.Series([value, None, value, "bad"], index=[7, 7, 3, 1])
    result = analyse_ids(raw, REFERENCE)
    assert result.index.equals(raw.index)
    assert result["kind"].tolist() == ["id18", "empty", "id18", "malformed"]
    assert result["sex"].tolist()[0] == "女"
    assert set(result["kind"]) <= set(KINDS)
    assert result["birth_date"].dtype == "datetime64[ns]"


def test_numbers_handed_over_are_rendered_like_a_spreadsheet() -> None:
    result = analyse_ids(pd.Series([3.40826199001011e17, 340826900101123], dtype=object), REFERENCE)
    assert result["kind"].tolist() == ["excel_number", "id15"]


# --------------------------------------------------------------------------------------------------
# DQ015


def test_compare_with_columns() -> None:
    man = make_id("340826", dt.date(1990, 1, 1), 11)
    woman = make_id("340826", dt.date(1992, 2, 2), 12)
    analysis = analyse_ids(pd.Series([man, man, woman, woman, "bad", man, man]), REFERENCE)
    sex = pd.Series(["男", "女", "女", None, "男", "女", "男"])
    birth = pd.to_datetime(
        pd.Series(["1990-01-01", "1990-01-01", "1992-02-03", "1990-01-01", "1990-01-01", None, "1991-01-01"])
    )
    result = compare_with_columns(analysis, sex, birth)
    assert list(result.columns) == ["sex_mismatch", "birth_mismatch", "msg_DQ015"]
    assert result["sex_mismatch"].tolist() == [False, True, False, False, False, True, False]
    assert result["birth_mismatch"].tolist() == [False, False, True, True, False, False, True]
    assert result["msg_DQ015"].iat[0] == ""
    assert result["msg_DQ015"].iat[1] == "证件号码显示性别为男，性别列为女"
    assert result["msg_DQ015"].iat[2] == "证件号码显示出生日期 1992-02-02，出生日期列为 1992-02-03"
    assert result["msg_DQ015"].iat[4] == ""  # malformed ID: nothing derivable, nothing compared

    none = compare_with_columns(analysis, None, None)
    assert not none["sex_mismatch"].any() and not none["birth_mismatch"].any()
    assert (none["msg_DQ015"] == "").all()


def test_compare_ignores_time_of_day() -> None:
    value = make_id("340826", dt.date(1990, 1, 1), 11)
    analysis = analyse_ids(pd.Series([value]))
    result = compare_with_columns(analysis, None, pd.Series([pd.Timestamp("1990-01-01 08:30")]))
    assert not result["birth_mismatch"].iat[0]


# --------------------------------------------------------------------------------------------------
# vectorisation


def _pool(rng: np.random.Generator, n: int) -> list[str]:
    regions = np.array([*REAL_REGIONS, "990826", "810000"])
    born = np.datetime64("1890-01-01") + rng.integers(0, 50_000, n).astype("timedelta64[D]")
    pool = []
    for i, (region, day, seq) in enumerate(
        zip(rng.choice(regions, n), born.astype(str), rng.integers(0, 1000, n), strict=True)
    ):
        value = make_id(str(region), day.replace("-", ""), int(seq))
        match i % 10:
            case 1:
                value = value[:17] + str((i // 10) % 10)  # often a wrong check character
            case 2:
                value = value[:6] + value[8:17]
            case 3:
                value = fullwidth(value.lower()) + " "
            case 4:
                value = value[:10] + "1331" + value[14:]
            case 5:
                value = f"{float(value[:17] + '0'):.14E}"
            case 6:
                value = value + "12"
            case 7:
                value = value[:-1]
        pool.append(value)
    return [*pool, "", "999999999999999999", "张三"]


def test_200k_rows_equal_unique_then_reindex() -> None:
    rng = np.random.default_rng(20200)
    pool = np.array(_pool(rng, 60_000), dtype=object)
    raw = pd.Series(pool[rng.integers(0, len(pool), 200_000)], dtype=object)
    raw[rng.integers(0, len(raw), 500)] = None
    raw.index = pd.RangeIndex(1_000_000, 1_200_000)
    reference = pd.Series(pd.Timestamp("2017-12-31"), index=raw.index)

    result = analyse_ids(raw, reference)

    uniques = pd.Series(raw.unique(), dtype=object)
    per_value = analyse_ids(uniques, pd.Timestamp("2017-12-31"))
    position = pd.Index(uniques).get_indexer(raw)
    expected = per_value.iloc[position].set_axis(raw.index)
    pd.testing.assert_frame_equal(result, expected)

    # And the checksum verdict agrees with stdnum on every distinct 18-digit value.
    ids18 = per_value[per_value["kind"] == "id18"]
    oracle = [ric.calc_check_digit(v) != v[17] for v in ids18["normalized"]]
    assert ids18["DQ011"].tolist() == oracle
    assert {"id18", "id15", "disability20", "excel_number", "malformed", "empty", "placeholder"} <= set(
        result["kind"]
    )
    assert result[list(FLAGS)].any().all()


def _id_cells() -> st.SearchStrategy[object]:
    """ID cells as counties write them: valid 18-digit IDs (some with an X check character), their
    15-digit legacy form, 残疾人证号, noise the normalising removes, and values that name nobody."""
    valid = valid_ids(1900, 1999)
    return st.one_of(
        valid,
        valid.map(lambda i: i[:6] + i[8:17]),  # the legacy form of the same person
        valid.map(lambda i: i + "21"),  # a 残疾人证号
        valid.map(lambda i: " " + i.lower() + "\u3000"),
        valid.map(fullwidth),
        st.just(make_id("110101", dt.date(1990, 1, 1), 21)),  # ends in X
        st.sampled_from(
            [
                "",
                None,
                "999999199001011234",
                "111111111111111111",
                "12345",
                "3.40826E+17",
                "abc",
                "340826199001011000",
            ]
        ),
        st.text(alphabet="0123456789X", min_size=17, max_size=19),  # bad check characters, odd lengths
    )


@SETTINGS
@given(st.lists(_id_cells(), max_size=40))
def test_person_numbers_are_the_person_keys_as_integers(values: list[object]) -> None:
    """The integer joins (facts.keys.person_numbers) rest on this: a row's `person_number` is its
    `person_key`'s 17-digit body × 11 plus its check character (X = 10), and -1 where the key is NA —
    so equal numbers, equal keys, in every table."""
    from fupin_audit.schema.idnumber import classify_ids

    column = pd.Series(values, dtype=object)
    keys = classify_ids(column)
    expected = [
        -1 if pd.isna(k) else int(k[:17]) * 11 + (10 if k[17] == "X" else int(k[17]))
        for k in keys["person_key"]
    ]
    assert keys["person_number"].tolist() == expected
    analysed = analyse_ids(column, REFERENCE, person_keys=True)
    assert analysed["person_number"].tolist() == expected


@SETTINGS
@given(st.lists(st.text(alphabet="0123456789Xx /０é", max_size=6), max_size=30), st.integers(0, 3))
def test_only_digits_x_is_the_pattern(texts: list[str], skip: int) -> None:
    """The byte test that spares the ID normaliser its regular expressions answers ^[0-9X]*$ (and the
    plain-ID test's ^[0-9]*[0-9X]?$), on a sliced array too."""
    from fupin_audit.schema.idnumber import _only_digits_x

    array = pa.array(["x" * skip, *texts], type=pa.large_string()).slice(1)
    assert _only_digits_x(array).tolist() == [re.fullmatch("[0-9X]*", t) is not None for t in texts]
    assert _only_digits_x(array, x_last=True).tolist() == [
        re.fullmatch("[0-9]*[0-9X]?", t) is not None for t in texts
    ]


def test_lower_case_x_before_trailing_empty_cells_is_normalised() -> None:
    """An ID ending in a lower-case x whose distinct value is followed only by empty ones: its x was
    left out of the byte test (the empty strings' starts were clamped onto it), so it skipped the
    normalising and came out malformed (DQ010) instead of a noted ID (DQ018)."""
    lower = make_id("110101", dt.date(1990, 1, 1), 4).lower()
    assert lower.endswith("x")
    out = analyse_ids(pd.Series(["340826199001011234", lower, ""], dtype="str"), REFERENCE)
    assert out["kind"].tolist()[1] == "id18" and out["DQ018"].tolist()[1] and not out["DQ010"].any()


@SETTINGS
@given(st.lists(st.text(alphabet="0123456789X", max_size=22), max_size=30), st.integers(0, 3), st.data())
def test_leading_bytes_are_the_strings_first_bytes(texts: list[str], skip: int, data: st.DataObject) -> None:
    """The ID analyser's byte matrices: the first bytes of the chosen strings, whether they lie back to
    back in the buffer (read as they are) or not (packed first), on a sliced array too."""
    from fupin_audit.schema.idnumber import _leading_bytes

    width = data.draw(st.integers(1, 20))
    array = pa.array(["1" * skip, *texts], type=pa.large_string()).slice(1)
    long_enough = [i for i, t in enumerate(texts) if len(t) >= width]
    positions = np.array(
        data.draw(st.lists(st.sampled_from(long_enough), unique=True)) if long_enough else [], dtype=np.int64
    )
    positions.sort()
    got = _leading_bytes(array, positions, width)
    assert got.shape == (len(positions), width)
    assert [bytes(row).decode() for row in got] == [texts[i][:width] for i in positions]


def test_days_since_epoch_of_every_date_an_id_can_write() -> None:
    """The birth date's day number, read off the per-year and per-month tables, is numpy's proleptic
    Gregorian day for every valid date of the years four digits can write (0001–9999)."""
    from fupin_audit.schema.idnumber import _LEAP_YEAR, _days_since_epoch

    days = np.arange(np.datetime64("0001-01-01"), np.datetime64("10000-01-01"))
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    month = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (days - days.astype("datetime64[M]")).astype(np.int64) + 1
    assert (_days_since_epoch(year, month, day) == days.astype(np.int64)).all()
    assert [y for y in range(10_000) if _LEAP_YEAR[y]] == [y for y in range(10_000) if calendar.isleap(y)]
