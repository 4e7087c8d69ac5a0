"""attach_partials: every edge u → v gets `partial`, the local derivative ∂v/∂u as an Expr.

Op level: each edge is one rule from the op table. Equation level: each edge's partial is the derivative
of the equation's right-hand side, simplified. Elementwise partials are multipliers; where a tensor op
lies on the way, the partial is a pullback in the upstream gradient `g`.
"""

from irgraph.ir import expr as E
from irgraph.ir.expr import derivatives, to_text, var
from irgraph.ir.graph import Graph, gc_paused
from irgraph.ir.ops import OPS

_INLINE = 40  # unnamed operands print inline up to this many characters, else by node id


def attach_partials(graph: Graph) -> Graph:
    """Annotate every edge with its local partial derivative."""
    with gc_paused():
        out = graph.copy()
        g = out.nx
        if graph.level == "equation":
            for v, d in g.nodes(data=True):
                if d.get("expr") is None:
                    continue
                edges = list(g.in_edges(v, keys=True, data=True))
                found = derivatives(d["expr"], [var(u) for u, *_ in edges])  # one sweep per equation
                for u, _, _, e in edges:
                    e["partial"] = found[var(u)]
            return out
        refs = _references(graph)
        for v, args in graph.parts()[1].items():
            d = g.nodes[v]
            row = OPS[d["op"]]
            if row.partials is None:
                continue
            partials = row.partials(E, *(refs[a] for a in args), refs[v], **dict(d.get("params", ())))
            for u, _, k, e in g.in_edges(v, keys=True, data=True):
                e["partial"] = partials[e["pos"]]
        return out


def _references(graph):
    """Each node as a `var` leaf, labelled by its name, its number, or its expression when short."""
    exprs, _ = graph.expressions()
    refs, long = {}, set()  # long: nodes whose inline text is over _INLINE characters
    pred = graph.preds
    for n, e in exprs.items():  # in topological order
        d = graph.nx.nodes[n]
        if d["op"] == "const":
            refs[n] = e
            continue
        if d.get("name"):
            label = d["name"]
        elif any(u in long for u in pred[n]):  # its text contains that operand's, so it is long too; printing
            label = None  # it would cost time quadratic in the depth of a long unnamed expression
        else:
            label = to_text(e)
        if label is None or len(label) > _INLINE:
            long.add(n)
            label = n
        refs[n] = var(n, label)
    return refs
