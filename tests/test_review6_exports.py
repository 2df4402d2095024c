"""Exports nobody here had seen (review6): each test writes a real file (GBK CSV bytes, xlsx with openpyxl)
the way a county or a provincial system does, and checks what a demanding auditor would accept.

- two exports concatenated into one CSV repeat the header mid-file: that line is not a data row;
- a free-text 备注 column of a flat member export is a note on each person, not a household value
  (no DQ036 when the notes of a household differ);
- a household value that is not in the code list (户类型 监测户) is reported once (DQ003), not again as a
  disagreement with an empty value in every work record (DQ069);
- a snapshot pair without a data year (CSV exports, no 年度 column, no --year): the DT rules that need the
  year (DT103 newborns, DT106 exits of the year) say they are skipped, never pass silently.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
from conftest import make_id

from fupin_audit.audit import audit
from fupin_audit.load import load

FLAT_HEADER = [
    "县", "乡(镇)", "行政村", "户编号", "姓名", "性别", "证件号码", "与户主关系", "健康状况", "劳动技能",
    "家庭人口数", "贫困户属性", "主要致贫原因", "脱贫标志", "人均纯收入", "识别年度",
]  # fmt: skip


def _flat_rows() -> list[list[object]]:
    """Two 2015 households of two people each (flat 建档立卡 export, older wording, codes as numbers)."""
    rows = []
    for h, hid in enumerate(("52242201010001", "52242201010002")):
        for p, relation in enumerate(("户主", "配偶")):
            pid = make_id("522422", f"19{60 + h}0101", 111 + 10 * h + (0 if p == 0 else 1))
            rows.append(
                ["大方县", "羊场镇", "新华村", hid, f"王{h}{p}", "男" if p == 0 else "女", pid, relation, "健康",
                 "普通劳动力", 2, "一般贫困户", "缺资金", 0, 2400, 2014]
            )  # fmt: skip
    return rows


def _gbk_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("gbk"))
    return path


def _codes(result, *codes: str) -> list:
    return [f for f in result.findings.itertuples() if f.rule in codes]


def test_a_header_repeated_mid_file_is_not_a_data_row(tmp_path):
    """Two township exports concatenated (`cat a.csv b.csv`): the second header line was read as a
    household 户编号 “户编号” with 家庭人口数 “家庭人口数” — 18 DQ003/DQ004/DQ005/DQ010/DQ030 errors."""
    rows = _flat_rows()
    one = io.StringIO()
    writer = csv.writer(one, lineterminator="\r\n")
    writer.writerow(FLAT_HEADER)
    writer.writerows(rows[:2])
    writer.writerow(FLAT_HEADER)
    writer.writerows(rows[2:])
    path = tmp_path / "两乡合并.csv"
    path.write_bytes(one.getvalue().encode("gbk"))
    members = load([path]).tables["members"].data
    assert len(members) == 4
    result = audit([str(path)], year=2015)
    assert not _codes(result, "DQ002", "DQ003", "DQ004", "DQ005", "DQ010", "DQ030"), _codes(
        result, "DQ002", "DQ003", "DQ004", "DQ005", "DQ010", "DQ030"
    )
    # the rows after the repeated header keep their line numbers (header = line 1, repeat = line 4)
    assert sorted(load([path]).tables["members"].data["_row"].tolist()) == [2, 3, 5, 6]


HOUSEHOLD_HEADER = ["县", "乡(镇)", "行政村", "户编号", "家庭人口数", "贫困户属性", "主要致贫原因", "脱贫标志", "脱贫年度",
                    "人均纯收入", "识别年度"]  # fmt: skip
MEMBER_HEADER = ["户编号", "姓名", "性别", "证件号码", "与户主关系", "健康状况", "劳动技能"]


def _split_pair(tmp_path: Path) -> tuple[list[str], list[str]]:
    """A 2015 → 2016 pair of GBK CSV exports (户信息 + 家庭成员, no 年度 column, no title row). In 2016
    household 1 exited with its income more than doubled (DT106), and a 40-year-old 之兄弟姐妹 joined
    household 2 (挂靠: DT103)."""
    people = {h: [] for h in ("52242201010001", "52242201010002")}
    for h, hid in enumerate(people):
        for p, relation in enumerate(("户主", "配偶")):
            pid = make_id("522422", f"19{60 + h}0101", 111 + 10 * h + (0 if p == 0 else 1))
            people[hid].append(
                [hid, f"王{h}{p}", "男" if p == 0 else "女", pid, relation, "健康", "普通劳动力"]
            )
    before = [
        ["大方县", "羊场镇", "新华村", hid, 2, "一般贫困户", "缺资金", 0, "", 1400, 2014] for hid in people
    ]
    after = [list(r) for r in before]
    after[0][7:10] = [1, 2016, 3400]
    after[1][4] = 3
    joined = people["52242201010002"] + [
        [
            "52242201010002",
            "李三",
            "男",
            make_id("522401", "19760101", 331),
            "之兄弟姐妹",
            "健康",
            "普通劳动力",
        ]
    ]
    members_after = people["52242201010001"] + joined
    members_before = people["52242201010001"] + people["52242201010002"]
    cur = [
        str(_gbk_csv(tmp_path / "2016户信息.csv", HOUSEHOLD_HEADER, after)),
        str(_gbk_csv(tmp_path / "2016家庭成员.csv", MEMBER_HEADER, members_after)),
    ]
    prev = [
        str(_gbk_csv(tmp_path / "2015户信息.csv", HOUSEHOLD_HEADER, before)),
        str(_gbk_csv(tmp_path / "2015家庭成员.csv", MEMBER_HEADER, members_before)),
    ]
    return cur, prev


def test_snapshot_pair_without_a_year_says_which_dt_rules_it_cannot_judge(tmp_path):
    """Without a data year (CSV exports carry no title row) DT103 found nobody — every added adult
    had an unknown age and passed as a possible newborn — and DT106 judged no exit, both listed as
    having run: the same pair as xlsx with a title year gave both findings."""
    cur, prev = _split_pair(tmp_path)
    result = audit(cur, previous=prev, select=["DT"])
    skipped = {o.code: o.reason for o in result.outcomes if o.status == "skipped"}
    assert "DT103" in skipped and "--year" in skipped["DT103"], skipped
    assert "DT106" in skipped and "--year" in skipped["DT106"], skipped
    # with the years given, both are judged
    result = audit(cur, previous=prev, select=["DT"], year=2016, previous_year=2015)
    assert [f.household_id for f in _codes(result, "DT103")] == ["52242201010002"]
    assert [f.household_id for f in _codes(result, "DT106")] == ["52242201010001"]


MONITORING_HEADER = [
    "县", "乡", "村", "户编号", "姓名", "证件号码", "性别", "与户主关系", "户类型", "监测对象类别", "健康状况",
    "劳动技能", "人均纯收入（元）", "风险是否已消除", "识别监测时间",
]  # fmt: skip
WORK_HEADER = [
    "县",
    "乡",
    "行政村",
    "户编号",
    "证件号码",
    "户类型",
    "监测对象类别",
    "是否已务工",
    "开始时间",
    "务工月收入",
]


def test_a_household_value_outside_the_code_list_is_not_also_a_work_record_mismatch(tmp_path):
    """户类型 written 监测户 (a county's word for a monitored 一般农户) is DQ003. Validation empties it, and
    DQ069 then reported each work record of the household: 户类型为“一般农户”，与成员表中此人所在户的“”不同
    — a second finding per person about a value nobody wrote."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "监测对象信息"
    ws.append(["宿松县2025年防返贫监测对象信息"])
    ws.append(["导出时间：2025-12-31"])
    ws.append(MONITORING_HEADER)
    ids = [make_id(birth="19700101", seq=111), make_id(birth="19720101", seq=112)]
    for pid, relation, sex in zip(ids, ("户主", "配偶"), ("男", "女"), strict=True):
        ws.append(["宿松县", "孚玉镇", "城西村", "3408260010010001", f"张{relation}", pid, sex, relation, "监测户",
                   "边缘易致贫户", "健康", "普通劳动力", 9000, "否", "202403"])  # fmt: skip
    ws = wb.create_sheet("已外出务工信息")
    ws.append(WORK_HEADER)
    for pid in ids:
        ws.append(["宿松县", "孚玉镇", "城西村", "3408260010010001", pid, "一般农户", "边缘易致贫户", "是", "2025年03月",
                   3000])  # fmt: skip
    path = tmp_path / "监测.xlsx"
    wb.save(path)
    result = audit([str(path)], select=["DQ003", "DQ069"])
    assert [(f.rule, f.value) for f in _codes(result, "DQ003")] == [("DQ003", "监测户")]
    assert not _codes(result, "DQ069"), [f.message for f in _codes(result, "DQ069")]


def test_a_flat_exports_note_column_is_a_note_on_each_person(tmp_path):
    """A county's flat export with a free-text 备注 per person (one with a comma and a line break inside
    quotes). 备注 maps to the household field 其他备注, so two members' different notes were a DQ036 error
    (“household-level column differs”). A column headed 其他备注 stays a household value."""
    rows = _flat_rows()
    notes = ["", "住院治疗,\n出院后复查", "", "外出务工"]
    path = _gbk_csv(
        tmp_path / "备注.csv", [*FLAT_HEADER, "备注"], [[*r, n] for r, n in zip(rows, notes, strict=True)]
    )
    members = load([path]).tables["members"].data
    assert len(members) == 4
    result = audit([str(path)], year=2015, select=["DQ036"])
    assert not _codes(result, "DQ036"), [f.message for f in _codes(result, "DQ036")]
    # Headed 其他备注, the column is the household's: two members' different remarks disagree (a blank
    # cell is no remark, and no disagreement).
    remarks = ["住院治疗", "外出务工", "", "外出务工"]
    path = _gbk_csv(
        tmp_path / "其他备注.csv",
        [*FLAT_HEADER, "其他备注"],
        [[*r, n] for r, n in zip(rows, remarks, strict=True)],
    )
    result = audit([str(path)], year=2015, select=["DQ036"])
    assert sorted(f.row for f in _codes(result, "DQ036")) == [3]


def _township_workbook(path: Path, year: int, rows: list[list[object]]) -> str:
    """One township's 建档立卡 workbook: 户信息 and 家庭成员 sheets under a title row naming the year."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "贫困户信息"
    ws.append([f"大方县{year}年建档立卡贫困户信息表"])
    ws.append(HOUSEHOLD_HEADER)
    members = wb.create_sheet("家庭成员")
    members.append([f"大方县{year}年建档立卡贫困人口信息表"])
    members.append(MEMBER_HEADER)
    for i, (town, hid) in enumerate(rows):
        ws.append(["大方县", town, "新华村", hid, 1, "一般贫困户", "缺资金", 0, "", 2400, 2014])
        members.append(
            [hid, f"王{i}", "男", make_id("522422", "19600101", 101 + 2 * i), "户主", "健康", "普通劳动力"]
        )
    wb.save(path)
    return str(path)


def test_a_township_missing_from_one_snapshot_is_said_once(tmp_path):
    """Last year's files are one workbook per township; this year's 核桃乡 file was not handed in. Each
    of its households was a DT101 error (“贫困户不能无故消失”) and nothing said that a whole township of
    the previous snapshot had no household in this one (the reverse gave DT102 倒签识别 errors)."""
    yang = [("羊场镇", f"5224220101{k:04d}") for k in range(3)]
    he = [("核桃乡", f"5224220201{k:04d}") for k in range(3)]
    prev = [
        _township_workbook(tmp_path / "2015羊场镇.xlsx", 2015, yang),
        _township_workbook(tmp_path / "2015核桃乡.xlsx", 2015, he),
    ]
    cur = [_township_workbook(tmp_path / "2016羊场镇.xlsx", 2016, yang)]
    result = audit(cur, previous=prev, select=["DT"])
    said = [d.message for d in result.dataset.diagnostics if "核桃乡" in d.message]
    assert len(said) == 1 and "上一期有、本期没有" in said[0] and "3 户" in said[0], said
    assert "羊场镇" not in said[0]
    # the other way round: the township is new only to the input
    cur = [*cur, _township_workbook(tmp_path / "2016核桃乡.xlsx", 2016, he)]
    result = audit(cur, previous=prev[:1], select=["DT"])
    said = [d.message for d in result.dataset.diagnostics if "核桃乡" in d.message]
    assert len(said) == 1 and "本期有、上一期没有" in said[0], said


def _titled_workbook(path: Path, title: str, year: int) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "建档立卡贫困人口"
    ws.append([title])
    ws.append([*FLAT_HEADER, "年度"])
    for row in _flat_rows():
        ws.append([*row, year])
    wb.save(path)
    return path


def test_a_title_year_that_the_year_column_contradicts_is_said_once_per_sheet(tmp_path):
    """The title says 2016, every row's 年度 says 2015: the rows are checked as 2015 (their own 年度) and
    the run says so once for the sheet; a title that is an export date (导出时间) is not a contradiction."""
    titled = _titled_workbook(tmp_path / "titled.xlsx", "2016年建档立卡贫困人口信息", 2015)
    notes = [d.message for d in audit([str(titled)]).dataset.diagnostics if "标题" in d.message]
    assert notes == [
        "工作表标题写的是 2016 年，年度列为 2015（4 行）：有年度的行按年度列检查，标题的年份只用于没有年度的行"
    ]
    exported = _titled_workbook(tmp_path / "exported.xlsx", "导出时间：2016-03-01", 2015)
    assert not [d for d in audit([str(exported)]).dataset.diagnostics if "标题" in d.message]
    same = _titled_workbook(tmp_path / "same.xlsx", "2015年建档立卡贫困人口信息", 2015)
    assert not [d for d in audit([str(same)]).dataset.diagnostics if "标题" in d.message]


def test_a_snapshot_without_a_year_is_named_without_a_question_mark(tmp_path):
    """A household gone from a pair of CSV exports without a data year: DT101 says the periods' years are
    not known (上一期（年度不详）), not “上一期（? 年）”."""
    cur, prev = _split_pair(tmp_path)
    gone = [r for r in csv.reader(io.StringIO(Path(cur[0]).read_bytes().decode("gbk")))][:2]  # header + one
    _gbk_csv(Path(cur[0]), gone[0], gone[1:])
    messages = [f.message for f in _codes(audit(cur, previous=prev, select=["DT101"]), "DT101")]
    assert len(messages) == 1
    assert messages[0].startswith("上一期（年度不详）的户 52242201010002 在本期（年度不详）数据中不存在"), (
        messages
    )
