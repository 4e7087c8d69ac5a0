"""`irgraph explain`: the chain-rule derivation of one gradient, as text, the way a lecture does it.

    ∂loss/∂w1 = ∂loss/∂yhat * ∂yhat/∂a1 * ∂a1/∂w1
              = 2*(yhat - y) * 1 * x1

It works on the equation level: one partial per edge, each the simplified derivative of an equation's
right-hand side (passes.attach_partials), the same IR the compiler differentiates.
"""

from irgraph.ir.errors import Error
from irgraph.ir.expr import to_text
from irgraph.ir.graph import require_name

from . import chain, expanded
from . import values as V
from .algebra import readable, size
from .names import for_display, is_pullback, product_text, tree_size

MAX_PATHS = 8  # paths listed one by one
MAX_TERMS = 4000  # the simplified expression is printed when its tree is at most this big
MAX_STEPS = 12  # the gradient at every node on the way is listed when there are at most this many


def explain(graph, wrt, output=None, inputs=None):
    """The derivation of ∂output/∂wrt (output: the graph's output by default) as printable text.

    inputs: {input: value}; the chain rule and the written-out derivative are then compared at them (and
    with the compiled program), from running the model on the op-level `graph`."""
    wrt = one_name(wrt)
    eq = graph if graph.level == "equation" else graph.equations()
    out = require_name(eq, output, "equation") if output else eq.outputs[0]
    require_name(eq, wrt, "variable")
    on = chain.ancestors(eq, out) & chain.descendants(eq, wrt)
    if wrt == out:
        return f"∂{out}/∂{out} = 1"
    if out not in on:
        return (f"∂{out}/∂{wrt} = 0\n\n{out} does not depend on {wrt}: no path leads from {wrt} to {out}.")
    # Partials only for the edges on the way (the same rule attach_partials applies everywhere).
    part = chain.with_partials(eq, on)
    numbers = numbers_at(graph, out, inputs)
    return "\n".join(_derivation(part, out, wrt, on) + _old_fashioned(eq, out, wrt, on, part, numbers))


def one_name(wrt):
    """The one name a derivation is with respect to (a list of one is taken too)."""
    if isinstance(wrt, (list, tuple)):
        if len(wrt) != 1:
            raise Error(f"explain takes one name to differentiate with respect to, not {list(wrt)}")
        wrt = wrt[0]
    return wrt


def numbers_at(graph, out, inputs):
    """The values of every node from running the op-level `graph` at `inputs` (None without inputs)."""
    if inputs is None:
        return None
    if graph.level != "op":
        raise Error("explain runs the model to evaluate at input values: give the op-level graph from "
                    "irgraph.parse, not the equation level")
    return V.forward_numbers(graph, out, None, None, inputs)


def _derivation(g, out, wrt, on):
    nodes = g.nx.nodes
    order = [n for n in g.topo() if n in on]
    d = _d
    lines = [f"{d(out, wrt)} by the chain rule", ""]

    lines.append(f"The equations on the way from {wrt} to {out}:")
    for n in order:
        if nodes[n]["op"] == "equation":
            lines.append(f"  {n} = {to_text(nodes[n]['expr'])}")
    lines.append("")

    partial = {}
    lines.append("Local partials (the derivative of each right-hand side; g is the gradient from above):"
                 if any(is_pullback(e["partial"]) for _, _, e in g.nx.edges(data=True))
                 else "Local partials (the derivative of each right-hand side):")
    for v in order:
        for u, keyed in g.preds[v].items():
            for k, e in keyed.items():
                partial[u, v, k] = e["partial"]
                lines.append(f"  {d(v, u)} = {_text(e['partial'])}")
    lines.append("")

    total = chain.count_paths(g, out, wrt)
    paths = chain.paths(g, out, wrt, limit=MAX_PATHS)
    lines.append(f"Paths from {out} back to {wrt} ({total}):")
    for i, p in enumerate(paths, 1):
        walk = " ← ".join([out] + [u for u, _, _ in p])
        lines.append(f"  {i}. {walk}" if total > 1 else f"  {walk}")
    if total > len(paths):
        lines.append(f"  … and {total - len(paths)} more")
    lines.append("")

    lines.append("Chain rule: multiply the partials along each path, add over the paths:"
                 if total > 1 else "Chain rule: multiply the partials along the path:")
    head = f"  {d(out, wrt)} = "
    pad = " " * (len(head) - 2) + "= "
    symbolic = [" * ".join(d(v, u) for u, v, _ in p) for p in paths]
    numeric = [" * ".join(_factor(partial[e]) for e in p) for p in paths]
    more = " + …" if total > len(paths) else ""
    lines.append(head + _sum(symbolic, head) + more)
    lines.append(pad + _sum(numeric, pad) + more)
    lines.append("")

    steps = [n for n in reversed(order) if n not in (out, wrt)]
    if steps and len(order) <= MAX_STEPS:
        lines.append(f"Step by step from {out} back to {wrt}, each gradient simplified:")
        for n in steps + [wrt]:
            lines.append(f"  {d(out, n)} = {simplified(chain.derivative(g, out, n))}")
        lines.append("")

    result = chain.derivative(g, out, wrt)
    lines.append("Simplified:")
    if tree_size(result) > MAX_TERMS:
        lines.append(f"  {d(out, wrt)} = (too long to print: {total} paths; see `irgraph compile` for the "
                     f"program that computes it)")
    else:
        lines.append(f"  {d(out, wrt)} = {simplified(result)}")
    if any(is_pullback(partial[e]) for p in paths for e in p):
        lines.append("")
        lines.append("  (g ↦ … is a vector-Jacobian product applied to the gradient arriving from above, "
                     f"starting from 1 at {out};\n   N counts the elements a mean averages, and each gradient "
                     "is summed back to its variable's shape.)")
    return lines


def _old_fashioned(eq, out, wrt, on, part, numbers):
    """The output written out in the inputs and differentiated directly, and whether the two ways agree."""
    formula = expanded.written_out(eq, out, chain.ancestors(eq, out))
    lines = ["", f"The old-fashioned way: write {out} out in the inputs and differentiate it directly:"]
    if expanded.too_long(formula[out]):
        return lines + [f"  ({out} written out is too long to print: over {expanded.MAX_EXPANDED} operations)"]
    old = expanded.derivative(formula[out], wrt)
    lines.append(f"  {out} = {to_text(for_display(formula[out]))}")
    lines.append(f"  {_d(out, wrt)} = {simplified(old) if not expanded.too_long(old) else '(too long to print)'}")
    lines.append(expanded.agreement(chain.derivative(part, out, wrt), old, formula, wrt, numbers))
    return lines


def simplified(e):
    """A derivative for reading: simplified when small, factor by factor (`2*(yhat - y) * x1`) otherwise."""
    shown = readable(for_display(e))
    return to_text(shown) if size(shown) < size(for_display(e)) else product_text(e)


def _d(top, bottom):
    return f"∂{top}/∂{bottom}"


def _text(e):
    if tree_size(e, cap=MAX_TERMS + 1) > MAX_TERMS:  # a deep chain's partial prints quadratically long
        return "(too long to print)"
    t = to_text(readable(for_display(e)))
    return f"g ↦ {t}" if is_pullback(e) else t


def _factor(e):
    if is_pullback(e):
        return f"[{_text(e)}]"
    t = _text(e)
    return f"({t})" if e.op in ("add", "sub", "neg") else t


def _sum(terms, indent, width=100):
    """Terms joined by ' + ', wrapped onto aligned lines when long."""
    lines, cur = [], ""
    for t in terms:
        piece = t if not cur else f" + {t}"
        if cur and len(indent) + len(cur) + len(piece) > width:
            lines.append(cur)
            cur = f"+ {t}"
        else:
            cur += piece
    lines.append(cur)
    return ("\n" + " " * len(indent)).join(lines)
