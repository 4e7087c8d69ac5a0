"""Numbers for the pictures, read from running a compiled Program with every intermediate value kept.

The pictures never evaluate or differentiate a model themselves: they run a Program with the executor
(`trace(..., keep=True)`) and look each drawn node up through the maps the compiler keeps (graph attributes
`values` and `adjoints`, and `Program.variables`). The forward pictures run a Program compiled without the
forward clean-up (PICTURE_PIPELINE), so every equation the user wrote keeps its own adjoint (CSE would
merge `b = w*x` and `c = x*w` into one variable whose adjoint is the sum of theirs).
"""

import warnings

import numpy as np

import passes
from irgraph.backends.execute import trace
from irgraph.backends.runtime import _sum_to
from irgraph.ir.errors import Error
from irgraph.ir.expr import G, postorder
from irgraph.ir.ops import apply

# The compiler's passes minus the forward clean-up: the model is differentiated as written. (Names, read
# from `passes` at call time: importing `passes` first must work too.)
PICTURE_PIPELINE = ("attach_partials", "adjoint", "simplify", "cse", "dce")


class Numbers:
    """What one view knows about values: node → forward value, node → adjoint (∂output/∂node)."""

    def __init__(self, value=None, grad=None):
        self.value, self.grad = value or {}, grad or {}

    def __bool__(self):
        return bool(self.value or self.grad)


def picture_program(graph, wrt):
    """The Program the forward pictures run: every parsed node keeps its value and its own adjoint."""
    pipeline = tuple(getattr(passes, name) for name in PICTURE_PIPELINE)
    return passes.schedule(passes.run_pipeline(graph, wrt, pipeline=pipeline))


def run(program, inputs, recompile=None):
    """Every variable of `program` at `inputs` ({variable: value}), through the executor.

    When the output is not a scalar there is no gradient to draw: `recompile()` gives a Program without
    gradients and the values are drawn alone, with a warning that says why.
    Returns (the program that ran, env).
    """
    with np.errstate(all="ignore"):
        try:
            return program, trace(program, inputs, np, keep=True)
        except Error as e:
            if not program.grads or recompile is None or "needs a scalar" not in str(e):
                raise
            warnings.warn(f"drawing values without gradients: {e}", stacklevel=2)
            program = recompile()
            return program, trace(program, inputs, np, keep=True)


def read(program, env, node):
    """The value of a compiled graph's node: its variable in env, or its inlined constant."""
    v = program.variables.get(node)
    if v is None:
        return None
    return env.get(v) if isinstance(v, str) else v


def forward_numbers(graph, out, wrt, result, inputs):
    """Values and adjoints of an op-level graph's nodes (by id) from input values, or what a Result tells."""
    if inputs is None:
        return of_result(result, out, graph.nx)
    # Every input differentiated (wrt only says which inputs the picture draws as learned): every node on a
    # path to the output then shows its adjoint.
    program, env = run(picture_program(graph, None), inputs, lambda: picture_program(graph, []))
    return parsed(program, env, out)


def parsed(program, env, out, nodes=None):
    """Numbers keyed by the parsed graph's node ids (the forward pictures' nodes and equations)."""
    meta = program.graph.meta
    value, grad = {}, {}
    for p, n in (meta.values or {}).items():
        if nodes is None or p in nodes:
            x = read(program, env, n)
            if x is not None:
                value[p] = x
    for p, n in (meta.adjoints or {}).items():
        if (nodes is None or p in nodes) and p in value:
            g = read(program, env, n)
            if g is not None:  # an adjoint may still be broadcast larger than its node
                grad[p] = _sum_to(np, np.asarray(g, dtype=float), np.asarray(value[p]))
    for name, v in program.grads:
        if (nodes is None or name in nodes) and v in env:
            grad[name] = env[v]
    if program.grads and out in value:
        grad[out] = np.ones_like(np.asarray(value[out], dtype=float))  # ∂L/∂L = 1
    return Numbers(value, grad)


def of_result(result, out, names):
    """The little a Result alone tells: the output's value and the gradients of the inputs."""
    if result is None:
        return Numbers()
    grad = {k: g for k, g in result.grads.items() if k in names}
    if np.size(result.value) == 1 and result.grads:
        grad[out] = np.ones_like(np.asarray(result.value, dtype=float))
    return Numbers({out: result.value}, grad)


def eval_expr(e, env, g=None):
    """A partial's number on an edge label: `var` leaves looked up in env, `G` is g, ops by ops.apply."""
    vals = {}
    for s in postorder(e):
        if s.op == "var":
            v = env[s.attr[0]]
        elif s.op == "const":
            v = s.attr
        elif s is G:
            v = g
        else:
            v = apply(s.op, np, [vals[a] for a in s.args], s.attr)
        vals[s] = v
    return vals[e]


# ---- printing numbers -----------------------------------------------------------------------------------

def number(x):
    """A scalar with 4 significant digits and a real minus sign; −0 prints as 0."""
    x = float(x)
    if np.isnan(x):
        return "nan"
    if np.isinf(x):
        return "∞" if x > 0 else "−∞"
    t = f"{x:.4g}"
    if "e" in t:
        m, e = t.split("e")
        t = f"{m}·10^{int(e)}"
    if t in ("-0", "0"):
        return "0"
    return t.replace("-", "−")


def show(x, few=3):
    """A value as a node shows it: `−5.25`, or `shape 3×2: [0.1, −0.2, 0.3, …]`."""
    a = np.asarray(x)
    if a.size == 1 and a.ndim == 0:
        return number(a)
    flat = a.reshape(-1)
    head = ", ".join(number(v) for v in flat[:few])
    more = ", …" if flat.size > few else ""
    shape = "×".join(str(n) for n in a.shape) or "1"
    return f"shape {shape}: [{head}{more}]"


def is_scalar(x):
    return np.ndim(x) == 0
