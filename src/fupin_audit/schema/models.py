"""The tables of an audit, one pydantic model each: the single source of truth for fields.

Field names are the canonical Chinese headers (DOMAIN.md §2). Each field's `Annotated` metadata
holds its `Spec`: header aliases, kind, required flag, code list and range. Loading, header
mapping, table classification, validation and `fupin-audit schema` all read these models.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from fupin_audit.schema.fields import (
    Code,
    Date,
    IdNumber,
    Int,
    Money,
    Month,
    Number,
    Phone,
    Spec,
    Text,
    Year,
    YesNo,
    parse_scalar,
)

OptStr = str | None
OptInt = int | None
OptFloat = float | None
OptBool = bool | None
OptDate = dt.date | None


class TableModel(BaseModel):
    """One row of a table. Validating a dict of raw cell texts applies exactly the field specs."""

    # defer_build: a check reads the fields (specs), and validates no row through the model; its
    # validator is built only if a caller does
    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    kind: ClassVar[str]
    title: ClassVar[str]
    sheet_keywords: ClassVar[tuple[str, ...]]
    signature: ClassVar[tuple[str, ...]]  # fields that tell this table apart from the others

    @field_validator("*", mode="before")
    @classmethod
    def _parse_cell(cls, value: Any, info: ValidationInfo) -> Any:
        return parse_scalar(field_spec(cls, info.field_name), info.field_name, value)

    @classmethod
    def specs(cls) -> dict[str, Spec]:
        return _specs(cls)


@cache
def _specs(model: type[TableModel]) -> dict[str, Spec]:
    return {
        name: next(m for m in info.metadata if isinstance(m, Spec))
        for name, info in model.model_fields.items()
    }


def field_spec(model: type[TableModel], name: str) -> Spec:
    return _specs(model)[name]


# Location columns shared by every table.
class _Located(TableModel):
    省: Annotated[OptStr, Text()] = None
    市: Annotated[OptStr, Text("地市", "市(州)")] = None
    县: Annotated[OptStr, Text("县(市、区、旗)", "区县", "县(区)", "县(市、区)", "行政县", "所在县")] = None
    乡: Annotated[OptStr, Text("乡(镇)", "乡镇", "乡镇(街道)", "所在乡", "aar025")] = None
    村: Annotated[OptStr, Text("行政村", "村(社区)", "所在村")] = None
    自然村: Annotated[OptStr, Text("自然村(组)", "村民小组", "组")] = None
    年度: Annotated[OptInt, Year("数据年度", "统计年度", "数据日期")] = None


# 致贫/返贫风险k as exports head it (a lone 致贫原因1 in a monitoring-era export: see load.py).
RISK_ALIASES = {
    k: (
        f"致贫/返贫风险{k}",
        f"致贫返贫风险{k}",
        f"返贫致贫风险{k}",
        f"风险类型{k}",
        f"返贫风险{k}",
        f"致贫风险{k}",
        f"致贫返贫风险类型{k}",
        f"返贫致贫风险类型{k}",
        f"风险类别{k}",
    )
    for k in range(1, 6)
}
# A single risk column (often several risks in one cell: split into 1–5 by schema/derive.py).
RISK_ALIASES[1] = (
    *RISK_ALIASES[1],
    "致贫/返贫风险",
    "致贫返贫风险",
    "返贫致贫风险",
    "风险类型",
    "致贫返贫风险类型",
    "风险类别",
    "主要风险",
)
HOUSEHOLD_ID = ("贫困户编号", "户码", "户编码", "农户编号", "家庭编号", "hbh", "aac001")
# 监测对象类别 as exports head it; 2026: 防止返贫致贫对象. The work tables carry it too (DQ069).
MONITORED_CATEGORY = (
    "监测对象类型", "易返贫致贫户(监测对象)类型", "易返贫致贫户类型", "监测户类型", "防止返贫致贫对象类别",
    "防止返贫致贫对象类型", "监测类型",
)  # fmt: skip
HOUSEHOLD_TYPE = ("农户类型",)
ID_NUMBER = ("身份证号", "身份证号码", "公民身份号码", "证件号", "zjhm", "aab004")


class Household(_Located):
    kind = "households"
    title = "户信息"
    sheet_keywords = ("户信息", "贫困户", "户表", "户基本信息", "户数据")
    signature = (
        "家庭人口数", "人均纯收入", "贫困户属性", "脱贫状态", "主要致贫原因", "纯收入", "工资性收入",
        "户类型", "监测对象类别",
    )  # fmt: skip

    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID, required=True)] = None
    户主编号: Annotated[OptStr, Text("户主个人编号", "aac025")] = None
    # A household sheet often heads these columns plainly 姓名 / 证件号码: they are the head's.
    户主姓名: Annotated[OptStr, Text("姓名", "aac029")] = None
    户主证件号码: Annotated[
        OptStr, IdNumber("户主身份证号", "户主身份证号码", "证件号码", "身份证号码", "身份证号", "aac031")
    ] = None
    家庭人口数: Annotated[
        OptInt,
        Int(
            "人数",
            "家庭人口",
            "年度家庭人口数",
            "当前家庭人口数",
            "家庭人数",
            "aac017",
            ge=1,
            le=30,
            required=True,
        ),
    ] = None
    贫困户属性: Annotated[OptStr, Code("贫困户属性", "贫困户类型", "aac006", required=True)] = None
    脱贫状态: Annotated[
        OptStr, Code("脱贫状态", "脱贫标志", "脱贫属性", "是否脱贫", "aar010", required=True)
    ] = None
    识别标准: Annotated[OptStr, Code("识别标准", "aac005")] = None
    主要致贫原因: Annotated[OptStr, Code("致贫原因", "致贫原因", "致贫原因1", "aac007", required=True)] = None
    次要致贫原因: Annotated[OptStr, Code("致贫原因", "其他致贫原因", "致贫原因2", "aac008", multi=2)] = None
    返贫原因: Annotated[OptStr, Text("aac009")] = None
    人均纯收入: Annotated[
        OptFloat,
        Money(
            "家庭年人均纯收入", "年人均纯收入", "rjcsr", "人均收入", "家庭人均纯收入", ge=None, required=True
        ),
    ] = None
    纯收入: Annotated[OptFloat, Money("家庭纯收入", "家庭年纯收入", ge=None)] = None
    年收入: Annotated[OptFloat, Money("家庭年收入", ge=None)] = None
    工资性收入: Annotated[OptFloat, Money("工资收入", "务工收入")] = None
    生产经营性收入: Annotated[OptFloat, Money("家庭经营性收入", "经营性收入")] = None
    财产性收入: Annotated[OptFloat, Money()] = None
    转移性收入: Annotated[OptFloat, Money()] = None
    计划生育金: Annotated[OptFloat, Money()] = None
    低保金: Annotated[OptFloat, Money()] = None
    五保金: Annotated[OptFloat, Money("特困供养金", "特困人员救助供养金")] = None
    养老保险金: Annotated[OptFloat, Money("养老金")] = None
    生态补偿金: Annotated[OptFloat, Money()] = None
    其他转移性收入: Annotated[OptFloat, Money()] = None
    生产经营性支出: Annotated[OptFloat, Money("生产性支出", "生产经营费用总支出", "经营性支出")] = None
    资产收益扶贫分红收入: Annotated[OptFloat, Money()] = None
    其他财产性收入: Annotated[OptFloat, Money()] = None
    上年人均纯收入: Annotated[OptFloat, Money("上年度人均纯收入", ge=None)] = None
    耕地面积: Annotated[OptFloat, Number(ge=0)] = None
    # Areas and the road distance: DQ061 judges their range (a negative one is its finding).
    林地面积: Annotated[OptFloat, Number()] = None
    退耕还林面积: Annotated[OptFloat, Number()] = None
    林果面积: Annotated[OptFloat, Number()] = None
    牧草地面积: Annotated[OptFloat, Number()] = None
    水面面积: Annotated[OptFloat, Number()] = None
    住房面积: Annotated[OptFloat, Number(ge=0)] = None
    是否危房户: Annotated[OptBool, YesNo("是否危房", "危房户")] = None
    是否解决安全饮用水: Annotated[OptBool, YesNo("饮水是否安全", "是否饮水安全", "饮水安全")] = None
    # 饮水困难 = 是 means water is NOT secured (the opposite sense of 是否解决安全饮用水).
    饮水困难: Annotated[OptBool, YesNo("是否饮水困难")] = None
    是否通生活用电: Annotated[OptBool, YesNo()] = None
    入户道路是否硬化: Annotated[OptBool, YesNo("入户路是否硬化")] = None
    是否有卫生厕所: Annotated[OptBool, YesNo("有无卫生厕所")] = None
    卫生厕所是否能正常使用: Annotated[OptBool, YesNo()] = None
    入户路类型: Annotated[OptStr, Text()] = None
    与村主干路距离: Annotated[OptFloat, Number(ge=0)] = None
    识别年度: Annotated[OptInt, Year("首次识别时间", "识别时间", "纳入年度", "识别年份", "aar041")] = None
    脱贫年度: Annotated[OptInt, Year("脱贫时间", "脱贫年份", "aac023")] = None
    # A plan, not a fact: never read as 脱贫年度 (no rule judges an exit by the year it was planned for).
    计划脱贫年度: Annotated[OptInt, Year("计划脱贫时间", "计划脱贫年份")] = None
    申请日期: Annotated[OptDate, Date("农户申请日期", "申请时间")] = None
    民主评议日期: Annotated[OptDate, Date("评议日期", "民主评议时间")] = None
    公示开始日期: Annotated[OptDate, Date("公示日期", "第一次公示日期")] = None
    公示结束日期: Annotated[OptDate, Date()] = None
    公告日期: Annotated[OptDate, Date("公告时间")] = None
    帮扶责任人: Annotated[OptStr, Text("帮扶责任人姓名", "帮扶人")] = None
    帮扶责任人证件号码: Annotated[OptStr, IdNumber("帮扶责任人身份证号", "帮扶责任人身份证号码")] = None
    帮扶单位: Annotated[OptStr, Text("帮扶单位名称")] = None
    户联系电话: Annotated[OptStr, Phone("联系电话", "户主联系电话", "联系方式", "aar012")] = None
    是否监测对象: Annotated[OptBool, YesNo("监测对象", "是否防返贫监测对象", "是否防止返贫致贫对象")] = None
    开户银行: Annotated[OptStr, Text("aaq002")] = None
    银行卡号: Annotated[OptStr, Text("aac004", "银行账号")] = None
    是否军烈属: Annotated[OptBool, YesNo("aac012")] = None
    是否独生子女户: Annotated[OptBool, YesNo("aac013")] = None
    是否双女户: Annotated[OptBool, YesNo("aac014")] = None

    # -- 防返贫监测 (2021–2026 exports; MONITORING.md §3 C1) -----------------------------------
    户类型: Annotated[OptStr, Code("户类型", *HOUSEHOLD_TYPE)] = None
    # Empty = not monitored. 2026: 防止返贫致贫对象.
    监测对象类别: Annotated[OptStr, Code("监测对象类别", *MONITORED_CATEGORY)] = None
    致贫返贫风险1: Annotated[OptStr, Code("致贫返贫风险", *RISK_ALIASES[1], closed=False)] = None
    致贫返贫风险2: Annotated[OptStr, Code("致贫返贫风险", *RISK_ALIASES[2], closed=False)] = None
    致贫返贫风险3: Annotated[OptStr, Code("致贫返贫风险", *RISK_ALIASES[3], closed=False)] = None
    致贫返贫风险4: Annotated[OptStr, Code("致贫返贫风险", *RISK_ALIASES[4], closed=False)] = None
    致贫返贫风险5: Annotated[OptStr, Code("致贫返贫风险", *RISK_ALIASES[5], closed=False)] = None
    风险是否已消除: Annotated[
        OptBool, YesNo("风险是否消除", "是否风险消除", "是否已消除风险", "是否消除风险", "风险是否已经消除")
    ] = None
    风险消除方式: Annotated[OptStr, Code("风险消除方式", "消除方式")] = None
    识别监测时间: Annotated[
        OptInt,
        Month(
            "风险识别时间",
            "监测识别时间",
            "纳入监测时间",
            "识别纳入监测时间",
            "监测时间",
            "识别纳入时间",
            "纳入时间",
        ),
    ] = None
    消除监测时间: Annotated[OptInt, Month("风险消除时间", "监测消除时间", "消除时间", "风险消除日期")] = None
    整户无劳动能力兜底保障户: Annotated[OptBool, YesNo("是否整户无劳动能力兜底保障户")] = None
    是否有成员未参加基本医疗保险: Annotated[
        OptBool, YesNo("是否有家庭成员未参加城乡居民(职工)基本医疗保险", "是否有家庭成员未参加基本医疗保险")
    ] = None
    是否义务教育阶段适龄儿童少年失学辍学: Annotated[OptBool, YesNo("是否有适龄儿童少年失学辍学")] = None
    合规自付支出: Annotated[OptFloat, Money("合规自付医疗支出", "医疗合规自付支出")] = None
    # The 风险消除后 block (FI–FU of the 监测对象信息 export): the household after elimination.
    风险消除后风险是否已消除: Annotated[OptBool, YesNo()] = None
    风险消除后是否住房损毁: Annotated[OptBool, YesNo()] = None
    风险消除后是否饮水设施损毁: Annotated[OptBool, YesNo()] = None
    风险消除后是否义务教育阶段适龄儿童少年失学辍学: Annotated[OptBool, YesNo()] = None
    风险消除后是否有成员未参加基本医疗保险: Annotated[
        OptBool, YesNo("风险消除后是否有家庭成员未参加城乡居民(职工)基本医疗保险")
    ] = None
    风险消除后人均纯收入: Annotated[
        OptFloat, Money("风险消除后家庭人均纯收入", "风险消除后家庭年人均纯收入", ge=None)
    ] = None
    风险消除后工资性收入: Annotated[OptFloat, Money()] = None
    风险消除后生产经营性收入: Annotated[OptFloat, Money()] = None
    风险消除后财产性收入: Annotated[OptFloat, Money()] = None
    风险消除后转移性收入: Annotated[OptFloat, Money()] = None
    风险消除后生产经营性支出: Annotated[OptFloat, Money()] = None
    风险消除后合规自付支出: Annotated[OptFloat, Money("风险消除后合规自付医疗支出")] = None
    # The measure columns: zero or more values each, joined by ,，、; (就业帮扶 "技能培训,外出务工补贴").
    # The loader also turns them into rows of the measures table (one row per value).
    产业帮扶: Annotated[OptStr, Text("产业帮扶措施")] = None
    就业帮扶: Annotated[OptStr, Text("就业帮扶措施")] = None
    公益岗位帮扶: Annotated[OptStr, Text("公益性岗位帮扶")] = None
    公益性岗位帮扶其他备注: Annotated[OptStr, Text("公益岗位帮扶其他备注")] = None
    健康帮扶: Annotated[OptStr, Text("健康帮扶措施")] = None
    教育帮扶: Annotated[OptStr, Text("教育帮扶措施")] = None
    义务教育保障: Annotated[OptStr, Text()] = None
    金融帮扶: Annotated[OptStr, Text("金融帮扶措施")] = None
    社会帮扶: Annotated[OptStr, Text("社会帮扶措施")] = None
    综合保障: Annotated[OptStr, Text("综合保障措施", "兜底保障")] = None
    住房安全保障: Annotated[OptStr, Text()] = None
    饮水安全保障: Annotated[OptStr, Text()] = None
    搬迁: Annotated[OptStr, Text("易地搬迁", "易地扶贫搬迁")] = None
    基础设施建设: Annotated[OptStr, Text()] = None
    生产生活条件改善: Annotated[OptStr, Text()] = None
    搬迁后扶就业渠道: Annotated[OptStr, Text("就业渠道(易地搬迁后扶使用)")] = None
    实施开发式帮扶措施情况: Annotated[OptStr, Code("实施开发式帮扶措施情况", "是否实施开发式帮扶措施")] = None
    信息采集人: Annotated[OptStr, Text("信息采集人姓名")] = None
    信息采集人联系电话: Annotated[OptStr, Phone("信息采集人电话")] = None
    其他备注: Annotated[OptStr, Text("备注")] = None


class Member(_Located):
    kind = "members"
    title = "家庭成员"
    sheet_keywords = ("家庭成员", "人员信息", "成员表", "人口", "成员")
    signature = ("与户主关系", "性别", "健康状况", "劳动技能", "文化程度", "在校生状况", "人口编号")

    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID, required=True)] = None
    人口编号: Annotated[OptStr, Text("人编号", "个人编号", "成员编号")] = None
    姓名: Annotated[OptStr, Text("成员姓名", "aab002", required=True)] = None
    性别: Annotated[OptStr, Code("性别", "aab003", required=True)] = None
    出生日期: Annotated[OptDate, Date("出生年月", "aab005", "生日")] = None
    证件类型: Annotated[OptStr, Text("aab018")] = None
    证件号码: Annotated[OptStr, IdNumber(*ID_NUMBER, required=True)] = None
    民族: Annotated[OptStr, Text("aab007")] = None
    户联系电话: Annotated[OptStr, Phone("联系电话", household_level=True)] = None
    成员联系电话: Annotated[OptStr, Phone("个人联系电话", "家庭成员联系电话", "人联系电话", "成员电话")] = (
        None
    )
    与户主关系: Annotated[OptStr, Code("与户主关系", "与户主之间的关系", "aab006", required=True)] = None
    文化程度: Annotated[OptStr, Code("文化程度", "aab008")] = None
    在校生状况: Annotated[OptStr, Code("在校生状况", "在校生情况", "aab009")] = None
    劳动技能: Annotated[OptStr, Code("劳动技能", required=True)] = None
    务工时间: Annotated[OptInt, Int("务工月数", "务工时间(月)", ge=0, le=12)] = None
    务工状况: Annotated[OptStr, Text("务工情况")] = None
    人员识别时间: Annotated[OptInt, Month("人员识别监测时间")] = None
    健康状况: Annotated[OptStr, Code("健康状况", "健康情况", "aab017", multi=4, required=True)] = None
    政治面貌: Annotated[OptStr, Code("政治面貌")] = None
    务工企业名称: Annotated[OptStr, Text()] = None
    是否享受低保: Annotated[OptBool, YesNo("享受低保", "是否享受农村居民最低生活保障", "aab030")] = None
    享受低保政策情况: Annotated[OptStr, Code("享受低保政策情况", "享受低保情况")] = None
    享受特困供养政策情况: Annotated[OptStr, Code("享受特困供养政策情况", "享受特困供养情况")] = None
    是否接受医疗救助: Annotated[OptBool, YesNo()] = None
    义务教育阶段未上学原因: Annotated[OptStr, Text("未上学原因")] = None
    是否参加城镇职工基本养老保险: Annotated[OptBool, YesNo("aab021")] = None
    是否参加大病保险: Annotated[OptBool, YesNo("参加大病医疗", "是否参加大病医疗保险", "aab022")] = None
    是否参加城乡居民基本医疗保险: Annotated[
        OptBool,
        YesNo(
            "是否参加新型农村合作医疗(城乡居民基本医疗保险)",
            "是否参加新农合",
            "是否参加新型农村合作医疗",
            "aab013",
        ),
    ] = None
    是否参加城乡居民基本养老保险: Annotated[OptBool, YesNo("aab014")] = None
    失学或辍学原因: Annotated[OptStr, Text("辍学原因", "失学辍学原因")] = None
    是否会讲普通话: Annotated[OptBool, YesNo()] = None
    是否参加商业补充医疗保险: Annotated[OptBool, YesNo("aab067")] = None
    是否国外务工: Annotated[OptBool, YesNo()] = None
    产业分类: Annotated[OptStr, Text()] = None
    是否接受大病医疗救助: Annotated[OptBool, YesNo()] = None
    是否接受其他健康扶贫: Annotated[OptBool, YesNo()] = None
    公益性岗位类型: Annotated[OptStr, Text("公益性岗位", "公益岗位")] = None
    公益性岗位月数: Annotated[OptInt, Int("公益性岗位(月数)", ge=0, le=12)] = None
    就业渠道: Annotated[OptStr, Text()] = None
    残疾类别: Annotated[OptStr, Text()] = None
    务工所在地: Annotated[OptStr, Text("务工地点")] = None
    户主姓名: Annotated[OptStr, Text(household_level=True)] = None
    户主证件号码: Annotated[OptStr, IdNumber("户主身份证号", "户主身份证号码", household_level=True)] = None
    是否参加城镇职工基本医疗保险: Annotated[OptBool, YesNo()] = None
    是否特困供养人员: Annotated[OptBool, YesNo("是否五保户", "是否特困人员")] = None
    残疾证办证年度: Annotated[OptInt, Year()] = None
    识别标准: Annotated[OptStr, Code("识别标准", household_level=True)] = None
    死亡日期: Annotated[OptDate, Date("死亡时间")] = None
    是否死亡: Annotated[OptBool, YesNo("死亡标志")] = None


class Village(_Located):
    kind = "villages"
    title = "村信息"
    sheet_keywords = ("村信息", "贫困村", "行政村", "村表", "村级")
    signature = ("是否贫困村", "是否出列", "总人口数", "贫困人口数", "村集体经济收入", "总户数", "村代码")

    村: Annotated[OptStr, Text("行政村", "村(社区)", "村名称", required=True)] = None
    村代码: Annotated[OptStr, Text("村编码", "行政区划代码")] = None
    是否贫困村: Annotated[OptBool, YesNo("贫困村")] = None
    是否出列: Annotated[OptBool, YesNo("出列", "是否已出列")] = None
    出列年度: Annotated[OptInt, Year("出列时间", "出列年份")] = None
    总户数: Annotated[OptInt, Int("户数", ge=0)] = None
    总人口数: Annotated[OptInt, Int("总人口", "人口数", ge=0, required=True)] = None
    贫困户数: Annotated[OptInt, Int(ge=0)] = None
    贫困人口数: Annotated[OptInt, Int("贫困人口", ge=0)] = None
    村集体经济收入: Annotated[OptFloat, Money("集体经济收入", "村集体收入", "村级集体经济收入")] = None
    是否西部: Annotated[OptBool, YesNo("西部地区")] = None
    # 2021+ village export (（自定义）行政村信息).
    低保户数: Annotated[OptInt, Int(ge=0)] = None
    低保人口数: Annotated[OptInt, Int(ge=0)] = None
    特困供养人口数: Annotated[OptInt, Int(ge=0)] = None
    残疾人口数: Annotated[OptInt, Int(ge=0)] = None
    危房户数: Annotated[OptInt, Int(ge=0)] = None
    未实现饮水安全户数: Annotated[OptInt, Int(ge=0)] = None
    参加城乡居民基本养老保险人数: Annotated[OptInt, Int(ge=0)] = None
    村小学个数: Annotated[OptInt, Int("村小学(个数)", "村小学", ge=0)] = None
    是否通客运班车: Annotated[OptBool, YesNo()] = None
    到乡镇是否通硬化路: Annotated[OptBool, YesNo("到乡镇是否通沥青(水泥)路", "到乡镇是否通硬化路")] = None
    行政村卫生室个数: Annotated[OptInt, Int("卫生室个数", ge=0)] = None
    行政村公共卫生厕所个数: Annotated[OptInt, Int(ge=0)] = None
    行政村执业助理医师: Annotated[OptInt, Int("行政村执业(助理)医师", "执业(助理)医师", ge=0)] = None
    行政村生产生活垃圾集中堆放点个数: Annotated[OptInt, Int(ge=0)] = None
    行政村文化图书室个数: Annotated[OptInt, Int("行政村文化(图书)室个数", ge=0)] = None


class Measure(_Located):
    kind = "measures"
    title = "帮扶措施"
    sheet_keywords = ("帮扶措施", "帮扶项目", "资金发放", "措施", "项目", "资金")
    signature = ("措施类型", "金额", "领取人证件号码", "内容")

    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID)] = None
    措施类型: Annotated[
        OptStr, Code("措施类型", "帮扶措施类型", "措施类别", "项目类型", "帮扶类型", required=True)
    ] = None
    帮扶单位: Annotated[OptStr, Text()] = None
    帮扶责任人: Annotated[OptStr, Text()] = None
    日期: Annotated[OptDate, Date("发放日期", "帮扶日期", "实施日期")] = None
    金额: Annotated[OptFloat, Money("发放金额", "资金", "金额元", "帮扶金额")] = None
    领取人证件号码: Annotated[OptStr, IdNumber("领取人身份证号", "领取人身份证号码", "收款人证件号码")] = None
    内容: Annotated[OptStr, Text("措施内容", "项目名称", "帮扶内容", "acr002")] = None
    措施小类: Annotated[OptStr, Text("acr009")] = None


class Helper(_Located):
    kind = "helpers"
    title = "帮扶责任人结对"
    sheet_keywords = ("帮扶责任人", "结对", "帮扶人")
    signature = ("帮扶责任人证件号码", "帮扶责任人姓名", "开始日期", "结束日期")

    帮扶责任人姓名: Annotated[
        OptStr, Text("帮扶责任人", "责任人姓名", "帮扶人姓名", "aab002", required=True)
    ] = None
    帮扶责任人证件号码: Annotated[
        OptStr, IdNumber("责任人证件号码", "责任人身份证号", "帮扶责任人身份证号", "帮扶责任人身份证号码")
    ] = None
    帮扶单位: Annotated[OptStr, Text("帮扶单位名称", "aap001")] = None
    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID, required=True)] = None
    开始日期: Annotated[OptDate, Date("结对日期", "结对开始日期", "aar020")] = None
    结束日期: Annotated[OptDate, Date("结对结束日期", "aar021")] = None


class Work(_Located):
    """已外出务工信息 (务工月监测, 2021+): one row per person and work spell."""

    kind = "work"
    title = "已外出务工信息"
    sheet_keywords = ("外出务工", "务工监测", "务工信息", "已务工")
    signature = (
        "是否已务工",
        "开始时间",
        "结束时间",
        "务工所在县",
        "务工月收入",
        "年度交通费补助",
        "是否点对点输送",
    )

    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID)] = None
    证件号码: Annotated[OptStr, IdNumber(*ID_NUMBER, required=True)] = None
    姓名: Annotated[OptStr, Text()] = None
    户类型: Annotated[OptStr, Code("户类型", *HOUSEHOLD_TYPE)] = None
    监测对象类别: Annotated[OptStr, Code("监测对象类别", *MONITORED_CATEGORY)] = None
    是否已务工: Annotated[OptBool, YesNo("是否务工")] = None
    开始时间: Annotated[OptInt, Month("务工开始时间", "外出务工开始时间")] = None
    结束时间: Annotated[OptInt, Month("务工结束时间", "外出务工结束时间")] = None
    务工所在县: Annotated[OptStr, Text("务工地县", "务工所在地(县)")] = None
    务工所在省: Annotated[OptStr, Text("务工地省")] = None
    务工月收入: Annotated[OptFloat, Money("月收入", "务工月收入(元)", ge=None)] = None
    就业渠道: Annotated[OptStr, Text()] = None
    所属行业: Annotated[OptStr, Text("行业")] = None
    务工企业名称: Annotated[OptStr, Text("企业名称", "务工单位")] = None
    年度交通费补助: Annotated[OptFloat, Money("交通费补助")] = None
    是否点对点输送: Annotated[OptBool, YesNo()] = None


class WorkPlan(_Located):
    """计划外出务工信息 (务工月监测, 2021+)."""

    kind = "work_plans"
    title = "计划外出务工信息"
    sheet_keywords = ("计划外出务工", "计划务工", "务工意愿")
    signature = ("是否计划务工", "计划务工所在县", "就业服务需求")

    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID)] = None
    证件号码: Annotated[OptStr, IdNumber(*ID_NUMBER, required=True)] = None
    姓名: Annotated[OptStr, Text()] = None
    户类型: Annotated[OptStr, Code("户类型", *HOUSEHOLD_TYPE)] = None
    监测对象类别: Annotated[OptStr, Code("监测对象类别", *MONITORED_CATEGORY)] = None
    是否计划务工: Annotated[OptBool, YesNo()] = None
    计划务工所在县: Annotated[OptStr, Text("计划务工地")] = None
    就业服务需求: Annotated[OptStr, Text()] = None


class Roster(TableModel):
    kind = "rosters"
    title = "比对名单"
    sheet_keywords = (
        "比对", "名单", "财政供养", "车辆", "商品房", "工商", "死亡", "低保", "特困", "五保", "房产",
    )  # fmt: skip
    signature = ("类别", "详情")

    类别: Annotated[OptStr, Code("比对类别", "名单类别", "比对类型", closed=False)] = None
    证件号码: Annotated[OptStr, IdNumber(*ID_NUMBER, required=True)] = None
    姓名: Annotated[OptStr, Text()] = None
    日期: Annotated[OptDate, Date("死亡日期", "登记日期", "注册日期", "购买日期")] = None
    详情: Annotated[OptStr, Text("备注", "说明")] = None
    人均纯收入: Annotated[OptFloat, Money("家庭人均纯收入", "年人均纯收入", ge=None)] = None


# Headers real exports use for more than one field: the first field a sheet's table has is taken, and the
# run says so (a monitoring-era export reads 识别时间 as 识别监测时间: see load.monitoring_overrides).
AMBIGUOUS_HEADERS: dict[str, tuple[str, ...]] = {
    "致贫原因": ("主要致贫原因", "次要致贫原因", "致贫返贫风险1"),
    "联系电话": ("户联系电话", "成员联系电话"),
    "识别时间": ("识别年度", "识别监测时间"),
    "监测对象": ("是否监测对象", "监测对象类别"),
    "公益性岗位": ("公益性岗位类型", "公益岗位帮扶"),
    "备注": ("其他备注", "详情"),
    "人均收入": ("人均纯收入", "风险消除后人均纯收入"),
    "监测时间": ("识别监测时间", "消除监测时间"),
}

MODELS: dict[str, type[TableModel]] = {
    m.kind: m for m in (Household, Member, Village, Measure, Helper, Roster, Work, WorkPlan)
}
TABLE_KINDS = tuple(MODELS)
