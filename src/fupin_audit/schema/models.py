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

    model_config = ConfigDict(extra="allow", frozen=True)

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
    县: Annotated[OptStr, Text("县(市、区、旗)", "区县", "县(区)", "县(市、区)")] = None
    乡: Annotated[OptStr, Text("乡(镇)", "乡镇", "乡镇(街道)")] = None
    村: Annotated[OptStr, Text("行政村", "村(社区)")] = None
    年度: Annotated[OptInt, Year("数据年度", "统计年度")] = None


HOUSEHOLD_ID = ("贫困户编号", "户码", "家庭编号", "hbh", "aac001")
ID_NUMBER = ("身份证号", "身份证号码", "公民身份号码", "证件号", "zjhm", "aab004")


class Household(_Located):
    kind = "households"
    title = "户信息"
    sheet_keywords = ("户信息", "贫困户", "户表", "户基本信息", "户数据")
    signature = ("家庭人口数", "人均纯收入", "贫困户属性", "脱贫状态", "主要致贫原因", "纯收入", "工资性收入")

    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID, required=True)] = None
    户主编号: Annotated[OptStr, Text()] = None
    # A household sheet often heads these columns plainly 姓名 / 证件号码: they are the head's.
    户主姓名: Annotated[OptStr, Text("姓名")] = None
    户主证件号码: Annotated[
        OptStr, IdNumber("户主身份证号", "户主身份证号码", "证件号码", "身份证号码", "身份证号")
    ] = None
    家庭人口数: Annotated[
        OptInt,
        Int("人数", "家庭人口", "年度家庭人口数", "当前家庭人口数", "家庭人数", ge=1, le=30, required=True),
    ] = None
    贫困户属性: Annotated[OptStr, Code("贫困户属性", "贫困户类型", required=True)] = None
    脱贫状态: Annotated[OptStr, Code("脱贫状态", "脱贫标志", "脱贫属性", "是否脱贫", required=True)] = None
    识别标准: Annotated[OptStr, Code("识别标准")] = None
    主要致贫原因: Annotated[OptStr, Code("致贫原因", "致贫原因", "致贫原因1", required=True)] = None
    次要致贫原因: Annotated[OptStr, Code("致贫原因", "其他致贫原因", "致贫原因2", multi=2)] = None
    人均纯收入: Annotated[
        OptFloat, Money("家庭年人均纯收入", "年人均纯收入", "rjcsr", "人均收入", ge=None, required=True)
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
    住房面积: Annotated[OptFloat, Number(ge=0)] = None
    是否危房户: Annotated[OptBool, YesNo("是否危房")] = None
    是否解决安全饮用水: Annotated[OptBool, YesNo("饮水是否安全", "是否饮水安全")] = None
    是否通生活用电: Annotated[OptBool, YesNo()] = None
    入户路类型: Annotated[OptStr, Text()] = None
    与村主干路距离: Annotated[OptFloat, Number(ge=0)] = None
    识别年度: Annotated[OptInt, Year("首次识别时间", "识别时间", "纳入年度", "识别年份")] = None
    脱贫年度: Annotated[OptInt, Year("脱贫时间", "脱贫年份")] = None
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
    户联系电话: Annotated[OptStr, Phone("联系电话", "户主联系电话", "联系方式")] = None
    是否监测对象: Annotated[OptBool, YesNo("监测对象", "是否防返贫监测对象")] = None


class Member(_Located):
    kind = "members"
    title = "家庭成员"
    sheet_keywords = ("家庭成员", "人员信息", "成员表", "人口", "成员")
    signature = ("与户主关系", "性别", "健康状况", "劳动技能", "文化程度", "在校生状况", "人口编号")

    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID, required=True)] = None
    人口编号: Annotated[OptStr, Text("人编号", "个人编号", "成员编号")] = None
    姓名: Annotated[OptStr, Text("成员姓名", required=True)] = None
    性别: Annotated[OptStr, Code("性别", required=True)] = None
    出生日期: Annotated[OptDate, Date("出生年月")] = None
    证件类型: Annotated[OptStr, Text()] = None
    证件号码: Annotated[OptStr, IdNumber(*ID_NUMBER, required=True)] = None
    民族: Annotated[OptStr, Text()] = None
    户联系电话: Annotated[OptStr, Phone("联系电话", household_level=True)] = None
    成员联系电话: Annotated[OptStr, Phone("个人联系电话")] = None
    与户主关系: Annotated[OptStr, Code("与户主关系", required=True)] = None
    文化程度: Annotated[OptStr, Code("文化程度")] = None
    在校生状况: Annotated[OptStr, Code("在校生状况", "在校生情况")] = None
    劳动技能: Annotated[OptStr, Code("劳动技能", required=True)] = None
    务工时间: Annotated[OptInt, Int("务工月数", "务工时间(月)", ge=0, le=12)] = None
    健康状况: Annotated[OptStr, Code("健康状况", multi=4, required=True)] = None
    政治面貌: Annotated[OptStr, Code("政治面貌")] = None
    务工企业名称: Annotated[OptStr, Text()] = None
    是否享受低保: Annotated[OptBool, YesNo("享受低保")] = None
    是否参加城镇职工基本养老保险: Annotated[OptBool, YesNo()] = None
    是否参加大病保险: Annotated[OptBool, YesNo()] = None
    是否参加城乡居民基本医疗保险: Annotated[
        OptBool,
        YesNo("是否参加新型农村合作医疗(城乡居民基本医疗保险)", "是否参加新农合", "是否参加新型农村合作医疗"),
    ] = None
    是否参加城乡居民基本养老保险: Annotated[OptBool, YesNo()] = None
    失学或辍学原因: Annotated[OptStr, Text("辍学原因", "失学辍学原因")] = None
    是否会讲普通话: Annotated[OptBool, YesNo()] = None
    是否参加商业补充医疗保险: Annotated[OptBool, YesNo()] = None
    是否国外务工: Annotated[OptBool, YesNo()] = None
    产业分类: Annotated[OptStr, Text()] = None
    是否接受大病医疗救助: Annotated[OptBool, YesNo()] = None
    是否接受其他健康扶贫: Annotated[OptBool, YesNo()] = None
    公益性岗位类型: Annotated[OptStr, Text()] = None
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
    村集体经济收入: Annotated[OptFloat, Money("集体经济收入", "村集体收入")] = None
    是否西部: Annotated[OptBool, YesNo("西部地区")] = None


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
    内容: Annotated[OptStr, Text("措施内容", "项目名称", "帮扶内容")] = None


class Helper(_Located):
    kind = "helpers"
    title = "帮扶责任人结对"
    sheet_keywords = ("帮扶责任人", "结对", "帮扶人")
    signature = ("帮扶责任人证件号码", "帮扶责任人姓名", "开始日期", "结束日期")

    帮扶责任人姓名: Annotated[OptStr, Text("帮扶责任人", "责任人姓名", "帮扶人姓名", required=True)] = None
    帮扶责任人证件号码: Annotated[
        OptStr, IdNumber("责任人证件号码", "责任人身份证号", "帮扶责任人身份证号", "帮扶责任人身份证号码")
    ] = None
    帮扶单位: Annotated[OptStr, Text("帮扶单位名称")] = None
    户编号: Annotated[OptStr, Text(*HOUSEHOLD_ID, required=True)] = None
    开始日期: Annotated[OptDate, Date("结对日期", "结对开始日期")] = None
    结束日期: Annotated[OptDate, Date("结对结束日期")] = None


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


MODELS: dict[str, type[TableModel]] = {
    m.kind: m for m in (Household, Member, Village, Measure, Helper, Roster)
}
TABLE_KINDS = tuple(MODELS)
