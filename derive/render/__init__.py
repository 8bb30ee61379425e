"""Renderers: views of one ``Derivation`` (text, LaTeX, Markdown, JSON, HTML). None recomputes maths.

``Renderer.sections`` walks the steps once and asks ``_render_<kind>`` for each: the title, each
heading, note and table, each run of equations (one aligned block), and the results. A new kind of
step is one method per renderer; a new format is one new subclass.
"""

from __future__ import annotations

from ..errors import said
from ..messages import FIELD, RESULTS, Msg, join, rule_msg


def compose(msg: Msg, lang: str, values: dict, words, formula) -> str:
    """``msg`` in ``lang``: the words between formulas through ``words(text)``, each marked
    formula through ``formula(source, values)``. An argument outside a formula is a formula of
    its own (a tuple argument: one formula per item, joined by commas)."""
    out = []
    for is_formula, source in msg.parts(lang):
        if is_formula:
            out.append(formula(source, values))
            continue
        for i, piece in enumerate(FIELD.split(source)):
            if i % 2 == 0:
                out.append(words(piece))
            elif piece not in values:
                out.append(words(f"{{{piece}}}"))
            elif isinstance(values[piece], tuple):
                out.append(msg.list_sep(lang).join(formula("{v}", {"v": v}) for v in values[piece]))
            else:
                out.append(formula(f"{{{piece}}}", values))
    return "".join(out)


class Renderer:
    """Base: the walk over the steps; a format is the ``_render_<kind>`` methods and the notation
    of its mathematics (``math``) and of its words (``words``)."""

    # the kinds of step shown; a run of equations is one "equation" block
    kinds = ("heading", "note", "equation", "table")

    def __init__(self, derivation, *, show_steps: bool = True, lang: str = "en", verbose: bool = False,
                 **opts):
        self.d = derivation
        self.show_steps = show_steps
        self.lang = lang
        # with verbose, the words meant for checking (Msg audience "check") are shown too
        self.verbose = verbose
        self.opts = opts

    def math(self, expr, order=None) -> str:
        """An expression in this format's notation, without delimiters, its sums in ``order``
        (a ``printing.Order``: as the derivation showed them)."""
        raise NotImplementedError

    def values(self, msg: Msg) -> dict:
        """The arguments of ``msg`` in this format's notation (a tuple argument item by item)."""
        return {k: tuple(map(self.inline, v)) if isinstance(v, (tuple, list)) else self.inline(v)
                for k, v in msg.values().items()}

    def inline(self, expr) -> str:
        """``expr`` as an argument of a sentence; a format whose inline formulas break only at
        their top level writes it so that it can (``latex.inline_breakable``)."""
        return self.math(expr)

    def shows(self, msg: Msg | None) -> bool:
        """Whether any part of ``msg`` is shown: it is for the student, or verbose is on."""
        return msg is not None and any(self.verbose or m.audience == "student" for m in msg.chain())

    def words(self, msg: Msg | None, audience: str | None = None, write=None) -> str:
        """A message in ``self.lang`` as this format writes words (``write``, by default
        ``self.write``): the parts shown (``shows``), or with ``audience`` the parts for that
        audience only."""
        write = write or self.write
        out = ""
        for m in msg.chain() if msg is not None else ():
            if m.audience == audience or (audience is None and self.shows(m)):
                out = join(out, write(m, self.values(m)), self.lang)
        return out

    def write(self, msg: Msg, values: dict) -> str:
        """``msg`` with its arguments' ``values``; plain text here: the marks dropped."""
        return msg.render(self.lang, values)

    def blocks(self):
        """The steps shown (those of ``kinds``), in order, as ``(kind, what to render)``: a
        heading's or a note's ``Msg``, a ``Table``, or a run of consecutive equations (one
        aligned display) as a list of steps."""
        run = []
        for s in self.d.steps:
            if (s.kind not in self.kinds or (s.kind == "note" and not self.shows(s.note))
                    or (s.audience != "student" and not self.verbose)):
                continue
            if s.kind == "equation":
                run.append(s)
                continue
            if run:
                yield "equation", run
                run = []
            yield s.kind, (s.table if s.kind == "table" else s.note)
        if run:
            yield "equation", run

    def sections(self) -> list:
        """What ``_render_<kind>`` returns for the title, each block of steps (with
        ``show_steps``), the "Results" heading and the results, in order."""
        out = [self._render_title(self.d.title)]
        results = self.results()
        if self.show_steps:
            out += [getattr(self, f"_render_{kind}")(item) for kind, item in self.blocks()]
            if results:
                out.append(self._render_heading(RESULTS))
        if results:
            out.append(self._render_results(results))
        return out

    def results(self) -> list:
        """The results shown: those for the student, and with ``verbose`` the checkable forms."""
        return [r for r in self.d.results if self.verbose or r.audience == "student"]

    def cell(self, c) -> str:
        """A table cell: words (``Msg`` or str) or an expression."""
        if isinstance(c, str):
            c = Msg(c)
        return self.words(c) if isinstance(c, Msg) else self.math(c)

    def rule_text(self, step, words=None) -> str:
        """The annotation of an equation: its rule's name and its note, through ``words``."""
        words = words or self.words
        name = words(rule_msg(step.rule))
        extra = words(step.note)
        if step.rule in ("definition", "differentiate") and extra:
            return extra
        colon = "：" if self.lang == "zh" else ": "
        return f"{name}{colon}{extra}" if extra else name

    def render(self) -> str:
        raise NotImplementedError


def render(derivation, fmt: str, **opts) -> str:
    import importlib

    # only the asked format's renderer is imported: the HTML and LaTeX ones (and rich, for text)
    # cost a noticeable part of a cold run's start-up
    renderers = {
        "text": ("text", "TextRenderer"),
        "latex": ("latex", "LatexRenderer"),
        "markdown": ("markdown", "MarkdownRenderer"),
        "json": ("json", "JsonRenderer"),
        "html": ("html", "HtmlRenderer"),
    }
    if fmt not in renderers:
        raise said(f"unknown format {fmt!r}; formats: {', '.join(renderers)}",
                   f"没有格式 {fmt!r}；格式有：{', '.join(renderers)}")
    module, cls = renderers[fmt]
    return getattr(importlib.import_module(f"{__name__}.{module}"), cls)(derivation, **opts).render()
