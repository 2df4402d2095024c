"""The xlsx report of a monitoring-era run shows the monitored households by category, with a chart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import openpyxl

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data" / "防返贫监测样例2023.xlsx"


def test_xlsx_report_has_the_monitoring_table_and_chart(tmp_path):
    report = tmp_path / "report.xlsx"
    done = subprocess.run(
        [sys.executable, "-m", "fupin_audit", "check", str(SAMPLE), "-o", str(report), "-q"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    book = openpyxl.load_workbook(report)
    sheet = book["汇总"]
    cells = [[c.value for c in row] for row in sheet.iter_rows(max_col=2)]
    start = next(i for i, row in enumerate(cells) if row[0] == "监测对象（户）")
    assert cells[start + 1] == ["类别", "户数"]
    table = {}
    for row in cells[start + 2 :]:
        if row[0] is None:
            break
        table[row[0]] = row[1]
    assert set(table) >= {"脱贫不稳定户", "边缘易致贫户", "其中已消除风险"}
    assert all(isinstance(v, int | float) and v >= 0 for v in table.values())
    assert table["其中已消除风险"] <= sum(v for k, v in table.items() if k != "其中已消除风险")
    titles = []
    for chart in sheet._charts:
        rich = chart.title.tx.rich if chart.title and chart.title.tx else None
        titles.append("".join(r.t for p in (rich.p if rich else []) for r in (p.r or [])))
    assert "监测对象类别与风险消除（户）" in titles
