"""Every file of the hostile corpus (tests/hostile/build_corpus.py) gives its documented exit code and message.

The CLI runs in-process (``main([...])``), so the whole corpus takes seconds; a few cases also run
as a real process to prove that nothing (traceback, Rust panic text) reaches stderr. Each run also
proves that the input file is byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
import build_corpus

from fupin_audit.cli.app import main

slow = pytest.mark.skipif(os.environ.get("FUPIN_SLOW") != "1", reason="slow: set FUPIN_SLOW=1")

NO_TABLE = "没有读到任何可识别的表"
READ_OK = (0, 1)  # read in full: the audit decides

# file → (exit codes allowed, fragments that must appear on stderr, in order of importance)
EXPECTED: dict[str, tuple[tuple[int, ...], tuple[str, ...]]] = {
    "empty.csv": ((2,), ("文件为空（0 字节）", NO_TABLE)),
    "zero_bytes.xlsx": ((2,), ("文件为空（0 字节）",)),
    "blank_lines.csv": ((2,), ("文件没有内容（只有空白）",)),
    "truncated.xlsx": ((2,), ("文件已损坏或不完整",)),
    "truncated.xls": ((2,), ("无法打开 Excel 97-2003 (.xls) 工作簿", "已损坏")),
    "truncated.parquet": ((2,), ("无法读取 parquet 文件", "已损坏或不完整")),
    "not_a_workbook.xlsx": ((2,), ("不是有效的 Excel 工作簿",)),
    "really_xlsx.csv": (READ_OK, ()),
    "really_csv.xlsx": (READ_OK, ()),
    "really_html.xls": ((2,), ("HTML 网页",)),
    "title_only.xlsx": ((2,), ("户信息", "找不到可识别的表头")),
    "header_only.xlsx": (READ_OK, ("warning", "只有表头，没有数据行")),
    "duplicate_header.csv": (READ_OK, ()),
    "duplicate_header.xlsx": (READ_OK, ()),
    "ragged.csv": ((1,), ()),
    "mixed_encoding.csv": ((2,), ("混用了两种编码", "第 1 行是 UTF-8", "第 5 行是 GBK/GB18030")),
    "gbk.csv": (READ_OK, ()),
    "stray_nul.csv": (READ_OK, ("warning", "1 个 NUL 字节", "第 3 行")),
    "utf16_no_bom.csv": ((2,), ("NUL 字节", "UTF-16")),
    "binary.csv": ((2,), ("无法识别文本编码",)),
    "zip_bomb.xlsx": ((2,), ("超过上限",)),
    "ratio_bomb.xlsx": ((2,), ("压缩比", "超过上限 200:1", "FUPIN_AUDIT_MAX_RATIO")),
    "billion_laughs_sheet.xlsx": ((2,), ("xl/worksheets/sheet1.xml", "DOCTYPE")),
    "billion_laughs_strings.xlsx": ((2,), ("xl/sharedStrings.xml", "DOCTYPE")),
    "external_entity.xlsx": ((2,), ("DOCTYPE",)),
    "far_corner.xlsx": ((2,), ("户信息", "1,048,576 行 × 16,384 列", "FUPIN_AUDIT_MAX_CELLS")),
    "far_corner_noref.xlsx": ((2,), ("户信息", "16,384 列", "FUPIN_AUDIT_MAX_CELLS")),
    "damaged_second_sheet.xlsx": ((2,), ("家庭成员", "超过上限 400,000,000")),
    "far_cell.xls": ((2,), ("无法打开 Excel 97-2003 (.xls) 工作簿", "内存不足")),
    "wide_line.csv": ((2,), ("第 5 行有 20,000 个字段", "FUPIN_AUDIT_MAX_COLUMNS")),
    "ragged_bomb.csv": ((2,), ("16,001 列", "超过上限 400,000,000")),
    "parquet_bomb.parquet": ((2,), ("parquet 文件有 401,000,000 行 × 1 列", "FUPIN_AUDIT_MAX_CELLS")),
    "ods_bomb.ods": ((2,), ("无法打开 OpenDocument (.ods) 工作簿", "Cell limit exceeded")),
    "encrypted_member.xlsx": ((2,), ("已加密",)),
    "formulas_and_errors.xlsx": ((1,), ()),
    "dates.xlsx": ((1,), ()),
    "numbers.csv": ((1,), ()),
    "long_cell.csv": (READ_OK, ("warning", "第 3 行", "E 列", "200,000 个字符", "32,767")),
    "long_cell.xlsx": (READ_OK, ("warning", "户信息", "第 3 行", "L 列", "200,000 个字符")),
    "last_row.xlsx": ((1,), ()),
}


def squeeze(text: str) -> str:
    """Rich wraps long lines at 80 columns when stderr is not a terminal: compare without whitespace."""
    return re.sub(r"\s+", "", text)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return build_corpus.build(tmp_path_factory.mktemp("corpus"))


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def test_every_corpus_file_has_an_expectation():
    assert set(build_corpus.CASES) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_exit_code_and_message(name, corpus, capsys):
    path = corpus[name]
    before = sha256(path)
    code, _out, err = run_cli(["check", str(path), "--format", "csv"], capsys)
    codes, fragments = EXPECTED[name]
    assert code in codes, (code, err)
    flat = squeeze(err)
    for fragment in fragments:
        assert squeeze(fragment) in flat, (fragment, err)
    assert "Traceback" not in err and "内部错误" not in err, err
    if code == 2:
        # the message names the file (and the sheet when one sheet is concerned)
        assert squeeze(str(path)) in flat, err
    assert sha256(path) == before, "the input file changed"


def findings(out: str) -> list[dict[str, str]]:
    import csv
    import io

    return list(csv.DictReader(io.StringIO(out)))


def test_error_cells_are_read_as_their_error_value(corpus, capsys):
    code, out, _ = run_cli(
        ["check", str(corpus["formulas_and_errors.xlsx"]), "-f", "csv", "--select", "DQ004"], capsys
    )
    got = {(f["row"], f["column"], f["value"]) for f in findings(out)}
    assert got == {("3", "人均纯收入", "#N/A"), ("4", "人均纯收入", "#REF!"), ("5", "家庭人口数", "#DIV/0!")}
    assert code == 1


def test_formula_cached_values_are_used_and_never_evaluated(corpus, capsys):
    _code, out, _ = run_cli(["check", str(corpus["formulas_and_errors.xlsx"]), "-f", "csv"], capsys)
    rows = findings(out)
    assert not [f for f in rows if f["row"] == "2"]  # =5400/2 with its cached 2700 is fine
    dde = [f for f in rows if "cmd|" in f["value"]]
    assert all(f["value"].startswith("'=") for f in dde)  # neutralised in CSV output


def test_dates_in_every_written_form(corpus, capsys):
    code, out, _ = run_cli(["check", str(corpus["dates.xlsx"]), "-f", "csv", "--select", "DQ005"], capsys)
    flagged = {f["value"] for f in findings(out) if f["column"] == "申请日期"}
    expected_bad = {str(v) for v, _, ok in build_corpus.DATE_CASES if not ok}
    assert flagged == expected_bad
    assert code == 1


def test_numbers_with_separators_and_full_width_digits(corpus, capsys):
    _, out, _ = run_cli(["check", str(corpus["numbers.csv"]), "-f", "csv", "--select", "DQ004"], capsys)
    flagged = {f["value"] for f in findings(out) if f["column"] == "人均纯收入"}
    assert flagged == {v for v, ok in build_corpus.NUMBER_CASES if not ok}


def test_last_spreadsheet_row_is_named_as_a_person_sees_it(corpus, capsys):
    code, out, _ = run_cli(["check", str(corpus["last_row.xlsx"]), "-f", "csv", "--select", "DQ004"], capsys)
    assert [(f["row"], f["column"], f["value"]) for f in findings(out)] == [("1048576", "家庭人口数", "99")]
    assert code == 1


def test_a_damaged_sheet_does_not_stop_the_others(corpus, capsys):
    path = str(corpus["damaged_second_sheet.xlsx"])
    code, out, err = run_cli(["check", path, "-f", "csv", "--select", "DQ004"], capsys)
    assert code == 2
    assert [(f["sheet"], f["row"], f["column"]) for f in findings(out)] == [("户信息", "4", "家庭人口数")]
    assert "家庭成员" in err
    code, out, _ = run_cli(["check", path, "-f", "csv", "--select", "DQ004", "--keep-going"], capsys)
    assert code == 1 and len(findings(out)) == 1


def test_broken_files_next_to_good_ones(corpus, capsys):
    """One good file among broken ones is still audited; the exit code is 2, or the audit's with --keep-going."""
    names = ["truncated.xls", "zip_bomb.xlsx", "far_corner.xlsx", "numbers.csv", "mixed_encoding.csv"]
    paths = [str(corpus[n]) for n in names]
    code, out, err = run_cli(["check", *paths, "-f", "csv", "--select", "DQ004"], capsys)
    assert code == 2 and len(findings(out)) == 3
    for name in ("truncated.xls", "zip_bomb.xlsx", "far_corner.xlsx", "mixed_encoding.csv"):
        assert name in err
    code, _, _ = run_cli(["check", *paths, "-f", "csv", "--select", "DQ004", "--keep-going"], capsys)
    assert code == 1


def test_outputs_from_hostile_values_are_valid_and_inputs_untouched(corpus, tmp_path, capsys):
    """Report, annotated copy and summary from NUL bytes, 200 000-character cells and error cells."""
    import openpyxl

    names = ["stray_nul.csv", "long_cell.xlsx", "formulas_and_errors.xlsx", "duplicate_header.xlsx"]
    paths = [corpus[n] for n in names]
    before = {p: sha256(p) for p in paths}
    report, annotated, summary = tmp_path / "r.xlsx", tmp_path / "a.xlsx", tmp_path / "s.json"
    code, _, err = run_cli(
        [
            "check",
            *map(str, paths),
            "-o",
            str(report),
            "--annotate",
            str(annotated),
            "--summary-json",
            str(summary),
        ],
        capsys,
    )
    assert code == 1, err
    for path in (report, annotated):
        openpyxl.load_workbook(path)  # well-formed
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.xlsx", "r.xlsx", "s.json"]  # no temp files left
    assert {p: sha256(p) for p in paths} == before


@pytest.mark.parametrize(
    "name", ["truncated.xls", "far_cell.xls", "far_corner.xlsx", "billion_laughs_sheet.xlsx"]
)
def test_real_process_prints_one_message_and_no_traceback(name, corpus):
    """As a user sees it: exit 2, the message, and no traceback or Rust panic text on stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "fupin_audit", "check", str(corpus[name]), "-f", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "1000"},
    )
    assert done.returncode == 2
    assert (
        "Traceback" not in done.stderr
        and "panicked" not in done.stderr
        and "RUST_BACKTRACE" not in done.stderr
    )
    assert str(corpus[name]) in done.stderr


def test_debug_shows_the_traceback_of_a_failure(corpus, capsys, monkeypatch):
    monkeypatch.setenv("FUPIN_AUDIT_MAX_CELLS", "lots")
    code, _, err = run_cli(["check", str(corpus["gbk.csv"])], capsys)
    assert code == 2
    assert err.strip() == "fupin-audit: 环境变量 FUPIN_AUDIT_MAX_CELLS='lots' 不是有效的数值"
    code, _, err = run_cli(["check", str(corpus["gbk.csv"]), "--debug"], capsys)
    assert code == 2 and "Traceback" in err and err.strip().endswith("不是有效的数值")


def test_limits_from_the_environment_apply_to_ordinary_files(corpus, capsys, monkeypatch):
    monkeypatch.setenv("FUPIN_AUDIT_MAX_CELLS", "20")
    code, _, err = run_cli(["check", str(corpus["gbk.csv"])], capsys)
    assert code == 2 and squeeze("超过上限 20") in squeeze(err)
    monkeypatch.setenv("FUPIN_AUDIT_MAX_CELLS", "60M")
    monkeypatch.setenv("FUPIN_AUDIT_MAX_CELL_CHARS", "3")
    code, _, err = run_cli(["check", str(corpus["gbk.csv"])], capsys)
    assert code in READ_OK and "超过3个字符的上限" in squeeze(err)


def test_each_diagnostic_is_one_line(corpus):
    done = subprocess.run(
        [sys.executable, "-m", "fupin_audit", "check", str(corpus["far_corner.xlsx"]), "-f", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "COLUMNS"},
    )
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 2, lines  # the sheet's error, then "没有读到任何可识别的表"


@slow
def test_full_sheet_of_1048576_rows(tmp_path, capsys):
    [path] = build_corpus.build(tmp_path, slow=True, only=["max_rows.xlsx"]).values()
    code, out, err = run_cli(["check", str(path), "-f", "csv", "--select", "DQ004"], capsys)
    assert code == 1, err
    assert ("1048576", "家庭人口数", "99") in {(f["row"], f["column"], f["value"]) for f in findings(out)}
