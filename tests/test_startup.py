"""The quick commands stay quick: help, version, list, completion, bad input and a cached replay
run without importing SymPy, NumPy or matplotlib (checked structurally, in a fresh interpreter,
never by timing), and the model catalogue they read agrees with the model modules."""

import json
import os
import subprocess
import sys
from dataclasses import astuple
from importlib.metadata import version
from pathlib import Path

import pytest

import derive
from derive.models import CATALOGUE, ModelInfo, model_modules, models_in, registry

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("sympy", "numpy", "matplotlib")

# Runs each command line of argv (a JSON list of lists) through the console entry point, and
# prints what each one printed and which heavy modules were imported by then.
PROBE = """
import contextlib, io, json, sys
from derive.cli import main
report = []
for argv in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
    report.append({"argv": argv, "code": code, "out": out.getvalue(),
                   "heavy": sorted(m for m in %r if m in sys.modules)})
print(json.dumps(report))
""" % (HEAVY,)


def probe(commands, **env) -> list[dict]:
    """Run ``commands`` in one fresh interpreter (this checkout's derive) and report each."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    env.pop("DERIVE_NO_CACHE", None)
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(commands)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_quick_commands_import_nothing_heavy(tmp_path):
    commands = [["--help"], ["--version"], [], ["list"], ["list", "--format", "json"], ["mlp", "--help"],
                ["logistc"], ["mlp", "--hidden", "0"], ["train", "--help"], ["cache", "info"]]
    report = probe(commands, DERIVE_CACHE_DIR=str(tmp_path))
    assert [r["heavy"] for r in report] == [[]] * len(commands)
    help_, version_, bare, listing, listing_json, mlp_help, typo, bad_option, *_ = report
    assert help_["code"] == bare["code"] == 0 and help_["out"] == bare["out"]
    for name in derive.model_names():
        assert f"\n  {name} " in help_["out"]
    assert version_["out"] == f"derive, version {version('derive-gradients')}\n"
    assert [row["name"] for row in json.loads(listing_json["out"])] == derive.model_names()
    assert len(listing["out"].splitlines()) == len(derive.model_names())
    assert "--activation [sigmoid|tanh|relu]" in mlp_help["out"]
    assert typo["code"] == bad_option["code"] == 2


def test_a_cached_replay_imports_nothing_heavy_and_prints_the_same_bytes(tmp_path):
    argv = ["logistic", "--show-steps", "--format", "markdown"]
    built, replayed = probe([argv], DERIVE_CACHE_DIR=str(tmp_path)) + probe([argv], DERIVE_CACHE_DIR=str(tmp_path))
    assert "sympy" in built["heavy"] and replayed["heavy"] == []
    assert built["code"] == replayed["code"] == 0 and replayed["out"] == built["out"]
    assert replayed["out"].startswith("## Logistic regression")


def _bash_complete(*words: str) -> list[str]:
    """What click's bash completion offers for ``derive WORDS`` (the last word being typed)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "_DERIVE_COMPLETE": "bash_complete",
           "COMP_WORDS": " ".join(["derive", *words]), "COMP_CWORD": str(len(words))}
    done = subprocess.run([sys.executable, "-m", "derive"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line.split(",", 1)[1] for line in done.stdout.splitlines()]


def test_the_shell_completes_model_and_command_names():
    assert _bash_complete("l") == ["list", *[n for n in derive.model_names() if n.startswith("l")]]
    everything = _bash_complete("")
    assert set(derive.model_names()) <= set(everything) and {"train", "notes", "check-grad"} <= set(everything)
    assert _bash_complete("mlp", "--hid") == ["--hidden"]


def _fields(info: ModelInfo) -> tuple:
    # deep's option is a LayersOption in its module and a plain Option here: compare the fields
    return (*astuple(info)[:-1], tuple(astuple(o) for o in info.options))


@pytest.mark.parametrize("module", model_modules())
def test_the_catalogue_says_what_each_model_module_says(module):
    listed = {info.name: info for info in CATALOGUE if info.module == module}
    found = {model.name: ModelInfo.of(model) for model in models_in(module)}
    assert found, f"derive/models/{module}.py defines no model"
    assert sorted(listed) == sorted(found), f"CATALOGUE must list {module}.py's models {sorted(found)}"
    for name, info in found.items():
        assert _fields(listed[name]) == _fields(info), f"CATALOGUE's entry for {name!r} must be {info}"
        assert listed[name].values({}) == registry.get(name)().values


def test_the_catalogue_names_only_model_modules():
    assert {info.module for info in CATALOGUE} <= set(model_modules())
    assert len({info.name for info in CATALOGUE}) == len(CATALOGUE)


def test_the_check_steps_command_offers_the_readers_formats():
    from derive.cli.check_steps import FORMATS
    from derive.student import FORMATS as read

    assert FORMATS == read


# Runs each model of argv in one fresh interpreter with the cache on (an empty cache folder, so
# the package's shipped derivations are what renders), and prints which of the modules a stored
# run never needs were imported by then, and the title of the model's shipped derivation.
STORED_PROBE = """
import contextlib, io, json, sys
from derive.cli import main
from derive import stored
report = []
for name in sys.argv[1:]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        try:
            main([name, "--show-steps"])
        except SystemExit as exc:
            code = exc.code
    found = stored.read("derivation", name)
    report.append({"name": name, "code": code, "out": out.getvalue(), "title": found.title.en if found else None,
                   "imported": sorted(m for m in %r if m in sys.modules)})
print(json.dumps(report))
""" % (("derive.matrix.derivation", "derive.engine", "derive.network", "sympy.tensor.tensor", "numpy"),)


def test_a_stored_model_run_imports_neither_the_engines_nor_the_network(tmp_path):
    """Shipped derivations render without importing the rule engine or the matrix engine (a
    matrix expression is stored as it is displayed, ``derive.matrix.shown``), the network (only
    training needs it) or SymPy's tensor module (an evaluated sum at import or in printing an
    index would import it)."""
    names = ["logistic", "conv", "rnn", "mle-gaussian", "softmax", "mlp", "cross-entropy"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DERIVE_CACHE_DIR": str(tmp_path)}
    env.pop("DERIVE_NO_CACHE", None)
    done = subprocess.run([sys.executable, "-c", STORED_PROBE, *names], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert [(r["name"], r["code"], r["imported"]) for r in report] == [(n, 0, []) for n in names]
    # what was printed is the shipped derivation: its title (formulas unmarked) heads the output
    assert all(r["title"] and r["out"].splitlines()[0] == r["title"].replace("$", "") for r in report)
