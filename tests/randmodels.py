"""Seeded random models, checked against JAX: the generator behind tests/test_campaign.py.

`model(seed)` draws a small model: a few equations over inputs of random shapes (scalars, vectors,
matrices, rows and columns that broadcast), built from every operator and every function of the language,
constant sub-expressions and constant outputs, names used many times, bases that are negative or zero,
divisors that are zero, in float32 or float64. Its reference is a transcription of the same expression tree
onto jax.numpy, never through irgraph. `check(m)` runs the model through `prog.run` and through the
generated module and lists every way either differs from JAX: value, gradients, shapes, dtypes, NaN and
infinity, and any exception.
"""

import random
import warnings
from dataclasses import dataclass

import numpy as np
from cases import jax_namespace

import irgraph
from irgraph.ir.ops import FUNCTIONS

# The functions of the language, each as (its JAX reference, argument kind): "any" takes any real,
# "pos" is drawn mostly positive (NaN outside the domain is checked too, just less often).
UNARY = {
    "exp": "any", "log": "pos", "sqrt": "pos", "abs": "any", "sin": "any", "cos": "any", "tanh": "any",
    "sigmoid": "any", "relu": "any", "softplus": "any", "log1p": "pos", "expm1": "any", "square": "any",
}
BINARY = ("max", "min")  # elementwise functions of two operands, broadcasting like + - * /
CLIP_BOUNDS = ((-0.7, 0.4), (-0.3, 1.2), (0.25, 0.75))  # never at 0 or ±1: JAX's clip halves ties
REDUCTIONS = ("sum", "mean", "logsumexp")
SHAPE_OPS = ("transpose", "softmax")
CONST_EXPONENTS = (0.0, 1.0, 2.0, 3.0, 0.5, 1.5, -1.0, -0.5, -2.0)
CONSTANTS = (0.0, 1.0, 2.0, 3.0, 0.5, -1.0, -2.0, -8.0, 1e-3, 10.0)
COVERED = set(UNARY) | set(BINARY) | {"clip"} | set(REDUCTIONS) | set(SHAPE_OPS)  # test_campaign checks this is every function


def jax_ops():
    """The reference functions on jax.numpy (cases.jax_namespace, float64 enabled) and the ones only the
    campaign draws; None when JAX is missing."""
    J = jax_namespace()
    if J is None:
        return None
    import jax
    import jax.numpy as jnp

    J.jax, J.jnp = jax, jnp
    J.softplus, J.max, J.min, J.clip = jax.nn.softplus, jnp.maximum, jnp.minimum, jnp.clip  # ties: half each
    J.logsumexp = lambda x, axis=None: jax.scipy.special.logsumexp(x, axis=axis)
    J.log1p, J.expm1, J.square = jnp.log1p, jnp.expm1, jnp.square
    J.softmax = lambda x, axis=-1: jax.nn.softmax(x, axis=axis)
    return J


@dataclass
class Model:
    seed: int
    text: str
    inputs: dict  # name -> value (NumPy arrays, NumPy or Python scalars)
    wrt: list
    dtype: str  # "float32" or "float64"
    tree: dict  # equation name -> expression tree (tuples), for the reference
    order: list  # equation names, each after the ones it uses
    constant: bool  # the output depends on no input

    def __repr__(self):
        return f"Model(seed={self.seed}, {self.dtype})\n{self.text}"


class _Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.dtype = self.r.choice(("float32", "float64"))
        self.inputs = {}  # name -> shape
        self.kind = {}  # name -> "any" | "pos" | "zeros" (some entries exactly 0)
        self.eqs = {}  # name -> (tree, shape)
        self.order = []
        # Fixed sizes: JAX compiles each (op, shapes, dtype) once, so a small set of shapes keeps it fast.
        self.dims = (2, 3, 4)

    # ---- shapes ----
    def shape(self):
        m, n, _ = self.dims
        return self.r.choice([(), (), (n,), (m, n), (m, 1), (1, n), (m,)])

    def part(self, shape):
        """A shape that broadcasts up to `shape`: itself, fewer leading axes, or 1s."""
        pick = self.r.random()
        if pick < 0.5 or not shape:
            return shape
        if pick < 0.7:
            return ()
        if pick < 0.85:
            return shape[1:]
        return tuple(1 if self.r.random() < 0.5 else d for d in shape)

    # ---- leaves ----
    def input(self, shape, kind="any"):
        same = [n for n, s in self.inputs.items() if s == shape and (kind == "any" or self.kind[n] == kind)]
        if same and self.r.random() < 0.5:  # names used many times
            return ("in", self.r.choice(same))
        name = self.r.choice("xyzwabuv") + str(len(self.inputs))
        self.inputs[name] = shape
        self.kind[name] = kind if kind != "any" else self.r.choice(("any", "any", "pos", "zeros"))
        return ("in", name)

    def leaf(self, shape):
        refs = [n for n, (_, s) in self.eqs.items() if s == shape]
        pick = self.r.random()
        if refs and pick < 0.3:
            return ("eq", self.r.choice(refs))
        if shape == () and pick < 0.5:
            return ("c", self.r.choice(CONSTANTS))
        return self.input(shape)

    # ---- expressions of a given shape ----
    def expr(self, shape, depth):
        if depth <= 0 or self.r.random() < 0.15:
            return self.leaf(shape)
        pick = self.r.random()
        if pick < 0.35:
            op = self.r.choice(["+", "-", "*", "/", "^", *BINARY])
            if op == "^":
                return self.power(shape, depth)
            a, b = self.part(shape), self.part(shape)
            if a != shape and b != shape:
                a = shape
            if self.r.random() < 0.5:
                a, b = b, a
            return ("bin", op, self.expr(a, depth - 1), self.divisor(b, depth - 1) if op == "/" else
                    self.expr(b, depth - 1))
        if pick < 0.6:
            fn = self.r.choice(sorted(UNARY) + ["clip"])
            if fn == "clip":
                return ("clip", self.expr(shape, depth - 1), *self.r.choice(CLIP_BOUNDS))
            arg = self.positive(shape, depth - 1) if UNARY[fn] == "pos" and self.r.random() < 0.7 else \
                self.expr(shape, depth - 1)
            return ("fn", fn, arg, None)
        if pick < 0.67:
            return ("neg", self.expr(shape, depth - 1))
        if pick < 0.8:
            return self.reduction(shape, depth)
        if pick < 0.9 and shape:
            return self.matmul(shape, depth)
        if pick < 0.93 and len(shape) == 2:
            return ("fn", "transpose", self.expr(shape[::-1], depth - 1), None)
        if pick < 0.95 and shape:
            axis = self.r.choice([None, *range(-len(shape), len(shape))])
            return ("fn", "softmax", self.expr(shape, depth - 1), axis)
        return self.constant_expr(shape, depth)

    def power(self, shape, depth):
        pick = self.r.random()
        if pick < 0.6:  # x^c: bases of any sign, and zero
            return ("bin", "^", self.expr(shape, depth - 1), ("c", self.r.choice(CONST_EXPONENTS)))
        if pick < 0.75:  # c^y: 2^y, 0^y, (-8)^y
            return ("bin", "^", ("c", self.r.choice((2.0, 0.0, -8.0, 0.5))), self.expr(shape, depth - 1))
        base = self.positive(shape, depth - 1) if self.r.random() < 0.6 else self.expr(shape, depth - 1)
        return ("bin", "^", base, self.expr(self.part(shape), depth - 1))

    def positive(self, shape, depth):
        pick = self.r.random()
        if pick < 0.4:
            return self.input(shape, "pos")
        if pick < 0.7:
            return ("fn", self.r.choice(("exp", "sigmoid")), self.expr(shape, depth), None)
        return ("bin", "+", ("fn", "abs", self.expr(shape, depth), None), ("c", 0.5))

    def divisor(self, shape, depth):
        pick = self.r.random()
        if pick < 0.1 and shape == ():
            return ("c", 0.0)  # x / 0
        if pick < 0.3:
            return self.input(shape, "zeros")
        return self.expr(shape, depth)

    def reduction(self, shape, depth):
        fn = self.r.choice(REDUCTIONS)
        if shape == () and self.r.random() < 0.5:
            return ("fn", fn, self.expr(self.shape(), depth - 1), None)
        axis = self.r.randint(0, len(shape))
        inner = shape[:axis] + (self.r.choice(self.dims),) + shape[axis:]
        if len(inner) > 3:
            return self.leaf(shape)
        written = axis - len(inner) if self.r.random() < 0.3 else axis  # negative axes too
        return ("fn", fn, self.expr(inner, depth - 1), written)

    def matmul(self, shape, depth):
        k = self.dims[2]
        if len(shape) == 1:
            a, b = ((shape[0], k), (k,)) if self.r.random() < 0.5 else ((k,), (k, shape[0]))
        elif len(shape) == 2:
            a, b = (shape[0], k), (k, shape[1])
        else:
            return self.leaf(shape)
        return ("bin", "@", self.expr(a, depth - 1), self.expr(b, depth - 1))

    def constant_expr(self, shape, depth):
        """A constant sub-expression like exp(cos(3.0)) or sum(3)^2, combined with something of `shape`."""
        c = ("c", self.r.choice(CONSTANTS))
        for _ in range(self.r.randint(1, 3)):
            pick = self.r.random()
            if pick < 0.5:
                c = ("fn", self.r.choice(sorted(UNARY)), c, None)
            elif pick < 0.8:
                c = ("bin", self.r.choice("+-*/^"), c, ("c", self.r.choice(CONSTANTS)))
            else:
                c = ("fn", "sum", c, None)
        if shape == ():
            return c
        return ("bin", self.r.choice("+*"), c, self.expr(shape, depth - 1))

    # ---- the model ----
    def model(self, seed):
        for i in range(self.r.randint(0, 3)):
            name = f"e{i}"
            shape = self.shape()
            self.eqs[name] = (self.expr(shape, self.r.randint(1, 4)), shape)
            self.order.append(name)
        pick = self.r.random()
        if pick < 0.06:  # a constant output
            body = self.constant_expr((), 0)
        elif pick < 0.1 and [n for n, (_, s) in self.eqs.items() if s == ()]:
            body = ("eq", self.r.choice([n for n, (_, s) in self.eqs.items() if s == ()]))  # loss = e0
        elif pick < 0.13:
            body = self.input(())  # loss = x
        else:
            body = self.expr((), self.r.randint(1, 5))
        self.eqs["loss"] = (body, ())
        self.order.append("loss")
        lines = [f"{n} = {text(self.eqs[n][0])}" for n in self.order]
        if self.r.random() < 0.3:
            self.r.shuffle(lines)  # equations may come in any order
        inputs = {n: self.value(n) for n in self.inputs}
        wrt = [n for n in self.inputs if self.r.random() < 0.8]
        constant = not _uses_input(self.eqs, "loss")
        tree = {n: t for n, (t, _) in self.eqs.items()}
        return Model(seed, "\n".join(lines), inputs, wrt, self.dtype, tree, list(self.order), constant)

    def value(self, name):
        shape, kind = self.inputs[name], self.kind[name]
        rng = np.random.default_rng(self.r.getrandbits(32))
        if kind == "pos":
            x = rng.uniform(0.5, 2.0, size=shape)
        else:
            x = rng.normal(size=shape)
            if kind == "zeros":
                x = np.where(rng.random(size=shape) < 0.4, 0.0, x)
        x = x.astype(self.dtype)
        if shape == ():  # scalars come as Python floats (the fast path), NumPy scalars or 0-d arrays
            pick = self.r.random()
            if self.dtype == "float64" and pick < 0.5:
                return float(x)
            return x[()] if pick < 0.75 else x
        return x


def _uses_input(eqs, root):
    todo, seen = [eqs[root][0]], set()
    while todo:
        t = todo.pop()
        if t[0] == "in":
            return True
        if t[0] == "eq" and t[1] not in seen:
            seen.add(t[1])
            todo.append(eqs[t[1]][0])
        todo.extend(x for x in t[1:] if isinstance(x, tuple))
    return False


def model(seed):
    """The random model of this seed (the same on every machine)."""
    return _Gen(seed).model(seed)


# ---- printing and the reference -------------------------------------------------------------------------

def text(t):
    """The tree in the model language, every compound operand in parentheses."""
    kind = t[0]
    if kind in ("in", "eq"):
        return t[1]
    if kind == "c":
        s = repr(t[1])
        return f"({s})" if t[1] < 0 else s
    if kind == "neg":
        return f"-({text(t[1])})"
    if kind == "fn":
        axis = "" if t[3] is None else f", {t[3]}"
        return f"{t[1]}({text(t[2])}{axis})"
    if kind == "clip":
        return f"clip({text(t[1])}, {t[2]!r}, {t[3]!r})"
    if t[1] in BINARY:
        return f"{t[1]}({text(t[2])}, {text(t[3])})"
    return f"({text(t[2])}) {t[1]} ({text(t[3])})"


def campaign(seeds, J, device=None):
    """The models of `seeds` that differ from JAX, as (model, problems) pairs; with `device`, prog.run on
    that device too.

    The reference is first computed under one jax.jit for all models (fast); a model that differs is
    checked again against JAX run eagerly, op by op, because XLA rewrites whole programs in ways that are
    not IEEE arithmetic (log(x^0.5) becomes 0.5*log(|x|), which is 0, not NaN, at x = -1).
    """
    models = [model(seed) for seed in seeds]
    failures = []
    for m, want in zip(models, references(models, J)):
        if check(m, want, device):
            problems = check(m, references([m], J, jit=False)[0], device)
            if problems:
                failures.append((m, problems))
    return failures


def references(models, J, jit=True):
    """[(value, {name: gradient})] of each model by jax.value_and_grad, in the model's dtype.

    With `jit`, all models go through one jax.jit: JAX compiles every new (op, shapes, dtype) on its own
    when run eagerly (0.1 s each), while one compiled program for a hundred models takes seconds.
    """
    args, trees = arguments(models, J)

    def all_models(args):
        return [J.jax.value_and_grad(_loss(m, tree, fixed, J))(params)
                for m, tree, (fixed, params) in zip(models, trees, args)]

    if jit:
        out = J.jax.jit(all_models)(args)
    else:
        with J.jax.disable_jit():
            out = all_models(args)
    return [(np.asarray(value), {k: np.asarray(v) for k, v in grads.items()}) for value, grads in out]


def arguments(models, J):
    """([(fixed inputs, wrt inputs)], [expression trees]) for the models' JAX references, constants read from
    inputs (see _constants_as_inputs); `_loss(m, tree, fixed, J)` is then a function of the wrt inputs."""
    jnp = J.jnp
    args, trees = [], []
    for m in models:
        values = {k: jnp.asarray(v, dtype=m.dtype) for k, v in m.inputs.items()}
        consts = []
        trees.append({n: _constants_as_inputs(t, consts) for n, t in m.tree.items()})
        values.update((f"#{i}", jnp.asarray(c, dtype=m.dtype)) for i, c in enumerate(consts))
        args.append(({k: v for k, v in values.items() if k not in m.wrt}, {k: values[k] for k in m.wrt}))
    return args, trees


def _constants_as_inputs(t, consts):
    """The tree with each constant read from an input "#i": XLA would fold constant sub-expressions at
    compile time with its own arithmetic (sin(inf) came out finite), which is not what NumPy computes."""
    if t[0] == "c":
        consts.append(t[1])
        return ("in", f"#{len(consts) - 1}", t[1])
    return tuple(_constants_as_inputs(x, consts) if isinstance(x, tuple) else x for x in t)


def _loss(m, tree, fixed, J):
    def loss(params):
        env, done = {**fixed, **params}, {}
        for name in m.order:
            done[name] = _eval(tree[name], env, done, J, m.dtype)
        return done["loss"]
    return loss


def _eval(t, env, done, J, dtype):
    kind = t[0]
    if kind == "in":
        return env[t[1]]
    if kind == "eq":
        return done[t[1]]
    if kind == "c":
        return J.jnp.asarray(t[1], dtype=dtype)  # typed like the model, so float32 stays float32
    if kind == "neg":
        return -_eval(t[1], env, done, J, dtype)
    if kind == "fn":
        x = _eval(t[2], env, done, J, dtype)
        return getattr(J, t[1])(x) if t[3] is None else getattr(J, t[1])(x, axis=t[3])
    if kind == "clip":
        return J.clip(_eval(t[1], env, done, J, dtype), t[2], t[3])
    a, b = _eval(t[2], env, done, J, dtype), _eval(t[3], env, done, J, dtype)
    if t[1] in BINARY:
        return getattr(J, t[1])(a, b)
    return {"+": a.__add__, "-": a.__sub__, "*": a.__mul__, "/": a.__truediv__, "@": a.__matmul__,
            "^": lambda b: _power(J, a, b, t[3])}[t[1]](b)


def _power(J, a, b, exponent):
    """x^c for an integer constant c is JAX's integer_pow (x**int), whose derivative at c = 0 is 0."""
    if exponent[0] == "in" and len(exponent) == 3 and float(exponent[2]).is_integer():
        return a ** int(exponent[2])
    return J.jnp.power(a, b)


# ---- the check ------------------------------------------------------------------------------------------

def run_module(source, inputs):
    """value_and_grad of the generated module, executed in a fresh namespace."""
    namespace = {}
    exec(compile(source, "<generated>", "exec"), namespace)  # noqa: S102 - our own generated code
    return namespace["value_and_grad"](inputs)


def check(m, want, device=None):
    """Every difference between irgraph (prog.run, on `device` too when given, and the generated module) and
    JAX's (value, grads) `want`, as short strings."""
    want_value, want_grads = want
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN and inf are expected here; the values are what is checked
        try:
            prog = irgraph.compile(m.text, wrt=m.wrt, output="loss")
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            return [f"compile: {type(e).__name__}: {e}"]
        problems = []
        got = {}
        try:
            res = prog.run(m.inputs)
            got["run"] = (res.value, res.grads)
        except Exception as e:  # noqa: BLE001
            problems.append(f"run: {type(e).__name__}: {e}")
        if device:
            try:
                res = prog.run(m.inputs, device=device)
                got[f"run on {device}"] = (res.value, res.grads)
            except Exception as e:  # noqa: BLE001
                problems.append(f"run on {device}: {type(e).__name__}: {e}")
        try:
            got["module"] = run_module(prog.source, m.inputs)
        except Exception as e:  # noqa: BLE001
            problems.append(f"module: {type(e).__name__}: {e}")
    if prog.output[0] != "loss":
        problems.append(f"the output is called {prog.output[0]!r}, not 'loss'")
    for path, (value, grads) in got.items():
        problems += _compare(f"{path} value", value, want_value, m.dtype, check_dtype=not m.constant)
        if sorted(grads) != sorted(want_grads):
            problems.append(f"{path}: gradients for {sorted(grads)}, expected {sorted(want_grads)}")
            continue
        for k in want_grads:
            problems += _compare(f"{path} d/d{k}", grads[k], want_grads[k], m.dtype)
    return problems


def _compare(what, got, want, dtype, check_dtype=True):
    if isinstance(got, complex) or np.iscomplexobj(got):
        return [f"{what}: complex result {got!r}"]
    g = np.asarray(got)
    if g.shape != want.shape:
        return [f"{what}: shape {g.shape}, expected {want.shape}"]
    if check_dtype and g.dtype != np.dtype(dtype):
        return [f"{what}: dtype {g.dtype}, expected {dtype}"]
    g = g.astype(np.float64)
    w = want.astype(np.float64)
    if not np.array_equal(np.isnan(g), np.isnan(w)):
        return [f"{what}: NaN at other places: got {g}, JAX {w}"]
    fin = np.isfinite(w) & np.isfinite(g)
    if not np.array_equal(np.where(fin, 0, g), np.where(fin, 0, w), equal_nan=True):
        return [f"{what}: infinities differ: got {g}, JAX {w}"]
    rtol = 2e-3 if dtype == "float32" else 1e-7
    scale = float(np.max(np.abs(w[fin]), initial=0.0))
    # Relative to each element and to the largest one, and absolute below 1: two correct programs that
    # sum in another order differ by about eps times the terms, which can be far larger than the result.
    if not np.all(np.abs(g[fin] - w[fin]) <= rtol * (np.abs(w[fin]) + max(scale, 1.0))):
        return [f"{what}: got {g}, JAX {w}"]
    return []


def uncovered():
    """Functions of the language the generator does not draw (it must draw them all)."""
    return sorted(set(FUNCTIONS) - COVERED)
