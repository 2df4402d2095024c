"""Write a synthetic county: ``python -m fupin_audit.sample OUT [--households N] [--year Y] …``.

OUT ending in .xlsx writes one workbook; otherwise OUT is a folder of CSV (or parquet) files.
The manifest of planted defects is written next to it (``…_planted.csv``) and summarised on stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import generate, write_csv, write_parquet, write_xlsx


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fupin_audit.sample", description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path, help="a .xlsx file, or a folder for CSV/parquet")
    ap.add_argument("--households", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--year", type=int, default=2017)
    ap.add_argument("--county", default="宿松县")
    ap.add_argument("--clean", action="store_true", help="plant no defects")
    ap.add_argument("--format", choices=["xlsx", "csv", "parquet"], default=None)
    ap.add_argument(
        "--split", action="store_true", help="separate 户信息 / 家庭成员 instead of one flat sheet"
    )
    ap.add_argument("--encoding", default="utf-8", help="CSV encoding (gb18030 gives CRLF, like GBK exports)")
    args = ap.parse_args(argv)
    fmt = args.format or ("xlsx" if args.out.suffix.lower() == ".xlsx" else "csv")
    t0 = time.perf_counter()
    data = generate(
        args.households, seed=args.seed, year=args.year, defects=not args.clean, county=args.county
    )
    t1 = time.perf_counter()
    if fmt == "xlsx":
        write_xlsx(data, args.out, flat=not args.split)
        manifest = args.out.with_name(args.out.stem + "_planted.csv")
    elif fmt == "csv":
        write_csv(data, args.out, encoding=args.encoding, flat=not args.split)
        manifest = args.out / "_planted.csv"
    else:
        write_parquet(data, args.out, flat=not args.split)
        manifest = args.out / "_planted.csv"
    if not args.clean:
        data.planted.to_csv(manifest, index=False, encoding="utf-8-sig")
    t2 = time.perf_counter()
    sizes = ", ".join(f"{k} {len(v)}" for k, v in data.tables.items())
    print(f"generated in {t1 - t0:.1f} s, written in {t2 - t1:.1f} s: {sizes}", file=sys.stderr)
    if not args.clean:
        print(
            f"planted {len(data.planted)} cases of {data.planted['rule'].nunique()} rules → {manifest}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
