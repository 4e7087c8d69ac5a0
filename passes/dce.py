"""dce: drop every node the output and the gradients do not need."""

from irgraph.ir.graph import Graph, gc_paused


def dce(graph: Graph) -> Graph:
    """Keep only the ancestors of the outputs and gradients (and the inputs asked about)."""
    with gc_paused():
        nodes, args = graph.parts()
        roots = list(graph.nx.graph["outputs"]) + list(graph.nx.graph.get("grads", {}).values())
        live = graph.ancestors(roots)
        kept = {n: dict(d) for n, d in nodes.items() if n in live}
        return Graph.from_args(kept, {n: a for n, a in args.items() if n in live}, **graph.nx.graph)
