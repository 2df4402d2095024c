"""帮扶措施 of the data year per household, by type, as the SY and LG rules and the indicators count them."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import SkipRule
from fupin_audit.facts.keys import first_rows, gather, household_codes
from fupin_audit.facts.values import HID, arrow_text, column_text


def measures_of_year(ctx: AuditContext) -> pd.DataFrame:
    """The measures with their year (年度, else the year of 日期, else --year; NA: undated, counted
    for every year), stripped 户编号 / 乡 / 村 / 帮扶单位 / 帮扶责任人 texts, and the household's 县, 乡 and
    村 filled in from the household table when the measure names a household but no place."""

    def compute() -> pd.DataFrame:
        measures = ctx.frame("measures")
        year = (
            measures["年度"] if "年度" in measures else pd.Series(pd.NA, index=measures.index, dtype="Int64")
        )
        if "日期" in measures:
            year = year.fillna(measures["日期"].dt.year.astype("Int64"))
        if ctx.year is not None:
            year = year.fillna(ctx.year)
        out = pd.DataFrame(
            {
                HID: column_text(measures, HID),
                "措施类型": column_text(measures, "措施类型"),
                "县": column_text(measures, "县"),
                "乡": column_text(measures, "乡"),
                "村": column_text(measures, "村"),
                "帮扶单位": column_text(measures, "帮扶单位"),
                "帮扶责任人": column_text(measures, "帮扶责任人"),
                "year": year.astype("Int64"),
            },
            index=measures.index,
        )
        if ctx.has("households", HID) and ctx.has("measures", HID):
            codes = household_codes(ctx)
            first = first_rows(codes["households"], codes["n"])
            row = gather(first, codes["measures"], -1)
            households = ctx.frame("households")
            for column in ("县", "乡", "村"):
                if column not in households:
                    continue
                empty = (out[column] == "").to_numpy() & (row >= 0)
                if empty.any():  # one arrow take and choice, not a Python string per filled row
                    theirs = pa.array(column_text(households, column).array, type=pa.large_string())
                    own = pa.array(out[column].array, type=pa.large_string())
                    filled = pc.if_else(pa.array(empty), pc.take(theirs, np.where(empty, row, 0)), own)
                    out[column] = pd.Series(filled.to_pandas().array, index=out.index, copy=False)
        return out

    return ctx.cached("measures.of_year", compute)


def measure_types(ctx: AuditContext) -> tuple[pd.Series, dict[str, int]]:
    """Per household row: a bit set of the measure types it has in its data year (undated measures
    count for every year; bit 0: any measure at all), and the bit of each type name."""

    def compute() -> tuple[pd.Series, dict[str, int]]:
        households = ctx.frame("households", HID)
        codes = household_codes(ctx)
        if "measures" not in codes:
            return pd.Series(0, index=households.index, dtype=np.int64), {}
        measures = measures_of_year(ctx)
        encoded = pc.dictionary_encode(arrow_text(measures["措施类型"]))
        names = encoded.dictionary.to_pylist()
        if len(names) > 62:
            raise SkipRule(f"措施类型有 {len(names)} 种，超过 62 种，无法逐户汇总")
        bit_of = {name: 1 << (position + 1) for position, name in enumerate(names)}
        kinds = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
        bits = np.where(kinds >= 0, np.left_shift(1, kinds + 1), 0).astype(np.int64) | 1
        own, theirs = codes["households"], codes["measures"]
        year = measures["year"].fillna(-1).to_numpy(dtype=np.int64)
        dated = (theirs >= 0) & (year >= 0)
        pairs = theirs[dated] * 10_000 + year[dated]
        order = np.argsort(pairs, kind="stable")
        pairs, pair_bits = pairs[order], bits[dated][order]
        out = np.zeros(len(own), dtype=np.int64)
        if len(pairs):
            starts = np.flatnonzero(np.r_[True, pairs[1:] != pairs[:-1]])
            unique_pairs, ored = pairs[starts], np.bitwise_or.reduceat(pair_bits, starts)
            own_year = ctx.data_year("households").fillna(-1).to_numpy(dtype=np.int64)
            wanted = np.where((own >= 0) & (own_year >= 0), own * 10_000 + own_year, -1)
            at = np.minimum(np.searchsorted(unique_pairs, wanted), len(unique_pairs) - 1)
            out = np.where(unique_pairs[at] == wanted, ored[at], 0).astype(np.int64)
        undated = (theirs >= 0) & (year < 0)
        if undated.any():
            per_code = np.zeros(codes["n"], dtype=np.int64)
            np.bitwise_or.at(per_code, theirs[undated], bits[undated])
            out |= gather(per_code, own, 0)
        return pd.Series(np.where(own >= 0, out, 0), index=households.index), bit_of

    return ctx.cached("measures.types_by_household", compute)


def households_with_measure(ctx: AuditContext, types: Iterable[str] | None = None) -> pd.Series:
    """Per household row: at least one measure (of the given types) for its 户编号 in its data year
    (an undated measure counts for every year)."""
    bits, bit_of = measure_types(ctx)
    wanted = 1 if types is None else sum(bit_of.get(t, 0) for t in set(types))
    return (bits & wanted) != 0


def measure_names(ctx: AuditContext, labels: pd.Index) -> pd.Series:
    """For the given household rows: “产业帮扶、慰问救助” — its measure types of the data year, in
    code-list order."""
    from fupin_audit.schema.codes import code_list

    bits, bit_of = measure_types(ctx)
    rank = {name: i for i, name in enumerate(code_list("措施类型").values)}
    names = sorted(bit_of, key=lambda name: (rank.get(name, len(rank)), name))
    texts = {}
    for value in pd.unique(bits[labels]):  # one text per distinct combination
        texts[value] = "、".join(name for name in names if value & bit_of[name])
    return bits[labels].map(texts).astype(object)
