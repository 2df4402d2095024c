"""What the declarative rule language reports: a rejected condition or template, a rule that failed."""

from __future__ import annotations

import difflib


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


def nearest(word: str, choices: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """The names closest to a misspelt one, for "最接近的…" hints."""
    return difflib.get_close_matches(word, list(choices), n=n, cutoff=0.3)
