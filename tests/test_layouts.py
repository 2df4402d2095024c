"""Real export layouts (tests/fixtures/layouts/, copied from the spec's layouts/): each header list, written
as a workbook with title rows and plausible rows, is read with every column either mapped to a field or
listed as unrecognised, the sheet is recognised as the right table, and no required column is reported
missing (DQ001) that the export does not really lack.

Values are made from the schema (a code list's first value for a code field, a valid ID for an ID …), so
the rows are plausible for whatever field a header maps to.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter

from fupin_audit.audit import audit
from fupin_audit.io.header import normalise_header
from fupin_audit.load import IGNORED_HEADERS, canonical, load
from fupin_audit.schema.codes import code_list
from fupin_audit.schema.fields import Kind
from fupin_audit.schema.models import MODELS

LAYOUTS = Path(__file__).parent / "fixtures" / "layouts"
IDS = ["340826196705151600", "34082619900101123X", "340826201503040027"]


def _valid_id(body: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return body + "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


PEOPLE = [  # (ID, 与户主关系, 性别, 出生日期)
    (_valid_id("34082619670515160"), "户主", "2", "19670515"),
    (_valid_id("34082619900101123"), "之子", "1", "19900101"),
    (_valid_id("34082620150304002"), "之孙女", "2", "20150304"),
]


def headers_of(name: str) -> list[list[str]]:
    """The header lists of a layout file (a file may list two exports, each after a # line)."""
    groups: list[list[str]] = [[]]
    for line in (LAYOUTS / name).read_text("utf-8").splitlines():
        line = line.strip()
        if line.startswith("#"):
            if groups[-1]:
                groups.append([])
            continue
        if line and "=" not in line:
            groups[-1].append(line.split()[0] if line.startswith(("aa", "AA", "ac", "AC")) else line)
    return [g for g in groups if g]


def value_for(header: str, person: int, household: int) -> str:
    """A plausible cell for whatever field the header maps to."""
    name = normalise_header(header)[0]
    pid, relation, sex, birth = PEOPLE[person]
    for kind in ("flat", "villages", "work", "work_plans"):
        field = canonical(kind, name)
        if field:
            break
    else:
        return "某某"
    fixed = {
        "户编号": f"3408260010{household:06d}",
        "证件号码": pid,
        "户主证件号码": PEOPLE[0][0],
        "与户主关系": relation,
        "性别": sex,
        "出生日期": birth,
        "家庭人口数": "3",
        "人均纯收入": "8500",
        "识别年度": "2014",
        "脱贫年度": "2016",
    }
    if field in fixed:
        return fixed[field]
    model = next(m for k in ("households", "members", "villages", "work", "work_plans")
                 if field in (m := MODELS[k]).specs())  # fmt: skip
    spec = model.specs()[field]
    by_kind = {
        Kind.YESNO: "是",
        Kind.MONEY: "1000",
        Kind.INT: "2",
        Kind.NUMBER: "1.5",
        Kind.YEAR: "2016",
        Kind.MONTH: "202304",
        Kind.DATE: "2023-04-01",
        Kind.PHONE: "13912345678",
        Kind.ID_NUMBER: pid,
    }
    if spec.kind is Kind.CODE and spec.codelist:
        return code_list(spec.codelist).values[0]
    return by_kind.get(spec.kind, "文本")


def write_layout(
    path: Path, sheet: str, headers: list[str], *, title_rows: int = 2, blank: str | None = None
) -> Path:
    """Two households of three people under the layout's headers; `blank`: that column's cell of the
    first data row is left empty (a planted defect)."""
    book = xlsxwriter.Workbook(path)
    ws = book.add_worksheet(sheet)
    ws.write(0, 0, f"{sheet}（自定义导出）")
    if title_rows == 2:
        ws.write(1, 0, "导出时间：2023-12-18")
    for j, header in enumerate(headers):
        ws.write_string(title_rows, j, header)
    row = title_rows + 1
    for household in (1, 2):
        for person in range(3):
            for j, header in enumerate(headers):
                empty = header == blank and row == title_rows + 1
                ws.write_string(row, j, "" if empty else value_for(header, person, household))
            row += 1
    book.close()
    return path


CASES = [
    # (layout file, group, sheet name, expected table kinds)
    ("2019-建档立卡贫困人口.txt", 0, "建档立卡贫困人口", {"households", "members"}),
    ("2022-脱贫人口与边缘易致贫人口名单.txt", 0, "脱贫人口与边缘易致贫人口名单", {"households", "members"}),
    ("2023-监测对象信息.txt", 0, "监测对象信息", {"households", "members", "measures"}),
    ("2023-乡村建设户信息.txt", 0, "户信息", {"households"}),
    ("2023-务工月监测.txt", 0, "已外出务工信息", {"work"}),
    ("2023-务工月监测.txt", 1, "计划外出务工信息", {"work_plans"}),
    ("2023-行政村信息.txt", 0, "行政村信息", {"villages"}),
]


@pytest.mark.parametrize(("layout", "group", "sheet", "kinds"), CASES, ids=[c[0] + str(c[1]) for c in CASES])
def test_layout_is_read_with_every_column_accounted_for(tmp_path, layout, group, sheet, kinds):
    headers = headers_of(layout)[group]
    path = write_layout(tmp_path / f"{sheet}.xlsx", sheet, headers)
    dataset = load([path])
    assert set(dataset.tables) == kinds
    mapped = {written for s in dataset.sources for written in s.headers.values()}
    said = " ".join(d.message for d in dataset.diagnostics if d.message.startswith(("未识别的列", "列 ")))
    for header in headers:
        ignored = normalise_header(header)[0] in IGNORED_HEADERS
        assert header in mapped or f"“{header}”" in said or ignored, header
    assert not [d for d in dataset.diagnostics if d.level == "error"]


@pytest.mark.parametrize(("layout", "group", "sheet", "kinds"), CASES, ids=[c[0] + str(c[1]) for c in CASES])
def test_layout_has_no_false_missing_column(tmp_path, layout, group, sheet, kinds):
    headers = headers_of(layout)[group]
    path = write_layout(tmp_path / f"{sheet}.xlsx", sheet, headers)
    result = audit([str(path)], select=["DQ001", "DQ002", "DQ003", "DQ004", "DQ005"])
    assert result.findings.empty, result.findings[["rule", "message"]].to_string()


@pytest.mark.parametrize(("layout", "group", "sheet", "kinds"), CASES, ids=[c[0] + str(c[1]) for c in CASES])
def test_layout_with_an_empty_required_cell_is_flagged(tmp_path, layout, group, sheet, kinds):
    """The positive counterpart of the test above: the same export with one required cell left empty."""
    headers = headers_of(layout)[group]
    required = [h for h in headers if _required(h, kinds)]
    # 证件号码 where the export has it: required in every era (a monitoring export's 姓名 is not)
    blank = "证件号码" if "证件号码" in required else required[0]
    path = write_layout(tmp_path / f"{sheet}.xlsx", sheet, headers, blank=blank)
    findings = audit([str(path)], select=["DQ001", "DQ002", "DQ003", "DQ004", "DQ005"]).findings
    assert set(zip(findings["rule"], findings["column"], findings["row"], strict=True)) == {
        ("DQ002", blank, 4)
    }


def _required(header: str, kinds: set[str]) -> bool:
    name = normalise_header(header)[0]
    fields = [(kind, canonical(kind, name)) for kind in kinds]
    return any(field and MODELS[kind].specs()[field].required for kind, field in fields)


def test_monitoring_export_maps_the_meaningful_columns(tmp_path):
    headers = headers_of("2023-监测对象信息.txt")[0]
    dataset = load([write_layout(tmp_path / "m.xlsx", "监测对象信息", headers)])
    households = dataset.tables["households"]
    # every one of the 85 columns is a field: nothing listed as unrecognised
    assert not [d for d in dataset.diagnostics if d.message.startswith("未识别的列")]
    assert households.data["识别监测时间"].tolist() == [202304, 202304]
    assert households.data["监测对象类别"].astype(str).tolist() == ["脱贫不稳定户"] * 2
    assert households.data["脱贫状态"].astype(str).tolist() == ["已脱贫"] * 2  # 户类型 脱贫户 (C4)
    assert households.data["是否监测对象"].tolist() == [True, True]
    assert households.data["家庭人口数"].tolist() == [3, 3]  # counted from the member rows
    # the reference date is the export's 导出时间
    assert str(dataset.title_dates[0].date()) == "2023-12-18"
    # the two columns 公益岗位帮扶 and 公益性岗位帮扶 are one field: both values become measures
    measures = dataset.tables["measures"].data
    assert set(measures["措施类型"].astype(str)) >= {"产业帮扶", "公益岗位帮扶", "易地搬迁", "基础设施"}


def test_national_field_codes_as_headers(tmp_path):
    member_codes = ["aac001", "aab002", "aab006", "aab003", "aab004", "aab005", "aab007", "aab017", "aab008"]
    household_codes = ["aac001", "aac029", "aac031", "aac017", "aac007", "aar010", "aac006", "aac023"]
    book = xlsxwriter.Workbook(tmp_path / "codes.xlsx")
    for name, codes, rows in (
        ("家庭成员", member_codes, [["340826001000001", "张三", "户主", "1", PEOPLE[0][0], "19670515", "汉族",
                                      "健康", "小学"]]),
        ("户信息", household_codes, [["340826001000001", "张三", PEOPLE[0][0], "1", "09", "1", "05", "2016"]]),
    ):  # fmt: skip
        ws = book.add_worksheet(name)
        for j, code in enumerate(codes):
            ws.write_string(0, j, code.upper() if name == "户信息" else code)
        for i, row in enumerate(rows, start=1):
            for j, cell in enumerate(row):
                ws.write_string(i, j, cell)
    book.close()
    dataset = load([tmp_path / "codes.xlsx"])
    members, households = dataset.tables["members"].data, dataset.tables["households"].data
    assert members.loc[0, "与户主关系"] == "户主" and members.loc[0, "性别"] == "男"
    assert households.loc[0, "主要致贫原因"] == "缺资金"  # aac007 "09"
    assert households.loc[0, "脱贫状态"] == "已脱贫(享受政策)"  # aar010 "1"
    assert households.loc[0, "贫困户属性"] == "一般脱贫户"  # aac006 "05" (sources disagree: see 字段代码.txt)


def test_second_risk_eliminated_column_is_the_after_elimination_block(tmp_path):
    headers = ["县", "乡", "村", "户编号", "证件号码", "与户主关系", "户类型", "监测对象类别", "风险是否已消除",
               "识别监测时间", "风险消除后是否住房损毁", "风险是否已消除"]  # fmt: skip
    book = xlsxwriter.Workbook(tmp_path / "m.xlsx")
    ws = book.add_worksheet("监测对象信息")
    row = ["宿松县", "孚玉镇", "城西村", "340826001000001", PEOPLE[0][0], "户主", "脱贫户", "边缘易致贫户", "否",
           "202304", "否", "是"]  # fmt: skip
    for j, (header, cell) in enumerate(zip(headers, row, strict=True)):
        ws.write_string(0, j, header)
        ws.write_string(1, j, cell)
    book.close()
    dataset = load([tmp_path / "m.xlsx"])
    households = dataset.tables["households"].data
    assert households.loc[0, "风险是否已消除"] is False or households.loc[0, "风险是否已消除"] == False  # noqa: E712
    assert bool(households.loc[0, "风险消除后风险是否已消除"]) is True
    assert not [d for d in dataset.diagnostics if "都是字段" in d.message]


def test_unknown_and_ambiguous_columns_are_listed_once_per_sheet(tmp_path):
    book = xlsxwriter.Workbook(tmp_path / "h.xlsx")
    ws = book.add_worksheet("户信息")
    headers = ["户编号", "人均纯收入", "脱贫状态", "致贫原因", "村干部意见", "备用字段"]
    row = ["340826001000001", "5000", "未脱贫", "因病", "同意", "x"]
    for j, (header, cell) in enumerate(zip(headers, row, strict=True)):
        ws.write_string(0, j, header)
        ws.write_string(1, j, cell)
    book.close()
    messages = [d.message for d in load([tmp_path / "h.xlsx"]).diagnostics]
    unknown = [m for m in messages if m.startswith("未识别的列")]
    assert unknown == ["未识别的列（未参与检查）：E“村干部意见”、F“备用字段”"]
    assert any(
        "D“致贫原因” 可能是 主要致贫原因或次要致贫原因或致贫返贫风险1，按 主要致贫原因 检查" in m
        for m in messages
    )


def test_lone_cause_column_of_a_monitoring_export_is_the_first_risk(tmp_path):
    headers = headers_of("2022-脱贫人口与边缘易致贫人口名单.txt")[0]
    dataset = load([write_layout(tmp_path / "l.xlsx", "名单", headers, title_rows=1)])
    households = dataset.tables["households"]
    assert "致贫返贫风险1" in households.fields and "主要致贫原因" not in households.fields


def test_yes_no_without_shi_fou_and_numbered_repeats(tmp_path):
    book = xlsxwriter.Workbook(tmp_path / "h.xlsx")
    ws = book.add_worksheet("户信息")
    headers = ["户编号", "人均纯收入", "脱贫状态", "通生活用电", "户联系电话1", "户联系电话2"]
    row = ["340826001000001", "5000", "未脱贫", "否", "13912345678", "13812345678"]
    for j, (header, cell) in enumerate(zip(headers, row, strict=True)):
        ws.write_string(0, j, header)
        ws.write_string(1, j, cell)
    book.close()
    dataset = load([tmp_path / "h.xlsx"])
    households = dataset.tables["households"]
    assert bool(households.data.loc[0, "是否通生活用电"]) is False
    assert households.data.loc[0, "户联系电话"] == "13912345678"
    assert [d.message for d in dataset.diagnostics if d.message.startswith("未识别")] == [
        "未识别的列（未参与检查）：F“户联系电话2”"
    ]


def test_one_risk_column_with_several_risks_and_worded_elimination(tmp_path):
    # A county's export with one 风险类型 column ("因病、缺劳力") and 风险是否已消除 written 已消除/未消除.
    book = xlsxwriter.Workbook(tmp_path / "risk.xlsx")
    ws = book.add_worksheet("监测对象信息")
    headers = ["户编号", "证件号码", "与户主关系", "户类型", "监测对象类别", "风险类型", "风险是否已消除"]
    rows = [
        ["340826001000001", PEOPLE[0][0], "户主", "脱贫户", "边缘易致贫户", "因病、缺劳力", "未消除"],
        ["340826001000002", PEOPLE[1][0], "户主", "一般农户", "突发严重困难户", "因学", "已消除"],
    ]
    for j, header in enumerate(headers):
        ws.write_string(0, j, header)
    for i, row in enumerate(rows, start=1):
        for j, cell in enumerate(row):
            ws.write_string(i, j, cell)
    book.close()
    dataset = load([tmp_path / "risk.xlsx"])
    households = dataset.tables["households"].data
    assert households["致贫返贫风险1"].tolist() == ["因病", "因学"]
    assert households["致贫返贫风险2"].tolist()[0] == "缺劳动力"  # 缺劳力 is the 2014–2020 spelling
    assert households["致贫返贫风险2"].isna().tolist()[1]
    assert households["风险是否已消除"].tolist() == [False, True]
    assert dataset.tables["households"].problems.empty
