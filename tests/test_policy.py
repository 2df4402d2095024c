"""Policy values per province, county and year (issue #12 items 1–2): sources and confidence, the
config sections, the region of a record, and runs that lack a value — through real files and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import household, make_id, write_xlsx

from fupin_audit.audit import audit
from fupin_audit.engine.context import AuditContext
from fupin_audit.errors import ConfigError
from fupin_audit.policy import load_policy, read_toml
from fupin_audit.policy.regions import county_keys

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", *args], capture_output=True, text=True, timeout=120
    )


def config(tmp_path: Path, text: str, name: str = "local.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def exited(hid: str, income: float, year: int, **values: object) -> dict[str, object]:
    """An exited household of a monitoring-era year (exit year 2019), not monitored."""
    values = {"县": None, "乡": "城关镇", "村": "新村", **values}
    return household(
        hid, 脱贫状态="已脱贫", 脱贫年度=2019, 人均纯收入=income, 年度=year, 是否监测对象="否", **values
    )


def outcome(result, code):
    return next(o for o in result.outcomes if o.code == code)


# ------------------------------------------------------------------------------------ resolution


def test_county_before_province_before_national_and_config_before_built_in_at_each_level():
    policy = load_policy(
        {
            "monitoring_line": {"2024": 7000},
            "province": {
                "福建省": {"monitoring_line": {"2024": 12000}},
                "52": {"monitoring_line": {"2024": {"value": 7700, "source": "黔乡振发〔2024〕1号"}}},
            },
            "county": {"340826": {"monitoring_line": {"2024": 9000}, "relapse_risk_line": 5500}},
        },
        "local.toml",
    )
    fujian_other, dehua = county_keys("350122", ""), county_keys("350526", "")
    assert policy.resolve("monitoring_line", 2024, "35", fujian_other).value == 12000
    # 德化县's built-in county value is more specific than the config's province value.
    found = policy.resolve("monitoring_line", 2024, "35", dehua)
    assert (found.value, found.origin, found.confidence) == (19560, "默认值", "verified")
    assert found.cite() == "monitoring_line，默认值，德化县通知：2 × 农村低保标准 815 元/月 × 12 = 19560"
    guizhou = policy.resolve("monitoring_line", 2024, "52", ())
    assert (
        guizhou.cite()
        == "monitoring_line，local.toml [province.52.monitoring_line] 2024，黔乡振发〔2024〕1号"
    )
    # 2023: 贵州's built-in value (unverified) is in force and says so.
    assert policy.resolve("monitoring_line", 2023, "52", ()).cite() == (
        "monitoring_line，默认值，未核实，请以省级文件为准，贵州省数据核查程序规则"
    )
    assert policy.resolve("monitoring_line", 2024, "34", county_keys("340826", "宿松县")).value == 9000
    assert policy.resolve("monitoring_line", 2024, "34", county_keys("341522", "")).value == 7000
    assert policy.resolve("relapse_risk_line", None, "34", county_keys("340826", "")).value == 5500
    assert policy.resolve("relapse_risk_line", None, "34", ()).cite() == "relapse_risk_line，默认值"
    assert policy.resolve("monitoring_line", 2022, "34", ()) is None


def test_built_in_lines_carry_their_sources():
    policy = load_policy()
    nbs = policy.resolve("poverty_line", 2016)
    assert (nbs.value, nbs.confidence, nbs.short) == (2952, "verified", "国家统计局")
    assert "云南调查年鉴 2017 表4-2" in nbs.source
    assert policy.resolve("poverty_line", 2017) is None and policy.resolve("poverty_line", 2018) is None
    assert policy.resolve("poverty_line", 2019).confidence == "unverified"
    assert "2021-04-07" in policy.resolve("poverty_line", 2020).source
    assert policy.resolve("monitoring_line", 2021).confidence == "derived"
    assert policy.resolve("relapse_risk_line").source.startswith("2017 年讲话")
    yunnan = [policy.resolve("monitoring_line", y, "53").value for y in (2023, 2025)]
    assert yunnan == [8050, 8700]
    assert policy.resolve("monitoring_line", 2025, "62").short == "甘农领办发〔2025〕4号"
    assert policy.resolve("monitoring_line", 2023, "35").value == 10560


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[province."火星".monitoring_line]\n2023 = 7000\n', '[province."火星"]：GB/T 2260 中没有这个省份'),
        ('[county."宿松".monitoring_line]\n2023 = 7000\n', '[county."宿松"]：GB/T 2260 中没有这个县'),
        ("[county.520000]\nrelapse_risk_line = 6000\n", '[county."520000"]：GB/T 2260 中没有这个县'),
        ('[province."贵州"]\nworking_age = [16, 65]\n', "参数 working_age 不能按省、县设置"),
        ('[province."贵州".monitoring_line]\n2040 = 9000\n', "年份 2040 不在 2011–2030 之间"),
        ('[province."贵州".monitoring_line]\n2023 = -1\n', "应为大于 0 的数"),
        ("[monitoring_line]\n2024 = { multiple = 2 }\n", "dibao_monthly = 815, multiple = 2"),
    ],
)
def test_bad_sections_are_config_errors_naming_them(tmp_path, text, needle):
    with pytest.raises(ConfigError, match=None) as error:
        load_policy(read_toml(config(tmp_path, text)), "local.toml")
    assert needle in str(error.value)


# ------------------------------------------------------------------------------------ regions


def test_region_of_a_record_from_household_code_then_id_then_county_and_province_columns(tmp_path):
    path = write_xlsx(
        tmp_path / "mixed.xlsx",
        {
            "户信息": [
                exited("5202030010010001", 8000, 2023, 户主证件号码=make_id("350526")),  # code of 户编号
                exited("H2", 8000, 2023, 户主证件号码=make_id("520203")),  # 户编号 not a code: the ID
                exited("H3", 8000, 2023, 县="德化县"),  # only the county name
                exited("H4", 8000, 2023, 省="甘肃省", 县="某县"),  # a province column
                exited("H5", 8000, 2023),  # nothing
            ]
        },
    )
    result = audit([str(path)], select=["LG102"])
    region = AuditContext(result.dataset, result.policy).region("households")
    texts = region.attrs["texts"]
    assert region["province"].tolist() == [52, 52, 35, 62, -1]
    assert region["county"].tolist() == [520203, 520203, -1, -1, -1]
    assert [texts[c] if c >= 0 else "" for c in region["county_text"]] == ["", "", "德化县", "某县", ""]


def test_each_record_is_judged_with_its_own_province_and_county_line(tmp_path):
    local = config(
        tmp_path,
        "# 闽侯县: twice the rural 低保 standard of 800 元 a month\n"
        '[county."闽侯县".monitoring_line]\n2024 = { dibao_monthly = 800, multiple = 2 }\n',
        "fujian.toml",
    )
    path = write_xlsx(
        tmp_path / "fujian2024.xlsx",
        {
            "户信息": [
                exited("3501210010010001", 19199.99, 2024),  # 2: 闽侯县 19200 (config)
                exited("3501210010010002", 19200, 2024),  # 3: at the line
                exited("3505260010010001", 19559.99, 2024),  # 4: 德化县 19560 (built-in)
                exited("3505220010010001", 5000, 2024),  # 5: another 福建 county: no 2024 line
            ]
        },
    )
    result = audit([str(path)], select=["LG102"], config=local)
    findings = result.findings.sort_values("row")
    assert findings["row"].tolist() == [2, 4]
    assert findings["message"].tolist() == [
        "已脱贫户人均纯收入 19199.99 元低于 2024 年防返贫监测线 19200 元（参数 monitoring_line，fujian.toml "
        "[county.闽侯县.monitoring_line] 2024：2 × 农村低保标准 800 元/月 × 12 = 19200），但未纳入监测对象",
        "已脱贫户人均纯收入 19559.99 元低于 2024 年防返贫监测线 19560 元（参数 monitoring_line，默认值，德化县通知："
        "2 × 农村低保标准 815 元/月 × 12 = 19560），但未纳入监测对象",
    ]
    messages = [d.message for d in result.dataset.diagnostics]
    assert (
        "LG102（1 户）：2024 年 福建省 没有防返贫监测线（monitoring_line），这些户未检查；"
        '请在配置文件中设置 [province."福建".monitoring_line] 2024 = …'
    ) in messages


def test_a_province_without_a_section_is_said_once_when_national_values_apply(tmp_path):
    local = config(tmp_path, '[province."贵州".monitoring_line]\n2021 = 6200\n')
    path = write_xlsx(
        tmp_path / "in.xlsx",
        {"户信息": [exited("3408260010010001", 5000, 2021), exited("3408260010010002", 5500, 2021)]},
    )
    result = audit([str(path)], select=["LG102"], config=local)
    assert len(result.findings) == 2
    notes = [d for d in result.dataset.diagnostics if "没有 [province" in d.message]
    assert [(d.level, d.message) for d in notes] == [
        (
            "info",
            '数据中有安徽省的记录，配置文件 local.toml 中没有 [province."安徽"] 节：按全国值检查（monitoring_line '
            "2021 年 = 6000，monitoring_line，默认值，未核实，请以省级文件为准，推算：1.5 × 2020 年贫困线约 4000 元）",
        )
    ]


# ------------------------------------------------------------------------------------ runs


def monitoring_era_book(tmp_path: Path) -> Path:
    """A 安徽 county's 2021 and 2024 households: 2021 has a (derived) national monitoring line,
    2024 has none; the data years have no poverty line for IN002 either."""
    return write_xlsx(
        tmp_path / "宿松县2021-2024.xlsx",
        {
            "户信息": [
                exited("3408260010010001", 9000, 2021),
                exited("3408260010010002", 9000, 2024),
                exited("3408260010010003", 9500, 2024),
            ]
        },
    )


def test_monitoring_era_data_does_not_abort_the_run(tmp_path):
    book = monitoring_era_book(tmp_path)
    summary = tmp_path / "summary.json"
    done = cli("check", str(book), "--select", "LG102,LG401,IN001,IN002", "--summary-json", str(summary))
    assert done.returncode == 0, done.stderr  # skipped rows and rules never change the exit code
    assert (
        "LG102（2 户）：2024 年 安徽省 没有防返贫监测线（monitoring_line），这些户未检查；"
        '请在配置文件中设置 [province."安徽".monitoring_line] 2024 = …'
    ) in done.stderr
    assert "IN002（1 户）：2021 年 安徽省 没有贫困线（poverty_line）" in done.stderr
    document = json.loads(summary.read_text("utf-8"))
    assert document["rules"]["ran"] == ["IN001", "LG102", "LG401"]
    assert document["rules"]["skipped"]["IN002"].startswith("2021 年 安徽省 没有贫困线（poverty_line）")
    assert any("2024 年 安徽省 没有防返贫监测线" in d["message"] for d in document["diagnostics"])
    # With the province's lines set, the same households are judged: 9000 < 9100 in 2024.
    local = config(tmp_path, '[province."安徽".monitoring_line]\n2024 = 9100\n')
    judged = cli("check", str(book), "--select", "LG102", "--config", str(local), "-f", "jsonl")
    assert judged.returncode == 0 and "monitoring_line" not in judged.stderr
    (finding,) = [json.loads(line) for line in judged.stdout.splitlines()]
    assert finding["message"].endswith(
        "（参数 monitoring_line，local.toml [province.安徽.monitoring_line] 2024），但未纳入监测对象"
    )


def test_strict_policy_makes_a_missing_value_an_error(tmp_path):
    done = cli("check", str(monitoring_era_book(tmp_path)), "--select", "LG102", "--strict-policy")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == (
        "fupin-audit: LG102：2024 年 安徽省 没有防返贫监测线（monitoring_line），这些户未检查；"
        '请在配置文件中设置 [province."安徽".monitoring_line] 2024 = …（--strict-policy：缺少政策值即为错误）'
    )


def test_unknown_province_section_is_exit_2_naming_it(tmp_path):
    local = config(tmp_path, '[province."火星".monitoring_line]\n2023 = 7000\n')
    done = cli("check", str(monitoring_era_book(tmp_path)), "--config", str(local))
    assert done.returncode == 2
    assert '[province."火星"]：GB/T 2260 中没有这个省份' in done.stderr


def test_a_year_outside_2011_2030_is_a_diagnostic_with_its_cells(tmp_path):
    book = write_xlsx(
        tmp_path / "years.xlsx",
        {"户信息": [exited("3408260010010001", 9000, 2035), exited("3408260010010002", 3000, 2021)]},
    )
    done = cli("check", str(book), "--select", "LG102,LG401,DQ0", "--year", "1999")
    assert done.returncode in (0, 1), done.stderr
    assert "--year 1999 不在 2011–2030 之间，未使用" in done.stderr
    assert (
        "households 表 年度 列第 2 行的年度 2035 不在 2011–2030 之间：这些行不做需要年度的检查" in done.stderr
    )


# ------------------------------------------------------------------------------------ old files, policy


def test_config_files_in_todays_format_keep_working(tmp_path):
    book = monitoring_era_book(tmp_path)
    override = REPO / "rules" / "province_override.toml"
    done = cli("check", str(book), "--select", "LG102", "--config", str(override), "-f", "jsonl")
    assert done.returncode == 0, done.stderr
    assert "monitoring_line" in done.stderr  # 2024 is not in the file: unjudged, said so
    policy = cli("policy", "--config", str(override))
    assert "2022 = 6500  # 配置文件 · province_override.toml [monitoring_line] 2022" in policy.stdout
    assert "notice_min_days = 5  # 配置文件 · province_override.toml" in policy.stdout
    rules = cli(
        "check", str(book), "--rules", str(REPO / "rules" / "example_rules.toml"), "--select", "XD001"
    )
    assert rules.returncode == 0, rules.stderr
    # `policy` output is itself a config file.
    saved = config(tmp_path, cli("policy").stdout, "saved.toml")
    assert cli("check", str(book), "--select", "LG102", "--config", str(saved)).returncode == 0


def test_policy_prints_sources_and_the_values_in_force_for_a_place(tmp_path):
    everything = cli("policy")
    assert everything.returncode == 0
    assert (
        '[province."贵州".monitoring_line]\n2023 = 7300  # 未核实 · 贵州省一个数据核查程序的规则'
        in everything.stdout
    )
    assert "2021 = 6000  # 推算 · " in everything.stdout
    assert (
        '示例系列 working（没有出处，未核实；需明确选择 exit_line_series = "working"）' in everything.stdout
    )
    dehua = cli("policy", "--county", "德化县", "--year", "2024")
    assert "monitoring_line = 19560  # 已核实 · 2 × 农村低保标准 815 元/月 × 12 = 19560" in dehua.stdout
    anhui = cli("policy", "--province", "安徽", "--year", "2018")
    assert '请设置 [province."安徽".poverty_line] 2018 = …' in anhui.stdout
    assert cli("policy", "--province", "火星").returncode == 2
    explained = cli("explain", "LG102")
    assert "2023 = 7300  未核实 · 贵州省一个数据核查程序的规则" in explained.stdout.replace("贵州省 ", "")
