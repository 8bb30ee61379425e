import numpy as np
params = {"w": np.ones(3)}
def loss(w):
    return w ** 2
def grad(w):
    return {"w": 2 * w}
