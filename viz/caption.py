"""The caption under a highlighted picture: the chain rule along the paths from the output back to one
variable, as symbols, as partials and (with values) as numbers."""


import numpy as np

from . import chain, style
from . import values as V
from .names import is_pullback
from .names import text as expr_text
from .scene import wrap

MAX_CAPTION_PATHS = 4
MAX_CAPTION_FACTORS = 8
CAPTION_WIDTH = 100
CAPTION_LINE = 150
MAX_ON_THE_WAY = 4  # equations between the output and the target whose gradients the caption lists


def caption(eq, out, target, names, numbers):
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
            xs = [None if is_pullback(partial[e]) else try_eval(partial[e], numbers.value) for e in p]
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
                lines.append(wrap(lead + term, CAPTION_LINE))
    caption = [(t, style.HIGHLIGHT) for t in lines]
    if any(is_pullback(partial[e]) for p in paths for e in p):
        caption += _on_the_way(part, out, target, on, names)
        caption.append(("g ↦ …: a vector-Jacobian product of the gradient arriving from above", style.MUTED))
    return caption


def _on_the_way(part, out, target, on, names):
    """The gradient at each equation between the output and the target, simplified: where the partials are
    pullbacks their product says little, and ∂L/∂z = (p − y)/N is what a lecture writes on the way."""
    between = [n for n in reversed(part.topo()) if n in on and n not in (out, target)]
    if not between or len(between) > MAX_ON_THE_WAY:
        return []
    shown = [f"{names.d(out, n)} = {expr_text(chain.derivative(part, out, n), names)}" for n in between]
    return [(wrap("where " + ",  ".join(shown), CAPTION_LINE), style.HIGHLIGHT)]


def _factor(p, names):
    t = expr_text(p, names)
    if is_pullback(p):
        return f"[{t}]"
    return f"({t})" if p.op in ("add", "sub") else t

def try_eval(expr, env):
    try:
        with np.errstate(all="ignore"):
            return V.eval_expr(expr, env)
    except Exception:  # noqa: BLE001 - a label's number is a nicety; the node values already report real errors
        return None
