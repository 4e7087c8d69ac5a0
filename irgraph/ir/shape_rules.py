"""Shape arithmetic: NumPy broadcasting, matmul and reductions on shape tuples (no other imports)."""


def broadcast(*shapes):
    """NumPy broadcasting of shapes."""
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(ndim):
        sizes = {s[i - ndim + len(s)] for s in shapes if i - ndim + len(s) >= 0} - {1}
        if len(sizes) > 1:
            raise ValueError("cannot broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def matmul(a, b):
    if not a or not b:
        raise ValueError("@ needs at least one dimension on both sides (use * for scalars)")
    inner_a, inner_b = a[-1], (b[0] if len(b) == 1 else b[-2])
    if inner_a != inner_b:
        raise ValueError(f"inner dimensions differ ({inner_a} vs {inner_b})")
    batch = broadcast(a[:-2], b[:-2])
    rows = a[-2:-1] if len(a) > 1 else ()
    cols = b[-1:] if len(b) > 1 else ()
    return batch + rows + cols


def reduce(shape, axis):
    if axis is None:
        return ()
    if not -len(shape) <= axis < len(shape):
        raise ValueError(f"axis {axis} is out of range for {len(shape)} dimensions")
    axis %= len(shape)
    return shape[:axis] + shape[axis + 1:]
