"""LG101–LG402 (两该两不该) through real xlsx files: flagged records, near misses, skips, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import check_tables, hit, household, make_id, member, message, rows, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.registry import default_registry
from fupin_audit.errors import ConfigError

# The test data is from 宿松县, 安徽 (region code 340826), with 安徽's own lines for 2016 and 2017:
# there is no built-in 2017 line, and a province's line comes before the national one.
ANHUI = '[province."安徽".poverty_line]\n2016 = 3146\n2017 = 3335\n'


def anhui(tmp_path):
    path = tmp_path / "anhui.toml"
    path.write_text(ANHUI, encoding="utf-8")
    return path


def cited(year):
    return f"参数 poverty_line，anhui.toml [province.安徽.poverty_line] {year}"


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


def pid(n: int, birth: str = "19800101") -> str:
    return make_id(birth=birth, seq=2 * n + 1)


def legacy(id18: str) -> str:
    return id18[:6] + id18[8:17]


def exited(hid, income, year=2017, **values):
    return household(hid, 脱贫状态="已脱贫", 脱贫年度=year, 人均纯收入=income, **values)


def child(hid, birth, n, **values):
    """A member of the given birth date (age at 2017-12-31 follows), by default in school."""
    record = {"姓名": f"孩子{n}", "与户主关系": "之子", "证件号码": make_id(birth=birth, seq=2 * n + 1)}
    record.update(
        {"文化程度": None, "在校生状况": "小学", "劳动技能": "无劳动力", "务工时间": 0, "务工所在地": None}
    )
    record.update(values)
    return member(hid, **record)


# ------------------------------------------------------------------------------------ metadata


def test_rules_are_registered_with_documentation():
    registry = default_registry()
    expected = {
        "LG101": "warning", "LG102": "warning", "LG201": "warning", "LG202": "error", "LG301": "error",
        "LG302": "warning", "LG401": "error", "LG402": "error", "LG403": "warning", "LG404": "error",
    }  # fmt: skip
    for code, severity in expected.items():
        item = registry.get(code)
        assert item.severity == severity, code
        assert item.family == "两该两不该"
        assert item.what and item.why and item.example and item.title
        assert registry.origin(code) == "fupin_audit.rules.lianggai"


# ------------------------------------------------------------------------------------ LG101 / LG102


def test_lg101_needy_people_outside_the_register(tmp_path):
    findings = check_tables(
        tmp_path,
        ["LG101"],
        config=anhui(tmp_path),
        members=[member("H1", 证件号码=pid(2)), member("H2", 证件号码=pid(3))],
        rosters=[
            {"类别": "低保", "证件号码": pid(1)},  # 2: not registered
            {"类别": "低保", "证件号码": pid(2)},  # 3: registered
            {"类别": "特困", "证件号码": legacy(pid(3))},  # 4: registered (15-digit form)
            {"类别": "车辆", "证件号码": pid(4)},  # 5: not a needy roster
            {"类别": "收入调查", "证件号码": pid(5), "人均纯收入": 3334.99},  # 6: below the line
            {"类别": "收入调查", "证件号码": pid(6), "人均纯收入": 3335},  # 7: at the line: not below
            {"类别": "低保", "证件号码": pid(7)},  # 8: dead in 2016
            {"类别": "死亡", "证件号码": pid(7), "日期": "2016-02-02"},  # 9
            {"类别": "特困", "证件号码": "12345"},  # 10: cannot be matched
        ],
    )
    assert rows(findings, "LG101") == [2, 6]
    assert message(findings, "LG101", 2) == f"在低保名单上，但 {pid(1)} 不在任何建档立卡户中"
    assert message(findings, "LG101", 6) == (
        f"名单人均纯收入 3334.99 元低于 2017 年贫困线 3335 元（{cited(2017)}），但 {pid(5)} 不在任何建档立卡户中"
    )
    assert hit(findings, "LG101", 2)["table"] == "rosters"
    assert hit(findings, "LG101", 2)["column"] == "证件号码"


def test_lg102_monitoring_line_from_2021(tmp_path):
    findings = check_tables(
        tmp_path,
        ["LG102"],
        year=2021,
        households=[
            exited("H1", 5999.99, 2020, 是否监测对象="否", 年度=2021),  # 2
            exited("H2", 6000, 2020, 是否监测对象="否", 年度=2021),  # 3: at the line
            exited("H3", 5000, 2020, 是否监测对象="是", 年度=2021),  # 4: monitored
            household("H4", 人均纯收入=1000, 是否监测对象="否", 年度=2021),  # 5: not exited
            exited("H5", 4000, 2020, 是否监测对象=None, 年度=2021),  # 6: unknown = not monitored
        ],
    )
    assert rows(findings, "LG102") == [2, 6]
    assert message(findings, "LG102", 2) == (
        "已脱贫户人均纯收入 5999.99 元低于 2021 年防返贫监测线 6000 元（参数 monitoring_line，默认值，未核实，"
        "请以省级文件为准，推算：1.5 × 2020 年贫困线约 4000 元），但未纳入监测对象"
    )


def test_lg102_skipped_before_2021_and_without_a_configured_line(tmp_path):
    early = write_xlsx(tmp_path / "2017.xlsx", {"户信息": [exited("H1", 3000, 是否监测对象="否")]})
    result = audit([str(early)], year=2017, select=["LG102"])
    assert outcome(result, "LG102").status == "skipped"
    assert "2021" in outcome(result, "LG102").reason
    late = write_xlsx(
        tmp_path / "2022.xlsx", {"户信息": [exited("H1", 3000, 2020, 是否监测对象="否", 年度=2022)]}
    )
    result = audit([str(late)], select=["LG102"])
    assert outcome(result, "LG102").status == "skipped"
    assert outcome(result, "LG102").reason == (
        "2022 年 安徽省 没有防返贫监测线（monitoring_line），这些户未检查；"
        '请在配置文件中设置 [province."安徽".monitoring_line] 2022 = …'
    )


# ------------------------------------------------------------------------------------ LG201 / LG202


GOOD = {"是否危房户": "否", "是否解决安全饮用水": "是"}


def test_lg201_should_have_exited(tmp_path):
    findings = check_tables(
        tmp_path,
        ["LG201"],
        config=anhui(tmp_path),
        households=[
            household("H1", 人均纯收入=3335.01, **GOOD),  # 2: above the line, all met
            household("H2", 人均纯收入=3335, **GOOD),  # 3: at the line
            household("H3", 人均纯收入=5000, 识别年度=2017, **GOOD),  # 4: identified this year
            household("H4", 人均纯收入=5000, 是否危房户="是", 是否解决安全饮用水="是"),  # 5: unsafe house
            household("H5", 人均纯收入=5000, 是否危房户="否", 是否解决安全饮用水=None),  # 6: water unknown
            household("H6", 人均纯收入=5000, **GOOD),  # 7: a member not insured
            household("H7", 人均纯收入=5000, 脱贫状态="返贫", **GOOD),  # 8: 返贫 is not 未脱贫
            household("H8", 人均纯收入=5000, **GOOD),  # 9: child in school: met
            household("H9", 人均纯收入=5000, **GOOD),  # 10: no member rows: unknown
        ],
        members=[
            member("H1", 在校生状况=None),
            member("H2", 在校生状况=None),
            member("H3", 在校生状况=None),
            member("H4", 在校生状况=None),
            member("H5", 在校生状况=None),
            member("H6", 在校生状况=None, 是否参加城乡居民基本医疗保险="否"),
            member("H7", 在校生状况=None),
            member("H8", 在校生状况=None),
            child("H8", "20050601", 1, 在校生状况="七年级"),
        ],
    )
    assert rows(findings, "LG201") == [2, 9]
    assert message(findings, "LG201", 2) == (
        f"未脱贫户（2015 年识别）人均纯收入 3335.01 元高于 2017 年贫困线 3335 元（{cited(2017)}），"
        "义务教育、基本医疗、住房安全、饮水安全均已达标，应退未退"
    )
    assert hit(findings, "LG201", 2)["column"] == "人均纯收入"


def test_lg201_skipped_when_a_guarantee_cannot_be_checked(tmp_path):
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "户信息": [household("H1", 人均纯收入=5000, 是否解决安全饮用水="是")],
            "家庭成员": [member("H1", 在校生状况=None)],
        },
    )
    result = audit([str(path)], year=2017, select=["LG201"])
    assert outcome(result, "LG201").status == "skipped"
    assert outcome(result, "LG201").reason == "无法确认三保障和饮水全部达标，缺少：households 表的是否危房户"


def test_lg202_every_member_dead(tmp_path):
    findings = check_tables(
        tmp_path,
        ["LG202"],
        members=[
            member("H1", 证件号码=pid(1), 死亡日期="2015-03-01"),  # 2
            member("H1", 证件号码=pid(2), 姓名="李秀英", 与户主关系="配偶", 性别="女"),  # 3: roster 2016
            member("H2", 证件号码=pid(3), 死亡日期="2016-01-01"),  # 4: H2 has a living member
            member("H2", 证件号码=pid(4), 与户主关系="之子"),  # 5
            member("H3", 证件号码=pid(5)),  # 6: died on the last day of the data year
            member("H4", 证件号码=pid(6)),  # 7: died after the data year
        ],
        rosters=[
            {"类别": "死亡", "证件号码": pid(2), "日期": "2016-05-02"},
            {"类别": "死亡", "证件号码": pid(5), "日期": "2017-12-31"},
            {"类别": "死亡", "证件号码": pid(6), "日期": "2018-01-01"},
        ],
    )
    assert rows(findings, "LG202") == [2, 6]
    assert (
        message(findings, "LG202", 2)
        == "户 H1 全部 2 名成员均已死亡（张建国 2015-03-01、李秀英 2016-05-02），2017 年仍在册"
    )
    assert message(findings, "LG202", 6) == "户 H3 全部 1 名成员均已死亡（张建国 2017-12-31），2017 年仍在册"
    assert [r["row"] for r in json.loads(hit(findings, "LG202", 2)["related"])] == [3]


# ------------------------------------------------------------------------------------ LG301 / LG302


def test_lg301_member_on_a_disqualifying_roster(tmp_path):
    findings = check_tables(
        tmp_path,
        ["LG301"],
        members=[
            member("H1", 证件号码=pid(1)),  # 2: a car
            member("H2", 证件号码=pid(2)),  # 3: public payroll and a flat
            member("H3", 证件号码=pid(3)),  # 4: on 低保: not disqualifying
            member("H4", 证件号码=pid(4)),  # 5: car bought after the data year
            member("H5", 证件号码=pid(5)),  # 6: roster has the 15-digit form
            member("H6", 证件号码=pid(6)),  # 7: on no roster
        ],
        rosters=[
            {"类别": "车辆", "证件号码": pid(1), "日期": "2016-08-01", "详情": "小型轿车 皖H12345"},  # 2
            {"类别": "财政供养人员", "证件号码": pid(2), "详情": "县水利局"},  # 3
            {"类别": "商品房", "证件号码": pid(2), "日期": "2015-01-01"},  # 4
            {"类别": "低保", "证件号码": pid(3)},  # 5
            {"类别": "车辆", "证件号码": pid(4), "日期": "2018-03-01"},  # 6
            {"类别": "工商注册", "证件号码": legacy(pid(5))},  # 7
        ],
    )
    assert rows(findings, "LG301") == [2, 3, 6]
    assert (
        message(findings, "LG301", 2)
        == "在车辆名单（比对名单 第 2 行：小型轿车 皖H12345，2016-08-01）上，不符合建档立卡条件（四有）"
    )
    assert message(findings, "LG301", 3) == (
        "在财政供养人员名单（比对名单 第 3 行：县水利局）、商品房名单（比对"
        "名单 第 4 行：2015-01-01）上，不符合建档立卡条件（四有）"
    )
    listed = json.loads(hit(findings, "LG301", 3)["related"])
    assert [(r["category"], r["row"], r["sheet"]) for r in listed] == [
        ("财政供养人员", 3, "比对名单"),
        ("商品房", 4, "比对名单"),
    ]
    assert listed[0]["detail"] == "县水利局" and listed[1]["date"] == "2015-01-01"
    assert "工商注册名单（比对名单 第 7 行）" in message(findings, "LG301", 6)
    assert hit(findings, "LG301", 2)["id_number"] == pid(1)


def test_lg302_income_above_the_line_when_identified(tmp_path):
    findings = check_tables(
        tmp_path,
        ["LG302"],
        config=anhui(tmp_path),
        households=[
            household("H1", 识别年度=2017, 人均纯收入=3335.01),  # 2
            household("H2", 识别年度=2017, 人均纯收入=3335),  # 3: at the line
            household("H3", 识别年度=2016, 上年人均纯收入=3146.01),  # 4: 2016 line 3146
            household("H4", 识别年度=2016, 上年人均纯收入=3146),  # 5
            household("H5", 识别年度=2017, 人均纯收入=5000, 识别标准="省定标准"),  # 6: provincial line
            household("H6", 识别年度=2015, 人均纯收入=9000),  # 7: income of another year
        ],
    )
    assert rows(findings, "LG302") == [2, 4]
    assert (
        message(findings, "LG302", 2)
        == f"2017 年识别，当年人均纯收入 3335.01 元已高于 2017 年贫困线 3335 元（{cited(2017)}）"
    )
    assert (
        message(findings, "LG302", 4)
        == f"2016 年识别，上年人均纯收入 3146.01 元已高于 2016 年贫困线 3146 元（{cited(2016)}）"
    )
    assert hit(findings, "LG302", 4)["column"] == "上年人均纯收入"


# ------------------------------------------------------------------------------------ LG401 / LG402


def test_lg401_and_lg403_split_exits_by_exit_year(tmp_path):
    households = [
        exited("H1", 3335.00),  # 2: exited this year, exactly at the 2017 line → LG401
        exited("H2", 3335.01),  # 3: a cent above: neither
        exited("H3", 3146, 2016),  # 4: exited 2016, under the 2017 line → LG403, not 错退
        exited("H4", 3200, 2016),  # 5: between the 2016 line (3146) and 2017's (3335) → LG403
        household("H5", 人均纯收入=1000),  # 6: poor
        exited("H6", 3000, None),  # 7: no exit year: judged as this year's exit → LG401
        exited("H7", 3300, 2019),  # 8: exit year after the data year: SY304's, neither
        exited("H8", 3335.01, 2015),  # 9: earlier exit, a cent above: neither
        exited("H9", 3000, None, 计划脱贫年度=2015),  # 10: a plan is not an exit year → LG401
        exited("H10", 3335, 2015),  # 11: earlier exit exactly at the line → LG403
    ]
    findings = check_tables(tmp_path, ["LG401", "LG403"], config=anhui(tmp_path), households=households)
    assert rows(findings, "LG401") == [2, 7, 10]
    assert rows(findings, "LG403") == [4, 5, 11]
    assert (
        message(findings, "LG401", 2)
        == f"已脱贫户（2017 年脱贫）人均纯收入 3335.00 元不高于 2017 年贫困线 3335 元（{cited(2017)}）"
    )
    assert message(findings, "LG401", 7) == (
        "已脱贫户（脱贫年度为空，按数据年度 2017 年判断）人均纯收入 3000.00 元不高于 2017 年贫困线 3335 元"
        f"（{cited(2017)}）"
    )
    assert message(findings, "LG403", 5) == (
        f"2016 年脱贫的户，2017 年人均纯收入 3200.00 元不高于 2017 年贫困线 3335 元（{cited(2017)}），"
        "仍标为已脱贫：疑似返贫未标注"
    )
    assert (
        hit(findings, "LG401", 2)["column"] == "人均纯收入" and hit(findings, "LG401", 2)["value"] == "3335"
    )
    assert hit(findings, "LG403", 4)["severity"] == "warning"


def test_planned_exit_year_is_its_own_field(tmp_path):
    """计划脱贫年度 no longer reads as 脱贫年度: SY304 sees an exit without a year."""
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"户信息": [household("H1", 脱贫状态="已脱贫", 人均纯收入=6000, 脱贫年度=None, 计划脱贫年度=2016)]},
    )
    result = audit([str(path)], year=2017, select=["SY303", "SY304", "LG401", "LG403"])
    assert list(result.findings["rule"]) == ["SY304"]
    assert result.findings["message"].iloc[0] == "已脱贫但脱贫年度为空"
    households = result.dataset.tables["households"].data
    assert households["计划脱贫年度"].tolist() == [2016] and households["脱贫年度"].isna().all()


def test_lg401_national_line_by_default_and_the_example_series_only_when_chosen(tmp_path):
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"户信息": [exited("H1", 2952, 2016, 年度=2016), exited("H2", 2953, 2016, 年度=2016)]},
    )
    findings = audit([str(path)], select=["LG401"]).findings
    assert rows(findings, "LG401") == [2]
    assert message(findings, "LG401", 2) == (
        "已脱贫户（2016 年脱贫）人均纯收入 2952.00 元不高于 2016 年贫困线 2952 元（参数 poverty_line，默认值，国家统计局）"
    )
    # An older config file naming the national series keeps working.
    config = tmp_path / "nbs.toml"
    config.write_text('exit_line_series = "statistical"\n', encoding="utf-8")
    assert rows(audit([str(path)], select=["LG401"], config=config).findings, "LG401") == [2]
    # The unsourced 2800 × 1.06ⁿ series applies only when chosen, and every message says so.
    config.write_text('exit_line_series = "working"\n', encoding="utf-8")
    findings = audit([str(path)], select=["LG401"], config=config).findings
    assert rows(findings, "LG401") == [2, 3]
    assert message(findings, "LG401", 3).endswith(
        "贫困线 3146 元（参数 poverty_line，默认值，未核实，请以省级文件为准，示例系列 working，无出处）"
    )


def test_a_year_without_a_line_leaves_those_households_unjudged(tmp_path):
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"户信息": [exited("H1", 2000, 2016, 年度=2016), exited("H2", 2000, 2018, 年度=2018)]},
    )
    result = audit([str(path)], select=["LG401"])
    assert outcome(result, "LG401").status == "ran"
    assert rows(result.findings, "LG401") == [2]  # H1's data year 2016 has a line; 2018 has none
    gaps = [d for d in result.dataset.diagnostics if "poverty_line" in d.message]
    assert [(d.level, d.message) for d in gaps] == [
        (
            "warning",
            "LG401（1 户）：2018 年 安徽省 没有贫困线（poverty_line），这些户未检查；"
            '请在配置文件中设置 [province."安徽".poverty_line] 2018 = …',
        )
    ]
    only_2018 = write_xlsx(tmp_path / "late.xlsx", {"户信息": [exited("H2", 2000, 2018, 年度=2018)]})
    result = audit([str(only_2018)], select=["LG401"])
    assert outcome(result, "LG401").status == "skipped"
    assert outcome(result, "LG401").reason.startswith("2018 年 安徽省 没有贫困线（poverty_line）")
    with pytest.raises(ConfigError, match=r"LG401：2018 年 安徽省 没有贫困线.*--strict-policy"):
        audit([str(only_2018)], select=["LG401"], strict_policy=True)


def test_lg401_only_needs_lines_of_the_rows_it_judges(tmp_path):
    # A poor household of 2013 needs no line for LG401: no error.
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [household("H1", 年度=2013)]})
    result = audit([str(path)], select=["LG401"])
    assert outcome(result, "LG401").status == "ran" and result.findings.empty
    # the same file with an exited household of 2016 below that year's line: judged and flagged
    path = write_xlsx(
        tmp_path / "in2.xlsx", {"户信息": [household("H1", 年度=2013), exited("H2", 2000, 2016, 年度=2016)]}
    )
    result = audit([str(path)], select=["LG401"])
    assert rows(result.findings, "LG401") == [3]
    assert not [d for d in result.dataset.diagnostics if "poverty_line" in d.message]


def test_lg402_exited_with_a_guarantee_gap(tmp_path):
    households = [exited(f"H{i}", 6000, **GOOD) for i in range(1, 11)]  # rows 2–11
    households += [
        exited("H11", 6000, 是否危房户="是", 是否解决安全饮用水="是"),  # 12
        exited("H12", 6000, 是否危房户="否", 是否解决安全饮用水="否"),  # 13
        household("H13", **GOOD),  # 14: poor: not 错退
        exited("H14", 6000, 是否危房户=None, 是否解决安全饮用水=None),  # 15: unknown is not a gap
    ]
    members = [
        member("H1"),
        child("H1", "20050601", 1, 在校生状况=None),  # 12, status empty → gap
        child("H2", "20050601", 2, 在校生状况="七年级"),  # 12 in school
        child("H3", "20021231", 3, 在校生状况="非在校生"),  # exactly 15 → gap
        child("H4", "20011231", 4, 在校生状况="非在校生"),  # 16: past compulsory age
        child("H5", "20110601", 5, 在校生状况="学龄前儿童"),  # 6: may still be in kindergarten
        child("H6", "20100601", 6, 在校生状况="学前教育"),  # 7 in kindergarten → gap
        child("H7", "20070601", 7, 在校生状况="小学", 失学或辍学原因="因病"),  # 10, dropped out → gap
        member("H8", 是否参加城乡居民基本医疗保险="否", 是否参加城镇职工基本医疗保险="否"),  # gap
        member("H9", 是否参加城乡居民基本医疗保险="否", 是否参加城镇职工基本医疗保险="是"),  # covered
        member("H10", 是否参加城乡居民基本医疗保险=None),  # unknown, not a gap
        child("H13", "20050601", 13, 在校生状况=None),
    ]
    findings = check_tables(tmp_path, ["LG402"], households=households, members=members)
    assert rows(findings, "LG402") == [2, 4, 7, 8, 9, 12, 13]
    assert (
        message(findings, "LG402", 2)
        == "当年脱贫户三保障或饮水未达标：有 6–15 岁未在校成员：孩子1（12 岁，在校生状况为空）"
    )
    assert message(findings, "LG402", 4).endswith("孩子3（15 岁，非在校生）")
    assert message(findings, "LG402", 7).endswith("孩子6（7 岁，仍为学前教育）")
    assert message(findings, "LG402", 8).endswith("孩子7（10 岁，失学或辍学原因：因病）")
    assert (
        message(findings, "LG402", 9)
        == "当年脱贫户三保障或饮水未达标：有成员未参加基本医疗保险（城乡居民或城镇职工）：张建国"
    )
    assert message(findings, "LG402", 12) == "当年脱贫户三保障或饮水未达标：住房为危房（是否危房户 = 是）"
    assert (
        message(findings, "LG402", 13)
        == "当年脱贫户三保障或饮水未达标：未解决安全饮用水（是否解决安全饮用水 = 否）"
    )


def test_lg402_finished_schooling_and_home_teaching_are_not_dropouts(tmp_path):
    households = [exited(f"H{i}", 6000, **GOOD) for i in range(1, 7)]  # rows 2–7
    members = [
        # 15 at 2017-12-31, out of school with 初中 finished: compulsory schooling complete
        child("H1", "20021231", 1, 在校生状况="非在校生", 文化程度="初中"),
        child("H2", "20021231", 2, 在校生状况=None, 文化程度="高中"),
        # near miss: 15 with only 小学 → gap
        child("H3", "20021231", 3, 在校生状况="非在校生", 文化程度="小学"),
        # near miss: 14 with 初中 is not yet past the compulsory age → gap
        child("H4", "20031231", 4, 在校生状况=None, 文化程度="初中"),
        # 送教上门 (teachers visit a disabled child) counts as schooling, in either column
        child("H5", "20070601", 5, 在校生状况="送教上门"),
        child("H6", "20070601", 6, 在校生状况="非在校生", 失学或辍学原因="残疾，送教上门"),
    ]
    findings = check_tables(tmp_path, ["LG402"], households=households, members=members)
    assert rows(findings, "LG402") == [4, 5]
    assert message(findings, "LG402", 4).endswith("孩子3（15 岁，非在校生）")
    assert message(findings, "LG402", 5).endswith("孩子4（14 岁，在校生状况为空）")


def test_lg404_same_gaps_in_an_earlier_exit(tmp_path):
    households = [
        exited("H1", 6000, 2015, 是否危房户="是", 是否解决安全饮用水="是"),  # 2: earlier exit → LG404
        exited("H2", 6000, 2017, 是否危房户="是", 是否解决安全饮用水="是"),  # 3: this year's → LG402
        exited("H3", 6000, 2015, **GOOD),  # 4: earlier exit, no gap
        exited("H4", 6000, 2019, 是否危房户="是", 是否解决安全饮用水="是"),  # 5: future exit year: SY304's
    ]
    members = [member(f"H{i}", 证件号码=pid(i)) for i in range(1, 5)]
    findings = check_tables(tmp_path, ["LG402", "LG404"], households=households, members=members)
    assert rows(findings, "LG404") == [2]
    assert rows(findings, "LG402") == [3]
    assert message(findings, "LG404", 2) == ("2015 年脱贫的户，脱贫成果未巩固：住房为危房（是否危房户 = 是）")
    assert hit(findings, "LG404", 2)["severity"] == "error"


def test_lg402_several_gaps_in_one_message_and_dead_members_ignored(tmp_path):
    findings = check_tables(
        tmp_path,
        ["LG402"],
        households=[
            exited("H1", 6000, 是否危房户="是", 是否解决安全饮用水="否"),
            exited("H2", 6000, **GOOD),
        ],
        members=[
            member("H1", 是否参加城乡居民基本医疗保险="否"),
            child("H1", "20050601", 1, 在校生状况="非在校生"),
            member("H2"),
            child("H2", "20050601", 2, 在校生状况=None, 死亡日期="2016-04-04"),  # dead: not out of school
        ],
    )
    assert rows(findings, "LG402") == [2]
    assert message(findings, "LG402", 2) == (
        "当年脱贫户三保障或饮水未达标：有 6–15 岁未在校成员：孩子1（12 岁，非在校生）；"
        "有成员未参加基本医疗保险（城乡居民或城镇职工）：张建国；住房为危房（是否危房户 = 是）；"
        "未解决安全饮用水（是否解决安全饮用水 = 否）"
    )


# ------------------------------------------------------------------------------------ CLI


def test_cli_reports_lg_findings_as_jsonl(tmp_path):
    path = write_xlsx(
        tmp_path / "county.xlsx",
        {
            "户信息": [exited("H1", 3335), exited("H2", 3335.01)],
            "家庭成员": [member("H1", 证件号码=pid(1)), member("H2", 证件号码=pid(2))],
            "车辆": [{"证件号码": pid(2), "详情": "小型轿车"}],
        },
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "fupin_audit",
            "check",
            str(path),
            "--select",
            "LG",
            "--format",
            "jsonl",
            "--year",
            "2017",
            "--config",
            str(anhui(tmp_path)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    got = sorted((r["rule"], r["sheet"], r["row"]) for r in records)
    assert got == [("LG301", "家庭成员", 3), ("LG401", "户信息", 2)]
    lg401 = next(r for r in records if r["rule"] == "LG401")
    assert (
        lg401["message"]
        == f"已脱贫户（2017 年脱贫）人均纯收入 3335.00 元不高于 2017 年贫困线 3335 元（{cited(2017)}）"
    )
    assert lg401["family"] == "两该两不该" and lg401["household_id"] == "H1"
    lg301 = next(r for r in records if r["rule"] == "LG301")
    assert "车辆名单（车辆 第 2 行：小型轿车）" in lg301["message"]
