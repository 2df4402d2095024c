"""Synthetic 建档立卡 county: the bundled sample workbook, test data and benchmark input.

No real personal data: names come from pools built once with Faker (zh_CN), ID numbers are random
but valid (GB 11643 checksum, region 340826 宿松县), phone numbers are random.

    data = generate(10_000, seed=7, year=2017)        # clean county + one planted case per rule per 1000 households
    write_xlsx(data, Path("宿松县样例.xlsx"))           # one flat member-level sheet, like the national export
    write_csv(data, Path("out"), encoding="gb18030")   # one CSV per table
    data.planted                                       # what was planted where (see `defects` for the columns)

With `defects=False` the county satisfies every rule of RULES.md (a clean county gives no findings).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .columns import ALL_RULES, TABLE_KEYS
from .defects import MANIFEST_COLS, plant
from .frames import flat_frame, to_tables
from .model import Params, build_clean, poverty_line
from .pools import COUNTIES, Place, place_of
from .writers import write_csv, write_parquet, write_xlsx

__all__ = [
    "ALL_RULES",
    "COUNTIES",
    "TABLE_KEYS",
    "Place",
    "SampleData",
    "flat_frame",
    "generate",
    "poverty_line",
    "write_csv",
    "write_parquet",
    "write_xlsx",
]


def _empty_patches() -> pd.DataFrame:
    return pd.DataFrame({"证件号码": [], "column": [], "value": []}, dtype="str")


@dataclass
class SampleData:
    """Tables of one synthetic county plus the manifest of planted defects.

    tables: households, members, villages, measures, helpers, rosters (and, when defects are planted,
        measures_extra: a measures table lacking 措施类型, DQ001). Canonical headers, every cell a string.
    planted: rule, table, key, description, outputs, also (see `defects`).
    flat_patches: cells that differ only in the flat member-level export (DQ036): 证件号码 of the
        member row, column, value.
    """

    tables: dict[str, pd.DataFrame]
    planted: pd.DataFrame
    year: int = 2017
    county: str = "宿松县"
    flat_patches: pd.DataFrame = field(default_factory=_empty_patches)

    def flat(self) -> pd.DataFrame:
        """The member-level export: household columns repeated on every member row."""
        return flat_frame(self.tables, self.flat_patches)


def generate(
    households: int,
    *,
    seed: int = 7,
    year: int = 2017,
    defects: bool = True,
    county: str | Place = "宿松县",
    phone_block: int | None = None,
) -> SampleData:
    """A synthetic county of about `households` households (≈3.5 members each), deterministic under seed.

    county: a name from `COUNTIES` (its GB/T 2260 code, city and townships are used) or a `Place`; an
    unlisted name keeps 宿松县's code. defects=True plants max(1, households/1000) cases of every rule
    code (fewer for village-level rules and placeholder IDs, which are capped; LG102 only for year ≥
    2021) and lists them in `planted`. phone_block: see `model.unique_phones` (multi-county runs).
    """
    place = county if isinstance(county, Place) else place_of(county)
    county = place.county
    params = Params(
        households=households,
        seed=seed,
        year=year,
        county=county,
        defects=defects,
        place=place,
        phone_block=phone_block,
    )
    model = build_clean(params)
    manifest = plant(model) if defects else pd.DataFrame({c: [] for c in MANIFEST_COLS}, dtype="str")
    tables = to_tables(model)
    patches = (
        pd.DataFrame(model.flat_patches, columns=["证件号码", "column", "value"], dtype="str")
        if model.flat_patches
        else _empty_patches()
    )
    return SampleData(tables=tables, planted=manifest, year=year, county=county, flat_patches=patches)
