"""Which allocator arrow's buffers come from.

A check allocates and frees column-sized buffers thousands of times (every kernel's result is a new
buffer). pyarrow's default allocator, mimalloc, hands freed pages back to the kernel soon after, so
the next column-sized buffer faults its pages in again: at 100,000 households that is a second or
more of system CPU time (as much as a third of the rules stage) and a larger peak RSS. The C
library's allocator keeps such blocks for reuse. A user who chose an allocator
(``ARROW_DEFAULT_MEMORY_POOL``) keeps it.
"""

from __future__ import annotations

import os

import pyarrow as pa

ARROW_POOL_ENV = "ARROW_DEFAULT_MEMORY_POOL"


def use_reusing_allocator() -> None:
    """Make the C library's allocator arrow's default, unless the user chose one."""
    if os.environ.get(ARROW_POOL_ENV):
        return
    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())
