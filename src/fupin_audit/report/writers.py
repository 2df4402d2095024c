"""Machine-readable outputs of the findings frame (OUTPUT.md): csv, jsonl, json."""

from __future__ import annotations

import json
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


def write_csv(findings: pd.DataFrame, out: IO[str], *, bom: bool = False) -> None:
    """RFC 4180, UTF-8 (BOM on request, for Excel)."""
    from fupin_audit.report.protect import neutralise_formulas

    if bom:
        out.write("\ufeff")
    frame = neutralise_formulas(findings.reindex(columns=list(FINDING_COLUMNS)))
    frame.to_csv(out, index=False, lineterminator="\r\n")


def write_jsonl(findings: pd.DataFrame, out: IO[str]) -> None:
    for record in _records(findings):
        out.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_json(findings: pd.DataFrame, summary: dict[str, Any], out: IO[str]) -> None:
    json.dump({"summary": summary, "findings": _records(findings)}, out, ensure_ascii=False, indent=1)
    out.write("\n")
