"""Recursive-descent parser: condition text to the tree of nodes.py, grammar in the package docstring.

Hand-written rather than generated so that each refusal says what was expected at that point
(缺少右括号, 列表为空, 比较不能连写, …) and nesting is limited where it happens. A Lark (LALR)
version was tried: its grammar is 14 lines, but giving the same messages needed a token classifier,
a look at Lark's parser stack to recover the context LALR merges away, and checks around function
names, so the module came out no shorter (271 lines, this one about 250) and its messages would
hang on Lark's internal parse tables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fupin_audit.engine.declarative.errors import ExpressionError
from fupin_audit.engine.declarative.lexer import SPACED_KEYWORDS, SPACING, Lexer, Token
from fupin_audit.engine.declarative.nodes import (
    COMPARISONS,
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

MAX_CHARS = 2000
MAX_DEPTH = 50
FUNCTIONS = {"isnull": 1, "notnull": 1, "year": 1, "len": 1, "contains": 2}


class Parser:
    def __init__(self, source: str) -> None:
        if len(source) > MAX_CHARS:
            raise ExpressionError(
                MAX_CHARS, source[MAX_CHARS], f"条件超过 {MAX_CHARS} 个字符（共 {len(source)} 个）"
            )
        if not source.strip():
            raise ExpressionError(0, "", "条件为空")
        self.lexer = Lexer(source)
        self.tok = self.lexer.next()
        self.depth = 0

    # -- helpers

    def advance(self) -> Token:
        token = self.tok
        self.tok = self.lexer.next()
        return token

    def at(self, kind: str, value: Any = None) -> bool:
        return self.tok.kind == kind and (value is None or self.tok.value == value)

    def enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(token.offset, token.text, f"嵌套超过 {MAX_DEPTH} 层")

    def leave(self) -> None:
        self.depth -= 1

    def expect(self, value: str, reason: str) -> Token:
        if not self.at("op", value):
            raise self.unexpected(reason)
        return self.advance()

    def unexpected(self, reason: str | None = None) -> ExpressionError:
        tok = self.tok
        if tok.kind == "end":
            return ExpressionError(tok.offset, "", reason or "条件不完整")
        if reason is None:
            if tok.kind == "op" and tok.value == ")":
                reason = "多余的右括号"
            elif tok.kind == "name" and tok.value[0] in SPACED_KEYWORDS:
                reason = SPACING
            elif tok.kind == "op" and tok.value in COMPARISONS:
                reason = "比较不能连写（a < b < c 请写作 a < b and b < c）"
            else:
                reason = "此处应为运算符（and、or、比较符、+ − × ÷）"
        return ExpressionError(tok.offset, tok.text, reason)

    # -- grammar

    def parse(self) -> Node:
        node = self.or_()
        if not self.at("end"):
            raise self.unexpected()
        return node

    def or_(self) -> Node:
        return self._logic("or", self.and_)

    def and_(self) -> Node:
        return self._logic("and", self.not_)

    def _logic(self, op: str, operand: Callable[[], Node]) -> Node:
        first = operand()
        items = [first]
        token = None
        while self.at("kw", op):
            token = token or self.tok
            self.advance()
            items.append(operand())
        if token is None:
            return first
        return Logic(op, tuple(items), token.offset, token.text)

    def not_(self) -> Node:
        if self.at("kw", "not"):
            token = self.advance()
            self.enter(token)
            operand = self.not_()
            self.leave()
            return Unary("not", operand, token.offset, token.text)
        return self.comparison()

    def comparison(self) -> Node:
        left = self.sum_()
        if self.at("op") and self.tok.value in COMPARISONS:
            token = self.advance()
            right = self.sum_()
            node: Node = Comparison(token.value, left, right, token.offset, token.text)
        elif self.at("kw", "in") or self.at("kw", "not"):
            token = self.advance()
            negated = token.value == "not"
            if negated and not self.at("kw", "in"):
                raise self.unexpected("not 在这里只能用作 not in")
            if negated:
                self.advance()
            node = Membership(left, self.list_(), negated, token.offset, token.text)
        else:
            return left
        if (self.at("op") and self.tok.value in COMPARISONS) or self.at("kw", "in"):
            raise self.unexpected("比较不能连写（a < b < c 请写作 a < b and b < c）")
        return node

    def sum_(self) -> Node:
        return self._chain(("+", "-"), self.product)

    def product(self) -> Node:
        return self._chain(("*", "/"), self.unary)

    def _chain(self, ops: tuple[str, str], operand: Callable[[], Node]) -> Node:
        first = operand()
        steps: list[Step] = []
        while self.at("op") and self.tok.value in ops:
            token = self.advance()
            steps.append(Step(token.value, operand(), token.offset, token.text))
        if not steps:
            return first
        return Arithmetic(first, tuple(steps), steps[0].offset, steps[0].text)

    def unary(self) -> Node:
        if self.at("op", "-"):
            token = self.advance()
            self.enter(token)
            operand = self.unary()
            self.leave()
            return Unary("-", operand, token.offset, token.text)
        if self.at("op", "+"):
            raise self.unexpected("不需要正号 +")
        return self.postfix(self.primary())

    def postfix(self, node: Node) -> Node:
        if self.at("op", "("):
            raise self.unexpected("不允许调用（只有函数 " + "、".join(FUNCTIONS) + " 可以调用）")
        if self.at("op", "["):
            raise self.unexpected("不允许下标")
        return node

    def primary(self) -> Node:
        tok = self.tok
        if tok.kind in ("num", "str", "bool"):
            self.advance()
            return Literal_(tok.value, tok.offset, tok.text)
        if tok.kind == "name":
            self.advance()
            if self.at("op", "("):
                return self.call(tok)
            if tok.value in FUNCTIONS:
                raise ExpressionError(tok.offset, tok.text, f"{tok.value} 是函数，应写作 {tok.value}(…)")
            return FieldRef(tok.value, tok.offset, tok.text)
        if tok.kind == "op" and tok.value == "(":
            self.advance()
            self.enter(tok)
            node = self.or_()
            self.expect(")", "缺少右括号 )")
            self.leave()
            return node
        if tok.kind == "op" and tok.value == "[":
            raise self.unexpected("方括号列表只能用在 in / not in 之后")
        if tok.kind == "kw" and tok.value in ("and", "or", "in"):
            raise self.unexpected(f"{tok.text} 前缺少条件")
        raise self.unexpected("此处应为字段、数字、'文本' 或 (")

    def call(self, name: Token) -> Node:
        if name.value not in FUNCTIONS:
            raise ExpressionError(
                name.offset, name.text, f"不允许调用函数 {name.value}（可用的函数：{'、'.join(FUNCTIONS)}）"
            )
        opening = self.advance()
        self.enter(opening)
        args = [self.or_()]
        while self.at("op", ","):
            self.advance()
            args.append(self.or_())
        self.expect(")", "缺少右括号 ) 或逗号 ,")
        self.leave()
        if len(args) != FUNCTIONS[name.value]:
            raise ExpressionError(
                name.offset,
                name.text,
                f"{name.value} 需要 {FUNCTIONS[name.value]} 个参数，给了 {len(args)} 个",
            )
        return Call(name.value, tuple(args), name.offset, name.text)

    def list_(self) -> tuple[Literal_, ...]:
        opening = self.tok
        if not self.at("op", "["):
            raise self.unexpected("in 之后应为列表，如 ['因病', '因残']")
        self.advance()
        self.enter(opening)
        items: list[Literal_] = []
        while not self.at("op", "]"):
            items.append(self.list_item())
            if self.at("op", ","):
                self.advance()
            elif not self.at("op", "]"):
                raise self.unexpected("列表项之间应为逗号 ,")
        if not items:
            raise self.unexpected("列表为空")
        self.advance()
        self.leave()
        return tuple(items)

    def list_item(self) -> Literal_:
        tok = self.tok
        if tok.kind in ("str", "bool", "num"):
            self.advance()
            return Literal_(tok.value, tok.offset, tok.text)
        if self.at("op", "-"):
            self.advance()
            if self.at("num"):
                number = self.advance()
                return Literal_(-number.value, tok.offset, tok.text + number.text)
        raise self.unexpected("列表中只能是数字、'文本' 或 true/false")


def parse_condition(source: str) -> Node:
    """The syntax tree of a condition, or ExpressionError at the first offending token."""
    return Parser(source).parse()
