"""Every built-in rule's example is data: the rule flags the example's record and not its near miss."""

from __future__ import annotations

import pytest

from fupin_audit.engine.registry import default_registry
from fupin_audit.engine.rule import Example
from fupin_audit.rule_examples import describe_example, example_problems

BUILT_IN = [
    r for r in default_registry() if default_registry().origin(r.code).startswith("fupin_audit.rules.")
]


STRUCTURED = [r for r in BUILT_IN if isinstance(r.example, Example)]


def test_every_built_in_rule_has_a_structured_example():
    texts = [r.code for r in BUILT_IN if not isinstance(r.example, Example)]
    assert not texts, f"rules whose example is only text: {texts}"
    assert len(STRUCTURED) >= 120


@pytest.mark.parametrize("rule", STRUCTURED, ids=lambda r: r.code)
def test_example_is_flagged_and_its_near_miss_is_not(rule, tmp_path):
    if not isinstance(rule.example, Example):
        pytest.fail(f"{rule.code}: text example")
    assert example_problems(rule, tmp_path) == []


def test_examples_are_rendered_by_explain():
    lines = describe_example(default_registry().get("DQ011").example)
    assert lines[0].startswith("340826199001011234：前 17 位 34082619900101123 的校验位应为 5，实为 4")
    assert any("证件号码 = 340826199001011234" in line and "← 报告" in line for line in lines)
    assert lines[-1].startswith("不报告：校验位为 5 的 340826199001011235")


def test_example_ids_pass_the_checksum():
    """Every 18-digit ID in a built-in example passes GB 11643, except where the example is about it."""
    from fupin_audit.schema.idnumber import check_char

    about_ids = {"DQ011", "DQ012", "DQ013", "DQ016", "DQ017"}
    for rule in STRUCTURED:
        for table, rows in rule.example.with_near_miss().items():
            for row in [*rule.example.records[table], *rows]:
                for value in row.values():
                    is_id = isinstance(value, str) and len(value) == 18 and value[:17].isdigit()
                    if is_id and rule.code not in about_ids:
                        assert value[17] == check_char(value[:17]), (rule.code, value)


def test_a_declarative_rule_can_carry_a_structured_example(tmp_path):
    from fupin_audit.engine.declarative import load_rule_file

    path = tmp_path / "rules.toml"
    path.write_text(
        """
[[rule]]
code = "XD001"
title = "脱贫户人均纯收入低于 6000 元"
table = "households"
when = "脱贫状态 == '已脱贫' and 人均纯收入 < 6000"

[rule.example]
text = "已脱贫户人均纯收入 5999 元 → XD001"
near_miss_text = "6000 元不报告"
records = { households = [{ "户编号" = "H1", "脱贫状态" = "已脱贫", "人均纯收入" = 5999 }] }
near_miss = { households = { 0 = { "人均纯收入" = 6000 } } }
""",
        encoding="utf-8",
    )
    (rule,) = load_rule_file(path)
    assert isinstance(rule.example, Example)
    assert example_problems(rule, tmp_path) == []
    # a wrong example is caught the same way
    wrong = path.read_text(encoding="utf-8").replace('"人均纯收入" = 6000', '"人均纯收入" = 5000')
    path.write_text(wrong, encoding="utf-8")
    (rule,) = load_rule_file(path)
    (problem,) = example_problems(rule)
    assert problem.startswith("XD001: the near miss is flagged")


def test_a_malformed_example_table_is_a_config_error(tmp_path):
    from fupin_audit.engine.declarative import load_rule_file
    from fupin_audit.errors import ConfigError

    path = tmp_path / "rules.toml"
    path.write_text(
        """
[[rule]]
code = "XD002"
title = "t"
table = "households"
when = "人均纯收入 < 6000"

[rule.example]
text = "x"
records = { households = [{ "人均纯收入" = 1 }] }
near_miss = { households = { 3 = { "人均纯收入" = 6000 } } }
""",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"XD002\) example：example: near_miss names households record 3"):
        load_rule_file(path)


def test_the_documented_custom_rule_example_is_true(tmp_path):
    """rules/custom_rule_example.py is the model third-party authors copy: its example runs too."""
    from pathlib import Path

    from fupin_audit.engine.registry import Registry

    registry = Registry()
    registry.load_path(Path(__file__).resolve().parents[1] / "rules" / "custom_rule_example.py")
    rule = registry.get("XQ001")
    assert isinstance(rule.example, Example)
    assert example_problems(rule, tmp_path) == []


def test_monitoring_examples_carry_their_own_line_and_export_date(tmp_path):
    """An example's config and title row reach the run: without its own monitoring line MN121's
    example is not judged (no built-in 2023 line for 宿松县), and MN131's months count from the
    export date of its title row."""
    from dataclasses import replace

    mn121 = default_registry().get("MN121")
    assert "[monitoring_line]" in mn121.example.config
    (problem,) = example_problems(replace(mn121, example=replace(mn121.example, config="")), tmp_path)
    assert problem.startswith("MN121: the example did not run (skipped")
    mn131 = default_registry().get("MN131")
    assert mn131.example.title == "导出时间：2023-12-18"
    # a 2024 export date: the near miss (identified 202312) is past the grace month too
    late = replace(mn131, example=replace(mn131.example, title="导出时间：2024-01-05"))
    (tmp_path / "late").mkdir()
    (problem,) = example_problems(late, tmp_path / "late")
    assert problem.startswith("MN131: the near miss is flagged")


def test_explain_shows_the_title_row_and_the_config():
    lines = describe_example(default_registry().get("MN101").example)
    assert any(
        "户信息 第 1 条" in line and "人均纯收入 = 7299.99" in line and "← 报告" in line for line in lines
    )
    assert lines[-3:] == ["配置文件（--config）：", "  [monitoring_line]", "  2023 = 7300"]
    lines = describe_example(default_registry().get("MN131").example)
    assert "  每张表的标题行：导出时间：2023-12-18" in lines


def test_a_declarative_example_can_carry_a_config_and_a_title(tmp_path):
    from fupin_audit.engine.declarative import load_rule_file

    path = tmp_path / "rules.toml"
    path.write_text(
        """
[[rule]]
code = "XD003"
title = "识别后满 3 个月"
table = "households"
when = "识别监测时间 <= 202309"

[rule.example]
text = "导出 2023-12-18，识别监测时间 202309 → XD003"
title = "导出时间：2023-12-18"
config = "[monitoring_line]\\n2023 = 7300\\n"
year = 2023
near_miss_text = "202310"
records = { households = [{ "户编号" = "H1", "户类型" = "脱贫户", "识别监测时间" = 202309 }] }
near_miss = { households = { 0 = { "识别监测时间" = 202310 } } }
""",
        encoding="utf-8",
    )
    (rule,) = load_rule_file(path)
    assert rule.example.title == "导出时间：2023-12-18"
    assert rule.example.config == "[monitoring_line]\n2023 = 7300\n"
    assert example_problems(rule, tmp_path) == []


def test_an_example_config_must_be_toml():
    with pytest.raises(ValueError, match="config is not TOML"):
        Example(
            "x", {"households": [{"户编号": "H1"}]}, {"households": {0: {"户编号": "H2"}}}, "y", config="[x"
        )
