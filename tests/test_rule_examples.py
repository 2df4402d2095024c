"""Every built-in rule's example is data: the rule flags the example's record and not its near miss."""

from __future__ import annotations

import pytest

from fupin_audit.engine.examples import describe_example, example_problems
from fupin_audit.engine.registry import default_registry
from fupin_audit.engine.rule import Example

BUILT_IN = [r for r in default_registry() if default_registry().origin(r.code).startswith("fupin_audit.rules.")]


def test_every_built_in_rule_has_a_structured_example():
    assert len(BUILT_IN) >= 72
    texts = [r.code for r in BUILT_IN if not isinstance(r.example, Example)]
    assert not texts, f"rules whose example is only text: {texts}"


@pytest.mark.parametrize("rule", BUILT_IN, ids=lambda r: r.code)
def test_example_is_flagged_and_its_near_miss_is_not(rule, tmp_path):
    if not isinstance(rule.example, Example):
        pytest.fail(f"{rule.code}: text example")
    assert example_problems(rule, tmp_path) == []
