"""The SymPy form: write the loss as an expression, let derive derive, compile and check it.

    derive check-grad examples/sympy_model.py           # exit 0

`loss` is the per-example logistic loss of the notes, z = w1·x1 + w2·x2 + b, a = σ(z). `params`
gives the point, `data` the values of the other symbols: arrays of equal length m make the loss
the mean over m examples. derive differentiates the expression step by step, compiles the result
to NumPy and compares it with finite differences of the compiled loss.

The file also has a hand-written gradient, the notes' dz = a − y: it is checked against the
finite differences and against the derived gradient, and the report shows all three comparisons.
"""

import sympy as sp

from derive.functions import sigmoid

w1, w2, b, x1, x2, y = sp.symbols("w1 w2 b x1 x2 y", real=True)
z = w1 * x1 + w2 * x2 + b
a = sigmoid(z)

loss = -(y * sp.log(a) + (1 - y) * sp.log(1 - a))
params = {"w1": 0.5, "w2": -0.3, "b": 0.1}
data = {
    "x1": [1.0, 2.0, -0.5, 0.3, 1.7],
    "x2": [0.5, -1.0, 2.0, 0.0, -0.4],
    "y": [1, 0, 1, 0, 1],
}

# Hand-written, per example, like the loss: dz = a − y, dw1 = dz·x1, dw2 = dz·x2, db = dz.
grad = {"w1": (a - y) * x1, "w2": (a - y) * x2, "b": a - y}
