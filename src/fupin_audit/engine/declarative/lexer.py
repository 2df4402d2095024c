"""Tokens of a condition: one at a time, so the first offending token is the one reported.

Full-width forms are folded to ASCII one character for one, so offsets stay those the user typed.
Python's operators, keywords and punctuation that the language does not have are refused here with a
reason that says what to write instead.
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from fupin_audit.engine.declarative.errors import ExpressionError

MAX_TOKENS = 500


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
SPACED_KEYWORDS = "且或非"
SPACING = "且、或、非 前后要留空格（如 人均纯收入 < 6000 且 脱贫状态 == '已脱贫'）"
_UNIT = "数字后不能紧跟文字（单位不写，如 6000 而不是 6000元）"
_FORBIDDEN_WORDS = {w.lower() for w in keyword.kwlist} - {"and", "or", "not", "in", "true", "false"}


def fold(text: str) -> str:
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


class Lexer:
    """Hands out tokens one at a time, so the first offending token is the one reported."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.text = fold(source)
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
                reason = SPACING if text[self.i] in SPACED_KEYWORDS else _UNIT
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
