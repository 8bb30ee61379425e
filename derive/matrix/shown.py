"""A matrix expression as displayed, on its own so that a stored derivation holding one (see
``derive.stored``) is read without importing the matrix engine."""

from __future__ import annotations

import sympy as sp


class Shown(sp.Expr):
    """A matrix expression as displayed: its text and LaTeX (``Shown.of(node)``). The lines
    showing it are verified on concrete instances (``check``), never through this object."""

    def __new__(cls, text, latex):
        return sp.Expr.__new__(cls, sp.core.symbol.Str(str(text)), sp.core.symbol.Str(str(latex)))

    @classmethod
    def of(cls, node) -> "Shown":
        """``node`` (a ``derive.matrix.tree.Node``) as the matrix engine writes it."""
        from . import tree

        return cls(tree.text(node), tree.latex(node))

    def _derive_text(self, printer):
        return self.args[0].name

    def _sympystr(self, printer):
        return self.args[0].name

    def _latex(self, printer):
        return self.args[1].name
