"""Local rewrite rules, shared by expression building and the graph simplify pass.

`rewrite(op, args, params, b)` returns a replacement for `op(args)` or None to keep it. `b` is a builder:
`b.value(x)` (a constant's value or None), `b.op(x)`, `b.args(x)`, `b.params(x)`, `b.const(v)`,
`b.make(op, args, params)`, `b.same_shape(x, y)` (True only when the shapes are surely equal) and
`b.scalar(x)` (True only when x is surely a scalar).
Every rule keeps the result's shape: a scalar constant never replaces an array (so no `x*0 → 0`).
"""

from .ops import OPS, fold


def rewrite(op, args, params, b):
    rule = _RULES.get(op)
    if rule is None and (not args or b.value(args[0]) is None):
        return None  # folding needs constant operands: most nodes end here, and fast
    value = b.value
    values = (value(args[0]), value(args[1])) if len(args) == 2 else [value(a) for a in args]  # most: no list
    row = OPS[op]
    if row.kind == "elementwise" and args and None not in values:
        return b.const(fold(op, values, params))
    if op in _WHOLE and values[0] is not None and all(v is None for _, v in params):
        return args[0]  # a constant is its own sum, mean and transpose (and stays a weak Python float)
    return rule(args, values, b) if rule else None


_WHOLE = ("sum", "mean", "transpose", "logsumexp")


def _add(args, values, b):
    (x, y), (u, v) = args, values
    if v == 0:
        return x
    if u == 0:
        return y
    if x is y:
        return b.make("mul", (b.const(2), x))
    if b.op(y) == "neg":
        return b.make("sub", (x, b.args(y)[0]))
    return None


def _sub(args, values, b):
    (x, y), (u, v) = args, values
    if v == 0:
        return x
    if u == 0:
        return b.make("neg", (y,))
    if v is not None:  # x - c → x + (-c) keeps constants on one side for folding
        return None
    if b.op(y) == "neg":
        return b.make("add", (x, b.args(y)[0]))
    return None


def _mul(args, values, b):
    (x, y), (u, v) = args, values
    if v is not None and u is None:  # constants first: 2*x, never x*2
        return b.make("mul", (y, x))
    oy = b.op(y)  # each operand's op read once: most products match no rule, and are asked every question
    if u is not None:
        if u == 1:
            return y
        if u == -1:
            return b.make("neg", (y,))
        if oy == "mul" and b.value(b.args(y)[0]) is not None:
            return b.make("mul", (b.const(u * b.value(b.args(y)[0])), b.args(y)[1]))
        if oy == "neg":
            return b.make("mul", (b.const(-u), b.args(y)[0]))
    elif oy == "neg":  # (x is no constant here)
        if b.op(x) == "neg":
            return b.make("mul", (b.args(x)[0], b.args(y)[0]))
        return b.make("neg", (b.make("mul", (x, b.args(y)[0])),))  # pull signs outwards: x*(-y) → -(x*y)
    if oy == "mul" and b.scalar(x) and b.scalar(b.args(y)[0]) and not b.scalar(b.args(y)[1]):
        # s*(c*X) → (s*c)*X: the scalars meet first, and the array is walked once, not twice
        return b.make("mul", (b.make("mul", (x, b.args(y)[0])), b.args(y)[1]))
    for spread, other, op in ((x, y, b.op(x)), (y, x, oy)):
        # A full reduction's gradient broadcast to x's shape, times something of x's shape: multiply by
        # the scalar instead, so NumPy streams one array rather than two (one of them with stride 0).
        if op == "unsum" and b.params(spread) == (("axis", None),) and b.same_shape(spread, other):
            return b.make("mul", (b.args(spread)[0], other))
    return None


def _div(args, values, b):
    (x, y), (u, v) = args, values
    if v == 1:
        return x
    if v is not None and v != 0:  # division by a constant is a multiply
        return b.make("mul", (b.const(1 / v), x))
    if u is not None and b.op(y) == "div" and b.value(b.args(y)[0]) == 1:  # c / (1/z) → c*z
        return b.make("mul", (x, b.args(y)[1]))
    return None


def _neg(args, values, b):
    (x,) = args
    if b.op(x) == "neg":
        return b.args(x)[0]
    if b.op(x) == "mul" and b.value(b.args(x)[0]) is not None:
        return b.make("mul", (b.const(-b.value(b.args(x)[0])), b.args(x)[1]))
    return None


def _pow(args, values, b):
    if values[1] == 1:
        return args[0]
    return None


def _log(args, values, b):
    (x,) = args
    if b.op(x) == "sigmoid":  # log(sigmoid(z)) stays finite for large |z|
        return b.make("log_sigmoid", b.args(x))
    if b.op(x) == "sub" and b.value(b.args(x)[0]) == 1 and b.op(b.args(x)[1]) == "sigmoid":
        z = b.args(b.args(x)[1])[0]  # log(1 - sigmoid(z)) = log_sigmoid(-z)
        return b.make("log_sigmoid", (b.make("neg", (z,)),))
    if b.op(x) == "exp":
        return b.args(x)[0]
    return None


def _id(args, values, b):
    return args[0]


def _sum_to(args, values, b):
    x, like = args
    return x if b.same_shape(x, like) else None


_RULES = {"add": _add, "sub": _sub, "mul": _mul, "div": _div, "neg": _neg, "pow": _pow, "log": _log, "id": _id,
          "sum_to": _sum_to}
