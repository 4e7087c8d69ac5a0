"""The chain rule along the paths of a graph: which edges carry ∂output/∂target, the paths themselves
(counted exactly, listed up to a limit) and the derivative as one expression.

Shared by render (the highlighted path and its caption) and explain. Iterative throughout.
"""

import passes
from irgraph.ir.expr import Expr, G, const, derivatives, substitute, var
from irgraph.ir.graph import Graph

from .names import is_pullback


def ancestors(graph, node):
    """`node` and every node it depends on."""
    return graph.ancestors([node])


def descendants(graph, node):
    """`node` and every node that depends on it."""
    return graph.descendants([node])


def path_edges(graph, output, target):
    """Every edge (u, v, key) on some path from `target` to `output`: the edges ∂output/∂target flows through."""
    up, down = ancestors(graph, output), descendants(graph, target)
    on = up & down
    return {(u, v, k) for u in on for v, keyed in graph.succs[u].items() if v in on for k in keyed}


def count_paths(graph, output, target):
    """How many paths lead from `target` to `output` (exact; may be astronomically many)."""
    on = ancestors(graph, output) & descendants(graph, target)
    ways = {target: 1}
    for n in graph.topo():
        if n in on and n != target:
            ways[n] = sum(ways.get(u, 0) * len(keyed) for u, keyed in graph.preds[n].items() if u in on)
    return ways.get(output, 0)


def paths(graph, output, target, limit=8):
    """Up to `limit` paths from the output back to `target`, each a list of edges (u, v, key), the edge
    into the output first: the order a lecture writes ∂L/∂ŷ · ∂ŷ/∂a₁ · ∂a₁/∂w₁."""
    on = ancestors(graph, output) & descendants(graph, target)
    if output not in on:
        return []
    pred = graph.preds
    found = []
    stack = [(output, [])]
    while stack and len(found) < limit:
        v, edges = stack.pop()
        if v == target:
            found.append(edges)
            continue
        step = [(u, k) for u, keyed in pred[v].items() if u in on for k in keyed]
        for u, k in reversed(step):
            stack.append((u, edges + [(u, v, k)]))
    return found


def derivative(graph, output, target):
    """∂output/∂target as an Expr over the graph's names, from the partials on its edges (attach_partials).

    The one symbolic reverse sweep (irgraph.ir.expr.derivatives) run over the graph itself: each equation
    on the way is a node whose partials are its edges' partials, so the result reads in the graph's names,
    ∂L/∂b·∂b/∂w + ∂L/∂b·∂b/∂a·∂a/∂w. Pullbacks are applied to the gradient arriving from above, starting
    from 1 at the output. Returns None when there is no path.
    """
    on = ancestors(graph, output) & descendants(graph, target)
    if output not in on:
        return None
    node, local = {target: var(target)}, {}
    for v in graph.topo():
        if v in on and v != target:
            ins = [(u, d["partial"]) for u, keyed in graph.preds[v].items() if u in on for d in keyed.values()]
            node[v] = Expr("equation", tuple(node[u] for u, _ in ins), v)
            local[node[v]] = tuple(p for _, p in ins)
    found = derivatives(node[output], [node[target]], local)[node[target]]
    return substitute(found, {G: const(1)}) if is_pullback(found) else found


def with_partials(graph, nodes=None, edges=None):
    """`graph`, or its subgraph on `nodes` or on `edges` (u, v, key), with every edge's local partial
    (passes.attach_partials). Taking only the edges a picture labels matters: at the equation level each
    partial walks its equation's whole right-hand side, so a 3,000-term sum costs 3,000 walks."""
    if edges is not None:
        graph = Graph(graph.nx.edge_subgraph(edges).copy())
    elif nodes is not None and len(nodes) < graph.nx.number_of_nodes():
        graph = Graph(graph.nx.subgraph(nodes).copy())
    part = passes.attach_partials(graph)
    if part.level == "equation":
        nodes = part.nx.nodes
        for _, v, d in part.nx.edges(data=True):
            rhs = nodes[v].get("expr")
            if rhs is not None and rhs.args:
                # the equation's own value by its name, as a lecture writes it: ∂p/∂z = p(1 − p) for
                # p = sigmoid(z), not sigmoid(z)·(1 − sigmoid(z)); ∂h/∂a = 1 − h² for h = tanh(a)
                d["partial"] = substitute(d["partial"], {rhs: var(v)})
    return part
