"""Every helper process runs under a timeout and a memory limit: a sheet or workbook over either is a
diagnostic naming the file (and the sheet), never a hang or a crash; the other sheets are still read."""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from fupin_audit import workers
from fupin_audit.cli.app import main
from fupin_audit.errors import InputError
from fupin_audit.io import isolate, parallel
from fupin_audit.io.limits import human_size
from fupin_audit.io.readers import RawSheet, read_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "宿松县样例.xlsx"
XLS = ROOT / "tests" / "fixtures" / "households.xls"
SHEETS = ["建档立卡人员信息", "户信息补录", "家庭成员补录", "村信息", "帮扶措施", "帮扶责任人结对", "比对名单", "死亡人员", "帮扶项目补录"]  # fmt: skip


@dataclass
class Started:
    sheets: list[str]  # in the order the helper reads them
    memory: int  # its memory limit


@pytest.fixture
def helpers(monkeypatch) -> list[Started]:
    """Two workers, and a helper for any workbook; each helper started."""
    started: list[Started] = []

    class Recorded(parallel.Helper):
        def __init__(self, target, job, **kwargs):
            started.append(Started([sheet for sheet, _ in job["sheets"]], kwargs["memory"]))
            super().__init__(target, job, **kwargs)

    monkeypatch.setattr(parallel, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "Helper", Recorded)
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "2")
    return started


def read(path: Path) -> tuple[dict[str, RawSheet], list[InputError], float]:
    clock = time.perf_counter()
    got = list(read_file(path))
    sheets = {x.sheet: x for x in got if isinstance(x, RawSheet)}
    return sheets, [x for x in got if isinstance(x, InputError)], time.perf_counter() - clock


# ------------------------------------------------------------------------------ xlsx sheets read by helpers


def test_a_sheet_over_the_helper_timeout_is_named_and_the_others_are_read(monkeypatch, helpers):
    monkeypatch.setenv("FUPIN_AUDIT_HELPER_TIMEOUT", "0.001")
    sheets, errors, seconds = read(SAMPLE)
    [helper] = helpers
    share = helper.sheets
    [error] = errors
    assert (error.file, error.sheet) == (str(SAMPLE), share[0])
    assert "读取超过 0.001 秒仍未完成，已放弃（FUPIN_AUDIT_HELPER_TIMEOUT）" in error.detail
    assert set(sheets) == set(SHEETS) - {share[0]}  # the helper's other sheets were read here
    assert seconds < 60


def test_within_the_helper_timeout_every_sheet_is_read(monkeypatch, helpers):
    monkeypatch.setenv("FUPIN_AUDIT_HELPER_TIMEOUT", "120")
    sheets, errors, _ = read(SAMPLE)
    assert helpers and not errors and list(sheets) == SHEETS


def test_sheets_over_the_helper_memory_limit_are_named(monkeypatch, helpers):
    """1 MiB is less than the helper's own code: the sheets it reads run out of memory, each a
    diagnostic naming the file and sheet (once the parser aborts the helper, the sheets it had not
    begun are read here); the sheet read by this process is read."""
    monkeypatch.setenv("FUPIN_AUDIT_HELPER_MEMORY", "1M")
    sheets, errors, _ = read(SAMPLE)
    [helper] = helpers
    share = helper.sheets
    assert share[0] in {e.sheet for e in errors} and {e.sheet for e in errors} <= set(share)
    # 1 MiB, plus room for the largest sheet it reads: XML_MEMORY_FACTOR times its XML
    with zipfile.ZipFile(SAMPLE) as zf:
        largest = max(zf.getinfo(f"xl/worksheets/sheet{SHEETS.index(s) + 1}.xml").file_size for s in share)
    assert helper.memory == (1 << 20) + parallel.XML_MEMORY_FACTOR * largest
    for error in errors:
        assert error.file == str(SAMPLE)
        assert error.detail.startswith(
            f"无法读取工作表（内存不足：超过读取子进程的内存上限 {human_size(helper.memory)}"
        )
        assert "FUPIN_AUDIT_HELPER_MEMORY" in error.detail
    assert sorted([*sheets, *(e.sheet for e in errors)]) == sorted(SHEETS)
    assert "建档立卡人员信息" in sheets


def test_the_cli_reports_a_helper_timeout_with_file_and_sheet(monkeypatch, helpers, capsys, tmp_path):
    monkeypatch.setenv("FUPIN_AUDIT_HELPER_TIMEOUT", "0.001")
    with pytest.raises(SystemExit) as exit:
        main(["check", str(SAMPLE), "--format", "csv", "--output", str(tmp_path / "out.csv")])
    err = "".join(capsys.readouterr().err.split())  # Rich wraps long lines
    assert exit.value.code == 2
    assert f"error:{SAMPLE}:{helpers[0].sheets[0]}:无法读取工作表（读取超过0.001秒仍未完成，已放弃" in err


# ------------------------------------------------------------------------------ .xls/.ods in their helper


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
    'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    '<manifest:file-entry manifest:full-path="/" '
    'manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def ods(path: Path, rows: int) -> Path:
    """A real OpenDocument spreadsheet (as LibreOffice stores it: mimetype first, uncompressed)."""
    ns = (
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    )

    def row(*cells: str) -> str:
        return "<table:table-row>" + "".join(
            f'<table:table-cell office:value-type="string"><text:p>{c}</text:p></table:table-cell>'
            for c in cells
        ) + "</table:table-row>"  # fmt: skip

    body = row("户编号", "户主姓名", "证件号码", "家庭人口数") + "".join(
        row(f"34082600100{r:05d}", f"姓名{r % 97}", f"340826{r:012d}", str(1 + r % 6)) for r in range(rows)
    )
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content {ns} office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="户信息">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", MANIFEST)
        zf.writestr("content.xml", content)
    return path


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "FUPIN_AUDIT_HELPER_TIMEOUT",
            "0.001",
            "读取超过 0.001 秒仍未完成，已放弃（FUPIN_AUDIT_HELPER_TIMEOUT）",
        ),
        ("FUPIN_AUDIT_HELPER_MEMORY", "1M", "内存不足：超过读取子进程的内存上限 1 MiB"),
    ],
)
def test_a_workbook_over_its_helper_limits_is_an_error_naming_it(
    tmp_path, monkeypatch, variable, value, message
):
    """calamine parses an .ods (and an .xls) as a whole when it opens it: the limit hits the opening."""
    path = ods(tmp_path / "户信息.ods", 20_000)
    sheets, errors, _ = read(path)
    assert not errors and sheets["户信息"].grid.shape == (20_001, 4)  # within the default limits
    monkeypatch.setenv(variable, value)
    sheets, errors, seconds = read(path)
    [error] = errors
    assert not sheets and error.file == str(path) and error.sheet is None
    assert error.detail.startswith("无法打开 OpenDocument (.ods) 工作簿") and message in error.detail
    assert seconds < 60


SLOW_SHEET = """
import time
from fupin_audit.io.isolate import helper_workbook

def slow(job):
    for item, produce in helper_workbook(job):
        if item == "sheet:说明":
            yield item, lambda: time.sleep(300)
        else:
            yield item, produce
"""


def test_a_legacy_sheet_over_the_timeout_costs_that_sheet_only(tmp_path, monkeypatch):
    """The helper is stopped in 说明; a new helper reads the sheets after it."""
    (tmp_path / "slow_sheet.py").write_text(SLOW_SHEET)
    monkeypatch.syspath_prepend(str(tmp_path))  # on this process's path, so on the helper's too
    monkeypatch.setattr(isolate, "HELPER_WORKBOOK", "slow_sheet:slow")
    monkeypatch.setenv("FUPIN_AUDIT_HELPER_TIMEOUT", "2")
    sheets, errors, seconds = read(XLS)
    [error] = errors
    assert (error.file, error.sheet) == (str(XLS), "说明")
    assert error.detail == "无法读取工作表（读取超过 2 秒仍未完成，已放弃（FUPIN_AUDIT_HELPER_TIMEOUT））"
    assert list(sheets) == ["贫困户", "隐藏"] and sheets["隐藏"].grid.shape == (2, 2)
    assert seconds < 60


# ------------------------------------------------------------------------------ the helper itself


def test_a_helper_that_cannot_start_in_time_is_given_up(monkeypatch):
    monkeypatch.setattr(workers, "_CHILD", "import time; time.sleep(300)")
    monkeypatch.setattr(workers, "START_SECONDS", 0.5)
    clock = time.perf_counter()
    with workers.Helper("unused:unused", {}, timeout=0.5, memory=1 << 30) as helper:
        assert list(helper.outcomes()) == []
        assert helper.outcome("户信息") is None
    assert str(helper.failure) == "读取子进程 1 秒内未能启动，已放弃"
    assert time.perf_counter() - clock < 30
