"""Benchmark: the full `fupin-audit check` against the bare cost of reading the same files.

    python bench/run.py                      # 10 000, 100 000 and 1 000 000 households (~11 min here)
    python bench/run.py --sizes 10000 --runs 3 --out bench/out
    python bench/run.py --quick              # 10 000 and 100 000 households, one run each (~3 min)
    python bench/run.py --sizes 100000 --formats parquet --counties clean,storm   # issue #17's table
    python bench/run.py --sizes 100000 --formats parquet --counties monitoring    # a 2023 防返贫监测 county

Each size is benchmarked as a clean county (`--counties clean`: one planted case per rule per 1000
households) and as a finding storm (`storm`: `fupin_audit.sample.storm` plants ≥ 5 findings per
household, DQ003 DQ034 DQ041 IN001 LG401, on the same county), side by side, in the same formats. The
storm's parquet county is also checked with JSONL output, so the report stage is timed for both.

Needs the generator's extra: pip install '.[sample]' (or '.[test]').

For each size it generates a synthetic county with `fupin_audit.sample` (parquet; CSV and an xlsx
workbook with members on their own sheet up to 100 000 households), then, as whole processes and
`--runs` times each: the full check (every rule; stage times from --summary-json; peak RSS and CPU
time of the process) and the bare baselines — pandas.read_parquet, pandas.read_csv(engine="pyarrow"),
python-calamine into pandas. It prints a Markdown table of medians and the issue #5 targets (met or
not), and writes both to OUT/results.md (OUT/results.json holds every run).

Timings are wall-clock medians of whole processes (Python start-up and imports included, as a user
sees them); CPU seconds are given too because a shared machine makes wall time noisy, and the load
average is recorded next to each size. Each check run follows a run of its bare read (not all the
bare reads first), so a drift of the machine's speed hits both sides of a ratio alike, and the
package is byte-compiled first, as installing it does. The reader refuses a sheet of more than 60 million cells by
default (FUPIN_AUDIT_MAX_CELLS); a million households have 3.5 million members × 19 columns, so the
benchmark raises that limit for its own runs.
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

REPO = Path(__file__).resolve().parent.parent
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
# Formats benchmarked up to this many households (parquet: every size).
MAX_HOUSEHOLDS = {"parquet": 10**9, "csv": 100_000, "xlsx": 100_000}
# Issue #5 targets.
PARQUET_RATIO = 4.0  # 100 000 households, parquet: check ≤ 4 × bare read
MILLION_SECONDS, MILLION_GIB = 90.0, 8.0  # 1 000 000 households, parquet
XLSX_RATIO = 1.3  # 100 000 households, xlsx: check ≤ 1.3 × calamine alone
LINEAR_RATIO = 1.5  # time per household at 1M ≤ 1.5 × that at 100k
# Issue #17 targets (the storm county).
STORM_RATIO = 8.0  # 100 000 households, parquet: check ≤ 8 × bare read
REPORT_US_PER_FINDING = 1.0  # report stage, CSV and JSONL output
STORM_MILLION_FINDINGS = 5_000_000
COUNTIES = ("clean", "storm")  # the default; also "monitoring" (below)
# `--counties monitoring`: a 2023 防返贫监测 county, written by `fupin-audit sample --year 2023` in the
# system's 监测对象信息 layout (one row per person) with its work and village files.
MONITORING_YEAR = 2023
GIB = 1 << 30
# The generated counties are 2017 data of an 安徽 county, for which no line is built in: every rule is
# timed only with the sample's own 2017 line set (as a user checking 2017 data would set theirs).
SAMPLE_LINES = REPO / "sample_data" / "样例贫困线.toml"


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("FUPIN_AUDIT_MAX_CELLS", "1G")  # see the module docstring
    try:  # a clean checkout that was not installed: run the sources
        import fupin_audit  # noqa: F401
    except ImportError:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO / "src"), env.get("PYTHONPATH", "")) if p)
    return env


def compile_package(env: dict[str, str]) -> None:
    """Byte-compile the package first, as installing a wheel does: a source checkout run with
    PYTHONDONTWRITEBYTECODE set would otherwise compile its changed modules in every timed process."""
    code = "import compileall, os, fupin_audit; compileall.compile_dir(os.path.dirname(fupin_audit.__file__), quiet=1)"
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


def timed(cmd: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall seconds, CPU seconds, peak RSS (MiB) and exit code of one child process."""
    # Wrapped in a fresh python so RUSAGE_CHILDREN holds this child's figures only.
    wrapper = (
        "import resource, subprocess, sys, json\n"
        "rc = subprocess.call(sys.argv[1:])\n"
        "u = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "print(json.dumps([rc, u.ru_maxrss, u.ru_utime + u.ru_stime]))"
    )
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", wrapper, *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    try:
        rc, maxrss_kb, cpu = json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise SystemExit(f"benchmark child failed:\n{out.stderr}") from None
    return {"wall": wall, "cpu": cpu, "rss_mib": maxrss_kb / 1024, "rc": rc}


def generate(
    households: int, folder: Path, formats: list[str], county: str = "clean"
) -> dict[str, list[Path]]:
    if str(REPO / "src") not in sys.path:
        sys.path.insert(0, str(REPO / "src"))
    from fupin_audit.sample import generate as make
    from fupin_audit.sample import write_csv, write_parquet, write_xlsx
    from fupin_audit.sample.storm import storm

    folder.mkdir(parents=True, exist_ok=True)
    if county == "monitoring":
        return {"parquet": _monitoring_county(households, folder)} if "parquet" in formats else {}
    data = make(households, seed=7, year=2017, defects=True)
    if county == "storm":
        data = storm(data)
    files: dict[str, list[Path]] = {}
    for fmt in formats:
        if households > MAX_HOUSEHOLDS[fmt]:
            continue
        if fmt == "parquet":
            files[fmt] = write_parquet(data, folder / "parquet")
        elif fmt == "csv":
            files[fmt] = write_csv(data, folder / "csv")
        elif fmt == "xlsx":
            path = folder / "county.xlsx"
            write_xlsx(data, path, flat=False)  # members on their own sheet
            files[fmt] = [path]
    members = len(data.tables["members"])
    (folder / "rows.json").write_text(json.dumps({"households": households, "members": members}))
    return files


def _monitoring_county(households: int, folder: Path) -> list[Path]:
    out = folder / "parquet"
    cmd = [sys.executable, "-m", "fupin_audit", "sample", "--households", str(households),
           "--year", str(MONITORING_YEAR), "-f", "parquet", "-o", str(out)]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, env=child_env())
    files = sorted(out.glob("*.parquet"))
    import pyarrow.parquet as pq

    people = sum(pq.ParquetFile(p).metadata.num_rows for p in files if "监测对象" in p.name)
    (folder / "rows.json").write_text(json.dumps({"households": households, "members": people}))
    return files


def bench_size(
    households: int, root: Path, runs: int, formats: list[str], env: dict[str, str], county: str = "clean"
) -> list[dict]:
    folder = root / (f"h{households}" if county == "clean" else f"h{households}-{county}")
    clock = time.perf_counter()
    files = generate(households, folder, formats, county)
    members = json.loads((folder / "rows.json").read_text())["members"]
    print(f"  {county}: generated in {time.perf_counter() - clock:.1f}s", file=sys.stderr)
    # The storm's parquet county is also written as JSONL: the report stage is timed for both outputs.
    jobs = [(fmt, "csv") for fmt in files] + (
        [("parquet", "jsonl")] if county == "storm" and "parquet" in files else []
    )
    rows = []
    base_of: dict[str, list[dict[str, float]]] = {}
    for fmt, output in jobs:
        names = [str(p) for p in files[fmt]]
        load_before = os.getloadavg()[0]
        base = base_of.setdefault(fmt, [])
        checks, stages = [], []
        for i in range(runs):
            # A bare read before each check, not all of them first: on a shared machine whose speed
            # drifts, the pair sees the same machine.
            if len(base) < runs:
                base.append(timed([sys.executable, "-c", BASELINES[fmt], *names], env))
            summary = folder / f"summary_{fmt}_{output}_{i}.json"
            cmd = [sys.executable, "-m", "fupin_audit", "check", *names, "--quiet", "--format", output,
                   "--output", str(folder / f"findings_{fmt}.{output}"), "--summary-json", str(summary),
                   "--keep-going", "--config", str(SAMPLE_LINES)]  # fmt: skip
            checks.append(timed(cmd, env))
            stages.append(json.loads(summary.read_text("utf-8"))["seconds"])
        check_wall = statistics.median(c["wall"] for c in checks)
        base_wall = statistics.median(b["wall"] for b in base)
        staged = {
            k: statistics.median(s.get(k, 0) for s in stages) for k in ("read", "validate", "rules", "report")
        }
        findings = json.loads(summary.read_text("utf-8"))["counts"]["findings"]
        rows.append({
            "households": households,
            "members": members,
            "county": county,
            "format": fmt,
            "output": output,
            "check_s": check_wall,
            "check_cpu_s": statistics.median(c["cpu"] for c in checks),
            "check_runs_s": [round(c["wall"], 2) for c in checks],
            "baseline_s": base_wall,
            "baseline_cpu_s": statistics.median(b["cpu"] for b in base),
            "ratio": check_wall / base_wall,
            "peak_rss_mib": max(c["rss_mib"] for c in checks),
            "baseline_rss_mib": max(b["rss_mib"] for b in base),
            **{f"{k}_s": v for k, v in staged.items()},
            "other_s": check_wall - sum(staged.values()),
            "us_per_household": check_wall / households * 1e6,
            "findings": findings,
            "us_per_finding": check_wall / findings * 1e6 if findings else None,
            "report_us_per_finding": staged["report"] / findings * 1e6 if findings else None,
            "exit_codes": sorted({c["rc"] for c in checks}),
            "load_avg": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        })  # fmt: skip
        r = rows[-1]
        print(
            f"  {county} {fmt}→{output}: check {check_wall:.2f}s (cpu {r['check_cpu_s']:.1f}s, {r['peak_rss_mib']:.0f} MiB), "
            f"bare read {base_wall:.2f}s, ×{r['ratio']:.2f}, load {r['load_avg']}",
            file=sys.stderr,
        )
    return rows


def targets(rows: list[dict]) -> list[tuple[str, str, str, bool | None]]:
    """(target, limit, measured, met) for the targets of issues #5 and #17 (None: not measured)."""
    find = {
        (r["households"], r["format"]): r for r in rows if r["county"] == "clean" and r["output"] == "csv"
    }
    out: list[tuple[str, str, str, bool | None]] = []
    r = find.get((100_000, "parquet"))
    out.append((
        "(a) 100 000 households, parquet: check ÷ bare read",
        f"≤ {PARQUET_RATIO:g}",
        f"{r['ratio']:.2f} ({r['check_s']:.1f} s ÷ {r['baseline_s']:.2f} s)" if r else "not run",
        r["ratio"] <= PARQUET_RATIO if r else None,
    ))  # fmt: skip
    r = find.get((1_000_000, "parquet"))
    out.append((
        "(b) 1 000 000 households, parquet: wall time, peak RSS",
        f"≤ {MILLION_SECONDS:g} s, ≤ {MILLION_GIB:g} GiB",
        f"{r['check_s']:.1f} s, {r['peak_rss_mib'] / 1024:.2f} GiB" if r else "not run",
        (r["check_s"] <= MILLION_SECONDS and r["peak_rss_mib"] * (1 << 20) <= MILLION_GIB * GIB) if r else None,
    ))  # fmt: skip
    r = find.get((100_000, "xlsx"))
    out.append((
        "(c) 100 000 households, xlsx: check ÷ calamine alone",
        f"≤ {XLSX_RATIO:g}",
        f"{r['ratio']:.2f} ({r['check_s']:.1f} s ÷ {r['baseline_s']:.1f} s)" if r else "not run",
        r["ratio"] <= XLSX_RATIO if r else None,
    ))  # fmt: skip
    small, big = find.get((100_000, "parquet")), find.get((1_000_000, "parquet"))
    if small and big:
        scale = big["us_per_household"] / small["us_per_household"]
        measured = f"{scale:.2f} ({big['us_per_household']:.0f} µs vs {small['us_per_household']:.0f} µs)"
        out.append(
            (
                "(d) time per household, 1M ÷ 100k (parquet)",
                f"≤ {LINEAR_RATIO:g}",
                measured,
                scale <= LINEAR_RATIO,
            )
        )
    else:
        out.append(("(d) time per household, 1M ÷ 100k (parquet)", f"≤ {LINEAR_RATIO:g}", "not run", None))
    return out + storm_targets(rows)


def storm_targets(rows: list[dict]) -> list[tuple[str, str, str, bool | None]]:
    """Issue #17: the storm county (parquet)."""
    find = {
        (r["households"], r["output"]): r for r in rows if r["county"] == "storm" and r["format"] == "parquet"
    }
    out: list[tuple[str, str, str, bool | None]] = []
    r = find.get((100_000, "csv"))
    out.append((
        "(e) 100 000 households, storm, parquet: check ÷ bare read",
        f"≤ {STORM_RATIO:g}",
        f"{r['ratio']:.2f} ({r['check_s']:.1f} s ÷ {r['baseline_s']:.2f} s, {r['findings']:,} findings)" if r else "not run",
        r["ratio"] <= STORM_RATIO if r else None,
    ))  # fmt: skip
    for output in ("csv", "jsonl"):
        r = find.get((100_000, output))
        out.append((
            f"(f) 100 000 households, storm: report stage per finding, {output}",
            f"≤ {REPORT_US_PER_FINDING:g} µs",
            f"{r['report_us_per_finding']:.2f} µs ({r['report_s']:.2f} s)" if r and r["findings"] else "not run",
            r["report_us_per_finding"] <= REPORT_US_PER_FINDING if r and r["findings"] else None,
        ))  # fmt: skip
    r = find.get((1_000_000, "csv"))
    out.append((
        "(g) 1 000 000 households, storm: findings, wall time, peak RSS",
        f"≥ {STORM_MILLION_FINDINGS / 1e6:g}M, ≤ {MILLION_SECONDS:g} s, ≤ {MILLION_GIB:g} GiB",
        f"{r['findings'] / 1e6:.2f}M, {r['check_s']:.1f} s, {r['peak_rss_mib'] / 1024:.2f} GiB" if r else "not run",
        (r["findings"] >= STORM_MILLION_FINDINGS and r["check_s"] <= MILLION_SECONDS
         and r["peak_rss_mib"] * (1 << 20) <= MILLION_GIB * GIB) if r else None,
    ))  # fmt: skip
    small, big = find.get((100_000, "csv")), find.get((1_000_000, "csv"))
    if small and big and small["findings"] and big["findings"]:
        scale = big["us_per_finding"] / small["us_per_finding"]
        measured = f"{scale:.2f} ({big['us_per_finding']:.2f} µs vs {small['us_per_finding']:.2f} µs)"
        out.append(
            ("(h) storm: time per finding, 1M ÷ 100k", f"≤ {LINEAR_RATIO:g}", measured, scale <= LINEAR_RATIO)
        )
    else:
        out.append(("(h) storm: time per finding, 1M ÷ 100k", f"≤ {LINEAR_RATIO:g}", "not run", None))
    return out


def markdown(rows: list[dict], runs: int) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Measured {time.strftime('%Y-%m-%d')} on {machine}; medians of {runs} runs; whole processes "
        "(start-up included). Stage columns come from --summary-json; “other” is start-up, imports, the "
        "run summary and writing the report.",
        "",
        "| households | members | county | format | output | check (s) | check CPU (s) | bare read (s) "
        "| check ÷ read | read | validate | rules | report | other | peak RSS (MiB) | findings "
        "| report µs/finding | load avg |",
        "|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        per = f"{r['report_us_per_finding']:.2f}" if r.get("report_us_per_finding") is not None else "—"
        lines.append(
            f"| {r['households']:,} | {r['members']:,} | {r['county']} | {r['format']} | {r['output']} "
            f"| {r['check_s']:.2f} | {r['check_cpu_s']:.1f} "
            f"| {r['baseline_s']:.2f} | {r['ratio']:.2f} | {r['read_s']:.2f} | {r['validate_s']:.2f} "
            f"| {r['rules_s']:.2f} | {r['report_s']:.2f} | {r['other_s']:.2f} | {r['peak_rss_mib']:.0f} "
            f"| {r['findings']:,} | {per} | {r['load_avg'][0]}–{r['load_avg'][1]} |"
        )
    lines += ["", "| target | limit | measured | met |", "|---|---|---|---|"]
    for name, limit, measured, met in targets(rows):
        lines.append(f"| {name} | {limit} | {measured} | {'—' if met is None else 'yes' if met else 'no'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 100_000, 1_000_000]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", type=lambda s: s.split(","), default=["parquet", "csv", "xlsx"])
    parser.add_argument("--quick", action="store_true", help="10 000 and 100 000 households, one run each")
    parser.add_argument(
        "--counties",
        type=lambda s: s.split(","),
        default=list(COUNTIES),
        help="clean, storm or both (default), side by side at each size; monitoring: a 2023 防返贫监测 county",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="keep data and results here (default: a temp dir)"
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.runs = [10_000, 100_000], 1
    root = args.out or Path(tempfile.mkdtemp(prefix="fupin-bench-"))
    env = child_env()
    compile_package(env)
    started = time.perf_counter()
    rows = []
    for size in args.sizes:
        print(f"{size} households", file=sys.stderr)
        for county in args.counties:
            rows += bench_size(size, root, args.runs, args.formats, env, county)
    table = markdown(rows, args.runs)
    root.mkdir(parents=True, exist_ok=True)
    (root / "results.md").write_text(table, "utf-8")
    (root / "results.json").write_text(json.dumps(rows, indent=1), "utf-8")
    print(table)
    print(
        f"benchmark took {time.perf_counter() - started:.0f} s; data and results in {root}", file=sys.stderr
    )


if __name__ == "__main__":
    main()
