"""Speed of ``numeric.compile_model(...).grad`` against hand-written NumPy (and PyTorch eager and
jax.jit when they are installed), on three cases:

* logistic regression, N = 100,000 examples, d = 100 features;
* a sum of H = 50 sigmoids of 1 feature, N = 100,000, squared error;
* an MLP 64-32-10 with sigmoid hidden units and softmax cross-entropy, 1,797 examples
  (random data with the shape of the scikit-learn digits set).

Everything runs in one process; the implementations are timed alternately, round after round (the
order rotates every round), and the medians are compared, so that a noisy machine slows all of
them alike. Before timing, each compiled gradient is checked against central differences of the
compiled loss on a few random coordinates, and against the hand-written gradient.

Also times ``compile_model`` for the sum of sigmoids with H = 5 and H = 500 (derived rules and
generated kernels cleared before every compile).

The logistic gradient reads all of X (80 MB, more than the caches): the run also times one read
of X (``X.sum()``, and ``X·w`` by ``np.einsum``, a streaming dot) among the others and states the
compiled gradient's time over it, in wall time and in the CPU time of the calling thread, where
all three run (the process's CPU time would also count the threads other libraries leave
spinning between their calls).

    python benchmarks/bench_grad.py               # full run (about a minute)
    python benchmarks/bench_grad.py --quick       # fewer rounds
    python benchmarks/bench_grad.py --threads 1   # every library at one thread
"""

from __future__ import annotations

import argparse
import gc
import os

# PyTorch's OpenMP threads otherwise spin after each call and take the CPU from whatever runs
# next in the alternation (measured: the NumPy MLP gradients slowed 2x beside an idle torch).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import platform
import statistics
import sys
import time

import numpy as np
from threadpoolctl import threadpool_info

import derive
import numeric
import numeric.native
from numeric import compiled as compiled_module
from numeric.threads import SMALL_WORK

# What --threads 1 sets before the libraries load (XLA reads its flags at its first computation).
_ONE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
_ONE_THREAD_MARK = "DERIVE_BENCH_ONE_THREAD"

# --------------------------------------------------------------------------------------------
# Hand-written NumPy: the straightforward vectorized code of the course notes.


def hand_logistic(P, X, y):
    m = X.shape[0]
    z = X @ P["w"] + P["b"]
    a = 1 / (1 + np.exp(-z))
    dz = a - y
    return {"w": X.T @ dz / m, "b": dz.mean()}


def hand_sigmoid_sum(P, X, y):
    m = X.shape[0]
    U = X @ P["W"].T + P["b_hidden"]
    A = 1 / (1 + np.exp(-U))
    yhat = A @ P["c"] + P["b"]
    r = 2 * (yhat - y) / m
    dU = np.outer(r, P["c"]) * A * (1 - A)
    return {"W": dU.T @ X, "b_hidden": dU.sum(axis=0), "c": A.T @ r, "b": r.sum()}


def hand_mlp(P, X, y):
    m = X.shape[0]
    Z1 = X @ P["W1"] + P["b1"]
    A1 = 1 / (1 + np.exp(-Z1))
    Z2 = A1 @ P["W2"] + P["b2"]
    E = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    Yhat = E / E.sum(axis=1, keepdims=True)
    Y = np.zeros_like(Yhat)
    Y[np.arange(m), y] = 1
    dZ2 = (Yhat - Y) / m
    dA1 = dZ2 @ P["W2"].T
    dZ1 = dA1 * A1 * (1 - A1)
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}


# --------------------------------------------------------------------------------------------
# Optional frameworks (float64, same losses).


def torch_grad(case):
    try:
        import torch
    except ImportError:
        return None, "PyTorch not installed"
    torch.set_default_dtype(torch.float64)
    X = torch.from_numpy(case["X"])
    if case["name"] == "mlp":
        y = torch.from_numpy(case["y"].astype(np.int64))
    else:
        y = torch.from_numpy(case["y"])

    def loss(P):
        if case["name"] == "logistic":
            z = X @ P["w"] + P["b"]
            return torch.nn.functional.binary_cross_entropy_with_logits(z, y)
        if case["name"] == "sigmoid-sum":
            yhat = torch.sigmoid(X @ P["W"].T + P["b_hidden"]) @ P["c"] + P["b"]
            return ((yhat - y) ** 2).mean()
        hidden = torch.sigmoid(X @ P["W1"] + P["b1"])
        return torch.nn.functional.cross_entropy(hidden @ P["W2"] + P["b2"], y)

    def grad(P_np):
        P = {k: torch.tensor(v, requires_grad=True) for k, v in P_np.items()}
        loss(P).backward()
        return {k: v.grad.numpy() for k, v in P.items()}

    return grad, "PyTorch eager"


def jax_grad(case):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
    except ImportError:
        return None, "JAX not installed"
    X = jnp.asarray(case["X"])
    y = jnp.asarray(case["y"])

    def loss(P):
        if case["name"] == "logistic":
            z = X @ P["w"] + P["b"]
            return jnp.mean(jax.nn.softplus(z) - y * z)
        if case["name"] == "sigmoid-sum":
            yhat = jax.nn.sigmoid(X @ P["W"].T + P["b_hidden"]) @ P["c"] + P["b"]
            return jnp.mean((yhat - y) ** 2)
        hidden = jax.nn.sigmoid(X @ P["W1"] + P["b1"])
        logp = jax.nn.log_softmax(hidden @ P["W2"] + P["b2"])
        return -jnp.mean(logp[jnp.arange(X.shape[0]), y])

    g = jax.jit(jax.grad(loss))

    def grad(P_np):
        out = g({k: jnp.asarray(v) for k, v in P_np.items()})
        return {k: np.asarray(v.block_until_ready()) for k, v in out.items()}

    return grad, "jax.jit"


# --------------------------------------------------------------------------------------------
# Cases


def make_cases():
    rng = np.random.default_rng(20240501)
    cases = []

    X = rng.standard_normal((100_000, 100))
    w_true = rng.standard_normal(100) / 10
    y = (rng.random(100_000) < 1 / (1 + np.exp(-(X @ w_true)))).astype(np.float64)
    cases.append(dict(name="logistic", title="logistic N=100,000 d=100",
                      model=derive.model("logistic", features=100), X=X, y=y, hand=hand_logistic, inner=1))

    x = rng.uniform(-3, 3, size=(100_000, 1))
    y = np.sin(2 * x[:, 0]) + 0.1 * rng.standard_normal(100_000)
    cases.append(dict(name="sigmoid-sum", title="sigmoid-sum H=50 1 feature N=100,000",
                      model=derive.model("sigmoid-sum", features=1, hidden=50), X=x, y=y,
                      hand=hand_sigmoid_sum, inner=1))

    X = rng.integers(0, 17, size=(1797, 64)).astype(np.float64) / 16
    y = rng.integers(0, 10, size=1797)
    cases.append(dict(name="mlp", title="mlp 64-32-10 sigmoid, 1,797 examples",
                      model=derive.model("mlp", features=64, hidden=32, classes=10), X=X, y=y,
                      hand=hand_mlp, inner=10))
    return cases


def check(case, cm, P):
    """Compiled gradient vs central differences of the compiled loss, and vs hand-written."""
    X, y = case["X"], case["y"]
    g = cm.grad(P, X, y)
    hand = case["hand"](P, X, y)
    for k in g:
        if not np.allclose(g[k], hand[k], rtol=1e-7, atol=1e-10):
            raise SystemExit(f"{case['name']}: compiled grad[{k}] differs from the hand-written one")
    rng = np.random.default_rng(7)
    worst = 0.0
    for k, v in P.items():
        for _ in range(3):
            idx = tuple(int(rng.integers(0, n)) for n in v.shape)
            h = 1e-5 * max(1.0, abs(float(v[idx])))
            plus = {kk: vv.copy() for kk, vv in P.items()}
            minus = {kk: vv.copy() for kk, vv in P.items()}
            plus[k][idx] += h
            minus[k][idx] -= h
            fd = (cm.loss(plus, X, y) - cm.loss(minus, X, y)) / (2 * h)
            err = abs(fd - g[k][idx]) / max(1e-8, abs(fd), abs(g[k][idx]))
            worst = max(worst, err)
    if worst > 1e-4:
        raise SystemExit(f"{case['name']}: compiled grad differs from central differences ({worst:.1e})")
    return worst


def interleaved(funcs: dict, rounds: int, inner: int, cpu: dict | None = None) -> dict:
    """Median seconds per call of each function, timed alternately; the medians of the calling
    thread's CPU seconds go to ``cpu`` when given (on a shared machine they do not count the time
    the other processes had the cores, nor the threads other libraries leave spinning)."""
    samples = {name: [] for name in funcs}
    cpu_samples = {name: [] for name in funcs}
    names = list(funcs)
    for f in funcs.values():  # warm up: buffers, caches, JIT
        f()
        f()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                f = funcs[name]
                c0, t0 = time.thread_time(), time.perf_counter()
                for _ in range(inner):
                    f()
                samples[name].append((time.perf_counter() - t0) / inner)
                cpu_samples[name].append((time.thread_time() - c0) / inner)
    finally:
        if gc_was_enabled:
            gc.enable()
    if cpu is not None:
        cpu.update({name: statistics.median(s) for name, s in cpu_samples.items()})
    return {name: statistics.median(s) for name, s in samples.items()}


def bench_compile(repeats: int):
    times = {5: [], 500: []}
    for _ in range(repeats):
        for h in (5, 500):
            compiled_module.clear_cache()
            model = derive.model("sigmoid-sum", features=1, hidden=h)
            t0 = time.perf_counter()
            numeric.compile_model(model)
            times[h].append(time.perf_counter() - t0)
    return {h: statistics.median(t) for h, t in times.items()}


# One read of X, timed beside the gradients of the logistic case.
READS = ("X.sum()", "X·w (np.einsum)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=41, help="timing rounds per case (default 41)")
    parser.add_argument("--quick", action="store_true", help="11 rounds")
    parser.add_argument("--case", action="append", choices=["logistic", "sigmoid-sum", "mlp"],
                        help="run only this case (repeatable)")
    parser.add_argument("--threads", choices=["default", "1"], default="default",
                        help="1: OpenBLAS, OpenMP, PyTorch and XLA at one thread (default: their own)")
    args = parser.parse_args(argv)
    rounds = 11 if args.quick else args.rounds
    if args.threads == "1" and os.environ.get(_ONE_THREAD_MARK) != "1":
        # the libraries read their thread counts when they load: start again with them set
        os.environ.update(_ONE_THREAD_ENV, **{_ONE_THREAD_MARK: "1"})
        os.execv(sys.executable, [sys.executable, *sys.argv])
    if args.threads == "1":
        try:
            import torch
        except ImportError:
            pass
        else:
            torch.set_num_threads(1)
            torch.set_num_interop_threads(1)

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{rounds} interleaved rounds per case; medians\n")
    np.seterr(over="ignore")  # the hand-written 1/(1+exp(-z)) may overflow harmlessly

    blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    print(f"threads: {args.threads} (BLAS libraries at {', '.join(map(str, blas)) or 'none'} thread(s))")
    rows = []
    reads = []
    notes = []
    threads = []  # the BLAS threads numeric.threads chose for each compiled gradient
    paths = []    # how the affine gradient read X
    for case in make_cases():
        if args.case and case["name"] not in args.case:
            continue
        cm = numeric.compile_model(case["model"])
        P = cm.init_params(seed=0)
        X, y = case["X"], case["y"]
        fd_err = check(case, cm, P)
        if case["name"] == "logistic":     # its X is read from memory: the C loop, if it was built
            how = numeric.native.status()
            paths.append(f"{case['title']}: " + ("X read once by numeric.native's C loop, " + how["why"]
                                                  if how["path"] == "native" else f"NumPy blocks ({how['why']})"))
        funcs = {
            "compiled": lambda cm=cm, P=P, X=X, y=y: cm.grad(P, X, y),
            "hand NumPy": lambda case=case, P=P, X=X, y=y: case["hand"](P, X, y),
        }
        for factory in (torch_grad, jax_grad):
            g, label = factory(case)
            if g is None:
                if label not in notes:
                    notes.append(label)
                continue
            other = g(P)
            ours = cm.grad(P, X, y)
            if not all(np.allclose(other[k], ours[k], rtol=1e-6, atol=1e-9) for k in ours):
                raise SystemExit(f"{case['name']}: {label} gradient differs from the compiled one")
            funcs[label] = lambda g=g, P=P: g(P)
        if case["name"] == "logistic":
            z = np.empty(len(X))
            funcs[READS[0]] = X.sum
            funcs[READS[1]] = lambda X=X, w=P["w"], z=z: np.einsum("ij,j->i", X, w, out=z)
        cpu = {}
        med = interleaved(funcs, rounds, case["inner"], cpu)
        rows.append((case["title"], med, fd_err))
        if case["name"] == "logistic":
            reads.append((case["title"], med, cpu))
        work = len(X) * cm.n_params
        choice = "one thread" if work < SMALL_WORK else "the BLAS default"
        threads.append(f"{case['title']}: {choice} (examples × parameters = {work:,}, "
                       f"{'below' if work < SMALL_WORK else 'at least'} {SMALL_WORK:,})")

    labels = ["compiled", "hand NumPy", "PyTorch eager", "jax.jit"]
    present = [l for l in labels if any(l in med for _, med, _ in rows)]
    head = f"{'case':<40}" + "".join(f"{l + ' ms':>18}" for l in present) + f"{'compiled/hand':>15}"
    others = [l for l in present if l not in ("compiled", "hand NumPy")]
    if others:
        head += f"{'compiled/best other':>21}"
    print(head + f"{'FD rel err':>12}")
    for title, med, fd_err in rows:
        line = f"{title:<40}"
        for l in present:
            line += f"{med[l] * 1e3:>18.3f}" if l in med else f"{'-':>18}"
        line += f"{med['compiled'] / med['hand NumPy']:>15.2f}"
        if others:
            best = min((med[l] for l in others if l in med), default=None)
            line += f"{med['compiled'] / best:>21.2f}" if best else f"{'-':>21}"
        print(line + f"{fd_err:>12.1e}")
    for note in notes:
        print(f"note: {note}; skipped")
    for title, med, cpu in reads:
        for what, t in (("wall", med), ("CPU of the calling thread", cpu)):
            print(f"\none read of X ({title}), {what}: compiled {t['compiled'] * 1e3:.3f} ms, "
                  + ", ".join(f"{r} {t[r] * 1e3:.3f} ms" for r in READS)
                  + "; compiled / one read: " + ", ".join(f"{t['compiled'] / t[r]:.2f}" for r in READS), end="")
        print()
    print("\nBLAS threads of the compiled gradients (numeric.threads; the others run at the default):")
    for line in threads:
        print(f"  {line}")
    for line in paths:
        print(f"\nHow the compiled gradient read X: {line}")

    comp = bench_compile(repeats=3 if args.quick else 7)
    print(f"\ncompile_model(sigmoid-sum): H=5 {comp[5] * 1e3:.1f} ms, H=500 {comp[500] * 1e3:.1f} ms, "
          f"ratio H=500/H=5 {comp[500] / comp[5]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
