"""irgraph.fit: learned parameters checked against closed-form and independent solutions (lstsq, a Newton
solve or scikit-learn), the optimiser updates against hand-written transcriptions, mini-batches, the
validation split, divergence, progress output and the loss plot."""

import io
import json
import pathlib

import numpy as np
import pytest
from cases import EXAMPLES

import irgraph
from irgraph.fit import DivergedError, FitResult, parse_shapes, spans_decades

LINREG = (EXAMPLES / "linreg.eq").read_text()
LOGISTIC = (EXAMPLES / "logistic.eq").read_text()
MLP = (EXAMPLES / "mlp.eq").read_text()
SCALARS = "b=scalar,w1=scalar,w2=scalar"


def linear_data(n=200, seed=1):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    return {"x1": x1, "x2": x2, "y": 1.5 + 2 * x1 - 3 * x2 + 0.1 * rng.normal(size=n)}


def lstsq(data):
    a = np.stack([np.ones_like(data["x1"]), data["x1"], data["x2"]], axis=1)
    return dict(zip(["b", "w1", "w2"], np.linalg.lstsq(a, data["y"], rcond=None)[0]))


# ---- reaching known solutions ------------------------------------------------------------------------------

def test_adam_reaches_the_least_squares_solution():
    data = linear_data()
    result = irgraph.fit(LINREG, data, "zeros", shapes=SCALARS, optimizer="adam", lr=0.05, steps=3000,
                         progress=False)
    for name, value in lstsq(data).items():
        assert result.params[name] == pytest.approx(value, abs=1e-4)
    assert isinstance(result, FitResult)
    assert len(result.history["loss"]) == 3000
    assert result.loss < result.history["loss"][0] / 100


@pytest.mark.parametrize("optimizer, lr", [("sgd", 0.3), ("momentum", 0.05)])
def test_sgd_and_momentum_reach_the_least_squares_solution(optimizer, lr):
    data = linear_data()
    result = irgraph.fit(LINREG, data, {"b": 0.0, "w1": 0.0, "w2": 0.0}, optimizer=optimizer, lr=lr,
                         steps=1000, progress=False)
    for name, value in lstsq(data).items():
        assert result.params[name] == pytest.approx(value, abs=1e-4)


def logistic_data(n, seed):
    """Separable-ish classes: labels from a linear rule with a little noise in the score."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    score = x @ np.array([2.0, -1.0, 0.5]) + 0.3 + 0.3 * rng.normal(size=n)
    return {"X": x, "y": (score > 0).astype(float)}


def newton_logistic(x, y, steps=50):
    """Maximum likelihood by Newton's method, written out here (independent of irgraph)."""
    a = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(a.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(a @ theta)))
        grad = a.T @ (p - y) / len(y)
        hess = (a * (p * (1 - p))[:, None]).T @ a / len(y)
        theta -= np.linalg.solve(hess, grad)
    return theta[:-1], theta[-1]


def reference_logistic(x, y):
    """(w, b) from scikit-learn's unpenalised LogisticRegression when installed, else a Newton solve."""
    try:
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        return newton_logistic(x, y)
    model = LogisticRegression(C=np.inf, tol=1e-10, max_iter=10_000).fit(x, y)  # C=inf: no penalty
    return model.coef_[0], model.intercept_[0]


def test_logistic_regression_classifies_held_out_data_and_matches_the_reference():
    train, test = logistic_data(2000, seed=2), logistic_data(1000, seed=3)
    result = irgraph.fit(LOGISTIC, train, "zeros", shapes="w=3,b=scalar", lr=0.1, steps=1500, progress=False)
    loss = result.history["loss"]
    windows = loss.reshape(15, 100).mean(axis=1)
    assert np.all(np.diff(windows) < 0), "the loss decreases on average"
    predicted = (test["X"] @ result.params["w"] + result.params["b"]) > 0
    assert np.mean(predicted == test["y"]) >= 0.95
    w, b = reference_logistic(train["X"], train["y"])
    np.testing.assert_allclose(result.params["w"], w, rtol=2e-2)
    assert result.params["b"] == pytest.approx(b, rel=5e-2, abs=1e-2)


def test_the_mlp_fits_a_noisy_sine_better_than_a_linear_model():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, size=(1, 256))
    data = {"X": x, "Y": np.sin(x) + 0.1 * rng.normal(size=x.shape)}
    mlp = irgraph.fit(MLP, data, "normal", shapes="W1=16x1,b1=16x1,W2=1x16,b2=1x1", lr=0.02, steps=1500,
                      progress=False)
    line = irgraph.fit("yhat = W @ X + b\nloss = mean((yhat - Y)^2)", data, "zeros", shapes="W=1x1,b=1x1",
                       lr=0.02, steps=1500, progress=False)
    assert mlp.loss < line.loss / 5
    assert mlp.loss < 0.03  # the noise alone is 0.01


# ---- optimiser updates, against hand-written transcriptions ---------------------------------------------

QUADRATIC = "loss = sum((w - c)^2)"  # gradient 2 (w - c)


def hand_written(optimizer, lr, w, c, steps):
    """The textbook update rules (PyTorch's conventions), run on the quadratic's exact gradient."""
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t in range(1, steps + 1):
        g = 2 * (w - c)
        if optimizer == "sgd":
            w = w - lr * g
        elif optimizer == "momentum":
            v = 0.9 * v + g
            w = w - lr * v
        else:
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g**2
            w = w - lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_optimizer_steps_match_the_textbook_rules(optimizer):
    c = np.array([1.0, -2.0, 0.5])
    w0 = np.array([0.3, 0.1, -4.0])
    result = irgraph.fit(QUADRATIC, {"c": c}, {"w": w0}, optimizer=optimizer, lr=0.05, steps=7, progress=False)
    np.testing.assert_allclose(result.params["w"], hand_written(optimizer, 0.05, w0, c, 7), rtol=1e-12)


# ---- mini-batches and the validation split ---------------------------------------------------------------

def test_mini_batches_are_a_seeded_shuffle():
    data = linear_data(n=300)
    kw = {"shapes": SCALARS, "lr": 0.05, "steps": 400, "batch_size": 32, "progress": False}
    a = irgraph.fit(LINREG, data, "zeros", seed=4, **kw)
    b = irgraph.fit(LINREG, data, "zeros", seed=4, **kw)
    c = irgraph.fit(LINREG, data, "zeros", seed=5, **kw)
    np.testing.assert_array_equal(a.history["loss"], b.history["loss"])
    assert not np.array_equal(a.history["loss"], c.history["loss"])
    for name, value in lstsq(data).items():
        assert a.params[name] == pytest.approx(value, abs=0.05)  # noisy steps land near the solution


def test_mini_batches_take_rows_along_each_arrays_batch_axis():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(2, 500))  # the MLP's data are columns: the batch axis is axis 1
    data = {"X": x, "Y": (x[:1] - 2 * x[1:]) + 0.5}
    result = irgraph.fit("loss = mean((W @ X + b - Y)^2)", data, "zeros", shapes="W=1x2,b=1x1", lr=0.05,
                         steps=600, batch_size=50, progress=False)
    np.testing.assert_allclose(result.params["W"], [[1.0, -2.0]], atol=1e-3)


def test_validation_split_holds_rows_out_and_reports_their_loss():
    data = linear_data(n=400)
    result = irgraph.fit(LINREG, data, "zeros", shapes=SCALARS, lr=0.05, steps=300, val_split=0.25,
                         progress=False)
    assert len(result.history["val_loss"]) == len(result.history["loss"]) == 300
    assert 0.005 < result.val_loss < 0.02  # the noise variance is 0.01
    held_out = irgraph.fit(LINREG, data, "zeros", shapes=SCALARS, lr=0.05, steps=300, progress=False)
    assert result.params["w1"] != held_out.params["w1"]  # trained on fewer rows


# ---- divergence ----------------------------------------------------------------------------------------

def test_a_diverging_fit_names_the_step_and_keeps_the_last_finite_parameters():
    data = linear_data()
    with pytest.raises(DivergedError) as info:
        irgraph.fit(LINREG, data, "zeros", shapes=SCALARS, optimizer="sgd", lr=1e3, steps=500, progress=False)
    e = info.value
    assert f"at step {e.step}" in str(e) and "smaller --lr" in str(e)
    assert e.step > 1 and e.result.steps == e.step - 1
    assert all(np.all(np.isfinite(v)) for v in e.result.params.values())
    assert np.isfinite(e.result.loss)
    assert isinstance(e, irgraph.Error)


# ---- what a user gets wrong ------------------------------------------------------------------------------

@pytest.mark.parametrize("data, init, kw, fragment", [
    ({"x1": [1.0], "x3": [1.0], "y": [1.0]}, "zeros", {"shapes": SCALARS}, "'x3'"),
    ({"x1": [1.0], "x2": [1.0], "y": [1.0]}, {"b": 0.0}, {}, "'w1', 'w2'"),
    ({"x1": [1.0], "x2": [1.0], "y": [1.0]}, "zeros", {"shapes": "b=scalar"}, "shape of 'w1', 'w2'"),
    ({"x1": [1.0], "x2": [1.0], "y": [1.0]}, "zeros", {"shapes": "b=3y"}, "'b'"),
    ({"x1": [1.0], "x2": [1.0], "y": [1.0]}, "zeros", {"shapes": SCALARS, "optimizer": "lbfgs"}, "lbfgs"),
    ({"x1": [1.0], "x2": [1.0], "y": [1.0]}, "ones", {"shapes": SCALARS}, "'ones'"),
    ({"x1": [1.0], "x2": [1.0], "y": [1.0]}, "zeros", {"shapes": SCALARS, "wrt": ["y"]}, "'y' is in the data"),
    ({"x1": [1.0, 2.0], "x2": [1.0, 2.0, 3.0], "y": [1.0]}, "zeros", {"shapes": SCALARS}, "line 2"),
])
def test_errors_name_what_is_wrong(data, init, kw, fragment):
    with pytest.raises(irgraph.Error) as info:
        irgraph.fit(LINREG, {k: np.array(v) for k, v in data.items()}, init, steps=3, progress=False, **kw)
    assert fragment in str(info.value)


def test_init_from_a_json_file_with_a_fixed_input(tmp_path):
    path = tmp_path / "init.json"
    path.write_text(json.dumps({"b": 1.5, "w1": 0.0, "w2": 0.0}))
    result = irgraph.fit(LINREG, linear_data(), str(path), wrt=["w1", "w2"], lr=0.05, steps=1500, progress=False)
    assert set(result.params) == {"w1", "w2"} and result.constants == {"b": 1.5}
    assert result.params["w1"] == pytest.approx(2.0, abs=0.05)


def test_parse_shapes():
    assert parse_shapes("w=3x1,b=scalar") == {"w": (3, 1), "b": ()}
    assert parse_shapes(["w=3", "v=1"]) == {"w": (3,), "v": (1,)}
    assert parse_shapes({"w": (2, 2), "b": 4}) == {"w": (2, 2), "b": (4,)}


# ---- progress, summary, plot, saved parameters ---------------------------------------------------------

class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_one_summary_line_when_stderr_is_not_a_terminal(capsys):
    irgraph.fit(LINREG, linear_data(), "zeros", shapes=SCALARS, steps=50)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fit: 50 steps of adam (lr 0.01)")
    irgraph.fit(LINREG, linear_data(), "zeros", shapes=SCALARS, steps=50, progress=False)
    assert capsys.readouterr().err == ""


def test_progress_bar_on_a_terminal_shows_steps_and_loss(monkeypatch):
    pytest.importorskip("tqdm")
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    irgraph.fit(LINREG, linear_data(), "zeros", shapes=SCALARS, steps=20000)  # lasts > 0.1 s: tqdm refreshes
    text = terminal.getvalue()
    assert "/20000" in text and "step/s" in text and "loss=" in text
    assert text.rstrip().splitlines()[-1].startswith("fit: 20000 steps")


def test_plot_writes_png_svg_and_pdf(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    result = irgraph.fit(LINREG, linear_data(), "zeros", shapes=SCALARS, lr=0.05, steps=300, val_split=0.2,
                         progress=False)
    pixels = image.imread(result.plot(tmp_path / "loss.png"))
    assert pixels.shape[0] > 100 and pixels.std() > 0
    assert "<svg" in (tmp_path / "loss.svg").read_text() if result.plot(tmp_path / "loss.svg") else False
    assert (tmp_path / "loss.pdf").read_bytes()[:4] == b"%PDF" if result.plot(tmp_path / "loss.pdf") else False
    with pytest.raises(irgraph.Error, match="png"):
        result.plot(tmp_path / "loss.gif")


def test_log_scale_only_when_the_loss_spans_decades():
    assert spans_decades([10.0, 1.0, 0.05])
    assert not spans_decades([10.0, 5.0, 1.0])
    assert not spans_decades([1.0, -1.0, 100.0])  # a loss that goes negative stays on a linear axis


def test_saved_parameters_run_with_the_data(tmp_path):
    data = linear_data()
    result = irgraph.fit(LINREG, data, "zeros", shapes=SCALARS, lr=0.05, steps=2000, progress=False)
    learned = json.loads(pathlib.Path(result.save(tmp_path / "learned.json")).read_text())
    assert learned == pytest.approx({k: float(v) for k, v in result.params.items()})
    res = irgraph.compile(LINREG).run({**data, **learned})
    assert res.value == pytest.approx(result.loss)


# ---- newton ------------------------------------------------------------------------------------------------

def test_newton_reaches_the_least_squares_solution_in_one_step():
    data = linear_data()
    result = irgraph.fit(LINREG, data, "zeros", shapes=SCALARS, optimizer="newton", steps=1, progress=False)
    for name, value in lstsq(data).items():
        assert result.params[name] == pytest.approx(value, abs=1e-4)
    assert result.lr == 1.0  # newton's default step: the whole Newton step
    again = irgraph.fit(LINREG, data, result.params, optimizer="newton", steps=1, progress=False)
    for name, value in result.params.items():  # at the minimum the step is 0
        assert again.params[name] == pytest.approx(value, abs=1e-12)


def test_newton_on_logistic_regression_matches_the_reference():
    train, test = logistic_data(2000, seed=2), logistic_data(1000, seed=3)
    result = irgraph.fit(LOGISTIC, train, "zeros", shapes="w=3,b=scalar", optimizer="newton", steps=12,
                         progress=False)
    assert np.all(np.diff(result.history["loss"]) < 1e-12)  # down at every step, to rounding once converged
    w, b = newton_logistic(train["X"], train["y"])  # written out in this file
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-8)
    assert result.params["b"] == pytest.approx(b, rel=1e-8)
    w, b = reference_logistic(train["X"], train["y"])  # scikit-learn when installed
    np.testing.assert_allclose(result.params["w"], w, rtol=1e-4)
    assert result.params["b"] == pytest.approx(b, rel=1e-4)
    predicted = (test["X"] @ result.params["w"] + result.params["b"]) > 0
    assert np.mean(predicted == test["y"]) >= 0.95


def test_newton_damped_by_lr_takes_that_fraction_of_the_step():
    result = irgraph.fit(QUADRATIC, {"c": np.array([1.0, -2.0])}, {"w": np.zeros(2)}, optimizer="newton", lr=0.5,
                         steps=1, progress=False)
    np.testing.assert_allclose(result.params["w"], [0.5, -1.0])  # H = 2I, g = -2c: half of the step to c


@pytest.mark.parametrize("model, data, init, fragment", [
    ("loss = sum((w - c)^2)", {"c": np.zeros(1001)}, {"w": np.ones(1001)}, "have 1001 entries (at most 1000); use adam"),
    ("loss = (a + b - y)^2", {"y": 1.0}, {"a": 0.0, "b": 0.0}, "with respect to a, b is singular at step 1"),
    ("loss = sum(relu(w) * c)", {"c": np.ones(2)}, {"w": np.ones(2)}, "singular at step 1"),
])
def test_newton_errors_suggest_adam(model, data, init, fragment):
    with pytest.raises(irgraph.Error, match="adam") as info:
        irgraph.fit(model, data, init, optimizer="newton", steps=2, progress=False)
    assert fragment in str(info.value)
