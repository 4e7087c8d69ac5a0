"""irgraph.jvp, irgraph.hvp, irgraph.hessian and compile(order=2) (issue 13): checked against JAX (jax.jvp,
jax.hessian, jvp of grad) on the shared corpus and on seeded random models, and against finite differences
of the gradient."""

import json
import re
import warnings

import numpy as np
import pytest
from cases import CASE_IDS, CASES, DEVICES, EXAMPLES, ROOT, broadcastable, jax_namespace, to_numpy

import irgraph

J = jax_namespace()
needs_jax = pytest.mark.skipif(J is None, reason="JAX is not installed (pip install -e '.[dev]')")

@pytest.fixture(params=[d for d in DEVICES if d.values[0] in ("numpy", "cupy")])
def device(request):
    """Second order runs on NumPy and CuPy (numba and dask are errors: see test_numba_and_dask_say_so)."""
    return request.param


SEED = (EXAMPLES / "linear.eq").read_text()
SEED_INPUTS = {"x1": 1.5, "x2": -0.5, "y": 2.0, "b": 0.1, "w1": 0.2, "w2": 0.3}


def directions(inputs, wrt, seed):
    rng = np.random.default_rng(seed)
    return {k: (float(rng.normal()) if np.shape(inputs[k]) == () else rng.normal(size=np.shape(inputs[k])))
            for k in wrt}


def jax_function(case, inputs):
    """The case's reference as a JAX function of {wrt name: array}, the other inputs held fixed."""
    data = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items() if k not in case.wrt}
    return lambda p: case.ref(J, {**data, **p})


def jax_at(case, seed):
    """Inputs and directions for the case (seeds `seed` and `seed` + 1), and f -> jax.jvp of f there."""
    import jax

    inputs = case.inputs(seed=seed)
    params = {k: np.asarray(inputs[k], dtype=np.float64) for k in case.wrt}
    along = directions(inputs, case.wrt, seed=seed + 1)
    return inputs, along, lambda f: jax.jvp(f, (params,), ({k: np.asarray(x) for k, x in along.items()},))


def assert_close(got, want, what, rtol=1e-9, atol=1e-10):
    got, want = to_numpy(got), np.asarray(want)
    assert np.shape(got) == want.shape, f"{what}: shape {np.shape(got)}, expected {want.shape}"
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * max(1.0, float(np.max(np.abs(want), initial=0))),
                               err_msg=what)


# ---- the seed model: the lecture's numbers -------------------------------------------------------------------

def test_seed_model_hessian_is_twice_the_outer_product_of_1_x1_x2():
    H = irgraph.hessian(SEED, wrt=["b", "w1", "w2"])(SEED_INPUTS)
    x = np.array([1.0, SEED_INPUTS["x1"], SEED_INPUTS["x2"]])
    names = ["b", "w1", "w2"]
    got = np.array([[float(H[a][b]) for b in names] for a in names])
    np.testing.assert_allclose(got, 2 * np.outer(x, x), rtol=1e-15)
    assert all(H[a][b].shape == () for a in names for b in names)


def test_seed_model_jvp_and_hvp_by_hand():
    value, slope = irgraph.jvp(SEED, wrt=["w1"])(SEED_INPUTS, {"w1": 1.0})
    r = 0.1 + 0.2 * 1.5 + 0.3 * -0.5 - 2.0  # yhat - y
    assert value == pytest.approx(r * r)
    assert slope == pytest.approx(2 * r * 1.5)  # ∂loss/∂w1 = 2(ŷ - y)·x1
    hv = irgraph.hvp(SEED, wrt=["b", "w1", "w2"])(SEED_INPUTS, {"b": 1.0, "w1": 2.0, "w2": -1.0})
    x = np.array([1.0, 1.5, -0.5])
    np.testing.assert_allclose([hv["b"], hv["w1"], hv["w2"]], 2 * x * (x @ [1.0, 2.0, -1.0]))


# ---- the shared corpus against JAX ---------------------------------------------------------------------------

@needs_jax
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_hessian_matches_jax(case, device):
    import jax

    inputs = case.inputs(seed=5)
    params = {k: np.asarray(inputs[k], dtype=np.float64) for k in case.wrt}
    want = jax.hessian(jax_function(case, inputs))(params)
    got = irgraph.hessian(case.text, wrt=case.wrt, output=case.output, device=device)(inputs)
    assert sorted(got) == sorted(case.wrt)
    for a in case.wrt:
        assert sorted(got[a]) == sorted(case.wrt)
        for b in case.wrt:
            assert_close(got[a][b], want[a][b], f"{case.name}: H[{a}][{b}]")


@needs_jax
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_jvp_matches_jax(case, device):
    inputs, tangents, jax_jvp = jax_at(case, seed=6)
    value, slope = jax_jvp(jax_function(case, inputs))
    got_value, got_slope = irgraph.jvp(case.text, wrt=case.wrt, output=case.output, device=device)(inputs, tangents)
    assert_close(got_value, value, f"{case.name}: value")
    assert_close(got_slope, slope, f"{case.name}: jvp")


@needs_jax
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_hvp_matches_jvp_of_jax_grad(case, device):
    import jax

    inputs, v, jax_jvp = jax_at(case, seed=8)
    _, want = jax_jvp(jax.grad(jax_function(case, inputs)))
    got = irgraph.hvp(case.text, wrt=case.wrt, output=case.output, device=device)(inputs, v)
    for name in case.wrt:
        assert_close(got[name], want[name], f"{case.name}: (Hv)[{name}]")


# ---- against finite differences of the gradient, without JAX -------------------------------------------------

@pytest.mark.parametrize("case", [c for c in CASES if c.fd], ids=[c.name for c in CASES if c.fd])
def test_hessian_matches_finite_differences_of_the_gradient(case):
    inputs = case.inputs(seed=11)
    grad = irgraph.compile(case.text, wrt=case.wrt, output=case.output)
    H = irgraph.hessian(case.text, wrt=case.wrt, output=case.output)(inputs)
    eps = 1e-6
    for b in case.wrt:
        x = np.array(inputs[b], dtype=float)
        for j in np.ndindex(x.shape):
            hi, lo = x.copy(), x.copy()
            hi[j] += eps
            lo[j] -= eps
            up = grad.run({**inputs, b: hi}).grads
            down = grad.run({**inputs, b: lo}).grads
            for a in case.wrt:
                column = (np.asarray(up[a]) - np.asarray(down[a])) / (2 * eps)
                scale = max(1.0, float(np.max(np.abs(column), initial=0)))
                np.testing.assert_allclose(H[a][b][(...,) + j], column, rtol=1e-5, atol=1e-6 * scale,
                                           err_msg=f"{case.name}: H[{a}][{b}][..., {j}]")


# ---- compile(order=2): one Program, and its standalone module ------------------------------------------------

def test_order_2_program_runs_value_grads_and_hessian():
    prog = irgraph.compile(SEED, wrt=["b", "w1", "w2"], order=2)
    assert prog.order == 2 and prog.wrt == ["b", "w1", "w2"]
    res = prog.run(SEED_INPUTS)
    first = irgraph.compile(SEED, wrt=["b", "w1", "w2"]).run(SEED_INPUTS)
    assert res.value == first.value and res.grads == first.grads
    assert float(res.hessian["w1"]["w1"]) == pytest.approx(2 * 1.5**2)
    assert {i.role for i in prog.instrs} >= {"forward", "backward", "tangent"}
    assert prog.stats["tangent_ops"] > 0


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_order_2_source_is_standalone_and_agrees_with_run(case):
    prog = irgraph.compile(case.text, wrt=case.wrt, output=case.output, order=2)
    namespace = {}
    exec(compile(prog.source, "generated.py", "exec"), namespace)  # noqa: S102 (running generated code is the test)
    assert "irgraph" not in {m.split(".")[0] for m in namespace if isinstance(m, str)}
    inputs = case.inputs(seed=12)
    value, grads, hessian = namespace["value_grad_hessian"](inputs)
    res = prog.run(inputs, check_finite=True)  # the interpreter, instruction by instruction
    np.testing.assert_allclose(value, res.value, rtol=1e-13)
    for a in case.wrt:
        np.testing.assert_allclose(grads[a], res.grads[a], rtol=1e-13, atol=1e-15)
        for b in case.wrt:
            assert np.shape(hessian[a][b]) == np.shape(inputs[a]) + np.shape(inputs[b])
            np.testing.assert_allclose(hessian[a][b], res.hessian[a][b], rtol=1e-13, atol=1e-15)
    assert namespace["value_and_grad"](inputs)[0] == pytest.approx(value)


def test_forward_mode_source_defines_jvp():
    prog = irgraph.compile(SEED, wrt=["w1"], mode="forward")
    namespace = {}
    exec(compile(prog.source, "generated.py", "exec"), namespace)  # noqa: S102 (running generated code is the test)
    value, slope = namespace["jvp"](SEED_INPUTS, {"w1": 1.0})
    assert (value, slope) == irgraph.jvp(SEED, wrt=["w1"])(SEED_INPUTS, {"w1": 1.0})


def test_jvp_of_a_vector_output_is_a_vector():
    _, slope = irgraph.jvp("h = sin(w) * x", wrt=["w"])({"w": np.array([0.1, 0.2]), "x": 3.0},
                                                             {"w": np.array([1.0, 0.0])})
    np.testing.assert_allclose(slope, [3 * np.cos(0.1), 0.0])


# ---- errors a user can cause -----------------------------------------------------------------------------------

def test_direction_with_a_wrong_shape_names_the_input():
    f = irgraph.hvp("loss = sum(w * w)", wrt=["w"])
    with pytest.raises(irgraph.Error, match=r"'w'.*\(2,\).*\(3,\)"):
        f({"w": np.ones(3)}, {"w": np.ones(2)})


def test_direction_missing_an_input_names_it():
    with pytest.raises(irgraph.Error, match="'b'"):
        irgraph.hvp(SEED, wrt=["b", "w1"])(SEED_INPUTS, {"w1": 1.0})


def test_hessian_of_a_vector_output_suggests_a_reduction():
    with pytest.raises(irgraph.Error, match="sum"):
        irgraph.hessian("h = w * w", wrt=["w"])({"w": np.ones(3)})


@pytest.mark.parametrize("where", ["numba", "dask"])
def test_numba_and_dask_say_so(where):
    prog = irgraph.compile(SEED, wrt=["w1"], order=2)
    with pytest.raises(irgraph.Error, match=f"device '{where}' runs value-and-gradient programs only, not a second"):
        prog.run(SEED_INPUTS, device=where)
    for f in (irgraph.hessian(SEED, wrt=["w1"], device=where), irgraph.jvp(SEED, wrt=["w1"], device=where)):
        with pytest.raises(irgraph.Error, match=f"device '{where}'"):
            f(SEED_INPUTS) if f.program.hvp else f(SEED_INPUTS, {"w1": 1.0})
    with pytest.raises(irgraph.Error, match="numba backend computes values and gradients only"):
        prog.source_for("numba", SEED_INPUTS)


@pytest.mark.parametrize("kwargs", [{"order": 3}, {"mode": "sideways"}, {"order": 2, "mode": "forward"}])
def test_bad_order_or_mode_is_an_error(kwargs):
    with pytest.raises(irgraph.Error):
        irgraph.compile(SEED, **kwargs)


# ---- a seeded random-model campaign against JAX: broadcasting, matmul, reductions, reuse, float32 -------------

SHAPES = [(), (3,), (2, 3), (2, 1), (1, 3)]
MATMUL = {((3,), (3,)): (), ((2, 3), (3,)): (2,), ((1, 3), (3,)): (1,), ((2, 3), (3, 2)): (2, 2)}
UNARY = ["sin", "cos", "tanh", "sigmoid", "exp"]


def random_model(seed):
    """(model text, {input: shape}, ref(F, values)) for a small random model, from one seed."""
    rng = np.random.default_rng(seed)
    shapes = {f"x{i}": SHAPES[rng.integers(len(SHAPES))] for i in range(rng.integers(1, 4))}
    shapes["m"] = (3, 2)  # so a matmul is always possible
    env, lines, steps = dict(shapes), [], []
    for k in range(rng.integers(2, 7)):
        names, out = sorted(env), f"e{k}"
        kind = ["binary", "unary", "matmul", "reduce", "reuse", "power", "quotient"][rng.integers(7)]
        a = f"e{k - 1}" if k and rng.random() < 0.6 else names[rng.integers(len(names))]  # mostly a chain
        if kind == "matmul":
            pairs = [(p, q) for p in names for q in names if (env[p], env[q]) in MATMUL]
            if not pairs:
                a, b = "m", "m"
                lines.append(f"{out} = transpose(m) @ m")
                steps.append((out, lambda F, v: F.transpose(v["m"]) @ v["m"]))
                env[out] = (2, 2)
                continue
            a, b = pairs[rng.integers(len(pairs))]
            lines.append(f"{out} = {a} @ {b}")
            steps.append((out, lambda F, v, a=a, b=b: v[a] @ v[b]))
            env[out] = MATMUL[(env[a], env[b])]
        elif kind in ("binary", "reuse", "quotient"):
            partners = [b for b in names if broadcastable(env[a], env[b])]
            b = a if kind == "reuse" else partners[rng.integers(len(partners))]
            if kind == "quotient":  # a / (1 + b^2): a division that stays finite
                lines.append(f"{out} = {a} / (1 + {b}^2)")
                steps.append((out, lambda F, v, a=a, b=b: v[a] / (1 + v[b] ** 2)))
            else:
                sym = "+-*"[rng.integers(3)]
                lines.append(f"{out} = {a} {sym} {b}")
                steps.append((out, lambda F, v, a=a, b=b, sym=sym: {"+": v[a] + v[b], "-": v[a] - v[b],
                                                                     "*": v[a] * v[b]}[sym]))
            env[out] = np.broadcast_shapes(env[a], env[b])
        elif kind == "unary":
            fn = UNARY[rng.integers(len(UNARY))]
            arg = f"tanh({a})" if fn == "exp" else a  # keep exp's argument small
            lines.append(f"{out} = {fn}({arg})")
            steps.append((out, lambda F, v, a=a, fn=fn: getattr(F, fn)(F.tanh(v[a]) if fn == "exp" else v[a])))
            env[out] = env[a]
        elif kind == "power":
            p = int(rng.integers(2, 4))
            lines.append(f"{out} = {a}^{p}")
            steps.append((out, lambda F, v, a=a, p=p: v[a] ** p))
            env[out] = env[a]
        else:
            fn = ["sum", "mean"][rng.integers(2)]
            axes = [None] + list(range(-len(env[a]), len(env[a])))
            axis = axes[rng.integers(len(axes))]
            lines.append(f"{out} = {fn}({a})" if axis is None else f"{out} = {fn}({a}, {axis})")
            steps.append((out, lambda F, v, a=a, fn=fn, axis=axis: getattr(F, fn)(v[a], axis=axis)))
            env[out] = tuple(np.sum(np.zeros(env[a]), axis=axis).shape)
    last, other = f"e{len(lines) - 1}", sorted(env)[rng.integers(len(env))]
    lines.append(f"loss = sum({last} * {last}) + mean(sin({other}))")
    text = "\n".join(lines)
    used = {k: s for k, s in shapes.items() if re.search(rf"\b{k}\b", text)}  # the inputs the model reads

    def ref(F, values):
        v = dict(values)
        for name, f in steps:
            v[name] = f(F, v)
        return F.sum(v[last] * v[last]) + F.mean(F.sin(v[other]))

    return text, used, ref


@needs_jax
@pytest.mark.parametrize("seed", range(40))
def test_random_models_hessian_and_jvp_match_jax(seed):
    import jax

    text, shapes, ref = random_model(seed)
    rng = np.random.default_rng(1000 + seed)
    inputs = {k: (float(rng.normal()) if s == () else rng.normal(size=s)) for k, s in shapes.items()}
    wrt = sorted(inputs)
    params = {k: np.asarray(v) for k, v in inputs.items()}

    def f(p):
        return ref(J, p)

    want = jax.hessian(f)(params)
    got = irgraph.hessian(text, wrt=wrt)(inputs)
    for a in wrt:
        for b in wrt:
            assert_close(got[a][b], want[a][b], f"{text}\nH[{a}][{b}]")
    v = directions(inputs, wrt, seed)
    value, slope = jax.jvp(f, (params,), ({k: np.asarray(x) for k, x in v.items()},))
    got_value, got_slope = irgraph.jvp(text, wrt=wrt)(inputs, v)
    assert_close(got_value, value, f"{text}\nvalue")
    assert_close(got_slope, slope, f"{text}\njvp")
    # float32 inputs: float32 all the way through, within float32's precision of the float64 reference
    single = {k: np.asarray(x, dtype=np.float32) for k, x in inputs.items()}
    hv = irgraph.hvp(text, wrt=wrt)(single, {k: np.asarray(x, dtype=np.float32) for k, x in v.items()})
    _, want_hv = jax.jvp(jax.grad(f), (params,), ({k: np.asarray(x) for k, x in v.items()},))
    for name in wrt:
        assert np.asarray(hv[name]).dtype == np.float32, f"{text}\n(Hv)[{name}] is {np.asarray(hv[name]).dtype}"
        assert_close(hv[name], want_hv[name], f"{text}\nfloat32 (Hv)[{name}]", rtol=2e-3, atol=2e-3)


# ---- the CLI: irgraph compile --hessian, irgraph run --hessian -------------------------------------------------

def test_cli_run_hessian_prints_the_seed_models_table(tmp_path, capsys):
    from irgraph.cli import main

    (tmp_path / "seed.eq").write_text(SEED)
    sets = [f"--set={k}={v}" for k, v in SEED_INPUTS.items()]
    assert main(["run", str(tmp_path / "seed.eq"), "--wrt", "b,w1,w2", *sets, "--hessian"]) == 0
    out = capsys.readouterr().out
    assert "Hessian of loss:" in out
    rows = {line.split()[0]: [float(x) for x in line.split()[1:]] for line in out.splitlines()[-3:]}
    assert rows == {"b": [2, 3, -1], "w1": [3, 4.5, -1.5], "w2": [-1, -1.5, 0.5]}


def test_cli_run_hessian_json_and_shapes_of_matrix_blocks(tmp_path, capsys):
    from irgraph.cli import main

    (tmp_path / "m.eq").write_text("loss = sum((A @ x)^2)")
    args = ["run", str(tmp_path / "m.eq"), "--set", "A=[[1, 2], [3, 4]]", "--set", "x=[1, -1]", "--hessian"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "A, A: shape (2, 2, 2, 2)" in out and "x, A: shape (2, 2, 2)" in out
    assert main([*args, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    A = np.array([[1.0, 2], [3, 4]])
    np.testing.assert_allclose(data["hessian"]["x"]["x"], 2 * A.T @ A)


def test_cli_compile_hessian_writes_a_second_order_module(tmp_path, capsys):
    from irgraph.cli import main

    (tmp_path / "seed.eq").write_text(SEED)
    assert main(["compile", str(tmp_path / "seed.eq"), "--wrt", "b,w1,w2", "--hessian", "--stats"]) == 0
    out = capsys.readouterr().out
    namespace = {}
    exec(compile(out, "generated.py", "exec"), namespace)  # noqa: S102 (running generated code is the test)
    _, _, H = namespace["value_grad_hessian"](SEED_INPUTS)
    assert float(H["w1"]["w1"]) == pytest.approx(2 * 1.5**2)
    assert "# tangent_ops:" in out


def test_readme_shows_what_run_hessian_prints(capsys):
    from irgraph.cli import main

    command = "$ irgraph run examples/linear.eq --inputs examples/linear.json --wrt b,w1,w2 --hessian\n"
    shown = (ROOT / "README.md").read_text(encoding="utf-8").split(command)[1].split("```")[0]
    assert main(["run", str(ROOT / "examples/linear.eq"), "--inputs", str(ROOT / "examples/linear.json"),
                 "--wrt", "b,w1,w2", "--hessian"]) == 0
    assert capsys.readouterr().out == shown


# ---- the language campaign's models (tests/randmodels.py: every function, edge values, float32) -------------

def language_hessians(models, J, jit=True):
    """[(value, {a: {b: block}}) or None where JAX's value, gradient or Hessian is not finite]: jax.hessian of
    each model's reference, under one jax.jit for all of them (or eagerly)."""
    from randmodels import _loss, arguments

    jax = J.jax
    args, trees = arguments(models, J)

    def all_models(args):
        return [(jax.value_and_grad(_loss(m, tree, fixed, J))(params), jax.hessian(_loss(m, tree, fixed, J))(params))
                for m, tree, (fixed, params) in zip(models, trees, args)]

    if jit:
        out = jax.jit(all_models)(args)
    else:
        with jax.disable_jit():
            out = all_models(args)
    found = []
    for (value, grads), h in out:
        arrays = [value, *grads.values(), *(x for row in h.values() for x in row.values())]
        finite = all(np.all(np.isfinite(np.asarray(x))) for x in arrays)
        found.append((np.asarray(value), {a: {b: np.asarray(x) for b, x in row.items()} for a, row in h.items()})
                     if finite else None)
    return found


def language_problems(m, want):
    from randmodels import _compare

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            got = irgraph.hessian(m.text, wrt=m.wrt, output="loss")(m.inputs)
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            return [f"hessian: {type(e).__name__}: {e}"]
    return [p for a in m.wrt for b in m.wrt for p in _compare(f"H[{a}][{b}]", got[a][b], want[1][a][b], m.dtype)]


@pytest.mark.slow
@needs_jax
@pytest.mark.parametrize("chunk", [range(100), range(100, 200)], ids=lambda r: f"seeds{r.start}-{r.stop - 1}")
def test_language_campaign_hessians_match_jax(chunk):
    import randmodels

    J = randmodels.jax_ops()
    models = [m for m in map(randmodels.model, chunk) if m.wrt and not m.constant]
    checked, failures = 0, []
    for m, want in zip(models, language_hessians(models, J)):
        if want is None:  # NaN or inf somewhere: second derivatives there are conventions, not numbers
            continue
        checked += 1
        problems = language_problems(m, want)
        if problems:  # XLA rewrites whole programs; eager JAX is the reference op by op (see randmodels)
            eager = language_hessians([m], J, jit=False)[0]
            problems = language_problems(m, eager) if eager is not None else []
        if problems:
            failures.append(f"{m!r}\ninputs: {m.inputs}\n  " + "\n  ".join(problems))
    assert checked >= len(chunk) // 3, f"only {checked} of {len(chunk)} models were finite enough to check"
    assert not failures, f"{len(failures)} of {checked} Hessians differ from JAX:\n\n" + "\n\n".join(failures)
