"""四严 (SY): 源头严把 (SY1), 过程严控 (SY2), 验收严格 (SY3), 纪律严厉 (SY4)."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pandas as pd

from fupin_audit.engine.context import AuditContext
from fupin_audit.engine.rule import Example, NoParams, SkipRule, rule
from fupin_audit.facts.deaths import (
    dead_by_year_end,
    deaths_of,
    has_death_source,
    member_deaths,
    require_death_source,
)
from fupin_audit.facts.households import village_poor_counts
from fupin_audit.facts.keys import (
    count_per_code,
    distinct_per_code,
    first_rows,
    gather,
    household_codes,
    joint_codes,
    joint_number_codes,
    person_codes,
    person_keys,
    person_numbers,
    place_columns,
    place_key,
    registered,
    repeated_groups,
)
from fupin_audit.facts.lines import param
from fupin_audit.facts.measures import households_with_measure, measure_names, measures_of_year
from fupin_audit.facts.people import member_ages
from fupin_audit.facts.phones import phone_matches, phone_numbers_of
from fupin_audit.facts.values import (
    HID,
    ID,
    as_bool,
    exited,
    mask_texts,
    poor,
    raw_values,
    text,
    text_in,
    unreadable,
)
from fupin_audit.facts.years import data_years, year_end, year_start
from fupin_audit.rules.example_data import H1, H2, household, id_number, person
from fupin_audit.rules.kit.format import (
    count_texts,
    date_texts,
    fmt,
    money_texts,
    name_list,
    percent,
    year_texts,
)
from fupin_audit.rules.kit.related import related_groups, related_in
from fupin_audit.schema.codes import code_list

SOURCE = "源头严把（识别精准）："
PROCESS = "过程严控（帮扶精准）："
ACCEPT = "验收严格（退出精准）："
DISCIPLINE = "纪律严厉（资金与作风）："
PROCEDURE = ("申请日期", "民主评议日期", "公示开始日期", "公示结束日期", "公告日期")
NOTICE_WHY = (
    "贫困户识别须经“两公示一公告”：农户申请 → 村民代表民主评议 → 村核实并第一次公示 → 乡镇审核并第二次公示"
    " → 县审批并公告（国务院扶贫办《扶贫开发建档立卡工作方案》，国开办发〔2014〕24号）。"
)
LABOUR = ("普通劳动力", "技能劳动力")


def _flag_by_column(
    ctx: AuditContext, kind: str, flagged: pd.Series, message: pd.Series, column: pd.Series
) -> list[pd.DataFrame]:
    """Findings whose column differs per row: one ctx.flag call per distinct column (a handful)."""
    out = []
    for name in pd.unique(column[flagged]):
        rows = flagged & (column == name)
        out.append(ctx.flag(kind, rows, message, column=name or None))
    return out


# ------------------------------------------------------------------------------------ SY1 源头严把


@rule(
    "SY101",
    "识别程序不完整或顺序颠倒",
    severity="warning",
    needs=("households",),
    what="户表中存在的程序日期列（申请日期、民主评议日期、公示开始日期、公示结束日期、公告日期，至少两列才检查）"
    "有空缺或无法识别，或先后顺序颠倒：应为 申请 ≤ 评议 ≤ 公示开始 ≤ 公示结束 ≤ 公告（同一天不算颠倒）。"
    "每个日期与它前面最近一个有值的程序日期比较，每处颠倒报告一次；一户只报告一条，列为第一个出问题的列。",
    why=SOURCE + NOTICE_WHY + " 程序缺项或倒签说明识别未按规定走完，是审计发现的“程序不规范”问题。",
    example=Example(
        "申请日期 2017-03-10，民主评议日期 2017-03-01（评议早于申请）→ SY101。",
        {"households": [household(申请日期="2017-03-10", 民主评议日期="2017-03-01")]},
        near_miss={"households": {0: {"申请日期": "2017-03-01"}}},
        near_miss_text="申请与评议同一天",
    ),
)
def sy101(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    households = ctx.frame("households")
    present = [c for c in PROCEDURE if ctx.has("households", c)]
    if len(present) < 2:
        raise SkipRule(
            "households 表的程序日期列（申请日期、民主评"
            "议日期、公示开始日期、公示结束日期、公告日期）不足两列"
        )
    dates = households[present]
    # A cheap pass over every row finds the households to report; texts are built for those only.
    suspect = dates.isna().any(axis=1)
    latest = dates[present[0]]
    for c in present[1:]:
        suspect |= (dates[c] < latest).fillna(False).astype(bool)
        latest = dates[c].where(dates[c].notna(), latest)
    index = suspect.index[suspect]
    dates = dates.loc[index]
    bad = {c: unreadable(ctx, "households", c)[index] for c in present}
    empty = {c: dates[c].isna() & ~bad[c] for c in present}
    first_column = pd.Series("", index=index, dtype=object)
    for c in reversed(present):  # the earliest problem column wins
        first_column = first_column.mask(empty[c] | bad[c], c)
    blank = pd.Series("", index=index, dtype=object)
    missing_names = reduce(lambda a, b: a + b, (blank.mask(empty[c], c + "、") for c in present)).str.rstrip(
        "、"
    )
    bad_names = reduce(lambda a, b: a + b, (blank.mask(bad[c], c + "、") for c in present)).str.rstrip("、")
    parts = [
        ("识别程序缺少：" + missing_names).where(missing_names != "", ""),
        (bad_names + " 无法识别为日期（见 DQ005）").where(bad_names != "", ""),
    ]
    # Order: each date against the nearest earlier date that is present.
    previous = dates[present[0]]
    previous_name = pd.Series(present[0], index=index, dtype=object).where(previous.notna(), "")
    order_column = pd.Series("", index=index, dtype=object)
    for c in present[1:]:
        current = dates[c]
        wrong = (current < previous).fillna(False).astype(bool)
        if wrong.any():
            note = previous_name + " " + date_texts(previous) + " 晚于 " + c + " " + date_texts(current)
            parts.append(note.where(wrong, ""))
            order_column = order_column.mask(wrong & (order_column == ""), c)
        previous_name = previous_name.mask(current.notna(), c)
        previous = current.where(current.notna(), previous)
    message = reduce(lambda a, b: a + ("；" + b).where(b != "", "").where(a != "", b), parts)
    flagged = message != ""
    # The finding's column: the earliest column (in procedure order) that is missing or out of order.
    position = {c: i for i, c in enumerate(present)}
    gap_at = first_column.map(position).fillna(len(present))
    order_at = order_column.map(position).fillna(len(present))
    column = first_column.where(gap_at <= order_at, order_column)
    return _flag_by_column(ctx, "households", flagged, message, column)


@rule(
    "SY102",
    "公示时间不足",
    severity="warning",
    needs=("households",),
    columns={"households": ("公示开始日期", "公示结束日期")},
    what="公示天数（公示结束日期 − 公示开始日期 + 1，首尾两天都算"
    "）少于政策参数 notice_min_days（默认 7 天）。"
    "结束早于开始的由 SY101 报告（顺序颠倒），缺日期的也由 SY101 报告。",
    why=SOURCE + NOTICE_WHY + " 公示期过短，群众来不及监督和提出异议。",
    example=Example(
        "公示 2017-03-01 至 2017-03-06（6 天）→ SY102。",
        {"households": [household(公示开始日期="2017-03-01", 公示结束日期="2017-03-06")]},
        near_miss={"households": {0: {"公示结束日期": "2017-03-07"}}},
        near_miss_text="公示到 2017-03-07（7 天）",
    ),
)
def sy102(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", "公示开始日期", "公示结束日期")
    start, end = households["公示开始日期"], households["公示结束日期"]
    days = (end - start).dt.days + 1
    minimum = ctx.policy.notice_min_days
    short = ((days >= 1) & (days < minimum)).fillna(False).astype(bool)
    message = (
        "公示 " + date_texts(start[short]) + " 至 " + date_texts(end[short]) + " 共 "
        + count_texts(days[short]) + f" 天（首尾都算），少于 {minimum} 天（{param(ctx, 'notice_min_days')}）"
    )  # fmt: skip
    return ctx.flag("households", short, message, column="公示结束日期")


def _member_places(ctx: AuditContext, labels: pd.Index) -> pd.DataFrame:
    """For the given member rows: 县 / 乡 / 村 from the member row, else from its household's row."""
    members = ctx.frame("members")
    places = pd.DataFrame(index=labels)
    row = np.full(len(labels), -1, dtype=np.int64)
    if ctx.has("households", HID) and HID in members:
        codes = household_codes(ctx)
        first = first_rows(codes["households"], codes["n"])
        row = gather(first, codes["members"][members.index.get_indexer(labels)], -1)
    households = ctx.frame("households") if ctx.has("households") else None
    for column in ("县", "乡", "村"):
        own = (
            text(members.loc[labels, column])
            if column in members
            else pd.Series("", index=labels, dtype="str")
        )
        if households is not None and column in households:
            theirs = text(households[column].iloc[np.maximum(row, 0)]).to_numpy(dtype=object)
            own = own.where((own != "") | (row < 0), pd.Series(theirs, index=labels))
        places[column] = own
    return places


@rule(
    "SY103",
    "同一人在多个户中建档",
    severity="error",
    needs=("members",),
    columns={"members": (ID, HID)},
    scope="global",
    shuffle={"members": ID},
    follow={"households": HID},
    what="同一证件号码（规范化后比较：15 位旧号升级为 18 位，"
    "残疾人证号取前 18 位，占位号码和 Excel 损坏的号码"
    "不参与）出现在两个或以上的户编号下。此人的每一条成员记录"
    "都报告，消息列出所有户编号和范围：同村 / 同乡镇 / "
    "同县 / 跨县（按县、乡、村是否相同判断；成员表没有地点列时取户表）。related 列出此人出现的每一条记录"
    "（含本行），即每一个户。",
    why=SOURCE
    + "审计署 2017 年对 158 个县的审计发现重复建档、分户拆户等问题；同一人在两户登记会重复享受政策，"
    "并虚增贫困人口。",
    example=Example(
        "证件号码 340826197001011113 同时在户 3408260010010001 与 3408260010010002 → 两条 SY103（同村）。",
        {
            "members": [
                person(H1, 县="宿松县", 乡="孚玉镇", 村="城西村"),
                person(H2, 县="宿松县", 乡="孚玉镇", 村="城西村"),
            ]
        },
        near_miss={"members": {1: {"姓名": "张建军", "证件号码": id_number("19750101", 131)}}},
        near_miss_text="户 3408260010010002 的户主是另一个人张建军",
    ),
)
def sy103(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    members = ctx.frame("members", ID, HID)
    people = person_codes(ctx)
    person = people[f"members.{ID}"]
    household = household_codes(ctx)["members"]
    person = np.where(household >= 0, person, -1)
    person = np.where(gather(count_per_code(person, people["n"]), person) > 1, person, -1)  # seen twice
    spread = distinct_per_code(person, household, people["n"])
    rows = gather(spread, person) > 1
    if not rows.any():
        return None
    labels = members.index[rows]
    dup = pd.DataFrame(
        {
            "id": person_keys(ctx, "members")[labels],
            "hh": text(members.loc[labels, HID]),
            "n": spread[person[rows]],
        },
        index=labels,
    )
    places = _member_places(ctx, labels)
    written = places[["县", "乡", "村"]].apply(lambda column: column.where(column != ""))  # "" → NA
    counts = written.assign(id=dup["id"]).groupby("id")[["县", "乡", "村"]].nunique()  # NA not counted
    scope = pd.Series("同村", index=counts.index, dtype=object)
    scope = (
        scope.mask(counts["村"] > 1, "同乡镇").mask(counts["乡"] > 1, "同县").mask(counts["县"] > 1, "跨县")
    )
    households = dup.drop_duplicates(["id", "hh"]).groupby("id", sort=False)["hh"].agg(name_list)
    message = (
        "同一证件号码 " + dup["id"] + " 登记在 " + count_texts(dup["n"]) + " 个户中（"
        + fmt(dup["id"].map(scope), str) + "）：户编号 " + fmt(dup["id"].map(households), str)
    )  # fmt: skip
    related = related_groups(ctx, "members", labels, dup["id"], include_self=True)
    return ctx.flag("members", labels, message, column=ID, related=related)


def _phones(numbers: pd.Series) -> pd.Series:
    """Of `phone_numbers`, those SY104 compares: exactly those DQ044 (default pattern) accepts."""
    return numbers.where(phone_matches(numbers))


@rule(
    "SY104",
    "不同户共用一个联系电话",
    severity="warning",
    needs=(),
    scope="global",
    shuffle={"households": "户联系电话", "members": "户联系电话"},
    what="两个或以上不同户编号登记了同一个户联系电话（取户表的户联系电话；户表没有或全空时取成员表的户联系电话）。"
    "每户报告一次（该户第一次出现的行），消息列出共用的户编号，related 列出其他户的记录。号码先规范化（去掉空格、"
    "“-”、括号和 +86 / 0086 国家码），与 DQ044 用同一规范化；DQ044（默认格式）不接受的号码（座机、位数不对）不参与"
    "比较。",
    why=SOURCE + "共用电话是“分户拆户”（把一户拆成几户以多享政策）的信号，审计署 2017 年公告点名了此类问题。",
    example=Example(
        "户 3408260010010001 与 3408260010010002 的户联系电话 13912345678 / 139-1234-5678 是同一号码 → 两户各一条 SY104。",
        {"households": [household(H1, 户联系电话="13912345678"), household(H2, 户联系电话="139-1234-5678")]},
        near_miss={"households": {1: {"户联系电话": "139-1234-5679"}}},
        near_miss_text="第二户的号码是 13912345679",
    ),
)
def sy104(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    use_households = ctx.has("households", "户联系电话", HID) and ctx.any_value("households", "户联系电话")
    if use_households:
        kind = "households"
    elif ctx.has("members", "户联系电话", HID):
        kind = "members"
    else:
        raise SkipRule("户表和成员表都没有“户联系电话”列（或没有户编号）")
    frame = ctx.frame(kind, "户联系电话", HID)
    phones = _phones(phone_numbers_of(ctx, kind, "户联系电话"))
    (phone,), n = joint_codes(phones)
    household = household_codes(ctx)[kind]
    phone = np.where(household >= 0, phone, -1)
    phone = np.where(gather(count_per_code(phone, n), phone) > 1, phone, -1)  # seen twice
    spread = distinct_per_code(phone, household, n)
    shared_rows = gather(spread, phone) > 1
    if not shared_rows.any():
        return None
    labels = frame.index[shared_rows]
    shared = pd.DataFrame(
        {"phone": phones[labels], "hh": text(frame.loc[labels, HID]), "n": spread[phone[shared_rows]]},
        index=labels,
    )
    shared = shared.drop_duplicates(["phone", "hh"])  # one finding per household
    listed = shared.groupby("phone", sort=False)["hh"].agg(name_list)
    message = (
        "户联系电话 " + shared["phone"] + " 被 " + count_texts(shared["n"]) + " 个户共用：户编号 "
        + fmt(shared["phone"].map(listed), str)
    )  # fmt: skip
    related = related_groups(ctx, kind, shared.index, shared["phone"])
    return ctx.flag(kind, shared.index, message, column="户联系电话", related=related)


# ------------------------------------------------------------------------------------ SY2 过程严控


def _pairings(ctx: AuditContext) -> pd.DataFrame:
    """Pairing rows that name a helper and a household: the household's code, start, end."""
    helpers = ctx.frame("helpers", HID)
    name = (
        text(helpers["帮扶责任人姓名"]) if "帮扶责任人姓名" in helpers else pd.Series("", index=helpers.index)
    )
    ids = raw_values(ctx, "helpers", "帮扶责任人证件号码")
    frame = pd.DataFrame(
        {
            "code": household_codes(ctx)["helpers"],
            "start": helpers["开始日期"] if "开始日期" in helpers else pd.Series(pd.NaT, index=helpers.index),
            "end": helpers["结束日期"] if "结束日期" in helpers else pd.Series(pd.NaT, index=helpers.index),
        },
        index=helpers.index,
    )
    return frame[(frame["code"] >= 0) & ((name != "") | (ids != ""))]


def _active_in(pairings: pd.DataFrame, first: pd.Series, last: pd.Series) -> pd.Series:
    """A pairing counts for a year unless it ended before 1 January or began after 31 December."""
    ended = (pairings["end"] < first).fillna(False)
    not_begun = (pairings["start"] > last).fillna(False)
    return ~(ended | not_begun)


@rule(
    "SY201",
    "贫困户没有帮扶责任人",
    severity="error",
    era="jdlk",
    era_note="2021 年后没有未脱贫户，监测户的帮扶由 MN 规则检查",
    needs=("households",),
    columns={"households": (HID, "脱贫状态")},
    what="未脱贫或返贫户没有帮扶责任人：结对表中没有该户在其数"
    "据年度内有效的结对（结束日期早于该年 1 月 1 日或"
    "开始日期晚于 12 月 31 日的不算），并且户表的“帮扶"
    "责任人”（有此列时）为空。没有结对表时只看户表的帮扶责任人。",
    why=PROCESS
    + "“结对帮扶”是建档立卡的规定环节，每个贫困户都要有帮扶责任人（中办发〔2013〕25号、国开办发〔2014〕"
    "24号）；无人负责的户，帮扶措施无从落实。",
    example=Example(
        "未脱贫户 3408260010010001 的帮扶责任人为空（没有结对表）→ SY201。",
        {"households": [household(帮扶责任人=None)]},
        near_miss={"households": {0: {"帮扶责任人": "王明"}}},
        near_miss_text="帮扶责任人 王明",
    ),
)
def sy201(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", HID, "脱贫状态")
    has_table = ctx.has("helpers", HID)
    has_column = "帮扶责任人" in households
    if not (has_table or has_column):
        raise SkipRule("既没有帮扶责任人结对表，户表也没有“帮扶责任人”列")
    codes = household_codes(ctx)
    own = codes["households"]
    target = poor(households) & (own >= 0)
    covered = pd.Series(False, index=households.index)
    status = text(households["脱贫状态"])
    if has_column:
        covered |= ~text_in(households["帮扶责任人"], ("",))
    if has_table:
        years = ctx.data_year("households")
        pairings = _pairings(ctx)
        rows = target.to_numpy() & ~covered.to_numpy()
        wanted = pd.DataFrame(
            {
                "code": own[rows],
                "first": year_start(years[rows]),
                "last": year_end(years[rows]),
                "_row": np.flatnonzero(rows),
            }
        )
        joined = wanted.merge(pairings, on="code", how="inner")
        ok = _active_in(joined, joined["first"], joined["last"]).to_numpy(dtype=bool)
        active = np.zeros(len(households), dtype=bool)
        active[joined["_row"].to_numpy()[ok]] = True
        covered |= active
        listed = pd.Series(
            gather(count_per_code(pairings["code"].to_numpy(), codes["n"]) > 0, own, False),
            index=households.index,
        )
    missing = target & ~covered
    at = missing.index[missing.to_numpy()]  # the messages are written for these rows only
    if has_table:
        message = pd.Series("", index=at, dtype=object)
        message = mask_texts(
            message,
            listed[at],
            status[at] + "户在帮扶责任人结对表中的结对在 " + year_texts(years[at]) + " 年均不在有效期内",
        )
        message = mask_texts(message, ~listed[at], status[at] + "户在帮扶责任人结对表中没有结对记录")
        if has_column:
            message = message + "，户表帮扶责任人也为空"
    else:
        message = status[at] + "户的帮扶责任人为空（户表）"
    return ctx.flag("households", at, message, column="帮扶责任人" if has_column else HID)


@rule(
    "SY202",
    "帮扶责任人本人是建档立卡成员",
    severity="error",
    needs=("members",),
    columns={"members": (ID,)},
    scope="global",
    shuffle={"helpers": "帮扶责任人证件号码", "households": "帮扶责任人证件号码", "members": ID},
    what="结对表（或户表）中帮扶责任人的证件号码（规范化后）与建档立卡成员表中某人的证件号码相同。每个这样的"
    "帮扶责任人报告一次：在结对表中第一次出现的行；结对表中没有他时，在户表中第一次出现的行。related 列出他在"
    "成员表中的记录。",
    why=PROCESS + "县级审计发现“帮扶责任人本身就是贫困户”：帮扶者须是有帮扶能力的干部，自身在册说明结对"
    "流于形式或识别有误。",
    example=Example(
        "结对表帮扶责任人张建国（340826197001011113）也是户 3408260010010001 的成员 → SY202。",
        {
            "helpers": [
                {"帮扶责任人姓名": "张建国", "帮扶责任人证件号码": id_number("19700101", 111), "户编号": H2}
            ],
            "members": [person()],
        },
        near_miss={
            "helpers": {0: {"帮扶责任人姓名": "王明", "帮扶责任人证件号码": id_number("19800101", 111)}}
        },
        near_miss_text="帮扶责任人是未建档的王明",
    ),
)
def sy202(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    kinds = [k for k in ("helpers", "households") if ctx.has(k, "帮扶责任人证件号码")]
    if not kinds:
        raise SkipRule("结对表和户表都没有“帮扶责任人证件号码”列")
    members = ctx.frame("members", ID)
    people = person_codes(ctx)
    member_person = people[f"members.{ID}"]
    reported = np.zeros(people["n"] + 1, dtype=bool)
    out = []
    for kind in kinds:
        frame = ctx.frame(kind)
        person = people[f"{kind}.帮扶责任人证件号码"]
        member_row = registered(ctx, kind, "帮扶责任人证件号码")
        hit = (member_row >= 0) & ~reported[np.where(person < 0, people["n"], person)]
        first = hit & ~pd.Series(np.where(hit, person, -1)).duplicated().to_numpy()
        if not first.any():
            continue
        reported[person[first]] = True
        labels = frame.index[first]
        own = person[first]
        paired = (
            distinct_per_code(np.where(hit, person, -1), household_codes(ctx)[kind], people["n"])
            if HID in frame
            else np.zeros(people["n"], dtype=np.int64)
        )
        name_column = "帮扶责任人姓名" if kind == "helpers" else "帮扶责任人"
        name = text(frame.loc[labels, name_column]) if name_column in frame else pd.Series("", index=labels)
        home = (
            pd.Series(text(members[HID].iloc[member_row[first]]).to_numpy(), index=labels)
            if HID in members
            else ""
        )
        key = person_keys(ctx, kind, "帮扶责任人证件号码")[labels]
        message = (
            "帮扶责任人 " + name + "（证件号码 " + key + "）本人是建档立卡户 " + home + " 的成员，在本表结对 "
            + count_texts(pd.Series(paired[own], index=labels)) + " 户"
        )  # fmt: skip
        related = related_in(ctx, "members", member_person, pd.Series(own, index=labels))
        out.append(ctx.flag(kind, labels, message, column="帮扶责任人证件号码", related=related))
    return out


def _helper_rows(ctx: AuditContext) -> tuple[str, np.ndarray, str]:
    """The pairings to count, as positions in their table: the 结对 table (pairings valid in its data
    year), else the households; and the table's name column."""
    if ctx.has("helpers", HID):
        pairings = _pairings(ctx)
        years = ctx.data_year("helpers").loc[pairings.index]
        active = _active_in(pairings, year_start(years), year_end(years)).to_numpy(dtype=bool)
        rows = ctx.frame("helpers").index.get_indexer(pairings.index[active])
        return "helpers", rows, "帮扶责任人姓名"
    if ctx.has("households", "帮扶责任人", HID):
        return "households", np.arange(len(ctx.frame("households"))), "帮扶责任人"
    raise SkipRule("既没有结对表，户表也没有“帮扶责任人”列")


def helper_keys(ctx: AuditContext, kind: str, labels: pd.Index | None = None) -> pd.Series:
    """Per row of the pairing table (结对表, or the households' 帮扶责任人 columns; `labels`: of these
    rows only): who the helper is — the person behind 帮扶责任人证件号码, else “姓名 <name>|<unit>”,
    else "" (nobody named)."""
    frame = ctx.frame(kind)
    if labels is not None:
        frame = frame.loc[labels]
    name_col = "帮扶责任人姓名" if kind == "helpers" else "帮扶责任人"
    name = text(frame[name_col]) if name_col in frame else pd.Series("", index=frame.index, dtype=object)
    unit = text(frame["帮扶单位"]) if "帮扶单位" in frame else pd.Series("", index=frame.index, dtype=object)
    key = ("姓名 " + name + "|" + unit).where(name != "", "")
    if ctx.has(kind, "帮扶责任人证件号码"):
        ids = person_keys(ctx, kind, "帮扶责任人证件号码")
        if labels is not None:
            ids = ids.loc[labels]
        key = ids.where(ids.notna(), key)
    return key


def _helper_codes(ctx: AuditContext, kind: str) -> tuple[np.ndarray, int]:
    """`joint_codes(helper_keys(ctx, kind))` without a text per row: the person numbers of the rows
    with an ID, the texts of the few rows named only by 姓名 and 帮扶单位."""
    frame = ctx.frame(kind)
    name_col = "帮扶责任人姓名" if kind == "helpers" else "帮扶责任人"
    person = np.full(len(frame), -1, dtype=np.int64)
    if ctx.has(kind, "帮扶责任人证件号码"):
        person = person_numbers(ctx, kind, "帮扶责任人证件号码")
    named = np.zeros(len(frame), dtype=bool)
    if name_col in frame:
        named = ~text_in(frame[name_col], ("",)).to_numpy(dtype=bool)
    by_name = np.flatnonzero((person < 0) & named)
    (name_codes,), _ = joint_codes(helper_keys(ctx, kind, frame.index[by_name]))
    combined = person.copy()
    combined[by_name] = person.max(initial=-1) + 1 + name_codes  # above every person number
    (codes,), n = joint_number_codes([combined])
    return codes, n


helper_keys.key_name = "帮扶责任人（证件号码，没有时姓名 + 帮扶单位）"  # type: ignore[attr-defined]


@rule(
    "SY203",
    "帮扶责任人结对户数超过上限",
    severity="warning",
    needs=(),
    scope="global",
    shuffle={"helpers": helper_keys, "households": helper_keys},
    what="同一帮扶责任人（按规范化的证件号码，没有证件号码时按 姓名 + 帮扶单位）结对的不同户数超过政策参数 "
    "helper_max_households（默认 10 户，等于上限不报告）。结对表中只计数据年度内有效的结对。每个超限的帮扶"
    "责任人报告一次（第一次出现的行），related 列出其结对的每一户（每户一条记录）。",
    why=PROCESS + "一人包户过多，走访、帮扶必然流于形式（各省“每名帮扶责任人结对不超过 5–10 户”的规定）。",
    example=Example(
        "帮扶责任人王明结对 11 户 → SY203。",
        {
            "helpers": [
                {
                    "帮扶责任人姓名": "王明",
                    "帮扶责任人证件号码": id_number("19800101", 111),
                    "户编号": f"34082600100100{i:02d}",
                }
                for i in range(1, 12)
            ]
        },
        near_miss={
            "helpers": {10: {"帮扶责任人姓名": "李华", "帮扶责任人证件号码": id_number("19820101", 113)}}
        },
        near_miss_text="第 11 户由李华结对，王明恰好 10 户",
    ),
)
def sy203(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    kind, rows, name_col = _helper_rows(ctx)
    data = ctx.frame(kind)
    codes, n = _helper_codes(ctx, kind)
    household = household_codes(ctx)[kind][rows]
    helper = np.where(household >= 0, codes[rows], -1)
    counts = distinct_per_code(helper, household, n)
    maximum = ctx.policy.helper_max_households
    over = gather(counts, helper) > maximum
    if not over.any():
        return None
    labels = data.index[rows[over]]
    involved = pd.DataFrame(
        {"helper": helper[over], "hh": text(data.loc[labels, HID]).to_numpy(), "n": counts[helper[over]]},
        index=labels,
    )
    first = involved.drop_duplicates("helper")
    per_household = involved.drop_duplicates(["helper", "hh"])
    related = related_groups(ctx, kind, first.index, per_household["helper"], include_self=True)
    key = helper_keys(ctx, kind, first.index)
    unit = (
        text(data.loc[first.index, "帮扶单位"])
        if "帮扶单位" in data
        else pd.Series("", index=first.index, dtype=object)
    )
    name = (
        text(data.loc[first.index, name_col])
        if name_col in data
        else pd.Series("", index=first.index, dtype=object)
    )
    shown_id = key.where(~key.str.startswith("姓名 "), "")
    id_part = ("证件号码 " + shown_id).where(shown_id != "", "")
    detail = id_part + ("，" + unit).where((unit != "") & (id_part != ""), unit.where(id_part == "", ""))
    message = (
        "帮扶责任人 " + name + ("（" + detail + "）").where(detail != "", "") + " 结对 "
        + count_texts(first["n"])
        + f" 户，超过上限 {maximum} 户（{param(ctx, 'helper_max_households')}）"
    )  # fmt: skip
    return ctx.flag(kind, first.index, message, column=name_col if name_col in data else HID, related=related)


@rule(
    "SY204",
    "贫困户当年没有帮扶措施",
    severity="warning",
    era="jdlk",
    era_note="2021 年后没有未脱贫户；监测户的措施由 MN131 检查",
    needs=("households", "measures"),
    columns={"households": (HID, "脱贫状态")},
    what="未脱贫或返贫户在其数据年度没有任何帮扶措施记录（措施的年度取“年度”列，否则取“日期”的年份，"
    "都没有时算作每一年都有；措施按户编号对应）。",
    why=PROCESS + "“四查”要求人、项目、资金、措施到位；有户无措施即“帮扶不到位”。",
    example=Example(
        "2017 年未脱贫户 3408260010010001 在措施表中没有 2017 年的记录 → SY204。",
        {"households": [household()], "measures": [{"户编号": H2, "措施类型": "产业帮扶", "年度": 2017}]},
        near_miss={"measures": {0: {"户编号": H1}}},
        near_miss_text="这条产业帮扶是它的",
    ),
)
def sy204(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", HID, "脱贫状态")
    years = data_years(ctx, "households")
    without = poor(households) & ~households_with_measure(ctx)
    at = without.index[without]
    message = (
        text(households.loc[at, "脱贫状态"]) + "户在 " + year_texts(years[at]) + " 年没有任何帮扶措施记录"
    )
    return ctx.flag("households", at, message)


@rule(
    "SY205",
    "帮扶措施与致贫原因不对应",
    severity="warning",
    era="jdlk",
    era_note="2021 年后措施对应的是致贫/返贫风险，由 MN132 检查",
    needs=("households", "measures"),
    columns={"households": (HID, "脱贫状态", "主要致贫原因"), "measures": ("措施类型",)},
    what="建档立卡户（未脱贫、返贫和已脱贫户都检查：脱贫不脱钩期间的帮扶也应对症）当年有帮扶措施，但没有一项"
    "与主要致贫原因对应（对应关系是政策参数 measures.for_cause："
    "因病→健康帮扶；因学→教育帮扶；因残→综合保障或健康帮扶；缺资金→金融帮扶；缺技术→技能培训或就业帮扶；"
    "因灾→住房安全保障或易地搬迁；缺水→饮水安全保障；缺劳力→综合保障或公益岗位帮扶）。参数中没有的致贫原因"
    "不检查；当年没有任何措施的户由 SY204（贫困户）或 SY208（已脱贫户）报告。",
    why=PROCESS + "“因户施策、因人施策”：2017 年讲话批评措施“不对症”，帮扶没有针对致贫原因。",
    example=Example(
        "因病致贫户 2017 年只有产业帮扶、没有健康帮扶 → SY205。",
        {
            "households": [household(主要致贫原因="因病")],
            "measures": [{"户编号": H1, "措施类型": "产业帮扶", "年度": 2017}],
        },
        near_miss={"measures": {0: {"措施类型": "健康帮扶"}}},
        near_miss_text="措施是健康帮扶",
    ),
)
def sy205(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", HID, "脱贫状态", "主要致贫原因")
    data_years(ctx, "households")
    causes, kinds = code_list("致贫原因"), code_list("措施类型")
    mapping: dict[str, list[str]] = {}
    for (
        reason,
        types,
    ) in ctx.policy.measures.for_cause.items():  # config may use variants (缺劳动力, 小额信贷)
        listed = mapping.setdefault(causes.label(reason) or reason, [])
        listed.extend(t for t in (kinds.label(x) or x for x in types) if t not in listed)
    cause = text(households["主要致贫原因"])
    target = cause.isin(list(mapping)) & households_with_measure(ctx)
    matched = pd.Series(False, index=households.index)
    for reason, types in mapping.items():
        rows = target & (cause == reason)
        if rows.any():
            matched |= rows & households_with_measure(ctx, types)
    wrong = target & ~matched
    labels = wrong.index[wrong]
    wanted = fmt(cause[labels], lambda c: "或".join(mapping[c]))
    message = (
        "主要致贫原因为 " + cause[labels] + "，" + year_texts(ctx.data_year("households")[labels])
        + " 年的措施（" + measure_names(ctx, labels) + "）中没有对应的 " + wanted
        + f"（{param(ctx, 'measures.for_cause')}）"
    )  # fmt: skip
    return ctx.flag("households", labels, message, column="主要致贫原因")


@rule(
    "SY206",
    "有劳动力却没有开发式帮扶",
    severity="warning",
    era="jdlk",
    era_note="2021 年后的开发式帮扶由 MN133 检查",
    needs=("households", "members", "measures"),
    columns={"households": (HID, "脱贫状态"), "members": (HID, "劳动技能"), "measures": ("措施类型",)},
    what="建档立卡户（未脱贫、返贫和已脱贫户都检查：脱贫不脱钩）有劳动"
    "年龄（政策参数 working_age，默认 16–60 岁，"
    "按数据年度 12 月 31 日计）且有劳动能力（普通劳动力、技能劳"
    "动力）的在世成员，当年有帮扶措施，但没有任何开发式措施（政策参数 "
    "measures.developmental：产业帮扶、就业帮扶、金融帮扶、公益岗位帮扶、技能培训）。当年没有任何措施的户由 "
    "SY204（贫困户）或 SY208（已脱贫户）报告。",
    why=PROCESS
    + "2017 年讲话指出产业项目只占措施的 18%，帮扶多为“送钱送物”；有劳动力的户应以开发式帮扶为主，"
    "否则脱贫不可持续。",
    example=Example(
        "户内有 47 岁普通劳动力，2017 年只有慰问救助 → SY206。",
        {
            "households": [household()],
            "members": [person(劳动技能="普通劳动力")],
            "measures": [{"户编号": H1, "措施类型": "慰问救助", "年度": 2017}],
        },
        near_miss={"measures": {0: {"措施类型": "就业帮扶"}}},
        near_miss_text="措施是就业帮扶",
    ),
)
def sy206(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", HID, "脱贫状态")
    members = ctx.frame("members", HID, "劳动技能")
    data_years(ctx, "households")
    low, high = ctx.policy.working_age
    ages = member_ages(ctx)
    able = text_in(members["劳动技能"], LABOUR) & ages.between(low, high).fillna(False).astype(bool)
    if has_death_source(ctx):
        able &= ~dead_by_year_end(ctx)
    codes = household_codes(ctx)
    workers = count_per_code(codes["members"], codes["n"], able)
    kinds = code_list("措施类型")
    developmental = list(dict.fromkeys(kinds.label(x) or x for x in ctx.policy.measures.developmental))
    count = pd.Series(gather(workers, codes["households"]), index=households.index)
    target = (count > 0) & households_with_measure(ctx)
    missing = target & ~households_with_measure(ctx, developmental)
    labels = missing.index[missing]
    message = (
        "户内有 " + count_texts(count[labels])
        + f" 名 {low}–{high} 岁有劳动能力（{'、'.join(LABOUR)}）的成员，"
        + year_texts(ctx.data_year("households")[labels]) + " 年的措施只有 "
        + measure_names(ctx, labels)
        + f"，没有开发式帮扶（{'、'.join(developmental)}；{param(ctx, 'measures.developmental')}）"
    )  # fmt: skip
    return ctx.flag("households", labels, message)


@rule(
    "SY207",
    "贫困村当年没有产业项目",
    severity="warning",
    era="jdlk",
    era_note="贫困村 2020 年已全部出列",
    needs=("villages", "measures"),
    columns={"villages": ("村", "是否贫困村"), "measures": ("措施类型",)},
    what="是否贫困村 = 是的村（已出列的也检查：摘帽不摘帮扶），在数据年度没有任何“产业帮扶”措施或项目。"
    "措施按 县、乡、村 中两表共有的列匹配（措施只填了户编号时，地点取户表）；措施只填了部分地点列时按它填了"
    "的列匹配（如只有村名时按村名）。",
    why=PROCESS + "贫困村退出要求有特色产业；2017 年讲话指出产业项目只占 18%。",
    example=Example(
        "贫困村城西村 2017 年的措施只有基础设施、没有产业帮扶 → SY207。",
        {
            "villages": [{"村": "城西村", "是否贫困村": "是", "总人口数": 1000}],
            "measures": [{"村": "城西村", "措施类型": "基础设施", "年度": 2017}],
        },
        near_miss={"measures": {0: {"措施类型": "产业帮扶"}}},
        near_miss_text="有一项产业帮扶",
    ),
)
def sy207(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    villages = ctx.frame("villages", "村", "是否贫困村")
    measures = measures_of_year(ctx)
    if (measures["村"] == "").all():
        raise SkipRule("measures 表既没有村列，也没有可对应到户表的户编号")
    years = data_years(ctx, "villages").astype("Int64")
    columns = [c for c in place_columns(villages) if (measures[c] != "").any()]
    chosen = (measures["措施类型"] == "产业帮扶").to_numpy(dtype=bool) & (measures["村"] != "").to_numpy(
        dtype=bool
    )
    industry = measures.loc[chosen, [*columns, "year"]]
    # Each project matches on the place columns it fills (乡 + 村 without 县 still tells two 城西村 apart):
    # which ones, as bits of one integer a row.
    filled = np.zeros(len(industry), dtype=np.int64)
    for bit, c in enumerate(columns):
        filled |= (industry[c] != "").to_numpy(dtype=bool).astype(np.int64) << bit
    has_project = np.zeros(len(villages), dtype=bool)
    for subset in pd.unique(filled):
        used = [c for bit, c in enumerate(columns) if subset >> bit & 1]
        projects = industry[filled == subset]
        project_keys, project_years = place_key(projects, used), projects["year"]
        own = place_key(villages, used)
        dated = project_years.notna()
        have = pd.MultiIndex.from_arrays([project_keys[dated], project_years[dated].astype("Int64")])
        has_project |= np.asarray(pd.MultiIndex.from_arrays([own, years]).isin(have), dtype=bool)
        has_project |= own.isin(set(project_keys[~dated])).to_numpy()
    keys = place_key(villages, columns)
    names = text(villages["村"])
    missing = as_bool(villages, "是否贫困村") & ~pd.Series(has_project, index=villages.index)
    status = pd.Series("", index=villages.index, dtype=object)
    if "出列年度" in villages:
        status = ("（" + year_texts(villages["出列年度"]) + " 年已出列）").where(
            villages["出列年度"].notna(), ""
        )
    status = status.mask(as_bool(villages, "是否出列") & (status == ""), "（已出列）")
    message = (
        "贫困村 " + keys.where(keys != "", names) + status + " 在 " + year_texts(years)
        + " 年没有任何产业帮扶措施或项目"
    )  # fmt: skip
    return ctx.flag("villages", missing, message, column="村")


@rule(
    "SY208",
    "已脱贫户当年没有任何帮扶或走访",
    severity="warning",
    needs=("households", "measures"),
    columns={"households": (HID, "脱贫状态")},
    what="已脱贫户在其数据年度没有任何帮扶措施或走访记录（任何措施类型都算，包括“走访”）。",
    why=ACCEPT + "“脱贫不脱钩”：退出后帮扶政策、责任和监管要继续保持，2017 年讲话批评脱贫后无人跟踪。",
    example=Example(
        "2016 年脱贫户 3408260010010001 在 2017 年的措施表中没有任何记录 → SY208。",
        {
            "households": [household(脱贫状态="已脱贫", 脱贫年度=2016)],
            "measures": [{"户编号": H2, "措施类型": "走访", "年度": 2017}],
        },
        near_miss={"measures": {0: {"户编号": H1}}},
        near_miss_text="2017 年有一次走访",
    ),
)
def sy208(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", HID, "脱贫状态")
    years = data_years(ctx, "households")
    missing = exited(households) & ~households_with_measure(ctx)
    at = missing.index[missing]
    message = pd.Series("已脱贫户", index=at, dtype=object)
    if "脱贫年度" in households:
        exit_year = year_texts(households.loc[at, "脱贫年度"])
        message = ("已脱贫户（" + exit_year + " 年脱贫）").where(exit_year != "?", message)
    message = message + "在 " + year_texts(years[at]) + " 年没有任何帮扶措施或走访记录（脱贫不脱钩）"
    return ctx.flag("households", at, message)


# ------------------------------------------------------------------------------------ SY3 验收严格


def _west(ctx: AuditContext, villages: pd.DataFrame) -> pd.Series:
    """“是否西部 = 是” or “west_counties” per row ("" when not west)."""
    reason = pd.Series("", index=villages.index, dtype=object)
    listed = {str(c).strip() for c in ctx.policy.west_counties}
    if listed:
        county = text(villages["县"]) if "县" in villages else pd.Series("", index=villages.index)
        code = (
            text(villages["村代码"]).str.slice(0, 6)
            if "村代码" in villages
            else pd.Series("", index=villages.index)
        )
        in_list = county.isin(listed) | code.isin(listed)
        reason = reason.mask(in_list, f"西部，{param(ctx, 'west_counties')}")
    return reason.mask(as_bool(villages, "是否西部"), "西部，村表是否西部 = 是")


@rule(
    "SY301",
    "出列村贫困发生率不达标",
    severity="error",
    needs=("villages",),
    columns={"villages": ("村", "是否出列", "总人口数")},
    what="已出列村的贫困发生率（贫困人口 ÷ 总人口数）不低于（≥）政策参数 village_exit_incidence（默认 2%）；"
    "西部村（村表是否西部 = 是，或县名 / 村代码前 6 位在参数 west_counties 中）用 village_exit_incidence_west"
    "（默认 3%）。贫困人口取村表的“贫困人口数”，为空时由户表计算（该村未脱贫、返贫户的家庭人口数之和）。",
    why=ACCEPT
    + "贫困村退出以贫困发生率降至 2%（西部 3%）以下为主要衡量标准（《关于建立贫困退出机制的意见》，"
    "厅字〔2016〕16号）。",
    example=Example(
        "出列村总人口 1000、贫困人口 20（2%）→ SY301。",
        {"villages": [{"村": "城西村", "是否出列": "是", "总人口数": 1000, "贫困人口数": 20}]},
        near_miss={"villages": {0: {"贫困人口数": 19}}},
        near_miss_text="贫困人口 19（1.9%）",
    ),
)
def sy301(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    villages = ctx.frame("villages", "村", "是否出列", "总人口数")
    total = villages["总人口数"].astype("float64")
    listed = (
        villages["贫困人口数"].astype("float64")
        if "贫困人口数" in villages
        else pd.Series(np.nan, index=villages.index)
    )
    source = pd.Series("村表贫困人口数", index=villages.index, dtype=object)
    poor_people = listed
    if listed.isna().any() and ctx.has("households", "村", "脱贫状态"):
        computed = village_poor_counts(ctx, villages)["poor_people"]
        source = source.mask(listed.isna() & computed.notna(), "由户表计算")
        poor_people = listed.fillna(computed)
    if "贫困人口数" not in villages and not ctx.has("households", "村", "脱贫状态"):
        raise SkipRule("villages 表没有贫困人口数，也没有可用于计算的户表（村、脱贫状态）")
    incidence = poor_people / total.where(total > 0)
    west = _west(ctx, villages)
    limit = pd.Series(ctx.policy.village_exit_incidence, index=villages.index).mask(
        west != "", ctx.policy.village_exit_incidence_west
    )
    limit_param = pd.Series(param(ctx, "village_exit_incidence"), index=villages.index, dtype=object).mask(
        west != "", param(ctx, "village_exit_incidence_west")
    )
    bad = as_bool(villages, "是否出列") & (incidence >= limit).fillna(False).astype(bool)
    labels = bad.index[bad]
    message = (
        "已出列村贫困发生率 " + fmt(incidence[labels] * 100, "{:.2f}") + "%（贫困人口 "
        + count_texts(poor_people[labels]) + " ÷ 总人口 " + count_texts(total[labels]) + "，"
        + source[labels] + "），不低于退出标准 " + fmt(limit[labels], percent) + "（"
        + west[labels].where(west[labels] != "", "非西部") + "；" + limit_param[labels] + "）"
    )  # fmt: skip
    column = "贫困人口数" if "贫困人口数" in villages else "总人口数"
    return ctx.flag("villages", labels, message, column=column)


@rule(
    "SY302",
    "出列村集体经济收入不足",
    severity="warning",
    needs=("villages",),
    columns={"villages": ("村", "是否出列", "村集体经济收入")},
    what="已出列村的村集体经济收入低于政策参数 collective_income_min（默认 50 000 元，等于不报告；表头写"
    "“万元”时已换算为元）。",
    why=ACCEPT + "各省贫困村退出标准要求村集体经济有稳定收入（如安徽省要求不低于 5 万元）。",
    example=Example(
        "出列村村集体经济收入 49999 元 → SY302。",
        {"villages": [{"村": "城西村", "是否出列": "是", "总人口数": 1000, "村集体经济收入": 49999}]},
        near_miss={"villages": {0: {"村集体经济收入": 50000}}},
        near_miss_text="50000 元",
    ),
)
def sy302(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    villages = ctx.frame("villages", "村", "是否出列", "村集体经济收入")
    minimum = ctx.policy.collective_income_min
    income = villages["村集体经济收入"]
    low = as_bool(villages, "是否出列") & (income < minimum).fillna(False).astype(bool)
    units = np.array([s.units.get("村集体经济收入", "") for s in ctx.dataset.sources], dtype=object)
    unit = pd.Series(units[villages["_src"].to_numpy(dtype=np.int64)], index=villages.index, dtype=object)
    note = ("（表头单位 " + unit + "，已换算）").where(~unit.isin(["", "元"]), "")
    message = (
        "已出列村集体经济收入 " + money_texts(income[low]) + " 元" + note[low]
        + f"，低于 {minimum:g} 元（{param(ctx, 'collective_income_min')}）"
    )  # fmt: skip
    return ctx.flag("villages", low, message, column="村集体经济收入")


@rule(
    "SY303",
    "当年识别（或返贫）当年脱贫",
    severity="warning",
    era="jdlk",
    era_note="2021 年后不再有当年识别、当年脱贫",
    needs=("households",),
    columns={"households": ("脱贫状态", "脱贫年度")},
    what="已脱贫户的脱贫年度等于识别年度；或户表有同一户编号上一年度的行，那一年已脱贫（脱贫年度早于本年），"
    "本年度脱贫年度却变为本年——即本年返贫又本年脱贫。新识别或返贫的户不应在当年退出。计划脱贫年度不参与判断。",
    why=ACCEPT + "退出须“稳定”超过贫困线（厅字〔2016〕16号）；新识别或返贫的户当年即退出，往往是“算账脱贫”"
    "“数字脱贫”。",
    example=Example(
        "识别年度 2016、脱贫年度 2016 → SY303。",
        {"households": [household(脱贫状态="已脱贫", 识别年度=2016, 脱贫年度=2016)]},
        near_miss={"households": {0: {"脱贫年度": 2017}}},
        near_miss_text="2017 年脱贫",
    ),
)
def sy303(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", "脱贫状态", "脱贫年度")
    is_exited = exited(households)
    out_year = households["脱贫年度"].astype("Int64")
    message = pd.Series("", index=households.index, dtype=object)
    two_years = "年度" in households and HID in households and households["年度"].nunique() > 1
    if "识别年度" not in households and not two_years:
        raise SkipRule("households 表缺少列 识别年度，也没有同一户上一年度的行可比较")
    if "识别年度" in households:
        same = is_exited & (households["识别年度"] == out_year).fillna(False).astype(bool)
        at = households.index[same.to_numpy()]  # texts for the flagged rows only
        message.loc[at] = (year_texts(out_year.loc[at]) + " 年识别、当年即脱贫").to_numpy(dtype=object)
    if two_years:
        rows = pd.DataFrame(
            {HID: household_codes(ctx)["households"], "year": households["年度"].astype("Int64"), "out": out_year,
             "exited": is_exited, "_label": households.index}
        )  # fmt: skip
        rows = rows[(rows[HID] >= 0) & rows["year"].notna()]
        before = rows.drop_duplicates([HID, "year"]).assign(year=lambda f: f["year"] + 1)
        joined = rows.merge(before, on=[HID, "year"], how="inner", suffixes=("", "_prev"))
        relapsed = (
            joined["exited"] & joined["exited_prev"] & (joined["out"] == joined["year"]).fillna(False)
            & (joined["out_prev"] < joined["out"]).fillna(False)
        )  # fmt: skip
        hit = joined[relapsed]
        if len(hit):
            text_ = (
                "上一年度（" + year_texts(hit["year"] - 1) + "）已脱贫（脱贫年度 "
                + year_texts(hit["out_prev"])
                + "），本年度脱贫年度变为 " + year_texts(hit["out"]) + "：当年返贫又当年脱贫"
            )  # fmt: skip
            text_.index = pd.Index(hit["_label"])
            message.loc[text_.index] = (message.loc[text_.index] + "；").where(
                message.loc[text_.index] != "", ""
            ) + text_
    return ctx.flag("households", message != "", message, column="脱贫年度")


@rule(
    "SY304",
    "脱贫年度缺失或不合理",
    severity="error",
    era="jdlk",
    era_note="2021 年后的导出不再有脱贫年度",
    needs=("households",),
    columns={"households": ("脱贫状态", "脱贫年度")},
    what="已脱贫户的脱贫年度为空或无法识别，或早于识别年度，或晚于数据年度。计划脱贫年度是计划而非事实，"
    "不能代替脱贫年度（只有计划脱贫年度的已脱贫户报告为脱贫年度为空）。",
    why=ACCEPT
    + "脱贫年度决定退出按当年标准核验错退（LG401、LG402）还是按巩固情况核验（LG403、LG404），以及“脱贫不脱"
    "政策”的过渡期，缺失或颠倒使退出无从核验。",
    example=Example(
        "识别年度 2016、脱贫年度 2015 → SY304。",
        {"households": [household(脱贫状态="已脱贫", 识别年度=2016, 脱贫年度=2015)]},
        near_miss={"households": {0: {"脱贫年度": 2017}}},
        near_miss_text="脱贫年度 2017",
    ),
)
def sy304(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", "脱贫状态", "脱贫年度")
    out_year = households["脱贫年度"].astype("Int64")
    years = ctx.data_year("households")
    is_exited = exited(households)
    bad_cell = unreadable(ctx, "households", "脱贫年度")
    empty = is_exited & out_year.isna() & ~bad_cell
    unread = is_exited & bad_cell
    identified = (
        households["识别年度"].astype("Int64")
        if "识别年度" in households
        else pd.Series(pd.NA, index=households.index, dtype="Int64")
    )
    early = is_exited & (out_year < identified).fillna(False).astype(bool)
    late = is_exited & (out_year > years).fillna(False).astype(bool)
    flagged = empty | unread | early | late
    at = flagged.index[flagged]
    message = pd.Series("", index=at, dtype=object)
    message = message.mask(empty[at], "已脱贫但脱贫年度为空")
    message = message.mask(
        unread[at], "已脱贫但脱贫年度“" + raw_values(ctx, "households", "脱贫年度")[at] + "”无法识别"
    )
    message = message.mask(
        early[at], "脱贫年度 " + year_texts(out_year[at]) + " 早于识别年度 " + year_texts(identified[at])
    )
    late_text = "脱贫年度 " + year_texts(out_year[at]) + " 晚于数据年度 " + year_texts(years[at])
    message = message.mask(late[at], (message + "；").where(message != "", "") + late_text)
    return ctx.flag("households", at, message, column="脱贫年度")


@rule(
    "SY305",
    "村表贫困户数、贫困人口数与户表不符",
    severity="warning",
    needs=("villages", "households"),
    columns={"villages": ("村",), "households": ("村", "脱贫状态")},
    what="村表的贫困户数、贫困人口数，与户表中该村（按两表共有的县、乡、村列匹配，同一数据年度）未脱贫、返贫户"
    "的户数和人口数（家庭人口数之和，为空时数成员行）不一致。每列不符报告一次；户表中没有该村的户时不检查。",
    why=ACCEPT + "村级台账与户级数据“账账不符”，贫困发生率和退出验收就失去依据。",
    example=Example(
        "村表城西村贫困户数 2，户表中该村未脱贫户只有 1 户 → SY305。",
        {
            "villages": [{"村": "城西村", "总人口数": 1000, "贫困户数": 2}],
            "households": [household(家庭人口数=2)],
        },
        near_miss={"villages": {0: {"贫困户数": 1}}},
        near_miss_text="贫困户数 1",
    ),
)
def sy305(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    villages = ctx.frame("villages", "村")
    columns = [c for c in ("贫困户数", "贫困人口数") if c in villages]
    if not columns:
        raise SkipRule("villages 表既没有贫困户数也没有贫困人口数")
    counts = village_poor_counts(ctx, villages)
    where = "户表（按 " + counts["columns"] + " 匹配）"
    out = []
    for column, computed in (("贫困户数", "poor_households"), ("贫困人口数", "poor_people")):
        if column not in villages:
            continue
        expected = counts[computed]
        listed = villages[column].astype("float64")
        differs = expected.notna() & listed.notna() & (listed != expected)
        labels = differs.index[differs]
        message = (
            f"村表{column} " + count_texts(listed[labels]) + "，" + where[labels]
            + "中该村未脱贫、返贫户合计 "
            + count_texts(expected[labels])
        )  # fmt: skip
        out.append(ctx.flag("villages", labels, message, column=column))
    return out


# ------------------------------------------------------------------------------------ SY4 纪律严厉


@rule(
    "SY401",
    "已死亡人员仍在册",
    severity="error",
    needs=("members",),
    columns={"members": (ID,)},
    scope="global",
    shuffle={"members": ID, "rosters": ID},
    what="成员在数据年度之前（死亡日期早于数据年度 1 月 1 日）已死亡，仍登记为建档立卡成员；死亡日期不详"
    "（只有是否死亡 = 是，或死亡名单没有日期）的也报告，注明无法确认死亡时间。死亡信息来自比对名单中类别为"
    "“死亡”的记录（或“死亡人员”工作表，按规范化证件号码匹配），以及成员表自己的死亡日期 / 是否死亡列；"
    "同一人有多个死亡日期时取最早的。数据年度内死亡的不报告。",
    why=DISCIPLINE + "县级审计发现已死亡人员仍在册、仍享受政策，虚增贫困人口并可能冒领资金。",
    example=Example(
        "成员 2016-12-31 死亡，2017 年数据中仍在册 → SY401。",
        {"members": [person(死亡日期="2016-12-31")]},
        near_miss={"members": {0: {"死亡日期": "2017-01-01"}}},
        near_miss_text="2017-01-01 死亡（数据年度内）",
    ),
)
def sy401(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    require_death_source(ctx)
    ctx.frame("members", ID)
    deaths = member_deaths(ctx)
    years = data_years(ctx, "members")
    start = year_start(years)
    before = deaths["dead"] & (deaths["date"] < start).fillna(False).astype(bool)
    undated = deaths["dead"] & deaths["date"].isna()
    at = deaths.index[before | undated]
    deaths, years, year = deaths.loc[at], years[at], year_texts(years[at])
    message = pd.Series("", index=at, dtype=object)
    message = message.mask(
        before[at],
        "已于 " + date_texts(deaths["date"]) + " 死亡（" + deaths["source"] + "），早于 " + year
        + " 年 1 月 1 日，仍登记为 " + year + " 年建档立卡成员",
    )  # fmt: skip
    message = message.mask(
        undated[at],
        "已登记死亡但死亡日期不详（" + deaths["source"] + "），无法确认死于 " + year
        + " 年之前，仍登记为建档立卡成员",
    )  # fmt: skip
    return ctx.flag("members", at, message, column=ID)


@rule(
    "SY402",
    "资金发放给非在册人员或已死亡人员",
    severity="error",
    needs=("measures", "members"),
    columns={"measures": ("领取人证件号码",), "members": (ID,)},
    scope="global",
    shuffle={"measures": "领取人证件号码", "members": ID, "rosters": ID},
    what="帮扶资金的领取人证件号码（规范化后）不是任何建档立卡成员（号码无效的也报告），或发放日期晚于领取人的"
    "死亡日期（死亡当天及以前发放的不报告）。死亡日期来源同 SY401。",
    why=DISCIPLINE + "资金必须发放到建档立卡对象本人；发给非在册人员或死者，是虚报冒领的典型线索。",
    example=Example(
        "2017-06-02 向 2017-06-01 已死亡的张建国发放 500 元 → SY402。",
        {
            "measures": [
                {
                    "户编号": H1,
                    "措施类型": "产业帮扶",
                    "金额": 500,
                    "日期": "2017-06-02",
                    "领取人证件号码": id_number("19700101", 111),
                }
            ],
            "members": [person(死亡日期="2017-06-01")],
        },
        near_miss={"measures": {0: {"日期": "2017-06-01"}}},
        near_miss_text="死亡当天发放",
    ),
)
def sy402(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    measures = ctx.frame("measures", "领取人证件号码")
    raw = raw_values(ctx, "measures", "领取人证件号码")
    keys = person_keys(ctx, "measures", "领取人证件号码")
    amount = measures["金额"] if "金额" in measures else pd.Series(np.nan, index=measures.index)
    date = measures["日期"] if "日期" in measures else pd.Series(pd.NaT, index=measures.index)
    has_receiver = raw != ""
    invalid = has_receiver & keys.isna()
    stranger = has_receiver & keys.notna() & (registered(ctx, "measures", "领取人证件号码") < 0)
    at = measures.index[invalid | stranger]
    shown = text(measures.loc[at, "领取人证件号码"]).where(lambda s: s != "", raw[at])
    what = (
        ("，金额 " + money_texts(amount[at]) + " 元").where(amount[at].notna(), "")
        + ("，发放日期 " + date_texts(date[at])).where(date[at].notna(), "")
    )  # fmt: skip
    message = pd.Series("", index=at, dtype=object)
    message = message.mask(invalid[at], "领取人证件号码 " + shown + " 无效，无法核实为建档立卡成员" + what)
    message = message.mask(stranger[at], "领取人 " + keys[at] + " 不是任何建档立卡户的成员" + what)
    out = [ctx.flag("measures", at, message, column="领取人证件号码")]
    if "日期" in measures and has_death_source(ctx):
        deaths = deaths_of(ctx, "measures", "领取人证件号码")
        after = has_receiver & deaths["dead"] & (date > deaths["date"]).fillna(False).astype(bool)
        labels = after.index[after]
        text_ = (
            "发放日期 " + date_texts(date[labels]) + " 晚于领取人 " + keys[labels] + " 的死亡日期 "
            + date_texts(deaths.loc[labels, "date"]) + "（" + deaths.loc[labels, "source"] + "）"
            + ("，金额 " + money_texts(amount[labels]) + " 元").where(amount[labels].notna(), "")
        )  # fmt: skip
        out.append(ctx.flag("measures", labels, text_, column="日期"))
    return out


@rule(
    "SY403",
    "同一笔资金重复发放",
    severity="warning",
    needs=("measures",),
    columns={"measures": ("措施类型", "金额", "日期")},
    scope="global",
    shuffle={"measures": "日期"},
    what="同一领取人（规范化的领取人证件号码，没有时按户编号）、同一措施类型、同一金额（到分）、同一日期的发放"
    "记录出现两次或以上（金额为空或为 0 的不算）。每条重复记录报告一次，related 列出同组的其他记录。",
    why=DISCIPLINE + "审计署公告指出扶贫资金重复发放、套取冒领；完全相同的两笔发放是首要核查线索。",
    example=Example(
        "同一人 2017-06-01 两次领取 500 元产业帮扶 → 两条 SY403。",
        {
            "measures": [
                {
                    "户编号": H1,
                    "领取人证件号码": id_number("19700101", 111),
                    "措施类型": "产业帮扶",
                    "金额": 500,
                    "日期": "2017-06-01",
                },
                {
                    "户编号": H1,
                    "领取人证件号码": id_number("19700101", 111),
                    "措施类型": "产业帮扶",
                    "金额": 500,
                    "日期": "2017-06-01",
                },
            ]
        },
        near_miss={"measures": {1: {"日期": "2017-09-01"}}},
        near_miss_text="第二次在 2017-09-01",
    ),
)
def sy403(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    measures = ctx.frame("measures", "措施类型", "金额", "日期")
    household = household_codes(ctx).get("measures", np.full(len(measures), -1, dtype=np.int64))
    who = np.where(household >= 0, household + 1, 0)  # households: positive; people: negative
    if "领取人证件号码" in measures:
        person = person_codes(ctx)["measures.领取人证件号码"]
        who = np.where(person >= 0, -(person + 1), who)
    (kind,), _ = joint_codes(measures["措施类型"])
    cents = (measures["金额"] * 100).round().to_numpy()
    dates = measures["日期"].to_numpy(dtype="datetime64[ns]")
    usable = np.flatnonzero((who != 0) & (cents > 0) & ~np.isnat(dates))
    # the same (who, type, cents, date) on two or more rows, hashed on integers
    rows, groups, counts = repeated_groups(
        who[usable], kind[usable], cents[usable].astype(np.int64), dates[usable].view(np.int64)
    )
    if not len(rows):
        return None
    dup = measures.index[usable[rows]]
    group = pd.Series(groups, index=dup)
    sizes = pd.Series(counts, index=dup)
    person = person_keys(ctx, "measures", "领取人证件号码")[dup] if "领取人证件号码" in measures else None
    shown = ("户 " + text(measures.loc[dup, HID])) if HID in measures else pd.Series("", index=dup)
    if person is not None:
        shown = person.where(person.notna(), shown)
    related = related_groups(ctx, "measures", dup, group)
    message = (
        "领取人 " + shown + " 的" + text(measures.loc[dup, "措施类型"]) + " " + money_texts(measures.loc[dup, "金额"])
        + " 元在 " + date_texts(measures.loc[dup, "日期"]) + " 发放了 " + count_texts(sizes[dup])
        + " 笔（领取人、措施类型、金额、日期都相同）"
    )  # fmt: skip
    return ctx.flag("measures", dup, message, column="金额", related=related)


@rule(
    "SY404",
    "帮扶单位全年无任何帮扶",
    severity="warning",
    needs=("measures",),
    scope="global",
    reads=("measures", "helpers", "households"),
    what="结对表（没有时用户表）中出现的帮扶单位，在数据年度的措施表中没有任何措施、项目、资金或走访记录"
    "（“无钱无物无项目无措施”）：措施的帮扶单位是它，或措施没填帮扶单位而帮扶责任人是它在结对表中的帮扶"
    "责任人，都算它的记录（填了别的单位的措施算别的单位）；没有年度的措施算作每一"
    "年。每个单位报告一次（它第一次出现的行），related 列出它结对的每一户。",
    why=DISCIPLINE + "2017 年讲话点名有的帮扶单位全年“无钱、无物、无项目、无措施”，属于帮扶作风问题。",
    example=Example(
        "帮扶单位县水利局结对户 3408260010010001，2017 年措施表中没有该单位的任何记录 → SY404。",
        {
            "helpers": [{"帮扶责任人姓名": "王明", "帮扶单位": "县水利局", "户编号": H1}],
            "measures": [{"户编号": H1, "措施类型": "产业帮扶", "帮扶单位": "县农委", "年度": 2017}],
        },
        near_miss={"measures": {0: {"帮扶单位": "县水利局"}}},
        near_miss_text="这项产业帮扶由县水利局实施",
    ),
)
def sy404(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    kind = "helpers" if ctx.has("helpers", "帮扶单位") else "households"
    if not ctx.has(kind, "帮扶单位"):
        raise SkipRule("结对表和户表都没有“帮扶单位”列")
    measures = measures_of_year(ctx)
    if (measures["帮扶单位"] == "").all() and (measures["帮扶责任人"] == "").all():
        raise SkipRule("measures 表既没有帮扶单位也没有帮扶责任人，无法把措施归到单位")
    frame = ctx.frame(kind, "帮扶单位")
    years = ctx.data_year(kind)
    if years.isna().all():
        years = measures["year"]
    if years.isna().all():
        raise SkipRule(f"{kind} 表和 measures 表都没有年度，也没有指定 --year，无法确定数据年度")
    year = int(years.dropna().mode().iloc[0])
    in_year = (measures["year"].isna() | (measures["year"] == year)).to_numpy(dtype=bool)
    active = measures.loc[in_year, ["帮扶单位", "帮扶责任人"]]  # the two columns read, not every column
    working = set(active["帮扶单位"].unique()) - {""}
    if ctx.has("helpers", "帮扶单位", "帮扶责任人姓名"):
        helpers = ctx.frame("helpers")
        unit_of = pd.DataFrame({"name": text(helpers["帮扶责任人姓名"]), "unit": text(helpers["帮扶单位"])})
        unit_of = unit_of[(unit_of["name"] != "") & (unit_of["unit"] != "")]
        named = pd.unique(active.loc[active["帮扶单位"] == "", "帮扶责任人"])
        working |= set(unit_of.loc[unit_of["name"].isin(named), "unit"].unique())
    units = text(frame["帮扶单位"])
    idle = (units != "") & ~units.isin(working)
    if not idle.any():
        return None
    hid = text(frame[HID]) if HID in frame else pd.Series("", index=frame.index, dtype=object)
    involved = pd.DataFrame({"unit": units[idle], "hh": hid[idle]})
    first = involved.drop_duplicates("unit")
    paired = involved[involved["hh"] != ""].groupby("unit")["hh"].nunique()
    per_household = involved.drop_duplicates(["unit", "hh"])
    related = related_groups(ctx, kind, first.index, per_household["unit"], include_self=True)
    message = (
        "帮扶单位 " + first["unit"] + " 结对 " + count_texts(first["unit"].map(paired).fillna(0))
        + f" 户，{year} 年措施表中没有该单位的任何措施、项目、资金或走访记录"
    )  # fmt: skip
    return ctx.flag(kind, first.index, message, column="帮扶单位", related=related)
