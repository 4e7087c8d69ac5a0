"""dce: drop every node the output, the gradients and the tangents do not need."""

from irgraph.ir.graph import Graph, gc_paused


def dce(graph: Graph) -> Graph:
    """Keep only the ancestors of the outputs, gradients and tangents (and the inputs asked about)."""
    with gc_paused():
        meta = graph.meta
        tangents = meta.tangent_inputs or {}  # directions, and the inputs they go with (used or not, like grads)
        roots = (graph.outputs + list(graph.grads.values()) + list((meta.hvp or {}).values()) + list(tangents.values())
                 + list(tangents) + ([meta.jvp] if meta.jvp is not None else []))
        live = graph.ancestors(roots)
        if len(live) == graph.number_of_nodes():
            return graph  # nothing to drop (a pure pass may hand back its unchanged input)
        nodes, args = graph.parts()
        kept = {n: d for n, d in nodes.items() if n in live}  # attribute dicts shared: nothing changes them
        partials = graph.partials()
        if partials is not None:
            partials = {n: p for n, p in partials.items() if n in live}
        meta = vars(graph.meta)
        for key in ("values", "adjoints"):  # what the pictures read: only what the program still computes
            if meta[key] is not None:
                meta = dict(meta, **{key: {k: n for k, n in meta[key].items() if n in live}})
        return Graph.from_args(kept, {n: a for n, a in args.items() if n in live}, partials, ordered=graph.ordered,
                                **meta)
