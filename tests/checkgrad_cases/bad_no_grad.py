import numpy as np
params = {"w": np.ones(3)}
def loss(w):
    return float(w @ w)
