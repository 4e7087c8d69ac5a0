"""The old-fashioned derivative, for `explain` to set beside the chain rule: write the output out in the
inputs alone (every equation substituted into the next) and differentiate that one formula directly, the
way a calculus course does before it teaches the chain rule.

Both come from the same op rules (irgraph.ir.expr.derivatives), so where they agree it is the chain rule
being checked, not the rules: numerically at given inputs (against the compiled program too), else by SymPy.
"""

import numpy as np

from irgraph.backends.runtime import _sum_to
from irgraph.ir.expr import G, const, derivatives, substitute, var

from . import values as V
from .algebra import same
from .names import is_pullback, tree_size

MAX_EXPANDED = 400  # the written-out formula is shown when its tree is at most this big


def written_out(eq, out, on):
    """{node on the way: its value as one formula of the inputs}, equations substituted in topological order."""
    nodes = eq.nx.nodes
    formula = {}
    for n in eq.topo():
        if n not in on:
            continue
        d = nodes[n]
        if d.get("expr") is None:
            formula[n] = var(n)
        else:
            formula[n] = substitute(d["expr"], {var(u): formula[u] for u in eq.preds[n] if u in formula})
    return formula


def derivative(formula, wrt):
    """∂formula/∂wrt, a pullback applied to the seed 1 where tensor ops lie on the way."""
    d = derivatives(formula, [var(wrt)])[var(wrt)]
    return substitute(d, {G: const(1)}) if is_pullback(d) else d


def too_long(e):
    return tree_size(e, cap=MAX_EXPANDED + 1) > MAX_EXPANDED


def agreement(chain_rule, old, formula, wrt, numbers):
    """One sentence saying whether the chain rule's result and the old-fashioned one agree, and how we know."""
    if numbers is not None and numbers.value:
        try:
            with np.errstate(all="ignore"):
                like = np.asarray(numbers.value[wrt], dtype=float)
                a = _sum_to(np, np.asarray(V.eval_expr(chain_rule, numbers.value), dtype=float), like)
                b = _sum_to(np, np.asarray(V.eval_expr(old, numbers.value), dtype=float), like)
        except Exception as e:  # noqa: BLE001 - a model the evaluator cannot follow: say so, do not fail
            return f"(could not evaluate them at the given inputs: {e})"
        ok = np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True)
        words = f"at the given inputs the chain rule gives {V.show(a)} and the written-out formula {V.show(b)}"
        program = numbers.grad.get(wrt)
        if program is not None:
            words += f"; the compiled program gives {V.show(program)}"
            ok = ok and np.allclose(a, np.asarray(program, dtype=float), rtol=1e-9, atol=1e-12, equal_nan=True)
        return f"They agree: {words}." if ok else f"They DIFFER: {words}."
    inlined = substitute(chain_rule, {var(n): f for n, f in formula.items() if f is not var(n)})
    verdict = same(inlined, old)
    if verdict:
        return "They agree: with the equations substituted, SymPy simplifies their difference to 0."
    return "(give --set or --inputs to compare them at numbers)"
