import numpy as np
params = {"w": np.ones(3)}
def loss(w):
    return float(w @ np.ones(4))
def grad(w):
    return {"w": np.ones(3)}
