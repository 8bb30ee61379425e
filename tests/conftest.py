"""What the tests share: the Hypothesis profile, one way to run ``derive``, one way to compile
LaTeX, the reading of JSON results and their numeric comparison, and a session-wide cache of
built derivations."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest
import sympy as sp
from click.testing import CliRunner
from hypothesis import settings

from derive.cli import main
from derive.models.base import Model

# Tests exercise the algebra, never replayed output.
os.environ["DERIVE_NO_CACHE"] = "1"
# Text output follows COLUMNS, which a test runner's workers may set (pytest-xdist sets 80):
# tests read the default layout unless they set a width themselves.
os.environ.pop("COLUMNS", None)

# The same examples on every run, so that CI cannot fail by chance; they change only with the
# test's source or the Hypothesis version. `pytest --hypothesis-profile=explore` draws new ones.
# No deadline either: how long an example takes depends on the machine's load, not on the code.
settings.register_profile("derandomized", derandomize=True, database=None, deadline=None)
settings.register_profile("explore", derandomize=False, database=None, deadline=None)
settings.load_profile("derandomized")


def require_tool(name: str):
    """Skip when an external program is missing, unless CI demands it (DERIVE_REQUIRE_TEX=1)."""
    if shutil.which(name) is None:
        if os.environ.get("DERIVE_REQUIRE_TEX") == "1":
            pytest.fail(f"{name} is required (DERIVE_REQUIRE_TEX=1) but not installed")
        pytest.skip(f"{name} not installed")


class Outcome(NamedTuple):
    code: int
    out: str
    err: str


def run(*argv, input=None) -> Outcome:
    """``derive ARGV`` in this process, through the console entry point ``derive.cli.main`` and
    so through its error policy: the exit status and what went to stdout and to stderr
    (``input``: what standard input holds)."""
    with CliRunner().isolation(input=input) as (out, err, _):
        with pytest.raises(SystemExit) as exit_:
            main([str(a) for a in argv])
        # what was written without click.echo is still in the text wrappers' buffers
        sys.stdout.flush()
        sys.stderr.flush()
    return Outcome(exit_.value.code, out.getvalue().decode(), err.getvalue().decode())


def completed(*argv, input=None) -> subprocess.CompletedProcess:
    """``run`` (in this process) with the answer read as a ``derive ARGV`` subprocess's, for the
    tests that look at the exit status and the two streams, not at the process itself."""
    code, out, err = run(*argv, input=input)
    return subprocess.CompletedProcess(["derive", *map(str, argv)], code, out, err)


def load(text: str):
    """A checkable form from the JSON view (an ``srepr`` string), read with SymPy's names only."""
    return eval(text, dict(sp.__dict__))


def assert_same_values(a, b, tries: int = 6):
    """``a`` and ``b`` agree (relative error 1e-9, 30 digits) at seeded random points whose
    coordinates lie in ±[0.2, 0.8]; complex values are compared as they are."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    rng = random.Random(7)
    for _ in range(tries):
        point = {s: sp.Float(rng.uniform(0.2, 0.8) * rng.choice((1, -1)), 30) for s in symbols}
        # xreplace, then evalf: evalf(subs=...) is a hundred times slower on the network results
        va, vb = complex(a.xreplace(point).evalf(30)), complex(b.xreplace(point).evalf(30))
        assert abs(va - vb) <= 1e-9 * (1 + abs(va)), (a, b, point)


def compile_tex(engine: str, tex: str, folder: Path, passes: int = 2) -> str:
    """Compile ``tex`` with ``engine`` (``passes`` times, for the table of contents); the log."""
    require_tool(engine)
    (folder / "doc.tex").write_text(tex, encoding="utf-8")
    for _ in range(passes):
        proc = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                              cwd=folder, capture_output=True, timeout=300)
        log = (folder / "doc.log").read_text(encoding="utf-8", errors="replace")
        assert proc.returncode == 0, log[-3000:]
    assert (folder / "doc.pdf").stat().st_size > 5000
    return log


@pytest.fixture(scope="session")
def derivation_cache() -> dict:
    """Derivations built so far, by model and options: building is the slow part, and the tests
    that share it vary only what they render and check."""
    return {}


@pytest.fixture(scope="module")
def shared_derivations(derivation_cache):
    """While a module that asks for it runs, ``Model.derivation`` (and so ``derive.derivation``
    and every CLI command) returns the one derivation built for that model and options. A
    ``Derivation`` is frozen, so sharing it cannot leak one test's changes into another."""
    build = Model.derivation

    def derivation(self, *args, **kwargs):
        key = (repr(self), args, tuple(sorted(kwargs.items())))
        if key not in derivation_cache:
            derivation_cache[key] = build(self, *args, **kwargs)
        return derivation_cache[key]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Model, "derivation", derivation)
        yield


# first: pytest-xdist reads the groups in its own hook
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Units of work for pytest-xdist (``--dist loadgroup``): the tests that share built
    derivations run on one worker, so that each derivation is built once in the suite rather
    than once per worker; every other test runs on one worker with the rest of its file, so that
    a module's fixtures and caches are made once. pytest-xdist hands out the largest unit (the
    derivations) first."""
    for item in items:
        shared = "shared_derivations" in getattr(item, "fixturenames", ())
        item.add_marker(pytest.mark.xdist_group("derivations" if shared else item.path.stem))
