"""Declarative rules: TOML `[[rule]]` tables whose `when` condition is a small expression language.

For auditors who do not write Python. A rule file (`--rules my_rules.toml`) looks like::

    [[rule]]
    code = "XD001"                      # 2–4 capital letters + 3 digits
    title = "脱贫户人均纯收入低于 6000 元"
    table = "households"                # households | members | villages | measures | helpers | rosters
    when = "脱贫状态 == '已脱贫' and 人均纯收入 < 6000"
    message = "人均纯收入 {人均纯收入} 元低于 6000 元"   # optional; {字段} = the row's value
    severity = "warning"                # optional: error | warning (default) | info
    family = "自定义"                    # optional (default 自定义)
    column = "人均纯收入"                 # optional: the field a finding points at
    what = "…"; why = "…"; example = "…"  # optional docs for `fupin-audit explain`

`example` may instead be a table of records that a test runs through the rule (engine.rule.Example)::

    [rule.example]
    text = "已脱贫户人均纯收入 5999 元 → XD001"
    near_miss_text = "人均纯收入 6000 元"
    records = { households = [{ "户编号" = "H1", "脱贫状态" = "已脱贫", "人均纯收入" = 5999 }] }
    near_miss = { households = { 0 = { "人均纯收入" = 6000 } } }

Any other key is an error naming the key, the file and the rule's index.

The condition is tokenised and parsed here by a recursive-descent parser; it is never handed to
Python's `eval`, `compile`, `ast` or to `DataFrame.eval/query`. The tree is type-checked against the
table's schema when the file is loaded, then compiled to vectorised pandas operations. Grammar
(lowest precedence first)::

    expr       := or
    or         := and (("or" | "或") and)*
    and        := not (("and" | "且") not)*
    not        := ("not" | "非") not | comparison
    comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "in" list]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := number | string | boolean | field | function "(" expr ("," expr)* ")" | "(" expr ")"
    list       := "[" literal ("," literal)* [","] "]"       literal := ["-"] number | string | boolean

Numbers are `6000`, `0.5`, `.5` (no exponent, no unit); strings are quoted with '…', "…", ‘…’ or “…”
(no escapes); booleans are true/false or 是/否; fields are the canonical field names of the rule's
table (`fupin-audit schema TABLE`). Keywords and/or/not/in/true/false are case-insensitive; 且/或/非
must stand apart (`a 且 b`). Full-width punctuation (（）＞＝，) is read as its ASCII form, and ≤ ≥ ≠
as <= >= !=. Comparisons do not chain (`a < b < c` is an error).

Functions (the whole whitelist): `isnull(x)` / `notnull(x)` — the value is empty / not empty;
`year(日期)` — the year of a date, as a number; `len(文本)` — number of characters;
`contains(文本, '字')` — the text contains the literal (for a multi-valued code such as 健康状况,
whether one of its codes is it).

Types: fields are 数值 (money, numbers, integers, years), 文本 (text, codes, ID numbers, phones),
是/否 (yes/no fields) or 日期. Arithmetic is on numbers; 日期 − 日期 gives days. `<`, `>`… compare
numbers or dates. A quoted literal compared with a code field must be a label of its code list
(aliases and numeric codes are translated: '脱贫' → '已脱贫'); compared with a yes/no field it is
'是'/'否'; compared with a date field it is a date ('2017-06-30'). The whole condition must be 是/否.

Missing values: a comparison, arithmetic or `in` involving an empty value is *unknown*; and/or/not
follow three-valued logic (unknown and false = false; unknown or true = true; not unknown = unknown)
and a row is reported only when the condition is certainly true. So `人均纯收入 < 6000` never flags
an empty income, and neither does `not (人均纯收入 >= 6000)`; test emptiness with `isnull()`.
Division by zero gives an empty value.

Limits: a condition has at most 2000 characters, 500 tokens and 50 levels of nesting (brackets,
function calls, not, unary minus). Every rejection names the 1-based character position and the
offending token, e.g. `rules.toml 规则 #2 (XD002) when 第 14 个字符 “.”：不允许属性访问`.
"""

from __future__ import annotations

import difflib
import keyword
import re
import tomllib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fupin_audit.engine.rule import Example, NoParams, Rule
from fupin_audit.errors import ConfigError
from fupin_audit.schema.codes import code_list
from fupin_audit.schema.fields import FieldProblem, Kind, Spec, is_empty, parse_scalar
from fupin_audit.schema.models import MODELS, TABLE_KINDS

if TYPE_CHECKING:
    from fupin_audit.engine.context import AuditContext

MAX_CHARS = 2000
MAX_TOKENS = 500
MAX_DEPTH = 50
FUNCTIONS = {"isnull": 1, "notnull": 1, "year": 1, "len": 1, "contains": 2}
CODE_PATTERN = r"^[A-Z]{2,4}[0-9]{3}$"
DEFAULT_FAMILY = "自定义"

# ---------------------------------------------------------------------------------------------
# Errors


class ExpressionError(ValueError):
    """A condition or message template the grammar rejects, at a 0-based character offset."""

    def __init__(self, offset: int, token: str, reason: str) -> None:
        self.offset = offset
        self.token = token
        self.reason = reason
        super().__init__(str(self))

    @property
    def position(self) -> int:
        """1-based character position, as a person counts."""
        return self.offset + 1

    def __str__(self) -> str:
        token = f" “{self.token}”" if self.token else "（结尾）"
        return f"第 {self.position} 个字符{token}：{self.reason}"


class DeclarativeRuleError(RuntimeError):
    """A declared rule failed while it ran (reported as a failed rule, never a crash)."""


# ---------------------------------------------------------------------------------------------
# Tokens


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "str", "bool", "name", "kw", "op", "end"
    text: str  # as written (for messages)
    value: Any  # float / str / bool / canonical keyword or operator
    offset: int


_QUOTES = {"'": "'", '"': '"', "“": "”", "‘": "’"}
_KEYWORDS = {"and": "and", "且": "and", "or": "or", "或": "or", "not": "not", "非": "not", "in": "in"}
_BOOLEANS = {"true": True, "false": False, "是": True, "否": False}
_OPERATORS2 = {"==", "!=", "<=", ">="}
_OPERATORS1 = set("<>+-*/()[],")
_UNICODE_OPERATORS = {"≤": "<=", "≥": ">=", "≠": "!="}
_BAD_PAIRS = {
    "**": "不支持乘方 **",
    "//": "不支持整除 //，除法请用 /",
    "&&": "请用 and",
    "||": "请用 or",
}
_BAD_CHARS = {
    "=": "不允许赋值；判断相等请用 ==",
    ".": "不允许属性访问",
    "!": "请用 not 或 !=",
    "&": "请用 and",
    "|": "请用 or",
    "~": "请用 not",
    ":": "不允许 lambda、切片或字典",
    "{": "不允许花括号",
    "}": "不允许花括号",
    ";": "不允许分号（一条规则只有一个条件）",
    "%": "不支持取余 %",
    "@": "不允许 @",
    "\\": "不允许反斜杠",
}
_NUMBER = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")
_PYTHON_WORDS = {
    "none": "空值请用 isnull(字段) 判断",
    "is": "请用 == 或 isnull()",
    "lambda": "不允许 lambda",
    "import": "不允许 import",
    "for": "不允许 for（推导式）",
    "if": "不允许 if 表达式",
}
_SPACED_KEYWORDS = "且或非"
_SPACING = "且、或、非 前后要留空格（如 人均纯收入 < 6000 且 脱贫状态 == '已脱贫'）"
_UNIT = "数字后不能紧跟文字（单位不写，如 6000 而不是 6000元）"
_FORBIDDEN_WORDS = {w.lower() for w in keyword.kwlist} - {"and", "or", "not", "in", "true", "false"}


def _fold(text: str) -> str:
    """Full-width forms to ASCII, one character for one (positions stay those the user typed)."""
    out = []
    for char in text:
        if ord(char) < 128:
            out.append(char)
            continue
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded if len(folded) == 1 else char)
    return "".join(out)


def _is_word_start(char: str) -> bool:
    return char.isalpha() or char == "_"


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


class _Lexer:
    """Hands out tokens one at a time, so the first offending token is the one reported."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.text = _fold(source)
        self.i = 0
        self.count = 0

    def error(self, start: int, end: int, reason: str) -> ExpressionError:
        return ExpressionError(start, self.source[start:end] or self.source[start : start + 1], reason)

    def next(self) -> Token:
        text, n = self.text, len(self.text)
        while self.i < n and text[self.i].isspace():
            self.i += 1
        if self.i >= n:
            return Token("end", "", None, n)
        token = self._scan()
        self.count += 1
        if self.count > MAX_TOKENS:
            raise ExpressionError(token.offset, token.text, f"条件超过 {MAX_TOKENS} 个词元")
        return token

    def _scan(self) -> Token:
        text, start = self.text, self.i
        char = text[start]
        if char in _QUOTES:
            close = _QUOTES[char]
            end = text.find(close, start + 1)
            if end < 0:
                raise self.error(start, start + 1, f"字符串缺少结束引号 {close}")
            self.i = end + 1
            return Token("str", self.source[start : end + 1], self.source[start + 1 : end], start)
        if char.isascii() and (char.isdigit() or (char == "." and text[start + 1 : start + 2].isdigit())):
            match = _NUMBER.match(text, start)
            assert match is not None
            self.i = match.end()
            if self.i < len(text) and _is_word_char(text[self.i]):
                end = self.i
                while end < len(text) and _is_word_char(text[end]):
                    end += 1
                reason = _SPACING if text[self.i] in _SPACED_KEYWORDS else _UNIT
                raise self.error(self.i, end, reason)
            return Token("num", self.source[start : self.i], float(match.group()), start)
        if _is_word_start(char):
            end = start + 1
            while end < len(text) and _is_word_char(text[end]):
                end += 1
            self.i = end
            return self._word(text[start:end], start, end)
        pair = text[start : start + 2]
        if pair in _OPERATORS2:
            self.i = start + 2
            return Token("op", self.source[start : start + 2], pair, start)
        if pair in _BAD_PAIRS:
            raise self.error(start, start + 2, _BAD_PAIRS[pair])
        if char in _OPERATORS1:
            self.i = start + 1
            return Token("op", self.source[start], char, start)
        if char in _UNICODE_OPERATORS:
            self.i = start + 1
            return Token("op", char, _UNICODE_OPERATORS[char], start)
        raise self.error(start, start + 1, _BAD_CHARS.get(char, "不允许的字符"))

    def _word(self, word: str, start: int, end: int) -> Token:
        written = self.source[start:end]
        lower = word.lower()
        if word.startswith("_"):
            raise self.error(start, end, "不允许以下划线开头的名称")
        if lower in _KEYWORDS:
            return Token("kw", written, _KEYWORDS[lower], start)
        if lower in _BOOLEANS:
            return Token("bool", written, _BOOLEANS[lower], start)
        if lower in _PYTHON_WORDS:
            raise self.error(start, end, _PYTHON_WORDS[lower])
        if lower in _FORBIDDEN_WORDS:
            raise self.error(start, end, f"不允许 Python 关键字 {word}")
        return Token("name", written, word, start)


# ---------------------------------------------------------------------------------------------
# The tree


@dataclass(frozen=True)
class Literal_:
    value: float | str | bool
    offset: int
    text: str


@dataclass(frozen=True)
class FieldRef:
    name: str
    offset: int
    text: str


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node
    offset: int
    text: str


@dataclass(frozen=True)
class Comparison:
    op: str  # == != < <= > >=
    left: Node
    right: Node
    offset: int
    text: str


@dataclass(frozen=True)
class Step:
    """One `op operand` of an arithmetic chain, with the operator's position."""

    op: str  # + - * /
    operand: Node
    offset: int
    text: str


@dataclass(frozen=True)
class Arithmetic:
    """`first op operand op operand …` of one precedence level, evaluated left to right.

    Chains are flat (not nested binary nodes), so a long sum never deepens the tree."""

    first: Node
    steps: tuple[Step, ...]
    offset: int
    text: str


@dataclass(frozen=True)
class Logic:
    op: str  # "and" / "or"
    items: tuple[Node, ...]
    offset: int
    text: str


@dataclass(frozen=True)
class Membership:
    operand: Node
    items: tuple[Literal_, ...]
    negated: bool
    offset: int
    text: str


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    offset: int
    text: str


Node = Literal_ | FieldRef | Unary | Comparison | Arithmetic | Logic | Membership | Call
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


class _Parser:
    def __init__(self, source: str) -> None:
        if len(source) > MAX_CHARS:
            raise ExpressionError(
                MAX_CHARS, source[MAX_CHARS], f"条件超过 {MAX_CHARS} 个字符（共 {len(source)} 个）"
            )
        if not source.strip():
            raise ExpressionError(0, "", "条件为空")
        self.lexer = _Lexer(source)
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
            elif tok.kind == "name" and tok.value[0] in _SPACED_KEYWORDS:
                reason = _SPACING
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
    return _Parser(source).parse()


# ---------------------------------------------------------------------------------------------
# Types and compilation

NUM, STR, BOOL, DATE = "数值", "文本", "是/否", "日期"
_KIND_TYPES = {
    Kind.TEXT: STR,
    Kind.ID_NUMBER: STR,
    Kind.PHONE: STR,
    Kind.CODE: STR,
    Kind.YESNO: BOOL,
    Kind.INT: NUM,
    Kind.MONEY: NUM,
    Kind.NUMBER: NUM,
    Kind.YEAR: NUM,
    Kind.MONTH: NUM,  # YYYYMM: 识别监测时间 >= 202304
    Kind.DATE: DATE,
}
Evaluator = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class _Typed:
    type: str
    fn: Evaluator


def _literal_type(value: object) -> str:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, float):
        return NUM
    if isinstance(value, pd.Timestamp):
        return DATE
    return STR


def _constant(value: object) -> _Typed:
    kind = _literal_type(value)
    dtype = {NUM: "float64", STR: object, BOOL: "boolean", DATE: "datetime64[ns]"}[kind]
    return _Typed(kind, lambda frame: pd.Series(value, index=frame.index, dtype=dtype))


def _reader(name: str, kind: str) -> Evaluator:
    def read(frame: pd.DataFrame) -> pd.Series:
        column = frame[name]
        if kind == NUM:
            return pd.to_numeric(column, errors="coerce").astype("float64")
        if kind == DATE:
            return pd.to_datetime(column, errors="coerce")
        if kind == BOOL:
            return column.astype("boolean")
        values = column.astype(object)
        return values.where(values.notna(), None)

    return read


def _boolean(values: np.ndarray, missing: np.ndarray, index: pd.Index) -> pd.Series:
    out = pd.array(values.astype(bool), dtype="boolean")
    out[missing] = pd.NA
    return pd.Series(out, index=index)


def _plain(series: pd.Series, kind: str) -> pd.Series:
    """Missing values replaced by a harmless stand-in (the result is masked afterwards)."""
    if kind == BOOL:
        return series.fillna(False).astype(bool)
    if kind == STR:
        return series.where(series.notna(), "")
    return series


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _nearest(word: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.3)


class _Compiler:
    def __init__(self, table: str) -> None:
        self.table = table
        self.specs: dict[str, Spec] = MODELS[table].specs()
        self.fields: list[str] = []

    @staticmethod
    def fail(node: Node | Step, reason: str) -> ExpressionError:
        return ExpressionError(node.offset, node.text, reason)

    def unknown_field(self, node: FieldRef) -> ExpressionError:
        if node.name[0] in _SPACED_KEYWORDS and node.name[1:] in self.specs:
            return self.fail(node, _SPACING)
        close = _nearest(node.name, tuple(self.specs))
        hint = f"最接近的字段：{'、'.join(close)}" if close else f"全部字段见 fupin-audit schema {self.table}"
        return self.fail(node, f"未知字段 “{node.name}”（{self.table} 表）；{hint}")

    def compile(self, node: Node) -> _Typed:
        if isinstance(node, Literal_):
            return _constant(node.value)
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

    def field(self, node: FieldRef) -> _Typed:
        spec = self.specs.get(node.name)
        if spec is None:
            raise self.unknown_field(node)
        if node.name not in self.fields:
            self.fields.append(node.name)
        kind = _KIND_TYPES[spec.kind]
        return _Typed(kind, _reader(node.name, kind))

    def unary(self, node: Unary) -> _Typed:
        operand = self.compile(node.operand)
        fn = operand.fn
        if node.op == "not":
            if operand.type != BOOL:
                raise self.fail(node, f"not 之后须为条件（是/否），这里是{operand.type}")
            return _Typed(BOOL, lambda frame: ~fn(frame))
        if operand.type != NUM:
            raise self.fail(node, f"负号只用于数值，这里是{operand.type}")
        return _Typed(NUM, lambda frame: -fn(frame))

    def logic(self, node: Logic) -> _Typed:
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

        return _Typed(BOOL, evaluate)

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

    def operands(self, left: Node, right: Node) -> tuple[_Typed, _Typed]:
        if isinstance(left, Literal_) and not isinstance(right, Literal_):
            right_t = self.compile(right)
            return _constant(self.literal_value(left, right, right_t.type)), right_t
        left_t = self.compile(left)
        if isinstance(right, Literal_):
            return left_t, _constant(self.literal_value(right, left, left_t.type))
        return left_t, self.compile(right)

    def comparison(self, node: Comparison) -> _Typed:
        left, right = self.operands(node.left, node.right)
        if left.type != right.type:
            raise self.fail(node, f"不能比较{left.type}与{right.type}" + _type_hint(left.type, right.type))
        if node.op not in ("==", "!=") and left.type not in (NUM, DATE):
            raise self.fail(node, f"{left.type}不能比较大小（{node.op} 只用于数值和日期）")
        op, kind, lf, rf = _COMPARE[node.op], left.type, left.fn, right.fn

        def evaluate(frame: pd.DataFrame) -> pd.Series:
            a, b = lf(frame), rf(frame)
            missing = a.isna().to_numpy() | b.isna().to_numpy()
            raw = op(_plain(a, kind), _plain(b, kind))
            return _boolean(np.asarray(raw, dtype=bool), missing, frame.index)

        return _Typed(BOOL, evaluate)

    def arithmetic(self, node: Arithmetic) -> _Typed:
        first = self.compile(node.first)
        kind = first.type
        steps: list[tuple[str, Evaluator, bool]] = []  # (op, operand, dates → days)
        previous: Node = node.first
        for step in node.steps:
            if isinstance(step.operand, Literal_):
                operand = _constant(self.literal_value(step.operand, previous, kind))
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

        return _Typed(NUM, evaluate)

    def membership(self, node: Membership) -> _Typed:
        operand = self.compile(node.operand)
        values = []
        for item in node.items:
            value = self.literal_value(item, node.operand, operand.type)
            if _literal_type(value) != operand.type:
                reason = f"列表项是{_literal_type(value)}，{node.text} 左边是{operand.type}"
                raise self.fail(item, reason + _type_hint(operand.type, _literal_type(value)))
            values.append(value)
        fn, negated = operand.fn, node.negated

        def evaluate(frame: pd.DataFrame) -> pd.Series:
            a = fn(frame)
            found = a.isin(values).to_numpy(dtype=bool)
            return _boolean(~found if negated else found, a.isna().to_numpy(), frame.index)

        return _Typed(BOOL, evaluate)

    def call(self, node: Call) -> _Typed:
        args = [self.compile(arg) for arg in node.args]
        first = args[0].fn
        if node.name in ("isnull", "notnull"):
            want_null = node.name == "isnull"

            def nullness(frame: pd.DataFrame) -> pd.Series:
                empty = first(frame).isna().to_numpy()
                return pd.Series(pd.array(empty if want_null else ~empty, dtype="boolean"), index=frame.index)

            return _Typed(BOOL, nullness)
        if node.name == "year":
            if args[0].type != DATE:
                hint = "；年份字段本身就是数值，直接比较即可" if args[0].type == NUM else ""
                raise self.fail(node, f"year() 需要日期，这里是{args[0].type}{hint}")
            return _Typed(NUM, lambda frame: first(frame).dt.year.astype("float64"))
        if args[0].type != STR:
            raise self.fail(node, f"{node.name}() 需要文本，这里是{args[0].type}")
        if node.name == "len":
            return _Typed(NUM, lambda frame: first(frame).map(_length, na_action="ignore").astype("float64"))
        needle = node.args[1]
        if not isinstance(needle, Literal_) or not isinstance(needle.value, str) or not needle.value:
            raise self.fail(node, "contains() 的第二个参数须为引号中的文本，如 contains(健康状况, '残疾')")
        text = unicodedata.normalize("NFKC", needle.value)

        def contains(frame: pd.DataFrame) -> pd.Series:
            values = first(frame)
            found = values.map(lambda v: text in str(v), na_action="ignore").fillna(False)
            return _boolean(found.to_numpy(dtype=bool), values.isna().to_numpy(), frame.index)

        return _Typed(BOOL, contains)


def _length(value: object) -> int:
    return len(str(value))


def _bad_literal(spec: Spec, name: str, text: str, kind: str) -> str:
    if kind == DATE:
        return f"{name} 是日期，“{text}” 不是有效日期（写作 '2017-06-30'）"
    if kind == BOOL:
        return f"{name} 是 是/否 字段，“{text}” 应为 '是' 或 '否'（或 true/false）"
    values = code_list(spec.codelist or "").values
    close = _nearest(text, values)
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
    compiler = _Compiler(table)
    typed = compiler.compile(tree)
    if typed.type != BOOL:
        raise ExpressionError(
            tree.offset, tree.text, f"条件的结果须为是/否（比较或逻辑运算），这里是{typed.type}"
        )
    return Condition(text, table, tree, tuple(compiler.fields), typed.fn)


# ---------------------------------------------------------------------------------------------
# Message templates: literal text with {字段} placeholders ({{ and }} for braces)


@dataclass(frozen=True)
class Template:
    parts: tuple[tuple[bool, str], ...]  # (is a field, text or field name)
    kinds: dict[str, Kind]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(text for is_field, text in self.parts if is_field))

    def render(self, frame: pd.DataFrame, mask: pd.Series) -> str | pd.Series:
        if not self.fields:
            return "".join(text for _, text in self.parts)
        rows = frame.loc[mask.to_numpy(dtype=bool)]
        out = pd.Series("", index=rows.index, dtype=object)
        for is_field, text in self.parts:
            out = out + (_cell_texts(rows[text], self.kinds[text]) if is_field else text)
        return out


def _cell_texts(column: pd.Series, kind: Kind) -> pd.Series:
    values = column.astype(object)
    if kind is Kind.MONEY:
        texts = pd.to_numeric(values, errors="coerce").map("{:.2f}".format, na_action="ignore")
    elif kind is Kind.NUMBER:
        texts = pd.to_numeric(values, errors="coerce").map("{:g}".format, na_action="ignore")
    elif kind in (Kind.INT, Kind.YEAR, Kind.MONTH):
        texts = pd.to_numeric(values, errors="coerce").map(lambda v: str(int(v)), na_action="ignore")
    elif kind is Kind.DATE:
        texts = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d")
    elif kind is Kind.YESNO:
        texts = values.map(lambda v: "是" if v else "否", na_action="ignore")
    else:
        texts = values.map(str, na_action="ignore")
    return texts.astype(object).where(values.notna() & texts.notna(), "（空）")


def parse_template(text: str, table: str) -> Template:
    specs = MODELS[table].specs()
    parts: list[tuple[bool, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            literal.append(char)
            i += 2
            continue
        if char == "}":
            raise ExpressionError(i, char, "多余的 }（文字中的花括号写作 }}）")
        if char != "{":
            literal.append(char)
            i += 1
            continue
        end = text.find("}", i + 1)
        inner = text[i + 1 : end] if end >= 0 else ""
        if end < 0 or "{" in inner:
            raise ExpressionError(i, char, "{ 没有对应的 }（文字中的花括号写作 {{）")
        name = _fold(inner).strip()
        if name not in specs:
            close = _nearest(name, tuple(specs))
            hint = f"最接近的字段：{'、'.join(close)}" if close else f"全部字段见 fupin-audit schema {table}"
            raise ExpressionError(i, text[i : end + 1], f"未知字段 “{name}”（{table} 表）；{hint}")
        if literal:
            parts.append((False, "".join(literal)))
            literal = []
        parts.append((True, name))
        i = end + 1
    if literal:
        parts.append((False, "".join(literal)))
    return Template(tuple(parts), {name: specs[name].kind for is_field, name in parts if is_field})


# ---------------------------------------------------------------------------------------------
# Rule files


class RuleSpec(BaseModel):
    """One `[[rule]]` table of a declarative rule file."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    code: str = Field(pattern=CODE_PATTERN)
    title: str = Field(min_length=1)
    family: str = Field(DEFAULT_FAMILY, min_length=1)
    severity: Literal["error", "warning", "info"] = "warning"
    table: str
    when: str = Field(min_length=1)
    message: str | None = None
    column: str | None = None
    what: str | None = None
    why: str | None = None
    # text, or a table with records a test can run (engine.rule.Example): [rule.example] …
    example: str | dict[str, Any] | None = None
    aliases: list[str] = []  # a renamed rule's former codes (the registry refuses clashes)

    @field_validator("table")
    @classmethod
    def _known_table(cls, value: str) -> str:
        if value not in TABLE_KINDS:
            raise ValueError("unknown table")
        return value


def _spec_error(exc: ValidationError) -> str:
    errors = exc.errors()
    err = next(
        (e for e in errors if e["type"] == "extra_forbidden"), errors[0]
    )  # a typo explains a "missing"
    key = str(err["loc"][0]) if err["loc"] else ""
    if err["type"] == "extra_forbidden":
        close = difflib.get_close_matches(key, list(RuleSpec.model_fields), n=1, cutoff=0.5)
        hint = f"是不是 {close[0]}？" if close else f"可用的键：{'、'.join(RuleSpec.model_fields)}"
        return f"未知的键 “{key}”（{hint}）"
    if err["type"] == "missing":
        return f"缺少必填的键 “{key}”"
    if key == "code":
        return "code 须为 2–4 个大写字母加 3 位数字，如 XD001"
    if key == "table":
        return f"table 须为 {'、'.join(TABLE_KINDS)} 之一"
    if key == "severity":
        return "severity 须为 error、warning 或 info"
    if err["type"] in ("string_too_short",):
        return f"“{key}” 不能为空"
    if err["type"] == "string_type":
        return f"“{key}” 须为文本（加引号）"
    return f"“{key}”：{err['msg']}"


def _looks_like_rules(data: dict[str, Any]) -> bool:
    """A TOML file with an array of tables carrying `when` is a (misspelt) rule file, not a config."""
    return any(
        isinstance(value, list) and any(isinstance(v, dict) and "when" in v for v in value)
        for value in data.values()
    )


def load_rule_file(path: Path, *, in_folder: bool = False) -> list[Rule]:
    """The rules declared in a TOML file. ConfigError names the file, rule and key or position.

    `in_folder`: the file was found in a --rules folder, where a TOML file without `[[rule]]`
    tables (a --config override such as province_override.toml) is left alone.
    """
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: 规则文件不存在") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: 不是有效的 TOML：{exc}") from None
    if "rule" not in data:
        if in_folder and not _looks_like_rules(data):
            return []
        misspelt = next((k for k, v in data.items() if isinstance(v, list)), None)
        hint = f"（写成了 [[{misspelt}]]？）" if misspelt else ""
        raise ConfigError(f"{path}: 没有 [[rule]] 表{hint}；声明式规则文件的每条规则以 [[rule]] 开头")
    for key in data:
        if key != "rule":
            raise ConfigError(f"{path}: 未知的顶层键 “{key}”（规则文件只含 [[rule]] 表）")
    entries = data["rule"]
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: rule 须写作 [[rule]] 表")
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, entry in enumerate(entries, 1):
        code = entry.get("code")
        where = f"{path} 规则 #{index}" + (f" ({code})" if isinstance(code, str) and code else "")
        try:
            spec = RuleSpec.model_validate(entry)
        except ValidationError as exc:
            raise ConfigError(f"{where}：{_spec_error(exc)}") from None
        if spec.code in seen:
            raise ConfigError(f"{where}：编号 {spec.code} 与规则 #{seen[spec.code]} 重复")
        seen[spec.code] = index
        rules.append(declared_rule(spec, where, origin=str(path)))
    return rules


def _example(spec: RuleSpec, where: str, title: str) -> str | Example:
    """The rule's example: its text, or an [rule.example] table of records (checked here)."""
    if isinstance(spec.example, dict):
        try:
            return Example.from_mapping(spec.example)
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            raise ConfigError(f"{where} example：{exc}") from None
    return (spec.example or f"一条满足 {spec.when} 的{title}记录 → {spec.code}。").strip()


def declared_rule(spec: RuleSpec, where: str, origin: str = "") -> Rule:
    """Compile one declared rule; errors name `where` (file and rule) and the key."""
    try:
        condition = compile_condition(spec.when, spec.table)
    except ExpressionError as exc:
        raise ConfigError(f"{where} when {exc}") from None
    default_message = "满足条件：" + spec.when
    try:
        template = parse_template(spec.message if spec.message is not None else "", spec.table)
    except ExpressionError as exc:
        raise ConfigError(f"{where} message {exc}") from None
    if spec.message is None or not spec.message:
        template = Template(((False, default_message),), {})
    specs = MODELS[spec.table].specs()
    if spec.column is not None and spec.column not in specs:
        close = _nearest(spec.column, tuple(specs))
        hint = f"最接近的字段：{'、'.join(close)}" if close else f"全部字段见 fupin-audit schema {spec.table}"
        raise ConfigError(f"{where} column：未知字段 “{spec.column}”（{spec.table} 表）；{hint}")
    fields = tuple(dict.fromkeys([*condition.fields, *template.fields]))
    table, column, code = spec.table, spec.column, spec.code
    title = MODELS[table].title

    def check(ctx: AuditContext, params: BaseModel) -> pd.DataFrame:
        frame = ctx.frame(table, *fields)
        try:
            mask = condition.evaluate(frame)
            message = template.render(frame, mask)
        except Exception as exc:  # the data did not have the schema's types
            raise DeclarativeRuleError(
                f"{origin} 规则 {code}：计算条件时出错（{type(exc).__name__}: {exc}）"
            ) from exc
        return ctx.flag(table, mask, message, column=column)

    return Rule(
        code=spec.code,
        title=spec.title,
        family=spec.family,
        severity=spec.severity,
        needs=(table,),
        columns={table: fields},
        what=(spec.what or f"{title}（{table}）中满足条件 {spec.when} 的记录。").strip(),
        why=(spec.why or f"自定义声明式规则（{Path(origin).name or origin}），未写明政策依据。").strip(),
        example=_example(spec, where, title),
        check=check,
        params=NoParams,
        aliases=tuple(a.upper() for a in spec.aliases),
    )
