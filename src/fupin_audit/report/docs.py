"""Text for `fupin-audit explain` and `fupin-audit schema`, read from the registry and the models."""

from __future__ import annotations

import textwrap

from fupin_audit.engine.rule import ERA_NAMES, Rule
from fupin_audit.findings import SEVERITY_LABELS
from fupin_audit.rule_examples import describe_example
from fupin_audit.schema.codes import code_list
from fupin_audit.schema.fields import Kind, Spec
from fupin_audit.schema.models import MODELS


def _wrap(text: str, indent: str = "  ") -> str:
    return "\n".join(
        textwrap.fill(p, 60, initial_indent=indent, subsequent_indent=indent) for p in text.splitlines()
    )


def _policy_values(policy, text: str) -> list[str]:
    """The policy parameters a rule's documentation names, each value in force with its confidence,
    source and where it came from (per province and county where the config sets them)."""
    from fupin_audit.policy import YEAR_KEYS
    from fupin_audit.policy.show import scope_name

    names = [key for key in policy.model_dump(mode="json") if key in text]
    if "贫困线" in text and "poverty_line" not in names:
        names.append("poverty_line")
    lines = []
    entries = policy.entries()
    for key in names:
        values = [(scope, r) for layer, scope, r in entries if r.key == key]
        shown = {}
        for scope, resolved in values:  # config first: a config value hides the built-in one
            shown.setdefault((scope, resolved.year), resolved)
        if key in YEAR_KEYS or len(shown) > 1:
            lines.append(f"  {key}（按省、县{'和年度' if key in YEAR_KEYS else ''}取，县 > 省 > 全国）：")
            for (scope, year), resolved in shown.items():
                when = f" {year}" if year is not None else ""
                lines.append(
                    f"    {scope_name(scope)}{when} = {_number(resolved.value)}  {resolved.describe()}"
                )
        elif shown:
            resolved = next(iter(shown.values()))
            lines.append(f"  {key} = {_number(resolved.value)}  {resolved.describe()}")
        else:
            value = getattr(policy, key)
            lines.append(f"  {key} = {value}（{policy.source_of(key)}）")
    return lines


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def explain_rule(rule: Rule, origin: str, policy=None) -> str:
    lines = [
        f"{rule.code}  {rule.title}",
        *(
            [f"旧编号（别名）：{'、'.join(rule.aliases)}（仍可用于 --select、--severity、配置、豁免和基线）"]
            if rule.aliases
            else []
        ),
        f"规则族：{rule.family}    默认级别：{rule.severity}（{SEVERITY_LABELS[rule.severity]}）    "
        f"范围：{'本县即可判断' if rule.scope == 'local' else '需跨县比对'}",
        f"所需的表：{', '.join(rule.needs) or '任意已识别的表'}",
        f"适用数据：{ERA_NAMES[rule.era]}" + (f"（{rule.era_note}）" if rule.era_note else ""),
    ]
    if rule.columns:
        lines.append("所需的列：" + "；".join(f"{k}：{'、'.join(v)}" for k, v in rule.columns.items()))
    if rule.previous:
        lines.append(f"上一期数据：需要 --previous（{', '.join(rule.previous)}），两期比对")
    if rule.scope != "local":
        lines.append("分布式运行（--engine dask）：" + _distribution(rule))
    lines += [
        "",
        "检查什么：",
        _wrap(rule.what),
        "",
        "为什么（政策依据）：",
        _wrap(rule.why),
        "",
        "示例：",
        *(
            _wrap(line.strip(), "    " if line.startswith("  ") else "  ")
            for line in describe_example(rule.example)
        ),
    ]
    fields = rule.params.model_fields
    lines += ["", "参数（配置文件 [rules." + rule.code + "]）："]
    if fields:
        for name, info in fields.items():
            doc = f" — {info.description}" if info.description else ""
            lines.append(f"  {name} = {info.default!r}{doc}")
    else:
        lines.append("  无")
    if policy is not None and (used := _policy_values(policy, rule.what + rule.why)):
        lines += ["", "用到的政策参数（fupin-audit policy 查看全部；--config 覆盖）：", *used]
    lines += ["", f"来源：{origin}"]
    return "\n".join(lines)


def _distribution(rule: Rule) -> str:
    """How --engine dask splits a global rule's work (from its shuffle / follow declarations)."""
    if not rule.shuffle:
        return "不分桶，一个任务汇总各分区的 " + (
            "、".join(sorted({*rule.needs, *rule.columns, *rule.reads})) or "表头信息"
        )
    keyed = "；".join(
        f"{kind} 按 {column if isinstance(column, str) else getattr(column, 'key_name', column.__name__)}"
        for kind, column in rule.shuffle.items()
    )
    followed = "；".join(
        f"{kind} {'整表' if how == '*' else '随同户编号的行'}" for kind, how in rule.follow.items()
    )
    return f"按键分桶（{keyed}）" + (f"，另给每桶 {followed}" if followed else "")


KIND_NAMES = {
    Kind.TEXT: "文本",
    Kind.ID_NUMBER: "证件号码",
    Kind.PHONE: "电话",
    Kind.CODE: "代码",
    Kind.YESNO: "是/否",
    Kind.INT: "整数",
    Kind.MONEY: "金额（元）",
    Kind.NUMBER: "数值",
    Kind.DATE: "日期",
    Kind.YEAR: "年份",
    Kind.MONTH: "年月（YYYYMM）",
}


def _describe_field(name: str, spec: Spec) -> list[str]:
    kind = KIND_NAMES[spec.kind]
    flags = ["必填"] if spec.required else []
    if spec.ge is not None or spec.le is not None:
        low = "" if spec.ge is None else f"{spec.ge:g}"
        high = "" if spec.le is None else f"{spec.le:g}"
        flags.append(f"范围 {low}–{high}")
    if spec.household_level:
        flags.append("户级")
    line = f"  {name}  [{kind}{'，' + '，'.join(flags) if flags else ''}]"
    out = [line]
    if spec.aliases:
        out.append(_wrap("也接受：" + "、".join(spec.aliases), "      "))
    if spec.codelist and spec.kind is Kind.CODE:
        values = code_list(spec.codelist).values
        extra = f"（可多选，最多 {spec.multi} 项）" if spec.multi > 1 else ""
        extra += "（开放列表：其他取值照录）" if not spec.closed else ""
        out.append(_wrap(f"代码表 {spec.codelist}{extra}：" + "、".join(values), "      "))
    return out


def describe_schema(kind: str | None) -> str:
    if kind is None:
        lines = ["表（fupin-audit schema TABLE 查看字段）："]
        for name, model in MODELS.items():
            lines.append(f"  {name:<11} {model.title}  工作表名关键词：{'、'.join(model.sheet_keywords)}")
        return "\n".join(lines)
    if kind not in MODELS:
        from fupin_audit.errors import ConfigError

        raise ConfigError(f"没有表 {kind}：可选 {'、'.join(MODELS)}")
    model = MODELS[kind]
    lines = [
        f"{kind}（{model.title}）",
        f"工作表名关键词：{'、'.join(model.sheet_keywords)}",
        f"识别特征列：{'、'.join(model.signature)}",
        "表头先规范化（全角转半角、去空白换行、统一括号、去掉末尾单位如（元）（万元）），再匹配下列字段：",
        "",
    ]
    for name, spec in model.specs().items():
        lines += _describe_field(name, spec)
    return "\n".join(lines)
