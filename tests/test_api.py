"""The JAX-style API (irgraph/api.py): value_and_grad and grad of a model given as text, a path or a Graph,
compiled once and run per call; irgraph.__version__, repr(prog), and Graph.draw / Program.draw."""

import importlib.metadata
import json
import pathlib

import graphviz
import numpy as np
import pytest
from cases import CUPY_MISSING, EXAMPLES

import irgraph
import passes
from irgraph.backends import dispatch

LINEAR = EXAMPLES / "linear.eq"
REF = json.loads((EXAMPLES / "linear.json").read_text())  # values and gradients computed by JAX
INPUTS = REF["inputs"]


@pytest.mark.parametrize("model", [str(LINEAR), LINEAR, LINEAR.read_text(), irgraph.parse(LINEAR.read_text())],
                         ids=["path", "pathlib", "text", "graph"])
def test_value_and_grad_of_text_path_or_graph(model):
    f = irgraph.value_and_grad(model, wrt=REF["wrt"])
    value, grads = f(INPUTS)
    assert value == pytest.approx(REF["value"])
    assert grads == pytest.approx(REF["grads"])


def test_grad_gives_the_gradients_only():
    g = irgraph.grad(str(LINEAR), wrt=["w1"])
    assert g(INPUTS) == pytest.approx({"w1": REF["grads"]["w1"]})


def test_the_mlp_example_against_its_jax_reference():
    ref = json.loads((EXAMPLES / "mlp.json").read_text())
    f = irgraph.value_and_grad(EXAMPLES / "mlp.eq", wrt=ref["wrt"])
    for _ in range(2):  # the first call is checked, the second runs the generated module
        value, grads = f({k: np.asarray(v) for k, v in ref["inputs"].items()})
        assert float(value) == pytest.approx(ref["value"], rel=1e-9)
        for name, expected in ref["grads"].items():
            np.testing.assert_allclose(grads[name], expected, rtol=1e-9, atol=1e-12)


def test_compiled_once_and_checked_once_per_input_signature(monkeypatch):
    compiles, traces = [], []  # traces: the per-signature checks of Program.run's dispatcher
    real_compile, real_check = passes.compile_program, dispatch.Dispatcher.prepare
    monkeypatch.setattr(passes, "compile_program", lambda *a, **k: compiles.append(1) or real_compile(*a, **k))
    monkeypatch.setattr(dispatch.Dispatcher, "prepare", lambda *a, **k: traces.append(1) or real_check(*a, **k))
    f = irgraph.value_and_grad("loss = sum((w*x - y)^2)", wrt=["w"])
    small = {"w": 2.0, "x": np.arange(3.0), "y": np.ones(3)}
    for _ in range(3):
        value, grads = f(small)
        assert value == pytest.approx(np.sum((2 * np.arange(3.0) - 1) ** 2))
        assert grads["w"] == pytest.approx(np.sum(2 * (2 * np.arange(3.0) - 1) * np.arange(3.0)))
    assert len(compiles) == 1
    assert len(traces) == 1  # later calls with the same signature skip the checks: just the program
    big = {"w": 2.0, "x": np.arange(5.0), "y": np.ones(5)}  # a new signature is checked once more
    f(big)
    f(big)
    assert len(compiles) == 1 and len(traces) == 2


def test_errors_after_the_first_call_are_still_the_interpreters():
    f = irgraph.value_and_grad("h = w * x\nloss = sum(log(h))", wrt=["w"])
    good = {"w": np.ones(3), "x": np.ones(3)}
    f(good)
    with pytest.raises(irgraph.Error, match="line 1: h = w [*] x"):  # a new signature: shapes checked
        f({"w": np.ones(3), "x": np.ones(4)})
    with pytest.warns(irgraph.NonFiniteWarning, match="line 2: loss = sum"):  # same signature, a NaN
        f({"w": np.ones(3), "x": -np.ones(3)})
    strict = irgraph.value_and_grad("h = w * x\nloss = sum(log(h))", wrt=["w"], check_finite=True)
    strict(good)
    with pytest.raises(irgraph.Error, match="non-finite value in line 2"):
        strict({"w": np.ones(3), "x": -np.ones(3)})
    with pytest.raises(irgraph.Error, match="missing input 'x'"):
        f({"w": np.ones(3)})


def test_device_passes_through():
    with pytest.raises(irgraph.Error, match="unknown device 'tpu'"):
        irgraph.value_and_grad(str(LINEAR), device="tpu")(INPUTS)


@pytest.mark.skipif(CUPY_MISSING is None, reason="CuPy and a GPU are present")
def test_missing_cupy_says_how_to_install_it():
    with pytest.raises(irgraph.Error, match=r'pip install "irgraph\[gpu\]"'):
        irgraph.value_and_grad(str(LINEAR), device="cupy")(INPUTS)


def test_a_missing_model_file_is_an_error():
    with pytest.raises(irgraph.Error, match="no model file 'nope.eq'"):
        irgraph.value_and_grad("nope.eq")
    with pytest.raises(irgraph.Error, match="no model file"):
        irgraph.compile(pathlib.Path("missing/model.eq"))


def test_version_is_the_installed_one():
    assert irgraph.__version__ == importlib.metadata.version("irgraph")


def test_program_repr_is_short():
    prog = irgraph.compile(LINEAR.read_text(), wrt=["b", "w1", "w2"])
    assert repr(prog) == "<irgraph.Program loss, wrt b, w1, w2: 6 forward and 3 backward instructions>"
    assert repr(irgraph.compile("y = 2*x", wrt=[])) == "<irgraph.Program y, no gradients: 1 forward and 0 backward instructions>"
    assert repr(irgraph.value_and_grad(str(LINEAR), wrt=["w1"])) == "<irgraph.value_and_grad of loss with respect to w1>"


def test_graph_draws_itself_with_values_and_a_highlight():
    picture = irgraph.parse(LINEAR.read_text()).draw(inputs=INPUTS, highlight="w1", wrt=REF["wrt"])
    assert isinstance(picture, graphviz.Digraph)
    assert "3.062" in picture.source and "−5.25" in picture.source  # the loss and ∂loss/∂w1, drawn
    assert "3.062" not in irgraph.parse(LINEAR.read_text()).draw().source


def test_program_draws_itself():
    prog = irgraph.compile(LINEAR.read_text(), wrt=["b", "w1", "w2"])
    assert isinstance(prog.draw(), graphviz.Digraph)
    assert "3.062" in prog.draw(inputs=INPUTS).source and "3.062" not in prog.draw().source
    assert "pow(t2, 2)" in prog.draw(stage="program").source  # one node per instruction
