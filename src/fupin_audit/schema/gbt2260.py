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

# "[2015-]密云区", "[-1982]昌平县": the years a name was in force, dropped.
_ERA = re.compile(r"^\[[^\]]*\]")


@dataclass(frozen=True)
class Divisions:
    provinces: dict[str, str]  # 2-digit code → full name (安徽省)
    counties: dict[str, tuple[str, ...]]  # 6-digit county code → its names, latest first
    codes: np.ndarray  # every 6-digit code any version had (prefectures too), sorted int64


@functools.cache
def divisions() -> Divisions:
    from stdnum import numdb

    # numdb.read over the lines of the whole file: numdb.get reads it through a codecs stream,
    # line by line, which took longer than the parsing (0.04 → 0.03 s here).
    text = importlib.resources.files("stdnum").joinpath("cn/loc.dat").read_text("utf-8")
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


def _names(written: str) -> tuple[str, ...]:
    """“[-2010]崇文区,[2010-]东城区” → (东城区, 崇文区): the names a code bore, latest first."""
    names = [_ERA.sub("", n).strip() for n in written.split(",")]
    return tuple(reversed([n for n in names if n]))
