"""Field specifications: the metadata every schema field carries, and how a cell of each kind parses.

A `Spec` sits in the `Annotated[...]` metadata of a pydantic model field. Two parsers read it:
`parse_scalar` (one cell; pydantic calls it, so `Model.model_validate(row)` is the reference
behaviour) and `parse_column` (a whole column at once, over its unique values; what the tool uses).
A property test keeps the two in agreement.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
import unicodedata
import weakref
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.io.dictionary import Encoding, known_encoding
from fupin_audit.schema.codes import MULTI_SEPARATORS, code_list, normalise_label


class Kind(StrEnum):
    TEXT = "text"
    ID_NUMBER = "id_number"  # checked by the DQ010–DQ018 rules, not here
    PHONE = "phone"  # checked by DQ044
    CODE = "code"
    YESNO = "yesno"
    INT = "int"
    MONEY = "money"
    NUMBER = "number"
    DATE = "date"
    YEAR = "year"
    MONTH = "month"  # a calendar month, kept as the integer YYYYMM (识别监测时间 202304)


@dataclass(frozen=True)
class Spec:
    kind: Kind
    aliases: tuple[str, ...] = ()
    required: bool = False
    codelist: str | None = None
    multi: int = 1  # how many codes one cell may hold (健康状况 "残疾,长期慢性病")
    ge: float | None = None
    le: float | None = None
    household_level: bool = False  # in a flat member export, the column describes the household
    closed: bool = True  # False: values outside the code list are kept as written, not reported


def Text(*aliases: str, required: bool = False, household_level: bool = False) -> Spec:
    return Spec(Kind.TEXT, aliases, required, household_level=household_level)


def IdNumber(*aliases: str, required: bool = False, household_level: bool = False) -> Spec:
    return Spec(Kind.ID_NUMBER, aliases, required, household_level=household_level)


def Phone(*aliases: str, household_level: bool = False) -> Spec:
    return Spec(Kind.PHONE, aliases, household_level=household_level)


def Code(
    codelist: str,
    *aliases: str,
    required: bool = False,
    multi: int = 1,
    household_level: bool = False,
    closed: bool = True,
) -> Spec:
    return Spec(Kind.CODE, aliases, required, codelist, multi, household_level=household_level, closed=closed)


def YesNo(*aliases: str, required: bool = False, household_level: bool = False) -> Spec:
    return Spec(Kind.YESNO, aliases, required, "是否", household_level=household_level)


def Int(
    *aliases: str,
    ge: float | None = None,
    le: float | None = None,
    required: bool = False,
    household_level: bool = False,
) -> Spec:
    return Spec(Kind.INT, aliases, required, ge=ge, le=le, household_level=household_level)


def Money(*aliases: str, ge: float | None = 0, required: bool = False, household_level: bool = False) -> Spec:
    return Spec(Kind.MONEY, aliases, required, ge=ge, household_level=household_level)


def Number(
    *aliases: str,
    ge: float | None = None,
    le: float | None = None,
    household_level: bool = False,
) -> Spec:
    return Spec(Kind.NUMBER, aliases, ge=ge, le=le, household_level=household_level)


def Date(*aliases: str, required: bool = False, household_level: bool = False) -> Spec:
    return Spec(Kind.DATE, aliases, required, household_level=household_level)


def Year(*aliases: str, required: bool = False, household_level: bool = False) -> Spec:
    return Spec(Kind.YEAR, aliases, required, household_level=household_level)


def Month(*aliases: str, required: bool = False, household_level: bool = False) -> Spec:
    """A month such as 识别监测时间: 202304, 2023-04, 2023年4月, 2023.04, or a full date (its month)."""
    return Spec(Kind.MONTH, aliases, required, household_level=household_level)


# ---------------------------------------------------------------------------------------------
# Shared lexical rules (used by both parsers)

# What real exports put in a cell that means "nothing here".
EMPTY_MARKERS = frozenset({"", "-", "--", "—", "/", "\\", "NULL", "null", "None", "nan", "NaN", "N/A", "n/a"})
EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1900, 2100
INT_LIMIT = 2**53  # whole numbers beyond this are not exact in a double, nor plausible counts

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
# Separators, currency signs and a unit written after the number (1,200元, 3个月, 2.5亩, 120平方米): the
# units are CJK, so such a cell is never on the ASCII (arrow) path, which has no unit to strip. Only
# units a numeric field is counted in: “3天” in 务工时间 (months) stays a problem, not 3 months.
_NUMBER_NOISE = re.compile(r"[,\s¥￥]|(?:元|个月|月|亩|人|户|个|平方米|平米|公里|千米|岁|次)$")
_DATE_YMD = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_YEAR_ONLY = re.compile(r"^(\d{4})(?:年|\.0+)?$")
# A month without a day: 202304, 2023-04, 2023/4, 2023.04, 2023年4月 (首次识别时间 "2013年12月").
_MONTH_ONLY = re.compile(r"^(\d{4})(?:\s*[-/.年]\s*(\d{1,2})\s*月?|(\d{2}))$")

DQ_EMPTY, DQ_CODE, DQ_NUMBER, DQ_DATE = "DQ002", "DQ003", "DQ004", "DQ005"


class FieldProblem(ValueError):
    """A cell that fails its field spec; `code` is the DQ rule that reports it."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(f"{code}: {message}")


def clean_text(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def is_empty(text: str | None) -> bool:
    return text is None or clean_text(str(text)) in EMPTY_MARKERS


# ---------------------------------------------------------------------------------------------
# One cell


def _scalar_number(text: str) -> float | None:
    compact = _NUMBER_NOISE.sub("", clean_text(text))
    return float(compact) if _NUMBER.match(compact) else None


def _scalar_date(text: str) -> dt.date | None:
    text = clean_text(text)
    if m := _DATE_YMD.match(text) or _DATE_COMPACT.match(text):
        y, mo, d = (int(g) for g in m.groups())
        try:
            value = dt.date(y, mo, d)
        except ValueError:
            return None
    elif m := _DATE_SERIAL.match(text):
        value = EXCEL_EPOCH + dt.timedelta(days=int(m.group(1)))
    else:
        return None
    return value if MIN_YEAR <= value.year <= MAX_YEAR else None


def _scalar_year(text: str) -> int | None:
    if m := _YEAR_ONLY.match(clean_text(text)):
        year = int(m.group(1))
        return year if MIN_YEAR <= year <= MAX_YEAR else None
    if (month := _scalar_month(text)) is not None:
        return month // 100
    date = _scalar_date(text)
    return date.year if date else None


def _scalar_month(text: str) -> int | None:
    """YYYYMM of a month or of a date's month; None when neither."""
    text = clean_text(text)
    if m := _MONTH_ONLY.match(text):
        year, month = int(m.group(1)), int(m.group(2) or m.group(3))
        ok = MIN_YEAR <= year <= MAX_YEAR and 1 <= month <= 12
        return year * 100 + month if ok else None
    date = _scalar_date(text)
    return date.year * 100 + date.month if date else None


def _range_text(spec: Spec) -> str:
    low = "" if spec.ge is None else f"{spec.ge:g}"
    high = "" if spec.le is None else f"{spec.le:g}"
    return f"{low}–{high}" if high else f"≥ {low}"


def _code_labels(spec: Spec, text: str) -> str | None:
    codes = code_list(spec.codelist or "")
    parts = [p for p in MULTI_SEPARATORS.split(clean_text(text)) if p] if spec.multi > 1 else [text]
    labels = [codes.label(p) for p in parts]
    if not labels or None in labels or len(set(labels)) > spec.multi:
        return None
    return ",".join(dict.fromkeys(labels))  # type: ignore[arg-type]


def parse_scalar(spec: Spec, name: str, raw: object) -> object:
    """Parse one cell; raise FieldProblem with the DQ code that would report it."""
    if raw is None or (isinstance(raw, float) and np.isnan(raw)):
        raw = ""
    text = str(raw)
    if is_empty(text):
        if spec.required:
            raise FieldProblem(DQ_EMPTY, f"必填项 {name} 为空")
        return None
    kind = spec.kind
    if kind in (Kind.CODE, Kind.YESNO):
        label = _code_labels(spec, text)
        if label is None and not spec.closed:
            return clean_text(text)
        if label is None:
            raise FieldProblem(DQ_CODE, f"{name} “{text}” 不在代码表中")
        return label == "是" if kind is Kind.YESNO else label
    if kind in (Kind.INT, Kind.MONEY, Kind.NUMBER):
        value = _scalar_number(text)
        if value is None:
            raise FieldProblem(DQ_NUMBER, f"{name} “{text}” 不是数字")
        if kind is Kind.INT and not value.is_integer():
            raise FieldProblem(DQ_NUMBER, f"{name} {text} 不是整数")
        if kind is Kind.INT and abs(value) >= INT_LIMIT:
            raise FieldProblem(DQ_NUMBER, f"{name} {text} 超出范围")
        if (spec.ge is not None and value < spec.ge) or (spec.le is not None and value > spec.le):
            raise FieldProblem(DQ_NUMBER, f"{name} {text} 超出范围 {_range_text(spec)}")
        return int(value) if kind is Kind.INT else value
    if kind is Kind.DATE:
        date = _scalar_date(text)
        if date is None:
            raise FieldProblem(DQ_DATE, f"{name} “{text}” 不是有效日期")
        return date
    if kind is Kind.YEAR:
        year = _scalar_year(text)
        if year is None:
            raise FieldProblem(DQ_DATE, f"{name} “{text}” 不是有效年份")
        return year
    if kind is Kind.MONTH:
        month = _scalar_month(text)
        if month is None:
            raise FieldProblem(DQ_DATE, f"{name} “{text}” 不是有效年月（应为 YYYYMM，如 202304）")
        return month
    return clean_text(text)


# ---------------------------------------------------------------------------------------------
# A whole column, over its unique values
#
# A province holds millions of rows, so a column is parsed once per *distinct* text, with pyarrow
# kernels wherever they give exactly the Python result (plain ASCII and CJK text, i.e. nearly every
# cell); only the rare distinct texts that need Unicode-aware work (NFKC of full-width forms,
# non-ASCII digits or spaces) go through the Python path. The per-row result is one `take`.

PROBLEM_CODES = ("", DQ_EMPTY, DQ_CODE, DQ_NUMBER, DQ_DATE)
EMPTY_SET = pa.array(sorted(EMPTY_MARKERS), type=pa.large_string())
# Text made only of these characters is left unchanged by NFKC: none of them has a decomposition and
# none composes with a neighbour (ASCII, CJK Unified Ideographs and Extension A; every code point is
# checked in tests/test_scaling.py).
_NFKC_STABLE = r"^[\x00-\x7F\x{3400}-\x{4DBF}\x{4E00}-\x{9FFF}]*$"
# What Python's \s (str.isspace) means on ASCII text, spelled for RE2 (whose \s misses \v and \x1c–\x1f).
_ASCII_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f "
# _NUMBER_NOISE and _NUMBER restricted to ASCII text (元 and ￥ cannot occur there, $ is \z once
# every whitespace character is removed).
_ASCII_NOISE = f"[,{_ASCII_SPACE}]"
_ASCII_NUMBER = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


@dataclass
class ParsedColumn:
    values: pd.Series  # typed values, NA where empty or invalid
    problem: pd.Series  # "" or the DQ code (DQ002/3/4/5) per row (categorical)
    message: pd.Series  # "" or the message per row (categorical)


ARROW_TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' "str" dtype


def is_arrow_text(values: pd.Series | pd.Index) -> bool:
    """Whether a column (or index) is text held by arrow (pandas' "str" dtype, pyarrow storage)."""
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


def arrow_text(values: pd.Series | pd.api.extensions.ExtensionArray | np.ndarray) -> pa.Array:
    """Text as one arrow large_string array (zero-copy from pyarrow-backed pandas strings)."""
    array = pa.array(values.array if isinstance(values, pd.Series) else values, type=pa.large_string())
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def str_series(array: pa.Array | pa.ChunkedArray, index: pd.Index | None = None) -> pd.Series:
    """An arrow string array as a pandas "str" Series (NaN for null), wrapping the arrow buffers:
    not `to_pandas().astype("str")`, which made a Python string of every value and back."""
    texts = pd.arrays.ArrowStringArray(array.cast(pa.large_string()), dtype=ARROW_TEXT)
    return pd.Series(texts, index=index, copy=False)


# The arrow arrays behind typed text columns (kinds TEXT and PHONE), which validation made
# clean: NFKC, stripped, null where empty. Reading them as text (`facts.values.text`) then strips
# nothing: at 100,000 households a rule's `text(members["姓名"])` took 10 ms, and the rules ask for
# typed text columns about sixty times. Kept by identity while the array lives (an arrow array cannot
# change, so a mark never goes stale; a column replaced or sliced is a new array, stripped as before).
_CLEAN: dict[int, weakref.ref] = {}


def mark_clean(values: pd.Series) -> None:
    """Note that `values` (pandas' arrow "str" dtype) holds only clean text, as validation makes it."""
    if values.dtype == ARROW_TEXT:
        array = values.array.__arrow_array__()  # the column's own arrow array (pa.array would wrap it anew)
        key = id(array)
        _CLEAN[key] = weakref.ref(array, lambda _gone, key=key: _CLEAN.pop(key, None))


def known_clean(array: pa.Array | pa.ChunkedArray) -> bool:
    """Whether `array` is one `mark_clean` noted (clean text: nothing to strip)."""
    ref = _CLEAN.get(id(array))
    return ref is not None and ref() is array


def arrow_mask(array: pa.Array) -> np.ndarray:
    """A boolean arrow array as a writable numpy mask (null → False)."""
    return np.array(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def text_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (n + 1, int64) and the UTF-8 bytes of a large_string array (a null's slot read as it lies)."""
    n = len(arr)
    _validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, dtype=np.uint8)
    return offsets, data


def _replace_at(array: pa.Array, positions: np.ndarray, replacement: list[str] | pa.Array) -> pa.Array:
    """`array` with the values at `positions` replaced (one take, no Python loop over the rest)."""
    if not len(positions):
        return array
    order = np.arange(len(array))
    order[positions] = len(array) + np.arange(len(positions))
    extra = (
        replacement if isinstance(replacement, pa.Array) else pa.array(replacement, type=pa.large_string())
    )
    return pc.take(pa.concat_arrays([array, extra.cast(array.type)]), pa.array(order))


def nfkc_stable(array: pa.Array, *, null: bool) -> np.ndarray:
    """Per text: made only of characters NFKC leaves alone (`_NFKC_STABLE`); `null` for a null. A
    column of ASCII texts (IDs, amounts, dates, codes) is answered by one cheap ASCII test instead of
    the regular expression."""
    ascii_ = pc.string_is_ascii(array)
    out = np.ones(len(array), dtype=bool) if null else arrow_mask(pc.is_valid(array))
    if pc.all(ascii_).as_py() is not False:  # every text ASCII (or none at all)
        return out
    # The regular expression only over the texts that are not ASCII (a few IDs with full-width
    # digits, or every name): ASCII is stable.
    others = np.flatnonzero(~arrow_mask(pc.fill_null(ascii_, True)))
    if 2 * len(others) > len(array):
        return arrow_mask(pc.fill_null(pc.match_substring_regex(array, _NFKC_STABLE), null))
    out[others] = arrow_mask(pc.match_substring_regex(pc.take(array, others), _NFKC_STABLE))
    return out


def fullmatches(array: pa.Array, pattern: re.Pattern, ascii_pattern: str) -> np.ndarray:
    """Per text: ``pattern.fullmatch(text)`` with Python's re, exactly (False for null). ASCII texts
    (nearly all) are matched by arrow's RE2 with `ascii_pattern`, the same pattern with ASCII classes
    (``[0-9]`` for ``\\d``: RE2's Unicode tables are not the running Python's); the others by Python."""
    out = arrow_mask(pc.match_substring_regex(array, f"^(?:{ascii_pattern})$"))
    others = np.flatnonzero(~arrow_mask(pc.fill_null(pc.string_is_ascii(array), True)))
    if len(others):
        out[others] = [pattern.fullmatch(t) is not None for t in array.take(others).to_pylist()]
    return out


# The longest empty marker: an ASCII text longer than this, or one that starts with a digit (no marker
# does), with no space at either end, is its own clean text (NFKC leaves ASCII alone, strip finds
# nothing) and no marker.
_LONGEST_MARKER = max(map(len, EMPTY_MARKERS))
# The ASCII bytes str.strip() strips (str.isspace): \t \n \v \f \r, \x1c–\x1f and the space.
_ASCII_STRIPPED = np.zeros(256, dtype=bool)
_ASCII_STRIPPED[[*range(0x09, 0x0E), *range(0x1C, 0x21)]] = True
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[ord("0") : ord("9") + 1] = True


def settled_texts(array: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Per text: whether it is certainly its own clean text (`clean_texts`) and not empty — ASCII, no
    space at either end, and longer than every empty marker or starting with a digit; and whether it
    is "" (clean, and empty). Nulls are neither. Read off the offsets and two bytes a text, after one
    ASCII test: IDs, amounts and phone numbers are nearly all one or the other, so their clean-up and
    marker look-up need only run over the few others."""
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    settled = arrow_mask(pc.string_is_ascii(array))  # null: False
    offsets, data = text_buffers(array)
    lengths = np.diff(offsets)
    blank = lengths == 0
    if array.null_count:
        blank &= arrow_mask(pc.is_valid(array))
    settled &= ~blank
    if settled.any():
        end = len(data) - 1  # a "" at the end starts past the bytes: its (unused) first byte is clamped
        first = data[np.minimum(offsets[:-1], end)]
        settled &= ~_ASCII_STRIPPED[first] & ~_ASCII_STRIPPED[data[offsets[1:] - 1]]
        settled &= (lengths > _LONGEST_MARKER) | _DIGIT[first]
    return settled, blank


def clean_and_empty(array: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """`clean_texts(array)`, and per text whether it is then an empty marker (`EMPTY_MARKERS`): both
    worked out only for the texts `settled_texts` does not answer for (the array itself is returned
    when cleaning changes none of them)."""
    settled, empty = settled_texts(array)
    rest = np.flatnonzero(~(settled | empty))
    if 2 * len(rest) > len(array):  # names, code texts: the whole column at once
        clean = clean_texts(array)
        return clean, arrow_mask(pc.is_in(clean, value_set=EMPTY_SET))
    if not len(rest):
        return array, empty
    some = pc.take(array, pa.array(rest))
    clean_some = clean_texts(some)
    empty[rest] = arrow_mask(pc.is_in(clean_some, value_set=EMPTY_SET))
    return (array if clean_some.equals(some) else _replace_at(array, rest, clean_some)), empty


def clean_texts(array: pa.Array) -> pa.Array:
    """`clean_text` of every value: NFKC (in Python only where it can change something), then strip.

    pyarrow's utf8_trim_whitespace strips exactly what str.strip() strips (every code point checked);
    its NFKC does not compose, so it is not used.
    """
    unstable = np.flatnonzero(~nfkc_stable(array, null=True))  # null stays null
    if len(unstable):
        texts = pc.take(array, pa.array(unstable)).to_pylist()
        array = _replace_at(array, unstable, [unicodedata.normalize("NFKC", t) for t in texts])
    return pc.utf8_trim_whitespace(array)


_SAMPLE = 20_000


# The share of a long column's sample that must be distinct for `mostly_distinct` (unless the kind's own)
MOSTLY_DISTINCT = 0.85


def mostly_distinct(array: pa.Array, share: float = MOSTLY_DISTINCT) -> bool:
    """Whether nearly all (over `share`, 85 %) of a strided sample of a long column are distinct
    values: hashing it to its distinct values would then cost more than it saves. A column with a
    good share of repeats (birth dates: ~70 % of the sample distinct, a tenth of the rows distinct)
    is hashed, which makes its parsing ten times cheaper. Only a guess about speed — code that asks
    gives the same result either way."""
    n = len(array)
    if n < 4 * _SAMPLE:
        return False
    sample = pc.take(array, pa.array(np.arange(0, n, n // _SAMPLE)[:_SAMPLE]))
    # arrow's unique, not count_distinct: the same count (less a null) in half the time — this runs
    # for every long column, some sixty times a check
    distinct = len(pc.unique(sample)) - (sample.null_count > 0)
    return distinct > _SAMPLE * share


# `mostly_distinct`'s share for the kinds whose own work per text is cheap next to arrow's hashing,
# so that hashing pays only when texts repeat a lot (measured per column at 100,000 households): a
# phone column with 46 % of its texts distinct took 56 ms hashed and 32 ms judged row by row; amounts
# break even near 60 %. Other kinds parse each text at some cost (dates, code lists): 85 %.
DISTINCT_SHARE = {Kind.PHONE: 0.25, Kind.MONEY: 0.6}


def encode_texts(
    raw: pd.Series,
    known: dict[tuple[int, ...], Encoding] | None = None,
    distinct_share: float = MOSTLY_DISTINCT,
) -> tuple[np.ndarray, pa.Array] | None:
    """For a pyarrow-backed text column: per row, the position of its text among the distinct texts
    (NA counts as ""), and those texts in first-seen order — `pd.factorize(raw.fillna(""))`, done by
    arrow's hash encoding directly (half the time). A column of mostly distinct texts (IDs, names,
    amounts) is not hashed: every row is then its own entry (codes 0…n-1), which every caller
    treats alike. A column the file encoded itself (a parquet dictionary; `known`) is not hashed
    either: its codes and texts are the file's, in the file's order (callers judge each text alone,
    so any order serves), with fewer texts than rows. None for a column that is not arrow text.
    `distinct_share`: `mostly_distinct`'s share (`DISTINCT_SHARE` of the column's kind)."""
    if not is_arrow_text(raw):
        return None
    array = pc.fill_null(arrow_text(raw), "")
    if (given := known_encoding(array, known)) is not None:
        return np.asarray(given.codes, dtype=np.intp), given.texts
    if mostly_distinct(array, distinct_share):
        return np.arange(len(array), dtype=np.intp), array
    encoded = pc.dictionary_encode(array)
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.intp)
    return codes, encoded.dictionary


def _unique_texts(
    raw: pd.Series, encoded: tuple[np.ndarray, pa.Array] | None = None
) -> tuple[np.ndarray, pd.Series]:
    """Per row: the position of its text among the distinct texts (NA counts as ""); and those texts."""
    encoded = encoded or encode_texts(raw)
    if encoded is not None:
        codes, uniques = encoded
        return codes, str_series(uniques)
    codes, uniques = pd.factorize(raw.fillna(""))
    if isinstance(uniques, pd.api.extensions.ExtensionArray) and isinstance(uniques.dtype, pd.StringDtype):
        texts = pd.Series(uniques).astype("str")
    else:
        texts = pd.Series(uniques, dtype=object).astype(str)
    return np.asarray(codes, dtype=np.intp), texts


def _vector_numbers(texts: pd.Series, clean: pd.Series | None = None) -> pd.Series:
    clean = texts.str.normalize("NFKC").str.strip() if clean is None else clean
    array = arrow_text(clean)
    if (quick := _only_plain(array)) is not None:
        return pd.Series(quick, index=texts.index)
    ascii_ = arrow_mask(pc.string_is_ascii(array))
    compact_arr = pc.replace_substring_regex(array, _ASCII_NOISE, "")
    match = arrow_mask(pc.match_substring_regex(compact_arr, _ASCII_NUMBER))
    others = np.flatnonzero(~ascii_)
    if len(others):  # Unicode spaces, ¥ / 元, non-ASCII digits: Python's re, as written
        sub = clean.iloc[others].str.replace(_NUMBER_NOISE, "", regex=True)
        compact_arr = _replace_at(compact_arr, others, sub.astype(object).tolist())
        match[others] = sub.str.match(_NUMBER).fillna(False).to_numpy(dtype=bool)
    plain = _plain_floats(compact_arr, match)
    if plain is not None:
        return pd.Series(plain, index=texts.index)
    compact = str_series(compact_arr)
    compact.index = texts.index
    numeric = compact.where(pd.Series(match, index=texts.index), None)
    return pd.to_numeric(numeric, errors="coerce").astype("float64")


# A short decimal without exponent: at most 15 digits, so the digits and the power of ten are exact
# doubles and every parser rounds once, to the same value as pandas' (checked in tests/test_scaling.py).
_PLAIN_DECIMAL = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"
_PLAIN_MAX = 15


def _only_plain(array: pa.Array) -> np.ndarray | None:
    """`_vector_numbers` of a column written the usual way, every text a short plain decimal or empty
    (“5207.70”): arrow's cast and a look at the bytes instead of the noise removal and three tests;
    None for any other column (whose texts then take the general way).

    Every text is `_PLAIN_DECIMAL` when the cast of the written ones succeeds (each is a number as
    arrow reads it), no byte is an e or E (no exponent), every value is finite (no inf or nan) and no
    text is longer than `_PLAIN_MAX`: what else arrow reads is exactly the pattern. Three times
    cheaper than matching the pattern, which nearly every amount column passes."""
    if not len(array):
        return _cast_floats(array, pa.array([], type=pa.bool_()))
    written = arrow_mask(pc.not_equal(array, ""))  # null: not written
    offsets, data = text_buffers(array)
    if (np.diff(offsets)[written] > _PLAIN_MAX).any():
        return None
    span = data[int(offsets[0]) : int(offsets[-1])]
    if ((span | 0x20) == ord("e")).any():  # an exponent, or a word: the pattern decides
        return None
    chosen = pa.array(written)
    try:
        values = _cast_floats(array, chosen)
    except pa.ArrowInvalid:  # a written text arrow does not read as a number
        return None
    if values is not None and not np.isfinite(values[written]).all():
        return None
    return values


def _plain_floats(compact: pa.Array, match: np.ndarray) -> np.ndarray | None:
    """`pd.to_numeric` of the texts where `match` (NaN elsewhere) by arrow's cast, several times faster;
    None when pandas must decide: a long or exponent form (its parser may round those differently) or
    a negative zero (whose sign pandas keeps or drops depending on the rest of the column)."""
    plain = pc.and_(
        pc.match_substring_regex(compact, _PLAIN_DECIMAL), pc.less_equal(pc.utf8_length(compact), _PLAIN_MAX)
    )
    if not np.array_equal(arrow_mask(plain) & match, match):
        return None
    return _cast_floats(compact, pa.array(match))


def _cast_floats(texts: pa.Array, chosen: pa.Array) -> np.ndarray | None:
    """The float of each `chosen` text (plain decimals), NaN elsewhere; None for a negative zero."""
    picked = pc.if_else(chosen, texts, pa.scalar(None, texts.type))
    values = np.array(pc.cast(picked, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    if np.signbit(values[values == 0]).any():
        return None
    return values


# The date and year patterns for RE2, exact on text made of ASCII and CJK ideographs only (no
# non-ASCII digits or spaces: Python's \d and \s mean the ASCII ones there; $ is the end of the
# text, which is stripped, so there is no final newline for Python's $ to stop before).
_S = f"[{_ASCII_SPACE}]*"
_RE2 = {
    _DATE_YMD: (
        f"^(?P<g0>[0-9]{{4}}){_S}[-/.年]{_S}(?P<g1>[0-9]{{1,2}}){_S}[-/.月]{_S}(?P<g2>[0-9]{{1,2}}){_S}日?"
        r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
    ),
    _DATE_COMPACT: r"^(?P<g0>[0-9]{4})(?P<g1>[0-9]{2})(?P<g2>[0-9]{2})$",
    _DATE_SERIAL: r"^(?P<g0>[0-9]{5})(?:\.[0-9]+)?$",
    _YEAR_ONLY: r"^(?P<g0>[0-9]{4})(?:年|\.0+)?$",
    _MONTH_ONLY: (f"^(?P<g0>[0-9]{{4}})(?:{_S}[-/.年]{_S}(?P<g1>[0-9]{{1,2}}){_S}月?|(?P<g2>[0-9]{{2}}))$"),
}


def _extract(clean: pd.Series, pattern: re.Pattern) -> pd.DataFrame:
    """`clean.str.extract(pattern)` (columns 0…k-1, NaN where no match): arrow's RE2 for the texts it
    judges exactly like Python's re (`_NFKC_STABLE` ones), Python's re for the rest."""
    array = arrow_text(clean)
    groups = pattern.groups
    exact = nfkc_stable(array, null=False)
    found = pc.extract_regex(array, _RE2[pattern])
    matched = arrow_mask(pc.is_valid(found))
    columns: dict[int, pa.Array] = {}
    for g in range(groups):
        field = pc.struct_field(found, [g])
        columns[g] = pc.if_else(pa.array(matched), field, pa.scalar(None, field.type))
    others = np.flatnonzero(~exact)
    frame = pd.DataFrame({g: str_series(columns[g], clean.index) for g in range(groups)}, index=clean.index)
    if len(others):
        slow = clean.iloc[others].str.extract(pattern)
        for g in range(groups):
            values = frame[g].to_numpy(dtype=object)
            values[others] = slow[g].to_numpy(dtype=object)
            frame[g] = pd.Series(values, index=clean.index).astype("str")
    return frame


def _by_position(parse):
    """A column parser that fills later forms in by label (the texts no earlier form matched), run on
    positions: texts with repeated index labels are parsed as any others, and keep their labels."""

    @functools.wraps(parse)
    def run(texts: pd.Series, clean: pd.Series | None = None, **options):
        index = texts.index
        if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
            return parse(texts, clean, **options)
        at = pd.RangeIndex(len(index))
        positional = None if clean is None else clean.set_axis(at)
        return parse(texts.set_axis(at), positional, **options).set_axis(index)

    return run


@_by_position
def _vector_dates(texts: pd.Series, clean: pd.Series | None = None) -> pd.Series:
    clean = texts.str.normalize("NFKC").str.strip() if clean is None else clean
    plain, ymd = _plain_dates(arrow_text(clean))
    if plain.all():
        parts = pd.DataFrame(dict(enumerate(ymd)), index=clean.index)
    else:
        others = clean[~plain]
        found = _extract(others, _DATE_YMD)
        # Each later form only for the texts no earlier form matched (their groups are all or none):
        # a column written one way is one pattern test, not three.
        if (rest := _unmatched(found[0], others)) is not None:
            found = found.fillna(_extract(others[rest], _DATE_COMPACT))
        found = _numbers(found)
        for g in range(3):
            ymd[g][~plain] = found[g].to_numpy()
        parts = pd.DataFrame(dict(enumerate(ymd)), index=clean.index)
    # A year pandas cannot hold in nanoseconds (0000, 9999) is simply not a valid date here.
    parts[0] = parts[0].where(parts[0].between(MIN_YEAR, MAX_YEAR))
    dates = pd.Series(calendar_dates(*(parts[g].to_numpy() for g in range(3))), index=parts.index)
    if (rest := _unmatched(parts[1], clean)) is not None:  # 年 out of range: still a form matched
        serial = pd.to_numeric(_extract(clean[rest], _DATE_SERIAL)[0], errors="coerce")
        dates = dates.fillna(pd.Timestamp(EXCEL_EPOCH) + pd.to_timedelta(serial, unit="D"))
    dates = dates.astype("datetime64[ns]")
    in_range = dates.dt.year.between(MIN_YEAR, MAX_YEAR)
    return dates.where(in_range)


def _plain_dates(array: pa.Array) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per text: written YYYY-MM-DD (ten ASCII bytes, - / or . between the numbers), as most date
    columns are; and for those the year, month and day (NaN for the others). Read off the bytes:
    `_DATE_YMD` matches exactly these texts with these groups, and its regular expression (with the
    struct of texts it makes) is then left for the other texts."""
    offsets, data = text_buffers(array)
    lengths = np.diff(offsets)
    rows = np.flatnonzero(lengths == 10)
    if array.null_count:
        rows = rows[arrow_mask(pc.is_valid(array))[rows]]
    ymd = [np.full(len(lengths), np.nan) for _ in range(3)]
    plain = np.zeros(len(lengths), dtype=bool)
    if not len(rows):
        return plain, ymd
    matrix = data[offsets[rows][:, None] + np.arange(10)]
    digits = matrix[:, _DATE_DIGITS] - np.uint8(ord("0"))  # a byte below "0" wraps round to ≥ 208
    separators = matrix[:, [4, 7]]
    shaped = (digits < 10).all(axis=1) & ((separators >= ord("-")) & (separators <= ord("/"))).all(axis=1)
    if not shaped.all():
        rows, digits = rows[shaped], digits[shaped]
    digits = digits.astype(np.float64)
    plain[rows] = True
    ymd[0][rows] = digits[:, 0] * 1000 + digits[:, 1] * 100 + digits[:, 2] * 10 + digits[:, 3]
    ymd[1][rows] = digits[:, 4] * 10 + digits[:, 5]
    ymd[2][rows] = digits[:, 6] * 10 + digits[:, 7]
    return plain, ymd


# The digits of YYYY-MM-DD; the bytes between them (4 and 7) are "-" "." or "/" (45, 46, 47).
_DATE_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]


def _numbers(parts: pd.DataFrame) -> pd.DataFrame:
    """``parts.astype("float64")`` of the digit groups a pattern captured (NaN where none): arrow's
    cast, a third of the time; pandas' float() where a group holds other digits (Python's re takes
    any Unicode digit for \\d, and float() reads them)."""
    columns = {}
    for g in parts:
        try:
            floats = pc.cast(arrow_text(parts[g]), pa.float64())
        except pa.ArrowInvalid:
            columns[g] = parts[g].astype("float64").to_numpy()
        else:
            columns[g] = floats.to_numpy(zero_copy_only=False)
    return pd.DataFrame(columns, index=parts.index)


def _unmatched(found: pd.Series, clean: pd.Series) -> np.ndarray | None:
    """Where no pattern matched a written text (None when there is no such text)."""
    rest = (found.isna() & (clean != "")).to_numpy(dtype=bool)
    return rest if rest.any() else None


def calendar_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """datetime64[us] of whole-number year, month and day arrays (NaT where any is missing or the
    day is not in the month): ``pd.to_datetime`` of a year/month/day frame with errors="coerce",
    in numpy's calendar units instead of pandas' row assembly."""
    known = ~(np.isnan(year) | np.isnan(month) | np.isnan(day))
    known &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (np.abs(year) < 200_000)
    months = np.where(known, (year - 1970) * 12 + month - 1, 0).astype(np.int64).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + np.where(known, day - 1, 0).astype(np.int64)
    known &= dates.astype("datetime64[M]") == months  # 31 April runs into May: not a date
    out = dates.astype("datetime64[us]")
    out[~known] = np.datetime64("NaT")
    return out


@_by_position
def _vector_years(texts: pd.Series, clean: pd.Series | None = None) -> pd.Series:
    clean = texts.str.normalize("NFKC").str.strip() if clean is None else clean
    plain = pd.to_numeric(_extract(clean, _YEAR_ONLY)[0], errors="coerce")
    plain = plain.where(plain.between(MIN_YEAR, MAX_YEAR))
    # a year, a month or a date: the longer forms only for the texts that are not a plain year
    if (rest := _unmatched(plain, clean)) is not None:
        texts, clean = texts[rest], clean[rest]
        plain = plain.fillna((_vector_months(texts, clean, dates=False) // 100).astype("float64"))
        plain = plain.fillna(_vector_dates(texts, clean).dt.year)
    return plain.astype("Int64")


@_by_position
def _vector_months(texts: pd.Series, clean: pd.Series | None = None, *, dates: bool = True) -> pd.Series:
    """YYYYMM per text (Int64, NA when not a month); `dates`: also take a full date's month."""
    clean = texts.str.normalize("NFKC").str.strip() if clean is None else clean
    parts = _extract(clean, _MONTH_ONLY)
    year, month, compact = (pd.to_numeric(parts[g], errors="coerce") for g in range(3))
    month = month.fillna(compact)
    ok = year.between(MIN_YEAR, MAX_YEAR) & month.between(1, 12)
    value = (year * 100 + month).where(ok)
    if dates and (rest := _unmatched(value, clean)) is not None:
        full = _vector_dates(texts[rest], clean[rest])
        value = value.fillna((full.dt.year * 100 + full.dt.month).astype("float64"))
    return value.astype("Int64")


def _nearest(spec: Spec, text: str) -> str:
    codes = code_list(spec.codelist or "")
    close = difflib.get_close_matches(normalise_label(text), codes.values, n=1, cutoff=0.3)
    return f"，最接近的有效值：{close[0]}" if close else f"，有效值：{'、'.join(codes.values[:8])}…"


class _Verdicts:
    """Problem code and message per distinct text, as small integers (messages are written only for
    the distinct texts that have a problem)."""

    def __init__(self, n: int) -> None:
        self.code = np.zeros(n, dtype=np.int8)  # index into PROBLEM_CODES
        self.message = np.zeros(n, dtype=np.int64)  # index into self.texts
        self.texts = [""]

    def set(self, mask: pd.Series | np.ndarray, code: str, messages: list[str] | str) -> None:
        where = np.flatnonzero(np.asarray(mask, dtype=bool))
        if not len(where):
            return
        self.code[where] = PROBLEM_CODES.index(code)
        start = len(self.texts)
        if isinstance(messages, str):
            self.texts.append(messages)
            self.message[where] = start
        else:
            self.texts.extend(messages)
            self.message[where] = start + np.arange(len(where))

    def rows(self, codes: np.ndarray, index: pd.Index) -> tuple[pd.Series, pd.Series]:
        """Per-row categoricals: every row with the same text shares its verdict."""
        if len(self.texts) == 1:  # no problem in the column (most columns): no look-up per row
            return (
                _from_codes(np.zeros(len(codes), dtype=np.int8), _PROBLEM_DTYPE, index),
                _from_codes(np.zeros(len(codes), dtype=np.int8), _NO_MESSAGE, index),
            )
        distinct, inverse = np.unique(np.array(self.texts, dtype=object), return_inverse=True)
        message = inverse[self.message]
        return (
            _from_codes(self.code[codes], _PROBLEM_DTYPE, index),
            _from_codes(message[codes], list(distinct), index),
        )


# Made once: a categorical's categories are checked for repeats each time a dtype is built.
_PROBLEM_DTYPE = pd.CategoricalDtype(list(PROBLEM_CODES))
_NO_MESSAGE = pd.CategoricalDtype([""])


def _from_codes(codes: np.ndarray, categories: list | pd.CategoricalDtype, index: pd.Index) -> pd.Series:
    dtype = categories if isinstance(categories, pd.CategoricalDtype) else pd.CategoricalDtype(categories)
    # codes made here, always within the categories: not checked again (a min and max per column)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype, validate=False), index=index, copy=False)


def _on_unique(spec: Spec, name: str, texts: pd.Series, clean: pd.Series, empty: pd.Series, values: bool):
    """Typed value per distinct text (None when not wanted) and the verdicts."""
    verdicts = _Verdicts(len(texts))
    kind = spec.kind
    out: pd.Series | None = None
    if kind in (Kind.CODE, Kind.YESNO):
        labels = texts.map(lambda t: _code_labels(spec, t))  # unique values only: a few dozen
        if not spec.closed:
            labels = labels.fillna(clean.where(~empty))
        bad = labels.isna() & ~empty
        verdicts.set(bad, DQ_CODE, [f"{name} “{t}” 不在代码表中{_nearest(spec, t)}" for t in texts[bad]])
        out = labels.eq("是").astype("boolean").where(labels.notna()) if kind is Kind.YESNO else labels
    elif kind in (Kind.INT, Kind.MONEY, Kind.NUMBER):
        out = _checked_numbers(spec, name, texts, _vector_numbers(texts, clean), empty, verdicts)
    elif kind is Kind.DATE:
        out = _vector_dates(texts, clean)
        bad = out.isna() & ~empty
        verdicts.set(bad, DQ_DATE, [f"{name} “{t}” 不是有效日期" for t in texts[bad]])
    elif kind is Kind.YEAR:
        out = _vector_years(texts, clean)
        bad = out.isna() & ~empty
        verdicts.set(bad, DQ_DATE, [f"{name} “{t}” 不是有效年份" for t in texts[bad]])
    elif kind is Kind.MONTH:
        out = _vector_months(texts, clean)
        bad = out.isna() & ~empty
        verdicts.set(
            bad, DQ_DATE, [f"{name} “{t}” 不是有效年月（应为 YYYYMM，如 202304）" for t in texts[bad]]
        )
    elif values:
        out = clean.where(~empty) if empty.any() else clean  # a copy of the column only to blank a few
    if spec.required:
        verdicts.set(empty, DQ_EMPTY, f"必填项 {name} 为空")
    return out, verdicts


def _checked_numbers(
    spec: Spec, name: str, texts: pd.Series, parsed: pd.Series, empty: pd.Series, verdicts: _Verdicts
) -> pd.Series:
    """The numbers of a numeric column's distinct texts, NaN (or NA) where a text is not a number,
    not a whole number (INT), or out of the spec's range — each with its verdict. Over numpy arrays:
    some twenty pandas operations a column otherwise."""
    values = parsed.to_numpy(dtype=np.float64, na_value=np.nan)
    known = ~np.isnan(values)
    unparsed = ~known & ~empty.to_numpy(dtype=bool)
    verdicts.set(unparsed, DQ_NUMBER, [f"{name} “{t}” 不是数字" for t in texts[unparsed]])
    wrong = np.zeros(len(values), dtype=bool)
    if spec.kind is Kind.INT:
        with np.errstate(invalid="ignore"):  # inf % 1 is nan: not a whole number
            not_int = known & (values % 1 != 0)
        verdicts.set(not_int, DQ_NUMBER, [f"{name} {t} 不是整数" for t in texts[not_int]])
        too_big = known & ~not_int & (np.abs(values) >= INT_LIMIT)
        verdicts.set(too_big, DQ_NUMBER, [f"{name} {t} 超出范围" for t in texts[too_big]])
        wrong = not_int | too_big
    valid = known & ~wrong
    bad_range = np.zeros(len(values), dtype=bool)
    if spec.ge is not None:
        bad_range |= valid & (values < spec.ge)
    if spec.le is not None:
        bad_range |= valid & (values > spec.le)
    verdicts.set(bad_range, DQ_NUMBER, [f"{name} {t} 超出范围 {_range_text(spec)}" for t in texts[bad_range]])
    out = pd.Series(np.where(wrong | bad_range, np.nan, values), index=texts.index)
    return out.round().astype("Int64") if spec.kind is Kind.INT else out


def _categorical(per_unique: pd.Series, codes: np.ndarray, index: pd.Index, categories: list) -> pd.Series:
    """Per-row categorical of a per-distinct-text series (labels outside `categories` become NA)."""
    positions = np.asarray(pd.Categorical(per_unique, categories=categories).codes)
    return _from_codes(positions[codes], categories, index)


def parse_column(spec: Spec, name: str, raw: pd.Series) -> ParsedColumn:
    """Parse a column of text cells per its spec, over its unique values."""
    return _parse(spec, name, raw)


def _parse(
    spec: Spec,
    name: str,
    raw: pd.Series,
    *,
    values: bool = True,
    encoded: tuple[np.ndarray, pa.Array] | None = None,
) -> ParsedColumn:
    """`parse_column`; values=False skips building the typed text (a caller that does not use it);
    `encoded`: the column's `encode_texts`, when the caller has it already."""
    codes, texts = _unique_texts(raw, encoded)
    array = arrow_text(texts)
    clean_arr, empty_np = clean_and_empty(array)
    clean = str_series(clean_arr)
    empty = pd.Series(empty_np, index=texts.index)
    per_unique, verdicts = _on_unique(spec, name, texts, clean, empty, values)
    problem, message = verdicts.rows(codes, raw.index)
    if per_unique is None:
        out = pd.Series(np.nan, index=raw.index, dtype="str")
    elif spec.kind is Kind.CODE and spec.multi == 1 and spec.closed:
        out = _categorical(per_unique, codes, raw.index, list(code_list(spec.codelist or "").values))
    elif (
        spec.kind in (Kind.TEXT, Kind.ID_NUMBER, Kind.PHONE)
        and isinstance(raw.dtype, pd.StringDtype)
        and raw.dtype.na_value is np.nan
        and not raw.hasnans
        and not empty_np.any()
        and (clean_arr is array or pc.all(pc.equal(clean_arr, array)).as_py() is not False)
    ):
        out = raw.copy(deep=False)  # already clean text: the typed column is the column as read
    elif len(per_unique) == len(codes):  # one entry per row, in row order: nothing to take
        out = per_unique.set_axis(raw.index)
    else:
        out = per_unique.take(codes)
        out.index = raw.index
    return ParsedColumn(out, problem, message)
