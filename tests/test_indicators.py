"""Indicators tested by value on a small hand-built county (RULES.md, Indicators).

The county (2017), with each household's part in the numbers:

| 户 | 乡/村 | 人 | 状态 | 脱贫年度 | 人均纯收入 | role |
|---|---|---|---|---|---|---|
| A1 | 孚玉镇/城西村 | 3 | 已脱贫 | 2017 | 3000 | LG401 错退 (this year's exit) |
| A2 | 孚玉镇/城西村 | 2 | 已脱贫 | 2017 | 6000 | both members on disqualifying rosters: one 错评 household |
| A3 | 孚玉镇/城西村 | 4 | 已脱贫 | 2016 | 4800 | last year's exit under 5000 |
| A4 | 孚玉镇/城西村 | 1 | 未脱贫 | | 2000 | poor |
| B1 | 二郎镇/城西村 | 2 | 未脱贫 | | 2000 | poor |
| B2 | 二郎镇/城西村 | 5 | 已脱贫 | 2016 | 5000 | last year's exit exactly at 5000 |
| B3 | 二郎镇/城西村 | 2 | 已脱贫 | 2015 | 7000 | a 危房 after an earlier exit: LG404, not 错退 |
| B4 | 二郎镇/城东村 | 3 | 未脱贫 | | 3600 | identified 2017 above the line: LG302 错评 |
"""

from __future__ import annotations

import pytest
from conftest import make_id, write_xlsx

from fupin_audit.audit import audit


def pid(n: int) -> str:
    return make_id(birth="19800101", seq=2 * n + 1)


def hh(hid, township, village, size, status, exit_year, income, **more):
    return {"乡": township, "村": village, "户编号": hid, "家庭人口数": size, "贫困户属性": "一般贫困户",
            "脱贫状态": status, "脱贫年度": exit_year, "人均纯收入": income, "主要致贫原因": "缺资金",
            "识别年度": 2015, "年度": 2017, "是否危房户": "否", **more}  # fmt: skip


HOUSEHOLDS = [
    hh("A1", "孚玉镇", "城西村", 3, "已脱贫", 2017, 3000),
    hh("A2", "孚玉镇", "城西村", 2, "已脱贫", 2017, 6000),
    hh("A3", "孚玉镇", "城西村", 4, "已脱贫", 2016, 4800),
    hh("A4", "孚玉镇", "城西村", 1, "未脱贫", None, 2000),
    hh("B1", "二郎镇", "城西村", 2, "未脱贫", None, 2000),
    hh("B2", "二郎镇", "城西村", 5, "已脱贫", 2016, 5000),
    hh("B3", "二郎镇", "城西村", 2, "已脱贫", 2015, 7000, 是否危房户="是"),
    hh("B4", "二郎镇", "城东村", 3, "未脱贫", None, 3600, 识别年度=2017),
]
MEMBERS = [
    {"户编号": "A2", "姓名": "王一", "证件号码": pid(1), "与户主关系": "户主", "性别": "男"},
    {"户编号": "A2", "姓名": "王二", "证件号码": pid(2), "与户主关系": "之子", "性别": "男"},
]
ROSTERS = [
    {"类别": "车辆", "证件号码": pid(1), "详情": "小型轿车"},  # A2 → LG301
    {"类别": "商品房", "证件号码": pid(2), "详情": "城区住房"},  # A2 again: still one household
    {"类别": "低保", "证件号码": pid(11)},  # 漏评
    {"类别": "低保", "证件号码": pid(12)},  # 漏评 …
    {"类别": "特困", "证件号码": pid(12)[:6] + pid(12)[8:17]},  # … the same person, 15-digit form
    {"类别": "收入调查", "证件号码": pid(14), "人均纯收入": 3000},  # below the line: 漏评
    {"类别": "收入调查", "证件号码": pid(15), "人均纯收入": 4000},  # above: not needy
    {"类别": "低保", "证件号码": pid(1)},  # registered (A2): not 漏评
    {"类别": "车辆", "证件号码": pid(16)},  # unregistered car owner: never in the 漏评 denominator
    {"类别": "财政供养人员", "证件号码": pid(17)},  # nor an official
]
MEASURES = [
    {"户编号": "A1", "措施类型": "产业帮扶", "年度": 2017},
    {"户编号": "A2", "措施类型": "就业帮扶", "年度": 2017},
    {"户编号": "A3", "措施类型": "走访", "年度": 2017},  # a visit: in neither share
    {"户编号": "B1", "措施类型": "慰问救助", "年度": 2017},
    {"户编号": "B2", "措施类型": "产业帮扶", "年度": 2016},  # another year
    {"户编号": "B3", "措施类型": "健康帮扶"},  # undated: counts for every year
    {"乡": "孚玉镇", "村": "城西村", "措施类型": "产业帮扶", "年度": 2017},  # a village project
]
VILLAGES = [
    {"乡": "孚玉镇", "村": "城西村", "总人口数": 100, "是否贫困村": "是"},
    {"乡": "二郎镇", "村": "城西村", "总人口数": 50, "是否贫困村": "是"},
    {"乡": "二郎镇", "村": "城东村", "总人口数": 30, "贫困人口数": 6, "是否贫困村": "是"},
]


@pytest.fixture(scope="module")
def indicators(tmp_path_factory):
    path = write_xlsx(
        tmp_path_factory.mktemp("county") / "county.xlsx",
        {"户信息": HOUSEHOLDS, "家庭成员": MEMBERS, "比对名单": ROSTERS, "帮扶措施": MEASURES,
         "村信息": VILLAGES},
    )  # fmt: skip
    config = path.parent / "line2017.toml"
    config.write_text("[poverty_line]\n2017 = 3335\n", encoding="utf-8")  # no built-in 2017 line
    result = audit([str(path)], year=2017, config=config)
    failed = [o.code for o in result.outcomes if o.status == "failed"]
    assert not failed
    return result.summary()["indicators"], result.findings


def value(item):
    return item["numerator"], item["denominator"], item["share"]


def test_registered_and_exited_counts(indicators):
    values, _ = indicators
    assert values["registered_households"] == 8 and values["registered_people"] == 22
    assert values["exited_households"] == 5 and values["exited_people"] == 16
    assert values["exited_this_year"] == {"households": 2, "people": 5}
    assert values["poor_households"] == 3


def test_relapse_line_share_includes_5000_and_has_last_years_exits(indicators):
    values, _ = indicators
    assert value(values["exited_below_relapse_line"]) == (3, 5, 0.6)  # A1, A3, B2 (exactly 5000)
    assert value(values["last_year_exits_below_relapse_line"]) == (2, 2, 1.0)  # A3, B2


def test_wrong_exit_rate_is_over_people_of_this_years_exits(indicators):
    values, findings = indicators
    assert set(findings.loc[findings["rule"] == "LG404", "household_id"]) == {"B3"}  # not 错退
    assert value(values["wrong_exit_rate"]) == (3, 5, 0.6)  # A1's 3 people of A1 + A2's 5


def test_wrong_inclusion_is_counted_per_household(indicators):
    values, findings = indicators
    assert len(findings[findings["rule"] == "LG301"]) == 2  # two members of A2
    assert value(values["wrong_inclusion_rate"]) == (2, 8, 0.25)  # A2 and B4


def test_missed_rate_is_over_unregistered_needy_people_only(indicators):
    values, _ = indicators
    # pid 11, 12 (two rows, two spellings: one person), 14 — never the car owner or the official
    assert value(values["missed_rate"]) == (3, 3, 1.0)


def test_identification_accuracy_with_both_parts(indicators):
    values, _ = indicators
    item = values["identification_accuracy"]
    assert (item["wrong_inclusion_households"], item["missed_households"]) == (2, 3)
    assert value(item) == (6, 11, 0.5455)  # 1 − (2 + 3) ÷ (8 + 3)


def test_measure_shares_leave_out_visits(indicators):
    values, _ = indicators
    # the data year's measures: A1 产业, A2 就业, B1 慰问, B3 健康 (undated), the village's 产业
    assert value(values["industry_measure_share"]) == (2, 5, 0.4)
    assert value(values["developmental_measure_share"]) == (3, 5, 0.6)


def test_two_villages_of_one_name_are_two_villages(indicators):
    values, _ = indicators
    rows = {(v["township"], v["village"]): v for v in values["village_incidence"]}
    assert (rows[("孚玉镇", "城西村")]["poor_people"], rows[("孚玉镇", "城西村")]["incidence"]) == (1, 0.01)
    assert (rows[("二郎镇", "城西村")]["poor_people"], rows[("二郎镇", "城西村")]["incidence"]) == (2, 0.04)
    assert rows[("二郎镇", "城西村")]["source"] == "户表"
    assert (rows[("二郎镇", "城东村")]["incidence"], rows[("二郎镇", "城东村")]["source"]) == (0.2, "村表")


def test_findings_per_township_and_village(indicators):
    values, findings = indicators
    by_village = {(r["township"], r["village"]): r for r in values["findings_by_village"]}
    lg = findings[findings["family"] == "两该两不该"]
    expected = lg.groupby(["township", "village"]).size()
    for (township, village), n in expected.items():
        assert by_village[(township, village)]["两该两不该"] == n
    assert by_village[("二郎镇", "城东村")]["两该两不该"] == 1  # B4's LG302
    assert sum(r["合计"] for r in values["findings_by_township"]) == len(findings)


def test_bunching_uses_the_data_years_line(tmp_path):
    """Exits of 2016 just above the 2017 line (3335 … 3501.75) bunch; judged on the 2016 line (2952)
    they would sit far above the band."""
    households = [hh(f"C{i}", "二郎镇", "城南村", 2, "已脱贫", 2016, income)
                  for i, income in enumerate((3340, 3400, 3501.75, 9000))]  # fmt: skip
    households.append(hh("D1", "二郎镇", "城北村", 2, "已脱贫", 2016, 3501.76))  # a cent above the band
    path = write_xlsx(tmp_path / "bunch.xlsx", {"户信息": households})
    config = tmp_path / "line2017.toml"
    config.write_text("[poverty_line]\n2017 = 3335\n", encoding="utf-8")  # 2016: the built-in 2952
    result = audit([str(path)], year=2017, select=["IN002"], config=config)
    bunch = result.summary()["indicators"]["near_line_bunching"]
    assert (bunch["villages_tested"], bunch["villages_bunched"]) == (2, 1)
    (village,) = bunch["bunched"]
    assert (village["township"], village["village"], village["in_band"], village["exited"]) == (
        "二郎镇",
        "城南村",
        3,
        4,
    )


def test_indicators_of_a_county_without_exits(tmp_path):
    """No exited household: the bunching test has no village to test, the rates say 0 of 0."""
    path = write_xlsx(
        tmp_path / "poor.xlsx", {"户信息": [hh("A1", "孚玉镇", "城西村", 2, "未脱贫", None, 2000)]}
    )
    values = audit([str(path)], year=2017).summary()["indicators"]
    assert values["near_line_bunching"]["villages_tested"] == 0
    assert value(values["wrong_exit_rate"]) == (0, 0, None)
    assert values["exited_this_year"] == {"households": 0, "people": 0}


def test_bunching_without_a_line_for_the_year_is_a_note_not_a_crash(tmp_path):
    """2023 data has no poverty line of the 2014–2020 series: the test is not run, and the CLI's
    summary still prints."""
    import subprocess
    import sys

    path = write_xlsx(
        tmp_path / "y2023.xlsx",
        {"户信息": [hh("A1", "孚玉镇", "城西村", 2, "已脱贫", 2019, 9000, 年度=2023)]},
    )
    bunch = audit([str(path)], select=["IN003"]).summary()["indicators"]["near_line_bunching"]
    assert bunch["villages_tested"] == 0 and "2023" in bunch["note"]
    result = subprocess.run(
        [sys.executable, "-m", "fupin_audit", "check", str(path), "--select", "IN003"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "收入刚过线“扎堆”的村（IN002 检验）" in result.stdout


@pytest.mark.parametrize(
    ("workbook", "config"),
    [("宿松县样例.xlsx", "样例贫困线.toml"), ("防返贫监测样例2023.xlsx", None)],
)
def test_the_summary_finds_the_facts_it_reads_after_the_rules_let_theirs_go(workbook, config, monkeypatch):
    """Before the findings are assembled the context keeps only indicators.FACTS: the summary must
    recompute nothing that it did not recompute when everything was kept."""
    from pathlib import Path

    from fupin_audit import indicators
    from fupin_audit.engine.context import AuditContext

    folder = Path(__file__).resolve().parents[1] / "sample_data"
    paths, cfg = [folder / workbook], (folder / config if config else None)
    real_cached, real_release = AuditContext.cached, AuditContext.release
    missed: list[str] = []
    reading = [False]

    def cached(self, key, compute):
        if reading[0] and key not in self._cache:
            missed.append(key)
        return real_cached(self, key, compute)

    def summary_misses(release) -> tuple[list[str], dict]:
        monkeypatch.setattr(AuditContext, "release", release)
        missed.clear()
        reading[0] = False
        result = audit(paths, config=cfg)
        reading[0] = True
        summary = result.summary()
        reading[0] = False
        return list(missed), summary["indicators"]

    monkeypatch.setattr(AuditContext, "cached", cached)
    kept_all, indicators_all = summary_misses(lambda self, keep: None)
    kept_some, indicators_some = summary_misses(real_release)
    assert kept_some == kept_all and indicators_some == indicators_all
    # and the rules' own facts are really gone
    result = audit(paths, config=cfg)
    assert result.context is not None
    assert not result.context.is_cached("members.id_analysis")
    assert all(key.startswith(indicators.FACTS) for key in result.context._cache)


@pytest.mark.parametrize(
    ("workbook", "config", "prepared"),
    [
        ("宿松县样例.xlsx", "样例贫困线.toml", ("households", "bunching", "measures", "rosters", "villages")),
        ("防返贫监测样例2023.xlsx", None, ("households", "monitoring")),
    ],
)
def test_the_data_only_indicators_are_worked_out_while_the_findings_are_assembled(
    workbook, config, prepared, monkeypatch
):
    """run_rules works out the indicators that read only the data on a thread of its own while it
    assembles the findings (indicators.prepare): the summary then finds them done, and they are
    what the summary works out by itself."""
    from pathlib import Path

    from fupin_audit import indicators, monitoring_indicators

    folder = Path(__file__).resolve().parents[1] / "sample_data"
    paths, cfg = [folder / workbook], (folder / config if config else None)
    result = audit(paths, config=cfg)
    assert result.context is not None
    for name in prepared:
        assert result.context.is_cached(f"indicators.{name}"), name
    if "monitoring" in prepared:
        own = result.context.cached("indicators.monitoring", lambda: None)
        assert own.is_cached("indicators.developmental") and own.is_cached("mn.monitored")
        # the members' ID analysis and ages behind the share are let go, as the rules' own were
        assert not own.is_cached("members.id_analysis") and not own.is_cached("members.ages")
    early = result.summary()["indicators"]
    monkeypatch.setattr(indicators, "prepare", lambda ctx: None)
    alone = audit(paths, config=cfg)
    assert alone.context is not None and not alone.context.is_cached("indicators.households")
    assert early == alone.summary()["indicators"]
    assert monitoring_indicators.compute(result) == monitoring_indicators.compute(alone)


def test_with_strict_policy_the_prepared_indicators_leave_out_what_the_summary_left_out(
    tmp_path, monkeypatch
):
    """--strict-policy: the summary's roster facts meet a missing poverty line as a ConfigError and
    leave 漏评 out; working them out early must not fill them in on a lenient context."""
    from fupin_audit import indicators

    path = write_xlsx(
        tmp_path / "county.xlsx", {"户信息": HOUSEHOLDS, "家庭成员": MEMBERS, "比对名单": ROSTERS}
    )
    result = audit([str(path)], year=2017, strict_policy=True, select=["DQ001"])  # no 2017 line set
    early = result.summary()["indicators"]
    assert "missed_rate" not in early and early.get("identification_accuracy") is None
    monkeypatch.setattr(indicators, "prepare", lambda ctx: None)
    alone = audit([str(path)], year=2017, strict_policy=True, select=["DQ001"]).summary()["indicators"]
    assert early == alone
