"""How names and expressions read in a picture: w1 → w₁, yhat → ŷ, loss → L, ∂L/∂w₁.

`Names(graph_names, output)` builds one mapping for a whole graph and falls back to the plain name
wherever two names would read the same (a model with both `loss` and `L` keeps both as written).
"""

import re
import unicodedata

from irgraph.ir.expr import Expr, G, build, postorder, to_text
from irgraph.ir.ops import OPS, ROWS

from .algebra import readable
from .values import number

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "lambda": "λ", "lam": "λ", "mu": "μ", "sigma": "σ", "tau": "τ", "phi": "φ", "omega": "ω",
}
_ACCENT = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303", "dot": "\u0307"}
_LOSS = {"loss", "cost", "objective"}
_PARTS = re.compile(r"^([A-Za-z]+?)_?(hat|bar|tilde|dot)?_?(\d*)$")


def pretty_name(name):
    """One name as a lecture writes it: w1 → w₁, W_2 → W₂, yhat → ŷ, y_hat1 → ŷ₁, sigma → σ."""
    m = _PARTS.match(name)
    if not m:
        return name
    base, accent, digits = m.groups()
    if not accent and not digits:
        return _GREEK.get(base, name)
    base = _GREEK.get(base, base)
    if accent:
        if len(base) != 1:
            return name  # an accent over a long name reads worse than the name
        base = unicodedata.normalize("NFC", base + _ACCENT[accent])
    return base + digits.translate(_SUB)


class Names:
    """Display names for one graph: `names(label)` maps a name (or an inlined expression) to its form."""

    def __init__(self, names, output=None, plain=False):
        self.plain = plain
        wanted = {}
        for n in names:
            if plain:
                wanted[n] = n
            elif n == output and n.lower() in _LOSS:
                wanted[n] = "L"
            else:
                wanted[n] = pretty_name(n)
        taken = {}
        for n, shown in wanted.items():
            taken.setdefault(shown, []).append(n)
        self.map = {n: (shown if len(taken[shown]) == 1 and (shown == n or shown not in wanted) else n)
                    for n, shown in wanted.items()}

    def __call__(self, label):
        if label in self.map:
            return self.map[label]
        if label.endswith("ᵀ"):
            return self(label[:-1]) + "ᵀ"
        if label.isidentifier():
            return label if self.plain else pretty_name(label)
        return label if self.plain else _pretty_inline(label, self)

    def d(self, top, bottom):
        """∂top/∂bottom."""
        return f"∂{self(top)}/∂{self(bottom)}"


def _pretty_inline(text, names):
    """An inlined expression label (op level, in model syntax) in the pretty style."""
    text = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: names(m.group()) if m.group() in names.map else m.group(),
                  text)
    return text.replace(" - ", " − ").replace("*", "·")


# ---- expressions for display ---------------------------------------------------------------------------

def is_pullback(e):
    return any(s is G for s in postorder(e))


def for_display(e):
    """Rewrite internal ops into lecture notation, for printing only (never evaluated).

    unsum(g, x) → g (broadcasting is implicit on paper), count(x) → N, mm_left(g, a, b) → g @ bᵀ,
    mm_right(g, a, b) → aᵀ @ g, sum_to(x, like) → x, transpose(v) → vᵀ, log_sigmoid(z) → log(sigmoid(z)).
    """
    out = {}
    for s in postorder(e):
        args = [out[a] for a in s.args]
        if s.op == "unsum" or s.op == "sum_to":
            r = args[0]
        elif s.op == "count":
            r = Expr("var", (), ("N", "N"))
        elif s.op == "mm_left":
            r = build("matmul", args[0], _transposed(args[2]))
        elif s.op == "mm_right":
            r = build("matmul", _transposed(args[1]), args[0])
        elif s.op == "transpose":
            r = _transposed(args[0])
        elif s.op == "log_sigmoid":  # the stable form the compiler chose for log(sigmoid(z))
            r = Expr("log", (Expr("sigmoid", (args[0],), ()),), ())
        elif s.args:
            r = build(s.op, *args, params=s.attr)
        else:
            r = s
        out[s] = r
    return out[e]


def _transposed(e):
    if e.op == "var":
        return Expr("var", (), (e.attr[0], e.attr[1] + "ᵀ"))
    return Expr("transpose", (e,), ())


def pretty(e, names, as_written=False):
    """An expression in lecture notation: Unicode operators, w₁ and ŷ, (ŷ − y)²; simplified for reading
    (viz/algebra.py) unless `as_written` (an equation's right-hand side reads as the user wrote it)."""
    shown = for_display(e) if as_written else readable(for_display(e))
    return superscripts(to_text(shown, style="pretty", name=names))


_POWER = re.compile(r"\^(−?\d+)(?![\d.])")
_SUPER = str.maketrans("0123456789−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def superscripts(text):
    """x^2 → x², x^−1 → x⁻¹ (integer powers only)."""
    return _POWER.sub(lambda m: m.group(1).translate(_SUPER), text)


def text(e, names, style="pretty"):
    """An expression as it reads on an edge: a multiplier, or `g ↦ ...` for a pullback."""
    shown = pretty(e, names) if style == "pretty" else to_text(readable(for_display(e)), style=style, name=names)
    return f"g ↦ {shown}" if is_pullback(e) else shown


def factors(e):
    """The top-level factors of a product, a constant coefficient kept with the factor after it."""
    todo, flat = [e], []
    while todo:
        s = todo.pop()
        if s.op == "mul":
            todo.extend(reversed(s.args))
        else:
            flat.append(s)
    out = []
    for s in flat:
        if out and out[-1].op == "const" and not out[-1] is s:
            out[-1] = Expr("mul", (out[-1], s), ())  # 2*(yhat - y) stays one factor
        else:
            out.append(s)
    return out


def product_text(e, names=None, style="model"):
    """A product printed factor by factor: `2*(yhat - y) * x1` (model) or `2(ŷ − y) · x₁` (pretty)."""
    join = " * " if style == "model" else " · "
    parts = []
    fs = factors(e)
    for f in fs:
        t = to_text(readable(for_display(f)), style=style, name=names)
        if style == "pretty":
            t = superscripts(t)
        if len(fs) > 1 and f.op in ("add", "sub") or (f.op == "neg" and parts):
            t = f"({t})"
        parts.append(t)
    return join.join(parts)


def tree_size(e, cap=10**6):
    """How long `e` would print as a tree (shared subexpressions count each time), capped."""
    size = {}
    for s in postorder(e):
        size[s] = min(cap, 1 + sum(size[a] for a in s.args))
    return size[e]


# ---- ops -------------------------------------------------------------------------------------------------

OP_SYMBOL = {row.name: row.display for row in ROWS if row.display}  # the op rows say how ops are drawn


def op_label(op):
    """How an op node reads: its symbol, or its name."""
    return OP_SYMBOL.get(op, op)


def with_constants(op, inline):
    """An op's symbol with its constant operands written in: `2 ×`, `^ 2`, `1 ÷`, `fill(·, 3)`."""
    sym = op_label(op)
    if not inline:
        return sym
    row = OPS[op]
    shown = {i: number(c) for i, c in inline.items()}
    if row.symbol and row.arity == 2 and len(shown) == 1:
        ((i, c),) = shown.items()
        return f"{c} {sym}" if i == 0 else f"{sym} {c}"
    return f"{sym}({', '.join(shown.get(i, '·') for i in range(row.arity))})"
