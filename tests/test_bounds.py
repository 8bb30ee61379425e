"""Hostile option values and inputs refused before any work: one line on stderr, exit 2, and no
allocation of what the values ask for (each case here would otherwise hang or run out of memory)."""

from __future__ import annotations

import resource

import pytest

from conftest import run


@pytest.mark.parametrize("argv, words", [
    (("train", "logistic", "--epochs", "99999999999999999999999"), "at most 100,000"),
    (("train", "mlp", "--hidden", "100000000"), "too large to train"),
    (("train", "deep", "--layers", "64,1000000,1000000,10"), "too large to train"),
    (("train", "rnn", "--seq-length", "1000000000"), "fewer than 20 windows"),
    (("check-steps", "/dev/zero"), "not a regular file"),
    (("expr", "0**x", "--wrt", "x"), "0 to a variable power"),
])
def test_refused_in_one_line_without_the_work(argv, words):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out, err = run(*argv)
    assert code == 2 and words in err and err.count("\n") == 1, err
    # nothing of the requested size was allocated (the smallest request is 8 GB)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 500_000   # KiB


def test_standard_input_is_read_to_a_bound():
    code, _, err = run("check-steps", "-", input=b"\0" * 1_100_000)
    assert code == 2 and "more than 1,048,576 bytes" in err and err.count("\n") == 1
