"""Vectorised GB 11643-1999 resident ID numbers for the synthetic county."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
SEQ_PER_SEX = 499  # sequences 001..997 (odd, male) and 002..998 (even, female)


def check_char(first17: str) -> str:
    """Check character of one 17-digit prefix."""
    s = sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[s % 11]


def check_index(first17: np.ndarray) -> np.ndarray:
    """Index into CHECK_CHARS of the check character of each 17-digit prefix (int64)."""
    x = first17.astype(np.int64)
    s = np.zeros(len(x), dtype=np.int64)
    for i, w in enumerate(WEIGHTS):
        s += (x // 10 ** (16 - i)) % 10 * w
    return (s % 11).astype(np.int8)


def civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers, in integer arithmetic (H. Hinnant's civil_from_days)."""
    z = np.asarray(days, dtype=np.int64) + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d


def yyyymmdd(days: np.ndarray) -> np.ndarray:
    """Day numbers (since 1970-01-01) → YYYYMMDD as int64."""
    y, m, d = civil(days)
    return y * 10000 + m * 100 + d


def assign_first17(
    birth_days: np.ndarray,
    male: np.ndarray,
    region: np.ndarray,
    rng: np.random.Generator,
    overflow_regions: tuple[int, ...],
    slots: tuple[int, int] = (0, SEQ_PER_SEX),
) -> np.ndarray:
    """Unique 17-digit prefixes: region + birth date + a sequence whose parity gives the sex.

    Uniqueness: people are ranked within (region, birth date, sex); rank r gets slot
    lo + (r + offset) mod (hi − lo) in block r // (hi − lo), i.e. sequence 2·slot+1 (male) or 2·slot+2
    (female). Separate calls stay unique if they use disjoint slot ranges. Block 0 keeps the region,
    later blocks move to an overflow region (unreachable at realistic sizes).
    """
    lo, hi = slots
    width = hi - lo
    n = len(birth_days)
    sex = male.astype(np.int64)
    key = (region.astype(np.int64) * 100_000 + birth_days.astype(np.int64) + 40_000) * 2 + sex
    order = np.argsort(key, kind="stable")
    ks = key[order]
    start = np.ones(n, dtype=bool)
    start[1:] = ks[1:] != ks[:-1]
    group_start = np.maximum.accumulate(np.where(start, np.arange(n), 0))
    rank_sorted = np.arange(n) - group_start
    offset_sorted = rng.integers(0, width, size=n)[group_start]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = rank_sorted
    offset = np.empty(n, dtype=np.int64)
    offset[order] = offset_sorted
    block = rank // width
    if block.max(initial=0) > len(overflow_regions):
        raise ValueError("too many people share one birth date to give them unique ID numbers")
    slot = lo + (rank + offset) % width
    seq = 2 * slot + np.where(sex == 1, 1, 2)
    reg = region.astype(np.int64).copy()
    if block.max(initial=0) > 0:
        over = np.array((0, *overflow_regions), dtype=np.int64)
        reg = np.where(block > 0, over[block], reg)
    return reg * 10**11 + yyyymmdd(birth_days) * 1000 + seq


def id_strings(first17: np.ndarray) -> pa.Array:
    """18-character ID strings as a pyarrow large_string array (built from fixed-width buffers)."""
    n = len(first17)
    digits = np.empty((n, 18), dtype=np.uint8)
    x = first17.astype(np.int64)
    for i in range(17):
        digits[:, i] = (x // 10 ** (16 - i)) % 10 + ord("0")
    digits[:, 17] = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)[check_index(x)]
    offsets = np.arange(0, 18 * (n + 1), 18, dtype=np.int64)
    return pa.Array.from_buffers(pa.large_string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(digits)])


def full_id(first17: int) -> str:
    s = f"{first17:017d}"
    return s + check_char(s)


class FreshIds:
    """New 18-digit IDs for people a sample edit adds (a newborn, a bride), none already taken: the
    birth date and sex asked for, the sequence moving on from one to the next."""

    def __init__(self, taken: Iterable[str]) -> None:
        self.taken = set(taken)
        self.seq = 100

    def new(self, birth: str, male: bool, region: str = "340826") -> str:
        """`birth` as YYYYMMDD or YYYY-MM-DD."""
        while True:
            self.seq += 1
            seq = self.seq % 996 + 1
            seq += (seq % 2 == 0) if male else (seq % 2 == 1)  # odd: male, even: female
            number = full_id(int(f"{region}{birth.replace('-', '')}{seq:03d}"))
            if number not in self.taken:
                self.taken.add(number)
                return number
