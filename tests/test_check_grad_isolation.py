"""check-grad runs the user's file in its own process: whatever the file does (sleep, loop,
exit, raise BaseException, leave a thread running, allocate, crash, print) ends as one line and
the right exit status, never as a pass that checked nothing; several files give one row each.
Oracles: what each tiny file in tests/checkgrad_cases/hostile does by construction, and the
single-file verdicts of files checked in-process by the existing tests."""

import csv
import io
import json
import os
from pathlib import Path

import pytest

from conftest import run
from numeric.check.summary import check_files, summary_status
from numeric.isolate import IsolationBug, check_file, parse_memory

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "checkgrad_cases"
HOSTILE = CASES / "hostile"


def hostile(name):
    return str(HOSTILE / f"{name}.py")


def assert_one_line_error(outcome, expected, code=2):
    assert outcome.code == code
    assert outcome.out == ""
    # progress lines may come first; the error is one line, the last
    lines = outcome.err.splitlines()
    errors = [line for line in lines if line.startswith("derive: error: ")]
    assert errors == lines[-1:], outcome.err
    assert expected in errors[0]
    assert "Traceback" not in outcome.err


@pytest.mark.parametrize(
    "name, expected",
    [
        ("sleep_in_loss", "sleep_in_loss.py: still running after 2 s (--timeout): stopped"),
        ("loop_at_top", "loop_at_top.py: still running after 2 s"),
        ("os_exit_at_top", "os_exit_at_top.py: exited with status 0 before the check finished"),
        ("os_exit_in_loss", "os_exit_in_loss.py: exited with status 0 before the check finished"),
        ("sys_exit_at_top", "sys_exit_at_top.py: line 4: SystemExit"),
        ("sys_exit_in_grad", "line 14 (in grad()) raised SystemExit(0)"),
        ("keyboard_interrupt_in_loss", "line 8 (in loss()) raised KeyboardInterrupt"),
        ("generator_exit_in_grad", "line 12 (in grad()) raised GeneratorExit: closed"),
        ("base_exception_at_top", "line 8: Stop: not an Exception"),
        ("stray_thread", "started a thread that was still running when the check ended (busy-worker"),
        ("segfault", "segfault.py: the process running it crashed (SIGSEGV)"),
    ],
)
def test_a_misbehaving_file_is_one_line_and_exit_2(name, expected):
    assert_one_line_error(run("check-grad", hostile(name), "--timeout", "2"), expected)


def test_the_memory_limit_is_what_stops_a_large_allocation():
    # The file reserves 2 GiB with np.zeros, which touches no page: with room for it the file is
    # checked and passes, so the failure under 1 GiB is the limit's doing.
    assert_one_line_error(run("check-grad", hostile("big_allocation"), "--memory", "1G"),
                          "big_allocation.py: ran out of memory (limit 1 GiB; --memory to change it)")
    code, out, _ = run("check-grad", hostile("big_allocation"), "--memory", "8G")
    assert code == 0 and out.rstrip().endswith("OK: every block passes")


def test_what_the_file_prints_never_reaches_the_report():
    code, out, _ = run("check-grad", hostile("prints_to_stdout"), "--json")
    assert code == 0 and "NOISE" not in out
    report = json.loads(out)
    assert report["ok"] is True and [b["name"] for b in report["comparisons"][0]["blocks"]] == ["w"]


def test_a_file_that_closes_its_stdout_is_still_reported():
    code, out, _ = run("check-grad", hostile("closes_stdout"))
    assert code == 0 and out.rstrip().endswith("OK: every block passes")


def test_what_cannot_be_a_model_file_is_refused_unread(tmp_path):
    assert_one_line_error(run("check-grad", "/dev/zero"), "/dev/zero: is not a regular file")
    fifo = tmp_path / "model.py"
    os.mkfifo(fifo)                          # opening it would wait for a writer forever
    assert_one_line_error(run("check-grad", fifo), "is not a regular file")
    huge = tmp_path / "huge.py"
    with open(huge, "wb") as f:
        f.truncate(17 * 2 ** 20)             # sparse: 17 MiB long, no disk used
    assert_one_line_error(run("check-grad", huge), "is 17,825,792 bytes")


@pytest.mark.parametrize("value", ["lots", "10M", "-1G"])
def test_bad_memory_values_are_usage_errors(value):
    code, out, err = run("check-grad", str(ROOT / "examples" / "logistic_numpy.py"), "--memory", value)
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "--memory" in err


def test_memory_sizes_are_binary():
    assert parse_memory("512M") == 512 * 2 ** 20
    assert parse_memory("1.5GiB") == 3 * 2 ** 29
    assert parse_memory("none") is None


def test_a_failure_of_derive_in_the_child_is_a_bug_not_the_files_fault():
    # max_coords must be an int: the child fails in derive's own code, outside the model file
    with pytest.raises(IsolationBug, match="ValueError"):
        check_file(str(ROOT / "examples" / "logistic_numpy.py"), max_coords="many")
    outcomes = list(check_files([str(ROOT / "examples" / "logistic_numpy.py")], max_coords="many"))
    assert [o.verdict for o in outcomes] == ["internal error"] and summary_status(outcomes) == 70


# --------------------------------------------------------------------------------------------
# Several files: one row each, whatever each one does

FOLDER = {
    str(ROOT / "examples" / "logistic_numpy.py"): ("pass", ""),
    str(CASES / "sign_flip.py"): ("fail", "w"),
    hostile("sleep_in_loss"): ("timeout", ""),
    hostile("sys_exit_in_grad"): ("bad file", ""),
    hostile("segfault"): ("crashed", ""),
    str(CASES / "bad_syntax.py"): ("bad file", ""),
}


@pytest.fixture(scope="module")
def folder_csv():
    return run("check-grad", *FOLDER, "--timeout", "2", "--summary", "csv")


def test_a_folder_gives_one_row_per_file_with_its_verdict(folder_csv):
    code, out, err = folder_csv
    assert code == 1 and "Traceback" not in err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["file"] for r in rows] == list(FOLDER)
    assert [(r["verdict"], r["block"]) for r in rows] == list(FOLDER.values())
    by_file = {r["file"]: r for r in rows}
    assert "sign" in by_file[str(CASES / "sign_flip.py")]["hint"]
    assert "SyntaxError" in by_file[str(CASES / "bad_syntax.py")]["hint"]
    assert "--timeout" in by_file[hostile("sleep_in_loss")]["hint"]


def test_the_folder_summary_as_a_table_and_as_json():
    files = [str(ROOT / "examples" / "logistic_numpy.py"), str(CASES / "sign_flip.py"), hostile("os_exit_in_loss")]
    code, out, _ = run("check-grad", *files, "--summary", "json")
    data = json.loads(out)
    assert code == 1
    assert [(f["verdict"], f["block"]) for f in data] == [("pass", None), ("fail", "w"), ("exited", None)]
    code, out, _ = run("check-grad", *files)             # several files: a table by default
    lines = out.splitlines()
    assert code == 1 and lines[0].split() == ["file", "verdict", "block", "hint"]
    assert len(lines) == 1 + len(files) + 2 and lines[-1] == "1 of 3 files pass"


def test_a_folder_that_passes_exits_0():
    files = [str(ROOT / "examples" / "logistic_numpy.py"), hostile("prints_to_stdout")]
    code, out, _ = run("check-grad", *files, "--summary")
    assert code == 0 and out.splitlines()[-1] == "2 of 2 files pass"


# --------------------------------------------------------------------------------------------
# SymPy-form text goes through derive's safe parser, never sympify

SYMPY_TEXT = '''
import sympy as sp
w, x = sp.symbols("w x", real=True)
loss = (w * x - 1) ** 2
params = {"w": 0.5}
data = {"x": [1.0, -2.0, 3.0]}
grad = {"w": GRAD}
'''


def test_sympy_form_text_is_parsed_safely(tmp_path):
    from derive.errors import DeriveError
    from numeric.check import check_model_file

    path = tmp_path / "model.py"
    path.write_text(SYMPY_TEXT.replace("GRAD", repr("2*x*(w*x - 1)")))      # right: d/dw (wx − 1)²
    assert check_model_file(path).ok
    path.write_text(SYMPY_TEXT.replace("GRAD", repr("x*(w*x - 1)")))        # the 2 is missing
    assert not check_model_file(path).ok
    sentinel = tmp_path / "sentinel"
    path.write_text(SYMPY_TEXT.replace("GRAD", repr(f"__import__('os').system('touch {sentinel}')")))
    with pytest.raises(DeriveError, match=r"model.py: grad\['w'\]"):
        check_model_file(path)
    assert not sentinel.exists()


def test_sigterm_during_a_check_ends_the_file_too():
    import signal
    import subprocess
    import sys

    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "derive", "check-grad", hostile("ready_then_sleep")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    word, pid = proc.stderr.readline().split()           # the file runs in its own process and sleeps
    assert word == "READY" and int(pid) != proc.pid
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and out == "" and "Traceback" not in err
    with pytest.raises(ProcessLookupError):               # the file's process ended with derive
        os.kill(int(pid), 0)
