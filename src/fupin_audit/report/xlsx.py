"""The XLSX report: 汇总 (inputs, parameters, counts, indicators, breakdowns, charts) and 明细 (every finding)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupin_audit.findings import FINDING_COLUMNS, SEVERITY_LABELS
from fupin_audit.report.atomic import atomic_open
from fupin_audit.report.protect import neutralise_formulas

if TYPE_CHECKING:
    from fupin_audit.audit import AuditResult

HEADER_LABELS = {
    "rule": "规则", "severity": "级别", "family": "规则族", "title": "名称", "message": "说明", "table": "表",
    "file": "文件", "sheet": "工作表", "row": "行", "column": "列", "value": "值", "household_id": "户编号",
    "person_id": "人口编号", "id_number": "证件号码", "township": "乡镇", "village": "村", "related": "相关记录",
}  # fmt: skip
# Excel's rows per sheet, the header row included: more findings continue on 明细2, 明细3, …
MAX_SHEET_ROWS = 1_048_576
DETAIL_SHEET = "明细"
WIDTHS = {
    "message": 60,
    "title": 22,
    "file": 18,
    "related": 40,
    "value": 20,
    "id_number": 21,
    "household_id": 18,
}


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), item, out)
    else:
        out.append((prefix, ", ".join(map(str, value)) if isinstance(value, list) else str(value)))


def detail_sheets(findings: int) -> list[str]:
    """Names of the sheets the findings take: 明细, then 明细2, 明细3, … past Excel's row limit."""
    per_sheet = MAX_SHEET_ROWS - 1
    count = max(1, -(-findings // per_sheet))
    return [DETAIL_SHEET] + [f"{DETAIL_SHEET}{i}" for i in range(2, count + 1)]


def write_report(
    path: Path, result: AuditResult, findings: pd.DataFrame, summary: dict[str, Any]
) -> list[str]:
    """Write the report atomically (XlsxWriter, native charts). Returns warnings for the user (the
    findings did not fit one sheet)."""
    import xlsxwriter

    sheets = detail_sheets(len(findings))

    with atomic_open(path, "wb") as fh:
        book = xlsxwriter.Workbook(fh, {"strings_to_numbers": False, "strings_to_formulas": False})
        styles = {
            "title": book.add_format({"bold": True, "font_size": 14}),
            "head": book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1}),
            "text": book.add_format({"num_format": "@"}),
            "pct": book.add_format({"num_format": "0.0%"}),
        }
        summary_sheet = book.add_worksheet("汇总")
        _summary(book, summary_sheet, styles, result, findings, summary)
        per_sheet = MAX_SHEET_ROWS - 1
        for i, name in enumerate(sheets):
            _details(book.add_worksheet(name), styles, findings.iloc[i * per_sheet : (i + 1) * per_sheet])
        book.close()
    if len(sheets) == 1:
        return []
    return [
        f"{path}: {len(findings):,} 条问题超过 Excel 单个工作表的行数上限（{MAX_SHEET_ROWS:,} 行，含表头），"
        f"明细分在 {len(sheets)} 个工作表：{'、'.join(sheets)}"
    ]


def _table(sheet, row: int, title: str, header: list[str], rows: list[list[Any]], styles) -> int:
    sheet.write_string(row, 0, title, styles["title"])
    row += 1
    for col, name in enumerate(header):
        sheet.write_string(row, col, name, styles["head"])
    for values in rows:
        row += 1
        for col, value in enumerate(values):
            if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
                sheet.write_number(row, col, float(value))
            else:
                sheet.write_string(row, col, "" if value is None else str(value))
    return row + 2


def _summary(
    book, sheet, styles, result: AuditResult, findings: pd.DataFrame, summary: dict[str, Any]
) -> None:
    sheet.set_column(0, 0, 34)
    sheet.set_column(1, 8, 16)
    row = 0
    sheet.write_string(row, 0, "fupin-audit 审计报告", styles["title"])
    sheet.write_string(
        row + 1,
        0,
        f"运行时间 {summary['started']}，版本 {summary['version']}，退出码 {summary.get('exit_code', '')}",
    )
    row += 3
    inputs = [
        [i["file"], i["sha256"], i["bytes"], "、".join(f"{k} {v}" for k, v in i["rows"].items())]
        for i in summary["inputs"]
    ]
    row = _table(sheet, row, "输入文件", ["文件", "SHA-256", "字节", "行数"], inputs, styles)
    counts = findings.groupby(["family", "rule", "title", "severity"]).size().reset_index(name="n")
    rule_rows = [
        [r.family, r.rule, r.title, SEVERITY_LABELS.get(r.severity, r.severity), int(r.n)]
        for r in counts.itertuples()
    ]
    row = _table(sheet, row, "按规则统计", ["规则族", "规则", "名称", "级别", "条数"], rule_rows, styles)
    families = findings["family"].astype(object).value_counts()  # only the families present, by count
    family_start = row + 1
    row = _table(
        sheet, row, "按规则族统计", ["规则族", "条数"], [[k, int(v)] for k, v in families.items()], styles
    )
    if len(families):
        chart = book.add_chart({"type": "bar"})
        chart.add_series({
            "name": "问题条数",
            "categories": ["汇总", family_start + 1, 0, family_start + len(families), 0],
            "values": ["汇总", family_start + 1, 1, family_start + len(families), 1],
        })  # fmt: skip
        chart.set_title({"name": "各规则族问题条数"})
        chart.set_legend({"none": True})
        sheet.insert_chart(3, 6, chart)
    indicators = summary.get("indicators", {})
    row = _table(sheet, row, "指标", ["指标", "数值"], _indicator_rows(indicators), styles)
    row = _township_breakdown(book, sheet, styles, findings, row)
    row = _income_distribution(book, sheet, styles, result, row)
    row = _transitions(book, sheet, styles, summary.get("transitions"), row)
    row = _monitoring_chart(book, sheet, styles, summary.get("indicators") or {}, row)
    skipped = [[code, reason] for code, reason in summary["rules"]["skipped"].items()]
    skipped += [[code, f"出错：{reason}"] for code, reason in summary["rules"]["failed"].items()]
    row = _table(sheet, row, "未运行的规则", ["规则", "原因"], skipped, styles)
    params: list[tuple[str, str]] = []
    _flatten("", summary["policy"], params)
    _table(sheet, row, "适用的政策参数", ["参数", "值"], [list(p) for p in params], styles)


def _monitoring_chart(book, sheet, styles, indicators: dict[str, Any], row: int) -> int:
    """Monitored households by 监测对象类别 and how many were eliminated, as a table and a chart (2021+
    data only: the monitoring indicators are absent otherwise)."""
    kinds = {
        key.removeprefix("monitoring_type_"): value
        for key, value in indicators.items()
        if key.startswith("monitoring_type_") and isinstance(value, dict)
    }
    if not kinds:
        return row
    eliminated = indicators.get("monitoring_eliminated") or {}
    rows = [[name, value.get("numerator") or 0] for name, value in kinds.items()]
    if eliminated.get("numerator") is not None:
        rows.append(["其中已消除风险", eliminated["numerator"]])
    start = row
    row = _table(sheet, row, "监测对象（户）", ["类别", "户数"], rows, styles)
    chart = book.add_chart({"type": "bar"})
    chart.add_series({
        "categories": [sheet.name, start + 2, 0, start + 1 + len(rows), 0],
        "values": [sheet.name, start + 2, 1, start + 1 + len(rows), 1],
    })  # fmt: skip
    chart.set_title({"name": "监测对象类别与风险消除（户）"})
    chart.set_legend({"none": True})
    sheet.insert_chart(start, 8, chart)
    return max(row, start + 16)


def _indicator_rows(indicators: dict[str, Any]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for key, value in indicators.items():
        if isinstance(value, dict) and "numerator" in value:
            share = "" if value.get("share") is None else f"{value['share'] * 100:.1f}%"
            rows.append(
                [
                    key,
                    f"{share}（{value['numerator']} / {value['denominator']}）"
                    if share
                    else value.get("note", ""),
                ]
            )
        elif isinstance(value, int | float):
            rows.append([key, value])
        elif key == "monitoring_months_to_elimination" and value.get("median") is not None:
            rows.append([key, f"{value['median']:g} 个月（{value['households']} 户）"])
        elif key == "near_line_bunching" and value:
            rows.append([key, f"{value['villages_bunched']} / {value['villages_tested']} 个村"])
    return rows


def _transitions(book, sheet, styles, moves: dict[str, Any] | None, row: int) -> int:
    """The two-snapshot transition table (--previous), with a stacked chart: per previous status,
    where its households went."""
    if not moves:
        return row
    start = row + 1
    rows = [[r, *(moves["table"][r][c] for c in moves["columns"])] for r in moves["rows"]]
    title = f"两期户数变化（{moves.get('previous_year') or '?'} → {moves.get('current_year') or '?'}）"
    row = _table(sheet, row, title, ["上一期＼本期", *moves["columns"]], rows, styles)
    chart = book.add_chart({"type": "bar", "subtype": "stacked"})
    for i, column in enumerate(moves["columns"], start=1):
        chart.add_series({
            "name": column,
            "categories": ["汇总", start + 1, 0, start + len(rows), 0],
            "values": ["汇总", start + 1, i, start + len(rows), i],
        })  # fmt: skip
    chart.set_title({"name": "上一期各状态的户本期去向"})
    sheet.insert_chart(start, 8, chart)
    return row


def _township_breakdown(book, sheet, styles, findings: pd.DataFrame, row: int) -> int:
    if findings.empty:
        return row
    table = findings.assign(township=findings["township"].replace("", "（空）"))
    pivot = table.groupby(["township", "family"]).size().unstack("family", fill_value=0)
    start = row + 1
    rows = [[t, *map(int, values)] for t, values in zip(pivot.index, pivot.to_numpy(), strict=True)]
    row = _table(sheet, row, "按乡镇、规则族统计", ["乡镇", *pivot.columns], rows, styles)
    chart = book.add_chart({"type": "column", "subtype": "stacked"})
    for i, family in enumerate(pivot.columns, start=1):
        chart.add_series({
            "name": family,
            "categories": ["汇总", start + 1, 0, start + len(pivot), 0],
            "values": ["汇总", start + 1, i, start + len(pivot), i],
        })  # fmt: skip
    chart.set_title({"name": "各乡镇问题条数"})
    sheet.insert_chart(20, 6, chart)
    by_village = findings.groupby(["township", "village", "family"]).size().unstack("family", fill_value=0)
    rows = [
        [t, v, *map(int, values)]
        for (t, v), values in zip(by_village.index, by_village.to_numpy(), strict=True)
    ]
    return _table(sheet, row, "按村、规则族统计", ["乡镇", "村", *by_village.columns], rows, styles)


def _income_distribution(book, sheet, styles, result: AuditResult, row: int) -> int:
    """Histogram of exited households' per-capita income, bins holding the poverty and 返贫风险 lines marked."""
    households = result.dataset.tables.get("households")
    if households is None or not {"人均纯收入", "脱贫状态"} <= set(households.data.columns):
        return row
    from fupin_audit.schema.codes import EXITED

    data = households.data
    income = data.loc[data["脱贫状态"].isin(EXITED), "人均纯收入"].dropna()
    if income.empty:
        return row
    policy = result.policy
    years = data["年度"].dropna() if "年度" in data else pd.Series([result.year])
    year = int(years.mode().iloc[0]) if len(years.dropna()) else None
    # The national line of the data year (per-province lines differ; the findings name each one).
    found = policy.resolve("poverty_line", year) if year else None
    poverty_line = float(found.value) if found is not None else None
    step = 500
    top = int(min(max(income.max(), policy.relapse_risk_line * 2), 20000) // step + 1) * step
    edges = np.arange(0, top + step, step)
    counts, _ = np.histogram(income.clip(0, top - 1), bins=edges)
    labels = [f"{int(a)}–{int(b)}" for a, b in pairwise(edges)]
    start = row + 1
    row = _table(
        sheet,
        row,
        "已脱贫户人均纯收入分布（元）",
        ["区间", "户数"],
        [[lab, int(c)] for lab, c in zip(labels, counts, strict=True)],
        styles,
    )
    chart = book.add_chart({"type": "column"})
    points = [None] * len(labels)
    marks = []
    for value, colour, name in (
        (poverty_line, "#C00000", "贫困线"),
        (policy.relapse_risk_line, "#ED7D31", "返贫风险线"),
    ):
        if value:
            index = int(value // step)
            if index < len(points):
                points[index] = {"fill": {"color": colour}}
                marks.append(f"{name} {value:g} 元（{labels[index]}）")
    chart.add_series({
        "name": "户数",
        "categories": ["汇总", start + 1, 0, start + len(labels), 0],
        "values": ["汇总", start + 1, 1, start + len(labels), 1],
        "points": points,
        "gap": 20,
    })  # fmt: skip
    chart.set_title({"name": "已脱贫户人均纯收入分布；" + "；".join(marks)})
    chart.set_x_axis({"name": "人均纯收入（元）"})
    chart.set_y_axis({"name": "户数"})
    chart.set_legend({"none": True})
    chart.set_size({"width": 900, "height": 360})
    sheet.insert_chart(38, 6, chart)
    return row


def _details(sheet, styles, findings: pd.DataFrame) -> None:
    frame = neutralise_formulas(findings.reindex(columns=list(FINDING_COLUMNS)))
    for col, name in enumerate(FINDING_COLUMNS):
        sheet.write_string(0, col, HEADER_LABELS[name], styles["head"])
        sheet.set_column(col, col, WIDTHS.get(name, 10), styles["text"])
    rows = frame.astype(object).where(frame.notna(), "").to_numpy()
    row_col = FINDING_COLUMNS.index("row")
    for r, values in enumerate(rows, start=1):
        for c, value in enumerate(values):
            if c == row_col and value != "":
                sheet.write_number(r, c, int(value))
            else:
                sheet.write_string(r, c, str(value))  # IDs stay text: never 3.4E+17
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, max(len(rows), 1), len(FINDING_COLUMNS) - 1)
