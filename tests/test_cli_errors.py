"""One error policy for every command: bad arguments or input print one line on stderr
(``derive: error: …``) and exit 2, never a traceback; ``derive --debug`` shows the traceback.

The CLI runs as a subprocess (``python -m derive``) so that stderr and the exit status are the
real ones. The runs are independent, so they are started two at a time up front.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from derive.cli import cli

PWNED = Path("/tmp/derive_pwned")
MISSING_DIR = "/nonexistent-derive-folder/sub"

# A bad-argument case for every command; a command added later is covered by the generic
# unknown-option case until it gets its own.
COMMAND_CASES = {
    "list": [["list", "--format", "xml"]],
    "expr": [["expr", "x", "--lang", "fr"]],
    "check-grad": [["check-grad", "/nonexistent/model.py"], ["check-grad", "--mode", "bogus"]],
    "check-steps": [["check-steps", "/nonexistent/derivation.md"],
                    ["check-steps", "x.md", "--summary", "xml"]],
    "notes": [["notes", "--models", "no-such-model"], ["notes", "--format", "text"]],
    "train": [["train", "no-such-model"], ["train", "logistic", "--data", "/nonexistent/d.csv"],
              ["train", "logistic", "--lr", "abc"]],
}

BAD = {
    "unknown model": ["no-such-model"],
    "model bad format": ["logistic", "--format", "xml"],
    "model bad option value": ["logistic", "--features", "0"],
    "model -o missing folder": ["logistic", "-o", f"{MISSING_DIR}/out.txt"],
    "expr bad format": ["expr", "x**2", "--format", "xml"],
    "expr -o missing folder": ["expr", "x**2", "-o", f"{MISSING_DIR}/out.txt"],
    "expr empty": ["expr", ""],
    "expr blank": ["expr", "   "],
    "expr syntax error": ["expr", "(x+"],
    "expr unknown function": ["expr", "foo(x)"],
    "expr wrt not in expression": ["expr", "x*y", "--wrt", "z"],
    "expr several variables, no wrt": ["expr", "x*y"],
    "expr no variable": ["expr", "2+3"],
    "expr at unknown name": ["expr", "x**2", "--at", "q=1"],
    "expr at not a number": ["expr", "x**2", "--at", "x=abc"],
    "expr at missing value": ["expr", "x*y", "--wrt", "x", "--at", "x=1"],
    "expr at malformed": ["expr", "x**2", "--at", "x"],
    "expr latex syntax error": ["expr", "--from-latex", r"\frac{1}{"],
    "expr latex unsupported": ["expr", "--from-latex", r"\int x dx"],
    "inject os.system": ["expr", f"__import__('os').system('touch {PWNED}')"],
    "inject dunder attribute": ["expr", "x.__class__.__bases__"],
    "inject eval": ["expr", "eval('1')"],
    "inject lambda": ["expr", "(lambda: 0)()"],
    "inject latex input": ["expr", "--from-latex", r"\input{/etc/passwd}"],
    "exponent bomb": ["expr", "2**2**2**2**2**30"],
    "exponent bomb caret": ["expr", "x^(10^10^10)"],
    "exponent bomb latex": ["expr", "--from-latex", "2^{2^{2^{2^{2^{30}}}}}"],
    "huge power of a variable": ["expr", "x**(10**9)"],
}
for name in sorted(cli.commands):
    for i, args in enumerate(COMMAND_CASES.get(name, [])):
        BAD[f"{name} bad argument {i}"] = args
    BAD[f"{name} unknown option"] = [name, "--no-such-option"]


def _run(args, env_extra=None, timeout=60):
    env = {**os.environ, "DERIVE_NO_CACHE": "1", "NO_COLOR": "1"}
    env.pop("DERIVE_DEBUG", None)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "derive", *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd="/tmp")


@pytest.fixture(scope="module")
def runs():
    if PWNED.exists():
        PWNED.unlink()
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(_run, args) for name, args in BAD.items()}
        return {name: f.result() for name, f in futures.items()}


def _assert_one_line_exit_2(p):
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("derive: error: ") and len(lines[0]) > 20, p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_exit_2(runs, case):
    _assert_one_line_exit_2(runs[case])


def test_every_command_has_a_bad_argument_case():
    assert {"expr", "list"} <= set(cli.commands)
    for name in cli.commands:
        assert f"{name} unknown option" in BAD


def test_messages_name_the_problem(runs):
    assert "foo" in runs["expr unknown function"].stderr
    assert "z" in runs["expr wrt not in expression"].stderr
    assert "--wrt" in runs["expr several variables, no wrt"].stderr
    assert "missing: y" in runs["expr at missing value"].stderr
    assert "no-such-model" in runs["unknown model"].stderr
    assert "exponent" in runs["exponent bomb"].stderr


def test_code_injection_runs_nothing(runs):
    assert runs["inject os.system"].returncode == 2
    assert not PWNED.exists()


def test_exponent_bombs_are_refused_at_once():
    """Refused by the parser's size guards; the timeout is only a guard against a hang."""
    for args in (BAD["exponent bomb"], BAD["exponent bomb latex"]):
        _assert_one_line_exit_2(_run(args, timeout=30))


def test_output_into_a_missing_folder_leaves_nothing(tmp_path):
    target = tmp_path / "missing" / "out.txt"
    _assert_one_line_exit_2(_run(["expr", "x**2", "-o", str(target)]))
    assert list(tmp_path.iterdir()) == []


def test_output_into_an_unwritable_location_leaves_nothing(tmp_path):
    if os.geteuid() == 0:
        # root writes through permission bits; /proc accepts no new files
        folder, before = Path("/proc"), None
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
        before = []
    try:
        target = folder / "derive-out.txt"
        _assert_one_line_exit_2(_run(["expr", "x**2", "-o", str(target)]))
        assert not target.exists()
        if before is not None:
            assert list(folder.iterdir()) == before  # no temporary file left behind
    finally:
        if before is not None:
            folder.chmod(0o700)


def test_failed_input_writes_no_output_file(tmp_path):
    target = tmp_path / "out.txt"
    _assert_one_line_exit_2(_run(["expr", "foo(x)", "-o", str(target)]))
    assert list(tmp_path.iterdir()) == []


def test_a_good_run_writes_only_the_target(tmp_path):
    target = tmp_path / "out.md"
    p = _run(["expr", "x**2", "--format", "markdown", "-o", str(target)])
    assert p.returncode == 0 and p.stderr == ""
    assert [q.name for q in tmp_path.iterdir()] == ["out.md"]
    assert "2 x" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how):
    if how == "flag":
        p = _run(["--debug", "expr", "("])
    else:
        p = _run(["expr", "("], env_extra={"DERIVE_DEBUG": "1"})
    assert p.returncode == 2
    assert "Traceback (most recent call last)" in p.stderr
    assert "DeriveError" in p.stderr
    assert p.stderr.rstrip().splitlines()[-1].startswith("derive: error: ")
