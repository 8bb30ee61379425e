"""NumPy side of derive: compiled gradients, finite differences, gradient checks, training.

Names are imported on first use, so that importing ``numeric`` stays light and a module that
is missing or broken only fails the names that come from it. To export a name, add it to
``_EXPORTS`` (name -> submodule).
"""

from importlib import import_module

_EXPORTS = {
    "compile_model": "compiled",
    "CompiledModel": "compiled",
    "check_grad": "check",
    "check_model_file": "check",
    "train": "training",
    "train_model": "training",
    "History": "training",
    "TrainingDiverged": "training",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'numeric' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
