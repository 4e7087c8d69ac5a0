"""Large models: group nodes (per equation), keep the part nearest the output and summarise the rest in one
node, before any label is made, so a 10,000-node model costs about what a 150-node one does to draw."""

from irgraph.ir.graph import Graph

from . import style


def group(dag, key):
    """Merge nodes with equal key(n) into one node; key None drops the node. Returns (Graph, sizes)."""
    import networkx as nx

    g = dag.nx
    out = nx.DiGraph(outputs=[], level="grouped")
    members = {}
    keys = {}
    for n, d in g.nodes(data=True):
        k = key(n)
        keys[n] = k
        if k is None:
            continue
        members[k] = members.get(k, 0) + 1
        if k not in out:
            out.add_node(k, op=d["op"] if d["op"] == "input" else "group", name=d.get("name"),
                         role=d.get("role", "forward") if d["op"] != "input" else "input")
    for u, v in g.edges():
        ku, kv = keys[u], keys[v]
        if ku is None or kv is None or ku == kv:
            continue
        if out.has_edge(ku, kv):
            out.edges[ku, kv]["count"] += 1
        else:
            out.add_edge(ku, kv, count=1)
    grouped = Graph(out)
    grouped.nx.graph["outputs"] = []
    return grouped, members


def path_nodes_by_distance(graph, out, on_path):
    """The nodes of the highlighted paths, nearest the output first."""
    on = {u for u, _, _ in on_path} | {v for _, v, _ in on_path}
    dist, layer, order = {out: 0}, [out], [out]
    while layer:
        nxt = []
        for v in layer:
            for u in graph.preds[v]:
                if u in on and u not in dist:
                    dist[u] = dist[v] + 1
                    nxt.append(u)
                    order.append(u)
        layer = nxt
    return order


def select(graph, roots, first, budget=None, within=None):
    """Which nodes to draw when there are too many: those nearest the roots (breadth first, up the
    operands, only through `within` when given), the highlighted path's first, at most `budget`
    (style.MAX_NODES) of them and at most style.MAX_RANKS columns deep. Returns (kept set, {dropped: None})."""
    pred, succ = graph.preds, graph.succs
    budget = budget or style.MAX_NODES
    kept = dict.fromkeys(roots)
    for n in first:
        if len(kept) >= budget // 2:
            break
        kept[n] = None
    layer, seen = list(kept), set(kept)
    while layer and len(kept) < budget:
        nxt = []
        for v in layer:
            for u in pred[v]:
                if u not in seen and (within is None or u in within):
                    seen.add(u)
                    nxt.append(u)
                    if len(kept) < budget:
                        kept[u] = None
        layer = [u for u in nxt if u in kept]
    # Never more than MAX_RANKS columns: a node's column is its longest distance to a root.
    order = [n for n in graph.topo() if n in kept]
    rank = {}
    for n in reversed(order):
        r = [rank[s] + 1 for s in succ[n] if s in rank]
        rank[n] = max(r) if r else 0
    kept = {n for n in order if rank[n] <= style.MAX_RANKS}
    dropped = {n: None for n in graph.nx if n not in kept}
    return kept, dropped


def summarise(scene, graph, kept, dropped, on_path, what, ids=str):
    """One node standing for everything not drawn, with an edge into each drawn node it feeds."""
    if not dropped:
        return
    nodes = graph.nx.nodes
    n_inputs = sum(1 for n in dropped if nodes[n]["op"] == "input")
    rest = len(dropped) - n_inputs
    kinds = [f"{rest:,} {what}{'s' if rest != 1 else ''}"] if rest else []
    if n_inputs:
        kinds.append(f"{n_inputs:,} input{'s' if n_inputs != 1 else ''}")
    scene.node("__more__", "summary", f"… {len(dropped):,} more not drawn\n({', '.join(kinds)})")
    hl_into = {v for u, v, _ in on_path if u in dropped}
    for v in sorted((v for v in kept if any(u in dropped for u in graph.preds[v])), key=str):
        scene.edge("__more__", ids(v), "highlight" if v in hl_into else "summary",
                   **({"style": "dashed"} if v in hl_into else {}))


def dropped_note(total, kept, dropped):
    return (f"{total:,} nodes: the {len(kept):,} nearest the output are drawn, {len(dropped):,} are summarised "
            "(draw a part with --output NAME)")

