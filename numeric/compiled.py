"""Compiled models: mean loss and gradient of every trainable model, as fast NumPy.

``compile_model(derive.model(...))`` compiles the model's network (``model.network()``, a
``derive.network.Network``: layers, activations, loss) and returns a ``CompiledModel``. Its
gradients come from the symbolic side, in two parts:

* the per-example (or per-example-and-unit) LOCAL derivatives are derived once with
  ``derive.engine.derivative`` from expressions built with ``derive.functions``: ∂L/∂z of the loss,
  the activation's g′, the output piece's ∂(c·g(u))/∂u, the softmax cross-entropy's ∂L/∂z_k. They
  are scalar expressions, so their cost does not depend on the model's size. Each is compiled once
  (and cached) to an in-place NumPy ``Kernel`` generated from its CSE form (``numeric.bridge``);
  ``CompiledModel.kernels[name].source`` shows the generated code.
* the sums over examples and units are NumPy matrix products (``X.T @ dz`` and friends).

Speed: scratch arrays are kept per input shape and reused (``out=``); for the networks with one
output per example the rows are processed in blocks
that fit in the CPU cache, so each block of ``X`` (and each (block, hidden) array) is read from
cache by the backward product right after the forward one. The parameter gradients returned are
fresh arrays. A ``CompiledModel`` is not thread-safe (its scratch arrays are shared).

The networks compiled fast (losses are means over the m rows of ``X``; parameter names are the
network's own); any other stack of dense layers compiles too, by the general ``_Stack``:

==========================================  ==============================  ========================
network                                     prediction                      per-example loss
==========================================  ==============================  ========================
one layer, one output, squared              ŷ = x·w + b                     (ŷ − y)²
one layer, one output, sigmoid-cross-entr.  a = σ(x·w + b)                  −y log a − (1 − y) log(1 − a)
a hidden layer of pieces, one output        ŷ = b + Σ_i c_i g(b_i + W_i·x)  (ŷ − y)²
one layer, softmax-cross-entropy            p = softmax(x W + b)            −log p_y
a hidden layer, softmax-cross-entropy       p = softmax(g(x W1 + b1) W2 + b2)  −log p_y
==========================================  ==============================  ========================

``g`` is the hidden layer's activation, any elementwise SymPy expression the rule engine can
differentiate (σ, tanh, ReLU, the hard sigmoid ReLU(u) − ReLU(u − 1), …).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import sympy as sp

from derive.errors import said
from derive.functions import relu, sigmoid
from derive.network import Network

from .bridge import Kernel, lambdify
from .flat import FlatGradient, flat_stack
from .threads import blas_threads

__all__ = ["compile_model", "CompiledModel", "clear_cache"]

# Rows per block: a block of X (affine models) or a (block, hidden) array (sigmoid-sum) of about
# this many bytes stays in the per-core L2 cache between the forward and the backward product:
# half of the 2 MiB L2 of each core of the benchmarks' machine (lscpu), leaving room for the
# block's other arrays. For logistic N=100,000 d=100 at one thread, blocks of 0.5, 1, 2 and
# 4 MiB of X took 6.9, 6.2, 6.0 and 6.1 ms of CPU there, 8 MiB 7.4 ms.
_BLOCK_BYTES = 1 << 20
_MIN_BLOCK_ROWS = 64
# X·w of an affine model's X larger than this (the 32 MiB L3 of the benchmarks' machine: X comes
# from memory) with this many features or more is np.einsum's. There, at one thread, X·w of an
# 80 MB X in 1 MiB blocks took 3.8 ms of CPU by einsum against 7.1 ms by OpenBLAS at d = 100
# (X.sum() 2.7 ms), 3.8 against 4.0 ms at d = 30 but 6.3 against 4.8 ms at d = 10; for a 16 MB X
# the two tied, for a 4 MB one (in cache) OpenBLAS was twice as fast. Where a C compiler is
# found, such an X is read once by numeric.native's loop instead (2.8 ms there at d = 100).
_STREAMED_BYTES = 32 << 20
_STREAMED_MIN_FEATURES = 32
_MAX_BUFFER_SETS = 16
_NOT_ASKED = object()
# The dtypes the checks below accept as they are. NumPy's native-order dtypes are singletons, so
# an identity test (~30 ns) passes the usual array before the slower comparison (~150 ns) runs;
# on a small gradient the checks cost as much as the arithmetic.
_FLOAT64 = np.dtype(np.float64)
_INTP = np.dtype(np.intp)
_UINTP = np.dtype(np.uintp)


def _derivative(expr, symbol):
    from derive import engine

    return engine.derivative(expr, symbol)


def _tidy(expr):
    """A derivative in the form with fewest array passes: expanded, common factors pulled out."""
    return sp.factor_terms(sp.expand(expr))


# --------------------------------------------------------------------------------------------
# Local derivatives: derived once per kind, independent of the model's size.


@dataclass(frozen=True)
class OutputRule:
    """A per-example loss L(z, y) of the output z, and ∂L/∂z."""

    z: sp.Symbol
    y: sp.Symbol
    loss: sp.Expr
    dloss: sp.Expr
    loss_kernel: Kernel
    dloss_kernel: Kernel


@lru_cache(maxsize=None)
def output_rule(kind: str) -> OutputRule:
    """``kind`` is "squared" (z is ŷ) or "sigmoid-cross-entropy" (z is the logit, a = σ(z))."""
    z, y = sp.symbols("z y", real=True)
    if kind == "squared":
        loss = (z - y) ** 2
    elif kind == "sigmoid-cross-entropy":
        loss = -(y * sp.log(sigmoid(z)) + (1 - y) * sp.log(1 - sigmoid(z)))
    else:  # pragma: no cover - internal
        raise ValueError(kind)
    dloss = _tidy(_derivative(loss, z))
    return OutputRule(z, y, loss, dloss, Kernel([z, y], [loss]), Kernel([z, y], [dloss]))


@dataclass(frozen=True)
class ActivationRule:
    """g(u) and g′ written with the unit's output a = g(u) where possible (a(1 − a) for σ)."""

    u: sp.Symbol
    a: sp.Symbol
    g: sp.Expr
    dg: sp.Expr
    needs_u: bool


@lru_cache(maxsize=None)
def activation_rule(activation) -> ActivationRule:
    """``activation``: a layer's elementwise function (a SymPy function class or ``Lambda``)."""
    u, a = sp.symbols("u a", real=True)
    g = activation(u)
    dg = _tidy(_derivative(g, u)).subs(g, a)
    return ActivationRule(u, a, g, dg, u in dg.free_symbols)


@lru_cache(maxsize=None)
def _hidden_kernel(activation, inline_x: bool):
    """Forward kernel of a hidden layer: its outputs a = g(u), and u too when g′ needs it.

    ``inline_x``: one input feature, so u = x·w + b_hidden is formed inside the kernel (x is a
    column, w and b_hidden rows); otherwise the kernel gets xw = X @ W and adds b_hidden.
    """
    rule = activation_rule(activation)
    bh = sp.Symbol("b_hidden", real=True)
    if inline_x:
        x, w = sp.symbols("x w", real=True)
        inputs, params, u_expr = [x], [w, bh], x * w + bh
    else:
        xw = sp.Symbol("xw", real=True)
        inputs, params, u_expr = [xw], [bh], xw + bh
    outputs = [u_expr, rule.g.subs(rule.u, u_expr)] if rule.needs_u else [rule.g.subs(rule.u, u_expr)]
    return Kernel(inputs, outputs, params)


@lru_cache(maxsize=None)
def _backprop_kernel(activation):
    """∂L/∂u = ∂L/∂a · g′: the error at a hidden unit's input from the error at its output."""
    rule = activation_rule(activation)
    da = sp.Symbol("da", real=True)
    inputs = [da, rule.u, rule.a] if rule.needs_u else [da, rule.a]
    return Kernel(inputs, [_tidy(da * rule.dg)])


@dataclass(frozen=True)
class PieceRule:
    """One piece c·g(u) of the sum of sigmoids: ∂/∂u = (unit factor) · (elementwise factor)."""

    unit_factor: sp.Expr          # depends on c only: applied after the sum over examples
    elementwise: sp.Expr          # in terms of u and a
    dpiece_dc: sp.Expr            # ∂(c·g(u))/∂c in terms of a
    c: sp.Symbol


@lru_cache(maxsize=None)
def piece_rule(activation) -> PieceRule:
    rule = activation_rule(activation)
    c = sp.Symbol("c", real=True)
    piece = c * rule.g
    du = _derivative(piece, rule.u)
    unit, elementwise = du.as_independent(rule.u, as_Add=False)
    elementwise = _tidy(elementwise).subs(rule.g, rule.a)
    dc = _derivative(piece, c).subs(rule.g, rule.a)
    return PieceRule(unit, elementwise, dc, c)


@lru_cache(maxsize=None)
def softmax_rule():
    """∂L/∂z_k of the softmax cross-entropy, in terms of e_k = exp(z_k − max z) and s = Σ_j e_j.

    With one-hot y (Σ y_j = 1), L = log Σ_j exp(z_j) − Σ_j y_j z_j; the part that depends on z_k
    is log(exp(z_k) + exp(r)) − y_k z_k, where exp(r) = Σ_{j≠k} exp(z_j).
    """
    z, r, y, zmax, s, e = sp.symbols("z r y zmax s e", real=True)
    loss_k = sp.log(sp.exp(z) + sp.exp(r)) - y * z
    dz = _derivative(loss_k, z)
    # Σ_j exp(z_j) = exp(zmax)·s and exp(z_k) = exp(zmax)·e_k: shifted, nothing overflows.
    dz = dz.subs(sp.exp(r), sp.exp(zmax) * s - sp.exp(z)).subs(sp.exp(z), sp.exp(zmax) * e)
    dz = _tidy(dz)
    if dz.free_symbols - {e, s, y}:  # pragma: no cover - a changed engine would show here
        raise RuntimeError(f"softmax derivative not in terms of e, s, y: {dz}")
    return Kernel([e, s, y], [dz])


def clear_cache() -> None:
    """Forget every derived rule and generated kernel (to time ``compile_model`` from scratch)."""
    for f in (output_rule, activation_rule, _hidden_kernel, _backprop_kernel, piece_rule, softmax_rule):
        f.cache_clear()


# --------------------------------------------------------------------------------------------
# Models


def class_labels(y, m: int, classes: int):
    """``y`` checked as m integer class labels in 0..classes − 1, as an ``intp`` array of shape (m,)."""
    y = np.asarray(y)
    if y.shape != (m,):
        if y.size != m or y.ndim > 2:
            raise said(f"y must have shape ({m},), not {y.shape}", f"y 的形状必须是 ({m},)，而不是 {y.shape}")
        y = y.reshape(m)
    if y.dtype is not _INTP and y.dtype != np.intp:
        if y.dtype.kind not in "iu" and (y.dtype.kind not in "fb" or not np.all(y == np.round(y))):
            raise said("y must hold integer class labels", "y 必须是整数类别标签")
        y = y.astype(np.intp)
    # one reduction checks both ends (this runs at every gradient): a negative label read as
    # unsigned is larger than any class
    if m and np.maximum.reduce(y.view(_UINTP)) >= classes:
        raise said(f"class labels must be in 0..{classes - 1}", f"类别标签必须在 0..{classes - 1} 之内")
    return y


def row_max(a, out=None):
    """The maximum along the last axis of ``a``, that axis kept with length 1.

    NumPy reduces a short last axis one row at a time, ~40 ns a row: 11 µs for the 256 rows of
    8 attention scores of a batch of 32, 0.47 ms for the 1,437 digits' (more than their matrix
    products). Copied so that its rows are columns, the same maxima come from elementwise
    maxima over whole rows: 3 µs and 85 µs. A maximum is exact, so these are the same bits.

    Parameters
    ----------
    a : ndarray of shape (..., n)
    out : ndarray of shape (..., 1), C-contiguous, optional
        Where to write the maxima.

    Returns
    -------
    ndarray of shape (..., 1)

    Examples
    --------
    >>> row_max(np.array([[1.0, 5.0, 2.0], [-3.0, -4.0, -1.0]]))
    array([[ 5.],
           [-1.]])
    """
    columns = np.ascontiguousarray(a.reshape(-1, a.shape[-1]).T)
    flat = np.maximum.reduce(columns, axis=0, out=None if out is None else out.reshape(-1))
    return out if out is not None else flat.reshape(*a.shape[:-1], 1)


def _streamed_dot(X, w, out):
    """``X @ w`` by NumPy's own sum of products: slower than BLAS on a block in cache, faster on
    one read from memory (``_STREAMED_BYTES``)."""
    return np.einsum("ij,j->i", X, w, out=out)


def _rows_per_block(row_bytes: int) -> int:
    return max(_MIN_BLOCK_ROWS, _BLOCK_BYTES // max(row_bytes, 1))


class CompiledModel:
    """A trainable model compiled to NumPy. Build it with ``compile_model``.

    Attributes
    ----------
    model : derive Model
        What was compiled.
    network : derive.network.Network
        Its network: layers, activations and loss.
    name : str
    param_shapes : dict of str to tuple
        Parameter names (the network's) and shapes, in a fixed order.
    n_params : int
        Total number of scalar parameters.
    kernels : dict of str to Kernel
        The generated in-place kernels of the local derivatives (``.source`` to read them).
    """

    classifier = False
    # The parameters' roles in the code below, layer by layer (weight, then bias); the network
    # names them as it likes.
    roles: tuple = ()

    def __init__(self, model, network: Network):
        self.model = model
        self.network = network
        self.name = model.name
        self.param_shapes = network.param_shapes()
        self._role = dict(zip(self.param_shapes, self.roles))
        self._shapes = {self._role[n]: s for n, s in self.param_shapes.items()}
        self._checks = tuple((name, self._role[name], shape) for name, shape in self.param_shapes.items())
        self.n_params = int(sum(int(np.prod(s)) for s in self.param_shapes.values()))
        self.kernels: dict = {}
        self._buffers: dict = {}

    @staticmethod
    def fits(network: Network) -> bool:  # pragma: no cover - every kind implements it
        """Whether this kind of compiled model computes ``network``."""
        raise NotImplementedError

    def __repr__(self):
        return f"compile_model({self.model!r})"

    # public API -----------------------------------------------------------------------------
    def init_params(self, seed: int = 0) -> dict:
        """Deterministic random initial parameters (float64), scaled for the layer widths."""
        rng = np.random.default_rng(seed)
        return {name: self._init(self._role[name], shape, rng) for name, shape in self.param_shapes.items()}

    def loss(self, params: dict, X, y) -> float:
        """Mean loss over the rows of ``X``.

        Parameters
        ----------
        params : dict of str to ndarray
            Arrays with the shapes of ``param_shapes``.
        X : ndarray of shape (m, features)
        y : ndarray of shape (m,)
            Targets; integer class labels in [0, classes) for ``softmax`` and ``mlp``.

        Returns
        -------
        float
        """
        P, X, y = self._inputs(params, X, y)
        with blas_threads(len(X) * self.n_params):
            return float(self._loss(P, X, y))

    def grad(self, params: dict, X, y) -> dict:
        """Gradient of ``loss`` with respect to every parameter.

        Parameters
        ----------
        params : dict of str to ndarray
        X : ndarray of shape (m, features)
        y : ndarray of shape (m,)

        Returns
        -------
        dict of str to ndarray
            Fresh arrays with the shapes of ``param_shapes``, in the same order.
        """
        P, X, y = self._inputs(params, X, y)
        with blas_threads(len(X) * self.n_params):
            return self._named(self._grad(P, X, y, False)[1])

    def loss_and_grad(self, params: dict, X, y):
        """``(loss(params, X, y), grad(params, X, y))`` in one pass over the data."""
        P, X, y = self._inputs(params, X, y)
        with blas_threads(len(X) * self.n_params):
            loss, grads = self._grad(P, X, y, True)
        return float(loss), self._named(grads)

    def predict(self, params: dict, X):
        """Predictions for the rows of ``X``: ŷ of shape (m,) for regression, a = σ(z) of shape
        (m,) for ``logistic``, class probabilities of shape (m, classes) for ``softmax``/``mlp``."""
        P = self._params(params)
        return self._predict(P, self._features(X))

    # checking inputs ------------------------------------------------------------------------
    def _named(self, by_role: dict) -> dict:
        return {name: by_role[role] for name, role in self._role.items()}

    def _params(self, params) -> dict:
        """The arrays of ``params``, checked, by role."""
        if not isinstance(params, dict):
            raise said(f"params must be a dict with keys {', '.join(self.param_shapes)}",
                       f"params 必须是以 {', '.join(self.param_shapes)} 为键的 dict")
        out = {}
        for name, role, shape in self._checks:
            if name not in params:
                raise said(f"params has no {name!r} (expected {', '.join(self.param_shapes)})",
                           f"params 中没有 {name!r}（应有 {', '.join(self.param_shapes)}）")
            value = params[name]
            if type(value) is not np.ndarray or value.dtype is not _FLOAT64:
                value = np.asarray(value, dtype=np.float64)
            if value.shape != shape:
                raise said(f"params[{name!r}] has shape {value.shape}, expected {shape}",
                           f"params[{name!r}] 的形状是 {value.shape}，应为 {shape}")
            out[role] = value
        return out

    def _features(self, X):
        X = np.asarray(X)
        f = self.network.features
        if X.ndim != 2 or X.shape[1] != f:
            raise said(f"X must have shape (m, {f}), not {X.shape}", f"X 的形状必须是 (m, {f})，而不是 {X.shape}")
        if X.shape[0] == 0:
            raise said("X has no rows", "X 没有行")
        if X.dtype is not _FLOAT64 or not X.flags.c_contiguous:
            X = np.ascontiguousarray(X, dtype=np.float64)
        return X

    def _targets(self, y, m):
        y = np.asarray(y)
        if y.size != m or y.ndim > 2:
            raise said(f"y must have shape ({m},), not {y.shape}", f"y 的形状必须是 ({m},)，而不是 {y.shape}")
        y = y.reshape(m)
        if y.dtype != np.float64 or not y.flags.c_contiguous:
            y = np.ascontiguousarray(y, dtype=np.float64)
        return y

    def _inputs(self, params, X, y):
        P = self._params(params)
        X = self._features(X)
        return P, X, self._targets(y, X.shape[0])

    def _buffer_set(self, key, make):
        """Scratch arrays for one input shape, made once and reused."""
        found = self._buffers.get(key)
        if found is None:
            if len(self._buffers) >= _MAX_BUFFER_SETS:
                self._buffers.clear()
            found = self._buffers[key] = make()
        return found


class _Classifier:
    classifier = True

    def accuracy(self, params: dict, X, y) -> float:
        """Fraction of the rows of ``X`` whose predicted class equals ``y``.

        Parameters
        ----------
        params : dict of str to ndarray
        X : ndarray of shape (m, features)
        y : ndarray of shape (m,)

        Returns
        -------
        float
        """
        P, X, y = self._inputs(params, X, y)
        return float(np.mean(self._classes(P, X) == y))


class _Affine(CompiledModel):
    """z = X @ w + b, one output per example, with the squared error."""

    roles = ("w", "b")
    loss_kind = "squared"

    @classmethod
    def fits(cls, network):
        return network.affine and network.loss == cls.loss_kind

    def __init__(self, model, network):
        super().__init__(model, network)
        f = network.features
        self.rule = output_rule(self.loss_kind)
        self.kernels = {"loss": self.rule.loss_kernel, "dloss_dz": self.rule.dloss_kernel}
        self._rows = _rows_per_block(8 * f)
        self._link = lambdify([self.rule.z], sigmoid(self.rule.z)) if self.classifier else None
        self._native = _NOT_ASKED

    def _init(self, name, shape, rng):
        if name == "b":
            return np.zeros(())
        return rng.standard_normal(shape) / np.sqrt(shape[0])

    def _z(self, P, X):
        z = X @ P["w"]
        z += P["b"]
        return z

    def _loss(self, P, X, y):
        z = self._z(P, X)
        kernel = self.rule.loss_kernel
        out = np.empty_like(z)
        kernel.run(z, y, out, *kernel.scratch(z.shape))
        return out.mean()

    def _grad(self, P, X, y, with_loss):
        m, f = X.shape
        w, b = P["w"], float(P["b"])
        if X.nbytes > _STREAMED_BYTES and (one_pass := self._one_pass()) is not None:
            gw, gb, total = one_pass(X, y, w, b, with_loss)
            gw *= 1.0 / m
            return total / m, {"w": gw, "b": np.array(gb / m)}
        rows = min(m, self._rows)
        dloss, loss = self.rule.dloss_kernel, self.rule.loss_kernel
        forward = _streamed_dot if X.nbytes > _STREAMED_BYTES and f >= _STREAMED_MIN_FEATURES else np.matmul

        def make(n):
            return np.empty(n), np.empty(n), np.empty(f), dloss.scratch(n), loss.scratch(n)

        gw = np.zeros(f)
        gb = 0.0
        total = 0.0
        for start in range(0, m, rows):
            Xb = X[start : start + rows]
            yb = y[start : start + rows]
            n = Xb.shape[0]
            z, dz, part, scratch, loss_scratch = self._buffer_set(("grad", n, f), lambda: make(n))
            forward(Xb, w, out=z)
            z += b
            dloss.run(z, yb, dz, *scratch)
            np.matmul(dz, Xb, out=part)     # Xb is still in cache
            gw += part
            gb += dz.sum()
            if with_loss:
                loss.run(z, yb, dz, *loss_scratch)      # dz is spent: reuse it
                total += dz.sum()
        gw *= 1.0 / m
        return total / m, {"w": gw, "b": np.array(gb / m)}

    def _one_pass(self):
        """The one-pass C loop of ``numeric.native`` for an X read from memory, or None."""
        if self._native is _NOT_ASKED:
            from . import native    # the C printer and ctypes: only for an X this large

            self._native = native.affine_gradient(self.rule, self.network.features)
        return self._native

    def _predict(self, P, X):
        z = self._z(P, X)
        return z if self._link is None else self._link(z)


class _Logistic(_Classifier, _Affine):
    """a = σ(X @ w + b), with the cross-entropy of the 0/1 labels."""

    loss_kind = "sigmoid-cross-entropy"

    def _classes(self, P, X):
        return (self._z(P, X) > 0).astype(np.float64)


class _SigmoidSum(CompiledModel):
    """ŷ = b + Σ_i c_i g(b_hidden_i + W_i·x), squared error: a hidden layer of pieces (weights
    stored one row per piece) and one output."""

    roles = ("W", "b_hidden", "c", "b")

    @staticmethod
    def fits(network):
        return network.sum_of_pieces and network.layers[0].layout == "out,in"

    def __init__(self, model, network):
        super().__init__(model, network)
        f, h = network.features, network.layers[0].units
        self.activation = network.layers[0].activation
        self.out = output_rule("squared")
        self.piece = piece_rule(self.activation)
        self.inline_x = f == 1
        self.forward = _hidden_kernel(self.activation, self.inline_x)
        rule = activation_rule(self.activation)
        self.needs_u = self.piece.elementwise.has(rule.u)
        self.slope = Kernel([rule.u, rule.a] if self.needs_u else [rule.a], [self.piece.elementwise])
        if self.piece.dpiece_dc != rule.a:  # pragma: no cover - a changed engine would show here
            raise RuntimeError(f"unexpected ∂(c·g)/∂c = {self.piece.dpiece_dc}")
        self.unit_factor = lambdify([self.piece.c], self.piece.unit_factor)
        self.kernels = {
            "loss": self.out.loss_kernel,
            "dloss_dyhat": self.out.dloss_kernel,
            "hidden": self.forward,
            "dpiece_du": self.slope,
        }
        self._rows = _rows_per_block(8 * h)
        self._hidden_outputs = 2 if activation_rule(self.activation).needs_u else 1

    def _init(self, name, shape, rng):
        h, f = self._shapes["W"]
        if name == "W":
            return rng.standard_normal(shape) / np.sqrt(f)
        if name == "b_hidden":
            return rng.standard_normal(shape)
        if name == "c":
            return rng.standard_normal(shape) / np.sqrt(h)
        return np.zeros(())

    def _blocks(self, P, X):
        """Yield (start, n, u, a, yhat) per block of rows; the arrays are reused scratch."""
        m, f = X.shape
        h = self._shapes["c"][0]
        rows = min(m, self._rows)
        if self.inline_x:
            prepared = self.forward.prepare(P["W"][:, 0], P["b_hidden"])
        else:
            prepared = self.forward.prepare(P["b_hidden"])
            Wt = P["W"].T
        c, b = P["c"], float(P["b"])
        n_out = self._hidden_outputs

        def make(n):
            return (
                [np.empty((n, h)) for _ in range(n_out)],
                np.empty((n, h)),
                self.forward.scratch((n, h)),
                np.empty(n),
            )

        for start in range(0, m, rows):
            Xb = X[start : start + rows]
            n = Xb.shape[0]
            outs, xw, scratch, yhat = self._buffer_set(("fwd", n, h), lambda: make(n))
            if self.inline_x:
                self.forward.run(Xb, *prepared, *outs, *scratch)
            else:
                np.matmul(Xb, Wt, out=xw)
                self.forward.run(xw, *prepared, *outs, *scratch)
            a = outs[-1]
            np.matmul(a, c, out=yhat)
            yhat += b
            yield start, n, outs[0], a, yhat

    def _yhat(self, P, X):
        out = np.empty(X.shape[0])
        for start, n, _, _, yhat in self._blocks(P, X):
            out[start : start + n] = yhat
        return out

    def _loss(self, P, X, y):
        yhat = self._yhat(P, X)
        per_example = np.empty_like(yhat)
        kernel = self.out.loss_kernel
        kernel.run(yhat, y, per_example, *kernel.scratch(yhat.shape))
        return per_example.mean()

    def _grad(self, P, X, y, with_loss):
        m, f = X.shape
        h = self._shapes["c"][0]
        dyhat, loss = self.out.dloss_kernel, self.out.loss_kernel
        # Σ over examples of [r·x; r] ⊗ g′ for every unit in one product; c comes in afterwards.
        # With few features, one matrix-vector product per row is faster than a thin product.
        per_row = f + 1 <= 3
        acc = np.zeros((f + 1, h))
        dc = np.zeros(h)
        db = 0.0
        total = 0.0

        def make(n):
            return (
                np.empty(n),
                np.empty((n, h)),
                np.empty((f + 1, n)),
                np.empty((f + 1, h)),
                np.empty(h),
                self.slope.scratch((n, h)),
                dyhat.scratch(n) + loss.scratch(n),
            )

        for start, n, u, a, yhat in self._blocks(P, X):
            r, slope, RT, part, part_c, scratch, scratch_r = self._buffer_set(("grad", n, h), lambda: make(n))
            yb = y[start : start + n]
            dyhat.run(yhat, yb, r, *scratch_r[: dyhat.n_scratch])
            if self.needs_u:
                self.slope.run(u, a, slope, *scratch)
            else:
                self.slope.run(a, slope, *scratch)
            np.multiply(X[start : start + n].T, r, out=RT[:f])
            RT[f] = r
            if per_row:
                for j in range(f + 1):
                    np.matmul(RT[j], slope, out=part[j])
            else:
                np.matmul(RT, slope, out=part)
            acc += part
            np.matmul(r, a, out=part_c)
            dc += part_c
            db += r.sum()
            if with_loss:
                loss.run(yhat, yb, r, *scratch_r[dyhat.n_scratch :])   # r is spent: reuse it
                total += r.sum()
        scale = self.unit_factor(P["c"]) * (1.0 / m)
        return total / m, {
            "W": np.ascontiguousarray(acc[:f].T * scale[:, None]),
            "b_hidden": acc[f] * scale,
            "c": dc * (1.0 / m),
            "b": np.array(db / m),
        }

    def _predict(self, P, X):
        return self._yhat(P, X)


class _SoftmaxNet(_Classifier, CompiledModel):
    """Softmax output with cross-entropy, with or without one hidden layer.

    The output layer is kept transposed, (classes, m), so that the softmax's reductions over the
    classes run over contiguous rows.
    """

    @staticmethod
    def fits(network):
        *hidden, out = network.layers
        return (network.loss == "softmax-cross-entropy" and len(hidden) <= 1
                and all(layer.layout == "in,out" for layer in network.layers)
                and all(layer.activation is not None for layer in hidden) and out.activation is None)

    def __init__(self, model, network):
        self.hidden = len(network.layers) == 2
        self.roles = ("W1", "b1", "W2", "b2") if self.hidden else ("W", "b")
        super().__init__(model, network)
        self.classes = network.classes
        self.dz = softmax_rule()
        self.kernels = {"dloss_dz": self.dz}
        self.activation = network.layers[0].activation if self.hidden else None
        if self.hidden:
            self.forward = _hidden_kernel(self.activation, inline_x=False)
            self.backprop = _backprop_kernel(self.activation)
            self.needs_u = activation_rule(self.activation).needs_u
            self.kernels.update({"hidden": self.forward, "backprop": self.backprop})
        self._onehot = None

    def _init(self, name, shape, rng):
        if name.startswith("b"):
            return np.zeros(shape)
        # He's initialisation for ReLU units: half of them are zero
        gain = 2.0 if name == "W1" and self.activation is relu else 1.0
        return rng.standard_normal(shape) * np.sqrt(gain / shape[0])

    def _targets(self, y, m):
        y = np.asarray(y)
        if y.size != m or y.ndim > 2:
            raise said(f"y must have shape ({m},), not {y.shape}", f"y 的形状必须是 ({m},)，而不是 {y.shape}")
        return y.reshape(m)

    def _onehot_t(self, y):
        """One-hot targets, transposed (classes, m); kept while the labels stay the same."""
        cached = self._onehot
        if cached is not None and cached[0].shape == y.shape and np.array_equal(cached[0], y):
            return cached[1], cached[2]
        if y.dtype.kind not in "iu":
            if y.dtype.kind not in "fb" or not np.all(np.asarray(y) == np.round(y)):
                raise said("y must hold integer class labels", "y 必须是整数类别标签")
        labels = y.astype(np.intp)
        if labels.size and (labels.min() < 0 or labels.max() >= self.classes):
            raise said(f"class labels must be in 0..{self.classes - 1}", f"类别标签必须在 0..{self.classes - 1} 之内")
        onehot = np.zeros((self.classes, y.shape[0]))
        onehot[labels, np.arange(y.shape[0])] = 1.0
        self._onehot = (y.copy(), onehot, labels)
        return onehot, labels

    def _work(self, m):
        k = self.classes

        def make():
            bufs = {
                "z": np.empty((k, m)),
                "e": np.empty((k, m)),
                "dz": np.empty((k, m)),
                "zmax": np.empty(m),
                "s": np.empty(m),
                "ones": np.ones(m),
                "dz_scratch": self.dz.scratch((k, m)),
            }
            if self.hidden:
                h = self._shapes["b1"][0]
                bufs["xw"] = np.empty((m, h))
                bufs["hidden"] = [np.empty((m, h)) for _ in range(2 if self.needs_u else 1)]
                bufs["fwd_scratch"] = self.forward.scratch((m, h))
                bufs["da"] = np.empty((m, h))
                bufs["du"] = np.empty((m, h))
                bufs["bp_scratch"] = self.backprop.scratch((m, h))
            return bufs

        return self._buffer_set(("work", m), make)

    def _forward(self, P, X):
        """Logits z (classes, m), shifted exponentials e, their sums s, and the row maxima."""
        w = self._work(X.shape[0])
        if self.hidden:
            np.matmul(X, P["W1"], out=w["xw"])
            self.forward.run(w["xw"], *self.forward.prepare(P["b1"]), *w["hidden"], *w["fwd_scratch"])
            a = w["hidden"][-1]
            np.matmul(P["W2"].T, a.T, out=w["z"])
            b = P["b2"]
        else:
            a = X
            np.matmul(P["W"].T, X.T, out=w["z"])
            b = P["b"]
        z = w["z"]
        np.add(z, b[:, None], out=z)
        np.maximum.reduce(z, axis=0, out=w["zmax"])
        np.subtract(z, w["zmax"], out=w["e"])
        np.exp(w["e"], out=w["e"])
        np.add.reduce(w["e"], axis=0, out=w["s"])
        return w, a

    def _loss(self, P, X, y):
        _, labels = self._onehot_t(y)
        w, _ = self._forward(P, X)
        return self._mean_loss(w, labels)

    @staticmethod
    def _mean_loss(w, labels):
        # −log p_y = log Σ_j exp(z_j) − z_y = zmax + log s − z_y
        m = labels.shape[0]
        picked = w["z"][labels, np.arange(m)]
        return (w["zmax"].sum() + np.log(w["s"]).sum() - picked.sum()) / m

    def _grad(self, P, X, y, with_loss):
        onehot, labels = self._onehot_t(y)
        m = X.shape[0]
        w, a = self._forward(P, X)
        loss = self._mean_loss(w, labels) if with_loss else None
        dz = w["dz"]
        self.dz.run(w["e"], w["s"], onehot, dz, *w["dz_scratch"])
        inv_m = 1.0 / m
        # Sums over examples as products with a vector of ones: faster than sum(axis=...).
        ones = w["ones"]
        db_out = np.matmul(dz, ones)
        db_out *= inv_m
        dW_out = np.matmul(a.T, dz.T)
        dW_out *= inv_m
        if not self.hidden:
            return loss, {"W": dW_out, "b": db_out}
        np.matmul(dz.T, P["W2"].T, out=w["da"])
        hidden = w["hidden"]
        if self.needs_u:
            self.backprop.run(w["da"], hidden[0], hidden[1], w["du"], *w["bp_scratch"])
        else:
            self.backprop.run(w["da"], hidden[0], w["du"], *w["bp_scratch"])
        dW1 = np.matmul(X.T, w["du"])
        dW1 *= inv_m
        db1 = np.matmul(ones, w["du"])
        db1 *= inv_m
        return loss, {"W1": dW1, "b1": db1, "W2": dW_out, "b2": db_out}

    def _predict(self, P, X):
        w, _ = self._forward(P, X)
        return (w["e"] / w["s"]).T.copy()

    def _classes(self, P, X):
        w, _ = self._forward(P, X)
        return np.argmax(w["z"], axis=0)


class _Stack(FlatGradient, CompiledModel):
    """Any stack of dense layers: hidden layers with an activation each, then the output layer
    and the network's loss. The general case, for networks that no faster kind above fits (a
    deep network, pieces stored one column per unit …); each layer's g and g′ are kernels from
    the engine, the sums over examples and units are matrix products."""

    @classmethod
    def fits(cls, network):
        *hidden, out = network.layers
        if out.activation is not None or any(layer.activation is None or layer.units is None for layer in hidden):
            return False
        return ((out.units is None) == (network.loss != "softmax-cross-entropy")
                and (network.task != "regression") == cls.classifier)

    def __init__(self, model, network):
        self.roles = tuple(network.param_shapes())
        super().__init__(model, network)
        self.layers = network.layers
        self.classes = network.classes
        self.hidden = [(_hidden_kernel(layer.activation, inline_x=False), _backprop_kernel(layer.activation),
                         activation_rule(layer.activation).needs_u) for layer in self.layers[:-1]]
        self.kernels = {f"hidden{k}": fwd for k, (fwd, _, _) in enumerate(self.hidden, 1)}
        self.kernels.update({f"backprop{k}": bp for k, (_, bp, _) in enumerate(self.hidden, 1)})
        if network.loss == "softmax-cross-entropy":
            self.out = None
            self.kernels["dloss_dz"] = self.dz = softmax_rule()
        else:
            self.out = output_rule(network.loss)
            self.kernels.update({"loss": self.out.loss_kernel, "dloss_dz": self.out.dloss_kernel})
        self._link = lambdify([self.out.z], sigmoid(self.out.z)) if self.out and self.classifier else None
        # per layer: its weight's and bias's names and whether A·W multiplies W as stored (else
        # its transpose), looked up once here rather than at each layer of each gradient
        self._plan = tuple((layer.weight.name, layer.bias.name, layer.layout == "in,out" or layer.units is None)
                           for layer in self.layers)
        # the whole gradient as one generated function, when the network has a softmax output
        self._flat, self.flat_source = flat_stack(self) or (None, None)

    def _flat_buffers(self, m):
        """``_work(m)`` as the flat tuple that the generated gradient unpacks (see ``numeric.flat``)."""

        def make():
            work = self._work(m)
            arrays = []
            for buf in work["layers"]:
                arrays += [buf["xw"], *buf["outs"], *buf["fwd_scratch"], buf["da"], buf["dz"], *buf["bp_scratch"]]
            return (*arrays, work["z"], work["e"], work["dz"], work["onehot"], work["zmax"], work["s"],
                    work["zmax"].reshape(-1), work["s"][:, 0], work["ones"], work["rows"], *work["dz_scratch"])

        return self._buffer_set(("flat", m), make)

    def _init(self, name, shape, rng):
        layer = next(l for l in self.layers if name in (l.weight.name, l.bias.name))
        if name == layer.bias.name:
            return np.zeros(shape)
        fan_in = shape[0] if layer.layout == "in,out" or layer.units is None else shape[1]
        # He's initialisation for ReLU units: half of them are zero
        gain = 2.0 if layer.activation is relu else 1.0
        return rng.standard_normal(shape) * np.sqrt(gain / fan_in)

    def _targets(self, y, m):
        if self.out is not None:
            return super()._targets(y, m)
        return class_labels(y, m, self.classes)

    def _affine(self, layer, P, A):
        W = P[layer.weight.name]
        Z = A @ (W if layer.layout == "in,out" or layer.units is None else W.T)
        Z += P[layer.bias.name]
        return Z

    def _work(self, m):
        """Per-layer scratch for m rows, made once per m: the hidden layers' products, kernel
        outputs and backward arrays, and the softmax's logits, exponentials and their sums. Kernels
        then run into these (``Kernel.run``), without the allocations of ``Kernel.__call__``."""

        def make():
            layers = []
            for layer, (fwd, bp, _) in zip(self.layers, self.hidden):
                shape = (m, layer.units)
                layers.append({
                    "xw": np.empty(shape), "outs": [np.empty(shape) for _ in range(fwd.n_outputs)],
                    "fwd_scratch": fwd.scratch(shape), "da": np.empty(shape), "dz": np.empty(shape),
                    "bp_scratch": bp.scratch(shape),
                })
            bufs = {"layers": layers, "ones": np.ones(m), "rows": np.arange(m)}
            if self.out is None:
                k = self.network.classes
                bufs.update(z=np.empty((m, k)), e=np.empty((m, k)), dz=np.empty((m, k)), onehot=np.zeros((m, k)),
                            zmax=np.empty((m, 1)), s=np.empty((m, 1)), dz_scratch=self.dz.scratch((m, k)))
            return bufs

        return self._buffer_set(("stack", m), make)

    def _forward(self, P, X):
        """Each layer's input, pre-activation (when g′ needs it) and output; the logits last.

        The products are ``np.dot``: the same BLAS call as ``np.matmul`` (the same bits), with
        ~0.4 µs less dispatch each, which a batch of 32 notices."""
        A, saved = X, []
        work = self._work(X.shape[0])
        for (w, b, as_stored), (fwd, _, needs_u), buf in zip(self._plan, self.hidden, work["layers"]):
            W, xw, outs = P[w], buf["xw"], buf["outs"]
            np.dot(A, W if as_stored else W.T, out=xw)
            fwd.run(xw, *fwd.prepare(P[b]), *outs, *buf["fwd_scratch"])
            saved.append((A, outs[0] if needs_u else None, outs[-1]))
            A = outs[-1]
        saved.append((A, None, None))
        if self.out is not None:
            return saved, self._affine(self.layers[-1], P, A)
        w, b, as_stored = self._plan[-1]
        W, z = P[w], work["z"]
        np.dot(A, W if as_stored else W.T, out=z)
        z += P[b]
        return saved, z

    def _softmax(self, z, work=None):
        """The row maxima, the shifted exponentials and their sums, into the scratch for z's rows."""
        work = work or self._work(z.shape[0])
        zmax, e, s = work["zmax"], work["e"], work["s"]
        row_max(z, out=zmax)
        np.subtract(z, zmax, out=e)
        np.exp(e, out=e)
        np.add.reduce(e, axis=1, out=s[:, 0])
        return zmax, e, s

    def _loss(self, P, X, y):
        _, z = self._forward(P, X)
        return self._mean_loss(z, y)

    def _mean_loss(self, z, y, softmax=None):
        if self.out is not None:
            return self.out.loss_kernel(z, y)[0].mean()
        zmax, _, s = softmax or self._softmax(z)
        # −log p_y = log Σ_j exp(z_j) − z_y
        return float((zmax.sum() + np.log(s).sum() - z[np.arange(len(y)), y].sum()) / len(y))

    def _grad(self, P, X, y, with_loss):
        m = X.shape[0]
        saved, z = self._forward(P, X)
        work = self._work(m)
        if self.out is not None:
            loss = self._mean_loss(z, y) if with_loss else None
            dZ = self.out.dloss_kernel(z, y)[0] / m
        else:
            softmax = self._softmax(z, work)
            loss = self._mean_loss(z, y, softmax) if with_loss else None
            onehot, rows, dZ = work["onehot"], work["rows"], work["dz"]
            onehot.fill(0.0)
            # the mean's 1/m folded into the kernel's inputs: e/(m·s) − y/m, one pass fewer
            onehot[rows, y] = 1.0 / m
            zmax, e, sums = softmax
            sums *= m
            self.dz.run(e, sums, onehot, dZ, *work["dz_scratch"])
        # keyed in param_shapes' order from the start (filled from the last layer down), so that
        # ``_named`` has nothing to reorder
        grads, ones = dict.fromkeys(self.param_shapes), work["ones"]
        for index in range(len(self.layers) - 1, -1, -1):
            (w, b, as_stored), (A, _, _) = self._plan[index], saved[index]
            W = P[w]
            if self.layers[index].units is None:
                grads[w], grads[b] = A.T @ dZ, np.array(dZ.sum())
                dA = np.outer(dZ, W)
            else:
                dW = np.dot(A.T, dZ)
                grads[w] = dW if as_stored else np.ascontiguousarray(dW.T)
                # a sum over the examples as a product with a vector of ones: faster than sum(axis=0)
                grads[b] = ones.dot(dZ)
                if index:
                    dA = work["layers"][index - 1]["da"]
                    np.dot(dZ, W.T if as_stored else W, out=dA)
            if index:
                _, backprop, needs_u = self.hidden[index - 1]
                _, U, Aout = saved[index - 1]
                buf = work["layers"][index - 1]
                dZ = buf["dz"]
                backprop.run(dA, *((U,) if needs_u else ()), Aout, dZ, *buf["bp_scratch"])
        return loss, grads

    def _named(self, grads: dict) -> dict:
        # the roles are the parameters' names, and ``_grad`` orders them
        return grads

    def _predict(self, P, X):
        _, z = self._forward(P, X)
        if self.out is None:
            _, e, s = self._softmax(z)
            return e / s
        return z if self._link is None else self._link(z)



class _StackClassifier(_Classifier, _Stack):
    """A stack of dense layers that predicts a 0/1 label or one of K classes."""

    def _classes(self, P, X):
        _, z = self._forward(P, X)
        return np.argmax(z, axis=1) if self.out is None else (z > 0).astype(np.float64)


def compile_model(model) -> CompiledModel:
    """Compile a trainable model's mean loss and gradient to NumPy.

    Parameters
    ----------
    model : derive Model or str
        ``derive.model(name, features=, hidden=, classes=, activation=)``, or a model name (with
        its default options).

    Returns
    -------
    CompiledModel
        With ``param_shapes``, ``n_params``, ``init_params(seed)``, ``loss(params, X, y)``,
        ``grad(params, X, y)``, ``loss_and_grad``, ``predict(params, X)`` and, for ``logistic``,
        ``softmax`` and ``mlp``, ``accuracy(params, X, y)``.

    Raises
    ------
    DeriveError
        If the model is not one of the trainable models.

    Examples
    --------
    >>> import derive, numeric
    >>> cm = numeric.compile_model(derive.model("logistic", features=3))
    >>> cm.param_shapes
    {'w': (3,), 'b': ()}
    """
    import derive

    if isinstance(model, str):
        model = derive.model(model)
    network = model.network()
    if network is None:
        trainable = [n for n in derive.model_names() if derive.model(n).trainable]
        raise said(f"model {model.name!r} cannot be compiled; trainable models: {', '.join(trainable)}",
                   f"模型 {model.name!r} 不能编译；能训练的模型：{', '.join(trainable)}")
    # convolutional networks first: the dense kinds' ``fits`` do not look for Conv and Pool layers;
    # their module builds on this one, so it is imported here, on first use
    from .compiled_layers import LayeredNet

    for kind in (LayeredNet, *_KINDS):
        if kind.fits(network):
            return kind(model, network)
    raise said(f"model {model.name!r}: no compiled form for its network {network}",
               f"模型 {model.name!r}：它的网络 {network} 没有编译形式")


# Tried in order: the first whose ``fits`` accepts the network compiles it.
_KINDS = (_Affine, _Logistic, _SigmoidSum, _SoftmaxNet, _Stack, _StackClassifier)

# The recurrent kind, in its own module (it builds on the classes above), fits only a network
# that starts with a recurrent layer: tried first, before the general stack.
from .compiled_rnn import CompiledRNN  # noqa: E402

_KINDS = (CompiledRNN, *_KINDS)
