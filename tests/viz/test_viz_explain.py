"""`irgraph explain`: the chain-rule derivation of one gradient, as a lecture writes it.

The simplified derivative it prints is model syntax, so we also evaluate it and compare with finite
differences of an independent transcription of each model.
"""

import math
import pathlib

import pytest

import irgraph
from irgraph.cli import main
from irgraph.ir.expr import to_text
from viz.explain import explain

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = (ROOT / "examples" / "linear.eq").read_text()
TWICE = "a = w*x\nb = w*a\nloss = (b - y)^2\n"


def test_seed_model():
    text = explain(irgraph.parse(SEED), "w1")
    assert text == """\
∂loss/∂w1 by the chain rule

The equations on the way from w1 to loss:
  a1 = w1*x1
  yhat = b + a1 + a2
  loss = (yhat - y)^2

Local partials (the derivative of each right-hand side):
  ∂a1/∂w1 = x1
  ∂yhat/∂a1 = 1
  ∂loss/∂yhat = 2*(yhat - y)

Paths from loss back to w1 (1):
  loss ← yhat ← a1 ← w1

Chain rule: multiply the partials along the path:
  ∂loss/∂w1 = ∂loss/∂yhat * ∂yhat/∂a1 * ∂a1/∂w1
            = 2*(yhat - y) * 1 * x1

Step by step from loss back to w1, each gradient simplified:
  ∂loss/∂yhat = 2*(yhat - y)
  ∂loss/∂a1 = 2*(yhat - y)
  ∂loss/∂w1 = 2*(yhat - y) * x1

Simplified:
  ∂loss/∂w1 = 2*(yhat - y) * x1

The old-fashioned way: write loss out in the inputs and differentiate it directly:
  loss = (b + w1*x1 + w2*x2 - y)^2
  ∂loss/∂w1 = 2*(b + w1*x1 + w2*x2 - y) * x1
They agree: with the equations substituted, SymPy simplifies their difference to 0."""


def test_weight_used_twice_sums_two_paths():
    text = explain(irgraph.parse(TWICE), "w")
    assert "Paths from loss back to w (2):\n  1. loss ← b ← w\n  2. loss ← b ← a ← w\n" in text
    assert ("  ∂loss/∂w = ∂loss/∂b * ∂b/∂w + ∂loss/∂b * ∂b/∂a * ∂a/∂w\n"
            "           = 2*(b - y) * a + 2*(b - y) * w * x\n") in text
    assert "Simplified:\n  ∂loss/∂w = 2*(a + w*x)*(b - y)\n" in text  # the two paths' sum, factored


def simplified(text):
    """The right-hand side printed under "Simplified:"."""
    return text.split("Simplified:\n", 1)[1].split("\n", 1)[0].split("= ", 1)[1]


@pytest.mark.parametrize("model, wrt, reference, point", [
    (SEED, "w1", lambda v: (v["b"] + v["w1"] * v["x1"] + v["w2"] * v["x2"] - v["y"]) ** 2,
     {"b": 0.1, "w1": 0.2, "w2": 0.3, "x1": 1.5, "x2": -0.5, "y": 2.0}),
    (TWICE, "w", lambda v: (v["w"] * (v["w"] * v["x"]) - v["y"]) ** 2, {"w": 0.7, "x": -1.2, "y": 0.4}),
    ("u = w*x\nloss = sin(u)^2 + cos(u)^2 + u*u\n", "w", lambda v: (v["w"] * v["x"]) ** 2 * 1 + 1,
     {"w": -1.3, "x": 0.7}),
])
def test_the_simplified_derivative_is_right(model, wrt, reference, point):
    """Evaluate the printed expression (model syntax is Python once ^ is **) against finite differences."""
    graph = irgraph.parse(model)
    values = dict(point)
    _, rhs = graph.expressions()
    for name in graph.equations().topo():  # the equations' values, for the names the result mentions
        if rhs.get(name) is not None:
            values[name] = eval(to_text(rhs[name]).replace("^", "**"),
                                {"sin": math.sin, "cos": math.cos}, dict(values))
    got = eval(simplified(explain(graph, wrt)).replace("^", "**"), {"sin": math.sin, "cos": math.cos}, values)
    h = 1e-6
    up, down = dict(point), dict(point)
    up[wrt] += h
    down[wrt] -= h
    assert got == pytest.approx((reference(up) - reference(down)) / (2 * h), rel=1e-6)


def test_a_name_the_output_does_not_depend_on():
    text = explain(irgraph.parse("a = w*x\nloss = y^2\n"), "w", output="loss")
    assert text.startswith("∂loss/∂w = 0")


def test_an_intermediate_name_and_another_output():
    assert simplified(explain(irgraph.parse(SEED), "yhat")) == "2*(yhat - y)"
    assert simplified(explain(irgraph.parse(SEED), "w1", output="yhat")) == "x1"


def test_tensor_models_say_their_partials_are_pullbacks():
    text = explain(irgraph.parse((ROOT / "examples" / "linreg.eq").read_text()), "w1")
    assert "∂loss/∂yhat = g ↦ 2*(g/N)*(yhat - y)" in text
    assert "vector-Jacobian product" in text


def test_an_unknown_name_is_an_error_naming_it():
    with pytest.raises(irgraph.Error, match="'w11'.*did you mean 'w1'"):
        explain(irgraph.parse(SEED), "w11")


def test_the_command(capsys):
    assert main(["explain", str(ROOT / "examples" / "linear.eq"), "--wrt", "w1"]) == 0
    out = capsys.readouterr().out
    assert "Simplified:\n  ∂loss/∂w1 = 2*(yhat - y) * x1\n" in out
    assert main(["explain", str(ROOT / "examples" / "linear.eq"), "--wrt", "w9"]) == 1
    assert "w9" in capsys.readouterr().err


def test_the_render_command_writes_the_annotated_seed_picture(tmp_path, capsys):
    from dotread import read_dot

    out = tmp_path / "linear.dot"
    args = ["render", str(ROOT / "examples" / "linear.eq"), "--highlight", "w1", "--wrt", "b,w1,w2",
            "--inputs", str(ROOT / "examples" / "linear.json"), "-o", str(out)]
    assert main(args) == 0
    dot = read_dot(out.read_text(encoding="utf-8"))
    assert dot.caption().endswith("= −3.5 · 1 · 1.5 = −5.25")
    assert "∂L/∂ŷ = −3.5" in dot.text("yhat")
    assert main(["render", str(ROOT / "examples" / "linear.eq"), "--highlight", "nope", "-o", str(out)]) == 1
    assert "'nope'" in capsys.readouterr().err


def test_a_vector_output_is_drawn_with_values_but_no_gradients(tmp_path, capsys):
    from dotread import read_dot

    model = tmp_path / "vector.eq"
    model.write_text("y = w*x\n")
    out = tmp_path / "vector.dot"
    assert main(["render", str(model), "--set", "w=2", "--set", "x=[1, 2, 3]", "-o", str(out)]) == 0
    assert "without gradients" in capsys.readouterr().err
    dot = read_dot(out.read_text(encoding="utf-8"))
    assert dot.text("y").splitlines()[-1] == "= shape 3: [2, 4, 6]"
    assert "∂" not in dot.text("w")


# ---- size: printing and explaining stay linear --------------------------------------------------------------

def _deep(n):
    e = "x"
    for _ in range(n):
        e = f"sin({e})"
    return f"loss = {e}"


def test_printing_keeps_no_text_per_sub_expression():
    """A long sum prints with memory linear in its length: the printer once held the text of every partial
    sum (quadratic: a 32,000-term sum needed gigabytes)."""
    import tracemalloc

    n = 3000
    e = irgraph.parse("loss = " + " + ".join(f"x{i}" for i in range(n))).equations().nx.nodes["loss"]["expr"]
    tracemalloc.start()
    text = to_text(e)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert text.count("+") == n - 1
    assert peak < 20 * len(text) + 1_000_000, f"{peak} bytes to print {len(text)} characters"


def test_explain_on_a_deep_chain_is_linear_in_its_depth():
    """sin(sin(…x…)): the local partial is a product of n factors holding n(n-1)/2 sines in all; explain
    says it is too long rather than printing text quadratic in the depth."""
    for n in (300, 600):
        text = explain(irgraph.parse(_deep(n)), "x")
        assert "too long to print" in text
        assert len(text) < 20 * n + 2000, (n, len(text))  # the equation itself, and a page of prose


def test_explain_and_render_on_a_wide_sum(tmp_path):
    """One sum over 5,000 inputs: explain names the one path; render draws the cut-down picture."""
    n = 5000
    g = irgraph.parse("loss = " + " + ".join(f"x{i}" for i in range(1, n + 1)))
    text = explain(g, "x7")
    assert "∂loss/∂x7 = 1" in text
    assert len(text) < 40 * n + 2000
    import viz

    viz.render(g, tmp_path / "wide.dot", highlight="x7")
    assert (tmp_path / "wide.dot").stat().st_size < 200 * 1000  # not one node and label per input
