"""Checking several model files, one row per file: ``derive check-grad a.py b.py --summary``.

Each file runs in its own process (``numeric.isolate``), so a file that hangs, exits or crashes
is one row that did not pass, never the end of the run. The rows render as an aligned table,
CSV or JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from derive.errors import DeriveError
from derive.summary import FORMATS, aligned, render_rows

from ..isolate import DEFAULT_MEMORY, DEFAULT_TIMEOUT, FileProblem, IsolationBug, check_file

__all__ = ["Outcome", "check_files", "outcome_of", "render_summary", "summary_status", "SUMMARY_FORMATS"]

SUMMARY_FORMATS = FORMATS
COLUMNS = ("file", "verdict", "block", "hint")
# The table in Chinese (``--lang zh``); CSV and JSON are for programs and stay English.
COLUMNS_ZH = ("文件", "结论", "参数块", "提示")
VERDICTS_ZH = {"pass": "通过", "inconclusive": "无法判定", "fail": "不通过", "bad file": "文件有误", "timeout": "超时",
               "exited": "中途退出", "crashed": "崩溃", "out of memory": "内存不足", "stray thread": "残留线程",
               "internal error": "内部错误"}


@dataclass
class Outcome:
    """One file's row in a summary of several.

    Attributes
    ----------
    file : str
        The path as given.
    verdict : str
        One of {"pass", "inconclusive", "fail", "bad file", "timeout", "exited", "crashed",
        "out of memory", "stray thread", "internal error"}.
    block : str or None
        The first failing block ("W1", or "grad: W1" when a file has several comparisons).
    hint : str
        The failing block's hint, or the one line that says what the file did.
    report : Report or None
        When the check ran.
    hint_zh : str or None
        The failing block's hint in Chinese (None: as ``hint``).
    """

    file: str
    verdict: str
    block: Optional[str]
    hint: str
    report: object = None
    hint_zh: Optional[str] = None

    @property
    def status(self) -> int:
        """The exit status this file alone would give: 0, 1 (the check found a problem), 2, 70."""
        return {"pass": 0, "inconclusive": 0, "fail": 1, "internal error": 70}.get(self.verdict, 2)


def outcome_of(path, report=None, error: Optional[BaseException] = None) -> Outcome:
    """The summary row of one file from its report, or from the error that ended its check."""
    if error is not None:
        verdict = error.kind if isinstance(error, FileProblem) else (
            "internal error" if isinstance(error, IsolationBug) else "bad file")
        zh = getattr(error, "zh", None)
        return Outcome(str(path), verdict, None, " ".join(str(error).split()), hint_zh=" ".join(zh.split()) if zh else None)
    failing = [(c, b) for c in report.comparisons for b in c.blocks if b.verdict == "fail"]
    if not failing:
        verdict = "inconclusive" if report.inconclusive else "pass"
        return Outcome(str(path), verdict, None, "", report)
    c, b = failing[0]
    block = b.name if len(report.comparisons) == 1 else f"{c.title}: {b.name}"
    return Outcome(str(path), "fail", block, " ".join((b.hint or "").split()), report,
                   " ".join(b.hint_zh.split()) if b.hint_zh else None)


def check_files(paths, *, timeout: Optional[float] = DEFAULT_TIMEOUT, memory: Optional[int] = DEFAULT_MEMORY,
                progress: Optional[Callable[[str], None]] = None, **options) -> Iterator[Outcome]:
    """Check each file in its own process and yield its row, in the order given.

    Parameters
    ----------
    paths : iterable of str or path-like
    timeout, memory, progress, **options
        As for ``numeric.isolate.check_file``; ``progress`` messages are prefixed with the file.

    Yields
    ------
    Outcome
    """
    for path in paths:
        def note(text, _path=path):
            if progress is not None:
                progress(f"{_path}: {text}")

        try:
            report = check_file(path, timeout=timeout, memory=memory, progress=note, **options)
        except (DeriveError, IsolationBug) as exc:
            yield outcome_of(path, error=exc)
            continue
        for text in report.notes:
            note(text)
        yield outcome_of(path, report)


def summary_status(outcomes) -> int:
    """The run's exit status: 0 every file passes (inconclusive counts as passing), 70 derive
    failed on some file (a bug), else 1 when any file failed, hung, exited, crashed or did not load."""
    statuses = {o.status for o in outcomes}
    if 70 in statuses:
        return 70
    return 1 if statuses - {0} else 0


def render_summary(outcomes, fmt: str = "table", lang: str = "en") -> str:
    """The rows as text.

    Parameters
    ----------
    outcomes : list of Outcome
    fmt : {"table", "csv", "json"}
        "table": aligned columns with a count line; "csv": a header row then one row per file;
        "json": a list of ``{"file", "verdict", "block", "hint"}`` (as ``derive check-steps
        --summary json``; the exit status says whether all pass).
    lang : {"en", "zh"}
        The table's language (CSV and JSON are English either way).
    """
    if lang == "zh" and fmt == "table":
        return _table_zh(outcomes)
    rows = [dict(zip(COLUMNS, (o.file, o.verdict, o.block, o.hint or None))) for o in outcomes]
    text = render_rows(rows, COLUMNS, fmt)
    if fmt != "table":
        return text
    lines = [text.rstrip("\n")]
    passed = sum(o.status == 0 for o in outcomes)
    lines.append("")
    lines.append(f"{passed} of {len(outcomes)} file{'' if len(outcomes) == 1 else 's'} pass")
    return "\n".join(lines) + "\n"


def _table_zh(outcomes) -> str:
    """The table of ``render_summary`` in Chinese, aligned by display width (a Chinese character
    takes two columns)."""
    rows = [list(COLUMNS_ZH)] + [[o.file, VERDICTS_ZH[o.verdict], o.block or "", o.hint_zh or o.hint or ""]
                                 for o in outcomes]
    lines = aligned(rows)
    passed = sum(o.status == 0 for o in outcomes)
    lines += ["", f"{len(outcomes)} 个文件中有 {passed} 个通过"]
    return "\n".join(lines) + "\n"
