"""The cache of proved lines (derive.verify): what it remembers, and what it refuses to trust."""

import atexit

import pytest
import sympy as sp

from derive import cache, verify
from derive.verify import Deferred, VerificationError, check_equal, prove

x, y = sp.symbols("x y")


@pytest.fixture
def proofs(tmp_path, monkeypatch):
    """A fresh, empty store of proofs in a folder of its own; returns a function that writes
    it out and starts another one, as the next run would."""
    monkeypatch.delenv("DERIVE_NO_CACHE", raising=False)
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(verify, "_PROOFS", verify._Proofs())

    def next_run():
        atexit.unregister(verify._PROOFS.save)
        verify._PROOFS.save()
        monkeypatch.setattr(verify, "_PROOFS", verify._Proofs())
        return verify._PROOFS

    return next_run


def _claim(lhs, rhs, defs=None):
    return verify._PROOFS.claim(("equal", lhs, rhs), defs)


def test_a_proved_line_is_known_to_the_next_run_and_a_false_one_never(proofs):
    defs = {y: x + 1}
    assert check_equal(y**2, x**2 + 2 * x + 1, defs) == "symbolic"
    with pytest.raises(VerificationError):
        check_equal(y**2, x**2 + 1, defs)
    store = proofs()
    assert store.known(_claim(y**2, x**2 + 2 * x + 1, defs)) == "symbolic"
    assert store.known(_claim(y**2, x**2 + 1, defs)) is None
    # the same sides under another definition of y are another claim
    assert store.known(_claim(y**2, x**2 + 2 * x + 1, {y: x - 1})) is None


def test_a_remembered_deferred_pair_is_not_worked_out(proofs):
    worked = []

    def sides():
        worked.append(1)
        return sp.sin(x) ** 2 + sp.cos(x) ** 2, sp.Integer(1)

    assert prove(Deferred(("trig", x), sides)) in ("symbolic", "numeric")
    proofs()
    again = Deferred(("trig", x), sides)
    assert prove(again) in ("symbolic", "numeric") and len(worked) == 1
    # a re-check (Derivation.verify) never takes the cache's word
    assert prove(again, remembered=False) and len(worked) == 2


def test_a_damaged_entry_is_ignored(proofs, tmp_path):
    check_equal(x * (x + 1), x**2 + x)
    proofs()
    (entry,) = cache.entries(tmp_path)
    entry.write_text(entry.read_text().replace("symbolic", "numeric"))
    store = verify._Proofs()
    assert store.known(_claim(x * (x + 1), x**2 + x)) is None


def test_no_cache_means_every_line_is_proved(proofs, monkeypatch, tmp_path):
    monkeypatch.setenv("DERIVE_NO_CACHE", "1")
    check_equal(x * (x + 1), x**2 + x)
    assert verify._PROOFS.known(_claim(x * (x + 1), x**2 + x)) is None
    proofs()
    assert list(tmp_path.iterdir()) == []


def test_a_proof_survives_other_code_but_not_the_code_that_proves_or_computes_it(proofs, tmp_path, monkeypatch):
    # a deferred pair computed by code in a file of its own, which the test then edits
    module = tmp_path / "sides_code.py"
    module.write_text("import sympy as sp\nx = sp.Symbol('x')\ndef sides():\n    return sp.sin(x)**2 + sp.cos(x)**2, 1\n")
    namespace: dict = {}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    assert check_equal(y**2, x**2 + 2 * x + 1, {y: x + 1}) == "symbolic"
    assert prove(Deferred(("edited", x), namespace["sides"])) in ("symbolic", "numeric")
    store = proofs()
    # the rest of the package changed (a wording, a renderer): the proofs are still known
    monkeypatch.setattr(cache, "_source_digest", lambda: "another package source")
    assert store.known(_claim(y**2, x**2 + 2 * x + 1, {y: x + 1})) == "symbolic"
    deferred_claim = store.claim(("deferred", *Deferred(("edited", x), namespace["sides"]).content), None)
    assert store.known(deferred_claim) in ("symbolic", "numeric")
    # the file computing the deferred sides changed: its claim is another one
    module.write_text(module.read_text().replace("**2, 1", "**2, 2"))
    cache.code_digest.cache_clear()
    assert store.claim(("deferred", *Deferred(("edited", x), namespace["sides"]).content), None) != deferred_claim
    # the proving code changed: the entry is another one, nothing is known
    monkeypatch.setattr(verify, "CHECKED_BY", (*verify.CHECKED_BY, "cache.py"))
    assert proofs().known(_claim(y**2, x**2 + 2 * x + 1, {y: x + 1})) is None
