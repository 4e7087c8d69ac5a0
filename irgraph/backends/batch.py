"""The batch axis of a set of data arrays: the axis that runs over the samples.

One rule, shared by mini-batching (fit) and chunking (the dask device): N is the largest dimension among
the arrays, and an array's batch axis is its first axis of length N. Arrays with no such axis (scalars,
parameters, per-feature constants) are used whole. So X of shape (N, D) and y of shape (N,) are batched
along axis 0, and the MLP's X of shape (D, N) and Y of shape (1, N) along axis 1.
"""


def batch_axes(arrays):
    """(N, {name: batch axis}) for a mapping of arrays; (0, {}) when none has an axis."""
    shapes = {name: tuple(getattr(x, "shape", ())) for name, x in arrays.items()}
    n = max((d for shape in shapes.values() for d in shape), default=0)
    if n <= 1:
        return n, {}
    return n, {name: shape.index(n) for name, shape in shapes.items() if n in shape}


def take(arrays, axes, rows, xp):
    """The arrays with only `rows` (an index array) along their batch axes; the others unchanged."""
    return {name: xp.take(x, rows, axis=axes[name]) if name in axes else x for name, x in arrays.items()}
