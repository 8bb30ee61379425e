"""The LaTeX width estimate of a matrix is its widest row, not all its rows end to end: the
notes' 6 × 6 image is printed at full size (it was shrunk to half), and a matrix's rows do not
add to its width."""

import re

import pytest

import derive
from derive.render.latex import math_width


def _matrix(rows):
    return r"\left[\begin{matrix}" + r"\\".join(" & ".join(r) for r in rows) + r"\end{matrix}\right]"


def test_a_matrix_is_as_wide_as_its_columns_not_its_rows():
    row = ["-30", "0", "30", "30", "0", "0"]
    one, six = math_width(_matrix([row])), math_width(_matrix([row] * 6))
    assert one == pytest.approx(six)
    # its entries side by side, 1 em between columns, inside its brackets
    assert six == pytest.approx(sum(math_width(c) for c in row) + 5 * 1.0 + math_width(r"\left[\right]"))
    # a wider entry anywhere widens its column only
    wider = math_width(_matrix([row] * 5 + [["-300", *row[1:]]]))
    assert wider == pytest.approx(six + math_width("0"))


def test_the_convolution_image_and_outputs_are_printed_at_full_size():
    tex = derive.derivation("conv").render("latex")
    for name in (r"X", r"Z_{\text{same}}"):
        line = next(l for l in tex.splitlines() if l.strip().startswith(f"{name} &="))
        assert r"\begin{matrix}" in line and r"\scalebox" not in line, line
    scales = [float(s) for s in re.findall(r"\\scalebox\{([0-9.]+)\}", tex)]
    assert all(s >= 0.7 for s in scales), scales
