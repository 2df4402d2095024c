"""Labels, code lists and column orders of the synthetic county (canonical headers, DOMAIN.md)."""

from __future__ import annotations

YES, NO = "是", "否"

# 与户主关系 codes used by the generator (subset of the 28 labels, with a sex where it is implied).
REL = ("户主", "配偶", "之子", "之女", "之儿媳", "之孙子", "之孙女", "之父", "之母", "其他")
R_HEAD, R_SPOUSE, R_SON, R_DAU, R_DIL, R_GSON, R_GDAU, R_FATHER, R_MOTHER, R_OTHER = range(len(REL))

HEALTH = ("健康", "长期慢性病", "患有大病", "残疾")
H_OK, H_CHRONIC, H_SERIOUS, H_DISABLED = range(4)

SKILL = ("普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力")
S_NORMAL, S_SKILLED, S_WEAK, S_LOST, S_NONE = range(5)

EDU = ("文盲或半文盲", "小学", "初中", "高中", "大专", "本科及以上")

SCHOOL = (
    "学龄前儿童", "学前教育", "小学", "七年级", "八年级", "九年级",
    "普通高中一年级", "普通高中二年级", "普通高中三年级", "中职一年级", "中职二年级", "中职三年级",
    "高职高专一年级", "高职高专二年级", "高职高专三年级", "本科一年级", "本科二年级", "本科三年级", "本科四年级",
)  # fmt: skip
SC_PRESCHOOL, SC_KINDER, SC_PRIMARY, SC_G7, SC_G8, SC_G9 = range(6)
SC_HIGH1, SC_VOC1, SC_COLLEGE1, SC_BACHELOR1 = 6, 9, 12, 15

ATTR_POOR = ("一般贫困户", "低保贫困户", "特困供养贫困户")
ATTR_EXITED = ("一般脱贫户", "低保脱贫户", "特困供养脱贫户")
A_GENERAL, A_DIBAO, A_TEKUN = range(3)

STATUS = ("未脱贫", "已脱贫(享受政策)", "返贫", "已脱贫(不再享受政策)")
ST_POOR, ST_EXITED, ST_RELAPSED, ST_EXITED_NOPOLICY = range(4)

CAUSES = (
    "因病", "因残", "因学", "因灾", "缺土地", "缺水", "缺技术", "缺劳力", "缺资金",
    "交通条件落后", "自身发展动力不足", "其他",
)  # fmt: skip
(C_ILL, C_DISAB, C_STUDY, C_DISASTER, C_LAND, C_WATER, C_SKILL, C_LABOUR, C_CAPITAL,
 C_TRAFFIC, C_MOTIVATION, C_OTHER) = range(len(CAUSES))  # fmt: skip
# Causes that say nothing about the members (safe as 次要致贫原因 and as free choices).
FREE_CAUSES = (C_DISASTER, C_LAND, C_WATER, C_SKILL, C_LABOUR, C_CAPITAL, C_TRAFFIC, C_MOTIVATION, C_OTHER)
# Causes without a matching measure type in SY205's default mapping.
UNMAPPED_CAUSES = (C_LAND, C_TRAFFIC, C_MOTIVATION, C_OTHER)

MEASURES = (
    "产业帮扶", "就业帮扶", "金融帮扶", "公益岗位帮扶", "技能培训",
    "健康帮扶", "教育帮扶", "住房安全保障", "饮水安全保障", "易地搬迁", "综合保障", "社会帮扶", "慰问救助", "基础设施",
)  # fmt: skip
(M_INDUSTRY, M_JOB, M_FINANCE, M_PUBLICJOB, M_TRAINING, M_HEALTH, M_EDU, M_HOUSING, M_WATER, M_RELOCATE,
 M_SECURITY, M_SOCIAL, M_GIFT, M_INFRA) = range(len(MEASURES))  # fmt: skip
DEVELOPMENTAL = (M_INDUSTRY, M_JOB, M_FINANCE, M_PUBLICJOB, M_TRAINING)
# 主要致贫原因 → the measure the generator gives (one of the types SY205's default mapping accepts).
CAUSE_MEASURE = {
    C_ILL: M_HEALTH, C_DISAB: M_SECURITY, C_STUDY: M_EDU, C_DISASTER: M_HOUSING, C_LAND: M_INDUSTRY,
    C_WATER: M_WATER, C_SKILL: M_TRAINING, C_LABOUR: M_SECURITY, C_CAPITAL: M_FINANCE,
    C_TRAFFIC: M_INDUSTRY, C_MOTIVATION: M_INDUSTRY, C_OTHER: M_INDUSTRY,
}  # fmt: skip
MEASURE_CONTENT = {
    M_INDUSTRY: ("特色种养殖奖补", "茶叶种植奖补", "水产养殖奖补", "光伏收益分红"),
    M_JOB: ("转移就业交通补助", "扶贫车间务工", "就业创业补贴"),
    M_FINANCE: ("扶贫小额信贷贴息", "小额信贷5万元三年期"),
    M_PUBLICJOB: ("护林员公益岗位", "保洁员公益岗位", "水利巡查员"),
    M_TRAINING: ("农业实用技术培训", "家政服务技能培训", "电工技能培训"),
    M_HEALTH: ("家庭医生签约服务", "慢性病门诊补助", "大病救助"),
    M_EDU: ("雨露计划补助", "义务教育阶段助学金", "高中助学金"),
    M_HOUSING: ("危房改造补助", "因灾倒房重建补助"),
    M_WATER: ("安全饮水入户工程", "自来水入户补助"),
    M_RELOCATE: ("易地扶贫搬迁安置",),
    M_SECURITY: ("农村低保兜底", "残疾人两项补贴", "特困供养兜底"),
    M_SOCIAL: ("社会捐赠", "结对企业帮扶"),
    M_GIFT: ("春节慰问金", "慰问米油"),
    M_INFRA: ("村组道路硬化", "农田水利设施"),
}

# All measure descriptions in one tuple; measures store an index into it.
CONTENTS = tuple(t for texts in MEASURE_CONTENT.values() for t in texts)
CONTENT_INDEX = {k: tuple(CONTENTS.index(t) for t in texts) for k, texts in MEASURE_CONTENT.items()}
DROPOUT = ("因家庭困难辍学",)  # 失学或辍学原因 (members store an index; -1 = empty)

ROSTER_KINDS = ("低保", "特困", "死亡", "财政供养人员", "车辆", "商品房", "工商注册")
K_DIBAO, K_TEKUN, K_DEATH, K_PAYROLL, K_CAR, K_HOUSE, K_BUSINESS = range(len(ROSTER_KINDS))

INCOME_COLS = (
    "工资性收入", "生产经营性收入", "财产性收入", "转移性收入", "计划生育金", "低保金", "五保金",
    "养老保险金", "生态补偿金", "其他转移性收入", "生产经营性支出", "纯收入", "人均纯收入",
)  # fmt: skip
PROCEDURE_COLS = ("申请日期", "民主评议日期", "公示开始日期", "公示结束日期", "公告日期")
HELPER_COLS = ("帮扶责任人", "帮扶责任人证件号码", "帮扶单位")

HOUSEHOLD_COLS = (
    "省", "市", "县", "乡", "村", "户编号", "户主姓名", "户主证件号码", "家庭人口数", "贫困户属性", "脱贫状态",
    "识别标准", "识别年度", "脱贫年度", "主要致贫原因", "次要致贫原因", "是否危房户", "是否解决安全饮用水",
    "户联系电话", *INCOME_COLS, "上年人均纯收入", *PROCEDURE_COLS, *HELPER_COLS, "年度",
)  # fmt: skip
MONITOR_COL = "是否监测对象"  # households, data year 2021 and later

MEMBER_COLS = (
    "户编号", "姓名", "性别", "出生日期", "证件号码", "与户主关系", "健康状况", "劳动技能", "文化程度",
    "在校生状况", "务工时间", "务工所在地", "是否享受低保", "是否特困供养人员", "是否参加城乡居民基本医疗保险",
    "是否参加城镇职工基本医疗保险", "失学或辍学原因", "成员联系电话", "年度",
)  # fmt: skip

VILLAGE_COLS = (
    "县", "乡", "村", "村代码", "是否贫困村", "是否出列", "出列年度", "总户数", "总人口数", "贫困户数",
    "贫困人口数", "村集体经济收入", "是否西部",
)  # fmt: skip
MEASURE_COLS = (
    "户编号",
    "乡",
    "村",
    "措施类型",
    "帮扶单位",
    "帮扶责任人",
    "日期",
    "金额",
    "领取人证件号码",
    "年度",
    "内容",
)
HELPER_TABLE_COLS = ("帮扶责任人姓名", "帮扶责任人证件号码", "帮扶单位", "户编号", "开始日期", "结束日期")
ROSTER_COLS = ("类别", "证件号码", "姓名", "日期", "详情", "人均纯收入")

TABLE_KEYS = ("households", "members", "villages", "measures", "helpers", "rosters")
EXTRA_MEASURES = "measures_extra"

# Sheet / file names per table.
SHEETS = {
    "households": "户信息",
    "members": "家庭成员",
    "villages": "村信息",
    "measures": "帮扶措施",
    "helpers": "帮扶责任人结对",
    "rosters": "比对名单",
    EXTRA_MEASURES: "帮扶项目补录",
}
FLAT_SHEET = "建档立卡人员信息"
DEATH_SHEET = "死亡人员"

# Header variants (DOMAIN.md §2) the flat sheet uses instead of canonical names.
FLAT_VARIANTS = {
    "证件号码": "身份证号码",
    "人均纯收入": "家庭年人均纯收入",
    "脱贫状态": "脱贫标志",
    "乡": "乡(镇)",
    "是否参加城乡居民基本医疗保险": "是否参加新型农村合作医疗（城乡居民基本医疗保险）",
}
# Villages sheet in xlsx: the unit goes into the header, as real files do.
XLSX_VILLAGE_VARIANTS = {"村集体经济收入": "村集体经济收入（元）"}

ALL_RULES = (
    "DQ001", "DQ002", "DQ003", "DQ004", "DQ005", "DQ010", "DQ011", "DQ012", "DQ013", "DQ014", "DQ015",
    "DQ016", "DQ017", "DQ018", "DQ020", "DQ021", "DQ030", "DQ031", "DQ032", "DQ033", "DQ034", "DQ035",
    "DQ036", "DQ037", "DQ038", "DQ040", "DQ041", "DQ042", "DQ043", "DQ044", "DQ050", "DQ051", "DQ052",
    "DQ053", "DQ054", "DQ055", "DQ056",
    "SY101", "SY102", "SY103", "SY104", "SY201", "SY202", "SY203", "SY204", "SY205", "SY206", "SY207",
    "SY208", "SY301", "SY302", "SY303", "SY304", "SY305", "SY401", "SY402", "SY403", "SY404",
    "LG101", "LG102", "LG201", "LG202", "LG301", "LG302", "LG401", "LG402", "LG403", "LG404",
    "IN001", "IN002", "IN003", "IN004",
)  # fmt: skip


def flat_columns(households_cols: list[str], member_cols: list[str]) -> list[str]:
    """Column order of the flat member-level export (canonical names)."""
    lead = ["省", "市", "县", "乡", "村", "户编号", "户主姓名", "户主证件号码", "家庭人口数", "贫困户属性", "脱贫状态",
            "识别标准", "识别年度", "脱贫年度", "主要致贫原因", "次要致贫原因"]  # fmt: skip
    person = [c for c in member_cols if c not in ("户编号", "年度")]
    rest = [c for c in households_cols if c not in lead and c != "年度"]
    tail = ["年度"]
    return [c for c in lead if c in households_cols] + person + rest + tail
