"""Why a block fails: each diagnosis is a finder that returns a ``Hint``, or None if it does not apply.

As SymPy's manualintegrate tries its rule finders, ``explain`` tries ``FINDERS`` in order on one
block's ``Evidence`` and returns the first hint; ``unknown`` is the last resort and always
applies. Two diagnoses look across the blocks of a comparison: ``swapped`` (block A holds block
B's gradient) and ``layer_diagnosis`` (layer-numbered blocks: where the error enters backprop).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .report import MAX_LISTED, Entry, fmt, label
from .tolerance import Tol


@dataclass(frozen=True)
class Hint:
    """A diagnosis: its key (``BlockResult.cause``), the sentence shown, the numbers behind it, and
    the sentence in Chinese (``check-grad --lang zh``), with the same numbers formatted alike."""

    cause: str
    text: str
    detail: dict = field(default_factory=dict)
    zh: Optional[str] = None


@dataclass(frozen=True)
class Evidence:
    """What one block shows: the values compared, the tolerance, and what the re-checks found.

    Attributes
    ----------
    name : str
        The block's name.
    shape : tuple
        The block's shape.
    local : ndarray of int, shape (k,)
        Flat (C order) positions in the block of its k checked entries.
    analytic, reference : ndarray of shape (k,)
        The gradient under test and what it is compared with, entry by entry.
    failing : ndarray of int
        Positions (into the k entries) of the entries that fail.
    tol : Tol
        The tolerance of the k entries.
    params : ndarray of shape (k,)
        The parameter values at the checked entries.
    kinks : dict
        Position -> (backward, forward) one-sided derivatives, for entries found at a kink.
    directional : dict or None
        For a sampled block: "analytic", "numeric" and "ok" along a random direction.
    reference_kind : str
        One of {"numeric", "derived"}: what the reference is, as hints name it.
    block_analytic : ndarray or None
        The analytic gradient of the whole block (every entry, in its shape), also where only a
        sample of it was checked: a transpose is tested against it.
    """

    name: str
    shape: tuple
    local: np.ndarray
    analytic: np.ndarray
    reference: np.ndarray
    failing: np.ndarray
    tol: Tol
    params: np.ndarray
    kinks: dict = field(default_factory=dict)
    directional: Optional[dict] = None
    reference_kind: str = "numeric"
    block_analytic: Optional[np.ndarray] = None

    @property
    def complete(self) -> bool:
        """Every entry of the block was checked (not a sample)."""
        return self.local.size == int(np.prod(self.shape))

    @property
    def several_fail(self) -> bool:
        """Enough entries fail to fit a pattern (a regularization term) to them."""
        return self.local.size >= 2 and self.failing.size >= min(3, self.local.size)

    def explains(self, candidate) -> bool:
        """Does ``candidate`` (a corrected analytic gradient) match the reference?"""
        return explains(self.tol, candidate, self.reference)

    def index(self, k: int) -> tuple:
        """The index in the block of checked entry ``k``."""
        return tuple(int(i) for i in np.unravel_index(int(self.local[k]), self.shape)) if self.shape else ()

    def entry(self, k: int) -> Entry:
        """Checked entry ``k`` with its two values and the reference's error estimate."""
        return Entry(self.index(k), float(self.analytic[k]), float(self.reference[k]), float(self.tol.err[k]))


def explains(tol: Tol, candidate, reference) -> bool:
    """True when every entry of ``candidate`` is within ten tolerances of ``reference``: generous,
    because a hint needs the pattern, not the precision."""
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.abs(candidate - reference) <= 10 * tol.bound(candidate, reference)
    return bool(ok.size) and bool(np.all(ok))


def _entries(count: int) -> str:
    return f"entr{'y' if count == 1 else 'ies'}"


# What the analytic gradient is compared with, in Chinese (``Evidence.reference_kind``).
REFERENCE_ZH = {"numeric": "数值梯度", "derived": "推导出的梯度"}


def _ref_zh(kind: str) -> str:
    return REFERENCE_ZH.get(kind, kind)


# --------------------------------------------------------------------------------------------
# The finders, in the order ``explain`` tries them


def nonfinite_analytic(ev: Evidence) -> Optional[Hint]:
    """The analytic gradient has nan or inf entries."""
    count = int(np.count_nonzero(~np.isfinite(ev.analytic)))
    if not count:
        return None
    return Hint("nonfinite-analytic", f"the analytic gradient has nan or inf in {count} entries", {"count": count},
                zh=f"解析梯度有 {count} 个元素为 nan 或 inf")


def nonfinite_reference(ev: Evidence) -> Optional[Hint]:
    """The loss is not finite near the point, so its finite differences are not either."""
    count = int(np.count_nonzero(~np.isfinite(ev.reference)))
    if not count:
        return None
    return Hint("nonfinite-numeric", f"the loss is not finite within a step of the point for {count} entries; "
                "finite differences are impossible there", {"count": count},
                zh=f"对 {count} 个元素，在离该点一个步长之内损失不是有限值，无法在那里取有限差分")


def _near_zero(ev: Evidence) -> np.ndarray:
    return np.abs(ev.reference) <= ev.tol.bound(np.zeros_like(ev.reference), ev.reference)


def zero_analytic(ev: Evidence) -> Optional[Hint]:
    """The analytic gradient is exactly zero where the loss does change."""
    if not np.all(ev.analytic == 0) or np.all(_near_zero(ev)):
        return None
    return Hint("zero-analytic", f"the analytic gradient of {ev.name} is zero everywhere: never computed, or not "
                "accumulated?",
                zh=f"{ev.name} 的解析梯度处处为零：没有计算，还是没有累加？")


def unused_parameter(ev: Evidence) -> Optional[Hint]:
    """The loss does not change with the block, but the analytic gradient is not zero."""
    if not np.all(_near_zero(ev)) or np.all(ev.analytic == 0):
        return None
    return Hint("unused-parameter", f"the loss does not change with {ev.name} ({ev.reference_kind} gradient ≈ 0) but "
                f"the analytic one is not zero: is {ev.name} used in the loss?",
                zh=f"损失不随 {ev.name} 变化（{_ref_zh(ev.reference_kind)} ≈ 0），但解析梯度不为零：损失里用到了 "
                   f"{ev.name} 吗？")


def wrong_kink(ev: Evidence) -> Optional[Hint]:
    """Every failing entry sits at a kink, with an analytic value outside the one-sided derivatives."""
    at_kink = [int(k) for k in ev.failing if int(k) in ev.kinks]
    if not at_kink or len(at_kink) != ev.failing.size:
        return None
    k = at_kink[0]
    backward, forward = ev.kinks[k]
    return Hint("kink", f"{len(at_kink)} {_entries(len(at_kink))} at a kink where the analytic value lies outside "
                f"the one-sided derivatives, e.g. {label(ev.name, ev.index(k))}: analytic {fmt(ev.analytic[k])}, "
                f"backward {fmt(backward)}, forward {fmt(forward)}",
                zh=f"{len(at_kink)} 个元素位于折点，解析值落在两个单侧导数之外，例如 {label(ev.name, ev.index(k))}："
                   f"解析值 {fmt(ev.analytic[k])}，左导数 {fmt(backward)}，右导数 {fmt(forward)}")


def sign_flip(ev: Evidence) -> Optional[Hint]:
    """analytic ≈ −reference."""
    if not ev.explains(-ev.analytic):
        return None
    return Hint("sign-flip", f"sign flip: analytic ≈ −{ev.reference_kind} (e.g. y − a where a − y belongs, or a lost "
                "minus sign)", {"ratio": -1.0},
                zh=f"符号相反：解析梯度 ≈ −{_ref_zh(ev.reference_kind)}（例如该写 a − y 处写成了 y − a，或丢了一个负号）")


def _nice_factor(c: float) -> bool:
    """c is ±k or ±1/k for a whole k: what a dropped 1/m, ½ or sign gives."""
    for v in (c, 1 / c if c else 0.0):
        k = round(v)
        if abs(k) >= 1 and abs(v - k) <= 1e-3 * abs(k):
            return True
    return False


def constant_factor(ev: Evidence) -> Optional[Hint]:
    """analytic ≈ c · reference, c fitted by least squares (for one entry: only a whole k or 1/k)."""
    a, n = ev.analytic, ev.reference
    nn = float(n @ n)
    if not nn > 0:
        return None
    c = float(a @ n) / nn
    if c == 0 or abs(c - 1) <= 1e-3 or not (a.size > 1 or _nice_factor(c)) or not ev.explains(a / c):
        return None
    text, zh = _ratio_text(c, ev.reference_kind, _ref_zh(ev.reference_kind))
    return Hint("factor", text, {"ratio": c}, zh=zh)


def _ratio_text(c: float, ref: str, ref_zh: str) -> tuple[str, str]:
    """What a factor ``c`` between the analytic gradient and ``ref`` suggests: (English, Chinese)."""
    k = round(c)
    inv = round(1 / c) if c != 0 else 0
    if k >= 2 and abs(c - k) <= 1e-3 * k:
        return (f"constant factor: analytic ≈ {k} × {ref} (a missing 1/{k}; if {k} is the number of examples, "
                "the 1/m of the mean is missing)",
                f"常数因子：解析梯度 ≈ {k} × {ref_zh}（少了 1/{k}；若 {k} 是样本数，则少了求平均的 1/m）")
    if inv >= 2 and abs(1 / c - inv) <= 1e-3 * inv:
        return (f"constant factor: analytic ≈ {ref} / {inv} (divided by {inv} once too often, e.g. 1/m applied "
                "twice, or the 2 of a square left out)",
                f"常数因子：解析梯度 ≈ {ref_zh} / {inv}（多除了一次 {inv}，例如 1/m 用了两次，或漏了平方求导得到的 2）")
    if k <= -2 and abs(c - k) <= 1e-3 * abs(k):
        return (f"sign and factor: analytic ≈ {k} × {ref} (a lost minus sign and a missing 1/{-k})",
                f"符号与因子：解析梯度 ≈ {k} × {ref_zh}（丢了负号，又少了 1/{-k}）")
    if 0 < c < 1 or 1 < c < 10:
        keep = c if c < 1 else 1 / c
        what, what_zh = ("missing", "漏了") if c < 1 else ("applied twice", "用了两次")
        return (f"constant factor: analytic ≈ {c:.6g} × {ref} (with inverted dropout of keep probability "
                f"{keep:.3g} before this layer: the 1/keep scaling {what} in backward?)",
                f"常数因子：解析梯度 ≈ {c:.6g} × {ref_zh}（若这一层之前有保留概率为 {keep:.3g} 的反向随机失活，"
                f"反向传播中是否{what_zh} 1/保留概率 的缩放？）")
    return f"constant factor: analytic ≈ {c:.6g} × {ref}", f"常数因子：解析梯度 ≈ {c:.6g} × {ref_zh}"


def transpose(ev: Evidence) -> Optional[Hint]:
    """The analytic gradient is the reference transposed (square), or the reference's transpose
    reshaped back to the parameter's shape (rectangular), on every checked entry.

    The transposed analytic gradient is read from the whole block, so a sample decides too; a
    sample with fewer than three disagreeing entries off the diagonal is too small to be sure, and
    the hint says so."""
    shape = ev.shape
    if len(shape) != 2 or min(shape) <= 1 or not ev.failing.size:
        return None
    if ev.block_analytic is not None:
        full_a = np.asarray(ev.block_analytic, dtype=np.float64).reshape(shape)
    elif ev.complete:
        full_a = np.empty(shape)
        full_a.flat[ev.local] = ev.analytic
    else:
        return None
    ref = ev.reference_kind
    if shape[0] == shape[1]:
        swapped_a = full_a.T.ravel()[ev.local]
        text = f"transpose: analytic ≈ {ref}ᵀ (e.g. dZᵀ·X where Xᵀ·dZ belongs)"
        zh = f"转置：解析梯度 ≈ {_ref_zh(ref)}ᵀ（例如该写 Xᵀ·dZ 处写成了 dZᵀ·X）"
    else:
        swapped_a = full_a.reshape(shape[::-1]).T.ravel()[ev.local]
        text = (f"transpose: the analytic gradient is the {shape[1]}×{shape[0]} transpose reshaped to "
                f"{shape[0]}×{shape[1]}; compute it in the parameter's layout instead of reshaping")
        zh = (f"转置：解析梯度是 {shape[1]}×{shape[0]} 的转置再变形为 {shape[0]}×{shape[1]}；"
              "应按参数的布局计算，而不是变形")
    if not ev.explains(swapped_a):
        return None
    rows, cols = np.unravel_index(ev.local[ev.failing], shape)
    off = int(np.count_nonzero(rows != cols))
    if ev.complete or off >= 3:
        if not ev.complete:
            text += f" (on the {ev.local.size:,} sampled entries, {off:,} of them disagreeing off the diagonal)"
            zh += f"（在抽样的 {ev.local.size:,} 个元素上，其中 {off:,} 个不一致的元素在对角线外）"
        return Hint("transpose", text, zh=zh)
    return Hint("transpose", f"possibly a {text} — not sure: the sample has only {off} disagreeing "
                f"{_entries(off)} off the diagonal; check {ev.name} entry by entry (--max-coords) to decide",
                {"sure": False},
                zh=f"可能是{zh}——但不确定：抽样中只有 {off} 个不一致的元素在对角线外；"
                   f"请逐个元素检验 {ev.name}（--max-coords）再下结论")


def l2_term(ev: Evidence) -> Optional[Hint]:
    """analytic − reference ≈ −λ·w: an L2 term missing from the gradient (λ > 0) or from the loss."""
    x = ev.params
    xx = float(x @ x)
    if not (xx > 0 and ev.several_fail):
        return None
    lam = -float((ev.analytic - ev.reference) @ x) / xx
    if lam == 0 or not ev.explains(ev.analytic + lam * x):
        return None
    name, ref = ev.name, ev.reference_kind
    if lam > 0:
        return Hint("regularization", f"analytic − {ref} ≈ −{lam:.4g}·{name}: the gradient misses a regularization "
                    f"term λ·{name} with λ ≈ {lam:.4g} that the loss has", {"lambda": lam},
                    zh=f"解析梯度 − {_ref_zh(ref)} ≈ −{lam:.4g}·{name}：损失里有正则化项，梯度却少了 λ·{name}，"
                       f"λ ≈ {lam:.4g}")
    return Hint("regularization", f"analytic − {ref} ≈ {-lam:.4g}·{name}: the gradient has a term λ·{name} with "
                f"λ ≈ {-lam:.4g} that the loss does not have (is the penalty missing from the loss?)", {"lambda": lam},
                zh=f"解析梯度 − {_ref_zh(ref)} ≈ {-lam:.4g}·{name}：梯度里有一项 λ·{name}，λ ≈ {-lam:.4g}，"
                   "损失里却没有（损失漏了正则化项？）")


def l1_term(ev: Evidence) -> Optional[Hint]:
    """analytic − reference ≈ −λ·sign(w), λ > 0: the gradient misses an L1 term."""
    s = np.sign(ev.params)
    if not (np.any(s != 0) and ev.several_fail):
        return None
    lam = -float((ev.analytic - ev.reference) @ s) / float(s @ s)
    if not (lam > 0 and ev.explains(ev.analytic + lam * s)):
        return None
    return Hint("regularization", f"analytic − {ev.reference_kind} ≈ −{lam:.4g}·sign({ev.name}): the gradient misses "
                f"the L1 term λ·sign({ev.name}) with λ ≈ {lam:.4g} that the loss has", {"lambda_l1": lam},
                zh=f"解析梯度 − {_ref_zh(ev.reference_kind)} ≈ −{lam:.4g}·sgn({ev.name})：损失里有 L1 正则化项，"
                   f"梯度却少了 λ·sgn({ev.name})，λ ≈ {lam:.4g}")


def factor_beside_l2(ev: Evidence) -> Optional[Hint]:
    """analytic ≈ c·(reference − λ·w) + λ·w: the data term is off by a factor c while the L2 term
    λ·w is right (a missing 1/m or dropout's 1/keep in a regularized model)."""
    x, n = ev.params, ev.reference
    if not (ev.several_fail and ev.local.size >= 3 and float(x @ x) > 0):
        return None
    (c, mu), *_ = np.linalg.lstsq(np.column_stack([n, x]), ev.analytic, rcond=None)
    # analytic = c·n + μ·w with μ = (1 − c)·λ, so (analytic − μ·w) / c is the reference
    if abs(c - 1) <= 1e-3 or c == 0 or mu == 0 or not ev.explains((ev.analytic - mu * x) / c):
        return None
    lam = float(mu / (1 - c))
    text, zh = _ratio_text(float(c), ev.reference_kind + " without its L2 term", _ref_zh(ev.reference_kind) + "（不含 L2 项）")
    return Hint("factor", f"{text}; the L2 term λ·{ev.name} (λ ≈ {lam:.4g}) is right", {"ratio": float(c), "lambda": lam},
                zh=f"{zh}；L2 项 λ·{ev.name}（λ ≈ {lam:.4g}）是对的")


def _per_unit_cosines(values: np.ndarray, weights: np.ndarray, axis: int) -> np.ndarray:
    """|cos| between each unit's gradient and its weights; units along the other axis than ``axis``."""
    dots = np.abs(np.sum(values * weights, axis=axis))
    norms = np.linalg.norm(values, axis=axis) * np.linalg.norm(weights, axis=axis)
    return dots / np.maximum(norms, 1e-300)


def normalization(ev: Evidence) -> Optional[Hint]:
    """A normalization (batchnorm) follows the block, and its backward misses the paths through the
    batch mean and variance.

    The loss does not change when one unit's values (a column of W, or of batchnorm's input) are
    scaled, so the reference is orthogonal to them unit by unit; a backward that keeps only dx̂/σ
    loses that. Both orientations are tried (W as (in, out) or (out, in))."""
    shape = ev.shape
    if len(shape) != 2 or min(shape) < 2 or not ev.complete or not ev.several_fail:
        return None
    order = np.argsort(ev.local)
    ref = ev.reference[order].reshape(shape)
    ana = ev.analytic[order].reshape(shape)
    w = ev.params[order].reshape(shape)
    # An L2 term λ·w in loss and gradient breaks the invariance by the same λ·w in both: take it out.
    lam = float(np.sum(ref * w)) / max(float(np.sum(w * w)), 1e-300)
    ref, ana = ref - lam * w, ana - lam * w
    for axis in (0, 1):
        ref_cos = _per_unit_cosines(ref, w, axis)
        ana_cos = _per_unit_cosines(ana, w, axis)
        # 1e-3: batchnorm's ε makes the scaling invariance hold only to about ε / var
        if np.all(ref_cos <= 1e-3) and np.max(ana_cos) >= 0.05:
            unit = "column" if axis == 0 else "row"
            unit_zh = "列" if axis == 0 else "行"
            return Hint("normalization", f"the loss does not change when a {unit} of {ev.name} is scaled (a "
                        f"normalization such as batchnorm follows it: {ev.reference_kind} gradient ⟂ {ev.name}, "
                        f"{unit} by {unit}) but the analytic gradient says it does (|cos| up to {np.max(ana_cos):.2g}): "
                        "batchnorm's backward probably misses the paths through the batch mean and variance "
                        "(dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂))/σ, not dx̂/σ)", {"axis": axis},
                        zh=f"按{unit_zh}缩放 {ev.name} 时损失不变（其后有批归一化之类的归一化："
                           f"{_ref_zh(ev.reference_kind)}逐{unit_zh}与 {ev.name} 正交），解析梯度却说会变"
                           f"（|cos| 最大为 {np.max(ana_cos):.2g}）：批归一化的反向传播可能漏了经过批均值与方差的路径"
                           "（dx = (dx̂ − E[dx̂] − x̂·E[dx̂·x̂])/σ，而不是 dx̂/σ）")
    return None


def few_entries(ev: Evidence) -> Optional[Hint]:
    """A few entries are wrong (at most ``MAX_LISTED``) and the others agree: list them."""
    count = ev.failing.size
    if not 0 < count <= MAX_LISTED or count >= ev.local.size:
        return None
    entries = [ev.entry(int(k)) for k in ev.failing]
    listed = "; ".join(f"{e.label(ev.name)} (analytic {fmt(e.analytic)}, {ev.reference_kind} {fmt(e.numeric)})"
                       for e in entries)
    listed_zh = "；".join(f"{e.label(ev.name)}（解析值 {fmt(e.analytic)}，{_ref_zh(ev.reference_kind)} "
                          f"{fmt(e.numeric)}）" for e in entries)
    return Hint("few-entries", f"{count} wrong {_entries(count)} of {ev.local.size:,}, the rest agree: {listed}",
                {"entries": [list(e.index) for e in entries]},
                zh=f"{ev.local.size:,} 个元素中有 {count} 个错，其余一致：{listed_zh}")


def missed_by_sample(ev: Evidence) -> Optional[Hint]:
    """Every sampled entry agrees, but the derivative along a random direction does not."""
    d = ev.directional
    if ev.failing.size or d is None or d["ok"]:
        return None
    return Hint("directional", f"the sampled entries agree but the derivative along a random direction does not "
                f"(analytic {fmt(d['analytic'])}, numeric {fmt(d['numeric'])}): the bug is in entries the sample "
                "missed",
                zh=f"抽样的元素都一致，但沿一个随机方向的方向导数不一致（解析值 {fmt(d['analytic'])}，数值 "
                   f"{fmt(d['numeric'])}）：错误在抽样没有覆盖的元素里")


def unknown(ev: Evidence) -> Hint:
    """The last resort: the values (one entry), or how many entries disagree."""
    if ev.local.size == 1:
        return Hint("unknown", f"analytic {fmt(ev.analytic[0])}, {ev.reference_kind} {fmt(ev.reference[0])}",
                    zh=f"解析值 {fmt(ev.analytic[0])}，{_ref_zh(ev.reference_kind)} {fmt(ev.reference[0])}")
    where = "" if ev.complete else " on the sample"
    where_zh = "" if ev.complete else "抽样的"
    return Hint("unknown", f"{ev.failing.size:,} of {ev.local.size:,} entries disagree with no simple pattern{where} "
                "(not a sign, a factor, a transpose or a regularization term)",
                zh=f"{where_zh}{ev.local.size:,} 个元素中有 {ev.failing.size:,} 个不一致，看不出简单的规律"
                   "（不是符号、常数因子、转置或正则化项）")


FINDERS = (nonfinite_analytic, nonfinite_reference, zero_analytic, unused_parameter, wrong_kink, sign_flip,
           constant_factor, transpose, l2_term, l1_term, factor_beside_l2, normalization, few_entries, missed_by_sample)


def explain(ev: Evidence) -> Hint:
    """The likely bug in a failing block: the first finder's hint, else ``unknown``."""
    for finder in FINDERS:
        hint = finder(ev)
        if hint is not None:
            return hint
    return unknown(ev)


def kink_accepted(name: str, count: int, first: dict) -> Hint:
    """What a passing block accepted: ``count`` entries at a kink, ``first`` as in ``BlockResult.kinks``."""
    return Hint("kink-accepted", f"{count} {_entries(count)} at a kink (ReLU, max or |·|), e.g. "
                f"{label(name, first['index'])}: analytic {fmt(first['analytic'])} lies between the one-sided "
                f"derivatives (backward {fmt(first['backward'])}, forward {fmt(first['forward'])}): "
                "a valid subgradient, accepted",
                zh=f"{count} 个元素位于折点（ReLU、max 或 |·|），例如 {label(name, first['index'])}：解析值 "
                   f"{fmt(first['analytic'])} 落在两个单侧导数（左导数 {fmt(first['backward'])}，右导数 "
                   f"{fmt(first['forward'])}）之间：是合法的次梯度，予以接受")


def inconclusive(ev: Evidence, undecided, low_precision: bool) -> Hint:
    """What a block left undecided: entries near kinks that finite differences cannot resolve."""
    k = int(undecided[0])
    count = len(undecided)
    why = "at the loss's float32 precision" if low_precision else "at the loss's precision"
    why_zh = "在损失的 float32 精度下" if low_precision else "在损失的精度下"
    return Hint("inconclusive", f"{count} {_entries(count)} near a kink (ReLU, max or |·|) closer than any step "
                f"that resolves the loss {why}, e.g. {label(ev.name, ev.index(k))}: analytic "
                f"{fmt(ev.analytic[k])}; the one-sided differences change with the step on both sides, so "
                "they neither confirm nor refute it (not a located bug; re-check in float64 to decide)",
                {"count": count},
                zh=f"{count} 个元素离折点（ReLU、max 或 |·|）太近，{why_zh}没有哪个步长能分辨，例如 "
                   f"{label(ev.name, ev.index(k))}：解析值 {fmt(ev.analytic[k])}；两侧的单侧差分都随步长而变，"
                   "既不能证实也不能否定它（不是定位到的错误；用 float64 重新检验再下结论）")


def unlocated(name: str, directional: dict) -> Hint:
    """A block whose random directions disagree while every entry they led to agrees."""
    return Hint("unlocated", f"along random directions {name}'s derivative disagrees (analytic "
                f"{fmt(directional['analytic'])}, finite differences {fmt(directional['numeric'])}), but every "
                "entry the bisection checked agrees: the difference is spread over more entries than it follows, "
                "or lies on kinks the directions crossed (not a located bug; check a smaller model entry by entry)",
                {"analytic": directional["analytic"], "numeric": directional["numeric"]},
                zh=f"沿随机方向，{name} 的方向导数不一致（解析值 {fmt(directional['analytic'])}，有限差分 "
                   f"{fmt(directional['numeric'])}），但二分法检验的每个元素都一致：差异分散在比它追踪的更多的元素上，"
                   "或在方向经过的折点上（不是定位到的错误；请在更小的模型上逐个元素检验）")


# --------------------------------------------------------------------------------------------
# Across blocks


def attach(result, hint: Hint) -> None:
    """Give a ``BlockResult`` the hint's cause, sentence and numbers."""
    result.cause, result.hint, result.detail = hint.cause, hint.text, hint.detail
    result.hint_zh = hint.zh


def swapped(results: list, evidence: list, screened: list) -> None:
    """Swapped gradients: block A's analytic values match block B's reference values.

    ``evidence`` and ``screened`` (each block's reference values as first computed, before the
    re-checks) run parallel to ``results``. A failing block that a sign, factor or transpose
    already explains keeps its hint.
    """
    for res, ev in zip(results, evidence):
        if res.verdict != "fail" or res.cause in ("sign-flip", "factor", "transpose"):
            continue
        for other, ev_o, ref in zip(results, evidence, screened):
            if other is res or ev_o.shape != ev.shape or not np.array_equal(ev.local, ev_o.local):
                continue
            if np.any(ev.analytic != 0) and explains(ev_o.tol, ev.analytic, ref):
                attach(res, Hint("swapped", f"swapped: the analytic gradient given for {res.name!r} is the gradient "
                                 f"of {other.name!r} (returned under the wrong name, or a tuple in another order?)",
                                 {"swapped_with": other.name},
                                 zh=f"交换了：给 {res.name!r} 的解析梯度是 {other.name!r} 的梯度"
                                    "（用错了名字返回，还是元组的顺序不对？）"))
                break


def recurrent_carry(results: list) -> None:
    """A recurrent net (a failing square block named like ``Whh`` or ``W_aa``) whose output layer agrees but
    whose blocks before the hidden state have no pattern: the gradient carried back through time
    is the likely culprit. A guess from which blocks fail, and the hint says so."""
    recurrent = [r for r in results if r.verdict == "fail" and len(r.shape) == 2 and r.shape[0] == r.shape[1]
                 and re.search(r"hh|aa|rec", r.name, re.IGNORECASE)]
    if not recurrent or not any(r.verdict != "fail" for r in results):
        return
    whh = recurrent[0].name
    for r in results:
        if r.verdict == "fail" and r.cause == "unknown":
            attach(r, Hint("bptt-carry", f"the blocks before the recurrent state disagree with no simple pattern "
                           f"while the output layer agrees (probably, not certainly): in backprop through time, is "
                           f"the gradient from step t+1 (dh_next = {whh}ᵀ·dh_raw) added to dh at every step?",
                           zh=f"循环状态之前的参数块不一致且看不出简单规律，而输出层一致（可能如此，并不确定）："
                              f"在随时间反向传播中，每一步都把来自第 t+1 步的梯度（dh_next = {whh}ᵀ·dh_raw）加到 dh 上了吗？"))


def normalized_bias(results: list) -> None:
    """A bias whose gradient the reference finds 0 next to a block with the ``normalization`` hint:
    batchnorm's mean removes the bias, so the same missing mean path is the likely cause (in the
    same layer when the names are numbered)."""
    normalized = [r for r in results if r.verdict == "fail" and r.cause == "normalization"]
    for r in results:
        if r.verdict != "fail" or r.cause != "unused-parameter":
            continue
        same = [n for n in normalized if _layer_number(n.name) == _layer_number(r.name)]
        if same:
            attach(r, Hint("normalization", f"{r.name} does not change the loss, as a batchnorm right after it "
                           "subtracts the batch mean (its gradient is 0), but the analytic one is not zero: the "
                           f"same missing mean path as in {same[0].name}",
                           zh=f"{r.name} 不改变损失，因为紧随其后的批归一化减去了批均值（其梯度为 0），但解析梯度不为零："
                              f"与 {same[0].name} 一样漏了经过均值的路径"))


def _layer_number(name: str) -> Optional[int]:
    m = re.fullmatch(r"(.*?)(\d+)", name)
    return int(m.group(2)) if m else None


def _no_pattern(blocks: list) -> bool:
    """Do a layer's failing blocks fail with no pattern of their own? A few wrong entries count as
    no pattern when the layer has two failing blocks: a wrong backprop step reaches both W and b,
    a typo in one entry reaches one block."""
    bad = [r for r in blocks if r.verdict == "fail"]
    return (bool(bad) and all(r.cause in ("unknown", "few-entries") for r in bad)
            and (len(bad) >= 2 or bad[0].cause == "unknown"))


def layer_diagnosis(results: list) -> Optional[str]:
    """With layer-numbered names (W1, b1, W2, b2): where does the error enter backprop?

    The highest layer whose failing blocks have no pattern of their own, below layers that pass
    or whose failures have a pattern of their own (a second bug, diagnosed independently), is
    where the error enters; its hints and those of the pattern-less layers below become the
    diagnosis (cause "backprop-step"), which is also returned."""
    layers = {}
    for res in results:
        number = _layer_number(res.name)
        if number is None:
            return None
        layers.setdefault(number, []).append(res)
    if len(layers) < 2:
        return None
    if all(r.verdict == "fail" and r.cause == "sign-flip" for r in results):
        # One sign error that every layer inherits entered before backprop split into layers.
        return ("every layer's gradient has the wrong sign: the error enters at the output, in the derivative of "
                f"the loss (dA{max(layers)} or dZ{max(layers)}: e.g. y − a where a − y belongs), not in a layer's step")
    plain = sorted(k for k, rs in layers.items() if _no_pattern(rs))
    if not plain or plain[-1] >= max(layers):
        return None
    last_bad = plain[-1]
    nxt = min(k for k in layers if k > last_bad)
    above_fail = any(r.verdict == "fail" for k, rs in layers.items() if k > last_bad for r in rs)
    if above_fail:
        start = (f"layers above {last_bad} fail with a pattern of their own (their hints), layer {last_bad} with none: "
                 f"probably a second error, entering where the gradient goes back from layer {nxt} to layer {last_bad}")
        start_zh = (f"第 {last_bad} 层以上的层各有自己的错误规律（见其提示），第 {last_bad} 层则没有：可能是第二个错误，"
                    f"出现在梯度从第 {nxt} 层传回第 {last_bad} 层的地方")
    else:
        start = (f"layer {nxt} is right but layer {last_bad} is wrong: the error enters where the gradient goes back "
                 f"from layer {nxt} to layer {last_bad}")
        start_zh = f"第 {nxt} 层正确而第 {last_bad} 层错误：错误出现在梯度从第 {nxt} 层传回第 {last_bad} 层的地方"
    diagnosis = (f"{start}. Check that step: the product with W{nxt}ᵀ, the activation derivative g′(z{last_bad}) "
                 "(a forgotten g′ is the classic bug) and, with dropout, the same mask and 1/keep as in forward")
    diagnosis_zh = (f"{start_zh}。请检查这一步：与 W{nxt}ᵀ 的乘积、激活函数的导数 g′(z{last_bad})"
                    "（忘了乘 g′ 是典型错误），以及有随机失活时，是否用了与前向传播相同的掩码和 1/保留概率")
    for k in plain:
        for r in layers[k]:
            if r.verdict == "fail":
                attach(r, Hint("backprop-step", f"{diagnosis} ({r.n_fail:,} of {r.checked:,} entries disagree, with "
                               "no sign, factor or transpose pattern)",
                               zh=f"{diagnosis_zh}（{r.checked:,} 个元素中有 {r.n_fail:,} 个不一致，"
                                  "没有符号、常数因子或转置的规律）"))
    return diagnosis
