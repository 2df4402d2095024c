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
