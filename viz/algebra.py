"""Algebra for display only: the form of a partial a student recognises. Never evaluated, never compiled.

`readable(e)` returns an expression that prints well and means the same: signs pulled outwards
(`−(−a)` → `a`, `a + −b` → `a − b`), commutative operands in one canonical order, and for small
expressions SymPy's cancellation and factoring (`2u − 2cos(u)sin(u) + 2sin(u)cos(u)` → `2u`,
`((1 − y)/(1 − p) − y/p)·p(1 − p)/N` → `(p − y)/N`). The shortest form wins, the plain one on a tie.
SymPy is imported here, lazily, on first use: the compiler and the generated programs never need it, and
without it (or above SYMPY_SIZE) the plain, tidied form is shown.
"""

import functools

from irgraph.ir.expr import Expr, const, postorder, to_text

SYMPY_SIZE = 60  # operations in an expression, beyond which SymPy is not asked (its time grows fast)

# Ops SymPy knows by the same meaning; everything else (matmul, internal helpers) stays an opaque atom.
_FUNCS = ("exp", "log", "sin", "cos", "tanh", "sqrt", "abs")
_ARITHMETIC = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y,
               "div": lambda x, y: x / y, "pow": lambda x, y: x ** y, "neg": lambda x: -x}


def readable(e):
    """`e` in the form it should be printed in (see the module docstring)."""
    return _readable(e)


@functools.lru_cache(maxsize=4096)
def _readable(e):
    plain = tidy(e)
    if size(plain) > SYMPY_SIZE or size(plain) <= 2:
        return _signs_in(plain)
    try:
        candidates = _sympy_forms(plain)
    except Exception:  # noqa: BLE001 - display only: any SymPy trouble shows the plain form
        return _signs_in(plain)
    return _signs_in(min([plain, *candidates], key=reading_cost))  # min keeps the first (plain) on a tie


def reading_cost(e):
    """Fewer operations first, then fewer repeated names: 2*x^2 reads better than 2*x*x."""
    n = size(e)
    if n > SYMPY_SIZE:  # only small expressions are ever compared this closely
        return n, 0
    names, stack = [], [e]  # every printed occurrence: at most SYMPY_SIZE of them
    while stack:
        s = stack.pop()
        names += [s.attr] if s.op == "var" else []
        stack.extend(s.args)
    return n, len(names) - len(set(names))


def size(e):
    """How many operations and leaves `e` prints (shared sub-expressions counted each time)."""
    n = {}
    for s in postorder(e):
        n[s] = 1 + sum(n[a] for a in s.args)
    return n[e]


# ---- tidy: signs outwards, canonical order, no SymPy --------------------------------------------------

def _make(op, *args):
    return Expr(op, args, ())


def _neg(x):
    """−x, kept outermost while tidying (so signs of factors cancel); `_signs_in` places it for reading."""
    if x.op == "neg":
        return x.args[0]
    if x.op == "const":
        return const(-x.attr) if x.attr else const(0)
    return _make("neg", x)


def _signs_in(e):
    """A leading minus written on the first factor: −2(ŷ − y), −a·b, −a/b (not −(2(ŷ − y)) or −(a/b))."""
    out = {}
    for s in postorder(e):
        args = [out[a] for a in s.args]
        r = Expr(s.op, tuple(args), s.attr) if s.args else s
        while r.op == "neg" and r.args[0].op in ("mul", "div"):
            first, rest = r.args[0].args
            first = const(-first.attr) if first.op == "const" else _neg(first)
            r = _make(r.args[0].op, first, rest)
            if first.op == "neg" and first.args[0].op in ("mul", "div"):
                r = _make(r.op, _signs_in(first), rest)
                break
        out[s] = r
    return out[e]


def _key(e):
    """Canonical order: numbers first, then names, then calls, then sums; equal kinds by their text."""
    rank = {"const": 0, "var": 1, "g": 1}.get(e.op, 3 if e.op in ("add", "sub") else 2)
    return rank, to_text(e)


def tidy(e):
    """Signs pulled outwards and commutative operands sorted, bottom-up, without SymPy."""
    out = {}
    for s in postorder(e):
        args = [out[a] for a in s.args]
        if s.op == "neg":
            r = _neg(args[0])
        elif s.op in ("mul", "div"):
            sign = 1
            bare = []
            for a in args:
                if a.op == "neg" or (a.op == "const" and a.attr < 0):
                    sign, a = -sign, _neg(a)
                bare.append(a)
            if s.op == "mul":
                factors = _flat(bare, "mul")
                factors = [f for f in factors if not (f.op == "const" and f.attr == 1)] or [const(1)]
                r = _chain("mul", sorted(factors, key=_key))
            else:
                r = bare[0] if bare[1].op == "const" and bare[1].attr == 1 else _make("div", *bare)
            r = _neg(r) if sign < 0 else r
        elif s.op in ("add", "sub"):
            terms = [(1, args[0]), (1 if s.op == "add" else -1, args[1])]
            flat = []
            while terms:
                sign, t = terms.pop(0)
                if t.op == "neg":
                    terms.insert(0, (-sign, t.args[0]))
                elif t.op in ("add", "sub") and t.args:
                    terms[:0] = [(sign, t.args[0]), (sign if t.op == "add" else -sign, t.args[1])]
                else:
                    flat.append((sign, t))
            flat.sort(key=lambda st: (st[0] < 0, _key(st[1])))  # positive terms first, then in order
            r = flat[0][1] if flat[0][0] > 0 else _neg(flat[0][1])
            for sign, t in flat[1:]:
                r = _make("add" if sign > 0 else "sub", r, t)
        elif s.args:
            r = Expr(s.op, tuple(args), s.attr)
        else:
            r = s
        out[s] = r
    return out[e]


def _flat(args, op):
    todo, flat = list(args), []
    while todo:
        a = todo.pop(0)
        if a.op == op:
            todo[:0] = list(a.args)
        else:
            flat.append(a)
    return flat


def _chain(op, items):
    r = items[0]
    for x in items[1:]:
        r = _make(op, r, x)
    return r


# ---- SymPy ------------------------------------------------------------------------------------------

def _sympy_forms(e):
    """The forms SymPy offers for `e`: as it stands (like terms collected), factored, and cancelled."""
    import sympy  # lazily: only pictures and explain ever ask

    back = {}
    s = _to_sympy(e, sympy, back)
    forms = [s, sympy.factor(s), sympy.cancel(s)]
    return [_one(f, sympy, back) for f in forms]


def _to_sympy(e, sympy, back, atoms=None):
    """`e` as a SymPy expression; back: {SymPy symbol: the Expr it stands for} for names and for ops SymPy
    must not reinterpret (matmul, the internal helpers), which become atoms with readable insides.
    atoms: {name or Expr: its symbol}, shared by calls that must agree on their atoms."""
    atoms = {} if atoms is None else atoms
    done = {}
    for s in postorder(e):
        a = [done.get(x) for x in s.args]
        if s.op == "const":
            v = s.attr
            r = sympy.Integer(int(v)) if float(v).is_integer() else sympy.nsimplify(v)
        elif s.op in _ARITHMETIC:
            r = _ARITHMETIC[s.op](*a)
        elif s.op in _FUNCS:
            r = getattr(sympy, "Abs" if s.op == "abs" else s.op)(a[0])
        else:
            key = ("var", s.attr[1]) if s.op == "var" else s
            if key not in atoms:
                atoms[key] = sympy.Symbol(f"_a{len(atoms)}")
                inside = Expr(s.op, tuple(readable(x) for x in s.args), s.attr) if s.args else s
                back[atoms[key]] = inside
            r = atoms[key]
        done[s] = r
    return done[e]


def _one(node, sympy, back):
    """A SymPy expression as an Expr that prints like a lecture: a − b, a/b, −a (recursive: SymPy is
    only asked about small expressions). Signs and factors are read off, never re-multiplied by SymPy,
    which would spread 2·(a − b) into 2a − 2b."""
    negative, e = _signed(node, sympy, back)
    return _neg(e) if negative else e


def _signed(node, sympy, back):
    """(whether node is negative, the Expr of its magnitude)."""
    if node.is_Symbol:
        return False, back[node]
    if node.is_Number:
        if node.is_Rational and node.q != 1:
            return bool(node < 0), _make("div", const(abs(node.p)), const(node.q))
        return bool(node < 0), const(abs(float(node)))
    if node.is_Add:
        terms = sorted((_signed(t, sympy, back) for t in sympy.Add.make_args(node)),
                       key=lambda nt: (nt[0], _key(nt[1])))  # positive terms first, then in canonical order
        r = None
        for neg, x in terms:
            r = (_neg(x) if neg else x) if r is None else _make("sub" if neg else "add", r, x)
        return False, r
    if node.is_Mul:
        negative, num, den = False, [], []
        for x in sympy.Mul.make_args(node):
            if x.is_Number:
                negative ^= bool(x < 0)
                x = abs(x)
                if x.is_Rational and x.q != 1:
                    den.append(const(x.q))
                    x = sympy.Integer(x.p)
                if x != 1:
                    num.append(const(float(x)))
            elif x.is_Pow and x.args[1].is_Number and x.args[1] < 0:
                den.append(_one(x.args[0] ** -x.args[1], sympy, back))
            else:
                num.append(_one(x, sympy, back))
        top = _chain("mul", sorted(num, key=_key)) if num else const(1)
        return negative, (_make("div", top, _chain("mul", sorted(den, key=_key))) if den else top)
    return False, _plain_node(node, sympy, back)


def _plain_node(node, sympy, back):
    if node.is_Pow:
        base, ex = node.args
        if ex.is_Number and ex < 0:
            return _make("div", const(1), _one(base ** -ex, sympy, back))
        if ex == sympy.Rational(1, 2):
            return Expr("sqrt", (_one(base, sympy, back),), ())
        return _make("pow", _one(base, sympy, back), _one(ex, sympy, back))
    name = "abs" if isinstance(node, sympy.Abs) else type(node).__name__
    if name in _FUNCS:
        return Expr(name, (_one(node.args[0], sympy, back),), ())
    raise ValueError(f"no display form for {node}")


SAME_SIZE = 200  # the most operations `same` hands SymPy


def same(a, b):
    """True when SymPy shows a − b simplifies to 0; None when it cannot tell (or is not asked: too big)."""
    if size(a) > SAME_SIZE or size(b) > SAME_SIZE:
        return None
    try:
        import sympy

        back, atoms = {}, {}
        difference = _to_sympy(tidy(a), sympy, back, atoms) - _to_sympy(tidy(b), sympy, back, atoms)
        return True if sympy.simplify(difference) == 0 else None
    except Exception:  # noqa: BLE001 - display only
        return None
