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
            refs = _references(graph, nodes, args)
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


def _references(graph, nodes, args):
    """Each node as a `var` leaf, labelled by its name, its number, or its expression when short.

    On tables (the compiler's graphs) an unnamed node's label is printed only when read (expr.Ref), except
    a tensor op's: passes.forward's pushforward stands var(node) in for it, which must stay the same Expr
    exactly when the label is the node's id. A networkx graph may be edited later: printed now.
    """
    label_of = _Labels(nodes, args)  # (on tables: the dicts the output graph takes over, never changed)
    lazy = not graph.nx_built
    refs = {}
    for n, d in nodes.items():
        op = d["op"]
        if op == "const":
            refs[n] = var(d["name"]) if d.get("name") else E.const(d["value"])
        elif lazy and not d.get("name") and op in OPS and OPS[op].kind != "tensor":
            refs[n] = E.Ref(n, label_of)
        else:
            refs[n] = var(n, label_of(n))
    return refs


class _Labels:
    """label_of(node): a node's name, else its expression in model syntax (as Graph.expressions inlines it)
    when that is at most _INLINE characters, else its id. Printed on first request, operands first, with
    an explicit stack (no recursion)."""

    def __init__(self, nodes, args):
        self.nodes, self.args = nodes, args
        self.inline = {}  # node -> how it reads inside its users' expressions; None: long (its users are long too)
        self.labels = {}

    def __call__(self, n):
        found = self.labels.get(n)
        if found is None:
            name = self.nodes[n].get("name")
            if name:  # a name reads the same whatever its operands: nothing to print
                return name if len(name) <= _INLINE else n
            self._print(n)
            found = self.labels[n]
        return found

    def _print(self, root):
        nodes, args, inline, labels = self.nodes, self.args, self.inline, self.labels
        stack = [root]
        while stack:
            n = stack[-1]
            if n in inline:
                stack.pop()
                continue
            d = nodes[n]
            ops = args.get(n, ())
            if d["op"] == "const":
                inline[n] = var(d["name"]) if d.get("name") else E.const(d["value"])
            elif d.get("name"):  # a name reads the same whatever its operands
                inline[n] = var(d["name"])
                labels[n] = d["name"]
            else:
                todo = [u for u in ops if u not in inline]
                if todo:
                    stack.extend(todo)
                    continue
                if any(inline[u] is None for u in ops):  # its text contains that operand's, so it is long too:
                    labels[n] = None  # printing it would cost time quadratic in the depth of a long expression
                else:
                    inline[n] = E.Expr(d["op"], tuple([inline[a] for a in ops]), d.get("params", ()))
                    labels[n] = to_text(inline[n])
            stack.pop()
            label = labels.get(n, "")
            if label is None or len(label) > _INLINE:
                inline[n] = None
                labels[n] = n
