"""Errors that carry a location, so every message can name file, sheet, row and column."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """An exception as one line of at most 200 characters, for a message naming file and sheet."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


class FupinAuditError(Exception):
    """Base class: anything the CLI turns into a one-line message and exit code 2."""


class InputError(FupinAuditError):
    """An input file, sheet or cell the tool cannot use."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.sheet, self.row, self.column = file, sheet, row, column
        self.detail = message
        super().__init__(self.located())

    def located(self) -> str:
        where = [
            part
            for part in (
                self.file,
                f"工作表 {self.sheet}" if self.sheet else None,
                f"第 {self.row} 行" if self.row else None,
                f"列 {self.column}" if self.column else None,
            )
            if part
        ]
        return f"{': '.join([', '.join(where), self.detail]) if where else self.detail}"


class ConfigError(FupinAuditError):
    """A bad option, config key or rule file."""
