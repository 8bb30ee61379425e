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
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

# One forward pass of this many multiply-adds (examples × parameters) or more uses the default.
SMALL_WORK = 10**8

# A Python thread takes a share of a row-split computation only when it gets at least this many
# blocks: handing it work costs ~50 µs, a cache-sized block ~0.1 ms.
MIN_BLOCKS_PER_THREAD = 4

__all__ = ["blas_threads", "SMALL_WORK", "MIN_BLOCKS_PER_THREAD", "threads_allowed", "split_blocks"]

# The BLAS thread counts that the enclosing one-thread blocks replaced, innermost last: what the
# user allows (the library default, OPENBLAS_NUM_THREADS, threadpoolctl's limits) is read there.
_replaced: list = []


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
        if self.saved:
            _replaced.append(max(n for _, n in self.saved))
        return self

    def __exit__(self, *exc):
        for lib, n in self.saved:
            lib.set_num_threads(n)
        if self.saved:
            _replaced.pop()
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


@lru_cache(maxsize=1)
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS and Windows have no affinity mask
        return os.cpu_count() or 1


def threads_allowed() -> int:
    """How many threads a computation may use: the BLAS thread count the user allows, at most the
    cores this process may run on.

    Inside ``blas_threads``' one-thread block the count read is the one the block replaced, so a
    small problem's block does not hide what the user allows. ``OPENBLAS_NUM_THREADS=1`` or
    ``threadpoolctl.threadpool_limits(1)`` make it 1.

    Returns
    -------
    int
    """
    if _replaced:
        allowed = _replaced[-1]
    else:
        allowed = max((lib.get_num_threads() for lib in _blas_libraries()), default=_cores())
    return max(1, min(allowed, _cores()))


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    # made at the first split, kept for the process: starting threads per call costs ~100 µs
    return ThreadPoolExecutor(max_workers=max(1, _cores() - 1), thread_name_prefix="derive-rows")


def split_blocks(task, n_blocks: int, threads: int) -> None:
    """Run ``task(k, j)`` for every block ``j`` in ``0 … n_blocks−1``, on ``threads`` threads.

    Thread ``k`` (0 is the caller's, the others the pool's) takes the next block not yet taken
    until none is left, so a thread that the machine's other programs hold up does fewer blocks
    instead of keeping the others waiting. BLAS is held to one thread meanwhile, so that the
    Python threads do not oversubscribe the cores (threadpoolctl's limits are process-wide: set
    once around the whole split). ``task`` writes each block's result to a slot of its own;
    combining them in block order afterwards makes the result independent of who did which block.

    Parameters
    ----------
    task : callable
        ``task(k, j)`` computes block ``j`` with thread ``k``'s scratch arrays.
    n_blocks : int
    threads : int
        At least 1.

    Examples
    --------
    >>> done = []
    >>> split_blocks(lambda k, j: done.append(j), 5, 2)
    >>> sorted(done)
    [0, 1, 2, 3, 4]
    """
    taken = itertools.count()   # next() on it is one C call: atomic under the GIL

    def work(k):
        while (j := next(taken)) < n_blocks:
            task(k, j)

    with _OneThread():
        pending = [_pool().submit(work, k) for k in range(1, threads)]
        try:
            work(0)
        finally:
            for future in pending:
                future.result()
