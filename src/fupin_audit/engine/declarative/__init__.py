"""Declarative rules: TOML `[[rule]]` tables whose `when` condition is a small expression language.

For auditors who do not write Python. A rule file (`--rules my_rules.toml`) looks like::

    [[rule]]
    code = "XD001"                      # 2–4 capital letters + 3 digits
    title = "脱贫户人均纯收入低于 6000 元"
    table = "households"                # households | members | villages | measures | helpers | rosters
    when = "脱贫状态 == '已脱贫' and 人均纯收入 < 6000"
    message = "人均纯收入 {人均纯收入} 元低于 6000 元"   # optional; {字段} = the row's value
    severity = "warning"                # optional: error | warning (default) | info
    family = "自定义"                    # optional (default 自定义)
    column = "人均纯收入"                 # optional: the field a finding points at
    what = "…"; why = "…"; example = "…"  # optional docs for `fupin-audit explain`

`example` may instead be a table of records that a test runs through the rule (engine.rule.Example)::

    [rule.example]
    text = "已脱贫户人均纯收入 5999 元 → XD001"
    near_miss_text = "人均纯收入 6000 元"
    records = { households = [{ "户编号" = "H1", "脱贫状态" = "已脱贫", "人均纯收入" = 5999 }] }
    near_miss = { households = { 0 = { "人均纯收入" = 6000 } } }

Any other key is an error naming the key, the file and the rule's index.

The condition is tokenised (lexer.py) and parsed by a recursive-descent parser (parser.py, into the
tree of nodes.py); it is never handed to Python's `eval`, `compile`, `ast` or to
`DataFrame.eval/query`. The tree is type-checked against the table's schema when the file is loaded,
then compiled to vectorised pandas operations (compiler.py, over the typed columns of values.py).
Message templates are template.py; rule files and Rule objects are loader.py. Each module imports
only those before it: errors, lexer, nodes, parser, values, compiler, template, loader. Grammar
(lowest precedence first)::

    expr       := or
    or         := and (("or" | "或") and)*
    and        := not (("and" | "且") not)*
    not        := ("not" | "非") not | comparison
    comparison := sum [("==" | "!=" | "<" | "<=" | ">" | ">=") sum | ["not"] "in" list]
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := number | string | boolean | field | function "(" expr ("," expr)* ")" | "(" expr ")"
    list       := "[" literal ("," literal)* [","] "]"       literal := ["-"] number | string | boolean

Numbers are `6000`, `0.5`, `.5` (no exponent, no unit); strings are quoted with '…', "…", ‘…’ or “…”
(no escapes); booleans are true/false or 是/否; fields are the canonical field names of the rule's
table (`fupin-audit schema TABLE`). Keywords and/or/not/in/true/false are case-insensitive; 且/或/非
must stand apart (`a 且 b`). Full-width punctuation (（）＞＝，) is read as its ASCII form, and ≤ ≥ ≠
as <= >= !=. Comparisons do not chain (`a < b < c` is an error).

Functions (the whole whitelist): `isnull(x)` / `notnull(x)` — the value is empty / not empty;
`year(日期)` — the year of a date, as a number; `len(文本)` — number of characters;
`contains(文本, '字')` — the text contains the literal (for a multi-valued code such as 健康状况,
whether one of its codes is it).

Types: fields are 数值 (money, numbers, integers, years), 文本 (text, codes, ID numbers, phones),
是/否 (yes/no fields) or 日期. Arithmetic is on numbers; 日期 − 日期 gives days. `<`, `>`… compare
numbers or dates. A quoted literal compared with a code field must be a label of its code list
(aliases and numeric codes are translated: '脱贫' → '已脱贫'); compared with a yes/no field it is
'是'/'否'; compared with a date field it is a date ('2017-06-30'). The whole condition must be 是/否.

Missing values: a comparison, arithmetic or `in` involving an empty value is *unknown*; and/or/not
follow three-valued logic (unknown and false = false; unknown or true = true; not unknown = unknown)
and a row is reported only when the condition is certainly true. So `人均纯收入 < 6000` never flags
an empty income, and neither does `not (人均纯收入 >= 6000)`; test emptiness with `isnull()`.
Division by zero gives an empty value.

Limits: a condition has at most 2000 characters, 500 tokens and 50 levels of nesting (brackets,
function calls, not, unary minus). Every rejection names the 1-based character position and the
offending token, e.g. `rules.toml 规则 #2 (XD002) when 第 14 个字符 “.”：不允许属性访问`.
"""

from fupin_audit.engine.declarative.compiler import compile_condition
from fupin_audit.engine.declarative.errors import DeclarativeRuleError, ExpressionError
from fupin_audit.engine.declarative.loader import RuleSpec, declared_rule, load_rule_file
from fupin_audit.engine.declarative.nodes import Arithmetic, Logic, Unary
from fupin_audit.engine.declarative.parser import MAX_CHARS, parse_condition
from fupin_audit.engine.declarative.template import parse_template

__all__ = [
    "MAX_CHARS",
    "Arithmetic",
    "DeclarativeRuleError",
    "ExpressionError",
    "Logic",
    "RuleSpec",
    "Unary",
    "compile_condition",
    "declared_rule",
    "load_rule_file",
    "parse_condition",
    "parse_template",
]
