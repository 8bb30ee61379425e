"""Training: the update loop against hand-written oracles, the built-in data sets against the
closed form and stated accuracies, and `derive train` end to end."""

from __future__ import annotations

import importlib
import json
import math

import numpy as np
import pytest

import derive
import numeric
from conftest import run
from derive.errors import DeriveError
from numeric import datasets, plots
from numeric.training import DIVERGENCE_FACTOR, train, train_model

TRAINABLE = [n for n in derive.model_names() if derive.model(n).trainable]


# ---------------------------------------------------------------------------------------------
# Stand-ins that obey the compiled-model protocol and whose answers are known by hand.


class Recorder:
    """Loss ½·mean((t − y)²) of one scalar t; records which rows each gradient call saw.

    The single feature of row i is i, so the recorded values are row indices.
    """

    def __init__(self):
        self.batches = []

    def loss(self, p, X, y):
        return float(np.mean((p["t"] - y) ** 2) / 2)

    def grad(self, p, X, y):
        self.batches.append(X[:, 0].astype(int).tolist())
        return {"t": np.mean(p["t"] - y)}


class Quadratic:
    """L(θ) = ½ θᵀAθ − bᵀθ, whatever the rows; gradient Aθ − b."""

    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -2.0])

    def loss(self, p, X, y):
        t = p["theta"]
        return float(0.5 * t @ self.A @ t - self.b @ t)

    def grad(self, p, X, y):
        return {"theta": self.A @ p["theta"] - self.b}


class Doubling:
    """L(t) = t²; with lr 1.5 gradient descent maps t to −2t, so the loss grows 4× per update.

    ``nan_beyond`` makes the loss NaN once |t| exceeds it.
    """

    def __init__(self, nan_beyond=math.inf):
        self.nan_beyond = nan_beyond

    def loss(self, p, X, y):
        t = float(p["t"])
        return math.nan if abs(t) > self.nan_beyond else t * t

    def grad(self, p, X, y):
        return {"t": 2 * p["t"]}


def rows(m):
    return np.arange(m, dtype=float)[:, None], np.linspace(-1.0, 1.0, m)


# ---------------------------------------------------------------------------------------------
# Batches, epochs, updates.


def test_gd_makes_exactly_one_full_batch_update_per_epoch():
    X, y = rows(10)
    rec = Recorder()
    h = train(rec, {"t": np.array(0.0)}, X, y, lr=0.1, epochs=7, optimizer="gd")
    assert h.n_updates == 7 and h.updates_per_epoch == 1
    assert len(rec.batches) == 7
    assert all(sorted(b) == list(range(10)) for b in rec.batches)
    assert len(h.loss) == 7 and len(h.update_loss) == 7


@pytest.mark.parametrize("m, batch", [(10, 3), (12, 4), (7, 1), (5, 32)])
def test_sgd_sees_every_example_once_per_epoch(m, batch):
    X, y = rows(m)
    rec = Recorder()
    epochs = 4
    h = train(rec, {"t": np.array(0.0)}, X, y, lr=0.1, epochs=epochs, optimizer="sgd",
              batch_size=batch, seed=3)
    per_epoch = -(-m // batch)
    assert h.updates_per_epoch == per_epoch
    assert h.n_updates == len(rec.batches) == per_epoch * epochs == len(h.update_loss)
    for e in range(epochs):
        epoch = rec.batches[e * per_epoch : (e + 1) * per_epoch]
        assert sorted(i for b in epoch for i in b) == list(range(m))
        assert all(len(b) == min(batch, m) for b in epoch[:-1])
    if batch < m:  # shuffled: the epochs do not all visit the rows in the same order
        orders = {tuple(i for b in rec.batches[e * per_epoch : (e + 1) * per_epoch] for i in b)
                  for e in range(epochs)}
        assert len(orders) > 1


def test_sgd_updates_are_plain_gradient_steps_on_the_recorded_batches():
    X, y = rows(9)
    rec = Recorder()
    h = train(rec, {"t": np.array(0.5)}, X, y, lr=0.3, epochs=3, optimizer="sgd", batch_size=4)
    t = 0.5
    for batch in rec.batches:  # replay: t ← t − η · mean(t − y_batch)
        t = t - 0.3 * np.mean(t - y[batch])
    assert float(h.params["t"]) == pytest.approx(t, rel=1e-14)


def test_callback_sees_every_update_and_every_epoch_in_order():
    X, y = rows(10)
    events = []
    h = train(Recorder(), {"t": np.array(0.0)}, X, y, lr=0.1, epochs=3, optimizer="sgd",
              batch_size=4, callback=events.append)
    kinds = [e.kind for e in events]
    assert kinds == (["update"] * 3 + ["epoch"]) * 3
    assert [e.update for e in events if e.kind == "update"] == list(range(1, 10))
    assert [e.loss for e in events if e.kind == "epoch"] == h.loss


# ---------------------------------------------------------------------------------------------
# Optimizers against hand-written NumPy updates on a quadratic.


def _oracle(kind, steps, lr, beta=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
    A, b = Quadratic.A, Quadratic.b
    theta = np.array([2.0, 2.0])
    v = np.zeros(2)
    s = np.zeros(2)
    for t in range(1, steps + 1):
        g = A @ theta - b
        if kind == "gd":
            theta = theta - lr * g
        elif kind == "momentum":
            v = beta * v + (1 - beta) * g
            theta = theta - lr * v
        else:
            v = beta1 * v + (1 - beta1) * g
            s = beta2 * s + (1 - beta2) * g**2
            v_hat, s_hat = v / (1 - beta1**t), s / (1 - beta2**t)
            theta = theta - lr * v_hat / (np.sqrt(s_hat) + eps)
    return theta


@pytest.mark.parametrize("kind, lr", [("gd", 0.2), ("momentum", 0.2), ("adam", 0.05)])
def test_optimizer_matches_hand_written_update(kind, lr):
    X, y = rows(6)
    steps = 40
    h = train(Quadratic(), {"theta": np.array([2.0, 2.0])}, X, y, lr=lr, epochs=steps,
              optimizer=kind, batch_size=None if kind == "gd" else 6)
    assert h.n_updates == steps
    np.testing.assert_allclose(h.params["theta"], _oracle(kind, steps, lr), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind, lr", [("gd", 0.3), ("momentum", 0.2), ("adam", 0.05)])
def test_optimizer_reaches_the_minimum_of_the_quadratic(kind, lr):
    X, y = rows(4)
    h = train(Quadratic(), {"theta": np.zeros(2)}, X, y, lr=lr, epochs=1500, optimizer=kind,
              batch_size=None if kind == "gd" else 4)
    np.testing.assert_allclose(h.params["theta"], np.linalg.solve(Quadratic.A, Quadratic.b),
                               atol=1e-4)


# ---------------------------------------------------------------------------------------------
# Divergence.


def test_divergence_by_growth_keeps_the_last_parameters_within_the_bound():
    X, y = rows(3)
    h = train(Doubling(), {"t": np.array(1.0)}, X, y, lr=1.5, epochs=100)
    # Iterates t_k = (−2)^k with loss 4^k; the bound is DIVERGENCE_FACTOR × max(1, L(t_0)).
    last_good = max(k for k in range(30) if 4.0**k <= DIVERGENCE_FACTOR)
    assert h.diverged and "grew" in h.divergence
    assert float(h.params["t"]) == (-2.0) ** last_good
    assert h.epochs_run == last_good


def test_divergence_by_nan_keeps_the_last_finite_parameters():
    X, y = rows(3)
    h = train(Doubling(nan_beyond=100), {"t": np.array(1.0)}, X, y, lr=1.5, epochs=100)
    assert h.diverged and "NaN" in h.divergence
    assert float(h.params["t"]) == 64.0  # (−2)^6; the next iterate, −128, has a NaN loss


def test_divergence_inside_an_epoch_keeps_parameters_from_before_the_bad_update():
    X, y = rows(8)
    h = train(Doubling(nan_beyond=100), {"t": np.array(1.0)}, X, y, lr=1.5, epochs=100,
              optimizer="sgd", batch_size=2)
    assert h.diverged
    assert float(h.params["t"]) == 64.0
    assert math.isfinite(Doubling(100).loss(h.params, X, y))


def test_same_seed_same_history_bit_for_bit():
    a = train_model("mlp", epochs=2, seed=5)
    b = train_model("mlp", epochs=2, seed=5)
    c = train_model("mlp", epochs=2, seed=6)
    assert a.history.to_dict() == b.history.to_dict()
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k])
    assert a.history.update_loss != c.history.update_loss


# ---------------------------------------------------------------------------------------------
# The built-in data sets train to stated levels with the default settings.


def _lstsq(X, y):
    A = np.hstack([X, np.ones((len(y), 1))])
    return np.linalg.lstsq(A, y, rcond=None)[0]


@pytest.mark.parametrize("name", ["linear", "least-squares"])
def test_linear_models_reach_the_least_squares_solution(name):
    r = train_model(name)
    theta = _lstsq(r.data.X, r.data.y)
    np.testing.assert_allclose(r.params["w"], theta[:-1], atol=1e-3)
    assert float(r.params["b"]) == pytest.approx(theta[-1], abs=1e-3)
    # the data were drawn around y = 1 + 2x
    assert theta[0] == pytest.approx(2.0, abs=0.2) and theta[1] == pytest.approx(1.0, abs=0.3)


def test_logistic_separates_the_blobs():
    r = train_model("logistic")
    m = r.metrics()
    assert m["accuracy"] >= 0.95 and m["val_accuracy"] >= 0.95
    assert r.history.final_loss < 0.2 < r.history.initial_loss


def test_blobs_are_separable_by_their_bayes_rule():
    d = datasets.blobs()
    # Equal, isotropic Gaussians at −1.5 and +1.5: the best rule is the sign of Σ x_j.
    assert np.mean((d.X_val.sum(axis=1) > 0) == d.y_val) >= 0.95


@pytest.mark.parametrize("name", ["softmax", "mlp"])
def test_digit_classifiers_reach_90_percent_on_held_out_digits(name):
    r = train_model(name)
    assert r.metrics()["val_accuracy"] >= 0.90
    # accuracy recomputed from the predictions, not from the model's own accuracy()
    probabilities = r.compiled.predict(r.params, r.data.X_val)
    assert np.mean(np.argmax(probabilities, axis=1) == r.data.y_val) >= 0.90


@pytest.mark.parametrize("activation, mse", [("sigmoid", 0.02), ("relu", 0.02)])
def test_sigmoid_sum_fits_the_red_curve(activation, mse):
    r = train_model("sigmoid-sum", activation=activation)
    X, y = r.data.X, r.data.y
    pred = np.asarray(r.compiled.predict(r.params, X))
    assert np.mean((pred - y) ** 2) < mse
    # and against the noiseless curve, not only the noisy samples
    assert np.mean((pred - datasets.red_curve_function(X[:, 0])) ** 2) < mse


def test_red_curve_is_a_constant_plus_three_hard_sigmoids():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 4.75, 5.5, 7.0, 7.75, 10.0])
    # 1, then +2 on [1, 3], −3 on [4, 5.5], +2.5 on [7, 8.5]
    expect = [1.0, 1.0, 2.0, 3.0, 3.0, 1.5, 0.0, 0.0, 1.25, 2.5]
    np.testing.assert_allclose(datasets.red_curve_function(x), expect)
    d = datasets.red_curve()
    assert d.X.shape == (200, 1) and 0 <= d.X.min() and d.X.max() <= 10
    assert np.std(d.y - datasets.red_curve_function(d.X[:, 0])) < 0.1


def test_digits_are_the_1797_images_scaled_to_unit_range():
    d = datasets.digits()
    assert len(d.y) + len(d.y_val) == 1797 and len(d.y_val) == 360
    assert d.X.shape[1] == 64 and d.X.min() == 0.0 and d.X.max() == 1.0
    assert set(np.unique(np.concatenate([d.y, d.y_val]))) == set(range(10))
    assert np.all(np.round(d.X * 16) == d.X * 16)  # 0..16 divided by 16


def test_history_loss_is_the_loss_at_the_returned_parameters():
    r = train_model("logistic", epochs=5)
    assert r.history.loss[-1] == r.compiled.loss(r.params, r.data.X, r.data.y)
    assert r.history.val_loss[-1] == r.compiled.loss(r.params, r.data.X_val, r.data.y_val)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_sigmoid_sum_pieces_add_up_to_the_prediction(activation):
    r = train_model("sigmoid-sum", activation=activation, epochs=50)
    x = np.linspace(0, 10, 50)
    total = float(r.params["b"]) + plots._pieces(r, x)[0].sum(axis=1)
    np.testing.assert_allclose(total, r.compiled.predict(r.params, x[:, None]), rtol=1e-10)


def test_relu_pieces_are_the_derivations_hard_sigmoids():
    """Each piece the trainer fits is c·(ReLU(r) − ReLU(r − 1)), as the derivation writes it:
    checked against NumPy written by hand."""
    r = train_model("sigmoid-sum", activation="relu", epochs=5)
    x = np.linspace(0, 10, 101)
    p = r.params
    u = np.outer(x, p["W"][:, 0]) + p["b_hidden"]
    by_hand = (np.maximum(u, 0) - np.maximum(u - 1, 0)) * p["c"]
    np.testing.assert_allclose(plots._pieces(r, x)[0], by_hand, rtol=1e-12, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Data files.


def test_csv_with_header_and_npz_train_the_same(tmp_path):
    d = datasets.noisy_line(m=40, seed=1)
    csv = tmp_path / "line.csv"
    lines = [f"{float(a)!r},{float(b)!r}" for a, b in zip(d.X[:, 0], d.y)]
    csv.write_text("x,y\n" + "\n".join(lines) + "\n")
    npz = tmp_path / "line.npz"
    np.savez(npz, X=d.X, y=d.y)
    a = train_model("linear", data=csv, epochs=400, lr=0.1, standardize=False)
    b = train_model("linear", data=npz, epochs=400, lr=0.1, standardize=False)
    assert a.history.to_dict() == b.history.to_dict()
    np.testing.assert_allclose(a.params["w"], _lstsq(d.X, d.y)[:-1], atol=1e-3)


def test_holdout_moves_rows_to_the_held_out_set(tmp_path):
    d = datasets.blobs(m=50, m_val=1)
    csv = tmp_path / "blobs.csv"
    csv.write_text("\n".join(f"{a},{b},{int(c)}" for (a, b), c in zip(d.X, d.y)))
    r = train_model("logistic", data=csv, holdout=0.2, epochs=3)
    assert len(r.data.y) == 40 and len(r.data.y_val) == 10
    assert "val_accuracy" in r.metrics()


# ---------------------------------------------------------------------------------------------
# The command line.


@pytest.mark.parametrize("name", TRAINABLE)
def test_derive_train_works_for_every_model_without_data(name):
    code, out, err = run("train", name, "--epochs", "2", "--quiet")
    assert code == 0, err
    assert "loss" in out and err == ""
    again = run("train", name, "--epochs", "2", "--quiet")
    assert again[1] == out  # same bytes


def test_derive_train_relu_pieces_and_terminal_plot():
    code, out, _ = run("train", "sigmoid-sum", "--activation", "relu", "--epochs", "20")
    assert code == 0
    assert "training loss per epoch" in out and "+ 40 pieces cᵢ g(bᵢ + wᵢ x)" in out
    assert "where g(r) = ReLU(r) − ReLU(r − 1)" in out
    assert all(f"c{i} = " in out for i in range(1, 41)) and "c41 = " not in out


def test_derive_train_json_counts_updates():
    code, out, _ = run("train", "softmax", "--epochs", "2", "--batch-size", "100",
                       "--optimizer", "sgd", "--json")
    assert code == 0
    s = json.loads(out)
    assert s["history"]["n_updates"] == 2 * math.ceil(1437 / 100)
    assert len(s["history"]["loss"]) == 2 and "val_accuracy" in s["metrics"]
    assert "⠀" not in out  # no terminal plot in JSON


def test_piped_training_logs_one_line_per_epoch_with_the_histories_figures():
    """Not on a terminal, each epoch is one stderr line; its figures are the run's own history."""
    code, out, err = run("train", "logistic", "--epochs", "3", "--json")
    assert code == 0
    h = json.loads(out)["history"]
    lines = err.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"epoch {i}/3 ") for i, line in enumerate(lines, 1))
    for line, loss, acc, val in zip(lines, h["loss"], h["accuracy"], h["val_loss"]):
        assert f"loss {loss:.4g}" in line and f"accuracy {acc:.2%}" in line
        assert f"held-out loss {val:.4g}" in line
    assert run("train", "logistic", "--epochs", "3", "--quiet")[2] == ""


def test_derive_train_save_writes_the_parameters(tmp_path):
    path = tmp_path / "p.npz"
    code, _, _ = run("train", "logistic", "--epochs", "3", "--quiet", "--save", str(path))
    assert code == 0
    r = train_model("logistic", epochs=3)
    with np.load(path) as saved:
        assert sorted(saved.files) == sorted(r.params)
        for k in r.params:
            assert np.array_equal(saved[k], r.params[k])


def test_derive_train_divergence_exits_1_and_keeps_good_parameters(tmp_path):
    path = tmp_path / "p.npz"
    code, out, err = run("train", "linear", "--lr", "5", "--epochs", "50",
                         "--save", str(path))
    assert code == 1
    *epochs, error = err.splitlines()      # piped: the epochs that ran, then one error line
    assert all(line.startswith("epoch ") for line in epochs)
    assert "diverged" in error and "smaller learning rate" in error
    assert out == ""
    r = train_model("linear")
    with np.load(path) as saved:
        params = {k: saved[k] for k in saved.files}
    loss = r.compiled.loss(params, r.data.X, r.data.y)
    assert math.isfinite(loss) and loss <= DIVERGENCE_FACTOR * max(1.0, r.history.initial_loss)


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


BAD = [
    (["linear", "--data", "{tmp}/missing.csv"], "no such data file"),
    (["linear", "--data", "{tmp}/short.csv"], "line 2"),
    (["linear", "--data", "{tmp}/words.csv"], "is not a number"),
    (["linear", "--data", "{tmp}/nan.csv"], "NaN"),
    (["linear", "--features", "1", "--data", "{tmp}/three.csv"], "expects 1 feature column (+ the target), got 2"),
    (["logistic", "--data", "{tmp}/three.csv"], "labels 0 or 1"),
    (["softmax", "--features", "2", "--classes", "3", "--data", "{tmp}/three.csv"], "0..2"),
    (["linear", "--data", "{tmp}/noy.npz"], "needs arrays X and y"),
    (["linear", "--data", "{tmp}/three.txt"], ".csv or .npz"),
    (["linear", "--lr", "0"], "learning rate"),
    (["linear", "--lr", "-0.1"], "learning rate"),
    (["mlp", "--batch-size", "0"], "batch size"),
    (["linear", "--epochs", "0"], "epochs"),
    (["linear", "--optimizer", "gd", "--batch-size", "10"], "full batch"),
    (["linear", "--optimizer", "newton"], "newton"),
    (["linear", "--hidden", "3"], "no option"),
    (["sigmoid-sum", "--activation", "tanh"], "activation"),
    (["mlp", "--features", "10"], "64 features"),
    (["nosuchmodel"], "nosuchmodel"),
    (["logistic", "--holdout", "0.2"], "--holdout applies to --data"),
    (["linear", "--save", "{tmp}/no/such/folder/p.npz"], "folder does not exist"),
    (["linear", "--plot", "{tmp}/loss.svg"], "ending in .png"),
    (["linear", "--data", "{tmp}/three.csv", "--features", "2", "--holdout", "1.5"], "fraction"),
]


@pytest.mark.parametrize("args, message", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_exits_2_with_one_line(tmp_path, args, message):
    _write(tmp_path, "short.csv", "1,2\n3\n")
    _write(tmp_path, "words.csv", "1,2\nabc,3\n")
    _write(tmp_path, "nan.csv", "1,2\nnan,3\n")
    _write(tmp_path, "three.csv", "1,2,5\n3,4,1\n")
    _write(tmp_path, "three.txt", "1,2,5\n")
    np.savez(tmp_path / "noy.npz", X=np.zeros((3, 1)))
    argv = ["train"] + [a.format(tmp=tmp_path) for a in args] + ["--quiet"]
    code, out, err = run(*argv)
    assert code == 2
    assert err.startswith("derive: error: ") and err.count("\n") == 1
    assert message in err
    assert out == ""


def test_plot_without_matplotlib_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(__import__("sys").modules, "matplotlib", None)
    code, out, err = run("train", "linear", "--plot", str(tmp_path / "loss.png"))
    assert code == 2 and "pip install 'derive-gradients[plot]'" in err
    assert not (tmp_path / "loss.png").exists()


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")  # the optional extra derive-gradients[plot]
    path = tmp_path / "curve.png"
    code, _, _ = run("train", "sigmoid-sum", "--epochs", "20", "--quiet",
                     "--plot", str(path))
    assert code == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_library_errors_are_derive_errors():
    X, y = rows(4)
    with pytest.raises(DeriveError, match="optimizer"):
        train(Recorder(), {"t": np.array(0.0)}, X, y, lr=0.1, epochs=1, optimizer="rmsprop")
    with pytest.raises(DeriveError, match="shape"):
        train(Recorder(), {"t": np.array(0.0)}, X, y[:3], lr=0.1, epochs=1)


# ---------------------------------------------------------------------------------------------
# Terminal drawing.


def test_braille_canvas_draws_a_diagonal():
    canvas = plots.Canvas(1, 1, (0.0, 1.0), (0.0, 1.0))
    canvas.line([0.0, 1.0], [0.0, 1.0])
    # bottom-left to top-right in one 2x4 cell: dots 7, 3, 5, 4 = 0x40 + 0x04 + 0x10 + 0x08
    assert canvas.rows() == [chr(0x2800 + 0x5C)]


def test_terminal_loss_plot_labels_the_range():
    text = plots.terminal_loss([4.0, 2.0, 1.0], width=20, height=4)
    lines = text.splitlines()
    assert lines[0] == "training loss per epoch"
    assert lines[1].lstrip().startswith("4 ┤") and lines[4].lstrip().startswith("1 ┤")
    assert lines[-1].split() == ["0", "2", "epoch"]


# ---------------------------------------------------------------------------------------------
# --check-grad.


class _Scaled:
    """A compiled model whose gradient is multiplied by ``factor`` (a missing or extra 1/m)."""

    def __init__(self, compiled, factor):
        self.compiled, self.factor = compiled, factor

    def __getattr__(self, name):
        return getattr(self.compiled, name)

    def grad(self, p, X, y):
        return {k: self.factor * v for k, v in self.compiled.grad(p, X, y).items()}

    def loss_and_grad(self, p, X, y):
        return self.compiled.loss(p, X, y), self.grad(p, X, y)


def test_check_grad_passes_for_the_compiled_gradient():
    code, out, err = run("train", "logistic", "--check-grad", "--epochs", "1", "--quiet")
    assert code == 0, err
    assert "every block passes" in out


def test_check_grad_stops_a_wrong_gradient_before_training(monkeypatch):
    module = importlib.import_module("numeric.training")
    real = module._compile
    monkeypatch.setattr(module, "_compile", lambda model: _Scaled(real(model), 2.0))
    code, out, err = run("train", "logistic", "--check-grad", "--epochs", "1")
    assert code == 1 and out == ""
    assert "gradient check failed" in err and err.count("\n") == 1


# ---------------------------------------------------------------------------------------------
# The user's own data: shapes inferred, inputs standardized, a learning rate that works, and a
# run that does not train is an error.


def _houses(tmp_path, delimiter=","):
    """Unscaled regression data: prices in the hundreds of thousands from areas in the
    thousands, rooms and age, with noise (the kind of file a student brings)."""
    rng = np.random.default_rng(7)
    m = 120
    area = rng.uniform(500, 3500, m)
    rooms = rng.integers(1, 6, m).astype(float)
    age = rng.uniform(0, 80, m)
    price = 50_000 + 120 * area + 8_000 * rooms - 900 * age + rng.normal(0, 5_000, m)
    path = tmp_path / "houses.csv"
    rows = [delimiter.join(["area", "rooms", "age", "price"])]
    rows += [delimiter.join(f"{v:.2f}" for v in row) for row in zip(area, rooms, age, price)]
    path.write_text("\n".join(rows) + "\n")
    return path, np.column_stack([area, rooms, age]), price


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_unscaled_regression_data_fits_with_no_flags(tmp_path, delimiter):
    path, X, y = _houses(tmp_path, delimiter)
    code, out, err = run("train", "linear", "--data", str(path), "--quiet")
    assert code == 0, err
    assert "features=3" in out and "standardized" in out
    r = train_model("linear", data=path)
    A = np.column_stack([X, np.ones(len(y))])
    best = A @ np.linalg.lstsq(A, y, rcond=None)[0]
    # the trained line predicts the raw rows as least squares does (to 0.1 % of the spread)
    np.testing.assert_allclose(r.predict(X), best, atol=1e-3 * np.std(y))


def test_string_labels_are_classes_named_in_the_output(tmp_path):
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(-2, 1, (40, 2)), rng.normal(2, 1, (40, 2))])
    names = ["spam"] * 40 + ["ham"] * 40
    path = tmp_path / "mail.csv"
    path.write_text("a;b;kind\n" + "\n".join(f"{x:.3f};{z:.3f};{n}" for (x, z), n in zip(X, names)) + "\n")
    code, out, err = run("train", "logistic", "--data", str(path), "--quiet")
    assert code == 0, err
    assert "classes   0 = ham, 1 = spam" in out
    r = train_model("logistic", data=path)
    assert r.metrics()["accuracy"] > 0.95
    # three classes: softmax infers features and classes from the file
    names3 = ["a", "b", "c"] * 30
    centres = {"a": (-3, 0), "b": (3, 0), "c": (0, 4)}
    rows = [(*(np.array(centres[n]) + rng.normal(0, 0.5, 2)), n) for n in names3]
    path3 = tmp_path / "three.csv"
    path3.write_text("\n".join(f"{a:.3f},{b:.3f},{n}" for a, b, n in rows) + "\n")
    r3 = train_model("softmax", data=path3, epochs=50)
    assert r3.model.values["features"] == 2 and r3.model.values["classes"] == 3
    assert r3.data.labels == ("a", "b", "c") and r3.metrics()["accuracy"] > 0.95


def test_one_class_only_is_refused(tmp_path):
    path = tmp_path / "one.csv"
    path.write_text("1,2,yes\n3,4,yes\n")
    code, out, err = run("train", "logistic", "--data", str(path))
    assert code == 2 and "one class only" in err and err.count("\n") == 1


def test_a_learning_rate_that_raises_the_loss_is_lowered_and_said(tmp_path):
    path, X, y = _houses(tmp_path)
    r = train_model("linear", data=path, standardize=False, epochs=5)
    assert r.lr_note and "did not lower the loss" in r.lr_note
    assert r.history.settings["lr"] < 0.1
    assert r.history.loss[-1] < r.history.initial_loss


def test_a_run_that_does_not_train_exits_1(tmp_path):
    path, _, _ = _houses(tmp_path)
    code, out, err = run("train", "linear", "--data", str(path), "--lr", "1e-12", "--epochs", "30", "--quiet")
    assert code == 1 and "hardly moved" in err and err.count("\n") == 1
    assert "loss" in out                        # the report is still printed


@pytest.mark.parametrize("name", ["linear", "logistic", "softmax"])
def test_constant_loss_is_the_compiled_loss_of_the_best_constant_prediction(name):
    """The baseline a stalled run is measured against: the compiled loss itself, at weights 0
    and the bias that predicts the mean of y (or the class frequencies) for every row."""
    r = train_model(name, epochs=1)
    y = np.asarray(r.data.y, dtype=float)
    layer = r.compiled.network.layers[0]
    params = {k: np.zeros_like(v) for k, v in r.params.items()}
    if name == "linear":
        params[layer.bias.name] = np.asarray(y.mean())
    elif name == "logistic":
        params[layer.bias.name] = np.asarray(np.log(y.mean() / (1 - y.mean())))
    else:
        params[layer.bias.name] = np.log(np.bincount(y.astype(int)) / len(y))
    expected = float(r.compiled.loss(params, r.data.X, r.data.y))
    assert r.constant_loss() == pytest.approx(expected, rel=1e-9)
    # any other constant does worse
    bias = np.array(params[layer.bias.name], dtype=float)
    bias.flat[0] += 0.1
    params[layer.bias.name] = bias
    assert float(r.compiled.loss(params, r.data.X, r.data.y)) > r.constant_loss()


def test_a_run_that_stalls_near_the_constant_prediction_exits_1():
    """Plain gradient descent on the sum of sigmoids crawls on a plateau barely below the mean
    of y (adam leaves it): a stall, not a fit."""
    code, out, err = run("train", "sigmoid-sum", "--optimizer", "gd", "--epochs", "400", "--quiet")
    assert code == 1 and "predicting the mean of y" in err and err.count("\n") == 1
    assert run("train", "sigmoid-sum", "--epochs", "400", "--quiet").code == 0


def test_unscaled_linear_regression_left_far_from_least_squares_exits_1(tmp_path):
    path, _, _ = _houses(tmp_path)
    code, out, err = run("train", "linear", "--data", str(path), "--no-standardize", "--quiet")
    r = train_model("linear", data=path, standardize=False)
    optimum = r.closed_form()[1]
    X, y = r.data.X, r.data.y                   # the rows as read (two decimals)
    A = np.column_stack([X, np.ones(len(y))])
    assert optimum == pytest.approx(np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2), rel=1e-9)
    assert r.history.loss[-1] > 1.5 * optimum
    assert code == 1 and "least-squares optimum" in err and err.count("\n") == 1
    # a short run that is still improving is not a failure
    assert run("train", "linear", "--data", str(path), "--no-standardize", "--epochs", "5", "--quiet").code == 0


def test_saved_parameters_carry_the_standardization(tmp_path):
    path, X, y = _houses(tmp_path)
    saved = tmp_path / "p.npz"
    code, _, err = run("train", "linear", "--data", str(path), "--save", str(saved), "--quiet")
    assert code == 0, err
    with np.load(saved) as p:
        by_hand = ((X - p["x_mean"]) / p["x_scale"]) @ p["w"] + p["b"]
    r = train_model("linear", data=path)
    np.testing.assert_allclose(by_hand, r.predict(X), rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Pictures of what each model is about.


def test_confusion_matrix_counts_by_hand():
    r = train_model("softmax", epochs=2)
    W, b = r.params["W"], r.params["b"]
    predicted = np.argmax(r.data.X_val @ W + b, axis=1)           # the model, in NumPy by hand
    by_hand = np.zeros((10, 10), dtype=int)
    for t, p in zip(r.data.y_val.astype(int), predicted):
        by_hand[t, p] += 1
    np.testing.assert_array_equal(plots.confusion(r), by_hand)
    text = plots.terminal_confusion(r)
    assert f"{np.trace(by_hand)} of {len(predicted)} right" in text


def test_a_headers_column_names_label_the_pictures(tmp_path):
    """The axes carry the file's own names (a header that is not there gives x1, x2)."""
    rng = np.random.default_rng(5)
    X = np.vstack([rng.normal(-2, 1, (30, 2)), rng.normal(2, 1, (30, 2))])
    rows = ["petal_len,petal_wid,kind"] + [f"{a:.3f},{b:.3f},{'big' if k >= 30 else 'small'}"
                                          for k, (a, b) in enumerate(X)]
    path = tmp_path / "flowers.csv"
    path.write_text("\n".join(rows) + "\n")
    r = train_model("logistic", data=path, epochs=5)
    assert r.data.columns == ("petal_len", "petal_wid", "kind")
    assert plots.terminal_boundary(r).splitlines()[-1].endswith("petal_len (up: petal_wid)")
    path.write_text("\n".join(rows[1:]) + "\n")
    assert plots.terminal_boundary(train_model("logistic", data=path, epochs=5)).endswith("x1 (up: x2)")


def test_decision_boundary_marks_the_side_of_w_x_plus_b():
    r = train_model("logistic", epochs=20)
    lines = plots.terminal_boundary(r, width=40, height=12).splitlines()
    grid = [line.split("┤")[-1].split("│")[-1] for line in lines[1:13]]
    X = r.data.X_val
    (x0, x1), (y0, y1) = plots._span(X[:, 0]), plots._span(X[:, 1])
    w, b = r.params["w"], float(r.params["b"])
    for i, row in enumerate(grid):
        for j, ch in enumerate(row):
            if ch in "+·":
                cx = x0 + (j + 0.5) * (x1 - x0) / 40
                cy = y1 - (i + 0.5) * (y1 - y0) / 12
                assert (ch == "+") == (w @ [cx, cy] + b > 0)


def test_terminal_pictures_follow_the_model():
    text = plots.terminal(train_model("linear", epochs=50))
    assert "the fitted line" in text and "decision boundary" not in text and "confusion" not in text
    text = plots.terminal(train_model("logistic", epochs=5))
    assert "training accuracy per epoch" in text and "decision boundary" in text


@pytest.mark.parametrize("name, panels", [("linear", 2), ("logistic", 3), ("softmax", 3)])
def test_png_has_a_panel_for_each_picture(tmp_path, name, panels):
    pytest.importorskip("matplotlib")
    r = train_model(name, epochs=3)
    path = tmp_path / "p.png"
    plots.save_png(r, path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width = int.from_bytes(data[16:20], "big")
    assert width == int(5.5 * panels * 100)
