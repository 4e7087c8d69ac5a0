"""Graph or Program → graphviz.Digraph → svg / png / pdf / dot.

Four views, one per stage of the compiler:

- the annotated forward graph at the equation level (the default): inputs and named equations, every edge
  labelled with its local partial ∂child/∂parent; `highlight` colours every path from the output back to
  one variable and captions the chain rule along it;
- the same at the op level (`ops=True`), one node per operation;
- the compiled graph (`stage="backward"`): forward and adjoint nodes in two clusters, values that are
  computed once and used many times drawn with a heavy border and "used ×k";
- the scheduled program (`stage="program"`): one node per instruction.

Every view first builds a `Scene` (nodes and edges with a *kind* and a label); `emit` turns it into DOT with
the colours of viz/style.py. Large models are grouped per equation and cut to the part nearest the output
(`_select`) before any label is made, so a 10,000-node model costs about what a 150-node one does to draw.
"""

import html
import os
from collections.abc import Mapping

import graphviz
import numpy as np

import passes
from irgraph.backends.execute import Result
from irgraph.ir.errors import Error
from irgraph.ir.expr import is_const, to_text
from irgraph.ir.graph import Graph, require_name
from irgraph.ir.parse import parse
from irgraph.ir.program import Program

from . import chain, style
from . import values as V
from .names import Names, is_pullback, pretty, tree_size
from .names import text as expr_text

FORMATS = ("svg", "png", "pdf", "dot", "gv")
STAGES = ("forward", "backward", "program")

INSTALL_GRAPHVIZ = (
    "Graphviz's `dot` program is needed to write {fmt} files but was not found on PATH. Install Graphviz "
    "(the system package, not only the Python binding): `sudo apt-get install graphviz` on Debian/Ubuntu, "
    "`brew install graphviz` on macOS, `conda install -c conda-forge graphviz`, or `make dot` in this "
    "repository; check with `dot -V`. A .dot file needs no Graphviz: `-o picture.dot`."
)

OP_SYMBOL = {"add": "+", "sub": "−", "mul": "×", "div": "÷", "pow": "^", "neg": "−x", "matmul": "@",
             "sum_to": "sum to shape", "unsum": "bcast", "mm_left": "g@Bᵀ", "mm_right": "Aᵀ@g", "id": "=",
             "full_like": "fill"}


# ---- the public functions ---------------------------------------------------------------------------------

def render(obj, path, highlight=None, values=None, stage="forward", ops=False, wrt=None, inputs=None):
    """Draw `obj` (an irgraph.Graph of either level, or a Program) to `path`; the format is its suffix
    (.svg .png .pdf, or .dot for the Graphviz source, which needs no Graphviz). Returns the path.

    highlight: a name; every path from the output back to it is coloured, with the chain rule as caption.
    values: a Result (the output's value and the gradients) and/or a dict of input values; with input
    values every node shows its value and its gradient. stage: "forward", "backward" or "program".
    ops: the op level instead of the equation level. wrt: the inputs being learned (drawn as parameters).
    """
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
    if fmt not in FORMATS:
        raise Error(f"cannot tell the image format from {path!r}: use a name ending in "
                    f"{', '.join('.' + f for f in FORMATS[:4])}")
    digraph = to_digraph(obj, highlight=highlight, values=values, stage=stage, ops=ops, wrt=wrt, inputs=inputs)
    if fmt in ("dot", "gv"):
        data = digraph.source.encode("utf-8")
    else:
        try:
            data = graphviz.pipe("dot", fmt, digraph.source.encode("utf-8"), quiet=True)
        except graphviz.ExecutableNotFound:
            raise Error(INSTALL_GRAPHVIZ.format(fmt=fmt.upper())) from None
        except graphviz.CalledProcessError as e:
            detail = (e.stderr or b"").decode("utf-8", "replace").strip().splitlines()
            raise Error(f"Graphviz could not draw {path}: {detail[-1] if detail else e}") from None
    with open(path, "wb") as f:
        f.write(data)
    return path


def to_digraph(obj, highlight=None, values=None, stage="forward", ops=False, wrt=None, inputs=None):
    """The picture as a graphviz.Digraph (same options as `render`); Jupyter shows it inline."""
    if stage not in STAGES:
        raise Error(f"unknown stage {stage!r}: choose one of {', '.join(STAGES)}")
    result, inputs = _split_values(values, inputs)
    if isinstance(wrt, str):
        wrt = [w.strip() for w in wrt.split(",") if w.strip()]
    opts = {"highlight": highlight, "result": result, "inputs": inputs}
    if isinstance(obj, Program):
        scene = _compiled_scene(obj.graph, obj if stage != "backward" else None, **opts)
    elif isinstance(obj, Graph):
        compiled = "grads" in obj.nx.graph
        if stage == "forward" and not compiled:
            if obj.level == "equation":
                scene = _equation_scene(obj, wrt=wrt, **opts)
            elif ops and _op_count(obj) <= style.GROUP_AT:
                scene = _op_scene(obj, wrt=wrt, **opts)
            else:
                scene = _equation_scene(obj.equations(), wrt=wrt, op_counts=_ops_per_line(obj) if ops else None,
                                        op_graph=obj, **opts)
        else:
            if obj.level == "equation":
                raise Error(f"stage {stage!r} draws the compiled program: give the op-level graph from "
                            "irgraph.parse, not the equation level")
            program = passes.schedule(obj) if compiled else passes.compile_program(obj, wrt)
            scene = _compiled_scene(program.graph, program if stage == "program" else None, **opts)
    else:
        raise Error(f"render draws an irgraph.Graph or Program, not {type(obj).__name__}")
    return _emit(scene)


# ---- values ----------------------------------------------------------------------------------------------

def _split_values(values, inputs):
    """(Result or None, input dict or None) from the `values` and `inputs` arguments."""
    result = None
    if values is None:
        pass
    elif isinstance(values, Result) or (hasattr(values, "value") and hasattr(values, "grads")):
        result = values
    elif isinstance(values, Mapping):
        inputs = values if inputs is None else {**values, **inputs}
    else:
        raise Error(f"values must be a Result (from Program.run) or a dict of input values, "
                    f"not {type(values).__name__}")
    if inputs is not None and not isinstance(inputs, Mapping):
        raise Error(f"inputs must be a dict of input values, not {type(inputs).__name__}")
    if result is not None:
        result = result.to_numpy() if hasattr(result, "to_numpy") else result
    return result, (dict(inputs) if inputs is not None else None)


class _Numbers:
    """What one view knows about values: node → forward value, node → adjoint (∂output/∂node)."""

    def __init__(self, value=None, grad=None):
        self.value, self.grad = value or {}, grad or {}

    def __bool__(self):
        return bool(self.value or self.grad)


# ---- the scene ----------------------------------------------------------------------------------------------

class _Scene:
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


def _emit(scene):
    dg = graphviz.Digraph("irgraph", graph_attr={**style.GRAPH, **scene.graph},
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
            attrs["tooltip"] = _short(n["tooltip"], style.TOOLTIP_CHARS)
        (clusters[n["cluster"]] if n["cluster"] else dg).node(str(id), **attrs)
    for c in clusters.values():
        dg.subgraph(c)
    for u, v, e in scene.edges:
        attrs = dict(style.EDGE_KIND[e["kind"]])
        attrs.update(e["attrs"])
        if e["label"]:
            # An HTML label with an empty row under the text: the edge then passes below its label
            # instead of through it (rankdir=LR puts the label's middle on the edge).
            attrs["label"] = (f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="0"><TR><TD>{_esc(e["label"])}'
                              f'</TD></TR><TR><TD HEIGHT="{style.LABEL_GAP}"></TD></TR></TABLE>>')
        if e["tooltip"]:
            attrs["tooltip"] = attrs["labeltooltip"] = _short(e["tooltip"], style.TOOLTIP_CHARS)
        dg.edge(str(u), str(v), **attrs)
    if scene.caption:
        rows = "".join(f'<FONT COLOR="{colour}">{_esc(t)}</FONT><BR ALIGN="LEFT"/>' for t, colour in scene.caption)
        dg.attr(label=f"<{rows}>", fontsize=style.CAPTION_SIZE)
    return dg


def _esc(text):
    return html.escape(text, quote=False)


def _short(text, limit):
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _html_node(title, lines=(), bold=True):
    """An HTML-like label: the title, then (text, colour, size) lines."""
    out = f"<B>{_esc(title)}</B>" if bold else _esc(title)
    for text, colour, size in lines:
        out += f'<BR/><FONT COLOR="{colour}" POINT-SIZE="{size}">{_esc(text)}</FONT>'
    return out


def _value_lines(numbers, node, names, out_name, show_grad=True, named=True):
    lines = []
    if node in numbers.value:
        lines.append((f"= {V.show(numbers.value[node])}", style.VALUE, 11))
    if show_grad and node in numbers.grad:
        who = f"∂{out_name}/∂{names(node)}" if named else "grad"
        lines.append((f"{who} = {V.show(numbers.grad[node])}", style.GRAD, 11))
    return lines


def _input_kind(name, wrt):
    if wrt is None:
        return "input"
    return "param" if name in wrt else "data"


# ---- the annotated forward graph: equation level -----------------------------------------------------------

def _equation_scene(eq, wrt, highlight, result, inputs, op_counts=None, op_graph=None):
    out = eq.outputs[0]
    names = Names(eq.names(), out)
    L = names(out)
    target = require_name(eq, highlight, "variable") if highlight else None
    scene = _Scene()

    on_path = chain.path_edges(eq, out, target) if target else set()
    total = eq.nx.number_of_nodes()
    first = _path_nodes_by_distance(eq, out, on_path) if on_path else ()
    kept, dropped = _select(eq, [out], first) if total > style.MAX_NODES else (set(eq.nx), {})
    scene.graph.update(style.LARGE_GRAPH if dropped else style.SMALL_FORWARD)

    numbers = _equation_numbers(eq, out, result, inputs, op_graph)
    nodes = eq.nx.nodes
    for n in eq.topo():
        if n not in kept:
            continue
        d = nodes[n]
        if d["op"] == "input":
            kind = _input_kind(n, wrt)
            lines = _value_lines(numbers, n, names, L, show_grad=kind != "data")
            scene.node(n, kind, _html_node(names(n), lines, bold=False), html=True,
                       tooltip=f"input {n}" + (" (learned)" if kind == "param" else ""))
            continue
        big = tree_size(d["expr"], cap=10 * style.NODE_TEXT_CHARS) >= 10 * style.NODE_TEXT_CHARS
        rhs = pretty(d["expr"], names) if not big else f"{d['expr'].op}(…)"
        lines = [(_short(rhs, style.NODE_TEXT_CHARS), style.MUTED, 10)] if rhs != names(n) else []
        if op_counts is not None:
            k = op_counts.get(d.get("line"), 0)
            lines.append((f"{k} op{'s' if k != 1 else ''}", style.MUTED, 9))
        lines += _value_lines(numbers, n, names, L)
        scene.node(n, "output" if n == out else "equation", _html_node(names(n), lines), html=True,
                   tooltip=f"line {d.get('line')}: {n} = {_short(to_text(d['expr']), style.TOOLTIP_CHARS)}")
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
            x = _try_eval(p, numbers.value)
            if x is not None and V.is_scalar(x):
                full += f" = {V.number(x)}"
        scene.edge(u, v, "highlight" if hl else "normal", label=_short(full, style.LABEL_CHARS), tooltip=full)
    _summarise(scene, eq, kept, dropped, on_path, what="equation")
    if target:
        scene.caption = _caption(eq, out, target, names, numbers)
    if dropped:
        scene.caption.append((_dropped_note(total, kept, dropped), style.MUTED))
    return scene


def _equation_numbers(eq, out, result, inputs, op_graph=None):
    """Forward values and adjoints of every equation-level node, from input values (and/or a Result).

    With the op-level graph at hand the sweep runs there (linear in the model's size, however long an
    equation is); named op-level nodes have the same ids as the equation-level nodes.
    """
    value, grad = {}, {}
    if inputs is not None and op_graph is not None:
        value = V.forward(op_graph, inputs)
        grad = V.op_adjoints(op_graph, value, out)
        value = {n: x for n, x in value.items() if n in eq.nx}
        grad = {n: x for n, x in grad.items() if n in eq.nx}
    elif inputs is not None:
        value = V.forward(eq, inputs)
        grad = V.adjoints(chain.with_partials(eq), value, out)
    if result is not None:
        value.setdefault(out, result.value)
        for name, g in result.grads.items():
            if name in eq.nx:
                grad[name] = g
        if np.size(result.value) == 1:
            grad.setdefault(out, np.ones_like(np.asarray(result.value, dtype=float)))
    return _Numbers(value, grad)


def _try_eval(expr, env):
    try:
        with np.errstate(all="ignore"):
            return V.eval_expr(expr, env)
    except Exception:  # noqa: BLE001 - a label's number is a nicety; the node values already report real errors
        return None


# ---- the caption: the chain rule along the highlighted paths ------------------------------------------------

MAX_CAPTION_PATHS = 4
MAX_CAPTION_FACTORS = 8
CAPTION_WIDTH = 100
CAPTION_LINE = 150


def _caption(eq, out, target, names, numbers):
    L, W = names(out), names(target)
    head = f"∂{L}/∂{W}"
    if target == out:
        return [(f"{head} = 1", style.HIGHLIGHT)]
    on = chain.ancestors(eq, out) & chain.descendants(eq, target)
    if out not in on:
        return [(f"{head} = 0   ({names(out)} does not depend on {W})", style.HIGHLIGHT)]
    part = chain.with_partials(eq, on)
    total = chain.count_paths(part, out, target)
    paths = chain.paths(part, out, target, limit=MAX_CAPTION_PATHS)
    partial = {(u, v, k): d["partial"] for u, v, k, d in part.nx.edges(keys=True, data=True)}

    def elide(items):
        if len(items) <= MAX_CAPTION_FACTORS + 1:
            return items
        keep = MAX_CAPTION_FACTORS // 2
        return items[:keep] + [f"… ({len(items) - 2 * keep} more) …"] + items[-keep:]

    more = [f"… ({total - len(paths):,} more paths)"] if total > len(paths) else []
    rows = [[" · ".join(elide([names.d(v, u) for u, v, _ in p])) for p in paths] + more,
            [" · ".join(elide([_factor(partial[e], names) for e in p])) for p in paths] + more]
    if numbers.value and not more:
        nums = []
        for p in paths:
            xs = [None if is_pullback(partial[e]) else _try_eval(partial[e], numbers.value) for e in p]
            if any(x is None or not V.is_scalar(x) for x in xs):
                nums = None
                break
            nums.append(" · ".join(elide([V.number(x) for x in xs])))
        if nums:
            rows.append(nums)
    if target in numbers.grad:
        rows.append([V.show(numbers.grad[target])])
    rows = [r for i, r in enumerate(rows) if i == 0 or r != rows[i - 1]]
    one = f"{head} = " + " = ".join(" + ".join(r) for r in rows)
    if len(one) <= CAPTION_WIDTH:
        lines = [one]
    else:  # one term per line, each "=" step under the first
        pad = " " * (len(head) + 1)
        lines = []
        for i, r in enumerate(rows):
            for j, term in enumerate(r):
                lead = (f"{head} = " if i == 0 else f"{pad}= ") if j == 0 else f"{pad}  + "
                lines.append(_short(lead + term, CAPTION_LINE))
    caption = [(t, style.HIGHLIGHT) for t in lines]
    if any(is_pullback(partial[e]) for p in paths for e in p):
        caption.append(("g ↦ …: a vector-Jacobian product of the gradient arriving from above", style.MUTED))
    return caption


def _factor(p, names):
    t = expr_text(p, names)
    if is_pullback(p):
        return f"[{t}]"
    return f"({t})" if p.op in ("add", "sub") else t


# ---- the annotated forward graph: op level ------------------------------------------------------------------

def _op_count(graph):
    return sum(1 for _, d in graph.nx.nodes(data=True) if d["op"] not in ("input", "const"))


def _ops_per_line(graph):
    counts = {}
    for _, d in graph.nx.nodes(data=True):
        if d["op"] not in ("input", "const"):
            counts[d.get("line")] = counts.get(d.get("line"), 0) + 1
    return counts


def _op_label(op):
    return OP_SYMBOL.get(op, op)


def _op_scene(graph, wrt, highlight, result, inputs):

    out = graph.outputs[0]
    names = Names(graph.names(), out)
    L = names(out)
    target = require_name(graph, highlight, "variable") if highlight else None
    part = passes.attach_partials(graph)
    on_path = chain.path_edges(part, out, target) if target else set()
    numbers = _Numbers()
    if inputs is not None:
        value = V.forward(graph, inputs)
        numbers = _Numbers(value, V.adjoints(part, value, out))
    elif result is not None:
        numbers = _Numbers({out: result.value}, {k: g for k, g in result.grads.items() if k in graph.nx})
    scene = _Scene()
    scene.graph.update(style.SMALL_FORWARD)
    nodes = graph.nx.nodes
    for n in graph.topo():
        d = nodes[n]
        op, name = d["op"], d.get("name")
        if op == "const" and not name:
            continue  # drawn once per use, next to its consumer
        if op == "input":
            kind = _input_kind(n, wrt)
            scene.node(n, kind, _html_node(names(n), _value_lines(numbers, n, names, L, kind != "data"),
                                           bold=False), html=True)
        elif name:
            what = f"= {V.number(d['value'])}" if op == "const" else _op_label(op)
            lines = [(what, style.MUTED, 11)] + _value_lines(numbers, n, names, L)
            scene.node(n, "output" if n == out else "named_op", _html_node(names(n), lines), html=True,
                       tooltip=f"line {d.get('line')}: {name} ({op})")
        else:
            lines = _value_lines(numbers, n, names, L, named=False)
            extra = {"shape": "box", "style": "rounded,filled"} if lines else {}
            scene.node(n, "op", _html_node(_op_label(op), lines, bold=False), html=True,
                       tooltip=f"line {d.get('line')}: {op}", **extra)
    for u, v, k, d in part.nx.edges(keys=True, data=True):
        hl = (u, v, k) in on_path
        if nodes[u]["op"] == "const" and not nodes[u].get("name"):
            c = f"{u}@{v}.{k}"
            scene.node(c, "const", V.number(nodes[u]["value"]))
            scene.edge(c, v, "normal")
            continue
        p = d.get("partial")
        label = expr_text(p, names) if p is not None else None
        scene.edge(u, v, "highlight" if hl else "normal", label=label and _short(label, style.LABEL_CHARS),
                   tooltip=label and f"∂/∂{names(u) if nodes[u].get('name') else u}: {label}")
    if target:
        scene.caption = _caption(graph.equations(), out, target, names, numbers)
    return scene


# ---- the compiled program: forward and adjoint nodes ------------------------------------------------------

def _program_dag(program):
    """A Program as a graph: one node per input and per instruction, an edge per operand read."""
    import networkx as nx

    g = nx.MultiDiGraph(outputs=[program.output[1]], level="program", lines=list(program.lines),
                        grads={name: v for name, v in program.grads}, next_id=0)
    for name, v in program.inputs:
        g.add_node(v, op="input", name=name)
    for i, ins in enumerate(program.instrs):
        g.add_node(ins.out, op=ins.op, role=ins.role, line=ins.line, instr=ins, index=i + 1)
        for pos, a in enumerate(ins.args):
            if isinstance(a, str):
                g.add_edge(a, ins.out, pos=pos)
    return Graph(g)


def _compiled_scene(cg, program, highlight, result, inputs):
    """The compiled graph (program None) or the scheduled program, forward and adjoints apart."""
    if program is not None:
        dag = _program_dag(program)
        out_name = program.output[0]
        grads = dict(program.grads)  # input name -> variable
    else:
        dag = cg
        out_name = cg.nx.nodes[cg.outputs[0]].get("name") or "output"
        grads = cg.grads
    g = dag.nx
    out = dag.outputs[0]
    model = "\n".join(cg.nx.graph.get("lines") or (program.lines if program else ()))
    names_all = [d["name"] for _, d in cg.nx.nodes(data=True) if d.get("name")]
    names = Names(names_all, out_name)
    L = names(out_name)
    wrt = set(cg.nx.graph.get("wrt") or grads)
    role = {n: ("input" if d["op"] in ("input",) else d.get("role", "forward")) for n, d in g.nodes(data=True)}
    grad_of = {v: k for k, v in grads.items()}

    # Highlight: the forward path output ← target, and the backward nodes that compute target's gradient.
    target = None
    on_path = set()
    if highlight:
        target = _find_input(dag, highlight, cg)
        if target is not None:
            fwd = {n for n in g if role[n] != "backward"}
            fw = Graph(g.subgraph(fwd))
            on_path = chain.path_edges(fw, out, target) if out in fwd else set()
            if highlight in grads:
                anc = chain.ancestors(dag, grads[highlight])
                on_path |= {(u, v, k) for v in anc if role[v] == "backward"
                            for u, keyed in g._pred[v].items() if role[u] == "backward" for k in keyed}

    numbers = _Numbers()
    if inputs is not None:
        vals = V.run_program(program, inputs) if program is not None else V.forward(cg, inputs)
        numbers = _Numbers(vals)
    elif result is not None:
        numbers = _Numbers({out: result.value, **{grads[k]: x for k, x in result.grads.items() if k in grads}})

    scene = _Scene()
    nodes = g.nodes
    computed = [n for n in g if nodes[n]["op"] not in ("input", "const")]
    if len(computed) > style.GROUP_AT:
        scene = _grouped_compiled_scene(scene, dag, out, role, names, grads, on_path, program is not None, L)
        if target is not None:
            scene.caption[:0] = _model_caption(model, out_name, highlight, names, inputs)
        return scene

    uses = {n: g.out_degree(n) for n in computed}
    for n in dag.topo():
        d = nodes[n]
        op = d["op"]
        if op == "const" and n not in grad_of and n != out:
            continue
        cluster = None if role[n] == "input" else role[n]
        tip = None
        if op == "input":
            kind = "param" if d["name"] in wrt else "data"
            title, lines = names(d["name"]), []
        elif program is not None:
            ins = d["instr"]
            kind = "instr" if role[n] == "forward" else "adjoint_instr"
            title = f"{ins}"
            lines = []
            if n in grad_of:
                kind, lines = "gradient", [(f"→ ∂{L}/∂{names(grad_of[n])}", "#7b3294", 11)]
            elif n == out:
                kind, lines = "output", [(f"→ {L}", "#1b7837", 11)]
            tip = f"[{d['index']}] {program.where(ins)}"
        else:
            title, kind, lines = _compiled_label(n, d, role[n], names, grad_of, out, L)
            tip = f"line {d.get('line')}: {d['op']}" if d.get("line") else d["op"]
        if n in numbers.value:
            lines = lines + [(f"= {V.show(numbers.value[n])}", style.VALUE, 11)]
        extra = {}
        if uses.get(n, 0) > 1:
            extra = dict(style.SHARED_NODE)
            lines = lines + [(f"used ×{uses[n]}", style.SHARED, 10)]
            if kind in ("op", "adjoint_op"):
                extra.update(shape="box", style="rounded,filled")
        if kind in ("op", "adjoint_op") and (lines or len(title) > 4):
            extra.update(shape="box", style="rounded,filled")
        plain = ("op", "adjoint_op", "instr", "adjoint_instr", "param", "data")
        scene.node(n, kind, _html_node(title, lines, bold=kind not in plain),
                   html=True, tooltip=tip, cluster=cluster, **extra)
    for u, v, k, e in g.edges(keys=True, data=True):
        kind = _edge_kind(role[u], role[v])
        # In the compiled graph gradients flow right to left, back towards the inputs, as a lecture
        # draws them: an edge between two adjoint nodes is laid out reversed (and drawn pointing forward).
        back = program is None and kind == "backward"
        if (u, v, k) in on_path:
            kind = "highlight"
        extra = {}
        if program is None and nodes[v]["op"] in _ORDERED and _computed_operands(g, v) > 1:
            # which operand is which in a − b, a / b, a @ b (when neither is a constant)
            extra = {"taillabel" if back else "headlabel": str(e["pos"] + 1), "labelfontsize": "9",
                     "labelfontcolor": style.MUTED}
        if nodes[u]["op"] == "const" and u not in grad_of and u != out:
            c = f"{u}@{v}.{k}"
            scene.node(c, "const", V.number(nodes[u]["value"]), cluster=role[v])
            scene.edge(c, v, "normal", **extra)
        elif back:
            scene.edge(v, u, kind, dir="back", **extra)
        else:
            scene.edge(u, v, kind, **extra)
    if target is not None:
        scene.caption = _model_caption(model, out_name, highlight, names, inputs)
    return scene


_ORDERED = {"sub", "div", "pow", "matmul"}


def _computed_operands(g, v):
    return sum(1 for u in g._pred[v] if g.nodes[u]["op"] != "const")


def _edge_kind(ru, rv):
    if rv == "backward":
        return "backward" if ru == "backward" else "cross"
    return "normal"


def _compiled_label(n, d, role, names, grad_of, out, L):
    op = d["op"]
    sym = f"= {V.number(d['value'])}" if op == "const" else _op_label(op)
    if n in grad_of:
        return f"∂{L}/∂{names(grad_of[n])}", "gradient", [(sym, style.MUTED, 10)]
    if d.get("adj_of") and role == "backward" and str(d["adj_of"]).startswith("%"):
        return sym, "adjoint_op", []  # the adjoint of an unnamed operation
    if d.get("adj_of") and role == "backward":
        if d["adj_of"] in grad_of.values():  # the gradient before it is summed back to the input's shape
            return sym, "adjoint", [(f"∂{L}/∂{names(d['adj_of'])} before summing", style.GRAD, 10)]
        return f"∂{L}/∂{names(d['adj_of'])}", "adjoint", [(sym, style.MUTED, 10)]
    if d.get("name"):
        return names(d["name"]), "output" if n == out else "named_op", [(sym, style.MUTED, 10)]
    return sym, "adjoint_op" if role == "backward" else "op", []


def _find_input(dag, name, cg):
    """The node of `name` in a compiled graph or program graph; an Error naming it when there is none."""
    for n, d in dag.nx.nodes(data=True):
        if d.get("name") == name and d["op"] == "input":
            return n
    for n, d in dag.nx.nodes(data=True):
        if d.get("name") == name or (d.get("instr") is not None and d["instr"].out == name):
            return n
    require_name(cg, name, "variable")  # raises, suggesting a close name
    return None  # named in the model but optimised away: nothing to colour


def _model_caption(model, out_name, highlight, names, inputs):
    """The chain-rule caption from the model's own equations (the compiled graph has lost them)."""
    eq = parse(model, output=out_name).equations()
    if highlight not in eq.nx:
        return []
    numbers = _equation_numbers(eq, out_name, None, inputs) if inputs is not None else _Numbers()
    return _caption(eq, out_name, highlight, Names(eq.names(), out_name), numbers)


def _grouped_compiled_scene(scene, dag, out, role, names, grads, on_path, is_program, L):
    """Large programs: one node per equation and direction (its forward ops, its adjoint ops)."""
    g = dag.nx
    nodes = g.nodes
    line_name = {}
    for n, d in g.nodes(data=True):
        if d.get("name") and d.get("line"):
            line_name.setdefault(d["line"], d["name"])
        ins = d.get("instr")
        if ins is not None and d.get("line") and ins.out.isidentifier() and not ins.out[0] in "tg":
            line_name.setdefault(d["line"], ins.out)

    def key(n):
        d = nodes[n]
        if d["op"] == "input":
            return n
        if d["op"] == "const" and n not in grads.values():
            return None
        return ("group", role[n], d.get("line"))

    grouped, members = _group(dag, key)
    gn = grouped.nx.nodes
    # The forward groups nearest the output, then the adjoint groups of the same equations and the
    # gradients: one window onto both sweeps.
    forward = {n for n in grouped.nx if gn[n]["role"] != "backward"}
    near, _ = _select(grouped, [key(out)], (), budget=style.MAX_NODES // 2, within=forward)
    lines = {n[2] for n in near if isinstance(n, tuple)}
    kept = near | {n for n in grouped.nx if gn[n]["role"] == "backward" and (n[2] in lines or n[2] is None)}
    dropped = {n: None for n in grouped.nx if n not in kept}
    scene.graph.update(style.LARGE_GRAPH)
    for n in grouped.topo():
        if n not in kept:
            continue
        d = gn[n]
        if d["op"] == "input":
            scene.node(_gid(n), "data", _esc(names(d["name"])), html=True)
            continue
        _, r, line = n
        eqname = line_name.get(line)
        k = members[n]
        what = f"{k} {'instruction' if is_program else 'op'}{'s' if k != 1 else ''}"
        if r == "backward":
            title = f"∂{L}/∂{names(eqname)}" if eqname else "gradients"
            scene.node(_gid(n), "adjoint_group", _html_node(title, [(what, style.MUTED, 9)]), html=True,
                       cluster="backward", tooltip=f"adjoint work for line {line}")
        else:
            title = names(eqname) if eqname else f"line {line}"
            scene.node(_gid(n), "output" if key(out) == n else "group", _html_node(title, [(what, style.MUTED, 9)]),
                       html=True, cluster="forward", tooltip=f"line {line}")
    hl_groups = {(key(u), key(v)) for u, v, _ in on_path}
    for u, v, d in grouped.nx.edges(data=True):
        if u in kept and v in kept:
            kind = _edge_kind(gn[u]["role"], gn[v]["role"])
            back = kind == "backward"  # laid out right to left, as in the ungrouped picture
            if (u, v) in hl_groups:
                kind = "highlight"
            width = {"penwidth": str(min(1 + 0.3 * (d["count"] - 1), 4))}
            if back:
                scene.edge(_gid(v), _gid(u), kind, dir="back", **width)
            else:
                scene.edge(_gid(u), _gid(v), kind, **width)
    _summarise(scene, grouped, kept, dropped, set(), what="group", ids=_gid)
    total = sum(1 for n in g if nodes[n]["op"] != "const")
    what = "instructions and inputs" if is_program else "nodes"
    scene.caption.append((f"{total:,} {what} grouped by equation into {grouped.nx.number_of_nodes():,}",
                          style.MUTED))
    if dropped:
        scene.caption.append((_dropped_note(grouped.nx.number_of_nodes(), kept, dropped), style.MUTED))
    return scene


def _gid(n):
    """A group's DOT id: %forward_12 / %backward_12 (line 12), %backward_grads (no model name has a %);
    inputs keep their name. No colon: DOT reads `a:b` as port b of node a."""
    return n if isinstance(n, str) else f"%{n[1]}_{n[2] if n[2] is not None else 'grads'}"


# ---- large models ----------------------------------------------------------------------------------------------

def _group(dag, key):
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


def _path_nodes_by_distance(graph, out, on_path):
    """The nodes of the highlighted paths, nearest the output first."""
    on = {u for u, _, _ in on_path} | {v for _, v, _ in on_path}
    dist, layer, order = {out: 0}, [out], [out]
    while layer:
        nxt = []
        for v in layer:
            for u in graph.nx._pred[v]:
                if u in on and u not in dist:
                    dist[u] = dist[v] + 1
                    nxt.append(u)
                    order.append(u)
        layer = nxt
    return order


def _select(graph, roots, first, budget=None, within=None):
    """Which nodes to draw when there are too many: those nearest the roots (breadth first, up the
    operands, only through `within` when given), the highlighted path's first, at most `budget`
    (style.MAX_NODES) of them and at most style.MAX_RANKS columns deep. Returns (kept set, {dropped: None})."""
    pred, succ = graph.nx._pred, graph.nx._succ
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


def _summarise(scene, graph, kept, dropped, on_path, what, ids=str):
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
    for v in sorted((v for v in kept if any(u in dropped for u in graph.nx._pred[v])), key=str):
        scene.edge("__more__", ids(v), "highlight" if v in hl_into else "summary",
                   **({"style": "dashed"} if v in hl_into else {}))


def _dropped_note(total, kept, dropped):
    return (f"{total:,} nodes: the {len(kept):,} nearest the output are drawn, {len(dropped):,} are summarised "
            "(draw a part with --output NAME)")

