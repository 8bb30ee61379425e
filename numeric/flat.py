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

__all__ = ["FlatGradient", "flat_stack", "flat_attention", "flat_conv", "inline_kernel"]

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
        "A1 = O.reshape(m, -1)"]     # the dense output layer's input, a row per example
    inner += _dense_softmax_lines(net, pw, pb)
    inner += [
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


def flat_conv(net, ones):
    """The generated gradient of a ``LayeredNet`` of a convolution with an activation, max-pooling
    and a dense softmax output (``derive conv``), or None for any other network.

    The numbers are ``LayeredNet._grad``'s, bit for bit: the same matrix products of the same
    shapes (Z = W·cols with cols the im2col matrix, ∂L/∂W = dZ·colsᵀ), the same kernels and the
    same reductions. What changes is where the arrays live. The convolution's output stays in
    im2col's layout (filters, examples, rows, columns), where the product leaves it, instead of
    being turned to (examples, filters, …); the zero-padded input, the im2col matrix, the
    activations and ∂L/∂Z live in scratch made once per batch size, with the strided views
    (the windows of the padded input, the pooled part of the activations as its windows' s²
    corners) made with them. Max-pooling copies the activations once into s² contiguous blocks,
    one per corner of the windows (in reading order), and takes the running maximum over the
    blocks (np.maximum keeps the first of equal values, as argmax does); the backward pass sends
    dA to the first corner equal to the maximum, block by block, and copies the blocks back once.
    Every pass over the pooled values is then along contiguous memory, where strided views of
    the corners, or a (…, s²) array of windows, make NumPy loop over runs of s values. The
    convolution is the first layer, so ∂L/∂X is not formed.

    Returns
    -------
    tuple of (callable, str) or None
        As ``flat_stack``; ``fn`` hands refused inputs to ``net._slow_grad``.
    """
    from numpy.lib.stride_tricks import sliding_window_view

    from derive.network import Conv, Dense, Pool

    layers = net.layers
    if (len(layers) != 3 or not isinstance(layers[0], Conv) or not isinstance(layers[1], Pool)
            or not isinstance(layers[2], Dense) or layers[1].kind != "max" or 0 not in net._act):
        return None
    conv, pool, out = layers
    fwd, bp, needs_u = net._act[0]
    local = {name: f"p{k}" for k, name in enumerate(net.param_shapes)}
    pc, pcb = local[conv.weight.name], local[conv.bias.name]
    pw, pb = local[out.weight.name], local[out.bias.name]
    c, n, f, k, nz = conv.channels, conv.side, conv.filter, conv.filters, conv.out_side
    size, o = pool.size, pool.out_side
    corners = [(u, v) for u in range(size) for v in range(size)]   # reading order, as argmax's

    def make(m):
        side = n + 2 * conv.padding
        pad = np.zeros((m, c, side, side))      # its border stays zero
        inner = pad[:, :, conv.padding:conv.padding + n, conv.padding:conv.padding + n]
        windows = sliding_window_view(pad, (f, f), axis=(2, 3))[:, :, ::conv.stride, ::conv.stride]
        cols = np.empty((c * f * f, m * nz * nz))
        xw = np.empty((k, m * nz * nz))
        acts = [np.empty((k, m, nz, nz)) for _ in range(fwd.n_outputs + fwd.n_scratch)]
        dpre, dz = np.zeros((k, m, nz, nz)), np.empty((k, m * nz * nz))
        bp_scratch = [np.empty((k, m, nz, nz)) for _ in range(bp.n_scratch)]
        A1 = np.empty((m, k * o * o))

        def blocks(a):
            """The pooled part of a (k, m, nz, nz) array as (k, m, o, size, o, size)."""
            return a[:, :, :o * size, :o * size].reshape(k, m, o, size, o, size)

        # the pooling windows' corners, corner by corner: (size, size, k, m, o, o), each contiguous
        corner_first = (3, 5, 0, 1, 2, 4)
        win, back = np.empty((size, size, k, m, o, o)), np.empty((size, size, k, m, o, o))
        return (inner, windows.transpose(1, 4, 5, 0, 2, 3), cols, cols.reshape(c, f, f, m, nz, nz), xw,
                xw.reshape(k, m, nz, nz), *acts, dpre, dz, dz.reshape(k, m, nz, nz), *bp_scratch, A1,
                A1.reshape(m, k, o, o).transpose(1, 0, 2, 3), np.empty((k, m, o, o)), np.empty((k, m, o, o)),
                np.empty((k, m, o, o), bool), np.empty((k, m, o, o), bool),
                blocks(acts[fwd.n_outputs - 1]).transpose(*corner_first), win, back,
                blocks(dpre), back.transpose(2, 3, 4, 0, 5, 1), *win.reshape(size * size, k, m, o, o),
                *back.reshape(size * size, k, m, o, o),
                np.zeros((m, net.classes)), np.arange(m), *net.dz.scratch((m, net.classes)))

    outs = [f"o{j}" for j in range(fwd.n_outputs)]
    fscratch = [f"f_b{j}" for j in range(fwd.n_scratch)]
    gscratch = [f"g_b{j}" for j in range(bp.n_scratch)]
    win = [f"win{q}" for q in range(len(corners))]
    back = [f"back{q}" for q in range(len(corners))]
    body = _guard(net, local)
    body += [f"inner, windows, cols, cols6, xw, xw4, {', '.join(outs + fscratch)}, dpre, dz, dz4, "
             f"{''.join(g + ', ' for g in gscratch)}A1, A1T, pooled, dA, taken, hit, corners_of_a, win, back, "
             f"dpre_blocks, back_blocks, {', '.join(win + back)}, onehot, rows, "
             f"{''.join(f'd_b{j}, ' for j in range(net.dz.n_scratch))}= buffers(m)",
             f"with blas_threads(m * {net.n_params}):"]
    inner = [
        # im2col: the input into the padded scratch, every window of it into the columns
        f"inner[...] = X.reshape(m, {c}, {n}, {n})", "np.copyto(cols6, windows)",
        f"np.dot({pc}.reshape({k}, -1), cols, out=xw)"]
    inner += inline_kernel(fwd, ["xw4"], [f"{pcb}[:, None, None, None]"], outs, fscratch, "_h")
    # max-pooling: one strided copy puts each corner of every window in a block of its own, and
    # the maximum runs over the blocks, then goes to the dense layer's rows (A1T is A1)
    inner.append("np.copyto(win, corners_of_a)")
    inner.append(f"np.maximum({win[0]}, {win[1]}, out=pooled)" if len(win) > 1 else f"pooled[...] = {win[0]}")
    inner += [f"np.maximum(pooled, {w}, out=pooled)" for w in win[2:]]
    inner.append("np.copyto(A1T, pooled)")
    inner += _dense_softmax_lines(net, pw, pb)
    inner += [
        f"np.copyto(dA, np.dot(dU, {pw}.T).reshape(m, {k}, {o}, {o}).transpose(1, 0, 2, 3))",
        # each window's dA to its first corner equal to the maximum, 0 to the others
        f"np.equal({win[0]}, pooled, out=taken)", f"np.multiply(dA, taken, out={back[0]})"]
    for q in range(1, len(corners)):
        inner += [f"np.equal({win[q]}, pooled, out=hit)", "np.greater(hit, taken, out=hit)",
                  f"np.multiply(dA, hit, out={back[q]})"]
        if q < len(corners) - 1:
            inner.append("np.logical_or(taken, hit, out=taken)")
    # back in the convolution's layout; + 0.0 makes the −0.0 of a negative dA times 0 the +0.0
    # that LayeredNet._unpool leaves there (dA itself, a BLAS product, is never −0.0)
    inner.append("np.add(back_blocks, 0.0, out=dpre_blocks)")
    inner += inline_kernel(bp, ["dpre", *(outs[:1] if needs_u else ()), outs[-1]], [], ["dz4"], gscratch, "_g")
    inner += [f"g{pc} = np.dot(dz, cols.T).reshape({conv.filters}, {c}, {f}, {f})", f"g{pcb} = dz.sum(axis=1)"]
    body += [f"    {line}" for line in inner]
    body.append("return loss, {" + ", ".join(f"{name!r}: g{p}" for name, p in local.items()) + "}")
    return _define(net, body, {"buffers": lambda m: net._buffer_set(("flat-conv", m), lambda: make(m)),
                               "ONES_C": ones(net.classes)})


def _dense_softmax_lines(net, pw: str, pb: str) -> list:
    """``LayeredNet``'s output layer on ``A1`` (m rows): the logits z, the softmax (``_softmax``),
    the loss when ``with_loss``, ∂L/∂z as ``dU``, and the layer's gradients ``g<pw>``, ``g<pb>``."""
    lines = [
        f"z = np.dot(A1, {pw}) + {pb}",
        # row_max(z): the maxima from a transposed copy (see its docstring)
        "zmax = np.maximum.reduce(np.ascontiguousarray(z.T), axis=0).reshape(m, 1)",
        "e = z - zmax", "np.exp(e, out=e)", "s = np.dot(e, ONES_C)[:, None]",
        "if with_loss:",
        "    loss = float((zmax.sum() + np.log(s).sum() - z[rows, y].sum()) / m)",
        "else:", "    loss = None",
        # the mean's 1/m folded into the kernel's inputs: e/(m·s) − y/m
        "onehot[rows, y] = 1.0 / m", "s *= m", "dU = np.empty(z.shape)"]
    lines += inline_kernel(net.dz, ["e", "s", "onehot"], [], ["dU"], [f"d_b{j}" for j in range(net.dz.n_scratch)], "_d")
    return lines + ["onehot[rows, y] = 0.0", f"g{pw} = np.dot(A1.T, dU)", f"g{pb} = dU.sum(axis=0)"]


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
