"""A character-level vanilla RNN trained by BPTT, as minimal teaching scripts write it: the text
lives in a module-level ``data`` string, one function returns the loss and every gradient.
Correct; ``loss_fun(..., carry=False)`` drops the gradient carried back through time."""
import numpy as np

data = "hello world, hello gradients. "
chars = sorted(set(data))
vocab_size, hidden_size, seq_length = len(chars), 8, 12
char_to_ix = {ch: i for i, ch in enumerate(chars)}
inputs = [char_to_ix[ch] for ch in data[:seq_length]]
targets = [char_to_ix[ch] for ch in data[1:seq_length + 1]]

rng = np.random.default_rng(7)
params = {
    "Wxh": rng.standard_normal((hidden_size, vocab_size)) * 0.3,
    "Whh": rng.standard_normal((hidden_size, hidden_size)) * 0.3,
    "Why": rng.standard_normal((vocab_size, hidden_size)) * 0.3,
    "bh": np.zeros((hidden_size, 1)),
    "by": np.zeros((vocab_size, 1)),
}
hprev = np.zeros((hidden_size, 1))


def loss_fun(Wxh, Whh, Why, bh, by, carry=True):
    xs, hs, ps = {}, {-1: hprev}, {}
    loss = 0.0
    for t, ix in enumerate(inputs):
        xs[t] = np.zeros((vocab_size, 1))
        xs[t][ix] = 1
        hs[t] = np.tanh(Wxh @ xs[t] + Whh @ hs[t - 1] + bh)
        y = Why @ hs[t] + by
        ps[t] = np.exp(y - y.max()) / np.sum(np.exp(y - y.max()))
        loss += -np.log(ps[t][targets[t], 0])
    dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
    dbh, dby = np.zeros_like(bh), np.zeros_like(by)
    dhnext = np.zeros_like(hs[0])
    for t in reversed(range(len(inputs))):
        dy = ps[t].copy()
        dy[targets[t]] -= 1
        dWhy += dy @ hs[t].T
        dby += dy
        dh = Why.T @ dy + (dhnext if carry else 0)
        dhraw = (1 - hs[t] * hs[t]) * dh
        dbh += dhraw
        dWxh += dhraw @ xs[t].T
        dWhh += dhraw @ hs[t - 1].T
        dhnext = Whh.T @ dhraw
    return loss, {"Wxh": dWxh, "Whh": dWhh, "Why": dWhy, "bh": dbh, "by": dby}


def loss(**p):
    return loss_fun(**p)[0]


def grad(**p):
    return loss_fun(**p)[1]
