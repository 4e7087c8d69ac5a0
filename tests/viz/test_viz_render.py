"""The pictures, read back as DOT (and as SVG where Graphviz is installed): labels, the highlighted
backprop path, its caption, values, the backward program and the formats. Nothing compares pixels.

Reference answers come from outside viz: path edges from networkx's own path enumeration, gradients from
the JAX reference values in examples/*.json, program structure from the compiled Program itself.
"""

import json
import pathlib
from itertools import pairwise

import networkx as nx
import numpy as np
import pytest
from dotread import needs_dot, plain, read_dot, read_svg

import irgraph
import viz
from viz import style

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED = (ROOT / "examples" / "linear.eq").read_text()
SEED_INPUTS = json.loads((ROOT / "examples" / "linear.json").read_text())["inputs"]
TWICE = "a = w*x\nb = w*a\nloss = (b - y)^2\n"  # w reaches the loss along two paths


def picture(model, **options):
    """The DOT picture of a model, parsed."""
    return read_dot(viz.to_digraph(irgraph.parse(model), **options).source)


# ---- the annotated forward graph ----------------------------------------------------------------------------

def test_seed_nodes_read_like_a_lecture():
    dot = picture(SEED)
    assert dot.graph["rankdir"] == "LR"  # flows left to right
    titles = {n: dot.text(n).splitlines()[0] for n in dot.nodes}
    assert titles == {"w1": "w₁", "x1": "x₁", "w2": "w₂", "x2": "x₂", "b": "b", "y": "y",
                      "a1": "a₁", "a2": "a₂", "yhat": "ŷ", "loss": "L"}
    assert dot.text("yhat").splitlines()[1] == "b + a₁ + a₂"  # the equation under its name
    assert dot.text("loss").splitlines()[1] == "(ŷ − y)²"


def test_every_edge_carries_its_local_partial():
    dot = picture(SEED)
    labels = {(u, v): plain(a["label"]) for u, v, a in dot.edges}
    assert labels == {
        ("w1", "a1"): "∂a₁/∂w₁ = x₁", ("x1", "a1"): "∂a₁/∂x₁ = w₁",
        ("w2", "a2"): "∂a₂/∂w₂ = x₂", ("x2", "a2"): "∂a₂/∂x₂ = w₂",
        ("b", "yhat"): "∂ŷ/∂b = 1", ("a1", "yhat"): "∂ŷ/∂a₁ = 1", ("a2", "yhat"): "∂ŷ/∂a₂ = 1",
        ("yhat", "loss"): "∂L/∂ŷ = 2(ŷ − y)", ("y", "loss"): "∂L/∂y = −2(ŷ − y)",
    }


def test_parameters_are_styled_apart_from_data():
    dot = picture(SEED, wrt=["b", "w1", "w2"])
    fill = {n: dot.nodes[n]["fillcolor"] for n in ["b", "w1", "w2", "x1", "x2", "y"]}
    assert fill["b"] == fill["w1"] == fill["w2"] == style.NODE["param"]["fillcolor"]
    assert fill["x1"] == fill["x2"] == fill["y"] == style.NODE["data"]["fillcolor"]
    assert fill["w1"] != fill["x1"]
    # Without wrt nobody is told apart: every input is drawn the same way.
    plain = picture(SEED)
    assert {plain.nodes[n]["fillcolor"] for n in fill} == {style.NODE["input"]["fillcolor"]}


# ---- the backprop path --------------------------------------------------------------------------------------

def path_edges(model, output, target):
    """Every edge on some path target → output, by networkx's own enumeration (the reference)."""
    eq = irgraph.parse(model).equations().nx
    return {(u, v) for p in nx.all_simple_paths(eq, target, output) for u, v in pairwise(p)}


def test_highlight_colours_exactly_the_paths_from_the_loss_back_to_w1():
    dot = picture(SEED, highlight="w1")
    assert set(dot.coloured(style.HIGHLIGHT)) == path_edges(SEED, "loss", "w1") == {
        ("w1", "a1"), ("a1", "yhat"), ("yhat", "loss")}
    others = [a.get("color", style.EDGE) for u, v, a in dot.edges if a.get("color") != style.HIGHLIGHT]
    assert style.HIGHLIGHT not in others and others  # the colour means "on the path", nothing else


def test_caption_is_the_chain_rule_along_the_path():
    dot = picture(SEED, highlight="w1")
    assert dot.caption() == "∂L/∂w₁ = ∂L/∂ŷ · ∂ŷ/∂a₁ · ∂a₁/∂w₁ = 2(ŷ − y) · 1 · x₁"


def test_caption_adds_the_numbers_when_inputs_are_given():
    dot = picture(SEED, highlight="w1", values=SEED_INPUTS)
    assert dot.caption() == ("∂L/∂w₁ = ∂L/∂ŷ · ∂ŷ/∂a₁ · ∂a₁/∂w₁ = 2(ŷ − y) · 1 · x₁ "
                             "= −3.5 · 1 · 1.5 = −5.25")


def test_a_weight_used_twice_sums_over_both_paths():
    dot = picture(TWICE, highlight="w")
    assert set(dot.coloured(style.HIGHLIGHT)) == path_edges(TWICE, "loss", "w") == {
        ("w", "a"), ("a", "b"), ("w", "b"), ("b", "loss")}
    assert dot.caption() == ("∂L/∂w = ∂L/∂b · ∂b/∂w + ∂L/∂b · ∂b/∂a · ∂a/∂w "
                             "= 2(b − y) · a + 2(b − y) · w · x")


def test_highlighting_an_unknown_name_is_an_error_naming_it():
    with pytest.raises(irgraph.Error, match="'w3'"):
        picture(SEED, highlight="w3")


# ---- values ----------------------------------------------------------------------------------------------------

def test_every_node_shows_its_value_and_gradient():
    reference = json.loads((ROOT / "examples" / "linear.json").read_text())  # computed by JAX
    dot = picture(SEED, values=SEED_INPUTS, wrt=reference["wrt"])
    shown = {"b": "b", "w1": "w₁", "w2": "w₂"}
    for name, grad in reference["grads"].items():
        value, gradient = dot.text(name).splitlines()[1:]
        assert value == f"= {SEED_INPUTS[name]:g}".replace("-", "−")
        assert gradient == f"∂L/∂{shown[name]} = {grad:g}".replace("-", "−")
    assert "= 0.25" in dot.text("yhat") and "∂L/∂ŷ = −3.5" in dot.text("yhat")  # 2(ŷ − y) at ŷ = 0.25
    assert "= 3.062" in dot.text("loss")  # 3.0625 to four digits
    assert "∂L/∂" not in dot.text("x1")  # data inputs are not learned: no gradient drawn


def test_a_run_result_alone_annotates_the_output_and_the_gradients():
    prog = irgraph.compile(SEED, wrt=["b", "w1", "w2"])
    dot = picture(SEED, values=prog.run(SEED_INPUTS))
    assert "∂L/∂w₁ = −5.25" in dot.text("w1")
    assert "= 3.062" in dot.text("loss")


def test_arrays_show_their_shape_and_a_few_numbers():
    model = (ROOT / "examples" / "linreg.eq").read_text()
    inputs = json.loads((ROOT / "examples" / "linreg.json").read_text())["inputs"]
    dot = picture(model, values=inputs)
    assert dot.text("x1").splitlines()[1].startswith("= shape 8: [")
    assert dot.text("x1").splitlines()[1].endswith(", …]")
    assert "∂L/∂w₁ = " in dot.text("w1")


@pytest.mark.parametrize("name", ["linear", "linreg", "logistic", "mlp", "shared"])
def test_drawn_gradients_agree_with_the_jax_reference(name):
    from viz.values import forward_numbers

    model = (ROOT / "examples" / f"{name}.eq").read_text()
    ref = json.loads((ROOT / "examples" / f"{name}.json").read_text())
    numbers = forward_numbers(irgraph.parse(model), ref["output"], None, None, ref["inputs"])
    assert float(numbers.value[ref["output"]]) == pytest.approx(ref["value"], rel=1e-9)
    for k, g in ref["grads"].items():
        np.testing.assert_allclose(numbers.grad[k], g, rtol=1e-7, atol=1e-12)


# ---- the op level, the backward graph and the program ---------------------------------------------------

def test_op_level_draws_one_node_per_operation():
    dot = picture(SEED, ops=True, highlight="w1")
    ops = [n for n in dot.nodes if n.startswith("%") and dot.nodes[n]["shape"] != "plaintext"]
    assert sorted(dot.text(n) for n in ops) == ["+", "−"]  # the unnamed operations: b + a1, yhat − y
    assert not [n for n in dot.nodes if dot.nodes[n]["shape"] == "plaintext"]  # no loose constants
    assert dot.text("loss").splitlines()[:2] == ["L", "^ 2"]  # the power's 2 in its label
    assert plain(dot.edge("w1", "a1")["label"]) == "∂a₁/∂w₁ = x₁"
    assert plain(dot.edge("y", "%4")["label"]) == "∂(ŷ − y)/∂y = −1"  # an unnamed node: its expression
    # The path runs through the unnamed nodes too.
    op = irgraph.parse(SEED).nx
    ref = {(u, v) for p in nx.all_simple_paths(op, "w1", "loss") for u, v in pairwise(p)}
    assert set(dot.coloured(style.HIGHLIGHT)) == ref


def test_backward_stage_puts_forward_and_adjoints_apart():
    prog = irgraph.compile(SEED, wrt=["b", "w1", "w2"])
    dot = picture(SEED, stage="backward", wrt=["b", "w1", "w2"])
    roles = {n: d.get("role", "forward") for n, d in prog.graph.nx.nodes(data=True) if d["op"] != "const"
             and d["op"] != "input"}
    forward = set(dot.clusters["cluster_forward"])
    backward = set(dot.clusters["cluster_backward"])
    assert {n for n, r in roles.items() if r == "forward"} <= forward
    assert {n for n, r in roles.items() if r == "backward"} <= backward
    for name in ["b", "w1", "w2"]:
        assert dot.text(prog.graph.grads[name]).startswith(f"∂L/∂{name[0]}")


def test_values_computed_once_and_used_many_times_are_marked():
    model = (ROOT / "examples" / "shared.eq").read_text()
    prog = irgraph.compile(model)
    dot = read_dot(viz.to_digraph(prog, stage="backward").source)
    g = prog.graph.nx
    for n, d in g.nodes(data=True):
        uses = g.out_degree(n)
        if d["op"] in ("input", "const"):
            continue
        marked = f"used ×{uses}" in dot.text(n)
        assert marked == (uses > 1), (n, uses, dot.text(n))
        assert (dot.nodes[n].get("penwidth") == style.SHARED_NODE["penwidth"]) == (uses > 1)
    assert "used ×5" in dot.text("u")  # u = w*x feeds sin, cos, u*u (twice) and the backward 2*u


def test_program_stage_draws_one_node_per_instruction():
    prog = irgraph.compile(SEED, wrt=["b", "w1", "w2"])
    dot = read_dot(viz.to_digraph(prog).source)
    for ins in prog.instrs:
        assert dot.text(ins.out).splitlines()[0] == str(ins)
        cluster = "cluster_forward" if ins.role == "forward" else "cluster_backward"
        assert ins.out in dot.clusters[cluster]
    for name, var in prog.grads:
        assert f"→ ∂L/∂{name[0]}" in dot.text(var)


def test_program_stage_from_the_cli_options():
    dot = picture(SEED, stage="program", values=SEED_INPUTS, highlight="w1")
    assert "= −5.25" in dot.text("d_w1")
    assert dot.caption().startswith("∂L/∂w₁ = ∂L/∂ŷ · ∂ŷ/∂a₁ · ∂a₁/∂w₁")


# ---- large models --------------------------------------------------------------------------------------------

def chain_model(n):
    """n equations in a chain, each three operations (mul, add, sin)."""
    lines = ["h0 = w0 * x"] + [f"h{i} = sin(w{i} * h{i - 1} + b)" for i in range(1, n)]
    return "\n".join(lines + [f"loss = h{n - 1}^2"])


def test_op_level_groups_each_equation_beyond_the_threshold():
    small = chain_model(60)  # 60 equations, under 300 operations: one node per operation
    big = chain_model(120)  # over 300 operations: one node per equation
    assert sum(1 for _, d in irgraph.parse(small).nx.nodes(data=True) if d["op"] not in ("input", "const")) \
        <= style.GROUP_AT < sum(1 for _, d in irgraph.parse(big).nx.nodes(data=True)
                                if d["op"] not in ("input", "const"))
    drawn = picture(small, ops=True)
    assert any(n.startswith("%") for n in drawn.nodes)
    grouped = picture(big, ops=True)
    assert not any(n.startswith("%") for n in grouped.nodes)
    assert grouped.text("h115").splitlines()[-1] == "3 ops"


def test_very_large_models_are_cut_to_the_part_near_the_output():
    dot = picture(chain_model(3000), highlight="w2990")
    drawn = [n for n in dot.nodes if n != "__more__"]
    assert len(drawn) <= style.MAX_NODES
    assert "__more__" in dot.nodes and "more not drawn" in dot.text("__more__")
    assert "loss" in dot.nodes and "w2990" in dot.nodes
    # No more columns than Graphviz lays out comfortably: the longest drawn chain is short.
    g = nx.DiGraph([(u, v) for u, v, _ in dot.edges if "__more__" not in (u, v)])
    assert nx.dag_longest_path_length(g) <= style.MAX_RANKS
    assert set(dot.coloured(style.HIGHLIGHT)) == path_edges(chain_model(3000), "loss", "w2990")


def test_large_programs_group_forward_and_adjoint_work_per_equation():
    prog = irgraph.compile(chain_model(400))  # about 3,000 instructions
    dot = read_dot(viz.to_digraph(prog, highlight="w398").source)
    assert len(dot.nodes) <= style.MAX_NODES + 1
    assert "%forward_401" in dot.clusters["cluster_forward"]  # the loss's line (line 401), forward part
    assert "%backward_400" in dot.clusters["cluster_backward"]  # ∂L/∂h399's work, backward part
    assert dot.text("%backward_400").startswith("∂L/∂h₃₉₉")
    assert not any(":" in n for n in dot.nodes)  # DOT would read a:b as a port
    assert dot.caption().startswith("∂L/∂w₃₉₈ = ∂L/∂h₃₉₉ · ∂h₃₉₉/∂h₃₉₈ · ∂h₃₉₈/∂w₃₉₈")
    assert dot.coloured(style.HIGHLIGHT)


@needs_dot
def test_a_10000_node_model_renders_to_a_bounded_svg(tmp_path):
    # How fast is measured by benchmarks/render.py, never asserted here.
    model = chain_model(3334)  # 10,000 operations, 13,000 nodes with the inputs
    assert irgraph.parse(model).nx.number_of_nodes() >= 10_000
    viz.render(irgraph.parse(model), tmp_path / "big.svg", highlight="w1")
    nodes, _, _ = read_svg(str(tmp_path / "big.svg"))
    assert len(nodes) <= style.MAX_NODES + 1


# ---- formats and errors -----------------------------------------------------------------------------------------

def test_dot_output_needs_no_graphviz(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")  # no `dot` anywhere
    path = viz.render(irgraph.parse(SEED), tmp_path / "seed.dot", highlight="w1")
    dot = read_dot(pathlib.Path(path).read_text(encoding="utf-8"))
    assert dot.caption().startswith("∂L/∂w₁")


def test_a_missing_graphviz_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(irgraph.Error, match="apt-get install graphviz"):
        viz.render(irgraph.parse(SEED), tmp_path / "seed.svg")


def test_the_format_comes_from_the_suffix(tmp_path):
    with pytest.raises(irgraph.Error, match=r"\.svg"):
        viz.render(irgraph.parse(SEED), tmp_path / "seed.jpeg")


@needs_dot
def test_svg_has_the_same_labels_path_and_caption(tmp_path):
    path = viz.render(irgraph.parse(SEED), tmp_path / "seed.svg", highlight="w1", values=SEED_INPUTS)
    nodes, edges, caption = read_svg(path)
    assert nodes["w1"].splitlines()[:2] == ["w₁", "= 0.2"]
    assert {(u, v) for u, v, c in edges if c == style.HIGHLIGHT} == {("w1", "a1"), ("a1", "yhat"),
                                                                     ("yhat", "loss")}
    assert caption.startswith("∂L/∂w₁ = ∂L/∂ŷ · ∂ŷ/∂a₁ · ∂a₁/∂w₁ = 2(ŷ − y) · 1 · x₁")


@needs_dot
@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_png_and_pdf(tmp_path, suffix, magic):
    path = viz.render(irgraph.parse(SEED), tmp_path / f"seed{suffix}", highlight="w1")
    assert pathlib.Path(path).read_bytes().startswith(magic)


@needs_dot
def test_graphs_and_programs_show_inline_in_notebooks():
    graph = irgraph.parse(SEED)
    for obj in (graph, graph.equations(), irgraph.compile(graph)):
        svg = obj._repr_mimebundle_()["image/svg+xml"]
        assert svg.lstrip().startswith("<?xml") or "<svg" in svg


def test_to_digraph_is_a_graphviz_digraph():
    import graphviz

    assert isinstance(viz.to_digraph(irgraph.parse(SEED)), graphviz.Digraph)


def test_equations_the_compiler_merges_keep_their_own_gradient():
    # CSE would make b and c one variable (and a is w): the picture still shows ∂L/∂c for c alone,
    # ∂L/∂c = 2(a + b + c), read from running the compiled program.
    model = "a = w*1\nb = w*x\nc = x*w\nloss = (a + b + c)^2\n"
    w, x = 0.5, -2.0
    dot = picture(model, values={"w": w, "x": x})
    s = w + 2 * w * x
    for name in ("a", "b", "c"):
        assert f"∂L/∂{name} = {2 * s:g}".replace("-", "−") in dot.text(name)
    assert f"∂L/∂w = {2 * s * (1 + 2 * x):g}".replace("-", "−") in dot.text("w")


def test_a_program_draws_as_a_graph_of_its_instructions():
    prog = irgraph.compile(SEED, wrt=["w1"])
    g = prog.as_graph()
    assert set(g.nx) == {v for _, v in prog.inputs} | {i.out for i in prog.instrs}
    for ins in prog.instrs:
        assert g.operands(ins.out) == [a for a in ins.args if isinstance(a, str)]
