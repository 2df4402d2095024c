"""The registry: entry-point packs, user modules, duplicate codes, selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import household, make_id, member, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.registry import Registry, default_registry
from fupin_audit.errors import ConfigError

USER_RULES = Path(__file__).parents[1] / "rules"


def test_builtin_packs_arrive_through_entry_points():
    registry = Registry()
    registry.load_entry_points()
    origins = {registry.origin(r.code) for r in registry}
    assert all(o.startswith("fupin_audit.rules.") for o in origins)
    assert {"DQ001", "DQ011", "DQ036"} <= {r.code for r in registry}


def test_every_rule_carries_its_documentation():
    for rule in default_registry():
        assert rule.title and rule.what and rule.why and rule.example, rule.code
        assert rule.severity in ("error", "warning", "info")
        assert rule.family


def test_duplicate_codes_are_refused(tmp_path):
    clash = tmp_path / "clash.py"
    clash.write_text(
        "from fupin_audit.engine.rule import rule\n"
        "@rule('DQ011', '冒名规则', severity='error', needs=(), what='x', why='y', example='z')\n"
        "def fake(ctx, params):\n    return None\n",
        "utf-8",
    )
    with pytest.raises(ConfigError, match="DQ011"):
        default_registry([clash])


def test_selection_by_code_prefix_and_family():
    registry = default_registry()
    assert [r.code for r in registry.select(["DQ011"])] == ["DQ011"]
    assert {r.code for r in registry.select(["DQ01"])} >= {"DQ010", "DQ018"}
    assert all(r.family == "数据质量" for r in registry.select(["数据质量"]))
    assert "DQ011" not in {r.code for r in registry.select(["DQ01"], ["DQ011"])}
    with pytest.raises(ConfigError, match="QQ"):
        registry.select(["QQ"])


def test_example_custom_rule_module_runs(tmp_path):
    old_head = member(证件号码=make_id(birth="19300101", seq=111))
    path = write_xlsx(tmp_path / "old.xlsx", {"户信息": [household(家庭人口数=1)], "家庭成员": [old_head]})
    result = audit(
        [str(path)], year=2017, select=["XQ001"], rule_paths=[USER_RULES / "custom_rule_example.py"]
    )
    assert result.findings["rule"].tolist() == ["XQ001"]
    assert "87 岁" in result.findings["message"].iloc[0]
    assert result.findings["family"].iloc[0] == "自定义"
    young = audit(
        [str(path)],
        year=2017,
        select=["XQ001"],
        rule_paths=[USER_RULES],
        config=_params(tmp_path, "min_age = 90"),
    )
    assert young.findings.empty


def _params(tmp_path: Path, body: str) -> Path:
    config = tmp_path / "params.toml"
    config.write_text(f"[rules.XQ001]\n{body}\n", "utf-8")
    return config


def test_rule_parameters_reject_unknown_keys(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", {"家庭成员": [member()]})
    with pytest.raises(ConfigError, match="max_age"):
        audit([str(path)], rule_paths=[USER_RULES], config=_params(tmp_path, "max_age = 90"))


def test_example_province_override_applies(tmp_path):
    from fupin_audit.audit import Settings

    settings = Settings.from_file(USER_RULES / "province_override.toml")
    assert settings.policy.notice_min_days == 5
    assert settings.policy.source_of("notice_min_days") == "province_override.toml"
    assert settings.severity == {"DQ018": "info"}
    with_x = next(i for s in range(100, 999) if (i := make_id(seq=s)).endswith("X"))
    path = write_xlsx(tmp_path / "x.xlsx", {"家庭成员": [member(证件号码=with_x.lower())]})
    result = audit([str(path)], config=USER_RULES / "province_override.toml", select=["DQ018"])
    assert result.findings["severity"].tolist() == ["info"]


def test_global_rules_declare_how_a_distributed_run_splits_them():
    """Every global rule either names its shuffle key (tables it keys, tables that follow) or the
    tables it reads, so --engine dask never gives it less than it reads; explain shows which."""
    from fupin_audit.report.docs import explain_rule
    from fupin_audit.schema.models import MODELS

    registry = default_registry()
    for rule in registry:
        if rule.scope == "local":
            assert not (rule.shuffle or rule.follow or rule.reads), rule.code
            continue
        text = explain_rule(rule, "")
        if rule.shuffle:
            for kind, column in {**rule.shuffle, **rule.follow}.items():  # real tables and fields
                assert callable(column) or column == "*" or column in MODELS[kind].specs(), (
                    rule.code,
                    column,
                )
            assert "按键分桶" in text, rule.code
        else:
            assert "不分桶" in text, rule.code
    sy103 = explain_rule(registry.get("SY103"), "")
    assert "按键分桶（members 按 证件号码），另给每桶 households 随同户编号的行" in sy103
