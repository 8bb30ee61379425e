import numpy as np
params = {"w": -np.ones(3)}
def loss(w):
    return float(np.sum(np.sqrt(w)))
def grad(w):
    return {"w": 0.5 / np.sqrt(w)}
