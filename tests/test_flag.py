"""`AuditContext.flag`: the findings of some rows, whichever way a rule names the rows and hands over
the message and value (a column of the table, a Series on the flagged rows, on other labels), are
what label alignment gives. The fast paths (positions instead of label look-ups, arrays kept per
table) must not change a finding."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from fupin_audit.audit import Settings
from fupin_audit.engine.context import AuditContext, _per_source
from fupin_audit.load import load
from fupin_audit.sample import generate, write_parquet


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return load(write_parquet(generate(40, seed=5, year=2017), tmp_path_factory.mktemp("county")))


def _context(dataset) -> AuditContext:
    return AuditContext(dataset, Settings.from_file(None).policy, None)


def _expected(ctx: AuditContext, kind: str, labels: pd.Index, message, value) -> pd.DataFrame:
    """The findings by label alignment alone (the plain pandas the fast paths stand in for)."""
    table = ctx.table(kind)
    return pd.DataFrame(
        {
            "message": message if isinstance(message, str) else message.reindex(labels).to_numpy(),
            "row": table.data[("_row")].loc[labels].to_numpy(),
            "value": value.reindex(labels).to_numpy(),
            "household_id": table.data["户编号"].loc[labels].to_numpy(),
        },
        index=labels,
    )


def _check(found: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(found.index) == list(expected.index)
    for name in expected:
        assert found[name].tolist() == expected[name].tolist(), name
    assert found["value"].dtype == expected["value"].dtype or found["value"].dtype == "str"


@pytest.mark.parametrize("how", ["mask", "labels", "reversed labels"])
def test_a_column_of_the_table_is_taken_at_the_flagged_rows(dataset, how):
    ctx = _context(dataset)
    members = ctx.frame("members")
    mask = np.zeros(len(members), dtype=bool)
    mask[[1, 4, 9, len(members) - 1]] = True
    labels = members.index[mask]
    rows = {"mask": mask, "labels": list(labels), "reversed labels": list(labels[::-1])}[how]
    order = labels if how != "reversed labels" else labels[::-1]
    message = "成员 " + members["姓名"].astype(str)  # on every row: aligned by label
    found = ctx.flag("members", rows, message, column="证件号码")
    expected = _expected(ctx, "members", order, message, ctx.table("members").raw["证件号码"])
    _check(found, expected)
    assert found["column"].tolist() == ["证件号码"] * len(order)


def test_a_message_on_other_labels_is_aligned_by_label(dataset):
    ctx = _context(dataset)
    members = ctx.frame("members")
    labels = members.index[[2, 3, 7]]
    # indexed by the flagged rows in another order, with a label that is not flagged
    message = pd.Series(["c", "b", "a", "extra"], index=[labels[2], labels[1], labels[0], members.index[0]])
    value = pd.Series([10.5, 11.5, 12.5], index=labels[::-1])
    found = ctx.flag("members", labels, message, value=value)
    _check(found, _expected(ctx, "members", labels, message, value))
    assert found["message"].tolist() == ["a", "b", "c"]
    assert found["value"].tolist() == [12.5, 11.5, 10.5]


def test_a_raw_table_with_other_labels_is_aligned_by_label(dataset):
    """Positions hold for the raw table only while it has the typed table's labels in order."""
    ctx = _context(dataset)
    table = ctx.table("members")
    labels = table.data.index[[0, 5, 6]]
    ctx.flag("members", labels, "m", column="证件号码")  # the table as loaded: positions hold
    shuffled = table.raw.iloc[::-1]  # the same labels, in reverse order: positions would be wrong
    ctx.dataset.tables["members"] = dataclasses.replace(table, raw=shuffled)
    try:
        found = ctx.flag("members", labels, "m", column="证件号码")
        assert found["value"].tolist() == shuffled["证件号码"].reindex(labels).tolist()
        assert found["value"].tolist() == table.raw["证件号码"].reindex(labels).tolist()
    finally:
        ctx.dataset.tables["members"] = table


def test_labels_missing_from_the_table_fall_back_to_label_look_up(dataset):
    ctx = _context(dataset)
    members = ctx.frame("members")
    labels = pd.Index([members.index[3], members.index[3]])  # a repeat: positions still hold
    found = ctx.flag("members", labels, "重复", column="姓名")
    assert found["value"].tolist() == [ctx.table("members").raw["姓名"].iloc[3]] * 2
    with pytest.raises(KeyError):
        ctx.flag("members", [10**9], "不存在", column="姓名")


def test_texts_per_source_keep_first_seen_order_and_missing_texts():
    made = _per_source(["b.xlsx", "a.xlsx", "b.xlsx"])
    assert list(made.categories) == ["b.xlsx", "a.xlsx"]
    assert made.take(np.array([2, 1, 0])).tolist() == ["b.xlsx", "a.xlsx", "b.xlsx"]
    with_missing = _per_source(["a", None, "a"])
    assert list(with_missing.categories) == ["a"]
    assert pd.isna(with_missing.take(np.array([1]))[0])


def test_a_table_replaced_during_the_run_is_read_afresh(dataset):
    """Arrays are kept per table frame: a context given another frame of a table reads that one."""
    ctx = _context(dataset)
    table = ctx.table("members")
    labels = table.data.index[[0, 1]]
    before = ctx.flag("members", labels, "m", column="姓名")
    data = table.data.assign(户编号="H-" + table.data["户编号"].astype(str))
    raw = table.raw.assign(姓名="新" + table.raw["姓名"].astype(str))
    ctx.dataset.tables["members"] = dataclasses.replace(table, data=data, raw=raw)
    try:
        after = ctx.flag("members", labels, "m", column="姓名")
    finally:
        ctx.dataset.tables["members"] = table
    assert after["household_id"].tolist() == ["H-" + h for h in before["household_id"]]
    assert after["value"].tolist() == ["新" + v for v in before["value"]]


@pytest.mark.parametrize("kind", ["households", "members", "measures", "helpers"])
def test_related_records_are_the_rows_values(dataset, kind):
    """kit.related.records reads the rows by position; a repeated label (looked up by `.loc`)
    gives the same record again."""
    from fupin_audit.dataset import ROW_COLUMN
    from fupin_audit.rules.kit.related import RECORD_FIELDS, records

    ctx = _context(dataset)
    data = ctx.frame(kind)
    labels = list(data.index[[0, 3, len(data) - 1]])
    made = records(ctx, kind, labels)
    assert list(made) == labels
    for label in labels:
        record = made[label]
        assert record["row"] == data.loc[label, ROW_COLUMN] and record["table"] == kind
        for key, field in RECORD_FIELDS[kind]:
            value = data.loc[label, field] if field in data else None
            if value is None or pd.isna(value):
                assert key not in record
            elif isinstance(value, pd.Timestamp):
                assert record[key] == value.strftime("%Y-%m-%d")
            elif isinstance(value, float):
                assert record[key] == round(value, 2)
            else:
                assert record[key] == str(value)
    again = records(ctx, kind, [labels[1], labels[1]])
    assert again == {labels[1]: made[labels[1]]}


def test_related_records_leave_out_missing_texts(dataset):
    """A text cell left empty (null in a text column) is left out of its related record, as NaN is,
    never written as "" or "None"; the texts beside it are kept."""
    from fupin_audit.rules.kit.related import records

    ctx = _context(dataset)
    table = ctx.table("members")
    assert isinstance(table.data["姓名"].dtype, pd.StringDtype)  # the text path, not the object one
    names = table.data["姓名"].copy()
    names.iloc[1] = np.nan
    ctx.dataset.tables["members"] = dataclasses.replace(table, data=table.data.assign(姓名=names))
    try:
        made = records(ctx, "members", table.data.index[[0, 1]])
    finally:
        ctx.dataset.tables["members"] = table
    first, second = made.values()
    assert "name" not in second and second["id_number"] == str(table.data["证件号码"].iloc[1])
    assert first["name"] == table.data["姓名"].iloc[0]
