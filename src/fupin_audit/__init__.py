"""fupin-audit: audit 精准扶贫 建档立卡 registration data.

Glossary of the domain terms used in names throughout the code:

- 精准扶贫 (jingzhun fupin): targeted poverty alleviation; 建档立卡: the national registration of poor
  households ("files and cards").
- 户 / 户编号: household / household number; 家庭成员: household member; 证件号码: resident ID number.
- 贫困户属性: poverty category of a household (一般/低保/特困供养…); 脱贫状态: exit status
  (未脱贫 poor, 已脱贫 exited, 返贫 relapsed).
- 人均纯收入: per-capita net income (yuan per person per year); 贫困线: the poverty line.
- 村 / 乡(镇) / 县: village / township / county; 出列: a village declared out of poverty.
- 帮扶措施: assistance measure; 帮扶责任人: the official paired with a household; 结对: pairing.
- 比对名单 (roster): an outside register used for cross-checking (payroll, cars, deaths, 低保 …).
- 四严: the four disciplines (源头严把 strict identification, 过程严控 strict process, 验收严格 strict exit
  acceptance, 纪律严厉 strict discipline).
- 两该两不该: 该进的没进 (漏评 missed), 该出的没出 (应退未退 should have exited), 不该进的进了
  (错评 wrongly included), 不该出的出了 (错退 wrongly exited).
- 返贫风险: relapse risk (exited households below 5000 yuan per capita).
"""

__version__ = "0.1.0"
