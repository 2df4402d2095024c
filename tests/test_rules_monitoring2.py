"""The rest of the 防返贫监测 pack (MN105–MN161, DQ062–DQ073), monitoring indicators and a
province's declarative date-window rule: real xlsx in the 监测对象信息 layout with two title rows,
plus 已外出务工信息 / 计划外出务工信息 sheets (header on row 3) joined to members by 证件号码."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
from conftest import make_id, message, rows
from test_rules_monitoring import (
    EXPORTED,
    HELPED_OUT,
    MONITORED,
    child,
    family,
    head,
    household_rows,
    write_export,
)

from fupin_audit.audit import audit

HEAD_ID = make_id(birth="19830101", seq=111)
CHILD_ID = make_id(birth="20130501", seq=112)
WORK_COLUMNS = ("县", "户编号", "证件号码", "户类型", "监测对象类别", "是否已务工", "开始时间", "结束时间", "务工所在县",
                "务工月收入", "就业渠道", "年度交通费补助", "是否点对点输送", "务工企业名称", "所属行业")  # fmt: skip


def work(person: str = HEAD_ID, hid: str = "H1", **fields: object) -> dict[str, object]:
    """A work record: 是否已务工 = 是, from 2023-03, in 东莞市, 4000 元 a month, 500 元 fare."""
    record: dict[str, object] = {
        "县": "宿松县", "户编号": hid, "证件号码": person, "户类型": "脱贫户", "监测对象类别": "", "是否已务工": "是",
        "开始时间": "2023年03月", "结束时间": "", "务工所在县": "东莞市", "务工月收入": 4000, "就业渠道": "自主就业",
        "年度交通费补助": 500, "是否点对点输送": "否", "务工企业名称": "某电子厂", "所属行业": "制造业",
    }  # fmt: skip
    record.update(fields)
    return record


def plan(person: str = HEAD_ID, hid: str = "H1", **fields: object) -> dict[str, object]:
    record: dict[str, object] = {"县": "宿松县", "户编号": hid, "证件号码": person, "户类型": "脱贫户",
                                 "是否计划务工": "是", "计划务工所在县": "东莞市", "就业服务需求": "岗位信息"}  # fmt: skip
    record.update(fields)
    return record


def add_sheet(path: Path, name: str, records: list[dict[str, object]]) -> None:
    """A second sheet in the same workbook, as the 务工月监测 export writes it (title rows, header row 3)."""
    book = openpyxl.load_workbook(path)
    sheet = book.create_sheet(name)
    sheet.append([name])
    sheet.append([EXPORTED])
    columns: list[str] = []
    for record in records:
        columns += [c for c in record if c not in columns]
    sheet.append(columns)
    for record in records:
        sheet.append([record.get(c) if record.get(c, "") != "" else None for c in columns])
    book.save(path)


def run(
    tmp_path: Path, code: str, *households: list[dict[str, object]], works=(), plans=(), config: str = ""
):
    path = write_export(tmp_path / "监测对象信息.xlsx", [r for h in households for r in h])
    if works:
        add_sheet(path, "已外出务工信息", list(works))
    if plans:
        add_sheet(path, "计划外出务工信息", list(plans))
    options: dict[str, object] = {"select": [code]}
    if config:
        (tmp_path / "config.toml").write_text(config, encoding="utf-8")
        options["config"] = tmp_path / "config.toml"
    result = audit([str(path)], **options)  # type: ignore[arg-type]
    outcome = next(o for o in result.outcomes if o.code == code)
    assert outcome.status not in ("failed", "skipped"), (outcome.status, outcome.reason)
    return result.findings


def ids(seq: int, birth: str = "19830101") -> str:
    return make_id(birth=birth, seq=seq)


def pair(
    k: int, head_fields: dict[str, object] | None = None, **child_fields: object
) -> list[dict[str, object]]:
    """Household k's 40-year-old 户主 (证件号码 ids(200 + 2k)) and 10-year-old child, own ID numbers."""
    return [
        head(**{"证件号码": ids(200 + 2 * k), **(head_fields or {})}),
        child(证件号码=ids(201 + 2 * k, "20130501"), **child_fields),
    ]


# ------------------------------------------------------------------------------------ MN risk


def test_mn105_risk_without_a_member_to_match(tmp_path):
    findings = run(
        tmp_path, "MN105",
        family("H1", **MONITORED),  # 4: 因病, everyone 健康
        family("H2", [head(健康状况="长期慢性病"), child()], **MONITORED),  # ill member
        family("H3", **{**MONITORED, "致贫/返贫风险1": "因残"}),  # 8: nobody disabled
        family("H4", [head(证件类型="残疾人证", 证件号码=ids(113) + "42"), child()], **{**MONITORED, "致贫/返贫风险1": "因残"}),
        family("H5", **{**MONITORED, "致贫/返贫风险1": "因学"}),  # the child is in 小学
        family("H6", [head(), child(在校生状况="学龄前儿童")], **{**MONITORED, "致贫/返贫风险1": "因学"}),  # 14
        family("H7", **{"致贫/返贫风险1": "因病"}),  # not monitored
    )  # fmt: skip
    assert household_rows(findings, "MN105") == [4, 8, 14]
    assert "风险为因病，但没有成员患有大病或长期慢性病" in message(findings, "MN105", 4)
    assert "风险为因学，但没有在校成员" in message(findings, "MN105", 14)


def test_mn107_unstable_work_risk(tmp_path):
    risk = {**MONITORED, "致贫/返贫风险1": "因务工就业不稳"}
    findings = run(
        tmp_path, "MN107",
        family("H1", pair(1, {"劳动技能": "丧失劳动力"}), **risk),  # 4: no labour
        family("H2", pair(2), **risk),  # 6: labour, but nobody works (its record says 是否已务工 = 否)
        family("H3", pair(3), **risk),  # works (record joined by 证件号码)
        family("H4", pair(4, {"务工所在地": "东莞市"}), **risk),
        family("H5", pair(5, {"公益性岗位": "护林员"}), **risk),
        family("H6", pair(6, {"劳动技能": "弱劳动力或半劳动力"}), **{**risk, "风险是否已消除": "是"}),  # fine
        works=[work(ids(206), hid="H3"), work(ids(204), 是否已务工="否", hid="H2")],
    )  # fmt: skip
    assert household_rows(findings, "MN107") == [4, 6]
    assert "没有普通、技能或弱劳动力成员" in message(findings, "MN107", 4)
    assert "风险未消除，且没有成员有务工记录" in message(findings, "MN107", 6)


def test_mn109_gap_without_its_risk(tmp_path):
    findings = run(
        tmp_path, "MN109",
        family("H1", **{**MONITORED, "是否危房户": "是"}),  # 4: no 因安全住房
        family("H2", **{**MONITORED, "是否危房户": "是", "致贫/返贫风险2": "因安全住房"}),
        family("H3", **{**MONITORED, "是否解决安全饮用水": "否"}),  # 8: no 因安全饮水
        family("H4", **{**HELPED_OUT, "是否危房户": "是"}),  # resolved
        family("H5", **{"是否危房户": "是"}),  # not monitored
    )  # fmt: skip
    assert household_rows(findings, "MN109") == [4, 8]
    assert "是否危房户=是 而风险中没有因安全住房（参数 gap_risks）" in message(findings, "MN109", 4)


def test_mn110_household_flags_against_members(tmp_path):
    dropout = "是否义务教育阶段适龄儿童少年失学辍学"
    uninsured = "是否有家庭成员未参加城乡居民（职工）基本医疗保险"
    findings = run(
        tmp_path, "MN110",
        family("H1", **{dropout: "是", uninsured: "否"}),  # 4: flag 是, child in 小学
        family("H2", [head(), child(在校生状况="非在校生")], **{dropout: "否", uninsured: "否"}),  # 6: a dropout
        family("H3", [head(), child(在校生状况="非在校生")], **{dropout: "是", uninsured: "否"}),  # agrees
        family("H4", **{dropout: "否", uninsured: "是"}),  # 10: everyone insured
        family("H5", [head(是否参加城乡居民基本医疗保险="否"), child()], **{dropout: "否", uninsured: "否"}),  # 12
        family("H6", [head(是否参加城乡居民基本医疗保险="否"), child()], **{dropout: "否", uninsured: "是"}),  # agrees
    )  # fmt: skip
    assert household_rows(findings, "MN110") == [4, 6, 10, 12]
    assert "没有 6–15 岁未在校且无未上学原因的成员（参数 compulsory_education_age）" in message(
        findings, "MN110", 4
    )
    assert "每名成员都参加了基本医疗保险" in message(findings, "MN110", 10)


# ------------------------------------------------------------------------------------ MN elimination, measures


def test_mn127_income_parts_against_measures(tmp_path):
    findings = run(
        tmp_path, "MN127",
        family("H1", **{**HELPED_OUT, "生产经营性收入": 0, "工资性收入": 5000}),  # 4: 产业帮扶 without business income
        family("H2", **{**HELPED_OUT, "生产经营性收入": 0.01}),  # positive: fine
        family("H3", **{**HELPED_OUT, "生产经营性收入": 3000, "就业帮扶": "外出务工补贴", "工资性收入": 0,
                        "风险消除后工资性收入": 6000}),  # the 风险消除后 value decides: fine
        family("H4", **{**HELPED_OUT, "生产经营性收入": 3000, "综合保障": "农村低保", "转移性收入": 0}),  # 10
        family("H5", **{**HELPED_OUT, "生产经营性收入": 3000, "综合保障": "低保边缘", "转移性收入": 0}),  # not 低保
        family("H6", **{**MONITORED, "生产经营性收入": 0}),  # not eliminated
        family("H7", **{**HELPED_OUT, "生产经营性收入": ""}),  # empty: not judged
    )  # fmt: skip
    assert household_rows(findings, "MN127") == [4, 10]
    assert "产业帮扶有值，但生产经营性收入为 0 或负数" in message(findings, "MN127", 4)
    assert "综合保障含低保、特困供养或残疾人补贴有值，但转移性收入为 0 或负数" in message(
        findings, "MN127", 10
    )


def test_mn134_developmental_status(tmp_path):
    findings = run(
        tmp_path, "MN134",
        family("H1", **{**MONITORED, "实施开发式帮扶措施情况": "尚未实施"}),  # 4: labour + 产业帮扶
        family("H2", **{**MONITORED, "实施开发式帮扶措施情况": "已实施"}),  # fine (已实施 = 是)
        family("H3", **{**MONITORED, "产业帮扶": "", "就业帮扶": "技能培训", "实施开发式帮扶措施情况": "是"}),  # 8
        family("H4", [head(劳动技能="丧失劳动力"), child()], **{**MONITORED, "实施开发式帮扶措施情况": ""}),  # no labour
        family("H5", **{**HELPED_OUT, "实施开发式帮扶措施情况": ""}),  # resolved
    )  # fmt: skip
    assert household_rows(findings, "MN134") == [4, 8]
    assert "实施开发式帮扶措施情况为是，但" in message(findings, "MN134", 8)
    assert "实施开发式帮扶措施情况为空或尚未实施" in message(findings, "MN134", 4)


def test_mn135_comprehensive_support_against_members(tmp_path):
    findings = run(
        tmp_path, "MN135",
        family("H1", **{"综合保障": "农村低保"}),  # 4: nobody receives 低保
        family("H2", [head(享受低保政策情况="农村低保"), child()], **{"综合保障": "农村低保"}),
        family("H3", **{"综合保障": "残疾人两项补贴"}),  # 8: nobody disabled
        family("H4", [head(享受特困供养政策情况="农村特困"), child()], **MONITORED),  # 10: 特困 without the measure
        family("H5", [head(享受低保政策情况="农村低保"), child()], **HELPED_OUT),  # resolved: not (4)
        family("H6", **{"综合保障": "低保边缘户救助"}),  # 低保边缘 is not 低保
    )  # fmt: skip
    assert household_rows(findings, "MN135") == [4, 8, 10]
    assert "综合保障含低保，但没有成员享受低保" in message(findings, "MN135", 4)
    assert "有成员享受特困供养（或特困人员救助供养金 > 0），但综合保障中没有特困供养" in message(
        findings, "MN135", 10
    )


def test_mn136_yulu_plan(tmp_path):
    vocational = child(证件号码=ids(150, "20061001"), 在校生状况="中职二年级")
    findings = run(
        tmp_path, "MN136",
        family("H1", **{"教育帮扶": "雨露计划"}),  # 4: no vocational student
        family("H2", [head(), vocational], **{"教育帮扶": "雨露计划"}),
        family("H3", [head(), vocational], **MONITORED),  # 8: monitored, student, no 雨露计划
        family("H4", [head(), vocational]),  # not monitored: (2) not asked
        family("H5", [head(), child(在校生状况="普通高中二年级")], **{"教育帮扶": "雨露计划"}),  # 12: 高中 is not 中职
    )  # fmt: skip
    assert household_rows(findings, "MN136") == [4, 8, 12]
    assert "没有 中职*、高职高专*、技师学院* 在校生（参数 yulu_statuses）" in message(findings, "MN136", 4)


def test_mn137_employment_help_but_nobody_works(tmp_path):
    findings = run(
        tmp_path, "MN137",
        family("H1", pair(1), **{**MONITORED, "就业帮扶": "外出务工补贴"}),  # 4
        family("H2", pair(2), **{**MONITORED, "就业帮扶": "外出务工补贴"}),  # record
        family("H3", pair(3), **{**MONITORED, "公益岗位帮扶": "护林员"}),  # 8: post only on the household
        family("H4", pair(4, {"公益性岗位": "护林员"}), **{**MONITORED, "公益岗位帮扶": "护林员"}),
        family("H5", pair(5), **{**HELPED_OUT, "就业帮扶": "外出务工补贴"}),  # resolved
        works=[work(ids(204), hid="H2")],
    )  # fmt: skip
    assert household_rows(findings, "MN137") == [4, 8]
    assert message(findings, "MN137", 4).startswith("就业帮扶 = 外出务工补贴，但没有成员有务工记录")


def test_mn138_migrant_subsidy_against_work_records(tmp_path):
    subsidy = {**MONITORED, "就业帮扶": "外出务工补贴"}
    findings = run(
        tmp_path, "MN138",
        family("H1", pair(1), **subsidy),  # fine: 东莞市, fare 500
        family("H2", pair(2), **subsidy),  # 6: works at home in 宿松县
        family("H3", pair(3), **subsidy),  # 8: away, fare 0
        family("H4", pair(4), **{**MONITORED, "就业帮扶": "劳务输出"}),  # 10: started 202203, identified 202304
        family("H5", pair(5), **{**MONITORED, "就业帮扶": "劳务输出"}),  # started after identification: fine
        family("H6", pair(6, {}), **{**subsidy, "县": "东莞市"}),  # 14: the home county comes from the data
        works=[
            work(ids(202), hid="H1"), work(ids(204), hid="H2", 务工所在县="宿松县"),
            work(ids(206), hid="H3", 年度交通费补助=0), work(ids(208), hid="H4", 开始时间="2022年03月"),
            work(ids(210), hid="H5", 开始时间="2023年05月"), work(ids(212), hid="H6", 县="东莞市"),
        ],
    )  # fmt: skip
    assert household_rows(findings, "MN138") == [6, 8, 10, 14]
    assert "有年度交通费补助 > 0 的记录务工所在县就是本县" in message(findings, "MN138", 6)
    assert "（本户县：宿松县），但没有成员在本县以外务工的记录" in message(findings, "MN138", 6)
    assert "务工记录的年度交通费补助均为空或 0" in message(findings, "MN138", 8)
    assert "务工记录均在识别监测时间之前开始" in message(findings, "MN138", 10)
    assert "本户县：东莞市" in message(findings, "MN138", 14)


# ------------------------------------------------------------------------------------ MN 兜底, work


def test_mn142_te_kun_with_signs_of_labour(tmp_path):
    tekun = {"享受特困供养政策情况": "农村特困"}
    findings = run(
        tmp_path, "MN142",
        family("H1", pair(1, tekun)),  # 4: 40, healthy, not in school
        family("H2", pair(2, {**tekun, "健康状况": "长期慢性病"})),
        family("H3", pair(3, {**tekun, "证件号码": ids(300, "19640101")})),  # 59 at 2023-12-18: 8
        family("H4", pair(4, {**tekun, "证件号码": ids(302, "19631201")})),  # 60: fine
        family("H5", pair(5, {**tekun, "健康状况": "残疾"})),  # 12: has a work record
        works=[work(ids(210), hid="H5")],
    )  # fmt: skip
    assert rows(findings, "MN142", "members") == [4, 8, 12]
    assert "年龄 40 岁，18–59 岁（参数 te_kun_check_age）、健康、不在校" in message(findings, "MN142", 4)
    assert "有务工记录或公益性岗位" in message(findings, "MN142", 12)


def test_mn151_ages_of_workers_and_public_posts(tmp_path):
    teen = ids(400, "20071201")  # 16 on 2023-12-01
    findings = run(
        tmp_path, "MN151",
        family("H1", [head(证件号码=ids(401, "19530101"), 公益性岗位="护林员")]),  # 4: 70
        family("H2", [head(证件号码=ids(402, "19540101"), 公益性岗位="保洁员")]),  # 69: fine
        family("H3", [head(证件号码=teen)]),
        works=[work(teen, hid="H3", 开始时间="2023年11月"), work(teen, hid="H3", 开始时间="2023年12月", 结束时间="")],
    )  # fmt: skip
    assert rows(findings, "MN151", "members") == [4]
    assert "年龄 70 岁，不在 16–69 岁内（参数 public_job_age）" in message(findings, "MN151", 4, "members")
    assert rows(findings, "MN151", "work") == [4]  # 2023-11: 15; 2023-12-01: turned 16
    assert "当时年龄 15 岁，未满 16 岁（参数 min_work_age）" in message(findings, "MN151", 4, "work")


def test_mn152_no_labour_or_pupil_at_work(tmp_path):
    findings = run(
        tmp_path, "MN152",
        family("H1", pair(1, {"劳动技能": "丧失劳动力"})),  # 4: has a work record
        family("H2", pair(2)),  # 7: the child plans to work
        family("H3", pair(3, {"劳动技能": "无劳动力", "公益性岗位": "护林员"})),  # 8
        family("H4", pair(4)),  # labourer at work: fine
        family("H5", pair(5, {"劳动技能": "丧失劳动力"})),  # record says 是否已务工 = 否
        works=[work(ids(202), hid="H1"), work(ids(208), hid="H4"), work(ids(210), hid="H5", 是否已务工="否")],
        plans=[plan(ids(205, "20130501"), hid="H2"), plan(ids(206), hid="H3", 是否计划务工="否")],
    )  # fmt: skip
    assert rows(findings, "MN152", "members") == [4, 7, 8]
    assert "劳动技能为丧失劳动力，但有务工记录" in message(findings, "MN152", 4)
    assert "但有计划务工记录" in message(findings, "MN152", 7)


def test_mn153_local_channel_outside_the_county(tmp_path):
    findings = run(
        tmp_path, "MN153",
        family("H1", pair(1)), family("H2", pair(2)), family("H3", pair(3)),
        works=[
            work(ids(202), hid="H1", 就业渠道="乡村公益性岗位"),  # row 4: 东莞市 ≠ 宿松县
            work(ids(204), hid="H2", 就业渠道="帮扶车间", 务工所在县="宿松县"),
            work(ids(206), hid="H3", 就业渠道="自主就业"),
            work(ids(999), hid="H9", 就业渠道="帮扶车间", 县="太湖县"),  # row 7: not a member, own 县
        ],
    )  # fmt: skip
    assert rows(findings, "MN153", "work") == [4, 7]
    assert "务工所在县为东莞市，不是本人所在的宿松县" in message(findings, "MN153", 4, "work")
    assert "不是本人所在的太湖县" in message(findings, "MN153", 7, "work")


def test_mn154_skilled_but_not_working(tmp_path):
    findings = run(
        tmp_path, "MN154",
        family("H1", pair(1, {"劳动技能": "技能劳动力"})),  # 4
        family("H2", pair(2, {"文化程度": "大专"})),  # 6
        family("H3", pair(3, {"劳动技能": "技能劳动力"})),  # works
        family("H4", pair(4, {"劳动技能": "技能劳动力"}), 户类型="一般农户"),  # not covered
        family("H5", pair(5, {"文化程度": "本科及以上", "在校生状况": "本科二年级"})),  # a student
        works=[work(ids(206), hid="H3")],
    )  # fmt: skip
    assert rows(findings, "MN154", "members") == [4, 6]
    assert "40 岁（劳动年龄 16–" in message(findings, "MN154", 4)


def test_mn161_wage_income_against_work(tmp_path):
    findings = run(
        tmp_path, "MN161",
        family("H1", pair(1), **{"工资性收入": 8000}),  # 4: nobody works
        family("H2", pair(2), **{"工资性收入": 0}),  # 6: a 2023 record with 4000 a month
        family("H3", pair(3), **{"工资性收入": 99.99}),  # 8: below 100 (and works)
        family("H4", pair(4), **{"工资性收入": 100}),  # works, at the minimum: fine
        family("H5", pair(5), **{"工资性收入": 0}),  # record ended 202212: fine
        works=[work(ids(204), hid="H2"), work(ids(206), hid="H3"), work(ids(208), hid="H4"),
               work(ids(210), hid="H5", 开始时间="2022年01月", 结束时间="2022年12月")],
    )  # fmt: skip
    assert household_rows(findings, "MN161") == [4, 6, 8]
    assert "工资性收入大于 0，但没有成员有务工记录" in message(findings, "MN161", 4)
    assert "有成员当年务工且务工月收入大于 0，但工资性收入为空或 0" in message(findings, "MN161", 6)
    assert "小于 100 元（参数 min_wage_income）" in message(findings, "MN161", 8)


# ------------------------------------------------------------------------------------ DQ062–DQ073


def test_dq062_young_people_with_primary_education(tmp_path):
    findings = run(
        tmp_path, "DQ062",
        family("H1", [head(证件号码=ids(500, "20050101"), 文化程度="小学")]),  # 4: 18
        family("H2", [head(证件号码=ids(501, "20071217"), 文化程度="文盲或半文盲")]),  # 5: 16 on 2023-12-17
        family("H3", [head(证件号码=ids(502, "20071219"), 文化程度="小学")]),  # 15 on the export date
        family("H4", [head(证件号码=ids(503, "20001201"), 文化程度="小学")]),  # 23
        family("H5", [head(证件号码=ids(504, "20050101"), 文化程度="小学", 在校生状况="中职二年级")]),  # a student
    )  # fmt: skip
    assert rows(findings, "DQ062", "members") == [4, 5]
    assert "18 岁（16–22 岁，参数 young_low_education_age），不在校，文化程度为小学" in message(
        findings, "DQ062", 4
    )


def test_dq063_labour_skill_against_age_health_school(tmp_path):
    findings = run(
        tmp_path, "DQ063",
        family("H1", [head(), child(劳动技能="丧失劳动力")]),  # 5: a 10-year-old
        family("H2", [head(劳动技能="弱劳动力或半劳动力")]),  # 6: healthy 40-year-old
        family("H3", [head(劳动技能="弱劳动力或半劳动力", 健康状况="长期慢性病")]),
        family("H4", [head(证件号码=ids(600, "20060101"), 在校生状况="普通高中三年级")]),  # 8: 普通劳动力 at school
        family("H5", [head(证件号码=ids(601, "20040101"), 在校生状况="本科二年级")]),  # tertiary: exempt
    )  # fmt: skip
    assert rows(findings, "DQ063", "members") == [5, 6, 8]
    assert "10 岁未满 16 岁，劳动技能却为丧失劳动力" in message(findings, "DQ063", 5)
    assert "不属于参数 student_labour_exempt" in message(findings, "DQ063", 8)


def test_dq065_severe_disability_as_labour(tmp_path):
    card = {"健康状况": "残疾", "证件类型": "残疾人证"}
    findings = run(
        tmp_path, "DQ065",
        family("H1", [head(**card, 证件号码=ids(700) + "41")]),  # 4: 肢体一级
        family("H2", [head(**card, 证件号码=ids(701) + "43")]),  # grade 3
        family("H3", [head(**card, 证件号码=ids(702) + "12")]),  # 视力二级: not listed
        family("H4", [head(**card, 证件号码=ids(703) + "42", 劳动技能="丧失劳动力")]),
    )  # fmt: skip
    assert rows(findings, "DQ065", "members") == [4]
    assert "残疾类别 4、等级 1 级" in message(findings, "DQ065", 4)


def test_dq067_monthly_wage(tmp_path):
    findings = run(
        tmp_path, "DQ067", family("H1", pair(1)),
        works=[work(ids(202), 务工月收入=99.99), work(ids(202), 务工月收入=100), work(ids(202), 务工月收入=30000),
               work(ids(202), 务工月收入=30000.01), work(ids(202), 务工月收入="四千"), work(ids(202), 是否已务工="否", 务工月收入=50)],
    )  # fmt: skip
    assert rows(findings, "DQ067", "work") == [4, 7, 8]
    assert "务工月收入 99.99 元，不在 100–30000 元内（参数 monthly_wage_range）" in message(
        findings, "DQ067", 4, "work"
    )


def test_dq068_work_months(tmp_path):
    findings = run(
        tmp_path, "DQ068", family("H1", pair(1)),
        works=[
            work(ids(202), 开始时间="2023年08月", 结束时间="2023年05月"),  # 4: reversed
            work(ids(220), 开始时间="2022年01月", 结束时间="2022年06月"),
            work(ids(220), 开始时间="2022年06月", 结束时间="2022年10月"),  # 6: starts in the previous end month
            work(ids(222), 开始时间="2022年01月", 结束时间="2022年06月"),
            work(ids(222), 开始时间="2022年07月", 结束时间="2022年10月"),  # no overlap
            work(ids(224), 是否已务工="否", 开始时间="2023年01月", 结束时间=""),  # 9: 否 without an end
            work(ids(226), 开始时间="2024年01月"),  # 10: after the export month 202312
            work(ids(228), 开始时间="去年春天"),  # 11: unreadable
        ],
    )  # fmt: skip
    assert rows(findings, "DQ068", "work") == [4, 6, 9, 10, 11]
    assert "结束时间 202305 早于开始时间 202308" in message(findings, "DQ068", 4, "work")
    assert "与本人另一段务工（202201–202206）重叠" in message(findings, "DQ068", 6, "work")


def test_dq069_work_rows_against_members(tmp_path):
    findings = run(
        tmp_path, "DQ069",
        family("H1", pair(1)), family("H2", pair(2), **MONITORED),
        works=[
            work(ids(202), hid="H1"),  # fine
            work(ids(999), hid="H1"),  # 5: nobody
            work(ids(204), hid="H1"),  # 6: the member is in H2 (and H2 is monitored)
            work(ids(202), hid="H1", 监测对象类别="边缘易致贫户"),  # 7: category differs
        ],
        plans=[plan(ids(202), hid="H1"), plan(ids(998), hid="H1")],  # plan row 5: nobody
    )  # fmt: skip
    assert rows(findings, "DQ069", "work") == [5, 6, 6, 7]  # row 6: 户编号 and 监测对象类别
    assert rows(findings, "DQ069", "work_plans") == [5]
    assert "户编号为“H1”，与成员表中此人所在户的“H2”不同" in " ".join(
        findings.loc[
            (findings["rule"] == "DQ069") & (findings["row"] == 6) & (findings["table"] == "work"), "message"
        ]
    )


def test_dq071_village_counts(tmp_path):
    path = write_export(
        tmp_path / "监测对象信息.xlsx",
        family("H1", pair(1, {"享受低保政策情况": "农村低保"}), 村="城西村")
        + family("H2", pair(2, {"享受低保政策情况": "农村低保"}), 村="城西村"),
    )
    village = {"县": "宿松县", "乡": "孚玉镇", "是否贫困村": "是", "是否出列": "是", "总户数": 300, "总人口数": 1000,
               "低保户数": 10, "低保人口数": 20, "特困供养人口数": 5, "残疾人口数": 30, "危房户数": 0}  # fmt: skip
    add_sheet(path, "行政村信息", [
        {**village, "村": "城西村", "低保人口数": 1, "低保户数": 1},  # 4: 1 < the 2 members on 低保
        {**village, "村": "城东村", "低保户数": 301},  # 5: more than 总户数 (and 低保人口 20 < 301)
        {**village, "村": "河口村"},  # fine
        {**village, "村": "新河村", "总人口数": 200, "总户数": 250},  # 7: people < households
    ])  # fmt: skip
    result = audit([str(path)], select=["DQ071"])
    assert rows(result.findings, "DQ071", "villages") == [4, 5, 5, 7]
    assert "低保人口数 1 小于成员表中本村享受低保的 2 人" in message(result.findings, "DQ071", 4)


def test_dq073_public_posts(tmp_path):
    findings = run(
        tmp_path, "DQ073",
        family("H1", [head(公益性岗位="护林员", **{"公益性岗位(月数)": ""})]),  # 4: no months
        family("H2", [head(公益性岗位="", **{"公益性岗位(月数)": 6})]),  # 5: months without a post
        family("H3", [head(公益性岗位="护林员,保洁员、护路员", **{"公益性岗位(月数)": 12})]),  # 6: three posts
        family("H4", [head(公益性岗位="护林员,保洁员,护林员", **{"公益性岗位(月数)": 12})]),  # two distinct: fine
    )  # fmt: skip
    assert rows(findings, "DQ073", "members") == [4, 5, 6]
    assert "登记了 3 个公益性岗位" in message(findings, "DQ073", 6)


# ------------------------------------------------------------------------------------ indicators


def indicator_county() -> list[dict[str, object]]:
    """Four 监测户 (two 脱贫不稳定户, one 边缘易致贫户, one 突发严重困难户), three 脱贫户 not monitored, one
    一般农户 not monitored."""
    developmental = {"产业帮扶": "种植业"}
    bare = {"产业帮扶": "", "就业帮扶": "技能培训"}
    return (
        family("H1", pair(1), **{**MONITORED, **developmental})
        + family("H2", pair(2), **{**HELPED_OUT, **bare, "监测对象类别": "边缘易致贫户", "户类型": "一般农户",
                                   "识别监测时间": "202301", "消除监测时间": "202305"})  # 4 months
        + family("H3", pair(3, {"劳动技能": "丧失劳动力"}), **{**HELPED_OUT, "监测对象类别": "突发严重困难户",
                 "风险消除方式": "自然消除", "识别监测时间": "202302", "消除监测时间": "202310"})  # 8, no labour
        + family("H4", pair(4), **{**HELPED_OUT, **bare, "识别监测时间": "202304", "消除监测时间": "202306"})  # 2
        + family("H5", pair(5), **{"人均纯收入（元）": 5000})  # MN101
        + family("H6", pair(6))
        + family("H7", pair(7), 是否危房户="是")  # MN102
        + family("H8", pair(8), 是否危房户="是", 户类型="一般农户")  # MN102, but not a 脱贫户
    )  # fmt: skip


def test_monitoring_indicators_by_value(tmp_path):
    path = write_export(tmp_path / "监测对象信息.xlsx", indicator_county())
    (tmp_path / "line.toml").write_text("[monitoring_line]\n2023 = 7300\n", encoding="utf-8")
    result = audit([str(path)], select=["MN101", "MN102"], config=tmp_path / "line.toml")
    values = result.summary()["indicators"]
    assert values["monitoring_households"] == 4
    share = {
        k: (v["numerator"], v["denominator"])
        for k, v in values.items()
        if isinstance(v, dict) and "numerator" in v
    }
    assert share["monitoring_type_脱贫不稳定户"] == (2, 4)
    assert share["monitoring_type_边缘易致贫户"] == (1, 4)
    assert share["monitoring_type_突发严重困难户"] == (1, 4)
    assert share["monitoring_eliminated"] == (3, 4)
    assert share["monitoring_eliminated_帮扶消除"] == (2, 3)
    assert share["monitoring_eliminated_自然消除"] == (1, 3)
    assert values["monitoring_months_to_elimination"] == {"median": 4.0, "households": 3}
    assert share["monitoring_missed"] == (2, 3)  # H5 (MN101), H7 (MN102) of H5–H7; H8 is no 脱贫户
    assert share["monitoring_developmental_of_labour"] == (1, 3)  # H1 of H1, H2, H4 (H3 has no labour)


def test_monitoring_indicators_in_the_console_summary(tmp_path):
    path = write_export(tmp_path / "监测对象信息.xlsx", indicator_county())
    config = tmp_path / "line.toml"
    config.write_text("[monitoring_line]\n2023 = 7300\n", encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "fupin_audit",
        "check",
        str(path),
        "--config",
        str(config),
        "--select",
        "MN101",
    ]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    assert result.returncode in (0, 1), result.stderr
    assert "监测户数" in result.stdout
    assert "应纳未纳疑似户 ÷ 未纳入监测的脱贫户（MN101、MN102）" in result.stdout
    assert "33.3%（1 / 3）" in result.stdout  # MN102 not selected: only H5
    assert "识别至消除的月数（中位数）" in result.stdout and "4 个月（3 户）" in result.stdout


# ------------------------------------------------------------------------------------ declarative


def test_province_health_window_rule_through_the_cli(tmp_path):
    """The shipped TOML example: a province's date window on 识别监测时间 (YYYYMM as a number), both
    ends inclusive, an empty month never matches."""
    rules_file = Path(__file__).parent.parent / "rules" / "province_health_window.toml"
    no_health = {**MONITORED, "健康帮扶": ""}
    path = write_export(
        tmp_path / "监测对象信息.xlsx",
        family("H1", **{**no_health, "识别监测时间": "202304"})  # 4: first month of the window
        + family("H2", **{**no_health, "识别监测时间": "202312"})  # 6: last month
        + family("H3", **{**no_health, "识别监测时间": "202303"})  # before
        + family("H4", **{**no_health, "识别监测时间": "202401"})  # after
        + family("H5", **{**MONITORED, "识别监测时间": "202306"})  # has 健康帮扶
        + family("H6", **{"健康帮扶": "", "识别监测时间": ""}),  # not monitored
    )
    command = [sys.executable, "-m", "fupin_audit", "check", str(path), "--rules", str(rules_file),
               "--select", "PH001", "-f", "csv", "--fail-on", "warning"]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 1, result.stderr
    findings = pd.read_csv(io.StringIO(result.stdout), dtype=str)
    assert list(findings["rule"]) == ["PH001", "PH001"] and list(findings["row"]) == ["4", "6"]
    assert findings["message"][0] == "识别监测时间 202304，在省定窗口 202304–202312 内，健康帮扶为空"


# ------------------------------------------------------------------------------------ a clean county


def clean_county() -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    """A 2023 county that trips no MN or DQ060–DQ073 rule: a 脱贫户 with a migrant worker, an open
    监测户 (因病, with its measures), an eliminated 边缘易致贫户; work and plan sheets that match."""
    common = {"工资性收入": 24000, "生产经营性收入": 6000, "转移性收入": 1200, "合规自付支出": 3000,
              "实施开发式帮扶措施情况": "是"}  # fmt: skip
    households = (
        family("H1", pair(1), **common)
        + family("H2", pair(2, {"健康状况": "长期慢性病"}),
                 **{**MONITORED, **common, "人均纯收入（元）": 9000, "识别监测时间": "202306"})
        + family("H3", pair(3, {"健康状况": "患有大病"}), **{**HELPED_OUT, **common, "监测对象类别": "边缘易致贫户", "户类型": "一般农户",
                                   "人均纯收入（元）": 12000, "识别监测时间": "202301", "消除监测时间": "202308"})
    )  # fmt: skip
    works = [work(ids(202), hid="H1"), work(ids(204), hid="H2", 监测对象类别="脱贫不稳定户"),
             work(ids(206), hid="H3", 户类型="一般农户", 监测对象类别="边缘易致贫户")]  # fmt: skip
    plans = [plan(ids(202), hid="H1")]
    return households, works, plans


def test_clean_monitoring_county_has_no_mn_or_dq06x_dq07x_findings(tmp_path):
    from fupin_audit.engine.registry import default_registry

    codes = [r.code for r in default_registry() if r.code.startswith(("MN", "DQ06", "DQ07"))]
    assert len(codes) == 34 + 14  # every MN code of MONITORING.md §5 and DQ060–DQ073
    households, works, plans = clean_county()
    path = write_export(tmp_path / "监测对象信息.xlsx", households)
    add_sheet(path, "已外出务工信息", works)
    add_sheet(path, "计划外出务工信息", plans)
    (tmp_path / "line.toml").write_text("[monitoring_line]\n2023 = 7300\n", encoding="utf-8")
    result = audit([str(path)], select=codes, config=tmp_path / "line.toml")
    assert result.findings.empty, result.findings[["rule", "table", "row", "message"]].to_string()
    ran = {o.code for o in result.outcomes if o.status == "ran"}
    assert {"MN101", "MN105", "MN121", "MN133", "MN138", "MN161", "DQ060", "DQ068", "DQ069"} <= ran
