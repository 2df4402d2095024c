"""Outputs stay byte-identical: CSV, JSONL and the run summary (minus times) of fixed inputs.

The digests in tests/fixtures/output_digests.json were taken before the report stage was rewritten for
finding storms (issue #17); a faster writer must write the same bytes. Inputs: the bundled samples and
a small deterministic storm county (`fupin_audit.sample.storm`, thousands of findings of every kind).

A deliberate change of output (a new rule, a reworded message) changes the digests: rewrite them with
    FUPIN_WRITE_DIGESTS=1 .venv/bin/python -m pytest -q tests/test_output_digests.py
and say in the commit message why the outputs changed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import household, make_id, member, write_xlsx

from fupin_audit.cli.app import main
from fupin_audit.sample import generate, write_parquet
from fupin_audit.sample.storm import storm

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "sample_data"
LINES = SAMPLES / "样例贫困线.toml"
DIGESTS = Path(__file__).resolve().parent / "fixtures" / "output_digests.json"
# What differs from run to run by design: the clock.
VOLATILE_SUMMARY_KEYS = ("seconds", "started")

CASES = {
    "宿松县样例": (["宿松县样例.xlsx"], True),
    "防返贫监测样例2023": (["防返贫监测样例2023.xlsx"], False),
    "storm300": (None, True),  # generated into the test's folder
    "hostile_values": (None, False),  # quotes, commas, line breaks, formula starts (written by the test)
}
# Cells that CSV quoting, formula neutralising and JSON escaping must get exactly right.
ODD_TEXTS = (
    "=1+2",
    "+初中",
    "-初中",
    "@初中",
    "初,中",
    '初"中',
    "初\n中",
    "'初中",
    "-5",
    "+86 初中",
    "初\\中",
)


def hostile_values(folder: Path) -> None:
    """A workbook (title row, real writer) whose flagged cells hold every text a writer can get wrong."""
    members = [member(姓名='张"建,国')]
    for i, text in enumerate(ODD_TEXTS):
        members.append(
            member(姓名=f"李{i}", 性别="女", 与户主关系="之子", 证件号码=make_id(birth="19920101", seq=200 + 2 * i),
                   文化程度=text, 务工时间=text)
        )  # fmt: skip
    homes = [household(户联系电话="=1+2", 户主姓名='张"建,国', 家庭人口数=len(members), 村="城西\n村")]
    (folder / "hostile_values").mkdir()
    write_xlsx(
        folder / "hostile_values" / "odd.xlsx", {"户信息": homes, "家庭成员": members}, title="宿松县2017年"
    )


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inputs of every case in one folder, named relatively (the file column holds the path as given)."""
    folder = tmp_path_factory.mktemp("digests")
    for name, (files, _) in CASES.items():
        if name == "hostile_values":
            hostile_values(folder)
        elif files is None:
            write_parquet(storm(generate(300, seed=7, year=2017, defects=True)), folder / name)
        else:
            (folder / name).mkdir()
            for file in files:
                shutil.copy(SAMPLES / file, folder / name / file)
    return folder


def run_check(folder: Path, case: str, fmt: str, out: Path, summary: Path | None = None) -> None:
    _, with_lines = CASES[case]
    paths = sorted(str(p.relative_to(folder)) for p in (folder / case).iterdir())
    args = ["check", *paths, "--format", fmt, "--output", str(out), "--quiet", "--keep-going"]
    args += ["--config", str(LINES)] if with_lines else []
    args += ["--summary-json", str(summary)] if summary else []
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code in (0, 1), f"{case} {fmt}: exit {exit_.value.code}"


def stable_summary(path: Path, case: str) -> bytes:
    document = json.loads(path.read_text("utf-8"))
    for key in VOLATILE_SUMMARY_KEYS:
        document.pop(key, None)
    if case == "hostile_values":  # openpyxl stamps the save time into the workbook's bytes
        for entry in document["inputs"]:
            entry.pop("sha256"), entry.pop("bytes")
    return json.dumps(document, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")


def digests_of(folder: Path, case: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(folder)
    out = folder / "out" / case
    out.mkdir(parents=True, exist_ok=True)
    run_check(folder, case, "csv", out / "findings.csv", summary=out / "summary.json")
    run_check(folder, case, "jsonl", out / "findings.jsonl")
    contents = {
        "csv": (out / "findings.csv").read_bytes(),
        "jsonl": (out / "findings.jsonl").read_bytes(),
        "summary": stable_summary(out / "summary.json", case),
    }
    found = {kind: hashlib.sha256(data).hexdigest() for kind, data in contents.items()}
    found["findings"] = str(len(contents["jsonl"].splitlines()))
    return found


@pytest.mark.parametrize("case", list(CASES))
def test_outputs_are_byte_identical(case: str, inputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    found = digests_of(inputs, case, monkeypatch)
    if os.environ.get("FUPIN_WRITE_DIGESTS"):
        stored = json.loads(DIGESTS.read_text("utf-8")) if DIGESTS.exists() else {}
        stored[case] = found
        DIGESTS.write_text(json.dumps(stored, ensure_ascii=False, indent=1, sort_keys=True) + "\n", "utf-8")
        pytest.skip("digests written")
    expected = json.loads(DIGESTS.read_text("utf-8"))[case]
    assert found == expected


def test_storm_case_is_a_storm(inputs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The storm county of the digests has the mix it is meant to have (else the digests prove little)."""
    monkeypatch.chdir(inputs)
    out = inputs / "out" / "storm-mix"
    out.mkdir(parents=True, exist_ok=True)
    run_check(inputs, "storm300", "jsonl", out / "f.jsonl", summary=out / "s.json")
    counts = json.loads((out / "s.json").read_text("utf-8"))["counts"]
    by_rule = {rule: sum(n.values()) for rule, n in counts["by_rule"].items()}
    assert counts["findings"] >= 5 * 300
    for rule in ("DQ003", "DQ034", "DQ041", "IN001", "LG401"):
        assert by_rule[rule] >= 50, (rule, by_rule.get(rule))
