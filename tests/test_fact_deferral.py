"""Rules on threads: a rule that asks for a shared fact another thread is computing is put back, and
the thread runs another rule meanwhile (engine.context.FactBusy, engine.runner._in_turn)."""

from __future__ import annotations

import threading
import time

import pytest

from fupin_audit.audit import Settings
from fupin_audit.engine import runner
from fupin_audit.engine.context import CURRENT_RULE, MAY_DEFER, AuditContext, FactBusy
from fupin_audit.engine.rule import rule
from fupin_audit.errors import ConfigError
from fupin_audit.load import load
from fupin_audit.sample import generate, write_parquet

SLOW = 0.6  # seconds the slow fact takes: far longer than the other rules' work


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return load(write_parquet(generate(60, seed=3, year=2017), tmp_path_factory.mktemp("county")))


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "2")
    monkeypatch.setattr("fupin_audit.workers.THREADS_MIN_ROWS", 0)


def _context(dataset) -> AuditContext:
    return AuditContext(dataset, Settings.from_file(None).policy, None)


def _rule(code: str, check):
    return rule(code, code, severity="info", needs=("households",), what="t", why="t", example="t")(check)


class Log:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, float]] = []
        self.computed = 0
        self.computer = ""  # the rule whose thread computed the slow fact
        self.lock = threading.Lock()

    def add(self, what: str, code: str) -> None:
        with self.lock:
            self.events.append((what, code, time.perf_counter()))

    def at(self, what: str, code: str) -> float:
        return next(t for w, c, t in self.events if w == what and c == code)


def _rules(log: Log, quick: int = 4):
    def slow_fact(ctx):
        def compute():
            log.computed += 1
            log.computer = CURRENT_RULE.get()
            time.sleep(SLOW)  # releases the GIL, as arrow work does
            return 42

        return ctx.cached("test.slow", compute)

    def needing(code):
        def check(ctx, params):
            log.add("start", code)
            try:
                # a rule's own broad except must not swallow the put-back
                value = slow_fact(ctx)
            except Exception:
                raise AssertionError("FactBusy must pass through `except Exception`") from None
            log.add("end", code)
            assert value == 42
            return None

        return _rule(code, check)

    def quick_rule(code):
        def check(ctx, params):
            log.add("start", code)
            time.sleep(0.02)
            log.add("end", code)
            return None

        return _rule(code, check)

    return [needing("DQ901"), needing("DQ902"), *(quick_rule(f"DQ91{i}") for i in range(quick))]


def test_a_thread_runs_other_rules_while_a_fact_is_computed(dataset, two_threads):
    log = Log()
    rules = _rules(log)
    result = runner.run_rules(_context(dataset), rules)
    assert log.computed == 1
    assert [o.code for o in result.outcomes] == [r.code for r in rules]  # rule order, whatever ran first
    assert all(o.status == "ran" for o in result.outcomes), result.outcomes
    # The other rule needing the fact was put back: its thread ran the quick rules instead of waiting,
    other = ({"DQ901", "DQ902"} - {log.computer}).pop()
    fact_done = log.at("end", log.computer)
    assert all(log.at("end", f"DQ91{i}") < fact_done for i in range(4))
    # and was tried again when nothing else was left (then it waited for the fact).
    starts = [t for w, c, t in log.events if w == "start" and c == other]
    assert len(starts) == 2 and starts[-1] >= max(log.at("end", f"DQ91{i}") for i in range(4))
    assert log.at("end", other) >= fact_done
    seconds = {o.code: o.seconds for o in result.outcomes}
    assert seconds[log.computer] >= SLOW * 0.9


def test_with_nothing_else_to_do_a_thread_waits_for_the_fact(dataset, two_threads):
    log = Log()
    rules = _rules(log, quick=0)
    result = runner.run_rules(_context(dataset), rules)
    assert log.computed == 1
    assert all(o.status == "ran" for o in result.outcomes)
    # no other rule could go ahead: each started once, the second waited instead of being put back
    assert sorted(c for w, c, _ in log.events if w == "start") == ["DQ901", "DQ902"]


def test_one_thread_never_puts_a_rule_back(dataset, monkeypatch):
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "1")
    log = Log()
    rules = _rules(log)
    result = runner.run_rules(_context(dataset), rules)
    assert all(o.status == "ran" for o in result.outcomes)
    assert [c for w, c, _ in log.events if w == "start"] == [r.code for r in rules]


def test_cached_raises_only_when_allowed_and_only_for_a_rule_s_own_ask(dataset):
    ctx = _context(dataset)
    started, release = threading.Event(), threading.Event()

    def blocking():
        started.set()
        release.wait(5)
        return "fact"

    other = threading.Thread(target=ctx.cached, args=("busy", blocking))
    other.start()
    started.wait(5)
    try:
        assert ctx.busy("busy")
        token = MAY_DEFER.set(lambda context, key: True)
        try:
            with pytest.raises(FactBusy) as raised:
                ctx.cached("busy", lambda: "never computed here")
            assert raised.value.key == "busy" and raised.value.context is ctx
            # inside a fact being computed the ask waits: abandoning the outer fact would waste it
            waited = []

            def outer():
                release.set()
                waited.append(ctx.cached("busy", lambda: "never"))
                return "outer"

            assert ctx.cached("outer", outer) == "outer"
            assert waited == ["fact"]
        finally:
            MAY_DEFER.reset(token)
    finally:
        release.set()
        other.join()
    assert not ctx.busy("busy")


def test_a_configuration_error_still_stops_the_run(dataset, two_threads):
    def broken(ctx, params):
        raise ConfigError("配置有误")

    def fine(ctx, params):
        return None

    rules = [_rule("DQ931", fine), _rule("DQ932", broken), _rule("DQ933", fine)]
    with pytest.raises(ConfigError, match="配置有误"):
        runner.run_rules(_context(dataset), rules)


def test_a_rule_put_back_does_not_count_its_unjudged_rows_twice(dataset, two_threads):
    """A rule records rows left unjudged (a missing policy value), then asks for a fact another thread
    is computing and is put back: its second try records them again, and the diagnostic must give
    them once. Rows a shared fact recorded stay, once: the fact is not computed again."""
    ctx = _context(dataset)
    started = threading.Event()

    def slow(ctx, params):
        def compute():
            started.set()
            time.sleep(SLOW)
            return 1

        ctx.cached("test.slow", compute)

    def gap_then_slow(ctx, params):
        started.wait(5)
        ctx.policy_gap("poverty_line", 2017, "34", "households", 7, "2017 年 安徽省 没有贫困线")
        ctx.cached("test.slow", lambda: 1)

    def fact_gap_then_slow(ctx, params):
        started.wait(5)

        def compute():
            ctx.policy_gap("poverty_line", 2018, "34", "households", 5, "2018 年 安徽省 没有贫困线")
            return 2

        ctx.cached("test.gapping", compute)
        ctx.cached("test.slow", lambda: 1)

    def quick(ctx, params):
        time.sleep(0.05)

    rules = [
        _rule("DQ941", slow),
        _rule("DQ942", gap_then_slow),
        _rule("DQ943", fact_gap_then_slow),
        *(_rule(f"DQ95{i}", quick) for i in range(4)),
    ]
    result = runner.run_rules(ctx, rules)
    messages = sorted(d.message for d in result.diagnostics)
    assert messages == [
        "DQ942（7 户）：2017 年 安徽省 没有贫困线",
        "DQ943（5 户）：2018 年 安徽省 没有贫困线",
    ]


def test_ctrl_c_stops_the_rules_not_yet_begun(dataset, two_threads):
    """An interrupt in the main thread while the rules run: the threads finish the rules they are
    running and begin no other (a province-sized run must not go on for minutes after Ctrl-C)."""
    import os
    import signal

    began: list[str] = []

    def first(ctx, params):
        began.append("DQ960")
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # a real signal: it wakes the main thread's join
        time.sleep(0.1)

    def later(code):
        def check(ctx, params):
            began.append(code)
            time.sleep(0.1)

        return _rule(code, check)

    rules = [_rule("DQ960", first), *(later(f"DQ97{i}") for i in range(10))]
    with pytest.raises(KeyboardInterrupt):
        runner.run_rules(_context(dataset), rules)
    time.sleep(0.5)  # the running rules end; no other may begin
    assert len(began) <= 3, began


def _timed_rule(code: str, log: Log, seconds: float):
    def check(ctx, params):
        log.add("start", code)
        time.sleep(seconds)
        log.add("end", code)

    return _rule(code, check)


def test_the_meanwhile_work_begins_when_no_rule_is_left_to_begin(dataset, two_threads):
    """The summary's early work (`meanwhile`) starts on the thread that runs out of rules, while the
    other thread still runs the last one — not after every rule has ended."""
    log = Log()
    rules = [_timed_rule("DQ931", log, SLOW), _timed_rule("DQ932", log, 0.01)]
    result = runner.run_rules(_context(dataset), rules, meanwhile=lambda: log.add("start", "meanwhile"))
    assert [o.status for o in result.outcomes] == ["ran", "ran"]
    assert log.at("end", "DQ932") <= log.at("start", "meanwhile") < log.at("end", "DQ931")


def test_one_thread_does_the_meanwhile_work_after_the_rules(dataset, monkeypatch):
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "1")
    log = Log()
    rules = [_timed_rule("DQ931", log, 0.05), _timed_rule("DQ932", log, 0.01)]
    runner.run_rules(_context(dataset), rules, meanwhile=lambda: log.add("start", "meanwhile"))
    assert log.at("start", "meanwhile") >= log.at("end", "DQ932")


def test_meanwhile_work_that_fails_does_not_fail_the_run(dataset, two_threads):
    def broken() -> None:
        raise RuntimeError("boom")

    log = Log()
    rules = [_timed_rule("DQ931", log, 0.05), _timed_rule("DQ932", log, 0.01)]
    result = runner.run_rules(_context(dataset), rules, meanwhile=broken)
    assert [o.status for o in result.outcomes] == ["ran", "ran"]


def test_a_storm_s_meanwhile_work_waits_for_the_rules(dataset, two_threads, monkeypatch):
    """Holding more findings than EARLY_MEANWHILE_FINDINGS, the run keeps the early work for after
    the rules (their shared facts are let go first): a storm's peak memory is not raised."""
    monkeypatch.setattr(runner, "EARLY_MEANWHILE_FINDINGS", 0)
    log = Log()

    def flagging(code: str, seconds: float):
        def check(ctx, params):
            log.add("start", code)
            time.sleep(seconds)
            log.add("end", code)
            return ctx.flag("households", ctx.frame("households").index[:1], "m")

        return _rule(code, check)

    rules = [flagging("DQ931", SLOW), flagging("DQ932", 0.01)]
    runner.run_rules(_context(dataset), rules, meanwhile=lambda: log.add("start", "meanwhile"))
    assert log.at("start", "meanwhile") >= log.at("end", "DQ931")
