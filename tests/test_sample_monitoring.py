"""Monitoring-era samples (issue #12 item 6): `sample --year Y` then `check` for every year 2014–2026, the
监测对象信息 layout, a clean county without findings, and every planted case found by its rule at its row."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pandas as pd
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from fupin_audit.audit import audit
from fupin_audit.cli.app import app
from fupin_audit.sample.monitoring import EXTRA_COLS, PERSON_COLS, generate_monitoring
from fupin_audit.sample.monitoring_defects import DEFECTS, NOT_PLANTED
from fupin_audit.sample.writers import write_monitoring_xlsx

LAYOUTS = Path(__file__).parent / "fixtures" / "layouts"  # copied from the spec's layouts/
LAYOUT = LAYOUTS / "2023-监测对象信息.txt"
SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"
FIRST_DATA_ROW = 4  # two title rows, the header on row 3
# Poverty and monitoring lines for every year (the 2014–2020 rules need the first, LG102 and MN the second).
LINES = "\n".join(
    ["[poverty_line.working]", *(f"{y} = 4000" for y in range(2020, 2027)), "",
     "[monitoring_line]", *(f"{y} = 7300" for y in range(2021, 2027))]
)  # fmt: skip


@pytest.fixture(scope="module")
def lines(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "lines.toml"
    path.write_text(LINES + "\n", encoding="utf-8")
    return path


def _rows(path: Path, sheet: str) -> list[list[str]]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


# --------------------------------------------------------------------------------------- every year


@pytest.mark.parametrize("year", range(2014, 2027))
def test_sample_then_check_every_year(year, tmp_path):
    runner = CliRunner()
    made = runner.invoke(app, ["sample", "--households", "60", "--year", str(year), "-o", str(tmp_path)])
    assert made.exit_code == 0, made.output
    (book,) = tmp_path.glob("*.xlsx")
    # no --config: a year without a poverty or monitoring line skips the rules that need it (MONITORING.md §1)
    result = runner.invoke(app, ["check", str(book), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    document = json.loads(result.stdout)
    assert document["findings"], year
    skipped = document["summary"]["rules"]["skipped"]
    assert all(reason.strip() for reason in skipped.values())
    if year >= 2021:  # the 监测对象信息 layout has no 建档立卡 procedure dates, helpers or rosters
        assert document["summary"]["sheets"][0]["sheet"] == "监测对象信息"
        assert "households 表缺少列 公示开始日期、公示结束日期" in skipped["SY102"]
        assert "rosters" in skipped["LG101"]
        # LG102 runs where a monitoring line is built in, else it is skipped naming the year and parameter
        if "LG102" in skipped:
            assert str(year) in skipped["LG102"] and "monitoring_line" in skipped["LG102"], skipped["LG102"]
        else:
            assert "LG102" in document["summary"]["rules"]["ran"]
    else:
        assert "LG102" in skipped


# --------------------------------------------------------------------------------------- the layout


@pytest.fixture(scope="module")
def clean_2023(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    sample = generate_monitoring(150, seed=3, year=2023, defects=False)
    path = tmp_path_factory.mktemp("clean") / "clean.xlsx"
    write_monitoring_xlsx(sample, path)
    return path, sample.persons


def test_layout_is_the_export(clean_2023):
    path, persons = clean_2023
    rows = _rows(path, "监测对象信息")
    assert rows[0][0] == "宿松县2023年防返贫监测对象信息"
    assert rows[1][0] == "导出时间：2023-12-31"
    header = rows[2]
    text = LAYOUT.read_text(encoding="utf-8").split("# Column names of the export")[1]
    layout = [ln for ln in text.splitlines()[1:] if ln and not ln.startswith("#")]
    assert [
        h for h in header if h not in EXTRA_COLS
    ] == layout  # verbatim, in the layout's order, units included
    assert len(rows) - 3 == len(persons)
    body = pd.DataFrame(rows[3:], columns=header, dtype=str)
    assert set(body["性别"]) == {"1", "2"}
    assert body["出生日期"].str.fullmatch(r"(19|20)\d{6}").all()
    households = body.drop_duplicates("户编号")
    assert set(households["户类型"]) == {"脱贫户", "一般农户"}
    monitored = households[households["监测对象类别"] != ""]
    assert 0.05 <= len(monitored) / len(households) <= 0.3
    assert monitored["识别监测时间"].str.fullmatch(r"202[123](0[1-9]|1[0-2])").all()
    eliminated = monitored[monitored["风险是否已消除"] == "是"]
    assert len(eliminated) and set(eliminated["风险消除方式"]) <= {"帮扶消除", "自然消除"}
    assert (eliminated["消除监测时间"] > eliminated["识别监测时间"]).all()
    assert (households.loc[households["监测对象类别"] == "", "风险是否已消除"] == "").all()
    assert body["健康帮扶"].str.contains(",").any()  # several measures in one cell
    villages = _rows(path, "行政村信息")
    assert villages[2][:4] == ["县", "乡", "村", "是否出列"] and "村级集体经济收入（万元）" in villages[2]


def test_clean_county_gives_no_findings(clean_2023, lines):
    path, _ = clean_2023
    result = audit([path], config=lines)
    assert result.findings.empty, result.findings[["rule", "message"]].head(10).to_string()
    ran = {o.code for o in result.outcomes if o.status == "ran"}
    assert {
        "LG102",
        "IN001",
        "DQ011",
        "SY103",
        "SY104",
        "MN102",
        "MN138",
        "MN154",
        "MN161",
        "DQ067",
        "DQ069",
    } <= ran
    assert {"work", "work_plans"} <= set(result.dataset.tables)
    # the export's own headers only raise notes (公益性岗位 read as a member's post, the two 公益岗位 columns merged)
    assert not [d for d in result.dataset.diagnostics if d.level != "info"]


def test_work_sheets_follow_the_layout_and_the_members(clean_2023):
    path, persons = clean_2023
    work_layout = LAYOUTS / "2023-务工月监测.txt"
    for sheet in ("已外出务工信息", "计划外出务工信息"):
        rows = _rows(path, sheet)
        assert rows[1][0] == "导出时间：2023-12-31" and len(rows) > 10, sheet
        text = work_layout.read_text(encoding="utf-8")
        part = text.split("计划外出务工信息")[sheet == "计划外出务工信息"].split("Columns read:")[1]
        assert rows[2] == [ln for ln in part.splitlines()[1:] if ln and not ln.startswith("#")], sheet
        body = pd.DataFrame(rows[3:], columns=rows[2], dtype=str)
        keys = ["证件号码", "户编号", "户类型"] + (["监测对象类别"] if "监测对象类别" in body else [])
        joined = body.merge(persons[keys].drop_duplicates(), on=keys, how="left", indicator=True)
        assert (joined["_merge"] == "both").all(), sheet  # same person, household, 户类型 and category
    works = pd.DataFrame(
        _rows(path, "已外出务工信息")[3:], columns=_rows(path, "已外出务工信息")[2], dtype=str
    )
    assert set(works["是否已务工"]) == {"是"} and works["开始时间"].str.fullmatch(r"2023年0[1-9]月").all()
    away = works["务工所在县"] != works["县"]
    assert away.any() and (~away).any()
    assert (
        works.loc[~away, "年度交通费补助"] == "0"
    ).all()  # a fare subsidy only for work outside the county


def test_2026_header_says_防止返贫致贫对象(tmp_path, lines):
    sample = generate_monitoring(60, seed=2, year=2026, defects=False)
    path = tmp_path / "2026.xlsx"
    write_monitoring_xlsx(sample, path)
    header = _rows(path, "监测对象信息")[2]
    assert "防止返贫致贫对象类别" in header and "监测对象类别" not in header
    unmonitored_exited = sample.persons.drop_duplicates("户编号")
    unmonitored_exited = unmonitored_exited[
        (unmonitored_exited["户类型"] == "脱贫户") & (unmonitored_exited["监测对象类别"] == "")
    ]
    household = unmonitored_exited["户编号"].iloc[0]
    sample.persons.loc[sample.persons["户编号"] == household, "人均纯收入（元）"] = "6500.00"
    write_monitoring_xlsx(sample, path)
    findings = audit([path], config=lines, select=["LG102"]).findings
    assert list(findings["household_id"]) == [household]  # 防止返贫致贫对象类别 read as 监测对象类别


# --------------------------------------------------------------------------------------- planted


@pytest.fixture(scope="module")
def dirty_2023(tmp_path_factory, lines):
    sample = generate_monitoring(150, seed=7, year=2023)
    path = tmp_path_factory.mktemp("dirty") / "dirty.xlsx"
    write_monitoring_xlsx(sample, path)
    return sample, audit([path], config=lines).findings


def test_every_mn_and_dq06x_dq07x_rule_is_planted():
    from fupin_audit.engine.registry import default_registry

    codes = {r.code for r in default_registry() if r.code.startswith(("MN", "DQ06", "DQ07"))}
    assert len(codes) == 34 + 14
    assert codes <= {d.rule for d in DEFECTS} | set(NOT_PLANTED)
    assert not {"LG401", "LG402"} & {d.rule for d in DEFECTS}  # 2014–2020 only (no exits after 2020)


def test_every_planted_case_is_found_at_its_row(dirty_2023):
    sample, findings = dirty_2023
    planted = sample.planted[sample.planted["outputs"] == "all"]
    assert set(planted["rule"]) == {d.rule for d in DEFECTS}
    persons = sample.persons.reset_index(drop=True)
    sheet_row = pd.Series(persons.index + FIRST_DATA_ROW, index=persons.index)
    findings = findings.astype({"row": "int64"})
    for case in planted.itertuples():
        got = findings[findings["rule"] == case.rule]
        if case.table == "villages":
            row = int(sample.villages.index[sample.villages["村"] == case.key][0]) + FIRST_DATA_ROW
            hit = got[(got["village"] == case.key) & (got["row"] == row) & (got["sheet"] == "行政村信息")]
        elif case.table == "work":  # a row of the 已外出务工信息 sheet
            rows = set(sample.works.index[sample.works["证件号码"] == case.key] + FIRST_DATA_ROW)
            hit = got[got["row"].isin(rows) & (got["sheet"] == "已外出务工信息")]
        elif (persons["证件号码"] == case.key).any():
            rows = set(sheet_row[persons["证件号码"] == case.key])
            hit = got[got["row"].isin(rows)]
        else:
            rows = set(sheet_row[persons["户编号"] == case.key])
            hit = got[(got["household_id"] == case.key) & got["row"].isin(rows)]
        assert len(hit), f"{case.rule} {case.key}: {case.description}"


def test_nothing_but_the_planted_rules_fires(dirty_2023):
    sample, findings = dirty_2023
    planted = sample.planted[sample.planted["outputs"] == "all"]
    expected = set(planted["rule"]) | {r for also in planted["also"] for r in also.split()}
    assert set(planted["rule"]) <= set(findings["rule"]) <= expected
    notes = sample.planted[sample.planted["outputs"] == "none"]
    assert set(notes["rule"]) == set(NOT_PLANTED)


def test_clean_sample_is_deterministic():
    a = generate_monitoring(40, seed=5, year=2024)
    b = generate_monitoring(40, seed=5, year=2024)
    pd.testing.assert_frame_equal(a.persons, b.persons)
    pd.testing.assert_frame_equal(a.planted, b.planted)
    assert list(a.persons.columns) == list(PERSON_COLS)


# --------------------------------------------------------------------------------------- sample_data


def test_sample_data_workbook_is_reproducible_from_its_readme(tmp_path):
    readme = (SAMPLE_DATA / "README.md").read_text(encoding="utf-8")
    command = re.search(r"^(fupin-audit sample [^\n#]*--year 2023[^\n#]*?)\s*(#.*)?$", readme, re.M)
    assert command, "README shows the command that made 防返贫监测样例2023.xlsx"
    args = shlex.split(command.group(1))[1:]
    out = args.index("-o")
    args[out + 1] = str(tmp_path)
    made = CliRunner().invoke(app, args)
    assert made.exit_code == 0, made.output
    (book,) = tmp_path.glob("*.xlsx")
    for sheet in ("监测对象信息", "行政村信息"):
        assert _rows(book, sheet) == _rows(SAMPLE_DATA / "防返贫监测样例2023.xlsx", sheet), sheet
    fresh = pd.read_csv(tmp_path / "planted.csv", dtype=str, keep_default_na=False)
    kept = pd.read_csv(SAMPLE_DATA / "planted2023.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(fresh, kept)
