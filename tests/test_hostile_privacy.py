"""No network, no foreign code, nothing of the input written anywhere but the outputs asked for."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "hostile"))
import build_corpus

from fupin_audit.audit import audit
from fupin_audit.cli.app import main

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = Path(__file__).parents[1] / "sample_data" / "宿松县样例.xlsx"
CLI = [sys.executable, "-c", "import sys; from fupin_audit.cli.app import main; main(sys.argv[1:])"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("inputs")
    built = build_corpus.build(
        folder, only=["dates.xlsx", "numbers.csv", "formulas_and_errors.xlsx", "stray_nul.csv"]
    )
    paths = list(built.values())
    for name in ("households.xls", "households.parquet", "members_gbk.csv"):
        target = folder / name
        target.write_bytes((FIXTURES / name).read_bytes())
        paths.append(target)
    if SAMPLE.exists():
        paths.append(SAMPLE)
    return paths


def run(args: list[str], **kw) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# ------------------------------------------------------------------------------------------ network


def test_a_full_check_never_opens_a_socket(inputs, tmp_path, monkeypatch, capsys):
    opened: list[tuple] = []

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            opened.append(args)
            raise OSError("network access is forbidden in this test")

    def refuse(*args, **kwargs):
        opened.append(args)
        raise OSError("network access is forbidden in this test")

    monkeypatch.setattr(socket, "socket", NoSocket)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    result = audit([str(p) for p in inputs], year=2017)
    assert len(result.findings) > 0 and result.dataset.tables
    # and the outputs: report, annotated copy, summary, baseline
    code = run(
        [
            "check",
            *map(str, inputs),
            "-o",
            str(tmp_path / "r.xlsx"),
            "--annotate",
            str(tmp_path / "a.xlsx"),
            "--summary-json",
            str(tmp_path / "s.json"),
            "--write-baseline",
            str(tmp_path / "b.json"),
            "--mask",
        ]
    )
    assert code in (1, 2)
    assert opened == []


# ------------------------------------------------------------------------------------------ files


def snapshot(folder: Path) -> dict[str, tuple[int, float]]:
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime) for p in sorted(folder.rglob("*"))
    }


def test_nothing_written_outside_the_outputs(inputs, tmp_path):
    """TMPDIR and HOME stay empty and the working folder unchanged; only the outputs appear.

    Python itself writes nothing there either: its byte-code caches go next to the installed
    package (or nowhere), never to HOME, TMPDIR or the working folder.
    """
    temp, home, work, out = (tmp_path / n for n in ("tmp", "home", "work", "out"))
    for folder in (temp, home, work, out):
        folder.mkdir()
    local = []
    for path in inputs:
        copy = work / path.name
        copy.write_bytes(path.read_bytes())
        local.append(copy.name)
    before = snapshot(work)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "TMPDIR": str(temp),
        "TEMP": str(temp),
        "TMP": str(temp),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }
    outputs = ["r.xlsx", "a.xlsx", "s.json", "b.json", "f.csv"]
    done = subprocess.run(
        [
            *CLI,
            "check",
            *local,
            "-o",
            str(out / "r.xlsx"),
            "--annotate",
            str(out / "a.xlsx"),
            "--summary-json",
            str(out / "s.json"),
            "--write-baseline",
            str(out / "b.json"),
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (1, 2), done.stderr
    done = subprocess.run(
        [*CLI, "check", *local, "-f", "csv", "-o", str(out / "f.csv"), "--keep-going"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert list(temp.iterdir()) == [] and list(home.iterdir()) == []
    assert snapshot(work) == before
    assert sorted(p.name for p in out.iterdir()) == sorted(outputs)


def test_outputs_are_created_private_then_get_normal_permissions(tmp_path, monkeypatch):
    """The temp file of an atomic write is private (0600) while the report is being written."""
    import stat

    from fupin_audit.report import atomic

    modes = []
    real = atomic.tempfile.mkstemp

    def spy(*args, **kwargs):
        fd, name = real(*args, **kwargs)
        modes.append(stat.S_IMODE(os.stat(name).st_mode))
        return fd, name

    monkeypatch.setattr(atomic.tempfile, "mkstemp", spy)
    with atomic.atomic_open(tmp_path / "r.csv") as fh:
        fh.write("x")
    assert modes == [0o600]
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_an_output_never_overwrites_an_input(tmp_path, capsys):
    data = FIXTURES / "members_gbk.csv"
    target = tmp_path / "members.csv"
    target.write_bytes(data.read_bytes())
    code = run(["check", str(target), "-f", "csv", "-o", str(target)])
    assert target.read_bytes() == data.read_bytes()
    assert code == 2


def test_fifo_and_device_inputs_are_refused_without_reading(tmp_path, capsys):
    """A named pipe would block for ever and /dev/zero never ends: neither is opened."""
    paths = []
    if hasattr(os, "mkfifo"):
        fifo = tmp_path / "pipe.csv"
        os.mkfifo(fifo)
        paths.append(str(fifo))
    if Path("/dev/zero").exists():
        paths.append("/dev/zero")
    if not paths:
        pytest.skip("no FIFO or /dev/zero here")
    code = run(["check", *paths, "-f", "csv"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("不是普通文件") == len(paths)


# ------------------------------------------------------------------------------------------ code


MARKER_CODE = "import pathlib; pathlib.Path({marker!r}).write_text('ran')\n"


def test_python_files_next_to_the_input_are_never_imported(tmp_path, capsys):
    marker = tmp_path / "ran.txt"
    data = tmp_path / "data"
    data.mkdir()
    for name in ("rules.py", "custom_rules.py", "fupin_audit_rules.py", "__init__.py", "conftest.py"):
        (data / name).write_text(MARKER_CODE.format(marker=str(marker)))
    csv = data / "members.csv"
    csv.write_bytes((FIXTURES / "members_gbk.csv").read_bytes())
    cwd = Path.cwd()
    try:
        os.chdir(data)
        run(["check", str(csv), "-f", "csv"])
        run(["rules"])
    finally:
        os.chdir(cwd)
    assert not marker.exists()


def test_rule_plugins_run_only_from_paths_the_user_names(tmp_path, capsys):
    marker = tmp_path / "ran.txt"
    plugin = tmp_path / "my_rules.py"
    plugin.write_text(MARKER_CODE.format(marker=str(marker)))
    run(["rules"])
    assert not marker.exists()
    run(["rules", "--rules", str(plugin)])
    assert marker.exists()  # named explicitly: loaded (it is code, by design)


@pytest.mark.parametrize(
    "config",
    [
        "threshold = \"__import__('os').system('touch {marker}')\"\n",
        "[rules.DQ004]\nexpr = \"exec(open('{marker}','w').write('x'))\"\n",
        '[severity]\nDQ004 = "{{{{ import os }}}}"\n',
    ],
)
def test_config_files_are_data_never_code(config, tmp_path, capsys):
    marker = tmp_path / "ran.txt"
    path = tmp_path / "policy.toml"
    path.write_text(config.format(marker=str(marker)))
    code = run(["check", str(FIXTURES / "members_gbk.csv"), "--config", str(path), "-f", "csv"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not marker.exists()


def test_waiver_files_are_data_never_code(tmp_path, capsys):
    marker = tmp_path / "ran.txt"
    waivers = tmp_path / "w.csv"
    waivers.write_text(
        "rule,key,reason,approved_by,expires\n"
        f"DQ004,\"=cmd|' /C touch {marker}'!A0\",\"__import__('os')\",x,2099-01-01\n",
        encoding="utf-8",
    )
    run(["check", str(FIXTURES / "members_gbk.csv"), "--waivers", str(waivers), "-f", "csv"])
    assert not marker.exists()


def test_the_xls_helper_never_imports_from_the_working_folder(tmp_path, monkeypatch):
    """The helper runs ``python -I -S``: a json.py/pickle.py among received files is never imported."""
    from fupin_audit.io.isolate import read_isolated

    marker = tmp_path / "ran.txt"
    for name in ("json.py", "pickle.py", "io.py", "python_calamine.py", "resource.py"):
        (tmp_path / name).write_text(MARKER_CODE.format(marker=str(marker)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    names, sheets = read_isolated(
        str(FIXTURES / "households.xls"), None, max_cells=10**6, max_columns=100, timeout=60, memory=4 << 30
    )
    assert names == ["贫困户", "说明", "隐藏"] and sheets[0].rows
    assert not marker.exists()


def test_the_helper_result_cannot_smuggle_code(monkeypatch):
    """Only plain values and datetime types unpickle from the helper's answer."""
    import pickle

    from fupin_audit.io.isolate import _Unpickler

    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    payload = pickle.dumps(("ok", ["s"], [("s", [[Evil()]], None, False)]))
    with pytest.raises(pickle.UnpicklingError):
        _Unpickler(__import__("io").BytesIO(payload)).load()


def test_python_dash_m_ignores_modules_in_the_working_folder(tmp_path):
    marker = tmp_path / "ran.txt"
    (tmp_path / "typer.py").write_text(MARKER_CODE.format(marker=str(marker)))
    subprocess.run(
        [sys.executable, "-m", "fupin_audit", "rules"], cwd=tmp_path, capture_output=True, timeout=120
    )
    assert not marker.exists()
