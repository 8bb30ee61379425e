"""Pictures of a training run: the loss curve and, for a network of one feature, one hidden
layer of pieces and one output (the sum of sigmoids), the fitted curve drawn as the notes draw it
(the red curve = a constant + blue pieces cᵢ σ(bᵢ + wᵢ x)).

Two back ends: a PNG through matplotlib (the optional extra ``derive-gradients[plot]``) and
plain Unicode text (Braille dots) for the terminal, which needs nothing and is the same bytes
on every run.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import sympy as sp

from derive.errors import DeriveError

INSTALL_HINT = "pip install 'derive-gradients[plot]'"

# Bit of each dot in a Braille cell, indexed [row][column] (Unicode Braille Patterns block).
_DOTS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))


class Canvas:
    """A grid of Braille cells, each 2 dots wide and 4 dots tall.

    Parameters
    ----------
    width, height : int
        Size in characters; the canvas has ``2 * width`` by ``4 * height`` dots.
    x_range, y_range : tuple of float
        The data coordinates of the left/right and bottom/top edges.
    """

    def __init__(self, width: int, height: int, x_range, y_range):
        self.width, self.height = width, height
        self.cells = [[0] * width for _ in range(height)]
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_range

    def _px(self, x, y):
        fx = 0.5 if self.x1 == self.x0 else (x - self.x0) / (self.x1 - self.x0)
        fy = 0.5 if self.y1 == self.y0 else (y - self.y0) / (self.y1 - self.y0)
        return fx * (2 * self.width - 1), (1.0 - fy) * (4 * self.height - 1)

    def dot(self, px: int, py: int) -> None:
        if 0 <= px < 2 * self.width and 0 <= py < 4 * self.height:
            self.cells[py // 4][px // 2] |= _DOTS[py % 4][px % 2]

    def points(self, xs, ys) -> None:
        """Mark one dot per point."""
        for x, y in zip(xs, ys):
            px, py = self._px(x, y)
            self.dot(round(px), round(py))

    def line(self, xs, ys) -> None:
        """Join successive points with straight runs of dots."""
        prev = None
        for x, y in zip(xs, ys):
            px, py = self._px(x, y)
            if prev is not None:
                steps = max(1, int(math.ceil(max(abs(px - prev[0]), abs(py - prev[1])))))
                for t in np.linspace(0.0, 1.0, steps + 1):
                    self.dot(round(prev[0] + t * (px - prev[0])),
                             round(prev[1] + t * (py - prev[1])))
            else:
                self.dot(round(px), round(py))
            prev = (px, py)

    def rows(self) -> list[str]:
        return ["".join(chr(0x2800 + c) for c in row) for row in self.cells]


def _frame(canvas: Canvas, top: str, bottom: str, left: str = "", right: str = "",
           xlabel: str = "") -> list[str]:
    """The canvas with y labels on the left and an x axis with end labels below."""
    pad = max(len(top), len(bottom))
    out = []
    for i, row in enumerate(canvas.rows()):
        label = top if i == 0 else (bottom if i == canvas.height - 1 else "")
        tick = "┤" if label else "│"
        out.append(f"{label:>{pad}} {tick}{row}".rstrip())
    if left or right:
        gap = max(1, canvas.width - len(left) - len(right))
        out.append(" " * pad + " └" + "─" * canvas.width)
        out.append(" " * (pad + 2) + left + " " * gap + right + (f"  {xlabel}" if xlabel else ""))
    return out


def _span(values) -> tuple[float, float]:
    lo, hi = float(np.min(values)), float(np.max(values))
    if hi == lo:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def terminal_loss(loss, *, width: int = 60, height: int = 10, label: str = "epoch") -> str:
    """The loss per epoch as Unicode text; a log scale when it spans more than 100×.

    Parameters
    ----------
    loss : sequence of float
        The loss at the start (epoch 0), then after each epoch.
    """
    values = np.asarray(loss, dtype=float)
    log = bool(values.min() > 0 and values.max() / values.min() > 100)
    shown = np.log10(values) if log else values
    n = len(values) - 1
    xs = np.arange(0, n + 1)
    canvas = Canvas(width, height, (0, max(n, 1)), _span(shown))
    canvas.line(xs, shown)
    title = "training loss per epoch" + (" (log scale)" if log else "")
    lines = [title] + _frame(canvas, f"{values.max():.4g}", f"{values.min():.4g}",
                             "0", str(n), label)
    return "\n".join(lines)


def _piece_layers(result):
    """(pieces, output) layers of a network drawn as a sum of pieces, or None."""
    net = result.compiled.network
    if net.features != 1 or len(net.layers) != 2 or net.loss != "squared":
        return None
    pieces, out = net.layers
    if pieces.activation is None or out.units is not None:
        return None
    return pieces, out


def _pieces(result, x):
    """Columns cᵢ g(bᵢ + wᵢ x) of the fitted pieces at ``x``, shape (len(x), hidden), and the
    pieces' weights, biases and heights."""
    from .bridge import lambdify

    layer, out = _piece_layers(result)
    p = result.params
    w = np.asarray(p[layer.weight.name], dtype=float).reshape(-1)
    bh = np.asarray(p[layer.bias.name], dtype=float)
    c = np.asarray(p[out.weight.name], dtype=float)
    r = sp.Symbol("r", real=True)
    g = lambdify([r], layer.activation(r))
    return g(np.outer(x, w) + bh) * c, w, bh, c


def _g_name(result) -> tuple[str, str | None]:
    """How the pieces' activation is written: its name (σ, ReLU) when it is one named function,
    else "g" and a line that defines g."""
    from derive import printing

    layer, _ = _piece_layers(result)
    r = sp.Symbol("r")
    g = layer.activation(r)
    if isinstance(g, sp.Function) and g.args == (r,):
        return printing.text(g)[: -len("(r)")], None
    return "g", f"where g(r) = {printing.text(g)}"


def _can_draw_pieces(result) -> bool:
    return _piece_layers(result) is not None


def terminal_pieces(result, *, width: int = 60) -> str:
    """The fitted sigmoid-sum as text: the curve over the data, then the constant b and each
    piece cᵢ σ(bᵢ + wᵢ x) on the same x axis (the pieces share one y scale)."""
    p = result.params
    b = float(p[_piece_layers(result)[1].bias.name])
    X = result.data.X[:, 0]
    x = np.linspace(X.min(), X.max(), 4 * width)
    pieces, w, bh, c = _pieces(result, x)
    fitted = b + pieces.sum(axis=1)
    lo, hi = _span(np.concatenate([fitted, result.data.y]))
    canvas = Canvas(width, 8, (x[0], x[-1]), (lo, hi))
    canvas.points(X, result.data.y)
    canvas.line(x, fitted)
    g, g_is = _g_name(result)
    lines = [f"the fitted curve ŷ = b + Σ cᵢ {g}(bᵢ + wᵢ x) over the data"] + ([g_is] if g_is else [])
    lines += _frame(canvas, f"{hi:.3g}", f"{lo:.3g}", f"{x[0]:.3g}", f"{x[-1]:.3g}", "x")
    lines.append(f"= the constant b = {b:.4f}")
    plo, phi = _span(np.concatenate([pieces.ravel(), [0.0]]))
    h = pieces.shape[1]
    if h > 4:  # one line per piece, so that forty pieces still fit on a screen
        lines.append(
            f"+ {h} pieces cᵢ {g}(bᵢ + wᵢ x), all drawn from {plo:.3g} to {phi:.3g}:"
        )
    for i in range(h):
        piece = Canvas(width, 3 if h <= 4 else 1, (x[0], x[-1]), (plo, phi))
        piece.line(x, pieces[:, i])
        values = f"c{i + 1} = {c[i]:.4f}, b{i + 1} = {bh[i]:.4f}, w{i + 1} = {w[i]:.4f}"
        if h > 4:
            lines.append(f"{i + 1:>4} {piece.rows()[0]}  {values}")
        else:
            lines.append(f"+ piece {i + 1}: c{i + 1} {g}(b{i + 1} + w{i + 1} x)  with {values}")
            lines += _frame(piece, f"{phi:.3g}", f"{plo:.3g}")
    return "\n".join(lines)


def terminal(result, *, width: int = 60) -> str:
    """Everything ``derive train`` draws in the terminal for ``result``."""
    text = terminal_loss([result.history.initial_loss] + list(result.history.loss), width=width)
    if _can_draw_pieces(result):
        text += "\n\n" + terminal_pieces(result, width=width)
    return text


def require_matplotlib():
    """Import matplotlib with a file-only back end, or raise DeriveError saying how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise DeriveError(f"--plot needs matplotlib: {INSTALL_HINT}") from None
    return plt


def check_png_path(path) -> None:
    """Fail early (before a long training run) when ``path`` cannot become a PNG: not ``.png``,
    a missing folder, or no matplotlib.

    Raises
    ------
    DeriveError
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise DeriveError(f"--plot writes a PNG image; give a file name ending in .png, not {path}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise DeriveError(f"cannot write {path}: folder {folder} does not exist")
    require_matplotlib()


def save_png(result, path) -> None:
    """Write the loss curve (and, for ``sigmoid-sum``, the fitted curve and its pieces) to
    ``path`` as a PNG, atomically.

    Raises
    ------
    DeriveError
        When matplotlib is missing or the file cannot be written.
    """
    from derive.io import write_atomic

    check_png_path(path)
    plt = require_matplotlib()
    h = result.history
    pieces = _can_draw_pieces(result)
    fig, axes = plt.subplots(1, 2 if pieces else 1, figsize=(11 if pieces else 6, 4), squeeze=False)
    ax = axes[0][0]
    epochs = np.arange(0, h.epochs_run + 1)
    ax.plot(epochs, [h.initial_loss] + list(h.loss), color="tab:red", label="training")
    if h.val_loss:
        ax.plot(epochs[1:], h.val_loss, color="tab:blue", label="held-out")
    values = np.array([h.initial_loss] + list(h.loss))
    if values.min() > 0 and values.max() / values.min() > 100:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{result.model.name}: loss per epoch ({h.settings['optimizer']}, "
                 f"lr {h.settings['lr']:g})")
    ax.legend()
    if pieces:
        ax = axes[0][1]
        b = float(result.params[_piece_layers(result)[1].bias.name])
        X = result.data.X[:, 0]
        x = np.linspace(X.min(), X.max(), 400)
        parts = _pieces(result, x)[0]
        ax.scatter(X, result.data.y, s=6, color="0.6", label="data")
        ax.axhline(b, color="tab:blue", linestyle="--", linewidth=1, label=f"b = {b:.3g}")
        h = parts.shape[1]
        g = _g_name(result)[0]
        for i in range(h):
            ax.plot(x, parts[:, i], color="tab:blue", linewidth=1, alpha=1.0 if h <= 10 else 0.5,
                    label=f"pieces cᵢ {g}(bᵢ + wᵢ x)" if i == 0 else None)
            if h <= 10:
                j = int(np.argmax(np.abs(parts[:, i])))
                ax.annotate(str(i + 1), (x[j], parts[j, i]), color="tab:blue", fontsize=8)
        fitted = b + parts.sum(axis=1)
        ax.plot(x, fitted, color="tab:red", linewidth=2, label="ŷ = b + Σ pieces")
        if h > 10:  # many pieces: keep the data in view, let large pieces leave the frame
            lo, hi = _span(np.concatenate([result.data.y, fitted, [b, 0.0]]))
            pad = 0.25 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlabel("x")
        ax.set_ylabel("y")
        ax.set_title("the red curve = constant + blue pieces")
        ax.legend(fontsize=8)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
