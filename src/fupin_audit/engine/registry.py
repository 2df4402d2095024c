"""The rule registry: built-in packs and plug-ins arrive the same way, and codes are unique."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Iterable
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from fupin_audit.engine.rule import Rule
from fupin_audit.errors import ConfigError

ENTRY_POINT_GROUP = "fupin_audit.rules"


class Registry:
    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        self._origin: dict[str, str] = {}
        self._aliases: dict[str, str] = {}  # a renamed rule's former code → its code

    def add(self, rule: Rule, origin: str) -> None:
        """Register a rule; its code and every alias must be new among all codes and aliases."""
        names = (rule.code, *rule.aliases)
        for i, name in enumerate(names):
            if not name.strip():
                raise ConfigError(f"规则 {rule.code}（{origin}）：别名不能为空")
            if name in names[:i]:
                raise ConfigError(f"规则 {rule.code}（{origin}）：别名 {name} 与它的编号或另一个别名重复")
            owner = self._rules.get(name) or self._rules.get(self._aliases.get(name, ""))
            if owner is not None:
                what = "编号" if name == owner.code else f"规则 {owner.code} 的别名"
                raise ConfigError(
                    f"规则编号 {name} 重复：{origin} 的规则 {rule.code} 用了它，"
                    f"它已是 {self._origin[owner.code]} 中的{what}"
                )
        self._rules[rule.code] = rule
        self._origin[rule.code] = origin
        self._aliases.update(dict.fromkeys(rule.aliases, rule.code))

    def add_all(self, rules: Iterable[Rule], origin: str) -> None:
        for item in rules:
            self.add(item, origin)

    def load_module(self, module: ModuleType, origin: str | None = None) -> None:
        """Register every Rule defined at module level (the decorated functions)."""
        found = [value for value in vars(module).values() if isinstance(value, Rule)]
        self.add_all(sorted(found, key=lambda r: r.code), origin or module.__name__)

    def load_entry_points(self) -> None:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                loaded = ep.load()
            except Exception as exc:
                raise ConfigError(
                    f"规则包 {ep.name}（{ep.value}）加载失败：{type(exc).__name__}: {exc}"
                ) from exc
            if isinstance(loaded, ModuleType):
                self.load_module(loaded, f"{ep.value}")
            elif isinstance(loaded, Rule):
                self.add(loaded, ep.value)
            else:
                self.add_all(loaded, ep.value)

    def load_path(self, path: Path) -> None:
        """Load the rules the user named: a .py module, a .toml file of declarative rules, or a folder
        of both (sorted by name; in a folder, a .toml without [[rule]] tables, e.g. a --config
        override, is left alone)."""
        from fupin_audit.engine.declarative import load_rule_file

        if not path.exists():
            raise ConfigError(f"{path}: 规则文件不存在")
        folder = path.is_dir()
        if folder:
            files = sorted(p for p in path.iterdir() if p.suffix in (".py", ".toml") and p.is_file())
        else:
            files = [path]
        for file in files:
            if file.suffix == ".py":
                self.load_module(_import_file(file), str(file))
            elif file.suffix == ".toml":
                self.add_all(load_rule_file(file, in_folder=folder), str(file))
            else:
                raise ConfigError(f"{file}: 规则文件须为 .py（Python 规则模块）或 .toml（声明式规则）")

    def get(self, code: str) -> Rule:
        """The rule with this code or former code (alias)."""
        try:
            return self._rules[self.current_code(code)]
        except KeyError:
            raise ConfigError(f"没有规则 {code}（fupin-audit rules 列出全部规则）") from None

    def current_code(self, code: str) -> str:
        """The code a rule has now: an alias becomes its rule's code; any other text is upper-cased."""
        code = code.strip().upper()
        return self._aliases.get(code, code)

    def alias_of(self, code: str) -> str | None:
        """The rule's current code when `code` is a former one (an alias), else None."""
        return self._aliases.get(code.strip().upper())

    def aliases(self) -> dict[str, str]:
        """Every alias → its rule's current code."""
        return dict(self._aliases)

    def origin(self, code: str) -> str:
        return self._origin[code]

    def __iter__(self):
        return iter(sorted(self._rules.values(), key=lambda r: r.code))

    def __contains__(self, code: object) -> bool:
        """Whether a rule has this code or former code."""
        return isinstance(code, str) and self.current_code(code) in self._rules

    def __len__(self) -> int:
        return len(self._rules)

    def select(self, select: Iterable[str] = (), ignore: Iterable[str] = ()) -> list[Rule]:
        """Rules chosen by codes, code prefixes (DQ0), former codes (aliases) or family names; an
        unmatched token is an error."""
        chosen = [r for r in self if not select or any(self._matches(r, t) for t in self._checked(select))]
        dropped = self._checked(ignore)
        return [r for r in chosen if not any(self._matches(r, t) for t in dropped)]

    def _checked(self, tokens: Iterable[str]) -> list[str]:
        tokens = [t.strip() for t in tokens if t.strip()]
        for token in tokens:
            if not any(self._matches(r, token) for r in self):
                raise ConfigError(f"--select/--ignore: {token} 不匹配任何规则编号、前缀或规则族")
        return tokens

    @staticmethod
    def _matches(rule: Rule, token: str) -> bool:
        # A former code selects as it did before the rename, exactly or by prefix, so a saved
        # command line keeps choosing the same rules.
        prefix = token.upper()
        return token == rule.family or any(name.startswith(prefix) for name in (rule.code, *rule.aliases))


def _import_file(file: Path) -> ModuleType:
    name = f"fupin_audit_user_rules.{file.stem}_{abs(hash(str(file.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{file}: 无法加载规则模块")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(f"{file}: 规则模块加载失败：{type(exc).__name__}: {exc}") from exc
    return module


def default_registry(extra: Iterable[Path] = ()) -> Registry:
    registry = Registry()
    registry.load_entry_points()
    for path in extra:
        registry.load_path(path)
    return registry
