"""Fused kernels → a standalone module for Numba: value_and_grad(inputs) -> (value, {name: grad}).

The module is specialised to one input signature (shapes and dtypes, as jax.jit is), and needs NumPy and
Numba only. Each "loop" kernel (passes/fuse.py) becomes one @njit function: a 2-D loop nest over its
iteration space, parallel over chunks, in which every operand is read once and the reductions are summed
in registers (per-chunk partial sums, added up after the loop). Loop bodies are the op rows' own code
(ops.Op.code) with the array module's functions swapped for scalar ones (`xp.tanh(a)` → `_k_tanh(a)`).
Matrix products and the other kernels run as the same NumPy code as prog.source, so BLAS does them.

An iteration space that does not fold to two dimensions (see _fold) runs as NumPy code too.
"""

import inspect
import math
import re

import numpy as _numpy

from ..ir.ops import OPS
from ..ir.shapes import SHAPE_ONLY
from . import numba_math, runtime
from .codegen import _atom
from .numba_phases import LoopCall, MatCall, Setup, render
from .numba_products import FACTORS, PRODUCTS, loop_views
from .runtime import _array

FLAGS = '{"reassoc", "contract"}'  # reassociation lets LLVM vectorise sums; no nnan/ninf: NaN and Inf propagate
# error_model="numpy": x / 0 gives inf or nan as in NumPy, with no check that keeps LLVM from vectorising
KEEP_BYTES = 1 << 29  # a workspace of temporaries up to 512 MB is kept between calls (see WORKSPACE)
PARALLEL_AT = 1 << 17  # elements: smaller loops run on one thread, where waking the others costs more
_MATH = {f.__name__: f for f in numba_math.FUNCTIONS}  # compiled without "reassoc": see numba_math
_NEEDS = {"_mm_left": ("_sum_to",), "_mm_right": ("_sum_to",)}
# Matrix products in a loop (numba_products): two factors multiplied, perhaps summed over an axis; the third
# argument of a gradient (the other factor, read for its dtype) is not read in the loop.
_UNREAD = {**SHAPE_ONLY, "mm_left": (1,), "mm_right": (2,)}


def generate(program, shapes, dtypes):
    """The module's source for the kernels of `program` (already fused for `shapes`); dtypes: {variable:
    numpy dtype name, or None for a Python float}."""
    gen = _Module(program, shapes, dtypes)
    return gen.source()


class _Module:
    def __init__(self, program, shapes, dtypes):
        self.program, self.shapes, self.dtypes = program, shapes, dtypes
        self.kernels, self.driver, self.helpers, self.scalar_fns = [], [], set(), set()
        self.count = 0
        self.buffers = []  # (shape, dtype) of each array in the workspace, by index
        self.pooled = set()  # variables that are (views of) workspace arrays

    def buffer(self, var):
        """The driver's expression for an array to hold `var`: a returned one is new, a temporary lives in the
        workspace (reused from call to call)."""
        if var in self.program.results:
            return f"_numpy.empty({self.shapes[var]!r}, {self.dtypes[var]!r})"
        self.buffers.append((self.shapes[var], self.dtypes[var]))
        self.pooled.add(var)
        return f"_ws[{len(self.buffers) - 1}]"

    def fresh(self, prefix):
        """A name no program variable can have: they never start with "_" unless they also end with it."""
        self.count += 1
        return f"_{prefix}{self.count}"

    def source(self):
        p = self.program
        for name, v in p.inputs:
            dt = self.dtypes.get(v)
            self.driver.append(f"{v} = _input(inputs, {name!r}, {self.shapes[v]!r}, {dt!r})")
        for k in p.kernels:
            comment = f"# {k.name}: {k.kind}" + (f" over {k.space}" if k.kind == "loop" else "")
            if k.kind == "loop":
                self.loop(k, comment)
            elif k.kind == "blas" and k.instrs[0].op == "mul":
                self.driver.append(comment)
                self.contraction(k)
            else:
                self.lines(k.instrs, comment)
        grads = ", ".join(f"{name!r}: {self.returned(v)}" for name, v in p.grads)
        self.driver.append(f"return {self.returned(p.output[1])}, {{{grads}}}")
        return self.assemble()

    # ---- NumPy code: scalars, BLAS, and anything else --------------------------------------------------
    def lines(self, instrs, comment=None):
        """NumPy code for each instruction; a 2-D matrix product as a MatCall, which may join a row phase."""
        for ins in instrs:
            args = [_atom(a) for a in ins.args]
            if self.product(ins):
                self.driver.append(Setup(f"{ins.out} = {self.buffer(ins.out)}"))
                self.driver.append(self.matcall(ins, args, comment or ""))
                self.helpers.add("_matmul")
                comment = None
                continue
            if comment:
                self.driver.append(comment)
                comment = None
            if ins.op == "count":  # a constant of this signature
                code = repr(float(_count(self.shapes[ins.args[0]], dict(ins.params).get("axis"))))
            elif ins.op == "sum_to" and self.shapes[ins.args[0]] == self.shapes[ins.out]:
                code = args[0]
                if args[0] in self.pooled:
                    self.pooled.add(ins.out)
            else:
                code = OPS[ins.op].code(args, ins.params)
            for helper in runtime.HELPERS:
                if helper.__name__ + "(" in code:
                    self.helpers.add(helper.__name__)
            self.driver.append(f"{ins.out} = {code}")

    def contraction(self, k):
        """A product of two arrays summed (a "blas" kernel of passes/fuse.py): einsum, which hands the
        contraction to BLAS (dot, gemv), with no array for the product."""
        mul, red = k.instrs
        kept = _kept(red, k.space, self.shapes)
        a, b = (_atom(x) for x in mul.args)
        code = f"_product_sum({a}, {b}, {kept!r}, {self.shapes[red.out]!r})"
        if red.op == "mean":
            code += f" / {float(_count(self.shapes[red.args[0]], dict(red.params).get('axis')))!r}"
        self.helpers.add("_product_sum")
        self.driver.append(f"{red.out} = {code}")

    def matcall(self, ins, args, comment):
        """The MatCall of a 2-D product (see product)."""
        rows = self.shapes[ins.out][0]
        if ins.op == "matmul":
            return MatCall(comment, ins.out, args[0], args[0], (args[0],), args[1], (args[1],), rows)
        if ins.op == "mm_left":  # g @ bᵀ
            return MatCall(comment, ins.out, args[0], args[0], (args[0],), f"{args[2]}.T", (args[2],), rows)
        return MatCall(comment, ins.out, f"{args[1]}.T", None, (args[1],), args[0], (args[0],), rows)  # aᵀ @ g

    def product(self, ins):
        """Whether a matrix product has 2-D operands and result, and needs no sum back to an operand's
        shape: then _matmul runs it (matcall)."""
        shapes = [self.shapes.get(a, ()) if isinstance(a, str) else () for a in ins.args]
        if ins.op not in PRODUCTS or not self.dtypes[ins.out]:
            return False
        if any(len(s) != 2 for s in shapes) or len(self.shapes[ins.out]) != 2:
            return False
        if ins.op == "matmul":
            return True
        g, a, b = shapes
        if ins.op == "mm_left":
            return self.shapes[ins.out] == (g[0], b[0]) == a
        return self.shapes[ins.out] == (a[1], g[1]) == b

    # ---- one fused loop --------------------------------------------------------------------------------
    def loop(self, k, comment):
        space = k.space
        made = {i.out for i in k.instrs}
        keys = []  # (variable, the shape it is read as): a variable read through two views is two operands
        for ins in k.instrs:
            for pos, a in enumerate(ins.args):
                if isinstance(a, str) and a not in made and pos not in _UNREAD.get(ins.op, ()):
                    keys.append((a, _view(ins, pos, self.shapes)))
        keys = list(dict.fromkeys(keys))
        views = {}
        for var, _ in keys:
            views[var] = views.get(var, 0) + 1
        reads = {key: key[0] if views[key[0]] == 1 else self.fresh("v") for key in keys}
        targets = {i.out: _kept(i, space, self.shapes) for i in k.instrs if _reduces(i, space, self.shapes)}
        masks = [_mask(view, space) for _, view in reads] + list(targets.values()) + [(True,) * len(space)]
        dims = _fold(space, masks)
        if dims is None or not all(_scalar_ok(i) for i in k.instrs):
            self.driver += [comment, "# (not a 2-D loop of scalar functions Numba compiles: NumPy code)"]
            self.lines(k.instrs)
            return
        (n0, g0), (n1, g1) = dims

        def pattern(mask):
            return tuple(any(mask[d] for d in g) for g in (g0, g1))

        fname = k.name
        params, call, body, before, row_before, row_after, after, finish = [], [], [], [], [], [], [], []
        index = {(True, True): "[_i, _j]", (False, True): "[_j]", (True, False): "[_i]", (False, False): ""}
        ref, by_rows = {}, {}  # by_rows: variable -> the shapes it may have to be read by row blocks, or None
        for (var, view), name in reads.items():
            pat = pattern(_mask(view, space))
            shape = tuple(n for n, kept in zip((n0, n1), pat) if kept)
            params.append(name)
            call.append((f"_numpy.reshape({var}, {shape})" if shape else f"_scalar({var})", "rows" if pat[0] else ""))
            ref[(var, view)] = name + index[pat]
            need = {(True, True): {(n0, n1)}, (True, False): {(n0,), (n0, 1)}}.get(pat)
            by_rows[var] = need if by_rows.get(var, need) is not None else None
        outs = [i.out for i in k.instrs if i.out in k.writes and i.out not in targets]
        for v in outs:
            name = self.fresh("o")
            params.append(name)
            self.driver.append(Setup(f"{v} = {self.buffer(v)}"))
            call.append((f"{v}.reshape({n0}, {n1})", "rows"))
        for ins in k.instrs:
            args = []
            for pos, a in enumerate(ins.args):
                if not isinstance(a, str):
                    args.append(_atom(a))
                elif a in made:
                    args.append(a)
                elif pos not in _UNREAD.get(ins.op, ()):
                    args.append(ref[(a, _view(ins, pos, self.shapes))])
                else:
                    args.append(a)  # read for its shape only: never used in the loop body
            if ins.out in targets:
                value = self.scalar_code(ins, args) if ins.op in FACTORS else args[0]
                self.reduction(ins, value, targets[ins.out], pattern(targets[ins.out]), (n0, n1), params, call,
                               before, body, row_before, row_after, after, finish)
                continue
            body.append(f"{ins.out} = {self.scalar_code(ins, args)}")
            if ins.out in outs:
                body.append(f"{params[len(reads) + outs.index(ins.out)]}[_i, _j] = {ins.out}")
        eqs = ", ".join(k.equations()) or "temporaries"
        parallel = math.prod(space) >= PARALLEL_AT
        src = ["@_numba.njit(parallel=PARALLEL, **_FLAGS)",  # decided by numba_phases.render
               f"def {fname}(_n0, _n1, _nc, {', '.join(params)}):",
               f'    """Computes {eqs} in one pass over the {space} iteration space."""',
               "    for _c in _prange(_nc):",
               "        _i0, _i1, _j0, _j1 = _chunk(_c, _nc, _n0, _n1)"]
        src += ["        " + s for s in before]
        src += ["        for _i in range(_i0, _i1):"] + ["            " + s for s in row_before]
        src += ["            for _j in range(_j0, _j1):"] + ["                " + s for s in body]
        src += ["            " + s for s in row_after] + ["        " + s for s in after]
        self.kernels.append((fname, parallel, "\n".join(src)))
        self.driver.append(LoopCall(comment, fname, n0, n1, parallel, call, by_rows, set(outs), set(targets), finish))

    def reduction(self, ins, value, kept, pat, dims, params, call, before, body, row_before, row_after, after,
                  finish):
        part = self.fresh("r")
        params.append(part)
        acc = self.fresh("a")
        size = {(False, False): "_nc", (True, False): f"(_nc, {dims[0]})", (False, True): f"(_nc, {dims[1]})"}
        self.driver.append(Setup(f"{part} = _numpy.zeros({size[pat]})"))
        call.append((part, "part_rows" if pat == (True, False) else "part"))
        if pat == (False, False):
            before.append(f"{acc} = 0.0")
            body.append(f"{acc} += {value}")
            after.append(f"{part}[_c] = {acc}")
        elif pat == (True, False):
            row_before.append(f"{acc} = 0.0")
            body.append(f"{acc} += {value}")
            row_after.append(f"{part}[_c, _i] += {acc}")
        else:
            body.append(f"{part}[_c, _j] += {value}")
        n = _count(self.shapes[ins.args[0]], dict(ins.params).get("axis")) if ins.op == "mean" else None
        finish.append(f"{ins.out} = _finish({part}, {self.shapes[ins.out]!r}, {self.dtypes[ins.out]!r}, {n!r})")

    def returned(self, var):
        """A returned variable: a workspace array is copied out, since the next call overwrites it."""
        return f"{var}.copy()" if var in self.pooled else var

    def scalar_code(self, ins, args):
        """The op row's code for one element: xp.f(a) → _k_f(a), _helper(xp, a) → _k_helper(a)."""
        if ins.op in ("sum_to", "unsum"):
            return args[0]  # inside a loop: a copy, or a read broadcast through its view
        if ins.op == "full_like":
            return args[1]
        if ins.op == "zeros_like":
            return "0.0"
        if ins.op in FACTORS:  # a product with an axis of size 1 (numba_products): one multiplication
            i, j = FACTORS[ins.op]
            return f"{args[i]} * {args[j]}"
        if ins.op == "pow":  # an integer constant power (_scalar_ok): plain **, never complex
            return f"{args[0]} ** {args[1]}"
        code = OPS[ins.op].code(args, ins.params)
        code = re.sub(r"\bxp\.(\w+)\(", r"_k_\1(", code)
        code = re.sub(r"\b_(\w+)\(xp, ", r"_k_\1(", code)
        self.scalar_fns.update(re.findall(r"\b(_k_\w+)\(", code))
        return code

    def assemble(self):
        p = self.program
        out_name = p.output[0]
        wrt = ", ".join(p.wrt) or "nothing"
        sig = ", ".join(f"{name}: {self.shapes[v]} {self.dtypes[v] or 'float'}" for name, v in p.inputs)
        head = [f'"""Fused gradient program generated by irgraph for Numba: value of {out_name} and its gradient',
                f"with respect to {wrt}, for inputs {{{sig}}}.",
                "",
                "Standalone: needs NumPy and Numba (and threadpoolctl, if installed, to keep BLAS on Numba's",
                "threads). Kernels compile on first use and are cached on disk.",
                '"""', "", HEAD]
        parts = ["\n".join(head)]
        parts.append(math_source(self.scalar_fns))
        parts.append("@_numba.njit(**_FLAGS)\n" + inspect.getsource(_chunk))
        used = self.helpers | {need for h in self.helpers for need in _NEEDS.get(h, ())} | {"_array"}
        parts += [inspect.getsource(h) for h in runtime.HELPERS if h.__name__ in used]
        parts += [inspect.getsource(f) for f in (_input, _scalar, _finish)]
        if "_matmul" in self.helpers:
            parts.append(SHARED_THREADS)
        if "_product_sum" in self.helpers:
            parts.append(inspect.getsource(_product_sum))
        driver, serial = render(self.driver, self.shapes)
        parts += [src.replace("parallel=PARALLEL", f"parallel={parallel and name not in serial}", 1)
                  for name, parallel, src in self.kernels]
        if self.buffers:
            arrays = "".join(f"\n        _numpy.empty({shape!r}, {dtype!r})," for shape, dtype in self.buffers)
            size = sum(math.prod(shape) * _numpy.dtype(dtype).itemsize for shape, dtype in self.buffers)
            parts.append(WORKSPACE.format(arrays=arrays, keep=size <= KEEP_BYTES, mb=math.ceil(size / 2**20)))
        inputs = ", ".join(name for name, _ in p.inputs)
        doc = f'    """{out_name} and {{name: gradient}} from inputs {{{inputs}}} of the shapes above."""'
        body = driver
        if self.buffers:
            body = ["_ws = _POOL.pop() if _POOL else _workspace()", "try:"] + ["    " + s for s in body]
            body += ["finally:", "    if _KEEP:", "        _POOL.append(_ws)"]
        if self.helpers & {"_matmul"}:  # BLAS on one thread while the kernels run: see SHARED_THREADS
            body = ["with _one_blas_thread():"] + ["    " + s for s in body]
        func = ["def value_and_grad(inputs):", doc, "    xp = _numpy", "    _nc = _numba.get_num_threads()"]
        parts.append("\n".join(func + ["    " + s for s in body]))
        return "\n\n".join(s.rstrip("\n") + "\n" for s in parts)


# ---- helpers copied into the module ----------------------------------------------------------------------

HEAD = ("import math\nimport os\n\nimport numba as _numba\nimport numpy as _numpy\nfrom numba import prange as _prange\n\n"
        "# Numba's OpenMP threads sleep between kernels instead of spinning for milliseconds on the cores that\n"
        "# the BLAS calls between the kernels need (read when Numba first starts its threads).\n"
        "os.environ.setdefault(\"OMP_WAIT_POLICY\", \"PASSIVE\")\n"
        f"_FLAGS = dict(cache=True, nogil=True, error_model=\"numpy\", fastmath={FLAGS})\n"
        "_MATH_FLAGS = dict(cache=True, nogil=True, error_model=\"numpy\", fastmath={\"contract\"})\n")


WORKSPACE = '''# The large temporaries live in a workspace reused from call to call: allocating them afresh costs
# more than the kernels (the allocator returns big blocks to the OS, and each call faults them in again).
# Each call takes a workspace from the pool and puts it back, so concurrent calls never share one. A
# workspace over 512 MB is not kept between calls: holding that much memory idle costs more.
_POOL = []
_KEEP = {keep}  # this workspace: {mb} MB


def _workspace():
    """The temporaries' arrays, by index."""
    return ({arrays}
    )
'''


SHARED_THREADS = '''# BLAS and the kernels share Numba's threads. During a call BLAS runs on one thread, and a large matrix
# product is split by rows over Numba's thread count (the main thread and a small pool). Otherwise two thread
# pools fight over the cores: OpenBLAS's threads spin for a while after each product, exactly when the
# kernels' threads start; on a busy 2-core machine that made a W3 call 6x slower. Without threadpoolctl
# (which finds the BLAS library loaded) BLAS keeps its own threads, and a product on its own is not split.
import threading
from concurrent.futures import ThreadPoolExecutor

try:
    from threadpoolctl import ThreadpoolController as _Controller

    _BLAS = _Controller().select(user_api="blas").lib_controllers
except ImportError:
    _BLAS = []
_BLAS_LOCK = threading.Lock()
_BLAS_STATE = {"calls": 0, "threads": []}  # calls running now; BLAS's thread counts to restore after the last
_WORKERS = ThreadPoolExecutor(max(1, _numba.config.NUMBA_NUM_THREADS - 1), thread_name_prefix="irgraph-blas")
_SPLIT_AT = 1 << 20  # multiply-adds: a smaller product is not worth a hand-off to another thread


class _one_blas_thread:
    """BLAS on one thread from the first call that enters to the last that leaves (calls may overlap)."""

    def __enter__(self):
        with _BLAS_LOCK:
            if _BLAS_STATE["calls"] == 0:
                _BLAS_STATE["threads"] = [lib.get_num_threads() for lib in _BLAS]
                for lib in _BLAS:
                    lib.set_num_threads(1)
            _BLAS_STATE["calls"] += 1

    def __exit__(self, *exc):
        with _BLAS_LOCK:
            _BLAS_STATE["calls"] -= 1
            if _BLAS_STATE["calls"] == 0:
                for lib, n in zip(_BLAS, _BLAS_STATE["threads"]):
                    lib.set_num_threads(n)


def _rows(phase, nc):
    """phase(c, nc) for every block c of rows (numba_phases), block 0 on this thread, the others on the pool."""
    jobs = [_WORKERS.submit(phase, c, nc) for c in range(1, nc)]
    try:
        phase(0, nc)
    finally:
        for job in jobs:
            job.result()


def _matmul(a, b, out):
    """a @ b into out (2-D arrays); a large product is split by rows over the threads (_rows)."""
    nc = _numba.get_num_threads()
    rows = out.shape[0]
    if not _BLAS or nc < 2 or rows < 2 * nc or a.shape[0] * a.shape[1] * b.shape[1] < _SPLIT_AT:
        return _numpy.matmul(a, b, out=out)

    def block(c, nc):
        i0, i1 = c * rows // nc, (c + 1) * rows // nc
        _numpy.matmul(a[i0:i1], b, out=out[i0:i1])
    _rows(block, nc)
    return out
'''


def math_source(names):
    """Source defining the scalar functions `names` (_k_exp, ...) and those they call, for a module that
    starts with HEAD: numba_math's functions compiled with _MATH_FLAGS, NumPy's ufuncs for the rest."""
    needed, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name not in needed:
            needed.add(name)
            if name in _MATH:
                todo += re.findall(r"\b(_k_\w+|_from_bits|_to_bits)\(", inspect.getsource(_MATH[name]))
    parts = []
    if needed & {"_from_bits", "_to_bits"}:
        from . import numba_bits  # imports Numba, which a module that needs these has anyway

        parts.append(f"from numba.extending import intrinsic as _intrinsic\n\nLN2_HI = {numba_math.LN2_HI!r}\n"
                     f"LN2_LO = {numba_math.LN2_LO!r}\n")
        parts += [inspect.getsource(f._defn) for f in numba_bits.FUNCTIONS]
    for name in sorted(needed - {"_from_bits", "_to_bits"}):
        if name in _MATH:
            parts.append("@_numba.njit(**_MATH_FLAGS)\n" + inspect.getsource(_MATH[name]))
        else:
            parts.append(f"{name} = _numpy.{name[3:]}\n")
    return "\n\n".join(s.rstrip("\n") + "\n" for s in parts)

def _chunk(c, nc, n0, n1):
    """Rows [i0, i1) and columns [j0, j1) of chunk c of nc: rows are split when there are enough.

    The bounds are unsigned, so the loop indices are too: a signed index may be negative as far as LLVM
    knows, and Numba's wraparound for negative indices turns every vectorised load into a gather.
    """
    u = _numba.uint64  # noqa: F821 - this runs in the generated module, which imports numba as _numba
    c, nc, n0, n1 = u(c), u(nc), u(n0), u(n1)
    if n0 >= nc:
        return c * n0 // nc, (c + 1) * n0 // nc, u(0), n1
    return u(0), n0, c * n1 // nc, (c + 1) * n1 // nc


def _input(inputs, name, shape, dtype):
    """An input checked against the signature this module was made for."""
    x = inputs[name]
    if dtype is None and type(x) is float:
        return x
    x = _array(_numpy, x)
    if x.shape != shape or x.dtype.name != (dtype or "float64"):
        raise ValueError(f"input {name!r} has shape {x.shape} and dtype {x.dtype}; this module was made for "
                         f"{shape} {dtype or 'float'}")
    return x


def _product_sum(a, b, kept, shape):
    """a * b (broadcast together) summed over the axes where `kept` is False, as `shape`, by einsum."""
    rank = len(kept)
    letters = "abcdefghijklmnopqrstuvwxyz"[:rank]

    def operand(x):
        padded = (1,) * (rank - x.ndim) + x.shape
        axes = [d for d in range(rank) if padded[d] != 1]
        return x.reshape([padded[d] for d in axes]), "".join(letters[d] for d in axes)

    (xa, sa), (xb, sb) = operand(a), operand(b)
    out = "".join(letters[d] for d in range(rank) if kept[d] and letters[d] in sa + sb)
    return _numpy.einsum(f"{sa},{sb}->{out}", xa, xb, optimize=True).reshape(shape)[()]


def _scalar(x):
    """A one-element operand as a float for a kernel (float32 values convert exactly)."""
    return float(_numpy.asarray(x).reshape(()))


def _finish(partial, shape, dtype, count):
    """Add up a reduction's per-chunk partial sums; a mean divides by its count."""
    total = partial.sum(axis=0)
    if count is not None:
        total = total / count
    if shape == ():
        return _numpy.dtype(dtype).type(total)
    return total.reshape(shape).astype(dtype)


# ---- shapes of a loop -------------------------------------------------------------------------------------

def _count(shape, axis):
    return math.prod(shape) if axis is None else shape[axis]


def _scalar_ok(ins):
    """Whether a loop body can compute this instruction: every function it calls has a scalar version."""
    if ins.op in ("sum", "mean", "sum_to", "unsum", "full_like", "zeros_like", "id", *FACTORS):
        return True
    if ins.op == "pow":
        return not isinstance(ins.args[1], str) and float(ins.args[1]).is_integer()
    code = OPS[ins.op].code([f"a{i}" for i in range(len(ins.args))], ins.params)
    code = re.sub(r"\bxp\.(\w+)\(", r"_k_\1(", code)
    code = re.sub(r"\b_(\w+)\(xp, ", r"_k_\1(", code)
    names = re.findall(r"\b(_k_\w+)\(", code)
    return all(n in _MATH or (n[3:] not in ("heaviside", "clip") and hasattr(_numpy, n[3:])) for n in names)


def _pad(shape, rank):
    return (1,) * (rank - len(shape)) + tuple(shape)


def _view(ins, pos, shapes):
    """The shape operand `pos` of `ins` is read as inside a loop: unsum's gradient gets its summed axis back."""
    shape = shapes[ins.args[pos]]
    if ins.op in FACTORS:
        return _product(ins, shapes)[1][pos]
    axis = dict(ins.params).get("axis")
    if ins.op == "unsum" and axis is not None:
        rank = len(shapes[ins.out])
        axis %= rank
        shape = tuple(shape[:axis]) + (1,) + tuple(shape[axis:])
    return shape


def _mask(view, space):
    """For each axis of the space: does the operand vary along it (False: it is broadcast)?"""
    return tuple(n != 1 for n in _pad(view, len(space)))


def _product(ins, shapes):
    return loop_views(ins.op, [shapes[a] for a in ins.args])


def _reduces(ins, space, shapes):
    if ins.op in FACTORS:
        return _product(ins, shapes)[2] != space
    return ins.op in ("sum", "mean") or (ins.op == "sum_to" and shapes[ins.args[0]] == space
                                         and shapes[ins.out] != space)


def _kept(ins, space, shapes):
    """For each axis of the space: does a reduction keep it?"""
    if ins.op in FACTORS:
        return _mask(_product(ins, shapes)[2], space)
    if ins.op == "sum_to":
        return _mask(shapes[ins.out], space)
    axis = dict(ins.params).get("axis")
    if axis is None:
        return (False,) * len(space)
    axis %= len(space)
    return tuple(d != axis for d in range(len(space)))


def _fold(space, masks):
    """The space as two axes ((size, original axes), (size, original axes)), or None.

    Axes of size 1 are dropped; neighbouring axes along which every operand and result varies alike merge
    (as NumPy's iterator coalesces them). A space that still has more than two axes is not folded.
    """
    axes = [d for d, n in enumerate(space) if n != 1]
    groups = []
    for d in axes:
        if groups and all(m[groups[-1][-1]] == m[d] for m in masks):
            groups[-1].append(d)
        else:
            groups.append([d])
    if len(groups) > 2:
        return None
    groups = [[]] * (2 - len(groups)) + groups
    return tuple((math.prod(space[d] for d in g), tuple(g)) for g in groups)
