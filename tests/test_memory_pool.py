"""The CLI gives Arrow's allocations to jemalloc (less page churn, lower peak RSS), unless the user chose."""

from __future__ import annotations

import os
import subprocess
import sys

import pyarrow as pa
import pytest

from fupin_audit.workers import prefer_jemalloc

PROBE = (
    "import pyarrow as pa\n"
    "from fupin_audit.workers import prefer_jemalloc\n"
    "before = pa.default_memory_pool().backend_name\n"
    "print(before, prefer_jemalloc(), pa.default_memory_pool().backend_name)\n"
)


def _probe(**env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"} | env
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=environ, check=True
    )
    return out.stdout.split()


@pytest.mark.skipif("jemalloc" not in pa.supported_memory_backends(), reason="pyarrow built without jemalloc")
def test_the_default_pool_is_replaced_by_jemalloc() -> None:
    before, chosen, after = _probe()
    assert before != "jemalloc"  # pyarrow's own default here (mimalloc): otherwise the test shows nothing
    assert chosen == after == "jemalloc"


def test_a_pool_the_user_chose_is_kept() -> None:
    before, chosen, after = _probe(ARROW_DEFAULT_MEMORY_POOL="system")
    assert before == chosen == after == "system"


def test_the_choice_is_idempotent() -> None:
    first = prefer_jemalloc()
    assert prefer_jemalloc() == first == pa.default_memory_pool().backend_name
