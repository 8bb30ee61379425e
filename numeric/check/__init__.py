"""Gradient checking: compare an analytic gradient with finite differences, block by block.

``check_grad(loss, grad, params)`` returns a ``Report``; ``check_model_file(path)`` does the same
for a model file (the ``derive check-grad`` command); ``check_builtin(name)`` checks a built-in
model's compiled gradient on random data.

Model files
-----------
A model file is a Python file that ``derive check-grad`` runs (it is your own code: running it is
the point). It defines module-level names in one of two forms.

NumPy form::

    params = {"w": np.array([0.5, -1.0]), "b": 0.1}   # name -> float or array: the point to check
    def loss(w, b): ...                               # loss(**params) -> float
    def grad(w, b): ...                               # -> {"w": ..., "b": ...}, same names and shapes
                                                      #    (a tuple in the order of params works too)

The form is decided by ``loss`` alone (a function: NumPy form); other globals, ``data`` included,
are the file's own. The file's folder is importable while it loads. Course code fits as it is:
``loss`` may return ``(loss, grads)`` and then needs no ``grad``; gradient keys may be ``dW1``
for ``W1`` (other keys, such as ``dZ1`` or ``dA0``, are ignored with a note). ``params`` may nest
one dict per layer (``{"layer1": {"W": …, "b": …}}``): ``loss`` gets the dicts, the blocks are
named ``layer1.W``, and the gradient nests the same way (``dW`` for ``W`` works there too). A
gradient of shape (1, D) for a parameter of shape (D,), or the reverse, is read in the
parameter's shape with a note; a (1, n) for an (n, 1) is refused (a sum over the wrong axis).

SymPy form::

    from derive.functions import sigmoid
    w1, w2, b, x1, x2, y = sympy.symbols("w1 w2 b x1 x2 y")
    loss = -(y * log(sigmoid(w1*x1 + w2*x2 + b)) + (1 - y) * log(1 - sigmoid(w1*x1 + w2*x2 + b)))
    params = {"w1": 0.5, "w2": -0.3, "b": 0.1}        # symbol name -> value: the point
    data = {"x1": [1.0, 2.0], "x2": [0.5, -1.0], "y": [1, 0]}   # the other symbols (optional)

``loss`` is a SymPy expression. ``data`` gives the values of its other free symbols; arrays of
equal length m make the loss the mean over the m examples. The gradient is derived with the
engine, compiled to NumPy and checked against finite differences. If the file also has a
hand-written ``grad`` (a dict of SymPy expressions, per example like ``loss``, or a NumPy
function as in the NumPy form), it is checked against both the finite differences and the derived
gradient, and all comparisons are reported.

Built-in models need no file: ``derive check-grad --model mlp --hidden 16`` checks the compiled
gradient of a model of the notes on random data (the seed is printed).

Usage::

    derive check-grad model.py [--json] [--mode auto|central|complex|richardson] [--seed N]
                               [--max-coords N] [--directional-above N] [--timeout SECONDS]
                               [--memory SIZE]
    derive check-grad a.py b.py … [--summary table|csv|json]
    derive check-grad --model NAME [--features N] [--hidden N] [--classes N] [--activation G]

Results go to stdout (a table, plain text when piped or with ``NO_COLOR``; ``--json`` for
machines), notes and progress to stderr. Exit codes: 0 every block passes (kinks accepted; also
when the summary says INCONCLUSIVE: no entry disagrees, but some sit near kinks closer than any
step the loss's precision resolves, typically float32 ReLU nets), 1 a block fails, 2 a bad file or usage (syntax error, no ``loss``, no ``grad`` in NumPy form, ``grad``
with wrong names or shapes, a ``loss`` that raises or is not a finite scalar, missing or
non-numeric ``params``, a loss that is not deterministic), with one line on stderr.

The command runs each file in its own process (``numeric.isolate``: a time limit, 60 s by default,
and an address-space limit, 4 GiB): a file that raises ``SystemExit`` or any ``BaseException``,
calls ``os._exit``, runs past the time limit, leaves a non-daemon thread running, runs out of
memory or crashes also exits 2 with one line, never 0. A failure of derive itself in that process
exits 70. Several files give one row each (``numeric.check.summary``): exit 0 when every file
passes, 1 when any does not. ``check_model_file`` itself runs the file in the calling process.

How the check works
-------------------
* Every coordinate is differentiated numerically, one call of the loss at a time: central
  differences with a step tuned per block from the measured rounding noise of the loss and a
  sampled third derivative (two calls per coordinate), Richardson extrapolation (six calls; the
  default up to 1,000 parameters), or the complex step where a probe shows that the loss carries
  imaginary parts through (``mode``). Models with more parameters than ``max_coords`` are
  checked on a stratified sample of coordinates in every block (blocks of up to 2,048 entries
  entirely) plus one directional derivative per block along a random direction; the seed is
  reported.
* Models with more than ``directional_above`` parameters (50,000 by default,
  ``--directional-above``; the report says when this path was taken) are checked along three random directions per block instead, each
  derivative from a ladder of steps whose best-agreeing pair is believed (steps that straddle a
  kink are passed over). A block whose directions agree passes; a direction that disagrees is
  followed by bisection over the block's entries down to a handful, which are then checked one
  by one as above, kinks and hints included; a disagreement everywhere (a factor, a sign) gets
  the block's sample checked instead (``group``). The 154,160-parameter CIFAR-size two-layer net
  takes about 250 loss calls when correct.
* Each entry is judged against the finite difference's own error estimate and the block's
  scale: ``|a − n| ≤ 4·err + rtol·max(|a|, |n|) + atol·max|n_block| + floor``. This passes
  correct gradients whose small entries are pure rounding noise, and still fails one wrong entry
  among thousands, which a norm-wise error cannot see. The norm-wise relative error
  ``‖a − n‖ / max(‖a‖, ‖n‖)`` is reported too.
* Entries that fail are re-checked with Richardson extrapolation and with one-sided differences
  at small steps. Where the forward and backward derivatives disagree at every step, the
  function has a kink there (ReLU at 0, max, |·|): any analytic value between the two one-sided
  derivatives is a valid subgradient and is accepted ("kink-accepted"). Entries still failing
  are re-checked on a ladder of one-sided steps: a side whose difference stays put as its step
  shrinks has no kink within it and gives the derivative (a kink closer than the step, as in
  float32, no longer fails a correct entry); when no side is stable at any step the precision
  resolves, the entry is "inconclusive", never a located bug.
* A failing block gets a hint naming the likely bug: a sign flip, a constant factor (a missing
  1/m; a factor equal to a dropout keep probability: the 1/keep missing, also beside a right L2
  term), a transpose (also on a sample, read against the whole analytic block; a sample too
  small to decide says it is not sure), a left-out regularization term (with the fitted λ),
  batchnorm's backward without the paths through the batch mean and variance (the reference is
  orthogonal to each unit's weights, the analytic gradient is not), a few wrong entries
  (listed), gradients swapped between blocks, a recurrent net's dropped carried gradient, or
  the step between two layers where the error enters (a forgotten g′ or dropout mask). Each
  block is diagnosed from its own entries, and the across-block diagnoses leave alone the
  blocks whose failure has a pattern of its own, so a second bug never hides the first's hint.
* float32 parameters are cast to float64. A loss that computes in float32 anyway gets larger
  steps and wider tolerances, and the report says so.

The package
-----------
``api`` holds the entry points; ``inputs`` the point and the validation of the user's values;
``checker`` the finite differences; ``group`` the directional path of large models;
``tolerance`` when two values agree; ``compare`` the verdict per entry and block, with the re-checks; ``hints`` why a block fails; ``report`` the results and
their text, rich and JSON views. Loading a model file is ``numeric.modelfile``.
"""

from importlib import import_module

# The names below load on first use, so that reading a report (``numeric.check.report``, as the
# parent process of an isolated check does) imports neither NumPy nor the checker.
_LAZY = {
    "check_grad": "api", "check_model_file": "api", "check_builtin": "api", "MODES": "checker",
    "Report": "report", "Comparison": "report", "BlockResult": "report", "Entry": "report",
    "render_text": "report", "render_rich": "report", "print_report": "report",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
