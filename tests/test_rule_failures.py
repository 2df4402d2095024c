"""A rule that raises (a bug) is reported and the others still run; --debug prints where it broke."""

from __future__ import annotations

import subprocess
import sys

from conftest import household, write_xlsx

BROKEN = """
from fupin_audit.engine.rule import rule


def _divide(households):
    return households["人均纯收入"].sum() / 0 + {}["没有这一列"]


@rule("XB001", "坏规则", family="自定义", severity="warning", needs=("households",),
      what="总是出错", why="测试", example="任何户 → 出错")
def broken(ctx, params):
    return _divide(ctx.frame("households"))
"""


def _check(tmp_path, *extra):
    rules = tmp_path / "broken_rules.py"
    rules.write_text(BROKEN, encoding="utf-8")
    data = write_xlsx(tmp_path / "in.xlsx", {"户信息": [household("H1", 脱贫状态="已脱贫", 人均纯收入=3000)]})
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", "check", str(data), "--year", "2017", "--rules", str(rules),
         "--select", "XB001,IN001", "--format", "jsonl", *extra],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_failing_rule_is_one_line_without_debug(tmp_path):
    result = _check(tmp_path)
    assert "规则 XB001 运行出错：KeyError: '没有这一列'（加 --debug 查看调用栈）" in result.stderr
    assert "Traceback" not in result.stderr
    assert '"rule":"IN001"' in result.stdout.replace(" ", "")  # the other rule still ran


def test_debug_prints_the_traceback_of_a_failing_rule(tmp_path):
    result = _check(tmp_path, "--debug")
    err = result.stderr
    assert "规则 XB001 运行出错：KeyError: '没有这一列'" in err
    assert "Traceback (most recent call last)" in err
    # the stack reaches the rule's own file and the line that raised
    assert "broken_rules.py" in err and "in _divide" in err
    assert '{}["没有这一列"]' in err
