"""Program.run's fast path on Python floats (backends/dispatch.py): the same answers as JAX's reference
values, and every input it does not take (NumPy scalars, other devices, check_finite, missing names,
results that are not finite) gets exactly what the checked path gives."""

import json

import numpy as np
import pytest
from cases import EXAMPLES

import irgraph
from irgraph.backends import dispatch

LINEAR = json.loads((EXAMPLES / "linear.json").read_text())


@pytest.fixture
def prog():
    return irgraph.compile((EXAMPLES / "linear.eq").read_text(), wrt=LINEAR["wrt"])


def test_floats_give_jaxs_value_and_gradients(prog):
    for _ in range(3):  # the first call builds the fast path, the next ones take it
        res = prog.run(LINEAR["inputs"])
        assert res.device == "numpy" and type(res.value) is float
        assert res.value == pytest.approx(LINEAR["value"], rel=1e-12)
        assert res.grads == pytest.approx(LINEAR["grads"], rel=1e-12)


@pytest.mark.parametrize("change", ["numpy_scalar", "int", "numba", "check_finite", "missing"])
def test_what_the_fast_path_does_not_take_goes_the_checked_way(prog, change):
    prog.run(LINEAR["inputs"])  # the fast path is in place
    inputs, kwargs = dict(LINEAR["inputs"]), {}
    if change == "numpy_scalar":
        inputs["w1"] = np.float64(inputs["w1"])
    elif change == "int":
        inputs["y"] = 2
    elif change == "numba":
        pytest.importorskip("numba")
        kwargs["device"] = "numba"
    elif change == "check_finite":
        kwargs["check_finite"] = True
    else:
        del inputs["w2"]
        with pytest.raises(irgraph.Error, match="w2"):
            prog.run(inputs)
        return
    res = prog.run(inputs, **kwargs)
    assert float(res.value) == pytest.approx(LINEAR["value"], rel=1e-12)
    assert {k: float(v) for k, v in res.grads.items()} == pytest.approx(LINEAR["grads"], rel=1e-12)


def test_a_non_finite_result_names_its_equation(prog):
    prog.run(LINEAR["inputs"])
    inputs = {**LINEAR["inputs"], "x1": 1e200, "w1": 1e200}  # a1 = w1 * x1 overflows
    with pytest.warns(irgraph.NonFiniteWarning, match="a1"):
        res = prog.run(inputs)
    assert res.value == float("inf")
    with pytest.raises(irgraph.Error, match="a1"):
        prog.run(inputs, check_finite=True)


def test_one_input_models_take_the_fast_path_too():
    prog = irgraph.compile("loss = x * x")
    assert prog.run({"x": 3.0}).grads == {"x": 6.0}
    assert prog.run({"x": 3.0}).grads == {"x": 6.0}
    assert prog.run({"x": np.float64(3.0)}).grads == {"x": 6.0}


def test_division_by_zero_on_floats_is_numpys_inf_with_a_warning():
    prog = irgraph.compile("q = w / x\nloss = q * q")
    prog.run({"w": 1.0, "x": 2.0})
    with pytest.warns(irgraph.NonFiniteWarning, match="q"):
        res = prog.run({"w": 1.0, "x": 0.0})
    assert res.value == float("inf")


def test_a_sum_of_thousands_of_inputs_runs_on_floats():
    """The float function's finiteness check adds every result; one line of 5,001 terms nests deeper than
    Python's compiler goes (a RecursionError from 3,000 on), so it is written 64 terms a line."""
    n = 5000
    prog = irgraph.compile("loss = " + " + ".join(f"x{i}" for i in range(n)))
    res = prog.run({f"x{i}": float(i) for i in range(n)})
    assert res.value == n * (n - 1) / 2 and set(res.grads.values()) == {1.0} and len(res.grads) == n


def test_a_program_too_large_to_compile_runs_in_the_interpreter(monkeypatch):
    """Past MAX_COMPILED instructions Python's compiler would need gigabytes for the generated source."""
    monkeypatch.setattr(dispatch, "MAX_COMPILED", 3)
    prog = irgraph.compile((EXAMPLES / "linear.eq").read_text(), wrt=LINEAR["wrt"])
    for inputs in (LINEAR["inputs"], {k: np.asarray(v) for k, v in LINEAR["inputs"].items()}):
        res = prog.run(inputs)
        assert res.value == pytest.approx(LINEAR["value"], rel=1e-12)
        assert {k: float(v) for k, v in res.grads.items()} == pytest.approx(LINEAR["grads"], rel=1e-12)
    assert prog.__dict__["_dispatch"].module is None
