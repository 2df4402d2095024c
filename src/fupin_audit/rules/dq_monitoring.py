"""Data quality of 防返贫监测 exports (DQ060–DQ073, MONITORING.md §5)."""

from __future__ import annotations
