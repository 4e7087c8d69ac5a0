"""The annotated forward graph: the equation level (one node per input or named equation) and the op
level (one node per operation), every edge labelled with its local partial ∂child/∂parent."""


import passes
from irgraph.ir.expr import is_const, to_text
from irgraph.ir.graph import require_name

from . import chain, style, trim
from . import values as V
from .caption import caption, try_eval
from .names import Names, is_pullback, op_label, pretty, tree_size, with_constants
from .names import text as expr_text
from .scene import Scene, html_node, short, value_lines, wrap


def input_kind(name, wrt):
    if wrt is None:
        return "input"
    return "param" if name in wrt else "data"


def equation_scene(eq, wrt, highlight, numbers, op_counts=None):
    """The equation level: one node per input or named equation; `numbers` keyed by name."""
    out = eq.outputs[0]
    names = Names(eq.names(), out)
    L = names(out)
    target = require_name(eq, highlight, "variable") if highlight else None
    scene = Scene()

    on_path = chain.path_edges(eq, out, target) if target else set()
    total = eq.nx.number_of_nodes()
    first = trim.path_nodes_by_distance(eq, out, on_path) if on_path else ()
    kept, dropped = trim.select(eq, [out], first) if total > style.MAX_NODES else (set(eq.nx), {})
    scene.graph.update(style.LARGE_GRAPH if dropped else style.SMALL_FORWARD)

    nodes = eq.nx.nodes
    for n in eq.topo():
        if n not in kept:
            continue
        d = nodes[n]
        if d["op"] == "input":
            kind = input_kind(n, wrt)
            lines = value_lines(numbers, n, names, L, show_grad=kind != "data")
            scene.node(n, kind, html_node(names(n), lines, bold=False), html=True,
                       tooltip=f"input {n}" + (" (learned)" if kind == "param" else ""))
            continue
        big = tree_size(d["expr"], cap=10 * style.NODE_TEXT_CHARS) >= 10 * style.NODE_TEXT_CHARS
        rhs = pretty(d["expr"], names, as_written=True) if not big else f"{d['expr'].op}(…)"
        lines = [(wrap(rhs, style.NODE_TEXT_CHARS), style.MUTED, 10)] if rhs != names(n) else []
        if op_counts is not None:
            k = op_counts.get(d.get("line"), 0)
            lines.append((f"{k} op{'s' if k != 1 else ''}", style.MUTED, 9))
        lines += value_lines(numbers, n, names, L)
        scene.node(n, "output" if n == out else "equation", html_node(names(n), lines), html=True,
                   tooltip=f"line {d.get('line')}: {n} = {short(to_text(d['expr']), style.TOOLTIP_CHARS)}")
    # Partials for the labelled edges only: all of them in a small picture, the highlighted ones in a
    # large one (the others still say which derivative they carry in their tooltip).
    drawn = [(u, v, k) for u, v, k in eq.nx.edges(keys=True) if u in kept and v in kept]
    labels = not dropped and len(drawn) <= style.MAX_EDGE_LABELS
    labelled = drawn if labels else [e for e in drawn if e in on_path]
    partial = {}
    if labelled:
        part = chain.with_partials(eq, edges=labelled)
        partial = {(u, v, k): d["partial"] for u, v, k, d in part.nx.edges(keys=True, data=True)}
    for u, v, k in drawn:
        hl = (u, v, k) in on_path
        p = partial.get((u, v, k))
        if p is None:
            scene.edge(u, v, "highlight" if hl else "normal", tooltip=names.d(v, u))
            continue
        full = f"{names.d(v, u)} = {expr_text(p, names)}"
        if numbers.value and not is_pullback(p) and not is_const(p):
            x = try_eval(p, numbers.value)
            if x is not None and V.is_scalar(x):
                full += f" = {V.number(x)}"
        scene.edge(u, v, "highlight" if hl else "normal", label=wrap(full, style.LABEL_CHARS), tooltip=full)
    trim.summarise(scene, eq, kept, dropped, on_path, what="equation")
    if target:
        scene.caption = caption(eq, out, target, names, numbers)
    if dropped:
        scene.caption.append((trim.dropped_note(total, kept, dropped), style.MUTED))
    return scene




# ---- the annotated forward graph: op level ------------------------------------------------------------------

def op_count(graph):
    return sum(1 for _, d in graph.nx.nodes(data=True) if d["op"] not in ("input", "const"))


def ops_per_line(graph):
    counts = {}
    for _, d in graph.nx.nodes(data=True):
        if d["op"] not in ("input", "const"):
            counts[d.get("line")] = counts.get(d.get("line"), 0) + 1
    return counts



def _one_call(text):
    """True for `sin(u)`: a name and one bracket that closes at the end, which needs no more brackets."""
    head, _, rest = text.partition("(")
    if not head.isidentifier() or not rest.endswith(")"):
        return False
    depth = 1
    for ch in rest[:-1]:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            return False
    return True


def op_scene(graph, wrt, highlight, numbers):
    """The op level: one node per operation (constants written in their consumer's label); `numbers` by id."""
    out = graph.outputs[0]
    names = Names(graph.names(), out)
    L = names(out)
    target = require_name(graph, highlight, "variable") if highlight else None
    part = passes.attach_partials(graph)
    on_path = chain.path_edges(part, out, target) if target else set()
    scene = Scene()
    scene.graph.update(style.SMALL_FORWARD)
    nodes = graph.nx.nodes
    exprs, _ = graph.expressions()
    inline = {n: {} for n in graph.nx}  # constants written inside their consumer's label: {pos: value}
    for u, v, e in graph.nx.edges(data=True):
        if nodes[u]["op"] == "const" and not nodes[u].get("name"):
            inline[v][e["pos"]] = nodes[u]["value"]

    def said(n):
        """A node as a ∂ names it: its name, its short expression in brackets (∂(ŷ − y)), or its op."""
        if nodes[n].get("name") or nodes[n]["op"] == "input":
            return names(n)
        text = pretty(exprs[n], names, as_written=True)
        if len(text) > style.INLINE_CHARS:
            return f"({op_label(nodes[n]['op'])})"
        return text if _one_call(text) else f"({text})"

    for n in graph.topo():
        d = nodes[n]
        op, name = d["op"], d.get("name")
        if op == "const" and not name:
            continue  # drawn once per use, next to its consumer
        if op == "input":
            kind = input_kind(n, wrt)
            scene.node(n, kind, html_node(names(n), value_lines(numbers, n, names, L, kind != "data"),
                                           bold=False), html=True)
        elif name:
            what = f"= {V.number(d['value'])}" if op == "const" else with_constants(op, inline[n])
            lines = [(what, style.MUTED, 11)] + value_lines(numbers, n, names, L)
            scene.node(n, "output" if n == out else "named_op", html_node(names(n), lines), html=True,
                       tooltip=f"line {d.get('line')}: {name} ({op})")
        else:
            lines = value_lines(numbers, n, names, L, named=False)
            extra = {"shape": "box", "style": "rounded,filled"} if lines else {}
            scene.node(n, "op", html_node(with_constants(op, inline[n]), lines, bold=False), html=True,
                       tooltip=f"line {d.get('line')}: {op}", **extra)
    for u, v, k, d in part.nx.edges(keys=True, data=True):
        hl = (u, v, k) in on_path
        if nodes[u]["op"] == "const" and not nodes[u].get("name"):
            continue  # written in its consumer's label
        p = d.get("partial")
        # ∂child/∂parent first, so that labels meeting at one node each say which edge they belong to
        label = f"∂{said(v)}/∂{said(u)} = {expr_text(p, names)}" if p is not None else None
        scene.edge(u, v, "highlight" if hl else "normal", label=label and wrap(label, style.LABEL_CHARS),
                   tooltip=label)
    if target:
        scene.caption = caption(graph.equations(), out, target, names, numbers)
    return scene

