"""What a first run (empty cache) reuses to stay fast, and that it reuses only what is its own:
the formulas printed when the store was written (derive.stored.with_printed) are given back for
the very objects read with them and agree with printing them afresh; derive's own process hands
its long-lived objects to gc.freeze, a program that calls ``main`` keeps its collector as it was."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import sympy

from derive import printing, stored

pytestmark = pytest.mark.usefixtures("shared_derivations")

ROOT = Path(__file__).resolve().parent.parent
PRINTERS = {"text": printing._text, "latex": printing._latex}


@pytest.mark.parametrize("kind, name", [("derivation", "sigmoid-sum"), ("derivation", "mlp"),
                                        ("graph", "logistic")])
def test_every_shipped_printing_is_what_printing_afresh_gives(kind, name):
    # read again from the file: objects of their own, printed here without the shipped entries
    assert stored.read(kind, name) is not None, "run `python -m derive.shipped`"
    raw, index, start = stored._file()
    offset, length = index[f"{kind} {name}"]
    with sympy.evaluate(False):
        _, entries = pickle.loads(raw[start + offset:start + offset + length])
    assert len(entries) > 20
    for printer, expr, partial, order, (evaluate, distribute), printed in entries:
        with sympy.evaluate(evaluate), sympy.core.parameters.distribute(distribute):
            assert PRINTERS[printer](expr, partial, order) == printed, "run `python -m derive.shipped`"


def test_shipped_printing_is_given_back_for_the_same_objects_only():
    d = stored.read("derivation", "sigmoid-sum")
    step = next(s for s in d.steps if isinstance(getattr(s, "rhs", None), sympy.Add))
    key = ("text", id(step.rhs), d.partial, id(step.order), (True, True))
    assert printing._PRINTED[key][0] is step.rhs
    shipped = printing._PRINTED[key][2]
    assert printing.text(step.rhs, partial=d.partial, order=step.order) == shipped
    # an equal formula that is another object is printed afresh (a planted entry shows which)
    twin = sympy.Add(*step.rhs.args, evaluate=False)
    assert twin == step.rhs and twin is not step.rhs
    planted = printing._PRINTED[key] = (step.rhs, step.order, "planted")
    try:
        assert printing.text(step.rhs, partial=d.partial, order=step.order) == "planted"
        assert printing.text(twin, partial=d.partial, order=step.order) == printing._text(twin, d.partial, step.order)
    finally:
        printing._PRINTED[key] = (planted[0], planted[1], shipped)


FREEZES = """
import gc, sys
from derive.cli import main
sys.argv = ["derive", *sys.argv[1:]]
try:
    main(%s)
except SystemExit:
    pass
print(gc.get_freeze_count() > 0)
"""


@pytest.mark.parametrize("argv, frozen", [(None, True), (["--version"], False)])
def test_only_derives_own_process_freezes_its_objects(argv, frozen):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", FREEZES % (argv,), "--version"], capture_output=True,
                          text=True, env=env, check=True)
    assert done.stdout.splitlines()[-1] == str(frozen)
