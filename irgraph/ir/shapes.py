"""Shape inference over a program's forward part, so shape errors name the equation and the shapes.

It runs before any array work: a mismatch is reported as an irgraph.Error, never as a NumPy traceback.
"""

from .errors import Error
from .ops import OPS

SCALAR = "()"  # the static shape class of constants and counts


def shape_class(node, op, arg_classes):
    """A static shape class: nodes of equal class have equal shapes at run time (conservatively).

    Passes use it to skip `sum_to` where no broadcasting can have happened, before any shape is known.
    """
    if op in ("const", "count"):
        return SCALAR
    if op == "input":
        return node
    row = OPS[op]
    if row.shape_of is not None:
        return arg_classes[row.shape_of]
    if row.kind == "tensor":
        return node
    classes = set(arg_classes) - {SCALAR}  # elementwise: a scalar operand never changes the shape
    if not classes:
        return SCALAR
    return classes.pop() if len(classes) == 1 else node


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


def rule(op, shapes, axis):
    if op in ("sum", "mean"):
        return reduce(shapes[0], axis)
    if op == "transpose":
        return tuple(reversed(shapes[0]))
    if op == "matmul":
        return matmul(*shapes)
    if OPS[op].kind == "elementwise" or op == "id":
        return broadcast(*shapes)
    raise KeyError(op)


def infer(program, shapes):
    """Shapes of the forward values, given {input variable: shape}; raises Error naming the equation."""
    known = dict(shapes)
    for ins in program.instrs:
        if ins.role != "forward":
            break
        args = [known[a] if isinstance(a, str) else () for a in ins.args]
        try:
            known[ins.out] = rule(ins.op, args, ins.axis)
        except ValueError as e:
            shown = " and ".join(str(s) for s, a in zip(args, ins.args) if isinstance(a, str))
            raise Error(f"shape mismatch in {program.where(ins)}: {OPS[ins.op].label} of shapes {shown}: {e}")
    return known
