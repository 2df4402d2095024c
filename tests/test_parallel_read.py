"""Sheets of a big workbook read by helper processes give exactly what one process reads."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import xlsxwriter

from fupin_audit import workers
from fupin_audit.errors import ConfigError, InputError
from fupin_audit.io import parallel, readers
from fupin_audit.io.limits import Limits
from fupin_audit.io.readers import RawSheet, read_file
from fupin_audit.workers import available_workers

SRC = Path(parallel.__file__).resolve().parents[2]


def workbook(path: Path) -> Path:
    """Four sheets of different sizes: text, IDs as numbers, dates, error cells, blanks."""
    book = xlsxwriter.Workbook(str(path))
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in (("户信息", 3000), ("家庭成员", 9000), ("村信息", 40), ("帮扶措施", 5000)):
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, ["户编号", "姓名", "证件号码", "日期", "金额", "备注"])
        for r in range(1, rows + 1):
            sheet.write_string(r, 0, f"34082600100{r:05d}")
            sheet.write_string(r, 1, f"姓名{r % 97}")
            sheet.write_number(r, 2, 340826199001011234 if r % 50 == 0 else 340826 + r)
            sheet.write_datetime(r, 3, dt.datetime(2017, 1 + r % 12, 1 + r % 28), date)
            sheet.write_number(r, 4, r * 1.25)
            if r % 7 == 0:
                sheet.write_formula(r, 5, "=NA()", None, "#N/A")
    book.close()
    return path


def items(path: Path, workers: int, monkeypatch, limits: Limits | None = None) -> list:
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", str(workers))
    return list(read_file(path, limits=limits))


def same(a: list, b: list) -> None:
    assert [type(x) for x in a] == [type(x) for x in b]
    for x, y in zip(a, b, strict=True):
        if isinstance(x, RawSheet):
            assert (x.file, x.sheet) == (y.file, y.sheet)
            pd.testing.assert_frame_equal(x.grid, y.grid)
            assert [c.array._pa_array.type for _, c in x.grid.items()] == [
                c.array._pa_array.type for _, c in y.grid.items()
            ]
        else:
            assert str(x) == str(y)


@pytest.fixture
def helpers_always(monkeypatch) -> list:
    """Helpers start for any workbook; the helpers started are recorded."""
    started = []

    class Recorded(parallel.Helper):
        def __init__(self, target, job, **kwargs):
            super().__init__(target, job, **kwargs)
            started.append([sheet for sheet, _ in job["sheets"]])

    monkeypatch.setattr(parallel, "HELPER_MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "Helper", Recorded)
    return started


def test_helpers_read_what_one_process_reads(tmp_path, monkeypatch, helpers_always):
    path = workbook(tmp_path / "县.xlsx")
    alone = items(path, 1, monkeypatch)
    assert not helpers_always
    together = items(path, 3, monkeypatch)
    assert sorted(s for share in helpers_always for s in share) == ["帮扶措施", "户信息", "村信息"]
    same(alone, together)
    members = next(x for x in together if isinstance(x, RawSheet) and x.sheet == "家庭成员")
    assert members.grid.iat[7, 5] == "#N/A" and members.grid.iat[50, 2] == "3.40826199001011E+17"
    assert members.grid.iat[1, 3] == "2017-02-02"


def test_a_sheet_over_the_limits_is_refused_by_its_helper(tmp_path, monkeypatch, helpers_always):
    path = workbook(tmp_path / "县.xlsx")
    limits = Limits(max_cells=20_000)  # 户信息 (3001 × 6) passes, 家庭成员 and 帮扶措施 do not
    alone = items(path, 1, monkeypatch, limits)
    together = items(path, 2, monkeypatch, limits)
    assert helpers_always
    same(alone, together)
    refused = {x.sheet for x in together if isinstance(x, InputError)}
    assert refused == {"家庭成员", "帮扶措施"}


def test_a_helper_that_dies_before_its_first_sheet_leaves_its_sheets_to_this_process(
    tmp_path, monkeypatch, helpers_always
):
    path = workbook(tmp_path / "县.xlsx")
    # 200 kB on stderr first: more than a pipe holds, so the helper stalls unless it is drained
    dying = "import sys; sys.stderr.write('x' * 200_000 + '\\nboom\\n'); sys.exit(3)"
    monkeypatch.setattr(workers, "_CHILD", dying)
    alone = items(path, 1, monkeypatch)
    got = items(path, 2, monkeypatch)
    assert helpers_always
    same(alone, got)


def test_a_helper_that_dies_in_a_sheet_costs_that_sheet_only(tmp_path, monkeypatch, helpers_always):
    """The helper dies while it reads its first sheet: that sheet is reported with why the helper
    died, and the other sheets are read."""
    path = workbook(tmp_path / "县.xlsx")
    work = tmp_path / "work"
    work.mkdir()
    (work / "dying_work.py").write_text(
        "import os, sys\n"
        "def items(job):\n"
        "    def die():\n"
        "        sys.stderr.write('x' * 200_000 + '\\nfatal: cannot go on\\n')\n"
        "        sys.stderr.flush()\n"
        "        os._exit(3)\n"
        "    for sheet, _ in job['sheets']:\n"
        "        yield sheet, die\n"
    )
    monkeypatch.syspath_prepend(str(work))  # on this process's path, so on the helper's too
    monkeypatch.setattr(readers, "HELPER_SHEETS", "dying_work:items")
    got = items(path, 2, monkeypatch)
    [share] = helpers_always
    [lost] = [x for x in got if isinstance(x, InputError)]
    assert lost.sheet == share[0] and lost.file == str(path)
    assert "无法读取工作表（读取子进程异常退出（代码 3：fatal: cannot go on））" in str(lost)
    read = {x.sheet for x in got if isinstance(x, RawSheet)}
    assert read == {"户信息", "家庭成员", "村信息", "帮扶措施"} - {share[0]}


def test_the_audited_folder_is_not_on_the_helpers_path(tmp_path, monkeypatch, helpers_always):
    path = workbook(tmp_path / "县.xlsx")
    marker = tmp_path / "imported"
    (tmp_path / "json.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit(9)\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend("")
    got = items(path, 2, monkeypatch)
    assert helpers_always and all(isinstance(x, RawSheet) for x in got)
    assert not marker.exists()


def test_a_caller_script_needs_no_main_guard(tmp_path):
    """multiprocessing's spawn would re-run a caller's script; the helpers must not."""
    path = workbook(tmp_path / "县.xlsx")
    script = tmp_path / "caller.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(SRC)!r})
        from fupin_audit.io import parallel
        from fupin_audit.io.readers import read_file
        parallel.HELPER_MIN_BYTES = 0
        for item in read_file({str(path)!r}):
            print(item.sheet, item.grid.shape)
        """)
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env={"FUPIN_AUDIT_WORKERS": "2", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[:4] == [
        "户信息 (3001, 6)",
        "家庭成员 (9001, 6)",
        "村信息 (41, 6)",
        "帮扶措施 (5001, 6)",
    ]


def test_sheets_are_dealt_largest_first_to_the_least_loaded():
    sizes = {"a": 300 << 20, "b": 236 << 20, "c": 119 << 20, "d": 34 << 20, "e": 1 << 20}
    assert parallel.deal(sizes, 2) == [["a", "d", "e"], ["b", "c"]]
    assert parallel.deal(sizes, 1) == [["a", "b", "c", "d", "e"]]
    small = {"a": 40 << 20, "b": 8 << 20}  # a helper for 8 MB is not worth starting
    assert parallel.deal(small, 2) == [["a", "b"]]


@pytest.mark.parametrize("value", ["0", "-1", "two"])
def test_workers_variable_is_checked(monkeypatch, value):
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", value)
    with pytest.raises(ConfigError, match="FUPIN_AUDIT_WORKERS"):
        available_workers()


def rewritten(path: Path, edits: dict) -> Path:
    """The workbook with some members' bytes changed (``edits``: member → function), stored
    uncompressed, with correct checksums."""
    import zipfile

    out = path.with_name("edited.xlsx")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            dst.writestr(info.filename, edits.get(info.filename, lambda b: b)(data))
    return out


def damaged(path: Path, member: str) -> Path:
    """One digit in the middle of ``member`` changed after the fact: its CRC no longer matches."""
    import zipfile

    plain = rewritten(path, {})
    with zipfile.ZipFile(plain) as zf:
        info = zf.getinfo(member)
    data = bytearray(plain.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    at = next(i for i in range(start + info.file_size // 2, start + info.file_size) if data[i] in b"12345678")
    data[at] += 1
    plain.write_bytes(bytes(data))
    return plain


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sheet_with_damaged_bytes_is_an_error_not_a_crash(tmp_path, monkeypatch, helpers_always, workers):
    path = damaged(workbook(tmp_path / "县.xlsx"), "xl/worksheets/sheet2.xml")  # 家庭成员
    got = items(path, workers, monkeypatch)
    errors = [x for x in got if isinstance(x, InputError)]
    if workers == 1:  # the whole workbook is scanned before reading: the file is refused
        assert len(errors) == 1 and errors[0].sheet is None and "CRC" in str(errors[0])
    else:  # each sheet is scanned right before it is read: the others are still read
        assert [e.sheet for e in errors] == ["家庭成员"] and "CRC" in str(errors[0])
        assert {x.sheet for x in got if isinstance(x, RawSheet)} == {"户信息", "村信息", "帮扶措施"}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_sheet_the_safety_scan_cannot_match_is_not_read(tmp_path, monkeypatch, helpers_always, workers):
    """A tab in a sheet's name: the XML parser reads it as a space, the reader keeps it, so the
    scan's verdict cannot be matched to the sheet. The sheet is refused, not read unchecked."""

    def rename(data: bytes) -> bytes:
        return data.replace('name="村信息"'.encode(), 'name="村\t信息"'.encode(), 1)

    path = rewritten(workbook(tmp_path / "县.xlsx"), {"xl/workbook.xml": rename})
    got = items(path, workers, monkeypatch)
    [refused] = [x for x in got if isinstance(x, InputError)]
    assert refused.sheet == "村\t信息" and "对不上" in str(refused)
    assert [x.sheet for x in got if isinstance(x, RawSheet)] == ["户信息", "家庭成员", "帮扶措施"]


def test_helpers_that_cannot_start_leave_their_sheets_to_this_process(tmp_path, monkeypatch, helpers_always):
    import subprocess

    def no_processes(*args, **kwargs):
        raise OSError("不能再创建进程")

    path = workbook(tmp_path / "县.xlsx")
    alone = items(path, 1, monkeypatch)
    monkeypatch.setattr(subprocess, "Popen", no_processes)
    same(alone, items(path, 3, monkeypatch))
    assert helpers_always  # they were tried


def test_a_sheet_asked_for_twice_is_read_once(tmp_path, monkeypatch, helpers_always):
    path = workbook(tmp_path / "县.xlsx")
    monkeypatch.setenv("FUPIN_AUDIT_WORKERS", "2")
    got = list(read_file(path, sheets=["帮扶措施", "家庭成员", "帮扶措施", "户信息", "家庭成员"]))
    assert [(type(x).__name__, x.sheet) for x in got] == [
        ("RawSheet", "帮扶措施"),
        ("RawSheet", "家庭成员"),
        ("RawSheet", "户信息"),
    ]
