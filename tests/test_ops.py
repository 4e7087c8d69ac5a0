"""Every user-facing op row against central finite differences of an independent NumPy reference, on
scalars, tensors and broadcast shapes; dtypes; conventions at kinks; numerically delicate rules."""

import numpy as np
import pytest
from cases import NP, ROOT, finite_differences

import irgraph
from irgraph.ir.ops import ROWS

INFIX = ["add", "sub", "mul", "div", "pow", "neg", "matmul"]
USER_FACING = sorted({r.name for r in ROWS if r.user} | set(INFIX))

# name -> (how the model writes it, NumPy reference, input domain per operand)
UNARY = {
    "neg": ("-{0}", np.negative, "any"),
    "exp": ("exp({0})", np.exp, "any"),
    "log": ("log({0})", np.log, "pos"),
    "sqrt": ("sqrt({0})", np.sqrt, "pos"),
    "abs": ("abs({0})", np.abs, "away"),
    "sin": ("sin({0})", np.sin, "any"),
    "cos": ("cos({0})", np.cos, "any"),
    "tanh": ("tanh({0})", np.tanh, "any"),
    "sigmoid": ("sigmoid({0})", NP.sigmoid, "any"),
    "relu": ("relu({0})", NP.relu, "away"),
    "softplus": ("softplus({0})", lambda x: np.logaddexp(0, x), "any"),
    "log1p": ("log1p({0})", np.log1p, "pos"),
    "expm1": ("expm1({0})", np.expm1, "any"),
    "square": ("square({0})", np.square, "any"),
    "clip": ("clip({0}, -0.7, 0.9)", lambda x: np.clip(x, -0.7, 0.9), "any"),  # normal samples miss the bounds
}
BINARY = {
    "add": ("{0} + {1}", np.add, ("any", "any")),
    "sub": ("{0} - {1}", np.subtract, ("any", "any")),
    "mul": ("{0} * {1}", np.multiply, ("any", "any")),
    "div": ("{0} / {1}", np.divide, ("any", "away")),
    "pow": ("{0} ^ {1}", np.power, ("pos", "any")),
    "max": ("max({0}, {1})", np.maximum, ("any", "any")),
    "min": ("min({0}, {1})", np.minimum, ("any", "any")),
}
REDUCTIONS = {"sum": np.sum, "mean": np.mean,
              "logsumexp": lambda x, axis=None: np.log(np.sum(np.exp(x), axis=axis))}

SHAPES = [(), (3,), (2, 3)]
BROADCAST = [((), ()), ((3,), (3,)), ((), (3,)), ((3,), ()), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)),
             ((2, 3), (2, 1)), ((4, 1, 3), (2, 3)), ((2, 3), ())]
MATMUL = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
          ((5, 2, 3), (5, 3, 4)), ((2, 3), (5, 3, 4)), ((3,), (5, 3, 4)), ((5, 2, 3), (3,)),
          ((5, 1, 2, 3), (4, 3, 2))]
AXES = [((), None), ((4,), None), ((4,), 0), ((4,), -1), ((3, 4), None), ((3, 4), 0), ((3, 4), 1),
        ((3, 4), -1), ((2, 3, 4), 1), ((2, 3, 4), -3)]


def sample(rng, shape, domain="any"):
    if domain == "pos":
        x = rng.uniform(0.5, 2.0, size=shape)
    elif domain == "away":
        x = rng.uniform(0.2, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
    else:
        x = rng.normal(size=shape)
    return float(x) if shape == () else x


def check(text, inputs, wrt, ref, rtol=1e-5, atol=1e-7):
    """Compile `text`, run it, and compare the value to ref(inputs) and the gradients to finite differences."""
    prog = irgraph.compile(text, wrt=wrt)
    res = prog.run(inputs)
    np.testing.assert_allclose(res.value, ref(inputs), rtol=1e-12, atol=1e-12)
    expected = finite_differences(ref, inputs, wrt)
    assert list(res.grads) == list(wrt)
    for name in wrt:
        got = np.asarray(res.grads[name])
        assert got.shape == np.shape(inputs[name]), f"gradient of {name} has shape {got.shape}"
        assert got.dtype == np.float64
        np.testing.assert_allclose(got, expected[name], rtol=rtol, atol=atol, err_msg=f"{text}: d/d{name}")
    return prog, res


def test_every_user_facing_op_is_tested_here():
    tested = set(UNARY) | set(BINARY) | set(REDUCTIONS) | {"matmul", "transpose", "softmax"}
    assert tested == set(USER_FACING), "a new op row needs its finite-difference test here"


def test_every_function_is_listed_in_the_readme_with_its_convention():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## The model language")[1].split("\n\n|")[1].split("\n\n")[0]
    listed = {name for name in USER_FACING if f"`{name}(" in table}
    assert listed == {r.name for r in ROWS if r.user}, "a new function needs its row in the README's table"


# ---- elementwise ops -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_op_against_finite_differences(op, shape):
    form, f, domain = UNARY[op]
    rng = np.random.default_rng(hash((op, shape)) % 2**32)
    inputs = {"x": sample(rng, shape, domain), "c": sample(rng, shape)}
    text = f"loss = sum(c * {form.format('x')})"
    check(text, inputs, ["x"], lambda v: np.sum(v["c"] * f(v["x"])))


@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_op_on_a_scalar_without_reduction(op):
    form, f, domain = UNARY[op]
    inputs = {"x": sample(np.random.default_rng(7), (), domain)}
    check(f"loss = {form.format('x')}", inputs, ["x"], lambda v: f(v["x"]))


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_op_against_finite_differences(op, shapes):
    form, f, (da, db) = BINARY[op]
    rng = np.random.default_rng(hash((op, shapes)) % 2**32)
    out = np.broadcast_shapes(*shapes)
    inputs = {"a": sample(rng, shapes[0], da), "b": sample(rng, shapes[1], db), "c": sample(rng, out)}
    check(f"loss = sum(c * ({form.format('a', 'b')}))", inputs, ["a", "b"],
          lambda v: np.sum(v["c"] * f(v["a"], v["b"])))


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_op_with_the_same_variable_twice(op):
    """x OP x: two edges from x, whose contributions add up."""
    form, f, (da, _) = BINARY[op]
    inputs = {"x": sample(np.random.default_rng(3), (4,), "pos" if op in ("div", "pow") else da)}
    check(f"loss = sum({form.format('x', 'x')})", inputs, ["x"], lambda v: np.sum(f(v["x"], v["x"])))


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_op_with_constants_on_either_side(op):
    form, f, _ = BINARY[op]
    inputs = {"x": sample(np.random.default_rng(4), (3,), "pos")}
    check(f"loss = sum(({form.format('x', '1.5')}) * ({form.format('2.5', 'x')}))", inputs, ["x"],
          lambda v: np.sum(f(v["x"], 1.5) * f(2.5, v["x"])))


# ---- tensor ops ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", MATMUL, ids=str)
def test_matmul_against_finite_differences(shapes):
    rng = np.random.default_rng(len(str(shapes)))
    a, b = rng.normal(size=shapes[0]), rng.normal(size=shapes[1])
    out = np.shape(a @ b)
    inputs = {"A": a, "B": b, "c": sample(rng, out)}
    check("loss = sum(c * (A @ B))", inputs, ["A", "B"], lambda v: np.sum(v["c"] * (v["A"] @ v["B"])))


@pytest.mark.parametrize("shape, axis", AXES, ids=str)
@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reduction_against_finite_differences(op, shape, axis):
    f = REDUCTIONS[op]
    rng = np.random.default_rng(5)
    x = sample(rng, shape)
    inputs = {"x": x, "c": sample(rng, np.shape(f(x, axis=axis)))}
    call = f"{op}(x)" if axis is None else f"{op}(x, {axis})"
    check(f"loss = sum(c * {call})", inputs, ["x"], lambda v: np.sum(v["c"] * f(v["x"], axis=axis)))


def _softmax(x, axis=-1):
    z = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return z / np.sum(z, axis=axis, keepdims=True)


@pytest.mark.parametrize("shape, axis", [((4,), None), ((4,), 0), ((3, 4), None), ((3, 4), 0), ((3, 4), 1),
                                         ((2, 3, 4), 1)], ids=str)
def test_softmax_against_finite_differences(shape, axis):
    rng = np.random.default_rng(8)
    inputs = {"x": rng.normal(size=shape), "c": rng.normal(size=shape)}
    call = "softmax(x)" if axis is None else f"softmax(x, {axis})"  # default: the last axis, as in JAX
    check(f"loss = sum(c * {call})", inputs, ["x"],
          lambda v: np.sum(v["c"] * _softmax(v["x"], -1 if axis is None else axis)))


def test_softmax_is_stable_for_large_inputs():
    x = np.array([[1000.0, 0.0, -1000.0], [5.0, 5.0, 5.0]])
    res = irgraph.compile("loss = sum(c * softmax(x, 1))", wrt=["x"]).run({"x": x, "c": np.arange(6.0).reshape(2, 3)},
                                                                        check_finite=True)
    assert np.isfinite(res.value) and np.all(np.isfinite(res.grads["x"]))
    assert res.value == pytest.approx(0 * 1 + (3 + 4 + 5) / 3)  # one-hot in the first row, uniform in the second


@pytest.mark.parametrize("op", sorted(REDUCTIONS))
def test_reduction_to_the_output(op):
    f = REDUCTIONS[op]
    inputs = {"x": sample(np.random.default_rng(6), (3, 4))}
    check(f"loss = {op}(x^2)", inputs, ["x"], lambda v: f(v["x"] ** 2))


@pytest.mark.parametrize("shape", [(), (4,), (3, 4), (2, 3, 4)], ids=str)
def test_transpose_against_finite_differences(shape):
    rng = np.random.default_rng(8)
    x = sample(rng, shape)
    inputs = {"x": x, "c": sample(rng, np.shape(np.transpose(x)))}
    check("loss = sum(c * transpose(x))", inputs, ["x"], lambda v: np.sum(v["c"] * np.transpose(v["x"])))


def test_transpose_inside_a_matmul():
    rng = np.random.default_rng(9)
    inputs = {"A": rng.normal(size=(3, 2)), "B": rng.normal(size=(3, 4))}
    check("m = transpose(A) @ B\nloss = sum(m * m)", inputs, ["A", "B"],
          lambda v: np.sum((v["A"].T @ v["B"]) ** 2))


# ---- dtypes --------------------------------------------------------------------------------------------------

def _dtype_cases():
    for op, (form, _, domain) in sorted(UNARY.items()):
        yield op, f"loss = sum(c * {form.format('x')})", {"x": ((3,), domain), "c": ((3,), "any")}
    for op, (form, _, (da, db)) in sorted(BINARY.items()):
        yield op, f"loss = sum(c * ({form.format('x', 'y')}))", {"x": ((2, 3), da), "y": ((3,), db),
                                                                  "c": ((2, 3), "any")}
    yield "matmul", "loss = sum(c * (x @ y))", {"x": ((2, 3), "any"), "y": ((3, 4), "any"), "c": ((2, 4), "any")}
    yield "sum", "loss = sum(c * sum(x, 0))", {"x": ((3, 4), "any"), "c": ((4,), "any")}
    yield "mean", "loss = mean(x) + sum(c * mean(x, 1))", {"x": ((3, 4), "any"), "c": ((3,), "any")}
    yield "transpose", "loss = sum(c * transpose(x))", {"x": ((3, 4), "any"), "c": ((4, 3), "any")}
    yield "scalars", "loss = x * y + y / x", {"x": ((), "pos"), "y": ((), "any")}
    # The output's own gradient (the seed, 1) must not turn float32 into float64 on its way back.
    yield "sum_seed", "loss = sum(x)", {"x": ((3,), "any")}
    yield "sum_axis_seed", "loss = sum(x, 0)", {"x": ((3,), "any")}
    yield "mean_seed", "loss = mean(x)", {"x": ((2, 3), "any")}
    yield "dot_seed", "loss = x @ y", {"x": ((3,), "any"), "y": ((3,), "any")}
    yield "matvec_dot_seed", "loss = v @ (A @ v)", {"A": ((3, 3), "any"), "v": ((3,), "any")}
    yield "constant", "loss = 3 * x", {"x": ((), "any")}


DTYPE_CASES = list(_dtype_cases())


@pytest.mark.parametrize("op, text, spec", DTYPE_CASES, ids=[c[0] for c in DTYPE_CASES])
def test_float32_in_gives_float32_out(op, text, spec):
    rng = np.random.default_rng(10)
    inputs = {k: np.asarray(sample(rng, shape, domain), dtype=np.float32) for k, (shape, domain) in spec.items()}
    res = irgraph.compile(text).run(inputs)
    assert np.asarray(res.value).dtype == np.float32, text
    for name, g in res.grads.items():
        assert np.asarray(g).dtype == np.float32, f"{text}: gradient of {name}"
        assert np.shape(g) == inputs[name].shape
    # ... and float32 results agree with float64 ones.
    res64 = irgraph.compile(text).run({k: v.astype(np.float64) for k, v in inputs.items()})
    np.testing.assert_allclose(res.value, res64.value, rtol=1e-4, atol=1e-5)
    for name in res.grads:
        np.testing.assert_allclose(res.grads[name], res64.grads[name], rtol=1e-3, atol=1e-4)


def test_float32_scalars_stay_float32():
    res = irgraph.compile("loss = w * x + sigmoid(w)").run({"w": np.float32(0.5), "x": np.float32(2.0)})
    assert np.asarray(res.value).dtype == np.float32
    assert all(np.asarray(g).dtype == np.float32 for g in res.grads.values())


def test_integer_inputs_are_promoted_to_float64():
    prog = irgraph.compile("loss = sum(w * x) / 2 + mean(x^2)")
    res = prog.run({"w": np.array([1, 2, 3]), "x": np.array([4, 5, 6], dtype=np.int32)})
    assert np.asarray(res.value).dtype == np.float64
    assert res.value == pytest.approx((4 + 10 + 18) / 2 + (16 + 25 + 36) / 3)
    assert res.grads["w"].dtype == np.float64 and res.grads["x"].dtype == np.float64
    np.testing.assert_allclose(res.grads["w"], [2.0, 2.5, 3.0])
    np.testing.assert_allclose(res.grads["x"], [0.5 + 8 / 3, 1 + 10 / 3, 1.5 + 4])
    # Python ints, NumPy integer scalars and booleans too: 7 / 2 must not be integer division.
    res = irgraph.compile("loss = w / x").run({"w": 7, "x": np.int64(2)})
    assert res.value == 3.5 and np.asarray(res.value).dtype == np.float64
    assert res.grads["w"] == 0.5 and res.grads["x"] == -7 / 4
    res = irgraph.compile("loss = sum(m * w)").run({"m": np.array([True, False, True]), "w": np.ones(3)})
    assert res.value == 2.0
    np.testing.assert_array_equal(res.grads["m"], [1.0, 1.0, 1.0])


@pytest.mark.parametrize("x", [1.5, np.float64(1.5), np.array(1.5), np.array([1.5])], ids=type)
def test_inputs_may_be_numbers_numpy_scalars_or_arrays(x):
    res = irgraph.compile("loss = sum(x^2)").run({"x": x})
    assert float(res.value) == 2.25
    assert np.shape(res.grads["x"]) == np.shape(x)
    assert float(np.sum(res.grads["x"])) == 3.0


# ---- conventions at kinks and delicate numerics ------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_relu_and_abs_have_zero_derivative_at_zero(dtype):
    x = np.array([-1.0, 0.0, 2.0, -0.0], dtype=dtype)
    res = irgraph.compile("loss = sum(relu(x))").run({"x": x})
    np.testing.assert_array_equal(res.grads["x"], [0.0, 0.0, 1.0, 0.0])
    res = irgraph.compile("loss = sum(abs(x))").run({"x": x})
    np.testing.assert_array_equal(res.grads["x"], [-1.0, 0.0, 1.0, 0.0])
    for text in ["loss = relu(x)", "loss = abs(x)", "loss = relu(x) * 2 + abs(x)"]:
        res = irgraph.compile(text).run({"x": 0.0})
        assert float(res.grads["x"]) == 0.0, text


@pytest.mark.parametrize("c", [2, 3, 4, -1, -2, -3])
@pytest.mark.parametrize("x", [-2.0, -0.5, 1.5])
def test_power_with_constant_exponent_is_finite_for_negative_base(x, c):
    prog = irgraph.compile(f"loss = x^{c}" if c > 0 else f"loss = x^({c})")
    assert not any(i.op in ("log", "log_sigmoid") for i in prog.instrs), "x^c must never build log(x)"
    res = prog.run({"x": x})
    assert np.isfinite(res.value) and np.isfinite(res.grads["x"])
    assert float(res.value) == pytest.approx(x ** c)
    assert float(res.grads["x"]) == pytest.approx(c * x ** (c - 1))


@pytest.mark.parametrize("text", ["n = 3\nloss = sum(x^n)", "loss = sum(x^(1 + 2))", "loss = sum(x^3.0)",
                                  "loss = sum(x^-(-3))"])
def test_power_with_a_constant_expression_as_exponent(text):
    prog = irgraph.compile(text, wrt=["x"])
    assert not any(i.op == "log" for i in prog.instrs), str(prog)
    x = np.array([-2.0, -0.5, 0.0, 1.5])
    res = prog.run({"x": x})
    np.testing.assert_allclose(res.grads["x"], 3 * x ** 2)


def test_power_at_zero_base_with_constant_exponent():
    res = irgraph.compile("loss = x^2 + x^3").run({"x": 0.0})
    assert float(res.value) == 0.0 and float(res.grads["x"]) == 0.0


def test_variable_exponent_is_differentiated_only_where_asked():
    prog = irgraph.compile("loss = a^b", wrt=["a"])
    assert not any(i.op == "log" for i in prog.instrs), str(prog)
    res = prog.run({"a": -2.0, "b": 3.0})
    assert float(res.grads["a"]) == pytest.approx(12.0)
    prog = irgraph.compile("loss = a^b", wrt=["a", "b"])
    res = prog.run({"a": 2.0, "b": 3.0})
    assert float(res.grads["a"]) == pytest.approx(12.0)
    assert float(res.grads["b"]) == pytest.approx(8 * np.log(2.0))


def _sigmoid(z):
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


Z = np.array([-1e3, -745.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 745.0, 1e3])
STABLE = [
    ("loss = sum(sigmoid(z))", lambda z: _sigmoid(z), lambda z: _sigmoid(z) * _sigmoid(-z)),
    ("loss = sum(log(sigmoid(z)))", lambda z: -np.logaddexp(0, -z), lambda z: _sigmoid(-z)),
    ("loss = sum(log(1 - sigmoid(z)))", lambda z: -np.logaddexp(0, z), lambda z: -_sigmoid(z)),
    ("p = sigmoid(z)\nloss = sum(log(p))", lambda z: -np.logaddexp(0, -z), lambda z: _sigmoid(-z)),
    ("p = sigmoid(z)\nq = 1 - p\nloss = sum(log(q))", lambda z: -np.logaddexp(0, z), lambda z: -_sigmoid(z)),
    ("p = sigmoid(z)\nloss = -sum(log(p) + log(1 - p))", lambda z: np.logaddexp(0, -z) + np.logaddexp(0, z),
     lambda z: _sigmoid(z) - _sigmoid(-z)),
]


@pytest.mark.parametrize("text, value, grad", STABLE, ids=[s[0] for s in STABLE])
def test_sigmoid_and_its_logs_are_finite_for_large_arguments(text, value, grad):
    prog = irgraph.compile(text, wrt=["z"])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow or 0-division on the way
        res = prog.run({"z": Z})
    assert np.isfinite(res.value)
    assert np.all(np.isfinite(res.grads["z"]))
    np.testing.assert_allclose(res.value, np.sum(value(Z)), rtol=1e-12)
    # Values in [0, 1] (and gradients) to within double precision's absolute resolution there.
    np.testing.assert_allclose(res.grads["z"], grad(Z), rtol=1e-12, atol=1e-15)
    for z in [-1e3, 1e3, 0.0]:  # scalars take the fast path: the same must hold there
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            res = prog.run({"z": z})
        assert np.isfinite(res.value) and np.isfinite(res.grads["z"])


def test_logistic_loss_with_huge_logits():
    text = "z = X @ w + b\np = sigmoid(z)\nloss = -mean(y * log(p) + (1 - y) * log(1 - p))"
    X = np.array([[1.0, -1.0], [2.0, 0.5], [-3.0, 1.0]])
    inputs = {"X": X, "w": np.array([400.0, -300.0]), "b": 10.0, "y": np.array([0.0, 1.0, 1.0])}
    res = irgraph.compile(text, wrt=["w", "b"]).run(inputs)
    z = X @ inputs["w"] + inputs["b"]
    y = inputs["y"]
    expected = np.mean(y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z))
    assert np.isfinite(res.value) and res.value == pytest.approx(expected)
    np.testing.assert_allclose(res.grads["w"], X.T @ (_sigmoid(z) - y) / 3)
    assert res.grads["b"] == pytest.approx(np.mean(_sigmoid(z) - y))


@pytest.mark.parametrize("text, factor", [("loss = sum(x / 4)", 0.25), ("loss = sum(x / (2 + 2))", 0.25),
                                          ("k = 8\nloss = sum(x / k)", 0.125), ("loss = sum(x / -0.5)", -2.0)])
def test_division_by_a_constant_folds_to_a_multiply(text, factor):
    prog = irgraph.compile(text)
    assert not any(i.op == "div" for i in prog.instrs), str(prog)
    assert any(i.op == "mul" and factor in i.args for i in prog.instrs), str(prog)
    x = np.array([1.0, -2.0, 3.0])
    res = prog.run({"x": x})
    assert res.value == pytest.approx(np.sum(x) * factor)
    np.testing.assert_allclose(res.grads["x"], np.full(3, factor))


# ---- the ops added as rows only: softplus, max, min, clip, logsumexp, log1p, expm1, square, softmax, against JAX --------------------------

def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


JAX_CASES = [
    ("loss = sum(softplus(x) * c)", lambda j, v: j.numpy.sum(j.nn.softplus(v["x"]) * v["c"])),
    ("loss = sum(max(x, y) * c)", lambda j, v: j.numpy.sum(j.numpy.maximum(v["x"], v["y"]) * v["c"])),
    ("loss = sum(min(x, y) * c)", lambda j, v: j.numpy.sum(j.numpy.minimum(v["x"], v["y"]) * v["c"])),
    ("loss = sum(max(x, 0.25) - min(y, x))", lambda j, v: j.numpy.sum(j.numpy.maximum(v["x"], 0.25)
                                                                     - j.numpy.minimum(v["y"], v["x"]))),
    ("loss = sum(clip(x, -0.5, 0.5) * c)", lambda j, v: j.numpy.sum(j.numpy.clip(v["x"], -0.5, 0.5) * v["c"])),
    ("loss = logsumexp(x * c)", lambda j, v: j.scipy.special.logsumexp(v["x"] * v["c"])),
    ("loss = sum(logsumexp(x * y, 0) * sum(c, 0))", lambda j, v: j.numpy.sum(
        j.scipy.special.logsumexp(v["x"] * v["y"], axis=0) * j.numpy.sum(v["c"], axis=0))),
    ("loss = sum(logsumexp(x, -1))", lambda j, v: j.numpy.sum(j.scipy.special.logsumexp(v["x"], axis=-1))),
    ("loss = sum(log1p(x * x) * c)", lambda j, v: j.numpy.sum(j.numpy.log1p(v["x"] * v["x"]) * v["c"])),
    ("loss = sum(expm1(x) * c)", lambda j, v: j.numpy.sum(j.numpy.expm1(v["x"]) * v["c"])),
    ("loss = sum(square(x - y) * c)", lambda j, v: j.numpy.sum(j.numpy.square(v["x"] - v["y"]) * v["c"])),
    ("loss = sum(softmax(x * y) * c)", lambda j, v: j.numpy.sum(j.nn.softmax(v["x"] * v["y"]) * v["c"])),
    ("loss = sum(softmax(x, 0) * c)", lambda j, v: j.numpy.sum(j.nn.softmax(v["x"], axis=0) * v["c"])),
]


@pytest.mark.parametrize("text, ref", JAX_CASES, ids=[t for t, _ in JAX_CASES])
def test_new_ops_against_jax(text, ref):
    jax = _jax()
    rng = np.random.default_rng(11)
    v = {"x": rng.normal(size=(3, 4)), "y": rng.normal(size=(3, 4)), "c": rng.normal(size=(3, 4))}
    used = irgraph.parse(text).inputs
    res = irgraph.compile(text, wrt=used).run({k: v[k] for k in used})
    expected = jax.grad(lambda w: ref(jax, w))({k: v[k] for k in used})
    np.testing.assert_allclose(res.value, ref(jax, v), rtol=1e-12)
    for k in used:
        np.testing.assert_allclose(res.grads[k], expected[k], rtol=1e-10, atol=1e-14, err_msg=f"{text}: d/d{k}")


def test_max_and_min_split_the_gradient_at_a_tie_as_jax_does():
    jax = _jax()
    x = np.array([1.0, 2.0, 3.0])
    for op, f in (("max", jax.numpy.maximum), ("min", jax.numpy.minimum)):
        res = irgraph.compile(f"loss = sum({op}(x, y))").run({"x": x, "y": x.copy()})
        want = jax.grad(lambda a, b, f=f: jax.numpy.sum(f(a, b)), argnums=(0, 1))(x, x.copy())
        np.testing.assert_array_equal(res.grads["x"], [0.5, 0.5, 0.5])
        np.testing.assert_array_equal(res.grads["x"], want[0])
        np.testing.assert_array_equal(res.grads["y"], want[1])


def test_clip_passes_the_gradient_at_its_bounds_as_pytorch_clamp_does():
    """Bounds included: d clip(x, lo, hi)/dx = 1 for lo <= x <= hi (PyTorch's clamp; JAX gives 1/2 there)."""
    res = irgraph.compile("loss = sum(clip(x, -1, 1))").run({"x": np.array([-2.0, -1.0, 0.0, 1.0, 2.0])})
    np.testing.assert_array_equal(res.grads["x"], [0, 1, 1, 1, 0])


def test_logsumexp_is_stable_for_large_inputs():
    jax = _jax()
    x = np.array([[1000.0, 1000.0, -1000.0], [-800.0, -801.0, -np.inf]])
    res = irgraph.compile("loss = sum(logsumexp(x, 1))").run({"x": x})
    want = jax.scipy.special.logsumexp(x, axis=1)
    np.testing.assert_allclose(res.value, float(np.sum(want)), rtol=1e-12)
    np.testing.assert_allclose(res.grads["x"], jax.grad(lambda a: jax.numpy.sum(
        jax.scipy.special.logsumexp(a, axis=1)))(x), rtol=1e-12, atol=0)
    assert np.isfinite(res.grads["x"]).all()


WRONG_ARGUMENTS = {  # model: what the parser says, from the op row's arity and parameters
    "loss = clip(x, 0)": "clip() takes 3 arguments (x, lo, hi), got 2",
    "loss = clip(x, lo, 1)": "the lo of clip() must be a constant number, like clip(x, 0, 1)",
    "loss = max(x)": "max() takes 2 arguments (x, y), got 1",
    "loss = logsumexp(x, 0.5)": "the axis of logsumexp() must be an integer constant",
}


@pytest.mark.parametrize("text", sorted(WRONG_ARGUMENTS))
def test_the_parser_reads_arity_and_parameters_from_the_op_row(text):
    with pytest.raises(irgraph.ParseError) as info:
        irgraph.parse(text)
    assert WRONG_ARGUMENTS[text] in str(info.value)
