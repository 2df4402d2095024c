"""Rule files: TOML `[[rule]]` tables to Rule objects, every error naming file, rule and key."""

from __future__ import annotations

import difflib
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fupin_audit.engine.declarative.compiler import compile_condition
from fupin_audit.engine.declarative.errors import DeclarativeRuleError, ExpressionError, nearest
from fupin_audit.engine.declarative.template import Template, parse_template
from fupin_audit.engine.rule import Example, NoParams, Rule
from fupin_audit.errors import ConfigError
from fupin_audit.schema.models import MODELS, TABLE_KINDS

if TYPE_CHECKING:
    from fupin_audit.engine.context import AuditContext

CODE_PATTERN = r"^[A-Z]{2,4}[0-9]{3}$"
DEFAULT_FAMILY = "自定义"


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
        close = nearest(spec.column, tuple(specs))
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
