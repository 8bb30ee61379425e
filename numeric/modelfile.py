"""Loading a model file for ``derive check-grad`` (the protocol is described in ``numeric.check``).

The file is the user's own code and running it is the point: it is executed with
``runpy.run_path`` in a fresh namespace. Whatever goes wrong while loading it becomes one line,
``model.py: line 3: SyntaxError: invalid syntax``, raised as ``DeriveError``.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import stat
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from derive.errors import DeriveError, said
from derive.io import why_zh

__all__ = ["ModelFile", "SympyProblem", "check_source", "load_model_file", "sympy_problem",
           "user_output_to_stderr"]

MAX_SOURCE_BYTES = 16 * 2 ** 20     # a model file is source code; anything larger is refused unread


@dataclass
class ModelFile:
    """What a model file defines.

    Attributes
    ----------
    path : str
        Absolute path of the file.
    form : str
        One of {"numpy", "sympy"}.
    loss : callable or sympy.Expr
    params : dict
    grad : callable, dict or None
        None in the NumPy form when ``loss`` returns (loss, grads).
    data : dict or None
        SymPy form only: values of the loss's other free symbols (None in the NumPy form, whatever
        the file's own ``data`` is).
    """

    path: str
    form: str
    loss: Any
    params: dict
    grad: Any = None
    data: Optional[dict] = None


@dataclass
class SympyProblem:
    """A SymPy-form file compiled to NumPy: what ``check_grad`` needs.

    Attributes
    ----------
    loss : callable
        ``loss(**params) -> float``, the mean over the examples.
    derived : callable
        ``derived(**params) -> dict``: the gradient derived by the engine, compiled.
    handwritten : callable or None
        The file's own ``grad``, compiled when it is a dict of SymPy expressions.
    params : dict of str to float
    batch : callable
        ``batch(P) -> ndarray of shape (r,)``: the loss at each row of ``P`` (shape (r, n)),
        vectorized over the rows, so finite differences need no loop.
    notes : list of str
    """

    loss: Callable
    derived: Callable
    handwritten: Optional[Callable]
    params: dict
    batch: Callable
    notes: list = field(default_factory=list)



@contextlib.contextmanager
def user_output_to_stderr():
    """Send what the user's code prints to stderr, so stdout holds only the report."""
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _line_of(exc: BaseException, path: str) -> Optional[int]:
    lineno = None
    tb = exc.__traceback__
    while tb is not None:
        try:
            if os.path.samefile(tb.tb_frame.f_code.co_filename, path):
                lineno = tb.tb_lineno
        except OSError:
            pass
        tb = tb.tb_next
    return lineno


def _one_line(text) -> str:
    return " ".join(str(text).split())


def check_source(path) -> None:
    """Refuse, before reading a byte, what cannot be a model file: a missing path, a folder, a
    device or FIFO (``/dev/zero`` never ends), a file over 16 MiB.

    Raises
    ------
    DeriveError
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise said(f"{path}: no such file", f"{path}：没有这个文件") from None
    except OSError as exc:
        raise said(f"{path}: cannot be read ({exc.strerror})", f"{path}：无法读取（{why_zh(exc)}）") from None
    if stat.S_ISDIR(st.st_mode):
        raise said(f"{path}: is a folder, not a model file", f"{path}：是文件夹，不是模型文件")
    if not stat.S_ISREG(st.st_mode):
        raise said(f"{path}: is not a regular file (a device, FIFO or socket); a model file is Python source",
                   f"{path}：不是普通文件（而是设备、命名管道或套接字）；模型文件是 Python 源代码")
    if st.st_size > MAX_SOURCE_BYTES:
        raise said(f"{path}: is {st.st_size:,} bytes; a model file is Python source of at most "
                   f"{MAX_SOURCE_BYTES:,} bytes",
                   f"{path}：有 {st.st_size:,} 字节；模型文件是不超过 {MAX_SOURCE_BYTES:,} 字节的 Python 源代码")


def load_model_file(path) -> ModelFile:
    """Run a model file and read its protocol names.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    ModelFile

    Raises
    ------
    DeriveError
        The file is missing, does not run (syntax error, an exception at import), or lacks
        ``loss``/``params`` (or ``grad`` in the NumPy form).
    """
    check_source(path)
    name = os.path.basename(str(path))
    full = os.path.abspath(path)
    # The file's own folder is importable, as when it runs as a script (from testCases import *).
    folder = os.path.dirname(full)
    sys.path.insert(0, folder)
    try:
        with user_output_to_stderr():
            namespace = runpy.run_path(full, run_name="__derive_check_grad__")
    except SyntaxError as exc:
        line = f"line {exc.lineno}: " if exc.lineno else ""
        line_zh = f"第 {exc.lineno} 行：" if exc.lineno else ""
        # Python's own words are quoted as they are.
        raise said(f"{name}: {line}{type(exc).__name__}: {_one_line(exc.msg)}",
                   f"{name}：{line_zh}`{type(exc).__name__}`：“{_one_line(exc.msg)}”") from None
    except (KeyboardInterrupt, MemoryError):
        raise
    except BaseException as exc:  # SystemExit too: the file is the user's, any failure is theirs
        lineno = _line_of(exc, full)
        line = f"line {lineno}: " if lineno else ""
        line_zh = f"第 {lineno} 行：" if lineno else ""
        msg = _one_line(exc)
        raise said(f"{name}: {line}{type(exc).__name__}{': ' + msg if msg else ''}",
                   f"{name}：{line_zh}`{type(exc).__name__}`{'：“' + msg + '”' if msg else ''}") from None
    finally:
        sys.path.remove(folder)

    if "loss" not in namespace:
        raise said(f"{name}: no `loss` defined (a function loss(**params) -> float, or a SymPy expression)",
                   f"{name}：没有定义 `loss`（损失函数 loss(**params)，返回一个数；或一个 SymPy 表达式）")
    loss = namespace["loss"]
    # A SymPy expression can only exist if the file imported SymPy: a NumPy-form file never pays
    # for importing it here.
    sp = sys.modules.get("sympy")
    if sp is not None and isinstance(loss, sp.Basic):       # before callable: a Symbol is callable
        form = "sympy"
    elif callable(loss):
        form = "numpy"
    else:
        raise said(f"{name}: `loss` is a {type(loss).__name__}; expected a function or a SymPy expression",
                   f"{name}：`loss` 是 `{type(loss).__name__}`；应是函数或 SymPy 表达式")
    if "params" not in namespace:
        raise said(f"{name}: no `params` defined (a dict name -> value: the point to check at)",
                   f"{name}：没有定义 `params`（字典，名字 -> 值：梯度检验所在的点）")
    params = namespace["params"]
    if not isinstance(params, dict) or not params:
        raise said(f"{name}: `params` must be a non-empty dict name -> value, not {type(params).__name__}",
                   f"{name}：`params` 必须是非空字典，名字 -> 值，而不是 `{type(params).__name__}`")
    grad = namespace.get("grad")
    if form == "numpy":
        if grad is None and not _returns_grads(loss, params):
            raise said(f"{name}: no `grad` defined (the NumPy form needs grad(**params) returning a dict, "
                       "or loss returning (loss, grads))",
                       f"{name}：没有定义 `grad`（NumPy 形式需要返回字典的 grad(**params)，"
                       "或返回 (loss, grads) 的 loss）")
        if grad is not None and not callable(grad):
            raise said(f"{name}: `grad` must be a function grad(**params) -> dict, not {type(grad).__name__}",
                       f"{name}：`grad` 必须是返回字典的函数 grad(**params)，而不是 `{type(grad).__name__}`")
    # The form is decided by `loss` alone; in the NumPy form every other global, `data` (the most
    # common name for a training set) included, is the user's own business.
    data = namespace.get("data") if form == "sympy" else None
    if data is not None and not isinstance(data, dict):
        raise said(f"{name}: `data` must be a dict symbol name -> value(s), not {type(data).__name__}",
                   f"{name}：`data` 必须是字典，符号名 -> 值，而不是 `{type(data).__name__}`")
    return ModelFile(full, form, loss, params, grad, data)


def _returns_grads(loss, params) -> bool:
    """Does ``loss(**params)`` return (loss, dict of gradients)? Only asked when there is no ``grad``;
    an exception here is reported by the check itself, which calls ``loss`` again."""
    from .check.inputs import loss_and_grads

    try:
        with user_output_to_stderr():
            return loss_and_grads(loss(**params)) if isinstance(params, dict) else False
    except Exception:
        return False


def _symbol_table(expr) -> dict:
    table = {}
    for s in expr.free_symbols:
        table.setdefault(s.name, s)
    return table


def _grad_expression(value, where: str):
    """One entry of a SymPy-form ``grad``: an expression, a number, or text read by derive's safe
    parser (never ``sympify``, which evaluates text as Python)."""
    import numpy as np
    import sympy as sp

    from derive.parse import parse_expression

    if isinstance(value, str):
        try:
            return parse_expression(value)
        except DeriveError as exc:
            raise said(f"{where}: {exc}", f"{where}：{exc}") from None
    if isinstance(value, sp.Basic):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_)):
        return sp.Float(float(value)) if isinstance(value, (float, np.floating)) else sp.Integer(int(value))
    raise said(f"{where} is a {type(value).__name__}, not a SymPy expression",
               f"{where} 是 `{type(value).__name__}`，不是 SymPy 表达式")


def sympy_problem(spec: ModelFile) -> SympyProblem:
    """Derive and compile the gradient of a SymPy-form file.

    Parameters
    ----------
    spec : ModelFile
        With ``form == "sympy"``.

    Returns
    -------
    SympyProblem

    Raises
    ------
    DeriveError
        Unknown or missing symbols, data arrays of different lengths, a ``grad`` that is
        neither a dict of expressions nor a function.
    """
    import numpy as np
    import sympy as sp

    from derive import engine

    from .bridge import lambdify

    name = os.path.basename(spec.path)
    loss = spec.loss                   # a SymPy expression: load_model_file decided the form by it
    symbols = _symbol_table(loss)
    param_names = [str(k.name if isinstance(k, sp.Symbol) else k) for k in spec.params]
    for pn in param_names:
        if pn not in symbols:
            raise said(f"{name}: params has {pn!r}, which is not a symbol of loss "
                       f"(its symbols: {', '.join(sorted(symbols))})",
                       f"{name}：params 有 {pn!r}，它不是 loss 的符号（loss 的符号：{', '.join(sorted(symbols))}）")
    values = {}
    for key, v in spec.params.items():
        pn = str(key.name if isinstance(key, sp.Symbol) else key)
        try:
            values[pn] = float(v)
        except (TypeError, ValueError):
            raise said(f"{name}: params[{pn!r}] must be a number (the SymPy form has scalar parameters)",
                       f"{name}：params[{pn!r}] 必须是数（SymPy 形式的参数是标量）") from None
    data_in = spec.data or {}
    data = {}
    m = None
    for key, v in data_in.items():
        dn = str(key.name if isinstance(key, sp.Symbol) else key)
        if dn in values:
            raise said(f"{name}: {dn!r} is in both params and data", f"{name}：{dn!r} 同时在 params 和 data 中")
        if dn not in symbols:
            raise said(f"{name}: data has {dn!r}, which is not a symbol of loss",
                       f"{name}：data 有 {dn!r}，它不是 loss 的符号")
        try:
            arr = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise said(f"{name}: data[{dn!r}] is not numeric", f"{name}：data[{dn!r}] 不是数值") from None
        if arr.ndim > 1:
            raise said(f"{name}: data[{dn!r}] must be a number or a 1-D array, not shape {arr.shape}",
                       f"{name}：data[{dn!r}] 必须是数或一维数组，而不是形状 {arr.shape}")
        if arr.ndim == 1:
            if m is not None and arr.size != m:
                raise said(f"{name}: data arrays have different lengths ({m} and {arr.size} for {dn!r})",
                           f"{name}：data 中数组的长度不同（{m}，而 {dn!r} 是 {arr.size}）")
            m = arr.size
        data[dn] = arr
    missing = sorted(set(symbols) - set(values) - set(data))
    if missing:
        raise said(f"{name}: loss has symbols with no value: {', '.join(missing)} (give them in params or data)",
                   f"{name}：loss 中有符号没有值：{', '.join(missing)}（请在 params 或 data 中给出）")

    pnames = list(values)
    dnames = list(data)
    args = [symbols[n] for n in pnames] + [symbols[n] for n in dnames]
    d_cols = [d[None, :] if d.ndim else d for d in (data[n] for n in dnames)]
    d_flat = [data[n] for n in dnames]
    loss_fn = lambdify(args, loss)
    derived_exprs = [engine.derivative(loss, symbols[n]) for n in pnames]
    grad_fn = lambdify(args, list(derived_exprs))

    def mean(v):
        return float(np.mean(v))

    def loss_numeric(**kw):
        return mean(loss_fn(*(kw[n] for n in pnames), *d_flat))

    def batch(P):
        cols = [P[:, j][:, None] for j in range(P.shape[1])]
        out = np.asarray(loss_fn(*cols, *d_cols), dtype=np.float64)
        return np.broadcast_to(out, (P.shape[0], out.shape[-1] if out.ndim == 2 else 1)).mean(axis=1)

    def derived(**kw):
        return {n: mean(g) for n, g in zip(pnames, grad_fn(*(kw[n] for n in pnames), *d_flat))}

    handwritten = None
    grad = spec.grad
    if grad is not None:
        if isinstance(grad, dict):
            exprs = {}
            for key, e in grad.items():
                gn = str(key.name if isinstance(key, sp.Symbol) else key)
                if gn not in values:
                    raise said(f"{name}: grad has {gn!r}, which is not in params ({', '.join(pnames)})",
                               f"{name}：grad 有 {gn!r}，它不在 params 中（{', '.join(pnames)}）")
                exprs[gn] = _grad_expression(e, f"{name}: grad[{gn!r}]")
            absent = [n for n in pnames if n not in exprs]
            if absent:
                raise said(f"{name}: grad has no entry for {absent[0]!r} (params: {', '.join(pnames)})",
                           f"{name}：grad 没有 {absent[0]!r} 一项（params：{', '.join(pnames)}）")
            for gn, e in exprs.items():
                extra = sorted(s.name for s in e.free_symbols if s.name not in symbols)
                if extra:
                    raise said(f"{name}: grad[{gn!r}] uses {', '.join(extra)}, which is not a symbol of loss",
                               f"{name}：grad[{gn!r}] 用到了 {', '.join(extra)}，它不是 loss 的符号")
            rename = {s: symbols[s.name] for e in exprs.values() for s in e.free_symbols}
            hand_fn = lambdify(args, [exprs[n].xreplace(rename) for n in pnames])

            def handwritten(**kw):
                return {n: mean(g) for n, g in zip(pnames, hand_fn(*(kw[n] for n in pnames), *d_flat))}
        elif callable(grad):
            handwritten = grad
        else:
            raise said(f"{name}: `grad` must be a dict of SymPy expressions or a function, not {type(grad).__name__}",
                       f"{name}：`grad` 必须是 SymPy 表达式的字典或函数，而不是 `{type(grad).__name__}`")
    notes = []
    if m is not None:
        notes.append(f"loss is the mean over the {m} examples of data")
    return SympyProblem(loss_numeric, derived, handwritten, values, batch, notes)
