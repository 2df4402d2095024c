"""The installed command line: exit codes, streams, formats, and one-line errors."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from conftest import household, make_id, member, write_xlsx

from fupin_audit.findings import FINDING_COLUMNS


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def clean_members() -> list[dict]:
    return [
        member(),
        member(姓名="李秀英", 性别="女", 与户主关系="配偶", 证件号码=make_id(birth="19720202", seq=222)),
    ]


@pytest.fixture
def clean_book(tmp_path: Path) -> Path:
    return write_xlsx(tmp_path / "clean.xlsx", {"户信息": [household()], "家庭成员": clean_members()})


@pytest.fixture
def bad_book(tmp_path: Path) -> Path:
    rows = clean_members()
    rows[1]["证件号码"] = rows[1]["证件号码"][:-1] + ("0" if rows[1]["证件号码"][-1] != "0" else "1")
    return write_xlsx(tmp_path / "bad.xlsx", {"户信息": [household()], "家庭成员": rows})


def test_help_and_module_entry():
    result = cli("--help")
    assert result.returncode == 0
    assert "check" in result.stdout and "explain" in result.stdout


def test_exit_code_zero_when_clean(clean_book):
    result = cli("check", str(clean_book), "--select", "DQ0,DQ01", "--format", "csv")
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(io.StringIO(result.stdout), dtype=str)
    assert list(frame.columns) == list(FINDING_COLUMNS)
    assert frame.empty


def test_exit_code_one_with_error_and_fail_on(bad_book):
    result = cli("check", str(bad_book), "--select", "DQ011", "--format", "jsonl")
    assert result.returncode == 1
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["rule"] for r in records] == ["DQ011"]
    assert records[0]["row"] == 3 and records[0]["sheet"] == "家庭成员" and records[0]["column"] == "证件号码"
    downgraded = cli("check", str(bad_book), "--select", "DQ011", "--severity", "DQ011=warning", "-f", "csv")
    assert downgraded.returncode == 0
    strict = cli(
        "check", str(bad_book), "--select", "DQ011", "--severity", "DQ011=warning", "--fail-on", "warning"
    )
    assert strict.returncode == 1


def test_report_on_stdout_diagnostics_on_stderr(tmp_path, clean_book):
    junk = tmp_path / "other.xlsx"
    write_xlsx(junk, {"其他": [{"甲": 1, "乙": 2}]})  # a table whose header is not known
    result = cli("check", str(clean_book), str(junk), "--format", "json", "--select", "DQ011")
    assert result.returncode == 2  # a sheet could not be used
    assert "其他" in result.stderr and "表头" in result.stderr
    document = json.loads(result.stdout)
    assert document["summary"]["exit_code"] == 2
    assert document["summary"]["tables"] == {"households": 1, "members": 2}
    kept = cli("check", str(clean_book), str(junk), "--keep-going", "--select", "DQ011", "-f", "csv")
    assert kept.returncode == 0


def test_output_file_format_from_suffix(tmp_path, bad_book):
    out = tmp_path / "findings.jsonl"
    result = cli("check", str(bad_book), "--select", "DQ011", "--output", str(out))
    assert result.returncode == 1
    assert result.stdout == ""
    assert json.loads(out.read_text("utf-8").splitlines()[0])["rule"] == "DQ011"
    assert not list(tmp_path.glob(".*.part"))


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--select", "ZZ9"], "ZZ9"),
        (["--severity", "DQ011=fatal"], "DQ011=fatal"),
        (["--table", "nonsense=x.xlsx"], "--table"),
    ],
)
def test_bad_options_are_one_line_exit_2(bad_book, args, needle):
    result = cli("check", str(bad_book), *args)
    assert result.returncode == 2
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_config_key_names_the_key(tmp_path, bad_book):
    config = tmp_path / "bad.toml"
    config.write_text("relapse_risk_lin = 6000\n", "utf-8")
    result = cli("check", str(bad_book), "--config", str(config))
    assert result.returncode == 2
    assert "relapse_risk_lin" in result.stderr and "Traceback" not in result.stderr


def test_unreadable_file_is_exit_2(tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a workbook")
    result = cli("check", str(broken))
    assert result.returncode == 2
    assert "broken.xlsx" in result.stderr and "Traceback" not in result.stderr


def test_rules_explain_schema_policy():
    listing = cli("rules")
    assert listing.returncode == 0
    for code in ("DQ001", "DQ011", "DQ018", "DQ036"):
        assert code in listing.stdout
    explained = cli("explain", "dq011")
    assert explained.returncode == 0 and "10X98765432" in explained.stdout and "政策依据" in explained.stdout
    assert cli("explain", "DQ999").returncode == 2
    schema = cli("schema", "members")
    assert "身份证号码" in schema.stdout and "之兄弟媳妇" in schema.stdout
    policy = cli("policy")
    values = tomllib.loads(policy.stdout)
    assert values["poverty_line"]["2016"] == 2952 and "2017" not in values["poverty_line"]
    assert values["relapse_risk_line"] == 5000
    # Every value with its confidence and source, as comments of the TOML.
    assert "2016 = 2952  # 已核实 · 国家统计局农村贫困标准" in policy.stdout
    assert "2019 = 3218  # 未核实 · " in policy.stdout
    assert "# 2017 = …  没有内置值" in policy.stdout


def test_policy_round_trip_as_config(tmp_path, clean_book):
    config = tmp_path / "policy.toml"
    config.write_text(cli("policy").stdout, "utf-8")
    assert (
        cli("check", str(clean_book), "--config", str(config), "--select", "DQ0", "-f", "csv").returncode == 0
    )
    edited = cli("policy", "--config", str(Path(__file__).parents[1] / "rules" / "province_override.toml"))
    assert tomllib.loads(edited.stdout)["notice_min_days"] == 5
