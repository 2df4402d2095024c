"""The vectorised validation must agree with pydantic's own validation of the same rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fupin_audit.schema.codes import code_list
from fupin_audit.schema.fields import FieldProblem, Kind, parse_column
from fupin_audit.schema.models import MODELS

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def cell_strategy(spec) -> st.SearchStrategy[str]:
    noise = st.sampled_from(
        ["", " ", "-", "/", "NULL", "abc", "#N/A", "一般贫困", "1,5", "3.5.1", "２０１７"]
    )
    text = st.text(alphabet="0123456789.-/年月日 ,xX男女是否", max_size=12)
    if spec.kind in (Kind.CODE, Kind.YESNO):
        codes = code_list(spec.codelist)
        known = st.sampled_from(sorted(codes.lookup))
        return st.one_of(known, known.map(lambda s: f" {s} "), noise, text)
    if spec.kind in (Kind.INT, Kind.MONEY, Kind.NUMBER):
        numbers = st.one_of(
            st.integers(-100, 200_000).map(str),
            st.floats(-1000, 1e6, allow_nan=False).map(lambda f: f"{f:.2f}"),
            st.integers(0, 5_000_000).map(lambda n: f"{n:,}"),
            st.integers(0, 99).map(lambda n: str(n).translate(FULL_WIDTH)),
        )
        return st.one_of(numbers, noise, text)
    if spec.kind in (Kind.DATE, Kind.YEAR):
        dates = st.dates(dt.date(1890, 1, 1), dt.date(2110, 12, 31))
        formats = st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日", "%Y.%m.%d", "%Y"])
        rendered = st.builds(lambda d, f: d.strftime(f), dates, formats)
        impossible = st.sampled_from(
            ["2017-02-30", "2017-13-01", "20170431", "2017年2月29日", "42736", "99999"]
        )
        return st.one_of(rendered, impossible, noise, text)
    return st.one_of(st.text(max_size=10), noise)


def pydantic_verdicts(model, rows: list[dict[str, str]]):
    verdicts: dict[tuple[int, str], str] = {}
    values: dict[tuple[int, str], object] = {}
    for i, row in enumerate(rows):
        try:
            instance = model.model_validate(row)
        except ValidationError as exc:
            for err in exc.errors():
                cause = err.get("ctx", {}).get("error")
                assert isinstance(cause, FieldProblem), err
                verdicts[(i, str(err["loc"][0]))] = cause.code
            continue
        for name in row:
            values[(i, name)] = getattr(instance, name)
    return verdicts, values


def _same(a: object, b: object) -> bool:
    if a is None or (not isinstance(a, str) and pd.isna(a)):
        return b is None or (not isinstance(b, str) and pd.isna(b))
    if isinstance(a, pd.Timestamp):
        return a.date() == b
    if isinstance(a, float):
        return abs(a - float(b)) < 1e-9
    return a == b


@pytest.mark.parametrize("kind", ["households", "members", "villages", "measures", "helpers", "rosters"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_vectorised_validation_matches_pydantic(kind, data):
    model = MODELS[kind]
    specs = {n: s for n, s in model.specs().items() if s.kind is not Kind.ID_NUMBER}
    rows = data.draw(
        st.lists(
            st.fixed_dictionaries({n: cell_strategy(s) for n, s in specs.items()}), min_size=1, max_size=6
        )
    )
    expected, expected_values = pydantic_verdicts(model, rows)
    frame = pd.DataFrame(rows)
    got: dict[tuple[int, str], str] = {}
    for name, spec in specs.items():
        parsed = parse_column(spec, name, frame[name])
        for i in range(len(rows)):
            if parsed.problem.iloc[i]:
                got[(i, name)] = parsed.problem.iloc[i]
            elif (i, name) in expected_values:
                value = parsed.values.iloc[i]
                assert _same(value, expected_values[(i, name)]), (name, rows[i][name], value)
    assert got == expected


def test_examples_of_each_problem():
    from fupin_audit.schema.models import Household

    specs = Household.specs()
    size = parse_column(specs["家庭人口数"], "家庭人口数", pd.Series(["3", "0", "31", "2.5", "３", "", "x"]))
    assert size.problem.tolist() == ["", "DQ004", "DQ004", "DQ004", "", "DQ002", "DQ004"]
    attr = parse_column(specs["贫困户属性"], "贫困户属性", pd.Series(["01", "1", "低保户", "一般贫困"]))
    assert attr.values.astype(object).tolist()[:3] == ["一般贫困户", "一般贫困户", "低保贫困户"]
    assert "最接近的有效值：一般贫困户" in attr.message.iloc[3]
    status = parse_column(
        specs["脱贫状态"], "脱贫状态", pd.Series(["0", "1", "3", "4", "已脱贫（享受政策）"])
    )
    assert status.values.astype(object).tolist() == [
        "未脱贫", "已脱贫(享受政策)", "返贫", "已脱贫(不再享受政策)", "已脱贫(享受政策)",
    ]  # fmt: skip
    dates = parse_column(
        specs["申请日期"], "申请日期", pd.Series(["2017/3/1", "2017-02-30", "42795", "2017年3月1日"])
    )
    assert dates.problem.tolist() == ["", "DQ005", "", ""]
    assert dates.values.iloc[2] == pd.Timestamp("2017-03-01")
