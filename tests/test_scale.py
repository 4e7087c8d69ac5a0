"""Big models: nothing recurses per equation or per node. No timing assertions; see benchmarks/ for speed."""

import numpy as np
import pytest

import irgraph


def test_100000_node_chain_parses():
    n = 50_000  # each equation is two nodes: 100,000 op nodes, plus inputs
    text = "\n".join(["y0 = x"] + [f"y{k + 1} = y{k} * 2 + w" if k % 2 else f"y{k + 1} = -y{k}" for k in range(n)])
    g = irgraph.parse(text)
    assert g.outputs == [f"y{n}"]
    assert sorted(g.inputs) == ["w", "x"]
    ops = [d["op"] for _, d in g.nx.nodes(data=True)]
    assert len(ops) >= 100_000
    assert ops.count("neg") == n // 2 and ops.count("mul") == n // 2 and ops.count("add") == n // 2
    eq = g.equations()
    assert eq.nx.number_of_nodes() == n + 1 + 2
    assert len(str(g).splitlines()) == n + 1


def test_100000_equations_in_reverse_order_parse():
    n = 100_000
    text = "\n".join(f"y{k + 1} = y{k} + 1" for k in reversed(range(n)))  # every use before its definition
    g = irgraph.parse(text, output=f"y{n}")
    assert g.inputs == ["y0"]
    assert g.nx.number_of_nodes() >= 2 * n


def test_a_long_cycle_is_reported_without_recursion():
    n = 100_000
    text = "\n".join(f"y{k} = y{(k + 1) % n} + 1" for k in range(n))
    with pytest.raises(irgraph.ParseError) as info:
        irgraph.parse(text)
    assert "cycle" in info.value.message and info.value.message.count("->") == n


@pytest.mark.slow
def test_one_long_unnamed_expression_compiles():
    """50,000 operations in one equation: printing partials' labels once took time cubic in its length."""
    n = 25_000
    text = "y = x" + " + x * w" * n
    g = irgraph.parse(text)
    assert g.nx.number_of_nodes() >= 2 * n
    prog = irgraph.compile(text, wrt=["w"])
    res = prog.run({"x": 0.5, "w": 2.0})
    assert res.value == pytest.approx(0.5 + n * 0.5 * 2.0)
    assert float(res.grads["w"]) == pytest.approx(n * 0.5)


def _chain(n):
    return "\n".join(["y0 = x"] + [f"y{k + 1} = sin(y{k})*y{k} + w{k}" for k in range(n)] + [f"loss = y{n}"])


def _reference(x, w):
    y = x
    for wk in w:
        y = np.sin(y) * y + wk
    return y


@pytest.mark.slow
def test_deep_chain_compiles_and_runs_with_correct_gradients():
    """y{k+1} = sin(y{k})*y{k} + w{k}, 25,000 levels: about 100,000 op nodes through every pass."""
    n = 25_000
    text = _chain(n)
    prog = irgraph.compile(text)
    assert prog.stats["forward_ops"] <= 3 * n + 1
    rng = np.random.default_rng(0)
    w = rng.uniform(-0.3, 0.3, size=n)
    x = 0.7
    inputs = {"x": x, **{f"w{k}": float(w[k]) for k in range(n)}}
    res = prog.run(inputs)
    assert float(res.value) == pytest.approx(_reference(x, w), rel=1e-9, abs=1e-12)
    assert len(res.grads) == n + 1
    eps = 1e-6
    for k in [n - 1, n - 2, n - 5, n - 40, n // 2, 0]:
        hi, lo = w.copy(), w.copy()
        hi[k] += eps
        lo[k] -= eps
        fd = (_reference(x, hi) - _reference(x, lo)) / (2 * eps)
        assert float(res.grads[f"w{k}"]) == pytest.approx(fd, rel=1e-5, abs=1e-9), f"d loss / d w{k}"
    assert float(res.grads[f"w{n - 1}"]) == 1.0
    # The standalone module of the same program gives the same gradients.
    namespace = {}
    exec(compile(prog.source, "chain.py", "exec"), namespace)  # noqa: S102 (running generated code is the test)
    value, grads = namespace["value_and_grad"](inputs)
    assert float(value) == float(res.value)
    assert float(grads[f"w{n - 2}"]) == float(res.grads[f"w{n - 2}"])
