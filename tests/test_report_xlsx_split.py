"""XLSX report with more findings than a sheet holds: 明细 continues on 明细2, 明细3, … and the run says so.

Excel's limit (1 048 576 rows) is a module constant; the tests lower it so a small storm county fills
several sheets, then read the workbook back with openpyxl.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest

from fupin_audit.cli.app import main
from fupin_audit.report import xlsx
from fupin_audit.sample import generate, write_parquet
from fupin_audit.sample.storm import storm

LINES = Path(__file__).resolve().parent.parent / "sample_data" / "样例贫困线.toml"


@pytest.fixture(scope="module")
def storm_county(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("storm")
    return [str(p) for p in write_parquet(storm(generate(20, seed=3, year=2017, defects=False)), folder)]


def check(paths: list[str], *options: str) -> int:
    with pytest.raises(SystemExit) as exit_:
        main(["check", *paths, "--config", str(LINES), "--keep-going", *options])
    return int(exit_.value.code)


def test_detail_sheet_names():
    per_sheet = xlsx.MAX_SHEET_ROWS - 1
    assert xlsx.detail_sheets(0) == ["明细"]
    assert xlsx.detail_sheets(per_sheet) == ["明细"]
    assert xlsx.detail_sheets(per_sheet + 1) == ["明细", "明细2"]
    assert xlsx.detail_sheets(2 * per_sheet + 1) == ["明细", "明细2", "明细3"]


def test_findings_past_the_row_limit_continue_on_more_sheets(storm_county, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 40)  # 39 findings per sheet
    report, listing = tmp_path / "report.xlsx", tmp_path / "findings.jsonl"
    assert check(storm_county, "--output", str(listing)) == 1
    capsys.readouterr()
    assert check(storm_county, "--output", str(report)) == 1
    stderr = capsys.readouterr().err
    expected = [json.loads(line) for line in listing.read_text("utf-8").splitlines()]
    sheets = -(-len(expected) // 39)
    assert sheets >= 3, len(expected)  # the county is big enough to need several sheets

    book = openpyxl.load_workbook(report, read_only=True)
    names = ["明细"] + [f"明细{i}" for i in range(2, sheets + 1)]
    assert book.sheetnames == ["汇总", *names]
    rows = []
    for name in names:
        sheet = list(book[name].iter_rows(values_only=True))
        assert sheet[0][:2] == ("规则", "级别")  # every sheet has the header
        assert 1 < len(sheet) <= 40
        rows += sheet[1:]
    # every finding once, in the order of the other formats
    assert [(r[0], r[8], r[4]) for r in rows] == [(f["rule"], f["row"], f["message"]) for f in expected]
    assert "warning" in stderr and f"明细分在 {sheets} 个工作表" in stderr and "明细2" in stderr


def test_findings_within_the_limit_stay_on_one_sheet_without_a_warning(storm_county, tmp_path, capsys):
    report = tmp_path / "report.xlsx"
    assert check(storm_county, "--output", str(report)) == 1
    assert openpyxl.load_workbook(report, read_only=True).sheetnames == ["汇总", "明细"]
    assert "明细分在" not in capsys.readouterr().err


def test_quiet_run_does_not_warn(storm_county, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(xlsx, "MAX_SHEET_ROWS", 40)
    assert check(storm_county, "--output", str(tmp_path / "r.xlsx"), "--quiet") == 1
    assert capsys.readouterr().err == ""
