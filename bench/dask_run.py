"""Benchmark of the distributed engine: a multi-county dataset checked with `--engine dask` on a
LocalCluster (bounded memory per worker), and the same data with the one-machine pandas engine;
the two sets of findings are compared as sorted frames.

    python bench/dask_run.py                              # 30 counties × 95 000 households ≈ 10M members
    python bench/dask_run.py --counties 4 --households 20000 --workers 2 --memory-limit 6GiB
    python bench/dask_run.py --skip-pandas                # the dask run only

Needs the generator's and the engine's extras: pip install '.[sample,dask]' (or '.[test]').

The dataset is made once with `fupin-audit sample --counties N --partition-by 县 -f parquet` into
OUT/data (kept between runs). Both checks run as whole processes under /usr/bin/time (wall time,
CPU, peak RSS of the largest process); per-worker peaks come from the dask run's --summary-json.
Writes OUT/results.md and OUT/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
FINDING_COLUMNS = (
    "rule", "severity", "family", "title", "message", "table", "file", "sheet", "row", "column",
    "value", "household_id", "person_id", "id_number", "township", "village", "related",
)  # fmt: skip
GIB = 1 << 30


def timed(cmd: list[str], log: Path) -> dict[str, float]:
    """Run a whole process under /usr/bin/time -v: wall seconds, CPU seconds, peak RSS (bytes)."""
    env = {**os.environ, "FUPIN_AUDIT_MAX_CELLS": "2G"}
    start = time.perf_counter()
    with log.open("w") as err:
        done = subprocess.run(["/usr/bin/time", "-v", *cmd], stdout=subprocess.DEVNULL, stderr=err, env=env)
    wall = time.perf_counter() - start
    text = log.read_text(errors="replace")
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}; see {log}")
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1)) * 1024
    user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
    system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
    return {"wall": wall, "cpu": user + system, "peak_rss": rss, "exit": done.returncode}


def make_data(folder: Path, counties: int, households: int) -> None:
    if (folder / "done").exists():
        return
    cmd = [sys.executable, "-m", "fupin_audit", "sample", "--counties", str(counties), "--households",
           str(households), "-f", "parquet", "--partition-by", "县", "-o", str(folder)]  # fmt: skip
    print("generating:", " ".join(cmd[2:]), flush=True)
    subprocess.run(cmd, check=True)
    (folder / "done").write_text("")


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reindex(columns=list(FINDING_COLUMNS)).astype(object)
    frame = frame.where(frame.notna(), "").astype(str)
    frame["row"] = frame["row"].str.removesuffix(".0")
    return frame.sort_values(list(FINDING_COLUMNS)).reset_index(drop=True)


def run_dask(args, data: Path, findings: Path, summary: Path, out: Path) -> dict[str, float]:
    return timed(
        [sys.executable, "-m", "fupin_audit", "check", "--engine", "dask", "--workers", str(args.workers),
         "--memory-limit", args.memory_limit, str(data), "-o", str(findings), "-q", "--summary-json",
         str(summary)],
        out / "dask.log",
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=30)
    parser.add_argument("--households", type=int, default=95_000, help="per county")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="10GiB", help="per worker")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out-dask")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--reuse-dask", action="store_true", help="keep the dask run of an earlier call")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    data = out / "data"
    make_data(data, args.counties, args.households)

    summary_file = out / "dask-summary.json"
    findings_dir = out / "findings-dask"
    if args.reuse_dask and (out / "results.json").exists():
        dask = json.loads((out / "results.json").read_text(encoding="utf-8"))["dask"]
    else:
        print("checking with --engine dask …", flush=True)
        dask = run_dask(args, data, findings_dir, summary_file, out)
    summary = json.loads(summary_file.read_text(encoding="utf-8"))
    members = summary["tables"].get("members", 0)
    workers_peak = max(p["peak_rss_mib"] for p in summary["partitions"])
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "counties": args.counties,
        "households": summary["tables"].get("households", 0),
        "members": members,
        "workers": summary["workers"],
        "worker_memory_limit_mib": summary["worker_memory_limit_mib"],
        "dask": dask,
        "dask_stages": summary["seconds"],
        "dask_worker_peak_mib": workers_peak,
        "dask_findings": summary["counts"]["findings"],
        "members_per_second_per_worker": members / dask["wall"] / summary["workers"],
    }
    if not args.skip_pandas:
        print("checking with the pandas engine …", flush=True)
        pandas_csv = out / "findings-pandas.csv"
        result["pandas"] = timed(
            [sys.executable, "-m", "fupin_audit", "check", str(data), "-o", str(pandas_csv), "-q"],
            out / "pandas.log",
        )
        expected = pd.read_csv(pandas_csv, dtype=str, keep_default_na=False)
        parts = sorted(findings_dir.glob("*.parquet"))
        found = pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)
        result["pandas_findings"] = len(expected)
        result["identical"] = bool(comparable(found).equals(comparable(expected)))
    (out / "results.json").write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    table = markdown(result)
    (out / "results.md").write_text(table, encoding="utf-8")
    print(table)


def markdown(r: dict) -> str:
    lines = [
        f"{r['date']} · {r['machine']} · {r['counties']} counties, {r['households']:,} households, "
        f"{r['members']:,} members",
        "",
        "| engine | wall (s) | CPU (s) | peak RSS | findings |",
        "|---|---:|---:|---:|---:|",
        f"| dask, {r['workers']} workers × {r['worker_memory_limit_mib'] / 1024:.1f} GiB limit | "
        f"{r['dask']['wall']:.0f} | {r['dask']['cpu']:.0f} | largest worker {r['dask_worker_peak_mib'] / 1024:.1f} GiB | "
        f"{r['dask_findings']:,} |",
    ]
    if "pandas" in r:
        lines.append(
            f"| pandas (one process) | {r['pandas']['wall']:.0f} | {r['pandas']['cpu']:.0f} | "
            f"{r['pandas']['peak_rss'] / GIB:.1f} GiB | {r['pandas_findings']:,} |"
        )
        lines += ["", f"Findings identical (sorted frames): {'yes' if r['identical'] else 'NO'}"]
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in r["dask_stages"].items())
    lines += [
        "",
        f"Dask stages: {stages}. Throughput: {r['members_per_second_per_worker']:,.0f} members per second per worker.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
