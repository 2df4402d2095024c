"""GB/T 2260 administrative division codes of every historical version, from python-stdnum's table
(`cn/loc`) rather than a copy of our own, so they follow upstream fixes. Read once per process for
both of their users: the region check of 证件号码 (`schema.idnumber`) and the province and county
names of config sections and records (`policy.regions`)."""

from __future__ import annotations

import functools
import importlib.resources
import re
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Divisions:
    provinces: dict[str, str]  # 2-digit code → full name (安徽省)
    counties: dict[str, tuple[str, ...]]  # 6-digit county code → its names, latest first
    codes: np.ndarray  # every 6-digit code any version had (prefectures too), sorted int64


@functools.cache
def divisions() -> Divisions:
    text = importlib.resources.files("stdnum").joinpath("cn/loc.dat").read_text("utf-8")
    return _read_plain(text) or _read_numdb(text)


# The table as stdnum ships it: a province line (“34 province="安徽省"”), then its counties indented
# by two spaces (“  0826 county="宿松县"”), one code each.
_PLAIN_LINE = re.compile(r'^(  )?([0-9]{2}|[0-9]{4}) (province|county)="([^"]*)"[ \t]*$', re.MULTILINE)
_DATA_LINE = re.compile(r"^(?!#)[^\n]*\S", re.MULTILINE)  # neither a comment (# first) nor blank


def _read_plain(text: str) -> Divisions | None:
    """The table read with one pattern, when every line has the plain form above (half numdb's
    parse, on the way to the first rule); None for any other form, which numdb reads."""
    entries = _PLAIN_LINE.findall(text)
    if len(entries) != len(_DATA_LINE.findall(text)):
        return None
    provinces: dict[str, str] = {}
    written: dict[str, str] = {}  # 6-digit code → its county="…" text, prefectures (xx00) too
    province = ""
    for indent, code, key, value in entries:
        if not indent and key == "province" and len(code) == 2:
            province = code
            provinces[code] = value
        elif indent and key == "county" and len(code) == 4 and province:
            written[province + code] = value
        else:
            return None
    counties = {  # xx00 is the province or a prefecture, not a county
        code: (value,) if _plain_name(value) else _names(value)
        for code, value in written.items()
        if not code.endswith("00")
    }
    codes = np.array(list(written), dtype=np.str_).astype(np.int64) if written else np.empty(0, np.int64)
    return Divisions(provinces, counties, np.unique(codes))


def _read_numdb(text: str) -> Divisions:
    """Any form numdb reads: ranges of codes, several properties, deeper levels (ignored here)."""
    from stdnum import numdb

    # numdb.read over the lines of the whole file: numdb.get reads it through a codecs stream,
    # line by line, which took longer than the parsing (0.04 → 0.03 s here).
    table = numdb.read(text.splitlines(keepends=True))
    provinces: dict[str, str] = {}
    counties: dict[str, tuple[str, ...]] = {}
    codes: list[int] = []
    for length, low, high, props, children in table.prefixes:
        if length != 2:
            continue
        for value in range(int(low), int(high) + 1):
            province = f"{value:02d}"
            provinces[province] = props.get("province", province)
            for c_length, c_low, c_high, c_props, _ in children:
                if c_length != 4:
                    continue
                names = _names(c_props.get("county", ""))
                for c_value in range(int(c_low), int(c_high) + 1):
                    codes.append(value * 10_000 + c_value)
                    if c_value % 100:  # xx00 is the province or a prefecture, not a county
                        counties[f"{province}{c_value:04d}"] = names
    return Divisions(provinces, counties, np.unique(np.array(codes, dtype=np.int64)))


def _plain_name(written: str) -> bool:
    """A county="…" text that is one name as it stands (no years, no second name, no padding)."""
    return bool(written) and "[" not in written and "," not in written and written == written.strip()


def _names(written: str) -> tuple[str, ...]:
    """“[-2010]崇文区,[2010-]东城区” → (东城区, 崇文区): the names a code bore, latest first (the years in
    brackets dropped; string methods rather than a pattern: 6,400 of the table's 6,900 lines have them)."""
    names = []
    for part in written.split(","):
        if part.startswith("[") and (end := part.find("]")) > 0:
            part = part[end + 1 :]
        if part := part.strip():
            names.append(part)
    return tuple(reversed(names))
