"""The user's side of a check: the point to check at, and the values the user's functions return.

``Point`` turns ``params`` into one flat float64 vector with read-only views per block; the
functions here validate what ``loss`` and ``grad`` return, and turn an exception raised in the
user's code into a one-line ``DeriveError`` that names the file and line.
"""

from __future__ import annotations

import os
import warnings
from typing import Optional

import numpy as np

from derive.errors import DeriveError

from derive.errors import said


def where_zh(where: str) -> str:
    """The file-name prefix of a message (``"x.py: "``) as the Chinese writes it (``"x.py："``)."""
    return where.removesuffix(": ") + "：" if where else ""


def _what_zh(what: str) -> str:
    """The function a message names, in Chinese: the user's own (loss, grad) keep their names."""
    return {"derived gradient": "推导出的梯度", "loss": "损失函数 loss"}.get(what, what)


def _user_error(what: str, exc: BaseException, source: Optional[str]) -> DeriveError:
    """A one-line DeriveError for an exception raised by the user's code."""
    line = line_zh = ""
    if source:
        tb = exc.__traceback__
        lineno = None
        while tb is not None:
            if _same_file(tb.tb_frame.f_code.co_filename, source):
                lineno = tb.tb_lineno
            tb = tb.tb_next
        if lineno is not None:
            line = f" (line {lineno})"
            line_zh = f"（第 {lineno} 行）"
    msg = " ".join(str(exc).split())
    extra = extra_zh = ""
    if isinstance(exc, ValueError) and "read-only" in msg:
        extra = ": it must not change its arguments in place"
        extra_zh = "：它不能原地修改自己的参数"
    elif isinstance(exc, TypeError) and ("keyword argument" in msg or "positional argument" in msg):
        extra = f" ({what} is called as {what}(**params), one argument per name in params)"
        extra_zh = f"（调用方式是 {what}(**params)，params 里每个名字对应一个参数）"
    prefix = f"{display(source)}: " if source else ""
    raised = f"{prefix}{what} raised {type(exc).__name__}"
    # The exception's own words (NumPy's, the user's) are quoted as they are.
    raised_zh = f"{where_zh(prefix)}{_what_zh(what)} 抛出 `{type(exc).__name__}`"
    return said(f"{raised}{line}: {msg}{extra}" if msg else f"{raised}{line}{extra}",
                f"{raised_zh}{line_zh}：“{msg}”{extra_zh}" if msg else f"{raised_zh}{line_zh}{extra_zh}")


def call_user(what: str, source: Optional[str], fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, where ``fn`` is the user's ``what`` or a routine that calls it:
    RuntimeWarnings silenced, an exception from the user's code turned into a one-line DeriveError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*args, **kwargs)
    except DeriveError:
        raise
    except Exception as exc:
        raise _user_error(what, exc, source) from None


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def display(source: Optional[str]) -> str:
    """How messages name the checked file: its base name, or "model" for functions."""
    return os.path.basename(source) if source else "model"


def _leaves(tree: dict, where: str, prefix: tuple = ()):
    """(path of keys, value) for every non-dict value of a dict of dicts, in order."""
    for key, value in tree.items():
        path = prefix + (str(key),)
        if isinstance(value, dict):
            if not value:
                raise said(f"{where}params[{'.'.join(path)!r}] is an empty dict",
                           f"{where_zh(where)}params[{'.'.join(path)!r}] 是空字典")
            yield from _leaves(value, where, path)
        else:
            yield path, value


class Point:
    """The parameters as one flat float64 vector, with read-only views per block."""

    def __init__(self, params, source: Optional[str] = None):
        where = f"{display(source)}: " if source else ""
        if not isinstance(params, dict) or not params:
            raise said(f"{where}params must be a non-empty dict name -> value (the point to check at)",
                       f"{where_zh(where)}params 必须是非空字典，名字 -> 值（梯度检验所在的点）")
        self.names = []
        arrays = []
        self.float32 = []
        # A block's path of keys: one key, or one per level of nested dicts (one dict per layer).
        self.paths = []
        for path, value in _leaves(params, where):
            name = ".".join(path)
            self.paths.append(path)
            if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes)):
                raise said(f"{where}params[{name!r}] is {type(value).__name__}, not a number or array",
                           f"{where_zh(where)}params[{name!r}] 是 `{type(value).__name__}`，不是数或数组")
            try:
                arr = np.asarray(value)
            except Exception:
                raise said(f"{where}params[{name!r}] is not a number or array",
                           f"{where_zh(where)}params[{name!r}] 不是数或数组") from None
            if arr.dtype.kind not in "fiu":
                kind = "complex" if arr.dtype.kind == "c" else arr.dtype.name
                raise said(f"{where}params[{name!r}] has dtype {kind}; expected real numbers",
                           f"{where_zh(where)}params[{name!r}] 的数据类型是 `{kind}`；应为实数")
            if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
                self.float32.append(name)
            arr = arr.astype(np.float64)
            if not np.all(np.isfinite(arr)):
                raise said(f"{where}params[{name!r}] contains nan or inf", f"{where_zh(where)}params[{name!r}] 含有 nan 或 inf")
            if arr.size == 0:
                raise said(f"{where}params[{name!r}] is empty", f"{where_zh(where)}params[{name!r}] 是空的")
            self.names.append(name)
            arrays.append(arr)
        self.shapes = [a.shape for a in arrays]
        self.sizes = [a.size for a in arrays]
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.n = int(self.offsets[-1])
        self.x = np.concatenate([a.ravel() for a in arrays]).astype(np.float64)
        self.x0 = self.x.copy()
        self.views = self._views(self.x)
        self._complex = None

    def _views(self, buf):
        """Read-only views of ``buf``, nested as ``params`` was: the keyword arguments of ``loss``."""
        views = {}
        for path, shape, o, s in zip(self.paths, self.shapes, self.offsets, self.sizes):
            v = buf[o:o + s].reshape(shape)
            v.flags.writeable = False
            level = views
            for key in path[:-1]:
                level = level.setdefault(key, {})
            level[path[-1]] = v
        return views

    def complex_views(self):
        if self._complex is None:
            self.xc = self.x.astype(np.complex128)
            self._complex = self._views(self.xc)
        self.xc[:] = self.x
        return self.xc, self._complex

    def block_of(self, b: int) -> slice:
        return slice(int(self.offsets[b]), int(self.offsets[b + 1]))

    def block_index(self, flat) -> np.ndarray:
        return np.searchsorted(self.offsets, flat, side="right") - 1

    def unravel(self, b: int, local: int) -> tuple:
        shape = self.shapes[b]
        return tuple(int(i) for i in np.unravel_index(local, shape)) if shape else ()


def loss_and_grads(r) -> bool:
    """Is ``r`` a pair (loss, dict of gradients), as course code's ``loss`` often returns?"""
    return isinstance(r, tuple) and len(r) == 2 and isinstance(r[1], dict)


def scalar_converter(r, what: str, where: str):
    """Check the first result of ``loss`` and return a fast float() for the next ones."""
    if loss_and_grads(r):
        first = scalar_converter(r[0], what, where)
        return lambda v: first(v[0])
    if isinstance(r, (bool, np.bool_)):
        raise said(f"{where}{what} returned a bool, not a number", f"{where_zh(where)}{_what_zh(what)} 返回了布尔值，不是数")
    if isinstance(r, (int, float, np.integer, np.floating)):
        return float
    if isinstance(r, (complex, np.complexfloating)) or (isinstance(r, np.ndarray) and r.dtype.kind == "c"):
        raise said(f"{where}{what} returned a complex number; expected a real scalar",
                   f"{where_zh(where)}{_what_zh(what)} 返回了复数；应返回实数标量")
    if isinstance(r, np.ndarray):
        if r.dtype.kind not in "fiu":
            raise said(f"{where}{what} returned an array of dtype {r.dtype}; expected a real scalar",
                       f"{where_zh(where)}{_what_zh(what)} 返回了数据类型为 `{r.dtype}` 的数组；应返回实数标量")
        if r.size != 1:
            raise said(f"{where}{what} must return a scalar, not an array of shape {r.shape} (sum or average it)",
                       f"{where_zh(where)}{_what_zh(what)} 必须返回标量，而不是形状为 {r.shape} 的数组（请求和或取平均）")
        if r.ndim == 0:
            return float
        return lambda v: float(v.reshape(-1)[0])
    mod = type(r).__module__ or ""
    if mod.startswith("sympy"):
        raise said(f"{where}{what} returned a SymPy expression; for the SymPy form set loss to the expression itself",
                   f"{where_zh(where)}{_what_zh(what)} 返回了 SymPy 表达式；SymPy 形式请直接令 loss 等于该表达式")
    try:
        float(r)
    except Exception:
        raise said(f"{where}{what} returned {type(r).__name__}; expected a real scalar",
                   f"{where_zh(where)}{_what_zh(what)} 返回了 `{type(r).__name__}`；应返回实数标量") from None
    return float


def _as_gradient(g, point: Point, what: str, where: str):
    """The user's gradient as a flat float64 vector; DeriveError on wrong names or shapes."""
    names = point.names
    listed = ", ".join(names)
    ignored, notes = [], []
    if isinstance(g, dict):
        try:
            lookup = {".".join(path): v for path, v in _leaves(g, where)}
        except DeriveError:
            raise said(f"{where}{what} has an empty dict where params has arrays",
                       f"{where_zh(where)}{_what_zh(what)} 在 params 有数组的位置是空字典") from None
        # Course style: dW1 for W1 (in a layer's dict: dW for W), next to intermediate gradients
        # (dZ1, dA0) the check ignores.
        course = {".".join(path[:-1] + ("d" + path[-1],)): n for path, n in zip(point.paths, names)}
        if not any(n in lookup for n in names) and all(k in lookup for k in course):
            ignored = sorted(k for k in lookup if k not in course)
            lookup = {course[k]: v for k, v in lookup.items() if k in course}
        keys = list(lookup)
        missing = [n for n in names if n not in keys]
        extra = [k for k in keys if k not in names]
        if extra:
            raise said(f"{where}{what} has {extra[0]!r}, which is not in params ({listed})",
                       f"{where_zh(where)}{_what_zh(what)} 有 {extra[0]!r}，它不在 params 中（{listed}）")
        if missing:
            raise said(f"{where}{what} has no entry for {missing[0]!r} (params: {listed})",
                       f"{where_zh(where)}{_what_zh(what)} 没有 {missing[0]!r} 一项（params：{listed}）")
        values = [lookup[n] for n in names]
    elif isinstance(g, (tuple, list)):
        if len(g) != len(names):
            raise said(f"{where}{what} returned {len(g)} values for {len(names)} params ({listed}); "
                       "return a dict, or a tuple in the order of params",
                       f"{where_zh(where)}{_what_zh(what)} 对 {len(names)} 个参数（{listed}）返回了 {len(g)} 个值；"
                       "请返回字典，或按 params 的顺序返回元组")
        values = list(g)
    elif len(names) == 1 and not callable(g):
        values = [g]
    else:
        raise said(f"{where}{what} must return a dict name -> gradient (names: {listed}), not {type(g).__name__}",
                   f"{where_zh(where)}{_what_zh(what)} 必须返回字典，名字 -> 梯度（名字：{listed}），而不是 "
                   f"`{type(g).__name__}`")
    flat = []
    low = False
    for name, shape, v in zip(names, point.shapes, values):
        try:
            arr = np.asarray(v)
        except Exception:
            raise said(f"{where}{what}[{name!r}] is not a number or array",
                       f"{where_zh(where)}{what}[{name!r}] 不是数或数组") from None
        if arr.dtype.kind not in "fiu" or isinstance(v, (bool, np.bool_)):
            raise said(f"{where}{what}[{name!r}] has dtype {arr.dtype}; expected real numbers",
                       f"{where_zh(where)}{what}[{name!r}] 的数据类型是 `{arr.dtype}`；应为实数")
        if arr.dtype.kind == "f" and arr.dtype.itemsize < 8:
            low = True
        size = int(np.prod(shape)) if shape else 1
        if arr.shape != shape and arr.size == size and (size == 1 or _squeezed(arr.shape) == shape
                                                       or _squeezed(shape) == arr.shape):
            # (1, D) for (D,), or (D,) for (D, 1): one shape is the other with singleton axes added,
            # so the entries are the same in the same order (a (1, n) for an (n, 1) is not: that
            # is a sum over the wrong axis).
            if size > 1:
                notes.append(f"{what}[{name!r}] has shape {arr.shape} for params[{name!r}] of shape {shape}: "
                             "the same entries, read in the parameter's shape")
            arr = arr.reshape(shape)
        if arr.shape != shape:
            hint = hint_zh = ""
            others = [o for o, s in zip(names, point.shapes) if s == arr.shape and o != name]
            if len(shape) == 2 and 1 in shape and arr.shape == shape[::-1]:
                # A (1, n) against (n, 1) is a sum over the wrong axis far more often than a transpose.
                hint = (": a row where a column belongs, or the reverse: summed over the wrong axis? (a bias "
                        "gradient sums over the examples' axis, with keepdims=True)")
                hint_zh = "：行与列放反了——是否对错了轴求和？（偏差的梯度对样本所在的轴求和，并用 keepdims=True）"
            elif len(shape) == 2 and arr.shape == shape[::-1]:
                hint = ": the gradient is transposed"
                hint_zh = "：梯度被转置了"
            elif others:
                hint = f": it has the shape of {others[0]!r} (names or tuple order mixed up?)"
                hint_zh = f"：它是 {others[0]!r} 的形状（名字或元组顺序弄混了？）"
            elif arr.size == size:
                hint = " (same number of entries: reshape it)"
                hint_zh = "（元素个数相同：改变它的形状即可）"
            raise said(f"{where}{what}[{name!r}] has shape {arr.shape} but params[{name!r}] has shape {shape}{hint}",
                       f"{where_zh(where)}{what}[{name!r}] 的形状是 {arr.shape}，而 params[{name!r}] 的形状是 {shape}{hint_zh}")
        flat.append(arr.astype(np.float64).ravel())
    if ignored:
        notes.insert(0, f"{what} keys that name no parameter ignored: {', '.join(ignored)}")
    return np.concatenate(flat), low, notes


def _squeezed(shape: tuple) -> tuple:
    return tuple(d for d in shape if d != 1)


def gradient_values(grad, point: Point, what: str, source, where: str):
    """Call (or read) a gradient; return the flat vector, whether it was float32, and notes on
    what was read leniently (keys of a course-style dict that name no parameter, such as ``dZ1``,
    ignored; a (1, D) gradient for a (D,) parameter)."""
    if callable(grad):
        flat, low, notes = _as_gradient(call_user(what, source, grad, **point.views), point, what, where)
        flat2, _, _ = _as_gradient(call_user(what, source, grad, **point.views), point, what, where)
        if not np.array_equal(flat, flat2, equal_nan=True):
            raise said(f"{where}{what} is not deterministic: two calls at the same point differ",
                       f"{where_zh(where)}{_what_zh(what)} 不是确定性的：在同一点调用两次，结果不同")
        return flat, low, notes
    return _as_gradient(grad, point, what, where)
