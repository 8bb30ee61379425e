params = {"w": "one"}
def loss(w):
    return 1.0
def grad(w):
    return {"w": 0.0}
