"""JSON view, the contract other tools rely on:

``{"model", "title", "steps": [{"rule", "text", "latex"}], "results": [{"name", "of", "wrt",
"value", "display", "latex"}]}``; ``of``, ``wrt``, ``value`` and ``display`` are ``sympy.srepr``
strings, and ``of``/``wrt``/``value`` use SymPy built-ins only, so that
``sympy.diff(of, wrt) == value`` can be checked by anyone. A matrix result of ``derive expr --shape``
(``derive.matrix``) is the exception: its ``value`` and ``numpy`` are NumPy code in the input's names,
its ``display`` the matrix form's text, and ``shape`` its shape in words.

Words about verification (a ``Msg`` for the audience "check": where and how a line was checked)
are kept apart, under ``"check"`` in a step or a result; a note that is only about verification
has ``"audience": "check"``.
"""

from __future__ import annotations

import json

import sympy as sp

from .. import printing
from ..messages import rule_name
from . import Renderer


def as_dict(d, lang: str = "en") -> dict:
    r = JsonRenderer(d, lang=lang)
    return r.data()


class JsonRenderer(Renderer):
    def math(self, expr, order=None) -> str:
        return printing.text(expr, partial=self.d.partial, order=order)

    def _latex(self, expr, order=None) -> str:
        return printing.latex(expr, partial=self.d.partial, order=order)

    def _checks(self, msg) -> dict:
        """``{"check": words}`` for the parts of ``msg`` about verification, if it has any."""
        check = self.words(msg, "check")
        return {"check": check} if check else {}

    def _step(self, s) -> dict:
        if s.kind == "equation":
            return {
                "kind": "equation",
                "rule": rule_name(s.rule, self.lang),
                "note": self.words(s.note, "student"),
                **self._checks(s.note),
                "text": f"{self.math(s.lhs)} = {self.math(s.rhs, s.order)}",
                "latex": f"{self._latex(s.lhs)} = {self._latex(s.rhs, s.order)}",
                "verified": s.verified,
                **({"audience": s.audience} if s.audience != "student" else {}),
            }
        if s.kind == "table":
            return {
                "kind": "table",
                "rule": "table",
                "columns": [self.words(c) for c in s.table.columns],
                "rows": [[self.cell(c) for c in row] for row in s.table.rows],
                "text": "",
                "latex": "",
            }
        out = {"kind": s.kind, "rule": s.kind, "text": self.words(s.note, "student"), "latex": ""}
        if s.note is not None and not any(m.audience == "student" for m in s.note.chain()):
            out["audience"] = "check"
        return {**out, **self._checks(s.note)}

    def _result(self, r) -> dict:
        out = {"name": r.name}
        if r.of is not None:
            out["of"] = sp.srepr(r.of)
            out["wrt"] = sp.srepr(r.wrt)
        out["value"] = sp.srepr(r.value)
        out["display"] = sp.srepr(r.display)
        lhs = self._latex(r.lhs) if r.lhs is not None else self._latex(sp.Symbol(r.name))
        out["latex"] = f"{lhs} = {self._latex(r.display, r.order)}"
        # the line as the text view shows it: the notes' name, or the left-hand side; the key
        # (``name``) is for programs and may be English in any language
        shown = r.name if r.lhs is None else (r.label or self.math(r.lhs))
        out["text"] = f"{shown} = {self.math(r.display, r.order)}"
        if r.audience != "student":
            out["audience"] = r.audience
        return {**out, **self._checks(r.note)}

    def data(self) -> dict:
        return {
            "model": self.d.model,
            "title": self.words(self.d.title),
            "steps": [self._step(s) for s in self.d.steps],
            "results": [self._result(r) for r in self.d.results],
        }

    def render(self) -> str:
        return json.dumps(self.data(), ensure_ascii=False, indent=2) + "\n"
