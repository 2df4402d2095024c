"""Input arguments → input files: a folder stands for the data files under it (a parquet dataset,
possibly hive-partitioned as ``县=宿松县/…``), in a fixed order so every engine sees the same files
in the same order (findings that name "the first row" depend on it)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

DATA_SUFFIXES = frozenset(
    {".parquet", ".pq", ".xlsx", ".xlsm", ".xls", ".xlsb", ".ods", ".csv", ".tsv", ".txt"}
)


def _is_data_file(path: Path) -> bool:
    # Hidden files, Spark/Hive markers (_SUCCESS, _common_metadata) and our own temp files are not data.
    name = path.name
    return path.is_file() and not name.startswith((".", "_")) and path.suffix.lower() in DATA_SUFFIXES


def _sort_key(path: Path) -> tuple[str, ...]:
    return path.parts


def expand_inputs(paths: Iterable[str | Path]) -> list[str]:
    """Files as given, in the order given; a folder becomes its data files, recursively, sorted by
    path. A folder holding no data file is kept as it is, so the reader reports it."""
    out: list[str] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            files = sorted((p for p in path.rglob("*") if _is_data_file(p)), key=_sort_key)
            out.extend(str(p) for p in files) if files else out.append(str(given))
        else:
            out.append(str(given))
    return out


def hive_values(path: str | Path) -> dict[str, str]:
    """The ``key=value`` folder names on a file's path (hive partitioning), outermost first."""
    values: dict[str, str] = {}
    for part in Path(path).parent.parts:
        key, sep, value = part.partition("=")
        if sep and key:
            values[key] = value
    return values
