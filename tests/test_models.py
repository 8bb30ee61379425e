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
from derive.messages import Msg, full_width

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
    assert d.results and d.verify() == len(d.results)   # every line and every result re-checked
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


# -- The student's text reads like the notes ------------------------------------------------------
# Where and how a line was verified stays out of it (shown with verbose, kept apart in the JSON),
# and the Chinese text is all Chinese. Here, beside the other all-model tests, so that the
# derivations are built once.
MODELS = derive.model_names()

# How verification was spoken of before it was flagged: none of it may reach the default text.
CHATTER = re.compile(r"checked (at|on)|checkable form|已在 .* 核对|可用 sympy 验证的形式|nudge f=|dJ/d. at the point")

HAN = r"[\u4e00-\u9fff]"
# Half-width punctuation touching a Chinese character.
HALF_WIDTH = re.compile(rf"{HAN}[,:;()?]|[,:;()?]{HAN}")
# Words of four letters or more that Chinese text may keep: function and proper names, the
# command's own name and flag, and the notes' own English terms (note 000 writes batch, epoch,
# update; note 003 valid, same, full convolutions).
ALLOWED = {
    "sigmoid", "softmax", "tanh", "relu", "leakyrelu", "leaky", "hardsigmoid", "hard", "hessian",
    "sympy", "numpy", "mnist", "logits", "one-hot", "floor", "derive", "verbose", "logistic",
    "batch", "epoch", "update", "valid", "same", "full", "axis", "keepdims", "true", "print",
    "cache", "secant", "logsumexp", "diag",
}


@pytest.fixture(scope="module")
def texts():
    """Each model's step-by-step text in both languages, and verbose in English on one line a row."""
    out = {}
    for name in MODELS:
        d = derive.derivation(name)
        out[name] = {
            "en": d.render("text"),
            "zh": d.render("text", lang="zh", width=2000),
            "verbose": d.render("text", verbose=True, width=2000),
        }
    return out


@pytest.mark.parametrize("name", MODELS)
def test_default_text_has_no_verification_chatter(texts, name):
    for lang in ("en", "zh"):
        found = CHATTER.search(texts[name][lang])
        assert found is None, (lang, found and texts[name][lang][found.start() - 60:found.end() + 20])


@pytest.mark.parametrize("name", MODELS)
def test_default_text_says_once_that_it_was_verified(texts, name):
    """Issue 11, deliver 5: where and how goes to --verbose, but the default output says once that
    every line was verified, with the steps and without them; verbose says it line by line instead."""
    from derive.messages import VERIFIED, VERIFIED_RESULTS

    d = derive.derivation(name)
    results_only = d.render("text", show_steps=False, width=2000)
    for text, lang, said, other in ((texts[name]["en"], "en", VERIFIED, VERIFIED_RESULTS),
                                    (texts[name]["zh"], "zh", VERIFIED, VERIFIED_RESULTS),
                                    (results_only, "en", VERIFIED_RESULTS, VERIFIED)):
        flat = " ".join(text.split())
        assert flat.count(said.en if lang == "en" else said.zh) == 1, (lang, flat[-200:])
        assert (other.en if lang == "en" else other.zh) not in flat
    verbose = " ".join(texts[name]["verbose"].split())
    assert VERIFIED.en not in verbose and VERIFIED_RESULTS.en not in verbose


def test_verbose_and_json_keep_what_was_checked(texts):
    """Every flagged sentence is in the verbose text and under "check" in the JSON, and the
    checkable-form results are all in the JSON, flagged, each still equal to sympy.diff."""
    flagged_models = 0
    for name in MODELS:
        d = derive.derivation(name)
        flagged = [m for s in d.steps if s.note is not None for m in s.note.chain() if m.audience == "check"]
        flagged += [m for r in d.results if r.note is not None for m in r.note.chain() if m.audience == "check"]
        if not flagged:
            continue
        flagged_models += 1
        data = d.to_json()
        checks = re.sub(r"\s+", "", " ".join(s.get("check", "") for s in data["steps"] + data["results"]))
        verbose = re.sub(r"\s+", "", texts[name]["verbose"])
        for m in flagged:
            if "{" in m.en:
                continue    # its arguments are written by the renderer, not by Msg.render
            sentence = re.sub(r"\s+", "", m.render("en"))
            assert sentence in verbose and sentence in checks, (name, m.en)
        assert len(data["results"]) == len(d.results)
        for r, out in zip(d.results, data["results"]):
            assert ("audience" in out) == (r.audience == "check")
            if "of" in out and r.audience == "check":
                assert sp.simplify(sp.diff(load(out["of"]), load(out["wrt"])) - load(out["value"])) == 0
    # the models that spoke of verification: the statistics, the networks, the index forms
    assert flagged_models >= 10


@pytest.mark.parametrize("name", MODELS)
def test_chinese_text_is_chinese(texts, name):
    text = texts[name]["zh"]
    bad = HALF_WIDTH.search(text)
    assert bad is None, text[bad.start() - 30:bad.end() + 30]
    # an ellipsis in mathematics follows a comma (x₁, …, xₙ); any other is a cut
    assert re.search(r"(?<!, )…", text) is None
    # a name with a subscript or a digit (W_kcuv, z2_k) is a symbol of the mathematics, not a word
    tokens = re.findall(r"[A-Za-z][\w'’-]*", re.sub("[\u0300-\u036f]", "", text))    # W̃ is a W
    foreign = {t for t in tokens if re.fullmatch(r"[A-Za-z'’-]{4,}", t) and t.lower() not in ALLOWED}
    assert not foreign, sorted(foreign)


@pytest.mark.parametrize("template, expected", [
    # the review's examples: a colon, semicolon and comma between Chinese and formulas
    ("在 $a = 2$ 处:$f = 8$;把 $a$ 增加到 2.001,$f = 8.004$",
     "在 $a = 2$ 处：$f = 8$；把 $a$ 增加到 2.001，$f = 8.004$"),
    ("常数倍法则: 常数 4", "常数倍法则：常数 4"),
    ("“与”(AND):$w₁$", "“与”（AND）：$w₁$"),
    # separators between formulas in a Chinese sentence, and a bracket around Chinese
    ("可核对形式:$K = 3$、$n = 2$, $k = 2$", "可核对形式：$K = 3$、$n = 2$，$k = 2$"),
    ("(此处 $n = {n}$)", "（此处 $n = {n}$）"),
    # mathematics is left alone, inside the marks and in an argument
    ("$f(a, b) = (a; b)$ 与 {x}", "$f(a, b) = (a; b)$ 与 {x}"),
])
def test_full_width_punctuation(template, expected):
    assert full_width(template) == expected


def test_msg_audience_is_checked_and_chains_keep_order():
    with pytest.raises(ValueError):
        Msg("x", audience="teacher")
    m = Msg("a").then(Msg.check("b")).then(Msg("c"))
    assert [(p.en, p.audience) for p in m.chain()] == [("a", "student"), ("b", "check"), ("c", "student")]
