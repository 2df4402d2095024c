"""DQ040–DQ044 through real xlsx files: flagged records, near misses at the band edges, skips."""

from __future__ import annotations

from conftest import check_tables, household, make_id, member, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.registry import default_registry

_seq = iter(range(101, 999, 2))


def person(birth: str, **kw) -> dict[str, object]:
    """A member born on ``birth`` (YYYYMMDD) with a valid, distinct male ID; ages are taken at 2017-12-31."""
    return member("H1", **{"证件号码": make_id(birth=birth, seq=next(_seq)), "与户主关系": "之子", **kw})


def found(findings, code):
    return findings[findings["rule"] == code].sort_values(["table", "row"]).reset_index(drop=True)


def rows(findings, code, table="members"):
    part = found(findings, code)
    return sorted(int(r) for r in part[part["table"] == table]["row"])


def message(findings, code, row, table="members"):
    part = found(findings, code)
    hits = part[(part["row"] == row) & (part["table"] == table)]
    assert len(hits) == 1, hits
    return hits["message"].iloc[0]


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


def test_rules_are_registered_with_documentation():
    registry = default_registry()
    for code in ("DQ040", "DQ041", "DQ042", "DQ043", "DQ044"):
        item = registry.get(code)
        assert item.severity == "warning" and item.family == "数据质量"
        assert item.what and item.why and item.example and item.title
        assert registry.origin(code) == "fupin_audit.rules.dq_members"
    assert registry.get("DQ044").needs == ()


# ------------------------------------------------------------------------------------ DQ040


def test_dq040_education_and_school_status_exactly_one(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ040"],
        members=[
            person("19700101", 文化程度="初中"),  # row 2: fine
            person("20050101", 文化程度=None, 在校生状况="七年级"),  # row 3: fine
            person("20050101", 文化程度="初中", 在校生状况="七年级"),  # row 4: both
            person("19700101", 文化程度=None),  # row 5: neither
            person("19700101", 文化程度=None, 在校生状况="非在校生"),  # row 6: 非在校生 counts as empty
            person("19700101", 文化程度="小学", 在校生状况="非在校生"),  # row 7: fine
            person("20150101", 文化程度=None, 在校生状况="学龄前儿童"),  # row 8: fine
            person("19700101", 文化程度="不识字"),  # row 9: invalid code (DQ003), not "empty"
        ],
    )
    assert rows(findings, "DQ040") == [4, 5, 6]
    assert message(findings, "DQ040", 4).startswith("文化程度“初中”与在校生状况“七年级”同时填写")
    assert message(findings, "DQ040", 5) == "文化程度与在校生状况均为空：应填写其中一项"
    assert message(findings, "DQ040", 6) == "在校生状况为“非在校生”，但文化程度为空：应填写其中一项"


# ------------------------------------------------------------------------------------ DQ041


def test_dq041_age_against_school_status_band_edges(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ041"],
        members=[
            person("20111231", 在校生状况="小学"),  # row 2: 6 on 2017-12-31 → fine
            person("20120101", 在校生状况="小学"),  # row 3: 5 → flagged
            person("20030601", 在校生状况="小学"),  # row 4: 14 → fine
            person("20020601", 在校生状况="小学"),  # row 5: 15 → flagged
            person("20060101", 在校生状况="七年级"),  # row 6: 11 → fine
            person("20070101", 在校生状况="九年级"),  # row 7: 10 → flagged
            person("19970101", 在校生状况="中职二年级"),  # row 8: 20 → fine
            person("19960101", 在校生状况="普通高中一年级"),  # row 9: 21 → flagged
            person("19860101", 在校生状况="本科三年级"),  # row 10: 31 → flagged
            person("20090101", 在校生状况="学前教育"),  # row 11: 8 → flagged
            person("20170101", 在校生状况="学龄前儿童"),  # row 12: 0 → fine
            person("19670101", 在校生状况="大专及以上"),  # row 13: no band → fine
            person("19700101", 在校生状况=None, 文化程度="初中"),  # row 14: not a student
            person("19700101", 在校生状况="非在校生"),  # row 15: not a student
            # row 16: ID unusable → the 出生日期 column gives the age (5)
            member("H1", 证件号码="bad", 出生日期="2012-03-04", 在校生状况="小学"),
        ],
    )
    assert rows(findings, "DQ041") == [3, 5, 7, 9, 10, 11, 16]
    assert message(findings, "DQ041", 3) == (
        "年龄 5 岁（据证件号码，出生 2012-01-01，计至 2017-12-31），在校生状况为“小学”，应在 6–14 岁之间"
    )
    assert "应在 11–17 岁之间" in message(findings, "DQ041", 7)
    assert "应在 14–20 岁之间" in message(findings, "DQ041", 9)
    assert "应在 16–30 岁之间" in message(findings, "DQ041", 10)
    assert "应在 0–7 岁之间" in message(findings, "DQ041", 11)
    assert message(findings, "DQ041", 16).startswith("年龄 5 岁（据出生日期列，出生 2012-03-04")
    assert set(found(findings, "DQ041")["column"]) == {"在校生状况"}


def test_dq041_bands_come_from_the_config(tmp_path):
    config = tmp_path / "county.toml"
    config.write_text("[rules.DQ041]\nprimary = [7, 12]\n", encoding="utf-8")
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"家庭成员": [person("20111231", 在校生状况="小学"), person("20101231", 在校生状况="小学")]},
    )
    result = audit([str(path)], year=2017, select=["DQ041"], config=config)
    assert outcome(result, "DQ041").status == "ran"
    assert list(result.findings["row"]) == [2]
    assert "应在 7–12 岁之间" in result.findings["message"].iloc[0]


def test_dq041_rejects_an_inverted_band(tmp_path):
    import pytest

    from fupin_audit.errors import ConfigError

    config = tmp_path / "bad.toml"
    config.write_text("[rules.DQ041]\nprimary = [14, 6]\n", encoding="utf-8")
    path = write_xlsx(tmp_path / "in.xlsx", {"家庭成员": [person("20111231", 在校生状况="小学")]})
    with pytest.raises(ConfigError, match="DQ041"):
        audit([str(path)], year=2017, select=["DQ041"], config=config)


def test_dq041_skips_without_a_data_year(tmp_path):
    rows_ = [{k: v for k, v in person("20120101", 在校生状况="小学").items() if k != "年度"}]
    path = write_xlsx(tmp_path / "in.xlsx", {"家庭成员": rows_})
    result = audit([str(path)], year=None, select=["DQ041"])
    assert outcome(result, "DQ041").status == "skipped"
    assert "无法确定计算年龄的基准日" in outcome(result, "DQ041").reason


# ------------------------------------------------------------------------------------ DQ042


def test_dq042_age_against_labour_skill(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ042"],
        members=[
            person("20010601", 劳动技能="普通劳动力", 在校生状况=None),  # row 2: 16 → fine
            person("20020601", 劳动技能="普通劳动力", 在校生状况=None),  # row 3: 15 → flagged
            person("20050601", 劳动技能="技能劳动力", 在校生状况="七年级"),  # row 4: 12 → flagged
            person("20050601", 劳动技能="无劳动力", 在校生状况="七年级"),  # row 5: child, no labour → fine
            person("19820601", 劳动技能="无劳动力", 在校生状况=None),  # row 6: 35, healthy → flagged
            person(
                "19820601", 劳动技能="无劳动力", 健康状况="长期慢性病", 在校生状况=None
            ),  # row 7: ill → fine
            person("19990601", 劳动技能="无劳动力", 在校生状况="普通高中三年级"),  # row 8: student → fine
            person("19560601", 劳动技能="丧失劳动力", 在校生状况=None),  # row 9: 61 → fine
            person("19570601", 劳动技能="丧失劳动力", 在校生状况="非在校生"),  # row 10: 60 → flagged
            person("19820601", 劳动技能="弱劳动力或半劳动力", 在校生状况=None),  # row 11: fine
            person(
                "19820601", 劳动技能="无劳动力", 健康状况="健康,残疾", 在校生状况=None
            ),  # row 12: not just 健康
        ],
    )
    assert rows(findings, "DQ042") == [3, 4, 6, 10]
    assert message(findings, "DQ042", 3) == (
        "年龄 15 岁（据证件号码，出生 2002-06-01，计至 2017-12-31），未满 16 岁（劳动年龄 16–60 岁，默认），"
        "劳动技能却为“普通劳动力”"
    )
    assert message(findings, "DQ042", 6).endswith(
        "在劳动年龄 16–60 岁（默认）内，健康且不在校，劳动技能却为“无劳动力”"
    )
    assert "年龄 60 岁" in message(findings, "DQ042", 10)


def test_dq042_working_age_comes_from_the_policy(tmp_path):
    config = tmp_path / "county.toml"
    config.write_text("working_age = [18, 60]\n", encoding="utf-8")
    path = write_xlsx(tmp_path / "in.xlsx", {"家庭成员": [person("20010601", 劳动技能="普通劳动力")]})
    result = audit([str(path)], year=2017, select=["DQ042"], config=config)
    assert list(result.findings["row"]) == [2]
    assert "未满 18 岁（劳动年龄 18–60 岁，county.toml）" in result.findings["message"].iloc[0]


# ------------------------------------------------------------------------------------ DQ043


def test_dq043_work_place_without_months_and_the_reverse(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ043"],
        members=[
            person("19700101", 务工所在地="合肥", 务工时间=6),  # row 2: fine
            person("19700101", 务工所在地="合肥", 务工时间=0),  # row 3: flagged
            person("19700101", 务工所在地="合肥", 务工时间=None),  # row 4: flagged
            person("19700101", 务工所在地=None, 务工时间=6),  # row 5: flagged
            person("19700101", 务工所在地=None, 务工时间=0),  # row 6: fine
            person("19700101", 务工所在地="无", 务工时间=0),  # row 7: “无” is no place → fine
            person("19700101", 务工所在地="合肥", 务工时间="十三"),  # row 8: unparseable (DQ004) → not judged
        ],
    )
    assert rows(findings, "DQ043") == [3, 4, 5]
    assert message(findings, "DQ043", 3) == "务工所在地为“合肥”，但务工时间为 0"
    assert message(findings, "DQ043", 4) == "务工所在地为“合肥”，但务工时间为空"
    assert message(findings, "DQ043", 5) == "务工时间 6 个月，但务工所在地为空"
    columns = dict(zip(found(findings, "DQ043")["row"], found(findings, "DQ043")["column"], strict=True))
    assert columns == {3: "务工时间", 4: "务工时间", 5: "务工所在地"}


# ------------------------------------------------------------------------------------ DQ044


def test_dq044_phone_numbers_in_every_table(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ044"],
        households=[
            household("H1", 户联系电话="13912345678"),  # row 2: fine
            household("H2", 户联系电话="12912345678"),  # row 3: second digit 2
            household("H3", 户联系电话="1391234567"),  # row 4: 10 digits
            household("H4", 户联系电话=None),  # row 5: empty is fine
            household("H5", 户联系电话="139-1234-5678"),  # row 6: separators are fine
            household("H6", 户联系电话="0556-1234567"),  # row 7: landline
            household("H7", 户联系电话="139123456789"),  # row 8: 12 digits
        ],
        members=[
            person("19700101", 成员联系电话="18612345678"),  # row 2: fine
            person("19700101", 成员联系电话="28612345678"),  # row 3: flagged
            person("19700101", 成员联系电话=None),  # row 4: fine
        ],
    )
    assert rows(findings, "DQ044", "households") == [3, 4, 7, 8]
    assert rows(findings, "DQ044", "members") == [3]
    assert message(findings, "DQ044", 3, "households") == (
        "户联系电话“12912345678”不是有效的手机号码（应为 1[3-9] 开头的 11 位数字）"
    )
    assert message(findings, "DQ044", 3, "members").startswith("成员联系电话“28612345678”")


def test_dq044_household_phone_on_member_rows_reported_once_per_household(tmp_path):
    findings = check_tables(
        tmp_path,
        ["DQ044"],
        members=[
            member("H1", 户联系电话="123"),  # row 2: flagged
            member("H1", 户联系电话="123", 与户主关系="之子"),  # row 3: same household, same number
            member("H2", 户联系电话="123"),  # row 4: another household → flagged
        ],
    )
    assert rows(findings, "DQ044") == [2, 4]


def test_dq044_flat_export_reports_the_household_phone_once(tmp_path):
    extra = {
        "家庭人口数": 2,
        "人均纯收入": 2700,
        "贫困户属性": "一般贫困户",
        "脱贫状态": "未脱贫",
        "户联系电话": "555",
    }
    flat = [
        {**member("H1"), **extra},
        {**member("H1", 与户主关系="配偶", 性别="女", 证件号码=make_id(seq=222)), **extra},
    ]
    findings = check_tables(tmp_path, ["DQ044"], members=flat)
    assert len(findings) == 1
    assert findings["table"].iloc[0] == "households" and findings["row"].iloc[0] == 2


def test_dq044_pattern_from_the_config(tmp_path):
    config = tmp_path / "county.toml"
    config.write_text('[rules.DQ044]\npattern = "^(1[3-9]\\\\d{9}|0\\\\d{10,11})$"\n', encoding="utf-8")
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"户信息": [household("H1", 户联系电话="0556-1234567"), household("H2", 户联系电话="555")]},
    )
    result = audit([str(path)], year=2017, select=["DQ044"], config=config)
    assert list(result.findings["row"]) == [3]
    assert "不符合配置的号码格式" in result.findings["message"].iloc[0]


def test_dq044_skips_without_any_phone_column(tmp_path):
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {
            "户信息": [{k: v for k, v in household().items() if k != "户联系电话"}],
            "家庭成员": [member()],
        },
    )
    result = audit([str(path)], year=2017, select=["DQ044"])
    assert outcome(result, "DQ044").status == "skipped"
    assert (
        outcome(result, "DQ044").reason
        == "没有任何表含电话列（户联系电话、信息采集人联系电话、成员联系电话）"
    )


# ------------------------------------------------------------------------------------ skips


def test_member_rules_skip_when_columns_are_missing(tmp_path):
    bare = [{k: v for k, v in member().items() if k not in ("证件号码", "务工所在地", "劳动技能")}]
    path = write_xlsx(tmp_path / "in.xlsx", {"家庭成员": bare})
    result = audit([str(path)], year=2017, select=["DQ04"])
    reasons = {o.code: (o.status, o.reason) for o in result.outcomes}
    assert reasons["DQ040"] == ("skipped", "members 表缺少列 在校生状况")
    assert reasons["DQ041"] == ("skipped", "members 表缺少列 在校生状况")
    assert reasons["DQ042"] == ("skipped", "members 表缺少列 劳动技能")
    assert reasons["DQ043"] == ("skipped", "members 表缺少列 务工所在地")
    assert all(o.status != "failed" for o in result.outcomes)


def test_age_rules_skip_without_any_birth_source(tmp_path):
    bare = [{k: v for k, v in member(在校生状况="小学").items() if k != "证件号码"}]
    path = write_xlsx(tmp_path / "in.xlsx", {"家庭成员": bare})
    result = audit([str(path)], year=2017, select=["DQ041", "DQ042"])
    for code in ("DQ041", "DQ042"):
        assert outcome(result, code).status == "skipped"
        assert "既没有证件号码列也没有出生日期列" in outcome(result, code).reason


def test_dq043_rows_of_a_file_without_the_column_are_not_judged(tmp_path):
    """Two townships' member files, one without a 务工时间 column: its members' work places are not
    “work place without months” (an absent column is not an empty one), while the other file's rows
    are judged as usual; the run says which file went unjudged."""
    with_months = write_xlsx(
        tmp_path / "城关镇.xlsx",
        {
            "家庭成员": [
                person("19700101", 务工所在地="合肥", 务工时间=None),
                person("19700101", 务工所在地="合肥", 务工时间=6),
            ]
        },
    )
    worker = person("19700101", 务工所在地="杭州")
    del worker["务工时间"]  # this township's export has no such column
    without = write_xlsx(tmp_path / "八步街道.xlsx", {"家庭成员": [worker]})
    result = audit([with_months, without], select=["DQ043"], year=2017)
    flagged = found(result.findings, "DQ043")
    assert list(zip(flagged["file"], flagged["row"], strict=True)) == [(str(with_months), 2)]
    notes = [d for d in result.dataset.diagnostics if "DQ043" in d.message]
    assert [(d.file, d.sheet, d.level) for d in notes] == [(str(without), "家庭成员", "info")]
    assert "没有列 务工时间" in notes[0].message
