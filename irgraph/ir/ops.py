"""The op table: one row per op. Adding an op is adding one row.

Each row says how to evaluate the op on an array module `xp`, how to print it, how to emit it as Python,
what shape it gives, and its local partials. Partials *build IR* (expr.Expr) rather than numbers, so
they can be simplified, shared by CSE and drawn on edges:

- an elementwise op's partial is a multiplier m: the contribution to the operand is g * m;
- a tensor op's partial is a pullback, an expression in the upstream gradient `G`.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..backends import runtime as rt


@dataclass(frozen=True)
class Op:
    name: str
    arity: int
    compute: Callable  # (xp, *args, axis=...) -> array
    code: str  # Python template over argument names {0}, {1} and attributes {axis}
    label: str  # how the op prints: an infix symbol, or a function name
    partials: Callable | None = None  # (e, *arg exprs, out expr, **attrs) -> one expr per operand;
    #   e is the expression module (irgraph.ir.expr): e.G, e.call, e.const, e.is_const
    kind: str = "elementwise"  # or "tensor": partials are pullbacks in G, shapes change
    commutative: bool = False
    user: bool = False  # callable by name in the model language
    axis: bool = False  # takes an optional axis argument
    prec: int = 5  # printing precedence; 5 is a call or an atom
    shape_of: int | None = None  # the operand whose shape the result always has (None: see shapes.py)


def _pow_partials(e, a, b, out):
    # x^c with constant c must never build log(x): that would be NaN for x < 0.
    return (b * a ** (b - 1), e.call("log", a) * out if not e.is_const(b) else e.const(0))


ROWS = [
    # Infix arithmetic.
    Op("add", 2, lambda xp, a, b: a + b, "{0} + {1}", "+", lambda e, a, b, out: (e.const(1), e.const(1)),
       commutative=True, prec=1),
    Op("sub", 2, lambda xp, a, b: a - b, "{0} - {1}", "-", lambda e, a, b, out: (e.const(1), e.const(-1)), prec=1),
    Op("mul", 2, lambda xp, a, b: a * b, "{0} * {1}", "*", lambda e, a, b, out: (b, a), commutative=True, prec=2),
    Op("div", 2, lambda xp, a, b: a / b, "{0} / {1}", "/", lambda e, a, b, out: (1 / b, -out / b), prec=2),
    Op("pow", 2, lambda xp, a, b: a ** b, "{0} ** {1}", "^", _pow_partials, prec=4),
    Op("neg", 1, lambda xp, a: -a, "-{0}", "-", lambda e, a, out: (e.const(-1),), prec=3),
    Op("matmul", 2, lambda xp, a, b: a @ b, "{0} @ {1}", "@",
       lambda e, a, b, out: (e.call("mm_left", e.G, a, b), e.call("mm_right", e.G, a, b)), kind="tensor", prec=2),
    # Elementwise functions.
    Op("exp", 1, lambda xp, a: xp.exp(a), "xp.exp({0})", "exp", lambda e, a, out: (out,), user=True),
    Op("log", 1, lambda xp, a: xp.log(a), "xp.log({0})", "log", lambda e, a, out: (1 / a,), user=True),
    Op("sqrt", 1, lambda xp, a: xp.sqrt(a), "xp.sqrt({0})", "sqrt", lambda e, a, out: (0.5 / out,), user=True),
    Op("abs", 1, lambda xp, a: xp.abs(a), "xp.abs({0})", "abs", lambda e, a, out: (e.call("sign", a),), user=True),
    Op("sin", 1, lambda xp, a: xp.sin(a), "xp.sin({0})", "sin", lambda e, a, out: (e.call("cos", a),), user=True),
    Op("cos", 1, lambda xp, a: xp.cos(a), "xp.cos({0})", "cos", lambda e, a, out: (-e.call("sin", a),), user=True),
    Op("tanh", 1, lambda xp, a: xp.tanh(a), "xp.tanh({0})", "tanh", lambda e, a, out: (1 - out ** 2,), user=True),
    Op("sigmoid", 1, rt._sigmoid, "_sigmoid(xp, {0})", "sigmoid", lambda e, a, out: (out * (1 - out),),
       user=True),
    Op("relu", 1, lambda xp, a: xp.maximum(a, 0), "xp.maximum({0}, 0)", "relu",
       lambda e, a, out: (e.call("step", a),), user=True),
    # Reductions and shape ops: their partials are pullbacks of the upstream gradient G.
    Op("sum", 1, lambda xp, a, axis=None: xp.sum(a, axis=axis), "xp.sum({0}, axis={axis})", "sum",
       lambda e, a, out, axis=None: (e.call("unsum", e.G, a, axis=axis),), kind="tensor", user=True, axis=True),
    Op("mean", 1, lambda xp, a, axis=None: xp.mean(a, axis=axis), "xp.mean({0}, axis={axis})", "mean",
       lambda e, a, out, axis=None: (e.call("unsum", e.G / e.call("count", a, axis=axis), a, axis=axis),),
       kind="tensor", user=True, axis=True),
    Op("transpose", 1, lambda xp, a: xp.transpose(a), "xp.transpose({0})", "transpose",
       lambda e, a, out: (e.call("transpose", e.G),), kind="tensor", user=True),
    # Internal ops that partials and passes build; users cannot call them.
    Op("id", 1, lambda xp, a: a, "{0}", "id", lambda e, a, out: (e.const(1),), shape_of=0),
    Op("step", 1, lambda xp, a: xp.heaviside(a, 0), "xp.heaviside({0}, 0)", "step"),  # relu'(0) = 0
    Op("sign", 1, lambda xp, a: xp.sign(a), "xp.sign({0})", "sign"),  # abs'(0) = 0
    Op("log_sigmoid", 1, rt._log_sigmoid, "_log_sigmoid(xp, {0})", "log_sigmoid",
       lambda e, a, out: (e.call("sigmoid", -a),)),
    Op("sum_to", 2, rt._sum_to, "_sum_to(xp, {0}, {1})", "sum_to", kind="tensor", shape_of=1),
    Op("unsum", 2, lambda xp, g, a, axis=None: rt._unsum(xp, g, a, axis), "_unsum(xp, {0}, {1}, {axis})",
       "broadcast", kind="tensor", axis=True, shape_of=1),
    Op("count", 1, lambda xp, a, axis=None: rt._count(a, axis), "_count({0}, {axis})", "count",
       kind="tensor", axis=True),  # a Python float: scalar-shaped (shapes.SCALAR)
    Op("mm_left", 3, rt._mm_left, "_mm_left(xp, {0}, {1}, {2})", "mm_left", kind="tensor", shape_of=1),
    Op("mm_right", 3, rt._mm_right, "_mm_right(xp, {0}, {1}, {2})", "mm_right", kind="tensor", shape_of=2),
    Op("zeros_like", 1, lambda xp, a: xp.zeros_like(a), "xp.zeros_like({0})", "zeros_like", kind="tensor",
       shape_of=0),
    # A constant gradient (d(3*w)/dw = 3) as an array of its variable's shape; schedule emits it.
    Op("full_like", 2, lambda xp, a, v: xp.full_like(a, v), "xp.full_like({0}, {1})", "full_like",
       kind="tensor", shape_of=0),
]

OPS = {op.name: op for op in ROWS}
FUNCTIONS = {op.name: op for op in ROWS if op.user}  # names the model language can call
INFIX = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "**": "pow", "@": "matmul"}

# Nodes that are not operations: the leaves of every graph.
LEAVES = ("input", "const")


def apply(op_name, xp, args, axis=None):
    """Compute one op on arrays (or numbers) of the array module `xp`."""
    row = OPS[op_name]
    return row.compute(xp, *args, axis=axis) if row.axis else row.compute(xp, *args)


def fold(op_name, values, axis=None):
    """Evaluate an elementwise op on constant scalars at compile time; None if it is not finite."""
    with np.errstate(all="ignore"):
        value = apply(op_name, np, [np.float64(v) for v in values], axis)
    value = float(value)
    return value if np.isfinite(value) else None
