"""Words shown beside the mathematics, in English and Simplified Chinese.

A ``Msg`` holds a template per language and its arguments; renderers format the arguments
(SymPy expressions) in their own notation, so one message serves text, LaTeX and Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LANGS = ("en", "zh")

# Rule names, as the notes call them.
RULE_NAMES = {
    "definition": ("definition", "定义"),
    "constant": ("constant rule", "常数法则"),
    "identity": ("d/dx x = 1", "dx/dx = 1"),
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
    "tanh": ("tanh derivative", "tanh 的导数"),
    "relu": ("ReLU derivative", "ReLU 的导数"),
    "elementary": ("derivative of an elementary function", "基本初等函数求导"),
    "rewrite": ("rewrite", "改写"),
    "fallback": ("sympy.diff", "sympy.diff"),
    "simplify": ("simplify", "化简"),
    "substitute": ("substitute", "代入"),
    "intermediates": ("write with the intermediates", "用中间变量表示"),
    "backprop": ("chain rule along the graph", "反向传播:沿计算图的链式法则"),
    "sum_paths": ("sum over paths", "对各路径求和"),
    "evaluate": ("evaluate", "代入数值"),
    "vectorize": ("vectorize over m examples", "对 m 个样本向量化"),
    "mean": ("mean over m examples", "对 m 个样本取平均"),
    "kronecker": ("Kronecker delta", "克罗内克 δ"),
    "solve": ("solve", "求解"),
    "second_order": ("second-order condition", "二阶条件"),
    "log_likelihood": ("take the log", "取对数(对数似然)"),
    "rearrange": ("rearrange", "整理"),
    "table": ("table", "表"),
}

# Explanations the engine attaches to its rules; models add their own with ``Msg(en, zh)``.
RULE_NOTES = {
    "chain": ("with {u} = {g}", "令 {u} = {g}"),
    "constant_multiple": ("the constant {c} comes out", "常数 {c} 提到求导符号外面"),
    "power": ("exponent {n}", "指数为 {n}"),
    "rewrite": ("write it as {g}", "改写为 {g}"),
    "fallback": ("no step rule applies; sympy.diff used", "没有可用的分步法则,改用 sympy.diff 计算"),
}


def rule_name(key: str, lang: str = "en") -> str:
    en, zh = RULE_NAMES.get(key, (key.replace("_", " "), key.replace("_", " ")))
    return zh if lang == "zh" else en


@dataclass(frozen=True)
class Msg:
    """A sentence in both languages; ``{name}`` fields are filled from ``args`` by a renderer."""

    en: str
    zh: str | None = None
    args: tuple = field(default=())  # ((name, value), …), ordered for byte-stable output

    @classmethod
    def of(cls, en: str, zh: str | None = None, **args) -> "Msg":
        return cls(en, zh, tuple(sorted(args.items())))

    @classmethod
    def rule_note(cls, key: str, **args) -> "Msg | None":
        if key not in RULE_NOTES:
            return None
        en, zh = RULE_NOTES[key]
        return cls.of(en, zh, **args)

    def render(self, lang: str, fmt) -> str:
        """The sentence in ``lang`` with each argument passed through ``fmt``."""
        template = self.zh if (lang == "zh" and self.zh) else self.en
        values = {k: fmt(v) for k, v in self.args}
        return template.format(**values) if values else template
