"""Review 7: what the MN-era rules conclude on real monitoring exports (openpyxl xlsx, title rows).

- DQ056 read only 务工时间/务工所在地/公益性岗位月数: in a 监测对象信息 export with its 已外出务工信息 sheet, a
  household whose member has a work record (是否已务工 = 是) was reported as "工资性收入 … 都没有务工".
- DT108 compared the 识别监测时间 of open episodes only: an episode closed in both snapshots with the same
  消除监测时间 whose 识别监测时间 was moved back (which hides a too-fast 帮扶消除, MN124) was not reported."""

from __future__ import annotations

import openpyxl
from conftest import make_id
from test_rules_monitoring import family, head, write_export

from fupin_audit.audit import audit
from fupin_audit.sample.monitoring import WORK_COLS

WORK_HEADER = list(WORK_COLS)  # the 务工月监测 export layout


def test_dq056_counts_the_work_sheet_and_the_public_post(tmp_path):
    worker = head(证件号码=make_id(birth="19830101", seq=211), 务工所在地="")
    guard = head(证件号码=make_id(birth="19830101", seq=213), 公益性岗位="护林员")
    idle = head(证件号码=make_id(birth="19830101", seq=215), 务工所在地="")
    records = (
        family("H1", [worker], 工资性收入=36000)  # row 4: a work record → not reported
        + family("H2", [guard], 工资性收入=6000)  # row 5: a 公益性岗位 → not reported
        + family("H3", [idle], 工资性收入=8000)  # row 6: nobody works → reported
    )
    path = write_export(tmp_path / "监测对象信息.xlsx", records)
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("已外出务工信息")
    ws.append(["已外出务工信息"])
    ws.append(["导出时间：2023-12-18"])
    ws.append(WORK_HEADER)
    ws.append(["宿松县", "孚玉镇", "城西村", "H1", worker["证件号码"], "脱贫户", None, "是", "2023年03月", None,
               "苏州市吴江区", 4500, "自主就业", "制造业", "某电子厂", 500, "否"])  # fmt: skip
    wb.save(path)
    findings = audit([str(path)], select=["DQ056"]).findings
    flagged = findings[findings["rule"] == "DQ056"]
    assert list(flagged["household_id"]) == ["H3"]
    assert list(flagged["row"]) == [6]
    assert "没有务工记录" in flagged["message"].iloc[0]


MONITORED = {"监测对象类别": "脱贫不稳定户", "致贫/返贫风险1": "因病", "健康帮扶": "医疗救助", "风险是否已消除": "是",
             "风险消除方式": "帮扶消除", "识别监测时间": "202304", "消除监测时间": "202309"}  # fmt: skip


def test_dt108_reports_a_closed_episode_whose_identification_month_moved(tmp_path):
    before = write_export(
        tmp_path / "2023.xlsx",
        family("H1", **MONITORED) + family("H2", **MONITORED) + family("H3", **MONITORED),
    )
    now = write_export(
        tmp_path / "2024.xlsx",
        family("H1", **{**MONITORED, "识别监测时间": "202301"})  # same 消除 202309: rewritten → DT108
        + family("H2", **MONITORED)  # unchanged
        # a new episode after the first: identified 202403, eliminated 202406 → not a rewrite
        + family("H3", **{**MONITORED, "识别监测时间": "202403", "消除监测时间": "202406"}),
        title_date="导出时间：2024-12-20",
    )
    findings = audit([str(now)], previous=[str(before)], select=["DT108"]).findings
    flagged = findings[findings["rule"] == "DT108"]
    assert list(flagged["household_id"]) == ["H1"]
    assert list(flagged["column"]) == ["识别监测时间"]
    assert (
        flagged["message"].iloc[0]
        == "识别监测时间被改写（同一轮监测）：上一期（2023 年） 202304，本期 202301"
    )


def test_dq051_says_when_the_net_income_was_worked_out_from_its_parts(tmp_path):
    """A 监测对象信息 export has the income parts but no 纯收入: DQ051 compares 人均纯收入 with the parts'
    sum ÷ the member rows, and its message says that 纯收入 was worked out, not read."""
    parts = {"工资性收入": 12000, "生产经营性收入": 3000, "转移性收入": 1000}
    path = write_export(
        tmp_path / "监测对象信息.xlsx",
        family("H1", **parts, **{"人均纯收入（元）": 8000})  # 16000 ÷ 2 = 8000 → agrees
        + family("H2", **parts, **{"人均纯收入（元）": 9000}),  # 9000 against 8000 → DQ051
    )
    findings = audit([str(path)], select=["DQ051"]).findings
    flagged = findings[findings["rule"] == "DQ051"]
    assert list(flagged["household_id"]) == ["H2"]
    assert (
        flagged["message"]
        .iloc[0]
        .startswith("人均纯收入 9000.00 元，纯收入（由各项收入推算） 16000.00 元 ÷ 家庭人口数 2")
    )
