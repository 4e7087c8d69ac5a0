"""Helpers the gradient program calls at run time.

The interpreter calls these functions; codegen copies their source into every generated module, so a
shipped gradient function behaves exactly like `Program.run` and never imports irgraph.
They use only the array API that NumPy and CuPy share, with `xp` passed in.
"""


def _array(xp, value):
    """An input as a float array on `xp`: integer and boolean data is promoted, as in JAX and PyTorch."""
    value = xp.asarray(value)
    if value.dtype.kind in "biu":
        value = value.astype(xp.float64)
    elif value.dtype.kind != "f":
        raise TypeError(f"expected numbers, got an array of {value.dtype}")
    return value


def _sum_to(xp, x, like):
    """Sum a broadcast gradient back to the shape of `like` (NumPy broadcasting run in reverse)."""
    if type(x) is float and type(like) is float:  # the scalar fast path: nothing to do
        return x
    shape = getattr(like, "shape", ())
    if not hasattr(x, "shape"):  # a Python float (a constant gradient): an array of like's shape and dtype
        return xp.full_like(like, x)
    have = x.shape
    if have == shape:
        return x
    lead = len(have) - len(shape)
    if lead < 0 or any(m != 1 and m != n for m, n in zip(shape, have[lead:])):
        return x * xp.ones_like(like)  # x is smaller than like: broadcast it up instead
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and have[lead + i] != 1)
    return xp.reshape(xp.sum(x, axis=axes), shape)


def _unsum(xp, g, x, axis):
    """Pull a sum's gradient back: broadcast `g` to the shape of `x` along the reduced axis."""
    shape = getattr(x, "shape", ())
    g = xp.asarray(g, dtype=getattr(x, "dtype", None))  # the seed 1 is a Python float: keep x's dtype
    if axis is not None:
        g = xp.expand_dims(g, axis)
    return xp.broadcast_to(g, shape)


def _count(xp, x, axis):
    """How many elements a mean over `axis` averages (a float, so it never changes the dtype). None: NaN,
    so that the mean's pullback g/n is NaN as NumPy's mean of nothing is, not a ZeroDivisionError."""
    shape = getattr(x, "shape", ())
    if axis is None:
        n = 1
        for m in shape:
            n *= m
    else:
        n = shape[axis]
    return float(n) if n else float("nan")


def _mm_left(xp, g, a, b):
    """Gradient of `a @ b` with respect to `a`: g @ bᵀ, for vectors, matrices and stacks."""
    if type(g) in (int, float):  # the seed 1 of a vector dot product: keep the operands' dtype
        g = xp.asarray(g, dtype=xp.result_type(a, b))
    if b.ndim == 1:
        grad = xp.expand_dims(g, -1) * b
    elif a.ndim == 1:
        grad = xp.squeeze(b @ xp.expand_dims(g, -1), -1)
    else:
        grad = g @ xp.swapaxes(b, -1, -2)
    return _sum_to(xp, grad, a)


def _mm_right(xp, g, a, b):
    """Gradient of `a @ b` with respect to `b`: aᵀ @ g, for vectors, matrices and stacks."""
    if type(g) in (int, float):  # the seed 1 of a vector dot product: keep the operands' dtype
        g = xp.asarray(g, dtype=xp.result_type(a, b))
    if a.ndim == 1:
        grad = xp.expand_dims(a, -1) * xp.expand_dims(g, -2) if b.ndim > 1 else g * a
    elif b.ndim == 1:
        grad = xp.squeeze(xp.swapaxes(a, -1, -2) @ xp.expand_dims(g, -1), -1)
    else:
        grad = xp.swapaxes(a, -1, -2) @ g
    return _sum_to(xp, grad, b)


def _sigmoid(xp, x):
    """Logistic sigmoid as exp(-log(1 + exp(-x))): no overflow, and full relative accuracy in both tails."""
    return xp.exp(-xp.logaddexp(0, -x))


def _log_sigmoid(xp, x):
    """log(sigmoid(x)) = -log(1 + exp(-x)), finite for large |x|."""
    return -xp.logaddexp(0, -x)


def _logsumexp(xp, x, axis):
    """log(sum(exp(x), axis)) without overflow: the largest element is taken out first."""
    top = xp.max(x, axis=axis, keepdims=True)
    top = xp.where(xp.isfinite(top), top, 0)  # all -inf (or an inf) along the axis: nothing to take out
    total = xp.log(xp.sum(xp.exp(x - top), axis=axis, keepdims=True)) + top
    return xp.squeeze(total, axis) if axis is not None else xp.reshape(total, ())


def _softmax(xp, x, axis):
    """exp(x) / sum(exp(x), axis), the largest element taken out first so that nothing overflows."""
    z = xp.exp(x - xp.max(x, axis=axis, keepdims=True))
    return z / xp.sum(z, axis=axis, keepdims=True)


def _inside(xp, x, lo, hi):
    """1 where lo <= x <= hi, else 0, in x's dtype: the gradient mask of clip (bounds included)."""
    if type(x) is float:
        return float(lo <= x <= hi)
    return ((x >= lo) & (x <= hi)).astype(x.dtype)


def _pow(xp, a, b):
    """a ** b as a real number: NaN for a negative base and a fractional exponent, as in NumPy and JAX
    (Python's own float ** would return a complex number)."""
    if type(a) is float and type(b) is float and a < 0 and not b.is_integer():
        return float("nan")
    return a ** b


def _log_nz(xp, a):
    """log(a), and 0 where a is 0: ∂(x^y)/∂y = log(x)·x^y is 0 at x = 0 (as in JAX), not 0·(-inf) = NaN."""
    return xp.log(xp.where(a == 0, 1, a))


def _gate(xp, g, a):
    """g where a > 0, else 0: relu's gradient as a selection (as JAX and PyTorch), not g·step(a), so a
    flat relu stops an infinite g instead of making 0·inf = NaN. Keeps the dtype g·a would have."""
    return xp.where(a > 0, g, xp.zeros_like(a))


def _share(xp, x, out, y):
    """x's share of the gradient of out = max(x, y) (or min): 1 where x is the result, 1/2 where y is as
    well (a tie), else 0, as JAX computes it; NaN on the other side gives 0. In the dtype x·y would have."""
    if type(x) is float and type(y) is float:
        return (x == out) / (1.0 + (y == out))
    mask = xp.where(x == out, xp.where(y == out, 0.5, 1.0), 0.0)
    return mask.astype(xp.result_type(x, y))


def _tangent(xp, v, name, like):
    """The direction for input `name` from the mapping `v`, checked against the shape of `like`."""
    if not hasattr(v, "keys"):
        raise TypeError(f"the direction must be a mapping of input names to arrays, not {type(v).__name__}")
    if name not in v:
        raise ValueError(f"the direction has no entry for {name!r}")
    t = v[name]
    if type(t) is float and type(like) is float:
        return t
    t = _array(xp, t)
    shape = getattr(like, "shape", ())
    if t.shape != shape:
        raise ValueError(f"the direction for {name!r} has shape {t.shape}, but {name!r} has shape {shape}")
    return t


def _hessian(xp, hvp, grads):
    """{a: {b: array of shape a.shape + b.shape}}, a column at a time: hvp along each unit vector."""
    number = {b: not hasattr(g, "shape") for b, g in grads.items()}  # Python numbers on the scalar path
    zero = {b: 0.0 if number[b] else xp.zeros_like(g) for b, g in grads.items()}
    columns = {a: {b: [] for b in grads} for a in grads}
    for b, g in grads.items():
        shape = getattr(g, "shape", ())
        size = 1
        for n in shape:
            size *= n
        for j in range(size):
            if number[b]:
                unit = 1.0
            else:
                unit = xp.zeros(size, dtype=g.dtype)
                unit[j] = 1
                unit = xp.reshape(unit, shape)
            hv = hvp({**zero, b: unit})
            for a in grads:
                columns[a][b].append(xp.asarray(hv[a]))
    return {a: {b: xp.reshape(xp.stack(c, axis=-1), getattr(grads[a], "shape", ()) + getattr(grads[b], "shape", ()))
                for b, c in row.items()} for a, row in columns.items()}


HELPERS = (_array, _sum_to, _unsum, _count, _mm_left, _mm_right, _sigmoid, _log_sigmoid, _logsumexp, _softmax,
           _inside, _pow, _log_nz, _gate, _share, _tangent, _hessian)
