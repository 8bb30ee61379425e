"""The derivations and computation graphs the package ships (derive/derivations.pickle, see
derive.stored): keyed by the current source, the same data as a fresh build, rendered to the
same bytes, and used only for a built-in model with its default options and the cache on.

The suite runs with the cache off (tests/conftest.py), so every derivation compared here as
"fresh" was built and proved in this session. tests/test_notes.py renders the whole notes (every
model with its graph; English LaTeX and Chinese Markdown) from the store as well."""

from __future__ import annotations

import dataclasses

import pytest
import sympy

import derive
from derive import cache, printing, stored
from derive.cli.output import FORMATS
from derive.graph import graph_for, has_graph
from derive.models import registry

pytestmark = pytest.mark.usefixtures("shared_derivations")

REGENERATE = f"derive/{stored.FILE} is not current: run `python -m derive.shipped` and commit it"
NAMES = derive.model_names()
# rendered in every format and language: a line at a point written unevaluated (3·2) and a
# forward/backward table (chain-rule); matrices, index forms and checkable forms written out (mlp)
EVERY_VIEW = ("chain-rule", "mlp")


def kept(kind: str, name: str):
    found = stored.read(kind, name)
    assert found is not None, f"{REGENERATE} (it has no {kind} of {name})"
    return found


def test_the_store_is_keyed_by_the_current_source_and_holds_every_model():
    raw = stored.path().read_bytes()
    on_file, index, _ = stored._index(raw)
    assert on_file == stored.key(), f"{REGENERATE} (it was made from other source, SymPy or Python)"
    graphs = [n for n in NAMES if has_graph(registry.get(n)())]
    assert sorted(index) == sorted([f"derivation {n}" for n in NAMES] + [f"prose {n}" for n in NAMES]
                                   + [f"graph {n}" for n in graphs])


@pytest.mark.parametrize("name", ("least-squares", "sigmoid-sum", "mlp"))
def test_the_stored_prose_arrangements_are_worked_out_again_the_same(name):
    # each one arranged afresh, under the SymPy switches of its key, in an Order of its own
    stored_prose = kept("prose", name)
    assert stored_prose, REGENERATE
    for (expr, evaluate, distribute), arranged in stored_prose.items():
        with sympy.evaluate(evaluate), sympy.core.parameters.distribute(distribute):
            fresh = printing._arrange(expr, printing.Order())
        assert sympy.srepr(arranged) == sympy.srepr(fresh), REGENERATE


def test_a_stored_derivation_brings_its_prose_arrangements(monkeypatch, tmp_path):
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("DERIVE_NO_CACHE", raising=False)
    monkeypatch.setattr(printing, "_NO_ORDER", printing.Order())
    assert stored.derivation(registry.get("sigmoid-sum")()) is kept("derivation", "sigmoid-sum")
    assert printing._NO_ORDER._arranged == kept("prose", "sigmoid-sum")


@pytest.mark.parametrize("name", NAMES)
def test_a_stored_derivation_is_the_fresh_build(name):
    # with its deferred check pairs worked out, as they are stored
    fresh, d = stored.settled(registry.get(name)().derivation()), kept("derivation", name)
    assert d is not fresh
    # SymPy's == compares types and arguments: an unevaluated 3·2 is not 6, nor Derivative(…) its value
    assert (d.model, d.title, d.partial, d.defs) == (fresh.model, fresh.title, fresh.partial, fresh.defs), REGENERATE
    assert d.steps == fresh.steps, REGENERATE
    assert d.results == fresh.results, REGENERATE   # with their checkable forms, worked out
    # the order each line's sums were shown in, which == on a step leaves out
    shown = [(x.order.known, x.order.ranks) for x in (*d.steps, *d.results) if x.order is not None]
    assert shown == [(x.order.known, x.order.ranks) for x in (*fresh.steps, *fresh.results) if x.order is not None]
    assert d.render("text", show_steps=True, verbose=True) == fresh.render("text", show_steps=True, verbose=True)


@pytest.mark.parametrize("name", EVERY_VIEW)
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_stored_derivation_renders_every_view_as_the_fresh_build(name, fmt):
    fresh, d = registry.get(name)().derivation(), kept("derivation", name)
    for lang in ("en", "zh"):
        # every step and every sentence on how it was checked: all that a view can show
        opts = {"show_steps": True, "verbose": True}
        assert d.render(fmt, lang=lang, **opts) == fresh.render(fmt, lang=lang, **opts), lang
    # what is shown is what verify re-checks: the stored checks are the pairs, worked out
    if name == "chain-rule":
        assert d.verify() == len(fresh.results)


def test_the_store_is_used_only_with_the_cache_on_and_the_default_options(monkeypatch, tmp_path):
    model = registry.get("logistic")()
    # the suite's setting: everything is built and verified
    assert cache.folder() is None and stored.derivation(model) is None and stored.graph(model, None) is None
    monkeypatch.delenv("DERIVE_NO_CACHE")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    assert stored.derivation(model) is kept("derivation", "logistic")
    assert stored.graph(model, None) is kept("graph", "logistic")
    assert graph_for(model, at=None) is kept("graph", "logistic")
    # other options, a graph at another point or from another derivation: built
    assert stored.derivation(registry.get("logistic")(features=3)) is None
    assert stored.graph(model, dataclasses.replace(kept("derivation", "logistic"))) is None
    assert graph_for(model, at="x1=3").point != kept("graph", "logistic").point
    # a model that is not the built-in class, though it has its name
    subclass = type("Mine", (registry.get("logistic"),), {})
    assert stored.derivation(subclass()) is None


def test_a_store_made_from_other_source_is_not_read(monkeypatch, tmp_path):
    planted = tmp_path / stored.FILE
    real = stored.path().read_bytes()
    planted.write_bytes(real.replace(stored.key().encode(), ("0" * 64 + " python0.0").encode(), 1))
    monkeypatch.setattr(stored, "path", lambda: planted)
    monkeypatch.setattr(stored, "_file", stored._file.__wrapped__)
    assert stored._file() is None
    planted.write_bytes(real)
    assert stored._file() is not None


def test_which_models_have_a_graph_is_read_from_the_store_as_the_models_say(monkeypatch, tmp_path):
    # without the store, a model has a graph when it names a point to draw it at
    drawn = {n: registry.get(n)().point() is not None for n in NAMES}
    assert {n: has_graph(n) for n in NAMES} == drawn and any(drawn.values()) and not all(drawn.values())
    monkeypatch.delenv("DERIVE_NO_CACHE")
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    assert {n: stored.holds_graph(registry.get(n)()) for n in NAMES} == drawn
    assert {n: has_graph(n) for n in NAMES} == drawn
    # another option: the store cannot say, the model is asked
    assert stored.holds_graph(registry.get("logistic")(features=3)) is None
