"""prog.source: a standalone module that runs where irgraph cannot be imported, and agrees with prog.run."""

import ast
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cases import CASE_IDS, CASES, NP, finite_differences

import irgraph

# Runs in the clean interpreter: -I (no PYTHONPATH, no user site, no cwd on the path) and -S (no site
# packages, so no editable-install hook for irgraph); only NumPy's own folder is put back on the path.
RUNNER = textwrap.dedent("""
    import sys
    sys.path.append(sys.argv[1])  # the folder NumPy lives in
    try:
        import irgraph  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("irgraph is importable in the clean interpreter")
    import importlib.util
    import numpy
    spec = importlib.util.spec_from_file_location("generated", "generated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with numpy.load("inputs.npz") as data:
        inputs = {k: (float(data[k]) if data[k].shape == () else data[k]) for k in data.files}
    value, grads = module.value_and_grad(inputs)
    numpy.savez("outputs.npz", __value__=numpy.asarray(value), **{k: numpy.asarray(v) for k, v in grads.items()})
    print("modules:", sorted(m for m in sys.modules if m.split(".")[0] in ("irgraph", "passes", "viz")))
""")

NUMPY_HOME = os.path.dirname(os.path.dirname(np.__file__))


def run_standalone(source, inputs, tmp_path):
    """Run `source` in a subprocess that cannot import irgraph; returns (value, grads)."""
    (tmp_path / "generated.py").write_text(source)
    (tmp_path / "runner.py").write_text(RUNNER)
    np.savez(tmp_path / "inputs.npz", **{k: np.asarray(v) for k, v in inputs.items()})
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = subprocess.run([sys.executable, "-I", "-S", "runner.py", NUMPY_HOME], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "modules: []" in proc.stdout
    with np.load(tmp_path / "outputs.npz") as data:
        value = data["__value__"]
        grads = {k: data[k] for k in data.files if k != "__value__"}
    return value, grads


def test_irgraph_is_not_importable_in_the_clean_interpreter(tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    proc = subprocess.run([sys.executable, "-I", "-S", "-c", "import irgraph"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode != 0
    assert "ModuleNotFoundError" in proc.stderr
    # ... while NumPy is, through the one folder the runner adds.
    proc = subprocess.run([sys.executable, "-I", "-S", "-c",
                           f"import sys; sys.path.append({NUMPY_HOME!r}); import numpy"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_standalone_module_matches_run(case, tmp_path):
    prog = irgraph.compile(case.text, wrt=case.wrt, output=case.output)
    inputs = case.inputs(seed=3)
    value, grads = run_standalone(prog.source, inputs, tmp_path)
    res = prog.run(inputs)
    np.testing.assert_allclose(value, res.value, rtol=1e-13, atol=1e-13)
    assert sorted(grads) == sorted(res.grads)
    for k in res.grads:
        assert grads[k].shape == np.shape(res.grads[k]), k
        np.testing.assert_allclose(grads[k], res.grads[k], rtol=1e-13, atol=1e-13, err_msg=k)
    np.testing.assert_allclose(value, case.ref(NP, inputs), rtol=1e-10)


def _imports(tree):
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append(node.module)
    return found


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_source_imports_numpy_only(case):
    source = irgraph.compile(case.text, wrt=case.wrt, output=case.output).source
    tree = ast.parse(source)
    assert _imports(tree) == ["numpy"]
    defs = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert "value_and_grad" in defs
    assert not any(isinstance(n, (ast.Call,)) and getattr(n.func, "id", None) in ("eval", "exec", "__import__")
                   for n in ast.walk(tree))


# Names the generated module itself uses, and names its temporaries take: user variables may be called
# anything the model language allows, these included.
HOSTILE = ["xp", "inputs", "numpy", "value_and_grad", "value", "grads", "_sum_to", "_unsum", "_array",
           "_sigmoid", "t1", "t2", "g3", "d_w", "d_xp", "float", "type", "ValueError", "print", "len", "sum_",
           "exec", "eval", "open", "np", "_", "self"]


def test_hostile_user_names_give_safe_identifiers(tmp_path):
    # Each hostile name is an input, and some are equations too.
    terms = " + ".join(f"{n} * w" for n in HOSTILE[:len(HOSTILE) // 2])
    rest = " + ".join(HOSTILE[len(HOSTILE) // 2:])
    text = f"t3 = {terms}\nd_x = sigmoid(t3) * ({rest})\nloss = sum(d_x * d_x) + sum(t3)"
    prog = irgraph.compile(text)
    rng = np.random.default_rng(0)
    inputs = {n: rng.normal(size=3) for n in HOSTILE}
    inputs["w"] = 0.7
    res = prog.run(inputs)

    def ref(v):
        t3 = sum(v[n] * v["w"] for n in HOSTILE[:len(HOSTILE) // 2])
        d_x = NP.sigmoid(t3) * sum(v[n] for n in HOSTILE[len(HOSTILE) // 2:])
        return np.sum(d_x * d_x) + np.sum(t3)

    np.testing.assert_allclose(res.value, ref(inputs), rtol=1e-12)
    expected = finite_differences(ref, inputs, ["w", "xp", "inputs", "float", "t1"])
    for k, g in expected.items():
        np.testing.assert_allclose(res.grads[k], g, rtol=1e-5, atol=1e-6, err_msg=k)

    value, grads = run_standalone(prog.source, inputs, tmp_path)
    np.testing.assert_allclose(value, res.value, rtol=1e-13)
    assert sorted(grads) == sorted(res.grads) == sorted(HOSTILE + ["w"])
    for k in res.grads:
        np.testing.assert_allclose(grads[k], res.grads[k], rtol=1e-13, err_msg=k)

    # No assignment in value_and_grad rebinds a name the module relies on.
    tree = ast.parse(prog.source)
    helpers = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    func = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "value_and_grad")
    stored = {n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    assert stored.isdisjoint(helpers | {"inputs", "numpy", "float", "type", "ValueError"}), stored
    assert [n.id for n in ast.walk(func) if isinstance(n, ast.Name) and n.id == "xp"
            and isinstance(n.ctx, ast.Store)] == ["xp"]  # only `xp = numpy`
    # The user's names reach the module only as string literals (the keys of inputs and grads).
    keys = {n.value for n in ast.walk(func) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert set(HOSTILE) <= keys


def test_user_names_that_need_quoting_in_keys():
    prog = irgraph.compile("loss = sum(x_1 * W)")
    assert "inputs['x_1']" in prog.source or 'inputs["x_1"]' in prog.source


def test_source_runs_with_another_array_module():
    """`xp` swaps the array module: here a thin wrapper around NumPy that records what is called."""
    prog = irgraph.compile((CASES[3].text), wrt=CASES[3].wrt)  # the MLP
    namespace = {}
    exec(compile(prog.source, "generated.py", "exec"), namespace)  # noqa: S102 (running generated code is the test)
    calls = []

    class Recorder:
        def __getattr__(self, name):
            calls.append(name)
            return getattr(np, name)

    inputs = CASES[3].inputs(0)
    value, grads = namespace["value_and_grad"](inputs, xp=Recorder())
    res = prog.run(inputs)
    np.testing.assert_allclose(value, res.value, rtol=1e-13)
    for k in res.grads:
        np.testing.assert_allclose(grads[k], res.grads[k], rtol=1e-13)
    assert "tanh" in calls and "asarray" in calls


def test_generated_source_is_valid_and_readable():
    prog = irgraph.compile((CASES[0].text), wrt=CASES[0].wrt)
    source = prog.source
    compile(source, "generated.py", "exec")
    assert "def value_and_grad(inputs, xp=None):" in source
    assert "# forward" in source and "# backward" in source
    assert "del " in source  # values are dropped after their last use
    assert json.dumps(source)  # plain text


def test_generated_module_reports_a_vector_output():
    prog = irgraph.compile("loss = w * x", wrt=["w"])
    namespace = {}
    exec(compile(prog.source, "generated.py", "exec"), namespace)  # noqa: S102 (running generated code is the test)
    with pytest.raises(ValueError, match="the output 'loss' .* differentiate sum\\(loss\\) or mean\\(loss\\)"):
        namespace["value_and_grad"]({"w": np.ones(3), "x": 2.0})


def test_float_function_names_gradients_directly_and_agrees_with_the_array_function():
    """On floats sum_to and id are the identity: the float function assigns d_w1 = d_yhat * x1 at once
    (no g5 = ...; d_w1 = g5), and a value renamed twice (id of a sum_to) still arrives under its last name."""
    text = "a1 = w1 * x1\na2 = w2 * x2\nyhat = b + a1 + a2\nloss = (yhat - y)^2"
    prog = irgraph.compile(text)
    floats = prog.source[prog.source.index("def _value_and_grad_floats"):]
    assert "    d_w1 = d_yhat * x1\n" in floats and "g5" not in floats
    rng = np.random.default_rng(3)
    for model in (text, "u = x * x\nv = u\nloss = v * w + 2 * w", "loss = 3 * x * w - x / w"):
        prog = irgraph.compile(model)
        namespace = {}
        exec(compile(prog.source, "generated.py", "exec"), namespace)  # noqa: S102 (running generated code is the test)
        names = [name for name, _ in prog.inputs]
        values = {name: float(rng.normal()) for name in names}
        array_value, array_grads = namespace["value_and_grad"]({k: np.float64(v) for k, v in values.items()})
        value, grads, finite = namespace["_value_and_grad_floats"](*(values[n] for n in names))
        assert finite and value == pytest.approx(float(array_value), rel=1e-15)
        assert grads.keys() == array_grads.keys()
        for k in grads:
            assert grads[k] == pytest.approx(float(array_grads[k]), rel=1e-15), k
