"""Resource limits for reading input files, so a hostile or broken file cannot exhaust the machine.

Every limit is checked *before* the expensive step it protects: the zip members of a workbook are
inspected (declared sizes, compression ratios, XML prologues, the extent of the cells) before the
workbook is handed to the spreadsheet reader; a CSV's rows × columns are bounded before it is
parsed; parquet metadata is checked before any column is decompressed. A file or sheet over a limit
is reported (``InputError``, naming the file, sheet and the limit) and the other files and sheets
are still read. A cell longer than ``max_cell_chars`` is kept whole and reported as a warning.

Defaults can be changed per run with ``read_file(..., limits=Limits(...))`` or through environment
variables (see ``ENV``); sizes accept the suffixes K, M, G (binary: 1K = 1024).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace

from fupin_audit.errors import ConfigError

__all__ = ["DEFAULT_LIMITS", "ENV", "LimitExceeded", "Limits", "human_size", "over", "parse_size"]

GIB = 1 << 30
MIB = 1 << 20


class LimitExceeded(ValueError):
    """Reading would exceed a limit; the message says which, by how much, and how to raise it."""


@dataclass(frozen=True)
class Limits:
    """Limits applied while reading one input file (all per file or per sheet, never global)."""

    #: Sum of the declared uncompressed sizes of a workbook's zip members (xlsx, xlsm, xlsb, ods),
    #: and the size of a text file or a parquet file's uncompressed data. Province-scale member
    #: tables run to several GiB, so the zip-bomb defence is mainly the compression ratio below.
    max_unpacked_bytes: int = 16 * GIB
    #: A zip member larger than ``ratio_min_bytes`` may not be compressed more than this (zip bomb).
    max_ratio: float = 200.0
    ratio_min_bytes: int = 10 * MIB
    #: Rows × columns of one sheet's used range from A1 (the grid the reader allocates, blanks
    #: included), and of a CSV file (lines × widest line) — checked before the grid is built.
    max_cells: int = 400_000_000  # a province's members: 3.5 million rows × 47 columns ≈ 165 million
    #: Columns of one sheet or CSV file (Excel's own limit is 16 384, column XFD).
    max_columns: int = 16_384
    #: Characters in one cell; longer cells are kept but reported (Excel's own limit is 32 767).
    max_cell_chars: int = 32_767
    #: Seconds allowed to a helper process (``workers.Helper``) for opening a workbook and for each
    #: sheet, and the address space of one (an xlsx helper gets more: ``io.parallel``).
    helper_timeout: float = 600.0
    helper_memory_bytes: int = 4 * GIB

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"读取限制 {f.name} 须为正数（得到 {value!r}）")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, base: Limits | None = None) -> Limits:
        """``base`` (default: the defaults) with the values of the ``FUPIN_AUDIT_*`` variables set."""
        environ = os.environ if environ is None else environ
        limits = base or cls()
        changes: dict[str, float | int] = {}
        for name, var in ENV.items():
            text = environ.get(var, "").strip()
            if not text:
                continue
            current = getattr(limits, name)
            try:
                if isinstance(current, float):
                    value: float | int = float(text)
                else:
                    value = parse_size(text)
            except ValueError:
                raise ConfigError(f"环境变量 {var}={text!r} 不是有效的数值") from None
            changes[name] = value
        return replace(limits, **changes) if changes else limits


#: Limit name → environment variable overriding it.
ENV: dict[str, str] = {
    "max_unpacked_bytes": "FUPIN_AUDIT_MAX_UNPACKED",
    "max_ratio": "FUPIN_AUDIT_MAX_RATIO",
    "ratio_min_bytes": "FUPIN_AUDIT_RATIO_MIN_BYTES",
    "max_cells": "FUPIN_AUDIT_MAX_CELLS",
    "max_columns": "FUPIN_AUDIT_MAX_COLUMNS",
    "max_cell_chars": "FUPIN_AUDIT_MAX_CELL_CHARS",
    "helper_timeout": "FUPIN_AUDIT_HELPER_TIMEOUT",
    "helper_memory_bytes": "FUPIN_AUDIT_HELPER_MEMORY",
}

_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str) -> int:
    """``"1G"`` → 1073741824, ``"500M"``, ``"64k"``, ``"60000000"``, ``"60_000_000"``; ValueError otherwise."""
    match = _SIZE.match(text.strip().replace("_", "").replace(",", ""))
    if not match:
        raise ValueError(text)
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if value < 1:
        raise ValueError(text)
    return int(value)


def human_size(n: float) -> str:
    for unit, size in (("GiB", GIB), ("MiB", MIB), ("KiB", 1024)):
        if n >= size:
            return f"{n / size:.1f} {unit}".replace(".0 ", " ")
    return f"{int(n)} 字节"


def over(size: int, limit: int) -> str:
    """ "X，超过上限 Y" with enough precision that X and Y never read the same."""
    a, b = human_size(size), human_size(limit)
    if a == b:
        a, b = f"{size:,} 字节", f"{limit:,} 字节"
    return f"{a}，超过上限 {b}"


DEFAULT_LIMITS = Limits()
