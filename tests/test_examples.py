"""End to end: every example against its JAX reference values, and the whole corpus against independent
references (finite differences of a NumPy transcription, and jax.grad of a JAX transcription)."""

import json

import numpy as np
import pytest
from cases import CASE_IDS, CASES, EXAMPLES, NP, finite_differences, jax_namespace, to_numpy

import irgraph

EXAMPLE_NAMES = sorted(p.stem for p in EXAMPLES.glob("*.eq"))


def test_every_example_has_reference_values():
    assert EXAMPLE_NAMES == ["linear", "linreg", "logistic", "mlp", "shared"]
    for name in EXAMPLE_NAMES:
        assert (EXAMPLES / f"{name}.json").exists()


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_matches_jax_reference_values(name, device):
    ref = json.loads((EXAMPLES / f"{name}.json").read_text())
    prog = irgraph.compile((EXAMPLES / f"{name}.eq").read_text(), wrt=ref["wrt"], output=ref.get("output"))
    inputs = {k: np.asarray(v, dtype=float) for k, v in ref["inputs"].items()}
    res = prog.run(inputs, device=device)
    assert res.device == device
    np.testing.assert_allclose(to_numpy(res.value), ref["value"], rtol=1e-6, atol=1e-9)
    assert set(res.grads) == set(ref["wrt"])
    for k, expected in ref["grads"].items():
        got = to_numpy(res.grads[k])
        assert got.shape == np.shape(expected), k
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9, err_msg=k)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_example_runs_on_python_numbers_and_lists(name):
    """Inputs straight from JSON (Python floats and nested lists) work as well as arrays."""
    ref = json.loads((EXAMPLES / f"{name}.json").read_text())
    prog = irgraph.compile((EXAMPLES / f"{name}.eq").read_text(), wrt=ref["wrt"])
    res = prog.run(ref["inputs"])
    np.testing.assert_allclose(res.value, ref["value"], rtol=1e-6)
    for k, expected in ref["grads"].items():
        np.testing.assert_allclose(res.grads[k], expected, rtol=1e-6, atol=1e-9, err_msg=k)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_corpus_value_matches_reference(case, device):
    prog = irgraph.compile(case.text, wrt=case.wrt, output=case.output)
    for seed in range(2):
        inputs = case.inputs(seed)
        res = prog.run(inputs, device=device)
        np.testing.assert_allclose(to_numpy(res.value), case.ref(NP, inputs), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("case", [c for c in CASES if c.fd], ids=[c.name for c in CASES if c.fd])
def test_corpus_gradients_match_finite_differences(case, device):
    prog = irgraph.compile(case.text, wrt=case.wrt, output=case.output)
    inputs = case.inputs(seed=1)
    res = prog.run(inputs, device=device)
    expected = finite_differences(lambda v: case.ref(NP, v), inputs, case.wrt)
    assert set(res.grads) == set(case.wrt)
    for name in case.wrt:
        got = to_numpy(res.grads[name])
        assert got.shape == np.shape(inputs[name]), name
        np.testing.assert_allclose(got, expected[name], rtol=1e-5, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_corpus_gradients_match_jax(case, device):
    F = jax_namespace()
    if F is None:
        pytest.skip("jax is not installed (pip install -e '.[dev]')")
    import jax

    prog = irgraph.compile(case.text, wrt=case.wrt, output=case.output)
    for seed in range(3):
        inputs = case.inputs(seed)
        params = {k: np.asarray(inputs[k], dtype=np.float64) for k in case.wrt}
        data = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items() if k not in case.wrt}
        value, grads = jax.value_and_grad(lambda p, data=data: case.ref(F, {**data, **p}))(params)
        res = prog.run(inputs, device=device)
        np.testing.assert_allclose(to_numpy(res.value), float(value), rtol=1e-10, atol=1e-12)
        for name in case.wrt:
            got = to_numpy(res.grads[name])
            assert got.shape == np.shape(inputs[name]), name
            np.testing.assert_allclose(got, np.asarray(grads[name]), rtol=1e-9, atol=1e-12, err_msg=name)
