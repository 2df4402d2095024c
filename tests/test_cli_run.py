"""The console script ends the process without tearing the run down (cli.app.run): exit codes and
outputs must be exactly those of `main()`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from fupin_audit.cli import app

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "宿松县样例.xlsx"
LINES = SAMPLE.parent / "样例贫困线.toml"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fupin_audit", *args], capture_output=True, text=True)


def test_the_whole_report_is_written_before_the_process_ends(tmp_path: Path) -> None:
    out = tmp_path / "f.csv"
    done = _cli("check", str(SAMPLE), "--config", str(LINES), "--format", "csv", "--output", str(out))
    assert done.returncode == 1  # the sample has error findings
    to_stdout = _cli("check", str(SAMPLE), "--config", str(LINES), "--format", "csv")
    assert to_stdout.returncode == 1
    written = out.read_text("utf-8")
    assert written.splitlines() == to_stdout.stdout.splitlines()
    assert len(written.splitlines()) > 50  # the header and every finding, not a prefix


def test_exit_code_two_when_nothing_can_be_read(tmp_path: Path) -> None:
    done = _cli("check", str(tmp_path / "missing.xlsx"))
    assert done.returncode == 2
    assert "missing.xlsx" in done.stderr


def test_a_reader_that_stops_early_gets_no_traceback() -> None:
    # `fupin-audit check … | head -1`: the pipe closes while the report is written
    cmd = f'"{sys.executable}" -m fupin_audit check "{SAMPLE}" --config "{LINES}" --format csv | head -1'
    done = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    assert done.stdout.startswith("rule,severity")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("raised", "code", "said"), [(0, 0, ""), (None, 0, ""), (2, 2, ""), ("坏了", 1, "坏了")]
)
def test_run_exits_with_mains_code(monkeypatch, capsys, raised, code, said) -> None:
    def fake_main() -> None:
        raise SystemExit(raised)

    exited: list[int] = []
    monkeypatch.setattr(app, "main", fake_main)
    monkeypatch.setattr(app.os, "_exit", exited.append)
    app.run()
    assert exited == [code]
    assert said in capsys.readouterr().err
