"""Module constants worked out on first use, so that a model whose derivation the package ships
(``derive.stored``) imports none of what only building it needs (the matrix-calculus engine)."""

from __future__ import annotations

from typing import Callable


def lazy_constants(namespace: dict, **makers: Callable[[], object]) -> Callable[[str], object]:
    """A module ``__getattr__`` (PEP 562) giving each name of ``makers`` the value its maker
    returns, made once and kept in ``namespace``.

    The module's own code calls the maker itself (a name looked up inside the module does not
    reach ``__getattr__``); the makers are cached so that both see one value."""
    def __getattr__(name: str):
        if name not in makers:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")
        namespace[name] = value = makers[name]()
        return value

    return __getattr__
