"""Hive-partitioned parquet as `convert` and the sample generator write it: DIR/<by>=<value>/<table>.parquet,
every column a string column. Kept out of `sample` so that converting real data needs no generator."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

EMPTY_PARTITION = "__空__"  # directory value for rows whose partition column is empty
ROSTERS_FILE = "rosters.parquet"  # reference lists: one file at the root, shared by every partition
_UNSAFE = set('/\\=%:*?"<>|#')


def partition_value(value: str) -> str:
    """A partition value as a directory name: empty → `EMPTY_PARTITION`; characters a path or hive
    cannot hold (/ \\ = % : * ? " < > | # and control characters) percent-encoded as UTF-8 (%2F …), which
    pyarrow's and Dask's hive partitioning decode."""
    value = str(value).strip()
    if not value:
        return EMPTY_PARTITION
    out = []
    for ch in value:
        if ch in _UNSAFE or ord(ch) < 32 or ch == "\x7f":
            out.append("".join(f"%{b:02X}" for b in ch.encode("utf-8")))
        else:
            out.append(ch)
    text = "".join(out)
    return "%2E" + text[1:] if text.startswith(".") else text  # never a hidden or "." / ".." directory


def partition_dir(root: Path, by: str, value: str) -> Path:
    return Path(root) / f"{by}={partition_value(value)}"


def string_table(df: pd.DataFrame):
    """A pyarrow table of `df` with every column a string column (missing cells stay null)."""
    import pyarrow as pa

    schema = pa.schema([(str(c), pa.string()) for c in df.columns])
    arrays = []
    for c in df.columns:
        try:
            arrays.append(pa.array(df[c], type=pa.string(), from_pandas=True))
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # a non-text cell: its text
            arrays.append(pa.array([None if pd.isna(v) else str(v) for v in df[c]], type=pa.string()))
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet_file(df: pd.DataFrame, path: Path) -> Path:
    """One parquet file, every column a string column, written atomically (temp file, then rename)."""
    import pyarrow.parquet as pq

    from fupin_audit.report.atomic import atomic_open

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb") as fh:
        pq.write_table(string_table(df), fh)
    return path
