"""Resident ID numbers (GB 11643-1999), analysed a whole column at a time.

A province holds millions of members, and each ID is checked by several rules (DQ010–DQ018).
Everything here therefore works on the *distinct* raw values only, with pyarrow string kernels and
numpy arithmetic on a byte matrix; Python only loops over the few flagged distinct values to write
their messages. The per-row result is a cheap re-index (``take``) of the per-value result.

Corruptions are reported, never silently repaired: a value Excel turned into a number is
unrecoverable (DQ013), and cosmetic clean-up (full-width digits, spaces, lower-case x…) is done so
the ID can still be checked, but it is noted (DQ018) so the source can be fixed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.schema.fields import is_arrow_text, mostly_distinct, str_series, text_buffers

__all__ = [
    "FLAGS",
    "KINDS",
    "analyse_ids",
    "check_char",
    "compare_with_columns",
    "known_region_codes",
    "normalise_id",
    "normalised_ids",
]

KINDS = ("empty", "id18", "id15", "disability20", "excel_number", "placeholder", "malformed")
FLAGS = ("DQ010", "DQ011", "DQ012", "DQ013", "DQ014", "DQ016", "DQ017", "DQ018")

_EMPTY, _ID18, _ID15, _DIS20, _EXCEL, _PLACEHOLDER, _MALFORMED = range(len(KINDS))

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)


def weighted_sums(digits: np.ndarray) -> np.ndarray:
    """Per row of an (n, 17) array of digit values: the GB 11643 weighted sum (≤ 1 530). Column by
    column, not a matrix product: BLAS starts its own spinning threads, which on a machine of few
    cores take them from the threads running the other rules (25 ms here instead of 3)."""
    total = np.zeros(len(digits), dtype=np.int32)
    for j, weight in enumerate(WEIGHTS.tolist()):
        total += digits[:, j] * np.int32(weight)
    return total.astype(np.int64)


_CHECK_BYTES = np.frombuffer(b"10X98765432", dtype=np.uint8)
_ZERO = ord("0")
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_NS_PER_DAY = 86_400 * 10**9
# Residence permits for people from Hong Kong, Macau and Taiwan (2018): not in GB/T 2260 as counties,
# yet legitimate in a 证件号码 column.
_PERMIT_PROVINCES = np.array([81, 82, 83], dtype=np.int64)

# RE2 syntax (pyarrow). \s alone is ASCII-only in RE2, so Unicode separators and the zero-width
# characters that survive copy-paste from web forms are listed explicitly.
_SPACE_RE = r"[\s\p{Z}\x{200B}-\x{200D}\x{2060}\x{FEFF}]"
_WRAP_RE = r'^="(.*)"$'
_SCI_RE = r"^[+-]?[0-9]+(\.[0-9]*)?[Ee][+-]?[0-9]+$"
_DECIMAL_RE = r"^[+-]?([0-9]+\.[0-9]*|\.[0-9]+)$"
_PLACEHOLDER_RE = "^(" + "|".join(f"{d}+" for d in range(10)) + ")$|^999999"
_ID_SHAPE_RE = r"^[0-9]{15}$|^[0-9]{17}[0-9X]([0-9]{2})?$"

# Order is the order the notes appear in, and the bit order of the note mask.
_NOTES = (
    "全角字符转半角",
    "去除空格/零宽字符",
    '去除 ="…" 包装',
    "去除前导单引号",
    "小写 x 改为 X",
)
_NOTE_TEXT = np.array(
    ["；".join(n for bit, n in enumerate(_NOTES) if mask >> bit & 1) for mask in range(1 << len(_NOTES))],
    dtype=object,
)


def known_region_codes() -> np.ndarray:
    """Every 6-digit code in any historical GB/T 2260 version, as sorted int64.

    An ID keeps the code of its first registration forever, so a code abolished decades ago is
    still valid; only codes that never existed are suspicious.
    """
    from fupin_audit.schema.gbt2260 import divisions

    return divisions().codes


@functools.cache
def _known_regions() -> np.ndarray:
    """Per 6-digit number (0…999,999): a GB/T 2260 code of some version. A lookup per ID instead of
    np.isin, which sorts the 350,000 region codes of a county's members (15 → 1 ms)."""
    table = np.zeros(1_000_000, dtype=bool)
    table[known_region_codes()] = True
    return table


def check_char(first17: str) -> str:
    """Check character for 17 digits; exposed so callers and tests can build valid IDs."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS.tolist(), strict=True))
    return "10X98765432"[total % 11]


# --------------------------------------------------------------------------------------------------
# helpers on arrow / numpy


def distinct_texts(raw: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """Codes per row (NA → -1) and the distinct values as an arrow string array.

    Non-text cells (a caller handing over numbers) are rendered the way a spreadsheet shows them,
    so a float ID still reveals its lost precision instead of becoming a plausible string.
    """
    if is_arrow_text(raw):
        # arrow's hash encoding directly: the same codes and first-seen order as pd.factorize, twice as fast
        array = pa.array(raw.array, type=pa.large_string())
        if isinstance(array, pa.ChunkedArray):
            array = array.combine_chunks()
        if array.null_count == 0 and mostly_distinct(array):
            # IDs are nearly all distinct: every row is its own entry (everything here is per entry)
            return np.arange(len(array), dtype=np.intp), array
        encoded = pc.dictionary_encode(array)
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return np.asarray(codes, dtype=np.intp), encoded.dictionary.cast(pa.large_string())
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    if isinstance(uniques.dtype, pd.StringDtype):
        arr = pa.array(uniques)
    else:
        values = np.asarray(uniques, dtype=object)
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
            from fupin_audit.io.cells import cell_text

            values = np.array([v if isinstance(v, str) else cell_text(v) for v in values], dtype=object)
        arr = pa.array(values, type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return np.asarray(codes, dtype=np.intp), arr.cast(pa.large_string())


def _leading_bytes(arr: pa.Array, positions: np.ndarray, width: int) -> np.ndarray:
    """The first `width` bytes of the strings at `positions` (each at least that long) as an
    (n, width) matrix. Strings back to back in the buffer (a column of 18-digit IDs and nothing else)
    are read as they lie; others are packed by arrow's take (and cut to `width`) first: one copy
    instead of a gather per byte column (5 ms instead of 28 ms for a county's IDs with a few odd values)."""
    offsets, data = text_buffers(arr)
    starts = offsets[positions]
    if not len(positions):
        return np.empty((0, width), dtype=np.uint8)
    if starts[-1] + width <= len(data) and (np.diff(starts) == width).all():
        return data[starts[0] : starts[0] + len(starts) * width].reshape(len(starts), width)
    packed = pc.take(arr, pa.array(positions))
    if (offsets[positions + 1] - starts != width).any():
        packed = pc.utf8_slice_codeunits(packed, 0, width)  # ASCII here: code units are bytes
    packed_offsets, packed_data = text_buffers(packed.cast(pa.large_string()))
    start = packed_offsets[0]
    return packed_data[start : start + len(positions) * width].reshape(len(positions), width)


def _only_digits_x(arr: pa.Array, *, x_last: bool = False) -> np.ndarray:
    """Per string: every byte is a digit or X (``^[0-9X]*$``; `x_last`: X only as the last byte,
    ``^[0-9]*[0-9X]?$``); empty strings count as True. Byte arithmetic, not a 256-entry table lookup:
    five times faster over the 6 million bytes of a county's IDs."""
    offsets, data = text_buffers(arr)
    n = len(offsets) - 1
    if n <= 0:
        return np.zeros(0, dtype=bool)
    lengths = np.diff(offsets)
    body = data[offsets[0] : offsets[-1]]
    if not len(body):
        return np.ones(n, dtype=bool)
    # One slot more than the bytes, never bad: an empty string at the end starts there, so the string
    # before it keeps its last byte (clamping those starts to the last byte had cut it off).
    bad = np.zeros(len(body) + 1, dtype=bool)
    np.greater_equal(body - np.uint8(_ZERO), 10, out=bad[:-1])  # a byte below "0" wraps round to ≥ 208
    if x_last:
        last = (offsets[1:] - offsets[0] - 1)[lengths > 0]
        bad[last] &= body[last] != ord("X")
    else:
        bad[:-1] &= body != ord("X")
    out = ~np.logical_or.reduceat(bad, offsets[:-1] - offsets[0])
    out[lengths == 0] = True
    return out


def _plain_18(matrix: np.ndarray) -> np.ndarray:
    """Per row of an (n, 18) byte matrix: 17 digits, then a digit or X (``^[0-9]{17}[0-9X]$``)."""
    body = ((matrix[:, :17] - np.uint8(_ZERO)) < 10).all(axis=1)  # a byte below "0" wraps round to ≥ 208
    last = matrix[:, 17]
    return body & (((last - np.uint8(_ZERO)) < 10) | (last == ord("X")))


def _rows_where(
    matrix: np.ndarray, candidates: np.ndarray, test: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """`test(matrix)`, run only over the `candidates` rows (False elsewhere): a cheap test of one or two
    columns first, so the whole-row test touches the few rows that can pass it."""
    out = np.zeros(len(matrix), dtype=bool)
    at = np.flatnonzero(candidates)
    if len(at):
        out[at] = test(matrix[at])
    return out


def _np_bool(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _ascii_matrix(arr: pa.Array, width: int) -> np.ndarray:
    """View strings that are all exactly ``width`` ASCII bytes as an (n, width) uint8 matrix."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    n = len(arr)
    if n == 0:
        return np.empty((0, width), dtype=np.uint8)
    offset_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    _validity, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=offset_type)[arr.offset : arr.offset + n + 1]
    start, stop = int(offsets[0]), int(offsets[-1])
    if stop - start != n * width:
        raise ValueError("strings are not all of the expected width")
    return np.frombuffer(data_buf, dtype=np.uint8)[start:stop].reshape(n, width)


def _matrix_strings(matrix: np.ndarray) -> pa.Array:
    """Inverse of :func:`_ascii_matrix`: rows of ASCII bytes → arrow strings, without Python objects."""
    n, width = matrix.shape
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int64)
    data = np.ascontiguousarray(matrix, dtype=np.uint8)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data.tobytes()))


def _digits_value(digits: np.ndarray) -> np.ndarray:
    """Integer value of each row of a digit matrix (digits already minus '0')."""
    value = np.zeros(digits.shape[0], dtype=np.int64)
    for column in range(digits.shape[1]):  # in place: no new array per digit
        value *= 10
        value += digits[:, column]
    return value


# Per year 0–9999 (an ID's four digits): whether it is a leap year, and the days from 1970-01-01 to its
# 1 January in the proleptic Gregorian calendar (numpy's); per month 1–12, the days before it in a
# common year. Look-ups instead of integer division per ID (several times cheaper).
_YEAR_START = np.arange(-1970, 10_000 - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
_LEAP_YEAR = np.diff(_YEAR_START, append=_YEAR_START[-1] + 365) == 366
_MONTH_START = np.array([0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334], dtype=np.int64)


def _days_since_epoch(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of valid dates (years 0–9999)."""
    return _YEAR_START[year] + _MONTH_START[month] + (_LEAP_YEAR[year] & (month > 2)) + day - 1


def _messages(
    n_values: int, row_codes: np.ndarray, flagged: np.ndarray, make: Callable[[int], str]
) -> tuple[pa.Array, np.ndarray]:
    """Per-row message column from messages written only for the flagged distinct values.

    ``make(i)`` writes the message of distinct value ``i``; the result is an index into a small
    list of texts, so building a million-row column costs one ``take``.
    """
    texts = [make(int(i)) for i in flagged]
    texts.append("")
    index = np.full(n_values, len(texts) - 1, dtype=np.int64)
    index[flagged] = np.arange(len(flagged))
    return pa.array(texts, type=pa.large_string()), index[row_codes]


def _message_column(texts: pa.Array, at: np.ndarray, index: pd.Index) -> pd.Series:
    """Per row, `texts[at]` (mostly ""), as a categorical of the distinct texts: eight columns of
    millions of strings took ~200 MB at a million households, their codes a few MB."""
    encoded = pc.dictionary_encode(texts)  # one text per flagged value: the same text may recur
    codes = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int32)[at]
    categories = pd.Index(encoded.dictionary.to_pylist(), dtype="str")
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=index)


# --------------------------------------------------------------------------------------------------
# normalisation


def _normalise_unique(values: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Normalised text and a bit mask of the notes (bit i ↔ ``_NOTES[i]``) per distinct value."""
    clean = _only_digits_x(values)  # without a regex over millions of values
    normalised = values
    mask = np.zeros(len(values), dtype=np.int64)
    dirty = np.flatnonzero(~clean)
    if len(dirty) == 0:
        return normalised, mask
    # Only the few values that are not already plain ASCII digits go through the expensive kernels.
    sub = pc.take(values, pa.array(dirty))
    no_space = pc.replace_substring_regex(sub, _SPACE_RE, "")
    had_space = _np_bool(pc.not_equal(no_space, sub))
    nfkc = pc.utf8_normalize(no_space, form="NFKC")
    had_wide = _np_bool(pc.not_equal(nfkc, no_space))
    # NFKC can itself produce spaces (compatibility decompositions).
    text = pc.replace_substring_regex(nfkc, _SPACE_RE, "")
    had_space |= _np_bool(pc.not_equal(text, nfkc))
    had_wrap = _np_bool(pc.match_substring_regex(text, _WRAP_RE))
    text = pc.replace_substring_regex(text, _WRAP_RE, r"\1")
    had_quote = _np_bool(pc.starts_with(text, "'"))
    text = pc.replace_substring_regex(text, r"^'", "")
    had_x = _np_bool(pc.match_substring(text, "x"))
    text = pc.replace_substring(text, "x", "X")
    sub_mask = (
        had_wide.astype(np.int64)
        | had_space.astype(np.int64) << 1
        | had_wrap.astype(np.int64) << 2
        | had_quote.astype(np.int64) << 3
        | had_x.astype(np.int64) << 4
    )
    mask[dirty] = sub_mask
    positions = np.arange(len(values))
    positions[dirty] = len(values) + np.arange(len(dirty))
    normalised = pc.take(pa.concat_arrays([values, text.cast(pa.large_string())]), pa.array(positions))
    return normalised, mask


def normalise_id(raw: pd.Series) -> pd.DataFrame:
    """Clean-up a person would agree changes nothing about the ID, with a note of what was changed.

    The note exists because a silent clean-up hides a data-entry habit the county should fix (DQ018).
    """
    codes, uniques = distinct_texts(raw)
    normalised, mask = _normalise_unique(uniques)
    # NA rows share an extra "" slot at the end.
    normalised = pa.concat_arrays([normalised, pa.array([""], type=pa.large_string())])
    notes = pa.array(np.append(_NOTE_TEXT[mask], ""), type=pa.large_string())
    rows = np.where(codes < 0, len(uniques), codes)
    return pd.DataFrame(
        {
            "normalized": str_series(pc.take(normalised, rows), raw.index),
            "normalisations": str_series(pc.take(notes, rows), raw.index),
        },
        index=raw.index,
    )


def normalised_ids(raw: pd.Series, encoded: tuple[np.ndarray, pa.Array] | None = None) -> pd.Series:
    """`normalise_id(raw)["normalized"]` alone (the typed ID column), without the notes column.

    `encoded`: the codes and distinct texts of `raw` with NA taken as "" (fields.encode_texts), when
    the caller has them: "" and NA normalise alike, so they serve here as they are."""
    codes, uniques = encoded if encoded is not None else distinct_texts(raw)
    normalised, _mask = _normalise_unique(uniques)
    if len(uniques) == len(codes):  # every row its own entry (codes 0…n-1, no NA): nothing to take
        return str_series(normalised, raw.index)
    normalised = pa.concat_arrays([normalised, pa.array([""], type=pa.large_string())])
    rows = np.where(codes < 0, len(uniques), codes)
    return str_series(pc.take(normalised, rows), raw.index)


# --------------------------------------------------------------------------------------------------
# analysis of the distinct values


class _Unique:
    """Per-distinct-value results (arrays of length n + 1: the last slot is the NA/empty value)."""

    def __init__(self, values: pa.Array) -> None:
        n = len(values)
        self.n = n + 1
        normalised, note_mask = _normalise_unique(values)
        text = pa.concat_arrays([normalised, pa.array([""], type=pa.large_string())])
        self.text = text
        self.note_mask = np.append(note_mask, 0)
        offsets = text_buffers(text)[0]
        # Byte lengths: every value the tests below accept is ASCII, so bytes are characters there.
        length = np.diff(offsets)

        # Nearly every value is a plain 18-character ID: classify those from their bytes, and run the
        # regular expressions only over the others.
        excel = np.zeros(self.n, dtype=bool)
        placeholder = np.zeros(self.n, dtype=bool)
        shaped = np.zeros(self.n, dtype=bool)
        rows18 = np.flatnonzero(length == 18)
        m18 = _leading_bytes(text, rows18, 18)
        plain = _plain_18(m18)  # per row of m18 (a copy of it only for the few others, below)
        plain_pos = rows18 if plain.all() else rows18[plain]
        same = _rows_where(
            m18,
            plain & (m18[:, 0] == m18[:, 1]) & (m18[:, 1] == m18[:, 2]),
            lambda m: (m == m[:, :1]).all(axis=1),
        )
        # ^(0+|1+|…|9+)$ (the X cannot repeat 18 times here), and ^999999
        nines = _rows_where(
            m18,
            plain & (m18[:, 0] == ord("9")) & (m18[:, 1] == ord("9")),
            lambda m: (m[:, :6] == ord("9")).all(axis=1),
        )
        id18 = plain & ~(same | nines)  # the plain IDs among the 18-character values
        placeholder[rows18] = same | nines  # the other values' verdicts come from the patterns below
        shaped[rows18] = id18
        other = np.ones(self.n, dtype=bool)
        other[plain_pos] = False
        other_pos = np.flatnonzero(other)
        rest = pc.take(text, pa.array(other_pos))
        rest_excel = _np_bool(pc.match_substring_regex(rest, _SCI_RE)) | _np_bool(
            pc.match_substring_regex(rest, _DECIMAL_RE)
        )
        rest_placeholder = _np_bool(pc.match_substring_regex(rest, _PLACEHOLDER_RE)) & ~rest_excel
        rest_shaped = _np_bool(pc.match_substring_regex(rest, _ID_SHAPE_RE)) & ~rest_excel & ~rest_placeholder
        excel[other_pos] = rest_excel
        placeholder[other_pos] = rest_placeholder
        shaped[other_pos] = rest_shaped
        kind = np.full(self.n, _MALFORMED, dtype=np.int8)
        kind[length == 0] = _EMPTY
        kind[excel] = _EXCEL
        kind[placeholder] = _PLACEHOLDER
        kind[shaped & (length == 18)] = _ID18
        kind[shaped & (length == 15)] = _ID15
        kind[shaped & (length == 20)] = _DIS20
        self.kind = kind
        self.excel_by_digits = np.zeros(self.n, dtype=bool)

        # Rows that look like an ID: one digit matrix laid out as the 17-digit body of an 18-digit ID.
        long_pos = np.flatnonzero(shaped & (length >= 18))
        short_pos = np.flatnonzero(shaped & (length == 15))
        # The plain 18-digit IDs' bytes were gathered above: read again only when other values are
        # among the long ones (20-digit numbers).
        if len(long_pos) == np.count_nonzero(id18):  # long_pos is then rows18[id18]
            long_m = m18 if len(long_pos) == len(rows18) else m18[id18]
        else:
            long_m = _leading_bytes(text, long_pos, 18)
        short_m = _leading_bytes(text, short_pos, 15)
        century = np.broadcast_to(np.frombuffer(b"19", dtype=np.uint8), (len(short_pos), 2))
        body = np.concatenate(
            [long_m[:, :17], np.concatenate([short_m[:, :6], century, short_m[:, 6:]], axis=1)]
        )
        pos = np.concatenate([long_pos, short_pos])
        digits = body - np.uint8(_ZERO)
        total = weighted_sums(digits)
        expected = _CHECK_BYTES[total % 11]

        # Check character (18- and 20-digit forms).
        n_long = len(long_pos)
        actual = long_m[:, 17]
        bad_check = expected[:n_long] != actual
        self.check_expected = np.zeros(self.n, dtype=np.uint8)
        self.check_actual = np.zeros(self.n, dtype=np.uint8)
        self.check_expected[pos] = expected
        self.check_actual[long_pos] = actual
        self.bad_check = np.zeros(self.n, dtype=bool)
        self.bad_check[long_pos] = bad_check
        # Excel keeps 15 significant digits: an 18-digit number shown in full ends in 000, and its
        # check character is then right only by chance.
        ends_000 = _rows_where(long_m, bad_check, lambda m: (m[:, 15:18] == _ZERO).all(axis=1))
        lost = long_pos[bad_check & ends_000 & (kind[long_pos] == _ID18)]
        self.kind[lost] = _EXCEL
        self.excel_by_digits[lost] = True
        self.bad_check[lost] = False

        # Upgraded 18-digit form of the legacy 15-digit numbers.
        upgraded_short = np.concatenate([body[n_long:], expected[n_long:, None]], axis=1)
        self.upgraded_pos = short_pos
        self.upgraded_text = _matrix_strings(upgraded_short)

        # Birth date.
        year = _digits_value(digits[:, 6:10])
        month = _digits_value(digits[:, 10:12])
        day = _digits_value(digits[:, 12:14])
        month_ok = (month >= 1) & (month <= 12)
        leap = _LEAP_YEAR[year]
        month_days = _DAYS_IN_MONTH[np.clip(month, 1, 12) - 1] + (leap & (month == 2))
        day_ok = (day >= 1) & (day <= month_days)
        real = month_ok & day_ok
        safe_month = np.where(real, month, 1)
        safe_day = np.where(real, day, 1)
        days = _days_since_epoch(year, safe_month, safe_day)
        # datetime64[ns] spans 1677-09-21 … 2262-04-11.
        representable = real & (year >= 1678) & (year <= 2261)
        birth = np.full(self.n, np.datetime64("NaT"), dtype="datetime64[ns]")
        birth[pos[representable]] = (days[representable] * _NS_PER_DAY).view("datetime64[ns]")
        self.birth = birth
        self.year = np.zeros(self.n, dtype=np.int64)
        self.month = np.zeros(self.n, dtype=np.int64)
        self.day = np.zeros(self.n, dtype=np.int64)
        self.year[pos], self.month[pos], self.day[pos] = year, month, day
        self.month_bad = np.zeros(self.n, dtype=bool)
        self.month_bad[pos] = ~month_ok
        self.day_bad = np.zeros(self.n, dtype=bool)
        self.day_bad[pos] = month_ok & ~day_ok
        self.pre1900 = np.zeros(self.n, dtype=bool)
        self.pre1900[pos] = real & (year < 1900)

        # Sex: the sequence number's last digit, odd = male.
        self.sex_code = np.zeros(self.n, dtype=np.int8)  # 0 unknown, 1 男, 2 女
        self.sex_code[pos] = 2 - (digits[:, 16] & 1)  # odd: 1

        # Region.
        region = _digits_value(digits[:, :6])
        known = _known_regions()[region] | np.isin(region // 10000, _PERMIT_PROVINCES)
        self.region_known = np.ones(self.n, dtype=bool)
        self.region_known[pos] = known

        # The person each value names, as a number (`person_number`): its 17-digit body — region, birth
        # date, sequence number, the parts read above — times 11 plus its check character (X = 10),
        # the one written (an 18-digit ID, a 残疾人证号's 18th) or the one a 15-digit number gets when
        # upgraded. Equal numbers exactly when the person keys are equal.
        body_number = region * 10**11 + year * 10**7 + month * 10**5 + day * 10**3
        body_number += _digits_value(digits[:, 14:17])
        check = np.concatenate([actual, expected[n_long:]]).astype(np.int64)
        self.person_number = np.full(self.n, -1, dtype=np.int64)
        self.person_number[pos] = body_number * 11 + np.where(check == ord("X"), 10, check - _ZERO)

        # Values Excel destroyed get no derived fields: their digits are not the person's.
        is_id = np.isin(self.kind, (_ID18, _ID15, _DIS20))
        self.is_id = is_id
        self.birth[~is_id] = np.datetime64("NaT")
        self.sex_code[~is_id] = 0
        self.person_number[~is_id] = -1


def _date_text(year: int, month: int, day: int) -> str:
    return f"{year:04d}{month:02d}{day:02d}"


def analyse_ids(
    raw: pd.Series,
    reference_date: pd.Series | pd.Timestamp | None = None,
    *,
    person_keys: bool = False,
    details: bool = True,
) -> pd.DataFrame:
    """Classify each 证件号码 and raise DQ010–DQ014, DQ016–DQ018 in one pass over the distinct values.

    ``reference_date`` is the data reference date (31 Dec of the data year), per row or for all
    rows; births after it are impossible for that year's data. Ages and dates are never judged
    against "today", so a re-run next year gives the same verdicts. ``None`` skips that test.
    ``person_keys``: also the `person_key` and `person_number` columns of `classify_ids` (the caller
    joins on persons). ``details=False``: without the `normalized`, `kind`, `region` and `upgraded`
    columns (the run's shared analysis: no rule reads them).
    """
    codes, uniques = distinct_texts(raw)
    u = _Unique(uniques)
    n_unique = u.n
    rows = np.where(codes < 0, n_unique - 1, codes)
    n_rows = len(rows)
    kind = u.kind
    is_id = u.is_id

    flags: dict[str, np.ndarray] = {}
    flags["DQ010"] = kind == _MALFORMED
    flags["DQ011"] = u.bad_check & is_id
    date_bad = (u.month_bad | u.day_bad | u.pre1900) & is_id
    flags["DQ013"] = kind == _EXCEL
    flags["DQ014"] = kind == _ID15
    flags["DQ016"] = ~u.region_known & is_id
    flags["DQ017"] = kind == _PLACEHOLDER
    flags["DQ018"] = (u.note_mask != 0) & is_id

    def text(i: int) -> str:
        return u.text[i].as_py()

    def msg_010(i: int) -> str:
        value = text(i)
        shown = value if len(value) <= 40 else value[:40] + "…"
        bad = "".join(dict.fromkeys(c for c in value if not ("0" <= c <= "9" or c == "X")))
        parts = [f"证件号码“{shown}”长度 {len(value)} 位，应为 18 位（旧号 15 位、残疾人证号 20 位）"]
        if bad:
            parts.append("含非法字符 " + "、".join(f"“{c}”" for c in bad))
        elif "X" in value:
            parts.append("X 只能作为第 18 位校验码")
        return "，".join(parts)

    def msg_011(i: int) -> str:
        where = "（残疾人证号前 18 位）" if kind[i] == _DIS20 else ""
        return f"证件号码{where}校验位应为 {chr(u.check_expected[i])}，实为 {chr(u.check_actual[i])}"

    def msg_012_static(i: int) -> str:
        y, m, d = int(u.year[i]), int(u.month[i]), int(u.day[i])
        shown = _date_text(y, m, d)
        if u.month_bad[i]:
            return f"证件号码中的出生日期 {shown} 不是有效日期：月份 {m:02d} 不存在"
        if u.day_bad[i]:
            return f"证件号码中的出生日期 {shown} 不是有效日期：{y} 年 {m} 月没有 {d} 日"
        return f"证件号码中的出生日期 {shown} 早于 1900-01-01"

    def msg_013(i: int) -> str:
        if u.excel_by_digits[i]:
            return (
                f"证件号码 {text(i)} 末三位为 000 且校验位不符，疑被 Excel 存成数字后精度丢失，"
                "无法恢复真实号码"
            )
        return f"证件号码被 Excel 存成数字（{text(i)}），精度已丢失，无法恢复真实号码"

    def msg_016(i: int) -> str:
        return f"地区码 {text(i)[:6]} 不在任何一版 GB/T 2260 行政区划代码中"

    def msg_017(i: int) -> str:
        value = text(i)
        reason = "同一数字重复" if len(set(value)) == 1 else "以 999999 开头"
        return f"证件号码 {value} 是占位号码（{reason}），不是真实证件号码"

    makers = {
        "DQ010": msg_010,
        "DQ011": msg_011,
        "DQ013": msg_013,
        "DQ016": msg_016,
        "DQ017": msg_017,
    }

    index = raw.index
    wanted = (KEY_COLUMNS if details else ()) + (("person_key", "person_number") if person_keys else ())
    keys, upgraded_rows = _key_columns(u, rows, index, wanted)
    out: dict[str, pd.Series] = {name: keys[name] for name in ("normalized", "kind") if details}
    birth_rows = u.birth[rows]
    out["birth_date"] = pd.Series(birth_rows, index=index, dtype="datetime64[ns]")
    sex_labels = pa.array([None, "男", "女"], type=pa.large_string())
    out["sex"] = str_series(pc.take(sex_labels, u.sex_code[rows]), index)
    if details:
        region_u = pc.if_else(
            pa.array(is_id), pc.utf8_slice_codeunits(u.text, 0, 6), pa.scalar(None, pa.large_string())
        )
        out["region"] = str_series(_per_row(region_u, rows), index)
        out["upgraded"] = keys["upgraded"]
    # Legacy numbers can be a whole county's worth: their messages are built by arrow, not Python.
    texts014 = pc.binary_join_element_wise(
        pa.scalar("15 位旧证件号码，升位后为 ", pa.large_string()),
        u.upgraded_text,
        pa.scalar("", pa.large_string()),
    )
    texts014 = pa.concat_arrays([texts014, pa.array([""], type=pa.large_string())])
    # _NOTE_TEXT[0] is "": rows without DQ018 point there.
    note_rows = np.where(flags["DQ018"], u.note_mask, 0)[rows]
    vectorised = {
        "DQ014": (texts014, upgraded_rows),
        "DQ018": (pa.array(_NOTE_TEXT, type=pa.large_string()), note_rows),
    }

    # DQ012 mixes per-value tests with the per-row reference date.
    dq012_rows = date_bad[rows]
    future = np.zeros(n_rows, dtype=bool)
    ref_rows: np.ndarray | None = None
    if reference_date is not None:
        if isinstance(reference_date, pd.Series):
            ref = reference_date if reference_date.index.equals(index) else reference_date.reindex(index)
            ref_rows = pd.to_datetime(ref).dt.normalize().to_numpy(dtype="datetime64[ns]")
        else:
            ref_rows = np.full(
                n_rows, pd.Timestamp(reference_date).normalize().to_datetime64(), dtype="datetime64[ns]"
            )
        future = ~dq012_rows & (birth_rows > ref_rows)
        dq012_rows = dq012_rows | future

    texts012, index012 = _messages(n_unique, rows, np.flatnonzero(date_bad), msg_012_static)
    if future.any():
        extra: dict[tuple[int, np.datetime64], int] = {}
        future_texts: list[str] = []
        index012 = index012.copy()
        for r in np.flatnonzero(future):
            key = (int(rows[r]), ref_rows[r])
            if key not in extra:
                i = key[0]
                ref_day = pd.Timestamp(ref_rows[r]).date().isoformat()
                born = _date_text(int(u.year[i]), int(u.month[i]), int(u.day[i]))
                extra[key] = len(texts012) + len(future_texts)
                future_texts.append(f"证件号码中的出生日期 {born} 晚于数据基准日 {ref_day}")
            index012[r] = extra[key]
        texts012 = pa.concat_arrays([texts012, pa.array(future_texts, type=pa.large_string())])

    for flag in FLAGS:
        if flag == "DQ012":
            out[flag] = pd.Series(dq012_rows, index=index)
        else:
            out[flag] = pd.Series(flags[flag][rows], index=index)
    for flag in FLAGS:
        if flag == "DQ012":
            texts, msg_index = texts012, index012
        elif flag in vectorised:
            texts, msg_index = vectorised[flag]
        else:
            texts, msg_index = _messages(n_unique, rows, np.flatnonzero(flags[flag]), makers[flag])
        out[f"msg_{flag}"] = _message_column(texts, msg_index, index)
    if person_keys:
        out["person_key"] = keys["person_key"]
        out["person_number"] = keys["person_number"]
    return pd.DataFrame(out, index=index)


KEY_COLUMNS = ("normalized", "kind", "upgraded", "person_key", "person_number")


def classify_ids(raw: pd.Series, columns: tuple[str, ...] = KEY_COLUMNS) -> pd.DataFrame:
    """The `normalized`, `kind`, `upgraded` and `person_key` columns of `analyse_ids` alone, without
    its checks and messages: all that a person key needs, for ID columns that no DQ010–DQ018 rule
    reports on. `person_number`: the person key as an integer (-1 for none; equal numbers, equal
    keys), for joins that need no text. `columns`: only these of them."""
    codes, uniques = distinct_texts(raw)
    u = _Unique(uniques)
    rows = np.where(codes < 0, u.n - 1, codes)
    keys, _upgraded_rows = _key_columns(u, rows, raw.index, columns)
    return pd.DataFrame(keys, index=raw.index)


def _per_row(values: pa.Array, rows: np.ndarray) -> pa.Array:
    """``values[rows]``: a slice, not a take, when every row is its own distinct value (IDs nearly
    always are), i.e. `rows` is 0…n-1 — `distinct_texts` then gives codes in row order."""
    if len(rows) == len(values) - 1 and (rows == np.arange(len(rows))).all():
        return values.slice(0, len(rows))
    return pc.take(values, rows)


def _key_columns(
    u: _Unique, rows: np.ndarray, index: pd.Index, wanted: tuple[str, ...] = KEY_COLUMNS
) -> tuple[dict[str, pd.Series], np.ndarray]:
    """Per row: normalized text, kind, 18-digit upgrade of a 15-digit number, person key and number
    (the `wanted` ones); and per row, the position of its upgrade among `u.upgraded_text` (one past
    the end: none)."""
    upgraded_index = np.full(u.n, len(u.upgraded_pos), dtype=np.int64)
    upgraded_index[u.upgraded_pos] = np.arange(len(u.upgraded_pos))
    upgraded_rows = upgraded_index[rows]

    def upgraded() -> pd.Series:
        upgraded_u = pa.concat_arrays([u.upgraded_text, pa.nulls(1, type=pa.large_string())])
        return str_series(pc.take(upgraded_u, upgraded_rows), index)

    makers = {
        "normalized": lambda: str_series(_per_row(u.text, rows), index),
        "kind": lambda: str_series(pc.take(pa.array(KINDS, type=pa.large_string()), u.kind[rows]), index),
        "upgraded": upgraded,
        "person_key": lambda: str_series(_per_row(_person_keys(u), rows), index),
        "person_number": lambda: pd.Series(u.person_number[rows], index=index),
    }
    return {name: makers[name]() for name in KEY_COLUMNS if name in wanted}, upgraded_rows


def _person_keys(u: _Unique) -> pa.Array:
    """Per distinct value: the person it names, as one comparable key — the normalised text, a
    15-digit legacy number upgraded to 18 digits, a 20-digit 残疾人证号 cut to its first 18 — and
    null for a value that names nobody (empty, placeholder, Excel-damaged, malformed)."""
    key = u.text
    if len(u.upgraded_pos):
        order = np.arange(u.n)
        order[u.upgraded_pos] = u.n + np.arange(len(u.upgraded_pos))
        key = pc.take(pa.concat_arrays([key, u.upgraded_text]), pa.array(order))
    disability = u.kind == _DIS20
    if disability.any():
        key = pc.if_else(pa.array(disability), pc.utf8_slice_codeunits(key, 0, 18), key)
    return pc.if_else(pa.array(u.is_id), key, pa.scalar(None, pa.large_string()))


def _factorize(values: pd.Series) -> tuple[np.ndarray, list]:
    """`pd.factorize(values)` (NA → -1); arrow's hash for arrow-backed text, twice as fast."""
    if isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow":
        encoded = pc.dictionary_encode(pa.array(values.array, type=pa.large_string()))
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        return codes, encoded.dictionary.to_pylist()
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, list(uniques)


def _differ(left: pd.Series, right: pd.Series) -> np.ndarray:
    """Per row: both values known and unequal — judged once per pair of distinct values (a few
    sexes), not once per row."""
    left_codes, left_values = _factorize(left)
    right_codes, right_values = _factorize(right)
    unequal = np.array([[a != b for b in right_values] for a in left_values], dtype=bool)
    both = (left_codes >= 0) & (right_codes >= 0)
    out = np.zeros(len(left), dtype=bool)
    out[both] = unequal.reshape(len(left_values), len(right_values))[left_codes[both], right_codes[both]]
    return out


def compare_with_columns(
    analysis: pd.DataFrame, sex: pd.Series | None, birth: pd.Series | None
) -> pd.DataFrame:
    """DQ015: the ID is the stronger evidence, so a 性别/出生日期 column contradicting it is an error.

    Only rows where both sides are known are compared: an unknown side is another rule's finding,
    not a contradiction.
    """
    index = analysis.index
    n = len(index)
    id_sex = analysis["sex"]
    id_birth = analysis["birth_date"]  # whole days (analyse_ids makes them so): nothing to normalise
    if sex is not None:
        col_sex = sex.reindex(index) if not sex.index.equals(index) else sex
        sex_mismatch = _differ(id_sex, col_sex)
    else:
        col_sex = None
        sex_mismatch = np.zeros(n, dtype=bool)
    if birth is not None:
        col_birth = birth.reindex(index) if not birth.index.equals(index) else birth
        col_birth = pd.to_datetime(col_birth).dt.normalize()
        both = id_birth.notna().to_numpy(dtype=bool) & col_birth.notna().to_numpy(dtype=bool)
        birth_mismatch = both & (id_birth.to_numpy() != col_birth.to_numpy())
    else:
        col_birth = None
        birth_mismatch = np.zeros(n, dtype=bool)

    flagged = np.flatnonzero(sex_mismatch | birth_mismatch)
    texts: list[str] = []
    for r in flagged:
        parts = []
        if sex_mismatch[r]:
            parts.append(f"证件号码显示性别为{id_sex.iat[r]}，性别列为{col_sex.iat[r]}")
        if birth_mismatch[r]:
            parts.append(
                f"证件号码显示出生日期 {id_birth.iat[r].date().isoformat()}，"
                f"出生日期列为 {col_birth.iat[r].date().isoformat()}"
            )
        texts.append("；".join(parts))
    at = np.zeros(n, dtype=np.int64)  # entry 0 is "": the rows that agree
    at[flagged] = np.arange(1, len(flagged) + 1)
    return pd.DataFrame(
        {
            "sex_mismatch": pd.Series(sex_mismatch, index=index),
            "birth_mismatch": pd.Series(birth_mismatch, index=index),
            "msg_DQ015": str_series(pc.take(pa.array(["", *texts], type=pa.large_string()), at), index),
        },
        index=index,
    )
