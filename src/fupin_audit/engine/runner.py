"""Run the selected rules over a dataset and collect every finding into one frame."""

from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import pandas as pd
from pydantic import BaseModel, ValidationError

from fupin_audit.dataset import SOURCE_COLUMN, Diagnostic
from fupin_audit.engine.context import (
    CURRENT_RULE,
    MAY_DEFER,
    AuditContext,
    FactBusy,
    begin_try,
    end_try,
    take_back_try,
)
from fupin_audit.engine.rule import Rule, Severity, SkipRule, era_skip_reason
from fupin_audit.errors import ConfigError, FupinAuditError
from fupin_audit.findings import assemble, empty_findings, sort_findings
from fupin_audit.workers import thread_count

R = TypeVar("R")
# The summary's early work (`meanwhile`) begins while the last rules run only while the findings held
# are fewer than this: a million-household storm's facts and findings already come near 7 GiB, and its
# early work added 0.3–0.5 GiB to the peak.
EARLY_MEANWHILE_FINDINGS = 2_000_000
NO_PREVIOUS = "没有 --previous 上一期数据"


@dataclass
class RuleOutcome:
    code: str
    status: str  # "ran", "skipped", "failed"
    findings: int = 0
    seconds: float = 0.0
    reason: str = ""
    traceback: str = ""  # a failed rule's stack, printed under --debug (a bug to report, with its place)


@dataclass
class RunResult:
    findings: pd.DataFrame
    outcomes: list[RuleOutcome] = field(default_factory=list)
    # The run's own diagnostics (a year out of range, policy values missing for some rows).
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def skipped(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    def failed(self) -> list[RuleOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]


def rule_parameters(rules: Iterable[Rule], settings: dict[str, dict[str, Any]]) -> dict[str, BaseModel]:
    """Validate each rule's parameters from the config's [rules.CODE] tables (unknown keys rejected)."""
    by_code = {r.code: r for r in rules}
    params: dict[str, BaseModel] = {}
    for code, rule in by_code.items():
        try:
            params[code] = rule.params(**settings.get(code, {}))
        except ValidationError as exc:
            err = exc.errors()[0]
            key = ".".join(str(p) for p in err["loc"])
            raise ConfigError(f"[rules.{code}] {key}: {err['msg']}") from None
    return params


def run_rules(
    ctx: AuditContext,
    rules: Iterable[Rule],
    *,
    severity: dict[str, Severity] | None = None,
    settings: dict[str, dict[str, Any]] | None = None,
    progress: Callable[[str], None] | None = None,
    keep_facts: Iterable[str] | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> RunResult:
    """Run the rules; their findings as one frame in rule order. `keep_facts`: once the rules have
    run, the context keeps only these shared computations (key prefixes) while the findings are
    assembled (None: all). `meanwhile`: work done on a thread of its own while the findings are
    assembled (the summary's indicators that read only the data); what it raises is dropped, so it
    must only compute what is asked for again later (ctx.cached)."""
    rules = list(rules)
    params = rule_parameters(rules, settings or {})
    severity = severity or {}

    spent: dict[str, float] = {}  # a rule put back (FactBusy): the time of its earlier tries
    unjudged: dict[str, dict[tuple[str, str, str], list[str]]] = {}  # per rule: `_sheets_lacking`
    found: list[int] = []  # findings per rule run so far (appended from the rule threads)

    def one(rule: Rule) -> tuple[RuleOutcome, list[pd.DataFrame]]:
        if progress and rule.code not in spent:
            progress(rule.code)
        started = time.perf_counter() - spent.pop(rule.code, 0.0)
        token = CURRENT_RULE.set(rule.code)
        begin_try()
        try:
            if (reason := era_skip_reason(rule, ctx.era())) is not None:
                raise SkipRule(reason)
            _check_needs(ctx, rule)
            result = rule(ctx, params[rule.code])
        except FactBusy:
            spent[rule.code] = time.perf_counter() - started
            take_back_try()
            raise
        except SkipRule as skip:
            return RuleOutcome(rule.code, "skipped", reason=str(skip)), []
        except FupinAuditError:
            raise
        except Exception as exc:  # a broken rule must not take the other rules down
            reason = f"{type(exc).__name__}: {exc}"
            return RuleOutcome(rule.code, "failed", reason=reason, traceback=traceback.format_exc()), []
        finally:
            end_try()
            CURRENT_RULE.reset(token)
        frames = [f for f in (result if isinstance(result, list) else [result]) if f is not None and len(f)]
        frames, unjudged[rule.code] = _without_absent_columns(ctx, rule, frames)
        count = sum(len(f) for f in frames)
        found.append(count)
        return RuleOutcome(rule.code, "ran", count, time.perf_counter() - started), frames

    parts: list[pd.DataFrame] = []
    constants: list[dict[str, str]] = []
    outcomes: list[RuleOutcome] = []
    # Rules only read the dataset (shared computations go through ctx.cached, which is locked), and
    # most of their time is arrow and numpy work that releases the GIL: they run on several threads.
    # Results are taken in rule order, so the findings do not depend on which thread finished first.
    rows = max((len(t.data) for t in ctx.dataset.tables.values()), default=0)
    early: list[threading.Thread] = []

    def drained() -> None:
        """No rule left to begin: the `meanwhile` work starts on the thread that would idle while
        the last rules finish, not after them — unless the findings held are a storm's: its memory
        would then add to the rules' shared facts, which are let go only once every rule has run."""
        if meanwhile is None or sum(found) > EARLY_MEANWHILE_FINDINGS:
            return
        if (thread := _quietly_started(meanwhile)) is not None:
            early.append(thread)

    for rule, (outcome, frames) in zip(
        rules, _in_turn(one, rules, thread_count(len(rules), rows), drained), strict=True
    ):
        outcomes.append(outcome)
        for (_kind, file, sheet), fields in unjudged.get(rule.code, {}).items():  # in rule order
            ctx.note(
                f"{rule.code}：此表没有列 {'、'.join(fields)}，其中的行未按此规则检查", "info", file, sheet
            )
        fixed = {
            "rule": rule.code,
            "severity": severity.get(rule.code, rule.severity),
            "family": rule.family,
            "title": rule.title,
        }
        for frame in frames:
            parts.append(frame)  # as returned: no copy per rule; the columns are typed once, at the end
            # A rule may grade its findings one by one (DT101: a vanished poor household is an
            # error); a --severity override still applies to all of them.
            own = "severity" in frame.columns and rule.code not in severity
            constants.append({k: v for k, v in fixed.items() if k != "severity"} if own else fixed)
    if keep_facts is not None:
        ctx.release(keep_facts)
    with _alongside(None if early else meanwhile):
        findings = assemble(parts, constants, consume=True) if parts else empty_findings()
        del parts
        findings = sort_findings(findings, reuse=True)
    for thread in early:
        thread.join()
    return RunResult(findings, outcomes, ctx.diagnostics())


def _without_absent_columns(
    ctx: AuditContext, rule: Rule, frames: list[pd.DataFrame]
) -> tuple[list[pd.DataFrame], dict[tuple[str, str, str], list[str]]]:
    """The rule's findings without those on rows of a sheet that lacks a column the rule cannot do
    without (`Rule.columns`), and those sheets (`_sheets_lacking`): a table made of several files
    (two townships, two eras) holds the column for some rows only, and the others' missing cells are
    not empty values (MONITORING.md: an absent column is never read as empty)."""
    lacking = _sheets_lacking(ctx, rule)
    if not lacking or not frames:
        return frames, lacking
    out = []
    for frame in frames:
        if {"table", "file", "sheet"} <= set(frame.columns):
            where = pd.MultiIndex.from_arrays(
                [frame["table"].astype(str), frame["file"].astype(str), frame["sheet"].astype(str)]
            )
            frame = frame[~where.isin(list(lacking))]
        if len(frame):
            out.append(frame)
    return out, lacking


def _sheets_lacking(ctx: AuditContext, rule: Rule) -> dict[tuple[str, str, str], list[str]]:
    """(table, file, sheet) of the sources that lack a column of `rule.columns` — not among their
    headers, not derived, and no value in any of their rows — and which columns."""
    out: dict[tuple[str, str, str], list[str]] = {}
    for kind, fields in rule.columns.items():
        table = ctx.dataset.tables.get(kind)
        if table is None:
            continue
        for index, source in enumerate(ctx.dataset.sources):
            if source.kind != kind:
                continue
            absent = [
                f for f in fields if f not in source.headers and f not in source.derived and f in table.data
            ]
            if absent:
                rows = (table.data[SOURCE_COLUMN] == index).to_numpy(dtype=bool)
                absent = [f for f in absent if rows.any() and table.data[f][rows].isna().all()]
            if absent:
                out.setdefault((kind, source.file, source.sheet), []).extend(absent)
    return out


@contextmanager
def _alongside(work: Callable[[], object] | None) -> Iterator[None]:
    """`work()` on a thread while the block runs (the block ends once both are done)."""
    thread = _quietly_started(work) if work is not None else None
    try:
        yield
    finally:
        if thread is not None:
            thread.join()


def _quietly_started(work: Callable[[], object]) -> threading.Thread | None:
    """`work()` begun on a thread of its own, what it raises dropped (asked for again later, and met
    there); None when no thread is to be had (a process or thread limit): the work is asked for later."""

    def quietly() -> None:
        with suppress(Exception):
            work()

    thread = threading.Thread(target=quietly, name="fupin-audit-meanwhile")
    try:
        thread.start()
    except RuntimeError:
        return None
    return thread


def _in_turn(
    one: Callable[[Rule], R], rules: list[Rule], workers: int, drained: Callable[[], None] | None = None
) -> list[R]:
    """``[one(rule) for rule in rules]`` on `workers` threads, which take the rules in order. A rule
    that asks for a shared fact another thread is computing is put back (FactBusy) while some other
    rule can go ahead, and run again once the fact is there: both cores keep working instead of one
    waiting a quarter of a second for the ID analysis at 100,000 households. With nothing else
    to do, a thread waits for the fact as before. `drained()` is called once, by the first thread
    that finds no rule left to begin (the others may still be running theirs)."""
    if workers <= 1:
        return [one(rule) for rule in rules]
    queue = deque(range(len(rules)))
    waits_for: dict[int, tuple[AuditContext, str]] = {}  # a rule put back → the fact it waits for
    results: dict[int, R] = {}
    errors: dict[int, BaseException] = {}
    turn = threading.Lock()

    def ready(i: int) -> bool:
        fact = waits_for.get(i)
        return fact is None or not fact[0].busy(fact[1])

    def may_defer(context: AuditContext, key: str) -> bool:
        with turn:
            return any(ready(i) for i in queue)

    def take() -> int | None:
        with turn:
            if errors or not queue:
                return None
            i = next((i for i in queue if ready(i)), queue[0])
            queue.remove(i)
            waits_for.pop(i, None)
            return i

    told: list[bool] = []  # `drained` was called

    def work() -> None:
        MAY_DEFER.set(may_defer)
        while (i := take()) is not None:
            try:
                results[i] = one(rules[i])
            except FactBusy as busy:
                with turn:
                    queue.append(i)
                    waits_for[i] = (busy.context, busy.key)
            except BaseException as exc:  # a configuration error: the run stops, as without threads
                with turn:
                    errors[i] = exc
        with turn:  # the first thread out of rules says so, once
            tell = drained is not None and not told and not errors
            told.append(True)
        if tell:
            drained()

    threads = [threading.Thread(target=work, name=f"fupin-audit-rules-{n}") for n in range(workers)]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    except BaseException:  # Ctrl-C: the threads finish the rules they are running and start no other
        with turn:
            queue.clear()
        raise
    if errors:
        raise errors[min(errors)]
    return [results[i] for i in range(len(rules))]


def _check_needs(ctx: AuditContext, rule: Rule) -> None:
    for kind in rule.needs:
        ctx.table(kind, *rule.columns.get(kind, ()))
    if rule.previous:
        if ctx.previous is None:
            raise SkipRule(NO_PREVIOUS)
        for kind in rule.previous:
            if kind not in ctx.previous.dataset.tables:
                raise SkipRule(f"上一期数据缺少 {kind} 表")


def merge_outcomes(rules: list[Rule], parts: Iterable[list[RuleOutcome]]) -> list[RuleOutcome]:
    """One outcome per rule in rule order from the outcomes of several parts of a run (the Dask
    engine's partitions and buckets): ran if it ran anywhere, failed if it failed anywhere."""
    by_code: dict[str, list[RuleOutcome]] = {}
    for outcomes in parts:
        for outcome in outcomes:
            by_code.setdefault(outcome.code, []).append(outcome)
    merged = []
    for r in rules:
        seen = by_code.get(r.code, [])
        if not seen:
            continue
        failed = [o for o in seen if o.status == "failed"]
        ran = [o for o in seen if o.status == "ran"]
        if failed:
            merged.append(replace(failed[0], seconds=sum(o.seconds for o in seen)))
        elif ran:
            count = sum(o.findings for o in ran)
            merged.append(RuleOutcome(r.code, "ran", count, sum(o.seconds for o in seen)))
        else:
            merged.append(seen[0])
    return merged
