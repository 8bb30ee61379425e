"""Matrix calculus for ``derive expr --shape``: gradients and Hessians of vector and matrix
expressions, shown in index form and in matrix form, every line verified.

The engine (``derive.matrix.derivation``) is imported on first use: a stored derivation that only
displays matrix expressions (``Shown``) is read without it."""

from .shown import Shown

__all__ = ["matrix_derivation", "MatrixDerivation", "Shown"]


def __getattr__(name: str):
    if name in ("matrix_derivation", "MatrixDerivation"):
        from . import derivation

        return getattr(derivation, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
