"""The generator is an optional extra: auditing never imports it, and without Faker `sample` says
which extra to install (exit 2) instead of failing half-way."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from fupin_audit.cli.app import main

ROOT = Path(__file__).parents[1]
SAMPLE_BOOK = ROOT / "sample_data" / "宿松县样例.xlsx"

# Runs fupin-audit as after `pip install .`: the generator's code is there, Faker is not (importing it
# fails). Each argv (after the script) is one command, its arguments joined with "\x1f"; after each it
# prints the exit code and which of faker and fupin_audit.sample have been imported so far.
BLOCKED = r"""
import importlib.abc, sys

class NoFaker(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "faker" or name.startswith("faker."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoFaker())
import fupin_audit.cli.app
import fupin_audit.dask_engine  # the distributed engine's workers import it too
for command in sys.argv[1:]:
    try:
        fupin_audit.cli.app.main(command.split("\x1f"))
    except SystemExit as exit:
        imported = sorted({m.split(".")[0] if m.startswith("faker") else m for m in sys.modules
                           if m.startswith(("faker", "fupin_audit.sample"))})
        print("exit", exit.code, imported, flush=True)
"""


def run_blocked(*commands: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCKED, *("\x1f".join(c) for c in commands)],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_and_convert_work_without_the_generator(tmp_path):
    report, tree = tmp_path / "findings.csv", tmp_path / "tree"
    result = run_blocked(
        ["check", str(SAMPLE_BOOK), "-q", "-o", str(report)],
        ["convert", str(SAMPLE_BOOK), "-o", str(tree)],
        ["check", str(tree), "-q", "--select", "DQ01"],
        # last, and the proof that Faker is really missing in this process:
        ["sample", "--households", "5", "-o", str(tmp_path / "s")],
    )
    lines = result.stdout.splitlines()
    # check (the bundled sample's planted problems), convert, check of the tree: no generator, no Faker
    assert lines[:3] == ["exit 1 []", "exit 0 []", "exit 1 []"], result.stderr
    assert lines[3].startswith("exit 2 ['fupin_audit.sample'") and "faker" not in lines[3], lines[3]
    assert "pip install 'fupin-audit[sample]'" in result.stderr
    assert not (tmp_path / "s").exists()  # refused before writing anything
    assert report.stat().st_size > 10_000


def test_sample_without_faker_names_the_extra(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "faker", None)  # import faker → ImportError
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit:
        main(["sample", "--households", "5", "-o", str(out)])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "pip install 'fupin-audit[sample]'" in err and "Faker" in err
    assert not out.exists()


def test_sample_with_faker_writes_the_county(tmp_path, capsys):
    """The near miss of the test above: the same command with Faker installed works."""
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit:
        main(["sample", "--households", "5", "-o", str(out), "-f", "csv"])
    assert exit.value.code in (0, None), capsys.readouterr().err
    assert (out / "planted.csv").exists()


def test_faker_is_an_extra_not_a_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = [d.split(">")[0].split("=")[0].strip().lower() for d in project["dependencies"]]
    assert "faker" not in names
    extras = project["optional-dependencies"]
    assert any(d.lower().startswith("faker") for d in extras["sample"])
    assert any(d.lower().startswith("faker") for d in extras["test"])  # .ci/run installs '.[test]'
