"""Type-check a condition against its table's schema and compile it to vectorised pandas.

Checking and compiling are one walk of the tree: each node yields its type and a function from the
table's frame to a Series, so a rule file is fully checked when it is loaded and never at run time.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fupin_audit.engine.declarative.errors import ExpressionError, nearest
from fupin_audit.engine.declarative.lexer import SPACED_KEYWORDS, SPACING
from fupin_audit.engine.declarative.nodes import (
    Arithmetic,
    Call,
    Comparison,
    FieldRef,
    Literal_,
    Logic,
    Membership,
    Node,
    Step,
    Unary,
)
from fupin_audit.engine.declarative.parser import parse_condition
from fupin_audit.engine.declarative.values import (
    BOOL,
    COMPARE,
    DATE,
    KIND_TYPES,
    NUM,
    STR,
    Evaluator,
    Typed,
    boolean,
    constant,
    literal_type,
    plain,
    reader,
)
from fupin_audit.schema.codes import code_list
from fupin_audit.schema.fields import FieldProblem, Spec, is_empty, parse_scalar
from fupin_audit.schema.models import MODELS


class Compiler:
    """One walk of a tree for one table: each node's type and evaluator, refusals at the node's token."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.specs: dict[str, Spec] = MODELS[table].specs()
        self.fields: list[str] = []

    @staticmethod
    def fail(node: Node | Step, reason: str) -> ExpressionError:
        return ExpressionError(node.offset, node.text, reason)

    def unknown_field(self, node: FieldRef) -> ExpressionError:
        if node.name[0] in SPACED_KEYWORDS and node.name[1:] in self.specs:
            return self.fail(node, SPACING)
        close = nearest(node.name, tuple(self.specs))
        hint = f"最接近的字段：{'、'.join(close)}" if close else f"全部字段见 fupin-audit schema {self.table}"
        return self.fail(node, f"未知字段 “{node.name}”（{self.table} 表）；{hint}")

    def compile(self, node: Node) -> Typed:
        if isinstance(node, Literal_):
            return constant(node.value)
        if isinstance(node, FieldRef):
            return self.field(node)
        if isinstance(node, Unary):
            return self.unary(node)
        if isinstance(node, Logic):
            return self.logic(node)
        if isinstance(node, Membership):
            return self.membership(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Comparison):
            return self.comparison(node)
        return self.arithmetic(node)

    def field(self, node: FieldRef) -> Typed:
        spec = self.specs.get(node.name)
        if spec is None:
            raise self.unknown_field(node)
        if node.name not in self.fields:
            self.fields.append(node.name)
        kind = KIND_TYPES[spec.kind]
        return Typed(kind, reader(node.name, kind))

    def unary(self, node: Unary) -> Typed:
        operand = self.compile(node.operand)
        fn = operand.fn
        if node.op == "not":
            if operand.type != BOOL:
                raise self.fail(node, f"not 之后须为条件（是/否），这里是{operand.type}")
            return Typed(BOOL, lambda frame: ~fn(frame))
        if operand.type != NUM:
            raise self.fail(node, f"负号只用于数值，这里是{operand.type}")
        return Typed(NUM, lambda frame: -fn(frame))

    def logic(self, node: Logic) -> Typed:
        parts = []
        for item in node.items:
            typed = self.compile(item)
            if typed.type != BOOL:
                raise self.fail(node, f"{node.text} 两边须为条件（是/否），有一边是{typed.type}")
            parts.append(typed.fn)
        both = node.op == "and"

        def evaluate(frame: pd.DataFrame) -> pd.Series:
            result = parts[0](frame)
            for part in parts[1:]:
                result = (result & part(frame)) if both else (result | part(frame))
            return result

        return Typed(BOOL, evaluate)

    def literal_value(self, literal: Literal_, other: Node, other_type: str) -> object:
        """A literal's value; compared with a field, a quoted text takes the field's type (code label,
        是/否, date) and must be valid for it."""
        if not isinstance(literal.value, str) or not isinstance(other, FieldRef):
            return literal.value
        spec = self.specs[other.name]
        if other_type == NUM:
            raise self.fail(literal, f"{other.name} 是数值，数字不要加引号")
        empty = f"空文本不会等于任何值；判断为空请用 isnull({other.name})"
        if is_empty(literal.value):
            raise self.fail(literal, empty)
        try:
            value = parse_scalar(spec, other.name, literal.value)
        except FieldProblem:
            raise self.fail(literal, _bad_literal(spec, other.name, literal.value, other_type)) from None
        if value is None:
            raise self.fail(literal, empty)
        return pd.Timestamp(value) if other_type == DATE else value

    def operands(self, left: Node, right: Node) -> tuple[Typed, Typed]:
        if isinstance(left, Literal_) and not isinstance(right, Literal_):
            right_t = self.compile(right)
            return constant(self.literal_value(left, right, right_t.type)), right_t
        left_t = self.compile(left)
        if isinstance(right, Literal_):
            return left_t, constant(self.literal_value(right, left, left_t.type))
        return left_t, self.compile(right)

    def comparison(self, node: Comparison) -> Typed:
        left, right = self.operands(node.left, node.right)
        if left.type != right.type:
            raise self.fail(node, f"不能比较{left.type}与{right.type}" + _type_hint(left.type, right.type))
        if node.op not in ("==", "!=") and left.type not in (NUM, DATE):
            raise self.fail(node, f"{left.type}不能比较大小（{node.op} 只用于数值和日期）")
        op, kind, lf, rf = COMPARE[node.op], left.type, left.fn, right.fn

        def evaluate(frame: pd.DataFrame) -> pd.Series:
            a, b = lf(frame), rf(frame)
            missing = a.isna().to_numpy() | b.isna().to_numpy()
            raw = op(plain(a, kind), plain(b, kind))
            return boolean(np.asarray(raw, dtype=bool), missing, frame.index)

        return Typed(BOOL, evaluate)

    def arithmetic(self, node: Arithmetic) -> Typed:
        first = self.compile(node.first)
        kind = first.type
        steps: list[tuple[str, Evaluator, bool]] = []  # (op, operand, dates → days)
        previous: Node = node.first
        for step in node.steps:
            if isinstance(step.operand, Literal_):
                operand = constant(self.literal_value(step.operand, previous, kind))
            else:
                operand = self.compile(step.operand)
            days = step.op == "-" and kind == DATE and operand.type == DATE
            if not days and (kind != NUM or operand.type != NUM):
                hint = "（日期只能相减，得到天数；年份用 year(日期)）" if DATE in (kind, operand.type) else ""
                raise self.fail(step, f"{step.op} 只用于数值，这里是{kind} {step.op} {operand.type}{hint}")
            steps.append((step.op, operand.fn, days))
            kind, previous = NUM, step.operand
        head = first.fn

        def evaluate(frame: pd.DataFrame) -> pd.Series:
            a = head(frame)
            for op, fn, days in steps:
                b = fn(frame)
                if days:
                    a = (a - b).dt.days
                elif op == "+":
                    a = a + b
                elif op == "-":
                    a = a - b
                elif op == "*":
                    a = a * b
                else:
                    a = a / b.where(b != 0)
                a = a.astype("float64")
            return a

        return Typed(NUM, evaluate)

    def membership(self, node: Membership) -> Typed:
        operand = self.compile(node.operand)
        values = []
        for item in node.items:
            value = self.literal_value(item, node.operand, operand.type)
            if literal_type(value) != operand.type:
                reason = f"列表项是{literal_type(value)}，{node.text} 左边是{operand.type}"
                raise self.fail(item, reason + _type_hint(operand.type, literal_type(value)))
            values.append(value)
        fn, negated = operand.fn, node.negated

        def evaluate(frame: pd.DataFrame) -> pd.Series:
            a = fn(frame)
            found = a.isin(values).to_numpy(dtype=bool)
            return boolean(~found if negated else found, a.isna().to_numpy(), frame.index)

        return Typed(BOOL, evaluate)

    def call(self, node: Call) -> Typed:
        args = [self.compile(arg) for arg in node.args]
        first = args[0].fn
        if node.name in ("isnull", "notnull"):
            want_null = node.name == "isnull"

            def nullness(frame: pd.DataFrame) -> pd.Series:
                empty = first(frame).isna().to_numpy()
                return pd.Series(pd.array(empty if want_null else ~empty, dtype="boolean"), index=frame.index)

            return Typed(BOOL, nullness)
        if node.name == "year":
            if args[0].type != DATE:
                hint = "；年份字段本身就是数值，直接比较即可" if args[0].type == NUM else ""
                raise self.fail(node, f"year() 需要日期，这里是{args[0].type}{hint}")
            return Typed(NUM, lambda frame: first(frame).dt.year.astype("float64"))
        if args[0].type != STR:
            raise self.fail(node, f"{node.name}() 需要文本，这里是{args[0].type}")
        if node.name == "len":
            return Typed(NUM, lambda frame: _texts(first(frame)).str.len().astype("float64"))
        needle = node.args[1]
        if not isinstance(needle, Literal_) or not isinstance(needle.value, str) or not needle.value:
            raise self.fail(node, "contains() 的第二个参数须为引号中的文本，如 contains(健康状况, '残疾')")
        text = unicodedata.normalize("NFKC", needle.value)

        def contains(frame: pd.DataFrame) -> pd.Series:
            values = first(frame)
            found = _texts(values).str.contains(text, regex=False).fillna(False)
            return boolean(found.to_numpy(dtype=bool), values.isna().to_numpy(), frame.index)

        return Typed(BOOL, contains)


def _texts(values: pd.Series) -> pd.Series:
    """A text operand as pandas' arrow text (a column kernel per string function, not a Python call
    per row); NA stays NA."""
    return values.astype("str")


def _bad_literal(spec: Spec, name: str, text: str, kind: str) -> str:
    if kind == DATE:
        return f"{name} 是日期，“{text}” 不是有效日期（写作 '2017-06-30'）"
    if kind == BOOL:
        return f"{name} 是 是/否 字段，“{text}” 应为 '是' 或 '否'（或 true/false）"
    values = code_list(spec.codelist or "").values
    close = nearest(text, values)
    hint = f"最接近的：{'、'.join(close)}" if close else f"有效值：{'、'.join(values)}"
    return f"“{text}” 不在 {name} 的代码表中；{hint}"


def _type_hint(a: str, b: str) -> str:
    kinds = {a, b}
    if kinds == {NUM, STR}:
        return "（数字不加引号，文本字段的值要加引号）"
    if kinds == {NUM, DATE}:
        return "（年份请用 year(日期)）"
    return ""


@dataclass(frozen=True)
class Condition:
    """A compiled condition over one table: `evaluate(frame)` is the boolean mask of matching rows."""

    text: str
    table: str
    tree: Node
    fields: tuple[str, ...]
    _fn: Evaluator

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        result = self._fn(frame)
        return result.fillna(False).astype(bool)


def compile_condition(text: str, table: str) -> Condition:
    """Parse, type-check against the table's schema and compile; ExpressionError when rejected."""
    if table not in MODELS:
        raise ValueError(f"unknown table {table!r}")
    tree = parse_condition(text)
    compiler = Compiler(table)
    typed = compiler.compile(tree)
    if typed.type != BOOL:
        raise ExpressionError(
            tree.offset, tree.text, f"条件的结果须为是/否（比较或逻辑运算），这里是{typed.type}"
        )
    return Condition(text, table, tree, tuple(compiler.fields), typed.fn)
