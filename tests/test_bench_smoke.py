"""bench/run.py, whose figures the README quotes, runs: every kind of county at a toy size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def test_every_county_is_generated_checked_and_reported(tmp_path: Path) -> None:
    cmd = [sys.executable, str(BENCH), "--sizes", "300", "--formats", "parquet", "--runs", "1",
           "--counties", "clean,storm,monitoring", "--out", str(tmp_path)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((tmp_path / "results.json").read_text("utf-8"))
    rows = rows["rows"] if isinstance(rows, dict) else rows
    by_county = {(r["county"], r["output"]): r for r in rows}
    assert {("clean", "csv"), ("storm", "csv"), ("storm", "jsonl"), ("monitoring", "csv")} <= set(by_county)
    assert by_county[("storm", "csv")]["findings"] >= 5 * 300  # a storm: at least 5 findings a household
    assert by_county[("monitoring", "csv")]["members"] > 300  # one row per person
    assert "| target | limit | measured | met |" in (tmp_path / "results.md").read_text("utf-8")
