"""The registry of models: every module in this package that defines a ``Model`` subclass
with a ``name`` is a model. Adding a model means adding a file."""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from ..errors import DeriveError
from .base import Model


class Registry:
    @lru_cache(maxsize=1)
    def _models(self) -> dict[str, type[Model]]:
        found = {}
        for info in pkgutil.iter_modules(__path__):
            if info.name.startswith("_") or info.name == "base":
                continue
            module = importlib.import_module(f"{__name__}.{info.name}")
            for obj in vars(module).values():
                if (
                    isinstance(obj, type)
                    and issubclass(obj, Model)
                    and obj.__module__ == module.__name__
                    and getattr(obj, "name", None)
                ):
                    found[obj.name] = obj
        return dict(sorted(found.items(), key=lambda kv: (kv[1].order, kv[0])))

    def names(self) -> list[str]:
        """Model names in the order the notes teach them."""
        return list(self._models())

    def get(self, name: str) -> type[Model]:
        models = self._models()
        if name not in models:
            raise DeriveError(f"unknown model {name!r}; models: {', '.join(models)}")
        return models[name]


registry = Registry()
