"""The compiled recurrent network: a tanh cell over one-hot codes with a softmax at every step.

A row of ``X`` holds T codes x⟨1⟩ … x⟨T⟩ (one per time step) and its ``y`` the code that follows
them; the target of step t is the next code, y⟨t⟩ = x⟨t+1⟩, and y⟨T⟩ = y. The loss is the mean
cross-entropy per character, (1/(m·T)) Σ_i Σ_t L⟨t⟩: the derivation's L = Σ_t L⟨t⟩ of each row,
averaged over the rows and divided by T so that it compares with log(vocabulary), the loss of a
uniform guess. Same minimizer, gradients divided by m·T.

The local derivatives come from the symbolic side as for the dense kinds: the cell's
dz⟨t⟩ = da⟨t⟩ ⊙ g′ (g′ = 1 − a² for tanh, derived by the engine) and the softmax's
dy⟨t⟩ = ŷ⟨t⟩ − y⟨t⟩, each a generated kernel. The only Python loops run over the T time steps
(the forward recursion and back-propagation through time, which carries da_next = W_aaᵀ·dz⟨t+1⟩
back); everything within a step is a matrix product over the whole batch, and the output layer
and the weight gradients are one product over all steps at once.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from derive.errors import said
from derive.network import TEXT_ALPHABET, Recurrent

from .compiled import CompiledModel, _backprop_kernel, _Classifier, softmax_rule

__all__ = ["CompiledRNN"]


class CompiledRNN(_Classifier, CompiledModel):
    """A tanh ``Recurrent`` layer and a dense softmax output (``derive rnn``)."""

    roles = ("Waa", "Wax", "ba", "Wya", "by")

    @staticmethod
    def fits(network):
        cell, *rest = network.layers
        return (isinstance(cell, Recurrent) and cell.activation is sp.tanh and len(rest) == 1
                and network.loss == "softmax-cross-entropy" and rest[0].activation is None)

    def __init__(self, model, network):
        super().__init__(model, network)
        cell, out = network.layers
        self.steps = network.features
        self.vocabulary = cell.inputs
        self.units = cell.units
        self.kernels = {"backprop": _backprop_kernel(cell.activation), "dloss_dz": softmax_rule()}

    def _init(self, role, shape, rng):
        if role in ("ba", "by"):
            return np.zeros(shape)
        # one-hot inputs pick one column of W_ax: unit scale; the others scaled by their fan-in
        fan_in = 1 if role == "Wax" else shape[1]
        return rng.standard_normal(shape) * (0.5 / np.sqrt(fan_in))

    # inputs -----------------------------------------------------------------------------------
    def _codes(self, values, what):
        values = np.asarray(values)
        bad = (values != np.round(values)) | (values < 0) | (values >= self.vocabulary)
        if bad.any():
            raise said(f"{what} must hold integer codes 0..{self.vocabulary - 1}",
                       f"{what} 必须是 0..{self.vocabulary - 1} 的整数编码")
        return values.astype(np.intp)

    def _features(self, X):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.steps:
            raise said(f"X must have shape (m, {self.steps}): one code per time step, not {X.shape}",
                       f"X 的形状必须是 (m, {self.steps})（每个时间步一个编码），而不是 {X.shape}")
        if X.shape[0] == 0:
            raise said("X has no rows", "X 没有行")
        return self._codes(X, "X")

    def _targets(self, y, m):
        y = np.asarray(y)
        if y.size != m or y.ndim > 2:
            raise said(f"y must have shape ({m},), not {y.shape}", f"y 的形状必须是 ({m},)，而不是 {y.shape}")
        return self._codes(y.reshape(m), "y")

    def random_inputs(self, rng, m: int):
        """Random rows for a gradient check: ``m`` windows of codes and the codes after them."""
        return rng.integers(0, self.vocabulary, (m, self.steps)), rng.integers(0, self.vocabulary, m)

    # forward and backward -------------------------------------------------------------------------
    def _work(self, m):
        """The arrays of a pass over m rows, made once per m and reused: a fresh (T, m, ·) array
        on every call costs its page faults (each is megabytes on the whole text), more than the
        products that fill it. a⟨0⟩ = A[0] stays zero; the one-hot arrays are zero outside the
        entries a call sets, and it clears those again."""
        T, units, vocab = self.steps, self.units, self.vocabulary

        def make():
            by_step = (T, m, vocab)
            return {"A": np.zeros((T + 1, m, units)), "O": np.empty(by_step), "E": np.empty(by_step),
                    "omax": np.empty((T, m, 1)), "S": np.empty((T, m, 1)), "onehot": np.zeros(by_step),
                    "dO": np.empty(by_step), "dA": np.empty((T, m, units)), "dZ": np.empty((T, m, units)),
                    "carried": np.empty((m, units)), "onehot_x": np.zeros((T * m, vocab)),
                    "rows": np.arange(T * m), "backprop": self.kernels["backprop"].scratch((m, units)),
                    "dloss": self.kernels["dloss_dz"].scratch(by_step)}

        return self._buffer_set(("rnn", m), make)

    def _forward(self, P, X, work=None):
        """a⟨0⟩ … a⟨T⟩ of shape (T + 1, m, n_a) and the scores o⟨t⟩ of shape (T, m, n_y), in the
        scratch arrays for X's rows."""
        m, T = X.shape
        work = work or self._work(m)
        A, O = work["A"], work["O"]
        Waa_t, Wax_t = P["Waa"].T, P["Wax"].T
        for t in range(T):
            z = A[t + 1]
            np.matmul(A[t], Waa_t, out=z)
            z += Wax_t[X[:, t]]         # W_ax·x⟨t⟩ for a one-hot x⟨t⟩: the column of W_ax at the code
            z += P["ba"]
            np.tanh(z, out=z)
        # the output layer for all steps at once, as one 2-D product (a 3-D matmul loops over t)
        np.matmul(A[1:].reshape(T * m, -1), P["Wya"].T, out=O.reshape(T * m, -1))
        O += P["by"]
        return A, O

    def _step_targets(self, X, y):
        """y⟨t⟩ for every step, shape (T, m): the next code, and ``y`` after the last."""
        return np.concatenate([X[:, 1:], y[:, None]], axis=1).T

    @staticmethod
    def _softmax(O, work=None):
        """The maxima over the codes, the shifted exponentials and their sums (into ``work``'s
        arrays when given)."""
        if work is None:
            omax = O.max(axis=2, keepdims=True)
            E = np.exp(O - omax)
            return omax, E, E.sum(axis=2, keepdims=True)
        omax, E, S = work["omax"], work["E"], work["S"]
        np.maximum.reduce(O, axis=2, out=omax[..., 0])
        np.subtract(O, omax, out=E)
        np.exp(E, out=E)
        np.add.reduce(E, axis=2, out=S[..., 0])
        return omax, E, S

    def _mean_loss(self, O, Y, softmax=None):
        omax, _, S = softmax or self._softmax(O)
        picked = np.take_along_axis(O, Y[:, :, None], axis=2)
        return float((omax + np.log(S) - picked).sum() / Y.size)

    def _loss(self, P, X, y):
        _, O = self._forward(P, X)
        return self._mean_loss(O, self._step_targets(X, y))

    def _grad(self, P, X, y, with_loss):
        m, T = X.shape
        work = self._work(m)
        A, O = self._forward(P, X, work)
        Y = self._step_targets(X, y)
        softmax = self._softmax(O, work)
        loss = self._mean_loss(O, Y, softmax) if with_loss else None
        # dy⟨t⟩ = ŷ⟨t⟩ − y⟨t⟩ for all steps, the mean's 1/(m·T) folded into the kernel's inputs
        _, E, S = softmax
        onehot, dO = work["onehot"], work["dO"]
        np.put_along_axis(onehot, Y[:, :, None], 1.0 / Y.size, axis=2)
        S *= Y.size
        self.kernels["dloss_dz"].run(E, S, onehot, dO, *work["dloss"])
        np.put_along_axis(onehot, Y[:, :, None], 0.0, axis=2)
        flat_dO, flat_A = dO.reshape(T * m, -1), A[1:].reshape(T * m, -1)
        grads = {"Wya": flat_dO.T @ flat_A, "by": flat_dO.sum(axis=0)}
        dA_out, dZ, carried = work["dA"], work["dZ"], work["carried"]
        np.matmul(flat_dO, P["Wya"], out=dA_out.reshape(T * m, -1))   # W_yaᵀ·dy⟨t⟩, every step at once
        backprop, scratch = self.kernels["backprop"], work["backprop"]
        carried.fill(0.0)                           # da_next: nothing comes back from after step T
        Waa = P["Waa"]
        for t in range(T - 1, -1, -1):
            carried += dA_out[t]                    # da⟨t⟩ = W_yaᵀ·dy⟨t⟩ + da_next
            backprop.run(carried, A[t + 1], dZ[t], *scratch)  # dz⟨t⟩ = da⟨t⟩ ⊙ (1 − a⟨t⟩²)
            np.matmul(dZ[t], Waa, out=carried)      # da_next for step t − 1: W_aaᵀ·dz⟨t⟩
        flat_dZ = dZ.reshape(T * m, -1)
        grads["Waa"] = flat_dZ.T @ A[:-1].reshape(T * m, -1)
        onehot_x, rows, codes = work["onehot_x"], work["rows"], X.T.reshape(-1)
        onehot_x[rows, codes] = 1.0
        grads["Wax"] = flat_dZ.T @ onehot_x
        onehot_x[rows, codes] = 0.0
        grads["ba"] = flat_dZ.sum(axis=0)
        return loss, grads

    def _predict(self, P, X):
        """The probabilities of the code after each row's last step, shape (m, n_y)."""
        _, O = self._forward(P, X)
        _, E, S = self._softmax(O[-1:])
        return (E / S)[0]

    def _classes(self, P, X):
        """The predicted code at every step, shape (T, m): the accuracy counts every step."""
        _, O = self._forward(P, X)
        return O.argmax(axis=2)

    def accuracy(self, params: dict, X, y) -> float:
        """Fraction of the steps of every row whose most probable next code is the right one."""
        P, X, y = self._inputs(params, X, y)
        return float(np.mean(self._classes(P, X) == self._step_targets(X, y)))

    def sample(self, params: dict, start: str, length: int, seed: int = 0) -> str:
        """``start`` followed by ``length`` characters drawn one at a time from ŷ⟨t⟩ (the
        generator seeded by ``seed``: the same call gives the same text)."""
        P = self._params(params)
        rng = np.random.default_rng(seed)
        a = np.zeros(self.units)
        code = {ch: k for k, ch in enumerate(TEXT_ALPHABET)}
        text = list(start)
        for ch in start[:-1]:
            a = np.tanh(P["Waa"] @ a + P["Wax"][:, code[ch]] + P["ba"])
        current = code[start[-1]]
        for _ in range(length):
            a = np.tanh(P["Waa"] @ a + P["Wax"][:, current] + P["ba"])
            o = P["Wya"] @ a + P["by"]
            p = np.exp(o - o.max())
            current = int(rng.choice(self.vocabulary, p=p / p.sum()))
            text.append(TEXT_ALPHABET[current])
        return "".join(text)
