"""The proofs shipped in the package (derive/proofs.txt): exactly the claims the current models
make with their default options, each holding as this suite proves it, and trusted only under
the checking code that proved them."""

import pytest
import sympy as sp

from derive import cache, shipped, verify

pytestmark = pytest.mark.usefixtures("shared_derivations")

REGENERATE = f"derive/{verify.SHIPPED} is not current: run `python -m derive.shipped` and commit it"


def test_the_shipped_proofs_are_the_claims_the_models_make_now():
    # the suite runs with the cache off (tests/conftest.py): every claim below was proved here,
    # none taken from the shipped file, and Derivation.verify proves each model's lines again
    made = shipped.default_claims()
    on_file = verify.shipped()
    assert on_file, f"{REGENERATE} (it names other checking code or another SymPy)"
    stale, missing = sorted(set(on_file) - set(made)), sorted(set(made) - set(on_file))
    assert not stale and not missing, f"{REGENERATE}: {len(stale)} stale, {len(missing)} missing"
    assert on_file == made, f"{REGENERATE}: a claim holds otherwise than the file says"


def test_shipped_proofs_count_only_with_the_cache_on_and_the_same_checker(tmp_path, monkeypatch):
    x = sp.Symbol("x")
    claim = verify._PROOFS.claim(("equal", sp.sin(x) ** 2 + sp.cos(x) ** 2, sp.Integer(1)), None)
    planted = tmp_path / "proofs.txt"
    monkeypatch.setattr(verify, "SHIPPED", str(planted))
    monkeypatch.setattr(verify, "_PROOFS", verify._Proofs())
    monkeypatch.setenv("DERIVE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DERIVE_NO_CACHE")
    planted.write_text(verify.shipped_text({claim: "symbolic"}), encoding="ascii")
    assert verify._PROOFS.known(claim) == "symbolic"
    # the cache turned off: nothing is taken on trust, the shipped proofs included
    monkeypatch.setenv("DERIVE_NO_CACHE", "1")
    assert verify._PROOFS.known(claim) is None
    # a file proved by other checking code is not read at all
    monkeypatch.delenv("DERIVE_NO_CACHE")
    monkeypatch.setattr(verify, "_PROOFS", verify._Proofs())
    planted.write_text(verify.shipped_text({claim: "symbolic"}).replace(cache.code_digest(*verify.CHECKED_BY), "0" * 64),
                       encoding="ascii")
    assert verify.shipped() == {} and verify._PROOFS.known(claim) is None
