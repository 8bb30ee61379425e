import numpy as np
def loss(w):
    return float(w @ w)
def grad(w):
    return {"w": 2 * w}
