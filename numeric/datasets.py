"""Data for training: the built-in data sets of ``derive train`` and the reader of data files.

Every trainable model names a built-in data set in its network's ``Training`` (with the
hyperparameters that train it well from ``derive train NAME`` alone). The data sets, generated
deterministically (or shipped, for the digits):

==========  ===========================================================================
noisy-line  a noisy line y = 1 + 2 x + noise (x in [0, 4]; with more features, a noisy plane)
blobs       two Gaussian blobs, labels 0 and 1, with a held-out set
red-curve   the notes' piecewise-linear "red curve": a constant plus three hard-sigmoid
            pieces on x in [0, 10], with small noise (one feature)
digits      the 8x8 handwritten digits (1,797 images, pixels scaled to [0, 1]), 1,437 for
            training and 360 held out (64 features, 10 classes)
text        the opening of Shakespeare's Coriolanus (public domain; see
            ``numeric/data/SOURCE-coriolanus.txt``) as windows of T character codes, each
            with the code that follows it; the last tenth of the text held out
==========  ===========================================================================
"""

from __future__ import annotations

import csv
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from derive.errors import said
from derive.network import TEXT_ALPHABET

DATA_DIR = Path(__file__).parent / "data"

#: The red curve: a constant, then pieces (height c, start, end) that each climb linearly by
#: c between start and end and are flat elsewhere (the notes' blue "hard sigmoid" functions).
RED_CURVE_CONSTANT = 1.0
RED_CURVE_PIECES = ((2.0, 1.0, 3.0), (-3.0, 4.0, 5.5), (2.5, 7.0, 8.5))


@dataclass(frozen=True)
class Dataset:
    """Training rows and an optional held-out set.

    Attributes
    ----------
    name : str
        A short description, shown in reports.
    X : ndarray of shape (m, n)
    y : ndarray of shape (m,)
        Real targets, 0/1 floats (binary) or integer labels (classes).
    X_val : ndarray of shape (m_val, n), optional
    y_val : ndarray of shape (m_val,), optional
    labels : tuple of str, optional
        The class names a file gave as text, in the order of their codes 0, 1, …
    columns : tuple of str, optional
        The names a CSV's header line gave its columns: the features, then the target.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    labels: tuple | None = None
    columns: tuple | None = None

    @property
    def features(self) -> int:
        return self.X.shape[1]

    def feature_name(self, i: int) -> str:
        """The name of feature ``i`` (from 0): the file's header, else x1, x2, …"""
        return self.columns[i] if self.columns else f"x{i + 1}"

    @property
    def target_name(self) -> str:
        return self.columns[-1] if self.columns else "y"

    def describe(self) -> str:
        held = f", {len(self.y_val)} held out" if self.y_val is not None else ""
        n = self.features
        return f"{self.name}: {len(self.y)} training rows{held}, {n} feature{'s' if n != 1 else ''}"


def red_curve_function(x):
    """The noiseless red curve at ``x`` (any shape): the constant plus the three pieces."""
    x = np.asarray(x, dtype=float)
    y = np.full_like(x, RED_CURVE_CONSTANT)
    for c, start, end in RED_CURVE_PIECES:
        y = y + c * np.clip((x - start) / (end - start), 0.0, 1.0)
    return y


def red_curve(m: int = 200, noise: float = 0.05, seed: int = 0) -> Dataset:
    """The notes' piecewise-linear red curve, sampled at ``m`` points of [0, 10].

    Returns
    -------
    Dataset
        ``X`` of shape (m, 1), sorted; ``y = red_curve_function(x) + noise·N(0, 1)``.
    """
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 10.0, m))
    y = red_curve_function(x) + noise * rng.standard_normal(m)
    return Dataset("the red curve (constant + 3 hard-sigmoid pieces)", x[:, None], y)


def noisy_line(m: int = 100, features: int = 1, noise: float = 0.5, seed: int = 0) -> Dataset:
    """A noisy line y = 1 + 2 x₁ (− x₂ + …) + noise with x uniform in [0, 4].

    Returns
    -------
    Dataset
        ``X`` of shape (m, features), real ``y`` of shape (m,).
    """
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, 4.0, (m, features))
    w = np.array([2.0 * (-0.5) ** j for j in range(features)])
    y = 1.0 + X @ w + noise * rng.standard_normal(m)
    kind = "line" if features == 1 else "plane"
    return Dataset(f"a noisy {kind} y = 1 + 2·x{'' if features == 1 else ' + …'} + noise", X, y)


def blobs(m: int = 200, m_val: int = 100, features: int = 2, seed: int = 0) -> Dataset:
    """Two Gaussian blobs (unit variance) centred at −1.5 and +1.5 in every feature.

    Returns
    -------
    Dataset
        Label 0 for the first blob, 1 for the second (as floats), half of the rows each;
        ``m`` training rows and ``m_val`` held out.
    """
    rng = np.random.default_rng(seed)

    def draw(k):
        y = np.arange(k) % 2
        X = rng.standard_normal((k, features)) + np.where(y[:, None] == 1, 1.5, -1.5)
        return X, y.astype(float)

    X, y = draw(m)
    X_val, y_val = draw(m_val)
    return Dataset("two Gaussian blobs", X, y, X_val, y_val)


def digits(held_out: int = 360, seed: int = 0) -> Dataset:
    """The 8x8 handwritten digits (UCI, as distributed with scikit-learn; see
    ``numeric/data/LICENSE-digits.txt``), pixels divided by 16 so they lie in [0, 1].

    Returns
    -------
    Dataset
        ``X`` of shape (1797 − held_out, 64), integer labels 0..9; the held-out rows are a
        fixed random choice (``seed``).
    """
    with np.load(DATA_DIR / "digits.npz") as archive:
        X = archive["X"].astype(float) / 16.0
        y = archive["y"].astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    train, val = order[:-held_out], order[-held_out:]
    return Dataset("the 8x8 handwritten digits", X[train], y[train], X[val], y[val])


def text_characters() -> str:
    """The shipped text as the character models read it: lower case, every line break and run
    of spaces one space, every character one of ``derive.network.TEXT_ALPHABET``."""
    raw = (DATA_DIR / "coriolanus.txt").read_text(encoding="utf-8")
    return " ".join(raw.lower().split())


def text(steps: int = 25, held_out: float = 0.1) -> Dataset:
    """The shipped text cut into windows of ``steps`` characters, one after the other.

    Returns
    -------
    Dataset
        ``X`` of shape (windows, steps): the codes (positions in ``TEXT_ALPHABET``) of a
        window; ``y`` of shape (windows,): the code of the character after it. The windows of
        the last ``held_out`` fraction of the text are the held-out set.
    """
    chars = text_characters()
    codes = np.array([TEXT_ALPHABET.index(ch) for ch in chars], dtype=np.int64)
    if 20 * steps > len(codes):
        raise said(f"--seq-length {steps:,} leaves fewer than 20 windows in the built-in text "
                   f"({len(codes):,} characters); at most {len(codes) // 20:,}",
                   f"--seq-length {steps:,} 使内置文本（{len(codes):,} 个字符）切出的窗口少于 20 个；"
                   f"最多为 {len(codes) // 20:,}")
    starts = np.arange(0, len(codes) - steps, steps)
    X = codes[starts[:, None] + np.arange(steps)].astype(float)
    y = codes[starts + steps]
    cut = int(round((1 - held_out) * len(starts)))
    return Dataset("the opening of Shakespeare's Coriolanus, by character", X[:cut], y[:cut], X[cut:], y[cut:])


def _text_sized(features: int, classes: int | None) -> Dataset:
    if classes != len(TEXT_ALPHABET):
        raise said(f"the built-in text has {len(TEXT_ALPHABET)} characters, not {classes}",
                   f"内置文本有 {len(TEXT_ALPHABET)} 种字符，而不是 {classes}")
    return text(steps=features)


def _red_curve_sized(features: int) -> Dataset:
    if features != 1:
        raise said(f"the built-in red curve has 1 feature, not --features {features}; pass --data for more",
                   f"内置的红色曲线只有 1 个特征，而不是 --features {features}；要更多特征请用 --data")
    return red_curve()


def _digits_sized(features: int, classes: int | None) -> Dataset:
    if features != 64 or classes != 10:
        raise said(f"the built-in digits have 64 features and 10 classes, not --features {features} "
                   f"--classes {classes}; pass --data",
                   f"内置的手写数字有 64 个特征和 10 个类别，而不是 --features {features} --classes {classes}；"
                   f"请用 --data")
    return digits()


#: The built-in data sets by name, each made for a network's number of features and classes.
BUILTIN = {
    "noisy-line": lambda features, classes: noisy_line(features=features),
    "blobs": lambda features, classes: blobs(features=features),
    "red-curve": lambda features, classes: _red_curve_sized(features),
    "digits": _digits_sized,
    "text": _text_sized,
}


def builtin(network) -> Dataset:
    """The built-in data set that ``network`` (a ``derive.network.Network``) trains on, sized to
    its features and classes.

    Raises
    ------
    DeriveError
        When the data set has another number of features or classes.
    """
    return BUILTIN[network.training.data](network.features, network.classes)


_DELIMITERS = ",;\t"


def _delimiter(line: str) -> str:
    """The separator of a CSV line: the one of comma, semicolon and tab it uses most."""
    counts = [(line.count(d), -i, d) for i, d in enumerate(_DELIMITERS)]
    best = max(counts)
    return best[2] if best[0] else ","


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _parse_csv(path: Path):
    """Feature columns and the target column of a CSV file (comma, semicolon or tab separated,
    header line optional). A target column of text is read as class names, coded 0, 1, … in
    sorted order; feature columns must be numbers."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise said(f"{path}: not a text CSV file", f"{path}：不是文本 CSV 文件") from None
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        raise said(f"{path}: no data rows", f"{path}：没有数据行")
    delimiter = _delimiter(lines[-1])
    rows = [
        (i, [c.strip() for c in r]) for i, r in enumerate(csv.reader(text.splitlines(), delimiter=delimiter), 1)
        if any(c.strip() for c in r)
    ]
    header = None
    if any(_number(c) is None for c in rows[0][1][:-1]):
        header = tuple(rows[0][1])
        rows = rows[1:]  # a header line: a feature column that is not a number
        if not rows:
            raise said(f"{path}: a header but no data rows", f"{path}：只有表头，没有数据行")
    width = len(rows[0][1])
    if width < 2:
        raise said(f"{path}: need at least 2 columns (features, then the target), got {width}",
                   f"{path}：至少需要 2 列（先是特征，最后是目标），实际为 {width}")
    features, targets = [], []
    for line, row in rows:
        if len(row) != width:
            raise said(f"{path} line {line}: {len(row)} values, expected {width} like line {rows[0][0]}",
                       f"{path} 第 {line} 行：{len(row)} 个值，应与第 {rows[0][0]} 行一样有 {width} 个")
        values = []
        for column, cell in enumerate(row[:-1], 1):
            value = _number(cell)
            if value is None:
                raise said(f"{path} line {line} column {column}: {cell!r} is not a number",
                           f"{path} 第 {line} 行第 {column} 列：{cell!r} 不是数")
            values.append(value)
        features.append(values)
        targets.append(row[-1])
    numbers = [_number(t) for t in targets]
    labels = None
    if any(v is None for v in numbers):
        if all(v is not None for v in numbers[1:]) and numbers[0] is None and len(rows) > 1:
            line = rows[0][0]
            raise said(f"{path} line {line} column {width}: {targets[0]!r} is not a number",
                       f"{path} 第 {line} 行第 {width} 列：{targets[0]!r} 不是数")
        labels = tuple(sorted(set(targets)))
        if len(labels) < 2:
            raise said(f"{path}: the target column holds one class only ({labels[0]!r})",
                       f"{path}：目标列只有一个类别（{labels[0]!r}）")
        code = {name: k for k, name in enumerate(labels)}
        y = np.array([code[t] for t in targets], dtype=float)
    else:
        y = np.array(numbers, dtype=float)
    # contiguous copies: NumPy may sum a strided column in a different order, and the same data
    # must train to the same bits whatever file they came from
    columns = header if header and len(header) == width and all(header) else None
    return np.ascontiguousarray(np.array(features, dtype=float)), np.ascontiguousarray(y), labels, columns


def _read_npz(path: Path):
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in ("X", "y") if k not in archive.files]
            if missing:
                has = ", ".join(archive.files)
                raise said(f"{path}: needs arrays X and y; it has {has or 'none'}",
                           f"{path}：需要数组 X 和 y；它有的是：{has or '无'}")
            X, y = np.asarray(archive["X"]), np.asarray(archive["y"])
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise said(f"{path}: not a readable .npz archive ({exc})",
                   f"{path}：不是可读的 .npz 文件（{type(exc).__name__}）") from None
    if X.ndim == 1:
        X = X[:, None]
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
        raise said(f"{path}: X must have shape (m, n) and y shape (m,), got {X.shape} and {y.shape}",
                   f"{path}：X 的形状必须是 (m, n)，y 的形状必须是 (m,)，实际为 {X.shape} 和 {y.shape}")
    if X.dtype.kind not in "biuf" or y.dtype.kind not in "biuf":
        raise said(f"{path}: X and y must be numeric arrays", f"{path}：X 和 y 必须是数值数组")
    return np.ascontiguousarray(X, dtype=float), np.ascontiguousarray(y, dtype=float)


def load(path) -> Dataset:
    """Read a data file: CSV (last column = target, header line optional) or ``.npz`` with
    arrays ``X`` of shape (m, n) and ``y`` of shape (m,).

    Raises
    ------
    DeriveError
        When the file is missing, malformed, empty or contains NaN or infinite values.
    """
    path = Path(path)
    if not path.is_file():
        raise said(f"no such data file: {path}", f"没有这个数据文件：{path}")
    suffix = path.suffix.lower()
    labels = columns = None
    if suffix == ".csv":
        X, y, labels, columns = _parse_csv(path)
    elif suffix == ".npz":
        X, y = _read_npz(path)
    else:
        raise said(f"{path}: data must be a .csv or .npz file", f"{path}：数据必须是 .csv 或 .npz 文件")
    if len(y) == 0:
        raise said(f"{path}: no data rows", f"{path}：没有数据行")
    bad = ~np.isfinite(X).all(axis=1) | ~np.isfinite(y)
    if bad.any():
        row = int(np.argmax(bad)) + 1
        raise said(f"{path}: NaN or infinite value in data row {row}", f"{path}：第 {row} 个数据行有 NaN 或无穷大")
    return Dataset(str(path), X, y, labels=labels, columns=columns)


def holdout(data: Dataset, fraction: float, seed: int = 0) -> Dataset:
    """Move a random ``fraction`` of the rows of ``data`` to its held-out set."""
    if not 0.0 < fraction < 1.0:
        raise said(f"--holdout must be a fraction between 0 and 1, not {fraction}",
                   f"--holdout 必须是 0 到 1 之间的比例，而不是 {fraction}")
    m = len(data.y)
    k = int(round(fraction * m))
    if k < 1 or k >= m:
        raise said(f"--holdout {fraction} of {m} rows leaves no training or no held-out rows",
                   f"--holdout {fraction} 使 {m} 行数据中没有训练行或没有留出行")
    order = np.random.default_rng(seed).permutation(m)
    train, val = order[:-k], order[-k:]
    return replace(data, X=data.X[train], y=data.y[train], X_val=data.X[val], y_val=data.y[val])


# Which rows a label error is in, in Chinese: the training rows, or the held-out ones.
WHERE_ZH = {"": "", " held-out": "留出集的"}


def prepare(model, data: Dataset) -> Dataset:
    """Check ``data`` against ``model`` and give ``y`` the model's type.

    Raises
    ------
    DeriveError
        When the number of feature columns is not the model's ``features``, or the labels are
        not 0/1 (logistic) or integers 0..K−1 (softmax, mlp).
    """
    network = model.network()
    n = network.features
    if data.features != n:
        raise said(f"{data.name}: {model.name} with --features {n} expects {n} feature column"
                   f"{'s' if n != 1 else ''} (+ the target), got {data.features}; pass --features {data.features}",
                   f"{data.name}：{model.name} 在 --features {n} 时需要 {n} 个特征列（另加目标列），"
                   f"实际为 {data.features}；请用 --features {data.features}")
    task = network.task
    parts = [(data.y, "")] + ([(data.y_val, " held-out")] if data.y_val is not None else [])
    out = []
    for y, where in parts:
        if task == "binary":
            wrong = ~np.isin(y, (0.0, 1.0))
            if wrong.any():
                i = int(np.argmax(wrong))
                raise said(f"{data.name}: {model.name} needs labels 0 or 1;{where} data row {i + 1} has {y[i]:g}",
                           f"{data.name}：{model.name} 的标签必须是 0 或 1；{WHERE_ZH[where]}第 {i + 1} 个数据行是 {y[i]:g}")
            out.append(np.asarray(y, dtype=float))
        elif task == "classes":
            k = network.classes
            wrong = (y != np.round(y)) | (y < 0) | (y > k - 1)
            if wrong.any():
                i = int(np.argmax(wrong))
                raise said(f"{data.name}: labels must be integers 0..{k - 1} for --classes {k};"
                           f"{where} data row {i + 1} has {y[i]:g}",
                           f"{data.name}：--classes {k} 时标签必须是整数 0..{k - 1}；"
                           f"{WHERE_ZH[where]}第 {i + 1} 个数据行是 {y[i]:g}")
            out.append(np.asarray(y).astype(np.int64))
        else:
            out.append(np.asarray(y, dtype=float))
    return replace(data, y=out[0], y_val=out[1] if len(out) > 1 else None)


@dataclass(frozen=True)
class Scaler:
    """Standardization of the inputs: x ↦ (x − mean) / scale, per feature.

    ``scale`` is the standard deviation of the training rows (1 for a constant column, which
    standardization leaves centred)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, X) -> "Scaler":
        mean = X.mean(axis=0)
        scale = X.std(axis=0)
        return cls(mean, np.where(scale > 0, scale, 1.0))

    def __call__(self, X):
        return np.ascontiguousarray((np.asarray(X, dtype=float) - self.mean) / self.scale)


def standardize(data: Dataset) -> tuple[Dataset, Scaler]:
    """``data`` with every feature standardized by the mean and standard deviation of its
    training rows (the held-out rows use the same numbers), and the ``Scaler``."""
    scaler = Scaler.fit(data.X)
    X_val = None if data.X_val is None else scaler(data.X_val)
    return replace(data, X=scaler(data.X), X_val=X_val), scaler
