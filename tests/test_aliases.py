"""Rule aliases: a renamed rule keeps its former code (RULES.md), accepted wherever a code is.

A third-party pack is written twice: before the rename (XD001) and after it (XE002, alias XD001).
Everything a user wrote with the old code — command lines, config files, waivers, baselines —
must keep meaning the same rule, and the findings carry the new code.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import household, make_id, member, write_xlsx

from fupin_audit.audit import choose_rules
from fupin_audit.engine.registry import default_registry
from fupin_audit.errors import ConfigError

PACK = """
from pydantic import Field

from fupin_audit.engine.rule import RuleParams, rule


class LongWorkParams(RuleParams):
    min_months: int = Field(10, description="务工月数达到该值（含）即提示")


@rule(
    "{code}",
    "务工月数长",
    family="自定义",
    severity="warning",
    needs=("members",),
    columns={{"members": ("务工时间",)}},
    params=LongWorkParams,
    what="务工时间不少于 min_months 个月的成员。",
    why="测试用规则。",
    example="务工 11 个月 → {code}。",
    {aliases}
)
def long_work(ctx, params):
    months = ctx.frame("members", "务工时间")["务工时间"]
    hit = (months >= params.min_months).fillna(False)
    return ctx.flag("members", hit, "务工 " + months[hit].astype(int).astype(str) + f" 个月（≥ {{params.min_months}}）", column="务工时间")


@rule("XD002", "另一条规则", family="自定义", severity="info", needs=("members",), what="x", why="y",
      example="z")
def other(ctx, params):
    return None
"""


def pack(tmp_path: Path, *, renamed: bool) -> Path:
    """The plug-in before the rename (XD001) or after it (XE002, former code XD001)."""
    text = (
        PACK.format(code="XE002", aliases='aliases=("XD001",),')
        if renamed
        else PACK.format(code="XD001", aliases="")
    )
    path = tmp_path / ("renamed" if renamed else "original") / "pack.py"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", *args], capture_output=True, text=True, timeout=120
    )


def book(tmp_path: Path, months: dict[str, int], name: str = "in.xlsx") -> Path:
    """One member per household; 务工时间 per household id."""
    households = [household(hid) for hid in months]
    members = [
        member(hid, 务工时间=m, 证件号码=make_id(birth="19800101", seq=100 + i))
        for i, (hid, m) in enumerate(months.items())
    ]
    return write_xlsx(tmp_path / name, {"户信息": households, "家庭成员": members})


MONTHS = {"H1": 6, "H2": 11, "H3": 12}


def findings(result: subprocess.CompletedProcess[str]) -> pd.DataFrame:
    assert result.returncode in (0, 1), result.stderr
    return pd.read_csv(io.StringIO(result.stdout), dtype=str, keep_default_na=False)


def check(tmp_path: Path, *args: str, months: dict[str, int] = MONTHS) -> subprocess.CompletedProcess[str]:
    source = book(tmp_path, months)
    return cli("check", str(source), "--rules", str(pack(tmp_path, renamed=True)), "-f", "csv", *args)


def test_select_by_former_code_reports_the_new_code(tmp_path):
    frame = findings(check(tmp_path, "--select", "XD001"))
    assert frame["rule"].tolist() == ["XE002", "XE002"]
    assert frame["household_id"].tolist() == ["H2", "H3"]
    # the new code selects the same rule; a code that never existed is still refused
    assert findings(check(tmp_path, "--select", "xe002"))["household_id"].tolist() == ["H2", "H3"]
    refused = check(tmp_path, "--select", "XD003")
    assert refused.returncode == 2 and "XD003" in refused.stderr


def test_prefix_and_ignore_by_former_code(tmp_path):
    from fupin_audit.audit import choose_rules as choose

    registry = default_registry([pack(tmp_path, renamed=True)])
    # a saved command line "--select XD0" chose XD001 and XD002 before the rename, and still does
    _, chosen, _ = choose(None, ["XD0"], [], [], registry)
    assert [r.code for r in chosen] == ["XD002", "XE002"]
    _, chosen, _ = choose(None, ["XD0"], ["XD001"], [], registry)
    assert [r.code for r in chosen] == ["XD002"]
    _, chosen, _ = choose(None, ["XE"], [], [], registry)
    assert [r.code for r in chosen] == ["XE002"]
    assert findings(check(tmp_path, "--select", "XD,XE", "--ignore", "XD001")).empty


def test_severity_option_by_former_code(tmp_path):
    plain = check(tmp_path, "--select", "XE002")
    assert plain.returncode == 0 and set(findings(plain)["severity"]) == {"warning"}
    raised = check(tmp_path, "--select", "XE002", "--severity", "XD001=error")
    assert raised.returncode == 1
    assert set(findings(raised)["severity"]) == {"error"}
    assert set(findings(raised)["rule"]) == {"XE002"}


def test_config_sections_by_former_code(tmp_path):
    config = tmp_path / "county.toml"
    config.write_text('[rules.XD001]\nmin_months = 12\n\n[severity]\nXD001 = "error"\n', "utf-8")
    result = check(tmp_path, "--select", "XE002", "--config", str(config))
    assert result.returncode == 1
    frame = findings(result)
    assert frame["household_id"].tolist() == ["H3"]  # 11 months no longer reach min_months = 12
    assert frame["severity"].tolist() == ["error"]
    assert "≥ 12" in frame["message"].iloc[0]


def test_config_naming_a_rule_twice_or_an_unknown_code_is_refused(tmp_path):
    twice = tmp_path / "twice.toml"
    twice.write_text("[rules.XD001]\nmin_months = 12\n\n[rules.XE002]\nmin_months = 11\n", "utf-8")
    result = check(tmp_path, "--select", "XE002", "--config", str(twice))
    assert result.returncode == 2
    assert "[rules.XD001] 与 [rules.XE002] 是同一条规则 XE002" in result.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[severity]\nXD009 = "info"\n', "utf-8")
    result = check(tmp_path, "--select", "XE002", "--config", str(unknown))
    assert result.returncode == 2
    assert "[severity] XD009：没有这条规则" in result.stderr


def test_waiver_written_with_the_former_code(tmp_path):
    waivers = tmp_path / "waivers.csv"
    waivers.write_text(
        "rule,key,reason,approved_by,expires\n"
        "XD001,H2,长期外出务工已核实,王科长,2099-12-31\n"
        "XD001,H1,此户没有问题,王科长,2099-12-31\n",
        "utf-8",
    )
    summary = tmp_path / "summary.json"
    result = check(tmp_path, "--select", "XE002", "--waivers", str(waivers), "--summary-json", str(summary))
    frame = findings(result)
    assert frame["household_id"].tolist() == ["H3"]  # H2 waived under the old code
    waived = json.loads(summary.read_text("utf-8"))["waivers"]
    assert [(w["rule"], w["household_id"]) for w in waived["waived_findings"]] == [("XE002", "H2")]
    assert [w["key"] for w in waived["unmatched"]] == ["H1"]  # near miss: H1 has no finding
    assert "第 3 条豁免没有匹配任何问题" in result.stderr


def test_baseline_written_before_the_rename_still_matches(tmp_path):
    source = book(tmp_path, MONTHS)
    baseline = tmp_path / "baseline.json"
    before = cli(
        "check", str(source), "--rules", str(pack(tmp_path, renamed=False)), "--select", "XD001",
        "--write-baseline", str(baseline), "-f", "csv",
    )  # fmt: skip
    assert findings(before)["rule"].tolist() == ["XD001", "XD001"]
    assert all(
        item["key"].startswith("XD001|") for item in json.loads(baseline.read_text("utf-8"))["findings"]
    )
    # after the rename, with one household newly over the limit: only that one is new
    later = book(tmp_path, {**MONTHS, "H4": 10}, name="later.xlsx")
    summary = tmp_path / "summary.json"
    after = cli(
        "check", str(later), "--rules", str(pack(tmp_path, renamed=True)), "--select", "XD001",
        "--baseline", str(baseline), "--summary-json", str(summary), "-f", "csv",
    )  # fmt: skip
    frame = findings(after)
    assert frame["rule"].tolist() == ["XE002"]
    assert frame["household_id"].tolist() == ["H4"]
    stats = json.loads(summary.read_text("utf-8"))["baseline"]
    assert (stats["known"], stats["new"], stats["gone"]) == (2, 1, 0)


def test_explain_and_rules_listing_show_the_former_code(tmp_path):
    plugin = str(pack(tmp_path, renamed=True))
    old = cli("explain", "xd001", "--rules", plugin)
    assert old.returncode == 0, old.stderr
    assert old.stdout.startswith("XD001 是 XE002 的别名")
    assert "XE002  务工月数长" in old.stdout
    new = cli("explain", "XE002", "--rules", plugin)
    assert "的别名" not in new.stdout.splitlines()[0]
    assert "旧编号（别名）：XD001" in new.stdout
    listing = cli("rules", "--rules", plugin)
    assert listing.returncode == 0, listing.stderr
    assert "旧编号" in listing.stdout.splitlines()[2]  # the header row
    row = next(line for line in listing.stdout.splitlines() if "XE002" in line)
    assert "XD001" in row
    assert "旧编号" not in cli("rules").stdout  # no column when no rule was renamed


def _module(tmp_path: Path, name: str, code: str, aliases: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(
        "from fupin_audit.engine.rule import rule\n"
        f"@rule('{code}', '规则', family='自定义', severity='info', needs=(), what='x', why='y', "
        f"example='z', aliases={aliases})\n"
        "def check(ctx, params):\n    return None\n",
        "utf-8",
    )
    return path


def test_aliases_that_clash_are_refused(tmp_path):
    renamed = pack(tmp_path, renamed=True)
    with pytest.raises(ConfigError, match="DQ011 重复"):  # a built-in code
        default_registry([_module(tmp_path, "a", "XF001", "('DQ011',)")])
    with pytest.raises(ConfigError, match=r"XD001 重复.*XE002 的别名"):  # another rule's alias
        default_registry([renamed, _module(tmp_path, "b", "XF001", "('XD001',)")])
    with pytest.raises(ConfigError, match="XD002 重复"):  # another rule's code
        default_registry([renamed, _module(tmp_path, "c", "XF001", "('XD002',)")])
    with pytest.raises(ConfigError, match=r"XD005 重复.*XE003 的别名"):  # a new code that is an alias
        default_registry(
            [_module(tmp_path, "d", "XE003", "('XD005',)"), _module(tmp_path, "e", "XD005", "()")]
        )
    with pytest.raises(ConfigError, match="与规则自己的编号相同"):
        default_registry([_module(tmp_path, "g", "XF001", "('xf001',)")])
    with pytest.raises(ConfigError, match="aliases 须为编号的元组"):
        default_registry([_module(tmp_path, "h", "XF001", "'XD001'")])
    # the near miss: distinct aliases load, and the registry answers for them
    registry = default_registry([renamed, _module(tmp_path, "ok", "XF001", "('XD007', 'XD008')")])
    assert registry.get("xd008").code == "XF001"
    assert registry.alias_of("XD001") == "XE002" and registry.alias_of("XE002") is None
    assert "XD007" in registry and "XD009" not in registry
    assert len(registry) == len(list(registry)) == len({r.code for r in registry})  # aliases are no rules


def test_declarative_rule_declares_aliases(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[rule]]\ncode = "XG002"\ntitle = "务工满年"\ntable = "members"\nwhen = "务工时间 >= 12"\n'
        'aliases = ["XG001"]\n',
        "utf-8",
    )
    source = book(tmp_path, MONTHS)
    frame = findings(cli("check", str(source), "--rules", str(rules), "--select", "XG001", "-f", "csv"))
    assert frame["rule"].tolist() == ["XG002"]
    assert frame["household_id"].tolist() == ["H3"]
    clash = tmp_path / "clash.toml"
    clash.write_text(
        '[[rule]]\ncode = "XG002"\ntitle = "t"\ntable = "members"\nwhen = "务工时间 >= 12"\n'
        'aliases = ["DQ011"]\n',
        "utf-8",
    )
    with pytest.raises(ConfigError, match="DQ011 重复"):
        default_registry([clash])


def test_choose_rules_rekeys_config_by_current_code(tmp_path):
    """What every engine (pandas and dask) is given: settings keyed by the rule's current code."""
    config = tmp_path / "c.toml"
    config.write_text('[rules.xd001]\nmin_months = 3\n\n[severity]\nXD001 = "info"\n', "utf-8")
    registry = default_registry([pack(tmp_path, renamed=True)])
    settings, _, overrides = choose_rules(config, [], [], ["XD001=error"], registry)
    assert settings.rule_params == {"XE002": {"min_months": 3}}
    assert settings.severity == {"XE002": "info"}
    assert overrides == {"XE002": "error"}  # the command line wins over the config
