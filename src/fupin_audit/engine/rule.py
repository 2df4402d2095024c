"""A rule is data plus a function: its code, name, family, severity, needs, parameters and docs."""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

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


# Tables an example's records may fill: the recognised tables (work: 已外出务工信息, 2021+), or "flat",
# a one-row-per-person export (household columns repeated on each member row) that the reader splits.
EXAMPLE_TABLES = ("households", "members", "villages", "measures", "helpers", "rosters", "work", "flat")


@dataclass(frozen=True)
class Example:
    """A rule's example as data, so that it is a test case and never wrong.

    `records` are written to a real workbook, one sheet per table, the canonical field names
    (`fupin-audit schema TABLE`) as headers, and the rule is run on it: it must flag the `flagged`
    record; with the `near_miss` changes applied it must report nothing at all.
    `fupin_audit.rule_examples.example_problems(rule)` runs both (tests/test_rule_examples.py runs
    it for every built-in rule); `fupin-audit explain CODE` shows the text and the records.

    - text: the example in a sentence, e.g. "2017 年脱贫户人均纯收入 3335.00 元（线 3335）→ LG401".
    - records: table → records; a record maps field names to cell values (None: an empty cell, a
      field left out of every record: no such column). Tables: EXAMPLE_TABLES.
    - flagged: (table, i) — the i-th record (0-based) of that table is flagged; i = None: a finding
      about the whole sheet (e.g. a missing column). Default: the first record of the first table.
    - near_miss: table → {i: {field: new value}} — the smallest change after which the rule reports
      nothing; near_miss_text says it in words (e.g. "3335.01 元不报告").
    - year: the data year the example runs with (--year); None: from the records' 年度.
    - title: a title row written above the header of every sheet, e.g. "导出时间：2023-12-18" (the
      export's reference date, from which months and ages are judged); empty: the header is row 1.
    - config: a config file (TOML, as given to --config) the example runs with, e.g. its own
      monitoring line "[monitoring_line]\n2023 = 7300", so that it never rests on a built-in value.
    - previous: for a rule comparing two snapshots (DT), the previous snapshot's records (table →
      records, with their 年度), run as --previous; flagged ("previous.households", i) names its i-th
      record, for a finding about a record that is gone.
    """

    text: str
    records: Mapping[str, Sequence[Mapping[str, Any]]]
    near_miss: Mapping[str, Mapping[int, Mapping[str, Any]]]
    near_miss_text: str
    flagged: tuple[str, int | None] | None = None
    year: int | None = 2017
    title: str = ""
    config: str = ""
    previous: Mapping[str, Sequence[Mapping[str, Any]]] | None = None

    def __post_init__(self) -> None:
        if not self.records:
            raise ValueError("example: records is empty")
        for table in {**self.records, **self.near_miss}:
            if table not in EXAMPLE_TABLES:
                raise ValueError(f"example: unknown table {table!r} (one of {', '.join(EXAMPLE_TABLES)})")
            if table not in self.records:
                raise ValueError(f"example: near_miss names table {table!r} that has no records")
        for table, changes in self.near_miss.items():
            for i in changes:
                if not 0 <= int(i) < len(self.records[table]):
                    raise ValueError(f"example: near_miss names {table} record {i}, which does not exist")
        if self.config:
            try:
                tomllib.loads(self.config)
            except tomllib.TOMLDecodeError as exc:
                raise ValueError(f"example: config is not TOML ({exc})") from exc
        if not self.near_miss:
            raise ValueError("example: near_miss is empty (a change after which nothing is flagged)")
        if self.flagged is None:
            object.__setattr__(self, "flagged", (next(iter(self.records)), 0))
        table, i = self.flagged  # type: ignore[misc]
        source = self.records
        if table.startswith("previous.") and self.previous:
            table, source = table.removeprefix("previous."), self.previous
        if table not in source or (i is not None and not 0 <= i < len(source[table])):
            raise ValueError(f"example: flagged ({table}, {i}) names no record")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Example:
        """From a TOML table (declarative rules): near_miss keys may be the texts "0", "1", …"""
        keys = {"text", "records", "near_miss", "near_miss_text", "flagged", "year", "title", "config"}
        unknown = set(data) - keys
        if unknown:
            raise ValueError(f"example: unknown key {sorted(unknown)[0]!r}")
        near = {
            t: {int(i): dict(c) for i, c in rows.items()} for t, rows in data.get("near_miss", {}).items()
        }
        flagged = data.get("flagged")
        return cls(
            text=str(data.get("text", "")),
            records={t: [dict(r) for r in rows] for t, rows in data.get("records", {}).items()},
            near_miss=near,
            near_miss_text=str(data.get("near_miss_text", "")),
            flagged=(flagged[0], flagged[1]) if flagged else None,
            year=data.get("year", 2017),
            title=str(data.get("title", "")),
            config=str(data.get("config", "")),
        )

    def with_near_miss(self) -> dict[str, list[dict[str, Any]]]:
        """The records with the near-miss changes applied."""
        out = {table: [dict(r) for r in rows] for table, rows in self.records.items()}
        for table, changes in self.near_miss.items():
            for i, values in changes.items():
                out[table][int(i)].update(values)
        return out

    def __str__(self) -> str:
        return self.text


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
    example: str | Example  # built-in rules: an Example (data a test runs); text is allowed for plug-ins
    check: RuleFunction = field(repr=False, compare=False)
    params: type[BaseModel] = NoParams
    scope: Scope = "local"  # local: a county's result depends only on that county's rows
    # Former codes of a renamed or split rule (RULES.md: a shipped code keeps its meaning): accepted
    # wherever a code is (--select, --severity, config, waivers, baselines); findings carry `code`.
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
    example: str | Example,
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
    aliases: tuple[str, ...] = (),
) -> Callable[[RuleFunction], Rule]:
    """Declare a rule next to its logic. The family defaults from the code prefix (DQ, SY, LG, IN, MN, DT).

    `example` is best an `Example`: records that the rule flags plus a near miss it does not, which
    `explain` shows and tests run (`fupin_audit.rule_examples.example_problems`); a plain text is
    accepted for third-party rules.

    `aliases`: the rule's former codes, when it was renamed (its findings carry the new code)."""

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
            example=example.strip() if isinstance(example, str) else example,
            check=fn,
            params=params,
            scope=scope,
            shuffle=shuffle or {},
            follow=follow or {},
            reads=reads,
            previous=previous,
            era=era,
            era_note=era_note,
            aliases=rule_aliases(code, aliases),
        )

    return wrap


def rule_aliases(code: str, aliases: Sequence[str] | str) -> tuple[str, ...]:
    """A rule's former codes, upper-cased; a bare string, the rule's own code or a repeat is refused
    (codes are matched case-insensitively, as --select and `explain` accept them)."""
    if isinstance(aliases, str):
        raise ValueError(f'rule {code}: aliases 须为编号的元组，如 aliases=("{aliases}",)')
    names = tuple(str(a).strip().upper() for a in aliases)
    for i, name in enumerate(names):
        if not name:
            raise ValueError(f"rule {code}: 别名不能为空")
        if name == code.upper():
            raise ValueError(f"rule {code}: 别名 {name} 与规则自己的编号相同")
        if name in names[:i]:
            raise ValueError(f"rule {code}: 别名 {name} 重复")
    return names


def era_skip_reason(rule: Rule, data_era: str) -> str | None:
    """Why a rule does not run on data of `data_era` ("monitoring" or "jdlk"), or None when it does."""
    if rule.era in ("any", data_era):
        return None
    reason = f"只适用于{ERA_NAMES[rule.era]}，本次数据为{ERA_NAMES[data_era]}"
    return f"{reason}：{rule.era_note}" if rule.era_note else reason
