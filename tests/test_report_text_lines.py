"""The Arrow CSV/JSONL writers write the bytes of the pandas writers they replaced, cell for cell.

tests/test_output_digests.py proves it on whole runs; here every awkward cell text is put in every
kind of column (categorical, Arrow text, plain Python objects as --mask leaves them, nulls).
"""

from __future__ import annotations

import io
import itertools
import json
import os

import numpy as np
import pandas as pd
import pytest

from fupin_audit.findings import FINDING_COLUMNS, assemble, conform
from fupin_audit.report import text_lines
from fupin_audit.report.writers import (
    csv_by_pandas,
    json_by_pandas,
    jsonl_by_pandas,
    write_csv,
    write_json,
    write_jsonl,
)

# Formula starts (some plain numbers, which stay as they are), CSV and JSON specials, control
# characters, full-width digits (Python's \d takes them), a trailing newline after a number ($ allows it).
ODD = [
    "",
    "=1+2",
    "+12",
    "-12.5",
    "-１２",
    "-12\n",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "a,b",
    'say "hi"',
    "line\nbreak",
    "cr\rlf",
    "back\\slash",
    "nul\x00and\x1f",
    "unit\x1fseparator",  # the last control character alone
    "del\x7f",  # not a control character for JSON: written as it is
    "ok 文本 “引号”",
    "emoji 😀 and \u2028",
    "'quoted",
]


def odd_findings(rows: int = 60) -> pd.DataFrame:
    """Findings as the pipeline assembles them, every column cycling through the odd texts."""
    texts = [ODD[(i * 7) % len(ODD)] for i in range(rows)]
    frame = pd.DataFrame({name: texts for name in FINDING_COLUMNS if name not in ("row", "related")})
    frame["rule"] = [f"DQ00{i % 3}" for i in range(rows)]
    frame["severity"] = ["error", "warning", "info"] * (rows // 3)
    frame["row"] = [None if i % 5 == 0 else i + 2 for i in range(rows)]
    related = json.dumps(
        [{"name": 'A"b', "row": 3, "note": "x\ny"}], ensure_ascii=False, separators=(",", ":")
    )
    frame["related"] = ["" if i % 4 else related for i in range(rows)]
    return assemble([frame])


def both(frame: pd.DataFrame) -> tuple[tuple[str, str], tuple[str, str]]:
    fast_csv, slow_csv, fast_jsonl, slow_jsonl = (io.StringIO() for _ in range(4))
    write_csv(frame, fast_csv)
    csv_by_pandas(frame, slow_csv)
    write_jsonl(frame, fast_jsonl)
    jsonl_by_pandas(frame, slow_jsonl)
    return (fast_csv.getvalue(), slow_csv.getvalue()), (fast_jsonl.getvalue(), slow_jsonl.getvalue())


def test_assembled_findings_take_the_arrow_path():
    frame = odd_findings()
    assert text_lines.csv_lines(frame) is not None
    assert text_lines.jsonl_lines(frame) is not None


@pytest.mark.parametrize("batch", [7, 1 << 17])
def test_odd_cells_write_the_same_bytes(batch: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(text_lines, "BATCH_ROWS", batch)  # several batches, and one
    (fast_csv, slow_csv), (fast_jsonl, slow_jsonl) = both(odd_findings())
    assert fast_csv == slow_csv
    assert fast_jsonl == slow_jsonl
    # the pandas writer really met the odd cases: quoted, neutralised, escaped
    assert "'=1+2" in slow_csv and '"a,b"' in slow_csv and "\\u0000" in slow_jsonl and "-12.5," in slow_csv


def test_plain_object_columns_and_nulls_write_the_same_bytes():
    """After --mask the text columns are Python objects; categorical and text cells may be missing."""
    frame = odd_findings().astype({"message": object, "value": object, "id_number": object})
    frame.loc[3, "value"] = None
    frame.loc[4, "message"] = np.nan
    frame["township"] = frame["township"].astype("str")
    frame.loc[5, "township"] = np.nan
    frame["file"] = frame["file"].cat.add_categories(["never"])
    frame.loc[6, "file"] = np.nan
    assert text_lines.csv_lines(frame) is not None  # still the fast path
    (fast_csv, slow_csv), (fast_jsonl, slow_jsonl) = both(frame)
    assert fast_csv == slow_csv
    assert fast_jsonl == slow_jsonl
    assert '"value": null' in slow_jsonl and '"file": null' in slow_jsonl


def test_no_findings_write_the_same_bytes():
    (fast_csv, slow_csv), (fast_jsonl, slow_jsonl) = both(conform(pd.DataFrame()))
    assert fast_csv == slow_csv == ",".join(FINDING_COLUMNS) + "\r\n"
    assert fast_jsonl == slow_jsonl == ""


def test_frame_of_other_types_falls_back_to_pandas():
    frame = odd_findings()
    frame["row"] = frame["row"].astype("float64")  # pandas writes 12.0: only pandas can say so
    frame["value"] = range(len(frame))
    assert text_lines.csv_lines(frame) is None and text_lines.jsonl_lines(frame) is None
    (fast_csv, slow_csv), (fast_jsonl, slow_jsonl) = both(frame)
    assert fast_csv == slow_csv and ",13.0," in fast_csv
    assert fast_jsonl == slow_jsonl


def test_writes_through_the_binary_buffer_after_a_bom(tmp_path):
    path = tmp_path / "f.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_csv(odd_findings(), fh, bom=True)
    reference = io.StringIO()
    csv_by_pandas(odd_findings(), reference)
    assert path.read_bytes() == ("\ufeff" + reference.getvalue()).encode("utf-8")


# --format json: one document (json.dump, indent=1) of the summary and the findings.
SUMMARY = {"tool": "fupin-audit", "counts": {"findings": 3, "by_rule": {"DQ001": 1}}, "empty": [], "none": {}}


def both_json(frame: pd.DataFrame) -> tuple[str, str]:
    fast, slow = io.StringIO(), io.StringIO()
    write_json(frame, SUMMARY, fast)
    json_by_pandas(frame, SUMMARY, slow)
    return fast.getvalue(), slow.getvalue()


@pytest.mark.parametrize("batch", [7, text_lines.BATCH_ROWS])
def test_json_document_writes_the_same_bytes(batch: int, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(text_lines, "BATCH_ROWS", batch)  # several batches: the first one's comma
    frame = odd_findings()
    assert text_lines.json_document(frame, SUMMARY) is not None
    fast, slow = both_json(frame)
    assert fast == slow
    assert json.loads(fast)["findings"][0]["related"] == [{"name": 'A"b', "row": 3, "note": "x\ny"}]


def test_json_document_with_object_columns_nulls_or_no_findings():
    frame = odd_findings().astype({"message": object, "value": object})
    frame.loc[3, "value"] = None
    frame.loc[4, "message"] = np.nan
    fast, slow = both_json(frame)
    assert fast == slow and '"value": null' in slow
    fast, slow = both_json(conform(pd.DataFrame()))
    assert fast == slow and slow.endswith('"findings": []\n}\n')
    other = odd_findings()
    other["row"] = other["row"].astype("float64")
    assert text_lines.json_document(other, SUMMARY) is None  # pandas writes it
    assert both_json(other)[0] == both_json(other)[1]


def test_write_behind_starts_the_disk_write_of_a_long_report(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """Into a file the lines are handed to the disk every WRITE_BEHIND bytes (the bytes unchanged);
    into a pipe, where it is impossible, nothing is asked."""
    from fupin_audit.report import writers

    calls: list[tuple[int, int]] = []
    real = writers.os.posix_fadvise

    def spy(fd: int, offset: int, length: int, advice: int) -> None:
        calls.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(writers, "WRITE_BEHIND", 4096)
    monkeypatch.setattr(text_lines, "BATCH_ROWS", 50)
    monkeypatch.setattr(writers.os, "posix_fadvise", spy)
    frame = odd_findings(600)
    path = tmp_path / "f.jsonl"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        write_jsonl(frame, fh)
    reference = io.StringIO()
    jsonl_by_pandas(frame, reference)
    assert path.read_bytes() == reference.getvalue().encode("utf-8")
    assert len(calls) > 3 and calls[0][0] == 0
    assert all(a + n == b for (a, n), (b, _) in itertools.pairwise(calls))  # one range after another

    calls.clear()
    read, write = os.pipe()
    with open(read, "rb") as reader, open(write, "w", encoding="utf-8") as pipe:
        import threading

        got: list[bytes] = []
        drain = threading.Thread(target=lambda: got.append(reader.read()))
        drain.start()
        write_jsonl(frame, pipe)
        pipe.close()
        drain.join()
    assert got[0] == reference.getvalue().encode("utf-8") and not calls


def test_many_large_categoricals_side_by_side_keep_their_own_texts():
    """Adjacent categorical columns are rendered per combination of their codes, one int64 each: a
    frame handed to the writers with seven categoricals of 600 categories side by side (600**7 > 2**63)
    is split into runs small enough, not written with wrapped-around codes."""
    frame = odd_findings(60).iloc[:3].copy()
    for name in ("column", "value", "household_id", "person_id", "id_number", "township", "village"):
        categories = [f"{name}{i:05d}" for i in range(600)]
        frame[name] = pd.Categorical([categories[-1], categories[0], categories[7]], categories=categories)
    (fast_csv, slow_csv), (fast_jsonl, slow_jsonl) = both(frame)
    assert "village00599" in fast_csv
    assert fast_csv == slow_csv
    assert fast_jsonl == slow_jsonl
