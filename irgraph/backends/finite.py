"""NaN and Inf while running: find the first equation whose value stopped being finite, and say why.

`Program.run` checks only the results by default (cheap) and, when one is not finite, runs the program
again keeping every value to name the first instruction that produced a NaN or an Inf, as a warning;
`check_finite=True` checks every instruction as it runs and raises instead.
"""

import os
import sys
import warnings

from ..ir.errors import NonFiniteWarning

_OURS = tuple(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))) + os.sep + d + os.sep
              for d in ("irgraph", "passes", "viz"))


def is_finite(xp, x):
    """True when every element of x (an array or a number) is finite."""
    if type(x) is float:
        return x - x == 0.0  # False for inf and nan, without a call
    return bool(xp.all(xp.isfinite(x)))


def all_finite(xp, value, grads):
    """True when the value and every gradient are finite."""
    return is_finite(xp, value) and all(is_finite(xp, g) for g in grads.values())


def bad_input(program, env, xp):
    """A message for the first input that is already not finite, or None."""
    for name, v in program.inputs:
        if v in env and not is_finite(xp, env[v]):
            return f"input {name!r} is not finite: {_what(xp, env[v])}"
    return None


def describe(program, ins, env, xp):
    """Why instruction `ins` is the culprit: its equation, what it gave, and the range of its operands."""
    value = env[ins.out]
    operands = []
    for a in ins.args:
        if isinstance(a, str):
            operands.append(f"{_name(program, a)} {_range(xp, env[a])}")
    given = f" from {', '.join(operands)}" if operands else ""
    return f"non-finite value in {program.where(ins)}: {ins.op} gave {_what(xp, value)}{given}"


def explain(program, env, xp):
    """Given every value of a run, the first input or instruction (in program order) that is not finite."""
    first = next((i for i in program.instrs if i.out in env and not is_finite(xp, env[i.out])), None)
    if bad_input(program, env, xp) or first is None:
        return bad_input(program, env, xp) or "a result is not finite"
    return describe(program, first, env, xp)


def warn(message):
    """A NonFiniteWarning attributed to the first caller outside irgraph's own files."""
    warnings.warn(message, NonFiniteWarning, stacklevel=_user_level())


def _user_level():
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_OURS):
        frame, level = frame.f_back, level + 1
    return level


def _name(program, variable):
    names = {v: n for n, v in program.inputs}
    return names.get(variable, variable)


def _what(xp, x):
    if type(x) is float or getattr(x, "ndim", 0) == 0:
        return str(float(x))
    bad = int(xp.sum(~xp.isfinite(x)))
    kinds = [k for k, test in (("nan", xp.isnan), ("inf", xp.isposinf), ("-inf", xp.isneginf))
             if bool(xp.any(test(x)))]
    return f"{'/'.join(kinds)} in {bad} of {x.size} elements"


def _range(xp, x):
    if type(x) is float or getattr(x, "ndim", 0) == 0:
        return f"= {float(x):.6g}"
    finite = x[xp.isfinite(x)]
    if finite.size == 0:
        return "(no finite element)"
    extra = "" if finite.size == x.size else f", and {x.size - finite.size} non-finite"
    return f"in [{float(xp.min(finite)):.6g}, {float(xp.max(finite)):.6g}]{extra}"
