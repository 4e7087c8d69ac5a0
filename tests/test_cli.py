"""The `irgraph` command: compile, run (--set, --inputs .json/.npz, stdin, --json), and errors printed as
`MODEL:LINE:COL: error: ...` with no traceback and a non-zero exit."""

import io
import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from cases import CUPY_MISSING, EXAMPLES, ROOT

from irgraph.cli import main

LINEAR = str(EXAMPLES / "linear.eq")
LINEAR_SET = ["--set", "x1=1.5", "--set", "x2=-0.5", "--set", "y=2", "--set", "b=0.1", "--set", "w1=0.2",
              "--set", "w2=0.3"]
LINEAR_GRADS = {"b": -3.5, "w1": -5.25, "w2": 1.75}


def cli(argv, capsys, stdin=None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def assert_no_traceback(err):
    assert "Traceback" not in err
    assert "internal error" not in err


# ---- run ---------------------------------------------------------------------------------------------------

def test_run_prints_value_and_gradients(capsys):
    code, out, err = cli(["run", LINEAR, "--wrt", "b,w1,w2", *LINEAR_SET], capsys)
    assert code == 0, err
    assert out.splitlines() == ["loss = 3.0625", "dloss/db = -3.5", "dloss/dw1 = -5.25", "dloss/dw2 = 1.75"]


def test_run_json(capsys):
    code, out, err = cli(["run", LINEAR, "--wrt", "b,w1,w2", *LINEAR_SET, "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["value"] == pytest.approx(3.0625)
    assert data["grads"] == pytest.approx(LINEAR_GRADS)


def test_run_wrt_defaults_to_every_input(capsys):
    code, out, _ = cli(["run", LINEAR, *LINEAR_SET, "--json"], capsys)
    assert code == 0
    assert set(json.loads(out)["grads"]) == {"x1", "x2", "y", "b", "w1", "w2"}


@pytest.mark.parametrize("name", ["linear", "linreg", "logistic", "mlp", "shared"])
def test_run_inputs_from_the_examples_reference_files(name, capsys):
    ref = json.loads((EXAMPLES / f"{name}.json").read_text())
    code, out, err = cli(["run", str(EXAMPLES / f"{name}.eq"), "--inputs", str(EXAMPLES / f"{name}.json"),
                          "--wrt", ",".join(ref["wrt"]), "--json"], capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["value"] == pytest.approx(ref["value"], rel=1e-6)
    for k, v in ref["grads"].items():
        np.testing.assert_allclose(data["grads"][k], v, rtol=1e-6, atol=1e-9)


def test_run_inputs_from_a_plain_json_object_and_set_overrides(tmp_path, capsys):
    path = tmp_path / "in.json"
    path.write_text(json.dumps({"x1": 1.5, "x2": -0.5, "y": 2, "b": 0.1, "w1": 0.2, "w2": 99}))
    code, out, err = cli(["run", LINEAR, "--inputs", str(path), "--set", "w2=0.3", "--wrt", "w1", "--json"],
                         capsys)
    assert code == 0, err
    assert json.loads(out) == {"value": pytest.approx(3.0625), "grads": {"w1": pytest.approx(-5.25)}}


def test_run_inputs_from_npz(tmp_path, capsys):
    ref = json.loads((EXAMPLES / "mlp.json").read_text())
    path = tmp_path / "mlp.npz"
    np.savez(path, **{k: np.asarray(v) for k, v in ref["inputs"].items()})
    code, out, err = cli(["run", str(EXAMPLES / "mlp.eq"), "--inputs", str(path), "--wrt", "W1,b2", "--json"],
                         capsys)
    assert code == 0, err
    data = json.loads(out)
    assert data["value"] == pytest.approx(ref["value"], rel=1e-6)
    np.testing.assert_allclose(data["grads"]["W1"], ref["grads"]["W1"], rtol=1e-6)
    assert np.shape(data["grads"]["b2"]) == (1, 1)


def test_run_set_takes_json_lists(capsys, monkeypatch):
    code, out, err = cli(["run", "-", "--set", "w=[1, 2]", "--set", "x=[[3, 4], [5, 6]]", "--json"], capsys,
                         stdin="loss = sum(w * x)\n", monkeypatch=monkeypatch)
    assert code == 0, err
    data = json.loads(out)
    assert data["value"] == 1 * 3 + 2 * 4 + 1 * 5 + 2 * 6
    assert data["grads"] == {"w": [8.0, 10.0], "x": [[1.0, 2.0], [1.0, 2.0]]}


def test_run_model_from_stdin(capsys, monkeypatch):
    text = (EXAMPLES / "linear.eq").read_text()
    code, out, err = cli(["run", "-", *LINEAR_SET, "--wrt", "b,w1,w2", "--json"], capsys, text, monkeypatch)
    assert code == 0, err
    assert json.loads(out)["grads"] == pytest.approx(LINEAR_GRADS)


def test_run_output_option(capsys):
    code, out, _ = cli(["run", LINEAR, *LINEAR_SET, "--wrt", "w1", "--output", "yhat", "--json"], capsys)
    assert code == 0
    assert json.loads(out) == {"value": pytest.approx(0.25), "grads": {"w1": pytest.approx(1.5)}}


def test_run_on_each_device(device, capsys):
    code, out, err = cli(["run", LINEAR, *LINEAR_SET, "--wrt", "b,w1,w2", "--json", "--device", device], capsys)
    assert code == 0, err
    assert json.loads(out)["grads"] == pytest.approx(LINEAR_GRADS)


@pytest.mark.skipif(CUPY_MISSING is None, reason="CuPy and a GPU are present")
def test_run_on_a_missing_gpu_is_a_clear_error(capsys):
    code, out, err = cli(["run", LINEAR, *LINEAR_SET, "--device", "cupy"], capsys)
    assert code != 0 and out == ""
    assert err.startswith(f"{LINEAR}: error: ") and "cupy" in err.lower()
    assert_no_traceback(err)


# ---- compile -------------------------------------------------------------------------------------------------

def test_compile_prints_the_module(capsys):
    code, out, err = cli(["compile", LINEAR, "--wrt", "b,w1,w2"], capsys)
    assert code == 0, err
    namespace = {}
    exec(compile(out, "generated.py", "exec"), namespace)  # noqa: S102 (running generated code is the test)
    value, grads = namespace["value_and_grad"]({"x1": 1.5, "x2": -0.5, "y": 2.0, "b": 0.1, "w1": 0.2, "w2": 0.3})
    assert value == pytest.approx(3.0625)
    assert {k: float(v) for k, v in grads.items()} == pytest.approx(LINEAR_GRADS)


def test_compile_writes_a_file_and_stats(tmp_path, capsys):
    target = tmp_path / "linear_grad.py"
    code, out, err = cli(["compile", LINEAR, "--wrt", "w1", "-o", str(target), "--stats"], capsys)
    assert code == 0, err
    assert out == ""
    assert "def value_and_grad(inputs, xp=None):" in target.read_text()
    assert "backward_ops: " in err and "forward_ops: 6" in err


def test_compile_stats_to_stdout(capsys):
    code, out, _ = cli(["compile", LINEAR, "--wrt", "b,w1,w2", "--stats"], capsys)
    assert code == 0
    assert "# forward_ops: 6" in out and "# backward_ops: 3" in out


# ---- errors ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, where, fragment", [
    ("a = (x + 1\n", "1:5", "unmatched '('"),
    ("a = x\nb = sine(a)\n", "2:5", "did you mean 'sin'?"),
    ("a = x\na = y\n", "2:1", "defined twice"),
    ("a = b\nb = a\n", "1:1", "cycle"),
    ("# nothing\n", "1:1", "empty model"),
    ("a = x.y\n", "1:6", "attribute access"),
])
@pytest.mark.parametrize("command", ["compile", "run"])
def test_parse_errors_print_model_line_col(text, where, fragment, command, tmp_path, capsys):
    path = tmp_path / "bad.eq"
    path.write_text(text)
    code, out, err = cli([command, str(path)], capsys)
    assert code != 0
    assert out == ""
    assert err.startswith(f"{path}:{where}: error: ")
    assert fragment in err
    assert "^" in err  # the source line with a caret
    assert_no_traceback(err)


def test_parse_error_from_stdin_is_labelled(capsys, monkeypatch):
    code, _, err = cli(["compile", "-"], capsys, "loss = w *\n", monkeypatch)
    assert code != 0
    assert err.startswith("<stdin>:1:")
    assert_no_traceback(err)


@pytest.mark.parametrize("argv, fragment", [
    (["run", LINEAR, "--set", "x1=1"], "missing input"),
    (["run", LINEAR, *LINEAR_SET, "--wrt", "w9"], "'w9'"),
    (["run", LINEAR, *LINEAR_SET, "--wrt", "yhat"], "'yhat'"),
    (["run", LINEAR, *LINEAR_SET, "--output", "nope"], "'nope'"),
    (["run", LINEAR, *LINEAR_SET, "--set", "x1=abc"], "x1"),
    (["run", LINEAR, *LINEAR_SET, "--set", "x1"], "NAME=VALUE"),
    (["run", LINEAR, *LINEAR_SET, "--set", "x1=[1, \"a\"]"], "x1"),
    (["run", LINEAR, *LINEAR_SET, "--set", "x1=[1, 2]"], "scalar"),
    (["compile", LINEAR, "--wrt", "w_1"], "did you mean 'w1'"),
])
def test_user_errors_exit_non_zero_without_traceback(argv, fragment, capsys):
    code, _, err = cli(argv, capsys)
    assert code != 0
    assert err.startswith(f"{LINEAR}:")
    assert fragment in err
    assert_no_traceback(err)


def test_bad_inputs_files(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = cli(["run", LINEAR, "--inputs", str(bad)], capsys)
    assert code != 0 and "bad.json" in err
    assert_no_traceback(err)
    bad.write_text('{"x1": "hello"}')
    code, _, err = cli(["run", LINEAR, "--inputs", str(bad)], capsys)
    assert code != 0 and "bad.json" in err
    assert_no_traceback(err)
    code, _, err = cli(["run", LINEAR, "--inputs", str(tmp_path / "missing.npz")], capsys)
    assert code != 0 and "missing.npz" in err
    assert_no_traceback(err)


def test_missing_model_file(tmp_path, capsys):
    code, out, err = cli(["run", str(tmp_path / "nope.eq")], capsys)
    assert code != 0 and out == ""
    assert "nope.eq" in err
    assert_no_traceback(err)


def test_usage_errors_exit_non_zero(capsys):
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code != 0
    assert main([]) != 0
    capsys.readouterr()


# ---- the real command ---------------------------------------------------------------------------------------

def test_python_dash_m_irgraph(tmp_path):
    ok = subprocess.run([sys.executable, "-m", "irgraph", "run", "examples/linear.eq", "--inputs",
                         "examples/linear.json", "--wrt", "b,w1,w2", "--json"],
                        cwd=ROOT, capture_output=True, text=True, check=False, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["grads"] == pytest.approx(LINEAR_GRADS)

    bad = tmp_path / "bad.eq"
    bad.write_text("loss = (w * x\n")
    fail = subprocess.run([sys.executable, "-m", "irgraph", "compile", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=120)
    assert fail.returncode != 0
    assert fail.stdout == ""
    assert fail.stderr.startswith(f"{bad}:1:8: error: ")
    assert "Traceback" not in fail.stderr

    piped = subprocess.run([sys.executable, "-m", "irgraph", "run", "-", "--set", "w=2", "--set", "x=3",
                            "--json"], cwd=ROOT, input="loss = w * x\n", capture_output=True, text=True,
                           check=False, timeout=120)
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout) == {"value": 6.0, "grads": {"w": 3.0, "x": 2.0}}


# ---- the real `irgraph` command, as a user runs it ------------------------------------------------------------

IRGRAPH = pathlib.Path(sys.executable).with_name("irgraph")  # the console script installed next to python


def irgraph_command(*argv, stdin=None, cwd=ROOT):
    """Run the installed `irgraph` command in a subprocess; the CompletedProcess (text mode)."""
    return subprocess.run([str(IRGRAPH), *map(str, argv)], input=stdin, capture_output=True, text=True,
                          cwd=cwd, check=False, timeout=120)


OUT_OF_ORDER = "loss = (yhat - y)^2\nyhat = b + w1*x1\nacc = mean(yhat)\n"
OUT_OF_ORDER_SET = ["--set", "y=1", "--set", "b=0", "--set", "w1=2", "--set", "x1=3"]


def test_command_differentiates_the_unused_equation_named_loss():
    done = irgraph_command("run", "-", *OUT_OF_ORDER_SET, "--wrt", "w1", stdin=OUT_OF_ORDER)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["loss = 25", "dloss/dw1 = 30"]  # 2*(6 - 1)*3, not dacc/dw1 = 3


def test_command_ambiguous_output_lists_the_candidates():
    done = irgraph_command("run", "-", *OUT_OF_ORDER_SET, stdin=OUT_OF_ORDER.replace("loss", "err"))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("<stdin>: error: ")
    assert "err (line 1)" in done.stderr and "acc (line 3)" in done.stderr and "--output NAME" in done.stderr
    assert_no_traceback(done.stderr)


def test_command_notes_equations_that_output_leaves_unused():
    done = irgraph_command("run", "-", *OUT_OF_ORDER_SET, "--wrt", "w1", "--output", "yhat", stdin=OUT_OF_ORDER)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["yhat = 6", "dyhat/dw1 = 3"]
    assert done.stderr == "irgraph: note: with --output yhat, these equations are not used: loss, acc\n"
    quiet = irgraph_command("run", "-", *OUT_OF_ORDER_SET, "--output", "loss", stdin="loss = (w1*x1 - y)^2\n")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_command_non_scalar_output_suggests_reducing_it():
    done = irgraph_command("run", "-", "--set", "w=[1, 2]", "--set", "x=3", stdin="h = w * x\n")
    assert done.returncode == 1
    assert "'h' (line 1: h = w * x) has shape (2,)" in done.stderr
    assert "sum(h) or mean(h)" in done.stderr


# ---- fit ------------------------------------------------------------------------------------------------

def write_linear_csv(path, n=200, seed=1):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    y = 1.5 + 2 * x1 - 3 * x2 + 0.1 * rng.normal(size=n)
    np.savetxt(path, np.stack([x1, x2, y], 1), delimiter=",", header="x1,x2,y", comments="", fmt="%.9f")
    return {"x1": x1, "x2": x2, "y": y}


def test_fit_end_to_end_writes_parameters_and_plot_that_run_and_render_read(tmp_path):
    image = pytest.importorskip("matplotlib.image")
    model = str(EXAMPLES / "linreg.eq")
    write_linear_csv(tmp_path / "data.csv")
    done = irgraph_command("fit", model, "--data", "data.csv", "--init", "zeros", "--shape", "b=scalar,w1=scalar",
                       "--shape", "w2=scalar", "--lr", "0.05", "--steps", "2000", "--val-split", "0.2",
                       "-o", "learned.json", "--plot", "loss.png", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("fit: 2000 steps of adam (lr 0.05) in ") and "validation loss" in lines[0]
    assert lines[1:] == ["wrote loss.png", "wrote learned.json"]
    learned = json.loads((tmp_path / "learned.json").read_text())
    assert learned == pytest.approx({"b": 1.5, "w1": 2.0, "w2": -3.0}, abs=0.05)
    assert image.imread(tmp_path / "loss.png").shape[0] > 100

    ran = irgraph_command("run", model, "--inputs", "data.csv", "--inputs", "learned.json", "--json", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert abs(json.loads(ran.stdout)["grads"]["w1"]) < 0.05  # near the minimum of the training loss
    drawn = irgraph_command("render", model, "--inputs", "data.csv", "--inputs", "learned.json", "-o", "trained.svg",
                        cwd=tmp_path)
    assert drawn.returncode == 0, drawn.stderr
    assert "<svg" in (tmp_path / "trained.svg").read_text()


def test_fit_without_output_prints_the_parameters(tmp_path, capsys):
    write_linear_csv(tmp_path / "data.csv")
    code, out, err = cli(["fit", str(EXAMPLES / "linreg.eq"), "--data", str(tmp_path / "data.csv"), "--shape",
                          "b=scalar,w1=scalar,w2=scalar", "--steps", "5", "--quiet"], capsys)
    assert code == 0, err
    assert set(json.loads(out)) == {"b", "w1", "w2"}
    assert err.startswith("fit: 5 steps") and err.count("\n") == 1


def test_fit_diverging_names_the_step_and_still_writes_finite_parameters(tmp_path):
    write_linear_csv(tmp_path / "data.csv")
    done = irgraph_command("fit", str(EXAMPLES / "linreg.eq"), "--data", "data.csv", "--shape",
                       "b=scalar,w1=scalar,w2=scalar", "--optimizer", "sgd", "--lr", "1e3", "-o", "learned.json",
                       cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error: the loss became inf at step " in done.stderr and "smaller --lr" in done.stderr
    learned = json.loads((tmp_path / "learned.json").read_text())
    assert set(learned) == {"b", "w1", "w2"} and all(np.isfinite(v) for v in learned.values())


def test_fit_newton_reaches_least_squares_in_one_step(tmp_path):
    data = write_linear_csv(tmp_path / "data.csv")
    done = irgraph_command("fit", str(EXAMPLES / "linreg.eq"), "--data", "data.csv", "--init", "zeros", "--shape",
                           "b=scalar,w1=scalar,w2=scalar", "--optimizer", "newton", "--steps", "1", "-o",
                           "learned.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("fit: 1 steps of newton (lr 1) in ")
    a = np.stack([np.ones_like(data["x1"]), data["x1"], data["x2"]], axis=1)
    want = dict(zip(["b", "w1", "w2"], np.linalg.lstsq(a, data["y"], rcond=None)[0]))
    assert json.loads((tmp_path / "learned.json").read_text()) == pytest.approx(want, abs=1e-4)


@pytest.mark.parametrize("argv, fragment", [
    (["--shape", "b=scalar"], "needs the shape of 'w1', 'w2'"),
    (["--shape", "b=scalar,w1=scalar,w2=scalar", "--optimizer", "lbfgs"], "invalid choice"),
    (["--init", "nope.json"], "nope.json"),
])
def test_fit_errors(tmp_path, capsys, argv, fragment):
    write_linear_csv(tmp_path / "data.csv")
    model = str(EXAMPLES / "linreg.eq")
    try:
        code, _, err = cli(["fit", model, "--data", str(tmp_path / "data.csv"), "--steps", "3", *argv], capsys)
    except SystemExit as e:  # argparse rejects a bad choice
        code, err = e.code, capsys.readouterr().err
    assert code != 0 and fragment in err
    assert_no_traceback(err)


def test_command_warns_about_nan_and_check_finite_makes_it_an_error():
    argv = ["run", "-", "--set", "x=[0, 1]", "--set", "w=[1, 1]", "--wrt", "w"]
    warned = irgraph_command(*argv, stdin="h = log(x)\nloss = sum(w * h)\n")
    assert warned.returncode == 0
    assert warned.stdout.startswith("loss = -inf\n")
    assert warned.stderr == ("<stdin>: warning: non-finite value in line 1: h = log(x): log gave -inf in 1 of 2 "
                             "elements from x in [0, 1]\n")  # and no NumPy RuntimeWarning
    failed = irgraph_command(*argv, "--check-finite", stdin="h = log(x)\nloss = sum(w * h)\n")
    assert failed.returncode == 1 and failed.stdout == ""
    assert failed.stderr.startswith("<stdin>: error: non-finite value in line 1: h = log(x)")


# ---- conventions (issue 10) ---------------------------------------------------------------------------------

def test_command_version():
    import irgraph

    done = irgraph_command("--version")
    assert done.returncode == 0 and done.stdout == f"irgraph {irgraph.__version__}\n"


@pytest.mark.parametrize("command", ["compile", "run", "render", "explain", "fit"])
def test_command_help_shows_a_worked_example_and_the_language(command):
    done = irgraph_command(command, "--help")
    assert done.returncode == 0
    assert f"example:\n  $ irgraph {command} examples/" in done.stdout
    assert "model language:" in done.stdout and "`name = expression`" in done.stdout
    for function in ("exp(x)", "sum(x[, axis])", "clip(x, lo, hi)"):
        assert function in done.stdout


def test_the_run_example_in_the_help_prints_what_the_help_says():
    shown = irgraph_command("run", "--help").stdout.split("example:\n  $ irgraph ")[1].split("\n\n")[0].splitlines()
    done = irgraph_command(*shown[0].split()[:])
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [line.strip() for line in shown[1:]]


def test_command_inputs_from_stdin():
    done = irgraph_command("run", LINEAR, "--inputs", "-", "--wrt", "w1", "--json",
                           stdin=json.dumps({"x1": 1.5, "x2": -0.5, "y": 2, "b": 0.1, "w1": 0.2, "w2": 0.3}))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"value": 3.0625, "grads": {"w1": -5.25}}
    both = irgraph_command("run", "-", "--inputs", "-", stdin="loss = w*x\n")
    assert both.returncode == 1 and "cannot both come from standard input" in both.stderr


def test_command_takes_wrt_and_output_from_the_json_inputs_file_and_says_so(tmp_path):
    done = irgraph_command("run", "examples/linear.eq", "--inputs", "examples/linear.json")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["loss = 3.0625", "dloss/db = -3.5", "dloss/dw1 = -5.25", "dloss/dw2 = 1.75"]
    assert done.stderr == "irgraph: using --wrt b,w1,w2 --output loss from examples/linear.json\n"
    flags_win = irgraph_command("run", "examples/linear.eq", "--inputs", "examples/linear.json", "--wrt", "w2",
                                "--output", "loss")
    assert flags_win.stdout.splitlines() == ["loss = 3.0625", "dloss/dw2 = 1.75"] and flags_win.stderr == ""
    plain = tmp_path / "plain.json"  # a plain object of inputs may name them too
    plain.write_text(json.dumps({"w": 2, "x": 3, "wrt": "w", "output": "h"}))
    done = irgraph_command("run", "-", "--inputs", plain, stdin="h = w*x\nk = h + 1\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["h = 6", "dh/dw = 3"]
    assert f"irgraph: using --wrt w --output h from {plain}\n" in done.stderr


def test_command_render_to_stdout_writes_svg():
    done = irgraph_command("render", LINEAR, "--inputs", "examples/linear.json", "--highlight", "w1", "-o", "-")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("<?xml") and "<svg" in done.stdout and "3.062" in done.stdout
    assert "wrote" not in done.stderr


def test_command_explain_takes_inputs_only_and_each_of_several():
    refused = irgraph_command("explain", LINEAR, "--wrt", "yhat")
    assert refused.returncode == 1
    assert "cannot take the gradient with respect to 'yhat': it is computed by an equation (line 5)" in refused.stderr
    both = irgraph_command("explain", LINEAR, "--wrt", "x1,w1")
    assert both.returncode == 0, both.stderr
    assert "∂loss/∂x1 = 2*(yhat - y) * w1" in both.stdout and "∂loss/∂w1 = 2*(yhat - y) * x1" in both.stdout


@pytest.mark.parametrize("line, message", [
    ("loss = 2w", "<stdin>:1:9: error: expected an operator before 'w'; did you mean `2*w`?"),
    ("loss = np.exp(x)", "<stdin>:1:10: error: attribute access: write `exp(...)`, not `np.exp(...)`"),
    ("loss = x[0]", "<stdin>:1:9: error: indexing (`x[...]`) is not supported"),
    ("loss = a − b", "<stdin>:1:10: error: '−' is a Unicode minus; write '-'"),
])
def test_command_errors_that_teach(line, message):
    done = irgraph_command("compile", "-", stdin=line + "\n")
    assert done.returncode == 1 and done.stderr.startswith(message)
    assert_no_traceback(done.stderr)
