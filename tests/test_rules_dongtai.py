"""DT101–DT112 (动态调整): two snapshots written as real xlsx files, flagged records and near misses
(a newborn, a bride, a death, a rise of exactly 100%), locations on both sides, bad pairs, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest
from conftest import hit, household, make_id, member, message, rows, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.registry import default_registry
from fupin_audit.schema.models import Household

SHEETS = {"households": "户信息", "members": "家庭成员", "rosters": "比对名单"}
HEAD = make_id(birth="19700101", seq=111)
WIFE = make_id(birth="19720101", seq=222)
SON = make_id(birth="19950101", seq=333)
MONITORING = "风险是否已消除" in Household.specs()  # the monitoring-era schema (landing on main)


def hh(hid: str, year: int, **values: object) -> dict[str, object]:
    return household(hid, 年度=year, **values)


def person(hid: str, year: int, id_number: str, name: str, relation: str, sex: str = "男", **values: object):
    return member(hid, 年度=year, 证件号码=id_number, 姓名=name, 与户主关系=relation, 性别=sex, **values)


def couple(hid: str, year: int, head: str = HEAD, wife: str = WIFE) -> list[dict[str, object]]:
    return [person(hid, year, head, "张建国", "户主"), person(hid, year, wife, "李秀英", "配偶", "女")]


def write(path: Path, tables: dict[str, list[dict[str, object]]]) -> Path:
    return write_xlsx(path, {SHEETS[kind]: records for kind, records in tables.items()})


def compare(tmp_path: Path, before: dict, after: dict, select=("DT",), **options):
    previous = write(tmp_path / "2017年.xlsx", before)
    current = write(tmp_path / "2018年.xlsx", after)
    result = audit([str(current)], previous=[str(previous)], select=select, **options)
    failed = [f"{o.code}: {o.reason}" for o in result.outcomes if o.status == "failed"]
    assert not failed, failed
    return result


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


def test_rules_are_registered_with_documentation():
    registry = default_registry()
    expected = {
        "DT101": "warning", "DT102": "error", "DT103": "warning", "DT104": "info", "DT105": "warning",
        "DT106": "warning", "DT107": "error", "DT108": "error", "DT109": "warning", "DT110": "warning",
        "DT111": "error", "DT112": "info",
    }  # fmt: skip
    for code, severity in expected.items():
        item = registry.get(code)
        assert item.severity == severity, code
        assert item.family == "动态调整"
        assert item.what and item.why and item.example and item.title
        assert item.previous, code
        assert registry.origin(code) == "fupin_audit.rules.dongtai"


def test_without_previous_every_dt_rule_is_skipped_with_the_reason(tmp_path):
    path = write(tmp_path / "x.xlsx", {"households": [hh("H1", 2018)], "members": couple("H1", 2018)})
    result = audit([str(path)], select=["DT"])
    assert {o.status for o in result.outcomes} == {"skipped"}
    assert {o.reason for o in result.outcomes} == {"没有 --previous 上一期数据"}
    assert result.transitions is None


# ------------------------------------------------------------------------------------ DT101


def test_dt101_vanished_households_point_at_the_previous_row(tmp_path):
    result = compare(
        tmp_path,
        {
            "households": [
                hh("H1", 2017),  # 2: poor, vanishes → error
                hh("H2", 2017, 脱贫状态="已脱贫", 脱贫年度=2016),  # 3: exited, vanishes → warning
                hh("H3", 2017),  # 4: still there
                hh("H4", 2017, 脱贫状态="返贫"),  # 5: relapsed, vanishes → error
            ]
        },
        {"households": [hh("H3", 2018)]},
    )
    findings = result.findings
    assert rows(findings, "DT101") == [2, 3, 5]
    first = hit(findings, "DT101", 2)
    assert first["table"] == "previous.households"
    assert first["file"].endswith("2017年.xlsx") and first["sheet"] == "户信息"
    assert first["severity"] == "error" and hit(findings, "DT101", 3)["severity"] == "warning"
    assert first["household_id"] == "H1"
    assert first["message"] == (
        "上一期（2017 年）的户 H1 在本期（2018 年）数据中不存在：上一期状态 未脱贫，2 人，人均纯收入 2700.00 元；"
        "贫困户/风险未消除的监测户不能无故消失"
    )
    assert hit(findings, "DT101", 5)["severity"] == "error"


def test_dt101_a_household_whose_members_all_died_is_said_to_have_ended_by_death(tmp_path):
    """Both members of H2 are on the current death roster: its disappearance has a reason (自然减少), which
    the message says instead of “不能无故消失” (the severity stays the spec's: error for a poor household).
    H3 lost only one of its two members to death: still a vanished household without a reason."""
    old, widow = make_id(birth="19400101", seq=131), make_id(birth="19420101", seq=242)
    lone, kept = make_id(birth="19450101", seq=151), make_id(birth="19470101", seq=262)
    result = compare(
        tmp_path,
        {
            "households": [hh("H1", 2017), hh("H2", 2017), hh("H3", 2017)],
            "members": [
                *couple("H1", 2017),
                *couple("H2", 2017, old, widow),
                *couple("H3", 2017, lone, kept),
            ],
        },
        {
            "households": [hh("H1", 2018)],
            "members": couple("H1", 2018),
            "rosters": [
                {"类别": "死亡", "证件号码": old, "姓名": "张老", "日期": "2018-02-01"},
                {"类别": "死亡", "证件号码": widow, "姓名": "李老", "日期": "2018-06-01"},
                {"类别": "死亡", "证件号码": lone, "姓名": "王老", "日期": "2018-03-01"},
            ],
        },
        select=("DT101",),
    )
    assert rows(result.findings, "DT101") == [3, 4]
    ended, vanished = hit(result.findings, "DT101", 3), hit(result.findings, "DT101", 4)
    assert ended["message"].endswith("；其成员均有死亡记录（自然减少），请核对销户依据"), ended["message"]
    assert ended["severity"] == "error"
    assert vanished["message"].endswith("；贫困户/风险未消除的监测户不能无故消失"), vanished["message"]


# ------------------------------------------------------------------------------------ DT102


def test_dt102_new_household_identified_before_the_previous_year(tmp_path):
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017)]},
        {
            "households": [
                hh("H1", 2018, 识别年度=2014),  # 2: not new
                hh("H2", 2018, 识别年度=2015),  # 3: new, backdated
                hh("H3", 2018, 识别年度=2017),  # 4: the previous year itself: not earlier
                hh("H4", 2018, 识别年度=2018),  # 5
            ]
        },
    )
    assert rows(result.findings, "DT102") == [3]
    assert message(result.findings, "DT102", 3) == (
        "本期新增的户 H2 的识别年度 2015 早于上一期数据年度 2017，却不在上一期数据中（倒签识别）"
    )
    assert hit(result.findings, "DT102", 3)["column"] == "识别年度"


# ------------------------------------------------------------------------------------ DT103–DT105


def test_dt103_added_adult_but_not_a_newborn_or_a_bride(tmp_path):
    baby = make_id(birth="20180301", seq=444)
    bride = make_id(birth="19960101", seq=226)
    adult = make_id(birth="19830101", seq=555)
    one_year_old = make_id(birth="20170301", seq=666)
    lodger = make_id(birth="19880101", seq=777)
    result = compare(
        tmp_path,
        {
            "households": [hh("H1", 2017), hh("H2", 2017)],
            "members": [
                *couple("H1", 2017),
                person("H1", 2017, SON, "张强", "之子", 文化程度="高中"),
                *couple("H2", 2017, make_id(birth="19600101", seq=131), make_id(birth="19620101", seq=242)),
                person("H2", 2017, lodger, "王五", "之子"),
            ],
        },
        {
            "households": [hh("H1", 2018, 家庭人口数=8), hh("H2", 2018)],
            "members": [
                *couple("H1", 2018),  # 2, 3
                person("H1", 2018, SON, "张强", "之子"),  # 4
                person(
                    "H1",
                    2018,
                    baby,
                    "张小宝",
                    "之孙子",
                    文化程度=None,
                    劳动技能="无劳动力",
                    务工时间=None,
                    务工所在地=None,
                ),  # 5: newborn
                person("H1", 2018, bride, "刘芳", "之儿媳", "女"),  # 6: married in, from nowhere
                person("H1", 2018, adult, "赵六", "之子"),  # 7: a grown man from nowhere → warning
                person("H1", 2018, one_year_old, "张小妹", "之孙女", "女"),  # 8: age 1, born before → warning
                person("H1", 2018, lodger, "王五", "之兄弟姐妹"),  # 9: from H2, which still exists → error
                *couple("H2", 2018, make_id(birth="19600101", seq=131), make_id(birth="19620101", seq=242)),
            ],
        },
    )
    findings = result.findings
    assert rows(findings, "DT103") == [7, 8, 9]
    assert hit(findings, "DT103", 7)["severity"] == "warning"
    assert message(findings, "DT103", 7) == (
        "新增成员 赵六（之子，35 岁）加入上一期已有的户 H1：不是新生儿，也不是因婚迁入（挂靠嫌疑）"
    )
    lodger_hit = hit(findings, "DT103", 9)
    assert lodger_hit["severity"] == "error"
    assert lodger_hit["message"].endswith("；此人上一期在户 H2，该户本期仍在")
    related = json.loads(lodger_hit["related"])
    assert related[0]["snapshot"] == "previous" and related[0]["household_id"] == "H2"
    assert related[0]["file"].endswith("2017年.xlsx") and related[0]["row"] == 7
    # the same move is also a DT105 (moved between two households that both exist)
    assert rows(findings, "DT105") == [9]
    assert hit(findings, "DT105", 9)["severity"] == "warning"


def test_dt103_names_a_relation_off_the_code_list_as_written(tmp_path):
    """与户主关系 “之兄弟” is not a code (DQ003 reports it; validation empties it): DT103 shows what was
    written instead of saying the relation was not filled in."""
    adult = make_id(birth="19830101", seq=555)
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017)], "members": couple("H1", 2017)},
        {
            "households": [hh("H1", 2018)],
            "members": [*couple("H1", 2018), person("H1", 2018, adult, "赵六", "之兄弟")],
        },
        select=("DT103",),
    )
    assert message(result.findings, "DT103", 4).startswith("新增成员 赵六（与户主关系“之兄弟”，35 岁）")


def test_dt104_removed_member_without_death_or_marriage(tmp_path):
    father = make_id(birth="19420101", seq=113)
    dead = make_id(birth="19400101", seq=115)
    daughter = make_id(birth="19970101", seq=224)  # 21 in 2018: married out
    girl = make_id(birth="20050101", seq=226)  # 13: not of marriage age
    result = compare(
        tmp_path,
        {
            "households": [hh("H1", 2017, 家庭人口数=6)],
            "members": [
                *couple("H1", 2017),  # 2, 3
                person("H1", 2017, father, "张父", "之父", 劳动技能="丧失劳动力"),  # 4 → DT104
                person("H1", 2017, dead, "张祖", "之祖父", 劳动技能="丧失劳动力"),  # 5: on the death roster
                person("H1", 2017, daughter, "张丽", "之女", "女"),  # 6: married out
                person(
                    "H1", 2017, girl, "张小丽", "之女", "女", 文化程度=None, 在校生状况="七年级"
                ),  # 7 → DT104
            ],
        },
        {
            "households": [hh("H1", 2018)],
            "members": couple("H1", 2018),
            "rosters": [{"类别": "死亡", "证件号码": dead, "姓名": "张祖", "日期": "2018-03-01"}],
        },
    )
    findings = result.findings
    assert rows(findings, "DT104") == [4, 7]
    first = hit(findings, "DT104", 4)
    assert first["table"] == "previous.members" and first["file"].endswith("2017年.xlsx")
    now = json.loads(first["related"])[0]  # the household that is still there, in this year's file
    assert (
        now["snapshot"] == "current" and now["household_id"] == "H1" and now["file"].endswith("2018年.xlsx")
    )
    assert first["severity"] == "info" and first["id_number"] == father
    assert first["message"] == (
        "上一期（2017 年）户 H1 的成员 张父（之父，上一期 75 岁）本期不在任何户中，该户仍在册；没有死亡记录，"
        "也不是婚嫁迁出"
    )


def test_dt104_marriage_roster_and_a_vanished_household(tmp_path):
    sister = make_id(birth="20000101", seq=228)
    result = compare(
        tmp_path,
        {
            "households": [hh("H1", 2017, 家庭人口数=3), hh("H2", 2017)],
            "members": [
                *couple("H1", 2017),
                person("H1", 2017, sister, "张妹", "之兄弟姐妹", "女"),
                *couple("H2", 2017, make_id(birth="19600101", seq=131), make_id(birth="19620101", seq=242)),
            ],
        },
        {
            "households": [hh("H1", 2018)],
            "members": couple("H1", 2018),
            "rosters": [{"类别": "婚嫁迁出", "证件号码": sister, "姓名": "张妹"}],
        },
    )
    # the sister married out (roster); H2's members left with their household (DT101, not DT104)
    assert rows(result.findings, "DT104") == []
    assert rows(result.findings, "DT101") == [3]


def test_dt105_split_to_qualify(tmp_path):
    result = compare(
        tmp_path,
        {
            "households": [hh("H1", 2017, 脱贫状态="已脱贫", 脱贫年度=2016, 家庭人口数=3)],
            "members": [*couple("H1", 2017), person("H1", 2017, SON, "张强", "之子")],
        },
        {
            "households": [hh("H1", 2018, 脱贫状态="已脱贫", 脱贫年度=2016), hh("H7", 2018, 家庭人口数=1)],
            "members": [*couple("H1", 2018), person("H7", 2018, SON, "张强", "户主")],
        },
    )
    findings = result.findings
    assert rows(findings, "DT105") == [4]
    split = hit(findings, "DT105", 4)
    assert split["severity"] == "error"
    assert split["message"] == (
        "张强（户主）上一期（2017 年）在户 H1（已脱贫），本期在新增的户 H7（未脱贫）："
        "非贫困户拆出的新户登记为贫困/监测户（拆户以符合条件）"
    )
    assert json.loads(split["related"])[0]["row"] == 4
    assert rows(findings, "DT103") == []  # H7 is new: nobody was added to an existing household
    assert rows(findings, "DT104") == []  # he moved, he did not vanish


# ------------------------------------------------------------------------------------ DT106, DT110


def test_dt106_income_jump_in_the_exit_year_strictly_above_the_thresholds(tmp_path):
    exited = {"脱贫状态": "已脱贫", "脱贫年度": 2018}
    result = compare(
        tmp_path,
        {
            "households": [hh(f"H{i}", 2017, 人均纯收入=3000) for i in range(1, 6)]
            + [hh("H6", 2017, 人均纯收入=5000)]
        },
        {
            "households": [
                hh("H1", 2018, 人均纯收入=6000.01, **exited),  # 2: 100.0003% and 3000.01 元 → both
                hh("H2", 2018, 人均纯收入=6000, **exited),  # 3: exactly 100% and 3000 元 → no
                hh("H3", 2018, 人均纯收入=7000, 脱贫状态="已脱贫", 脱贫年度=2016),  # 4: exited earlier
                hh("H4", 2018, 人均纯收入=7000),  # 5: still poor
                hh("H5", 2018, 人均纯收入=5999.99, **exited),  # 6: below both
                hh("H6", 2018, 人均纯收入=8000.01, **exited),  # 7: +3000.01 元, only 60%
            ]
        },
    )
    findings = result.findings
    assert rows(findings, "DT106") == [2, 7]
    assert message(findings, "DT106", 2) == (
        "本期脱贫（脱贫年度 2018）的户人均纯收入从上一期（2017 年）的 3000.00 元增至 6000.01 元，增加 3000.01 元"
        "（100.0%）：增长超过 100%（参数 exit_jump_share），增加超过 3000 元（参数 exit_jump_yuan）"
    )
    assert message(findings, "DT106", 7).endswith("（60.0%）：增加超过 3000 元（参数 exit_jump_yuan）")
    related = json.loads(hit(findings, "DT106", 2)["related"])[0]
    assert related["人均纯收入"] == 3000.0 and related["row"] == 2 and related["sheet"] == "户信息"


def test_dt106_parameters_come_from_the_config(tmp_path):
    config = tmp_path / "county.toml"
    config.write_text("[rules.DT106]\nexit_jump_share = 0.5\nexit_jump_yuan = 10000\n", "utf-8")
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017, 人均纯收入=3000)]},
        {"households": [hh("H1", 2018, 人均纯收入=4600, 脱贫状态="已脱贫", 脱贫年度=2018)]},
        config=config,
    )
    assert message(result.findings, "DT106", 2).endswith("增长超过 50%（参数 exit_jump_share）")


def test_dt110_exited_income_fell(tmp_path):
    exited = {"脱贫状态": "已脱贫", "脱贫年度": 2016}
    result = compare(
        tmp_path,
        {"households": [hh(f"H{i}", 2017, 人均纯收入=6000) for i in range(1, 5)]},
        {
            "households": [
                hh("H1", 2018, 人均纯收入=4194, **exited),  # 2: 30.1% → flagged
                hh("H2", 2018, 人均纯收入=4200, **exited),  # 3: exactly 30%
                hh("H3", 2018, 人均纯收入=1000),  # 4: poor (not exited)
                hh("H4", 2018, 人均纯收入=1000, 上年人均纯收入=6000, **exited),  # 5: IN004's
            ]
        },
    )
    assert rows(result.findings, "DT110") == [2]
    assert message(result.findings, "DT110", 2) == (
        "已脱贫户人均纯收入从上一期（2017 年）的 6000.00 元降至本期 4194.00 元，下降 30.1%，超过 30%"
        "（参数 income_drop_share，默认值）"
    )


# ------------------------------------------------------------------------------------ DT107, DT108


def test_dt107_exited_household_back_to_poor_without_relapse(tmp_path):
    exited = {"脱贫状态": "已脱贫", "脱贫年度": 2016}
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017, **exited), hh("H2", 2017, **exited), hh("H3", 2017)]},
        {"households": [hh("H1", 2018), hh("H2", 2018, 脱贫状态="返贫"), hh("H3", 2018)]},
    )
    assert rows(result.findings, "DT107") == [2]
    assert message(result.findings, "DT107", 2) == (
        "上一期（2017 年）脱贫状态为 已脱贫，本期为 未脱贫：已脱贫户再次致贫应登记为 返贫"
    )


def test_dt108_rewritten_years_but_not_first_filled(tmp_path):
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017, 脱贫状态="已脱贫", 脱贫年度=2016), hh("H2", 2017),
                        hh("H3", 2017, 识别年度=2014), hh("H4", 2017, 脱贫状态="已脱贫", 脱贫年度=2016)]},
        {"households": [hh("H1", 2018, 脱贫状态="已脱贫", 脱贫年度=2017),  # 2: rewritten
                        hh("H2", 2018, 脱贫状态="已脱贫", 脱贫年度=2018),  # 3: set the first time
                        hh("H3", 2018, 识别年度=2016),  # 4: 识别年度 rewritten
                        hh("H4", 2018, 脱贫状态="已脱贫", 脱贫年度=2016)]},  # 5: unchanged
    )  # fmt: skip
    findings = result.findings
    assert rows(findings, "DT108") == [2, 4]
    assert message(findings, "DT108", 2) == "脱贫年度被改写：上一期（2017 年） 2016，本期 2017"
    assert hit(findings, "DT108", 4)["column"] == "识别年度"
    assert json.loads(hit(findings, "DT108", 2)["related"])[0]["脱贫年度"] == "2016"


# ------------------------------------------------------------------------------------ DT109


def test_dt109_same_person_new_id_number(tmp_path):
    old = make_id(birth="19950101", seq=333)
    new = make_id(region="340827", birth="19950101", seq=335)
    legacy = "340826720101224"  # 15 digits: WIFE's number before the upgrade? no — a different woman
    upgraded = make_id(birth="19720101", seq=224)
    result = compare(
        tmp_path,
        {
            "households": [hh("H1", 2017, 家庭人口数=4)],
            "members": [
                person("H1", 2017, HEAD, "张建国", "户主"),
                person("H1", 2017, legacy, "李秀英", "配偶", "女"),
                person("H1", 2017, old, "张强", "之子"),
            ],
        },
        {
            "households": [hh("H1", 2018, 家庭人口数=3)],
            "members": [
                person("H1", 2018, HEAD, "张建国", "户主"),
                person("H1", 2018, upgraded, "李秀英", "配偶", "女"),
                person("H1", 2018, new, "张强", "之子"),
            ],
        },
    )
    findings = result.findings
    assert rows(findings, "DT109") == [4]  # the 15 → 18 upgrade of 李秀英 is the same number
    assert message(findings, "DT109", 4) == (
        f"同一人（户 H1，张强）上一期（2017 年）证件号码 {old}，本期 {new}；旧号码已不在本期数据中"
        "（身份更正或顶替，请核对户籍依据）"
    )
    # the renumbered person is neither an added (DT103) nor a removed (DT104) member
    assert rows(findings, "DT103") == [] and rows(findings, "DT104") == []


# ------------------------------------------------------------------------------------ DT111, DT112


def test_dt111_dropped_from_monitoring(tmp_path):
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017, 是否监测对象="是"), hh("H2", 2017, 是否监测对象="是"),
                        hh("H3", 2017, 是否监测对象="否")]},
        {"households": [hh("H1", 2018, 是否监测对象="否"), hh("H2", 2018, 是否监测对象="是"),
                        hh("H3", 2018, 是否监测对象="否")]},
    )  # fmt: skip
    assert rows(result.findings, "DT111") == [2]
    assert message(result.findings, "DT111", 2) == (
        "上一期（2017 年）为监测对象（监测对象），本期不再是监测对象，也没有风险消除记录"
    )


@pytest.mark.skipif(not MONITORING, reason="monitoring-era fields not in the schema yet")
def test_dt107_dt111_dt112_monitoring_episodes(tmp_path):
    def monitored(hid, year, identified, eliminated=None, category="脱贫不稳定户", risk="因病", **values):
        return hh(hid, year, 户类型="脱贫户", 监测对象类别=category, 致贫返贫风险1=risk,
                  识别监测时间=identified, 风险是否已消除="是" if eliminated else "否",
                  消除监测时间=eliminated, **values)  # fmt: skip

    result = compare(
        tmp_path,
        {"households": [monitored("H1", 2022, 202103, 202206), monitored("H2", 2022, 202103, 202206),
                        monitored("H3", 2022, 202204), monitored("H4", 2022, 202204),
                        monitored("H5", 2022, 202204)]},
        {"households": [monitored("H1", 2023, 202304, risk="因学"),  # 2: re-entry → DT112
                        monitored("H2", 2023, 202103),  # 3: reopened without new date → DT107
                        monitored("H3", 2023, 202204, category=None),  # 4: dropped → DT111
                        monitored("H4", 2023, 202301),  # 5: date of an open episode rewritten → DT108
                        monitored("H5", 2023, 202204, 202305)]},  # 6: eliminated properly
    )  # fmt: skip
    findings = result.findings
    assert rows(findings, "DT112") == [2]
    assert message(findings, "DT112", 2) == (
        "上一期（2022 年）的监测已风险消除（识别 202103、消除 202206，风险 因病），本期再次纳入监测"
        "（识别 202304，风险 因学）"
    )
    assert rows(findings, "DT107") == [3]
    assert rows(findings, "DT111") == [4]
    assert rows(findings, "DT108") == [5]
    assert (
        message(findings, "DT108", 5)
        == "识别监测时间被改写（同一轮监测）：上一期（2022 年） 202204，本期 202301"
    )
    table = result.transitions["table"]
    assert table["消除"]["监测"] == 2 and table["监测"]["消除"] == 1


# ------------------------------------------------------------------------------------ bad pairs


def test_different_counties_are_an_error_not_a_silent_pass(tmp_path):
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017, 县="太湖县")]},
        {"households": [hh("H1", 2018)]},
    )
    errors = [d.message for d in result.dataset.diagnostics if d.level == "error"]
    assert any("两期数据不是同一个县：本期 宿松县，上一期 太湖县" in m for m in errors), errors
    assert outcome(result, "DT101").status == "skipped"
    assert "不是同一个县" in outcome(result, "DT101").reason


def test_previous_later_than_current(tmp_path):
    previous = write(tmp_path / "a.xlsx", {"households": [hh("H1", 2019)]})
    current = write(tmp_path / "b.xlsx", {"households": [hh("H1", 2018)]})
    result = audit([str(current)], previous=[str(previous)], select=["DT"])
    errors = [d.message for d in result.dataset.diagnostics if d.level == "error"]
    assert any("上一期数据年度 2019 晚于本期 2018" in m for m in errors), errors
    assert {o.status for o in result.outcomes} == {"skipped"}


def test_no_household_in_common_and_duplicates_are_said(tmp_path):
    result = compare(tmp_path, {"households": [hh("A1", 2017)]}, {"households": [hh("B1", 2018)]})
    assert any("没有一个相同的户编号" in d.message for d in result.dataset.diagnostics)
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017), hh("H1", 2017, 人均纯收入=9999)]},
        {"households": [hh("H1", 2018)]},
    )
    warnings = [d.message for d in result.dataset.diagnostics if d.level == "warning"]
    assert any("上一期户表有 1 个户编号重复（H1），两期比对时按每个户编号的第一行" in m for m in warnings)
    assert rows(result.findings, "DT101") == []


def test_layout_change_between_years_is_a_warning(tmp_path):
    before = hh("H1", 2017, 脱贫状态="已脱贫", 脱贫年度=2016)
    after = {k: v for k, v in hh("H1", 2018, 脱贫状态="已脱贫").items() if k != "识别年度"}
    result = compare(tmp_path, {"households": [before]}, {"households": [after]})
    warnings = [d.message for d in result.dataset.diagnostics if d.level == "warning"]
    assert any("上一期有、本期没有的列 识别年度、脱贫年度" in m for m in warnings), warnings


def test_same_year_snapshots_are_compared(tmp_path):
    previous = write(tmp_path / "1月.xlsx", {"households": [hh("H1", 2018), hh("H2", 2018)]})
    current = write(tmp_path / "6月.xlsx", {"households": [hh("H1", 2018)]})
    result = audit([str(current)], previous=[str(previous)], select=["DT101"])
    assert rows(result.findings, "DT101") == [3]


# ------------------------------------------------------------------------------------ summary, CLI


def test_transition_table(tmp_path):
    result = compare(
        tmp_path,
        {"households": [hh("H1", 2017), hh("H2", 2017), hh("H3", 2017, 脱贫状态="已脱贫", 脱贫年度=2016)]},
        {"households": [hh("H1", 2018, 脱贫状态="已脱贫", 脱贫年度=2018), hh("H2", 2018), hh("H9", 2018)]},
    )
    moves = result.transitions
    assert moves["table"]["未脱贫"] == {"未脱贫": 1, "已脱贫": 1, "返贫": 0, "监测": 0, "消除": 0, "移出": 0}
    assert moves["table"]["已脱贫"]["移出"] == 1
    assert moves["table"]["新增"]["未脱贫"] == 1
    assert moves["households"] == {"previous": 3, "current": 3, "new": 1, "removed": 1}
    assert result.summary()["transitions"] == moves


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", *args], capture_output=True, text=True, encoding="utf-8"
    )


def test_cli_previous_takes_several_files_and_reports_the_transition(tmp_path):
    for year in (2017, 2018):
        folder = tmp_path / str(year)
        folder.mkdir()
        write(
            folder / "户.xlsx", {"households": [hh("H1", year), *([hh("H2", year)] if year == 2017 else [])]}
        )
        write(folder / "人.xlsx", {"members": couple("H1", year)})
    summary = tmp_path / "summary.json"
    proc = cli(
        "check", str(tmp_path / "2018" / "户.xlsx"), str(tmp_path / "2018" / "人.xlsx"),
        "--previous", str(tmp_path / "2017" / "户.xlsx"), str(tmp_path / "2017" / "人.xlsx"),
        "--select", "DT", "--summary-json", str(summary), "-f", "csv",
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # DT101 on a poor household is an error
    assert "DT101" in proc.stdout and "previous.households" in proc.stdout
    document = json.loads(summary.read_text("utf-8"))
    assert document["transitions"]["table"]["未脱贫"]["移出"] == 1
    assert document["rules"]["ran"][:1] == ["DT101"]
    table = cli(
        "check", str(tmp_path / "2018"), "--previous", str(tmp_path / "2017"), "--select", "DT101",
    )  # fmt: skip
    assert "两期户数变化" in table.stdout, table.stdout


def test_cli_baseline_and_waiver_match_dt_findings_by_record(tmp_path):
    before = write(tmp_path / "2017.xlsx", {"households": [hh("H1", 2017), hh("H2", 2017)]})
    after = write(tmp_path / "2018.xlsx", {"households": [hh("H2", 2018)]})
    baseline = tmp_path / "baseline.json"
    first = cli(
        "check", str(after), "--previous", str(before), "--select", "DT", "--write-baseline", str(baseline)
    )
    assert first.returncode == 1
    # re-exported in another order: the same finding, another row — still known
    before2 = write(tmp_path / "2017b.xlsx", {"households": [hh("H2", 2017), hh("H1", 2017)]})
    again = cli(
        "check", str(after), "--previous", str(before2), "--select", "DT", "--baseline", str(baseline)
    )
    assert again.returncode == 0, again.stdout
    waivers = tmp_path / "waivers.csv"
    waivers.write_text(
        "rule,key,reason,approved_by,expires\nDT101,H1,已核实：整户迁出,王审计,2099-12-31\n", "utf-8"
    )
    waived = cli("check", str(after), "--previous", str(before), "--select", "DT", "--waivers", str(waivers))
    assert waived.returncode == 0, waived.stdout + waived.stderr


def test_xlsx_report_has_the_transition_table_and_its_chart(tmp_path):
    import openpyxl

    before = write(tmp_path / "2017.xlsx", {"households": [hh("H1", 2017), hh("H2", 2017)]})
    after = write(tmp_path / "2018.xlsx", {"households": [hh("H1", 2018, 脱贫状态="已脱贫", 脱贫年度=2018)]})
    report = tmp_path / "report.xlsx"
    proc = cli("check", str(after), "--previous", str(before), "--select", "DT", "-o", str(report))
    assert proc.returncode == 1, proc.stderr
    sheet = openpyxl.load_workbook(report)["汇总"]
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    title = next(i for i, row in enumerate(cells) if str(row[0]).startswith("两期户数变化（2017 → 2018）"))
    assert cells[title + 1][:7] == ["上一期＼本期", "未脱贫", "已脱贫", "返贫", "监测", "消除", "移出"]
    assert cells[title + 2][:7] == ["未脱贫", 0, 1, 0, 0, 0, 1]
    assert cells[title + 7][0] == "新增"
    with zipfile.ZipFile(report) as archive:
        charts = [n for n in archive.namelist() if n.startswith("xl/charts/chart")]
        texts = "".join(archive.read(n).decode("utf-8") for n in charts)
    assert "上一期各状态的户本期去向" in texts


def test_sample_next_year_plants_every_dt_rule_and_natural_changes_do_not_fire(tmp_path):
    import pandas as pd

    for args in (["--households", "400", "-o", str(tmp_path / "2017")],
                 ["--previous-of", str(tmp_path / "2017"), "-o", str(tmp_path / "2018")]):  # fmt: skip
        proc = cli("sample", *args)
        assert proc.returncode == 0, proc.stderr
    planted = pd.read_csv(tmp_path / "2018" / "planted.csv", dtype=str)
    natural = pd.read_csv(tmp_path / "2018" / "natural.csv", dtype=str)
    assert set(planted["rule"]) == {f"DT{n}" for n in range(101, 111)}  # DT111/112 need 2021+ columns
    assert set(natural["change"]) == {"出生", "婚入", "死亡", "婚出", "脱贫"}
    result = audit(
        [str(p) for p in (tmp_path / "2018").glob("*.xlsx")],
        previous=[str(p) for p in (tmp_path / "2017").glob("*.xlsx")],
        select=["DT"],
    )
    findings = result.findings
    keys = findings["household_id"].astype(str) + "|" + findings["id_number"].astype(str)
    for item in planted.itertuples():
        mine = findings[(findings["rule"] == item.rule) & keys.str.contains(item.key, regex=False)]
        assert len(mine) == 1, (item.rule, item.key, findings[findings["rule"] == item.rule])
        assert mine.iloc[0]["table"] == item.table
    assert len(findings) == len(planted)  # nothing else: births, deaths, marriages and exits are quiet
    assert not findings["id_number"].isin(natural["key"]).any()
    assert result.transitions["households"]["new"] == 2 and result.transitions["households"]["removed"] == 1


@pytest.mark.parametrize("year", [2023, 2025])  # 2025 → 2026: the header becomes 防止返贫致贫对象类别
def test_monitoring_sample_next_year_plants_every_dt_rule_and_natural_changes_do_not_fire(tmp_path, year):
    import pandas as pd

    before, after = tmp_path / str(year), tmp_path / str(year + 1)
    for args in (["--year", str(year), "--households", "400", "-o", str(before)],
                 ["--previous-of", str(before), "-o", str(after)]):  # fmt: skip
        proc = cli("sample", *args)
        assert proc.returncode == 0, proc.stderr
    planted = pd.read_csv(after / "planted.csv", dtype=str, keep_default_na=False)
    natural = pd.read_csv(after / "natural.csv", dtype=str)
    assert set(planted["rule"]) == {f"DT{n}" for n in range(101, 113)}  # all twelve apply to this era
    assert set(planted["outputs"]) == {"all"}
    assert set(natural["change"]) == {
        "出生",
        "婚入",
        "死亡",
        "婚出",
        "风险消除（帮扶）",
        "风险消除（自然）",
        "新纳入监测",
    }
    workbook = next(after.glob("*.xlsx"))
    assert (
        openpyxl.load_workbook(workbook, read_only=True)["监测对象信息"]["A2"].value
        == f"导出时间：{year + 1}-12-31"
    )
    report = tmp_path / "report.csv"
    proc = cli("check", str(workbook), "--previous", str(next(before.glob("*.xlsx"))), "--select", "DT",
               "-o", str(report))  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # findings at error level, and the tool did its job
    findings = pd.read_csv(report, dtype=str, keep_default_na=False)
    keys = findings["household_id"] + "|" + findings["id_number"]
    for item in planted.itertuples():
        mine = findings[(findings["rule"] == item.rule) & keys.str.contains(item.key, regex=False)]
        assert len(mine) == 1, (item.rule, item.key, findings[findings["rule"] == item.rule])
        assert mine.iloc[0]["table"] == item.table
    assert len(findings) == len(planted)  # nothing else: births, deaths, marriages, 风险消除 are quiet
    touched = set(natural["key"])
    assert not (findings["household_id"].isin(touched) | findings["id_number"].isin(touched)).any()
    by_rule = findings.set_index("rule")["severity"]
    assert by_rule["DT101"] == "error"  # an open 监测户 cannot simply vanish
    assert findings.loc[findings["rule"] == "DT105", "severity"].tolist() == ["error"]  # split to qualify


def test_same_year_exports_in_the_wrong_order_are_an_error(tmp_path):
    def export(name, date, rows):
        return write_xlsx(tmp_path / name, {"户信息": rows}, title=f"监测对象信息 导出时间：{date}")

    june = export("6月.xlsx", "2023-06-30", [hh("H1", 2023), hh("H2", 2023)])
    march = export("3月.xlsx", "2023-03-31", [hh("H1", 2023)])
    wrong = audit([str(march)], previous=[str(june)], select=["DT101"])
    errors = [d.message for d in wrong.dataset.diagnostics if d.level == "error"]
    assert any("上一期数据导出时间 2023-06-30 晚于本期 2023-03-31" in m for m in errors), errors
    assert outcome(wrong, "DT101").status == "skipped"
    right = audit([str(june)], previous=[str(march)], select=["DT101"])
    assert outcome(right, "DT101").status == "ran"
    assert not [d for d in right.dataset.diagnostics if d.level == "error"]


def test_people_listed_in_two_households_are_matched_pairwise(tmp_path):
    twice = make_id(birth="19800101", seq=555)
    other = (make_id(birth="19600101", seq=131), make_id(birth="19620101", seq=242))
    third = (make_id(birth="19610101", seq=151), make_id(birth="19630101", seq=262))
    result = compare(
        tmp_path,
        {
            "households": [hh("H1", 2017, 家庭人口数=3), hh("H2", 2017, 家庭人口数=3), hh("H3", 2017)],
            "members": [
                *couple("H1", 2017),
                person("H1", 2017, twice, "赵六", "之子"),
                *couple("H2", 2017, *other),
                person("H2", 2017, twice, "赵六", "之子"),
                *couple("H3", 2017, *third),
            ],
        },
        {
            "households": [hh("H1", 2018), hh("H2", 2018, 家庭人口数=3), hh("H3", 2018, 家庭人口数=3)],
            "members": [
                *couple("H1", 2018),
                *couple("H2", 2018, *other),
                person("H2", 2018, twice, "赵六", "之子"),  # 6: was in H2 too
                *couple("H3", 2018, *third),
                person("H3", 2018, twice, "赵六", "之子"),  # 9: new to H3
            ],
        },
    )
    findings = result.findings
    # row 6: he was already listed in H2 (as well as H1): not added, not moved
    assert rows(findings, "DT103", "members") == [9]
    assert hit(findings, "DT103", 9)["severity"] == "error"  # from H1/H2, which still exist
    assert rows(findings, "DT105", "members") == [9]
    assert rows(findings, "DT104") == []  # he is still registered (in H2 and H3)


def test_explain_says_the_rule_needs_a_previous_snapshot():
    proc = cli("explain", "DT106")
    assert proc.returncode == 0
    assert "上一期数据：需要 --previous（households），两期比对" in proc.stdout
    assert "exit_jump_share = 1.0" in proc.stdout


def test_mask_covers_the_previous_snapshot_in_related_and_messages(tmp_path):
    old = make_id(birth="19950101", seq=333)
    new = make_id(region="340827", birth="19950101", seq=335)
    before = write(tmp_path / "2017.xlsx", {"members": [*couple("H1", 2017), person("H1", 2017, old, "张强", "之子")],
                                            "households": [hh("H1", 2017, 家庭人口数=3)]})  # fmt: skip
    after = write(tmp_path / "2018.xlsx", {"members": [*couple("H1", 2018), person("H1", 2018, new, "张强", "之子")],
                                           "households": [hh("H1", 2018, 家庭人口数=3)]})  # fmt: skip
    proc = cli("check", str(after), "--previous", str(before), "--select", "DT109", "--mask", "-f", "jsonl")
    assert proc.returncode == 0, proc.stderr
    finding = json.loads(proc.stdout.splitlines()[0])
    assert "张强" not in proc.stdout and old not in proc.stdout and new not in proc.stdout
    assert finding["related"][0]["name"] == "张*"  # jsonl gives related as a list


def test_person_numbers_name_the_same_people_as_person_keys(tmp_path):
    """The integer person numbers the DT joins use (read from the ID bytes, without the whole ID
    analysis) pair up rows exactly as the person keys of the one-year rules do."""
    from fupin_audit.facts.keys import person_keys
    from fupin_audit.rules.dongtai import person_numbers
    from fupin_audit.schema.idnumber import check_char

    plain, other = make_id(birth="19800101", seq=12), make_id(birth="19851231", seq=3)
    x_end = next(
        make_id(birth="19900101", seq=s) for s in range(1, 999) if make_id(birth="19900101", seq=s)[-1] == "X"
    )
    # Excel kept 15 significant digits: …000 with a check character now wrong (names nobody)
    rounded = next(b + "000" for b in (plain[:14] + str(d) for d in range(10)) if check_char(b + "00") != "0")
    cells = [
        plain, " " + plain, "".join(chr(ord(c) + 0xFEE0) for c in plain),  # spaced, full-width: same person
        plain[:6] + plain[8:17],  # its 15-digit form, upgraded: same person
        other, other + "12",  # a 残疾人证号: the ID and two digits
        x_end, x_end[:-1] + "x",  # lower-case x
        rounded, "111111111111111111", "999999197001011234", "1234", "",
        make_id(birth="19800101", seq=13)[:-1] + "0",  # wrong check digit: still a person (DQ011 says so)
    ]  # fmt: skip
    rows = [person(f"H{i}", 2018, number, f"人{i}", "户主") for i, number in enumerate(cells)]
    path = write(tmp_path / "2018.xlsx", {"households": [hh(f"H{i}", 2018) for i in range(len(cells))],
                                          "members": rows})  # fmt: skip
    ctx = audit([str(path)], select=["DQ010"]).context
    numbers = person_numbers(ctx)
    keys = person_keys(ctx, "members")
    assert (numbers < 0).tolist() == keys.isna().tolist()
    same_number = numbers[:, None] == numbers[None, :]
    same_key = (keys.to_numpy()[:, None] == keys.to_numpy()[None, :]) & keys.notna().to_numpy()[:, None]
    assert (same_number & (numbers >= 0)[:, None]).tolist() == same_key.tolist()
    assert len(set(numbers[numbers >= 0].tolist())) == 4  # plain (×4), other (×2), x_end (×2), wrong check
    assert (numbers[8:13] == -1).all()  # rounded, placeholders, junk, empty


def _excel_number(id_number: str) -> int:
    """An 18-digit ID typed into a number cell: Excel keeps 15 significant digits (the region and
    birth date intact, the sequence number's last digit and the check character lost)."""
    return int(id_number[:15] + "000")


@pytest.mark.parametrize("mangled", ["previous", "current"])
def test_ids_excel_turned_into_numbers_in_one_snapshot_pair_people_by_name_and_birth(tmp_path, mangled):
    """One snapshot's 证件号码 column was saved as numbers: its IDs match nobody's in the other, but
    each person is still paired by 户编号, 姓名 and the birth date the digits keep, so the household's
    members are neither added (DT103) nor removed (DT104), and a broken number is no identity change
    (DT109). A person really added (with an ID of his own) is still DT103."""
    cousin = make_id(birth="19800505", seq=555)

    def people(year: int, numbers: bool) -> list[dict[str, object]]:
        out = [
            person("H1", year, HEAD, "张建国", "户主"),
            person("H1", year, WIFE, "李秀英", "配偶", "女"),
            person("H1", year, SON, "张强", "之子"),
        ]
        for record in out:
            record["证件号码"] = _excel_number(record["证件号码"]) if numbers else record["证件号码"]
        return out

    before = {"households": [hh("H1", 2017, 家庭人口数=3)], "members": people(2017, mangled == "previous")}
    after_members = people(2018, mangled == "current")
    after_members.append(person("H1", 2018, cousin, "王五", "其他"))
    after = {"households": [hh("H1", 2018, 家庭人口数=4)], "members": after_members}
    findings = compare(tmp_path, before, after).findings
    assert rows(findings, "DT104") == [] and rows(findings, "DT109") == []
    assert rows(findings, "DT103") == [5]


def test_a_previous_snapshot_without_a_year_is_said_on_stderr(tmp_path):
    """No 年度 column and no year in a title: DT102 and the previous members' ages cannot be judged,
    and the run says so (a warning naming --previous-year), not only in the summary's skipped rules."""

    def without_year(records: list[dict[str, object]]) -> list[dict[str, object]]:
        return [{k: v for k, v in r.items() if k != "年度"} for r in records]

    before = {"households": without_year([hh("H1", 2017)]), "members": without_year(couple("H1", 2017))}
    after = {"households": [hh("H1", 2018)], "members": couple("H1", 2018)}
    said = [d for d in compare(tmp_path, before, after).dataset.diagnostics if "年度不详" in d.message]
    assert [(d.level, "--previous-year" in d.message) for d in said] == [("warning", True)]
    given = compare(tmp_path, before, after, previous_year=2017).dataset.diagnostics
    assert not [d for d in given if "年度不详" in d.message]
