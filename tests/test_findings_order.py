"""sort_findings ranks messages only inside runs of equal (file, sheet, row, rule, column): the order must
be the one a full sort with message as the last key gives, ties kept in the order the rules ran."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fupin_audit.findings import assemble, sort_findings


def test_order_equals_a_full_stable_sort():
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame({
        "file": rng.choice(["b.xlsx", "a.xlsx"], n),
        "sheet": rng.choice(["户", "人"], n),
        "row": pd.array(np.where(rng.random(n) < 0.05, None, rng.integers(2, 40, n)), dtype="Int64"),
        "rule": rng.choice(["DQ003", "DQ034", "IN001"], n),
        "column": rng.choice(["文化程度", ""], n),
        "message": rng.choice(["乙", "甲", "a", "甲"], n),  # many exact ties: rule order decides
        "value": [str(i) for i in range(n)],  # the original position, to see stability
    })  # fmt: skip
    found = sort_findings(assemble([frame]))
    expected = frame.assign(
        _has=frame["row"].notna(), _row=frame["row"].fillna(0), _pos=range(n)
    ).sort_values(["file", "sheet", "_has", "_row", "rule", "column", "message", "_pos"], kind="stable")
    assert list(found["value"]) == list(expected["value"])
    assert found["value"].tolist() != frame["value"].tolist()  # it did sort
