"""The entry points: ``check_grad`` (functions), ``check_model_file`` (a file), ``check_builtin``
(a model of the notes). Each builds one ``Checker`` and judges every gradient against it."""

from __future__ import annotations

import re
from typing import Callable

import numpy as np

from .. import modelfile
from .checker import DIRECTIONAL_ABOVE, Checker
from .compare import compare_exact, compare_fd
from .inputs import display, gradient_values
from .report import Report


def _run(loss, grads: dict, params, *, mode="auto", seed=0, max_coords=20_000, sample_size=2_000,
         rtol=None, atol=None, batch=None, source=None, label=None, progress=None, exact_pairs=(),
         notes=(), directional_above=DIRECTIONAL_ABOVE, label_zh="") -> Report:
    """Check every gradient in ``grads`` (title -> grad) against one set of finite differences,
    and each pair in ``exact_pairs`` (title_a, title_b) against each other."""
    checker = Checker(loss, params, mode=mode, seed=seed, max_coords=int(max_coords),
                       sample_size=int(sample_size), rtol=rtol, atol=atol, batch=batch, source=source,
                       progress=progress, directional_above=directional_above)
    checker.notes[:0] = list(notes)
    values = {}
    for title, (grad, what) in grads.items():
        flat, low, read_notes = gradient_values(grad, checker.point, what, source, checker.where)
        values[title] = (flat, low)
        checker.notes.extend(read_notes)
        if values[title][1]:
            checker.notes.append(f"{what} returns float32: its tolerance is widened to float32 precision")
    if checker.directional:
        checker.locate([flat for flat, _ in values.values()])
    checker.screen()
    probes = checker.directional_results or [None] * len(values)
    comparisons = [
        compare_fd(checker, flat, f"{title} vs finite differences", low, found)
        for (title, (flat, low)), found in zip(values.items(), probes)
    ]
    for ta, tb in exact_pairs:
        (fa, la), (fb, lb) = values[ta], values[tb]
        comparisons.append(compare_exact(checker, fa, fb, f"{ta} vs {tb}", la or lb))
    checker.finish()
    return Report(
        source=label or (display(source) if source else "gradient"),
        source_zh=label_zh,
        comparisons=comparisons,
        mode=mode,
        seed=int(seed),
        n_params=checker.point.n,
        n_checked=int(checker.coords.size),
        notes=checker.notes,
    )


def check_grad(
    loss: Callable,
    grad,
    params: dict,
    *,
    mode: str = "auto",
    seed: int = 0,
    max_coords: int = 20_000,
    sample_size: int = 2_000,
    rtol: float | None = None,
    atol: float | None = None,
    progress: Callable[[str], None] | None = None,
    directional_above: int = DIRECTIONAL_ABOVE,
) -> Report:
    """Compare an analytic gradient with finite differences, block by block.

    Parameters
    ----------
    loss : callable
        ``loss(**params) -> float``. Called with read-only float64 arrays (0-d for scalars).
    grad : callable or dict
        ``grad(**params)`` returning a dict with the names and shapes of ``params`` (or a tuple
        in their order), or such a dict directly.
    params : dict of str to float or ndarray
        The point to check at. float32 values are cast to float64.
    mode : {"auto", "central", "complex", "richardson"}
        "central": central differences with a step tuned per block. "richardson": Richardson
        extrapolation for every coordinate (about 10× more accurate, 4× the calls). "complex":
        the complex step where a probe shows the loss keeps imaginary parts (exact to rounding),
        else central. "auto": Richardson for up to 1,000 parameters, central beyond. In every
        mode entries that disagree are re-checked (Richardson, one-sided differences, kinks).
    seed : int
        Seeds the sampled coordinates, the random directions and the noise probe.
    max_coords : int
        Models with more parameters are checked on a stratified sample.
    sample_size : int
        About how many coordinates the sample has in the blocks larger than 2,048 entries.
    rtol, atol : float, optional
        Relative tolerance per entry (default 1e-6) and absolute tolerance relative to the
        block's largest entry (default 1e-8); widened automatically for float32.
    progress : callable, optional
        Called with short progress messages.
    directional_above : int
        Models with more parameters are checked along random directions per block, and only
        the entries a disagreement leads to (by bisection) one by one (``numeric.check.group``).

    Returns
    -------
    Report
        ``report.ok``, ``report.blocks``, ``report.to_json()``; printing it shows a table.

    Raises
    ------
    DeriveError
        Bad params, a loss that raises, is not a finite scalar or is not deterministic, a
        gradient with wrong names or shapes.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]); y = np.array([1.0, 0.0, 2.0])
    >>> loss = lambda w: float(np.mean((X @ w - y) ** 2))
    >>> grad = lambda w: {"w": 2 * X.T @ (X @ w - y) / len(y)}
    >>> check_grad(loss, grad, {"w": np.array([0.1, -0.2])}).ok
    True
    >>> bad = lambda w: {"w": 2 * X.T @ (X @ w - y)}          # the 1/m is missing
    >>> r = check_grad(loss, bad, {"w": np.array([0.1, -0.2])})
    >>> r.ok, r.blocks[0].hint.split(":")[0]
    (False, 'constant factor')
    """
    return _run(loss, {"grad": (grad, "grad")}, params, mode=mode, seed=seed, max_coords=max_coords,
                sample_size=sample_size, rtol=rtol, atol=atol, progress=progress,
                directional_above=directional_above)


def check_model_file(path, *, mode: str = "auto", seed: int = 0, max_coords: int = 20_000,
                     sample_size: int = 2_000, progress: Callable[[str], None] | None = None,
                     directional_above: int = DIRECTIONAL_ABOVE) -> Report:
    """Check the gradient(s) of a model file (the two forms are described in ``numeric.check``).

    Parameters
    ----------
    path : str or path-like
        The model file. It is executed (``runpy.run_path``) in a fresh namespace.
    mode, seed, max_coords, sample_size, progress, directional_above
        As for ``check_grad``.

    Returns
    -------
    Report

    Raises
    ------
    DeriveError
        A file that does not load or does not follow the protocol (one line, naming the file and
        the line where the problem is).
    """
    spec = modelfile.load_model_file(path)
    opts = dict(mode=mode, seed=seed, max_coords=max_coords, sample_size=sample_size, source=spec.path,
                label=str(path), progress=progress, directional_above=directional_above)
    with modelfile.user_output_to_stderr():
        if spec.form == "numpy":
            grad = spec.grad
            if grad is None:                       # loss returns (loss, grads): one call per point
                def grad(**p):
                    return spec.loss(**p)[1]
            return _run(spec.loss, {"grad": (grad, "grad")}, spec.params, **opts)
        problem = modelfile.sympy_problem(spec)
        grads = {"derived gradient": (problem.derived, "derived gradient")}
        pairs = ()
        if problem.handwritten is not None:
            grads["your grad"] = (problem.handwritten, "grad")
            pairs = (("your grad", "derived gradient"),)
        return _run(problem.loss, grads, problem.params, batch=problem.batch, exact_pairs=pairs,
                    notes=problem.notes, **opts)


def check_builtin(name: str, *, options: dict | None = None, mode: str = "auto", seed: int = 0,
                  examples: int = 32, max_coords: int = 20_000, sample_size: int = 2_000,
                  progress: Callable[[str], None] | None = None,
                  directional_above: int = DIRECTIONAL_ABOVE) -> Report:
    """Check a built-in model's compiled gradient on random data.

    Parameters
    ----------
    name : str
        A trainable model (``derive.model_names()``).
    options : dict, optional
        Model options (``features``, ``hidden``, ``classes``, ``activation``).
    mode, seed, max_coords, sample_size, progress, directional_above
        As for ``check_grad``; ``seed`` also draws the parameters and the data.
    examples : int
        Rows of random data: X ~ N(0, 1) of shape (examples, features); y as the network's task
        wants it: class labels, 0/1 labels, or N(0, 1) targets.

    Returns
    -------
    Report
    """
    import derive

    from ..compiled import compile_model

    model = derive.model(name, **(options or {}))
    compiled = compile_model(model)
    params = compiled.init_params(seed)
    rng = np.random.default_rng([seed, 1])
    network = compiled.network
    X = rng.standard_normal((examples, network.features))
    if hasattr(compiled, "random_inputs"):     # inputs that are codes, not real features
        X, y = compiled.random_inputs(rng, examples)
    elif network.task == "classes":
        y = rng.integers(0, network.classes, examples)
    elif network.task == "binary":
        y = rng.integers(0, 2, examples).astype(np.float64)
    else:
        y = rng.standard_normal(examples)
    names = list(params)

    def loss(**kw):
        return compiled.loss(kw, X, y)

    def grad(**kw):
        return compiled.grad(kw, X, y)

    opts, opts_zh = model.options_text(), model.options_text("zh")
    # in Chinese the model is named as its page is (逻辑回归), its command name beside it
    short_zh = re.split("[（：]", getattr(model, "title_zh", None) or name)[0]
    label_zh = f"{short_zh}（{name}，{opts_zh}）" if opts else f"{short_zh}（{name}）"
    if short_zh == name:
        label_zh = f"{name}（{opts_zh}）" if opts else name
    note = f"random data: {examples} examples, parameters and data drawn with seed {seed}"
    return _run(loss, {f"compiled {name} gradient": (grad, "grad")}, {n: params[n] for n in names}, mode=mode,
                seed=seed, max_coords=max_coords, sample_size=sample_size, directional_above=directional_above,
                label=f"{name} ({opts})" if opts else name, label_zh=label_zh,
                progress=progress, notes=[note])
