"""Words shown beside the mathematics, in English and Simplified Chinese.

A ``Msg`` holds a template per language and its arguments; renderers format the arguments
(SymPy expressions) in their own notation, so one message serves text, LaTeX and Markdown.

A formula inside the words is marked with dollars and written in Unicode, as the terminal shows
it: ``"with $a = σ(z)$, $σ′(z) = a(1 − a)$"``. The text view drops the marks; the TeX views set
the marked spans, and only those, as mathematics. A ``{name}`` argument is mathematics wherever it
stands, except a ``str`` argument, which is part of the template's text (and may hold marks).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

LANGS = ("en", "zh")

# Rule names, as the notes call them.
RULE_NAMES = {
    "definition": ("definition", "定义"),
    "differentiate": ("differentiate both sides", "对两边求导"),
    "constant": ("constant rule", "常数法则"),
    "identity": ("derivative of the variable itself", "变量对自身求导"),
    "identity_constant": ("derivative of the variable itself and constant rule", "变量对自身求导与常数法则"),
    "sum": ("sum rule", "加法法则"),
    "constant_multiple": ("constant multiple rule", "常数倍法则"),
    "power": ("power rule", "幂法则"),
    "product": ("product rule", "乘积法则"),
    "quotient": ("quotient rule", "商法则"),
    "chain": ("chain rule", "链式法则"),
    "exp": ("exponential rule", "指数函数求导"),
    "exponential": ("exponential rule", "指数函数求导"),
    "log": ("logarithm rule", "对数函数求导"),
    "sigmoid": ("sigmoid derivative", "sigmoid 的导数"),
    # σ′ used by a section the notes put before Activation functions, where it is derived
    "sigmoid_derived": ("sigmoid derivative, derived in Activation functions",
                        "sigmoid 的导数，在“激活函数”一节推导"),
    "tanh": ("tanh derivative", "tanh 的导数"),
    "relu": ("ReLU derivative", "ReLU 的导数"),
    "leaky_relu": ("Leaky ReLU derivative, $α + (1 − α)·[u > 0]$", "Leaky ReLU 的导数,$α + (1 − α)·[u > 0]$"),
    "elementary": ("derivative of an elementary function", "基本初等函数求导"),
    "trig": ("derivative of a trigonometric function", "三角函数求导"),
    "inverse_trig": ("derivative of an inverse trigonometric function", "反三角函数求导"),
    "hyperbolic": ("derivative of a hyperbolic function", "双曲函数求导"),
    "inverse_hyperbolic": ("derivative of an inverse hyperbolic function", "反双曲函数求导"),
    "abs": ("derivative of the absolute value, $|u|′ = u/|u|$", "绝对值求导,$|u|′ = u/|u|$"),
    "max_min": ("max/min rule, $max(f, g)′ = f′·[f ≥ g] + g′·[g > f]$",
                "最大值/最小值求导,$max(f, g)′ = f′·[f ≥ g] + g′·[g > f]$"),
    "erf": ("derivative of the error function, $erf′(u) = 2·e^(−u²)/√π$",
            "误差函数求导,$erf′(u) = 2·e^(−u²)/√π$"),
    "rewrite": ("rewrite", "改写"),
    "real_variables": ("rewrite", "改写"),
    "fallback": ("sympy.diff", "sympy.diff"),
    "simplify": ("simplify", "化简"),
    "multiply_out": ("multiply out the numerator's products", "展开分子中的乘积"),
    "substitute": ("substitute", "代入"),
    "convention": ("convention", "约定"),
    "intermediates": ("write with the intermediates", "用中间变量表示"),
    "backprop": ("chain rule along the graph", "反向传播:沿计算图的链式法则"),
    "sum_paths": ("sum over paths", "对各路径求和"),
    "evaluate": ("evaluate", "代入数值"),
    "vectorize": ("vectorize over $m$ examples", "对 $m$ 个样本向量化"),
    "mean": ("mean over $m$ examples", "对 $m$ 个样本取平均"),
    "kronecker": ("Kronecker delta", "克罗内克 $δ$"),
    "solve": ("solve", "求解"),
    "second_order": ("second-order condition", "二阶条件"),
    # the matrix-calculus engine's lines: its result written as a matrix, and the matrix of
    # second derivatives (the notes keep the name Hessian in Chinese: Hessian 矩阵)
    "matrix_form": ("matrix form", "矩阵形式"),
    "hessian": ("Hessian", "Hessian 矩阵"),
    "log_likelihood": ("take the log", "取对数(对数似然)"),
    "rearrange": ("rearrange", "整理"),
    "table": ("table", "表"),
}

# Explanations the engine attaches to its rules; models add their own with ``Msg(en, zh)``.
RULE_NOTES = {
    "chain": ("with ${u} = {g}$", "令 ${u} = {g}$"),
    "constant_multiple": ("the constant {c} comes out", "常数 {c} 提到求导符号外面"),
    # a factor with letters (a graph input, a feature, a label) is constant only for this derivative
    "constant_multiple_symbolic": ("{c} is held constant and comes out", "把 {c} 视为常数，提到求导符号外面"),
    "power": ("exponent {n}", "指数为 {n}"),
    "constant": ("{c}", "{c}"),
    "identity": ("{c}", "{c}"),
    "identity_constant": ("{c}", "{c}"),
    "rewrite": ("write it as {g}", "写成 {g}"),
    "fallback": ("no step rule applies; sympy.diff used", "没有可用的分步法则,改用 sympy.diff 计算"),
}


def rule_msg(key: str) -> "Msg":
    """The name of rule ``key`` as a message (a key with no name is its own name)."""
    return Msg(*RULE_NAMES.get(key, (key.replace("_", " "),) * 2))


def rule_name(key: str, lang: str = "en") -> str:
    """The name of rule ``key`` as plain text."""
    return rule_msg(key).render(lang)


MARK = "$"
FIELD = re.compile(r"\{(\w+)\}")    # an argument's place in a template

# Chinese text sets its punctuation full-width; mathematics keeps ASCII. A template's formulas and
# arguments are masked while its words are converted.
CJK = re.compile(r"[\u2018-\u201d\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
FULL_WIDTH = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）", "?": "？"}
# Chinese mathematics textbooks elide a list with the centred ⋯ (x₁, x₂, ⋯, xₙ); English keeps …
ZH_ELLIPSIS = ("…", "⋯")
_MASK = "\x00"
_MASKED = re.compile(r"\$[^$]*\$|\{\w+\}")


def _cjk_side(text, i: int, step: int) -> bool:
    """Whether the first character from ``i`` in direction ``step`` (spaces skipped) is Chinese,
    full-width punctuation or a masked formula."""
    while 0 <= i < len(text) and text[i] == " ":
        i += step
    return 0 <= i < len(text) and (text[i] == _MASK or bool(CJK.match(text[i])))


def full_width(template: str) -> str:
    """``template`` (Chinese) with the half-width , : ; ( ) ? of its words made full-width where they
    stand in Chinese: every colon and semicolon; a comma or question mark touching Chinese, with
    Chinese or a formula on both sides or ending the template after one; a comma with no space
    after it; a pair of parentheses around or touching Chinese, or around a formula right after a
    formula. Formulas are left as they are."""
    masked_spans = _MASKED.findall(template)
    chars = list(_MASKED.sub(_MASK, template))
    text = "".join(chars)
    stack = []
    for i, ch in enumerate(text):
        if ch == "(":
            stack.append(i)
        elif ch == ")" and stack:
            j = stack.pop()
            outside = (chars[j - 1] if j else " ") + text[i + 1:i + 2]
            # a formula's gloss in brackets, "$ŷ⟨t⟩$($n_y × 1$)", is bracketed as Chinese is
            gloss = text[j - 1:i + 1] == _MASK + "(" + _MASK + ")"
            if gloss or CJK.search(text[j:i + 1]) or CJK.search(outside):
                chars[j], chars[i] = FULL_WIDTH["("], FULL_WIDTH[")"]
        elif ch in ",:;?":
            # a colon or semicolon in Chinese words is always full-width ("是 one-hot：$Σ_j y_j = 1$")
            clause = ch in ":;"
            touching = CJK.match(chars[i - 1] if i else " ") or CJK.match(text[i + 1:i + 2] or " ")
            # in Chinese words a comma takes no space after it ("1,s < 0"); an English one does
            unspaced = ch == "," and text[i + 1:i + 2] not in ("", " ", ")")
            # a template's last mark after a formula ends a Chinese sentence ("令 $z = X·w$:")
            ending = not text[i + 1:].strip()
            between = _cjk_side(chars, i - 1, -1) and (ending or _cjk_side(text, i + 1, 1))
            if clause or touching or unspaced or between:
                chars[i] = FULL_WIDTH[ch]
    out = "".join(chars)
    # full-width marks carry their own spacing
    out = re.sub(r" *([，：；（）]) *", r"\1", out)
    spans = iter(masked_spans)
    return re.sub(_MASK, lambda _: next(spans), out)


def fill(source: str, values: dict, sep: str = ", ") -> str:
    """``source`` with each ``{name}`` field of ``values`` replaced by its value (a tuple: its
    items joined by ``sep``); any other ``{…}`` is text."""
    def value(m):
        v = values.get(m.group(1), m.group())
        return sep.join(v) if isinstance(v, tuple) else v

    return FIELD.sub(value, source)


# Who a message is for: "student" (shown always) or "check" (how a line was verified: the sizes,
# points and checkable forms; shown with --verbose and kept in the JSON, flagged).
AUDIENCES = ("student", "check")


@dataclass(frozen=True)
class Msg:
    """A sentence in both languages; ``{name}`` fields are filled from ``args`` by a renderer.

    ``audience`` says who it is for (``AUDIENCES``); ``more`` is a sentence that follows it, with
    an audience of its own (a rule's name for the student, then where it was checked).
    """

    en: str
    zh: str | None = None
    args: tuple = field(default=())  # ((name, value), …), ordered for byte-stable output
    audience: str = "student"
    more: "Msg | None" = None

    def __post_init__(self):
        if self.audience not in AUDIENCES:
            raise ValueError(f"audience {self.audience!r}; one of {', '.join(AUDIENCES)}")

    @classmethod
    def of(cls, en: str, zh: str | None = None, **args) -> "Msg":
        return cls(en, zh, tuple(sorted(args.items())))

    @classmethod
    def check(cls, en: str, zh: str | None = None, **args) -> "Msg":
        """A sentence about verification: shown with ``--verbose``, kept in the JSON."""
        return cls(en, zh, tuple(sorted(args.items())), audience="check")

    def then(self, more: "Msg") -> "Msg":
        """This sentence followed by ``more`` (appended after any sentence already following)."""
        tail = more if self.more is None else self.more.then(more)
        return Msg(self.en, self.zh, self.args, self.audience, tail)

    def chain(self) -> list["Msg"]:
        """This sentence and the ones following it, in order, each without its ``more``."""
        head = Msg(self.en, self.zh, self.args, self.audience)
        return [head] + (self.more.chain() if self.more is not None else [])

    @classmethod
    def rule_note(cls, key: str, **args) -> "Msg | None":
        if key not in RULE_NOTES:
            return None
        if key == "constant_multiple" and getattr(args.get("c"), "free_symbols", None):
            key = "constant_multiple_symbolic"
        en, zh = RULE_NOTES[key]
        return cls.of(en, zh, **args)

    def template(self, lang: str) -> str:
        """The template in ``lang`` with its ``str`` arguments written in."""
        template = self.zh if (lang == "zh" and self.zh) else self.en
        words = {k: v for k, v in self.args if isinstance(v, str)}
        if words:
            template = FIELD.sub(lambda m: words.get(m.group(1), m.group()), template)
        if lang == "zh" and self.zh:
            return full_width(template).replace(*ZH_ELLIPSIS)
        return template

    def parts(self, lang: str) -> list[tuple[bool, str]]:
        """The template in ``lang`` as ``(is_formula, source)`` pieces, in order: the words between
        the marks and each marked formula (marks dropped). ``{name}`` fields stay in both."""
        pieces = self.template(lang).split(MARK)
        if len(pieces) % 2 == 0:
            raise ValueError(f"unbalanced {MARK} in {self.en!r}")
        return [(bool(i % 2), p) for i, p in enumerate(pieces) if p]

    def values(self) -> dict:
        """The arguments that are mathematics (all but the ``str`` ones), by name."""
        return {k: v for k, v in self.args if not isinstance(v, str)}

    def render(self, lang: str, values: dict | None = None) -> str:
        """The sentence in ``lang`` as plain text: marks dropped, each argument written as
        ``values[name]`` (by default ``str`` of the argument)."""
        if values is None:
            values = {k: str(v) for k, v in self.values().items()}
        return fill("".join(source for _, source in self.parts(lang)), values, self.list_sep(lang))

    def list_sep(self, lang: str) -> str:
        """What joins the items of a tuple argument: in Chinese words the enumeration comma 、
        ("令 $z = X·w$、$φ = (z − y)²$")."""
        return "、" if lang == "zh" and self.zh else ", "


def join(first: str, second: str, lang: str) -> str:
    """Two rendered sentences as one: after a full stop a new sentence, else a clause after a
    semicolon (full-width in Chinese)."""
    if not first or not second:
        return first or second
    if lang == "zh":
        return first + second if first.endswith(("。", "；")) else f"{first}；{second}"
    return f"{first} {second}" if first.endswith((".", ";")) else f"{first}; {second}"


# The heading above the results, in every format.
RESULTS = Msg("Results", "结果")

# Said once, under the steps, where the words about verification are left out (not verbose).
VERIFIED = Msg("Every line above was verified with SymPy; --verbose says where and how.",
               "以上每一行都已用 SymPy 验证；加 --verbose 可查看验证的位置与方式。")
# The same, under results shown without their steps.
VERIFIED_RESULTS = Msg("Every step behind these results was verified with SymPy; --show-steps shows them.",
                       "这些结果背后的每一步都已用 SymPy 验证；加 --show-steps 可显示每一步。")
