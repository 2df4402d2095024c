"""The Dask engine gives the findings of the pandas engine on the same partitioned dataset.

The dataset is three synthetic counties in a hive tree (县=…/), rosters shared at the root, with
cases planted *across* counties — the ones a per-county run would get wrong: the same person in
two counties, a 户编号 registered in two counties, money paid in one county to a person registered
in another (must NOT be flagged), a roster hit for a person of county 2, and a county whose data
year differs (the run's year is the whole dataset's)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from fupin_audit.audit import audit
from fupin_audit.findings import FINDING_COLUMNS
from fupin_audit.sample import generate, write_parquet

distributed = pytest.importorskip("distributed")

COUNTIES = ("宿松县", "太湖县", "望江县")
MEMBERS, HOUSEHOLDS, MEASURES, ROSTERS = "家庭成员", "户信息", "帮扶措施", "比对名单"
HELPERS = "帮扶责任人结对"


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(folder / f"{name}.parquet")


def _write(frame: pd.DataFrame, folder: Path, name: str) -> None:
    frame.to_parquet(folder / f"{name}.parquet", index=False)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hive") / "data"
    for i, county in enumerate(COUNTIES):
        folder = root / f"县={county}"
        write_parquet(generate(150, seed=11 + i, county=county), folder)
        if i == 0:
            shutil.move(folder / f"{ROSTERS}.parquet", root / f"{ROSTERS}.parquet")
        else:
            (folder / f"{ROSTERS}.parquet").unlink()
    first, second, third = (root / f"县={c}" for c in COUNTIES)
    # the same person registered in households of two counties (SY103 跨县)
    members_a, members_b = _read(first, MEMBERS), _read(second, MEMBERS)
    moved = members_a.iloc[[3, 10]].assign(户编号=members_b["户编号"].iloc[0])
    _write(pd.concat([members_b, moved], ignore_index=True), second, MEMBERS)
    # a 户编号 registered in two counties (DQ021)
    households_a, households_c = _read(first, HOUSEHOLDS), _read(third, HOUSEHOLDS)
    twin = households_c.iloc[[5]].assign(户编号=households_a["户编号"].iloc[7])
    # a phone shared across counties, written differently (SY104 compares digits)
    phone = households_a["户联系电话"].iloc[9]
    households_c.loc[households_c.index[8], "户联系电话"] = f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    _write(pd.concat([households_c, twin], ignore_index=True), third, HOUSEHOLDS)
    # a helper paired with 6 households in county 1 and 6 in county 2: over the limit of 10 only
    # when both counties are counted (SY203)
    helper = members_a["证件号码"].iloc[50]
    for folder in (first, second):
        helpers = _read(folder, HELPERS)
        rows = helpers.index[helpers["户编号"].drop_duplicates().index[:6]]
        helpers.loc[rows, ["帮扶责任人证件号码", "帮扶责任人姓名"]] = [helper, "跨县帮扶人"]
        _write(helpers, folder, HELPERS)
    # money paid in county 3 to a member registered in county 1: a registered person, not SY402
    measures_c = _read(third, MEASURES)
    measures_c.loc[measures_c.index[:3], "领取人证件号码"] = members_a["证件号码"].iloc[20:23].to_numpy()
    # county 3's data year is 2018 for part of its rows: the run's year stays the common one
    measures_c.loc[measures_c.index[3:6], "年度"] = "2018"
    _write(measures_c, third, MEASURES)
    # a roster (at the root) naming members of county 2 and 3
    rosters = _read(root, ROSTERS)
    extra = rosters.iloc[:2].copy()
    extra["证件号码"] = [members_b["证件号码"].iloc[30], _read(third, MEMBERS)["证件号码"].iloc[40]]
    extra["类别"] = ["财政供养", "死亡"]
    extra["日期"] = "2016-03-01"
    _write(pd.concat([rosters, extra], ignore_index=True), root, ROSTERS)
    return root


def _dask_findings(tree: Path, out: Path, **options) -> tuple[pd.DataFrame, object]:
    from distributed import Client, LocalCluster

    from fupin_audit.dask_engine import run_dask

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        run = run_dask([tree], out, client=client, **options)
    files = sorted(out.glob("*.parquet")) or sorted(out.glob("*.csv"))
    read = pd.read_parquet if files and files[0].suffix == ".parquet" else pd.read_csv
    frame = pd.concat([read(f) for f in files], ignore_index=True) if files else pd.DataFrame()
    return frame, run


def _comparable(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reindex(columns=list(FINDING_COLUMNS)).astype(object)
    frame = frame.where(frame.notna(), "").astype(str)
    frame["row"] = frame["row"].str.removesuffix(".0")
    return frame.sort_values(list(FINDING_COLUMNS)).reset_index(drop=True)


def test_planted_cross_county_cases_are_where_the_test_expects(tree):
    findings = audit([tree]).findings
    messages = findings.loc[findings["rule"] == "SY103", "message"]
    assert messages.str.contains("跨县").sum() >= 4  # two people, each in two households
    phones = (
        findings[findings["rule"] == "SY104"]
        .groupby("message")["file"]
        .agg(lambda files: frozenset(Path(f).parent.name for f in files))
    )
    assert frozenset({f"县={COUNTIES[0]}", f"县={COUNTIES[2]}"}) in set(phones)  # written 139-1234-5678
    assert findings.loc[findings["rule"] == "SY203", "message"].str.contains("跨县帮扶人.*结对 12 户").any()
    assert (findings["rule"] == "DQ021").sum() >= 2
    assert (findings["rule"] == "LG301").any()


def _spanning(findings: pd.DataFrame) -> set[str]:
    """户编号 that DQ021 reports in more than one county folder."""
    dq021 = findings[findings["rule"] == "DQ021"]
    folders = dq021.groupby("household_id")["file"].agg(lambda f: {Path(p).parent for p in f})
    return {hid for hid, places in folders.items() if len(places) > 1}


def _apart_from(findings: pd.DataFrame, households: set[str]) -> pd.DataFrame:
    """Without what local rules say about households whose 户编号 spans partitions: a partition
    judges its own rows of such a household (members of county 1 are not counted in county 3's
    household of the same number); DQ021 itself reports the 户编号 either way."""
    keep = (findings["rule"] == "DQ021") | ~findings["household_id"].astype(str).isin(households)
    return findings[keep.to_numpy()]


@pytest.mark.parametrize("options", [{}, {"buckets": 3, "year": 2017}])
def test_dask_engine_finds_what_the_pandas_engine_finds(tree, tmp_path, options):
    expected = audit([tree], year=options.get("year")).findings
    found, run = _dask_findings(tree, tmp_path / "out", **options)
    assert len(expected) > 200
    spanning = _spanning(expected)
    assert len(spanning) == 1  # the planted one
    pd.testing.assert_frame_equal(
        _comparable(_apart_from(found, spanning)), _comparable(_apart_from(expected, spanning))
    )
    assert not [o for o in run.outcomes if o.status == "failed"]
    assert run.run_year == 2017


def test_shuffled_rules_run_bucket_by_bucket(tree, tmp_path):
    """Rules with a shuffle key are checked per bucket, not in one task: each shuffle's buckets hold
    every row of the tables it keys exactly once, spread over the buckets."""
    _, run = _dask_findings(tree, tmp_path / "out", buckets=4)
    shuffles: dict[str, list] = {}
    for report in run.reports:
        if re.fullmatch(r"global-\d+-\d{5}", report.label):
            shuffles.setdefault(report.label.rsplit("-", 1)[0], []).append(report)
    assert len(shuffles) == 7  # person, 户编号, household by 户编号, SY103's, payment date, phone, helper
    total = run.rows()
    for buckets in shuffles.values():
        assert len(buckets) == 4
        split = [
            kind
            for kind in set().union(*(b.rows for b in buckets))
            if sum(rows := [b.rows.get(kind, 0) for b in buckets]) == total[kind] and max(rows) < sum(rows)
        ]
        assert split  # a keyed table: each of its rows in exactly one bucket, spread over them
    alone = {
        r.label.removeprefix("global-"): r for r in run.reports if re.fullmatch(r"global-[A-Z]+\d+", r.label)
    }
    assert set(alone) == {"DQ001", "DQ038", "SY404"}  # one task each
    assert set(alone["SY404"].rows) == {"measures", "helpers", "households"}  # the tables it reads


def test_csv_parts_and_selected_rules(tree, tmp_path):
    expected = audit([tree], select=["SY1", "LG3"]).findings
    found, run = _dask_findings(tree, tmp_path / "out", fmt="csv", select=["SY1", "LG3"])
    assert sum(run.counts.values()) == len(found) == len(expected)
    pd.testing.assert_frame_equal(_comparable(found), _comparable(expected))
    assert {o.code for o in run.outcomes} <= {r for r in expected["rule"].unique()} | {
        o.code for o in run.outcomes if o.status != "ran" or o.findings == 0
    }


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fupin_audit", "check", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_cli_runs_a_local_cluster_of_processes(tree, tmp_path):
    """From the command line: worker processes, findings files in the folder, counts on stderr,
    the exit code of the findings, and a summary naming every partition."""
    out = tmp_path / "findings"
    summary = tmp_path / "summary.json"
    done = _cli("--engine", "dask", "--workers", "2", str(tree), "-o", str(out), "-f", "csv",
                "--summary-json", str(summary), cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""  # the report is the folder; stdout stays empty
    assert "3 个分区" in done.stderr and "SY103" in done.stderr
    assert "INFO" not in done.stderr  # Dask's own logging stays quiet
    facts = json.loads(summary.read_text(encoding="utf-8"))
    written = pd.concat([pd.read_csv(p) for p in sorted(out.glob("*.csv"))])
    assert facts["counts"]["findings"] == len(written) > 200
    assert facts["workers"] == 2 and facts["exit_code"] == 1
    assert {p["label"] for p in facts["partitions"]} >= {f"县={c}" for c in COUNTIES}
    again = _cli("--engine", "dask", "--workers", "1", str(tree), "-o", str(out), "--fail-on", "error",
                 "--select", "DQ021", "-q", cwd=tmp_path)  # fmt: skip
    assert again.returncode == 1 and again.stderr == ""
    assert not list(out.glob("*.csv"))  # an earlier run's parts are not mixed in
    assert not (out / "_shuffle").exists()  # the shuffle's scratch files are gone


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ((), "需要 --output 文件夹"),
        (("-o", "out", "--mask"), "暂不支持 --mask"),
        (("-o", "out", "-f", "jsonl"), "只能是 parquet、csv"),
        (("-o", "out", "--scheduler", "tcp://127.0.0.1:9"), "无法连接 Dask 调度器"),
    ],
)
def test_cli_refuses_what_the_dask_engine_cannot_do(tree, tmp_path, options, message):
    done = _cli("--engine", "dask", str(tree), *options, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_a_converted_workbook_checks_alike_on_both_engines(tmp_path):
    """The bundled sample workbook (a flat export with a title row, rosters, a 死亡人员 sheet),
    converted to a hive tree: flat-export conflicts (DQ036) and sheet-level findings survive the
    partitioned run."""
    from fupin_audit.convert import convert

    workbook = Path(__file__).resolve().parent.parent / "sample_data" / "宿松县样例.xlsx"
    tree = tmp_path / "tree"
    assert convert([workbook], tree).converted
    expected = audit([tree]).findings
    found, _ = _dask_findings(tree, tmp_path / "out", buckets=2)
    assert {"DQ036", "DQ001", "SY103", "LG301"} <= set(expected["rule"])
    pd.testing.assert_frame_equal(_comparable(found), _comparable(expected))


def test_without_dask_the_message_says_what_to_install(tree, tmp_path, monkeypatch):
    from fupin_audit.dask_engine import run_dask
    from fupin_audit.errors import ConfigError

    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed → ImportError
    with pytest.raises(ConfigError, match=r"pip install 'fupin-audit\[dask\]'"):
        run_dask([tree], tmp_path / "out")


def test_cli_uses_an_existing_scheduler(tree, tmp_path):
    """--scheduler: the check runs on a cluster that was already there (and leaves it running)."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        out = tmp_path / "findings"
        done = _cli("--engine", "dask", "--scheduler", cluster.scheduler_address, str(tree), "-o", str(out),
                    "--select", "SY103", cwd=tmp_path)  # fmt: skip
        assert done.returncode == 1, done.stderr
        assert "1 个工作进程" in done.stderr
        with Client(cluster) as client:  # still up, and it did the work
            assert len(client.scheduler_info()["workers"]) == 1
    written = pd.concat([pd.read_parquet(p) for p in out.glob("*.parquet")])
    assert set(written["rule"]) == {"SY103"} and written["message"].str.contains("跨县").any()


@pytest.mark.parametrize("household_phones", ["none", "two"])
def test_shared_phones_table_is_chosen_for_the_whole_dataset(tree, tmp_path, household_phones):
    """SY104 takes the members' phones only when the household table has none anywhere: a whole-
    dataset decision that every bucket of the phone shuffle must take alike. With two household
    phones in the whole dataset, the buckets that hold neither must not fall back to the members."""
    copy = tmp_path / "data"
    shutil.copytree(tree, copy)
    for i, path in enumerate(sorted(copy.glob(f"*/{HOUSEHOLDS}.parquet"))):
        households = pd.read_parquet(path)
        households["户联系电话"] = ""
        if household_phones == "two" and i < 2:
            households.loc[households.index[0], "户联系电话"] = "13955556666"
        households.to_parquet(path, index=False)
    for path in copy.glob(f"*/{MEMBERS}.parquet"):
        members = pd.read_parquet(path)
        members["户联系电话"] = members["成员联系电话"]
        members.to_parquet(path, index=False)
    expected = audit([copy], select=["SY104"]).findings
    found, _ = _dask_findings(copy, tmp_path / "out", select=["SY104"], buckets=4)
    assert set(expected["table"]) == {"members" if household_phones == "none" else "households"}
    assert len(expected) == 2 if household_phones == "two" else len(expected) > 2
    pd.testing.assert_frame_equal(_comparable(found), _comparable(expected))


def test_dask_engine_on_a_monitoring_export(tmp_path):
    """The MN family and DQ060–DQ073 are local rules: the 2023 monitoring sample, converted to a tree, gives
    the same findings under --engine dask as under the pandas engine (title-row reference date kept)."""
    from fupin_audit.convert import convert

    sample = Path(__file__).resolve().parent.parent / "sample_data" / "防返贫监测样例2023.xlsx"
    root = tmp_path / "tree"
    convert([sample], root)
    config = tmp_path / "line.toml"
    config.write_text("[monitoring_line]\n2022 = 7000\n2023 = 7300\n", encoding="utf-8")
    expected = audit([root], config=config).findings
    found, run = _dask_findings(root, tmp_path / "out", config=config)
    assert expected["rule"].str.startswith("MN").sum() > 20
    pd.testing.assert_frame_equal(_comparable(found), _comparable(expected))
    assert not [o for o in run.outcomes if o.status == "failed"]


def _sample_pair(root: Path, *year: str) -> tuple[Path, Path]:
    """A sample county and its next-year snapshot with a defect planted for each DT rule, each
    converted to a hive tree by 乡 (several partitions per snapshot)."""
    from typer.testing import CliRunner

    from fupin_audit.cli.app import app
    from fupin_audit.convert import convert

    runner = CliRunner()
    done = runner.invoke(app, ["sample", "-o", str(root / "y1"), "--households", "400", "--seed", "5", *year])
    assert done.exit_code == 0, done.output
    done = runner.invoke(app, ["sample", "--previous-of", str(root / "y1"), "-o", str(root / "y2")])
    assert done.exit_code == 0, done.output
    trees = []
    for name in ("y1", "y2"):
        assert convert(sorted((root / name).glob("*.xlsx")), root / f"{name}-tree", by="乡").converted
        trees.append(root / f"{name}-tree")
        assert len(list(trees[-1].glob("乡=*"))) > 1
    return trees[0], trees[1]


@pytest.fixture(scope="module")
def snapshot_pair(tmp_path_factory) -> tuple[Path, Path]:
    """2017 and 2018 (建档立卡 era)."""
    return _sample_pair(tmp_path_factory.mktemp("pair"))


@pytest.fixture(scope="module")
def monitoring_pair(tmp_path_factory) -> tuple[Path, Path]:
    """2023 and 2024 (防返贫监测 era)."""
    return _sample_pair(tmp_path_factory.mktemp("mpair"), "--year", "2023")


def _snapshot_tasks(run) -> dict[str, list]:
    groups: dict[str, list] = {}
    for report in run.reports:
        if report.label.startswith("global-snapshots"):
            groups.setdefault(
                report.label.rsplit("-", 1)[0] if report.label[-1].isdigit() else report.label, []
            ).append(report)
    return groups


def _dt_diagnostics(diagnostics) -> list[tuple[str, str]]:
    return sorted(
        (d.level, d.message) for d in diagnostics if d.message.startswith(("两期比对", "上一期数据"))
    )


@pytest.mark.parametrize("era", ["snapshot_pair", "monitoring_pair"])
def test_two_snapshots_give_the_pandas_engines_dt_findings(era, request, tmp_path):
    """--previous with --engine dask, both snapshots in several partitions and the DT rules in 3
    buckets of 户编号 and 3 of person key: the same findings (every column, `related` too), the same
    transition table, diagnostics and outcomes as the pandas engine."""
    before, now = request.getfixturevalue(era)
    expected = audit([now], previous=[before])
    found, run = _dask_findings(now, tmp_path / "out", previous=[before], buckets=3)
    planted = {f"DT1{n:02d}" for n in range(1, 11)}
    assert planted <= set(expected.findings["rule"])  # the sample pairs plant DT101–DT110 at least
    pd.testing.assert_frame_equal(_comparable(found), _comparable(expected.findings))
    summary = run.summary()
    assert summary["transitions"] == expected.transitions
    assert [f["file"] for f in summary["previous_inputs"]] == [f.path for f in expected.previous.files]
    assert not summary["rules"]["failed"]
    assert _dt_diagnostics(run.diagnostics) == _dt_diagnostics(expected.dataset.diagnostics)
    dt = {o.code: o for o in expected.outcomes if o.code.startswith("DT")}
    assert {o.code: (o.status, o.findings) for o in run.outcomes if o.code in dt} == {
        c: (o.status, o.findings) for c, o in dt.items()
    }
    tasks = _snapshot_tasks(run)
    assert len(tasks["global-snapshots-h"]) == len(tasks["global-snapshots-p"]) == 3
    assert len([r for r in run.reports if r.label.startswith("previous:")]) > 1


def test_no_snapshot_task_holds_the_whole_previous_snapshot(snapshot_pair, tmp_path):
    """Memory: every DT task holds a share of the previous snapshot, never all of it. The pair checks
    read no rows; DT109's task only the people in one snapshot; a person bucket holds a quarter of
    the members and the households they belong to (a household of 4 goes to up to 4 buckets)."""
    before, now = snapshot_pair
    _, run = _dask_findings(now, tmp_path / "out", previous=[before], buckets=4)
    read = Counter()
    for report in run.reports:
        if report.label.startswith("previous:"):
            read.update(report.rows)
    assert read["members"] > 500
    for label, reports in _snapshot_tasks(run).items():
        for report in reports:
            for kind in ("households", "members"):
                held = report.rows.get(f"prev.{kind}", 0)
                share = 0.1 if label.endswith("renumbered") else 0.8 if kind == "households" else 0.4
                if label.endswith("-h"):
                    share = 0.4  # by 户编号: a household and its members in one bucket
                assert held <= read[kind] * share, (report.label, kind, held, read[kind])


def test_a_person_moving_between_households_of_two_buckets_is_found(snapshot_pair, tmp_path):
    """DT105 across buckets: the planted person moved between two households whose 户编号 hash to
    different buckets — the person bucket still sees both households."""
    from fupin_audit.dask_engine import bucket_of

    before, now = snapshot_pair
    expected = audit([now], previous=[before], select=["DT105"]).findings
    assert len(expected)
    found, _ = _dask_findings(now, tmp_path / "out", previous=[before], select=["DT105"], buckets=4)
    pd.testing.assert_frame_equal(_comparable(found), _comparable(expected))
    origin = expected["related"].map(lambda r: json.loads(r)[0]["household_id"])
    homes = pd.Series([*expected["household_id"], *origin]).astype(str)
    buckets = bucket_of(homes, 4)
    half = len(expected)
    assert (buckets[:half] != buckets[half:]).any()  # some move crosses buckets


def _in_another_county(tree: Path, to: Path) -> Path:
    shutil.copytree(tree, to)
    for path in sorted(to.glob("*/*.parquet")):
        frame = pd.read_parquet(path)
        if "县" in frame:
            frame.assign(县="太湖县").to_parquet(path, index=False)
    return to


def _with_a_repeated_household(tree: Path, to: Path) -> Path:
    """A households file in the last partition repeating the 户编号 of the first household of the
    first partition (the flat exports cannot hold two households of one 户编号)."""
    shutil.copytree(tree, to)
    folders = sorted(f.parent for f in to.glob("乡=*/members_flat.parquet"))
    flat = pd.read_parquet(folders[0] / "members_flat.parquet")
    columns = [
        c
        for c in ("户编号", "县", "乡", "村", "户主姓名", "户主证件号码", "脱贫状态", "人均纯收入")
        if c in flat
    ]
    flat[flat["户编号"] == flat["户编号"].iloc[0]].iloc[[0]][columns].to_parquet(
        folders[-1] / "households.parquet", index=False
    )
    return to


def test_pair_checks_are_decided_once_over_the_whole_pair(snapshot_pair, tmp_path):
    """Different counties, a previous snapshot later than the current one, and a repeated 户编号: the
    same diagnostics as the pandas engine, each said once (not once per bucket), and every DT rule
    skipped in every bucket with the pandas engine's reason."""
    before, now = snapshot_pair
    other = _in_another_county(before, tmp_path / "other")
    doubled = _with_a_repeated_household(now, tmp_path / "doubled")
    cases = {"counties": (now, other), "later": (before, now), "repeated": (doubled, before)}
    for name, (current, previous) in cases.items():
        expected = audit([current], previous=[previous], select=["DT"])
        _, run = _dask_findings(
            current, tmp_path / f"out-{name}", previous=[previous], select=["DT"], buckets=3
        )
        said = _dt_diagnostics(run.diagnostics)
        assert said == _dt_diagnostics(expected.dataset.diagnostics), name
        assert len(said) == len(set(said))
        dt = {o.code: (o.status, o.reason, o.findings) for o in expected.outcomes}
        assert {o.code: (o.status, o.reason, o.findings) for o in run.outcomes} == dt, name
        pair_errors = [m for level, m in said if level == "error" and m.startswith("两期比对")]
        if name == "repeated":
            assert not pair_errors
            assert any("户编号重复" in m for _, m in said)
        else:
            assert pair_errors and all(o.status == "skipped" for o in run.outcomes)
            assert run.summary()["transitions"] is None is expected.transitions


def test_without_previous_the_dt_rules_are_skipped_in_dask_too(snapshot_pair, tmp_path):
    _, now = snapshot_pair
    _, run = _dask_findings(now, tmp_path / "out", select=["DT101", "DT103"])
    skipped = run.summary()["rules"]["skipped"]
    assert set(skipped) == {"DT101", "DT103"} and "previous" in skipped["DT101"]


def test_strict_policy_stops_a_dask_run_with_one_clear_message(tree, tmp_path):
    """--strict-policy: a poverty line missing for the data's year is exit 2 on the Dask engine too,
    said once (the workers do not log the task's exception a second time)."""
    done = _cli("--engine", "dask", "--workers", "1", str(tree), "-o", str(tmp_path / "out"),
                "--select", "IN002", "--strict-policy", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "poverty_line" in done.stderr and "--strict-policy" in done.stderr
    assert "Compute Failed" not in done.stderr and "Traceback" not in done.stderr
    relaxed = _cli("--engine", "dask", "--workers", "1", str(tree), "-o", str(tmp_path / "out2"),
                   "--select", "IN002", cwd=tmp_path)  # fmt: skip
    assert relaxed.returncode == 0, relaxed.stderr  # without it: the rows are left unjudged, said
