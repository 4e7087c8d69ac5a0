"""The backward stage (viz/compiled.py) reads like a lecture's drawing of backprop: constants sit in their
node's label, operand marks only where order matters and away from nodes, sums that change nothing are not
drawn, and a mean's count is taken in the forward part from its operand's shape.

Reference values are the JAX gradients in examples/*.json; the layout is read from Graphviz's `dot -Tjson`.
"""

import json
import pathlib
import subprocess

import pytest
from cases import example
from dotread import needs_dot, plain, read_dot

import irgraph
import viz
from viz import style

ROOT = pathlib.Path(__file__).resolve().parents[2]


def backward(model, **options):
    return read_dot(viz.to_digraph(irgraph.parse(model), stage="backward", **options).source)


def node_with_title(dot, title):
    found = [n for n in dot.nodes if dot.text(n).splitlines()[0] == title]
    assert len(found) == 1, (title, [dot.text(n) for n in dot.nodes])
    return found[0]


@pytest.mark.parametrize("name", ["linear", "linreg", "logistic", "mlp", "shared"])
def test_constants_are_written_in_their_nodes_label_not_drawn_loose(name):
    model, ref = example(name)
    dot = backward(model, values=ref["inputs"])
    assert not [n for n, a in dot.nodes.items() if a.get("shape") == "plaintext"]


def test_the_seed_backward_stage_reads_like_the_lecture():
    model, ref = example("linear")
    dot = backward(model, values=ref["inputs"], wrt=ref["wrt"])
    assert dot.text("loss").splitlines()[:2] == ["L", "^ 2"]  # (ŷ − y)^2, the 2 inside
    # ∂L/∂ŷ = 2(ŷ − y) is also ∂L/∂b (b + a₁ + a₂ = ŷ): one node, no "sum to shape" after it, since the
    # values show the sum would change nothing. Its number is JAX's.
    title = "∂L/∂ŷ = ∂L/∂b"
    grad_b = node_with_title(dot, title)
    assert dot.text(grad_b).splitlines()[1:] == ["2 ×", "= −3.5", "used ×2"]
    assert ref["grads"]["b"] == -3.5
    for w in ("w1", "w2"):
        shown = f"∂L/∂w{'₁' if w == 'w1' else '₂'}"
        n = node_with_title(dot, shown)
        assert dot.text(n).splitlines()[1] == "×"  # the multiply itself, not a sum of one element
        assert dot.text(n).splitlines()[2] == f"= {ref['grads'][w]:g}".replace("-", "−")
    assert not any("sum to" in dot.text(n) or "before summing" in dot.text(n) for n in dot.nodes)


def test_sums_that_do_change_the_shape_stay_and_say_to_what():
    model, ref = example("linreg")  # scalar weights, 8 samples: each gradient sums 8 numbers
    dot = backward(model, values=ref["inputs"], wrt=ref["wrt"])
    w1 = node_with_title(dot, "∂L/∂w₁")
    assert dot.text(w1).splitlines()[1:] == ["sum to w₁'s shape", f"= {ref['grads']['w1']:.4g}"]
    before = [n for n in dot.nodes if "∂L/∂w₁ before summing" in dot.text(n)]
    assert len(before) == 1 and "shape 8:" in dot.text(before[0])
    # The sum knows w₁'s shape from its own label: no edge runs from w₁ across the picture to it.
    assert ("w1", w1) not in [(u, v) for u, v, _ in dot.edges]


def test_without_values_no_sum_is_assumed_away():
    model, _ = example("linear")  # the shapes of the inputs are not known: the sums stay
    dot = backward(model)
    assert any("sum to" in dot.text(n) for n in dot.nodes)


def test_operand_marks_only_where_the_order_matters():
    model, ref = example("mlp")
    prog = irgraph.compile(model)
    g = prog.graph.nx
    dot = backward(model, values=ref["inputs"])
    for u, v, a in dot.edges:
        if "label" not in a:
            continue
        mark = plain(a["label"])
        assert mark in ("1", "2")
        op = g.nodes[v]["op"] if v in g else g.nodes[u]["op"]  # backward edges are drawn reversed
        assert not irgraph.ir.ops.OPS[op].commutative
    marked = {v for u, v, a in dot.edges if "label" in a}
    assert marked and all(g.nodes[v]["op"] in ("sub", "matmul") for v in marked if v in g)


@needs_dot
@pytest.mark.parametrize("name", ["linear", "linreg", "logistic", "mlp"])
def test_operand_marks_stay_clear_of_every_node(name):
    model, ref = example(name)
    source = viz.to_digraph(irgraph.parse(model), stage="backward", values=ref["inputs"]).source
    drawing = json.loads(subprocess.run(["dot", "-Tjson"], input=source.encode(), capture_output=True,
                                        check=True).stdout)
    boxes = []
    for obj in drawing["objects"]:
        if "pos" in obj and "width" in obj:
            x, y = map(float, obj["pos"].split(","))
            w, h = float(obj["width"]) * 72 / 2, float(obj["height"]) * 72 / 2
            boxes.append((obj["name"], x - w, y - h, x + w, y + h))
    marks = 0
    for edge in drawing.get("edges", ()):
        for op in edge.get("_ldraw_", ()):
            if op["op"] == "T" and op["text"] in ("1", "2"):
                marks += 1
                (x, y), w = op["pt"], op["width"]
                box = (x - w / 2, y - 2, x + w / 2, y + 7)
                hit = [n for n, x0, y0, x1, y1 in boxes if box[0] < x1 and x0 < box[2] and box[1] < y1 and y0 < box[3]]
                assert not hit, (name, op["text"], hit)
    assert marks >= 2


def test_a_mean_counts_its_elements_in_the_forward_part():
    model, ref = example("linreg")
    prog = irgraph.compile(model, wrt=ref["wrt"])
    count = next(i for i in prog.instrs if i.op == "count")
    assert count.role == "forward"
    squared = count.args[0]  # (ŷ − y)^2, an array of 8: dropped in the forward part, not kept to be counted
    last_read = max(k for k, i in enumerate(prog.instrs) if squared in i.args)
    assert prog.instrs[last_read].role == "forward" and squared in prog.instrs[last_read].frees
    res = prog.run(ref["inputs"])
    assert res.value == pytest.approx(ref["value"], rel=1e-12)
    for k, g in ref["grads"].items():
        assert float(res.grads[k]) == pytest.approx(g, rel=1e-9)
    # In the picture the count reads a shape, not the values: the squared error is used once.
    dot = backward(model, values=ref["inputs"], wrt=ref["wrt"])
    sq = next(n for n in dot.nodes if dot.text(n).startswith("^ 2"))
    assert "used" not in dot.text(sq)
    n = node_with_title(dot, "N")
    assert n in dot.clusters["cluster_forward"] and "= 8" in dot.text(n)
    assert dot.edge(sq, n).get("style") == style.EDGE_KIND["shape"]["style"]


def test_no_sum_is_compiled_where_the_shapes_surely_match():
    prog = irgraph.compile("loss = sum(sin(x) * cos(x) + exp(x))", wrt=["x"])
    assert not [i for i in prog.instrs if i.op == "sum_to"], str(prog)
    prog = irgraph.compile("loss = sum(w * x)", wrt=["w"])  # w may be a scalar and x a vector: it stays
    assert [i for i in prog.instrs if i.op == "sum_to"]


# ---- an order-2 program: the second sweep is its own group ---------------------------------------------------

def second_order(model, stage="backward", wrt=None):
    program = irgraph.compile(model, wrt=wrt, order=2)
    source = viz.to_digraph(program, stage=stage).source
    assert "second sweep (tangents of the gradients" in source  # the group's title
    return read_dot(source)


def test_the_second_sweep_of_the_seed_model_is_its_own_group():
    dot = second_order(example("linear")[0], wrt=["w1", "b"])
    assert set(dot.clusters) == {"cluster_forward", "cluster_backward", "cluster_tangent"}
    sweep = {dot.text(n).splitlines()[0] for n in dot.clusters["cluster_tangent"]}
    # the directions v, the tangents along them, and H·v for each input differentiated
    assert {"δw₁", "δb", "δa₁", "δ(∂L/∂ŷ)", "δ(∂L/∂w₁)", "(H·v)[w₁]", "(H·v)[b]"} <= sweep
    first_two = {n for c in ("cluster_forward", "cluster_backward") for n in dot.clusters[c]}
    assert not any(dot.text(n).startswith(("δ", "(H·v)")) for n in first_two)


@pytest.mark.parametrize("name", ["linear", "linreg", "logistic", "mlp", "shared"])
@pytest.mark.parametrize("stage", ["backward", "program"])
def test_every_example_draws_its_order_2_program(name, stage):
    dot = second_order(example(name)[0], stage)
    wrt = irgraph.compile(example(name)[0]).wrt
    outputs = [dot.text(n) for n in dot.clusters["cluster_tangent"] if "(H·v)[" in dot.text(n)]
    assert len(outputs) == len(wrt)


def test_the_command_draws_the_second_sweep_and_refuses_values(tmp_path, capsys):
    from irgraph.cli import main

    out = tmp_path / "hessian.dot"
    assert main(["render", str(ROOT / "examples" / "linear.eq"), "--hessian", "--stage", "backward", "-o", str(out)]) == 0
    assert "second sweep" in out.read_text()
    assert main(["render", str(ROOT / "examples" / "linear.eq"), "--hessian", "-o", str(tmp_path / "f.svg")]) == 1
    assert "--hessian draws the second-order program" in capsys.readouterr().err
