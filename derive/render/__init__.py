"""Renderers: views of one ``Derivation`` (text, LaTeX, Markdown, JSON). None recomputes maths.

A renderer method is found by the step's kind (``_render_equation``, ``_render_table``, …), so a
new kind of step is one method per renderer and a new format is one new subclass.
"""

from __future__ import annotations

from ..errors import DeriveError
from ..messages import Msg, rule_name


class Renderer:
    """Base: walks the steps in order and joins what each ``_render_<kind>`` returns."""

    def __init__(self, derivation, *, show_steps: bool = True, lang: str = "en", **opts):
        self.d = derivation
        self.show_steps = show_steps
        self.lang = lang
        self.opts = opts

    # formatting hooks, per format
    def math(self, expr) -> str:
        raise NotImplementedError

    def fmt_arg(self, value) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, (tuple, list)):
            return ", ".join(self.fmt_arg(v) for v in value)
        return self.inline(value)

    def inline(self, expr) -> str:
        return self.math(expr)

    def words(self, msg: Msg | None) -> str:
        return msg.render(self.lang, self.fmt_arg) if msg is not None else ""

    def blocks(self):
        """The steps in order, each run of consecutive equations as one block (an aligned
        display): yields ``("equations", [steps])`` or ``(step.kind, step)``."""
        run = []
        for s in self.d.steps:
            if s.kind == "equation":
                run.append(s)
                continue
            if run:
                yield "equations", run
                run = []
            yield s.kind, s
        if run:
            yield "equations", run

    def cell(self, c) -> str:
        """A table cell: words (``Msg`` or str) or an expression."""
        if isinstance(c, Msg):
            return self.words(c)
        return c if isinstance(c, str) else self.math(c)

    def rule_text(self, step) -> str:
        name = rule_name(step.rule, self.lang)
        extra = self.words(step.note)
        if step.rule == "definition" and extra:
            return extra
        return f"{name}: {extra}" if extra else name

    def render(self) -> str:
        raise NotImplementedError


def render(derivation, fmt: str, **opts) -> str:
    from .json import JsonRenderer
    from .latex import LatexRenderer
    from .markdown import MarkdownRenderer
    from .text import TextRenderer

    renderers = {
        "text": TextRenderer,
        "latex": LatexRenderer,
        "markdown": MarkdownRenderer,
        "json": JsonRenderer,
    }
    if fmt not in renderers:
        raise DeriveError(f"unknown format {fmt!r}; formats: {', '.join(renderers)}")
    return renderers[fmt](derivation, **opts).render()
