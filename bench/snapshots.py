"""Benchmark: what comparing two snapshots (`check CURRENT --previous PREVIOUS`) adds to a check.

    python bench/snapshots.py                        # 100 000 and 1 000 000 households
    python bench/snapshots.py --sizes 100000 --out bench/out

Needs the generator's extra: pip install '.[sample]' (or '.[test]').

For each size: a sample county (`fupin_audit.sample`, parquet, households and members on their own
files) and its next year (`sample.snapshot.next_year`, with the DT cases planted). In one process it
times `audit(current, select=DT)` without a previous snapshot (the DT rules skip: this is the load
of the current snapshot) and with one; the difference is split into loading the previous snapshot
(the audit's own `read_previous` stage) and the DT rules themselves (each rule's time is listed).
The issue's target: the DT rules cost at most a few seconds beyond loading the second snapshot.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def measure(households: int, folder: Path) -> dict[str, object]:
    from fupin_audit.audit import audit
    from fupin_audit.sample import generate, write_parquet
    from fupin_audit.sample.snapshot import next_year

    clock = time.perf_counter()
    before = generate(households, seed=7, year=2017)
    after = next_year(before)
    previous = write_parquet(before, folder / "2017")
    current = write_parquet(after, folder / "2018")
    made = time.perf_counter() - clock
    paths = [str(p) for p in current if "extra" not in p.name]
    old = [str(p) for p in previous if "extra" not in p.name]

    clock = time.perf_counter()
    alone = audit(paths, select=["DT"])
    alone_s = time.perf_counter() - clock
    clock = time.perf_counter()
    pair = audit(paths, previous=old, select=["DT"])
    pair_s = time.perf_counter() - clock
    rules = {o.code: round(o.seconds, 2) for o in pair.outcomes}
    return {
        "households": households,
        "generate_s": round(made, 1),
        "current_only_s": round(alone_s, 1),
        "with_previous_s": round(pair_s, 1),
        "read_previous_s": round(pair.seconds.get("read_previous", 0.0), 1),
        "dt_rules_s": round(pair.seconds["rules"], 1),
        "per_rule_s": rules,
        "findings": len(pair.findings),
        "planted": len(after.planted),
        "skipped_alone": sorted(o.code for o in alone.outcomes if o.status == "skipped"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    os.environ.setdefault("FUPIN_AUDIT_MAX_CELLS", "1G")
    results = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(size, Path(tmp))
        results.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    lines = [
        "| households | check (DT skipped) | with --previous | of which: read previous | DT rules | findings |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {r['households']:,} | {r['current_only_s']} s | {r['with_previous_s']} s | "
            f"{r['read_previous_s']} s | {r['dt_rules_s']} s | {r['findings']} ({r['planted']} planted) |"
            for r in results
        ),
    ]
    print("\n".join(lines))
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "snapshots.md").write_text("\n".join(lines) + "\n", "utf-8")
        (args.out / "snapshots.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")


if __name__ == "__main__":
    main()
