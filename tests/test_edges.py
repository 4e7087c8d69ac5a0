"""The edges of arithmetic, on prog.run and on the generated module alike, checked against JAX: zero and
negative bases, x^0, division by zero, overflow, signed zeros, constant outputs, float32, output names.

The random-model campaign (tests/test_campaign.py) finds such cases by chance; these pin each one down.
"""

import warnings

import numpy as np
import pytest
from randmodels import jax_ops, run_module

import irgraph

J = jax_ops()
needs_jax = pytest.mark.skipif(J is None, reason="JAX is not installed (pip install -e '.[dev]')")


def both(text, inputs, wrt=None):
    """[(path, value, grads)] from prog.run and from the generated module."""
    prog = irgraph.compile(text, wrt=wrt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # inf and NaN are the point here
        res = prog.run(inputs)
        module = run_module(prog.source, inputs)
    return [("run", res.value, res.grads), ("module", *module)]


def same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape, (got, want)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=0)
    assert np.array_equal(np.signbit(got), np.signbit(want)), (got, want)


def agrees_with_jax(text, f, inputs):
    """The model's value and gradients on both paths equal jax.value_and_grad(f) (all inputs are wrt)."""
    names = list(inputs)
    args = [J.jnp.asarray(inputs[n]) for n in names]
    value, grads = J.jax.value_and_grad(lambda *a: f(*a), argnums=tuple(range(len(names))))(*args)
    for path, v, g in both(text, inputs):
        same(v, value)
        for n, want in zip(names, grads):
            same(g[n], want)


@needs_jax
@pytest.mark.parametrize("x", [0.0, np.zeros(3), np.array([0.0, -2.0, 3.0])], ids=["scalar", "zeros", "mixed"])
def test_x_to_the_zero_has_derivative_zero_even_at_zero(x):
    agrees_with_jax("loss = sum(x^0)", lambda x: J.jnp.sum(x ** 0), {"x": x})


@needs_jax
@pytest.mark.parametrize("c", [1.0, 0.5, 2.0, -1.0])
def test_x_to_a_constant_at_zero(c):
    agrees_with_jax(f"loss = sum(x^{c})", lambda x: J.jnp.sum(J.jnp.power(x, c)), {"x": np.array([0.0, 1.5])})


@needs_jax
def test_the_exponent_partial_is_zero_where_the_base_is_zero():
    agrees_with_jax("loss = sum(relu(x)^p)", lambda x, p: J.jnp.sum(J.jax.nn.relu(x) ** p),
                    {"x": np.array([0.0, 1.0, 2.0]), "p": 1.5})
    agrees_with_jax("loss = 0^y", lambda y: J.jnp.power(0.0, y), {"y": 2.0})


def test_no_complex_number_ever_comes_out():
    for text, inputs in [("loss = sum(x * (-8)^0.5)", {"x": np.ones(3)}), ("loss = x^0.5", {"x": -4.0}),
                         ("loss = x^y", {"x": -2.0, "y": 0.5})]:
        for path, value, grads in both(text, inputs):
            assert not np.iscomplexobj(value) and np.isnan(value), (text, path, value)
            assert not any(np.iscomplexobj(g) for g in grads.values()), (text, path, grads)


@needs_jax
def test_division_by_zero_and_overflow_give_inf_and_nan_as_numpy_does():
    agrees_with_jax("loss = x/y", lambda x, y: x / y, {"x": 1.0, "y": 0.0})
    agrees_with_jax("loss = x/y", lambda x, y: x / y, {"x": 0.0, "y": 0.0})
    agrees_with_jax("loss = x^2", lambda x: x ** 2, {"x": 1e200})
    agrees_with_jax("loss = sum(x / 0)", lambda x: J.jnp.sum(x / 0.0), {"x": np.array([1.0, -1.0])})


@needs_jax
def test_a_negative_zero_constant_keeps_its_sign():
    agrees_with_jax("loss = x / (0 / -1)", lambda x: x / (0.0 / -1.0), {"x": 2.0})
    agrees_with_jax("loss = x * -0.0 + x * 0.0", lambda x: x * -0.0 + x * 0.0, {"x": -2.0})


@needs_jax
def test_a_flat_relu_stops_an_infinite_gradient():
    agrees_with_jax("loss = 1 / relu(w)", lambda w: 1 / J.jax.nn.relu(w), {"w": -2.0})


def test_large_constants_stay_floats_in_the_module():
    for path, value, grads in both("loss = sum(3)^40 * x", {"x": 1.0}):
        assert value == 3.0 ** 40 and np.asarray(grads["x"]).dtype == np.float64, path
    assert "12157665459056928801" not in irgraph.compile("loss = 3^40 * x").source


@pytest.mark.parametrize("text", ["loss = 3*2", "a = x*2\nloss = exp(cos(3.0))", "loss = sum(3)^2"])
def test_a_constant_output_on_both_paths(text):
    results = both(text, {"x": np.arange(3.0)})
    for path, value, grads in results:
        assert type(value) is float or np.asarray(value).dtype == np.float64, (path, value)
        assert all(np.asarray(g).dtype == np.float64 for g in grads.values()), (path, grads)
    (_, v1, g1), (_, v2, g2) = results
    assert v1 == v2 and g1.keys() == g2.keys()


@pytest.mark.parametrize("text", ["loss = x*3", "loss = x", "loss = 3*2", "a = sin(x)\nloss = sin(x)",
                                  "a = x\nloss = a + 0"])
def test_the_output_keeps_its_name(text):
    prog = irgraph.compile(text, output="loss")
    assert prog.output[0] == "loss"
    assert "value of loss" in prog.source
    assert "t1" not in str(prog)


@pytest.mark.parametrize("text", ["loss = sum(relu(x) * 2)", "loss = sum(x) * y + sum(3)", "loss = relu(y)",
                                  "loss = -(y^0) + mean(x * 2.5)", "loss = sum(x / y)"])
def test_float32_stays_float32(text):
    inputs = {"x": np.arange(1, 4, dtype=np.float32), "y": np.float32(0.5)}
    for path, value, grads in both(text, inputs):
        assert np.asarray(value).dtype == np.float32, (path, value)
        assert all(np.asarray(g).dtype == np.float32 for g in grads.values()), (path, grads)


def test_the_module_and_run_agree_on_types():
    for text, inputs in [("loss = 3*2 + x", {"x": 1.0}), ("loss = 2*x", {"x": 1.5}),
                         ("loss = sum(2*x)", {"x": np.ones(2)})]:
        (_, v1, g1), (_, v2, g2) = both(text, inputs)
        assert np.asarray(v1).dtype == np.asarray(v2).dtype == np.float64
        assert all(np.asarray(g1[k]).dtype == np.asarray(g2[k]).dtype for k in g1)
