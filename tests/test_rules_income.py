"""IN001–IN004 (收入与返贫风险) through real xlsx files: flagged records, near misses, config, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import check_tables, household, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.registry import default_registry


def found(findings, code):
    part = findings[findings["rule"] == code]
    return part.sort_values(["table", "row"]).reset_index(drop=True)


def rows(findings, code):
    return sorted(int(r) for r in found(findings, code)["row"])


def hit(findings, code, row):
    part = found(findings, code)
    hits = part[part["row"] == row]
    assert len(hits) == 1, hits
    return hits.iloc[0]


def message(findings, code, row):
    return hit(findings, code, row)["message"]


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


def exited(hid, income, year=2016, **values):
    return household(hid, 脱贫状态="已脱贫", 脱贫年度=year, 人均纯收入=income, **values)


def test_rules_are_registered_with_documentation():
    registry = default_registry()
    for code, severity in {
        "IN001": "warning",
        "IN002": "warning",
        "IN003": "info",
        "IN004": "warning",
    }.items():
        item = registry.get(code)
        assert item.severity == severity, code
        assert item.family == "收入与返贫风险"
        assert item.what and item.why and item.example and item.title
        assert registry.origin(code) == "fupin_audit.rules.income"


# ------------------------------------------------------------------------------------ IN001


def test_in001_exited_below_the_relapse_risk_line(tmp_path):
    findings = check_tables(
        tmp_path,
        ["IN001"],
        households=[
            exited("H1", 4999.99),  # 2
            exited("H2", 5000),  # 3: exactly the line: “5000元以下” includes 5000
            household("H3", 人均纯收入=1000),  # 4: poor
            household("H4", 脱贫状态="已脱贫(享受政策)", 脱贫年度=2016, 人均纯收入=3000),  # 5
            household("H5", 脱贫状态="已脱贫(不再享受政策)", 脱贫年度=2016, 人均纯收入=None),  # 6: unknown
            exited("H6", 5000.01),  # 7: a cent above the line
        ],
    )
    assert rows(findings, "IN001") == [2, 3, 5]
    assert (
        message(findings, "IN001", 2)
        == "已脱贫户人均纯收入 4999.99 元不高于返贫风险线 5000 元（参数 relapse_risk_line，默认值）"
    )
    assert message(findings, "IN001", 3).startswith("已脱贫户人均纯收入 5000.00 元不高于返贫风险线 5000 元")
    assert hit(findings, "IN001", 2)["column"] == "人均纯收入"
    assert hit(findings, "IN001", 2)["value"] == "4999.99"
    assert hit(findings, "IN001", 2)["severity"] == "warning"


def test_in001_line_from_a_config_file_names_the_file(tmp_path):
    config = tmp_path / "province.toml"
    config.write_text("relapse_risk_line = 6000\n", encoding="utf-8")
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [exited("H1", 5000), exited("H2", 6000.01)]})
    findings = audit([str(path)], year=2017, select=["IN001"], config=config).findings
    assert rows(findings, "IN001") == [2]
    assert (
        message(findings, "IN001", 2)
        == "已脱贫户人均纯收入 5000.00 元不高于返贫风险线 6000 元（参数 relapse_risk_line，province.toml）"
    )


# ------------------------------------------------------------------------------------ IN002


def test_in002_just_above_the_line(tmp_path):
    config = tmp_path / "anhui.toml"  # 安徽's own lines: there is no built-in 2017 line
    config.write_text('[province."安徽".poverty_line]\n2016 = 3146\n2017 = 3335\n', encoding="utf-8")
    findings = check_tables(
        tmp_path,
        ["IN002"],
        config=config,
        households=[
            exited("H1", 3501.75, 2017),  # 2: 3335 × 1.05 exactly
            exited("H2", 3501.76, 2017),  # 3
            exited("H3", 3335, 2017),  # 4: at the line → LG401
            exited("H4", 3335.01, 2017),  # 5
            exited("H5", 3400, 2015),  # 6: the data year's line judges, not the exit year's
            household("H6", 人均纯收入=3400),  # 7: poor
            exited("H7", 3303.30, 2016),  # 8: just above 2016's band, below 2017's line → not IN002
        ],
    )
    assert rows(findings, "IN002") == [2, 5, 6]
    assert message(findings, "IN002", 2) == (
        "已脱贫户人均纯收入 3501.75 元仅略高于 2017 年贫困线 3335 元（参数 poverty_line，anhui.toml "
        "[province.安徽.poverty_line] 2017），不超过 3501.75 元（贫困线 × 1.05，参数 near_line_band，默认值，"
        "未核实，请以省级文件为准）"
    )
    assert message(findings, "IN002", 6).startswith(
        "已脱贫户人均纯收入 3400.00 元仅略高于 2017 年贫困线 3335 元"
    )


def test_in002_band_and_line_from_config(tmp_path):
    config = tmp_path / "band.toml"
    config.write_text("near_line_band = 1.1\n[poverty_line.working]\n2017 = 3400\n", encoding="utf-8")
    path = write_xlsx(
        tmp_path / "in.xlsx", {"户信息": [exited("H1", 3740, 2017), exited("H2", 3740.01, 2017)]}
    )
    findings = audit([str(path)], year=2017, select=["IN002"], config=config).findings
    assert rows(findings, "IN002") == [2]
    assert message(findings, "IN002", 2) == (
        "已脱贫户人均纯收入 3740.00 元仅略高于 2017 年贫困线 3400 元（参数 poverty_line，band.toml "
        "[poverty_line.working] 2017），不超过 3740.00 元（贫困线 × 1.1，参数 near_line_band，band.toml）"
    )


# ------------------------------------------------------------------------------------ IN003


def test_in003_exit_carried_by_transfers(tmp_path):
    findings = check_tables(
        tmp_path,
        ["IN003"],
        households=[
            exited("H1", 8000, 纯收入=8000, 转移性收入=5000),  # 2: 62.5%
            exited("H2", 8000, 纯收入=8000, 转移性收入=4000),  # 3: exactly 50%
            exited("H3", 0, 纯收入=0, 转移性收入=500),  # 4: no net income: not computed
            household("H4", 纯收入=8000, 转移性收入=8000),  # 5: poor
            exited("H5", 8000, 纯收入=8000, 转移性收入=4000.01),  # 6: just over half
        ],
    )
    assert rows(findings, "IN003") == [2, 6]
    assert message(findings, "IN003", 2) == (
        "转移性收入 5000.00 元占纯收入 8000.00 元的 62.5%，超过 50%（参数 transfer_share_fragile，默认值）"
    )
    assert hit(findings, "IN003", 2)["severity"] == "info"
    assert hit(findings, "IN003", 2)["column"] == "转移性收入"


# ------------------------------------------------------------------------------------ IN004


def test_in004_drop_from_the_previous_year_column(tmp_path):
    findings = check_tables(
        tmp_path,
        ["IN004"],
        households=[
            household("H1", 上年人均纯收入=6000, 人均纯收入=4194),  # 2: −30.1%
            household("H2", 上年人均纯收入=6000, 人均纯收入=4200),  # 3: exactly −30%
            household("H3", 上年人均纯收入=0, 人均纯收入=100),  # 4: no base
            household("H4", 上年人均纯收入=None, 人均纯收入=100),  # 5: unknown
            household("H5", 上年人均纯收入=1000, 人均纯收入=699.99),  # 6: just over 30%
        ],
    )
    assert rows(findings, "IN004") == [2, 6]
    assert message(findings, "IN004", 2) == (
        "人均纯收入从上年 6000.00 元（上年人均纯收入列）降至 4194.00 元，"
        "下降 30.1%，超过 30%（参数 income_drop_share，默认值）"
    )


def test_in004_drop_between_rows_of_two_years(tmp_path):
    findings = check_tables(
        tmp_path,
        ["IN004"],
        households=[
            household("H1", 人均纯收入=5000, 年度=2016),  # 2
            household("H1", 人均纯收入=3000),  # 3: −40% against row 2
            household("H2", 人均纯收入=5000, 年度=2016),  # 4
            household("H2", 人均纯收入=3500),  # 5: exactly −30%
            household("H3", 人均纯收入=9000, 年度=2015),  # 6: two years back: not compared
            household("H3", 人均纯收入=1000),  # 7
        ],
    )
    assert rows(findings, "IN004") == [3]
    assert message(findings, "IN004", 3) == (
        "人均纯收入从上年 5000.00 元（户表第 2 行 2016 年度）降至 3000.0"
        "0 元，下降 40.0%，超过 30%（参数 income_drop_share，默认值）"
    )


def test_in004_skipped_without_a_previous_year(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [household("H1")]})
    result = audit([str(path)], year=2017, select=["IN"])
    assert outcome(result, "IN004").status == "skipped"
    assert outcome(result, "IN004").reason == "households 表没有上年人均纯收入列，也没有同一户上一年度的行"
    assert outcome(result, "IN003").status == "ran"  # 转移性收入 and 纯收入 are there
    bare = write_xlsx(
        tmp_path / "bare.xlsx",
        {"户信息": [{"户编号": "H1", "家庭人口数": 2, "脱贫状态": "已脱贫", "人均纯收入": 9000}]},
    )
    result = audit([str(bare)], year=2017, select=["IN003", "IN001"])
    assert outcome(result, "IN003").status == "skipped"
    assert outcome(result, "IN003").reason == "households 表缺少列 转移性收入、纯收入"
    assert outcome(result, "IN001").status == "ran"


# ------------------------------------------------------------------------------------ CLI


def test_cli_reports_in_findings_as_jsonl(tmp_path):
    path = write_xlsx(tmp_path / "county.xlsx", {"户信息": [exited("H1", 4999.99), exited("H2", 5000.01)]})
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fupin_audit",
            "check",
            str(path),
            "--select",
            "IN",
            "--format",
            "jsonl",
            "--year",
            "2017",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr  # warnings only: below the default --fail-on error
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["rule"], r["sheet"], r["row"], r["column"]) for r in records] == [
        ("IN001", "户信息", 2, "人均纯收入")
    ]
    assert (
        records[0]["message"]
        == "已脱贫户人均纯收入 4999.99 元不高于返贫风险线 5000 元（参数 relapse_risk_line，默认值）"
    )
    assert records[0]["family"] == "收入与返贫风险" and records[0]["household_id"] == "H1"
