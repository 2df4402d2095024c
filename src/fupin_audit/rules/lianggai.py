"""两该两不该 (LG): 该进的没进 (LG1 漏评), 该出的没出 (LG2 应退未退), 不该进的进了 (LG3 错评),
不该出的出了 (LG4 错退)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from fupin_audit.engine.context import AuditContext, related_json
from fupin_audit.engine.rule import Example, NoParams, SkipRule, rule
from fupin_audit.facts.deaths import (
    dead_by_year_end,
    has_death_source,
    member_deaths,
    require_death_source,
)
from fupin_audit.facts.households import needy_rosters, roster_people
from fupin_audit.facts.keys import (
    count_per_code,
    first_rows,
    gather,
    household_codes,
    person_codes,
)
from fupin_audit.facts.lines import policy_values
from fupin_audit.facts.people import member_ages
from fupin_audit.facts.values import (
    HID,
    ID,
    INCOME,
    STATUS,
    as_bool,
    exited,
    is_no,
    mask_texts,
    text,
    text_in,
)
from fupin_audit.facts.years import data_years, exit_split, year_end
from fupin_audit.rules.example_data import household, id_number, person
from fupin_audit.rules.kit.format import count_texts, date_texts, fmt, money_texts, year_texts, yuan
from fupin_audit.rules.kit.related import labels_by_code, records, related_groups

MISSED = "该进的没进（漏评）："
STAYED = "该出的没出（应退未退）："
WRONG_IN = "不该进的进了（错评）："
WRONG_OUT = "不该出的出了（错退）："
EXIT_RULE = (
    "贫困户退出以户年人均纯收入稳定超过国家扶贫标准且“两不愁三保障”（吃穿不愁，义务教育、基本医疗、住房安全"
    "有保障）为主要衡量标准（《关于建立贫困退出机制的意见》，厅字〔2016〕16号）。"
)
DISQUALIFYING = ("财政供养人员", "车辆", "商品房", "工商注册")
INSURANCE = ("是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险")
PRESCHOOL = ("学龄前儿童", "学前教育")
HOME_TEACHING = "送教上门"
# 文化程度 values that mean nine years of compulsory schooling are complete.
FINISHED_COMPULSORY = ("初中", "高中", "大专", "本科及以上", "大专及以上", "硕士研究生及以上")
LOCAL_STANDARDS = ("省定标准", "市定标准")


@rule(
    "LG101",
    "漏评：低保、特困或低收入人员未建档",
    severity="warning",
    needs=("rosters", "members"),
    columns={"rosters": (ID, "类别"), "members": (ID,)},
    scope="global",
    shuffle={"rosters": ID, "members": ID},
    what="比对名单中类别为低保或特困的人，或名单上人均纯收入低于（<）数据年度贫困线的人，其证件号码（规范化后）"
    "不在任何建档立卡户的成员中。死亡名单上已在数据年度结束前死亡的人、证件号码无效的名单行不报告。每条名单"
    "记录报告一次（位置是名单的行）。名单的数据年度取 --year，否则取户表 / 成员表最常见的年度；都没有时只按类别"
    "判断（名单全无低保、特困时跳过）。",
    why=MISSED + "低保、特困对象和低收入人口是识别贫困户的重点比对对象；漏评率是第三方评估的核心指标，"
    "贫困县退出要求漏评率低于 2%。",
    example=Example(
        "低保名单上的 340826196501011238 不在任何建档立卡户中 → LG101。",
        {"rosters": [{"类别": "低保", "证件号码": id_number("19650101", 123)}], "members": [person()]},
        near_miss={"rosters": {0: {"证件号码": id_number("19700101", 111)}}},
        near_miss_text="名单上的是已建档的张建国（340826197001011113）",
    ),
)
def lg101(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    rosters = needy_rosters(ctx)
    missed = rosters["unregistered"]
    at = missed.index[missed]
    listed, low, year = rosters.loc[at, "listed"], rosters.loc[at, "low"], ctx.audit_year()
    reason = ("在" + rosters.loc[at, "kind"] + "名单上").where(listed, "")
    if low.any():
        low_text = (
            "名单人均纯收入 " + money_texts(rosters.loc[at, "income"]) + f" 元低于 {year} 年贫困线 "
            + fmt(rosters.loc[at, "line"], yuan) + " 元（参数 " + rosters.loc[at, "cited"] + "）"
        )  # fmt: skip
        reason = reason.mask(low, (reason + "，").where(reason != "", "") + low_text)
    message = reason + "，但 " + rosters.loc[at, "key"] + " 不在任何建档立卡户中"
    return ctx.flag("rosters", at, message, column=ID)


@rule(
    "LG102",
    "漏评：2021 年后低于监测线的脱贫户未纳入监测",
    severity="warning",
    era="monitoring",
    era_note="2020 年前没有防返贫监测",
    needs=("households",),
    columns={"households": (STATUS, INCOME, "是否监测对象")},
    what="2021 年及以后的数据：已脱贫户人均纯收入低于（<）当年防返贫监测线（政策参数 monitoring_line，按户所在的"
    "省、县和年度取：全国 2021 年 6000 元为推算值，之后各省自定），但“是否监测对象”不是“是”。没有监测线的户不检查，"
    "并在诊断信息中说明年度、省份和要设置的配置项；全部没有时整条规则跳过并"
    "说明是哪一年。",
    why=MISSED
    + "2021 年起建立防止返贫动态监测和帮扶机制，收入低于监测线的脱贫户应纳入监测（中央农办、农业农村部"
    "等《关于健全防止返贫动态监测和帮扶机制的指导意见》，2021 年）。",
    example=Example(
        "2021 年已脱贫户人均纯收入 5800 元（监测线 6000）且不是监测对象 → LG102。",
        {
            "households": [
                household(脱贫状态="已脱贫", 脱贫年度=2019, 人均纯收入=5800, 是否监测对象="否", 年度=2021)
            ]
        },
        near_miss={"households": {0: {"人均纯收入": 6000}}},
        near_miss_text="人均纯收入 6000 元（不低于监测线）",
        year=2021,
    ),
)
def lg102(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", STATUS, INCOME, "是否监测对象")
    years = data_years(ctx, "households")
    recent = (years >= 2021).fillna(False).astype(bool) & exited(households)
    if not recent.any():
        raise SkipRule("没有 2021 年及以后的已脱贫户（防返贫监测自 2021 年起）")
    lines, cited = policy_values(ctx, "households", "monitoring_line", years, rows=recent)
    below = recent & (households[INCOME] < lines).fillna(False).astype(bool)
    missing = below & ~as_bool(households, "是否监测对象")
    at = missing.index[missing]
    message = (
        "已脱贫户人均纯收入 " + money_texts(households.loc[at, INCOME]) + " 元低于 " + year_texts(years[at])
        + " 年防返贫监测线 " + fmt(lines[at], yuan) + " 元（参数 " + cited[at] + "），但未纳入监测对象"
    )  # fmt: skip
    return ctx.flag("households", at, message, column="是否监测对象")


# ------------------------------------------------------------------------------------ 三保障


GAP_NAMES = ("义务教育", "基本医疗", "住房安全", "饮水安全")


def guarantees(ctx: AuditContext) -> pd.DataFrame:
    """Per household row: for each of 义务教育 / 基本医疗 / 住房安全 / 饮水安全, the gap text ("" = none
    found) and whether the check is `known` to be met (data present for every member / the household).

    Members known dead by the end of the data year are left out. A household with no member rows
    has unknown education and insurance."""

    def compute() -> pd.DataFrame:
        households = ctx.frame("households", HID)
        codes = household_codes(ctx)
        n, own = codes["n"], codes["households"]
        out = pd.DataFrame(index=households.index)
        has_members = ctx.has("members", HID)
        if has_members:
            members = ctx.frame("members")
            key = codes["members"]
            alive = np.ones(len(members), dtype=bool)
            if has_death_source(ctx):
                alive = ~dead_by_year_end(ctx).to_numpy(dtype=bool)
        else:
            key, alive = np.empty(0, dtype=np.int64), np.empty(0, dtype=bool)

        def any_member(flag: np.ndarray | pd.Series) -> pd.Series:
            hits = count_per_code(key, n, np.asarray(flag, dtype=bool) & alive) > 0
            return pd.Series(gather(hits, own, False), index=households.index)

        def per_household(flag: pd.Series, what: Callable[[pd.Index], pd.Series], prefix: str) -> pd.Series:
            """“prefix + 张三（…）、李四（…）” per household from its flagged members (texts built for
            the flagged members only)."""
            rows = np.asarray(flag, dtype=bool) & alive & (key >= 0)
            if not rows.any():
                return pd.Series("", index=households.index, dtype=object)
            texts = pd.Series(what(members.index[rows]).to_numpy(dtype=object)).groupby(key[rows], sort=False)
            joined = texts.agg("、".join)
            per_code = np.full(n, "", dtype=object)
            per_code[joined.index.to_numpy(dtype=np.int64)] = prefix + joined.to_numpy(dtype=object)
            return pd.Series(gather(per_code, own, ""), index=households.index, dtype=object)

        def names(labels: pd.Index) -> pd.Series:
            name = text(members.loc[labels, "姓名"]) if "姓名" in members else pd.Series("", index=labels)
            return name.where(name != "", "第 " + members.loc[labels, "_row"].astype(str) + " 行成员")

        listed = any_member(np.ones(len(key), dtype=bool))
        # 义务教育: school-age members not in school.
        low, high = ctx.policy.compulsory_education_age
        if has_members and "在校生状况" in members:
            try:
                ages = member_ages(ctx)
            except SkipRule:
                ages = pd.Series(pd.NA, index=members.index, dtype="Int64")
            status = members["在校生状况"]

            def status_in(values: tuple[str, ...]) -> np.ndarray:  # judged on a code column's labels
                return text_in(status, values).to_numpy(dtype=bool)

            in_preschool, blank = status_in(PRESCHOOL), status_in(("",))
            school_age = ages.between(low, high).fillna(False).astype(bool)
            preschool = (ages >= 7).fillna(False).astype(bool) & in_preschool
            dropout = text(members["失学或辍学原因"]) if "失学或辍学原因" in members else None
            has_reason = preschool | (blank | status_in(("非在校生",)))
            if dropout is not None:
                has_reason |= dropout != ""

            def reason(at: pd.Index) -> pd.Series:
                """Why a member is out of school, for the given rows only (a later reason wins)."""
                here = text(status[at])
                why = pd.Series("", index=at, dtype=object)
                why = why.mask(here == "", "在校生状况为空")
                why = why.mask(here == "非在校生", "非在校生")
                why = mask_texts(why, preschool[at], "仍为" + here)
                if dropout is not None:
                    why = mask_texts(why, dropout[at] != "", "失学或辍学原因：" + dropout[at])
                return why

            # Taught at home by visiting teachers (disabled children) is schooling, whatever column says it.
            taught_at_home = pd.Series(status_in((HOME_TEACHING,)), index=members.index)
            if dropout is not None:
                taught_at_home |= dropout.str.contains(HOME_TEACHING, regex=False)
            # At the top age, 初中 or above means compulsory schooling is finished, not abandoned.
            finished = (ages >= high).fillna(False).astype(bool)
            if "文化程度" in members:
                finished &= text_in(members["文化程度"], FINISHED_COMPULSORY)
            else:
                finished &= False
            gap = school_age & has_reason & ~taught_at_home & ~finished
            out["义务教育"] = per_household(
                gap,
                lambda at: (
                    names(at) + "（" + ages[at].astype("string").fillna("?") + " 岁，" + reason(at) + "）"
                ),
                f"有 {low}–{high} 岁未在校成员：",
            )
            age_unknown = ages.isna() & ~in_preschool & blank
            out["义务教育_known"] = listed & ~any_member(age_unknown)
        else:
            out["义务教育"] = ""
            out["义务教育_known"] = False
        # 基本医疗: members in neither basic medical insurance.
        columns = [c for c in INSURANCE if has_members and c in members]
        if columns:
            covered = pd.concat([as_bool(members, c) for c in columns], axis=1).any(axis=1)
            refused = pd.concat([is_no(members, c) for c in columns], axis=1).any(axis=1)
            gap = ~covered & refused
            out["基本医疗"] = per_household(gap, names, "有成员未参加基本医疗保险（城乡居民或城镇职工）：")
            out["基本医疗_known"] = listed & ~any_member(~covered & ~refused)
        else:
            out["基本医疗"] = ""
            out["基本医疗_known"] = False
        # 住房安全 and 饮水安全: on the household row.
        if "是否危房户" in households:
            out["住房安全"] = pd.Series("", index=households.index).mask(
                as_bool(households, "是否危房户"), "住房为危房（是否危房户 = 是）"
            )
            out["住房安全_known"] = households["是否危房户"].notna()
        else:
            out["住房安全"], out["住房安全_known"] = "", False
        if "是否解决安全饮用水" in households:
            out["饮水安全"] = pd.Series("", index=households.index).mask(
                is_no(households, "是否解决安全饮用水"), "未解决安全饮用水（是否解决安全饮用水 = 否）"
            )
            out["饮水安全_known"] = households["是否解决安全饮用水"].notna()
        else:
            out["饮水安全"], out["饮水安全_known"] = "", False
        gaps = _joined_gaps([out[name_].to_numpy(dtype=object) for name_ in GAP_NAMES])
        out["gaps"] = pd.Series(gaps, index=households.index, dtype=object)
        return out

    return ctx.cached("households.guarantees", compute)


def _no_text(column: pd.Series) -> np.ndarray:
    """Per row: the gap text is "" (compared by arrow for arrow text, by numpy for Python strings)."""
    if column.dtype == object:
        return column.to_numpy() == ""
    return (column == "").to_numpy(dtype=bool)


def _joined_gaps(parts: list[np.ndarray]) -> np.ndarray:
    """Per household: its gap texts, each followed by “；”, with the trailing “；” stripped ("" for
    none) — a text built only for the households with a gap."""
    written = [part != "" for part in parts]
    rows = np.flatnonzero(np.logical_or.reduce(written))
    joined = np.full(len(rows), "", dtype=object)
    for part, has in zip(parts, written, strict=True):  # a column at a time (object arrays add per text)
        here = has[rows]
        joined[here] = joined[here] + part[rows[here]] + "；"
    gaps = np.full(len(parts[0]), "", dtype=object)
    gaps[rows] = [text.rstrip("；") for text in joined]
    return gaps


def _guarantee_sources(ctx: AuditContext) -> dict[str, bool]:
    return {
        "义务教育": ctx.has("members", HID, "在校生状况"),
        "基本医疗": any(ctx.has("members", HID, c) for c in INSURANCE),
        "住房安全": ctx.has("households", "是否危房户"),
        "饮水安全": ctx.has("households", "是否解决安全饮用水"),
    }


COLUMNS_OF = {
    "义务教育": "members 表的在校生状况",
    "基本医疗": "members 表的是否参加城乡居民基本医疗保险 / 城镇职工基本医疗保险",
    "住房安全": "households 表的是否危房户",
    "饮水安全": "households 表的是否解决安全饮用水",
}


@rule(
    "LG201",
    "应退未退：收入超线且三保障达标仍未脱贫",
    severity="warning",
    era="jdlk",
    era_note="2021 年后没有未脱贫户",
    needs=("households", "members"),
    columns={"households": (HID, STATUS, INCOME, "识别年度")},
    what="脱贫状态为未脱贫的户，识别年度早于数据年度，人均纯收入高于（>）数据年度贫困线，且“三保障”和饮水都能"
    "确认达标：义务教育年龄成员都在校、每名成员都参加了基本医疗保险、是否危房户 = 否、是否解决安全饮用水 = 是"
    "（与 LG402 相同的检查；任何一项数据为空即无法确认，不报告）。四项所需的列缺任何一项时跳过。"
    "贫困线按户所在的省、县和年度取（政策参数 poverty_line，见 fupin-audit policy）；"
    "没有贫困线的户不检查，并在诊断信息中说明年度、省份和要设置的配置项。",
    why=STAYED + EXIT_RULE + " 达到退出标准却不退出，会虚增贫困人口、占用帮扶资源。",
    example=Example(
        "2014 年识别的未脱贫户，2016 年人均纯收入 3600 元（线 2952）、三保障和饮水均达标 → LG201。",
        {
            "households": [
                household(识别年度=2014, 人均纯收入=3600, 是否危房户="否", 是否解决安全饮用水="是")
            ],
            "members": [person(文化程度="初中", 在校生状况=None, 是否参加城乡居民基本医疗保险="是")],
        },
        near_miss={"households": {0: {"人均纯收入": 2952}}},
        near_miss_text="人均纯收入 2952 元（不高于线）",
        year=2016,
    ),
)
def lg201(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    households = ctx.frame("households", HID, STATUS, INCOME, "识别年度")
    missing = [COLUMNS_OF[k] for k, ok in _guarantee_sources(ctx).items() if not ok]
    if missing:
        raise SkipRule("无法确认三保障和饮水全部达标，缺少：" + "；".join(missing))
    years = data_years(ctx, "households")
    stayed = text_in(households[STATUS], ("未脱贫",)) & (households["识别年度"] < years).fillna(False).astype(
        bool
    )
    line, cited = policy_values(
        ctx, "households", "poverty_line", years, rows=stayed & households[INCOME].notna()
    )
    state = guarantees(ctx)
    met = [state[f"{k}_known"].to_numpy(dtype=bool) & _no_text(state[k]) for k in GAP_NAMES]
    all_met = pd.Series(np.logical_and.reduce(met), index=state.index)
    candidate = stayed & (households[INCOME] > line).fillna(False).astype(bool) & all_met
    at = candidate.index[candidate]
    message = (
        "未脱贫户（" + year_texts(households.loc[at, "识别年度"]) + " 年识别）人均纯收入 "
        + money_texts(households.loc[at, INCOME]) + " 元高于 " + year_texts(years[at]) + " 年贫困线 "
        + fmt(line[at], yuan) + " 元（参数 " + cited[at] + "），"
        "义务教育、基本医疗、住房安全、饮水安全均已达标，应退未退"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=INCOME)


@rule(
    "LG202",
    "全户成员均已死亡仍在册",
    severity="error",
    needs=("members",),
    columns={"members": (HID, ID)},
    scope="global",
    shuffle={"members": HID},
    follow={"rosters": "*"},
    what="一个户的全部成员在数据年度结束（12 月 31 日）前都已死亡（死亡名单或成员表死亡日期 / 是否死亡；"
    "死亡日期不详的算已死亡），该户仍在册。每户报告一次，位置是该户第一个成员行，related 列出该户其他成员。",
    why=WRONG_IN + "全户死亡的“空户”仍在册，是审计发现的典型虚假建档和冒领线索。",
    example=Example(
        "户内唯一成员 2016-05-01 死亡，2017 年仍在册 → LG202。",
        {"members": [person(死亡日期="2016-05-01")]},
        near_miss={"members": {0: {"死亡日期": "2018-05-01"}}},
        near_miss_text="2018 年才死亡",
    ),
)
def lg202(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    require_death_source(ctx)
    members = ctx.frame("members", HID, ID)
    deaths = member_deaths(ctx)
    years = data_years(ctx, "members")
    dead = deaths["dead"] & (deaths["date"].isna() | (deaths["date"] <= year_end(years)).fillna(False))
    codes = household_codes(ctx)
    key, n = codes["members"], codes["n"]
    size = count_per_code(key, n)
    all_dead_code = (size > 0) & (count_per_code(key, n, dead) == size)
    all_dead = gather(all_dead_code, key, False)
    if not all_dead.any():
        return None
    first = all_dead & (first_rows(key, n)[np.maximum(key, 0)] == np.arange(len(key)))
    labels = members.index[first]
    involved = members.index[all_dead]
    hid = text(members.loc[involved, HID])
    name = text(members.loc[involved, "姓名"]) if "姓名" in members else pd.Series("", index=involved)
    when = date_texts(deaths.loc[involved, "date"]).where(deaths.loc[involved, "date"].notna(), "日期不详")
    who = (name + " " + when).groupby(hid, sort=False).agg("、".join)
    message = (
        "户 " + hid[labels] + " 全部 " + count_texts(pd.Series(size[key[first]], index=labels))
        + " 名成员均已死亡（" + fmt(hid[labels].map(who), str) + "），" + year_texts(years[labels]) + " 年仍在册"
    )  # fmt: skip
    related = related_groups(ctx, "members", labels, hid)
    return ctx.flag("members", labels, message, column=HID, related=related)


@rule(
    "LG301",
    "错评：成员在财政供养、车辆、商品房或工商注册名单上",
    severity="error",
    needs=("members", "rosters"),
    columns={"members": (ID,), "rosters": (ID, "类别")},
    scope="global",
    shuffle={"members": ID, "rosters": ID},
    what="建档立卡成员（按规范化证件号码）出现在取消资格的比对名单上：财政供养人员、车辆（非农用车）、商品房、"
    "工商注册。名单记录的日期晚于数据年度 12 月 31 日的不算（当时还不具备该条件）。每名成员报告一次，消息给出"
    "名单类别和行，related 列出命中的名单记录（类别、文件、工作表、行、日期、详情）。",
    why=WRONG_IN
    + "“四有”（家庭成员有财政供养人员、有非农用车辆、有城镇商品房、有工商注册）不得识别为贫困户；"
    "审计署 2017 年公告发现 11.34 万名不符合条件人员被纳入建档立卡，其中有人有车有房。",
    example=Example(
        "成员张建国（340826197001011113）在车辆名单上（2016-08-01 登记小型轿车）→ LG301。",
        {
            "members": [person()],
            "rosters": [
                {
                    "类别": "车辆",
                    "证件号码": id_number("19700101", 111),
                    "日期": "2016-08-01",
                    "详情": "小型轿车",
                }
            ],
        },
        near_miss={"rosters": {0: {"日期": "2018-03-01"}}},
        near_miss_text="车辆 2018-03-01 才登记（晚于数据年度）",
    ),
)
def lg301(ctx: AuditContext, params: NoParams) -> pd.DataFrame | None:
    rosters = roster_people(ctx)
    hits = rosters[rosters["_kind"].isin(DISQUALIFYING) & rosters["_key"].notna()]
    year = ctx.audit_year()
    if "日期" in hits and year is not None:
        hits = hits[~(hits["日期"] > pd.Timestamp(f"{year}-12-31")).fillna(False).astype(bool)]
    people = person_codes(ctx)
    member_codes, roster_codes = people[f"members.{ID}"], people[f"rosters.{ID}"]
    listed_codes = roster_codes[rosters.index.get_indexer(hits.index)]
    on_list = np.isin(member_codes, listed_codes) & (member_codes >= 0)
    if not on_list.any():
        return None
    labels = ctx.frame("members").index[on_list]
    wanted = np.isin(listed_codes, member_codes[on_list])
    hits = hits[wanted]
    hit_codes = listed_codes[wanted]
    recs = records(ctx, "rosters", hits.index)
    by_code = labels_by_code(hit_codes, hits.index)
    code_of = pd.Series(member_codes[on_list], index=labels)
    related, message = {}, {}
    for label in labels:  # flagged rows only
        listed = [recs[x] for x in by_code[code_of[label]]]
        related[label] = related_json(listed)
        parts = []
        for rec in listed:
            extra = "，".join(v for v in (rec.get("detail"), rec.get("date")) if v)
            parts.append(
                f"{rec.get('category', '')}名单（{rec['sheet'] or rec['file']} 第 {rec['row']} 行"
                + (f"：{extra}" if extra else "")
                + "）"
            )
        message[label] = "在" + "、".join(parts) + "上，不符合建档立卡条件（四有）"
    return ctx.flag(
        "members",
        labels,
        pd.Series(message, dtype=object),
        column=ID,
        related=pd.Series(related, dtype=object),
    )


@rule(
    "LG302",
    "错评：识别当年收入已超过贫困线",
    severity="warning",
    era="jdlk",
    era_note="2021 年后的识别对象是监测对象，由 MN103 检查",
    needs=("households",),
    columns={"households": ("识别年度",)},
    what="识别当年的人均纯收入高于（>）该年贫困线：识别年度等于数据年度时用人均纯收入；识别年度为上一年时用"
    "上年人均纯收入（有该列时）。识别标准为省定标准或市定标准的户不检查（它们适用更高的地方线）。"
    "贫困线按户所在的省、县和年度取（政策参数 poverty_line，见 fupin-audit policy）；"
    "没有贫困线的户不检查，并在诊断信息中说明年度、省份和要设置的配置项。",
    why=WRONG_IN + "识别标准是收入低于国家扶贫标准；识别时收入已超线，说明“不该进的进了”。",
    example=Example(
        "2016 年识别的户，2016 年人均纯收入 3000 元（线 2952）→ LG302。",
        {"households": [household(识别年度=2016, 人均纯收入=3000)]},
        near_miss={"households": {0: {"人均纯收入": 2952}}},
        near_miss_text="人均纯收入 2952 元（不高于线）",
        year=2016,
    ),
)
def lg302(ctx: AuditContext, params: NoParams) -> list[pd.DataFrame]:
    households = ctx.frame("households", "识别年度")
    if not any(c in households for c in (INCOME, "上年人均纯收入")):
        raise SkipRule("households 表没有人均纯收入或上年人均纯收入")
    years = data_years(ctx, "households")
    identified = households["识别年度"].astype("Int64")
    national = ~text(households["识别标准"]).isin(LOCAL_STANDARDS) if "识别标准" in households else True
    out, unjudged = [], []
    for column, offset in ((INCOME, 0), ("上年人均纯收入", 1)):
        if column not in households:
            continue
        rows = (
            (identified == years - offset).fillna(False).astype(bool) & national & households[column].notna()
        )
        if not rows.any():
            continue
        try:
            line, cited = policy_values(ctx, "households", "poverty_line", identified, rows=rows)
        except SkipRule as skip:  # no line for any of these rows: the other column may still be judged
            unjudged.append(str(skip))
            continue
        above = rows & (households[column] > line).fillna(False).astype(bool)
        at = above.index[above]
        which = "上年人均纯收入" if offset else "当年人均纯收入"
        message = (
            year_texts(identified[at]) + f" 年识别，{which} " + money_texts(households.loc[at, column]) + " 元已高于 "
            + year_texts(identified[at]) + " 年贫困线 " + fmt(line[at], yuan) + " 元（参数 " + cited[at] + "）"
        )  # fmt: skip
        out.append(ctx.flag("households", at, message, column=column))
    if unjudged and not out:
        raise SkipRule("；".join(unjudged))
    return out


def _line_judgement(ctx: AuditContext, which: str) -> tuple[pd.Index, pd.Series, pd.Series, pd.Series]:
    """Rows of the exits `which` ("this_year" / "earlier", see exit_split) whose 人均纯收入 is at or
    under (≤) the data year's line, with that line, what cites it, and the data years."""
    households = ctx.frame("households", STATUS, INCOME)
    split = exit_split(ctx)
    judged = split[which] & households[INCOME].notna()
    years = split["year"]
    line, cited = policy_values(ctx, "households", "poverty_line", years, rows=judged)
    below = judged & (households[INCOME] <= line).fillna(False).astype(bool)
    return below.index[below], line, cited, years


LINE_RULE = (
    "贫困线按户所在的省、县和年度取（政策参数 poverty_line，见 fupin-audit policy）；没有贫困线的户不检查，"
    "并在诊断信息中说明年度、省份和要设置的配置项。"
)


@rule(
    "LG401",
    "错退：当年脱贫户收入不高于贫困线",
    severity="error",
    era="jdlk",
    era_note="2021 年后没有当年脱贫户；脱贫户收入低于监测线由 MN101 检查",
    needs=("households",),
    columns={"households": (STATUS, INCOME)},
    what="数据年度当年脱贫的户（脱贫年度 = 数据年度，或脱贫年度为空）人均纯收入不高于（≤）数据年度的贫困线。"
    "更早年度脱贫的户不在此判断（退出当年的收入不在本期数据中），由 LG403 报告；脱贫年度晚于数据年度的由"
    " SY304 报告。计划脱贫年度不是脱贫年度，不参与判断。" + LINE_RULE,
    why=WRONG_OUT + EXIT_RULE + " 收入未稳定超线即退出，是审计署 2017 年公告所指“算账脱贫”“数字脱贫”；"
    "错退率是第三方评估的核心指标，贫困县退出要求低于 2%。",
    example=Example(
        "2016 年脱贫户人均纯收入 2952.00 元（2016 年线 2952）→ LG401。",
        {"households": [household(脱贫状态="已脱贫", 识别年度=2014, 脱贫年度=2016, 人均纯收入=2952.00)]},
        near_miss={"households": {0: {"人均纯收入": 2952.01}}},
        near_miss_text="人均纯收入 2952.01 元，高于线一分钱",
        year=2016,
    ),
)
def lg401(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    at, line, cited, years = _line_judgement(ctx, "this_year")
    households = ctx.frame("households")
    split = exit_split(ctx)
    when = ("脱贫年度为空，按数据年度 " + year_texts(years[at]) + " 年判断").where(
        split.loc[at, "exit_year"].isna(), year_texts(years[at]) + " 年脱贫"
    )
    message = (
        "已脱贫户（" + when + "）人均纯收入 " + money_texts(households.loc[at, INCOME]) + " 元不高于 "
        + year_texts(years[at]) + " 年贫困线 " + fmt(line[at], yuan) + " 元（参数 " + cited[at] + "）"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=INCOME)


@rule(
    "LG403",
    "疑似返贫未标注：往年脱贫户收入不高于贫困线",
    severity="warning",
    era="jdlk",
    era_note="2021 年后脱贫户收入与防返贫监测线比较，由 MN101 检查",
    needs=("households",),
    columns={"households": (STATUS, INCOME, "脱贫年度")},
    what="早于数据年度脱贫的户（脱贫年度 < 数据年度），数据年度人均纯收入不高于（≤）数据年度的贫困线，但脱贫状态"
    "仍为已脱贫。不是错退（退出当年的收入未知），而是疑似返贫：应标为返贫或纳入监测。" + LINE_RULE,
    why="两该两不该：脱贫不脱政策、不脱帮扶，脱贫户收入重新跌到贫困线以下应及时标注返贫并继续帮扶"
    "（《关于建立贫困退出机制的意见》，厅字〔2016〕16号）；收入在当年线以下却仍为已脱贫，说明返贫未被发现。",
    example=Example(
        "2015 年脱贫的户（当年线 2855），2016 年人均纯收入 2952.00 元（2016 年线 2952）→ LG403（不是错退）。",
        {"households": [household(脱贫状态="已脱贫", 识别年度=2014, 脱贫年度=2015, 人均纯收入=2952.00)]},
        near_miss={"households": {0: {"人均纯收入": 2952.01}}},
        near_miss_text="2952.01 元",
        year=2016,
    ),
)
def lg403(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    at, line, cited, years = _line_judgement(ctx, "earlier")
    households = ctx.frame("households")
    split = exit_split(ctx)
    message = (
        year_texts(split.loc[at, "exit_year"]) + " 年脱贫的户，" + year_texts(years[at]) + " 年人均纯收入 "
        + money_texts(households.loc[at, INCOME]) + " 元不高于 " + year_texts(years[at]) + " 年贫困线 "
        + fmt(line[at], yuan) + " 元（参数 " + cited[at] + "），仍标为已脱贫：疑似返贫未标注"
    )  # fmt: skip
    return ctx.flag("households", at, message, column=INCOME)


def _gap_rule(ctx: AuditContext, which: str) -> tuple[pd.Series, pd.Series]:
    """The exits `which` ("this_year" / "earlier") with a 三保障 or water gap, and the gap texts."""
    ctx.frame("households", HID, STATUS)
    if not any(_guarantee_sources(ctx).values()):
        raise SkipRule("没有任何三保障或饮水列（" + "；".join(COLUMNS_OF.values()) + "）")
    gaps = guarantees(ctx)["gaps"]
    return exit_split(ctx)[which] & (gaps != ""), gaps


GAP_WHAT = (
    "“三保障”或饮水缺口：义务教育年龄（政策参数 compulsory_education_age，默认 6–15 岁，按数据年度 12 月 31 日计）"
    "的在世成员未在校（在校生状况为空或“非在校生”，7 岁及以上仍为学龄前儿童 / 学前教育，或填了失学或辍学原因；"
    "在校生状况或失学或辍学原因为“送教上门”的算在校，已满上限年龄且文化程度为初中及以上的算已完成义务教育）；"
    "有在世成员的城乡居民基本医疗保险（新农合）和城镇职工基本医疗保险都不是“是”且至少一项为“否”；是否危房户 = 是；"
    "是否解决安全饮用水 = 否。消息逐项列出缺口和涉及的成员。"
)


@rule(
    "LG402",
    "错退：当年脱贫户三保障或饮水未达标",
    severity="error",
    era="jdlk",
    era_note="2021 年后没有当年脱贫户；脱贫户的三保障缺口由 LG404 检查",
    needs=("households",),
    columns={"households": (HID, STATUS)},
    what="数据年度当年脱贫的户（脱贫年度 = 数据年度，或脱贫年度为空）存在"
    + GAP_WHAT
    + " 更早脱贫的户有同样缺口时由 LG404 报告。",
    why=WRONG_OUT + EXIT_RULE + " 审计署 2017 年公告发现 1.7 万人在“三保障”未落实的情况下被宣布脱贫。",
    example=Example(
        "2017 年脱贫户中 12 岁的张小明在校生状况为空 → LG402。",
        {
            "households": [household(脱贫状态="已脱贫", 脱贫年度=2017)],
            "members": [
                person(文化程度="初中"),
                person(
                    姓名="张小明", 证件号码=id_number("20050601", 113), 与户主关系="之子", 在校生状况=None
                ),
            ],
        },
        near_miss={"members": {1: {"在校生状况": "小学"}}},
        near_miss_text="张小明在校生状况为小学",
    ),
)
def lg402(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    wrong, gaps = _gap_rule(ctx, "this_year")
    return ctx.flag("households", wrong, "当年脱贫户三保障或饮水未达标：" + gaps)


@rule(
    "LG404",
    "成果未巩固：往年脱贫户三保障或饮水未达标",
    severity="error",
    needs=("households",),
    columns={"households": (HID, STATUS)},
    what="早于数据年度脱贫的户（脱贫年度 < 数据年度；2021 年起的数据中户类型为脱贫户、没有脱贫年度的户也是，"
    "脱贫已于 2020 年结束）在数据年度存在"
    + GAP_WHAT
    + " 不是错退（退出当年是否达标不在本期数据中），而是脱贫成果未巩固。",
    why="脱贫不脱政策：退出后“三保障”和饮水安全仍须持续保障（《关于建立贫困退出机制的意见》，厅字〔2016〕16号；"
    "2017 年讲话指出脱贫后不跟踪、不巩固）。",
    example=Example(
        "2015 年脱贫的户 2017 年是否危房户 = 是 → LG404（不是错退）。",
        {"households": [household(脱贫状态="已脱贫", 脱贫年度=2015, 是否危房户="是")]},
        near_miss={"households": {0: {"是否危房户": "否"}}},
        near_miss_text="是否危房户 = 否",
    ),
)
def lg404(ctx: AuditContext, params: NoParams) -> pd.DataFrame:
    wrong, gaps = _gap_rule(ctx, "earlier")
    split = exit_split(ctx)
    exit_year = year_texts(split.loc[wrong, "exit_year"])
    who = (exit_year + " 年脱贫的户").where(exit_year != "?", "脱贫户（2020 年或更早脱贫）")
    message = who + "，脱贫成果未巩固：" + gaps[wrong]
    return ctx.flag("households", wrong, message)
