"""A rule is data plus a function: its code, name, family, severity, needs, parameters and docs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from fupin_audit.engine.context import AuditContext

FAMILIES = {
    "DQ": "数据质量",
    "SY": "四严",
    "LG": "两该两不该",
    "IN": "收入与返贫风险",
    "DT": "动态调整",
}
Severity = Literal["error", "warning", "info"]
Scope = Literal["local", "global"]


class NoParams(BaseModel):
    """Parameters of a rule that has none; rejects any key so typos in config files surface."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleParams(NoParams):
    """Base class for a rule's own parameters (unknown keys are rejected)."""


class SkipRule(Exception):
    """Raised by a rule (or its context) when its tables or columns are absent: reported, not passed."""


RuleResult = pd.DataFrame | list[pd.DataFrame] | None
RuleFunction = Callable[["AuditContext", BaseModel], RuleResult]


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    family: str
    severity: Severity
    needs: tuple[str, ...]  # tables that must all be present
    columns: dict[str, tuple[str, ...]]  # table → canonical fields the rule cannot do without
    what: str  # what it checks
    why: str  # policy basis
    example: str  # a minimal record that triggers it
    check: RuleFunction = field(repr=False, compare=False)
    params: type[BaseModel] = NoParams
    scope: Scope = "local"  # local: a county's result depends only on that county's rows
    aliases: tuple[str, ...] = ()
    # Global rules only: table → column whose value (a person key for ID columns, else the stripped
    # text), or the rule's own key function (ctx, table) → Series, that splits the rule's work — rows with different keys never meet in one finding — so a
    # distributed run may check it bucket by bucket. Tables not named are not given to the rule then.
    shuffle: dict[str, str | Callable[..., pd.Series]] = field(default_factory=dict)
    # With `shuffle`: tables the rule also reads, given to each bucket as the rows sharing a 户编号
    # with the bucket's keyed rows ("户编号"), or whole ("*": a reference list such as the rosters).
    follow: dict[str, str] = field(default_factory=dict)
    # Global rules: tables read beyond `needs` (a distributed run gives the rule only these).
    reads: tuple[str, ...] = ()
    # Tables the rule reads from the previous snapshot (--previous): without one it is skipped.
    previous: tuple[str, ...] = ()

    def __call__(self, ctx: AuditContext, params: BaseModel | None = None) -> RuleResult:
        return self.check(ctx, params or self.params())


def rule(
    code: str,
    title: str,
    *,
    severity: Severity,
    needs: tuple[str, ...],
    what: str,
    why: str,
    example: str,
    columns: dict[str, tuple[str, ...]] | None = None,
    family: str | None = None,
    params: type[BaseModel] = NoParams,
    scope: Scope = "local",
    shuffle: dict[str, str | Callable[..., pd.Series]] | None = None,
    follow: dict[str, str] | None = None,
    reads: tuple[str, ...] = (),
    previous: tuple[str, ...] = (),
) -> Callable[[RuleFunction], Rule]:
    """Declare a rule next to its logic. The family defaults from the code prefix (DQ, SY, LG, IN, DT)."""

    def wrap(fn: RuleFunction) -> Rule:
        fam = family or FAMILIES.get(code[:2])
        if fam is None:
            raise ValueError(
                f"rule {code}: give a family (code prefix {code[:2]!r} is not a built-in family)"
            )
        return Rule(
            code=code,
            title=title,
            family=fam,
            severity=severity,
            needs=needs,
            columns=columns or {},
            what=what.strip(),
            why=why.strip(),
            example=example.strip(),
            check=fn,
            params=params,
            scope=scope,
            shuffle=shuffle or {},
            follow=follow or {},
            reads=reads,
            previous=previous,
        )

    return wrap
