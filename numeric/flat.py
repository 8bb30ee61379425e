"""One straight-line Python function for the whole gradient of a stack of dense layers.

A general compiled stack (``numeric.compiled._Stack``) walks its layers in Python: per gradient
about 25 small calls (the input checks, the scratch look-up, each kernel's ``prepare`` and
``run``, the softmax's helpers), ~1 µs each, which on a batch of 32 rows is as long as the
arithmetic. Hand-written NumPy is one function. ``flat_stack`` writes that one function for a
given network: the checks as a single guard, then every product and every generated kernel line
of the forward and backward pass in order, with the kernels' bodies inlined (their arguments
renamed to the layer's arrays) — the code one would write by hand for this network, with the
same operations in the same order as ``_Stack``, so the same bits.

The guard accepts only what needs no conversion: a ``dict`` of float64 arrays of the right
shapes, a C-contiguous float64 ``X`` with the right width, and ``intp`` class labels in range.
Anything else goes to the general path, which converts it or raises ``DeriveError`` as before.
``CompiledModel.source["flat"]`` shows the generated code.
"""

from __future__ import annotations

import ast

import numpy as np

from .threads import blas_threads

__all__ = ["FlatGradient", "flat_stack", "flat_attention", "inline_kernel"]

_FLOAT64 = np.dtype(np.float64)
_INTP = np.dtype(np.intp)
_UINTP = np.dtype(np.uintp)


class FlatGradient:
    """``grad`` and ``loss_and_grad`` by the generated function ``_flat`` when a compiled kind has
    one (its ``__init__`` sets it), else by ``CompiledModel``'s checked path."""

    _flat = None
    flat_source = None

    def grad(self, params, X, y):
        """As ``CompiledModel.grad``."""
        if self._flat is None:
            return super().grad(params, X, y)
        return self._flat(params, X, y, False)[1]

    def loss_and_grad(self, params, X, y):
        """As ``CompiledModel.loss_and_grad``."""
        if self._flat is None:
            return super().loss_and_grad(params, X, y)
        loss, grads = self._flat(params, X, y, True)
        return float(loss), grads

    def _slow_grad(self, params, X, y, with_loss):
        """The gradient by the general path: inputs checked and converted, then ``_grad``."""
        P, X, y = self._inputs(params, X, y)
        with blas_threads(len(X) * self.n_params):
            loss, grads = self._grad(P, X, y, with_loss)
        return loss, self._named(grads)


class _Rename(ast.NodeTransformer):
    def __init__(self, mapping: dict, prefix: str):
        self.mapping, self.prefix = mapping, prefix

    def visit_Name(self, node):
        if node.id in ("np", "numpy"):
            return node
        return ast.copy_location(ast.Name(self.mapping.get(node.id, self.prefix + node.id), node.ctx), node)


def inline_kernel(kernel, inputs, params, outs, scratch, prefix: str) -> list:
    """The lines of ``kernel.prepare`` then ``kernel.run``, applied to the named arrays.

    Parameters
    ----------
    kernel : numeric.bridge.Kernel
    inputs, params, outs, scratch : sequence of str
        Names (in the generated function) of the kernel's inputs, small parameters, outputs and
        scratch arrays, in the order of ``kernel.run`` and ``kernel.prepare``.
    prefix : str
        Put before every other name the kernel's code assigns, so that two inlined kernels do
        not share a local.

    Returns
    -------
    list of str
        Statements, unindented.

    Examples
    --------
    >>> import sympy as sp
    >>> from numeric.bridge import Kernel
    >>> u, da = sp.symbols("u da")
    >>> inline_kernel(Kernel([da, u], [da * u + 1]), ["d1", "U1"], [], ["dz1"], [], "k1_")
    ['np.multiply(d1, U1, out=dz1)', 'np.add(dz1, 1.0, out=dz1)']
    """
    prepare, run = ast.parse(kernel.source).body
    mapping = dict(zip((a.arg for a in prepare.args.args), params))
    lines = []
    for stmt in prepare.body[:-1]:
        lines.append(ast.unparse(_Rename(mapping, prefix).visit(stmt)))
    returned = prepare.body[-1].value
    prepared = [ast.unparse(_Rename(mapping, prefix).visit(e)) for e in returned.elts]
    names = [*inputs, *prepared, *outs, *scratch]
    run_args = [a.arg for a in run.args.args]
    if len(run_args) != len(names):  # pragma: no cover - a kernel built otherwise would show here
        raise ValueError(f"kernel run takes {run_args}, given {names}")
    mapping = dict(zip(run_args, names))
    lines += [ast.unparse(_Rename(mapping, prefix).visit(stmt)) for stmt in run.body
              if not isinstance(stmt, ast.Pass)]
    return lines


def flat_stack(stack):
    """The generated gradient of a ``_Stack`` with a softmax cross-entropy output, or None.

    Parameters
    ----------
    stack : numeric.compiled._Stack
        Its hidden layers' kernels, plan (weight, bias, layout) and scratch (``stack._work``).

    Returns
    -------
    tuple of (callable, str) or None
        ``fn(params, X, y, with_loss) -> (loss or None, grads)``, and its source. ``fn`` hands
        inputs its guard does not accept to ``stack._slow_grad`` (same signature). None when the
        network has an output layer of its own loss (one unit, squared or sigmoid loss).
    """
    if stack.out is not None or any(layer.units is None for layer in stack.layers):
        return None
    names = list(stack.param_shapes)
    local = {name: f"p{k}" for k, name in enumerate(names)}
    n_hidden = len(stack.hidden)
    body = _guard(stack, local)

    # the scratch of _Stack._work(m), unpacked into locals once
    scratch = []
    for k, (fwd, bp, _) in enumerate(stack.hidden, 1):
        scratch += [f"xw{k}", *(f"o{k}_{j}" for j in range(fwd.n_outputs)),
                    *(f"f{k}_b{j}" for j in range(fwd.n_scratch)), f"da{k}", f"dz{k}",
                    *(f"g{k}_b{j}" for j in range(bp.n_scratch))]
    scratch += ["z", "e", "dZ", "onehot", "zmax", "s", "zmax_flat", "s_flat", "ones", "rows",
                *(f"d_b{j}" for j in range(stack.dz.n_scratch))]
    body.append(f"{', '.join(scratch)}, = buffers(m)")
    body.append(f"with blas_threads(m * {stack.n_params}):")
    inner = []
    A, saved = "X", []
    for k, ((w, b, as_stored), (fwd, _, needs_u)) in enumerate(zip(stack._plan, stack.hidden), 1):
        inner.append(f"np.dot({A}, {local[w]}{'' if as_stored else '.T'}, out=xw{k})")
        outs = [f"o{k}_{j}" for j in range(fwd.n_outputs)]
        inner += inline_kernel(fwd, [f"xw{k}"], [local[b]], outs,
                               [f"f{k}_b{j}" for j in range(fwd.n_scratch)], f"_h{k}")
        saved.append((A, outs[0] if needs_u else None, outs[-1]))
        A = outs[-1]
    saved.append((A, None, None))
    w, b, as_stored = stack._plan[-1]
    inner += [f"np.dot({A}, {local[w]}{'' if as_stored else '.T'}, out=z)", f"z += {local[b]}",
              # row_max(z, out=zmax): the row maxima from a transposed copy (see its docstring)
              "np.maximum.reduce(np.ascontiguousarray(z.T), axis=0, out=zmax_flat)",
              "np.subtract(z, zmax, out=e)", "np.exp(e, out=e)", "np.add.reduce(e, axis=1, out=s_flat)",
              "if with_loss:",
              "    loss = float((zmax.sum() + np.log(s).sum() - z[rows, y].sum()) / m)",
              "else:", "    loss = None",
              "onehot.fill(0.0)",
              # the mean's 1/m folded into the kernel's inputs: e/(m·s) − y/m, as _Stack._grad
              "onehot[rows, y] = 1.0 / m", "s *= m"]
    inner += inline_kernel(stack.dz, ["e", "s", "onehot"], [], ["dZ"],
                           [f"d_b{j}" for j in range(stack.dz.n_scratch)], "_d")
    dZ, grads = "dZ", {}
    for index in range(n_hidden, -1, -1):
        (w, b, as_stored), (A_in, _, _) = stack._plan[index], saved[index]
        gw, gb = f"g{local[w]}", f"g{local[b]}"
        inner.append(f"{gw} = np.dot({A_in}.T, {dZ})" if as_stored
                     else f"{gw} = np.ascontiguousarray(np.dot({A_in}.T, {dZ}).T)")
        inner.append(f"{gb} = ones.dot({dZ})")
        grads[w], grads[b] = gw, gb
        if index:
            inner.append(f"np.dot({dZ}, {local[w]}{'.T' if as_stored else ''}, out=da{index})")
            _, bp, needs_u = stack.hidden[index - 1]
            _, U, Aout = saved[index - 1]
            inner += inline_kernel(bp, [f"da{index}", *((U,) if needs_u else ()), Aout], [], [f"dz{index}"],
                                   [f"g{index}_b{j}" for j in range(bp.n_scratch)], f"_g{index}")
            dZ = f"dz{index}"
    body += [f"    {line}" for line in inner]
    body.append("return loss, {" + ", ".join(f"{name!r}: {grads[name]}" for name in names) + "}")
    return _define(stack, body, {"buffers": stack._flat_buffers})


def flat_attention(net, ones, inv_sqrt):
    """The generated gradient of a ``LayeredNet`` of one self-attention layer and a dense softmax
    output (``derive attention``), or None for any other network.

    The operations are ``LayeredNet._grad``'s (``_attend``, ``attention_backward``,
    ``_affine_back``) in the same order; ``ones(n)`` and ``inv_sqrt(n)`` are the read-only vector
    of ones and 1/√n that those use.

    Returns
    -------
    tuple of (callable, str) or None
        As ``flat_stack``; ``fn`` hands refused inputs to ``net._slow_grad``.
    """
    from derive.network import Attention, Dense

    if len(net.layers) != 2 or not isinstance(net.layers[0], Attention) or not isinstance(net.layers[1], Dense):
        return None
    att, out = net.layers
    local = {name: f"p{k}" for k, name in enumerate(net.param_shapes)}
    pq, pk, pv = (local[w.name] for w in (att.query_weight, att.key_weight, att.value_weight))
    pw, pb = local[out.weight.name], local[out.bias.name]
    t, w = att.tokens, att.width
    body = _guard(net, local)
    body += [f"onehot, rows, {''.join(f'd_b{j}, ' for j in range(net.dz.n_scratch))}= buffers(m)",
             f"with blas_threads(m * {net.n_params}):"]
    inner = [
        # forward: _attend, every token of every example in one 2-D product per projection
        f"X3 = X.reshape(m, {t}, {w})", f"tok = X3.reshape(-1, {w})",
        f"Q = np.dot(tok, {pq}).reshape(m, {t}, -1)", f"K = np.dot(tok, {pk}).reshape(m, {t}, -1)",
        f"V = np.dot(tok, {pv}).reshape(m, {t}, -1)",
        "S = Q @ K.transpose(0, 2, 1)", "S *= INV_SQRT_KEY",
        # row_max(S): the maxima from a transposed copy (see its docstring)
        f"S -= np.maximum.reduce(np.ascontiguousarray(S.reshape(-1, {t}).T), axis=0).reshape(m, {t}, 1)",
        "Pw = np.exp(S, out=S)", "Pw /= (Pw @ ONES_T)[..., None]", "O = Pw @ V",
        # the dense output layer and the softmax (LayeredNet._softmax)
        "A1 = O.reshape(m, -1)", f"z = np.dot(A1, {pw}) + {pb}",
        "zmax = np.maximum.reduce(np.ascontiguousarray(z.T), axis=0).reshape(m, 1)",
        "e = z - zmax", "np.exp(e, out=e)", "s = np.dot(e, ONES_C)[:, None]",
        "if with_loss:",
        "    loss = float((zmax.sum() + np.log(s).sum() - z[rows, y].sum()) / m)",
        "else:", "    loss = None",
        # the mean's 1/m folded into the kernel's inputs: e/(m·s) − y/m
        "onehot[rows, y] = 1.0 / m", "s *= m", "dU = np.empty(z.shape)"]
    inner += inline_kernel(net.dz, ["e", "s", "onehot"], [], ["dU"], [f"d_b{j}" for j in range(net.dz.n_scratch)], "_d")
    inner += [
        "onehot[rows, y] = 0.0",
        f"g{pw} = np.dot(A1.T, dU)", f"g{pb} = dU.sum(axis=0)",
        f"dO = np.dot(dU, {pw}.T).reshape(m, {t}, {att.value})",
        # attention_backward: through the softmax's Jacobian, row by row
        "dV = Pw.transpose(0, 2, 1) @ dO", "dS = dO @ V.transpose(0, 2, 1)",
        "dS -= ((Pw * dS) @ ONES_T)[..., None]", "dS *= Pw", "dS *= INV_SQRT_KEY",
        "dQ, dK = dS @ K, dS.transpose(0, 2, 1) @ Q",
        f"tokT = X3.reshape(-1, {w}).T",
        f"g{pq} = np.dot(tokT, dQ.reshape(-1, {att.key}))", f"g{pk} = np.dot(tokT, dK.reshape(-1, {att.key}))",
        f"g{pv} = np.dot(tokT, dV.reshape(-1, {att.value}))"]
    body += [f"    {line}" for line in inner]
    body.append("return loss, {" + ", ".join(f"{name!r}: g{p}" for name, p in local.items()) + "}")
    return _define(net, body, {"buffers": net._flat_buffers, "ONES_T": ones(t), "ONES_C": ones(net.classes),
                               "INV_SQRT_KEY": inv_sqrt(att.key)})


def _guard(compiled, local: dict) -> list:
    """The first lines of a flat gradient: the parameters read into ``local``'s names, and every
    input that needs a conversion or is wrong handed to ``slow`` (the checked path)."""
    body = ["if type(params) is not dict or type(X) is not ndarray or type(y) is not ndarray:",
            "    return slow(params, X, y, with_loss)",
            "try:"]
    body += [f"    {p} = params[{name!r}]" for name, p in local.items()]
    body += ["except KeyError:", "    return slow(params, X, y, with_loss)"]
    conditions = [f"type({p}) is not ndarray or {p}.dtype is not F64 or {p}.shape != {compiled.param_shapes[name]!r}"
                  for name, p in local.items()]
    conditions += ["X.dtype is not F64", f"X.ndim != 2 or X.shape[1] != {compiled.network.features} or X.shape[0] == 0",
                   "not X.flags.c_contiguous", "y.dtype is not INTP or y.shape != X.shape[:1]",
                   f"np.maximum.reduce(y.view(UINTP)) >= {compiled.classes}"]
    body.append("if (" + "\n        or ".join(conditions) + "):")
    return body + ["    return slow(params, X, y, with_loss)", "m = X.shape[0]"]


def _define(compiled, body: list, names: dict):
    """The function ``flat(params, X, y, with_loss)`` of ``body``, and its source."""
    source = "def flat(params, X, y, with_loss):\n" + "".join(f"    {line}\n" for line in body)
    namespace = {"np": np, "ndarray": np.ndarray, "F64": _FLOAT64, "INTP": _INTP, "UINTP": _UINTP,
                 "blas_threads": blas_threads, "slow": compiled._slow_grad, **names}
    exec(compile(source, f"<derive flat gradient of {compiled.name}>", "exec"), namespace)
    return namespace["flat"], source
