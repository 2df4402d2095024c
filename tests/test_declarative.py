"""Declarative TOML rules: the condition grammar, its semantics, its refusals, and rule files end to end."""

from __future__ import annotations

import builtins
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import household, write_xlsx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin_audit.audit import audit
from fupin_audit.engine.declarative import (
    MAX_CHARS,
    Arithmetic,
    ExpressionError,
    Logic,
    Unary,
    compile_condition,
    load_rule_file,
    parse_condition,
    parse_template,
)
from fupin_audit.engine.registry import Registry, default_registry
from fupin_audit.errors import ConfigError
from fupin_audit.schema.codes import code_list

EXAMPLE = Path(__file__).parents[1] / "rules" / "example_rules.toml"
H = "households"

# ---------------------------------------------------------------------------------------------
# A small typed household frame, as validation produces it (codes categorical, yes/no boolean,
# money float64, integers Int64, dates datetime64), and the same values as plain Python.

ROWS: dict[str, list] = {
    "人均纯收入": [5000.0, 7000.0, None, 0.0, 2.5, -1.0, 6000.0, 3.0],
    "纯收入": [10000.0, 0.0, 3.0, None, 2.5, 6.0, -2.0, 9000.0],
    "家庭人口数": [2, 0, 3, None, 1, 2, 4, 3],
    "脱贫状态": ["已脱贫", "未脱贫", None, "返贫", "已脱贫", "未脱贫", "已脱贫(享受政策)", None],
    "户主姓名": ["张三", None, "李四四", "王五", "张三", "赵六", "孙七七七", "周八"],
    "次要致贫原因": ["因病,因残", None, "因学", "因病", None, "缺技术", "因残", "因病"],
    "是否危房户": [True, False, None, True, False, None, True, False],
    "是否通生活用电": [None, True, True, False, False, True, None, True],
    "申请日期": [
        dt.date(2016, 3, 1),
        None,
        dt.date(2017, 1, 15),
        dt.date(2015, 12, 31),
        dt.date(2017, 6, 30),
        dt.date(2016, 3, 1),
        None,
        dt.date(2014, 2, 28),
    ],
    "公告日期": [
        dt.date(2016, 4, 1),
        dt.date(2017, 1, 1),
        None,
        dt.date(2016, 1, 10),
        dt.date(2017, 6, 30),
        dt.date(2016, 2, 1),
        dt.date(2017, 3, 3),
        None,
    ],
}
NUM_FIELDS = ("人均纯收入", "纯收入", "家庭人口数")
STR_FIELDS = ("脱贫状态", "户主姓名")
BOOL_FIELDS = ("是否危房户", "是否通生活用电")
DATE_FIELDS = ("申请日期", "公告日期")


def typed_frame() -> pd.DataFrame:
    def nan(values):
        return [np.nan if v is None else v for v in values]

    return pd.DataFrame(
        {
            "人均纯收入": pd.Series(nan(ROWS["人均纯收入"]), dtype="float64"),
            "纯收入": pd.Series(nan(ROWS["纯收入"]), dtype="float64"),
            "家庭人口数": pd.array(ROWS["家庭人口数"], dtype="Int64"),
            "脱贫状态": pd.Categorical(ROWS["脱贫状态"], categories=code_list("脱贫状态").values),
            "户主姓名": pd.Series(ROWS["户主姓名"], dtype=object),
            "次要致贫原因": pd.Series(ROWS["次要致贫原因"], dtype=object),
            "是否危房户": pd.array(ROWS["是否危房户"], dtype="boolean"),
            "是否通生活用电": pd.array(ROWS["是否通生活用电"], dtype="boolean"),
            "申请日期": pd.to_datetime(pd.Series(ROWS["申请日期"], dtype=object)),
            "公告日期": pd.to_datetime(pd.Series(ROWS["公告日期"], dtype=object)),
        }
    ).set_index(pd.RangeIndex(10, 18))  # labels that are not positions


def mask(text: str) -> list[bool]:
    result = compile_condition(text, H).evaluate(typed_frame())
    assert result.dtype == bool
    assert result.index.equals(typed_frame().index)
    return result.tolist()


def rows_where(predicate) -> list[bool]:
    """Expected mask from a predicate over the Python rows (None = empty)."""
    n = len(ROWS["人均纯收入"])
    return [bool(predicate({k: v[i] for k, v in ROWS.items()})) for i in range(n)]


def rejected(text: str, table: str = H) -> ExpressionError:
    with pytest.raises(ExpressionError) as info:
        compile_condition(text, table)
    return info.value


# ---------------------------------------------------------------------------------------------
# Operators and precedence


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("==", [False, False, False, False, False, False, True, False]),
        ("!=", [True, True, False, True, True, True, False, True]),
        ("<", [True, False, False, True, True, True, False, True]),
        ("<=", [True, False, False, True, True, True, True, True]),
        (">", [False, True, False, False, False, False, False, False]),
        (">=", [False, True, False, False, False, False, True, False]),
    ],
)
def test_every_comparison_operator_and_empty_income_never_matches(op, expected):
    assert mask(f"人均纯收入 {op} 6000") == expected
    # the literal on the left mirrors the operator
    mirrored = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}[op]
    assert mask(f"6000 {mirrored} 人均纯收入") == expected


def test_and_binds_tighter_than_or():
    got = mask("人均纯收入 > 6500 or 人均纯收入 < 1 and 纯收入 > 0")
    assert got == rows_where(
        lambda r: (
            r["人均纯收入"] is not None
            and (
                r["人均纯收入"] > 6500
                or (r["人均纯收入"] < 1 and r["纯收入"] is not None and r["纯收入"] > 0)
            )
        )
    )
    assert got == [False, True, False, False, False, True, False, False]
    tree = parse_condition("a or b and c")
    assert isinstance(tree, Logic) and tree.op == "or"
    assert isinstance(tree.items[1], Logic) and tree.items[1].op == "and"


def test_parentheses_override_precedence():
    assert mask("(人均纯收入 > 6500 or 人均纯收入 < 1) and 纯收入 > 0") == [
        False, False, False, False, False, True, False, False,
    ]  # fmt: skip


def test_not_binds_looser_than_comparison_and_tighter_than_and():
    tree = parse_condition("not a == 1 and b")
    assert isinstance(tree, Logic) and tree.op == "and"
    assert isinstance(tree.items[0], Unary) and tree.items[0].op == "not"
    assert mask("not 人均纯收入 > 4000 and 纯收入 > 0") == [
        False,
        False,
        False,
        False,
        True,
        True,
        False,
        True,
    ]


def test_arithmetic_precedence_and_left_associativity():
    assert mask("纯收入 - 人均纯收入 * 2 == 0") == rows_where(
        lambda r: None not in (r["纯收入"], r["人均纯收入"]) and r["纯收入"] - r["人均纯收入"] * 2 == 0
    )
    assert mask("纯收入 - 2000 - 3000 == 5000") == [True] + [False] * 7
    assert mask("纯收入 - (2000 - 3000) == 11000") == [True] + [False] * 7
    assert mask("纯收入 / 2 / 5 == 1000") == [True] + [False] * 7
    assert mask("-人均纯收入 + 8000 > 2000") == [True, False, False, True, True, True, False, True]
    assert mask("- -人均纯收入 == 7000") == [False, True] + [False] * 6
    tree = parse_condition("a - b - c * d")
    assert isinstance(tree, Arithmetic) and [s.op for s in tree.steps] == ["-", "-"]


def test_division_per_person_and_by_zero():
    # 纯收入 / 家庭人口数: row 1 has 0 people (empty result), row 3 no people, row 2 no income
    assert mask("纯收入 / 家庭人口数 < 3000") == [False, False, True, False, True, True, True, False]
    assert mask("isnull(纯收入 / 家庭人口数)") == [False, True, False, True, False, False, False, False]


def test_missing_values_follow_three_valued_logic():
    assert mask("人均纯收入 != 5000")[2] is False
    assert mask("not (人均纯收入 >= 6000)")[2] is False
    assert mask("not not (人均纯收入 < 6000)")[2] is False
    assert mask("人均纯收入 < 6000 or isnull(人均纯收入)")[2] is True
    assert mask("人均纯收入 > 100000 and 纯收入 > 0")[2] is False  # unknown and false
    assert mask("人均纯收入 > 0 or 纯收入 > 0")[2] is True  # unknown or true
    assert mask("isnull(人均纯收入) and 人均纯收入 > 1") == [False] * 8


def test_isnull_and_notnull_on_every_type():
    for field in ("人均纯收入", "家庭人口数", "脱贫状态", "户主姓名", "是否危房户", "申请日期"):
        empty = [v is None for v in ROWS[field]]
        assert mask(f"isnull({field})") == empty, field
        assert mask(f"notnull({field})") == [not e for e in empty], field


def test_in_and_not_in():
    assert mask("脱贫状态 in ['未脱贫', '返贫']") == [False, True, False, True, False, True, False, False]
    assert mask("脱贫状态 not in ['未脱贫', '返贫']") == [True, False, False, False, True, False, True, False]
    assert mask("家庭人口数 in [0, 4, -1]") == [False, True, False, False, False, False, True, False]
    assert mask("人均纯收入 in [-1, 2.5,]") == [False, False, False, False, True, True, False, False]
    assert mask("户主姓名 in ['张三']") == [True, False, False, False, True, False, False, False]


def test_code_literals_are_translated_to_labels():
    # an alias (脱贫 → 已脱贫), a numeric code (0 → 未脱贫) and full-width brackets all reach the label
    assert (
        mask("脱贫状态 == '脱贫'")
        == mask("脱贫状态 == '已脱贫'")
        == [True] + [False] * 3 + [True] + [False] * 3
    )
    assert mask("脱贫状态 == '0'") == mask("脱贫状态 == '未脱贫'")
    assert mask("脱贫状态 == '已脱贫（享受政策）'") == [False] * 6 + [True, False]
    assert mask("'已脱贫' == 脱贫状态") == mask("脱贫状态 == '已脱贫'")


def test_yes_no_fields():
    assert mask("是否危房户") == [True, False, False, True, False, False, True, False]
    assert (
        mask("是否危房户 == '是'")
        == mask("是否危房户 == true")
        == mask("是否危房户 == 是")
        == mask("是否危房户")
    )
    assert mask("是否危房户 == 否") == [False, True, False, False, True, False, False, True]
    assert mask("not 是否危房户") == [False, True, False, False, True, False, False, True]
    assert mask("是否危房户 or 是否通生活用电") == [True, True, True, True, False, True, True, True]


def test_dates_year_and_day_differences():
    assert mask("year(申请日期) == 2017") == [False, False, True, False, True, False, False, False]
    assert mask("申请日期 >= '2017-01-01'") == mask("year(申请日期) >= 2017")
    assert mask("公告日期 - 申请日期 < 7") == rows_where(
        lambda r: (
            r["申请日期"] is not None
            and r["公告日期"] is not None
            and (r["公告日期"] - r["申请日期"]).days < 7
        )
    )
    assert mask("公告日期 - 申请日期 < 7") == [False, False, False, False, True, True, False, False]


def test_text_functions():
    assert mask("len(户主姓名) >= 3") == [False, False, True, False, False, False, True, False]
    assert mask("contains(次要致贫原因, '因病')") == [True, False, False, True, False, False, False, True]
    assert mask("contains(户主姓名, '七')") == [False] * 6 + [True, False]


def test_chinese_keywords_full_width_punctuation_and_unicode_operators():
    plain = mask("人均纯收入 < 6000 and 脱贫状态 == '已脱贫'")
    assert mask("人均纯收入 ＜ 6000 且 脱贫状态 ＝＝ “已脱贫”") == plain
    assert mask("（人均纯收入 ≤ 5999.99） AND 脱贫状态 == ‘已脱贫’") == plain
    assert mask("非 人均纯收入 ≥ 6000 且 notnull(人均纯收入) 或 人均纯收入 ≠ 人均纯收入") == mask(
        "not 人均纯收入 >= 6000 and notnull(人均纯收入)"
    )


def test_evaluation_never_calls_eval_exec_or_query(monkeypatch):
    calls: list[str] = []

    def spy(name):
        def forbidden(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"{name} must not be used")

        return forbidden

    frame = typed_frame()
    text = "纯收入 / 家庭人口数 < 3000 and not isnull(脱贫状态) and 脱贫状态 in ['已脱贫', '未脱贫']"
    with monkeypatch.context() as patch:
        for name in ("eval", "exec"):
            patch.setattr(builtins, name, spy(name))
        patch.setattr(pd, "eval", spy("pd.eval"))
        patch.setattr(pd.DataFrame, "eval", spy("DataFrame.eval"))
        patch.setattr(pd.DataFrame, "query", spy("DataFrame.query"))
        got = compile_condition(text, H).evaluate(frame).tolist()
    assert calls == []
    assert got == [False, False, False, False, True, True, False, False]


# ---------------------------------------------------------------------------------------------
# Refusals: every one names the 1-based position and the token


@pytest.mark.parametrize(
    ("text", "position", "token", "reason"),
    [
        ("__import__('os')", 1, "__import__", "下划线"),
        ("人均纯收入.__class__", 6, ".", "属性访问"),
        ("lambda: 1", 1, "lambda", "lambda"),
        ("open('x')", 1, "open", "不允许调用函数 open"),
        ("[x for x in y]", 1, "[", "in / not in"),
        ("a[0]", 2, "[", "下标"),
        ("人均纯收入[0] > 1", 6, "[", "下标"),
        ("isnull(人均纯收入)(1)", 14, "(", "不允许调用"),
        ("人均纯收入 = 5", 7, "=", "赋值"),
        ("人均纯收入 ** 2 > 1", 7, "**", "乘方"),
        ("人均纯收入 > 1; 1", 10, ";", "分号"),
        ("x if y else z", 3, "if", "if"),
        ("人均纯收入 > 1 if 1 else 2", 11, "if", "if"),
        ("人均纯收入 is None", 7, "is", "isnull"),
        ("getattr(人均纯收入, 'x')", 1, "getattr", "getattr"),
        ("人均纯收入 > 6000元", 13, "元", "单位"),
        ("(人均纯收入 > 1", 11, "", "右括号"),
        ("人均纯收入 > 1)", 10, ")", "多余的右括号"),
        ("脱贫状态 == '已脱贫", 9, "'", "结束引号"),
        ("人均纯收入 < 1 < 2", 11, "<", "连写"),
        ("人均纯收入 in 5", 10, "5", "列表"),
        ("脱贫状态 in ['a', 户主姓名]", 15, "户主姓名", "列表中只能是"),
        ("脱贫状态 in []", 10, "]", "列表为空"),
        ("人均纯收入 not 5", 11, "5", "not in"),
        ("isnull", 1, "isnull", "是函数"),
        ("isnull(人均纯收入, 纯收入)", 1, "isnull", "1 个参数"),
        ("人均纯收入 & 1", 7, "&", "and"),
        ("人均纯收入<6000且是否危房户", 11, "且是否危房户", "留空格"),
        ("是否危房户 == '是'且人均纯收入 > 1", 13, "且人均纯收入", "留空格"),
        ("", 1, "", "为空"),
    ],
)
def test_rejections_name_position_and_token(text, position, token, reason):
    error = rejected(text)
    assert (error.position, error.token) == (position, token), str(error)
    assert reason in error.reason
    assert str(error).startswith(
        f"第 {position} 个字符 “{token}”：" if token else f"第 {position} 个字符（结尾）："
    )


def test_unknown_field_lists_the_nearest_fields():
    error = rejected("人均收入 < 6000")
    assert (error.position, error.token) == (1, "人均收入")
    assert "未知字段 “人均收入”（households 表）" in error.reason and "人均纯收入" in error.reason
    assert rejected("脱贫状态 == '已脱贫' and 姓名 == '张三'", "households").position == 19
    compile_condition("姓名 == '张三'", "members")  # the field exists in the members table


def test_very_long_expression_is_refused_before_tokenising():
    text = "人均纯收入 > 1 or " * 1000 + "人均纯收入 > 1"
    assert len(text) > 10_000
    error = rejected(text)
    assert error.position == MAX_CHARS + 1 and error.token == text[MAX_CHARS]
    assert "2000" in error.reason
    ok = " or ".join(["人均纯收入 > 1"] * 100)
    assert len(ok) < MAX_CHARS
    compile_condition(ok, H)


def test_ten_thousand_character_expression():
    error = rejected("1" * 10_000)
    assert (error.position, error.token) == (2001, "1")


def test_deep_nesting_is_refused_at_the_fifty_first_level():
    error = rejected("(" * 200 + "人均纯收入 > 1" + ")" * 200)
    assert (error.position, error.token) == (51, "(")
    assert "50" in error.reason
    assert mask("(" * 50 + "人均纯收入 > 6500" + ")" * 50) == mask("人均纯收入 > 6500")
    assert rejected("not " * 60 + "是否危房户").position == 201  # the 51st "not"
    assert rejected("-" * 60 + "人均纯收入 > 1").position == 51
    assert rejected("isnull(" * 60 + "人均纯收入" + ")" * 60).position == 50 * 7 + 7


def test_too_many_tokens():
    error = rejected(" + ".join(["1"] * 300) + " > 0")
    assert (error.position, error.token) == (1001, "1")  # the 501st token
    assert "500" in error.reason


def test_long_flat_chains_do_not_recurse():
    # 249 additions: a flat chain, evaluated in a loop (no deep recursion anywhere)
    text = " + ".join(["人均纯收入"] * 249) + " > 0"
    assert mask(text) == mask("人均纯收入 > 0")


@pytest.mark.parametrize(
    ("text", "position", "token", "reason"),
    [
        ("户主姓名 > 5", 6, ">", "不能比较文本与数值"),
        ("户主姓名 > '张三'", 6, ">", "不能比较大小"),
        ("人均纯收入 == '6000'", 10, "'6000'", "不要加引号"),
        ("人均纯收入 and 纯收入 > 0", 7, "and", "数值"),
        ("人均纯收入 + 1", 7, "+", "是/否"),
        ("year(识别年度) == 2017", 1, "year", "年份字段本身就是数值"),
        ("申请日期 > 2017", 6, ">", "year(日期)"),
        ("申请日期 + 1 > 公告日期", 6, "+", "日期只能相减"),
        ("len(人均纯收入) > 1", 1, "len", "需要文本"),
        ("contains(户主姓名, 户主姓名)", 1, "contains", "第二个参数"),
        ("not 人均纯收入", 1, "not", "须为条件"),
        ("-脱贫状态 == 1", 1, "-", "负号"),
        ("脱贫状态 == '已拖贫'", 9, "'已拖贫'", "已脱贫"),
        ("脱贫状态 in ['未脱贫', '没脱贫']", 17, "'没脱贫'", "不在 脱贫状态 的代码表中"),
        ("是否危房户 == '也许'", 10, "'也许'", "'是' 或 '否'"),
        ("申请日期 > '2017-13-01'", 8, "'2017-13-01'", "不是有效日期"),
        ("脱贫状态 == ''", 9, "''", "isnull"),
        ("家庭人口数 in [1, '2']", 14, "'2'", "不要加引号"),
    ],
)
def test_type_errors_are_found_when_the_rule_is_loaded(text, position, token, reason):
    error = rejected(text)
    assert (error.position, error.token) == (position, token), str(error)
    assert reason in error.reason, error.reason


# ---------------------------------------------------------------------------------------------
# Property: random valid trees, rendered to text, evaluate like a row-by-row Python reference

OR, AND, NOT, CMP, SUM, PROD, NEG, ATOM = range(1, 9)
_OPS = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _leaf_nodes():
    num_leaf = st.one_of(
        st.sampled_from(NUM_FIELDS).map(lambda f: ("field", f)),
        st.sampled_from([0.0, 1.0, 2.0, 2.5, 3.0, 1000.0, 6000.0]).map(lambda v: ("num", v)),
        st.sampled_from(DATE_FIELDS).map(lambda f: ("year", ("field", f))),
        st.just(("len", ("field", "户主姓名"))),
        st.tuples(st.sampled_from(DATE_FIELDS), st.sampled_from(DATE_FIELDS)).map(
            lambda p: ("datediff", ("field", p[0]), ("field", p[1]))
        ),
    )
    return num_leaf


def _paren(node):
    return ("paren", node)


NUM_EXPR = st.recursive(
    _leaf_nodes(),
    lambda child: st.one_of(
        st.tuples(st.just("arith"), st.sampled_from("+-*/"), child, child),
        child.map(lambda n: ("neg", n)),
        child.map(_paren),
    ),
    max_leaves=5,
)
STR_LITERALS = {
    "脱贫状态": ["未脱贫", "已脱贫", "返贫", "已脱贫(享受政策)"],
    "户主姓名": ["张三", "王五", "无名"],
}
DATE_LITERALS = ["2016-03-01", "2017-01-01", "2015-12-31"]


@st.composite
def comparisons(draw):
    pick = draw(st.integers(0, 8))
    if pick == 0:
        return ("cmp", draw(st.sampled_from(list(_OPS))), draw(NUM_EXPR), draw(NUM_EXPR))
    if pick == 1:
        field = draw(st.sampled_from(STR_FIELDS))
        other = draw(
            st.one_of(
                st.sampled_from(STR_LITERALS[field]).map(lambda v: ("str", v)),
                st.sampled_from(STR_FIELDS).map(lambda f: ("field", f)),
            )
        )
        return ("cmp", draw(st.sampled_from(["==", "!="])), ("field", field), other)
    if pick == 2:
        left = ("field", draw(st.sampled_from(DATE_FIELDS)))
        right = draw(
            st.one_of(
                st.sampled_from(DATE_FIELDS).map(lambda f: ("field", f)),
                st.sampled_from(DATE_LITERALS).map(lambda v: ("date", v)),
            )
        )
        return ("cmp", draw(st.sampled_from(list(_OPS))), left, right)
    if pick == 3:
        return ("bfield", draw(st.sampled_from(BOOL_FIELDS)))
    if pick == 4:
        word = draw(st.sampled_from([(True, "true"), (False, "false"), (True, "是"), (False, "否")]))
        op = draw(st.sampled_from(["==", "!="]))
        return ("cmp", op, ("bfield", draw(st.sampled_from(BOOL_FIELDS))), ("bool", *word))
    if pick == 5:
        inner = draw(
            st.one_of(
                NUM_EXPR,
                st.sampled_from(STR_FIELDS + DATE_FIELDS).map(lambda f: ("field", f)),
                st.sampled_from(BOOL_FIELDS).map(lambda f: ("bfield", f)),
            )
        )
        return (draw(st.sampled_from(["isnull", "notnull"])), inner)
    if pick == 6:
        field = draw(st.sampled_from(NUM_FIELDS))
        values = draw(st.lists(st.sampled_from([0.0, 2.0, 3.0, -1.0, 2.5, 6000.0]), min_size=1, max_size=3))
        return ("in", ("field", field), tuple(values), draw(st.booleans()))
    if pick == 7:
        field = draw(st.sampled_from(STR_FIELDS))
        values = draw(st.lists(st.sampled_from(STR_LITERALS[field]), min_size=1, max_size=3))
        return ("in", ("field", field), tuple(values), draw(st.booleans()))
    return ("contains", ("field", "户主姓名"), draw(st.sampled_from(["张", "七七", "五"])))


BOOL_EXPR = st.recursive(
    comparisons(),
    lambda child: st.one_of(
        child.map(lambda n: ("not", n)),
        st.tuples(st.sampled_from(["and", "or"]), child, child),
        child.map(_paren),
    ),
    max_leaves=6,
)


def render(node) -> tuple[str, int]:
    """Text of a tree and its precedence level; parentheses only where the grammar needs them."""
    kind = node[0]

    def at_least(child, level: int) -> str:
        text, own = render(child)
        return f"({text})" if own < level else text

    if kind in ("field", "bfield"):
        return node[1], ATOM
    if kind == "num":
        return repr(node[1]), ATOM
    if kind in ("str", "date"):
        return f"'{node[1]}'", ATOM
    if kind == "bool":
        return node[2], ATOM
    if kind == "paren":
        return f"({render(node[1])[0]})", ATOM
    if kind in ("year", "len", "isnull", "notnull"):
        return f"{kind}({render(node[1])[0]})", ATOM
    if kind == "contains":
        return f"contains({render(node[1])[0]}, '{node[2]}')", ATOM
    if kind == "neg":
        text = at_least(node[1], NEG)
        return f"- {text}", NEG
    if kind == "datediff":
        return f"{render(node[1])[0]} - {render(node[2])[0]}", SUM
    if kind == "arith":
        level = SUM if node[1] in "+-" else PROD
        return f"{at_least(node[2], level)} {node[1]} {at_least(node[3], level + 1)}", level
    if kind == "cmp":
        return f"{at_least(node[2], SUM)} {node[1]} {at_least(node[3], SUM)}", CMP
    if kind == "in":
        items = ", ".join(
            f"'{v}'" if isinstance(v, str) else (f"-{-v!r}" if v < 0 else repr(v)) for v in node[2]
        )
        return f"{at_least(node[1], SUM)} {'not in' if node[3] else 'in'} [{items}]", CMP
    if kind == "not":
        return f"not {at_least(node[1], NOT)}", NOT
    level = AND if node[0] == "and" else OR
    return f"{at_least(node[1], level)} {node[0]} {at_least(node[2], level + 1)}", level


def reference(node, row):
    """Row-by-row meaning: None is unknown; and/or/not are Kleene's; division by zero is unknown."""
    kind = node[0]
    if kind in ("field", "bfield"):
        return row[node[1]]
    if kind in ("num", "str"):
        return node[1]
    if kind == "date":
        return dt.date.fromisoformat(node[1])
    if kind == "bool":
        return node[1]
    if kind == "paren":
        return reference(node[1], row)
    if kind in ("isnull", "notnull"):
        return (reference(node[1], row) is None) == (kind == "isnull")
    value = reference(node[1], row) if kind in ("year", "len", "neg", "not") else None
    if kind in ("year", "len", "neg", "not"):
        if value is None:
            return None
        return {
            "year": lambda: value.year,
            "len": lambda: len(value),
            "neg": lambda: -value,
            "not": lambda: not value,
        }[kind]()
    if kind == "contains":
        text = reference(node[1], row)
        return None if text is None else node[2] in text
    if kind == "datediff":
        a, b = reference(node[1], row), reference(node[2], row)
        return None if a is None or b is None else (a - b).days
    if kind in ("arith", "cmp"):
        a, b = reference(node[2], row), reference(node[3], row)
        if a is None or b is None:
            return None
        if kind == "cmp":
            return _OPS[node[1]](a, b)
        if node[1] == "/":
            return None if b == 0 else a / b
        return {"+": a + b, "-": a - b, "*": a * b}[node[1]]
    if kind == "in":
        value = reference(node[1], row)
        return None if value is None else (value in node[2]) != node[3]
    a, b = reference(node[1], row), reference(node[2], row)
    if kind == "and":
        return False if a is False or b is False else (None if a is None or b is None else True)
    return True if a is True or b is True else (None if a is None or b is None else False)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(BOOL_EXPR)
def test_property_compiled_conditions_match_a_row_by_row_reference(tree):
    text, _ = render(tree)
    expected = rows_where(lambda row: reference(tree, row) is True)
    assert mask(text) == expected, text


# ---------------------------------------------------------------------------------------------
# Message templates


def test_message_template_formats_each_type_and_escapes_braces():
    frame = typed_frame()
    template = parse_template(
        "{{编号}} {户主姓名}：{人均纯收入} 元，{家庭人口数} 人，{申请日期}，危房 {是否危房户}", H
    )
    assert template.fields == ("户主姓名", "人均纯收入", "家庭人口数", "申请日期", "是否危房户")
    rows = pd.Series([True, True] + [False] * 6, index=frame.index)
    assert template.render(frame, rows).tolist() == [
        "{编号} 张三：5000.00 元，2 人，2016-03-01，危房 是",
        "{编号} （空）：7000.00 元，0 人，（空），危房 否",
    ]
    assert parse_template("没有字段 }}", H).render(frame, rows) == "没有字段 }"


@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        ("收入 {人均收入} 元", 4, "人均纯收入"),
        ("收入 {人均纯收入 元", 4, "没有对应的 }"),
        ("收入 } 元", 4, "多余的 }"),
    ],
)
def test_message_template_errors(text, position, reason):
    with pytest.raises(ExpressionError) as info:
        parse_template(text, H)
    assert info.value.position == position and reason in info.value.reason


# ---------------------------------------------------------------------------------------------
# Rule files


def write_rules(tmp_path: Path, body: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(body, "utf-8")
    return path


GOOD = """
[[rule]]
code = "XD101"
title = "收入低"
table = "households"
when = "人均纯收入 < 6000"
"""


def test_a_minimal_rule_gets_defaults(tmp_path):
    (rule,) = load_rule_file(write_rules(tmp_path, GOOD))
    assert (rule.code, rule.family, rule.severity, rule.needs) == (
        "XD101",
        "自定义",
        "warning",
        ("households",),
    )
    assert rule.columns == {"households": ("人均纯收入",)}
    assert "人均纯收入 < 6000" in rule.what and rule.why and "XD101" in rule.example


def test_the_error_names_file_rule_index_code_position_and_token(tmp_path):
    path = write_rules(
        tmp_path,
        GOOD + GOOD.replace("XD101", "XD102").replace("人均纯收入 < 6000", "(人均纯收入 >= 纯收入.real)"),
    )
    with pytest.raises(ConfigError) as info:
        load_rule_file(path)
    assert str(info.value) == f"{path} 规则 #2 (XD102) when 第 14 个字符 “.”：不允许属性访问"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (("when =", "whne ="), "未知的键 “whne”"),
        (('table = "households"', 'table = "households"\nlambda = "x"'), "未知的键 “lambda”"),
        (("when =", "# when ="), "缺少必填的键 “when”"),
        (('code = "XD102"', 'code = "xd1"'), "2–4 个大写字母加 3 位数字"),
        (('table = "households"', 'table = "户表"'), "households、members"),
        (('title = "收入低"', 'title = "收入低"\nseverity = "fatal"'), "error、warning 或 info"),
        (('title = "收入低"', "title = 5"), "须为文本"),
        (('title = "收入低"', 'title = "收入低"\ncolumn = "人均收入"'), "column：未知字段 “人均收入”"),
        (
            ('title = "收入低"', 'title = "收入低"\nmessage = "收入 {收入} 元"'),
            "message 第 4 个字符 “{收入}”",
        ),
    ],
)
def test_bad_keys_name_the_key_file_and_rule(tmp_path, edit, expected):
    body = GOOD + GOOD.replace("XD101", "XD102").replace(*edit)
    with pytest.raises(ConfigError) as info:
        load_rule_file(write_rules(tmp_path, body))
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'rules.toml'} 规则 #2"), message
    assert expected in message, message


@pytest.mark.parametrize(
    ("edit", "expected"),
    [  # one refusal from each stage: lexer, parser, type checker, message template
        (
            ("人均纯收入 < 6000", "人均纯收入 > 6000元"),
            "when 第 13 个字符 “元”：数字后不能紧跟文字（单位不写，",
        ),
        (("人均纯收入 < 6000", "(人均纯收入 > 1"), "when 第 11 个字符（结尾）：缺少右括号 )"),
        (("人均纯收入 < 6000", "户主姓名 > 5"), "when 第 6 个字符 “>”：不能比较文本与数值（数字不加引号，"),
        (
            ('title = "收入低"', 'title = "收入低"\nmessage = "收入 {人均收入} 元"'),
            "message 第 4 个字符 “{人均收入}”：未知字段 “人均收入”（households 表）；最接近的字段：人均纯收入",
        ),
    ],
)
def test_each_stage_reports_its_position_through_the_registry(tmp_path, edit, expected):
    path = write_rules(tmp_path, GOOD.replace(*edit))
    with pytest.raises(ConfigError) as info:
        Registry().load_path(path)
    assert str(info.value).startswith(f"{path} 规则 #1 (XD101) {expected}"), str(info.value)


def test_declarative_modules_import_only_earlier_stages():
    # lexer <- parser <- compiler <- loader: a later stage may use an earlier one, never the reverse
    import ast

    import fupin_audit.engine.declarative as package

    order = ["errors", "lexer", "nodes", "parser", "values", "compiler", "template", "loader"]
    folder = Path(package.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.py") if p.stem != "__init__") == sorted(order)
    for index, name in enumerate(order):
        tree = ast.parse((folder / f"{name}.py").read_text("utf-8"))
        imported = {
            node.module.rsplit(".", 1)[-1]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package.__name__ + ".")
        }
        assert imported <= set(order[:index]), (name, imported - set(order[:index]))


def test_codes_are_ascii_capitals_and_digits(tmp_path):
    for code in ("XD٠٠١", "XD0001", "X001", "XDXDX001", "XD 001"):
        with pytest.raises(ConfigError, match="2–4 个大写字母加 3 位数字"):
            load_rule_file(write_rules(tmp_path, GOOD.replace("XD101", code)))


def test_data_of_an_unexpected_type_fails_the_rule_not_the_run():
    from fupin_audit.engine.declarative import DeclarativeRuleError, RuleSpec, declared_rule

    spec = RuleSpec(code="XD201", title="危房", table="households", when="是否危房户")
    rule = declared_rule(spec, "test")

    class Context:  # a frame whose yes/no column holds free text (not what validation produces)
        def frame(self, kind, *fields):
            return pd.DataFrame({"是否危房户": ["也许", "大概"]})

    with pytest.raises(DeclarativeRuleError, match="XD201"):
        rule(Context())


def test_unknown_top_level_key_and_missing_rule_tables(tmp_path):
    with pytest.raises(ConfigError, match="未知的顶层键 “import”"):
        load_rule_file(write_rules(tmp_path, 'import = "os"\n' + GOOD))
    with pytest.raises(ConfigError, match=r"写成了 \[\[rules\]\]"):
        load_rule_file(write_rules(tmp_path, GOOD.replace("[[rule]]", "[[rules]]")))
    with pytest.raises(ConfigError, match="不是有效的 TOML"):
        load_rule_file(write_rules(tmp_path, "[[rule]\ncode = 1"))


def test_duplicate_codes_within_a_file_and_against_built_in_rules(tmp_path):
    with pytest.raises(ConfigError, match="编号 XD101 与规则 #1 重复"):
        load_rule_file(write_rules(tmp_path, GOOD + GOOD))
    clash = write_rules(tmp_path, GOOD.replace("XD101", "DQ011"), "clash.toml")
    with pytest.raises(ConfigError, match="规则编号 DQ011 重复"):
        default_registry([clash])


def test_registry_loads_toml_files_and_folders(tmp_path):
    registry = Registry()
    registry.load_path(EXAMPLE)
    assert [r.code for r in registry] == ["XD001", "XD002", "XD003", "XD004"]
    assert registry.origin("XD001") == str(EXAMPLE)
    # the shipped folder: .py modules, this .toml file, and province_override.toml (--config, left alone)
    folder = Registry()
    folder.load_path(EXAMPLE.parent)
    assert {"XD001", "XD004", "XQ001"} <= {r.code for r in folder}
    (tmp_path / "a.toml").write_text(GOOD, "utf-8")
    (tmp_path / "b.toml").write_text(GOOD.replace("[[rule]]", "[[rules]]").replace("XD101", "XD102"), "utf-8")
    with pytest.raises(ConfigError, match=r"b\.toml"):
        Registry().load_path(tmp_path)
    (tmp_path / "b.toml").unlink()
    (tmp_path / "notes.txt").write_text("x", "utf-8")
    only = Registry()
    only.load_path(tmp_path)
    assert [r.code for r in only] == ["XD101"]
    with pytest.raises(ConfigError, match=r"\.py.*\.toml"):
        Registry().load_path(tmp_path / "notes.txt")


def test_example_file_rules_are_documented():
    for rule in load_rule_file(EXAMPLE):
        assert rule.title and rule.what and rule.why and rule.example and rule.family == "自定义"
        assert "满足条件" not in rule.what  # the example writes its own docs


# ---------------------------------------------------------------------------------------------
# End to end


def _book(tmp_path: Path) -> Path:
    households = [
        household("3408260010010001", 脱贫状态="已脱贫", 人均纯收入=5999, 纯收入=11998),
        household("3408260010010002", 脱贫状态="已脱贫(享受政策)", 人均纯收入=6000, 纯收入=12000),
        household("3408260010010003", 脱贫状态="未脱贫", 人均纯收入=5000, 纯收入=10000),
        household("3408260010010004", 脱贫状态="已脱贫", 人均纯收入=None, 纯收入=None),
        household("3408260010010005", 脱贫状态="已脱贫(不再享受政策)", 人均纯收入="4500.5", 纯收入=9001),
    ]
    measures = [
        {"县": "宿松县", "乡": "孚玉镇", "村": "城西村", "户编号": "3408260010010003", "措施类型": "慰问救助",
         "金额": 2000, "内容": "春节慰问金", "日期": "2017-01-20"},
        {"县": "宿松县", "乡": "孚玉镇", "村": "城西村", "户编号": "3408260010010003", "措施类型": "慰问",
         "金额": 1999, "内容": "慰问品", "日期": "2017-02-20"},
        {"县": "宿松县", "乡": "孚玉镇", "村": "城西村", "户编号": "3408260010010003", "措施类型": "产业帮扶",
         "金额": 5000, "内容": "养羊", "日期": "2017-03-20"},
    ]  # fmt: skip
    return write_xlsx(tmp_path / "book.xlsx", {"户信息": households, "帮扶措施": measures})


def test_audit_runs_the_example_rules(tmp_path):
    path = _book(tmp_path)
    result = audit([path], rule_paths=[EXAMPLE], select=["XD001"], year=2017)
    findings = result.findings
    assert findings["rule"].tolist() == ["XD001", "XD001"]
    assert findings["row"].tolist() == [2, 6]
    assert findings["household_id"].tolist() == ["3408260010010001", "3408260010010005"]
    assert findings["message"].tolist() == [
        "已脱贫户（已脱贫）人均纯收入 5999.00 元，低于本县跟踪线 6000 元",
        "已脱贫户（已脱贫(不再享受政策)）人均纯收入 4500.50 元，低于本县跟踪线 6000 元",
    ]
    assert set(findings["column"]) == {"人均纯收入"} and findings["value"].tolist() == ["5999", "4500.5"]
    assert set(findings["severity"]) == {"warning"} and set(findings["family"]) == {"自定义"}

    measures = audit([path], rule_paths=[EXAMPLE], select=["XD004"], year=2017).findings
    assert measures["message"].tolist() == ["慰问救助一次发放 2000.00 元（≥ 2000 元），内容：春节慰问金"]
    assert measures["table"].tolist() == ["measures"] and measures["row"].tolist() == [2]

    everything = audit([path], rule_paths=[EXAMPLE], select=["XD"], year=2017, severity=["XD002=error"])
    outcomes = {o.code: (o.status, o.reason) for o in everything.outcomes}
    assert outcomes["XD003"] == ("skipped", "households 表缺少列 帮扶责任人")
    assert outcomes["XD002"] == ("ran", "")


def test_xd003_uses_isnull_on_a_present_column(tmp_path):
    rows = [
        household("3408260010010001", 人均纯收入=12000, 纯收入=24000, 帮扶责任人=None),
        household("3408260010010002", 人均纯收入=12000, 纯收入=24000, 帮扶责任人="李干部"),
        household("3408260010010003", 人均纯收入=10000, 纯收入=20000, 帮扶责任人=None),
    ]
    path = write_xlsx(tmp_path / "h.xlsx", {"户信息": rows})
    findings = audit([path], rule_paths=[EXAMPLE], select=["XD003"], year=2017).findings
    assert findings["household_id"].tolist() == ["3408260010010001"]
    assert findings["message"].tolist() == ["未脱贫户人均纯收入 12000.00 元（> 10000 元），且帮扶责任人为空"]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_check_and_explain_with_a_toml_rule_file(tmp_path):
    path = _book(tmp_path)
    result = _cli("check", str(path), "--rules", str(EXAMPLE), "--select", "XD", "--format", "jsonl")
    assert result.returncode == 0, result.stderr  # warnings only
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(r["rule"] for r in records) == ["XD001", "XD001", "XD004"]

    explained = _cli("explain", "XD001", "--rules", str(EXAMPLE))
    assert explained.returncode == 0, explained.stderr
    (xd001,) = [r for r in load_rule_file(EXAMPLE) if r.code == "XD001"]
    assert xd001.what[:20] in explained.stdout and str(EXAMPLE) in explained.stdout


def test_cli_reports_a_bad_rule_file_in_one_line(tmp_path):
    bad = write_rules(tmp_path, GOOD.replace("人均纯收入 < 6000", "__import__('os').system('echo pwned')"))
    path = _book(tmp_path)
    result = _cli("check", str(path), "--rules", str(bad), "--select", "XD")
    assert result.returncode == 2
    assert "规则 #1 (XD101) when 第 1 个字符 “__import__”" in result.stderr
    assert "pwned" not in result.stdout + result.stderr.replace("echo pwned", "")
