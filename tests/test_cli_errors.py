"""One error policy for every command: bad arguments or input print one line on stderr
(``derive: error: …``), nothing on stdout, and exit 2, never a traceback; ``derive --debug`` shows
the traceback.

The cases run in this process through ``derive.cli.main``, the console entry point, so that the
policy itself (not click's test runner) is what answers. Two runs as real processes check that the
console script and ``python -m derive`` reach it with the real stderr and exit status.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Outcome, run
from derive.cli import cli

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
    "model at unknown name": ["chain-rule", "--at", "a=1,b=2,q=3"],
    "model at not a number": ["chain-rule", "--at", "a=1,b=two,c=3"],
    "model at missing value": ["chain-rule", "--at", "a=1,b=2"],
    "expr bad format": ["expr", "x**2", "--format", "xml"],
    "expr -o missing folder": ["expr", "x**2", "-o", f"{MISSING_DIR}/out.txt"],
    "expr empty": ["expr", ""],
    "expr blank": ["expr", "   "],
    "expr syntax error": ["expr", "(x+"],
    "expr unknown function": ["expr", "foo(x)"],
    "expr wrt not in expression": ["expr", "x*y", "--wrt", "z"],
    "expr several variables, no wrt": ["expr", "x*y"],
    "expr constant, --wrt not a name": ["expr", "2+3", "--wrt", "if"],
    "expr at unknown name": ["expr", "x**2", "--at", "q=1"],
    "expr at not a number": ["expr", "x**2", "--at", "x=abc"],
    "expr at missing value": ["expr", "x*y", "--wrt", "x", "--at", "x=1"],
    "expr at malformed": ["expr", "x**2", "--at", "x"],
    "expr latex syntax error": ["expr", "--from-latex", r"\frac{1}{"],
    "expr latex unsupported": ["expr", "--from-latex", r"\int x dx"],
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

# What the one line must name, where the case has a single culprit.
NAMED = {
    "unknown model": ["no-such-model", "logistic"],
    "model at unknown name": ["q is not a variable"],
    "model at not a number": ["two"],
    "model at missing value": ["missing: c"],
    "expr unknown function": ["foo"],
    "expr wrt not in expression": ["z"],
    "expr several variables, no wrt": ["--wrt"],
    "expr at missing value": ["missing: y"],
    "exponent bomb": ["exponent"],
}


@pytest.fixture(autouse=True)
def no_debug(monkeypatch):
    """A developer's DERIVE_DEBUG=1 would turn every one-line error into a traceback."""
    monkeypatch.delenv("DERIVE_DEBUG", raising=False)


def assert_one_line_exit_2(outcome):
    code, out, err = outcome
    assert code == 2, (code, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("derive: error: ") and len(lines[0]) > 20, err
    assert err.endswith("\n")
    assert out == ""


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line_and_exit_2(case):
    outcome = run(*BAD[case])
    assert_one_line_exit_2(outcome)
    for word in NAMED.get(case, ()):
        assert word in outcome.err, (case, word)


def test_every_command_has_a_bad_argument_case():
    assert {"expr", "list"} <= set(cli.commands)
    for name in cli.commands:
        assert f"{name} unknown option" in BAD


def test_a_point_where_relu_meets_a_complex_value_is_bad_input():
    outcome = run("expr", "relu(log(y))", "--at", "y=-2")
    assert_one_line_exit_2(outcome)
    assert "not defined at y = −2" in outcome.err


def test_relu_of_something_never_real_is_bad_input():
    outcome = run("expr", "relu(log(-exp(x)))")
    assert_one_line_exit_2(outcome)
    assert "never a real number" in outcome.err


def test_code_injection_runs_nothing(tmp_path):
    sentinel = tmp_path / "pwned"
    assert_one_line_exit_2(run("expr", f"__import__('os').system('touch {sentinel}')"))
    assert not sentinel.exists()


@pytest.mark.parametrize("command", [["logistic"], ["expr", "x**2"]], ids=["model", "expr"])
def test_output_into_a_missing_folder_leaves_nothing(tmp_path, command):
    target = tmp_path / "missing" / "out.txt"
    assert_one_line_exit_2(run(*command, "-o", target))
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
        assert_one_line_exit_2(run("expr", "x**2", "-o", target))
        assert not target.exists()
        if before is not None:
            assert list(folder.iterdir()) == before  # no temporary file left behind
    finally:
        if before is not None:
            folder.chmod(0o700)


def test_failed_input_writes_no_output_file(tmp_path):
    target = tmp_path / "out.txt"
    assert_one_line_exit_2(run("expr", "foo(x)", "-o", target))
    assert list(tmp_path.iterdir()) == []


def test_a_good_run_writes_only_the_target(tmp_path):
    target = tmp_path / "out.md"
    code, out, err = run("expr", "x**2", "--format", "markdown", "-o", target)
    assert code == 0 and out == "" and err == f"derive: wrote {target}\n"
    assert [q.name for q in tmp_path.iterdir()] == ["out.md"]
    assert "2 x" in target.read_text(encoding="utf-8")


@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(how, monkeypatch):
    if how == "flag":
        code, _, err = run("--debug", "expr", "(")
    else:
        monkeypatch.setenv("DERIVE_DEBUG", "1")
        code, _, err = run("expr", "(")
    assert code == 2
    assert "Traceback (most recent call last)" in err
    assert "DeriveError" in err
    assert err.rstrip().splitlines()[-1].startswith("derive: error: ")


# Real processes ----------------------------------------------------------------------------------

def _process(argv, timeout=60):
    env = {**os.environ, "DERIVE_NO_CACHE": "1", "NO_COLOR": "1"}
    env.pop("DERIVE_DEBUG", None)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, cwd="/tmp")
    return Outcome(p.returncode, p.stdout, p.stderr)


def test_python_m_derive_refuses_an_exponent_bomb_at_once():
    """Refused by the parser's size guards; the timeout only stops a hang."""
    outcome = _process([sys.executable, "-m", "derive", *BAD["exponent bomb"]], timeout=30)
    assert_one_line_exit_2(outcome)
    assert "exponent" in outcome.err


def test_console_script_reports_an_unknown_model():
    script = shutil.which("derive", path=str(Path(sys.executable).parent)) or shutil.which("derive")
    if script is None:
        pytest.skip("the derive console script is not installed (pip install -e .)")
    outcome = _process([script, "no-such-model"])
    assert_one_line_exit_2(outcome)
    assert "no-such-model" in outcome.err and "logistic" in outcome.err
