"""device="numba": the fused kernels agree with NumPy and JAX on the shapes that stress them, keep dtypes,
propagate NaN and Inf as NumPy does, and fail clearly when Numba is missing. The corpus itself runs on
numba through the `device` fixture (tests/test_examples.py)."""

import importlib.util
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from cases import jax_namespace

import irgraph
import passes

numba = pytest.importorskip("numba")

MODELS = {
    "column_times_row": ("loss = sum(tanh(a * b) + a)", {"a": (5, 1), "b": (1, 7)}),
    "stack_3d": ("h = tanh(X * w + c)\nloss = mean(h * h)", {"X": (3, 4, 5), "w": (5,), "c": (4, 1)}),
    "axis0": ("loss = sum(sum(A * A, 0) * v)", {"A": (6, 4), "v": (4,)}),
    "axis1": ("loss = sum(mean(exp(A), 1) * u)", {"A": (6, 4), "u": (6,)}),
    "axis_last_3d": ("loss = sum(sum(A * A, -1) * B)", {"A": (2, 3, 4), "B": (2, 3)}),
    "axis_middle_3d": ("loss = sum(sum(sigmoid(A), 1))", {"A": (2, 3, 4)}),
    "single_element": ("loss = sum(x * y + log(1 + x * x))", {"x": (1,), "y": (1, 1)}),
    # matrix products with an axis of size 1 run inside loops: W3's one-output layer, a one-column layer, an
    # outer product; their gradients are outer and matrix-vector products too
    "row_layer": ("h = tanh(W1 @ X + b1)\nloss = mean((W2 @ h + b2 - Y)^2)",
                  {"W1": (6, 3), "X": (3, 9), "b1": (6, 1), "W2": (1, 6), "b2": (1, 1), "Y": (1, 9)}),
    "column_layer": ("h = sigmoid(A @ v + c)\nloss = sum(h * log(1 + h * h))", {"A": (6, 5), "v": (5, 1), "c": (6, 1)}),
    "outer": ("loss = sum(exp(u @ v) * (u @ v))", {"u": (4, 1), "v": (1, 3)}),
}


def _inputs(shapes, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=s).astype(dtype) for k, s in shapes.items()}


def _jax(text, inputs):
    """Value and gradients by jax.grad of the model's forward value, computed by the generated array-API
    module on jax.numpy (no gradient code of irgraph's is involved)."""
    F = jax_namespace()
    if F is None:
        pytest.skip("JAX is not installed")
    import jax
    import jax.numpy as jnp

    ns = {}
    exec(irgraph.compile(text, wrt=[]).source, ns)  # noqa: S102 - the forward value only, run on JAX arrays
    f = lambda v: ns["value_and_grad"](v, xp=jnp)[0]
    v = {k: jnp.asarray(x) for k, x in inputs.items()}
    return float(f(v)), {k: np.asarray(g) for k, g in jax.grad(f)(v).items()}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_numba_agrees_with_jax_and_numpy(name):
    text, shapes = MODELS[name]
    inputs = _inputs(shapes)
    prog = irgraph.compile(text)
    res = prog.run(inputs, device="numba")
    assert res.device == "numba"
    value, grads = _jax(text, inputs)
    np.testing.assert_allclose(res.value, value, rtol=1e-10)
    for k, g in grads.items():
        np.testing.assert_allclose(res.grads[k], g, rtol=1e-10, atol=1e-12, err_msg=k)
        assert np.shape(res.grads[k]) == shapes[k]


@pytest.mark.parametrize("name", ["column_times_row", "stack_3d", "axis1", "row_layer", "column_layer", "outer"])
def test_float32_stays_float32_and_agrees(name):
    text, shapes = MODELS[name]
    inputs = _inputs(shapes, dtype=np.float32)
    res = irgraph.compile(text).run(inputs, device="numba")
    ref = irgraph.compile(text).run({k: v.astype(np.float64) for k, v in inputs.items()}, device="numpy")
    assert np.asarray(res.value).dtype == np.float32
    np.testing.assert_allclose(res.value, ref.value, rtol=1e-5)
    for k in inputs:
        assert res.grads[k].dtype == np.float32, k
        np.testing.assert_allclose(res.grads[k], ref.grads[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_non_contiguous_and_fortran_inputs():
    text = "loss = sum(tanh(A * c) * B)"
    rng = np.random.default_rng(1)
    A = np.asfortranarray(rng.normal(size=(6, 5)))
    B = rng.normal(size=(12, 10))[::2, ::2]  # strided view
    inputs = {"A": A, "B": B, "c": rng.normal(size=(6, 1))}
    prog = irgraph.compile(text)
    got, ref = prog.run(inputs, device="numba"), prog.run(inputs, device="numpy")
    np.testing.assert_allclose(got.value, ref.value, rtol=1e-12)
    for k in inputs:
        np.testing.assert_allclose(got.grads[k], ref.grads[k], rtol=1e-12, err_msg=k)


def test_nan_and_inf_propagate_as_on_numpy():
    text = "y = x * w + tanh(x)\nloss = sum(y * y)"
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0])
    prog = irgraph.compile(text)
    with np.errstate(all="ignore"):
        ref = prog.run({"x": x, "w": 2.0}, device="numpy")
    got = prog.run({"x": x, "w": 2.0}, device="numba")
    for a, b in [(got.value, ref.value), (got.grads["x"], ref.grads["x"])]:
        a, b = np.asarray(a), np.asarray(b)
        assert np.array_equal(np.isnan(a), np.isnan(b)) and np.array_equal(np.isinf(a), np.isinf(b))
        np.testing.assert_allclose(a, b, rtol=1e-13)  # finite entries: the same up to rounding


# Large enough for row phases (backends/numba_phases.py): a product and the loops around it run by blocks of
# rows, one per thread. Gradients with respect to X too, so that aᵀ @ g (a transposed left factor) appears.
PHASED = {
    "mlp_wide": ("h = tanh(W1 @ X + b1)\nloss = mean((W2 @ h + b2 - Y)^2)",
                 {"W1": (24, 8), "X": (8, 8192), "b1": (24, 1), "W2": (1, 24), "b2": (1, 1), "Y": (1, 8192)}),
    "two_layers": ("h = sigmoid(A @ X)\nz = tanh(B @ h)\nloss = sum(z * z) / 1000",
                   {"A": (20, 6), "X": (6, 9000), "B": (20, 20)}),
}


@pytest.mark.parametrize("name", sorted(PHASED))
def test_row_phases_agree_with_jax(name):
    text, shapes = PHASED[name]
    inputs = _inputs(shapes, seed=4)
    prog = irgraph.compile(text)
    assert "_rows(_phase1, _nc)" in prog.source_for("numba", inputs)
    res = prog.run(inputs, device="numba")
    value, grads = _jax(text, inputs)
    np.testing.assert_allclose(res.value, value, rtol=1e-10)
    for k, g in grads.items():
        np.testing.assert_allclose(res.grads[k], g, rtol=1e-9, atol=1e-12 * np.abs(g).max(), err_msg=k)


@pytest.mark.parametrize("name", ["stack_3d", "row_layer", "phased"])
def test_results_outlive_the_next_call_and_threads_share_no_temporaries(name):
    """Temporaries live in a workspace reused from call to call; what a call returns is the caller's."""
    from concurrent.futures import ThreadPoolExecutor

    text, shapes = PHASED["mlp_wide"] if name == "phased" else MODELS[name]
    prog = irgraph.compile(text)
    runs = [_inputs(shapes, seed=s) for s in range(8)]
    refs = [prog.run(inputs, device="numpy") for inputs in runs]
    first = prog.run(runs[0], device="numba")
    kept = {k: np.copy(g) for k, g in first.grads.items()}
    second = prog.run(runs[1], device="numba")
    for k, g in first.grads.items():
        np.testing.assert_array_equal(g, kept[k], err_msg=k)
        assert not np.shares_memory(g, second.grads[k]), k
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda inputs: prog.run(inputs, device="numba"), runs * 3))
    for res, ref in zip(results, refs * 3):
        np.testing.assert_allclose(res.value, ref.value, rtol=1e-12)
        for k in ref.grads:
            np.testing.assert_allclose(res.grads[k], ref.grads[k], rtol=1e-12, atol=1e-15, err_msg=k)


CONTRACTIONS = {  # a loop that would only sum a product of two arrays goes to BLAS (through einsum)
    "gemv_rows": ("z = sum(A * v, 1)\nloss = sum(z * z)", {"A": (300, 40), "v": (40,)}),
    "gemv_columns": ("z = sum(A * u, 0)\nloss = sum(tanh(z))", {"A": (300, 40), "u": (300, 1)}),
    "batched_dot_3d": ("z = mean(A * B, -1)\nloss = sum(exp(z))", {"A": (4, 5, 6), "B": (5, 6)}),
}


@pytest.mark.parametrize("name", sorted(CONTRACTIONS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_a_lone_contraction_is_a_blas_kernel_and_agrees_with_jax(name, dtype):
    text, shapes = CONTRACTIONS[name]
    prog = irgraph.compile(text)
    inputs = _inputs(shapes, dtype=dtype)
    kernels = passes.fuse(prog, {v: shapes[n] for n, v in prog.inputs}).kernels
    assert [k.kind for k in kernels if "z" in k.equations()] == ["blas"]
    assert "z = _product_sum(" in prog.source_for("numba", inputs)
    res = prog.run(inputs, device="numba")
    value, grads = _jax(text, {k: v.astype(np.float64) for k, v in inputs.items()})
    rtol = 1e-10 if dtype == np.float64 else 1e-5  # float32: of the whole gradient (sums of 300 terms cancel)
    assert np.asarray(res.value).dtype == dtype
    np.testing.assert_allclose(res.value, value, rtol=rtol)
    for k, g in grads.items():
        assert res.grads[k].dtype == dtype, k
        assert np.linalg.norm(res.grads[k] - g) <= rtol * np.linalg.norm(g), k


def test_linear_regression_is_one_loop():
    """The W2 shape: every elementwise step and every reduction, forward and backward, in one kernel."""
    text = (pathlib.Path(__file__).parent.parent / "examples" / "linreg.eq").read_text()
    prog = irgraph.compile(text, wrt=["b", "w1", "w2"])
    shapes = {v: ((1000,) if name in ("x1", "x2", "y") else ()) for name, v in prog.inputs}
    kernels = passes.fuse(prog, shapes).kernels
    loops = [k for k in kernels if k.kind == "loop"]
    assert len(loops) == 1 and {"loss", "d_b", "d_w1", "d_w2"} <= set(loops[0].writes)
    assert {k.kind for k in kernels} == {"loop", "scalar"}


def test_standalone_module_needs_numpy_and_numba_only(tmp_path):
    text, shapes = MODELS["stack_3d"]
    inputs = _inputs(shapes)
    prog = irgraph.compile(text)
    source = prog.source_for("numba", inputs)
    assert "import irgraph" not in source and "def value_and_grad(inputs):" in source
    (tmp_path / "fused.py").write_text(source)
    np.savez(tmp_path / "in.npz", **inputs)
    code = ("import fused, numpy; d = dict(numpy.load('in.npz')); v, g = fused.value_and_grad(d); "
            "print(repr(float(v)))")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": ""}
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                         check=True, timeout=300)
    assert float(out.stdout) == pytest.approx(float(prog.run(inputs, device="numpy").value), rel=1e-12)


def test_missing_numba_is_an_error_naming_the_package():
    code = ("import sys; sys.modules['numba'] = None\nimport irgraph\n"
            "try:\n    irgraph.compile('loss = sum(x*x)').run({'x': [1.0, 2.0]}, device='numba')\n"
            "except irgraph.Error as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert "numba" in out.stdout and "pip install" in out.stdout


def test_auto_picks_numpy_for_small_inputs_and_numba_for_large():
    prog = irgraph.compile("loss = sum(x * x)")
    assert prog.run({"x": np.ones(3)}).device == "numpy"
    if importlib.util.find_spec("cupy") is None:
        assert prog.run({"x": np.ones(200_000)}).device == "numba"
