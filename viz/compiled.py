"""The compiled graph (`stage="backward"`: forward and adjoint nodes in two clusters, values used many times
marked "used ×k") and the scheduled program (`stage="program"`: one node per instruction)."""

import numpy as np

from irgraph.ir.graph import Graph, require_name
from irgraph.ir.shapes import SHAPE_ONLY

from . import chain, style, trim
from . import values as V
from .caption import caption
from .names import Names, with_constants
from .scene import Scene, esc, html_node


def compiled_scene(program, stage, highlight, result, inputs, eq=None):
    """The compiled graph (stage "backward") or the scheduled program (stage "program"), forward and
    adjoints apart. eq: the model's equation-level graph for the caption (else the compiled graph's own
    forward part)."""
    cg = program.graph
    if stage == "program":
        dag = program.as_graph()
        out_name = program.output[0]
        grads = dict(program.grads)  # input name -> variable
        hvp = dict(program.hvp)
    else:
        dag = cg
        out_name = cg.nx.nodes[cg.outputs[0]].get("name") or "output"
        grads = cg.grads
        hvp = cg.meta.hvp or {}
    is_program = stage == "program"
    g = dag.nx
    out = dag.outputs[0]
    names_all = [d["name"] for _, d in cg.nx.nodes(data=True) if d.get("name")]
    names = Names(names_all, out_name)
    L = names(out_name)
    wrt = set(grads)
    role = {n: ("input" if d["op"] in ("input",) else _ROLE.get(d.get("role"), d.get("role", "forward")))
            for n, d in g.nodes(data=True)}
    grad_of = {v: k for k, v in grads.items()}
    hvp_of = {v: k for k, v in hvp.items()}  # an order-2 program: the tangents of the gradients, H·v

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
                            for u, keyed in dag.preds[v].items() if role[u] == "backward" for k in keyed}

    # Every value from running this very program, read back by variable.
    numbers, model_numbers = V.Numbers(), V.Numbers()
    if inputs is not None:
        program, env = V.run(program, inputs)
        numbers = V.Numbers(env if is_program else {n: x for n in g if (x := V.read(program, env, n)) is not None})
        model_numbers = V.parsed(program, env, out_name)
    elif result is not None:
        numbers = V.Numbers({out: result.value, **{grads[k]: x for k, x in result.grads.items() if k in grads}})
        model_numbers = V.of_result(result, out_name, cg.nx)

    def model_caption():
        return _model_caption(eq if eq is not None else _forward_equations(cg), out_name, highlight, model_numbers)

    scene = Scene()
    nodes = g.nodes
    computed = [n for n in g if nodes[n]["op"] not in ("input", "const")]
    if len(computed) > style.GROUP_AT:
        scene = _grouped_compiled_scene(scene, dag, out, role, names, grads, on_path, is_program, L)
        if target is not None:
            scene.caption[:0] = model_caption()
        return scene

    shape_read = {(u, v, k) for u, v, k, e in g.edges(keys=True, data=True)
                  if e.get("pos") in SHAPE_ONLY.get(nodes[v]["op"], ())}
    hidden = {} if is_program else _no_op_sums(g, numbers)  # sum_to node -> its operand, drawn in its place
    as_grad = {hidden[n]: grad_of[n] for n in hidden if n in grad_of}
    shown_grad = {v: k for v, k in grad_of.items() if v not in hidden} | as_grad
    inline = {v: {} for v in g}  # constants drawn inside their consumer's label: {pos: value}
    for u, v, k, e in g.edges(keys=True, data=True):
        if nodes[u]["op"] == "const" and u not in grad_of and u != out:
            inline[v][e["pos"]] = nodes[u]["value"]
    # "used ×k" counts the reads of a value, not of its shape, with the hidden no-op sums looked through.
    uses = {n: 0 for n in computed}
    for u, v, k in g.edges(keys=True):
        if u in uses and (u, v, k) not in shape_read and v not in hidden:
            uses[u] += 1
    for n, x in hidden.items():
        uses[x] += uses.get(n, 0)  # the hidden sum's reads are x's
    for n in dag.topo():
        d = nodes[n]
        op = d["op"]
        if (op == "const" and n not in grad_of and n != out) or n in hidden:
            continue
        cluster = None if role[n] == "input" else role[n]
        tip = None
        if d.get("tangent_of"):  # a direction v of an order-2 program: Hessian-vector products H·v
            cluster, kind = "tangent", "data"
            title, lines = f"δ{names(d['tangent_of'])}", [("direction", style.MUTED, 10)]
        elif op == "input":
            kind = "param" if d["name"] in wrt else "data"
            title, lines = names(d["name"]), []
        elif is_program:
            ins = d["instr"]
            kind = {"forward": "instr", "tangent": "tangent_instr"}.get(role[n], "adjoint_instr")
            title = f"{ins}"
            lines = []
            if n in hvp_of:
                kind, lines = "hvp", [(f"→ (H·v)[{names(hvp_of[n])}]", "#2d6e3a", 11)]
            elif n in grad_of:
                kind, lines = "gradient", [(f"→ ∂{L}/∂{names(grad_of[n])}", "#7b3294", 11)]
            elif n == out:
                kind, lines = "output", [(f"→ {L}", "#1b7837", 11)]
            tip = f"[{d['index']}] {program.where(ins)}"
        elif role[n] == "tangent":
            title, kind, lines = _tangent_label(n, d, nodes, names, hvp_of, grad_of, L, inline[n])
        else:
            title, kind, lines = _compiled_label(n, d, role[n], names, shown_grad, out, L, inline[n],
                                                 summed=any(_sums(g, m, n) for m in g.succ[n]))
            if op == "count" and role[args_of(dag, n)[0]] != "backward":
                cluster = "forward"  # taken from its operand's shape while the forward part runs
            tip = f"line {d.get('line')}: {d['op']}" if d.get("line") else d["op"]
        if n in numbers.value:
            lines = lines + [(f"= {V.show(numbers.value[n])}", style.VALUE, 11)]
        extra = {}
        if uses.get(n, 0) > 1:
            extra = dict(style.SHARED_NODE)
            lines = lines + [(f"used ×{uses[n]}", style.SHARED, 10)]
            if kind in ("op", "adjoint_op", "tangent_op"):
                extra.update(shape="box", style="rounded,filled")
        if kind in ("op", "adjoint_op", "tangent_op") and (lines or len(title) > 4):
            extra.update(shape="box", style="rounded,filled")
        plain = ("op", "adjoint_op", "instr", "adjoint_instr", "param", "data")
        scene.node(n, kind, html_node(title, lines, bold=kind not in plain),
                   html=True, tooltip=tip, cluster=cluster, **extra)
    for u, v, k, e in g.edges(keys=True, data=True):
        if v in hidden or (nodes[u]["op"] == "const" and u not in grad_of and u != out):
            continue  # into a hidden sum, or a constant drawn in its consumer's label
        if (not is_program and (u, v, k) in shape_read and nodes[v]["op"] == "sum_to"
                and shown_grad.get(v) == nodes[u].get("name")):
            continue  # a gradient summed to its own variable's shape: its label says so
        edge = (u, v, k)
        u = hidden.get(u, u)
        kind = _edge_kind("tangent" if nodes[u].get("tangent_of") else role[u], role[v])
        if nodes[v]["op"] == "count" and kind == "cross":
            kind = "normal"  # the count is drawn in the forward part
        # In the compiled graph gradients flow right to left, back towards the inputs, as a lecture
        # draws them: an edge between two adjoint nodes is laid out reversed (and drawn pointing forward).
        back = not is_program and kind == "backward"
        if edge in on_path:
            kind = "highlight"
        elif edge in shape_read:
            kind = "shape"
        extra, mark = {}, None
        if not is_program and nodes[v]["op"] in _ORDERED and _computed_operands(g, v) > 1:
            # which operand is which in a − b, a / b, a ^ b, a @ b (when neither is a constant): a small
            # label on the edge itself, which Graphviz keeps clear of nodes and other labels
            mark, extra = str(e["pos"] + 1), dict(style.OPERAND_MARK)
        if back:
            scene.edge(v, u, kind, label=mark, dir="back", **extra)
        else:
            scene.edge(u, v, kind, label=mark, **extra)
    if target is not None:
        scene.caption = model_caption()
    return scene


_ORDERED = {"sub", "div", "pow", "matmul"}
_ROLE = {"partials": "tangent"}  # an order-2 program's partials of the gradient graph belong to its second sweep


def _computed_operands(g, v):
    return sum(1 for u in g.pred[v] if g.nodes[u]["op"] != "const")


def _edge_kind(ru, rv):
    if rv == "tangent":
        return "tangent" if ru == "tangent" else "cross2"
    if rv == "backward":
        return "backward" if ru == "backward" else "cross"
    return "normal"


def _tangent_label(n, d, nodes, names, hvp_of, grad_of, L, inline):
    """A node of the second sweep: δx is the tangent of x along the direction v, and δ(∂L/∂w) = (H·v)[w]."""
    sym = with_constants(d["op"], inline or {})
    if n in hvp_of:
        return f"(H·v)[{names(hvp_of[n])}]", "hvp", [(f"= δ(∂{L}/∂{names(hvp_of[n])}): {sym}", style.MUTED, 10)]
    of = d.get("tan_of")
    grad = grad_of.get(of)
    if grad is not None:
        return f"δ(∂{L}/∂{names(grad)})", "tangent", [(sym, style.MUTED, 10)]
    if of is not None and nodes[of].get("name"):
        return f"δ{names(nodes[of]['name'])}", "tangent", [(sym, style.MUTED, 10)]
    whose = nodes[of].get("adj_of") if of is not None else None
    if whose and not str(whose).startswith("%"):
        return f"δ(∂{L}/∂{names(whose)})", "tangent", [(sym, style.MUTED, 10)]
    return sym, "tangent_op", []


def _compiled_label(n, d, role, names, grad_of, out, L, inline=None, summed=True):
    op = d["op"]
    sym = f"= {V.number(d['value'])}" if op == "const" else with_constants(op, inline or {})
    if op == "count":
        return "N", "adjoint_op" if role == "backward" else "op", [("count", style.MUTED, 10)]
    if n in grad_of:
        if op == "sum_to":
            sym = f"sum to {names(grad_of[n])}'s shape"
        title = f"∂{L}/∂{names(grad_of[n])}"
        whose = d.get("adj_of")
        if role == "backward" and whose and not str(whose).startswith("%") and whose != grad_of[n]:
            title = f"∂{L}/∂{names(whose)} = {title}"  # ∂L/∂ŷ = ∂L/∂b: the same array (b + … = ŷ)
        return title, "gradient", [(sym, style.MUTED, 10)]
    if d.get("adj_of") and role == "backward" and str(d["adj_of"]).startswith("%"):
        return sym, "adjoint_op", []  # the adjoint of an unnamed operation
    if d.get("adj_of") and role == "backward":
        if d["adj_of"] in grad_of.values() and summed:  # the gradient before it is summed to the input's shape
            return sym, "adjoint", [(f"∂{L}/∂{names(d['adj_of'])} before summing", style.GRAD, 10)]
        return f"∂{L}/∂{names(d['adj_of'])}", "adjoint", [(sym, style.MUTED, 10)]
    if d.get("name"):
        return names(d["name"]), "output" if n == out else "named_op", [(sym, style.MUTED, 10)]
    return sym, "adjoint_op" if role == "backward" else "op", []


def _no_op_sums(g, numbers):
    """{sum_to node: its operand} for the sums that changed nothing (the operand had the shape already)."""
    found = {}
    for n, d in g.nodes(data=True):
        if d["op"] == "sum_to":
            x = args_of_nx(g, n)[0]
            if g.nodes[x].get("role") != "backward" or g.nodes[x]["op"] == "const":
                continue  # an input, a forward value or a constant summed: it keeps its node, the sum stays
            if n in numbers.value and x in numbers.value and np.shape(numbers.value[n]) == np.shape(numbers.value[x]):
                found[n] = x
    return found


def _sums(g, v, n):
    """True when v is a sum_to that sums n (a no-op one is hidden, but that is for the caller to know)."""
    return g.nodes[v]["op"] == "sum_to" and args_of_nx(g, v)[0] == n


def args_of_nx(g, v):
    """v's operands in position order."""
    return [u for u, _, e in sorted(g.in_edges(v, data=True), key=lambda t: t[2]["pos"])]


def args_of(dag, v):
    return args_of_nx(dag.nx, v)


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


def _model_caption(eq, out_name, highlight, numbers):
    """The chain-rule caption along the model's equations (the compiled graph's ops are not equations)."""
    if highlight not in eq.nx or out_name not in eq.nx:
        return []
    return caption(eq, out_name, highlight, Names(eq.names(), out_name), numbers)


def _forward_equations(cg):
    """The equations the compiled graph's forward part computes, when the parsed model was not handed in."""
    fwd = [n for n, d in cg.nx.nodes(data=True) if d.get("role", "forward") != "backward"]
    return Graph(cg.nx.subgraph(fwd)).equations()


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

    grouped, members = trim.group(dag, key)
    gn = grouped.nx.nodes
    # The forward groups nearest the output, then the adjoint groups of the same equations and the
    # gradients: one window onto both sweeps.
    forward = {n for n in grouped.nx if gn[n]["role"] != "backward"}
    near, _ = trim.select(grouped, [key(out)], (), budget=style.MAX_NODES // 2, within=forward)
    lines = {n[2] for n in near if isinstance(n, tuple)}
    kept = near | {n for n in grouped.nx if gn[n]["role"] == "backward" and (n[2] in lines or n[2] is None)}
    dropped = {n: None for n in grouped.nx if n not in kept}
    scene.graph.update(style.LARGE_GRAPH)
    for n in grouped.topo():
        if n not in kept:
            continue
        d = gn[n]
        if d["op"] == "input":
            scene.node(_gid(n), "data", esc(names(d["name"])), html=True)
            continue
        _, r, line = n
        eqname = line_name.get(line)
        k = members[n]
        what = f"{k} {'instruction' if is_program else 'op'}{'s' if k != 1 else ''}"
        if r == "backward":
            title = f"∂{L}/∂{names(eqname)}" if eqname else "gradients"
            scene.node(_gid(n), "adjoint_group", html_node(title, [(what, style.MUTED, 9)]), html=True,
                       cluster="backward", tooltip=f"adjoint work for line {line}")
        else:
            title = names(eqname) if eqname else f"line {line}"
            scene.node(_gid(n), "output" if key(out) == n else "group", html_node(title, [(what, style.MUTED, 9)]),
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
    trim.summarise(scene, grouped, kept, dropped, set(), what="group", ids=_gid)
    total = sum(1 for n in g if nodes[n]["op"] != "const")
    what = "instructions and inputs" if is_program else "nodes"
    scene.caption.append((f"{total:,} {what} grouped by equation into {grouped.nx.number_of_nodes():,}",
                          style.MUTED))
    if dropped:
        scene.caption.append((trim.dropped_note(grouped.nx.number_of_nodes(), kept, dropped), style.MUTED))
    return scene


def _gid(n):
    """A trim.group's DOT id: %forward_12 / %backward_12 (line 12), %backward_grads (no model name has a %);
    inputs keep their name. No colon: DOT reads `a:b` as port b of node a."""
    return n if isinstance(n, str) else f"%{n[1]}_{n[2] if n[2] is not None else 'grads'}"

