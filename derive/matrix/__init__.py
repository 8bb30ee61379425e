"""Matrix calculus for ``derive expr --shape``: gradients and Hessians of vector and matrix
expressions, shown in index form and in matrix form, every line verified."""

from .derivation import MatrixDerivation, Shown, matrix_derivation

__all__ = ["matrix_derivation", "MatrixDerivation", "Shown"]
