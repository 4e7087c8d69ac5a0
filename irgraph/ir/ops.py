"""The op table: one row per op, the only place an op is described. Adding an op is adding one row.

A row says how many array operands the op takes and which constant parameters follow them (`params`),
how to evaluate it (`impl`: one definition, from which both the interpreter and the generated code come),
how to print it (`symbol`, `pretty`, `prec` for infix ops; the function name otherwise), how pictures
name it (`display`), what shape it gives (`shape`), and its local partials. Partials *build IR*
(expressions) rather than numbers, so they can be simplified, shared by CSE and drawn on edges:

- an elementwise op's partial is a multiplier m: the contribution to the operand is g * m;
- a tensor op's partial is a pullback, an expression in the upstream gradient `e.G`.

Partial rules get the expression module as their first argument `e` (e.G, e.call, e.const, e.is_const),
the operands, the op's own value `out`, and the parameters by name.
"""

import operator
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..backends import runtime as rt
from . import shape_rules as S

REQUIRED = object()  # a parameter without a default


@dataclass(frozen=True)
class Param:
    """A constant parameter after the array operands, like the axis of sum(x, 0) or the bounds of clip."""

    name: str
    kind: type = float  # int or float: what the model text must give
    default: object = REQUIRED


# ---- how an op is evaluated: one definition, read by the interpreter and by codegen ---------------------

@dataclass(frozen=True)
class Infix:
    """`a + b`: a Python operator, which NumPy, CuPy and Dask arrays (and floats) all implement."""

    symbol: str
    fn: Callable

    def run(self, xp, args, params):
        return self.fn(*args)

    def code(self, args, params):
        return f" {self.symbol} ".join(args) if len(args) == 2 else f"{self.symbol}{args[0]}"


@dataclass(frozen=True)
class Array:
    """`xp.name(a, *extra, param=value)`: a function of the array API."""

    name: str
    extra: tuple = ()  # constant positional arguments after the operands
    by_name: bool = True  # parameters passed as keywords (axis=0) or after the operands (clip's bounds)

    def run(self, xp, args, params):
        if self.by_name:
            return getattr(xp, self.name)(*args, *self.extra, **dict(params))
        return getattr(xp, self.name)(*args, *self.extra, *(v for _, v in params))

    def code(self, args, params):
        given = [f"{k}={v!r}" for k, v in params] if self.by_name else [repr(v) for _, v in params]
        return f"xp.{self.name}({', '.join([*args, *map(repr, self.extra), *given])})"


@dataclass(frozen=True)
class Helper:
    """`_helper(xp, a, *params)`: a function of irgraph.backends.runtime, copied into generated modules."""

    fn: Callable

    def run(self, xp, args, params):
        return self.fn(xp, *args, *(v for _, v in params))

    def code(self, args, params):
        return f"{self.fn.__name__}({', '.join(['xp', *args, *(repr(v) for _, v in params)])})"


@dataclass(frozen=True)
class Same:
    """The operand itself (the identity op)."""

    def run(self, xp, args, params):
        return args[0]

    def code(self, args, params):
        return args[0]


@dataclass(frozen=True)
class Op:
    name: str
    arity: int  # array operands
    impl: object  # Infix | Array | Helper | Same
    partials: Callable | None = None  # (e, *operand exprs, out expr, **params) -> one expr per operand
    kind: str = "elementwise"  # or "tensor": partials are pullbacks in G, shapes change
    params: tuple = ()  # Param(...) after the operands
    commutative: bool = False
    user: bool = False  # callable by name in the model language
    symbol: str | None = None  # infix ops: the symbol in model syntax ("+", "^"); others print as calls
    pretty: str | None = None  # the symbol in Unicode output ("−", "·"), when it differs
    prec: int = 5  # printing precedence; 5 is a call or an atom
    display: str | None = None  # the label pictures give the op (default: its name)
    shape: Callable | None = None  # (operand shapes, **params) -> shape; None: elementwise broadcasting
    shape_of: int | None = None  # the operand whose shape the result always has (None: see shapes.py)

    @property
    def label(self):
        """How the op reads in messages: its model-syntax symbol or its function name."""
        return self.symbol or self.name

    def apply(self, xp, args, params=()):
        """Evaluate on arrays (or numbers) of the array module `xp`; params are (name, value) pairs."""
        return self.impl.run(xp, args, params)

    def code(self, args, params=()):
        """The same evaluation as Python source over the argument texts `args`."""
        return self.impl.code(args, params)

    def out_shape(self, shapes, params=()):
        """The result's shape from the operands' shapes; ValueError when they do not fit."""
        return self.shape(shapes, **dict(params)) if self.shape else S.broadcast(*shapes)

    def bind(self, values):
        """Parameter values in row order → the (name, value) pairs nodes and instructions carry."""
        return tuple((p.name, v) for p, v in zip(self.params, values))

    def defaults(self):
        return self.bind(p.default for p in self.params)


def _zero(e, *args, **params):
    """The partials of an op that is constant where it is differentiable (step, sign) or that reads only its
    operand's shape (zeros_like, count): 0 for every operand."""
    return tuple(e.const(0) for _ in args[:-1])


def _pow_partials(e, a, b, out):
    # x^c with constant c must never build log(x): that would be NaN for x < 0; x^0 has derivative 0, not
    # 0·x^(-1) = NaN at x = 0. ∂/∂y follows JAX: log(x)·x^y, with log(0) taken as 0 (so 0^y gives 0).
    if e.is_const(b):
        return (e.const(0) if e.is_const(b, 0) else b * a ** (b - 1), e.const(0))
    return (b * a ** (b - 1), e.call("log_nz", a) * out)


def _unary(name, partial, **kw):
    """A user-callable elementwise function of one operand evaluated by xp.<name>."""
    return Op(name, 1, Array(name), partial, user=True, **kw)


AXIS = Param("axis", int, None)


def _reduce(shapes, axis=None):
    return S.reduce(shapes[0], axis)


def _same_along(shapes, axis=-1):
    S.reduce(shapes[0], axis)  # the axis must exist
    return shapes[0]


ROWS = [
    # Infix arithmetic.
    Op("add", 2, Infix("+", operator.add), lambda e, a, b, out: (e.const(1), e.const(1)), commutative=True,
       symbol="+", prec=1, display="+"),
    Op("sub", 2, Infix("-", operator.sub), lambda e, a, b, out: (e.const(1), e.const(-1)), symbol="-",
       pretty="−", prec=1, display="−"),
    Op("mul", 2, Infix("*", operator.mul), lambda e, a, b, out: (b, a), commutative=True, symbol="*",
       pretty="·", prec=2, display="×"),
    Op("div", 2, Infix("/", operator.truediv), lambda e, a, b, out: (1 / b, -out / b), symbol="/", prec=2,
       display="÷"),
    Op("pow", 2, Helper(rt._pow), _pow_partials, symbol="^", prec=4, display="^"),  # never complex
    Op("neg", 1, Infix("-", operator.neg), lambda e, a, out: (e.const(-1),), symbol="-", pretty="−", prec=3,
       display="−x"),
    Op("matmul", 2, Infix("@", operator.matmul),
       lambda e, a, b, out: (e.call("mm_left", e.G, a, b), e.call("mm_right", e.G, a, b)), kind="tensor",
       symbol="@", prec=2, display="@", shape=lambda shapes: S.matmul(*shapes)),
    # Elementwise functions.
    _unary("exp", lambda e, a, out: (out,)),
    _unary("log", lambda e, a, out: (1 / a,)),
    _unary("sqrt", lambda e, a, out: (0.5 / out,)),
    _unary("abs", lambda e, a, out: (e.call("sign", a),)),  # abs'(0) = 0
    _unary("sin", lambda e, a, out: (e.call("cos", a),)),
    _unary("cos", lambda e, a, out: (-e.call("sin", a),)),
    _unary("tanh", lambda e, a, out: (1 - out ** 2,)),
    _unary("log1p", lambda e, a, out: (1 / (1 + a),)),  # log(1 + x), accurate for tiny x
    _unary("expm1", lambda e, a, out: (out + 1,)),  # exp(x) - 1, accurate for tiny x
    _unary("square", lambda e, a, out: (2 * a,)),
    Op("sigmoid", 1, Helper(rt._sigmoid), lambda e, a, out: (out * (1 - out),), user=True),
    Op("relu", 1, Array("maximum", (0,)), lambda e, a, out: (e.call("step", a),), user=True),  # relu'(0) = 0
    Op("softplus", 1, Array("logaddexp", (0,)), lambda e, a, out: (e.call("sigmoid", a),), user=True),
    # max/min of two arrays; at a tie each operand gets half the gradient (as in JAX and PyTorch). As in JAX
    # the share compares each operand with the result, so a NaN on one side gives the other 0, not NaN.
    Op("max", 2, Array("maximum"), lambda e, a, b, out: (e.call("share", a, out, b), e.call("share", b, out, a)),
       commutative=True, user=True),
    Op("min", 2, Array("minimum"), lambda e, a, b, out: (e.call("share", a, out, b), e.call("share", b, out, a)),
       commutative=True, user=True),
    # clip(x, lo, hi) with constant bounds: gradient 1 on [lo, hi], bounds included (as PyTorch's clamp).
    Op("clip", 1, Array("clip", by_name=False), lambda e, a, out, lo, hi: (e.call("inside", a, lo=lo, hi=hi),), user=True,
       params=(Param("lo"), Param("hi"))),
    # Reductions and shape ops: their partials are pullbacks of the upstream gradient G.
    Op("sum", 1, Array("sum"), lambda e, a, out, axis=None: (e.call("unsum", e.G, a, axis=axis),),
       kind="tensor", user=True, params=(AXIS,), shape=_reduce),
    Op("mean", 1, Array("mean"),
       lambda e, a, out, axis=None: (e.call("unsum", e.G / e.call("count", a, axis=axis), a, axis=axis),),
       kind="tensor", user=True, params=(AXIS,), shape=_reduce),
    # log(sum(exp(x))) without overflow; its pullback is g times the softmax exp(x - out).
    Op("logsumexp", 1, Helper(rt._logsumexp),
       lambda e, a, out, axis=None: (e.call("unsum", e.G, a, axis=axis)
                                     * e.call("exp", a - e.call("unsum", out, a, axis=axis)),),
       kind="tensor", user=True, params=(AXIS,), shape=_reduce),
    # softmax along an axis (default: the last, as in JAX); pullback out * (g - sum(g * out, axis)).
    Op("softmax", 1, Helper(rt._softmax),
       lambda e, a, out, axis=-1: (out * (e.G - e.call("unsum", e.call("sum", e.G * out, axis=axis), a, axis=axis)),),
       kind="tensor", user=True, params=(Param("axis", int, -1),), shape=_same_along, shape_of=0),
    Op("transpose", 1, Array("transpose"), lambda e, a, out: (e.call("transpose", e.G),), kind="tensor",
       user=True, shape=lambda shapes: tuple(reversed(shapes[0]))),
    # Internal ops that partials and passes build; users cannot call them.
    Op("id", 1, Same(), lambda e, a, out: (e.const(1),), shape_of=0, display="="),
    # Steps: their derivative is 0 wherever it exists (relu'' = 0, abs'' = 0, as in PyTorch and JAX).
    Op("step", 1, Array("heaviside", by_name=False), _zero, params=(Param("at", float, 0.0),)),  # 0 below zero, 1 above, `at` at 0
    Op("sign", 1, Array("sign"), _zero),
    Op("gate", 2, Helper(rt._gate), lambda e, g, a, out: (e.call("step", a), e.const(0))),  # relu's g·step(a)
    Op("log_nz", 1, Helper(rt._log_nz), lambda e, a, out: (1 / a,)),  # in ∂(x^y)/∂y (see _pow_partials)
    Op("share", 3, Helper(rt._share), _zero),  # x's share of max(x, y) or min(x, y): 1, 1/2 at a tie, or 0
    Op("inside", 1, Helper(rt._inside), _zero, params=(Param("lo"), Param("hi"))),  # 1 on [lo, hi], else 0
    Op("log_sigmoid", 1, Helper(rt._log_sigmoid), lambda e, a, out: (e.call("sigmoid", -a),)),
    # The pullbacks have pullbacks of their own, so a gradient graph can be differentiated again. The second
    # operand of sum_to and unsum, like a in mm_left(g, a, b), gives only a shape: its partial is 0.
    Op("sum_to", 2, Helper(rt._sum_to), lambda e, x, like, out: (e.call("sum_to", e.G, x), e.const(0)),
       kind="tensor", shape_of=1, display="sum to shape"),
    Op("unsum", 2, Helper(rt._unsum), lambda e, g, a, out, axis=None: (e.call("sum", e.G, axis=axis), e.const(0)),
       kind="tensor", params=(AXIS,), shape_of=1, display="bcast"),
    Op("count", 1, Helper(rt._count), _zero, kind="tensor", params=(AXIS,)),  # a Python float: scalar-shaped
    # mm_left(g, a, b) = ∂<g, a@b>/∂a = g @ bᵀ and mm_right(g, a, b) = ∂<g, a@b>/∂b = aᵀ @ g are linear in g
    # and in the other factor. <G, mm_left(g, a, b)> = <g, G @ b>, and <G, mm_right(g, a, b)> = <g, a @ G>:
    Op("mm_left", 3, Helper(rt._mm_left), lambda e, g, a, b, out: (e.G @ b, e.const(0), e.call("mm_right", g, e.G, b)),
       kind="tensor", shape_of=1, display="g@Bᵀ"),
    Op("mm_right", 3, Helper(rt._mm_right), lambda e, g, a, b, out: (a @ e.G, e.call("mm_left", g, a, e.G), e.const(0)),
       kind="tensor", shape_of=2, display="Aᵀ@g"),
    Op("zeros_like", 1, Array("zeros_like"), _zero, kind="tensor", shape_of=0),
    # A constant gradient (d(3*w)/dw = 3) as an array of its variable's shape; schedule emits it.
    Op("full_like", 2, Array("full_like"), lambda e, a, v, out: (e.const(0), e.call("sum", e.G)), kind="tensor",
       shape_of=0, display="fill"),
]

OPS = {op.name: op for op in ROWS}
FUNCTIONS = {op.name: op for op in ROWS if op.user}  # names the model language can call
INFIX = {op.symbol: op.name for op in ROWS if op.symbol and op.arity == 2} | {"**": "pow"}


def apply(op_name, xp, args, params=()):
    """Compute one op on arrays (or numbers) of the array module `xp`."""
    return OPS[op_name].apply(xp, args, params)


def fold(op_name, values, params=()):
    """Evaluate an elementwise op on constant scalars at compile time, in float64 as NumPy would at run
    time: 1/0 folds to inf and 0/0 to nan (the generated code must never divide two Python floats)."""
    with np.errstate(all="ignore"):
        return float(apply(op_name, np, [np.float64(v) for v in values], params))
