"""derive: step-by-step, verified gradient derivations for the models of a deep-learning course.

>>> import derive
>>> d = derive.derivation("logistic")
>>> print(d.result("dz").display)
a - y
"""

from __future__ import annotations

from .errors import DeriveError

# the one place the version is written (pyproject.toml reads it), so `derive --version` need not
# read the installed package's metadata
__version__ = "0.1.0"

# SymPy functions, imported on first use: `derive --help` and a cached replay never need SymPy
_FUNCTIONS = ("sigmoid", "relu", "leaky_relu", "softplus", "hard_sigmoid")

__all__ = [
    "DeriveError",
    "model",
    "model_names",
    "derivation",
    "expr_derivation",
    "sigmoid",
    "relu",
    "leaky_relu",
    "softplus",
    "hard_sigmoid",
]


def __getattr__(name):
    if name not in _FUNCTIONS:
        raise AttributeError(f"module 'derive' has no attribute {name!r}")
    from . import functions

    value = getattr(functions, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_FUNCTIONS))


def model_names() -> list[str]:
    """Names of the built-in models, in the order the notes teach them."""
    from .models import registry

    return registry.names()


def model(name: str, **options):
    """The model ``name`` with its options (``features=``, ``hidden=``, ``classes=``,
    ``activation=`` where the model has them)."""
    from .models import registry

    return registry.get(name)(**options)


def derivation(name: str, **options):
    """The verified step-by-step derivation of model ``name`` (see ``model`` for options)."""
    return model(name, **options).derivation()


def expr_derivation(text: str, wrt=None, **options):
    """Verified step-by-step derivatives of an expression (see ``derive.expr``).

    >>> import derive
    >>> print(derive.expr_derivation("(3*x**2 + 2)**4").results[0].display)
    24*x*(3*x**2 + 2)**3
    """
    from .expr import expr_derivation as build  # the parser loads only when asked for

    return build(text, wrt, **options)
