"""Rule examples as test cases: write an Example's records to a real workbook, run the rule on it,
and say whether it flagged the example's record and stayed silent on the near miss."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_audit.engine.rule import Example, Rule

# The sheet each example table is written to: names the reader recognises as that table.
SHEETS = {
    "households": "户信息",
    "members": "家庭成员",
    "villages": "村信息",
    "measures": "帮扶措施",
    "helpers": "帮扶责任人结对",
    "rosters": "比对名单",
    "work": "已外出务工信息",
    "flat": "建档立卡人员信息",
}


def write_example(path: Path, records: Mapping[str, Sequence[Mapping[str, Any]]], title: str = "") -> Path:
    """One xlsx, a sheet per table, the union of the records' fields as the header (in first-seen
    order), None as an empty cell. Texts stay texts (an ID is never turned into a number). A
    `title` is written on row 1 of every sheet, above the header (as exports put 导出时间)."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False, "strings_to_formulas": False})
    try:
        for table, rows in records.items():
            sheet = book.add_worksheet(SHEETS[table])
            if title:
                sheet.write_string(0, 0, title)
            top = header_row(title)
            header = list(dict.fromkeys(name for row in rows for name in row))
            for col, name in enumerate(header):
                sheet.write_string(top, col, name)
            for r, row in enumerate(rows, top + 1):
                for col, name in enumerate(header):
                    value = row.get(name)
                    if value is None:
                        continue
                    if isinstance(value, bool):
                        sheet.write_string(r, col, "是" if value else "否")
                    elif isinstance(value, int | float):
                        sheet.write_number(r, col, value)
                    else:
                        sheet.write_string(r, col, str(value))
    finally:
        book.close()
    return path


def header_row(title: str) -> int:
    """The 0-based row of the header: below the title row, if there is one."""
    return 1 if title else 0


def run_example(
    rule: Rule,
    records: Mapping[str, Sequence[Mapping[str, Any]]],
    year: int | None,
    folder: Path,
    *,
    title: str = "",
    config: str = "",
    previous: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> tuple[pd.DataFrame, str]:
    """The rule's findings on the records (with the example's title row and config file), and its
    outcome ("ran", "skipped: …", "failed: …")."""
    from fupin_audit.audit import audit
    from fupin_audit.engine.registry import Registry

    registry = Registry()
    registry.add(rule, "example")
    path = write_example(folder / f"{rule.code}_example.xlsx", records, title)
    config_path = None
    if config:
        config_path = folder / f"{rule.code}_example.toml"
        config_path.write_text(config, encoding="utf-8")
    # Each sheet is read as its table (--table), however few columns the example gives it; a flat
    # export is read as members, which the reader splits into households and members.
    forced = [f"{'members' if t == 'flat' else t}={path}:{SHEETS[t]}" for t in records]
    before: list[str] = []
    if previous:  # a two-snapshot (DT) example: the previous snapshot in a workbook of its own
        old = write_example(folder / f"{rule.code}_previous.xlsx", previous, title)
        forced += [f"{'members' if t == 'flat' else t}={old}:{SHEETS[t]}" for t in previous]
        before = [str(old)]
    result = audit(
        [str(path)], year=year, registry=registry, tables=forced, config=config_path, previous=before
    )
    outcome = result.outcomes[0]
    status = outcome.status if outcome.status == "ran" else f"{outcome.status}: {outcome.reason}"
    return result.findings, status


def example_problems(rule: Rule, folder: Path | None = None) -> list[str]:
    """What is wrong with the rule's example (empty: it is true). A text example is not checkable."""
    example = rule.example
    if not isinstance(example, Example):
        return [f"{rule.code}: the example is text, not an Example with records"]
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="fupin_example_") as tmp:
            return example_problems(rule, Path(tmp))
    problems = []
    table, index = example.flagged  # type: ignore[misc]
    setting = {"title": example.title, "config": example.config, "previous": example.previous}
    findings, status = run_example(rule, example.records, example.year, folder, **setting)
    if status != "ran":
        return [f"{rule.code}: the example did not run ({status})"]
    at_sheet = findings[findings["sheet"] == SHEETS[table.removeprefix("previous.")]]
    at_sheet = at_sheet[
        at_sheet["table"].astype(str).str.startswith("previous.") == table.startswith("previous.")
    ]
    # a sheet-wide finding has no row; a record's Excel row is below the header (row 1, or 2 under a title)
    first = header_row(example.title) + 2
    hit = at_sheet["row"].isna().any() if index is None else (at_sheet["row"] == index + first).any()
    if not hit:
        where = f"{table} record {index}" if index is not None else f"the {table} sheet"
        seen = [f"{s}:{r}: {m}" for s, r, m in findings[["sheet", "row", "message"]].itertuples(index=False)]
        problems.append(f"{rule.code}: {where} is not flagged (findings: {seen or 'none'})")
    near_folder = folder / "near_miss"
    near_folder.mkdir(exist_ok=True)
    findings, status = run_example(rule, example.with_near_miss(), example.year, near_folder, **setting)
    if status != "ran":
        problems.append(f"{rule.code}: the near miss did not run ({status})")
    elif len(findings):
        seen = [f"{s}:{r}: {m}" for s, r, m in findings[["sheet", "row", "message"]].itertuples(index=False)]
        problems.append(f"{rule.code}: the near miss is flagged: {seen}")
    return problems


def describe_example(example: str | Example) -> list[str]:
    """Readable lines for `explain`: the sentence, the records (the flagged one marked) and the
    near miss."""
    if not isinstance(example, Example):
        return [example]
    lines = [example.text]
    year = f"（数据年度 {example.year}）" if example.year is not None else ""
    lines.append(f"数据{year}：")
    if example.title:
        lines.append(f"  每张表的标题行：{example.title}")
    flagged_table, flagged_index = example.flagged  # type: ignore[misc]
    for table, rows in (example.previous or {}).items():
        for i, row in enumerate(rows):
            cells = "，".join(f"{k} = {_cell(v)}" for k, v in row.items() if v is not None)
            mark = "  ← 报告" if ("previous." + table, i) == (flagged_table, flagged_index) else ""
            lines.append(f"  上一期 {SHEETS[table]} 第 {i + 1} 条：{cells or '（空）'}{mark}")
    for table, rows in example.records.items():
        for i, row in enumerate(rows):
            cells = "，".join(f"{k} = {_cell(v)}" for k, v in row.items() if v is not None)
            mark = "  ← 报告" if (table, i) == (flagged_table, flagged_index) else ""
            lines.append(f"  {SHEETS[table]} 第 {i + 1} 条：{cells or '（空）'}{mark}")
        if table == flagged_table and flagged_index is None:
            lines.append(f"  ← 报告 {SHEETS[table]} 整张表")
    changes = "；".join(
        f"{SHEETS[table]} 第 {int(i) + 1} 条 " + "，".join(f"{k} 改为 {_cell(v)}" for k, v in values.items())
        for table, rows in example.near_miss.items()
        for i, values in rows.items()
    )
    lines.append(f"不报告：{example.near_miss_text}（{changes}）")
    if example.config:
        lines.append("配置文件（--config）：")
        lines += [f"  {line}" for line in example.config.strip().splitlines()]
    return lines


def _cell(value: Any) -> str:
    if value is None:
        return "（空）"
    if isinstance(value, float) and value.is_integer():
        return f"{value:.2f}"
    return str(value)
