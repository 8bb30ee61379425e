"""Training: gradient descent and its variants over a compiled model.

The words are the notes': the data are split into batches; each update of the parameters
(one batch) is an *update*; seeing all batches once is an *epoch*. ``train`` is the loop
(any object with ``loss``, ``grad`` and optionally ``accuracy`` trains); ``train_model`` picks
a model, its built-in data set and its default hyperparameters, as ``derive train`` does.
"""

from __future__ import annotations

import io
import math
import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from derive.errors import DeriveError, said

OPTIMIZERS = ("gd", "sgd", "momentum", "adam")

#: Mini-batch size of ``sgd``, ``momentum`` and ``adam`` when none is given.
DEFAULT_BATCH_SIZE = 32

#: What a character model's report samples: this start, then this many drawn characters.
SAMPLE_START, SAMPLE_LENGTH = "first citizen: ", 120

#: A loss this many times the initial loss (or 1, if larger) counts as divergence.
DIVERGENCE_FACTOR = 1e4


class TrainingDiverged(DeriveError):
    """Training stopped because the loss became NaN, infinite or too large (exit status 1)."""

    exit_code = 1


class TrainingFailed(DeriveError):
    """Training ended with a loss no lower than where it started, or hardly moved it (exit
    status 1)."""

    exit_code = 1


class GradientCheckFailed(DeriveError):
    """The compiled gradient disagrees with finite differences (exit status 1)."""

    exit_code = 1


@dataclass(frozen=True)
class Progress:
    """What a ``callback`` receives after each update and after each epoch.

    ``kind`` is ``"update"`` (``loss`` is the loss of that batch, before the update) or
    ``"epoch"`` (``loss`` is the training loss over all rows after the epoch).
    """

    kind: str
    epoch: int
    epochs: int
    update: int
    updates: int
    loss: float
    val_loss: float | None = None
    accuracy: float | None = None
    val_accuracy: float | None = None


@dataclass
class History:
    """What happened during ``train``.

    Attributes
    ----------
    loss : list of float
        Training loss over all rows after each epoch (one entry per epoch run).
    update_loss : list of float
        Loss of each batch just before its update (one entry per update).
    initial_loss : float
        Training loss over all rows at the starting parameters.
    val_loss, accuracy, val_accuracy : list of float
        Per epoch: held-out loss, training accuracy and held-out accuracy (empty when there is
        no held-out set, or for a model without ``accuracy``).
    params : dict of str to ndarray
        The final parameters; after divergence, the last parameters whose loss was finite and
        within bounds.
    n_updates : int
        Number of updates made.
    epochs_run : int
        Number of epochs completed.
    diverged : bool
        True when training stopped early because the loss blew up; ``divergence`` says where.
    """

    settings: dict
    initial_loss: float
    loss: list = field(default_factory=list)
    update_loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    accuracy: list = field(default_factory=list)
    val_accuracy: list = field(default_factory=list)
    params: dict = field(default_factory=dict)
    n_updates: int = 0
    epochs_run: int = 0
    updates_per_epoch: int = 0
    diverged: bool = False
    divergence: str | None = None
    divergence_zh: str | None = None   # the same in Chinese, for ``derive train --lang zh``

    @property
    def final_loss(self) -> float:
        """Training loss over all rows at the returned parameters."""
        return self.loss[-1] if self.loss else self.initial_loss

    def to_dict(self) -> dict:
        """A JSON-ready summary: settings, counts and the per-epoch and per-update curves."""
        out = {
            "settings": dict(self.settings),
            "epochs_run": self.epochs_run,
            "updates_per_epoch": self.updates_per_epoch,
            "n_updates": self.n_updates,
            "diverged": self.diverged,
            "divergence": self.divergence,
            "initial_loss": self.initial_loss,
            "loss": list(self.loss),
            "update_loss": list(self.update_loss),
        }
        for key in ("accuracy", "val_loss", "val_accuracy"):
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        return out


# Bounds of one run. 100,000 epochs is 30 times the longest default (sigmoid-sum's 3,000 of
# plain gradient descent). A run holds its parameters about four times (values, gradient,
# optimizer state) and, per layer unit, a few floats per row (forward and backward passes).
MAX_EPOCHS = 100_000
MAX_TRAIN_BYTES = 2 * 1024 ** 3


def _check_size(network, dataset) -> None:
    """Refuse, before allocating anything, a model and data set whose training would need more
    than ``MAX_TRAIN_BYTES`` (a MemoryError half-way is not an answer)."""
    params = sum(math.prod(shape) for shape in network.param_shapes().values())
    rows = len(dataset.y) + (0 if dataset.y_val is None else len(dataset.y_val))
    units = sum(getattr(layer, "units", None) or 0 for layer in network.layers)
    need = 8 * (4 * params + 3 * rows * units)
    if need > MAX_TRAIN_BYTES:
        raise said(f"too large to train: {params:,} parameters and {units:,} units over {rows:,} rows "
                        f"need about {need / 2 ** 30:,.1f} GiB; derive trains within "
                        f"{MAX_TRAIN_BYTES // 2 ** 30} GiB",
                        f"太大，无法训练：{params:,} 个参数、{units:,} 个单元、{rows:,} 个样本约需 "
                        f"{need / 2 ** 30:,.1f} GiB；derive 的训练以 {MAX_TRAIN_BYTES // 2 ** 30} GiB 为限")



def _positive_int(value, what: str, what_zh: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise said(f"{what} must be a positive integer, not {value!r}", f"{what_zh}必须是正整数，而不是 {value!r}")
    return int(value)


def _as_data(X, y, what: str):
    X = np.ascontiguousarray(X, dtype=float)
    y = np.ascontiguousarray(y)
    if X.ndim != 2:
        raise DeriveError(f"{what} X must have shape (m, n), not {X.shape}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DeriveError(f"{what} y must have shape ({X.shape[0]},) to match X, not {y.shape}")
    if X.shape[0] == 0:
        raise DeriveError(f"{what} data have no rows")
    if not np.all(np.isfinite(X)) or (y.dtype.kind == "f" and not np.all(np.isfinite(y))):
        raise DeriveError(f"{what} data contain NaN or infinite values")
    return X, y


def batches(m: int, batch_size: int, rng: np.random.Generator | None):
    """Row indices of each batch of one epoch: a fresh permutation from ``rng``, cut in
    ``ceil(m / batch_size)`` batches (the last may be smaller). Without ``rng``, one full batch.
    """
    if rng is None or batch_size >= m:
        return [slice(None)]
    order = rng.permutation(m)
    return [order[i : i + batch_size] for i in range(0, m, batch_size)]


class _Optimizer:
    """One update rule; ``step`` returns new arrays and never changes ``params`` in place."""

    def __init__(self, kind, lr, momentum, beta1, beta2, eps):
        self.kind, self.lr = kind, lr
        self.momentum, self.beta1, self.beta2, self.eps = momentum, beta1, beta2, eps
        self.t = 0
        self.v: dict = {}
        self.s: dict = {}

    def step(self, params: dict, grads: dict) -> dict:
        self.t += 1
        new = {}
        for name, theta in params.items():
            g = np.asarray(grads[name], dtype=float)
            if self.kind in ("gd", "sgd"):
                new[name] = theta - self.lr * g
            elif self.kind == "momentum":
                v = self.momentum * self.v.get(name, 0.0) + (1.0 - self.momentum) * g
                self.v[name] = v
                new[name] = theta - self.lr * v
            else:
                v = self.beta1 * self.v.get(name, 0.0) + (1.0 - self.beta1) * g
                s = self.beta2 * self.s.get(name, 0.0) + (1.0 - self.beta2) * g * g
                self.v[name], self.s[name] = v, s
                v_hat = v / (1.0 - self.beta1**self.t)
                s_hat = s / (1.0 - self.beta2**self.t)
                new[name] = theta - self.lr * v_hat / (np.sqrt(s_hat) + self.eps)
        return new


def _loss_and_grad(compiled):
    """``compiled.loss_and_grad`` (one forward pass for both), or loss then grad."""
    both = getattr(compiled, "loss_and_grad", None)
    if callable(both):
        return both
    return lambda p, X, y: (compiled.loss(p, X, y), compiled.grad(p, X, y))


def _finite_grads(grads: dict) -> bool:
    return all(np.all(np.isfinite(np.asarray(g))) for g in grads.values())


def train(
    compiled,
    params: dict,
    X,
    y,
    *,
    lr: float,
    epochs: int,
    batch_size: int | None = None,
    optimizer: str = "gd",
    seed: int = 0,
    X_val=None,
    y_val=None,
    callback: Callable[[Progress], None] | None = None,
    momentum: float = 0.9,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
    max_loss: float | None = None,
    clip: float | None = None,
) -> History:
    """Minimise ``compiled.loss`` from ``params`` by gradient steps; return the history.

    Each epoch shuffles the rows with a generator seeded by ``seed`` and cuts them into
    ``ceil(m / batch_size)`` batches; each batch makes one update θ ← θ − η·step:

    - ``gd``: full batch, step = g (one update per epoch, no shuffling);
    - ``sgd``: mini-batches, step = g;
    - ``momentum``: v ← β v + (1 − β) g, step = v (β = ``momentum``);
    - ``adam``: v ← β1 v + (1 − β1) g, s ← β2 s + (1 − β2) g², step = v̂ / (√ŝ + ε) with
      the bias corrections v̂ = v / (1 − β1ᵗ), ŝ = s / (1 − β2ᵗ), t = number of the update.

    Parameters
    ----------
    compiled : object
        Has ``loss(params, X, y) -> float`` (mean over rows), ``grad(params, X, y) -> dict``
        and, for classifiers, ``accuracy(params, X, y) -> float``; ``loss_and_grad``, when it
        has one, is used for the updates.
    params : dict of str to ndarray
        Starting parameters; not modified.
    X : ndarray of shape (m, n)
        Training inputs, one row per example.
    y : ndarray of shape (m,)
        Training targets.
    lr : float
        Learning rate η > 0.
    epochs : int
        Number of epochs (≥ 1).
    batch_size : int, optional
        Rows per batch. ``gd`` always uses all m rows; the others default to
        ``DEFAULT_BATCH_SIZE`` (or m, if smaller).
    optimizer : {"gd", "sgd", "momentum", "adam"}
    seed : int
        Seeds the shuffling: the same seed gives the same history, bit for bit.
    X_val : ndarray of shape (m_val, n), optional
    y_val : ndarray of shape (m_val,), optional
        A held-out set, evaluated after each epoch.
    callback : callable, optional
        Called with a ``Progress`` after each update and after each epoch.
    momentum, beta1, beta2, eps : float
        Constants of ``momentum`` and ``adam``.
    max_loss : float, optional
        A loss above this counts as divergence; by default ``DIVERGENCE_FACTOR`` times the
        initial loss (or times 1, if the initial loss is smaller).
    clip : float, optional
        Gradient clipping: a gradient whose norm (over all parameters together) exceeds
        ``clip`` is scaled down to norm ``clip`` before the step (what keeps back-propagation
        through time from taking one huge step).

    Returns
    -------
    History
        With ``diverged=True`` (and the last good parameters) when a loss became NaN,
        infinite or larger than ``max_loss``.

    Raises
    ------
    DeriveError
        On a non-positive learning rate, batch size or number of epochs, an unknown optimizer,
        or inputs of the wrong shape or with NaN.

    Examples
    --------
    >>> import numpy as np
    >>> class Mean:                      # loss (θ − y)² averaged over rows
    ...     def loss(self, p, X, y): return float(np.mean((p["t"] - y) ** 2))
    ...     def grad(self, p, X, y): return {"t": np.mean(2 * (p["t"] - y))}
    >>> X, y = np.zeros((4, 1)), np.array([1.0, 2.0, 3.0, 4.0])
    >>> h = train(Mean(), {"t": np.array(0.0)}, X, y, lr=0.25, epochs=30)
    >>> round(float(h.params["t"]), 6), h.n_updates
    (2.5, 30)
    """
    if optimizer not in OPTIMIZERS:
        raise DeriveError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, not {optimizer!r}")
    number = isinstance(lr, numbers.Real) and not isinstance(lr, bool)
    if not (number and math.isfinite(lr) and lr > 0):
        raise said(f"the learning rate (--lr) must be a positive number, not {lr!r}",
                        f"学习率（--lr）必须是正数，而不是 {lr!r}")
    epochs = _positive_int(epochs, "the number of epochs (--epochs)", "轮次数（--epochs）")
    if epochs > MAX_EPOCHS:
        raise said(f"--epochs {epochs:,} is more than derive runs; at most {MAX_EPOCHS:,}",
                        f"--epochs {epochs:,} 超过了 derive 能训练的轮次数；最多 {MAX_EPOCHS:,}")
    X, y = _as_data(X, y, "training")
    m = X.shape[0]
    if batch_size is not None:
        batch_size = _positive_int(batch_size, "the batch size (--batch-size)", "批量大小（--batch-size）")
    if optimizer == "gd":
        if batch_size is not None and batch_size < m:
            raise said(f"gd uses the full batch ({m} rows); use --optimizer sgd, momentum or adam "
                            f"for mini-batches of {batch_size}",
                            f"gd 用全批量（{m} 个样本）；要用大小为 {batch_size} 的小批量，请用 --optimizer sgd、"
                            "momentum 或 adam")
        batch_size = m
    elif batch_size is None:
        batch_size = DEFAULT_BATCH_SIZE
    batch_size = min(batch_size, m)
    if (X_val is None) != (y_val is None):
        raise DeriveError("a held-out set needs both X_val and y_val")
    has_val = X_val is not None
    if has_val:
        X_val, y_val = _as_data(X_val, y_val, "held-out")
        if X_val.shape[1] != X.shape[1]:
            raise DeriveError(
                f"held-out X has {X_val.shape[1]} columns, training X has {X.shape[1]}"
            )
    classifier = callable(getattr(compiled, "accuracy", None))

    per_epoch = math.ceil(m / batch_size)
    settings = {
        "optimizer": optimizer,
        "lr": float(lr),
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": int(seed),
        "rows": m,
    }
    if clip is not None:
        if not (isinstance(clip, numbers.Real) and math.isfinite(clip) and clip > 0):
            raise DeriveError(f"the gradient clipping norm must be a positive number, not {clip!r}")
        settings["clip"] = float(clip)
    rng = np.random.default_rng(seed) if batch_size < m else None
    step = _Optimizer(optimizer, float(lr), momentum, beta1, beta2, eps)

    params = {k: np.array(v, dtype=float) for k, v in params.items()}
    initial = float(compiled.loss(params, X, y))
    history = History(settings=settings, initial_loss=initial, updates_per_epoch=per_epoch)
    bound = max_loss if max_loss is not None else DIVERGENCE_FACTOR * max(1.0, initial)

    def bad(value: float) -> bool:
        return not math.isfinite(value) or value > bound

    def stop(kept: dict, where: tuple, value: float) -> History:
        what = ("became NaN", "变成了 NaN") if math.isnan(value) else (
            ("became infinite", "变成了无穷大") if math.isinf(value) else
            (f"grew to {value:.4g} (bound {bound:.4g})", f"增大到 {value:.4g}（上限 {bound:.4g}）")
        )
        history.diverged = True
        history.divergence = f"the loss {what[0]} {where[0]}"
        history.divergence_zh = f"{where[1]}损失{what[1]}"
        history.params = kept
        return history

    if bad(initial):
        return stop(params, ("at the starting parameters", "在初始参数处"), initial)

    loss_and_grad = _loss_and_grad(compiled)
    good = params
    for epoch in range(1, epochs + 1):
        for rows in batches(m, batch_size, rng):
            value, grads = loss_and_grad(params, X[rows], y[rows])
            value = float(value)
            where = (f"at update {history.n_updates + 1} (epoch {epoch})",
                     f"在第 {history.n_updates + 1} 次更新（第 {epoch} 个轮次）时")
            if bad(value):
                return stop(good, where, value)
            if not _finite_grads(grads):
                history.diverged = True
                history.divergence = f"the gradient became NaN or infinite {where[0]}"
                history.divergence_zh = f"{where[1]}梯度变成了 NaN 或无穷大"
                history.params = params
                return history
            good = params
            if clip is not None:
                grads = _clipped(grads, clip)
            params = step.step(params, grads)
            history.n_updates += 1
            history.update_loss.append(value)
            if callback is not None:
                callback(Progress("update", epoch, epochs, history.n_updates,
                                  per_epoch * epochs, value))
        value = float(compiled.loss(params, X, y))
        if bad(value):
            return stop(good, (f"after epoch {epoch} (update {history.n_updates})",
                               f"在第 {epoch} 个轮次（第 {history.n_updates} 次更新）之后"), value)
        good = params
        history.loss.append(value)
        history.epochs_run = epoch
        if classifier:
            history.accuracy.append(float(compiled.accuracy(params, X, y)))
        val = None
        if has_val:
            val = float(compiled.loss(params, X_val, y_val))
            history.val_loss.append(val)
            if classifier:
                history.val_accuracy.append(float(compiled.accuracy(params, X_val, y_val)))
        if callback is not None:
            callback(Progress("epoch", epoch, epochs, history.n_updates, per_epoch * epochs,
                              value, val, *((history.accuracy[-1],) if classifier else ()),
                              *((history.val_accuracy[-1],) if classifier and has_val else ())))
    history.params = params
    return history


def _clipped(grads: dict, clip: float) -> dict:
    """``grads`` scaled down to norm ``clip`` when their norm is larger."""
    norm = math.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values()))
    if norm <= clip:
        return grads
    return {k: np.asarray(g) * (clip / norm) for k, g in grads.items()}


def save_params(path, params: dict) -> None:
    """Write ``params`` to ``path`` as an ``.npz`` archive (one array per name), atomically."""
    from derive.io import write_atomic

    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.asarray(v) for k, v in params.items()})
    write_atomic(path, buffer.getvalue())


@dataclass
class TrainResult:
    """A model trained by ``train_model``: the model, its data, the history, the metrics."""

    model: object
    compiled: object
    data: object
    history: History
    grad_check: object = None
    scaler: object = None          # the standardization of a data file's inputs, if any
    lr_note: str | None = None     # how the learning rate was chosen, when it was searched
    lr_note_zh: str | None = None  # the same in Chinese

    def predict(self, X):
        """Predictions for rows ``X`` as given in the data file (standardized here when the
        training inputs were)."""
        X = np.asarray(X, dtype=float)
        return self.compiled.predict(self.params, self.scaler(X) if self.scaler else X)

    def problem(self, lang: str = "en") -> str | None:
        """Why the run did not train, or None: the loss ended no lower than it started; (after
        20 epochs or more) moved by less than 0.1 %; or stalled far from a good fit — after 20
        epochs or more, fell by less than 2 % over the last quarter of them while still above
        90 % of what one constant prediction for every row achieves (``constant_loss``) or, for
        linear regression, above 1.5 times the least-squares optimum. A short run that is still
        improving is never called a failure."""
        h, say = self.history, _Say(lang == "zh")
        if h.diverged or not h.loss:
            return None
        start, end = h.initial_loss, h.loss[-1]
        if end >= start:
            return say(f"the loss ended at {end:.5g}, no lower than where it started ({start:.5g})",
                       f"损失最后为 {end:.5g}，不低于开始时的 {start:.5g}")
        if h.epochs_run < 20:
            return None
        if start - end < 1e-3 * abs(start):
            return say(f"the loss hardly moved in {h.epochs_run} epochs ({start:.5g} to {end:.5g})",
                       f"{h.epochs_run} 个轮次中损失几乎没有变化（从 {start:.5g} 到 {end:.5g}）")
        quarter = h.epochs_run // 4
        fell = (h.loss[-quarter - 1] - end) / abs(end) if end else 1.0
        if fell >= 0.02:
            return None
        stalled = say(f"the loss fell by {100 * fell:.2g} % over the last {quarter} epochs and ended at {end:.5g}",
                      f"最后 {quarter} 个轮次中损失只下降了 {100 * fell:.2g} %，最后为 {end:.5g}")
        constant = self.constant_loss()
        if constant is not None and constant > 0 and end > 0.9 * constant:
            squared = self.compiled.network.loss == "squared"
            return say(f"{stalled}, hardly below the {constant:.5g} of predicting "
                       f"{'the mean of y' if squared else 'the class frequencies'} for every row",
                       f"{stalled}，几乎不低于对每个样本都预测{'y 的均值' if squared else '各类别的频率'}时的 {constant:.5g}")
        best = self.closed_form()
        if best is not None and end > 1.5 * best[1] + 1e-3 * (constant or 0.0):
            ratio = f"{end / max(best[1], 1e-300):.3g}"
            return say(f"{stalled}, {ratio} times the least-squares optimum {best[1]:.5g}",
                       f"{stalled}，是最小二乘最优值 {best[1]:.5g} 的 {ratio} 倍")
        return None

    def constant_loss(self) -> float | None:
        """The training loss of the best prediction that ignores the inputs: the mean of y under
        the squared error, the class frequencies under cross-entropy (their entropy, in nats).
        None for a model whose loss is none of those."""
        kind = getattr(getattr(self.compiled, "network", None), "loss", None)
        y = np.asarray(self.data.y, dtype=float)
        if kind == "squared" and (y.ndim == 1 or y.shape[1] == 1):
            return float(np.mean((y - y.mean()) ** 2))
        if kind == "sigmoid-cross-entropy":
            freq = np.array([1 - y.mean(), y.mean()])
        elif kind == "softmax-cross-entropy":
            freq = y.mean(axis=0) if y.ndim == 2 else np.bincount(y.astype(int)) / len(y)
        else:
            return None
        freq = freq[freq > 0]
        return float(-(freq * np.log(freq)).sum())

    @property
    def params(self) -> dict:
        return self.history.params

    @property
    def classifier(self) -> bool:
        return callable(getattr(self.compiled, "accuracy", None))

    def metrics(self) -> dict:
        """Loss (and accuracy, for classifiers) at the final parameters, on the training rows
        and, when there is one, the held-out set."""
        c, p, d = self.compiled, self.history.params, self.data
        out = {"loss": float(c.loss(p, d.X, d.y))}
        if self.classifier:
            out["accuracy"] = float(c.accuracy(p, d.X, d.y))
        if d.y_val is not None:
            out["val_loss"] = float(c.loss(p, d.X_val, d.y_val))
            if self.classifier:
                out["val_accuracy"] = float(c.accuracy(p, d.X_val, d.y_val))
        return out

    def closed_form(self):
        """For a network that is one affine layer with the squared error (linear regression):
        the least-squares solution (w, b, loss) by ``np.linalg.lstsq``; None for others."""
        net = self.compiled.network
        if not (net.affine and net.loss == "squared"):
            return None
        layer = net.layers[0]
        X, y = self.data.X, self.data.y
        A = np.hstack([X, np.ones((len(y), 1))])
        theta = np.linalg.lstsq(A, y, rcond=None)[0]
        params = {layer.weight.name: theta[:-1], layer.bias.name: np.asarray(theta[-1])}
        return params, float(self.compiled.loss(params, X, y))

    def summary(self) -> dict:
        """JSON-ready: model, data, settings, final metrics, parameter shapes and history."""
        h = self.history
        out = {
            "model": self.model.name,
            "options": dict(self.model.values),
            "data": {
                "name": self.data.name,
                "rows": int(len(self.data.y)),
                "held_out": None if self.data.y_val is None else int(len(self.data.y_val)),
                "features": int(self.data.X.shape[1]),
            },
            "metrics": self.metrics(),
            "standardized": self.scaler is not None,
            "params": {k: list(np.shape(v)) for k, v in h.params.items()},
            "history": h.to_dict(),
        }
        if self.data.labels is not None:
            out["data"]["classes"] = list(self.data.labels)
        if self.lr_note:
            out["lr_search"] = self.lr_note
        if self.grad_check is not None:
            out["grad_check"] = {"ok": self.grad_check.ok, "rows": min(8, len(self.data.y))}
        closed = self.closed_form()
        if closed is not None:
            out["closed_form"] = {
                "loss": closed[1],
                **{k: np.asarray(v).tolist() for k, v in closed[0].items()},
            }
        return out

    def report(self, lang: str = "en") -> str:
        """The final metrics as a few lines of plain text (no timings: same run, same bytes), in
        English or Chinese (``lang`` "en" or "zh"), a label then its values on each line."""
        h, s, d = self.history, self.history.settings, self.data
        zh = lang == "zh"
        say = _Say(zh)
        title = getattr(self.model, "title_zh", self.model.title) if zh else self.model.title
        options = self.model.options_text(lang)
        lines = [(f"{title}（{options}）" if zh else f"{title} ({options})") if options else title,
                 say.line("data", "数据", describe_data(d, lang))]
        if d.labels is not None:
            lines.append(say.line("classes", "类别", ", ".join(f"{k} = {name}" for k, name in enumerate(d.labels))))
        if self.scaler is not None:
            lines.append(say.line("inputs", "输入", say(
                "standardized per feature (mean 0, std 1 over the training rows); --no-standardize keeps them as given",
                "每个特征都已标准化（在训练样本上均值为 0、标准差为 1）；--no-standardize 保留原值")))
        full = s["batch_size"] >= s["rows"]
        batch = say("full batch", "全批量") if full else say(f"batches of {s['batch_size']}", f"每批 {s['batch_size']} 个样本")
        clip = say(f", gradient clipped to norm {s['clip']:g}", f"，梯度裁剪到范数 {s['clip']:g}") if "clip" in s else ""
        lines.append(say.line("training", "训练", say(
            f"{s['optimizer']}, lr {s['lr']:g}, {batch}, {h.epochs_run} epochs, {h.n_updates} updates, seed {s['seed']}{clip}",
            f"{_OPTIMIZER_ZH.get(s['optimizer'], s['optimizer'])}，学习率 {s['lr']:g}，{batch}，{h.epochs_run} 个轮次（epoch），{h.n_updates} 次更新"
            f"（update），随机种子 {s['seed']}{clip}")))
        if self.lr_note:
            lines.append(say.line("lr", "学习率", self.lr_note_zh if zh else self.lr_note))
        m = self.metrics()
        held = "val_loss" in m
        lines.append(say.line("loss", "损失", say("train", "训练集") + f" {loss_text(m['loss'])}"
                              + (say("   held-out", "   留出集") + f" {loss_text(m['val_loss'])}" if held else "")
                              + say(f"   (start {loss_text(h.initial_loss)})", f"   （初始 {loss_text(h.initial_loss)}）")))
        if "accuracy" in m:
            lines.append(say.line("accuracy", "准确率", say("train", "训练集") + f" {100 * m['accuracy']:.2f}%"
                                  + (say("   held-out", "   留出集") + f" {100 * m['val_accuracy']:.2f}%" if held else "")))
        if self.grad_check is not None:
            rows = min(8, len(d.y))
            lines.append(say.line("gradient", "梯度检验", say(
                f"checked against finite differences on the first {rows} rows: every block passes",
                f"在前 {rows} 个样本上与有限差分比较：每一块都通过")))
        sample = getattr(self.compiled, "sample", None)
        if callable(sample):
            lines.append(say.line("sample", "生成文本", repr(sample(h.params, SAMPLE_START, SAMPLE_LENGTH, seed=s['seed']))))
        if sum(np.size(v) for v in h.params.values()) <= 12:
            lines.append(say.line("params", "参数", _format_params(h.params)))
        closed = self.closed_form()
        if closed is not None:
            lines.append(say.line("closed", "闭式解", f"{_format_params(closed[0])}   " + say(
                f"loss {loss_text(closed[1])}  (least squares, np.linalg.lstsq)",
                f"损失 {loss_text(closed[1])}（最小二乘解，由 np.linalg.lstsq() 求出）")))
        return "\n".join(lines)

    def save(self, path) -> None:
        """Write the parameters to ``path`` (``.npz``), atomically; with standardized inputs
        also ``x_mean`` and ``x_scale``, so that x ↦ (x − x_mean) / x_scale prepares new rows."""
        extra = {} if self.scaler is None else {"x_mean": self.scaler.mean, "x_scale": self.scaler.scale}
        save_params(path, {**self.history.params, **extra})


class _Say:
    """The words of a report in one language: ``say(en, zh)`` picks, ``say.line(en, zh, text)``
    writes a line as a label padded to one column (a Chinese character is two cells wide)."""

    WIDTH = 10

    def __init__(self, zh: bool):
        self.zh = zh

    def __call__(self, en: str, zh: str) -> str:
        return zh if self.zh else en

    def line(self, en: str, zh: str, text: str) -> str:
        label = self(en, zh)
        cells = len(label) + sum(1 for ch in label if ord(ch) > 0x2E7F)
        return label + " " * max(1, self.WIDTH - cells) + text


# The optimizers as a Chinese text names them (Adam is a name).
_OPTIMIZER_ZH = {"gd": "梯度下降（gd）", "sgd": "小批量随机梯度下降（sgd）", "momentum": "动量法", "adam": "Adam"}

# The built-in data sets in Chinese (a data file is named by its path in both languages).
_DATA_ZH = {
    "the red curve (constant + 3 hard-sigmoid pieces)": "红色曲线（常数 + 3 个 hard sigmoid 蓝色函数）",
    "a noisy line y = 1 + 2·x + noise": "带噪声的直线 y = 1 + 2·x + 噪声",
    "a noisy plane y = 1 + 2·x + … + noise": "带噪声的平面 y = 1 + 2·x + ⋯ + 噪声",
    "two Gaussian blobs": "两团高斯分布的点（二分类）",
    "the 8x8 handwritten digits": "8×8 的手写数字",
    "the opening of Shakespeare's Coriolanus, by character": "莎士比亚《科利奥兰纳斯》的开头（逐字符）",
}


def loss_text(value: float) -> str:
    """A loss as the report and the epoch lines print it: four decimals always, so that the
    losses of one run stand in columns of equal width (0.2390 beside 0.2287, not 0.239)."""
    return f"{value:.4f}"


def describe_data(d, lang: str = "en") -> str:
    """``d.describe()``, or its Chinese: the data set, then its training and held-out rows and
    its features."""
    if lang != "zh":
        return d.describe()
    held = f"，留出 {len(d.y_val)} 个" if d.y_val is not None else ""
    return f"{_DATA_ZH.get(d.name, d.name)}：{len(d.y)} 个训练样本{held}，{d.features} 个特征"


def _format_params(params: dict) -> str:
    def fmt(v):
        v = np.asarray(v, dtype=float)
        if v.ndim == 0:
            return f"{float(v):.4f}"
        text = np.array2string(v, precision=4, separator=", ", floatmode="fixed",
                               suppress_small=True, max_line_width=10**6)
        return " ".join(text.split())

    return "  ".join(f"{k} = {fmt(v)}" for k, v in params.items())


def divergence_error(history: History, saved=None, lang: str = "en") -> TrainingDiverged:
    """The error ``derive train`` exits with (status 1) when ``history.diverged``."""
    lr = history.settings["lr"]
    if lang == "zh":
        kept = f"；最后一组正常的参数已保存到 {saved}" if saved else "；保留最后一组正常的参数"
        return TrainingDiverged(f"训练发散：{history.divergence_zh}{kept}；请试一个更小的学习率，例如 --lr {lr / 10:g}")
    kept = f"; the last good parameters were saved to {saved}" if saved else (
        "; the last good parameters are kept"
    )
    return TrainingDiverged(
        f"training diverged: {history.divergence}{kept}; "
        f"try a smaller learning rate, e.g. --lr {lr / 10:g}"
    )


def _compile(model):
    from numeric import compile_model

    return compile_model(model)


def check_gradient(compiled, params: dict, X, y, rows: int = 8):
    """Compare ``compiled.grad`` with finite differences of ``compiled.loss`` on the first
    ``rows`` rows of ``X``, ``y`` (``numeric.check.check_grad``).

    Returns
    -------
    numeric.check.Report

    Raises
    ------
    GradientCheckFailed
        When a block of the gradient disagrees (exit status 1); the message names the block and
        the likely bug.
    """
    from numeric.check import check_grad

    Xb, yb = X[:rows], y[:rows]
    report = check_grad(
        lambda **p: compiled.loss(p, Xb, yb), lambda **p: compiled.grad(p, Xb, yb), params
    )
    if not report.ok:
        failing = [b for c in report.comparisons for b in c.blocks if not b.ok]
        detail = "; ".join(
            f"{b.name}: {b.hint or 'disagrees'} (relative error {b.rel_error:.2g})" for b in failing
        )
        raise GradientCheckFailed(
            f"the gradient check failed on {len(yb)} rows, so training did not start: {detail}"
        )
    return report


def train_model(
    name: str,
    *,
    data=None,
    lr: float | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    optimizer: str | None = None,
    seed: int = 0,
    holdout: float | None = None,
    check_grad: bool = False,
    standardize: bool = True,
    callback: Callable[[Progress], None] | None = None,
    **options,
) -> TrainResult:
    """Train model ``name`` on ``data`` (or its built-in data set) with its default settings.

    Every argument left as None takes the model's default (its network's ``training``):
    e.g. ``sigmoid-sum`` trains with adam on the red curve, ``mlp`` with mini-batch sgd on the
    digits. Giving ``batch_size`` to a model whose default optimizer is ``gd`` switches it to
    ``sgd``.

    Parameters
    ----------
    name : str
        A trainable model (``derive list``).
    data : str or Path or Dataset, optional
        A ``.csv`` (last column = target) or ``.npz`` (arrays ``X``, ``y``) file.
    lr, epochs, batch_size, optimizer, seed : optional
        As in ``train``.
    holdout : float, optional
        Fraction of the rows of ``data`` kept aside as a held-out set.
    check_grad : bool
        Compare the compiled gradient with finite differences on a few rows first; raise
        ``GradientCheckFailed`` (exit status 1) if they disagree.
    standardize : bool
        With ``data``: standardize each feature over the training rows (the result's
        ``scaler``). The built-in data sets are used as they are.
    callback : callable, optional
        Receives a ``Progress`` after each update and each epoch.
    **options
        Model options (``features=``, ``hidden=``, ``activation=`` … as the model has them); the
        network's training settings may suggest others, which an option given here overrides.
        With ``data``, ``features`` and ``classes`` default to what the file holds; with
        ``data`` and no ``lr``, the default learning rate is divided by 10 until one epoch lowers
        the loss (at most 6 times), and the result says so.

    Returns
    -------
    TrainResult
        ``result.history.diverged`` tells whether training blew up (the parameters are then
        the last good ones).

    Examples
    --------
    >>> r = train_model("logistic", epochs=20)
    >>> r.history.n_updates, r.metrics()["val_accuracy"] > 0.9
    (20, True)
    """
    import derive

    from . import datasets

    if not derive.model(name).trainable:
        trainable = [n for n in derive.model_names() if derive.model(n).trainable]
        raise said(f"model {name!r} is not trainable; trainable: {', '.join(trainable)}",
                        f"模型 {name!r} 不能训练；能训练的模型：{'、'.join(trainable)}")
    options = {k: v for k, v in options.items() if v is not None}
    if data is None and holdout is not None:
        raise said("--holdout applies to --data; the built-in data sets have their own",
                        "--holdout 只用于 --data；内置数据集有自己的留出集")
    dataset = None
    if data is not None:
        dataset = data if isinstance(data, datasets.Dataset) else datasets.load(data)
        options = {**_options_from_data(derive.model(name, **options), dataset), **options}
    # the training options under the user's: an option may fit only the training data's sizes
    # (conv's --filter 9 needs the digits' 8 × 8, not the default 6 × 6)
    preset = derive.model(name).network().training.options
    default = derive.model(name, **{**preset, **options}).network().training
    for key, value in default.options.items():
        options.setdefault(key, value)
    if dataset is None:
        for key in default.required:
            if options[key] != default.options[key]:
                raise said(f"the built-in {default.data} need --{key} {default.options[key]}, not "
                                f"{options[key]}; pass --data to train at another {key}",
                                f"内置数据集需要 --{key} {default.options[key]}，而不是 {options[key]}；"
                                f"要用别的 {key} 训练，请用 --data")
    model = derive.model(name, **options)

    scaler = None
    if dataset is None:
        dataset = datasets.prepare(model, datasets.builtin(model.network()))
    else:
        dataset = datasets.prepare(model, dataset)  # before the split: rows keep their numbers
        if holdout is not None:
            dataset = datasets.holdout(dataset, holdout, seed=0)
        if standardize:
            dataset, scaler = datasets.standardize(dataset)

    if optimizer is None and batch_size is None:
        optimizer = default.optimizer
        if optimizer != "gd":
            batch_size = default.batch_size or len(dataset.y)
    elif optimizer is None:
        optimizer = "sgd" if default.optimizer == "gd" else default.optimizer
    _check_size(model.network(), dataset)
    compiled = _compile(model)
    params = compiled.init_params(seed=seed)
    checked = check_gradient(compiled, params, dataset.X, dataset.y) if check_grad else None
    lr_note = lr_note_zh = None
    if lr is None and data is not None:
        lr, lr_note, lr_note_zh = _first_lr(compiled, params, dataset, default.lr, batch_size, optimizer, seed)
    history = train(
        compiled, params, dataset.X, dataset.y,
        lr=default.lr if lr is None else lr,
        epochs=default.epochs if epochs is None else epochs,
        batch_size=batch_size, optimizer=optimizer, seed=seed,
        X_val=dataset.X_val, y_val=dataset.y_val, callback=callback, clip=default.clip,
    )
    return TrainResult(model, compiled, dataset, history, checked, scaler, lr_note, lr_note_zh)


def _options_from_data(model, data) -> dict:
    """The model options a data file settles: its number of features and, for a classifier
    over classes, its number of classes."""
    known = {o.name for o in model.options}
    found = {}
    if "features" in known:
        found["features"] = data.features
    if "classes" in known and model.network().task == "classes":
        found["classes"] = len(data.labels) if data.labels else int(np.max(data.y)) + 1
    return found


def _first_lr(compiled, params, data, lr, batch_size, optimizer, seed, tries: int = 6):
    """The default ``lr`` if one epoch with it lowers the loss, else the first of lr/10,
    lr/100, … that does; and a sentence saying what was tried (None when the default worked)."""
    refused = []
    for _ in range(tries):
        trial = train(compiled, {k: np.array(v, copy=True) for k, v in params.items()}, data.X, data.y,
                      lr=lr, epochs=1, batch_size=batch_size, optimizer=optimizer, seed=seed)
        if not trial.diverged and trial.loss and trial.loss[-1] < trial.initial_loss:
            break
        refused.append(lr)
        lr = lr / 10
    if not refused:
        return lr, None, None
    tried = ", ".join(f"{v:g}" for v in refused)
    return (lr, f"{lr:g}: one epoch at lr {tried} did not lower the loss",
            f"{lr:g}：学习率为 {tried} 时训练一个轮次（epoch）都没有使损失下降")

