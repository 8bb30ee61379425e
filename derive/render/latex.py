"""LaTeX view: one ``align*`` block per run of equations, each line tagged with its rule.

Words beside the mathematics are written in Unicode by the models (ŷ, σ′(z), a⁽ⁱ⁾, X(n_x × m));
``text_to_latex`` turns those pieces into inline mathematics so that a document compiles with
pdflatex (English) and xelatex + ctex (Chinese) alike. Long right-hand sides are broken at their
top-level + and − signs (``break_rhs``), and a single term too wide for the page is scaled down, so
that no line runs into the margin. Widths are estimated from the LaTeX source (``math_width``).
"""

from __future__ import annotations

import re
import unicodedata

import sympy as sp

from .. import printing
from ..messages import Msg
from . import Renderer

_RESULTS = Msg("Results", "结果")

# A4 with 2 cm margins at 11 pt: 170 mm ≈ 44 em. Equations are laid out to a little less:
# ``math_width`` can fall short of TeX's width by up to ~15 %.
TEXT_WIDTH_EM = 44.0
_ESTIMATE_MARGIN = 0.85
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
        r"\usepackage{amsmath,amssymb}",
        r"\usepackage{graphicx}",
        r"\usepackage{booktabs}",
    ]
    if tikz:
        lines += [r"\usepackage{tikz}", r"\usetikzlibrary{arrows.meta}"]
    if hyperref:
        lines.append(r"\usepackage[hidelinks]{hyperref}")
    lines.append(r"\allowdisplaybreaks")
    return "\n".join(lines) + "\n"


PREAMBLE_EN = preamble("en")
PREAMBLE_ZH = preamble("zh")


# Running text ----------------------------------------------------------------------------------

_GREEK_TEX = {ch: "\\" + name for name, ch in printing._GREEK.items() if name not in ("lamda",)}
_SYMBOLS = {
    "∂": r"\partial", "∇": r"\nabla", "Σ": r"\sum", "∑": r"\sum", "∏": r"\prod", "×": r"\times",
    "·": r"\cdot", "−": "-", "±": r"\pm", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx",
    "→": r"\to", "←": r"\leftarrow", "⇒": r"\Rightarrow", "∈": r"\in", "∞": r"\infty",
    "⊙": r"\odot", "∘": r"\circ", "√": r"\surd", "⋯": r"\cdots", "‖": r"\|", "∝": r"\propto",
    "⊤": r"\top", "ℝ": r"\mathbb{R}", "½": r"\tfrac{1}{2}",
}
_FUNCS = {
    "log": r"\log", "exp": r"\exp", "ln": r"\ln", "max": r"\max", "min": r"\min", "tanh": r"\tanh",
    "sin": r"\sin", "cos": r"\cos", "det": r"\det", "ReLU": r"\operatorname{ReLU}", "LeakyReLU": r"\operatorname{LeakyReLU}",
    "softmax": r"\operatorname{softmax}", "softplus": r"\operatorname{softplus}",
}
# Two-letter English words; any other two-letter lowercase word next to mathematics is a product (bc).
_STOP = set("is at of to by as be in on or if it an we so no do up us me he my am go vs ok".split())
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₍₎ᵢⱼₖₘₙₓₜₐₑₒ", "0123456789+-()ijkmnxtaeo"))
_SUP = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁽⁾ⁱⁿᵀᵗ", "0123456789+-()inTt"))
_ACCENTS = {"\u0302": "hat", "\u0304": "bar", "\u0303": "tilde", "\u0307": "dot"}
_WIDE = {"hat": "widehat", "tilde": "widetilde", "bar": "overline"}
_PRIMES = {"′": "'", "″": "''"}
_MODS = "".join(_SUB) + "".join(_SUP) + "".join(_ACCENTS) + "".join(_PRIMES)
_GREEK_CH = "".join(ch for ch in _GREEK_TEX if ch != "Σ")   # Σ in running text is a sum
_OPS = "=+\\-−×·/<>≤≥≠≈→←⇒∈(),\\[\\]^_'|" + "".join(k for k in _SYMBOLS if k not in "×·−≤≥≠≈→←⇒∈")
_ATOM = re.compile(
    rf"(?P<other>\b(?:e\.g|i\.e|etc|vs)\.)"
    rf"|(?P<name>(?:[A-Za-z]+|[{_GREEK_CH}])(?:\d+(?![A-Za-z]))?[{_MODS}]*)"
    rf"|(?P<num>\d+(?:\.\d+)?[{_MODS}]*)"
    rf"|(?P<op>[{_OPS}][{_MODS}]*)"
    r"|(?P<space> +)"
    r"|(?P<rest>.)",
    re.S,
)
_STRONG_OPS = set("=+-−×·/<>≤≥≠≈→∈^_") | set(_SYMBOLS)


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


def _classify(m: re.Match, lang: str) -> str:
    kind = m.lastgroup
    if kind != "name":
        return kind
    letters = re.match(rf"[A-Za-z]+|[{_GREEK_CH}]", m.group()).group()
    if letters in _FUNCS:
        return "func"
    if len(letters) == 1 or letters[0] in _GREEK_CH:
        return "var"
    if re.fullmatch(r"d[A-Za-z]", letters) or (len(letters) == 2 and letters.islower() and letters.lower() not in _STOP):
        return "var"
    return "word"


def _atom_tex(kind: str, s: str) -> str:
    if kind == "lit":                                  # an index: r1 is r1, not r₁
        return s if re.fullmatch(r"[A-Za-z0-9]+", s) else _atom_tex("var", s)
    if kind in ("var", "func", "num"):
        m = re.match(rf"([A-Za-z]+|[{_GREEK_CH}]|\d+(?:\.\d+)?)(\d*)([{_MODS}]*)$", s)
        head, digits, mods = m.groups()
        base = _FUNCS.get(head) or _GREEK_TEX.get(head) or head
        if digits:
            mods = "".join(dict(zip(_SUB.values(), _SUB))[d] for d in digits) + mods
        return _mods_tex(base, mods)
    if kind == "op":
        return _mods_tex(_SYMBOLS.get(s[0], {"−": "-"}.get(s[0], s[0])), s[1:])
    return s


def _join(pieces) -> str:
    """Concatenate LaTeX pieces, keeping a control word apart from a following letter."""
    out = ""
    for p in pieces:
        if p and out and re.search(r"\\[A-Za-z]+$", out) and p[0].isalpha():
            out += " "
        out += p
    return out


def _span_tex(atoms) -> str:
    """Atoms of a formula (``a = σ(z)``, ``e^(−z)``, ``n_x × m``) as one piece of LaTeX."""
    out, i = [], 0
    while i < len(atoms):
        kind, s = atoms[i]
        if kind == "op" and s in "^_" and i + 1 < len(atoms) and out and _has_script(out[-1], s):
            out[-1] = "{" + out[-1] + "}"             # z₂_k: a subscript on a subscripted name
        if kind == "op" and s in "^_" and i + 1 < len(atoms):
            j, depth = i + 1, 0
            while j < len(atoms):            # the script: one atom or a parenthesized group
                depth += atoms[j][1] == "(" and atoms[j][0] == "op"
                depth -= atoms[j][1] == ")" and atoms[j][0] == "op"
                j += 1
                if depth <= 0:
                    break
            group = atoms[i + 1:j]
            if len(group) > 1 and group[0][1] == "(" and group[-1][1] == ")":
                group = group[1:-1]
            inner = [("lit", t) if k == "var" else (k, t) for k, t in group if k != "space"]
            out.append(s + "{" + _span_tex(inner) + "}")
            i = j
            continue
        if kind == "space":
            prev = atoms[i - 1][0] if i else ""
            nxt = atoms[i + 1][0] if i + 1 < len(atoms) else ""
            out.append(r"\," if prev in ("var", "num") and nxt in ("var", "func") else " ")
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


def _worth_math(atoms, lang: str) -> bool:
    """A span becomes mathematics when it is a formula (an operator, a Greek letter, a mark such
    as ŷ or x₁, or a lone variable; "a" and "I" are English words)."""
    if not any(k in ("var", "num", "func") for k, _ in atoms):
        return False
    for k, s in atoms:
        if k == "op" and s in _STRONG_OPS:
            return True
        if k in ("var", "func", "num") and re.search(rf"[{_GREEK_CH}{_MODS}]", s):
            return True
        if k == "var" and re.search(r"\d", s):
            return True
    for (k, s), nxt in zip(atoms, atoms[1:]):
        if k in ("var", "func") and nxt == ("op", "("):     # L(a, y): a function applied
            return True
    names = [s for k, s in atoms if k != "space"]
    return len(names) == 1 and atoms[0][0] == "var" and (lang == "zh" or names[0] not in ("a", "A", "I"))


def _formula_text(part: str, lang: str, specials: str) -> list:
    """``part`` (no ``$``) as segments ``(is_math, latex)``."""
    atoms = []
    for m in _ATOM.finditer(part):
        kind = _classify(m, lang)
        if kind == "word" and atoms and atoms[-1][0] == "op" and atoms[-1][1] in "^_":
            kind = "var"                                   # w_iJ: whatever follows _ is its index
        atoms.append((kind, m.group()))
    out, run = [], []

    def flush():
        # p_hat: a trailing _ before a word makes the run a name, not a subscripted variable
        named_last = bool(run) and run[-1][0] == "op" and run[-1][1] in "^_"
        pieces = _comma_pieces(run)
        for n, piece in enumerate(_split_unmatched(p) for p in pieces):
            for k, part in enumerate(piece):
                lead, part, tail = _trim(part)
                out.extend(_escape_plain("".join(s for _, s in lead), specials))
                last = n == len(pieces) - 1 and k == len(piece) - 1
                if part and not (named_last and last) and _balance(part) == 0 and _worth_math(part, lang):
                    out.append((True, _span_tex(part)))
                else:
                    out.extend(_escape_plain("".join(s for _, s in part), specials))
                out.extend(_escape_plain("".join(s for _, s in tail), specials))
        run.clear()

    for kind, s in atoms:
        if kind in ("var", "func", "num", "op", "space"):
            run.append((kind, s))
        else:
            flush()
            out.extend(_escape_plain(s, specials))
    flush()
    return out


def _trim(piece):
    """Split a run into (text before, formula, text after): spaces, a comma or an opening
    bracket at the end, a closing bracket at the start, and unmatched brackets stay text."""
    piece, lead, tail = list(piece), [], []
    while piece and (piece[0][0] == "space" or (piece[0][0] == "op" and piece[0][1] in "),]")
                     or (piece[0] == ("op", "(") and _balance(piece) > 0)):
        lead.append(piece.pop(0))
    while piece and (piece[-1][0] == "space" or (piece[-1][0] == "op" and piece[-1][1] in ",([-−'^_")
                     or (piece[-1][0] == "op" and piece[-1][1][0] == ")" and _balance(piece) < 0)):
        tail.insert(0, piece.pop())
    return lead, piece, tail


def _split_unmatched(piece) -> list:
    """``x_12 (a`` → [``x_12 ``, ``(a``]: a run is cut before an unmatched opening bracket and
    after an unmatched closing one, so that the formula beside it still becomes mathematics."""
    opens = []
    for i, (kind, s) in enumerate(piece):
        if kind != "op":
            continue
        if s[0] in "([":
            opens.append(i)
        elif s[0] in ")]":
            if opens:
                opens.pop()
            else:
                return [piece[:i], [piece[i]], *_split_unmatched(piece[i + 1:])]
    if opens:
        i = opens[0]
        return [*_split_unmatched(piece[:i]), [piece[i]], piece[i + 1:]] if piece[i + 1:] else [piece[:i], [piece[i]]]
    return [piece]


def _balance(run) -> int:
    return sum((s[0] in "([") - (s[0] in ")]") for k, s in run if k == "op")


def _comma_pieces(run):
    """Split a run at its top-level commas (``a = σ(z), σ′(z) = …`` is two formulas); a comma
    inside parentheses (``L(a, y)``) stays. The commas come back as their own text pieces."""
    pieces, current, depth = [], [], 0
    for atom in run:
        kind, s = atom
        if kind == "op":
            depth = max(0, depth + (s[0] in "([") - (s[0] in ")]"))
        if kind == "op" and s == "," and depth == 0:
            pieces += [current, [("rest", ",")]]
            current = []
        else:
            current.append(atom)
    pieces.append(current)
    out = []
    for piece in pieces:                       # spaces after a comma belong to the text
        while piece and piece[0][0] == "space":
            out.append([piece.pop(0)])
        out.append(piece)
    return [p for p in out if p]


def _escape_plain(s: str, specials: str) -> list:
    """Plain text as segments: specials escaped, a lone Unicode symbol (≈, σ) as mathematics."""
    named = {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}
    out, text = [], []
    for ch in s:
        if ch in specials:
            text.append(named.get(ch, "\\" + ch))
        elif ch in _SYMBOLS or ch in _GREEK_TEX or ch in _MODS:
            out += [(False, "".join(text)), (True, _SYMBOLS.get(ch) or _GREEK_TEX.get(ch) or _mods_tex("", ch))]
            text = []
        else:
            text.append(ch)
    out.append((False, "".join(text)))
    return [seg for seg in out if seg[1]]


def text_to_latex(s: str, lang: str = "en", specials: str = "&%#_{}~^\\") -> str:
    """Running text as LaTeX: specials escaped, formulas written in Unicode (``a = σ(z)``,
    ``e^(−z)``, ``X(n_x × m)``, ``a⁽ⁱ⁾``) turned into inline mathematics; ``$…$`` pieces are kept
    as they are. ``specials`` are the characters to escape (KaTeX's ``\\text{…}`` needs fewer)."""
    segments = []
    for i, part in enumerate(re.split(r"(\$[^$]*\$)", _precompose_accents(s))):
        if i % 2:
            segments.append((True, unicode_math(part[1:-1])))
        elif part:
            segments += _formula_text(part, lang, specials)
    return "".join(f"${t}$" if math else t for math, t in _merge_formulas(segments))


_OP_START = re.compile(r"^\s*(?:=|<|>|\+|-|/|\\(?:le|ge|ne|approx|to|times|cdot|in)\b)")
_OP_END = re.compile(r"(?:=|<|>|\+|-|/|\\(?:le|ge|ne|approx|to|times|cdot|in|partial))\s*$")
_GLUE = re.compile(r"^[\s()\[\]=+\-<>/]*$")


def _merge_formulas(segments: list) -> list:
    """Neighbouring formulas that are one formula become one: ``∂u/∂`` followed by an argument
    ``w``; ``$u_1$ = $1 + e^{-z}$``; ``$0.004$ $\\approx$ $4.0$``; ``$f'$($2$) = $4$``."""
    out: list = []
    for math, t in segments:
        if out and math == out[-1][0] and not math:
            out[-1] = (False, out[-1][1] + t)
        elif math and out and out[-1][0]:
            out[-1] = (True, f"{out[-1][1]} {t}")
        elif (math and len(out) >= 2 and out[-2][0] and _GLUE.match(out[-1][1])
              and (out[-1][1].strip() or _OP_END.search(out[-2][1]) or _OP_START.match(t))):
            glue = out.pop()[1].strip()
            brackets = glue and not glue.strip("()[]")
            out[-1] = (True, f"{out[-1][1]}{glue}{t}" if brackets else " ".join(filter(None, (out[-1][1], glue, t))))
        else:
            out.append((math, t))
    return out


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
        chunks = _pack(split_factors(term), cont - 1.5)
        pieces += [(chunks[0], False), *((r"\cdot " + c, True) for c in chunks[1:])]
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


def tag_text(text: str, lang: str = "en") -> str:
    """A rule annotation as a right-margin tag in a small size; a long one wraps, right-aligned,
    in a box half the line wide rather than running into the left margin."""
    if not text:
        return r"\notag"
    tex = text_to_latex(text, lang)
    if text_width(tex) > _TAG_EM:
        return rf"\tag*{{\parbox[t]{{0.5\linewidth}}{{\raggedleft\footnotesize {tex}}}}}"
    return rf"\tag*{{\footnotesize {tex}}}"


class LatexRenderer(Renderer):
    """The derivation as LaTeX. Options: ``standalone`` (a complete document), ``numbered``
    (numbered \\section/\\subsection, for documents with a table of contents), ``level``."""

    def math(self, expr) -> str:
        return unicode_math(printing.latex(expr, partial=self.d.partial))

    def inline(self, expr) -> str:
        return f"${self.math(expr)}$"

    def text(self, s: str) -> str:
        return text_to_latex(s, self.lang)

    def heading_text(self, s: str) -> str:
        """A heading; with ``bookmarks`` (hyperref loaded) its mathematics gets a plain-text
        form for the PDF's outline."""
        tex = self.text(s)
        if not self.opts.get("bookmarks") or "$" not in tex:
            return tex
        plain = re.sub(r"[\\$^_{}&%#]", "", re.sub(r"\$([^$]*)\$", lambda m: m.group(1), s))
        return rf"\texorpdfstring{{{tex}}}{{{plain}}}"

    def _rows(self, pairs) -> str:
        """``(lhs, rhs, annotation)`` triples as the rows of one ``align*``, long right-hand sides
        broken over several lines."""
        lhs_w = max((math_width(lhs) for lhs, _, _ in pairs), default=0.0)
        lhs_w = min(lhs_w, TEXT_WIDTH_EM / 2)
        room = (TEXT_WIDTH_EM - lhs_w - 1.4) * _ESTIMATE_MARGIN
        rows = []
        for lhs, rhs, note in pairs:
            if math_width(lhs) > TEXT_WIDTH_EM / 2:
                lhs = fit(lhs, TEXT_WIDTH_EM / 2)
            lines = break_rhs(rhs, room)
            first = rf"  {lhs} &= {lines[0]} {tag_text(note, self.lang)}"
            rest = [rf"  &\quad {{}}{line}" if _opens_with_operator(line) else rf"  &\quad {line}"
                    for line in lines[1:]]
            rows.append(" \\\\\n".join([first, *rest]))
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def _equations(self, steps) -> str:
        return self._rows([
            ("" if s.continued else self.math(s.lhs), self.math(s.rhs), self.rule_text(s)) for s in steps
        ])

    def _cell(self, c) -> str:
        if isinstance(c, Msg):
            return self.text(self.words(c))
        return self.text(c) if isinstance(c, str) else f"${self.math(c)}$"

    def _table(self, step) -> str:
        cols = step.table.columns
        head = " & ".join(self.text(self.words(c)) for c in cols)
        body = " \\\\\n".join(
            " & ".join(self._cell(c) for c in row)
            for row in step.table.rows
        )
        # centred, a little more air between rows of fractions, and shrunk if wider than the page
        return (
            "\\begin{center}\n\\renewcommand{\\arraystretch}{1.35}\n"
            "\\resizebox{\\ifdim\\width>\\linewidth\\linewidth\\else\\width\\fi}{!}{%\n"
            "\\begin{tabular}{" + "c" * len(cols) + "}\n\\toprule\n"
            + head + " \\\\\n\\midrule\n" + body + " \\\\\n\\bottomrule\n\\end{tabular}%\n}\n\\end{center}"
        )

    def _results(self) -> str:
        pairs = []
        for r in self.d.results:
            lhs = self.math(r.lhs if r.lhs is not None else sp.Symbol(r.name))
            pairs.append((lhs, self.math(r.display), self.words(r.note)))
        return self._rows(pairs)

    def body(self, level: str | None = None, numbered: bool | None = None) -> str:
        level = level or self.opts.get("level") or "section"
        numbered = self.opts.get("numbered", False) if numbered is None else numbered
        star = "" if numbered else "*"
        sub = "subsection" if level == "section" else "subsubsection"
        title = rf"\{level}{star}{{{self.heading_text(self.words(self.d.title))}}}"
        if self.opts.get("label"):
            title += rf"\label{{{self.opts['label']}}}"
        blocks = [("heading", title)]                        # (kind, LaTeX)
        if self.opts.get("figure"):
            blocks.append(("figure", self.opts["figure"]))
        if self.show_steps:
            for kind, item in self.blocks():
                if kind == "equations":
                    blocks.append(("display", self._equations(item)))
                elif kind == "heading":
                    blocks.append(("heading", rf"\{sub}{star}{{{self.heading_text(self.words(item.note))}}}"))
                elif kind == "note":
                    blocks.append(("note", self.text(self.words(item.note))))
                elif kind == "table":
                    blocks.append(("table", self._table(item)))
            if self.d.results:
                blocks.append(("heading", rf"\{sub}{star}{{{self.heading_text(self.words(_RESULTS))}}}"))
        if self.d.results:
            blocks.append(("display", self._results()))
        return _join_blocks(blocks)

    def render(self) -> str:
        if not self.opts.get("standalone"):
            return self.body()
        tikz = "tikzpicture" in (self.opts.get("figure") or "")
        return preamble(self.lang, tikz=tikz) + "\\begin{document}\n\n" + self.body() + "\n\\end{document}\n"


def _join_blocks(blocks) -> str:
    """Blocks separated by blank lines, except that a display continues the paragraph before it
    (no blank line: no empty line above the equations) and, right after a heading, is pulled up
    by the empty line a display opening a paragraph would leave."""
    out = []
    for i, (kind, tex) in enumerate(blocks):
        prev = blocks[i - 1][0] if i else None
        if kind == "display" and prev == "note":
            out.append("\n" + tex)
        elif kind == "display" and prev == "heading":
            out.append("\n\n\\vspace{-\\baselineskip}\n" + tex)
        else:
            out.append(("\n\n" if out else "") + tex)
    return "".join(out) + "\n"


def jupyter_latex(derivation, show_steps: bool = True, lang: str = "en") -> str:
    """The derivation as ``text/latex`` for a notebook: display blocks ``$$\\begin{aligned}…$$``
    that MathJax (Jupyter) and KaTeX render, and that compile when nbconvert pastes them into a
    LaTeX document (blocks of at most ``_JUPYTER_ROWS`` lines, since a display cannot break
    across pages). Headings are bold display lines; notes are left to the Markdown view."""
    r = LatexRenderer(derivation, show_steps=show_steps, lang=lang)

    def blocks(rows):
        return ["$$\n\\begin{aligned}\n" + " \\\\\n".join(rows[i:i + _JUPYTER_ROWS]) + "\n\\end{aligned}\n$$"
                for i in range(0, len(rows), _JUPYTER_ROWS)]

    def label(msg):
        return rf"$$\textbf{{{text_to_latex(r.words(msg), lang, specials='&%#_{}')}}}$$"

    def note(text):
        return rf" && \text{{\small {text_to_latex(text, lang, specials='&%#_{}')}}}" if text else ""

    out = [label(derivation.title)]
    run: list = []
    if show_steps:
        for s in derivation.steps:
            if s.kind == "equation":
                lhs = "" if s.continued else r.math(s.lhs)
                run.append(rf"{lhs} &= {r.math(s.rhs)}{note(r.rule_text(s))}")
            elif s.kind == "heading":
                out += blocks(run)
                run = []
                out.append(label(s.note))
        out += blocks(run)
        out.append(label(_RESULTS))
    rows = []
    for res in derivation.results:
        lhs = r.math(res.lhs if res.lhs is not None else sp.Symbol(res.name))
        rows.append(rf"{lhs} &= {r.math(res.display)}{note(r.words(res.note))}")
    out += blocks(rows)
    return "\n\n".join(out) + "\n"


_JUPYTER_ROWS = 14
