"""check-grad on code written as the public assignments write it: CS231n-style layers with batch
normalization and inverted dropout (tests/checkgrad_cases/course/cs231n_layers.py, each planted bug
with its fixed twin), parameters nested one dict per layer, a transpose seen on a sample only,
the directional threshold on the command line, and what a check imports. Oracles: the bug each
case plants (its keep probability, its λ, the blocks it reaches) and the fixed twins, which must
pass."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import run
from numeric.check import check_model_file, hints
from numeric.check.checker import DIRECTIONAL_ABOVE
from test_check_hints import evidence

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "checkgrad_cases"
COURSE = CASES / "course"
KEEP, REG = 0.8, 0.05          # dropout_net.py's keep probability, the L2 strength of both nets


def causes(name):
    report = check_model_file(COURSE / f"{name}.py")
    return report, {b.name: b for b in report.comparisons[0].blocks}


@pytest.mark.parametrize("name", ["batchnorm_net", "dropout_net"])
def test_the_fixed_twins_pass(name):
    report, _ = causes(name)
    assert report.ok and all(b.hint is None for b in report.blocks)


def test_batchnorm_dropped_path_is_named_in_W1_and_b1_only():
    report, b = causes("batchnorm_dropped_path")
    assert not report.ok
    assert b["W1"].cause == b["b1"].cause == "normalization" and "mean and variance" in b["W1"].hint
    assert "W1" in b["b1"].hint
    assert all(b[n].verdict == "pass" for n in ("gamma1", "beta1", "W2", "b2"))


def test_dropout_missing_scale_is_a_factor_of_keep_beside_a_right_l2_term():
    _, b = causes("dropout_no_scale")
    assert b["b1"].cause == "factor" and b["b1"].detail["ratio"] == pytest.approx(KEEP, rel=1e-6)
    assert b["W1"].cause == "factor" and b["W1"].detail["ratio"] == pytest.approx(KEEP, rel=1e-6)
    assert b["W1"].detail["lambda"] == pytest.approx(REG, rel=1e-4)
    assert "1/keep" in b["W1"].hint


def test_dropout_missing_mask_is_located_at_the_step_into_layer_1():
    _, b = causes("dropout_no_mask")
    assert b["W1"].cause == b["b1"].cause == "backprop-step"
    assert "from layer 2 to layer 1" in b["W1"].hint and "mask" in b["W1"].hint
    assert b["W2"].verdict == b["b2"].verdict == "pass"


@pytest.mark.parametrize("name, first", [("two_bugs_batchnorm", "normalization"),
                                         ("two_bugs_dropout", "backprop-step")])
def test_a_second_bug_does_not_hide_the_first_ones_hint(name, first):
    _, b = causes(name)
    assert b["W1"].cause == first and b["b1"].cause == first
    assert b["W2"].cause == "regularization" and b["W2"].detail["lambda"] == pytest.approx(REG, rel=1e-4)
    assert b["b2"].verdict == "pass"


def test_nested_layer_dicts_become_dotted_blocks_and_a_row_bias_gradient_is_read():
    report = check_model_file(CASES / "nested_layers.py")
    assert report.ok and [b.name for b in report.blocks] == ["layer1.W", "layer1.b", "layer2.W", "layer2.b"]
    assert "grad keys that name no parameter ignored: layer1.dZ" in report.notes
    assert any("grad['layer1.b'] has shape (1, 4)" in n for n in report.notes)


def test_a_transposed_square_matrix_is_found_on_a_sample_and_says_when_unsure():
    rng = np.random.default_rng(5)
    ref = rng.standard_normal((6, 6)) + 3          # no entry near 0, not symmetric
    sample = np.array([1, 4, 8, 13, 17, 22, 27, 33])   # off the diagonal, as a sampled block has them
    ev = evidence(ref.T.ravel()[sample], ref.ravel()[sample], shape=(6, 6), local=sample,
                  params=np.ones(sample.size), block_analytic=ref.T)
    h = hints.transpose(ev)
    assert h.cause == "transpose" and "sampled" in h.text and "not sure" not in h.text
    # Only two sampled entries disagree: a transpose fits, but the sample is too small to say so.
    sym = (ref + ref.T) / 2
    sym[0, 1], sym[1, 0] = 5.0, -4.0               # the one pair a transpose changes
    ev = evidence(sym.T.ravel()[sample], sym.ravel()[sample], shape=(6, 6), local=sample,
                  params=np.ones(sample.size), block_analytic=sym.T)
    h = hints.transpose(ev)
    assert h.cause == "transpose" and "not sure" in h.text and h.detail == {"sure": False}


def test_the_directional_threshold_is_a_command_line_option():
    code, out, err = run("check-grad", CASES / "nested_layers.py", "--directional-above", "10")
    assert code == 0 and "39 parameters, more than 10" in err and "along 3 random directions" in out
    option = next(p for p in __import__("derive.cli.check_grad", fromlist=["x"]).check_grad.params
                  if p.name == "directional_above")
    assert option.default == DIRECTIONAL_ABOVE


def test_a_numpy_check_imports_no_sympy_and_its_parent_no_numpy():
    # In a fresh interpreter: the parent of an isolated check, then a check in the process itself.
    code = ("import sys\n"
            "def loaded():\n"
            "    print(sorted(m for m in ('numpy', 'sympy') if m in sys.modules))\n"
            "from numeric.isolate import check_file\n"
            f"check_file({str(CASES / 'sign_flip.py')!r})\n"
            "loaded()\n"
            "from numeric.check import check_model_file\n"
            f"check_model_file({str(CASES / 'sign_flip.py')!r})\n"
            "loaded()\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "['numpy']"]


@pytest.mark.parametrize("name", ["course_check.py", "cs231n_check.py"])
def test_the_readme_wrappers_of_course_and_cs231n_code_run(name, tmp_path, monkeypatch):
    # The README's blocks, next to stand-ins with the course's and CS231n's API (tests/checkgrad_cases/course).
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = re.search(rf"<!-- file: {re.escape(name)} -->\n```python\n(.*?)```", readme, re.S).group(1)
    wrapper_lines = body.split("\n\n")[-1].strip().splitlines()
    assert len(wrapper_lines) <= 5 and sum(not line.startswith(" ") for line in wrapper_lines) <= 3
    (tmp_path / name).write_text(body, encoding="utf-8")
    monkeypatch.syspath_prepend(str(COURSE))
    report = check_model_file(tmp_path / name)
    assert report.ok and report.n_params > 0


def test_the_gradient_checking_notebooks_two_planted_factors_are_each_named():
    report, b = causes("gradient_check_n_bugs")
    assert b["W2"].cause == b["b1"].cause == "factor"
    assert b["W2"].detail["ratio"] == pytest.approx(2) and b["b1"].detail["ratio"] == pytest.approx(4)
    assert [x.name for x in report.blocks if x.verdict == "fail"] == ["b1", "W2"]
