"""Machine-readable outputs of the findings frame (OUTPUT.md): csv, jsonl, json."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterable
from typing import IO, Any

import pandas as pd

from fupin_audit.findings import FINDING_COLUMNS

FORMATS = ("table", "csv", "jsonl", "json")
SUFFIX_FORMATS = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".txt": "table",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
}


def _records(findings: pd.DataFrame) -> list[dict[str, Any]]:
    frame = findings.reindex(columns=list(FINDING_COLUMNS)).astype(object)
    frame = frame.where(frame.notna(), None)
    records = frame.to_dict("records")
    for record in records:
        if record["row"] is not None:
            record["row"] = int(record["row"])
        record["related"] = json.loads(record["related"]) if record["related"] else None
    return records


# Write-behind: every this many bytes, the disk write of what was written is started (see _write_bytes).
WRITE_BEHIND = 16 << 20


def _write_bytes(out: IO[str], chunks: Iterable[bytes]) -> None:
    """UTF-8 bytes to a text stream: straight to its binary buffer when it has one (a file, stdout).

    Into a file, the disk write of each `WRITE_BEHIND` bytes is started while the next lines are
    built (POSIX_FADV_DONTNEED starts the write-back and frees the page cache those pages took): the
    fsync that ends an atomic write then finds little left to do. A storm's 330 MB of JSONL spent
    0.1 s in that fsync."""
    raw = getattr(out, "buffer", None)
    if raw is None:
        for chunk in chunks:
            out.write(bytes(chunk).decode("utf-8"))
        return
    out.flush()  # what was written as text (a BOM) goes first
    fd = _file_descriptor(raw)
    behind = written = raw.tell() if fd is not None else 0
    for chunk in chunks:
        raw.write(chunk)
        written += len(chunk)
        if fd is not None and written - behind >= WRITE_BEHIND:
            raw.flush()
            os.posix_fadvise(fd, behind, written - behind, os.POSIX_FADV_DONTNEED)
            behind = written
    raw.flush()


def _file_descriptor(raw: IO[bytes]) -> int | None:
    """The descriptor of a regular file (not a pipe or a terminal) where write-behind is possible."""
    if not hasattr(os, "posix_fadvise"):
        return None
    try:
        fd = raw.fileno()
        return fd if stat.S_ISREG(os.fstat(fd).st_mode) else None
    except (OSError, AttributeError, ValueError, io.UnsupportedOperation):
        return None


def write_csv(findings: pd.DataFrame, out: IO[str], *, bom: bool = False) -> None:
    """RFC 4180, UTF-8 (BOM on request, for Excel)."""
    from fupin_audit.report.text_lines import csv_lines

    if bom:
        out.write("\ufeff")
    lines = csv_lines(findings)
    if lines is not None:
        _write_bytes(out, lines)
    else:  # a frame of other types (never the pipeline's own): the reference writer
        csv_by_pandas(findings, out)


def csv_by_pandas(findings: pd.DataFrame, out: IO[str]) -> None:
    """The reference CSV writer (slow: Python objects per cell), whose bytes `csv_lines` reproduces."""
    from fupin_audit.report.protect import neutralise_formulas

    frame = neutralise_formulas(findings.reindex(columns=list(FINDING_COLUMNS)))
    frame.to_csv(out, index=False, lineterminator="\r\n")


def write_jsonl(findings: pd.DataFrame, out: IO[str]) -> None:
    from fupin_audit.report.text_lines import jsonl_lines

    lines = jsonl_lines(findings)
    if lines is not None:
        _write_bytes(out, lines)
    else:
        jsonl_by_pandas(findings, out)


def jsonl_by_pandas(findings: pd.DataFrame, out: IO[str]) -> None:
    """The reference JSONL writer (a dict and json.dumps per finding), whose bytes `jsonl_lines` reproduces."""
    for record in _records(findings):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_json(findings: pd.DataFrame, summary: dict[str, Any], out: IO[str]) -> None:
    """One document: the run summary and the findings (json.dump with indent=1)."""
    from fupin_audit.report.text_lines import json_document

    document = json_document(findings, summary)
    if document is not None:
        _write_bytes(out, document)
    else:
        json_by_pandas(findings, summary, out)


def json_by_pandas(findings: pd.DataFrame, summary: dict[str, Any], out: IO[str]) -> None:
    """The reference JSON writer (a dict per finding), whose bytes `json_document` reproduces."""
    json.dump({"summary": summary, "findings": _records(findings)}, out, ensure_ascii=False, indent=1)
    out.write("\n")


def write_parquet(findings: pd.DataFrame, path) -> None:
    """The findings as a parquet file (atomically), every column as in the contract; categorical
    columns as plain text so files of several runs or partitions share one schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fupin_audit.report.atomic import atomic_open

    frame = findings.reindex(columns=list(FINDING_COLUMNS)).copy()
    for name in frame.columns:
        if isinstance(frame[name].dtype, pd.CategoricalDtype):
            frame[name] = frame[name].astype("string")
    with atomic_open(path, "wb") as fh:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), fh)
