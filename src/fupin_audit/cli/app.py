"""`fupin-audit`: the command line. Only argument parsing, calls into the library, and exit codes.

Exit codes (OUTPUT.md): 0 no finding at or above --fail-on; 1 such findings exist; 2 the tool could
not do its job (unreadable input, bad option, bad config).
"""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
import traceback
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from fupin_audit.errors import ConfigError, FupinAuditError

EXIT_CLEAN, EXIT_FINDINGS, EXIT_FAILURE = 0, 1, 2

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="审计精准扶贫建档立卡数据：数据质量、四严、两该两不该、收入与返贫风险。",
)


class Format(StrEnum):
    table = "table"
    csv = "csv"
    jsonl = "jsonl"
    json = "json"
    xlsx = "xlsx"
    parquet = "parquet"


class Engine(StrEnum):
    pandas = "pandas"
    dask = "dask"


class By(StrEnum):
    township = "乡"
    village = "村"


class Level(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"


def _stderr() -> _Stderr:
    return _Stderr()


class _Stderr:
    """The console on stderr, made on its first use: a quiet run with nothing to say never imports
    Rich (some 40 ms of a check's start)."""

    _console = None  # a class attribute: a copy of the object finds it too (no recursion below)

    def __getattr__(self, name: str):
        if self._console is None:
            from rich.console import Console

            # soft_wrap: one diagnostic stays one line, whatever the width (log files, grep).
            self._console = Console(stderr=True, highlight=False, soft_wrap=True)
        return getattr(self._console, name)


def escape(text: str) -> str:
    """Rich's markup escape (imported when first needed, as the console is)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _split(values: list[str] | None) -> list[str]:
    return [part for value in values or [] for part in value.split(",") if part.strip()]


@app.command()
def check(
    paths: Annotated[
        list[Path],
        typer.Argument(help="输入文件：xlsx、xlsm、xls、ods、csv、tsv、txt、parquet", show_default=False),
    ],
    year: Annotated[
        int | None, typer.Option(help="数据年度（无“年度”列时使用；年龄按该年 12 月 31 日计算）")
    ] = None,
    fmt: Annotated[
        Format | None, typer.Option("--format", "-f", help="输出格式（默认 table，或由 --output 后缀决定）")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="写入文件而非标准输出（原子写入）")
    ] = None,
    limit: Annotated[int, typer.Option(help="table 格式下每条规则显示的记录数")] = 20,
    fail_on: Annotated[Level, typer.Option(help="达到该级别的问题使退出码为 1")] = Level.error,
    select: Annotated[
        list[str] | None, typer.Option(help="只运行这些规则：编号、前缀（DQ0）或规则族名，可逗号分隔、可重复")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="不运行这些规则（同 --select 的写法）")] = None,
    severity: Annotated[
        list[str] | None, typer.Option(help="改变规则级别：CODE=error|warning|info，可重复")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="政策参数/规则参数覆盖文件（TOML，见 fupin-audit policy）")
    ] = None,
    rules: Annotated[
        list[Path] | None, typer.Option("--rules", help="加载自定义规则：.py/.toml 文件或文件夹，可重复")
    ] = None,
    table: Annotated[
        list[str] | None, typer.Option("--table", help="指定表类型：KIND=PATH[:SHEET]，可重复")
    ] = None,
    encoding: Annotated[str | None, typer.Option(help="强制 CSV 编码（默认依次尝试 UTF-8、GB18030）")] = None,
    bom: Annotated[bool, typer.Option("--bom", help="CSV 输出加 BOM，便于 Excel 打开")] = False,
    by: Annotated[By | None, typer.Option("--by", help="按乡镇（乡）或村（村）分组统计问题")] = None,
    annotate: Annotated[Path | None, typer.Option(help="写一份标注了问题单元格的输入副本（xlsx）")] = None,
    baseline: Annotated[Path | None, typer.Option(help="只报告不在这个基线中的新问题")] = None,
    write_baseline: Annotated[Path | None, typer.Option(help="把本次的问题记为基线")] = None,
    waivers: Annotated[
        Path | None, typer.Option(help="豁免清单（CSV 或 TOML）：rule, key, reason, approved_by, expires")
    ] = None,
    summary_json: Annotated[Path | None, typer.Option(help="把运行摘要写成 JSON 文件")] = None,
    mask: Annotated[
        bool, typer.Option("--mask", help="在所有输出中遮蔽证件号码（保留前 6 后 4）和姓名（张*）")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="只输出报告（有 --output 时什么都不输出）")
    ] = False,
    keep_going: Annotated[
        bool, typer.Option("--keep-going", help="有工作表/文件无法读取时，仍按审计结果决定退出码")
    ] = False,
    strict_policy: Annotated[
        bool,
        typer.Option(
            "--strict-policy",
            help="缺少某省某年的政策值（如贫困线）时报错退出（退出码 2），而不是跳过这些记录",
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="出错时显示完整的调用栈")] = False,
    engine: Annotated[
        Engine,
        typer.Option(help="pandas（单机，默认）或 dask（按分区在 Dask 集群上运行，需 --output 文件夹）"),
    ] = Engine.pandas,
    scheduler: Annotated[
        str | None, typer.Option(help="dask：已有调度器地址（如 tcp://10.0.0.5:8786）；不给则在本机启动")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="dask 本机集群的工作进程数（默认 CPU 核数）")] = None,
    memory_limit: Annotated[
        str | None, typer.Option(help="dask 本机集群每个工作进程的内存上限（如 8GiB；默认平分本机内存）")
    ] = None,
    buckets: Annotated[
        int | None, typer.Option(help="dask：跨分区规则按键分桶的桶数（默认工作进程数的 2 倍）")
    ] = None,
    previous: Annotated[
        list[Path] | None,
        typer.Option(
            help="上一期数据（文件或文件夹，其后直到下一个选项的参数都算上一期）：与本期比对，运行 DT 动态调整规则"
        ),
    ] = None,
    previous_year: Annotated[
        int | None, typer.Option(help="上一期的数据年度（上一期数据没有“年度”列时使用）")
    ] = None,
) -> None:
    """检查数据文件，输出发现的问题。"""
    from fupin_audit.io.parquet import input_files, reading_early
    from fupin_audit.workers import prefer_jemalloc

    prefer_jemalloc()
    # Parquet inputs are decoded on a thread while the modules below are imported (io/parquet.py).
    early = input_files([*paths, *(previous or [])]) if engine is Engine.pandas else []
    with reading_early(early):
        from fupin_audit.audit import audit
        from fupin_audit.finish import Finish, finish

        # The modules just imported are tens of thousands of objects that live as long as the process:
        # out of the collector's sight, its full collections during the run scan a fraction of them.
        gc.freeze()
        err = _stderr()
        _refuse_overwriting_inputs(
            [*paths, *(previous or [])], output, annotate, summary_json, write_baseline
        )
        if engine is Engine.dask:
            unsupported = {
                "--annotate": annotate, "--baseline": baseline, "--write-baseline": write_baseline,
                "--waivers": waivers, "--mask": mask or None, "--by": by, "--table": table,
            }  # fmt: skip
            given = [name for name, value in unsupported.items() if value]
            if given:
                raise ConfigError(f"--engine dask 暂不支持 {'、'.join(given)}（请用默认的 pandas 引擎）")
            code = _check_dask(
                err, paths, output, fmt, fail_on.value, keep_going, quiet, summary_json,
                scheduler=scheduler, workers=workers, memory_limit=memory_limit, buckets=buckets, year=year,
                config=config, select=_split(select), ignore=_split(ignore), severity=severity or [],
                rule_paths=rules or [], encoding=encoding, previous=[str(p) for p in previous or []],
                previous_year=previous_year, strict_policy=strict_policy,
            )  # fmt: skip
            raise typer.Exit(code)
        fmt_name = _pick_format(fmt, output)
        with _progress(err, quiet) as on_stage:
            result = audit(
                [str(p) for p in paths],
                year=year,
                config=config,
                select=_split(select),
                ignore=_split(ignore),
                severity=severity or [],
                rule_paths=rules or [],
                encoding=encoding,
                tables=table or [],
                on_stage=on_stage,
                strict_policy=strict_policy,
                previous=[str(p) for p in previous or []],
                previous_year=previous_year,
            )
    done = finish(
        result,
        Finish(fail_on.value, keep_going, waivers, baseline, write_baseline, mask, by.value if by else None),
    )
    if not quiet:
        _diagnose(err, result, done.warnings, debug)
    if not result.dataset.tables:
        err.print("[red]error[/]: 没有读到任何可识别的表", markup=True)
        raise typer.Exit(EXIT_FAILURE)
    clock = time.perf_counter()
    if annotate is not None:
        from fupin_audit.report.annotate import write_annotated

        write_annotated(annotate, result.dataset, done.findings, encoding)
    if not (quiet and output is None and fmt_name == "table"):
        notes = _emit(result, done.findings, done.summary, fmt_name, output, limit, bom)
        for text in [] if quiet else notes:
            err.print(f"[yellow]warning[/]: {escape(text)}", markup=True, highlight=False)
    if summary_json is not None:
        done.summary["seconds"]["report"] = round(time.perf_counter() - clock, 3)
        _write_json(summary_json, done.summary)
    raise typer.Exit(done.exit_code)


def _check_dask(
    err, paths, output, fmt, fail_on: str, keep_going: bool, quiet: bool, summary_json, **options
) -> int:
    """--engine dask: findings go to files in the --output folder, a per-rule count to stderr."""
    from fupin_audit.dask_engine import run_dask

    if output is None:
        raise ConfigError("--engine dask 需要 --output 文件夹（每个分区写一个问题文件）")
    fmt_name = fmt.value if fmt is not None else "parquet"
    clock = time.perf_counter()

    def on_stage(stage: str, detail: str) -> None:
        if not quiet and stage == "done":
            err.print(f"完成 {escape(detail)}（{time.perf_counter() - clock:.0f} 秒）", highlight=False)

    run = run_dask([str(p) for p in paths], output, fmt=fmt_name, on_stage=on_stage, **options)
    summary = run.summary(fail_on, keep_going)
    if not quiet:
        for diag in run.diagnostics:
            where = ":".join(p for p in (diag.file, diag.sheet) if p)
            err.print(f"{diag.level}: {escape(where)}: {escape(diag.message)}", highlight=False)
        for outcome in run.outcomes:
            if outcome.status == "failed":
                err.print(f"error: 规则 {outcome.code} 运行出错：{escape(outcome.reason)}", highlight=False)
        rows = "，".join(f"{kind} {n:,} 行" for kind, n in summary["tables"].items())
        err.print(
            f"{len(run.layout.partitions)} 个分区，{rows}；{summary['counts']['findings']:,} 条问题写入 {output}"
            f"（{run.workers} 个工作进程，{time.perf_counter() - clock:.1f} 秒）",
            highlight=False,
        )
        for rule, levels in summary["counts"]["by_rule"].items():
            err.print(f"  {rule}  {sum(levels.values()):,}", highlight=False)
    if summary_json is not None:
        _write_json(summary_json, summary)
    return summary["exit_code"]


def _refuse_overwriting_inputs(inputs: list[Path], *outputs: Path | None) -> None:
    """An output naming an input file would destroy the evidence: refuse before reading anything."""
    sources = {p.resolve() for p in inputs if p.exists()}
    for out in outputs:
        if out is not None and out.resolve() in sources:
            raise ConfigError(f"{out}: 输出文件与输入文件相同，拒绝覆盖输入")


def _diagnose(err, result, warnings: list[str], debug: bool = False) -> None:
    for diag in result.dataset.diagnostics:
        where = ":".join(p for p in (diag.file, diag.sheet) if p)
        colour = {"error": "red", "info": "blue"}.get(diag.level, "yellow")
        err.print(
            f"[{colour}]{diag.level}[/]: " + (f"{escape(where)}: " if where else "") + escape(diag.message),
            markup=True,
            highlight=False,
        )
    for outcome in result.outcomes:
        if outcome.status == "failed":
            err.print(
                f"[red]error[/]: 规则 {outcome.code} 运行出错：{escape(outcome.reason)}"
                + ("" if debug else "（加 --debug 查看调用栈）"),
                markup=True,
                highlight=False,
            )
            if debug and outcome.traceback:
                err.print(outcome.traceback.rstrip(), highlight=False, markup=False)
    for text in warnings:
        err.print(f"[yellow]warning[/]: {escape(text)}", markup=True, highlight=False)


@contextmanager
def _progress(err, quiet: bool):
    """A spinner on stderr while loading and checking, only when stderr is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    with err.status("读取…") as status:

        def on_stage(stage: str, detail: str) -> None:
            status.update(f"{'读取' if stage == 'read' else '检查规则'} {detail}")

        yield on_stage


def _write_json(path: Path, document: dict) -> None:
    import json

    from fupin_audit.report.atomic import atomic_open

    with atomic_open(path) as fh:
        json.dump(document, fh, ensure_ascii=False, indent=1, default=str)


def _pick_format(fmt: Format | None, output: Path | None) -> str:
    from fupin_audit.report.writers import SUFFIX_FORMATS

    if fmt is not None:
        return fmt.value
    if output is not None:
        suffix = output.suffix.lower()
        if suffix not in SUFFIX_FORMATS:
            raise ConfigError(
                f"--output {output}: 无法从后缀判断格式，请用 --format 指定（{'、'.join(SUFFIX_FORMATS)}）"
            )
        return SUFFIX_FORMATS[suffix]
    return "table"


def _emit(result, findings, summary, fmt: str, output: Path | None, limit: int, bom: bool) -> list[str]:
    """Write the report; returns warnings about it (an xlsx whose findings fill several sheets)."""
    from fupin_audit.report.atomic import atomic_open
    from fupin_audit.report.writers import write_csv, write_json, write_jsonl

    if fmt == "parquet":
        from fupin_audit.report.writers import write_parquet

        if output is None:
            raise ConfigError("parquet 输出需要 --output 文件名")
        write_parquet(findings, output)
        return []
    if fmt == "xlsx":
        from fupin_audit.report.xlsx import write_report

        if output is None:
            raise ConfigError("xlsx 报告需要 --output 文件名")
        return write_report(output, result, findings, summary)

    def write(out) -> None:
        if fmt == "csv":
            write_csv(findings, out, bom=bom)
        elif fmt == "jsonl":
            write_jsonl(findings, out)
        elif fmt == "json":
            write_json(findings, summary, out)
        else:
            from rich.console import Console

            from fupin_audit.report.console import render_findings

            terminal = out is sys.stdout and sys.stdout.isatty()
            console = Console(
                file=out,
                width=None if terminal else int(os.environ.get("COLUMNS", "160")),  # no terminal to measure
                highlight=False,
                force_terminal=terminal,
            )
            render_findings(console, result, limit, summary, findings)

    if output is None:
        write(sys.stdout)
    else:
        with atomic_open(output) as fh:
            write(fh)
    return []


@app.command("rules")
def list_rules(
    rules: Annotated[
        list[Path] | None,
        typer.Option("--rules", help="同时列出这些自定义规则（.py 模块、.toml 声明式规则或文件夹）"),
    ] = None,
) -> None:
    """列出全部规则：编号、规则族、级别、所需的表、名称。"""
    from rich.console import Console
    from rich.table import Table

    from fupin_audit.engine.registry import default_registry

    registry = default_registry(rules or [])
    renamed = any(rule.aliases for rule in registry)  # the column only when some rule has a former code
    table = Table(title=f"规则（{len(registry)} 条）", title_justify="left")
    for name in ("编号", *(["旧编号"] if renamed else []), "规则族", "级别", "所需的表", "名称"):
        table.add_column(name)
    for rule in registry:
        former = [", ".join(rule.aliases)] if renamed else []
        needs = ", ".join(rule.needs) or "任意"
        table.add_row(rule.code, *former, rule.family, rule.severity, needs, rule.title)
    Console(highlight=False).print(table)


@app.command()
def explain(
    code: Annotated[str, typer.Argument(help="规则编号（或改名前的旧编号），如 DQ011")],
    rules: Annotated[
        list[Path] | None, typer.Option("--rules", help="自定义规则（.py 模块、.toml 声明式规则或文件夹）")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="按这个覆盖文件显示参数的当前值")] = None,
) -> None:
    """说明一条规则：检查什么、政策依据、示例、参数及其当前值。"""
    from fupin_audit.audit import Settings
    from fupin_audit.engine.registry import default_registry
    from fupin_audit.report.docs import explain_rule

    registry = default_registry(rules or [])
    rule = registry.get(code)
    if registry.alias_of(code):
        typer.echo(
            f"{code.strip().upper()} 是 {rule.code} 的别名（旧编号）：规则已改为 {rule.code}，问题以新编号报告。\n"
        )
    typer.echo(explain_rule(rule, registry.origin(rule.code), Settings.from_file(config).policy))


@app.command()
def schema(
    table: Annotated[
        str | None,
        typer.Argument(help="households、members、villages、measures、helpers、rosters；省略则列出全部表"),
    ] = None,
) -> None:
    """表结构：标准字段、可接受的表头写法、类型、必填、取值范围与代码表。"""
    from fupin_audit.report.docs import describe_schema

    typer.echo(describe_schema(table))


@app.command()
def policy(
    config: Annotated[Path | None, typer.Option(help="先应用这个覆盖文件，再输出生效的参数")] = None,
    province: Annotated[str | None, typer.Option(help="只显示这个省（贵州、贵州省或 52）生效的值")] = None,
    county: Annotated[str | None, typer.Option(help="只显示这个县（名称或 6 位代码）生效的值")] = None,
    year: Annotated[int | None, typer.Option(help="只显示这一年生效的值")] = None,
) -> None:
    """输出生效的政策参数及其出处和可信度（TOML，可作为省、县覆盖文件的起点）；
    给出 --province / --county / --year 时输出该地该年生效的值。"""
    from fupin_audit.audit import Settings
    from fupin_audit.policy.show import policy_toml, resolved_text

    settings = Settings.from_file(config)
    header = "# fupin-audit 生效的政策参数" + (f"（已应用 {config}）" if config else "（默认值）") + "\n"
    if province or county or year is not None:
        typer.echo(header + resolved_text(settings.policy, province, county, year), nl=False)
        return
    typer.echo(header + policy_toml(settings.policy), nl=False)


class SampleFormat(StrEnum):
    xlsx = "xlsx"
    csv = "csv"
    parquet = "parquet"


@app.command()
def sample(
    households: Annotated[int, typer.Option(help="户数（多县时为每个县的户数）")] = 300,
    seed: Annotated[int, typer.Option(help="随机种子（相同种子生成相同数据；第 i 个县用 seed+i）")] = 7,
    year: Annotated[int, typer.Option(help="数据年度")] = 2017,
    out: Annotated[Path, typer.Option("--output", "-o", help="输出文件夹")] = Path("sample_out"),
    fmt: Annotated[
        SampleFormat, typer.Option("--format", "-f", help="xlsx、csv 或 parquet")
    ] = SampleFormat.xlsx,
    flat: Annotated[
        bool | None, typer.Option("--flat/--no-flat", help="户与成员合为一张一行一人的平铺表（xlsx 默认是）")
    ] = None,
    defects: Annotated[bool, typer.Option("--defects/--no-defects", help="为每条规则植入问题记录")] = True,
    encoding: Annotated[str, typer.Option(help="CSV 编码（如 gb18030）")] = "utf-8",
    counties: Annotated[
        int, typer.Option(help="县数（每县 --households 户、各自的行政区划代码；需 --partition-by 县）")
    ] = 1,
    partition_by: Annotated[
        str | None,
        typer.Option(
            "--partition-by", help="按该列写成 hive 分区 parquet：DIR/县=<县名>/<表>.parquet（只支持 县）"
        ),
    ] = None,
    previous_of: Annotated[
        Path | None,
        typer.Option(
            "--previous-of",
            help="写出 DIR 中样例县的下一年数据（自然增减 + 为每条 DT 规则植入的问题），与 DIR 用 --previous 比对",
        ),
    ] = None,
) -> None:
    """生成合成的县级数据集（任意规模），可为每条规则植入问题；可生成多县分区数据。

    2021 年及以后（单县）写成防返贫监测信息系统“监测对象信息”导出格式（一行一人，两行标题，第 3 行表头）
    和“行政村信息”表；2014–2020 年写成建档立卡格式。
    """
    from fupin_audit.report.atomic import atomic_open
    from fupin_audit.sample import COUNTIES, generate, write_csv, write_parquet, write_xlsx
    from fupin_audit.sample.monitoring import MONITORING_FROM
    from fupin_audit.sample.pools import require_faker

    require_faker()
    err = _stderr()
    if partition_by is not None or counties != 1:
        if partition_by != "县" or fmt is not SampleFormat.parquet:
            raise ConfigError("多县样例只能写成按县分区的 parquet：--format parquet --partition-by 县")
        if not 1 <= counties <= len(COUNTIES):
            raise ConfigError(f"--counties 须在 1 到 {len(COUNTIES)} 之间")
        from fupin_audit.sample.multi import write_counties

        result = write_counties(
            counties, households, out, seed=seed, year=year, defects=defects, by=partition_by,
            progress=lambda text: err.print(f"写入 {escape(text)}"),
        )  # fmt: skip
        rows = "，".join(f"{k} {v:,}" for k, v in result.rows.items())
        err.print(f"写入 {out}（{counties} 个县，{rows} 行）")
        err.print(f"植入的问题清单：{out / '_planted.csv'}（{len(result.planted)} 条）")
        return
    from fupin_audit.sample.snapshot import next_year, read_info, write_info

    out.mkdir(parents=True, exist_ok=True)
    if previous_of is not None:
        info = read_info(previous_of)
        households, seed, year = int(info["households"]), int(info["seed"]), int(info["year"])
        fmt, flat = SampleFormat(info["format"]), info["flat"]
        if previous_of.resolve() == out.resolve():
            raise ConfigError("--previous-of 与 --output 不能是同一个文件夹")
        if year >= MONITORING_FROM:  # the next annual export in the 监测对象信息 layout
            written, planted, natural = _monitoring_sample(
                households, seed, year, bool(info["defects"]), out, fmt, encoding, next_defects=defects
            )
            _report_sample(err, out, written, planted, natural)
            return
        data = next_year(
            generate(households, seed=seed, year=year, defects=bool(info["defects"])), defects=defects
        )
    elif year >= MONITORING_FROM:
        written, planted, _ = _monitoring_sample(households, seed, year, defects, out, fmt, encoding)
        write_info(
            out, households=households, seed=seed, year=year, format=fmt.value, flat=flat, defects=defects
        )
        _report_sample(err, out, written, planted)
        return
    else:
        data = generate(households, seed=seed, year=year, defects=defects)
    if fmt is SampleFormat.xlsx:
        path = out / f"样例_{households}户_{data.year}.xlsx"
        write_xlsx(data, path, flat=True if flat is None else flat)
        written = [path]
    elif fmt is SampleFormat.csv:
        written = write_csv(data, out, encoding=encoding, flat=bool(flat))
    else:
        written = write_parquet(data, out, flat=bool(flat))
    with atomic_open(out / "planted.csv") as fh:
        data.planted.to_csv(fh, index=False)
    if previous_of is not None:
        with atomic_open(out / "natural.csv") as fh:
            data.natural.to_csv(fh, index=False)
        err.print(f"自然变化清单（DT 规则不应报告）：{out / 'natural.csv'}（{len(data.natural)} 条）")
    info = {"households": households, "seed": seed, "year": data.year, "format": fmt.value, "flat": flat,
            "defects": defects}  # fmt: skip
    if previous_of is None:
        write_info(out, **info)
    for path in written:
        err.print(f"写入 {path}")
    err.print(f"植入的问题清单：{out / 'planted.csv'}（{len(data.planted)} 条）")


def _report_sample(err, out: Path, written: list[Path], planted: int, natural: int | None = None) -> None:
    for path in written:
        err.print(f"写入 {path}")
    if natural is not None:
        err.print(f"自然变化清单（DT 规则不应报告）：{out / 'natural.csv'}（{natural} 条）")
    err.print(f"植入的问题清单：{out / 'planted.csv'}（{planted} 条）")


def _monitoring_sample(
    households: int,
    seed: int,
    year: int,
    defects: bool,
    out: Path,
    fmt: SampleFormat,
    encoding: str,
    next_defects: bool | None = None,
) -> tuple[list[Path], int, int | None]:
    """Write a monitoring-era county (监测对象信息 layout) and its planted.csv; (files, planted cases,
    natural changes or None). With `next_defects` (not None): the county's next annual export instead
    (`--previous-of`), with the DT cases planted when true, and its natural.csv."""
    from fupin_audit.report.atomic import atomic_open
    from fupin_audit.sample.monitoring import generate_monitoring
    from fupin_audit.sample.monitoring_snapshot import next_monitoring_year
    from fupin_audit.sample.writers import (
        write_monitoring_csv,
        write_monitoring_parquet,
        write_monitoring_xlsx,
    )

    sample = generate_monitoring(households, seed=seed, year=year, defects=defects)
    if next_defects is not None:
        sample = next_monitoring_year(sample, defects=next_defects)
        with atomic_open(out / "natural.csv") as fh:
            sample.natural.to_csv(fh, index=False)
        year = sample.year
    if fmt is SampleFormat.xlsx:
        path = out / f"样例_{households}户_{year}.xlsx"
        write_monitoring_xlsx(sample, path)
        written = [path]
    elif fmt is SampleFormat.csv:
        written = write_monitoring_csv(sample, out, encoding=encoding)
    else:
        written = write_monitoring_parquet(sample, out)
    with atomic_open(out / "planted.csv") as fh:
        sample.planted.to_csv(fh, index=False)
    return written, len(sample.planted), None if next_defects is None else len(sample.natural)


@app.command()
def convert(
    inputs: Annotated[list[Path], typer.Argument(help="county 工作簿、CSV 或 parquet（check 能读的都行）")],
    out: Annotated[Path, typer.Option("--output", "-o", help="输出文件夹（hive 分区 parquet）")],
    partition_by: Annotated[str, typer.Option("--partition-by", help="分区列")] = "县",
    overwrite: Annotated[bool, typer.Option("--overwrite", help="输出文件夹中已有 parquet 时覆盖")] = False,
    encoding: Annotated[str | None, typer.Option(help="CSV 编码（默认自动识别）")] = None,
) -> None:
    """把县级工作簿、CSV、parquet 转成按县分区的 parquet：DIR/县=<县名>/<表>.parquet，DIR/rosters.parquet。

    文件中是读到的原始文本（标准表头），另加 来源文件、来源工作表、来源行 三列。分区列为空的行写入
    县=__空__。退出码：0 已转换，2 没有可转换的数据或出错。
    """
    from fupin_audit.convert import convert as convert_files
    from fupin_audit.workers import prefer_jemalloc

    prefer_jemalloc()
    err = _stderr()
    result = convert_files(inputs, out, by=partition_by, overwrite=overwrite, encoding=encoding)
    for d in result.diagnostics:
        where = "：".join(x for x in (d.file, d.sheet) if x)
        err.print(escape(f"{d.level}: {where}: {d.message}" if where else f"{d.level}: {d.message}"))
    if not result.converted:
        err.print("没有可转换的数据")
        raise typer.Exit(EXIT_FAILURE)
    parts = "，".join(f"{k} {v:,} 行" for k, v in sorted(result.partitions.items()))
    err.print(f"写入 {out}：{len(result.paths)} 个文件（{parts}）")


def _spread_previous(args: list[str]) -> list[str]:
    """`check 2018/*.xlsx --previous 2017/*.xlsx`: the shell gives --previous several files; every
    argument after it up to the next option is a previous-snapshot file (one --previous each)."""
    out: list[str] = []
    taking = False
    for arg in args:
        if arg == "--previous":
            taking = True
            continue
        if taking and not arg.startswith("-"):
            out += ["--previous", arg]
            continue
        taking = False
        out.append(arg)
    if taking:
        out.append("--previous")  # given without a value: let the parser say so
    return out


def run() -> None:
    """The console script (and `python -m fupin_audit`): `main()`, then the process ends without
    tearing down what the run built. Freeing a province's tables object by object takes the user's
    time (0.15 s for 100,000 households, seconds at a million) and the system takes the memory back
    at once. Every output is complete by then: reports and summaries are written and renamed inside
    `main()`, helper processes stopped, and the standard streams are flushed here."""
    try:
        main()
        code: int = 0
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:  # sys.exit("message"): Python prints it and exits with 1
            print(exc.code, file=sys.stderr)
            code = 1
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (`| head`): nothing more to say
            stream.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: our own errors become one line on stderr and exit code 2."""
    args = _spread_previous(sys.argv[1:] if argv is None else argv)
    # SIGTERM (a killed nightly job) unwinds like Ctrl-C, so temp files of atomic writes are removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        app(args=args, prog_name="fupin-audit")  # exits through SystemExit
    except FupinAuditError as exc:
        if "--debug" in args:
            traceback.print_exc()
        print(f"fupin-audit: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
    except Exception as exc:  # never a bare traceback for the user
        if "--debug" in args:
            traceback.print_exc()
        print(f"fupin-audit: 内部错误：{type(exc).__name__}: {exc}（加 --debug 查看调用栈）", file=sys.stderr)
        sys.exit(EXIT_FAILURE)
