"""Matrix products that are loops: C = A @ B of 2-D operands with a size-1 axis among m, k, n (A is m×k,
B is k×n), and the gradients g @ Bᵀ and Aᵀ @ g of such products.

Every such product lives in the iteration space (m, k, n): each operand and the result is a view of it with
one axis of size 1 (A is m×k×1, B 1×k×n, C m×1×n). With k == 1 it is an outer product, elementwise work;
with m == 1 or n == 1 a matrix-vector product, a multiplication summed over one axis of the loop. Both run
inside a fused loop (passes/fuse.py) instead of as a BLAS call that writes, or reads, one more whole array:
the gradient W2ᵀ @ g of a one-output layer, its forward W2 @ h and its weight gradient g @ hᵀ in W3.
"""

PRODUCTS = ("matmul", "mm_left", "mm_right")
FACTORS = {"matmul": (0, 1), "mm_left": (0, 2), "mm_right": (0, 1)}  # the two arguments multiplied


def loop_views(op, arg_shapes):
    """(space, [view of each argument or None where it is not read], view of the result) in a 2-D space,
    or None when the product is a BLAS call (no size-1 axis, or operands that are not matrices)."""
    if op not in PRODUCTS or len(arg_shapes) < 2 or any(len(s) != 2 for s in arg_shapes):
        return None
    if op == "matmul":
        (m, k), (_, n) = arg_shapes
        mk, kn, mn = (m, k, 1), (1, k, n), (m, 1, n)
        views, out = [mk, kn], mn
    elif op == "mm_left":  # g @ Bᵀ: g is m×n, B is k×n; the result has A's shape m×k
        (m, n), _, (k, _) = arg_shapes
        mk, kn, mn = (m, k, 1), (1, k, n), (m, 1, n)
        views, out = [mn, None, kn], mk
    else:  # Aᵀ @ g: A is m×k, g is m×n; the result has B's shape k×n
        (m, n), (_, k), _ = arg_shapes
        mk, kn, mn = (m, k, 1), (1, k, n), (m, 1, n)
        views, out = [mn, mk, None], kn
    space3 = (m, k, n)
    if 1 not in space3:
        return None
    drop = space3.index(1)

    def two(v):
        return None if v is None else tuple(n for d, n in enumerate(v) if d != drop)
    return two(space3), [two(v) for v in views], two(out)
