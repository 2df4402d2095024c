"""Render a spreadsheet cell as the text a person sees, before any typing.

Everything is text first so IDs, codes and phone numbers keep their digits and leading zeros.
A number too large for a double to hold exactly (≥ 1e15) is rendered as Excel shows it
(15 significant digits, E notation): its true digits are gone, and pretending otherwise would
hide the corruption (DQ013) behind a plausible-looking ID.
"""

from __future__ import annotations

import datetime as dt
import math

EXACT_FLOAT_LIMIT = 1e15


def number_text(value: float | int) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        # Spreadsheet numbers are doubles: an "int" this large already lost its last digits.
        return str(value) if abs(value) < EXACT_FLOAT_LIMIT else number_text(float(value))
    if math.isnan(value) or math.isinf(value):
        return ""
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
