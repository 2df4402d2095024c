"""The console script and `python -m fupin_audit`: start decoding `check`'s parquet inputs, then
import the command line (Typer, Rich, the library) and run it (`app.run`).

The decoding thread (io/parquet.py, `reading_early`) otherwise began only once Typer had been
imported and had parsed the command line, and the reader then waited for it: at 100,000 households
the check spent a tenth of a second waiting. Here it begins before Typer is imported. The command
line is not parsed yet: the words of a `check` command that are neither options nor option values
are the candidates (`check` still takes a decoded file only for one of its own inputs).

This module imports neither Typer nor pandas: that is what makes it early.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# The cyclic collector's first generation is collected after this many new container objects (700 by
# default). Importing the library and running the rules make hundreds of thousands, nearly all of
# them short-lived or lasting the whole run, few in cycles: at 100,000 households the default meant
# ~290 collections (50 ms of collecting, and more of caches refilled), this ~20 (35 ms).
FIRST_GENERATION = 10_000


def run() -> None:
    library_settings()
    gc.set_threshold(FIRST_GENERATION, *gc.get_threshold()[1:])
    with decoding_early(sys.argv[1:]):
        from fupin_audit.cli.app import run as run_cli

        # What the imports made (modules, classes, pydantic's schemas: some 86,000 objects) lives as
        # long as the process: out of every later collection. At 100,000 households the one
        # second-generation collection of a check then goes (25–35 ms of traversing them).
        gc.freeze()
        run_cli()  # ends the process (os._exit) once every output is written


def library_settings() -> None:
    """Three defaults of the libraries under the check that cost it time, set before numpy and
    pyarrow are first imported (when they are read); a setting of the user's own is kept.

    - No OpenBLAS helper threads. The check does no linear algebra, yet importing numpy starts a
      helper thread per core that spins about a tenth of a second of CPU before it sleeps: on two
      cores, time taken from the thread decoding the inputs.
    - No transparent huge pages for numpy's arrays, nor for the memory arrow's mimalloc reserves (a
      1 GiB arena, which arrow's parquet reader allocates from). The kernel then finds and zeroes 2 MB
      at a time on first touch, for buffers most of which live a few milliseconds: at 100,000
      households that was 0.1–0.5 s more kernel time (CPU time both cores lack) on a machine whose
      kernel grants them on request ("madvise", a common setting)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
    os.environ.setdefault("MIMALLOC_ALLOW_THP", "0")


@contextmanager
def decoding_early(args: list[str]) -> Iterator[None]:
    """The parquet files among the words of a `check` command decoded on a thread while the block
    runs (nothing for another command, or for the Dask engine, which reads in its workers)."""
    if not args or args[0] != "check" or dask_engine(args):
        yield
        return
    from fupin_audit.io.parquet import input_files, reading_early
    from fupin_audit.workers import prefer_jemalloc

    prefer_jemalloc()  # before the first column is decoded: the allocator of the run (workers.py)
    with reading_early(input_files(candidate_inputs(args[1:]))):
        yield


# `check`'s options that take no value (tests/test_parquet_early.py checks this against the command):
# the word after any other option is that option's value (`--year 2016` beside a folder 2016/), never
# an input. --previous takes every word up to the next option.
CHECK_FLAGS = frozenset({"--bom", "--debug", "--keep-going", "--mask", "--quiet", "--strict-policy", "-q"})


def candidate_inputs(words: list[str]) -> list[str]:
    """The words of a `check` command line (after `check`) that can be input files or folders."""
    out: list[str] = []
    value_next = False
    for word in words:
        if value_next:
            value_next = False
        elif word.startswith("-"):
            value_next = "=" not in word and word not in CHECK_FLAGS and word != "--previous"
        else:
            out.append(word)
    return out


def dask_engine(args: list[str]) -> bool:
    """`--engine dask` (or `--engine=dask`) among the words of the command line."""
    following = [*args[1:], ""]
    return "--engine=dask" in args or any(
        a == "--engine" and b == "dask" for a, b in zip(args, following, strict=True)
    )
