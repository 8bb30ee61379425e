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

from derive.errors import said

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


def _say(lang: str, en: str, zh: str) -> str:
    """The words of a terminal picture in ``lang`` ("en" or "zh")."""
    return zh if lang == "zh" else en


def _up(lang: str, name: str) -> str:
    """What the vertical axis shows, after the horizontal axis's name: (up: x2), （纵轴：x₂）."""
    return _say(lang, f" (up: {name})", f"（纵轴：{name}）")


def terminal_loss(loss, *, width: int = 60, height: int = 10, label: str = "epoch", lang: str = "en") -> str:
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
    title = _say(lang, "training loss per epoch" + (" (log scale)" if log else ""),
                 "每个轮次（epoch）的训练损失" + ("（对数坐标）" if log else ""))
    lines = [title] + _frame(canvas, f"{values.max():.4g}", f"{values.min():.4g}",
                             "0", str(n), _say(lang, label, "轮次"))
    return "\n".join(lines)


def _piece_layers(result):
    """(pieces, output) layers of a network drawn as a sum of pieces, or None."""
    net = result.compiled.network
    return net.layers if net.sum_of_pieces and net.features == 1 else None


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


def _g_name(result, lang: str = "en") -> tuple[str, str | None]:
    """How the pieces' activation is written: its name (σ, ReLU) when it is one named function,
    else "g" and a line that defines g."""
    from derive import printing

    layer, _ = _piece_layers(result)
    r = sp.Symbol("r")
    g = layer.activation(r)
    if isinstance(g, sp.Function) and g.args == (r,):
        return printing.text(g)[: -len("(r)")], None
    return "g", _say(lang, f"where g(r) = {printing.text(g)}", f"其中 g(r) = {printing.text(g)}")


def _can_draw_pieces(result) -> bool:
    return _piece_layers(result) is not None


def terminal_pieces(result, *, width: int = 60, lang: str = "en") -> str:
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
    g, g_is = _g_name(result, lang)
    lines = [_say(lang, f"the fitted curve ŷ = b + Σ cᵢ {g}(bᵢ + wᵢ x) over the data",
                  f"拟合的曲线 ŷ = b + Σ cᵢ {g}(bᵢ + wᵢ x) 与数据")] + ([g_is] if g_is else [])
    lines += _frame(canvas, f"{hi:.3g}", f"{lo:.3g}", f"{x[0]:.3g}", f"{x[-1]:.3g}", "x")
    lines.append(_say(lang, f"= the constant b = {b:.4f}", f"= 常数 b = {b:.4f}"))
    plo, phi = _span(np.concatenate([pieces.ravel(), [0.0]]))
    h = pieces.shape[1]
    if h > 4:  # one line per piece, so that forty pieces still fit on a screen
        lines.append(_say(lang, f"+ {h} pieces cᵢ {g}(bᵢ + wᵢ x), all drawn from {plo:.3g} to {phi:.3g}:",
                          f"+ {h} 个蓝色函数 cᵢ {g}(bᵢ + wᵢ x)，纵轴都从 {plo:.3g} 画到 {phi:.3g}："))
    for i in range(h):
        piece = Canvas(width, 3 if h <= 4 else 1, (x[0], x[-1]), (plo, phi))
        piece.line(x, pieces[:, i])
        values = f"c{i + 1} = {c[i]:.4f}, b{i + 1} = {bh[i]:.4f}, w{i + 1} = {w[i]:.4f}"
        if h > 4:
            lines.append(f"{i + 1:>4} {piece.rows()[0]}  {values}")
        else:
            lines.append(_say(lang, f"+ piece {i + 1}: c{i + 1} {g}(b{i + 1} + w{i + 1} x)  with {values}",
                              f"+ 第 {i + 1} 个蓝色函数：c{i + 1} {g}(b{i + 1} + w{i + 1} x)，其中 {values}"))
            lines += _frame(piece, f"{phi:.3g}", f"{plo:.3g}")
    return "\n".join(lines)


# What a trained model is about, beyond its loss ------------------------------------------------


def _rows_shown(result, lang: str = "en"):
    """The rows a picture of the fit is drawn on: the held-out ones when there are any."""
    d = result.data
    if d.y_val is not None:
        return d.X_val, d.y_val, _say(lang, "held-out", "留出集")
    return d.X, d.y, _say(lang, "training", "训练集")


def _line_fit(result) -> bool:
    """One feature, one affine layer, squared error: a line through points."""
    net = result.compiled.network
    return net.affine and net.features == 1 and net.loss == "squared"


def _boundary(result) -> bool:
    """Two features and a 0/1 label: a decision boundary in the plane."""
    net = result.compiled.network
    return net.task == "binary" and net.features == 2


def _predicted_classes(result, X):
    p = np.asarray(result.compiled.predict(result.params, X))
    return np.argmax(p, axis=1) if p.ndim == 2 else (p > 0.5).astype(int)


def confusion(result) -> np.ndarray:
    """Counts[true class, predicted class] on the held-out rows (the training rows if none)."""
    X, y, _ = _rows_shown(result)
    k = result.compiled.network.classes or 2
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (np.asarray(y, dtype=int), _predicted_classes(result, X)), 1)
    return counts


def _class_names(result, k: int) -> list[str]:
    labels = result.data.labels
    return list(labels) if labels and len(labels) == k else [str(c) for c in range(k)]


def terminal_confusion(result, lang: str = "en") -> str:
    """The confusion matrix as a table: a row per true class, a column per predicted one."""
    counts = confusion(result)
    names = _class_names(result, counts.shape[0])
    _, _, rows = _rows_shown(result, lang)
    width = max(4, *(len(n) for n in names), len(str(counts.max())))
    head = " " * (width + 2) + " ".join(f"{n:>{width}}" for n in names)
    lines = [_say(lang, f"confusion matrix on the {rows} rows (row: true class, column: predicted)",
                  f"{rows}上的混淆矩阵（行：真实类别，列：预测类别）"), head]
    for name, row in zip(names, counts):
        lines.append(f"{name:>{width}}  " + " ".join(f"{c:>{width}}" for c in row))
    correct = int(np.trace(counts))
    lines.append(_say(lang, f"{correct} of {int(counts.sum())} right", f"{int(counts.sum())} 个中预测对 {correct} 个"))
    return "\n".join(lines)


def _characters(result) -> bool:
    """A character model (rnn): it is pictured by the text it writes and the next characters it
    guesses, not by a confusion matrix of character codes."""
    return callable(getattr(result.compiled, "sample", None))


def samples(result) -> tuple[str, str]:
    """Text the model writes from the report's start, with the run's seed: from the starting
    parameters (before training) and from the trained ones."""
    from .training import SAMPLE_LENGTH, SAMPLE_START

    c, seed = result.compiled, result.history.settings["seed"]
    before = c.sample(c.init_params(seed=seed), SAMPLE_START, SAMPLE_LENGTH, seed=seed)
    return before, c.sample(result.params, SAMPLE_START, SAMPLE_LENGTH, seed=seed)


def guesses(result, rows: int = 3) -> list[tuple[str, str]]:
    """The first ``rows`` held-out windows (training windows when none are held out) as text,
    with the character the model finds most likely after each step: ``(text, guess)`` where
    ``guess[t]`` is the guess for ``text[t + 1]`` (what the accuracy counts)."""
    from derive.network import TEXT_ALPHABET

    X, y, _ = _rows_shown(result)
    X, y = np.asarray(X[:rows]).astype(np.intp), np.asarray(y[:rows]).astype(np.intp)
    c = result.compiled
    guessed = c._classes(c._params(result.params), X).T       # (rows, T): the accuracy's guesses
    return [("".join(TEXT_ALPHABET[k] for k in (*row, last)), "".join(TEXT_ALPHABET[k] for k in g))
            for row, last, g in zip(X, y, guessed)]


def _text_lines(result, width: int, lang: str = "en") -> list[str]:
    """The character model's text picture: samples before and after training, then the
    guesses on a few windows, each under the character it guesses, ``^`` where right."""
    from .training import SAMPLE_START

    before, after = samples(result)
    epochs = result.history.epochs_run
    seed = result.history.settings['seed']
    lines = [_say(lang, f"text the model writes from {SAMPLE_START!r} (drawn with seed {seed})",
                  f"模型从 {SAMPLE_START!r} 开始写出的文本（随机种子 {seed}）")]
    for name, text in ((_say(lang, "before training", "训练前"), before),
                       (_say(lang, f"after {epochs} epochs", f"训练 {epochs} 个轮次后"), after)):
        body = text.replace("\n", " ")
        lines.append(f"  {name}" + _say(lang, ":", "："))
        lines += [f"    {body[i:i + width]}" for i in range(0, len(body), width)]
    _, _, rows = _rows_shown(result, lang)
    pairs = guesses(result)
    right = sum(g == t for text, guess in pairs for g, t in zip(guess, text[1:]))
    total = sum(len(g) for _, g in pairs)
    lines += [_say(lang, f"next-character guesses on {len(pairs)} {rows} windows, {right} of {total} right:",
                   f"在 {len(pairs)} 段{rows}文本上预测下一个字符，{total} 个中对 {right} 个："),
              _say(lang, "  under each character the model's guess for it, ^ where right",
                   "  每个字符下方是模型对它的预测，^ 表示预测正确")]
    text_, guess_, right_ = (_say(lang, *w) for w in (("text ", "原文 "), ("guess ", "预测  "), ("right ", "正确  ")))
    for text, guess in pairs:
        lines += [f"  {text_}  {text}", f"  {guess_}  {guess}",
                  f"  {right_}  " + "".join("^" if g == t else " " for g, t in zip(guess, text[1:])).rstrip()]
    return lines


def terminal_text(result, *, width: int = 60, lang: str = "en") -> str:
    """The character model's samples and guesses (see ``_text_lines``) for the terminal."""
    return "\n".join(_text_lines(result, width, lang))


def terminal_accuracy(history, *, width: int = 60, height: int = 6, lang: str = "en") -> str:
    """Training accuracy per epoch, from 0 to 100 %."""
    values = 100 * np.asarray(history.accuracy, dtype=float)
    n = len(values)
    canvas = Canvas(width, height, (1, max(n, 2)), (0.0, 100.0))
    canvas.line(np.arange(1, n + 1), values)
    held = (_say(lang, f"; held-out {100 * history.val_accuracy[-1]:.2f}% at the end",
                 f"；留出集最后为 {100 * history.val_accuracy[-1]:.2f}%") if history.val_accuracy else "")
    lines = [_say(lang, "training accuracy per epoch", "每个轮次（epoch）的训练准确率") + held]
    lines += _frame(canvas, "100%", "0%", "1", str(n), _say(lang, "epoch", "轮次"))
    return "\n".join(lines)


def terminal_line(result, *, width: int = 60, height: int = 10, lang: str = "en") -> str:
    """The fitted line over the points."""
    X, y, rows = _rows_shown(result, lang)
    x = X[:, 0]
    grid = np.linspace(x.min(), x.max(), 4 * width)
    fitted = np.asarray(result.compiled.predict(result.params, grid[:, None]))
    lo, hi = _span(np.concatenate([y, fitted]))
    canvas = Canvas(width, height, (grid[0], grid[-1]), (lo, hi))
    canvas.points(x, y)
    canvas.line(grid, fitted)
    lines = [_say(lang, f"the fitted line ŷ = w·x + b over the {rows} points", f"拟合的直线 ŷ = w·x + b 与{rows}的点")]
    data = result.data
    axis = data.feature_name(0) + _up(lang, data.target_name) if data.columns else "x"
    lines += _frame(canvas, f"{hi:.3g}", f"{lo:.3g}", f"{grid[0]:.3g}", f"{grid[-1]:.3g}", axis)
    return "\n".join(lines)


def terminal_boundary(result, *, width: int = 60, height: int = 20, lang: str = "en") -> str:
    """The plane of the two features: where the model predicts 1 ('+') or 0 ('·'), and the
    rows as their labels ('1', '0')."""
    X, y, rows = _rows_shown(result, lang)
    (x0, x1), (y0, y1) = _span(X[:, 0]), _span(X[:, 1])
    xs = x0 + (np.arange(width) + 0.5) * (x1 - x0) / width
    ys = y1 - (np.arange(height) + 0.5) * (y1 - y0) / height
    grid = np.array([[a, b] for b in ys for a in xs])
    region = _predicted_classes(result, grid).reshape(height, width)
    cells = [["+" if c else "·" for c in row] for row in region]
    for (a, b), label in zip(X, np.asarray(y, dtype=int)):
        i = min(height - 1, int((y1 - b) / (y1 - y0) * height))
        j = min(width - 1, int((a - x0) / (x1 - x0) * width))
        cells[i][j] = str(label)
    labels = result.data.labels
    one, zero = (f"1 ({labels[1]})", f"0 ({labels[0]})") if labels else ("1", "0")
    lines = [_say(lang, f"the decision boundary: '+' where the model predicts {one}, '·' where {zero}; "
                       f"the {rows} rows by their label",
                  f"决策边界：模型预测为 {one} 处记 '+'，预测为 {zero} 处记 '·'；{rows}的样本标出其标签")]
    lines += [f"{y1:>7.3g} ┤" + "".join(cells[0])] + ["        │" + "".join(r) for r in cells[1:-1]]
    lines += [f"{y0:>7.3g} ┤" + "".join(cells[-1]), "        └" + "─" * width,
              f"         {x0:<.3g}" + " " * max(1, width - 12)
              + f"{x1:.3g}  {result.data.feature_name(0)}" + _up(lang, result.data.feature_name(1))]
    return "\n".join(lines)


def terminal(result, *, width: int = 60, lang: str = "en") -> str:
    """Everything ``derive train`` draws in the terminal for ``result``: the loss, then what
    the model is about (its accuracy, the fitted line or curve, the decision boundary, the
    confusion matrix)."""
    parts = [terminal_loss([result.history.initial_loss] + list(result.history.loss), width=width, lang=lang)]
    if result.history.accuracy:
        parts.append(terminal_accuracy(result.history, width=width, lang=lang))
    if _can_draw_pieces(result):
        parts.append(terminal_pieces(result, width=width, lang=lang))
    if _line_fit(result):
        parts.append(terminal_line(result, width=width, lang=lang))
    if _boundary(result):
        parts.append(terminal_boundary(result, width=width, lang=lang))
    if _characters(result):
        parts.append(terminal_text(result, width=width, lang=lang))
    elif result.compiled.network.task == "classes":
        parts.append(terminal_confusion(result, lang))
    return "\n\n".join(parts)


def require_matplotlib():
    """Import matplotlib with a file-only back end, or raise DeriveError saying how to get it."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=True)
        import matplotlib.pyplot as plt
    except ImportError:
        raise said(f"--plot needs matplotlib: {INSTALL_HINT}", f"--plot 需要 matplotlib：{INSTALL_HINT}") from None
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
        raise said(f"--plot writes a PNG image; give a file name ending in .png, not {path}",
                   f"--plot 写出的是 PNG 图像；请给出以 .png 结尾的文件名，而不是 {path}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise said(f"cannot write {path}: folder {folder} does not exist", f"无法写入 {path}：文件夹 {folder} 不存在")
    require_matplotlib()


# Chinese labels: DejaVu for Latin letters and symbols, then a CJK font for the characters
# (matplotlib falls back glyph by glyph): the first of these font files found on the system
# (Noto/Source Han, WenQuanYi, AR PL of Linux; PingFang of macOS; YaHei, SimHei of Windows).
CJK_FILES = ("NotoSansCJK", "SourceHanSans", "wqy-zenhei", "wqy-microhei", "gbsn00lp", "uming", "PingFang", "msyh",
             "simhei")


def _cjk_font() -> str | None:
    """The family name of an installed CJK font, added to matplotlib's fonts; None if there is none."""
    from matplotlib import font_manager

    files = sorted(font_manager.findSystemFonts())
    for stem in CJK_FILES:
        for path in files:
            if stem.lower() in Path(path).name.lower():
                font_manager.fontManager.addfont(path)
                return font_manager.FontProperties(fname=path).get_name()
    return None


def _labels_lang(lang: str) -> tuple[str, dict]:
    """The language the PNG's labels can be drawn in and the matplotlib settings that draw it:
    Chinese needs a CJK font, without one the labels stay English (not a row of empty boxes)."""
    font = _cjk_font() if lang == "zh" else None
    if font is None:
        return "en", {}
    return "zh", {"font.family": ["DejaVu Sans", font], "font.monospace": ["DejaVu Sans Mono", font]}


def _png_loss(ax, result, lang="en"):
    h = result.history
    epochs = np.arange(0, h.epochs_run + 1)
    ax.plot(epochs, [h.initial_loss] + list(h.loss), color="tab:red", label=_say(lang, "training", "训练集"))
    if h.val_loss:
        ax.plot(epochs[1:], h.val_loss, color="tab:blue", label=_say(lang, "held-out", "留出集"))
    values = np.array([h.initial_loss] + list(h.loss))
    if values.min() > 0 and values.max() / values.min() > 100:
        ax.set_yscale("log")
    ax.set_xlabel(_say(lang, "epoch", "轮次"))
    ax.set_ylabel(_say(lang, "loss", "损失"))
    ax.set_title(_say(lang, f"{result.model.name}: loss per epoch ({h.settings['optimizer']}, lr {h.settings['lr']:g})",
                      f"{result.model.name}：每个轮次的损失（{h.settings['optimizer']}，学习率 {h.settings['lr']:g}）"))
    ax.legend()


def _png_accuracy(ax, result, lang="en"):
    h = result.history
    epochs = np.arange(1, h.epochs_run + 1)
    ax.plot(epochs, 100 * np.asarray(h.accuracy), color="tab:red", label=_say(lang, "training", "训练集"))
    if h.val_accuracy:
        ax.plot(epochs, 100 * np.asarray(h.val_accuracy), color="tab:blue", label=_say(lang, "held-out", "留出集"))
    ax.set_ylim(0, 100)
    ax.set_xlabel(_say(lang, "epoch", "轮次"))
    ax.set_ylabel(_say(lang, "accuracy (%)", "准确率（%）"))
    ax.set_title(_say(lang, "accuracy per epoch", "每个轮次的准确率"))
    ax.legend()


def _png_pieces(ax, result, lang="en"):
    b = float(result.params[_piece_layers(result)[1].bias.name])
    X = result.data.X[:, 0]
    x = np.linspace(X.min(), X.max(), 400)
    parts = _pieces(result, x)[0]
    ax.scatter(X, result.data.y, s=6, color="0.6", label=_say(lang, "data", "数据"))
    ax.axhline(b, color="tab:blue", linestyle="--", linewidth=1, label=f"b = {b:.3g}")
    h = parts.shape[1]
    g = _g_name(result)[0]
    for i in range(h):
        ax.plot(x, parts[:, i], color="tab:blue", linewidth=1, alpha=1.0 if h <= 10 else 0.5,
                label=_say(lang, f"pieces cᵢ {g}(bᵢ + wᵢ x)", f"各段 cᵢ {g}(bᵢ + wᵢ x)") if i == 0 else None)
        if h <= 10:
            j = int(np.argmax(np.abs(parts[:, i])))
            ax.annotate(str(i + 1), (x[j], parts[j, i]), color="tab:blue", fontsize=8)
    fitted = b + parts.sum(axis=1)
    ax.plot(x, fitted, color="tab:red", linewidth=2, label=_say(lang, "ŷ = b + Σ pieces", "ŷ = b + Σ 各段"))
    if h > 10:  # many pieces: keep the data in view, let large pieces leave the frame
        lo, hi = _span(np.concatenate([result.data.y, fitted, [b, 0.0]]))
        pad = 0.25 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(_say(lang, "the red curve = constant + blue pieces", "红色曲线 = 常数 + 蓝色各段"))
    ax.legend(fontsize=8)


def _png_line(ax, result, lang="en"):
    X, y, rows = _rows_shown(result, lang)
    grid = np.linspace(X[:, 0].min(), X[:, 0].max(), 200)
    ax.scatter(X[:, 0], y, s=8, color="0.5", label=_say(lang, f"{rows} rows", f"{rows}的点"))
    ax.plot(grid, result.compiled.predict(result.params, grid[:, None]), color="tab:red", label="ŷ = w·x + b")
    ax.set_xlabel(result.data.feature_name(0) if result.data.columns else "x")
    ax.set_ylabel(result.data.target_name)
    ax.set_title(_say(lang, "the fitted line", "拟合的直线"))
    ax.legend()


def _png_boundary(ax, result, lang="en"):
    X, y, rows = _rows_shown(result, lang)
    (x0, x1), (y0, y1) = _span(X[:, 0]), _span(X[:, 1])
    gx, gy = np.meshgrid(np.linspace(x0, x1, 200), np.linspace(y0, y1, 200))
    p = np.asarray(result.compiled.predict(result.params, np.column_stack([gx.ravel(), gy.ravel()])))
    ax.contourf(gx, gy, p.reshape(gx.shape), levels=[0, 0.5, 1], colors=["#dbe8f5", "#f7dcdc"])
    ax.contour(gx, gy, p.reshape(gx.shape), levels=[0.5], colors="k", linewidths=1)
    names = _class_names(result, 2)
    for label, color in ((0, "tab:blue"), (1, "tab:red")):
        mine = np.asarray(y, dtype=int) == label
        ax.scatter(X[mine, 0], X[mine, 1], s=10, color=color, label=names[label])
    ax.set_xlabel(result.data.feature_name(0))
    ax.set_ylabel(result.data.feature_name(1))
    ax.set_title(_say(lang, f"decision boundary a = 0.5 ({rows} rows)", f"决策边界 a = 0.5（{rows}）"))
    ax.legend()


def _png_confusion(ax, result, lang="en"):
    counts = confusion(result)
    names = _class_names(result, counts.shape[0])
    ax.imshow(counts, cmap="Blues")
    for (i, j), c in np.ndenumerate(counts):
        ax.text(j, i, str(c), ha="center", va="center", fontsize=7,
                color="white" if c > counts.max() / 2 else "black")
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel(_say(lang, "predicted", "预测类别"))
    ax.set_ylabel(_say(lang, "true", "真实类别"))
    ax.set_title(_say(lang, f"confusion matrix ({_rows_shown(result)[2]} rows)",
                      f"混淆矩阵（{_rows_shown(result, lang)[2]}）"))


def _png_text(ax, result, lang="en"):
    ax.axis("off")
    ax.set_title(_say(lang, "what the model writes, and its next-character guesses", "模型写出的文本，及其对下一个字符的预测"))
    ax.text(0, 1, "\n".join(_text_lines(result, 56, lang)), family="monospace", fontsize=9, va="top",
            transform=ax.transAxes)


def save_png(result, path, lang: str = "en") -> None:
    """Write the pictures of a run to ``path`` as a PNG, atomically: the loss per epoch, and as
    the model calls for it the accuracy, the fitted line or red curve with its pieces, the
    decision boundary and the confusion matrix; labelled in ``lang`` ("en", or "zh" where a
    Chinese font is installed).

    Raises
    ------
    DeriveError
        When matplotlib is missing or the file cannot be written.
    """
    from derive.io import write_atomic

    check_png_path(path)
    plt = require_matplotlib()
    panels = [_png_loss]
    if result.history.accuracy:
        panels.append(_png_accuracy)
    if _can_draw_pieces(result):
        panels.append(_png_pieces)
    if _line_fit(result):
        panels.append(_png_line)
    if _boundary(result):
        panels.append(_png_boundary)
    if _characters(result):
        panels.append(_png_text)
    elif result.compiled.network.task == "classes":
        panels.append(_png_confusion)
    # the text panel needs room for a line of sampled text
    ratios = [1.6 if draw is _png_text else 1.0 for draw in panels]
    lang, settings = _labels_lang(lang)
    with plt.rc_context(settings):
        fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * sum(ratios), 4.2), squeeze=False,
                                 gridspec_kw={"width_ratios": ratios})
        for ax, draw in zip(axes[0], panels):
            draw(ax, result, lang)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    write_atomic(path, buffer.getvalue())
