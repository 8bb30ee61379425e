"""What a user of a command-line tool expects: help when nothing is asked, a suggestion for a
typo, and the output format that the file name asks for."""

import json

import pytest
import sympy as sp

import derive
from conftest import load, run

pytestmark = pytest.mark.usefixtures("shared_derivations")  # each derivation built once


def test_bare_derive_prints_the_help_with_every_model():
    code, out, err = run()
    assert code == 0 and err == ""
    assert out.startswith("Usage: derive") and out.count("\n") > 20
    for name in derive.model_names():
        assert f"\n  {name} " in out


@pytest.mark.parametrize("typo, meant", [("logistc", "logistic"), ("tran", "train"), ("softmx", "softmax")])
def test_a_typo_gets_a_suggestion(typo, meant):
    code, out, err = run(typo)
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"did you mean {meant!r}" in err


def test_no_suggestion_for_something_unlike_any_name():
    code, _, err = run("zzzzqqq")
    assert code == 2 and "did you mean" not in err


@pytest.mark.parametrize("suffix, check", [
    (".md", lambda text: text.startswith("## ") and "$$" in text),
    (".tex", lambda text: "\\begin{align*}" in text),
    (".json", lambda text: json.loads(text)["model"] == "linear"),
    (".txt", lambda text: text.startswith("Linear regression")),
])
def test_the_output_format_follows_the_file_name(tmp_path, suffix, check):
    path = tmp_path / f"out{suffix}"
    code, out, err = run("linear", "--show-steps", "-o", path)
    assert code == 0, err
    assert check(path.read_text())


def test_an_explicit_format_wins_over_the_file_name(tmp_path):
    path = tmp_path / "out.tex"
    code, _, err = run("linear", "--format", "json", "-o", path)
    assert code == 0, err
    assert json.loads(path.read_text())["model"] == "linear"


@pytest.mark.parametrize("argv", [("linear", "-o", "{tmp}/out.pdf"), ("notes", "-o", "{tmp}/notes.json"),
                                  ("expr", "x**2", "-o", "{tmp}/d.docx")])
def test_a_file_derive_cannot_write_is_refused_before_anything_is_written(tmp_path, argv):
    argv = [a.format(tmp=tmp_path) for a in argv]
    code, out, err = run(*argv)
    assert code == 2 and err.count("\n") == 1 and "cannot write" in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("argv", [("train", "linear", "--epochs", "2", "--quiet"), ("check-grad", "--model", "linear")])
def test_format_json_and_its_short_form_agree(argv):
    a, b = run(*argv, "--format", "json"), run(*argv, "--json")
    assert a.code == b.code == 0
    assert json.loads(a.out) == json.loads(b.out)


def test_every_file_written_is_named_on_stderr(tmp_path):
    saved, shown = tmp_path / "p.npz", tmp_path / "d.md"
    code, _, err = run("train", "linear", "--epochs", "2", "--quiet", "--save", saved)
    assert code == 0 and f"derive: wrote {saved}" in err and saved.exists()
    code, _, err = run("linear", "-o", shown)
    assert code == 0 and err == f"derive: wrote {shown}\n"


@pytest.mark.parametrize("name", ["cross-entropy", "softmax", "mle-gaussian", "deep"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_text_output_wraps_and_never_cuts(name, lang):
    """At any width, the only "…" are those of the mathematics (x₁, …, xₙ): the same number as
    when the page is wide enough for every line."""
    d = derive.derivation(name)
    wide = d.render("text", lang=lang, width=2000).count("…")
    for width in (60, 110):
        assert d.render("text", lang=lang, width=width).count("…") == wide


def test_columns_sets_the_text_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    narrow = run("mle-gaussian", "--show-steps").out
    monkeypatch.setenv("COLUMNS", "200")
    wide = run("mle-gaussian", "--show-steps").out
    from rich.cells import cell_len   # terminal cells: a combining hat takes none

    assert max(map(cell_len, narrow.splitlines())) <= 60 < max(map(cell_len, wide.splitlines()))


@pytest.mark.parametrize("text, wrt", [
    ("-x*log(x)", "x"),                              # o: click read "-o g(x)" and wrote a file
    ("-x*tanh(x)", "x"),                             # h: the help option
    ("-(y*log(a) + (1 - y)*log(1 - a))", "a"),
])
def test_an_expression_starting_with_minus_is_the_expression_whatever_its_letters(text, wrt, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (("expr", text, "--wrt", wrt, "--format", "json"),
                 ("expr", "--wrt", wrt, "--format", "json", text)):
        code, out, err = run(*argv)
        assert code == 0 and err == "", err
        result = json.loads(out)["results"][0]
        of, var = load(result["of"]), load(result["wrt"])
        typed = sp.sympify(text)
        assert of - typed.xreplace({s: sp.Symbol(s.name, real=True) for s in typed.free_symbols}) == 0
        assert var.name == wrt and sp.simplify(load(result["value"]) - sp.diff(of, var)) == 0
    assert list(tmp_path.iterdir()) == []             # no file written on the side


def test_an_unknown_option_is_still_named_after_an_expression_starting_with_minus():
    code, out, err = run("expr", "-x^2", "--wrtt", "x")
    assert code == 2 and "--wrtt" in err and err.count("\n") == 1


@pytest.mark.parametrize("text, expected", [
    (r"\frac{1}{x}", 1 / sp.Symbol("x", real=True)),
    (r"\sin \pi/2 + x", sp.Symbol("x", real=True) + 1),  # sin(π/2), as TeX users mean it
])
def test_latex_typed_without_its_option_is_refused_with_the_option_to_add(text, expected):
    code, out, err = run("expr", text, "--wrt", "x")
    assert code == 2 and out == "" and err.count("\n") == 1 and "--from-latex" in err
    assert "line continuation" not in err               # Python's tokenizer is not the user's business
    code, out, err = run("expr", text, "--wrt", "x", "--from-latex", "--format", "json")
    result = json.loads(out)["results"][0]
    x = sp.Symbol("x", real=True)
    assert code == 0 and sp.simplify(load(result["value"]) - sp.diff(expected, x)) == 0
