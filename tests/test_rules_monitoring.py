"""防返贫监测 rules (MN101–MN171, DQ060–DQ073): real xlsx in the 监测对象信息 layout — one row per
person, household fields repeated, two title rows (the second "导出时间：2023-12-18") — read by the
loader; every rule gets records that must be flagged and near misses that must not."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
from conftest import make_id, message, rows, write_xlsx

from fupin_audit.audit import audit

EXPORTED = "导出时间：2023-12-18"
MEASURES = ("产业帮扶", "就业帮扶", "公益岗位帮扶", "健康帮扶", "教育帮扶", "金融帮扶", "社会帮扶", "综合保障",
            "住房安全保障", "饮水安全保障")  # fmt: skip


def head(**overrides: object) -> dict[str, object]:
    """A 40-year-old 户主, 普通劳动力, insured: a member who trips nothing."""
    record: dict[str, object] = {
        "证件类型": "居民身份证",
        "证件号码": make_id(birth="19830101", seq=111),
        "姓名": "张建国",
        "性别": "1",
        "民族": "汉族",
        "与户主关系": "户主",
        "文化程度": "初中",
        "在校生状况": "非在校生",
        "健康状况": "健康",
        "劳动技能": "普通劳动力",
        "是否参加城乡居民基本医疗保险": "是",
        "是否参加城镇职工基本医疗保险": "否",
        "是否参加大病保险": "是",
        "享受低保政策情况": "未享受",
        "享受特困供养政策情况": "不享受",
    }
    record.update(overrides)
    return record


def child(**overrides: object) -> dict[str, object]:
    """A 10-year-old in 小学 (born 2013-05-01; 10 at the export date 2023-12-18)."""
    record = {
        "证件号码": make_id(birth="20130501", seq=112), "姓名": "张小明", "与户主关系": "之子", "文化程度": "",
        "在校生状况": "小学", "劳动技能": "无劳动力",
    }  # fmt: skip
    return head(**{**record, **overrides})


def family(
    hid: str, people: list[dict[str, object]] | None = None, **fields: object
) -> list[dict[str, object]]:
    """The rows of one household: its fields repeated on every person (as the export does). Default:
    a 脱贫户, not monitored, income 20000, no gap, 产业帮扶 filled."""
    household: dict[str, object] = {
        "县": "宿松县",
        "乡": "孚玉镇",
        "村": "城西村",
        "户编号": hid,
        "户类型": "脱贫户",
        "监测对象类别": "",
        "致贫/返贫风险1": "",
        "致贫/返贫风险2": "",
        "风险是否已消除": "",
        "风险消除方式": "",
        "识别监测时间": "",
        "消除监测时间": "",
        "人均纯收入（元）": 20000,
        "是否危房户": "否",
        "是否解决安全饮用水": "是",
        "是否通生活用电": "是",
        **{m: "" for m in MEASURES},
        "产业帮扶": "种植业",
    }
    household.update(fields)
    people = people if people is not None else [head(), child()]
    return [{**household, **p} for p in people]


def write_export(path: Path, records: list[dict[str, object]], title_date: str = EXPORTED) -> Path:
    """A real workbook (openpyxl) in the 监测对象信息 layout: two title rows, header on row 3."""
    columns: list[str] = []
    for record in records:
        columns += [c for c in record if c not in columns]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "监测对象信息"
    ws.append(["（自定义）监测对象信息"])
    ws.append([title_date])
    ws.append(columns)
    for record in records:
        ws.append([record.get(c, "") if record.get(c, "") != "" else None for c in columns])
    wb.save(path)
    return path


def check(tmp_path: Path, code: str, *households: list[dict[str, object]], config: str | None = None):
    records = [r for h in households for r in h]
    path = write_export(tmp_path / "监测对象信息.xlsx", records)
    options: dict[str, object] = {"select": [code]}
    if config is not None:
        (tmp_path / "config.toml").write_text(config, encoding="utf-8")
        options["config"] = tmp_path / "config.toml"
    result = audit([str(path)], **options)  # type: ignore[arg-type]
    outcome = next(o for o in result.outcomes if o.code == code)
    assert outcome.status not in ("failed", "skipped"), (outcome.status, outcome.reason)
    return result.findings


def household_rows(findings, code):
    """Excel rows of the flagged household findings (a household's first person row)."""
    return rows(findings, code, "households")


LINE_2023 = "[monitoring_line]\n2023 = 7300\n"


MONITORED = {"监测对象类别": "脱贫不稳定户", "风险是否已消除": "否", "识别监测时间": "202304", "致贫/返贫风险1": "因病",
             "健康帮扶": "医疗救助"}  # fmt: skip
HELPED_OUT = {**MONITORED, "风险是否已消除": "是", "风险消除方式": "帮扶消除", "消除监测时间": "202306"}


def test_mn101_income_below_the_line_of_the_year(tmp_path):
    findings = check(
        tmp_path, "MN101",
        family("H1", **{"人均纯收入（元）": 7299.99}),  # below: rows 4–5
        family("H2", **{"人均纯收入（元）": 7300}),  # exactly at the line: not below
        family("H3", **{"人均纯收入（元）": 5000, **MONITORED}),  # monitored
        family("H4", **{"人均纯收入（元）": 5000, "户类型": "一般农户"}),  # not in monitor_population
        config=LINE_2023,
    )  # fmt: skip
    assert household_rows(findings, "MN101") == [4]
    text = message(findings, "MN101", 4)
    assert "7299.99" in text and "2023 年防返贫监测线 7300 元" in text and "config.toml" in text


def test_mn101_skipped_without_a_line_for_the_year(tmp_path):
    path = write_export(tmp_path / "x.xlsx", family("H1", **{"人均纯收入（元）": 5000}))
    result = audit([str(path)], select=["MN101"])
    outcome = next(o for o in result.outcomes if o.code == "MN101")
    assert outcome.status == "skipped" and "2023" in outcome.reason and "monitoring_line" in outcome.reason


def test_mn102_gaps_of_unmonitored_households(tmp_path):
    findings = check(
        tmp_path, "MN102",
        family("H1", **{"是否危房户": "是", "是否通生活用电": "否"}),  # rows 4–5
        family("H2", [head(), child(在校生状况="非在校生")]),  # rows 6–7: a 10-year-old out of school
        family("H3", [head(), child(在校生状况="非在校生", 义务教育阶段未上学原因="残疾")]),  # exempt
        family("H4", **{"是否危房户": "是", **MONITORED}),  # monitored
        family("H5"),  # no gap
    )  # fmt: skip
    assert household_rows(findings, "MN102") == [4, 6]
    assert "是否危房户=是、是否通生活用电=否" in message(findings, "MN102", 4)
    assert "6–15 岁成员未在校" in message(findings, "MN102", 6)


def test_mn104_category_against_household_type(tmp_path):
    findings = check(
        tmp_path, "MN104",
        family("H1", **{"监测对象类别": "脱贫不稳定户", "户类型": "一般农户"}),
        family("H2", **{"监测对象类别": "边缘易致贫户", "户类型": "脱贫户"}),
        family("H3", **{"监测对象类别": "边缘易致贫户", "户类型": "一般农户"}),
        family("H4", **{"监测对象类别": "脱贫不稳定户", "户类型": "脱贫户"}),
        family("H5", **{"监测对象类别": "突发严重困难户", "户类型": "脱贫户"}),
    )  # fmt: skip
    assert household_rows(findings, "MN104") == [4, 6]
    assert "户类型为一般农户（应为脱贫户）" in message(findings, "MN104", 4)


def adult(seq: int, skill: str = "普通劳动力", birth: str = "19830101") -> dict[str, object]:
    return head(证件号码=make_id(birth=birth, seq=seq), 与户主关系="配偶", 劳动技能=skill)


def test_mn106_share_of_labour_above_a_quarter(tmp_path):
    lack = {**MONITORED, "致贫/返贫风险1": "缺劳动力"}
    old = "19400101"
    findings = check(
        tmp_path, "MN106",
        # 2 of 4 (50%): rows 4–7
        family("H1", [head(), adult(113), adult(115, "丧失劳动力"), adult(117, "丧失劳动力")], **lack),
        # 1 of 4 = exactly 25%: not above
        family("H2", [head(), adult(113, "丧失劳动力"), adult(115, "无劳动力"), adult(117, "丧失劳动力")], **lack),
        # 2 of 4 but one is 83 (outside working_age): 25%
        family("H3", [head(), adult(113, birth=old), adult(115, "丧失劳动力"), adult(117, "丧失劳动力")], **lack),
        # resolved
        family("H4", [head(), adult(113)], **{**lack, "风险是否已消除": "是"}),
    )  # fmt: skip
    assert household_rows(findings, "MN106") == [4]
    assert "4 人中劳动力 2 人（50%），超过 25%" in message(findings, "MN106", 4)


def test_mn111_school_and_insurance_gaps_of_members(tmp_path):
    findings = check(
        tmp_path, "MN111",
        family("H1", [head(), child(在校生状况="非在校生")]),  # row 5: out of school
        family("H2", [head(是否参加城乡居民基本医疗保险="否"), child()]),  # row 6: both 否
        family("H3", [head(是否参加城乡居民基本医疗保险="", 是否参加城镇职工基本医疗保险=""), child(在校生状况="学龄前儿童")]),  # unknown / 学龄前 at 10: row 9
        family("H4", [head(), child(在校生状况="非在校生")], 户类型="一般农户"),  # not covered
        family("H5", [head(), child(在校生状况="非在校生", 义务教育阶段未上学原因="重度残疾送教上门")]),
        family("H6", [head(), child(在校生状况="非在校生", 证件号码=make_id(birth="20071201", seq=114))]),  # 16
    )  # fmt: skip
    assert rows(findings, "MN111", "members") == [5, 6, 9]
    assert "10 岁，在义务教育年龄 6–15 岁内" in message(findings, "MN111", 5)
    assert "未参加基本医疗保险" in message(findings, "MN111", 6)


def test_mn121_and_mn122_income_at_elimination(tmp_path):
    cases = [
        family("H1", **{**HELPED_OUT, "人均纯收入（元）": 7299.99}),  # 4: below → MN121
        family("H2", **{**HELPED_OUT, "人均纯收入（元）": 7300}),  # 6: at the line → MN122
        family("H3", **{**HELPED_OUT, "人均纯收入（元）": 7665}),  # 8: at line × 1.05 → MN122
        family("H4", **{**HELPED_OUT, "人均纯收入（元）": 7665.01}),  # 10: above the band
        family("H5", **{**HELPED_OUT, "人均纯收入（元）": 7000, "风险消除方式": "自然消除"}),  # 12
        # 14: the 风险消除后 income decides (7000 < 7300) though 人均纯收入 is high
        family("H6", **{**HELPED_OUT, "人均纯收入（元）": 9000, "风险消除后家庭人均纯收入": 7000}),
    ]
    findings = check(tmp_path, "MN121", *cases, config=LINE_2023)
    assert household_rows(findings, "MN121") == [4, 14]
    assert "风险消除后人均纯收入 7000.00 元低于 2023 年防返贫监测线 7300 元" in message(findings, "MN121", 14)
    findings = check(tmp_path, "MN122", *cases, config=LINE_2023)
    assert household_rows(findings, "MN122") == [6, 8]
    assert "7665.00 元" in message(findings, "MN122", 8) and "1.05" in message(findings, "MN122", 8)


def test_mn123_gaps_after_elimination(tmp_path):
    findings = check(
        tmp_path, "MN123",
        family("H1", **{**HELPED_OUT, "风险消除后是否住房损毁": "是"}),
        family("H2", [head(), child(在校生状况="非在校生")], **HELPED_OUT),
        family("H3", **{**HELPED_OUT, "风险消除后是否住房损毁": "否"}),
        family("H4", **{**MONITORED, "是否危房户": "是"}),  # not eliminated
    )  # fmt: skip
    assert household_rows(findings, "MN123") == [4, 6]
    assert "风险消除后是否住房损毁=是" in message(findings, "MN123", 4)


def test_mn124_elimination_within_two_months(tmp_path):
    findings = check(
        tmp_path, "MN124",
        family("H1", **{**HELPED_OUT, "识别监测时间": "202304", "消除监测时间": "202305"}),  # 1 month
        family("H2", **{**HELPED_OUT, "识别监测时间": "202212", "消除监测时间": "202212"}),  # same month
        family("H3", **{**HELPED_OUT, "识别监测时间": "202211", "消除监测时间": "202301"}),  # 2 months
        family("H4", **{**HELPED_OUT, "风险消除方式": "自然消除", "消除监测时间": "202304"}),
        family("H5", **{**HELPED_OUT, "识别监测时间": "202306", "消除监测时间": "202305"}),  # reversed: DQ070
    )  # fmt: skip
    assert household_rows(findings, "MN124") == [4, 6]
    assert "识别监测时间 202304，帮扶消除于 202305，仅相隔 1 个月，少于 2 个月" in message(
        findings, "MN124", 4
    )


def test_mn125_eliminated_without_any_labour(tmp_path):
    none = [head(劳动技能="丧失劳动力"), child()]
    findings = check(
        tmp_path, "MN125",
        family("H1", none, **HELPED_OUT),
        family("H2", [head(), child()], **HELPED_OUT),
        family("H3", none, **MONITORED),
    )  # fmt: skip
    assert household_rows(findings, "MN125") == [4]


def test_mn126_helped_out_without_measures(tmp_path):
    findings = check(
        tmp_path, "MN126",
        family("H1", **{**HELPED_OUT, "产业帮扶": "", "健康帮扶": ""}),
        family("H2", **{**HELPED_OUT, "产业帮扶": "", "健康帮扶": "", "风险消除方式": "自然消除"}),
        family("H3", **{**HELPED_OUT, "产业帮扶": "", "健康帮扶": "", "社会帮扶": "结对帮扶"}),
    )  # fmt: skip
    assert household_rows(findings, "MN126") == [4]


def test_mn131_no_measures_after_the_grace_month(tmp_path):
    bare = {**MONITORED, "产业帮扶": "", "健康帮扶": ""}
    findings = check(
        tmp_path, "MN131",
        family("H1", **{**bare, "识别监测时间": "202311"}),  # 1 month before 2023-12: flagged
        family("H2", **{**bare, "识别监测时间": "202312"}),  # the export month: within grace
        family("H3", **{**MONITORED, "识别监测时间": "202301"}),  # has measures
        family("H4", **{**bare, "识别监测时间": "202301", "风险是否已消除": "是"}),
    )  # fmt: skip
    assert household_rows(findings, "MN131") == [4]
    assert "至基准月 202312 已 1 个月（≥ 1，参数 measure_grace_months）" in message(findings, "MN131", 4)


def test_mn132_risk_without_its_measure(tmp_path):
    findings = check(
        tmp_path, "MN132",
        family("H1", **{**MONITORED, "健康帮扶": ""}),  # 因病, no 健康/社会/综合: row 4
        family("H2", **MONITORED),  # 健康帮扶 filled
        family("H3", **{**MONITORED, "致贫/返贫风险2": "因安全饮水"}),  # no 饮水安全保障: row 8
        family("H4", **{"健康帮扶": ""}),  # not monitored
    )  # fmt: skip
    assert household_rows(findings, "MN132") == [4, 8]
    assert "因病（健康帮扶/社会帮扶/综合保障均为空）" in message(findings, "MN132", 4)
    assert "因安全饮水（饮水安全保障均为空）" in message(findings, "MN132", 8)


def test_mn133_labour_without_developmental_measures(tmp_path):
    base = {**MONITORED, "产业帮扶": "", "识别监测时间": "202306"}  # 6 months before 202312
    findings = check(
        tmp_path, "MN133",
        family("H1", **{**base, "就业帮扶": "技能培训"}),  # only a non-developmental value: row 4
        family("H2", **{**base, "识别监测时间": "202307"}),  # 5 months: within grace
        family("H3", **{**base, "就业帮扶": "技能培训,外出务工补贴"}),  # developmental
        family("H4", [head(劳动技能="丧失劳动力"), child()], **base),  # no labour
    )  # fmt: skip
    assert household_rows(findings, "MN133") == [4]
    assert "已 6 个月（≥ 6，参数 developmental_grace_months）" in message(findings, "MN133", 4)


def test_mn141_no_labour_household_without_welfare(tmp_path):
    none = [head(劳动技能="丧失劳动力"), child()]
    findings = check(
        tmp_path, "MN141",
        family("H1", none),  # 脱贫户, no 低保/特困: row 4
        family("H2", [head(劳动技能="丧失劳动力", 享受低保政策情况="农村低保"), child()]),
        family("H3", none, 户类型="一般农户"),  # neither 脱贫户 nor monitored
        family("H4", [head(), child()], 整户无劳动能力兜底保障户="是"),  # marked, but a 40-year-old labourer: row 10
    )  # fmt: skip
    assert household_rows(findings, "MN141") == [4, 10]
    assert "无成员享受低保或特困供养" in message(findings, "MN141", 4)
    assert "劳动年龄（16–" in message(findings, "MN141", 10)


# ------------------------------------------------------------------------------------ DQ060–DQ073


def test_dq070_monitoring_months(tmp_path):
    findings = check(
        tmp_path, "DQ070",
        family("H1", **{**MONITORED, "识别监测时间": "202401"}),  # 4: after the export month 202312
        family("H2", **{**MONITORED, "识别监测时间": "202312"}),  # the export month itself: fine
        family("H3", **{**MONITORED, "识别监测时间": "202012"}),  # 8: before 202101
        family("H4", **{**HELPED_OUT, "识别监测时间": "202306", "消除监测时间": "202305"}),  # 10: reversed
        family("H5", **{**HELPED_OUT, "消除监测时间": ""}),  # 12: eliminated, no month
        family("H6", **{**MONITORED, "消除监测时间": "202310"}),  # 14: not eliminated, month filled
        family("H7", **{**MONITORED, "识别监测时间": "二〇二三年"}),  # 16: unreadable
        family("H8", **HELPED_OUT),  # fine
    )  # fmt: skip
    assert household_rows(findings, "DQ070") == [4, 8, 10, 12, 14, 16]
    assert "识别监测时间 202401 晚于基准月 202312" in message(findings, "DQ070", 4)
    assert "早于防返贫监测起始 202101（参数 monitoring_start）" in message(findings, "DQ070", 8)
    assert "消除监测时间 202305 早于识别监测时间 202306" in message(findings, "DQ070", 10)


def test_dq072_risk_slots(tmp_path):
    findings = check(
        tmp_path, "DQ072",
        family("H1", **{**MONITORED, "致贫/返贫风险2": "因病"}),  # 4: duplicate
        family("H2", **{**MONITORED, "致贫/返贫风险1": "", "致贫/返贫风险2": "因学"}),  # 6: gap before
        family("H3", **{**MONITORED, "致贫/返贫风险1": "其他", "其他备注": ""}),  # 8: 其他 without remark
        family("H4", **{**MONITORED, "致贫/返贫风险1": "其他", "其他备注": "子女赡养纠纷"}),
        family("H5", **{**MONITORED, "致贫/返贫风险2": "因学"}),
    )  # fmt: skip
    assert household_rows(findings, "DQ072") == [4, 6, 8]
    assert "1 号与 2 号风险重复登记为“因病”" in message(findings, "DQ072", 4)


def test_dq060_required_when(tmp_path):
    findings = check(
        tmp_path, "DQ060",
        family("H1", **{**MONITORED, "识别监测时间": ""}),  # 4: 监测户 without 识别监测时间
        family("H2", [head(民族="")], **MONITORED),  # 6: a member of a 监测户 without 民族
        family("H3", [head(民族="")], 户类型="一般农户"),  # not required
        family("H4", [head(是否参加城乡居民基本医疗保险="", 是否参加城镇职工基本医疗保险="")]),  # 8: both of a group
        family("H5", [head(是否参加城乡居民基本医疗保险="")]),  # one of the group filled: fine
        family("H6", **MONITORED),
    )  # fmt: skip
    assert household_rows(findings, "DQ060") == [4]
    assert rows(findings, "DQ060", "members") == [6, 8]
    assert message(findings, "DQ060", 4, "households") == "监测户的识别监测时间为空（参数 required_when）"
    assert "是否参加城乡居民基本医疗保险、是否参加城镇职工基本医疗保险 均为空" in message(
        findings, "DQ060", 8, "members"
    )


def test_dq061_areas_and_distance(tmp_path):
    findings = check(
        tmp_path, "DQ061",
        family("H1", **{"林地面积（亩）": 350}),  # 4
        family("H2", **{"林地面积（亩）": 200, "与村主干路距离": 5}),  # at the maxima
        family("H3", **{"与村主干路距离": 5.5}),  # 8
        family("H4", **{"水面面积": -1}),  # 10
    )  # fmt: skip
    assert household_rows(findings, "DQ061") == [4, 8, 10]
    assert "林地面积 350 亩，超出合理范围 0–200 亩（参数 area_max.林地面积）" in message(findings, "DQ061", 4)


def test_dq064_disability_registration(tmp_path):
    disabled_id = make_id(birth="19830101", seq=113) + "42"
    findings = check(
        tmp_path, "DQ064",
        family("H1", [head(健康状况="残疾")]),  # 4: 残疾 with an ID card
        family("H2", [head(健康状况="残疾", 证件类型="残疾人证", 证件号码=disabled_id)]),  # fine
        family("H3", [head(证件类型="残疾人证", 证件号码=disabled_id)]),  # 6: card but 健康
        family("H4", [head(健康状况="残疾", 证件类型="残疾人证", 证件号码=disabled_id[:18] + "85")]),  # 7: 8/5
        family("H5", [head(健康状况="残疾", 证件类型="残疾人证")]),  # 8: card with 18 digits
    )  # fmt: skip
    assert rows(findings, "DQ064", "members") == [4, 6, 7, 8]
    assert "第 19 位（类别）为 8、第 20 位（等级）为 5" in message(findings, "DQ064", 7)


def test_dq066_insurance_registration(tmp_path):
    findings = check(
        tmp_path, "DQ066",
        family("H1", [head(是否参加城镇职工基本医疗保险="是")]),  # 4: both
        family("H2", [head(是否参加大病保险="否")]),  # 5: no 大病保险
        family("H3", [head(是否参加城乡居民基本医疗保险="否", 是否参加城镇职工基本医疗保险="是", 是否参加大病保险="否")]),
        family("H4", [head(是否参加大病保险="")]),
    )  # fmt: skip
    assert rows(findings, "DQ066", "members") == [4, 5]


def test_cli_monitoring_export_with_a_provincial_line(tmp_path):
    """The user path: `fupin-audit check` on an export, the province's line in --config, exit code 1
    at --fail-on error; without a line for 2023 MN121 is skipped and the exit code stays 0."""
    book = write_export(
        tmp_path / "监测对象信息.xlsx",
        family("H1", **{**HELPED_OUT, "人均纯收入（元）": 7000})
        + family("H2", **{**HELPED_OUT, "人均纯收入（元）": 9000}),
    )
    config = tmp_path / "贵州.toml"
    config.write_text(LINE_2023, encoding="utf-8")
    command = [sys.executable, "-m", "fupin_audit", "check", str(book), "--select", "MN121", "-f", "csv"]
    result = subprocess.run(
        [*command, "--config", str(config), "--fail-on", "error"], capture_output=True, text=True
    )
    assert result.returncode == 1, result.stderr
    findings = pd.read_csv(io.StringIO(result.stdout), dtype=str)
    assert list(findings["rule"]) == ["MN121"] and list(findings["row"]) == ["4"]
    assert (
        "7000.00 元低于 2023 年防返贫监测线 7300 元（monitoring_line，贵州.toml [monitoring_line] 2023）"
        in findings["message"][0]
    )
    unset = subprocess.run([*command[:-2], "--fail-on", "error"], capture_output=True, text=True)
    assert unset.returncode == 0, unset.stderr
    assert "跳过" in unset.stdout
    assert (
        '2023 年 安徽省 没有防返贫监测线（monitoring_line），这些户未检查；请在配置文件中设置 [province."安徽".monitoring_line]'
        in unset.stderr
    )


def test_mn103_high_income_at_identification(tmp_path):
    findings = check(
        tmp_path, "MN103",
        family("H1", **{**MONITORED, "人均纯收入（元）": 20000.01, "合规自付支出": 0}),  # 4
        family("H2", **{**MONITORED, "人均纯收入（元）": 20000, "合规自付支出": 0}),  # at the maximum
        family("H3", **{**MONITORED, "人均纯收入（元）": 30000, "合规自付支出": 15000}),  # explained
        family("H4", **{**MONITORED, "人均纯收入（元）": 30000, "识别监测时间": "202212"}),  # before 2023
    )  # fmt: skip
    assert household_rows(findings, "MN103") == [4]
    assert "20000.01 元高于 20000 元（参数 identification_income_max）" in message(findings, "MN103", 4)


def test_mn108_illness_without_out_of_pocket_costs(tmp_path):
    findings = check(
        tmp_path, "MN108",
        family("H1", **{**MONITORED, "合规自付支出": 0}),
        family("H2", **{**MONITORED, "合规自付支出": 3000}),
        family("H3", **{**MONITORED, "合规自付支出": "", "致贫/返贫风险1": "因学"}),
        family("H4", **{**MONITORED, "合规自付支出": "", "风险是否已消除": "是"}),
    )  # fmt: skip
    assert household_rows(findings, "MN108") == [4]


def test_mn171_exited_village_without_a_paved_road(tmp_path):
    village = {
        "县": "宿松县",
        "乡": "孚玉镇",
        "是否贫困村": "是",
        "总户数": 300,
        "总人口数": 1000,
        "是否通客运班车": "是",
    }
    book = write_xlsx(
        tmp_path / "行政村信息.xlsx",
        {
            "行政村信息": [
                {**village, "村": "城西村", "是否出列": "是", "到乡镇是否通沥青（水泥）路": "否"},  # row 3
                {**village, "村": "城东村", "是否出列": "是", "到乡镇是否通沥青（水泥）路": "是"},
                {**village, "村": "河口村", "是否出列": "否", "到乡镇是否通沥青（水泥）路": "否"},
            ]
        },
        title=EXPORTED,
    )
    result = audit([str(book)], select=["MN171"])
    assert rows(result.findings, "MN171", "villages") == [3]
    (tmp_path / "bus.toml").write_text("[rules.MN171]\nrequire_bus = true\n", encoding="utf-8")
    result = audit([str(book)], select=["MN171"], config=tmp_path / "bus.toml")
    assert rows(result.findings, "MN171", "villages") == []  # 城西村 has a bus
