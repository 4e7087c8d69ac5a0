"""Small immutable expressions: the partial on an edge, an equation's right-hand side.

Expressions are hash-consed, so equal expressions are the same object: equality and hashing are
identity and never recurse, and every walk over an expression is an explicit loop (an equation may be
thousands of operations deep). Arithmetic on expressions builds simplified expressions.
"""

import math
import sys
import weakref

from .algebra import rewrite
from .ops import OPS
from .sweep import reverse_sweep

_TABLE = weakref.WeakValueDictionary()


class Expr:
    """One operation over sub-expressions; leaves are `var`, `const` and the upstream gradient `G`."""

    __slots__ = ("__weakref__", "args", "attr", "op")

    def __new__(cls, op, args=(), attr=None):
        key = (op, _signed(attr), tuple(id(a) for a in args))
        found = _TABLE.get(key)
        if found is not None:
            return found
        self = object.__new__(cls)
        self.op, self.args, self.attr = op, tuple(args), attr
        _TABLE[key] = self
        return self

    def __reduce__(self):
        return (Expr, (self.op, self.args, self.attr))

    # Arithmetic builds simplified IR, so derivative rules read like math.
    def __add__(self, other): return build("add", self, other)
    def __radd__(self, other): return build("add", other, self)
    def __sub__(self, other): return build("sub", self, other)
    def __rsub__(self, other): return build("sub", other, self)
    def __mul__(self, other): return build("mul", self, other)
    def __rmul__(self, other): return build("mul", other, self)
    def __truediv__(self, other): return build("div", self, other)
    def __rtruediv__(self, other): return build("div", other, self)
    def __pow__(self, other): return build("pow", self, other)
    def __rpow__(self, other): return build("pow", other, self)
    def __matmul__(self, other): return build("matmul", self, other)
    def __neg__(self): return build("neg", self)

    def __str__(self):
        return to_text(self)

    def __repr__(self):
        return f"Expr({to_text(self)!r})"


def _signed(attr):
    """A constant's key: -0.0 == 0.0 in Python, but x/-0.0 is -inf, so the two must stay apart."""
    return (attr, math.copysign(1.0, attr)) if type(attr) is float else attr


def const(value):
    """A scalar constant."""
    return Expr("const", (), float(value))


def var(ref, label=None):
    """A reference to a graph node `ref`, printed as `label` (its name, or its defining expression)."""
    return Expr("var", (), (ref, label if label is not None else str(ref)))


class Ref(Expr):
    """A `var` naming graph node `node` whose label `label_of(node)` is printed on first read of `attr`.

    passes.attach_partials makes them for unnamed nodes: only pictures and explain read the labels, and
    printing every node's expression cost a sixth of compiling a long chain. Not hash-consed (one per node
    of one graph); node_of reads the node without printing anything.
    """

    __slots__ = ("_label_of", "node")
    op, args = "var", ()  # shadow Expr's slots: every Ref is a leaf

    def __new__(cls, node, label_of):
        self = object.__new__(cls)
        self.node, self._label_of = node, label_of
        return self

    @property
    def attr(self):
        return (self.node, self._label_of(self.node))


def node_of(e):
    """The graph node a `var` leaf names (a Ref's label stays unprinted)."""
    return e.node if type(e) is Ref else e.attr[0]


G = Expr("g", (), None)  # the upstream gradient in a pullback


def is_const(e, value=None):
    return e.op == "const" and (value is None or e.attr == value)


def _lift(x):
    return x if isinstance(x, Expr) else const(x)


def call(op, *args, **params):
    """Build `op(args)` with the algebra's simplifications (for rules that name an op), e.g.
    call("unsum", G, x, axis=0); parameters not given take the op row's defaults."""
    row = OPS[op]
    return build(op, *args, params=row.bind(params.get(p.name, p.default) for p in row.params))


def build(op, *args, params=()):
    """Build an expression, simplified by the shared rewrite rules; `params` are (name, value) pairs."""
    args = tuple(_lift(a) for a in args)
    return rewrite(op, args, params, _BUILDER) or Expr(op, args, params)


class _ExprBuilder:
    """The rewrite rules' view of expressions (the graph simplify pass offers the same view of nodes)."""

    const = staticmethod(const)

    @staticmethod
    def value(e):
        return e.attr if e.op == "const" else None

    @staticmethod
    def op(e):
        return e.op

    @staticmethod
    def args(e):
        return e.args

    @staticmethod
    def make(op, args, params=()):
        return build(op, *args, params=params)

    @staticmethod
    def params(e):
        return e.attr

    @staticmethod
    def same_shape(x, y):
        return x is y

    @staticmethod
    def scalar(e):
        return e.op == "const"


_BUILDER = _ExprBuilder()
_SELF = sys.modules[__name__]  # what the op table's partial rules build with (e.G, e.call, e.const)


def postorder(root):
    """Every sub-expression once, children before parents, without recursion."""
    seen, order, stack = set(), [], [(root, False)]
    while stack:
        e, done = stack.pop()
        if done:
            order.append(e)
        elif id(e) not in seen:
            seen.add(id(e))
            stack.append((e, True))
            stack.extend((a, False) for a in reversed(e.args))
    return order


def substitute(e, mapping):
    """Replace sub-expressions by `mapping` (keyed by identity) and re-simplify, bottom-up."""
    out = {}
    for s in postorder(e):
        if s in mapping:
            out[s] = mapping[s]
        elif s.args:
            out[s] = build(s.op, *(out[a] for a in s.args), params=s.attr)
        else:
            out[s] = s
    return out[e]


def derivatives(e, leaves, local=None):
    """{leaf: ∂e/∂leaf} for all leaves at once: two reverse sweeps, however many leaves.

    local: {sub-expression: its partials, one per argument} for nodes the op table does not define, such
    as the equations of a graph (the chain rule over a model: each equation a node, its edges' partials
    its partials); a local partial that mentions G is a pullback.
    """
    order = postorder(e)
    local = local or {}
    tensor = {id(s) for s in local if any(_mentions_g(p) for p in local[s])}
    under_tensor = set()  # sub-expressions with a tensor op somewhere between them and e
    for s in reversed(order):  # parents before children
        if id(s) in under_tensor or id(s) in tensor or (s.args and s not in local and OPS[s.op].kind == "tensor"):
            under_tensor.update(id(a) for a in s.args)
    multipliers = _sweep(order, e, const(1), True, local, tensor)
    pullbacks = _sweep(order, e, G, False, local, tensor) if any(id(x) in under_tensor for x in leaves) else {}
    found = {x: (pullbacks if id(x) in under_tensor else multipliers).get(x) for x in leaves}
    return {x: const(0) if d is None else d for x, d in found.items()}


def _mentions_g(e):
    return any(s is G for s in postorder(e))


def pushforward(pullback, out):
    """The tangent map of a tensor edge, an expression in G (now the operand's tangent): the pullback transposed.

    A pullback is linear in G, so its own pullback with respect to G, built by the same table's rules, is
    the Jacobian applied to a tangent: transposing `g ↦ g @ bᵀ` gives `t ↦ t @ b`, and `g ↦ unsum(g)` gives
    `t ↦ sum(t)`. G had the shape of the op's result; `out` (an expression of that shape) stands in for it
    where the transposed rule reads only a shape (`sum_to(t, out)`). None when the edge carries nothing.
    """
    cotangent = var(("cotangent",), "ḡ")
    d = derivatives(substitute(pullback, {G: cotangent}), [cotangent])[cotangent]
    if is_const(d, 0):
        return None
    d = substitute(d, {cotangent: out})
    return d if _mentions_g(d) else G * d  # a pullback elementwise in g: a multiplier


def _sweep(order, e, seed, elementwise_only, local, tensor):
    """{sub-expression: ∂e/∂sub-expression}: multipliers (elementwise_only) or pullbacks applied to G."""

    def pullback(s, g):
        if not s.args:
            return []
        if s in local:
            if elementwise_only and id(s) in tensor:
                return []
            partials, pulled = local[s], [_mentions_g(p) for p in local[s]]
        else:
            row = OPS[s.op]
            if elementwise_only and row.kind == "tensor":
                return []
            partials = row.partials(_SELF, *s.args, s, **dict(s.attr))
            pulled = [row.kind == "tensor"] * len(partials)
        return [(a, substitute(p, {G: g}) if pb else g * p)
                for a, p, pb in zip(s.args, partials, pulled)
                if a.op != "const" and not (s.op == "pow" and is_const(p, 0))]  # x^0 contributes nothing

    return reverse_sweep(order, e, seed, pullback, _total)


def _total(_, pieces):
    total = pieces[0]
    for piece in pieces[1:]:
        total = total + piece
    return total


# ---- printing -------------------------------------------------------------------------------------------

def number(value):
    """A constant as people write it: 2 rather than 2.0."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


def to_text(e, style="model", name=None):
    """Print an expression in the model syntax (style "model") or with Unicode symbols ("pretty").

    `name` maps a variable label to its printed form (the pretty style uses it for w₁ and ŷ).
    The text is written out piece by piece from an explicit stack: no sub-expression's text is ever held
    on its own, so memory stays linear in the printed length (keeping each sub-expression's text cost
    cubic memory on a deep chain, where every partial product contains all the factors below it).
    """
    pretty = style == "pretty"
    prec = {}
    for s in postorder(e):
        prec[s] = _prec(s, prec)
    out, stack = [], [e]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            out.append(item)
        else:
            stack.extend(reversed(_pieces(item, prec, pretty, name)))
    return "".join(out)


def _prec(s, prec):
    """How tightly the printed form of `s` binds (5: an atom or a call; 0: an inlined expression)."""
    if s.op == "var":
        return 5 if s.attr[1].isidentifier() else 0  # an inlined expression: parenthesised wherever it stands
    if s.op == "const":
        return 3 if s.attr < 0 else 5
    if s.op == "g":
        return 5
    if s.op == "id":
        return prec[s.args[0]]
    if s.op == "neg":
        return 3
    if OPS[s.op].symbol:
        return OPS[s.op].prec
    if s.op in ("mm_left", "mm_right"):
        return 2
    return 5


def _pieces(s, prec, pretty, name):
    """What `s` prints as: strings and sub-expressions (printed in their turn), in order."""
    if s.op == "var":
        return [name(s.attr[1]) if name else s.attr[1]]
    if s.op == "const":
        t = number(s.attr)
        return [t.replace("-", "−") if pretty else t]
    if s.op == "g":
        return ["g"]
    if s.op == "id":
        return [s.args[0]]
    if s.op == "neg":
        a = s.args[0]
        return [_symbol(s.op, pretty), *_wrapped(a, prec[a] <= 3)]
    if OPS[s.op].symbol:
        a, b = s.args
        q = OPS[s.op].prec
        if s.op == "pow":
            left, right = prec[a] <= q, prec[b] < q
        else:
            left, right = prec[a] < q, prec[b] <= q or prec[b] == 3  # a*(-b), a - (b - c)
        if pretty and s.op == "mul" and a.op == "const" and prec[b] <= 2:
            return [a, *_wrapped(b, True)]  # 2(ŷ − y), as a lecture writes it
        return [*_wrapped(a, left), _symbol(s.op, pretty, spaced=True), *_wrapped(b, right)]
    if s.op in ("mm_left", "mm_right"):  # the matmul pullbacks read as g @ bᵀ and aᵀ @ g
        g, a, b = s.args
        m = b if s.op == "mm_left" else a
        mt = [*_wrapped(m, prec[m] < 5), "ᵀ"] if pretty else ["transpose(", m, ")"]
        if s.op == "mm_left":
            return [*_wrapped(g, prec[g] < 2), " @ ", *mt]
        return [*mt, " @ ", *_wrapped(g, prec[g] <= 2)]
    shown = [number(v) if isinstance(v, float) else str(v) for v in _given(s)]
    items = [f"{s.op}("]
    for i, a in enumerate(list(s.args) + shown):
        items += [", ", a] if i else [a]
    return [*items, ")"]


def _wrapped(e, yes):
    return ["(", e, ")"] if yes else [e]


def _symbol(op, pretty, spaced=False):
    """An infix op's symbol; + − and @ stand between spaces, * / ^ do not."""
    row = OPS[op]
    sym = (row.pretty or row.symbol) if pretty else row.symbol
    return f" {sym} " if spaced and row.prec == 1 or op == "matmul" else sym


def _given(e):
    """The parameter values an op prints: those that differ from the row's defaults."""
    return [v for (_, v), p in zip(e.attr or (), OPS[e.op].params) if v is not None and v != p.default]

