"""The results of a gradient check, and their views: plain text, rich tables and JSON.

``Report`` holds one ``Comparison`` per gradient compared with a reference; a comparison holds one
``BlockResult`` per parameter block, with the worst ``Entry``. The checker fills them; nothing
here computes a derivative.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Optional

from derive.summary import aligned

MAX_LISTED = 5           # failing or kinked entries listed per block


@dataclass
class Entry:
    """One entry of a block: where it is and the two values compared."""

    index: tuple
    analytic: float
    numeric: float
    error: float = 0.0           # the numeric value's error estimate

    def label(self, name: str) -> str:
        return label(name, self.index)

    def to_dict(self) -> dict:
        return {
            "index": list(self.index),
            "analytic": _num(self.analytic),
            "numeric": _num(self.numeric),
            "error_estimate": _num(self.error),
        }


@dataclass
class BlockResult:
    """The verdict on one parameter block.

    Attributes
    ----------
    name : str
    shape : tuple
    size : int
        Entries in the block.
    checked : int
        Entries compared one by one (all of them unless the model was sampled).
    rel_error : float
        ``‖a − n‖ / max(‖a‖, ‖n‖)`` over the checked entries.
    verdict : str
        One of {"pass", "fail", "kink-accepted", "inconclusive"}; "inconclusive": no entry
        fails, but some sit near kinks the loss's precision cannot resolve (it does not fail).
    hint : str or None
        The likely bug (failing blocks) or what was accepted (kinks).
    hint_zh : str or None
        ``hint`` in Chinese, with the same numbers (None: no hint, or none translated).
    detail : dict
        Numbers behind the hint: "ratio", "lambda", "lambda_l1", "entries" (indices),
        "swapped_with", "count".
    cause : str or None
        The hint as a key: one of {"sign-flip", "factor", "transpose", "regularization",
        "few-entries", "swapped", "backprop-step", "bptt-carry", "kink", "zero-analytic", "unused-parameter", "directional",
        "nonfinite-analytic", "nonfinite-numeric", "unknown"} for failing blocks,
        "kink-accepted" for accepted kinks, "inconclusive" for undecided entries.
    worst : Entry or None
        The entry farthest outside (or closest to) its tolerance.
    failures : list of Entry
        Failing entries (at most a few listed; ``n_fail`` counts them all).
    kinks : list of dict
        Kink-accepted entries with their one-sided derivatives (at most a few listed).
    directional : dict or None
        For sampled blocks: the analytic and numeric derivative along a random direction.
    method : str
        How the numeric values were computed.
    """

    name: str
    shape: tuple
    size: int
    checked: int
    rel_error: float
    verdict: str
    hint: Optional[str]
    worst: Optional[Entry]
    n_fail: int = 0
    n_kink: int = 0
    n_inconclusive: int = 0
    failures: list = field(default_factory=list)
    kinks: list = field(default_factory=list)
    directional: Optional[dict] = None
    method: str = ""
    cause: Optional[str] = None
    detail: dict = field(default_factory=dict)
    hint_zh: Optional[str] = None        # the hint in Chinese (``--lang zh``); the JSON keeps the English

    @property
    def ok(self) -> bool:
        return self.verdict != "fail"

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "size": self.size,
            "checked": self.checked,
            "rel_error": _num(self.rel_error),
            "verdict": self.verdict,
            "hint": self.hint,
            "cause": self.cause,
            "detail": _nums(self.detail),
            "n_fail": self.n_fail,
            "n_kink": self.n_kink,
            "n_inconclusive": self.n_inconclusive,
            "worst": self.worst.to_dict() if self.worst else None,
            "failures": [e.to_dict() for e in self.failures],
            "kinks": [_nums(d) for d in self.kinks],
            "directional": None if self.directional is None else _nums(self.directional),
            "method": self.method,
        }


@dataclass
class Comparison:
    """One gradient compared with one reference (finite differences or another gradient)."""

    title: str
    blocks: list
    diagnosis: Optional[str] = None

    @property
    def ok(self) -> bool:
        return all(b.ok for b in self.blocks)

    def to_dict(self) -> dict:
        return {
            "title": self.title,
            "ok": self.ok,
            "diagnosis": self.diagnosis,
            "blocks": [b.to_dict() for b in self.blocks],
        }


@dataclass
class Report:
    """The result of a gradient check.

    Attributes
    ----------
    source : str
        What was checked (a file name or a model).
    comparisons : list of Comparison
        Usually one ("grad vs finite differences"); three for a SymPy file with a hand-written
        gradient.
    mode : str
        The requested mode, one of {"auto", "central", "complex", "richardson"}.
    seed : int
    n_params, n_checked : int
        Parameters in the model and coordinates differentiated one by one.
    notes : list of str
        What the checker adapted (float32, sampling, complex-step fallback, random data).
    source_zh : str
        ``source`` as a Chinese header names it, when it has words (a built-in model's options);
        empty when ``source`` reads the same in both languages.
    """

    source: str
    comparisons: list
    mode: str
    seed: int
    n_params: int
    n_checked: int
    notes: list = field(default_factory=list)
    source_zh: str = ""

    @property
    def ok(self) -> bool:
        """True when every block of every comparison passes (kinks accepted)."""
        return all(c.ok for c in self.comparisons)

    @property
    def inconclusive(self) -> int:
        """Entries near kinks that the loss's precision could not decide (they do not fail)."""
        return sum(b.n_inconclusive for c in self.comparisons for b in c.blocks)

    @property
    def blocks(self) -> list:
        """The blocks of the first comparison (the one against finite differences)."""
        return self.comparisons[0].blocks if self.comparisons else []

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "ok": self.ok,
            "mode": self.mode,
            "seed": self.seed,
            "n_params": self.n_params,
            "n_checked": self.n_checked,
            "notes": list(self.notes),
            "comparisons": [c.to_dict() for c in self.comparisons],
        }

    def to_json(self) -> str:
        """The report as JSON (stable key order; NaN and infinities as strings)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def __rich__(self):
        return render_rich(self)

    def __str__(self):
        return render_text(self)


def _num(v):
    if v is None:
        return None
    v = float(v)
    if math.isfinite(v):
        return v
    return str(v)


def _nums(d: dict) -> dict:
    return {k: (_num(v) if isinstance(v, float) else v) for k, v in d.items()}


def label(name: str, index) -> str:
    """An entry's name as printed: ``W1[0, 2]``, or the block's name for a scalar."""
    return f"{name}[{', '.join(map(str, index))}]" if index else name


def fmt(v) -> str:
    """A value as printed in tables and hints (six significant digits, no negative zero)."""
    return f"{float(v) + 0.0:.6g}"



def _shape_text(shape) -> str:
    return "()" if not shape else "(" + ", ".join(map(str, shape)) + (",)" if len(shape) == 1 else ")")


def _rows(comparison: Comparison, lang: str = "en"):
    zh = lang == "zh"
    rows = []
    for r in comparison.blocks:
        worst = ""
        if r.worst is not None:
            worst = f"{label(r.name, r.worst.index)}: {fmt(r.worst.analytic)} vs {fmt(r.worst.numeric)}"
        checked = f"{r.checked:,}" if r.checked == r.size else (
            f"{r.size:,} 个中的 {r.checked:,} 个" if zh else f"{r.checked:,} of {r.size:,}")
        rows.append([r.name, _shape_text(r.shape), checked, f"{r.rel_error:.1e}", worst,
                     VERDICTS_ZH[r.verdict] if zh else r.verdict])
    return rows


HEADERS = ["block", "shape", "checked", "rel. error", "worst entry (analytic vs reference)", "verdict"]
# The report in Chinese (``derive check-grad --lang zh``), in the terms of the notes' 梯度检验.
HEADERS_ZH = ["参数块", "形状", "检验个数", "相对误差", "误差最大的元素（解析值 vs 参考值）", "结论"]
VERDICTS_ZH = {"pass": "通过", "fail": "不通过", "kink-accepted": "折点处按次梯度接受", "inconclusive": "无法判定"}
MODES_ZH = {"auto": "自动选择差分方法", "central": "中心差分", "complex": "复步长法", "richardson": "Richardson 外推"}
METHODS_ZH = {"Richardson extrapolation": "Richardson 外推", "central differences": "中心差分", "complex step": "复步长法"}


def _title(c: Comparison, lang: str) -> str:
    """The comparison's title and its methods: "compiled logistic gradient vs finite differences
    (central differences)"; in Chinese, what is compared with what."""
    methods = sorted({b.method for b in c.blocks if b.method})
    if lang != "zh":
        return c.title + (f" ({', '.join(methods)})" if methods else "")
    left, _, right = c.title.partition(" vs ")
    names = {"finite differences": "有限差分", "grad": "梯度"}
    model = re.fullmatch(r"compiled (\S+) gradient", left)
    left = f"编译出的 {model.group(1)} 梯度" if model else names.get(left, left)
    shown = "、".join(METHODS_ZH.get(m, m) for m in methods)
    return f"{left}与{names.get(right, right)}的比较" + (f"（{shown}）" if methods else "")


def _summary(report: Report, lang: str = "en") -> str:
    failing = [(c, b) for c in report.comparisons for b in c.blocks if b.verdict == "fail"]
    total = sum(len(c.blocks) for c in report.comparisons)
    if lang == "zh":
        return _summary_zh(report, failing, total)
    if not failing:
        kinks = sum(b.n_kink for c in report.comparisons for b in c.blocks)
        extra = f" ({kinks} entr{'y' if kinks == 1 else 'ies'} at kinks accepted as subgradients)" if kinks else ""
        undecided = report.inconclusive
        if undecided:
            return (f"INCONCLUSIVE: no entry disagrees, but {undecided:,} entr{'y' if undecided == 1 else 'ies'} "
                    f"near kinks could not be decided at the loss's precision{extra} (exit status 0)")
        return f"OK: every block passes{extra}"
    return f"FAIL: {len(failing)} of {total} blocks disagree"


def _summary_zh(report: Report, failing: list, total: int) -> str:
    """``_summary`` in Chinese."""
    if failing:
        return f"不通过：{total} 个参数块中有 {len(failing)} 个不一致"
    kinks = sum(b.n_kink for c in report.comparisons for b in c.blocks)
    extra = f"（{kinks} 个折点处的元素按次梯度接受）" if kinks else ""
    if report.inconclusive:
        return (f"无法判定：没有元素不一致，但折点附近有 {report.inconclusive:,} 个元素在损失的精度下无法判定"
                f"{extra}（退出状态 0）")
    return f"通过：每个参数块都通过{extra}"


def _agreement(b: BlockResult, lang: str = "en") -> str:
    d = b.directional
    zh = lang == "zh"
    if d["ok"]:
        return "一致" if zh else "agree"
    # The directional path: the entries the disagreement led to decide the block.
    if "located" in d and b.verdict != "fail":
        return ("不一致，但由此追踪到的每个元素都一致：是直线经过的折点，不是错误" if zh else
                "disagree, but every entry it led to agrees: kinks on the line, not a bug")
    return "不一致" if zh else "DISAGREE"


def _comparison_lines(c: Comparison, lang: str = "en") -> list[str]:
    lines = []
    for b in c.blocks:
        if b.hint:
            hint = b.hint_zh or b.hint if lang == "zh" else b.hint
            lines.append(f"{b.name}{'：' if lang == 'zh' else ': '}{hint}")
        if b.directional is not None:
            d = b.directional
            if lang == "zh":
                where = f"沿 {d['directions']} 个随机方向中最差的一个" if "directions" in d else "沿一个随机方向"
                lines.append(f"{b.name}：{where}：解析值 {fmt(d['analytic'])}，数值 {fmt(d['numeric'])} ± "
                             f"{d['error_estimate']:.1e}（{_agreement(b, lang)}）")
                continue
            where = (f"along {d['directions']} random directions, the worst" if "directions" in d
                     else "along a random direction")
            lines.append(f"{b.name}: {where}: analytic {fmt(d['analytic'])}, numeric "
                         f"{fmt(d['numeric'])} ± {d['error_estimate']:.1e} ({_agreement(b)})")
    return lines


def _header(report: Report, lang: str = "en") -> str:
    if lang == "zh":
        return (f"梯度检验 {report.source_zh or report.source}：{report.n_params:,} 个坐标中检验了 {report.n_checked:,} 个，"
                f"{MODES_ZH.get(report.mode, report.mode)}，随机种子 {report.seed}")
    return (f"check-grad {report.source}: {report.n_checked:,} of {report.n_params:,} coordinates, "
            f"mode {report.mode}, seed {report.seed}")


def render_text(report: Report, lang: str = "en") -> str:
    """The report as plain text (for pipes, files and ``NO_COLOR``), in English or Chinese."""
    heads = HEADERS_ZH if lang == "zh" else HEADERS
    out = [_header(report, lang)]
    for c in report.comparisons:
        out.append("")
        out.append(_title(c, lang))
        out += aligned([heads] + _rows(c, lang), indent="  ")
        for line in _comparison_lines(c, lang):
            out.append("  " + line)
    out.append("")
    out.append(_summary(report, lang))
    return "\n".join(out) + "\n"


def render_rich(report: Report, lang: str = "en"):
    """The report as rich renderables: one table per comparison, hints, and the verdict."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    style = {"pass": "green", "kink-accepted": "yellow", "inconclusive": "yellow", "fail": "bold red"}
    parts = [Text(_header(report, lang), style="bold")]
    for c in report.comparisons:
        table = Table(title=_title(c, lang), title_justify="left")
        for h, shown in zip(HEADERS, HEADERS_ZH if lang == "zh" else HEADERS):
            table.add_column(shown, justify="right" if h in ("checked", "rel. error") else "left")
        for row, b in zip(_rows(c, lang), c.blocks):
            table.add_row(*row[:-1], Text(row[-1], style=style[b.verdict]))
        parts.append(table)
        for line in _comparison_lines(c, lang):
            parts.append(Text("  " + line))
    parts.append(Text(_summary(report, lang), style="bold red" if not report.ok else
                      "bold yellow" if report.inconclusive else "bold green"))
    return Group(*parts)


def print_report(report: Report, *, json_output: bool = False, file=None, lang: str = "en") -> None:
    """Print ``report`` to ``file`` (stdout): JSON, a rich table on a color terminal, else plain text."""
    file = file or sys.stdout
    if json_output:
        file.write(report.to_json() + "\n")
        return
    if file.isatty() and "NO_COLOR" not in os.environ:
        from rich.console import Console

        Console(file=file).print(render_rich(report, lang))
        return
    file.write(render_text(report, lang))
