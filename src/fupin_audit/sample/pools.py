"""Vocabulary pools for the synthetic county: names, places, units.

Faker (zh_CN) is used once, here, to build pools; the generator then samples from the pools with
numpy. Nothing in these pools is personal data: surnames and given-name characters are common
vocabulary, company names are Faker's inventions, the townships are public place names.

A county is a `Place`: its name, GB/T 2260 code (the region of its people's ID numbers and the first
six digits of its 村代码 and 户编号), city, province, licence-plate prefix and townships. `COUNTIES`
lists real counties of Anhui (codes checked against python-stdnum's GB/T 2260 table in the tests);
the first is 宿松县, the default, whose output is unchanged from the single-county generator.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass

import numpy as np

from fupin_audit.errors import ConfigError

PROVINCE = "安徽省"
CITY = "安庆市"
REGION = 340826  # GB/T 2260 code of 宿松县
# Neighbouring counties (in GB/T 2260 since 1988), used only if more than 450 people of one sex share a
# birth date (never at realistic sizes).
OVERFLOW_REGIONS = (340824, 340825, 340811, 340803)

TOWNSHIPS = (
    "孚玉镇", "复兴镇", "汇口镇", "许岭镇", "下仓镇", "程岭乡", "九姑乡", "佐坝乡", "北浴乡", "陈汉乡",
    "破凉镇", "凉亭镇", "长铺镇", "二郎镇", "华亭镇", "河塌乡", "高岭乡", "洲头乡", "柳坪乡", "趾凤乡",
    "隘口乡", "千岭乡",
)  # fmt: skip


@dataclass(frozen=True)
class Place:
    """A county: where the synthetic people live."""

    county: str
    region: int  # GB/T 2260 code
    city: str
    plate: str  # licence-plate prefix of the city, e.g. 皖H
    townships: tuple[str, ...]
    province: str = PROVINCE
    overflow: tuple[int, ...] = OVERFLOW_REGIONS


# (county, GB/T 2260 code, city, plate prefix). 宿松县 first: it is the default county.
_COUNTY_LIST = (
    ("宿松县", 340826, "安庆市", "皖H"), ("怀宁县", 340822, "安庆市", "皖H"), ("太湖县", 340825, "安庆市", "皖H"),
    ("望江县", 340827, "安庆市", "皖H"), ("岳西县", 340828, "安庆市", "皖H"), ("桐城市", 340881, "安庆市", "皖H"),
    ("霍邱县", 341522, "六安市", "皖N"), ("舒城县", 341523, "六安市", "皖N"), ("金寨县", 341524, "六安市", "皖N"),
    ("霍山县", 341525, "六安市", "皖N"), ("临泉县", 341221, "阜阳市", "皖K"), ("太和县", 341222, "阜阳市", "皖K"),
    ("阜南县", 341225, "阜阳市", "皖K"), ("颍上县", 341226, "阜阳市", "皖K"), ("界首市", 341282, "阜阳市", "皖K"),
    ("砀山县", 341321, "宿州市", "皖L"), ("萧县", 341322, "宿州市", "皖L"), ("灵璧县", 341323, "宿州市", "皖L"),
    ("泗县", 341324, "宿州市", "皖L"), ("来安县", 341122, "滁州市", "皖M"), ("全椒县", 341124, "滁州市", "皖M"),
    ("定远县", 341125, "滁州市", "皖M"), ("凤阳县", 341126, "滁州市", "皖M"), ("天长市", 341181, "滁州市", "皖M"),
    ("明光市", 341182, "滁州市", "皖M"), ("涡阳县", 341621, "亳州市", "皖S"), ("蒙城县", 341622, "亳州市", "皖S"),
    ("利辛县", 341623, "亳州市", "皖S"), ("东至县", 341721, "池州市", "皖R"), ("石台县", 341722, "池州市", "皖R"),
    ("青阳县", 341723, "池州市", "皖R"), ("歙县", 341021, "黄山市", "皖J"), ("休宁县", 341022, "黄山市", "皖J"),
    ("黟县", 341023, "黄山市", "皖J"), ("祁门县", 341024, "黄山市", "皖J"), ("郎溪县", 341821, "宣城市", "皖P"),
    ("泾县", 341823, "宣城市", "皖P"), ("绩溪县", 341824, "宣城市", "皖P"), ("旌德县", 341825, "宣城市", "皖P"),
    ("宁国市", 341881, "宣城市", "皖P"),
)  # fmt: skip
_TOWN_FIRST = "东西南北新大小上中前后黄白青红金石杨柳松竹梅桃李花龙凤马牛虎鹤双三五安平永兴太丰和福宝清高长"
_TOWN_SECOND = "山河湖塘岭冲桥畈湾店坂岗圩洲铺庄岩坪林港口墩集"


def _townships() -> list[tuple[str, ...]]:
    """宿松县's real townships; for the other counties invented ones, distinct across all counties."""
    taken = set(TOWNSHIPS)
    names = [a + b for a in _TOWN_FIRST for b in _TOWN_SECOND if a != b]
    random.Random(20170101).shuffle(names)
    out: list[tuple[str, ...]] = [TOWNSHIPS]
    free = iter(n for n in names if n + "镇" not in taken and n + "乡" not in taken)
    for _ in range(1, len(_COUNTY_LIST)):
        towns = tuple(next(free) + ("镇" if k % 3 != 2 else "乡") for k in range(len(TOWNSHIPS)))
        out.append(towns)
    return out


COUNTIES: tuple[Place, ...] = tuple(
    Place(name, code, city, plate, towns, overflow=tuple(r for r in OVERFLOW_REGIONS if r != code))
    for (name, code, city, plate), towns in zip(_COUNTY_LIST, _townships(), strict=True)
)
DEFAULT_PLACE = COUNTIES[0]


def place_of(county: str) -> Place:
    """The Place of a listed county by name; an unlisted name gets 宿松县's code, city and townships."""
    for place in COUNTIES:
        if place.county == county:
            return place
    return Place(county, REGION, CITY, "皖H", TOWNSHIPS)


_VILLAGE_FIRST = "东西南北新大小上中前后黄白青红金石杨柳松竹梅桃李花龙凤马牛虎鹤双三五河湖"
_VILLAGE_SECOND = "山河湖塘岭冲桥畈湾店坂岗圩洲铺庄岩坪林港口墩垅"

_BUREAUS = (
    "财政局", "教育局", "卫生健康委员会", "农业农村局", "水利局", "交通运输局", "住房和城乡建设局",
    "人力资源和社会保障局", "民政局", "自然资源和规划局", "生态环境分局", "林业局", "审计局", "统计局",
    "发展和改革委员会", "商务局", "文化旅游体育局", "市场监督管理局", "公安局", "司法局", "税务局",
    "供电公司", "农村商业银行", "邮政分公司", "残疾人联合会", "妇女联合会", "团县委", "总工会",
    "扶贫开发局", "县委组织部", "县委宣传部", "县政府办公室", "人民法院", "人民检察院", "科学技术局",
)  # fmt: skip

# Extra first characters for two-character given names of residents.
_GIVEN_FIRST_RESIDENT = "德志国庆文明家永春玉光长正金宏学秋桂小树有海"
# First characters reserved for 帮扶责任人 given names: chosen so that no official ever has the same
# full name as a registered resident (a name clash would blur SY202).
_GIVEN_FIRST_HELPER = "昊翊骁炜珺琛煜晟钰皓铭瑾晗曦璟"

INDUSTRY_CONTENT = (
    "茶叶种植奖补",
    "水产养殖奖补",
    "蔬菜大棚建设",
    "光伏扶贫电站",
    "特色种养殖",
    "中药材种植",
)
WORKPLACES = ("县内", "省内县外", "省外")


@dataclass(frozen=True)
class Pools:
    surnames: np.ndarray  # str
    surname_p: np.ndarray  # float, sums to 1
    given_male: np.ndarray
    given_female: np.ndarray
    helper_given: np.ndarray  # disjoint from resident given names
    given_all: np.ndarray  # male, then female, then helper given names (people store an index into it)
    companies: tuple[str, ...]
    village_names: tuple[str, ...]


def require_faker() -> None:
    """The generator needs the optional "sample" extra (Faker); auditing does not, so a plain
    `pip install fupin-audit` leaves it out. Said before anything is written."""
    try:
        import faker  # noqa: F401
    except ImportError:
        raise ConfigError(
            "生成样例数据需要 Faker（可选依赖 sample）：pip install 'fupin-audit[sample]'"
        ) from None


@functools.cache
def pools() -> Pools:
    require_faker()
    from faker import Faker
    from faker.providers.person.zh_CN import Provider as PersonProvider

    fake = Faker("zh_CN")
    fake.seed_instance(20170101)
    last = PersonProvider.last_names
    surnames = np.array(list(last.keys()))
    weights = np.array(list(last.values()), dtype=float)
    male1 = list(dict.fromkeys(PersonProvider.first_names_male))
    female1 = list(dict.fromkeys(PersonProvider.first_names_female))
    male_single = [g for g in male1 if len(g) == 1]
    female_single = [g for g in female1 if len(g) == 1]
    male = male1 + [a + b for a in _GIVEN_FIRST_RESIDENT[:12] for b in male_single]
    female = female1 + [a + b for a in _GIVEN_FIRST_RESIDENT[10:] for b in female_single]
    resident_first = {g[0] for g in male + female if len(g) == 2}
    helper_first = [c for c in _GIVEN_FIRST_HELPER if c not in resident_first and c not in male1 + female1]
    helper = [a + b for a in helper_first for b in male_single + female_single]
    companies = tuple(dict.fromkeys(fake.company() for _ in range(400)))
    villages = tuple(a + b + "村" for a in _VILLAGE_FIRST for b in _VILLAGE_SECOND if a != b)
    return Pools(
        surnames=surnames,
        surname_p=weights / weights.sum(),
        given_male=np.array(male),
        given_female=np.array(female),
        helper_given=np.array(helper),
        given_all=np.array(male + female + helper),
        companies=companies,
        village_names=villages,
    )


def unit_names(county: str, city: str = CITY) -> list[str]:
    """帮扶单位 names: county bureaus first, then the city's bureaus, then Faker companies."""
    p = pools()
    return (
        [county + b for b in _BUREAUS]
        + [city + b for b in _BUREAUS[:20]]
        + [c for c in p.companies if "银行" not in c]
    )
