"""The scene every picture is built as (nodes and edges with a *kind* and a label) and its DOT emission.

Views build a `Scene`; `emit` turns it into a graphviz.Digraph with the colours of viz/style.py, so no view
spells a colour or a DOT attribute itself.
"""

import html
import textwrap

import graphviz

from . import style
from . import values as V

# ---- the scene ----------------------------------------------------------------------------------------------

class Scene:
    def __init__(self):
        self.nodes = {}  # id -> dict(kind, label, html, tooltip, cluster, attrs)
        self.edges = []  # (u, v, dict(kind, label, tooltip, attrs))
        self.caption = []  # (text, colour) lines under the picture
        self.graph = {}

    def node(self, id, kind, label, html=False, tooltip=None, cluster=None, **attrs):
        self.nodes[id] = {"kind": kind, "label": label, "html": html, "tooltip": tooltip, "cluster": cluster,
                         "attrs": attrs}

    def edge(self, u, v, kind="normal", label=None, tooltip=None, **attrs):
        self.edges.append((u, v, {"kind": kind, "label": label, "tooltip": tooltip, "attrs": attrs}))


def emit(scene, prefix=None):
    """The scene as a graphviz.Digraph. prefix: give every node and edge an SVG id (prefix + "n-" + node id,
    prefix + "e" + edge number), for the interactive page's script."""
    dg = graphviz.Digraph("irgraph", graph_attr={**style.GRAPH, **layout(scene), **scene.graph},
                          node_attr=style.NODE_DEFAULT, edge_attr=style.EDGE_DEFAULT)
    clusters = {}
    for name in style.CLUSTER:
        if any(n["cluster"] == name for n in scene.nodes.values()):
            clusters[name] = graphviz.Digraph(f"cluster_{name}", graph_attr={**style.CLUSTER[name],
                                                                             "labeljust": "l", "labelloc": "t"})
    for id, n in scene.nodes.items():
        attrs = dict(style.NODE[n["kind"]])
        attrs.update(n["attrs"])
        attrs["label"] = f"<{n['label']}>" if n["html"] else n["label"]
        if n["tooltip"]:
            attrs["tooltip"] = short(n["tooltip"], style.TOOLTIP_CHARS)
        if prefix:
            attrs["id"] = f"{prefix}n-{id}"
        (clusters[n["cluster"]] if n["cluster"] else dg).node(str(id), **attrs)
    for c in clusters.values():
        dg.subgraph(c)
    for i, (u, v, e) in enumerate(scene.edges):
        attrs = dict(style.EDGE_KIND[e["kind"]])
        if prefix:
            attrs["id"] = f"{prefix}e{i}"
        attrs.update(e["attrs"])
        if e["label"]:
            # An HTML label with an empty row under the text: the edge then passes below its label
            # instead of through it (rankdir=LR puts the label's middle on the edge).
            rows = "".join(f'<TR><TD ALIGN="LEFT">{esc(t)}</TD></TR>' for t in e["label"].split("\n"))
            attrs["label"] = (f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0">{rows}'
                              f'<TR><TD HEIGHT="{style.LABEL_GAP}"></TD></TR></TABLE>>')
        if e["tooltip"]:
            attrs["tooltip"] = attrs["labeltooltip"] = short(e["tooltip"], style.TOOLTIP_CHARS)
        dg.edge(str(u), str(v), **attrs)
    if scene.caption:
        rows = "".join(f'<FONT COLOR="{colour}">{esc(line)}</FONT><BR ALIGN="LEFT"/>'
                       for t, colour in scene.caption for line in t.split("\n"))
        dg.attr(label=f"<{rows}>", fontsize=style.CAPTION_SIZE)
    return dg


def layout(scene):
    """Direction and size from the graph's shape: left to right while it has few columns (as a lecture draws
    it), top to bottom for long chains, which would otherwise be a wide, mostly empty staircase; and never
    wider than style.MAX_WIDTH_IN (Graphviz scales a larger drawing down to it)."""
    succ = {n: [] for n in scene.nodes}
    waiting = dict.fromkeys(scene.nodes, 0)
    for u, v, _ in scene.edges:
        if u in succ and v in waiting:
            succ[u].append(v)
            waiting[v] += 1
    rank = {n: 0 for n, k in waiting.items() if k == 0}
    sources = list(rank)
    order = list(rank)
    for n in order:  # Kahn's order; the list grows while we walk it
        for m in succ[n]:
            rank[m] = max(rank.get(m, 0), rank[n] + 1)
            waiting[m] -= 1
            if waiting[m] == 0:
                order.append(m)
    for n in sources:  # a source sits just before its first user, as dot places it
        if succ[n]:
            rank[n] = min(rank[m] for m in succ[n]) - 1
    columns = max(rank.values(), default=0) + 1
    per_rank = {}
    for r in rank.values():
        per_rank[r] = per_rank.get(r, 0) + 1
    widest = max(per_rank.values(), default=1)
    tall = columns > style.MAX_LR_RANKS and columns > widest
    return {"rankdir": "TB" if tall else "LR", "size": f"{style.MAX_WIDTH_IN},{style.MAX_HEIGHT_IN}"}


def esc(text):
    return html.escape(text, quote=False)


def short(text, limit):
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def wrap(text, width, max_lines=style.MAX_LABEL_LINES):
    """`text` on lines of about `width` characters, broken between terms (at spaces), continuation lines
    indented; a text longer than `max_lines` lines ends in "…" (its tooltip has it whole)."""
    lines = textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = short(lines[-1] + " …", width + 2)
    return "\n".join(lines)


def html_node(title, lines=(), bold=True):
    """An HTML-like label: the title, then (text, colour, size) lines."""
    out = f"<B>{esc(title)}</B>" if bold else esc(title)
    for text, colour, size in lines:
        for line in text.split("\n"):  # a wrapped line
            out += f'<BR/><FONT COLOR="{colour}" POINT-SIZE="{size}">{esc(line)}</FONT>'
    return out


def value_lines(numbers, node, names, out_name, show_grad=True, named=True):
    lines = []
    if node in numbers.value:
        lines.append((f"= {V.show(numbers.value[node])}", style.VALUE, 11))
    if show_grad and node in numbers.grad:
        who = f"∂{out_name}/∂{names(node)}" if named else "grad"
        lines.append((f"{who} = {V.show(numbers.grad[node])}", style.GRAD, 11))
    return lines
