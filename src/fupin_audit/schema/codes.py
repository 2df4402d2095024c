"""Code lists (DOMAIN.md §3) loaded from the editable `codelists.toml`."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

# Separators inside a multi-valued code cell, e.g. 健康状况 "残疾,长期慢性病".
MULTI_SEPARATORS = re.compile(r"[,，、;；/|]+")
_SPACES = re.compile(r"\s+")
# A trailing bracket that annotates a value without changing it: 一般脱贫户（享受政策）, 残疾（二级）,
# 脱贫户（2016年脱贫）. Any other bracket (低保户（已退出）) may change the meaning: the cell is left
# unknown (DQ003) for a person to read.
_QUALIFIED = re.compile(
    r"^(.+?)\((?:(?:不再|不)?享受政策|[一二三四1-4]级|轻度|中度|重度|[12][0-9]{3}年?[^()]*)\)$"
)


def normalise_label(text: str) -> str:
    """The comparison form of a code value: NFKC, no whitespace, () brackets."""
    text = unicodedata.normalize("NFKC", text)
    text = _SPACES.sub("", text)
    return text.replace("【", "(").replace("】", ")").replace("[", "(").replace("]", ")")


@dataclass(frozen=True)
class CodeList:
    name: str
    values: tuple[str, ...]
    lookup: dict[str, str] = field(repr=False)  # normalised variant / code / label → label
    extra: dict[str, tuple[str, ...]] = field(default_factory=dict, repr=False)

    def label(self, text: str) -> str | None:
        """The canonical label for one already-stripped cell text, or None if unknown.

        A value with a qualifier in a trailing bracket that the list does not know as a whole
        (一般脱贫户（享受政策）, 残疾（二级）) is the value before the bracket, when that is a label and
        the bracket only annotates it (`_QUALIFIED`)."""
        key = normalise_label(text)
        found = self.lookup.get(key)
        if found is None and (m := _QUALIFIED.match(key)):
            found = self.lookup.get(m.group(1))
        return found


def _build(name: str, entry: dict) -> CodeList:
    values = tuple(entry["values"])
    lookup: dict[str, str] = {}
    for code, label in entry.get("codes", {}).items():
        lookup[normalise_label(code)] = label
        if code.isdigit() and code.lstrip("0"):
            lookup[code.lstrip("0")] = label  # "01" is often exported as 1
    for variant, label in entry.get("aliases", {}).items():
        lookup[normalise_label(variant)] = label
    for value in values:
        lookup[normalise_label(value)] = value
    unknown = {label for label in lookup.values() if label not in values}
    if unknown:
        raise ValueError(f"codelists.toml [{name}]: aliases point to unknown labels {sorted(unknown)}")
    extra = {key: tuple(val) for key, val in entry.items() if key not in {"values", "codes", "aliases"}}
    return CodeList(name, values, lookup, extra)


@cache
def code_lists() -> dict[str, CodeList]:
    text = resources.files("fupin_audit.schema").joinpath("codelists.toml").read_text("utf-8")
    return {name: _build(name, entry) for name, entry in tomllib.loads(text).items()}


def code_list(name: str) -> CodeList:
    return code_lists()[name]


EXITED = ("已脱贫", "已脱贫(享受政策)", "已脱贫(不再享受政策)")
POOR = ("未脱贫", "返贫")
