"""Integer codes a rule groups by, made without a text per row, group the rows exactly as the texts
they stand for do."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from fupin_audit.audit import Settings
from fupin_audit.engine.context import AuditContext
from fupin_audit.facts.keys import joint_codes
from fupin_audit.load import load
from fupin_audit.rules.siyan import _helper_codes, helper_keys
from fupin_audit.sample import generate, write_parquet


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return load(write_parquet(generate(60, seed=11, year=2017), tmp_path_factory.mktemp("county")))


def _same_partition(a: np.ndarray, b: np.ndarray) -> None:
    """Equal codes in `a` exactly where equal in `b`, and -1 at the same rows."""
    assert (a < 0).tolist() == (b < 0).tolist()
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    assert len({x for x, _ in pairs}) == len(pairs) == len({y for _, y in pairs})


def _without_some_ids(table, every: int):
    """The table with 帮扶责任人证件号码 blanked on every `every`-th row, and a name shared across units."""
    data, raw = table.data.copy(), table.raw.copy()
    blank = np.arange(len(data)) % every == 0
    for frame in (data, raw):
        frame.loc[blank, "帮扶责任人证件号码"] = None
        if "帮扶单位" in frame:
            frame.loc[blank[: len(frame)] & (np.arange(len(frame)) % (2 * every) == 0), "帮扶单位"] = (
                "县教育局"
            )
    return dataclasses.replace(table, data=data, raw=raw)


@pytest.mark.parametrize("every", [1, 3, 10**9])
@pytest.mark.parametrize("kind", ["helpers", "households"])
def test_helper_codes_group_as_helper_keys(dataset, kind, every):
    ctx = AuditContext(dataset, Settings.from_file(None).policy, None)
    if not ctx.has(kind, "帮扶责任人证件号码"):
        pytest.skip(f"{kind} has no 帮扶责任人证件号码")
    table = ctx.table(kind)
    ctx.dataset.tables[kind] = _without_some_ids(table, every)
    try:
        (by_text,), n_text = joint_codes(helper_keys(ctx, kind))
        codes, n = _helper_codes(ctx, kind)
        labels = ctx.frame(kind).index[::7]
        some = helper_keys(ctx, kind, labels).tolist()
        assert some == helper_keys(ctx, kind).loc[labels].tolist()
    finally:
        ctx.dataset.tables[kind] = table
    _same_partition(codes, by_text)
    assert n == n_text
    assert isinstance(helper_keys(ctx, kind, pd.Index([])), pd.Series)


def test_village_poor_counts_are_worked_out_once_for_the_village_table(dataset):
    """SY301, SY305 and the summary ask for the village table's counts: computed once, and what
    computing them afresh gives."""
    from fupin_audit.facts.households import _village_poor_counts, village_poor_counts

    ctx = AuditContext(dataset, Settings.from_file(None).policy, None)
    first = village_poor_counts(ctx, ctx.frame("villages"))
    assert village_poor_counts(ctx, ctx.frame("villages")) is first
    pd.testing.assert_frame_equal(first, _village_poor_counts(ctx, ctx.frame("villages")))
