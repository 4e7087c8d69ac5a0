"""The tangent rule of every tensor row: the pushforward (the table's pullback, transposed by the table's own
rules) satisfies <g, J t> = <Jᵀ g, t> with the pullback, and equals the finite difference of the op itself;
and every row has partials, so gradient graphs can be differentiated again."""

import numpy as np
import pytest

from irgraph.ir import expr as E
from irgraph.ir.ops import OPS, ROWS, apply

MATMULS = [((2, 3), (3, 4)), ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 2, 3), (3, 4)), ((2, 3), (2, 3, 4))]

# (op, operand shapes, axis): every tensor row, in the shape situations the compiler builds it in
EXAMPLES = (
    [("matmul", s, None) for s in MATMULS]
    + [(op, ((2, 3),), axis) for op in ("sum", "mean", "logsumexp") for axis in (None, 0, -1)]
    + [("softmax", ((2, 3),), axis) for axis in (0, -1)]
    + [("transpose", ((2, 3),), None), ("transpose", ((4,),), None)]
    + [("sum_to", ((2, 3), (3,)), None), ("sum_to", ((2, 3), (2, 1)), None), ("sum_to", ((), (3,)), None),
       ("sum_to", ((3,), (2, 3)), None)]
    + [("unsum", ((3,), (2, 3)), 0), ("unsum", ((2,), (2, 3)), -1), ("unsum", ((), (2, 3)), None)]
    + [("mm_left", (np.shape(np.zeros(a) @ np.zeros(b)), a, b), None) for a, b in MATMULS]
    + [("mm_right", (np.shape(np.zeros(a) @ np.zeros(b)), a, b), None) for a, b in MATMULS]
    + [("count", ((2, 3),), 1), ("zeros_like", ((2, 3),), None), ("full_like", ((3,), ()), None)]
)


def evaluate(e, env):
    """The value of an expression, its leaves looked up in env (by the var's reference, G by "G")."""
    value = {}
    for s in E.postorder(e):
        if s.op == "var":
            value[s] = env[s.attr[0]]
        elif s.op == "const":
            value[s] = s.attr
        elif s is E.G:
            value[s] = env["G"]
        else:
            value[s] = apply(s.op, np, [value[a] for a in s.args], s.attr or ())
    return np.asarray(value[e])


def test_every_tensor_row_is_covered():
    assert {op for op, _, _ in EXAMPLES} == {row.name for row in ROWS if row.kind == "tensor"}


@pytest.mark.parametrize(("op", "shapes", "axis"), EXAMPLES, ids=[f"{op}{s}{a}" for op, s, a in EXAMPLES])
def test_pushforward_is_the_transposed_pullback_and_the_derivative(op, shapes, axis):
    rng = np.random.default_rng(0)
    row = OPS[op]
    args = [rng.normal(size=s) for s in shapes]
    if op == "full_like":
        args[1] = 2.5
    params = row.bind([axis]) if row.params else ()
    out = np.asarray(apply(op, np, args, params))
    refs = [E.var(f"a{i}") for i in range(len(args))]
    env = {f"a{i}": a for i, a in enumerate(args)} | {"out": out}
    pullbacks = row.partials(E, *refs, E.var("out"), **dict(params))
    carried = 0
    for i, pullback in enumerate(pullbacks):
        step = E.pushforward(pullback, E.var("out"))
        if step is None:  # the op reads only this operand's shape: moving it changes nothing
            moved = [a + (1.0 if j == i else 0.0) for j, a in enumerate(args)]
            np.testing.assert_array_equal(np.asarray(apply(op, np, moved, params)), out)
            continue
        carried += 1
        t = rng.normal(size=np.shape(args[i]))
        g = rng.normal(size=out.shape)
        jt = evaluate(step, {**env, "G": t})
        jtg = evaluate(pullback, {**env, "G": g})
        assert jt.shape == out.shape and jtg.shape == np.shape(args[i])
        np.testing.assert_allclose(np.sum(g * jt), np.sum(jtg * t), rtol=1e-12)
        hi = [a + 1e-6 * t if j == i else a for j, a in enumerate(args)]
        lo = [a - 1e-6 * t if j == i else a for j, a in enumerate(args)]
        fd = (np.asarray(apply(op, np, hi, params)) - np.asarray(apply(op, np, lo, params))) / 2e-6
        np.testing.assert_allclose(jt, fd, rtol=1e-6, atol=1e-8)
    assert carried or op in ("count", "zeros_like", "full_like")


def test_every_op_has_partials_so_every_graph_is_differentiable():
    assert [row.name for row in ROWS if row.partials is None] == []


@pytest.mark.parametrize("op", ["step", "sign"])
def test_kinks_have_zero_second_derivative(op):
    (partial,) = OPS[op].partials(E, E.var("x"), E.var("out"))
    assert E.is_const(partial, 0)  # relu'' = 0 and abs'' = 0, as in PyTorch and JAX
