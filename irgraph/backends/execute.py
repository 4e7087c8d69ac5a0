"""The executor: interprets a Program instruction by instruction on NumPy or CuPy arrays."""

import contextlib

import numpy

from ..ir.errors import Error
from ..ir.ops import apply
from ..ir.shapes import infer
from . import finite
from .devices import to_numpy
from .runtime import _array, _hessian, _tangent


class Result:
    """What running a program gives: the output's value, {input name: gradient}, the device used, and for an
    order-2 program the Hessian {a: {b: array of shape a.shape + b.shape}} (else None).

    A plain class with slots, not a dataclass: it is built on every call of Program.run's fast path.
    """

    __slots__ = ("device", "grads", "hessian", "value")

    def __init__(self, value, grads, device="numpy", hessian=None):
        self.value, self.grads, self.device, self.hessian = value, grads, device, hessian

    def __repr__(self):
        extra = "" if self.hessian is None else f", hessian={self.hessian!r}"
        return f"Result(value={self.value!r}, grads={self.grads!r}, device={self.device!r}{extra})"

    def to_numpy(self):
        """The same result with every array copied to host NumPy arrays."""
        hessian = None if self.hessian is None else {
            a: {b: to_numpy(h) for b, h in row.items()} for a, row in self.hessian.items()}
        return Result(to_numpy(self.value), {k: to_numpy(v) for k, v in self.grads.items()}, "numpy", hessian)


def execute(program, inputs, xp, device, check_finite=False):
    """Run the program; a Result of the output's value and the gradients.

    A NaN or Inf is reported by the first equation that produced it: as a NonFiniteWarning, or with
    check_finite as an Error. NumPy's own RuntimeWarnings (which would point into irgraph) are silenced.
    """
    with quiet(xp):
        env = trace(program, inputs, xp, check_finite=check_finite)
        grads = {name: env[v] for name, v in program.grads}
        hessian = None
        if program.hvp:
            hessian = _hessian(xp, lambda v: _pick(push(program, env, v, xp, check_finite), program.hvp), grads)
        result = Result(env[program.output[1]], grads, device, hessian)
        if not check_finite and not finite.all_finite(xp, result.value, result.grads):
            env = trace(program, inputs, xp, keep=True)  # again, keeping every value, to find the first
            finite.warn(finite.explain(program, env, xp))
    return result


def push(program, env, tangents, xp, check_finite=False):
    """Run the tangent sweep from the primal variables `env` (left untouched) along the direction
    tangents = {input name: array shaped like the input}; the variables after it."""
    swept = dict(env)
    variable = dict(program.inputs)
    for name, v in program.tangents:
        try:
            swept[v] = _tangent(xp, tangents, name, env[variable[name]])
        except (TypeError, ValueError) as e:
            raise Error(str(e)) from None
    run(program, program.instrs[program.sweep_start:], swept, xp, False, check_finite)
    return swept


def _pick(env, pairs):
    return {name: env[v] for name, v in pairs}


def trace(program, inputs, xp, keep=False, check_finite=False):
    """Run the program (up to its tangent sweep, which needs a direction: see push); its variables at the
    end ({variable: value}), every one of them with `keep`.

    check_finite: an Error at the first input or instruction whose value is not finite.
    """
    env = load(program, inputs, xp, check_finite)
    run(program, program.instrs[:program.sweep_start], env, xp, keep, check_finite)
    return env


def load(program, inputs, xp, check_finite=False):
    """The inputs as {variable: array}, checked: all there, numbers, of shapes the equations accept."""
    if not hasattr(inputs, "keys"):
        raise Error(f"inputs must be a mapping of names to values, not {type(inputs).__name__}")
    missing = [(name, v) for name, v in program.inputs if name not in inputs]
    if missing:
        raise Error(_missing(program, missing))
    env = {}
    for name, v in program.inputs:
        value = inputs[name]
        if type(value) is float and xp.__name__ == "numpy":  # NumPy takes Python floats as they are
            env[v] = value
            continue
        try:
            env[v] = _array(xp, value)
        except (TypeError, ValueError) as e:
            raise Error(f"input {name!r} is not a number or an array of numbers: {e}") from None
    shapes = infer(program, {v: getattr(x, "shape", ()) for v, x in env.items()})
    out_name, out_var = program.output
    if program.grads and shapes.get(out_var, ()) != ():
        raise Error(_not_scalar(program, out_name, out_var, shapes[out_var]))
    if check_finite and finite.bad_input(program, env, xp):
        raise Error(finite.bad_input(program, env, xp) + " (check_finite=True)")
    return env


def run(program, instrs, env, xp, keep=False, check_finite=False):
    """Run instructions of the program over the variables `env` (changed in place)."""
    for ins in instrs:
        args = [env[a] if isinstance(a, str) else a for a in ins.args]
        try:
            try:
                env[ins.out] = apply(ins.op, xp, args, ins.params)
            except ArithmeticError:  # x/0 or overflow on Python floats: NumPy's float64 gives inf or nan
                env[ins.out] = apply(ins.op, xp, [numpy.float64(a) if type(a) is float else a for a in args],
                                     ins.params)
        except Exception as e:  # noqa: BLE001 - whatever the array library raises, named by equation
            raise Error(f"{ins.op} failed in {program.where(ins)}: {type(e).__name__}: {e}") from None
        if check_finite and not finite.is_finite(xp, env[ins.out]):
            raise Error(finite.describe(program, ins, env, xp) + " (check_finite=True)")
        if not keep:
            for f in ins.frees:
                del env[f]


def _missing(program, missing):
    """Every missing input at once, each with the first equation that uses it."""
    def one(name, v):
        first = program.uses(v)
        return f"{name!r} (used in {program.where(first)})" if first else repr(name)
    if len(missing) == 1:
        return f"missing input {one(*missing[0])}"
    return "missing inputs: " + "; ".join(one(name, v) for name, v in missing)


def quiet(xp):
    """NumPy reports NaN and Inf as RuntimeWarnings pointing into irgraph's files; finite.py reports them."""
    return numpy.errstate(all="ignore") if xp is numpy else contextlib.nullcontext()


def _not_scalar(program, name, variable, shape):
    """The output must be a scalar to have a gradient: say which equation, and how to reduce it."""
    made = next((i for i in program.instrs if i.out == variable), None)
    where = f" ({program.where(made)})" if made is not None and made.line is not None else ""
    return (f"the output {name!r}{where} has shape {shape}, but a gradient needs a scalar: differentiate "
            f"sum({name}) or mean({name}) instead, e.g. add the equation `loss = sum({name})`")
