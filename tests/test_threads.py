"""BLAS threads follow the problem size: one for a small product, the default for a large one."""

import numpy as np
from threadpoolctl import threadpool_info

import derive
import numeric
from numeric.threads import SMALL_WORK, blas_threads


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_a_small_problem_runs_on_one_blas_thread_and_the_default_comes_back():
    default = _blas_threads()
    assert default, "NumPy's BLAS is not visible to threadpoolctl"
    with blas_threads(SMALL_WORK - 1):
        assert _blas_threads() == [1] * len(default)
    assert _blas_threads() == default
    with blas_threads(SMALL_WORK):
        assert _blas_threads() == default


def test_the_compiled_gradient_of_a_small_mlp_runs_on_one_thread(monkeypatch):
    cm = numeric.compile_model(derive.model("mlp", features=8, hidden=4, classes=3))
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 8)), rng.integers(0, 3, 50)
    seen = []
    compute = cm._grad

    def watched(*args):
        seen.append(_blas_threads())
        return compute(*args)

    monkeypatch.setattr(cm, "_grad", watched)
    cm.grad(cm.init_params(seed=0), X, y)
    assert seen == [[1] * len(_blas_threads())]
