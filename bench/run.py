"""Benchmark: the full `fupin-audit check` against the bare cost of reading the same files.

    python bench/run.py                      # 10 000, 100 000 and 1 000 000 households (~15 min here)
    python bench/run.py --sizes 10000 --runs 3 --out bench/out

For each size it generates a synthetic county with `fupin-audit sample` (parquet and CSV; xlsx with
members on their own sheet up to 100 000 households), then, as whole processes and `--runs` times each:
the full check (every rule; stage times from --summary-json; peak RSS of the process) and the bare
baselines — pandas.read_parquet, pandas.read_csv(engine="pyarrow"), python-calamine into pandas.
It prints a Markdown table of medians (pasted into the README) and writes it to OUT/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BASELINES = {
    "parquet": "import sys, pandas as pd\nfor p in sys.argv[1:]: pd.read_parquet(p)",
    "csv": "import sys, pandas as pd\nfor p in sys.argv[1:]: pd.read_csv(p, engine='pyarrow', dtype=str)",
    "xlsx": (
        "import sys, pandas as pd\nfrom python_calamine import CalamineWorkbook\n"
        "for p in sys.argv[1:]:\n wb = CalamineWorkbook.from_path(p)\n"
        " for n in wb.sheet_names:\n  rows = wb.get_sheet_by_name(n).to_python()\n"
        "  pd.DataFrame(rows[1:], columns=rows[0] if rows else None)"
    ),
}
XLSX_MAX_HOUSEHOLDS = 100_000


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MiB) and exit code of one child process."""
    start = time.perf_counter()
    # Wrapped in a fresh python so RUSAGE_CHILDREN holds this child's peak only.
    wrapper = (
        "import resource, subprocess, sys, json\n"
        "rc = subprocess.call(sys.argv[1:])\n"
        "print(json.dumps([rc, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss]))"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    rc, maxrss_kb = json.loads(out.stdout.strip().splitlines()[-1])
    return wall, maxrss_kb / 1024, rc


def generate(households: int, folder: Path) -> dict[str, list[Path]]:
    from fupin_audit.sample import generate as make
    from fupin_audit.sample import write_csv, write_parquet, write_xlsx

    folder.mkdir(parents=True, exist_ok=True)
    data = make(households, seed=7, year=2017, defects=True)
    files = {
        "parquet": write_parquet(data, folder / "parquet"),
        "csv": write_csv(data, folder / "csv"),
    }
    if households <= XLSX_MAX_HOUSEHOLDS:
        path = folder / "county.xlsx"
        write_xlsx(data, path, flat=False)
        files["xlsx"] = [path]
    members = len(data.tables["members"])
    (folder / "rows.json").write_text(json.dumps({"households": households, "members": members}))
    return files


def bench_size(households: int, root: Path, runs: int) -> list[dict]:
    folder = root / f"h{households}"
    clock = time.perf_counter()
    files = generate(households, folder)
    print(f"  generated {households} households in {time.perf_counter() - clock:.1f}s", file=sys.stderr)
    rows = []
    for fmt, paths in files.items():
        names = [str(p) for p in paths]
        base = [timed([sys.executable, "-c", BASELINES[fmt], *names]) for _ in range(runs)]
        checks, stages = [], []
        for i in range(runs):
            summary = folder / f"summary_{fmt}_{i}.json"
            cmd = [sys.executable, "-m", "fupin_audit", "check", *names, "--quiet", "--format", "csv",
                   "--output", str(folder / f"findings_{fmt}.csv"), "--summary-json", str(summary), "--keep-going"]  # fmt: skip
            checks.append(timed(cmd))
            stages.append(json.loads(summary.read_text("utf-8"))["seconds"])
        check_wall = statistics.median(w for w, _, _ in checks)
        base_wall = statistics.median(w for w, _, _ in base)
        rows.append({
            "households": households,
            "format": fmt,
            "check_s": check_wall,
            "baseline_s": base_wall,
            "ratio": check_wall / base_wall,
            "peak_rss_mib": max(r for _, r, _ in checks),
            "read_s": statistics.median(s.get("read", 0) for s in stages),
            "validate_s": statistics.median(s.get("validate", 0) for s in stages),
            "rules_s": statistics.median(s.get("rules", 0) for s in stages),
            "report_s": statistics.median(s.get("report", 0) for s in stages),
            "findings": json.loads(summary.read_text("utf-8"))["counts"]["findings"],
            "exit_codes": sorted({rc for _, _, rc in checks}),
        })  # fmt: skip
        print(f"  {fmt}: check {check_wall:.2f}s, baseline {base_wall:.2f}s", file=sys.stderr)
    return rows


def markdown(rows: list[dict], runs: int) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine}; medians of {runs} runs; whole processes.",
        "",
        "| households | format | check (s) | bare read (s) | check ÷ read | read | validate | rules | report | peak RSS (MiB) | findings |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['households']:,} | {r['format']} | {r['check_s']:.2f} | {r['baseline_s']:.2f} | {r['ratio']:.2f} "
            f"| {r['read_s']:.2f} | {r['validate_s']:.2f} | {r['rules_s']:.2f} | {r['report_s']:.2f} "
            f"| {r['peak_rss_mib']:.0f} | {r['findings']:,} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000, 1_000_000]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=None, help="keep data and results here (default: a temp dir)"
    )
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="fupin-bench-"))
    rows = []
    for size in args.sizes:
        print(f"{size} households", file=sys.stderr)
        rows += bench_size(size, root, args.runs)
    table = markdown(rows, args.runs)
    (root / "results.md").write_text(table, "utf-8")
    (root / "results.json").write_text(json.dumps(rows, indent=1), "utf-8")
    print(table)


if __name__ == "__main__":
    main()
