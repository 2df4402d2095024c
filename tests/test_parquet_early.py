"""Parquet inputs decoded early (io/parquet.py): the CLI decodes them on a thread while it imports the
rest of the program, and the reader takes the decoded columns — the same grid as reading the file
then, and the file read again whenever the early result may not be the file's."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from fupin_audit.cli.app import app
from fupin_audit.io import parquet
from fupin_audit.io.limits import Limits
from fupin_audit.io.readers import RawSheet, read_file

LIMITS = Limits()


def _write(path: Path, ids: list[str | None], amounts: list[float | None]) -> Path:
    table = pa.table({"证件号码": pa.array(ids, pa.string()), "金额": pa.array(amounts, pa.float64())})
    pq.write_table(table, path)
    return path


def _decoding_threads(monkeypatch) -> list[str]:
    """The names of the threads that decode parquet files from now on, one entry per file decoded."""
    threads: list[str] = []
    decode = parquet.read_texts

    def counted(path, limits):
        threads.append(threading.current_thread().name)
        return decode(path, limits)

    monkeypatch.setattr(parquet, "read_texts", counted)
    monkeypatch.setattr("fupin_audit.io.readers.read_texts", counted)
    return threads


def _grid(path: Path):
    (sheet,) = [item for item in read_file(path, limits=LIMITS) if isinstance(item, RawSheet)]
    return sheet.grid


def test_the_early_result_is_what_the_reader_would_read(tmp_path):
    path = _write(tmp_path / "a.parquet", ["340826196901125111", None], [12.5, None])
    expected = _grid(path)
    with parquet.reading_early([str(path)], LIMITS):
        early = parquet.take_early(path, LIMITS)
        assert isinstance(early, parquet.ParquetTexts)
        assert early.names == ["证件号码", "金额"]
        assert early.columns[0].to_pylist() == ["340826196901125111", ""]
        assert early.columns[1].to_pylist() == ["12.5", ""]
        assert parquet.take_early(path, LIMITS) is None  # taken once: not held for the rest of the run
    assert _grid(path).equals(expected)


def test_a_file_rewritten_after_the_early_read_is_read_again(tmp_path):
    path = _write(tmp_path / "a.parquet", ["1"], [1.0])
    with parquet.reading_early([str(path)], LIMITS):
        _write(path, ["2", "3"], [2.0, 3.0])
        os.utime(path, ns=(1, 1))  # a different modification time whatever the clock's resolution
        assert parquet.take_early(path, LIMITS) is None
        assert _grid(path)["证件号码"].tolist() == ["2", "3"]


def test_other_limits_or_other_files_are_not_served_early(tmp_path):
    path = _write(tmp_path / "a.parquet", ["1"], [1.0])
    text = tmp_path / "b.csv"
    text.write_text("证件号码\n1\n", encoding="utf-8")
    with parquet.reading_early([str(path), str(text)], LIMITS):
        assert parquet.take_early(text, LIMITS) is None  # only parquet files are read early
        assert parquet.take_early(path, Limits(max_cells=1)) is None
    assert parquet.take_early(path, LIMITS) is None  # forgotten once the block is left


def test_a_damaged_file_is_left_to_the_reader_and_reported_as_usual(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\0" * 64)
    with parquet.reading_early([str(path)], LIMITS):
        assert parquet.take_early(path, LIMITS) is None
        (error,) = list(read_file(path, limits=LIMITS))
    assert "无法读取 parquet 文件" in str(error)


def test_leaving_the_block_stops_the_thread(tmp_path):
    paths = [str(_write(tmp_path / f"{i}.parquet", [str(i)] * 1000, [1.0] * 1000)) for i in range(20)]
    before = threading.active_count()
    with parquet.reading_early(paths, LIMITS):
        pass
    assert threading.active_count() == before


def test_the_cli_reads_each_parquet_input_once_and_early(tmp_path, monkeypatch):
    """Through `check`: every parquet input is decoded by the early thread, none by the reader."""
    from fupin_audit.sample import generate, write_parquet

    folder = tmp_path / "county"
    write_parquet(generate(households=30, seed=3), folder)
    files = sorted(folder.glob("*.parquet"))
    threads = _decoding_threads(monkeypatch)
    result = CliRunner().invoke(app, ["check", "--format", "csv", "--quiet", str(folder)])
    assert result.exit_code in (0, 1), result.output
    assert threads == ["fupin-audit-parquet"] * len(files)


@pytest.mark.parametrize("engine_args", [["--engine", "dask"]])
def test_no_early_reading_for_the_dask_engine(tmp_path, monkeypatch, engine_args):
    started: list[list[str]] = []
    real = parquet.reading_early

    def spy(paths, limits=None):
        started.append(list(paths))
        return real(paths, limits)

    monkeypatch.setattr(parquet, "reading_early", spy)
    path = _write(tmp_path / "a.parquet", ["1"], [1.0])
    CliRunner().invoke(app, ["check", *engine_args, str(path)])  # refused: no --output folder
    assert started == [[]]


def test_a_file_whose_decoding_has_not_begun_is_read_by_the_reader(tmp_path, monkeypatch):
    """The thread decodes in order; the reader does not wait behind it for a file not yet begun."""
    first, second = (_write(tmp_path / f"{i}.parquet", [str(i)], [1.0]) for i in range(2))
    entered, release = threading.Event(), threading.Event()
    decode = parquet.read_texts

    def slow(path, limits, **kwargs):
        if Path(path) == first:
            entered.set()
            release.wait(10)
        return decode(path, limits, **kwargs)

    monkeypatch.setattr(parquet, "read_texts", slow)
    with parquet.reading_early([str(first), str(second)], LIMITS):
        assert entered.wait(10)
        assert parquet.take_early(second, LIMITS) is None  # not begun: cancelled, read by the caller
        release.set()
        assert isinstance(parquet.take_early(first, LIMITS), parquet.ParquetTexts)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_named_pipe_among_the_inputs_is_never_opened(tmp_path):
    """Opening a FIFO to sniff it would block the check for ever (the reader refuses it unopened)."""
    fifo = tmp_path / "pipe.parquet"
    os.mkfifo(fifo)
    done = threading.Event()

    def enter_and_leave():
        with parquet.reading_early([str(fifo), "/dev/zero"], LIMITS):
            pass
        done.set()

    threading.Thread(target=enter_and_leave, daemon=True).start()
    assert done.wait(10)


def test_the_console_script_begins_decoding_before_the_command_line_is_parsed(tmp_path, monkeypatch):
    """cli/start.py: the parquet files a `check` command names — given as files, in a folder, after
    --previous — are decoded while Typer loads; an option's value that is no parquet file is not."""
    from fupin_audit.cli.start import decoding_early

    current, previous = tmp_path / "now", tmp_path / "before"
    current.mkdir()
    previous.mkdir()
    files = [_write(current / "a.parquet", ["1"], [1.0]), _write(current / "b.parquet", ["2"], [2.0])]
    older = _write(previous / "a.parquet", ["3"], [3.0])
    config = tmp_path / "lines.toml"
    config.write_text("", "utf-8")
    threads = _decoding_threads(monkeypatch)
    words = ["check", str(current), "--config", str(config), "--year", "2017", "--previous", str(previous)]
    limits = Limits.from_env()
    with decoding_early(words):
        taken = [parquet.take_early(path, limits) for path in [*files, older]]
    assert all(isinstance(t, parquet.ParquetTexts) for t in taken)
    assert threads == ["fupin-audit-parquet"] * 3


@pytest.mark.parametrize(
    "words",
    [["check", "--engine", "dask", "{f}"], ["check", "--engine=dask", "{f}"], ["convert", "{f}"], []],
)
def test_the_console_script_decodes_nothing_for_dask_or_other_commands(tmp_path, monkeypatch, words):
    from fupin_audit.cli.start import decoding_early

    path = _write(tmp_path / "a.parquet", ["1"], [1.0])
    started: list[object] = []
    monkeypatch.setattr(parquet, "reading_early", lambda *a, **k: started.append(a))
    with decoding_early([w.format(f=path) for w in words]):
        pass
    assert started == []


def test_python_m_fupin_audit_checks_parquet_inputs_through_the_early_start(tmp_path):
    """The whole path, in a process of its own as a user runs it: the same report as the command
    run in this process (where the decoding begins inside `check`)."""
    import subprocess
    import sys

    from fupin_audit.sample import generate, write_parquet

    folder = tmp_path / "county"
    write_parquet(generate(households=40, seed=5), folder)
    outs = [tmp_path / "early.csv", tmp_path / "inside.csv"]
    done = subprocess.run(
        [sys.executable, "-m", "fupin_audit", "check", str(folder), "--format", "csv", "-o", str(outs[0])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode in (0, 1), done.stderr
    result = CliRunner().invoke(app, ["check", str(folder), "--format", "csv", "-o", str(outs[1])])
    assert result.exit_code == done.returncode, result.output
    assert outs[0].read_bytes() == outs[1].read_bytes() and outs[0].stat().st_size > 100


def test_the_words_after_an_option_are_not_inputs(tmp_path, monkeypatch):
    """`--year 2016` beside a folder 2016/ of parquet files: the folder is the option's value, not an
    input, and is not decoded. The flags (options without a value) are those of the command itself."""
    import typer.main

    from fupin_audit.cli.start import CHECK_FLAGS, candidate_inputs, decoding_early

    command = typer.main.get_command(app).commands["check"]
    flags = {o for p in command.params if getattr(p, "is_flag", False) for o in (*p.opts, *p.secondary_opts)}
    assert flags == CHECK_FLAGS
    words = [
        "a.xlsx",
        "--year",
        "2016",
        "--quiet",
        "b/",
        "-o",
        "out.csv",
        "--format=csv",
        "--previous",
        "x",
        "y",
    ]
    assert candidate_inputs(words) == ["a.xlsx", "b/", "x", "y"]

    monkeypatch.chdir(tmp_path)
    (tmp_path / "2016").mkdir()
    _write(tmp_path / "2016" / "big.parquet", ["1"], [1.0])
    threads = _decoding_threads(monkeypatch)
    with decoding_early(["check", "now.xlsx", "--year", "2016"]):
        pass
    assert threads == []


def test_decoding_text_columns_does_not_wait_for_pandas(tmp_path):
    """Filling nulls makes pyarrow import pandas; a text column without nulls needs no filling, so
    the early thread decodes it while the main thread is still importing pandas (it used to stop
    at its first column until that import was done). Null texts are still "" (test above)."""
    import subprocess
    import sys

    path = tmp_path / "成员.parquet"
    pq.write_table(
        pa.table({"户编号": ["1", "2"], "年度": pa.array([2017, 2018], pa.int64()), "姓名": ["张三", ""]}),
        path,
    )
    code = (
        "import sys\n"
        "from fupin_audit.io.parquet import read_texts\nfrom fupin_audit.io.limits import Limits\n"
        f"texts = read_texts({str(path)!r}, Limits())\n"
        "assert [c.to_pylist() for c in texts.columns] == [['1', '2'], ['2017', '2018'], ['张三', '']]\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stderr


def _hashed_early(path: Path, timeout: float = 10.0) -> None:
    """Wait until the decoding thread has hashed `path` (it hashes a file right after decoding it)."""
    import time

    deadline = time.monotonic() + timeout
    (future,) = [f for key, f in parquet._hashed.items() if key[0] == str(path.resolve())]
    while not future.done():
        assert time.monotonic() < deadline, "the decoding thread did not hash the file"
        time.sleep(0.01)


def test_the_decoding_thread_hashes_what_it_decoded_for_the_summary(tmp_path, monkeypatch):
    """The inputs' SHA-256 in the summary: worked out on the decoding thread, so the reader does not
    hash the file again; the same digest as hashing the file."""
    import hashlib

    from fupin_audit import load as load_module

    path = _write(tmp_path / "成员.parquet", ["340826196901125111"], [1.0])
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    with parquet.reading_early([str(path)], LIMITS):
        _hashed_early(path)

        def refuse(_path):
            raise AssertionError("hashed again by the reader")

        monkeypatch.setattr(load_module, "file_sha256", refuse)
        dataset = load_module.load([path])
        assert not parquet._hashed  # taken once, not held for the rest of the run
    assert [f.sha256 for f in dataset.files] == [expected]


def test_a_file_changed_after_it_was_hashed_is_hashed_again(tmp_path):
    import hashlib
    import os

    from fupin_audit import load as load_module

    path = _write(tmp_path / "成员.parquet", ["340826196901125111"], [1.0])
    with parquet.reading_early([str(path)], LIMITS):
        _hashed_early(path)
        _write(path, ["340826196901125111", "340826196901125112"], [1.0, 2.0])
        os.utime(path, ns=(1, 1))  # a different modification time, whatever the clock's resolution
        assert parquet.take_early_sha256(path) is None
        dataset = load_module.load([path])
    assert [f.sha256 for f in dataset.files] == [hashlib.sha256(path.read_bytes()).hexdigest()]


def test_one_file_named_twice_is_decoded_and_hashed_once(tmp_path, monkeypatch):
    """`check a.parquet ./a.parquet`: one job for the file (two jobs with one future made the decoding
    thread fail with "Future in unexpected state")."""
    import os

    threads = _decoding_threads(monkeypatch)
    errors: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: errors.append(args.exc_value))
    path = _write(tmp_path / "a.parquet", ["1"], [1.0])
    monkeypatch.chdir(tmp_path)
    with parquet.reading_early([str(path), os.path.join(".", "a.parquet")], LIMITS):
        assert isinstance(parquet.take_early(path, LIMITS), parquet.ParquetTexts)
        _hashed_early(path)
    assert threads == ["fupin-audit-parquet"] and not errors


def test_two_blocks_reading_one_file_early_keep_their_own_hashing(tmp_path):
    """A second reading_early block for a file the first one hashes leaves the hashing to it, and
    leaving the second block does not cancel the first one's."""
    path = _write(tmp_path / "a.parquet", ["1"], [1.0])
    with parquet.reading_early([str(path)], LIMITS):
        assert isinstance(parquet.take_early(path, LIMITS), parquet.ParquetTexts)
        _hashed_early(path)
        (first,) = parquet._hashed.values()
        with parquet.reading_early([str(path)], Limits(max_columns=LIMITS.max_columns + 1)):
            assert list(parquet._hashed.values()) == [first]
        assert list(parquet._hashed.values()) == [first] and not first.cancelled()
        assert parquet.take_early_sha256(path) == first.result()


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="counts threads through /proc")
@pytest.mark.parametrize(("own", "expected"), [(None, ("1", "False")), (("2", "1"), ("2", "True"))])
def test_the_console_script_starts_numpy_without_blas_threads_or_huge_pages(own, expected):
    """Importing numpy starts an OpenBLAS thread per core that spins ~0.1 s of CPU (the check does no
    linear algebra), and numpy asks the kernel for huge pages for its larger arrays (0.3–0.5 s more
    kernel time at 100,000 households): the console script turns both off before numpy is first
    imported, unless the user set OPENBLAS_NUM_THREADS or NUMPY_MADVISE_HUGEPAGE; arrow's mimalloc is
    asked for no huge pages either. It also collects cycles less often than Python's default (700 new
    objects), and keeps what the imports made out of every collection (gc.freeze)."""
    import subprocess
    import sys

    from fupin_audit.cli import start

    code = (
        "import os, sys, types\n"
        "fake = types.ModuleType('fupin_audit.cli.app')\n"
        "def run():\n"
        "    import numpy\n"
        "    from numpy._core.multiarray import _get_madvise_hugepage\n"
        "    threads = len(os.listdir('/proc/self/task'))\n"
        "    import gc\n"
        "    print(threads, os.environ.get('OPENBLAS_NUM_THREADS'), _get_madvise_hugepage(), gc.get_threshold()[0],\n"
        "          os.environ.get('MIMALLOC_ALLOW_THP'), 'pyarrow' in sys.modules, gc.get_freeze_count())\n"
        "fake.run = run\n"
        "sys.modules['fupin_audit.cli.app'] = fake\n"
        "sys.argv = ['fupin-audit', 'rules']\n"
        "from fupin_audit.cli.start import run as start\n"
        "start()\n"
    )
    ours = ("OPENBLAS_NUM_THREADS", "NUMPY_MADVISE_HUGEPAGE", "MIMALLOC_ALLOW_THP")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    if own is not None:
        env["OPENBLAS_NUM_THREADS"], env["NUMPY_MADVISE_HUGEPAGE"] = own
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    threads, blas, huge_pages, first_generation, mimalloc_thp, arrow_loaded, frozen = out.stdout.split()
    assert (blas, huge_pages) == expected
    # read by arrow's mimalloc when pyarrow loads: set, and pyarrow not loaded before it was
    assert (mimalloc_thp, arrow_loaded) == ("0", "False")
    assert int(first_generation) == start.FIRST_GENERATION  # the collector's first generation (start.py)
    assert int(frozen) > 1000  # what the imports made is out of the collections
    if own is None:
        assert threads == "1"
