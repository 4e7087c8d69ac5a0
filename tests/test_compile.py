"""irgraph.compile: partials on edges, the adjoint sweep, simplify/CSE/DCE, the scheduled Program and its
errors, and random models against finite differences (issue 3)."""

import re

import numpy as np
import pytest
from cases import CASE_IDS, CASES, EXAMPLES, broadcastable, finite_differences
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import irgraph
from irgraph.ir.ops import OPS
from passes import attach_partials

SEED = (EXAMPLES / "linear.eq").read_text()
SEED_INPUTS = {"x1": 1.5, "x2": -0.5, "y": 2.0, "b": 0.1, "w1": 0.2, "w2": 0.3}


def instr_by_out(prog):
    return {i.out: i for i in prog.instrs}


def names(args):
    """The variable operands of an instruction, sorted (constants left out)."""
    return sorted(a for a in args if isinstance(a, str))


def key(ins):
    """What an instruction computes: two instructions with the same key compute the same value."""
    args = tuple(sorted(ins.args, key=repr)) if OPS[ins.op].commutative else ins.args
    return ins.op, ins.params, args


# ---- the seed model -----------------------------------------------------------------------------------------

def test_seed_program_backward_is_minimal():
    prog = irgraph.compile(SEED, wrt=["b", "w1", "w2"])
    assert prog.stats["backward_ops"] <= 3
    by_out = instr_by_out(prog)
    forward = [i for i in prog.instrs if i.role == "forward"]
    backward = [i for i in prog.instrs if i.role == "backward"]
    # The arithmetic of the backward part is exactly g = 2*(yhat - y), g*x1 and g*x2, where yhat - y is the
    # forward value, reused. (`sum_to` only undoes broadcasting, a no-op on these scalars; stats counts it
    # apart, and it may only appear at the gradients.)
    arithmetic = [i for i in backward if i.op != "sum_to"]
    assert len(arithmetic) == 3, str(prog)
    (g,) = [i for i in arithmetic if i.op == "mul" and 2.0 in i.args]
    (diff,) = [a for a in g.args if isinstance(a, str)]
    assert by_out[diff].role == "forward" and by_out[diff].op == "sub" and by_out[diff].args == ("yhat", "y")
    others = sorted(tuple(sorted(i.args)) for i in arithmetic if i is not g)
    assert others == sorted([tuple(sorted((g.out, "x1"))), tuple(sorted((g.out, "x2")))])
    assert all(i.op == "mul" for i in arithmetic)
    grad_vars = {v for _, v in prog.grads}
    for i in backward:
        if i.op == "sum_to":
            assert i.out in grad_vars and i.args[0] in {a.out for a in arithmetic}, str(prog)
    # The gradient of b is g itself (up to that no-op).
    d_b = by_out[dict(prog.grads)["b"]]
    assert d_b.out == g.out or (d_b.op == "sum_to" and d_b.args[0] == g.out)
    assert len(forward) == prog.stats["forward_ops"] == 6
    res = prog.run(SEED_INPUTS)
    assert res.value == pytest.approx(3.0625)
    assert {k: float(v) for k, v in res.grads.items()} == pytest.approx({"b": -3.5, "w1": -5.25, "w2": 1.75})


def test_seed_program_prints_and_counts():
    prog = irgraph.compile(SEED, wrt=["b", "w1", "w2"])
    text = str(prog)
    assert "# forward" in text and "# backward" in text
    assert "yhat = add(" in text and "loss = pow(" in text
    stats = prog.stats
    for k in ["forward_ops", "backward_ops", "simplify_removed", "cse_removed", "dce_removed"]:
        assert isinstance(stats[k], int) and stats[k] >= 0, k
    assert stats["instructions"] == len(prog.instrs)
    assert prog.wrt == ["b", "w1", "w2"]
    assert [name for name, _ in prog.inputs] and {name for name, _ in prog.inputs} <= set(SEED_INPUTS)


def test_wrt_defaults_to_every_input():
    prog = irgraph.compile(SEED)
    assert sorted(prog.wrt) == sorted(SEED_INPUTS)
    res = prog.run(SEED_INPUTS)
    assert float(res.grads["x1"]) == pytest.approx(2 * (0.1 + 0.3 - 0.15 - 2) * 0.2)
    assert float(res.grads["y"]) == pytest.approx(3.5)


def test_wrt_may_be_a_comma_separated_string():
    assert irgraph.compile(SEED, wrt="b, w1").wrt == ["b", "w1"]


def test_compile_accepts_a_parsed_graph_and_leaves_it_alone():
    g = irgraph.parse(SEED)
    before = str(g), g.nx.number_of_nodes(), g.nx.number_of_edges()
    prog = irgraph.compile(g, wrt=["w1"])
    assert (str(g), g.nx.number_of_nodes(), g.nx.number_of_edges()) == before
    assert float(prog.run(SEED_INPUTS).grads["w1"]) == pytest.approx(-5.25)
    with pytest.raises(irgraph.Error):
        irgraph.compile(g.equations())
    with pytest.raises(irgraph.Error):
        irgraph.compile(42)


# ---- partials on edges -------------------------------------------------------------------------------------

def test_equation_level_partials_read_as_math():
    eq = attach_partials(irgraph.parse(SEED).equations())
    partial = {(u, v): str(d["partial"]) for u, v, d in eq.nx.edges(data=True)}
    assert partial[("w1", "a1")] == "x1"
    assert partial[("x1", "a1")] == "w1"
    assert partial[("a1", "yhat")] == "1"
    assert partial[("b", "yhat")] == "1"
    assert partial[("yhat", "loss")] == "2*(yhat - y)"
    assert partial[("y", "loss")] in ("-2*(yhat - y)", "-(2*(yhat - y))", "2*(y - yhat)")


def test_op_level_partials_are_one_rule_per_edge():
    g = attach_partials(irgraph.parse("a = x * x + sin(x) / y"))
    for u, v, d in g.nx.edges(data=True):
        assert "partial" in d, (u, v)
    by_op = {}
    for u, v, d in g.nx.edges(data=True):
        by_op.setdefault(g.nx.nodes[v]["op"], []).append(str(d["partial"]))
    assert sorted(by_op["mul"]) == ["x", "x"]  # x*x: two edges, each with partial x
    assert by_op["sin"] == ["cos(x)"]
    assert sorted(by_op["add"]) == ["1", "1"]


def test_op_level_partials_show_short_unnamed_operands_as_their_expression():
    # sin(x) reads as itself; a long unnamed operand by its node id. Labels are printed when first read
    # (expr.Ref): the tables and the networkx view of the same graph read the same.
    g = irgraph.parse("a = sin(x)*x\nb = sin(sin(sin(sin(sin(sin(sin(sin(sin(x)))))))))*x + a")
    part = attach_partials(g)
    long_mul = next(v for v, ops in part.parts()[1].items() if part.attrs(v)["op"] == "mul" and v != "a")
    tables = {v: [str(p) for p in ps] for v, ps in part.partials().items()}
    assert tables["a"] == ["x", "sin(x)"]
    assert tables[long_mul][0] == "x" and tables[long_mul][1].startswith("%")
    from_nx = {}
    for _, v, d in sorted(part.nx.edges(data=True), key=lambda e: e[2]["pos"]):
        from_nx.setdefault(v, []).append(str(d["partial"]))
    assert from_nx == tables


def test_tensor_partials_are_readable_pullbacks():
    eq = attach_partials(irgraph.parse((EXAMPLES / "mlp.eq").read_text()).equations())
    partial = {(u, v): str(d["partial"]) for u, v, d in eq.nx.edges(data=True)}
    for edge in [("W2", "yhat"), ("h", "yhat"), ("W1", "h"), ("yhat", "loss")]:
        text = partial[edge]
        assert "g" in text, (edge, text)  # a pullback of the upstream gradient g
        assert "%" not in text and "Expr" not in text, (edge, text)
    assert partial[("b2", "yhat")] == "1"


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_every_edge_gets_a_partial_on_both_levels(case):
    g = irgraph.parse(case.text)
    for level in (g, g.equations()):
        annotated = attach_partials(level)
        for u, v, d in annotated.nx.edges(data=True):
            assert str(d["partial"]), (u, v)
        assert all("partial" not in d for _, _, d in level.nx.edges(data=True)), "attach_partials mutated"


# ---- adjoint, simplify, CSE, DCE ----------------------------------------------------------------------------

def test_shared_subterm_computed_once():
    prog = irgraph.compile((EXAMPLES / "shared.eq").read_text(), wrt=["w"])
    ops = [(i.op, i.args) for i in prog.instrs]
    assert sum(1 for op, args in ops if op == "mul" and list(args) in (["w", "x"], ["x", "w"])) == 1, str(prog)
    assert sum(1 for op, _ in ops if op == "cos") == 1, str(prog)
    assert sum(1 for op, _ in ops if op == "sin") == 1, str(prog)
    u = next(i.out for i in prog.instrs if i.op == "mul" and names(i.args) == ["w", "x"])
    assert all(i.role == "forward" for i in prog.instrs if i.op in ("sin", "cos")), str(prog)
    assert [i.args for i in prog.instrs if i.op in ("sin", "cos")] == [(u,), (u,)]


CSE_CASES = [
    ("a = x*y\nb = y*x\nloss = sum(a + b)", "mul", lambda v: np.sum(2 * v["x"] * v["y"])),
    ("loss = sum(sin(x + y) * cos(y + x))", "add",
     lambda v: np.sum(np.sin(v["x"] + v["y"]) * np.cos(v["x"] + v["y"]))),
    ("a = x*y\nloss = sum(exp(y*x) - a)", "mul", lambda v: np.sum(np.exp(v["x"] * v["y"]) - v["x"] * v["y"])),
]


@pytest.mark.parametrize("text, op, ref", CSE_CASES, ids=[c[0] for c in CSE_CASES])
def test_cse_matches_commutative_ops_in_either_order(text, op, ref):
    prog = irgraph.compile(text)
    same = [i for i in prog.instrs if i.op == op and names(i.args) == ["x", "y"] and len(i.args) == 2]
    assert len(same) == 1, str(prog)
    rng = np.random.default_rng(0)
    inputs = {"x": rng.normal(size=3), "y": rng.normal(size=3)}
    res = prog.run(inputs)
    expected = finite_differences(ref, inputs, ["x", "y"])
    for k in "xy":
        np.testing.assert_allclose(res.grads[k], expected[k], rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_no_value_is_computed_twice(case):
    """CSE across forward and backward: the backward sweep reuses forward values, never recomputes them."""
    prog = irgraph.compile(case.text, wrt=case.wrt, output=case.output)
    seen = {}
    for ins in prog.instrs:
        if ins.op == "sum_to":
            continue
        k = key(ins)
        assert k not in seen, f"{ins} recomputes {seen[k]}\n{prog}"
        seen[k] = ins


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_program_is_ssa_and_frees_after_last_use(case):
    prog = irgraph.compile(case.text, wrt=case.wrt, output=case.output)
    defined = {v for _, v in prog.inputs}
    freed = set()
    results = {prog.output[1]} | {v for _, v in prog.grads}
    for n, ins in enumerate(prog.instrs):
        for a in ins.args:
            if isinstance(a, str):
                assert a in defined, f"{ins}: {a} is not defined yet"
                assert a not in freed, f"{ins}: {a} was already dropped"
        assert ins.out not in defined, f"{ins}: {ins.out} assigned twice"
        defined.add(ins.out)
        for f in ins.frees:
            assert f not in results, f"{ins}: drops a result"
            assert all(f not in later.args for later in prog.instrs[n + 1:]), f"{f} dropped before its last use"
            freed.add(f)
    for v in defined - results:  # every other value is dropped once it is no longer needed
        used = any(v in i.args for i in prog.instrs)
        assert v in freed or not used, f"{v} is never dropped"


def test_dead_equations_are_not_computed():
    prog = irgraph.compile("aux = exp(z)\nloss = sum(w * x)", wrt=["w"])
    assert not any(i.op == "exp" for i in prog.instrs)
    assert "z" not in {name for name, _ in prog.inputs}
    res = prog.run({"w": np.ones(2), "x": np.array([3.0, 4.0])})  # z is not needed
    np.testing.assert_array_equal(res.grads["w"], [3.0, 4.0])


def test_only_edges_towards_wrt_are_differentiated():
    prog = irgraph.compile("loss = sum(w * x) + sin(y) + sum(exp(z))", wrt=["w"])
    backward = [i for i in prog.instrs if i.role == "backward"]
    assert not any(i.op in ("cos", "exp") for i in backward), str(prog)


def test_forward_only_program():
    prog = irgraph.compile("h = w * x\nloss = h", wrt=[])
    assert prog.stats["backward_ops"] == 0
    res = prog.run({"w": np.ones(3), "x": 2.0})  # no gradient: a vector output is fine
    np.testing.assert_array_equal(res.value, [2.0, 2.0, 2.0])
    assert res.grads == {}


def test_output_can_be_any_equation():
    prog = irgraph.compile(SEED, wrt=["w1"], output="yhat")
    res = prog.run(SEED_INPUTS)
    assert res.value == pytest.approx(0.1 + 0.3 - 0.15)
    assert float(res.grads["w1"]) == pytest.approx(1.5)
    assert not any(i.op == "pow" for i in prog.instrs)


def test_constant_model():
    res = irgraph.compile("loss = 2 * 3 + 1").run({})
    assert float(res.value) == 7.0 and res.grads == {}


def test_alias_keeps_gradients_flowing():
    res = irgraph.compile("a = b\nloss = a * a").run({"b": 3.0})
    assert float(res.grads["b"]) == 6.0


# ---- wrt and run-time errors --------------------------------------------------------------------------------

def test_wrt_typo_names_the_variable():
    with pytest.raises(irgraph.Error) as info:
        irgraph.compile(SEED, wrt=["w1", "w3"])
    assert "'w3'" in str(info.value)
    with pytest.raises(irgraph.Error) as info:
        irgraph.compile(SEED, wrt=["w_1"])
    assert "'w_1'" in str(info.value) and "did you mean 'w1'" in str(info.value)


@pytest.mark.parametrize("text", [SEED, "a = w\nloss = sum(a * x)", "a = w * 2\nloss = sum(a * x)"])
def test_wrt_an_equation_is_rejected(text):
    name = "yhat" if text == SEED else "a"
    with pytest.raises(irgraph.Error) as info:
        irgraph.compile(text, wrt=[name])
    assert f"'{name}'" in str(info.value)
    assert "equation" in str(info.value)


def test_wrt_twice_is_an_error():
    with pytest.raises(irgraph.Error):
        irgraph.compile(SEED, wrt=["w1", "w1"])


def test_output_typo_names_the_equation():
    with pytest.raises(irgraph.Error, match="'los'"):
        irgraph.compile(SEED, output="los")


@pytest.mark.parametrize("shape", [(), (4,), (2, 3)], ids=str)
def test_wrt_input_not_reaching_output_gets_zeros_of_its_shape(shape):
    prog = irgraph.compile("aux = z * 2\nloss = sum(w * x)", wrt=["w", "z"])
    z = np.ones(shape) * 5 if shape else 5.0
    res = prog.run({"w": np.ones(3), "x": np.arange(3.0), "z": z})
    assert np.shape(res.grads["z"]) == shape
    assert np.all(np.asarray(res.grads["z"]) == 0)
    np.testing.assert_array_equal(res.grads["w"], [0.0, 1.0, 2.0])
    res = prog.run({"w": np.ones(3, np.float32), "x": np.ones(3, np.float32), "z": np.ones(shape, np.float32)})
    assert np.asarray(res.grads["z"]).dtype == np.float32


def test_output_not_scalar_suggests_a_reduction():
    prog = irgraph.compile("h = w * x\nloss = h + 1", wrt=["w"])
    with pytest.raises(irgraph.Error) as info:
        prog.run({"w": np.ones(3), "x": 2.0})
    message = str(info.value)
    assert "'loss' (line 2: loss = h + 1)" in message and "(3,)" in message
    assert "sum(loss)" in message and "mean(loss)" in message  # a reduction of the output itself


def test_compile_differentiates_the_equation_nothing_uses_not_the_last_line():
    # yhat is on the last line; the gradient wanted is that of loss (a silent wrong answer before issue 10).
    res = irgraph.compile("loss = (yhat - y)^2\nyhat = b + w1*x1", wrt=["w1"]).run(
        {"y": 2.0, "b": 0.0, "w1": 1.0, "x1": 3.0})
    assert float(res.value) == 1.0
    assert float(res.grads["w1"]) == pytest.approx(2 * (3.0 - 2.0) * 3.0)


def test_missing_input_names_the_variable():
    prog = irgraph.compile(SEED, wrt=["w1"])
    with pytest.raises(irgraph.Error) as info:
        prog.run({k: v for k, v in SEED_INPUTS.items() if k != "x2"})
    assert "'x2'" in str(info.value)
    assert "a2 = w2 * x2" in str(info.value)  # and where it is used


def test_every_missing_input_is_named_at_once_with_its_equation():
    prog = irgraph.compile(SEED, wrt=["w1"])
    with pytest.raises(irgraph.Error) as info:
        prog.run({k: v for k, v in SEED_INPUTS.items() if k not in ("x2", "y")})
    assert "missing inputs: " in str(info.value)
    assert "'x2' (used in line 4: a2 = w2 * x2)" in str(info.value)
    assert "'y' (used in line 6: loss = (yhat - y)^2)" in str(info.value)


@pytest.mark.parametrize("text, inputs, fragments", [
    ("h = w * x\nloss = sum(h)", {"w": np.ones((2, 3)), "x": np.ones(4)}, ["h = w * x", "(2, 3)", "(4,)"]),
    ("z = A @ x\nloss = sum(z)", {"A": np.ones((2, 3)), "x": np.ones(4)}, ["z = A @ x", "(2, 3)", "(4,)"]),
    ("loss = sum(tanh(W @ v) + b)", {"W": np.ones((2, 3)), "v": np.ones(3), "b": np.ones(5)},
     ["loss = sum(tanh(W @ v) + b)", "(2,)", "(5,)"]),
    ("loss = sum(A, 2)", {"A": np.ones((2, 3))}, ["loss = sum(A, 2)", "axis"]),
    ("loss = s @ v", {"s": 2.0, "v": np.ones(3)}, ["loss = s @ v", "@"]),
])
def test_shape_mismatch_names_the_equation_and_the_shapes(text, inputs, fragments):
    prog = irgraph.compile(text)
    with pytest.raises(irgraph.Error) as info:
        prog.run(inputs)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("bad", ["abc", None, [1, "x"], {"a": 1}, 1j])
def test_inputs_that_are_not_numbers_are_errors_naming_the_input(bad):
    with pytest.raises(irgraph.Error, match="input 'w' is not a number"):
        irgraph.compile("loss = w * x").run({"w": bad, "x": 1.0})


def test_inputs_must_be_a_mapping():
    with pytest.raises(irgraph.Error):
        irgraph.compile("loss = w * x").run([1.0, 2.0])


def test_unknown_device_is_an_error():
    with pytest.raises(irgraph.Error, match="device"):
        irgraph.compile("loss = w * x").run({"w": 1.0, "x": 1.0}, device="tpu")


# ---- random models against finite differences -------------------------------------------------------------

SHAPES = [(), (3,), (2, 3), (2, 1), (3, 2)]
MATMUL = {((3,), (3,)): (), ((2, 3), (3,)): (2,), ((3,), (3, 2)): (2,), ((2, 3), (3, 2)): (2, 2),
          ((3, 2), (2, 3)): (3, 3), ((3, 2), (2, 1)): (3, 1)}
UNARY = {"sin": np.sin, "cos": np.cos, "tanh": np.tanh, "sigmoid": lambda x: 1 / (1 + np.exp(-x))}
BINARY = {"+": np.add, "-": np.subtract, "*": np.multiply}


@st.composite
def random_models(draw):
    """(model text, {input: shape}, reference function) for a random small model."""
    n_inputs = draw(st.integers(1, 4))
    shapes = {f"x{i}": draw(st.sampled_from(SHAPES)) for i in range(n_inputs)}
    env = dict(shapes)  # name -> shape of everything defined so far
    lines, steps = [], []  # steps: (name, function of the values so far)
    for k in range(draw(st.integers(1, 6))):
        names = sorted(env)
        kind = draw(st.sampled_from(["binary", "binary", "unary", "matmul", "reduce", "power", "reuse"]))
        out = f"e{k}"
        if kind == "matmul":
            pairs = [(a, b) for a in names for b in names if (env[a], env[b]) in MATMUL]
            if not pairs:
                kind = "unary"
            else:
                a, b = draw(st.sampled_from(pairs))
                lines.append(f"{out} = {a} @ {b}")
                steps.append((out, lambda v, a=a, b=b: v[a] @ v[b]))
                env[out] = MATMUL[(env[a], env[b])]
                continue
        if kind in ("binary", "reuse"):
            a = draw(st.sampled_from(names))
            partners = [b for b in names if broadcastable(env[a], env[b])]
            b = a if kind == "reuse" else draw(st.sampled_from(partners))
            sym = draw(st.sampled_from(sorted(BINARY)))
            f = BINARY[sym]
            lines.append(f"{out} = {a} {sym} {b}")
            steps.append((out, lambda v, a=a, b=b, f=f: f(v[a], v[b])))
            env[out] = np.broadcast_shapes(env[a], env[b])
        elif kind == "unary":
            a = draw(st.sampled_from(names))
            fn = draw(st.sampled_from(sorted(UNARY)))
            c = draw(st.sampled_from([1, 2, 0.5]))
            lines.append(f"{out} = {fn}({a}) * {c}")
            steps.append((out, lambda v, a=a, f=UNARY[fn], c=c: f(v[a]) * c))
            env[out] = env[a]
        elif kind == "power":
            a = draw(st.sampled_from(names))
            p = draw(st.sampled_from([2, 3]))
            lines.append(f"{out} = tanh({a})^{p}")
            steps.append((out, lambda v, a=a, p=p: np.tanh(v[a]) ** p))
            env[out] = env[a]
        else:
            a = draw(st.sampled_from(names))
            fn = draw(st.sampled_from(["sum", "mean"]))
            axes = [None] + list(range(-len(env[a]), len(env[a])))
            axis = draw(st.sampled_from(axes))
            call = f"{fn}({a})" if axis is None else f"{fn}({a}, {axis})"
            lines.append(f"{out} = {call}")
            f = getattr(np, fn)
            steps.append((out, lambda v, a=a, f=f, axis=axis: f(v[a], axis=axis)))
            env[out] = tuple(np.sum(np.zeros(env[a]), axis=axis).shape)
    last = f"e{len(lines) - 1}"
    other = draw(st.sampled_from(sorted(env)))
    lines.append(f"loss = sum({last} * {last}) + mean({other})")
    text = "\n".join(lines)
    shapes = {k: s for k, s in shapes.items() if re.search(rf"\b{k}\b", text)}  # inputs the model uses

    def ref(values):
        v = dict(values)
        for name, f in steps:
            v[name] = f(v)
        return np.sum(v[last] * v[last]) + np.mean(v[other])

    return text, shapes, ref


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_models(), st.integers(0, 2**31 - 1))
def test_random_models_against_finite_differences(model, seed):
    text, shapes, ref = model
    rng = np.random.default_rng(seed)
    inputs = {k: (float(rng.normal()) if s == () else rng.normal(size=s)) for k, s in shapes.items()}
    prog = irgraph.compile(text)
    res = prog.run(inputs)
    np.testing.assert_allclose(res.value, ref(inputs), rtol=1e-10, atol=1e-10, err_msg=text)
    used = {name for name, _ in prog.inputs}
    expected = finite_differences(ref, inputs, sorted(shapes))
    assert set(res.grads) == set(shapes), text
    for name in shapes:
        got = np.asarray(res.grads[name])
        assert got.shape == np.shape(inputs[name]), f"{text}\nshape of d/d{name}"
        scale = max(1.0, float(np.max(np.abs(expected[name]))))
        # a central difference with step 1e-6 loses about |f| * 1e-10 to rounding: a reference no better than that
        rounding = 1e-9 * abs(float(np.sum(res.value)))
        np.testing.assert_allclose(got, expected[name], rtol=1e-5, atol=1e-6 * scale + rounding,
                                   err_msg=f"{text}\nd/d{name} (used: {name in used})")
