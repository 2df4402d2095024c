"""The syntax tree of a condition. Every node keeps the offset and text of the token that errors name."""

from __future__ import annotations

from dataclasses import dataclass


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
