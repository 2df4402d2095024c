"""A synthetic county of the monitoring era (2021–2026) in the 监测对象信息 layout (MONITORING.md §1–§4).

The clean 建档立卡 county of `model.build_clean` is rendered as the 防返贫监测信息系统 export: one row per
person with the household fields repeated (headers verbatim from layouts/2023-监测对象信息.txt, units
included), 户类型 脱贫户 / 一般农户, 监测对象类别 for the monitored households, 致贫/返贫风险1–5, YYYYMM
识别监测时间 / 消除监测时间, YYYYMMDD 出生日期, 性别 1/2 and the measure columns holding comma-joined values;
plus the 行政村信息 sheet. Households stay internally consistent, so a clean county trips no rule.

Who is what: an exited household of the model is a 脱贫户 (about one in twelve monitored as 脱贫不稳定户,
most of them with the risk eliminated); a household the model keeps poor is an 一般农户 monitored as
边缘易致贫户 or 突发严重困难户 with its risk not yet eliminated (its income is below the poverty line).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import columns as C
from .model import Params, build_clean, unique_phones
from .pools import Place, place_of

PERSON_SHEET = "监测对象信息"
VILLAGE_SHEET = "行政村信息"
WORK_SHEET, PLAN_SHEET = "已外出务工信息", "计划外出务工信息"
DEATH_SHEET, DEATH_COLS = C.DEATH_SHEET, ("证件号码", "姓名", "死亡日期")
TYPE_EXITED, TYPE_ORDINARY = "脱贫户", "一般农户"
UNSTABLE, EDGE, SUDDEN = "脱贫不稳定户", "边缘易致贫户", "突发严重困难户"
# 2026: 监测对象 became 防止返贫致贫对象 (MONITORING.md §1); the export's header says so.
CATEGORY_HEADER = {2026: "防止返贫致贫对象类别"}
MONITORING_FROM = 2021

# Verbatim headers of the 监测对象信息 export (layouts/2023-监测对象信息.txt) plus `EXTRA_COLS`, which the
# layout's partial list lacks but a county's full-field export carries: 姓名, and the two income parts that
# make 纯收入 = 工资性 + 生产经营性 + 财产性 + 转移性 − 生产经营性支出 add up to 人均纯收入 × 人数 (DQ051).
EXTRA_COLS = ("姓名", "财产性收入", "生产经营性支出")
PERSON_COLS = (
    "县", "乡", "村", "户编号", "姓名", "证件类型", "证件号码", "性别", "民族", "出生日期", "与户主关系",
    "户联系电话", "家庭成员联系电话", "户类型", "监测对象类别", "文化程度", "在校生状况", "失学或辍学原因",
    "义务教育阶段未上学原因", "健康状况", "劳动技能", "务工所在地", "公益性岗位", "公益性岗位(月数)",
    "是否参加城乡居民基本医疗保险", "是否参加城镇职工基本医疗保险", "是否参加大病保险",
    "是否参加城乡居民基本养老保险", "是否参加城镇职工基本养老保险", "是否接受医疗救助", "享受低保政策情况",
    "享受特困供养政策情况", "整户无劳动能力兜底保障户", "是否有家庭成员未参加城乡居民（职工）基本医疗保险",
    "是否义务教育阶段适龄儿童少年失学辍学", "人均纯收入（元）", "工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "生产经营性支出",
    "特困人员救助供养金", "合规自付支出", "耕地面积（亩）", "林地面积（亩）", "退耕还林面积（亩）",
    "林果面积（亩）", "牧草地面积", "水面面积", "住房面积", "与村主干路距离", "入户道路是否硬化", "是否危房户",
    "是否解决安全饮用水", "是否通生活用电", "是否有卫生厕所", "致贫/返贫风险1", "致贫/返贫风险2",
    "致贫/返贫风险3", "致贫/返贫风险4", "致贫/返贫风险5", "风险是否已消除", "风险消除方式", "识别监测时间",
    "消除监测时间", "风险消除后是否住房损毁", "风险消除后是否饮水设施损毁",
    "风险消除后是否义务教育阶段适龄儿童少年失学辍学", "产业帮扶", "就业帮扶", "就业渠道（易地搬迁后扶使用）",
    "公益岗位帮扶", "公益性岗位帮扶", "公益性岗位帮扶其他备注", "健康帮扶", "教育帮扶", "金融帮扶", "社会帮扶",
    "综合保障", "住房安全保障", "饮水安全保障", "搬迁", "基础设施建设", "生产生活条件改善",
    "实施开发式帮扶措施情况", "信息采集人", "信息采集人联系电话", "其他备注",
)  # fmt: skip
RISK_COLS = tuple(f"致贫/返贫风险{i}" for i in range(1, 6))
AFTER_ELIMINATION_COLS = (
    "风险消除后是否住房损毁", "风险消除后是否饮水设施损毁", "风险消除后是否义务教育阶段适龄儿童少年失学辍学",
)  # fmt: skip
VILLAGE_COLS = (
    "县", "乡", "村", "是否出列", "总户数", "总人口数", "低保户数", "低保人口数", "特困供养人口数", "残疾人口数",
    "危房户数", "未实现饮水安全户数", "参加城乡居民基本养老保险人数", "村级集体经济收入（万元）", "村小学（个数）",
    "是否通客运班车", "到乡镇是否通沥青（水泥）路", "行政村卫生室个数", "行政村公共卫生厕所个数",
    "行政村执业（助理）医师（人）", "行政村生产生活垃圾集中堆放点个数（个）", "行政村文化（图书）室个数 （个）",
)  # fmt: skip

# 主要/次要致贫原因 of the model → 致贫/返贫风险 (causes without a risk of their own become 其他 + 其他备注).
CAUSE_RISK = {"因病": "因病", "因残": "因残", "因学": "因学", "因灾": "因自然灾害", "缺劳力": "缺劳动力"}
OTHER_RISK = "其他"
# 措施类型 of the model → measure column of the export.
MEASURE_COLUMN = {
    "产业帮扶": "产业帮扶", "就业帮扶": "就业帮扶", "技能培训": "就业帮扶", "金融帮扶": "金融帮扶",
    "公益岗位帮扶": "公益性岗位帮扶", "健康帮扶": "健康帮扶", "教育帮扶": "教育帮扶", "住房安全保障": "住房安全保障",
    "饮水安全保障": "饮水安全保障", "易地搬迁": "搬迁", "综合保障": "综合保障", "社会帮扶": "社会帮扶",
    "慰问救助": "社会帮扶", "基础设施": "基础设施建设",
}  # fmt: skip
HEALTH_PREMIUM = "城乡居民基本医疗保险个人缴费补贴"
# Risk → (column, value given when no answering measure exists, other columns that also answer it).
RISK_MEASURE = {
    "因病": ("健康帮扶", "家庭医生签约服务", "社会帮扶", "综合保障"),
    "因学": ("教育帮扶", "雨露计划", "社会帮扶"),
    "因残": ("综合保障", "残疾人两项补贴", "社会帮扶"),
    "缺劳动力": ("综合保障", "临时救助", "公益性岗位帮扶"),
    "因安全住房": ("住房安全保障", "危房改造", "搬迁"),
    "因安全饮水": ("饮水安全保障", "饮水安全巩固提升工程"),
}
# A 三保障/饮水 gap of an open 监测户 is one of its risks (MN109): flag column, its value, the risk.
GAP_RISKS = (("是否危房户", C.YES, "因安全住房"), ("是否解决安全饮用水", C.NO, "因安全饮水"))
YULU, YULU_STATUS = "雨露计划补助", r"^(?:中职|高职高专|技师学院)"
DEVELOPMENTAL_COLUMNS = ("产业帮扶", "就业帮扶", "金融帮扶", "公益性岗位帮扶")
# The 务工月监测 exports (layouts/2023-务工月监测.txt), joined to the members by 证件号码.
WORK_COLS = (
    "县", "乡", "行政村", "户编号", "证件号码", "户类型", "监测对象类别", "是否已务工", "开始时间", "结束时间",
    "务工所在县", "务工月收入", "就业渠道", "所属行业", "务工企业名称", "年度交通费补助", "是否点对点输送",
)  # fmt: skip
PLAN_COLS = (
    "县",
    "乡",
    "行政村",
    "户编号",
    "证件号码",
    "户类型",
    "是否计划务工",
    "计划务工所在县",
    "就业服务需求",
)
# 务工所在地 of the model → 务工所在县 of a work record (县内 is the household's own 县).
WORK_PLACE_COUNTY = {"省内县外": "合肥市", "省外": "东莞市"}
TRADES = np.array(["制造业", "建筑业", "批发和零售业", "住宿和餐饮业", "居民服务业"])
EMPLOYERS = np.array(["某电子厂", "某建筑公司", "某物流公司", "某服装厂", "某餐饮公司"])
NO_LABOUR_SKILLS = ("无劳动力", "丧失劳动力")
COLLEGE = ("大专", "本科及以上")
PUBLIC_POST = "保洁员公益岗位"  # the post given where 就业帮扶 alone would leave an open 监测户 without work
LACK_LABOUR_MAX_SHARE = 0.25  # MN106's default
UNSTABLE_SHARE = 0.08  # of 脱贫户, monitored as 脱贫不稳定户
UNSTABLE_INCOME_MAX = 15_000.0  # 未消除 脱贫不稳定户 stay well under MN103's 20000


@dataclass
class MonitoringSample:
    """A monitoring-era county: `persons` (监测对象信息, verbatim headers) and `villages` (行政村信息),
    every cell a string, plus the manifest of planted defects (same columns as `SampleData.planted`)."""

    persons: pd.DataFrame
    villages: pd.DataFrame
    planted: pd.DataFrame
    year: int
    county: str
    export_date: str  # "YYYY-MM-DD" of the 导出时间 title row (the run's reference date)
    notes: dict[str, str] = field(default_factory=dict)
    works: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(WORK_COLS)))
    plans: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(PLAN_COLS)))
    # 死亡人员 (证件号码, 姓名, 死亡日期): 公安 death records, written as a sheet of their own when any
    deaths: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(DEATH_COLS)))

    @property
    def category_header(self) -> str:
        return CATEGORY_HEADER.get(self.year, "监测对象类别")

    @property
    def title(self) -> str:
        return f"{self.county}{self.year}年防返贫监测对象信息"

    def sheets(self) -> dict[str, pd.DataFrame]:
        """Sheet name → frame with the export's headers (the 2026 variant of 监测对象类别 applied)."""
        rename = {"监测对象类别": self.category_header}
        sheets = {PERSON_SHEET: self.persons.rename(columns=rename), VILLAGE_SHEET: self.villages,
                  WORK_SHEET: self.works.rename(columns=rename), PLAN_SHEET: self.plans}  # fmt: skip
        if len(self.deaths):
            sheets[DEATH_SHEET] = self.deaths
        return sheets


def generate_monitoring(
    households: int, *, seed: int = 7, year: int = 2023, defects: bool = True, county: str | Place = "宿松县"
) -> MonitoringSample:
    """A monitoring-era county of about `households` households, deterministic under seed.

    defects=True plants the cases of `monitoring_defects.DEFECTS` (one per rule, more for large
    counties) and lists them in `planted`.
    """
    from .frames import to_tables
    from .monitoring_defects import plant_monitoring

    if year < MONITORING_FROM:
        raise ValueError(f"the monitoring layout starts in {MONITORING_FROM}, not {year}")
    place = county if isinstance(county, Place) else place_of(county)
    params = Params(
        households=households, seed=seed, year=year, county=place.county, defects=False, place=place
    )
    tables = to_tables(build_clean(params))
    rng = np.random.default_rng([seed, year, 2021])
    persons = person_rows(tables, year, rng)
    sample = MonitoringSample(
        persons=persons,
        villages=village_rows(tables["villages"], persons, rng),
        planted=pd.DataFrame(),
        year=year,
        county=place.county,
        export_date=f"{year}-12-31",
        works=work_rows(persons, year, np.random.default_rng([seed, year, 2023])),
    )
    sample.plans = plan_rows(persons, sample.works, year)
    sample.planted = plant_monitoring(
        sample, seed=seed, per_rule=max(1, round(households / 1000)), active=defects
    )
    return sample


# ------------------------------------------------------------------------------------------ persons


def _yes(flag: np.ndarray) -> np.ndarray:
    return np.where(flag, C.YES, C.NO)


def _yyyymm(months: np.ndarray) -> np.ndarray:
    """Month numbers (year × 12 + month − 1) as YYYYMM text."""
    months = np.asarray(months, dtype=np.int64)
    return np.char.mod("%d", (months // 12) * 100 + months % 12 + 1)


def household_status(
    households: pd.DataFrame,
    year: int,
    rng: np.random.Generator,
    labour_share: np.ndarray,
    no_labour: np.ndarray | None = None,
) -> pd.DataFrame:
    """户类型, 监测对象类别, risks, elimination and monitoring months of each household (by 户编号).
    A household where nobody can work (`no_labour`) stays monitored once 兜底 is in place (MN125)."""
    n = len(households)
    exited = households["脱贫状态"].str.startswith("已脱贫").to_numpy()
    income = pd.to_numeric(households["人均纯收入"]).to_numpy()
    unstable = exited & (rng.random(n) < UNSTABLE_SHARE)
    category = np.where(unstable, UNSTABLE, "")
    category = np.where(~exited, np.where(rng.random(n) < 0.8, EDGE, SUDDEN), category)
    monitored = category != ""
    # 脱贫不稳定户 with income well above the line are mostly eliminated; the others are not yet
    eliminated = unstable & ((income > UNSTABLE_INCOME_MAX) | (rng.random(n) < 0.6))
    if no_labour is not None:
        eliminated &= ~no_labour
    end = year * 12 + 11
    first = MONITORING_FROM * 12
    # identified at least 7 months before the end of the data year, elimination 6+ months later
    ident = first + np.floor(rng.random(n) * np.maximum(1, end - 13 - first)).astype(np.int64)
    elim = ident + 6 + np.floor(rng.random(n) * np.maximum(1, end - ident - 6)).astype(np.int64)
    elim = np.minimum(elim, end)
    way = np.where(rng.random(n) < 0.75, "帮扶消除", "自然消除")
    risks = _risks(households, monitored, labour_share)
    out = pd.DataFrame(
        {
            "户编号": households["户编号"].to_numpy(),
            "户类型": np.where(exited, TYPE_EXITED, TYPE_ORDINARY),
            "监测对象类别": category,
            "风险是否已消除": np.where(monitored, _yes(eliminated), ""),
            "风险消除方式": np.where(eliminated, way, ""),
            "识别监测时间": np.where(monitored, _yyyymm(ident), ""),
            "消除监测时间": np.where(eliminated, _yyyymm(elim), ""),
        }
    )
    for col in AFTER_ELIMINATION_COLS:
        out[col] = np.where(eliminated, C.NO, "")
    return pd.concat([out, risks], axis=1)


def _risks(households: pd.DataFrame, monitored: np.ndarray, labour_share: np.ndarray) -> pd.DataFrame:
    """致贫/返贫风险1–5 and 其他备注 of the monitored households, from their 致贫原因 (distinct, in order).
    缺劳力 is the risk 缺劳动力 only where labour members are at most a quarter (MN106), else 其他."""
    main = households["主要致贫原因"].to_numpy(dtype=object)
    second = households["次要致贫原因"].to_numpy(dtype=object)
    short = labour_share <= LACK_LABOUR_MAX_SHARE

    def risk(causes: np.ndarray) -> np.ndarray:
        mapped = np.array([CAUSE_RISK.get(c, OTHER_RISK) if c else "" for c in causes], dtype=object)
        return np.where((mapped == "缺劳动力") & ~short, OTHER_RISK, mapped)

    r1, r2 = risk(main), risk(second)
    r2 = np.where(r2 == r1, "", r2)
    other_note = np.where(r1 == OTHER_RISK, main, np.where(r2 == OTHER_RISK, second, ""))
    frame = {RISK_COLS[0]: np.where(monitored, r1, ""), RISK_COLS[1]: np.where(monitored, r2, "")}
    frame.update({c: np.full(len(main), "", dtype=object) for c in RISK_COLS[2:]})
    frame["其他备注"] = np.where(monitored, other_note, "")
    return pd.DataFrame(frame)


def measure_columns(measures: pd.DataFrame, year: int) -> pd.DataFrame:
    """The data year's measures of each household as the export's measure columns (comma-joined 内容)."""
    m = measures[(measures["户编号"] != "") & (measures["年度"] == str(year))]
    m = m.assign(column=m["措施类型"].map(MEASURE_COLUMN)).dropna(subset=["column"])
    # 健康帮扶 of the export also lists the 医保 premium subsidy every 脱贫户/监测户 gets (layouts note)
    health = m[m["column"] == "健康帮扶"].drop_duplicates("户编号").assign(内容=HEALTH_PREMIUM)
    m = pd.concat([m, health], ignore_index=True)
    joined = (
        m.drop_duplicates(["户编号", "column", "内容"]).groupby(["户编号", "column"])["内容"].agg(",".join)
    )
    return joined.unstack("column")


def _measure_for_risks(hh: pd.DataFrame) -> None:
    """A monitored household with a risk gets a measure that answers it (MN132's default risk_measures)."""
    for risk, (column, value, *others) in RISK_MEASURE.items():
        has_risk = hh[list(RISK_COLS)].eq(risk).any(axis=1)
        answered = np.zeros(len(hh), dtype=bool)
        for col in (column, *others):
            answered |= (hh[col] != "").to_numpy()
        lacking = has_risk.to_numpy() & ~answered
        hh.loc[lacking, column] = value


def person_rows(tables: dict[str, pd.DataFrame], year: int, rng: np.random.Generator) -> pd.DataFrame:
    """The 监测对象信息 rows (PERSON_COLS) of a clean county rendered from its 建档立卡 tables."""
    h, m = tables["households"], tables["members"]
    n = len(h)
    m = _employ_or_retrain(m, h, year)
    age = year - pd.to_numeric(m["出生日期"].str[:4]).to_numpy()
    hid = m["户编号"].to_numpy()
    skill = m["劳动技能"].to_numpy()
    labour = pd.Series(np.isin(skill, ("普通劳动力", "技能劳动力")) & (age >= 16) & (age <= 60))
    labour_share = labour.groupby(hid).mean().reindex(h["户编号"]).to_numpy()
    nobody_works = (
        pd.Series(np.isin(skill, NO_LABOUR_SKILLS)).groupby(hid).all().reindex(h["户编号"]).to_numpy()
    )
    status = household_status(h, year, rng, labour_share, nobody_works).set_index("户编号")
    hh = pd.DataFrame(index=h["户编号"].to_numpy())
    hh = hh.join(status)
    measures = measure_columns(tables["measures"], year)
    for col in (
        c for c in PERSON_COLS[PERSON_COLS.index("产业帮扶") : PERSON_COLS.index("实施开发式帮扶措施情况")]
    ):
        hh[col] = measures[col].reindex(hh.index).fillna("") if col in measures else ""
    _gap_risks(hh, h.set_index("户编号").reindex(hh.index))
    posts = _public_posts(hh, m, year, h.set_index("户编号")["工资性收入"])
    _measure_for_risks(hh)
    _some_measure(hh)
    developmental = np.zeros(n, dtype=bool)
    for col in DEVELOPMENTAL_COLUMNS:
        developmental |= (hh[col] != "").to_numpy()
    hh["实施开发式帮扶措施情况"] = np.where(developmental, C.YES, "尚未实施")
    hv = h.set_index("户编号")
    hh["户联系电话"] = hv["户联系电话"]
    hh["人均纯收入（元）"] = hv["人均纯收入"]
    hh["工资性收入"] = hv["工资性收入"]
    hh["生产经营性收入"] = hv["生产经营性收入"]
    hh["转移性收入"] = hv["转移性收入"]
    hh["财产性收入"] = hv["财产性收入"]
    hh["生产经营性支出"] = hv["生产经营性支出"]
    hh["特困人员救助供养金"] = hv["五保金"]
    ill = hv["主要致贫原因"].eq("因病").to_numpy() & (hh["监测对象类别"] != "").to_numpy()
    hh["合规自付支出"] = np.where(ill, np.char.mod("%.2f", np.round(rng.uniform(3000, 20000, n), 2)), "0.00")
    for col, hi in (("耕地面积（亩）", 8), ("林地面积（亩）", 20), ("退耕还林面积（亩）", 3), ("林果面积（亩）", 2),
                    ("牧草地面积", 1), ("水面面积", 1)):  # fmt: skip
        hh[col] = np.char.mod("%.1f", np.round(rng.uniform(0, hi, n), 1))
    hh["住房面积"] = np.char.mod("%d", rng.integers(60, 220, n))
    hh["与村主干路距离"] = np.char.mod("%.1f", np.round(rng.uniform(0, 3, n), 1))
    hh["是否危房户"] = hv["是否危房户"]
    hh["是否解决安全饮用水"] = hv["是否解决安全饮用水"]
    for col in ("入户道路是否硬化", "是否通生活用电", "是否有卫生厕所"):
        hh[col] = C.YES
    collectors, phones = _collectors(h, m, rng)
    hh["信息采集人"] = collectors
    hh["信息采集人联系电话"] = phones

    rural = m["是否参加城乡居民基本医疗保险"].to_numpy() == C.YES
    urban = m["是否参加城镇职工基本医疗保险"].to_numpy() == C.YES
    uninsured = pd.Series(~(rural | urban)).groupby(hid).any()
    dropout = pd.Series(m["失学或辍学原因"].to_numpy() != "").groupby(hid).any()
    no_labour = pd.Series(np.isin(skill, ("无劳动力", "丧失劳动力"))).groupby(hid).all()
    hh["是否有家庭成员未参加城乡居民（职工）基本医疗保险"] = _yes(uninsured.reindex(hh.index).to_numpy())
    hh["是否义务教育阶段适龄儿童少年失学辍学"] = _yes(dropout.reindex(hh.index).to_numpy())
    whole_household = no_labour.reindex(hh.index).to_numpy()
    hh["整户无劳动能力兜底保障户"] = _yes(whole_household)
    # a household without labour gets 兜底: its head receives 低保 unless someone has 低保/特困 (MN141)
    support = pd.Series((m["是否享受低保"] == C.YES).to_numpy() | (m["是否特困供养人员"] == C.YES).to_numpy())
    unsupported = set(hh.index[whole_household & ~support.groupby(hid).any().reindex(hh.index).to_numpy()])
    dibao = (m["是否享受低保"].to_numpy() == C.YES) | (
        np.isin(hid, list(unsupported)) & (m["与户主关系"] == "户主").to_numpy()
    )

    student = m["在校生状况"].to_numpy() != ""
    disabled = m["健康状况"].str.contains("残疾").to_numpy()
    disability = _disability_digits(rng, len(m))
    person = pd.DataFrame(
        {
            "县": m["户编号"].map(hv["县"]).to_numpy(),
            "乡": m["户编号"].map(hv["乡"]).to_numpy(),
            "村": m["户编号"].map(hv["村"]).to_numpy(),
            "户编号": hid,
            "姓名": m["姓名"].to_numpy(),
            "证件类型": np.where(disabled, "残疾人证", "居民身份证"),
            "证件号码": np.where(
                disabled, m["证件号码"].to_numpy(dtype=object) + disability, m["证件号码"].to_numpy()
            ),
            "性别": np.where(m["性别"].to_numpy() == "男", "1", "2"),
            "民族": "汉族",
            "出生日期": m["出生日期"].str.replace("-", "", regex=False).to_numpy(),
            "与户主关系": m["与户主关系"].to_numpy(),
            "家庭成员联系电话": m["成员联系电话"].to_numpy(),
            "文化程度": m["文化程度"].to_numpy(),
            "在校生状况": m["在校生状况"].to_numpy(),
            "失学或辍学原因": m["失学或辍学原因"].to_numpy(),
            "义务教育阶段未上学原因": "",
            "健康状况": m["健康状况"].to_numpy(),
            "劳动技能": m["劳动技能"].to_numpy(),
            "务工所在地": m["务工所在地"].to_numpy(),
            "公益性岗位": posts,
            "公益性岗位(月数)": np.where(posts != "", "12", ""),
            "是否参加城乡居民基本医疗保险": _yes(rural),
            "是否参加城镇职工基本医疗保险": _yes(urban),
            "是否参加大病保险": _yes(rural),  # 大病保险 comes with 城乡居民医保
            "是否参加城乡居民基本养老保险": _yes((age >= 16) & ~student),
            "是否参加城镇职工基本养老保险": C.NO,
            "是否接受医疗救助": _yes(np.char.find(m["健康状况"].to_numpy(dtype=str), "大病") >= 0),
            "享受低保政策情况": np.where(dibao, "农村低保", "未享受"),
            "享受特困供养政策情况": np.where(m["是否特困供养人员"].to_numpy() == C.YES, "农村特困", "不享受"),
        }
    )
    shared = hh.reindex(hid).reset_index(drop=True)
    for col in shared.columns:
        person[col] = shared[col].to_numpy()
    person["综合保障"] = _welfare_in_step(person)
    person["教育帮扶"] = _yulu_in_step(person)
    return person[list(PERSON_COLS)].astype("str").reset_index(drop=True)


def _gap_risks(hh: pd.DataFrame, hv: pd.DataFrame) -> None:
    """An open 监测户 with a 危房 or 饮水 gap has that risk in its first free slot (MN109, DQ072)."""
    open_ = (hh["监测对象类别"] != "") & (hh["风险是否已消除"] == C.NO)
    for flag, value, risk in GAP_RISKS:
        lacking = open_ & hv[flag].eq(value) & ~hh[list(RISK_COLS)].eq(risk).any(axis=1)
        for slot in RISK_COLS:  # five columns, not records
            free = lacking & hh[slot].eq("")
            hh.loc[free, slot] = risk
            lacking &= ~free


def _some_measure(hh: pd.DataFrame) -> None:
    """A 监测户 without any measure gets a 社会帮扶 visit (MN131)."""
    measures = list(PERSON_COLS[PERSON_COLS.index("产业帮扶") : PERSON_COLS.index("实施开发式帮扶措施情况")])
    bare = (hh["监测对象类别"] != "") & hh[measures].eq("").all(axis=1)
    hh.loc[bare, "社会帮扶"] = "春节慰问金"


def _yulu_in_step(person: pd.DataFrame) -> pd.Series:
    """雨露计划 exactly where a 中职/高职 student lives (MN136): elsewhere it is a 助学金; a 监测户 with
    such a student gets it."""
    hid = person["户编号"]
    has = person["在校生状况"].str.contains(YULU_STATUS).groupby(hid).transform("any")
    education = person["教育帮扶"]
    says = education.str.contains("雨露计划")
    education = education.where(has | ~says, education.str.replace(YULU, "助学金", regex=False))
    lacking = (person["监测对象类别"] != "") & has & ~says
    return education.where(~lacking, (education + ",").where(education != "", "") + YULU)


def _ages(m: pd.DataFrame, year: int) -> np.ndarray:
    return year - pd.to_numeric(m["出生日期"].str[:4]).to_numpy()


def _can_work(m: pd.DataFrame, year: int, ages: tuple[int, int]) -> np.ndarray:
    """Members who may hold a job or post: of age, able (not 无/丧失劳动力), not at school, not 特困
    (MN142, MN151, MN152)."""
    age = _ages(m, year)
    status = m["在校生状况"].to_numpy(dtype=str)
    return (
        (age >= ages[0]) & (age <= ages[1]) & ~np.isin(m["劳动技能"].to_numpy(), NO_LABOUR_SKILLS)
        & np.isin(status, ("", "非在校生")) & (m["是否特困供养人员"].to_numpy() != C.YES)
    )  # fmt: skip


def _employ_or_retrain(m: pd.DataFrame, h: pd.DataFrame, year: int) -> pd.DataFrame:
    """No skilled or college-educated member of working age sits idle (MN154): in a household with
    工资性收入 they work in the county (务工所在地 县内); elsewhere they are 普通劳动力 with 高中.
    Nobody of 16–22 out of school has less than 初中 (DQ062)."""
    age = _ages(m, year)
    idle = (
        (age >= 16) & (age <= 60) & np.isin(m["在校生状况"].to_numpy(dtype=str), ("", "非在校生"))
        & ((m["劳动技能"].to_numpy() == "技能劳动力") | np.isin(m["文化程度"].to_numpy(), COLLEGE))
        & (m["务工所在地"].to_numpy() == "")
    )  # fmt: skip
    wages = pd.to_numeric(h.set_index("户编号")["工资性收入"]).reindex(m["户编号"]).to_numpy() > 0
    employed = (
        idle
        & wages
        & np.isin(m["劳动技能"].to_numpy(), ("普通劳动力", "技能劳动力"))
        & _can_work(m, year, (17, 60))
    )
    retrained = idle & ~employed
    m = m.copy()
    young = (age >= 16) & (age <= 22) & np.isin(m["在校生状况"].to_numpy(dtype=str), ("", "非在校生"))
    m.loc[young & np.isin(m["文化程度"].to_numpy(), ("文盲或半文盲", "小学")), "文化程度"] = "初中"  # DQ062
    m.loc[employed, "务工所在地"] = "县内"
    m.loc[retrained & (m["劳动技能"] == "技能劳动力").to_numpy(), "劳动技能"] = "普通劳动力"
    m.loc[retrained & np.isin(m["文化程度"].to_numpy(), COLLEGE), "文化程度"] = "高中"
    return m


def _public_posts(hh: pd.DataFrame, m: pd.DataFrame, year: int, wages: pd.Series) -> np.ndarray:
    """公益性岗位 of each member: a household with 公益性岗位帮扶, or an open 监测户 whose 就业帮扶 has nobody
    at work (MN137), gives its post to its first member who may hold one; without such a member the
    measure is not registered. Edits hh's measure columns."""
    hid = m["户编号"].to_numpy()
    workers = pd.Series(m["务工所在地"].to_numpy() != "").groupby(hid).any().reindex(hh.index).to_numpy()
    # an eliminated household without 工资性收入 had no 就业/公益岗 help that paid (MN127)
    unpaid = (hh["风险是否已消除"] == C.YES) & pd.to_numeric(wages).reindex(hh.index).le(0)
    hh.loc[unpaid, ["就业帮扶", "公益性岗位帮扶"]] = ""
    open_ = (hh["监测对象类别"] != "").to_numpy() & (hh["风险是否已消除"] == C.NO).to_numpy()
    idle_helped = open_ & ~workers & (hh["就业帮扶"] != "").to_numpy()
    wants = (hh["公益性岗位帮扶"] != "").to_numpy() | idle_helped
    able = pd.Series(_can_work(m, year, (18, 60)))
    holder = able[able].groupby(hid[able.to_numpy()]).head(1).index  # first able member per household
    holding = pd.Series(False, index=hh.index)
    holding[hid[holder]] = True
    given = wants & holding.to_numpy()
    hh.loc[given & (hh["公益性岗位帮扶"] == "").to_numpy(), "公益性岗位帮扶"] = PUBLIC_POST
    hh.loc[wants & ~given, "公益性岗位帮扶"] = ""
    hh.loc[idle_helped & ~given, "就业帮扶"] = ""
    post = hh["公益性岗位帮扶"].str.split(",").str[0].where(given, "")
    out = np.full(len(m), "", dtype=object)
    out[holder] = post.reindex(hid[holder]).to_numpy()
    return out


def _welfare_in_step(person: pd.DataFrame) -> pd.Series:
    """综合保障 names 低保 / 特困供养 exactly where a member receives it (MN135): a 兜底 no member
    receives becomes 临时救助; an open 监测户 whose member receives one gets its 兜底 added."""
    hid = person["户编号"]
    joint = person["综合保障"].copy()
    open_ = (person["监测对象类别"] != "") & (person["风险是否已消除"] == C.NO)
    for policy, received, fund in (
        ("农村低保兜底", person["享受低保政策情况"] != "未享受", None),
        ("特困供养兜底", person["享受特困供养政策情况"] != "不享受", "特困人员救助供养金"),
    ):
        has = received.groupby(hid).transform("any")
        if fund:
            has |= pd.to_numeric(person[fund]).gt(0)
        word = policy[:2]
        says = joint.str.contains(word + ("(?!边缘)" if word == "低保" else ""), regex=True)
        joint = joint.where(has | ~says, joint.str.replace(policy, "临时救助", regex=False))
        lacking = open_ & has & ~says
        joint = joint.where(~lacking, (joint + ",").where(joint != "", "") + policy)
    disabled = person["健康状况"].str.contains("残疾").groupby(hid).transform("any")
    joint = joint.where(disabled, joint.str.replace("残疾人两项补贴", "临时救助", regex=False))
    # an eliminated household without 转移性收入 receives no 兜底 payment (MN127)
    unpaid = person["风险是否已消除"].eq(C.YES) & pd.to_numeric(person["转移性收入"]).le(0)
    paid_kinds = r"农村低保兜底|特困供养兜底|残疾人两项补贴"
    return joint.where(~unpaid, joint.str.replace(paid_kinds, "临时救助", regex=True))


def _disability_digits(rng: np.random.Generator, n: int) -> np.ndarray:
    """Category (1–7 but not 4, so no severe 精神 case meets DQ065) and grade (1–4) of a 残疾人证号."""
    category = rng.choice(np.array([1, 2, 3, 5, 6, 7]), n)
    grade = rng.integers(1, 5, n)
    return np.char.add(np.char.mod("%d", category), np.char.mod("%d", grade)).astype(object)


def _collectors(h: pd.DataFrame, m: pd.DataFrame, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """信息采集人 (the household's 帮扶责任人) and a phone of their own, distinct from every member's."""
    names = h["帮扶责任人"].to_numpy(dtype=object)
    distinct = pd.unique(names)
    taken = set(h["户联系电话"]) | set(m["成员联系电话"])
    pool = [
        p for p in np.char.mod("%d", unique_phones(rng, len(distinct) + len(taken) + 10)) if p not in taken
    ]
    phone_of = dict(zip(distinct, pool, strict=False))
    phones = np.array([phone_of[x] if x else "" for x in names], dtype=object)
    return names, phones


# ------------------------------------------------------------------------------------------ villages


def village_rows(villages: pd.DataFrame, persons: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """行政村信息: the model's villages with counts that hold at least the registered people they list."""
    first = persons.drop_duplicates("户编号")
    dibao = persons["享受低保政策情况"] != "未享受"
    count = lambda mask: mask.groupby(persons["村"]).sum()  # noqa: E731
    n = len(villages)
    v = villages.set_index("村")
    dibao_people = count(dibao).reindex(v.index, fill_value=0).to_numpy()
    dibao_households = (
        persons[dibao]
        .drop_duplicates("户编号")
        .groupby("村")
        .size()
        .reindex(v.index, fill_value=0)
        .to_numpy()
    )
    tekun = count(persons["享受特困供养政策情况"] != "不享受").reindex(v.index, fill_value=0).to_numpy()
    disabled = count(persons["健康状况"].str.contains("残疾")).reindex(v.index, fill_value=0).to_numpy()
    weifang = (
        (first["是否危房户"] == C.YES).groupby(first["村"]).sum().reindex(v.index, fill_value=0).to_numpy()
    )
    total_h = pd.to_numeric(v["总户数"]).to_numpy()
    total_p = pd.to_numeric(v["总人口数"]).to_numpy()
    extra = rng.integers(0, 4, n)
    out = pd.DataFrame(
        {
            "县": v["县"].to_numpy(),
            "乡": v["乡"].to_numpy(),
            "村": v.index.to_numpy(),
            "是否出列": v["是否出列"].to_numpy(),
            "总户数": v["总户数"].to_numpy(),
            "总人口数": v["总人口数"].to_numpy(),
            "低保户数": np.char.mod("%d", np.minimum(dibao_households + extra, total_h)),
            "低保人口数": np.char.mod("%d", np.minimum(dibao_people + 2 * extra, total_p)),
            "特困供养人口数": np.char.mod("%d", tekun),
            "残疾人口数": np.char.mod("%d", disabled + extra),
            "危房户数": np.char.mod("%d", weifang),
            "未实现饮水安全户数": "0",
            "参加城乡居民基本养老保险人数": np.char.mod("%d", np.round(total_p * 0.6).astype(np.int64)),
            "村级集体经济收入（万元）": np.char.mod(
                "%.4f", pd.to_numeric(v["村集体经济收入"]).to_numpy() / 10_000
            ),
            "村小学（个数）": np.char.mod("%d", rng.integers(0, 2, n)),
            "是否通客运班车": C.YES,
            "到乡镇是否通沥青（水泥）路": C.YES,
            "行政村卫生室个数": "1",
            "行政村公共卫生厕所个数": np.char.mod("%d", rng.integers(1, 4, n)),
            "行政村执业（助理）医师（人）": np.char.mod("%d", rng.integers(1, 3, n)),
            "行政村生产生活垃圾集中堆放点个数（个）": np.char.mod("%d", rng.integers(2, 9, n)),
            "行政村文化（图书）室个数 （个）": "1",
        }
    )
    return out[list(VILLAGE_COLS)].astype("str")


# ------------------------------------------------------------------------------------------ 务工


def _job_holders(persons: pd.DataFrame, year: int) -> pd.Series:
    """Members who may have a work record: 17+, able, not at school, not 特困 (MN142, MN151, MN152)."""
    age = year - pd.to_numeric(persons["出生日期"].str[:4])
    return (
        (age >= 17) & ~persons["劳动技能"].isin(NO_LABOUR_SKILLS) & persons["在校生状况"].isin(("", "非在校生"))
        & persons["享受特困供养政策情况"].eq("不享受")
    )  # fmt: skip


def work_rows(persons: pd.DataFrame, year: int, rng: np.random.Generator) -> pd.DataFrame:
    """已外出务工信息: one current spell (started this year, 是否已务工 = 是) for every member with a
    务工所在地 who may work; 务工所在县 is the household's 县 for 县内, else another county with a fare
    subsidy; the monthly wage shares the household's 工资性收入 (MN161, DQ067)."""
    w = persons[(persons["务工所在地"] != "") & _job_holders(persons, year)]
    n = len(w)
    local = (w["务工所在地"] == "县内").to_numpy()
    per_worker = pd.to_numeric(w["工资性收入"]) / w.groupby("户编号")["户编号"].transform("size")
    monthly = np.clip(np.round(per_worker.to_numpy() / 10, -1), 800, 9000)
    out = pd.DataFrame(
        {
            "县": w["县"].to_numpy(),
            "乡": w["乡"].to_numpy(),
            "行政村": w["村"].to_numpy(),
            "户编号": w["户编号"].to_numpy(),
            "证件号码": w["证件号码"].to_numpy(),
            "户类型": w["户类型"].to_numpy(),
            "监测对象类别": w["监测对象类别"].to_numpy(),
            "是否已务工": C.YES,
            "开始时间": np.char.mod(f"{year}年%02d月", rng.integers(1, 10, n)),
            "结束时间": "",
            "务工所在县": np.where(
                local, w["县"].to_numpy(), w["务工所在地"].map(WORK_PLACE_COUNTY).to_numpy()
            ),
            "务工月收入": np.char.mod("%d", monthly),
            "就业渠道": np.where(local, "就近就业", "自主就业"),
            "所属行业": rng.choice(TRADES, n),
            "务工企业名称": rng.choice(EMPLOYERS, n),
            "年度交通费补助": np.where(local, "0", "500"),
            "是否点对点输送": C.NO,
        }
    )
    return out[list(WORK_COLS)].astype("str").reset_index(drop=True)


def plan_rows(persons: pd.DataFrame, works: pd.DataFrame, year: int) -> pd.DataFrame:
    """计划外出务工信息: every 普通劳动力 of 18–50 without a work record or a post plans to work outside
    the county and asks for 岗位信息."""
    age = year - pd.to_numeric(persons["出生日期"].str[:4])
    p = persons[
        _job_holders(persons, year) & age.between(18, 50) & persons["劳动技能"].eq("普通劳动力")
        & ~persons["证件号码"].isin(works["证件号码"]) & persons["公益性岗位"].eq("")
    ]  # fmt: skip
    out = pd.DataFrame(
        {
            "县": p["县"].to_numpy(),
            "乡": p["乡"].to_numpy(),
            "行政村": p["村"].to_numpy(),
            "户编号": p["户编号"].to_numpy(),
            "证件号码": p["证件号码"].to_numpy(),
            "户类型": p["户类型"].to_numpy(),
            "是否计划务工": C.YES,
            "计划务工所在县": WORK_PLACE_COUNTY["省外"],
            "就业服务需求": "岗位信息",
        }
    )
    return out[list(PLAN_COLS)].astype("str").reset_index(drop=True)
