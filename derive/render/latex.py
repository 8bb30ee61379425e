"""LaTeX view: one ``align*`` block per run of equations, each line tagged with its rule.

The words beside the mathematics come as messages whose formulas are marked (``$a = σ(z)$``) and
written in Unicode (ŷ, σ′(z), a⁽ⁱ⁾, n_x × m); ``formula_tex`` turns a marked formula into LaTeX,
and the words between the marks are only escaped, so that a document compiles with pdflatex
(English) and xelatex + ctex (Chinese) alike. Long right-hand sides are broken at their top-level
+ and − signs (``break_rhs``), and a single term too wide for the page is scaled down, so that no
line runs into the margin. Widths are estimated from the LaTeX source (``math_width``).
"""

from __future__ import annotations

import re
import unicodedata

import sympy as sp

from .. import printing
from ..messages import Msg
from . import Renderer, compose

# A4 with 2 cm margins at 11 pt: 170 mm ≈ 44 em. Equations are laid out to a little less:
# ``math_width`` can fall short of TeX's width by up to ~15 %.
TEXT_WIDTH_EM = 44.0
# A fragment goes into a document derive did not write: the narrowest default ``article``
# (12 pt: a 390 pt line, 32.5 em; 10 pt: 345 pt, 34.5 em).
FRAGMENT_WIDTH_EM = 32.5
_ESTIMATE_MARGIN = 0.85
# A standalone document sets its displays flush left at this indent (amsmath's fleqn).
MATH_INDENT_EM = 1.5
_MIN_SCALE = 0.3   # below this a line is unreadable anyway; no derivation comes close


def preamble(lang: str = "en", *, tikz: bool = False, hyperref: bool = False) -> str:
    """The document preamble: ``article`` for English (pdflatex), ``ctexart`` with the Fandol
    fonts that ship with TeX Live for Chinese (xelatex)."""
    if lang == "zh":
        head = "\\documentclass[11pt,a4paper,fontset=fandol]{ctexart}\n"
    else:
        head = "\\documentclass[11pt,a4paper]{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{lmodern}\n"
    lines = [
        head.rstrip("\n"),
        r"\usepackage[margin=2cm]{geometry}",
        # every display at one indent, not centred: centring moves a block sideways by its width
        # and by how much room its tags need, so blocks of one page started at different places
        r"\usepackage[fleqn]{amsmath}",
        r"\usepackage{amssymb}",
        rf"\setlength{{\mathindent}}{{{MATH_INDENT_EM}em}}",
        r"\usepackage{graphicx}",
        r"\usepackage{booktabs}",
    ]
    if tikz:
        lines += [r"\usepackage{tikz}", r"\usetikzlibrary{arrows.meta}"]
    if hyperref:
        lines.append(r"\usepackage[hidelinks]{hyperref}")
    lines.append(r"\allowdisplaybreaks")
    return "\n".join(lines) + "\n"


def requirements(body: str, lang: str = "en") -> list[str]:
    """The preamble lines that LaTeX ``body`` needs beyond a default ``article``: amsmath and
    amssymb always (``align*``, ``\\text``, ``\\tag*``), and the packages of what it uses —
    graphicx (``\\scalebox``, ``\\resizebox``), booktabs (rules of tables), TikZ with the
    arrows.meta library (``Stealth`` tips), ctex for Chinese words (xelatex)."""
    lines = [r"\usepackage{amsmath,amssymb}"]
    if re.search(r"\\(?:scalebox|resizebox)\b", body):
        lines.append(r"\usepackage{graphicx}")
    if r"\toprule" in body:
        lines.append(r"\usepackage{booktabs}")
    if r"\begin{tikzpicture}" in body:
        lines.append(r"\usepackage{tikz}")
        if "Stealth" in body:
            lines.append(r"\usetikzlibrary{arrows.meta}")
    if lang == "zh" or re.search(r"[\u3000-\u9fff\uff00-\uffef]", body):
        lines.append(r"\usepackage{ctex}")
    return lines


def fragment_comment(body: str, lang: str = "en") -> str:
    """The comment that opens a fragment: what its document's preamble must load."""
    lines = ["% A fragment of LaTeX to paste into a document whose preamble has:"]
    lines += [f"%   {line}" for line in requirements(body, lang)]
    if r"\usepackage{ctex}" in lines[-1]:
        lines.append("% and that is compiled with xelatex (the Chinese words).")
    return "\n".join(lines) + "\n"


# Formulas written in Unicode ---------------------------------------------------------------------

_GREEK_TEX = {ch: "\\" + name for name, ch in printing._GREEK.items() if name not in ("lamda", "Lcal")}
_GREEK_TEX["ℒ"] = r"\mathcal{L}"       # a letter of a formula, as SymPy writes the symbol Lcal
_SYMBOLS = {
    "∂": r"\partial", "∇": r"\nabla", "Σ": r"\sum", "∑": r"\sum", "∏": r"\prod", "×": r"\times",
    "·": r"\cdot", "−": "-", "±": r"\pm", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx",
    "→": r"\to", "←": r"\leftarrow", "⇒": r"\Rightarrow", "∈": r"\in", "∞": r"\infty",
    "⊙": r"\odot", "∘": r"\circ", "√": r"\surd", "⋯": r"\cdots", "…": r"\ldots", "‖": r"\|",
    "∝": r"\propto", "⊤": r"\top", "ℝ": r"\mathbb{R}", "½": r"\tfrac{1}{2}",
    # the all-ones matrix of the matrix-calculus rules
    "𝟏": r"\mathbf{1}",
    # a time step a⟨t⟩ is a superscript, as the course writes a^{<t>}
    "⟨": r"^{\langle", "⟩": r"\rangle}",
}
_FUNCS = {
    "log": r"\log", "exp": r"\exp", "ln": r"\ln", "max": r"\max", "min": r"\min", "tanh": r"\tanh",
    "sin": r"\sin", "cos": r"\cos", "det": r"\det", "ReLU": r"\operatorname{ReLU}",
    "LeakyReLU": r"\operatorname{LeakyReLU}", "softmax": r"\operatorname{softmax}",
    "softplus": r"\operatorname{softplus}", "AND": r"\operatorname{AND}", "OR": r"\operatorname{OR}",
    "NOT": r"\operatorname{NOT}", "lim": r"\lim",
}
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₍₎ᵢⱼₖₘₙₓₜₐₑₒ", "0123456789+-()ijkmnxtaeo"))
_SUP = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁱⁿᵀᵗ", "0123456789+-()inTt"))
_ACCENTS = {"\u0302": "hat", "\u0304": "bar", "\u0303": "tilde", "\u0307": "dot"}
_WIDE = {"hat": "widehat", "tilde": "widetilde", "bar": "overline"}
_PRIMES = {"′": "'", "″": "''"}
_MODS = "".join(_SUB) + "".join(_SUP) + "".join(_ACCENTS) + "".join(_PRIMES)
_GREEK_CH = "".join(ch for ch in _GREEK_TEX if ch != "Σ")   # Σ in a formula is a sum
_OPS = "=+\\-−×·/<>≤≥≠≈→←⇒∈(),\\[\\]^_'|" + "".join(k for k in _SYMBOLS if k not in "×·−≤≥≠≈→←⇒∈")
_TOKEN = re.compile(
    r"(?P<arg>\{\w+\})"
    rf"|(?P<name>(?:[A-Za-z]+|[{_GREEK_CH}])(?:\d+(?![A-Za-z]))?[{_MODS}]*)"
    rf"|(?P<layer>\[(?:\d+|[lL](?:[−+-]1)?)\][{_MODS}]*)"
    rf"|(?P<num>\d+(?:\.\d+)?[{_MODS}]*)"
    rf"|(?P<op>[{_OPS}][{_MODS}]*)"
    r"|(?P<words>[\u3000-\u9fff\uff00-\uffef]+)"
    r"|(?P<space> +)"
    r"|(?P<rest>.)",
    re.S,
)
# Characters LaTeX reads as commands, and how a text writes them.
TEX_SPECIALS = "&%#_{}~^\\"
_NAMED = {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _precompose_accents(s: str) -> str:
    """ŷ (one code point) → y + combining hat, so accents are handled in one place."""
    out = []
    for ch in s:
        d = unicodedata.normalize("NFD", ch)
        out.append(d if len(d) == 2 and d[1] in _ACCENTS and d[0].isascii() else ch)
    return "".join(out)


def _mods_tex(base: str, mods: str) -> str:
    """A base (``y``, ``\\sigma``) with its Unicode marks as LaTeX: ``\\hat{y}``, ``a^{(i)}``."""
    sub, sup, primes = [], [], ""
    for ch in mods:
        if ch in _ACCENTS:
            accent = _ACCENTS[ch]
            if re.fullmatch(r"d[A-Za-z]", base):     # a differential: dŷ is d\hat{y}, not \widehat{dy}
                base = rf"d\{accent}{{{base[1]}}}"
                continue
            if len(base) > 1 and not base.startswith("\\"):      # over a whole name: x̄ₙ → \overline
                accent = _WIDE.get(accent, accent)
            base = rf"\{accent}{{{base}}}"
        elif ch in _SUB:
            sub.append(_SUB[ch])
        elif ch in _SUP:
            sup.append(_SUP[ch])
        else:
            primes += _PRIMES[ch]
    out = base + primes
    if sup:
        out += "^{" + "".join(sup) + "}"
    if sub:
        out += "_{" + "".join(sub) + "}"
    return out


def _name_kind(name: str) -> str:
    """A name in a formula: a function (log, ReLU), a variable (a, σ, x1, dz, kp: one letter, a
    Greek letter, or two lowercase letters) or words (left − right: set upright as text)."""
    letters = re.match(rf"[A-Za-z]+|[{_GREEK_CH}]", name).group()
    if letters in _FUNCS:
        return "func"
    if len(letters) == 1 or (len(letters) == 2 and letters.islower()) or re.fullmatch(r"d[A-Za-z]", letters):
        return "var"
    return "words"


def _atom_tex(kind: str, s: str) -> str:
    if kind in ("arg", "space", "tex"):
        return s
    if kind == "words":
        return rf"\text{{{s}}}"
    if kind == "lit":                                  # an index: r1 is r1, not r₁
        return s if re.fullmatch(r"[A-Za-z0-9]+", s) else _atom_tex("var", s)
    if kind in ("var", "func", "num"):
        m = re.match(rf"([A-Za-z]+|[{_GREEK_CH}]|\d+(?:\.\d+)?)(\d*)([{_MODS}]*)$", s)
        head, digits, mods = m.groups()
        # \d is any Unicode digit: 𝟏 is read as a number and written from _SYMBOLS
        base = _FUNCS.get(head) or _GREEK_TEX.get(head) or _SYMBOLS.get(head) or head
        if digits:
            mods = "".join(dict(zip(_SUB.values(), _SUB))[d] for d in digits) + mods
        return _mods_tex(base, mods)
    if kind == "op":
        return _mods_tex(_SYMBOLS.get(s[0], s[0]), s[1:])
    return escape(s, "&%#{}~")


def _join(pieces) -> str:
    """Concatenate LaTeX pieces, keeping a control word apart from a following letter."""
    out = ""
    for p in pieces:
        if p and out and re.search(r"\\[A-Za-z]+$", out) and p[0].isalpha():
            out += " "
        out += p
    return out


def _group_end(atoms, start: int) -> int:
    """Where the operand that starts at ``atoms[start]`` ends: one atom or a parenthesized group."""
    j, depth = start, 0
    while j < len(atoms):
        depth += atoms[j] == ("op", "(")
        depth -= atoms[j] == ("op", ")")
        j += 1
        if depth <= 0:
            break
    return j


def _unbracketed(group):
    return group[1:-1] if len(group) > 1 and group[0][1] == "(" and group[-1][1] == ")" else group


def _span_tex(atoms) -> str:
    """Atoms of a formula (``a = σ(z)``, ``e^(−z)``, ``n_x × m``) as one piece of LaTeX: ``^`` and
    ``_`` take the next atom or parenthesized group as their script, and ``√`` its radicand
    (a name with its scripts: √d_k is \\sqrt{d_k}, √(2πσ²) is \\sqrt{2\\pi\\sigma^{2}})."""
    out, i = [], 0
    while i < len(atoms):
        kind, s = atoms[i]
        if (kind, s) == ("op", "√") and i + 1 < len(atoms) and atoms[i + 1][0] != "space":
            j = _group_end(atoms, i + 1)
            while j + 1 < len(atoms) and atoms[j] in (("op", "_"), ("op", "^")):
                j = _group_end(atoms, j + 1)
            out.append(r"\sqrt{" + _span_tex(_unbracketed(atoms[i + 1:j])) + "}")
            i = j
            continue
        if kind == "op" and s in "^_" and i + 1 < len(atoms) and out and _has_script(out[-1], s):
            out[-1] = "{" + out[-1] + "}"             # z₂_k: a subscript on a subscripted name
        if kind == "op" and s in "^_" and i + 1 < len(atoms):
            j = _group_end(atoms, i + 1)     # the script: one atom or a parenthesized group
            group = _unbracketed(atoms[i + 1:j])
            inner = [("lit", t) if k == "var" else (k, t) for k, t in group if k != "space"]
            out.append(s + "{" + _span_tex(inner) + "}")
            i = j
            continue
        if kind == "space":
            prev = atoms[i - 1][0] if i else ""
            nxt = atoms[i + 1][0] if i + 1 < len(atoms) else ""
            out.append(r"\," if prev in ("var", "num") and nxt in ("var", "func") else " ")   # n\,b
        else:
            out.append(_atom_tex(kind, s))
        i += 1
    return _join(out).strip()


def _has_script(tex: str, mark: str) -> bool:
    """Whether ``tex`` ends with a ``mark`` (^ or _) script: ``z_{2}``, ``x_1``."""
    if tex.endswith("}"):
        depth = 0
        for i in range(len(tex) - 1, -1, -1):
            depth += (tex[i] == "}") - (tex[i] == "{")
            if depth == 0:
                return i > 0 and tex[i - 1] == mark
        return False
    return len(tex) >= 2 and tex[-2] == mark


def _layer_atoms(atoms: list, s: str) -> list:
    """A layer ``[1]`` (``[l−1]``, with marks: ``[2]ᵀ``, ``[2]⁽ⁱ⁾``) after a name, as the course
    writes it: z[1] → z^{[1]}, W[2]ᵀ → W^{[2]T}, dz[2]⁽ⁱ⁾ → dz^{[2](i)}; the name is taken from
    ``atoms``. Anywhere else (d/dx[1], not after a name) the brackets stay as they are."""
    body, mods = s[: s.index("]") + 1], s[s.index("]") + 1:]
    inner = body[1:-1].replace("−", "-")
    after_name = atoms and atoms[-1][0] in ("var", "words") and (len(atoms) < 2 or atoms[-2] != ("op", "/"))
    if not after_name:
        return [("op", "["), ("num" if inner.isdigit() else "rest", inner), ("op", "]" + mods)]
    kind, name = atoms.pop()
    # a prime joins the layer in one superscript (g^{[1]\prime}): g^{[1]}' is a double superscript
    primes = "".join(r"\prime" * len(_PRIMES[c]) for c in mods if c in _PRIMES)
    sup = "[" + inner + "]" + primes + "".join(_SUP[c] for c in mods if c in _SUP)
    sub = "".join(_SUB[c] for c in mods if c in _SUB)
    return [("tex", f"{_atom_tex(kind, name)}^{{{sup}}}" + (f"_{{{sub}}}" if sub else ""))]


def formula_tex(source: str, values: dict | None = None) -> str:
    r"""A formula written in Unicode (``a = σ(z)``, ``e^(−z)``, ``n_x × m``, ``a⁽ⁱ⁾``) as LaTeX;
    a ``{name}`` field is the LaTeX ``values[name]`` (a tuple: its items joined by commas).

    >>> print(formula_tex("J = (1/m) Σ L(a⁽ⁱ⁾, y⁽ⁱ⁾)"))
    J = (1/m) \sum L(a^{(i)}, y^{(i)})
    >>> print(formula_tex("∂L/∂{v} = 0", {"v": "w_{1}"}))
    \partial L/\partial w_{1} = 0
    """
    values = values or {}
    atoms = []
    for m in _TOKEN.finditer(_precompose_accents(source)):
        kind, s = m.lastgroup, m.group()
        if kind == "name":
            kind = _name_kind(s)
            if kind == "words" and atoms and atoms[-1] in (("op", "_"), ("op", "^")):
                kind = "var"                           # w_iJ: what follows _ is an index
        elif kind == "layer":
            atoms.extend(_layer_atoms(atoms, s))
            continue
        elif kind == "arg" and s[1:-1] not in values:
            kind = "rest"                              # {0, 1}: braces, not an argument
        elif kind == "arg":
            value = values[s[1:-1]]
            s = ", ".join(value) if isinstance(value, tuple) else value
        atoms.append((kind, s))
    return _span_tex(atoms)


def unicode_math(tex: str) -> str:
    """Mathematics with any Unicode the printers let through (a symbol named ``σ`` or
    ``f(2.001) − f(2)``) written as LaTeX commands."""
    if tex.isascii():
        return tex
    out: list[str] = []
    for ch in _precompose_accents(tex):
        if ch in _ACCENTS and out:
            out.append(rf"\{_ACCENTS[ch]}{{{out.pop()}}}")
        elif ch in _GREEK_TEX or ch in _SYMBOLS:
            out.append((_GREEK_TEX.get(ch) or _SYMBOLS[ch]) + (" " if ch not in "−" else ""))
        elif ch in _SUB:
            out.append("_{" + _SUB[ch] + "}")
        elif ch in _SUP:
            out.append("^{" + _SUP[ch] + "}")
        elif ch in _PRIMES:
            out.append(_PRIMES[ch])
        else:
            out.append(ch)
    return "".join(out)


def escape(text: str, specials: str = TEX_SPECIALS) -> str:
    """Words for LaTeX: each of ``specials`` written so that it prints as itself."""
    return "".join(_NAMED.get(ch, "\\" + ch) if ch in specials else ch for ch in text)


def latex_words(msg: Msg, lang: str, values: dict | None = None, specials: str = TEX_SPECIALS) -> str:
    """``msg`` as LaTeX: its words escaped, each marked formula as ``$…$`` (``formula_tex``), each
    argument outside a formula as a formula of its own; ``values`` are the arguments in LaTeX."""
    return compose(msg, lang, values or {}, lambda s: _code(escape(s, specials)),
                   lambda source, v: f"${formula_tex(source, v)}$")


def _code(words: str) -> str:
    """A command the words quote in backticks, `derive expr`, set in typewriter type: LaTeX
    would print the backticks as two opening quotes."""
    return re.sub(r"`([^`]+)`", r"\\texttt{\1}", words)


# Widths and line breaking ------------------------------------------------------------------------

_CMD = re.compile(r"\\([A-Za-z]+|.)")
_NAMED_WIDTH = {
    "partial": 0.6, "sum": 1.45, "circ": 1.22, "pm": 1.22, "prod": 1.3, "cdot": 0.78, "times": 0.78, "odot": 0.78,
    "left": 0.0, "right": 0.0, "quad": 1.0, "qquad": 2.0, ",": 0.17, ";": 0.28, ":": 0.22,
    "!": -0.17, " ": 0.33, "infty": 1.0, "le": 1.33, "ge": 1.33, "ne": 1.33, "approx": 1.33,
    "to": 1.5, "in": 1.0, "nabla": 0.85, "{": 0.5, "}": 0.5, "|": 0.5, "max": 1.9, "min": 1.75,
    "log": 1.5, "exp": 1.6, "ln": 1.1, "tanh": 2.1, "sin": 1.4, "cos": 1.4, "lim": 1.4,
    "ldots": 1.2, "cdots": 1.2, "dots": 1.2, "mid": 0.6, "top": 0.8, "Sigma": 0.72,
}
_OPERATORS = {"+": 1.22, "-": 1.22, "=": 1.33, "<": 1.33, ">": 1.33, ",": 0.45, "(": 0.39,
              ")": 0.39, "[": 0.3, "]": 0.3, "|": 0.3, "/": 0.5, "'": 0.3, ".": 0.28, "!": 0.3}


def _group(tex: str, i: int) -> tuple[str, int]:
    """The argument starting at ``tex[i]`` (a {group}, a command or one character) and the index
    after it."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] == "{":
        depth = 0
        for j in range(i, len(tex)):
            if tex[j] == "\\":
                continue
            if tex[j] == "{" and (j == 0 or tex[j - 1] != "\\"):
                depth += 1
            elif tex[j] == "}" and tex[j - 1] != "\\":
                depth -= 1
                if depth == 0:
                    return tex[i + 1:j], j + 1
        return tex[i + 1:], len(tex)
    m = _CMD.match(tex, i)
    if m:
        return m.group(0), m.end()
    return tex[i], i + 1


def math_width(tex: str, scale: float = 1.0) -> float:
    """Estimated width, in em of the body font, of ``tex`` typeset in display style.

    Not TeX's answer, but close enough (within ~10 % on the derivations' lines) to decide where a
    line must be broken."""
    w, i = 0.0, 0
    while i < len(tex):
        ch = tex[i]
        if ch in " &\n":
            i += 1
        elif ch == "\\":
            m = _CMD.match(tex, i)
            name, i = m.group(1), m.end()
            if name in ("frac", "dfrac", "tfrac", "binom"):
                a, i = _group(tex, i)
                b, i = _group(tex, i)
                inner = 1.0 if scale == 1.0 else 0.8 * scale
                w += max(math_width(a, inner), math_width(b, inner)) + (0.9 if name == "binom" else 0.3) * scale
            elif name in ("text", "mathrm", "operatorname", "textbf", "mathbf", "mathit", "textrm"):
                a, i = _group(tex, i)
                w += (len(a) * 0.5 if name.startswith("text") or name == "mathrm" else math_width(a, scale)) * scale
                if name == "operatorname":
                    w += 0.17 * scale
            elif name in ("hat", "bar", "tilde", "widehat", "widetilde", "dot", "vec", "overline", "mathbb"):
                a, i = _group(tex, i)
                w += math_width(a, scale)
            elif name == "sqrt":
                a, i = _group(tex, i)
                w += math_width(a, scale) + 0.9 * scale
            elif name in ("scalebox",):
                f, i = _group(tex, i)
                a, i = _group(tex, i)
                w += math_width(a.strip("$").replace("\\displaystyle", ""), scale) * float(f)
            elif name == "begin":
                kind, i = _group(tex, i)
                end = tex.find(rf"\end{{{kind}}}", i)
                end = len(tex) if end < 0 else end
                w += _array_width(tex[i:end], scale)
                i = min(len(tex), end + len(rf"\end{{{kind}}}"))
            elif name in ("displaystyle", "textstyle", "notag", "nonumber", "limits"):
                pass
            elif name in ("sum", "prod") and tex[i:].lstrip()[:1] in ("_", "^") and scale == 1.0:
                # display-style limits sit above and below the sign
                lim = 0.0
                for _ in range(2):
                    rest = tex[i:].lstrip()
                    if rest[:1] not in ("_", "^"):
                        break
                    a, i = _group(tex, len(tex) - len(rest) + 1)
                    lim = max(lim, math_width(a, 0.7))
                w += max(_NAMED_WIDTH[name], lim) + 0.17
            else:
                w += _NAMED_WIDTH.get(name, 0.65) * scale
        elif ch in "^_":
            a, i = _group(tex, i + 1)
            sw = math_width(a, scale * 0.7)
            # a superscript and a subscript on one base share their width
            j = i
            while j < len(tex) and tex[j] == " ":
                j += 1
            if j < len(tex) and tex[j] in "^_" and tex[j] != ch:
                b, i = _group(tex, j + 1)
                sw = max(sw, math_width(b, scale * 0.7))
            w += sw
        elif ch == "{" or ch == "}":
            i += 1
        else:
            base = 0.72 if ch.isupper() else 0.52
            w += _OPERATORS.get(ch, base) * (scale if ch not in "+-=<>" or scale == 1.0 else scale * 0.6)
            i += 1
    return w


def _array_width(body: str, scale: float) -> float:
    """The width of a matrix's (or an array's) ``body``: its columns side by side, each as wide as
    its widest entry, 1 em apart (``\\arraycolsep`` on both sides)."""
    widths: list[float] = []
    for row in _top_level_split(body, "\\\\"):
        for k, cell in enumerate(_top_level_split(row, "&")):
            cell_w = math_width(cell, scale)
            if k < len(widths):
                widths[k] = max(widths[k], cell_w)
            else:
                widths.append(cell_w)
    return sum(widths) + 1.0 * scale * max(len(widths) - 1, 0)


def _top_level_split(tex: str, sep: str) -> list[str]:
    """``tex`` split at ``sep`` outside braces and nested environments."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        if tex.startswith(sep, i) and depth == 0:
            parts.append(tex[start:i])
            i += len(sep)
            start = i
            continue
        if tex.startswith("\\\\", i):
            i += 2
            continue
        if tex.startswith("\\begin", i) or tex[i] == "{" and (i == 0 or tex[i - 1] != "\\"):
            depth += 1
        elif tex.startswith("\\end", i) or tex[i] == "}" and (i == 0 or tex[i - 1] != "\\"):
            depth -= 1
        i += 1
    parts.append(tex[start:])
    return parts


def split_terms(tex: str) -> list[str]:
    """The top-level terms of a printed sum, each with its sign: ``a + b - c`` → ``["a", "+ b",
    "- c"]``. Signs inside braces, parentheses or ``\\left…\\right`` are not split points."""
    terms, depth, start, i = [], 0, 0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = _CMD.match(tex, i)
            name = m.group(1)
            if name == "left":
                depth += 1
            elif name == "right":
                depth -= 1
            i = m.end()
            if name in ("left", "right") and i < len(tex):
                if tex[i] == "\\":
                    i = _CMD.match(tex, i).end()
                else:
                    i += 1
            continue
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch in "+-" and depth == 0 and i > 0 and tex[i - 1] == " " and tex[i + 1:i + 2] == " ":
            if tex[start:i].strip():
                terms.append(tex[start:i].strip())
                start = i
        i += 1
    terms.append(tex[start:].strip())
    return [t for t in terms if t]


def inline_breakable(tex: str) -> str:
    """``tex`` for a formula inside a sentence: each ``\\left( … \\right)`` outside braces written
    with plain parentheses. TeX (and KaTeX) break an inline formula only after a sign at its top
    level, and ``\\left…\\right`` makes one unbreakable box: the mean ``\\frac{1}{m} (… − …)`` of a
    long sum could then not wrap in a narrow column or on a phone's screen."""
    out, depth, i = [], 0, 0
    while i < len(tex):
        m = _CMD.match(tex, i) if tex[i] == "\\" else None
        if m and depth == 0 and m.group(1) in ("left", "right") and tex[m.end():m.end() + 1] in "()":
            out.append(tex[m.end()])
            i = m.end() + 1
            continue
        if m:
            out.append(m.group(0))
            i = m.end()
            continue
        depth += {"{": 1, "}": -1}.get(tex[i], 0)
        out.append(tex[i])
        i += 1
    return "".join(out)


def fit(tex: str, room: float) -> str:
    """``tex`` scaled down to ``room`` em if it is wider (never below ``_MIN_SCALE``)."""
    w = math_width(tex)
    if w <= room:
        return tex
    factor = max(_MIN_SCALE, int(room / w * 100) / 100)
    return rf"\scalebox{{{factor:.2f}}}{{$\displaystyle {tex}$}}"


def split_factors(term: str) -> list[str]:
    """The top-level factors of a printed product, ``2 \\left(a + b\\right) e^{x}`` →
    ``["2", "\\left(a + b\\right)", "e^{x}"]``; a sign, a big operator (Σ with its limits, a
    derivative operator ∂/∂x) or a ``\\cdot`` stays with the factor after it."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(term):
        ch = term[i]
        if ch == "\\":
            m = _CMD.match(term, i)
            depth += (m.group(1) == "left") - (m.group(1) == "right")
            i = m.end()
            continue
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif ch == " " and depth == 0:
            if term[start:i].strip():
                parts.append(term[start:i].strip())
            start = i + 1
        i += 1
    parts.append(term[start:].strip())
    out: list[str] = []
    for p in filter(None, parts):
        if out and re.match(r"^(?:[+-]|\\(?:sum|prod|cdot|times)\b.*|\\frac\{\\?(?:partial|d)\}.*)$", out[-1]):
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return out


def _pack(parts: list[str], limit: float) -> list[str]:
    lines, current = [], ""
    for p in parts:
        candidate = f"{current} {p}".strip()
        if current and math_width(candidate) > limit:
            lines.append(current)
            current = p
        else:
            current = candidate
    return [*lines, current]


_COEFFICIENT = re.compile(r"-?\s*(?:\d+|\\frac\{\d+\}\{[^{}]*\})")


def break_rhs(rhs: str, room: float, indent: float = 2.0, scale: bool = True) -> list[str]:
    """The right-hand side as lines of at most ``room`` em: the first line, then continuation
    lines that start with the sign of their first term (a continuation line is ``indent`` em
    narrower). A term wider than a line is broken between its factors (the continuation starts
    with ``\\cdot``); a single factor still too wide is scaled down when ``scale``."""
    if math_width(rhs) <= room:
        return [rhs]
    cont = room - indent
    pieces = []                                    # (LaTeX, must start a line)
    for term in split_terms(rhs):
        if math_width(term) <= cont:
            pieces.append((term, False))
            continue
        factors = split_factors(term)
        if len(factors) > 1 and _COEFFICIENT.fullmatch(factors[0]):
            # a coefficient (2, \frac{1}{m}) stays with the factor it multiplies: a line
            # holding it alone would say nothing
            factors[:2] = [f"{factors[0]} {factors[1]}"]
        chunks = _pack(factors, cont - 1.5)
        # a chunk that starts at a printed \cdot (split_factors keeps it with the factor after
        # it) already opens with its operator: one \cdot, never two
        pieces += [(chunks[0], False), *((c if c.startswith((r"\cdot ", r"\times ")) else r"\cdot " + c, True)
                                         for c in chunks[1:])]
    lines, current = [], ""
    for tex, forced in pieces:
        limit = room if not lines else cont
        candidate = f"{current} {tex}".strip()
        if current and (forced or math_width(candidate) > limit):
            lines.append(current)
            current = tex
        else:
            current = candidate
    lines.append(current)
    if not scale:
        return lines
    out = []
    for k, line in enumerate(lines):
        limit = room if k == 0 else cont
        if math_width(line) > limit:
            lead = re.match(r"^(?:[+-] |\\cdot )", line) if k > 0 else None
            sign = lead.group() if lead else ""
            line = sign + fit(line[len(sign):], limit - (1.3 if sign else 0))
        out.append(line)
    return out


def _opens_with_operator(line: str) -> bool:
    return line[:2] in ("+ ", "- ") or line.startswith("\\cdot ")


def text_width(tex: str) -> float:
    """Estimated width in em of running LaTeX text (words, CJK characters, ``$…$`` pieces)."""
    w = 0.0
    for i, part in enumerate(re.split(r"(\$[^$]*\$)", tex)):
        if i % 2:
            w += math_width(part[1:-1]) * 0.85   # inline style: smaller fractions and sums
        else:
            part = re.sub(r"\\[A-Za-z]+(\{\})?|\\.", "x", part)
            w += sum(1.0 if ord(ch) > 0x2e80 else 0.48 for ch in part)
    return w


# A rule annotation wider than this (in em of its \footnotesize) is set in a narrow paragraph.
_TAG_EM = 30.0


def tag_text(tex: str) -> str:
    """A rule annotation (LaTeX) as a right-margin tag in a small size; a long one wraps,
    right-aligned, in a box half the line wide rather than running into the left margin."""
    if not tex:
        return r"\notag"
    if text_width(tex) > _TAG_EM:
        return rf"\tag*{{\parbox[t]{{0.5\linewidth}}{{\raggedleft\footnotesize {tex}}}}}"
    return rf"\tag*{{\footnotesize {tex}}}"


class LatexRenderer(Renderer):
    """The derivation as LaTeX. Options: ``standalone`` (a complete document), ``numbered``
    (numbered \\section/\\subsection, for documents with a table of contents), ``level``,
    ``label``, ``figure`` (LaTeX placed after the title), ``bookmarks`` (hyperref is loaded)."""

    def math(self, expr, order=None) -> str:
        return unicode_math(printing.latex(expr, partial=self.d.partial, order=order))

    def inline(self, expr) -> str:
        return inline_breakable(self.math(expr))

    specials = TEX_SPECIALS
    # set by ``render`` for output pasted into a document derive did not write
    fragment = False

    @property
    def width(self) -> float:
        """The line width of the text, in em."""
        return FRAGMENT_WIDTH_EM if self.fragment else TEXT_WIDTH_EM

    @property
    def display_width(self) -> float:
        """The width a display's rows may take, in em: a standalone document indents them."""
        return self.width if self.fragment else self.width - MATH_INDENT_EM

    def write(self, msg: Msg, values: dict) -> str:
        return latex_words(msg, self.lang, values, self.specials)

    def _heading(self, level: str, msg: Msg) -> str:
        """``\\section``-like heading ``level``; with ``bookmarks`` its mathematics gets a
        plain-text form for the PDF's outline."""
        star = "" if self.opts.get("numbered") else "*"
        tex = self.words(msg)
        if self.opts.get("bookmarks") and "$" in tex:
            plain = re.sub(r"[\\$^_{}&%#]", "", msg.render(self.lang, self.values(msg)))
            tex = rf"\texorpdfstring{{{tex}}}{{{plain}}}"
        if self.fragment:
            # a narrow line may find no good break in a long title: ragged rather than overfull
            tex = r"\raggedright " + tex
        return rf"\{level}{star}{{{tex}}}"

    def _rows(self, triples) -> str:
        """``(lhs, rhs, annotation)`` triples as the rows of one ``align*``, long right-hand sides
        broken over several lines."""
        lhs_w = max((math_width(lhs) for lhs, _, _ in triples), default=0.0)
        width = self.display_width
        lhs_w = min(lhs_w, width / 2)
        room = (width - lhs_w - 1.4) * _ESTIMATE_MARGIN
        rows = []
        for lhs, rhs, note in triples:
            if math_width(lhs) > width / 2:
                lhs = fit(lhs, width / 2)
            lines = break_rhs(rhs, room)
            first = rf"  {lhs} &= {lines[0]} {tag_text(note)}"
            rest = [rf"  &\quad {{}}{line}" if _opens_with_operator(line) else rf"  &\quad {line}"
                    for line in lines[1:]]
            rows.append(" \\\\\n".join([first, *rest]))
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def _render_title(self, msg):
        title = self._heading(self.opts.get("level") or "section", msg)
        if self.opts.get("label"):
            title += rf"\label{{{self.opts['label']}}}"
        if self.opts.get("figure"):
            return [("heading", title), ("figure", self.opts["figure"])]
        return ("heading", title)

    def _render_heading(self, msg):
        level = "subsection" if (self.opts.get("level") or "section") == "section" else "subsubsection"
        return ("heading", self._heading(level, msg))

    def _render_note(self, msg):
        words = self.words(msg)
        # a formula of most of a line leaves the line before it few spaces to stretch: justified,
        # that line would be overfull; ragged right, it breaks at the formula's signs
        if any(math_width(f) > 0.7 * self.width for f in re.findall(r"\$([^$]+)\$", words)):
            return ("note", r"{\raggedright " + words + r"\par}")
        return ("note", words)

    def _render_equation(self, steps):
        return ("display", self._rows([
            ("" if s.continued else self.math(s.lhs), self.math(s.rhs, s.order), self.rule_text(s)) for s in steps
        ]))

    def _cell(self, c) -> str:
        return self.cell(c) if isinstance(c, (Msg, str)) else f"${self.math(c)}$"

    def _render_table(self, table):
        head = " & ".join(self.words(c) for c in table.columns)
        body = " \\\\\n".join(" & ".join(self._cell(c) for c in row) for row in table.rows)
        # centred, a little more air between rows of fractions, and shrunk if wider than the page
        return ("table", (
            "\\begin{center}\n\\renewcommand{\\arraystretch}{1.35}\n"
            "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n"
            "\\begin{tabular}{" + "c" * len(table.columns) + "}\n\\toprule\n"
            + head + " \\\\\n\\midrule\n" + body + " \\\\\n\\bottomrule\n\\end{tabular}%\n}\n\\end{center}"
        ))

    def _render_results(self, results):
        return ("display", self._rows([
            (self.math(r.lhs if r.lhs is not None else sp.Symbol(r.name)), self.math(r.display, r.order), self.words(r.note))
            for r in results
        ]))

    def body(self) -> str:
        """The derivation without a document around it."""
        blocks = []
        for section in self.sections():
            blocks += section if isinstance(section, list) else [section]
        return _join_blocks(blocks)

    def render(self) -> str:
        if not self.opts.get("standalone"):
            # pasted into someone else's document: its line may be as narrow as a default article's
            self.fragment = True
            body = self.body()
            return fragment_comment(body, self.lang) + body
        tikz = "tikzpicture" in (self.opts.get("figure") or "")
        return preamble(self.lang, tikz=tikz) + "\\begin{document}\n\n" + self.body() + "\n\\end{document}\n"


def _join_blocks(blocks) -> str:
    """``(kind, LaTeX)`` blocks separated by blank lines, except that a display continues the
    paragraph before it (no blank line: no empty line above the equations) and, right after a
    heading, is pulled up by the empty line a display opening a paragraph would leave. That
    display counts as short (its skip above is 0), so the pull leaves it the ordinary skip above
    a display: a tall first row (a fraction) never touches the heading."""
    out = []
    for i, (kind, tex) in enumerate(blocks):
        prev = blocks[i - 1][0] if i else None
        if kind == "display" and prev == "note":
            out.append("\n" + tex)
        elif kind == "display" and prev == "heading":
            out.append("\n\n\\vspace{\\dimexpr\\abovedisplayskip-\\baselineskip\\relax}\n" + tex)
        else:
            out.append(("\n\n" if out else "") + tex)
    return "".join(out) + "\n"
