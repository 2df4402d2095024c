"""DQ050–DQ056 through real xlsx files: flagged records, near misses at the tolerances, skips.

The base household (conftest.household) is 4000 + 2000 + 0 + 400 − 1000 = 5400 纯收入, 2 人, 2700 人均.
"""

from __future__ import annotations

import pytest
from conftest import check_tables, household, make_id, member, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.registry import default_registry
from fupin_audit.errors import ConfigError

TRANSFER_PARTS = ("计划生育金", "低保金", "五保金", "养老保险金", "生态补偿金", "其他转移性收入")
_seq = iter(range(101, 999, 2))


def person(hid: str, **kw) -> dict[str, object]:
    return member(hid, **{"证件号码": make_id(birth="19800101", seq=next(_seq)), "与户主关系": "之子", **kw})


def found(findings, code):
    return findings[findings["rule"] == code].sort_values(["table", "row", "column"]).reset_index(drop=True)


def rows(findings, code, table="households"):
    part = found(findings, code)
    return sorted(int(r) for r in part[part["table"] == table]["row"])


def message(findings, code, row, table="households", column=None):
    part = found(findings, code)
    hits = part[(part["row"] == row) & (part["table"] == table)]
    if column:
        hits = hits[hits["column"] == column]
    assert len(hits) == 1, hits
    return hits["message"].iloc[0]


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


def without(record: dict[str, object], *fields: str) -> dict[str, object]:
    return {k: v for k, v in record.items() if k not in fields}


def test_rules_are_registered_with_documentation():
    registry = default_registry()
    expected = {"DQ050": "error", "DQ051": "error", "DQ052": "warning", "DQ053": "warning",
                "DQ054": "warning", "DQ055": "warning", "DQ056": "warning"}  # fmt: skip
    for code, severity in expected.items():
        item = registry.get(code)
        assert item.severity == severity and item.family == "数据质量"
        assert item.what and item.why and item.example and item.title
        assert registry.origin(code) == "fupin_audit.rules.dq_income"
    for code in ("DQ054", "DQ055", "DQ056"):
        assert registry.get(code).needs == ("households", "members")


# ------------------------------------------------------------------------------------ DQ050


def test_dq050_net_income_against_its_parts_at_the_tolerance(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ050"],
        households=[
            household("H1"),  # row 2: exact
            household("H2", 纯收入=5401),  # row 3: 1.00 off → fine
            household("H3", 纯收入=5401.01),  # row 4: 1.01 off → flagged
            household("H4", 纯收入=5398.99),  # row 5: 1.01 off → flagged
            household("H5", 纯收入=None),  # row 6: nothing to compare
            household("H6", 工资性收入=None, 纯收入=1400),  # row 7: an empty part counts as 0 → fine
            household("H7", 工资性收入="四千", 纯收入=9999),  # row 8: part unknown (DQ004) → not judged
            household(
                "H8",
                **dict.fromkeys(
                    ("工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出")
                ),
            ),
            household("H9", 纯收入=6000),  # row 10: flagged
        ],
    )
    assert rows(findings, "DQ050") == [4, 5, 10]
    assert message(findings, "DQ050", 4) == (
        "纯收入 5401.01 元，工资性 4000.00 + 生产经营性 2000.00 + 财产性 0.00 + 转移性 400.00"
        " − 生产经营性支出 1000.00 = 5400.00 元，相差 1.01 元（容差 ±1 元）"
    )
    assert "相差 600.00 元" in message(findings, "DQ050", 10)
    assert set(found(findings, "DQ050")["column"]) == {"纯收入"}
    assert set(found(findings, "DQ050")["severity"]) == {"error"}


def test_dq050_tolerance_from_the_config(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[rules.DQ050]\ntolerance = 5\n", encoding="utf-8")
    path = write_xlsx(
        tmp_path / "in.xlsx", {"户信息": [household("H1", 纯收入=5405), household("H2", 纯收入=5406)]}
    )
    result = audit([str(path)], year=2017, select=["DQ050"], config=config)
    assert list(result.findings["row"]) == [3]
    assert "容差 ±5 元" in result.findings["message"].iloc[0]


def test_dq050_unknown_parameter_is_a_config_error(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[rules.DQ050]\ntolerence = 5\n", encoding="utf-8")
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [household()]})
    with pytest.raises(ConfigError, match="tolerence"):
        audit([str(path)], year=2017, select=["DQ050"], config=config)


def test_dq050_skips_without_a_part_column(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [without(household(), "生产经营性支出")]})
    result = audit([str(path)], year=2017, select=["DQ050"])
    assert outcome(result, "DQ050").status == "skipped"
    assert outcome(result, "DQ050").reason == "households 表缺少列 生产经营性支出"


# ------------------------------------------------------------------------------------ DQ051


def test_dq051_per_capita_against_net_income_and_size(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ051"],
        households=[
            household("H1"),  # row 2: 5400 / 2 = 2700
            household("H2", 人均纯收入=2700.025),  # row 3: 0.025 = 0.01 × 2 + 0.005 → fine
            household("H3", 人均纯收入=2700.03),  # row 4: flagged
            household("H4", 人均纯收入=2699.975),  # row 5: fine
            household("H5", 人均纯收入=2699.97),  # row 6: flagged
            household("H6", 家庭人口数=4, 纯收入=10000, 人均纯收入=2500.045),  # row 7: 0.045 → fine
            household("H7", 家庭人口数=4, 纯收入=10000, 人均纯收入=2500.05),  # row 8: flagged
            household("H8", 家庭人口数=None),  # row 9: not judged
            household("H9", 人均纯收入=5400),  # row 10: family income typed as per-capita
        ],
    )
    assert rows(findings, "DQ051") == [4, 6, 8, 10]
    assert message(findings, "DQ051", 4) == (
        "人均纯收入 2700.03 元，纯收入 5400.00 元 ÷ 家庭人口数 2 = 2700.00 元，相差 0.03 元"
        "（容差 ±0.025 元 = 0.01 × 2 + 0.005）"
    )
    assert "容差 ±0.045 元" in message(findings, "DQ051", 8)
    assert "相差 2700.00 元" in message(findings, "DQ051", 10)


# ------------------------------------------------------------------------------------ DQ052


def parts(**values: float | None) -> dict[str, float | None]:
    return {**dict.fromkeys(TRANSFER_PARTS, 0), **values}


def test_dq052_transfer_income_against_its_parts(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ052"],
        households=[
            household("H1", **parts(低保金=200, 养老保险金=200)),  # row 2: 400 = 400
            household("H2", 转移性收入=401, **parts(低保金=200, 养老保险金=200)),  # row 3: 1.00 → fine
            household("H3", 转移性收入=401.01, **parts(低保金=200, 养老保险金=200)),  # row 4: flagged
            household("H4", 转移性收入=400, **parts(低保金=2000, 养老保险金=1200)),  # row 5: flagged
            household("H5", **dict.fromkeys(TRANSFER_PARTS)),  # row 6: no parts given → not judged
            household("H6", 转移性收入=400, **parts(低保金=None, 养老保险金=400)),  # row 7: empty = 0 → fine
        ],
    )
    assert rows(findings, "DQ052") == [4, 5]
    assert message(findings, "DQ052", 5) == (
        "转移性收入 400.00 元，分项合计 计划生育金 0.00 + 低保金 2000.00 + 五保金 0.00 + 养老保险金 1200.00"
        " + 生态补偿金 0.00 + 其他转移性收入 0.00 = 3200.00 元，相差 2800.00 元（容差 ±1 元）"
    )
    assert "相差 1.01 元" in message(findings, "DQ052", 4)
    assert set(found(findings, "DQ052")["severity"]) == {"warning"}


def test_dq052_incomplete_parts_can_only_be_too_large(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ052"],
        households=[household("H1", 低保金=300), household("H2", 低保金=500), household("H3", 低保金=401)],
    )
    assert rows(findings, "DQ052") == [3]
    text = message(findings, "DQ052", 3)
    assert text.startswith("已有分项合计 低保金 500.00 = 500.00 元，超过转移性收入 400.00 元 100.00 元")
    assert "户表缺少 计划生育金、五保金、养老保险金、生态补偿金、其他转移性收入 列" in text


def test_dq052_skips_without_any_part_column(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [household()]})
    result = audit([str(path)], year=2017, select=["DQ052"])
    assert outcome(result, "DQ052").status == "skipped"
    assert "没有转移性收入的分项列" in outcome(result, "DQ052").reason


# ------------------------------------------------------------------------------------ DQ053


def test_dq053_implausible_income(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ053"],
        households=[
            household("H1"),  # row 2: fine
            household("H2", 人均纯收入=0),  # row 3: flagged
            household("H3", 人均纯收入=0.01),  # row 4: fine
            household("H4", 人均纯收入=-150),  # row 5: flagged
            household("H5", 人均纯收入=100000),  # row 6: fine
            household("H6", 人均纯收入=100000.01),  # row 7: flagged
            household("H7", 生产经营性支出=0),  # row 8: business income without cost → flagged
            household("H8", 生产经营性支出=None),  # row 9: flagged
            household("H9", 生产经营性收入=0, 生产经营性支出=0),  # row 10: fine
        ],
    )
    assert rows(findings, "DQ053") == [3, 5, 7, 8, 9]
    assert message(findings, "DQ053", 3) == "人均纯收入 0.00 元不大于 0 元，不合常理"
    assert message(findings, "DQ053", 7).startswith("人均纯收入 100000.01 元超过 100000 元")
    assert (
        message(findings, "DQ053", 8)
        == "生产经营性收入 2000.00 元，但生产经营性支出为 0：纯收入应扣除经营成本"
    )
    assert "生产经营性支出为空" in message(findings, "DQ053", 9)
    columns = dict(zip(found(findings, "DQ053")["row"], found(findings, "DQ053")["column"], strict=True))
    assert columns[3] == "人均纯收入" and columns[8] == "生产经营性支出"


def test_dq053_bounds_from_the_config(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[rules.DQ053]\nper_capita_max = 20000\n", encoding="utf-8")
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"户信息": [household("H1", 人均纯收入=20000), household("H2", 人均纯收入=20001)]},
    )
    result = audit([str(path)], year=2017, select=["DQ053"], config=config)
    assert list(result.findings["row"]) == [3]
    assert "超过 20000 元" in result.findings["message"].iloc[0]


# ------------------------------------------------------------------------------------ DQ054


def test_dq054_cause_contradicts_the_members(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ054"],
        households=[
            household("H1", 主要致贫原因="因病"),  # row 2: everybody healthy → flagged
            household("H2", 主要致贫原因="因病"),  # row 3: a chronic illness → fine
            household("H3", 主要致贫原因="因病"),  # row 4: "残疾,患有大病" → fine
            household("H4", 主要致贫原因="因残"),  # row 5: nobody disabled → flagged
            household("H5", 主要致贫原因="因残"),  # row 6: disabled member → fine
            household("H6", 主要致贫原因="因学"),  # row 7: a pupil → fine
            household("H7", 主要致贫原因="因学"),  # row 8: only 学龄前儿童 / 非在校生 → flagged
            household("H8", 主要致贫原因="因学"),  # row 9: 学前教育 counts as in school → fine
            household(
                "H9", 主要致贫原因="缺资金", 次要致贫原因="缺技术,缺资金"
            ),  # row 10: repeats main → flagged
            household("H10", 主要致贫原因="因病"),  # row 11: no members → DQ037, not judged here
            household("H11", 主要致贫原因="因病"),  # row 12: a health value is invalid → not judged
        ],
        members=[
            person("H1"),
            person("H1"),
            person("H2", 健康状况="长期慢性病"),
            person("H2"),
            person("H3", 健康状况="残疾,患有大病"),
            person("H4"),
            person("H5", 健康状况="残疾"),
            person("H6", 在校生状况="七年级"),
            person("H7", 在校生状况="学龄前儿童"),
            person("H7", 在校生状况="非在校生"),
            person("H8", 在校生状况="学前教育"),
            person("H9"),
            person("H11", 健康状况="不太好"),
        ],
    )
    assert rows(findings, "DQ054") == [2, 5, 8, 10]
    assert (
        message(findings, "DQ054", 2)
        == "主要致贫原因为“因病”，但该户 2 名成员中没有人健康状况为长期慢性病或患有大病"
    )
    assert message(findings, "DQ054", 5) == "主要致贫原因为“因残”，但该户 1 名成员中没有人健康状况为残疾"
    assert (
        message(findings, "DQ054", 8)
        == "主要致贫原因为“因学”，但该户 2 名成员中没有在校生（学龄前儿童、非在校生不算）"
    )
    assert message(findings, "DQ054", 10) == "次要致贫原因“缺技术,缺资金”重复了主要致贫原因“缺资金”"
    columns = dict(zip(found(findings, "DQ054")["row"], found(findings, "DQ054")["column"], strict=True))
    assert columns == {2: "主要致贫原因", 5: "主要致贫原因", 8: "主要致贫原因", 10: "次要致贫原因"}


def test_dq054_disability_category_counts_as_disabled(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ054"],
        households=[household("H1", 主要致贫原因="因残"), household("H2", 主要致贫原因="因残")],
        members=[person("H1", 残疾类别="肢体残疾"), person("H2", 残疾类别="无")],
    )
    assert rows(findings, "DQ054") == [3]
    assert "也没有人填写残疾类别" in message(findings, "DQ054", 3)


# ------------------------------------------------------------------------------------ DQ055


def test_dq055_dibao_and_tekun_attribute_against_members_and_money(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ055"],
        households=[
            household(
                "H1", 贫困户属性="低保贫困户", 低保金=0, 五保金=0
            ),  # row 2: no member, no money → 2 findings
            household("H2", 贫困户属性="低保贫困户", 低保金=1200, 五保金=0),  # row 3: fine
            household(
                "H3", 贫困户属性="一般贫困户", 低保金=0, 五保金=0
            ),  # row 4: its member has 低保 (reverse)
            household("H4", 贫困户属性="特困供养贫困户", 低保金=0, 五保金=None),  # row 5: 五保金 empty
            household("H5", 贫困户属性="一般贫困户", 低保金=0, 五保金=0),  # row 6: fine
            household(
                "H6", 贫困户属性="低保贫困户", 低保金=900, 五保金=0
            ),  # row 7: members' column empty → fine
            household("H7", 贫困户属性="五保户", 低保金=0, 五保金=3000),  # row 8: 五保 without a 特困 member
        ],
        members=[
            person("H1", 是否享受低保="否", 是否特困供养人员="否"),  # row 2
            person("H2", 是否享受低保="是", 是否特困供养人员="否"),  # row 3
            person("H3", 是否享受低保="是", 是否特困供养人员="否"),  # row 4: reverse → flagged
            person("H4", 是否享受低保="否", 是否特困供养人员="是"),  # row 5
            person("H5", 是否享受低保="否", 是否特困供养人员="否"),  # row 6
            person("H6", 是否享受低保=None, 是否特困供养人员=None),  # row 7
            person("H7", 是否享受低保="否", 是否特困供养人员="否"),  # row 8
        ],
    )
    assert rows(findings, "DQ055") == [2, 2, 5, 8]
    assert rows(findings, "DQ055", "members") == [4]
    assert message(findings, "DQ055", 2, column="贫困户属性") == (
        "贫困户属性为“低保贫困户”，但该户 1 名成员中没有人是否享受低保为“是”"
    )
    assert message(findings, "DQ055", 2, column="低保金") == "贫困户属性为“低保贫困户”，但低保金为 0"
    assert message(findings, "DQ055", 5) == "贫困户属性为“特困供养贫困户”，但五保金为空"
    assert (
        message(findings, "DQ055", 8)
        == "贫困户属性为“五保贫困户”，但该户 1 名成员中没有人是否特困供养人员为“是”"
    )
    assert message(findings, "DQ055", 4, "members") == (
        "享受低保（是否享受低保 = 是），但所在户 H3 的贫困户属性为“一般贫困户”，不含低保"
    )


def test_dq055_skips_without_any_related_column(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [household()], "家庭成员": [member()]})
    result = audit([str(path)], year=2017, select=["DQ055"])
    assert outcome(result, "DQ055").status == "skipped"
    assert "是否享受低保" in outcome(result, "DQ055").reason


# ------------------------------------------------------------------------------------ DQ056


def test_dq056_wage_income_against_working_members(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ056"],
        households=[
            household("H1"),  # row 2: wage 4000, nobody works → flagged
            household("H2"),  # row 3: a worker → fine
            household("H3", 工资性收入=0),  # row 4: worker, no wage → flagged
            household("H4", 工资性收入=None),  # row 5: worker, wage empty → flagged
            household("H5", 工资性收入=0),  # row 6: nobody works, no wage → fine
            household("H6"),  # row 7: a work place (but 0 months, DQ043) counts as working → fine
            household("H7", 工资性收入=2000),  # row 8: a 公益性岗位 is paid work → fine
            household("H8"),  # row 9: no members → not judged
        ],
        members=[
            person("H1", 务工时间=0, 务工所在地=None),
            person("H1", 务工时间=None, 务工所在地=None),
            person("H2", 务工时间=6, 务工所在地="合肥"),
            person("H3", 务工时间=6, 务工所在地="合肥"),
            person("H3", 务工时间=3, 务工所在地="安庆"),
            person("H4", 务工时间=12, 务工所在地="上海"),
            person("H5", 务工时间=0, 务工所在地=None),
            person("H6", 务工时间=0, 务工所在地="合肥"),
            person("H7", 务工时间=0, 务工所在地=None, 公益性岗位月数=12),
        ],
    )
    assert rows(findings, "DQ056") == [2, 4, 5]
    assert message(findings, "DQ056", 2) == (
        "工资性收入 4000.00 元，但该户 2 名成员都没有务工"
        "（务工时间为 0 或空、没有务工所在地、没有公益性岗位）"
    )
    assert message(findings, "DQ056", 4) == "该户 2 名成员务工时间大于 0（合计 9 个月），但工资性收入为 0"
    assert message(findings, "DQ056", 5) == "该户 1 名成员务工时间大于 0（合计 12 个月），但工资性收入为空"


def test_dq056_skips_without_work_columns(tmp_path):
    bare = without(member(), "务工时间", "务工所在地")
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [household()], "家庭成员": [bare]})
    result = audit([str(path)], year=2017, select=["DQ056"])
    assert outcome(result, "DQ056").status == "skipped"
    assert outcome(result, "DQ056").reason == "members 表缺少列 务工时间、务工所在地"


def test_income_rules_skip_without_members_table(tmp_path):
    path = write_xlsx(tmp_path / "in.xlsx", {"户信息": [household()]})
    result = audit([str(path)], year=2017, select=["DQ054", "DQ055", "DQ056"])
    for code in ("DQ054", "DQ055", "DQ056"):
        assert (outcome(result, code).status, outcome(result, code).reason) == ("skipped", "缺少 members 表")
