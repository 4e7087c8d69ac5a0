"""Algebra for display (viz/algebra.py) and how pictures print: partials a student recognises, signs tidied,
commutative operands in one order, long labels wrapped, numbers unambiguous, every label naming its edge.

Whether a printed form is right is checked by evaluating it against finite differences or the JAX values in
examples/*.json, never against an earlier printout.
"""

import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from cases import example
from dotread import needs_dot, plain, read_dot

import irgraph
import passes
import viz
from irgraph.ir.expr import to_text
from viz import algebra, chain
from viz.explain import explain
from viz.names import for_display
from viz.values import eval_expr, number, show

ROOT = pathlib.Path(__file__).resolve().parents[2]


def edge_labels(model, **options):
    dot = read_dot(viz.to_digraph(irgraph.parse(model), **options).source)
    return {(u, v): plain(a["label"]) for u, v, a in dot.edges if "label" in a}


# ---- the targets of the issue ----------------------------------------------------------------------------

def test_sin_squared_plus_cos_squared_is_drawn_as_2u():
    model, _ = example("shared")  # loss = sin(u)^2 + cos(u)^2 + u*u
    assert edge_labels(model)[("u", "loss")] == "∂L/∂u = 2·u"
    assert "∂loss/∂u = 2*u\n" in explain(irgraph.parse(model), "w")


def test_the_logistic_gradient_at_z_reads_p_minus_y_over_n():
    model, ref = example("logistic")
    text = explain(irgraph.parse(model), "w")
    assert "  ∂p/∂z = p*(1 - p)\n" in text  # p = sigmoid(z), named as the lecture does
    assert "  ∂loss/∂z = (p - y)/N\n" in text
    assert "Simplified:\n  ∂loss/∂w = Xᵀ @ ((p - y)/N)\n" in text
    dot = read_dot(viz.to_digraph(irgraph.parse(model), highlight="w", values=ref["inputs"]).source)
    assert "∂L/∂z = (p − y)/N" in dot.caption()


def test_the_printed_forms_are_the_right_derivatives():
    """(p − y)/N, evaluated at the example's inputs and pulled back through X, is JAX's gradient."""
    model, ref = example("logistic")
    x, y, w, b = (np.asarray(ref["inputs"][k], dtype=float) for k in ("X", "y", "w", "b"))
    p = 1 / (1 + np.exp(-(x @ w + b)))
    printed = explain(irgraph.parse(model), "w").split("∂loss/∂z = ", 1)[1].split("\n", 1)[0]
    dz = eval(printed, {"p": p, "y": y, "N": y.size})  # model syntax is Python here
    np.testing.assert_allclose(x.T @ dz, ref["grads"]["w"], rtol=1e-9)


def test_explain_sets_the_old_fashioned_derivative_beside_the_chain_rule():
    model, ref = example("linear")
    text = explain(irgraph.parse(model), "w1")
    assert ("The old-fashioned way: write loss out in the inputs and differentiate it directly:\n"
            "  loss = (b + w1*x1 + w2*x2 - y)^2\n"
            "  ∂loss/∂w1 = 2*(b + w1*x1 + w2*x2 - y) * x1\n"
            "They agree: with the equations substituted, SymPy simplifies their difference to 0.") in text
    # With inputs, at numbers: the chain rule, the written-out formula and the compiled program (JAX: −5.25).
    text = explain(irgraph.parse(model), "w1", inputs=ref["inputs"])
    assert ref["grads"]["w1"] == -5.25
    assert text.endswith("They agree: at the given inputs the chain rule gives −5.25 and the written-out "
                         "formula −5.25; the compiled program gives −5.25.")


@pytest.mark.parametrize("name, wrt", [("logistic", "w"), ("mlp", "W1"), ("linreg", "w1")])
def test_tensor_models_agree_at_their_inputs(name, wrt):
    model, ref = example(name)
    text = explain(irgraph.parse(model), wrt, inputs=ref["inputs"])
    verdict = text.rsplit("\n", 1)[1]
    assert verdict.startswith("They agree: at the given inputs") and show(ref["grads"][wrt]) in verdict


def test_explain_takes_inputs_on_the_command_line(capsys):
    from irgraph.cli import main

    assert main(["explain", str(ROOT / "examples" / "linear.eq"), "--wrt", "w1", "--set", "b=0.1", "--set", "w1=0.2",
                 "--set", "w2=0.3", "--set", "x1=1.5", "--set", "x2=-0.5", "--set", "y=2"]) == 0
    assert "the compiled program gives −5.25." in capsys.readouterr().out


# ---- the display algebra itself ------------------------------------------------------------------------------

def readable_text(expr_text_in_model_syntax):
    """A right-hand side as the display algebra prints it."""
    e = irgraph.parse(f"r = {expr_text_in_model_syntax}").equations().nx.nodes["r"]["expr"]
    return to_text(algebra.readable(e))


def test_signs_are_tidied_and_commutative_operands_put_in_one_order():
    assert readable_text("-(-a) + -b") == "a - b"
    assert readable_text("a*(-b)*(-c)") == "a*b*c"
    assert readable_text("cos(u)*sin(u)*2") == readable_text("2*sin(u)*cos(u)") == "2*cos(u)*sin(u)"
    assert readable_text("-(2*(yhat - y))") == "-2*(yhat - y)"


def test_without_sympy_the_plain_tidied_form_is_shown():
    """SymPy is asked only about small expressions, and the pictures work without it."""
    code = ("import sys; sys.modules['sympy'] = None\n"  # an import of sympy now fails
            "import irgraph; from viz import algebra; from irgraph.ir.expr import to_text\n"
            "e = irgraph.parse('r = 2*u - 2*cos(u)*sin(u) + 2*sin(u)*cos(u)').equations().nx.nodes['r']['expr']\n"
            "print(to_text(algebra.readable(e)))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "2*cos(u)*sin(u) + 2*u - 2*cos(u)*sin(u)"  # tidied, in one order
    big = " + ".join(f"sin(x{i})*cos(x{i})" for i in range(20))
    e = irgraph.parse(f"r = {big} - {big}").equations().nx.nodes["r"]["expr"]
    assert algebra.size(e) > algebra.SYMPY_SIZE
    assert algebra.readable(e) is algebra.tidy(e)  # too big for SymPy: the plain form, not 0


def test_the_compiled_program_never_imports_sympy():
    code = ("import sys, irgraph\n"
            "prog = irgraph.compile('u = w*x\\nloss = sin(u)^2 + cos(u)^2 + u*u', wrt=['w'])\n"
            "prog.run({'w': 0.5, 'x': 2.0}); print('sympy' in sys.modules, 'sympy' in prog.source)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_an_equation_is_named_in_its_own_partials():
    eq = chain.with_partials(irgraph.parse("h = tanh(a)\ns = sigmoid(a)\nloss = h + s").equations())
    partial = {(u, v): to_text(for_display(d["partial"])) for u, v, d in eq.nx.edges(data=True)}
    assert partial[("a", "h")] == "1 - h^2" and partial[("a", "s")] == "s*(1 - s)"
    # Still the derivative: at a = 0.3, 1 − tanh² and σ(1 − σ), checked against finite differences.
    values = {"a": 0.3, "h": math.tanh(0.3), "s": 1 / (1 + math.exp(-0.3))}
    got = [float(eval_expr(eq.nx.edges[u, v, 0]["partial"], values)) for u, v in [("a", "h"), ("a", "s")]]
    sig = lambda a: 1 / (1 + math.exp(-a))
    fd = [(f(0.3 + 1e-6) - f(0.3 - 1e-6)) / 2e-6 for f in (math.tanh, sig)]
    assert got == pytest.approx(fd, rel=1e-6)


# ---- how labels print ------------------------------------------------------------------------------------------

def test_numbers_print_unambiguously():
    assert number(-0.0) == "0" and number(-1e-20) == "−1·10^−20" and number(-2.5) == "−2.5"
    assert show(np.array([0.02, 0.5, -0.0, 3.0])) == "shape 4: [0.02, 0.5, 0, …]"
    assert show(np.zeros((3, 2))) == "shape 3×2: [0, 0, 0, …]"


def test_long_labels_wrap_instead_of_being_cut():
    model = "loss = " + " + ".join(f"w{i}*x{i}*sin(w{i})" for i in range(6)) + " + exp(w0*x1*x2*x3*x4)"
    labels = edge_labels(model)
    long = labels[("w0", "loss")]
    assert "…" not in long and "\n" in long  # several lines, nothing dropped
    assert long.replace("\n  ", " ").startswith("∂L/∂w₀ = ")


def test_op_level_labels_say_which_derivative_they_are():
    labels = edge_labels((ROOT / "examples" / "shared.eq").read_text(), ops=True)
    assert all(t.startswith("∂") and " = " in t for t in labels.values())
    assert labels[("w", "u")] == "∂u/∂w = x"


FIVE = "loss = a + 2*b + c^2 + sin(d) + e*f\n"


def test_five_labels_at_one_node_each_name_their_edge():
    labels = edge_labels(FIVE)
    into = {u: t for (u, v), t in labels.items() if v == "loss"}
    assert sorted(into) == ["a", "b", "c", "d", "e", "f"]
    for u, t in into.items():
        assert t.startswith(f"∂L/∂{u} = ")
    assert len(set(into.values())) == len(into)


@needs_dot
def test_five_labels_at_one_node_do_not_overlap():
    from test_viz_layout import layout, overlaps, text_boxes

    assert not overlaps(text_boxes(layout(FIVE)))
    assert not overlaps(text_boxes(layout(FIVE, ops=True)))


def test_pictures_of_every_example_use_the_readable_partials():
    for name in ("linear", "linreg", "logistic", "mlp", "shared"):
        model, _ = example(name)
        eq = passes.attach_partials(irgraph.parse(model).equations())
        labels = edge_labels(model)
        for u, v, d in eq.nx.edges(data=True):
            assert "−(−" not in labels[(u, v)] and "+ −" not in labels[(u, v)], labels[(u, v)]
