"""Rules state their era: 2014–2020-only rules are skipped on monitoring-era data with the reason and the
rule that covers it, and rules whose meaning carries over run through the mapping (户类型 = 脱贫户 → 已脱贫)."""

from __future__ import annotations

import xlsxwriter

from fupin_audit.audit import audit
from fupin_audit.engine.registry import default_registry
from tests.test_layouts import headers_of, value_for


def _monitoring_book(path, overrides):
    """The 2023 监测对象信息 layout, two households of three people; overrides: {(household, header): value}."""
    headers = headers_of("2023-监测对象信息.txt")[0]
    book = xlsxwriter.Workbook(path)
    ws = book.add_worksheet("监测对象信息")
    ws.write(0, 0, "监测对象信息")
    ws.write(1, 0, "导出时间：2023-12-18")
    for j, header in enumerate(headers):
        ws.write_string(2, j, header)
    row = 3
    for household in (1, 2):
        for person in range(3):
            for j, header in enumerate(headers):
                ws.write_string(
                    row, j, overrides.get((household, header), value_for(header, person, household))
                )
            row += 1
    book.close()
    return path


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


def test_exit_rules_of_2014_2020_are_skipped_with_their_successor(tmp_path):
    path = _monitoring_book(tmp_path / "m.xlsx", {})
    result = audit([str(path)], select=["LG401", "LG402", "LG403", "SY204", "LG102"])
    for code in ("LG401", "LG402", "LG403", "SY204"):
        assert outcome(result, code).status == "skipped"
        assert "只适用于2014–2020 年建档立卡数据" in outcome(result, code).reason
    assert "MN101" in outcome(result, "LG401").reason
    assert "LG404" in outcome(result, "LG402").reason
    assert (
        "era" not in outcome(result, "LG102").reason
    )  # LG102 is a monitoring-era rule: it is not era-skipped


def test_lg404_runs_on_poverty_exited_households_of_a_monitoring_export(tmp_path):
    # 户类型 = 脱贫户 and no 脱贫年度: exited in 2020 or before, so a gap now is 成果未巩固 (LG404), not 错退.
    clean = {(h, c): "" for h in (1, 2) for c in ("失学或辍学原因", "义务教育阶段未上学原因")}
    clean.update({(h, "在校生状况"): "小学" for h in (1, 2)})  # the 8-year-old is at school
    path = _monitoring_book(tmp_path / "m.xlsx", {**clean, (1, "是否危房户"): "是", (2, "是否危房户"): "否"})
    result = audit([str(path)], select=["LG404"])
    assert outcome(result, "LG404").status == "ran"
    flagged = result.findings
    assert set(flagged["household_id"]) == {"3408260010000001"}  # household 2 (no gap) is the near miss
    assert (flagged["rule"] == "LG404").all()
    assert (
        flagged["message"].iloc[0]
        == "脱贫户（2020 年或更早脱贫），脱贫成果未巩固：住房为危房（是否危房户 = 是）"
    )


def test_every_built_in_rule_declares_an_era():
    eras = {rule.code: rule.era for rule in default_registry()}
    assert set(eras.values()) <= {"any", "jdlk", "monitoring"}
    assert (
        eras["LG401"] == eras["SY204"] == "jdlk" and eras["LG102"] == "monitoring" and eras["IN001"] == "any"
    )
    assert all(eras[c] == "monitoring" for c in eras if c.startswith("MN"))  # 防返贫监测: 2021 onward
