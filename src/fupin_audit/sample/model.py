"""The numeric model of a synthetic county: arrays of codes, day numbers and cents.

`build_clean` fills a `County` that satisfies every rule of RULES.md; `defects.plant` then edits it;
`frames.to_tables` renders it as string DataFrames. Everything is vectorised over households and
members; per-record Python loops only touch planted records.

Conventions: dates are int64 day numbers since 1970-01-01; money is int64 cents; label columns are
small-int codes into the tuples of `columns` (-1 = empty); people (members, 帮扶责任人, people on
rosters) live in one `People` table so that every ID number is unique county-wide.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from . import columns as C
from .idnum import assign_first17, civil
from .pools import DEFAULT_PLACE, Place, pools, unit_names

EPOCH = np.datetime64("1970-01-01", "D")
# Sequence slots (0..498 per sex and birth date): the county's people use the first 450, people the
# defect planter adds later use the rest, so the two batches never collide and all share the county's region.
MAIN_SLOTS, PLANT_SLOTS = (0, 450), (450, 499)

CAMPAIGN_END = 2020  # no identification or exit after 2020 (the campaign ended; 2021+ is 巩固 and monitoring)
POVERTY_LINE = {2014: 2800, 2015: 2968, 2016: 3146, 2017: 3335, 2018: 3535, 2019: 3747, 2020: 4000}
RISK_LINE = 5000
MIN_YEAR, MAX_YEAR = 2014, 2030
HH_PER_VILLAGE_MAX = 8000  # serials 0001–8999 are used, 9xxx is left for planted orphans


_ORD1970 = dt.date(1970, 1, 1).toordinal()


def day(y: int, m: int = 1, d: int = 1) -> int:
    """Day number (since 1970-01-01) of a date."""
    return dt.date(int(y), int(m), int(d)).toordinal() - _ORD1970


def year_start(years: np.ndarray) -> np.ndarray:
    """Day number of 1 January of each year."""
    y = np.asarray(years, dtype=np.int64) - 1  # January counts in the previous March-based year
    era = y // 400
    yoe = y - era * 400
    doe = yoe * 365 + yoe // 4 - yoe // 100 + 306
    return era * 146097 + doe - 719468


def year_of(days: np.ndarray) -> np.ndarray:
    return civil(days)[0]


def poverty_line(y: int) -> int:
    """Working-series line; after 2020 the last published value (the lowest plausible reading)."""
    if y in POVERTY_LINE:
        return POVERTY_LINE[y]
    if y < 2014:
        return round(2800 * 1.06 ** (y - 2014))
    return POVERTY_LINE[2020]


def poverty_line_high(y: int) -> int:
    """The highest plausible reading of the line (after 2020 some extrapolate 2800 × 1.06^(y−2014))."""
    return max(poverty_line(y), round(2800 * 1.06 ** (y - 2014))) if y > 2020 else poverty_line(y)


def monitoring_line_high(y: int) -> int:
    if y < 2021:
        return 0
    return 6000 if y < 2023 else 7300


@dataclass(frozen=True)
class Params:
    households: int
    seed: int
    year: int
    county: str
    defects: bool
    place: Place = DEFAULT_PLACE  # region code, city, townships (county = place.county for listed ones)
    phone_block: int | None = None  # multi-county runs: county i draws phones from block i (no clashes)

    @property
    def region(self) -> int:
        return self.place.region

    @property
    def line(self) -> int:
        return poverty_line(self.year)

    @property
    def exit_floor(self) -> float:
        """Lowest per-capita income a clean exited household gets (yuan): safely above every line."""
        return 1.1 * max(RISK_LINE, monitoring_line_high(self.year), poverty_line_high(self.year))

    @property
    def plants_per_rule(self) -> int:
        return max(1, round(self.households / 1000))


# --------------------------------------------------------------------------------------------- tables


@dataclass
class People:
    male: np.ndarray  # bool
    birth: np.ndarray  # days
    region: np.ndarray  # int64
    surname: np.ndarray  # int32 index into pools().surnames
    given: np.ndarray  # int32 index into pools().given_all
    first17: np.ndarray  # int64, -1 = not yet assigned
    home: int = DEFAULT_PLACE.region  # region code of people added later
    overflow: tuple[int, ...] = DEFAULT_PLACE.overflow
    _pending: list[tuple[bool, int, int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.male) + len(self._pending)

    def add(self, male: np.ndarray, birth: np.ndarray, names: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Append people (buffered; IDs are assigned later, in one batch, from PLANT_SLOTS).

        Their attributes are readable only after `flush()` (`finalize_ids` flushes).
        """
        n0 = len(self)
        rows = zip(
            np.asarray(male, dtype=bool).tolist(), np.asarray(birth).tolist(),
            np.asarray(names[0]).tolist(), np.asarray(names[1]).tolist(), strict=True,
        )  # fmt: skip
        self._pending.extend(rows)
        return np.arange(n0, len(self))

    def flush(self) -> None:
        if not self._pending:
            return
        male, birth, sur, giv = (np.array(x) for x in zip(*self._pending, strict=True))
        self._pending = []
        self.male = np.concatenate([self.male, male.astype(bool)])
        self.birth = np.concatenate([self.birth, birth.astype(np.int64)])
        self.region = np.concatenate([self.region, np.full(len(male), self.home, dtype=np.int64)])
        self.surname = np.concatenate([self.surname, sur.astype(np.int32)])
        self.given = np.concatenate([self.given, giv.astype(np.int32)])
        self.first17 = np.concatenate([self.first17, np.full(len(male), -1, dtype=np.int64)])

    def finalize_ids(self, rng: np.random.Generator) -> None:
        self.flush()
        pending = np.flatnonzero(self.first17 < 0)
        if len(pending):
            self.first17[pending] = assign_first17(
                self.birth[pending],
                self.male[pending],
                self.region[pending],
                rng,
                self.overflow,
                PLANT_SLOTS,
            )

    def name(self, pid: int) -> str:
        p = pools()
        return str(p.surnames[self.surname[pid]]) + str(p.given_all[self.given[pid]])


@dataclass
class Members:
    hh: np.ndarray  # household index (sorted, head first)
    pid: np.ndarray  # person index
    rel: np.ndarray
    health: np.ndarray
    skill: np.ndarray
    edu: np.ndarray  # -1 empty
    school: np.ndarray  # -1 empty
    work_months: np.ndarray  # 0 empty
    work_place: np.ndarray  # -1 empty
    dibao: np.ndarray  # bool
    tekun: np.ndarray  # bool
    ins_rural: np.ndarray  # bool
    ins_urban: np.ndarray  # bool
    dropout: np.ndarray  # index into DROPOUT, -1 empty
    phone: np.ndarray  # int64, 0 empty
    birth_col: np.ndarray  # days written in 出生日期 (normally the person's birth)
    keep: np.ndarray  # bool

    def __len__(self) -> int:
        return len(self.hh)


@dataclass
class Households:
    village: np.ndarray
    serial: np.ndarray
    mstart: np.ndarray  # first member row
    size: np.ndarray  # member rows
    count_col: np.ndarray  # 家庭人口数 as written
    attr: np.ndarray  # A_GENERAL / A_DIBAO / A_TEKUN
    status: np.ndarray
    ident: np.ndarray  # 识别年度
    exit_year: np.ndarray  # 0 empty
    cause: np.ndarray  # -1 empty
    cause2: np.ndarray  # -1 empty
    weifang: np.ndarray  # bool
    water: np.ndarray  # bool (safe water solved)
    phone: np.ndarray  # int64
    income: dict[str, np.ndarray]  # INCOME_COLS → cents
    prev_pc: np.ndarray  # cents
    dates: dict[str, np.ndarray]  # PROCEDURE_COLS → days
    helper: np.ndarray  # -1 none
    helper_start: np.ndarray  # days
    monitor: np.ndarray  # bool (是否监测对象)
    # helper facts used by the generator and the planter
    n_elderly: np.ndarray
    has_worker: np.ndarray
    able: np.ndarray  # a member aged 16–60 with 普通/技能劳动力

    def __len__(self) -> int:
        return len(self.village)

    @property
    def exited(self) -> np.ndarray:
        return (self.status == C.ST_EXITED) | (self.status == C.ST_EXITED_NOPOLICY)

    @property
    def poor(self) -> np.ndarray:
        return (self.status == C.ST_POOR) | (self.status == C.ST_RELAPSED)


@dataclass
class Villages:
    town: np.ndarray
    code: np.ndarray  # int64, 12 digits
    name: np.ndarray  # object
    poor_village: np.ndarray  # bool
    out: np.ndarray  # bool (出列)
    out_year: np.ndarray  # 0 empty
    collective: np.ndarray  # cents
    reg_share: np.ndarray  # registered people / 总人口数 for ordinary villages
    high_incidence: np.ndarray  # bool: planted SY301 village
    count_offset: np.ndarray  # planted SY305: added to 贫困户数
    people_offset: np.ndarray  # planted SY305: added to 贫困人口数

    def __len__(self) -> int:
        return len(self.town)


@dataclass
class Measures:
    hh: np.ndarray  # -1 for a village project
    village: np.ndarray
    mtype: np.ndarray
    unit: np.ndarray
    helper: np.ndarray  # -1 none
    date: np.ndarray
    amount: np.ndarray  # cents
    recipient: np.ndarray  # person index, -1 none
    year: np.ndarray
    content: np.ndarray  # index into CONTENTS
    _pending: list[dict[str, np.ndarray]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.hh)

    def append(self, rows: dict[str, np.ndarray]) -> None:
        """Buffered: appended rows become visible after `flush()`."""
        self._pending.append(rows)

    def flush(self) -> None:
        if not self._pending:
            return
        for name in self.__dataclass_fields__:
            if name.startswith("_"):
                continue
            old = getattr(self, name)
            new = [np.asarray(rows[name], dtype=old.dtype) for rows in self._pending]
            setattr(self, name, np.concatenate([old, *new]))
        self._pending = []


@dataclass
class Rosters:
    kind: np.ndarray  # object (ROSTER_KINDS labels, or another word)
    pid: np.ndarray
    date: np.ndarray  # days
    detail: np.ndarray  # object
    pc: np.ndarray  # cents, -1 empty
    _pending: list[dict[str, np.ndarray]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.kind)

    def append(self, rows: dict[str, np.ndarray]) -> None:
        """Buffered: appended rows become visible after `flush()`."""
        self._pending.append(rows)

    def flush(self) -> None:
        if not self._pending:
            return
        for name in self.__dataclass_fields__:
            if name.startswith("_"):
                continue
            old = getattr(self, name)
            new = [np.asarray(rows[name], dtype=old.dtype) for rows in self._pending]
            setattr(self, name, np.concatenate([old, *new]))
        self._pending = []


@dataclass
class County:
    params: Params
    rng: np.random.Generator
    people: People
    members: Members
    households: Households
    villages: Villages
    measures: Measures
    rosters: Rosters
    helper_pid: np.ndarray
    helper_unit: np.ndarray
    units: list[str]
    town_names: tuple[str, ...]
    spare: np.ndarray  # person indices of unregistered people not used by anyone yet
    # Filled by the planter, applied by frames.to_tables.
    edits: dict[tuple[str, str], dict[int, str]] = field(default_factory=dict)
    extra_rows: dict[str, list[dict[str, object]]] = field(default_factory=dict)
    dup_households: list[int] = field(default_factory=list)
    flat_patches: list[tuple[str, str, str]] = field(default_factory=list)
    extra_measures: list[dict[str, object]] = field(default_factory=list)
    village_name_override: dict[int, str] = field(default_factory=dict)  # household → 村 not in table

    def edit(self, table: str, column: str, row: int, value: str) -> None:
        self.edits.setdefault((table, column), {})[int(row)] = value

    def ages(self) -> np.ndarray:
        """Age of every member at 31 December of the data year."""
        return self.params.year - year_of(self.people.birth[self.members.pid])


# ------------------------------------------------------------------------------------------ helpers


def _uniform_int(rng: np.random.Generator, lo, hi, size=None) -> np.ndarray:
    """Integers in [lo, hi] (inclusive, array bounds allowed)."""
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    return lo + np.floor(
        rng.random(size if size is not None else np.broadcast(lo, hi).shape) * (hi - lo + 1)
    ).astype(np.int64)


def _yuan(rng: np.random.Generator, lo: float, hi: float, size: int) -> np.ndarray:
    """Random amounts in cents, uniform in [lo, hi] yuan."""
    return np.round(rng.uniform(lo * 100, hi * 100, size)).astype(np.int64)


def names_for(
    rng: np.random.Generator, male: np.ndarray, surname: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(surname index, given-name index) for residents of the given sexes."""
    p = pools()
    n = len(male)
    if surname is None:
        surname = rng.choice(len(p.surnames), size=n, p=p.surname_p)
    nm, nf = len(p.given_male), len(p.given_female)
    given = np.where(male, rng.integers(0, nm, n), nm + rng.integers(0, nf, n))
    return surname.astype(np.int32), given.astype(np.int32)


PHONE_BLOCK = 20_000_000  # numbers per county in a multi-county run


def unique_phones(rng: np.random.Generator, n: int, block: int | None = None) -> np.ndarray:
    """n distinct valid mobile numbers 1[3-9]xxxxxxxxx (an affine permutation of a number space).

    block=None: a random offset. block=i: indices i·PHONE_BLOCK… under a fixed offset, so the counties
    of one multi-county run never share a number by accident.
    """
    prefixes = np.array([130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158,
                         159, 177, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199], dtype=np.int64)  # fmt: skip
    space = len(prefixes) * 10**8
    if n > space:
        raise ValueError("too many phone numbers")
    a = 2_654_435_761 % space
    while math.gcd(a, space) != 1:
        a += 1
    b = int(rng.integers(0, space))
    first = 0
    if block is not None:
        if n > PHONE_BLOCK or (block + 1) * PHONE_BLOCK > space:
            raise ValueError("too many phone numbers")
        first, b = block * PHONE_BLOCK, 1_234_567_891
    x = ((np.arange(n, dtype=np.int64) + first) * a + b) % space
    return prefixes[x // 10**8] * 10**8 + x % 10**8


def _group_any(flag: np.ndarray, hh: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(hh, weights=flag.astype(np.float64), minlength=n) > 0


def _group_count(flag: np.ndarray, hh: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(hh, weights=flag.astype(np.float64), minlength=n).astype(np.int64)


# ------------------------------------------------------------------------------------------ geography


def _geography(p: Params, rng: np.random.Generator) -> tuple[int, int]:
    n = p.households
    if n >= 2000:
        towns = 10
        vpt = 15 if n <= 20000 else round(15 + 10 * min(1.0, math.log10(n / 20000) / math.log10(50)))
    else:
        towns = int(np.clip(n // 200, 2, 10))
        vpt = int(np.clip(n // (towns * 10), 3, 15))
    while n / (towns * vpt) > HH_PER_VILLAGE_MAX * 0.8:
        if towns < len(p.place.townships):
            towns += 1
        else:
            raise ValueError(f"{n} households is more than this generator supports")
    return towns, vpt


# ------------------------------------------------------------------------------------------- building


def build_clean(p: Params) -> County:
    """A county in which no rule of RULES.md fires."""
    if not MIN_YEAR <= p.year <= MAX_YEAR:
        raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    if p.households < 1:
        raise ValueError("households must be at least 1")
    rng = np.random.default_rng(p.seed)
    Y = p.year
    N = p.households
    pool = pools()

    # ---- villages and the household → village assignment (households sorted by village)
    towns, vpt = _geography(p, rng)
    nv = towns * vpt
    v_town = np.repeat(np.arange(towns), vpt)
    v_serial = np.tile(np.arange(1, vpt + 1), towns)
    v_code = p.region * 10**6 + (v_town + 1) * 1000 + v_serial
    v_name = np.array(pool.village_names, dtype=object)[
        rng.choice(len(pool.village_names), nv, replace=False)
    ]
    weights = rng.lognormal(0, 0.45, nv)
    if N * weights.max() / weights.sum() > HH_PER_VILLAGE_MAX * 0.9:
        # Large counties: cap the biggest villages so a serial never spills into the next village's 户编号.
        weights = np.minimum(weights, HH_PER_VILLAGE_MAX * 0.9 * weights.sum() / N)
    h_village = np.sort(rng.choice(nv, size=N, p=weights / weights.sum()))
    v_count = np.bincount(h_village, minlength=nv)
    first_of_village = np.concatenate([[0], np.cumsum(v_count)[:-1]])
    h_serial = np.arange(N) - first_of_village[h_village] + 1

    v_poor = rng.random(nv) < 0.3
    p_out = float(np.clip(0.1 + 0.2 * (Y - 2015), 0, 1))
    v_out = v_poor & (rng.random(nv) < p_out)
    v_out_year = np.where(v_out, _uniform_int(rng, 2015, Y, nv), 0)
    v_high = np.zeros(nv, dtype=bool)
    if p.defects:
        v_high = choose_high_incidence_villages(p, rng, v_poor, v_out, v_count)
        v_poor |= v_high
        v_out |= v_high
        v_out_year = np.where(v_high & (v_out_year == 0), Y, v_out_year)
    v_collective = np.where(v_out, _yuan(rng, 60000, 300000, nv), _yuan(rng, 5000, 200000, nv)) // 100 * 100
    villages = Villages(
        town=v_town,
        code=v_code,
        name=v_name,
        poor_village=v_poor,
        out=v_out,
        out_year=v_out_year,
        collective=v_collective,
        reg_share=rng.uniform(0.12, 0.3, nv),
        high_incidence=v_high,
        count_offset=np.zeros(nv, dtype=np.int64),
        people_offset=np.zeros(nv, dtype=np.int64),
    )

    # ---- household composition
    size = rng.choice(np.arange(1, 9), size=N, p=[0.12, 0.19, 0.21, 0.21, 0.15, 0.08, 0.03, 0.01])
    head_age = np.where(
        size == 1,
        _uniform_int(rng, 50, 90, N),
        np.clip(np.round(rng.normal(52, 13, N)), 24, 88).astype(np.int64),
    )
    head_male = rng.random(N) < np.where(size == 1, 0.6, 0.85)
    spouse = (size >= 2) & (rng.random(N) < np.where(size == 2, 0.7, 0.85))
    htype = np.where(head_age <= 45, 0, np.where(head_age <= 65, 1, 2))  # A young, B middle, C old
    n_oth = size - 1 - spouse
    parent_flag = (htype == 0) & (n_oth >= 2) & (rng.random(N) < 0.35)
    son_age = np.clip(head_age - _uniform_int(rng, 22, 32, N), 18, None)

    mstart = np.concatenate([[0], np.cumsum(size)[:-1]])
    M = int(size.sum())
    hh = np.repeat(np.arange(N), size)
    slot = np.arange(M) - mstart[hh]
    sp = spouse[hh]
    k = slot - 1 - sp  # index among "others"
    ht = htype[hh]
    noth = n_oth[hh]
    ha = head_age[hh]
    hm = head_male[hh]

    rel = np.full(M, C.R_SON, dtype=np.int8)
    age = np.zeros(M, dtype=np.int64)
    male = rng.random(M) < 0.5  # children: random sex, relation follows
    is_head = slot == 0
    is_sp = (slot == 1) & sp
    rel[is_head] = C.R_HEAD
    male[is_head] = hm[is_head]
    age[is_head] = ha[is_head]
    rel[is_sp] = C.R_SPOUSE
    male[is_sp] = ~hm[is_sp]
    age[is_sp] = np.clip(ha[is_sp] + _uniform_int(rng, -5, 5, int(is_sp.sum())), 20, 95)
    other = k >= 0
    # type A: children, and possibly one parent in the last slot
    a_parent = other & (ht == 0) & parent_flag[hh] & (k == noth - 1)
    a_child = other & (ht == 0) & ~a_parent
    age[a_child] = _uniform_int(rng, 0, np.minimum(ha[a_child] - 20, 22))
    age[a_parent] = np.clip(ha[a_parent] + _uniform_int(rng, 22, 32, int(a_parent.sum())), None, 95)
    rel[a_parent] = np.where(male[a_parent], C.R_FATHER, C.R_MOTHER)
    # type B/C with a married son: son, daughter-in-law, grandchildren
    three = other & (((ht == 1) & (noth >= 3)) | (ht == 2))
    b_son = three & (k == 0)
    b_dil = three & (k == 1)
    b_gc = three & (k >= 2)
    sa = son_age[hh]
    male[b_son] = True
    age[b_son] = sa[b_son]
    male[b_dil] = False
    rel[b_dil] = C.R_DIL
    age[b_dil] = np.clip(sa[b_dil] + _uniform_int(rng, -3, 3, int(b_dil.sum())), 18, None)
    age[b_gc] = _uniform_int(rng, 0, np.clip(np.minimum(sa[b_gc] - 20, 20), 0, None))
    rel[b_gc] = np.where(male[b_gc], C.R_GSON, C.R_GDAU)
    # type B otherwise: children 10..35
    b_child = other & (ht == 1) & ~three
    age[b_child] = _uniform_int(rng, 10, np.clip(np.minimum(ha[b_child] - 20, 35), 10, None))
    kids = a_child | b_child
    rel[kids] = np.where(male[kids], C.R_SON, C.R_DAU)
    rel[b_son] = C.R_SON

    # ---- people: members, then spare (helpers, people on rosters)
    n_helpers_max = N // 3 + 10
    n_roster = 6 * max(3, N // 100) + max(3, N // 50)
    n_spare = n_helpers_max + n_roster
    spare_age = np.concatenate([
        _uniform_int(rng, 25, 58, n_helpers_max),
        _uniform_int(rng, 22, 80, n_roster),
    ])  # fmt: skip
    all_age = np.concatenate([age, spare_age])
    all_male = np.concatenate([male, rng.random(n_spare) < 0.5])
    P = M + n_spare
    by = Y - all_age
    ys = year_start(by)
    birth = ys + np.floor(rng.random(P) * (year_start(by + 1) - ys)).astype(np.int64)
    region = np.full(P, p.region, dtype=np.int64)
    # names: children and the head's father carry the family surname
    surname = rng.choice(len(pool.surnames), size=P, p=pool.surname_p).astype(np.int32)
    fam = surname[mstart]  # head's surname
    sp_row = mstart + 1
    sp_male = spouse & ~head_male
    fam = np.where(sp_male, surname[np.minimum(sp_row, M - 1)], fam)
    inherit = np.isin(rel, (C.R_SON, C.R_DAU, C.R_GSON, C.R_GDAU))
    surname[:M] = np.where(inherit, fam[hh], surname[:M])
    surname[:M] = np.where(rel == C.R_FATHER, surname[mstart][hh], surname[:M])
    surname, given = names_for(rng, all_male, surname)
    helper_n = n_helpers_max
    # 帮扶责任人 names are unique and never a resident's name (disjoint given-name pool)
    n_hg = len(pool.helper_given)
    combos = rng.permutation(len(pool.surnames) * n_hg)[:helper_n]
    surname[M : M + helper_n] = combos // n_hg
    given[M : M + helper_n] = len(pool.given_male) + len(pool.given_female) + combos % n_hg
    people = People(
        male=all_male,
        birth=birth,
        region=region.astype(np.int64),
        surname=surname,
        given=given,
        first17=assign_first17(birth, all_male, region, rng, p.place.overflow, MAIN_SLOTS),
        home=p.region,
        overflow=p.place.overflow,
    )

    # ---- member attributes
    r = rng.random
    chronic_p = np.select([age < 16, age < 45, age < 60], [0.01, 0.04, 0.12], 0.25)
    serious_p = np.select([age < 16, age < 45, age < 60], [0.005, 0.02, 0.04], 0.06)
    disabled_p = np.where(age >= 60, 0.05, 0.03)
    u = r(M)
    health = np.select(
        [u < disabled_p, u < disabled_p + serious_p, u < disabled_p + serious_p + chronic_p],
        [C.H_DISABLED, C.H_SERIOUS, C.H_CHRONIC],
        C.H_OK,
    ).astype(np.int8)

    school = np.full(M, -1, dtype=np.int8)
    school[age <= 2] = C.SC_PRESCHOOL
    school[(age >= 3) & (age <= 5)] = C.SC_KINDER
    school[(age >= 6) & (age <= 11)] = C.SC_PRIMARY
    school[age == 12] = C.SC_G7
    school[age == 13] = C.SC_G8
    school[age == 14] = C.SC_G9
    hs = (age >= 15) & (age <= 17)
    in_school = hs & ((age == 15) | (r(M) < 0.7))
    voc = r(M) < 0.3
    school[in_school] = np.where(voc[in_school], C.SC_VOC1, C.SC_HIGH1) + (age[in_school] - 15)
    col = (age >= 18) & (age <= 21) & (r(M) < 0.3)
    bach = (r(M) < 0.5) | (age == 21)
    school[col] = np.where(bach[col], C.SC_BACHELOR1, C.SC_COLLEGE1) + (age[col] - 18)
    student = school >= C.SC_PRIMARY
    not_in_school = school < 0

    edu = np.full(M, -1, dtype=np.int8)
    u = r(M)
    edu_old = np.select([u < 0.45, u < 0.85], [0, 1], 2)
    edu_mid = np.select([u < 0.1, u < 0.45, u < 0.9], [0, 1, 2], 3)
    edu_young = np.select([u < 0.55, u < 0.85, u < 0.95], [2, 3, 4], 5)
    edu_teen = np.where(u < 0.2, 1, 2)  # left school at 16–18: 小学 or 初中
    a_ = age[not_in_school]
    edu[not_in_school] = np.select(
        [a_ >= 60, a_ >= 40, a_ >= 22, a_ >= 19],
        [
            edu_old[not_in_school],
            edu_mid[not_in_school],
            edu_young[not_in_school],
            np.minimum(edu_young, 3)[not_in_school],
        ],
        edu_teen[not_in_school],
    )

    skill = np.full(M, C.S_NONE, dtype=np.int8)
    wa = (age >= 16) & (age <= 60) & not_in_school
    skill[wa & (health == C.H_OK)] = np.where(
        r(int((wa & (health == C.H_OK)).sum())) < 0.75, C.S_NORMAL, C.S_SKILLED
    )
    skill[wa & (health == C.H_CHRONIC)] = C.S_WEAK
    skill[wa & (health == C.H_SERIOUS)] = C.S_LOST
    dis = wa & (health == C.H_DISABLED)
    skill[dis] = np.where(r(int(dis.sum())) < 0.5, C.S_WEAK, C.S_LOST)
    old = age > 60
    skill[old] = np.where((age[old] <= 75) & (health[old] == C.H_OK), C.S_WEAK, C.S_LOST)
    able = wa & ((skill == C.S_NORMAL) | (skill == C.S_SKILLED))
    worker = able & (r(M) < 0.5)
    work_months = np.where(worker, _uniform_int(rng, 3, 12, M), 0).astype(np.int8)
    work_place = np.where(worker, rng.integers(0, 3, M), -1).astype(np.int8)

    has_worker = _group_any(worker, hh, N)
    h_able = _group_any(able, hh, N)
    n_elderly = _group_count(age >= 60, hh, N)
    has_sick = _group_any((health == C.H_CHRONIC) | (health == C.H_SERIOUS), hh, N)
    has_dis = _group_any(health == C.H_DISABLED, hh, N)
    has_student = _group_any(student, hh, N)

    # ---- household attributes, causes, status
    attr = np.full(N, C.A_GENERAL, dtype=np.int8)
    tekun = (size == 1) & (head_age >= 60) & (rng.random(N) < 0.35)
    attr[tekun] = C.A_TEKUN
    attr[~tekun & (rng.random(N) < 0.22)] = C.A_DIBAO

    free = np.array(C.FREE_CAUSES)
    free_p = np.array([0.06, 0.07, 0.03, 0.25, 0.14, 0.22, 0.05, 0.08, 0.10])
    cause = free[rng.choice(len(free), size=N, p=free_p / free_p.sum())].astype(np.int8)
    cause = np.where(has_student & (rng.random(N) < 0.3), C.C_STUDY, cause)
    cause = np.where(has_dis & (rng.random(N) < 0.55), C.C_DISAB, cause)
    cause = np.where(has_sick & (rng.random(N) < 0.55), C.C_ILL, cause).astype(np.int8)
    cause2 = free[rng.integers(0, len(free), N)].astype(np.int8)
    cause2 = np.where((rng.random(N) < 0.45) | (cause2 == cause), -1, cause2).astype(np.int8)

    # 建档立卡 identified and exited households until 2020; later data years only carry them forward
    last = min(Y, CAMPAIGN_END)
    years = np.arange(2014, last + 1)
    yw = np.where(years == 2014, 0.6, 0.4 / max(1, len(years) - 1))
    if last == Y:
        yw[-1] = max(yw[-1], 0.05)
    ident = rng.choice(years, size=N, p=yw / yw.sum()).astype(np.int64)
    out_h = villages.out[h_village] & ~villages.high_incidence[h_village]
    ident = np.where(out_h & (ident == Y), Y - 1, ident)  # 出列 villages identify nobody new
    p_exit = float(np.clip(0.2 + 0.17 * (Y - 2015), 0.2, 0.9))
    p_exit_h = np.where(out_h, 0.97, np.where(villages.high_incidence[h_village], 0.3, p_exit))
    exited = (ident < last) & (attr != C.A_TEKUN) & (rng.random(N) < p_exit_h)
    status = np.full(N, C.ST_POOR, dtype=np.int8)
    exit_year = np.where(exited, _uniform_int(rng, ident + 1, np.full(N, last)), 0)
    nopolicy = exited & (exit_year <= Y - 3) & (rng.random(N) < 0.3)
    status[exited] = C.ST_EXITED
    status[nopolicy] = C.ST_EXITED_NOPOLICY
    relapse = ~exited & (ident <= Y - 2) & ~out_h & (rng.random(N) < 0.06)
    status[relapse] = C.ST_RELAPSED
    if p.defects:  # every planted high-incidence village keeps at least one poor household
        for v in np.flatnonzero(villages.high_incidence):
            hs_v = np.flatnonzero(h_village == v)
            if len(hs_v) and not (~exited[hs_v]).any():
                h0 = hs_v[0]
                exited[h0] = False
                status[h0] = C.ST_POOR
                exit_year[h0] = 0

    # three guarantees: only poor households may have a gap
    poor = ~exited
    weifang = poor & (rng.random(N) < 0.12)
    water = ~(poor & (rng.random(N) < 0.06))

    # ---- procedure dates (in the identification year)
    apply_d = year_start(ident) + _uniform_int(rng, 0, 120, N)
    review = apply_d + _uniform_int(rng, 5, 20, N)
    notice_start = review + _uniform_int(rng, 2, 10, N)
    notice_end = notice_start + _uniform_int(rng, 8, 12, N)
    announce = notice_end + _uniform_int(rng, 3, 15, N)
    dates = dict(zip(C.PROCEDURE_COLS, (apply_d, review, notice_start, notice_end, announce), strict=True))

    phones = unique_phones(rng, N + M, p.phone_block)
    h_phone = phones[:N]
    m_phone = np.where((age >= 18) & (age <= 70) & (rng.random(M) < 0.4), phones[N:], 0)
    m_phone[mstart] = h_phone  # the head's own number is the household's number

    households = Households(
        village=h_village,
        serial=h_serial,
        mstart=mstart,
        size=size.astype(np.int64),
        count_col=size.astype(np.int64),
        attr=attr,
        status=status,
        ident=ident,
        exit_year=exit_year.astype(np.int64),
        cause=cause,
        cause2=cause2,
        weifang=weifang,
        water=water,
        phone=h_phone,
        income={c: np.zeros(N, dtype=np.int64) for c in C.INCOME_COLS},
        prev_pc=np.zeros(N, dtype=np.int64),
        dates=dates,
        helper=np.zeros(N, dtype=np.int64),
        helper_start=np.zeros(N, dtype=np.int64),
        monitor=np.zeros(N, dtype=bool),
        n_elderly=n_elderly,
        has_worker=has_worker,
        able=h_able,
    )

    # ---- incomes
    line_c = poverty_line(Y) * 100
    pc = np.where(
        exited,
        np.round(p.exit_floor * 100 * rng.uniform(1.05, 2.2, N)),
        np.round(line_c * rng.uniform(0.5, 0.88, N)),
    ).astype(np.int64)
    allocate_income(households, rng, np.arange(N), pc, np.where(exited, 0.4, 0.85))
    prev_line = poverty_line(Y - 1) * 100
    pcs = households.income["人均纯收入"]
    prev = np.where(
        exited & (exit_year == Y),
        np.round(prev_line * rng.uniform(0.6, 0.88, N)),
        np.where(
            exited, np.round(pcs * rng.uniform(0.87, 1.12, N)), np.round(pcs * rng.uniform(0.88, 1.0, N))
        ),
    ).astype(np.int64)
    prev = np.where(poor & ~relapse, np.minimum(prev, int(0.88 * prev_line)), prev)
    prev = np.where(relapse, np.round(pcs * rng.uniform(1.0, 1.3, N)).astype(np.int64), prev)
    households.prev_pc = prev

    # ---- members table
    m_dibao = attr[hh] == C.A_DIBAO
    m_tekun = attr[hh] == C.A_TEKUN
    members = Members(
        hh=hh,
        pid=np.arange(M),
        rel=rel,
        health=health,
        skill=skill,
        edu=edu,
        school=school,
        work_months=work_months,
        work_place=work_place,
        dibao=m_dibao,
        tekun=m_tekun,
        ins_rural=np.ones(M, dtype=bool),
        ins_urban=np.zeros(M, dtype=bool),
        dropout=np.full(M, -1, dtype=np.int8),
        phone=m_phone,
        birth_col=birth[:M].copy(),
        keep=np.ones(M, dtype=bool),
    )

    # ---- 帮扶责任人 (≤ 8 households each) and 帮扶单位 (4–10 helpers each)
    hsz = _uniform_int(rng, 3, 8, N // 3 + 2)
    bounds = np.cumsum(hsz)
    n_helpers = int(np.searchsorted(bounds, N, side="left")) + 1
    helper_of = np.searchsorted(bounds, np.arange(N), side="right")
    households.helper = helper_of.astype(np.int64)
    households.helper_start = np.minimum(announce + _uniform_int(rng, 3, 30, N), day(Y, 12, 31))
    usz = _uniform_int(rng, 4, 10, n_helpers // 4 + 2)
    unit_of_helper = np.searchsorted(np.cumsum(usz), np.arange(n_helpers), side="right")
    names = unit_names(p.county, p.place.city)
    n_units = int(unit_of_helper.max()) + 1
    units = [names[i % len(names)] for i in rng.permutation(max(n_units, len(names)))[:n_units]]
    helper_pid = M + np.arange(n_helpers)
    spare = np.arange(M + helper_n, P)

    county = County(
        params=p,
        rng=rng,
        people=people,
        members=members,
        households=households,
        villages=villages,
        measures=None,  # type: ignore[arg-type]
        rosters=None,  # type: ignore[arg-type]
        helper_pid=helper_pid,
        helper_unit=unit_of_helper.astype(np.int64),
        units=units,
        town_names=p.place.townships[:towns],
        spare=spare,
    )
    county.measures = _measures(county)
    county.rosters = _rosters(county)
    return county


def allocate_income(
    h: Households,
    rng: np.random.Generator,
    idx: np.ndarray,
    pc_cents: np.ndarray,
    share_cap: np.ndarray | float,
    share_min: float = 0.0,
) -> None:
    """Split a per-capita net income into consistent components (exact identities, in cents)."""
    idx = np.asarray(idx)
    n = len(idx)
    if n == 0:
        return
    size = h.count_col[idx]
    ni = np.asarray(pc_cents, dtype=np.int64) * size
    attr = h.attr[idx]
    parts = {
        "计划生育金": np.where(rng.random(n) < 0.15, _yuan(rng, 600, 1200, n), 0),
        "低保金": np.where(attr == C.A_DIBAO, size * _yuan(rng, 800, 2400, n), 0),
        "五保金": np.where(attr == C.A_TEKUN, _yuan(rng, 3000, 4500, n), 0),
        "养老保险金": h.n_elderly[idx] * _yuan(rng, 840, 1440, n),
        "生态补偿金": np.where(rng.random(n) < 0.3, _yuan(rng, 30, 400, n), 0),
        "其他转移性收入": np.where(rng.random(n) < 0.4, _yuan(rng, 50, 600, n), 0),
    }
    raw = sum(parts.values())
    cap = np.floor(ni * np.asarray(share_cap, dtype=float)).astype(np.int64)
    factor = np.where(raw > cap, cap / np.maximum(raw, 1), 1.0)
    for k_ in parts:
        parts[k_] = np.floor(parts[k_] * factor).astype(np.int64)
    parts["低保金"] = np.where(attr == C.A_DIBAO, np.maximum(parts["低保金"], 10000), 0)
    parts["五保金"] = np.where(attr == C.A_TEKUN, np.maximum(parts["五保金"], 10000), 0)
    if share_min > 0:
        t = sum(parts.values())
        parts["其他转移性收入"] += np.maximum(0, np.ceil(share_min * ni).astype(np.int64) - t)
    transfer = sum(parts.values())
    rest = ni - transfer
    prop = np.where(rng.random(n) < 0.6, np.floor(rest * rng.uniform(0, 0.05, n)), 0).astype(np.int64)
    wage = np.where(
        h.has_worker[idx], np.maximum(10000, np.floor((rest - prop) * rng.uniform(0.4, 0.85, n))), 0
    ).astype(np.int64)
    opnet = rest - prop - wage
    opinc = np.floor(opnet * rng.uniform(1.25, 1.9, n)).astype(np.int64)
    expense = np.maximum(opinc - opnet, 10000)
    opinc = opnet + expense
    inc = h.income
    inc["工资性收入"][idx] = wage
    inc["生产经营性收入"][idx] = opinc
    inc["财产性收入"][idx] = prop
    inc["转移性收入"][idx] = transfer
    for k_, v in parts.items():
        inc[k_][idx] = v
    inc["生产经营性支出"][idx] = expense
    inc["纯收入"][idx] = ni
    inc["人均纯收入"][idx] = per_capita(ni, size)


def per_capita(ni: np.ndarray, size: np.ndarray) -> np.ndarray:
    """纯收入 ÷ 家庭人口数 in cents, rounded half up (non-negative incomes)."""
    size = np.maximum(np.asarray(size, dtype=np.int64), 1)
    return (2 * np.asarray(ni, dtype=np.int64) + size) // (2 * size)


# ------------------------------------------------------------------------------------------- measures

AMOUNTS = {
    C.M_INDUSTRY: (1000, 5000), C.M_JOB: (500, 2000), C.M_FINANCE: (30000, 50000), C.M_PUBLICJOB: (3000, 6000),
    C.M_TRAINING: (300, 1500), C.M_HEALTH: (500, 5000), C.M_EDU: (1000, 3000), C.M_HOUSING: (10000, 20000),
    C.M_WATER: (300, 800), C.M_RELOCATE: (20000, 60000), C.M_SECURITY: (1000, 3000), C.M_SOCIAL: (200, 2000),
    C.M_GIFT: (200, 1000), C.M_INFRA: (50000, 300000),
}  # fmt: skip


def measure_amounts(rng: np.random.Generator, mtype: np.ndarray) -> np.ndarray:
    lo = np.array([AMOUNTS[t][0] for t in range(len(C.MEASURES))])[mtype]
    hi = np.array([AMOUNTS[t][1] for t in range(len(C.MEASURES))])[mtype]
    cents = np.round(rng.uniform(lo, hi) * 100).astype(np.int64)
    return np.where(mtype == C.M_FINANCE, np.where(rng.random(len(mtype)) < 0.5, 3_000_000, 5_000_000), cents)


def measure_contents(rng: np.random.Generator, mtype: np.ndarray) -> np.ndarray:
    out = np.zeros(len(mtype), dtype=np.int16)
    for t, idx in C.CONTENT_INDEX.items():
        sel = mtype == t
        if sel.any():
            out[sel] = np.array(idx)[rng.integers(0, len(idx), int(sel.sum()))]
    return out


def measure_dates(county: County, hh: np.ndarray, year: int) -> np.ndarray:
    rng = county.rng
    lo = np.full(len(hh), day(year, 1, 5), dtype=np.int64)
    if year == county.params.year:
        h = county.households
        new = h.ident[hh] == year
        lo = np.where(new, np.maximum(lo, h.dates["公告日期"][hh] + 7), lo)
    return _uniform_int(rng, lo, np.full(len(hh), day(year, 12, 15)))


def _measures(county: County) -> Measures:
    p = county.params
    rng = county.rng
    h = county.households
    N = len(h)
    Y = p.year
    cmap = np.array([C.CAUSE_MEASURE[c] for c in range(len(C.CAUSES))])
    cause_type = cmap[h.cause]
    dev_types = np.array(C.DEVELOPMENTAL[:4])
    need_dev = h.able & ~np.isin(cause_type, C.DEVELOPMENTAL)
    dev_type = dev_types[rng.choice(4, size=N, p=[0.3, 0.3, 0.2, 0.2])]
    gift = rng.random(N) < 0.3
    hh = np.concatenate([np.arange(N), np.flatnonzero(need_dev), np.flatnonzero(gift)])
    mtype = np.concatenate([cause_type, dev_type[need_dev], np.full(int(gift.sum()), C.M_GIFT)])
    order = np.argsort(hh, kind="stable")
    hh, mtype = hh[order], mtype[order].astype(np.int8)
    n = len(hh)
    head_pid = county.members.pid[h.mstart]
    m = Measures(
        hh=hh.astype(np.int64),
        village=h.village[hh],
        mtype=mtype,
        unit=county.helper_unit[h.helper[hh]],
        helper=h.helper[hh],
        date=measure_dates(county, hh, Y),
        amount=measure_amounts(rng, mtype),
        recipient=head_pid[hh],
        year=np.full(n, Y, dtype=np.int64),
        content=measure_contents(rng, mtype),
    )
    # village projects: every 贫困村 an 产业帮扶 project; half of the others a 基础设施 project
    v = county.villages
    nv = len(v)
    infra = ~v.poor_village & (rng.random(nv) < 0.5)
    vids = np.concatenate([np.flatnonzero(v.poor_village), np.flatnonzero(infra)])
    vtype = np.concatenate(
        [np.full(int(v.poor_village.sum()), C.M_INDUSTRY), np.full(int(infra.sum()), C.M_INFRA)]
    )
    first_hh = np.searchsorted(h.village, np.arange(nv))
    has_hh = np.bincount(h.village, minlength=nv) > 0
    vunit = np.where(
        has_hh[vids],
        county.helper_unit[h.helper[np.minimum(first_hh[vids], N - 1)]],
        county.helper_unit[rng.integers(0, len(county.helper_unit), len(vids))],
    )
    # amounts unique per village (cents part = village index) so no two projects look like one payment twice
    vamount = np.round(rng.uniform(50000, 300000, len(vids))).astype(np.int64) // 100 * 10000 + vids
    m.append(
        dict(
            hh=np.full(len(vids), -1),
            village=vids,
            mtype=vtype,
            unit=vunit,
            helper=np.full(len(vids), -1),
            date=_uniform_int(rng, day(Y, 3, 1), day(Y, 11, 30), len(vids)),
            amount=vamount,
            recipient=np.full(len(vids), -1),
            year=np.full(len(vids), Y),
            content=measure_contents(rng, vtype),
        )
    )
    m.flush()
    return m


# -------------------------------------------------------------------------------------------- rosters


def take_spare(county: County, n: int, min_age: int = 0, max_age: int = 200) -> np.ndarray:
    """Take n unregistered people (aged min_age..max_age) out of the spare pool."""
    ages = county.params.year - year_of(county.people.birth[county.spare])
    ok = np.flatnonzero((ages >= min_age) & (ages <= max_age))
    if len(ok) < n:
        raise ValueError("spare pool exhausted")
    pick = ok[:n]
    out = county.spare[pick]
    county.spare = np.delete(county.spare, pick)
    return out


def _rosters(county: County) -> Rosters:
    p = county.params
    rng = county.rng
    Y = p.year
    h = county.households
    mem = county.members
    N = len(h)
    kinds, pids, dates, details = [], [], [], []

    def add(kind: int, pid: np.ndarray, date: np.ndarray, detail: np.ndarray) -> None:
        kinds.append(np.full(len(pid), C.ROSTER_KINDS[kind], dtype=object))
        pids.append(pid)
        dates.append(date)
        details.append(detail)

    # 低保 / 特困: registered people only (the heads of 低保 / 特困 households)
    for kind, a, texts in (
        (C.K_DIBAO, C.A_DIBAO, ("农村低保A类", "农村低保B类", "农村低保C类")),
        (C.K_TEKUN, C.A_TEKUN, ("分散供养特困人员", "集中供养特困人员")),
    ):
        hs = np.flatnonzero(h.attr == a)
        start = np.maximum(year_start(h.ident[hs]) + 150, day(Y - 3, 1, 1))
        add(
            kind,
            mem.pid[h.mstart[hs]],
            _uniform_int(rng, start, np.full(len(hs), day(Y, 6, 30))),
            np.array(texts, dtype=object)[rng.integers(0, len(texts), len(hs))],
        )
    small = max(3, N // 100)
    # deaths: unregistered people, died within the last three years
    dead = take_spare(county, small, min_age=50)
    add(
        C.K_DEATH,
        dead,
        _uniform_int(rng, day(Y - 2, 1, 1), day(Y, 12, 15), small),
        np.full(small, "户籍注销（死亡）", dtype=object),
    )
    payroll = take_spare(county, max(3, N // 50), min_age=22, max_age=60)
    units = unit_names(p.county, p.place.city)[:35]
    add(
        C.K_PAYROLL,
        payroll,
        _uniform_int(rng, day(2000, 1, 1), day(Y - 1, 12, 31), len(payroll)),
        np.strings.add(np.array(units)[rng.integers(0, len(units), len(payroll))], "在编人员").astype(object),
    )
    cars = take_spare(county, small, min_age=22)
    plate = rng.integers(10000, 99999, small).astype(str)
    add(C.K_CAR, cars, _uniform_int(rng, day(2010, 1, 1), day(Y, 12, 31), small),
        np.strings.add(np.strings.add(p.place.plate + "·", plate), " 小型普通客车").astype(object))  # fmt: skip
    houses = take_spare(county, small, min_age=22)
    bld = rng.integers(1, 30, small).astype(str)
    room = rng.integers(101, 2602, small).astype(str)
    addr = np.strings.add(
        np.strings.add(np.strings.add(f"{p.county}{p.place.townships[0]}城东花园", bld), "栋"), room
    )
    add(C.K_HOUSE, houses, _uniform_int(rng, day(2010, 1, 1), day(Y, 12, 31), small),
        np.strings.add(addr, "室").astype(object))  # fmt: skip
    biz = take_spare(county, small, min_age=22)
    comp = np.array(pools().companies)[rng.integers(0, len(pools().companies), small)]
    add(C.K_BUSINESS, biz, _uniform_int(rng, day(2005, 1, 1), day(Y, 12, 31), small),
        np.strings.add(comp, " 法定代表人").astype(object))  # fmt: skip
    kind = np.concatenate(kinds)
    return Rosters(
        kind=kind,
        pid=np.concatenate(pids).astype(np.int64),
        date=np.concatenate(dates).astype(np.int64),
        detail=np.concatenate(details),
        pc=np.full(len(kind), -1, dtype=np.int64),
    )


# SY301's planted villages are chosen while the villages are built (defects.py plants the rest).


def village_plants(p: Params, n_villages: int) -> int:
    return max(1, min(p.plants_per_rule, n_villages // 25))


def choose_high_incidence_villages(
    p: Params, rng: np.random.Generator, v_poor: np.ndarray, v_out: np.ndarray, v_count: np.ndarray
) -> np.ndarray:
    """SY301 villages: declared 出列 but (by construction) with poverty incidence ≥ 5%."""
    rng = np.random.default_rng([p.seed, 301])
    k = village_plants(p, len(v_poor))
    chosen: list[int] = []
    for pool in (v_out & (v_count >= 4), v_poor & (v_count >= 4), v_count >= 4, v_count >= 1):
        cand = np.setdiff1d(np.flatnonzero(pool), chosen)
        if len(chosen) < k and len(cand):
            chosen += rng.choice(cand, size=min(k - len(chosen), len(cand)), replace=False).tolist()
    mask = np.zeros(len(v_poor), dtype=bool)
    mask[chosen] = True
    return mask
