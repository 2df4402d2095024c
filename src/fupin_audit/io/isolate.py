"""Read .xls, .xlsb and .ods workbooks in a helper process, so a crash of the parser is an error, not a crash.

The legacy binary formats sit in an OLE/BIFF container whose parser (calamine's ``cfb``/``xls``
modules) can be driven by a damaged or hostile file into a Rust panic or into requesting hundreds of
gigabytes at once, which aborts the whole process (found by truncating and mutating real .xls
files). An .ods expands repeated rows and columns while it is parsed, and an .xlsb cannot be
checked cheaply beforehand, so they are read the same way. The helper
runs the same python-calamine reader with an address-space limit and a timeout; the parent gets the
cell values back (pickled plain values, unpickled with a whitelist), or a one-line reason.

The helper imports python-calamine only (not this package), from the directory the parent imported
it from.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass

__all__ = ["ChildSheet", "IsolatedError", "read_isolated"]


@dataclass
class ChildSheet:
    name: str
    rows: list[list[object]] | None = None  # None: see ``error``
    error: str | None = None
    chart: bool = False


class IsolatedError(Exception):
    """The helper could not open the workbook: ``reason`` is one line; ``password`` if encrypted."""

    def __init__(self, reason: str, *, password: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.password = password


# Runs in the helper: argv[1] = directory holding python_calamine; the request comes on stdin as
# JSON, the answer leaves on stdout as a pickle of plain values.
_CHILD = r"""
import io, json, pickle, sys
request = json.loads(sys.stdin.buffer.read())
sys.path.insert(0, sys.argv[1])
try:
    import resource
    limit = int(request["memory"])
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
except Exception:
    pass
out = sys.stdout.buffer
def answer(value):
    pickle.dump(value, out, protocol=4)
    out.flush()
from python_calamine import CalamineWorkbook, PasswordError, SheetTypeEnum
try:
    if request["by_path"]:  # the reader is chosen by the suffix, and its errors are more precise
        wb = CalamineWorkbook.from_path(request["path"])
    else:  # suffix and content disagree: let the reader detect the format from the bytes
        with open(request["path"], "rb") as fh:
            wb = CalamineWorkbook.from_filelike(io.BytesIO(fh.read()))
except BaseException as exc:  # PanicException is a BaseException
    answer(("open-error", " ".join(str(exc).split()) or type(exc).__name__, isinstance(exc, PasswordError)))
    sys.exit(0)
sheets = []
try:
    try:
        meta = {m.name: m for m in wb.sheets_metadata}
    except BaseException:
        meta = {}
    names = list(wb.sheet_names)
    wanted = request["sheets"] if request["sheets"] is not None else names
    for name in wanted:
        if name not in names:
            continue
        m = meta.get(name)
        if m is not None and m.typ == SheetTypeEnum.ChartSheet:
            sheets.append((name, None, None, True))
            continue
        try:
            sheet = wb.get_sheet_by_name(name)
            end = sheet.end
            cells = 0 if end is None else (end[0] + 1) * (end[1] + 1)
            if cells > request["max_cells"] or (end is not None and end[1] + 1 > request["max_columns"]):
                sheets.append((name, None, ("cells", end[0] + 1, end[1] + 1), False))
                continue
            sheets.append((name, sheet.to_python(skip_empty_area=False), None, False))
        except BaseException as exc:
            sheets.append((name, None, " ".join(str(exc).split()) or type(exc).__name__, False))
finally:
    answer(("ok", names, sheets))
"""


class _Unpickler(pickle.Unpickler):
    """Plain values only: no class of the pickle may be loaded except the datetime types."""

    ALLOWED = frozenset(
        {("datetime", "datetime"), ("datetime", "date"), ("datetime", "time"), ("datetime", "timedelta")}
    )

    def find_class(self, module: str, name: str):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} 不允许出现在子进程的结果中")


def read_isolated(
    path: str,
    sheets: list[str] | None,
    *,
    max_cells: int,
    max_columns: int,
    timeout: float,
    memory: int,
    by_path: bool = True,
) -> tuple[list[str], list[ChildSheet]]:
    """Sheet names and, per wanted sheet, a :class:`ChildSheet`; raises :class:`IsolatedError`.

    A sheet whose used range exceeds ``max_cells`` or ``max_columns`` is not converted: it comes back with ``rows``
    None and ``error`` = ``"cells:ROWS:COLUMNS"``.
    """
    import python_calamine

    home = os.path.dirname(os.path.dirname(os.path.abspath(python_calamine.__file__)))
    request = json.dumps(
        {
            "path": os.path.abspath(path),
            "sheets": sheets,
            "max_cells": max_cells,
            "max_columns": max_columns,
            "memory": memory,
            "by_path": by_path,
        }
    ).encode()
    env = {**os.environ, "RUST_BACKTRACE": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        done = subprocess.run(
            # -I -S: no current directory, user site or PYTHON* variables on the path, no .pth files:
            # a folder of received files may hold a "json.py" that must never be imported.
            [sys.executable, "-I", "-S", "-c", _CHILD, home],
            input=request,
            capture_output=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise IsolatedError(
            f"解析超过 {timeout:g} 秒仍未完成，已放弃（FUPIN_AUDIT_HELPER_TIMEOUT）"
        ) from None
    except OSError as exc:
        raise IsolatedError(f"无法启动解析子进程：{exc}") from None
    answer = None
    if done.stdout:
        try:
            answer = _Unpickler(io.BytesIO(done.stdout)).load()
        except Exception:
            answer = None
    if answer is None or not isinstance(answer, tuple):
        raise IsolatedError(_crash_reason(done.returncode, done.stderr))
    if answer[0] == "open-error":
        raise IsolatedError(answer[1], password=bool(answer[2]))
    _, names, items = answer
    out: list[ChildSheet] = []
    for name, rows, error, chart in items:
        if isinstance(error, tuple):
            out.append(ChildSheet(name, None, f"cells:{error[1]}:{error[2]}"))
        else:
            out.append(ChildSheet(name, rows, error, chart))
    return names, out


def _crash_reason(code: int, stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    if "memory allocation of" in text or "MemoryError" in text:
        import re

        match = re.search(r"memory allocation of (\d+) bytes failed", text)
        need = f"（试图分配 {int(match.group(1)) / (1 << 30):.1f} GiB）" if match else ""
        return f"解析器内存不足{need}：文件已损坏，或单元格范围异常大"
    if "panicked" in text:
        return "解析器遇到无法处理的数据结构而中止：文件已损坏"
    return f"解析器异常退出（代码 {code}）：文件已损坏"
