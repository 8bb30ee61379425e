import numpy as np
params = {"w": np.ones(3)}
data = np.loadtxt("this-file-does-not-exist.csv")
def loss(w):
    return float(w @ w)
def grad(w):
    return {"w": 2 * w}
