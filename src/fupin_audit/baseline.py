"""Baselines and waivers for unattended runs.

A finding's identity is its rule plus the record it is about (户编号 / 证件号码 / 人口编号 / village)
and the field, never its row number, so a re-sorted or re-exported file matches its baseline.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_audit import __version__
from fupin_audit.errors import ConfigError
from fupin_audit.findings import plain_text
from fupin_audit.io.header import normalise_header
from fupin_audit.report.atomic import atomic_open


@cache
def _canonical_column(table: str, written: str) -> str:
    from fupin_audit.load import canonical

    table = table.removeprefix("previous.")  # a DT finding about the previous snapshot's row
    if not written or table not in ("households", "members", "villages", "measures", "helpers", "rosters"):
        return written
    name = normalise_header(written)[0]
    return canonical(table, name) or canonical("flat", name) or name


def finding_keys(findings: pd.DataFrame) -> pd.Series:
    """Stable identity of each finding: rule, table, record identity, canonical field."""
    findings = plain_text(findings, ("rule", "table", "file", "sheet", "column"))
    identity = findings["household_id"] + "|" + findings["person_id"] + "|" + findings["id_number"]
    no_record = identity == "||"
    place = findings["township"] + "/" + findings["village"]
    fallback = (
        findings["file"].map(lambda f: Path(f).name) + ":" + findings["sheet"] + ":" + findings["value"]
    )
    identity = identity.where(~no_record, place.where(place != "/", fallback))
    columns = [_canonical_column(t, c) for t, c in zip(findings["table"], findings["column"], strict=True)]
    return (
        findings["rule"]
        + "|"
        + findings["table"]
        + "|"
        + identity
        + "|"
        + pd.Series(columns, index=findings.index)
    )


def write_baseline(findings: pd.DataFrame, path: Path) -> None:
    counts = finding_keys(findings).value_counts().sort_index()
    document = {
        "tool": "fupin-audit",
        "version": __version__,
        "created": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "findings": [{"key": key, "count": int(n)} for key, n in counts.items()],
    }
    with atomic_open(path) as fh:
        json.dump(document, fh, ensure_ascii=False, indent=1)


def read_baseline(path: Path) -> dict[str, int]:
    try:
        document = json.loads(path.read_text("utf-8"))
        return {item["key"]: int(item["count"]) for item in document["findings"]}
    except FileNotFoundError:
        raise ConfigError(f"{path}: 基线文件不存在") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: 不是 fupin-audit 的基线文件（{exc}）") from None


def apply_baseline(
    findings: pd.DataFrame, known: dict[str, int], aliases: Mapping[str, str] | None = None
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Only the findings not in the baseline (counting repeats), plus how many baseline ones are gone.

    `aliases` (former code → code): a baseline written before a rule was renamed keys its findings
    by the old code, and they are still known under the new one."""
    known = _renamed_keys(known, aliases or {})
    keys = finding_keys(findings)
    occurrence = keys.groupby(keys).cumcount()
    allowed = keys.map(known).fillna(0).astype(int)
    is_known = occurrence < allowed
    current = keys.value_counts()
    gone = sum(max(0, n - int(current.get(key, 0))) for key, n in known.items())
    stats = {"known": int(is_known.sum()), "new": int((~is_known).sum()), "gone": int(gone)}
    return findings[~is_known.to_numpy()].reset_index(drop=True), stats


def _renamed_keys(known: dict[str, int], aliases: Mapping[str, str]) -> dict[str, int]:
    """Baseline keys with a former rule code replaced by the rule's code (counts of both added)."""
    if not aliases:
        return known
    out: dict[str, int] = {}
    for key, count in known.items():
        code, sep, rest = key.partition("|")
        key = aliases.get(code, code) + sep + rest
        out[key] = out.get(key, 0) + count
    return out


# ------------------------------------------------------------------------------------------ waivers

WAIVER_FIELDS = ("rule", "key", "reason", "approved_by", "expires")


@dataclass
class Waiver:
    rule: str
    key: str
    reason: str
    approved_by: str
    expires: dt.date
    line: int  # row in the waiver file, for messages


@dataclass
class WaiverOutcome:
    kept: pd.DataFrame
    waived: pd.DataFrame
    expired: list[Waiver] = field(default_factory=list)
    unmatched: list[Waiver] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "waived": len(self.waived),
            "waived_findings": self.waived[
                ["rule", "household_id", "id_number", "village", "waiver"]
            ].to_dict("records"),
            "expired": [_describe(w) for w in self.expired],
            "unmatched": [_describe(w) for w in self.unmatched],
        }


def _describe(waiver: Waiver) -> dict[str, Any]:
    return {
        "rule": waiver.rule,
        "key": waiver.key,
        "reason": waiver.reason,
        "approved_by": waiver.approved_by,
        "expires": waiver.expires.isoformat(),
        "line": waiver.line,
    }


def read_waivers(path: Path) -> list[Waiver]:
    """An auditor-maintained list: CSV with a header row, or TOML with [[waiver]] tables."""
    try:
        text = path.read_text("utf-8-sig")
    except FileNotFoundError:
        raise ConfigError(f"{path}: 豁免文件不存在") from None
    except UnicodeDecodeError:
        text = path.read_bytes().decode("gb18030", errors="strict")
    if path.suffix.lower() == ".toml":
        try:
            rows = tomllib.loads(text).get("waiver", [])
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: 不是有效的 TOML：{exc}") from None
        numbered = [(i + 1, row) for i, row in enumerate(rows)]
    else:
        reader = csv.DictReader(io.StringIO(text))
        missing = [f for f in WAIVER_FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise ConfigError(f"{path}: 缺少列 {'、'.join(missing)}（需要 {', '.join(WAIVER_FIELDS)}）")
        numbered = [(i + 2, row) for i, row in enumerate(reader)]
    return [_waiver(path, line, row) for line, row in numbered]


def _waiver(path: Path, line: int, row: dict[str, Any]) -> Waiver:
    unknown = set(row) - set(WAIVER_FIELDS)
    if unknown:
        raise ConfigError(f"{path} 第 {line} 条: 未知的字段 {'、'.join(sorted(map(str, unknown)))}")
    values = {f: str(row.get(f, "") or "").strip() for f in WAIVER_FIELDS}
    empty = [f for f in ("rule", "key", "reason", "approved_by", "expires") if not values[f]]
    if empty:
        raise ConfigError(f"{path} 第 {line} 条: {'、'.join(empty)} 不能为空")
    expires = row["expires"] if isinstance(row.get("expires"), dt.date) else None
    if expires is None:
        try:
            expires = dt.date.fromisoformat(values["expires"])
        except ValueError:
            raise ConfigError(
                f"{path} 第 {line} 条: expires “{values['expires']}” 不是 YYYY-MM-DD 日期"
            ) from None
    return Waiver(
        values["rule"].upper(), values["key"], values["reason"], values["approved_by"], expires, line
    )


def apply_waivers(
    findings: pd.DataFrame,
    waivers: list[Waiver],
    today: dt.date,
    aliases: Mapping[str, str] | None = None,
) -> WaiverOutcome:
    """Waive the findings each unexpired waiver names. `aliases` (former code → code): a waiver
    written with a renamed rule's old code waives its findings, which carry the new code."""
    aliases = aliases or {}
    active = [w for w in waivers if w.expires >= today]
    expired = [w for w in waivers if w.expires < today]
    waived = pd.Series("", index=findings.index, dtype=object)
    unmatched = []
    candidates = {
        "household_id": findings["household_id"],
        "id_number": findings["id_number"],
        "person_id": findings["person_id"],
        "village": findings["village"],
        "place": findings["township"] + "/" + findings["village"],
    }
    for waiver in active:
        hit = findings["rule"] == aliases.get(waiver.rule, waiver.rule)
        key = waiver.key.upper() if len(waiver.key) == 18 else waiver.key
        hit &= pd.concat([(c == key) & (c != "") for c in candidates.values()], axis=1).any(axis=1)
        hit &= waived == ""
        if not hit.any():
            unmatched.append(waiver)
            continue
        waived[hit] = f"{waiver.reason}（{waiver.approved_by} 批准，至 {waiver.expires.isoformat()}）"
    mask = (waived != "").to_numpy()
    waived_frame = findings[mask].assign(waiver=waived[mask]).reset_index(drop=True)
    return WaiverOutcome(findings[~mask].reset_index(drop=True), waived_frame, expired, unmatched)
