"""Check a partitioned dataset on a Dask cluster (`check --engine dask`), with the same rule
functions as the one-machine (pandas) engine and the same findings.

Layout. The inputs are folders (or files) of a parquet dataset, e.g. the hive tree `fupin-audit
convert` writes: ``DIR/县=宿松县/households.parquet``. A file under ``key=value`` folders belongs to
that partition; a file outside any such folder (the reference rosters: 低保, 死亡, 财政供养 …) is
*shared*: every partition reads it, and what is reported about its rows is reported once. When no
file is partitioned, the whole input is one partition. A household's members, measures and helpers
must sit in the household's partition (convert puts them there).

A run:
1. the run's data year — the most common 年度 over all tables, unless --year — from the 年度 columns
   alone, so local rules that fall back to it see the year a one-machine run would;
2. one task per partition: read and validate, run the *local* rules, write the findings to
   ``OUTPUT/part-NNNNN.<fmt>``, keep the narrow columns the *global* rules read;
3. global rules (the same person or phone in two counties, roster hits …): the narrow columns of all
   partitions are moved to `buckets` tasks by a hash of each rule's key (a shuffle), each bucket is
   checked like a small dataset, and its findings are written to ``OUTPUT/global-NNNNN.<fmt>``.
   Rules without a declared key run in a single task over the narrow columns of the whole dataset.
Only counts and outcomes come back to the client; findings stay in the output files.
"""

from __future__ import annotations

import functools
import pickle
import resource
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupin_audit.dataset import (
    META_COLUMNS,
    ROW_COLUMN,
    SOURCE_COLUMN,
    Dataset,
    Diagnostic,
    InputFile,
    Source,
    Table,
)
from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Rule, SkipRule
from fupin_audit.engine.runner import RuleOutcome, merge_outcomes, run_rules
from fupin_audit.engine.years import WholeDataset, WholePair, counts_of, run_years, year_counts
from fupin_audit.facts.values import text
from fupin_audit.findings import RULE_COLUMNS
from fupin_audit.io.inputs import expand_inputs, hive_values
from fupin_audit.policy import YEAR_RANGE
from fupin_audit.rules import dongtai
from fupin_audit.workers import one_worker

if TYPE_CHECKING:
    from fupin_audit.audit import Settings
    from fupin_audit.engine.registry import Registry
    from fupin_audit.rules.dongtai import SnapshotPart

OUTPUT_FORMATS = ("parquet", "csv")
HID = "户编号"
SCRATCH = "_shuffle"  # in the output folder, which every worker can write; removed at the end

# Columns the global rules read besides the ones they declare: what the shared helpers of
# the facts/ modules use (places, names, data years, deaths, related records, pairings, measures).
# The equivalence tests (tests/test_dask_engine.py) fail when a rule starts reading another column.
CONTEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "households": (
        "县", "乡", "村", "户编号", "户主姓名", "户主证件号码", "脱贫状态", "户联系电话", "年度",
        "帮扶责任人", "帮扶责任人证件号码", "帮扶单位",
    ),
    "members": (
        "县", "乡", "村", "户编号", "人口编号", "姓名", "证件号码", "死亡日期", "是否死亡", "年度", "户联系电话",
    ),
    "villages": ("县", "乡", "村", "村代码", "年度"),
    "measures": (
        "县", "乡", "村", "户编号", "措施类型", "帮扶单位", "帮扶责任人", "日期", "年度", "金额", "领取人证件号码",
    ),
    "helpers": (
        "县", "乡", "村", "户编号", "帮扶责任人姓名", "帮扶责任人证件号码", "帮扶单位", "开始日期", "结束日期",
        "年度",
    ),
    "rosters": ("类别", "证件号码", "姓名", "日期", "详情", "人均纯收入", "年度", "县"),
}  # fmt: skip


# ----------------------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    partitions: list[tuple[str, list[str]]]  # (label such as "县=宿松县", files), in file order
    shared: list[str]  # files every partition reads

    @property
    def files(self) -> list[str]:
        return sorted([*self.shared, *(f for _, files in self.partitions for f in files)], key=_file_order)


def _file_order(path: str) -> tuple[str, ...]:
    return Path(path).parts  # the order of io.inputs.expand_inputs


def plan(paths: Iterable[str | Path]) -> Layout:
    """Partitions from the hive folders of the input files."""
    groups: dict[str, list[str]] = {}
    shared: list[str] = []
    for path in expand_inputs(paths):
        values = hive_values(path)
        if values:
            groups.setdefault("/".join(f"{k}={v}" for k, v in values.items()), []).append(path)
        else:
            shared.append(path)
    if not groups:
        return Layout([("", shared)], [])
    return Layout(list(groups.items()), shared)


# ----------------------------------------------------------------------------------------- job


@dataclass(frozen=True)
class Job:
    """What every task needs, picklable: rules travel as codes (+ plug-in paths), not as objects."""

    codes: tuple[str, ...]
    rule_paths: tuple[str, ...]
    settings: Settings
    severity: dict[str, str]
    year: int | None
    run_year: int | None
    encoding: str | None
    output: str
    fmt: str
    audit_year: int | None = None
    buckets: int = 1
    groups: tuple[tuple[tuple[str, str], ...], ...] = ()  # shuffle specs, see shuffle_groups
    scratch: str = ""  # where partitions leave their narrow columns for the global tasks
    tables: tuple[tuple[str, tuple[str, ...]], ...] = ()  # every table of the dataset, its fields
    previous: tuple[str, ...] = ()  # the previous snapshot's files (--previous): the DT rules compare
    previous_year: int | None = None
    strict_policy: bool = False
    previous_partitions: tuple[tuple[str, tuple[str, ...]], ...] = ()  # as Layout.partitions
    previous_shared: tuple[str, ...] = ()
    previous_years: tuple[int | None, int | None] = (None, None)  # its run and audit years (whole)

    def is_local(self, rule: Rule) -> bool:
        """Run in each partition. A rule comparing two snapshots is global when there is a previous
        one: it reads the whole previous snapshot beside the current one's columns."""
        return rule.scope == "local" and not (rule.previous and self.previous)

    def rules(self) -> list[Rule]:
        registry = _registry(self.rule_paths)
        return [registry.get(code) for code in self.codes]

    def context(self, dataset: Dataset, filled: set[tuple[str, str]] | None = None) -> AuditContext:
        """A rule context that answers for the whole dataset: its data years and, once the partitions
        have reported them (`filled`), which fields have any value at all."""
        whole = WholeDataset(self.run_year, self.audit_year, frozenset(filled or ()))
        return AuditContext(
            dataset, self.settings.policy, self.year, whole=whole, strict_policy=self.strict_policy
        )

    def run(
        self, ctx: AuditContext, rules: list[Rule]
    ) -> tuple[pd.DataFrame, list[RuleOutcome], list[Diagnostic]]:
        """Findings, outcomes and the run's own diagnostics (policy values missing, wrong years)."""
        result = run_rules(ctx, rules, severity=self.severity, settings=self.settings.rule_params)  # type: ignore[arg-type]
        return result.findings, result.outcomes, result.diagnostics


@functools.cache
def _registry(rule_paths: tuple[str, ...]) -> Registry:
    from fupin_audit.engine.registry import default_registry

    return default_registry([Path(p) for p in rule_paths])


@dataclass
class PartReport:
    """What a task sends back to the client: counts, never findings."""

    label: str
    path: str  # the findings file written ("" when there were none)
    findings: int
    counts: Counter  # (rule, severity) → findings
    outcomes: list[RuleOutcome]
    rows: dict[str, int] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files: list[InputFile] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss: int = 0  # bytes, of the worker process so far
    filled: set[tuple[str, str]] = field(default_factory=set)  # (table, field) with a value somewhere
    previous_files: list[InputFile] = field(default_factory=list)
    # --previous (section 4): a partition's facts for the pair checks; the pair's whole answers
    # (current, previous); a 户编号 bucket's households by status before × now
    snapshot: Any = None
    wholes: tuple[WholeDataset, WholeDataset] | None = None
    moves: Any = None


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def write_part(findings: pd.DataFrame, output: str, name: str, fmt: str) -> str:
    """One findings file, atomically; nothing for no findings."""
    if findings.empty:
        return ""
    from fupin_audit.report.atomic import atomic_open
    from fupin_audit.report.writers import write_csv, write_parquet

    path = Path(output) / f"{name}.{fmt}"
    if fmt == "csv":
        with atomic_open(path) as fh:
            write_csv(findings, fh)
    else:
        write_parquet(findings, path)
    return str(path)


def _counts(findings: pd.DataFrame) -> Counter:
    if findings.empty:
        return Counter()
    pairs = findings[list(RULE_COLUMNS[:2])].astype(str).value_counts()
    return Counter({tuple(k): int(v) for k, v in pairs.items()})


# ------------------------------------------------------------------------------ 1. the data year


@dataclass
class FileFacts:
    """What the planning pass learns about one input file."""

    years: Counter  # (table, 年度 or None) → rows
    fields: set[tuple[str, str]]  # (table, canonical field) the file has


@one_worker
def file_facts(path: str, encoding: str | None = None) -> FileFacts:
    """How many rows of each (table, 年度) a file holds, as validation would parse them, and its
    tables' fields. Parquet: the schema and the 年度 column alone; anything else (or a flat export,
    whose rows count in two tables) is loaded whole."""
    from fupin_audit.load import load

    if Path(path).suffix.lower() in (".parquet", ".pq"):
        facts = _parquet_facts(path)
        if facts is not None:
            return facts
    dataset = load([path], encoding=encoding)
    counts = year_counts(dataset)
    fields = {(kind, f) for kind, table in dataset.tables.items() for f in table.fields}
    return FileFacts(counts, fields)


def _parquet_facts(path: str) -> FileFacts | None:
    """None: not a simple table (a flat export)."""
    import pyarrow.parquet as pq

    from fupin_audit.io.header import normalise_header
    from fupin_audit.load import TITLE_PROVENANCE, canonical, classify, is_flat_export
    from fupin_audit.schema.fields import parse_column
    from fupin_audit.schema.models import MODELS

    try:
        meta = pq.read_metadata(path)
        written = meta.schema.names
    except Exception:
        return FileFacts(Counter(), set())  # the partition's task reports the unreadable file
    names = [normalise_header(str(n))[0] for n in written]
    kind = classify("", path, names)
    if kind is None:
        return FileFacts(Counter(), set())
    fields = {f for n in names if n and (f := canonical(kind, n))}
    if is_flat_export(kind, fields):
        return None
    present = {(kind, f) for f in fields}
    columns = [w for w, n in zip(written, names, strict=True) if n and canonical(kind, n) == "年度"]
    # a converted tree keeps the original's title row (导出时间 or year) per row: a row's year without 年度
    titles = [w for w, n in zip(written, names, strict=True) if n == TITLE_PROVENANCE]
    if not columns and not titles:
        return FileFacts(Counter({(kind, None): meta.num_rows}), present)
    years = pd.Series(pd.NA, index=pd.RangeIndex(meta.num_rows), dtype="Int64")
    if columns:
        raw = pq.read_table(path, columns=columns[:1]).column(0).cast("string").to_pandas()
        years = parse_column(MODELS[kind].specs()["年度"], "年度", raw.astype("str")).values.astype("Int64")
    if titles and years.isna().any():
        title = pq.read_table(path, columns=titles[:1]).column(0).cast("string").to_pandas()
        years = years.fillna(pd.to_numeric(title.str.slice(0, 4), errors="coerce").astype("Int64"))
    return FileFacts(counts_of(kind, years.where(years.between(*YEAR_RANGE))), present)


FOLLOW = "~"  # in a group's spec: ("households", "~户编号") — rows follow the keyed rows' 户编号


def _is_follow(column: Any) -> bool:
    """A spec entry for rows given whole or by 户编号, not keyed (a key may be a rule's function)."""
    return isinstance(column, str) and (column == "*" or column.startswith(FOLLOW))


def shuffle_groups(rules: Iterable[Rule]) -> list[tuple[dict[str, str], list[str]]]:
    """Global rules with a shuffle key, merged into as few shuffles as their keys allow: two rules
    share one when they name a table in common and key every table they both name on the same
    column (a rule then also gets the other's tables, split by the same person). A rule that
    follows other tables has a shuffle of its own."""
    groups: list[tuple[dict[str, str], list[str]]] = []
    for rule in rules:
        if rule.scope == "local" or not rule.shuffle:
            continue
        if rule.follow:
            followed = {k: v if v == "*" else FOLLOW + v for k, v in rule.follow.items()}
            groups.append(({**rule.shuffle, **followed}, [rule.code]))
            continue
        for spec, codes in groups:
            shared = set(spec) & set(rule.shuffle)
            plain = not any(_is_follow(v) for v in spec.values())
            if plain and shared and all(spec[kind] == rule.shuffle[kind] for kind in shared):
                spec.update(rule.shuffle)
                codes.append(rule.code)
                break
        else:
            groups.append((dict(rule.shuffle), [rule.code]))
    return groups


# ---------------------------------------------------------------------------- 2. local rules


@dataclass
class NarrowPiece:
    """The columns global rules read, of one partition's tables, with their sources."""

    tables: dict[str, Table]
    sources: list[Source]
    missing: list[tuple[int, str]]
    title_years: dict[int, int]
    title_dates: dict[int, object] = field(default_factory=dict)  # 导出时间 of a title row (reference date)


def narrow_columns(rules: Iterable[Rule]) -> dict[str, set[str] | frozenset[str]]:
    from fupin_audit.engine.context import IDENTITY_FIELDS

    rules = list(rules)
    wanted = {kind: set(fields) for kind, fields in CONTEXT_FIELDS.items()}
    for kind, fields in IDENTITY_FIELDS.items():
        wanted.setdefault(kind, set()).update(f for _, f in fields)
    for rule in rules:
        for kind, fields in rule.columns.items():
            wanted.setdefault(kind, set()).update(fields)
    for rule in rules:
        for kind in rule.previous:  # compared field by field with the previous snapshot: every column
            wanted[kind] = EVERY_COLUMN
    return wanted


EVERY_COLUMN: frozenset[str] = frozenset({"*"})  # in narrow_columns: keep the table's columns whole


def narrow(
    dataset: Dataset, columns: dict[str, set[str] | frozenset[str]], skip_sources: set[int]
) -> NarrowPiece:
    tables: dict[str, Table] = {}
    for kind, table in dataset.tables.items():
        wanted = columns.get(kind, set())
        if wanted is EVERY_COLUMN:
            wanted = set(table.data.columns) | set(table.raw.columns)
        data = table.data
        if skip_sources:
            data = data[~data[SOURCE_COLUMN].isin(list(skip_sources)).to_numpy()]
        data = data[[c for c in data.columns if c in wanted or c in META_COLUMNS]]
        raw = table.raw.loc[data.index, [c for c in table.raw.columns if c in wanted or c in META_COLUMNS]]
        problems = table.problems
        problems = problems[problems.index.isin(data.index) & problems["field"].isin(list(wanted)).to_numpy()]
        # fields stay whole: a rule that asks for a column it was not given fails loudly
        tables[kind] = Table(kind, data, raw, table.fields, problems)
    missing = [(src, f) for src, f in dataset.missing_columns if src not in skip_sources]
    years = {src: y for src, y in dataset.title_years.items() if src not in skip_sources}
    dates = {src: d for src, d in dataset.title_dates.items() if src not in skip_sources}
    return NarrowPiece(tables, dataset.sources, missing, years, dates)


def bucket_pieces(ctx: AuditContext, piece: NarrowPiece, job: Job) -> list[list[NarrowPiece]]:
    """Per shuffle group, per bucket: the rows of the group's tables whose key hashes to the bucket
    (rows without a key, which meet no other row, are spread evenly), the rows that follow them by
    户编号, and the tables given whole."""
    from fupin_audit.facts.keys import shuffle_keys
    from fupin_audit.facts.values import text

    out = []
    for spec in job.groups:
        split: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # kind → (bucket, position) pairs
        households: list[pd.DataFrame] = []  # (户编号, bucket) of the keyed rows
        keyed = [(k, c) for k, c in spec if not _is_follow(c)]
        for kind, column in keyed:
            if (table := piece.tables.get(kind)) is None:
                continue
            bucket = bucket_of(shuffle_keys(ctx, kind, column).reindex(table.data.index), job.buckets)
            split[kind] = (bucket, np.arange(len(bucket)))
            if HID in table.data:
                households.append(pd.DataFrame({"hid": text(table.data[HID]).to_numpy(), "bucket": bucket}))
        pairs = (
            pd.concat(households).drop_duplicates() if households else pd.DataFrame({"hid": [], "bucket": []})
        )
        pairs = pairs[pairs["hid"] != ""]
        for kind, column in spec:
            if (table := piece.tables.get(kind)) is None or kind in split or column == "*":
                continue
            own = pd.DataFrame(
                {"hid": text(table.data[column[1:]]).to_numpy(), "position": np.arange(len(table))}
            )
            joined = own.merge(pairs, on="hid")  # a household with members in two buckets goes to both
            split[kind] = (joined["bucket"].to_numpy(np.int64), joined["position"].to_numpy(np.int64))
        buckets = [NarrowPiece({}, piece.sources, [], {}) for _ in range(job.buckets)]
        for kind, table in piece.tables.items():
            if kind in split:
                for b, part in enumerate(_split_table(table, *split[kind], job.buckets)):
                    buckets[b].tables[kind] = part
            elif dict(spec).get(kind) == "*":
                for bucket in buckets:
                    bucket.tables[kind] = table
        out.append(buckets)
    return out


def _split_table(table: Table, bucket: np.ndarray, position: np.ndarray, buckets: int) -> list[Table]:
    """The table's rows per bucket, in table order: one take, then slices."""
    order = np.lexsort((position, bucket))
    bounds = np.searchsorted(bucket[order], np.arange(buckets + 1))
    rows = position[order]
    data, raw = table.data.take(rows), table.raw.take(rows)
    parts = []
    for b in range(buckets):
        piece = slice(bounds[b], bounds[b + 1])
        labels = data.index[piece]
        problems = table.problems[table.problems.index.isin(labels)]
        parts.append(Table(table.kind, data.iloc[piece], raw.iloc[piece], table.fields, problems))
    return parts


def bucket_of(keys: pd.Series, buckets: int) -> np.ndarray:
    """A bucket per row: a stable hash of its key (pandas' hash_array, the same in every process and
    on every machine, unlike Python's salted hash); rows without a key are spread evenly."""
    known = keys.notna().to_numpy()
    spread = np.arange(len(keys), dtype=np.uint64) % np.uint64(buckets)
    texts = keys.to_numpy(dtype=object, na_value="")
    hashed = pd.util.hash_array(texts, categorize=False) % np.uint64(buckets)
    return np.where(known, hashed, spread).astype(np.int64)


@one_worker
def check_partition(
    index: int, label: str, files: Sequence[str], shared: Sequence[str], job: Job
) -> PartReport:
    """Read, validate and check one partition with the local rules; leave its narrow columns in the
    scratch folder, per table and split into the buckets of each shuffle."""
    clock = time.perf_counter()
    dataset = _partition_dataset(files, shared, job)
    _add_absent_tables(dataset, job)
    rules = job.rules()
    local = [r for r in rules if job.is_local(r)]
    ctx = job.context(dataset)
    findings, outcomes, notes = job.run(ctx, local)
    shared_set = set(shared)
    skip: set[int] = set()
    diagnostics = dataset.diagnostics + notes
    if index > 0 and shared_set:  # shared files are reported by partition 0 only
        skip = {i for i, s in enumerate(dataset.sources) if s.input in shared_set}
        # by (file, sheet) as findings name them: the original workbook's, for a converted tree
        places = {(dataset.sources[i].file, dataset.sources[i].sheet) for i in skip}
        where = pd.MultiIndex.from_arrays([findings["file"].astype(str), findings["sheet"].astype(str)])
        findings = findings[~where.isin(list(places))]
        diagnostics = [d for d in diagnostics if d.file not in shared_set and (d.file, d.sheet) not in places]
    path = write_part(findings, job.output, f"part-{index:05d}", job.fmt)
    piece = narrow(dataset, narrow_columns(r for r in rules if not job.is_local(r)), skip)
    _leave(job, index, piece, bucket_pieces(ctx, piece, job))
    snapshot = current_snapshot(job, index, ctx, piece)
    report = PartReport(
        label,
        path,
        len(findings),
        _counts(findings),
        outcomes,
        {kind: len(t) for kind, t in piece.tables.items()},
        diagnostics,
        [f for f in dataset.files if index == 0 or f.path not in shared_set],
        time.perf_counter() - clock,
        _peak_rss(),
        _filled(dataset),
        snapshot=snapshot,
    )
    return report


def _partition_dataset(files: Sequence[str], shared: Sequence[str], job: Job) -> Dataset:
    """A partition's files loaded, with the files every partition shares (rosters) before or after
    them in input order."""
    from fupin_audit.load import load

    dataset = load(sorted(files, key=_file_order), encoding=job.encoding)
    if shared:
        common = _shared_dataset(tuple(shared), job.encoding)
        first = min(_file_order(f) for f in shared) < min(_file_order(f) for f in files)
        dataset = combine([common, dataset] if first else [dataset, common])
    return dataset


def _filled(dataset: Dataset) -> set[tuple[str, str]]:
    return {
        (kind, name)
        for kind, table in dataset.tables.items()
        for name in table.data.columns
        if name not in META_COLUMNS and table.data[name].notna().any()
    }


def _add_absent_tables(dataset: Dataset, job: Job) -> None:
    """A table the dataset has but this partition lacks (a partition of members without households,
    such as convert's 县=__空__) is an empty table here, as in a one-machine run: rules then judge
    the partition's rows against "no such household" instead of skipping."""
    from fupin_audit.schema.validate import validate_table

    for kind, fields in job.tables:
        if kind in dataset.tables:
            continue
        raw = pd.DataFrame({name: pd.Series(dtype="str") for name in fields})
        raw[ROW_COLUMN] = pd.Series(dtype=np.int64)
        raw[SOURCE_COLUMN] = pd.Series(dtype=np.int32)
        typed, problems = validate_table(kind, raw, {}, {name: set() for name in fields})
        dataset.tables[kind] = Table(kind, typed, raw, frozenset(fields), problems)


@functools.lru_cache(maxsize=2)
def _shared_dataset(files: tuple[str, ...], encoding: str | None) -> Dataset:
    """The shared files (rosters), read and validated once per worker process, not once per
    partition: a province's rosters can be millions of rows. Nothing modifies a loaded dataset."""
    from fupin_audit.load import load

    return load(list(files), encoding=encoding)


def combine(datasets: Sequence[Dataset]) -> Dataset:
    """One dataset of several loaded ones, in the given order, as if loaded together."""
    merged = merge_pieces(
        [NarrowPiece(d.tables, d.sources, d.missing_columns, d.title_years, d.title_dates) for d in datasets]
    )
    offsets = np.cumsum([0, *(len(d.sources) for d in datasets)])
    conflicts = [
        d.flat_conflicts.assign(source=d.flat_conflicts["source"] + offset)
        for d, offset in zip(datasets, offsets, strict=False)
        if d.flat_conflicts is not None
    ]
    merged.files = [f for d in datasets for f in d.files]
    merged.diagnostics = [x for d in datasets for x in d.diagnostics]
    merged.flat_conflicts = pd.concat(conflicts, ignore_index=True) if conflicts else None
    return merged


# --------------------------------------------------------------------------- 3. global rules


def merge_pieces(pieces: Sequence[NarrowPiece]) -> Dataset:
    """One dataset of the narrow pieces, in partition order (the order a one-machine run reads)."""
    sources: list[Source] = []
    frames: dict[str, list[tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]]] = {}
    fields: dict[str, frozenset[str]] = {}
    missing: list[tuple[int, str]] = []
    years: dict[int, int] = {}
    dates: dict[int, object] = {}
    for piece in pieces:
        offset = len(sources)
        sources.extend(piece.sources)
        missing.extend((src + offset, f) for src, f in piece.missing)
        years.update({src + offset: y for src, y in piece.title_years.items()})
        dates.update({src + offset: d for src, d in piece.title_dates.items()})
        for kind, table in piece.tables.items():
            data = table.data.copy(deep=False)
            data[SOURCE_COLUMN] = (data[SOURCE_COLUMN].astype(np.int64) + offset).astype(np.int32)
            raw = table.raw.copy(deep=False)
            if SOURCE_COLUMN in raw:
                raw[SOURCE_COLUMN] = data[SOURCE_COLUMN]
            frames.setdefault(kind, []).append((data, raw, table.problems))
            fields[kind] = fields.get(kind, frozenset()) | table.fields
    tables: dict[str, Table] = {}
    for kind, parts in frames.items():
        start, problems = 0, []
        for data, _raw, part_problems in parts:
            position = pd.Series(np.arange(start, start + len(data)), index=data.index)
            problems.append(part_problems.set_axis(position.reindex(part_problems.index).to_numpy()))
            start += len(data)
        data = pd.concat([p[0] for p in parts], ignore_index=True, sort=False)
        raw = pd.concat([p[1] for p in parts], ignore_index=True, sort=False)
        tables[kind] = Table(kind, data, raw, fields[kind], pd.concat(problems))
    return Dataset(tables, sources, missing_columns=missing, title_years=years, title_dates=dates)


# The shuffle goes through files, not worker memory: a partition's narrow columns are written once
# and read by the one task that needs them, so a worker holds one partition or one bucket at a time
# whatever the size of the province (keeping them in memory took 4 copies of every member row).


def _scratch_path(job: Job, name: str) -> Path:
    return Path(job.scratch) / f"{name}.pkl"


def _dump(value: Any, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as fh:
        pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(path)  # a task run twice (a lost worker) leaves one whole file


def _load(path: Path) -> Any:
    with path.open("rb") as fh:
        return pickle.load(fh)


def _leave(job: Job, index: int, piece: NarrowPiece, buckets: list[list[NarrowPiece]]) -> None:
    meta = NarrowPiece({}, piece.sources, piece.missing, piece.title_years, piece.title_dates)
    _dump(meta, _scratch_path(job, f"meta-p{index:05d}"))
    for kind, table in piece.tables.items():
        _dump(table, _scratch_path(job, f"table-{kind}-p{index:05d}"))
    for g, pieces in enumerate(buckets):
        for b, bucket in enumerate(pieces):
            _dump(bucket, _scratch_path(job, f"bucket-{g}-{b:05d}-p{index:05d}"))


def _bucket_pieces(job: Job, partitions: int, group: int, bucket: int) -> list[NarrowPiece]:
    return [_load(_scratch_path(job, f"bucket-{group}-{bucket:05d}-p{i:05d}")) for i in range(partitions)]


def _table_pieces(job: Job, partitions: int, kinds: set[str]) -> list[NarrowPiece]:
    """Every partition's narrow columns of the given tables (with all sources and sheet facts)."""
    pieces = []
    for i in range(partitions):
        meta = _load(_scratch_path(job, f"meta-p{i:05d}"))
        for kind in kinds:
            path = _scratch_path(job, f"table-{kind}-p{i:05d}")
            if path.exists():
                meta.tables[kind] = _load(path)
        pieces.append(meta)
    return pieces


@one_worker
def check_bucket(
    job: Job, partitions: int, group: int, bucket: int, codes: Sequence[str], *reports: PartReport
) -> PartReport:
    """One bucket of one shuffle: the rows whose key hashes here, from every partition (`reports`:
    the partitions' reports, which this task waits for)."""
    pieces = _bucket_pieces(job, partitions, group, bucket)
    return check_global(pieces, job, f"global-{group}-{bucket:05d}", codes, reports)


@one_worker
def check_whole(job: Job, partitions: int, code: str, tables: set[str], *reports: PartReport) -> PartReport:
    """A global rule without a shuffle key, over the narrow columns of the tables it reads."""
    return check_global(_table_pieces(job, partitions, tables), job, f"global-{code}", [code], reports)


def check_global(
    pieces: Sequence[NarrowPiece],
    job: Job,
    name: str,
    codes: Sequence[str],
    reports: Sequence[PartReport] = (),
) -> PartReport:
    clock = time.perf_counter()
    dataset = merge_pieces(pieces)
    del pieces
    wanted = set(codes)
    rules = [r for r in job.rules() if r.code in wanted]
    filled = set().union(*(r.filled for r in reports))
    findings, outcomes, notes = job.run(job.context(dataset, filled), rules)
    path = write_part(findings, job.output, name, job.fmt)
    rows = {kind: len(t) for kind, t in dataset.tables.items()}
    return PartReport(
        name, path, len(findings), _counts(findings), outcomes, rows, notes, [], time.perf_counter() - clock,
        _peak_rss(),
    )  # fmt: skip


def rule_tables(rule: Rule) -> set[str]:
    """The tables a global rule reads: those it needs, names columns of, or declares it reads."""
    return {*rule.needs, *rule.columns, *rule.reads}


# ----------------------------------------------------------------------------------------- run


@dataclass
class DaskRun:
    layout: Layout
    reports: list[PartReport]
    outcomes: list[RuleOutcome]
    run_year: int | None
    seconds: dict[str, float]
    workers: int
    worker_memory: int  # bytes, the limit per worker (0: none)

    @property
    def counts(self) -> Counter:
        total: Counter = Counter()
        for report in self.reports:
            total.update(report.counts)
        return total

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for r in self.reports for d in r.diagnostics]

    def exit_code(self, fail_on: str = "error", keep_going: bool = False) -> int:
        """As a one-machine run (finish.exit_code), from the counts the partitions reported."""
        from fupin_audit.findings import SEVERITY_RANK
        from fupin_audit.finish import broken, exit_code

        failing = any(
            SEVERITY_RANK[level] >= SEVERITY_RANK[fail_on] for (_, level), n in self.counts.items() if n
        )
        return exit_code(
            failing=failing,
            read_anything=any(self.rows().values()),
            broken=broken(self.diagnostics, self.outcomes),
            keep_going=keep_going,
        )

    def summary(self, fail_on: str = "error", keep_going: bool = False) -> dict[str, Any]:
        """The run in numbers (--summary-json): the keys a one-machine run's summary has for counts,
        rules and diagnostics, plus the partitions, workers, time and memory."""
        from fupin_audit import __version__
        from fupin_audit.summary import counts_summary, diagnostics_summary, outcomes_summary

        return {
            "tool": "fupin-audit",
            "version": __version__,
            "engine": "dask",
            "exit_code": self.exit_code(fail_on, keep_going),
            "data_year": self.run_year,
            "tables": self.rows(),
            "diagnostics": diagnostics_summary(self.diagnostics),
            "rules": outcomes_summary(self.outcomes),
            "counts": counts_summary(self.counts),
            "partitions": [
                {
                    "label": r.label,
                    "findings": r.findings,
                    "file": r.path,
                    "rows": r.rows,
                    "seconds": round(r.seconds, 3),
                    "peak_rss_mib": round(r.peak_rss / 2**20),
                }
                for r in self.reports
            ],
            "workers": self.workers,
            "worker_memory_limit_mib": round(self.worker_memory / 2**20),
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "files": [f.path for r in self.reports for f in r.files],
            **self._snapshots(),
        }

    def _snapshots(self) -> dict[str, Any]:
        """--previous: the previous snapshot's files and the transition table, as a one-machine run."""
        files = sorted((f for r in self.reports for f in r.previous_files), key=lambda f: _file_order(f.path))
        if not files:
            return {}
        return {
            "previous_inputs": [{"file": f.path, "bytes": f.size, "sha256": f.sha256} for f in files],
            "transitions": snapshot_transitions(self.reports, [f.path for f in files]),
        }

    def rows(self) -> dict[str, int]:
        """Rows of the current snapshot read (the previous one's are not checked)."""
        total: Counter = Counter()
        for report in self.reports:
            if report.label.startswith(("global", "previous:")):
                continue
            total.update(report.rows)
        return dict(total)


def run_dask(
    paths: Sequence[str | Path],
    output: Path,
    *,
    fmt: str = "parquet",
    scheduler: str | None = None,
    workers: int | None = None,
    memory_limit: str | None = None,
    year: int | None = None,
    config: Path | None = None,
    select: Iterable[str] = (),
    ignore: Iterable[str] = (),
    severity: Iterable[str] = (),
    rule_paths: Iterable[Path] = (),
    encoding: str | None = None,
    buckets: int | None = None,
    on_stage: Callable[[str, str], None] | None = None,
    client: Any = None,
    previous: Sequence[str | Path] = (),
    previous_year: int | None = None,
    strict_policy: bool = False,
) -> DaskRun:
    """Check the dataset under `paths` on a Dask cluster; findings go to files in `output`. With
    `previous` (files or folders of the previous snapshot) the DT rules compare the two."""
    from fupin_audit.audit import choose_rules
    from fupin_audit.engine.registry import default_registry
    from fupin_audit.errors import ConfigError

    if fmt not in OUTPUT_FORMATS:
        raise ConfigError(f"--engine dask 的输出格式只能是 {'、'.join(OUTPUT_FORMATS)}")
    rule_paths = tuple(str(Path(p).resolve()) for p in rule_paths)
    registry = default_registry([Path(p) for p in rule_paths])
    settings, chosen, overrides = choose_rules(config, select, ignore, severity, registry)
    layout = plan(paths)
    if not layout.files:
        raise ConfigError("没有找到输入文件")
    before = plan(previous) if previous else None
    earlier = tuple(before.files) if before else ()
    if previous and not earlier:
        raise ConfigError("--previous 没有找到输入文件")
    snapshot = (earlier, previous_year, strict_policy, before)
    _prepare_output(output)

    def stage(name: str, detail: str = "") -> None:
        if on_stage:
            on_stage(name, detail)

    seconds: dict[str, float] = {}
    try:
        return _run(layout, chosen, shuffle_groups(chosen), settings, overrides, rule_paths, output, fmt, year,
                    encoding, buckets, stage, seconds, _client(client, scheduler, workers, memory_limit),
                    snapshot)  # fmt: skip
    finally:
        shutil.rmtree(output / SCRATCH, ignore_errors=True)


def _run(layout, chosen, groups, settings, overrides, rule_paths, output, fmt, year, encoding, buckets,
         stage, seconds, cluster, snapshot=((), None, False, None)) -> DaskRun:  # fmt: skip
    earlier, previous_year, strict_policy, before = snapshot
    with cluster as dask_client:
        clock = time.perf_counter()
        stage("plan", "")
        facts = dask_client.gather(dask_client.map(file_facts, layout.files, encoding=encoding, pure=False))
        run_year, common = (
            run_years(sum((f.years for f in facts), Counter())) if year is None else (year, year)
        )
        previous_years: tuple[int | None, int | None] = (None, None)
        if before is not None:  # the previous snapshot's years, from the whole of it
            old = dask_client.gather(dask_client.map(file_facts, before.files, encoding=encoding, pure=False))
            previous_years = run_years(sum((f.years for f in old), Counter()))
        fields: dict[str, set[str]] = {}
        for kind, name in set().union(*(f.fields for f in facts)):
            fields.setdefault(kind, set()).add(name)
        seconds["plan"] = time.perf_counter() - clock
        count = len(dask_client.scheduler_info().get("workers", {}))
        job = Job(
            tuple(r.code for r in chosen),
            rule_paths,
            settings,
            overrides,
            year,
            run_year,
            encoding,
            str(output),
            fmt,
            common,
            buckets or max(2, 2 * count),
            tuple(tuple(spec.items()) for spec, _ in groups),
            str(output / SCRATCH),
            tuple((kind, tuple(sorted(names))) for kind, names in sorted(fields.items())),
            earlier,
            previous_year,
            strict_policy,
            tuple((label, tuple(files)) for label, files in before.partitions) if before else (),
            tuple(before.shared) if before else (),
            previous_years,
        )
        shutil.rmtree(job.scratch, ignore_errors=True)
        Path(job.scratch).mkdir(parents=True)  # leftovers of a killed run would mix in
        clock = time.perf_counter()
        partitions = [
            dask_client.submit(
                check_partition, i, label, files, layout.shared, job, pure=False, key=f"partition-{i}"
            )
            for i, (label, files) in enumerate(layout.partitions)
        ]
        globals_ = _global_tasks(dask_client, partitions, job, chosen, groups)
        reports = _gather(dask_client, partitions, stage)
        seconds["local"] = time.perf_counter() - clock
        clock = time.perf_counter()
        stage("global", "")
        for result in _gather(dask_client, globals_, stage):
            reports.extend(result if isinstance(result, list) else [result])
        seconds["global"] = time.perf_counter() - clock
        info = dask_client.scheduler_info()
        memory = max((w.get("memory_limit", 0) or 0 for w in info.get("workers", {}).values()), default=0)
    outcomes = merge_outcomes(chosen, [r.outcomes for r in reports])
    return DaskRun(layout, reports, outcomes, run_year, seconds, count, memory)


def _global_tasks(client: Any, partitions: list[Any], job: Job, chosen: list[Rule], groups) -> list[Any]:
    """Global rules with a shuffle key: one task per bucket of each shuffle; the others: one task
    per rule over the tables it reads. They start when every partition has left its columns."""
    n = len(partitions)
    tasks = []
    for g, (_, codes) in enumerate(groups):
        for b in range(job.buckets):
            tasks.append(
                client.submit(
                    check_bucket, job, n, g, b, codes, *partitions, pure=False, key=f"global-{g}-{b}"
                )
            )
    shuffled = {code for _, codes in groups for code in codes}
    compared = [r.code for r in chosen if r.previous and job.previous]
    if compared:
        tasks.extend(submit_snapshots(client, job, partitions, chosen))
    for rule in chosen:
        if rule.scope != "local" and rule.code not in shuffled and rule.code not in compared:
            tables = rule_tables(rule)
            tasks.append(
                client.submit(
                    check_whole, job, n, rule.code, tables, *partitions, pure=False, key=f"global-{rule.code}"
                )
            )
    return tasks


def _gather(client: Any, futures: list[Any], stage) -> list[PartReport]:
    """Results in submission order, reported as each finishes."""
    from distributed import as_completed

    position = {f.key: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    for done in as_completed(futures):
        result = results[position[done.key]] = done.result()
        for report in result if isinstance(result, list) else [result]:
            stage("done", report.label)
    return results


def _prepare_output(output: Path) -> None:
    from fupin_audit.errors import ConfigError

    if output.exists() and not output.is_dir():
        raise ConfigError(f"{output}: --engine dask 的 --output 须为文件夹（每个分区一个文件）")
    output.mkdir(parents=True, exist_ok=True)
    old = [p for p in output.iterdir() if p.name.startswith(("part-", "global-"))]
    for path in old:  # an earlier run's parts would be mixed with this run's
        path.unlink()


class _client:
    """The given client, a client of `scheduler`, or a LocalCluster sized to this machine."""

    def __init__(self, client: Any, scheduler: str | None, workers: int | None, memory_limit: str | None):
        self.given, self.scheduler, self.workers, self.memory_limit = client, scheduler, workers, memory_limit
        self.cluster = None
        self.client = None

    def __enter__(self) -> Any:
        if self.given is not None:
            return self.given
        from fupin_audit.errors import ConfigError

        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("--engine dask 需要安装 dask：pip install 'fupin-audit[dask]'") from None
        if self.scheduler:
            try:
                self.client = Client(self.scheduler, timeout="10s")
            except OSError as exc:
                raise ConfigError(f"无法连接 Dask 调度器 {self.scheduler}：{exc}") from None
            return self.client
        import logging
        import os

        workers = self.workers or max(1, os.cpu_count() or 1)
        self.cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,  # rules are pandas code holding the GIL: one task per process
            memory_limit=self.memory_limit or "auto",
            dashboard_address=":0",  # a free port: never a clash (or a warning) with another cluster
            processes=True,
            # A task's exception reaches the client and is reported once, as the run's error (e.g. a
            # --strict-policy gap, exit 2); the workers' own log of it would print it twice, with a stack.
            silence_logs=logging.CRITICAL,
        )
        self.client = Client(self.cluster)
        return self.client

    def __exit__(self, *exc: object) -> None:
        if self.client is not None and self.given is None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()


# ------------------------------------------------------------------------- 4. two snapshots
# `check --engine dask --previous`: the DT rules bucket by bucket, never two whole snapshots in a task.
#
# Both snapshots are read in partitions (the current one by `dask_engine.check_partition`, the previous
# one by `previous_partition`, which only loads and narrows). Each partition leaves its household,
# member and roster columns in the scratch folder, split twice:
#
# - by 户编号 (`dt-h-*`): households and members of both snapshots — the rules that compare a household
#   with itself and its own members (`dongtai.BY_HOUSEHOLD`) run per bucket (`check_households`);
# - by the person key (`dt-p-*`, 15-digit IDs upgraded, as the DT rules match people): members and
#   rosters of both snapshots — the rules that follow a person across households (`dongtai.BY_PERSON`,
#   `check_people`). The households of both snapshots that a bucket's people belong to follow them:
#   each partition says which person buckets its members' 户编号 go to (`dt-f-*`), and the 户编号 bucket
#   holding those households forwards them (`dt-fw-*`). Only members are keyed, and the person rules
#   flag members only, so a household forwarded to two buckets yields no finding twice.
#
# What the DT rules decide about the pair as a whole (different counties, the previous snapshot later,
# no 户编号 in common, repeated 户编号, layout changes) is decided once (`check_pair`) from per-partition
# facts and the 户编号 of each bucket, reported once, and given to every bucket (`WholePair`): when it is
# an error, every DT rule skips in every bucket with the pandas engine's reason.
#
# DT109 (one person, a new ID number) pairs people whose key is in one snapshot only: each person
# bucket leaves those people (`dt-c-*`), one task pairs them (`check_renumbered`), and drops the person
# buckets' findings about the people it paired — as the pandas engine's DT103/DT104 leave them out.

SIDES = ("cur", "prev")
KEPT = ("households", "members", "rosters")  # the tables the DT rules read


def groups(rules: Sequence[Rule]) -> dict[str, list[str]]:
    """The codes of the chosen rules comparing two snapshots, by how they are split. A rule of another
    pack comparing snapshots runs with the households (a household compared with itself)."""
    compared = [r.code for r in rules if r.previous]
    person = [c for c in compared if c in dongtai.BY_PERSON]
    renumbering = [c for c in compared if c in dongtai.BY_RENUMBERING]
    household = [c for c in compared if c not in person and c not in renumbering]
    return {"household": household, "person": person, "renumbering": renumbering}


# ------------------------------------------------------------------------------ partitions


def leave_snapshot(job: Job, side: str, index: int, ctx: AuditContext, piece: NarrowPiece) -> SnapshotPart:
    """Leave one partition's DT columns in the scratch folder, split by 户编号 and by person key, and
    what the pair checks need to know of it."""
    tables = {kind: t for kind, t in piece.tables.items() if kind in KEPT}
    keys = AuditContext(Dataset(tables, piece.sources), ctx.policy)
    by_household: dict[str, np.ndarray] = {}
    for kind in ("households", "members"):
        if kind in tables and HID in tables[kind].data:
            hid = text(tables[kind].data[HID])
            by_household[kind] = bucket_of(hid.where(hid != ""), job.buckets)
    by_person = {
        kind: _person_buckets(keys, kind, job.buckets) for kind in ("members", "rosters") if kind in tables
    }
    _leave_split(job, f"dt-h-{side}", index, piece, tables, by_household)
    _leave_split(job, f"dt-p-{side}", index, piece, tables, by_person)
    households = tables.get("households")
    for b in range(job.buckets):
        hid = households.data[HID][by_household["households"] == b] if "households" in by_household else None
        _dump(hid, _scratch_path(job, f"dt-hid-{side}-{b:05d}-p{index:05d}"))
    # which person buckets this partition's members send each 户编号 to, filed by the 户编号's bucket
    pairs = pd.DataFrame({"hid": pd.Series([], dtype=object), "bucket": pd.Series([], dtype=np.int64)})
    if "members" in by_household:
        hid = text(tables["members"].data[HID]).to_numpy(dtype=object)
        pairs = pd.DataFrame({"hid": hid, "bucket": by_person["members"], "home": by_household["members"]})
        pairs = pairs[pairs["hid"] != ""].drop_duplicates()
    for b in range(job.buckets):
        part = pairs[pairs["home"] == b] if "home" in pairs else pairs
        _dump(part[["hid", "bucket"]], _scratch_path(job, f"dt-f-{side}-{b:05d}-p{index:05d}"))
    return dongtai.snapshot_part(ctx)


def _person_buckets(ctx: AuditContext, kind: str, buckets: int) -> np.ndarray:
    """Per row: the bucket of its person key (the DT rules' `person_numbers`); rows naming nobody are
    spread evenly (they meet no one)."""
    try:
        numbers = dongtai.person_numbers(ctx, kind)
    except SkipRule:  # no ID column
        numbers = np.full(len(ctx.dataset.tables[kind]), -1, dtype=np.int64)
    spread = np.arange(len(numbers), dtype=np.uint64) % np.uint64(buckets)
    hashed = pd.util.hash_array(numbers.astype(np.int64)) % np.uint64(buckets)
    return np.where(numbers >= 0, hashed, spread).astype(np.int64)


def _leave_split(
    job: Job,
    name: str,
    index: int,
    piece: NarrowPiece,
    tables: dict[str, Table],
    split: dict[str, np.ndarray],
) -> None:
    parts = [
        NarrowPiece({}, piece.sources, [], piece.title_years, piece.title_dates) for _ in range(job.buckets)
    ]
    for kind, bucket in split.items():
        position = np.arange(len(bucket), dtype=np.int64)
        for b, part in enumerate(_split_table(tables[kind], bucket, position, job.buckets)):
            parts[b].tables[kind] = part
    for b, part in enumerate(parts):
        _dump(_compact(part), _scratch_path(job, f"{name}-{b:05d}-p{index:05d}"))


def _compact(piece: NarrowPiece) -> NarrowPiece:
    """The piece with only the sources its rows come from (renumbered), so that a bucket's scratch
    files do not each carry every sheet of the dataset."""
    used = sorted({int(s) for t in piece.tables.values() for s in t.data[SOURCE_COLUMN].unique()})
    new = {old: i for i, old in enumerate(used)}
    tables = {}
    for kind, table in piece.tables.items():
        data, raw = table.data.copy(deep=False), table.raw.copy(deep=False)
        data[SOURCE_COLUMN] = data[SOURCE_COLUMN].map(new).astype(np.int32)
        if SOURCE_COLUMN in raw:
            raw[SOURCE_COLUMN] = data[SOURCE_COLUMN]
        tables[kind] = Table(kind, data, raw, table.fields, table.problems)
    return NarrowPiece(
        tables,
        [piece.sources[i] for i in used],
        [],
        {new[s]: y for s, y in piece.title_years.items() if s in new},
        {new[s]: d for s, d in piece.title_dates.items() if s in new},
    )


@one_worker
def previous_partition(
    index: int, label: str, files: Sequence[str], shared: Sequence[str], job: Job
) -> PartReport:
    """Read and validate one partition of the previous snapshot and leave its DT columns: no rule runs
    on it. Its load diagnostics are the run's, said as the pandas engine says them (上一期数据：…)."""
    clock = time.perf_counter()
    dataset = _partition_dataset(files, shared, job)
    ctx = previous_context(job, dataset, WholeDataset(*job.previous_years))
    skip = {i for i, s in enumerate(dataset.sources) if s.input in set(shared)} if index > 0 else set()
    diagnostics = [
        Diagnostic(d.level, "上一期数据：" + d.message, d.file, d.sheet)
        for d in dataset.diagnostics
        if index == 0 or d.file not in set(shared)
    ]
    compared = [r for r in job.rules() if r.previous]
    piece = narrow(dataset, narrow_columns(compared), skip)
    part = leave_snapshot(job, "prev", index, ctx, piece)
    return PartReport(
        f"previous:{label}", "", 0, Counter(), [], {k: len(t) for k, t in piece.tables.items()}, diagnostics, [],
        time.perf_counter() - clock, _peak_rss(), _filled(dataset),
        previous_files=[f for f in dataset.files if index == 0 or f.path not in set(shared)], snapshot=part,
    )  # fmt: skip


def previous_context(job: Job, dataset: Dataset, whole: WholeDataset) -> AuditContext:
    return AuditContext(
        dataset, job.settings.policy, job.previous_year, whole=whole, strict_policy=job.strict_policy
    )


def current_snapshot(job: Job, index: int, ctx: AuditContext, piece: NarrowPiece) -> SnapshotPart | None:
    """`check_partition`'s part: its DT columns, when there is a previous snapshot to compare with."""
    if not job.previous:
        return None
    return leave_snapshot(job, "cur", index, ctx, piece)


# ------------------------------------------------------------------------------ the pair


@one_worker
def check_pair(job: Job, current: int, previous: int, *reports: PartReport) -> PartReport:
    """The pair checks over the whole pair, once: from the partitions' facts and, bucket by bucket,
    the 户编号 of both household tables (never more than one bucket's in memory)."""
    from fupin_audit.facts.keys import joint_codes

    clock = time.perf_counter()
    now = [r for r in reports if not r.label.startswith("previous:")]
    before = [r for r in reports if r.label.startswith("previous:")]
    cur_years = (job.run_year, job.audit_year) if job.year is None else (job.year, job.year)
    prev_years = job.previous_years if job.previous_year is None else (job.previous_year,) * 2
    facts = [
        dongtai.snapshot_facts([r.snapshot for r in side], years[1])
        for side, years in ((now, cur_years), (before, prev_years))
    ]
    overlap = dongtai.HouseholdOverlap()
    if facts[0].households and facts[1].households:
        for b in range(job.buckets):
            hids, order = [], []
            for side, n in (("cur", current), ("prev", previous)):
                parts = [_load(_scratch_path(job, f"dt-hid-{side}-{b:05d}-p{i:05d}")) for i in range(n)]
                hids.append(pd.concat([p for p in parts if p is not None] or [pd.Series([], dtype=object)]))
                order.append(
                    [(i, int(label)) for i, p in enumerate(parts) if p is not None for label in p.index]
                )
            (cur_codes, prev_codes), count = joint_codes(*hids)
            overlap.add(dongtai.overlap_of(cur_codes, prev_codes, count, hids[0], hids[1], order))
    checks = dongtai.pair_checks(facts[0], facts[1], overlap)
    pair = WholePair(tuple(checks), facts[1].reference, facts[0].death_source or facts[1].death_source)
    filled = [frozenset(set().union(*(r.filled for r in side))) for side in (now, before)]
    wholes = (WholeDataset(*cur_years, filled[0], pair), WholeDataset(*prev_years, filled[1], pair))
    notes = [Diagnostic(d.level, "两期比对：" + d.message) for d in checks]
    return PartReport(
        "global-snapshots-pair", "", 0, Counter(), [], {}, notes, [], time.perf_counter() - clock, _peak_rss(),
        wholes=wholes,
    )  # fmt: skip


def _contexts(job: Job, pair: PartReport, cur: Dataset, prev: Dataset, **answers: Any) -> AuditContext:
    whole_cur, whole_prev = pair.wholes
    if answers:
        whole_cur = replace(whole_cur, pair=replace(whole_cur.pair, **answers))
    ctx = AuditContext(cur, job.settings.policy, job.year, whole=whole_cur, strict_policy=job.strict_policy)
    ctx.previous = previous_context(job, prev, whole_prev)
    return ctx


def _pieces(job: Job, names: Sequence[str]) -> Dataset:
    return merge_pieces([_load(_scratch_path(job, name)) for name in names])


def _run_group(job: Job, ctx: AuditContext, codes: Sequence[str]):
    rules = [r for r in job.rules() if r.code in set(codes)]
    return job.run(ctx, rules)


# ------------------------------------------------------------------------------ buckets by 户编号


@one_worker
def check_households(
    job: Job, bucket: int, current: int, previous: int, codes: Sequence[str], pair: PartReport
) -> PartReport:
    """The rules comparing a household with itself, over the households and members of both
    snapshots whose 户编号 hash here; then the households go on to the person buckets that need them."""
    clock = time.perf_counter()
    cur = _pieces(job, [f"dt-h-cur-{bucket:05d}-p{i:05d}" for i in range(current)])
    prev = _pieces(job, [f"dt-h-prev-{bucket:05d}-p{i:05d}" for i in range(previous)])
    ctx = _contexts(job, pair, cur, prev)
    findings, outcomes, notes = _run_group(job, ctx, codes)
    name = f"global-snapshots-h-{bucket:05d}"
    path = write_part(findings, job.output, name, job.fmt)
    _forward(job, bucket, current, previous, ctx)
    rows = {
        f"{side}.{k}": len(t) for side, d in zip(SIDES, (cur, prev), strict=True) for k, t in d.tables.items()
    }
    return PartReport(
        name, path, len(findings), _counts(findings), outcomes, rows, notes, [], time.perf_counter() - clock,
        _peak_rss(), moves=dongtai.transition_counts(ctx),
    )  # fmt: skip


def _forward(job: Job, bucket: int, current: int, previous: int, ctx: AuditContext) -> None:
    """Each snapshot's household rows of this bucket, to every person bucket holding a member (of
    either snapshot) with their 户编号."""
    pairs = pd.concat(
        [
            _load(_scratch_path(job, f"dt-f-{side}-{bucket:05d}-p{i:05d}"))
            for side, n in (("cur", current), ("prev", previous))
            for i in range(n)
        ]
    ).drop_duplicates()
    for side, c in zip(SIDES, (ctx, ctx.previous), strict=True):
        dataset = c.dataset
        households = dataset.tables.get("households")
        parts: list[Table | None] = [None] * job.buckets
        if households is not None and HID in households.data:
            own = pd.DataFrame(
                {
                    "hid": text(households.data[HID]).to_numpy(dtype=object),
                    "position": np.arange(len(households)),
                }
            )
            joined = own.merge(pairs, on="hid")
            parts = _split_table(
                households,
                joined["bucket"].to_numpy(np.int64),
                joined["position"].to_numpy(np.int64),
                job.buckets,
            )  # type: ignore[assignment]
        for b, part in enumerate(parts):
            tables = {} if part is None else {"households": part}
            piece = NarrowPiece(tables, dataset.sources, [], dataset.title_years, dataset.title_dates)
            _dump(_compact(piece), _scratch_path(job, f"dt-fw-{side}-{b:05d}-h{bucket:05d}"))


# ------------------------------------------------------------------------------ buckets by person


@one_worker
def check_people(
    job: Job,
    bucket: int,
    current: int,
    previous: int,
    codes: Sequence[str],
    pair: PartReport,
    *households: PartReport,
) -> PartReport:
    """The rules following a person across households: the members and rosters of both snapshots
    whose person key hashes here, and the households they belong to. Findings wait in the scratch
    folder for `check_renumbered`; the people DT109 may pair are left for it."""
    clock = time.perf_counter()
    datasets = []
    for side, n in (("cur", current), ("prev", previous)):
        names = [f"dt-fw-{side}-{bucket:05d}-h{h:05d}" for h in range(job.buckets)]
        datasets.append(_pieces(job, [*names, *(f"dt-p-{side}-{bucket:05d}-p{i:05d}" for i in range(n))]))
    ctx = _contexts(job, pair, *datasets, renumbered_elsewhere=True)
    findings, outcomes, notes = _run_group(job, ctx, codes)
    name = f"global-snapshots-p-{bucket:05d}"
    _dump(findings, _scratch_path(job, f"dt-found-{bucket:05d}"))
    _leave_candidates(job, bucket, ctx)
    rows = {
        f"{side}.{k}": len(t) for side, d in zip(SIDES, datasets, strict=True) for k, t in d.tables.items()
    }
    return PartReport(
        name, "", len(findings), _counts(findings), outcomes, rows, notes, [], time.perf_counter() - clock,
        _peak_rss(),
    )  # fmt: skip


def _leave_candidates(job: Job, bucket: int, ctx: AuditContext) -> None:
    try:
        cur_new, prev_gone = dongtai.renumbering_candidates(ctx)
    except SkipRule:
        cur_new = prev_gone = np.empty(0, dtype=np.int64)
    for side, c, rows in (("cur", ctx, cur_new), ("prev", ctx.previous, prev_gone)):
        tables = {}
        for kind in ("households", "members"):
            if (table := c.dataset.tables.get(kind)) is not None:
                keep = rows if kind == "members" else np.empty(0, dtype=np.int64)
                tables[kind] = _take(table, keep)
        piece = NarrowPiece(tables, c.dataset.sources, [], c.dataset.title_years, c.dataset.title_dates)
        _dump(_compact(piece), _scratch_path(job, f"dt-c-{side}-{bucket:05d}"))


def _take(table: Table, positions: np.ndarray) -> Table:
    data = table.data.iloc[positions]
    raw = table.raw.loc[data.index]
    return Table(table.kind, data, raw, table.fields, table.problems[table.problems.index.isin(data.index)])


# ------------------------------------------------------------------------------ DT109


@one_worker
def check_renumbered(
    job: Job, codes: Sequence[str], pair: PartReport, *people: PartReport
) -> list[PartReport]:
    """DT109 over the people whose key is in one snapshot only (from every person bucket), then each
    person bucket's findings without those about the people it paired, written out."""
    clock = time.perf_counter()
    cur = _pieces(job, [f"dt-c-cur-{b:05d}" for b in range(job.buckets)])
    prev = _pieces(job, [f"dt-c-prev-{b:05d}" for b in range(job.buckets)])
    ctx = _contexts(job, pair, cur, prev)
    findings, outcomes, notes = _run_group(job, ctx, codes)
    name = "global-snapshots-renumbered"
    path = write_part(findings, job.output, name, job.fmt)
    try:
        paired = dongtai.renumbered_people(ctx)
        places = _places(ctx, "members", paired["cur"]) | _places(
            ctx.previous, "members", paired["prev"], "previous."
        )
    except SkipRule:
        places = set()
    rows = {
        f"{side}.members": len(d.tables.get("members", ()))
        for side, d in zip(SIDES, (cur, prev), strict=True)
    }
    own = PartReport(
        name, path, len(findings), _counts(findings), outcomes, rows, notes, [], time.perf_counter() - clock,
        _peak_rss(),
    )  # fmt: skip
    out = [own]
    for b, report in enumerate(people):
        out.append(_finish_people(job, b, report, places))
    return out


def _places(
    ctx: AuditContext, kind: str, positions: pd.Series, prefix: str = ""
) -> set[tuple[str, str, str, int]]:
    frame = ctx.frame(kind).iloc[positions.to_numpy()]
    sources = ctx.dataset.sources
    return {
        (prefix + kind, sources[int(s)].file, sources[int(s)].sheet, int(r))
        for s, r in zip(frame[SOURCE_COLUMN], frame[ROW_COLUMN], strict=True)
    }


def _finish_people(
    job: Job, bucket: int, report: PartReport, places: set[tuple[str, str, str, int]]
) -> PartReport:
    findings = _load(_scratch_path(job, f"dt-found-{bucket:05d}"))
    if places and len(findings):
        keys = zip(
            findings["table"].astype(str), findings["file"].astype(str), findings["sheet"].astype(str),
            findings["row"].astype("Int64").fillna(-1).astype(int), strict=True,
        )  # fmt: skip
        findings = findings[[k not in places for k in keys]]
    counts = _counts(findings)
    by_rule = findings["rule"].astype(str).value_counts() if len(findings) else pd.Series(dtype=int)
    outcomes = [
        replace(o, findings=int(by_rule.get(o.code, 0))) if o.status == "ran" else o for o in report.outcomes
    ]
    path = write_part(findings, job.output, report.label, job.fmt)
    return replace(report, path=path, findings=len(findings), counts=counts, outcomes=outcomes)


def snapshot_transitions(reports: Sequence[PartReport], previous_files: list[str]) -> dict[str, Any] | None:
    """The transition table of the pair: the household buckets' counts added up."""
    moves = [r.moves for r in reports if r.label.startswith("global-snapshots-h-")]
    pair = next((r for r in reports if r.label == "global-snapshots-pair"), None)
    if not moves or pair is None or any(m is None for m in moves):
        return None
    total = moves[0]
    for more in moves[1:]:
        total = total + more
    cur, prev = pair.wholes
    return dongtai.transition_table(total, prev.audit_year, cur.audit_year, previous_files)


def submit_snapshots(client: Any, job: Job, partitions: list[Any], chosen: Sequence[Rule]) -> list[Any]:
    """The DT tasks of a run with a previous snapshot: its partitions, the pair checks, the household
    buckets, the person buckets and DT109. Returns the futures in order (the last gives a list)."""
    previous = [
        client.submit(
            previous_partition, i, label, files, job.previous_shared, job, pure=False, key=f"previous-{i}"
        )
        for i, (label, files) in enumerate(job.previous_partitions)
    ]
    by = groups(chosen)
    n, m = len(partitions), len(previous)
    pair = client.submit(
        check_pair, job, n, m, *partitions, *previous, pure=False, key="global-snapshots-pair"
    )
    households = [
        client.submit(
            check_households, job, b, n, m, by["household"], pair, pure=False, key=f"global-snapshots-h-{b}"
        )
        for b in range(job.buckets)
    ]
    people = [
        client.submit(
            check_people,
            job,
            b,
            n,
            m,
            by["person"],
            pair,
            *households,
            pure=False,
            key=f"global-snapshots-p-{b}",
        )
        for b in range(job.buckets)
    ]
    last = client.submit(
        check_renumbered, job, by["renumbering"], pair, *people, pure=False, key="global-snapshots-renumbered"
    )
    return [*previous, pair, *households, last]
