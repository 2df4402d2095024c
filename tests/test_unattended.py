"""Reports and unattended runs: XLSX report, annotated copy, baselines, waivers, masking, atomic writes."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from conftest import household, make_id, member, write_xlsx

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_office = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not installed (.ci/run installs it)")


def cli(*args: str, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", *args], capture_output=True, text=True, timeout=300, **kw
    )


def book_with_problems(path: Path) -> Path:
    households = [household("H1"), household("H2", 家庭人口数=35), household("H3")]
    members = [
        member("H1"),
        member("H2", 证件号码=make_id(birth="19800101", seq=113)[:-1] + "0", 姓名="李明"),
        member("H3", 证件号码=make_id(birth="19750505", seq=115), 姓名="赵强"),
    ]
    return write_xlsx(path, {"户信息": households, "家庭成员": members})


def convert(path: Path, fmt: str, out: Path) -> Path:
    subprocess.run(
        [SOFFICE, "--headless", f"-env:UserInstallation=file://{out}/profile", "--convert-to", fmt, "--outdir", str(out), str(path)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return out / f"{path.stem}.{fmt.split(':')[0]}"


def test_xlsx_report_sheets_ids_as_text_and_charts(tmp_path):
    source = book_with_problems(tmp_path / "in.xlsx")
    report = tmp_path / "report.xlsx"
    result = cli("check", str(source), "--output", str(report), "--select", "DQ0,DQ01")
    assert result.returncode == 1, result.stderr
    book = openpyxl.load_workbook(report)
    assert book.sheetnames == ["汇总", "明细"]
    details = book["明细"]
    assert details.freeze_panes == "A2" and details.auto_filter.ref
    header = [c.value for c in details[1]]
    ids = [row[header.index("证件号码")] for row in details.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(i, str) for i in ids if i)
    assert make_id(birth="19800101", seq=113)[:-1] + "0" in ids  # exact, not 3.4E+17
    with zipfile.ZipFile(report) as archive:
        assert sum(name.startswith("xl/charts/chart") for name in archive.namelist()) >= 2


def test_formulas_in_input_are_neutralised_in_csv_and_xlsx(tmp_path):
    source = tmp_path / "户信息.csv"
    pd.DataFrame(
        [household("H1", 户联系电话="=cmd|' /C calc'!A0"), household("H2", 户联系电话="-2+3")]
    ).to_csv(source, index=False)
    csv_out = cli("check", str(source), "--select", "DQ044", "-f", "csv").stdout
    assert "'=cmd|' /C calc'!A0" in csv_out and "'-2+3" in csv_out
    report = tmp_path / "r.xlsx"
    cli("check", str(source), "--select", "DQ044", "-o", str(report))
    values = [
        row[10] for row in openpyxl.load_workbook(report)["明细"].iter_rows(min_row=2, values_only=True)
    ]
    assert set(values) == {"'=cmd|' /C calc'!A0", "'-2+3"}


@needs_office
def test_report_and_annotated_copy_open_in_libreoffice(tmp_path):
    source = book_with_problems(tmp_path / "in.xlsx")
    report, annotated = tmp_path / "report.xlsx", tmp_path / "annotated.xlsx"
    result = cli(
        "check", str(source), "-o", str(report), "--annotate", str(annotated), "--select", "DQ0,DQ01"
    )
    assert result.returncode == 1, result.stderr
    pdf = convert(report, "pdf", tmp_path)
    assert pdf.stat().st_size > 1000
    csv_dir = tmp_path / "csv"
    csv_dir.mkdir()
    shutil.copy(annotated, csv_dir / "annotated.xlsx")
    convert(
        csv_dir / "annotated.xlsx",
        "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
        csv_dir,
    )
    text = (csv_dir / "annotated-家庭成员.csv").read_text("utf-8")
    assert make_id(birth="19800101", seq=113)[:-1] + "0" in text  # the ID survives exactly
    assert "35" in (csv_dir / "annotated-户信息.csv").read_text("utf-8")


def test_annotated_copy_marks_cells_and_never_touches_the_input(tmp_path):
    source = book_with_problems(tmp_path / "in.xlsx")
    before = source.read_bytes()
    annotated = tmp_path / "annotated.xlsx"
    cli("check", str(source), "--annotate", str(annotated), "--select", "DQ004,DQ011", "-q", "-f", "csv")
    assert source.read_bytes() == before
    book = openpyxl.load_workbook(annotated)
    assert book.sheetnames == ["户信息", "家庭成员"]
    comments = {
        (ws.title, c.coordinate): c.comment.text
        for ws in book
        for row in ws.iter_rows()
        for c in row
        if c.comment
    }
    assert len(comments) == 2
    household_cell = next(k for k in comments if k[0] == "户信息")
    assert "DQ004" in comments[household_cell]
    sheet = book["户信息"]
    assert sheet[household_cell[1]].value == "35"
    assert sheet[household_cell[1]].fill.fgColor.rgb.endswith("FFC7CE")
    assert "DQ011" in next(v for k, v in comments.items() if k[0] == "家庭成员")


def test_baseline_round_trip_survives_reshuffle_and_reexport(tmp_path):
    source = book_with_problems(tmp_path / "in.xlsx")
    baseline = tmp_path / "baseline.json"
    first = cli("check", str(source), "--write-baseline", str(baseline), "-f", "json", "--select", "DQ0,DQ01")
    assert first.returncode == 1 and baseline.exists()
    # re-export: shuffled rows, another format (CSV per table), same content
    households = pd.read_excel(source, sheet_name="户信息", dtype=str, engine="openpyxl").sample(
        frac=1, random_state=1
    )
    members = pd.read_excel(source, sheet_name="家庭成员", dtype=str, engine="openpyxl").sample(
        frac=1, random_state=2
    )
    households.to_csv(tmp_path / "户信息.csv", index=False, encoding="gb18030")
    members.to_csv(tmp_path / "家庭成员.csv", index=False)
    csvs = [str(tmp_path / "户信息.csv"), str(tmp_path / "家庭成员.csv")]
    again = cli("check", *csvs, "--baseline", str(baseline), "-f", "json", "--select", "DQ0,DQ01")
    document = json.loads(again.stdout)
    assert document["findings"] == [] and again.returncode == 0
    assert document["summary"]["baseline"]["new"] == 0 and document["summary"]["baseline"]["gone"] == 0
    # plant one defect → exactly one new finding
    members.iloc[0, members.columns.get_loc("性别")] = "男女"
    members.to_csv(tmp_path / "家庭成员.csv", index=False)
    planted = cli("check", *csvs, "--baseline", str(baseline), "-f", "json", "--select", "DQ0,DQ01")
    document = json.loads(planted.stdout)
    assert [f["rule"] for f in document["findings"]] == ["DQ003"]
    assert planted.returncode == 1


def test_waivers_valid_expired_unmatched(tmp_path):
    source = book_with_problems(tmp_path / "in.xlsx")
    waivers = tmp_path / "waivers.csv"
    waivers.write_text(
        "rule,key,reason,approved_by,expires\n"
        "DQ004,H2,集体户，经核实 35 人,县扶贫办,2099-12-31\n"
        "DQ011,H2,已过期,县扶贫办,2001-01-01\n"
        "DQ011,H404,不存在的户,县扶贫办,2099-12-31\n",
        "utf-8",
    )
    result = cli("check", str(source), "--waivers", str(waivers), "-f", "json", "--select", "DQ004,DQ011")
    document = json.loads(result.stdout)
    assert [f["rule"] for f in document["findings"]] == ["DQ011"]  # expired waiver does not apply
    summary = document["summary"]["waivers"]
    assert summary["waived"] == 1 and summary["waived_findings"][0]["rule"] == "DQ004"
    assert [w["line"] for w in summary["expired"]] == [3] and [w["line"] for w in summary["unmatched"]] == [4]
    assert "过期" in result.stderr and "没有匹配" in result.stderr
    only_waived = cli("check", str(source), "--waivers", str(waivers), "-f", "csv", "--select", "DQ004")
    assert only_waived.returncode == 0  # a waived error leaves the failure count


def test_bad_waiver_file_is_exit_2(tmp_path):
    source = book_with_problems(tmp_path / "in.xlsx")
    waivers = tmp_path / "w.csv"
    waivers.write_text("rule,key,reason\nDQ004,H2,x\n", "utf-8")
    result = cli("check", str(source), "--waivers", str(waivers))
    assert result.returncode == 2 and "approved_by" in result.stderr


def test_mask_covers_every_output(tmp_path):
    source = book_with_problems(tmp_path / "in.xlsx")
    secret = make_id(birth="19800101", seq=113)[:-1] + "0"
    for fmt in ("csv", "jsonl", "json", "table"):
        result = cli("check", str(source), "--mask", "-f", fmt, "--select", "DQ011", "--limit", "5")
        assert secret not in result.stdout, fmt
        assert secret[:6] + "********" + secret[-4:] in result.stdout or fmt == "table"
        assert "李明" not in result.stdout


def test_summary_json_and_quiet(tmp_path):
    source = book_with_problems(tmp_path / "in.xlsx")
    summary, out = tmp_path / "summary.json", tmp_path / "f.csv"
    result = cli("check", str(source), "--quiet", "-o", str(out), "--summary-json", str(summary))
    assert result.stdout == "" and result.stderr == ""
    document = json.loads(summary.read_text("utf-8"))
    for key in (
        "tool",
        "version",
        "started",
        "seconds",
        "inputs",
        "tables",
        "policy",
        "rules",
        "counts",
        "indicators",
        "exit_code",
    ):
        assert key in document
    assert document["inputs"][0]["sha256"] and document["exit_code"] == result.returncode == 1


def test_killed_run_leaves_no_partial_report(tmp_path):
    rows = [
        member(f"H{i}", 证件号码=make_id(seq=100 + i % 800)[:-1] + "0", 姓名=f"人{i}") for i in range(3000)
    ]
    source = write_xlsx(tmp_path / "big.xlsx", {"家庭成员": rows})
    out = tmp_path / "report.xlsx"
    for delay in (0.5, 1.5, 2.5):
        process = subprocess.Popen(
            [sys.executable, "-m", "fupin_audit", "check", str(source), "-o", str(out)]
        )
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")]
        assert leftovers == []
        if out.exists():  # finished before the signal: then it is complete
            assert openpyxl.load_workbook(out).sheetnames == ["汇总", "明细"]
