"""Numbers for the pictures: every node's forward value and adjoint, computed with NumPy.

The compiled program only returns the output and the gradients of the inputs; a picture shows the value
and the adjoint of every node, so we evaluate the drawn graph itself, with the op table's evaluation rules
and the partials on its edges (reverse accumulation: adj[u] = Σ over u's out-edges of adj[v]·∂v/∂u,
summed back to u's shape). Everything is iterative.
"""

import numpy as np

from irgraph.backends.execute import trace
from irgraph.backends.runtime import _array, _sum_to
from irgraph.ir import expr as E
from irgraph.ir.errors import Error
from irgraph.ir.expr import G, const, postorder, var
from irgraph.ir.ops import OPS, apply


def input_array(name, value):
    try:
        return _array(np, value)
    except (TypeError, ValueError) as e:
        raise Error(f"input {name!r} is not a number or an array of numbers: {e}") from None


def eval_expr(e, env, g=None):
    """Evaluate an Expr; `var` leaves are looked up in env by node reference, `G` is g."""
    vals = {}
    for s in postorder(e):
        if s.op == "var":
            v = env[s.attr[0]]
        elif s.op == "const":
            v = s.attr
        elif s is G:
            v = g
        else:
            v = apply(s.op, np, [vals[a] for a in s.args], s.attr)
        vals[s] = v
    return vals[e]


def _missing(graph, inputs):
    for n in graph.inputs:
        if n not in inputs:
            raise Error(f"missing input {n!r}: the picture's values need every input "
                        f"(given: {', '.join(sorted(inputs)) or 'none'})")


def forward(graph, inputs):
    """{node: value} for a Graph of either level (op level: also a compiled graph with adjoint nodes)."""
    _missing(graph, inputs)
    nodes, args = graph.parts()
    vals = {}
    with np.errstate(all="ignore"):
        for n in graph.topo():
            d = nodes[n]
            op = d["op"]
            try:
                if op == "input":
                    vals[n] = input_array(d["name"], inputs[d["name"]])
                elif op == "const":
                    vals[n] = float(d["value"])
                elif op == "equation":
                    vals[n] = eval_expr(d["expr"], vals)
                else:
                    vals[n] = apply(op, np, [vals[x] for x in args.get(n, ())], d.get("params", ()))
            except Error:
                raise
            except Exception as e:  # noqa: BLE001 - NumPy's errors, reported against the model
                raise Error(f"cannot evaluate {_where(graph, n)}: {type(e).__name__}: {e}") from None
    return vals


def adjoints(graph, vals, output):
    """{node: ∂output/∂node} by reverse accumulation over the partials on `graph`'s edges.

    Empty when the output is not a scalar (a gradient needs one).
    """
    if np.size(vals[output]) != 1:
        return {}
    adj = {output: np.ones_like(np.asarray(vals[output], dtype=float))}
    pred = graph.preds
    with np.errstate(all="ignore"):
        for v in reversed(graph.topo()):
            if v not in adj:
                continue
            g = adj[v]
            for u, keyed in pred[v].items():
                for d in keyed.values():
                    p = d.get("partial")
                    if p is None:
                        continue
                    pullback = any(s is G for s in postorder(p))
                    piece = _contribution(graph, v, u, p, vals, g, pullback)
                    adj[u] = piece if u not in adj else adj[u] + piece
    return adj


def _contribution(graph, v, u, partial, vals, g, pullback):
    """What edge u → v adds to u's adjoint, summed back to u's shape."""
    try:
        piece = eval_expr(partial, vals, g) if pullback else g * eval_expr(partial, vals)
        return _sum_to(np, np.asarray(piece, dtype=float), np.asarray(vals[u]))
    except Exception as e:  # noqa: BLE001 - reported against the model
        raise Error(f"cannot evaluate the gradient through {_where(graph, v)}: "
                    f"{type(e).__name__}: {e}") from None


def op_adjoints(graph, vals, output):
    """{node: ∂output/∂node} over an op-level graph, straight from the op table's partial rules.

    The same rules passes.attach_partials applies, evaluated at once: no edge needs a printable label,
    so the sweep stays linear in the size of the model.
    """
    if np.size(vals[output]) != 1:
        return {}
    nodes, args = graph.parts()
    ref = {n: const(d["value"]) if d["op"] == "const" else var(n) for n, d in nodes.items()}
    adj = {output: np.ones_like(np.asarray(vals[output], dtype=float))}
    with np.errstate(all="ignore"):
        for v in reversed(graph.topo()):
            if v not in adj or v not in args:
                continue
            d = nodes[v]
            row = OPS[d["op"]]
            if row.partials is None:
                continue
            partials = row.partials(E, *(ref[a] for a in args[v]), ref[v], **dict(d.get("params", ())))
            g = adj[v]
            for u, p in zip(args[v], partials):
                piece = _contribution(graph, v, u, p, vals, g, row.kind == "tensor")
                adj[u] = piece if u not in adj else adj[u] + piece
    return adj


def run_program(program, inputs):
    """{variable: value} for every instruction of a Program: the executor, keeping every value."""
    with np.errstate(all="ignore"):
        return trace(program, inputs, np, keep=True)


def _where(graph, n):
    d = graph.nx.nodes[n]
    line = d.get("line")
    lines = graph.nx.graph.get("lines") or []
    if line and 0 < line <= len(lines):
        return f"line {line}: {lines[line - 1].split('#')[0].strip()}"
    return repr(d.get("name") or n)


# ---- printing numbers -----------------------------------------------------------------------------------

def number(x):
    """A scalar with 4 significant digits and a real minus sign."""
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "∞" if x > 0 else "−∞"
    t = f"{x:.4g}"
    if "e" in t:
        m, e = t.split("e")
        t = f"{m}·10^{int(e)}"
    return t.replace("-", "−")


def show(x, few=3):
    """A value as a node shows it: `−5.25`, or `3×2 [0.1, −0.2, 0.3, …]`."""
    a = np.asarray(x)
    if a.size == 1 and a.ndim == 0:
        return number(a)
    flat = a.reshape(-1)
    head = ", ".join(number(v) for v in flat[:few])
    more = ", …" if flat.size > few else ""
    shape = "×".join(str(n) for n in a.shape) or "1"
    return f"{shape} [{head}{more}]"


def is_scalar(x):
    return np.ndim(x) == 0
