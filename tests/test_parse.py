"""The parser: model text → op-level Graph (issue 2), its errors, and the IR's invariants through every pass."""

import networkx as nx
import numpy as np
import pytest
from cases import CASE_IDS, CASES, EXAMPLES, NP
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import irgraph
import passes

# An evaluator for op-level graphs written here, independent of irgraph's op table and passes.
_EVAL = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b, "pow": lambda a, b: a ** b, "neg": lambda a: -a, "matmul": lambda a, b: a @ b,
    "id": lambda a: a, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "abs": np.abs, "sin": np.sin,
    "cos": np.cos, "tanh": np.tanh, "sigmoid": NP.sigmoid, "relu": NP.relu, "transpose": np.transpose,
}


def evaluate(graph, inputs, node=None):
    """The value of `node` (default: the output) of an op-level graph, by walking it in topological order."""
    g = graph.nx
    values = {}
    for n in nx.topological_sort(g):
        d = g.nodes[n]
        if d["op"] == "input":
            values[n] = np.asarray(inputs[d["name"]], dtype=float)
        elif d["op"] == "const":
            values[n] = d["value"]
        else:
            args = [values[u] for u, _, _ in sorted(g.in_edges(n, data="pos"), key=lambda e: e[2])]
            if d["op"] in ("sum", "mean"):
                values[n] = getattr(np, d["op"])(args[0], **dict(d.get("params", ())))
            else:
                values[n] = _EVAL[d["op"]](*args)
    return values[node if node is not None else graph.outputs[0]]


def value(text, **inputs):
    return float(evaluate(irgraph.parse(text), inputs))


def root(text):
    """The op of the output node and the ops of its operands, in position order."""
    g = irgraph.parse(text)
    out = g.outputs[0]
    return g.nx.nodes[out]["op"], [g.nx.nodes[u]["op"] for u in g.operands(out)]


# ---- the examples and the language ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.eq")), ids=lambda p: p.stem)
def test_examples_parse(path):
    g = irgraph.parse(path.read_text())
    assert isinstance(g, irgraph.Graph)
    assert isinstance(g.nx, nx.MultiDiGraph)
    assert nx.is_directed_acyclic_graph(g.nx)
    assert g.outputs == ["loss"]
    g.verify()


def test_seed_model_inputs_outputs_and_nodes():
    g = irgraph.parse((EXAMPLES / "linear.eq").read_text())
    assert g.inputs == ["w1", "x1", "w2", "x2", "b", "y"]  # in order of first use
    assert g.outputs == ["loss"]
    ops = {n: d["op"] for n, d in g.nx.nodes(data=True)}
    assert ops["a1"] == "mul" and ops["a2"] == "mul" and ops["yhat"] == "add" and ops["loss"] == "pow"
    for name in ["a1", "a2", "yhat", "loss", "w1", "x1", "b", "y"]:
        assert g.nx.nodes[name]["name"] == name
    assert g.operands("a1") == ["w1", "x1"]
    # (yhat - y)^2 is a sub node and a pow node; the sub is unnamed.
    sub, two = g.operands("loss")
    assert g.nx.nodes[sub]["op"] == "sub" and "name" not in g.nx.nodes[sub]
    assert g.nx.nodes[two] == {**g.nx.nodes[two], "op": "const", "value": 2.0}
    assert g.operands(sub) == ["yhat", "y"]


def test_output_can_be_chosen():
    g = irgraph.parse("a = x * 2\nb = a + 1", output="a")
    assert g.outputs == ["a"]
    with pytest.raises(irgraph.Error, match="'c'"):
        irgraph.parse("a = x * 2\nb = a + 1", output="c")


def test_the_default_output_is_the_equation_nothing_uses():
    # Written before its inputs' equations: the last line (yhat) is not the output, loss is.
    g = irgraph.parse("loss = (yhat - y)^2\nyhat = b + w1*x1")
    assert g.outputs == ["loss"]


def test_several_unused_equations_prefer_loss():
    g = irgraph.parse("yhat = b + w1*x1\nloss = (yhat - y)^2\nacc = mean(yhat)")
    assert g.outputs == ["loss"]  # not acc, the last line


def test_several_unused_equations_and_no_loss_is_an_error_naming_them():
    with pytest.raises(irgraph.Error) as info:
        irgraph.parse("yhat = b + w1*x1\nerr = (yhat - y)^2\nacc = mean(yhat)")
    message = str(info.value)
    assert "err (line 2)" in message and "acc (line 3)" in message
    assert "--output NAME" in message
    # Naming the output settles it.
    assert irgraph.parse("yhat = b + w1*x1\nerr = (yhat - y)^2\nacc = mean(yhat)", output="err").outputs == ["err"]


def test_x_times_x_is_two_edges():
    g = irgraph.parse("y = x * x")
    edges = list(g.nx.in_edges("y", data="pos"))
    assert sorted(edges) == [("x", "y", 0), ("x", "y", 1)]
    assert g.operands("y") == ["x", "x"]


def test_equations_in_any_order_and_comments():
    text = "# a comment line\nloss = h + k  # trailing comment\n\nh = g * g\ng = sin(x)\nk = 2"
    g = irgraph.parse(text)
    assert g.inputs == ["x"]
    assert g.outputs == ["loss"]  # the one equation nothing uses, not the last line
    assert value(text, x=0.5) == pytest.approx(np.sin(0.5) ** 2 + 2)
    assert float(evaluate(g, {"x": 0.5}, "loss")) == pytest.approx(np.sin(0.5) ** 2 + 2)


@pytest.mark.parametrize("literal, expected", [
    ("3", 3.0), ("2.5", 2.5), ("1e-3", 1e-3), ("1E+2", 100.0), ("2.", 2.0), (".5", 0.5), ("1.5e2", 150.0),
    ("1_000", 1000.0), ("1_000_000", 1e6), ("12_345.5", 12345.5),
])
def test_numbers(literal, expected):
    assert value(f"a = {literal} * x", x=1.0) == pytest.approx(expected)


def test_names_with_underscores_and_digits():
    g = irgraph.parse("w_1 = x_1 * W2\n_h = w_1 + b0")
    assert set(g.inputs) == {"x_1", "W2", "b0"}
    assert g.outputs == ["_h"]


# ---- precedence and associativity ---------------------------------------------------------------------------

def test_unary_minus_binds_looser_than_power():
    assert value("a = -x^2", x=3.0) == -9.0
    assert root("a = -x^2") == ("neg", ["pow"])
    assert value("a = -x**2", x=3.0) == -9.0
    assert value("a = (-x)^2", x=3.0) == 9.0
    assert value("a = 2^-x", x=1.0) == 0.5  # a unary minus in an exponent
    assert value("a = -x * y", x=3.0, y=2.0) == -6.0


def test_power_is_right_associative():
    assert value("a = x^y^z", x=2.0, y=3.0, z=2.0) == 512.0  # 2^(3^2), not (2^3)^2 = 64
    assert value("a = x**y**z", x=2.0, y=3.0, z=2.0) == 512.0
    op, args = root("a = x^y^z")
    assert op == "pow" and args == ["input", "pow"]


def test_minus_and_divide_are_left_associative():
    assert value("a = x - y - z", x=10.0, y=4.0, z=3.0) == 3.0  # (10 - 4) - 3
    assert root("a = x - y - z") == ("sub", ["sub", "input"])
    assert value("a = x / y * z", x=8.0, y=4.0, z=2.0) == 4.0  # (8 / 4) * 2
    assert root("a = x / y * z") == ("mul", ["div", "input"])
    assert value("a = x / y / z", x=8.0, y=4.0, z=2.0) == 1.0


def test_products_bind_tighter_than_sums():
    assert value("a = x + y * z", x=1.0, y=2.0, z=3.0) == 7.0
    assert value("a = (x + y) * z", x=1.0, y=2.0, z=3.0) == 9.0
    assert value("a = x - y ^ 2 * z", x=1.0, y=2.0, z=3.0) == -11.0


def test_matmul_and_functions_with_axis():
    g = irgraph.parse("a = sum(A @ x, 0) + mean(A, -1) @ y")
    x, y, A = np.arange(3.0), np.arange(2.0), np.arange(6.0).reshape(2, 3)
    expected = np.sum(A @ x, 0) + np.mean(A, -1) @ y
    assert float(evaluate(g, {"A": A, "x": x, "y": y})) == pytest.approx(expected)
    axes = sorted((d["op"], dict(d["params"])["axis"]) for _, d in g.nx.nodes(data=True) if d["op"] in ("sum", "mean"))
    assert axes == [("mean", -1), ("sum", 0)]


# ---- errors ----------------------------------------------------------------------------------------------

ERRORS = [
    # (text, line, col, a fragment of the message)
    ("a = (x + 1", 1, 5, "unmatched '('"),
    ("a = x + 1)", 1, 10, "unmatched ')'"),
    ("a = sin(x", 1, 5, "sin("),
    ("a = x +", 1, 8, "dangling operator"),
    ("a = x\nb = x * ", 2, 8, "dangling operator"),  # just after the last token
    ("a = * x", 1, 5, "expected an expression before '*'"),
    ("a = x * * y", 1, 9, "expected an expression"),
    ("a = sine(x)", 1, 5, "did you mean 'sin'?"),
    ("b = 1\na = 2 * tnah(x)", 2, 9, "did you mean 'tanh'?"),
    ("a = qqqq(x)", 1, 5, "unknown function 'qqqq'"),
    ("a = x\nb = 2\na = y", 3, 1, "'a' is defined twice (first on line 1)"),
    ("a = b + 1\nb = c * 2\nc = a", 1, 1, "cycle"),
    ("a = a + 1", 1, 1, "a -> a"),
    ("", 1, 1, "empty model"),
    ("# nothing but a comment\n\n   \n", 1, 1, "empty model"),
    ("a = x.y", 1, 6, "attribute access"),
    ("a = x.__class__", 1, 6, "attribute access"),
    ("a = x[0]", 1, 6, ("indexing (`x[...]`) is not supported: reduce with sum(x, axis) or mean(x, axis), or pass "
                       "the element you need as an input of its own")),
    # Python and textbook habits: say what the model language writes instead.
    ("a = 2w", 1, 6, "expected an operator before 'w'; did you mean `2*w`?"),
    ("a = 1e-3w + b", 1, 9, "did you mean `1e-3*w`?"),
    ("a = 2(x + 1)", 1, 6, "did you mean `2*(...)`?"),
    ("a = x y", 1, 7, "did you mean `x*y`?"),
    ("a = w(x + 1)", 1, 5, "for a product write w*(...)"),
    ("a = np.exp(x)", 1, 7, "write `exp(...)`, not `np.exp(...)`; the model language has no modules"),
    ("a = math.exp(x)", 1, 9, "write `exp(...)`, not `math.exp(...)`"),
    ("a = x − y", 1, 7, "Unicode minus; write '-'"),
    ("a = −x", 1, 5, "Unicode minus; write '-'"),
    ("a = x × y", 1, 7, "write '*'"),
    ("a = x · y", 1, 7, "write '*' (or '@' for a matrix product)"),
    ("a = x ÷ y", 1, 7, "write '/'"),
    ("a = x²", 1, 6, "write '^2'"),
    ("a = lambda: 1", 1, 5, "lambda"),
    ("a = lambda x: x", 1, 5, "lambda"),
    ("a = [x for x in y]", 1, 5, "not part of the model language"),
    ("a = sum(x for x in y)", 1, 11, "expected an operator before 'for'"),
    ("a = 'hi'", 1, 5, "strings"),
    ('a = "hi"', 1, 5, "strings"),
    ("a = x if y else z", 1, 7, "'if'"),
    ("a = not x", 1, 5, "reserved word"),
    ("for = 1", 1, 1, "reserved word"),
    ("a = True", 1, 5, "reserved word"),
    ("a = __import__('os')", 1, 5, "unknown function '__import__'"),
    ("a = __builtins__", 1, 5, "reserved word"),
    ("import os", 1, 1, "expected an equation"),
    ("a = sum(x, axis=1)", 1, 16, "'='"),
    ("a = x == y", 1, 7, "'='"),
    ("a = x; b = y", 1, 6, "';'"),
    ("a = {x}", 1, 5, "'{'"),
    ("a = x $ y", 1, 7, "unexpected character '$'"),
    ("a = sum(x, y)", 1, 5, "integer constant"),
    ("a = exp(x, 1)", 1, 5, "exp() takes 1 argument, got 2"),
    ("a = exp", 1, 5, "is a function"),
    ("exp = x", 1, 1, "function name"),
    ("a = x,y", 1, 6, "','"),
    ("a = ()", 1, 6, "expected an expression before ')'"),
    ("a =", 1, 4, "expected an expression after '='"),
    ("x", 1, 1, "expected an equation"),
]


@pytest.mark.parametrize("text, line, col, fragment", ERRORS, ids=[e[0] or "<empty>" for e in ERRORS])
def test_parse_errors(text, line, col, fragment):
    with pytest.raises(irgraph.ParseError) as info:
        irgraph.parse(text)
    e = info.value
    assert isinstance(e, irgraph.Error)
    assert (e.line, e.col) == (line, col), e
    assert fragment in e.message
    shown = str(e)
    assert shown.startswith(f"{line}:{col}: error: ")
    lines = text.splitlines()
    if line <= len(lines):  # the source line and a caret under the column
        assert f"\n    {lines[line - 1]}\n" in shown
        assert shown.endswith("\n    " + " " * (col - 1) + "^")


def test_cycle_error_prints_the_whole_cycle():
    with pytest.raises(irgraph.ParseError) as info:
        irgraph.parse("a = b + 1\nb = c * 2\nc = a\nd = x")
    message = info.value.message
    path = message.split(": ", 1)[1].split(" -> ")
    assert path[0] == path[-1] == "a"
    assert sorted(path[:-1]) == ["a", "b", "c"]


def test_unknown_function_lists_known_ones():
    with pytest.raises(irgraph.ParseError) as info:
        irgraph.parse("a = foo(x)")
    for fn in ["exp", "log", "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "relu", "sum", "mean"]:
        assert fn in info.value.message


def test_non_string_model_is_an_error():
    with pytest.raises(irgraph.Error):
        irgraph.parse(b"a = x")


# ---- nothing but Graph or ParseError --------------------------------------------------------------------------

_PIECES = ["a", "b", "x", "y", "w_1", "=", "==", "+", "-", "*", "/", "^", "**", "@", "(", ")", ",", "1", "2.5",
           "1e-3", "sum", "mean", "sin", "exp", "sum(", "log(", "relu(", ".", "[", "]", "'", '"', ":", ";",
           "#", "lambda", "for", "in", "if", "__import__", "\n", " ", "\t", "{", "}", "!", "$", "\\", "é", "0x1"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=60), st.lists(st.sampled_from(_PIECES), max_size=25).map("".join),
                 st.lists(st.sampled_from(_PIECES), max_size=25).map(lambda p: "a = " + " ".join(p))))
def test_random_text_parses_or_raises_parse_error(text):
    try:
        g = irgraph.parse(text)
    except irgraph.ParseError:
        return
    assert isinstance(g, irgraph.Graph)
    g.verify()
    # What parses prints back to text that parses to the same equations.
    assert str(irgraph.parse(str(g))) == str(g)
    # ... and compiles, or fails with an irgraph.Error (never anything else).
    try:
        irgraph.compile(g)
    except irgraph.Error:
        pass


@pytest.mark.parametrize("depth", [1000, 5000])
def test_deeply_nested_parentheses_never_recurse(depth):
    texts = [
        "a = " + "(" * depth + "x" + ")" * depth,
        "a = " + "sin(" * depth + "x" + ")" * depth,
        "a = " + "-" * depth + "x",
        "a = " + "(" * depth + "x",  # unbalanced
        "a = x" + "^x" * depth,
    ]
    for text in texts:
        try:
            g = irgraph.parse(text)
        except irgraph.ParseError:
            continue  # a clean ParseError is fine; a RecursionError is not
        assert str(g)  # printing must not recurse either
        assert irgraph.parse(str(g)).nx.number_of_nodes() == g.nx.number_of_nodes()


def test_deeply_nested_expression_evaluates():
    g = irgraph.parse("a = " + "(" * 5000 + "x + 1" + ")" * 5000)
    assert float(evaluate(g, {"x": 2.0})) == 3.0
    g = irgraph.parse("a = " + "-" * 5001 + "x")
    assert float(evaluate(g, {"x": 2.0})) == -2.0


# ---- printing and the equation level ---------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_str_round_trips(case):
    g = irgraph.parse(case.text)
    text = str(g)
    assert text == g.pretty()
    again = irgraph.parse(text)
    assert str(again) == text
    assert sorted(again.inputs) == sorted(g.inputs)
    # The printed model computes the same thing.
    inputs = case.inputs(0)
    for name in g.names():
        if g.nx.nodes[name]["op"] != "input":
            np.testing.assert_allclose(evaluate(again, inputs, name), evaluate(g, inputs, name), rtol=1e-12)


def test_str_prints_the_equations():
    g = irgraph.parse((EXAMPLES / "linear.eq").read_text())
    assert str(g).splitlines() == ["a1 = w1*x1", "a2 = w2*x2", "yhat = b + a1 + a2", "loss = (yhat - y)^2"]


@pytest.mark.parametrize("text", ["a = x - (y - z)", "a = x / (y * z)", "a = (x^y)^z", "a = -(x + y)",
                                  "a = x * -y", "a = -x^2", "a = (-x)^2", "a = 2^-x", "a = x - -y",
                                  "a = (x @ y) @ z", "a = x @ (y @ z)", "a = sum(x, 1) - mean(-x)"])
def test_str_keeps_the_needed_parentheses(text):
    g = irgraph.parse(text)
    inputs = {"x": 1.7, "y": 0.6, "z": 2.3}
    if "@" in text or "sum" in text:
        inputs = {"x": np.arange(4.0).reshape(2, 2) + 1, "y": np.eye(2) * 3 - 1, "z": np.ones((2, 2))}
    np.testing.assert_allclose(evaluate(irgraph.parse(str(g)), inputs), evaluate(g, inputs))


def test_equation_level():
    g = irgraph.parse((EXAMPLES / "linear.eq").read_text())
    eq = g.equations()
    assert isinstance(eq, irgraph.Graph)
    assert eq.level == "equation" and g.level == "op"
    assert set(eq.nx.nodes) == {"w1", "x1", "w2", "x2", "b", "y", "a1", "a2", "yhat", "loss"}
    assert {eq.nx.nodes[n]["op"] for n in ["w1", "x1", "w2", "x2", "b", "y"]} == {"input"}
    assert {eq.nx.nodes[n]["op"] for n in ["a1", "a2", "yhat", "loss"]} == {"equation"}
    assert {(u, v) for u, v, _ in eq.nx.edges} == {
        ("w1", "a1"), ("x1", "a1"), ("w2", "a2"), ("x2", "a2"),
        ("b", "yhat"), ("a1", "yhat"), ("a2", "yhat"), ("yhat", "loss"), ("y", "loss")}
    assert str(eq.nx.nodes["loss"]["expr"]) == "(yhat - y)^2"
    assert str(eq.nx.nodes["yhat"]["expr"]) == "b + a1 + a2"
    assert eq.outputs == ["loss"]
    assert str(eq) == str(g)
    eq.verify()


def test_equation_level_has_one_edge_per_variable_used():
    eq = irgraph.parse("h = x * x + sin(x) * w\nloss = h * h").equations()
    assert sorted((u, v) for u, v, _ in eq.nx.edges) == [("h", "loss"), ("w", "h"), ("x", "h")]
    assert g_inputs(eq) == {"x", "w"}


def g_inputs(eq):
    return {n for n, d in eq.nx.nodes(data=True) if d["op"] == "input"}


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_equation_level_nodes_are_the_named_values(case):
    g = irgraph.parse(case.text)
    eq = g.equations()
    assert set(eq.nx.nodes) == set(g.names())
    assert set(eq.inputs) == set(g.inputs)
    assert nx.is_directed_acyclic_graph(eq.nx)


# ---- every pass keeps the IR valid and leaves its argument alone -------------------------------------------------

def _snapshot(graph):
    g = graph.nx
    return (sorted((n, repr(sorted(d.items()))) for n, d in g.nodes(data=True)),
            sorted((u, v, k, repr(sorted(d.items()))) for u, v, k, d in g.edges(keys=True, data=True)),
            repr(sorted((k, repr(v)) for k, v in g.graph.items())))


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_verify_passes_after_every_pass(case):
    graph = irgraph.parse(case.text, output=case.output)
    graph.verify()
    for p in passes.PIPELINE:
        before = _snapshot(graph)
        result = passes.adjoint(graph, case.wrt) if p is passes.adjoint else p(graph)
        assert isinstance(result, irgraph.Graph), p.__name__
        assert _snapshot(graph) == before, f"{p.__name__} mutated its argument"
        result.verify()
        graph = result
    assert set(graph.grads) == set(case.wrt)
    program = passes.schedule(graph)
    assert program.wrt == case.wrt


def test_verify_catches_a_broken_graph():
    g = irgraph.parse("a = x * y")
    g.nx.remove_edge("y", "a")
    with pytest.raises(AssertionError):
        g.verify()
