"""`irgraph explain --order 2`: a second derivative by the chain rule, applied twice, the lecture's way.

    ∂²loss/∂w1² = ∂(∂loss/∂w1)/∂yhat * ∂yhat/∂w1
                = 2*x1 * x1
                = 2*x1^2

First ∂loss/∂w1 is derived as `explain` does; it is an expression in the model's names (2*(yhat - y)*x1).
It depends on w1 directly and through the names on the way from w1 (here yhat), so differentiating it
again is the chain rule once more: its partial with respect to each of those names, times that name's own
derivative with respect to w1. Scalar (elementwise) models only; tensors take `irgraph run --hessian`.
"""

import passes
from irgraph.ir.errors import Error
from irgraph.ir.expr import const, derivatives, is_const, postorder, to_text
from irgraph.ir.graph import Graph, require_name
from irgraph.ir.ops import OPS

from . import chain
from . import values as V
from .algebra import readable, reading_cost, size
from .explain import numbers_at, one_name, simplified
from .names import for_display, is_pullback, product_text, tree_size

MAX_TERMS = 2000  # an expression bigger than this is not printed


def second_derivative(graph, wrt, output=None):
    """(∂output/∂wrt, {name: (∂(∂output/∂wrt)/∂name, ∂name/∂wrt)}, ∂²output/∂wrt²) as expressions in the
    model's names; the dict holds each name the first derivative depends on wrt through. None when the
    output does not depend on wrt."""
    eq = graph if graph.level == "equation" else graph.equations()
    out = require_name(eq, output, "equation") if output else eq.outputs[0]
    require_name(eq, wrt, "variable")
    down = chain.descendants(eq, wrt)
    on = chain.ancestors(eq, out) & down
    if out not in on:
        return None
    part = passes.attach_partials(Graph(eq.nx.subgraph(on).copy()))
    first = const(1) if out == wrt else chain.derivative(part, out, wrt)
    _require_scalar(first, out, wrt)
    first = _tidy(first)  # the same function, in fewer terms: 2*u*x, not 2*u - 2*cos(u)*sin(u) + ...
    through = {s.attr[0]: s for s in postorder(first) if s.op == "var" and s.attr[0] in down}
    outer = derivatives(first, list(through.values())) if through else {}
    steps, total = {}, const(0)
    for name, leaf in through.items():
        inner = const(1) if name == wrt else chain.derivative(part, name, wrt)
        _require_scalar(inner, name, wrt)
        if is_const(outer[leaf], 0):
            continue
        outer_shown, inner_shown = _tidy(outer[leaf]), _tidy(inner)  # small pieces simplify well; their product may not
        steps[name] = (outer_shown, inner_shown)
        total = total + outer_shown * inner_shown
    return first, steps, total


def _final(e):
    """The result as simply as SymPy writes it (2*x1^2), else factor by factor as explain prints it."""
    shown = readable(for_display(e))
    return to_text(shown) if reading_cost(shown) < reading_cost(for_display(e)) else simplified(e)


def _tidy(e):
    """e simplified for reading (SymPy on small expressions), still an expression we can multiply."""
    shown = readable(e)
    return shown if size(shown) < size(e) else e


def _require_scalar(e, top, wrt):
    if is_pullback(e) or any(s.args and OPS[s.op].kind == "tensor" for s in postorder(e) if s.op in OPS):
        raise Error(f"explain --order 2 derives second derivatives of scalar (elementwise) models; "
                    f"∂{top}/∂{wrt} involves sums or matrix products: `irgraph run MODEL --hessian` "
                    "computes the Hessian of any model")


def explain_second(graph, wrt, output=None, inputs=None):
    """The derivation of ∂²output/∂wrt² as printable text; with inputs ({input: value}, an op-level graph
    from irgraph.parse), also its value there."""
    wrt = one_name(wrt)
    eq = graph if graph.level == "equation" else graph.equations()
    out = output or eq.outputs[0]
    found = second_derivative(eq, wrt, output)
    d2 = f"∂²{out}/∂{wrt}²"
    if found is None:
        return f"{d2} = 0\n\n{out} does not depend on {wrt}: no path leads from {wrt} to {out}."
    first, steps, total = found
    d1 = f"∂{out}/∂{wrt}"
    lines = [f"{d2} by the chain rule, applied twice", "",
             f"First derivative (as `irgraph explain --wrt {wrt}` derives it):", f"  {d1} = {_text(first)}", ""]
    if not steps:
        lines += [f"{d1} does not change with {wrt}, so", f"  {d2} = 0"]
        return "\n".join(lines)
    names = ", ".join(steps)
    lines.append(f"{d1} depends on {wrt} through {names}; differentiate it along each:" if len(steps) > 1
                 else f"{d1} depends on {wrt} through {names}:")
    for name, (outer, inner) in steps.items():
        lines.append(f"  ∂({d1})/∂{name} = {_text(outer)}")
        if name != wrt:
            lines.append(f"  ∂{name}/∂{wrt} = {_text(inner)}")
    lines.append("")
    lines.append("Chain rule again: multiply along each, add:" if len(steps) > 1 else "Chain rule again:")
    head = f"  {d2} = "
    pad = " " * (len(head) - 2) + "= "
    symbolic = [f"∂({d1})/∂{n}" + ("" if n == wrt else f" * ∂{n}/∂{wrt}") for n in steps]
    numeric = [_factor(o) + ("" if n == wrt else f" * {_factor(i)}") for n, (o, i) in steps.items()]
    lines.append(head + " + ".join(symbolic))
    lines.append(pad + " + ".join(numeric))
    shown = "(too long to print)" if tree_size(total, cap=MAX_TERMS + 1) > MAX_TERMS else _final(total)
    lines += ["", "Simplified:", f"  {d2} = {shown}"]
    numbers = numbers_at(graph, out, inputs)
    if numbers is not None:
        lines += ["", f"At the given inputs: {d2} = {V.show(V.eval_expr(total, numbers.value))}"]
    return "\n".join(lines)


def _text(e):
    return "(too long to print)" if tree_size(e, cap=MAX_TERMS + 1) > MAX_TERMS else product_text(e)


def _factor(e):
    t = _text(e)
    return f"({t})" if e.op in ("add", "sub", "neg") else t
