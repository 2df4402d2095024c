"""Field specifications: the metadata every schema field carries, and how a cell of each kind parses.

A `Spec` sits in the `Annotated[...]` metadata of a pydantic model field. Two parsers read it:
`parse_scalar` (one cell; pydantic calls it, so `Model.model_validate(row)` is the reference
behaviour) and `parse_column` (a whole column at once, over its unique values; what the tool uses).
A property test keeps the two in agreement.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import pandas as pd

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


# ---------------------------------------------------------------------------------------------
# Shared lexical rules (used by both parsers)

# What real exports put in a cell that means "nothing here".
EMPTY_MARKERS = frozenset({"", "-", "--", "—", "/", "\\", "NULL", "null", "None", "nan", "NaN", "N/A", "n/a"})
EXCEL_EPOCH = dt.date(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1900, 2100

_NUMBER = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_NUMBER_NOISE = re.compile(r"[,\s¥￥]|元$")
_DATE_YMD = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_SERIAL = re.compile(r"^(\d{5})(?:\.\d+)?$")
_YEAR_ONLY = re.compile(r"^(\d{4})(?:年|\.0+)?$")

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
    date = _scalar_date(text)
    return date.year if date else None


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
    return clean_text(text)


# ---------------------------------------------------------------------------------------------
# A whole column, over its unique values


@dataclass
class ParsedColumn:
    values: pd.Series  # typed values, NA where empty or invalid
    problem: pd.Series  # "" or the DQ code (DQ002/3/4/5) per row
    message: pd.Series  # "" or the message per row


def _expand(raw: pd.Series, on_unique) -> ParsedColumn:
    codes, uniques = pd.factorize(raw.fillna(""))
    values, problem, message = on_unique(pd.Series(uniques, dtype=object).astype(str))

    def take(series: pd.Series) -> pd.Series:
        out = series.take(codes)
        out.index = raw.index
        return out

    return ParsedColumn(take(values), take(problem), take(message))


def _vector_numbers(texts: pd.Series) -> pd.Series:
    compact = texts.str.normalize("NFKC").str.strip().str.replace(_NUMBER_NOISE, "", regex=True)
    numeric = compact.where(compact.str.match(_NUMBER), None)
    return pd.to_numeric(numeric, errors="coerce").astype("float64")


def _vector_dates(texts: pd.Series) -> pd.Series:
    clean = texts.str.normalize("NFKC").str.strip()
    parts = clean.str.extract(_DATE_YMD)
    compact = clean.str.extract(_DATE_COMPACT)
    parts = parts.fillna(compact).astype("float64")
    ymd = pd.DataFrame({"year": parts[0], "month": parts[1], "day": parts[2]})
    dates = pd.to_datetime(ymd, errors="coerce")
    serial = pd.to_numeric(clean.str.extract(_DATE_SERIAL)[0], errors="coerce")
    serial_dates = pd.Timestamp(EXCEL_EPOCH) + pd.to_timedelta(serial, unit="D")
    dates = dates.fillna(serial_dates).astype("datetime64[ns]")
    in_range = dates.dt.year.between(MIN_YEAR, MAX_YEAR)
    return dates.where(in_range)


def _vector_years(texts: pd.Series) -> pd.Series:
    plain = pd.to_numeric(texts.str.normalize("NFKC").str.strip().str.extract(_YEAR_ONLY)[0], errors="coerce")
    plain = plain.where(plain.between(MIN_YEAR, MAX_YEAR))
    return plain.fillna(_vector_dates(texts).dt.year).astype("Int64")


def _nearest(spec: Spec, text: str) -> str:
    codes = code_list(spec.codelist or "")
    close = difflib.get_close_matches(normalise_label(text), codes.values, n=1, cutoff=0.3)
    return f"，最接近的有效值：{close[0]}" if close else f"，有效值：{'、'.join(codes.values[:8])}…"


def parse_column(spec: Spec, name: str, raw: pd.Series) -> ParsedColumn:
    """Parse a column of text cells per its spec, over its unique values."""

    def on_unique(texts: pd.Series):
        empty = texts.str.normalize("NFKC").str.strip().isin(EMPTY_MARKERS)
        problem = pd.Series("", index=texts.index, dtype=object)
        message = pd.Series("", index=texts.index, dtype=object)
        kind = spec.kind
        if kind in (Kind.CODE, Kind.YESNO):
            labels = texts.map(lambda t: _code_labels(spec, t))  # unique values only: a few dozen
            if not spec.closed:
                labels = labels.fillna(texts.str.normalize("NFKC").str.strip().where(~empty))
            bad = labels.isna() & ~empty
            problem[bad] = DQ_CODE
            message[bad] = [f"{name} “{t}” 不在代码表中{_nearest(spec, t)}" for t in texts[bad]]
            values = labels.eq("是").astype("boolean").where(labels.notna()) if kind is Kind.YESNO else labels
        elif kind in (Kind.INT, Kind.MONEY, Kind.NUMBER):
            values = _vector_numbers(texts)
            unparsed = values.isna() & ~empty
            problem[unparsed] = DQ_NUMBER
            message[unparsed] = [f"{name} “{t}” 不是数字" for t in texts[unparsed]]
            wrong = pd.Series(False, index=texts.index)
            if kind is Kind.INT:
                not_int = values.notna() & (values % 1 != 0)
                problem[not_int] = DQ_NUMBER
                message[not_int] = [f"{name} {t} 不是整数" for t in texts[not_int]]
                wrong |= not_int
            out = values.notna() & ~wrong
            no = pd.Series(False, index=texts.index)
            out_low = out & (values < spec.ge) if spec.ge is not None else no
            out_high = out & (values > spec.le) if spec.le is not None else no
            bad_range = out_low | out_high
            problem[bad_range] = DQ_NUMBER
            message[bad_range] = [f"{name} {t} 超出范围 {_range_text(spec)}" for t in texts[bad_range]]
            values = values.where(~(wrong | bad_range))
            values = values.round().astype("Int64") if kind is Kind.INT else values
        elif kind is Kind.DATE:
            values = _vector_dates(texts)
            bad = values.isna() & ~empty
            problem[bad] = DQ_DATE
            message[bad] = [f"{name} “{t}” 不是有效日期" for t in texts[bad]]
        elif kind is Kind.YEAR:
            values = _vector_years(texts)
            bad = values.isna() & ~empty
            problem[bad] = DQ_DATE
            message[bad] = [f"{name} “{t}” 不是有效年份" for t in texts[bad]]
        else:
            values = texts.str.normalize("NFKC").str.strip().where(~empty)
        if spec.required:
            problem[empty] = DQ_EMPTY
            message[empty] = f"必填项 {name} 为空"
        return values, problem, message

    parsed = _expand(raw, on_unique)
    if spec.kind is Kind.CODE and spec.multi == 1 and spec.closed:
        parsed.values = pd.Categorical(parsed.values, categories=code_list(spec.codelist or "").values)
        parsed.values = pd.Series(parsed.values, index=raw.index)
    return parsed
