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
        nodes, args = graph.parts()
        found = {}
        if graph.level == "equation":
            for v, ops in args.items():
                if nodes[v].get("expr") is None:
                    continue
                ds = derivatives(nodes[v]["expr"], [var(u) for u in ops])  # one sweep per equation
                found[v] = tuple(ds[var(u)] for u in ops)
        else:
            refs = _references(graph)
            for v, ops in args.items():
                d = nodes[v]
                row = OPS[d["op"]]
                if row.partials is None:
                    continue
                found[v] = tuple(row.partials(E, *(refs[a] for a in ops), refs[v], **dict(d.get("params", ()))))
        if not graph.nx_built:  # tables in, tables out: the attribute dicts are shared, never changed
            return Graph.from_args(nodes, args, found, ordered=graph.ordered, **vars(graph.meta))
        out = Graph(graph.nx.copy())  # a networkx graph in (a subgraph, say): its own edge keys are kept
        for v, ps in found.items():
            order = sorted(out.nx.in_edges(v, keys=True, data=True), key=lambda e: e[3]["pos"])
            for (_, _, _, e), p in zip(order, ps):
                e["partial"] = p
        return out


def _references(graph):
    """Each node as a `var` leaf, labelled by its name, its number, or its expression when short."""
    refs, long = {}, set()  # long: nodes whose inline text is over _INLINE characters
    inline = {}  # how a node reads inside its users' expressions (as Graph.expressions has it)
    nodes, args = graph.parts()
    for n in graph.order():
        d = nodes[n]
        if d["op"] == "const":
            refs[n] = inline[n] = var(d["name"]) if d.get("name") else E.const(d["value"])
            continue
        ops = args.get(n, ())
        if d.get("name"):
            label = d["name"]
            inline[n] = var(label)
        elif any(u in long for u in ops):  # its text contains that operand's, so it is long too; printing
            label = None  # it would cost time quadratic in the depth of a long unnamed expression
        else:  # operands of a short expression are never long, so their inline forms exist
            inline[n] = E.Expr(d["op"], tuple([inline[a] for a in ops]), d.get("params", ()))
            label = to_text(inline[n])
        if label is None or len(label) > _INLINE:
            long.add(n)
            label = n
        refs[n] = var(n, label)
    return refs
