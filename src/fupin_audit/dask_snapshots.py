"""`check --engine dask --previous`: the DT rules bucket by bucket, never two whole snapshots in a task.

Both snapshots are read in partitions (the current one by `dask_engine.check_partition`, the previous
one by `previous_partition`, which only loads and narrows). Each partition leaves its household,
member and roster columns in the scratch folder, split twice:

- by 户编号 (`dt-h-*`): households and members of both snapshots — the rules that compare a household
  with itself and its own members (`dongtai.BY_HOUSEHOLD`) run per bucket (`check_households`);
- by the person key (`dt-p-*`, 15-digit IDs upgraded, as the DT rules match people): members and
  rosters of both snapshots — the rules that follow a person across households (`dongtai.BY_PERSON`,
  `check_people`). The households of both snapshots that a bucket's people belong to follow them:
  each partition says which person buckets its members' 户编号 go to (`dt-f-*`), and the 户编号 bucket
  holding those households forwards them (`dt-fw-*`). Only members are keyed, and the person rules
  flag members only, so a household forwarded to two buckets yields no finding twice.

What the DT rules decide about the pair as a whole (different counties, the previous snapshot later,
no 户编号 in common, repeated 户编号, layout changes) is decided once (`check_pair`) from per-partition
facts and the 户编号 of each bucket, reported once, and given to every bucket (`WholePair`): when it is
an error, every DT rule skips in every bucket with the pandas engine's reason.

DT109 (one person, a new ID number) pairs people whose key is in one snapshot only: each person
bucket leaves those people (`dt-c-*`), one task pairs them (`check_renumbered`), and drops the person
buckets' findings about the people it paired — as the pandas engine's DT103/DT104 leave them out.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupin_audit.dask_engine import (
    HID,
    Job,
    NarrowPiece,
    PartReport,
    _counts,
    _dump,
    _file_order,
    _filled,
    _load,
    _peak_rss,
    _scratch_path,
    _shared_dataset,
    _split_table,
    bucket_of,
    combine,
    merge_pieces,
    narrow,
    narrow_columns,
    write_part,
)
from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN, Dataset, Diagnostic, Table
from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Rule, SkipRule
from fupin_audit.engine.years import WholeDataset, WholePair
from fupin_audit.facts.values import text
from fupin_audit.rules import dongtai
from fupin_audit.workers import one_worker

if TYPE_CHECKING:
    from fupin_audit.rules.dongtai import SnapshotPart

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
    from fupin_audit.load import load

    clock = time.perf_counter()
    dataset = load(sorted(files, key=_file_order), encoding=job.encoding)
    if shared:
        common = _shared_dataset(tuple(shared), job.encoding)
        first = min(_file_order(f) for f in shared) < min(_file_order(f) for f in files)
        dataset = combine([common, dataset] if first else [dataset, common])
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


def transitions(reports: Sequence[PartReport], previous_files: list[str]) -> dict[str, Any] | None:
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


def submit(client: Any, job: Job, partitions: list[Any], chosen: Sequence[Rule]) -> list[Any]:
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
