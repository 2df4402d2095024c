"""Arrow's allocator: a run makes the C library's allocator the default (freed column-sized buffers
are reused instead of being faulted in again), unless the user chose one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "防返贫监测样例2023.xlsx"
PROBE = (
    "import pyarrow as pa\n"
    "from fupin_audit.load import load\n"
    "before = pa.default_memory_pool().backend_name\n"
    f"load([{str(SAMPLE)!r}])\n"
    "print(before, pa.default_memory_pool().backend_name)\n"
)


def pools(env_value: str | None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if env_value is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = env_value
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_loading_switches_to_the_system_allocator():
    before, after = pools(None)
    assert after == "system"
    assert before != "system"  # pyarrow's own default (mimalloc or jemalloc): the switch is real


@pytest.mark.parametrize("chosen", ["jemalloc", "mimalloc"])
def test_a_chosen_allocator_is_kept(chosen):
    import pyarrow as pa

    if chosen not in pa.supported_memory_backends():
        pytest.skip(f"pyarrow built without {chosen}")
    before, after = pools(chosen)
    assert before == after == chosen
