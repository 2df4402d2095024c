"""Fields a table lacks but another column of the same row states in other words (MONITORING.md C2, C4).

A 2021–2026 monitoring export has no 脱贫状态, 是否监测对象 or 是否享受低保 columns; it says the same things
as 户类型 = 脱贫户, a non-empty 监测对象类别 and 享受低保政策情况 = 农村低保. Deriving the older field lets
every rule written for it (IN001 on 脱贫户, LG102, DQ055) run on the newer data unchanged. A derived
field is filled only where the file has no column of its own; findings about it name the column it came
from (its header and cell), so an auditor is pointed at what the file really says.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.dataset import SOURCE_COLUMN, Source, Table
from fupin_audit.io.parquet import arrow_writes_repr
from fupin_audit.schema.codes import code_list
from fupin_audit.schema.fields import is_arrow_text


@dataclass(frozen=True)
class Derivation:
    kind: str
    field: str  # the field filled in
    source_field: str  # the column it is read from
    how: str  # said in the schema docs and kept on the source
    compute: Callable[[pd.Series], pd.Series]  # typed source column → typed values (NA = unknown)


def _exited(household_type: pd.Series) -> pd.Series:
    values = np.where(household_type.astype(object) == "脱贫户", "已脱贫", None)
    categories = list(code_list("脱贫状态").values)
    return pd.Series(pd.Categorical(values, categories=categories), index=household_type.index)


def _filled(category: pd.Series) -> pd.Series:
    return category.notna().astype("boolean")


def _receives(*labels: str) -> Callable[[pd.Series], pd.Series]:
    def compute(status: pd.Series) -> pd.Series:
        return status.astype(object).isin(labels).astype("boolean").where(status.notna())

    return compute


def _negated(flag: pd.Series) -> pd.Series:
    return ~flag.astype("boolean")


DERIVATIONS = (
    Derivation("households", "脱贫状态", "户类型", "户类型 = 脱贫户 → 已脱贫", _exited),
    Derivation("households", "是否监测对象", "监测对象类别", "监测对象类别非空 → 是", _filled),
    Derivation("households", "是否解决安全饮用水", "饮水困难", "饮水困难 = 否 → 是", _negated),
    Derivation(
        "members",
        "是否享受低保",
        "享受低保政策情况",
        "城市低保/农村低保 → 是",
        _receives("城市低保", "农村低保"),
    ),
    Derivation(
        "members",
        "是否特困供养人员",
        "享受特困供养政策情况",
        "城市特困/农村特困 → 是",
        _receives("城市特困", "农村特困"),
    ),
)


RISK_SLOTS = tuple(f"致贫返贫风险{k}" for k in range(1, 6))
RISK_SEPARATORS = r"[,，、;；/]+"


def split_risks(tables: dict[str, Table], sources: list[Source]) -> None:
    """One column holding several risks ("因病,因学", as counties export a 风险类型 column) is the risks
    1–5 in order, for the rows whose other slots are empty: each value then counts as a risk of its own
    (MN105, MN132 compare risks one by one)."""
    table = tables.get("households")
    if table is None or RISK_SLOTS[0] not in table.data:
        return
    first = table.data[RISK_SLOTS[0]].astype("string")
    several = first.str.contains(RISK_SEPARATORS, regex=True).fillna(False).to_numpy(dtype=bool)
    for slot in RISK_SLOTS[1:]:
        if slot in table.data:
            several &= table.data[slot].isna().to_numpy()
    if not several.any():
        return
    from fupin_audit.schema.codes import code_list

    labels = code_list("致贫返贫风险")
    parts = first[several].str.split(RISK_SEPARATORS, regex=True, n=len(RISK_SLOTS) - 1, expand=True)
    for k, slot in enumerate(RISK_SLOTS):
        values = pd.Series(pd.NA, index=table.data.index, dtype="object")
        if slot in table.data:
            values = table.data[slot].astype("object")
        if k < parts.shape[1]:
            cell = parts[k].str.strip()
            cell = cell.where(cell != "")
            known = {t: labels.label(t) or t for t in cell.dropna().unique()}  # per distinct risk, not row
            values.loc[parts.index] = cell.map(known)
        table.data[slot] = values
        if slot not in table.fields:
            table.fields = table.fields | {slot}
            for s in sources:
                if s.kind == "households" and RISK_SLOTS[0] in s.headers:
                    s.headers.setdefault(slot, s.headers[RISK_SLOTS[0]])
                    s.derived.setdefault(slot, f"由{s.headers[RISK_SLOTS[0]]}拆分")


def derive_fields(tables: dict[str, Table], sources: list[Source]) -> None:
    """Fill each derivable field for the rows of sources that lack its column (in place)."""
    for rule in DERIVATIONS:
        table = tables.get(rule.kind)
        if table is None or rule.source_field not in table.fields:
            continue
        lacking = [
            i
            for i, s in enumerate(sources)
            if s.kind == rule.kind and rule.field not in s.headers and rule.source_field in s.headers
        ]
        if not lacking:
            continue
        rows = table.data[SOURCE_COLUMN].isin(lacking).to_numpy()
        derived = rule.compute(table.data[rule.source_field])
        if rule.field in table.data:
            values = derived.where(rows, table.data[rule.field].astype(derived.dtype))
        else:
            values = derived.where(rows)
        table.data[rule.field] = values.astype(derived.dtype)
        raw_source = table.raw[rule.source_field]
        if rule.field in table.raw:
            table.raw[rule.field] = table.raw[rule.field].where(~rows, raw_source)
        else:
            table.raw[rule.field] = raw_source.where(rows)
        table.fields = table.fields | {rule.field}
        for i in lacking:
            sources[i].headers[rule.field] = sources[i].headers[rule.source_field]
            sources[i].derived[rule.field] = rule.how


# Income parts that make up 纯收入 (DQ050's formula); the first three must be present to derive it.
INCOME_PARTS = ("工资性收入", "生产经营性收入", "转移性收入")
OPTIONAL_PARTS = ("财产性收入",)


def derive_totals(tables: dict[str, Table], sources: list[Source]) -> None:
    """家庭人口数 from the member rows and 纯收入 from its parts, for household sources without those
    columns (a monitoring-era person-level export; MONITORING.md C3), so that DQ051 can compare
    人均纯收入 with them. A household with no member rows keeps an unknown size."""
    households, members = tables.get("households"), tables.get("members")
    if households is None:
        return
    data = households.data
    sized = all("家庭人口数" in s.headers for s in sources if s.kind == "households")
    if not sized and members is not None and "户编号" in data and "户编号" in members.data:
        size = _member_rows(data["户编号"], members.data["户编号"])
        _fill(households, sources, "家庭人口数", size, "（由成员行计数）", "成员行数")
    totalled = all("纯收入" in s.headers for s in sources if s.kind == "households")
    if not totalled and all(p in households.fields for p in INCOME_PARTS):
        total = sum(data[p].astype("float64") for p in INCOME_PARTS)
        for part in OPTIONAL_PARTS:
            if part in households.fields:
                total = total + data[part].astype("float64").fillna(0)
        if "生产经营性支出" in households.fields:
            total = total - data["生产经营性支出"].astype("float64").fillna(0)
        parts = "＋".join(p for p in (*INCOME_PARTS, *OPTIONAL_PARTS) if p in households.fields)
        _fill(households, sources, "纯收入", total, f"（由{parts}推算）", "各项收入之和")


def _member_rows(households: pd.Series, members: pd.Series) -> pd.Series:
    """Per household row: how many member rows carry its 户编号 (NA for none, and for no 户编号):
    ``households.map(members.value_counts())``, as arrow's hash kernels for text columns."""
    if not (is_arrow_text(households) and is_arrow_text(members)):
        return households.map(members.value_counts()).astype("Int64")
    keys = pa.array(members.array, from_pandas=True)
    counted = pc.value_counts(keys.combine_chunks() if isinstance(keys, pa.ChunkedArray) else keys)
    own = pa.array(households.array, from_pandas=True)
    where = pc.index_in(own, value_set=counted.field("values"), skip_nulls=True)
    size = pc.take(counted.field("counts"), where).to_numpy(zero_copy_only=False)
    return pd.Series(pd.array(size, dtype="Int64"), index=households.index)


def _text_of(values: pd.Series) -> pd.Series:
    """``values.astype("string")`` without a Python string per value: whole numbers through arrow's
    cast (the same digits), doubles too where arrow writes Python's repr (see `_double_texts`)."""
    if isinstance(values.dtype, pd.Int64Dtype):
        digits = pc.cast(pa.array(values.array, from_pandas=True), pa.large_string())
        return pd.Series(pd.array(digits, dtype="string"), index=values.index)
    if values.dtype == np.float64:
        return pd.Series(pd.array(_double_texts(values.to_numpy()), dtype="string"), index=values.index)
    return values.astype("string")


def _double_texts(numbers: np.ndarray) -> pa.Array:
    """``str`` of each double (null for NaN). Arrow's cast writes Python's repr digits within a band
    (io.parquet.arrow_writes_repr), without the ".0" of a whole number; outside that band, and for
    zeros, Python writes them."""
    missing = np.isnan(numbers)
    texts = pc.cast(pa.array(numbers, mask=missing), pa.large_string())
    with np.errstate(invalid="ignore"):
        whole = (numbers == np.floor(numbers)) & ~missing
    odd = ~missing & ~arrow_writes_repr(numbers)
    if whole.any():
        point = pa.scalar(".0", pa.large_string())
        joined = pc.binary_join_element_wise(texts, point, pa.scalar("", pa.large_string()))
        texts = pc.if_else(pa.array(whole & ~odd), joined, texts)
    if odd.any():
        written = pa.array([str(v) for v in numbers[odd].tolist()], type=pa.large_string())
        texts = pc.replace_with_mask(texts, pa.array(odd), written)
    return texts


def _fill(table: Table, sources: list[Source], field: str, values: pd.Series, header: str, how: str) -> None:
    lacking = [i for i, s in enumerate(sources) if s.kind == table.kind and field not in s.headers]
    if not lacking:
        return
    rows = table.data[SOURCE_COLUMN].isin(lacking).to_numpy()
    values = values.where(rows, table.data[field]) if field in table.data else values.where(rows)
    table.data[field] = values
    text = _text_of(values)
    table.raw[field] = text.where(rows, table.raw[field]) if field in table.raw else text.where(rows)
    table.fields = table.fields | {field}
    for i in lacking:
        sources[i].headers[field] = header
        sources[i].derived[field] = how
