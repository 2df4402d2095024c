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
    "MN": "防返贫监测",
}
Severity = Literal["error", "warning", "info"]
Scope = Literal["local", "global"]
# The data a rule is written for (MONITORING.md §1): "jdlk" the 2014–2020 建档立卡 data (贫困户属性, 脱贫状态,
# 当年脱贫), "monitoring" the 2021– 防返贫监测 data (户类型, 监测对象类别), "any" both (through the mapping of
# MONITORING.md C4: 户类型 = 脱贫户 is 已脱贫, a 监测对象类别 is 是否监测对象 = 是).
Era = Literal["any", "jdlk", "monitoring"]
ERA_NAMES = {"any": "各年度", "jdlk": "2014–2020 年建档立卡数据", "monitoring": "2021 年起的防返贫监测数据"}


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
    era: Era = "any"
    era_note: str = ""  # why the rule does not carry over to the other era (shown when it is skipped)
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
    era: Era = "any",
    era_note: str = "",
) -> Callable[[RuleFunction], Rule]:
    """Declare a rule next to its logic. The family defaults from the code prefix (DQ, SY, LG, IN, MN, DT)."""

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
            era=era,
            era_note=era_note,
        )

    return wrap


def era_skip_reason(rule: Rule, data_era: str) -> str | None:
    """Why a rule does not run on data of `data_era` ("monitoring" or "jdlk"), or None when it does."""
    if rule.era in ("any", data_era):
        return None
    reason = f"只适用于{ERA_NAMES[rule.era]}，本次数据为{ERA_NAMES[data_era]}"
    return f"{reason}：{rule.era_note}" if rule.era_note else reason
