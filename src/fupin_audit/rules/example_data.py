"""Building blocks of the built-in rules' examples (engine.rule.Example): valid ID numbers and the
few records most examples start from. Every ID made here passes the GB 11643 checksum."""

from __future__ import annotations

from typing import Any

from fupin_audit.schema.idnumber import check_char

H1, H2, H3 = "3408260010010001", "3408260010010002", "3408260010010003"


def id_number(birth: str = "19900101", seq: int = 123, region: str = "340826") -> str:
    """A valid 18-digit ID (seq odd: male, even: female) with its computed check character."""
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_char(first17)


def person(hid: str = H1, **fields: Any) -> dict[str, Any]:
    """A member row: by default the adult male 户主 张建国 of `hid`, born 1970."""
    record: dict[str, Any] = {
        "户编号": hid,
        "姓名": "张建国",
        "性别": "男",
        "证件号码": id_number("19700101", 111),
        "与户主关系": "户主",
    }
    record.update(fields)
    return record


def household(hid: str = H1, **fields: Any) -> dict[str, Any]:
    """A household row: by default a 未脱贫 household of 2 people identified in 2015."""
    record: dict[str, Any] = {"户编号": hid, "村": "城西村", "脱贫状态": "未脱贫", "识别年度": 2015}
    record.update(fields)
    return record


# 防返贫监测 (2021+) examples run on 2023 data exported on 2023-12-18 (the reference month 202312)
# and carry their own monitoring line, so that none rests on a built-in value.
EXPORTED = "导出时间：2023-12-18"
LINE_2023 = "[monitoring_line]\n2023 = 7300\n"


def monitored_household(hid: str = H1, **fields: Any) -> dict[str, Any]:
    """A monitoring-era household row: by default a 脱贫户 monitored as 脱贫不稳定户 since 202304 for
    因病, risk not eliminated, 健康帮扶 in place."""
    record: dict[str, Any] = {
        "户编号": hid,
        "县": "宿松县",
        "村": "城西村",
        "户类型": "脱贫户",
        "监测对象类别": "脱贫不稳定户",
        "致贫返贫风险1": "因病",
        "风险是否已消除": "否",
        "识别监测时间": 202304,
        "健康帮扶": "医疗救助",
    }
    record.update(fields)
    return record


def monitored_person(hid: str = H1, birth: str = "19830101", seq: int = 111, **fields: Any) -> dict[str, Any]:
    """A monitoring-era member row: by default the 40-year-old healthy 户主 of `hid`, 普通劳动力, not
    in school, insured."""
    record: dict[str, Any] = {
        "户编号": hid,
        "姓名": "张建国",
        "证件号码": id_number(birth, seq),
        "与户主关系": "户主",
        "在校生状况": "非在校生",
        "健康状况": "健康",
        "劳动技能": "普通劳动力",
        "是否参加城乡居民基本医疗保险": "是",
    }
    record.update(fields)
    return record
