"""Render a spreadsheet cell as the text a person sees, before any typing.

Everything is text first so IDs, codes and phone numbers keep their digits and leading zeros.
A number too large for a double to hold exactly is rendered as Excel shows it (15 significant
digits, E notation): its true digits are gone, and pretending otherwise would hide the corruption
(DQ013) behind a plausible-looking ID. A whole number below 2**53 is exact in the file, and its
digits are the cell's: a 16-digit 户编号 that a system wrote as a number (3408260010010001) is that
code, not "3.40826001001E+15" (which several households would share). An 18-digit ID is far beyond
2**53 and stays in E notation.
"""

from __future__ import annotations

import datetime as dt
import math

EXACT_FLOAT_LIMIT = 1e15  # a fraction this large is shown as Excel shows it
EXACT_INT_LIMIT = 2**53  # a whole number below this is exact in a double


def number_text(value: float | int) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        # Spreadsheet numbers are doubles: an "int" this large already lost its last digits.
        return str(value) if abs(value) < EXACT_INT_LIMIT else number_text(float(value))
    if math.isnan(value) or math.isinf(value):
        return ""
    if value.is_integer() and abs(value) < EXACT_INT_LIMIT:
        return str(int(value))
    if abs(value) >= EXACT_FLOAT_LIMIT:
        mantissa, exponent = f"{value:.14E}".split("E")
        mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}E+{int(exponent):02d}"
    if value.is_integer():
        return str(int(value))
    return repr(value)


def cell_text(value: object) -> str:
    """Text of one cell value as returned by python-calamine / openpyxl / pyarrow."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value)
    return str(value)
