"""DQ020–DQ038: household structure — duplicates, 户主/配偶, sexes, sizes, orphans, villages.

Everything is computed over whole columns: member rows are mapped once to the position of their
户编号 among the distinct 户编号 (``member_household_codes``), per-household counts are ``np.bincount``
over those positions, and the household table is aligned to them with one ``get_indexer``. Python
only loops over rows already flagged, to write their ``related`` JSON.

The helpers here (member sex, household positions, raw emptiness, related records) are shared by
dq_members and dq_income.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_audit.dataset import ROW_COLUMN, SOURCE_COLUMN
from fupin_audit.engine.context import AuditContext, related_json
from fupin_audit.engine.rule import Example, NoParams, SkipRule, rule
from fupin_audit.facts.cells import (
    HID,
    household_positions,
    map_values,
    member_household_codes,
    per_household,
    sources,
    text_series,
)
from fupin_audit.facts.keys import (
    count_per_code,
    first_rows,
    gather,
    household_codes,
    id_analysis,
    joint_codes,
    person_codes,
    person_keys,
)
from fupin_audit.facts.values import text
from fupin_audit.rules.example_data import H1, H2, household, id_number, person
from fupin_audit.schema.codes import code_list

REL = "与户主关系"
ID = "证件号码"
HEAD, SPOUSE = "户主", "配偶"
MALE_ONLY = frozenset(code_list("与户主关系").extra["male_only"])
FEMALE_ONLY = frozenset(code_list("与户主关系").extra["female_only"])
# At most this many other records go into one finding's `related` list and message.
RELATED_MAX = 50
SHOWN_MAX = 10

WHY_STRUCTURE = (
    "源头严把：建档立卡以户为单位识别、帮扶和退出，户的构成（户主、配偶、家庭人口数）决定人均纯收入、"
    "两不愁三保障和帮扶措施的对象；重复、缺失或相互矛盾的成员记录会使“扶持对象精准”无从谈起"
    "（《关于创新机制扎实推进农村扶贫开发工作的意见》中发〔2013〕25号，国务院扶贫办《扶贫开发建档立卡"
    "工作方案》）。"
)


# ------------------------------------------------------------------------------------ shared helpers


def as_text(series: pd.Series) -> pd.Series:
    """A column as pyarrow-backed text (NaN where missing); a categorical through its few categories."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        labels = [str(c) for c in series.cat.categories] + [None]
        codes = series.cat.codes.to_numpy()
        taken = pc.take(
            pa.array(labels, type=pa.large_string()), pa.array(np.where(codes < 0, len(labels) - 1, codes))
        )
        return pd.Series(taken.to_pandas().astype("str").array, index=series.index, copy=False)
    return series.astype(object).astype("str")


def member_sex(ctx: AuditContext) -> pd.DataFrame:
    """Per member: ``sex`` (男/女/NA) and ``source`` — the ID's sex digit, else the 性别 column."""

    def compute() -> pd.DataFrame:
        members = ctx.table("members")
        index = members.data.index
        from_id = pd.Series(np.nan, index=index, dtype="str")
        from_column = pd.Series(np.nan, index=index, dtype="str")
        if not members.has(ID) and not members.has("性别"):
            raise SkipRule("members 表既没有证件号码列也没有性别列，无法判断性别")
        if members.has(ID):
            from_id = id_analysis(ctx)["sex"].astype("str")
        if members.has("性别"):
            from_column = as_text(members.data["性别"])
        id_known = from_id.notna().to_numpy()
        sex = from_id.where(id_known, from_column)
        source = sources(id_known, from_column.notna().to_numpy(), ("证件号码", "性别列"))
        return pd.DataFrame({"sex": sex, "source": source}, index=index)

    return ctx.cached("members.sex", compute)


def sex_phrase(sex: pd.Series, source: pd.Series) -> pd.Series:
    """“证件号码显示为男” / “性别列为女”."""
    lead = text_series(
        np.where(source.to_numpy() == "证件号码", 0, 1), ["证件号码显示为", "性别列为"], "", sex.index
    )
    return lead + sex.astype(object).astype(str)


def source_label(ctx: AuditContext, src: int) -> str:
    source = ctx.dataset.sources[src]
    return source.sheet or Path(source.file).name


def row_place(ctx: AuditContext, src: int, row: int, own_src: int) -> str:
    """“第 5 行”, or “户信息 第 5 行” when the row is in another sheet than the finding's own."""
    return f"第 {row} 行" if src == own_src else f"{source_label(ctx, src)} 第 {row} 行"


def records(ctx: AuditContext, kind: str, labels: Iterable[Hashable]) -> dict[Hashable, dict[str, Any]]:
    """A small JSON-able record per row (for ``related``): where it is and who it is."""
    data = ctx.frame(kind)
    labels = pd.Index(labels)
    if labels.empty:
        return {}
    fields = [(k, f) for k, f in (("household_id", HID), ("id_number", ID), ("name", "姓名")) if f in data]
    if kind == "households":
        fields = [
            (k, f) for k, f in (("household_id", HID), ("name", "户主姓名"), ("village", "村")) if f in data
        ]
    part = data.loc[labels, [SOURCE_COLUMN, ROW_COLUMN, *(f for _, f in fields)]]
    out: dict[Hashable, dict[str, Any]] = {}
    for label, values in zip(labels, part.itertuples(index=False, name=None), strict=True):
        src, row, *rest = values
        source = ctx.dataset.sources[int(src)]
        record: dict[str, Any] = {"table": kind, "file": source.file, "sheet": source.sheet, "row": int(row)}
        for (key, _), value in zip(fields, rest, strict=True):
            if not pd.isna(value):
                record[key] = str(value)
        out[label] = record
    return out


def group_related(ctx: AuditContext, kind: str, labels: pd.Index, keys: pd.Series) -> pd.DataFrame:
    """For rows flagged as a group (same key): ``related`` JSON and a text naming the *other* rows.

    Each record is serialised once; a row's list is the join of the others' texts (the same JSON as
    ``related_json`` of the list). At most RELATED_MAX others are listed, so a huge group stays linear.
    """
    data = ctx.frame(kind)
    n = len(labels)
    src = data.loc[labels, SOURCE_COLUMN].to_numpy().tolist()
    row = data.loc[labels, ROW_COLUMN].to_numpy().tolist()
    # Positions 0..n-1 of the flagged rows, grouped by key (group order = first appearance).
    group_of = pd.factorize(keys.reindex(labels), use_na_sentinel=False)[0]
    order = np.argsort(group_of, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of[order], prepend=-1, append=-1))
    groups = [order[a:b].tolist() for a, b in pairwise(bounds)]
    # Only the first RELATED_MAX + 1 rows of a group are ever listed: serialise just those, once each.
    listed_pos = sorted({i for g in groups for i in g[: RELATED_MAX + 1]})
    recs = records(ctx, kind, labels[listed_pos])
    texts = {i: related_json([recs[labels[i]]])[1:-1] for i in listed_pos}
    sheet = {s_: source_label(ctx, s_) for s_ in set(src)}
    related: list[str] = [""] * n
    others: list[str] = [""] * n
    count = np.zeros(n, dtype=np.int64)
    for group in groups:
        head = group[: RELATED_MAX + 1]  # bounded work per row even for a huge group
        n_rest = len(group) - 1
        for i in group:
            rest = [x for x in head if x != i][:RELATED_MAX]
            listed = [texts[x] for x in rest]
            if n_rest > len(rest):
                listed.append(related_json([{"omitted": n_rest - len(rest)}])[1:-1])
            related[i] = "[" + ",".join(listed) + "]"
            places = [
                f"第 {row[x]} 行" if src[x] == src[i] else f"{sheet[src[x]]} 第 {row[x]} 行"
                for x in rest[:SHOWN_MAX]
            ]
            others[i] = "、".join(places) + (f" 等 {n_rest} 处" if n_rest > SHOWN_MAX else "")
            count[i] = len(group)
    return pd.DataFrame({"related": related, "others": others, "count": count}, index=labels)


# ------------------------------------------------------------------------------------ DQ020–DQ021


@rule(
    "DQ020",
    "同一户内重复登记同一人",
    severity="error",
    needs=("members",),
    columns={"members": (HID, ID)},
    what="同一户编号下，两行或多行成员的证件号码（规范化后；15 位旧号按升位后的 18 位、20 位残疾人证号按"
    "前 18 位比较）相同。每一行都报告，related 列出同户中与之重复的其他行。"
    "被 Excel 破坏的号码和占位号码不参与比较（见 DQ013、DQ017）。",
    why=WHY_STRUCTURE
    + " 同一人重复登记会虚增家庭人口数、压低人均纯收入，使不该进的户进入或不该出的户不能退出"
    "（两该两不该）。",
    example=Example(
        "户 3408260010010001 的第 1、2 条成员证件号码都是 340826197001011113 → 两行 DQ020。",
        {"members": [person(), person(姓名="张建军", 与户主关系="之子")]},
        near_miss={"members": {1: {"证件号码": id_number("19950101", 113)}}},
        near_miss_text="第 2 条换成他自己的号码 340826199501011135",
    ),
)
def dq020(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    members = ctx.frame("members", HID, ID)
    key = person_keys(ctx, "members")
    hh, _ = member_household_codes(ctx)
    people = person_codes(ctx)  # the shared integer codes of person keys (the LG rules' joins)
    person, persons = people[f"members.{ID}"], people["n"]
    valid = (hh >= 0) & (person >= 0)
    # One int64 per (household, person): duplicated() on it is a hash of integers, not of strings.
    combined = hh[valid] * (persons + 1) + person[valid]
    # A (household, person) pair can only repeat if the person does: hash just those rows.
    seen = np.bincount(person[valid], minlength=persons)
    candidates = np.flatnonzero(seen[person[valid]] > 1)
    repeated = np.zeros(len(combined), dtype=bool)
    repeated[candidates] = pd.Series(combined[candidates]).duplicated(keep=False).to_numpy()
    dup = np.zeros(len(hh), dtype=bool)
    dup[np.flatnonzero(valid)] = repeated
    if not dup.any():
        return None
    labels = members.index[dup]
    group = pd.Series(combined[dup[valid]], index=labels)
    rel = group_related(ctx, "members", labels, group)
    message = (
        "证件号码 " + key[labels].astype(str) + " 在户 " + members.loc[labels, HID].astype(str) + " 中登记了 "
        + rel["count"].astype(str) + " 次（另见" + rel["others"] + "）"
    )  # fmt: skip
    return ctx.flag("members", labels, message, column=ID, related=rel["related"])


@rule(
    "DQ021",
    "户编号在户表中重复",
    severity="error",
    needs=("households",),
    scope="global",  # the same 户编号 in two counties is a duplicate too
    shuffle={"households": HID},
    columns={"households": (HID,)},
    what="户表中两行或多行的户编号相同。每一行都报告，related 列出同一户编号的其他行。",
    why=WHY_STRUCTURE + " 户编号是户与成员、帮扶措施、帮扶责任人关联的唯一钥匙，重复会让人口、收入和措施"
    "被重复或错误地计入。",
    example=Example(
        "户信息第 1、2 条的户编号都是 3408260010010001 → 两行 DQ021。",
        {"households": [household(), household()]},
        near_miss={"households": {1: {"户编号": H2}}},
        near_miss_text="第 2 条户编号 3408260010010002",
    ),
)
def dq021(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    hid = ctx.frame("households", HID)[HID]
    codes = household_codes(ctx)  # the run's 户编号 codes: a repeat is a code counted twice
    own = codes["households"]
    dup = (own >= 0) & (count_per_code(own, codes["n"])[np.maximum(own, 0)] > 1)
    if not dup.any():
        return None
    labels = hid.index[dup]
    rel = group_related(ctx, "households", labels, hid[labels])
    message = (
        "户编号 " + hid[labels].astype(str) + " 在户表中出现 " + rel["count"].astype(str)
        + " 次（另见" + rel["others"] + "）"
    )  # fmt: skip
    return ctx.flag("households", labels, message, column=HID, related=rel["related"])


# ------------------------------------------------------------------------------------ DQ030–DQ034


def _relation_counts(ctx: AuditContext, relation: str) -> tuple[np.ndarray, np.ndarray]:
    """Per member row: is this relation; and how many rows of its household have it."""
    members = ctx.frame("members", HID, REL)
    codes, _ = member_household_codes(ctx)
    is_rel = (members[REL] == relation).to_numpy(dtype=bool)
    per_hh = per_household(ctx, is_rel)
    return is_rel, gather(per_hh, codes)


@rule(
    "DQ030",
    "户内没有户主",
    severity="error",
    needs=("members",),
    columns={"members": (HID, REL)},
    what="同一户编号的成员中没有与户主关系为“户主”的人。每户报告一次，报告在该户在成员表中的第一行上。",
    why=WHY_STRUCTURE
    + " 没有户主就无法确定户的身份、联系人与帮扶对接人，户主证件号码也是与外部名单比对的依据。",
    example=Example(
        "户 3408260010010001 只有一名“配偶” → 该户第一行 DQ030。",
        {
            "members": [
                person(姓名="李秀英", 性别="女", 证件号码=id_number("19720101", 222), 与户主关系="配偶")
            ]
        },
        near_miss={"members": {0: {"与户主关系": "户主"}}},
        near_miss_text="她是户主",
    ),
)
def dq030(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    members = ctx.frame("members", HID, REL)
    codes, _ = member_household_codes(ctx)
    _is_head, heads = _relation_counts(ctx, HEAD)
    size = gather(per_household(ctx), codes)
    first = np.zeros(len(codes), dtype=bool)
    if len(codes):
        first_pos = first_rows(codes, int(codes.max()) + 1)
        first[first_pos[first_pos >= 0]] = True
    flagged = first & (codes >= 0) & (heads == 0)
    if not flagged.any():
        return None
    labels = members.index[flagged]
    # Relations seen in each flagged household (only those households are touched).
    in_flagged = np.isin(codes, codes[flagged])
    seen = (
        text(members[REL][in_flagged]).replace("", "空或无效")
        .groupby(codes[in_flagged], sort=False).agg(lambda s: "、".join(dict.fromkeys(s)))
    )  # fmt: skip
    hid = members.loc[labels, HID].astype(str)
    message = (
        "户 " + hid + " 的 " + pd.Series(size[flagged], index=labels).astype(str)
        + " 名成员中没有户主（与户主关系：" + pd.Series(seen.reindex(codes[flagged]).to_numpy(), index=labels)
        + "）"
    )  # fmt: skip
    return ctx.flag("members", labels, message, column=REL)


def _too_many(ctx: AuditContext, relation: str) -> pd.DataFrame | None:
    members = ctx.frame("members", HID, REL)
    is_rel, count = _relation_counts(ctx, relation)
    flagged = is_rel & (count > 1)
    if not flagged.any():
        return None
    labels = members.index[flagged]
    hid = members.loc[labels, HID]
    rel = group_related(ctx, "members", labels, hid)
    message = (
        "户 " + hid.astype(str) + " 有 " + rel["count"].astype(str) + " 名成员的与户主关系为“" + relation
        + "”（另见" + rel["others"] + "）"
    )  # fmt: skip
    return ctx.flag("members", labels, message, column=REL, related=rel["related"])


@rule(
    "DQ031",
    "一户有多个户主",
    severity="error",
    needs=("members",),
    columns={"members": (HID, REL)},
    what="同一户编号下有两名或以上成员的与户主关系为“户主”。每名“户主”都报告，related 列出同户的其他“户主”。",
    why=WHY_STRUCTURE + " 一户多个户主通常是两户被合并录入或拆户后未改户编号（分户拆户），会使户数、人口数与"
    "人均纯收入全部失真。",
    example=Example(
        "户 3408260010010001 的两名成员与户主关系都是“户主” → 两行 DQ031。",
        {"members": [person(), person(姓名="李秀英", 性别="女", 证件号码=id_number("19720101", 222))]},
        near_miss={"members": {1: {"与户主关系": "配偶"}}},
        near_miss_text="第 2 条是配偶",
    ),
)
def dq031(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    return _too_many(ctx, HEAD)


@rule(
    "DQ032",
    "一户有多个配偶",
    severity="error",
    needs=("members",),
    columns={"members": (HID, REL)},
    what="同一户编号下有两名或以上成员的与户主关系为“配偶”。每名“配偶”都报告，related 列出同户的其他“配偶”。",
    why=WHY_STRUCTURE + " 与户主关系是核实家庭结构、赡养关系和分户拆户的依据；多个配偶多为儿媳、女婿误录为"
    "配偶，或两户混录。",
    example=Example(
        "户 3408260010010001 有两名“配偶” → 两行 DQ032。",
        {
            "members": [
                person(),
                person(姓名="李秀英", 性别="女", 证件号码=id_number("19720101", 222), 与户主关系="配偶"),
                person(姓名="王桂兰", 性别="女", 证件号码=id_number("19740101", 224), 与户主关系="配偶"),
            ]
        },
        flagged=("members", 1),
        near_miss={"members": {2: {"与户主关系": "之女"}}},
        near_miss_text="第 3 条是之女",
    ),
)
def dq032(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    return _too_many(ctx, SPOUSE)


@rule(
    "DQ033",
    "户主与配偶性别相同",
    severity="error",
    needs=("members",),
    columns={"members": (HID, REL)},
    what="户主与配偶性别相同。性别优先取证件号码第 17 位（奇数男、偶数女），号码无效时取性别列。只比较恰有"
    "一名户主的户（多名户主见 DQ031），报告在配偶行上，related 为户主行。",
    why=WHY_STRUCTURE + " 户主与配偶同性几乎总是性别或证件号码录错，或把其他成员误录为配偶；性别错误还会影响"
    "证件号码比对。",
    example=Example(
        "户主张建国（号码显示为男），配偶李强（号码 340826197201012217 显示为男）→ 配偶行 DQ033。",
        {
            "members": [
                person(),
                person(姓名="李强", 性别="男", 证件号码=id_number("19720101", 221), 与户主关系="配偶"),
            ]
        },
        flagged=("members", 1),
        near_miss={"members": {1: {"姓名": "李秀英", "性别": "女", "证件号码": id_number("19720101", 222)}}},
        near_miss_text="配偶是女性李秀英（340826197201012225）",
    ),
)
def dq033(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    members = ctx.frame("members", HID, REL)
    sex = member_sex(ctx)
    codes, uniques = member_household_codes(ctx)
    is_head, heads = _relation_counts(ctx, HEAD)
    is_spouse = (members[REL] == SPOUSE).to_numpy(dtype=bool)
    single_head = is_head & (heads == 1)
    # The (single) head's row position per household position.
    head_of = np.full(len(uniques) + 1, -1, dtype=np.int64)
    head_of[codes[single_head]] = np.flatnonzero(single_head)
    spouse_pos = np.flatnonzero(is_spouse & (codes >= 0))
    head_pos = head_of[codes[spouse_pos]]
    has_head = head_pos >= 0
    spouse_pos, head_pos = spouse_pos[has_head], head_pos[has_head]
    # the sexes of the spouses and their heads compared (not a hash of every member's sex)
    spouse_sex = sex["sex"].iloc[spouse_pos].reset_index(drop=True)
    head_sex = sex["sex"].iloc[head_pos].reset_index(drop=True)
    same = spouse_sex.notna().to_numpy(dtype=bool) & spouse_sex.eq(head_sex).to_numpy(
        dtype=bool, na_value=False
    )
    spouse_pos, head_pos = spouse_pos[same], head_pos[same]
    if not len(spouse_pos):
        return None
    labels = members.index[spouse_pos]
    head_labels = members.index[head_pos]
    spouse_says = sex_phrase(sex["sex"].iloc[spouse_pos], sex["source"].iloc[spouse_pos])
    head_says = sex_phrase(sex["sex"].iloc[head_pos], sex["source"].iloc[head_pos])
    head_src = members[SOURCE_COLUMN].to_numpy()[head_pos]
    own_src = members[SOURCE_COLUMN].to_numpy()[spouse_pos]
    head_row = members[ROW_COLUMN].to_numpy()[head_pos]
    places = [
        row_place(ctx, int(s), int(r), int(o)) for s, r, o in zip(head_src, head_row, own_src, strict=True)
    ]
    message = (
        "配偶与户主性别相同：配偶" + pd.Series(spouse_says.to_numpy(), index=labels) + "，户主（"
        + pd.Series(places, index=labels, dtype=object) + "）" + pd.Series(head_says.to_numpy(), index=labels)
    )  # fmt: skip
    recs = records(ctx, "members", head_labels)
    related = pd.Series([related_json([recs[h]]) for h in head_labels], index=labels, dtype=object)
    return ctx.flag("members", labels, message, column=REL, related=related)


@rule(
    "DQ034",
    "与户主关系与性别矛盾",
    severity="error",
    needs=("members",),
    columns={"members": (REL,)},
    what="与户主关系只适用于男性（之子、之父、之女婿、之孙子…）而此人为女性，或只适用于女性（之女、之母、之儿媳、"
    "之孙女…）而此人为男性。性别优先取证件号码第 17 位，号码无效时取性别列。男女称谓表见代码表 与户主关系 的"
    " male_only / female_only。",
    why=WHY_STRUCTURE + " 称谓与性别矛盾说明关系、性别或证件号码至少一处录错，也常是拼凑人口的迹象。",
    example=Example(
        "与户主关系 = 之女，证件号码 340826199501011135 第 17 位为 3（男）→ DQ034。",
        {"members": [person(姓名="张丽", 性别="男", 证件号码=id_number("19950101", 113), 与户主关系="之女")]},
        near_miss={"members": {0: {"与户主关系": "之子"}}},
        near_miss_text="与户主关系 = 之子",
    ),
)
def dq034(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    members = ctx.frame("members", REL)
    sex = member_sex(ctx)
    relation = members[REL]
    male_only = relation.isin(MALE_ONLY).to_numpy(dtype=bool)
    female_only = relation.isin(FEMALE_ONLY).to_numpy(dtype=bool)
    sexes = sex["sex"]
    flagged = (male_only & (sexes == "女").to_numpy(dtype=bool)) | (
        female_only & (sexes == "男").to_numpy(dtype=bool)
    )
    if not flagged.any():
        return None
    labels = members.index[flagged]
    should = pd.Series(np.where(male_only[flagged], "男性", "女性"), index=labels)
    message = (
        "与户主关系为“" + text(relation[labels]) + "”（应为" + should + "），但"
        + sex_phrase(sexes[labels], sex["source"][labels])
    )  # fmt: skip
    return ctx.flag("members", labels, message, column=REL)


# ------------------------------------------------------------------------------------ DQ035–DQ038


@rule(
    "DQ035",
    "家庭人口数与成员人数不符",
    severity="error",
    needs=("households", "members"),
    columns={"households": (HID, "家庭人口数"), "members": (HID,)},
    what="户表的家庭人口数与成员表中该户编号的成员行数不相等。成员表中没有成员的户由 DQ037 报告，"
    "不在此重复。",
    why=WHY_STRUCTURE + " 家庭人口数是人均纯收入的分母：多报人口压低人均收入（不该进的进了、该出的没出），"
    "少报则抬高人均收入（不该出的出了）。",
    example=Example(
        "户 3408260010010001 家庭人口数 2，成员表中只有 1 人 → DQ035。",
        {"households": [household(家庭人口数=2)], "members": [person()]},
        near_miss={"households": {0: {"家庭人口数": 1}}},
        near_miss_text="家庭人口数 1",
    ),
)
def dq035(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    households = ctx.frame("households", HID, "家庭人口数")
    ctx.table("members", HID)
    positions = household_positions(ctx)
    counted = gather(per_household(ctx), positions)
    size = households["家庭人口数"]
    stated = ~ctx.derived_rows("households", "家庭人口数")
    if not stated.any():
        raise SkipRule("家庭人口数由成员行计数得到（文件中没有这一列），无可比较")
    flagged = (
        stated
        & size.notna().to_numpy()
        & (positions >= 0)
        & (size.fillna(-1).to_numpy(dtype=np.int64) != counted)
    )
    if not flagged.any():
        return None
    labels = households.index[flagged]
    message = (
        "家庭人口数 " + size[labels].astype(int).astype(str) + "，成员表中有 "
        + pd.Series(counted[flagged], index=labels).astype(str) + " 人"
    )  # fmt: skip
    return ctx.flag("households", labels, message, column="家庭人口数")


@rule(
    "DQ037",
    "户与成员无法对应",
    severity="error",
    needs=("households", "members"),
    columns={"households": (HID,), "members": (HID,)},
    what="成员表中某成员的户编号在户表中不存在（报告在成员行上），或户表中某户在成员表中没有任何成员（报告在户行上）。"
    "户编号为空的行由 DQ002 报告。",
    why=WHY_STRUCTURE + " 户与成员对不上时，人口、收入、三保障等按户汇总的核查都会漏掉这些记录。",
    example=Example(
        "成员表第 2 条户编号 3408260010010002，户表中没有该户 → DQ037。",
        {
            "households": [household()],
            "members": [person(), person(H2, 姓名="李四", 证件号码=id_number("19800101", 113))],
        },
        flagged=("members", 1),
        near_miss={"members": {1: {"户编号": H1, "与户主关系": "之兄弟姐妹"}}},
        near_miss_text="他属于户 3408260010010001",
    ),
)
def dq037(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    households = ctx.frame("households", HID)
    members = ctx.frame("members", HID)
    codes, uniques = member_household_codes(ctx)
    positions = household_positions(ctx)
    out = []
    known = np.zeros(len(uniques) + 1, dtype=bool)
    known[positions[positions >= 0]] = True
    orphan = (codes >= 0) & ~known[np.where(codes < 0, len(uniques), codes)]
    if orphan.any():
        labels = members.index[orphan]
        message = "户编号 " + members.loc[labels, HID].astype(str) + " 在户表中不存在"
        out.append(ctx.flag("members", labels, message, column=HID))
    empty = households[HID].notna().to_numpy() & (positions < 0)
    if empty.any():
        labels = households.index[empty]
        message = "户编号 " + households.loc[labels, HID].astype(str) + " 在成员表中没有任何成员"
        out.append(ctx.flag("households", labels, message, column=HID))
    return out


def _unlisted(
    h_town: pd.Series, h_village: pd.Series, v_town: pd.Series | None, v_village: pd.Series
) -> np.ndarray:
    """Per household: its 村 (a place key) is not in the village table — by (乡, 村) when `v_town`
    is given (a village listed without 乡 matches by name; so does a household without 乡), else by
    村 alone. Names are integer codes shared by both tables (-1: none): integer set tests."""
    (h_code, v_code), n_villages = joint_codes(h_village, v_village)
    names = v_code[v_code >= 0]
    if v_town is None:
        return (h_code >= 0) & ~np.isin(h_code, names)
    (h_town_code, v_town_code), _ = joint_codes(h_town, v_town)
    wildcard = v_code[(v_town_code < 0) & (v_code >= 0)]
    listed = (v_town_code >= 0) & (v_code >= 0)
    width = n_villages + 1
    pairs = v_town_code[listed] * width + v_code[listed]
    pair_ok = np.isin(np.where((h_town_code >= 0) & (h_code >= 0), h_town_code * width + h_code, -1), pairs)
    matched = pair_ok | np.isin(h_code, wildcard) | ((h_town_code < 0) & np.isin(h_code, names))
    return (h_code >= 0) & ~matched


def _place_key(series: pd.Series) -> pd.Series:
    """Names compared without any whitespace (“城西 村” = “城西村”)."""
    return pd.Series(map_values(series, lambda v: None if v is None else "".join(str(v).split()) or None),
                     index=series.index, dtype=object)  # fmt: skip


@rule(
    "DQ038",
    "户所在村不在村表中",
    severity="warning",
    needs=("households", "villages"),
    scope="global",  # looked up by (乡, 村) in the whole village table, whatever its 县
    columns={"households": ("村",), "villages": ("村",)},
    what="户表中户所在的村在村表中找不到。两张表都有“乡”列时按（乡, 村）匹配（村表中乡为空的行只按村名匹配，"
    "户的乡为空时也只按村名匹配），否则只按村名匹配；比较时忽略空格。消息会指出村表中同名村所属的乡。",
    why="源头严把、验收严格：贫困村识别与出列要按村汇总贫困户数、贫困人口数与贫困发生率（SY301、SY305），户的村"
    "在村表中不存在，说明村名录入不规范或村表不全，这些户会被漏算。",
    example=Example(
        "户表 孚玉镇城西村，村表只有 孚玉镇城东村 → DQ038。",
        {
            "households": [household(乡="孚玉镇", 村="城西村")],
            "villages": [{"乡": "孚玉镇", "村": "城东村", "总人口数": 1000}],
        },
        near_miss={"villages": {0: {"村": "城西村"}}},
        near_miss_text="村表中有城西村",
    ),
)
def dq038(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    households = ctx.frame("households", "村")
    villages = ctx.frame("villages", "村")
    h_village = _place_key(households["村"])
    v_village = _place_key(villages["村"])
    by_township = ctx.has("households", "乡") and ctx.has("villages", "乡")
    if ctx.has("households", "乡"):
        h_town = _place_key(households["乡"])
    else:
        h_town = pd.Series(np.nan, index=households.index, dtype=object)
    if by_township:
        v_town = _place_key(villages["乡"])
        listed = v_town.notna().to_numpy() & v_village.notna().to_numpy()
    flagged = _unlisted(h_town, h_village, v_town if by_township else None, v_village)
    if not flagged.any():
        return None
    labels = households.index[flagged]
    town_of: dict[str, list[str]] = {}
    if by_township:
        for town, village in zip(v_town[listed], v_village[listed], strict=True):
            town_of.setdefault(village, [])
            if town not in town_of[village]:
                town_of[village].append(town)
    texts = []
    for village, town in zip(h_village[labels], h_town[labels], strict=True):
        where = f"“{village}”" + (f"（{town}）" if isinstance(town, str) else "")
        text = f"村{where}不在村表中"
        if by_township and village in town_of:
            text += f"（村表中同名村属于 {'、'.join(town_of[village][:SHOWN_MAX])}）"
        texts.append(text)
    message = pd.Series(texts, index=labels, dtype=object)
    return ctx.flag("households", labels, message, column="村")
