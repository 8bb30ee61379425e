"""Speed and accuracy of ``numeric.check.check_grad``.

1. Time for a full check (every coordinate) of a 5,110-parameter MLP: 64-68-10, tanh hidden
   units, softmax cross-entropy, 100 examples, loss and gradient in plain NumPy. The raw cost of
   the loss calls (2 per coordinate) is timed alongside, so the checker's own overhead shows.
2. Accuracy of each mode on smooth float64 models: the norm-wise error ‖a − n‖ / ‖a‖ of the
   numeric gradient against the hand-written analytic one (per block; the maximum is printed).
3. What a single number says: ``scipy.optimize.check_grad`` on the same MLP with one gradient
   entry off by 10%, next to what ``check_grad`` reports.
4. The price of isolation: a folder of small model files (examples/logistic_numpy.py, 20 times)
   checked in this process (``check_model_file``) and each in its own process
   (``numeric.check.summary.check_files``, as ``derive check-grad *.py`` does), wall time per file.
5. Large models: CS231n's TwoLayerNet at CIFAR size (3072-50-10, 20 examples, 154,160
   parameters) and at about 10⁶ parameters (3072-325-10), correct, with one W1 entry off by 10%
   and with W2's gradient doubled (tests/checkgrad_cases/relu_net.py). Loss calls, wall and CPU
   time of the directional path (the default above 50,000 parameters) and of the per-entry
   sampled path it replaces (``directional_above`` set past the model's size), and the blocks
   each names. BLAS is held to one thread (``threadpoolctl`` when installed): on a shared
   machine its idle threads spin and swamp the CPU figures.

    python benchmarks/bench_check_grad.py            # about half a minute
    python benchmarks/bench_check_grad.py --quick    # fewer repetitions, no complex-step MLP,
                                                     # section 5 without the 10⁶ model's old path
6. Scale, beside ``torch.autograd.gradcheck``: the same ReLU net at about 10⁴, 10⁵ and 10⁶
   parameters (189-50-10, 1989-50-10, 3072-325-10), correct, with one W1 entry off by 10% and
   with W2's gradient doubled. ``check_grad`` with its defaults (per entry up to 50,000
   parameters, directional above), then ``gradcheck`` in fast mode and in full mode on the same
   hand-written gradient (wrapped in a ``torch.autograd.Function`` whose backward returns it),
   when torch is importable (measurement only: derive never depends on it). Full mode takes two
   loss calls per parameter; a run the one-call timing predicts past ``--torch-budget`` seconds
   is reported with that estimate instead of being run.

    python benchmarks/bench_check_grad.py --large    # section 5 alone
    python benchmarks/bench_check_grad.py --scale    # section 6 alone

Timings are medians over repetitions; the machine's other load slows everything alike.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from numeric.check import check_grad


def mlp_problem(bad_entry: bool = False):
    """64-68-10 MLP with 100 examples: 64·68 + 68 + 68·10 + 10 = 5,110 parameters."""
    rng = np.random.default_rng(0)
    m, n, h, c = 100, 64, 68, 10
    X = rng.standard_normal((m, n))
    Y = np.eye(c)[rng.integers(0, c, m)]
    params = {
        "W1": rng.standard_normal((n, h)) / 8,
        "b1": rng.standard_normal(h) * 0.1,
        "W2": rng.standard_normal((h, c)) / 8,
        "b2": rng.standard_normal(c) * 0.1,
    }

    def loss(W1, b1, W2, b2):
        Z2 = np.tanh(X @ W1 + b1) @ W2 + b2
        Z2 = Z2 - Z2.real.max(axis=1, keepdims=True)      # .real: also runs on complex input
        return np.mean(np.log(np.exp(Z2).sum(axis=1)) - (Z2 * Y).sum(axis=1))

    def grad(W1, b1, W2, b2):
        A1 = np.tanh(X @ W1 + b1)
        Z2 = A1 @ W2 + b2
        P = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        dZ2 = (P - Y) / m
        dZ1 = (dZ2 @ W2.T) * (1 - A1 ** 2)
        g = {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}
        if bad_entry:
            g["W1"][7, 13] *= 1.1
        return g

    return loss, grad, params


def tanh_regression():
    """A small smooth model (26 parameters): mean squared error of tanh(X W) v + b."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 4)), rng.standard_normal(30)

    def loss(W, v, b):
        return np.mean((np.tanh(X @ W) @ v + b - y) ** 2)

    def grad(W, v, b):
        H = np.tanh(X @ W)
        r = 2 * (H @ v + b - y) / 30
        return {"W": X.T @ (np.outer(r, v) * (1 - H ** 2)), "v": H.T @ r, "b": r.sum()}

    return loss, grad, {"W": rng.standard_normal((4, 5)) * 0.5, "v": rng.standard_normal(5), "b": 0.3}


def timed(fn, repeat):
    """Median wall time, median CPU time of this process, and the last result."""
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--large", action="store_true", help="only the large models (section 5)")
    ap.add_argument("--scale", action="store_true", help="only 10⁴-10⁶ parameters beside torch (section 6)")
    ap.add_argument("--torch-budget", type=float, default=120.0, metavar="SECONDS",
                    help="skip a gradcheck whose estimated time is longer (section 6)")
    args = ap.parse_args()
    repeat = 3 if args.quick else 7
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, {platform.machine()}")
    if args.large:
        large_models(args.quick)
        return
    if args.scale:
        scale(args.torch_budget)
        return

    loss, grad, params = mlp_problem()
    n = sum(np.size(v) for v in params.values())
    print(f"\n1. Full check of a {n:,}-parameter MLP (64-68-10, 100 examples)")

    def raw_calls():
        for _ in range(2 * n):
            loss(**params)

    t_raw, c_raw, _ = timed(raw_calls, repeat)
    print(f"   {2 * n:,} loss calls alone:      wall {t_raw:6.3f} s  cpu {c_raw:6.3f} s  "
          f"({t_raw / (2 * n) * 1e6:.0f} µs per call)")
    for mode in ("auto", "richardson"):
        t, c, report = timed(lambda: check_grad(loss, grad, params, mode=mode), repeat)
        errs = ", ".join(f"{b.name} {b.rel_error:.1e}" for b in report.blocks)
        print(f"   check_grad mode={mode:<10}  wall {t:6.3f} s  cpu {c:6.3f} s  ok={report.ok}  "
              f"norm-wise error: {errs}")

    print("\n2. Accuracy (max norm-wise error over blocks, correct gradients)")
    problems = [("tanh regression, 26 params", tanh_regression()), ("MLP, 5,110 params", mlp_problem())]
    for label, (lo, gr, pa) in problems:
        for mode in ("central", "richardson", "complex"):
            if args.quick and mode == "complex" and label.startswith("MLP"):
                continue
            t, _, report = timed(lambda: check_grad(lo, gr, pa, mode=mode), 1)
            worst = max(b.rel_error for b in report.blocks)
            methods = sorted({b.method for b in report.blocks})
            print(f"   {label:<28} {mode:<10} {worst:8.1e}  ({', '.join(methods)}; {t:.2f} s)")

    print("\n3. One entry of W1 off by 10% (W1[7, 13])")
    loss, good_grad, params = mlp_problem()
    _, bad_grad, _ = mlp_problem(bad_entry=True)
    try:
        from scipy.optimize import check_grad as scipy_check_grad

        names = list(params)
        shapes = [params[k].shape for k in names]
        sizes = [params[k].size for k in names]

        def unflat(v):
            out, o = {}, 0
            for k, s, z in zip(names, shapes, sizes):
                out[k] = v[o:o + z].reshape(s)
                o += z
            return out

        x0 = np.concatenate([params[k].ravel() for k in names])
        for label, g in (("correct", good_grad), ("one entry off", bad_grad)):
            t = time.perf_counter()
            value = scipy_check_grad(lambda v: float(loss(**unflat(v))),
                                     lambda v: np.concatenate([a.ravel() for a in g(**unflat(v)).values()]), x0)
            print(f"   scipy.optimize.check_grad, {label + ':':<15} {value:.3e}  ({time.perf_counter() - t:.2f} s; "
                  "one number, ‖analytic − forward differences‖₂)")
    except ImportError:
        print("   scipy not installed")
    t = time.perf_counter()
    report = check_grad(loss, bad_grad, params)
    bad = [b for b in report.blocks if b.verdict == "fail"]
    print(f"   check_grad ({time.perf_counter() - t:.2f} s): " + "; ".join(f"{b.name}: {b.hint}" for b in bad))
    isolation(repeat)
    large_models(args.quick)


def large_models(quick):
    """Section 5: the directional path against the per-entry sampled path on large ReLU nets."""
    import runpy
    from pathlib import Path

    limit = _one_thread()
    make = runpy.run_path(str(Path(__file__).resolve().parent.parent / "tests" / "checkgrad_cases"
                              / "relu_net.py"))["make"]
    print("\n5. Large ReLU nets (loss calls, wall, CPU; blocks that fail)")
    with limit:
        for hidden in (50, 325):
            for bug in (None, "entry", "factor"):
                loss, grad, params = make(hidden=hidden, bug=bug)
                n = sum(v.size for v in params.values())
                paths = [("directional", 50_000)]
                if not (quick and hidden > 50):
                    paths.append(("per-entry sample", n))
                for path, above in paths:
                    calls = [0]

                    def counted(**kw):
                        calls[0] += 1
                        return loss(**kw)

                    t, c = time.perf_counter(), time.process_time()
                    report = check_grad(counted, grad, params, directional_above=above)
                    wall, cpu = time.perf_counter() - t, time.process_time() - c
                    failing = "; ".join(f"{b.name}: {b.cause}" for b in report.blocks if b.verdict == "fail")
                    print(f"   {n:>9,} params  {str(bug or 'correct'):<8} {path:<17} {calls[0]:>6,} calls  "
                          f"wall {wall:6.1f} s  cpu {cpu:6.1f} s  {'pass' if report.ok else 'FAIL'}"
                          + (f"  ({failing})" if failing else ""))


SIZES = ((189, 50), (1989, 50), (3072, 325))     # (features, hidden): about 10⁴, 10⁵, 10⁶ parameters


def _one_thread():
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
        return threadpool_limits(1)
    except ImportError:
        return contextlib.nullcontext()


def _torch_gradcheck(loss, grad, params, fast, budget):
    """``torch.autograd.gradcheck`` of the hand-written ``grad`` (as a Function's backward):
    (verdict, loss calls, wall seconds), or None and the estimated seconds past ``budget``
    (from the time of three calls through torch)."""
    import torch

    names = list(params)
    calls = [0]

    class Loss(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *tensors):
            kw = {n: t.detach().numpy() for n, t in zip(names, tensors)}
            ctx.kw = kw
            calls[0] += 1
            return torch.tensor(loss(**kw), dtype=torch.float64)

        @staticmethod
        def backward(ctx, g_out):
            g = grad(**ctx.kw)
            return tuple(g_out * torch.from_numpy(np.asarray(g[n], dtype=np.float64)) for n in names)

    inputs = tuple(torch.tensor(params[n], dtype=torch.float64, requires_grad=True) for n in names)
    t = time.perf_counter()
    with torch.no_grad():
        for _ in range(3):
            Loss.apply(*inputs)
    estimate = (2 if fast else 2 * sum(v.size for v in params.values()) + 2) * (time.perf_counter() - t) / 3
    if estimate > budget:
        return None, estimate, None
    calls[0] = 0
    t = time.perf_counter()
    try:
        ok = torch.autograd.gradcheck(Loss.apply, inputs, fast_mode=fast, raise_exception=False)
    except Exception as exc:                 # a gradcheck that cannot run says why, in the table
        return f"error: {type(exc).__name__}", calls[0], time.perf_counter() - t
    return ("pass" if ok else "FAIL"), calls[0], time.perf_counter() - t


def scale(budget):
    """Section 6: check_grad's defaults at 10⁴, 10⁵, 10⁶ parameters, beside torch's gradcheck."""
    import runpy
    from pathlib import Path

    try:
        import torch  # noqa: F401  (measurement only)
        have_torch = True
    except ImportError:
        have_torch = False
    make = runpy.run_path(str(Path(__file__).resolve().parent.parent / "tests" / "checkgrad_cases"
                              / "relu_net.py"))["make"]
    print("\n6. Scale: check_grad's defaults beside torch.autograd.gradcheck (loss calls, wall; blocks named)")
    with _one_thread():
        for features, hidden in SIZES:
            for bug in (None, "entry", "factor"):
                loss, grad, params = make(features=features, hidden=hidden, bug=bug)
                n = sum(v.size for v in params.values())
                calls = [0]

                def counted(**kw):
                    calls[0] += 1
                    return loss(**kw)

                t = time.perf_counter()
                report = check_grad(counted, grad, params)
                wall = time.perf_counter() - t
                failing = "; ".join(f"{b.name}: {b.cause}" for b in report.blocks if b.verdict == "fail")
                row = (f"   {n:>9,} params  {str(bug or 'correct'):<7}  derive {calls[0]:>7,} calls {wall:7.2f} s "
                       f"{'pass' if report.ok else 'FAIL'}" + (f" ({failing})" if failing else ""))
                print(row)
                if not have_torch:
                    continue
                for fast in (True, False):
                    verdict, count, seconds = _torch_gradcheck(loss, grad, params, fast, budget)
                    mode = "fast" if fast else "full"
                    if verdict is None:
                        print(f"   {'':>9}         {'':<7}  gradcheck {mode}: not run, about {2 * n + 2:,} "
                              f"calls, estimated {count:,.0f} s")
                    else:
                        print(f"   {'':>9}         {'':<7}  gradcheck {mode}: {count:>7,} calls {seconds:7.2f} s "
                              f"{verdict}")
    if not have_torch:
        print("   (torch is not importable: gradcheck not measured)")


def isolation(repeat, files=20):
    """Section 4: per-file wall time in-process and in a child process each."""
    from pathlib import Path

    from numeric.check import check_model_file
    from numeric.check.summary import check_files

    path = str(Path(__file__).resolve().parent.parent / "examples" / "logistic_numpy.py")
    print(f"\n4. {files} small model files (logistic_numpy.py), wall time per file")
    # The first isolated run starts the fork server (imports NumPy and derive once): timed apart.
    t = time.perf_counter()
    list(check_files([path]))
    print(f"   starting the fork server and the first file: {time.perf_counter() - t:6.3f} s")
    t_in, _, _ = timed(lambda: [check_model_file(path) for _ in range(files)], repeat)
    t_iso, _, rows = timed(lambda: list(check_files([path] * files)), repeat)
    assert all(r.verdict == "pass" for r in rows)
    print(f"   in this process:         {t_in / files * 1e3:7.1f} ms per file")
    print(f"   each in its own process: {t_iso / files * 1e3:7.1f} ms per file")


if __name__ == "__main__":
    main()
