"""The Graph itself: its tables, its networkx view, its metadata."""

import pytest

import irgraph
import passes
from irgraph.ir.graph import Meta


def test_editing_the_networkx_graph_is_what_the_next_pass_sees():
    """Regression: Graph.parts() once served a remembered operand table after g.nx had been edited, so
    simplify brought a removed edge back."""
    g = irgraph.parse("a = x * y\nloss = a + z")
    g.nx.remove_edge("y", "a")
    g.nx.add_edge("z", "a", pos=1)
    assert "a = x*z" in str(passes.simplify(g)).splitlines()
    assert "a = x*z" in str(passes.cse(g)).splitlines()
    assert float(irgraph.compile(g, wrt=["x"]).run({"x": 2.0, "y": 5.0, "z": 3.0}).value) == 9.0


def test_editing_a_pass_result_leaves_its_input_alone():
    """Passes share unchanged attribute dicts; the networkx view of a graph has dicts of its own."""
    g = irgraph.parse("a = x * y\nloss = sin(a)")
    before = str(g)
    out = passes.simplify(g)
    out.nx.nodes["loss"]["op"] = "cos"
    assert str(g) == before
    assert str(passes.simplify(g)) == before


def test_the_metadata_is_a_dataclass_and_the_networkx_graph_attributes_alike():
    g = irgraph.parse("a = x * y\nloss = a + 1")
    assert g.meta == Meta(outputs=("loss",), level="op", lines=("a = x * y", "loss = a + 1"),
                          next_id=g.meta.next_id)
    compiled = passes.run_pipeline(g, wrt=["x"])
    assert compiled.meta.grads is not None and set(compiled.grads) == {"x"}
    assert [name for name, _, _ in compiled.meta.log] == [p.__name__ for p in passes.PIPELINE]
    attrs = compiled.nx.graph
    assert attrs["outputs"] == compiled.outputs and attrs["grads"] == compiled.grads
    assert compiled.meta == Meta.of(attrs)


def test_with_irgraph_verify_a_pass_that_breaks_the_graph_is_caught(monkeypatch):
    def drop_an_operand(graph):
        nodes, args = graph.parts()
        args["loss"] = args["loss"][:1]  # `add` left with one operand
        return irgraph.Graph.from_args(nodes, args, **vars(graph.meta))

    g = irgraph.parse("a = x * y\nloss = a + x")
    monkeypatch.setenv("IRGRAPH_VERIFY", "1")
    with pytest.raises(AssertionError, match="after pass drop_an_operand: node loss \\(add\\) has 1 operands"):
        passes.run_pipeline(g, pipeline=(passes.simplify, drop_an_operand))
    monkeypatch.setenv("IRGRAPH_VERIFY", "0")
    passes.run_pipeline(g, pipeline=(passes.simplify, drop_an_operand))  # unchecked: nothing notices


def test_verify_finds_a_cycle_and_a_dangling_operand():
    g = irgraph.parse("a = x * y\nloss = a + x")
    nodes, args = g.parts()
    with pytest.raises(AssertionError, match="cycle"):
        irgraph.Graph.from_args(nodes, dict(args, a=("loss", "y")), **vars(g.meta)).verify()
    with pytest.raises(AssertionError, match="not a node"):
        irgraph.Graph.from_args(nodes, dict(args, a=("x", "nowhere")), **vars(g.meta)).verify()


def test_passes_build_their_tables_in_an_order_later_passes_walk_without_sorting():
    """A parsed model lists its equations as written (here `a` after its user); every pass's output lists
    each node after its operands, says so (`ordered`), and order() is then that listing."""
    g = irgraph.parse("loss = sin(a) + a\na = x * y")
    assert not g.ordered and g.order() == g.topo()
    compiled = passes.run_pipeline(g, wrt=["x"])
    assert compiled.ordered
    seen = set()
    for n in compiled.order():
        assert set(compiled.operands(n)) <= seen, n
        seen.add(n)


def test_verify_catches_a_graph_that_claims_an_order_it_does_not_have():
    g = passes.simplify(irgraph.parse("a = x * y\nloss = sin(a)"))
    nodes, args = g.parts()
    backwards = irgraph.Graph.from_args(dict(reversed(nodes.items())), args, ordered=True, **vars(g.meta))
    with pytest.raises(AssertionError, match="says it is ordered, but loss comes before its operand"):
        backwards.verify()
