"""NaN and Inf while running (irgraph/backends/finite.py): reported by the first equation that made them,
as a NonFiniteWarning by default and an irgraph.Error with check_finite=True; NumPy's own RuntimeWarnings,
which would point into irgraph's files, never reach the user."""

import warnings

import numpy as np
import pytest

import irgraph

MODEL = "h = log(x)\nloss = sum(w * h)"


def test_first_non_finite_equation_is_a_warning_with_its_line_and_operand_range():
    prog = irgraph.compile(MODEL, wrt=["w"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = prog.run({"x": np.array([0.0, 1.0, 2.0]), "w": np.ones(3)})
    assert res.value == -np.inf  # the result is still returned
    assert [w.category for w in caught] == [irgraph.NonFiniteWarning]  # and no NumPy RuntimeWarning
    message = str(caught[0].message)
    assert "line 1: h = log(x)" in message and "-inf in 1 of 3 elements" in message and "x in [0, 2]" in message
    assert caught[0].filename == __file__  # points at the caller, not into irgraph


def test_check_finite_makes_it_an_error():
    prog = irgraph.compile(MODEL, wrt=["w"])
    with pytest.raises(irgraph.Error, match=r"line 1: h = log\(x\): log gave -inf"):
        prog.run({"x": np.array([0.0, 1.0]), "w": np.ones(2)}, check_finite=True)


def test_check_finite_catches_an_inf_that_a_later_equation_hides():
    prog = irgraph.compile("h = exp(x)\nloss = 1 / h", wrt=[])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default: the results are finite, so nothing to say
        res = prog.run({"x": 1000.0})
    assert res.value == 0.0
    with pytest.raises(irgraph.Error, match=r"line 1: h = exp\(x\): exp gave inf"):
        prog.run({"x": 1000.0}, check_finite=True)


def test_a_non_finite_input_is_named():
    prog = irgraph.compile(MODEL, wrt=["w"])
    with pytest.warns(irgraph.NonFiniteWarning, match="input 'x' is not finite: nan in 1 of 2 elements"):
        prog.run({"x": np.array([np.nan, 1.0]), "w": np.ones(2)})
    with pytest.raises(irgraph.Error, match="input 'x' is not finite"):
        prog.run({"x": np.array([np.nan, 1.0]), "w": np.ones(2)}, check_finite=True)


def test_a_gradient_that_is_not_finite_is_found_in_the_backward_sweep():
    prog = irgraph.compile("loss = sqrt(x)", wrt=["x"])  # d/dx sqrt(x) = 0.5/sqrt(x): inf at 0
    with pytest.warns(irgraph.NonFiniteWarning, match="non-finite value") as caught:
        res = prog.run({"x": 0.0})
    assert res.value == 0.0 and res.grads["x"] == np.inf
    assert "div gave inf" in str(caught[0].message)
