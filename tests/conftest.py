"""Shared test helpers: valid base records, real xlsx/CSV writers, and an audit runner."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from fupin_audit.audit import AuditResult, audit

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_id(region: str = "340826", birth: str = "19900101", seq: int = 123) -> str:
    """A valid 18-digit ID (seq odd = male, even = female)."""
    body = f"{region}{birth}{seq:03d}"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True))
    return body + "10X98765432"[total % 11]


def household(hid: str = "3408260010010001", **overrides: object) -> dict[str, object]:
    """A valid 2017 household record (canonical headers) that trips no rule on its own."""
    record: dict[str, object] = {
        "县": "宿松县",
        "乡": "孚玉镇",
        "村": "城西村",
        "户编号": hid,
        "户主姓名": "张建国",
        "家庭人口数": 2,
        "贫困户属性": "一般贫困户",
        "脱贫状态": "未脱贫",
        "主要致贫原因": "缺资金",
        "工资性收入": 4000,
        "生产经营性收入": 2000,
        "财产性收入": 0,
        "转移性收入": 400,
        "生产经营性支出": 1000,
        "纯收入": 5400,
        "人均纯收入": 2700,
        "识别年度": 2015,
        "年度": 2017,
        "户联系电话": "13912345678",
    }
    record.update(overrides)
    return record


def member(hid: str = "3408260010010001", **overrides: object) -> dict[str, object]:
    """A valid adult male 户主 (canonical headers)."""
    record: dict[str, object] = {
        "县": "宿松县",
        "乡": "孚玉镇",
        "村": "城西村",
        "户编号": hid,
        "姓名": "张建国",
        "性别": "男",
        "证件号码": make_id(birth="19700101", seq=111),
        "与户主关系": "户主",
        "文化程度": "初中",
        "健康状况": "健康",
        "劳动技能": "普通劳动力",
        "务工时间": 6,
        "务工所在地": "合肥",
        "是否参加城乡居民基本医疗保险": "是",
        "年度": 2017,
    }
    record.update(overrides)
    return record


def write_xlsx(
    path: Path, sheets: Mapping[str, Sequence[Mapping[str, object]] | pd.DataFrame], title: str | None = None
) -> Path:
    """A real workbook written by openpyxl: one sheet per table, canonical headers (optional title row)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        ws = wb.create_sheet(name)
        if title:
            ws.append([title])
        ws.append([str(c) for c in frame.columns])
        for values in frame.itertuples(index=False):
            ws.append([None if (isinstance(v, float) and pd.isna(v)) else v for v in values])
    wb.save(path)
    return path


def run(paths: Iterable[Path], **options: object) -> AuditResult:
    return audit([str(p) for p in paths], **options)  # type: ignore[arg-type]


def check_tables(
    tmp_path: Path, select: Sequence[str], year: int | None = 2017, config: Path | None = None, **tables
) -> pd.DataFrame:
    """Write the given tables (households=[…], members=[…], …) to one xlsx and return the findings."""
    names = {
        "households": "户信息",
        "members": "家庭成员",
        "villages": "村信息",
        "measures": "帮扶措施",
        "helpers": "帮扶责任人结对",
        "rosters": "比对名单",
    }
    sheets = {names[kind]: rows for kind, rows in tables.items()}
    path = write_xlsx(tmp_path / "input.xlsx", sheets)
    result = audit([str(path)], year=year, select=select, config=config)
    failed = [f"{o.code}: {o.reason}" for o in result.outcomes if o.status == "failed"]
    assert not failed, failed
    return result.findings


# Picking findings apart in rule tests.


def found(findings, code):
    part = findings[findings["rule"] == code]
    return part.sort_values(["table", "row"]).reset_index(drop=True)


def rows(findings, code, table=None):
    part = found(findings, code)
    if table:
        part = part[part["table"] == table]
    return sorted(int(r) for r in part["row"])


def hit(findings, code, row, table=None):
    part = found(findings, code)
    if table:
        part = part[part["table"] == table]
    hits = part[part["row"] == row]
    assert len(hits) == 1, hits
    return hits.iloc[0]


def message(findings, code, row, table=None):
    return hit(findings, code, row, table)["message"]


@pytest.fixture
def fixtures_dir() -> Path:
    return Path(__file__).parent / "fixtures"
