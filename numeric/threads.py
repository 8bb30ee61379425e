"""How many BLAS threads a computation gets: one for a small problem, the library's default for a
large one.

A second BLAS thread pays for itself only when each matrix product is long: on short ones it
spin-waits between calls. The MLP 64-32-10 gradient on the 1,797 digits (m × parameters = 4.3
million multiply-adds) took 0.9 ms of CPU with one OpenBLAS thread and 16 ms with two on a
loaded 2-core machine, the machine a student runs this on beside other programs. Problems of
``SMALL_WORK`` multiply-adds and more keep the default, so that a large product still uses every
core. ``benchmarks/bench_grad.py`` states the choice for each of its cases.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

# One forward pass of this many multiply-adds (examples × parameters) or more uses the default.
SMALL_WORK = 10**8

__all__ = ["blas_threads", "SMALL_WORK"]


@lru_cache(maxsize=1)
def _controller():
    # inspecting the loaded libraries takes ~10 ms: once per process, at the first small problem
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@lru_cache(maxsize=1)
def _blas_libraries() -> tuple:
    return tuple(_controller().select(user_api="blas").lib_controllers)


class _OneThread:
    """BLAS at one thread inside the ``with``, its previous counts restored after.

    ``ThreadpoolController.limit`` costs ~30 µs a call, as much as a whole small gradient; this
    calls the libraries' own get/set functions (~1 µs each) and sets nothing when they already
    run one thread (``OPENBLAS_NUM_THREADS=1``, or inside another such block)."""

    __slots__ = ("saved",)

    def __enter__(self):
        self.saved = [(lib, n) for lib in _blas_libraries() if (n := lib.get_num_threads()) != 1]
        for lib, _ in self.saved:
            lib.set_num_threads(1)
        return self

    def __exit__(self, *exc):
        for lib, n in self.saved:
            lib.set_num_threads(n)
        return False


def blas_threads(work: int):
    """The context to run a computation of ``work`` multiply-adds in.

    Parameters
    ----------
    work : int
        The size of the problem: for a model's gradient, examples × parameters (one forward
        pass's multiply-adds).

    Returns
    -------
    context manager
        BLAS limited to one thread while it is active when ``work < SMALL_WORK``; else a
        context that changes nothing.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.ones((100, 100))
    >>> with blas_threads(A.size * 100):
    ...     float((A @ A)[0, 0])
    100.0
    """
    if work >= SMALL_WORK:
        return contextlib.nullcontext()
    return _OneThread()
