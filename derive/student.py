"""Reading a derivation as a student writes it: Markdown, LaTeX or plain SymPy-syntax text.

The reader only finds the rows and where they stand in the file; it does not parse mathematics
(``derive.check_steps`` does, through the safe parser). Three formats:

* **markdown**: display lines ``$$ … $$`` or ``$ … $`` on a line of their own, and ``$$``
  blocks over several lines (one row per line, or per ``\\\\`` when the block has any).
  Prose and fenced code are skipped.
* **latex**: the bodies of ``align``, ``align*``, ``equation``, ``aligned``, ``gather`` and
  ``\\[ … \\]``, rows split by ``\\\\``, ``&`` dropped (so ``&= …`` continues the row before).
* **plain**: one row per line in SymPy syntax; ``#`` starts a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .errors import said

FORMATS = ("markdown", "latex", "plain")

_EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".tex": "latex", ".latex": "latex",
               ".txt": "plain", ".py": "plain"}

# What students type in Unicode, in each syntax; anything else non-ASCII is refused by the parser.
_UNICODE = {"−": ("-", "-"), "·": (r"\cdot ", "*"), "×": (r"\times ", "*"), "′": ("'", "'"),
            "σ": (r"\sigma ", "sigma"), "ŷ": (r"\hat{y}", "yhat"), "∂": (r"\partial ", "d"),
            "θ": (r"\theta ", "theta"), "η": (r"\eta ", "eta"), "α": (r"\alpha ", "alpha")}

_ENVIRONMENTS = ("align", "align*", "equation", "equation*", "aligned", "gather", "gather*",
                 "split", "eqnarray", "eqnarray*")
_BEGIN = re.compile(r"\\begin\{(" + "|".join(re.escape(e) for e in _ENVIRONMENTS) + r")\}")
# Annotations beside a row: spacing, tags, labels, and a \quad \text{(…)} comment.
_DROP = re.compile(r"\\(?:label|tag)\{[^{}]*\}|\\(?:nonumber|notag|displaystyle)\b"
                   r"|\\q?quad\b.*$|\\[,;!:]|\\ ")

_LEADING = re.compile(r"^(?:\\(?:Rightarrow|implies|therefore|Longrightarrow)\s*)+")


@dataclass(frozen=True)
class Row:
    """One row of a student's derivation.

    Attributes
    ----------
    line, column : int
        1-based position in the file where the row's text begins.
    text : str
        The row without delimiters, alignment marks or annotations.
    syntax : {"latex", "plain"}
        How its expressions are written.
    """

    line: int
    column: int
    text: str
    syntax: str


class _Source:
    """Text with the (line, column) of every character, so pieces cut out keep their place."""

    def __init__(self, chars: str = "", places: list | None = None):
        self.chars = chars
        self.places = places or []

    @classmethod
    def of_line(cls, text: str, line: int, start: int = 0) -> "_Source":
        return cls(text, [(line, start + i + 1) for i in range(len(text))])

    def __add__(self, other: "_Source") -> "_Source":
        return _Source(self.chars + other.chars, self.places + other.places)

    def cut(self, start: int, end: int) -> "_Source":
        return _Source(self.chars[start:end], self.places[start:end])

    def split(self, separator: str) -> list["_Source"]:
        parts, start = [], 0
        for match in re.finditer(re.escape(separator), self.chars):
            parts.append(self.cut(start, match.start()))
            start = match.end()
        parts.append(self.cut(start, len(self.chars)))
        return parts


def detect_format(name: str, text: str) -> str:
    """The format of a file, from its extension or (for ``-`` and others) its content."""
    kind = _EXTENSIONS.get(Path(name).suffix.lower())
    if kind:
        return kind
    if "\\begin{" in text or "\\[" in text:
        return "latex"
    return "markdown" if "$" in text else "plain"


def _normalize(text: str, syntax: str) -> str:
    index = 0 if syntax == "latex" else 1
    for char, forms in _UNICODE.items():
        text = text.replace(char, forms[index])
    return text


def _check_braces(source: _Source, name: str) -> None:
    opened = []
    for i, ch in enumerate(source.chars):
        if ch == "{" and not source.chars[max(i - 1, 0):i] == "\\":
            opened.append(i)
        elif ch == "}" and not source.chars[max(i - 1, 0):i] == "\\":
            if not opened:
                line, column = source.places[i]
                raise said(f"{name}:{line}:{column}: unbalanced braces: '}}' closes "
                           f"nothing (expected a '{{' before it)",
                           f"{name}:{line}:{column}：花括号不配对：这个 '}}' 前面没有 '{{'")
            opened.pop()
    if opened:
        line, column = source.places[opened[-1]]
        raise said(f"{name}:{line}:{column}: unbalanced braces: this '{{' is never closed "
                   f"(expected a '}}')", f"{name}:{line}:{column}：花括号不配对：这个 '{{' 没有闭合（缺少 '}}'）")


def _rows_of_block(block: _Source, name: str, by_line: bool) -> list[Row]:
    """Rows of one math block: split at ``\\\\`` (or at line ends when ``by_line``)."""
    _check_braces(block, name)
    pieces = block.split("\\\\") if "\\\\" in block.chars or not by_line else block.split("\n")
    rows = []
    for piece in pieces:
        text = re.sub(r"\\(?:begin|end)\{[a-z*]+\}(?:\{[^{}]*\})?", lambda m: " " * len(m.group()),
                      piece.chars)
        text = _DROP.sub(lambda m: " " * len(m.group()), text.replace("\n", " "))
        text = text.replace("&", " ")
        # a leading "⇒" or "∴" joins the row to the one before; it is not part of the formula
        stripped = _LEADING.sub("", text.strip().rstrip(",.;").strip())
        if not stripped:
            continue
        line, column = piece.places[len(text) - len(text.lstrip())]
        rows.append(Row(line, column, _normalize(stripped, "latex"), "latex"))
    return rows


def _markdown_rows(lines: list[str], name: str) -> list[Row]:
    rows: list[Row] = []
    block: _Source | None = None
    closing = ""
    fenced = False
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        lead = len(raw) - len(raw.lstrip())
        if stripped.startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            continue
        if block is not None:
            if stripped.endswith(closing):
                block = block + _Source.of_line(raw[: raw.rstrip().rfind(closing)], number)
                rows += _rows_of_block(block, name, by_line=True)
                block = None
            else:
                block = block + _Source.of_line(raw + "\n", number)
            continue
        environment = _BEGIN.match(stripped)
        openers = (("$$", "$$"), ("\\[", "\\]"), ("$", "$"))
        if environment:
            # an align environment straight in the Markdown, as some renderers allow
            openers = ((environment.group(), f"\\end{{{environment.group(1)}}}"),)
        for opener, closer in openers:
            if not stripped.startswith(opener):
                continue
            body = stripped[len(opener):]
            if body.endswith(closer) and body[: -len(closer)].strip():
                inner = body[: -len(closer)]
                if opener == "$" and "$" in inner:
                    break  # prose with inline math: "$x$ and $y$"
                rows += _rows_of_block(_Source.of_line(inner, number, lead + len(opener)), name,
                                       by_line=True)
            elif opener != "$" and (not body or not body.endswith(closer)):
                block = _Source.of_line(body + "\n", number, lead + len(opener))
                closing = closer
            break
    if block is not None:
        line, column = block.places[0] if block.places else (len(lines), 1)
        raise said(f"{name}:{line}:{column}: a math block is never closed (expected {closing})",
                   f"{name}:{line}:{column}：公式块没有闭合（缺少 {closing}）")
    return rows


def _latex_rows(lines: list[str], name: str) -> list[Row]:
    source = _Source()
    for number, raw in enumerate(lines, 1):
        # a % that is not \% starts a comment
        text = re.sub(r"(?<!\\)%.*", "", raw)
        source = source + _Source.of_line(text + "\n", number)
    rows: list[Row] = []
    at = 0
    chars = source.chars
    while True:
        begin = _BEGIN.search(chars, at)
        display = re.compile(r"\\\[|\$\$").search(chars, at)
        if begin is None and display is None:
            break
        if begin is not None and (display is None or begin.start() < display.start()):
            end_tag = f"\\end{{{begin.group(1)}}}"
            end = chars.find(end_tag, begin.end())
            closer_length = len(end_tag)
        else:
            begin = display
            end_tag = "\\]" if display.group() == "\\[" else "$$"
            end = chars.find(end_tag, display.end())
            closer_length = 2
        if end < 0:
            line, column = source.places[begin.start()]
            raise said(f"{name}:{line}:{column}: {begin.group()} is never closed (expected {end_tag})",
                       f"{name}:{line}:{column}：{begin.group()} 没有闭合（缺少 {end_tag}）")
        rows += _rows_of_block(source.cut(begin.end(), end), name, by_line=False)
        at = end + closer_length
    return rows


def _plain_rows(lines: list[str]) -> list[Row]:
    rows = []
    for number, raw in enumerate(lines, 1):
        text = raw.split("#", 1)[0]
        if text.strip():
            column = len(text) - len(text.lstrip()) + 1
            rows.append(Row(number, column, _normalize(text.strip(), "plain"), "plain"))
    return rows


def _place(data: bytes, offset: int) -> tuple[int, int]:
    return data[:offset].count(b"\n") + 1, offset - data.rfind(b"\n", 0, offset)


def read_text(data: bytes, name: str, kind: str | None = None) -> tuple[str, str]:
    """Decode a file's bytes as text; return (text, format).

    Raises
    ------
    DeriveError
        ``name:line:column: …`` when the bytes are not UTF-8 text, or the file is empty.
    """
    if b"\0" in data:
        offset = data.index(b"\0")
        line, column = _place(data, offset)
        raise said(f"{name}:{line}:{column}: not a text file (a NUL byte; expected UTF-8 text)",
                   f"{name}:{line}:{column}：不是文本文件（有 NUL 字节；应为 UTF-8 文本）")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line, column = _place(data, err.start)
        raise said(f"{name}:{line}:{column}: not UTF-8 text (expected a text file)",
                   f"{name}:{line}:{column}：不是 UTF-8 文本（应为文本文件）") from None
    if not text.strip():
        raise said(f"{name}:1:1: empty file (expected a derivation, one row per line)",
                   f"{name}:1:1：文件是空的（应为一段推导，每行一步）")
    return text, kind or detect_format(name, text)


_SHAPES = re.compile(r"^\s*(?:%|#|<!--)\s*shapes\s*:\s*(.*?)\s*(?:-->)?\s*$", re.M)


def read_shapes(text: str) -> list[str]:
    """The shapes a file declares, ``["X=m,n", "w=n"]``, from its ``shapes:`` comment line
    (``% shapes: …`` in LaTeX, ``# shapes: …`` in plain text, ``<!-- shapes: … -->`` in
    Markdown); empty when it declares none.

    >>> read_shapes("<!-- shapes: X=m,n w=n -->\\n$$L = sum(X @ w)$$")
    ['X=m,n', 'w=n']
    """
    return [item for m in _SHAPES.finditer(text) for item in re.split(r"[\s;]+", m.group(1))
            if item]


def read_rows(text: str, kind: str, name: str = "<text>") -> list[Row]:
    """The rows of a derivation written in ``kind`` ("markdown", "latex" or "plain").

    Examples
    --------
    >>> [r.text for r in read_rows("$$dz = a - y$$", "markdown")]
    ['dz = a - y']
    >>> [(r.line, r.text) for r in read_rows("L = a**2\\n= a*a", "plain")]
    [(1, 'L = a**2'), (2, '= a*a')]
    """
    if kind not in FORMATS:
        raise said(f"unknown format {kind!r}; formats: {', '.join(FORMATS)}",
                   f"未知格式 {kind!r}；可用格式：{', '.join(FORMATS)}")
    lines = text.splitlines()
    if kind == "markdown":
        rows = _markdown_rows(lines, name)
    elif kind == "latex":
        rows = _latex_rows(lines, name)
    else:
        rows = _plain_rows(lines)
    if not rows:
        where = {"markdown": "no $$ … $$ display line", "latex": "no align or equation "
                 "environment", "plain": "no row"}[kind]
        where_zh = {"markdown": "没有 $$ ⋯ $$ 公式行", "latex": "没有 `align` 或 `equation` 环境",
                    "plain": "没有任何一行"}[kind]
        raise said(f"{name}:1:1: {where} found (expected a derivation)",
                   f"{name}:1:1：{where_zh}（应为一段推导）")
    return rows
