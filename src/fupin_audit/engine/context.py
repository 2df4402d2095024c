"""What a rule sees: the typed tables, the policy, the data year, and a way to report findings."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from dataclasses import field as default
from typing import Any

import numpy as np
import pandas as pd

from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN, Dataset, Diagnostic, Table
from fupin_audit.engine.rule import SkipRule
from fupin_audit.engine.years import WholeDataset, run_years, year_counts
from fupin_audit.policy import YEAR_RANGE, Policy

Rows = pd.Series | pd.Index | Sequence[Any] | np.ndarray
# The rule being run on this thread (set by the runner), so a policy gap can name it.
CURRENT_RULE: ContextVar[str] = ContextVar("fupin_audit_rule", default="")
# Set by the runner on a rule's thread: asked with the context and key of a shared fact another
# thread is computing, it says whether the rule may be put back (FactBusy) rather than wait.
MAY_DEFER: ContextVar[Callable[[AuditContext, str], bool] | None] = ContextVar(
    "fupin_audit_may_defer", default=None
)
# Per thread: how many shared facts it is computing (one inside another). Only a rule's own ask
# may be put back: a fact abandoned half-way would be work thrown away.
_COMPUTING = threading.local()
_MISSING = object()  # not cached (None is a value)


def begin_try() -> None:
    """A rule's try begins on this thread. The rows it records as unjudged outside shared facts are
    journaled: a try put back (FactBusy) runs again from the start and records them again."""
    _COMPUTING.journal = []


def end_try() -> None:
    """The try is over (done, skipped, failed or put back): nothing more is journaled on this thread."""
    _COMPUTING.journal = None


def take_back_try() -> None:
    """Take back what this thread's try journaled (its rows would otherwise be counted twice). What
    a shared fact recorded stays: the fact stays computed. Notes are said once anyway."""
    for context, key, rule, rows in getattr(_COMPUTING, "journal", None) or []:
        context._take_back(key, rule, rows)
    end_try()


class FactBusy(BaseException):
    """Raised by `AuditContext.cached` instead of waiting, when the runner allows it: another thread
    is computing the fact, and this thread runs other rules meanwhile (the rule is run again later).
    A BaseException, so that a rule's own ``except Exception`` does not swallow it."""

    def __init__(self, context: AuditContext, key: str) -> None:
        super().__init__(key)
        self.context, self.key = context, key


# The ID column read for a record's region when its 户编号 gives none.
# How a gap message counts the rows of each table.
ROW_NOUNS = {"households": "户", "members": "名成员", "rosters": "条名单记录", "villages": "个村"}
REGION_ID_FIELDS = {
    "households": ("户主证件号码",),
    "members": ("证件号码", "户主证件号码"),
    "rosters": ("证件号码",),
}


@dataclass
class PolicyGap:
    """Rows some rules could not judge: the policy value `key` is missing for this year and place."""

    key: str
    year: int | None
    province: str  # 2-digit code, "" when the records' province is unknown
    kind: str
    message: str  # without the rule codes
    rules: dict[str, int] = default(default_factory=dict)  # rule → rows left unjudged


class AuditContext:
    def __init__(
        self,
        dataset: Dataset,
        policy: Policy,
        year: int | None = None,
        previous: AuditContext | None = None,
        *,
        strict_policy: bool = False,
        whole: WholeDataset | None = None,
    ) -> None:
        self.dataset = dataset
        # Set when this context sees only part of the data (a Dask partition): the whole's years and
        # filled fields, so a rule judges a partition's rows as a one-machine run would.
        self.whole = whole
        self.policy = policy
        self.strict_policy = strict_policy
        # The previous snapshot of the same county (--previous), for the DT rules; None without one.
        self.previous = previous
        self._cache: dict[str, Any] = {}
        self._computing: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._notes: dict[str, Diagnostic] = {}
        self._gaps: dict[tuple[str, int | None, str, str], PolicyGap] = {}
        self._files = _per_source([s.file for s in dataset.sources])
        self._sheets = _per_source([s.sheet for s in dataset.sources])
        self._texts_by_source: dict[tuple[str, str], pd.Categorical] = {}
        self._aligned_tables: dict[str, tuple[Table, bool]] = {}
        self._arrays: dict[tuple[str, str, bool], tuple[pd.DataFrame, Any]] = {}
        low, high = YEAR_RANGE
        if year is not None and not low <= year <= high:
            self.note(f"--year {year} 不在 {low}–{high} 之间，未使用：没有年度的行不做需要年度的检查")
            year = None
        self.year = year

    # -- diagnostics ----------------------------------------------------------------------------

    def note(self, message: str, level: str = "warning", file: str = "", sheet: str = "") -> None:
        """A diagnostic of the run (said once, whichever rule or thread says it first)."""
        with self._guard:
            self._notes.setdefault(f"{file}|{sheet}|{message}", Diagnostic(level, message, file, sheet))

    def policy_gap(
        self, key: str, year: int | None, province: str, kind: str, rows: int, message: str
    ) -> None:
        """Record that the current rule left `rows` rows unjudged for lack of a policy value."""
        rule = CURRENT_RULE.get() or "?"
        with self._guard:
            gap = self._gaps.setdefault(
                (key, year, province, kind), PolicyGap(key, year, province, kind, message)
            )
            gap.rules[rule] = gap.rules.get(rule, 0) + rows
        journal = getattr(_COMPUTING, "journal", None)
        if journal is not None and not getattr(_COMPUTING, "depth", 0):  # a fact's own stays with the fact
            journal.append((self, (key, year, province, kind), rule, rows))

    def _take_back(self, key: tuple, rule: str, rows: int) -> None:
        with self._guard:
            gap = self._gaps.get(key)
            if gap is None:
                return
            gap.rules[rule] = gap.rules.get(rule, 0) - rows
            if gap.rules[rule] <= 0:
                del gap.rules[rule]
            if not gap.rules:
                del self._gaps[key]

    def diagnostics(self) -> list[Diagnostic]:
        """The run's own diagnostics: notes, then one line per missing policy value (parameter, year,
        province) naming the rules that left rows unjudged."""
        out = list(self._notes.values())
        for gap in sorted(self._gaps.values(), key=lambda g: (g.key, g.year or 0, g.province, g.kind)):
            noun = ROW_NOUNS.get(gap.kind, "行")
            rules = "、".join(f"{rule}（{n} {noun}）" for rule, n in sorted(gap.rules.items()))
            out.append(Diagnostic("warning", f"{rules}：{gap.message}"))
        return out

    def region(self, kind: str) -> pd.DataFrame:
        """Per row: province and county codes (numbers, -1 unknown) and the 县 as written (a code
        into `.attrs["texts"]`): from 户编号, else the ID, else the 省 / 县 columns."""
        from fupin_audit.policy.regions import record_regions

        return self.cached(
            f"{kind}.region", lambda: record_regions(self.frame(kind), REGION_ID_FIELDS.get(kind, ()))
        )

    # -- tables ---------------------------------------------------------------------------------

    def has(self, kind: str, *fields: str) -> bool:
        table = self.dataset.tables.get(kind)
        return table is not None and table.has(*fields)

    def table(self, kind: str, *fields: str) -> Table:
        """The table, or SkipRule naming what is missing."""
        table = self.dataset.tables.get(kind)
        if table is None:
            raise SkipRule(f"缺少 {kind} 表")
        missing = [f for f in fields if f not in table.fields]
        if missing:
            raise SkipRule(f"{kind} 表缺少列 {'、'.join(missing)}")
        return table

    def frame(self, kind: str, *fields: str) -> pd.DataFrame:
        return self.table(kind, *fields).data

    def derived_rows(self, kind: str, field: str) -> np.ndarray:
        """Per row: whether the field's value was derived by the loader (家庭人口数 counted from the
        member rows, 脱贫状态 from 户类型) rather than read from a column of the file. A rule that
        compares the field with what it was derived from skips those rows: they agree by construction."""
        derived = [i for i, s in enumerate(self.dataset.sources) if field in s.derived]
        if not derived:
            return np.zeros(len(self.frame(kind)), dtype=bool)
        return self.frame(kind)[SOURCE_COLUMN].isin(derived).to_numpy()

    def any_value(self, kind: str, field: str) -> bool:
        """Whether any row of the table has a value in the field. A rule that chooses its source by
        this (e.g. a column that is "empty" in the whole table) asks here: a distributed run answers
        for the whole dataset, not for the bucket of rows a task holds."""

        if self.whole is not None and (kind, field) in self.whole.filled:
            return True

        def compute() -> bool:
            table = self.dataset.tables.get(kind)
            return table is not None and field in table.data and bool(table.data[field].notna().any())

        return self.cached(f"any_value.{kind}.{field}", compute)

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """Share an expensive computation (ID analysis, group counts) between rules of one run. Rules
        run on several threads: the first to ask computes, the others wait for its result — or, when the
        runner allows it (MAY_DEFER), put their rule back and run another meanwhile (FactBusy)."""
        # Values are read once into a local: `release` may let a key go meanwhile (the summary's
        # work begins while the last rules run), and the asker still gets its value.
        value = self._cache.get(key, _MISSING)
        if value is not _MISSING:
            return value
        with self._guard:
            lock = self._computing.setdefault(key, threading.Lock())
        depth = getattr(_COMPUTING, "depth", 0)
        if not lock.acquire(blocking=False):
            defer = MAY_DEFER.get()
            if not depth and defer is not None and defer(self, key):
                raise FactBusy(self, key)
            lock.acquire()
        try:
            value = self._cache.get(key, _MISSING)
            if value is _MISSING:
                _COMPUTING.depth = depth + 1
                try:
                    value = self._cache[key] = compute()
                finally:
                    _COMPUTING.depth = depth
        finally:
            lock.release()
        return value

    def busy(self, key: str) -> bool:
        """Whether another thread is computing the shared fact `key` now."""
        lock = self._computing.get(key)
        return key not in self._cache and lock is not None and lock.locked()

    def sharing_facts(self) -> AuditContext:
        """A context over the same data that shares this one's computations but keeps its own
        diagnostics: the run summary looks policy values up again without reporting their gaps twice,
        and without working out each row's region again. Never strict: a gap the rules did not meet
        is the summary's to leave out, not a reason to stop."""
        other = AuditContext(self.dataset, self.policy, self.year, whole=self.whole)
        other._cache, other._computing, other._guard = self._cache, self._computing, self._guard
        return other

    def is_cached(self, key: str) -> bool:
        return key in self._cache

    def release(self, keep: Iterable[str]) -> None:
        """Let go of the shared computations except those whose key starts with one of `keep`: once
        the rules have run, what only they read (the ID analysis, person codes, …: over a GiB at a
        million households) need not stay beside the findings being assembled. A later ask recomputes."""
        prefixes = tuple(keep)
        with self._guard:
            for key in [k for k in self._cache if not k.startswith(prefixes)]:
                del self._cache[key]
                self._computing.pop(key, None)

    # -- time -----------------------------------------------------------------------------------

    def data_year(self, kind: str) -> pd.Series:
        """Per row: the 年度 column, else --year, else a year read from the sheet's title row."""
        return self.cached(f"{kind}.data_year", lambda: self._data_year(kind))

    def _data_year(self, kind: str) -> pd.Series:
        data = self.frame(kind)
        year = data["年度"] if "年度" in data else pd.Series(pd.NA, index=data.index, dtype="Int64")
        if self.year is not None:
            year = year.fillna(self.year)
        if self.dataset.title_years and year.isna().any():
            from_title = data[SOURCE_COLUMN].map(self.dataset.title_years).astype("Int64")
            year = year.fillna(from_title)
        if year.isna().any() and (common := self.run_year()) is not None:
            year = year.fillna(common)  # e.g. a village sheet without 年度 beside a household export with one
        return self._sane_years(kind, data, year.astype("Int64"))

    def _sane_years(self, kind: str, data: pd.DataFrame, year: pd.Series) -> pd.Series:
        """A year outside YEAR_RANGE is a mistake in the data: said with its cells, and unknown from
        then on (rules that need a year leave the row out)."""
        low, high = YEAR_RANGE
        wrong = (year.notna() & ~year.between(low, high)).fillna(False).to_numpy(dtype=bool)
        if not wrong.any():
            return year
        bad = data.loc[wrong, [SOURCE_COLUMN, ROW_COLUMN]].assign(year=year[wrong].to_numpy())
        for (src, value), rows in bad.groupby([SOURCE_COLUMN, "year"], sort=True)[ROW_COLUMN]:
            source = self.dataset.sources[int(src)]
            column = source.headers.get("年度", "年度")
            listed = "、".join(str(r) for r in rows.iloc[:10]) + (
                f" 等 {len(rows)} 行" if len(rows) > 10 else ""
            )
            self.note(
                f"{kind} 表 {column} 列第 {listed} 行的年度 {value} 不在 {low}–{high} 之间：这些行不做需要年度的检查",
                file=source.file,
                sheet=source.sheet,
            )
        return year.mask(wrong)

    def run_year(self) -> int | None:
        """The data year of the whole run: --year, else the most common 年度 of any table or title row."""
        if self.year is not None:
            return self.year

        if self.whole is not None:
            return self.whole.run_year
        return self._years()[0]

    def audit_year(self) -> int | None:
        """The year the 两该两不该 rules judge exits and rosters in: --year, else the most common year
        of the households (else members, else villages); see engine.years."""
        if self.year is not None:
            return self.year
        if self.whole is not None:
            return self.whole.audit_year
        return self._years()[1]

    def _years(self) -> tuple[int | None, int | None]:
        return self.cached("years", lambda: run_years(year_counts(self.dataset)))

    def year_conflicts(self) -> list[Diagnostic]:
        """What in the data disagrees with --year: a 年度 column or title row of another year, or a
        monitoring-era export (2021 onward) checked as an earlier year. Said, not silently overridden:
        the rows' own 年度 still wins, --year only fills rows without one."""
        if self.year is None:
            return self._title_conflicts() + self._early_exports()
        found: list[Diagnostic] = []
        for kind, table in self.dataset.tables.items():
            if "年度" in table.data and (years := table.data["年度"].dropna()).size:
                other = sorted({int(y) for y in years.unique()} - {self.year})
                if other:
                    found.append(
                        Diagnostic(
                            "warning",
                            f"{kind} 表的年度列为 {'、'.join(map(str, other))}，与 --year {self.year} 不一致："
                            "有年度的行按年度列检查，--year 只用于没有年度的行",
                        )
                    )
        titled = sorted(set(self.dataset.title_years.values()) - {self.year})
        if titled:
            found.append(
                Diagnostic(
                    "warning",
                    f"工作表标题写的是 {'、'.join(map(str, titled))} 年，与 --year {self.year} 不一致：按 --year 检查",
                )
            )
        monitoring = [s for s in self.dataset.sources if s.era == "monitoring"]
        if monitoring and self.year < 2021:
            found.append(
                Diagnostic(
                    "warning",
                    f"数据是防返贫监测导出（有户类型/监测对象类别列，2021 年起才有），与 --year {self.year} 不符",
                    monitoring[0].file,
                    monitoring[0].sheet,
                )
            )
        return found

    def _early_exports(self) -> list[Diagnostic]:
        """A sheet without 年度 whose year is its title's 导出时间 in January to March: checked as that
        year, though a year's data is commonly exported early the next year — said, once per sheet,
        with the --year that would check it as the year before."""
        said: dict[tuple[str, str], Diagnostic] = {}
        for src, date in sorted(self.dataset.title_dates.items()):
            source = self.dataset.sources[src]
            if date.month > 3 or self.dataset.title_years.get(src) != date.year or "年度" in source.headers:
                continue
            said.setdefault(
                (source.file, source.sheet),
                Diagnostic(
                    "warning",
                    f"导出时间 {date:%Y-%m-%d}，本表没有年度列：按 {date.year} 年检查；若这是 {date.year - 1} 年的"
                    f"数据（年初导出上一年的数据很常见），请用 --year {date.year - 1} 指定",
                    source.file,
                    source.sheet,
                ),
            )
        return list(said.values())

    def _title_conflicts(self) -> list[Diagnostic]:
        """A sheet whose title names one year (2025年…) over rows whose 年度 column says another: the rows'
        年度 wins, and the run says so, once per sheet. A title that gives an export date (导出时间) is
        left alone: a year's data is commonly exported early the next year."""
        titled = {s: y for s, y in self.dataset.title_years.items() if s not in self.dataset.title_dates}
        if not titled:
            return []
        sheets: dict[tuple[str, str], tuple[int, set[int], int]] = {}  # (file, sheet) → title, years, rows
        for table in self.dataset.tables.values():
            if "年度" not in table.data:
                continue
            rows = table.data[[SOURCE_COLUMN, "年度"]].dropna()
            title = rows[SOURCE_COLUMN].map(titled)
            differ = rows[title.notna() & (rows["年度"].astype("float64") != title.astype("float64"))]
            for src, years in differ.groupby(SOURCE_COLUMN)["年度"]:
                source = self.dataset.sources[int(src)]
                where = (source.file, source.sheet)
                _, seen, count = sheets.get(where, (titled[int(src)], set(), 0))
                sheets[where] = (
                    titled[int(src)],
                    seen | {int(y) for y in years.unique()},
                    max(count, len(years)),
                )
        return [
            Diagnostic(
                "warning",
                f"工作表标题写的是 {title} 年，年度列为 {'、'.join(map(str, sorted(years)))}（{count:,} 行）："
                "有年度的行按年度列检查，标题的年份只用于没有年度的行",
                file,
                sheet,
            )
            for (file, sheet), (title, years, count) in sheets.items()
        ]

    def reference_date(self, kind: str) -> pd.Series:
        """The export date of a "导出时间" title row, else 31 December of the data year: ages and
        'future' dates are judged there, never at today (MONITORING.md C6)."""

        def compute() -> pd.Series:
            dated = self._december_31(kind)
            if not self.dataset.title_dates:
                return dated
            exported = self.frame(kind)[SOURCE_COLUMN].map(self.dataset.title_dates)
            return pd.to_datetime(exported).astype(dated.dtype).fillna(dated).rename(dated.name)

        return self.cached(f"{kind}.reference_date", compute)

    def reference_month(self, kind: str) -> pd.Series:
        """The reference date as YYYYMM (Int64), for month arithmetic on 识别监测时间 and the like."""

        def compute() -> pd.Series:
            dates = self.reference_date(kind)
            return (dates.dt.year * 100 + dates.dt.month).astype("Int64")

        return self.cached(f"{kind}.reference_month", compute)

    def era(self) -> str:
        """ "monitoring" when the data is a 防返贫监测 export (户类型/监测对象类别 columns) or its year is
        2021 or later, else "jdlk" (2014–2020 建档立卡). Rules declare the era they apply to."""

        def compute() -> str:
            if any(s.era == "monitoring" for s in self.dataset.sources):
                return "monitoring"
            year = self.run_year()
            return "monitoring" if year is not None and year >= 2021 else "jdlk"

        return self.cached("era", compute)

    def _december_31(self, kind: str) -> pd.Series:
        def compute() -> pd.Series:
            year = self.data_year(kind)
            # One date per distinct year (a handful), taken back to the rows.
            codes, years = pd.factorize(year, use_na_sentinel=True)
            text = pd.Series(years, dtype="Int64").astype("string") + "-12-31"
            dates = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
            values = dates.to_numpy()
            per_row = np.append(values, np.array(["NaT"], dtype=values.dtype))[
                np.where(codes < 0, len(years), codes)
            ]
            return pd.Series(per_row, index=year.index, dtype=dates.dtype, name=year.name)

        return self.cached(f"{kind}.december_31", compute)

    def ages(self, kind: str, birth: pd.Series) -> pd.Series:
        """Whole years of age at the reference date (NA when the birth date or year is unknown)."""
        reference = self.reference_date(kind)
        if not birth.index.equals(reference.index):  # aligned by label, as pandas would
            reference, birth = reference.align(birth)
        return _whole_years(reference, birth)

    def ages_of(self, kind: str, birth: pd.Series) -> pd.Series:
        """`ages` of some rows only (those `birth` is indexed by): a rule that needs the ages of a few
        rows of a large table does not compute them all."""
        return _whole_years(self.reference_date(kind).reindex(birth.index), birth)

    # -- findings -------------------------------------------------------------------------------

    def flag(
        self,
        kind: str,
        rows: Rows,
        message: str | pd.Series,
        *,
        column: str | None = None,
        value: pd.Series | str | None = None,
        related: pd.Series | None = None,
    ) -> pd.DataFrame:
        """Findings for the given rows of a table (a boolean mask or row labels).

        `message` may be one text or a Series aligned on the rows; `column` is the canonical field
        the finding is about (its header as written and its raw value are looked up per source).
        """
        table = self.table(kind)
        index = table.data.index
        # the indexes the positions below hold for: the typed table's and, when it has the same
        # labels in the same order (as loaded), the raw table's
        indexes = (index, table.raw.index) if self._raw_aligned(kind) else (index,)
        labels = _labels(rows, index)
        # Only the columns a finding carries, taken at the rows' positions: never a copy of whole
        # rows (a rule may flag millions), nor a `.loc` of a frame (~1.5 ms a call).
        at = _positions(labels, index)
        src = np.asarray(self._taken(table, kind, SOURCE_COLUMN, at, labels))
        # One DataFrame built from a dict: column-by-column assignment costs ~1 ms a column.
        # Texts per source (file, sheet, header) and the table kind are categoricals: a code per
        # finding, not a string (a storm's findings are held until the run assembles them).
        columns: dict[str, Any] = {
            "message": message if isinstance(message, str) else _aligned(message, labels, at, indexes),
            "table": self._by_source(("table", kind), lambda: [kind]).take(
                np.zeros(len(src), dtype=np.int64)
            ),
            "file": self._files.take(src),
            "sheet": self._sheets.take(src),
            "row": np.asarray(self._taken(table, kind, ROW_COLUMN, at, labels)),
        }
        if column is not None:
            headers = self._by_source(
                ("column", column), lambda: [s.headers.get(column, column) for s in self.dataset.sources]
            )
            columns["column"] = headers.take(src)
            if value is None and column in table.raw:
                if at is not None and self._raw_aligned(kind):
                    value = self._taken(table, kind, column, at, labels, raw=True)
                else:
                    value = table.raw[column]
        if value is not None:
            columns["value"] = (
                value if not isinstance(value, pd.Series) else _aligned(value, labels, at, indexes)
            )
        for target, field in IDENTITY_FIELDS[kind]:
            if field in table.data:
                columns[target] = self._taken(table, kind, field, at, labels)
        if related is not None:
            columns["related"] = _aligned(related, labels, at, indexes)
        # Arrays only (nothing to align) and not copied: a rule's findings are ~0.5 ms cheaper.
        return pd.DataFrame(columns, index=labels, copy=False)

    def _taken(
        self,
        table: Table,
        kind: str,
        field: str,
        at: np.ndarray | None,
        labels: pd.Index,
        *,
        raw: bool = False,
    ) -> Any:
        """`table.data[field].loc[labels]` (`raw`: of table.raw); by position when `at` gives them, as
        an array (nothing to align), from the column's array kept per table (a Series a call costs
        more than the take)."""
        frame = table.raw if raw else table.data
        if at is None:
            return frame[field].loc[labels]
        kept = self._arrays.get((kind, field, raw))
        if kept is None or kept[0] is not frame:
            kept = self._arrays[(kind, field, raw)] = (frame, frame[field].array)
        return kept[1].take(at)

    def _raw_aligned(self, kind: str) -> bool:
        """The raw table has the typed table's row labels in the same order (once per table)."""
        table = self.table(kind)
        kept = self._aligned_tables.get(kind)
        if kept is None or kept[0] is not table:
            kept = self._aligned_tables[kind] = (table, table.raw.index.equals(table.data.index))
        return kept[1]

    def _by_source(self, key: tuple[str, str], texts: Callable[[], list[str]]) -> pd.Categorical:
        """`_per_source(texts())`, made once per run for each key (a table kind, a column's headers)."""
        if key not in self._texts_by_source:
            self._texts_by_source[key] = _per_source(texts())
        return self._texts_by_source[key]

    def flag_table(self, kind: str, source: int, message: str, column: str | None = None) -> pd.DataFrame:
        """A finding about a whole sheet (e.g. a missing column): no row."""
        src = self.dataset.sources[source]
        return pd.DataFrame(
            [
                {
                    "message": message,
                    "table": kind,
                    "file": src.file,
                    "sheet": src.sheet,
                    "column": column or "",
                }
            ]
        )


def _positions(labels: pd.Index, index: pd.Index) -> np.ndarray | None:
    """The positions of `labels` in a unique `index`; None where `.loc` must decide (a label missing,
    or an index with repeats)."""
    if not index.is_unique:
        return None
    at = index.get_indexer(labels)
    return None if (at < 0).any() else at


def _aligned(
    values: pd.Series, labels: pd.Index, at: np.ndarray | None, indexes: tuple[pd.Index, ...]
) -> Any:
    """`values.reindex(labels)` as an array: taken at the rows' positions `at` when `values` is a
    column of the table (its index one of `indexes`, which `at` holds for: no look-up of labels), as
    it is when indexed by `labels` already."""
    if at is not None and any(values.index.is_(index) for index in indexes):
        return values.array.take(at)
    if values.index.equals(labels):
        return values.array
    return values.reindex(labels).array


def _per_source(texts: list[str]) -> pd.Categorical:
    """One text per source as a categorical (its `take(positions)` gives the texts of those rows):
    the distinct texts in first-seen order, as `pd.factorize` gives them, without its hashing."""
    if not all(isinstance(text, str) for text in texts):  # a missing text: NA, as factorize has it
        codes, names = pd.factorize(pd.Index(texts, dtype="str"))
        return pd.Categorical.from_codes(codes, categories=names)
    first: dict[str, int] = {}
    codes = np.array([first.setdefault(text, len(first)) for text in texts], dtype=np.int64)
    dtype = pd.CategoricalDtype(pd.Index(list(first), dtype="str"))
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)


def _whole_years(reference: pd.Series, birth: pd.Series) -> pd.Series:
    """Whole years from `birth` to `reference` (same index; NA when either is unknown)."""
    ref = _ymd(reference.to_numpy(dtype="datetime64[ns]"))
    born = _ymd(pd.to_datetime(birth).to_numpy(dtype="datetime64[ns]"))
    before_birthday = (ref[1] < born[1]) | ((ref[1] == born[1]) & (ref[2] < born[2]))
    known = ref[3] & born[3]
    years = np.where(known, ref[0] - born[0] - before_birthday, 0)
    return pd.Series(pd.arrays.IntegerArray(years.astype(np.int64), ~known), index=birth.index)


def _ymd(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Year, month, day and known-ness of datetime64[ns] values: worked out for each distinct value
    (a county's members share some 30,000 birth dates; their reference dates are one or two), then
    taken per row — a third of the time of numpy's calendar conversions over every row."""
    codes, distinct = pd.factorize(dates)  # NaT → -1
    parts = _calendar_parts(
        np.append(np.asarray(distinct, dtype="datetime64[ns]"), np.datetime64("NaT", "ns"))
    )
    at = np.where(codes < 0, len(distinct), codes)
    year, month, day, known = parts
    return year[at], month[at], day[at], known[at]


def _calendar_parts(dates: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`_ymd` by numpy calendar arithmetic on every value (NaT: 1970-01-01, not known)."""
    known = ~np.isnat(dates)
    safe = np.where(known, dates, np.datetime64("1970-01-01", "ns"))
    months = safe.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (safe.astype("datetime64[D]") - months.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day, known


def _labels(rows: Rows, index: pd.Index) -> pd.Index:
    if isinstance(rows, np.ndarray) and rows.dtype == bool:
        return index[rows]
    if isinstance(rows, pd.Series) and rows.dtype == bool:
        return rows.index[rows.to_numpy()]
    if isinstance(rows, pd.Series) and str(rows.dtype) == "boolean":
        return rows.index[rows.fillna(False).to_numpy(dtype=bool)]
    return pd.Index(rows)


# Which fields of each table identify the record in the findings' identity columns.
IDENTITY_FIELDS: dict[str, list[tuple[str, str]]] = {
    "households": [
        ("household_id", "户编号"),
        ("id_number", "户主证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "members": [
        ("household_id", "户编号"),
        ("person_id", "人口编号"),
        ("id_number", "证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "villages": [("township", "乡"), ("village", "村")],
    "measures": [
        ("household_id", "户编号"),
        ("id_number", "领取人证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "helpers": [
        ("household_id", "户编号"),
        ("id_number", "帮扶责任人证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "rosters": [("id_number", "证件号码")],
    "work": [
        ("household_id", "户编号"),
        ("id_number", "证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
    "work_plans": [
        ("household_id", "户编号"),
        ("id_number", "证件号码"),
        ("township", "乡"),
        ("village", "村"),
    ],
}


def related_json(records: list[dict[str, Any]]) -> str:
    return json.dumps(records, ensure_ascii=False, separators=(",", ":"))
