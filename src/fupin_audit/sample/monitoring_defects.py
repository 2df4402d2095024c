"""Planted defects of a monitoring-era county (stub)."""

from __future__ import annotations

import pandas as pd

from .defects import MANIFEST_COLS


def plant_monitoring(sample, *, seed: int, per_rule: int, active: bool) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in MANIFEST_COLS}, dtype="str")
