"""Message templates: literal text with {字段} placeholders ({{ and }} for braces)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fupin_audit.engine.declarative.errors import ExpressionError, nearest
from fupin_audit.engine.declarative.lexer import fold
from fupin_audit.schema.fields import Kind
from fupin_audit.schema.models import MODELS


@dataclass(frozen=True)
class Template:
    parts: tuple[tuple[bool, str], ...]  # (is a field, text or field name)
    kinds: dict[str, Kind]

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(text for is_field, text in self.parts if is_field))

    def render(self, frame: pd.DataFrame, mask: pd.Series) -> str | pd.Series:
        if not self.fields:
            return "".join(text for _, text in self.parts)
        rows = frame.loc[mask.to_numpy(dtype=bool)]
        out = pd.Series("", index=rows.index, dtype=object)
        for is_field, text in self.parts:
            out = out + (_cell_texts(rows[text], self.kinds[text]) if is_field else text)
        return out


def _cell_texts(column: pd.Series, kind: Kind) -> pd.Series:
    values = column.astype(object)
    if kind is Kind.MONEY:
        texts = pd.to_numeric(values, errors="coerce").map("{:.2f}".format, na_action="ignore")
    elif kind is Kind.NUMBER:
        texts = pd.to_numeric(values, errors="coerce").map("{:g}".format, na_action="ignore")
    elif kind in (Kind.INT, Kind.YEAR, Kind.MONTH):
        texts = pd.to_numeric(values, errors="coerce").map(lambda v: str(int(v)), na_action="ignore")
    elif kind is Kind.DATE:
        texts = pd.to_datetime(values, errors="coerce").dt.strftime("%Y-%m-%d")
    elif kind is Kind.YESNO:
        texts = values.map(lambda v: "是" if v else "否", na_action="ignore")
    else:
        texts = values.map(str, na_action="ignore")
    return texts.astype(object).where(values.notna() & texts.notna(), "（空）")


def parse_template(text: str, table: str) -> Template:
    specs = MODELS[table].specs()
    parts: list[tuple[bool, str]] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if text.startswith("{{", i) or text.startswith("}}", i):
            literal.append(char)
            i += 2
            continue
        if char == "}":
            raise ExpressionError(i, char, "多余的 }（文字中的花括号写作 }}）")
        if char != "{":
            literal.append(char)
            i += 1
            continue
        end = text.find("}", i + 1)
        inner = text[i + 1 : end] if end >= 0 else ""
        if end < 0 or "{" in inner:
            raise ExpressionError(i, char, "{ 没有对应的 }（文字中的花括号写作 {{）")
        name = fold(inner).strip()
        if name not in specs:
            close = nearest(name, tuple(specs))
            hint = f"最接近的字段：{'、'.join(close)}" if close else f"全部字段见 fupin-audit schema {table}"
            raise ExpressionError(i, text[i : end + 1], f"未知字段 “{name}”（{table} 表）；{hint}")
        if literal:
            parts.append((False, "".join(literal)))
            literal = []
        parts.append((True, name))
        i = end + 1
    if literal:
        parts.append((False, "".join(literal)))
    return Template(tuple(parts), {name: specs[name].kind for is_field, name in parts if is_field})
