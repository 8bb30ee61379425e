"""click's usage errors in Chinese, for a command line that asks for ``--lang zh``.

click reports a bad command line before any command runs, so ``--lang`` itself is not parsed
yet: ``derive.cli.app`` reads it from the raw arguments and, when it says ``zh``, gives click's
one-line message to ``chinese`` here. The English line is click's own, unchanged; this module
only reads it. Each pattern matches one of click's message templates (click 8); a message no
pattern knows stays English (``chinese`` returns None), so a click upgrade can make a line
English again but never wrong.
"""

from __future__ import annotations

import re

# The arguments' metavars as click prints them, said as the notes would.
ARGUMENTS = {"NAME": "模型名", "EXPRESSION": "表达式", "FILE...": "文件", "PATHS...": "文件"}

# click's templates: (pattern of the English line, the Chinese with the same fields)
_WHOLE = [
    (r"No such option (?P<o>'[^']*')\. Did you mean (?P<p>'[^']*')\?", "没有选项 {o}，是不是要用 {p}？"),
    (r"No such option (?P<o>'[^']*')\. \(Did you mean one of: (?P<p>.*)\?\)", "没有选项 {o}（是不是要用 {p} 之一？）"),
    (r"No such option (?P<o>'[^']*')\.", "没有选项 {o}"),
    (r"No such command (?P<o>'[^']*')\. Did you mean (?P<p>'[^']*')\?", "没有命令 {o}，是不是要用 {p}？"),
    (r"No such command (?P<o>'[^']*')\. \(Did you mean one of: (?P<p>.*)\?\)", "没有命令 {o}（是不是要用 {p} 之一？）"),
    (r"No such command (?P<o>'[^']*')\.", "没有命令 {o}"),
    (r"Missing command\.", "缺少子命令"),
    (r"Option (?P<o>'[^']*') requires an argument\.", "选项 {o} 后面要给一个值"),
    (r"Option (?P<o>'[^']*') requires (?P<n>\d+) arguments\.", "选项 {o} 后面要给 {n} 个值"),
    (r"Option (?P<o>'[^']*') does not take a value\.", "选项 {o} 不带值"),
    (r"Got unexpected extra arguments? \((?P<a>.*)\)", "多余的参数（{a}）"),
    (r"Missing argument (?P<a>'[^']*')\.", "缺少参数 {a}"),
    (r"Missing option (?P<o>'[^']*')\.", "缺少选项 {o}"),
]

# The reason inside "Invalid value for X: reason" (click's parameter types)
_REASONS = [
    (r"(?P<v>.*) is not one of (?P<c>.*)\.", "{v} 不是 {c} 之一"),
    (r"(?P<v>.*) is not (?P<c>'[^']*')\.", "{v} 不是 {c}"),
    (r"(?P<v>.*) is not a valid integer\.", "{v} 不是整数"),
    (r"(?P<v>.*) is not a valid float\.", "{v} 不是数"),
    (r"(?P<v>.*) is not in the range (?P<r>.*)\.", "{v} 不在范围 {r} 内"),
    (r"(?:File|Directory|Path) (?P<v>'.*') does not exist\.", "{v} 不存在"),
    (r"(?:File|Directory|Path) (?P<v>'.*') is a directory\.", "{v} 是文件夹，不是文件"),
    (r"(?:File|Directory|Path) (?P<v>'.*') is a file\.", "{v} 是文件，不是文件夹"),
]


def _fields(match: re.Match) -> dict:
    fields = match.groupdict()
    if "a" in fields and fields["a"].strip("'") in ARGUMENTS:
        fields["a"] = f"{fields['a']}（{ARGUMENTS[fields['a'].strip(chr(39))]}）"
    return fields


def _first(rules, text: str) -> str | None:
    for pattern, chinese in rules:
        match = re.fullmatch(pattern, text, flags=re.DOTALL)
        if match:
            return chinese.format(**_fields(match))
    return None


def chinese(english: str) -> str | None:
    """click's one-line usage error ``english`` in Chinese, or None for a message no pattern
    knows (it is then printed in English)."""
    said = _first(_WHOLE, english)
    if said is not None:
        return said
    invalid = re.fullmatch(r"Invalid value for (?P<p>.+?): (?P<why>.*)", english, flags=re.DOTALL)
    if invalid:
        why = _first(_REASONS, invalid["why"])
        return None if why is None else f"{invalid['p']} 的值无效：{why}"
    return None
