"""Shape inference over a program's forward part, so shape errors name the equation and the shapes.

It runs before any array work: a mismatch is reported as an irgraph.Error, never as a NumPy traceback.
"""

from .errors import Error
from .ops import OPS

SCALAR = "()"
# Operands an op reads only for their shape (and dtype), never their values: no data flows from them.
SHAPE_ONLY = {"count": (0,), "sum_to": (1,), "unsum": (1,), "full_like": (0,), "zeros_like": (0,)}  # the static shape class of constants and counts


def shape_class(node, op, args, classes):
    """A static shape class: nodes of equal class have equal shapes at run time (conservatively).

    args: the node's operands; classes: {node: its class}, holding theirs. Passes use it to skip `sum_to`
    where no broadcasting can have happened, before any shape is known.
    """
    if op in ("const", "count"):
        return SCALAR
    if op == "input":
        return node
    # The operands' classes are looked up here: most nodes have one or two operands, and a list
    # comprehension per node cost more than the rest of the function.
    n = len(args)
    arg_classes = (classes[args[0]], classes[args[1]]) if n == 2 else (classes[args[0]],) if n == 1 else \
        [classes[a] for a in args]
    row = OPS[op]
    if row.shape_of is not None:
        return arg_classes[row.shape_of]
    if row.kind == "tensor":
        return node
    if n == 2:  # elementwise: a scalar operand never changes the shape
        a, b = arg_classes
        return a if a == b or b == SCALAR else b if a == SCALAR else node
    distinct = set(arg_classes) - {SCALAR}
    if not distinct:
        return SCALAR
    return distinct.pop() if len(distinct) == 1 else node


def infer(program, shapes):
    """Shapes of the forward values, given {input variable: shape}; raises Error naming the equation."""
    known = dict(shapes)
    for ins in program.instrs:
        if ins.role != "forward":
            break
        args = [known[a] if isinstance(a, str) else () for a in ins.args]
        try:
            known[ins.out] = OPS[ins.op].out_shape(args, ins.params)
        except ValueError as e:
            shown = " and ".join(str(s) for s, a in zip(args, ins.args) if isinstance(a, str))
            raise Error(f"shape mismatch in {program.where(ins)}: {OPS[ins.op].label} of shapes {shown}: {e}")
    return known


class Shapes(dict):
    """{variable: shape}, where an inlined constant (a number, not a name) has shape ()."""

    def __missing__(self, key):
        if isinstance(key, str):
            raise KeyError(key)
        return ()


def infer_all(program, shapes):
    """Shapes of every value, forward and backward, given {input variable: shape} that infer() accepted."""
    known = Shapes(shapes)
    for ins in program.instrs:
        row = OPS[ins.op]
        args = [known[a] for a in ins.args]
        if row.shape_of is not None:
            known[ins.out] = args[row.shape_of]
        elif ins.op == "count":  # a Python float
            known[ins.out] = ()
        else:
            known[ins.out] = row.out_shape(args, ins.params)
    return known
