"""adjoint: add the reverse sweep. adj[x] = Σ over x's out-edges of (adj[child] combined with the edge partial).

Only edges on a path from a `wrt` input to the output are differentiated. Adjoints may stay "loose"
(broadcast larger than their node) along elementwise chains; they are summed back to their node's shape
(`sum_to`) only where that matters: where contributions meet, before a tensor pullback, and at the end.
"""

from irgraph.ir.expr import is_const
from irgraph.ir.graph import Graph, require_input
from irgraph.ir.ops import OPS
from irgraph.ir.rebuild import Extender
from irgraph.ir.sweep import reverse_sweep


def adjoint(graph: Graph, wrt) -> Graph:
    """Append adjoint nodes for the output with respect to the inputs `wrt`; record them in "grads"."""
    return _Sweep.extend(graph, wrt)


class _Sweep(Extender):
    role = "backward"

    def run(self, wrt):
        graph = self.graph
        out = graph.outputs[0]
        for name in wrt:
            require_input(graph, name)
        topo = graph.topo()  # its order decides the order of the backward nodes (and so of sums)
        active = graph.ancestors([out]) & graph.descendants(wrt)  # one walk from all inputs: linear
        key = self.shape_keys(topo)

        def combine(v, pieces):
            self.line = self.nodes[v].get("line")
            if v == out:
                return pieces[0]
            total = self.combine(pieces, v)
            current = self.nodes[total[0]].get("adj_of")
            if current is None or (current.startswith("%") and not v.startswith("%")):  # names win
                self.note(total[0], "adj_of", v)
            return total

        def pullback(v, adjoint):
            if v not in self.args:
                return []
            row = OPS[self.nodes[v]["op"]]
            g, exact = adjoint
            pieces = []
            for u, partial in zip(self.args[v], self.partials[v]):
                if u not in active or is_const(partial, 0):  # relu'' = 0; an operand read only for its shape
                    continue
                if row.kind == "tensor":
                    if not exact:  # a pullback needs the gradient at its node's exact shape
                        g, exact = self.new("sum_to", (g, v)), True
                    pieces.append((u, (self.instantiate(partial, g), True)))
                    continue
                if row.name == "pow" and is_const(partial, 0):  # x^0 contributes nothing, not g*0: as in
                    continue  # JAX, g = inf or NaN from further down must not make the gradient NaN
                if partial.op == "const" and partial.attr == 1.0:  # ∂(a + b)/∂a = 1: the gradient passes on as it is, no `g*1`
                    piece = g
                elif partial.op == "step" and partial.attr == (("at", 0.0),):  # relu's 0/1 multiplier
                    piece = self.new("gate", (g, self.instantiate(partial.args[0])))  # selects g
                else:
                    piece = self.new("mul", (g, self.instantiate(partial)))
                pieces.append((u, (piece, exact and key[u] == key[v])))
            return pieces

        seed = (self.new("const", value=1.0), True)
        order = [n for n in topo if n in active]
        adj = reverse_sweep(order, out, seed, pullback, combine) if out in active else {}
        grads = {}
        for name in wrt:
            self.line = None
            if name in adj:
                a, exact = adj[name]
                grads[name] = a if exact else self.new("sum_to", (a, name))
            else:  # the output does not depend on it
                grads[name] = self.new("zeros_like", (name,))
            self.note(grads[name], "grad_of", name)
        adjoints = {p: adj[n][0] for p, n in self.differentiated(topo).items() if n in adj}
        return self.finish(grads=grads, adjoints=adjoints)

    def differentiated(self, topo):
        """{node id as parsed: its node here} for the parsed nodes that are still a variable of their own:
        one merged with another (by CSE) or rewritten into one (x*1 → x) has no adjoint of its own here."""
        values = self.graph.meta.values or {n: n for n in topo if self.nodes[n]["op"] != "const"}
        seen = {}
        for n in values.values():
            seen[n] = seen.get(n, 0) + 1
        return {p: n for p, n in values.items() if seen[n] == 1}

    def combine(self, pieces, node):
        if len(pieces) == 1:
            return pieces[0]
        total = None
        for piece, exact in pieces:
            if not exact:
                piece = self.new("sum_to", (piece, node))
            total = piece if total is None else self.new("add", (total, piece))
        return total, True
