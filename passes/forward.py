"""forward: forward mode. ṫ[v] = Σ over v's operands u of ṫ[u] pushed through the edge's partial.

One tangent input per `wrt` input (the direction ẋ), then tangents flow along the edges in topological
order, read from the same partials the reverse sweep reads: an elementwise partial is a multiplier
(ṫ[v] += ∂v/∂u · ṫ[u]); a tensor edge's pullback, transposed by the table's own rules
(expr.pushforward), carries ṫ[u] forward (`g ↦ g @ bᵀ` becomes `t ↦ t @ b`).

It runs on any op-level graph, a compiled gradient graph too: the tangents of the gradients are then
Hessian-vector products (forward over reverse). Tangents may stay "loose" (smaller than their node, to be
broadcast) along elementwise chains; they are brought to their node's shape before a tensor op and at the end.
"""

from irgraph.ir.expr import is_const, pushforward, var
from irgraph.ir.graph import Graph, require_input
from irgraph.ir.ops import OPS
from irgraph.ir.rebuild import Extender


def forward(graph: Graph, wrt) -> Graph:
    """Add tangent inputs for `wrt` and the tangents of the gradients (else of the output).

    Records graph attributes "tangent_inputs" ({input name: node}) and "hvp" ({input name: tangent of
    its gradient}) on a compiled graph, or "jvp" (the tangent of the output) on a forward-only one.
    """
    return _Tangents.extend(graph, wrt)


class _Tangents(Extender):
    role = "tangent"

    def run(self, wrt):
        graph = self.graph
        for name in wrt:
            require_input(graph, name)
        out = graph.outputs[0]
        grads = graph.meta.grads
        roots = list(grads.values()) if grads else [out]
        topo = graph.topo()
        active = graph.descendants(wrt) & graph.ancestors(roots)
        key = self.shape_keys(topo)

        inputs = {name: self.new("input", tangent_of=name) for name in wrt}
        tan = {name: (node, True) for name, node in inputs.items()}  # node -> (tangent node, exact shape)
        for v in topo:
            if v not in active or v in tan or v not in self.args:
                continue
            row = OPS[self.nodes[v]["op"]]
            self.line = self.nodes[v].get("line")
            pieces = []
            for u, partial in zip(self.args[v], self.partials[v]):
                if u not in tan or is_const(partial, 0):
                    continue
                t, exact = tan[u]
                if row.kind == "tensor":
                    step = pushforward(partial, var(v))
                    if step is None:
                        continue
                    if not exact:  # a tensor op needs its operand's tangent at the operand's own shape
                        t, exact = self.new("sum_to", [t, u]), True
                        tan[u] = (t, True)
                    pieces.append((self.instantiate(step, t), True))
                else:
                    piece = t if is_const(partial, 1.0) else self.new("mul", [self.instantiate(partial), t])
                    pieces.append((piece, exact and key[u] == key[v]))
            if pieces:
                tan[v] = self.combine(pieces)
                self.note(tan[v][0], "tan_of", v, only_if_unset=True)

        self.line = None
        if grads:
            found = {name: self.root(tan.get(n), name) for name, n in grads.items()}
            return self.finish(tangent_inputs=inputs, hvp=found)
        return self.finish(tangent_inputs=inputs, jvp=self.root(tan.get(out), out))

    def combine(self, pieces):
        total, exact = pieces[0]
        for piece, piece_exact in pieces[1:]:
            total, exact = self.new("add", [total, piece]), exact or piece_exact
        return total, exact

    def root(self, found, like):
        """A wanted tangent at the shape of `like`: zeros when nothing on the way depends on wrt."""
        if found is None:
            return self.new("zeros_like", [like])
        t, exact = found
        return t if exact else self.new("sum_to", [t, like])
