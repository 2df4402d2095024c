"""Rich tables of findings for people at a terminal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from fupin_audit.findings import SEVERITY_LABELS

if TYPE_CHECKING:
    from fupin_audit.audit import AuditResult

SEVERITY_STYLES = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _location(row) -> str:
    parts = [row.file]
    if row.sheet:
        parts.append(row.sheet)
    if not pd.isna(row.row):
        parts.append(f"第{int(row.row)}行")
    return ":".join(parts)


def _share(item: dict) -> str:
    share = item.get("share")
    if item.get("note"):
        return item["note"]
    text = "—" if share is None else f"{share * 100:.1f}%"
    return f"{text}（{item['numerator']} / {item['denominator']}）"


def indicator_table(summary: dict) -> Table | None:
    values = summary.get("indicators") or {}
    if not values:
        return None
    table = Table(title="指标", title_justify="left")
    table.add_column("指标")
    table.add_column("数值", overflow="fold")
    for key, label in (
        ("registered_households", "建档立卡户数"),
        ("registered_people", "建档立卡人数"),
        ("exited_households", "已脱贫户数"),
        ("exited_people", "已脱贫人数"),
    ):
        if key in values:
            table.add_row(label, str(values[key]))
    if "exited_this_year" in values:
        item = values["exited_this_year"]
        table.add_row("其中数据年度当年脱贫", f"{item['households']} 户 {item['people']} 人")
    for key, label in (
        ("exited_below_relapse_line", "已脱贫户人均纯收入不高于 {line:g} 元的比例"),
        ("last_year_exits_below_relapse_line", "上一年脱贫户人均纯收入不高于 {line:g} 元的比例"),
    ):
        if key in values:
            table.add_row(label.format(line=values[key]["line"]), _share(values[key]))
    for key, label in (
        ("industry_measure_share", "产业帮扶占当年措施的比例（不含走访）"),
        ("developmental_measure_share", "开发式措施占当年措施的比例（不含走访）"),
    ):
        if key in values:
            table.add_row(label, _share(values[key]))
    for key, label in (
        ("wrong_exit_rate", "错退疑似人口 ÷ 当年脱贫人口"),
        ("wrong_inclusion_rate", "错评疑似户 ÷ 建档立卡户"),
        ("missed_rate", "漏评疑似人 ÷ 低保特困低收入名单上未建档的人"),
    ):
        if key in values:
            table.add_row(f"{label}（{'、'.join(values[key]['rules'])}）", _share(values[key]))
    if "identification_accuracy" in values:
        item = values["identification_accuracy"]
        parts = (
            ""
            if item.get("note")
            else (f"；错评 {item['wrong_inclusion_households']} 户，漏评 {item['missed_households']} 户")
        )
        table.add_row("识别精准度 =（建档户 − 错评户）÷（建档户 + 漏评户）", _share(item) + parts)
    bunch = values.get("near_line_bunching") or {}
    if bunch:
        names = "、".join(f"{b['township']}{b['village']}" for b in bunch["bunched"][:5])
        table.add_row(
            "收入刚过线“扎堆”的村（IN002 检验）",
            f"{bunch['villages_bunched']} / {bunch['villages_tested']}" + (f"：{names}" if names else ""),
        )
    incidence = [v for v in values.get("village_incidence", []) if v.get("incidence") is not None]
    if incidence:
        worst = sorted(incidence, key=lambda v: -v["incidence"])[:3]
        table.add_row(
            "贫困发生率最高的村",
            "；".join(f"{v['township']}{v['village']} {v['incidence'] * 100:.1f}%" for v in worst),
        )
    for label, text in monitoring_rows(values):
        table.add_row(label, text)
    return table


def transition_table(moves: dict) -> Table:
    """Households by status in the previous snapshot (rows) × status now (columns)."""
    years = f"{moves.get('previous_year') or '?'} → {moves.get('current_year') or '?'}"
    table = Table(title=f"两期户数变化（{years}，行：上一期状态，列：本期状态）", title_justify="left")
    table.add_column("上一期＼本期")
    for column in moves["columns"]:
        table.add_column(column, justify="right")
    for row in moves["rows"]:
        table.add_row(row, *(str(moves["table"][row][c]) for c in moves["columns"]))
    return table


MONITORING_LABELS = (
    ("monitoring_type_脱贫不稳定户", "脱贫不稳定户 ÷ 监测户"),
    ("monitoring_type_边缘易致贫户", "边缘易致贫户 ÷ 监测户"),
    ("monitoring_type_突发严重困难户", "突发严重困难户 ÷ 监测户"),
    ("monitoring_eliminated", "风险已消除 ÷ 监测户"),
    ("monitoring_eliminated_帮扶消除", "帮扶消除 ÷ 已消除"),
    ("monitoring_eliminated_自然消除", "自然消除 ÷ 已消除"),
    ("monitoring_missed", "应纳未纳疑似户 ÷ 未纳入监测的脱贫户（MN101、MN102）"),
    ("monitoring_developmental_of_labour", "有开发式措施 ÷ 有劳动力的监测户"),
)


def monitoring_rows(values: dict) -> list[tuple[str, str]]:
    """The 防返贫监测 indicators (monitoring-era data only), as (label, value) rows."""
    if "monitoring_households" not in values:
        return []
    rows = [("监测户数", str(values["monitoring_households"]))]
    for key, label in MONITORING_LABELS:
        if key in values:
            item = values[key]
            rows.append((label, _share(item) if item.get("share") is not None else item.get("note", "—")))
    speed = values.get("monitoring_months_to_elimination") or {}
    if speed.get("median") is not None:
        rows.append(("识别至消除的月数（中位数）", f"{speed['median']:g} 个月（{speed['households']} 户）"))
    return rows


def breakdown_table(rows: list[dict], by: str) -> Table:
    table = Table(title=f"按{'乡镇' if by == '乡' else '村'}统计", title_justify="left")
    keys = ["township"] if by == "乡" else ["township", "village"]
    families = [c for c in (rows[0] if rows else {}) if c not in keys]
    for name in ["乡镇", *(["村"] if by == "村" else []), *families]:
        table.add_column(name, justify="right" if name in families else "left")
    for row in rows:
        table.add_row(*[escape(str(row[k]) or "（空）") for k in keys], *[str(row[f]) for f in families])
    return table


def render_findings(
    console: Console, result: AuditResult, limit: int = 20, summary: dict | None = None, findings=None
) -> None:
    findings = result.findings if findings is None else findings
    for code, group in findings.groupby("rule", sort=True):
        first = group.iloc[0]
        style = SEVERITY_STYLES.get(first.severity, "")
        title = Text.assemble(
            (f"{code} ", "bold"),
            (f"{SEVERITY_LABELS.get(first.severity, first.severity)} ", style),
            f"{first.title}（{first.family}）  共 {len(group)} 条",
        )
        table = Table(title=title, title_justify="left", show_lines=False, expand=False)
        table.add_column("位置", overflow="fold")
        table.add_column("列", overflow="fold")
        table.add_column("值", overflow="fold", max_width=24)
        table.add_column("户编号", overflow="fold")
        table.add_column("证件号码", overflow="fold")
        table.add_column("说明", overflow="fold")
        for row in group.head(limit).itertuples(index=False):
            table.add_row(
                escape(_location(row)),
                escape(row.column),
                escape(row.value),
                escape(row.household_id),
                escape(row.id_number),
                escape(row.message),
            )
        console.print(table)
        if len(group) > limit:
            console.print(
                f"  … 另有 {len(group) - limit} 条（--limit 调整显示条数，--format csv 导出全部）\n"
            )
    render_summary(console, result, summary or {}, findings)


def render_summary(console: Console, result: AuditResult, summary: dict, findings) -> None:
    counts = Table(title="按规则统计", title_justify="left")
    for name in ("规则", "名称", "规则族", "级别", "条数"):
        counts.add_column(name, justify="right" if name == "条数" else "left")
    titles = {r.code: r for r in result.rules}
    grouped = findings.groupby(["rule", "severity"]).size() if len(findings) else {}
    for (code, severity), n in dict(grouped).items():
        rule = titles.get(code)
        counts.add_row(
            code,
            rule.title if rule else "",
            rule.family if rule else "",
            Text(SEVERITY_LABELS.get(severity, severity), SEVERITY_STYLES.get(severity, "")),
            str(n),
        )
    by_severity = findings["severity"].value_counts()
    total = Text.assemble(
        f"发现问题 {len(findings)} 条：",
        *[
            (f"{SEVERITY_LABELS[s]} {int(by_severity.get(s, 0))}  ", SEVERITY_STYLES[s])
            for s in ("error", "warning", "info")
        ],
    )
    inputs = Table(title="读取的表", title_justify="left")
    for name in ("文件", "工作表", "表", "行数"):
        inputs.add_column(name, justify="right" if name == "行数" else "left")
    for source in result.dataset.sources:
        kind = source.kind + (
            "（由平铺导出拆分）" if source.flat else f"（{source.note}）" if source.split_from >= 0 else ""
        )
        inputs.add_row(escape(source.file), escape(source.sheet), kind, str(source.rows))
    parts: list = [total]
    if baseline := summary.get("baseline"):
        parts.append(
            f"基线 {baseline['file']}：新增 {baseline['new']} 条，基线中已有 {baseline['known']} 条（未显示），"
            f"基线中已消失 {baseline['gone']} 条"
        )
    if waivers := summary.get("waivers"):
        parts.append(
            f"已豁免 {waivers['waived']} 条；过期的豁免 {len(waivers['expired'])} 条，"
            f"未匹配任何问题的豁免 {len(waivers['unmatched'])} 条"
        )
    if len(findings):
        parts.append(counts)
    if (indicators := indicator_table(summary)) is not None:
        parts.append(indicators)
    if summary.get("breakdown"):
        parts.append(breakdown_table(summary["breakdown"], summary["breakdown_by"]))
    if summary.get("transitions"):
        parts.append(transition_table(summary["transitions"]))
    parts.append(inputs)
    skipped = [o for o in result.outcomes if o.status != "ran"]
    if skipped:
        lines = Table(title="未运行的规则", title_justify="left")
        lines.add_column("规则")
        lines.add_column("状态")
        lines.add_column("原因", overflow="fold")
        for outcome in skipped:
            status = "跳过" if outcome.status == "skipped" else Text("出错", "bold red")
            lines.add_row(outcome.code, status, escape(outcome.reason))
        parts.append(lines)
    console.print(Panel(Group(*parts), title="审计摘要", title_align="left"))
