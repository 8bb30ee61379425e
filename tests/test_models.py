"""What every model keeps, with its option variants: each shown line verified, each checkable
result equal to ``sympy.diff`` of what it differentiates, every format and both languages rendered
without SymPy's internal objects, and standalone LaTeX that pdflatex compiles.

The model-specific oracles (the notes' numbers and forms, NumPy, finite differences) are in
test_core.py, test_models_stats.py and test_models_network.py."""

from __future__ import annotations

import json
import re

import pytest
import sympy as sp

import derive
from conftest import assert_same_values, compile_tex, load, require_tool, run

pytestmark = pytest.mark.usefixtures("shared_derivations")

CASES = [(name, ()) for name in derive.model_names()] + [
    ("sigmoid-sum", ("--activation", "relu")),
    ("mlp", ("--activation", "tanh")),
    ("mlp", ("--activation", "relu")),
]
IDS = [" ".join((name, *opts)) for name, opts in CASES]
FORMATS = ["text", "latex", "markdown", "json"]
# What a reader must never see: SymPy's internal objects, or a crash.
FORBIDDEN = ("KroneckerDelta", "Piecewise", "Product(", "DiagMatrix", "Traceback")
# A step function: the model says it has no gradient, so nothing to check against sympy.diff.
NO_GRADIENT = {"perceptron"}


def options(opts: tuple) -> dict:
    return {opts[i].lstrip("-").replace("-", "_"): opts[i + 1] for i in range(0, len(opts), 2)}


@pytest.mark.parametrize("name, opts", CASES, ids=IDS)
def test_every_line_verifies_and_every_result_is_sympy_diff(name, opts):
    d = derive.model(name, **options(opts)).derivation()
    d.verify()
    assert len(d.lines) >= 3
    assert all(s.verified in ("symbolic", "numeric", "definition") for s in d.lines)
    code, out, err = run(name, "--show-steps", "--format", "json", *opts)
    assert code == 0, err
    data = json.loads(out)
    assert data["model"] == name and data["steps"] and data["results"]
    checked = 0
    for r in data["results"]:
        forms = {key: load(r[key]) for key in ("of", "wrt", "value") if key in r}  # SymPy's names suffice
        if "of" not in forms:
            continue
        of, wrt, value = forms["of"], forms["wrt"], forms["value"]
        assert "sigmoid" not in r["of"], "a checkable form uses SymPy's built-ins only"
        assert isinstance(wrt, sp.Symbol) and wrt in of.free_symbols, r["name"]
        assert not of.has(sp.Sum, sp.Indexed), f"{r['name']}: a checkable form is written out at concrete sizes"
        diff = sp.diff(of, wrt)
        if diff != value:  # not the same tree: compare the two exact expressions at random points
            assert_same_values(diff, value)
        checked += 1
    assert checked >= (0 if name in NO_GRADIENT else 1)


@pytest.mark.parametrize("name, opts", CASES, ids=IDS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_without_internal_objects(name, opts, fmt):
    code, out, err = run(name, "--show-steps", "--format", fmt, *opts)
    assert code == 0 and err == "", err
    assert len(out) > 800
    for word in FORBIDDEN:
        assert word not in out, (fmt, word)
    if fmt == "json":
        data = json.loads(out)
        assert data["steps"] and data["results"]


@pytest.mark.parametrize("name, opts", CASES, ids=IDS)
def test_chinese_text_renders(name, opts):
    code, out, err = run(name, "--show-steps", "--lang", "zh", *opts)
    assert code == 0, err
    assert re.search(r"[\u4e00-\u9fff]", out)
    for word in FORBIDDEN:
        assert word not in out, word


@pytest.mark.parametrize("name, opts", CASES, ids=IDS)
def test_standalone_latex_compiles(name, opts, tmp_path):
    require_tool("pdflatex")
    code, tex, err = run(name, "--show-steps", "--format", "latex", "--standalone", *opts)
    assert code == 0, err
    compile_tex("pdflatex", tex, tmp_path, passes=1)
