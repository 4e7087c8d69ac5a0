"""The shared end-to-end corpus: models that every end-to-end test runs over.

Each `Case` holds the model text, an input generator (a function of a NumPy `Generator` giving inputs of
fixed shapes), the variables to differentiate, and `ref`: an independent transcription of the model,
written against a small namespace of array functions so that the same transcription runs on NumPy (for
finite differences) and on JAX (for `jax.grad`). The transcriptions never touch irgraph.

`DEVICES` lists the devices the corpus runs on; the "cupy" entry is skipped, with the reason, when CuPy or
a GPU is missing, and the "dask" entry when Dask is not installed. Tests take the `device` fixture from tests/conftest.py.
"""

import importlib.util
import json
import pathlib
import types
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest

import irgraph
from irgraph.backends.devices import get_xp

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


# ---- devices -----------------------------------------------------------------------------------------------

def _missing(device):
    """Why `device` cannot run here, or None when it can."""
    try:
        get_xp(device)
    except irgraph.Error as e:
        return str(e)
    return None


CUPY_MISSING = _missing("cupy")
NUMBA_MISSING = None if importlib.util.find_spec("numba") else "numba is not installed (pip install -e '.[fast]')"
DASK_MISSING = _missing("dask")
DEVICES = [
    pytest.param("numpy", id="numpy"),
    pytest.param("numba", id="numba", marks=pytest.mark.skipif(NUMBA_MISSING is not None, reason=str(NUMBA_MISSING))),
    pytest.param("cupy", id="cupy", marks=pytest.mark.skipif(CUPY_MISSING is not None,
                                                           reason=f"no CuPy device: {CUPY_MISSING}")),
    pytest.param("dask", id="dask", marks=pytest.mark.skipif(DASK_MISSING is not None,
                                                           reason=f"no Dask: {DASK_MISSING}")),
]


def to_numpy(x):
    """A host NumPy copy of a value that may live on the GPU."""
    if hasattr(x, "get") and not isinstance(x, np.ndarray):
        x = x.get()
    return np.asarray(x)


# ---- the reference namespaces ------------------------------------------------------------------------------

def broadcastable(a, b):
    """Whether two shapes broadcast together (the random-model generators pick operand pairs with it)."""
    try:
        np.broadcast_shapes(a, b)
        return True
    except ValueError:
        return False


def _np_sigmoid(z):
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))


NP = types.SimpleNamespace(
    exp=np.exp, log=np.log, sqrt=np.sqrt, abs=np.abs, sin=np.sin, cos=np.cos, tanh=np.tanh,
    sigmoid=_np_sigmoid, relu=lambda x: np.maximum(x, 0.0),
    sum=lambda x, axis=None: np.sum(x, axis=axis), mean=lambda x, axis=None: np.mean(x, axis=axis),
    transpose=np.transpose,
)


def jax_namespace():
    """The same functions on jax.numpy (float64 enabled); None when JAX is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return types.SimpleNamespace(
        exp=jnp.exp, log=jnp.log, sqrt=jnp.sqrt, sin=jnp.sin, cos=jnp.cos, tanh=jnp.tanh,
        sigmoid=jax.nn.sigmoid, relu=jax.nn.relu,  # jax.nn.relu'(0) = 0, as in PyTorch
        abs=lambda x: x * jnp.sign(x),  # jnp.abs'(0) is 1; PyTorch's convention (and ours) is 0
        sum=lambda x, axis=None: jnp.sum(x, axis=axis), mean=lambda x, axis=None: jnp.mean(x, axis=axis),
        transpose=jnp.transpose,
    )


# ---- the corpus --------------------------------------------------------------------------------------------

@dataclass
class Case:
    name: str
    text: str
    shapes: dict  # input name -> shape
    wrt: list
    ref: Callable  # ref(F, inputs) -> scalar value, with F one of the namespaces above
    domain: dict = field(default_factory=dict)  # input name -> "pos" | "away" (from 0) | "kink" | "binary"
    fd: bool = True  # False where the function has a kink exactly at the inputs (finite differences lie)
    output: str | None = None

    def inputs(self, seed=0):
        """Random float64 inputs of the case's shapes, inside the model's domain."""
        rng = np.random.default_rng(seed)
        out = {}
        for name, shape in self.shapes.items():
            kind = self.domain.get(name)
            if kind == "pos":
                x = rng.uniform(0.5, 2.0, size=shape)
            elif kind == "away":
                x = rng.uniform(0.3, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)
            elif kind == "kink":
                x = rng.choice([-1.0, 0.0, 1.0], size=shape) * rng.uniform(0.5, 1.5, size=shape)
                x.flat[0] = 0.0
            elif kind == "binary":
                x = rng.integers(0, 2, size=shape).astype(float)
            else:
                x = rng.normal(size=shape)
            out[name] = float(x) if shape == () else x
        return out

    def __repr__(self):
        return f"Case({self.name})"


def example(name):
    """An example model's text and its JAX reference (examples/NAME.eq and NAME.json)."""
    return (EXAMPLES / f"{name}.eq").read_text(), json.loads((EXAMPLES / f"{name}.json").read_text())


def _example(name, ref, domain=None):
    text, data = example(name)
    shapes = {k: np.shape(v) for k, v in data["inputs"].items()}
    return Case(name, text, shapes, data["wrt"], ref, domain or {}, output=data.get("output"))


def _linear(F, v):
    yhat = v["b"] + v["w1"] * v["x1"] + v["w2"] * v["x2"]
    return (yhat - v["y"]) ** 2


def _linreg(F, v):
    return F.mean((v["b"] + v["w1"] * v["x1"] + v["w2"] * v["x2"] - v["y"]) ** 2)


def _logistic(F, v):
    p = F.sigmoid(v["X"] @ v["w"] + v["b"])
    return -F.mean(v["y"] * F.log(p) + (1 - v["y"]) * F.log(1 - p))


def _mlp(F, v):
    h = F.tanh(v["W1"] @ v["X"] + v["b1"])
    return F.mean((v["W2"] @ h + v["b2"] - v["Y"]) ** 2)


def _shared(F, v):
    u = v["w"] * v["x"]
    return F.sin(u) ** 2 + F.cos(u) ** 2 + u * u


CASES = [
    _example("linear", _linear),
    _example("linreg", _linreg),
    _example("logistic", _logistic, {"y": "binary"}),
    _example("mlp", _mlp),
    _example("shared", _shared),
    Case("broadcast_scalar_vector", "loss = sum((b + v)^2)", {"b": (), "v": (4,)}, ["b", "v"],
         lambda F, v: F.sum((v["b"] + v["v"]) ** 2)),
    Case("broadcast_column_row", "loss = sum(M * c + r * M)", {"M": (3, 4), "c": (3, 1), "r": (4,)},
         ["M", "c", "r"], lambda F, v: F.sum(v["M"] * v["c"] + v["r"] * v["M"])),
    Case("matrix_vector", "h = tanh(A @ x)\nloss = sum(h * h)", {"A": (3, 4), "x": (4,)}, ["A", "x"],
         lambda F, v: F.sum(F.tanh(v["A"] @ v["x"]) ** 2)),
    Case("vector_matrix", "loss = sum(sin(x @ A))", {"x": (3,), "A": (3, 4)}, ["x", "A"],
         lambda F, v: F.sum(F.sin(v["x"] @ v["A"]))),
    Case("vector_dot", "loss = x @ y", {"x": (5,), "y": (5,)}, ["x", "y"], lambda F, v: v["x"] @ v["y"]),
    Case("sum_axis", "s = sum(A, 0)\nt = sum(A, -1)\nloss = sum(s * s) + sum(t^3)", {"A": (3, 4)}, ["A"],
         lambda F, v: F.sum(F.sum(v["A"], 0) ** 2) + F.sum(F.sum(v["A"], -1) ** 3)),
    Case("mean_axis", "m = mean(A, 1)\nloss = mean(m^2) + mean(mean(A, 0) * w)", {"A": (3, 4), "w": (4,)},
         ["A", "w"], lambda F, v: F.mean(F.mean(v["A"], 1) ** 2) + F.mean(F.mean(v["A"], 0) * v["w"])),
    Case("transpose", "loss = sum(cos(transpose(A) @ B))", {"A": (3, 2), "B": (3, 4)}, ["A", "B"],
         lambda F, v: F.sum(F.cos(F.transpose(v["A"]) @ v["B"]))),
    Case("reuse_scalar", "loss = x*x", {"x": ()}, ["x"], lambda F, v: v["x"] * v["x"]),
    Case("reuse_vector", "y = x * x * x\nloss = sum(y + x)", {"x": (4,)}, ["x"],
         lambda F, v: F.sum(v["x"] * v["x"] * v["x"] + v["x"])),
    Case("relu_abs_away_from_zero", "loss = sum(relu(x) * 3 + abs(x) * x)", {"x": (6,)}, ["x"],
         lambda F, v: F.sum(F.relu(v["x"]) * 3 + F.abs(v["x"]) * v["x"]), {"x": "away"}),
    Case("relu_abs_at_zero", "loss = sum(relu(x) + 2*abs(x))", {"x": (6,)}, ["x"],
         lambda F, v: F.sum(F.relu(v["x"]) + 2 * F.abs(v["x"])), {"x": "kink"}, fd=False),
    Case("unary_functions",
         "loss = sum(sigmoid(x) + tanh(x) + exp(x) + log(p) + sqrt(p) + sin(x) + cos(x))",
         {"x": (5,), "p": (5,)}, ["x", "p"],
         lambda F, v: F.sum(F.sigmoid(v["x"]) + F.tanh(v["x"]) + F.exp(v["x"]) + F.log(v["p"])
                            + F.sqrt(v["p"]) + F.sin(v["x"]) + F.cos(v["x"])), {"p": "pos"}),
    Case("pow_constant", "loss = sum(x^3 - 2*x^2 + x^-1 + p^0.5)", {"x": (4,), "p": (4,)}, ["x", "p"],
         lambda F, v: F.sum(v["x"] ** 3 - 2 * v["x"] ** 2 + v["x"] ** -1.0 + v["p"] ** 0.5),
         {"x": "away", "p": "pos"}),
    Case("pow_variable", "loss = sum(p^q) + p0^2^q0", {"p": (3,), "q": (3,), "p0": (), "q0": ()},
         ["p", "q", "p0", "q0"], lambda F, v: F.sum(v["p"] ** v["q"]) + v["p0"] ** (2 ** v["q0"]),
         {"p": "pos", "p0": "pos"}),
    Case("division", "loss = sum(a / b + a / 4 + 1 / b)", {"a": (3,), "b": (3,)}, ["a", "b"],
         lambda F, v: F.sum(v["a"] / v["b"] + v["a"] / 4 + 1 / v["b"]), {"b": "away"}),
    Case("unary_minus", "n = -x\nloss = -sum(-x^2 * y) - -sum(n * -y) + -(-x0)", {"x": (3,), "y": (3,), "x0": ()},
         ["x", "y", "x0"], lambda F, v: -F.sum(-(v["x"] ** 2) * v["y"]) - -F.sum(-v["x"] * -v["y"]) + v["x0"]),
    Case("alias", "a = b\nc = a * w\nloss = sum(c * a)", {"b": (3,), "w": ()}, ["b", "w"],
         lambda F, v: F.sum(v["b"] * v["w"] * v["b"])),
    Case("wrt_not_reaching_output", "aux = z * 2\nloss = sum(w * x)", {"z": (2, 3), "w": (3,), "x": (3,)},
         ["w", "z"], lambda F, v: F.sum(v["w"] * v["x"])),
    Case("constant_gradient", "loss = 3*w - w/2 + sum(x)", {"w": (), "x": (3,)}, ["w", "x"],
         lambda F, v: 3 * v["w"] - v["w"] / 2 + F.sum(v["x"])),
    Case("constant_gradient_only", "loss = 3*w + 1", {"w": ()}, ["w"], lambda F, v: 3 * v["w"] + 1),
    Case("equations_out_of_order", "loss = sum(h) + k\nh = g * g\ng = sin(x)\nk = w * w",
         {"x": (3,), "w": ()}, ["x", "w"], lambda F, v: F.sum(F.sin(v["x"]) ** 2) + v["w"] ** 2,
         output="loss"),
]

CASE_IDS = [c.name for c in CASES]
BY_NAME = {c.name: c for c in CASES}


def finite_differences(f, inputs, wrt, eps=1e-6):
    """Central differences of the scalar f(inputs) with respect to each name in wrt (float64)."""
    grads = {}
    for name in wrt:
        x = np.array(inputs[name], dtype=float)
        g = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            hi, lo = x.copy(), x.copy()
            hi[i] += eps
            lo[i] -= eps
            g[i] = (float(f({**inputs, name: hi})) - float(f({**inputs, name: lo}))) / (2 * eps)
        grads[name] = g
    return grads
