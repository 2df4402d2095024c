"""SY101–SY404 (四严) through real xlsx files: flagged records, near misses, skips, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import check_tables, found, hit, household, make_id, member, message, rows, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.registry import default_registry

HEAD_ID = make_id(birth="19700101", seq=111)


def related(findings, code, row, table=None):
    return json.loads(hit(findings, code, row, table)["related"])


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


def pid(n: int, birth: str = "19800101") -> str:
    """A distinct valid ID per n (odd sequence: male)."""
    return make_id(birth=birth, seq=2 * n + 1)


def village(name="城西村", **values):
    record = {"县": "宿松县", "乡": "孚玉镇", "村": name, "总人口数": 1000, "年度": 2017}
    record.update(values)
    return record


def measure(hid="H1", kind="产业帮扶", **values):
    record = {"户编号": hid, "措施类型": kind, "年度": 2017}
    record.update(values)
    return record


def pairing(hid, name="王五", **values):
    record = {"帮扶责任人姓名": name, "帮扶单位": "县水利局", "户编号": hid}
    record.update(values)
    return record


# ------------------------------------------------------------------------------------ metadata


def test_rules_are_registered_with_documentation():
    registry = default_registry()
    expected = {
        "SY101": "warning", "SY102": "warning", "SY103": "error", "SY104": "warning", "SY201": "error",
        "SY202": "error", "SY203": "warning", "SY204": "warning", "SY205": "warning", "SY206": "warning",
        "SY207": "warning", "SY208": "warning", "SY301": "error", "SY302": "warning", "SY303": "warning",
        "SY304": "error", "SY305": "warning", "SY401": "error", "SY402": "error", "SY403": "warning",
        "SY404": "warning",
    }  # fmt: skip
    for code, severity in expected.items():
        item = registry.get(code)
        assert item.severity == severity, code
        assert item.family == "四严"
        assert item.what and item.why and item.example and item.title
        assert registry.origin(code) == "fupin_audit.rules.siyan"


# ------------------------------------------------------------------------------------ SY101 / SY102


def procedure(
    apply="2017-03-01", review="2017-03-05", start="2017-03-06", end="2017-03-12", notice="2017-03-20"
):
    return {
        "申请日期": apply,
        "民主评议日期": review,
        "公示开始日期": start,
        "公示结束日期": end,
        "公告日期": notice,
    }


def test_sy101_procedure_missing_or_out_of_order(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY101"],
        households=[
            household("H1", **procedure()),  # row 2: complete, in order
            household("H2", **procedure(apply="2017-03-10")),  # row 3: 评议 before 申请
            household("H3", **procedure(notice=None)),  # row 4: no 公告
            household("H4", **procedure(*(["2017-03-01"] * 5))),  # row 5: all on one day: fine
            household("H5", **procedure(apply="2017-03-10", review=None)),  # row 6: gap, and 公示 before 申请
            household("H6", **procedure(notice="2017-13-45")),  # row 7: unreadable
            household("H7", **procedure(end="2017-03-05")),  # row 8: 公示 ends before it starts
        ],
    )
    assert rows(findings, "SY101") == [3, 4, 6, 7, 8]
    assert message(findings, "SY101", 3) == "申请日期 2017-03-10 晚于 民主评议日期 2017-03-05"
    assert hit(findings, "SY101", 3)["column"] == "民主评议日期"
    assert message(findings, "SY101", 4) == "识别程序缺少：公告日期"
    assert hit(findings, "SY101", 4)["column"] == "公告日期"
    assert (
        message(findings, "SY101", 6)
        == "识别程序缺少：民主评议日期；申请日期 2017-03-10 晚于 公示开始日期 2017-03-06"
    )
    assert hit(findings, "SY101", 6)["column"] == "民主评议日期"
    assert message(findings, "SY101", 7) == "公告日期 无法识别为日期（见 DQ005）"
    assert hit(findings, "SY101", 7)["value"] == "2017-13-45"
    assert message(findings, "SY101", 8) == "公示开始日期 2017-03-06 晚于 公示结束日期 2017-03-05"


def test_sy101_needs_two_procedure_columns(tmp_path):
    path = write_xlsx(tmp_path / "one.xlsx", {"户信息": [household(申请日期="2017-03-01")]})
    result = audit([str(path)], year=2017, select=["SY101"])
    assert outcome(result, "SY101").status == "skipped"
    assert "不足两列" in outcome(result, "SY101").reason


def test_sy102_notice_of_seven_days_inclusive_is_enough(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY102"],
        households=[
            household("H1", 公示开始日期="2017-03-01", 公示结束日期="2017-03-07"),  # row 2: 7 days
            household("H2", 公示开始日期="2017-03-01", 公示结束日期="2017-03-06"),  # row 3: 6 days
            household("H3", 公示开始日期="2017-03-10", 公示结束日期="2017-03-01"),  # row 4: reversed → SY101
            household("H4", 公示开始日期="2017-03-01", 公示结束日期=None),  # row 5: no end → SY101
            household(
                "H5", 公示开始日期="2017-02-27", 公示结束日期="2017-03-01"
            ),  # row 6: 3 days over month end
        ],
    )
    assert rows(findings, "SY102") == [3, 6]
    assert (
        message(findings, "SY102", 3)
        == "公示 2017-03-01 至 2017-03-06 共 6 天（首尾都算），少于 7 天（参数 notice_min_days，默认值）"
    )
    assert "共 3 天" in message(findings, "SY102", 6)
    assert hit(findings, "SY102", 3)["column"] == "公示结束日期"
    assert hit(findings, "SY102", 3)["value"] == "2017-03-06"


def test_sy102_minimum_days_from_config_names_the_file(tmp_path):
    config = tmp_path / "county.toml"
    config.write_text("notice_min_days = 5\n", encoding="utf-8")
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "户信息": [
                household("H1", 公示开始日期="2017-03-01", 公示结束日期="2017-03-05"),  # 5 days: now enough
                household("H2", 公示开始日期="2017-03-01", 公示结束日期="2017-03-04"),  # 4 days
            ]
        },
    )
    findings = audit([str(path)], year=2017, select=["SY102"], config=config).findings
    assert rows(findings, "SY102") == [3]
    assert message(findings, "SY102", 3).endswith("少于 5 天（参数 notice_min_days，county.toml）")


# ------------------------------------------------------------------------------------ SY103


def test_sy103_same_person_in_several_households_with_scope(tmp_path):
    p_village, p_township, p_county, p_cross = pid(1), pid(2), pid(3), pid(4)
    legacy_18 = make_id(birth="19650505", seq=555)
    legacy_15 = legacy_18[:6] + legacy_18[8:17]
    findings = check_tables(
        tmp_path,
        ["SY103"],
        members=[
            member("H1", 证件号码=p_village),  # 2
            member("H2", 证件号码=p_village),  # 3: same village
            member("H3", 证件号码=p_township),  # 4
            member("H4", 证件号码=p_township, 村="城东村"),  # 5: same township
            member("H5", 证件号码=p_county),  # 6
            member("H6", 证件号码=p_county, 乡="复兴镇", 村="复兴村"),  # 7: same county
            member("H7", 证件号码=p_cross),  # 8
            member("H8", 证件号码=p_cross, 县="太湖县", 乡="晋熙镇", 村="城中村"),  # 9: across counties
            member("H9", 证件号码=p_cross, 县="太湖县", 乡="晋熙镇", 村="城中村"),  # 10
            member("H10", 证件号码=legacy_18),  # 11
            member("H11", 证件号码=legacy_15),  # 12: the 15-digit form of row 11
            member("H12", 证件号码=pid(5)),  # 13
            member("H12", 证件号码=pid(5), 与户主关系="之子"),  # 14: twice in ONE household: DQ020, not SY103
            member("H13", 证件号码="999999999999999999"),  # 15: placeholders are nobody
            member("H14", 证件号码="999999999999999999"),  # 16
            member("H15", 证件号码=pid(6)),  # 17: unique
        ],
    )
    assert rows(findings, "SY103") == [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert message(findings, "SY103", 2) == f"同一证件号码 {p_village} 登记在 2 个户中（同村）：户编号 H1、H2"
    assert (
        message(findings, "SY103", 5) == f"同一证件号码 {p_township} 登记在 2 个户中（同乡镇）：户编号 H3、H4"
    )
    assert message(findings, "SY103", 6).endswith("（同县）：户编号 H5、H6")
    assert (
        message(findings, "SY103", 10) == f"同一证件号码 {p_cross} 登记在 3 个户中（跨县）：户编号 H7、H8、H9"
    )
    assert (
        message(findings, "SY103", 12) == f"同一证件号码 {legacy_18} 登记在 2 个户中（同村）：户编号 H10、H11"
    )
    listed = related(findings, "SY103", 8)
    assert [r["household_id"] for r in listed] == ["H7", "H8", "H9"]  # every household, this row included
    assert [r["row"] for r in listed] == [8, 9, 10]
    assert listed[1]["county"] == "太湖县" and listed[1]["village"] == "城中村"
    assert all(r["sheet"] == "家庭成员" and r["table"] == "members" for r in listed)
    assert hit(findings, "SY103", 12)["column"] == "证件号码"
    assert hit(findings, "SY103", 12)["value"] == legacy_15


def test_sy103_scope_from_household_table_when_members_have_no_places(tmp_path):
    person = pid(7)
    bare = {"县": None, "乡": None, "村": None}
    findings = check_tables(
        tmp_path,
        ["SY103"],
        households=[household("H1"), household("H2", 村="城东村")],
        members=[member("H1", 证件号码=person, **bare), member("H2", 证件号码=person, **bare)],
    )
    assert rows(findings, "SY103") == [2, 3]
    assert "（同乡镇）" in message(findings, "SY103", 2)


# ------------------------------------------------------------------------------------ SY104


def test_sy104_households_sharing_a_phone(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY104"],
        households=[
            household("H1", 户联系电话="13912345678"),  # 2
            household("H2", 户联系电话="13912345678"),  # 3
            household("H3", 户联系电话="13900000001"),  # 4: own phone
            household("H4", 户联系电话="139-1234-5679"),  # 5: same number as row 6 once normalised
            household("H5", 户联系电话="13912345679"),  # 6
            household("H6", 户联系电话="12345"),  # 7: invalid numbers are DQ044's, not compared
            household("H7", 户联系电话="12345"),  # 8
            household("H1", 户联系电话="13912345678"),  # 9: H1 again (DQ021): one finding per household
        ],
    )
    assert rows(findings, "SY104") == [2, 3, 5, 6]
    assert message(findings, "SY104", 2) == "户联系电话 13912345678 被 2 个户共用：户编号 H1、H2"
    assert message(findings, "SY104", 5) == "户联系电话 13912345679 被 2 个户共用：户编号 H4、H5"
    assert [(r["household_id"], r["row"]) for r in related(findings, "SY104", 2)] == [("H2", 3)]
    assert hit(findings, "SY104", 5)["value"] == "139-1234-5679"


def test_sy104_falls_back_to_members_phone(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY104"],
        members=[
            member("H1", 户联系电话="13911112222"),  # 2
            member("H1", 户联系电话="13911112222", 与户主关系="之子", 证件号码=pid(1)),  # 3: same household
            member("H2", 户联系电话="13911112222", 证件号码=pid(2)),  # 4
        ],
    )
    assert rows(findings, "SY104", "members") == [2, 4]


# ------------------------------------------------------------------------------------ SY201–SY203


def test_sy201_poor_household_without_an_active_pairing(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY201"],
        households=[
            household("H1", 帮扶责任人=None),  # 2: paired
            household("H2", 帮扶责任人=None),  # 3: no pairing
            household("H3", 脱贫状态="返贫", 帮扶责任人=None),  # 4: pairing ended 2016-12-31
            household("H4", 帮扶责任人=None),  # 5: pairing ended 2017-01-01: still active that year
            household("H5", 脱贫状态="已脱贫", 脱贫年度=2016, 帮扶责任人=None),  # 6: exited: not checked
            household("H6", 帮扶责任人=None),  # 7: pairing begins 2018
            household("H7", 帮扶责任人="李四"),  # 8: named in the household table
        ],
        helpers=[
            pairing("H1"),
            pairing("H3", 结束日期="2016-12-31"),
            pairing("H4", 结束日期="2017-01-01"),
            pairing("H6", 开始日期="2018-01-01"),
        ],
    )
    assert rows(findings, "SY201") == [3, 4, 7]
    assert message(findings, "SY201", 3) == "未脱贫户在帮扶责任人结对表中没有结对记录，户表帮扶责任人也为空"
    assert (
        message(findings, "SY201", 4)
        == "返贫户在帮扶责任人结对表中的结对在 2017 年均不在有效期内，户表帮扶责任人也为空"
    )
    assert "2017 年均不在有效期内" in message(findings, "SY201", 7)
    assert hit(findings, "SY201", 3)["column"] == "帮扶责任人"


def test_sy201_household_column_only_and_skip(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY201"],
        households=[household("H1", 帮扶责任人="王五"), household("H2", 帮扶责任人=None)],
    )
    assert rows(findings, "SY201") == [3]
    assert message(findings, "SY201", 3) == "未脱贫户的帮扶责任人为空（户表）"
    path = write_xlsx(tmp_path / "bare.xlsx", {"户信息": [household("H1")]})
    result = audit([str(path)], year=2017, select=["SY201"])
    assert outcome(result, "SY201").status == "skipped"
    assert outcome(result, "SY201").reason == "既没有帮扶责任人结对表，户表也没有“帮扶责任人”列"


def test_sy202_helper_who_is_a_registered_member(tmp_path):
    poor_helper = pid(1)
    legacy_18 = pid(2, birth="19660606")
    legacy_15 = legacy_18[:6] + legacy_18[8:17]
    findings = check_tables(
        tmp_path,
        ["SY202"],
        members=[
            member("H1"),
            member("H2", 证件号码=poor_helper, 姓名="王五"),
            member("H3", 证件号码=legacy_18),
        ],
        helpers=[
            pairing("H1", 帮扶责任人证件号码=poor_helper),  # 2: registered in H2
            pairing("H3", 帮扶责任人证件号码=poor_helper),  # 3: same helper: reported once
            pairing("H2", name="赵六", 帮扶责任人证件号码=pid(3)),  # 4: not registered
            pairing("H1", name="钱七", 帮扶责任人证件号码=legacy_15),  # 5: 15-digit form of H3's member
        ],
        households=[
            household("H9", 帮扶责任人="王五", 帮扶责任人证件号码=poor_helper),  # 2: reported in 结对 already
            household("H8", 帮扶责任人="孙八", 帮扶责任人证件号码=HEAD_ID),  # 3: only in the household table
        ],
    )
    assert rows(findings, "SY202", "helpers") == [2, 5]
    assert (
        message(findings, "SY202", 2, "helpers")
        == f"帮扶责任人 王五（证件号码 {poor_helper}）本人是建档立卡户 H2 的成员，在本表结对 2 户"
    )
    assert f"（证件号码 {legacy_18}）本人是建档立卡户 H3 的成员" in message(findings, "SY202", 5, "helpers")
    listed = related(findings, "SY202", 2, "helpers")
    assert [(r["table"], r["row"], r["household_id"]) for r in listed] == [("members", 3, "H2")]
    assert rows(findings, "SY202", "households") == [3]
    assert (
        message(findings, "SY202", 3, "households")
        == f"帮扶责任人 孙八（证件号码 {HEAD_ID}）本人是建档立卡户 H1 的成员，在本表结对 1 户"
    )
    assert hit(findings, "SY202", 3, "households")["column"] == "帮扶责任人证件号码"


def test_sy203_helper_with_more_than_ten_households(tmp_path):
    ids = {"A": pid(11), "B": pid(12), "D": pid(14)}
    helpers = [pairing(f"A{i}", name="王五", 帮扶责任人证件号码=ids["A"]) for i in range(11)]  # rows 2–12
    helpers += [pairing(f"B{i}", name="赵六", 帮扶责任人证件号码=ids["B"]) for i in range(10)]  # rows 13–22
    helpers += [pairing(f"C{i}", name="孙八", 帮扶单位="县教育局") for i in range(11)]  # rows 23–33: no ID
    helpers += [pairing("C99", name="孙八", 帮扶单位="县教育局", 结束日期="2016-06-30")]  # row 34: ended
    helpers += [pairing(f"D{i}", name="周九", 帮扶责任人证件号码=ids["D"]) for i in range(10)]  # rows 35–44
    helpers += [pairing("D0", name="周九", 帮扶责任人证件号码=ids["D"])]  # row 45: same household again
    findings = check_tables(tmp_path, ["SY203"], helpers=helpers)
    assert rows(findings, "SY203") == [2, 23]
    assert (
        message(findings, "SY203", 2) == f"帮扶责任人 王五（证件号码 {ids['A']}，县水利局） 结对 11 户，"
        "超过上限 10 户（参数 helper_max_households，默认值）"
    )
    assert message(findings, "SY203", 23).startswith("帮扶责任人 孙八（县教育局） 结对 11 户")
    listed = related(findings, "SY203", 2)
    assert [r["household_id"] for r in listed] == [f"A{i}" for i in range(11)]
    assert hit(findings, "SY203", 2)["column"] == "帮扶责任人姓名"


# ------------------------------------------------------------------------------------ SY204–SY208


def test_sy204_poor_household_without_measure_in_the_data_year(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY204"],
        households=[
            household("H1"),  # 2: measure in 2017
            household("H2"),  # 3: only 2016
            household("H3", 脱贫状态="返贫"),  # 4: dated 2017-05-01, no 年度
            household("H4", 脱贫状态="已脱贫", 脱贫年度=2016),  # 5: exited → SY208, not SY204
            household("H5", 脱贫状态="返贫"),  # 6: nothing
        ],
        measures=[
            measure("H1"),
            measure("H2", 年度=2016),
            measure("H3", 年度=None, 日期="2017-05-01"),
        ],
    )
    assert rows(findings, "SY204") == [3, 6]
    assert message(findings, "SY204", 3) == "未脱贫户在 2017 年没有任何帮扶措施记录"
    assert message(findings, "SY204", 6) == "返贫户在 2017 年没有任何帮扶措施记录"


def test_sy205_measures_do_not_answer_the_main_cause(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY205"],
        households=[
            household("H1", 主要致贫原因="因病"),  # 2: 健康帮扶
            household("H2", 主要致贫原因="因病"),  # 3: only 产业帮扶
            household("H3", 主要致贫原因="因残"),  # 4: 综合保障 answers 因残
            household("H4", 主要致贫原因="缺技术"),  # 5: 技能培训 only in 2016
            household("H5", 主要致贫原因="交通条件落后"),  # 6: no mapping: not checked
            household("H6", 主要致贫原因="因病"),  # 7: no measure at all → SY204
            household("H7", 主要致贫原因="缺劳动力"),  # 8: variant of 缺劳力, 公益岗位 answers it
            household("H8", 主要致贫原因="因病", 脱贫状态="已脱贫", 脱贫年度=2016),  # 9: exited: checked too
        ],
        measures=[
            measure("H1", "健康帮扶"),
            measure("H2", "产业帮扶"),
            measure("H3", "综合保障"),
            measure("H4", "慰问救助"),
            measure("H4", "技能培训", 年度=2016),
            measure("H5", "慰问救助"),
            measure("H7", "公益岗位"),
            measure("H8", "产业帮扶"),
        ],
    )
    assert rows(findings, "SY205") == [3, 5, 9]
    assert (
        message(findings, "SY205", 3) == "主要致贫原因为 因病，2017 年的措施（产业帮扶）中没有对应的"
        " 健康帮扶（参数 measures.for_cause，默认值）"
    )
    assert message(findings, "SY205", 5).startswith(
        "主要致贫原因为 缺技术，2017 年的措施（慰问救助）中没有对应的 技能培训或就业帮扶"
    )
    assert hit(findings, "SY205", 3)["column"] == "主要致贫原因"


def test_sy205_mapping_from_config_accepts_variants_and_names_the_file(tmp_path):
    config = tmp_path / "county.toml"
    config.write_text('[measures.for_cause]\n"缺资金" = ["小额信贷", "产业扶贫"]\n', encoding="utf-8")
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "户信息": [household("H1"), household("H2")],  # both 缺资金
            "帮扶措施": [measure("H1", "产业帮扶"), measure("H2", "慰问救助")],
        },
    )
    findings = audit([str(path)], year=2017, select=["SY205"], config=config).findings
    assert rows(findings, "SY205") == [3]
    assert message(findings, "SY205", 3).endswith(
        "中没有对应的 金融帮扶或产业帮扶（参数 measures.for_cause，county.toml）"
    )


def test_sy206_labour_but_only_handouts(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY206"],
        households=[household(f"H{i}") for i in range(1, 8)]
        + [household("H8", 脱贫状态="已脱贫", 脱贫年度=2016)],
        members=[
            member("H1", 证件号码=make_id(birth="19800101", seq=11)),  # 37, 普通劳动力
            member("H2", 证件号码=make_id(birth="19800101", seq=13)),  # has 产业帮扶
            member("H3", 证件号码=make_id(birth="19561231", seq=15)),  # 61: past working age
            member("H4", 证件号码=make_id(birth="19571231", seq=17), 劳动技能="技能劳动力"),  # exactly 60
            member("H5", 证件号码=make_id(birth="19800101", seq=19), 劳动技能="弱劳动力或半劳动力"),
            member("H6", 证件号码=make_id(birth="20011231", seq=21)),  # exactly 16
            member("H7", 证件号码=make_id(birth="19800101", seq=23)),  # no measures → SY204
            member("H8", 证件号码=make_id(birth="19800101", seq=25)),  # exited: 脱贫不脱钩, checked too
        ],
        measures=[
            measure("H1", "慰问救助"),
            measure("H2", "慰问救助"),
            measure("H2", "产业帮扶"),
            measure("H3", "慰问救助"),
            measure("H4", "综合保障"),
            measure("H5", "慰问救助"),
            measure("H6", "健康帮扶"),
            measure("H8", "慰问救助"),
        ],
    )
    assert rows(findings, "SY206") == [2, 5, 7, 9]
    assert message(findings, "SY206", 2) == (
        "户内有 1 名 16–60 岁有劳动能力（普通劳动力、技能劳"
        "动力）的成员，2017 年的措施只有 慰问救助，没有开发式帮扶"
        "（产业帮扶、就业帮扶、金融帮扶、公益岗位帮扶、技能培训；参数 measures.developmental，默认值）"
    )
    assert "措施只有 综合保障" in message(findings, "SY206", 5)


def test_sy207_poor_village_without_industry_project(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY207"],
        villages=[
            village("城西村", 是否贫困村="是", 是否出列="否"),  # 2: project in 2017
            village("城东村", 是否贫困村="是", 是否出列="否"),  # 3: project only in 2016
            village("城南村", 是否贫困村="是", 是否出列="是", 出列年度=2016),  # 4: exited: still checked
            village(
                "城北村", 是否贫困村="是", 是否出列="是", 出列年度=2017
            ),  # 5: exits in 2017: still checked
            village("河口村", 是否贫困村="否"),  # 6: not a poor village
            village("石桥村", 是否贫困村="是", 是否出列="否"),  # 7: project via a household's 户编号
            village("新安村", 是否贫困村="是", 是否出列="否"),  # 8: project row has 村 but no 乡
            village("城西村", 乡="复兴镇", 是否贫困村="是", 是否出列="否"),  # 9: same name, other township
        ],
        measures=[
            measure(None, 乡="孚玉镇", 村="城西村"),
            measure(None, 乡="孚玉镇", 村="城东村", 年度=2016),
            measure("H7"),
            measure(None, 村="新安村"),
            measure(None, "慰问救助", 乡="复兴镇", 村="城西村"),
        ],
        households=[household("H7", 村="石桥村")],
    )
    assert rows(findings, "SY207") == [3, 4, 5, 9]
    assert (
        message(findings, "SY207", 4)
        == "贫困村 宿松县/孚玉镇/城南村（2016 年已出列） 在 2017 年没有任何产业帮扶措施或项目"
    )
    assert message(findings, "SY207", 3) == "贫困村 宿松县/孚玉镇/城东村 在 2017 年没有任何产业帮扶措施或项目"
    assert message(findings, "SY207", 9) == "贫困村 宿松县/复兴镇/城西村 在 2017 年没有任何产业帮扶措施或项目"


def test_sy208_exited_household_left_alone(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY208"],
        households=[
            household("H1", 脱贫状态="已脱贫", 脱贫年度=2016),  # 2: nothing in 2017
            household("H2", 脱贫状态="已脱贫(享受政策)", 脱贫年度=2016),  # 3: a visit counts
            household("H3"),  # 4: poor → SY204's business
            household("H4", 脱贫状态="已脱贫", 脱贫年度=2016),  # 5: only a 2016 measure
        ],
        measures=[measure("H2", "入户走访"), measure("H4", 年度=2016)],
    )
    assert rows(findings, "SY208") == [2, 5]
    assert (
        message(findings, "SY208", 2)
        == "已脱贫户（2016 年脱贫）在 2017 年没有任何帮扶措施或走访记录（脱贫不脱钩）"
    )


# ------------------------------------------------------------------------------------ SY301–SY305


def test_sy301_exited_village_incidence(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY301"],
        villages=[
            village("一村", 是否出列="是", 贫困人口数=19),  # 2: 1.9%
            village("二村", 是否出列="是", 贫困人口数=20),  # 3: 2.0% → flagged
            village("三村", 是否出列="是", 贫困人口数=25, 是否西部="是"),  # 4: west 2.5%
            village("四村", 是否出列="是", 贫困人口数=30, 是否西部="是"),  # 5: west 3.0% → flagged
            village("五村", 是否出列="否", 贫困人口数=50),  # 6: not exited
            village("六村", 是否出列="是", 贫困人口数=None),  # 7: computed from households: 30 people
            village("七村", 是否出列="是", 贫困人口数=None, 总人口数=0),  # 8: no population: no rate
        ],
        households=[
            household("H1", 村="六村", 家庭人口数=10),
            household("H2", 村="六村", 家庭人口数=20, 脱贫状态="返贫"),
            household("H3", 村="六村", 家庭人口数=40, 脱贫状态="已脱贫", 脱贫年度=2016),
        ],
    )
    assert rows(findings, "SY301") == [3, 5, 7]
    assert message(findings, "SY301", 3) == (
        "已出列村贫困发生率 2.00%（贫困人口 20 ÷ 总人口 1000，村表贫困人口数），不低于退出标准 2%"
        "（非西部；参数 village_exit_incidence，默认值）"
    )
    assert message(findings, "SY301", 5) == (
        "已出列村贫困发生率 3.00%（贫困人口 30 ÷ 总人口 1000，村表贫困人口数），不低于退出标准 3%"
        "（西部，村表是否西部 = 是；参数 village_exit_incidence_west，默认值）"
    )
    assert "（贫困人口 30 ÷ 总人口 1000，由户表计算）" in message(findings, "SY301", 7)


def test_sy301_west_counties_from_config(tmp_path):
    config = tmp_path / "west.toml"
    config.write_text('west_counties = ["宿松县"]\n', encoding="utf-8")
    path = write_xlsx(
        tmp_path / "in.xlsx", {"村信息": [village("一村", 是否出列="是", 贫困人口数=25, 是否贫困村="是")]}
    )
    findings = audit([str(path)], year=2017, select=["SY301"], config=config).findings
    assert found(findings, "SY301").empty
    # the same village without the config is judged by the non-west standard, 2.5% ≥ 2%
    findings = audit([str(path)], year=2017, select=["SY301"]).findings
    assert rows(findings, "SY301") == [2]
    assert "不低于退出标准 2%（非西部" in message(findings, "SY301", 2)


def test_sy302_collective_income_minimum(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY302"],
        villages=[
            village("一村", 是否出列="是", 村集体经济收入=50000),  # 2: exactly the minimum
            village("二村", 是否出列="是", 村集体经济收入=49999),  # 3
            village("三村", 是否出列="否", 村集体经济收入=1000),  # 4: not exited
        ],
    )
    assert rows(findings, "SY302") == [3]
    assert (
        message(findings, "SY302", 3)
        == "已出列村集体经济收入 49999.00 元，低于 50000 元（参数 collective_income_min，默认值）"
    )


def test_sy302_income_in_wan_yuan(tmp_path):
    rows_ = [
        {"村": "一村", "是否出列": "是", "总人口数": 900, "村集体经济收入（万元）": 4.9},
        {"村": "二村", "是否出列": "是", "总人口数": 900, "村集体经济收入（万元）": 5},
    ]
    path = write_xlsx(tmp_path / "wan.xlsx", {"村信息": rows_})
    findings = audit([str(path)], year=2017, select=["SY302"]).findings
    assert rows(findings, "SY302") == [2]
    assert message(findings, "SY302", 2).startswith(
        "已出列村集体经济收入 49000.00 元（表头单位 万元，已换算），低于 50000 元"
    )


def test_sy303_exit_in_the_year_of_identification_or_relapse(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY303"],
        households=[
            household("H1", 脱贫状态="已脱贫", 识别年度=2016, 脱贫年度=2016),  # 2
            household("H2", 脱贫状态="已脱贫", 识别年度=2015, 脱贫年度=2016),  # 3
            household("H3", 识别年度=2017),  # 4: poor
            household("H4", 脱贫状态="已脱贫", 识别年度=2014, 脱贫年度=2015, 年度=2016),  # 5
            household(
                "H4", 脱贫状态="已脱贫", 识别年度=2014, 脱贫年度=2017
            ),  # 6: relapsed and exited in 2017
            household("H5", 脱贫状态="返贫", 识别年度=2014, 脱贫年度=2015, 年度=2016),  # 7
            household("H5", 脱贫状态="已脱贫", 识别年度=2014, 脱贫年度=2017),  # 8: relapsed 2016, out 2017
        ],
    )
    assert rows(findings, "SY303") == [2, 6]
    assert message(findings, "SY303", 2) == "2016 年识别、当年即脱贫"
    assert (
        message(findings, "SY303", 6)
        == "上一年度（2016）已脱贫（脱贫年度 2015），本年度脱贫年度变为 2017：当年返贫又当年脱贫"
    )


def test_sy304_exit_year_missing_or_impossible(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY304"],
        households=[
            household("H1", 脱贫状态="已脱贫", 脱贫年度=None),  # 2
            household("H2", 脱贫状态="已脱贫", 识别年度=2016, 脱贫年度=2015),  # 3
            household("H3", 脱贫状态="已脱贫", 脱贫年度=2018),  # 4: after the data year
            household("H4", 脱贫状态="已脱贫", 脱贫年度=2017),  # 5: fine
            household("H5", 脱贫年度=None),  # 6: poor
            household("H6", 脱贫状态="已脱贫", 脱贫年度="明年"),  # 7: unreadable
        ],
    )
    assert rows(findings, "SY304") == [2, 3, 4, 7]
    assert message(findings, "SY304", 2) == "已脱贫但脱贫年度为空"
    assert message(findings, "SY304", 3) == "脱贫年度 2015 早于识别年度 2016"
    assert message(findings, "SY304", 4) == "脱贫年度 2018 晚于数据年度 2017"
    assert message(findings, "SY304", 7) == "已脱贫但脱贫年度“明年”无法识别"


def test_sy305_village_counts_differ_from_households(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY305"],
        villages=[
            village("一村", 贫困户数=2, 贫困人口数=5),  # 2: matches
            village("二村", 贫困户数=3, 贫困人口数=4),  # 3: household table says 1 and 2
            village("三村", 贫困户数=9, 贫困人口数=9),  # 4: no households there: not compared
        ],
        households=[
            household("H1", 村="一村", 家庭人口数=2),
            household("H2", 村="一村", 家庭人口数=3, 脱贫状态="返贫"),
            household("H3", 村="一村", 家庭人口数=4, 脱贫状态="已脱贫", 脱贫年度=2016),
            household("H4", 村="二村", 家庭人口数=2),
        ],
    )
    part = found(findings, "SY305")
    assert list(zip(part["row"], part["column"], strict=True)) == [(3, "贫困人口数"), (3, "贫困户数")]
    texts = sorted(part["message"])
    assert texts == [
        "村表贫困人口数 4，户表（按 县、乡、村 匹配）中该村未脱贫、返贫户合计 2",
        "村表贫困户数 3，户表（按 县、乡、村 匹配）中该村未脱贫、返贫户合计 1",
    ]


# ------------------------------------------------------------------------------------ SY401–SY404


def death(person, date=None, **values):
    return {"类别": "死亡", "证件号码": person, "日期": date, **values}


def test_sy401_dead_before_the_data_year(tmp_path):
    legacy_18 = pid(5)
    legacy_15 = legacy_18[:6] + legacy_18[8:17]
    findings = check_tables(
        tmp_path,
        ["SY401"],
        members=[
            member("H1", 证件号码=pid(1)),  # 2: died 2016-12-31 (roster)
            member("H2", 证件号码=pid(2)),  # 3: died 2017-01-01: in the data year
            member("H3", 证件号码=pid(3), 死亡日期="2015-05-05"),  # 4: own column
            member("H4", 证件号码=pid(4), 是否死亡="是"),  # 5: dead, date unknown
            member("H5", 证件号码=legacy_18),  # 6: roster has the 15-digit form
            member("H6", 证件号码=pid(6)),  # 7: alive
        ],
        rosters=[death(pid(1), "2016-12-31"), death(pid(2), "2017-01-01"), death(legacy_15, "2016-03-03")],
    )
    assert rows(findings, "SY401") == [2, 4, 5, 6]
    assert message(findings, "SY401", 2) == (
        "已于 2016-12-31 死亡（死亡名单，比对名单 第 2 行），"
        "早于 2017 年 1 月 1 日，仍登记为 2017 年建档立卡成员"
    )
    assert message(findings, "SY401", 4).startswith(
        "已于 2015-05-05 死亡（成员表死亡日期，家庭成员 第 4 行）"
    )
    assert message(findings, "SY401", 5) == (
        "已登记死亡但死亡日期不详（成员表是否死亡 = 是，家庭成员 第"
        " 5 行），无法确认死于 2017 年之前，仍登记为建档立卡成员"
    )
    assert "比对名单 第 4 行" in message(findings, "SY401", 6)


def test_sy401_death_sheet_named_after_its_category(tmp_path):
    path = write_xlsx(
        tmp_path / "deaths.xlsx",
        {
            "家庭成员": [member("H1", 证件号码=pid(1)), member("H2", 证件号码=pid(2))],
            "死亡人员": [{"证件号码": pid(2), "姓名": "李四", "死亡日期": "2016-07-01"}],
        },
    )
    findings = audit([str(path)], year=2017, select=["SY401"]).findings
    assert rows(findings, "SY401") == [3]
    assert "已于 2016-07-01 死亡（死亡名单，死亡人员 第 2 行）" in message(findings, "SY401", 3)


def test_sy401_without_any_death_source_is_skipped(tmp_path):
    path = write_xlsx(tmp_path / "m.xlsx", {"家庭成员": [member()]})
    result = audit([str(path)], year=2017, select=["SY401", "SY402", "SY207", "SY102"])
    reasons = {o.code: (o.status, o.reason) for o in result.outcomes}
    assert reasons["SY401"][0] == "skipped" and "没有死亡名单" in reasons["SY401"][1]
    assert reasons["SY402"] == ("skipped", "缺少 measures 表")
    assert reasons["SY207"] == ("skipped", "缺少 villages 表")
    assert reasons["SY102"] == ("skipped", "缺少 households 表")


def test_sy402_payment_to_a_stranger_or_after_death(tmp_path):
    dead, alive = pid(1), pid(2)
    findings = check_tables(
        tmp_path,
        ["SY402"],
        members=[member("H1", 证件号码=dead), member("H2", 证件号码=alive)],
        rosters=[death(dead, "2017-06-01")],
        measures=[
            measure("H1", 领取人证件号码=dead, 金额=500, 日期="2017-05-31"),  # 2: the day before death
            measure("H1", 领取人证件号码=dead, 金额=500, 日期="2017-06-01"),  # 3: the day of death
            measure("H1", 领取人证件号码=dead, 金额=500, 日期="2017-06-02"),  # 4: the day after
            measure("H2", 领取人证件号码=pid(3), 金额=300, 日期="2017-03-01"),  # 5: not registered
            measure("H2", 领取人证件号码="12345", 金额=300),  # 6: not an ID
            measure("H2", 领取人证件号码=None, 金额=300),  # 7: no receiver
            measure("H2", 领取人证件号码=alive, 金额=300, 日期="2017-03-01"),  # 8: fine
        ],
    )
    assert rows(findings, "SY402") == [4, 5, 6]
    assert message(findings, "SY402", 4) == (
        f"发放日期 2017-06-02 晚于领取人 {dead} 的死亡日期 20"
        "17-06-01（死亡名单，比对名单 第 2 行），金额 500.00 元"
    )
    assert hit(findings, "SY402", 4)["column"] == "日期"
    assert (
        message(findings, "SY402", 5)
        == f"领取人 {pid(3)} 不是任何建档立卡户的成员，金额 300.00 元，发放日期 2017-03-01"
    )
    assert (
        message(findings, "SY402", 6) == "领取人证件号码 12345 无效，无法核实为建档立卡成员，金额 300.00 元"
    )
    assert hit(findings, "SY402", 5)["column"] == "领取人证件号码"


def test_sy403_same_payment_twice(tmp_path):
    person = pid(1)
    base = {"领取人证件号码": person, "金额": 500, "日期": "2017-06-01"}
    findings = check_tables(
        tmp_path,
        ["SY403"],
        measures=[
            measure("H1", **base),  # 2
            measure("H1", **base),  # 3: same as 2
            measure("H1", **{**base, "金额": 501}),  # 4: other amount
            measure("H1", **{**base, "日期": "2017-06-02"}),  # 5: other date
            measure("H1", "慰问救助", **base),  # 6: other type
            measure("H1", **{**base, "金额": 0}),  # 7: zero amounts are not payments
            measure("H1", **{**base, "金额": 0}),  # 8
            measure("H2", 金额=200, 日期="2017-07-01"),  # 9: no receiver: by household
            measure("H2", 金额=200, 日期="2017-07-01"),  # 10
        ],
    )
    assert rows(findings, "SY403") == [2, 3, 9, 10]
    assert message(findings, "SY403", 2) == (
        f"领取人 {person} 的产业帮扶 500.00 元在 2017-06-01 发放了 2 笔（领取人、措施类型、金额、日期都相同）"
    )
    assert message(findings, "SY403", 9).startswith("领取人 户 H2 的产业帮扶 200.00 元")
    assert [r["row"] for r in related(findings, "SY403", 3)] == [2]
    assert related(findings, "SY403", 3)[0]["amount"] == 500.0


def test_sy404_unit_without_any_activity(tmp_path):
    findings = check_tables(
        tmp_path,
        ["SY404"],
        helpers=[
            pairing("H1", 帮扶单位="县水利局"),  # 2
            pairing("H2", 帮扶单位="县水利局"),  # 3
            pairing("H3", name="李四", 帮扶单位="县交通局"),  # 4: measure names the unit
            pairing("H4", name="赵六", 帮扶单位="县教育局"),  # 5: measure names its helper
            pairing("H5", name="钱七", 帮扶单位="县财政局"),  # 6: only a 2016 measure
            pairing("H6", name="周九", 帮扶单位="县工作队"),  # 7: its helper's measure is another unit's
        ],
        measures=[
            measure("H3", "慰问救助", 帮扶单位="县交通局"),
            measure("H4", "走访", 帮扶责任人="赵六"),
            measure("H5", 帮扶单位="县财政局", 年度=2016),
            measure("H6", 帮扶单位="某公司", 帮扶责任人="周九"),
        ],
    )
    assert rows(findings, "SY404") == [2, 6, 7]
    assert (
        message(findings, "SY404", 2)
        == "帮扶单位 县水利局 结对 2 户，2017 年措施表中没有该单位的任何措施、项目、资金或走访记录"
    )
    assert [r["household_id"] for r in related(findings, "SY404", 2)] == ["H1", "H2"]


# ------------------------------------------------------------------------------------ CLI


def test_cli_reports_sy_findings_as_jsonl(tmp_path):
    person = pid(1)
    path = write_xlsx(
        tmp_path / "county.xlsx",
        {
            "家庭成员": [member("H1", 证件号码=person), member("H2", 证件号码=person, 村="城东村")],
            "村信息": [village("一村", 是否出列="是", 贫困人口数=20)],
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
            "SY",
            "--format",
            "jsonl",
            "--year",
            "2017",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr  # SY103 and SY301 are errors
    records = [json.loads(line) for line in result.stdout.splitlines()]
    got = sorted((r["rule"], r["sheet"], r["row"]) for r in records)
    assert got == [("SY103", "家庭成员", 2), ("SY103", "家庭成员", 3), ("SY301", "村信息", 2)]
    sy103 = next(r for r in records if r["rule"] == "SY103" and r["row"] == 3)
    assert sy103["severity"] == "error" and sy103["family"] == "四严"
    assert sy103["id_number"] == person and sy103["household_id"] == "H2"
    assert "（同乡镇）" in sy103["message"]
    listed = sy103["related"] if isinstance(sy103["related"], list) else json.loads(sy103["related"])
    assert [r["household_id"] for r in listed] == ["H1", "H2"]
