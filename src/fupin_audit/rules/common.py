"""Shared building blocks of the 四严 / 两该两不该 / 返贫风险 packs: status masks, poverty lines,
person keys, measures of the data year, deaths, and `related` lists.

Everything here works on whole columns (group-bys, merges, masks); the only Python loops run over
rows that are already flagged, to write their `related` JSON.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN
from fupin_audit.engine.context import AuditContext, related_json
from fupin_audit.engine.rule import SkipRule
from fupin_audit.errors import ConfigError
from fupin_audit.policy import SERIES_NAMES
from fupin_audit.schema.codes import EXITED, POOR

STATUS = "脱贫状态"
INCOME = "人均纯收入"
ID = "证件号码"
HID = "户编号"
# At most this many records go into one finding's `related` list (then {"omitted": n}).
RELATED_MAX = 50
# Records listed by name inside one message.
SHOWN_MAX = 10
# Measures count for a year through 年度, else the year of 日期; this label marks an undated one.
USABLE_ID_KINDS = ("id18", "id15", "disability20")


# ------------------------------------------------------------------------------------ values


def text(series: pd.Series) -> pd.Series:
    """A column as stripped text ("" for empty), whatever its dtype (categorical codes included)."""
    values = series.astype(object)
    return values.where(values.notna(), "").astype(str).str.strip()


def exited(frame: pd.DataFrame) -> pd.Series:
    """已脱贫 in any of its variants."""
    return frame[STATUS].isin(EXITED).fillna(False).astype(bool)


def poor(frame: pd.DataFrame) -> pd.Series:
    """未脱贫 or 返贫: the households still counted as poor."""
    return frame[STATUS].isin(POOR).fillna(False).astype(bool)


def as_bool(frame: pd.DataFrame, column: str) -> pd.Series:
    """A yes/no column as plain bool with unknown = False (absent column: all False)."""
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return frame[column].astype("boolean").fillna(False).astype(bool)


def is_no(frame: pd.DataFrame, column: str) -> pd.Series:
    """A yes/no column explicitly 否 (unknown and absent: False)."""
    if column not in frame:
        return pd.Series(False, index=frame.index)
    return (~frame[column].astype("boolean")).fillna(False).astype(bool)


def money(value: float) -> str:
    """3120 → "3120.00" (always two decimals, no thousands separator)."""
    return f"{value:.2f}"


def yuan(value: float) -> str:
    """A parameter amount: 3335 → "3335", 3501.75 → "3501.75"."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.2f}"


def percent(share: float) -> str:
    """0.02 → "2%", 0.025 → "2.5%"."""
    return f"{round(share * 100, 4):g}%"


def fmt(values: pd.Series, func: Any) -> pd.Series:
    """Texts of a column for messages: `func` per value, "?" for missing; always object dtype, so an
    empty or all-missing selection still concatenates with strings."""
    if isinstance(func, str):
        func = func.format
    out = values.astype(object).map(func, na_action="ignore") if len(values) else values.astype(object)
    return out.astype(object).where(values.notna().to_numpy(), "?")


def money_texts(values: pd.Series) -> pd.Series:
    return fmt(values, money)


def count_texts(values: pd.Series) -> pd.Series:
    """Counts (possibly float after a map) as “12”."""
    return fmt(values, lambda v: str(int(v)))


def year_texts(years: pd.Series) -> pd.Series:
    return years.astype("Int64").astype("string").fillna("?").astype(object)


def date_texts(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime("%Y-%m-%d").astype(object).fillna("?")


# ------------------------------------------------------------------------------------ policy


def param_source(ctx: AuditContext, key: str) -> str:
    """Where a policy value came from: 默认值 or the override file's name. For a table of values
    (monitoring_line, measures.for_cause) an override of any entry names the file."""
    origin = ctx.policy.origin
    label = origin.get(key) or next((v for k, v in origin.items() if k.startswith(key + ".")), None)
    return label or "默认值"


def param(ctx: AuditContext, key: str) -> str:
    """“参数 relapse_risk_line，默认值” / “参数 relapse_risk_line，county.toml”."""
    return f"参数 {key}，{param_source(ctx, key)}"


def _series_text(ctx: AuditContext, series: str | None) -> tuple[str, str]:
    series = series or ctx.policy.exit_line_series
    chosen = ctx.policy.origin.get("exit_line_series")
    name = SERIES_NAMES[series] + (
        f"（exit_line_series，{chosen}）" if chosen and series == ctx.policy.exit_line_series else ""
    )
    return series, name


def line_source(ctx: AuditContext, year: int, series: str | None = None) -> str:
    """“工作口径，默认值”: the poverty-line series applied, and where that year's value came from."""
    series, name = _series_text(ctx, series)
    origin = ctx.policy.origin.get(f"poverty_line.{series}.{year}") or "默认值"
    return f"{name}，{origin}"


def line_sources(ctx: AuditContext, years: pd.Series, series: str | None = None) -> pd.Series:
    """`line_source` per row (computed once per distinct year)."""
    distinct = {int(y): line_source(ctx, int(y), series) for y in years.dropna().unique()}
    return years.astype("Int64").map(distinct, na_action="ignore").astype(object).fillna("")


def lines_for(ctx: AuditContext, years: pd.Series, *, series: str | None = None) -> pd.Series:
    """The poverty line per row for the given years (NA year → NA line).

    A year that is needed but has no configured line is a configuration error naming the year:
    a line is never guessed. Pass only the rows a rule really judges (mask the rest to NA)."""
    policy = ctx.policy
    series = series or policy.exit_line_series
    table = getattr(policy.poverty_line, series)
    known = years.dropna().astype(int)
    missing = sorted(set(known.unique()) - set(table))
    if missing:
        raise ConfigError(
            f"{'、'.join(map(str, missing))} 年没有配置贫困线（{SERIES_NAMES[series]}）："
            f"请在 --config 文件的 [poverty_line.{series}] 中加入，例如 {missing[0]} = …"
        )
    return years.astype("Int64").map(table, na_action="ignore").astype("float64")


def data_years(ctx: AuditContext, kind: str) -> pd.Series:
    """Per row: the data year (年度, else --year, else a title row); SkipRule when none is known."""
    years = ctx.data_year(kind)
    if len(years) and years.isna().all():
        raise SkipRule(f"{kind} 表没有年度列，也没有指定 --year，无法确定数据年度")
    return years


def year_start(years: pd.Series) -> pd.Series:
    """1 January of each row's year (NaT when unknown)."""
    return _date_in(years, 1, 1)


def year_end(years: pd.Series) -> pd.Series:
    """31 December of each row's year (NaT when unknown)."""
    return _date_in(years, 12, 31)


def _date_in(years: pd.Series, month: int, day: int) -> pd.Series:
    parts = pd.DataFrame({"year": years.astype("Int64").astype("float64"), "month": month, "day": day})
    return pd.to_datetime(parts, errors="coerce")


# ------------------------------------------------------------------------------------ people


def person_keys(ctx: AuditContext, kind: str, field: str = ID) -> pd.Series:
    """Per row: the person an ID column names, as one comparable key (NA when it names nobody).

    Normalised the same way in every table: full-width, spaces, lower-case x removed; 15-digit
    legacy numbers upgraded to 18 digits; a 20-digit 残疾人证号 reduced to its first 18 digits;
    placeholders, Excel-damaged and malformed numbers give NA (DQ010/013/017 report them)."""

    def compute() -> pd.Series:
        table = ctx.table(kind, field)
        if kind == "members" and field == ID:
            from fupin_audit.rules.dq_idnumber import id_analysis

            analysis = id_analysis(ctx)
        else:
            from fupin_audit.schema.idnumber import analyse_ids

            analysis = analyse_ids(table.raw[field])
        id_kind = analysis["kind"].astype(object)
        key = analysis["normalized"].astype(object)
        key = key.where(id_kind != "id15", analysis["upgraded"].astype(object))
        key = key.where(id_kind != "disability20", key.str.slice(0, 18))
        return key.where(id_kind.isin(USABLE_ID_KINDS)).reindex(table.data.index)

    return ctx.cached(f"{kind}.person_keys.{field}", compute)


def registered_people(ctx: AuditContext) -> pd.DataFrame:
    """One row per registered person key: the first member row's label and its 户编号."""

    def compute() -> pd.DataFrame:
        members = ctx.frame("members", ID)
        keys = person_keys(ctx, "members")
        hid = text(members[HID]) if HID in members else pd.Series("", index=members.index)
        frame = pd.DataFrame({"key": keys, "hid": hid, "label": members.index}, index=members.index)
        return frame.dropna(subset=["key"]).drop_duplicates("key").set_index("key")

    return ctx.cached("members.registered_people", compute)


# ------------------------------------------------------------------------------------ deaths


def has_death_source(ctx: AuditContext) -> bool:
    roster = ctx.has("rosters", ID, "类别") and (text(ctx.frame("rosters")["类别"]) == "死亡").any()
    return bool(roster or ctx.has("members", "死亡日期") or ctx.has("members", "是否死亡"))


def require_death_source(ctx: AuditContext) -> None:
    if not has_death_source(ctx):
        raise SkipRule(
            "没有死亡名单（比对名单类别“死亡”或“死亡人员”工作表），成员表也没有死亡日期/是否死亡列"
        )


def deaths_by_person(ctx: AuditContext) -> pd.DataFrame:
    """Per person key: the earliest known date of death (NaT: dead, date unknown) and its source.

    Sources: rows of 死亡 rosters (with or without 日期), and members' own 死亡日期 / 是否死亡."""

    def compute() -> pd.DataFrame:
        parts = []
        if ctx.has("rosters", ID, "类别"):
            rosters = ctx.frame("rosters")
            dead = text(rosters["类别"]) == "死亡"
            keys = person_keys(ctx, "rosters")
            rows = dead & keys.notna()
            if rows.any():
                date = (
                    rosters.loc[rows, "日期"]
                    if "日期" in rosters
                    else pd.Series(pd.NaT, index=rows.index[rows])
                )
                parts.append(
                    pd.DataFrame(
                        {
                            "key": keys[rows],
                            "date": pd.to_datetime(date),
                            "source": "死亡名单，" + _places(ctx, "rosters", rows.index[rows]),
                        }
                    )
                )
        if ctx.has("members", ID):
            members = ctx.frame("members")
            keys = person_keys(ctx, "members")
            own = members["死亡日期"] if "死亡日期" in members else pd.Series(pd.NaT, index=members.index)
            marked = own.notna() | as_bool(members, "是否死亡")
            rows = marked & keys.notna()
            if rows.any():
                how = own[rows].notna().map({True: "成员表死亡日期，", False: "成员表是否死亡 = 是，"})
                parts.append(
                    pd.DataFrame(
                        {
                            "key": keys[rows],
                            "date": pd.to_datetime(own[rows]),
                            "source": how + _places(ctx, "members", rows.index[rows]),
                        }
                    )
                )
        if not parts:
            return pd.DataFrame(
                {"date": pd.Series(dtype="datetime64[ns]"), "source": pd.Series(dtype=object)}
            )
        frame = pd.concat(parts, ignore_index=True)
        # Earliest dated record first; an undated one only when no dated record exists.
        frame = frame.sort_values(["key", "date"], na_position="last", kind="stable")
        return frame.drop_duplicates("key").set_index("key")[["date", "source"]]

    return ctx.cached("deaths.by_person", compute)


def member_deaths(ctx: AuditContext) -> pd.DataFrame:
    """Per member row: `dead` (bool), `date` (NaT when unknown) and `source` of the death."""

    def compute() -> pd.DataFrame:
        members = ctx.frame("members")
        index = members.index
        by_person = deaths_by_person(ctx)
        keys = person_keys(ctx, "members") if ID in members else pd.Series(pd.NA, index=index, dtype=object)
        hit = keys.isin(by_person.index)
        date = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
        source = pd.Series("", index=index, dtype=object)
        date[hit] = keys[hit].map(by_person["date"]).to_numpy()
        source[hit] = keys[hit].map(by_person["source"]).to_numpy()
        # A row without a usable ID still carries its own 死亡日期 / 是否死亡.
        own = members["死亡日期"] if "死亡日期" in members else pd.Series(pd.NaT, index=index)
        own_rows = ~hit & (own.notna() | as_bool(members, "是否死亡"))
        if own_rows.any():
            date[own_rows] = pd.to_datetime(own[own_rows]).to_numpy()
            how = own[own_rows].notna().map({True: "成员表死亡日期，", False: "成员表是否死亡 = 是，"})
            source[own_rows] = how + _places(ctx, "members", own_rows.index[own_rows])
        return pd.DataFrame({"dead": hit | own_rows, "date": date, "source": source}, index=index)

    return ctx.cached("deaths.members", compute)


def _places(ctx: AuditContext, kind: str, labels: pd.Index) -> pd.Series:
    """“家庭成员 第 5 行” per row (sheet, or file name for CSV)."""
    data = ctx.frame(kind).loc[labels]
    sheets = np.array([s.sheet or s.file.rsplit("/", 1)[-1] for s in ctx.dataset.sources], dtype=object)
    where = pd.Series(sheets[data[SOURCE_COLUMN].to_numpy(dtype=np.int64)], index=labels, dtype=object)
    return where + " 第 " + data[ROW_COLUMN].astype(str) + " 行"


# ------------------------------------------------------------------------------------ measures


def measures_of_year(ctx: AuditContext) -> pd.DataFrame:
    """The measures with their year (年度, else the year of 日期, else --year; NA: undated, counted
    for every year), stripped 户编号 / 乡 / 村 / 帮扶单位 / 帮扶责任人 texts, and the household's 乡 and
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
                HID: _column_text(measures, HID),
                "措施类型": _column_text(measures, "措施类型"),
                "县": _column_text(measures, "县"),
                "乡": _column_text(measures, "乡"),
                "村": _column_text(measures, "村"),
                "帮扶单位": _column_text(measures, "帮扶单位"),
                "帮扶责任人": _column_text(measures, "帮扶责任人"),
                "year": year.astype("Int64"),
            },
            index=measures.index,
        )
        if ctx.has("households", HID) and (out[HID] != "").any():
            households = ctx.frame("households")
            places = pd.DataFrame({HID: text(households[HID])})
            for column in ("县", "乡", "村"):
                places[column] = _column_text(households, column)
            places = places[places[HID] != ""].drop_duplicates(HID).set_index(HID)
            for column in ("县", "乡", "村"):
                empty = (out[column] == "") & (out[HID] != "")
                if empty.any():
                    out.loc[empty, column] = out.loc[empty, HID].map(places[column]).fillna("").to_numpy()
        return out

    return ctx.cached("measures.of_year", compute)


def _column_text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series("", index=frame.index, dtype=object)
    return text(frame[column])


def households_with_measure(ctx: AuditContext, types: Iterable[str] | None = None) -> pd.Series:
    """Per household row: at least one measure (of the given types) for its 户编号 in its data year
    (an undated measure counts for every year)."""
    key = "measures.households_with." + ("*" if types is None else "|".join(sorted(types)))

    def compute() -> pd.Series:
        households = ctx.frame("households", HID)
        measures = measures_of_year(ctx)
        if types is not None:
            measures = measures[measures["措施类型"].isin(set(types))]
        measures = measures[measures[HID] != ""]
        hid = text(households[HID])
        years = ctx.data_year("households")
        dated = measures[measures["year"].notna()]
        wanted = pd.MultiIndex.from_arrays([hid, years.astype("Int64")])
        have = pd.MultiIndex.from_arrays([dated[HID], dated["year"]])
        found = np.asarray(wanted.isin(have), dtype=bool)
        undated = set(measures.loc[measures["year"].isna(), HID])
        found |= hid.isin(undated).to_numpy()
        return pd.Series(found & (hid != "").to_numpy(), index=households.index)

    return ctx.cached(key, compute)


# ------------------------------------------------------------------------------------ places


def place_columns(*frames: pd.DataFrame) -> list[str]:
    """The place columns (县, 乡, 村) every given frame has and fills: the finest common key."""
    columns = []
    for column in ("县", "乡", "村"):
        if all(column in f and f[column].notna().any() for f in frames):
            columns.append(column)
    return columns


def place_key(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """“宿松县/孚玉镇/城西村” from the given place columns (texts joined with /)."""
    if not columns:
        return pd.Series("", index=frame.index, dtype=object)
    key = _column_text(frame, columns[0])
    for column in columns[1:]:
        key = key + "/" + _column_text(frame, column)
    return key


# ------------------------------------------------------------------------------------ related


# Per table: (record key, canonical field) written into `related` records.
RECORD_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "households": (
        ("household_id", HID), ("name", "户主姓名"), ("id_number", "户主证件号码"), ("county", "县"),
        ("township", "乡"), ("village", "村"), ("status", STATUS),
    ),
    "members": (
        ("household_id", HID), ("person_id", "人口编号"), ("id_number", ID), ("name", "姓名"),
        ("county", "县"), ("township", "乡"), ("village", "村"),
    ),
    "villages": (("county", "县"), ("township", "乡"), ("village", "村"), ("village_code", "村代码")),
    "measures": (
        ("household_id", HID), ("id_number", "领取人证件号码"), ("measure_type", "措施类型"),
        ("amount", "金额"), ("date", "日期"), ("unit", "帮扶单位"), ("village", "村"),
    ),
    "helpers": (
        ("household_id", HID), ("helper", "帮扶责任人姓名"), ("id_number", "帮扶责任人证件号码"),
        ("unit", "帮扶单位"),
    ),
    "rosters": (
        ("category", "类别"), ("id_number", ID), ("name", "姓名"), ("date", "日期"), ("detail", "详情"),
    ),
}  # fmt: skip


def records(ctx: AuditContext, kind: str, labels: Iterable[Hashable]) -> dict[Hashable, dict[str, Any]]:
    """A small JSON-able record per row (file, sheet, 1-based row and who/what it is)."""
    labels = pd.Index(labels)
    if labels.empty:
        return {}
    data = ctx.frame(kind)
    fields = [(k, f) for k, f in RECORD_FIELDS[kind] if f in data]
    part = data.loc[labels, [SOURCE_COLUMN, ROW_COLUMN, *(f for _, f in fields)]]
    sources = ctx.dataset.sources
    out: dict[Hashable, dict[str, Any]] = {}
    for label, values in zip(labels, part.itertuples(index=False, name=None), strict=True):
        src, row, *rest = values
        source = sources[int(src)]
        record: dict[str, Any] = {"table": kind, "file": source.file, "sheet": source.sheet, "row": int(row)}
        for (key, _), value in zip(fields, rest, strict=True):
            if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
                continue
            if isinstance(value, pd.Timestamp):
                record[key] = value.strftime("%Y-%m-%d")
            elif isinstance(value, float):
                record[key] = round(value, 2)
            else:
                record[key] = str(value)
        out[label] = record
    return out


def capped(listed: list[dict[str, Any]], total: int) -> str:
    """JSON of at most RELATED_MAX records, plus {"omitted": n} when more were involved."""
    shown = listed[:RELATED_MAX]
    if total > len(shown):
        shown = [*shown, {"omitted": total - len(shown)}]
    return related_json(shown)


def related_groups(
    ctx: AuditContext, kind: str, flagged: pd.Index, groups: pd.Series, *, include_self: bool = False
) -> pd.Series:
    """For each flagged row, JSON of the rows of `kind` sharing its group (groups: label → key over
    all candidate rows), without the row itself unless `include_self`. Capped at RELATED_MAX."""
    groups = groups.dropna()
    wanted = groups[groups.isin(set(groups.reindex(flagged).dropna()))]
    by_key = pd.Series(wanted.index, index=wanted.to_numpy()).groupby(level=0, sort=False).agg(list)
    heads = {key: labels[: RELATED_MAX + 1] for key, labels in by_key.items()}
    recs = records(ctx, kind, pd.Index([label for head in heads.values() for label in head]))
    out = {}
    for label in flagged:
        key = groups.get(label)
        if key is None:
            out[label] = "[]"
            continue
        everyone = by_key[key]
        listed = [recs[x] for x in heads[key] if include_self or x != label]
        out[label] = capped(listed, len(everyone) - (0 if include_self else 1))
    return pd.Series(out, dtype=object).reindex(flagged)


def name_list(values: Iterable[str], limit: int = SHOWN_MAX) -> str:
    """“H1、H2、H3” (at most `limit`, then “等 n 个”)."""
    values = list(values)
    shown = "、".join(values[:limit])
    return shown + (f" 等 {len(values)} 个" if len(values) > limit else "")


# ------------------------------------------------------------------------------------ raw cells


def unreadable(ctx: AuditContext, kind: str, field: str) -> pd.Series:
    """Per row: the cell was written but could not be typed (DQ003–DQ005 report it): value unknown."""
    table = ctx.table(kind)
    typed = table.data[field] if field in table.data else pd.Series(pd.NA, index=table.data.index)
    if field not in table.raw:
        return pd.Series(False, index=table.data.index)
    from fupin_audit.schema.fields import EMPTY_MARKERS

    raw = table.raw[field].astype(object)
    written = raw.notna() & ~text(raw).str.normalize("NFKC").str.strip().isin(EMPTY_MARKERS)
    return (typed.isna() & written).reindex(table.data.index).fillna(False).astype(bool)


def raw_values(ctx: AuditContext, kind: str, field: str) -> pd.Series:
    """The cells of a field as read (text), "" where absent."""
    raw = ctx.table(kind).raw
    if field not in raw:
        return pd.Series("", index=ctx.frame(kind).index, dtype=object)
    return text(raw[field])


def audit_year(ctx: AuditContext) -> int | None:
    """The run's data year: --year, else the most common data year of the households or members."""
    if ctx.year is not None:
        return ctx.year
    for kind in ("households", "members", "villages"):
        if ctx.has(kind):
            years = ctx.data_year(kind).dropna()
            if len(years):
                return int(years.mode().iloc[0])
    return None


def exit_years(ctx: AuditContext, households: pd.DataFrame, years: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Per household row: the year whose line judges its exit — 脱贫年度 when it is known and not after
    the data year (a later one is SY304's finding), else the data year — and a label saying which."""
    if "脱贫年度" in households:
        own = households["脱贫年度"].astype("Int64")
        usable = own.notna() & ~(own > years).fillna(False)
    else:
        own = pd.Series(pd.NA, index=households.index, dtype="Int64")
        usable = pd.Series(False, index=households.index)
    chosen = own.where(usable, years).astype("Int64")
    label = pd.Series("数据年度", index=households.index, dtype=object).where(~usable, "脱贫年度")
    return chosen, label
