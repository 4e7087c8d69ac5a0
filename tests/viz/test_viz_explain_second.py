"""`irgraph explain --order 2`: a second derivative by the chain rule, applied twice.

The printed result is model syntax, so we evaluate it and compare with a second difference of an
independent transcription of each model, and with JAX's second derivative where JAX is installed.
"""

import math
import pathlib

import pytest

import irgraph
from irgraph.cli import main
from irgraph.ir.expr import to_text
from viz.explain_second import explain_second

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = (ROOT / "examples" / "linear.eq").read_text()
MATH = {"sin": math.sin, "cos": math.cos, "exp": math.exp, "log": math.log, "tanh": math.tanh,
        "sigmoid": lambda z: 1 / (1 + math.exp(-z))}


def test_seed_model_is_two_x1_squared():
    text = explain_second(irgraph.parse(SEED), "w1")
    assert text.startswith("∂²loss/∂w1² by the chain rule, applied twice\n")
    assert "  ∂loss/∂w1 = 2*(yhat - y) * x1\n" in text  # the first derivative, as explain derives it
    assert "∂loss/∂w1 depends on w1 through yhat:\n  ∂(∂loss/∂w1)/∂yhat = 2*x1\n  ∂yhat/∂w1 = x1\n" in text
    assert "  ∂²loss/∂w1² = ∂(∂loss/∂w1)/∂yhat * ∂yhat/∂w1\n              = 2*x1 * x1\n" in text
    assert text.endswith("Simplified:\n  ∂²loss/∂w1² = 2*x1^2")


def test_shared_subterm_model_reduces_to_two_x_squared():
    text = explain_second(irgraph.parse((ROOT / "examples" / "shared.eq").read_text()), "w")
    assert "  ∂loss/∂w = 2*u * x\n" in text  # sin²u + cos²u + u² has derivative 2u·du/dw, not three terms
    assert simplified(text) == "2*x^2"


def test_with_inputs_it_gives_the_number():
    text = explain_second(irgraph.parse(SEED), "w1", inputs={"b": 0.1, "w1": 0.7, "x1": 1.5, "w2": -0.4,
                                                             "x2": 2.0, "y": 3.0})
    assert text.endswith("\n\nAt the given inputs: ∂²loss/∂w1² = 4.5")  # 2 * 1.5^2


def test_the_bias_has_a_constant_second_derivative():
    assert simplified(explain_second(irgraph.parse(SEED), "b")) == "2"


def test_a_derivative_that_does_not_depend_on_the_input_again():
    text = explain_second(irgraph.parse("loss = 3*w + x"), "w")
    assert "  ∂loss/∂w = 3\n" in text and text.endswith("∂loss/∂w does not change with w, so\n  ∂²loss/∂w² = 0")


def test_a_name_the_output_does_not_depend_on():
    none = explain_second(irgraph.parse("a = 2*x\nb = w*w\nloss = b"), "x")
    assert none.startswith("∂²loss/∂x² = 0\n\nloss does not depend on x")


MODELS = [  # (model, wrt, the same function transcribed by hand on a namespace F, point)
    (SEED, "w1", lambda F, v: (v["b"] + v["w1"] * v["x1"] + v["w2"] * v["x2"] - v["y"]) ** 2,
     {"b": 0.1, "w1": 0.7, "x1": 1.5, "w2": -0.4, "x2": 2.0, "y": 3.0}),
    ((ROOT / "examples" / "shared.eq").read_text(), "w",
     lambda F, v: F.sin(v["w"] * v["x"]) ** 2 + F.cos(v["w"] * v["x"]) ** 2 + (v["w"] * v["x"]) ** 2,
     {"w": 0.3, "x": -1.7}),
    ("h = tanh(w*x + c)\nloss = (h - y)^2", "w",
     lambda F, v: (F.tanh(v["w"] * v["x"] + v["c"]) - v["y"]) ** 2, {"w": 0.4, "x": 1.3, "c": -0.2, "y": 0.5}),
    ("p = sigmoid(w*x)\nloss = -(y*log(p) + (1 - y)*log(1 - p))", "w",
     lambda F, v: -(v["y"] * F.log(F.sigmoid(v["w"] * v["x"])) + (1 - v["y"]) * F.log(1 - F.sigmoid(v["w"] * v["x"]))),
     {"w": 0.8, "x": -1.1, "y": 1.0}),
    ("a = w*w\nb = exp(a)*w\nloss = a*b + sin(b)", "w",  # w reaches the loss three ways, and directly in b
     lambda F, v: v["w"] ** 2 * (F.exp(v["w"] ** 2) * v["w"]) + F.sin(F.exp(v["w"] ** 2) * v["w"]), {"w": 0.6}),
]


@pytest.mark.parametrize("model, wrt, f, point", MODELS, ids=["seed", "shared", "tanh", "logistic", "reuse"])
def test_the_second_derivative_is_right(model, wrt, f, point):
    graph = irgraph.parse(model)
    env = dict(point)
    for name, rhs in forward_equations(graph):  # the names the printed result reads
        env[name] = evaluate(to_text(rhs), env)
    got = evaluate(simplified(explain_second(graph, wrt)), env)

    h = 1e-4  # a second difference of the hand transcription: no derivative code involved
    F = _math_namespace()
    at = lambda t: f(F, {**point, wrt: point[wrt] + t})
    assert got == pytest.approx((at(h) - 2 * at(0) + at(-h)) / h**2, rel=1e-5, abs=1e-6)

    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    J = type("J", (), {"sin": jnp.sin, "cos": jnp.cos, "exp": jnp.exp, "log": jnp.log, "tanh": jnp.tanh,
                       "sigmoid": jax.nn.sigmoid})
    d2 = jax.grad(jax.grad(lambda t: f(J, {**point, wrt: t})))(point[wrt])
    assert got == pytest.approx(float(d2), rel=1e-10, abs=1e-12)


def test_tensor_models_point_to_the_hessian():
    mlp = (ROOT / "examples" / "mlp.eq").read_text()
    with pytest.raises(irgraph.Error, match="scalar .elementwise. models.*--hessian"):
        explain_second(irgraph.parse(mlp), "W1")


def test_the_command(capsys):
    assert main(["explain", str(ROOT / "examples" / "linear.eq"), "--wrt", "w1,b", "--order", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("by the chain rule, applied twice") == 2 and "∂²loss/∂b² = 2\n" in out


def test_the_command_on_a_tensor_model_is_an_error_not_a_traceback(capsys):
    assert main(["explain", str(ROOT / "examples" / "mlp.eq"), "--wrt", "W1", "--order", "2"]) == 1
    err = capsys.readouterr().err
    assert "error: explain --order 2" in err and "Traceback" not in err


# ---- helpers ------------------------------------------------------------------------------------------------

def simplified(text):
    """The expression after 'Simplified:' (or the last '=' line) of a derivation."""
    lines = text.rstrip().splitlines()
    return lines[lines.index("Simplified:") + 1].split(" = ", 1)[1] if "Simplified:" in lines else lines[-1].split(" = ", 1)[1]


def evaluate(text, env):
    """Model syntax is Python once ^ is ** (test code only: the library never evaluates text)."""
    return eval(text.replace("^", "**"), dict(MATH), dict(env))


def forward_equations(graph):
    eq = graph.equations()
    nodes = eq.nx.nodes
    return [(n, nodes[n]["expr"]) for n in eq.topo() if nodes[n]["op"] == "equation"]


def _math_namespace():
    return type("M", (), {k: staticmethod(v) for k, v in MATH.items()})
