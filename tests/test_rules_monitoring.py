"""防返贫监测 rules (MN101–MN171, DQ060–DQ073): real xlsx in the 监测对象信息 layout — one row per
person, household fields repeated, two title rows (the second "导出时间：2023-12-18") — read by the
loader; every rule gets records that must be flagged and near misses that must not."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from conftest import found, make_id, message, rows
from fupin_audit.audit import audit

EXPORTED = "导出时间：2023-12-18"
MEASURES = ("产业帮扶", "就业帮扶", "公益岗位帮扶", "健康帮扶", "教育帮扶", "金融帮扶", "社会帮扶", "综合保障",
            "住房安全保障", "饮水安全保障")  # fmt: skip


def head(**overrides: object) -> dict[str, object]:
    """A 40-year-old 户主, 普通劳动力, insured: a member who trips nothing."""
    record: dict[str, object] = {
        "证件类型": "居民身份证",
        "证件号码": make_id(birth="19830101", seq=111),
        "姓名": "张建国",
        "性别": "1",
        "民族": "汉族",
        "与户主关系": "户主",
        "文化程度": "初中",
        "在校生状况": "非在校生",
        "健康状况": "健康",
        "劳动技能": "普通劳动力",
        "是否参加城乡居民基本医疗保险": "是",
        "是否参加城镇职工基本医疗保险": "否",
        "是否参加大病保险": "是",
        "享受低保政策情况": "未享受",
        "享受特困供养政策情况": "不享受",
    }
    record.update(overrides)
    return record


def child(**overrides: object) -> dict[str, object]:
    """A 10-year-old in 小学 (born 2013-05-01; 10 at the export date 2023-12-18)."""
    return head(
        证件号码=make_id(birth="20130501", seq=112), 姓名="张小明", 与户主关系="之子", 文化程度="",
        在校生状况="小学", 劳动技能="无劳动力", **overrides,
    )  # fmt: skip


def family(hid: str, people: list[dict[str, object]] | None = None, **fields: object) -> list[dict[str, object]]:
    """The rows of one household: its fields repeated on every person (as the export does). Default:
    a 脱贫户, not monitored, income 20000, no gap, 产业帮扶 filled."""
    household: dict[str, object] = {
        "县": "宿松县",
        "乡": "孚玉镇",
        "村": "城西村",
        "户编号": hid,
        "户类型": "脱贫户",
        "监测对象类别": "",
        "致贫/返贫风险1": "",
        "致贫/返贫风险2": "",
        "风险是否已消除": "",
        "风险消除方式": "",
        "识别监测时间": "",
        "消除监测时间": "",
        "人均纯收入（元）": 20000,
        "是否危房户": "否",
        "是否解决安全饮用水": "是",
        "是否通生活用电": "是",
        **{m: "" for m in MEASURES},
        "产业帮扶": "种植业",
    }
    household.update(fields)
    people = people if people is not None else [head(), child()]
    return [{**household, **p} for p in people]


def write_export(path: Path, records: list[dict[str, object]], title_date: str = EXPORTED) -> Path:
    """A real workbook (openpyxl) in the 监测对象信息 layout: two title rows, header on row 3."""
    columns: list[str] = []
    for record in records:
        columns += [c for c in record if c not in columns]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "监测对象信息"
    ws.append(["（自定义）监测对象信息"])
    ws.append([title_date])
    ws.append(columns)
    for record in records:
        ws.append([record.get(c, "") if record.get(c, "") != "" else None for c in columns])
    wb.save(path)
    return path


def check(tmp_path: Path, code: str, *households: list[dict[str, object]], config: str | None = None):
    records = [r for h in households for r in h]
    path = write_export(tmp_path / "监测对象信息.xlsx", records)
    options: dict[str, object] = {"select": [code]}
    if config is not None:
        (tmp_path / "config.toml").write_text(config, encoding="utf-8")
        options["config"] = tmp_path / "config.toml"
    result = audit([str(path)], **options)  # type: ignore[arg-type]
    outcome = next(o for o in result.outcomes if o.code == code)
    assert outcome.status not in ("failed", "skipped"), (outcome.status, outcome.reason)
    return result.findings


def household_rows(findings, code):
    """Excel rows of the flagged household findings (a household's first person row)."""
    return rows(findings, code, "households")


LINE_2023 = "[monitoring_line]\n2023 = 7300\n"


def test_probe(tmp_path):
    f = check(tmp_path, "MN101", family("H1", **{"人均纯收入（元）": 7000}), config=LINE_2023)
    print(f.T)
    assert household_rows(f, "MN101") == [4]
