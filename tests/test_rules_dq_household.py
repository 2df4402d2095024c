"""DQ020–DQ038 through real xlsx files: flagged records, near misses, skips."""

from __future__ import annotations

import json

import pytest
from conftest import check_tables, household, make_id, member, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.registry import default_registry

HEAD_ID = make_id(birth="19700101", seq=111)  # male
WIFE_ID = make_id(birth="19720202", seq=222)  # female
SON_ID = make_id(birth="19950303", seq=331)  # male
DAUGHTER_ID = make_id(birth="19980404", seq=442)  # female


def found(findings, code):
    part = findings[findings["rule"] == code]
    return part.sort_values(["table", "row"]).reset_index(drop=True)


def rows(findings, code, table=None):
    part = found(findings, code)
    if table:
        part = part[part["table"] == table]
    return sorted(int(r) for r in part["row"])


def message(findings, code, row, table=None):
    part = found(findings, code)
    if table:
        part = part[part["table"] == table]
    hits = part[part["row"] == row]
    assert len(hits) == 1, hits
    return hits["message"].iloc[0]


def wife(hid="H1", **kw):
    return member(hid, **{"姓名": "李秀英", "性别": "女", "与户主关系": "配偶", "证件号码": WIFE_ID, **kw})


def son(hid="H1", **kw):
    return member(hid, **{"姓名": "张小明", "与户主关系": "之子", "证件号码": SON_ID, **kw})


def daughter(hid="H1", **kw):
    values = {"姓名": "张小红", "性别": "女", "与户主关系": "之女", "证件号码": DAUGHTER_ID, **kw}
    return member(hid, **values)


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


# ------------------------------------------------------------------------------------ metadata


def test_rules_are_registered_with_documentation():
    registry = default_registry()
    expected = {
        "DQ020": "error", "DQ021": "error", "DQ030": "error", "DQ031": "error", "DQ032": "error",
        "DQ033": "error", "DQ034": "error", "DQ035": "error", "DQ037": "error", "DQ038": "warning",
    }  # fmt: skip
    for code, severity in expected.items():
        item = registry.get(code)
        assert item.severity == severity
        assert item.family == "数据质量"
        assert item.what and item.why and item.example and item.title
        assert registry.origin(code) == "fupin_audit.rules.dq_household"
        assert "members" in item.needs or "households" in item.needs


# ------------------------------------------------------------------------------------ DQ020


def test_dq020_same_person_twice_in_one_household(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ020"],
        members=[
            member("H1", 证件号码=HEAD_ID),  # row 2
            wife("H1"),  # row 3
            member("H1", 与户主关系="之子", 证件号码=HEAD_ID),  # row 4: same ID again
            member("H2", 证件号码=WIFE_ID),  # row 5: same person as row 3, other household → SY103, not here
            member("H3", 证件号码="999999999999999999"),  # row 6: placeholders are not people
            member("H3", 与户主关系="之子", 证件号码="999999999999999999"),  # row 7
        ],
    )
    assert rows(findings, "DQ020") == [2, 4]
    text = message(findings, "DQ020", 2)
    assert f"证件号码 {HEAD_ID} 在户 H1 中登记了 2 次" in text
    assert "另见第 4 行" in text
    assert "另见第 2 行" in message(findings, "DQ020", 4)
    related = json.loads(found(findings, "DQ020")["related"].iloc[0])
    assert [r["row"] for r in related] == [4]
    assert related[0]["id_number"] == HEAD_ID and related[0]["household_id"] == "H1"
    assert set(found(findings, "DQ020")["column"]) == {"证件号码"}


def test_dq020_legacy_15_digit_number_is_the_same_person(tmp_path):
    legacy = HEAD_ID[:6] + HEAD_ID[8:17]  # 15-digit form of the same ID
    findings = check_tables(
        tmp_path,
        ["DQ020"],
        members=[
            member("H1", 证件号码=HEAD_ID),
            wife("H1"),
            member("H1", 与户主关系="之子", 证件号码=legacy),
        ],
    )
    assert rows(findings, "DQ020") == [2, 4]
    assert "登记了 2 次" in message(findings, "DQ020", 4)


def test_dq020_three_copies_list_both_others(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ020"],
        members=[member("H1"), member("H1", 与户主关系="之子"), member("H1", 与户主关系="其他")],
    )
    assert rows(findings, "DQ020") == [2, 3, 4]
    assert "登记了 3 次（另见第 2 行、第 4 行）" in message(findings, "DQ020", 3)
    related = json.loads(found(findings, "DQ020")["related"].iloc[1])
    assert [r["row"] for r in related] == [2, 4]


# ------------------------------------------------------------------------------------ DQ021


def test_dq021_household_id_duplicated(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ021"],
        households=[household("H1"), household("H2"), household("H1", 户主姓名="王五")],
    )
    assert rows(findings, "DQ021") == [2, 4]
    assert message(findings, "DQ021", 2) == "户编号 H1 在户表中出现 2 次（另见第 4 行）"
    assert message(findings, "DQ021", 4) == "户编号 H1 在户表中出现 2 次（另见第 2 行）"
    related = json.loads(found(findings, "DQ021")["related"].iloc[0])
    assert related == [
        {"table": "households", "file": str(tmp_path / "input.xlsx"), "sheet": "户信息", "row": 4,
         "household_id": "H1", "name": "王五", "village": "城西村"}
    ]  # fmt: skip


# ------------------------------------------------------------------------------------ DQ030–DQ032


def test_dq030_household_without_head_reported_once_on_its_first_row(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ030"],
        members=[
            wife("H1"),  # row 2: H1 has no 户主
            son("H1"),  # row 3
            member("H2"),  # row 4: H2 is fine
            wife("H2"),  # row 5
            daughter("H1"),  # row 6: H1 again, further down
            member("H3", 与户主关系="其他"),  # row 7
        ],
    )
    assert rows(findings, "DQ030") == [2, 7]
    assert message(findings, "DQ030", 2) == "户 H1 的 3 名成员中没有户主（与户主关系：配偶、之子、之女）"
    assert message(findings, "DQ030", 7) == "户 H3 的 1 名成员中没有户主（与户主关系：其他）"


def test_dq031_more_than_one_head(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ031"],
        members=[member("H1"), member("H1", 证件号码=SON_ID), wife("H1"), member("H2"), wife("H2")],
    )
    assert rows(findings, "DQ031") == [2, 3]
    assert message(findings, "DQ031", 2) == "户 H1 有 2 名成员的与户主关系为“户主”（另见第 3 行）"
    assert json.loads(found(findings, "DQ031")["related"].iloc[1])[0]["row"] == 2


def test_dq032_more_than_one_spouse(tmp_path):
    second = make_id(birth="19750505", seq=124)
    findings = check_tables(
        tmp_path,
        ["DQ032"],
        members=[member("H1"), wife("H1"), wife("H1", 证件号码=second), member("H2"), wife("H2")],
    )
    assert rows(findings, "DQ032") == [3, 4]
    assert message(findings, "DQ032", 4) == "户 H1 有 2 名成员的与户主关系为“配偶”（另见第 3 行）"


# ------------------------------------------------------------------------------------ DQ033–DQ034


def test_dq033_head_and_spouse_of_the_same_sex(tmp_path):
    male_spouse = make_id(birth="19720202", seq=223)
    findings = check_tables(
        tmp_path,
        ["DQ033"],
        members=[
            member("H1"),  # row 2: male head
            wife("H1", 证件号码=male_spouse, 性别="男"),  # row 3: male by ID → flagged
            member("H2"),  # row 4
            wife("H2"),  # row 5: female → fine
            member("H3"),  # row 6
            wife("H3", 证件号码="12345", 性别="男"),  # row 7: ID unusable, 性别 column says 男 → flagged
            member("H4"),  # row 8
            wife("H4", 性别="男"),  # row 9: ID says 女 (DQ015's business), ID wins → fine
            member("H5"),  # row 10: two heads (DQ031) → not compared
            member("H5", 证件号码=SON_ID),  # row 11
            wife("H5", 证件号码=male_spouse),  # row 12
        ],
    )
    assert rows(findings, "DQ033") == [3, 7]
    assert (
        message(findings, "DQ033", 3)
        == "配偶与户主性别相同：配偶证件号码显示为男，户主（第 2 行）证件号码显示为男"
    )
    assert (
        message(findings, "DQ033", 7) == "配偶与户主性别相同：配偶性别列为男，户主（第 6 行）证件号码显示为男"
    )
    related = json.loads(found(findings, "DQ033")["related"].iloc[0])
    assert related[0]["row"] == 2 and related[0]["id_number"] == HEAD_ID


def test_dq034_relation_contradicts_sex(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ034"],
        members=[
            member("H1"),  # row 2
            daughter("H1"),  # row 3: 之女, female → fine
            daughter(
                "H1", 证件号码=make_id(birth="19980404", seq=443), 性别="男"
            ),  # row 4: 之女 but male → flagged
            son(
                "H1", 证件号码=make_id(birth="19950303", seq=332), 性别="女"
            ),  # row 5: 之子 but female → flagged
            member(
                "H1", 与户主关系="之兄弟姐妹", 证件号码=make_id(birth="19750101", seq=444), 性别="女"
            ),  # row 6
            daughter("H1", 证件号码="bad", 性别="男"),  # row 7: no usable ID → 性别 column → flagged
            daughter("H1", 性别="男"),  # row 8: ID says 女 → ID wins (DQ015 reports the column) → fine
            member("H1", 与户主关系="之母", 证件号码=make_id(birth="19450101", seq=113)),  # row 9: 之母 male
        ],
    )
    assert rows(findings, "DQ034") == [4, 5, 7, 9]
    assert message(findings, "DQ034", 4) == "与户主关系为“之女”（应为女性），但证件号码显示为男"
    assert message(findings, "DQ034", 5) == "与户主关系为“之子”（应为男性），但证件号码显示为女"
    assert message(findings, "DQ034", 7) == "与户主关系为“之女”（应为女性），但性别列为男"
    assert "之母" in message(findings, "DQ034", 9)
    assert set(found(findings, "DQ034")["column"]) == {"与户主关系"}


# ------------------------------------------------------------------------------------ DQ035, DQ037


def test_dq035_household_size_differs_from_member_rows(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ035"],
        households=[
            household("H1", 家庭人口数=2),  # row 2: exactly 2 members → fine
            household("H2", 家庭人口数=4),  # row 3: 3 members → flagged
            household("H3", 家庭人口数=1),  # row 4: 2 members → flagged
            household("H4", 家庭人口数=3),  # row 5: no members → DQ037, not here
        ],
        members=[
            member("H1"),
            wife("H1"),
            member("H2"),
            wife("H2"),
            son("H2"),
            member("H3"),
            wife("H3"),
        ],
    )
    assert rows(findings, "DQ035") == [3, 4]
    assert message(findings, "DQ035", 3) == "家庭人口数 4，成员表中有 3 人"
    assert message(findings, "DQ035", 4) == "家庭人口数 1，成员表中有 2 人"
    first = found(findings, "DQ035").iloc[0]
    assert first["table"] == "households" and first["column"] == "家庭人口数" and first["value"] == "4"
    assert first["household_id"] == "H2"


def test_dq037_orphan_members_and_empty_households(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ037"],
        households=[household("H1"), household("H2")],
        members=[member("H1"), wife("H1"), member("H9"), wife("H9")],
    )
    assert rows(findings, "DQ037", "households") == [3]
    assert rows(findings, "DQ037", "members") == [4, 5]
    assert message(findings, "DQ037", 3, "households") == "户编号 H2 在成员表中没有任何成员"
    assert message(findings, "DQ037", 4, "members") == "户编号 H9 在户表中不存在"


# ------------------------------------------------------------------------------------ DQ038


def test_dq038_village_matched_on_township_and_village(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ038"],
        households=[
            household("H1", 乡="孚玉镇", 村="城西村"),  # row 2: listed
            household("H2", 乡="孚玉镇", 村="金塘村"),  # row 3: 金塘村 exists, but in 凉亭镇
            household("H3", 乡="孚玉镇", 村="城西 村"),  # row 4: spaces ignored
            household("H4", 乡="凉亭镇", 村="新河村"),  # row 5: unknown
        ],
        villages=[
            {"乡": "孚玉镇", "村": "城西村", "总人口数": 1200},
            {"乡": "凉亭镇", "村": "金塘村", "总人口数": 900},
        ],
    )
    assert rows(findings, "DQ038") == [3, 5]
    assert message(findings, "DQ038", 3) == "村“金塘村”（孚玉镇）不在村表中（村表中同名村属于 凉亭镇）"
    assert message(findings, "DQ038", 5) == "村“新河村”（凉亭镇）不在村表中"
    assert set(found(findings, "DQ038")["severity"]) == {"warning"}


def test_dq038_village_name_only_without_township_column(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ038"],
        households=[
            household("H1", 村="城西村"),
            household("H2", 乡="孚玉镇", 村="金塘村"),
            household("H3", 村="X村"),
        ],
        villages=[{"村": "城西村", "总人口数": 1200}, {"村": "金塘村", "总人口数": 900}],
    )
    assert rows(findings, "DQ038") == [4]
    assert message(findings, "DQ038", 4) == "村“X村”（孚玉镇）不在村表中"


# ------------------------------------------------------------------------------------ skips


def test_rules_skip_when_their_columns_or_tables_are_missing(tmp_path):
    bare = [{k: v for k, v in member("H1").items() if k not in ("与户主关系", "性别", "证件号码")}]
    path = write_xlsx(tmp_path / "in.xlsx", {"家庭成员": bare})
    result = audit([str(path)], year=2017, select=["DQ02", "DQ03"])
    reasons = {o.code: (o.status, o.reason) for o in result.outcomes}
    assert reasons["DQ020"] == ("skipped", "members 表缺少列 证件号码")
    assert reasons["DQ021"] == ("skipped", "缺少 households 表")
    assert reasons["DQ030"] == ("skipped", "members 表缺少列 与户主关系")
    assert reasons["DQ034"] == ("skipped", "members 表缺少列 与户主关系")
    assert reasons["DQ035"] == ("skipped", "缺少 households 表")
    assert reasons["DQ038"] == ("skipped", "缺少 households 表")
    assert all(o.status != "failed" for o in result.outcomes)


def test_dq033_skips_without_any_sex_source(tmp_path):
    rows_ = [
        {k: v for k, v in r.items() if k not in ("性别", "证件号码")} for r in (member("H1"), wife("H1"))
    ]
    path = write_xlsx(tmp_path / "in.xlsx", {"家庭成员": rows_})
    result = audit([str(path)], year=2017, select=["DQ033", "DQ034"])
    for code in ("DQ033", "DQ034"):
        assert outcome(result, code).status == "skipped"
        assert "既没有证件号码列也没有性别列" in outcome(result, code).reason


def test_flat_export_gives_no_structure_findings_when_consistent(tmp_path):
    flat = [
        {
            **member("H1"),
            "家庭人口数": 2,
            "人均纯收入": 2700,
            "贫困户属性": "一般贫困户",
            "脱贫状态": "未脱贫",
        },
        {**wife("H1"), "家庭人口数": 2, "人均纯收入": 2700, "贫困户属性": "一般贫困户", "脱贫状态": "未脱贫"},
    ]
    findings = check_tables(tmp_path, ["DQ02", "DQ03"], members=flat)
    assert findings.empty, findings[["rule", "message"]].to_string()


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {0: {"家庭人口数": 3}, 1: {"家庭人口数": 3}},
            ("DQ035", "households", 2, "家庭人口数 3，成员表中有 2 人"),
        ),
        (
            {1: {"人均纯收入": 2800}},
            ("DQ036", "members", 3, "同一户的“人均纯收入”与该户第 2 行的取值“2700”不一致"),
        ),
    ],
    ids=["size", "rows-disagree"],
)
def test_flat_export_with_one_inconsistency_is_flagged(tmp_path, change, expected):
    """The positive counterpart of the test above: the same flat export with one planted defect."""
    shared = {"家庭人口数": 2, "人均纯收入": 2700, "贫困户属性": "一般贫困户", "脱贫状态": "未脱贫"}
    flat = [{**member("H1"), **shared}, {**wife("H1"), **shared}]
    for i, values in change.items():
        flat[i].update(values)
    findings = check_tables(tmp_path, ["DQ02", "DQ03"], members=flat)
    assert [tuple(r) for r in findings[["rule", "table", "row", "message"]].values] == [expected]
